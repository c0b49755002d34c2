// The OCI / Docker seccomp profile format (the JSON of a Localhost profile, and of our
// RuntimeDefault), and a strict parser: anything we would otherwise silently misread (a typo in an
// action, a key we do not know, an argument index past 5) is an InvalidArgument that names where.
import { invalidArgument } from '../core/errors.js';
import { SCMP_ARCH_NAMES } from './arch.js';

export const SECCOMP_ACTIONS = [
  'SCMP_ACT_KILL', // libseccomp's old name for KILL_THREAD
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
] as const;
export type SeccompAction = (typeof SECCOMP_ACTIONS)[number];

export const SECCOMP_OPS = [
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
] as const;
export type SeccompOp = (typeof SECCOMP_OPS)[number];

export const SECCOMP_FLAGS = [
  'SECCOMP_FILTER_FLAG_TSYNC',
  'SECCOMP_FILTER_FLAG_LOG',
  'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
  'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
] as const;
export type SeccompFlag = (typeof SECCOMP_FLAGS)[number];

/** seccomp_data.args are u64: values are bigints so masks above 2^53 stay exact. */
export interface SeccompArg {
  readonly index: number;
  /** The comparand; for MASKED_EQ, the mask. */
  readonly value: bigint;
  /** Only MASKED_EQ uses it: (arg & value) == valueTwo. */
  readonly valueTwo: bigint;
  readonly op: SeccompOp;
}

export interface SeccompFilter {
  readonly caps: readonly string[];
  readonly arches: readonly string[];
  /** "major.minor"; the rule applies only on kernels at least this new. */
  readonly minKernel?: string;
}

export interface SeccompSyscall {
  readonly names: readonly string[];
  readonly action: SeccompAction;
  /** errno for SCMP_ACT_ERRNO (default EPERM), message for SCMP_ACT_TRACE. */
  readonly errnoRet?: number;
  readonly args: readonly SeccompArg[];
  readonly includes: SeccompFilter;
  readonly excludes: SeccompFilter;
}

export interface SeccompArchMap {
  readonly architecture: string;
  readonly subArchitectures: readonly string[];
}

export interface SeccompProfile {
  readonly defaultAction: SeccompAction;
  readonly defaultErrnoRet?: number;
  readonly architectures: readonly string[];
  readonly archMap: readonly SeccompArchMap[];
  readonly flags: readonly SeccompFlag[];
  readonly syscalls: readonly SeccompSyscall[];
}

export const isSeccompAction = (x: unknown): x is SeccompAction => SECCOMP_ACTIONS.includes(x as SeccompAction);
export const isSeccompOp = (x: unknown): x is SeccompOp => SECCOMP_OPS.includes(x as SeccompOp);
export const isSeccompFlag = (x: unknown): x is SeccompFlag => SECCOMP_FLAGS.includes(x as SeccompFlag);

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

const U64_MAX = (1n << 64n) - 1n;
/** MAX_ERRNO: the kernel clamps SECCOMP_RET_ERRNO data to it. */
const MAX_ERRNO = 4095;
const SYSCALL_NAME = /^[a-z_][a-z0-9_]*$/;
const CAP_NAME = /^CAP_[A-Z_]+$/;
const KERNEL_VERSION = /^\d+\.\d+(\.\d+)?([-+.][0-9A-Za-z.+-]*)?$/;

function bad(path: string, what: string): never {
  throw invalidArgument(`seccomp profile: ${path}: ${what}`);
}

function checkKeys(o: Record<string, unknown>, path: string, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) bad(path || 'profile', `unknown field ${JSON.stringify(k)}`);
  }
}

/** `null` and absent both mean "empty" in Docker's Go decoder; we keep that. */
function stringList(x: unknown, path: string, pattern?: RegExp, what = 'string'): string[] {
  if (x === undefined || x === null) return [];
  if (!Array.isArray(x)) bad(path, `must be an array of ${what}s`);
  return x.map((s, i) => {
    if (typeof s !== 'string' || s === '') bad(`${path}[${i}]`, `must be a non-empty ${what}`);
    if (pattern && !pattern.test(s)) bad(`${path}[${i}]`, `${JSON.stringify(s)} is not a valid ${what}`);
    return s;
  });
}

function action(x: unknown, path: string): SeccompAction {
  if (x === 'SCMP_ACT_NOTIFY') bad(path, 'SCMP_ACT_NOTIFY needs a seccomp agent (listenerPath), which skiff does not support');
  if (!isSeccompAction(x)) bad(path, `unknown action ${JSON.stringify(x)} (want one of ${SECCOMP_ACTIONS.join(', ')})`);
  return x;
}

function smallInt(x: unknown, path: string, max: number): number | undefined {
  if (x === undefined || x === null) return undefined;
  if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > max) bad(path, `must be an integer from 0 to ${max}, not ${JSON.stringify(x)}`);
  return x;
}

function u64(x: unknown, path: string): bigint {
  if (x === undefined || x === null) return 0n;
  if (typeof x === 'bigint') {
    if (x < 0n || x > U64_MAX) bad(path, `${x} is outside 0..2^64-1`);
    return x;
  }
  // JSON numbers above 2^53 have already lost bits by the time we see them: refuse, don't guess.
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) {
    bad(path, `must be a non-negative integer below 2^53, not ${JSON.stringify(x)}`);
  }
  return BigInt(x);
}

