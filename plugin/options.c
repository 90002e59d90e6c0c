/*
 * options.c: parsing and checking of the plugin's options (see options.h). Every option is a row
 * of one table (name, parser, field, help); the parsers are generic (a choice, a number, on/off, a
 * path), so adding an option is one row.
 */
#include "options.h"

#include "profile.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const char *name;
    int value;
} Choice;

typedef struct Option Option;
/* Sets the option's field of `opts` from `value`; false with a message naming it if bad. */
typedef bool (*OptionParser)(const Option *o, const char *value, CflowOptions *opts,
                             GError **error);

struct Option {
    const char *name;
    OptionParser parse;
    size_t field, size;     /* where in CflowOptions, how wide */
    const Choice *choices;  /* parse_choice: the names, NULL-terminated */
    unsigned long long max; /* parse_number: the largest value */
    const char *help;
};

static const Choice format_choices[] = {
    {"cflow", FORMAT_BINARY}, {"binary", FORMAT_BINARY}, {"json", FORMAT_JSON}, {NULL, 0},
};
static const Choice disas_choices[] = {
    {"auto", 0}, {"qemu", 1}, {NULL, 0},
};
static const Choice priv_choices[] = {
    {"all", PRIV_ALL}, {"user", PRIV_USER}, {"kernel", PRIV_KERNEL}, {NULL, 0},
};
static const Choice mode_choices[] = {
    {"fast", MODE_FAST}, {"reference", MODE_REFERENCE}, {NULL, 0},
};

/* Fields are bool, an enum or unsigned, or unsigned long long. */
_Static_assert(sizeof(CflowSort) == sizeof(unsigned) && sizeof(CflowMode) == sizeof(unsigned) &&
                   sizeof(CflowFormat) == sizeof(unsigned) &&
                   sizeof(CflowPrivFilter) == sizeof(unsigned),
               "enum options are stored as unsigned");

static void store(const Option *o, CflowOptions *opts, unsigned long long v)
{
    char *at = (char *)opts + o->field;
    if (o->size == sizeof(bool)) {
        bool b = v != 0;
        memcpy(at, &b, sizeof b);
    } else if (o->size == sizeof(unsigned)) {
        unsigned u = (unsigned)v;
        memcpy(at, &u, sizeof u);
    } else {
        g_assert(o->size == sizeof v);
        memcpy(at, &v, sizeof v);
    }
}

static void store_string(const Option *o, CflowOptions *opts, const char *value)
{
    char **at = (char **)(void *)((char *)opts + o->field);
    g_free(*at);
    *at = g_strdup(value);
}

static bool bad_value(GError **error, const char *key, const char *value, const char *names)
{
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "cflow: bad value '%s' for option '%s' (expected %s)", value, key, names);
    return false;
}

static bool parse_choice(const Option *o, const char *value, CflowOptions *opts, GError **error)
{
    g_autoptr(GString) names = g_string_new(NULL);
    for (const Choice *c = o->choices; c->name; c++) {
        if (strcmp(c->name, value) == 0) {
            store(o, opts, (unsigned long long)c->value);
            return true;
        }
        g_string_append_printf(names, "%s%s", names->len ? "|" : "", c->name);
    }
    return bad_value(error, o->name, value, names->str);
}

/* The sort keys live with the report (profile/sort.c), shared with the tool. */
static bool parse_sort(const Option *o, const char *value, CflowOptions *opts, GError **error)
{
    CflowSort sort;
    if (cflow_sort_parse(value, &sort)) {
        store(o, opts, sort);
        return true;
    }
    g_autofree char *names = cflow_sort_names(CFLOW_SORT_VIEW_INSN, "|");
    return bad_value(error, o->name, value, names);
}

static bool parse_bool(const Option *o, const char *value, CflowOptions *opts, GError **error)
{
    static const char *yes[] = {"on", "yes", "true", NULL}, *no[] = {"off", "no", "false", NULL};
    for (int i = 0; yes[i]; i++) {
        if (strcmp(value, yes[i]) == 0 || strcmp(value, no[i]) == 0) {
            store(o, opts, strcmp(value, yes[i]) == 0);
            return true;
        }
    }
    return bad_value(error, o->name, value, "on|off");
}

static bool parse_number(const Option *o, const char *value, CflowOptions *opts, GError **error)
{
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(value, &end, 10);
    if (!*value || *end || errno || n > o->max || value[0] == '-' || value[0] == '+') {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "cflow: bad value '%s' for option '%s' (expected a number from 0 to %llu)",
                    value, o->name, o->max);
        return false;
    }
    store(o, opts, n);
    return true;
}

