// posix_spawn through koffi. Node's child_process forks the whole daemon (8-15 ms here, growing
// with its memory); glibc's posix_spawn uses CLONE_VFORK and costs about 1 ms. Used for the
// helpers on hot paths (pinns, the monitor); the child gets /dev/null as stdin, pipes for stdout
// and stderr, default signal dispositions, an empty signal mask, and a process group of its own.
import { closeSync } from 'node:fs';
import { check, fn } from './libc.js';
import { SyscallError } from './errno.js';

const O_CLOEXEC = 0o2000000;
const O_RDONLY = 0;
const WNOHANG = 1;
const POSIX_SPAWN_SETPGROUP = 0x02;
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
/** Generous sizes for glibc's opaque structs (80, 336 and 128 bytes on x86_64 and arm64). */
const FILE_ACTIONS_SIZE = 256;
const ATTR_SIZE = 1024;
const SIGSET_SIZE = 128;

export interface SpawnedPipes {
  readonly pid: number;
  /** The write end of the child's stdin, when asked for; else the child reads /dev/null. */
  readonly stdin?: number;
  readonly stdout: number;
  readonly stderr: number;
}

let sigsets: { empty: Buffer; full: Buffer } | undefined;

function signalSets(): { empty: Buffer; full: Buffer } {
  if (!sigsets) {
    const empty = Buffer.alloc(SIGSET_SIZE);
    const full = Buffer.alloc(SIGSET_SIZE);
    check('sigemptyset', fn('int sigemptyset(void *set)', 'sigemptyset')(empty) as number);
    check('sigfillset', fn('int sigfillset(void *set)', 'sigfillset')(full) as number);
    sigsets = { empty, full };
  }
  return sigsets;
}

/** posix_spawn* functions return an errno instead of setting it. */
function ok(what: string, rc: number, detail?: string): void {
  if (rc !== 0) throw new SyscallError(what, rc, detail);
}

function pipe(): [number, number] {
  const fds = [0, 0];
  check('pipe2', fn('int pipe2(_Out_ int *fds, int flags)', 'pipe2')(fds, O_CLOEXEC) as number);
  return [fds[0] as number, fds[1] as number];
}

/** `file` without a "/" is looked up in the daemon's PATH (posix_spawnp). */
export interface SpawnOptions {
  /** A pipe to the child's stdin; else it reads /dev/null. */
  readonly stdin?: boolean;
  /** Our fds the child gets as its fd `as` (above 2); all others stay ours (close-on-exec). */
  readonly inherit?: readonly { readonly fd: number; readonly as: number }[];
}

export function spawnPiped(file: string, argv: readonly string[], env: readonly string[], opts: SpawnOptions = {}): SpawnedPipes {
  const inp = opts.stdin ? pipe() : undefined;
  const out = pipe();
  const err = pipe();
  const fa = Buffer.alloc(FILE_ACTIONS_SIZE);
  const attr = Buffer.alloc(ATTR_SIZE);
  ok('posix_spawn_file_actions_init', fn('int posix_spawn_file_actions_init(void *fa)', 'fa_init')(fa) as number);
  try {
    const addDup2 = fn('int posix_spawn_file_actions_adddup2(void *fa, int fd, int newfd)', 'fa_dup2');
    const addOpen = fn('int posix_spawn_file_actions_addopen(void *fa, int fd, const char *path, int oflag, int mode)', 'fa_open');
    if (inp) ok('adddup2', addDup2(fa, inp[0], 0) as number);
    else ok('addopen', addOpen(fa, 0, '/dev/null', O_RDONLY, 0) as number);
    ok('adddup2', addDup2(fa, out[1], 1) as number);
    ok('adddup2', addDup2(fa, err[1], 2) as number);
    for (const { fd, as } of opts.inherit ?? []) {
      // dup2 onto itself would keep close-on-exec set: the child would not get it.
      if (fd === as || as < 3) throw new SyscallError('adddup2', 22, `cannot hand fd ${fd} over as ${as}`);
      ok('adddup2', addDup2(fa, fd, as) as number);
    }
    ok('posix_spawnattr_init', fn('int posix_spawnattr_init(void *attr)', 'attr_init')(attr) as number);
    const { empty, full } = signalSets();
    ok('setsigmask', fn('int posix_spawnattr_setsigmask(void *attr, void *set)', 'attr_sigmask')(attr, empty) as number);
    ok('setsigdefault', fn('int posix_spawnattr_setsigdefault(void *attr, void *set)', 'attr_sigdef')(attr, full) as number);
    ok('setpgroup', fn('int posix_spawnattr_setpgroup(void *attr, int pgroup)', 'attr_pgroup')(attr, 0) as number);
    ok(
      'setflags',
      fn('int posix_spawnattr_setflags(void *attr, short flags)', 'attr_flags')(
        attr,
        POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK,
      ) as number,
    );
    const pid = [0];
    const spawn = fn(
      'int posix_spawnp(_Out_ int *pid, const char *file, void *fa, void *attr, const char **argv, const char **envp)',
      'posix_spawnp',
    );
    // posix_spawnp searches the PATH of the calling process: the daemon's own.
    ok('posix_spawn', spawn(pid, file, fa, attr, [...argv, null], [...env, null]) as number, file);
    return { pid: pid[0] as number, ...(inp ? { stdin: inp[1] } : {}), stdout: out[0], stderr: err[0] };
  } catch (e) {
    closeSync(out[0]);
    closeSync(err[0]);
    if (inp) closeSync(inp[1]);
    throw e;
  } finally {
    fn('int posix_spawn_file_actions_destroy(void *fa)', 'fa_destroy')(fa);
    fn('int posix_spawnattr_destroy(void *attr)', 'attr_destroy')(attr);
    // The child has its copies; ours would keep the pipes open past its exit.
    closeSync(out[1]);
    closeSync(err[1]);
    if (inp) closeSync(inp[0]);
  }
}

/** The child's exit if it has exited (and is now reaped), else undefined. Never blocks. */
export function tryReap(pid: number): { code: number | null; signal: number | null } | undefined {
  const status = [0];
  const r = check('waitpid', fn('int waitpid(int pid, _Out_ int *status, int options)', 'waitpid')(pid, status, WNOHANG) as number);
  if (r === 0) return undefined;
  const s = status[0] as number;
  const termsig = s & 0x7f;
  return termsig === 0 ? { code: (s >> 8) & 0xff, signal: null } : { code: null, signal: termsig };
}
