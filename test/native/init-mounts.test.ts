// skiff-init's mount rules against the real kernel (root), as runc keeps them: nothing may be
// mounted at or under /proc but runc's few exceptions (wherever an image's symlinks send the
// destination), masking uses the real /dev/null or fails the start, and a read-only bind is
// read-only on the very mount that was made, even while its destination is swapped under it.
import { expect } from 'chai';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_HELPER_DIR } from '../../src/runtime/helper-exec.js';

const execFileP = promisify(execFile);
const bin = join(DEFAULT_HELPER_DIR, 'skiff-init');
const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'cat', 'wc', 'echo', 'touch', 'ls', 'true'];
/** skiff-init's exit status for a policy refusal (1 is for what broke). */
const EXIT_REFUSED = 3;

type Spec = Record<string, unknown> & { mounts: Record<string, unknown>[]; linux: Record<string, unknown> };

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Exchanges two names in a directory as fast as it can (renameat2 RENAME_EXCHANGE) until killed. */
const SWAPPER_C = `
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc != 4) return 2;
  int dir = open(argv[1], O_PATH | O_DIRECTORY);
  if (dir < 0) { perror("open"); return 1; }
  for (;;) if (renameat2(dir, argv[2], dir, argv[3], RENAME_EXCHANGE) < 0) { perror("renameat2"); return 1; }
}
`;

