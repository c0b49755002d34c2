// Skiff's built-in pod network: one bridge, a veth per pod whose pod end is created directly in
// the pod's netns, addresses from the IPAM, masquerade and hostPorts through iptables-restore.
// Detaching never deletes the veth: unpinning the netns lets the kernel remove both ends.
import { closeSync, openSync } from 'node:fs';
import type { OpContext } from '../core/context.js';
import { toSkiffError } from '../core/errors.js';
import { HostportManager, type PortMapping } from './hostport.js';
import { formatIp, Ipam, type IpAllocation } from './ipam.js';
import {
  configurePodInterface,
  createVethIntoNetns,
  deleteAddressRequest,
  ensureBridge,
  NetlinkSocket,
  withNetnsFd,
  type Link,
} from './netlink/index.js';
import { parseCidrBytes } from './netlink/ip-codec.js';

export interface BridgeNetworkOptions {
  readonly bridge: string;
  readonly mtu: number;
  readonly subnet: string;
  readonly ipamDir: string;
  readonly chainPrefix: string;
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
  private ipam: Ipam;
  private hostports: HostportManager;

  constructor(private readonly opts: BridgeNetworkOptions) {
    this.ipam = new Ipam(opts.ipamDir, opts.subnet);
    this.hostports = this.hostportsFor(opts.subnet);
  }

  private hostportsFor(subnet: string): HostportManager {
    return new HostportManager({ bridge: this.opts.bridge, subnet, chainPrefix: this.opts.chainPrefix });
  }

  get subnet(): string {
    return `${formatIp(this.ipam.subnet.network, this.ipam.subnet.family)}/${this.ipam.subnet.prefix}`;
  }

  /**
   * Moves the network to another subnet (kubelet's pod CIDR). Only while no pod is attached:
   * the caller checks. The bridge trades its gateway address, the chains their masquerade rule.
   */
  async setSubnet(ctx: OpContext, subnet: string): Promise<void> {
    const next = new Ipam(this.opts.ipamDir, subnet);
    const sock = this.socket();
    const old = `${this.ipam.gateway}/${this.ipam.subnet.prefix}`;
    const link = this.bridgeLink as Link;
    sock.exec([deleteAddressRequest(link.index, parseCidrBytes(old), `removing ${old} from bridge ${this.opts.bridge}`)]);
    this.bridgeLink = ensureBridge(sock, { name: this.opts.bridge, mtu: this.opts.mtu, addressCidr: `${next.gateway}/${next.subnet.prefix}` });
    const hostports = this.hostportsFor(subnet);
    await hostports.init(ctx, []);
    this.ipam = next;
    this.hostports = hostports;
    ctx.log.info('pod network moved to a new subnet', { bridge: this.opts.bridge, subnet });
  }

  /** Creates the bridge (idempotent) and the shared iptables chains, with the ports of `pods`. */
  async init(ctx: OpContext, pods: readonly { sandboxId: string; podIP: string; mappings: readonly PortMapping[] }[] = []): Promise<void> {
    this.sock = NetlinkSocket.open();
    const { ipam } = this;
    this.bridgeLink = ensureBridge(this.sock, {
      name: this.opts.bridge,
      mtu: this.opts.mtu,
      addressCidr: `${ipam.gateway}/${ipam.subnet.prefix}`,
    });
    // Also warns when net.ipv4.ip_forward is off: skiff leaves that to the admin.
    await this.hostports.init(ctx, pods);
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
    const alloc: IpAllocation = await this.ipam.allocate(ctx, pod.sandboxId);
    undo(`IP ${alloc.address} of ${pod.sandboxId}`, async () => void (await this.ipam.release(ctx, pod.sandboxId)));
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
      await this.hostports.setPod(ctx, pod.sandboxId, alloc.address, pod.mappings);
      undo(`hostPorts of ${pod.sandboxId}`, () => this.hostports.removePod(ctx, pod.sandboxId));
    }
    return { ip: alloc.address, prefix: alloc.prefix, gateway: alloc.gateway, mac, hostVeth };
  }

  /** Frees the pod's ports and address. Idempotent. The veth goes with the netns. */
  async detach(ctx: OpContext, sandboxId: string, hadPorts: boolean): Promise<void> {
    if (hadPorts) await this.hostports.removePod(ctx, sandboxId);
    await this.ipam.release(ctx, sandboxId);
  }

  /** Frees addresses whose pods no longer exist (after a restart). */
  async reconcile(ctx: OpContext, live: ReadonlySet<string>): Promise<void> {
    for (const freed of await this.ipam.reconcile(ctx, live)) {
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

