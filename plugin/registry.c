/*
 * registry.c: translation-time records of instructions and blocks (see registry.h).
 *
 * Translation is what short runs pay for (a python3 start-up translates ~140,000 instructions,
 * more than bare QEMU runs in that time), so nothing here allocates per instruction: records
 * live in pages that never move, and every index is an open-addressing table of small slots
 * (linear probing, never shrinks, nothing is ever removed), not a GHashTable with its
 * per-entry nodes and pointer chasing.
 */
#include "registry.h"

#include <pthread.h>
#include <sys/mman.h>

#include <stddef.h>
#include <string.h>

#include "disas.h"
#include "fallthrough.h"
#include "slot_table.h"
#include "u64map.h"

/* 64 bits to 32: the top half of u64_mix, every input bit reaching it. */
static inline uint32_t mix64(uint64_t x)
{
    return (uint32_t)(u64_mix(x) >> 32);
}

/* ---- instructions ------------------------------------------------------------------------ */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* id -> record: pages that never move, under a top level covering every id */
#define INSN_PAGE_BITS 12
#define INSN_PAGE_SIZE (1u << INSN_PAGE_BITS)
#define INSN_PAGES (1u << 20)
static InsnRec *insn_pages[INSN_PAGES];
static bool physical_identity;
static bool released; /* registry_release_indexes: no lookup or new record after it */
static uint64_t released_pages; /* registry_release_insns_below: pages below it are gone */
static uint64_t n_insns; /* ids run from 1 to n_insns */
/*
 * hash of (ident, priv) -> id - 1, for the first instruction seen at each place only: a place
 * rewritten again and again (a JIT reusing its code space) would otherwise pile every
 * generation into one probe run, and each new translation would compare itself with all the
 * earlier ones (quadratic in the rewrites).
 */
static SlotTable insn_index;
/* the later generations: hash of (ident, priv, content) -> id - 1 (rare but for JITs) */
static SlotTable later_index;
/*
 * address -> distinct instructions seen there + 1 (0 is an empty slot): the next generation.
 * With virtual identity (user mode) only addresses rewritten are kept, counting the rewrites.
 */
static U64Map generations;

_Static_assert(sizeof(InsnRec) == 32, "InsnRec: 32 bytes, see registry.h");

/*
 * Pages of records are mapped, not allocated: the kernel zeroes them as records reach them,
 * and a page freed at exit (registry_release_insns_below) goes back to it at once, where a
 * free in the middle of the heap would stay resident.
 */
static InsnRec *new_insn_page(void)
{
    void *p = mmap(NULL, INSN_PAGE_SIZE * sizeof(InsnRec), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        g_error("cflow: out of memory for instruction records");
    }
    return p;
}

static inline InsnRec *insn_at(uint64_t id)
{
    return &insn_pages[id >> INSN_PAGE_BITS][id & (INSN_PAGE_SIZE - 1)];
}

/* The page of record `id`, mapped when the first id in it is handed out. */
static void ensure_insn_page(uint64_t id)
{
    g_assert(id < UINT32_MAX); /* InsnId */
    InsnRec **page = &insn_pages[(id >> INSN_PAGE_BITS) % INSN_PAGES];
    if (!*page) {
        __atomic_store_n(page, new_insn_page(), __ATOMIC_RELEASE);
    }
}

/*
 * Beside the records, paged the same way and allocated only by the runs that need them: the
 * physical identity (system mode: the host address of the bytes) and QEMU's text (when
 * disassembly is not deferred). Most runs have neither, and the record stays small.
 */
static uint64_t *ident_pages[INSN_PAGES];
static char **disas_pages[INSN_PAGES];

static inline void *side_at(void **pages, uint64_t id, size_t elem)
{
    void **page = &pages[(id >> INSN_PAGE_BITS) % INSN_PAGES];
    if (!*page) {
        *page = g_malloc0(elem * INSN_PAGE_SIZE);
    }
    return (char *)*page + elem * (id & (INSN_PAGE_SIZE - 1));
}

/* Instructions longer than INSN_INLINE_BYTES: id -> offset + 1 of their bytes in long_store */
static U64Map long_bytes;
static GByteArray *long_store;

const uint8_t *registry_insn_bytes(uint64_t id)
{
    const InsnRec *r = insn_at(id);
    return r->size <= INSN_INLINE_BYTES ? r->bytes
                                        : long_store->data + u64map_get(&long_bytes, id) - 1;
}

