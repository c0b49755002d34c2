// skiff-init gives what it holds no way out of the container (root, real kernel): the working
// directory is entered inside the container's root only, nothing its caller left open travels
// with it, and it stays non-dumpable from its user switch to its execve.
import { expect } from 'chai';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_HELPER_DIR } from '../../src/runtime/helper-exec.js';
import { statFields, deadOrZombie, until, childrenOf } from '../support/processes.js';

const execFileP = promisify(execFile);
const bin = join(DEFAULT_HELPER_DIR, 'skiff-init');
const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'cat', 'ls', 'pwd', 'sleep', 'true'];

type Spec = Record<string, unknown> & { mounts: Record<string, unknown>[] };

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * peek SECONDS, run in a container as the exec's user: watches its /proc for skiff's processes and
 * steps each with SIGSTOP / SIGCONT (EPERM until the process has switched to our uid). At a stop
 * before the process's execve (its comm still skiff's) it prints "stopped pid=", and
 * "opened pid= exe=" if /proc/<pid>/exe opened then.
 */
const PEEK_C = `
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static unsigned char seen[4194304 / 8 + 1], reported[4194304 / 8 + 1];
static int watched[64], nwatched;
static void slurp(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? 0 : read(fd, buf, cap - 1);
  if (fd >= 0) close(fd);
  buf[n > 0 ? n : 0] = 0;
}
static char state_of(int pid) {
  char path[64], buf[512], *p;
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  slurp(path, buf, sizeof buf);
  p = strrchr(buf, ')');
  return p && p[1] ? p[2] : 0;
}
/* 1: keep watching pid. */
static int step(int pid) {
  char path[64], comm[64], link[256] = "", s;
  int spins = 0, fd;
  if (kill(pid, SIGSTOP) < 0) return errno == EPERM;
  while ((s = state_of(pid)) && s != 'T' && s != 't' && s != 'Z' && spins++ < 200000) {}
  if (!s || s == 'Z') return 0;
  snprintf(path, sizeof path, "/proc/%d/comm", pid);
  slurp(path, comm, sizeof comm);
  if (strncmp(comm, "skiff-", 6)) { kill(pid, SIGCONT); return 0; } /* past its execve */
  if (!(reported[pid / 8] & (1 << (pid % 8)))) printf("stopped pid=%d\\n", pid);
  reported[pid / 8] |= 1 << (pid % 8);
  snprintf(path, sizeof path, "/proc/%d/exe", pid);
  if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    if (readlink(path, link, sizeof link - 1) < 0) link[0] = 0;
    printf("opened pid=%d exe=%s\\n", pid, link);
    close(fd);
  }
  kill(pid, SIGCONT);
  return 1;
}
int main(int argc, char **argv) {
  static char buf[65536];
  int self = getpid(), procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  time_t end = time(NULL) + (argc > 1 ? atoi(argv[1]) : 10);
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("ready\\n");
  while (time(NULL) < end) {
    long n;
    lseek(procfd, 0, SEEK_SET);
    while ((n = syscall(SYS_getdents64, procfd, buf, sizeof buf)) > 0) {
      for (long off = 0; off < n;) {
        unsigned short reclen = *(unsigned short *)(buf + off + 16);
        char *e, comm[64], path[64];
        long pid = strtol(buf + off + 19, &e, 10);
        off += reclen;
        if (*e || pid <= 1 || pid > 4194304 || pid == self || (seen[pid / 8] & (1 << (pid % 8)))) continue;
        seen[pid / 8] |= 1 << (pid % 8);
        snprintf(path, sizeof path, "/proc/%ld/comm", pid);
        slurp(path, comm, sizeof comm);
        if (strncmp(comm, "skiff-", 6) == 0 && nwatched < 64) watched[nwatched++] = (int)pid;
      }
    }
    for (int i = 0; i < nwatched;) {
      if (step(watched[i])) i++;
      else watched[i] = watched[--nwatched];
    }
  }
  return 0;
}
`;

