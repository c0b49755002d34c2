// Pod sandboxes: run (namespaces → cgroup → /dev/shm → network → files → record, each step with
// its undo), stop (processes, network), remove (everything), and the read side from memory.
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CgroupDriver } from '../../cgroups/types.js';
import { childCgroupPath, podCgroupPath, resolveCgroupParent } from '../../cgroups/cgroup-path.js';
import { addProcess } from '../../cgroups/add-process.js';
import { pinPodNamespaces, unpinPodNamespaces } from '../../namespaces/pin.js';
import { mountPodFilesDir, mountPodShm, unmountPodFilesDir, unmountPodShm } from '../../namespaces/pod-shm.js';
import { unpinNamespace } from '../../namespaces/unpin-one.js';
import { isInitAlive } from '../../namespaces/pid-init.js';
import { validatePodSysctls } from '../../namespaces/sysctls.js';
import { writePodFiles } from '../../network/pod-files.js';
import type { HelperRunner } from '../../runtime/helper-exec.js';
import type { RecordStore } from '../../state/record-store.js';
import { CleanupStack } from '../cleanup-stack.js';
import type { OpContext } from '../context.js';
import { hasErrno, invalidArgument, notFound, SkiffError, toSkiffError } from '../errors.js';
import { newSandboxId, type SandboxId } from '../ids.js';
import { findByIdOrPrefix } from '../find-by-id.js';
import { KeyedMutex } from '../keyed-mutex.js';
import type { PodNetwork } from './pod-network.js';
import { nameKey, type SandboxRecord, type SandboxSpec, type SandboxState } from './types.js';
import type { EventBus } from '../events.js';

export interface SandboxServiceDeps {
  readonly nsDir: string;
  readonly sandboxesDir: string;
  readonly shmSizeBytes: number;
  readonly filesSizeBytes: number;
  readonly helpers: HelperRunner;
  /** The empty mount namespace pod inits join (namespaces/init-mount-ns.ts), as an fd. */
  readonly initMountNs?: number;
  readonly cgroups: CgroupDriver;
  readonly network: PodNetwork;
  readonly records: RecordStore<SandboxRecord>;
  /** Runtime handler names the node serves ("" is the default). */
  readonly handlers: () => readonly string[];
  readonly events?: EventBus;
}

export interface SandboxFilter {
  readonly idPrefix?: string;
  readonly state?: SandboxState;
  readonly labels?: Readonly<Record<string, string>>;
}

export class SandboxService {
  private readonly byId = new Map<SandboxId, SandboxRecord>();
  /** nameKey → id, for pods that exist and for runs in progress. */
  private readonly names = new Map<string, SandboxId>();
  private readonly inflight = new Map<string, Promise<SandboxRecord>>();
  private readonly locks = new KeyedMutex<string>();

  constructor(private readonly d: SandboxServiceDeps) {}

  /** Loads the records of pods that survived a restart of the daemon. */
  async load(ctx: OpContext): Promise<SandboxRecord[]> {
    await this.d.records.init();
    const { records, invalid } = await this.d.records.loadAll();
    for (const bad of invalid) ctx.log.warn('sandbox record ignored', bad);
    for (const r of records.values()) {
      this.byId.set(r.id, r);
      this.names.set(nameKey(r.spec), r.id);
    }
    return [...this.byId.values()];
  }

