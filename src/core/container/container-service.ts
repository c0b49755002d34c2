// Containers: create (rootfs overlay → user → OCI spec → bundle → cgroup → record), start (under
// its monitor), stop (stop signal, grace, SIGKILL), remove, exec, and the read side from memory.
// Exits arrive as files in the exits dir, written by each container's monitor.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CgroupDriver } from '../../cgroups/types.js';
import { childCgroupPath } from '../../cgroups/cgroup-path.js';
import { buildSpec, stopSignal as resolveStopSignal } from '../../oci/spec.js';
import { resolveUser } from '../../oci/user.js';
import { criSignalKey } from '../../oci/signals.js';
import type { ContainerSpecInput } from '../../oci/types.js';
import { removeRootfs, mountRootfs, removeTree, rootfsDirs } from '../../storage/rootfs.js';
import type { LayerStore } from '../../storage/layers/layer-store.js';
import type { RecordStore } from '../../state/record-store.js';
import { CleanupStack } from '../cleanup-stack.js';
import type { OpContext } from '../context.js';
import { failedPrecondition, invalidArgument, notFound, toSkiffError } from '../errors.js';
import { newContainerId, type ContainerId, type Digest } from '../ids.js';
import { findByIdOrPrefix } from '../find-by-id.js';
import { KeyedMutex } from '../keyed-mutex.js';
import type { ImageService, LayerUsers } from '../image/image-service.js';
import type { SandboxService } from '../sandbox/sandbox-service.js';
import type { NsMode, SandboxRecord } from '../sandbox/types.js';
import type { ContainerExecutor } from '../../runtime/executor.js';
import { ContainerExec } from './container-exec.js';
import type { ContainerMount, ContainerRecord, ContainerState } from './types.js';
import { cgroupResources, choice, pidChoice, ensureHostPath, exited, hostDevice, hostDevices, nodeCapabilities, readImageFile } from './container-parts.js';
import { isSameProcess } from '../../util/proc-stat.js';
import { checkMountDestinations } from './mount-destinations.js';
import { appArmorFor, nodeAppArmor, type AppArmorHost, type AppArmorRequest } from './apparmor.js';
import { containerSeccomp, type SeccompRequest } from './seccomp.js';
import { SeccompCache } from '../../seccomp/cache.js';
import type { EventBus } from '../events.js';
import { ExitWaiters } from './exit-waiters.js';

/** What the CRI request decides; the rest comes from the pod and the image. */
export type CriContainerPart = Pick<
  ContainerSpecInput,
  | 'command'
  | 'args'
  | 'env'
  | 'workingDir'
  | 'tty'
  | 'runAsUser'
  | 'runAsGroup'
  | 'runAsUsername'
  | 'supplementalGroups'
  | 'privileged'
  | 'readonlyRootfs'
  | 'noNewPrivileges'
  | 'capabilities'
  | 'maskedPaths'
  | 'readonlyPaths'
  | 'mounts'
  | 'resources'
  | 'stopSignal'
>;

export interface CreateContainerInput {
  readonly sandboxId: string;
  readonly name: string;
  readonly attempt: number;
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** Relative to the pod's log directory (kubelet's convention). */
  readonly logPath: string;
  readonly stdin: boolean;
  /** Closing stdin of the first attach closes the container's stdin (CRI stdin_once). */
  readonly stdinOnce?: boolean;
  readonly pidMode: NsMode;
  readonly targetId: string;
  readonly apparmor?: AppArmorRequest;
  readonly seccomp?: SeccompRequest;
  /** CRI devices: host node → container path, cgroup permissions. */
  readonly devices: readonly { containerPath: string; hostPath: string; permissions: string }[];
  readonly cri: CriContainerPart;
}

