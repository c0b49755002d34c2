// Links: look up, list, change, delete. Requests address a link by index when the caller knows
// it and by name otherwise; the kernel resolves names in the socket's own netns.
import { constants } from 'node:os';
import { invalidArgument } from '../../core/errors.js';
import { attr, decodeAttrs, readS32, readString, readU32, type Attr, type NetlinkMessage } from './codec.js';
import {
  AF_UNSPEC, IFF_UP, IFLA_ADDRESS, IFLA_EXT_MASK, IFLA_IFNAME, IFLA_INFO_KIND, IFLA_LINK, IFLA_LINK_NETNSID,
  IFLA_LINKINFO, IFLA_MASTER, IFLA_MTU, MAX_IFNAME, RTEXT_FILTER_SKIP_STATS, RTM_DELLINK, RTM_GETLINK, RTM_NEWLINK,
  RTM_SETLINK,
} from './constants.js';
import { formatMac } from './ip-codec.js';
import type { NetlinkRequest, NetlinkSocket } from './socket.js';
import { decodeIfInfo, encodeIfInfo } from './structs.js';

const { ENODEV } = constants.errno;

export interface Link {
  readonly index: number;
  readonly name: string;
  /** IFF_* bits. */
  readonly flags: number;
  /** Administratively up (IFF_UP); carrier is a separate matter. */
  readonly up: boolean;
  readonly mtu: number;
  /** "aa:bb:cc:dd:ee:ff", or undefined for links without one. */
  readonly mac: string | undefined;
  /** IFLA_INFO_KIND: "bridge", "veth"…; undefined for physical devices and lo. */
  readonly kind: string | undefined;
  /** Index of the bridge (or bond) this link is enslaved to. */
  readonly master: number | undefined;
  /** For a veth: its peer's index, in the netns given by linkNetnsId when that is set. */
  readonly peerIndex: number | undefined;
  readonly linkNetnsId: number | undefined;
}

/** Rejects names the kernel would refuse, with a sentence instead of a bare EINVAL. */
export function checkLinkName(name: string): void {
  if (
    name === '' || name === '.' || name === '..' || Buffer.byteLength(name) > MAX_IFNAME ||
    /[/:\s\0]/.test(name)
  ) {
    throw invalidArgument(`${JSON.stringify(name)} is not a valid interface name (1-${MAX_IFNAME} bytes, no "/", ":" or spaces)`);
  }
}

const LINK_ATTRS: ReadonlySet<number> = new Set([
  IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_MASTER, IFLA_LINKINFO, IFLA_LINK_NETNSID,
]);

export function parseLink(m: NetlinkMessage): Link {
  const info = decodeIfInfo(m.payload);
  const a = decodeAttrs(m.payload, 16, LINK_ATTRS);
  const linkinfo = a.get(IFLA_LINKINFO);
  const mac = a.get(IFLA_ADDRESS);
  return {
    index: info.index,
    name: readString(a.get(IFLA_IFNAME)) ?? '',
    flags: info.flags,
    up: (info.flags & IFF_UP) !== 0,
    mtu: readU32(a.get(IFLA_MTU)) ?? 0,
    mac: mac && mac.length > 0 ? formatMac(mac) : undefined,
    kind: linkinfo ? readString(decodeAttrs(linkinfo).get(IFLA_INFO_KIND)) : undefined,
    master: readU32(a.get(IFLA_MASTER)),
    peerIndex: readU32(a.get(IFLA_LINK)),
    linkNetnsId: readS32(a.get(IFLA_LINK_NETNSID)),
  };
}

/** A GETLINK by name whose result is the link, or errno ENODEV when there is none. */
export function getLinkRequest(name: string): NetlinkRequest {
  checkLinkName(name);
  return {
    type: RTM_GETLINK,
    header: encodeIfInfo({ family: AF_UNSPEC }),
    attrs: [attr.str(IFLA_IFNAME, name), attr.u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)],
    what: `looking up link ${name}`,
    tolerate: [ENODEV],
  };
}

/** The link a getLinkRequest found, or undefined. */
export function linkFromResult(r: { errno: number; replies: readonly NetlinkMessage[] }): Link | undefined {
  const m = r.errno === 0 ? r.replies.find((x) => x.type === RTM_NEWLINK) : undefined;
  return m ? parseLink(m) : undefined;
}

export function linkByName(sock: NetlinkSocket, name: string): Link | undefined {
  return linkFromResult(sock.request(getLinkRequest(name)));
}

/** Every link in the socket's netns; `master` and `kind` filter in the kernel. */
export function listLinks(sock: NetlinkSocket, filter: { master?: number; kind?: string } = {}): Link[] {
  const attrs: Attr[] = [attr.u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)];
  if (filter.master !== undefined) attrs.push(attr.u32(IFLA_MASTER, filter.master));
  if (filter.kind !== undefined) attrs.push(attr.nest(IFLA_LINKINFO, [attr.str(IFLA_INFO_KIND, filter.kind)]));
  return sock
    .dump(RTM_GETLINK, encodeIfInfo({ family: AF_UNSPEC }), attrs, 'listing links')
    .filter((m) => m.type === RTM_NEWLINK)
    .map(parseLink);
}

export type LinkRef = { readonly index: number } | { readonly name: string };

export interface LinkChange {
  readonly up?: boolean;
  readonly mtu?: number;
  readonly master?: number;
}

/** A SETLINK that changes only what `change` names. */
export function setLinkRequest(ref: LinkRef, change: LinkChange, what: string): NetlinkRequest {
  const attrs: Attr[] = [];
  let index = 0;
  if ('index' in ref) index = ref.index;
  else {
    checkLinkName(ref.name);
    attrs.push(attr.str(IFLA_IFNAME, ref.name));
  }
  if (change.mtu !== undefined) attrs.push(attr.u32(IFLA_MTU, change.mtu));
  if (change.master !== undefined) attrs.push(attr.u32(IFLA_MASTER, change.master));
  const header = encodeIfInfo({
    family: AF_UNSPEC,
    index,
    flags: change.up ? IFF_UP : 0,
    change: change.up === undefined ? 0 : IFF_UP,
  });
  return { type: RTM_SETLINK, header, attrs, what };
}

export function setLink(sock: NetlinkSocket, ref: LinkRef, change: LinkChange): void {
  const name = 'index' in ref ? `#${ref.index}` : ref.name;
  sock.request(setLinkRequest(ref, change, `changing link ${name}`));
}

/**
 * Deletes a link by name; a link that is already gone is fine. Deleting one end of a veth removes
 * both. Returns whether there was a link to delete.
 */
export function deleteLink(sock: NetlinkSocket, name: string): boolean {
  checkLinkName(name);
  const r = sock.request({
    type: RTM_DELLINK,
    header: encodeIfInfo({ family: AF_UNSPEC }),
    attrs: [attr.str(IFLA_IFNAME, name)],
    what: `deleting link ${name}`,
    tolerate: [ENODEV],
  });
  return r.errno === 0;
}
