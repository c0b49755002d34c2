import { expect } from 'chai';
import { isKind } from '../../../src/core/errors.js';
import { buildNamespaces, ownsUts } from '../../../src/oci/namespaces.js';
import type { NamespacesInput } from '../../../src/oci/types.js';
import { thrown } from '../../support/thrown.js';

const POD: NamespacesInput = {
  network: { mode: 'pod', path: '/run/skiff/ns/p/net' },
  ipc: { mode: 'pod', path: '/run/skiff/ns/p/ipc' },
  uts: { mode: 'pod', path: '/run/skiff/ns/p/uts' },
  pid: { mode: 'container' },
};

describe('oci/namespaces', function () {
  it('joins the pod net/ipc/uts, creates pid, mount and cgroup (pid CONTAINER)', function () {
    expect(buildNamespaces(POD)).to.deep.equal([
      { type: 'pid' },
      { type: 'network', path: '/run/skiff/ns/p/net' },
      { type: 'ipc', path: '/run/skiff/ns/p/ipc' },
      { type: 'uts', path: '/run/skiff/ns/p/uts' },
      { type: 'mount' },
      { type: 'cgroup' },
    ]);
  });

  it('joins the pod pid namespace (pid POD)', function () {
    expect(buildNamespaces({ ...POD, pid: { mode: 'pod', path: '/run/skiff/ns/p/pid' } })[0]).to.deep.equal({
      type: 'pid',
      path: '/run/skiff/ns/p/pid',
    });
  });

  it('leaves pid out for pid NODE', function () {
    expect(buildNamespaces({ ...POD, pid: { mode: 'node' } }).map((n) => n.type)).to.deep.equal(['network', 'ipc', 'uts', 'mount', 'cgroup']);
  });

  it('joins the target container (pid TARGET)', function () {
    expect(buildNamespaces({ ...POD, pid: { mode: 'target', path: '/proc/4242/ns/pid' } })[0]).to.deep.equal({
      type: 'pid',
      path: '/proc/4242/ns/pid',
    });
  });

  it('leaves out what a host-network / host-IPC pod shares with the node', function () {
    const hostNet = buildNamespaces({ ...POD, network: { mode: 'node' }, uts: { mode: 'node' } });
    expect(hostNet).to.deep.equal([{ type: 'pid' }, { type: 'ipc', path: '/run/skiff/ns/p/ipc' }, { type: 'mount' }, { type: 'cgroup' }]);
    const all = buildNamespaces({ network: { mode: 'node' }, ipc: { mode: 'node' }, uts: { mode: 'node' }, pid: { mode: 'node' } });
    expect(all).to.deep.equal([{ type: 'mount' }, { type: 'cgroup' }]);
  });

  it('creates namespaces in container mode', function () {
    const ns = buildNamespaces({ ...POD, ipc: { mode: 'container' }, uts: { mode: 'container' } });
    expect(ns.filter((n) => n.type === 'ipc' || n.type === 'uts')).to.deep.equal([{ type: 'ipc' }, { type: 'uts' }]);
  });

  it('leaves out the cgroup namespace when asked', function () {
    expect(buildNamespaces({ ...POD, cgroup: false }).map((n) => n.type)).to.not.include('cgroup');
    expect(buildNamespaces({ ...POD, cgroup: true }).map((n) => n.type)).to.include('cgroup');
  });

  it('rejects relative paths and a target for anything but pid', function () {
    expect(isKind(thrown(() => buildNamespaces({ ...POD, network: { mode: 'pod', path: 'net' } })), 'InvalidArgument')).to.equal(true);
    expect(isKind(thrown(() => buildNamespaces({ ...POD, pid: { mode: 'target', path: '' } })), 'InvalidArgument')).to.equal(true);
    const ipcTarget = { ...POD, ipc: { mode: 'target', path: '/proc/1/ns/ipc' } } as unknown as NamespacesInput;
    expect(isKind(thrown(() => buildNamespaces(ipcTarget)), 'InvalidArgument')).to.equal(true);
    const weird = { ...POD, pid: { mode: 'sideways' } } as unknown as NamespacesInput;
    expect(isKind(thrown(() => buildNamespaces(weird)), 'InvalidArgument')).to.equal(true);
  });

  it('owns the UTS namespace only in container mode', function () {
    expect(ownsUts(POD)).to.equal(false);
    expect(ownsUts({ ...POD, uts: { mode: 'node' } })).to.equal(false);
    expect(ownsUts({ ...POD, uts: { mode: 'container' } })).to.equal(true);
  });
});
