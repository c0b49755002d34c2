import { expect } from 'chai';
import { isKind } from '../../../src/core/errors.js';
import {
  ALL_CAPABILITIES,
  buildCapabilities,
  buildDevices,
  capabilityName,
  DEFAULT_CAPABILITIES,
  DEFAULT_DEVICE_RULES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_READONLY_PATHS,
  pathRestrictions,
} from '../../../src/oci/security.js';
import { thrown } from '../../support/thrown.js';

describe('oci/security', function () {
  describe('capabilities', function () {
    it('knows 41 capabilities, the default set of 14 among them', function () {
      expect(ALL_CAPABILITIES).to.have.length(41);
      expect(ALL_CAPABILITIES[21]).to.equal('CAP_SYS_ADMIN');
      expect(ALL_CAPABILITIES[40]).to.equal('CAP_CHECKPOINT_RESTORE');
      expect(DEFAULT_CAPABILITIES).to.have.length(14);
      for (const c of DEFAULT_CAPABILITIES) expect(ALL_CAPABILITIES).to.include(c);
    });

    it('gives the default set in bounding, effective and permitted', function () {
      const c = buildCapabilities(undefined, false);
      expect(c).to.deep.equal({ bounding: DEFAULT_CAPABILITIES, effective: DEFAULT_CAPABILITIES, permitted: DEFAULT_CAPABILITIES });
      expect(c.bounding).to.not.equal(c.effective);
    });

    it('adds and drops by CRI name, with or without CAP_, any case', function () {
      const c = buildCapabilities({ add: ['NET_ADMIN', 'cap_sys_time', 'CHOWN'], drop: ['MKNOD', 'cap_net_raw'] }, false);
      expect(c.bounding).to.include.members(['CAP_NET_ADMIN', 'CAP_SYS_TIME', 'CAP_CHOWN']);
      expect(c.bounding).to.not.include.members(['CAP_MKNOD']);
      expect(c.bounding).to.not.include('CAP_NET_RAW');
      expect(c.bounding.filter((x) => x === 'CAP_CHOWN')).to.have.length(1);
    });

    it('drops ALL, then adds back the named ones', function () {
      expect(buildCapabilities({ drop: ['ALL'], add: ['NET_BIND_SERVICE'] }, false).bounding).to.deep.equal(['CAP_NET_BIND_SERVICE']);
      expect(buildCapabilities({ drop: ['all'] }, false).effective).to.deep.equal([]);
    });

    it('adds ALL, then drops the named ones', function () {
      const c = buildCapabilities({ add: ['ALL'], drop: ['SYS_ADMIN'] }, false);
      expect(c.bounding).to.have.length(40);
      expect(c.bounding).to.not.include('CAP_SYS_ADMIN');
    });

    it('gives a privileged container every capability, whatever add/drop say', function () {
      expect(buildCapabilities({ drop: ['ALL'] }, true).bounding).to.deep.equal(ALL_CAPABILITIES);
    });

    it('sets ambient capabilities in every set', function () {
      const c = buildCapabilities({ drop: ['ALL'], addAmbient: ['NET_BIND_SERVICE'] }, false);
      expect(c).to.deep.equal({
        bounding: ['CAP_NET_BIND_SERVICE'],
        effective: ['CAP_NET_BIND_SERVICE'],
        permitted: ['CAP_NET_BIND_SERVICE'],
        inheritable: ['CAP_NET_BIND_SERVICE'],
        ambient: ['CAP_NET_BIND_SERVICE'],
      });
    });

    it('takes ALL and privileged to mean what the node has, and refuses a capability it lacks', function () {
      // A node like the 2-core VM: everything but CAP_SYS_RESOURCE in skiffd's bounding set.
      const node = ALL_CAPABILITIES.filter((c) => c !== 'CAP_SYS_RESOURCE');
      const all = buildCapabilities({ add: ['ALL'] }, false, node);
      expect(all.bounding).to.deep.equal(node);
      expect(all.effective).to.deep.equal(node);
      expect(buildCapabilities({ add: ['ALL'], drop: ['SYS_ADMIN'] }, false, node).permitted).to.deep.equal(node.filter((c) => c !== 'CAP_SYS_ADMIN'));
      expect(buildCapabilities(undefined, true, node).bounding).to.deep.equal(node);
      expect(buildCapabilities({ drop: ['ALL'], add: ['NET_ADMIN'] }, false, node).effective).to.deep.equal(['CAP_NET_ADMIN']);
      for (const caps of [{ add: ['SYS_RESOURCE'] }, { drop: ['ALL'], addAmbient: ['CAP_SYS_RESOURCE'] }]) {
        const e = thrown(() => buildCapabilities(caps, false, node));
        expect(isKind(e, 'FailedPrecondition')).to.equal(true);
        expect((e as Error).message).to.match(/^capabilities\.add_(ambient_)?capabilities: CAP_SYS_RESOURCE is not in this node's bounding set/);
      }
      // The defaults a node lacks are left out rather than failing every container.
      expect(buildCapabilities(undefined, false, node.filter((c) => c !== 'CAP_MKNOD')).bounding).to.not.include('CAP_MKNOD');
    });

    it('rejects unknown names', function () {
      expect(isKind(thrown(() => capabilityName('FLY')), 'InvalidArgument')).to.equal(true);
      expect(isKind(thrown(() => buildCapabilities({ add: ['CAP_FLY'] }, false)), 'InvalidArgument')).to.equal(true);
    });
  });

  describe('devices', function () {
    it("denies all devices, then allows runc's default list and the given ones", function () {
      const r = buildDevices({
        privileged: false,
        devices: [{ containerPath: '/dev/fuse', type: 'c', major: 10, minor: 229, permissions: 'rw', fileMode: 0o666, uid: 0, gid: 0 }],
      });
      expect(r.devices).to.deep.equal([{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }]);
      expect(r.rules).to.deep.equal([
        { allow: false, access: 'rwm' },
        ...DEFAULT_DEVICE_RULES,
        { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' },
      ]);
    });

    it('defaults permissions to rwm and allows everything for privileged', function () {
      expect(buildDevices({ privileged: false, devices: [{ containerPath: '/dev/x', type: 'b', major: 8, minor: 0 }] }).rules.at(-1)).to.deep.equal({
        allow: true,
        type: 'b',
        major: 8,
        minor: 0,
        access: 'rwm',
      });
      const p = buildDevices({ privileged: true, devices: [{ containerPath: '/dev/x', type: 'b', major: 8, minor: 0 }] });
      expect(p.rules).to.deep.equal([{ allow: true, access: 'rwm' }]);
      expect(p.devices).to.have.length(1);
    });

    it('rejects bad paths and permissions', function () {
      for (const d of [
        { containerPath: 'dev/x', type: 'c' as const, major: 1, minor: 1 },
        { containerPath: '/dev/../x', type: 'c' as const, major: 1, minor: 1 },
        { containerPath: '/dev/x', type: 'c' as const, major: 1, minor: 1, permissions: 'rx' },
        { containerPath: '/dev/x', type: 'c' as const, major: 1, minor: 1, permissions: 'rr' },
      ]) {
        expect(isKind(thrown(() => buildDevices({ privileged: false, devices: [d] })), 'InvalidArgument'), JSON.stringify(d)).to.equal(true);
      }
    });
  });

  describe('masked and read-only paths', function () {
    it("passes them through, uses containerd's defaults when none are given, and drops them for privileged", function () {
      const input = { maskedPaths: ['/proc/kcore'], readonlyPaths: ['/proc/sys'], privileged: false };
      expect(pathRestrictions(input)).to.deep.equal({ maskedPaths: ['/proc/kcore'], readonlyPaths: ['/proc/sys'] });
      expect(pathRestrictions({ ...input, privileged: true })).to.deep.equal({});
      expect(pathRestrictions({ privileged: false, maskedPaths: [] })).to.deep.equal({
        maskedPaths: [...DEFAULT_MASKED_PATHS],
        readonlyPaths: [...DEFAULT_READONLY_PATHS],
      });
      expect(isKind(thrown(() => pathRestrictions({ privileged: false, maskedPaths: ['proc'] })), 'InvalidArgument')).to.equal(true);
    });
  });
});