export interface ContainerFilter {
  readonly idPrefix?: string;
  readonly state?: ContainerState;
  readonly sandboxId?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface ContainerServiceDeps {
  readonly containersDir: string;
  /** Where writable layers live (persistent disk), one dir per container id. */
  readonly writableDir: string;
  readonly exitsDir: string;
  /** The monitors' attach sockets, one per running container (CRI Attach). */
  readonly attachDir: string;
  readonly sandboxes: SandboxService;
  readonly images: ImageService;
  readonly layers: LayerStore;
  readonly cgroups: CgroupDriver;
  /** The built-in executor (handler ""); it also watches every container's exit file. */
  readonly executor: ContainerExecutor;
  /** Executors of the named RuntimeClass handlers (runc, crun). */
  readonly handlers?: ReadonlyMap<string, ContainerExecutor>;
  readonly records: RecordStore<ContainerRecord>;
  readonly events?: EventBus;
  /** Default: this node's AppArmor (sysfs and securityfs). */
  readonly apparmor?: AppArmorHost;
}

const nowNs = () => BigInt(Date.now()) * 1_000_000n;
/** sun_path holds 108 bytes with the NUL. */
const MAX_SOCKET_PATH = 107;

export class ContainerService implements LayerUsers {
  private readonly byId = new Map<ContainerId, ContainerRecord>();
  private readonly names = new Map<string, ContainerId>();
  private readonly locks = new KeyedMutex<string>();
  /** Callers waiting for a container to exit (StopContainer's grace period). */
  private readonly exitWaiters = new ExitWaiters();
  private watcher: { close(): void } | undefined;
  private readonly seccomp = new SeccompCache();
  /** ExecSync and streamed exec sessions. */
  readonly exec: ContainerExec;

  constructor(private readonly d: ContainerServiceDeps) {
    this.exec = new ContainerExec({
      get: (id) => this.get(id),
      executorFor: (h) => this.executorFor(h),
      cgroupProcs: (r) => d.cgroups.dirs(r.cgroupPath).map((p) => join(p, 'cgroup.procs')),
      exitsDir: d.exitsDir,
    });
  }

  /** Loads records, watches exits, and settles exits that happened while the daemon was down. */
  async load(ctx: OpContext): Promise<void> {
    await mkdir(this.d.exitsDir, { recursive: true, mode: 0o700 });
    await mkdir(this.d.attachDir, { recursive: true, mode: 0o700 });
    // Streamed exec sessions end with the daemon that relayed them: their exit files are orphans.
    for (const name of await readdir(this.d.exitsDir)) {
      if (name.startsWith('.exec-')) await rm(join(this.d.exitsDir, name), { force: true });
    }
    await this.d.records.init();
    this.watcher = this.d.executor.watchExits(this.d.exitsDir, (id) => {
      this.onExit(ctx, id).catch((e: unknown) => ctx.log.error('recording a container exit failed', { container: id, error: toSkiffError(e).message }));
    });
    const { records, invalid } = await this.d.records.loadAll();
    for (const bad of invalid) ctx.log.warn('container record ignored', bad);
    for (const r of records.values()) {
      this.byId.set(r.id, r);
      this.names.set(this.key(r.sandboxId, r.name, r.attempt), r.id);
    }
    for (const r of records.values()) if (r.state === 'running') await this.onExit(ctx, r.id);
    // Records live in /run, writable layers on disk: after a reboot the layers of containers
    // that no longer exist are left over.
    await mkdir(this.d.writableDir, { recursive: true, mode: 0o711 });
    for (const name of await readdir(this.d.writableDir)) {
      if (!this.byId.has(name as ContainerId)) {
        await removeTree(join(this.d.writableDir, name));
        ctx.log.info('removed the writable layer of a container that no longer exists', { container: name });
      }
    }
  }

  /** The writable layer of a container (for stats and ImageFsInfo). */
  writableLayer(id: string): string {
    return join(this.d.writableDir, id, 'upper');
  }

  close(): void {
    this.watcher?.close();
  }

  layersInUse(): ReadonlySet<Digest> {
    return new Set([...this.byId.values()].flatMap((r) => r.chainIds));
  }

