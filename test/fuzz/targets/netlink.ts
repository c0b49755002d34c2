// Netlink replies: the kernel writes them, but a pod's network namespace is where skiffd opens
// some of its sockets, and a decoder that trusts lengths is one bad reply from reading garbage.
// The datagrams go through the message/attribute decoders and through NetlinkSocket's own
// receive loops (exec's in-place walk, dump's), fed by a scripted transport.
import fc from 'fast-check';
import { attr, decodeAttrs, decodeMessages, encodeMessage, encodePayload, readString, type Attr } from '../../../src/network/netlink/codec.js';
import {
  IFA_ADDRESS, IFA_FLAGS, IFA_LABEL, IFA_LOCAL, IFLA_ADDRESS, IFLA_IFNAME, IFLA_INFO_KIND, IFLA_LINK, IFLA_LINK_NETNSID, IFLA_LINKINFO,
  IFLA_MASTER, IFLA_MTU, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_DUMP_INTR, NLM_F_MULTI, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP,
  NLMSG_OVERRUN, NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS, RTA_DST, RTA_GATEWAY, RTA_OIF, RTA_PRIORITY, RTA_TABLE, RTM_NEWADDR,
  RTM_NEWLINK, RTM_NEWROUTE,
} from '../../../src/network/netlink/constants.js';
import { listAddresses, parseAddress } from '../../../src/network/netlink/addresses.js';
import { getLinkRequest, listLinks, parseLink } from '../../../src/network/netlink/links.js';
import { parseDonePayload, parseErrorPayload } from '../../../src/network/netlink/netlink-error.js';
import { listRoutes, parseRoute } from '../../../src/network/netlink/routes.js';
import { NetlinkSocket, type NetlinkTransport } from '../../../src/network/netlink/socket.js';
import { encodeIfAddr, encodeIfInfo, encodeRtMsg } from '../../../src/network/netlink/structs.js';
import { dumpLinkStats, parseLinkStats } from '../../../src/network/net-stats.js';
import { SkiffError } from '../../../src/core/errors.js';
import { inputMix } from '../harness/mutate.js';
import { violation, type FuzzTarget } from '../harness/target.js';

/** The scripted kernel has nothing more to say: the end of the input, not a failure. */
class OutOfDatagrams extends Error {}

const IFLA_STATS64 = 23;

const str = fc.oneof(fc.constantFrom('eth0', 'skiff0', 'veth', 'bridge', 'lo', '', 'a'.repeat(20)), fc.string({ maxLength: 16 }));
const bytes = (max: number) => fc.uint8Array({ maxLength: max });

const linkAttr: fc.Arbitrary<Attr> = fc.oneof(
  str.map((s) => attr.str(IFLA_IFNAME, s)),
  fc.nat().map((n) => attr.u32(IFLA_MTU, n)),
  fc.nat().map((n) => attr.u32(IFLA_MASTER, n)),
  fc.nat().map((n) => attr.u32(IFLA_LINK, n)),
  fc.integer().map((n) => attr.s32(IFLA_LINK_NETNSID, n)),
  bytes(8).map((b) => attr.bytes(IFLA_ADDRESS, b)),
  bytes(80).map((b) => attr.bytes(IFLA_STATS64, b)),
  str.map((s) => attr.nest(IFLA_LINKINFO, [attr.str(IFLA_INFO_KIND, s)])),
  fc.tuple(fc.nat({ max: 0xffff }), bytes(12)).map(([t, b]) => attr.bytes(t, b)),
);
const addrAttr: fc.Arbitrary<Attr> = fc.oneof(
  bytes(17).map((b) => attr.bytes(IFA_LOCAL, b)),
  bytes(17).map((b) => attr.bytes(IFA_ADDRESS, b)),
  str.map((s) => attr.str(IFA_LABEL, s)),
  fc.nat().map((n) => attr.u32(IFA_FLAGS, n)),
);
const routeAttr: fc.Arbitrary<Attr> = fc.oneof(
  bytes(17).map((b) => attr.bytes(RTA_DST, b)),
  bytes(17).map((b) => attr.bytes(RTA_GATEWAY, b)),
  fc.nat().map((n) => attr.u32(RTA_OIF, n)),
  fc.nat().map((n) => attr.u32(RTA_TABLE, n)),
  fc.nat().map((n) => attr.u32(RTA_PRIORITY, n)),
);
const family = fc.constantFrom(0, 2, 7, 10, 255);

const flags = fc.subarray([NLM_F_MULTI, NLM_F_DUMP_INTR, NLM_F_ACK_TLVS, NLM_F_CAPPED]).map((fs) => fs.reduce((a, b) => a | b, 0));
/** Sequence numbers near the ones a fresh socket uses, so that replies match requests. */
const seq = fc.oneof({ weight: 5, arbitrary: fc.nat({ max: 10 }) }, { weight: 1, arbitrary: fc.nat() });

const ackPayload = fc
  .record({
    errno: fc.constantFrom(0, 0, 1, 2, 17, 19, 22, 95, 4095, -5, 0x7fffffff),
    echoLen: fc.constantFrom(16, 20, 0, 3, 0x7fffffff, 0x80000000, 0xfffffffe),
    extack: fc.option(str, { nil: undefined }),
    offs: fc.option(fc.nat(), { nil: undefined }),
  })
  .map((a) => {
    const head = Buffer.alloc(20);
    head.writeInt32LE(-a.errno | 0, 0);
    head.writeUInt32LE(a.echoLen >>> 0, 4);
    const tlvs: Attr[] = [];
    if (a.extack !== undefined) tlvs.push(attr.str(NLMSGERR_ATTR_MSG, a.extack));
    if (a.offs !== undefined) tlvs.push(attr.u32(NLMSGERR_ATTR_OFFS, a.offs));
    return Buffer.concat([head, encodePayload(new Uint8Array(0), tlvs)]);
  });

