import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { SkiffError } from '../../../src/core/errors.js';
import { AUDIT_ARCH, syscallNumber, type SeccompArch } from '../../../src/seccomp/arch.js';
import { checkProgram, runProgram, type SeccompVerdict } from '../../../src/seccomp/bpf-interp.js';
import { BPF_MAXINSNS, decodeProgram } from '../../../src/seccomp/bpf.js';
import { compileProfile } from '../../../src/seccomp/compile.js';
import { RUNTIME_DEFAULT_PROFILE } from '../../../src/seccomp/default-profile.js';
import { parseSeccompProfile, type SeccompProfile } from '../../../src/seccomp/profile.js';
import { thrown } from '../../support/thrown.js';

const ARCHES: SeccompArch[] = ['x86_64', 'aarch64'];
const EPERM: SeccompVerdict = { action: 'errno', errno: 1 };
const ALLOW: SeccompVerdict = { action: 'allow' };
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWNET = 0x40000000;
const SIGCHLD = 17;
// What glibc's pthread_create passes: CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID.
const THREAD_FLAGS = 0x3d0f00;
/** The x86_64 RuntimeDefault program: a change to the compiler's output shows up here in review. */
const PINNED_X86_64 = { instructions: 479, sha256: '243c3a0fc1f0aa763dfde6ec0e17a083a297499b00dd571d751142cf15842c97' };

function verdict(program: Buffer, arch: SeccompArch, name: string, args: (number | bigint)[] = []): SeccompVerdict {
  const nr = syscallNumber(arch, name);
  if (nr === undefined) throw new Error(`${arch} has no ${name}`);
  return runProgram(program, { nr, arch: AUDIT_ARCH[arch], args }).verdict;
}

