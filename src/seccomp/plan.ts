// Resolving a profile for one container: which rules apply on this architecture with these
// capabilities, what each syscall number's decision list is, and what every action returns. The
// code generator (compile.ts) only turns this plan into instructions, so the semantics live here.
import { invalidArgument } from '../core/errors.js';
import { archMatches, syscallNumber, type SeccompArch } from './arch.js';
import { SECCOMP_RET } from './bpf.js';
import type { SeccompAction, SeccompArg, SeccompFilter, SeccompProfile } from './profile.js';

export interface CompileOptions {
  readonly arch: SeccompArch;
  /** The container's bounding set ("CAP_SYS_ADMIN", ...), which includes/excludes.caps test. */
  readonly capabilities: readonly string[];
  /** "6.8.0-…"; rules with a newer minKernel are left out. Unknown means "new enough". */
  readonly kernelVersion?: string;
}

export interface PlannedRule {
  /** All must hold (AND). */
  readonly conditions: readonly SeccompArg[];
  readonly ret: number;
}

export interface SyscallPlan {
  readonly nr: number;
  readonly names: readonly string[];
  /** Tried in order; the first whose conditions all hold decides. */
  readonly rules: readonly PlannedRule[];
  /** When no rule matches: an unconditional rule's action, or the profile's default. */
  readonly fallback: number;
}

export interface FilterPlan {
  readonly arch: SeccompArch;
  readonly defaultRet: number;
  /** Sorted by nr. */
  readonly syscalls: readonly SyscallPlan[];
  /** Names the profile uses that this architecture does not have (skipped, as libseccomp does). */
  readonly skipped: readonly string[];
}

const EPERM = 1;

export function actionRet(action: SeccompAction, errnoRet: number | undefined): number {
  switch (action) {
    case 'SCMP_ACT_ALLOW':
      return SECCOMP_RET.ALLOW;
    case 'SCMP_ACT_ERRNO':
      return (SECCOMP_RET.ERRNO | (errnoRet ?? EPERM)) >>> 0;
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return SECCOMP_RET.KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return SECCOMP_RET.KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return SECCOMP_RET.TRAP;
    case 'SCMP_ACT_LOG':
      return SECCOMP_RET.LOG;
    case 'SCMP_ACT_TRACE':
      return (SECCOMP_RET.TRACE | (errnoRet ?? 0)) >>> 0;
  }
}

function kernelAtLeast(have: string, want: string): boolean {
  const parse = (v: string) => v.split(/[^0-9]/).filter((s) => s !== '').slice(0, 2).map(Number);
  const [hMaj = 0, hMin = 0] = parse(have);
  const [wMaj = 0, wMin = 0] = parse(want);
  return hMaj !== wMaj ? hMaj > wMaj : hMin >= wMin;
}

/** Docker's semantics: every included cap must be held, no excluded cap may be. */
export function applies(inc: SeccompFilter, exc: SeccompFilter, opts: CompileOptions): boolean {
  const caps = new Set(opts.capabilities);
  if (exc.caps.some((c) => caps.has(c))) return false;
  if (!inc.caps.every((c) => caps.has(c))) return false;
  if (exc.arches.some((a) => archMatches(opts.arch, a))) return false;
  if (inc.arches.length > 0 && !inc.arches.some((a) => archMatches(opts.arch, a))) return false;
  if (inc.minKernel && opts.kernelVersion && !kernelAtLeast(opts.kernelVersion, inc.minKernel)) return false;
  if (exc.minKernel && opts.kernelVersion && kernelAtLeast(opts.kernelVersion, exc.minKernel)) return false;
  return true;
}

/**
 * runc's rule: when one argument index appears twice in a rule, the conditions cannot all be
 * ANDed (libseccomp refuses), so each becomes its own rule and they are ORed.
 */
function alternatives(args: readonly SeccompArg[]): SeccompArg[][] {
  const indexes = new Set(args.map((a) => a.index));
  return indexes.size === args.length ? [[...args]] : args.map((a) => [a]);
}

interface Building {
  names: string[];
  rules: PlannedRule[];
  unconditional?: { ret: number; name: string };
}

export function planFilter(profile: SeccompProfile, opts: CompileOptions): FilterPlan {
  const defaultRet = actionRet(profile.defaultAction, profile.defaultErrnoRet);
  const byNr = new Map<number, Building>();
  const skipped = new Set<string>();
  for (const rule of profile.syscalls) {
    if (!applies(rule.includes, rule.excludes, opts)) continue;
    const ret = actionRet(rule.action, rule.errnoRet);
    // runc leaves out rules that say what the default says: they cannot change a decision.
    if (ret === defaultRet) continue;
    for (const name of rule.names) {
      const nr = syscallNumber(opts.arch, name);
      if (nr === undefined) {
        skipped.add(name);
        continue;
      }
      let b = byNr.get(nr);
      if (!b) byNr.set(nr, (b = { names: [], rules: [] }));
      if (!b.names.includes(name)) b.names.push(name);
      if (rule.args.length === 0) {
        // libseccomp refuses two unconditional rules with different actions; so do we.
        if (b.unconditional && b.unconditional.ret !== ret) {
          throw invalidArgument(`seccomp profile: syscall ${name} has unconditional rules with two different actions`);
        }
        b.unconditional = { ret, name };
      } else {
        for (const conditions of alternatives(rule.args)) b.rules.push({ conditions, ret });
      }
    }
  }
  const syscalls = [...byNr.entries()]
    .sort(([a], [b]) => a - b)
    .map(([nr, b]): SyscallPlan => {
      const fallback = b.unconditional?.ret ?? defaultRet;
      // A conditional rule that returns what falling through returns anyway is dead code.
      return { nr, names: b.names, rules: b.rules.filter((r) => r.ret !== fallback), fallback };
    });
  return { arch: opts.arch, defaultRet, syscalls, skipped: [...skipped].sort() };
}
