import { expect } from 'chai';
import { isKind } from '../../../src/core/errors.js';
import { buildMounts, checkProcDestination, cleanContainerPath, DEFAULT_MOUNTS } from '../../../src/oci/mounts.js';
import type { MountInput } from '../../../src/oci/types.js';
import { thrown } from '../../support/thrown.js';

const POD = { podFilesDir: '/run/skiff/sandboxes/abc', shmPath: '/run/skiff/sandboxes/abc/shm', readonlyRootfs: false, privileged: false };
const build = (mounts: MountInput[], extra: Partial<typeof POD> = {}) => buildMounts({ ...POD, ...extra, mounts });
const dests = (r: ReturnType<typeof buildMounts>) => r.mounts.map((m) => m.destination);

describe('oci/mounts', function () {
  it('gives the defaults, then the pod files and /dev/shm, with no CRI mounts', function () {
    const r = build([]);
    expect(dests(r)).to.deep.equal([
      '/proc',
      '/dev',
      '/dev/pts',
      '/dev/mqueue',
      '/sys',
      '/sys/fs/cgroup',
      '/etc/hostname',
      '/etc/hosts',
      '/etc/resolv.conf',
      '/dev/shm',
    ]);
    expect(r.rootfsPropagation).to.equal(undefined);
    expect(r.mounts[0]).to.deep.equal({ destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] });
    expect(r.mounts[1]!.options).to.deep.equal(['nosuid', 'strictatime', 'mode=755', 'size=65536k']);
    expect(r.mounts[2]!.options).to.deep.equal(['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']);
    expect(r.mounts[4]!.options).to.include('ro');
    expect(r.mounts[5]).to.deep.equal({
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
    });
    expect(r.mounts.slice(6)).to.deep.equal([
      { destination: '/etc/hostname', type: 'bind', source: '/run/skiff/sandboxes/abc/hostname', options: ['rbind', 'rprivate', 'rw'] },
      { destination: '/etc/hosts', type: 'bind', source: '/run/skiff/sandboxes/abc/hosts', options: ['rbind', 'rprivate', 'rw'] },
      { destination: '/etc/resolv.conf', type: 'bind', source: '/run/skiff/sandboxes/abc/resolv.conf', options: ['rbind', 'rprivate', 'rw'] },
      { destination: '/dev/shm', type: 'bind', source: '/run/skiff/sandboxes/abc/shm', options: ['rbind', 'rprivate', 'rw'] },
    ]);
  });

  it('does not share the default mount objects between calls', function () {
    const r = build([]);
    r.mounts[0]!.options.push('x');
    expect(DEFAULT_MOUNTS[0]!.options).to.not.include('x');
  });

  it('binds the host /dev/shm for a node-IPC pod', function () {
    const r = build([], { shmPath: '/dev/shm' });
    expect(r.mounts.find((m) => m.destination === '/dev/shm')!.source).to.equal('/dev/shm');
  });

  it('makes the pod files read-only with a read-only rootfs, never /dev/shm', function () {
    const r = build([], { readonlyRootfs: true });
    const opts = Object.fromEntries(r.mounts.filter((m) => m.type === 'bind').map((m) => [m.destination, m.options]));
    expect(opts['/etc/hosts']).to.deep.equal(['rbind', 'rprivate', 'ro']);
    expect(opts['/etc/hostname']).to.deep.equal(['rbind', 'rprivate', 'ro']);
    expect(opts['/etc/resolv.conf']).to.deep.equal(['rbind', 'rprivate', 'ro']);
    expect(opts['/dev/shm']).to.deep.equal(['rbind', 'rprivate', 'rw']);
  });

  it('maps read-only and propagation of CRI mounts', function () {
    const r = build([
      { containerPath: '/data', hostPath: '/srv/data', readonly: true },
      { containerPath: '/priv', hostPath: '/srv/p', readonly: false, propagation: 'private' },
      { containerPath: '/slave', hostPath: '/srv/s', readonly: false, propagation: 'rslave' },
    ]);
    const binds = r.mounts.filter((m) => m.type === 'bind');
    expect(binds.slice(0, 3)).to.deep.equal([
      { destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'rprivate', 'ro'] },
      { destination: '/priv', type: 'bind', source: '/srv/p', options: ['rbind', 'rprivate', 'rw'] },
      { destination: '/slave', type: 'bind', source: '/srv/s', options: ['rbind', 'rslave', 'rw'] },
    ]);
    expect(r.rootfsPropagation).to.equal('rslave');
  });

  it('sets rootfs propagation rshared when any mount is rshared, whatever the order', function () {
    for (const order of [
      ['rshared', 'rslave'],
      ['rslave', 'rshared'],
    ] as const) {
      const r = build(order.map((p, i) => ({ containerPath: `/m${i}`, hostPath: `/h${i}`, readonly: false, propagation: p })));
      expect(r.rootfsPropagation, order.join()).to.equal('rshared');
      expect(r.mounts.find((m) => m.destination === `/m${order.indexOf('rshared')}`)!.options).to.deep.equal(['rbind', 'rshared', 'rw']);
    }
  });

  it('sorts binds by depth, stably, CRI mounts before the pod files of the same depth', function () {
    const r = build([
      { containerPath: '/a/b/c', hostPath: '/h/abc', readonly: false },
      { containerPath: '/var/log', hostPath: '/h/log', readonly: false },
      { containerPath: '/a', hostPath: '/h/a', readonly: false },
      { containerPath: '/a/b', hostPath: '/h/ab', readonly: false },
      { containerPath: '/b', hostPath: '/h/b', readonly: false },
    ]);
    expect(dests(r).slice(6)).to.deep.equal([
      '/a',
      '/b',
      '/var/log',
      '/a/b',
      '/etc/hostname',
      '/etc/hosts',
      '/etc/resolv.conf',
      '/dev/shm',
      '/a/b/c',
    ]);
  });

  it('lets a CRI mount replace a pod file (kubelet\'s own /etc/hosts)', function () {
    const r = build([{ containerPath: '/etc/hosts', hostPath: '/var/lib/kubelet/pods/x/etc-hosts', readonly: false }]);
    const hosts = r.mounts.filter((m) => m.destination === '/etc/hosts');
    expect(hosts).to.have.length(1);
    expect(hosts[0]!.source).to.equal('/var/lib/kubelet/pods/x/etc-hosts');
    expect(dests(r).slice(6)).to.deep.equal(['/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/dev/shm']);
  });

  it('lets a CRI mount replace /dev/shm and a default mount', function () {
    const r = build([
      { containerPath: '/dev/shm/', hostPath: '/big/shm', readonly: false },
      { containerPath: '/sys/fs/cgroup', hostPath: '/sys/fs/cgroup', readonly: true },
    ]);
    expect(r.mounts.filter((m) => m.destination === '/dev/shm')).to.deep.equal([
      { destination: '/dev/shm', type: 'bind', source: '/big/shm', options: ['rbind', 'rprivate', 'rw'] },
    ]);
    expect(r.mounts.filter((m) => m.destination === '/sys/fs/cgroup').map((m) => m.type)).to.deep.equal(['bind']);
    expect(dests(r).slice(0, 5)).to.deep.equal(['/proc', '/dev', '/dev/pts', '/dev/mqueue', '/sys']);
  });

  it('drops every default below /dev when a CRI mount replaces /dev', function () {
    const r = build([{ containerPath: '/dev', hostPath: '/dev', readonly: false }]);
    expect(dests(r)).to.deep.equal([
      '/proc',
      '/sys',
      '/sys/fs/cgroup',
      '/dev',
      '/etc/hostname',
      '/etc/hosts',
      '/etc/resolv.conf',
      '/dev/shm',
    ]);
  });

  it('makes /sys and /sys/fs/cgroup writable for a privileged container', function () {
    const r = build([], { privileged: true });
    expect(r.mounts.find((m) => m.destination === '/sys')!.options).to.deep.equal(['nosuid', 'noexec', 'nodev', 'rw']);
    expect(r.mounts.find((m) => m.destination === '/sys/fs/cgroup')!.options).to.deep.equal(['nosuid', 'noexec', 'nodev', 'relatime', 'rw']);
  });

  describe('validation', function () {
    it('cleans container paths', function () {
      expect(cleanContainerPath('/a//b/./c/')).to.equal('/a/b/c');
      expect(cleanContainerPath('/data')).to.equal('/data');
    });

    const bad: [string, MountInput][] = [
      ['relative container path', { containerPath: 'data', hostPath: '/h', readonly: false }],
      ['empty container path', { containerPath: '', hostPath: '/h', readonly: false }],
      ['".." in the container path', { containerPath: '/a/../etc', hostPath: '/h', readonly: false }],
      ['trailing ".."', { containerPath: '/a/..', hostPath: '/h', readonly: false }],
      ['a mount over /', { containerPath: '/', hostPath: '/h', readonly: false }],
      ['a mount over / spelled //', { containerPath: '//.', hostPath: '/h', readonly: false }],
      ['relative host path', { containerPath: '/d', hostPath: 'h', readonly: false }],
      ['empty host path', { containerPath: '/d', hostPath: '', readonly: false }],
      ['unknown propagation', { containerPath: '/d', hostPath: '/h', readonly: false, propagation: 'shared' as never }],
    ];
    for (const [name, m] of bad) {
      it(`rejects ${name}`, function () {
        expect(isKind(thrown(() => build([m])), 'InvalidArgument')).to.equal(true);
      });
    }

    it('accepts names with dots that are not ".."', function () {
      expect(dests(build([{ containerPath: '/a/..b/.c', hostPath: '/h', readonly: false }]))).to.include('/a/..b/.c');
    });

    it('rejects two CRI mounts at one path', function () {
      const e = thrown(() =>
        build([
          { containerPath: '/d', hostPath: '/h1', readonly: false },
          { containerPath: '/d/', hostPath: '/h2', readonly: false },
        ]),
      );
      expect(isKind(e, 'InvalidArgument')).to.equal(true);
    });
  });

  it('refuses a CRI mount at or inside /proc, naming it, but for runc\'s exceptions', function () {
    const at = (containerPath: string) => ({ containerPath, hostPath: '/srv/x', readonly: false });
    // /proc/net/dev too: /proc/net is a symlink into /proc/self, and skiff-init refuses where it leads.
    for (const p of ['/proc', '/proc/', '/proc/sys', '/proc/sys/kernel/core_pattern', '/proc/self/attr/exec', '/proc/1/root', '/proc/net', '/proc/net/dev']) {
      const e = thrown(() => build([at(p)]));
      expect(isKind(e, 'InvalidArgument'), p).to.equal(true);
      expect((e as Error).message, p).to.match(new RegExp(`^mount ${p.replace(/\/$/, '')}: a mount (over|inside) /proc is refused`));
    }
    for (const p of ['/proc/cpuinfo', '/proc/meminfo', '/proc/uptime', '/proc/sys/kernel/ns_last_pid', '/procfs', '/host/proc/sys']) {
      expect(dests(build([at(p)])), p).to.include(p);
    }
  });

  it('names where a symlink sent the mount when the resolved path is refused', function () {
    const e = thrown(() => checkProcDestination('/proc/sys', '/etc/sysctl'));
    expect(isKind(e, 'InvalidArgument')).to.equal(true);
    expect((e as Error).message).to.match(/^mount \/etc\/sysctl \(it resolves to \/proc\/sys in the image\): a mount inside \/proc is refused; only \/proc\/cpuinfo, /);
    expect(() => checkProcDestination('/proc/cpuinfo', '/etc/cpu')).to.not.throw();
  });
});
