/*
 * cflow: the command-line companion of libcflow.so. Subcommands read profiles through the
 * shared profile library:
 *   cflow report [--sort=S] [--topn=N] PROFILE   the plugin's text report, offline
 *   cflow json PROFILE [OUT]                      the JSON form (to stdout without OUT)
 *   cflow check PROFILE                           validate a profile; exit 1 if damaged
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "report.h"

static int usage(void)
{
    fprintf(stderr,
            "usage: cflow report [--sort=hottest|early|exceptions|popular|edges|bias] "
            "[--topn=N] PROFILE\n"
            "       cflow json PROFILE [OUT]\n"
            "       cflow check PROFILE\n");
    return 2;
}

static CflowProfile *load(const char *path)
{
    g_autoptr(GError) err = NULL;
    CflowProfile *p = cflow_profile_read(path, &err);
    if (!p) {
        fprintf(stderr, "cflow: %s\n", err->message);
    }
    return p;
}

static int cmd_report(int argc, char **argv)
{
    CflowSort sort = CFLOW_SORT_HOTTEST;
    unsigned long topn = 10;
    const char *path = NULL;
    for (int i = 0; i < argc; i++) {
        if (g_str_has_prefix(argv[i], "--sort=")) {
            const char *name = argv[i] + 7;
            if (!cflow_sort_parse(name, &sort)) {
                fprintf(stderr, "cflow report: unknown sort '%s'\n", name);
                return 2;
            }
        } else if (g_str_has_prefix(argv[i], "--topn=")) {
            char *end;
            topn = strtoul(argv[i] + 7, &end, 10);
            if (*end || !argv[i][7]) {
                fprintf(stderr, "cflow report: bad --topn '%s'\n", argv[i] + 7);
                return 2;
            }
        } else if (!path) {
            path = argv[i];
        } else {
            return usage();
        }
    }
    if (!path) {
        return usage();
    }
    g_autoptr(CflowProfile) p = load(path);
    if (!p) {
        return 1;
    }
    GString *r = cflow_report(p, sort, (unsigned)topn);
    fputs(r->str, stdout);
    g_string_free(r, TRUE);
    return 0;
}

static int cmd_json(int argc, char **argv)
{
    if (argc < 1 || argc > 2) {
        return usage();
    }
    g_autoptr(CflowProfile) p = load(argv[0]);
    if (!p) {
        return 1;
    }
    g_autoptr(GError) err = NULL;
    bool ok = argc == 2 ? cflow_profile_write_json_file(p, argv[1], &err)
                        : cflow_profile_write_json(p, stdout, &err);
    if (!ok) {
        fprintf(stderr, "cflow: %s\n", err->message);
        return 1;
    }
    return 0;
}

static int cmd_check(int argc, char **argv)
{
    if (argc != 1) {
        return usage();
    }
    g_autoptr(CflowProfile) p = load(argv[0]);
    if (!p) {
        return 1;
    }
    printf("%s: cflow profile v%u, %u edges, %u instructions, %u blocks\n", argv[0],
           CFLOW_PROFILE_VERSION, p->edges->len, p->insns->len, p->blocks->len);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        return usage();
    }
    if (strcmp(argv[1], "report") == 0) {
        return cmd_report(argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "json") == 0) {
        return cmd_json(argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "check") == 0) {
        return cmd_check(argc - 2, argv + 2);
    }
    return usage();
}
