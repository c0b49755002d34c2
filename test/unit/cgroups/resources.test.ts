import { expect } from 'chai';
import { isKind } from '../../../src/core/errors.js';
import {
  checkResources,
  cpuMaxV2,
  hasResources,
  limitText,
  sharesToWeight,
  swapMaxV2,
} from '../../../src/cgroups/resources.js';
import type { PodResources } from '../../../src/cgroups/types.js';

function expectInvalid(f: () => unknown, what: string): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(isKind(err, 'InvalidArgument'), `${what}: ${String(err)}`).to.equal(true);
}

describe('cgroups/resources', function () {
  it('converts cpu shares to weight as runc and crun do', function () {
    // weight = 1 + ((shares - 2) * 9999) / 262142, integer division; out of range clamped first.
    const table: [number, number][] = [
      [0, 0],
      [1, 1],
      [2, 1],
      [3, 1],
      [28, 1],
      [29, 2],
      [102, 4],
      [256, 10],
      [512, 20],
      [1024, 39],
      [2048, 79],
      [4096, 157],
      [131072, 5000],
      [262143, 9999],
      [262144, 10000],
      [1_000_000, 10000],
    ];
    for (const [shares, weight] of table) expect(sharesToWeight(shares), `shares ${shares}`).to.equal(weight);
  });

  it('builds cpu.max', function () {
    const table: [number | undefined, number | undefined, string, string | undefined][] = [
      [undefined, undefined, 'max', undefined],
      [0, 0, 'max', undefined],
      [50000, 100000, 'max', '50000 100000'],
      [-1, 100000, '20000', 'max 100000'],
      [25000, undefined, 'max', '25000'],
      [undefined, 50000, '20000', '20000 50000'],
      [undefined, 50000, 'max', 'max 50000'],
      [-1, undefined, '20000', 'max'],
    ];
    for (const [quota, period, current, want] of table) {
      expect(cpuMaxV2(quota, period, current), `${quota} ${period} ${current}`).to.equal(want);
    }
  });

  it('converts memory+swap to memory.swap.max', function () {
    const gi = 1 << 30;
    expect(swapMaxV2(undefined, undefined)).to.equal(undefined);
    expect(swapMaxV2(0, gi)).to.equal(undefined);
    expect(swapMaxV2(2 * gi, gi)).to.equal(String(gi));
    expect(swapMaxV2(gi, gi)).to.equal('0');
    expect(swapMaxV2(-1, gi)).to.equal('max');
    expect(swapMaxV2(undefined, -1)).to.equal('max');
    expectInvalid(() => swapMaxV2(gi, undefined), 'swap without memory');
    expectInvalid(() => swapMaxV2(gi, -1), 'swap with unlimited memory');
    expectInvalid(() => swapMaxV2(gi, 2 * gi), 'swap below memory');
  });

  it('writes unlimited as each version spells it', function () {
    expect(limitText(-1, 1)).to.equal('-1');
    expect(limitText(-1, 2)).to.equal('max');
    expect(limitText(4096, 1)).to.equal('4096');
  });

  it('accepts what kubelet sends', function () {
    const r: PodResources = {
      cpuShares: 1024,
      cpuQuota: 50000,
      cpuPeriod: 100000,
      cpusetCpus: '0-1,3',
      cpusetMems: '0',
      memoryLimitBytes: 1 << 28,
      memorySwapLimitBytes: 1 << 29,
      pidsLimit: -1,
      hugepageLimits: [{ pageSize: '2MB', limit: 0 }],
    };
    checkResources(r, 1);
    checkResources({ ...r, unified: { 'memory.high': '1000000', 'io.weight': 'default 100' } }, 2);
    expect(hasResources(r)).to.equal(true);
    expect(hasResources({})).to.equal(false);
    expect(hasResources({ cpuShares: 0, unified: {} })).to.equal(false);
    expect(hasResources(undefined)).to.equal(false);
  });

  const bad: [string, PodResources, 1 | 2][] = [
    ['fractional shares', { cpuShares: 1.5 }, 1],
    ['negative shares', { cpuShares: -2 }, 2],
    ['quota below -1', { cpuQuota: -2 }, 1],
    ['negative period', { cpuPeriod: -1 }, 1],
    ['NaN memory', { memoryLimitBytes: Number.NaN }, 1],
    ['pids below -1', { pidsLimit: -5 }, 2],
    ['cpu list with letters', { cpusetCpus: '0-a' }, 1],
    ['cpu list with a path', { cpusetMems: '../0' }, 2],
    ['memsw below memory', { memoryLimitBytes: 2048, memorySwapLimitBytes: 1024 }, 1],
    ['memsw with unlimited memory', { memoryLimitBytes: -1, memorySwapLimitBytes: 1024 }, 1],
    ['memsw without memory on v2', { memorySwapLimitBytes: 1024 }, 2],
    ['odd page size', { hugepageLimits: [{ pageSize: '2M', limit: 0 }] }, 1],
    ['page size with a path', { hugepageLimits: [{ pageSize: '../2MB', limit: 0 }] }, 2],
    ['unified on v1', { unified: { 'memory.high': '1' } }, 1],
    ['unified key with a slash', { unified: { 'memory/../../x': '1' } }, 2],
    ['unified key with ..', { unified: { 'memory..high': '1' } }, 2],
    ['unified key without a dot', { unified: { tasks: '1' } }, 2],
    ['unified cgroup.procs', { unified: { 'cgroup.procs': '1' } }, 2],
    ['unified cgroup.kill', { unified: { 'cgroup.kill': '1' } }, 2],
    ['unified value with NUL', { unified: { 'memory.high': '1\0' } }, 2],
  ];
  for (const [what, r, version] of bad) {
    it(`rejects ${what} (v${version})`, function () {
      expectInvalid(() => checkResources(r, version), what);
    });
  }
});
