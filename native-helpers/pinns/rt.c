/* skiff-pinns runs without glibc: the shared runtime is compiled into this helper here. */
#include "../common/rt.c"
