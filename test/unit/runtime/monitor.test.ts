// The daemon's side of skiff-monitor without the monitor: the exit file's guard, the exits-dir
// watch (once per file, temporary names ignored), the answer's mapping to errors, and
// startMonitor's wiring against a stand-in script.
import { expect } from 'chai';
import { chmod, mkdtemp, rename, rm, unlink, writeFile, appendFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import {
  interpretMonitorOutput,
  isExitStatus,
  monitorArgs,
  readExitFile,
  reopenLog,
  reopenLogAndWait,
  rfc3339NanoToNs,
  startMonitor,
  watchExits,
} from '../../../src/runtime/monitor.js';
import { HelperRunner } from '../../../src/runtime/helper-exec.js';
import { backgroundContext } from '../../../src/core/context.js';
import { SkiffError } from '../../../src/core/errors.js';
import { createLogger, silentLogger } from '../../../src/log/logger.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const good = { exitCode: 137, signal: 9, finishedAt: '2026-01-02T03:04:05.123456789Z', oomKilled: false };

function caught(f: () => unknown): SkiffError {
  try {
    f();
  } catch (e) {
    expect(e).to.be.instanceOf(SkiffError);
    return e as SkiffError;
  }
  throw new Error('expected an error');
}

async function rejection(p: Promise<unknown>): Promise<SkiffError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(SkiffError);
    return e as SkiffError;
  }
  throw new Error('expected a rejection');
}

