// The client side of skiff-monitor's attach protocol (native-helpers/README.md, "Attach"): frames
// of kind:u8 length:u32be payload. From the monitor 1 = stdout, 2 = stderr; to it 0 = stdin data,
// 1 = close stdin, 2 = window size (rows:u16be cols:u16be).
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { hasErrno, SkiffError, toSkiffError } from '../core/errors.js';
import { writeDrained } from '../util/write-drained.js';

const HDR = 5;
/** The monitor takes stdin frames of at most 32 KiB. */
const STDIN_FRAME_MAX = 32 * 1024;
const KIND_STDOUT = 1;
const KIND_STDERR = 2;

export interface AttachEvents {
  stdout: [Buffer];
  stderr: [Buffer];
  /** The monitor closed the connection: the process has exited (or the client was dropped). */
  end: [];
}

export class AttachConnection extends EventEmitter<AttachEvents> {
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;

  private constructor(private readonly socket: net.Socket) {
    super();
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    const end = () => {
      if (this.ended) return;
      this.ended = true;
      this.emit('end');
    };
    socket.on('end', end);
    socket.on('close', end);
    // A reset connection ends the session like EOF; the exit file says how the process ended.
    socket.on('error', end);
  }

  /** Wraps our end of a socket pair whose other end the monitor got (--attach-fd). */
  static fromFd(fd: number): AttachConnection {
    return new AttachConnection(new net.Socket({ fd, readable: true, writable: true }));
  }

  /** Connects to a running container's attach socket. */
  static connect(path: string): Promise<AttachConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect(path);
      s.once('connect', () => resolve(new AttachConnection(s)));
      s.once('error', (e) => {
        if (hasErrno(e, 'ENOENT') || hasErrno(e, 'ECONNREFUSED')) {
          reject(new SkiffError('FailedPrecondition', `attach socket ${path} does not answer: the container is not running`));
        } else {
          reject(toSkiffError(e, `connecting to attach socket ${path}`));
        }
      });
    });
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Resolves once the socket has taken the data (backpressure for the sender). */
  async writeStdin(data: Buffer): Promise<void> {
    for (let off = 0; off < data.length; off += STDIN_FRAME_MAX) {
      await this.send(0, data.subarray(off, Math.min(off + STDIN_FRAME_MAX, data.length)));
    }
  }

  closeStdin(): void {
    void this.send(1, Buffer.alloc(0));
  }

  resize(rows: number, cols: number): void {
    const p = Buffer.alloc(4);
    p.writeUInt16BE(Math.min(rows, 0xffff), 0);
    p.writeUInt16BE(Math.min(cols, 0xffff), 2);
    void this.send(2, p);
  }

  /** Stops reading output (the receiver is behind); the monitor then holds the process's output. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(): void {
    this.socket.destroy();
  }

  private send(kind: number, payload: Buffer): Promise<void> {
    if (this.ended || this.socket.destroyed) return Promise.resolve();
    const head = Buffer.alloc(HDR);
    head[0] = kind;
    head.writeUInt32BE(payload.length, 1);
    return writeDrained(this.socket, Buffer.concat([head, payload]));
  }

  private onBytes(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= HDR) {
      const len = this.buf.readUInt32BE(1);
      if (this.buf.length < HDR + len) break;
      const kind = this.buf[0];
      const payload = this.buf.subarray(HDR, HDR + len);
      this.buf = this.buf.subarray(HDR + len);
      if (kind === KIND_STDOUT) this.emit('stdout', payload);
      else if (kind === KIND_STDERR) this.emit('stderr', payload);
    }
  }
}
