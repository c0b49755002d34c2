/* rt_clone_run(): clone(2) with a stack of its own for the child, which calls fn(arg) there and
 * exits with its result; the parent gets the child's pid (or -errno). Used with CLONE_VM |
 * CLONE_VFORK, like posix_spawn: no page tables are copied and no page is copied on write, which
 * costs a millisecond on the 2-core VM (every page fault traps to the hypervisor there), and the
 * parent sleeps until the child has exec'd or exited. The child must not return into its
 * caller's frames (they belong to the parent, on the parent's stack): hence this trampoline in
 * assembly, with the same arguments on both architectures. */
#include "init.h"

long rt_clone_run(unsigned long flags, void *stack_top, int (*fn)(void *), void *arg);

#if defined(__x86_64__)
/* clone(flags, newsp, parent_tid, child_tid, tls): rdi, rsi, rdx, r10, r8. */
__asm__(".text\n"
	".globl rt_clone_run\n"
	".type rt_clone_run,@function\n"
	"rt_clone_run:\n"
	"	and $-16, %rsi\n"
	"	sub $16, %rsi\n"
	"	mov %rdx, 0(%rsi)\n"
	"	mov %rcx, 8(%rsi)\n"
	"	xor %edx, %edx\n"
	"	xor %r10d, %r10d\n"
	"	xor %r8d, %r8d\n"
	"	mov $" RT_STR(__NR_clone) ", %eax\n"
	"	syscall\n"
	"	test %rax, %rax\n"
	"	jnz 1f\n"
	"	xor %ebp, %ebp\n"
	"	pop %rax\n"
	"	pop %rdi\n"
	"	call *%rax\n"
	"	mov %eax, %edi\n"
	"	mov $" RT_STR(__NR_exit_group) ", %eax\n"
	"	syscall\n"
	"	hlt\n"
	"1:	ret\n"
	".size rt_clone_run, .-rt_clone_run\n");
#elif defined(__aarch64__)
/* clone(flags, newsp, parent_tid, tls, child_tid): x0..x4. */
__asm__(".text\n"
	".globl rt_clone_run\n"
	".type rt_clone_run,%function\n"
	"rt_clone_run:\n"
	"	and x1, x1, #-16\n"
	"	stp x2, x3, [x1, #-16]!\n"
	"	mov x2, #0\n"
	"	mov x3, #0\n"
	"	mov x4, #0\n"
	"	mov x8, #" RT_STR(__NR_clone) "\n"
	"	svc #0\n"
	"	cbnz x0, 1f\n"
	"	ldp x1, x0, [sp], #16\n"
	"	blr x1\n"
	"	mov x8, #" RT_STR(__NR_exit_group) "\n"
	"	svc #0\n"
	"	brk #0\n"
	"1:	ret\n"
	".size rt_clone_run, .-rt_clone_run\n");
#else
#error "skiff-init's clone trampoline supports x86_64 and aarch64"
#endif
