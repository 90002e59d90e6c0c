/*
 * profile.c: the in-memory profile model: construction, string interning, metadata, edge kind
 * names and the invariant checker every reader runs before handing a profile out.
 */
#include "format.h"

#include <inttypes.h>
#include <string.h>

G_DEFINE_QUARK(cflow-profile-error-quark, cflow_profile_error)

static const char *const kind_names[CFLOW_EDGE_KIND_COUNT] = {
    [CFLOW_EDGE_BRANCH] = "branch",       [CFLOW_EDGE_FALLTHROUGH] = "fallthrough",
    [CFLOW_EDGE_EXCEPTION] = "exception", [CFLOW_EDGE_INTERRUPT] = "interrupt",
    [CFLOW_EDGE_HOSTCALL] = "hostcall",   [CFLOW_EDGE_EARLY_EXIT] = "early-exit",
};

/*
 * The intern index: open addressing over pool offsets, each slot (32-bit hash << 32 |
 * offset + 1), 0 when empty. No copy of any string: a profile of a few hundred thousand
 * instructions interns that many disassembly texts, and a GHashTable of copies cost more
 * memory than the pool itself.
 */
struct CflowStringIndex {
    uint64_t *slots;
    uint32_t mask; /* capacity - 1; 0 with no slots yet */
    uint32_t used;
};

static uint32_t string_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (; *s; s++) {
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    }
    return (uint32_t)(h ^ (h >> 32));
}

/* The offset of `s` in the pool, or CFLOW_NO_STRING. */
static uint32_t index_find(const CflowProfile *p, const char *s, uint32_t h)
{
    const struct CflowStringIndex *x = p->string_index;
    if (!x->slots) {
        return CFLOW_NO_STRING;
    }
    const char *pool = (const char *)p->strings->data;
    for (uint32_t j = h & x->mask; x->slots[j]; j = (j + 1) & x->mask) {
        uint64_t slot = x->slots[j];
        uint32_t off = (uint32_t)slot - 1;
        if ((uint32_t)(slot >> 32) == h && strcmp(pool + off, s) == 0) {
            return off;
        }
    }
    return CFLOW_NO_STRING;
}

static void index_put(struct CflowStringIndex *x, uint64_t slot)
{
    uint32_t j = (uint32_t)(slot >> 32) & x->mask;
    while (x->slots[j]) {
        j = (j + 1) & x->mask;
    }
    x->slots[j] = slot;
}

/* Adds pool offset `off` (not already in), keeping the load at most 1/2. */
static void index_add(CflowProfile *p, uint32_t off, uint32_t h)
{
    struct CflowStringIndex *x = p->string_index;
    if (!x->slots || 2 * ((uint64_t)x->used + 1) > (uint64_t)x->mask + 1) {
        struct CflowStringIndex bigger = {.mask = x->slots ? 2 * x->mask + 1 : 255,
                                          .used = x->used};
        bigger.slots = g_new0(uint64_t, (gsize)bigger.mask + 1);
        for (uint32_t i = 0; x->slots && i <= x->mask; i++) {
            if (x->slots[i]) {
                index_put(&bigger, x->slots[i]);
            }
        }
        g_free(x->slots);
        *x = bigger;
    }
    index_put(x, (uint64_t)h << 32 | ((uint64_t)off + 1));
    x->used++;
}

CflowProfile *cflow_profile_new(void)
{
    CflowProfile *p = g_new0(CflowProfile, 1);
    p->meta = g_array_new(FALSE, FALSE, sizeof(CflowMeta));
    p->insns = g_array_new(FALSE, FALSE, sizeof(CflowInsn));
    p->edges = g_array_new(FALSE, FALSE, sizeof(CflowEdge));
    p->blocks = g_array_new(FALSE, FALSE, sizeof(CflowBlock));
    p->block_insns = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    p->strings = g_byte_array_new();
    p->insn_priv = g_byte_array_new();
    p->insn_bytes = g_byte_array_new();
    p->string_index = g_new0(struct CflowStringIndex, 1);
    const guint8 nul = 0;
    g_byte_array_append(p->strings, &nul, 1);
    index_add(p, 0, string_hash(""));
    return p;
}

