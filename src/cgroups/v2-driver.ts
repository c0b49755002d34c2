// cgroup v2: one tree; a controller works in a cgroup only when every ancestor lists it in
// cgroup.subtree_control, so ensure() turns the wanted ones on from the root down.
import { dirname, join } from 'node:path';
import { failedPrecondition, notFound, toSkiffError } from '../core/errors.js';
import type { OpContext } from '../core/context.js';
import { cgroupComponents, checkCgroupPath, podCgroupPath } from './cgroup-path.js';
import {
  descendants,
  exists,
  mkdirOne,
  readControl,
  readPidsTree,
  rmdirQuietly,
  rmdirRetry,
  tokens,
  writeControl,
} from './cgroup-fs.js';
import { deviceFilterAttacher, type DeviceFilterAttach } from './device-attach.js';
import { deviceFilter } from './device-filter.js';
import { devicePolicy, type DeviceRule } from './devices.js';
import { killDeadline, signalUntilEmpty, stillPopulated, waitUnpopulated } from './kill.js';
import { checkResources, cpuMaxV2, hasResources, limitText, sharesToWeight, swapMaxV2 } from './resources.js';
import { readV2Stats, type CgroupStats, type StatsOptions } from './stats.js';
import type { CgroupDriver, KillOptions, PidsOptions, PodResources, RemoveOptions } from './types.js';

/** What ensure() enables in the ancestors' subtree_control, where the parent offers it. */
export const V2_CONTROLLERS: readonly string[] = ['cpuset', 'cpu', 'io', 'memory', 'pids', 'hugetlb'];

export interface CgroupV2Options {
  /** The cgroup2 mount point: /sys/fs/cgroup, or a fake tree in a temp dir. */
  readonly root: string;
  /** Controllers to enable down to each cgroup; default V2_CONTROLLERS. */
  readonly enable?: readonly string[];
  /** Puts the device filter on a cgroup directory; default bpf(2). A fake tree records instead. */
  readonly attachDevices?: DeviceFilterAttach;
}

export class CgroupV2Driver implements CgroupDriver {
  readonly version = 2 as const;
  readonly root: string;
  private readonly enable: readonly string[];
  private readonly attachDevices: DeviceFilterAttach;

  constructor(opts: CgroupV2Options) {
    this.root = opts.root;
    this.enable = opts.enable ?? V2_CONTROLLERS;
    this.attachDevices = opts.attachDevices ?? deviceFilterAttacher();
  }

  podCgroupPath(parent: string, sandboxId: string): string {
    return podCgroupPath(parent, sandboxId);
  }

  dirs(path: string): string[] {
    return [this.dir(path)];
  }

  async ensure(ctx: OpContext, path: string, resources?: PodResources): Promise<void> {
    const components = cgroupComponents(path);
    if (resources) checkResources(resources, 2);
    const created: string[] = [];
    try {
      let dir = this.root;
      for (const c of components) {
        this.enableControllers(dir);
        dir = join(dir, c);
        if (mkdirOne(dir)) created.push(dir);
      }
      if (hasResources(resources)) this.write(ctx, path, dir, resources);
    } catch (e) {
      rmdirQuietly(ctx, created);
      throw toSkiffError(e, `creating cgroup ${path}`);
    }
    ctx.log.debug('cgroup ready', { cgroup: path, created: created.length });
  }

  async apply(ctx: OpContext, path: string, resources: PodResources): Promise<void> {
    const dir = this.dir(path);
    checkResources(resources, 2);
    if (!exists(dir)) throw notFound(`cgroup ${path} does not exist`);
    this.write(ctx, path, dir, resources);
  }

  setDevices(ctx: OpContext, path: string, rules: readonly DeviceRule[]): boolean {
    const dir = this.dir(path);
    if (!exists(dir)) throw notFound(`cgroup ${path} does not exist`);
    const policy = devicePolicy(rules);
    this.attachDevices(dir, deviceFilter(policy));
    ctx.log.debug('device filter attached', { cgroup: path, defaultAllow: policy.defaultAllow, exceptions: policy.exceptions.length });
    return true;
  }

  async remove(ctx: OpContext, path: string, opts?: RemoveOptions): Promise<void> {
    const dir = this.dir(path);
    if (opts?.recursive) {
      for (const d of descendants(dir)) await rmdirRetry(ctx, path + d.slice(dir.length), [d]);
    }
    await rmdirRetry(ctx, path, [dir]);
  }

  async pids(path: string, opts?: PidsOptions): Promise<number[]> {
    return [...new Set(readPidsTree(this.dir(path), opts?.recursive ?? false))].sort((a, b) => a - b);
  }

