// A scripted rtnetlink peer for unit tests: records every datagram the code sends and answers each
// request the way the kernel does (replies, then an NLMSG_ERROR ack, or NLMSG_DONE for dumps).
import { attr, decodeMessages, encodeMessage, encodePayload, type Attr, type NetlinkMessage } from '../../../../src/network/netlink/codec.js';
import { NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_DUMP, NLM_F_MULTI, NLMSG_DONE, NLMSG_ERROR, NLMSGERR_ATTR_MSG } from '../../../../src/network/netlink/constants.js';
import { NetlinkSocket, type NetlinkTransport } from '../../../../src/network/netlink/socket.js';
import { encodeIfInfo } from '../../../../src/network/netlink/structs.js';

export interface Answer {
  readonly errno?: number;
  readonly extack?: string;
  /** Reply messages before the ack: [type, payload]. */
  readonly replies?: ReadonlyArray<readonly [number, Buffer]>;
}

export type Handler = (req: NetlinkMessage) => Answer;

export function ackMessage(seq: number, errno: number, extack?: string): Buffer {
  const tlvs = extack ? encodePayload(new Uint8Array(0), [attr.str(NLMSGERR_ATTR_MSG, extack)]) : Buffer.alloc(0);
  const body = Buffer.alloc(4 + 16);
  body.writeInt32LE(-errno, 0);
  body.writeUInt32LE(16, 4); // the capped echo of the request header
  return encodeMessage(NLMSG_ERROR, extack ? NLM_F_CAPPED | NLM_F_ACK_TLVS : NLM_F_CAPPED, seq, Buffer.concat([body, tlvs]));
}

export class FakeKernel implements NetlinkTransport {
  readonly sent: Buffer[] = [];
  readonly requests: NetlinkMessage[] = [];
  /** Datagrams waiting to be received. */
  readonly queue: Buffer[] = [];
  closed = false;

  constructor(private readonly handler: Handler) {}

  send(data: Buffer): void {
    this.sent.push(Buffer.from(data));
    const out: Buffer[] = [];
    for (const m of decodeMessages(Buffer.from(data))) {
      this.requests.push(m);
      const a = this.handler(m);
      const dump = (m.flags & NLM_F_DUMP) === NLM_F_DUMP;
      for (const [type, payload] of a.replies ?? []) out.push(encodeMessage(type, dump ? NLM_F_MULTI : 0, m.seq, payload));
      if (dump) {
        const done = Buffer.alloc(4);
        done.writeInt32LE(-(a.errno ?? 0));
        out.push(encodeMessage(NLMSG_DONE, NLM_F_MULTI, m.seq, done));
      } else {
        out.push(ackMessage(m.seq, a.errno ?? 0, a.extack));
      }
    }
    // The kernel queues each reply as its own datagram.
    this.queue.push(...out);
  }

  recv(): Buffer {
    const d = this.queue.shift();
    if (!d) throw new Error('fake kernel: recv with nothing queued (the real one would block)');
    return d;
  }

  close(): void {
    this.closed = true;
  }

  socket(): NetlinkSocket {
    return new NetlinkSocket(this);
  }
}

/** An RTM_NEWLINK payload as the kernel sends it for a link. */
export function linkPayload(l: { index: number; name: string; flags?: number; mtu?: number; kind?: string; mac?: number[]; link?: number }): Buffer {
  const attrs: Attr[] = [attr.str(3, l.name), attr.u32(4, l.mtu ?? 1500)];
  if (l.mac) attrs.push(attr.bytes(1, Buffer.from(l.mac)));
  if (l.link !== undefined) attrs.push(attr.u32(5, l.link));
  if (l.kind) attrs.push(attr.nest(18, [attr.str(1, l.kind)]));
  return encodePayload(encodeIfInfo({ index: l.index, flags: l.flags ?? 0 }), attrs);
}
