// A remote command over SPDY, as kubelet's streaming server serves it to kubectl and crictl: the
// client opens one stream per stdio channel (header "streamType": error, stdin, stdout, stderr,
// and resize for a tty from v3 on); once all expected streams are there the command runs; its
// output ends with FIN, its outcome goes to the error stream, and the connection closes.
import { PassThrough } from 'node:stream';
import type { Duplex } from 'node:stream';
import { SpdySession, type SpdyStream } from '../spdy/session.js';
import { encodeStatus, ResizeParser, Resizes } from './status.js';
import type { CommandRunner, StreamOptions } from './types.js';

export const SPDY_COMMAND_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];

export interface SpdyCommandOptions {
  readonly protocol: string;
  readonly streams: StreamOptions;
  readonly creationTimeoutMs: number;
  readonly onError: (message: string) => void;
}

function versionOf(protocol: string): number {
  const m = /^v(\d)\.channel\.k8s\.io$/.exec(protocol);
  return m ? Number(m[1]) : 1;
}

/** Serves one upgraded connection to its end. */
export async function serveSpdyCommand(socket: Duplex, opts: SpdyCommandOptions, run: CommandRunner): Promise<void> {
  const version = versionOf(opts.protocol);
  const session = new SpdySession(socket, 'server');
  session.on('error', (e) => opts.onError(`SPDY: ${e.message}`));
  const o = opts.streams;
  const wanted = new Set(['error']);
  if (o.stdin) wanted.add('stdin');
  if (o.stdout) wanted.add('stdout');
  if (o.stderr) wanted.add('stderr');
  if (o.tty && version >= 3) wanted.add('resize');

  const got = new Map<string, SpdyStream>();
  const complete = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), opts.creationTimeoutMs);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      session.off('stream', onStream);
      resolve(ok);
    };
    const onStream = (s: SpdyStream) => {
      const type = s.header('streamtype') ?? '';
      if (!wanted.has(type) || got.has(type)) {
        opts.onError(`unexpected stream type ${JSON.stringify(type)}`);
        s.reset();
        return;
      }
      got.set(type, s);
      if (got.size === wanted.size) done(true);
    };
    session.on('stream', onStream);
    session.once('close', () => done(false));
  });
  if (!complete) {
    opts.onError(session.isClosed ? 'the client went away before creating its streams' : 'timed out waiting for the client to create its streams');
    session.close();
    return;
  }

  // Nothing reads a stream opened after the set is complete: left alone, each would stay open
  // (and count against the connection's streams) until the command ends.
  session.on('stream', (s) => {
    opts.onError(`unexpected stream ${JSON.stringify(s.header('streamtype') ?? '')} after the command's streams`);
    s.reset();
  });
  const gone = new AbortController();
  session.once('close', () => gone.abort());
  const stdin = got.get('stdin');
  // Protocol v1 had the server close its side of stdin at once; later ones leave it.
  if (stdin && version === 1) stdin.end();
  const resizes = new Resizes();
  const resize = got.get('resize');
  if (resize) {
    const parser = new ResizeParser();
    resize.on('data', (chunk: Buffer) => {
      for (const size of parser.push(chunk)) resizes.emit(size);
    });
  }
  const stdout = got.get('stdout');
  const stderr = got.get('stderr');
  const outcome = await run({
    ...(stdin ? { stdin: stdin.pipe(new PassThrough()) } : {}),
    ...(stdout ? { stdout } : {}),
    ...(stderr ? { stderr } : {}),
    tty: o.tty,
    onResize: (l) => resizes.listen(l),
    gone: gone.signal,
  });
  await Promise.all([stdout, stderr].map((s) => (s ? endStream(s) : undefined)));
  const error = got.get('error')!;
  const status = encodeStatus(outcome, version >= 4);
  if (status) error.write(status);
  await endStream(error);
  session.close();
}

function endStream(s: SpdyStream): Promise<void> {
  return new Promise((resolve) => {
    if (s.writableFinished || s.destroyed) return resolve();
    s.end(() => resolve());
    s.once('close', () => resolve());
  });
}
