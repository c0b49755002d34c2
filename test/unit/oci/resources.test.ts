import { expect } from 'chai';
import { isKind } from '../../../src/core/errors.js';
import { buildResources, oomScoreAdj } from '../../../src/oci/resources.js';
import { thrown } from '../../support/thrown.js';

describe('oci/resources', function () {
  it('sets nothing for no or zero resources', function () {
    expect(buildResources(undefined)).to.deep.equal({});
    expect(buildResources({ cpuShares: 0, cpuQuota: 0, cpuPeriod: 0, memoryLimitBytes: 0, cpusetCpus: '', hugepageLimits: [], unified: {} })).to.deep.equal({});
  });

  it('maps cpu fields', function () {
    expect(buildResources({ cpuShares: 512, cpuQuota: 50000, cpuPeriod: 100000, cpusetCpus: '0-1', cpusetMems: '0' })).to.deep.equal({
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0-1', mems: '0' },
    });
    expect(buildResources({ cpuQuota: -1 }).cpu).to.deep.equal({ quota: -1 });
  });

  it('sets swap = memory limit only where swap is accounted', function () {
    expect(buildResources({ memoryLimitBytes: 1 << 27 })).to.deep.equal({ memory: { limit: 1 << 27 } });
    expect(buildResources({ memoryLimitBytes: 1 << 27, swapAccounting: true })).to.deep.equal({ memory: { limit: 1 << 27, swap: 1 << 27 } });
    expect(buildResources({ memoryLimitBytes: 1 << 27, memorySwapLimitBytes: 1 << 28, swapAccounting: true })).to.deep.equal({
      memory: { limit: 1 << 27, swap: 1 << 28 },
    });
    expect(buildResources({ memoryLimitBytes: 1 << 27, memorySwapLimitBytes: 1 << 28 })).to.deep.equal({ memory: { limit: 1 << 27 } });
  });

  it('passes hugepages (including 0 limits), pids and unified', function () {
    const r = buildResources({
      hugepageLimits: [
        { pageSize: '2MB', limit: 0 },
        { pageSize: '1GB', limit: 2 ** 31 },
      ],
      pidsLimit: 100,
      unified: { 'memory.high': '100000000' },
    });
    expect(r).to.deep.equal({
      hugepageLimits: [
        { pageSize: '2MB', limit: 0 },
        { pageSize: '1GB', limit: 2 ** 31 },
      ],
      pids: { limit: 100 },
      unified: { 'memory.high': '100000000' },
    });
  });

  it('rejects nonsense', function () {
    for (const r of [
      { cpuShares: -2 },
      { cpuQuota: -5 },
      { cpuPeriod: 1.5 },
      { memoryLimitBytes: -7 },
      { hugepageLimits: [{ pageSize: '2M', limit: 1 }] },
      { hugepageLimits: [{ pageSize: '2MB', limit: -1 }] },
      { unified: { '../x': '1' } },
    ]) {
      expect(isKind(thrown(() => buildResources(r)), 'InvalidArgument'), JSON.stringify(r)).to.equal(true);
    }
  });

  it('checks oom_score_adj', function () {
    expect(oomScoreAdj(undefined)).to.equal(undefined);
    expect(oomScoreAdj({})).to.equal(undefined);
    expect(oomScoreAdj({ oomScoreAdj: 0 })).to.equal(0);
    expect(oomScoreAdj({ oomScoreAdj: -997 })).to.equal(-997);
    expect(isKind(thrown(() => oomScoreAdj({ oomScoreAdj: 1001 })), 'InvalidArgument')).to.equal(true);
  });
});
