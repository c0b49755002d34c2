/* Capabilities (process.capabilities): the bounding set is cut down while still root, the
 * permitted set is kept across the switch to the container's user (PR_SET_KEEPCAPS), then the
 * effective, permitted and inheritable sets are set with capset() and the ambient ones raised. */
#include "init.h"

#define PR_CAPBSET_READ_OP 23
#define PR_CAPBSET_DROP_OP 24
#define PR_SET_KEEPCAPS_OP 8
#define PR_CAP_AMBIENT_OP 47
#define PR_CAP_AMBIENT_RAISE_OP 2
#define PR_CAP_AMBIENT_CLEAR_ALL_OP 4
#define CAP_VERSION_3 0x20080522

static const char *const cap_names[] = {
	"CAP_CHOWN",	      "CAP_DAC_OVERRIDE",   "CAP_DAC_READ_SEARCH", "CAP_FOWNER",	 "CAP_FSETID",
	"CAP_KILL",	      "CAP_SETGID",	    "CAP_SETUID",	   "CAP_SETPCAP",	 "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",	   "CAP_NET_RAW",	 "CAP_IPC_LOCK",
	"CAP_IPC_OWNER",      "CAP_SYS_MODULE",	    "CAP_SYS_RAWIO",	   "CAP_SYS_CHROOT",	 "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",      "CAP_SYS_ADMIN",	    "CAP_SYS_BOOT",	   "CAP_SYS_NICE",	 "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",	      "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",	   "CAP_LEASE",		 "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",  "CAP_SETFCAP",	    "CAP_MAC_OVERRIDE",	   "CAP_MAC_ADMIN",	 "CAP_SYSLOG",
	"CAP_WAKE_ALARM",     "CAP_BLOCK_SUSPEND",  "CAP_AUDIT_READ",	   "CAP_PERFMON",	 "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};
#define CAP_KNOWN ((int)(sizeof(cap_names) / sizeof(cap_names[0])))

int cap_number(const char *name)
{
	for (int i = 0; i < CAP_KNOWN; i++)
		if (rt_streq(name, cap_names[i]))
			return i;
	return -1;
}

/* The highest capability this kernel has, asked of the kernel itself: PR_CAPBSET_READ is EINVAL
 * beyond it. Never from /proc/sys/kernel/cap_last_cap: a file at that path in the container may
 * be the pod's, and a "0" there would leave the whole bounding set in place. */
static bool cap_exists(int cap)
{
	return rt_prctl5(PR_CAPBSET_READ_OP, (unsigned long)cap, 0, 0, 0) != -EINVAL;
}

static int last_cap(void)
{
	/* Starting from the last one we know of, which this kernel most likely has too. */
	int i = CAP_KNOWN - 1;

	if (cap_exists(i)) {
		while (i < 63 && cap_exists(i + 1))
			i++;
	} else {
		while (i >= 0 && !cap_exists(i))
			i--;
	}
	return i;
}

int caps_before_user(const struct caps_spec *c)
{
	int last;
	long r;

	if (!c->present)
		return 0;
	last = last_cap();
	for (int i = 0; i <= last; i++) {
		if (c->bounding & (1ULL << i))
			continue;
		if ((r = rt_prctl5(PR_CAPBSET_DROP_OP, (unsigned long)i, 0, 0, 0)) < 0)
			return report_err((int)-r, "drop capability %d from the bounding set", i);
	}
	if ((r = rt_prctl5(PR_SET_KEEPCAPS_OP, 1, 0, 0, 0)) < 0)
		return report_err((int)-r, "keep capabilities across setuid");
	return 0;
}

int caps_after_user(const struct caps_spec *c)
{
	struct {
		uint32_t version;
		int pid;
	} header = { CAP_VERSION_3, 0 };
	struct {
		uint32_t effective, permitted, inheritable;
	} data[2];
	long r;

	if (!c->present)
		return 0;
	if ((r = rt_prctl5(PR_SET_KEEPCAPS_OP, 0, 0, 0, 0)) < 0)
		return report_err((int)-r, "reset keep-capabilities");
	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(c->effective >> (32 * i));
		data[i].permitted = (uint32_t)(c->permitted >> (32 * i));
		data[i].inheritable = (uint32_t)(c->inheritable >> (32 * i));
	}
	if ((r = RT_SYS(__NR_capset, &header, data, 0, 0, 0)) < 0)
		return report_err((int)-r, "set capabilities");
	if ((r = rt_prctl5(PR_CAP_AMBIENT_OP, PR_CAP_AMBIENT_CLEAR_ALL_OP, 0, 0, 0)) < 0)
		return report_err((int)-r, "clear ambient capabilities");
	for (int i = 0; i < 64; i++) {
		if (!(c->ambient & (1ULL << i)))
			continue;
		if ((r = rt_prctl5(PR_CAP_AMBIENT_OP, PR_CAP_AMBIENT_RAISE_OP, (unsigned long)i, 0, 0)) < 0)
			return report_err((int)-r, "raise ambient capability %s", i < CAP_KNOWN ? cap_names[i] : "?");
	}
	return 0;
}
