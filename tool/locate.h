/*
 * locate.h: where the tool finds what it runs: the QEMU for an architecture and the plugin
 * (libcflow.so). `cflow record` runs what these say; `cflow version` shows it.
 */
#ifndef CFLOW_LOCATE_H
#define CFLOW_LOCATE_H

#include <glib.h>
#include <stdbool.h>

/* A file found, and where the answer came from (said in --version and in errors). */
typedef struct {
    char *path;
    const char *source; /* e.g. "--qemu", "$CFLOW_QEMU", "PATH", "installed beside the tool" */
} CflowLocated;

void cflow_located_clear(CflowLocated *l);

/*
 * The QEMU that runs ARCH's programs: `option` (--qemu), else $CFLOW_QEMU, else qemu-ARCH in
 * the .deps/qemu/bin of the checkout the tool was built in, else qemu-ARCH on PATH. The first
 * one named wins (a --qemu that is not executable is an error, not a reason to look further;
 * a name without a folder is looked up on PATH).
 * False with *error naming every place tried when there is none.
 */
bool cflow_find_qemu(const char *option, const char *arch, CflowLocated *out, GError **error);

/*
 * A QEMU program named without a folder (`cflow record -- qemu-system-x86_64 ...`): the
 * project's QEMU, else PATH, as cflow_find_qemu looks for qemu-ARCH when nothing is named.
 */
bool cflow_find_qemu_program(const char *name, CflowLocated *out, GError **error);

/*
 * The plugin: `option` (--plugin), else $CFLOW_PLUGIN, else the installed one (the plugin
 * folder, at the same place relative to the tool's own folder as at install time: a moved
 * install tree still works), else the libcflow.so of the build tree the tool runs from. False
 * with *error naming every place tried when there is none.
 */
bool cflow_find_plugin(const char *option, CflowLocated *out, GError **error);

/* The folder of the running executable (from /proc/self/exe). */
char *cflow_self_dir(void);

#endif
