// skiff-init never trusts what sits at /proc in the container for its own settings: the bounding
// set is cut to the kernel's last capability (asked of the kernel, not read from
// /proc/sys/kernel/cap_last_cap), and oom_score_adj and the AppArmor exec attribute are written
// only through a /proc that is the root of a procfs, onto files on that procfs (runc's
// CVE-2019-16884 fix). The cases: an image whose /proc is a plain directory of fake files (the
// spec mounts proc elsewhere), and a running container that covered /proc with a tmpfs of fake
// files (it had CAP_SYS_ADMIN) before an exec.
import { expect } from 'chai';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_HELPER_DIR } from '../../src/runtime/helper-exec.js';

const execFileP = promisify(execFile);
const bin = join(DEFAULT_HELPER_DIR, 'skiff-init');
const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'cat', 'grep', 'echo', 'mkdir', 'mount', 'sleep', 'true'];
/** skiff-init's exit status for a policy refusal (native-helpers/README.md). */
const EXIT_REFUSED = 3;

/** containerd's default set, and its mask in /proc/PID/status. */
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

type Spec = Record<string, unknown> & { process: Record<string, unknown>; mounts: Record<string, unknown>[] };

describe('skiff-init: its own settings go to the kernel, not to files at /proc', function () {
  this.timeout(60_000);
  let base: string;
  let n = 0;
  const running: ChildProcess[] = [];

  /** A busybox rootfs whose /proc is a plain directory of fake files (cap_last_cap "0"). */
  function fakeProcRootfs(): string {
    const dir = join(base, `rootfs${++n}`);
    for (const d of ['bin', 'dev', 'kproc', 'proc/sys/kernel', 'proc/self/attr']) mkdirSync(join(dir, d), { recursive: true });
    copyFileSync(BUSYBOX, join(dir, 'bin/busybox'));
    for (const a of APPLETS) symlinkSync('busybox', join(dir, 'bin', a));
    writeFileSync(join(dir, 'proc/sys/kernel/cap_last_cap'), '0\n');
    writeFileSync(join(dir, 'proc/self/oom_score_adj'), '');
    writeFileSync(join(dir, 'proc/self/attr/exec'), '');
    return dir;
  }

  /** The real proc at /kproc only; the image's /proc stays what it is. */
  function spec(root: string, args: string[]): Spec {
    return {
      ociVersion: '1.1.0',
      root: { path: root },
      process: {
        user: { uid: 0, gid: 0 },
        args,
        env: ['PATH=/bin'],
        cwd: '/',
        capabilities: { bounding: DEFAULT_CAPS, effective: DEFAULT_CAPS, permitted: DEFAULT_CAPS },
      },
      mounts: [{ destination: '/kproc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] }],
      linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'network' }] },
    };
  }

  function bundle(s: Spec): string {
    const dir = join(base, `bundle${++n}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(s));
    return dir;
  }

  function finish(child: ChildProcess): Promise<Result> {
    running.push(child);
    return new Promise((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer = setTimeout(() => reject(new Error('skiff-init did not finish in 20 s')), 20_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** skiff-init with an oom_score_adj of 500, as if inherited from the daemon. */
  function init(args: string[]): Promise<Result> {
    return finish(spawn('/bin/sh', ['-c', 'echo 500 > /proc/self/oom_score_adj && exec "$@"', 'sh', bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  /** `exec --pid PID` options (with --start-time where this skiff-init asks for it). */
  let execPid: (pid: number) => string[];

  before(async function () {
    if (!existsSync(BUSYBOX) || !/statically linked/.test((await execFileP('file', ['-L', BUSYBOX])).stdout)) {
      this.skip(); // busybox-static (scripts/test.sh installs it)
    }
    base = await mkdtemp(join(tmpdir(), `skiff-init-procfs-${process.pid}-`));
    const usage = await finish(spawn(bin, ['exec'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    execPid = usage.stderr.includes('--start-time')
      ? (pid) => ['--pid', String(pid), '--start-time', readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[19] ?? '']
      : (pid) => ['--pid', String(pid)];
  });

  afterEach(function () {
    for (const c of running.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  after(async function () {
    if (base) await rm(base, { recursive: true, force: true });
  });

  describe('run', function () {
    it('cuts the bounding set to the kernel\'s capabilities, whatever /proc/sys/kernel/cap_last_cap says', async function () {
      const r = await init(['run', '--bundle', bundle(spec(fakeProcRootfs(), ['grep', '^CapBnd:', '/kproc/self/status']))]);
      expect(r.stderr).to.equal('');
      expect(r.code).to.equal(0);
      expect(r.stdout).to.equal(`CapBnd:\t${DEFAULT_CAPS_MASK}\n`);
    });

    it('refuses to write oom_score_adj or the AppArmor profile where /proc is not a procfs', async function () {
      for (const [what, set, file] of [
        ['oom_score_adj', (s: Spec) => (s.process.oomScoreAdj = 0), 'proc/self/oom_score_adj'],
        ['AppArmor profile', (s: Spec) => (s.process.apparmorProfile = 'skiff-test-profile'), 'proc/self/attr/exec'],
      ] as const) {
        const root = fakeProcRootfs();
        const s = spec(root, ['echo', 'ran']);
        set(s);
        const r = await init(['run', '--bundle', bundle(s)]);
        expect(r.stdout, what).to.equal('');
        expect(r.code, `${what}: ${r.stderr}`).to.equal(EXIT_REFUSED);
        expect(r.stderr, what).to.match(/^\[skiff-init:e\] set [^\n]*: \/proc is not the container's procfs[^\n]*\n$/);
        expect(readFileSync(join(root, file), 'utf8'), what).to.equal('');
      }
    });
  });

  describe('exec', function () {
    /** A container that had CAP_SYS_ADMIN and covered /proc with a tmpfs of fake files. */
    async function coveredProc(): Promise<{ pid: number; root: string }> {
      const root = fakeProcRootfs();
      const s = spec(root, [
        'sh',
        '-c',
        'mount -t tmpfs none /proc && mkdir -p /proc/sys/kernel /proc/self/attr && echo 0 > /proc/sys/kernel/cap_last_cap && ' +
          ': > /proc/self/oom_score_adj && : > /proc/self/attr/exec && echo ready && exec sleep 30',
      ]);
      delete s.process.capabilities; // root with every capability
      s.mounts.unshift({ destination: '/proc', type: 'proc', source: 'proc', options: [] });
      const child = spawn(bin, ['run', '--bundle', bundle(s)], { stdio: ['ignore', 'pipe', 'pipe'] });
      running.push(child);
      await new Promise<void>((resolve, reject) => {
        let out = '';
        let err = '';
        child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          if (out.includes('ready\n')) resolve();
        });
        child.on('close', (code) => reject(new Error(`the container ended (${code}) before it was ready: ${err}`)));
      });
      return { pid: child.pid ?? 0, root };
    }

    it('cuts the bounding set to the kernel\'s capabilities, and refuses oom_score_adj, under a /proc the container covered', async function () {
      const { pid } = await coveredProc();
      const asRoot = ['--cwd', '/', '--uid', '0', '--gid', '0'];
      const confined = spec('/unused', ['true']);
      const caps = await init(['exec', ...execPid(pid), '--bundle', bundle(confined), ...asRoot, '--', 'grep', '^CapBnd:', '/kproc/self/status']);
      expect(caps.stderr).to.equal('');
      expect(caps.code).to.equal(0);
      expect(caps.stdout).to.equal(`CapBnd:\t${DEFAULT_CAPS_MASK}\n`);

      confined.process.oomScoreAdj = 0;
      const oom = await init(['exec', ...execPid(pid), '--bundle', bundle(confined), ...asRoot, '--', 'cat', '/proc/self/oom_score_adj']);
      expect(oom.stdout).to.equal('');
      expect(oom.code, oom.stderr).to.equal(EXIT_REFUSED);
      expect(oom.stderr).to.match(/^\[skiff-init:e\] set oom_score_adj: \/proc is not the container's procfs[^\n]*\n$/);
      const fake = await init(['exec', ...execPid(pid), ...asRoot, '--', 'cat', '/proc/self/oom_score_adj']);
      expect(fake.stdout, 'the fake file the container made').to.equal('');
    });
  });
});
