// Per-interface traffic counters of a pod's network namespace, for CRI PodSandboxStats.
//
// The cheap way needs no namespace switch and no spawn: /proc/<pid>/net/dev shows the netns of
// <pid>, so reading it for the pod's pid init (or any container process) is one in-kernel read.
// When no process is at hand (the pid init died, a pinned netns only), statsInNetns() enters the
// pinned namespace with withNetns and dumps the links with their 64-bit counters over netlink.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasErrno, notFound, toSkiffError } from '../core/errors.js';
import { attr, decodeAttrs, readString, type NetlinkMessage } from './netlink/codec.js';
import { AF_UNSPEC, IFLA_EXT_MASK, IFLA_IFNAME, RTM_GETLINK, RTM_NEWLINK } from './netlink/constants.js';
import { NetlinkSocket } from './netlink/socket.js';
import { encodeIfInfo, IFINFOMSG_LEN } from './netlink/structs.js';
import { withNetns } from './netlink/with-netns.js';

export interface InterfaceStats {
  name: string;
  rxBytes: bigint;
  rxPackets: bigint;
  rxErrors: bigint;
  rxDropped: bigint;
  txBytes: bigint;
  txPackets: bigint;
  txErrors: bigint;
  txDropped: bigint;
}

/** Loopback traffic is the pod talking to itself; kubelet and cadvisor leave it out. */
const LOOPBACK = 'lo';

/**
 * Parses /proc/net/dev: two header lines, then "name: rx bytes packets errs drop fifo frame
 * compressed multicast tx bytes packets errs drop fifo colls carrier compressed". Old kernels put
 * no space after the colon when the first number is wide, so split on the colon, not on spaces
 * (an interface name cannot contain one). Every interface but lo, in the file's order.
 */
export function parseNetDev(text: string): InterfaceStats[] {
  const out: InterfaceStats[] = [];
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    // The header's "Inter-|" and " face |" lines have no colon; anything else malformed is skipped.
    if (name === '' || name === LOOPBACK || name.includes('|')) continue;
    const f = line.slice(colon + 1).trim().split(/\s+/);
    if (f.length < 16 || !f.every((x) => /^\d+$/.test(x))) continue;
    out.push({
      name,
      rxBytes: BigInt(f[0]!),
      rxPackets: BigInt(f[1]!),
      rxErrors: BigInt(f[2]!),
      rxDropped: BigInt(f[3]!),
      txBytes: BigInt(f[8]!),
      txPackets: BigInt(f[9]!),
      txErrors: BigInt(f[10]!),
      txDropped: BigInt(f[11]!),
    });
  }
  return out;
}

/**
 * The interfaces of the netns `pid` lives in. NotFound when the process is gone; `procRoot` is
 * for tests.
 */
export function readPidNetStats(pid: number, procRoot = '/proc'): InterfaceStats[] {
  const file = join(procRoot, String(pid), 'net', 'dev');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (hasErrno(e, 'ENOENT') || hasErrno(e, 'ESRCH')) throw notFound(`process ${pid} is gone: no ${file}`, e);
    throw toSkiffError(e, `reading ${file}`);
  }
  return parseNetDev(text);
}

const IFLA_STATS64 = 23;
/** Offsets in struct rtnl_link_stats64 (all __u64, host order). */
const RX_PACKETS = 0;
const TX_PACKETS = 8;
const RX_BYTES = 16;
const TX_BYTES = 24;
const RX_ERRORS = 32;
const TX_ERRORS = 40;
const RX_DROPPED = 48;
const TX_DROPPED = 56;
const STATS_ATTRS: ReadonlySet<number> = new Set([IFLA_IFNAME, IFLA_STATS64]);

/** One RTM_NEWLINK reply with IFLA_STATS64 → its counters; undefined without the stats attribute. */
export function parseLinkStats(m: NetlinkMessage): InterfaceStats | undefined {
  const a = decodeAttrs(m.payload, IFINFOMSG_LEN, STATS_ATTRS);
  const s = a.get(IFLA_STATS64);
  const name = readString(a.get(IFLA_IFNAME));
  if (!s || s.length < TX_DROPPED + 8 || name === undefined) return undefined;
  return {
    name,
    rxBytes: s.readBigUInt64LE(RX_BYTES),
    rxPackets: s.readBigUInt64LE(RX_PACKETS),
    rxErrors: s.readBigUInt64LE(RX_ERRORS),
    rxDropped: s.readBigUInt64LE(RX_DROPPED),
    txBytes: s.readBigUInt64LE(TX_BYTES),
    txPackets: s.readBigUInt64LE(TX_PACKETS),
    txErrors: s.readBigUInt64LE(TX_ERRORS),
    txDropped: s.readBigUInt64LE(TX_DROPPED),
  };
}

/** Dumps every link of the socket's netns with its counters, lo left out. */
export function dumpLinkStats(sock: NetlinkSocket): InterfaceStats[] {
  // IFLA_EXT_MASK 0: unlike listLinks, we want the statistics this time.
  const replies = sock.dump(RTM_GETLINK, encodeIfInfo({ family: AF_UNSPEC }), [attr.u32(IFLA_EXT_MASK, 0)], 'dumping link statistics');
  const out: InterfaceStats[] = [];
  for (const m of replies) {
    if (m.type !== RTM_NEWLINK) continue;
    const s = parseLinkStats(m);
    if (s && s.name !== LOOPBACK) out.push(s);
  }
  return out;
}

/**
 * The interfaces of the netns pinned at `nsPath` (/run/skiff/ns/…, /proc/<pid>/ns/net), for when
 * no process of the pod is left to read /proc/<pid>/net/dev through. Only the socket is opened
 * inside the namespace; the dump runs from the daemon's own.
 */
export function statsInNetns(nsPath: string): InterfaceStats[] {
  const sock = withNetns(nsPath, () => NetlinkSocket.open());
  try {
    return dumpLinkStats(sock);
  } finally {
    sock.close();
  }
}

/**
 * The pod's interfaces: through `pid` when one is given and alive, else through the pinned netns.
 * NotFound when neither is there.
 */
export function podNetStats(opts: { pid?: number; nsPath?: string }): InterfaceStats[] {
  if (opts.pid !== undefined && opts.pid > 0) {
    try {
      return readPidNetStats(opts.pid);
    } catch (e) {
      if (opts.nsPath === undefined) throw e;
    }
  }
  if (opts.nsPath === undefined) throw notFound('no process or network namespace to read network stats from');
  return statsInNetns(opts.nsPath);
}
