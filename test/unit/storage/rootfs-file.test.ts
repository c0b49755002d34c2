import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRootfsFile } from '../../../src/storage/rootfs-file.js';

describe('storage/rootfs-file', function () {
  let dir: string;
  let root: string;
  let outside: string;

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'skiff-rootfs-file-'));
    root = join(dir, 'rootfs');
    outside = join(dir, 'host-secret');
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(outside, 'host:x:4242:4242::/:/bin/sh\n');
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads a regular file, and calls a missing one (or one under a non-directory) absent', async function () {
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
    expect(await readRootfsFile(root, 'etc/passwd')).to.deep.equal({ state: 'read', text: 'root:x:0:0::/root:/bin/sh\n' });
    expect(await readRootfsFile(root, 'etc/group')).to.deep.equal({ state: 'absent' });
    expect(await readRootfsFile(root, 'etc/passwd/x')).to.deep.equal({ state: 'absent' });
  });

  it('resolves absolute and climbing symlinks inside the rootfs, never to the host file they name', async function () {
    symlinkSync(outside, join(root, 'etc/passwd'));
    symlinkSync(`../../../../../../..${outside}`, join(root, 'etc/group'));
    expect(await readRootfsFile(root, 'etc/passwd')).to.deep.equal({ state: 'absent' });
    expect(await readRootfsFile(root, 'etc/group')).to.deep.equal({ state: 'absent' });
    // The same path inside the rootfs is what the link means there.
    mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, outside), 'image:x:777:777::/:/bin/sh\n');
    expect(await readRootfsFile(root, 'etc/passwd')).to.deep.equal({ state: 'read', text: 'image:x:777:777::/:/bin/sh\n' });
    expect(await readRootfsFile(root, 'etc/group')).to.deep.equal({ state: 'read', text: 'image:x:777:777::/:/bin/sh\n' });
  });

  it('does not follow a directory symlink out of the rootfs either', async function () {
    rmSync(join(root, 'etc'), { recursive: true });
    symlinkSync(dir, join(root, 'etc'));
    writeFileSync(join(dir, 'passwd'), 'host:x:1:1::/:/bin/sh\n');
    expect(await readRootfsFile(root, 'etc/passwd')).to.deep.equal({ state: 'absent' });
  });

  it('never opens a FIFO for reading, so nothing blocks', async function () {
    execFileSync('mkfifo', [join(root, 'etc/passwd')]);
    const t0 = Date.now();
    expect(await readRootfsFile(root, 'etc/passwd')).to.deep.equal({ state: 'unusable', reason: 'is a FIFO, not a regular file' });
    expect(Date.now() - t0).to.be.below(1000);
  });

  it('refuses a directory and a symlink loop', async function () {
    mkdirSync(join(root, 'etc/passwd'));
    expect(await readRootfsFile(root, 'etc/passwd')).to.deep.equal({ state: 'unusable', reason: 'is a directory, not a regular file' });
    symlinkSync('group', join(root, 'etc/group'));
    expect(await readRootfsFile(root, 'etc/group')).to.deep.equal({ state: 'unusable', reason: 'has too many levels of symbolic links' });
  });

  it('refuses a file over the limit from its size alone, and reads one at the limit', async function () {
    writeFileSync(join(root, 'etc/passwd'), Buffer.alloc(1025, 'a'));
    expect(await readRootfsFile(root, 'etc/passwd', { maxBytes: 1024 })).to.deep.equal({
      state: 'unusable',
      reason: 'is 1025 bytes, more than the 1024 Skiff reads',
    });
    writeFileSync(join(root, 'etc/group'), Buffer.alloc(200_000, 'b'));
    const r = await readRootfsFile(root, 'etc/group', { maxBytes: 200_000 });
    expect(r.state === 'read' && r.text.length).to.equal(200_000);
  });

  it('gives up on a read that takes longer than its time limit (every worker thread stuck)', async function () {
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
    // Opening a FIFO with no writer blocks a libuv worker, as a hung file system would.
    const fifo = join(dir, 'stuck');
    execFileSync('mkfifo', [fifo]);
    const stuck = Array.from({ length: 4 }, () => open(fifo, 'r'));
    try {
      const t0 = Date.now();
      expect(await readRootfsFile(root, 'etc/passwd', { timeoutMs: 200 })).to.deep.equal({
        state: 'unusable',
        reason: 'did not open and read within 0.2 s',
      });
      expect(Date.now() - t0).to.be.below(1000);
    } finally {
      // A writer releases every blocked reader.
      const w = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
      for (const h of await Promise.all(stuck)) await h.close();
      closeSync(w);
    }
  });
});
