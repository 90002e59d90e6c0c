/*
 * cmd-version.c: `cflow version` (and `cflow --version`): the tool's version, the profile
 * format it reads and writes, and the plugin and QEMU that `cflow record` would run, each
 * with its own version, so that a report of a problem can say what was in use.
 *
 * The plugin's version is read from its .cflow_version section (plugin/version.c) with
 * libelf, without loading it: a plugin built for QEMU cannot be loaded outside QEMU. QEMU's
 * comes from `QEMU --version`.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cflow.h"
#include "locate.h"

#define CMD "version"
#define PLUGIN_VERSION_SECTION ".cflow_version"

/* The text of the plugin's version section, or NULL with *error saying why. */
static char *plugin_version_text(const char *path, GError **error)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", path,
                    g_strerror(errno));
        return NULL;
    }
    elf_version(EV_CURRENT);
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    size_t strndx;
    char *text = NULL;
    if (elf && elf_kind(elf) == ELF_K_ELF && elf_getshdrstrndx(elf, &strndx) == 0) {
        for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn && !text; scn = elf_nextscn(elf, scn)) {
            GElf_Shdr sh;
            const char *name = gelf_getshdr(scn, &sh) ? elf_strptr(elf, strndx, sh.sh_name)
                                                       : NULL;
            Elf_Data *d = name && strcmp(name, PLUGIN_VERSION_SECTION) == 0
                              ? elf_getdata(scn, NULL)
                              : NULL;
            if (d && d->d_buf && d->d_size > 0) {
                text = g_strndup(d->d_buf, d->d_size); /* stops at the terminating NUL */
            }
        }
    }
    if (!text) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: no %s section (not a cflow plugin, or one older than 'cflow version')",
                    path, PLUGIN_VERSION_SECTION);
    }
    elf_end(elf);
    close(fd);
    return text;
}

/* The value of "KEY VALUE" in the plugin's version text, or "?". */
static char *version_field(const char *text, const char *key)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    size_t n = strlen(key);
    for (int i = 0; lines[i]; i++) {
        if (strncmp(lines[i], key, n) == 0 && lines[i][n] == ' ') {
            return g_strdup(lines[i] + n + 1);
        }
    }
    return g_strdup("?");
}

/* The plugin's lines; false if there is none or it cannot be read. */
static bool show_plugin(const char *option)
{
    CflowLocated plugin = {0};
    g_autoptr(GError) err = NULL;
    if (!cflow_find_plugin(option, &plugin, &err)) {
        printf("plugin: %s\n", err->message);
        return false;
    }
    printf("plugin: %s (%s)\n", plugin.path, plugin.source);
    g_autofree char *text = plugin_version_text(plugin.path, &err);
    cflow_located_clear(&plugin);
    if (!text) {
        printf("  %s\n", err->message);
        return false;
    }
    g_autofree char *version = version_field(text, "cflow-plugin");
    g_autofree char *format = version_field(text, "profile-format");
    g_autofree char *qemu = version_field(text, "qemu");
    g_autofree char *api = version_field(text, "qemu-plugin-api");
    printf("  cflow plugin %s, writes profile format version %s, built against QEMU %s "
           "(plugin API %s)\n",
           version, format, qemu, api);
    if (strcmp(version, CFLOW_VERSION) != 0) {
        printf("  (this tool is %s: the plugin is of another version)\n", CFLOW_VERSION);
    }
    return true;
}

/* QEMU's lines; false if there is none or it does not run. */
static bool show_qemu(const char *option, const char *arch)
{
    CflowLocated qemu = {0};
    g_autoptr(GError) err = NULL;
    if (!cflow_find_qemu(option, arch, &qemu, &err)) {
        printf("qemu: %s\n", err->message);
        return false;
    }
    printf("qemu: %s (%s)\n", qemu.path, qemu.source);
    char *argv[] = {qemu.path, "--version", NULL};
    g_autofree char *out = NULL;
    int status;
    bool ran = g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out,
                            NULL, &status, &err) &&
               g_spawn_check_wait_status(status, NULL) && out;
    cflow_located_clear(&qemu);
    if (!ran) {
        printf("  '--version' failed: %s\n", err ? err->message : "no output");
        return false;
    }
    out[strcspn(out, "\n")] = '\0'; /* QEMU's first line: "QEMU emulator version X" */
    printf("  %s\n", out);
    return true;
}

static const char description[] =
    "Prints the tool's version, the profile format it reads and writes, and the plugin and\n"
    "the QEMU that 'cflow record' would use, found the same way (see 'cflow record --help'),\n"
    "each with where it was found and its own version: the plugin's is read from the file\n"
    "(its .cflow_version section), QEMU's from 'QEMU --version'. The QEMU shown is the one for\n"
    "ARCH (default: this machine's).\n"
    "\n"
    "Exit status: 0 when the plugin and QEMU were found and their versions read, else 1.\n"
    "\n"
    "Examples:\n"
    "  cflow --version\n"
    "  cflow version --arch aarch64\n"
    "  CFLOW_QEMU=/opt/qemu/bin/qemu-x86_64 cflow version\n";

static const CflowUsage usage = {
    "", "Show the versions of the tool, the profile format, the plugin and QEMU.", description,
    "expected no arguments"};

static int run(int argc, char **argv)
{
    g_autofree char *arch = NULL, *qemu = NULL, *plugin = NULL;
    GOptionEntry entries[] = {
        {"arch", 'a', 0, G_OPTION_ARG_STRING, &arch, "Show the QEMU for ARCH", "ARCH"},
        {"qemu", 0, 0, G_OPTION_ARG_FILENAME, &qemu, "Show this QEMU", "PATH"},
        {"plugin", 0, 0, G_OPTION_ARG_FILENAME, &plugin, "Show this plugin (libcflow.so)",
         "PATH"},
        G_OPTION_ENTRY_NULL,
    };
    if (!cflow_parse_usage(&argc, &argv, &usage, entries, false) ||
        !cflow_check_args(CMD, &usage, argc == 1)) {
        return CFLOW_EXIT_USAGE;
    }
    struct utsname host;
    if (!arch) {
        arch = g_strdup(uname(&host) == 0 ? host.machine : "x86_64");
    }
    printf("cflow %s\n", CFLOW_VERSION);
    printf("profile format: reads and writes version %u (and writes JSON: 'cflow json')\n",
           CFLOW_PROFILE_VERSION);
    bool plugin_ok = show_plugin(plugin);
    bool qemu_ok = show_qemu(qemu, arch);
    return plugin_ok && qemu_ok ? CFLOW_EXIT_OK : CFLOW_EXIT_USAGE;
}

const CflowCommand cflow_cmd_version = {
    CMD, "the versions of the tool, the profile format, the plugin and QEMU", run};
