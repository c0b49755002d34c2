// Sealed copies: the bytes go in once, and then nothing that holds the file can change it.
import { expect } from 'chai';
import { closeSync, fstatSync, ftruncateSync, openSync, readFileSync, readlinkSync, writeSync } from 'node:fs';
import { F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_WRITE, seals, sealedCopy } from '../../../src/sys/memfd-calls.js';

function errnoOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return (e as NodeJS.ErrnoException).code;
  }
  return undefined;
}

const O_CLOEXEC = 0o2000000;

describe('sys/memfd-calls', function () {
  const content = Buffer.from('\x7fELF and then some bytes');
  let fd = -1;

  afterEach(function () {
    if (fd >= 0) closeSync(fd);
    fd = -1;
  });

  it('holds exactly the bytes given, under its name, close-on-exec, at or above minFd', function () {
    fd = sealedCopy('skiff-unit-copy', content, 64);
    expect(fd).to.be.at.least(64);
    expect(readFileSync(`/proc/self/fd/${fd}`)).to.deep.equal(content);
    const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? '0';
    expect(parseInt(flags, 8) & O_CLOEXEC, 'O_CLOEXEC').to.equal(O_CLOEXEC);
    expect(readlinkSync(`/proc/self/fd/${fd}`)).to.equal('/memfd:skiff-unit-copy (deleted)');
  });

  it('is read-only for everyone but root (mode 0555)', function () {
    fd = sealedCopy('skiff-unit-mode', content);
    expect(fstatSync(fd).mode & 0o7777).to.equal(0o555);
  });

  it('is sealed against writes, truncation, growth and further seal changes', function () {
    fd = sealedCopy('skiff-unit-sealed', content);
    const s = seals(fd);
    for (const bit of [F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE]) expect(s & bit, `seal ${bit}`).to.equal(bit);
    // Reopened for writing, as a container holding /proc/<pid>/exe would: every change is refused.
    const w = openSync(`/proc/self/fd/${fd}`, 'r+');
    try {
      expect(errnoOf(() => writeSync(w, 'x', 0))).to.equal('EPERM');
      expect(errnoOf(() => writeSync(w, 'x', content.length))).to.equal('EPERM');
      expect(errnoOf(() => ftruncateSync(w, 0))).to.equal('EPERM');
      expect(errnoOf(() => ftruncateSync(w, content.length + 1))).to.equal('EPERM');
    } finally {
      closeSync(w);
    }
    expect(readFileSync(`/proc/self/fd/${fd}`)).to.deep.equal(content);
  });

  it('refuses seals on a file that cannot carry them', function () {
    const plain = openSync('/proc/self/exe', 'r');
    try {
      expect(errnoOf(() => seals(plain))).to.equal('EINVAL');
    } finally {
      closeSync(plain);
    }
  });
});
