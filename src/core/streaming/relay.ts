// Joins a process's stdio (the monitor's attach protocol) to a client's streams, with
// backpressure both ways: a slow client pauses the output, a slow process pauses the input.
import type { AttachConnection } from '../../runtime/attach-connection.js';
import type { CommandStreams } from '../../streaming/remotecommand/types.js';
import type { Writable } from 'node:stream';

export interface RelayOptions {
  /** Forward the client's stdin at all (attach: only when the container has a stdin). */
  readonly stdin: boolean;
  /** When the client ends its stdin, close the process's (exec: always; attach: stdin_once). */
  readonly closeStdinAtEnd: boolean;
}

export function relay(io: AttachConnection, s: CommandStreams, opts: RelayOptions): void {
  const out = (w: Writable | undefined) => (chunk: Buffer) => {
    // Output nobody asked for is dropped, as kubelet's server would have no stream for it.
    if (!w || w.destroyed) return;
    if (!w.write(chunk)) {
      io.pause();
      w.once('drain', () => io.resume());
    }
  };
  io.on('stdout', out(s.stdout));
  io.on('stderr', out(s.tty ? s.stdout : s.stderr));

  const stdin = s.stdin;
  if (stdin) {
    if (!opts.stdin) {
      stdin.resume();
    } else {
      stdin.on('data', (chunk: Buffer) => {
        stdin.pause();
        void io.writeStdin(chunk).then(() => stdin.resume());
      });
      stdin.on('end', () => {
        if (opts.closeStdinAtEnd) io.closeStdin();
      });
    }
  }
  s.onResize((size) => io.resize(size.height, size.width));
}
