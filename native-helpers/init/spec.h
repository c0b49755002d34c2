/* What skiff-init takes from an OCI runtime spec (config.json), with every list bounded. Strings
 * point into the parsed document's buffer. */
#ifndef SKIFF_INIT_SPEC_H
#define SKIFF_INIT_SPEC_H

#include "sys.h"

#define SPEC_MAX_BYTES (4 << 20)
#define SPEC_MAX_ARGS 4096
#define SPEC_MAX_ENV 4096
#define SPEC_MAX_MOUNTS 256
#define SPEC_MAX_OPTIONS 32
#define SPEC_MAX_GROUPS 256
#define SPEC_MAX_PATHS 256
#define SPEC_MAX_DEVICES 256
#define SPEC_MAX_RLIMITS 32

/* Namespaces skiff-init knows, in the order they are joined (mount last: joining it changes
 * what paths mean). */
enum ns_kind { NS_CGROUP, NS_IPC, NS_UTS, NS_NET, NS_PID, NS_MNT, NS_KINDS };

struct ns_entry {
	bool wanted;
	/* NULL: create a new one; otherwise the namespace file to join. */
	const char *path;
};

struct mount_entry {
	const char *destination;
	const char *type;
	const char *source;
	int noptions;
	const char *options[SPEC_MAX_OPTIONS];
};

struct device_entry {
	const char *path;
	char type; /* c, b, u (= c) or p */
	uint32_t major, minor, mode, uid, gid;
	bool has_mode, has_uid, has_gid;
};

/* Capability sets as bit masks (bit n = capability n). */
struct caps_spec {
	bool present;
	uint64_t bounding, effective, permitted, inheritable, ambient;
};

struct rlimit_entry {
	int resource;
	struct rt_rlimit lim;
};

struct user_spec {
	uint32_t uid, gid;
	size_t ngroups;
	uint32_t groups[SPEC_MAX_GROUPS];
	bool has_umask;
	uint32_t umask;
};

struct spec {
	const char *root_path;
	bool root_readonly;

	/* process */
	bool terminal;
	const char *cwd;
	struct user_spec user;
	size_t nargs;
	char *args[SPEC_MAX_ARGS + 1];
	size_t nenv;
	char *env[SPEC_MAX_ENV + 1];
	bool no_new_privileges;
	const char *apparmor_profile;
	struct caps_spec caps;
	bool has_oom_score_adj;
	int oom_score_adj;
	int nrlimits;
	struct rlimit_entry rlimits[SPEC_MAX_RLIMITS];

	const char *hostname;

	int nmounts;
	struct mount_entry mounts[SPEC_MAX_MOUNTS];

	/* linux */
	struct ns_entry ns[NS_KINDS];
	const char *rootfs_propagation;
	int ndevices;
	struct device_entry devices[SPEC_MAX_DEVICES];
	int nmasked;
	const char *masked[SPEC_MAX_PATHS];
	int nreadonly;
	const char *readonly[SPEC_MAX_PATHS];
};

/* Reads and checks BUNDLE/config.json. Returns 0, or -1 after reporting what is wrong with it. */
int spec_load(const char *bundle, struct spec *s);

/* The number of a capability name ("CAP_CHOWN" → 0), or -1. */
int cap_number(const char *name);

/* The OCI name of a namespace kind ("network" for NS_NET, ...), its /proc/PID/ns/ file name and
 * its CLONE_NEW* flag. */
const char *ns_name(enum ns_kind k);
const char *ns_file(enum ns_kind k);
int ns_flag(enum ns_kind k);

#endif
