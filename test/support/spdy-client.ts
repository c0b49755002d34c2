// A SPDY/3.1 client for the tests, speaking what kubectl and crictl speak to a streaming URL:
// the HTTP upgrade with X-Stream-Protocol-Version, then one stream per channel.
import http from 'node:http';
import type { Socket } from 'node:net';
import { SpdySession, type SpdyStream } from '../../src/streaming/spdy/session.js';

export interface Upgraded {
  readonly session: SpdySession;
  readonly protocol: string;
  readonly socket: Socket;
}

export interface Refused {
  readonly status: number;
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
}

export function spdyUpgrade(url: string, protocols: readonly string[]): Promise<Upgraded | Refused> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'SPDY/3.1',
        ...(protocols.length ? { 'X-Stream-Protocol-Version': protocols.join(', ') } : {}),
      },
    });
    req.on('upgrade', (res, socket, head) => {
      if (head.length) socket.unshift(head);
      resolve({ session: new SpdySession(socket, 'client'), protocol: String(res.headers['x-stream-protocol-version'] ?? ''), socket });
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

export function isUpgraded(x: Upgraded | Refused): x is Upgraded {
  return 'session' in x;
}

/** Everything a stream delivers until its end (or reset). */
export function collect(s: SpdyStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  s.on('data', (d: Buffer) => parts.push(d));
  return new Promise((resolve) => {
    s.once('end', () => resolve(Buffer.concat(parts)));
    s.once('close', () => resolve(Buffer.concat(parts)));
  });
}

export interface ExecOptions {
  readonly protocol?: string;
  readonly stdin?: Buffer | string;
  /** Keep stdin open (no FIN) after writing it. */
  readonly keepStdinOpen?: boolean;
  readonly stdout?: boolean;
  readonly stderr?: boolean;
  readonly tty?: boolean;
  /** Sent on the resize stream before stdin. */
  readonly resize?: { Width: number; Height: number };
}

export interface ExecResult {
  readonly protocol: string;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  readonly error: string;
}

/** Runs a remote command the way kubectl exec does: error stream first, then stdin, stdout, stderr, resize. */
export async function spdyCommand(url: string, o: ExecOptions): Promise<ExecResult> {
  const up = await spdyUpgrade(url, [o.protocol ?? 'v4.channel.k8s.io']);
  if (!isUpgraded(up)) throw new Error(`upgrade refused: ${up.status} ${up.body}`);
  const { session } = up;
  const error = await session.openStream({ streamType: 'error' });
  const errorText = collect(error);
  const stdin = o.stdin !== undefined ? await session.openStream({ streamType: 'stdin' }) : undefined;
  const stdout = o.stdout !== false ? await session.openStream({ streamType: 'stdout' }) : undefined;
  const stderr = o.stderr && !o.tty ? await session.openStream({ streamType: 'stderr' }) : undefined;
  const resize = o.tty ? await session.openStream({ streamType: 'resize' }) : undefined;
  const out = stdout ? collect(stdout) : Promise.resolve(Buffer.alloc(0));
  const err = stderr ? collect(stderr) : Promise.resolve(Buffer.alloc(0));
  if (resize && o.resize) resize.write(JSON.stringify(o.resize) + '\n');
  if (stdin) {
    if (o.keepStdinOpen) stdin.write(o.stdin!);
    else stdin.end(o.stdin!);
  }
  const [so, se, e] = await Promise.all([out, err, errorText]);
  session.close();
  return { protocol: up.protocol, stdout: so, stderr: se, error: e.toString() };
}
