import { expect } from 'chai';
import { imageUser, parseImageConfig } from '../../../../src/storage/images/image-config.js';

const D1 = 'sha256:' + '1'.repeat(64);
const D2 = 'sha256:' + '2'.repeat(64);

describe('storage/images/image-config', function () {
  it('reads the diff ids and what containers inherit', function () {
    const c = parseImageConfig(
      Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          rootfs: { type: 'layers', diff_ids: [D1, D2] },
          config: {
            User: 'nginx:web',
            Env: ['PATH=/bin'],
            Entrypoint: ['/docker-entrypoint.sh'],
            Cmd: ['nginx', '-g', 'daemon off;'],
            WorkingDir: '/srv',
            StopSignal: 'SIGQUIT',
            Labels: { a: 'b' },
            ExposedPorts: { '80/tcp': {} },
            Volumes: { '/data': {} },
          },
        }),
      ),
    );
    expect(c.diffIds).to.deep.equal([D1, D2]);
    expect(c.runtime).to.deep.equal({
      user: 'nginx:web',
      env: ['PATH=/bin'],
      entrypoint: ['/docker-entrypoint.sh'],
      cmd: ['nginx', '-g', 'daemon off;'],
      workingDir: '/srv',
      stopSignal: 'SIGQUIT',
      labels: { a: 'b' },
      exposedPorts: ['80/tcp'],
      volumes: ['/data'],
    });
  });

  it('accepts a config without a config section (scratch images)', function () {
    const c = parseImageConfig(Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: [] } })));
    expect(c.runtime.cmd).to.deep.equal([]);
    expect(c.runtime.user).to.equal('');
  });

  it('refuses a config that is not JSON, has no layers, or has a malformed diff id', function () {
    expect(() => parseImageConfig(Buffer.from('{'))).to.throw(/not JSON/);
    expect(() => parseImageConfig(Buffer.from('{}'))).to.throw(/rootfs.type/);
    expect(() => parseImageConfig(Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: ['md5:x'] } })))).to.throw(
      /not a sha256 digest/,
    );
    expect(() =>
      parseImageConfig(Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: [] }, config: { Env: 'x' } }))),
    ).to.throw(/config.Env/);
  });

  it('derives the CRI uid or user name as containerd does', function () {
    expect(imageUser('')).to.deep.equal({});
    expect(imageUser('1000')).to.deep.equal({ uid: 1000n });
    expect(imageUser('1000:1000')).to.deep.equal({ uid: 1000n });
    expect(imageUser('nginx')).to.deep.equal({ username: 'nginx' });
    expect(imageUser('nginx:web')).to.deep.equal({ username: 'nginx' });
  });
});
