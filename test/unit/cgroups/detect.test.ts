import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKind } from '../../../src/core/errors.js';
import { detectCgroupMode } from '../../../src/cgroups/detect.js';
import { CgroupV1Driver, CgroupV2Driver, createCgroupDriver } from '../../../src/cgroups/index.js';

describe('cgroups/detect', function () {
  let root: string;
  beforeEach(function () {
    root = mkdtempSync(join(tmpdir(), 'skiff-cg-detect-'));
  });
  afterEach(function () {
    rmSync(root, { recursive: true, force: true });
  });

  it('sees v2 by cgroup.controllers at the top', function () {
    writeFileSync(join(root, 'cgroup.controllers'), 'cpu memory pids\n');
    expect(detectCgroupMode(root)).to.equal('v2');
    expect(createCgroupDriver({ root })).to.be.instanceOf(CgroupV2Driver);
  });

  it('sees v1 by controller directories', function () {
    mkdirSync(join(root, 'memory'));
    mkdirSync(join(root, 'cpu'));
    expect(detectCgroupMode(root)).to.equal('v1');
    expect(createCgroupDriver({ root })).to.be.instanceOf(CgroupV1Driver);
  });

  it('sees hybrid by a cgroup2 mount at unified, and drives it as v1', function () {
    mkdirSync(join(root, 'memory'));
    mkdirSync(join(root, 'unified'));
    writeFileSync(join(root, 'unified', 'cgroup.controllers'), '');
    expect(detectCgroupMode(root)).to.equal('hybrid');
    expect(createCgroupDriver({ root }).version).to.equal(1);
  });

  it('refuses a directory that is no cgroup mount', function () {
    let err: unknown;
    try {
      detectCgroupMode(root);
    } catch (e) {
      err = e;
    }
    expect(isKind(err, 'FailedPrecondition'), String(err)).to.equal(true);
  });

  it('answers for this machine', function () {
    expect(['v1', 'v2', 'hybrid']).to.include(detectCgroupMode());
  });
});
