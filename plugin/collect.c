/* collect.c: per-vCPU tables + registry -> one CflowProfile (see collect.h). */
#include "collect.h"

#include <inttypes.h>
#include <malloc.h>
#include <stddef.h>
#include <string.h>

#include "disas.h"
#include "edge_kind.h"
#include "edge_table.h"
#include "radix_sort.h"
#include "registry.h"
#include "symbols.h"

/* Freed memory inside the heap goes back to the kernel (glibc keeps it otherwise). */
static void give_back_free_memory(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

/* Sort keys copied out of the records: the sort then touches one array, not the registry. */
typedef struct {
    uint64_t addr;
    uint64_t id;
} InsnKey;

/*
 * By address, then generation. Keys come in id order, and the generations of one address are
 * numbered in the order their records were made, so a stable sort by address is enough.
 */
static void sort_insn_keys(GArray *keys)
{
    radix_sort_by(keys->data, keys->len, sizeof(InsnKey), offsetof(InsnKey, addr), 8);
}

/*
 * The merged table is in hash order, so each edge's source record and its profile index are
 * cache misses (most of the edge loop's time on cc1's 300,000 edges): ask for both some
 * slots ahead (the table is at most 3/4 full: 32 slots are a dozen edges or more).
 */
#define EDGE_PREFETCH_AHEAD 32
static inline void prefetch_source(const EdgeTable *t, const EdgeSlot *ahead,
                                   const uint32_t *index_of)
{
    if (ahead <= t->slots + t->mask && ahead->k1) {
        uint64_t id = ahead->k1 & HOT_ID_MASK;
        const InsnRec *r = registry_insn_by_id(id);
        if (r) {
            __builtin_prefetch(r);
            __builtin_prefetch(&index_of[id]);
        }
    }
}

/* Edges by source (profile index), then destination, then kind: stable output. */
static void sort_edges(GArray *edges)
{
    G_STATIC_ASSERT(CFLOW_EDGE_KIND_COUNT <= 256); /* the kind's low byte is all of it */
    radix_sort_by(edges->data, edges->len, sizeof(CflowEdge), offsetof(CflowEdge, kind), 1);
    radix_sort_by(edges->data, edges->len, sizeof(CflowEdge), offsetof(CflowEdge, to), 8);
    radix_sort_by(edges->data, edges->len, sizeof(CflowEdge), offsetof(CflowEdge, from), 4);
}

static CflowEdgeKind public_kind(int hot_kind, uint64_t from_id, uint64_t to)
{
    const InsnRec *from = registry_insn_by_id(from_id);
    switch (hot_kind) {
    case HOT_EARLY:
        return CFLOW_EDGE_EARLY_EXIT;
    case HOT_EXCEPTION:
        return CFLOW_EDGE_EXCEPTION;
    case HOT_INTERRUPT:
        return CFLOW_EDGE_INTERRUPT;
    case HOT_HOSTCALL:
        return CFLOW_EDGE_HOSTCALL;
    default:
        if (to == from->addr + from->size) {
            return CFLOW_EDGE_FALLTHROUGH;
        }
        DisasTransfer t;
        disas_transfer(from->addr, registry_insn_bytes(from_id), from->size, &t);
        /* control left an instruction that cannot transfer it: that instruction faulted */
        if (to != from->addr && !t.may_transfer) {
            return CFLOW_EDGE_EARLY_EXIT;
        }
        /* nor can a direct branch or call go anywhere but its target: it faulted (a call
         * pushing onto an unmapped stack). With physical identity (system mode) the target may
         * be named by another alias of the same code: not checked. */
        if (!registry_physical() && t.has_target && to != t.target) {
            return CFLOW_EDGE_EARLY_EXIT;
        }
        return CFLOW_EDGE_BRANCH;
    }
}

/*
 * QEMU re-enters an instruction that cannot transfer control, at its own address, when it runs
 * it in pieces or a second time alone: x86 `rep` string instructions every 65,536 iterations, a
 * misaligned atomic in a process that has had a second thread (run again by itself). The guest
 * did not move control: such a self-entry is a continuation of the same execution, not an edge.
 */
static bool is_continuation(int hot_kind, uint64_t from_id, uint64_t to)
{
    const InsnRec *from = registry_insn_by_id(from_id);
    if (hot_kind == HOT_EARLY) {
        /*
         * A block left at X with no fault reported, then X again, or (device I/O mid-block,
         * system mode: X run again in a block QEMU does not instrument) the instruction after
         * X: QEMU running X apart. A fault would have gone to a handler (or been reported).
         */
        return to == from->addr || to == from->addr + from->size;
    }
    /* a completed X followed by X itself: a jump to itself, unless X cannot transfer (rep) */
    if (hot_kind != HOT_NORMAL || to != from->addr) {
        return false;
    }
    DisasTransfer t;
    disas_transfer(from->addr, registry_insn_bytes(from_id), from->size, &t);
    return !t.may_transfer;
}

/* One instruction QEMU re-entered: {address, profile insn index, next address, counts}. */
typedef struct {
    uint64_t addr, from_index, next;
    uint64_t normal; /* re-entered after completing a piece (rep) */
    uint64_t early;  /* abandoned mid-block and run again alone (atomics) */
    uint64_t split;  /* abandoned mid-block, run again uninstrumented (device I/O) */
} Continuation;

/* Takes `n` entries off the blocks starting at `addr`, one-instruction blocks first if asked. */
static void uncount_blocks(CflowProfile *p, uint64_t addr, uint64_t n, bool single_first)
{
    for (int pass = single_first ? 0 : 1; pass < 2 && n; pass++) {
        for (guint i = 0; i < p->blocks->len && n; i++) {
            CflowBlock *b = cflow_profile_block(p, i);
            if (b->addr != addr || (pass == 0 && b->n_insns != 1)) {
                continue;
            }
            uint64_t take = MIN(b->count, n);
            b->count -= take;
            n -= take;
        }
    }
}

/*
 * The blocks QEMU made for those re-entries start at the instruction and were counted once per
 * re-entry: take the re-entries back off them, one-instruction blocks (what QEMU makes for
 * them) first. An instruction run again alone after its block was abandoned is followed by a
 * fall-through into a block that starts right after it, which the guest never saw either: the
 * abandoned block, counted once, stands for the whole execution. Blocks and edges left with
 * no count are dropped.
 */
static void uncount_continuations(CflowProfile *p, GHashTable *continuations)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, continuations);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        Continuation *c = v;
        uncount_blocks(p, c->addr, c->normal + c->early, true);
        uncount_blocks(p, c->next, c->split, false);
        if (!c->early) {
            continue;
        }
        for (guint i = 0; i < p->edges->len; i++) {
            CflowEdge *e = &g_array_index(p->edges, CflowEdge, i);
            if (e->from == c->from_index && e->to == c->next &&
                e->kind == CFLOW_EDGE_FALLTHROUGH) {
                uint64_t take = MIN(e->count, c->early);
                e->count -= take;
                uncount_blocks(p, c->next, take, false);
            }
        }
    }
    for (guint i = p->blocks->len; i-- > 0;) {
        if (cflow_profile_block(p, i)->count == 0) {
            g_array_remove_index(p->blocks, i);
        }
    }
    for (guint i = p->edges->len; i-- > 0;) {
        if (g_array_index(p->edges, CflowEdge, i).count == 0) {
            g_array_remove_index(p->edges, i);
        }
    }
}

