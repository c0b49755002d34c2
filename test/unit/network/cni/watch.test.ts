import { expect } from 'chai';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchCniConfDir } from '../../../../src/network/cni/watch.js';
import { loadCniConfig } from '../../../../src/network/cni/config.js';
import { silentLogger } from '../../../../src/log/logger.js';

describe('network/cni/watch', function () {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'skiff-cniwatch-'))));
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('creates a missing dir and reports, once per burst, a config that appears later', async function () {
    const ac = new AbortController();
    const conf = join(dir, 'net.d');
    let count = 0;
    let changed!: () => void;
    let next = new Promise<void>((r) => (changed = r));
    await watchCniConfDir({ log: silentLogger(), signal: ac.signal, deadline: undefined }, conf, () => {
      count++;
      changed();
    }, { debounceMs: 30 });
    try {
      await writeFile(join(conf, 'notes.txt'), 'ignored');
      // An installer's usual move: write a temp file, rename it into place.
      await writeFile(join(conf, '.tmp-10-net'), JSON.stringify({ cniVersion: '1.0.0', name: 'late', type: 'bridge' }));
      await rename(join(conf, '.tmp-10-net'), join(conf, '10-net.conf'));
      await next;
      expect(count).to.equal(1);
      expect((await loadCniConfig(conf))?.name).to.equal('late');
      next = new Promise<void>((r) => (changed = r));
      await rm(join(conf, '10-net.conf'));
      await next;
      expect(count).to.equal(2);
    } finally {
      ac.abort();
    }
  });
});
