// The CRI streaming server: Exec, Attach and PortForward answer with a URL here, and the client
// (kubelet's proxy, crictl) upgrades a request to it to SPDY/3.1 or WebSocket. URLs carry one-shot
// tokens (token-cache.ts); the work behind a token was bound by the RPC that made it.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { SkiffError, toSkiffError } from '../core/errors.js';
import type { Logger } from '../log/logger.js';
import { PORTFORWARD_PROTOCOLS, servePortForward, type PortForwarder } from './portforward/spdy-portforward.js';
import { SPDY_COMMAND_PROTOCOLS, serveSpdyCommand } from './remotecommand/spdy-command.js';
import type { CommandRunner, StreamOptions } from './remotecommand/types.js';
import { WEBSOCKET_COMMAND_PROTOCOLS, serveWebSocketCommand } from './remotecommand/websocket-command.js';
import { TokenCache } from './token-cache.js';

export type StreamRequest =
  | { readonly kind: 'exec' | 'attach'; readonly streams: StreamOptions; readonly run: CommandRunner; readonly target: string }
  | { readonly kind: 'portforward'; readonly forward: PortForwarder; readonly target: string };

export interface StreamingServerOptions {
  readonly address: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /** A connection with no traffic this long is closed (kubelet: 4 h). */
  readonly idleTimeoutMs: number;
  /** How long the client has to open its streams after the upgrade (kubelet: 30 s). */
  readonly creationTimeoutMs: number;
  readonly log: Logger;
}

const PATH = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]{1,64})$/;

/** The client's protocols, in its order of preference. */
function offered(header: string | string[] | undefined): string[] {
  const all = Array.isArray(header) ? header.join(',') : (header ?? '');
  return all.split(',').map((p) => p.trim()).filter(Boolean);
}

/** kubelet's rule: the first protocol of the client's that the server accepts. */
export function negotiate(client: readonly string[], server: readonly string[]): string | undefined {
  return client.find((p) => server.includes(p));
}

