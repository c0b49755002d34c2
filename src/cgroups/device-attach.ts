// Puts a device filter (device-filter.ts) on a cgroup v2 directory: load the program, attach it
// with BPF_F_ALLOW_MULTI (a request must pass it and every program above, as runc and crun
// attach theirs). The attached program lives as long as the cgroup does: its rmdir releases it,
// so there is nothing to undo apart from the cgroup itself.
//
// Loading runs the kernel's verifier, ~0.3 ms for the default program on the 2-core VM, where
// the attach takes ~15 µs; nearly every container gets the same program (the default list, or
// allow-all when privileged). So a loaded program is kept, by its bytes, and attached to every
// cgroup that needs it: one program can sit on any number of cgroups.
import { closeSync, constants, openSync } from 'node:fs';
import { failedPrecondition, hasErrno, toSkiffError } from '../core/errors.js';
import { attachCgroupDeviceProgram, loadCgroupDeviceProgram } from '../sys/bpf-calls.js';
import { DEVICE_FILTER_LICENSE } from './device-filter.js';

/** How a v2 driver puts a program on a cgroup directory; tests on a fake tree record instead. */
export type DeviceFilterAttach = (cgroupDir: string, program: Buffer) => void;

/** A program name shows in bpftool's list; [A-Za-z0-9_.], at most 15 characters. */
const PROGRAM_NAME = 'skiff_devices';

/** Loaded programs kept open, by their bytes; the oldest is closed when a new one does not fit. */
export class DeviceFilterCache {
  private readonly fds = new Map<string, number>();

  constructor(private readonly limit = 8) {}

  /** The fd of the loaded program, loading it on first use. */
  fd(program: Buffer): number {
    const key = program.toString('base64');
    const known = this.fds.get(key);
    if (known !== undefined) {
      // Most recently used last, so the first entry is the one to drop.
      this.fds.delete(key);
      this.fds.set(key, known);
      return known;
    }
    const fd = loadProgram(program);
    this.fds.set(key, fd);
    for (const [oldKey, oldFd] of this.fds) {
      if (this.fds.size <= this.limit) break;
      this.fds.delete(oldKey);
      closeSync(oldFd);
    }
    return fd;
  }

  get size(): number {
    return this.fds.size;
  }
}

/** An attach function over its own cache of loaded programs. */
export function deviceFilterAttacher(cache = new DeviceFilterCache()): DeviceFilterAttach {
  return (cgroupDir, program) => attach(cgroupDir, cache.fd(program));
}

function attach(cgroupDir: string, progFd: number): void {
  let cgroupFd: number;
  try {
    cgroupFd = openSync(cgroupDir, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (e) {
    throw toSkiffError(e, `opening cgroup ${cgroupDir} for its device filter`);
  }
  try {
    attachCgroupDeviceProgram(cgroupFd, progFd);
  } catch (e) {
    // The kernel's answer for a directory that is not in a cgroup2 file system.
    if (hasErrno(e, 'EBADF')) throw failedPrecondition(`${cgroupDir} is not a cgroup v2 directory: no device filter can be attached`, e);
    throw toSkiffError(e, `attaching the device filter to ${cgroupDir}`);
  } finally {
    closeSync(cgroupFd);
  }
}

function loadProgram(program: Buffer): number {
  try {
    return loadCgroupDeviceProgram(program, DEVICE_FILTER_LICENSE, PROGRAM_NAME);
  } catch (e) {
    throw toSkiffError(e, 'loading the device filter');
  }
}
