// One rtnetlink socket. Synchronous throughout: route netlink does the work and queues the answer
// within send(), so the recv() calls that follow never wait for anything. The socket can be
// opened inside a withNetns callback and used afterwards: a netlink socket stays bound to the
// netns it was opened in.
//
// exec() sends several requests in one datagram and then reads all their acks: the kernel runs
// them in order but does NOT stop at a failure, so only batch requests that are safe to run after
// an earlier one in the batch failed.
import { internal } from '../../core/errors.js';
import { closeFd, NETLINK_ROUTE, netlinkRecv, netlinkSend, netlinkSocket } from '../../sys/netlink-calls.js';
import { align4, decodeMessages, get16, get32, messageSize, writeMessage, type Attr, type NetlinkMessage } from './codec.js';
import {
  NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLMSG_NOOP,
  NLMSG_OVERRUN,
} from './constants.js';
import { NetlinkError, parseDonePayload, parseErrorPayload } from './netlink-error.js';

/** Moves datagrams; the real one is a socket, tests hand in a scripted kernel. */
export interface NetlinkTransport {
  /** `data` is only valid during the call (the socket reuses it). */
  send(data: Buffer): void;
  /** The next datagram; the buffer may be reused by the next recv(). */
  recv(): Buffer;
  close(): void;
}

export interface NetlinkRequest {
  readonly type: number;
  /** NLM_F_* flags besides REQUEST and ACK, which every request gets. */
  readonly flags?: number;
  /** The fixed struct: ifinfomsg, ifaddrmsg, rtmsg. */
  readonly header: Uint8Array;
  readonly attrs?: readonly Attr[];
  /** What the request does, for error messages: "creating bridge skiff0". */
  readonly what: string;
  /** Errnos that count as an answer rather than a failure (ENODEV when deleting a gone link). */
  readonly tolerate?: readonly number[];
}

export interface NetlinkResult {
  /** 0, or one of the request's tolerated errnos. */
  readonly errno: number;
  /** Messages that answered the request before its ack (the link a GETLINK asked for); copies. */
  readonly replies: readonly NetlinkMessage[];
}

const RECV_BUFFER = 64 * 1024;
const DUMP_ATTEMPTS = 3;

/**
 * One receive buffer for all sockets: every datagram is read, and what must outlive it copied,
 * before the next recv (all of this is synchronous); a buffer per pod socket would only feed the
 * garbage collector.
 */
let recvBuffer: Buffer | undefined;

/** Likewise for sending: the kernel copies the datagram before send() returns. */
let sendBuffer = Buffer.allocUnsafeSlow(8 * 1024);

function zeroedSendBuffer(size: number): Buffer {
  if (size > sendBuffer.length) sendBuffer = Buffer.allocUnsafeSlow(Math.max(size, sendBuffer.length * 2));
  return sendBuffer.fill(0, 0, size).subarray(0, size);
}

function socketTransport(recvTimeoutMs: number): NetlinkTransport {
  const fd = netlinkSocket(NETLINK_ROUTE, recvTimeoutMs);
  const buf = (recvBuffer ??= Buffer.allocUnsafeSlow(RECV_BUFFER));
  return {
    send: (data) => netlinkSend(fd, data),
    recv: () => {
      const n = netlinkRecv(fd, buf);
      if (n > buf.length) throw internal(`netlink reply of ${n} bytes does not fit ${buf.length}`);
      return buf.subarray(0, n);
    },
    close: () => closeFd(fd),
  };
}

export class NetlinkSocket {
  private seq = 0;
  private closed = false;

  constructor(private readonly transport: NetlinkTransport) {}

