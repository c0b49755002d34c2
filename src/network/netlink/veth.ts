// The pod's veth pair in one request: the peer is born inside the pod's netns (IFLA_NET_NS_FD in
// VETH_INFO_PEER), so it never appears on the host and never has to be moved; the host end comes
// up already enslaved to the bridge. Hairpin mode follows in a second round trip, since the port
// only exists once the first succeeded; a lookup of the host end rides along and tells the peer's
// index, which spares configurePodInterface its own lookup.
import { internal } from '../../core/errors.js';
import { attr } from './codec.js';
import {
  AF_UNSPEC, IFF_UP, IFLA_BRPORT_MODE, IFLA_IFNAME, IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_INFO_SLAVE_DATA,
  IFLA_INFO_SLAVE_KIND, IFLA_LINKINFO, IFLA_MASTER, IFLA_MTU, IFLA_NET_NS_FD, NLM_F_CREATE, NLM_F_EXCL, RTM_NEWLINK,
  VETH_INFO_PEER,
} from './constants.js';
import { checkLinkName, getLinkRequest, linkFromResult } from './links.js';
import type { NetlinkRequest, NetlinkSocket } from './socket.js';
import { encodeIfInfo } from './structs.js';

export interface VethSpec {
  /** The host end's name, unique on the node (at most 15 bytes). */
  readonly hostName: string;
  /** The pod end's name inside the pod's netns, normally "eth0". */
  readonly peerName: string;
  /** An open fd of the pod's netns file (/run/skiff/ns/…/net). */
  readonly netnsFd: number;
  readonly mtu: number;
  /** The bridge's ifindex. */
  readonly master: number;
  /** Bridge port hairpin mode, so a pod reaches itself through a service IP. Default true. */
  readonly hairpin?: boolean;
}

export function createVethRequest(spec: VethSpec): NetlinkRequest {
  checkLinkName(spec.hostName);
  checkLinkName(spec.peerName);
  const peer = attr.nest(
    VETH_INFO_PEER,
    [attr.str(IFLA_IFNAME, spec.peerName), attr.u32(IFLA_MTU, spec.mtu), attr.u32(IFLA_NET_NS_FD, spec.netnsFd)],
    encodeIfInfo({ family: AF_UNSPEC }),
  );
  return {
    type: RTM_NEWLINK,
    flags: NLM_F_CREATE | NLM_F_EXCL,
    header: encodeIfInfo({ family: AF_UNSPEC, flags: IFF_UP, change: IFF_UP }),
    attrs: [
      attr.str(IFLA_IFNAME, spec.hostName),
      attr.u32(IFLA_MTU, spec.mtu),
      attr.u32(IFLA_MASTER, spec.master),
      attr.nest(IFLA_LINKINFO, [attr.str(IFLA_INFO_KIND, 'veth'), attr.nest(IFLA_INFO_DATA, [peer])]),
    ],
    what: `creating veth ${spec.hostName} with peer ${spec.peerName} in the pod netns`,
  };
}

/** What `ip link set dev <port> type bridge_slave hairpin on` sends. */
export function hairpinRequest(hostName: string, on: boolean): NetlinkRequest {
  checkLinkName(hostName);
  return {
    type: RTM_NEWLINK,
    header: encodeIfInfo({ family: AF_UNSPEC }),
    attrs: [
      attr.str(IFLA_IFNAME, hostName),
      attr.nest(IFLA_LINKINFO, [
        attr.str(IFLA_INFO_SLAVE_KIND, 'bridge'),
        attr.nest(IFLA_INFO_SLAVE_DATA, [attr.u8(IFLA_BRPORT_MODE, on ? 1 : 0)]),
      ]),
    ],
    what: `setting hairpin mode on bridge port ${hostName}`,
  };
}

export interface VethPair {
  readonly hostIndex: number;
  /** The peer's index inside the pod's netns: pass it on as configurePodInterface's ifIndex. */
  readonly peerIndex: number;
}

/**
 * Creates the pair. A host name already taken is AlreadyExists and nothing is changed; a peer
 * name taken inside the netns is AlreadyExists too, and so is nothing else. If a later step
 * fails the pair stays: the caller's cleanup removes it (or the removal of the netns does).
 */
export function createVethIntoNetns(sock: NetlinkSocket, spec: VethSpec): VethPair {
  sock.request(createVethRequest(spec));
  const lookup = getLinkRequest(spec.hostName);
  const results = sock.exec((spec.hairpin ?? true) ? [hairpinRequest(spec.hostName, true), lookup] : [lookup]);
  const host = linkFromResult(results[results.length - 1]!);
  if (!host || host.peerIndex === undefined) {
    throw internal(`veth ${spec.hostName} is missing or has no peer right after it was created`);
  }
  return { hostIndex: host.index, peerIndex: host.peerIndex };
}
