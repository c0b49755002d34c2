/* skiff-init uses the helpers' shared runtime as it is (see ../common/rt.h for why these helpers do without
 * glibc): process entry, the stack protector, mem* functions, formatting and error lines. The
 * Makefile builds each helper from its own directory's *.c files, so the one copy is included here
 * instead of duplicated. */
#include "../common/rt.c"
/* What the helper shows of itself to containers: non-dumpable, no host path in its cmdline. */
#include "../common/conceal.c"
