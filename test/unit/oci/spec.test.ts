import { expect } from 'chai';
import { isKind } from '../../../src/core/errors.js';
import { DEFAULT_PATH } from '../../../src/oci/process.js';
import { DEFAULT_CAPABILITIES } from '../../../src/oci/security.js';
import { buildSpec, criAnnotations, stopSignal } from '../../../src/oci/spec.js';
import type { ContainerSpecInput } from '../../../src/oci/types.js';
import { thrown } from '../../support/thrown.js';
import { DEFAULT_DEVICE_RULES, DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from '../../../src/oci/security.js';

const NS = '/run/skiff/ns/p';

function input(over: Partial<ContainerSpecInput> = {}): ContainerSpecInput {
  return {
    image: {
      user: '',
      env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'LANG=C.UTF-8'],
      entrypoint: ['/docker-entrypoint.sh'],
      cmd: ['nginx', '-g', 'daemon off;'],
      workingDir: '',
      stopSignal: 'SIGQUIT',
    },
    command: [],
    args: [],
    env: [['MODE', 'test']],
    workingDir: '',
    tty: false,
    etcPasswd: 'root:x:0:0:root:/root:/bin/sh\nnginx:x:101:101:nginx:/var/cache/nginx:/sbin/nologin\n',
    etcGroup: 'root:x:0:\nnginx:x:101:nginx\n',
    privileged: false,
    readonlyRootfs: false,
    noNewPrivileges: false,
    hostname: 'web-0',
    namespaces: {
      network: { mode: 'pod', path: `${NS}/net` },
      ipc: { mode: 'pod', path: `${NS}/ipc` },
      uts: { mode: 'pod', path: `${NS}/uts` },
      pid: { mode: 'container' },
    },
    podFilesDir: '/run/skiff/sandboxes/p',
    shmPath: '/run/skiff/sandboxes/p/shm',
    mounts: [],
    cgroupsPath: '/kubepods/besteffort/podU/cid',
    meta: {
      sandboxId: 'p'.repeat(64),
      containerName: 'web',
      sandboxName: 'web-0',
      sandboxNamespace: 'default',
      sandboxUid: 'uid-1',
      imageName: 'docker.io/library/nginx:latest',
    },
    ...over,
  };
}

