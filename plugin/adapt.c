/*
 * adapt.c: fast mode's changes of plan while the guest runs (hotpath.h): deciding when to
 * re-plan, asking QEMU for the reset, choosing every block's expected predecessors (and the
 * hot blocks) from the counts so far, and retiring the per-block counters when too many vCPU
 * indices would make them outgrow their budget. Rare, and never on the hot path.
 */
#include "hotpath_internal.h"

#include "tsan.h"

#define MAX_ADAPTATIONS 12
/*
 * The per-block counters' budget (option counter_mib, 32 MiB by default). vCPU indices climb
 * without bound in a program that keeps creating threads (a new thread gets the highest live
 * index + 1), and the counters cost (highest index) x (blocks) x 8 bytes. Before the next
 * growth would take them past this, the plugin retires them (one reset: counts folded into
 * plain totals, scoreboards freed) and from then on counts every block entry in the helper,
 * into the vCPU's own table: exact still, slower per entry, but bounded by what the live
 * threads recorded.
 */
static uint64_t counter_budget; /* bytes; option counter_mib */
static qemu_plugin_id_t plugin_id;
static int retire_requested;
static unsigned int adaptations;   /* completed */
static int adapt_in_flight;        /* a reset was requested and has not completed */
static void (*reregister_callbacks)(void);

uint64_t adapt_after;
bool counters_retired;
U64Map dominant;
U64Map hot_starts;
EdgeTable previous_seen;

static void on_reset_done(qemu_plugin_id_t id);

void adapt_init(qemu_plugin_id_t id, uint64_t counter_mib, void (*reregister)(void))
{
    plugin_id = id;
    counter_budget = counter_mib << 20;
    reregister_callbacks = reregister;
    edge_table_init_private(&previous_seen, 2); /* read at re-plans only */
}

/* Rare: ask QEMU to stop the vCPUs, flush, and let us re-plan or retire (see hotpath.h). */
void request_reset(void)
{
    int expected = 0;
    if (__atomic_compare_exchange_n(&adapt_in_flight, &expected, 1, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED)) {
        qemu_plugin_reset(plugin_id, on_reset_done);
    }
}

/*
 * QEMU grows scoreboards to the next power of two (from 16) above the highest vCPU index.
 * Would counters for `indices` vCPU indices, `slots` blocks, exceed the budget?
 */
static bool counters_over_budget(uint64_t indices, uint64_t slots)
{
    uint64_t cap = 16;
    while (cap < indices) {
        cap *= 2;
    }
    return cap * slots * sizeof(uint64_t) > counter_budget;
}

void retire_counters_if_over(uint64_t indices, uint64_t slots)
{
    if (!counters_retired && counters_over_budget(indices, slots)) {
        __atomic_store_n(&retire_requested, 1, __ATOMIC_RELEASE);

        request_reset();
    }
}

/*
 * Rare (a few times per run, at helper-call counts that double): is re-planning worth it now?
 * A re-plan flushes every translation, and what runs again is translated again, so it waits
 * for a payback factor (adapt_after / 4096: 256 by default) of helper calls per block
 * translated: over the whole run so far, or since the previous check, so that a program done
 * with its start-up and settled in a loop (python3 running a script after translating 35,000
 * blocks) is re-planned for that loop, where only the loop's blocks will be translated again;
 * a program still busy translating is left alone. Small adapt_after values (the tests)
 * re-plan right away.
 */
void consider_adaptation(VcpuState *v)
{
    uint64_t blocks = __atomic_load_n(&translated_blocks, __ATOMIC_RELAXED);
    if (adaptations >= MAX_ADAPTATIONS) {
        v->next_adapt_check = 0;
        return;
    }
    uint64_t recent_calls = v->helper_calls - v->calls_at_check;
    uint64_t recent_blocks = blocks - v->blocks_at_check;
    v->calls_at_check = v->helper_calls;
    v->blocks_at_check = blocks;
    v->next_adapt_check = v->helper_calls * 2;
    uint64_t payback = adapt_after / 4096;
    if (v->helper_calls >= blocks * payback || recent_calls >= recent_blocks * payback) {
        request_reset();
    }
}

unsigned int hotpath_adaptations(void)
{
    return adaptations;
}

/* Its first block must read the signal frame (on_signal_entry): translate it again. */
void hotpath_signal_handler_installed(uint64_t handler)
{
    registry_lock();
    bool translated = registry_has_insn_at(handler);
    registry_unlock();
    if (translated) {
        request_reset();
    }
}

/*
 * With every vCPU stopped and no translation left: fold the per-block counters into plain
 * totals and free their scoreboards (counters.h); blocks translated from now on count every
 * entry in the helper (hotpath_expected_pred says EXPECT_EVERY_ENTRY).
 */
