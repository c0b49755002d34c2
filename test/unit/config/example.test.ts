// deploy/config.yaml documents every key with its default: it must parse to exactly the defaults,
// and name every key the schema knows.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { DEFAULT_CONFIG, parseConfig } from '../../../src/config/schema.js';

const TOP = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

describe('deploy/config.yaml', function () {
  const doc = parse(readFileSync(join(TOP, 'deploy/config.yaml'), 'utf8')) as Record<string, unknown>;

  it('parses to the built-in defaults', function () {
    expect(JSON.parse(JSON.stringify(parseConfig(doc)))).to.deep.equal(JSON.parse(JSON.stringify(DEFAULT_CONFIG)));
  });

  it('lists every key of every section', function () {
    expect(Object.keys(doc).sort()).to.deep.equal(Object.keys(DEFAULT_CONFIG).sort());
    for (const section of ['registry', 'images', 'network', 'sandbox', 'metrics'] as const) {
      expect(Object.keys(doc[section] as object).sort(), section).to.deep.equal(Object.keys(DEFAULT_CONFIG[section]).sort());
    }
  });
});
