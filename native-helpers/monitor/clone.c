/* clone(CLONE_VM | CLONE_VFORK) for the container's process: no page tables are copied and the
 * monitor sleeps until the child has exec'd (or exited), which on the 2-core VM saves about a
 * millisecond per start over fork() and a wake-up through the status pipe. The child runs `fn(arg)`
 * on its own stack, so nothing it does can touch the monitor's frames; `fn` must not return (it
 * execs or exits). Written in assembly for the same reason as glibc's and musl's clone: after the
 * system call the child is on a new stack, where no C frame exists. */
#include "monitor.h"

#define CLONE_FLAGS_VFORK 0x4111 /* CLONE_VM 0x100 | CLONE_VFORK 0x4000 | SIGCHLD 17 */

_Static_assert(CLONE_FLAGS_VFORK == (CLONE_VM | CLONE_VFORK | SIG_CHLD), "clone flags");

#if defined(__x86_64__)
/* rdi = fn, rsi = arg, rdx = stack top. clone(flags, newsp, parent_tid, child_tid, tls): rcx and r11
 * are the only registers the syscall changes, so fn and arg survive in r8 and r9 in both processes
 * (r8 is also the tls argument, unused without CLONE_SETTLS). */
__asm__(".text\n"
	".globl clone_vfork\n"
	".type clone_vfork,@function\n"
	"clone_vfork:\n"
	"	mov %rdi, %r8\n"
	"	mov %rsi, %r9\n"
	"	and $-16, %rdx\n"
	"	mov %rdx, %rsi\n"
	"	mov $0x4111, %edi\n"
	"	xor %edx, %edx\n"
	"	xor %r10d, %r10d\n"
	"	mov $56, %eax\n" /* __NR_clone */
	"	syscall\n"
	"	test %rax, %rax\n"
	"	jnz 1f\n"
	"	xor %ebp, %ebp\n"
	"	mov %r9, %rdi\n"
	"	call *%r8\n"
	"	mov $127, %edi\n"
	"	mov $231, %eax\n" /* __NR_exit_group, should fn return */
	"	syscall\n"
	"	hlt\n"
	"1:	ret\n"
	".size clone_vfork, .-clone_vfork\n");
#elif defined(__aarch64__)
/* x0 = fn, x1 = arg, x2 = stack top. clone(flags, newsp, parent_tid, tls, child_tid); the kernel
 * keeps every register but x0 across svc. */
__asm__(".text\n"
	".globl clone_vfork\n"
	".type clone_vfork,%function\n"
	"clone_vfork:\n"
	"	mov x9, x0\n"
	"	mov x10, x1\n"
	"	and x1, x2, #-16\n"
	"	mov x0, #0x4111\n"
	"	mov x2, xzr\n"
	"	mov x3, xzr\n"
	"	mov x4, xzr\n"
	"	mov x8, #220\n" /* __NR_clone */
	"	svc #0\n"
	"	cbnz x0, 1f\n"
	"	mov x29, xzr\n"
	"	mov x30, xzr\n"
	"	mov x0, x10\n"
	"	blr x9\n"
	"	mov x0, #127\n"
	"	mov x8, #94\n" /* __NR_exit_group */
	"	svc #0\n"
	"1:	ret\n"
	".size clone_vfork, .-clone_vfork\n");
#else
#error "clone_vfork supports x86_64 and aarch64"
#endif
