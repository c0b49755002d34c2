// The writable-layer scanner over a temp dir: st_blocks-based usage, inode counts, symlinks not
// followed, untrack, and the background loop picking up a newly tracked directory by itself.
import { expect } from 'chai';
import { linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LayerUsageScanner } from '../../../src/storage/layer-usage.js';

/** What the scanner should find, computed the slow obvious way. */
function expected(dir: string): { bytes: number; inodes: number } {
  let bytes = lstatSync(dir).blocks * 512;
  let inodes = 1;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const sub = expected(p);
      bytes += sub.bytes;
      inodes += sub.inodes;
    } else {
      bytes += lstatSync(p).blocks * 512;
      inodes++;
    }
  }
  return { bytes, inodes };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(5);
  }
}

describe('storage/layer-usage', function () {
  let tmp: string;
  let scanner: LayerUsageScanner;

  beforeEach(function () {
    tmp = mkdtempSync(join(tmpdir(), 'skiff-layer-usage-'));
    // A small slice and concurrency so the pause/abandon paths run too.
    scanner = new LayerUsageScanner({ entriesPerSlice: 3, concurrency: 2 });
  });
  afterEach(async function () {
    await scanner.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  function layer(name: string): string {
    const dir = join(tmp, name);
    mkdirSync(join(dir, 'etc', 'deep'), { recursive: true });
    writeFileSync(join(dir, 'big'), Buffer.alloc(1 << 20, 1));
    writeFileSync(join(dir, 'etc', 'small'), 'x');
    writeFileSync(join(dir, 'etc', 'deep', 'mid'), Buffer.alloc(100_000, 2));
    writeFileSync(join(dir, 'empty'), '');
    return dir;
  }

  it('sums st_blocks × 512 and counts inodes, the root included', async function () {
    const dir = layer('a');
    scanner.track('a', dir);
    expect(scanner.get('a')).to.equal(undefined);
    await scanner.scanAll();
    const u = scanner.get('a');
    const want = expected(dir);
    expect(u?.usedBytes).to.equal(BigInt(want.bytes));
    expect(u?.inodesUsed).to.equal(BigInt(want.inodes));
    expect(u?.inodesUsed).to.equal(7n); // root, etc, deep, big, small, mid, empty
    expect(Number(u?.usedBytes)).to.be.at.least(1 << 20);
    expect(Number(u?.timestampNs) / 1e6).to.be.closeTo(Date.now(), 5000);
  });

  it('counts a symlink itself but never follows it', async function () {
    const outside = layer('outside');
    const dir = join(tmp, 'b');
    mkdirSync(dir);
    symlinkSync(outside, join(dir, 'to-dir'));
    symlinkSync(join(outside, 'big'), join(dir, 'to-file'));
    scanner.track('b', dir);
    await scanner.scanAll();
    const u = scanner.get('b');
    expect(u?.inodesUsed).to.equal(3n);
    expect(Number(u?.usedBytes)).to.be.below(1 << 20);
    expect(u?.usedBytes).to.equal(BigInt(expected(dir).bytes));
  });

  it('counts a hard-linked file once', async function () {
    const dir = join(tmp, 'c');
    mkdirSync(dir);
    writeFileSync(join(dir, 'f'), Buffer.alloc(1 << 20, 1));
    linkSync(join(dir, 'f'), join(dir, 'g'));
    scanner.track('c', dir);
    await scanner.scanAll();
    expect(scanner.get('c')?.inodesUsed).to.equal(2n);
    expect(Number(scanner.get('c')?.usedBytes)).to.be.below(2 * (1 << 20));
  });

  it('forgets an untracked directory and has nothing for a missing one', async function () {
    scanner.track('a', layer('a'));
    scanner.track('gone', join(tmp, 'does-not-exist'));
    await scanner.scanAll();
    expect(scanner.get('a')).to.not.equal(undefined);
    expect(scanner.get('gone')).to.equal(undefined);
    scanner.untrack('a');
    expect(scanner.get('a')).to.equal(undefined);
    await scanner.scanAll();
    expect(scanner.get('a')).to.equal(undefined);
  });

  it('in the background: measures a newly tracked dir at once and sees changes at the next round', async function () {
    const dir = layer('a');
    scanner.start(50);
    scanner.track('a', dir);
    scanner.track('gone', join(tmp, 'nothing-here'));
    await until(() => scanner.get('a') !== undefined);
    const first = scanner.get('a')!;
    writeFileSync(join(dir, 'more'), Buffer.alloc(1 << 20, 3));
    await until(() => (scanner.get('a')?.inodesUsed ?? 0n) > first.inodesUsed);
    expect(Number(scanner.get('a')!.usedBytes - first.usedBytes)).to.be.at.least(1 << 20);
    scanner.untrack('a');
    expect(scanner.get('a')).to.equal(undefined);
  });

  it('stays responsive while walking a large tree', async function () {
    const dir = join(tmp, 'many');
    for (let i = 0; i < 20; i++) {
      mkdirSync(join(dir, `d${i}`), { recursive: true });
      for (let j = 0; j < 100; j++) writeFileSync(join(dir, `d${i}`, `f${j}`), 'x');
    }
    const s = new LayerUsageScanner({ entriesPerSlice: 100 });
    s.track('many', dir);
    let maxGap = 0;
    let last = Date.now();
    const tick = setInterval(() => {
      const now = Date.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
    }, 1);
    try {
      await s.scanAll();
    } finally {
      clearInterval(tick);
    }
    expect(s.get('many')?.inodesUsed).to.equal(1n + 20n + 2000n);
    expect(maxGap).to.be.below(50);
  });

  it('never walks a directory that the container swaps for a symlink between its lstat and its listing', async function () {
    const outside = join(tmp, 'host');
    mkdirSync(outside);
    for (let i = 0; i < 50; i++) writeFileSync(join(outside, `f${i}`), 'x');
    const dir = join(tmp, 'swap');
    mkdirSync(join(dir, 'd'), { recursive: true });
    // One entry per slice and a long pause: "d" is lstat'ed as a directory, then listed 400 ms later.
    const s = new LayerUsageScanner({ entriesPerSlice: 1, slicePauseMs: 400 });
    s.track('swap', dir);
    const scan = s.scanAll();
    await sleep(150);
    rmSync(join(dir, 'd'), { recursive: true });
    symlinkSync(outside, join(dir, 'd'));
    await scan;
    // The root and "d" as it was when lstat'ed; none of the host dir's 50 files.
    expect(s.get('swap')?.inodesUsed).to.equal(2n);
  });
});
