/* The system calls skiff-monitor needs beyond ../common/rt.h, each returning its result or -errno,
 * and the kernel constants the uapi headers do not offer without clashing. */
#ifndef SKIFF_MONITOR_SYS_H
#define SKIFF_MONITOR_SYS_H

#include "../common/rt.h"

#include <asm/ioctls.h>
#include <linux/close_range.h>
#include <linux/poll.h>
#include <linux/signalfd.h>
#include <linux/time_types.h>
#include <linux/un.h>

/* Signal numbers (the same on x86_64 and arm64), and the kernel's 64-bit sigset_t. */
#define SIG_HUP 1
#define SIG_INT 2
#define SIG_QUIT 3
#define SIG_KILL 9
#define SIG_USR1 10
#define SIG_PIPE 13
#define SIG_TERM 15
#define SIG_CHLD 17
#define SIG_BIT(s) (1ULL << ((s) - 1))

/* <sys/socket.h> has these; the uapi headers do not. */
#define SOCK_AF_UNIX 1
#define SOCK_STREAM_TYPE 1
#define SOCK_FLAG_CLOEXEC O_CLOEXEC
#define SOCK_FLAG_NONBLOCK O_NONBLOCK

#define CLOCK_REALTIME_ID 0

/* struct winsize of <asm/termios.h>, which clashes with other uapi headers. */
struct term_size {
	unsigned short rows;
	unsigned short cols;
	unsigned short xpixel;
	unsigned short ypixel;
};

/* wait(2) status decoding (<sys/wait.h>'s macros). */
#define STATUS_EXITED(s) (((s) & 0x7f) == 0)
#define STATUS_CODE(s) (((s) >> 8) & 0xff)
#define STATUS_SIGNAL(s) ((s) & 0x7f)

static inline long sys_openat(int dir, const char *path, int flags, int mode)
{
	return RT_RETRY(RT_SYS(__NR_openat, dir, path, flags, mode, 0));
}
static inline long sys_execve(const char *path, char *const argv[], char *const envp[])
{
	return RT_SYS(__NR_execve, path, argv, envp, 0, 0);
}
/* The file open at `fd` itself (AT_EMPTY_PATH): a sealed copy of the executor. */
static inline long sys_execveat_fd(int fd, char *const argv[], char *const envp[])
{
	return RT_SYS(__NR_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
}
static inline long sys_getppid(void) { return RT_SYS(__NR_getppid, 0, 0, 0, 0, 0); }
static inline long sys_umask(unsigned mask) { return RT_SYS(__NR_umask, mask, 0, 0, 0, 0); }
static inline long sys_fcntl(int fd, int cmd, long arg) { return RT_SYS(__NR_fcntl, fd, cmd, arg, 0, 0); }
static inline long sys_ioctl(int fd, unsigned long req, void *arg) { return RT_RETRY(RT_SYS(__NR_ioctl, fd, req, arg, 0, 0)); }
static inline long sys_fsync(int fd) { return RT_RETRY(RT_SYS(__NR_fsync, fd, 0, 0, 0, 0)); }
static inline long sys_renameat2(int olddir, const char *from, int newdir, const char *to)
{
	return RT_SYS(__NR_renameat2, olddir, from, newdir, to, 0);
}
static inline long sys_unlinkat(int dir, const char *path) { return RT_SYS(__NR_unlinkat, dir, path, 0, 0, 0); }
static inline long sys_signalfd(const uint64_t *mask, int flags)
{
	return RT_SYS(__NR_signalfd4, -1, mask, sizeof(uint64_t), flags, 0);
}
/* An infinite wait: the monitor never polls on a timer. */
static inline long sys_ppoll(struct pollfd *fds, unsigned n) { return RT_SYS(__NR_ppoll, fds, n, 0, 0, 0); }
/* A bounded wait, only for the last output at the exit. */
static inline long sys_ppoll_ms(struct pollfd *fds, unsigned n, long ms)
{
	struct __kernel_timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	return RT_SYS(__NR_ppoll, fds, n, &ts, 0, 0);
}
static inline long sys_socket(int domain, int type) { return RT_SYS(__NR_socket, domain, type, 0, 0, 0); }
static inline long sys_bind(int fd, const void *addr, unsigned len) { return RT_SYS(__NR_bind, fd, addr, len, 0, 0); }
static inline long sys_listen(int fd, int backlog) { return RT_SYS(__NR_listen, fd, backlog, 0, 0, 0); }
static inline long sys_accept4(int fd, int flags) { return RT_RETRY(RT_SYS(__NR_accept4, fd, 0, 0, flags, 0)); }
static inline long sys_clock_realtime(struct __kernel_timespec *ts)
{
	return RT_SYS(__NR_clock_gettime, CLOCK_REALTIME_ID, ts, 0, 0, 0);
}
/* wait4 without retrying: the caller's loop decides what an interruption means. */
static inline long sys_wait4_nohang(int pid, int *status)
{
	return RT_SYS(__NR_wait4, pid, status, WNOHANG, 0, 0);
}
static inline long sys_close_range_flags(unsigned first, unsigned last, unsigned flags)
{
	return RT_SYS(__NR_close_range, first, last, flags, 0, 0);
}

#endif
