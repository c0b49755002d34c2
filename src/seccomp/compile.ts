// Profile → classic BPF program for seccomp(SECCOMP_SET_MODE_FILTER), the bytes of a
// struct sock_filter[] that skiff-init hands to the kernel. The shape, top to bottom:
//
//   arch check (foreign arch → KILL_PROCESS) · load nr · x32 check (x86_64) ·
//   a binary search over the syscall numbers, whose leaves compare up to LEAF numbers each and
//   return at once, or jump to · the argument-checking bodies of syscalls that have conditions.
//
// A binary search keeps a lookup at a few dozen instructions whatever the profile's size (libseccomp
// does the same), and every conditional jump stays short: a subtree boundary or a body is reached
// through `ja`, whose offset is 32 bits.
import { SkiffError } from '../core/errors.js';
import { AUDIT_ARCH, X32_SYSCALL_BIT } from './arch.js';
import { Assembler, BPF_MAXINSNS, Label, SECCOMP_DATA, SECCOMP_RET, argOffset, encodeProgram } from './bpf.js';
import { planFilter, type CompileOptions, type FilterPlan, type SyscallPlan } from './plan.js';
import type { SeccompArg, SeccompProfile } from './profile.js';

export type { CompileOptions } from './plan.js';

/** Syscall numbers compared linearly in one leaf: small enough that all leaf jumps fit in 8 bits. */
const LEAF = 16;

export function compileProfile(profile: SeccompProfile, opts: CompileOptions): Buffer {
  return compilePlan(planFilter(profile, opts));
}

export function compilePlan(plan: FilterPlan): Buffer {
  const asm = new Assembler();
  // A syscall entry that only says "default" needs no instructions at all.
  const entries = plan.syscalls.filter((s) => s.rules.length > 0 || s.fallback !== plan.defaultRet);

  // On another arch (i386 or x32 entry on x86_64, arm32 compat on arm64) every number means a
  // different syscall, so nothing below would be right: kill, as runc does for an unlisted arch.
  asm.load(SECCOMP_DATA.ARCH);
  const archOk = new Label('arch-ok');
  asm.jump('jeq', AUDIT_ARCH[plan.arch], archOk, 'next');
  asm.ret(SECCOMP_RET.KILL_PROCESS);
  asm.bind(archOk);
  asm.load(SECCOMP_DATA.NR);
  if (plan.arch === 'x86_64') {
    // x32 calls arrive with AUDIT_ARCH_X86_64 and nr | 0x40000000; none of our rules are about them.
    const notX32 = new Label('not-x32');
    asm.jump('jge', X32_SYSCALL_BIT, 'next', notX32);
    asm.ret(plan.defaultRet);
    asm.bind(notX32);
  }

  const bodies: { label: Label; plan: SyscallPlan }[] = [];
  emitTree(asm, entries, plan.defaultRet, bodies);
  for (const b of bodies) emitBody(asm, b.label, b.plan);

  if (asm.length > BPF_MAXINSNS) {
    throw new SkiffError(
      'ResourceExhausted',
      `seccomp profile compiles to ${asm.length} BPF instructions for ${plan.arch}; the kernel takes at most ${BPF_MAXINSNS}`,
    );
  }
  return encodeProgram(asm.assemble());
}

/** A is the syscall number on entry, and every path out of the tree ends in a return or a body. */
function emitTree(asm: Assembler, list: readonly SyscallPlan[], defaultRet: number, bodies: { label: Label; plan: SyscallPlan }[]): void {
  if (list.length <= LEAF) {
    emitLeaf(asm, list, defaultRet, bodies);
    return;
  }
  const half = Math.floor(list.length / 2);
  const pivot = (list[half] as SyscallPlan).nr;
  const left = new Label(`lt-${pivot}`);
  const right = new Label(`ge-${pivot}`);
  asm.jump('jge', pivot, 'next', left);
  asm.ja(right);
  asm.bind(left);
  emitTree(asm, list.slice(0, half), defaultRet, bodies);
  asm.bind(right);
  emitTree(asm, list.slice(half), defaultRet, bodies);
}

