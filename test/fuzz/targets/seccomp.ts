// Localhost seccomp profiles: JSON files on the node that a pod names. The parser must refuse what
// it cannot honour, and the compiler must produce a program the kernel accepts that decides every
// syscall exactly as the plan says. The second half is checked by running the program in the BPF
// interpreter against syscalls built from the profile's own numbers and argument values, and
// comparing with a direct reading of the plan.
import fc from 'fast-check';
import { AUDIT_ARCH, SECCOMP_ARCHES, X32_SYSCALL_BIT, syscallTable, type SeccompArch } from '../../../src/seccomp/arch.js';
import { runProgram } from '../../../src/seccomp/bpf-interp.js';
import { SECCOMP_RET } from '../../../src/seccomp/bpf.js';
import { compilePlan } from '../../../src/seccomp/compile.js';
import { RUNTIME_DEFAULT_PROFILE } from '../../../src/seccomp/default-profile.js';
import { planFilter, type CompileOptions, type FilterPlan } from '../../../src/seccomp/plan.js';
import { parseSeccompProfileJson, SECCOMP_ACTIONS, SECCOMP_FLAGS, SECCOMP_OPS, type SeccompArg } from '../../../src/seccomp/profile.js';
import { editedJson, jsonBytes, jsonValue, type Json } from '../harness/json-gen.js';
import { inputMix } from '../harness/mutate.js';
import { skiffKinds, violation, type FuzzTarget } from '../harness/target.js';

const SOME_SYSCALLS = ['read', 'write', 'openat', 'clone', 'clone3', 'socket', 'ptrace', 'mount', 'personality', 'chown32', 'ioctl', 'kill', 'execve'];
const CAPS = ['CAP_SYS_ADMIN', 'CAP_NET_RAW', 'CAP_SYS_PTRACE', 'CAP_SYS_BOOT', 'CAP_BPF'];
const KEYS = [
  'defaultAction', 'defaultErrnoRet', 'architectures', 'archMap', 'flags', 'syscalls', 'listenerPath', 'listenerMetadata',
  'names', 'name', 'action', 'errnoRet', 'args', 'includes', 'excludes', 'comment', 'index', 'value', 'valueTwo', 'op',
  'caps', 'arches', 'minKernel', 'architecture', 'subArchitectures',
];
const WORDS = [
  ...SECCOMP_ACTIONS, 'SCMP_ACT_NOTIFY', ...SECCOMP_OPS, ...SECCOMP_FLAGS, ...SOME_SYSCALLS, ...CAPS,
  'SCMP_ARCH_X86_64', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_X86', 'amd64', 'arm64', 'x86_64', '4.8', '6.1', '99.0', 'toString', 'constructor',
];

/** The default profile as the JSON a Localhost file would hold. */
const DEFAULT_JSON = JSON.parse(JSON.stringify(RUNTIME_DEFAULT_PROFILE, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))) as Json;

