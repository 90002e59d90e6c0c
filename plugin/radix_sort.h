/* radix_sort.h: a stable radix sort of fixed-size records by one unsigned field. */
#ifndef CFLOW_RADIX_SORT_H
#define CFLOW_RADIX_SORT_H

#include <glib.h>
#include <stddef.h>

/*
 * Stable sort of `n` elements of `elem` bytes by the unsigned field of `field_bytes` bytes at
 * `offset`: least significant digit first, 8 bits a pass, passes where every element has the
 * same digit skipped (user-space addresses share their top bytes). A profile sorts one key per
 * instruction (a python3 start-up 140,000, cc1 520,000) and one per edge: qsort's callback
 * per comparison cost more than the rest of the ordering. Sort by several fields by calling it
 * for each, the least significant first. `field_bytes` is 1 to 4 (read as a 4-byte
 * container, which must lie inside the element) or 8.
 */
void radix_sort_by(void *base, guint n, size_t elem, size_t offset, int field_bytes);

#endif
