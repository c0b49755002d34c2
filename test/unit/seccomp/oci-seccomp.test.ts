// A profile as the OCI spec's linux.seccomp for runc and crun: the rules that apply to the
// container, resolved the way the built-in compiler resolves them, so both executors enforce one
// policy.
import { expect } from 'chai';
import { AUDIT_ARCH, syscallTable, type SeccompArch } from '../../../src/seccomp/arch.js';
import { runProgram, verdictOf } from '../../../src/seccomp/bpf-interp.js';
import { compileProfile } from '../../../src/seccomp/compile.js';
import { RUNTIME_DEFAULT_PROFILE } from '../../../src/seccomp/default-profile.js';
import { ociSeccomp } from '../../../src/seccomp/oci-seccomp.js';
import { actionRet } from '../../../src/seccomp/plan.js';
import { parseSeccompProfile, type SeccompAction } from '../../../src/seccomp/profile.js';
import type { OciSeccomp } from '../../../src/oci/types.js';

const DEFAULT_CAPS = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SETUID', 'CAP_SETGID'];
const named = (s: OciSeccomp, name: string) => s.syscalls.filter((r) => r.names.includes(name));

describe('seccomp/oci-seccomp', function () {
  const plain = ociSeccomp(RUNTIME_DEFAULT_PROFILE, { arch: 'x86_64', capabilities: DEFAULT_CAPS });
  const admin = ociSeccomp(RUNTIME_DEFAULT_PROFILE, { arch: 'x86_64', capabilities: [...DEFAULT_CAPS, 'CAP_SYS_ADMIN'] });

  it('keeps the default action, its errno and the architectures', function () {
    expect(plain.defaultAction).to.equal('SCMP_ACT_ERRNO');
    expect(plain.defaultErrnoRet).to.equal(1);
    expect(plain.architectures).to.deep.equal(['SCMP_ARCH_X86_64', 'SCMP_ARCH_AARCH64']);
    expect(plain).to.not.have.property('flags');
  });

  it('leaves out the rules of capabilities the container lacks, and keeps the ones for its absence', function () {
    expect(named(plain, 'unshare')).to.deep.equal([]);
    expect(named(plain, 'mount')).to.deep.equal([]);
    expect(named(plain, 'clone')).to.deep.equal([
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7e020000, op: 'SCMP_CMP_MASKED_EQ' }] },
    ]);
    expect(named(plain, 'clone3')).to.deep.equal([{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }]);
    expect(named(admin, 'unshare')).to.have.length(1);
    expect(named(admin, 'clone').every((r) => r.args === undefined)).to.equal(true);
    expect(named(admin, 'clone3')).to.deep.equal([named(admin, 'unshare')[0]]);
  });

  it('keeps the rules of this architecture only', function () {
    expect(named(plain, 'arch_prctl')).to.have.length(1);
    expect(named(plain, 'set_tls')).to.deep.equal([]);
    const arm = ociSeccomp(RUNTIME_DEFAULT_PROFILE, { arch: 'aarch64', capabilities: DEFAULT_CAPS });
    expect(named(arm, 'set_tls')).to.have.length(1);
    expect(named(arm, 'arch_prctl')).to.deep.equal([]);
  });

  it('adds the node\'s archMap entry and passes flags and conditions through', function () {
    const p = parseSeccompProfile({
      defaultAction: 'SCMP_ACT_ALLOW',
      archMap: [
        { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
        { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
      ],
      flags: ['SECCOMP_FILTER_FLAG_LOG'],
      syscalls: [{ names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, args: [{ index: 1, value: 9, op: 'SCMP_CMP_EQ' }] }],
    });
    const s = ociSeccomp(p, { arch: 'x86_64', capabilities: [] });
    expect(s).to.deep.equal({
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      flags: ['SECCOMP_FILTER_FLAG_LOG'],
      syscalls: [{ names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, args: [{ index: 1, value: 9, op: 'SCMP_CMP_EQ' }] }],
    });
    expect(JSON.parse(JSON.stringify(s))).to.deep.equal(s);
  });

  for (const arch of ['x86_64', 'aarch64'] as SeccompArch[]) {
    it(`decides every unconditional syscall on ${arch} as the compiled program does`, function () {
      for (const caps of [DEFAULT_CAPS, [...DEFAULT_CAPS, 'CAP_SYS_ADMIN', 'CAP_SYS_TIME']]) {
        const spec = ociSeccomp(RUNTIME_DEFAULT_PROFILE, { arch, capabilities: caps });
        const program = compileProfile(RUNTIME_DEFAULT_PROFILE, { arch, capabilities: caps });
        let compared = 0;
        for (const [name, nr] of Object.entries(syscallTable(arch))) {
          const rules = named(spec, name);
          if (rules.some((r) => r.args !== undefined)) continue; // argument rules: the compile tests cover them
          if (rules.length > 1) throw new Error(`${name} has ${rules.length} unconditional rules`);
          const r = rules[0];
          const want = r ? actionRet(r.action as SeccompAction, r.errnoRet) : actionRet(spec.defaultAction as SeccompAction, spec.defaultErrnoRet);
          expect(runProgram(program, { nr, arch: AUDIT_ARCH[arch] }).verdict, name).to.deep.equal(verdictOf(want));
          compared += 1;
        }
        expect(compared).to.be.above(250);
      }
    });
  }
});
