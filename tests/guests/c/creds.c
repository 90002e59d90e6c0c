/*
 * creds.c chroot DIR | setuid UID | umask: a guest that changes, before it exits, what decides
 * where and how files are created (root, user id, umask), then runs a counted loop whose branch
 * has a global label. Expected: the profile still lands where the user asked, with
 *   branch      creds_branch -> creds_top      LOOPS - 1
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOOPS 1000

int main(int argc, char **argv)
{
    if (argc < 2) {
        return 2;
    }
    if (strcmp(argv[1], "chroot") == 0 && argc > 2) {
        if (chroot(argv[2]) != 0 || chdir("/") != 0) {
            perror("chroot");
            return 2;
        }
    } else if (strcmp(argv[1], "setuid") == 0 && argc > 2) {
        if (setuid((uid_t)atoi(argv[2])) != 0) {
            perror("setuid");
            return 2;
        }
    } else if (strcmp(argv[1], "umask") == 0) {
        umask(077);
    } else {
        return 2;
    }
    long n = LOOPS;
    __asm__ volatile(".globl creds_top\n"
                     "creds_top:\n"
                     "  dec %0\n"
                     ".globl creds_branch\n"
                     "creds_branch:\n"
                     "  jnz creds_top\n"
                     : "+r"(n));
    puts("creds ok");
    return 0;
}
