/*
 * locate.c: the QEMU and the plugin the tool runs, found the same way for `cflow record` and
 * `cflow version`. An installed tool finds its plugin relative to its own folder (not through
 * a path fixed at build time), so an install tree that was moved, or staged with DESTDIR,
 * still works; QEMU comes from the checkout the tool was built in, as the project builds it
 * there and installs no QEMU of its own.
 *
 * Built with:
 *   CFLOW_SOURCE_DIR         the checkout (its .deps/qemu/bin holds the project's QEMU)
 *   CFLOW_BUILD_DIR          the build tree (its libcflow.so, for a tool run from elsewhere)
 *   CFLOW_PLUGIN_FROM_BINDIR the installed plugin's folder relative to the installed tool's
 *                            (or absolute, when the two are not under one prefix)
 */
#include "locate.h"

#include <string.h>

void cflow_located_clear(CflowLocated *l)
{
    g_free(l->path);
    l->path = NULL;
    l->source = NULL;
}

char *cflow_self_dir(void)
{
    g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
    return self ? g_path_get_dirname(self) : g_strdup(".");
}

/* A place to look: where the answer would come from, and the file there. */
typedef struct {
    const char *source;
    char *path; /* NULL: this place does not apply (an unset variable, not on PATH) */
} Candidate;

static bool usable(const char *path, bool executable)
{
    return g_file_test(path, G_FILE_TEST_IS_REGULAR) &&
           (!executable || g_file_test(path, G_FILE_TEST_IS_EXECUTABLE));
}

/* Is candidate i's path that of an earlier one (a build tree found two ways)? */
static bool said_before(const Candidate *c, size_t i)
{
    for (size_t j = 0; j < i; j++) {
        if (c[j].path && strcmp(c[j].path, c[i].path) == 0) {
            return true;
        }
    }
    return false;
}

/*
 * The first of `named` (what the user named: option, variable) that is set, which must be
 * usable; else the first usable of `implied`. Every candidate's path is freed except the one
 * returned. On failure the message says what was named, or where the tool looked and `hint`.
 */
static bool pick(const char *what, bool executable, Candidate *named, size_t n_named,
                 Candidate *implied, size_t n_implied, const char *hint, CflowLocated *out,
                 GError **error)
{
    bool found = false;
    GString *msg = g_string_new(NULL);
    for (size_t i = 0; i < n_named && !found && msg->len == 0; i++) {
        if (!named[i].path) {
            continue;
        }
        if (usable(named[i].path, executable)) {
            *out = (CflowLocated){g_steal_pointer(&named[i].path), named[i].source};
            found = true;
        } else {
            g_string_printf(msg, "%s: no %s at %s (named by %s)", what,
                            executable ? "executable" : "file", named[i].path, named[i].source);
        }
    }
    for (size_t i = 0; i < n_implied && !found && msg->len == 0; i++) {
        if (implied[i].path && usable(implied[i].path, executable)) {
            *out = (CflowLocated){g_steal_pointer(&implied[i].path), implied[i].source};
            found = true;
        }
    }
    if (!found && msg->len == 0) {
        g_string_printf(msg, "no %s found:", what);
        for (size_t i = 0; i < n_implied; i++) {
            if (!implied[i].path) {
                g_string_append_printf(msg, "%s not on %s", i ? "," : "", implied[i].source);
            } else if (!said_before(implied, i)) {
                g_string_append_printf(msg, "%s not at %s (%s)", i ? "," : "", implied[i].path,
                                       implied[i].source);
            }
        }
        g_string_append_printf(msg, "; %s", hint);
    }
    for (size_t i = 0; i < n_named; i++) {
        g_free(named[i].path);
    }
    for (size_t i = 0; i < n_implied; i++) {
        g_free(implied[i].path);
    }
    if (!found) {
        g_set_error_literal(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, msg->str);
    }
    g_string_free(msg, TRUE);
    return found;
}

static char *env_path(const char *name)
{
    const char *v = g_getenv(name);
    return v && *v ? g_strdup(v) : NULL;
}

/* A program named without a folder is looked up on PATH, as a shell would run it. */
static char *program_path(char *named)
{
    char *found = named && !strchr(named, '/') ? g_find_program_in_path(named) : NULL;
    if (found) {
        g_free(named);
        return found;
    }
    return named;
}

/* Where a QEMU program named without a folder is looked for: the project's, then PATH. */
static void implied_qemu(const char *name, Candidate implied[2])
{
    char *project = g_build_filename(CFLOW_SOURCE_DIR, ".deps", "qemu", "bin", name, NULL);
    implied[0] = (Candidate){"the QEMU built in the checkout cflow was built from", project};
    implied[1] = (Candidate){"PATH", g_find_program_in_path(name)};
}

bool cflow_find_qemu(const char *option, const char *arch, CflowLocated *out, GError **error)
{
    g_autofree char *name = g_strconcat("qemu-", arch, NULL);
    Candidate named[] = {
        {"--qemu", program_path(g_strdup(option))},
        {"$CFLOW_QEMU", program_path(env_path("CFLOW_QEMU"))},
    };
    Candidate implied[2];
    implied_qemu(name, implied);
    return pick(name, true, named, G_N_ELEMENTS(named), implied, G_N_ELEMENTS(implied),
                "name one with --qemu or $CFLOW_QEMU", out, error);
}

bool cflow_find_qemu_program(const char *name, CflowLocated *out, GError **error)
{
    Candidate implied[2];
    implied_qemu(name, implied);
    return pick(name, true, NULL, 0, implied, G_N_ELEMENTS(implied),
                "name it with its path", out, error);
}

bool cflow_find_plugin(const char *option, CflowLocated *out, GError **error)
{
    g_autofree char *self = cflow_self_dir();
    Candidate named[] = {
        {"--plugin", g_strdup(option)},
        {"$CFLOW_PLUGIN", env_path("CFLOW_PLUGIN")},
    };
    Candidate implied[] = {
        {"installed with cflow",
         g_path_is_absolute(CFLOW_PLUGIN_FROM_BINDIR)
             ? g_build_filename(CFLOW_PLUGIN_FROM_BINDIR, "libcflow.so", NULL)
             : g_build_filename(self, CFLOW_PLUGIN_FROM_BINDIR, "libcflow.so", NULL)},
        {"the build tree cflow runs from", g_build_filename(self, "..", "libcflow.so", NULL)},
        {"the build tree cflow was built in",
         g_build_filename(CFLOW_BUILD_DIR, "libcflow.so", NULL)},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(implied); i++) {
        /* said as a plain path: ".." in "bin/../lib/cflow" tells a user nothing */
        char *clean = g_canonicalize_filename(implied[i].path, NULL);
        g_free(implied[i].path);
        implied[i].path = clean;
    }
    return pick("libcflow.so", false, named, G_N_ELEMENTS(named), implied,
                G_N_ELEMENTS(implied), "name one with --plugin or $CFLOW_PLUGIN", out, error);
}
