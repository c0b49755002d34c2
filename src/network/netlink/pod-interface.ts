// Inside the pod's netns (the socket was opened there): lo up, the address on eth0, eth0 up, the
// default route, in one batch when the caller knows eth0's index (createVethIntoNetns tells it),
// after one lookup otherwise.
import { internal, invalidArgument, notFound } from '../../core/errors.js';
import { addAddressRequest } from './addresses.js';
import { ipToBytes, parseCidrBytes } from './ip-codec.js';
import { getLinkRequest, linkFromResult, setLinkRequest } from './links.js';
import { defaultRouteRequest } from './routes.js';
import type { NetlinkSocket } from './socket.js';

export interface PodInterfaceSpec {
  readonly ifName: string;
  /** The interface's index in the pod netns, when known: saves a round trip. */
  readonly ifIndex?: number;
  /** The pod's address with the pod network's prefix: "10.88.0.7/16". */
  readonly addressCidr: string;
  /** The bridge's address, same family. */
  readonly gateway: string;
  readonly mtu: number;
}

export interface PodInterface {
  readonly index: number;
  /** The interface's MAC, "aa:bb:cc:dd:ee:ff". */
  readonly mac: string;
}

/**
 * Configures the pod's interface. Safe to repeat: the address add tolerates EEXIST and the route
 * replaces any default route. `sock` must belong to the pod's netns.
 */
export function configurePodInterface(sock: NetlinkSocket, spec: PodInterfaceSpec): PodInterface {
  const cidr = parseCidrBytes(spec.addressCidr);
  const gw = ipToBytes(spec.gateway);
  if (gw.family !== cidr.family) {
    throw invalidArgument(`gateway ${spec.gateway} and address ${spec.addressCidr} are of different IP families`);
  }
  let index = spec.ifIndex;
  if (index === undefined) {
    const found = linkFromResult(sock.request(getLinkRequest(spec.ifName)));
    if (!found) throw notFound(`interface ${spec.ifName} is not in the pod's network namespace`);
    index = found.index;
  }
  const results = sock.exec([
    setLinkRequest({ name: 'lo' }, { up: true }, 'setting lo up'),
    setLinkRequest({ index }, { up: true, mtu: spec.mtu }, `setting ${spec.ifName} up, MTU ${spec.mtu}`),
    addAddressRequest(index, cidr, `adding ${spec.addressCidr} to ${spec.ifName}`),
    defaultRouteRequest(index, gw, `adding the default route via ${spec.gateway}`),
    // Read back last: the MAC for the caller, and proof that the index was the right link.
    getLinkRequest(spec.ifName),
  ]);
  const link = linkFromResult(results[4]!);
  if (!link || link.index !== index) {
    throw internal(`interface ${spec.ifName} is not link #${index} in the pod's network namespace`);
  }
  return { index, mac: link.mac ?? '' };
}
