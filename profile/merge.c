/*
 * merge.c: the sum of profiles (see merge.h).
 *
 * The accumulator is itself a CflowProfile plus three open-addressing indexes of 32-bit record
 * numbers (instructions by address and generation, edges by source, kind and target, blocks by
 * address and instruction list). The indexes hold numbers rather than keys so that an edge
 * costs its 24-byte record and a few bytes of index, nothing more: merging 100 profiles of one
 * program costs what one of them does.
 */
#include "merge.h"

#include <inttypes.h>
#include <string.h>

G_DEFINE_QUARK(cflow-merge-error-quark, cflow_merge_error)

/* Meta keys that count something over the run: the merged value is the sum. */
static const char *const additive_keys[] = {
    "block_entries", "helper_calls",          "lean_stores_skipped", "hotpath_allocations",
    "thread_entries", "inconsistent_entries", "unattributed_entries", "adaptations",
    "vcpus",
};

typedef struct {
    uint32_t *slots; /* record number + 1, 0 = empty */
    size_t cap;      /* a power of two */
    size_t used;
} Index;

typedef struct {
    uint64_t addr;
    uint32_t generation;
} InsnKey;

typedef struct {
    uint32_t from;
    uint32_t kind;
    uint64_t to;
} EdgeKey;

typedef struct {
    uint64_t addr;
    const uint32_t *insns; /* accumulator instruction numbers */
    uint32_t n;
} BlockKey;

struct CflowMerge {
    CflowProfile *out;
    Index insns, edges, blocks;
    GHashTable *maps; /* "start-end offset path" lines of the union, owned keys */
    GHashTable *map_starts; /* "offset path" -> start, to catch another layout */
    unsigned inputs;
    uint64_t merged_profiles;
};

/* ------------------------------------------------------------------------------------------ */
/* Hashing: a 64-bit mix, good enough for addresses that differ in few low bits. */

static inline uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 29);
}

static uint64_t hash_insn_key(const InsnKey *k)
{
    return mix(mix(1, k->addr), k->generation);
}

static uint64_t hash_edge_key(const EdgeKey *k)
{
    return mix(mix(mix(2, k->from), k->kind), k->to);
}

static uint64_t hash_block_key(const BlockKey *k)
{
    uint64_t h = mix(mix(3, k->addr), k->n);
    for (uint32_t i = 0; i < k->n; i++) {
        h = mix(h, k->insns[i]);
    }
    return h;
}

static uint64_t hash_of_insn(const CflowMerge *m, uint32_t i)
{
    const CflowInsn *in = cflow_profile_insn(m->out, i);
    InsnKey k = {in->addr, in->generation};
    return hash_insn_key(&k);
}

static uint64_t hash_of_edge(const CflowMerge *m, uint32_t i)
{
    const CflowEdge *e = cflow_profile_edge(m->out, i);
    EdgeKey k = {e->from, e->kind, e->to};
    return hash_edge_key(&k);
}

static uint64_t hash_of_block(const CflowMerge *m, uint32_t i)
{
    const CflowBlock *b = cflow_profile_block(m->out, i);
    BlockKey k = {b->addr, &g_array_index(m->out->block_insns, uint32_t, b->first), b->n_insns};
    return hash_block_key(&k);
}

static bool insn_eq(const CflowMerge *m, uint32_t i, const void *key)
{
    const CflowInsn *in = cflow_profile_insn(m->out, i);
    const InsnKey *k = key;
    return in->addr == k->addr && in->generation == k->generation;
}

static bool edge_eq(const CflowMerge *m, uint32_t i, const void *key)
{
    const CflowEdge *e = cflow_profile_edge(m->out, i);
    const EdgeKey *k = key;
    return e->from == k->from && e->kind == k->kind && e->to == k->to;
}

static bool block_eq(const CflowMerge *m, uint32_t i, const void *key)
{
    const CflowBlock *b = cflow_profile_block(m->out, i);
    const BlockKey *k = key;
    return b->addr == k->addr && b->n_insns == k->n &&
           memcmp(&g_array_index(m->out->block_insns, uint32_t, b->first), k->insns,
                  k->n * sizeof(uint32_t)) == 0;
}

