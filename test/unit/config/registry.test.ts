import { expect } from 'chai';
import { ConfigError } from '../../../src/config/schema.js';
import { DEFAULT_REGISTRY_CONFIG, parseRegistryConfig } from '../../../src/config/registry.js';

function configError(raw: unknown): ConfigError {
  try {
    parseRegistryConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('config/registry', function () {
  it('gives the defaults when the section is missing or empty', function () {
    expect(parseRegistryConfig(undefined)).to.equal(DEFAULT_REGISTRY_CONFIG);
    expect(parseRegistryConfig(null)).to.equal(DEFAULT_REGISTRY_CONFIG);
    expect(parseRegistryConfig({})).to.deep.equal(DEFAULT_REGISTRY_CONFIG);
    expect(DEFAULT_REGISTRY_CONFIG).to.deep.include({
      fallbackToUpstream: true,
      defaultRegistry: 'docker.io',
      noProgressTimeoutSeconds: 60,
      maxAttempts: 4,
      authFile: '',
    });
  });

  it('accepts the mirror-only shape of the integration setup', function () {
    const c = parseRegistryConfig({
      mirrors: { 'registry.k8s.io': ['http://127.0.0.1:5000'] },
      fallbackToUpstream: false,
      insecure: ['127.0.0.1:5000'],
      pinned: ['registry.k8s.io/pause:3.10'],
    });
    expect(c.mirrors).to.deep.equal({ 'registry.k8s.io': ['http://127.0.0.1:5000'] });
    expect(c.fallbackToUpstream).to.equal(false);
    expect(c.insecure).to.deep.equal(['127.0.0.1:5000']);
    expect(c.pinned).to.deep.equal(['registry.k8s.io/pause:3.10']);
    expect(c.maxAttempts).to.equal(4);
    expect(Object.isFrozen(c)).to.equal(true);
    expect(Object.isFrozen(c.mirrors)).to.equal(true);
  });

  it('accepts every key', function () {
    const c = parseRegistryConfig({
      mirrors: { 'docker.io': ['https://mirror.example', 'http://[::1]:5000/'], 'Local:5000': [] },
      fallbackToUpstream: true,
      insecure: ['mirror.example', '10.0.0.1:5000'],
      ca: { 'registry.corp.example:443': '/etc/skiff/corp-ca.pem' },
      pinned: [],
      authFile: '/etc/skiff/auth.json',
      defaultRegistry: 'quay.io',
      noProgressTimeoutSeconds: 0.5,
      maxAttempts: 1,
    });
    expect(c.mirrors).to.deep.equal({ 'docker.io': ['https://mirror.example', 'http://[::1]:5000'], 'local:5000': [] });
    expect(c.ca).to.deep.equal({ 'registry.corp.example:443': '/etc/skiff/corp-ca.pem' });
    expect(c.defaultRegistry).to.equal('quay.io');
    expect(c.noProgressTimeoutSeconds).to.equal(0.5);
    expect(parseRegistryConfig({ authFile: '' }).authFile).to.equal('');
  });

  const bad: [string, unknown, string, RegExp][] = [
    ['a non-mapping section', [], 'registry', /mapping/],
    ['an unknown key', { mirror: {} }, 'registry.mirror', /unknown key/],
    ['mirrors as a list', { mirrors: [] }, 'registry.mirrors', /mapping/],
    ['a mirror host with a scheme', { mirrors: { 'https://x': [] } }, 'registry.mirrors."https://x"', /host or host:port/],
    ['a mirror host with a bad port', { mirrors: { 'x:99999': [] } }, 'registry.mirrors."x:99999"', /host or host:port/],
    ['mirror URLs not a list', { mirrors: { 'registry.k8s.io': 'http://m' } }, 'registry.mirrors."registry.k8s.io"', /list/],
    ['a mirror without scheme', { mirrors: { 'registry.k8s.io': ['127.0.0.1:5000'] } }, 'registry.mirrors."registry.k8s.io"[0]', /scheme|URL/],
    ['a mirror URL with a path', { mirrors: { 'registry.k8s.io': ['http://m', 'https://m/v2'] } }, 'registry.mirrors."registry.k8s.io"[1]', /without a path/],
    ['a mirror URL with credentials', { mirrors: { q: ['https://u:p@m'] } }, 'registry.mirrors.q[0]', /credentials/],
    ['an ftp mirror', { mirrors: { q: ['ftp://m'] } }, 'registry.mirrors.q[0]', /http or https/],
    ['a mirror URL that is a number', { mirrors: { q: [5000] } }, 'registry.mirrors.q[0]', /string/],
    ['fallbackToUpstream as a string', { fallbackToUpstream: 'no' }, 'registry.fallbackToUpstream', /true or false/],
    ['insecure as a string', { insecure: '127.0.0.1:5000' }, 'registry.insecure', /list/],
    ['an insecure URL', { insecure: ['ok', 'http://127.0.0.1:5000'] }, 'registry.insecure[1]', /host or host:port/],
    ['a relative CA path', { ca: { 'r.example': 'ca.pem' } }, 'registry.ca."r.example"', /absolute/],
    ['an empty pinned entry', { pinned: ['ok', ''] }, 'registry.pinned[1]', /image reference/],
    ['a relative auth file', { authFile: 'auth.json' }, 'registry.authFile', /absolute/],
    ['a default registry with a scheme', { defaultRegistry: 'https://quay.io' }, 'registry.defaultRegistry', /host/],
    ['a zero timeout', { noProgressTimeoutSeconds: 0 }, 'registry.noProgressTimeoutSeconds', /number from/],
    ['a string timeout', { noProgressTimeoutSeconds: '60' }, 'registry.noProgressTimeoutSeconds', /number from/],
    ['fractional attempts', { maxAttempts: 1.5 }, 'registry.maxAttempts', /whole number/],
    ['zero attempts', { maxAttempts: 0 }, 'registry.maxAttempts', /whole number from 1/],
  ];
  for (const [what, raw, key, problem] of bad) {
    it(`rejects ${what}, naming ${key}`, function () {
      const e = configError(raw);
      expect(e.key).to.equal(key);
      expect(e.problem).to.match(problem);
    });
  }

  it('rejects the same mirror host twice in different case', function () {
    expect(configError({ mirrors: { 'r.example': [], 'R.example': [] } }).problem).to.match(/twice/);
  });
});
