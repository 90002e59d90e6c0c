/* registry.c: translation-time records of instructions and blocks (see registry.h). */
#include "registry.h"

#include <pthread.h>

#include <string.h>

#include "disas.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static GPtrArray *insns;      /* id -> InsnRec*, index 0 unused */
static GHashTable *insn_index; /* InsnRec* (as key: addr, size, bytes) -> id */
static GHashTable *generations; /* addr -> number of distinct contents seen */
static GPtrArray *blocks;      /* BlockRec*, creation order */
static GHashTable *block_index; /* BlockRec* -> BlockRec* */
static GHashTable *owners;      /* end address -> owner instruction id */
/*
 * id -> address, readable without the lock (a helper asking where an instruction is): pages
 * that never move, allocated as ids grow, under a top level that covers every id.
 */
#define ADDR_PAGE_BITS 12
#define ADDR_PAGES (1u << 20)
static uint64_t *addr_pages[ADDR_PAGES];

static bool physical_identity;

static guint insn_hash(gconstpointer p)
{
    const InsnRec *r = p;
    guint h = g_int64_hash(&r->ident) ^ (r->size * 2654435761u) ^ r->priv;
    for (uint32_t i = 0; i < r->size; i++) {
        h = h * 31 + r->bytes[i];
    }
    return h;
}

static gboolean insn_equal(gconstpointer a, gconstpointer b)
{
    const InsnRec *x = a, *y = b;
    return x->ident == y->ident && x->size == y->size && x->priv == y->priv &&
           memcmp(x->bytes, y->bytes, x->size) == 0;
}

guint registry_block_content_hash(gconstpointer p)
{
    const BlockRec *b = p;
    guint64 h = b->start * 0x9e3779b97f4a7c15ull ^ b->n_insns;
    for (uint32_t i = 0; i < b->n_insns; i++) {
        h = (h ^ b->ids[i]) * 0x100000001b3ull;
    }
    return (guint)(h ^ (h >> 32));
}

gboolean registry_block_content_equal(gconstpointer a, gconstpointer b)
{
    const BlockRec *x = a, *y = b;
    return x->start == y->start && x->n_insns == y->n_insns &&
           memcmp(x->ids, y->ids, x->n_insns * sizeof(uint64_t)) == 0;
}

/* A block record is its content plus the predecessor it was instrumented to expect. */
static guint block_hash(gconstpointer p)
{
    const BlockRec *b = p;
    return registry_block_content_hash(b) ^ (guint)(b->expected * 0x9e3779b1u);
}

static gboolean block_equal(gconstpointer a, gconstpointer b)
{
    const BlockRec *x = a, *y = b;
    return x->expected == y->expected && registry_block_content_equal(x, y);
}