typedef uint64_t (*HashOf)(const CflowMerge *m, uint32_t i);
typedef bool (*KeyEq)(const CflowMerge *m, uint32_t i, const void *key);

static void index_grow(CflowMerge *m, Index *ix, HashOf hash_of)
{
    size_t cap = ix->cap ? ix->cap * 2 : 1024;
    uint32_t *slots = g_new0(uint32_t, cap);
    for (size_t s = 0; s < ix->cap; s++) {
        if (ix->slots[s]) {
            size_t j = hash_of(m, ix->slots[s] - 1) & (cap - 1);
            while (slots[j]) {
                j = (j + 1) & (cap - 1);
            }
            slots[j] = ix->slots[s];
        }
    }
    g_free(ix->slots);
    ix->slots = slots;
    ix->cap = cap;
}

/* The slot holding `key`, or the empty slot where it belongs (room is made first). */
static uint32_t *index_slot(CflowMerge *m, Index *ix, uint64_t hash, const void *key,
                            HashOf hash_of, KeyEq eq)
{
    if ((ix->used + 1) * 4 > ix->cap * 3) { /* keep the load under 3/4 */
        index_grow(m, ix, hash_of);
    }
    size_t j = hash & (ix->cap - 1);
    while (ix->slots[j] && !eq(m, ix->slots[j] - 1, key)) {
        j = (j + 1) & (ix->cap - 1);
    }
    return &ix->slots[j];
}

/* ------------------------------------------------------------------------------------------ */
/* Meta */

static bool is_additive(const char *key)
{
    for (size_t i = 0; i < G_N_ELEMENTS(additive_keys); i++) {
        if (strcmp(key, additive_keys[i]) == 0) {
            return true;
        }
    }
    return strcmp(key, "merged_profiles") == 0;
}

/* Each line "start-end offset path" of a maps value, split. */
static bool parse_map_line(const char *line, uint64_t *start, uint64_t *offset,
                           const char **path)
{
    char *end;
    *start = g_ascii_strtoull(line, &end, 16);
    if (*end != '-') {
        return false;
    }
    g_ascii_strtoull(end + 1, &end, 16);
    if (*end != ' ') {
        return false;
    }
    *offset = g_ascii_strtoull(end + 1, &end, 16);
    if (*end != ' ') {
        return false;
    }
    *path = end + 1;
    return true;
}

/* Does p map a file at an offset the inputs so far put at another address? */
static bool maps_conflict(const CflowMerge *m, const char *maps, GError **error)
{
    if (!maps) {
        return false;
    }
    g_auto(GStrv) lines = g_strsplit(maps, "\n", -1);
    for (int i = 0; lines[i]; i++) {
        uint64_t start, offset;
        const char *path;
        if (!parse_map_line(lines[i], &start, &offset, &path)) {
            continue;
        }
        g_autofree char *key = g_strdup_printf("%" PRIx64 " %s", offset, path);
        gpointer old;
        if (g_hash_table_lookup_extended(m->map_starts, key, NULL, &old) &&
            *(uint64_t *)old != start) {
            g_set_error(error, CFLOW_MERGE_ERROR, CFLOW_MERGE_ERROR_INCOMPATIBLE,
                        "%s (offset 0x%" PRIx64 ") is mapped at 0x%" PRIx64
                        " here but at 0x%" PRIx64 " in the profiles before: the addresses "
                        "name different code",
                        path, offset, start, *(uint64_t *)old);
            return true;
        }
    }
    return false;
}

static void maps_add(CflowMerge *m, const char *maps)
{
    if (!maps) {
        return;
    }
    g_auto(GStrv) lines = g_strsplit(maps, "\n", -1);
    for (int i = 0; lines[i]; i++) {
        uint64_t start, offset;
        const char *path;
        if (!*lines[i]) {
            continue;
        }
        g_hash_table_add(m->maps, g_strdup(lines[i]));
        if (parse_map_line(lines[i], &start, &offset, &path)) {
            char *key = g_strdup_printf("%" PRIx64 " %s", offset, path);
            if (!g_hash_table_contains(m->map_starts, key)) {
                g_hash_table_insert(m->map_starts, key, g_memdup2(&start, sizeof start));
            } else {
                g_free(key);
            }
        }
    }
}

