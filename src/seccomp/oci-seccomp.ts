// A profile as runtime-spec's linux.seccomp, for containers that runc or crun run: they compile it
// with libseccomp themselves. What goes in is what containerd's seccomp.Setup writes for the same
// profile: the rules that apply to this container (includes/excludes resolved against its
// capabilities and the node's architecture, as the built-in compiler resolves them in plan.ts),
// the profile's architectures plus the node's entry of its archMap, and its flags.
import { internal } from '../core/errors.js';
import type { OciSeccomp, OciSeccompSyscall } from '../oci/types.js';
import { archMatches } from './arch.js';
import { applies, type CompileOptions } from './plan.js';
import type { SeccompArg, SeccompProfile } from './profile.js';

function jsonNumber(v: bigint, what: string): number {
  // The parser takes JSON numbers only up to 2^53, so only a profile written in TypeScript could
  // hold a larger one; JSON.stringify cannot write a bigint, and a rounded number would be wrong.
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw internal(`seccomp ${what} ${v} does not fit a JSON number exactly`);
  return Number(v);
}

function ociArg(a: SeccompArg, name: string): NonNullable<OciSeccompSyscall['args']>[number] {
  return {
    index: a.index,
    value: jsonNumber(a.value, `${name} argument value`),
    ...(a.valueTwo !== 0n ? { valueTwo: jsonNumber(a.valueTwo, `${name} argument valueTwo`) } : {}),
    op: a.op,
  };
}

export function ociSeccomp(profile: SeccompProfile, opts: CompileOptions): OciSeccomp {
  const architectures = [...profile.architectures];
  for (const m of profile.archMap) {
    if (!archMatches(opts.arch, m.architecture)) continue;
    for (const a of [m.architecture, ...m.subArchitectures]) if (!architectures.includes(a)) architectures.push(a);
  }
  const syscalls = profile.syscalls
    .filter((s) => applies(s.includes, s.excludes, opts))
    .map((s): OciSeccompSyscall => ({
      names: [...s.names],
      action: s.action,
      ...(s.errnoRet !== undefined ? { errnoRet: s.errnoRet } : {}),
      ...(s.args.length > 0 ? { args: s.args.map((a) => ociArg(a, s.names[0] ?? '')) } : {}),
    }));
  return {
    defaultAction: profile.defaultAction,
    ...(profile.defaultErrnoRet !== undefined ? { defaultErrnoRet: profile.defaultErrnoRet } : {}),
    architectures,
    ...(profile.flags.length > 0 ? { flags: [...profile.flags] } : {}),
    syscalls,
  };
}
