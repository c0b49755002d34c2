// bpf(2) for the cgroup v2 device controller: load a BPF_PROG_TYPE_CGROUP_DEVICE program and
// attach it to a cgroup directory. glibc has no wrapper, so it goes through syscall(2); the
// attribute unions are declared as structs holding only the fields these commands use (the
// kernel zero-fills the rest of union bpf_attr when the size passed is smaller).
import koffi, { type TypeObject } from 'koffi';
import { fn } from './libc.js';
import { SyscallError } from './errno.js';

const SYS_BPF: Readonly<Record<string, number>> = { x64: 321, arm64: 280 };
const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
const BPF_PROG_QUERY = 16;
export const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
export const BPF_CGROUP_DEVICE = 6;
/** More than one program per cgroup; a request must pass all of them (and the ancestors'). */
export const BPF_F_ALLOW_MULTI = 2;

const EINTR = 4;
const EAGAIN = 11;
const ENOSPC = 28;

let types: { load: TypeObject; attach: TypeObject; query: TypeObject } | undefined;

function attrTypes(): NonNullable<typeof types> {
  types ??= {
    load: koffi.struct('skiff_bpf_prog_load_attr', {
      prog_type: 'uint32',
      insn_cnt: 'uint32',
      insns: 'void *',
      license: 'void *',
      log_level: 'uint32',
      log_size: 'uint32',
      log_buf: 'void *',
      kern_version: 'uint32',
      prog_flags: 'uint32',
      prog_name: koffi.array('uint8', 16),
      prog_ifindex: 'uint32',
      expected_attach_type: 'uint32',
    }),
    attach: koffi.struct('skiff_bpf_prog_attach_attr', {
      target_fd: 'uint32',
      attach_bpf_fd: 'uint32',
      attach_type: 'uint32',
      attach_flags: 'uint32',
    }),
    query: koffi.struct('skiff_bpf_prog_query_attr', {
      target_fd: 'uint32',
      attach_type: 'uint32',
      query_flags: 'uint32',
      attach_flags: 'uint32',
      prog_ids: 'void *',
      prog_cnt: 'uint32',
    }),
  };
  return types;
}

function bpf(cmd: number, type: TypeObject, attr: Record<string, unknown>): number {
  const nr = SYS_BPF[process.arch];
  if (nr === undefined) throw new SyscallError('bpf', 38 /* ENOSYS */, `on ${process.arch}`);
  const f = fn('long syscall(long nr, ...)', 'syscall');
  for (let tries = 0; ; tries++) {
    // In/out: BPF_PROG_QUERY writes prog_cnt back.
    const ret = f(nr, 'int', cmd, koffi.inout(koffi.pointer(type)), attr, 'uint32', koffi.sizeof(type)) as number;
    if (ret !== -1) return ret;
    const errno = koffi.errno();
    // The verifier can return EAGAIN under memory pressure (libbpf retries it a few times).
    if ((errno === EINTR || errno === EAGAIN) && tries < 5) continue;
    return -errno;
  }
}

const nameBytes = (name: string) => {
  const out = new Array<number>(16).fill(0);
  Buffer.from(name.slice(0, 15), 'ascii').forEach((b, i) => (out[i] = b));
  return out;
};

/**
 * Loads a CGROUP_DEVICE program (8-byte struct bpf_insn entries) and returns its fd. When the
 * verifier refuses it, the load is repeated with a log and the log's last lines end the error.
 */
export function loadCgroupDeviceProgram(insns: Buffer, license: string, name: string): number {
  const lic = Buffer.from(`${license}\0`);
  const attr = (log?: Buffer) => ({
    prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
    insn_cnt: insns.length / 8,
    insns,
    license: lic,
    log_level: log ? 1 : 0,
    log_size: log?.length ?? 0,
    log_buf: log ?? null,
    kern_version: 0,
    prog_flags: 0,
    prog_name: nameBytes(name),
    prog_ifindex: 0,
    expected_attach_type: BPF_CGROUP_DEVICE,
  });
  const fd = bpf(BPF_PROG_LOAD, attrTypes().load, attr());
  if (fd >= 0) return fd;
  // EACCES and EINVAL are the verifier's answers; anything else (EPERM: no CAP_BPF) has no log.
  if (-fd !== 13 /* EACCES */ && -fd !== 22 /* EINVAL */) throw new SyscallError('bpf(BPF_PROG_LOAD)', -fd);
  const log = Buffer.alloc(64 * 1024);
  const again = bpf(BPF_PROG_LOAD, attrTypes().load, attr(log));
  if (again >= 0) return again; // refused once, accepted with a log: take it
  const text = log.toString('utf8', 0, Math.max(0, log.indexOf(0))).trim().split('\n').slice(-4).join('; ');
  throw new SyscallError('bpf(BPF_PROG_LOAD)', -again, text ? `(verifier: ${text})` : undefined);
}

/** Attaches a loaded program to the cgroup directory open as cgroupFd. */
export function attachCgroupDeviceProgram(cgroupFd: number, progFd: number, flags = BPF_F_ALLOW_MULTI): void {
  const ret = bpf(BPF_PROG_ATTACH, attrTypes().attach, {
    target_fd: cgroupFd,
    attach_bpf_fd: progFd,
    attach_type: BPF_CGROUP_DEVICE,
    attach_flags: flags,
  });
  if (ret < 0) throw new SyscallError('bpf(BPF_PROG_ATTACH)', -ret);
}

/** The ids of the CGROUP_DEVICE programs attached to the cgroup itself (not its ancestors). */
export function queryCgroupDevicePrograms(cgroupFd: number): number[] {
  for (let size = 64; ; ) {
    const ids = new Uint32Array(size);
    const attr = { target_fd: cgroupFd, attach_type: BPF_CGROUP_DEVICE, query_flags: 0, attach_flags: 0, prog_ids: ids, prog_cnt: size };
    const ret = bpf(BPF_PROG_QUERY, attrTypes().query, attr);
    const count = attr.prog_cnt;
    // ENOSPC: more programs than room; the kernel wrote the real count back.
    if (ret === -ENOSPC && count > size) {
      size = count;
      continue;
    }
    if (ret < 0) throw new SyscallError('bpf(BPF_PROG_QUERY)', -ret);
    return [...ids.subarray(0, count)];
  }
}