void cflow_profile_free(CflowProfile *p)
{
    if (p == NULL) {
        return;
    }
    g_array_unref(p->meta);
    g_array_unref(p->insns);
    if (p->insn_priv) {
        g_byte_array_unref(p->insn_priv);
    }
    if (p->insn_bytes) {
        g_byte_array_unref(p->insn_bytes);
    }
    if (p->insn_text) {
        g_ptr_array_unref(p->insn_text);
    }
    g_array_unref(p->edges);
    g_array_unref(p->blocks);
    g_array_unref(p->block_insns);
    g_byte_array_unref(p->strings);
    g_free(p->string_index->slots);
    g_free(p->string_index);
    g_free(p);
}

/*
 * A profile that was read from a file has a pool but an empty index (building it costs time
 * and memory most readers never need). It is built here, on the first intern. An index is
 * never empty once built: "" is always in it.
 */
static void ensure_index(CflowProfile *p)
{
    if (p->string_index->used != 0) {
        return;
    }
    const char *pool = (const char *)p->strings->data;
    guint len = p->strings->len;
    guint off = 0;
    while (off < len) {
        const char *s = pool + off;
        const char *nul = memchr(s, 0, len - off);
        if (nul == NULL) {
            break; /* an unterminated tail (validate rejects those): not internable */
        }
        uint32_t h = string_hash(s);
        if (index_find(p, s, h) == CFLOW_NO_STRING) {
            index_add(p, off, h);
        }
        off = (guint)(nul - pool) + 1;
    }
    if (index_find(p, "", string_hash("")) == CFLOW_NO_STRING) {
        /* A pool that does not start with "": keep the invariant that the index is not empty. */
        const guint8 nul = 0;
        guint where = p->strings->len;
        g_byte_array_append(p->strings, &nul, 1);
        index_add(p, where, string_hash(""));
    }
}

void cflow_profile_forget_string_index(CflowProfile *p)
{
    g_clear_pointer(&p->string_index->slots, g_free);
    p->string_index->mask = 0;
    p->string_index->used = 0;
}

uint32_t cflow_profile_intern(CflowProfile *p, const char *s)
{
    g_return_val_if_fail(p != NULL && s != NULL, 0);
    ensure_index(p);
    uint32_t h = string_hash(s);
    uint32_t found = index_find(p, s, h);
    if (found != CFLOW_NO_STRING) {
        return found;
    }
    size_t n = strlen(s) + 1;
    guint off = p->strings->len;
    /* Offsets are uint32 and UINT32_MAX means "no string": refuse to grow past that. */
    if (n >= (size_t)UINT32_MAX - off) {
        g_error("cflow profile: string pool exceeds 4 GiB");
    }
    g_byte_array_append(p->strings, (const guint8 *)s, (guint)n);
    index_add(p, off, h);
    return off;
}

const char *cflow_profile_string(const CflowProfile *p, uint32_t offset)
{
    if (offset == CFLOW_NO_STRING) {
        return NULL;
    }
    g_return_val_if_fail(offset < p->strings->len, NULL);
    return (const char *)p->strings->data + offset;
}

static CflowMeta *find_meta(const CflowProfile *p, const char *key)
{
    for (guint i = 0; i < p->meta->len; i++) {
        CflowMeta *m = &g_array_index(p->meta, CflowMeta, i);
        const char *k = cflow_profile_string(p, m->key);
        if (k != NULL && strcmp(k, key) == 0) {
            return m;
        }
    }
    return NULL;
}

void cflow_profile_set_meta_u64(CflowProfile *p, const char *key, uint64_t value)
{
    char text[24];
    g_snprintf(text, sizeof(text), "%" G_GUINT64_FORMAT, (guint64)value);
    cflow_profile_set_meta(p, key, text);
}

