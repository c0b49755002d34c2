/* The runtime rt.h describes: process entry, stack-protector support, the memory functions the
 * compiler may call on its own, strings, formatting and error lines. */
#include "rt.h"

#include <linux/auxvec.h>
#if defined(__x86_64__)
#include <asm/prctl.h>
#endif

int main(int argc, char **argv);

/* The stack-protector canary (-fstack-protector-strong in the Makefile). x86_64 reads it at
 * %fs:0x28, so %fs must point at a block shaped like glibc's thread control block; arm64 reads
 * the global __stack_chk_guard, which glibc would otherwise define next to __libc_start_main. */
#if defined(__x86_64__)
static struct {
	void *self;
	uintptr_t unused[4];
	uintptr_t canary;
} rt_tcb __attribute__((aligned(64)));
_Static_assert(offsetof(__typeof__(rt_tcb), canary) == 0x28, "x86_64 reads the canary at %fs:0x28");
#elif defined(__aarch64__)
uintptr_t __stack_chk_guard;
#endif

__attribute__((no_stack_protector)) static void setup_canary(char **envp)
{
	const unsigned char *random = NULL;
	uintptr_t canary = 0;
	char **p = envp;
	const uintptr_t *aux;

	while (*p)
		p++;
	for (aux = (const uintptr_t *)(p + 1); aux[0] != AT_NULL; aux += 2)
		if (aux[0] == AT_RANDOM)
			random = (const unsigned char *)aux[1];
	/* AT_RANDOM: 16 bytes from the kernel. The low byte stays 0, as in glibc, so a string read
	 * past a buffer stops before it leaks the canary. */
	if (random)
		for (size_t i = 1; i < sizeof(canary); i++)
			canary |= (uintptr_t)random[i] << (8 * i);
#if defined(__x86_64__)
	rt_tcb.self = &rt_tcb;
	rt_tcb.canary = canary;
	if (RT_SYS(__NR_arch_prctl, ARCH_SET_FS, &rt_tcb, 0, 0, 0) < 0)
		rt_exit(127);
#elif defined(__aarch64__)
	__stack_chk_guard = canary;
#endif
}

/* crt1.o's _start calls this with main, argc and argv (the same ABI for every glibc); defining it
 * here keeps glibc's own, and all the start-up it pulls in, out of the link. */
__attribute__((noreturn, no_stack_protector)) int __libc_start_main(int (*entry)(int, char **, char **), int argc,
								     char **argv, void (*init)(void), void (*fini)(void),
								     void (*rtld_fini)(void), void *stack_end)
{
	(void)init;
	(void)fini;
	(void)rtld_fini;
	(void)stack_end;
	setup_canary(argv + argc + 1);
	rt_exit(entry(argc, argv, argv + argc + 1));
}

__attribute__((noreturn)) void rt_exit(int status)
{
	for (;;)
		RT_SYS(__NR_exit_group, status, 0, 0, 0, 0);
}

/* arm64's crt1.o calls abort() should __libc_start_main return; glibc's would pull in most of
 * glibc, and its own __libc_start_main with it. */
__attribute__((noreturn)) void abort(void)
{
	RT_SYS(__NR_kill, rt_getpid(), RT_SIGABRT, 0, 0, 0);
	rt_exit(127);
}

__attribute__((noreturn)) void __stack_chk_fail(void)
{
	static const char msg[] = "[skiff-" HELPER_NAME ":e] stack smashing detected\n";

	RT_SYS(__NR_write, 2, msg, sizeof(msg) - 1, 0, 0);
	abort();
}

/* The compiler may emit calls to these (struct copies, zeroing); without this attribute it would
 * also turn their loops back into calls to themselves. */
#define RT_NO_BUILTIN_LOOPS __attribute__((optimize("no-tree-loop-distribute-patterns")))

RT_NO_BUILTIN_LOOPS void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

RT_NO_BUILTIN_LOOPS void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d < s) {
		while (n--)
			*d++ = *s++;
	} else {
		while (n--)
			d[n] = s[n];
	}
	return dst;
}

RT_NO_BUILTIN_LOOPS void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;

	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

RT_NO_BUILTIN_LOOPS int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

RT_NO_BUILTIN_LOOPS size_t rt_strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

bool rt_streq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

bool rt_starts_with(const char *s, const char *prefix)
{
	while (*prefix)
		if (*s++ != *prefix++)
			return false;
	return true;
}

const char *rt_find_any(const char *s, const char *set)
{
	for (; *s; s++)
		for (const char *c = set; *c; c++)
			if (*s == *c)
				return s;
	return NULL;
}

const char *rt_find_last(const char *s, char c)
{
	const char *last = NULL;

	for (; *s; s++)
		if (*s == c)
			last = s;
	return last;
}

bool rt_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

struct sink {
	char *buf;
	size_t size;
	size_t len;
};

static void put(struct sink *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++, o->len++)
		if (o->len + 1 < o->size)
			o->buf[o->len] = s[i];
}