describe('seccomp/compile', function () {
  for (const arch of ARCHES) {
    describe(`RuntimeDefault on ${arch}`, function () {
      const plain = compileProfile(RUNTIME_DEFAULT_PROFILE, { arch, capabilities: ['CAP_CHOWN', 'CAP_NET_BIND_SERVICE', 'CAP_KILL'] });
      const admin = compileProfile(RUNTIME_DEFAULT_PROFILE, { arch, capabilities: ['CAP_SYS_ADMIN'] });

      it('is a program the kernel would accept, well under BPF_MAXINSNS', function () {
        const insns = decodeProgram(plain);
        expect(() => checkProgram(insns)).to.not.throw();
        expect(insns.length).to.be.within(100, 1000);
        expect(decodeProgram(admin).length).to.be.below(BPF_MAXINSNS);
      });

      const allowed = ['read', 'write', 'openat', 'close', 'exit_group', 'futex', 'epoll_pwait', 'mmap', 'brk',
        'rt_sigaction', 'execve', 'getpid', 'newfstatat', 'wait4', 'accept4', 'getrandom', 'rseq', 'seccomp'];
      if (arch === 'x86_64') allowed.push('epoll_wait', 'open', 'stat', 'arch_prctl', 'fork');
      for (const name of allowed) {
        it(`allows ${name}`, function () {
          expect(verdict(plain, arch, name)).to.deep.equal(ALLOW);
        });
      }

      const denied = ['mount', 'umount2', 'unshare', 'setns', 'pivot_root', 'keyctl', 'add_key', 'request_key',
        'kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module', 'settimeofday',
        'clock_settime', 'reboot', 'swapon', 'bpf', 'perf_event_open', 'io_uring_setup', 'open_tree',
        'fsopen', 'move_mount', 'userfaultfd', 'chroot', 'acct', 'syslog', 'lookup_dcookie', 'open_by_handle_at'];
      for (const name of denied) {
        it(`denies ${name} with EPERM`, function () {
          expect(verdict(plain, arch, name)).to.deep.equal(EPERM);
        });
      }

      it('allows threads and plain forks through clone, but not new namespaces', function () {
        expect(verdict(plain, arch, 'clone', [THREAD_FLAGS])).to.deep.equal(ALLOW);
        expect(verdict(plain, arch, 'clone', [SIGCHLD])).to.deep.equal(ALLOW);
        expect(verdict(plain, arch, 'clone', [CLONE_NEWUSER | SIGCHLD])).to.deep.equal(EPERM);
        expect(verdict(plain, arch, 'clone', [CLONE_NEWNET | THREAD_FLAGS])).to.deep.equal(EPERM);
        // The high half of a 64-bit flags argument is outside the mask: still a plain fork.
        expect(verdict(plain, arch, 'clone', [(1n << 40n) | 17n])).to.deep.equal(ALLOW);
      });

      it('answers clone3 with ENOSYS so the libc falls back to clone', function () {
        expect(verdict(plain, arch, 'clone3')).to.deep.equal({ action: 'errno', errno: 38 });
      });

      it('allows sockets but not AF_VSOCK', function () {
        expect(verdict(plain, arch, 'socket', [2, 1, 0])).to.deep.equal(ALLOW);
        expect(verdict(plain, arch, 'socket', [40, 1, 0])).to.deep.equal(EPERM);
      });

      it('allows only the harmless personality values', function () {
        for (const p of [0, 8, 0x20000, 0xffffffff]) expect(verdict(plain, arch, 'personality', [p])).to.deep.equal(ALLOW);
        expect(verdict(plain, arch, 'personality', [0x0040000])).to.deep.equal(EPERM); // ADDR_NO_RANDOMIZE
        expect(verdict(plain, arch, 'personality', [0x1ffffffffn])).to.deep.equal(EPERM);
      });

      it('allows ptrace on new kernels only (minKernel 4.8)', function () {
        expect(verdict(plain, arch, 'ptrace')).to.deep.equal(ALLOW);
        const old = compileProfile(RUNTIME_DEFAULT_PROFILE, { arch, capabilities: [], kernelVersion: '4.4.0-210-generic' });
        expect(verdict(old, arch, 'ptrace')).to.deep.equal(EPERM);
      });

      it('with CAP_SYS_ADMIN allows mount, unshare, setns and namespace clones', function () {
        for (const name of ['mount', 'umount2', 'unshare', 'setns', 'sethostname', 'bpf', 'clone3']) {
          expect(verdict(admin, arch, name), name).to.deep.equal(ALLOW);
        }
        expect(verdict(admin, arch, 'clone', [CLONE_NEWUSER | SIGCHLD])).to.deep.equal(ALLOW);
        // Other capabilities' calls stay denied.
        for (const name of ['kexec_load', 'init_module', 'settimeofday', 'keyctl', 'reboot']) {
          expect(verdict(admin, arch, name), name).to.deep.equal(EPERM);
        }
      });

      it('grants capability-gated calls one capability at a time', function () {
        const time = compileProfile(RUNTIME_DEFAULT_PROFILE, { arch, capabilities: ['CAP_SYS_TIME'] });
        expect(verdict(time, arch, 'clock_settime')).to.deep.equal(ALLOW);
        expect(verdict(time, arch, 'mount')).to.deep.equal(EPERM);
        const mod = compileProfile(RUNTIME_DEFAULT_PROFILE, { arch, capabilities: ['CAP_SYS_MODULE'] });
        expect(verdict(mod, arch, 'init_module')).to.deep.equal(ALLOW);
      });

      it('kills the process on a foreign architecture', function () {
        const other = arch === 'x86_64' ? 'aarch64' : 'x86_64';
        expect(runProgram(plain, { nr: 0, arch: AUDIT_ARCH[other] }).verdict).to.deep.equal({ action: 'kill_process' });
        expect(runProgram(plain, { nr: 0, arch: 0x40000003 /* AUDIT_ARCH_I386 */ }).verdict).to.deep.equal({ action: 'kill_process' });
      });

      it('gives unknown and huge syscall numbers the default action', function () {
        for (const nr of [999, 0x3fffffff, -1]) {
          expect(runProgram(plain, { nr, arch: AUDIT_ARCH[arch] }).verdict).to.deep.equal(EPERM);
        }
      });

      it('decides any syscall in a few dozen instructions', function () {
        let worst = 0;
        for (let nr = 0; nr < 500; nr++) worst = Math.max(worst, runProgram(plain, { nr, arch: AUDIT_ARCH[arch] }).steps);
        expect(worst).to.be.below(40);
      });
    });
  }

  it('refuses x32 syscalls on x86_64 with the default action', function () {
    const p = compileProfile(RUNTIME_DEFAULT_PROFILE, { arch: 'x86_64', capabilities: [] });
    expect(runProgram(p, { nr: 0x40000000 | 0, arch: AUDIT_ARCH.x86_64 }).verdict).to.deep.equal(EPERM);
    const allowAll = parseSeccompProfile({ defaultAction: 'SCMP_ACT_KILL_PROCESS', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] });
    const q = compileProfile(allowAll, { arch: 'x86_64', capabilities: [] });
    expect(runProgram(q, { nr: 0x40000000, arch: AUDIT_ARCH.x86_64 }).verdict).to.deep.equal({ action: 'kill_process' });
    expect(runProgram(q, { nr: 0, arch: AUDIT_ARCH.x86_64 }).verdict).to.deep.equal(ALLOW);
  });

  it('pins the compiled RuntimeDefault for x86_64 (update on purpose, and review the change)', function () {
    const p = compileProfile(RUNTIME_DEFAULT_PROFILE, { arch: 'x86_64', capabilities: [] });
    expect(p.length / 8).to.equal(PINNED_X86_64.instructions);
    expect(createHash('sha256').update(p).digest('hex')).to.equal(PINNED_X86_64.sha256);
  });

  it('compiles deterministically', function () {
    const a = compileProfile(RUNTIME_DEFAULT_PROFILE, { arch: 'aarch64', capabilities: ['CAP_SYS_ADMIN', 'CAP_SYS_TIME'] });
    const b = compileProfile(RUNTIME_DEFAULT_PROFILE, { arch: 'aarch64', capabilities: ['CAP_SYS_TIME', 'CAP_SYS_ADMIN'] });
    expect(a.equals(b)).to.equal(true);
  });
});