  /** Opens a NETLINK_ROUTE socket in the calling thread's network namespace. */
  static open(options: { recvTimeoutMs?: number } = {}): NetlinkSocket {
    return new NetlinkSocket(socketTransport(options.recvTimeoutMs ?? 5000));
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  private live(): NetlinkTransport {
    if (this.closed) throw internal('netlink socket used after close');
    return this.transport;
  }

  /**
   * Sends all requests in one datagram and waits for every ack. Throws the first failure that is
   * not tolerated, after all acks are read so none is left for the next call.
   */
  exec(requests: readonly NetlinkRequest[]): NetlinkResult[] {
    const t = this.live();
    if (requests.length === 0) return [];
    const firstSeq = (this.seq + 1) >>> 0; // requests get consecutive numbers, mod 2^32
    let size = 0;
    for (const r of requests) size += messageSize(r.header, r.attrs);
    const out = zeroedSendBuffer(size);
    let off = 0;
    for (const r of requests) {
      const m = { type: r.type, flags: NLM_F_REQUEST | NLM_F_ACK | (r.flags ?? 0), seq: this.nextSeq() };
      off = writeMessage(out, off, m, r.header, r.attrs);
    }
    t.send(out);

    const n = requests.length;
    const errnos = new Array<number>(n).fill(-1);
    const extacks = new Array<string | undefined>(n).fill(undefined);
    const replies: NetlinkMessage[][] = Array.from({ length: n }, () => []);
    let pending = n;
    while (pending > 0) {
      const data = t.recv();
      if (data.length === 0) throw internal('netlink socket returned an empty datagram');
      // Walked in place: acks are read without copying; only replies are copied out.
      for (let p = 0; p + NLMSG_HDRLEN <= data.length; ) {
        const len = get32(data, p);
        if (len < NLMSG_HDRLEN || p + len > data.length) {
          throw internal(`malformed netlink reply: message of ${len} bytes at offset ${p} of ${data.length}`);
        }
        const type = get16(data, p + 4);
        const flags = get16(data, p + 6);
        const seq = get32(data, p + 8);
        const i = (seq - firstSeq) >>> 0;
        // Answers to an earlier call that gave up half way (a timeout) are not ours.
        if (i < n && errnos[i] === -1) {
          if (type === NLMSG_ERROR || type === NLMSG_DONE) {
            const errno = len >= NLMSG_HDRLEN + 4 ? -(get32(data, p + NLMSG_HDRLEN) | 0) || 0 : 0;
            errnos[i] = errno;
            if (errno !== 0 && flags & NLM_F_ACK_TLVS) {
              const payload = data.subarray(p + NLMSG_HDRLEN, p + len);
              const ack = type === NLMSG_ERROR ? parseErrorPayload(payload, flags) : parseDonePayload(payload, flags);
              extacks[i] = ack.extack;
            }
            pending--;
          } else if (type !== NLMSG_NOOP && type !== NLMSG_OVERRUN) {
            const payload = Buffer.from(data.subarray(p + NLMSG_HDRLEN, p + len));
            replies[i]!.push({ type, flags, seq, pid: get32(data, p + 12), payload });
          }
        }
        p += align4(len);
      }
    }

    for (let i = 0; i < n; i++) {
      const errno = errnos[i]!;
      if (errno !== 0 && !requests[i]!.tolerate?.includes(errno)) {
        throw new NetlinkError(requests[i]!.what, errno, extacks[i]);
      }
    }
    return requests.map((_, i) => ({ errno: errnos[i]!, replies: replies[i]! }));
  }

  /** One request and its ack. */
  request(req: NetlinkRequest): NetlinkResult {
    return this.exec([req])[0]!;
  }

  /**
   * A dump (every link, every address). The kernel sends it in several datagrams and says
   * NLM_F_DUMP_INTR when the table changed meanwhile; then the dump is taken again.
   */
  dump(type: number, header: Uint8Array, attrs: readonly Attr[], what: string): NetlinkMessage[] {
    const t = this.live();
    for (let attempt = 1; ; attempt++) {
      const seq = this.nextSeq();
      const req = zeroedSendBuffer(messageSize(header, attrs));
      writeMessage(req, 0, { type, flags: NLM_F_REQUEST | NLM_F_DUMP, seq }, header, attrs);
      t.send(req);
      const out: NetlinkMessage[] = [];
      let interrupted = false;
      let done = false;
      while (!done) {
        const data = t.recv();
        if (data.length === 0) throw internal('netlink socket returned an empty datagram');
        // A copy: the messages outlive the receive buffer.
        for (const m of decodeMessages(Buffer.from(data))) {
          if (m.seq !== seq || done) continue;
          if (m.flags & NLM_F_DUMP_INTR) interrupted = true;
          if (m.type === NLMSG_DONE || m.type === NLMSG_ERROR) {
            const ack = m.type === NLMSG_DONE ? parseDonePayload(m.payload, m.flags) : parseErrorPayload(m.payload, m.flags);
            if (ack.errno !== 0) throw new NetlinkError(what, ack.errno, ack.extack);
            done = true;
          } else if (m.type !== NLMSG_NOOP && m.type !== NLMSG_OVERRUN) {
            out.push(m);
          }
        }
      }
      if (!interrupted || attempt >= DUMP_ATTEMPTS) return out;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.transport.close();
  }
}