void registry_init(bool physical)
{
    physical_identity = physical;
    insns = g_ptr_array_new();
    g_ptr_array_add(insns, NULL);
    insn_index = g_hash_table_new(insn_hash, insn_equal);
    generations = g_hash_table_new(g_int64_hash, g_int64_equal);
    blocks = g_ptr_array_new();
    block_index = g_hash_table_new(block_hash, block_equal);
    owners = g_hash_table_new(g_int64_hash, g_int64_equal);
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

uint64_t registry_insn(const struct qemu_plugin_insn *insn, uint8_t priv)
{
    uint8_t buf[64];
    size_t size = qemu_plugin_insn_size(insn);
    if (size > sizeof(buf)) {
        size = sizeof(buf);
    }
    size = qemu_plugin_insn_data(insn, buf, size);
    uint64_t vaddr = qemu_plugin_insn_vaddr(insn);
    void *haddr = physical_identity ? qemu_plugin_insn_haddr(insn) : NULL;
    InsnRec key = {.addr = vaddr, .ident = haddr ? (uint64_t)(uintptr_t)haddr : vaddr,
                   .size = (uint32_t)size, .bytes = buf, .priv = priv};
    gpointer id;
    if (g_hash_table_lookup_extended(insn_index, &key, NULL, &id)) {
        return GPOINTER_TO_SIZE(id);
    }
    InsnRec *r = g_new0(InsnRec, 1);
    r->addr = key.addr;
    r->ident = key.ident;
    r->priv = priv;
    r->size = key.size;
    r->bytes = g_memdup2(buf, size);
    r->disas = disas_deferred() ? NULL : qemu_plugin_insn_disas(insn); /* see disas.h */
    r->symbol = qemu_plugin_insn_symbol(insn);
    r->may_leave = -1;
    /*
     * generations number the distinct instructions seen at one address (new contents; in
     * system mode also another physical page or level behind the same virtual address), so
     * (address, generation) names one instruction; the key lives in the first InsnRec there
     */
    gpointer gen;
    if (g_hash_table_lookup_extended(generations, &r->addr, NULL, &gen)) {
        r->generation = GPOINTER_TO_UINT(gen);
        g_hash_table_replace(generations, &r->addr, GUINT_TO_POINTER(r->generation + 1));
    } else {
        g_hash_table_insert(generations, &r->addr, GUINT_TO_POINTER(1));
    }
    g_ptr_array_add(insns, r);
    uint64_t new_id = insns->len - 1;
    uint64_t **page = &addr_pages[(new_id >> ADDR_PAGE_BITS) % ADDR_PAGES];
    if (!*page) {
        __atomic_store_n(page, g_new0(uint64_t, 1u << ADDR_PAGE_BITS), __ATOMIC_RELEASE);
    }
    __atomic_store_n(&(*page)[new_id & ((1u << ADDR_PAGE_BITS) - 1)], r->addr, __ATOMIC_RELEASE);
    g_hash_table_insert(insn_index, r, GSIZE_TO_POINTER(new_id));
    return new_id;
}

BlockRec *registry_block(uint64_t start, uint64_t end, uint64_t expected, const uint64_t *ids,
                         uint32_t n)
{
    BlockRec *b = g_malloc0(sizeof(BlockRec) + n * sizeof(uint64_t));
    b->start = start;
    b->end = end;
    b->expected = expected;
    b->n_insns = n;
    b->last_id = ids[n - 1];
    memcpy(b->ids, ids, n * sizeof(uint64_t));
    BlockRec *old = g_hash_table_lookup(block_index, b);
    if (old) {
        g_free(b);
        return old;
    }
    b->slot = blocks->len;
    g_ptr_array_add(blocks, b);
    g_hash_table_add(block_index, b);
    return b;
}

uint64_t registry_fallthrough_owner(uint64_t end, uint64_t id)
{
    uint64_t *key = g_new(uint64_t, 1);
    *key = end;
    gpointer owner;
    if (g_hash_table_lookup_extended(owners, key, NULL, &owner)) {
        g_free(key);
        return GPOINTER_TO_SIZE(owner);
    }
    g_hash_table_insert(owners, key, GSIZE_TO_POINTER(id));
    return id;
}

uint64_t registry_fallthrough_owner_of(uint64_t end)
{
    return GPOINTER_TO_SIZE(g_hash_table_lookup(owners, &end));
}

const char *registry_insn_disas(uint64_t id)
{
    InsnRec *r = g_ptr_array_index(insns, id);
    if (!r->disas) {
        r->disas = disas_bytes(r->addr, r->bytes, r->size);
    }
    return r->disas;
}

bool registry_insn_may_leave(uint64_t id)
{
    InsnRec *r = g_ptr_array_index(insns, id);
    if (r->may_leave < 0) {
        r->may_leave = disas_may_leave_block(r->addr, r->bytes, r->size);
    }
    return r->may_leave;
}

const InsnRec *registry_insn_by_id(uint64_t id)
{
    return id > 0 && id < insns->len ? g_ptr_array_index(insns, id) : NULL;
}

uint64_t registry_insn_addr_unlocked(uint64_t id)
{
    uint64_t *page = __atomic_load_n(&addr_pages[(id >> ADDR_PAGE_BITS) % ADDR_PAGES],
                                     __ATOMIC_ACQUIRE);
    return page ? __atomic_load_n(&page[id & ((1u << ADDR_PAGE_BITS) - 1)], __ATOMIC_ACQUIRE) : 0;
}

uint64_t registry_insn_count(void)
{
    return insns->len - 1;
}

guint registry_block_count(void)
{
    return blocks->len;
}

BlockRec *registry_block_by_index(guint i)
{
    return g_ptr_array_index(blocks, i);
}
