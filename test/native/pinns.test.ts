// skiff-pinns alone, against the real kernel (root): the pinned namespaces are new, configured
// inside and not on the host, the pid init is pid 1 of its namespace and behaves like one, and
// every failure leaves nothing behind.
import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_HELPER_DIR } from '../../src/runtime/helper-exec.js';
import { MNT_DETACH, MS_NODEV, MS_NOSUID, mount, umount2 } from '../../src/sys/mount-calls.js';
import { receiveFd, socketPair } from '../../src/sys/socket-calls.js';

const run = promisify(execFile);
const bin = join(DEFAULT_HELPER_DIR, 'skiff-pinns');

interface Failure {
  code: number;
  stdout: string;
  stderr: string;
}

async function fails(args: string[]): Promise<Failure> {
  try {
    await run(bin, args);
  } catch (e) {
    return e as Failure;
  }
  throw new Error(`skiff-pinns ${args.join(' ')} succeeded`);
}

/** Mount points at or below `prefix`, from this (the host's) mount namespace. */
export function mountsUnder(prefix: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === prefix || m.startsWith(`${prefix}/`));
}

function procStatus(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

/** Fields of /proc/<pid>/stat from field 3 on (index 0 = state), or undefined once it is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const t = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return t.slice(t.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Tests may poll: waits until `cond` holds, failing after `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const deadOrZombie = (pid: number) => () => {
  const f = statFields(pid);
  return f === undefined || f[0] === 'Z';
};

async function nsenter(args: string[]): Promise<string> {
  return (await run('nsenter', args)).stdout.trim();
}

function podInits(): Set<number> {
  const pids = new Set<number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const f = statFields(Number(name));
      if (readFileSync(`/proc/${name}/comm`, 'utf8').trim() === 'skiff-pod-init' && f && f[0] !== 'Z') {
        pids.add(Number(name));
      }
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describe('skiff-pinns', function () {
  let base: string;
  let n = 0;
  const inits: { pid: number; startTime: number }[] = [];
  const fresh = () => join(base, `pod${++n}`);

  async function pin(args: string[]): Promise<{ pid?: number; startTime?: number }> {
    const { stdout } = await run(bin, args);
    expect(stdout.endsWith('\n')).to.equal(true);
    expect(stdout.trim().split('\n')).to.have.length(1);
    const answer = JSON.parse(stdout) as { pid?: number; startTime?: number };
    if (answer.pid !== undefined && answer.startTime !== undefined) {
      inits.push({ pid: answer.pid, startTime: answer.startTime });
    }
    return answer;
  }

  before(async function () {
    base = await mkdtemp(join(tmpdir(), `skiff-pinns-${process.pid}-`));
  });

  after(async function () {
    for (const { pid, startTime } of inits) {
      const f = statFields(pid);
      if (f && f[0] !== 'Z' && Number(f[19]) === startTime) process.kill(pid, 'SIGKILL');
    }
    for (const m of mountsUnder(base).reverse()) umount2(m, MNT_DETACH);
    await rm(base, { recursive: true, force: true });
  });

  it('is a static, non-PIE binary without glibc\'s start-up code', async function () {
    const { stdout } = await run('file', ['-L', bin]).catch(() => ({ stdout: 'statically linked (file(1) missing)' }));
    // rt.c applies no relocations: a static-pie build would crash.
    expect(stdout).to.match(/statically linked/);
    // Any glibc function drags in glibc's start-up, which reads GLIBC_TUNABLES (see common/rt.h).
    expect(readFileSync(bin).includes('GLIBC_TUNABLES')).to.equal(false);
  });

  it('pins new net, ipc and uts namespaces as bind mounts and answers {}', async function () {
    const dir = fresh();
    expect(await pin(['--dir', dir, '--net', '--ipc', '--uts'])).to.deep.equal({});
    expect(readdirSync(dir).sort()).to.deep.equal(['ipc', 'net', 'uts']);
    expect(mountsUnder(dir).sort()).to.deep.equal(['ipc', 'net', 'uts'].map((x) => join(dir, x)));
    for (const ns of ['net', 'ipc', 'uts']) {
      const inside = await nsenter([`--${ns}=${join(dir, ns)}`, 'readlink', `/proc/self/ns/${ns}`]);
      expect(inside).to.match(new RegExp(`^${ns}:\\[\\d+\\]$`));
      expect(inside, ns).to.not.equal(readlinkSync(`/proc/self/ns/${ns}`));
    }
  });

  it('gives the pinned network namespace only a loopback device', async function () {
    const dir = fresh();
    await pin(['--dir', dir, '--net']);
    const links = (await nsenter([`--net=${join(dir, 'net')}`, 'ip', '-o', 'link'])).split('\n');
    expect(links).to.have.length(1);
    expect(links[0]).to.match(/^1: lo: /);
    expect(readdirSync(dir)).to.deep.equal(['net']);
  });

  it('sets the hostname inside the new UTS namespace only', async function () {
    const dir = fresh();
    const name = `pod-${process.pid}-${n}`;
    const before = hostname();
    await pin(['--dir', dir, '--uts', '--hostname', name]);
    expect(await nsenter([`--uts=${join(dir, 'uts')}`, 'hostname'])).to.equal(name);
    expect(hostname()).to.equal(before);
  });

  it('applies net and IPC sysctls inside the new namespaces, not on the host', async function () {
    const dir = fresh();
    const host = (p: string) => readFileSync(`/proc/sys/${p}`, 'utf8').trim();
    const port = host('net/ipv4/ip_unprivileged_port_start');
    const shmmni = host('kernel/shmmni');
    const ttl = host('net/ipv4/ip_default_ttl');
    expect(port).to.not.equal('0');
    expect(shmmni).to.not.equal('1234');
    expect(ttl).to.not.equal('33');
    await pin([
      '--dir', dir, '--net', '--ipc',
      '--sysctl', 'net.ipv4.ip_unprivileged_port_start=0',
      '--sysctl', 'kernel.shmmni=1234',
      '--sysctl', 'net/ipv4/ip_default_ttl=33',
    ]); // prettier-ignore
    const net = `--net=${join(dir, 'net')}`;
    expect(await nsenter([net, 'cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start'])).to.equal('0');
    expect(await nsenter([net, 'cat', '/proc/sys/net/ipv4/ip_default_ttl'])).to.equal('33');
    expect(await nsenter([`--ipc=${join(dir, 'ipc')}`, 'cat', '/proc/sys/kernel/shmmni'])).to.equal('1234');
    expect(host('net/ipv4/ip_unprivileged_port_start')).to.equal(port);
    expect(host('kernel/shmmni')).to.equal(shmmni);
    expect(host('net/ipv4/ip_default_ttl')).to.equal(ttl);
  });

  describe('--pid-init', function () {
    let dir: string;
    let init: { pid: number; startTime: number };

    before(async function () {
      dir = fresh();
      const answer = await pin(['--dir', dir, '--net', '--ipc', '--uts', '--pid-init']);
      expect(answer).to.have.keys(['pid', 'startTime']);
      init = { pid: answer.pid ?? 0, startTime: answer.startTime ?? 0 };
    });

    it('answers the init pid and its start time, and pins its pid namespace', async function () {
      expect(statFields(init.pid)?.[19]).to.equal(String(init.startTime));
      expect(readdirSync(dir).sort()).to.deep.equal(['ipc', 'net', 'pid', 'uts']);
      expect(mountsUnder(join(dir, 'pid'))).to.have.length(1);
      expect(readlinkSync(`/proc/${init.pid}/ns/pid`)).to.not.equal(readlinkSync('/proc/self/ns/pid'));
      // The pin is the init's namespace: a process started in it is the init's.
      const inside = await nsenter([`--pid=${join(dir, 'pid')}`, '--', 'readlink', '/proc/self/ns/pid']);
      expect(inside).to.equal(readlinkSync(`/proc/${init.pid}/ns/pid`));
    });

    it('shows the pod no host path in its cmdline', function () {
      // As containerd's pause shows "/pause": not the helper's location, not the pod's dir.
      expect(readFileSync(`/proc/${init.pid}/cmdline`, 'latin1')).to.equal('skiff-pod-init\0');
    });

    it('is pid 1 of its namespace, in its own session, not a child of the caller', function () {
      const st = procStatus(init.pid);
      expect(st.NSpid?.split(/\s+/)).to.deep.equal([String(init.pid), '1']);
      expect(st.Name).to.equal('skiff-pod-init');
      expect(Number(st.PPid)).to.not.equal(process.pid);
      expect(statFields(init.pid)?.[3], 'session id').to.equal(String(init.pid));
      // Only /dev/null on 0-2: nothing of the daemon's kept open for the pod's lifetime.
      const fds = readdirSync(`/proc/${init.pid}/fd`).sort();
      expect(fds).to.deep.equal(['0', '1', '2']);
      for (const fd of fds) expect(readlinkSync(`/proc/${init.pid}/fd/${fd}`)).to.equal('/dev/null');
    });

    // Every container of a shared-PID pod sees it as pid 1: /proc/1/root, cwd and mountinfo.
    it('keeps nothing of the host: an empty read-only tmpfs as its only mount, root and cwd; no capability; 65535', function () {
      expect(readdirSync(`/proc/${init.pid}/root`)).to.deep.equal([]);
      expect(readlinkSync(`/proc/${init.pid}/cwd`)).to.equal('/');
      expect(readlinkSync(`/proc/${init.pid}/ns/mnt`)).to.not.equal(readlinkSync('/proc/self/ns/mnt'));
      const mounts = readFileSync(`/proc/${init.pid}/mountinfo`, 'utf8').trim().split('\n');
      expect(mounts, mounts.join('\n')).to.have.length(1);
      expect(mounts[0]).to.match(/ \/ \/ ro,nosuid,nodev,noexec[^ ]* - tmpfs /);
      const st = procStatus(init.pid);
      for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) expect(st[set], set).to.equal('0000000000000000');
      expect(st.Uid?.split(/\s+/)).to.deep.equal(['65535', '65535', '65535', '65535']);
      expect(st.Gid?.split(/\s+/)).to.deep.equal(['65535', '65535', '65535', '65535']);
      expect(st.Groups).to.equal('');
      expect(st.NoNewPrivs).to.equal('1');
      // Not dumpable: its /proc files stay root's, whatever its uid.
      expect(statSync(`/proc/${init.pid}/status`).uid).to.equal(0);
    });

    it('lives in the pinned net, ipc and uts namespaces', async function () {
      for (const ns of ['net', 'ipc', 'uts']) {
        const pinned = await nsenter([`--${ns}=${join(dir, ns)}`, 'readlink', `/proc/self/ns/${ns}`]);
        expect(readlinkSync(`/proc/${init.pid}/ns/${ns}`), ns).to.equal(pinned);
      }
    });

    it('adopts and reaps orphans of the pod', async function () {
      // sh starts sleep in the background and exits: sleep is orphaned to the pod's pid 1.
      const script = 'sleep 30 </dev/null >/dev/null 2>&1 & echo $!';
      const nsPid = await nsenter([`--pid=${join(dir, 'pid')}`, '--', 'sh', '-c', script]);
      expect(Number(nsPid)).to.be.greaterThan(1);
      const childrenFile = `/proc/${init.pid}/task/${init.pid}/children`;
      await until(() => readFileSync(childrenFile, 'utf8').trim() !== '', 2000, 'the orphan to be adopted');
      const orphan = Number(readFileSync(childrenFile, 'utf8').trim());
      expect(procStatus(orphan).NSpid?.split(/\s+/)).to.deep.equal([String(orphan), nsPid]);
      process.kill(orphan, 'SIGKILL');
      // A zombie would stay listed: gone means the init waited for it.
      await until(() => statFields(orphan) === undefined, 2000, 'the orphan to be reaped');
      expect(readFileSync(childrenFile, 'utf8').trim()).to.equal('');
    });

    it('ignores SIGTERM from inside the pod', async function () {
      await nsenter([`--pid=${join(dir, 'pid')}`, '--', 'kill', '-TERM', '1']);
      await new Promise((r) => setTimeout(r, 50));
      expect(statFields(init.pid)?.[0]).to.not.equal('Z');
    });

    it('is not dumpable: without CAP_SYS_PTRACE nobody opens its exe, and skiff-pinns needs no such access', async function () {
      // skiff-pinns and the reader both lack CAP_SYS_PTRACE (the bounding set drops it): with the
      // same uid and the same capabilities, only dumpability can refuse the reader.
      const noPtrace = ['--bounding-set=-sys_ptrace', '--'];
      const pinned = fresh();
      const { stdout } = await run('setpriv', [...noPtrace, bin, '--dir', pinned, '--net', '--ipc', '--uts', '--pid-init']);
      const other = JSON.parse(stdout) as { pid: number; startTime: number };
      inits.push(other);
      expect(readdirSync(pinned).sort()).to.deep.equal(['ipc', 'net', 'pid', 'uts']);
      const peek = (pid: number) =>
        run('setpriv', [...noPtrace, 'readlink', '-v', `/proc/${pid}/exe`]).then(
          (r) => r.stdout,
          (e: { stderr: string }) => e.stderr,
        );
      expect(await peek(other.pid)).to.match(/Permission denied/);
      const dumpable = spawn('setpriv', [...noPtrace, 'sleep', '30'], { stdio: 'ignore' });
      try {
        await until(() => readFileSync(`/proc/${dumpable.pid}/comm`, 'utf8') === 'sleep\n', 5000, 'sleep to run');
        expect(await peek(dumpable.pid ?? 0)).to.match(/sleep/);
      } finally {
        dumpable.kill('SIGKILL');
      }
    });

    it('exits on SIGTERM from outside the pod', async function () {
      process.kill(init.pid, 'SIGTERM');
      await until(deadOrZombie(init.pid), 2000, 'the init to exit');
    });
  });

  describe('--empty-mount-ns and --init-mount-ns', function () {
    /** skiff-pinns --empty-mount-ns over a socket pair, as the daemon runs it; the fd it sent. */
    async function emptyMountNs(): Promise<number> {
      const [ours, theirs] = socketPair();
      try {
        const child = spawn(bin, ['--empty-mount-ns', '3'], { stdio: ['ignore', 'pipe', 'pipe', theirs] });
        let out = '';
        child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
        const code = await new Promise((resolve) => child.on('close', resolve));
        expect(code).to.equal(0);
        expect(out).to.equal('{}\n');
        return receiveFd(ours, 64);
      } finally {
        closeSync(ours);
        closeSync(theirs);
      }
    }

    it('sends a new mount namespace over the socket it is given, and leaves no mount behind', async function () {
      const before = readFileSync('/proc/self/mountinfo', 'utf8');
      const fd = await emptyMountNs();
      try {
        const ns = readlinkSync(`/proc/self/fd/${fd}`);
        expect(ns).to.match(/^mnt:\[\d+\]$/);
        expect(ns).to.not.equal(readlinkSync('/proc/self/ns/mnt'));
        // What is in it: an init that joins it shows (the next test).
      } finally {
        closeSync(fd);
      }
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).to.equal(before);
    });

    it('puts the pod init in the namespace given, shared by every init given it', async function () {
      const fd = await emptyMountNs();
      try {
        const child = (dir: string) =>
          new Promise<{ pid: number; startTime: number }>((resolve, reject) => {
            const c = spawn(bin, ['--dir', dir, '--net', '--pid-init', '--init-mount-ns', '3'], { stdio: ['ignore', 'pipe', 'pipe', fd] });
            let out = '';
            let err = '';
            c.stdout?.on('data', (b: Buffer) => (out += b.toString()));
            c.stderr?.on('data', (b: Buffer) => (err += b.toString()));
            c.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as { pid: number; startTime: number }) : reject(new Error(err))));
          });
        const a = await child(fresh());
        inits.push(a);
        const b = await child(fresh());
        inits.push(b);
        const ns = readlinkSync(`/proc/self/fd/${fd}`);
        expect(readlinkSync(`/proc/${a.pid}/ns/mnt`)).to.equal(ns);
        expect(readlinkSync(`/proc/${b.pid}/ns/mnt`)).to.equal(ns);
        expect(readdirSync(`/proc/${a.pid}/root`)).to.deep.equal([]);
        expect(procStatus(b.pid).CapBnd).to.equal('0000000000000000');
      } finally {
        closeSync(fd);
      }
    });

    it('refuses an fd that is not a mount namespace, and the options where they do not belong', async function () {
      const dir = fresh();
      const netns = openSync('/proc/self/ns/net', 'r');
      /** skiff-pinns with our netns (not a mount namespace) as its fd 3. */
      const withFd3 = (args: string[]) =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          const c = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe', netns] });
          let stderr = '';
          c.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
          c.on('close', (code) => resolve({ code, stderr }));
        });
      try {
        const cases: [string[], string][] = [
          [['--dir', dir, '--net', '--pid-init', '--init-mount-ns', '3'], 'fd 3: not a mount namespace'],
          [['--dir', dir, '--net', '--init-mount-ns', '3'], '--init-mount-ns needs --pid-init'],
          [['--dir', dir, '--net', '--pid-init', '--init-mount-ns', '2'], '--init-mount-ns 2: not an fd number from 3 to 1023'],
          [['--dir', dir, '--net', '--pid-init', '--init-mount-ns', '900'], '--init-mount-ns 900: not an open fd'],
          [['--empty-mount-ns', '3', '--dir', dir, '--net'], '--empty-mount-ns takes no other option'],
        ];
        for (const [args, message] of cases) {
          const r = await withFd3(args);
          expect(r.code, args.join(' ')).to.equal(2);
          expect(r.stderr, args.join(' ')).to.equal(`[skiff-pinns:e] ${message}\n`);
        }
      } finally {
        closeSync(netns);
      }
      expect(existsSync(dir)).to.equal(false);
    });
  });

  it('answers each bad option with exit 2 and one "[skiff-pinns:e]" line, creating nothing', async function () {
    const dir = fresh();
    const cases: [string[], RegExp][] = [
      [[], /--dir is required; usage: /],
      [['--net'], /--dir is required/],
      [['--dir'], /--dir needs a value/],
      [['--dir', 'relative', '--net'], /not an absolute path/],
      [['--dir', dir, '--dir', dir, '--net'], /--dir is given twice/],
      [['--dir', dir], /nothing to pin/],
      [['--dir', dir, '--net', '--bogus'], /unknown option --bogus; usage: /],
      [['--dir', dir, '--net', '--hostname', 'h'], /--hostname needs --uts/],
      [['--dir', dir, '--uts', '--hostname', 'a b'], /--hostname a b: only letters/],
      [['--dir', dir, '--uts', '--hostname', 'x'.repeat(65)], /1 to 64 characters/],
      [['--dir', dir, '--net', '--sysctl', 'noequals'], /expected key=value/],
      [['--dir', dir, '--net', '--sysctl', '=1'], /the key is empty/],
      [['--dir', dir, '--net', '--sysctl', 'net.ipv4.ip_forward='], /the value is empty/],
      [['--dir', dir, '--net', '--sysctl', 'net.ipv4.ip_forward=1\n0'], /line break/],
      [['--dir', dir, '--net', '--sysctl', 'kernel.hostname=x'], /not a namespaced sysctl/],
      [['--dir', dir, '--ipc', '--sysctl', 'net.ipv4.ip_forward=1'], /needs --net/],
      [['--dir', dir, '--net', '--sysctl', 'kernel.shmmni=1'], /needs --ipc/],
      [['--dir', dir, '--net', '--sysctl', 'net/ipv4/../../kernel/x=1'], /not a valid sysctl name/],
      [['--dir', dir, '--net', '--sysctl', 'net.a=1', '--sysctl', 'net/a=2'], /given twice/],
    ];
    for (const [args, message] of cases) {
      const e = await fails(args);
      expect(e.code, args.join(' ')).to.equal(2);
      expect(e.stdout).to.equal('');
      expect(e.stderr, args.join(' ')).to.match(/^\[skiff-pinns:e\] [^\n]+\n$/);
      expect(e.stderr, args.join(' ')).to.match(message);
    }
    expect(existsSync(dir)).to.equal(false);
  });

  it('answers a sysctl the kernel lacks or refuses with exit 2, leaving nothing behind', async function () {
    const dir = fresh();
    for (const kv of ['net.ipv4.no_such_sysctl=1', 'net.ipv4.ip_forward=abc']) {
      const e = await fails(['--dir', dir, '--net', '--ipc', '--uts', '--pid-init', '--sysctl', kv]);
      expect(e.code).to.equal(2);
      expect(e.stderr).to.match(new RegExp(`^\\[skiff-pinns:e\\] sysctl ${kv.replace(/\./g, '\\.')}: `));
      expect(existsSync(dir)).to.equal(false);
      expect(mountsUnder(base).filter((m) => m.startsWith(dir))).to.deep.equal([]);
    }
  });

  it('undoes pins, the init and nothing else when pinning fails midway', async function () {
    const dir = fresh();
    await mkdir(dir);
    // A leftover pid pin: net, ipc and uts get pinned and the init forked before this fails.
    await writeFile(join(dir, 'pid'), '');
    const initsBefore = podInits();
    const e = await fails(['--dir', dir, '--net', '--ipc', '--uts', '--pid-init']);
    expect(e.code).to.equal(1);
    expect(e.stdout).to.equal('');
    expect(e.stderr).to.match(/^\[skiff-pinns:e\] create .*\/pid: File exists\n$/);
    expect(mountsUnder(dir)).to.deep.equal([]);
    expect(readdirSync(dir)).to.deep.equal(['pid']);
    const leaked = [...podInits()].filter((p) => !initsBefore.has(p));
    expect(leaked, 'pod inits left running').to.deep.equal([]);
  });

  it('builds for arm64 and runs there (cross compiler and qemu-user, when installed)', async function () {
    this.timeout(60_000);
    const has = async (tool: string) => run('sh', ['-c', `command -v ${tool}`]).then(() => true, () => false);
    if (!(await has('aarch64-linux-gnu-gcc')) || !(await has('qemu-aarch64-static'))) this.skip();
    const out = join(base, `arm64-${++n}`);
    const helpers = join(DEFAULT_HELPER_DIR, '..');
    await run('make', ['-s', '-C', helpers, 'CC=aarch64-linux-gnu-gcc', `BUILD=${out}`, `${out}/skiff-pinns`]);
    const arm = join(out, 'skiff-pinns');
    expect((await run('file', ['-L', arm])).stdout).to.match(/ARM aarch64.*statically linked/);
    expect(readFileSync(arm).includes('GLIBC_TUNABLES')).to.equal(false);
    const e = await run('qemu-aarch64-static', [arm, '--bogus']).then(
      () => undefined,
      (x: Failure) => x,
    );
    expect(e?.code).to.equal(2);
    expect(e?.stderr).to.match(/^\[skiff-pinns:e\] unknown option --bogus; usage: /);
    const dir = fresh();
    const { stdout } = await run('qemu-aarch64-static', [
      arm, '--dir', dir, '--net', '--ipc', '--uts', '--hostname', 'arm', '--sysctl', 'kernel.shmmni=777', '--pid-init',
    ]); // prettier-ignore
    const answer = JSON.parse(stdout) as { pid: number; startTime: number };
    inits.push(answer);
    expect(procStatus(answer.pid).NSpid?.split(/\s+/)).to.deep.equal([String(answer.pid), '1']);
    expect(await nsenter([`--uts=${join(dir, 'uts')}`, 'hostname'])).to.equal('arm');
    expect(await nsenter([`--ipc=${join(dir, 'ipc')}`, 'cat', '/proc/sys/kernel/shmmni'])).to.equal('777');
    process.kill(answer.pid, 'SIGTERM');
    await until(deadOrZombie(answer.pid), 2000, 'the arm64 init to exit');
  });

  it('reports a dir it cannot create', async function () {
    const dir = fresh();
    // A file where the parent of DIR should be.
    await writeFile(dir, '');
    const e = await fails(['--dir', join(dir, 'sub'), '--net']);
    expect(e.code).to.equal(1);
    expect(e.stderr).to.match(/^\[skiff-pinns:e\] mkdir [^\n]+: Not a directory\n$/);
  });

  it('removes the dir it created when pinning fails after creating it', async function () {
    // A tmpfs with room for its root and one more inode: mkdir works, the first pin file does not.
    const tiny = fresh();
    await mkdir(tiny);
    mount('tmpfs', tiny, 'tmpfs', MS_NOSUID | MS_NODEV, 'nr_inodes=2,size=64k');
    try {
      const e = await fails(['--dir', join(tiny, 'pod'), '--net', '--ipc']);
      expect(e.code).to.equal(1);
      expect(e.stderr).to.match(/^\[skiff-pinns:e\] create [^\n]+\/net: No space left on device\n$/);
      expect(readdirSync(tiny)).to.deep.equal([]);
      expect(mountsUnder(tiny)).to.deep.equal([tiny]);
    } finally {
      umount2(tiny, MNT_DETACH);
    }
  });
});
