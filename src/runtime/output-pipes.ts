// A child's stdout and stderr pipes, read into bounded buffers. Each pipe is a libuv stream
// (net.Socket on the fd, non-blocking, woken by epoll), not fs reads: a blocking read of a pipe
// holds one of libuv's four worker threads for as long as the writer stays silent, so a few
// quiet children (probes that sleep) would stall every file operation of the daemon, and such a
// read cannot be abandoned. These can: `stop()` closes our ends whenever the caller is done.
import net from 'node:net';

const READ_BYTES = 64 * 1024;

/** Node's Socket constructor takes `onread` too (lib/net.js), though its types list it for connect(). */
type SocketWithOnread = net.SocketConstructorOpts & Pick<net.TcpSocketConnectOpts, 'onread'>;

export interface OutputLimits {
  /** Bytes kept per stream. */
  readonly perStream: number;
  /** Bytes kept of both streams together, first come first kept. */
  readonly total: number;
}

class Pipe {
  private readonly parts: Buffer[] = [];
  private size = 0;
  private readonly socket: net.Socket;
  /** Resolves when the pipe is at its end (every writer closed it) or was stopped. */
  readonly closed: Promise<void>;

  constructor(
    fd: number,
    private readonly limits: OutputLimits,
    private readonly shared: { left: number; truncated: boolean },
  ) {
    // Every read lands in one buffer of the pipe's own (onread), and only what is kept is
    // copied out: a command writing gigabytes costs no allocation per read.
    const opts: SocketWithOnread = {
      fd,
      readable: true,
      writable: false,
      onread: { buffer: Buffer.allocUnsafe(READ_BYTES), callback: (n, buf) => this.take(buf.subarray(0, n)) },
    };
    this.socket = new net.Socket(opts);
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    // A read error ends the stream like EOF; 'close' follows.
    this.socket.on('error', () => {});
  }

  /** Past the limits the bytes are read and dropped, so the writer never blocks on a full pipe. */
  private take(chunk: Uint8Array): boolean {
    const room = Math.min(this.limits.perStream - this.size, this.shared.left);
    if (chunk.length > room) this.shared.truncated = true;
    if (room <= 0) return true;
    const part = Buffer.from(chunk.subarray(0, Math.min(room, chunk.length)));
    this.parts.push(part);
    this.size += part.length;
    this.shared.left -= part.length;
    return true;
  }

  stop(): void {
    this.socket.destroy();
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }
}

export class OutputPipes {
  private readonly shared: { left: number; truncated: boolean };
  private readonly out: Pipe;
  private readonly err: Pipe;

  /** Takes ownership of both fds: they are closed at their end or by stop(). */
  constructor(stdoutFd: number, stderrFd: number, limits: OutputLimits) {
    this.shared = { left: limits.total, truncated: false };
    this.out = new Pipe(stdoutFd, limits, this.shared);
    this.err = new Pipe(stderrFd, limits, this.shared);
  }

  /** Resolves when both pipes are at their end (or stopped). */
  get closed(): Promise<void> {
    return Promise.all([this.out.closed, this.err.closed]).then(() => undefined);
  }

  /** Stops reading and closes our ends; a writer still holding the pipes then gets SIGPIPE. */
  stop(): void {
    this.out.stop();
    this.err.stop();
  }

  result(): { stdout: Buffer; stderr: Buffer; truncated: boolean } {
    return { stdout: this.out.bytes(), stderr: this.err.bytes(), truncated: this.shared.truncated };
  }
}
