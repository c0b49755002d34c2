import { expect } from 'chai';
import { ConfigError, parseConfig } from '../../../src/config/schema.js';
import { DEFAULT_IMAGES_CONFIG, parseImagesConfig } from '../../../src/config/images.js';

function configError(raw: unknown): ConfigError {
  try {
    parseImagesConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('config/images', function () {
  it('defaults to 32 GiB per layer and per image and a million entries per layer', function () {
    expect(parseImagesConfig(undefined)).to.equal(DEFAULT_IMAGES_CONFIG);
    expect(parseConfig({}).images).to.deep.equal({
      maxLayerBytes: 32 * 2 ** 30,
      maxImageBytes: 32 * 2 ** 30,
      maxLayerEntries: 1_000_000,
    });
  });

  it('takes each key on its own, frozen', function () {
    const c = parseConfig({ images: { maxLayerBytes: 4 * 2 ** 20, maxLayerEntries: 50 } }).images;
    expect(c).to.deep.equal({ maxLayerBytes: 4 * 2 ** 20, maxImageBytes: 32 * 2 ** 30, maxLayerEntries: 50 });
    expect(Object.isFrozen(c)).to.equal(true);
  });

  const bad: [string, unknown, string][] = [
    ['a cap below 1 MiB', { maxLayerBytes: 1000 }, 'images.maxLayerBytes: must be a whole number from 1048576'],
    ['a cap as a string', { maxImageBytes: '32Gi' }, 'images.maxImageBytes: must be a whole number'],
    ['a fractional entry count', { maxLayerEntries: 1.5 }, 'images.maxLayerEntries: must be a whole number from 1'],
    ['no entries at all', { maxLayerEntries: 0 }, 'images.maxLayerEntries: must be a whole number from 1'],
    ['an unknown key', { maxFileBytes: 1 }, 'images.maxFileBytes: unknown key'],
    ['a list', [], 'images: must be a mapping'],
  ];
  for (const [what, raw, message] of bad) {
    it(`names the key and value of ${what}`, function () {
      expect(configError(raw).message).to.contain(message);
    });
  }
});
