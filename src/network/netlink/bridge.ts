// The node's pod bridge: created on first use, then only checked. Two round trips when it is
// already right (look up; add the gateway address, which EEXIST makes a no-op).
import { randomBytes } from 'node:crypto';
import { constants } from 'node:os';
import { failedPrecondition, internal } from '../../core/errors.js';
import { addAddressRequest } from './addresses.js';
import { attr } from './codec.js';
import {
  AF_UNSPEC, IFF_UP, IFLA_ADDRESS, IFLA_IFNAME, IFLA_INFO_KIND, IFLA_LINKINFO, IFLA_MTU, NLM_F_CREATE, NLM_F_EXCL,
  RTM_NEWLINK,
} from './constants.js';
import { parseCidrBytes, randomLocalMac } from './ip-codec.js';
import { checkLinkName, getLinkRequest, linkByName, linkFromResult, setLinkRequest, type Link } from './links.js';
import type { NetlinkRequest, NetlinkSocket } from './socket.js';
import { encodeIfInfo } from './structs.js';

const { EEXIST } = constants.errno;

export interface BridgeSpec {
  /** At most 15 bytes. */
  readonly name: string;
  readonly mtu: number;
  /** The gateway address pods route through, with the pod network's prefix: "10.88.0.1/16". */
  readonly addressCidr: string;
}

/**
 * Created up, with its MTU, and with a fixed MAC: a bridge with a random MAC takes the lowest MAC
 * of its ports, so it would change whenever a pod comes or goes and pods' ARP entries for the
 * gateway would go stale.
 */
function createBridgeRequest(spec: BridgeSpec): NetlinkRequest {
  return {
    type: RTM_NEWLINK,
    flags: NLM_F_CREATE | NLM_F_EXCL,
    header: encodeIfInfo({ family: AF_UNSPEC, flags: IFF_UP, change: IFF_UP }),
    attrs: [
      attr.str(IFLA_IFNAME, spec.name),
      attr.u32(IFLA_MTU, spec.mtu),
      attr.bytes(IFLA_ADDRESS, randomLocalMac(randomBytes)),
      attr.nest(IFLA_LINKINFO, [attr.str(IFLA_INFO_KIND, 'bridge')]),
    ],
    what: `creating bridge ${spec.name}`,
    // Another caller won the race: the lookup batched behind the create finds its bridge.
    tolerate: [EEXIST],
  };
}

/**
 * Makes sure the bridge exists, is up, has the MTU and carries the gateway address; returns it.
 * Idempotent and safe to call concurrently. A link of that name that is not a bridge is
 * FailedPrecondition: it is someone else's and is left alone.
 */
export function ensureBridge(sock: NetlinkSocket, spec: BridgeSpec): Link {
  checkLinkName(spec.name);
  const cidr = parseCidrBytes(spec.addressCidr);
  let link = linkByName(sock, spec.name);
  if (!link) {
    const [, found] = sock.exec([createBridgeRequest(spec), getLinkRequest(spec.name)]);
    link = found && linkFromResult(found);
    if (!link) throw internal(`bridge ${spec.name} is missing right after it was created`);
  }
  if (link.kind !== 'bridge') {
    throw failedPrecondition(`link ${spec.name} exists and is a ${link.kind ?? 'device'}, not a bridge`);
  }
  const requests = [addAddressRequest(link.index, cidr, `adding ${spec.addressCidr} to bridge ${spec.name}`)];
  if (!link.up || link.mtu !== spec.mtu) {
    requests.push(
      setLinkRequest({ index: link.index }, { up: true, mtu: spec.mtu }, `setting bridge ${spec.name} up, MTU ${spec.mtu}`),
    );
  }
  sock.exec(requests);
  return { ...link, up: true, flags: link.flags | IFF_UP, mtu: spec.mtu };
}