  private executorFor(handler: string | undefined): ContainerExecutor {
    if (!handler) return this.d.executor;
    const e = this.d.handlers?.get(handler);
    if (!e) throw failedPrecondition(`runtime handler ${JSON.stringify(handler)} is not configured on this node`);
    return e;
  }

  private key(sandboxId: string, name: string, attempt: number): string {
    return `${sandboxId}/${name}/${attempt}`;
  }

  private exitFile(id: string): string {
    return join(this.d.exitsDir, id);
  }

  /** The monitor's attach socket; undefined when the path would not fit a unix socket address. */
  attachSocket(id: string): string | undefined {
    const p = join(this.d.attachDir, id);
    return Buffer.byteLength(p) <= MAX_SOCKET_PATH ? p : undefined;
  }

  async create(ctx: OpContext, input: CreateContainerInput): Promise<ContainerRecord> {
    if (!input.name) throw invalidArgument('config.metadata.name is empty');
    const apparmor = appArmorFor(input.apparmor, input.cri.privileged, this.d.apparmor ?? nodeAppArmor);
    if (apparmor.note) ctx.log.warn(apparmor.note, { name: input.name });
    const pod = this.d.sandboxes.get(input.sandboxId);
    if (pod.state !== 'ready') throw failedPrecondition(`pod sandbox ${pod.id} is not ready`);
    this.executorFor(pod.spec.runtimeHandler);
    const key = this.key(pod.id, input.name, input.attempt);
    return this.locks.run(`name:${key}`, async () => {
      const existing = this.names.get(key);
      if (existing && this.byId.has(existing)) return this.byId.get(existing) as ContainerRecord;
      const view = this.d.images.find(input.image);
      if (!view) throw notFound(`image ${JSON.stringify(input.image)} not found: pull it first`);
      // In the same tick as the look-up: a RemoveImage's collection cannot come in between.
      const release = this.d.images.leaseLayers(view.record, `container ${input.name}`);
      return this.createIn(ctx, pod, input, view.record, key, apparmor.profile).finally(release);
    });
  }

