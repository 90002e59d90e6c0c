/*
 * workload.c: the user-space part of the Linux test guest (tests/guests/linux/build.sh puts it
 * in the initramfs as /workload, static and non-PIE, so its addresses are the ones `nm` gives).
 *
 *   workload N DIR
 *
 * 1. a counted loop of N iterations whose branch has global labels (like tests/guests/c):
 *        branch      wl_branch -> wl_top      N - 1   (less the ones an interrupt took over)
 *        fallthrough wl_branch -> wl_after    1
 *    every execution of wl_branch is followed by something: its edges of all kinds sum to N
 *    if the profiler is exact in system mode;
 * 2. file I/O in DIR (a tmpfs): writes 64 files of 4 KiB, reads them back, checks a sum;
 * 3. a fork: the child runs the loop too (on the other vCPU, if the kernel puts it there),
 *    so the loop runs 2 * N times in all.
 * Prints "workload ok <loops> <sum>" and exits 0, or says what went wrong and exits 1.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static long count_loop(long n)
{
    long left = n, done = 0;
#if defined(__x86_64__)
    __asm__ volatile(".globl wl_top\n"
                     "wl_top:\n"
                     "  inc %1\n"
                     "  dec %0\n"
                     ".globl wl_branch\n"
                     "wl_branch:\n"
                     "  jnz wl_top\n"
                     ".globl wl_after\n"
                     "wl_after:\n"
                     : "+r"(left), "+r"(done)
                     :
                     : "cc");
#elif defined(__aarch64__)
    __asm__ volatile(".globl wl_top\n"
                     "wl_top:\n"
                     "  add %1, %1, #1\n"
                     "  subs %0, %0, #1\n"
                     ".globl wl_branch\n"
                     "wl_branch:\n"
                     "  b.ne wl_top\n"
                     ".globl wl_after\n"
                     "wl_after:\n"
                     : "+r"(left), "+r"(done)
                     :
                     : "cc");
#else
#error "x86_64 or aarch64"
#endif
    return done;
}

static unsigned long file_io(const char *dir)
{
    char path[256], buf[4096];
    unsigned long sum = 0;
    for (int f = 0; f < 64; f++) {
        for (int i = 0; i < (int)sizeof buf; i++) {
            buf[i] = (char)(f * 31 + i * 7);
        }
        snprintf(path, sizeof path, "%s/f%02d", dir, f);
        int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
        if (fd < 0 || write(fd, buf, sizeof buf) != (ssize_t)sizeof buf || close(fd) != 0) {
            perror(path);
            exit(1);
        }
    }
    for (int f = 0; f < 64; f++) {
        snprintf(path, sizeof path, "%s/f%02d", dir, f);
        int fd = open(path, O_RDONLY);
        memset(buf, 0, sizeof buf);
        if (fd < 0 || read(fd, buf, sizeof buf) != (ssize_t)sizeof buf || close(fd) != 0) {
            perror(path);
            exit(1);
        }
        for (int i = 0; i < (int)sizeof buf; i++) {
            sum += (unsigned char)buf[i];
        }
        unlink(path);
    }
    return sum;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    const char *dir = argc > 2 ? argv[2] : "/tmp";
    if (n < 1) {
        return 1;
    }
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return 1;
    }
    long loops = count_loop(n);
    if (child == 0) {
        _exit(loops == n ? 0 : 1);
    }
    int status;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "workload: the child failed\n");
        return 1;
    }
    unsigned long sum = file_io(dir);
    printf("workload ok %ld %lu\n", loops + n, sum);
    return loops == n ? 0 : 1;
}
