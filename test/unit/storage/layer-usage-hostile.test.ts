// A container shapes its writable layer, and what the scanner reports is what kubelet compares
// with the container's ephemeral-storage limit. Every byte the container wrote must be counted,
// whatever its names and depth: a file the scanner cannot see is disk the limit does not cover.
import { expect } from 'chai';
import { closeSync, mkdirSync, mkdtempSync, openSync, writeFileSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LayerUsageScanner } from '../../../src/storage/layer-usage.js';
import { removeTree } from '../../../src/storage/remove-tree.js';

const MiB = 1024 * 1024;
/** Data that takes real blocks (zeros could be stored sparse by some file systems). */
const payload = () => Buffer.alloc(4 * MiB, 0x5a);

describe('storage/layer-usage: trees a container shaped to hide from it', function () {
  this.timeout(20_000);
  let tmp: string;
  let scanner: LayerUsageScanner;

  beforeEach(function () {
    tmp = mkdtempSync(join(tmpdir(), 'skiff-usage-hostile-'));
    scanner = new LayerUsageScanner();
  });
  afterEach(async function () {
    await scanner.stop();
    await removeTree(tmp);
  });

  it('counts files and directories whose names are not UTF-8', async function () {
    const upper = join(tmp, 'upper');
    mkdirSync(upper);
    // "a\xff" and "d\xfe/f": names as bytes, as a container's open(2) and mkdir(2) take them.
    writeFileSync(Buffer.concat([Buffer.from(`${upper}/a`), Buffer.from([0xff])]), payload());
    const dir = Buffer.concat([Buffer.from(`${upper}/d`), Buffer.from([0xfe])]);
    mkdirSync(dir);
    writeFileSync(Buffer.concat([dir, Buffer.from('/f')]), payload());
    scanner.track('c', upper);
    await scanner.scanAll();
    const used = Number(scanner.get('c')?.usedBytes ?? 0n);
    expect(used, `${used} bytes counted`).to.be.at.least(8 * MiB);
  });

  it('counts files below a path longer than PATH_MAX', async function () {
    const upper = join(tmp, 'upper');
    mkdirSync(upper);
    // 1100 levels of "abc/": 4400 bytes of relative path, made as a container makes it (mkdir and
    // cd in a loop), here through /proc/self/fd so that no path passed to the kernel is long.
    let fd = openSync(upper, constants.O_RDONLY | constants.O_DIRECTORY);
    for (let i = 0; i < 1100; i++) {
      mkdirSync(`/proc/self/fd/${fd}/abc`);
      const next = openSync(`/proc/self/fd/${fd}/abc`, constants.O_RDONLY | constants.O_DIRECTORY);
      closeSync(fd);
      fd = next;
    }
    writeFileSync(`/proc/self/fd/${fd}/big`, payload());
    closeSync(fd);
    scanner.track('c', upper);
    await scanner.scanAll();
    // The file, and a block at least for each directory (the root and 1100 levels).
    const used = Number(scanner.get('c')?.usedBytes ?? 0n);
    expect(used, `${used} bytes counted`).to.be.at.least(4 * MiB + 1101 * 4096);
    expect(Number(scanner.get('c')?.inodesUsed ?? 0n)).to.equal(1 + 1100 + 1);
  });
});
