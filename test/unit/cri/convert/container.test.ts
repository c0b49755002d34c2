import { expect } from 'chai';
import { LinuxContainerResources } from '../../../../src/generated/runtime/v1/api.js';
import { toContainerResources } from '../../../../src/cri/convert/container.js';

describe('cri/convert/container', function () {
  it('keeps an oom_score_adj of 0 (containerd sets it whenever resources are given)', function () {
    expect(toContainerResources(LinuxContainerResources.fromPartial({ oomScoreAdj: 0n }))).to.deep.equal({ oomScoreAdj: 0 });
    expect(toContainerResources(LinuxContainerResources.fromPartial({ oomScoreAdj: -997n, cpuShares: 2n }))).to.deep.equal({
      cpuShares: 2,
      oomScoreAdj: -997,
    });
    expect(toContainerResources(undefined)).to.equal(undefined);
  });
});
