// The built-in bridge as a PodNetwork.
import type { BridgeNetwork } from '../../network/bridge-network.js';
import type { OpContext } from '../context.js';
import type { PodNetwork, Undo } from './pod-network.js';
import type { PodNetworkStatus, SandboxRecord, SandboxSpec } from './types.js';

export class BridgePodNetwork implements PodNetwork {
  constructor(private readonly bridge: BridgeNetwork) {}

  networkCondition() {
    return { ready: true, reason: '', message: '' };
  }

  attach(ctx: OpContext, pod: { id: string; netnsPath: string; spec: SandboxSpec }, undo: Undo): Promise<PodNetworkStatus> {
    return this.bridge.attach(ctx, { sandboxId: pod.id, netnsPath: pod.netnsPath, mappings: pod.spec.portMappings }, undo);
  }

  detach(ctx: OpContext, record: SandboxRecord): Promise<void> {
    return this.bridge.detach(ctx, record.id, record.spec.portMappings.length > 0);
  }

  reconcile(ctx: OpContext, live: readonly SandboxRecord[]): Promise<void> {
    return this.bridge.reconcile(ctx, new Set(live.filter((r) => r.network).map((r) => r.id)));
  }
}
