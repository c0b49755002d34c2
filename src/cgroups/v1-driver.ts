// cgroup v1 (and hybrid, whose controllers live in v1): one hierarchy per controller, or per group
// of co-mounted controllers ("cpu,cpuacct" with cpu and cpuacct as symlinks to it). A cgroup is
// the same relative path made in each hierarchy.
import { realpathSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { failedPrecondition, hasErrno, isKind, notFound, toSkiffError } from '../core/errors.js';
import type { OpContext } from '../core/context.js';
import { cgroupComponents, checkCgroupPath, podCgroupPath } from './cgroup-path.js';
import {
  descendants,
  exists,
  mkdirChain,
  readControl,
  readPidsTree,
  rmdirQuietly,
  rmdirRetry,
  writeControl,
} from './cgroup-fs.js';
import { ruleText, type DeviceRule } from './devices.js';
import { killDeadline, signalUntilEmpty } from './kill.js';
import { checkResources, hasResources, limitText } from './resources.js';
import { readV1Stats, type CgroupStats, type StatsOptions } from './stats.js';
import type { CgroupDriver, KillOptions, PidsOptions, PodResources, RemoveOptions } from './types.js';

/** The hierarchies a pod cgroup is made in, when mounted. */
export const V1_CONTROLLERS: readonly string[] = [
  'cpu',
  'cpuacct',
  'cpuset',
  'memory',
  'pids',
  'blkio',
  'devices',
  'freezer',
  'hugetlb',
];

export interface CgroupV1Options {
  /** The directory holding one mount per controller: /sys/fs/cgroup, or a fake tree. */
  readonly root: string;
  /** Controllers to use when mounted; default V1_CONTROLLERS. */
  readonly controllers?: readonly string[];
}

export class CgroupV1Driver implements CgroupDriver {
  readonly version = 1 as const;
  readonly root: string;
  /** Controller → its hierarchy's mount directory (symlinks resolved), for the mounted ones. */
  readonly controllers: ReadonlyMap<string, string>;
  /** Each hierarchy once, even when several controllers share it. */
  private readonly hierarchies: readonly string[];

  constructor(opts: CgroupV1Options) {
    this.root = opts.root;
    const found = new Map<string, string>();
    for (const c of opts.controllers ?? V1_CONTROLLERS) {
      const dir = join(opts.root, c);
      try {
        if (statSync(dir).isDirectory()) found.set(c, realpathSync(dir));
      } catch (e) {
        if (!hasErrno(e, 'ENOENT')) throw toSkiffError(e, `looking for the ${c} cgroup hierarchy`);
      }
    }
    if (found.size === 0) throw failedPrecondition(`no cgroup v1 controller hierarchy under ${opts.root}`);
    this.controllers = found;
    this.hierarchies = [...new Set(found.values())];
  }

  podCgroupPath(parent: string, sandboxId: string): string {
    return podCgroupPath(parent, sandboxId);
  }

  dirs(path: string): string[] {
    checkCgroupPath(path);
    return this.hierarchies.map((h) => join(h, path));
  }

  async ensure(ctx: OpContext, path: string, resources?: PodResources): Promise<void> {
    const components = cgroupComponents(path);
    if (resources) checkResources(resources, 1);
    const created: string[] = [];
    try {
      for (const h of this.hierarchies) {
        const made = mkdirChain(h, components);
        created.push(...made);
        if (h === this.controllers.get('cpuset') && made.length > 0) inheritCpuset(made);
      }
      if (hasResources(resources)) this.write(ctx, path, resources);
    } catch (e) {
      rmdirQuietly(ctx, created);
      throw toSkiffError(e, `creating cgroup ${path}`);
    }
    ctx.log.debug('cgroup ready', { cgroup: path, created: created.length });
  }

  async apply(ctx: OpContext, path: string, resources: PodResources): Promise<void> {
    checkResources(resources, 1);
    const first = this.dirs(path)[0];
    if (first === undefined || !exists(first)) throw notFound(`cgroup ${path} does not exist`);
    this.write(ctx, path, resources);
  }

  setDevices(ctx: OpContext, path: string, rules: readonly DeviceRule[]): boolean {
    const h = this.controllers.get('devices');
    if (h === undefined) return false;
    const dir = join(h, checkCgroupPath(path));
    // The kernel keeps the state: each line is applied to it as it is written.
    for (const r of rules) writeControl(dir, r.allow ? 'devices.allow' : 'devices.deny', ruleText(r));
    ctx.log.debug('device rules applied', { cgroup: path, rules: rules.length });
    return true;
  }

  async remove(ctx: OpContext, path: string, opts?: RemoveOptions): Promise<void> {
    const dirs = this.dirs(path);
    if (opts?.recursive) {
      // The relative paths below `path` in any hierarchy, deepest first.
      const below = new Set<string>();
      for (const dir of dirs) for (const d of descendants(dir)) below.add(d.slice(dir.length));
      const depth = (p: string) => p.split('/').length;
      for (const rel of [...below].sort((a, b) => depth(b) - depth(a))) {
        await rmdirRetry(ctx, path + rel, this.dirs(path + rel));
      }
    }
    await rmdirRetry(ctx, path, dirs);
  }

  async pids(path: string, opts?: PidsOptions): Promise<number[]> {
    return this.allPids(path, opts?.recursive ?? false);
  }

  async killAll(ctx: OpContext, path: string, signal: NodeJS.Signals = 'SIGKILL', opts?: KillOptions): Promise<void> {
    checkCgroupPath(path);
    const deadline = killDeadline(ctx, opts?.timeoutMs);
    // Union over hierarchies: remove() needs the cgroup empty in every one of them.
    await signalUntilEmpty(ctx, path, () => this.allPids(path, true), signal, deadline);
  }

  stats(path: string, opts?: StatsOptions): CgroupStats {
    checkCgroupPath(path);
    const at = (controller: string) => {
      const h = this.controllers.get(controller);
      return h === undefined ? undefined : join(h, path);
    };
    const dirs = { cpuacct: at('cpuacct'), memory: at('memory'), pids: at('pids') };
    if (!opts?.detail) return readV1Stats(dirs, path);
    return readV1Stats({ ...dirs, cpu: at('cpu'), blkio: at('blkio') }, path, undefined, opts);
  }

  private allPids(path: string, recursive: boolean): number[] {
    const pids = new Set<number>();
    for (const dir of this.dirs(path)) for (const pid of readPidsTree(dir, recursive)) pids.add(pid);
    return [...pids].sort((a, b) => a - b);
  }

  private dirOf(controller: string, path: string): string {
    const h = this.controllers.get(controller);
    if (!h) throw failedPrecondition(`cgroup v1 controller ${controller} is not mounted under ${this.root}`);
    return join(h, path);
  }

  private write(ctx: OpContext, path: string, r: PodResources): void {
    if (r.cpuShares) writeControl(this.dirOf('cpu', path), 'cpu.shares', String(r.cpuShares));
    if (r.cpuQuota || r.cpuPeriod) setCfs(this.dirOf('cpu', path), r.cpuQuota, r.cpuPeriod);
    if (r.cpusetCpus) writeControl(this.dirOf('cpuset', path), 'cpuset.cpus', r.cpusetCpus);
    if (r.cpusetMems) writeControl(this.dirOf('cpuset', path), 'cpuset.mems', r.cpusetMems);
    if (r.memoryLimitBytes || r.memorySwapLimitBytes) {
      setMemory(ctx, path, this.dirOf('memory', path), r.memoryLimitBytes, r.memorySwapLimitBytes);
    }
    // pids.max takes "max", not -1, on v1 too.
    if (r.pidsLimit) writeControl(this.dirOf('pids', path), 'pids.max', limitText(r.pidsLimit, 2));
    if (r.hugepageLimits?.length) {
      // kubelet lists every page size the machine has; without the controller there is nothing to cap.
      if (!this.controllers.has('hugetlb')) {
        ctx.log.debug('no hugetlb hierarchy; hugepage limits not applied', { cgroup: path });
      } else {
        const dir = this.dirOf('hugetlb', path);
        for (const h of r.hugepageLimits) writeControl(dir, `hugetlb.${h.pageSize}.limit_in_bytes`, String(h.limit));
      }
    }
  }
}

/**
 * A new cpuset cgroup starts with empty cpus and mems, and the kernel refuses tasks in it until
 * they are set: give the new levels (`made`, parents first) the values of the first existing
 * ancestor. cgroup.clone_children would do it, but that is the parent's setting, not ours.
 */
function inheritCpuset(made: readonly string[]): void {
  const from = dirname(made[0] ?? '');
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    const value = (readControl(from, file) ?? '').trim();
    if (value === '') continue;
    for (const dir of made) writeControl(dir, file, value);
  }
}

