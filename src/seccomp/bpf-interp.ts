// Runs a compiled seccomp program against one syscall the way the kernel would, so tests can
// prove what a profile allows without loading it. It also applies the kernel's static checks
// (length, known opcodes, jumps inside the program, aligned loads inside seccomp_data, a return
// at the end): a program this accepts is one seccomp(2) would accept.
import { internal } from '../core/errors.js';
import { BPF, BPF_MAXINSNS, SECCOMP_DATA, SECCOMP_RET, SECCOMP_RET_ACTION_FULL, SECCOMP_RET_DATA, decodeProgram, type SockFilter } from './bpf.js';

export interface SeccompData {
  readonly nr: number;
  /** AUDIT_ARCH_* */
  readonly arch: number;
  /** Up to six u64 arguments; missing ones are 0. */
  readonly args?: readonly (bigint | number)[];
  readonly instructionPointer?: bigint;
}

export type SeccompVerdict =
  | { readonly action: 'allow' | 'kill_process' | 'kill_thread' | 'trap' | 'log' | 'user_notif' }
  | { readonly action: 'errno'; readonly errno: number }
  | { readonly action: 'trace'; readonly msg: number };

export interface RunResult {
  readonly ret: number;
  readonly verdict: SeccompVerdict;
  /** Instructions executed: what a lookup costs. */
  readonly steps: number;
}

function packData(d: SeccompData): Buffer {
  const buf = Buffer.alloc(SECCOMP_DATA.SIZE);
  buf.writeInt32LE(d.nr | 0, SECCOMP_DATA.NR);
  buf.writeUInt32LE(d.arch >>> 0, SECCOMP_DATA.ARCH);
  buf.writeBigUInt64LE(d.instructionPointer ?? 0n, 8);
  (d.args ?? []).slice(0, 6).forEach((a, i) => buf.writeBigUInt64LE(BigInt.asUintN(64, BigInt(a)), SECCOMP_DATA.ARGS + 8 * i));
  return buf;
}

export function verdictOf(ret: number): SeccompVerdict {
  const action = (ret & SECCOMP_RET_ACTION_FULL) >>> 0;
  const data = ret & SECCOMP_RET_DATA;
  switch (action) {
    case SECCOMP_RET.ALLOW:
      return { action: 'allow' };
    case SECCOMP_RET.ERRNO:
      return { action: 'errno', errno: data };
    case SECCOMP_RET.KILL_PROCESS:
      return { action: 'kill_process' };
    case SECCOMP_RET.KILL_THREAD:
      return { action: 'kill_thread' };
    case SECCOMP_RET.TRAP:
      return { action: 'trap' };
    case SECCOMP_RET.LOG:
      return { action: 'log' };
    case SECCOMP_RET.TRACE:
      return { action: 'trace', msg: data };
    case SECCOMP_RET.USER_NOTIF:
      return { action: 'user_notif' };
    default:
      // The kernel treats an unknown action as KILL_PROCESS.
      return { action: 'kill_process' };
  }
}

const KNOWN = new Set<number>(Object.values(BPF));

/** The kernel's bpf_check_classic + seccomp_check_filter, for the opcodes we use. */
export function checkProgram(insns: readonly SockFilter[]): void {
  if (insns.length === 0 || insns.length > BPF_MAXINSNS) throw internal(`BPF program has ${insns.length} instructions (1..${BPF_MAXINSNS})`);
  insns.forEach((ins, pc) => {
    if (!KNOWN.has(ins.code)) throw internal(`BPF opcode 0x${ins.code.toString(16)} at ${pc} is not one seccomp allows here`);
    if (ins.code === BPF.LD_W_ABS && (ins.k % 4 !== 0 || ins.k >= SECCOMP_DATA.SIZE)) {
      throw internal(`BPF load at ${pc} from offset ${ins.k} is outside seccomp_data or unaligned`);
    }
    const far = ins.code === BPF.JA ? pc + 1 + ins.k : pc + 1 + Math.max(ins.jt, ins.jf);
    if (ins.code !== BPF.RET_K && far >= insns.length) throw internal(`BPF jump at ${pc} leaves the program`);
  });
  if (insns[insns.length - 1]?.code !== BPF.RET_K) throw internal('BPF program does not end with a return');
}

export function runProgram(program: Buffer, data: SeccompData): RunResult {
  const insns = decodeProgram(program);
  checkProgram(insns);
  const mem = packData(data);
  let a = 0;
  let pc = 0;
  for (let steps = 1; ; steps++) {
    const ins = insns[pc] as SockFilter;
    pc += 1;
    switch (ins.code) {
      case BPF.LD_W_ABS:
        a = mem.readUInt32LE(ins.k);
        break;
      case BPF.ALU_AND_K:
        a = (a & ins.k) >>> 0;
        break;
      case BPF.JA:
        pc += ins.k;
        break;
      case BPF.JEQ_K:
        pc += a === ins.k ? ins.jt : ins.jf;
        break;
      case BPF.JGT_K:
        pc += a > ins.k ? ins.jt : ins.jf;
        break;
      case BPF.JGE_K:
        pc += a >= ins.k ? ins.jt : ins.jf;
        break;
      case BPF.RET_K:
        return { ret: ins.k, verdict: verdictOf(ins.k), steps };
    }
  }
}
