/* skiff-init's modules and what they share. README.md ("skiff-init") has the protocol; spec.h
 * what is read from config.json. Every function returns 0 (or a result) on success and -1 after
 * reporting a "[skiff-init:e] …" line; only main() exits. */
#ifndef SKIFF_INIT_H
#define SKIFF_INIT_H

#include "spec.h"

#define CGROUP_FILES_MAX 32
#define CGROUP_VIEWS_MAX 32
#define GROUPS_MAX 256
#define ENV_MAX 4096

/* Exit statuses besides EXIT_OK / EXIT_FAILURE_GENERIC / EXIT_USAGE: a policy refusal (refuse.c),
 * and the command itself could not be executed (as a shell reports them). */
enum { EXIT_REFUSED = 3, EXIT_CANNOT_EXECUTE = 126, EXIT_NOT_FOUND = 127 };

/* refuse.c: a failure that is one of skiff-init's rules refusing what the image, a volume or the
 * spec asks for (not something that broke) is reported with refuse(), and the process then ends
 * with EXIT_REFUSED instead of EXIT_FAILURE_GENERIC. */
void refusal_note(void);
#define refuse(...) (refusal_note(), report(__VA_ARGS__))
/* rc, or EXIT_REFUSED when rc is EXIT_FAILURE_GENERIC and a refusal was reported. */
int refusal_status(int rc);

/* util.c */
/* Calls fn for each line (without its newline) of a file; lines longer than 4 KiB are skipped. */
int read_lines(const char *path, int (*fn)(char *line, void *arg), void *arg);
/* "/proc/self/fd/N" in buf (32 bytes). */
const char *fd_path(int fd, char *buf);
/* Splits "a,b,c" in place; returns the count or -1 when there are more than max. */
int split_list(char *s, char sep, char **out, int max);
bool parse_id(const char *s, uint32_t *out);
/* Opens /dev/null on whichever of fds 0-2 is closed. Returns 0 or -errno. */
int ensure_stdio(void);

/* cgroup.c: the container's view of its cgroups, prepared before the cgroup namespace is made.
 * Strings live in a pool, so only the bytes used are touched (every new page costs a fault). */
struct cgroup_view {
	/* The host directory of the container's cgroup in one hierarchy... */
	const char *source;
	/* ...and its name under /sys/fs/cgroup in the container ("cpu", "unified"; "" for the single
	 * v2 hierarchy, which is mounted at /sys/fs/cgroup itself). */
	const char *name;
	/* The controllers of a v1 hierarchy, "a,b" (symlinks are made for co-mounted ones). */
	const char *controllers;
};
struct cgroup_views {
	int count;
	struct cgroup_view views[CGROUP_VIEWS_MAX];
	size_t used;
	char pool[16384];
};
int cgroup_join(const char *const *files, int n);
int cgroup_views_read(struct cgroup_views *v);

/* namespaces.c */
/* Opens the namespace files of a spec's joined namespaces (fds[k] = -1 for the others). */
int ns_open_spec(const struct spec *s, int fds[NS_KINDS]);
/* Opens /proc/PID/ns/... for exec: fds[k] = -1 where PID's namespace is already ours. For pid, the
 * namespace PID's children get (the container's even when PID is skiff-init's waiting parent). */
int ns_open_process(int pid, int fds[NS_KINDS]);
/* setns() into every open fd, mount last; closes them. */
int ns_join(int fds[NS_KINDS]);
/* unshare() of the spec's namespaces that have no path. */
int ns_create(const struct spec *s);

/* paths.c */
enum path_create { PATH_EXISTING, PATH_DIR, PATH_FILE };
/* An O_PATH fd of `path` resolved inside the directory rootfd as if it were "/" (symlinks too);
 * missing components are created as directories, the last one as `create` says. -errno. */
long path_open(int rootfd, const char *path, enum path_create create);
/* An O_PATH fd of the directory `path` inside rootfd reached through no symlink at all; missing
 * components are created as directories. -ELOOP when a symlink is on the path, -ENOTDIR when
 * the path ends at something else than a directory; other -errno. */
long path_open_plain_dir(int rootfd, const char *path);

/* mounts.c */
/* The spec's mounts in order, under the rootfs at rootfd. *dev_tmpfs: /dev is a fresh mount. */
int mounts_apply(const struct spec *s, int rootfd, const struct cgroup_views *cg, bool *dev_tmpfs);
/* mount(2) of a bind (rec or not) onto a path inside the new root, then its flags. */
int bind_mount(const char *source, int rootfd, const char *dest, bool rec, unsigned long flags);

/* detached.c: mounts made detached, flagged, then attached onto an fd. */
/* MS_* per-mount flags → MOUNT_ATTR_* (read-only, nosuid, nodev, noexec, atime...). */
uint64_t mount_attr_of(unsigned long flags);
/* A clone of the mount tree at path (dirfd + "" for the fd itself), with `flags` added to the
 * top mount. Returns its fd or -errno. */
long detached_bind(int dirfd, const char *path, bool rec, unsigned long flags);
/* A new filesystem: fsopen, "source", the superblock flags and the data options, then fsmount with
 * the mount flags. Errors name `what`. Returns its fd, or -1. */
