/*
 * sorted-search.h: the binary search the tool's address indexes share (dwarf-index.c,
 * elf-symbols.c): in an array sorted by a 64-bit address held in each element, how many
 * elements start at or below an address. The last of those is the one that may hold it.
 */
#ifndef CFLOW_SORTED_SEARCH_H
#define CFLOW_SORTED_SEARCH_H

#include <glib.h>
#include <stdint.h>
#include <string.h>

/* Elements of `a` whose uint64_t at byte `offset` is at most `key` (a sorted by that field). */
static inline guint cflow_count_at_or_below(const GArray *a, size_t offset, uint64_t key)
{
    guint size = g_array_get_element_size((GArray *)a);
    guint lo = 0, hi = a->len;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        uint64_t v;
        memcpy(&v, a->data + (size_t)mid * size + offset, sizeof v);
        if (v <= key) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

#endif