static bool meta_differs(const CflowMerge *m, const CflowProfile *p, const char *key,
                         GError **error)
{
    const char *a = cflow_profile_get_meta(m->out, key), *b = cflow_profile_get_meta(p, key);
    if (a && b && strcmp(a, b) != 0) {
        g_set_error(error, CFLOW_MERGE_ERROR, CFLOW_MERGE_ERROR_INCOMPATIBLE,
                    "%s is '%s' here but '%s' in the profiles before", key, b, a);
        return true;
    }
    return false;
}

static bool add_u64(uint64_t *acc, uint64_t v, GError **error)
{
    if (__builtin_add_overflow(*acc, v, acc)) {
        g_set_error(error, CFLOW_MERGE_ERROR, CFLOW_MERGE_ERROR_OVERFLOW,
                    "a count does not fit 64 bits");
        return false;
    }
    return true;
}

static bool merge_meta(CflowMerge *m, const CflowProfile *p, GError **error)
{
    for (guint i = 0; i < p->meta->len; i++) {
        const CflowMeta *me = &g_array_index(p->meta, CflowMeta, i);
        const char *key = cflow_profile_string(p, me->key);
        const char *value = cflow_profile_string(p, me->value);
        if (strcmp(key, "maps") == 0) {
            continue; /* the union is written at the end */
        }
        if (is_additive(key)) {
            const char *old = cflow_profile_get_meta(m->out, key);
            uint64_t sum = old ? g_ascii_strtoull(old, NULL, 10) : 0;
            if (!add_u64(&sum, g_ascii_strtoull(value, NULL, 10), error)) {
                return false;
            }
            cflow_profile_set_meta_u64(m->out, key, sum);
        } else if (!cflow_profile_get_meta(m->out, key)) {
            cflow_profile_set_meta(m->out, key, value);
        }
    }
    const char *n = cflow_profile_get_meta(p, "merged_profiles");
    m->merged_profiles += n ? g_ascii_strtoull(n, NULL, 10) : 1;
    return true;
}

/* ------------------------------------------------------------------------------------------ */

CflowMerge *cflow_merge_new(void)
{
    CflowMerge *m = g_new0(CflowMerge, 1);
    m->out = cflow_profile_new();
    m->maps = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    m->map_starts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return m;
}

void cflow_merge_free(CflowMerge *m)
{
    if (!m) {
        return;
    }
    cflow_profile_free(m->out);
    g_free(m->insns.slots);
    g_free(m->edges.slots);
    g_free(m->blocks.slots);
    g_hash_table_unref(m->maps);
    g_hash_table_unref(m->map_starts);
    g_free(m);
}

unsigned cflow_merge_inputs(const CflowMerge *m)
{
    return m->inputs;
}

