/* options.c: parsing and checking of the plugin's options (see options.h). */
#include "options.h"

#include "profile.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const char *name;
    int value;
} Choice;

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

static void bad_value(GError **error, const char *key, const char *value, const char *names)
{
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "cflow: bad value '%s' for option '%s' (expected %s)", value, key, names);
}

static bool parse_choice(const char *key, const char *value, const Choice *choices, int *out,
                         GError **error)
{
    GString *names = g_string_new(NULL);
    for (const Choice *c = choices; c->name; c++) {
        if (strcmp(c->name, value) == 0) {
            *out = c->value;
            g_string_free(names, TRUE);
            return true;
        }
        g_string_append_printf(names, "%s%s", names->len ? "|" : "", c->name);
    }
    bad_value(error, key, value, names->str);
    g_string_free(names, TRUE);
    return false;
}

/* The sort names live with the report (profile/report.c), shared with the tool. */
static bool parse_sort(const char *key, const char *value, CflowSort *out, GError **error)
{
    if (cflow_sort_parse(value, out)) {
        return true;
    }
    GString *names = g_string_new(NULL);
    for (int s = 0; s < CFLOW_SORT_COUNT; s++) {
        g_string_append_printf(names, "%s%s", s ? "|" : "", cflow_sort_name(s));
    }
    bad_value(error, key, value, names->str);
    g_string_free(names, TRUE);
    return false;
}

static bool parse_bool(const char *key, const char *value, bool *out, GError **error)
{
    static const char *yes[] = {"on", "yes", "true", NULL}, *no[] = {"off", "no", "false", NULL};
    for (int i = 0; yes[i]; i++) {
        if (strcmp(value, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcmp(value, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    bad_value(error, key, value, "on|off");
    return false;
}

static bool parse_number(const char *key, const char *value, unsigned long long max,
                         unsigned long long *out, GError **error)
{
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(value, &end, 10);
    if (!*value || *end || errno || n > max || value[0] == '-' || value[0] == '+') {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "cflow: bad value '%s' for option '%s' (expected a number from 0 to %llu)",
                    value, key, max);
        return false;
    }
    *out = n;
    return true;
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
        const char *value = eq + 1;
        int choice;
        if (strcmp(key, "sort") == 0) {
            if (!parse_sort(key, value, &opts->sort, error)) {
                return false;
            }
        } else if (strcmp(key, "topn") == 0) {
            unsigned long long n;
            if (!parse_number(key, value, 1000000000ull, &n, error)) {
                return false;
            }
            opts->topn = (unsigned)n;
        } else if (strcmp(key, "adapt_after") == 0) {
            if (!parse_number(key, value, 1ull << 40, &opts->adapt_after, error)) {
                return false;
            }
        } else if (strcmp(key, "counter_mib") == 0) {
            if (!parse_number(key, value, 1ull << 20, &opts->counter_mib, error)) {
                return false;
            }
        } else if (strcmp(key, "priv") == 0) {
            if (!parse_choice(key, value, priv_choices, &choice, error)) {
                return false;
            }
            opts->priv = choice;
        } else if (strcmp(key, "dump") == 0) {
            if (!parse_number(key, value, 1ull << 31, &opts->dump_seconds, error)) {
                return false;
            }
        } else if (strcmp(key, "symbols") == 0) {
            if (!g_file_test(value, G_FILE_TEST_IS_REGULAR)) {
                g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                            "cflow: option 'symbols': '%s' is not a readable file", value);
                return false;
            }
            g_free(opts->symbols);
            opts->symbols = g_strdup(value);
        } else if (strcmp(key, "output") == 0) {
            if (!*value) {
                g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                            "cflow: option 'output' needs a path");
                return false;
            }
            g_free(opts->output);
            opts->output = g_strdup(value);
        } else if (strcmp(key, "format") == 0) {
            if (!parse_choice(key, value, format_choices, &choice, error)) {
                return false;
            }
            opts->format = choice;
        } else if (strcmp(key, "mode") == 0) {
            if (!parse_choice(key, value, mode_choices, &choice, error)) {
                return false;
            }
            opts->mode = choice;
        } else if (strcmp(key, "disas") == 0) {
            if (!parse_choice(key, value, disas_choices, &choice, error)) {
                return false;
            }
            opts->qemu_disas = choice;
        } else if (strcmp(key, "report") == 0) {
            if (!parse_bool(key, value, &opts->report, error)) {
                return false;
            }
        } else {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION,
                        "cflow: unknown option '%s' (known: sort, topn, output, format, mode, "
                        "report, disas, adapt_after, counter_mib, priv, symbols, dump)", key);
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
