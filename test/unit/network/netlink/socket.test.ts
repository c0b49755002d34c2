import { expect } from 'chai';
import { isKind } from '../../../../src/core/errors.js';
import { decodeMessages, encodeMessage } from '../../../../src/network/netlink/codec.js';
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_MULTI, NLM_F_REQUEST, NLMSG_DONE } from '../../../../src/network/netlink/constants.js';
import { NetlinkError } from '../../../../src/network/netlink/netlink-error.js';
import { NetlinkSocket, type NetlinkTransport } from '../../../../src/network/netlink/socket.js';
import { ackMessage, FakeKernel } from './fake-kernel.js';

const req = (type: number, what = `request ${type}`, extra: object = {}) => ({ type, header: Buffer.alloc(16), what, ...extra });

/** A transport whose answers the test writes out datagram by datagram. */
class Scripted implements NetlinkTransport {
  sent: Buffer[] = [];
  constructor(private readonly script: (sent: Buffer[]) => Buffer[]) {}
  private queue: Buffer[] = [];
  send(d: Buffer): void {
    this.sent.push(Buffer.from(d));
    this.queue.push(...this.script(this.sent));
  }
  recv(): Buffer {
    const d = this.queue.shift();
    if (!d) throw new Error('nothing queued');
    return d;
  }
  close(): void {}
}

