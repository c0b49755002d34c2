// Every comparison operator against the 64-bit semantics it stands for, at the edges where the
// split into 32-bit halves could go wrong.
import { expect } from 'chai';
import { AUDIT_ARCH } from '../../../src/seccomp/arch.js';
import { runProgram } from '../../../src/seccomp/bpf-interp.js';
import { compileProfile } from '../../../src/seccomp/compile.js';
import { SECCOMP_OPS, parseSeccompProfile, type SeccompOp } from '../../../src/seccomp/profile.js';

const U64 = (1n << 64n) - 1n;
const HI = 1n << 32n;

function holds(op: SeccompOp, arg: bigint, value: bigint, valueTwo: bigint): boolean {
  switch (op) {
    case 'SCMP_CMP_EQ': return arg === value;
    case 'SCMP_CMP_NE': return arg !== value;
    case 'SCMP_CMP_LT': return arg < value;
    case 'SCMP_CMP_LE': return arg <= value;
    case 'SCMP_CMP_GT': return arg > value;
    case 'SCMP_CMP_GE': return arg >= value;
    case 'SCMP_CMP_MASKED_EQ': return (arg & value) === valueTwo;
  }
}

const values = [0n, 1n, 5n, 0xffffffffn, HI, HI + 1n, 0x123456789abcdef0n, U64 - 1n, U64];

function probes(v: bigint): bigint[] {
  const near = [v - 1n, v, v + 1n, v ^ HI, v ^ 1n, v - HI, v + HI, 0n, U64, 0x80000000n];
  return near.filter((x) => x >= 0n && x <= U64);
}

describe('seccomp/compile: argument operators', function () {
  for (const op of SECCOMP_OPS) {
    it(`${op} matches its 64-bit meaning`, function () {
      for (const value of values) {
        const valueTwo = op === 'SCMP_CMP_MASKED_EQ' ? value & 0x0000ffff0000ff00n : 0n;
        // Argument 3: offsets 40 (low) and 44 (high), away from the first argument.
        const profile = parseSeccompProfile({
          defaultAction: 'SCMP_ACT_ERRNO',
          syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 3, value, valueTwo, op }] }],
        });
        const program = compileProfile(profile, { arch: 'aarch64', capabilities: [] });
        for (const arg of [...probes(value), ...probes(valueTwo)]) {
          const got = runProgram(program, { nr: 63, arch: AUDIT_ARCH.aarch64, args: [U64, U64, U64, arg] }).verdict.action;
          expect(got, `${op} value=${value.toString(16)} arg=${arg.toString(16)}`).to.equal(holds(op, arg, value, valueTwo) ? 'allow' : 'errno');
        }
      }
    });
  }
});
