/* skiff-monitor: one per container, conmon's job. README.md ("skiff-monitor") has the protocol;
 * this header names the parts, one file each:
 *   main.c     the launcher (the process the daemon spawns) and the order of everything
 *   cli.c      options and their rules
 *   setup.c    what the launcher opens before it forks: stdio pipes or pty, /dev/null
 *   spawn.c    the container's process: stdio, exec of the executor, start detection
 *   clone.c    clone(CLONE_VM | CLONE_VFORK) onto a stack of the child's own (assembly)
 *   report.c   the one JSON line (pid or error) on stdout, JSON escaping, the monitor's error message
 *   proc.c     a process's start time from /proc
 *   loop.c     the event loop: signals, reaping, dispatch to io and attach
 *   io.c       the container's stdio: output to log and attach clients, stdin, window size
 *   logging.c  the CRI log file
 *   clock.c    RFC 3339 timestamps with nanoseconds
 *   attach.c   the attach socket
 *   exit.c     the exit file
 *   oom.c      OOM-kill detection and the monitor's own oom_score_adj */
#ifndef SKIFF_MONITOR_H
#define SKIFF_MONITOR_H

#include "sys.h"

/* One read of the container's output: the CRI log gets one timestamp per read, and a line longer
 * than this is split into P records. */
#define IO_BUF_SIZE 8192

enum stream { STREAM_STDOUT = 1, STREAM_STDERR = 2 };

struct options {
	const char *id;
	const char *exit_file;
	const char *log_path;
	const char *attach_socket; /* NULL: none */
	int attach_fd;             /* -1: none */
	int executor_fd;           /* -1: none; else the executor is exec'd from this sealed file */
	const char *oom_cgroup;    /* NULL: no OOM detection */
	bool stdin_pipe;
	bool tty;
	bool exec_sync;
	bool oom_score_adj_set;
	int oom_score_adj;
	char **argv; /* the executor's argv, NULL-terminated */
};

/* cli.c: fills `o`; every bad option is one error line. Returns 0 or -1 (usage). */
int parse_options(int argc, char **argv, struct options *o);

/* What the launcher prepares before it forks the monitor. -1 means "none". */
struct setup {
	int null_fd;
	int out_r, out_w;       /* stdout pipe, or pty master / slave with --tty */
	int err_r, err_w;       /* stderr pipe; none with --tty */
	int in_r, in_w;         /* stdin pipe with --stdin (no tty); in_r is /dev/null otherwise */
	int exec_fd;            /* --executor-fd moved above fd 3, close-on-exec; -1: none */
	unsigned old_umask;
	bool oom_score_changed;
	int old_oom_score_adj;
};

/* setup.c: opens everything the monitor needs; errors are reported on stderr. Returns 0 or -1. */
int setup_prepare(const struct options *o, struct setup *s);

/* What spawn.c learned about the container's start. */
struct started {
	int child;           /* the executor process, the monitor's child */
	int pid;             /* the container's process: the child, or the pid the executor announced */
	int executor_status; /* wait status when the executor failed and was reaped, else -1 */
	/* With --exec-sync: what the executor wrote to stderr before the container's exec. */
	char early_err[IO_BUF_SIZE];
	size_t early_err_len;
};

/* spawn.c: starts the executor and waits until the container runs. Returns 0 (running, st->pid
 * set), or -1 with the reason in report.c's error message and nothing left running. */
int spawn_container(const struct options *o, const struct setup *s, char **envp, struct started *st);

/* clone.c: runs fn(arg) in a new process sharing the caller's memory, on the stack that ends at
 * `stack_top`; the caller sleeps until that process execs or exits. Returns its pid or -errno. */
long clone_vfork(void (*fn)(void *), void *arg, void *stack_top);

/* report.c */
/* Records why the monitor failed, for the {"error":…} answer; the first message wins. `err` is a
 * positive errno or 0. Returns -1. */
int fail(int err, const char *what);
/* Writes {"pid":…,"startTime":…,"monitorPid":…} or {"error":…[,"executorStatus":N]} to `fd`
 * (the daemon's pipe, inherited). Returns 0 or -errno. */
