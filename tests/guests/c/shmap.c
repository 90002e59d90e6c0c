/*
 * shmap.c: maps a file MAP_SHARED, read-only (argv[2] = "ro": opened O_RDONLY, PROT_READ) or
 * writable ("rw": O_RDWR, PROT_READ | PROT_WRITE), then runs after_map(). QEMU's linux-user
 * switches to parallel code (CF_PARALLEL) for shared mappings; one that can never be written
 * needs none (qemu/patches/0005). Usage: shmap FILE ro|rw; exits 0 when the mapping reads back.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int __attribute__((noinline)) after_map(const volatile char *p)
{
    int sum = 0;
    for (int i = 0; i < 64; i++) {
        sum += p[i];
    }
    return sum;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        return 2;
    }
    int writable = strcmp(argv[2], "rw") == 0;
    int fd = open(argv[1], writable ? O_RDWR : O_RDONLY);
    if (fd < 0) {
        return 2;
    }
    char *p = mmap(NULL, 4096, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        return 2;
    }
    printf("mapped %s sum %d\n", argv[2], after_map(p));
    return 0;
}