describe('skiff-init: no way to the host', function () {
  this.timeout(30_000);
  let base: string;
  let rootfs: string;
  let dataDir: string;
  let n = 0;
  const running: ChildProcess[] = [];
  const containers: number[] = [];
  const cleanups: (() => void)[] = [];

  /** New namespaces and the mounts the tests need; the container runs as 1000. */
  function baseSpec(args: string[]): Spec {
    return {
      ociVersion: '1.1.0',
      root: { path: rootfs },
      process: { user: { uid: 1000, gid: 1000 }, args, env: ['PATH=/bin'], cwd: '/' },
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
        { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755', 'size=64k'] },
        { destination: '/data', type: 'bind', source: dataDir, options: ['rbind', 'ro'] },
      ],
      linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'network' }] },
    };
  }

  function bundle(spec: Spec): string {
    const dir = join(base, `bundle${++n}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
    return dir;
  }

  function start(args: string[]): ChildProcess {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.push(child);
    return child;
  }

  function finish(child: ChildProcess, ms = 20_000): Promise<Result> {
    return new Promise((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer = setTimeout(() => reject(new Error(`skiff-init did not finish in ${ms} ms`)), ms);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** A long-running container: skiff-init's waiting parent and the container's pid. */
  async function background(spec: Spec, stdio: (number | 'ignore')[] = ['ignore', 'ignore', 'ignore']): Promise<{ shim: ChildProcess; pid: number }> {
    const shim = spawn(bin, ['run', '--bundle', bundle(spec)], { stdio });
    running.push(shim);
    let pid = 0;
    await until(() => (pid = childrenOf(shim.pid ?? 0)[0] ?? 0) > 0 && readFileSync(`/proc/${pid}/comm`, 'utf8') === 'sleep\n', 5000, 'the container');
    containers.push(pid);
    return { shim, pid };
  }

  /** Field 22 of /proc/PID/stat: the daemon records it with the pid, and exec checks it. */
  const startTime = (pid: number) => statFields(pid)?.[19] ?? '0';
  const exec = (pid: number, opts: string[], argv: string[]) =>
    finish(start(['exec', '--pid', String(pid), '--start-time', startTime(pid), ...opts, '--', ...argv]));

  before(async function () {
    if (!existsSync(BUSYBOX) || !/statically linked/.test((await execFileP('file', ['-L', BUSYBOX])).stdout)) this.skip();
    base = await mkdtemp(join(tmpdir(), `skiff-init-host-${process.pid}-`));
    rootfs = join(base, 'rootfs');
    for (const d of ['bin', 'tmp', 'proc', 'dev', 'data']) mkdirSync(join(rootfs, d), { recursive: true });
    copyFileSync(BUSYBOX, join(rootfs, 'bin/busybox'));
    for (const a of APPLETS) symlinkSync('busybox', join(rootfs, 'bin', a));
    dataDir = join(base, 'data');
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, 'x'), 'data from the host\n');
  });

  afterEach(async function () {
    for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const pid of containers) if (!deadOrZombie(pid)) process.kill(pid, 'SIGKILL');
    await until(() => running.every((c) => c.exitCode !== null || c.signalCode !== null), 5000, 'skiff-init to end');
    await until(() => containers.every(deadOrZombie), 5000, 'the containers to end');
    running.length = 0;
    containers.length = 0;
    for (const undo of cleanups.splice(0).reverse()) undo();
  });

  after(async function () {
    if (base) await rm(base, { recursive: true, force: true });
  });

  // CVE-2024-21626's class: skiff-init holds every capability when it enters the working
  // directory, so following /proc/<pid>/root there would take the command out of the container.
  // Here the container's /proc is the host's (a bind of a whole procfs, which the spec may ask
  // for), so /proc/<this test's pid>/root is the host's "/".
  it('enters the working directory inside the container only: its symlinks stay inside, a /proc magic link is refused', async function () {
    const spec = baseSpec(['sleep', '30']);
    spec.mounts = spec.mounts.map((m) => (m.destination === '/proc' ? { destination: '/proc', type: 'bind', source: '/proc', options: ['rbind'] } : m));
    const { pid } = await background(spec);
    const secret = join(base, 'host-secret');
    writeFileSync(secret, 'host only\n');
    const hostRoot = `/proc/${process.pid}/root`;
    const viaMagic = await exec(pid, ['--cwd', hostRoot, '--uid', '0', '--gid', '0'], ['cat', `.${secret}`]);
    expect(viaMagic.stdout).to.not.include('host only');
    expect(viaMagic.code, "a refusal: exit 3").to.equal(3);
    expect(viaMagic.stderr).to.equal(`[skiff-init:e] working directory ${hostRoot}: refused: a /proc magic link or a symlink loop is on its path\n`);
    symlinkSync('/proc/self/cwd', join(rootfs, `tmp/magic-${process.pid}`));
    cleanups.push(() => rmSync(join(rootfs, `tmp/magic-${process.pid}`)));
    const viaLink = await exec(pid, ['--cwd', `/tmp/magic-${process.pid}`, '--uid', '0', '--gid', '0'], ['pwd']);
    expect(viaLink.code).to.equal(3);
    expect(viaLink.stderr).to.match(/refused: a \/proc magic link/);
    // An ordinary symlink climbing past the root ends inside it, as the kernel resolves it there.
    symlinkSync('../../../../data', join(rootfs, `tmp/up-${process.pid}`));
    cleanups.push(() => rmSync(join(rootfs, `tmp/up-${process.pid}`)));
    const up = await exec(pid, ['--cwd', `/tmp/up-${process.pid}`, '--uid', '0', '--gid', '0'], ['sh', '-c', 'pwd -P; ls']);
    expect(up.stderr).to.equal('');
    expect(up.stdout).to.equal('/data\nx\n');
  });

  // A process of the container with CAP_SYS_PTRACE can open what skiff-init holds; an fd its
  // caller left open (without close-on-exec) would be a host file in the container's pid namespace.
  it('closes every fd it inherited above stdio (but SKIFF_SYNC_FD) before anything else', async function () {
    const leftOpen = join(base, `left-open-${process.pid}`);
    writeFileSync(leftOpen, 'host file\n');
    const fd = openSync(leftOpen, 'r');
    try {
      const { shim, pid } = await background(baseSpec(['sleep', '30']), ['ignore', 'ignore', 'ignore', 'ignore', 'ignore', fd]);
      const held = (p: number) => readdirSync(`/proc/${p}/fd`).map((n) => { try { return readlinkSync(`/proc/${p}/fd/${n}`); } catch { return ''; } });
      expect(held(shim.pid ?? 0)).to.not.include(leftOpen);
      expect(held(pid)).to.not.include(leftOpen);
    } finally {
      closeSync(fd);
    }
  });

  // With fs.suid_dumpable=1 the kernel makes a process dumpable again when its uid changes: from
  // set_user to its execve the command side of an exec would show a process of the same uid in
  // the container skiff-init's exe (here the host's file itself), mem and fds. The peeker, run in
  // the container as that uid, stops each process it finds and tries /proc/<pid>/exe.
  it('stays non-dumpable from the user switch to its execve, even with fs.suid_dumpable=1', async function () {
    this.timeout(60_000);
    const src = join(base, 'peek.c');
    writeFileSync(src, PEEK_C);
    await execFileP('gcc', ['-static', '-O2', '-o', join(rootfs, 'bin/peek'), src]);
    cleanups.push(() => rmSync(join(rootfs, 'bin/peek'), { force: true }));
    const { pid } = await background(baseSpec(['sleep', '60']));
    const asApp = ['--cwd', '/', '--uid', '1000', '--gid', '1000'];
    const peeker = start(['exec', '--pid', String(pid), '--start-time', startTime(pid), ...asApp, '--', '/bin/peek', '20']);
    const peeked = finish(peeker, 30_000);
    const before = readFileSync('/proc/sys/fs/suid_dumpable', 'utf8').trim();
    writeFileSync('/proc/sys/fs/suid_dumpable', '1');
    try {
      for (let i = 0; i < 40; i++) {
        const r = await exec(pid, asApp, ['/bin/true']);
        expect(r.code, r.stderr).to.equal(0);
      }
    } finally {
      writeFileSync('/proc/sys/fs/suid_dumpable', before);
      peeker.kill('SIGTERM');
    }
    const out = (await peeked).stdout;
    expect(out, out).to.match(/^ready/);
    expect(out.split('\n').filter((l) => l.startsWith('opened ')), out).to.deep.equal([]);
    // Not vacuous: it stopped skiff-init's command side after the user switch.
    expect(out, out).to.match(/^stopped /m);
  });
});
