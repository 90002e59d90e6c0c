/*
 * lifecycle.c: one guest for the process-lifecycle tests. argv[1] picks the scenario; each
 * runs counted loops whose branches have global labels (loop_a_*, loop_b_*), so a profile can
 * be checked exactly:
 *   fork   : loop A 1000 times, fork; child: loop B 300 times, exit 0; parent: wait, loop B
 *            500 times, exit 0. Parent profile: A 1000, B 500; child profile: A 0, B 300.
 *   exec   : loop A 1000 times, then execve("/bin/true").
 *   crash  : loop A 1000 times, then a store to address 0 with no handler (dies of SIGSEGV).
 *   exit3  : loop A 1000 times, then exit(3).
 *   abort  : loop A 1000 times, then abort() (dies of SIGABRT).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void __attribute__((noinline)) loop_a(long n)
{
    __asm__ volatile(".globl loop_a_top\nloop_a_top:\n  dec %0\n"
                     ".globl loop_a_branch\nloop_a_branch:\n  jnz loop_a_top\n"
                     : "+r"(n));
}

static void __attribute__((noinline)) loop_b(long n)
{
    __asm__ volatile(".globl loop_b_top\nloop_b_top:\n  dec %0\n"
                     ".globl loop_b_branch\nloop_b_branch:\n  jnz loop_b_top\n"
                     : "+r"(n));
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    loop_a(1000);
    if (strcmp(what, "fork") == 0) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
            return 2;
        }
        if (pid == 0) {
            loop_b(300);
            _exit(0);
        }
        int status;
        waitpid(pid, &status, 0);
        loop_b(500);
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 4;
    }
    if (strcmp(what, "exec") == 0) {
        char *args[] = {"/bin/true", NULL};
        execv(args[0], args);
        return 5;
    }
    if (strcmp(what, "crash") == 0) {
        *(volatile int *)0 = 1;
        return 6;
    }
    if (strcmp(what, "abort") == 0) {
        abort();
    }
    if (strcmp(what, "exit3") == 0) {
        exit(3);
    }
    puts("lifecycle: say fork, exec, crash, abort or exit3");
    return 0;
}
