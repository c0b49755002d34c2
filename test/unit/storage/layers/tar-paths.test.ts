import { expect } from 'chai';
import v8 from 'node:v8';
import vm from 'node:vm';
import { LayerTree } from '../../../../src/storage/layers/tar-paths.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

describe('storage/layers/tar-paths', () => {
  it('keeps path components, not whole paths: 20,000 entries with 4 KiB names cost a few MB', () => {
    const dirs = Array.from({ length: 15 }, (_, i) => `${String(i).padStart(3, '0')}${'d'.repeat(247)}`);
    const deep = dirs.join('/');
    gc();
    const before = process.memoryUsage().heapUsed;
    const tree = new LayerTree('/nonexistent', true);
    for (let i = 1; i <= dirs.length; i++) tree.set(dirs.slice(0, i).join('/'), 'dir');
    // Each name is built here and dropped: only what the tree keeps stays alive.
    for (let i = 0; i < 20_000; i++) tree.set(`${deep}/${'f'.repeat(240)}${i}`, 'file');
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    // A map of whole paths holds 20,000 × 4 KiB = 80 MB.
    expect(grown, `${(grown / 2 ** 20).toFixed(1)} MB`).to.be.below(20 * 2 ** 20);
    expect(tree.kindOf(`${deep}/${'f'.repeat(240)}7`)).to.equal('file');
  });

  it('forgets a directory with everything below it, and what was attached to them', () => {
    const tree = new LayerTree<string>('/nonexistent', true);
    tree.set('a', 'dir');
    tree.set('a/b', 'dir');
    tree.set('a/b/f', 'file');
    tree.attach('a', 'times of a');
    tree.attach('a/b', 'times of a/b');
    tree.set('c', 'dir');
    tree.attach('c', 'times of c');
    expect([...tree.attached()].map(([rel]) => rel).sort()).to.deep.equal(['a', 'a/b', 'c']);
    tree.forget('a');
    expect([tree.kindOf('a'), tree.kindOf('a/b'), tree.kindOf('a/b/f')]).to.deep.equal([undefined, undefined, undefined]);
    expect([...tree.attached()]).to.deep.equal([['c', 'times of c']]);
    tree.set('a', 'file');
    expect(tree.created('a')).to.equal('file');
  });
});
