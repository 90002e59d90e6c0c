/*
 * cmd-merge.c: `cflow merge`: the exact sum of profiles (profile/merge.c), loading one input
 * at a time so memory follows the distinct edges, not the number of inputs.
 */
#include <stdio.h>

#include "cflow.h"
#include "merge.h"

#define CMD "merge"

static const char description[] =
    "Adds the counts of every edge and block of the inputs: an edge is the same in two\n"
    "profiles when its source instruction (address and generation), kind and target are, a\n"
    "block when its address and instructions are. The sum is exact (a count beyond 2^64-1 is\n"
    "an error), and merging is associative and commutative: any order or grouping of the\n"
    "same inputs gives the same edges, blocks and instructions. Meta comes from the first\n"
    "input, except counters such as block_entries, which are summed, 'maps' (the union) and\n"
    "'merged_profiles' (how many runs the result holds). Merging a profile with itself\n"
    "doubles every count.\n"
    "\n"
    "Profiles of different architectures or guest binaries, or whose maps put the same file\n"
    "at different addresses (so equal addresses would name different code), are refused with\n"
    "exit status 2 unless --force is given.\n"
    "\n"
    "Inputs are read one at a time and folded into an accumulator that holds one record per\n"
    "distinct instruction, edge and block. OUT is written atomically; it may be one of the\n"
    "inputs.\n"
    "\n"
    "Examples:\n"
    "  cflow merge -o all.cflow run1.cflow run2.cflow run3.cflow\n"
    "  cflow merge -o all.cflow all.cflow new.cflow     # add a run to a running total\n";

static int run(int argc, char **argv)
{
    g_autofree char *out = NULL;
    gboolean force = FALSE;
    GOptionEntry entries[] = {
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Write the sum to OUT (required)",
         "OUT"},
        {"force", 0, 0, G_OPTION_ARG_NONE, &force,
         "Add profiles of different binaries, architectures or layouts anyway", NULL},
        G_OPTION_ENTRY_NULL,
    };
    static const CflowUsage usage = {"-o OUT FILE...",
                                     "Sum profiles of the same program into one.", description,
                                     "expected -o OUT and at least one FILE"};
    if (!cflow_parse_usage(&argc, &argv, &usage, entries, false) ||
        !cflow_check_args(CMD, &usage, out && argc >= 2)) {
        return CFLOW_EXIT_USAGE;
    }
    CflowMerge *m = cflow_merge_new();
    for (int i = 1; i < argc; i++) {
        g_autoptr(CflowProfile) p = cflow_load(CMD, argv[i]);
        if (!p) {
            cflow_merge_free(m);
            return CFLOW_EXIT_BAD_INPUT;
        }
        g_autoptr(GError) err = NULL;
        if (!cflow_merge_add(m, p, force, &err)) {
            cflow_error(CMD, "%s: %s%s", argv[i], err->message,
                        err->code == CFLOW_MERGE_ERROR_INCOMPATIBLE ? " (--force adds it anyway)"
                                                                    : "");
            cflow_merge_free(m);
            return CFLOW_EXIT_BAD_INPUT;
        }
    }
    g_autoptr(CflowProfile) sum = cflow_merge_finish(m);
    g_autoptr(GError) err = NULL;
    if (!cflow_profile_write(sum, out, &err)) {
        cflow_error(CMD, "%s", err->message);
        return CFLOW_EXIT_USAGE;
    }
    return CFLOW_EXIT_OK;
}

const CflowCommand cflow_cmd_merge = {CMD, "sum profiles of the same program", run};
