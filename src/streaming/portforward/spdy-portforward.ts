// Port forwarding over SPDY ("portforward.k8s.io"), as kubectl port-forward speaks it: for every
// connection it forwards, the client opens an error stream and a data stream, both with headers
// "port" and "requestID". Once both are there the data stream is joined to the pod's port; a
// failure is written as text to the error stream. Many pairs run at once on one connection.
import type { Duplex } from 'node:stream';
import { SpdySession, type SpdyStream } from '../spdy/session.js';

export const PORTFORWARD_PROTOCOLS = ['portforward.k8s.io'];

/**
 * Requests whose other stream has not come yet, per connection. Each holds a stream and a timer
 * for the creation timeout (30 s); kubectl sends both streams of a request back to back.
 */
export const MAX_PENDING_REQUESTS = 100;

/** Joins `stream` to the pod's `port`; resolves when both directions are done. */
export type PortForwarder = (port: number, stream: Duplex, gone: AbortSignal) => Promise<void>;

export interface PortForwardOptions {
  readonly creationTimeoutMs: number;
  readonly onError: (message: string) => void;
}

interface Pair {
  data?: SpdyStream;
  error?: SpdyStream;
  timer: NodeJS.Timeout;
}

/**
 * Old clients sent no requestID; their streams come in pairs with consecutive odd ids (error
 * first), as kubelet's compatibility rule assumes.
 */
export function requestIdOf(s: { id: number; header(name: string): string | undefined }): string | undefined {
  const id = s.header('requestid');
  if (id) return id;
  const type = s.header('streamtype');
  if (type === 'error') return String(s.id);
  if (type === 'data') return String(s.id - 2);
  return undefined;
}

export function servePortForward(socket: Duplex, opts: PortForwardOptions, forward: PortForwarder): Promise<void> {
  const session = new SpdySession(socket, 'server');
  const gone = new AbortController();
  const pairs = new Map<string, Pair>();
  session.on('error', (e) => opts.onError(`SPDY: ${e.message}`));

  const run = async (pair: Pair): Promise<void> => {
    const { data, error } = pair as Required<Pair>;
    const portText = data.header('port') ?? '';
    const port = Number(portText);
    try {
      if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new Error(`invalid port ${JSON.stringify(portText)}`);
      await forward(port, data, gone.signal);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      opts.onError(`port ${portText}: ${msg}`);
      error.write(`error forwarding port ${portText} to pod: ${msg}`);
      data.reset();
    }
    error.end();
  };

  session.on('stream', (s) => {
    const type = s.header('streamtype');
    const id = requestIdOf(s);
    if ((type !== 'data' && type !== 'error') || id === undefined) {
      opts.onError(`unexpected stream type ${JSON.stringify(type)}`);
      s.reset();
      return;
    }
    let pair = pairs.get(id);
    if (!pair) {
      if (pairs.size >= MAX_PENDING_REQUESTS) {
        opts.onError(`request ${id}: more than ${MAX_PENDING_REQUESTS} requests wait for their other stream`);
        s.reset();
        return;
      }
      const timer = setTimeout(() => {
        pairs.delete(id);
        opts.onError(`request ${id}: timed out waiting for its other stream`);
        pair?.data?.reset();
        pair?.error?.reset();
      }, opts.creationTimeoutMs);
      pair = { timer };
      pairs.set(id, pair);
    }
    if (pair[type]) {
      opts.onError(`request ${id}: a second ${type} stream`);
      s.reset();
      return;
    }
    pair[type] = s;
    if (pair.data && pair.error) {
      clearTimeout(pair.timer);
      pairs.delete(id);
      void run(pair);
    }
  });
  return new Promise((resolve) => {
    session.once('close', () => {
      gone.abort();
      for (const p of pairs.values()) clearTimeout(p.timer);
      resolve();
    });
  });
}
