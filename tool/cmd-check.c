/* cmd-check.c: `cflow check`: is this a sound profile? (The reader checks everything.) */
#include <stdio.h>

#include "cflow.h"

#define CMD "check"

static const char description[] =
    "Reads each FILE completely, as every command does: magic, version, checksums of the\n"
    "header and of every section, record counts and every index and string reference\n"
    "(docs/profile-format.md, \"What a reader checks\"). Prints one line per sound file;\n"
    "for a damaged one, a message naming the file and what is wrong.\n"
    "\n"
    "Example:\n"
    "  cflow check cflow.data || echo damaged\n";

static const CflowUsage usage = {"FILE...", "Validate profiles; exit 2 if any is damaged.",
                                 description, "expected at least one FILE"};

static int run(int argc, char **argv)
{
    if (!cflow_parse_usage(&argc, &argv, &usage, NULL, false) ||
        !cflow_check_args(CMD, &usage, argc >= 2)) {
        return CFLOW_EXIT_USAGE;
    }
    int status = CFLOW_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        g_autoptr(CflowProfile) p = cflow_load(CMD, argv[i]);
        if (!p) {
            status = CFLOW_EXIT_BAD_INPUT;
            continue;
        }
        printf("%s: cflow profile v%u, %u edges, %u instructions, %u blocks\n", argv[i],
               CFLOW_PROFILE_VERSION, p->edges->len, p->insns->len, p->blocks->len);
    }
    return status;
}

const CflowCommand cflow_cmd_check = {CMD, "validate profiles", run};
