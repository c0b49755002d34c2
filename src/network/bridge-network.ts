// Skiff's built-in pod network: one bridge, a veth per pod whose pod end is created directly in
// the pod's netns, addresses from the IPAM, masquerade and hostPorts through iptables-restore.
// Detaching never deletes the veth: unpinning the netns lets the kernel remove both ends.
import { closeSync, openSync } from 'node:fs';
import type { OpContext } from '../core/context.js';
import { toSkiffError } from '../core/errors.js';
import type { HostportManager, PortMapping } from './hostport.js';
import type { IpAllocation, Ipam } from './ipam.js';
import {
  configurePodInterface,
  createVethIntoNetns,
  ensureBridge,
  NetlinkSocket,
  withNetnsFd,
  type Link,
} from './netlink/index.js';

export interface BridgeNetworkOptions {
  readonly bridge: string;
  readonly mtu: number;
  readonly ipam: Ipam;
  readonly hostports: HostportManager;
}

export interface PodAttachment {
  readonly ip: string;
  readonly prefix: number;
  readonly gateway: string;
  readonly mac: string;
  /** The host end of the pod's veth, for logs and inspect. */
  readonly hostVeth: string;
}

/** veth names are at most 15 bytes; 13 hex digits of a random 256-bit id do not collide in practice. */
export function hostVethName(sandboxId: string): string {
  return `sk${sandboxId.slice(0, 13)}`;
}

export class BridgeNetwork {
  private sock: NetlinkSocket | undefined;
  private bridgeLink: Link | undefined;

  constructor(private readonly opts: BridgeNetworkOptions) {}

  /** Creates the bridge (idempotent) and the shared iptables chains, with the ports of `pods`. */
  async init(ctx: OpContext, pods: readonly { sandboxId: string; podIP: string; mappings: readonly PortMapping[] }[] = []): Promise<void> {
    this.sock = NetlinkSocket.open();
    const { ipam } = this.opts;
    this.bridgeLink = ensureBridge(this.sock, {
      name: this.opts.bridge,
      mtu: this.opts.mtu,
      addressCidr: `${ipam.gateway}/${ipam.subnet.prefix}`,
    });
    // Also warns when net.ipv4.ip_forward is off: skiff leaves that to the admin.
    await this.opts.hostports.init(ctx, pods);
  }

  /**
   * Gives the pod in `netnsPath` an address on the bridge: one netlink batch for the veth, one
   * inside the pod's netns for lo, eth0 and the default route, one iptables-restore for ports.
   */
  async attach(
    ctx: OpContext,
    pod: { sandboxId: string; netnsPath: string; mappings: readonly PortMapping[] },
    undo: (what: string, fn: () => Promise<void>) => void,
  ): Promise<PodAttachment> {
    const sock = this.socket();
    const alloc: IpAllocation = await this.opts.ipam.allocate(ctx, pod.sandboxId);
    undo(`IP ${alloc.address} of ${pod.sandboxId}`, async () => void (await this.opts.ipam.release(ctx, pod.sandboxId)));
    const hostVeth = hostVethName(pod.sandboxId);
    let mac: string;
    const nsFd = openSync(pod.netnsPath, 'r');
    try {
      const pair = createVethIntoNetns(sock, {
        hostName: hostVeth,
        peerName: 'eth0',
        netnsFd: nsFd,
        mtu: this.opts.mtu,
        master: (this.bridgeLink as Link).index,
      });
      const inPod = withNetnsFd(nsFd, () => NetlinkSocket.open(), pod.netnsPath);
      try {
        mac = configurePodInterface(inPod, {
          ifName: 'eth0',
          ifIndex: pair.peerIndex,
          addressCidr: `${alloc.address}/${alloc.prefix}`,
          gateway: alloc.gateway,
          mtu: this.opts.mtu,
        }).mac;
      } finally {
        inPod.close();
      }
    } catch (e) {
      throw toSkiffError(e, `wiring pod ${pod.sandboxId} into bridge ${this.opts.bridge}`);
    } finally {
      closeSync(nsFd);
    }
    if (pod.mappings.length > 0) {
      await this.opts.hostports.setPod(ctx, pod.sandboxId, alloc.address, pod.mappings);
      undo(`hostPorts of ${pod.sandboxId}`, () => this.opts.hostports.removePod(ctx, pod.sandboxId));
    }
    return { ip: alloc.address, prefix: alloc.prefix, gateway: alloc.gateway, mac, hostVeth };
  }

  /** Frees the pod's ports and address. Idempotent. The veth goes with the netns. */
  async detach(ctx: OpContext, sandboxId: string, hadPorts: boolean): Promise<void> {
    if (hadPorts) await this.opts.hostports.removePod(ctx, sandboxId);
    await this.opts.ipam.release(ctx, sandboxId);
  }

  /** Frees addresses whose pods no longer exist (after a restart). */
  async reconcile(ctx: OpContext, live: ReadonlySet<string>): Promise<void> {
    for (const freed of await this.opts.ipam.reconcile(ctx, live)) {
      ctx.log.info('freed the address of a pod that no longer exists', freed);
    }
  }

  close(): void {
    this.sock?.close();
    this.sock = undefined;
  }

  private socket(): NetlinkSocket {
    if (!this.sock) throw toSkiffError(new Error('bridge network used before init()'));
    return this.sock;
  }
}

