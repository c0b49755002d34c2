/* Shared declarations of skiff-pinns: the pin files it creates (and undoes on failure), the
 * sysctls it writes, and the pod's pid-namespace init. */
#ifndef SKIFF_PINNS_H
#define SKIFF_PINNS_H

#include "../common/rt.h"

/* net, ipc, uts and pid: the namespaces a pod pins. */
#define PIN_MAX 4
#define SYSCTL_MAX 64
#define SYSCTL_PATH_MAX 256

/* Everything a failed run must take back, in the order it was done. */
struct pin_undo {
	const char *dir;
	bool created_dir;
	int nfiles;
	char files[PIN_MAX][PATH_MAX];
	bool mounted[PIN_MAX];
	int init_pid;
};

/* Which namespace a sysctl lives in; the helper refuses to write one it did not create. */
enum sysctl_ns { SYSCTL_NET, SYSCTL_IPC };

struct sysctl {
	const char *arg;
	/* Relative to /proc/sys. */
	char path[SYSCTL_PATH_MAX];
	const char *value;
	enum sysctl_ns ns;
};

/* pin-files.c */
int pin_dir_create(struct pin_undo *u, const char *dir);
int pin_ns(struct pin_undo *u, const char *ns_file, const char *name);
void pin_undo_all(struct pin_undo *u);

/* sysctl.c */
int sysctl_parse(const char *arg, struct sysctl *out);
int sysctl_write(const struct sysctl *s);

/* pid-init.c: mntns is the mount namespace the init joins (an fd), or -1 for one of its own. */
int pid_init_start(int *sync_fd, const struct rt_args *args, int mntns);
int pid_init_ready(int sync_fd);
int proc_start_time(int pid, uint64_t *out);

/* init-confine.c */
/* 0 when fd is a mount namespace, else -1 after reporting. */
int mntns_check(int fd);
/* --empty-mount-ns: makes a mount namespace holding only an empty read-only tmpfs and sends an
 * fd of it over the unix socket sock. 0, or -1 after reporting. */
int empty_mount_ns_send(int sock);
/* In the pod's init: joins mntns (or makes such a namespace of its own when it is -1), then drops
 * every capability and becomes 65535, non-dumpable. 0, or -1 after reporting. */
int pid_init_confine(int mntns);

#endif
