/*
 * hotpath_merge.c: fast mode's counts turned into edges and block entries (hotpath.h): the
 * vCPUs' edge tables, the pending discontinuities, and every block's entries from its expected
 * predecessors derived by subtraction; for a profile (with the meta that says how the inline
 * path carried the run) and for a re-plan alike; and what is freed at a user-mode exit.
 */
#include "hotpath_internal.h"

static bool released; /* hotpath_release_counts: nothing merges after it */

static void merge_table(EdgeTable *into, const EdgeTable *t, uint64_t *helper_calls)
{
    EDGE_TABLE_FOREACH(t, s) {
        const BlockRec *b = registry_block_by_index((guint)s->k2);
        edge_table_add(into, s->k1, b->start, s->count);
        helper_calls[s->k2] += s->count;
    }
}

void hotpath_merge_all(EdgeTable *into, HotpathTotals *totals, bool live)
{
    g_assert(!released);
    *totals = (HotpathTotals){0};
    guint n_blocks = registry_block_count();
    uint64_t *helper_calls = g_new0(uint64_t, n_blocks);
    pthread_mutex_lock(&vcpus_lock);
    /* at most every recorded key and one expected-entry key per block: grown once, not by steps */
    uint64_t keys = retired_edges.used + n_blocks;
    for (unsigned int cpu = 0; cpu < vcpu_limit; cpu++) {
        VcpuState *v = vcpu_of(cpu);
        keys += v ? v->edges.used : 0;
    }
    edge_table_reserve(into, keys);
    merge_table(into, &retired_edges, helper_calls);
    totals->hot_allocs = retired_hot_allocs;
    for (unsigned int cpu = 0; cpu < vcpu_limit; cpu++) {
        VcpuState *v = vcpu_of(cpu);
        if (v) {
            merge_table(into, &v->edges, helper_calls);
            totals->hot_allocs += v->edges.hot_allocs;
        }
    }
    pthread_mutex_unlock(&vcpus_lock);
    /*
     * A discontinuity that no block followed: at exit, the guest left through it; in a live
     * snapshot the next block's entry is still to come and will carry it.
     */
    unsigned int indices = live ? 0 : qemu_plugin_num_vcpus();
    for (unsigned int cpu = 0; cpu < indices; cpu++) {
        const Cursor *c = cursor_of(cpu);
        if (c->pending) {
            edge_table_add(into, placed(c->pending, c->pending_from), c->pending_to, 1);
        }
    }
    /*
     * every entry the helper did not see came from the expected predecessor (hotpath.h), or,
     * where the block counts its second expected predecessor inline, from that one
     */
    totals->block_entries = g_new0(uint64_t, n_blocks);
    for (guint i = 0; i < n_blocks; i++) {
        BlockRec *b = registry_block_by_index(i);
        uint64_t counted = counters_sum(&entry_counters, b->slot), helped = helper_calls[i];
        /* read after the entries: a running vCPU counts an entry from the second there first */
        uint64_t seconds = b->slot2 ? counters_sum(&second_counters, b->slot2 - 1) : 0;
        uint64_t explained = helped + seconds;
        bool every = b->expected == EXPECT_EVERY_ENTRY;
        /* a snapshot of running vCPUs counts an entry seen but not yet counted as an entry */
        totals->block_entries[i] = every ? helped : live && explained > counted ? explained
                                                                                : counted;
        totals->entries += totals->block_entries[i];
        totals->helper_calls += helped;
        totals->second_entries += seconds;
        if (every) {
            continue;
        }
        if (seconds) {
            edge_table_add(into, HOT_KEY(HOT_NORMAL, b->second), b->start, seconds);
        }
        if (explained > counted) {
            *(live ? &totals->in_flight : &totals->inconsistent) += explained - counted;
        } else if (counted > explained) {
            edge_table_add(into, HOT_KEY(b->expected ? HOT_NORMAL : HOT_ENTRY, b->expected),
                           b->start, counted - explained);
        }
    }
    g_free(helper_calls);
}

void hotpath_release_planning(void)
{
    edge_table_destroy(&previous_seen);
    u64map_free(&dominant);
    u64map_free(&second_choice);
    u64map_free(&hot_starts);
}

void hotpath_release_counts(void)
{
    pthread_mutex_lock(&vcpus_lock);
    for (unsigned int cpu = 0; cpu < vcpu_limit; cpu++) {
        VcpuState *v = vcpu_of(cpu);
        if (v) {
            edge_table_destroy(&v->edges);
        }
    }
    edge_table_destroy(&retired_edges);
    released = true;
    pthread_mutex_unlock(&vcpus_lock);
    counters_free(&entry_counters);
    counters_free(&second_counters);
}

/*
 * Everything counted, plus how the inline path carried it (the benchmark reports it).
 * Returns the per-block entry counts (g_free).
 */
uint64_t *hotpath_collect(EdgeTable *merged, CflowProfile *p, bool live)
{
    cflow_profile_set_meta_u64(p, "adaptations", hotpath_adaptations());
    cflow_profile_set_meta_u64(p, "lean_stores_skipped", hotpath_skipped_stores());
    HotpathTotals t;
    hotpath_merge_all(merged, &t, live);
    if (t.in_flight) {
        cflow_profile_set_meta_u64(p, "in_flight_entries", t.in_flight);
    }
    cflow_profile_set_meta_u64(p, "hotpath_allocations", t.hot_allocs);
    if (hotpath_unplaced_exits()) {
        cflow_profile_set_meta_u64(p, "unplaced_early_exits", hotpath_unplaced_exits());
    }
    if (hotpath_unknown_vcpu_entries()) {
        cflow_profile_set_meta_u64(p, "entries_on_unknown_vcpus", hotpath_unknown_vcpu_entries());
    }
    if (counters_retired) {
        cflow_profile_set_meta(p, "counters_retired", "yes");
    }
    cflow_profile_set_meta_u64(p, "block_entries", t.entries);
    cflow_profile_set_meta_u64(p, "helper_calls", t.helper_calls);
    if (t.second_entries) {
        cflow_profile_set_meta_u64(p, "second_predecessor_entries", t.second_entries);
    }
    /* Must be 0; the tests check, and the profile would say so if ever it were not. */
    if (t.inconsistent) {
        cflow_profile_set_meta_u64(p, "inconsistent_entries", t.inconsistent);
    }
    return t.block_entries;
}

void hotpath_run_meta(CflowProfile *p)
{
    cflow_profile_set_meta_u64(p, "adapt_after", adapt_after);
}
