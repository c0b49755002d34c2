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

  const cases: [string, unknown, string][] = [
    ['an unknown top-level key', { rootdir: '/x' }, 'rootdir: unknown key'],
    ['a wrong log level', { logLevel: 'verbose' }, 'logLevel: must be one of error, warn, info, debug; got "verbose"'],
    ['a relative state dir', { state: 'run' }, 'state: must be an absolute path; got "run"'],
    ['a negative timeout', { shutdownTimeoutSeconds: -1 }, 'shutdownTimeoutSeconds: must be a whole number'],
    ['a handler with a bad name', { runtimeHandlers: { 'Bad_Name': { runtimePath: '/x' } } }, 'runtimeHandlers.Bad_Name: handler names'],
    ['a handler with an unknown key', { runtimeHandlers: { runc: { path: '/x' } } }, 'runtimeHandlers.runc.path: unknown key'],
    ['a list at the top level', ['a'], '(top level): must be a mapping'],
    ['root equal to state', { root: '/x', state: '/x' }, 'state: must differ from root'],
  ];
  for (const [what, doc, msg] of cases) {
    it(`names the key and value of ${what}`, function () {
      expect(configError(doc).message).to.contain(msg);
    });
  }
});