/** Period first (the quota is checked against it), unless the kernel wants the quota in place first. */
function setCfs(dir: string, quota: number | undefined, period: number | undefined): void {
  let quotaDone = false;
  if (period) {
    try {
      writeControl(dir, 'cpu.cfs_period_us', String(period));
    } catch (e) {
      if (!quota || !isKind(e, 'InvalidArgument')) throw e;
      writeControl(dir, 'cpu.cfs_quota_us', limitText(quota, 1));
      writeControl(dir, 'cpu.cfs_period_us', String(period));
      quotaDone = true;
    }
  }
  if (quota && !quotaDone) writeControl(dir, 'cpu.cfs_quota_us', limitText(quota, 1));
}

/**
 * The kernel keeps memory <= memory+swap at every step, so the order of the two writes depends on
 * the direction (runc's rule): raise memsw first when it ends at or above the current memory
 * limit, else lower memory first. memsw exists only with swap accounting; without it, skip.
 */
function setMemory(
  ctx: OpContext,
  path: string,
  dir: string,
  mem: number | undefined,
  memsw: number | undefined,
): void {
  const memText = mem ? limitText(mem, 1) : undefined;
  let swText = memsw ? limitText(memsw, 1) : undefined;
  if (swText !== undefined && !exists(dir, 'memory.memsw.limit_in_bytes')) {
    ctx.log.debug('no memory.memsw.limit_in_bytes; swap limit not applied', { cgroup: path });
    swText = undefined;
  }
  const writeMem = () => memText !== undefined && writeControl(dir, 'memory.limit_in_bytes', memText);
  const writeSw = () => swText !== undefined && writeControl(dir, 'memory.memsw.limit_in_bytes', swText);
  const swapFirst = () => {
    if (swText === undefined || memsw === undefined) return false;
    if (memsw === -1) return true;
    const current = Number((readControl(dir, 'memory.limit_in_bytes') ?? '').trim());
    return !(current > memsw);
  };
  if (swapFirst()) {
    writeSw();
    writeMem();
  } else {
    writeMem();
    writeSw();
  }
}
