import { expect } from 'chai';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareVersions, loadCniConfig, parseCniConfig } from '../../../../src/network/cni/config.js';
import { SkiffError } from '../../../../src/core/errors.js';

const LIST = {
  cniVersion: '1.0.0',
  name: 'podnet',
  plugins: [
    { type: 'bridge', bridge: 'cni0', ipam: { type: 'host-local', subnet: '10.22.0.0/16' } },
    { type: 'portmap', capabilities: { portMappings: true } },
  ],
};

describe('network/cni/config', function () {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'skiff-cniconf-'))));
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('parses a conflist, keeping each plugin object as written', function () {
    const l = parseCniConfig(JSON.stringify(LIST), '/etc/cni/net.d/10-pod.conflist');
    expect(l).to.deep.include({ cniVersion: '1.0.0', name: 'podnet', disableCheck: false, file: '/etc/cni/net.d/10-pod.conflist' });
    expect(l.plugins.map((p) => p.type)).to.deep.equal(['bridge', 'portmap']);
    expect(l.plugins[0]?.raw).to.deep.equal(LIST.plugins[0]);
    expect(l.plugins[1]?.capabilities).to.deep.equal({ portMappings: true });
  });

  it('wraps a single .conf into a list of one', function () {
    const l = parseCniConfig(JSON.stringify({ cniVersion: '0.4.0', name: 'one', type: 'bridge' }), '10-one.conf');
    expect(l.plugins).to.have.length(1);
    expect(l.plugins[0]?.type).to.equal('bridge');
  });

  const bad: [string, unknown, string][] = [
    ['not JSON', '{', 'is not JSON'],
    ['an array', [], 'JSON object'],
    ['an unsupported version', { ...LIST, cniVersion: '0.2.0' }, 'cniVersion "0.2.0"'],
    ['no name', { ...LIST, name: '' }, '"name" is missing'],
    ['no plugins', { ...LIST, plugins: [] }, 'non-empty list'],
    ['a plugin without type', { ...LIST, plugins: [{}] }, 'plugin "type"'],
    ['a type with a path', { ...LIST, plugins: [{ type: '../../bin/sh' }] }, 'plugin "type"'],
    ['non-boolean capabilities', { ...LIST, plugins: [{ type: 'x', capabilities: { portMappings: 'yes' } }] }, 'true or false'],
  ];
  for (const [name, doc, msg] of bad) {
    it(`refuses ${name} as FailedPrecondition`, function () {
      const text = typeof doc === 'string' ? doc : JSON.stringify(doc);
      try {
        parseCniConfig(text, 'x.conflist');
        expect.fail('accepted');
      } catch (e) {
        expect((e as SkiffError).kind).to.equal('FailedPrecondition');
        expect((e as Error).message).to.contain(msg);
      }
    });
  }

  it('loads the first file by name among .conflist, .conf and .json', async function () {
    expect(await loadCniConfig(join(dir, 'missing'))).to.equal(undefined);
    expect(await loadCniConfig(dir)).to.equal(undefined);
    await writeFile(join(dir, 'README'), 'not a config');
    await writeFile(join(dir, '.hidden.conflist'), '{');
    await writeFile(join(dir, '20-b.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'b', type: 'bridge' }));
    expect((await loadCniConfig(dir))?.name).to.equal('b');
    await writeFile(join(dir, '10-a.conflist'), JSON.stringify({ ...LIST, name: 'a' }));
    expect((await loadCniConfig(dir))?.name).to.equal('a');
    // Upper case sorts before lower case, as in Go.
    await writeFile(join(dir, '10-Z.json'), JSON.stringify({ cniVersion: '1.0.0', name: 'z', type: 'bridge' }));
    expect((await loadCniConfig(dir))?.name).to.equal('z');
  });

  it('reports a broken first file instead of falling through', async function () {
    await symlink(join(dir, 'nowhere'), join(dir, '00-dangling.conflist'));
    await writeFile(join(dir, '10-ok.conflist'), JSON.stringify(LIST));
    try {
      await loadCniConfig(dir);
      expect.fail('loaded');
    } catch (e) {
      expect((e as SkiffError).kind).to.equal('FailedPrecondition');
    }
  });

  it('compares versions numerically', function () {
    expect(compareVersions('0.10.0', '0.4.0')).to.equal(1);
    expect(compareVersions('1.0.0', '1.0')).to.equal(0);
    expect(compareVersions('0.3.1', '0.4.0')).to.equal(-1);
  });
});