static void keep_bytes(uint64_t id, InsnRec *r, const uint8_t *bytes, size_t size)
{
    if (size <= INSN_INLINE_BYTES) {
        memcpy(r->bytes, bytes, size);
        return;
    }
    if (!long_store) {
        long_store = g_byte_array_new();
    }
    *u64map_slot(&long_bytes, id) = long_store->len + 1;
    g_byte_array_append(long_store, bytes, (guint)size);
}

static inline uint64_t insn_ident(uint64_t id)
{
    return physical_identity ? *(uint64_t *)side_at((void **)ident_pages, id, sizeof(uint64_t))
                             : insn_at(id)->addr;
}

/* QEMU's symbol names live as long as the process: interned as pointers, named by index. */
static GHashTable *symbol_index; /* name pointer -> index */
static GPtrArray *symbol_names;  /* index -> name; index 0 is none */

static uint32_t intern_symbol(const char *name)
{
    /* a block's instructions are mostly in one function: the last name saves the lookup */
    static const char *last_name;
    static uint32_t last_index;
    if (!name || name == last_name) {
        return name ? last_index : 0;
    }
    gpointer ix = g_hash_table_lookup(symbol_index, name);
    if (!ix) {
        ix = GUINT_TO_POINTER(symbol_names->len);
        g_ptr_array_add(symbol_names, (gpointer)name);
        g_hash_table_insert(symbol_index, (gpointer)name, ix);
    }
    last_name = name;
    last_index = GPOINTER_TO_UINT(ix);
    return last_index;
}

/* The generation of a new instruction at `addr`: one more than the last. */
static uint32_t next_generation(uint64_t addr)
{
    uint64_t *seen = u64map_slot(&generations, addr); /* distinct instructions there so far + 1 */
    if (!*seen) {
        *seen = 1;
    }
    return (uint32_t)((*seen)++ - 1);
}

/* ---- blocks ------------------------------------------------------------------------------ */

/*
 * BlockRec* by creation index (= slot), in pages that never move: readable without the lock (a
 * helper placing an early exit)
 */
static uint32_t n_blocks;
#define BLOCK_PAGE_BITS 12
#define BLOCK_PAGES (1u << 20)
static const BlockRec **block_pages[BLOCK_PAGES];
static SlotTable block_index; /* hash of (content, expected) -> creation index */

static uint64_t content_hash64(uint64_t start, const InsnId *ids, uint32_t n)
{
    uint64_t h = start * 0x9e3779b97f4a7c15ull ^ n;
    for (uint32_t i = 0; i < n; i++) {
        h = (h ^ ids[i]) * 0x100000001b3ull;
    }
    return h;
}

guint registry_block_content_hash(gconstpointer p)
{
    const BlockRec *b = p;
    uint64_t h = content_hash64(b->start, b->ids, b->n_insns);
    return (guint)(h ^ (h >> 32));
}

gboolean registry_block_content_equal(gconstpointer a, gconstpointer b)
{
    const BlockRec *x = a, *y = b;
    return x->start == y->start && x->n_insns == y->n_insns &&
           memcmp(x->ids, y->ids, x->n_insns * sizeof(InsnId)) == 0;
}

/* A block record is its content plus the predecessors it was instrumented to expect. */
static uint32_t block_hash(uint64_t start, uint64_t expected, uint64_t second, const InsnId *ids,
                           uint32_t n)
{
    return mix64(content_hash64(start, ids, n) ^ expected * 0x9e3779b1u ^ second << 40);
}

void registry_init(bool physical)
{
    physical_identity = physical;
    slots_init(&insn_index, 1u << 14);
    slots_init(&later_index, 1u << 4);
    symbol_index = g_hash_table_new(g_direct_hash, g_direct_equal);
    symbol_names = g_ptr_array_new();
    g_ptr_array_add(symbol_names, NULL);
    slots_init(&block_index, 1u << 12);
}

bool registry_physical(void)
{
    return physical_identity;
}

void registry_lock(void)
{
    pthread_mutex_lock(&lock);
}

void registry_unlock(void)
{
    pthread_mutex_unlock(&lock);
}