  async killAll(ctx: OpContext, path: string, signal: NodeJS.Signals = 'SIGKILL', opts?: KillOptions): Promise<void> {
    const dir = this.dir(path);
    if (!exists(dir)) return;
    const deadline = killDeadline(ctx, opts?.timeoutMs);
    const events = join(dir, 'cgroup.events');
    // cgroup.kill (Linux 5.14) SIGKILLs the whole subtree in the kernel: nothing forks past it.
    if (signal === 'SIGKILL' && exists(dir, 'cgroup.kill') && exists(events)) {
      writeControl(dir, 'cgroup.kill', '1');
      if (await waitUnpopulated(ctx, events, deadline)) return;
      throw stillPopulated(path, readPidsTree(dir, true));
    }
    await signalUntilEmpty(ctx, path, () => readPidsTree(dir, true), signal, deadline);
  }

  stats(path: string, opts?: StatsOptions): CgroupStats {
    return readV2Stats(this.dir(path), path, undefined, opts);
  }

  private dir(path: string): string {
    return join(this.root, checkCgroupPath(path));
  }

  /**
   * The controllers a cgroup can use. A fake tree has no cgroup.controllers below its root
   * (mkdir makes no files there): like the kernel, take the parent's subtree_control then.
   */
  private controllersOf(dir: string): Set<string> {
    const own = readControl(dir, 'cgroup.controllers');
    if (own !== undefined || dir === this.root) return new Set(tokens(own));
    return new Set(tokens(readControl(dirname(dir), 'cgroup.subtree_control')));
  }

  /** Turns on, for the children of `dir`, the wanted controllers `dir` has and has not yet enabled. */
  private enableControllers(dir: string): void {
    const available = this.controllersOf(dir);
    const enabled = new Set(tokens(readControl(dir, 'cgroup.subtree_control')));
    const add = this.enable.filter((c) => available.has(c) && !enabled.has(c));
    // One write for all: the kernel checks every token before it changes anything.
    if (add.length > 0) writeControl(dir, 'cgroup.subtree_control', add.map((c) => `+${c}`).join(' '));
  }

  private write(ctx: OpContext, path: string, dir: string, r: PodResources): void {
    const available = this.controllersOf(dir);
    const need = (controller: string) => {
      if (!available.has(controller)) {
        throw failedPrecondition(
          `cgroup v2 controller ${controller} is not enabled for ${path} (has: ${[...available].join(' ') || 'none'})`,
        );
      }
    };
    if (r.cpuShares) {
      need('cpu');
      writeControl(dir, 'cpu.weight', String(sharesToWeight(r.cpuShares)));
    }
    if (r.cpuQuota || r.cpuPeriod) {
      need('cpu');
      const current = tokens(readControl(dir, 'cpu.max'))[0] ?? 'max';
      writeControl(dir, 'cpu.max', cpuMaxV2(r.cpuQuota, r.cpuPeriod, current) ?? current);
    }
    if (r.cpusetCpus) {
      need('cpuset');
      writeControl(dir, 'cpuset.cpus', r.cpusetCpus);
    }
    if (r.cpusetMems) {
      need('cpuset');
      writeControl(dir, 'cpuset.mems', r.cpusetMems);
    }
    if (r.memoryLimitBytes) {
      need('memory');
      writeControl(dir, 'memory.max', limitText(r.memoryLimitBytes, 2));
    }
    const swap = swapMaxV2(r.memorySwapLimitBytes, r.memoryLimitBytes);
    if (swap !== undefined) {
      need('memory');
      // Absent without swap accounting (or swap): as v1's memsw, nothing to limit then.
      if (exists(dir, 'memory.swap.max')) writeControl(dir, 'memory.swap.max', swap);
      else ctx.log.debug('no memory.swap.max; swap limit not applied', { cgroup: path });
    }
    if (r.pidsLimit) {
      need('pids');
      writeControl(dir, 'pids.max', limitText(r.pidsLimit, 2));
    }
    if (r.hugepageLimits?.length) {
      // kubelet lists every page size the machine has; without the controller there is nothing to cap.
      if (!available.has('hugetlb')) {
        ctx.log.debug('no hugetlb controller; hugepage limits not applied', { cgroup: path });
      } else for (const h of r.hugepageLimits) writeControl(dir, `hugetlb.${h.pageSize}.max`, limitText(h.limit, 2));
    }
    for (const [key, value] of Object.entries(r.unified ?? {})) writeControl(dir, key, value);
  }
}