describe('oci/spec', function () {
  it('builds a whole spec for a plain pod container', function () {
    const s = buildSpec(input());
    expect(s.ociVersion).to.equal('1.1.0');
    expect(s.root).to.deep.equal({ path: 'rootfs', readonly: false });
    expect(s.hostname).to.equal(undefined);
    expect(s.process).to.deep.equal({
      terminal: false,
      user: { uid: 0, gid: 0, additionalGids: [0] },
      args: ['/docker-entrypoint.sh', 'nginx', '-g', 'daemon off;'],
      env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'HOSTNAME=web-0', 'LANG=C.UTF-8', 'MODE=test', 'HOME=/root'],
      cwd: '/',
      capabilities: { bounding: DEFAULT_CAPABILITIES, effective: DEFAULT_CAPABILITIES, permitted: DEFAULT_CAPABILITIES },
      noNewPrivileges: false,
      // Not inherited from the daemon when the CRI gives none.
      oomScoreAdj: 0,
    });
    expect(s.linux).to.deep.equal({
      namespaces: [
        { type: 'pid' },
        { type: 'network', path: `${NS}/net` },
        { type: 'ipc', path: `${NS}/ipc` },
        { type: 'uts', path: `${NS}/uts` },
        { type: 'mount' },
        { type: 'cgroup' },
      ],
      cgroupsPath: '/kubepods/besteffort/podU/cid',
      resources: { devices: [{ allow: false, access: 'rwm' }, ...DEFAULT_DEVICE_RULES] },
      // The CRI named none: containerd's defaults.
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
    });
    expect(s.mounts.map((m) => m.destination)).to.deep.equal([
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
    expect(s.annotations).to.deep.equal({
      'io.kubernetes.cri.container-type': 'container',
      'io.kubernetes.cri.sandbox-id': 'p'.repeat(64),
      'io.kubernetes.cri.sandbox-name': 'web-0',
      'io.kubernetes.cri.sandbox-namespace': 'default',
      'io.kubernetes.cri.sandbox-uid': 'uid-1',
      'io.kubernetes.cri.container-name': 'web',
      'io.kubernetes.cri.image-name': 'docker.io/library/nginx:latest',
    });
    // config.json is JSON: nothing undefined or bigint inside.
    expect(JSON.parse(JSON.stringify(s))).to.deep.equal(s);
  });

  it('runs as the image user, resolved in the container\'s files', function () {
    const s = buildSpec(input({ image: { ...input().image, user: 'nginx' } }));
    expect(s.process.user).to.deep.equal({ uid: 101, gid: 101, additionalGids: [101] });
    expect(s.process.env).to.include('HOME=/var/cache/nginx');
  });

  it('fails with InvalidArgument for an unknown user name', function () {
    const e = thrown(() => buildSpec(input({ runAsUsername: 'ghost' })));
    expect(isKind(e, 'InvalidArgument')).to.equal(true);
    expect((e as Error).message).to.equal('user ghost not found in /etc/passwd');
  });

  it('uses the CRI command, args, working dir, tty and read-only rootfs', function () {
    const s = buildSpec(
      input({ command: ['/bin/sh'], args: ['-c', 'sleep 1'], workingDir: '/work', tty: true, readonlyRootfs: true, noNewPrivileges: true }),
    );
    expect(s.process.args).to.deep.equal(['/bin/sh', '-c', 'sleep 1']);
    expect(s.process.cwd).to.equal('/work');
    expect(s.process.terminal).to.equal(true);
    expect(s.process.env.slice(0, 3)).to.deep.equal(['PATH=/usr/local/bin:/usr/bin:/bin', 'TERM=xterm', 'HOSTNAME=web-0']);
    expect(s.process.noNewPrivileges).to.equal(true);
    expect(s.root.readonly).to.equal(true);
    expect(s.mounts.find((m) => m.destination === '/etc/hosts')!.options).to.include('ro');
  });

  it('fails with InvalidArgument when there is no command', function () {
    const e = thrown(() => buildSpec(input({ image: { ...input().image, entrypoint: [], cmd: [] } })));
    expect(isKind(e, 'InvalidArgument')).to.equal(true);
  });

  it('sets the hostname only when the container owns its UTS namespace', function () {
    expect(buildSpec(input({ namespaces: { ...input().namespaces, uts: { mode: 'container' } } })).hostname).to.equal('web-0');
    expect(buildSpec(input({ namespaces: { ...input().namespaces, uts: { mode: 'node' } } })).hostname).to.equal(undefined);
  });

  it('sets the default PATH when the image has none', function () {
    const s = buildSpec(input({ image: { ...input().image, env: [] } }));
    expect(s.process.env[0]).to.equal(`PATH=${DEFAULT_PATH}`);
  });

  it('carries resources, oom_score_adj, devices, masked paths and rootfs propagation', function () {
    const s = buildSpec(
      input({
        resources: { cpuShares: 256, memoryLimitBytes: 64 << 20, oomScoreAdj: 1000 },
        devices: [{ containerPath: '/dev/fuse', type: 'c', major: 10, minor: 229 }],
        maskedPaths: ['/proc/kcore'],
        readonlyPaths: ['/proc/sys'],
        mounts: [{ containerPath: '/data', hostPath: '/srv', readonly: false, propagation: 'rslave' }],
      }),
    );
    expect(s.process.oomScoreAdj).to.equal(1000);
    expect(s.linux.resources).to.deep.equal({
      cpu: { shares: 256 },
      memory: { limit: 64 << 20 },
      devices: [
        { allow: false, access: 'rwm' },
        ...DEFAULT_DEVICE_RULES,
        { allow: true, type: 'c', major: 10, minor: 229, access: 'rwm' },
      ],
    });
    expect(s.linux.devices).to.deep.equal([{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }]);
    expect(s.linux.maskedPaths).to.deep.equal(['/proc/kcore']);
    expect(s.linux.readonlyPaths).to.deep.equal(['/proc/sys']);
    expect(s.linux.rootfsPropagation).to.equal('rslave');
  });

  it('gives a privileged container all capabilities and devices, no masked paths, rw /sys', function () {
    const s = buildSpec(input({ privileged: true, maskedPaths: ['/proc/kcore'], readonlyPaths: ['/proc/sys'] }));
    expect(s.process.capabilities!.bounding).to.include('CAP_SYS_ADMIN');
    expect(s.linux.resources!.devices).to.deep.equal([{ allow: true, access: 'rwm' }]);
    expect(s.linux.maskedPaths).to.equal(undefined);
    expect(s.linux.readonlyPaths).to.equal(undefined);
    expect(s.mounts.find((m) => m.destination === '/sys')!.options).to.include('rw');
  });

  it('requires a cgroup path', function () {
    expect(isKind(thrown(() => buildSpec(input({ cgroupsPath: '' }))), 'InvalidArgument')).to.equal(true);
  });

  it('leaves optional annotations out', function () {
    expect(criAnnotations({ sandboxId: 's', containerName: 'c' })).to.deep.equal({
      'io.kubernetes.cri.container-type': 'container',
      'io.kubernetes.cri.sandbox-id': 's',
      'io.kubernetes.cri.container-name': 'c',
    });
  });

  describe('stopSignal', function () {
    const img = (stopSignal: string) => ({ image: { stopSignal } });

    it('takes the CRI signal first', function () {
      expect(stopSignal({ stopSignal: 'SIGINT', ...img('SIGQUIT') })).to.deep.equal({ name: 'SIGINT', number: 2 });
      expect(stopSignal({ stopSignal: 'SIGNAL_SIGUSR1', ...img('') })).to.deep.equal({ name: 'SIGUSR1', number: 10 });
    });

    it('falls back to the image STOPSIGNAL (name or number), then SIGTERM', function () {
      expect(stopSignal({ ...img('SIGQUIT') })).to.deep.equal({ name: 'SIGQUIT', number: 3 });
      expect(stopSignal({ stopSignal: '', ...img('9') })).to.deep.equal({ name: 'SIGKILL', number: 9 });
      expect(stopSignal({ stopSignal: 'SIGNAL_RUNTIME_DEFAULT', ...img('SIGRTMIN+3') })).to.deep.equal({ name: 'SIGRTMIN+3', number: 37 });
      expect(stopSignal({ ...img('') })).to.deep.equal({ name: 'SIGTERM', number: 15 });
    });

    it('is InvalidArgument for an unknown signal, saying where it came from', function () {
      const a = thrown(() => stopSignal({ stopSignal: 'SIGNOPE', ...img('') }));
      expect(isKind(a, 'InvalidArgument')).to.equal(true);
      expect((a as Error).message).to.match(/^stop signal: unknown signal/);
      const b = thrown(() => stopSignal({ ...img('SIGNOPE') }));
      expect(isKind(b, 'InvalidArgument')).to.equal(true);
      expect((b as Error).message).to.match(/^the image's STOPSIGNAL/);
    });
  });
});
