/* touch MIB: allocates MIB mebibytes, writes one byte per 4 KiB page of it, and exits: a guest
 * whose peak RSS is known (bench/rss_check.py). touch 0 is a tiny guest. */
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;
    size_t n = mib << 20;
    volatile char *p = n ? malloc(n) : NULL;
    if (n && !p) {
        return 1;
    }
    for (size_t i = 0; i < n; i += 4096) {
        p[i] = (char)i;
    }
    return 0;
}
