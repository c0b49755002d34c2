/* What the pod's init keeps of the host: nothing. Every container of a pod that shares one pid
 * namespace sees it as pid 1, and /proc/1/root, /proc/1/cwd and /proc/1/mountinfo are its root,
 * its working directory and its mount table: with the host's, a container with CAP_SYS_PTRACE
 * reads and writes the host's files through them (and sees the node's mounts). So the init lives
 * in a mount namespace whose only mount is an empty read-only tmpfs, and it holds no capability,
 * runs as 65535 (as the pause image does) and stays non-dumpable.
 *
 * Making such a namespace per pod costs ~0.5 ms here (unshare copies the host's whole mount
 * table, and detaching it waits for an RCU grace period), so skiffd makes one at start-up
 * (`--empty-mount-ns`) and hands it to every pod's init, which joins it with setns (~20 µs). */
#include "pinns.h"

#define POD_INIT_ID 65535
#define RT_MS_REC 0x4000
#define RT_MS_PRIVATE 0x40000
#define RT_FSOPEN_CLOEXEC 0x1
#define RT_FSCONFIG_SET_FLAG 0
#define RT_FSCONFIG_CMD_CREATE 6
#define RT_FSMOUNT_CLOEXEC 0x1
#define RT_MOUNT_ATTR_RDONLY 0x1
#define RT_MOUNT_ATTR_NOSUID 0x2
#define RT_MOUNT_ATTR_NODEV 0x4
#define RT_MOUNT_ATTR_NOEXEC 0x8
#define RT_MOVE_MOUNT_F_EMPTY_PATH 0x4
#define RT_NS_GET_NSTYPE 0xb703 /* _IO(0xb7, 0x3) */
#define RT_SOL_SOCKET 1
#define RT_SCM_RIGHTS 1
#define RT_LINUX_CAPABILITY_VERSION_3 0x20080522
#define RT_PR_CAPBSET_DROP 24
#define RT_PR_SET_NO_NEW_PRIVS 38
/* Beyond the last capability any kernel has: PR_CAPBSET_DROP answers EINVAL from the first
 * unknown one on. */
#define CAP_SCAN 64

/* An empty read-only tmpfs, its mount's fd (detached), or -errno. */
static long empty_tmpfs(void)
{
	long fs = RT_SYS(__NR_fsopen, "tmpfs", RT_FSOPEN_CLOEXEC, 0, 0, 0), mnt, r;

	if (fs < 0)
		return fs;
	if ((r = RT_SYS(__NR_fsconfig, fs, RT_FSCONFIG_SET_FLAG, "ro", NULL, 0)) < 0 ||
	    (r = RT_SYS(__NR_fsconfig, fs, RT_FSCONFIG_CMD_CREATE, NULL, NULL, 0)) < 0) {
		rt_close((int)fs);
		return r;
	}
	mnt = RT_SYS(__NR_fsmount, fs, RT_FSMOUNT_CLOEXEC,
		     RT_MOUNT_ATTR_RDONLY | RT_MOUNT_ATTR_NOSUID | RT_MOUNT_ATTR_NODEV | RT_MOUNT_ATTR_NOEXEC, 0, 0);
	rt_close((int)fs);
	return mnt;
}

/* Turns the mount namespace we just unshared into one that holds nothing but an empty read-only
 * tmpfs at "/": the tmpfs goes on top of "/", becomes the root (pivot_root with the old root
 * stacked on it, as skiff-init does), and the old root with every mount of the host is detached.
 * Our root and working directory are then that tmpfs. 0 or -1 after reporting. */
static int empty_root(void)
{
	long mnt, r;

	/* Nothing we do here may propagate back to the host's mounts. */
	if ((r = rt_mount(NULL, "/", NULL, RT_MS_REC | RT_MS_PRIVATE, NULL)) < 0)
		return report_err((int)-r, "empty mount namespace: make / private");
	if ((mnt = empty_tmpfs()) < 0)
		return report_err((int)-mnt, "empty mount namespace: mount a tmpfs");
	if ((r = RT_SYS(__NR_move_mount, mnt, "", AT_FDCWD, "/", RT_MOVE_MOUNT_F_EMPTY_PATH)) < 0 ||
	    (r = RT_SYS(__NR_fchdir, mnt, 0, 0, 0, 0)) < 0 || (r = RT_SYS(__NR_pivot_root, ".", ".", 0, 0, 0)) < 0 ||
	    (r = rt_umount2(".", RT_MNT_DETACH)) < 0 || (r = rt_chdir("/")) < 0) {
		rt_close((int)mnt);
		return report_err((int)-r, "empty mount namespace: pivot_root into it");
	}
	rt_close((int)mnt);
	return 0;
}

