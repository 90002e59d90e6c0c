/*
 * cflow.h: what the tool's commands share: the command table entry, the exit codes, and the
 * option and loading helpers of tool/cflow.c. Each command lives in its own cmd-<name>.c.
 */
#ifndef CFLOW_TOOL_H
#define CFLOW_TOOL_H

#include <glib.h>
#include <stdbool.h>

#include "profile.h"
#include "srcline.h"

/* The exit codes of every command (README "The tool"; record passes the guest's through). */
enum {
    CFLOW_EXIT_OK = 0,
    CFLOW_EXIT_USAGE = 1,     /* bad command line, unwritable output, guest could not run */
    CFLOW_EXIT_BAD_INPUT = 2, /* an input profile is missing, damaged, foreign, of a later
                               * version, or (merge) incompatible with the others */
};

typedef struct {
    const char *name;
    const char *summary; /* one line, for `cflow --help` */
    int (*run)(int argc, char **argv); /* argv[0] is "cflow NAME" */
} CflowCommand;

extern const CflowCommand cflow_cmd_record, cflow_cmd_report, cflow_cmd_annotate,
    cflow_cmd_merge, cflow_cmd_diff, cflow_cmd_dot, cflow_cmd_json, cflow_cmd_check,
    cflow_cmd_export, cflow_cmd_version, cflow_cmd_top;

/* The text every command's --help ends with. */
#define CFLOW_EXIT_CODES_HELP                                                                 \
    "Exit status: 0 success; 1 bad usage, an output that cannot be written, or (record) a\n"  \
    "guest that cannot be started; 2 an input profile that is missing, damaged, truncated,\n" \
    "not a cflow profile, of a later format version, or (merge) incompatible.\n"

/*
 * Parses argv with `entries`, leaving the positional arguments in argv[1..]. `--help` prints
 * the usage ("cflow NAME PARAMS", summary, options, description) and exits 0; an error prints
 * a message and the hint to use --help, and returns false. With `stop_at_first_arg`, parsing
 * ends at the first argument that is not an option (record's guest command line).
 */
bool cflow_parse_options(int *argc, char ***argv, const char *params, const char *summary,
                         const char *description, const GOptionEntry *entries,
                         bool stop_at_first_arg);

/* What a command's --help shows, and what it says to a command line it cannot use. */
typedef struct {
    const char *params;      /* the positional arguments, e.g. "FILE FUNCTION" */
    const char *summary;     /* one line under the usage */
    const char *description; /* after the options, before the exit codes */
    const char *expected;    /* e.g. "expected FILE FUNCTION": the message for wrong arguments */
} CflowUsage;

/* cflow_parse_options with a command's usage; `entries` NULL for a command without options. */
bool cflow_parse_usage(int *argc, char ***argv, const CflowUsage *u,
                       const GOptionEntry *entries, bool stop_at_first_arg);

/*
 * The check of the arguments after parsing: when `ok` is false, prints
 * "cflow NAME: EXPECTED (see 'cflow NAME --help')" and returns false (exit 1).
 */
bool cflow_check_args(const char *cmd, const CflowUsage *u, bool ok);

/* Prints "cflow NAME: message" to stderr. */
void cflow_error(const char *cmd, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Reads a profile; on failure prints a message naming the file and returns NULL (exit 2). */
CflowProfile *cflow_load(const char *cmd, const char *path);

/* The output formats of report and diff. */
typedef enum { CFLOW_FORMAT_TEXT, CFLOW_FORMAT_JSON, CFLOW_FORMAT_CSV } CflowFormat;
bool cflow_parse_format(const char *cmd, const char *name, CflowFormat *format);

/* Option --addresses of the commands that print addresses (report, annotate, dot). */
#define CFLOW_ADDRESSES_OPTION(var)                                                   \
    {"addresses", 0, 0, G_OPTION_ARG_STRING, &(var),                                  \
     "Addresses: run (default), link (as objdump -d prints them) or both", "A"}
/* A profile read for a view that names code (report, annotate, dot), with its source lines. */
typedef struct {
    CflowProfile *p;
    CflowSrcline *s; /* printing addresses as option --addresses said */
    int status;      /* after a failed cflow_load_input: the command's exit status */
} CflowInput;
void cflow_input_clear(CflowInput *in);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CflowInput, cflow_input_clear)

/*
 * Reads profile `path` into in->p, with in->s printing addresses as --addresses NAME says
 * (NULL: run); false, after a message naming what is wrong, with in->status
 * CFLOW_EXIT_USAGE for an unknown NAME and CFLOW_EXIT_BAD_INPUT for a file that does not read.
 */
bool cflow_load_input(const char *cmd, const char *path, const char *addresses_name,
                      CflowInput *in);

#endif
