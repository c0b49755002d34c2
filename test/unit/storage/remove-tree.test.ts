import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTree } from '../../../src/storage/remove-tree.js';

describe('storage/remove-tree', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-remove-tree-'));
  });
  afterEach(() => {
    // A failed test may leave a tree too deep for rmSync: take it apart with the shell's rm.
    execFileSync('rm', ['-rf', dir]);
  });

  it('removes files, dirs, FIFOs and names that are not UTF-8; unlinks symlinks without entering them', async function () {
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'keep'), 'x');
    const t = join(dir, 'tree');
    mkdirSync(join(t, 'a', 'b', 'c'), { recursive: true });
    writeFileSync(join(t, 'a', 'f'), 'x');
    writeFileSync(join(t, 'a', 'b', 'c', 'g'), 'x');
    symlinkSync(outside, join(t, 'a', 'to-outside'));
    symlinkSync('/nowhere', join(t, 'dangling'));
    execFileSync('mkfifo', [join(t, 'a', 'b', 'fifo')]);
    // A name with a 0xff byte: Node's default UTF-8 decoding would never find it again.
    closeSync(openSync(Buffer.concat([Buffer.from(`${t}/a/`), Buffer.from([0x66, 0xff, 0x66])]), 'w'));
    mkdirSync(Buffer.concat([Buffer.from(`${t}/`), Buffer.from([0xfe])]));
    await removeTree(t);
    expect(existsSync(t)).to.equal(false);
    expect(readdirSync(outside)).to.deep.equal(['keep']);
  });

  it('takes a missing path as done, and unlinks a path that is a symlink or a file', async function () {
    await removeTree(join(dir, 'missing'));
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'keep'), 'x');
    symlinkSync(outside, join(dir, 'link'));
    await removeTree(join(dir, 'link'));
    writeFileSync(join(dir, 'file'), 'x');
    await removeTree(join(dir, 'file'));
    expect(readdirSync(dir)).to.deep.equal(['outside']);
    expect(readdirSync(outside)).to.deep.equal(['keep']);
  });

  it('removes a tree nested past PATH_MAX, which path-based removers cannot', async function () {
    const t = join(dir, 'deep');
    mkdirSync(t);
    const cwd = process.cwd();
    try {
      process.chdir(t);
      for (let i = 0; i < 450; i++) {
        mkdirSync('dddddddddd');
        process.chdir('dddddddddd');
      }
      writeFileSync('bottom', 'x');
    } finally {
      process.chdir(cwd);
    }
    expect(() => rmSync(t, { recursive: true, force: true })).to.throw(/ENAMETOOLONG/);
    await removeTree(t);
    expect(existsSync(t)).to.equal(false);
  });

  it('leaves the event loop free while it removes 5 000 files', async function () {
    const t = join(dir, 'many');
    for (let d = 0; d < 5; d++) {
      mkdirSync(join(t, `d${d}`), { recursive: true });
      for (let f = 0; f < 1000; f++) closeSync(openSync(join(t, `d${d}`, `f${f}`), 'w'));
    }
    let maxGap = 0;
    let last = Date.now();
    const tick = setInterval(() => {
      const now = Date.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
    }, 5);
    try {
      await removeTree(t);
    } finally {
      clearInterval(tick);
    }
    expect(existsSync(t)).to.equal(false);
    expect(maxGap).to.be.below(100);
  });
});