  private async createIn(
    ctx: OpContext,
    pod: SandboxRecord,
    input: CreateContainerInput,
    image: NonNullable<ReturnType<ImageService['find']>>['record'],
    key: string,
    apparmorProfile: string | undefined,
  ): Promise<ContainerRecord> {
    const id = newContainerId();
    const log = ctx.log.child({ container: id.slice(0, 13), name: input.name, pod: pod.id.slice(0, 13) });
    const c: OpContext = { ...ctx, log };
    const stack = new CleanupStack(log);
    return stack.run(async () => {
      const dir = join(this.d.containersDir, id);
      await mkdir(join(dir, 'bundle'), { recursive: true, mode: 0o711 });
      stack.push(`dir ${dir}`, () => rm(dir, { recursive: true, force: true }));

      const top = image.layers[image.layers.length - 1]?.chainId;
      if (!top) throw failedPrecondition(`image ${image.id} has no layers`);
      const rootfs = rootfsDirs(join(this.d.writableDir, id), join(dir, 'bundle', 'rootfs'));
      mountRootfs(this.d.layers.lowerDirs(top), rootfs);
      stack.push(`rootfs of ${id}`, () => removeRootfs(rootfs));

      for (const m of input.cri.mounts) await ensureHostPath(m.hostPath);
      const asked = input.devices.map(hostDevice);
      const taken = new Set(asked.map((d) => d.containerPath));
      const devices = [...(input.cri.privileged ? hostDevices().filter((d) => !taken.has(d.containerPath)) : []), ...asked];
      const cgroupPath = childCgroupPath(pod.cgroupPath, id);
      const specInput: ContainerSpecInput = {
        ...input.cri,
        image: image.config,
        etcPasswd: await readImageFile(log, rootfs.target, 'etc/passwd'),
        etcGroup: await readImageFile(log, rootfs.target, 'etc/group'),
        hostname: pod.spec.hostname,
        namespaces: {
          network: choice(pod.ns.net, pod.spec.namespaces.network),
          ipc: choice(pod.ns.ipc, pod.spec.namespaces.ipc),
          uts: choice(pod.ns.uts, pod.spec.namespaces.network),
          pid: pidChoice(pod, input, (id) => this.get(id)),
          // As containerd: a cgroup namespace of its own only on cgroup v2.
          cgroup: this.d.cgroups.version === 2,
        },
        devices,
        nodeCapabilities: nodeCapabilities(),
        podFilesDir: pod.filesDir,
        shmPath: pod.shmPath ?? '/dev/shm',
        cgroupsPath: cgroupPath,
        meta: {
          sandboxId: pod.id,
          containerName: input.name,
          sandboxName: pod.spec.name,
          sandboxNamespace: pod.spec.namespace,
          sandboxUid: pod.spec.uid,
          imageName: input.image,
        },
      };
      const stop = resolveStopSignal(specInput);
      const spec = buildSpec(specInput);
      checkMountDestinations(rootfs.target, spec.mounts);
      if (apparmorProfile) spec.process.apparmorProfile = apparmorProfile;
      const user = resolveUser(specInput, specInput.etcPasswd, specInput.etcGroup);
      const seccomp = containerSeccomp(this.seccomp, input.seccomp, {
        privileged: input.cri.privileged,
        capabilities: spec.process.capabilities?.bounding ?? [],
        builtinExecutor: !pod.spec.runtimeHandler,
      });
      if (seccomp && 'oci' in seccomp) spec.linux.seccomp = seccomp.oci;
      await writeFile(join(dir, 'bundle', 'config.json'), JSON.stringify(spec), { mode: 0o600 });
      this.exec.remember(id, spec.process.env, spec.process.cwd);
      stack.push(`exec settings of ${id}`, () => this.exec.forget(id));
      if (seccomp && 'bpf' in seccomp) await writeFile(join(dir, 'bundle', 'seccomp.bpf'), seccomp.bpf, { mode: 0o600 });

      await this.d.cgroups.ensure(c, cgroupPath, cgroupResources(input.cri.resources));
      stack.push(`cgroup ${cgroupPath}`, () => this.d.cgroups.remove(c, cgroupPath, { recursive: true }));
      if (!this.d.cgroups.setDevices(c, cgroupPath, spec.linux.resources?.devices ?? [])) {
        log.warn('device access is not restricted: this machine has no devices cgroup hierarchy');
      }

      const logPath = input.logPath && pod.spec.logDirectory ? join(pod.spec.logDirectory, input.logPath) : '';
      if (logPath) await mkdir(dirname(logPath), { recursive: true, mode: 0o755 });

      const record: ContainerRecord = {
        id,
        sandboxId: pod.id,
        runtimeHandler: pod.spec.runtimeHandler,
        name: input.name,
        attempt: input.attempt,
        labels: input.labels,
        annotations: input.annotations,
        image: input.image,
        imageId: image.id,
        imageRef: image.repoDigests[0] ?? image.id,
        topLayer: top,
        chainIds: image.layers.map((l) => l.chainId),
        logPath,
        tty: input.cri.tty,
        stdin: input.stdin,
        ...(input.stdinOnce ? { stdinOnce: true } : {}),
        mounts: input.cri.mounts.map(
          (m): ContainerMount => ({ containerPath: m.containerPath, hostPath: m.hostPath, readonly: m.readonly, propagation: m.propagation ?? 'private' }),
        ),
        stopSignal: { name: stop.name, number: stop.number },
        stopSignalKey: criSignalKey(stop) ?? 'SIGNAL_RUNTIME_DEFAULT',
        user: { uid: user.uid, gid: user.gid, groups: [...user.additionalGids] },
        cgroupPath,
        dir,
        state: 'created',
        createdAt: nowNs(),
        startedAt: 0n,
        finishedAt: 0n,
        exitCode: 0,
        reason: '',
        message: '',
      };
      await this.d.records.put(id, record);
      this.byId.set(id, record);
      this.names.set(key, id);
      log.info('container created', { image: input.image });
      this.d.events?.publish('created', id, pod.id);
      return record;
    });
  }

