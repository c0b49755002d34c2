import { expect } from 'chai';
import { isKind } from '../../../src/core/errors.js';
import {
  checkCgroupPath,
  childCgroupPath,
  expandSlice,
  podCgroupOwned,
  podCgroupPath,
  resolveCgroupParent,
} from '../../../src/cgroups/cgroup-path.js';

function expectInvalid(f: () => unknown, what: string): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(isKind(err, 'InvalidArgument'), `${what}: ${String(err)}`).to.equal(true);
}

const ID = 'a'.repeat(64);

describe('cgroups/cgroup-path', function () {
  describe('podCgroupPath', function () {
    const table: [string, string][] = [
      ['', `/skiff/${ID}`],
      ['/kubepods/burstable/pod1234-abcd', '/kubepods/burstable/pod1234-abcd'],
      ['/kubepods/pod9', '/kubepods/pod9'],
      ['/kubepods', '/kubepods'],
      ['kubepods-burstable-pod123.slice', '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod123.slice'],
      ['kubepods-pod5_6.slice', '/kubepods.slice/kubepods-pod5_6.slice'],
      ['kubepods.slice', '/kubepods.slice'],
    ];
    for (const [parent, want] of table) {
      it(`maps ${JSON.stringify(parent)} to ${want}`, function () {
        expect(podCgroupPath(parent, ID)).to.equal(want);
      });
    }

    const bad = [
      'kubepods/burstable', // relative, not a slice
      '/kubepods/../etc',
      '/kubepods/./x',
      '/kubepods//pod1',
      '/kubepods/',
      '/',
      '-.slice', // the root slice is "/", not a pod cgroup
      'kubepods--x.slice',
      '-kubepods.slice',
      'kubepods-.slice',
      '.slice',
      'a/b.slice',
      '/kube\0pods',
      '/kube\npods',
      `/${'x'.repeat(256)}`,
    ];
    for (const parent of bad) {
      it(`rejects cgroup_parent ${JSON.stringify(parent)}`, function () {
        expectInvalid(() => podCgroupPath(parent, ID), parent);
      });
    }

    for (const id of ['..', '.', 'a/b', '', '-x/..', 'x\0']) {
      it(`rejects sandbox id ${JSON.stringify(id)} with an empty parent`, function () {
        expectInvalid(() => podCgroupPath('', id), id);
      });
    }
  });

  it('expands slices as runc does', function () {
    expect(expandSlice('-.slice')).to.equal('/');
    expect(expandSlice('a-b-c.slice')).to.equal('/a.slice/a-b.slice/a-b-c.slice');
    expect(expandSlice('system.slice')).to.equal('/system.slice');
    expectInvalid(() => expandSlice('a.scope'), 'scope');
  });

  it('resolves both notations of a parent and refuses an empty one', function () {
    expect(resolveCgroupParent('/a/b')).to.equal('/a/b');
    expect(resolveCgroupParent('a-b.slice')).to.equal('/a.slice/a-b.slice');
    expectInvalid(() => resolveCgroupParent(''), 'empty');
  });

  it('checks paths handed to the drivers', function () {
    expect(checkCgroupPath('/skiff/x')).to.equal('/skiff/x');
    for (const p of ['', 'x', '/', '/a/..', '/a//b', '/a/b/', '/..']) expectInvalid(() => checkCgroupPath(p), p);
  });

  it('says which pod cgroups Skiff owns', function () {
    expect(podCgroupOwned('')).to.equal(true);
    expect(podCgroupOwned('/kubepods/pod1')).to.equal(false);
    expect(podCgroupOwned('kubepods-pod1.slice')).to.equal(false);
  });

  it('names child cgroups by one component', function () {
    expect(childCgroupPath('/kubepods/pod1', ID)).to.equal(`/kubepods/pod1/${ID}`);
    expectInvalid(() => childCgroupPath('/kubepods/pod1', '../x'), '../x');
    expectInvalid(() => childCgroupPath('/kubepods/pod1', '..'), '..');
    expectInvalid(() => childCgroupPath('kubepods', 'x'), 'relative parent');
  });
});
