/* skiff-monitor uses the helpers' shared runtime as it is (see ../common/rt.h for why the helpers do
 * without glibc): process entry, the stack protector, mem* functions, formatting and error lines.
 * Without glibc a monitor costs ~100 KB of RSS instead of ~700 KB, and there is one per container.
 * The Makefile builds each helper from its own directory's *.c files, so the one copy is included
 * here instead of duplicated (skiff-init does the same). */
#include "../common/rt.c"
/* What the helper shows of itself to containers: non-dumpable, no host path in its cmdline. */
#include "../common/conceal.c"