  /**
   * Runs a pod. A retry with the same name, namespace, uid and attempt (kubelet after its own
   * timeout) gets the pod the first call made, or joins the run still in progress.
   */
  async run(ctx: OpContext, spec: SandboxSpec): Promise<SandboxRecord> {
    this.validate(spec);
    const key = nameKey(spec);
    const running = this.inflight.get(key);
    if (running) return running;
    const existing = this.names.get(key);
    if (existing) {
      const r = this.byId.get(existing);
      if (r) return r;
    }
    const p = this.create(ctx, spec).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  private validate(spec: SandboxSpec): void {
    if (!spec.name) throw invalidArgument('metadata.name is empty');
    if (!spec.namespace) throw invalidArgument('metadata.namespace is empty');
    if (!spec.uid) throw invalidArgument('metadata.uid is empty');
    if (!this.d.handlers().includes(spec.runtimeHandler)) {
      throw invalidArgument(
        `unknown runtime handler ${JSON.stringify(spec.runtimeHandler)}; this node serves: ${this.d.handlers().map((h) => JSON.stringify(h)).join(', ')}`,
      );
    }
    const ns = spec.namespaces;
    if (ns.network === 'container' || ns.network === 'target') throw invalidArgument(`network namespace mode ${ns.network} is not valid for a pod`);
    if (ns.ipc === 'container' || ns.ipc === 'target') throw invalidArgument(`IPC namespace mode ${ns.ipc} is not valid for a pod`);
    validatePodSysctls(spec.sysctls, { hostNetwork: ns.network === 'node', hostIpc: ns.ipc === 'node' });
    if (ns.network === 'node' && spec.portMappings.length > 0) {
      // kubelet drops hostPorts of host-network pods; a direct caller gets told.
      throw invalidArgument('port mappings need a pod network; a host-network pod uses the host ports directly');
    }
  }

  private async create(ctx: OpContext, spec: SandboxSpec): Promise<SandboxRecord> {
    const id = newSandboxId();
    const log = ctx.log.child({ pod: id.slice(0, 13), name: `${spec.namespace}/${spec.name}` });
    const c: OpContext = { ...ctx, log };
    const stack = new CleanupStack(log);
    const key = nameKey(spec);
    this.names.set(key, id);
    stack.push(`name ${key}`, () => void this.names.delete(key));
    // Milliseconds per step, in the "ready" log line: where RunPodSandbox's time goes.
    const steps: Record<string, number> = {};
    let last = process.hrtime.bigint();
    const step = (name: string) => {
      const now = process.hrtime.bigint();
      steps[name] = Math.round(Number(now - last) / 1e4) / 100;
      last = now;
    };
    return stack.run(async () => {
      const dir = join(this.d.sandboxesDir, id);
      await mkdir(dir, { recursive: true, mode: 0o711 });
      stack.push(`dir ${dir}`, () => rm(dir, { recursive: true, force: true }));

      const hostNet = spec.namespaces.network === 'node';
      const hostIpc = spec.namespaces.ipc === 'node';
      const pin = {
        dir: join(this.d.nsDir, id),
        net: !hostNet,
        ipc: !hostIpc,
        // UTS follows the network: a host-network pod has the node's host name.
        uts: !hostNet,
        pid: spec.namespaces.pid === 'pod',
        ...(spec.hostname ? { hostname: spec.hostname } : {}),
        sysctls: spec.sysctls,
        ...(this.d.initMountNs !== undefined ? { initMountNs: this.d.initMountNs } : {}),
      };
      // A pod in every host namespace has nothing to pin: no helper run at all.
      const ns = pin.net || pin.ipc || pin.uts || pin.pid ? await pinPodNamespaces(c, this.d.helpers, pin) : { dir: pin.dir };
      stack.push(`namespaces of ${id}`, () => unpinPodNamespaces(c, ns));
      step('namespaces');

      const cgroupPath = spec.cgroupParent
        ? childCgroupPath(resolveCgroupParent(spec.cgroupParent), id)
        : podCgroupPath('', id);
      await this.d.cgroups.ensure(c, cgroupPath, spec.resources);
      stack.push(`cgroup ${cgroupPath}`, () => this.d.cgroups.remove(c, cgroupPath, { recursive: true }));
      if (ns.initPid !== undefined) {
        // A leaf of its own: on cgroup v2 a cgroup with processes cannot have container children.
        const initCgroup = childCgroupPath(cgroupPath, 'init');
        await this.d.cgroups.ensure(c, initCgroup);
        addProcess(this.d.cgroups, initCgroup, ns.initPid);
      }
      step('cgroup');

      let shmPath: string | undefined;
      if (!hostIpc) {
        shmPath = join(dir, 'shm');
        mountPodShm(shmPath, this.d.shmSizeBytes);
        const p = shmPath;
        stack.push(`/dev/shm of ${id}`, () => unmountPodShm(p));
      }
      step('shm');

      let network;
      if (!hostNet && ns.net) {
        network = await this.d.network.attach(c, { id, netnsPath: ns.net, spec }, (what, fn) => stack.push(what, fn));
      }
      step('network');

      const filesDir = join(dir, 'files');
      mountPodFilesDir(filesDir, this.d.filesSizeBytes);
      stack.push(`files of ${id}`, () => unmountPodFilesDir(filesDir));
      await writePodFiles(c, filesDir, {
        hostname: spec.hostname,
        podIPs: network ? [network.ip] : [],
        ...(spec.dns ? { dns: spec.dns } : {}),
        hostNetwork: hostNet,
      }).catch((e: unknown) => {
        const why = `the pod's hosts and resolv.conf do not fit in sandbox.filesSizeBytes (${this.d.filesSizeBytes} bytes)`;
        throw hasErrno(e, 'ENOSPC') ? new SkiffError('ResourceExhausted', why, { cause: e }) : e;
      });
      step('files');

      const record: SandboxRecord = {
        id,
        spec,
        state: 'ready',
        createdAt: BigInt(Date.now()) * 1_000_000n,
        ns,
        cgroupPath,
        ...(shmPath ? { shmPath } : {}),
        filesDir,
        ...(network ? { network } : {}),
      };
      await this.d.records.put(id, record);
      this.byId.set(id, record);
      step('record');
      log.info('pod sandbox ready', { ip: network?.ip ?? '(host network)', cgroup: cgroupPath, steps });
      this.d.events?.publish('created', id, id);
      this.d.events?.publish('started', id, id);
      return record;
    });
  }

  get(id: string): SandboxRecord {
    const r = this.find(id);
    if (!r) throw notFound(`pod sandbox ${JSON.stringify(id)} not found`);
    return r;
  }

  /** By full id or unique prefix, as crictl users type them. */
  find(idOrPrefix: string): SandboxRecord | undefined {
    return findByIdOrPrefix<SandboxRecord>(this.byId, idOrPrefix, 'pod sandbox');
  }


  list(filter: SandboxFilter = {}): SandboxRecord[] {
    return [...this.byId.values()].filter(
      (r) =>
        (!filter.idPrefix || r.id.startsWith(filter.idPrefix)) &&
        (!filter.state || r.state === filter.state) &&
        Object.entries(filter.labels ?? {}).every(([k, v]) => r.spec.labels[k] === v),
    );
  }

  /**
   * Kills every process of the pod and frees its network. Idempotent (every step is), so a pod
   * that reconcile marked NOTREADY is still cleaned up; NotFound is success.
   */
  async stop(ctx: OpContext, id: string): Promise<void> {
    const found = this.find(id);
    if (!found) return;
    await this.locks.run(found.id, async () => {
      const r = this.byId.get(found.id);
      if (!r) return;
      await this.d.cgroups.killAll(ctx, r.cgroupPath, 'SIGKILL');
      if (r.network) await this.d.network.detach(ctx, r);
      // The netns goes now: the kernel deletes the veth with it, no netlink call needed.
      const { net, ...rest } = r.ns;
      if (net) unpinNamespace(net);
      if (r.state === 'notready' && !net && !r.network) return;
      // Freed: a later Stop must not run the network's teardown (CNI DEL spawns) again.
      const { network: _freed, ...withoutNetwork } = r;
      const next: SandboxRecord = { ...withoutNetwork, state: 'notready', ns: rest };
      await this.d.records.put(r.id, next);
      this.byId.set(r.id, next);
      ctx.log.info('pod sandbox stopped', { pod: r.id });
      this.d.events?.publish('stopped', r.id, r.id);
    });
  }

  /** Stops if needed, then removes everything the pod had. Idempotent. */
  async remove(ctx: OpContext, id: string, beforeRemove?: (r: SandboxRecord) => Promise<void>): Promise<void> {
    const found = this.find(id);
    if (!found) return;
    await this.stop(ctx, found.id);
    await this.locks.run(found.id, async () => {
      const r = this.byId.get(found.id);
      if (!r) return;
      await beforeRemove?.(r);
      await unpinPodNamespaces(ctx, r.ns);
      if (r.shmPath) unmountPodShm(r.shmPath);
      unmountPodFilesDir(r.filesDir);
      await this.d.cgroups.remove(ctx, r.cgroupPath, { recursive: true });
      await rm(join(this.d.sandboxesDir, r.id), { recursive: true, force: true });
      await this.d.records.delete(r.id);
      this.byId.delete(r.id);
      this.names.delete(nameKey(r.spec));
      ctx.log.info('pod sandbox removed', { pod: r.id });
      this.d.events?.publish('deleted', r.id, r.id);
    });
  }

  async updateResources(ctx: OpContext, id: string, resources: SandboxSpec['resources']): Promise<void> {
    const r = this.get(id);
    if (!resources) return;
    await this.locks.run(r.id, async () => {
      await this.d.cgroups.apply(ctx, r.cgroupPath, resources);
      const next: SandboxRecord = { ...r, spec: { ...r.spec, resources } };
      await this.d.records.put(r.id, next);
      this.byId.set(r.id, next);
    });
  }

  /**
   * After a restart: a ready pod whose netns pin or pid init vanished while the daemon was down
   * cannot run containers any more, so it becomes NOTREADY (kubelet then recreates it); and the
   * network frees what belongs to pods that are gone.
   */
  async reconcile(ctx: OpContext): Promise<void> {
    for (const r of [...this.byId.values()]) {
      if (r.state !== 'ready') continue;
      const lost: string[] = [];
      if (r.ns.net && !existsSync(r.ns.net)) lost.push('its network namespace');
      if (r.ns.initPid !== undefined && r.ns.initStartTime !== undefined && !isInitAlive(r.ns.initPid, r.ns.initStartTime)) {
        lost.push('the init of its PID namespace');
      }
      if (lost.length === 0) continue;
      ctx.log.warn('pod lost part of itself while skiffd was down; marking it NOTREADY', { pod: r.id, lost });
      const next: SandboxRecord = { ...r, state: 'notready' };
      await this.d.records.put(r.id, next);
      this.byId.set(r.id, next);
    }
    try {
      await this.d.network.reconcile(ctx, [...this.byId.values()]);
    } catch (e) {
      ctx.log.warn('network reconcile failed', { error: toSkiffError(e).message });
    }
  }
}
