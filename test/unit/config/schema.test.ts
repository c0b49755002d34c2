import { expect } from 'chai';
import { ConfigError, DEFAULT_CONFIG, parseConfig } from '../../../src/config/schema.js';

function configError(doc: unknown, overrides = {}): ConfigError {
  try {
    parseConfig(doc, overrides);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('config/schema', function () {
  it('gives the built-in defaults for an empty file', function () {
    expect(parseConfig(null)).to.deep.equal(DEFAULT_CONFIG);
    expect(parseConfig(undefined).root).to.equal('/var/lib/skiff');
    expect(parseConfig({}).state).to.equal('/run/skiff');
  });

  it('lets flags win over the file', function () {
    const c = parseConfig({ root: '/a', logLevel: 'warn' }, { root: '/b', logLevel: undefined });
    expect(c.root).to.equal('/b');
    expect(c.logLevel).to.equal('warn');
  });

  it('returns a frozen config', function () {
    const c = parseConfig({ runtimeHandlers: { runc: { runtimePath: '/usr/sbin/runc' } } });
    expect(Object.isFrozen(c)).to.equal(true);
    expect(Object.isFrozen(c.runtimeHandlers)).to.equal(true);
    expect(c.runtimeHandlers.runc?.runtimePath).to.equal('/usr/sbin/runc');
  });

  it('takes the metrics endpoint on an IPv4 or bracketed IPv6 address, off by default', function () {
    expect(parseConfig({}).metrics).to.deep.equal({ enabled: false, listen: '127.0.0.1:9539' });
    expect(parseConfig({ metrics: { enabled: true, listen: '[::1]:9100' } }).metrics).to.deep.equal({ enabled: true, listen: '[::1]:9100' });
    expect(parseConfig({ metrics: { enabled: true } }).metrics.listen).to.equal('127.0.0.1:9539');
  });

  const cases: [string, unknown, string][] = [
    ['an unknown top-level key', { rootdir: '/x' }, 'rootdir: unknown key'],
    ['a wrong log level', { logLevel: 'verbose' }, 'logLevel: must be one of error, warn, info, debug; got "verbose"'],
    ['a relative state dir', { state: 'run' }, 'state: must be an absolute path; got "run"'],
    ['a negative timeout', { shutdownTimeoutSeconds: -1 }, 'shutdownTimeoutSeconds: must be a whole number'],
    ['a handler with a bad name', { runtimeHandlers: { 'Bad_Name': { runtimePath: '/x' } } }, 'runtimeHandlers.Bad_Name: handler names'],
    ['a handler with an unknown key', { runtimeHandlers: { runc: { path: '/x' } } }, 'runtimeHandlers.runc.path: unknown key'],
    ['a list at the top level', ['a'], '(top level): must be a mapping'],
    ['root equal to state', { root: '/x', state: '/x' }, 'state: must differ from root'],
    ['metrics turned on with a word', { metrics: { enabled: 'yes' } }, 'metrics.enabled: must be true or false; got "yes"'],
    ['a metrics address with a host name', { metrics: { listen: 'localhost:9539' } }, 'metrics.listen: must name an IP address'],
    ['a metrics address without a port', { metrics: { listen: '127.0.0.1' } }, 'metrics.listen: must be "ip:port"'],
    ['a metrics port out of range', { metrics: { listen: '127.0.0.1:70000' } }, 'metrics.listen: port must be from 1 to 65535'],
    ['an IPv6 metrics address without brackets', { metrics: { listen: '::1:9539' } }, 'metrics.listen: must be "ip:port"'],
    ['an unknown metrics key', { metrics: { port: 1 } }, 'metrics.port: unknown key'],
  ];
  for (const [what, doc, msg] of cases) {
    it(`names the key and value of ${what}`, function () {
      expect(configError(doc).message).to.contain(msg);
    });
  }
});