bool cflow_merge_add(CflowMerge *m, const CflowProfile *p, bool force, GError **error)
{
    if (!force && m->inputs > 0 &&
        (meta_differs(m, p, "arch", error) || meta_differs(m, p, "guest", error) ||
         maps_conflict(m, cflow_profile_get_meta(p, "maps"), error))) {
        return false;
    }
    if (!merge_meta(m, p, error)) {
        return false;
    }
    maps_add(m, cflow_profile_get_meta(p, "maps"));
    CflowProfile *out = m->out;

    /* instructions: input number -> accumulator number */
    uint32_t *map = g_new(uint32_t, p->insns->len ? p->insns->len : 1);
    for (guint i = 0; i < p->insns->len; i++) {
        const CflowInsn *in = cflow_profile_insn(p, i);
        InsnKey k = {in->addr, in->generation};
        uint32_t *slot = index_slot(m, &m->insns, hash_insn_key(&k), &k, hash_of_insn, insn_eq);
        if (*slot) {
            map[i] = *slot - 1;
            CflowInsn *have = cflow_profile_insn(out, map[i]);
            /* an instruction named in one run but not another (QEMU found no symbol) */
            if (have->symbol == CFLOW_NO_STRING && in->symbol != CFLOW_NO_STRING) {
                have->symbol = cflow_profile_intern(out, cflow_profile_string(p, in->symbol));
            }
            continue;
        }
        const char *sym = in->symbol == CFLOW_NO_STRING ? NULL
                                                        : cflow_profile_string(p, in->symbol);
        map[i] = cflow_profile_add_insn(out, in->addr, in->size, in->generation,
                                        cflow_profile_string(p, in->disas), sym);
        if (cflow_profile_insn_bytes(p, i)) {
            cflow_profile_set_insn_bytes(out, map[i], cflow_profile_insn_bytes(p, i), in->size);
        }
        if (cflow_profile_insn_priv(p, i) != CFLOW_PRIV_UNKNOWN) {
            cflow_profile_set_insn_priv(out, map[i], cflow_profile_insn_priv(p, i));
        }
        *slot = map[i] + 1;
        m->insns.used++;
    }

    bool ok = true;
    for (guint i = 0; i < p->edges->len && ok; i++) {
        const CflowEdge *e = cflow_profile_edge(p, i);
        EdgeKey k = {map[e->from], e->kind, e->to};
        uint32_t *slot = index_slot(m, &m->edges, hash_edge_key(&k), &k, hash_of_edge, edge_eq);
        if (*slot) {
            ok = add_u64(&cflow_profile_edge(out, *slot - 1)->count, e->count, error);
            continue;
        }
        cflow_profile_add_edge(out, k.from, (CflowEdgeKind)k.kind, k.to, e->count);
        *slot = out->edges->len;
        m->edges.used++;
    }

    GArray *tmp = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    for (guint i = 0; i < p->blocks->len && ok; i++) {
        const CflowBlock *b = cflow_profile_block(p, i);
        g_array_set_size(tmp, b->n_insns);
        for (uint32_t k = 0; k < b->n_insns; k++) {
            g_array_index(tmp, uint32_t, k) =
                map[g_array_index(p->block_insns, uint32_t, b->first + k)];
        }
        BlockKey k = {b->addr, (const uint32_t *)(void *)tmp->data, b->n_insns};
        uint32_t *slot =
            index_slot(m, &m->blocks, hash_block_key(&k), &k, hash_of_block, block_eq);
        if (*slot) {
            ok = add_u64(&cflow_profile_block(out, *slot - 1)->count, b->count, error);
            continue;
        }
        cflow_profile_add_block(out, b->addr, b->count, k.insns, k.n);
        *slot = out->blocks->len;
        m->blocks.used++;
    }
    g_array_free(tmp, TRUE);
    g_free(map);
    m->inputs++;
    return ok;
}

/* ------------------------------------------------------------------------------------------ */
/* Canonical order, so that the sum does not depend on the order of the inputs. */

static int cmp_edge_rec(const void *a, const void *b)
{
    const CflowEdge *x = a, *y = b;
    if (x->from != y->from) {
        return x->from < y->from ? -1 : 1;
    }
    if (x->to != y->to) {
        return x->to < y->to ? -1 : 1;
    }
    return x->kind < y->kind ? -1 : x->kind > y->kind;
}

static int cmp_block_rec(const void *a, const void *b, void *data)
{
    const CflowProfile *p = data;
    const CflowBlock *x = cflow_profile_block(p, *(const uint32_t *)a);
    const CflowBlock *y = cflow_profile_block(p, *(const uint32_t *)b);
    if (x->addr != y->addr) {
        return x->addr < y->addr ? -1 : 1;
    }
    if (x->n_insns != y->n_insns) {
        return x->n_insns < y->n_insns ? -1 : 1;
    }
    for (uint32_t k = 0; k < x->n_insns; k++) {
        uint32_t i = g_array_index(p->block_insns, uint32_t, x->first + k);
        uint32_t j = g_array_index(p->block_insns, uint32_t, y->first + k);
        if (i != j) {
            return i < j ? -1 : 1;
        }
    }
    return 0;
}

static GArray *identity(guint n)
{
    GArray *a = g_array_sized_new(FALSE, FALSE, sizeof(uint32_t), n);
    for (uint32_t i = 0; i < n; i++) {
        g_array_append_val(a, i);
    }
    return a;
}

