/* The pin files: one empty file per namespace under the pod's dir, each a bind mount of a
 * /proc/.../ns/<name> link. A namespace lives as long as one such mount does, with no process in
 * it. Everything made here is recorded in a pin_undo so a failed run leaves nothing behind. */
#include "pinns.h"

/* mkdir -p for the parents of the pod dir: /run/skiff/ns may not exist yet on a fresh boot. The
 * parents are shared by every pod, so they are never removed again. */
static int create_parents(const char *dir)
{
	char buf[PATH_MAX];
	size_t len = rt_strlen(dir);

	if (len >= sizeof(buf))
		return report_err(ENAMETOOLONG, "mkdir %s", dir);
	memcpy(buf, dir, len + 1);
	for (char *p = buf + 1; *p; p++) {
		long r;

		if (*p != '/')
			continue;
		*p = '\0';
		r = rt_mkdir(buf, 0755);
		if (r < 0 && r != -EEXIST)
			return report_err((int)-r, "mkdir %s", buf);
		*p = '/';
	}
	return 0;
}

int pin_dir_create(struct pin_undo *u, const char *dir)
{
	long r = rt_mkdir(dir, 0755);

	u->dir = dir;
	if (r == -ENOENT) {
		if (create_parents(dir) < 0)
			return -1;
		r = rt_mkdir(dir, 0755);
	}
	if (r == 0) {
		u->created_dir = true;
		return 0;
	}
	if (r != -EEXIST)
		return report_err((int)-r, "mkdir %s", dir);
	/* An existing dir is fine (the daemon may have made it); a symlink or a file in its place is
	 * not: O_DIRECTORY | O_NOFOLLOW fails for both. */
	r = rt_open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (r == -ENOTDIR || r == -ELOOP)
		return report("%s exists and is not a directory", dir);
	if (r < 0)
		return report_err((int)-r, "open %s", dir);
	/* An O_PATH descriptor: closing it has nothing to flush or report. */
	rt_close((int)r);
	return 0;
}

int pin_ns(struct pin_undo *u, const char *ns_file, const char *name)
{
	char *path;
	long r;
	int i;

	if (u->nfiles >= PIN_MAX)
		return report("internal: more than %d pins", PIN_MAX);
	i = u->nfiles;
	path = u->files[i];
	if (rt_format(path, PATH_MAX, "%s/%s", u->dir, name) >= PATH_MAX)
		return report_err(ENAMETOOLONG, "pin file %s/%s", u->dir, name);
	/* O_EXCL: a leftover pin of an earlier pod is the daemon's to clean up, never ours to reuse. */
	r = rt_open(path, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
	if (r < 0)
		return report_err((int)-r, "create %s", path);
	u->nfiles++;
	r = rt_close((int)r);
	if (r < 0)
		return report_err((int)-r, "close %s", path);
	r = rt_mount(ns_file, path, NULL, MS_BIND, NULL);
	if (r < 0)
		return report_err((int)-r, "bind-mount %s on %s", ns_file, path);
	u->mounted[i] = true;
	return 0;
}

void pin_undo_all(struct pin_undo *u)
{
	long r;

	if (u->init_pid > 0) {
		r = rt_kill(u->init_pid, RT_SIGKILL);
		if (r < 0)
			report_err((int)-r, "undo: kill pid init %d", u->init_pid);
		else if ((r = rt_wait4(u->init_pid, NULL, 0)) < 0)
			report_err((int)-r, "undo: wait for pid init %d", u->init_pid);
		u->init_pid = 0;
	}
	for (int i = u->nfiles - 1; i >= 0; i--) {
		/* MNT_DETACH: a process that entered the namespace meanwhile must not make undo fail. */
		if (u->mounted[i] && (r = rt_umount2(u->files[i], RT_MNT_DETACH)) < 0)
			report_err((int)-r, "undo: unmount %s", u->files[i]);
		if ((r = rt_unlink(u->files[i])) < 0)
			report_err((int)-r, "undo: remove %s", u->files[i]);
	}
	u->nfiles = 0;
	if (u->created_dir && (r = rt_rmdir(u->dir)) < 0)
		report_err((int)-r, "undo: remove %s", u->dir);
	u->created_dir = false;
}
