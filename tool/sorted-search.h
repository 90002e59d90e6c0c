/*
 * sorted-search.h: the binary search the tool's address indexes share (dwarf-index.c,
 * elf-symbols.c): in an array sorted by a 64-bit address held in each element, how many
 * elements start at or below an address (the last of those is the one that may hold it), and
 * how far the elements up to each one reach.
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

/*
 * Sets each element's uint64_t at `reach` to the largest uint64_t at `end` of it and of the
 * elements before it: with that, a search walking back from the last element starting at or
 * below an address can stop at the first whose reach does not get past the address.
 */
static inline void cflow_fill_reach(GArray *a, size_t end, size_t reach)
{
    guint size = g_array_get_element_size(a);
    uint64_t most = 0;
    for (guint i = 0; i < a->len; i++) {
        char *e = a->data + (size_t)i * size;
        uint64_t v;
        memcpy(&v, e + end, sizeof v);
        most = MAX(most, v);
        memcpy(e + reach, &most, sizeof most);
    }
}

#endif
