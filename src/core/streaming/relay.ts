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
  // Output waits while a client stream is full; a stream that closes instead of draining (the
  // client left) must not keep it waiting: its output is dropped from then on.
  const waiting = new Set<Writable>();
  const release = (w: Writable) => {
    if (waiting.delete(w) && waiting.size === 0) io.resume();
  };
  for (const w of [s.stdout, s.stderr]) w?.on('close', () => release(w));
  s.gone.addEventListener('abort', () => {
    waiting.clear();
    io.resume();
  }, { once: true });

  const out = (w: Writable | undefined) => (chunk: Buffer) => {
    // Output nobody asked for is dropped, as kubelet's server would have no stream for it.
    if (!w || w.destroyed || w.writableEnded || s.gone.aborted) return;
    if (!w.write(chunk) && !waiting.has(w)) {
      waiting.add(w);
      io.pause();
      w.once('drain', () => release(w));
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