/*
 * The instructions of one 32-byte stretch of code hash to one run of 8 slots (one cache line
 * of the index), a slot per 4 bytes: a block's instructions, looked up one after the other at
 * translation, then cost one cache miss, not one each (the first probe was most of
 * registry_insn's time). 32 bytes hold about 8 x86 instructions and exactly 8 aarch64 or
 * riscv ones; with 64-byte stretches twice as many shared the 8 slots, and the runs a new
 * instruction probes to their end grew long (half of registry_insn's time on python3).
 */
static uint32_t insn_hash(uint64_t ident, uint8_t priv)
{
    return mix64((ident >> 5) ^ (uint64_t)priv << 56) << 3 | (uint32_t)((ident >> 2) & 7);
}

void registry_prefetch(const struct qemu_plugin_tb *tb, size_t n, uint8_t priv)
{
    struct qemu_plugin_insn *first = qemu_plugin_tb_get_insn(tb, 0);
    struct qemu_plugin_insn *last = qemu_plugin_tb_get_insn(tb, n - 1);
    uint64_t start = qemu_plugin_insn_vaddr(first);
    uint64_t end = qemu_plugin_insn_vaddr(last) + qemu_plugin_insn_size(last);
    /* the identity registry_insn hashes (system mode: the host address of the page) */
    uint64_t ident = start;
    if (physical_identity) {
        ident = (uint64_t)(uintptr_t)qemu_plugin_insn_haddr(first);
    }
    /* the block's 32-byte stretches, at most 4 (longer blocks are rare) */
    for (uint64_t a = ident & ~(uint64_t)31; a < ident + MIN(end - start, 128); a += 32) {
        slots_prefetch(&insn_index, insn_hash(a, priv));
    }
    fallthrough_prefetch(start); /* the fall-through guess (hotpath_expected_pred) */
    fallthrough_prefetch(end);   /* this block's claim (fallthrough_owner) */
}

static bool same_insn(uint64_t id, const uint8_t *bytes, size_t size)
{
    return insn_at(id)->size == size && memcmp(registry_insn_bytes(id), bytes, size) == 0;
}

/* Where a later generation is filed: its place and its content. */
static uint32_t later_hash(uint64_t ident, uint8_t priv, const uint8_t *bytes, size_t size)
{
    uint64_t h = u64_mix(ident ^ (uint64_t)priv << 56) ^ size;
    for (size_t i = 0; i < size; i++) {
        h = (h ^ bytes[i]) * 0x100000001b3ull;
    }
    return mix64(h);
}

uint64_t registry_reserve_id(void)
{
    if (physical_identity) {
        return 0;
    }
    ensure_insn_page(n_insns + 1);
    return ++n_insns;
}

uint64_t registry_insn(const struct qemu_plugin_insn *insn, uint8_t priv, bool ends_block)
{
    g_assert(!released);
    uint8_t buf[INSN_MAX_BYTES];
    size_t size = qemu_plugin_insn_size(insn);
    if (size > sizeof(buf)) {
        size = sizeof(buf);
    }
    size = qemu_plugin_insn_data(insn, buf, size);
    uint64_t vaddr = qemu_plugin_insn_vaddr(insn);
    void *haddr = physical_identity ? qemu_plugin_insn_haddr(insn) : NULL;
    uint64_t ident = haddr ? (uint64_t)(uintptr_t)haddr : vaddr;
    /* the first instruction seen at this place (ident and level), if any */
    uint32_t h = insn_hash(ident, priv);
    uint64_t first = 0;
    for (uint64_t j = h & insn_index.mask; insn_index.slots[j]; j = (j + 1) & insn_index.mask) {
        uint64_t slot = insn_index.slots[j];
        if (slot_hash(slot) == h && insn_ident(slot_index(slot) + 1) == ident &&
            insn_at(slot_index(slot) + 1)->priv == priv) {
            first = slot_index(slot) + 1;
            break;
        }
    }
    if (first && same_insn(first, buf, size)) {
        return first;
    }
    /* a later generation: found by content */
    uint32_t hl = first ? later_hash(ident, priv, buf, size) : 0;
    for (uint64_t j = hl & later_index.mask; first && later_index.slots[j];
         j = (j + 1) & later_index.mask) {
        uint64_t slot = later_index.slots[j];
        uint64_t id = slot_index(slot) + 1;
        if (slot_hash(slot) == hl && insn_ident(id) == ident && insn_at(id)->priv == priv &&
            same_insn(id, buf, size)) {
            return id;
        }
    }
    uint64_t id = first || !ends_block ? 0 : fallthrough_claim(vaddr, buf, (uint32_t)size);
    bool fresh = !id;
    if (fresh) {
        id = n_insns + 1;
        ensure_insn_page(id);
    }
    InsnRec *r = insn_at(id);
    if (physical_identity) {
        *(uint64_t *)side_at((void **)ident_pages, id, sizeof(uint64_t)) = ident;
    }
    r->priv = priv;
    r->size = (uint8_t)size;
    keep_bytes(id, r, buf, size);
    if (!disas_deferred()) { /* see disas.h */
        *(char **)side_at((void **)disas_pages, id, sizeof(char *)) = qemu_plugin_insn_disas(insn);
    }
    r->symbol = intern_symbol(qemu_plugin_insn_symbol(insn));
    r->may_leave = -1;
    /*
     * generations number the distinct instructions seen at one address (new contents; in
     * system mode also another physical page or level behind the same virtual address), so
     * (address, generation) names one instruction
     */
    r->generation = physical_identity ? next_generation(vaddr)
                    : first           ? next_generation(vaddr) + 1 /* counts rewrites only */
                                      : 0;
    __atomic_store_n(&r->addr, vaddr, __ATOMIC_RELEASE); /* registry_insn_addr_unlocked */
    if (first) {
        slots_insert(&later_index, hl, id - 1);
    } else {
        slots_insert(&insn_index, h, id - 1);
    }
    if (fresh) {
        n_insns = id;
    }
    return id;
}