long report_started(int fd, int pid, uint64_t start_time, int monitor_pid);
long report_failure(int fd, int executor_status);
/* Copies `s` into `dst` as the inside of a JSON string; returns the length, cut to fit. */
size_t json_escape(char *dst, size_t cap, const char *s, size_t len);
/* strerror with the texts exec(2) adds to ../common/rt.c's table. */
const char *errno_text(int err);
/* "[skiff-monitor:w] <what>: <strerror>" on stderr. */
void warn_errno(int err, const char *what);

/* proc.c: field 22 of /proc/<pid>/stat. Returns 0 or -errno. */
long proc_start_time(int pid, uint64_t *out);

/* clock.c */
int64_t clock_now_ns(void);
/* "2006-01-02T15:04:05.123456789Z": always 30 characters, returns 30. */
size_t format_rfc3339nano(int64_t ns, char out[32]);

/* logging.c */
long log_open(const char *path);
void log_chunk(enum stream s, const char *data, size_t n);
/* Opens the path again (the old file was renamed away: ReopenContainerLog). Returns 0 or -errno;
 * on failure the old file stays in use. */
long log_reopen(void);

/* The monitor's poll set: each module adds its fds and gets back their events. */
enum owner { OWN_SIGNAL, OWN_IO, OWN_ATTACH };
#define POLL_MAX 16
struct pollset {
	struct pollfd fds[POLL_MAX];
	unsigned char owner[POLL_MAX];
	int tag[POLL_MAX];
	unsigned n;
};
void pollset_add(struct pollset *p, int fd, short events, enum owner owner, int tag);

/* io.c */
void io_init(const struct setup *s, bool tty, bool stdin_open);
void io_poll_add(struct pollset *p);
void io_handle(int tag, short revents);
/* Reads what the container left in its pipes when it exited (bounded: an orphan may still write). */
void io_drain(void);
/* Bytes of stdin the monitor can take now; data past it waits in the client. */
size_t io_stdin_room(void);
void io_stdin_write(const char *data, size_t n);
void io_stdin_close(void);
void io_resize(unsigned short rows, unsigned short cols);
/* One chunk of output: to the log and to attached clients. */
void io_output(enum stream s, const char *data, size_t n);

/* attach.c */
long attach_listen(const char *path);
/* Takes `fd`, a connected stream socket inherited from the daemon (--attach-fd), as a client from
 * the start. Returns 0 or -errno. */
long attach_adopt(int fd);
/* Whether one more read of output fits the adopted client's buffer (always true without one). */
bool attach_output_room(void);
/* The adopted client went away: the process it was started for has nobody to talk to. */
bool attach_primary_lost(void);
void attach_poll_add(struct pollset *p);
void attach_handle(int tag, short revents);
void attach_broadcast(enum stream s, const char *data, size_t n);
/* stdin has room again: frames that waited for it are handled. */
void attach_resume(void);
void attach_close(void);

/* loop.c */
struct watch {
	int sig_fd;
	int pid;      /* the container's process */
	bool exited;
	int status;   /* its wait status */
	int64_t finished_ns;
};
/* Blocks the signals the loop handles and opens their signalfd. Returns 0 or -1 (fail() set). */
int loop_signals(struct watch *w);
/* Runs until the container's process has exited and been reaped. Returns 0 or -1. */
int loop_run(struct watch *w);
/* Reaps every exited child without blocking; records the container's status. */
void reap_children(struct watch *w);

/* exit.c: writes the exit file atomically. Returns 0 or -errno. */
long exit_file_write(const char *path, int status, int64_t finished_ns, bool oom_killed);

/* oom.c */
/* Reads the cgroup's oom_kill counter now; later oom_killed() compares. A failure is a warning. */
void oom_watch(const char *cgroup_dir);
bool oom_killed(void);
/* Sets /proc/self/oom_score_adj, returning the old value in *old. Returns 0 or -errno. */
long oom_score_set(int value, int *old);

#endif