int mntns_check(int fd)
{
	long r = RT_SYS(__NR_ioctl, fd, RT_NS_GET_NSTYPE, 0, 0, 0);

	if (r == CLONE_NEWNS)
		return 0;
	return r < 0 ? report_err((int)-r, "fd %d: not a namespace", fd) : report("fd %d: not a mount namespace", fd);
}

/* One fd, as SCM_RIGHTS, with one byte of data (a stream socket carries no empty message). */
static long send_fd(int sock, int fd)
{
	char byte = 'm';
	struct {
		void *base;
		size_t len;
	} iov = { &byte, 1 };
	union {
		struct {
			size_t len;
			int level;
			int type;
			int fd;
		} h;
		char room[24];
	} ctl = { .h = { 20, RT_SOL_SOCKET, RT_SCM_RIGHTS, fd } };
	struct {
		void *name;
		unsigned namelen;
		void *iov;
		size_t iovlen;
		void *control;
		size_t controllen;
		int flags;
	} msg = { NULL, 0, &iov, 1, &ctl, sizeof(ctl), 0 };

	return RT_RETRY(RT_SYS(__NR_sendmsg, sock, &msg, 0, 0, 0));
}

int empty_mount_ns_send(int sock)
{
	long r, ns;

	if ((r = rt_unshare(CLONE_NEWNS)) < 0)
		return report_err((int)-r, "unshare the mount namespace");
	/* Our new namespace, while /proc is still there to name it. */
	if ((ns = rt_open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC, 0)) < 0)
		return report_err((int)-ns, "open /proc/self/ns/mnt");
	if (empty_root() < 0) {
		rt_close((int)ns);
		return -1;
	}
	r = send_fd(sock, (int)ns);
	rt_close((int)ns);
	if (r < 0)
		return report_err((int)-r, "send the mount namespace over fd %d", sock);
	return 0;
}

/* No capability in any set, none to regain, none to pass on. */
static int drop_privileges(void)
{
	struct {
		uint32_t version;
		int pid;
	} hdr = { RT_LINUX_CAPABILITY_VERSION_3, 0 };
	struct {
		uint32_t effective, permitted, inheritable;
	} none[2] = { { 0, 0, 0 }, { 0, 0, 0 } };
	long r;

	for (int cap = 0; cap < CAP_SCAN; cap++) {
		if ((r = rt_prctl(RT_PR_CAPBSET_DROP, (unsigned long)cap)) == -EINVAL)
			break;
		if (r < 0)
			return report_err((int)-r, "pid init: drop capability %d from the bounding set", cap);
	}
	if ((r = RT_SYS(__NR_setgroups, 0, NULL, 0, 0, 0)) < 0 ||
	    (r = RT_SYS(__NR_setresgid, POD_INIT_ID, POD_INIT_ID, POD_INIT_ID, 0, 0)) < 0 ||
	    (r = RT_SYS(__NR_setresuid, POD_INIT_ID, POD_INIT_ID, POD_INIT_ID, 0, 0)) < 0)
		return report_err((int)-r, "pid init: become %d", POD_INIT_ID);
	/* The uid change emptied the permitted and effective sets; inheritable stays until now. */
	if ((r = RT_SYS(__NR_capset, &hdr, none, 0, 0, 0)) < 0)
		return report_err((int)-r, "pid init: capset");
	if ((r = rt_prctl(RT_PR_SET_NO_NEW_PRIVS, 1)) < 0)
		return report_err((int)-r, "pid init: no_new_privs");
	/* The uid change set it to fs.suid_dumpable, which may be 1. */
	if ((r = rt_prctl(PR_SET_DUMPABLE, 0)) < 0)
		return report_err((int)-r, "pid init: prctl PR_SET_DUMPABLE");
	return 0;
}

int pid_init_confine(int mntns)
{
	long r;

	if (mntns >= 0) {
		/* setns puts our root and working directory at that namespace's root. */
		if ((r = RT_SYS(__NR_setns, mntns, CLONE_NEWNS, 0, 0, 0)) < 0)
			return report_err((int)-r, "pid init: join the mount namespace of fd %d", mntns);
	} else {
		if ((r = rt_unshare(CLONE_NEWNS)) < 0)
			return report_err((int)-r, "pid init: unshare the mount namespace");
		if (empty_root() < 0)
			return -1;
	}
	return drop_privileges();
}
