import { expect } from 'chai';
import { SeccompCache, profileDigest } from '../../../src/seccomp/cache.js';
import { compileProfile } from '../../../src/seccomp/compile.js';
import { RUNTIME_DEFAULT_PROFILE, RUNTIME_DEFAULT_PROFILE_JSON } from '../../../src/seccomp/default-profile.js';
import { parseSeccompProfile } from '../../../src/seccomp/profile.js';

describe('seccomp/cache', function () {
  it('compiles a profile once per arch and relevant capability set', function () {
    const cache = new SeccompCache();
    const a = cache.get(RUNTIME_DEFAULT_PROFILE, { arch: 'x86_64', capabilities: ['CAP_CHOWN', 'CAP_NET_RAW'] });
    // CAP_NET_RAW and CAP_KILL appear in no rule of the profile: the same program serves both.
    const b = cache.get(RUNTIME_DEFAULT_PROFILE, { arch: 'x86_64', capabilities: ['CAP_KILL'] });
    expect(b).to.equal(a);
    expect(cache.stats.compiles).to.equal(1);
    const admin = cache.get(RUNTIME_DEFAULT_PROFILE, { arch: 'x86_64', capabilities: ['CAP_SYS_ADMIN'] });
    const arm = cache.get(RUNTIME_DEFAULT_PROFILE, { arch: 'aarch64', capabilities: [] });
    expect(admin.equals(a)).to.equal(false);
    expect(arm.equals(a)).to.equal(false);
    expect(cache.stats).to.deep.equal({ entries: 3, compiles: 3 });
    expect(a.equals(compileProfile(RUNTIME_DEFAULT_PROFILE, { arch: 'x86_64', capabilities: [] }))).to.equal(true);
  });

  it('keys by content: an equal profile parsed again hits the cache', function () {
    const cache = new SeccompCache();
    const again = parseSeccompProfile(JSON.parse(JSON.stringify(RUNTIME_DEFAULT_PROFILE_JSON)));
    expect(profileDigest(again)).to.equal(profileDigest(RUNTIME_DEFAULT_PROFILE));
    cache.get(RUNTIME_DEFAULT_PROFILE, { arch: 'aarch64', capabilities: [] });
    cache.get(again, { arch: 'aarch64', capabilities: [] });
    expect(cache.stats.compiles).to.equal(1);
    const other = parseSeccompProfile({ ...RUNTIME_DEFAULT_PROFILE_JSON, defaultErrnoRet: 13 });
    expect(profileDigest(other)).to.not.equal(profileDigest(RUNTIME_DEFAULT_PROFILE));
  });

  it('keeps at most maxEntries programs, dropping the least recently used', function () {
    const cache = new SeccompCache(2);
    const p = (errno: number) => parseSeccompProfile({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: errno });
    const [p1, p2, p3] = [p(1), p(2), p(3)];
    const opts = { arch: 'x86_64', capabilities: [] } as const;
    cache.get(p1, opts);
    cache.get(p2, opts);
    cache.get(p1, opts); // p1 is now the most recent
    cache.get(p3, opts); // evicts p2
    cache.get(p1, opts);
    expect(cache.stats).to.deep.equal({ entries: 2, compiles: 3 });
    cache.get(p2, opts);
    expect(cache.stats.compiles).to.equal(4);
  });
});