/*
 * Symbol names as pool offsets, by the name's pointer: the registry and the ELF lookup hand
 * out one stable string per symbol, and interning the text again for each instruction (a hash
 * over a C++ name, then a compare) was most of the time spent copying cc1's 520,000.
 */
typedef struct {
    GHashTable *offsets; /* name pointer -> offset + 1 */
    const char *last;    /* consecutive ids are mostly one function's */
    uint32_t last_offset;
} SymbolOffsets;

static uint32_t symbol_offset(SymbolOffsets *c, CflowProfile *p, const char *name)
{
    if (!name) {
        return CFLOW_NO_STRING;
    }
    if (name != c->last) {
        uintptr_t known = GPOINTER_TO_SIZE(g_hash_table_lookup(c->offsets, name));
        c->last_offset = known ? (uint32_t)(known - 1) : cflow_profile_intern(p, name);
        if (!known) {
            g_hash_table_insert(c->offsets, (gpointer)name,
                                GSIZE_TO_POINTER((gsize)c->last_offset + 1));
        }
        c->last = name;
    }
    return c->last_offset;
}

/* What building one profile carries from step to step (collect_profile). */
typedef struct {
    CflowProfile *p;
    bool final;           /* the last profile of a user-mode run: no translation or counting
                           * follows (collect.h), records are freed as they are copied */
    EdgeTable merged;     /* HOT_KEY(kind, source id) -> destination: every edge counted */
    uint64_t *entries;    /* per block record (registry index): its entries */
    uint64_t n_ids;
    uint32_t *index_of;   /* id -> profile index + 1 (first: 1 if wanted) */
    guint n_insns;        /* instructions that go in */
    GHashTable *continuations; /* address -> Continuation: see is_continuation */
    uint64_t thread_entries, sourceless, foreign;
} Collection;

