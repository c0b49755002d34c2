import { expect } from 'chai';
import { SkiffError } from '../../../src/core/errors.js';
import { isSeccompAction, isSeccompOp, parseSeccompProfile, parseSeccompProfileJson } from '../../../src/seccomp/profile.js';
import { thrown } from '../../support/thrown.js';

const rule = (extra: Record<string, unknown>) => ({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', ...extra }] });

describe('seccomp/profile', function () {
  it('parses a Docker-format profile into typed rules with u64 values', function () {
    const p = parseSeccompProfile({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 1,
      architectures: ['SCMP_ARCH_X86_64'],
      archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] }],
      flags: ['SECCOMP_FILTER_FLAG_LOG'],
      syscalls: [
        { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 4294967295, op: 'SCMP_CMP_EQ' }], comment: 'x' },
        { name: 'clone3', action: 'SCMP_ACT_ERRNO', errnoRet: 38, excludes: { caps: ['CAP_SYS_ADMIN'] } },
        { names: ['ptrace'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '4.8' }, args: null },
      ],
    });
    expect(p.syscalls[0]?.args[0]).to.deep.equal({ index: 0, op: 'SCMP_CMP_EQ', value: 0xffffffffn, valueTwo: 0n });
    expect(p.syscalls[1]).to.include({ action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
    expect(p.syscalls[1]?.names).to.deep.equal(['clone3']);
    expect(p.syscalls[1]?.excludes.caps).to.deep.equal(['CAP_SYS_ADMIN']);
    expect(p.syscalls[2]?.includes.minKernel).to.equal('4.8');
    expect(p.flags).to.deep.equal(['SECCOMP_FILTER_FLAG_LOG']);
  });

  it('accepts nulls where Go encoders write them, and bigints above 2^53 from code', function () {
    const p = parseSeccompProfile({ defaultAction: 'SCMP_ACT_ALLOW', architectures: null, syscalls: null });
    expect(p.syscalls).to.deep.equal([]);
    const q = parseSeccompProfile(rule({ args: [{ index: 1, value: (1n << 64n) - 1n, valueTwo: 3n, op: 'SCMP_CMP_MASKED_EQ' }] }));
    expect(q.syscalls[0]?.args[0]?.value).to.equal((1n << 64n) - 1n);
  });

  it('has type guards for actions and operators', function () {
    expect(isSeccompAction('SCMP_ACT_LOG')).to.equal(true);
    expect(isSeccompAction('SCMP_ACT_NOPE')).to.equal(false);
    expect(isSeccompOp('SCMP_CMP_MASKED_EQ')).to.equal(true);
    expect(isSeccompOp('SCMP_CMP_IN')).to.equal(false);
  });

  const cases: [string, unknown, RegExp][] = [
    ['not an object', [], /profile: must be a JSON object/],
    ['no default action', { syscalls: [] }, /defaultAction: unknown action undefined/],
    ['unknown default action', { defaultAction: 'SCMP_ACT_DENY' }, /defaultAction: unknown action "SCMP_ACT_DENY"/],
    ['notify', { defaultAction: 'SCMP_ACT_NOTIFY' }, /SCMP_ACT_NOTIFY needs a seccomp agent/],
    ['listener path', { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/agent.sock' }, /listenerPath: seccomp agents/],
    ['unknown top-level field', { defaultAction: 'SCMP_ACT_ALLOW', syscals: [] }, /profile: unknown field "syscals"/],
    ['bad defaultErrnoRet', { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: -1 }, /defaultErrnoRet: must be an integer from 0 to 4095/],
    ['unknown architecture', { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_Z80'] }, /architectures\[0\]: unknown architecture "SCMP_ARCH_Z80"/],
    ['unknown flag', { defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_FAST'] }, /flags\[0\]: unknown flag/],
    ['syscalls not an array', { defaultAction: 'SCMP_ACT_ALLOW', syscalls: {} }, /syscalls: must be an array/],
    ['unknown rule action', rule({ action: 'ALLOW' }), /syscalls\[0\]\.action: unknown action "ALLOW"/],
    ['no names', { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: [], action: 'SCMP_ACT_ALLOW' }] }, /syscalls\[0\]: names no syscall/],
    ['bad syscall name', rule({ names: ['read', 'Read!'] }), /syscalls\[0\]\.names\[1\]: "Read!" is not a valid syscall name/],
    ['unknown rule field', rule({ arg: [] }), /syscalls\[0\]: unknown field "arg"/],
    ['errnoRet on allow', rule({ errnoRet: 1 }), /errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one/],
    ['errno too big', rule({ action: 'SCMP_ACT_ERRNO', errnoRet: 5000 }), /errnoRet: must be an integer from 0 to 4095/],
    ['args not an array', rule({ args: {} }), /syscalls\[0\]\.args: must be an array/],
    ['too many args', rule({ args: Array.from({ length: 7 }, (_, i) => ({ index: i % 6, value: 0, op: 'SCMP_CMP_EQ' })) }), /has 7 conditions/],
    ['arg index > 5', rule({ args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] }), /args\[0\]\.index: must be an argument index from 0 to 5, not 6/],
    ['arg index negative', rule({ args: [{ index: -1, value: 0, op: 'SCMP_CMP_EQ' }] }), /args\[0\]\.index/],
    ['bad op', rule({ args: [{ index: 0, value: 0, op: 'SCMP_CMP_IN' }] }), /args\[0\]\.op: unknown operator "SCMP_CMP_IN"/],
    ['negative value', rule({ args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] }), /args\[0\]\.value: must be a non-negative integer/],
    ['imprecise value', rule({ args: [{ index: 0, value: 2 ** 60, op: 'SCMP_CMP_EQ' }] }), /below 2\^53/],
    ['string value', rule({ args: [{ index: 0, value: '1', op: 'SCMP_CMP_EQ' }] }), /args\[0\]\.value/],
    ['bigint above u64', rule({ args: [{ index: 0, value: 1n << 64n, op: 'SCMP_CMP_EQ' }] }), /outside 0\.\.2\^64-1/],
    ['unknown arg field', rule({ args: [{ index: 0, value: 0, op: 'SCMP_CMP_EQ', mask: 1 }] }), /args\[0\]: unknown field "mask"/],
    ['bad capability', rule({ includes: { caps: ['sys_admin'] } }), /includes\.caps\[0\]: "sys_admin" is not a valid capability name/],
    ['bad minKernel', rule({ includes: { minKernel: 'four' } }), /includes\.minKernel: "four" is not a kernel version/],
    ['unknown filter field', rule({ excludes: { capabilities: [] } }), /excludes: unknown field "capabilities"/],
    ['bad archMap', { defaultAction: 'SCMP_ACT_ALLOW', archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['i386'] }] }, /archMap\[0\]\.subArchitectures\[0\]: unknown architecture "i386"/],
  ];
  for (const [what, input, message] of cases) {
    it(`refuses a profile with ${what}`, function () {
      const e = thrown(() => parseSeccompProfile(input));
      expect(e).to.be.instanceOf(SkiffError);
      expect((e as SkiffError).kind).to.equal('InvalidArgument');
      expect((e as SkiffError).message).to.match(/^seccomp profile: /).and.to.match(message);
    });
  }

  it('reports a JSON syntax error as InvalidArgument', function () {
    const e = thrown(() => parseSeccompProfileJson('{"defaultAction": '));
    expect((e as SkiffError).kind).to.equal('InvalidArgument');
    expect((e as SkiffError).message).to.match(/not valid JSON/);
    expect(parseSeccompProfileJson('{"defaultAction":"SCMP_ACT_LOG"}').defaultAction).to.equal('SCMP_ACT_LOG');
  });
});