describe('runtime/monitor', function () {
  let dir: string;

  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'skiff-monitor-unit-'));
  });

  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  describe('isExitStatus / readExitFile', function () {
    it('accepts what the monitor writes', function () {
      expect(isExitStatus(good)).to.equal(true);
      expect(isExitStatus({ ...good, exitCode: 0, signal: 0, finishedAt: '2026-01-02T03:04:05Z' })).to.equal(true);
    });

    it('refuses every other shape', function () {
      const bad: unknown[] = [
        null,
        'x',
        [],
        { ...good, exitCode: '3' },
        { ...good, exitCode: -1 },
        { ...good, exitCode: 256 },
        { ...good, exitCode: 1.5 },
        { ...good, signal: 65 },
        { ...good, finishedAt: 'yesterday' },
        { ...good, finishedAt: '2026-01-02T03:04:05.123+01:00' },
        { ...good, oomKilled: 'false' },
        { exitCode: 0, signal: 0, finishedAt: good.finishedAt },
      ];
      for (const b of bad) expect(isExitStatus(b), JSON.stringify(b)).to.equal(false);
    });

    it('reads the file, is undefined while there is none, and fails on a malformed one', async function () {
      const p = join(dir, 'c1');
      expect(await readExitFile(p)).to.equal(undefined);
      await writeFile(p, `${JSON.stringify(good)}\n`);
      expect(await readExitFile(p)).to.deep.equal(good);
      await writeFile(p, '{"exitCode":1');
      expect((await rejection(readExitFile(p))).kind).to.equal('Internal');
      await writeFile(p, JSON.stringify({ ...good, oomKilled: 1 }));
      const e = await rejection(readExitFile(p));
      expect(e.kind).to.equal('Internal');
      expect(e.message).to.match(/unexpected shape/);
    });

    it('turns finishedAt into nanoseconds', function () {
      expect(rfc3339NanoToNs('1970-01-01T00:00:01.000000002Z')).to.equal(1_000_000_002n);
      expect(rfc3339NanoToNs('2026-01-02T03:04:05.5Z')).to.equal(BigInt(Date.UTC(2026, 0, 2, 3, 4, 5)) * 1_000_000n + 500_000_000n);
      expect(rfc3339NanoToNs('nope')).to.equal(undefined);
    });
  });

  describe('watchExits', function () {
    it('fires once per exit file: existing, renamed into place, written in several steps', async function () {
      await writeFile(join(dir, 'before'), JSON.stringify(good));
      const fired: string[] = [];
      const w = watchExits(dir, (id) => fired.push(id));
      try {
        // As the monitor does: a hidden temporary name, then rename.
        await writeFile(join(dir, '.c1.tmp'), JSON.stringify(good));
        await rename(join(dir, '.c1.tmp'), join(dir, 'c1'));
        // Several events for one file.
        await writeFile(join(dir, 'c2'), '{');
        await appendFile(join(dir, 'c2'), '}');
        await appendFile(join(dir, 'c2'), '\n');
        // Not an exit file.
        await mkdir(join(dir, 'subdir'));
        await writeFile(join(dir, '.c3.tmp'), 'x');
        await sleep(150);
        expect([...fired].sort()).to.deep.equal(['before', 'c1', 'c2']);
        // Removed and written again: a new exit file, reported again.
        await unlink(join(dir, 'c1'));
        await sleep(50);
        await writeFile(join(dir, 'c1'), JSON.stringify(good));
        await sleep(150);
        expect([...fired].sort()).to.deep.equal(['before', 'c1', 'c1', 'c2']);
      } finally {
        w.close();
      }
      await writeFile(join(dir, 'after-close'), 'x');
      await sleep(50);
      expect(fired).to.not.include('after-close');
    });

    it('reports a directory it cannot watch', function () {
      expect(caught(() => watchExits(join(dir, 'missing'), () => {})).kind).to.equal('NotFound');
    });
  });

  describe('the answer', function () {
    it('builds the argv in the documented order', function () {
      expect(
        monitorArgs({
          id: 'c1',
          exitFile: '/e/c1',
          logPath: '/l/c1.log',
          attachSocket: '/s',
          stdin: true,
          tty: true,
          oomCgroup: '/cg',
          oomScoreAdj: -500,
          execSync: true,
          executor: ['/bin/skiff-init', 'run', '--bundle', '/b'],
        }),
      ).to.deep.equal([
        '--id', 'c1', '--exit-file', '/e/c1', '--log-path', '/l/c1.log', '--attach-socket', '/s', '--stdin', '--tty',
        '--oom-cgroup', '/cg', '--oom-score-adj', '-500', '--exec-sync', '--', '/bin/skiff-init', 'run', '--bundle', '/b',
      ]);
      expect(monitorArgs({ id: 'c', exitFile: '/e', logPath: '/l', executor: ['x'] })).to.deep.equal([
        '--id', 'c', '--exit-file', '/e', '--log-path', '/l', '--', 'x',
      ]);
      // Handed-over fds are named by where the launcher finds them, not by the daemon's numbers.
      expect(monitorArgs({ id: 'c', exitFile: '/e', logPath: '/l', attachFd: 77, executorFd: 99, executor: ['skiff-init'] })).to.deep.equal([
        '--id', 'c', '--exit-file', '/e', '--log-path', '/l', '--attach-fd', '3', '--executor-fd', '4', '--', 'skiff-init',
      ]);
    });

    it('maps a start, an executor failure, a refusal, a usage error and garbage', function () {
      expect(interpretMonitorOutput('c', '{"pid":5,"startTime":6,"monitorPid":4}\n', '', 0, null)).to.deep.equal({
        pid: 5,
        startTime: 6,
        monitorPid: 4,
      });
      let e = caught(() => interpretMonitorOutput('c', '{"error":"exec /x: No such file or directory"}\n', '', 0, null));
      expect(e.kind).to.equal('Internal');
      expect(e.message).to.equal('starting container c: exec /x: No such file or directory');
      e = caught(() => interpretMonitorOutput('c', '{"error":"skiff-init: bad bundle","executorStatus":2}\n', '', 0, null));
      expect(e.kind).to.equal('InvalidArgument');
      e = caught(() => interpretMonitorOutput('c', '{"error":"skiff-init: mount failed","executorStatus":1}\n', '', 0, null));
      expect(e.kind).to.equal('Internal');
      // A policy refusal (the image's /proc is a symlink, say) is the image's fault, not ours.
      e = caught(() => interpretMonitorOutput('c', '{"error":"skiff-init: mount /proc: refused: a symlink is on its path","executorStatus":3}\n', '', 0, null));
      expect(e.kind).to.equal('FailedPrecondition');
      expect(e.message).to.equal('starting container c: skiff-init: mount /proc: refused: a symlink is on its path');
      e = caught(() => interpretMonitorOutput('c', '', '[skiff-monitor:e] --id given twice\n', 2, null));
      expect(e.kind).to.equal('InvalidArgument');
      expect(e.message).to.equal('starting container c: skiff-monitor: --id given twice (exit status 2)');
      e = caught(() => interpretMonitorOutput('c', '', '[skiff-monitor:e] open log /x: No such file or directory\n', 1, null));
      expect(e.kind).to.equal('Internal');
      e = caught(() => interpretMonitorOutput('c', 'pid=5', '', 0, null));
      expect(e.message).to.match(/not JSON/);
      e = caught(() => interpretMonitorOutput('c', '{"pid":0,"startTime":6,"monitorPid":4}', '', 0, null));
      expect(e.kind).to.equal('Internal');
      e = caught(() => interpretMonitorOutput('c', '', '', null, 'SIGKILL'));
      expect(e.message).to.match(/killed by SIGKILL/);
    });
  });

  describe('startMonitor', function () {
    // A stand-in for the binary: answers by container id.
    const script = `#!/bin/sh
case "$2" in
ok) echo '{"pid":1234,"startTime":99,"monitorPid":1233}' ;;
warn) echo '[skiff-monitor:w] cannot set oom_score_adj to -500: Permission denied' >&2
      echo '{"pid":1234,"startTime":99,"monitorPid":1233}' ;;
bad) echo '{"error":"skiff-init: process.cwd is not absolute","executorStatus":2}' ;;
usage) echo '[skiff-monitor:e] unknown option --x' >&2; exit 2 ;;
env) echo "{\\"error\\":\\"$(env | sort | tr '\\n' ' ')\\"}" ;;
slow) exec sleep 5 ;;
esac
`;
    let helpers: HelperRunner;
    const opts = (id: string) => ({ id, exitFile: '/e', logPath: '/l', executor: ['true'] });

    beforeEach(async function () {
      await writeFile(join(dir, 'skiff-monitor'), script);
      await chmod(join(dir, 'skiff-monitor'), 0o755);
      helpers = new HelperRunner(dir);
    });

    it('resolves with the start record and logs warnings', async function () {
      const out = new PassThrough();
      let logged = '';
      out.on('data', (b: Buffer) => (logged += b.toString()));
      const ctx = backgroundContext(createLogger({ level: 'debug', format: 'json', stream: out }), 5000);
      expect(await startMonitor(ctx, helpers, opts('ok'))).to.deep.equal({ pid: 1234, startTime: 99, monitorPid: 1233 });
      expect(await startMonitor(ctx, helpers, opts('warn'))).to.include({ pid: 1234 });
      await sleep(10);
      expect(logged).to.include('cannot set oom_score_adj to -500: Permission denied');
      expect(logged).to.include('"container":"warn"');
    });

    it('rejects with the answer\'s error, InvalidArgument for a bad config', async function () {
      const ctx = backgroundContext(silentLogger(), 5000);
      const bad = await rejection(startMonitor(ctx, helpers, opts('bad')));
      expect(bad.kind).to.equal('InvalidArgument');
      expect(bad.message).to.equal('starting container bad: skiff-init: process.cwd is not absolute');
      expect((await rejection(startMonitor(ctx, helpers, opts('usage')))).kind).to.equal('InvalidArgument');
    });

    it('gives the monitor (and so the executor) only PATH of the daemon\'s environment', async function () {
      const ctx = backgroundContext(silentLogger(), 5000);
      process.env.SKIFF_MONITOR_UNIT_SECRET = 'x';
      try {
        const e = await rejection(startMonitor(ctx, helpers, opts('env')));
        expect(e.message).to.include(`PATH=${process.env.PATH ?? ''}`);
        expect(e.message).to.not.include('SKIFF_MONITOR_UNIT_SECRET');
        expect(e.message).to.not.include('HOME=');
      } finally {
        delete process.env.SKIFF_MONITOR_UNIT_SECRET;
      }
    });

    it('kills the launcher when the caller gives up', async function () {
      const ctx = backgroundContext(silentLogger(), 100);
      const t0 = Date.now();
      const e = await rejection(startMonitor(ctx, helpers, opts('slow')));
      expect(Date.now() - t0).to.be.below(2000);
      expect(e.kind).to.be.oneOf(['Cancelled', 'DeadlineExceeded']);
    });

    it('is Unavailable when the binary is missing', async function () {
      const ctx = backgroundContext(silentLogger(), 5000);
      const e = await rejection(startMonitor(ctx, new HelperRunner(join(dir, 'nowhere')), opts('ok')));
      expect(e.kind).to.equal('Unavailable');
    });
  });

  describe('reopenLog', function () {
    it('refuses a pid that is not a skiff-monitor, without signalling it', async function () {
      // This test process would die of SIGUSR1 if it were signalled.
      expect(caught(() => reopenLog(process.pid, 'c1')).kind).to.equal('FailedPrecondition');
      expect(caught(() => reopenLog(2 ** 22 + 1)).kind).to.equal('FailedPrecondition');
      const e = await rejection(reopenLogAndWait(process.pid, { logPath: join(dir, 'x.log'), timeoutMs: 100 }));
      expect(e.kind).to.equal('FailedPrecondition');
    });
  });
});
