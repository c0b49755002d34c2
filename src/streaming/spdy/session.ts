// One SPDY/3.1 connection: frames in and out, streams as Node Duplexes. The side that was
// upgraded to (the server) replies to every stream the peer opens; the other side opens streams
// (the test client does). Header blocks are compressed in order on one zlib stream per direction.
//
// Flow control: moby/spdystream (kubelet's and crictl's SPDY) neither sends nor honours
// WINDOW_UPDATE, so this side never waits for send window either; it does send WINDOW_UPDATEs
// for what it has consumed, so that a peer that honours windows never stalls.
import { EventEmitter } from 'node:events';
import type { Duplex as DuplexType } from 'node:stream';
import { Duplex } from 'node:stream';
import {
  FLAG_FIN,
  FLAG_UNIDIRECTIONAL,
  FrameError,
  FrameParser,
  FrameType,
  GoAwayStatus,
  RstStatus,
  controlStreamId,
  dataFrame,
  decodeHeaderBlock,
  encodeHeaderBlock,
  goAwayFrame,
  pingFrame,
  rstStreamFrame,
  synReplyFrame,
  synStreamFrame,
  windowUpdateFrame,
  type Frame,
} from './frames.js';
import { HeaderCompressor, HeaderDecompressor } from './header-zlib.js';
import { writeDrained } from '../../util/write-drained.js';

/** Data frames are cut at this size so one stream cannot hold the connection for long. */
const DATA_CHUNK = 32 * 1024;
/** A WINDOW_UPDATE goes out once this much of a stream (and of the session) has been consumed. */
const WINDOW_STEP = 32 * 1024;
/**
 * Reading stops while more frames than this wait: parsed and not yet handled, or queued and not
 * yet taken by the socket (a peer that does not read its answers). It resumes below the bound.
 */
const MAX_BACKLOG_FRAMES = 1000;
/**
 * A peer that keeps this many of our control frames unsent (its PINGs echoed, RST_STREAMs,
 * WINDOW_UPDATEs) loses the connection: Go's http2 server closes past the same count. Reading
 * stops long before it, so only what one socket read held can get there.
 */
export const MAX_QUEUED_CONTROL_FRAMES = 10_000;
/** Streams the peer may have open at once; past it a SYN_STREAM earns RST_STREAM REFUSED_STREAM. */
export const MAX_CONCURRENT_STREAMS = 1000;

export type Headers = ReadonlyMap<string, readonly string[]>;

export class SpdyStream extends Duplex {
  private consumed = 0;
  private remoteClosed = false;

  constructor(
    private readonly session: SpdySession,
    readonly id: number,
    readonly headers: Headers,
  ) {
    super({ allowHalfOpen: true });
  }

  /** The first value of a header, names case-insensitive. */
  header(name: string): string | undefined {
    return this.headers.get(name.toLowerCase())?.[0];
  }

  // Writes after the connection closed go nowhere: the session's 'close' event is how the user
  // learns that the peer is gone, so a write is not also an error (which would need a listener on
  // every stream).
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.session.sendData(this.id, chunk, false).then(() => cb(), () => cb());
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.session.sendData(this.id, Buffer.alloc(0), true).then(() => cb(), () => cb());
  }

  override _read(): void {
    this.session.resumeReading(this.id);
  }

  /** Ends the stream abruptly both ways (RST_STREAM CANCEL). */
  reset(): void {
    if (this.destroyed) return;
    this.session.sendReset(this.id, RstStatus.CANCEL);
    this.finishRemote();
    this.destroy();
  }

  /** @internal */
  receive(data: Buffer, fin: boolean): void {
    if (this.remoteClosed) {
      this.session.sendReset(this.id, RstStatus.STREAM_ALREADY_CLOSED);
      return;
    }
    if (data.length) {
      this.consumed += data.length;
      if (this.consumed >= WINDOW_STEP) {
        this.session.sendWindowUpdate(this.id, this.consumed);
        this.consumed = 0;
      }
      if (!this.push(data)) this.session.pauseReading(this.id);
    }
    if (fin) this.finishRemote();
  }

  /** @internal The peer will send nothing more. */
  finishRemote(): void {
    if (this.remoteClosed) return;
    this.remoteClosed = true;
    this.push(null);
  }
}

export interface SessionEvents {
  stream: [SpdyStream];
  close: [];
  error: [Error];
}

export class SpdySession extends EventEmitter<SessionEvents> {
  private readonly parser = new FrameParser();
  private readonly inflate = new HeaderDecompressor();
  private readonly deflate = new HeaderCompressor();
  private readonly streams = new Map<number, SpdyStream>();
  private readonly behind = new Set<number>();
  private readonly replies = new Map<number, { resolve: (s: SpdyStream) => void; reject: (e: Error) => void }>();
  private work: Promise<void> = Promise.resolve();
  private out: Promise<void> = Promise.resolve();
  private nextId: number;
  private lastPeerId = 0;
  private sessionConsumed = 0;
  /** Frames parsed and not yet handled. */
  private backlog = 0;
  /** Frames queued to send and not yet taken by the socket; `unsentControl` counts control frames among them. */
  private unsent = 0;
  private unsentControl = 0;
  private readingPaused = false;
  private goneAway = false;
  private closed = false;