describe('seccomp/compile: Localhost-style profiles', function () {
  const arch: SeccompArch = 'x86_64';
  const compile = (json: unknown, capabilities: string[] = []) => compileProfile(parseSeccompProfile(json), { arch, capabilities });

  it('allows personality(0xffffffff) and nothing else of it', function () {
    const p = compile({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 13,
      syscalls: [
        { names: ['read', 'write', 'exit_group'], action: 'SCMP_ACT_ALLOW' },
        { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0xffffffff, op: 'SCMP_CMP_EQ' }] },
      ],
    });
    expect(verdict(p, arch, 'personality', [0xffffffff])).to.deep.equal(ALLOW);
    expect(verdict(p, arch, 'personality', [0])).to.deep.equal({ action: 'errno', errno: 13 });
    expect(verdict(p, arch, 'personality', [0xffffffffffffffffn])).to.deep.equal({ action: 'errno', errno: 13 });
    expect(verdict(p, arch, 'read')).to.deep.equal(ALLOW);
    expect(verdict(p, arch, 'openat')).to.deep.equal({ action: 'errno', errno: 13 });
  });

  it('returns every action with its data', function () {
    const p = compile({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['mount'], action: 'SCMP_ACT_KILL_PROCESS' },
        { names: ['umount2'], action: 'SCMP_ACT_KILL' },
        { names: ['unshare'], action: 'SCMP_ACT_KILL_THREAD' },
        { names: ['setns'], action: 'SCMP_ACT_TRAP' },
        { names: ['keyctl'], action: 'SCMP_ACT_LOG' },
        { names: ['add_key'], action: 'SCMP_ACT_TRACE', errnoRet: 7 },
        { names: ['request_key'], action: 'SCMP_ACT_ERRNO' },
        { names: ['kexec_load'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
      ],
    });
    expect(verdict(p, arch, 'mount')).to.deep.equal({ action: 'kill_process' });
    expect(verdict(p, arch, 'umount2')).to.deep.equal({ action: 'kill_thread' });
    expect(verdict(p, arch, 'unshare')).to.deep.equal({ action: 'kill_thread' });
    expect(verdict(p, arch, 'setns')).to.deep.equal({ action: 'trap' });
    expect(verdict(p, arch, 'keyctl')).to.deep.equal({ action: 'log' });
    expect(verdict(p, arch, 'add_key')).to.deep.equal({ action: 'trace', msg: 7 });
    expect(verdict(p, arch, 'request_key')).to.deep.equal(EPERM);
    expect(verdict(p, arch, 'kexec_load')).to.deep.equal({ action: 'errno', errno: 38 });
    expect(verdict(p, arch, 'read')).to.deep.equal(ALLOW);
  });

  it('ANDs conditions on different arguments, ORs repeated ones (as runc does)', function () {
    const p = compile({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['ioctl'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: 1, value: 0x5401, op: 'SCMP_CMP_EQ' }] },
        { names: ['fcntl'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, value: 1, op: 'SCMP_CMP_EQ' }, { index: 1, value: 3, op: 'SCMP_CMP_EQ' }] },
      ],
    });
    expect(verdict(p, arch, 'ioctl', [1, 0x5401])).to.deep.equal(ALLOW);
    expect(verdict(p, arch, 'ioctl', [2, 0x5401])).to.deep.equal(EPERM);
    expect(verdict(p, arch, 'ioctl', [1, 0x5402])).to.deep.equal(EPERM);
    expect(verdict(p, arch, 'fcntl', [0, 1])).to.deep.equal(ALLOW);
    expect(verdict(p, arch, 'fcntl', [0, 3])).to.deep.equal(ALLOW);
    expect(verdict(p, arch, 'fcntl', [0, 2])).to.deep.equal(EPERM);
  });

  it('lets conditional rules take precedence over an unconditional one for the same call', function () {
    const p = compile({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['kill'], action: 'SCMP_ACT_ALLOW' },
        { names: ['kill'], action: 'SCMP_ACT_LOG', args: [{ index: 1, value: 9, op: 'SCMP_CMP_EQ' }] },
      ],
    });
    expect(verdict(p, arch, 'kill', [1, 15])).to.deep.equal(ALLOW);
    expect(verdict(p, arch, 'kill', [1, 9])).to.deep.equal({ action: 'log' });
  });

  it('refuses two unconditional rules with different actions for one syscall', function () {
    const e = thrown(() =>
      compile({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }, { names: ['read'], action: 'SCMP_ACT_LOG' }] }),
    );
    expect((e as SkiffError).kind).to.equal('InvalidArgument');
    expect((e as SkiffError).message).to.match(/syscall read has unconditional rules with two different actions/);
  });

  it('skips names the architecture does not have, as libseccomp does', function () {
    const json = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['open', 'openat', 'no_such_call'], action: 'SCMP_ACT_ALLOW' }] };
    const p = compileProfile(parseSeccompProfile(json), { arch: 'aarch64', capabilities: [] });
    expect(verdict(p, 'aarch64', 'openat')).to.deep.equal(ALLOW);
  });

  it('throws ResourceExhausted when the program would exceed BPF_MAXINSNS', function () {
    const many = Array.from({ length: 1000 }, (_, i) => ({ index: 0, value: i, op: 'SCMP_CMP_EQ' }));
    const profile: SeccompProfile = parseSeccompProfile({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: many.map((a) => ({ names: ['ioctl'], action: 'SCMP_ACT_ALLOW', args: [a] })),
    });
    const e = thrown(() => compileProfile(profile, { arch, capabilities: [] }));
    expect((e as SkiffError).kind).to.equal('ResourceExhausted');
    expect((e as SkiffError).message).to.match(/at most 4096/);
  });

  it('keeps jumps in range when one syscall has hundreds of conditions', function () {
    const rules = Array.from({ length: 300 }, (_, i) => ({ names: ['ioctl'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, value: 0x5400 + i, op: 'SCMP_CMP_EQ' }] }));
    const p = compile({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [...rules, { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' }] });
    expect(verdict(p, arch, 'ioctl', [0, 0x5400 + 299])).to.deep.equal(ALLOW);
    expect(verdict(p, arch, 'ioctl', [0, 0x5400 + 300])).to.deep.equal(EPERM);
    expect(verdict(p, arch, 'write')).to.deep.equal(ALLOW);
  });
});
