/*
 * cflow.c: the cflow command: the table of subcommands, dispatch, and the helpers every
 * command uses to parse options, report errors and load profiles. The commands themselves are
 * in cmd-<name>.c, one per file, so adding one is one file and one line here.
 */
#include "cflow.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const CflowCommand *const commands[] = {
    &cflow_cmd_record, &cflow_cmd_report, &cflow_cmd_annotate, &cflow_cmd_merge,
    &cflow_cmd_diff,   &cflow_cmd_dot,    &cflow_cmd_json,     &cflow_cmd_check,
    &cflow_cmd_export, &cflow_cmd_version, &cflow_cmd_top,
};

void cflow_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "cflow %s: %s\n", cmd, msg);
}

bool cflow_parse_options(int *argc, char ***argv, const char *params, const char *summary,
                         const char *description, const GOptionEntry *entries,
                         bool stop_at_first_arg)
{
    const char *cmd = (*argv)[0];
    g_autoptr(GOptionContext) ctx = g_option_context_new(params);
    g_option_context_set_summary(ctx, summary);
    g_autofree char *desc = g_strconcat(description ? description : "", description ? "\n" : "",
                                        CFLOW_EXIT_CODES_HELP, NULL);
    g_option_context_set_description(ctx, desc);
    g_option_context_add_main_entries(ctx, entries, NULL);
    /* record: everything from the guest program on is the guest's, options or not */
    g_option_context_set_strict_posix(ctx, stop_at_first_arg);
    g_autoptr(GError) err = NULL;
    if (!g_option_context_parse(ctx, argc, argv, &err)) {
        fprintf(stderr, "%s: %s (see '%s --help')\n", cmd, err->message, cmd);
        return false;
    }
    return true;
}

bool cflow_parse_usage(int *argc, char ***argv, const CflowUsage *u,
                       const GOptionEntry *entries, bool stop_at_first_arg)
{
    static const GOptionEntry none[] = {G_OPTION_ENTRY_NULL};
    return cflow_parse_options(argc, argv, u->params, u->summary, u->description,
                               entries ? entries : none, stop_at_first_arg);
}

bool cflow_check_args(const char *cmd, const CflowUsage *u, bool ok)
{
    if (!ok) {
        cflow_error(cmd, "%s (see 'cflow %s --help')", u->expected, cmd);
    }
    return ok;
}

CflowProfile *cflow_load(const char *cmd, const char *path)
{
    g_autoptr(GError) err = NULL;
    CflowProfile *p = cflow_profile_read(path, &err);
    if (!p) {
        /* the reader's message already names the file and what is wrong with it */
        cflow_error(cmd, "%s", err->message);
    }
    return p;
}

bool cflow_parse_format(const char *cmd, const char *name, CflowFormat *format)
{
    static const char *const names[] = {"text", "json", "csv"};
    for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
        if (name && strcmp(name, names[i]) == 0) {
            *format = (CflowFormat)i;
            return true;
        }
    }
    cflow_error(cmd, "unknown format '%s' (text, json or csv)", name ? name : "");
    return false;
}

bool cflow_load_input(const char *cmd, const char *path, const char *addresses_name,
                      CflowInput *in)
{
    CflowAddresses addresses = CFLOW_ADDRESSES_RUN;
    if (addresses_name && !cflow_addresses_parse(addresses_name, &addresses)) {
        cflow_error(cmd, "unknown --addresses '%s' (run, link or both)", addresses_name);
        in->status = CFLOW_EXIT_USAGE;
        return false;
    }
    in->p = cflow_load(cmd, path);
    if (!in->p) {
        in->status = CFLOW_EXIT_BAD_INPUT;
        return false;
    }
    in->s = cflow_srcline_new(in->p);
    cflow_srcline_set_addresses(in->s, addresses);
    in->status = CFLOW_EXIT_OK;
    return true;
}

void cflow_input_clear(CflowInput *in)
{
    g_clear_pointer(&in->s, cflow_srcline_free); /* before the profile it reads */
    g_clear_pointer(&in->p, cflow_profile_free);
}

static int usage(FILE *f)
{
    fprintf(f, "usage: cflow COMMAND [OPTIONS] ARGS...\n\n"
               "cflow records control-flow profiles of programs run under QEMU (libcflow.so)\n"
               "and reads them. Commands:\n\n");
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
        fprintf(f, "  %-9s %s\n", commands[i]->name, commands[i]->summary);
    }
    fprintf(f, "\n'cflow COMMAND --help' (or 'cflow help COMMAND') describes a command;\n"
               "'cflow --version' (or 'cflow version') shows the versions in use.\n\n"
               "Environment: CFLOW_QEMU and CFLOW_PLUGIN name the QEMU and the plugin that\n"
               "'cflow record' runs (see 'cflow record --help').\n\n"
               "%s",
            CFLOW_EXIT_CODES_HELP);
    return f == stdout ? CFLOW_EXIT_OK : CFLOW_EXIT_USAGE;
}

static const CflowCommand *find_command(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
        if (strcmp(commands[i]->name, name) == 0) {
            return commands[i];
        }
    }
    return NULL;
}

static int run_command(const CflowCommand *c, int argc, char **argv)
{
    /* argv[0] becomes "cflow NAME", so GOption's messages and --help name the command */
    g_autofree char *name = g_strconcat("cflow ", c->name, NULL);
    g_autofree char **args = g_new0(char *, argc + 1);
    args[0] = name;
    for (int i = 1; i < argc; i++) {
        args[i] = argv[i];
    }
    g_set_prgname(name);
    return c->run(argc, args);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        return usage(stderr);
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        return usage(stdout);
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        char *version[] = {"version", NULL};
        return run_command(&cflow_cmd_version, 1, version);
    }
    if (strcmp(name, "help") == 0) {
        if (argc < 3) {
            return usage(stdout);
        }
        const CflowCommand *c = find_command(argv[2]);
        if (!c) {
            fprintf(stderr, "cflow: unknown command '%s'\n", argv[2]);
            return usage(stderr);
        }
        char *help[] = {argv[2], "--help", NULL};
        return run_command(c, 2, help);
    }
    const CflowCommand *c = find_command(name);
    if (!c) {
        fprintf(stderr, "cflow: unknown command '%s'\n\n", name);
        return usage(stderr);
    }
    return run_command(c, argc - 1, argv + 1);
}