void cflow_profile_set_meta(CflowProfile *p, const char *key, const char *value)
{
    g_return_if_fail(p != NULL && key != NULL && value != NULL);
    uint32_t v = cflow_profile_intern(p, value);
    CflowMeta *m = find_meta(p, key);
    if (m != NULL) {
        m->value = v;
        return;
    }
    CflowMeta nm = {.key = cflow_profile_intern(p, key), .value = v};
    g_array_append_val(p->meta, nm);
}

const char *cflow_profile_get_meta(const CflowProfile *p, const char *key)
{
    g_return_val_if_fail(p != NULL && key != NULL, NULL);
    const CflowMeta *m = find_meta(p, key);
    return m != NULL ? cflow_profile_string(p, m->value) : NULL;
}

static void reserve_array(GArray **a, guint n)
{
    if ((*a)->len == 0 && n > 0) {
        guint size = g_array_get_element_size(*a);
        g_array_unref(*a);
        *a = g_array_sized_new(FALSE, FALSE, size, n);
    }
}

static void reserve_bytes(GByteArray **a, guint n)
{
    if ((*a)->len == 0 && n > 0) {
        g_byte_array_unref(*a);
        *a = g_byte_array_sized_new(n);
    }
}

void cflow_profile_reserve(CflowProfile *p, guint insns, guint edges, guint blocks,
                           guint block_insns)
{
    reserve_array(&p->insns, insns);
    reserve_bytes(&p->insn_priv, insns);
    reserve_bytes(&p->insn_bytes, insns * CFLOW_INSN_BYTES);
    reserve_array(&p->edges, edges);
    reserve_array(&p->blocks, blocks);
    reserve_array(&p->block_insns, block_insns);
}

/* One instruction's record, its strings interned. */
static CflowInsn insn_record(CflowProfile *p, uint64_t addr, uint32_t size, uint32_t generation,
                             const char *disas, const char *symbol)
{
    return (CflowInsn){
        .addr = addr,
        .size = size,
        .generation = generation,
        /* offset 0 is always "": no lookup for the text a profile with bytes leaves out */
        .disas = disas != NULL && *disas ? cflow_profile_intern(p, disas) : 0,
        .symbol = symbol != NULL ? cflow_profile_intern(p, symbol) : CFLOW_NO_STRING,
    };
}

/* Room for every insn's bytes: zeros until set (a text given wins). */
static void insn_bytes_cover_insns(CflowProfile *p)
{
    guint old = p->insn_bytes->len, want = p->insns->len * CFLOW_INSN_BYTES;
    if (old < want) {
        g_byte_array_set_size(p->insn_bytes, want);
        memset(p->insn_bytes->data + old, 0, want - old);
    }
}

/* After insns were added: levels and bytes, where recorded, keep one entry per insn. */
static void side_arrays_cover_insns(CflowProfile *p)
{
    guint old = p->insn_priv->len;
    if (old > 0 && old < p->insns->len) {
        g_byte_array_set_size(p->insn_priv, p->insns->len);
        memset(p->insn_priv->data + old, CFLOW_PRIV_UNKNOWN, p->insns->len - old);
    }
    if (p->insn_bytes->len > 0) {
        insn_bytes_cover_insns(p);
    }
}

uint32_t cflow_profile_add_insn(CflowProfile *p, uint64_t addr, uint32_t size,
                                uint32_t generation, const char *disas, const char *symbol)
{
    CflowInsn insn = insn_record(p, addr, size, generation, disas, symbol);
    uint32_t index = p->insns->len;
    g_array_append_val(p->insns, insn);
    side_arrays_cover_insns(p);
    return index;
}

