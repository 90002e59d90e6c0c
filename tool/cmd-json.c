/* cmd-json.c: `cflow json`: a profile in its JSON form (docs/profile-format.md). */
#include <stdio.h>

#include "cflow.h"

#define CMD "json"

static const char description[] =
    "Writes the whole profile FILE as JSON: {\"meta\", \"edges\", \"insns\", \"blocks\"}, one\n"
    "record a line, addresses as \"0x...\" strings (docs/profile-format.md, \"JSON form\").\n"
    "Without OUT it goes to standard output; OUT is written atomically (a temporary file\n"
    "renamed over it).\n"
    "\n"
    "Example:\n"
    "  cflow json cflow.data | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"edges\"]))'\n";

static const CflowUsage usage = {
    "FILE [OUT]", "Convert the profile FILE to JSON, on standard output or into OUT.",
    description, "expected FILE [OUT]"};

static int run(int argc, char **argv)
{
    if (!cflow_parse_usage(&argc, &argv, &usage, NULL, false) ||
        !cflow_check_args(CMD, &usage, argc >= 2 && argc <= 3)) {
        return CFLOW_EXIT_USAGE;
    }
    g_autoptr(CflowProfile) p = cflow_load(CMD, argv[1]);
    if (!p) {
        return CFLOW_EXIT_BAD_INPUT;
    }
    g_autoptr(GError) err = NULL;
    bool ok = argc == 3 ? cflow_profile_write_json_file(p, argv[2], &err)
                        : cflow_profile_write_json(p, stdout, &err);
    if (!ok) {
        cflow_error(CMD, "%s", err->message);
        return CFLOW_EXIT_USAGE;
    }
    return CFLOW_EXIT_OK;
}

const CflowCommand cflow_cmd_json = {CMD, "write a profile as JSON", run};
