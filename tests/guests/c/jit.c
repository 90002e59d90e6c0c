/*
 * jit.c: self-modifying code. One RWX page gets "mov $1,%eax; ret", runs it 5 times, then is
 * rewritten in place to "mov $2,%eax; nop; ret" and run 7 times. The same addresses hold
 * different instructions over time: the profile must keep two generations apart:
 *   ret of generation 0 (at page+5) -> return site, 5 times
 *   ret of generation 0 (at page+6 in the new code) -> return site, 7 times
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

typedef int (*fn)(void);

int __attribute__((noinline)) call_it(fn f)
{
    return f();
}

int main(void)
{
    unsigned char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
        return 2;
    }
    static const unsigned char one[] = {0xb8, 1, 0, 0, 0, 0xc3};       /* mov $1,%eax; ret */
    static const unsigned char two[] = {0xb8, 2, 0, 0, 0, 0x90, 0xc3}; /* mov $2; nop; ret */
    int sum = 0;
    memcpy(page, one, sizeof(one));
    for (int i = 0; i < 5; i++) {
        sum += call_it((fn)page);
    }
    memcpy(page, two, sizeof(two));
    for (int i = 0; i < 7; i++) {
        sum += call_it((fn)page);
    }
    printf("jit page %p sum %d\n", (void *)page, sum);
    return sum == 5 + 14 ? 0 : 1;
}
