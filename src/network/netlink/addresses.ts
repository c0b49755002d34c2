// Interface addresses: add one (idempotently), remove one, list them.
import { constants } from 'node:os';
import { attr, decodeAttrs, readString, readU32, type Attr, type NetlinkMessage } from './codec.js';
import {
  AF_INET, AF_INET6, AF_UNSPEC, IFA_ADDRESS, IFA_BROADCAST, IFA_F_NODAD, IFA_FLAGS, IFA_LABEL,
  IFA_LOCAL, NLM_F_CREATE, NLM_F_EXCL, RT_SCOPE_UNIVERSE, RTM_DELADDR, RTM_GETADDR, RTM_NEWADDR,
} from './constants.js';
import { bytesToIp, ipv4Broadcast, type CidrBytes } from './ip-codec.js';
import type { NetlinkRequest, NetlinkSocket } from './socket.js';
import { decodeIfAddr, encodeIfAddr, IFADDRMSG_LEN } from './structs.js';

const { EADDRNOTAVAIL, EEXIST } = constants.errno;

export interface Address {
  readonly index: number;
  readonly family: 4 | 6;
  /** The interface's own address (IFA_LOCAL for IPv4, IFA_ADDRESS for IPv6). */
  readonly address: string;
  readonly prefix: number;
  readonly scope: number;
  readonly flags: number;
  readonly label: string | undefined;
}

/**
 * Adds cidr to the link; an identical address already there is success (EEXIST is tolerated, so
 * a retry or a second caller changes nothing). IPv6 skips duplicate address detection: the
 * address is ours by construction and must work at once.
 */
export function addAddressRequest(index: number, cidr: CidrBytes, what: string): NetlinkRequest {
  const v6 = cidr.family === AF_INET6;
  const flags = v6 ? IFA_F_NODAD : 0;
  const attrs: Attr[] = [attr.bytes(IFA_LOCAL, cidr.bytes), attr.bytes(IFA_ADDRESS, cidr.bytes)];
  if (!v6 && cidr.prefix < 31) attrs.push(attr.bytes(IFA_BROADCAST, ipv4Broadcast(cidr.bytes, cidr.prefix)));
  if (flags) attrs.push(attr.u32(IFA_FLAGS, flags));
  return {
    type: RTM_NEWADDR,
    flags: NLM_F_CREATE | NLM_F_EXCL,
    header: encodeIfAddr({ family: cidr.family, prefixLen: cidr.prefix, flags: flags & 0xff, scope: RT_SCOPE_UNIVERSE, index }),
    attrs,
    what,
    tolerate: [EEXIST],
  };
}

export function parseAddress(m: NetlinkMessage): Address | undefined {
  const h = decodeIfAddr(m.payload);
  if (h.family !== AF_INET && h.family !== AF_INET6) return undefined;
  const a = decodeAttrs(m.payload, IFADDRMSG_LEN);
  const bytes = a.get(IFA_LOCAL) ?? a.get(IFA_ADDRESS);
  if (!bytes) return undefined;
  return {
    index: h.index,
    family: h.family === AF_INET ? 4 : 6,
    address: bytesToIp(bytes),
    prefix: h.prefixLen,
    scope: h.scope,
    // IFA_FLAGS holds all 32 bits; the header byte only the low 8.
    flags: readU32(a.get(IFA_FLAGS)) ?? h.flags,
    label: readString(a.get(IFA_LABEL)),
  };
}

/** Addresses in the socket's netns; `index` filters in the kernel. */
export function listAddresses(sock: NetlinkSocket, filter: { index?: number; family?: 4 | 6 } = {}): Address[] {
  const family = filter.family === 4 ? AF_INET : filter.family === 6 ? AF_INET6 : AF_UNSPEC;
  const out: Address[] = [];
  for (const m of sock.dump(RTM_GETADDR, encodeIfAddr({ family, index: filter.index ?? 0 }), [], 'listing addresses')) {
    if (m.type !== RTM_NEWADDR) continue;
    const addr = parseAddress(m);
    // Older kernels ignore the index filter; filtering again costs nothing.
    if (addr && (filter.index === undefined || addr.index === filter.index)) out.push(addr);
  }
  return out;
}

/** Removes an address from a link; one that is not there is fine. */
export function deleteAddressRequest(index: number, cidr: CidrBytes, what: string): NetlinkRequest {
  return {
    type: RTM_DELADDR,
    flags: 0,
    header: encodeIfAddr({ family: cidr.family, prefixLen: cidr.prefix, flags: 0, scope: RT_SCOPE_UNIVERSE, index }),
    attrs: [attr.bytes(IFA_LOCAL, cidr.bytes), attr.bytes(IFA_ADDRESS, cidr.bytes)],
    what,
    tolerate: [EADDRNOTAVAIL],
  };
}
