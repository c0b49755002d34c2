import { expect } from 'chai';
import { isKind } from '../../../src/core/errors.js';
import { parseGroup, parsePasswd, resolveUser } from '../../../src/oci/user.js';
import type { UserInput } from '../../../src/oci/types.js';

const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  '# a comment',
  '',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'nginx:x:101:101:nginx:/var/cache/nginx:/sbin/nologin',
  'app:x:1000:1000::/home/app:/bin/sh',
  'nohome:x:1001:1001::',
  'broken:x:notanumber:1:::',
  'dup:x:1000:5:second entry for 1000:/elsewhere:/bin/sh',
].join('\n');

const GROUP = [
  'root:x:0:root',
  'daemon:x:1:',
  'wheel:x:10:root,app',
  'audio:x:29: app , nginx',
  'nginx:x:101:nginx',
  'app:x:1000:app',
  'web:x:2000:nginx',
  'bad:x:zz:app',
].join('\n');

const u = (fields: Partial<UserInput>, imageUser = ''): UserInput => ({ image: { user: imageUser }, ...fields });

function thrown(f: () => unknown): Error | undefined {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  return undefined;
}

describe('oci/user', function () {
  it('parses passwd and group, skipping comments and malformed lines', function () {
    const p = parsePasswd(PASSWD);
    expect(p.map((e) => e.name)).to.deep.equal(['root', 'daemon', 'nginx', 'app', 'nohome', 'dup']);
    expect(p[4]).to.deep.equal({ name: 'nohome', uid: 1001, gid: 1001, home: '/' });
    const g = parseGroup(GROUP);
    expect(g.map((e) => e.name)).to.deep.equal(['root', 'daemon', 'wheel', 'audio', 'nginx', 'app', 'web']);
    expect(g[3]!.members).to.deep.equal(['app', 'nginx']);
    expect(parsePasswd(undefined)).to.deep.equal([]);
  });

  it('runs as root with no user anywhere', function () {
    expect(resolveUser(u({}), PASSWD, GROUP)).to.deep.equal({
      uid: 0,
      gid: 0,
      additionalGids: [0, 10],
      home: '/root',
      username: 'root',
    });
    expect(resolveUser(u({}), undefined, undefined)).to.deep.equal({ uid: 0, gid: 0, additionalGids: [0], home: '/' });
  });

  describe('image USER forms', function () {
    type Row = [string, number, number, number[], string];
    const table: Row[] = [
      ['1000', 1000, 1000, [10, 29, 1000], '/home/app'],
      ['app', 1000, 1000, [10, 29, 1000], '/home/app'],
      ['nginx', 101, 101, [29, 101, 2000], '/var/cache/nginx'],
      ['nginx:web', 101, 2000, [29, 2000], '/var/cache/nginx'],
      ['nginx:5', 101, 5, [5, 29, 2000], '/var/cache/nginx'],
      ['1000:2000', 1000, 2000, [10, 29, 2000], '/home/app'],
      ['1000:web', 1000, 2000, [10, 29, 2000], '/home/app'],
      ['4242', 4242, 0, [0], '/'],
      ['4242:77', 4242, 77, [77], '/'],
      ['0', 0, 0, [0, 10], '/root'],
    ];
    for (const [user, uid, gid, additionalGids, home] of table) {
      it(`"${user}" → ${uid}:${gid}`, function () {
        const r = resolveUser(u({}, user), PASSWD, GROUP);
        expect({ uid: r.uid, gid: r.gid, additionalGids: r.additionalGids, home: r.home }).to.deep.equal({
          uid,
          gid,
          additionalGids,
          home,
        });
      });
    }

    it('takes the first passwd entry of a uid', function () {
      const r = resolveUser(u({}, '1000'), PASSWD, GROUP);
      expect(r.username).to.equal('app');
      expect(r.home).to.equal('/home/app');
    });

    it('takes a numeric uid without /etc/passwd, gid 0', function () {
      expect(resolveUser(u({}, '1000'), undefined, undefined)).to.deep.equal({
        uid: 1000,
        gid: 0,
        additionalGids: [0],
        home: '/',
      });
    });

    it('is InvalidArgument for an unknown user name, also without /etc/passwd', function () {
      for (const passwd of [PASSWD, undefined]) {
        const e = thrown(() => resolveUser(u({}, 'ghost'), passwd, GROUP));
        expect(isKind(e, 'InvalidArgument')).to.equal(true);
        expect(e!.message).to.equal('user ghost not found in /etc/passwd');
      }
    });

    it('is InvalidArgument for an unknown group name', function () {
      const e = thrown(() => resolveUser(u({}, 'app:ghosts'), PASSWD, GROUP));
      expect(isKind(e, 'InvalidArgument')).to.equal(true);
      expect(e!.message).to.equal('group ghosts not found in /etc/group');
      expect(isKind(thrown(() => resolveUser(u({}, '1000:web'), PASSWD, undefined)), 'InvalidArgument')).to.equal(true);
    });

    it('is InvalidArgument for malformed user strings and out-of-range ids', function () {
      for (const s of ['a:b:c', ':1', '1:', ':', '4294967295', '99999999999', '1:4294967295']) {
        expect(isKind(thrown(() => resolveUser(u({}, s), PASSWD, GROUP)), 'InvalidArgument'), s).to.equal(true);
      }
    });
  });

  describe('CRI fields', function () {
    it('run_as_user wins over the image user', function () {
      const r = resolveUser(u({ runAsUser: 101 }, 'app:web'), PASSWD, GROUP);
      expect([r.uid, r.gid, r.additionalGids]).to.deep.equal([101, 101, [29, 101, 2000]]);
    });

    it('run_as_user + run_as_group', function () {
      const r = resolveUser(u({ runAsUser: 1000, runAsGroup: 3000 }), PASSWD, GROUP);
      expect([r.uid, r.gid, r.additionalGids]).to.deep.equal([1000, 3000, [10, 29, 3000]]);
    });

    it('run_as_username wins over run_as_user', function () {
      const r = resolveUser(u({ runAsUser: 1000, runAsUsername: 'nginx' }), PASSWD, GROUP);
      expect([r.uid, r.gid, r.username]).to.deep.equal([101, 101, 'nginx']);
    });

    it('run_as_username + run_as_group', function () {
      const r = resolveUser(u({ runAsUsername: 'nginx', runAsGroup: 7 }), PASSWD, GROUP);
      expect([r.uid, r.gid, r.additionalGids]).to.deep.equal([101, 7, [7, 29, 2000]]);
    });

    it('run_as_username that is unknown is InvalidArgument', function () {
      expect(resolveUser.bind(null, u({ runAsUsername: 'ghost' }), PASSWD, GROUP)).to.throw('user ghost not found in /etc/passwd');
    });

    it('run_as_group without a user is InvalidArgument, even with an image user', function () {
      const e = thrown(() => resolveUser(u({ runAsGroup: 5 }, 'app'), PASSWD, GROUP));
      expect(isKind(e, 'InvalidArgument')).to.equal(true);
    });

    it('rejects negative and too large ids', function () {
      for (const f of [{ runAsUser: -1 }, { runAsUser: 2 ** 32 }, { runAsUser: 1, runAsGroup: -5 }, { supplementalGroups: [-1] }]) {
        expect(isKind(thrown(() => resolveUser(u(f), PASSWD, GROUP)), 'InvalidArgument'), JSON.stringify(f)).to.equal(true);
      }
    });

    it('merges supplemental groups, deduplicated and sorted', function () {
      const r = resolveUser(u({ runAsUser: 1000, supplementalGroups: [5000, 10, 1000, 5000] }), PASSWD, GROUP);
      expect(r.additionalGids).to.deep.equal([10, 29, 1000, 5000]);
    });

    it('Strict policy ignores /etc/group memberships', function () {
      const r = resolveUser(u({ runAsUser: 1000, supplementalGroups: [5000], supplementalGroupsPolicy: 'strict' }), PASSWD, GROUP);
      expect(r.additionalGids).to.deep.equal([1000, 5000]);
    });
  });

  describe('an image file the daemon could not use (a FIFO, a device, too big)', function () {
    const fifo = { unusable: 'is a FIFO, not a regular file' };

    it('refuses a user name to look up in it as FailedPrecondition, naming the file and why', function () {
      const e = thrown(() => resolveUser(u({ runAsUsername: 'nginx' }), fifo, GROUP));
      expect(isKind(e, 'FailedPrecondition')).to.equal(true);
      expect((e as Error).message).to.equal("cannot look up user nginx: the image's /etc/passwd is a FIFO, not a regular file");
      expect(isKind(thrown(() => resolveUser(u({}, 'nginx:web'), PASSWD, fifo)), 'FailedPrecondition')).to.equal(true);
      expect((thrown(() => resolveUser(u({}, 'nginx:web'), PASSWD, fifo)) as Error).message).to.include("the image's /etc/group is a FIFO");
    });

    it('counts as missing when no name needs it: a uid gets gid 0, as containerd gives a uid without an entry', function () {
      expect(resolveUser(u({ runAsUser: 1000 }), fifo, fifo)).to.deep.equal({ uid: 1000, gid: 0, additionalGids: [0], home: '/' });
      expect(resolveUser(u({}), fifo, fifo)).to.deep.equal({ uid: 0, gid: 0, additionalGids: [0], home: '/' });
      const r = resolveUser(u({ runAsUsername: 'nginx' }), PASSWD, fifo);
      expect([r.uid, r.gid, r.additionalGids]).to.deep.equal([101, 101, [101]]);
      expect(resolveUser(u({}, '1000:2000'), fifo, fifo)).to.include({ uid: 1000, gid: 2000 });
    });
  });
});
