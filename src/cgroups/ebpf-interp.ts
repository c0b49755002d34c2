// Runs a device filter (device-filter.ts) on one request the way the kernel would, so tests can
// prove what a policy allows without loading it. It applies the verifier's rules that matter for
// the instructions used: known opcodes only, jumps forward and inside the program, loads only
// from the context pointer at an aligned offset inside struct bpf_cgroup_dev_ctx, no register read
// before it is written, a last instruction that cannot fall through, and R0 in [0, 1] at exit
// (the range the kernel demands of a CGROUP_DEVICE program).
import { internal } from '../core/errors.js';
import { DEV_CTX, DEVCG_DEV, EBPF, decodeProgram, type EbpfInsn } from './device-filter.js';
import type { DeviceRequest } from './devices.js';

const KNOWN = new Set<number>(Object.values(EBPF));
const JUMPS = new Set<number>([EBPF.JNE_K, EBPF.JEQ_K, EBPF.JSET_K]);
/** The verifier's limit for an unprivileged program; ours stay far below it. */
export const EBPF_MAXINSNS = 4096;

export function checkDeviceProgram(insns: readonly EbpfInsn[]): void {
  if (insns.length === 0 || insns.length > EBPF_MAXINSNS) throw internal(`eBPF program has ${insns.length} instructions`);
  insns.forEach((ins, pc) => {
    if (!KNOWN.has(ins.code)) throw internal(`eBPF opcode 0x${ins.code.toString(16)} at ${pc} is not one the device filter uses`);
    if (ins.dst > 10 || ins.src > 10) throw internal(`eBPF register out of range at ${pc}`);
    if (ins.code === EBPF.LDX_MEM_W) {
      if (ins.off % 4 !== 0 || ins.off < 0 || ins.off + 4 > DEV_CTX.SIZE) {
        throw internal(`eBPF load at ${pc} is not an aligned u32 of the context (R1+${ins.off})`);
      }
    }
    if (JUMPS.has(ins.code) && (ins.off < 0 || pc + 1 + ins.off >= insns.length)) throw internal(`eBPF jump at ${pc} leaves the program or goes back`);
  });
  if (insns[insns.length - 1]?.code !== EBPF.EXIT) throw internal('eBPF program does not end with exit');
}

export interface DeviceRunResult {
  readonly allowed: boolean;
  /** Instructions executed. */
  readonly steps: number;
}

const U64 = (1n << 64n) - 1n;
const u32 = (v: bigint) => v & 0xffffffffn;
const sext = (imm: number) => BigInt.asUintN(64, BigInt(imm));

export function runDeviceProgram(program: Buffer, req: DeviceRequest): DeviceRunResult {
  const insns = decodeProgram(program);
  checkDeviceProgram(insns);
  const ctx = Buffer.alloc(DEV_CTX.SIZE);
  ctx.writeUInt32LE(((req.access << 16) | DEVCG_DEV[req.type]) >>> 0, DEV_CTX.ACCESS_TYPE);
  ctx.writeUInt32LE(req.major >>> 0, DEV_CTX.MAJOR);
  ctx.writeUInt32LE(req.minor >>> 0, DEV_CTX.MINOR);
  // R1 starts as the context pointer (only a load may use it); R10, the frame pointer, is unused.
  const regs = new Map<number, bigint | 'ctx'>([[1, 'ctx']]);
  const read = (r: number, pc: number): bigint => {
    const v = regs.get(r);
    if (v === undefined) throw internal(`eBPF reads R${r} before writing it at ${pc}`);
    if (v === 'ctx') throw internal(`eBPF uses the context pointer R${r} as a number at ${pc}`);
    return v;
  };
  let pc = 0;
  for (let steps = 1; ; steps++) {
    const ins = insns[pc] as EbpfInsn;
    const at = pc;
    pc += 1;
    switch (ins.code) {
      case EBPF.LDX_MEM_W:
        if (regs.get(ins.src) !== 'ctx') throw internal(`eBPF load at ${at} is not from the context pointer`);
        regs.set(ins.dst, BigInt(ctx.readUInt32LE(ins.off)));
        break;
      case EBPF.ALU32_AND_K:
        regs.set(ins.dst, u32(read(ins.dst, at) & u32(sext(ins.imm))));
        break;
      case EBPF.ALU32_RSH_K:
        regs.set(ins.dst, u32(read(ins.dst, at)) >> BigInt(ins.imm & 31));
        break;
      case EBPF.ALU32_MOV_X:
        regs.set(ins.dst, u32(read(ins.src, at)));
        break;
      case EBPF.ALU64_MOV_K:
        regs.set(ins.dst, sext(ins.imm) & U64);
        break;
      case EBPF.JNE_K:
        if (read(ins.dst, at) !== sext(ins.imm)) pc += ins.off;
        break;
      case EBPF.JEQ_K:
        if (read(ins.dst, at) === sext(ins.imm)) pc += ins.off;
        break;
      case EBPF.JSET_K:
        if ((read(ins.dst, at) & sext(ins.imm)) !== 0n) pc += ins.off;
        break;
      case EBPF.EXIT: {
        const r0 = read(0, at);
        if (r0 > 1n) throw internal(`eBPF device program returns ${r0}, not 0 or 1`);
        return { allowed: r0 === 1n, steps };
      }
    }
  }
}
