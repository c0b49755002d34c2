// AppArmor as the CRI asks for it. Skiff does not load AppArmor profiles yet: on a node without
// AppArmor the default and unconfined mean the same thing (nothing to apply), and a named
// profile is refused instead of being silently ignored.
import { existsSync, readFileSync } from 'node:fs';
import { failedPrecondition, invalidArgument } from '../errors.js';

export type AppArmorRequest = { readonly type: 'runtime-default' | 'unconfined' } | { readonly type: 'localhost'; readonly name: string };

const ENABLED = '/sys/module/apparmor/parameters/enabled';

let enabled: boolean | undefined;
function hostHasAppArmor(): boolean {
  enabled ??= existsSync(ENABLED) && readFileSync(ENABLED, 'utf8').trim() === 'Y';
  return enabled;
}

export function checkAppArmor(req: AppArmorRequest | undefined): void {
  if (!req || req.type !== 'localhost') return;
  if (!hostHasAppArmor()) {
    throw invalidArgument(`AppArmor profile ${JSON.stringify(req.name)} was asked for, but AppArmor is not enabled on this node`);
  }
  throw failedPrecondition(`AppArmor profile ${JSON.stringify(req.name)}: skiff does not apply AppArmor profiles yet`);
}

/** The deprecated string field: "", "runtime/default", "unconfined" or "localhost/<name>". */
export function parseAppArmorString(s: string): AppArmorRequest | undefined {
  if (s === '') return undefined;
  if (s === 'runtime/default') return { type: 'runtime-default' };
  if (s === 'unconfined') return { type: 'unconfined' };
  if (s.startsWith('localhost/') && s.length > 'localhost/'.length) return { type: 'localhost', name: s.slice('localhost/'.length) };
  throw invalidArgument(`apparmor_profile ${JSON.stringify(s)}: want runtime/default, unconfined or localhost/<profile>`);
}
