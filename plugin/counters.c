/*
 * counters.c: per-block inline counters in scoreboard chunks (counters.h).
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "counters.h"

/* QEMU allocates every scoreboard for at least this many vCPU indices (plugins/core.c) */
#define MIN_SCOREBOARD_INDICES 16u
#define CHUNK_BYTES (COUNTER_SLOTS_PER_CHUNK * sizeof(uint64_t))

void counters_init(CounterSpace *s)
{
    s->chunks = g_ptr_array_new();
    s->retired = g_array_new(FALSE, TRUE, sizeof(uint64_t));
}

/*
 * A new chunk. QEMU sizes every scoreboard for at least 16 vCPU indices and zero-fills it, so
 * with one thread 15/16 of a chunk's memory would be resident and never used: the pages of
 * indices no vCPU has taken yet go back to the kernel, which hands out zero pages again if a
 * thread ever takes one. Safe only here, at creation: nothing has counted into the chunk yet,
 * and no vCPU can be growing the scoreboards (that takes an exclusive section, which waits for
 * this translation to end).
 */
static struct qemu_plugin_scoreboard *new_chunk(unsigned int first_unused)
{
    struct qemu_plugin_scoreboard *chunk = qemu_plugin_scoreboard_new(CHUNK_BYTES);
    first_unused = MAX(first_unused, 1u);
    if (first_unused < MIN_SCOREBOARD_INDICES) {
        long page = sysconf(_SC_PAGESIZE);
        /* one array of elements (the API looks up only indices already started) */
        uintptr_t base = (uintptr_t)qemu_plugin_scoreboard_find(chunk, 0);
        uintptr_t from = base + first_unused * CHUNK_BYTES;
        uintptr_t to = base + MIN_SCOREBOARD_INDICES * CHUNK_BYTES;
        from = (from + (uintptr_t)page - 1) & ~(uintptr_t)(page - 1);
        to &= ~(uintptr_t)(page - 1);
        if (to > from) {
            madvise((void *)from, to - from, MADV_DONTNEED);
        }
    }
    return chunk;
}

void counters_ensure(CounterSpace *s, uint32_t slot, unsigned int first_unused_index)
{
    while (counters_capacity(s) <= slot) {
        g_ptr_array_add(s->chunks, new_chunk(first_unused_index));
    }
}

qemu_plugin_u64 counters_entry(const CounterSpace *s, uint32_t slot)
{
    guint chunk = slot / COUNTER_SLOTS_PER_CHUNK;
    return (qemu_plugin_u64){.score = g_ptr_array_index(s->chunks, chunk),
                             .offset = (slot % COUNTER_SLOTS_PER_CHUNK) * sizeof(uint64_t)};
}

uint64_t counters_sum(const CounterSpace *s, uint32_t slot)
{
    uint64_t n = slot < s->retired->len ? g_array_index(s->retired, uint64_t, slot) : 0;
    if (slot < counters_capacity(s)) {
        n += qemu_plugin_u64_sum(counters_entry(s, slot));
    }
    return n;
}

void counters_free(CounterSpace *s)
{
    for (guint ch = 0; ch < s->chunks->len; ch++) {
        qemu_plugin_scoreboard_free(g_ptr_array_index(s->chunks, ch));
    }
    g_ptr_array_set_size(s->chunks, 0);
}

void counters_retire(CounterSpace *s)
{
    guint slots = (guint)counters_capacity(s);
    if (s->retired->len < slots) {
        g_array_set_size(s->retired, slots);
    }
    for (guint slot = 0; slot < slots; slot++) {
        g_array_index(s->retired, uint64_t, slot) += qemu_plugin_u64_sum(counters_entry(s, slot));
    }
    counters_free(s);
}

void counters_reset(CounterSpace *s, unsigned int used)
{
    memset(s->retired->data, 0, s->retired->len * sizeof(uint64_t));
    for (guint ch = 0; ch < s->chunks->len; ch++) {
        for (unsigned int cpu = 0; cpu < used; cpu++) {
            uint64_t *slots = qemu_plugin_scoreboard_find(g_ptr_array_index(s->chunks, ch), cpu);
            memset(slots, 0, CHUNK_BYTES);
        }
    }
}