function emitLeaf(asm: Assembler, list: readonly SyscallPlan[], defaultRet: number, bodies: { label: Label; plan: SyscallPlan }[]): void {
  const rets = new Map<number, Label>();
  const trampolines: { at: Label; body: Label }[] = [];
  for (const s of list) {
    let target: Label;
    if (s.rules.length === 0) {
      target = rets.get(s.fallback) ?? new Label(`ret-${s.fallback.toString(16)}`);
      rets.set(s.fallback, target);
    } else {
      const body = new Label(`body-${s.nr}`);
      target = new Label(`to-body-${s.nr}`);
      trampolines.push({ at: target, body });
      bodies.push({ label: body, plan: s });
    }
    asm.jump('jeq', s.nr, target, 'next');
  }
  asm.ret(defaultRet);
  for (const [value, label] of rets) {
    asm.bind(label);
    asm.ret(value);
  }
  for (const t of trampolines) {
    asm.bind(t.at);
    asm.ja(t.body);
  }
}

function emitBody(asm: Assembler, label: Label, s: SyscallPlan): void {
  asm.bind(label);
  s.rules.forEach((rule, i) => {
    const nextRule = new Label(`nr${s.nr}-rule${i + 1}`);
    for (const c of rule.conditions) emitCondition(asm, c, nextRule);
    asm.ret(rule.ret);
    asm.bind(nextRule);
  });
  asm.ret(s.fallback);
}

const lo32 = (v: bigint) => Number(v & 0xffffffffn);
const hi32 = (v: bigint) => Number(v >> 32n);

/**
 * Falls through when the 64-bit argument passes, jumps to `fail` otherwise. seccomp_data only
 * offers 32-bit loads, so each comparison looks at the high half first and the low half only
 * when the high halves are equal (unsigned comparisons, as libseccomp makes them).
 */
function emitCondition(asm: Assembler, c: SeccompArg, fail: Label): void {
  const hiAt = argOffset(c.index, 'hi');
  const loAt = argOffset(c.index, 'lo');
  const v = c.value;
  const ok = new Label(`arg${c.index}-ok`);
  switch (c.op) {
    case 'SCMP_CMP_EQ':
      asm.load(hiAt);
      asm.jump('jeq', hi32(v), 'next', fail);
      asm.load(loAt);
      asm.jump('jeq', lo32(v), 'next', fail);
      return;
    case 'SCMP_CMP_NE':
      asm.load(hiAt);
      asm.jump('jeq', hi32(v), 'next', ok);
      asm.load(loAt);
      asm.jump('jeq', lo32(v), fail, 'next');
      break;
    case 'SCMP_CMP_MASKED_EQ':
      emitMaskedHalf(asm, hiAt, hi32(v), hi32(c.valueTwo), fail);
      emitMaskedHalf(asm, loAt, lo32(v), lo32(c.valueTwo), fail);
      return;
    case 'SCMP_CMP_GT':
    case 'SCMP_CMP_GE':
      // hi > v.hi passes, hi < v.hi fails, equal halves decide on the low half.
      asm.load(hiAt);
      asm.jump('jgt', hi32(v), ok, 'next');
      asm.jump('jeq', hi32(v), 'next', fail);
      asm.load(loAt);
      asm.jump(c.op === 'SCMP_CMP_GT' ? 'jgt' : 'jge', lo32(v), 'next', fail);
      break;
    case 'SCMP_CMP_LT':
    case 'SCMP_CMP_LE':
      // The negations of GE and GT.
      asm.load(hiAt);
      asm.jump('jgt', hi32(v), fail, 'next');
      asm.jump('jeq', hi32(v), 'next', ok);
      asm.load(loAt);
      asm.jump(c.op === 'SCMP_CMP_LT' ? 'jge' : 'jgt', lo32(v), fail, 'next');
      break;
  }
  asm.bind(ok);
}

/** A zero mask makes the half's outcome known at compile time (clone's flags live in the low half). */
function emitMaskedHalf(asm: Assembler, at: number, mask: number, want: number, fail: Label): void {
  if (mask === 0) {
    if (want !== 0) asm.ja(fail);
    return;
  }
  asm.load(at);
  if (mask !== 0xffffffff) asm.and(mask);
  asm.jump('jeq', want, 'next', fail);
}
