// A container's root can plant a setuid-root binary or a world-readable secret in its writable
// layer or its pod's /dev/shm. No path Skiff created may lead an unprivileged host user to them
// (containerd CVE-2021-41103, moby CVE-2021-41091): the dirs on the way are root's alone.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContainerConfig, PodSandboxConfig, type DeepPartial } from '../../src/generated/runtime/v1/api.js';
import { call, TestDaemon } from '../support/daemon.js';
import { startBusyboxDaemon, type BusyboxDaemon } from '../support/busybox-daemon.js';

const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];

/**
 * Runs argv as an unprivileged user (nobody, or another uid/gid given in `ids`). Through a shell:
 * setpriv keeps its capabilities until its own execve, so a path it execs directly is looked up
 * with root's power.
 */
function asUser(argv: string[], ids = NOBODY): { status: number | null; out: string } {
  const r = spawnSync('setpriv', [...ids, '--', '/bin/busybox', 'sh', '-c', 'exec "$0" "$@"', ...argv], { encoding: 'utf8', timeout: 10_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

const modeOf = (p: string) => (statSync(p).mode & 0o7777).toString(8);

describe('nothing Skiff stores is reachable by an unprivileged host user', function () {
  this.timeout(90_000);

  describe('files a container plants', function () {
    let bd: BusyboxDaemon | undefined;
    let d: TestDaemon;
    let logDir: string;
    let podId: string;
    let containerId: string;

    before(async function () {
      bd = await startBusyboxDaemon();
      d = bd.d;
      // mkdtemp made the test's own dir 0700: open it up, so only Skiff's modes stand in the way.
      chmodSync(d.dir, 0o755);
      logDir = mkdtempSync(join(tmpdir(), 'skiff-logs-'));
      const podConfig = PodSandboxConfig.fromPartial({
        metadata: { name: 'planter', namespace: 'default', uid: `uid-planter-${process.pid}`, attempt: 0 },
        logDirectory: logDir,
      });
      podId = (await call<object, { podSandboxId: string }>(d.runtime, 'runPodSandbox', { config: podConfig, runtimeHandler: '' })).podSandboxId;
      const plant = [
        'cp /bin/busybox /suid-bb && chmod 4755 /suid-bb',
        'echo secret > /secret && chmod 644 /secret',
        'echo shm-secret > /dev/shm/secret && chmod 644 /dev/shm/secret',
        'touch /planted',
        'exec sleep 3600',
      ].join(' && ');
      const config = ContainerConfig.fromPartial<DeepPartial<ContainerConfig>>({
        metadata: { name: 'planter', attempt: 0 },
        image: { image: bd.image },
        command: ['/bin/sh', '-c', plant],
        logPath: 'planter.log',
      });
      containerId = (await call<object, { containerId: string }>(d.runtime, 'createContainer', { podSandboxId: podId, config, sandboxConfig: podConfig })).containerId;
      await call(d.runtime, 'startContainer', { containerId });
      const done = join(d.root, 'writable', containerId, 'upper', 'planted');
      for (let i = 0; i < 200 && !existsSync(done); i++) await sleep(25);
      expect(existsSync(done), 'the container planted its files').to.equal(true);
    });
    after(async function () {
      await bd?.close();
      if (logDir) rmSync(logDir, { recursive: true, force: true });
    });

    it('keeps the writable layer and the rootfs mount point out of reach: no stat, no read, no setuid exec', function () {
      const places = {
        'writable layer': join(d.root, 'writable', containerId, 'upper'),
        'rootfs mount point': join(d.state, 'containers', containerId, 'bundle', 'rootfs'),
      };
      for (const [what, dir] of Object.entries(places)) {
        // As root the planted files are there, setuid and all: the refusals below are real.
        expect(modeOf(join(dir, 'suid-bb')), what).to.equal('4755');
        expect(modeOf(join(dir, 'secret')), what).to.equal('644');
        for (const argv of [
          ['/bin/busybox', 'stat', '-c', '%a', join(dir, 'suid-bb')],
          ['/bin/busybox', 'cat', join(dir, 'secret')],
          [join(dir, 'suid-bb'), 'id', '-u'],
        ]) {
          const r = asUser(argv);
          expect(r.status, `${what}: ${argv.join(' ')} → ${r.out}`).to.not.equal(0);
          expect(r.out, `${what}: ${argv.join(' ')}`).to.match(/Permission denied/);
        }
      }
    });

    it("keeps the pod's /dev/shm out of reach", function () {
      const file = join(d.state, 'sandboxes', podId, 'shm', 'secret');
      expect(modeOf(file)).to.equal('644');
      const r = asUser(['/bin/busybox', 'cat', file]);
      expect(r.status, r.out).to.not.equal(0);
      expect(r.out).to.match(/Permission denied/);
    });

    it('still lets a non-root client the socket admits (group root) connect through the state dir', function () {
      const probe = `require('net').connect(${JSON.stringify(d.socket)}).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(1); })`;
      expect(asUser([process.execPath, '-e', probe], ['--reuid=65534', '--regid=0', '--clear-groups']).out).to.equal('connected');
      expect(asUser([process.execPath, '-e', probe]).out).to.equal('EACCES');
    });
  });

  it('tightens the dirs an earlier version left looser, at start-up', async function () {
    const d = await TestDaemon.create();
    try {
      const loose = ['root', 'root/writable', 'root/layers', 'root/content', 'state', 'state/containers', 'state/sandboxes', 'state/ns'];
      for (const rel of loose) {
        mkdirSync(join(d.dir, rel), { recursive: true });
        chmodSync(join(d.dir, rel), 0o755);
      }
      await d.start();
      const modes = Object.fromEntries(loose.map((rel) => [rel, modeOf(join(d.dir, rel))]));
      expect(modes).to.deep.equal({
        root: '700',
        'root/writable': '700',
        'root/layers': '700',
        'root/content': '700',
        state: '711',
        'state/containers': '700',
        'state/sandboxes': '700',
        'state/ns': '700',
      });
      expect(d.log).to.match(/tightened the mode of a Skiff directory/);
    } finally {
      await d.cleanup();
    }
  });
});