const u64 = fc.oneof(fc.constantFrom(0, 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 0x7e020000, Number.MAX_SAFE_INTEGER), fc.nat());
const argJson = fc.record(
  { index: fc.nat({ max: 5 }), value: u64, valueTwo: u64, op: fc.constantFrom(...SECCOMP_OPS) },
  { requiredKeys: ['index', 'op'] },
);
const filterJson = fc.record(
  { caps: fc.subarray(CAPS), arches: fc.subarray(['amd64', 'arm64', 'x86_64', 's390x']), minKernel: fc.constantFrom('4.8', '6.1', '99.0') },
  { requiredKeys: [] },
);
const ruleJson = fc.record(
  {
    names: fc.array(fc.oneof(fc.constantFrom(...SOME_SYSCALLS), fc.stringMatching(/^[a-z_][a-z0-9_]{0,10}$/)), { minLength: 1, maxLength: 4 }),
    action: fc.constantFrom(...SECCOMP_ACTIONS),
    errnoRet: fc.constantFrom(1, 13, 38, 4095),
    args: fc.array(argJson, { maxLength: 3 }),
    includes: filterJson,
    excludes: filterJson,
  },
  { requiredKeys: ['names', 'action'] },
).map((r) => (r.action === 'SCMP_ACT_ERRNO' || r.action === 'SCMP_ACT_TRACE' ? r : { ...r, errnoRet: undefined }));
/** Well-formed profiles, so that most inputs reach the planner and the compiler. */
const profileJson = fc
  .record(
    {
      defaultAction: fc.constantFrom(...SECCOMP_ACTIONS),
      defaultErrnoRet: fc.constantFrom(1, 38),
      architectures: fc.subarray(['SCMP_ARCH_X86_64', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_X86']),
      syscalls: fc.array(ruleJson, { maxLength: 40 }),
    },
    { requiredKeys: ['defaultAction'] },
  )
  .map((p) => (p.defaultAction !== 'SCMP_ACT_ERRNO' ? { ...p, defaultErrnoRet: undefined } : p)) as fc.Arbitrary<Json>;

/** Options the input picks for itself, so that a replay compiles the same way. */
function optionsFor(input: Buffer, arch: SeccompArch): CompileOptions {
  const h = input.reduce((a, b) => (a * 31 + b) >>> 0, 7);
  return {
    arch,
    capabilities: CAPS.filter((_, i) => (h >>> i) & 1),
    ...((h >>> 8) & 1 ? { kernelVersion: (h >>> 9) & 1 ? '6.18.0-skiff' : '4.4.0' } : {}),
  };
}

const mask64 = (1n << 64n) - 1n;

function holds(c: SeccompArg, arg: bigint): boolean {
  switch (c.op) {
    case 'SCMP_CMP_EQ': return arg === c.value;
    case 'SCMP_CMP_NE': return arg !== c.value;
    case 'SCMP_CMP_LT': return arg < c.value;
    case 'SCMP_CMP_LE': return arg <= c.value;
    case 'SCMP_CMP_GT': return arg > c.value;
    case 'SCMP_CMP_GE': return arg >= c.value;
    case 'SCMP_CMP_MASKED_EQ': return (arg & c.value) === c.valueTwo;
  }
}

/** What the plan says about one syscall, read directly (the reference for the compiled program). */
function decide(plan: FilterPlan, nr: number, args: readonly bigint[]): number {
  if (plan.arch === 'x86_64' && nr >>> 0 >= X32_SYSCALL_BIT) return plan.defaultRet;
  const s = plan.syscalls.find((x) => x.nr === nr >>> 0);
  if (!s) return plan.defaultRet;
  for (const r of s.rules) if (r.conditions.every((c) => holds(c, args[c.index] ?? 0n))) return r.ret;
  return s.fallback;
}

/** Syscalls worth asking about: every number the plan names, neighbours, and the profile's argument values. */
function probes(plan: FilterPlan): { nr: number; args: bigint[] }[] {
  const out: { nr: number; args: bigint[] }[] = [{ nr: 0, args: [] }, { nr: 0x7fffffff, args: [] }, { nr: X32_SYSCALL_BIT | 1, args: [] }];
  for (const s of plan.syscalls.slice(0, 40)) {
    out.push({ nr: s.nr, args: [] }, { nr: s.nr + 1, args: [] });
    for (const r of s.rules.slice(0, 6)) {
      for (const c of r.conditions) {
        for (const v of [c.value, c.value + 1n, c.value - 1n, c.valueTwo, c.value | (1n << 32n)]) {
          const args = Array<bigint>(6).fill(0n);
          args[c.index] = v & mask64;
          out.push({ nr: s.nr, args });
        }
      }
    }
  }
  return out;
}

function checkCompiled(plan: FilterPlan): void {
  const program = compilePlan(plan);
  const arch = AUDIT_ARCH[plan.arch];
  // Another arch is killed before anything else is looked at.
  if (runProgram(program, { nr: 0, arch: 0x40000003 }).ret !== SECCOMP_RET.KILL_PROCESS) violation('a foreign arch is not killed');
  for (const p of probes(plan)) {
    const got = runProgram(program, { nr: p.nr, arch, args: p.args }).ret >>> 0;
    const want = decide(plan, p.nr, p.args) >>> 0;
    if (got !== want) {
      violation(`${plan.arch}: syscall ${p.nr} args [${p.args.join(',')}]: the program returns 0x${got.toString(16)}, the plan says 0x${want.toString(16)}`);
    }
  }
}

export const seccompTarget: FuzzTarget = {
  name: 'seccomp-profile',
  about: 'seccomp/profile.ts + plan.ts + compile.ts: a Localhost profile compiles to a program that decides as the plan says, or InvalidArgument / ResourceExhausted',
  smokeRuns: 120,
  inputs: async () =>
    inputMix({
      structured: jsonBytes(fc.oneof(
        { weight: 4, arbitrary: profileJson },
        { weight: 2, arbitrary: editedJson([DEFAULT_JSON], KEYS, WORDS) },
        { weight: 1, arbitrary: jsonValue(KEYS, WORDS) },
      )),
      seeds: [Buffer.from(JSON.stringify(DEFAULT_JSON)), Buffer.from('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["ptrace"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":16,"op":"SCMP_CMP_EQ"}]}]}')],
      maxLength: 256 * 1024,
    }),
  run: (input) => {
    const profile = parseSeccompProfileJson(input.toString('utf8'));
    for (const arch of SECCOMP_ARCHES) {
      const opts = optionsFor(input, arch);
      const plan = planFilter(profile, opts);
      for (const s of plan.syscalls) if (syscallTable(arch)[s.names[0]!] !== s.nr) violation(`${s.names[0]} planned as ${s.nr} on ${arch}`);
      checkCompiled(plan);
    }
  },
  accepts: skiffKinds('InvalidArgument', 'ResourceExhausted'),
};