  constructor(
    private readonly socket: DuplexType,
    private readonly role: 'server' | 'client',
  ) {
    super();
    // Clients open odd streams, servers even ones.
    this.nextId = role === 'client' ? 1 : 2;
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    // Frames already read are handled first: a peer's last reply and data precede its EOF.
    const end = () => {
      this.work = this.work.then(() => this.teardown());
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', (e: Error) => {
      this.emit('error', e);
      end();
    });
    // An upgraded socket may come paused (Node's https server leaves it so): a 'data' listener
    // alone does not restart the flow then.
    socket.resume();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Opens a stream (client side) and resolves once the peer replied. */
  openStream(headers: Record<string, string>): Promise<SpdyStream> {
    const id = this.nextId;
    this.nextId += 2;
    const map = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), [v]] as const));
    const stream = new SpdyStream(this, id, map);
    this.streams.set(id, stream);
    const replied = new Promise<SpdyStream>((resolve, reject) => this.replies.set(id, { resolve, reject }));
    this.sendFrame(this.deflate.run(encodeHeaderBlock(map)).then((block) => synStreamFrame(id, block, false))).catch((e: Error) => {
      this.replies.get(id)?.reject(e);
      this.replies.delete(id);
    });
    return replied;
  }

  /** GOAWAY, then the connection ends once everything queued is written. */
  close(): void {
    if (this.closed) return;
    this.goneAway = true;
    void this.sendFrame(goAwayFrame(this.lastPeerId, GoAwayStatus.OK))
      .catch(() => {})
      .finally(() => {
        this.socket.end();
        this.teardown();
      });
  }

  /** @internal */
  sendData(id: number, data: Buffer, fin: boolean): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the SPDY connection is closed'));
    if (data.length <= DATA_CHUNK) return this.sendFrame(dataFrame(id, data, fin));
    let last: Promise<void> = Promise.resolve();
    for (let off = 0; off < data.length; off += DATA_CHUNK) {
      const end = Math.min(off + DATA_CHUNK, data.length);
      last = this.sendFrame(dataFrame(id, data.subarray(off, end), fin && end === data.length));
    }
    return last;
  }

  /** @internal */
  sendReset(id: number, status: number): void {
    this.streams.delete(id);
    void this.sendFrame(rstStreamFrame(id, status), true).catch(() => {});
  }

  /** @internal */
  sendWindowUpdate(id: number, delta: number): void {
    void this.sendFrame(windowUpdateFrame(id, delta), true).catch(() => {});
  }

  /**
   * @internal A stream whose reader is behind stops the whole connection (SPDY's windows would
   * stop only that stream, but the peers here do not keep them); it flows again once no stream
   * is behind.
   */
  pauseReading(id: number): void {
    this.behind.add(id);
    this.updateReading();
  }

  /** @internal */
  resumeReading(id: number): void {
    this.behind.delete(id);
    this.updateReading();
  }

  /** Reads while no stream is behind and neither backlog is past its bound. */
  private updateReading(): void {
    const stop = this.behind.size > 0 || this.backlog > MAX_BACKLOG_FRAMES || this.unsent > MAX_BACKLOG_FRAMES;
    if (stop === this.readingPaused) return;
    this.readingPaused = stop;
    if (stop) this.socket.pause();
    else this.socket.resume();
  }

  /**
   * Queues a frame (or one still being compressed): frames leave in the order they were queued.
   * `control` marks an answer the peer's own frames caused, counted against the queued-control bound.
   */
  private sendFrame(frame: Buffer | Promise<Buffer>, control = false): Promise<void> {
    if (control && this.unsentControl >= MAX_QUEUED_CONTROL_FRAMES) {
      this.fail(new FrameError(`the peer leaves more than ${MAX_QUEUED_CONTROL_FRAMES} control frames unread`));
      return Promise.reject(new Error('the SPDY connection is closed'));
    }
    this.unsent++;
    if (control) this.unsentControl++;
    this.updateReading();
    const step = this.out.then(async () => {
      const bytes = await frame;
      if (this.closed || this.socket.destroyed) throw new Error('the SPDY connection is closed');
      await writeDrained(this.socket, bytes);
    });
    this.out = step
      .catch(() => {})
      .finally(() => {
        this.unsent--;
        if (control) this.unsentControl--;
        this.updateReading();
      });
    return step;
  }

  private onBytes(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.parser.push(chunk);
    } catch (e) {
      this.fail(e as Error);
      return;
    }
    this.backlog += frames.length;
    this.updateReading();
    for (const f of frames) {
      this.work = this.work
        .then(() => this.handle(f))
        .catch((e: Error) => this.fail(e))
        .finally(() => {
          this.backlog--;
          this.updateReading();
        });
    }
  }

  private fail(e: Error): void {
    if (this.closed) return;
    this.emit('error', e instanceof FrameError ? e : new FrameError(e.message));
    // Written directly, not queued: teardown below would drop a queued frame. Every frame goes
    // out in one write, so this cannot land inside another.
    if (!this.socket.destroyed) this.socket.write(goAwayFrame(this.lastPeerId, GoAwayStatus.PROTOCOL_ERROR));
    this.socket.end();
    this.teardown();
  }

  private async handle(f: Frame): Promise<void> {
    if (this.closed) return;
    if (f.kind === 'data') {
      this.sessionConsumed += f.data.length;
      if (this.sessionConsumed >= WINDOW_STEP) {
        this.sendWindowUpdate(0, this.sessionConsumed);
        this.sessionConsumed = 0;
      }
      const s = this.streams.get(f.streamId);
      if (!s) return this.sendReset(f.streamId, RstStatus.INVALID_STREAM);
      s.receive(f.data, (f.flags & FLAG_FIN) !== 0);
      return;
    }
    switch (f.type) {
      case FrameType.SYN_STREAM:
        return this.onSynStream(f.flags, f.payload);
      case FrameType.SYN_REPLY:
        return this.onSynReply(f.flags, f.payload);
      case FrameType.HEADERS:
        // Nothing uses late headers, but the block must pass through the zlib stream.
        await this.inflate.run(f.payload.subarray(4));
        return;
      case FrameType.RST_STREAM: {
        const s = this.streams.get(controlStreamId(f.payload));
        if (s) {
          this.streams.delete(s.id);
          s.finishRemote();
          s.destroy();
        }
        return;
      }
      case FrameType.PING: {
        if (f.payload.length !== 4) throw new FrameError('PING frame of the wrong size');
        const id = f.payload.readUInt32BE(0);
        // Our own pings would have our parity: only the peer's are echoed.
        const ours = this.role === 'client' ? 1 : 0;
        if (id % 2 !== ours) void this.sendFrame(pingFrame(id), true).catch(() => {});
        return;
      }
      case FrameType.GOAWAY:
        this.goneAway = true;
        return;
      default:
        // SETTINGS and WINDOW_UPDATE: nothing here depends on them (see the top of the file).
        return;
    }
  }

  private async onSynStream(flags: number, payload: Buffer): Promise<void> {
    if (payload.length < 10) throw new FrameError('SYN_STREAM too short');
    const id = controlStreamId(payload);
    const headers = decodeHeaderBlock(await this.inflate.run(payload.subarray(10)));
    const peerParity = this.role === 'server' ? 1 : 0;
    if (id % 2 !== peerParity || id <= this.lastPeerId || this.goneAway) {
      return this.sendReset(id, this.goneAway ? RstStatus.REFUSED_STREAM : RstStatus.PROTOCOL_ERROR);
    }
    this.lastPeerId = id;
    if (this.streams.size >= MAX_CONCURRENT_STREAMS) return this.sendReset(id, RstStatus.REFUSED_STREAM);
    const stream = new SpdyStream(this, id, headers);
    this.streams.set(id, stream);
    stream.on('close', () => {
      this.streams.delete(id);
      this.resumeReading(id);
    });
    if (flags & (FLAG_FIN | FLAG_UNIDIRECTIONAL)) stream.finishRemote();
    // The reply goes out before anything the handler writes on the stream.
    void this.sendFrame(
      this.deflate.run(encodeHeaderBlock(new Map())).then((b) => synReplyFrame(id, b, false)),
      true,
    ).catch(() => {});
    this.emit('stream', stream);
  }

  private async onSynReply(flags: number, payload: Buffer): Promise<void> {
    const id = controlStreamId(payload);
    await this.inflate.run(payload.subarray(4));
    const s = this.streams.get(id);
    const replied = this.replies.get(id);
    if (!s || !replied) return this.sendReset(id, RstStatus.INVALID_STREAM);
    this.replies.delete(id);
    if (flags & FLAG_FIN) s.finishRemote();
    replied.resolve(s);
  }

  private teardown(): void {
    if (this.closed) return;
    this.closed = true;
    // The peer's EOF ends our side too: the server's sockets allow half-open connections.
    if (!this.socket.destroyed) this.socket.end();
    for (const s of this.streams.values()) {
      s.finishRemote();
      s.destroy();
    }
    this.streams.clear();
    for (const r of this.replies.values()) r.reject(new Error('the SPDY connection closed before the stream was accepted'));
    this.replies.clear();
    this.inflate.close();
    this.deflate.close();
    this.emit('close');
  }
}
