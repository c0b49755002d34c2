// The cgroup v2 device filter: the eBPF program, run by the interpreter, decides every request
// exactly as the v1 model (policyAllows) does, for the policies containers get and for random
// rule lists; the default container's program is pinned.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { DEVCG_DEV, EBPF, decodeProgram, deviceFilter, deviceFilterInsns, encodeProgram } from '../../../src/cgroups/device-filter.js';
import { ACC_ALL, ACC_MKNOD, ACC_READ, ACC_WRITE, devicePolicy, policyAllows, type DevicePolicy, type DeviceRequest, type DeviceRule } from '../../../src/cgroups/devices.js';
import { checkDeviceProgram, runDeviceProgram } from '../../../src/cgroups/ebpf-interp.js';
import { buildDevices } from '../../../src/oci/security.js';
import { thrown } from '../../support/thrown.js';

const RW = ACC_READ | ACC_WRITE;
const allows = (program: Buffer, type: 'c' | 'b', major: number, minor: number, access: number) =>
  runDeviceProgram(program, { type, major, minor, access }).allowed;

/** Every request over numbers that the policies below name, and some they do not. */
function* requests(): Generator<DeviceRequest> {
  for (const type of ['c', 'b'] as const) {
    for (const major of [0, 1, 4, 5, 7, 8, 10, 136, 4095]) {
      for (const minor of [0, 1, 2, 3, 5, 7, 8, 9, 200]) {
        for (let access = 1; access <= ACC_ALL; access++) yield { type, major, minor, access };
      }
    }
  }
}

function expectAgreement(p: DevicePolicy, what: string): void {
  const program = deviceFilter(p);
  checkDeviceProgram(decodeProgram(program));
  for (const r of requests()) {
    const got = runDeviceProgram(program, r).allowed;
    if (got !== policyAllows(p, r)) throw new Error(`${what}: ${JSON.stringify(r)} -> ${got}, v1 says ${!got}`);
  }
}

/** A small deterministic PRNG (mulberry32) so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The default container's program (deny all, runc's list): a change shows up here in review. */
const PINNED_DEFAULT = { instructions: 60, sha256: '1eb67917d93648e421943a8aa732438d0b9c430269a486dd611aea6f37d7a82b' };

