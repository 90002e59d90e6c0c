/*
 * fixture-plt.c: a program that calls libc through the PLT (puts, getenv, strlen), linked twice
 * by tests/tool/meson.build: plainly (a lazy .plt) and with IBT's second PLT (.plt.sec), for
 * test_plt.c. Never run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *home = getenv("HOME");
    puts(argc > 1 ? argv[1] : "none");
    return (int)strlen(home ? home : "");
}