guint cflow_profile_insn_lower_bound(const CflowProfile *p, uint64_t addr)
{
    guint lo = 0, hi = p->insns->len;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        if (cflow_profile_insn(p, mid)->addr < addr) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

uint32_t cflow_profile_add_insns(CflowProfile *p, guint n)
{
    /* what n calls of cflow_profile_add_insn(p, 0, 0, 0, NULL, NULL) give, sized once */
    uint32_t first = p->insns->len;
    guint total = first + n;
    const CflowInsn blank = insn_record(p, 0, 0, 0, NULL, NULL);
    g_array_set_size(p->insns, total);
    for (guint i = first; i < total; i++) {
        *cflow_profile_insn(p, i) = blank;
    }
    side_arrays_cover_insns(p);
    return first;
}

void cflow_profile_put_insn(CflowProfile *p, uint32_t index, uint64_t addr, uint32_t size,
                            uint32_t generation, const char *disas, const char *symbol)
{
    g_return_if_fail(index < p->insns->len);
    *cflow_profile_insn(p, index) = insn_record(p, addr, size, generation, disas, symbol);
}

void cflow_profile_add_edge(CflowProfile *p, uint32_t from, CflowEdgeKind kind, uint64_t to,
                            uint64_t count)
{
    CflowEdge e = {.from = from, .kind = (uint32_t)kind, .to = to, .count = count};
    g_array_append_val(p->edges, e);
}

void cflow_profile_add_block(CflowProfile *p, uint64_t addr, uint64_t count,
                             const uint32_t *insns, uint32_t n_insns)
{
    g_return_if_fail(n_insns == 0 || insns != NULL);
    CflowBlock b = {.addr = addr, .count = count, .first = p->block_insns->len,
                    .n_insns = n_insns};
    g_array_append_vals(p->block_insns, insns, n_insns);
    g_array_append_val(p->blocks, b);
}

static const char *const priv_names[CFLOW_PRIV_COUNT] = {
    [CFLOW_PRIV_UNKNOWN] = "unknown", [CFLOW_PRIV_USER] = "user",
    [CFLOW_PRIV_KERNEL] = "kernel",   [CFLOW_PRIV_HYPERVISOR] = "hypervisor",
    [CFLOW_PRIV_FIRMWARE] = "firmware",
};

const char *cflow_priv_name(CflowPriv priv)
{
    return (unsigned)priv < CFLOW_PRIV_COUNT ? priv_names[priv] : "unknown";
}

bool cflow_priv_parse(const char *name, CflowPriv *priv)
{
    for (unsigned i = 0; i < CFLOW_PRIV_COUNT; i++) {
        if (strcmp(name, priv_names[i]) == 0) {
            *priv = (CflowPriv)i;
            return true;
        }
    }
    return false;
}

void cflow_profile_set_insn_bytes(CflowProfile *p, uint32_t insn, const uint8_t *bytes,
                                  uint32_t size)
{
    g_return_if_fail(insn < p->insns->len);
    if (p->insn_bytes->len < (insn + 1) * CFLOW_INSN_BYTES) {
        insn_bytes_cover_insns(p); /* room for every insn: set once, then filled */
    }
    uint8_t *at = p->insn_bytes->data + (size_t)insn * CFLOW_INSN_BYTES;
    memset(at, 0, CFLOW_INSN_BYTES);
    memcpy(at, bytes, MIN(size, CFLOW_INSN_BYTES));
}

const uint8_t *cflow_profile_insn_bytes(const CflowProfile *p, uint32_t insn)
{
    if (!p->insn_bytes || (size_t)(insn + 1) * CFLOW_INSN_BYTES > p->insn_bytes->len) {
        return NULL;
    }
    return p->insn_bytes->data + (size_t)insn * CFLOW_INSN_BYTES;
}

const char *cflow_profile_insn_disas(const CflowProfile *p, uint32_t insn)
{
    CflowInsn *in = cflow_profile_insn(p, insn);
    const uint8_t *bytes = cflow_profile_insn_bytes(p, insn);
    if (in->disas != 0 || bytes == NULL || in->size == 0 || in->size > CFLOW_INSN_BYTES) {
        return cflow_profile_string(p, in->disas);
    }
    /* made once and kept: the text is a cache of what the bytes say */
    CflowProfile *cache = (CflowProfile *)p;
    if (!cache->insn_text) {
        cache->insn_text = g_ptr_array_new_with_free_func(g_free);
    }
    if (cache->insn_text->len < p->insns->len) {
        g_ptr_array_set_size(cache->insn_text, (gint)p->insns->len);
    }
    char **text = (char **)&g_ptr_array_index(cache->insn_text, insn);
    if (!*text) {
        *text = cflow_disasm(cflow_profile_get_meta(p, "arch"), in->addr, bytes, in->size);
    }
    return *text;
}

void cflow_profile_set_insn_priv(CflowProfile *p, uint32_t insn, CflowPriv priv)
{
    g_return_if_fail(insn < p->insns->len);
    if (p->insn_priv->len < p->insns->len) {
        guint old = p->insn_priv->len;
        g_byte_array_set_size(p->insn_priv, p->insns->len);
        memset(p->insn_priv->data + old, CFLOW_PRIV_UNKNOWN, p->insns->len - old);
    }
    p->insn_priv->data[insn] = (guint8)priv;
}

CflowPriv cflow_profile_insn_priv(const CflowProfile *p, uint32_t insn)
{
    return p->insn_priv && insn < p->insn_priv->len ? (CflowPriv)p->insn_priv->data[insn]
                                                   : CFLOW_PRIV_UNKNOWN;
}

int cflow_insn_index_cmp(const void *a, const void *b, void *profile)
{
    const CflowProfile *p = profile;
    const CflowInsn *x = cflow_profile_insn(p, *(const uint32_t *)a);
    const CflowInsn *y = cflow_profile_insn(p, *(const uint32_t *)b);
    if (x->addr != y->addr) {
        return x->addr < y->addr ? -1 : 1;
    }
    return x->generation < y->generation ? -1 : x->generation > y->generation;
}

const char *cflow_edge_kind_name(CflowEdgeKind kind)
{
    if ((unsigned)kind >= CFLOW_EDGE_KIND_COUNT) {
        return "unknown";
    }
    return kind_names[kind];
}

bool cflow_edge_kind_parse(const char *name, CflowEdgeKind *kind)
{
    if (name == NULL) {
        return false;
    }
    for (unsigned k = 0; k < CFLOW_EDGE_KIND_COUNT; k++) {
        if (strcmp(name, kind_names[k]) == 0) {
            if (kind != NULL) {
                *kind = (CflowEdgeKind)k;
            }
            return true;
        }
    }
    return false;
}

/* A profile that breaks an invariant: FORMAT, as the reader reports damaged input. */
#define invalid(error, ...) cflow_profile_fail(error, CFLOW_PROFILE_ERROR_FORMAT, __VA_ARGS__)

/* The pool names terminated strings, offset 0 the empty one. */
static bool validate_pool(const GByteArray *strings, GError **error)
{
    if (strings->len == 0 || strings->data[0] != 0) {
        return invalid(error, "strings: the pool must start with the empty string");
    }
    if (strings->data[strings->len - 1] != 0) {
        return invalid(error, "strings: the last string is not NUL-terminated");
    }
    return true;
}

/*
 * Meta strings in the pool, keys unique (get_meta finds the first). A hash set: the meta count
 * of a damaged file can be large, a quadratic check would be a denial of service.
 */
static bool validate_meta(const CflowProfile *p, GError **error)
{
    const guint8 *pool = p->strings->data;
    const guint pool_len = p->strings->len;
    g_autoptr(GHashTable) keys = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < p->meta->len; i++) {
        const CflowMeta *m = &g_array_index(p->meta, CflowMeta, i);
        if (m->key >= pool_len || m->value >= pool_len) {
            return invalid(error, "meta %u: string offset %" PRIu32 " outside the pool (%u bytes)",
                           i, m->key >= pool_len ? m->key : m->value, pool_len);
        }
        const char *key = (const char *)pool + m->key;
        gpointer prev = NULL;
        if (g_hash_table_lookup_extended(keys, key, NULL, &prev)) {
            /* The key came from a file: escape it and keep the message short. */
            g_autofree char *shown = g_strndup(key, 64);
            g_autofree char *esc = g_strescape(shown, NULL);
            return invalid(error, "meta %u: duplicate key \"%s\" (also meta %u)", i, esc,
                           GPOINTER_TO_UINT(prev));
        }
        g_hash_table_insert(keys, (gpointer)key, GUINT_TO_POINTER(i));
    }
    return true;
}

