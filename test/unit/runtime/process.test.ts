import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { runProcess } from '../../../src/runtime/process.js';
import { backgroundContext } from '../../../src/core/context.js';
import { SkiffError } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/log/logger.js';
import { processesRunning } from '../../support/processes.js';

const ctx = () => backgroundContext(silentLogger());

async function rejection(p: Promise<unknown>): Promise<SkiffError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(SkiffError);
    return e as SkiffError;
  }
  throw new Error('expected a rejection');
}

describe('runtime/process', function () {
  it('passes argv without a shell, stdin and env, and reports the exit status', async function () {
    const r = await runProcess(ctx(), ['/bin/sh', '-c', 'read x; echo "$x $FOO"; echo err >&2; exit 3', '$HOME;'], {
      stdin: 'hello\n',
      env: { FOO: 'bar', PATH: '/usr/bin:/bin' },
    });
    expect(r.code).to.equal(3);
    expect(r.signal).to.equal(null);
    expect(r.stdout.toString()).to.equal('hello bar\n');
    expect(r.stderr.toString()).to.equal('err\n');
    expect(r.truncated).to.equal(false);
    // An argument with shell syntax arrives as one literal argument.
    const echo = await runProcess(ctx(), ['/bin/echo', '$(id); rm -rf x']);
    expect(echo.stdout.toString()).to.equal('$(id); rm -rf x\n');
  });

  it('runs `executable` with argv[0] only as the name the program sees', async function () {
    const r = await runProcess(ctx(), ['some-name', '-c', 'echo "$0"'], { executable: '/bin/sh' });
    expect(r.stdout.toString()).to.equal('some-name\n');
  });

  it('caps output per stream and keeps reading so the child finishes', async function () {
    const r = await runProcess(ctx(), ['/bin/sh', '-c', 'head -c 1000000 /dev/zero'], { maxOutputBytes: 1000 });
    expect(r.code).to.equal(0);
    expect(r.stdout.length).to.equal(1000);
    expect(r.truncated).to.equal(true);
  });

  it('caps both streams together with maxTotalOutputBytes', async function () {
    const r = await runProcess(ctx(), ['/bin/sh', '-c', 'head -c 3000 /dev/zero; head -c 3000 /dev/zero >&2; exit 4'], {
      maxTotalOutputBytes: 4000,
    });
    expect(r.code).to.equal(4);
    expect(r.stdout.length + r.stderr.length).to.equal(4000);
    expect(r.truncated).to.equal(true);
  });

  it('answers drainMs after the exit though a background child keeps the output open', async function () {
    const background = `sleep 29.${process.pid}`;
    const started = Date.now();
    const r = await runProcess(ctx(), ['/bin/sh', '-c', `${background} & echo bye; exit 2`], { drainMs: 200, timeoutMs: 10_000 });
    expect(Date.now() - started).to.be.lessThan(2000);
    expect(r.code).to.equal(2);
    expect(r.stdout.toString()).to.equal('bye\n');
    // The background sleep is left alone (only a timeout or an abort ends the group).
    const left = processesRunning(background);
    expect(left).to.have.length(1);
    for (const pid of left) process.kill(pid, 'SIGKILL');
  });

  it('asks with endSignal on a timeout, then SIGKILLs the group a second later if that is ignored', async function () {
    const asked = Date.now();
    const term = await rejection(runProcess(ctx(), ['/bin/sh', '-c', 'exec sleep 30'], { timeoutMs: 100, endSignal: 'SIGTERM' }));
    expect(term.kind).to.equal('DeadlineExceeded');
    expect(Date.now() - asked).to.be.lessThan(800);
    const ignored = Date.now();
    const e = await rejection(runProcess(ctx(), ['/bin/sh', '-c', 'trap "" TERM; sleep 30 & wait'], { timeoutMs: 100, endSignal: 'SIGTERM' }));
    expect(e.kind).to.equal('DeadlineExceeded');
    expect(Date.now() - ignored).to.be.within(1000, 5000);
  });

  it('reads output without the thread pool: quiet children do not hold up file operations', async function () {
    // Two pipes each: twelve reads that would wait a second, against libuv's four workers.
    const quiet = Array.from({ length: 6 }, () => runProcess(ctx(), ['/bin/sleep', '1']));
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    await readFile('/proc/self/stat');
    expect(Date.now() - t0).to.be.lessThan(500);
    await Promise.all(quiet);
  });

  it('is Unavailable for a missing program', async function () {
    const e = await rejection(runProcess(ctx(), ['/nonexistent/skiff-no-such-program']));
    expect(e.kind).to.equal('Unavailable');
    expect(e.message).to.contain('not found');
  });

  it('kills the process group on timeout, grandchildren included', async function () {
    const started = Date.now();
    // The grandchild holds stdout open: without the group kill, close would wait 30 s.
    const e = await rejection(runProcess(ctx(), ['/bin/sh', '-c', 'sleep 30 & sleep 30'], { timeoutMs: 100 }));
    expect(e.kind).to.equal('DeadlineExceeded');
    expect(Date.now() - started).to.be.lessThan(5000);
  });

  it('kills the child when the context is aborted, with the reason as the error', async function () {
    const ac = new AbortController();
    const c = { log: silentLogger(), signal: ac.signal, deadline: undefined };
    const p = runProcess(c, ['/bin/sleep', '30']);
    setTimeout(() => ac.abort(new SkiffError('DeadlineExceeded', 'deadline passed')), 50);
    const e = await rejection(p);
    expect(e.kind).to.equal('DeadlineExceeded');
    const already = await rejection(runProcess(c, ['/bin/true']));
    expect(already.kind).to.equal('DeadlineExceeded');
  });
});
