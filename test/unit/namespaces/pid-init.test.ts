import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { isInitAlive, killInit, readProcStat } from '../../../src/namespaces/pid-init.js';

// pid_max is at most 2^22: this pid never exists.
const NO_SUCH_PID = 2 ** 22 + 1;

describe('namespaces/pid-init', function () {
  it('reads state and start time from /proc/<pid>/stat', function () {
    const st = readProcStat(process.pid);
    expect(st?.state).to.match(/^[RS]$/);
    const raw = readFileSync(`/proc/${process.pid}/stat`, 'latin1');
    expect(String(st?.startTime)).to.equal(raw.slice(raw.lastIndexOf(')') + 2).split(' ')[19]);
  });

  it('answers undefined for a pid that does not exist', function () {
    expect(readProcStat(NO_SUCH_PID)).to.equal(undefined);
    expect(isInitAlive(NO_SUCH_PID, 1)).to.equal(false);
    expect(killInit(NO_SUCH_PID, 1)).to.equal(false);
  });

  it('treats a different start time as another process and never signals it', function () {
    const st = readProcStat(process.pid);
    expect(isInitAlive(process.pid, (st?.startTime ?? 0) + 1)).to.equal(false);
    expect(killInit(process.pid, (st?.startTime ?? 0) + 1)).to.equal(false);
    expect(isInitAlive(process.pid, st?.startTime ?? 0)).to.equal(true);
  });

  it('never signals pid 1 or nonsense pids', function () {
    expect(killInit(1, readProcStat(1)?.startTime ?? 0)).to.equal(false);
    expect(killInit(0, 0)).to.equal(false);
    expect(killInit(-1, 0)).to.equal(false);
  });
});