/* Instructions: strings in the pool, bytes and privilege levels one per instruction. */
static bool validate_insns(const CflowProfile *p, GError **error)
{
    const guint pool_len = p->strings->len;
    const CflowInsn *insns = (const CflowInsn *)(void *)p->insns->data;
    const guint n_insns = p->insns->len;
    for (guint i = 0; i < n_insns; i++) {
        if (insns[i].disas >= pool_len) {
            return invalid(error,
                           "insn %u: disassembly string offset %" PRIu32
                           " outside the pool (%u bytes)",
                           i, insns[i].disas, pool_len);
        }
        if (insns[i].symbol != CFLOW_NO_STRING && insns[i].symbol >= pool_len) {
            return invalid(error,
                           "insn %u: symbol string offset %" PRIu32 " outside the pool (%u bytes)",
                           i, insns[i].symbol, pool_len);
        }
    }
    if (p->insn_bytes && p->insn_bytes->len > 0 &&
        p->insn_bytes->len != (size_t)n_insns * CFLOW_INSN_BYTES) {
        return invalid(error, "insn_bytes: %u bytes for %u insns of %u bytes", p->insn_bytes->len,
                       n_insns, CFLOW_INSN_BYTES);
    }
    if (p->insn_priv && p->insn_priv->len > 0) {
        if (p->insn_priv->len != n_insns) {
            return invalid(error, "insn_priv: %u levels for %u insns", p->insn_priv->len,
                           n_insns);
        }
        for (guint i = 0; i < n_insns; i++) {
            if (p->insn_priv->data[i] >= CFLOW_PRIV_COUNT) {
                return invalid(error, "insn %u: unknown privilege level %u", i,
                               p->insn_priv->data[i]);
            }
        }
    }
    return true;
}