describe('cgroups/device-filter', function () {
  const plain = buildDevices({ privileged: false, devices: [] }).rules;

  it('encodes struct bpf_insn as the kernel reads it', function () {
    const insns = [{ code: EBPF.LDX_MEM_W, dst: 4, src: 1, off: 4, imm: 0 }, { code: EBPF.JNE_K, dst: 5, src: 0, off: -2, imm: -1 }];
    const buf = encodeProgram(insns);
    expect(buf.toString('hex')).to.equal('6114040000000000' + '5505feffffffffff');
    expect(decodeProgram(buf)).to.deep.equal(insns);
  });

  it('gives the default container an allow list that the kernel rules accept', function () {
    const program = deviceFilter(devicePolicy(plain));
    const insns = decodeProgram(program);
    expect(() => checkDeviceProgram(insns)).to.not.throw();
    expect({ instructions: insns.length, sha256: createHash('sha256').update(program).digest('hex') }).to.deep.equal(PINNED_DEFAULT);
    for (const [major, minor] of [[1, 3], [1, 5], [1, 7], [1, 8], [1, 9], [5, 0], [5, 1], [5, 2], [136, 0], [136, 9]] as const) {
      expect(allows(program, 'c', major, minor, RW), `c ${major}:${minor}`).to.equal(true);
    }
    expect(allows(program, 'c', 1, 1, ACC_READ), '/dev/mem').to.equal(false);
    expect(allows(program, 'c', 10, 200, RW), '/dev/net/tun').to.equal(false);
    expect(allows(program, 'b', 8, 0, ACC_READ), 'a disk').to.equal(false);
    expect(allows(program, 'b', 8, 0, ACC_MKNOD), 'mknod is allowed, opening is not').to.equal(true);
    expect(allows(program, 'c', 1, 1, ACC_MKNOD)).to.equal(true);
  });

  it('lets a privileged container use every device with a two-instruction program', function () {
    const rules = buildDevices({ privileged: true, devices: [] }).rules;
    const program = deviceFilter(devicePolicy(rules));
    expect(decodeProgram(program).slice(-2)).to.deep.equal([
      { code: EBPF.ALU64_MOV_K, dst: 0, src: 0, off: 0, imm: 1 },
      { code: EBPF.EXIT, dst: 0, src: 0, off: 0, imm: 0 },
    ]);
    expect(allows(program, 'b', 8, 0, RW)).to.equal(true);
    expect(allows(program, 'c', 1, 1, RW)).to.equal(true);
  });

  it('allows a CRI device with exactly the permissions it was given', function () {
    const { rules } = buildDevices({
      privileged: false,
      devices: [
        { containerPath: '/dev/fuse', type: 'c', major: 10, minor: 229, permissions: 'rw' },
        { containerPath: '/dev/sdz', type: 'b', major: 65, minor: 144, permissions: 'r' },
      ],
    });
    const program = deviceFilter(devicePolicy(rules));
    expect(allows(program, 'c', 10, 229, RW)).to.equal(true);
    expect(allows(program, 'b', 65, 144, ACC_READ)).to.equal(true);
    expect(allows(program, 'b', 65, 144, RW), 'no write to a read-only device').to.equal(false);
    expect(allows(program, 'b', 65, 145, ACC_READ), 'the next minor').to.equal(false);
    expect(allows(program, 'c', 10, 200, ACC_READ)).to.equal(false);
  });

  it('agrees with the v1 model on every request, for the policies containers get', function () {
    expectAgreement(devicePolicy(plain), 'default');
    expectAgreement(devicePolicy(buildDevices({ privileged: true, devices: [] }).rules), 'privileged');
    expectAgreement(devicePolicy([]), 'no rules');
    expectAgreement(devicePolicy([{ allow: false }]), 'deny all');
    expectAgreement(devicePolicy([{ allow: false, type: 'c', major: 1, minor: 1, access: 'rw' }, { allow: false, type: 'b', access: 'm' }]), 'deny list');
  });

  it('agrees with the v1 model for 300 random rule lists', function () {
    const rnd = prng(20240601);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    for (let n = 0; n < 300; n++) {
      const rules: DeviceRule[] = [];
      const count = 1 + Math.floor(rnd() * 8);
      for (let i = 0; i < count; i++) {
        if (rnd() < 0.15) rules.push({ allow: rnd() < 0.5, type: 'a' });
        else {
          rules.push({
            allow: rnd() < 0.6,
            type: pick(['c', 'b'] as const),
            major: pick([undefined, 1, 4, 8, 136]),
            minor: pick([undefined, 0, 1, 3, 7]),
            access: pick(['r', 'w', 'm', 'rw', 'rm', 'wm', 'rwm', '']),
          });
        }
      }
      expectAgreement(devicePolicy(rules), `rules #${n} ${JSON.stringify(rules)}`);
    }
  });

  it('checks the request type first, so a char rule never matches a block device', function () {
    const insns = deviceFilterInsns(devicePolicy([{ allow: false }, { allow: true, type: 'c', major: 8, minor: 0 }]));
    expect(insns[6]).to.deep.include({ code: EBPF.JNE_K, dst: 2, imm: DEVCG_DEV.c });
    const program = encodeProgram(insns);
    expect(allows(program, 'c', 8, 0, ACC_WRITE)).to.equal(true);
    expect(allows(program, 'b', 8, 0, ACC_WRITE)).to.equal(false);
  });

  describe('the interpreter refuses what the verifier would', function () {
    const exit = { code: EBPF.EXIT, dst: 0, src: 0, off: 0, imm: 0 };
    const mov = (imm: number) => ({ code: EBPF.ALU64_MOV_K, dst: 0, src: 0, off: 0, imm });
    const run = (insns: Parameters<typeof encodeProgram>[0]) => () =>
      runDeviceProgram(encodeProgram(insns), { type: 'c', major: 1, minor: 3, access: ACC_READ });
    it('an exit before R0 is set', function () {
      expect(String(thrown(run([exit])))).to.match(/R0 before writing/);
    });
    it('a return value other than 0 or 1', function () {
      expect(String(thrown(run([mov(2), exit])))).to.match(/returns 2/);
    });
    it('a load outside the context', function () {
      expect(String(thrown(run([{ code: EBPF.LDX_MEM_W, dst: 2, src: 1, off: 12, imm: 0 }, mov(1), exit])))).to.match(/aligned u32 of the context/);
    });
    it('a jump out of the program or backwards', function () {
      expect(String(thrown(run([mov(1), { code: EBPF.JEQ_K, dst: 0, src: 0, off: 5, imm: 1 }, exit])))).to.match(/leaves the program/);
      expect(String(thrown(run([mov(1), { code: EBPF.JEQ_K, dst: 0, src: 0, off: -2, imm: 1 }, exit])))).to.match(/goes back/);
    });
    it('a program that can fall off its end', function () {
      expect(String(thrown(run([mov(1)])))).to.match(/does not end with exit/);
    });
    it('an opcode the filter does not use', function () {
      expect(String(thrown(run([{ code: 0x07, dst: 0, src: 0, off: 0, imm: 1 }, mov(1), exit])))).to.match(/opcode 0x7/);
    });
  });
});
