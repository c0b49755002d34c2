// CNI mode: the first network config of the CNI config dir, run by the CNI exec protocol. Until a
// config exists the node reports NetworkReady=false; one that appears later is picked up.
import { loadCniConfig, type CniNetworkList } from '../../network/cni/config.js';
import { podAddresses } from '../../network/cni/protocol.js';
import type { CniRunner } from '../../network/cni/runner.js';
import { watchCniConfDir, type CniConfWatcher } from '../../network/cni/watch.js';
import type { OpContext } from '../context.js';
import { failedPrecondition, internal, toSkiffError } from '../errors.js';
import type { PodNetwork, Undo } from './pod-network.js';
import type { PodNetworkStatus, SandboxRecord, SandboxSpec } from './types.js';

const IF_NAME = 'eth0';

export class CniPodNetwork implements PodNetwork {
  private list: CniNetworkList | undefined;
  private loadError: string | undefined;
  private watcher: CniConfWatcher | undefined;

  constructor(
    private readonly confDir: string,
    private readonly runner: CniRunner,
  ) {}

  async init(ctx: OpContext): Promise<void> {
    await this.reload(ctx);
    this.watcher = await watchCniConfDir(ctx, this.confDir, () => {
      this.reload(ctx).catch((e: unknown) => ctx.log.warn('reloading CNI config failed', { error: toSkiffError(e).message }));
    });
  }

  private async reload(ctx: OpContext): Promise<void> {
    try {
      const next = await loadCniConfig(this.confDir);
      if (next?.file !== this.list?.file || next?.name !== this.list?.name) {
        ctx.log.info('CNI network config', { file: next?.file ?? '(none)', network: next?.name ?? '' });
      }
      this.list = next;
      this.loadError = undefined;
    } catch (e) {
      this.list = undefined;
      this.loadError = toSkiffError(e).message;
    }
  }

  networkCondition() {
    if (this.list) return { ready: true, reason: '', message: '' };
    return {
      ready: false,
      reason: 'NetworkPluginNotReady',
      message: this.loadError ?? `no CNI network config found in ${this.confDir}`,
    };
  }

  async attach(ctx: OpContext, pod: { id: string; netnsPath: string; spec: SandboxSpec }, undo: Undo): Promise<PodNetworkStatus> {
    const list = this.list;
    if (!list) throw failedPrecondition(this.networkCondition().message);
    const att = this.attachment(pod.id, pod.netnsPath, pod.spec);
    const result = await this.runner.add(ctx, list, att);
    undo(`CNI network ${list.name} of ${pod.id}`, () => this.runner.del(ctx, list, att, result.raw));
    const addr = podAddresses(result, IF_NAME).find((a) => !a.address.includes(':')) ?? podAddresses(result, IF_NAME)[0];
    if (!addr) throw internal(`CNI network ${list.name} gave pod ${pod.id} no address on ${IF_NAME}`);
    return {
      ip: addr.address,
      prefix: addr.prefix,
      gateway: addr.gateway ?? '',
      cniNetwork: list.name,
      cniResult: result.raw,
    };
  }

  async detach(ctx: OpContext, record: SandboxRecord): Promise<void> {
    const list = this.list;
    if (!list) {
      ctx.log.warn('no CNI config to run DEL with; the pod network may leave state behind', { pod: record.id });
      return;
    }
    await this.runner.del(ctx, list, this.attachment(record.id, record.ns.net ?? '', record.spec), record.network?.cniResult);
  }

  async reconcile(): Promise<void> {
    // The plugins own their state (host-local's allocations, portmap's rules).
  }

  close(): void {
    this.watcher?.close();
  }

  private attachment(id: string, netns: string, spec: SandboxSpec) {
    return {
      containerId: id,
      netns,
      ifName: IF_NAME,
      args: {
        K8S_POD_NAMESPACE: spec.namespace,
        K8S_POD_NAME: spec.name,
        K8S_POD_INFRA_CONTAINER_ID: id,
        K8S_POD_UID: spec.uid,
      },
      runtimeConfig: {
        portMappings: spec.portMappings.map((p) => ({
          hostPort: p.hostPort,
          containerPort: p.containerPort,
          protocol: p.protocol.toLowerCase(),
          ...(p.hostIP ? { hostIP: p.hostIP } : {}),
        })),
        ...(spec.dns ? { dns: spec.dns } : {}),
      },
    };
  }
}