static int cmp_str(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    uint64_t sx = g_ascii_strtoull(x, NULL, 16), sy = g_ascii_strtoull(y, NULL, 16);
    return sx != sy ? (sx < sy ? -1 : 1) : strcmp(x, y);
}

CflowProfile *cflow_merge_finish(CflowMerge *m)
{
    CflowProfile *in = m->out;
    CflowProfile *out = cflow_profile_new();
    /* meta first, with the additive sums and the union of the mappings */
    for (guint i = 0; i < in->meta->len; i++) {
        const CflowMeta *me = &g_array_index(in->meta, CflowMeta, i);
        cflow_profile_set_meta(out, cflow_profile_string(in, me->key),
                               cflow_profile_string(in, me->value));
    }
    if (g_hash_table_size(m->maps) > 0) {
        guint n;
        gpointer *lines = g_hash_table_get_keys_as_array(m->maps, &n);
        qsort(lines, n, sizeof *lines, cmp_str);
        GString *s = g_string_new(NULL);
        for (guint i = 0; i < n; i++) {
            g_string_append_printf(s, "%s%s", i ? "\n" : "", (const char *)lines[i]);
        }
        g_free(lines);
        cflow_profile_set_meta(out, "maps", s->str);
        g_string_free(s, TRUE);
    }
    if (m->inputs > 0) {
        cflow_profile_set_meta_u64(out, "merged_profiles", m->merged_profiles);
    }

    /* instructions by (address, generation); old number -> new number */
    GArray *order = identity(in->insns->len);
    g_array_sort_with_data(order, cflow_insn_index_cmp, in);
    uint32_t *renum = g_new(uint32_t, in->insns->len ? in->insns->len : 1);
    for (guint k = 0; k < order->len; k++) {
        uint32_t i = g_array_index(order, uint32_t, k);
        const CflowInsn *x = cflow_profile_insn(in, i);
        renum[i] = cflow_profile_add_insn(
            out, x->addr, x->size, x->generation, cflow_profile_string(in, x->disas),
            x->symbol == CFLOW_NO_STRING ? NULL : cflow_profile_string(in, x->symbol));
        if (cflow_profile_insn_priv(in, i) != CFLOW_PRIV_UNKNOWN) {
            cflow_profile_set_insn_priv(out, renum[i], cflow_profile_insn_priv(in, i));
        }
        if (cflow_profile_insn_bytes(in, i)) {
            cflow_profile_set_insn_bytes(out, renum[i], cflow_profile_insn_bytes(in, i), x->size);
        }
    }
    g_array_free(order, TRUE);

    /* edges by source, target, kind: renumber in place, sort, move over */
    for (guint i = 0; i < in->edges->len; i++) {
        CflowEdge *e = cflow_profile_edge(in, i);
        e->from = renum[e->from];
    }
    g_array_sort(in->edges, cmp_edge_rec);
    g_array_free(out->edges, TRUE);
    out->edges = in->edges;
    in->edges = g_array_new(FALSE, FALSE, sizeof(CflowEdge));

    /* blocks: renumber their instructions, then sort */
    for (guint i = 0; i < in->block_insns->len; i++) {
        uint32_t *x = &g_array_index(in->block_insns, uint32_t, i);
        *x = renum[*x];
    }
    order = identity(in->blocks->len);
    g_array_sort_with_data(order, cmp_block_rec, in);
    for (guint k = 0; k < order->len; k++) {
        const CflowBlock *b = cflow_profile_block(in, g_array_index(order, uint32_t, k));
        cflow_profile_add_block(out, b->addr, b->count,
                                &g_array_index(in->block_insns, uint32_t, b->first), b->n_insns);
    }
    g_array_free(order, TRUE);
    g_free(renum);
    cflow_merge_free(m);
    return out;
}

CflowProfile *cflow_profile_merge(const CflowProfile *const *profiles, unsigned n, bool force,
                                  GError **error)
{
    CflowMerge *m = cflow_merge_new();
    for (unsigned i = 0; i < n; i++) {
        if (!cflow_merge_add(m, profiles[i], force, error)) {
            cflow_merge_free(m);
            return NULL;
        }
    }
    return cflow_merge_finish(m);
}
