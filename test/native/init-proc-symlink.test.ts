// skiff-init against an image whose /proc (or /sys) is a symlink. runc refuses such an image
// ("filesystem must be mounted on ordinary directory", GHSA-fh74-hm69-rqjw / CVE-2023-28642):
// the kernel's filesystem would land wherever the symlink points, while every later step that
// works on "/proc/..." after pivot_root (maskedPaths, readonlyPaths, the AppArmor exec attribute,
// oom_score_adj, cap_last_cap for the bounding set) follows the symlink to files the pod writes.
import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_HELPER_DIR } from '../../src/runtime/helper-exec.js';

const execFileP = promisify(execFile);
const bin = join(DEFAULT_HELPER_DIR, 'skiff-init');
const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'cat', 'grep', 'echo', 'touch', 'true'];

/** containerd's default set: CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE. */
const DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];
const DEFAULT_CAPS_MASK = '00000000a80425fb';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('skiff-init: an image whose /proc or /sys is a symlink', function () {
  this.timeout(60_000);
  let base: string;
  let n = 0;

  function rootfs(): string {
    const dir = join(base, `rootfs${++n}`);
    for (const d of ['bin', 'etc', 'tmp', 'dev']) mkdirSync(join(dir, d), { recursive: true });
    copyFileSync(BUSYBOX, join(dir, 'bin/busybox'));
    for (const a of APPLETS) symlinkSync('busybox', join(dir, 'bin', a));
    return dir;
  }

  /** A CRI container's mounts (the pod's /dev/shm a bind of `shm`), capabilities and paths. */
  function spec(root: string, shm: string, args: string[]): Record<string, unknown> {
    return {
      ociVersion: '1.1.0',
      root: { path: root },
      process: {
        user: { uid: 0, gid: 0 },
        args,
        env: ['PATH=/bin'],
        cwd: '/',
        capabilities: { bounding: DEFAULT_CAPS, effective: DEFAULT_CAPS, permitted: DEFAULT_CAPS },
        oomScoreAdj: 0,
        apparmorProfile: 'skiff-test-profile',
      },
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
        { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
        { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
        { destination: '/dev/shm', type: 'bind', source: shm, options: ['rbind', 'rprivate', 'rw'] },
      ],
      linux: {
        namespaces: [{ type: 'mount' }, { type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'network' }],
        maskedPaths: ['/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/scsi', '/sys/firmware'],
        readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
      },
    };
  }

  /** Runs skiff-init with an oom_score_adj of 500 (as if inherited from the daemon). */
  function run(s: Record<string, unknown>): Promise<Result> {
    const dir = join(base, `bundle${++n}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(s));
    const child = spawn('/bin/sh', ['-c', 'echo 500 > /proc/self/oom_score_adj && exec "$0" run --bundle "$1"', bin, dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new Promise((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error('skiff-init did not finish in 20 s'));
      }, 20_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  before(async function () {
    if (!existsSync(BUSYBOX) || !/statically linked/.test((await execFileP('file', ['-L', BUSYBOX])).stdout)) {
      this.skip(); // busybox-static (scripts/test.sh installs it)
    }
    base = await mkdtemp(join(tmpdir(), `skiff-init-proc-link-${process.pid}-`));
  });

  after(async function () {
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('refuses proc or sysfs on a destination that is a symlink in the image, as runc does', async function () {
    for (const dest of ['proc', 'sys']) {
      const root = rootfs();
      mkdirSync(join(root, 'elsewhere'));
      symlinkSync('/elsewhere', join(root, dest));
      const shm = join(base, `shm${++n}`);
      mkdirSync(shm);
      const s = spec(root, shm, ['true']);
      delete (s.process as Record<string, unknown>).apparmorProfile;
      const r = await run(s);
      expect(r.code, `/${dest} -> /elsewhere: the start must be refused; stderr: ${r.stderr}`).to.equal(3); // EXIT_REFUSED
      expect(r.stderr).to.match(new RegExp(`^\\[skiff-init:e\\] mount /${dest}[^\\n]*(symlink|ordinary directory)`));
    }
  });

  it('gives a container whose image points /proc into the pod\'s /dev/shm neither more capabilities nor an unmasked procfs', async function () {
    // The image: /proc -> /dev/shm/p, and its own /dev/shm/p -> /real. At the proc mount the
    // image's /dev is still there, so proc lands on /real; then the fresh /dev and the pod's
    // /dev/shm cover that link, and /proc now leads into /dev/shm/p, which another container of
    // the pod (or an init container) filled beforehand.
    const root = rootfs();
    mkdirSync(join(root, 'real'));
    mkdirSync(join(root, 'dev/shm'));
    symlinkSync('/real', join(root, 'dev/shm/p'));
    symlinkSync('/dev/shm/p', join(root, 'proc'));
    const shm = join(base, 'pod-shm');
    for (const d of ['p/sys/kernel', 'p/self/attr']) mkdirSync(join(shm, d), { recursive: true });
    writeFileSync(join(shm, 'p/sys/kernel/cap_last_cap'), '0\n');
    writeFileSync(join(shm, 'p/self/oom_score_adj'), '');
    writeFileSync(join(shm, 'p/self/attr/exec'), '');
    const probe = [
      'grep -E "^Cap(Bnd|Eff):" /real/self/status',
      'echo "oom_score_adj: $(cat /real/self/oom_score_adj)"',
      'touch /real/sys/kernel/domainname 2>/dev/null && echo "procfs /real/sys is writable"',
      'true',
    ].join('; ');
    const r = await run(spec(root, shm, ['sh', '-c', probe]));
    const report = `exit ${r.code}\nstdout:\n${r.stdout}stderr:\n${r.stderr}`;
    // Refusing the start is fine; running with any of these is not.
    for (const set of ['Bnd', 'Eff']) {
      const m = new RegExp(`^Cap${set}:\\s+([0-9a-f]+)$`, 'm').exec(r.stdout);
      if (m) expect(m[1], `Cap${set} of the container\n${report}`).to.equal(DEFAULT_CAPS_MASK);
    }
    expect(r.stdout, report).to.not.contain('procfs /real/sys is writable');
    expect(r.stdout, report).to.not.contain('oom_score_adj: 500');
    expect(readFileSync(join(shm, 'p/self/attr/exec'), 'utf8'), `the AppArmor profile went into the pod's /dev/shm\n${report}`).to.equal('');
    expect(readFileSync(join(shm, 'p/self/oom_score_adj'), 'utf8'), `oom_score_adj went into the pod's /dev/shm\n${report}`).to.equal('');
  });
});
