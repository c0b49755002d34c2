/* The helpers' own small runtime (skiff-pinns, skiff-init, skiff-monitor): system calls, the few
 * string functions they need, and their error lines. skiff-pinns runs on every RunPodSandbox, and glibc's static start-up (CPU
 * feature probing with CPUID, which traps to the hypervisor, tunables, IRELATIVE relocations,
 * TLS, stdio) costs more there than everything the helper does: ~1.6 ms of CPU against ~0.3 ms
 * for a process without it, measured on the 2-core VM DESIGN.md describes. So this helper calls
 * no glibc function at all; rt.c replaces __libc_start_main, which keeps the Makefile's ordinary
 * `cc -static` link and leaves all of glibc's start-up code out of the binary.
 *
 * Rules that follow: include no libc header that declares functions (kernel uapi headers and the
 * compiler's stddef/stdint/stdbool/stdarg only); call only rt_* functions; system calls return
 * -errno instead of setting errno. The link must stay non-PIE static (`-static`, not
 * `-static-pie`): nothing here applies relocations. */
#ifndef SKIFF_PINNS_RT_H
#define SKIFF_PINNS_RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <asm/unistd.h>
#include <linux/errno.h>
#include <linux/fcntl.h>
#include <linux/limits.h>
#include <linux/mount.h>
#include <linux/prctl.h>
#include <linux/sched.h>
#include <linux/wait.h>

#ifndef HELPER_NAME
#error "HELPER_NAME must be defined by the Makefile"
#endif

/* Exit statuses every helper uses (common/helper.h has the same; the daemon maps them). */
enum {
	EXIT_OK = 0,
	EXIT_FAILURE_GENERIC = 1,
	EXIT_USAGE = 2,
};

/* The same numbers on x86_64 and arm64 (asm-generic); the uapi signal headers clash easily. */
#define RT_SIGINT 2
#define RT_SIGABRT 6
#define RT_SIGKILL 9
#define RT_SIGTERM 15
#define RT_SIGCHLD 17
#define RT_SIG_SETMASK 2
/* <sys/mount.h> has these; the uapi headers do not. */
#define RT_MNT_DETACH 2

/* The kernel's siginfo as rt_sigtimedwait fills it for kill(): si_pid follows three ints and the
 * union's 8-byte alignment on 64-bit architectures. */
struct rt_siginfo {
	int signo;
	int err;
	int code;
	int pad;
	int pid;
	unsigned uid;
	char rest[104];
};

#if defined(__x86_64__)
static inline long rt_syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#elif defined(__aarch64__)
static inline long rt_syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a1;
	register long x1 __asm__("x1") = a2;
	register long x2 __asm__("x2") = a3;
	register long x3 __asm__("x3") = a4;
	register long x4 __asm__("x4") = a5;
	register long x5 __asm__("x5") = a6;

	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory", "cc");
	return x0;
}
#else
#error "the helpers' shared runtime supports x86_64 and aarch64"
#endif

#define RT_SYS(n, a1, a2, a3, a4, a5) rt_syscall6((n), (long)(a1), (long)(a2), (long)(a3), (long)(a4), (long)(a5), 0)

/* Retries a call interrupted by a signal; calls return -errno. */
#define RT_RETRY(expr)                   \
	({                               \
		long _r;                 \
		do {                     \
			_r = (expr);     \
		} while (_r == -EINTR);  \
		_r;                      \
	})

