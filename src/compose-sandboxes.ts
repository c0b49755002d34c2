// Building the pod side of the daemon from the config: cgroups, the pod network, the sandbox
// service, and what a restart must reconcile.
import type { Config } from './config/schema.js';
import type { Logger } from './log/logger.js';
import type { Paths } from './state/paths.js';
import type { OpContext } from './core/context.js';
import { createCgroupDriver } from './cgroups/index.js';
import type { CgroupDriver } from './cgroups/types.js';
import type { ImageService } from './core/image/image-service.js';
import type { LayerStore } from './storage/layers/layer-store.js';
import { ContainerService } from './core/container/container-service.js';
import { isContainerRecord } from './core/container/types.js';
import { BuiltinExecutor } from './runtime/container-executor.js';
import { OciCliExecutor } from './runtime/oci-cli-executor.js';
import { join } from 'node:path';
import { BridgeNetwork } from './network/bridge-network.js';
import type { HelperRunner } from './runtime/helper-exec.js';
import { RecordStore } from './state/record-store.js';
import { BridgePodNetwork } from './core/sandbox/bridge-pod-network.js';
import { CniPodNetwork } from './core/sandbox/cni-pod-network.js';
import type { PodNetwork } from './core/sandbox/pod-network.js';
import { CniRunner } from './network/cni/runner.js';
import { SandboxService } from './core/sandbox/sandbox-service.js';
import { isSandboxRecord } from './core/sandbox/types.js';
import type { RuntimeInfo } from './core/runtime-info.js';
import type { EventBus } from './core/events.js';
import { parseCidrList } from './util/cidr.js';

/** The IPv4 part of a pod CIDR list, if any. */
function podSubnetOf(cidrs: string): string | undefined {
  const parsed = parseCidrList(cidrs || '');
  if (typeof parsed === 'string') return undefined;
  const v4 = parsed.find((c) => c.family === 4);
  return v4 ? `${v4.address}/${v4.prefix}` : undefined;
}

/** kubelet's pod CIDR (its IPv4 part) wins over the configured subnet. */
function podSubnet(config: Config, runtime: RuntimeInfo): string {
  return podSubnetOf(runtime.podCidr) ?? config.network.subnet;
}

export async function openSandboxService(
  ctx: OpContext,
  config: Config,
  paths: Paths,
  log: Logger,
  helpers: HelperRunner,
  runtime: RuntimeInfo,
  events: EventBus,
  initMountNs?: number,
): Promise<{ sandboxes: SandboxService; cgroups: CgroupDriver }> {
  const subnet = podSubnet(config, runtime);
  let bridge: BridgeNetwork | undefined;
  let network: PodNetwork;
  if (config.network.mode === 'cni') {
    const cni = new CniPodNetwork(config.network.cniConfDir, new CniRunner(config.network.cniBinDirs));
    await cni.init(ctx);
    network = cni;
  } else {
    bridge = new BridgeNetwork({
      bridge: config.network.bridge,
      mtu: config.network.mtu,
      subnet,
      ipamDir: paths.ipamDir,
      chainPrefix: config.network.chainPrefix,
    });
    network = new BridgePodNetwork(bridge);
  }
  const cgroups = createCgroupDriver();
  const sandboxes = new SandboxService({
    nsDir: paths.nsDir,
    sandboxesDir: paths.sandboxesDir,
    shmSizeBytes: config.sandbox.shmSizeBytes,
    filesSizeBytes: config.sandbox.filesSizeBytes,
    helpers,
    ...(initMountNs !== undefined ? { initMountNs } : {}),
    cgroups,
    network,
    records: new RecordStore(paths.sandboxRecords, 'sandbox', 1, isSandboxRecord),
    handlers: () => runtime.handlerNames(),
    events,
  });
  const pods = await sandboxes.load(ctx);
  await bridge?.init(
    ctx,
    pods
      .filter((p) => p.state === 'ready' && p.network && p.spec.portMappings.length > 0)
      .map((p) => ({ sandboxId: p.id, podIP: p.network?.ip ?? '', mappings: p.spec.portMappings })),
  );
  await sandboxes.reconcile(ctx);
  runtime.useNetwork(network);
  const built = bridge;
  if (built) {
    // kubelet sends the node's pod CIDR after it starts; with no pod on the node yet, the
    // built-in network moves to it at once (otherwise at the next start of skiffd).
    runtime.onPodCidrChange(async (c, cidr) => {
      const v4 = podSubnetOf(cidr);
      if (!v4 || v4 === built.subnet) return;
      if (sandboxes.list().length > 0) {
        c.log.warn('pod CIDR changed while pods exist; the built-in network moves at the next start of skiffd', { podCidr: cidr });
        return;
      }
      await built.setSubnet(c, v4);
    });
  }
  log.debug('pod network ready', { mode: config.network.mode, bridge: config.network.bridge, subnet, pods: pods.length });
  return { sandboxes, cgroups };
}

/** Containers run by the built-in executor; image GC keeps the layers they use. */
export async function openContainerService(
  ctx: OpContext,
  config: Config,
  paths: Paths,
  helpers: HelperRunner,
  deps: { sandboxes: SandboxService; images: ImageService; layers: LayerStore; cgroups: CgroupDriver; events: EventBus },
): Promise<ContainerService> {
  const handlers = new Map(
    Object.entries(config.runtimeHandlers).map(([name, h]) => [
      name,
      new OciCliExecutor(helpers, h.runtimePath, join(paths.roots.state, 'oci-runtime', name)),
    ]),
  );
  const containers = new ContainerService({
    containersDir: paths.containersDir,
    writableDir: paths.writableDir,
    exitsDir: paths.exitsDir,
    attachDir: paths.attachDir,
    ...deps,
    executor: new BuiltinExecutor(helpers),
    handlers,
    records: new RecordStore(paths.containerRecords, 'container', 1, isContainerRecord),
  });
  await containers.load(ctx);
  deps.images.useLayerUsers(containers);
  return containers;
}