static void put_u64(struct sink *o, uint64_t v, bool negative)
{
	char digits[21];
	size_t i = sizeof(digits);

	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (negative)
		digits[--i] = '-';
	put(o, digits + i, sizeof(digits) - i);
}

static void vformat(struct sink *o, const char *fmt, va_list ap)
{
	for (const char *f = fmt; *f; f++) {
		int precision = -1;
		int longs = 0;

		if (*f != '%') {
			put(o, f, 1);
			continue;
		}
		f++;
		if (f[0] == '.' && f[1] == '*') {
			precision = va_arg(ap, int);
			f += 2;
		}
		while (*f == 'l') {
			longs++;
			f++;
		}
		switch (*f) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			size_t n = rt_strlen(s);

			put(o, s, precision >= 0 && (size_t)precision < n ? (size_t)precision : n);
			break;
		}
		case 'c': {
			char c = (char)va_arg(ap, int);

			put(o, &c, 1);
			break;
		}
		case 'd': {
			long long v = longs == 0 ? va_arg(ap, int) : longs == 1 ? va_arg(ap, long) : va_arg(ap, long long);

			put_u64(o, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0);
			break;
		}
		case 'u':
			put_u64(o,
				longs == 0   ? va_arg(ap, unsigned)
				: longs == 1 ? va_arg(ap, unsigned long)
					     : va_arg(ap, unsigned long long),
				false);
			break;
		case '%':
			put(o, "%", 1);
			break;
		default:
			/* Unsupported conversions print as "?": -Wformat checks the callers. */
			put(o, "?", 1);
			if (!*f)
				return;
		}
	}
}

size_t rt_format(char *buf, size_t size, const char *fmt, ...)
{
	struct sink o = { buf, size, 0 };
	va_list ap;

	va_start(ap, fmt);
	vformat(&o, fmt, ap);
	va_end(ap);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len;
}

/* glibc's texts, so the daemon's messages read the same for every helper. */
const char *rt_strerror(int err)
{
	static char unknown[32];

	switch (err) {
	case EPERM: return "Operation not permitted";
	case ENOENT: return "No such file or directory";
	case ESRCH: return "No such process";
	case EINTR: return "Interrupted system call";
	case EIO: return "Input/output error";
	case E2BIG: return "Argument list too long";
	case EBADF: return "Bad file descriptor";
	case ECHILD: return "No child processes";
	case EAGAIN: return "Resource temporarily unavailable";
	case ENOMEM: return "Cannot allocate memory";
	case EACCES: return "Permission denied";
	case EFAULT: return "Bad address";
	case EBUSY: return "Device or resource busy";
	case EEXIST: return "File exists";
	case EXDEV: return "Invalid cross-device link";
	case ENODEV: return "No such device";
	case ENOTDIR: return "Not a directory";
	case EISDIR: return "Is a directory";
	case EINVAL: return "Invalid argument";
	case ENFILE: return "Too many open files in system";
	case EMFILE: return "Too many open files";
	case EFBIG: return "File too large";
	case ENOSPC: return "No space left on device";
	case EROFS: return "Read-only file system";
	case EMLINK: return "Too many links";
	case EPIPE: return "Broken pipe";
	case ERANGE: return "Numerical result out of range";
	case ENAMETOOLONG: return "File name too long";
	case ENOSYS: return "Function not implemented";
	case ENOTEMPTY: return "Directory not empty";
	case ELOOP: return "Too many levels of symbolic links";
	case EUSERS: return "Too many users";
	case EOPNOTSUPP: return "Operation not supported";
	case EDQUOT: return "Disk quota exceeded";
	default:
		rt_format(unknown, sizeof(unknown), "Unknown error %d", err);
		return unknown;
	}
}

#define LINE_MAX_BYTES 4096

static void emit_error(int err, const char *fmt, va_list ap)
{
	static const char prefix[] = "[skiff-" HELPER_NAME ":e] ";
	char line[LINE_MAX_BYTES];
	struct sink o = { line, sizeof(line), 0 };

	put(&o, prefix, sizeof(prefix) - 1);
	vformat(&o, fmt, ap);
	if (err) {
		const char *text = rt_strerror(err);

		put(&o, ": ", 2);
		put(&o, text, rt_strlen(text));
	}
	/* One write per line: lines of concurrent writers never interleave. Too long lines are cut,
	 * the newline is kept. */
	if (o.len > sizeof(line) - 2)
		o.len = sizeof(line) - 2;
	line[o.len++] = '\n';
	rt_write(2, line, o.len);
}

int report(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit_error(0, fmt, ap);
	va_end(ap);
	return -1;
}

int report_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit_error(err, fmt, ap);
	va_end(ap);
	return -1;
}

long answer(const char *fmt, ...)
{
	char line[256];
	struct sink o = { line, sizeof(line), 0 };
	va_list ap;
	long n;

	va_start(ap, fmt);
	vformat(&o, fmt, ap);
	va_end(ap);
	if (o.len >= sizeof(line) - 1)
		return -EOVERFLOW;
	n = rt_write(1, line, o.len);
	if (n < 0)
		return n;
	return (size_t)n == o.len ? 0 : -EIO;
}