describe('skiff-init: mounts follow runc\'s rules', function () {
  this.timeout(60_000);
  let base: string;
  let dataDir: string;
  let n = 0;
  const running: ChildProcess[] = [];

  /** A busybox rootfs of its own (tests change what is in it). */
  function rootfs(): string {
    const dir = join(base, `rootfs${++n}`);
    for (const d of ['bin', 'etc', 'tmp', 'dev']) mkdirSync(join(dir, d), { recursive: true });
    copyFileSync(BUSYBOX, join(dir, 'bin/busybox'));
    for (const a of APPLETS) symlinkSync('busybox', join(dir, 'bin', a));
    return dir;
  }

  /** New namespaces, the default mounts of a CRI container, the masked paths of the tests. */
  function spec(root: string, args: string[]): Spec {
    return {
      ociVersion: '1.1.0',
      root: { path: root },
      process: { user: { uid: 0, gid: 0 }, args, env: ['PATH=/bin'], cwd: '/' },
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
        { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      ],
      linux: {
        namespaces: [{ type: 'mount' }, { type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'network' }],
        maskedPaths: ['/proc/interrupts', '/proc/acpi'],
      },
    };
  }

  function run(s: Spec): Promise<Result> {
    const dir = join(base, `bundle${++n}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(s));
    const child = spawn(bin, ['run', '--bundle', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    running.push(child);
    return new Promise((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer = setTimeout(() => reject(new Error('skiff-init did not finish in 20 s')), 20_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  const bind = (source: string, destination: string, options: string[] = ['rbind', 'rprivate', 'rw']) => ({
    destination,
    type: 'bind',
    source,
    options,
  });

  before(async function () {
    if (!existsSync(BUSYBOX) || !/statically linked/.test((await execFileP('file', ['-L', BUSYBOX])).stdout)) {
      this.skip(); // busybox-static (scripts/test.sh installs it)
    }
    base = await mkdtemp(join(tmpdir(), `skiff-init-mounts-${process.pid}-`));
    dataDir = join(base, 'data');
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, 'x'), 'data from the host\n');
  });

  afterEach(function () {
    for (const c of running.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  after(async function () {
    if (base) await rm(base, { recursive: true, force: true });
  });

  describe('destinations in /proc', function () {
    it('refuses a bind at or under /proc, naming the mount', async function () {
      for (const dest of ['/proc/sys/kernel', '/proc', '/proc/self/attr', '/proc/sys/kernel/../vm', '/proc/net/dev']) {
        const s = spec(rootfs(), ['true']);
        s.mounts.push(bind(dataDir, dest));
        const r = await run(s);
        expect(r.code, `${dest}: ${r.stderr}`).to.equal(EXIT_REFUSED);
        expect(r.stderr, `${dest}: ${r.stderr}`).to.match(/^\[skiff-init:e\] mount \S+: [^\n]*\/proc[^\n]*\n$/);
        expect(r.stderr, dest).to.contain(`mount ${dest}:`);
      }
    });

    it('refuses a destination that the image\'s symlinks send into /proc', async function () {
      const root = rootfs();
      symlinkSync('/proc/sys', join(root, 'etc/sysctl'));
      symlinkSync('../proc', join(root, 'etc/p'));
      const cases: [string, string][] = [
        ['/etc/sysctl/kernel', dataDir],
        ['/etc/p/sys/kernel/core_pattern', join(dataDir, 'x')],
        ['/etc/p', dataDir],
      ];
      for (const [dest, source] of cases) {
        const s = spec(root, ['true']);
        s.mounts.push(bind(source, dest));
        const r = await run(s);
        expect(r.code, `${dest}: ${r.stderr}`).to.equal(EXIT_REFUSED);
        expect(r.stderr, dest).to.match(new RegExp(`^\\[skiff-init:e\\] mount ${dest}: refused: /proc\\S* is (inside|not a proc filesystem, at) /proc`));
      }
    });

    it('refuses a filesystem other than proc at /proc, and a mount onto a procfs moved elsewhere', async function () {
      const tmpfs = spec(rootfs(), ['true']);
      tmpfs.mounts[0] = { destination: '/proc', type: 'tmpfs', source: 'tmpfs', options: [] };
      const r1 = await run(tmpfs);
      expect(r1.code, r1.stderr).to.equal(EXIT_REFUSED);
      expect(r1.stderr).to.match(/^\[skiff-init:e\] mount \/proc: [^\n]*not a proc filesystem/);
      // A second proc at /host-proc is allowed (as in runc); a bind into it is not.
      const moved = spec(rootfs(), ['true']);
      moved.mounts.push({ destination: '/host-proc', type: 'proc', source: 'proc', options: [] });
      moved.mounts.push(bind(dataDir, '/host-proc/sys/kernel'));
      const r2 = await run(moved);
      expect(r2.code, r2.stderr).to.equal(EXIT_REFUSED);
      expect(r2.stderr).to.match(/^\[skiff-init:e\] mount \/host-proc\/sys\/kernel: [^\n]*procfs/);
    });

    it('allows runc\'s exceptions: a bind onto /proc/cpuinfo or /proc/uptime', async function () {
      const fake = join(base, 'cpuinfo');
      writeFileSync(fake, 'processor: lxcfs\n');
      const s = spec(rootfs(), ['sh', '-c', 'cat /proc/cpuinfo /proc/uptime']);
      s.mounts.push(bind(fake, '/proc/cpuinfo', ['bind', 'ro']), bind(fake, '/proc/uptime', ['bind', 'ro']));
      const r = await run(s);
      expect(r.stderr).to.equal('');
      expect(r.code).to.equal(0);
      expect(r.stdout).to.equal('processor: lxcfs\nprocessor: lxcfs\n');
    });
  });

  describe('new filesystems', function () {
    it('go only onto an ordinary directory reached through no symlink, made where missing', async function () {
      const cases: [string, (root: string) => void, Record<string, unknown>, RegExp][] = [
        ['a file at /proc', (root) => writeFileSync(join(root, 'proc'), ''), { destination: '/proc', type: 'proc', source: 'proc', options: [] },
          /^\[skiff-init:e\] mount \/proc: refused: not a directory \(proc is mounted only on an ordinary directory\)\n$/],
        ['a symlink above the destination', (root) => symlinkSync('/tmp', join(root, 'run')), { destination: '/run/lock', type: 'tmpfs', source: 'tmpfs', options: [] },
          /^\[skiff-init:e\] mount \/run\/lock: refused: a symlink is on its path \(tmpfs is mounted only on an ordinary directory\)\n$/],
        ['a dangling symlink', (root) => symlinkSync('/nowhere', join(root, 'sys')), { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['ro'] },
          /^\[skiff-init:e\] mount \/sys: refused: a symlink is on its path/],
      ];
      for (const [what, make, mount, message] of cases) {
        const root = rootfs();
        make(root);
        const s = spec(root, ['true']);
        s.mounts = s.mounts.filter((m) => m.destination !== mount.destination);
        s.mounts.push(mount);
        const r = await run(s);
        expect(r.code, `${what}: ${r.stderr}`).to.equal(EXIT_REFUSED);
        expect(r.stderr, what).to.match(message);
      }
      // Missing: made, as directories, and mounted.
      const s = spec(rootfs(), ['sh', '-c', 'cat /proc/self/comm; ls /run/a']);
      s.mounts.push({ destination: '/run/a/b', type: 'tmpfs', source: 'tmpfs', options: [] });
      const r = await run(s);
      expect(r.stderr).to.equal('');
      expect(r.stdout).to.equal('cat\nb\n');
    });
  });

  describe('masking', function () {
    it('fails the start when /dev/null is not the null device, instead of leaving a path unmasked', async function () {
      // Not the null device is a refusal; no /dev/null at all is a failure.
      const cases: [string, (root: string) => void, RegExp, number][] = [
        ['a symlink to the masked path', (root) => symlinkSync('/proc/interrupts', join(root, 'dev/null')), /\/dev\/null is not the null device: a symlink is on its path/, EXIT_REFUSED],
        ['a regular file', (root) => writeFileSync(join(root, 'dev/null'), ''), /\/dev\/null is not the null device/, EXIT_REFUSED],
        ['missing', () => undefined, /\/dev\/null: No such file or directory/, 1],
      ];
      for (const [what, make, message, status] of cases) {
        const root = rootfs();
        make(root);
        const s = spec(root, ['sh', '-c', 'wc -c < /proc/interrupts']);
        s.mounts.splice(1, 1); // no fresh /dev: the image's own /dev/null
        const r = await run(s);
        expect(r.stdout, what).to.equal('');
        expect(r.code, `${what}: ${r.stderr}`).to.equal(status);
        expect(r.stderr, what).to.match(/^\[skiff-init:e\] maskedPaths: [^\n]+\n$/);
        expect(r.stderr, what).to.match(message);
      }
    });

    it('masks a file with the null device and a directory with an empty read-only tmpfs', async function () {
      const r = await run(spec(rootfs(), ['sh', '-c', 'wc -c < /proc/interrupts; ls -a /proc/acpi | wc -l; touch /proc/acpi/x']));
      expect(r.stdout).to.equal('0\n2\n');
      expect(r.stderr).to.match(/Read-only file system/);
    });
  });

  describe('read-only binds', function () {
    let swapper: string;

    before(function () {
      swapper = join(base, 'swapper');
      writeFileSync(`${swapper}.c`, SWAPPER_C);
      execFileSync('gcc', ['-O2', '-o', swapper, `${swapper}.c`], { stdio: 'pipe' });
    });

    it('are read-only on the mount made, even while the destination is swapped with a symlink to another mount', async function () {
      // /vol/sub is exchanged, over and over, with a symlink to /other (a writable bind made
      // first). Whatever the destination resolved to when the bind was made, that mount must be
      // read-only: a remount by path could land on /other instead and leave the bind writable.
      const root = rootfs();
      const roSource = join(base, 'ro-source');
      const rwSource = join(base, 'rw-source');
      mkdirSync(roSource);
      mkdirSync(rwSource);
      mkdirSync(join(root, 'vol/sub'), { recursive: true });
      mkdirSync(join(root, 'other'));
      symlinkSync('/other', join(root, 'vol/swap'));
      const swap = spawn(swapper, [join(root, 'vol'), 'sub', 'swap'], { stdio: 'ignore' });
      running.push(swap);
      const s = spec(root, ['cat', '/proc/self/mountinfo']);
      s.mounts.push(bind(rwSource, '/other'), bind(roSource, '/vol/sub', ['rbind', 'rprivate', 'ro']));
      let wrong = 0;
      let refused = 0;
      for (let i = 0; i < 40; i++) {
        const r = await run(s);
        if (r.code !== 0) {
          refused++;
          continue;
        }
        for (const line of r.stdout.split('\n')) {
          const f = line.split(' ');
          const opts = (f[5] ?? '').split(',');
          if (f[3] === roSource && !opts.includes('ro')) wrong++;
          if (f[3] === rwSource && !opts.includes('rw')) wrong++;
        }
      }
      swap.kill('SIGKILL');
      expect(wrong, `${wrong} runs with the wrong flags, ${refused} refused`).to.equal(0);
    });
  });
});
