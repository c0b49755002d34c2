import { expect } from 'chai';
import { formatPlatform, hostPlatform, normalizePlatform, selectPlatform, type Platform } from '../../../../src/storage/registry/platform.js';

const entry = (p: Platform, name: string) => ({ platform: p, name });

describe('storage/registry/platform', function () {
  it("maps Node's architectures to GOARCH", function () {
    expect(hostPlatform('x64')).to.deep.equal({ os: 'linux', architecture: 'amd64' });
    expect(hostPlatform('arm64')).to.deep.equal({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(hostPlatform('arm', '7')).to.deep.equal({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(hostPlatform('arm', 6)).to.deep.equal({ os: 'linux', architecture: 'arm', variant: 'v6' });
    expect(hostPlatform('ia32')).to.deep.equal({ os: 'linux', architecture: '386' });
    expect(hostPlatform('ppc64')).to.deep.equal({ os: 'linux', architecture: 'ppc64le' });
    expect(hostPlatform('s390x').architecture).to.equal('s390x');
    expect(hostPlatform().os).to.equal('linux');
  });

  it('treats baseline variants as none', function () {
    expect(normalizePlatform({ os: 'linux', architecture: 'aarch64', variant: 'v8' })).to.deep.equal({ os: 'linux', architecture: 'arm64' });
    expect(normalizePlatform({ os: 'Linux', architecture: 'x86_64' })).to.deep.equal({ os: 'linux', architecture: 'amd64' });
    expect(normalizePlatform({ os: 'linux', architecture: 'arm' })).to.deep.equal({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(formatPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' })).to.equal('linux/arm/v7');
    expect(formatPlatform({ os: 'linux', architecture: 'amd64', variant: '' })).to.equal('linux/amd64');
  });

  const index = [
    entry({ os: 'unknown', architecture: 'unknown' }, 'attestation'),
    entry({ os: 'windows', architecture: 'amd64' }, 'windows'),
    entry({ os: 'linux', architecture: 'arm', variant: 'v6' }, 'armv6'),
    entry({ os: 'linux', architecture: 'arm', variant: 'v7' }, 'armv7'),
    entry({ os: 'linux', architecture: 'arm64', variant: 'v8' }, 'arm64'),
    entry({ os: 'linux', architecture: 'amd64' }, 'amd64'),
    entry({ os: 'linux', architecture: 'amd64', variant: 'v3' }, 'amd64v3'),
  ];

  it('picks the exact platform, else the closest compatible variant', function () {
    expect(selectPlatform(index, { os: 'linux', architecture: 'amd64' })?.name).to.equal('amd64');
    expect(selectPlatform(index, { os: 'linux', architecture: 'arm64', variant: 'v8' })?.name).to.equal('arm64');
    expect(selectPlatform(index, { os: 'linux', architecture: 'arm64' })?.name).to.equal('arm64');
    expect(selectPlatform(index, { os: 'linux', architecture: 'arm', variant: 'v7' })?.name).to.equal('armv7');
    expect(selectPlatform(index, { os: 'linux', architecture: 'arm', variant: 'v6' })?.name).to.equal('armv6');
    expect(selectPlatform([index[2]!], { os: 'linux', architecture: 'arm', variant: 'v7' })?.name).to.equal('armv6');
    expect(selectPlatform([index[3]!], { os: 'linux', architecture: 'arm', variant: 'v6' })).to.equal(undefined);
    expect(selectPlatform(index, { os: 'linux', architecture: 's390x' })).to.equal(undefined);
    const bare = { name: 'no platform' } as { name: string; platform?: Platform };
    expect(selectPlatform([bare], { os: 'linux', architecture: 'amd64' })?.name).to.equal('no platform');
    expect(selectPlatform([bare, index[5]!], { os: 'linux', architecture: 'amd64' })?.name).to.equal('amd64');
  });
});