/* The mode's counts, merged (mode.h); at a final exit, freeing around it what it allows. */
static void merge_mode_counts(Collection *c, const CflowModeOps *mode, bool live)
{
    if (c->final) {
        /*
         * The final profile of a user-mode run: what only translation and re-planning
         * needed goes before the merge, the counters after it, and their memory serves the
         * profile (this exit is where a short run's memory peaks).
         */
        mode->release_planning();
        registry_release_indexes();
        give_back_free_memory();
    }
    c->entries = mode->collect(&c->merged, c->p, live);
    if (c->final) {
        mode->release_counts();
        give_back_free_memory();
    }
}

/*
 * Which instructions go in: every edge source and every instruction of an entered block,
 * numbered in address order. Profile indices are known before anything is added: edges and
 * blocks go in first, the instructions last (add_insns).
 */
static void number_insns(Collection *c)
{
    c->n_ids = registry_insn_count();
    c->index_of = g_new0(uint32_t, c->n_ids + 1);
    guint n_wanted = 0;
#define WANT(want_id)                        \
    do {                                     \
        uint64_t id_ = (want_id);            \
        if (id_ && !c->index_of[id_]) {      \
            c->index_of[id_] = 1;            \
            n_wanted++;                      \
        }                                    \
    } while (0)
    EDGE_TABLE_FOREACH(&c->merged, s) {
        WANT(s->k1 & HOT_ID_MASK);
    }
    for (guint i = 0; i < registry_block_count(); i++) {
        BlockRec *b = registry_block_by_index(i);
        if (c->entries[i]) {
            for (uint32_t j = 0; j < b->n_insns; j++) {
                WANT(b->ids[j]);
            }
        }
    }
#undef WANT
    GArray *wanted = g_array_sized_new(FALSE, FALSE, sizeof(InsnKey), n_wanted);
    g_array_set_size(wanted, n_wanted);
    InsnKey *k = (InsnKey *)wanted->data; /* filled in place: an append per key cost more */
    for (uint64_t id = 1; id <= c->n_ids; id++) {
        if (c->index_of[id]) {
            *k++ = (InsnKey){.addr = registry_insn_by_id(id)->addr, .id = id};
        }
    }
    sort_insn_keys(wanted);
    c->n_insns = wanted->len;
    for (guint i = 0; i < c->n_insns; i++) {
        c->index_of[g_array_index(wanted, InsnKey, i).id] = i + 1;
    }
    g_array_free(wanted, TRUE);
}

/* A self-entry QEMU made (is_continuation), counted for uncount_continuations. */
static void add_continuation(Collection *c, int kind, uint64_t id, uint64_t to, uint64_t count)
{
    const InsnRec *from = registry_insn_by_id(id);
    Continuation *k = g_hash_table_lookup(c->continuations, &from->addr);
    if (!k) {
        k = g_new0(Continuation, 1);
        *k = (Continuation){.addr = from->addr, .from_index = c->index_of[id] - 1,
                            .next = from->addr + from->size};
        g_hash_table_insert(c->continuations, &k->addr, k);
    }
    *(to != from->addr ? &k->split : kind == HOT_EARLY ? &k->early : &k->normal) += count;
}

/* Every merged edge into the profile, but entries with no source and continuations. */
static void add_edges(Collection *c)
{
    EDGE_TABLE_FOREACH(&c->merged, s) {
        int kind = (int)(s->k1 >> HOT_KIND_SHIFT);
        uint64_t id = s->k1 & HOT_ID_MASK;
        prefetch_source(&c->merged, s + EDGE_PREFETCH_AHEAD, c->index_of);
        if (kind == HOT_ENTRY) {
            c->thread_entries += s->count;
            continue;
        }
        if (kind == HOT_FOREIGN) {
            c->foreign += s->count;
            continue;
        }
        if (!id) {
            c->sourceless += s->count;
            continue;
        }
        if (is_continuation(kind, id, s->k2)) {
            add_continuation(c, kind, id, s->k2, s->count);
            continue;
        }
        cflow_profile_add_edge(c->p, c->index_of[id] - 1, public_kind(kind, id, s->k2), s->k2,
                               s->count);
    }
}

/*
 * Every entered block into the profile. Blocks with the same instructions are one block of
 * the profile, whatever they expected: open addressing over the profile's blocks by content
 * (slot: the record's index + 1).
 */