/* System calls, each returning its result or -errno. Only the *at forms exist on arm64. */
static inline long rt_open(const char *path, int flags, int mode)
{
	return RT_RETRY(RT_SYS(__NR_openat, AT_FDCWD, path, flags, mode, 0));
}
static inline long rt_read(int fd, void *buf, size_t n) { return RT_RETRY(RT_SYS(__NR_read, fd, buf, n, 0, 0)); }
static inline long rt_write(int fd, const void *buf, size_t n)
{
	return RT_RETRY(RT_SYS(__NR_write, fd, buf, n, 0, 0));
}
static inline long rt_close(int fd) { return RT_SYS(__NR_close, fd, 0, 0, 0, 0); }
static inline long rt_mkdir(const char *path, int mode) { return RT_SYS(__NR_mkdirat, AT_FDCWD, path, mode, 0, 0); }
static inline long rt_unlink(const char *path) { return RT_SYS(__NR_unlinkat, AT_FDCWD, path, 0, 0, 0); }
static inline long rt_rmdir(const char *path) { return RT_SYS(__NR_unlinkat, AT_FDCWD, path, AT_REMOVEDIR, 0, 0); }
static inline long rt_mount(const char *src, const char *dst, const char *type, unsigned long flags, const void *data)
{
	return RT_SYS(__NR_mount, src, dst, type, flags, data);
}
static inline long rt_umount2(const char *path, int flags) { return RT_SYS(__NR_umount2, path, flags, 0, 0, 0); }
static inline long rt_unshare(int flags) { return RT_SYS(__NR_unshare, flags, 0, 0, 0, 0); }
static inline long rt_sethostname(const char *name, size_t len) { return RT_SYS(__NR_sethostname, name, len, 0, 0, 0); }
static inline long rt_pipe2(int fds[2], int flags) { return RT_SYS(__NR_pipe2, fds, flags, 0, 0, 0); }
/* fork(): clone with only the exit signal; the zero arguments mean the same on both arches. */
static inline long rt_fork(void) { return RT_SYS(__NR_clone, RT_SIGCHLD, 0, 0, 0, 0); }
static inline long rt_wait4(int pid, int *status, int options)
{
	return RT_RETRY(RT_SYS(__NR_wait4, pid, status, options, 0, 0));
}
static inline long rt_kill(int pid, int sig) { return RT_SYS(__NR_kill, pid, sig, 0, 0, 0); }
static inline long rt_getpid(void) { return RT_SYS(__NR_getpid, 0, 0, 0, 0, 0); }
static inline long rt_setsid(void) { return RT_SYS(__NR_setsid, 0, 0, 0, 0, 0); }
static inline long rt_chdir(const char *path) { return RT_SYS(__NR_chdir, path, 0, 0, 0, 0); }
static inline long rt_prctl(int op, unsigned long arg) { return RT_SYS(__NR_prctl, op, arg, 0, 0, 0); }
static inline long rt_dup3(int from, int to) { return RT_RETRY(RT_SYS(__NR_dup3, from, to, 0, 0, 0)); }
static inline long rt_close_range(unsigned first, unsigned last)
{
	return RT_SYS(__NR_close_range, first, last, 0, 0, 0);
}
/* Masks are the kernel's 64-bit sigset_t. */
static inline long rt_sigprocmask(int how, const uint64_t *set, uint64_t *old)
{
	return RT_SYS(__NR_rt_sigprocmask, how, set, old, sizeof(uint64_t), 0);
}
static inline long rt_sigwaitinfo(const uint64_t *set, struct rt_siginfo *info)
{
	return RT_SYS(__NR_rt_sigtimedwait, set, info, 0, sizeof(uint64_t), 0);
}
__attribute__((noreturn)) void rt_exit(int status);

/* Defined in rt.c; the compiler may also call them on its own. */
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* Strings. */
size_t rt_strlen(const char *s);
bool rt_streq(const char *a, const char *b);
bool rt_starts_with(const char *s, const char *prefix);
/* The first occurrence of any byte of `set` in s, or NULL. */
const char *rt_find_any(const char *s, const char *set);
const char *rt_find_last(const char *s, char c);
/* A decimal number up to the first non-digit; false when there is none or it overflows. */
bool rt_parse_u64(const char *s, uint64_t *out);
/* snprintf for %s %.*s %c %d %u %lu %llu %%: returns the full length, truncating at size - 1. */
__attribute__((format(printf, 3, 4))) size_t rt_format(char *buf, size_t size, const char *fmt, ...);
const char *rt_strerror(int err);

/* conceal.c (helpers that enter a container include it): what other processes see of this one.
 * rt_conceal makes the process non-dumpable until its next execve and names it `comm`. */
long rt_conceal(const char *comm);
/* The argv strings, [start, start + len): what /proc/<pid>/cmdline shows. */
struct rt_args {
	char *start;
	size_t len;
};
/* Finds the area; -EINVAL when the strings are not laid out back to back as the kernel does. */
long rt_args_find(int argc, char **argv, struct rt_args *a);
/* Copies the strings to fresh memory and points argv there, so the area can be overwritten. */
long rt_args_move(int argc, char **argv, const struct rt_args *a);
/* Overwrites the area: cmdline then reads `title` alone. */
void rt_args_retitle(const struct rt_args *a, const char *title);

/* One line "[skiff-pinns:e] <message>" on stderr; returns -1 for `return report(...)`. */
__attribute__((format(printf, 1, 2))) int report(const char *fmt, ...);
/* The same with ": <strerror(err)>" appended; err is a positive errno. Returns -1. */
__attribute__((format(printf, 2, 3))) int report_err(int err, const char *fmt, ...);
/* The answer on stdout, in one write. Returns 0 or -errno. */
__attribute__((format(printf, 1, 2))) long answer(const char *fmt, ...);

#endif
