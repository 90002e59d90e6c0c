/*
 * rsswrap OUT N PROGRAM [ARGS...]: runs PROGRAM N times in turn, each run a direct child of this
 * small process, and writes "<peak RSS KiB> <exit status> <runs>" to OUT: the largest ru_maxrss
 * that wait4() reports for any of the runs, and the first non-zero wait status (0 if none).
 *
 * Why a launcher: Linux carries a process's peak RSS across execve() (the old image's
 * high-water mark goes into the process's rusage), and fork() (or vfork) from a large process
 * starts the child at the parent's size. Measured from the benchmark's Python process, every
 * QEMU showed Python's own ~65 MiB. Forked from this process (a few hundred KiB), QEMU's
 * ru_maxrss is QEMU's own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: rsswrap OUT N PROGRAM [ARGS...]\n");
        return 2;
    }
    long n = strtol(argv[2], NULL, 10);
    long peak = 0;
    int first_bad = 0;
    long runs = 0;
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("rsswrap: fork");
            return 2;
        }
        if (pid == 0) {
            execv(argv[3], argv + 3);
            perror("rsswrap: execv");
            _exit(127);
        }
        int status;
        struct rusage ru;
        if (wait4(pid, &status, 0, &ru) != pid) {
            perror("rsswrap: wait4");
            return 2;
        }
        runs++;
        if (ru.ru_maxrss > peak) {
            peak = ru.ru_maxrss;
        }
        if (status != 0) {
            first_bad = status;
            break;
        }
    }
    FILE *f = fopen(argv[1], "w");
    if (!f || fprintf(f, "%ld %d %ld\n", peak, first_bad, runs) < 0 || fclose(f) != 0) {
        perror("rsswrap: writing the result");
        return 2;
    }
    return first_bad ? 1 : 0;
}
