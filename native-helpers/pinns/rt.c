/* skiff-pinns runs without glibc: the shared runtime is compiled into this helper here. */
#include "../common/rt.c"
/* What the helper shows of itself to containers: non-dumpable, no host path in its cmdline. */
#include "../common/conceal.c"