  get(idOrPrefix: string): ContainerRecord {
    const r = this.find(idOrPrefix);
    if (!r) throw notFound(`container ${JSON.stringify(idOrPrefix)} not found`);
    return r;
  }

  find(idOrPrefix: string): ContainerRecord | undefined {
    return findByIdOrPrefix<ContainerRecord>(this.byId, idOrPrefix, 'container');
  }


  list(f: ContainerFilter = {}): ContainerRecord[] {
    return [...this.byId.values()].filter(
      (r) =>
        (!f.idPrefix || r.id.startsWith(f.idPrefix)) &&
        (!f.state || r.state === f.state) &&
        (!f.sandboxId || r.sandboxId === f.sandboxId) &&
        Object.entries(f.labels ?? {}).every(([k, v]) => r.labels[k] === v),
    );
  }

  async start(ctx: OpContext, id: string): Promise<void> {
    const found = this.get(id);
    await this.locks.run(found.id, async () => {
      const r = this.byId.get(found.id) as ContainerRecord;
      if (r.state !== 'created') throw failedPrecondition(`container ${r.id} is ${r.state}, not created`);
      const memory = this.d.cgroups.dirs(r.cgroupPath).find((p) => /\/memory\//.test(p) || this.d.cgroups.version === 2);
      // Taken before the spawn: a container may exit (and its monitor stamp the exit) before we return.
      const startedAt = nowNs();
      const attachSocket = this.attachSocket(r.id);
      if (!attachSocket) ctx.log.warn('attach socket path too long: Attach will not work for this container', { container: r.id });
      try {
        const started = await this.executorFor(r.runtimeHandler).start(ctx, {
          id: r.id,
          bundleDir: join(r.dir, 'bundle'),
          logPath: r.logPath || '/dev/null',
          exitFile: this.exitFile(r.id),
          cgroupProcs: this.d.cgroups.dirs(r.cgroupPath).map((p) => join(p, 'cgroup.procs')),
          ...(memory ? { oomCgroup: memory } : {}),
          tty: r.tty,
          stdin: r.stdin,
          ...(attachSocket ? { attachSocket } : {}),
        });
        await this.save({ ...r, state: 'running', startedAt, pid: started.pid, pidStartTime: started.startTime, monitorPid: started.monitorPid });
        ctx.log.info('container started', { container: r.id, pid: started.pid });
        this.d.events?.publish('started', r.id, r.sandboxId);
      } catch (e) {
        const err = toSkiffError(e);
        await this.save({ ...r, state: 'exited', startedAt: nowNs(), finishedAt: nowNs(), exitCode: 128, reason: 'StartError', message: err.message });
        throw err;
      }
    });
    // An exit that raced the start (a container that ran for less than a millisecond).
    if (existsSync(this.exitFile(found.id))) await this.onExit(ctx, found.id);
  }

  private async save(r: ContainerRecord): Promise<void> {
    await this.d.records.put(r.id, r);
    this.byId.set(r.id, r);
  }

  /** The monitor wrote `<exitsDir>/<id>`: the container is gone. */
  private async onExit(ctx: OpContext, id: string): Promise<void> {
    const status = await this.d.executor.readExit(this.exitFile(id));
    if (!status) {
      const r = this.byId.get(id as ContainerId);
      // After a restart: no exit file and no process means the monitor died with it.
      if (r?.state === 'running' && r.pid !== undefined && !isSameProcess(r.pid, r.pidStartTime)) {
        await this.locks.run(r.id, () => this.save({ ...r, state: 'exited', finishedAt: nowNs(), exitCode: 255, reason: 'Unknown', message: 'the container and its monitor disappeared while skiffd was down' }));
      }
      return;
    }
    await this.locks.run(id, async () => {
      const r = this.byId.get(id as ContainerId);
      if (!r || r.state === 'exited') return;
      await this.save(exited(r, status));
      ctx.log.info('container exited', { container: id, exitCode: status.exitCode, oomKilled: status.oomKilled });
      this.d.events?.publish('stopped', r.id, r.sandboxId);
    });
    this.exitWaiters.notify(id);
  }

  private waitExit(id: string, ms: number): Promise<boolean> {
    if (this.byId.get(id as ContainerId)?.state !== 'running') return Promise.resolve(true);
    return this.exitWaiters.wait(id, ms);
  }

  /** Stop signal, up to `timeoutSeconds` of grace, then SIGKILL to the whole cgroup. Idempotent. */
  async stop(ctx: OpContext, id: string, timeoutSeconds: number): Promise<void> {
    const r = this.find(id);
    if (!r || r.state !== 'running') return;
    if (timeoutSeconds > 0 && r.pid !== undefined && isSameProcess(r.pid, r.pidStartTime)) {
      try {
        process.kill(r.pid, r.stopSignal.number);
      } catch {
        // Gone already: the exit is on its way.
      }
      if (await this.waitExit(r.id, timeoutSeconds * 1000)) return;
      ctx.log.info('container ignored its stop signal; killing it', { container: r.id, signal: r.stopSignal.name, timeoutSeconds });
    }
    await this.d.cgroups.killAll(ctx, r.cgroupPath, 'SIGKILL');
    await this.waitExit(r.id, 5000);
  }

  /** Kills if running, then removes everything the container had. Idempotent. */
  async remove(ctx: OpContext, id: string): Promise<void> {
    const found = this.find(id);
    if (!found) return;
    await this.stop(ctx, found.id, 0);
    await this.locks.run(found.id, async () => {
      const r = this.byId.get(found.id);
      if (!r) return;
      await this.executorFor(r.runtimeHandler).cleanup?.(ctx, r.id);
      await removeRootfs(rootfsDirs(join(this.d.writableDir, r.id), join(r.dir, 'bundle', 'rootfs')));
      await this.d.cgroups.remove(ctx, r.cgroupPath, { recursive: true });
      await rm(r.dir, { recursive: true, force: true });
      await rm(this.exitFile(r.id), { force: true });
      await rm(join(this.d.attachDir, r.id), { force: true });
      await this.d.records.delete(r.id);
      this.byId.delete(r.id);
      this.exec.forget(r.id);
      this.names.delete(this.key(r.sandboxId, r.name, r.attempt));
      ctx.log.info('container removed', { container: r.id });
      this.d.events?.publish('deleted', r.id, r.sandboxId);
    });
  }

  /** RemovePodSandbox removes the pod's containers first. */
  async removeAllOf(ctx: OpContext, sandboxId: string): Promise<void> {
    for (const r of this.list({ sandboxId })) await this.remove(ctx, r.id);
  }

  /** UpdateContainerResources: the cgroup changes now; a created container starts with them. */
  async updateResources(ctx: OpContext, id: string, resources: CriContainerPart['resources']): Promise<void> {
    const r = this.get(id);
    if (r.state === 'exited') throw failedPrecondition(`container ${r.id} has exited`);
    const res = cgroupResources(resources);
    if (!res) return;
    await this.locks.run(r.id, () => this.d.cgroups.apply(ctx, r.cgroupPath, res));
    ctx.log.info('container resources updated', { container: r.id, resources: res });
  }

  /** The OCI runtime spec of the container's bundle (verbose ContainerStatus only: a file read). */
  spec(id: string): unknown {
    const r = this.get(id);
    try {
      return JSON.parse(readFileSync(join(r.dir, 'bundle', 'config.json'), 'utf8')) as unknown;
    } catch {
      return null;
    }
  }

  reopenLog(id: string): void {
    const r = this.get(id);
    if (r.state !== 'running' || r.monitorPid === undefined) throw failedPrecondition(`container ${r.id} is not running`);
    this.executorFor(r.runtimeHandler).reopenLog(r.monitorPid);
  }
}
