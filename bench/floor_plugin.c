/*
 * A yardstick, not a profiler: what QEMU 10.2's plugin API costs before any bookkeeping, so
 * that `make bench BENCH_ARGS=--floor` can show how much of cflow's overhead is ours.
 *
 *   mode=empty   a translation callback that instruments nothing (QEMU then carries a memory
 *                callback op and a value store for every guest load and store regardless)
 *   mode=count   one inline per-vCPU add per block: the cheapest way to count anything
 *   mode=edges   what cflow's fast path needs at the least per block, without its registry
 *                and without its helper calls: the add, a store of a constant into a per-vCPU
 *                cursor before the last instruction, and a conditional call at entry that
 *                compares a per-vCPU value with a constant; the value never differs, so the
 *                call is generated and never made
 *   mode=calls   the same with a call that fires at every block entry: what the call itself
 *                costs (not timed by --floor: quoted in docs/design.md from paired runs)
 *   mode=check   the same as edges without the add: the check and the store alone, what a design that
 *                derived every count from flow conservation would still need per block
 *
 * Nothing is recorded or written; the counters are only there to be incremented. With
 * report=on the calls made are counted and printed at exit (for the test that checks the modes).
 */
#include <qemu-plugin.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

enum floor_mode { FLOOR_EMPTY, FLOOR_COUNT, FLOOR_EDGES, FLOOR_CHECK, FLOOR_CALLS };

/*
 * A cache line per vCPU, as cflow's cursors and counters have: vCPUs' values side by side in
 * one line would make every add and store of one thread evict the line from the others.
 */
typedef struct {
    uint64_t cursor;
    uint64_t never_set; /* stays 0: compared with 0 the call never fires, with 1 always */
    uint64_t pad[6];
} CursorLine;

typedef struct {
    uint64_t count;
    uint64_t pad[7];
} CounterLine;

static enum floor_mode mode = FLOOR_EMPTY;
static struct qemu_plugin_scoreboard *counters;
static struct qemu_plugin_scoreboard *cursors;
static qemu_plugin_u64 counter;
static qemu_plugin_u64 cursor;
static qemu_plugin_u64 never_set;
static uint64_t next_value = 1;
static bool report;
static uint64_t calls_made;

static void on_mismatch(unsigned int vcpu_index, void *udata)
{
    (void)vcpu_index;
    (void)udata;
    if (report) {
        __atomic_fetch_add(&calls_made, 1, __ATOMIC_RELAXED);
    }
}

static void report_calls(qemu_plugin_id_t id, void *udata)
{
    (void)id;
    (void)udata;
    fprintf(stderr, "floor: %" PRIu64 " calls\n", __atomic_load_n(&calls_made, __ATOMIC_RELAXED));
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    if (mode == FLOOR_EMPTY) {
        return;
    }
    if (mode != FLOOR_CHECK) {
        qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_ADD_U64, counter,
                                                          1);
    }
    if (mode == FLOOR_COUNT) {
        return;
    }
    /* A distinct constant per block, as cflow stores (a race would only change a constant). */
    uint64_t value = next_value++;
    qemu_plugin_register_vcpu_tb_exec_cond_cb(tb, on_mismatch, QEMU_PLUGIN_CB_NO_REGS,
                                              QEMU_PLUGIN_COND_NE, never_set,
                                              mode == FLOOR_CALLS ? 1 : 0, NULL);
    size_t n = qemu_plugin_tb_n_insns(tb);
    struct qemu_plugin_insn *last = qemu_plugin_tb_get_insn(tb, n - 1);
    qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(last, QEMU_PLUGIN_INLINE_STORE_U64,
                                                        cursor, value);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                           int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "mode=empty") == 0) {
            mode = FLOOR_EMPTY;
        } else if (strcmp(argv[i], "mode=count") == 0) {
            mode = FLOOR_COUNT;
        } else if (strcmp(argv[i], "mode=edges") == 0) {
            mode = FLOOR_EDGES;
        } else if (strcmp(argv[i], "mode=check") == 0) {
            mode = FLOOR_CHECK;
        } else if (strcmp(argv[i], "mode=calls") == 0) {
            mode = FLOOR_CALLS;
        } else if (strcmp(argv[i], "report=on") == 0) {
            report = true;
        } else {
            fprintf(stderr, "floor_plugin: unknown option '%s' (mode=empty|count|edges|check|calls, report=on)\n",
                    argv[i]);
            return -1;
        }
    }
    counters = qemu_plugin_scoreboard_new(sizeof(CounterLine));
    cursors = qemu_plugin_scoreboard_new(sizeof(CursorLine));
    counter = qemu_plugin_scoreboard_u64_in_struct(counters, CounterLine, count);
    cursor = qemu_plugin_scoreboard_u64_in_struct(cursors, CursorLine, cursor);
    never_set = qemu_plugin_scoreboard_u64_in_struct(cursors, CursorLine, never_set);
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    if (report) {
        qemu_plugin_register_atexit_cb(id, report_calls, NULL);
    }
    return 0;
}