describe('NetlinkSocket', function () {
  it('sends a batch as one datagram, with REQUEST|ACK and increasing sequence numbers', function () {
    const k = new FakeKernel(() => ({}));
    const s = k.socket();
    const results = s.exec([req(16, 'a', { flags: NLM_F_CREATE }), req(19), req(20)]);
    expect(k.sent).to.have.length(1);
    const ms = decodeMessages(k.sent[0]!);
    expect(ms.map((m) => m.type)).to.deep.equal([16, 19, 20]);
    expect(ms.map((m) => m.flags)).to.deep.equal([NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE, NLM_F_REQUEST | NLM_F_ACK, NLM_F_REQUEST | NLM_F_ACK]);
    expect(ms[1]!.seq).to.equal(ms[0]!.seq + 1);
    expect(ms[2]!.seq).to.equal(ms[0]!.seq + 2);
    expect(results.map((r) => r.errno)).to.deep.equal([0, 0, 0]);
    s.exec([req(18)]);
    expect(decodeMessages(k.sent[1]!)[0]!.seq).to.equal(ms[0]!.seq + 3);
  });

  it('hands each request the replies that came before its ack', function () {
    const k = new FakeKernel((m) => (m.type === 18 ? { replies: [[16, Buffer.from('link!')]] } : {}));
    const [a, b] = k.socket().exec([req(19), req(18)]);
    expect(a!.replies).to.deep.equal([]);
    expect(b!.replies.map((m) => [m.type, m.payload.toString()])).to.deep.equal([[16, 'link!']]);
  });

  it('reads every ack before throwing the first failure, so the next call starts clean', function () {
    const k = new FakeKernel((m) => (m.type === 19 ? { errno: 19, extack: 'no such device' } : m.type === 20 ? { errno: 17 } : {}));
    const s = k.socket();
    let caught: unknown;
    try {
      s.exec([req(16), req(19, 'setting eth0 up'), req(20, 'adding address')]);
    } catch (e) {
      caught = e;
    }
    expect(caught).to.be.instanceOf(NetlinkError);
    expect((caught as NetlinkError).message).to.equal('setting eth0 up: ENODEV (no such device)');
    expect(isKind(caught, 'NotFound')).to.equal(true);
    expect(k.queue).to.deep.equal([]);
    expect(s.exec([req(16)])[0]!.errno).to.equal(0);
  });

  it('returns tolerated errnos instead of throwing', function () {
    const k = new FakeKernel(() => ({ errno: 17 }));
    expect(k.socket().request(req(20, 'x', { tolerate: [17] })).errno).to.equal(17);
    expect(() => k.socket().request(req(20, 'adding'))).to.throw(/adding: EEXIST/);
  });

  it('copes with acks split over datagrams, out of order, and stale answers from an earlier call', function () {
    const t = new Scripted((sent) => {
      const seqs = decodeMessages(sent[sent.length - 1]!).map((m) => m.seq);
      const stale = ackMessage(seqs[0]! - 1, 0);
      return [Buffer.concat([stale, ackMessage(seqs[1]!, 0)]), encodeMessage(16, 0, seqs[0]!, Buffer.from('r')), ackMessage(seqs[0]!, 0)];
    });
    const s = new NetlinkSocket(t);
    s.exec([req(18)]); // burns a sequence number so the stale one belongs to nobody
    const [a, b] = s.exec([req(18), req(19)]);
    expect(a!.replies.map((m) => m.payload.toString())).to.deep.equal(['r']);
    expect(b!.errno).to.equal(0);
  });

  it('keeps replies intact when the transport reuses its receive buffer', function () {
    const shared = Buffer.alloc(256);
    const t = new Scripted((sent) => {
      const seq = decodeMessages(sent[sent.length - 1]!)[0]!.seq;
      return [encodeMessage(16, 0, seq, Buffer.from('first')), ackMessage(seq, 0)];
    });
    const view: NetlinkTransport = {
      send: (d) => t.send(d),
      recv: () => {
        const d = t.recv();
        shared.fill(0x55);
        d.copy(shared);
        return shared.subarray(0, d.length);
      },
      close: () => undefined,
    };
    const [r] = new NetlinkSocket(view).exec([req(18)]);
    expect(r!.replies[0]!.payload.toString()).to.equal('first');
  });

  it('matches acks across the 32-bit sequence wrap', function () {
    const k = new FakeKernel((m) => (m.type === 18 ? { replies: [[16, Buffer.from(`seq${m.seq}`)]] } : {}));
    const s = k.socket();
    (s as unknown as { seq: number }).seq = 0xfffffffe;
    const rs = s.exec([req(18), req(18), req(18)]);
    expect(rs.map((r) => r.replies[0]!.payload.toString())).to.deep.equal(['seq4294967295', 'seq0', 'seq1']);
  });

  it('dumps across datagrams until NLMSG_DONE', function () {
    const t = new Scripted((sent) => {
      const seq = decodeMessages(sent[sent.length - 1]!)[0]!.seq;
      return [
        Buffer.concat([encodeMessage(16, NLM_F_MULTI, seq, Buffer.from('a')), encodeMessage(16, NLM_F_MULTI, seq, Buffer.from('b'))]),
        encodeMessage(16, NLM_F_MULTI, seq, Buffer.from('c')),
        encodeMessage(NLMSG_DONE, NLM_F_MULTI, seq, Buffer.alloc(4)),
      ];
    });
    const out = new NetlinkSocket(t).dump(18, Buffer.alloc(16), [], 'listing');
    expect(out.map((m) => m.payload.toString())).to.deep.equal(['a', 'b', 'c']);
    expect(decodeMessages(t.sent[0]!)[0]!.flags).to.equal(NLM_F_REQUEST | NLM_F_DUMP);
  });

  it('takes a dump again when the kernel says it was interrupted', function () {
    let n = 0;
    const t = new Scripted((sent) => {
      const seq = decodeMessages(sent[sent.length - 1]!)[0]!.seq;
      n++;
      const flags = NLM_F_MULTI | (n === 1 ? NLM_F_DUMP_INTR : 0);
      return [encodeMessage(16, flags, seq, Buffer.from(`try${n}`)), encodeMessage(NLMSG_DONE, flags, seq, Buffer.alloc(4))];
    });
    const out = new NetlinkSocket(t).dump(18, Buffer.alloc(16), [], 'listing');
    expect(out.map((m) => m.payload.toString())).to.deep.equal(['try2']);
  });

  it('throws when a dump fails', function () {
    const k = new FakeKernel(() => ({ errno: 22 }));
    expect(() => k.socket().dump(22, Buffer.alloc(8), [], 'listing addresses')).to.throw('listing addresses: EINVAL');
  });

  it('closes its transport once and refuses use after close', function () {
    const k = new FakeKernel(() => ({}));
    const s = k.socket();
    s.close();
    s.close();
    expect(k.closed).to.equal(true);
    expect(() => s.exec([req(18)])).to.throw(/after close/);
  });
});
