// The architectures the compiler targets, and the names profiles use for them. Docker profiles
// say "amd64"/"arm64" in includes/excludes (Go's names) and SCMP_ARCH_* in `architectures`.
import { SYSCALLS_AARCH64 } from './syscalls-aarch64.js';
import { SYSCALLS_X86_64 } from './syscalls-x86_64.js';

export type SeccompArch = 'x86_64' | 'aarch64';
export const SECCOMP_ARCHES: readonly SeccompArch[] = ['x86_64', 'aarch64'];

/** include/uapi/linux/audit.h: EM_* | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE. */
export const AUDIT_ARCH: Readonly<Record<SeccompArch, number>> = Object.freeze({
  x86_64: 0xc000003e,
  aarch64: 0xc00000b7,
});

/** x32 syscalls are the x86_64 ones with this bit set; the kernel reports them with AUDIT_ARCH_X86_64. */
export const X32_SYSCALL_BIT = 0x40000000;

export function syscallTable(arch: SeccompArch): Readonly<Record<string, number>> {
  return arch === 'x86_64' ? SYSCALLS_X86_64 : SYSCALLS_AARCH64;
}

/** Own-property lookup: a profile naming "constructor" or "toString" must not find Object's. */
export function syscallNumber(arch: SeccompArch, name: string): number | undefined {
  const table = syscallTable(arch);
  return Object.prototype.hasOwnProperty.call(table, name) ? table[name] : undefined;
}

/** The names a rule's includes/excludes `arches` may use for each target. */
const ARCH_ALIASES: Readonly<Record<SeccompArch, readonly string[]>> = {
  x86_64: ['amd64', 'x86_64', 'SCMP_ARCH_X86_64'],
  aarch64: ['arm64', 'aarch64', 'SCMP_ARCH_AARCH64'],
};

export function archMatches(arch: SeccompArch, name: string): boolean {
  return ARCH_ALIASES[arch].includes(name);
}

/** Every SCMP_ARCH_* name libseccomp knows: `architectures` may list any, we compile for one. */
export const SCMP_ARCH_NAMES: readonly string[] = [
  'SCMP_ARCH_NATIVE', 'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64', 'SCMP_ARCH_X32', 'SCMP_ARCH_ARM',
  'SCMP_ARCH_AARCH64', 'SCMP_ARCH_LOONGARCH64', 'SCMP_ARCH_M68K', 'SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32', 'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_MIPSEL64N32', 'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64', 'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390', 'SCMP_ARCH_S390X', 'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64', 'SCMP_ARCH_RISCV64', 'SCMP_ARCH_SH', 'SCMP_ARCH_SHEB',
];