function refuse(socket: Duplex, code: number, reason: string, message: string, extra: Record<string, string> = {}): void {
  const headers = Object.entries({ 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close', ...extra })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const body = `${message}\n`;
  socket.end(`HTTP/1.1 ${code} ${reason}\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

export class StreamingServer {
  private readonly tokens = new TokenCache<StreamRequest>();
  private readonly sockets = new Set<Socket>();
  private readonly wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    // kubectl and kubelet send stdin in reads of at most 32 KiB; ws would take 100 MiB per message.
    maxPayload: 1024 * 1024,
    handleProtocols: (protocols) => negotiate([...protocols], WEBSOCKET_COMMAND_PROTOCOLS) ?? false,
  });
  private server: Server | undefined;
  private base = '';

  constructor(private readonly opts: StreamingServerOptions) {}

  async start(): Promise<void> {
    const o = this.opts;
    let server: Server;
    try {
      server = o.tls
        ? createHttpsServer({ cert: readFileSync(o.tls.certFile), key: readFileSync(o.tls.keyFile) })
        : createHttpServer();
    } catch (e) {
      throw toSkiffError(e, 'streaming server TLS files');
    }
    server.on('request', (req, res) => this.onPlainRequest(req, res));
    // After the listen, errors (EMFILE on accept…) are logged; the server goes on.
    server.on('error', (e) => {
      if (this.server) o.log.warn('streaming server error', { error: e.message });
    });
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.onUpgrade(req, socket, head));
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(toSkiffError(e, `streaming server on ${o.address}:${o.port}`)));
      server.listen(o.port, o.address, () => resolve());
    });
    const addr = server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.base = `${o.tls ? 'https' : 'http'}://${host}:${addr.port}`;
    this.server = server;
    o.log.info('streaming server listening', { url: this.base });
  }

  /** The URL that serves `req` once. */
  url(req: StreamRequest): string {
    if (!this.server) throw new SkiffError('Unavailable', 'the streaming server is not running');
    return `${this.base}/${req.kind}/${this.tokens.insert(req)}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    this.wss.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private take(url: string | undefined): { kind: string; req: StreamRequest } | undefined {
    const m = PATH.exec((url ?? '').split('?')[0] ?? '');
    if (!m) return undefined;
    const req = this.tokens.consume(m[2]!);
    // A token used on another path is spent all the same, as in kubelet.
    return req && req.kind === m[1] ? { kind: m[1]!, req } : undefined;
  }

  private onPlainRequest(req: IncomingMessage, res: ServerResponse): void {
    const found = req.method === 'GET' || req.method === 'POST' ? this.take(req.url) : undefined;
    res.statusCode = found ? 400 : 404;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(found ? 'unable to upgrade: missing upgrade headers in request\n' : '404 page not found\n');
  }

  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const log = this.opts.log;
    socket.on('error', (e) => log.debug('streaming connection error', { error: e.message }));
    const found = req.method === 'GET' || req.method === 'POST' ? this.take(req.url) : undefined;
    if (!found) return refuse(socket, 404, 'Not Found', '404 page not found');
    const { req: sr } = found;
    const l = log.child({ stream: sr.kind, target: sr.target });
    const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
    socket.setTimeout(this.opts.idleTimeoutMs, () => {
      l.info('streaming connection idle too long; closed');
      socket.destroy();
    });
    if (upgrade === 'websocket') return this.upgradeWebSocket(req, socket, head, sr, l);
    if (upgrade !== 'spdy/3.1') {
      return refuse(socket, 400, 'Bad Request', `unable to upgrade: unsupported protocol ${JSON.stringify(req.headers.upgrade)}`);
    }
    const server = sr.kind === 'portforward' ? PORTFORWARD_PROTOCOLS : SPDY_COMMAND_PROTOCOLS;
    const client = offered(req.headers['x-stream-protocol-version']);
    // No header at all: the oldest clients; they get the first protocol of each kind.
    const protocol = client.length ? negotiate(client, server) : server[server.length - 1];
    if (!protocol) {
      return refuse(
        socket,
        403,
        'Forbidden',
        `unable to upgrade: unable to negotiate protocol: client supports [${client.join(' ')}], server accepts [${server.join(' ')}]`,
        { 'X-Accepted-Stream-Protocol-Versions': server.join(', ') },
      );
    }
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`);
    if (head.length) socket.unshift(head);
    l.debug('SPDY session', { protocol });
    const onError = (message: string) => l.warn(message);
    const done =
      sr.kind === 'portforward'
        ? servePortForward(socket, { creationTimeoutMs: this.opts.creationTimeoutMs, onError }, sr.forward)
        : serveSpdyCommand(socket, { protocol, streams: sr.streams, creationTimeoutMs: this.opts.creationTimeoutMs, onError }, sr.run);
    done.catch((e: unknown) => l.error('streaming session failed', { error: String(e) }));
  }

  private upgradeWebSocket(req: IncomingMessage, socket: Socket, head: Buffer, sr: StreamRequest, l: Logger): void {
    if (sr.kind === 'portforward') {
      return refuse(socket, 400, 'Bad Request', 'port-forward is served over SPDY (portforward.k8s.io), not WebSocket');
    }
    const client = offered(req.headers['sec-websocket-protocol']);
    const protocol = client.length ? negotiate(client, WEBSOCKET_COMMAND_PROTOCOLS) : '';
    if (protocol === undefined) {
      return refuse(socket, 400, 'Bad Request', `requested protocol(s) are not supported: [${client.join(' ')}]; supports [${WEBSOCKET_COMMAND_PROTOCOLS.join(' ')}]`);
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      l.debug('WebSocket session', { protocol: protocol || '(none)' });
      // ws clears the socket's timeout when it takes the socket: set it again.
      socket.setTimeout(this.opts.idleTimeoutMs, () => {
        l.info('streaming connection idle too long; closed');
        ws.terminate();
      });
      ws.on('error', (e) => l.debug('WebSocket error', { error: e.message }));
      serveWebSocketCommand(ws, protocol, sr.streams, sr.run).catch((e: unknown) => l.error('streaming session failed', { error: String(e) }));
    });
  }
}