static void retire_counters(void)
{
    counters_retire(&entry_counters);
    counters_retire(&second_counters);
    pthread_mutex_lock(&vcpus_lock);
    for (unsigned int i = 0; i < vcpu_limit; i++) {
        VcpuState *v = vcpu_of(i);
        if (v) {
            v->next_adapt_check = 0;
        }
    }
    counters_retired = true;
    pthread_mutex_unlock(&vcpus_lock);
}

/*
 * A block's most frequent predecessor is worth remembering when it came at least this often
 * since the previous re-plan: a block entered a couple of times keeps the first-entry or
 * fall-through guess, and the map of choices stays small (memory is a start-up's constraint).
 */
#define MIN_DOMINANT 4
/* Edges counted fewer times than this are not kept as the next re-plan's baseline. */
#define MIN_BASELINE 64

/*
 * With every vCPU stopped and all translations flushed: mark the hot blocks (lean blocks:
 * system mode only) and pick each block's most frequent recent predecessor (from the same
 * merge the exit uses).
 */
static void replan(void)
{
    EdgeTable seen;
    edge_table_init_private(&seen, 1u << 14);
    HotpathTotals totals;
    registry_lock();
    hotpath_merge_all(&seen, &totals, false);
    uint64_t hot_min = MAX(adapt_after / 1024, 1);
    for (guint i = 0; !sparse && i < registry_block_count(); i++) {
        BlockRec *b = registry_block_by_index(i);
        if (totals.block_entries[i] >= hot_min) {
            *u64map_slot(&hot_starts, b->start) = 1;
        }
    }
    registry_unlock();
    g_free(totals.block_entries);
    /*
     * Choose by what happened since the previous re-plan, not since the start: programs
     * change phase (bzip2 sorts, then codes), and the recent phase is the one that goes on.
     * A block not entered since keeps the predecessor it had.
     */
    /*
     * by block start: the best and (where QEMU can count it inline) the second best recent
     * count (saturated to 32 bits) << 32 | its source's id
     */
    U64Map best = {0}, runner_up = {0};
    pthread_mutex_lock(&vcpus_lock);
    bool seconds = seconds_allowed && live_vcpus <= 1;
    pthread_mutex_unlock(&vcpus_lock);
    EDGE_TABLE_FOREACH(&seen, s) {
        if ((s->k1 >> HOT_KIND_SHIFT) != HOT_NORMAL) {
            continue;
        }
        uint64_t recent = MIN(s->count - edge_table_get(&previous_seen, s->k1, s->k2), UINT32_MAX);
        if (recent < MIN_DOMINANT) {
            continue;
        }
        uint64_t candidate = recent << 32 | (InsnId)(s->k1 & HOT_ID_MASK);
        uint64_t *cur = u64map_slot(&best, s->k2);
        if (recent > *cur >> 32) {
            if (seconds && *cur) {
                *u64map_slot(&runner_up, s->k2) = *cur;
            }
            *cur = candidate;
        } else if (seconds) {
            uint64_t *next = u64map_slot(&runner_up, s->k2);
            if (recent > *next >> 32) {
                *next = candidate;
            }
        }
    }
    registry_lock();
    U64MAP_FOREACH(&best, e) {
        *u64map_slot(&dominant, e->key) = (InsnId)e->val;
        /* a block entered from one predecessor only since keeps no second one */
        uint64_t next = u64map_get(&runner_up, e->key);
        if (next || u64map_get(&second_choice, e->key)) {
            *u64map_slot(&second_choice, e->key) = (InsnId)next;
        }
    }
    registry_unlock();
    u64map_free(&best);
    u64map_free(&runner_up);
    /*
     * The baseline for the next re-plan's "recent" counts: edges counted fewer than
     * MIN_BASELINE times are left out (most of a start-up's edges), so theirs look at most
     * that much more recent than they are, which changes no choice that matters.
     */
    edge_table_destroy(&previous_seen);
    edge_table_init_private(&previous_seen, 2);
    EDGE_TABLE_FOREACH(&seen, s) {
        if ((s->k1 >> HOT_KIND_SHIFT) == HOT_NORMAL && s->count >= MIN_BASELINE) {
            edge_table_add(&previous_seen, s->k1, s->k2, s->count);
        }
    }
    edge_table_destroy(&seen);
    adaptations++;
}

/* QEMU calls this with every vCPU stopped and all translations flushed; then blocks are
 * retranslated under the new plan once the callbacks are registered again. */
static void on_reset_done(qemu_plugin_id_t id)
{
    TSAN_ORDERED_ENTER();
    if (__atomic_exchange_n(&retire_requested, 0, __ATOMIC_ACQ_REL)) {
        if (!counters_retired) {
            registry_lock(); /* translation creates chunks under it */
            retire_counters();
            registry_unlock();
        }
    } else {
        replan();
    }
    reregister_callbacks();
    __atomic_store_n(&adapt_in_flight, 0, __ATOMIC_RELEASE);
    TSAN_ORDERED_LEAVE();
}
