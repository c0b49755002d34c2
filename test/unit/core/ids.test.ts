import { expect } from 'chai';
import { isDigest, isFullId, newRequestId, newSandboxId, parseDigest } from '../../../src/core/ids.js';

describe('core/ids', function () {
  it('makes 64-hex object ids, all different', function () {
    const ids = new Set(Array.from({ length: 100 }, () => newSandboxId()));
    expect(ids.size).to.equal(100);
    for (const id of ids) expect(isFullId(id)).to.equal(true);
  });

  it('makes distinct request ids', function () {
    expect(newRequestId()).to.not.equal(newRequestId());
  });

  it('accepts sha256 digests only in canonical form', function () {
    const d = 'sha256:' + 'a'.repeat(64);
    expect(parseDigest(d)).to.equal(d);
    expect(isDigest('sha256:' + 'A'.repeat(64))).to.equal(false);
    expect(() => parseDigest('sha512:abc')).to.throw(/invalid digest/);
  });
});