function filter(x: unknown, path: string): SeccompFilter {
  if (x === undefined || x === null) return { caps: [], arches: [] };
  if (!isObject(x)) bad(path, 'must be an object');
  checkKeys(x, path, ['caps', 'arches', 'minKernel']);
  const out: { caps: string[]; arches: string[]; minKernel?: string } = {
    caps: stringList(x['caps'], `${path}.caps`, CAP_NAME, 'capability name'),
    arches: stringList(x['arches'], `${path}.arches`),
  };
  const mk = x['minKernel'];
  if (mk !== undefined && mk !== null && mk !== '') {
    if (typeof mk !== 'string' || !KERNEL_VERSION.test(mk)) bad(`${path}.minKernel`, `${JSON.stringify(mk)} is not a kernel version like "4.8"`);
    out.minKernel = mk;
  }
  return out;
}

function arg(x: unknown, path: string): SeccompArg {
  if (!isObject(x)) bad(path, 'must be an object');
  checkKeys(x, path, ['index', 'value', 'valueTwo', 'op']);
  const index = x['index'];
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index > 5) {
    bad(`${path}.index`, `must be an argument index from 0 to 5, not ${JSON.stringify(index)}`);
  }
  const op = x['op'];
  if (!isSeccompOp(op)) bad(`${path}.op`, `unknown operator ${JSON.stringify(op)} (want one of ${SECCOMP_OPS.join(', ')})`);
  return { index, op, value: u64(x['value'], `${path}.value`), valueTwo: u64(x['valueTwo'], `${path}.valueTwo`) };
}

function syscall(x: unknown, path: string): SeccompSyscall {
  if (!isObject(x)) bad(path, 'must be an object');
  checkKeys(x, path, ['names', 'name', 'action', 'errnoRet', 'args', 'includes', 'excludes', 'comment']);
  const names = stringList(x['names'], `${path}.names`, SYSCALL_NAME, 'syscall name');
  // The pre-"names" format had one "name" per rule; runc still reads it.
  if (x['name'] !== undefined) names.push(...stringList([x['name']], `${path}.name`, SYSCALL_NAME, 'syscall name'));
  if (names.length === 0) bad(path, 'names no syscall');
  const act = action(x['action'], `${path}.action`);
  const errnoRet = smallInt(x['errnoRet'], `${path}.errnoRet`, act === 'SCMP_ACT_TRACE' ? 0xffff : MAX_ERRNO);
  if (errnoRet !== undefined && act !== 'SCMP_ACT_ERRNO' && act !== 'SCMP_ACT_TRACE') {
    bad(`${path}.errnoRet`, `only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one, not ${act}`);
  }
  const rawArgs = x['args'] ?? [];
  if (!Array.isArray(rawArgs)) bad(`${path}.args`, 'must be an array');
  if (rawArgs.length > 6) bad(`${path}.args`, `has ${rawArgs.length} conditions; a syscall has 6 arguments`);
  return {
    names,
    action: act,
    ...(errnoRet !== undefined ? { errnoRet } : {}),
    args: rawArgs.map((a, i) => arg(a, `${path}.args[${i}]`)),
    includes: filter(x['includes'], `${path}.includes`),
    excludes: filter(x['excludes'], `${path}.excludes`),
  };
}

function archMap(x: unknown, path: string): SeccompArchMap[] {
  if (x === undefined || x === null) return [];
  if (!Array.isArray(x)) bad(path, 'must be an array');
  return x.map((m, i) => {
    const p = `${path}[${i}]`;
    if (!isObject(m)) bad(p, 'must be an object');
    checkKeys(m, p, ['architecture', 'subArchitectures']);
    const [architecture] = archNames([m['architecture']], `${p}.architecture`);
    return { architecture: architecture as string, subArchitectures: archNames(m['subArchitectures'], `${p}.subArchitectures`) };
  });
}

function archNames(x: unknown, path: string): string[] {
  const names = stringList(x, path, undefined, 'architecture');
  names.forEach((n, i) => {
    if (!SCMP_ARCH_NAMES.includes(n)) bad(`${path}[${i}]`, `unknown architecture ${JSON.stringify(n)}`);
  });
  return names;
}

/** Validates a decoded JSON value (a Localhost profile file, or our own default) into a profile. */
export function parseSeccompProfile(x: unknown): SeccompProfile {
  if (!isObject(x)) bad('profile', 'must be a JSON object');
  checkKeys(x, '', ['defaultAction', 'defaultErrnoRet', 'architectures', 'archMap', 'flags', 'syscalls', 'listenerPath', 'listenerMetadata']);
  if (typeof x['listenerPath'] === 'string' && x['listenerPath'] !== '') {
    bad('listenerPath', 'seccomp agents (SCMP_ACT_NOTIFY) are not supported');
  }
  const defaultAction = action(x['defaultAction'], 'defaultAction');
  const defaultErrnoRet = smallInt(x['defaultErrnoRet'], 'defaultErrnoRet', MAX_ERRNO);
  const flags = stringList(x['flags'], 'flags', undefined, 'flag').map((f, i) => {
    if (!isSeccompFlag(f)) bad(`flags[${i}]`, `unknown flag ${JSON.stringify(f)}`);
    return f;
  });
  const rawSyscalls = x['syscalls'] ?? [];
  if (!Array.isArray(rawSyscalls)) bad('syscalls', 'must be an array');
  return {
    defaultAction,
    ...(defaultErrnoRet !== undefined ? { defaultErrnoRet } : {}),
    architectures: archNames(x['architectures'], 'architectures'),
    archMap: archMap(x['archMap'], 'archMap'),
    flags,
    syscalls: rawSyscalls.map((s, i) => syscall(s, `syscalls[${i}]`)),
  };
}

/** For profile files: a JSON syntax error is the user's, so it is InvalidArgument too. */
export function parseSeccompProfileJson(text: string): SeccompProfile {
  let decoded: unknown;
  try {
    decoded = JSON.parse(text);
  } catch (e) {
    throw invalidArgument(`seccomp profile: not valid JSON: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  return parseSeccompProfile(decoded);
}
