/* The container's seccomp filter: a classic BPF program the daemon compiled (src/seccomp/) and
 * wrote to <bundle>/seccomp.bpf. It is read before pivot_root, while the bundle is reachable,
 * and installed by become_container: loading a filter needs no_new_privs or CAP_SYS_ADMIN, so
 * without no_new_privs it goes in before the capabilities are dropped (the filter must then
 * allow what follows: setgroups, setresuid, capset, execve — RuntimeDefault does), and with
 * no_new_privs it goes in last before exec. runc orders it the same way. */
#include "init.h"

#define SECCOMP_SET_MODE_FILTER 1
#define BPF_MAXINSNS 4096
#define FILTER_FILE "/seccomp.bpf"

struct bpf_insn_raw {
	uint16_t code;
	uint8_t jt;
	uint8_t jf;
	uint32_t k;
};

struct bpf_prog_raw {
	unsigned short len;
	struct bpf_insn_raw *filter;
};

static struct bpf_insn_raw program[BPF_MAXINSNS];
static unsigned short program_len;

int seccomp_read(const char *bundle)
{
	char path[PATH_MAX];
	size_t bl = rt_strlen(bundle), got = 0;
	long fd, n;

	if (bl + sizeof(FILTER_FILE) > sizeof(path))
		return report("bundle path too long: %s", bundle);
	memcpy(path, bundle, bl);
	memcpy(path + bl, FILTER_FILE, sizeof(FILTER_FILE));
	fd = rt_open(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd == -ENOENT)
		return 0; /* no filter: unconfined */
	if (fd < 0)
		return report_err((int)-fd, "open %s", path);
	while ((n = rt_read((int)fd, (char *)program + got, sizeof(program) - got)) > 0)
		got += (size_t)n;
	rt_close((int)fd);
	if (n < 0)
		return report_err((int)-n, "read %s", path);
	if (got == 0 || got % sizeof(program[0]) != 0 || got == sizeof(program))
		return report("%s: %zu bytes is not a BPF program of 1 to %d instructions", path, got, BPF_MAXINSNS - 1);
	program_len = (unsigned short)(got / sizeof(program[0]));
	return 0;
}

int seccomp_install(void)
{
	struct bpf_prog_raw prog = { program_len, program };
	long r;

	if (program_len == 0)
		return 0;
	r = RT_SYS(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog, 0, 0);
	if (r < 0)
		return report_err((int)-r, "load the seccomp filter (%u instructions)", program_len);
	return 0;
}
