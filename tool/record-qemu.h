/*
 * record-qemu.h: `cflow record` when the program after `--` is QEMU itself (a qemu-system-*
 * emulator profiling a whole machine, or a user-mode qemu-ARCH named explicitly): what such a
 * program is, where a bare name is found, and whether that QEMU can load plugins at all.
 */
#ifndef CFLOW_RECORD_QEMU_H
#define CFLOW_RECORD_QEMU_H

#include <glib.h>
#include <stdbool.h>

typedef enum {
    CFLOW_PROG_GUEST,       /* any other program: run under qemu-ARCH (user mode) */
    CFLOW_PROG_QEMU_USER,   /* qemu-ARCH, ARCH one cflow knows (arch/) */
    CFLOW_PROG_QEMU_SYSTEM, /* qemu-system-* */
} CflowProgKind;

/* What the program named `arg` (a path or a bare name) is, by its file name. */
CflowProgKind cflow_prog_kind(const char *arg);

/*
 * The path of the QEMU `arg` names: a path as given; a bare name from the .deps/qemu/bin of
 * the checkout the tool was built in (the QEMU the project built), else from PATH. NULL after
 * a message naming it when there is none.
 */
char *cflow_qemu_program(const char *cmd, const char *arg);

/*
 * Can this QEMU load plugins? Asked of QEMU itself (`-h` lists -plugin only when plugins were
 * built in), so that a QEMU without them gets a clear message instead of its own complaint about
 * an unknown option. False after a message naming the binary.
 */
bool cflow_qemu_takes_plugins(const char *cmd, const char *qemu);

#endif