static void add_blocks(Collection *c)
{
    guint *block_of = g_new(guint, registry_block_count() + 1); /* record -> profile block */
    guint mask = 1;
    while (mask < 2 * registry_block_count()) {
        mask = mask * 2 + 1;
    }
    guint *by_content = g_new0(guint, (gsize)mask + 1);
    GArray *idx = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    for (guint i = 0; i < registry_block_count(); i++) {
        uint64_t n = c->entries[i];
        if (!n) {
            continue;
        }
        BlockRec *b = registry_block_by_index(i);
        guint j = registry_block_content_hash(b) & mask;
        while (by_content[j] &&
               !registry_block_content_equal(registry_block_by_index(by_content[j] - 1), b)) {
            j = (j + 1) & mask;
        }
        if (by_content[j]) {
            cflow_profile_block(c->p, block_of[by_content[j] - 1])->count += n;
            continue;
        }
        g_array_set_size(idx, b->n_insns);
        for (uint32_t k = 0; k < b->n_insns; k++) {
            g_array_index(idx, uint32_t, k) = c->index_of[b->ids[k]] - 1;
        }
        block_of[i] = c->p->blocks->len;
        cflow_profile_add_block(c->p, b->start, n, (uint32_t *)idx->data, b->n_insns);
        by_content[j] = i + 1;
    }
    g_array_free(idx, TRUE);
    g_free(by_content);
    g_free(block_of);
}

/*
 * The instructions last, when the merged table (and in a final profile the counters and
 * blocks) are gone, copied in id order to their places: in a final profile each page of
 * records is freed once copied, so the records and their copies are never all in memory
 * at once (a short run's peak).
 */
static void add_insns(Collection *c)
{
    CflowProfile *p = c->p;
    cflow_profile_reserve(p, c->n_insns, 0, 0, 0);
    cflow_profile_add_insns(p, c->n_insns);
    SymbolOffsets symbols = {.offsets = g_hash_table_new(g_direct_hash, g_direct_equal)};
    for (uint64_t id = 1; id <= c->n_ids; id++) {
        if (c->final) {
            registry_release_insns_below(id);
        }
        if (!c->index_of[id]) {
            continue;
        }
        const InsnRec *r = registry_insn_by_id(id);
        const char *sym = registry_insn_symbol(id);
        if (!sym) {
            sym = symbols_lookup(r->addr);
        }
        /* deferred disassembly (disas.h): the bytes only, text made when a reader asks */
        uint32_t at = c->index_of[id] - 1;
        cflow_profile_put_insn(p, at, r->addr, r->size, r->generation, registry_insn_disas(id),
                               NULL);
        cflow_profile_insn(p, at)->symbol = symbol_offset(&symbols, p, sym);
        cflow_profile_set_insn_bytes(p, at, registry_insn_bytes(id), r->size);
        cflow_profile_set_insn_priv(p, at, (CflowPriv)r->priv);
    }
    g_hash_table_destroy(symbols.offsets);
}

/* What did not become an edge, and how code is identified. */
static void add_collection_meta(const Collection *c)
{
    cflow_profile_set_meta_u64(c->p, "thread_entries", c->thread_entries);
    if (c->foreign) {
        cflow_profile_set_meta_u64(c->p, "entries_from_unrecorded", c->foreign);
    }
    cflow_profile_set_meta(c->p, "code_identity", registry_physical() ? "physical" : "virtual");
    if (c->sourceless) {
        cflow_profile_set_meta_u64(c->p, "sourceless_discontinuities", c->sourceless);
    }
}

CflowProfile *collect_profile(const CflowModeOps *mode, bool live)
{
    /* a mode that frees nothing keeps the registry whole too (mode.h) */
    Collection c = {.p = cflow_profile_new(), .final = !live && mode->release_counts};
    edge_table_init_private(&c.merged, 1u << 12);
    registry_lock();
    merge_mode_counts(&c, mode, live);
    number_insns(&c);
    guint entered = 0, entered_insns = 0;
    for (guint i = 0; i < registry_block_count(); i++) {
        if (c.entries[i]) {
            entered++;
            entered_insns += registry_block_by_index(i)->n_insns;
        }
    }
    cflow_profile_reserve(c.p, 0, (guint)c.merged.used, entered, entered_insns);
    c.continuations = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
    add_edges(&c);
    edge_table_destroy(&c.merged);
    if (c.final) {
        give_back_free_memory();
    }
    sort_edges(c.p->edges); /* stable output: by source address, then destination */
    add_blocks(&c);
    if (c.final) {
        registry_release_blocks();
        give_back_free_memory();
    }
    add_insns(&c);
    registry_unlock();
    uncount_continuations(c.p, c.continuations);
    g_hash_table_destroy(c.continuations);
    add_collection_meta(&c);
    g_free(c.entries);
    g_free(c.index_of);
    return c.p;
}
