// The cgroup v2 device controller is an eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE attached
// to the cgroup: the kernel runs it on every mknod and open of a device node by a process of the
// cgroup (or a descendant) and refuses with EPERM when it returns 0. This file writes that program
// for a DevicePolicy, the same shape runc and crun generate: load the request into registers, one
// block per exception that jumps to the next block on the first field that does not match, and
// the default at the end. Only the handful of instructions below are used; ebpf-interp.ts runs
// them the way the kernel would, so the unit tests prove the decisions without loading anything.
import { ACC_ALL, type DeviceException, type DevicePolicy } from './devices.js';

/** Opcodes (class | op | source) of the eBPF instructions the filter uses. */
export const EBPF = {
  /** dst = *(u32 *)(src + off) */
  LDX_MEM_W: 0x61,
  /** dst = (u32)dst & imm (the upper half zeroed, as every 32-bit ALU op does) */
  ALU32_AND_K: 0x54,
  /** dst = (u32)dst >> imm */
  ALU32_RSH_K: 0x74,
  /** dst = (u32)src */
  ALU32_MOV_X: 0xbc,
  /** dst = imm (sign-extended to 64 bits) */
  ALU64_MOV_K: 0xb7,
  /** if dst != imm: pc += off */
  JNE_K: 0x55,
  /** if dst == imm: pc += off */
  JEQ_K: 0x15,
  /** if dst & imm: pc += off */
  JSET_K: 0x45,
  EXIT: 0x95,
} as const;

/** struct bpf_cgroup_dev_ctx: access_type = (access << 16) | type; major; minor. */
export const DEV_CTX = { ACCESS_TYPE: 0, MAJOR: 4, MINOR: 8, SIZE: 12 } as const;
/** BPF_DEVCG_DEV_BLOCK and BPF_DEVCG_DEV_CHAR, the low half of access_type. */
export const DEVCG_DEV = { b: 1, c: 2 } as const;

export interface EbpfInsn {
  readonly code: number;
  readonly dst: number;
  readonly src: number;
  /** Signed 16 bits: a jump's distance, counted from the next instruction; a load's offset. */
  readonly off: number;
  /** Signed 32 bits. */
  readonly imm: number;
}

/** struct bpf_insn: code u8, dst_reg:4 (low nibble) and src_reg:4, off s16, imm s32, little-endian. */
export function encodeProgram(insns: readonly EbpfInsn[]): Buffer {
  const buf = Buffer.alloc(insns.length * 8);
  insns.forEach((ins, i) => {
    buf.writeUInt8(ins.code, i * 8);
    buf.writeUInt8(((ins.src & 0xf) << 4) | (ins.dst & 0xf), i * 8 + 1);
    buf.writeInt16LE(ins.off, i * 8 + 2);
    buf.writeInt32LE(ins.imm, i * 8 + 4);
  });
  return buf;
}

export function decodeProgram(buf: Buffer): EbpfInsn[] {
  if (buf.length % 8 !== 0) throw new RangeError(`eBPF program of ${buf.length} bytes is not a whole number of instructions`);
  const out: EbpfInsn[] = [];
  for (let at = 0; at < buf.length; at += 8) {
    const regs = buf.readUInt8(at + 1);
    out.push({ code: buf.readUInt8(at), dst: regs & 0xf, src: regs >> 4, off: buf.readInt16LE(at + 2), imm: buf.readInt32LE(at + 4) });
  }
  return out;
}

const R0 = 0;
const R1 = 1; // the context pointer on entry; free once the request is in R2..R5
const R2 = 2; // device type
const R3 = 3; // access bits
const R4 = 4; // major
const R5 = 5; // minor

const op = (code: number, dst: number, src: number, off: number, imm: number): EbpfInsn => ({ code, dst, src, off, imm });

/** One exception's block; each jump's `off` is a placeholder for "the next block", fixed below. */
function block(ex: DeviceException, defaultAllow: boolean): EbpfInsn[] {
  const insns: EbpfInsn[] = [];
  const nextJumps: number[] = [];
  const skipUnless = (ins: EbpfInsn) => {
    nextJumps.push(insns.length);
    insns.push(ins);
  };
  skipUnless(op(EBPF.JNE_K, R2, 0, 0, DEVCG_DEV[ex.type]));
  if (ex.access !== ACC_ALL) {
    if (defaultAllow) {
      // A refusing exception matches a request sharing any access bit with it.
      insns.push(op(EBPF.ALU32_MOV_X, R1, R3, 0, 0), op(EBPF.ALU32_AND_K, R1, 0, 0, ex.access));
      skipUnless(op(EBPF.JEQ_K, R1, 0, 0, 0));
    } else {
      // An allowing one only a request whose every bit it holds.
      skipUnless(op(EBPF.JSET_K, R3, 0, 0, ACC_ALL & ~ex.access));
    }
  }
  if (ex.major !== undefined) skipUnless(op(EBPF.JNE_K, R4, 0, 0, ex.major | 0));
  if (ex.minor !== undefined) skipUnless(op(EBPF.JNE_K, R5, 0, 0, ex.minor | 0));
  insns.push(op(EBPF.ALU64_MOV_K, R0, 0, 0, defaultAllow ? 0 : 1), op(EBPF.EXIT, 0, 0, 0, 0));
  for (const j of nextJumps) insns[j] = { ...(insns[j] as EbpfInsn), off: insns.length - j - 1 };
  return insns;
}

/** The instructions of the filter for a policy (the exceptions are disjoint in effect: order is kept). */
export function deviceFilterInsns(p: DevicePolicy): EbpfInsn[] {
  const insns: EbpfInsn[] = [
    op(EBPF.LDX_MEM_W, R2, R1, DEV_CTX.ACCESS_TYPE, 0),
    op(EBPF.ALU32_AND_K, R2, 0, 0, 0xffff),
    op(EBPF.LDX_MEM_W, R3, R1, DEV_CTX.ACCESS_TYPE, 0),
    op(EBPF.ALU32_RSH_K, R3, 0, 0, 16),
    op(EBPF.LDX_MEM_W, R4, R1, DEV_CTX.MAJOR, 0),
    op(EBPF.LDX_MEM_W, R5, R1, DEV_CTX.MINOR, 0),
  ];
  for (const ex of p.exceptions) insns.push(...block(ex, p.defaultAllow));
  insns.push(op(EBPF.ALU64_MOV_K, R0, 0, 0, p.defaultAllow ? 1 : 0), op(EBPF.EXIT, 0, 0, 0, 0));
  return insns;
}

/** The program as BPF_PROG_LOAD takes it. */
export function deviceFilter(p: DevicePolicy): Buffer {
  return encodeProgram(deviceFilterInsns(p));
}

/** The license BPF_PROG_LOAD is given (the kernel wants one; no GPL-only helper is called). */
export const DEVICE_FILTER_LICENSE = 'Apache';