int detached_fs(const char *type, const char *source, const char *data, unsigned long flags, const char *what);
/* move_mount of mfd onto the fd of its destination. 0 or -errno. */
long attach_mount(int mfd, int destfd);

/* proc-dest.c: whether a mount may go where destfd (resolved in the root) is: not at or under
 * /proc, nor on a procfs, but for a new proc (or a bind of a whole procfs: srcfd) at /proc and
 * runc's few files. 0, or -1 after reporting. */
int proc_dest_check(int rootfd, int destfd, const char *dest, bool fresh_proc, int srcfd);

/* devices.c */
int devices_create(const struct spec *s, int rootfd, bool defaults);

/* rootfs.c */
int rootfs_prepare(const struct spec *s, const char *bundle, int *rootfd);
int rootfs_pivot(int rootfd);
int rootfs_finish(const struct spec *s);

/* process.c */
int process_limits(const struct spec *s);
int enter_cwd(const char *cwd);
int controlling_tty(bool required);
int set_user(uint32_t uid, uint32_t gid, const uint32_t *groups, size_t ngroups);
/* Prepares the process for execve (signals, fds) and executes args with PATH looked up in env.
 * Returns only on failure, with an exit status (EXIT_NOT_FOUND, EXIT_CANNOT_EXECUTE). */
int exec_command(char *const *args, char *const *env);

/* caps.c: the bounding set (and keeping permitted caps) before the user switch, the rest after. */
int caps_before_user(const struct caps_spec *c);
int caps_after_user(const struct caps_spec *c);

/* shim.c */
/* Starts fn(arg) in a child (the container process, or an exec'd command) that shares our memory
 * until it execs (CLONE_VM | CLONE_VFORK: we sleep until then); fn returns only on failure, with
 * the child's exit status. The child gets PR_SET_PDEATHSIG(SIGKILL) and all signals blocked, as
 * this process has them. Returns the child's pid, or -1. */
int shim_spawn(int (*fn)(void *), void *arg);
/* In the child: re-arms the parent-death signal (credential changes clear it) and fails if the
 * parent is already gone. */
int shim_child_recheck(void);
/* In the parent, once the child has exec'd or exited: forwards signals to the child until it
 * ends; returns its exit status, or after re-raising the signal that killed it, 128 + that
 * signal. Under skiff-monitor --exec-sync (SKIFF_SYNC_FD) it closes that fd first; handing over,
 * it writes "pid <child>" there instead and returns 0 at once (unless the child has ended). */
int shim_wait(int child);
/* Notes SKIFF_SYNC_FD from the environment. */
void shim_sync_init(char **envp);
/* Closes every fd above 2 but SKIFF_SYNC_FD: nothing a caller left open travels with us into the
 * container's namespaces. 0, or -1 after reporting. */
int shim_close_inherited(void);
/* run: hand the container over to the monitor (when there is a SKIFF_SYNC_FD). */
void shim_hand_over(bool yes);
/* Closes SKIFF_SYNC_FD in a process that must not hold it (the exec's reaper). */
void shim_sync_drop(void);
/* shim_wait calls hook(child) for SIGTERM instead of forwarding it. */
void shim_on_term(void (*hook)(int child));
/* End this process as a child ended: with its exit status, or by re-raising the signal that
 * killed it (128 + the signal if that does not end us). */
int shim_end_like_status(int status);
int shim_end_like(int sig);

/* target.c: the process `exec --pid` names, checked against the start time the daemon recorded.
 * target_open returns a pidfd of it (or -1 after reporting: gone, a zombie, or another process
 * that reuses its pid); target_check_alive fails once that process has exited. */
int target_open(int pid, uint64_t start_time);
int target_check_alive(int pidfd, int pid);

/* reaper.c: exec's second process (README.md, "skiff-init exec"). exec_reaper_fork returns the
 * reaper's pid in the first process and 0 in the reaper, which then calls exec_reaper_run: it
 * starts fn(arg) as the command (shim_spawn) and returns the status to end with.
 * exec_reaper_end, the first process's SIGTERM hook, asks it to kill everything below it. */
int exec_reaper_fork(void);
int exec_reaper_run(int (*fn)(void *), void *arg);
void exec_reaper_end(int reaper);

/* run.c, exec.c */
/* seccomp.c: the daemon's compiled filter, read from the bundle, installed before exec. */
int seccomp_read(const char *bundle);
int seccomp_install(void);
/* apparmor.c: process.apparmorProfile, effective at the next execve. */
int apparmor_exec_profile(const char *profile);
/* procfs.c: a file of this process under the container's /proc ("oom_score_adj",
 * "attr/exec"), opened with `flags` only if /proc is a procfs root reached through no symlink and
 * the file is on that procfs. Its fd; with missing_ok -ENOENT when it does not exist; else -1
 * after reporting (each line starts with `what`). */
long procfs_open_self(const char *rel, int flags, bool missing_ok, const char *what);

int run_main(int argc, char **argv);
int exec_main(int argc, char **argv);

#endif