static bool block_is(const BlockRec *b, uint64_t start, uint64_t expected, uint64_t second,
                     const InsnId *ids, uint32_t n)
{
    return b->start == start && b->expected == expected && b->second == second &&
           b->n_insns == n &&
           memcmp(b->ids, ids, n * sizeof(InsnId)) == 0;
}

/*
 * Blocks are freed only at a user-mode exit (registry_release_blocks): bump allocation from
 * mapped 64 KiB chunks, no per-block malloc overhead, and the chunks go back to the kernel
 * as soon as they are unmapped.
 */
#define BLOCK_CHUNK ((size_t)64 << 10)
static GPtrArray *block_chunks; /* every chunk, for registry_release_blocks */

static BlockRec *block_alloc(uint32_t n)
{
    static char *chunk;
    static size_t left;
    size_t size = (offsetof(BlockRec, ids) + n * sizeof(InsnId) + 7) & ~(size_t)7;
    if (size > left) {
        size_t chunk_size = MAX(size, BLOCK_CHUNK);
        chunk = mmap(NULL, chunk_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (chunk == MAP_FAILED) {
            g_error("cflow: out of memory for block records");
        }
        if (!block_chunks) {
            block_chunks = g_ptr_array_new();
        }
        g_ptr_array_add(block_chunks, chunk);
        g_ptr_array_add(block_chunks, GSIZE_TO_POINTER(chunk_size));
        left = chunk_size;
    }
    BlockRec *b = (BlockRec *)chunk;
    chunk += size;
    left -= size;
    return b;
}

void registry_release_blocks(void)
{
    g_assert(released);
    for (guint i = 0; block_chunks && i < block_chunks->len; i += 2) {
        munmap(g_ptr_array_index(block_chunks, i),
               GPOINTER_TO_SIZE(g_ptr_array_index(block_chunks, i + 1)));
    }
    if (block_chunks) {
        g_ptr_array_set_size(block_chunks, 0);
    }
    for (uint32_t p = 0; p <= (n_blocks >> BLOCK_PAGE_BITS) && p < BLOCK_PAGES; p++) {
        g_free(block_pages[p]);
        block_pages[p] = NULL;
    }
    n_blocks = 0;
}

BlockRec *registry_block(uint64_t start, uint64_t end, uint64_t expected, uint64_t second,
                         const InsnId *ids, uint32_t n)
{
    g_assert(!released);
    uint32_t h = block_hash(start, expected, second, ids, n);
    for (uint64_t j = h & block_index.mask; block_index.slots[j];
         j = (j + 1) & block_index.mask) {
        uint64_t slot = block_index.slots[j];
        if (slot_hash(slot) == h) {
            BlockRec *b = registry_block_by_index((guint)slot_index(slot));
            if (block_is(b, start, expected, second, ids, n)) {
                return b;
            }
        }
    }
    BlockRec *b = block_alloc(n);
    b->start = start;
    b->end = end;
    b->expected = expected;
    b->second = (InsnId)second;
    b->slot2 = 0;
    b->n_insns = n;
    memcpy(b->ids, ids, n * sizeof(InsnId));
    b->slot = n_blocks++;
    const BlockRec ***page = &block_pages[(b->slot >> BLOCK_PAGE_BITS) % BLOCK_PAGES];
    if (!*page) {
        __atomic_store_n(page, g_new0(const BlockRec *, 1u << BLOCK_PAGE_BITS), __ATOMIC_RELEASE);
    }
    __atomic_store_n(&(*page)[b->slot & ((1u << BLOCK_PAGE_BITS) - 1)], b, __ATOMIC_RELEASE);
    slots_insert(&block_index, h, b->slot);
    return b;
}

void registry_release_indexes(void)
{
    g_free(insn_index.slots);
    g_free(later_index.slots);
    later_index = (SlotTable){0};
    g_free(block_index.slots);
    fallthrough_release();
    u64map_free(&generations);
    insn_index = (SlotTable){0};
    block_index = (SlotTable){0};
    released = true;
}

void registry_release_insns_below(uint64_t id)
{
    g_assert(released);
    uint64_t page = id >> INSN_PAGE_BITS;
    while (released_pages < page) {
        if (insn_pages[released_pages]) {
            munmap(insn_pages[released_pages], INSN_PAGE_SIZE * sizeof(InsnRec));
        }
        g_free(ident_pages[released_pages]);
        insn_pages[released_pages] = NULL;
        ident_pages[released_pages] = NULL;
        released_pages++;
    }
}

bool registry_insn_may_leave(uint64_t id)
{
    InsnRec *r = insn_at(id);
    if (r->may_leave < 0) {
        r->may_leave = disas_may_leave_block(r->addr, registry_insn_bytes(id), r->size);
    }
    return r->may_leave;
}

const char *registry_insn_disas(uint64_t id)
{
    char **page = disas_pages[(id >> INSN_PAGE_BITS) % INSN_PAGES];
    return page ? page[id & (INSN_PAGE_SIZE - 1)] : NULL;
}

const char *registry_insn_symbol(uint64_t id)
{
    return g_ptr_array_index(symbol_names, insn_at(id)->symbol);
}

const InsnRec *registry_insn_by_id(uint64_t id)
{
    return id > 0 && id <= n_insns ? insn_at(id) : NULL;
}

uint64_t registry_insn_addr_unlocked(uint64_t id)
{
    const InsnRec *page = __atomic_load_n(&insn_pages[(id >> INSN_PAGE_BITS) % INSN_PAGES],
                                          __ATOMIC_ACQUIRE);
    return page ? __atomic_load_n(&page[id & (INSN_PAGE_SIZE - 1)].addr, __ATOMIC_ACQUIRE) : 0;
}

uint64_t registry_insn_count(void)
{
    return n_insns;
}

guint registry_block_count(void)
{
    return n_blocks;
}

BlockRec *registry_block_by_index(guint i)
{
    return (BlockRec *)block_pages[i >> BLOCK_PAGE_BITS][i & ((1u << BLOCK_PAGE_BITS) - 1)];
}

const BlockRec *registry_block_unlocked(uint32_t slot)
{
    const BlockRec **page = __atomic_load_n(&block_pages[(slot >> BLOCK_PAGE_BITS) % BLOCK_PAGES],
                                            __ATOMIC_ACQUIRE);
    return page ? __atomic_load_n(&page[slot & ((1u << BLOCK_PAGE_BITS) - 1)], __ATOMIC_ACQUIRE)
                : NULL;
}

bool registry_has_insn_at(uint64_t addr)
{
    for (uint8_t priv = 0; priv < 8; priv++) {
        uint32_t h = insn_hash(addr, priv);
        for (uint64_t j = h & insn_index.mask; insn_index.slots[j];
             j = (j + 1) & insn_index.mask) {
            uint64_t slot = insn_index.slots[j];
            if (slot_hash(slot) == h && insn_at(slot_index(slot) + 1)->addr == addr) {
                return true;
            }
        }
    }
    return false;
}
