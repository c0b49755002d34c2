import { expect } from 'chai';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { isKind } from '../../../src/core/errors.js';
import { Paths } from '../../../src/state/paths.js';
import { privateDirs, securePrivateDirs } from '../../../src/state/private-dirs.js';

const modeOf = (p: string) => (statSync(p).mode & 0o7777).toString(8);

describe('state/private-dirs', function () {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-private-dirs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('makes the root and every dir that leads to container files 0700, the state dir 0711 for its socket', async function () {
    const paths = new Paths({ root: join(dir, 'root'), state: join(dir, 'state') });
    await securePrivateDirs(privateDirs(paths));
    const modes = Object.fromEntries(privateDirs(paths).map((d) => [relative(dir, d.path), modeOf(d.path)]));
    expect(modes).to.deep.equal({
      root: '700',
      state: '711',
      'root/content': '700',
      'root/layers': '700',
      'root/images': '700',
      'root/ipam': '700',
      'root/writable': '700',
      'root/runtime': '700',
      'state/records': '700',
      'state/ns': '700',
      'state/sandboxes': '700',
      'state/containers': '700',
      'state/exits': '700',
      'state/attach': '700',
    });
  });

  it('tightens a dir that exists with a looser mode and keeps what is inside it', async function () {
    const d = join(dir, 'old');
    mkdirSync(d);
    chmodSync(d, 0o755);
    writeFileSync(join(d, 'kept'), 'x');
    await securePrivateDirs([{ path: d, mode: 0o700 }]);
    expect(modeOf(d)).to.equal('700');
    expect(modeOf(join(d, 'kept'))).to.not.equal(undefined);
  });

  it('refuses a file where a dir belongs', async function () {
    writeFileSync(join(dir, 'f'), '');
    const e = await securePrivateDirs([{ path: join(dir, 'f'), mode: 0o700 }]).catch((x: unknown) => x);
    expect(isKind(e, 'FailedPrecondition')).to.equal(true);
    expect((e as Error).message).to.equal(`${join(dir, 'f')} is not a directory`);
  });
});
