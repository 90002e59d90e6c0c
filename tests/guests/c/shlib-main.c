/* shlib-main.c: calls lib_work (shlib.c, a shared library) 7 times with n = 1000. */
#include <stdio.h>

unsigned long lib_work(unsigned n);

int main(void)
{
    unsigned long total = 0;
    for (int call = 0; call < 7; call++) {
        total += lib_work(1000);
    }
    printf("shlib %lu\n", total);
    return 0;
}
