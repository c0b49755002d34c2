// Which AppArmor profile a container gets, for nodes with and without AppArmor.
import { expect } from 'chai';
import { isKind } from '../../../../src/core/errors.js';
import { appArmorFor, parseAppArmorString, parseLoadedProfiles, type AppArmorHost } from '../../../../src/core/container/apparmor.js';
import { thrown } from '../../../support/thrown.js';

const host = (enabled: boolean, loaded: string[] = []): AppArmorHost & { reads: number } => {
  const h = {
    enabled,
    reads: 0,
    loadedProfiles() {
      h.reads += 1;
      return new Set(loaded);
    },
  };
  return h;
};
const named = (name: string) => ({ type: 'localhost' as const, name });

describe('core/container/apparmor', function () {
  describe('on a node without AppArmor', function () {
    it('runs RuntimeDefault, Unconfined and nothing asked without a profile', function () {
      for (const req of [undefined, { type: 'runtime-default' as const }, { type: 'unconfined' as const }]) {
        expect(appArmorFor(req, false, host(false))).to.deep.equal({});
      }
    });
    it('refuses a named profile with InvalidArgument', function () {
      const err = thrown(() => appArmorFor(named('my-profile'), false, host(false)));
      expect(isKind(err, 'InvalidArgument'), String(err)).to.equal(true);
      expect(String(err)).to.contain('AppArmor is not enabled on this node');
    });
  });

  describe('on a node with AppArmor', function () {
    it('applies a loaded named profile', function () {
      expect(appArmorFor(named('my-profile'), false, host(true, ['docker-default', 'my-profile']))).to.deep.equal({ profile: 'my-profile' });
    });
    it('refuses a profile that is not loaded with NotFound', function () {
      const err = thrown(() => appArmorFor(named('missing'), false, host(true, ['docker-default'])));
      expect(isKind(err, 'NotFound'), String(err)).to.equal(true);
    });
    it('refuses a name that cannot be written to the kernel in one line, before looking it up', function () {
      const h = host(true, ['a\nb']);
      for (const bad of ['a\nb', 'x\0y', '']) {
        expect(isKind(thrown(() => appArmorFor(named(bad), false, h)), 'InvalidArgument'), JSON.stringify(bad)).to.equal(true);
      }
      expect(h.reads).to.equal(0);
    });
    it('gives privileged and Unconfined containers no profile', function () {
      expect(appArmorFor(named('my-profile'), true, host(true, ['my-profile'])).profile).to.equal(undefined);
      expect(appArmorFor({ type: 'unconfined' }, false, host(true))).to.deep.equal({});
      expect(appArmorFor({ type: 'runtime-default' }, true, host(true))).to.deep.equal({});
    });
    it('runs RuntimeDefault without a profile, and says so', function () {
      const d = appArmorFor({ type: 'runtime-default' }, false, host(true));
      expect(d.profile).to.equal(undefined);
      expect(d.note).to.match(/no default profile/);
    });
  });

  it('reads the kernel\'s list of loaded profiles', function () {
    const text = 'docker-default (enforce)\n/usr/bin/man (complain)\nname with space (enforce)\n\n';
    expect([...parseLoadedProfiles(text)]).to.deep.equal(['docker-default', '/usr/bin/man', 'name with space']);
  });

  it('reads the deprecated string field', function () {
    expect(parseAppArmorString('')).to.equal(undefined);
    expect(parseAppArmorString('runtime/default')).to.deep.equal({ type: 'runtime-default' });
    expect(parseAppArmorString('localhost/p')).to.deep.equal({ type: 'localhost', name: 'p' });
    expect(isKind(thrown(() => parseAppArmorString('localhost/')), 'InvalidArgument')).to.equal(true);
  });
});
