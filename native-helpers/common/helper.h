/* Shared conventions of Skiff's helpers: errors are one line "[skiff-<helper>:e] <what>: <strerror>"
 * on stderr, and only main() decides the exit status. */
#ifndef SKIFF_HELPER_H
#define SKIFF_HELPER_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#ifndef HELPER_NAME
#error "HELPER_NAME must be defined by the Makefile"
#endif

/* Reports an error with errno's text; returns -1 so callers can `return report_errno(...)`. */
__attribute__((format(printf, 1, 2))) static inline int report_errno(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	fputs("[skiff-" HELPER_NAME ":e] ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(saved));
	errno = saved;
	return -1;
}

/* Reports an error that has no errno (bad usage, bad input); returns -1. */
__attribute__((format(printf, 1, 2))) static inline int report(const char *fmt, ...)
{
	va_list ap;

	fputs("[skiff-" HELPER_NAME ":e] ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/* Retries a call interrupted by a signal. */
#define RETRY_EINTR(expr)                          \
	({                                         \
		long _r;                           \
		do {                               \
			_r = (long)(expr);         \
		} while (_r == -1 && errno == EINTR); \
		_r;                                \
	})

/* Exit statuses every helper uses: the daemon maps them to error kinds. */
enum {
	EXIT_OK = 0,
	EXIT_FAILURE_GENERIC = 1,
	EXIT_USAGE = 2,
};

#endif
