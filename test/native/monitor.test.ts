// skiff-monitor alone, with programs of the host as the "container" (/bin/sh -c '…' as the
// executor): the start answer, the process tree (not our child, survives its starter, reaps
// orphans), the CRI log format byte for byte, the exit file, log reopening, the attach socket,
// OOM detection, and what it costs (RSS, time to the answer).
import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, renameSync, watch, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, rmdir, writeFile } from 'node:fs/promises';
import { connect, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { DEFAULT_HELPER_DIR, HelperRunner } from '../../src/runtime/helper-exec.js';
import { readExitFile, reopenLog, reopenLogAndWait, startMonitor, watchExits } from '../../src/runtime/monitor.js';
import { backgroundContext } from '../../src/core/context.js';
import { SkiffError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/log/logger.js';
import { socketPair } from '../../src/sys/socket-calls.js';
import { sealedCopy } from '../../src/sys/memfd-calls.js';
import { statFields, until } from '../support/processes.js';

const run = promisify(execFile);
const bin = join(DEFAULT_HELPER_DIR, 'skiff-monitor');
/** The monitor's read size (IO_BUF_SIZE in monitor/monitor.h). */
const BUF = 8192;
const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/;

interface Launch {
  code: number | null;
  stdout: string;
  stderr: string;
  answer: Record<string, unknown>;
  /** From spawn to the JSON line on stdout. */
  msToLine: number;
}

interface Started {
  pid: number;
  startTime: number;
  monitorPid: number;
}

interface LogRecord {
  ts: string;
  stream: 'stdout' | 'stderr';
  tag: 'F' | 'P';
  text: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const alive = (pid: number) => {
  const f = statFields(pid);
  return f !== undefined && f[0] !== 'Z';
};

function procStatus(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

/** Children of `pid` as [pid, state, comm]. */
function childrenOf(pid: number): { pid: number; state: string; comm: string }[] {
  const out: { pid: number; state: string; comm: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const t = readFileSync(`/proc/${name}/stat`, 'latin1');
      const f = t.slice(t.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) === pid) out.push({ pid: Number(name), state: f[0]!, comm: t.slice(t.indexOf('(') + 1, t.lastIndexOf(')')) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Tests may poll: waits until `cond` holds, failing after `ms`. */
/** Resolves when `path` exists, watching its directory (how the daemon learns of exits). */
function appears(path: string, ms = 10000): Promise<void> {
  return new Promise((resolve, reject) => {
    const w = watch(dirname(path), () => {
      if (existsSync(path)) done();
    });
    const timer = setTimeout(() => done(new Error(`${path} did not appear`)), ms);
    const done = (e?: Error) => {
      clearTimeout(timer);
      w.close();
      if (e) reject(e);
      else resolve();
    };
    if (existsSync(path)) done();
  });
}

function parseLog(text: string): LogRecord[] {
  expect(text.endsWith('\n') || text === '', 'the log ends with a newline').to.equal(true);
  return text
    .split('\n')
    .slice(0, -1)
    .map((line) => {
      const m = /^(\S+) (stdout|stderr) ([FP]) (.*)$/s.exec(line);
      expect(m, `log record ${JSON.stringify(line.slice(0, 100))}`).to.not.equal(null);
      expect(m![1]).to.match(TS);
      return { ts: m![1]!, stream: m![2] as 'stdout' | 'stderr', tag: m![3] as 'F' | 'P', text: m![4]! };
    });
}

function serialize(records: LogRecord[]): string {
  return records.map((r) => `${r.ts} ${r.stream} ${r.tag} ${r.text}\n`).join('');
}

/** One attach frame: kind, 32-bit big-endian length, payload. */
function frame(kind: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(5);
  h[0] = kind;
  h.writeUInt32BE(payload.length, 1);
  return Buffer.concat([h, payload]);
}

describe('skiff-monitor', function () {
  let base: string;
  let exits: string;
  let logs: string;
  let n = 0;
  const started: Started[] = [];
  const cgroups: string[] = [];

  const fresh = () => `c${++n}-${process.pid}`;
  const exitFile = (id: string) => join(exits, id);
  const logFile = (id: string) => join(logs, `${id}.log`);
  const args = (id: string, extra: string[], executor: string[]) => [
    '--id',
    id,
    '--exit-file',
    exitFile(id),
    '--log-path',
    logFile(id),
    ...extra,
    '--',
    ...executor,
  ];

  function launch(argv: string[]): Promise<Launch> {
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      let msToLine = -1;
      const child = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => {
        if (msToLine < 0) msToLine = performance.now() - t0;
        out.push(b);
      });
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', reject);
      child.on('close', (code) => {
        const stdout = Buffer.concat(out).toString();
        let answer: Record<string, unknown> = {};
        try {
          answer = stdout ? (JSON.parse(stdout) as Record<string, unknown>) : {};
        } catch {
          // left empty: the test looks at stdout
        }
        if (typeof answer.pid === 'number') started.push(answer as unknown as Started);
        resolve({ code, stdout, stderr: Buffer.concat(err).toString(), answer, msToLine });
      });
    });
  }

  async function start(id: string, executor: string[], extra: string[] = []): Promise<Started & { launch: Launch }> {
    const l = await launch(args(id, extra, executor));
    expect(l.code, l.stderr + l.stdout).to.equal(0);
    expect(l.stdout.endsWith('\n')).to.equal(true);
    expect(l.stdout.trim().split('\n')).to.have.length(1);
    return { ...(l.answer as unknown as Started), launch: l };
  }

  async function exitOf(id: string): Promise<Record<string, unknown>> {
    await appears(exitFile(id));
    return JSON.parse(readFileSync(exitFile(id), 'utf8')) as Record<string, unknown>;
  }

  before(async function () {
    base = await mkdtemp(join(tmpdir(), `skiff-monitor-${process.pid}-`));
    exits = join(base, 'exits');
    logs = join(base, 'logs');
    await mkdir(exits);
    await mkdir(logs);
  });

  afterEach(function () {
    // Containers first (their monitors then finish on their own), then any monitor left.
    for (const s of started.splice(0)) {
      const f = statFields(s.pid);
      if (f && f[0] !== 'Z' && Number(f[19]) === s.startTime) process.kill(s.pid, 'SIGKILL');
      try {
        if (alive(s.monitorPid) && readFileSync(`/proc/${s.monitorPid}/cmdline`, 'latin1').includes('skiff-monitor')) {
          process.kill(s.monitorPid, 'SIGKILL');
        }
      } catch {
        // gone meanwhile
      }
    }
  });

  after(async function () {
    for (const cg of cgroups) await rmdir(cg).catch(() => {});
    await rm(base, { recursive: true, force: true });
  });

  it("is a static, non-PIE binary without glibc's start-up code", async function () {
    const { stdout } = await run('file', ['-L', bin]).catch(() => ({ stdout: 'statically linked (file(1) missing)' }));
    expect(stdout).to.match(/statically linked/);
    expect(readFileSync(bin).includes('GLIBC_TUNABLES')).to.equal(false);
  });

  it('answers one JSON line with a live container pid, its start time and the monitor pid', async function () {
    const id = fresh();
    const s = await start(id, ['/bin/sleep', '5']);
    expect(Object.keys(s.launch.answer)).to.deep.equal(['pid', 'startTime', 'monitorPid']);
    const f = statFields(s.pid)!;
    expect(f[0]).to.not.equal('Z');
    expect(Number(f[19])).to.equal(s.startTime);
    expect(readFileSync(`/proc/${s.pid}/comm`, 'utf8').trim()).to.equal('sleep');
    expect(Number(f[1]), 'the container is the monitor\'s child').to.equal(s.monitorPid);
    expect(readFileSync(`/proc/${s.monitorPid}/comm`, 'utf8').trim()).to.equal('skiff-monitor');
  });

  it('is nobody\'s child here: in its own session, holding only /dev/null and its own fds', async function () {
    const id = fresh();
    // An extra inherited fd (a socketpair to us) that the monitor must not keep open.
    const child = spawn(bin, args(id, [], ['/bin/sleep', '5']), { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    const extraClosed = new Promise<void>((resolve) => child.stdio[3]!.on('close', () => resolve()));
    await new Promise((r) => child.on('close', r));
    const s = JSON.parse(out) as Started;
    started.push(s);
    await extraClosed;
    const ppid = Number(procStatus(s.monitorPid).PPid);
    expect(ppid).to.not.equal(process.pid);
    expect(ppid).to.not.equal(child.pid);
    expect(ppid === 1 || !alive(child.pid!)).to.equal(true);
    const f = statFields(s.monitorPid)!;
    expect(Number(f[3]), 'session id').to.equal(s.monitorPid);
    const links = readdirSync(`/proc/${s.monitorPid}/fd`).map((fd) => [Number(fd), readlinkSync(`/proc/${s.monitorPid}/fd/${fd}`)] as const);
    expect(links.filter(([fd]) => fd < 3).map(([, l]) => l)).to.deep.equal(['/dev/null', '/dev/null', '/dev/null']);
    // Beyond stdio: the log, the container's stdout and stderr pipes, the signalfd. Nothing of ours.
    expect(links.filter(([fd]) => fd >= 3).map(([, l]) => l.replace(/\d+/g, 'N')).sort()).to.deep.equal(
      ['anon_inode:[signalfd]', logFile(id), 'pipe:[N]', 'pipe:[N]'].map((l) => l.replace(/\d+/g, 'N')).sort(),
    );
  });

  it('survives the death of the process that started it', async function () {
    const id = fresh();
    // A shell starts the launcher and lingers; killing its whole group must not reach the monitor.
    const starter = spawn('/bin/sh', ['-c', '"$@"; exec sleep 60', 'sh', bin, ...args(id, [], ['/bin/sleep', '1'])], {
      stdio: ['ignore', 'pipe', 'ignore'],
      detached: true,
    });
    let out = '';
    await new Promise<void>((resolve) =>
      starter.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.endsWith('\n')) resolve();
      }),
    );
    const s = JSON.parse(out) as Started;
    started.push(s);
    process.kill(-starter.pid!, 'SIGKILL');
    await new Promise((r) => starter.on('close', r));
    expect(alive(s.monitorPid)).to.equal(true);
    expect(alive(s.pid)).to.equal(true);
    expect(await exitOf(id)).to.include({ exitCode: 0, signal: 0, oomKilled: false });
    await until(() => !alive(s.monitorPid), 5000, 'the monitor to exit');
  });

  it('writes the CRI log format byte for byte: lines, stderr, one timestamp per read, a partial last line', async function () {
    const id = fresh();
    const script = "printf 'one\\ntwo\\n'; sleep 0.1; printf 'to stderr\\n' >&2; sleep 0.1; printf 'three\\n'; sleep 0.1; printf 'no newline'";
    const t0 = Date.now();
    await start(id, ['/bin/sh', '-c', script]);
    expect(await exitOf(id)).to.include({ exitCode: 0, signal: 0 });
    const text = readFileSync(logFile(id), 'utf8');
    const recs = parseLog(text);
    expect(recs.map((r) => [r.stream, r.tag, r.text])).to.deep.equal([
      ['stdout', 'F', 'one'],
      ['stdout', 'F', 'two'],
      ['stderr', 'F', 'to stderr'],
      ['stdout', 'F', 'three'],
      ['stdout', 'P', 'no newline'],
    ]);
    expect(serialize(recs)).to.equal(text);
    // One write, one read, one timestamp; later reads strictly later.
    expect(recs[0]!.ts).to.equal(recs[1]!.ts);
    for (let i = 2; i < recs.length; i++) expect(recs[i]!.ts > recs[i - 1]!.ts, `${recs[i]!.ts} after ${recs[i - 1]!.ts}`).to.equal(true);
    const first = Date.parse(recs[0]!.ts);
    expect(first).to.be.within(t0 - 1000, Date.now() + 1000);
  });

  it('splits a line longer than its buffer into P records and ends it with F', async function () {
    const id = fresh();
    const len = 3 * BUF + 123;
    // One write of the whole line from node (stdout to a pipe is synchronous).
    await start(id, [process.execPath, '-e', `process.stdout.write('x'.repeat(${len}) + '\\n')`]);
    expect(await exitOf(id)).to.include({ exitCode: 0 });
    const recs = parseLog(readFileSync(logFile(id), 'utf8'));
    expect(recs.length).to.be.at.least(Math.ceil((len + 1) / BUF));
    expect(recs.slice(0, -1).every((r) => r.tag === 'P')).to.equal(true);
    expect(recs.at(-1)!.tag).to.equal('F');
    expect(recs.every((r) => r.stream === 'stdout' && r.text.length <= BUF)).to.equal(true);
    expect(recs.map((r) => r.text).join('')).to.equal('x'.repeat(len));
  });

  it('records exit code 3, and 137 with signal 9 for a kill -9', async function () {
    const a = fresh();
    await start(a, ['/bin/sh', '-c', 'exit 3']);
    const e = await exitOf(a);
    expect(e).to.include({ exitCode: 3, signal: 0, oomKilled: false });
    expect(e.finishedAt).to.match(TS);

    const b = fresh();
    const s = await start(b, ['/bin/sleep', '30']);
    process.kill(s.pid, 'SIGKILL');
    expect(await exitOf(b)).to.include({ exitCode: 137, signal: 9, oomKilled: false });
    await until(() => !alive(s.monitorPid), 5000, 'the monitor to exit');
  });

  it('publishes the exit file atomically: never seen half-written, no temporary file left', async function () {
    const id = fresh();
    const seen: string[] = [];
    const w = watch(exits, (_ev, name) => {
      if (name !== id) return;
      try {
        seen.push(readFileSync(exitFile(id), 'utf8'));
      } catch {
        // not there (yet)
      }
    });
    try {
      await start(id, ['/bin/sh', '-c', 'exit 7']);
      await exitOf(id);
      await sleep(50);
    } finally {
      w.close();
    }
    expect(seen.length).to.be.at.least(1);
    for (const text of seen) {
      expect(text.endsWith('}\n')).to.equal(true);
      const e = JSON.parse(text) as Record<string, unknown>;
      expect(Object.keys(e)).to.deep.equal(['exitCode', 'signal', 'finishedAt', 'oomKilled']);
      expect(e.exitCode).to.equal(7);
    }
    expect(readdirSync(exits).filter((f) => f.includes(id))).to.deep.equal([id]);
  });

  it('reopens the log at its path on SIGUSR1 after the file was renamed away', async function () {
    const id = fresh();
    const go = join(base, `${id}.go`);
    const script = `echo before; while [ ! -e '${go}' ]; do sleep 0.02; done; echo after`;
    const s = await start(id, ['/bin/sh', '-c', script]);
    await until(() => existsSync(logFile(id)) && readFileSync(logFile(id), 'utf8').includes('before'), 5000, 'the first line');
    renameSync(logFile(id), `${logFile(id)}.1`);
    process.kill(s.monitorPid, 'SIGUSR1');
    await appears(logFile(id));
    writeFileSync(go, '');
    expect(await exitOf(id)).to.include({ exitCode: 0 });
    expect(parseLog(readFileSync(`${logFile(id)}.1`, 'utf8')).map((r) => r.text)).to.deep.equal(['before']);
    expect(parseLog(readFileSync(logFile(id), 'utf8')).map((r) => r.text)).to.deep.equal(['after']);
  });

  it('answers {"error":…} with the reason when the executor cannot start, leaving nothing running', async function () {
    const id = fresh();
    const l = await launch(args(id, [], ['/nonexistent/skiff-executor', 'run']));
    // The launcher's own work succeeded (exit 0); the answer says the start failed.
    expect(l.code).to.equal(0);
    expect(l.stderr).to.equal('');
    expect(l.answer).to.deep.equal({ error: 'exec /nonexistent/skiff-executor: No such file or directory' });
    await sleep(100);
    expect(existsSync(exitFile(id))).to.equal(false);
    const left = readdirSync('/proc').filter((p) => {
      try {
        return /^\d+$/.test(p) && readFileSync(`/proc/${p}/cmdline`, 'latin1').includes(`--id\0${id}\0`);
      } catch {
        return false;
      }
    });
    expect(left).to.deep.equal([]);
  });

  it('reaps the orphans the container leaves: no zombie children', async function () {
    const id = fresh();
    const s = await start(id, ['/bin/sh', '-c', '(sleep 0.2 &); (sleep 0.2 &); (sleep 0.3 &); sleep 1.5']);
    // The orphans are re-parented to the monitor, a child subreaper…
    await until(() => childrenOf(s.monitorPid).filter((c) => c.comm === 'sleep').length >= 3, 2000, 'orphans to be adopted');
    // …and reaped when they exit, while the container still runs.
    await sleep(600);
    const kids = childrenOf(s.monitorPid);
    expect(kids.filter((c) => c.state === 'Z')).to.deep.equal([]);
    expect(kids.map((c) => c.pid)).to.deep.equal([s.pid]);
    expect(await exitOf(id)).to.include({ exitCode: 0 });
  });

  it('warns, and still runs the container, when it may not lower its oom_score_adj', async function () {
    const id = fresh();
    const mine = readFileSync('/proc/self/oom_score_adj', 'utf8').trim();
    const capEff = BigInt(`0x${procStatus(process.pid).CapEff}`);
    const canLower = (capEff & (1n << 24n)) !== 0n; // CAP_SYS_RESOURCE
    const s = await start(id, ['/bin/sh', '-c', 'cat /proc/self/oom_score_adj; sleep 0.3'], ['--oom-score-adj', '-500']);
    if (canLower) {
      expect(s.launch.stderr).to.equal('');
      expect(readFileSync(`/proc/${s.monitorPid}/oom_score_adj`, 'utf8').trim()).to.equal('-500');
    } else {
      expect(s.launch.stderr).to.match(/^\[skiff-monitor:w\] cannot set oom_score_adj to -500: Permission denied\n$/);
      expect(readFileSync(`/proc/${s.monitorPid}/oom_score_adj`, 'utf8').trim()).to.equal(mine);
    }
    expect(alive(s.pid)).to.equal(true);
    expect(await exitOf(id)).to.include({ exitCode: 0 });
    // The container gets the daemon's value back, never the monitor's.
    expect(parseLog(readFileSync(logFile(id), 'utf8')).map((r) => r.text)).to.deep.equal([mine]);
  });

  it('answers each bad option with exit 2 and an "[skiff-monitor:e]" line, starting nothing', async function () {
    const cases: [string[], RegExp][] = [
      [['--bogus'], /unknown option --bogus/],
      [['--id', 'a', '--exit-file', '/x/e', '--log-path', '/x/l'], /no executor/],
      [['--exit-file', '/x/e', '--log-path', '/x/l', '--', 'true'], /--id is required/],
      [['--id', 'a/b', '--exit-file', '/x/e', '--log-path', '/x/l', '--', 'true'], /--id a\/b: 1 to 128/],
      [['--id', 'a', '--exit-file', 'rel', '--log-path', '/x/l', '--', 'true'], /--exit-file rel: not an absolute path/],
      [['--id', 'a', '--exit-file', '/x/e', '--log-path', '/x/l/', '--', 'true'], /--log-path \/x\/l\/: not a file path/],
      [['--id', 'a', '--exit-file', '/x/e', '--log-path', '/x/l', '--oom-score-adj', '-1001', '--', 'true'], /not an integer from -1000 to 1000/],
      [['--id', 'a', '--id', 'b'], /--id given twice/],
      [['--id', 'a', '--exit-file', '/x/e', '--log-path', '/x/l', '--executor-fd', '2', '--', 'true'], /--executor-fd 2: not an fd from 3 to 1023/],
      [['--id', 'a', '--exit-file', '/x/e', '--log-path', '/x/l', '--attach-fd', '5', '--executor-fd', '5', '--', 'true'], /are both 5/],
      [['--id', 'a', '--exit-file', '/x/e', '--log-path', '/x/l', '--attach-socket', `/${'s'.repeat(120)}`, '--', 'true'], /longer than 107 bytes/],
    ];
    for (const [argv, re] of cases) {
      const l = await launch(argv);
      expect(l.code, argv.join(' ')).to.equal(2);
      expect(l.stdout).to.equal('');
      expect(l.stderr).to.match(re);
      expect(l.stderr.split('\n').filter(Boolean).every((x) => x.startsWith('[skiff-monitor:e] '))).to.equal(true);
    }
  });

  it('fails with exit 1 and a reason when the log cannot be opened', async function () {
    const id = fresh();
    const l = await launch(['--id', id, '--exit-file', exitFile(id), '--log-path', join(base, 'missing', 'x.log'), '--', 'true']);
    expect(l.code).to.equal(1);
    expect(l.stdout).to.equal('');
    expect(l.stderr).to.match(/^\[skiff-monitor:e\] open log .*missing\/x\.log: No such file or directory\n$/);
  });

  describe('--exec-sync', function () {
    it("turns the executor's [skiff-…:e] lines into the error, with its exit status", async function () {
      const id = fresh();
      const script = 'echo "[skiff-init:e] mount proc on /proc: Permission denied" >&2; echo "[skiff-init:e] second" >&2; exit 2';
      const l = await launch(args(id, ['--exec-sync'], ['/bin/sh', '-c', script]));
      expect(l.code).to.equal(0);
      expect(l.answer).to.deep.equal({
        error: 'skiff-init: mount proc on /proc: Permission denied; second',
        executorStatus: 2,
      });
      expect(existsSync(exitFile(id))).to.equal(false);
    });

    it('answers once fd 3 closes at the exec, and logs the executor\'s other early output', async function () {
      const id = fresh();
      // sh closes fd 3 a moment before its execve: the answer may beat the exec by that moment, so
      // the pid is checked to become sleep's (the same process) rather than to be it already.
      const script = 'echo "[skiff-init:w] just a note" >&2; echo "sync fd $SKIFF_SYNC_FD"; exec sleep 0.3 3>&-';
      const s = await start(id, ['/bin/sh', '-c', script], ['--exec-sync']);
      await until(() => readFileSync(`/proc/${s.pid}/comm`, 'utf8').trim() === 'sleep', 1000, 'the exec of sleep');
      expect(await exitOf(id)).to.include({ exitCode: 0 });
      const recs = parseLog(readFileSync(logFile(id), 'utf8')).map((r) => [r.stream, r.text]);
      expect(recs).to.have.deep.members([
        ['stderr', '[skiff-init:w] just a note'],
        ['stdout', 'sync fd 3'],
      ]);
    });

    it('adopts the container process an executor forked and announced, and records its exit', async function () {
      const id = fresh();
      const script = 'sh -c "sleep 0.3; exit 5" 3>&- & echo "pid $!" >&3; exit 0';
      const s = await start(id, ['/bin/sh', '-c', script], ['--exec-sync']);
      expect(readFileSync(`/proc/${s.pid}/cmdline`, 'latin1')).to.include('exit 5');
      await until(() => Number(procStatus(s.pid).PPid) === s.monitorPid, 2000, 'the adoption');
      expect(await exitOf(id)).to.include({ exitCode: 5, signal: 0 });
    });
  });

  it('gives the container a pty with --tty and logs its output as stdout', async function () {
    const id = fresh();
    await start(id, ['/bin/sh', '-c', 'test -t 0 && test -t 1 && test -t 2 && echo tty; tty'], ['--tty']);
    expect(await exitOf(id)).to.include({ exitCode: 0 });
    const recs = parseLog(readFileSync(logFile(id), 'utf8'));
    expect(recs.every((r) => r.stream === 'stdout' && r.tag === 'F')).to.equal(true);
    // The pty turns \n into \r\n; the record keeps the \r.
    expect(recs.map((r) => r.text)).to.deep.equal(['tty\r', recs[1]!.text]);
    expect(recs[1]!.text).to.match(/^\/dev\/pts\/\d+\r$/);
  });

  it('takes an --attach-fd client from the first byte and holds the output for it instead of dropping it', async function () {
    const id = fresh();
    const [ours, theirs] = socketPair();
    const helpers = new HelperRunner();
    // 1 MiB between two marker lines: far more than an ordinary client may fall behind (64 KiB).
    const script = 'echo first; head -c 1048576 /dev/zero; echo; echo last';
    const s = await startMonitor(backgroundContext(silentLogger()), helpers, {
      id,
      exitFile: exitFile(id),
      logPath: '/dev/null',
      attachFd: theirs,
      executor: ['/bin/sh', '-c', script],
    });
    closeSync(theirs);
    started.push(s);
    // Nobody reads for a while: the process must wait, not lose output.
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(exitFile(id)), 'the process is held back').to.equal(false);
    const client = new Socket({ fd: ours, readable: true, writable: true });
    const parts: Buffer[] = [];
    client.on('data', (b: Buffer) => parts.push(b));
    await new Promise((r) => client.on('close', r));
    const got = Buffer.concat(parts);
    let stdout = Buffer.alloc(0);
    for (let off = 0; off < got.length; ) {
      const len = got.readUInt32BE(off + 1);
      if (got[off] === 1) stdout = Buffer.concat([stdout, got.subarray(off + 5, off + 5 + len)]);
      off += 5 + len;
    }
    expect(stdout.length).to.equal(6 + (1 << 20) + 1 + 5);
    expect(stdout.subarray(0, 6).toString()).to.equal('first\n');
    expect(stdout.subarray(stdout.length - 5).toString()).to.equal('last\n');
    expect(await exitOf(id)).to.include({ exitCode: 0 });
  });

  it('runs from a sealed copy and execs its executor from the sealed image given as --executor-fd, never a writable one', async function () {
    const ctx = backgroundContext(silentLogger(), 10000);
    const helpers = HelperRunner.sealed(DEFAULT_HELPER_DIR, ['monitor']);
    const image = sealedCopy('skiff-test-sh', readFileSync('/bin/busybox'), 64);
    const id = fresh();
    try {
      const s = await startMonitor(ctx, helpers, {
        id,
        exitFile: exitFile(id),
        logPath: logFile(id),
        executorFd: image,
        // argv[0] only names the applet: the file is the image.
        executor: ['sh', '-c', 'echo started; while :; do sleep 1; done'],
      });
      started.push(s);
      expect(readlinkSync(`/proc/${s.monitorPid}/exe`)).to.equal('/memfd:skiff-monitor (deleted)');
      expect(readFileSync(`/proc/${s.monitorPid}/cmdline`, 'latin1')).to.match(/^skiff-monitor\0--id\0/);
      expect(readFileSync(`/proc/${s.monitorPid}/comm`, 'utf8')).to.equal('skiff-monitor\n');
      expect(readlinkSync(`/proc/${s.pid}/exe`)).to.equal('/memfd:skiff-test-sh (deleted)');
      // Neither keeps the image open: the monitor let go of it once the executor ran.
      for (const pid of [s.monitorPid, s.pid]) {
        for (const fd of readdirSync(`/proc/${pid}/fd`)) expect(readlinkSync(`/proc/${pid}/fd/${fd}`)).to.not.include('memfd:');
      }
      await until(() => existsSync(logFile(id)) && readFileSync(logFile(id), 'utf8').includes('started'), 5000, 'output');
    } finally {
      closeSync(image);
    }
    const bad = fresh();
    const plain = openSync('/bin/busybox', 'r');
    try {
      const e = await startMonitor(ctx, helpers, { id: bad, exitFile: exitFile(bad), logPath: logFile(bad), executorFd: plain, executor: ['sh'] }).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).to.be.instanceOf(SkiffError);
      expect((e as SkiffError).message).to.match(/--executor-fd 4: not a sealed file/);
      expect(existsSync(logFile(bad)), 'nothing started').to.equal(false);
    } finally {
      closeSync(plain);
    }
  });

  it('serves attach: output frames from the moment a client connects, stdin frames, stdin close', async function () {
    const id = fresh();
    const sock = join(base, `${id}.sock`);
    const s = await start(id, ['/bin/sh', '-c', 'echo ready; cat; echo done >&2'], ['--stdin', '--attach-socket', sock]);
    expect(existsSync(sock)).to.equal(true);
    await until(() => existsSync(logFile(id)) && readFileSync(logFile(id), 'utf8').includes('ready'), 5000, 'ready');
    const client: Socket = connect(sock);
    let got = Buffer.alloc(0);
    client.on('data', (b: Buffer) => (got = Buffer.concat([got, b])));
    await new Promise((r) => client.on('connect', r));
    client.write(frame(0, Buffer.from('hello\n')));
    client.write(frame(1));
    const closed = new Promise((r) => client.on('close', r));
    expect(await exitOf(id)).to.include({ exitCode: 0 });
    await closed;
    const frames: [number, string][] = [];
    for (let off = 0; off < got.length; ) {
      const len = got.readUInt32BE(off + 1);
      frames.push([got[off]!, got.subarray(off + 5, off + 5 + len).toString()]);
      off += 5 + len;
    }
    // "ready" came before the client connected: only the log has it.
    expect(frames).to.deep.equal([
      [1, 'hello\n'],
      [2, 'done\n'],
    ]);
    const recs = parseLog(readFileSync(logFile(id), 'utf8')).map((r) => [r.stream, r.text]);
    expect(recs).to.deep.equal([
      ['stdout', 'ready'],
      ['stdout', 'hello'],
      ['stderr', 'done'],
    ]);
    // The clients are let go just before the socket is unlinked.
    await until(() => !existsSync(sock), 1000, 'the socket removed at exit');
    expect(alive(s.monitorPid)).to.equal(false);
  });

  it('reports oomKilled when the cgroup\'s oom_kill counter rose', async function () {
    const memRoot = '/sys/fs/cgroup/memory';
    let cg: string;
    let procs: string;
    if (existsSync(join(memRoot, 'memory.oom_control'))) {
      cg = join(memRoot, `skiff-monitor-test-${process.pid}`);
      procs = join(cg, 'cgroup.procs');
      await mkdir(cg);
      cgroups.push(cg);
      await writeFile(join(cg, 'memory.limit_in_bytes'), String(16 << 20));
      await writeFile(join(cg, 'memory.memsw.limit_in_bytes'), String(16 << 20)).catch(() => {});
    } else if (existsSync('/sys/fs/cgroup/cgroup.controllers') && readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').includes('memory')) {
      cg = join('/sys/fs/cgroup', `skiff-monitor-test-${process.pid}`);
      procs = join(cg, 'cgroup.procs');
      await mkdir(cg);
      cgroups.push(cg);
      await writeFile(join(cg, 'memory.max'), String(16 << 20));
      await writeFile(join(cg, 'memory.swap.max'), '0').catch(() => {});
    } else {
      this.skip();
    }
    const id = fresh();
    // The "container" joins the cgroup and grows until the kernel kills it.
    await start(id, ['/bin/sh', '-c', `echo $$ > ${procs}; exec tail /dev/zero`], ['--oom-cgroup', cg]);
    expect(await exitOf(id)).to.include({ exitCode: 137, signal: 9, oomKilled: true });

    const ok = fresh();
    await start(ok, ['/bin/sh', '-c', `echo $$ > ${procs}; exit 0`], ['--oom-cgroup', cg]);
    expect(await exitOf(ok)).to.include({ exitCode: 0, oomKilled: false });
  });

  it('works with runtime/monitor.ts: startMonitor, watchExits, readExitFile, reopenLogAndWait', async function () {
    const ctx = backgroundContext(silentLogger(), 10000);
    const helpers = new HelperRunner();
    const id = fresh();
    const go = join(base, `${id}.go`);
    const exited = new Promise<string>((resolve) => {
      const w = watchExits(exits, (name) => {
        if (name !== id) return;
        w.close();
        resolve(name);
      });
    });
    const s = await startMonitor(ctx, helpers, {
      id,
      exitFile: exitFile(id),
      logPath: logFile(id),
      executor: ['/bin/sh', '-c', `echo one; while [ ! -e '${go}' ]; do sleep 0.02; done; echo two; exit 4`],
    });
    started.push(s);
    expect(alive(s.pid)).to.equal(true);
    expect(await readExitFile(exitFile(id))).to.equal(undefined);
    await until(() => existsSync(logFile(id)) && readFileSync(logFile(id), 'utf8').includes('one'), 5000, 'the first line');
    renameSync(logFile(id), `${logFile(id)}.1`);
    await reopenLogAndWait(s.monitorPid, { id, logPath: logFile(id) });
    expect(() => reopenLog(s.monitorPid, 'another-id')).to.throw(SkiffError, /not running/);
    writeFileSync(go, '');
    expect(await exited).to.equal(id);
    expect(await readExitFile(exitFile(id))).to.include({ exitCode: 4, signal: 0, oomKilled: false });
    expect(parseLog(readFileSync(logFile(id), 'utf8')).map((r) => r.text)).to.deep.equal(['two']);

    const bad = fresh();
    const e = await startMonitor(ctx, helpers, { id: bad, exitFile: exitFile(bad), logPath: logFile(bad), executor: ['/nonexistent'] }).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).to.be.instanceOf(SkiffError);
    expect((e as SkiffError).kind).to.equal('Internal');
    expect((e as SkiffError).message).to.equal(`starting container ${bad}: exec /nonexistent: No such file or directory`);
  });

  it('costs little: RSS of a running monitor and the time to its answer', async function () {
    const times: number[] = [];
    let rss = 0;
    for (let i = 0; i < 15; i++) {
      const id = fresh();
      const s = await start(id, ['/bin/sh', '-c', 'echo some output; exec sleep 5']);
      times.push(s.launch.msToLine);
      if (i === 0) {
        await until(() => existsSync(logFile(id)) && readFileSync(logFile(id), 'utf8').includes('some output'), 5000, 'output');
        rss = Number(/(\d+)/.exec(procStatus(s.monitorPid).VmRSS!)![1]);
      }
      process.kill(s.pid, 'SIGKILL');
      await exitOf(id);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]!;
    console.log(`      skiff-monitor: VmRSS ${rss} kB while a container runs; spawn → JSON line median ${median.toFixed(2)} ms (min ${times[0]!.toFixed(2)} ms)`);
    expect(rss).to.be.below(300);
  });
});