static bool parse_output(const Option *o, const char *value, CflowOptions *opts, GError **error)
{
    if (!*value) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "cflow: option '%s' needs a path", o->name);
        return false;
    }
    /* '-' reads as "standard output", which is the guest's: writing a file named '-' into the
     * guest's working directory would surprise; refuse it and say what to do instead. */
    if (strcmp(value, "-") == 0) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "cflow: option '%s=-': standard output is the guest's; name a file", o->name);
        return false;
    }
    store_string(o, opts, value);
    return true;
}

static bool parse_file(const Option *o, const char *value, CflowOptions *opts, GError **error)
{
    if (!g_file_test(value, G_FILE_TEST_IS_REGULAR)) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "cflow: option '%s': '%s' is not a readable file", o->name, value);
        return false;
    }
    store_string(o, opts, value);
    return true;
}

#define FIELD(m) offsetof(CflowOptions, m), sizeof(((CflowOptions *)0)->m)

/* In the order the unknown-option message lists them. */
static const Option options[] = {
    {"sort", parse_sort, FIELD(sort), NULL, 0, "what the report ranks (see cflow report --help)"},
    {"topn", parse_number, FIELD(topn), NULL, 1000000000ull, "entries in the report"},
    {"output", parse_output, FIELD(output), NULL, 0,
     "write the profile there at exit; %p: the process id, %%: a %"},
    {"format", parse_choice, FIELD(format), format_choices, 0, "the profile's format"},
    {"mode", parse_choice, FIELD(mode), mode_choices, 0,
     "fast, or reference: a helper on every instruction, the oracle"},
    {"report", parse_bool, FIELD(report), NULL, 0, "print the text report at exit"},
    {"disas", parse_choice, FIELD(qemu_disas), disas_choices, 0,
     "qemu: always QEMU's disassembler, at translation time"},
    {"adapt_after", parse_number, FIELD(adapt_after), NULL, 1ull << 40,
     "helper calls on a vCPU before re-planning; 0: never"},
    {"counter_mib", parse_number, FIELD(counter_mib), NULL, 1ull << 20,
     "memory budget of the per-block counters, in MiB"},
    {"priv", parse_choice, FIELD(priv), priv_choices, 0, "record only that privilege level"},
    {"symbols", parse_file, FIELD(symbols), NULL, 0, "a System.map or ELF file naming code"},
    {"dump", parse_number, FIELD(dump_seconds), NULL, 1ull << 31,
     "also write the profile every that many seconds; 0: only at exit"},
};

static const Option *find_option(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(options); i++) {
        if (strcmp(options[i].name, name) == 0) {
            return &options[i];
        }
    }
    return NULL;
}

/* "name1, name2, ..." with `sep`, or name and help a line each (sep NULL). */
static char *list_options(const char *sep)
{
    GString *s = g_string_new(NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(options); i++) {
        if (sep) {
            g_string_append_printf(s, "%s%s", i ? sep : "", options[i].name);
        } else {
            g_string_append_printf(s, "  %-12s %s\n", options[i].name, options[i].help);
        }
    }
    return g_string_free(s, FALSE);
}

char *cflow_options_help(void)
{
    return list_options(NULL);
}

bool cflow_options_parse(CflowOptions *opts, int argc, char **argv, GError **error)
{
    *opts = (CflowOptions){.sort = CFLOW_SORT_HOTTEST, .topn = 10, .report = true,
                           .adapt_after = 1ull << 20, .counter_mib = 32};
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                        "cflow: option '%s' has no value (expected key=value)", argv[i]);
            return false;
        }
        g_autofree char *key = g_strndup(argv[i], eq - argv[i]);
        const Option *o = find_option(key);
        if (!o) {
            g_autofree char *known = list_options(", ");
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION,
                        "cflow: unknown option '%s' (known: %s)", key, known);
            return false;
        }
        if (!o->parse(o, eq + 1, opts, error)) {
            return false;
        }
    }
    return true;
}

void cflow_options_clear(CflowOptions *opts)
{
    g_clear_pointer(&opts->output, g_free);
    g_clear_pointer(&opts->symbols, g_free);
}

char *cflow_expand_output_path(const char *pattern, long pid)
{
    GString *s = g_string_new(NULL);
    for (const char *p = pattern; *p; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            g_string_append_printf(s, "%ld", pid);
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            g_string_append_c(s, '%');
            p++;
        } else {
            g_string_append_c(s, *p);
        }
    }
    return g_string_free(s, FALSE);
}

bool cflow_check_output_path(const char *path, GError **error)
{
    GError *local = NULL;
    if (!cflow_output_check(path, &local)) {
        g_set_error(error, G_FILE_ERROR, local->code, "cflow: %s", local->message);
        g_error_free(local);
        return false;
    }
    return true;
}
