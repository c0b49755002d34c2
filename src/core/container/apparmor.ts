// AppArmor as the CRI asks for it, turned into the spec's process.apparmorProfile, which skiff-init
// (native-helpers/init/apparmor.c) and runc/crun apply at the container's exec.
//
// - A node without AppArmor: RuntimeDefault and Unconfined run (there is nothing to apply); a
//   named profile is refused, never silently ignored.
// - A node with AppArmor: a named (Localhost) profile must be loaded in the kernel, and is applied;
//   Unconfined and privileged containers get none. RuntimeDefault gets none either: containerd
//   generates and loads a default profile of its own with apparmor_parser, which Skiff does not
//   ship, so it is said in the log instead.
import { existsSync, readFileSync } from 'node:fs';
import { hasErrno, invalidArgument, notFound, toSkiffError } from '../errors.js';

export type AppArmorRequest = { readonly type: 'runtime-default' | 'unconfined' } | { readonly type: 'localhost'; readonly name: string };

/** What the node offers: read once for `enabled`, the profile list on each named request. */
export interface AppArmorHost {
  readonly enabled: boolean;
  /** The names of the loaded profiles. */
  loadedProfiles(): ReadonlySet<string>;
}

export interface AppArmorDecision {
  /** For process.apparmorProfile; absent: no profile. */
  readonly profile?: string;
  /** A reason to log when the container gets less than it asked for. */
  readonly note?: string;
}

export function appArmorFor(req: AppArmorRequest | undefined, privileged: boolean, host: AppArmorHost): AppArmorDecision {
  if (!req) return {};
  if (req.type === 'localhost') {
    if (!host.enabled) {
      throw invalidArgument(`AppArmor profile ${JSON.stringify(req.name)} was asked for, but AppArmor is not enabled on this node`);
    }
    // The name goes to the kernel as "exec <name>" in one write: one line of printable text.
    if (!/^[^\0-\x1f\x7f]{1,4096}$/.test(req.name)) throw invalidArgument(`AppArmor profile name ${JSON.stringify(req.name)} is not valid`);
    if (!host.loadedProfiles().has(req.name)) throw notFound(`AppArmor profile ${JSON.stringify(req.name)} is not loaded on this node`);
    return privileged ? { note: 'privileged container: AppArmor profile not applied' } : { profile: req.name };
  }
  if (req.type === 'runtime-default' && host.enabled && !privileged) {
    return { note: 'AppArmor RuntimeDefault: skiff has no default profile to load; the container runs without one' };
  }
  return {};
}

/** "name (mode)" per line, as /sys/kernel/security/apparmor/profiles lists them. */
export function parseLoadedProfiles(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const at = line.lastIndexOf(' (');
    if (at > 0 && line.endsWith(')')) out.add(line.slice(0, at));
  }
  return out;
}

const ENABLED = '/sys/module/apparmor/parameters/enabled';
const PROFILES = '/sys/kernel/security/apparmor/profiles';

let enabled: boolean | undefined;

export const nodeAppArmor: AppArmorHost = {
  get enabled(): boolean {
    enabled ??= existsSync(ENABLED) && readFileSync(ENABLED, 'utf8').trim() === 'Y';
    return enabled;
  },
  loadedProfiles(): ReadonlySet<string> {
    try {
      return parseLoadedProfiles(readFileSync(PROFILES, 'utf8'));
    } catch (e) {
      // securityfs not mounted: nothing can be checked, so nothing counts as loaded.
      if (hasErrno(e, 'ENOENT')) return new Set();
      throw toSkiffError(e, `reading ${PROFILES}`);
    }
  },
};

/** The deprecated string field: "", "runtime/default", "unconfined" or "localhost/<name>". */
export function parseAppArmorString(s: string): AppArmorRequest | undefined {
  if (s === '') return undefined;
  if (s === 'runtime/default') return { type: 'runtime-default' };
  if (s === 'unconfined') return { type: 'unconfined' };
  if (s.startsWith('localhost/') && s.length > 'localhost/'.length) return { type: 'localhost', name: s.slice('localhost/'.length) };
  throw invalidArgument(`apparmor_profile ${JSON.stringify(s)}: want runtime/default, unconfined or localhost/<profile>`);
}
