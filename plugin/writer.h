/*
 * writer.h: every profile the plugin writes and the report it prints, whatever the reason
 * (exit, exec, periodic dumps: option dump=SECONDS), with the run's metadata said once.
 * Every profile is a consistent snapshot: while vCPUs may be running, recording is frozen for
 * the merge (the mode's freeze, mode.h), so the in-edges of every block sum to its
 * entries.
 *
 * Where the profile goes is fixed when QEMU starts: the output path is checked then (QEMU
 * stops before the guest runs if it cannot be written), its folder held open, so a guest that
 * changes directory or root, its umask or (in user mode) its user id neither moves nor loses
 * the profile (writer.c says how).
 */
#ifndef CFLOW_WRITER_H
#define CFLOW_WRITER_H

#include <glib.h>
#include <stdbool.h>

#include <qemu-plugin.h>

#include "mode.h"
#include "options.h"

typedef enum { WRITE_AT_EXIT, WRITE_AT_EXEC, WRITE_AT_DUMP } WriteReason;

/* At install: false with a message if the output cannot be written. */
bool writer_init(const CflowOptions *opts, const CflowModeOps *mode, const qemu_info_t *info,
                 GError **error);
void writer_vcpu_started(void);
/* Merges everything recorded into one profile, writes it, prints the report at exit. */
void writer_write(WriteReason reason);
/* pthread_atfork's three (cflow.c calls them around its own locks). */
void writer_fork_prepare(void);
void writer_fork_parent(void);
void writer_fork_child(void);

#endif