/* Edges, block_insns and blocks: every index in range, every kind known. */
static bool validate_indices(const CflowProfile *p, GError **error)
{
    const guint n_insns = p->insns->len;
    const CflowEdge *edges = (const CflowEdge *)(void *)p->edges->data;
    for (guint i = 0; i < p->edges->len; i++) {
        if (edges[i].from >= n_insns) {
            return invalid(error, "edge %u: source insn index %" PRIu32 " out of range (%u insns)",
                           i, edges[i].from, n_insns);
        }
        if (edges[i].kind >= CFLOW_EDGE_KIND_COUNT) {
            return invalid(error, "edge %u: unknown kind %" PRIu32, i, edges[i].kind);
        }
    }

    const uint32_t *bi = (const uint32_t *)(void *)p->block_insns->data;
    const guint n_bi = p->block_insns->len;
    for (guint i = 0; i < n_bi; i++) {
        if (bi[i] >= n_insns) {
            return invalid(error,
                           "block_insns %u: insn index %" PRIu32 " out of range (%u insns)", i,
                           bi[i], n_insns);
        }
    }
    const CflowBlock *blocks = (const CflowBlock *)(void *)p->blocks->data;
    for (guint i = 0; i < p->blocks->len; i++) {
        if (blocks[i].first > n_bi || blocks[i].n_insns > n_bi - blocks[i].first) {
            return invalid(error,
                           "block %u: insns [%" PRIu32 ", +%" PRIu32
                           ") out of range (%u block_insns)",
                           i, blocks[i].first, blocks[i].n_insns, n_bi);
        }
    }
    return true;
}

bool cflow_profile_validate(const CflowProfile *p, GError **error)
{
    if (p == NULL || p->meta == NULL || p->insns == NULL || p->edges == NULL ||
        p->blocks == NULL || p->block_insns == NULL || p->strings == NULL) {
        return invalid(error, "profile is incomplete (missing arrays)");
    }
    return validate_pool(p->strings, error) && validate_meta(p, error) &&
           validate_insns(p, error) && validate_indices(p, error);
}
