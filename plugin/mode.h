/*
 * mode.h: the one interface behind which a profiling mode (option mode=) does its work, so
 * that the lifecycle (cflow.c), the writer and the collector never ask which mode runs.
 *
 * Two modes provide one each: fast (hotpath.h: inline counters, a helper on unexpected
 * entries) and reference (reference.h: the slow, obviously right oracle). The table is for
 * lifecycle and translation-time calls only: what runs per executed block is whatever the
 * mode's instrument entry registered with QEMU, called directly, never through this table.
 *
 * An entry a mode has nothing to do for is NULL, and every caller checks.
 */
#ifndef CFLOW_MODE_H
#define CFLOW_MODE_H

#include <stdbool.h>
#include <stdint.h>

#include <qemu-plugin.h>

#include "edge_table.h"
#include "options.h"
#include "profile.h"
#include "registry.h"

/* What a mode is set up with, once, at install. */
typedef struct {
    qemu_plugin_id_t id;
    const CflowOptions *opts;
    const qemu_info_t *info;
    void (*reregister)(void); /* registers the plugin's callbacks again (after a reset) */
} CflowModeSetup;

typedef struct {
    const char *name; /* as option mode= and the profile's meta profile_mode say it */
    void (*init)(const CflowModeSetup *setup);

    /* vCPU lifecycle, on the vCPU's own thread */
    void (*vcpu_init)(unsigned int cpu);
    void (*vcpu_exit)(unsigned int cpu);
    /*
     * Outside the hot path, on the vCPU's thread: tidy up (at each syscall; in system mode,
     * which has none, at each vCPU resume: cflow.c registers that callback only if this is set).
     */
    void (*housekeeping)(unsigned int cpu);
    /* QEMU flushed every translation (its flush callback is registered only if this is set) */
    void (*tb_flush)(void);

    /*
     * Translation, under the registry lock: start loading what expected_pred and instrument
     * will probe; the predecessor the block is to expect (signal_entry: it starts a signal
     * handler), with in `second` one whose entries are counted inline too (0: none; NULL
     * entry: every block expects 0); then instrument the block.
     */
    void (*prefetch)(uint64_t start);
    uint64_t (*expected_pred)(uint64_t start, bool signal_entry, uint64_t *second);
    void (*instrument)(struct qemu_plugin_tb *tb, BlockRec *b);
    /* A block at a privilege level not recorded (option priv): "control was elsewhere". */
    void (*instrument_foreign)(struct qemu_plugin_tb *tb);
    void (*discon)(unsigned int cpu, enum qemu_plugin_discon_type type, uint64_t from_pc,
                   uint64_t to_pc);
    /* The guest installed a signal handler at `handler` (sigframe.h). */
    void (*signal_handler_installed)(uint64_t handler);

    /*
     * fork: lock and unlock the mode's state around it (cflow.c), and in the child, unlock it
     * instead and then forget every count (a child profiles only what it runs itself).
     */
    void (*fork_lock)(void);
    void (*fork_unlock)(void);
    void (*unlock_in_child)(void);
    void (*reset_counts)(void);

    /* A snapshot of running vCPUs: recording stands still between the two (writer.h). */
    void (*freeze)(void);
    void (*thaw)(void);

    /*
     * Under the registry lock (collect.c): merge every edge counted into `into`, keyed
     * HOT_KEY(kind, source id) -> destination address (edge_kind.h), set the mode's own meta
     * in `p`, and return each block record's entries (by registry index, g_free). live: vCPUs
     * may be running, frozen (freeze).
     */
    uint64_t *(*collect)(EdgeTable *into, CflowProfile *p, bool live);
    /*
     * At a user-mode exit (nothing records after it), around collect: free what only
     * translation and re-planning need (before), and the counts (after), so that their memory
     * serves the profile. NULL (both or neither): the mode, and then the registry (collect.c),
     * keep everything to the end.
     */
    void (*release_planning)(void);
    void (*release_counts)(void);

    /* The mode's part of the run's meta (writer.c), after profile_mode and vcpus. */
    void (*run_meta)(CflowProfile *p);
} CflowModeOps;

/* The mode option `mode` names: looked up once, at install (mode.c). */
const CflowModeOps *cflow_mode_of(CflowMode mode);

#endif
