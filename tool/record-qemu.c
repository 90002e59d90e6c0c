/*
 * record-qemu.c: the program after `cflow record --` is QEMU itself (see record-qemu.h).
 * cmd-record.c then adds the plugin to QEMU's own command line instead of running a guest
 * program under a QEMU of its choosing.
 */
#include "record-qemu.h"

#include <string.h>

#include "arch.h"
#include "cflow.h"
#include "locate.h"

CflowProgKind cflow_prog_kind(const char *arg)
{
    g_autofree char *base = g_path_get_basename(arg);
    if (g_str_has_prefix(base, "qemu-system-") && base[strlen("qemu-system-")]) {
        return CFLOW_PROG_QEMU_SYSTEM;
    }
    /* qemu-img, qemu-nbd and the other QEMU tools are no emulators: only known targets */
    if (g_str_has_prefix(base, "qemu-") && *cflow_arch_find(base + strlen("qemu-"))->name) {
        return CFLOW_PROG_QEMU_USER;
    }
    return CFLOW_PROG_GUEST;
}

char *cflow_qemu_program(const char *cmd, const char *arg)
{
    if (!strchr(arg, '/')) {
        CflowLocated found = {0};
        g_autoptr(GError) err = NULL;
        if (!cflow_find_qemu_program(arg, &found, &err)) {
            cflow_error(cmd, "%s", err->message);
            return NULL;
        }
        return found.path;
    }
    if (!g_file_test(arg, G_FILE_TEST_IS_REGULAR) || !g_file_test(arg, G_FILE_TEST_IS_EXECUTABLE)) {
        cflow_error(cmd, "%s: no such QEMU", arg);
        return NULL;
    }
    return g_strdup(arg);
}

bool cflow_qemu_takes_plugins(const char *cmd, const char *qemu)
{
    const char *argv[] = {qemu, "-h", NULL};
    g_autofree char *out = NULL;
    g_autoptr(GError) err = NULL;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out,
                      NULL, NULL, &err)) {
        cflow_error(cmd, "cannot run %s: %s", qemu, err->message);
        return false;
    }
    /* options are listed one a line, each line starting with the option */
    if (g_str_has_prefix(out, "-plugin ") || strstr(out, "\n-plugin ")) {
        return true;
    }
    cflow_error(cmd, "%s cannot load plugins (its -h lists no -plugin: QEMU was built without "
                     "them; configure it with --enable-plugins, or use the project's QEMU)",
                qemu);
    return false;
}
