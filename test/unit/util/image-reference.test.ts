import { expect } from 'chai';
import { SkiffError } from '../../../src/core/errors.js';
import type { Digest } from '../../../src/core/ids.js';
import { apiHost, parseReference, withDigest } from '../../../src/util/image-reference.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('storage/registry/reference', function () {
  const normalised: [string, string, { registry: string; repository: string; tag?: string; digest?: string }][] = [
    ['busybox', 'docker.io/library/busybox:latest', { registry: 'docker.io', repository: 'library/busybox', tag: 'latest' }],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', { registry: 'docker.io', repository: 'library/busybox', tag: '1.36' }],
    ['library/busybox', 'docker.io/library/busybox:latest', { registry: 'docker.io', repository: 'library/busybox' }],
    ['docker.io/busybox', 'docker.io/library/busybox:latest', { registry: 'docker.io', repository: 'library/busybox' }],
    ['index.docker.io/busybox', 'docker.io/library/busybox:latest', { registry: 'docker.io', repository: 'library/busybox' }],
    ['registry-1.docker.io/library/busybox', 'docker.io/library/busybox:latest', { registry: 'docker.io', repository: 'library/busybox' }],
    ['docker.io/library/busybox:latest', 'docker.io/library/busybox:latest', { registry: 'docker.io', repository: 'library/busybox' }],
    ['bitnami/nginx:1.25', 'docker.io/bitnami/nginx:1.25', { registry: 'docker.io', repository: 'bitnami/nginx', tag: '1.25' }],
    ['registry.k8s.io/pause:3.10', 'registry.k8s.io/pause:3.10', { registry: 'registry.k8s.io', repository: 'pause', tag: '3.10' }],
    ['quay.io/a/b/c', 'quay.io/a/b/c:latest', { registry: 'quay.io', repository: 'a/b/c', tag: 'latest' }],
    ['localhost/x', 'localhost/x:latest', { registry: 'localhost', repository: 'x' }],
    ['localhost:5000/x:v1', 'localhost:5000/x:v1', { registry: 'localhost:5000', repository: 'x', tag: 'v1' }],
    ['127.0.0.1:5000/team/app:v1.2-rc_3', '127.0.0.1:5000/team/app:v1.2-rc_3', { registry: '127.0.0.1:5000', repository: 'team/app', tag: 'v1.2-rc_3' }],
    ['[::1]:5000/app', '[::1]:5000/app:latest', { registry: '[::1]:5000', repository: 'app' }],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`, { registry: 'docker.io', repository: 'library/busybox', digest: D }],
    [`busybox:1.36@${D}`, `docker.io/library/busybox:1.36@${D}`, { registry: 'docker.io', repository: 'library/busybox', tag: '1.36', digest: D }],
    [`host:5000/r@${D}`, `host:5000/r@${D}`, { registry: 'host:5000', repository: 'r', digest: D }],
    ['a/b__c/d-e/f.g/h--i', 'docker.io/a/b__c/d-e/f.g/h--i:latest', { registry: 'docker.io', repository: 'a/b__c/d-e/f.g/h--i' }],
    ['Example.COM/app', 'Example.COM/app:latest', { registry: 'Example.COM', repository: 'app' }],
    ['busybox:_x', 'docker.io/library/busybox:_x', { registry: 'docker.io', repository: 'library/busybox', tag: '_x' }],
    [`busybox:${'t'.repeat(128)}`, `docker.io/library/busybox:${'t'.repeat(128)}`, { registry: 'docker.io', repository: 'library/busybox' }],
  ];
  for (const [input, full, fields] of normalised) {
    it(`normalises ${input.length > 60 ? input.slice(0, 60) + '…' : input}`, function () {
      const ref = parseReference(input);
      expect(ref.toString()).to.equal(full);
      expect(String(ref)).to.equal(full);
      expect(ref.registry).to.equal(fields.registry);
      expect(ref.repository).to.equal(fields.repository);
      expect(ref.name).to.equal(`${fields.registry}/${fields.repository}`);
      if ('tag' in fields) expect(ref.tag).to.equal(fields.tag);
      if ('digest' in fields) expect(ref.digest).to.equal(fields.digest);
      // normalised text parses back to itself
      expect(parseReference(full).toString()).to.equal(full);
    });
  }

  it('has no tag when only a digest is given', function () {
    const ref = parseReference(`busybox@${D}`);
    expect(ref.tag).to.equal(undefined);
    expect(ref.digest).to.equal(D);
  });

  it('uses the configured default registry, without Docker Hub\'s "library/"', function () {
    expect(parseReference('busybox', { defaultRegistry: 'quay.io' }).toString()).to.equal('quay.io/busybox:latest');
    expect(parseReference('registry.k8s.io/pause', { defaultRegistry: 'quay.io' }).toString()).to.equal('registry.k8s.io/pause:latest');
  });

  it('serialises to JSON as its string form', function () {
    expect(JSON.stringify({ r: parseReference('busybox') })).to.equal('{"r":"docker.io/library/busybox:latest"}');
  });

  it('pins a reference to a digest, keeping its tag', function () {
    expect(withDigest(parseReference('busybox:1'), D as Digest).toString()).to.equal(`docker.io/library/busybox:1@${D}`);
  });

  it("maps Docker Hub to its API host and leaves the others", function () {
    expect(apiHost('docker.io')).to.equal('registry-1.docker.io');
    expect(apiHost('registry.k8s.io')).to.equal('registry.k8s.io');
    expect(apiHost('localhost:5000')).to.equal('localhost:5000');
  });

  const invalid: [string, RegExp][] = [
    ['', /empty/],
    ['Busybox', /lowercase/],
    ['docker.io/library/BusyBox', /lowercase/],
    ['foo/Bar:1', /lowercase/],
    ['busybox:', /invalid tag/],
    ['busybox:-x', /invalid tag/],
    ['busybox:.x', /invalid tag/],
    [`busybox:${'t'.repeat(129)}`, /invalid tag/],
    ['busybox:a+b', /invalid tag/],
    ['busybox@sha256:abc', /invalid digest/],
    [`busybox@sha256:${'A'.repeat(64)}`, /invalid digest/],
    [`busybox@sha512:${'a'.repeat(128)}`, /only sha256/],
    [`busybox@${D}@${D}`, /more than one/],
    ['busy box', /white space/],
    ['/busybox', /empty path component|invalid registry/],
    ['docker.io//busybox', /empty path component/],
    ['busybox/', /empty path component/],
    ['-busybox', /invalid path component/],
    ['busy..box', /invalid path component/],
    ['busy___box', /invalid path component/],
    ['bad_host.example:port/x', /invalid registry host|invalid tag/],
    ['-bad.example/x', /invalid registry host/],
    ['a'.repeat(256), /longer than 255/],
    ['a'.repeat(64), /image id/],
    [':tag', /empty repository/],
  ];
  for (const [input, reason] of invalid) {
    it(`rejects ${JSON.stringify(input.length > 40 ? input.slice(0, 40) + '…' : input)}`, function () {
      let err: unknown;
      try {
        parseReference(input);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(SkiffError);
      expect((err as SkiffError).kind).to.equal('InvalidArgument');
      expect((err as SkiffError).message).to.match(reason);
    });
  }
});
