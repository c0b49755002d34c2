// Classic BPF as seccomp uses it: the opcodes we emit, the seccomp return values, the layout of
// struct seccomp_data, and a tiny assembler with forward labels so the code generator never
// computes jump offsets by hand.
import { internal } from '../core/errors.js';

/** linux/bpf_common.h, only what the compiler emits and the interpreter runs. */
export const BPF = Object.freeze({
  LD_W_ABS: 0x20, // A = *(u32 *)(seccomp_data + k)
  ALU_AND_K: 0x54, // A &= k
  JA: 0x05, // pc += k (32-bit offset: the one way to jump further than 255)
  JEQ_K: 0x15,
  JGT_K: 0x25,
  JGE_K: 0x35,
  RET_K: 0x06,
});

/** The kernel refuses longer filters (include/uapi/linux/bpf_common.h). */
export const BPF_MAXINSNS = 4096;
export const SOCK_FILTER_SIZE = 8;

/** include/uapi/linux/seccomp.h; the high 16 bits are the action, the low 16 its data. */
export const SECCOMP_RET = Object.freeze({
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
});
export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;

/** struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6]. */
export const SECCOMP_DATA = Object.freeze({ NR: 0, ARCH: 4, ARGS: 16, SIZE: 64 });

/** Offset of the low or high 32-bit half of args[i]; both our arches are little-endian. */
export function argOffset(index: number, half: 'lo' | 'hi'): number {
  return SECCOMP_DATA.ARGS + 8 * index + (half === 'hi' ? 4 : 0);
}

export interface SockFilter {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

export function encodeProgram(insns: readonly SockFilter[]): Buffer {
  const buf = Buffer.alloc(insns.length * SOCK_FILTER_SIZE);
  insns.forEach((ins, i) => {
    const o = i * SOCK_FILTER_SIZE;
    buf.writeUInt16LE(ins.code, o);
    buf.writeUInt8(ins.jt, o + 2);
    buf.writeUInt8(ins.jf, o + 3);
    buf.writeUInt32LE(ins.k >>> 0, o + 4);
  });
  return buf;
}

export function decodeProgram(buf: Buffer): SockFilter[] {
  if (buf.length % SOCK_FILTER_SIZE !== 0) throw internal(`BPF program of ${buf.length} bytes is not a whole number of instructions`);
  const out: SockFilter[] = [];
  for (let o = 0; o < buf.length; o += SOCK_FILTER_SIZE) {
    out.push({ code: buf.readUInt16LE(o), jt: buf.readUInt8(o + 2), jf: buf.readUInt8(o + 3), k: buf.readUInt32LE(o + 4) });
  }
  return out;
}

/** A forward jump target; `Assembler.bind` fixes where it points. */
export class Label {
  pos = -1;
  constructor(readonly name: string) {}
}

/** A conditional branch goes either to the next instruction or to a label. */
export type Target = Label | 'next';

interface Pending {
  code: number;
  k: number;
  jt: Target;
  jf: Target;
}

/**
 * Collects instructions with symbolic targets and resolves them at the end. Classic BPF only
 * jumps forward, and conditional offsets are 8 bits: the code generator keeps conditional targets
 * near (leaves of at most a few dozen instructions) and uses `ja` for anything that may be far,
 * so a conditional offset over 255 here is a compiler bug, reported as Internal.
 */
export class Assembler {
  private readonly insns: Pending[] = [];

  get length(): number {
    return this.insns.length;
  }

  bind(label: Label): void {
    if (label.pos !== -1) throw internal(`BPF label ${label.name} bound twice`);
    label.pos = this.insns.length;
  }

  load(offset: number): void {
    this.insns.push({ code: BPF.LD_W_ABS, k: offset, jt: 'next', jf: 'next' });
  }

  and(mask: number): void {
    this.insns.push({ code: BPF.ALU_AND_K, k: mask, jt: 'next', jf: 'next' });
  }

  jump(op: 'jeq' | 'jgt' | 'jge', k: number, jt: Target, jf: Target): void {
    const code = op === 'jeq' ? BPF.JEQ_K : op === 'jgt' ? BPF.JGT_K : BPF.JGE_K;
    this.insns.push({ code, k, jt, jf });
  }

  /** Unconditional jump; its 32-bit offset reaches anywhere in a program. */
  ja(to: Label): void {
    this.insns.push({ code: BPF.JA, k: 0, jt: to, jf: 'next' });
  }

  ret(value: number): void {
    this.insns.push({ code: BPF.RET_K, k: value, jt: 'next', jf: 'next' });
  }

  assemble(): SockFilter[] {
    return this.insns.map((ins, pc) => {
      const off = (t: Target): number => {
        if (t === 'next') return 0;
        if (t.pos === -1) throw internal(`BPF label ${t.name} never bound`);
        const d = t.pos - pc - 1;
        if (d < 0) throw internal(`BPF label ${t.name} is behind the jump at ${pc}`);
        return d;
      };
      if (ins.code === BPF.JA) return { code: ins.code, jt: 0, jf: 0, k: off(ins.jt) };
      const jt = off(ins.jt);
      const jf = off(ins.jf);
      if (jt > 255 || jf > 255) throw internal(`BPF conditional jump at ${pc} is ${Math.max(jt, jf)} long (max 255)`);
      return { code: ins.code, jt, jf, k: ins.k >>> 0 };
    });
  }
}