const message: fc.Arbitrary<Buffer> = fc.oneof(
  fc.tuple(seq, flags, ackPayload).map(([s, f, p]) => encodeMessage(NLMSG_ERROR, f, s, p)),
  fc.tuple(seq, flags, ackPayload).map(([s, f, p]) => encodeMessage(NLMSG_DONE, f, s, p.subarray(0, 4))),
  fc.tuple(seq, flags, family, fc.integer(), fc.array(linkAttr, { maxLength: 8 })).map(([s, f, fam, index, as]) =>
    encodeMessage(RTM_NEWLINK, f, s, encodePayload(encodeIfInfo({ family: fam, index: index >>> 0 }), as))),
  fc.tuple(seq, flags, family, fc.nat({ max: 255 }), fc.array(addrAttr, { maxLength: 5 })).map(([s, f, fam, prefixLen, as]) =>
    encodeMessage(RTM_NEWADDR, f, s, encodePayload(encodeIfAddr({ family: fam, prefixLen }), as))),
  fc.tuple(seq, flags, family, fc.constantFrom(254, 255, 0), fc.array(routeAttr, { maxLength: 5 })).map(([s, f, fam, table, as]) =>
    encodeMessage(RTM_NEWROUTE, f, s, encodePayload(encodeRtMsg({ family: fam, table }), as))),
  fc.tuple(seq, fc.constantFrom(NLMSG_NOOP, NLMSG_OVERRUN, 0, 0xffff), bytes(24)).map(([s, t, p]) => encodeMessage(t, 0, s, p)),
);

/** Input layout: datagrams, each length:u16be then its bytes. */
function encodeDatagrams(ds: readonly Buffer[]): Buffer {
  return Buffer.concat(ds.flatMap((d) => {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(Math.min(d.length, 0xffff));
    return [len, d.subarray(0, 0xffff)];
  }));
}

function decodeDatagrams(input: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off + 2 <= input.length; ) {
    const len = input.readUInt16BE(off);
    out.push(input.subarray(off + 2, off + 2 + len));
    off += 2 + len;
  }
  return out;
}

const datagrams = fc.array(fc.array(message, { minLength: 1, maxLength: 3 }).map((ms) => Buffer.concat(ms)), { minLength: 1, maxLength: 8 }).map(encodeDatagrams);

/** A typed answer: a NetlinkError (kind from the errno) or Internal for a malformed reply. */
const typed = (e: unknown) => e instanceof SkiffError || e instanceof OutOfDatagrams;

function attempt(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!typed(e)) throw e;
  }
}

function checkName(s: string | undefined, what: string): void {
  if (s !== undefined && typeof s !== 'string') violation(`${what} is not a string`);
}

function decodeEach(d: Buffer): void {
  for (const m of decodeMessages(d)) {
    if (m.payload.length > d.length) violation('a payload longer than its datagram');
    attempt(() => checkName(parseLink(m).name, 'link name'));
    attempt(() => checkName(parseAddress(m)?.address, 'address'));
    attempt(() => checkName(parseRoute(m)?.dst, 'route'));
    attempt(() => checkName(parseLinkStats(m)?.name, 'stats name'));
    for (const parse of [parseErrorPayload, parseDonePayload]) {
      const ack = parse(m.payload, m.flags);
      if (!Number.isInteger(ack.errno)) violation(`errno ${ack.errno}`);
      checkName(ack.extack, 'extack');
    }
    attempt(() => decodeAttrs(m.payload, 16).forEach((v) => readString(v)));
  }
}

/** Feeds the datagrams, in order, to a socket's requests and dumps until they run out. */
function converse(ds: readonly Buffer[]): void {
  let next = 0;
  const transport: NetlinkTransport = {
    send: () => {},
    recv: () => {
      const d = ds[next++];
      if (d === undefined) throw new OutOfDatagrams();
      return d;
    },
    close: () => {},
  };
  const sock = new NetlinkSocket(transport);
  const calls: (() => unknown)[] = [
    () => sock.exec([getLinkRequest('eth0'), getLinkRequest('skiff0')]),
    () => listLinks(sock),
    () => listAddresses(sock),
    () => listRoutes(sock, 4),
    () => dumpLinkStats(sock),
  ];
  for (const call of calls) {
    try {
      call();
    } catch (e) {
      if (e instanceof OutOfDatagrams) return;
      if (!(e instanceof SkiffError)) throw e;
    }
  }
}

export const netlinkTarget: FuzzTarget = {
  name: 'netlink',
  about: 'network/netlink codec, reply parsers and NetlinkSocket receive loops: values, or a SkiffError (Internal for malformed replies)',
  smokeRuns: 400,
  inputs: async () => {
    const seed = encodeDatagrams([
      encodeMessage(RTM_NEWLINK, 0, 1, encodePayload(encodeIfInfo({ index: 3 }), [attr.str(IFLA_IFNAME, 'eth0'), attr.u32(IFLA_MTU, 1500)])),
      encodeMessage(NLMSG_ERROR, NLM_F_CAPPED, 1, Buffer.alloc(20)),
    ]);
    return inputMix({ structured: datagrams, seeds: [seed], maxLength: 256 * 1024 });
  },
  run: (input) => {
    const ds = decodeDatagrams(input);
    for (const d of ds) attempt(() => decodeEach(d));
    converse(ds);
  },
  accepts: typed,
};
