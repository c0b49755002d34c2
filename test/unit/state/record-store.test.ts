import { expect } from 'chai';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordStore } from '../../../src/state/record-store.js';

interface Pod {
  name: string;
  createdAt: bigint;
}
const isPod = (x: unknown): x is Pod =>
  typeof x === 'object' && x !== null && typeof (x as Pod).name === 'string' && typeof (x as Pod).createdAt === 'bigint';

describe('state/record-store', function () {
  let dir: string;
  let store: RecordStore<Pod>;
  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'skiff-records-'));
    store = new RecordStore(join(dir, 'pods'), 'pod', 1, isPod);
    await store.init();
  });
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a record and reads it back, bigints included', async function () {
    await store.put('abc', { name: 'nginx', createdAt: 1732500000123456789n });
    expect(await store.get('abc')).to.deep.equal({ name: 'nginx', createdAt: 1732500000123456789n });
    expect(await readdir(join(dir, 'pods'))).to.deep.equal(['abc.json']);
  });

  it('returns undefined for a missing record and deletes idempotently', async function () {
    expect(await store.get('nope')).to.equal(undefined);
    await store.put('a', { name: 'x', createdAt: 1n });
    await store.delete('a');
    await store.delete('a');
    expect(await store.get('a')).to.equal(undefined);
  });

  it('removes leftovers of interrupted writes and reports unreadable records at load', async function () {
    await store.put('good', { name: 'g', createdAt: 2n });
    await writeFile(join(dir, 'pods', 'half.json.tmp-123456'), '{"kind":"po');
    await writeFile(join(dir, 'pods', 'bad.json'), '{"kind":"pod","version":1,"id":"bad","data":{"name":3}}');
    await writeFile(join(dir, 'pods', 'old.json'), '{"kind":"pod","version":0,"id":"old","data":{}}');
    const { records, invalid } = await store.loadAll();
    expect([...records.keys()]).to.deep.equal(['good']);
    expect(invalid.map((i) => i.file).sort()).to.deep.equal(['bad.json', 'old.json']);
    expect(invalid.find((i) => i.file === 'old.json')?.reason).to.match(/version 0/);
    expect((await readdir(join(dir, 'pods'))).sort()).to.deep.equal(['bad.json', 'good.json', 'old.json']);
  });

  it('refuses ids that could name a path outside its dir', async function () {
    for (const id of ['../x', 'a/b', '', '.hidden']) {
      await store.put(id, { name: 'x', createdAt: 1n }).then(
        () => expect.fail(`accepted ${id}`),
        (e: Error & { kind?: string }) => expect(e.kind).to.equal('InvalidArgument'),
      );
    }
  });

  it('replaces a record atomically: a reader sees the old or the new one', async function () {
    await store.put('p', { name: 'v1', createdAt: 1n });
    const writes = Array.from({ length: 20 }, (_, i) => store.put('p', { name: `v${i + 2}`, createdAt: BigInt(i) }));
    const reads = Array.from({ length: 20 }, () => store.get('p'));
    const seen = await Promise.all(reads);
    await Promise.all(writes);
    for (const r of seen) expect(r?.name).to.match(/^v\d+$/);
  });
});
