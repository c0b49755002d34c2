import { expect } from 'chai';
import { syscallNumber } from '../../../src/seccomp/arch.js';
import { RUNTIME_DEFAULT_PROFILE } from '../../../src/seccomp/default-profile.js';
import { SYSCALLS_AARCH64 } from '../../../src/seccomp/syscalls-aarch64.js';
import { SYSCALLS_X86_64 } from '../../../src/seccomp/syscalls-x86_64.js';

describe('seccomp/syscall tables', function () {
  const tables = { x86_64: SYSCALLS_X86_64, aarch64: SYSCALLS_AARCH64 };

  for (const [arch, table] of Object.entries(tables)) {
    it(`${arch}: numbers are unique, non-negative integers below the x32 bit`, function () {
      const nrs = Object.values(table);
      expect(new Set(nrs).size).to.equal(nrs.length);
      for (const n of nrs) expect(Number.isInteger(n) && n >= 0 && n < 0x40000000).to.equal(true);
      // The shared numbering from 424 on is identical on both arches.
      expect(table['pidfd_send_signal']).to.equal(424);
      expect(table['mseal']).to.equal(462);
    });
  }

  it('x86_64 anchors (syscall_64.tbl)', function () {
    const want: Record<string, number> = {
      read: 0, write: 1, open: 2, close: 3, mmap: 9, ioctl: 16, clone: 56, fork: 57, execve: 59, exit: 60, kill: 62,
      fcntl: 72, ptrace: 101, personality: 135, pivot_root: 155, prctl: 157, arch_prctl: 158, settimeofday: 164,
      mount: 165, umount2: 166, reboot: 169, init_module: 175, gettid: 186, futex: 202, epoll_wait: 232,
      clock_settime: 227, exit_group: 231, kexec_load: 246, add_key: 248, request_key: 249, keyctl: 250, openat: 257,
      newfstatat: 262, unshare: 272, epoll_pwait: 281, accept4: 288, setns: 308, finit_module: 313, seccomp: 317,
      getrandom: 318, memfd_create: 319, bpf: 321, statx: 332, rseq: 334, io_uring_setup: 425, clone3: 435,
      close_range: 436, openat2: 437, faccessat2: 439, futex_waitv: 449, fchmodat2: 452,
    };
    for (const [name, nr] of Object.entries(want)) expect(SYSCALLS_X86_64[name], name).to.equal(nr);
  });

  it('aarch64 anchors (asm-generic unistd.h)', function () {
    const want: Record<string, number> = {
      io_setup: 0, getcwd: 17, epoll_pwait: 22, ioctl: 29, umount2: 39, mount: 40, pivot_root: 41, openat: 56,
      close: 57, read: 63, write: 64, newfstatat: 79, personality: 92, exit: 93, exit_group: 94, unshare: 97,
      futex: 98, kexec_load: 104, init_module: 105, clock_settime: 112, ptrace: 117, kill: 129, rt_sigreturn: 139,
      reboot: 142, settimeofday: 170, gettid: 178, socket: 198, brk: 214, add_key: 217, request_key: 218, keyctl: 219,
      clone: 220, execve: 221, mmap: 222, accept4: 242, wait4: 260, setns: 268, finit_module: 273, seccomp: 277,
      getrandom: 278, bpf: 280, statx: 291, rseq: 293, kexec_file_load: 294, clone3: 435,
    };
    for (const [name, nr] of Object.entries(want)) expect(SYSCALLS_AARCH64[name], name).to.equal(nr);
  });

  it('aarch64 has none of the legacy calls, x86_64 has them', function () {
    for (const name of ['open', 'stat', 'fork', 'pipe', 'poll', 'select', 'dup2', 'epoll_wait', 'arch_prctl']) {
      expect(syscallNumber('aarch64', name), name).to.equal(undefined);
    }
    expect(syscallNumber('x86_64', 'fork')).to.equal(57);
  });

  it('does not find Object.prototype members as syscalls', function () {
    expect(syscallNumber('x86_64', 'constructor')).to.equal(undefined);
    expect(syscallNumber('aarch64', 'toString')).to.equal(undefined);
  });

  it('knows every 64-bit syscall the default profile names on at least one arch', function () {
    // 32-bit-only names (chown32, _llseek, …) and other arches' calls are expected to be absent.
    const foreign = /32$|64$|^_|time64|^(ipc|socketcall|send|recv|sigreturn|sigprocmask|mmap2|waitpid|stime|umount|ugetrlimit|fadvise64_64|arm_.*|sync_file_range2|breakpoint|cacheflush|set_tls|epoll_ctl_old|epoll_wait_old)$/;
    const unknown = RUNTIME_DEFAULT_PROFILE.syscalls
      .flatMap((s) => s.names)
      .filter((n) => syscallNumber('x86_64', n) === undefined && syscallNumber('aarch64', n) === undefined)
      .filter((n) => !foreign.test(n));
    expect(unknown).to.deep.equal([]);
  });
});
