/* radix_sort.c: the stable least-significant-digit sort the profile's ordering uses. */
#include "radix_sort.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/*
 * The field as a number: 8 bytes, or 4 (a narrower field is read as its 4-byte container).
 * memcpy: an element size need not keep the field aligned; it compiles to one load.
 */
static inline uint64_t field_of(const uint8_t *p, size_t offset, int field_bytes)
{
    if (field_bytes == 8) {
        uint64_t v;
        memcpy(&v, p + offset, sizeof v);
        return v;
    }
    uint32_t v;
    memcpy(&v, p + offset, sizeof v);
    return v;
}

/*
 * One pass's scatter. The element size is a constant in each instance, so the copy is a few
 * moves: a memcpy call per element of a runtime size cost more than the rest of the sort.
 */
#define RADIX_SCATTER(size)                                                                  \
    for (guint i = 0; i < n; i++) {                                                          \
        const uint8_t *from = a + i * (size_t)(size);                                        \
        unsigned digit = (unsigned)(field_of(from, offset, field_bytes) >> shift) & 0xff;    \
        memcpy(tmp + pos[digit]++ * (size_t)(size), from, (size));                           \
    }

void radix_sort_by(void *base, guint n, size_t elem, size_t offset, int field_bytes)
{
    g_assert(field_bytes >= 1 && field_bytes <= 8 && field_bytes != 5 && field_bytes != 6 &&
             field_bytes != 7 && offset + (field_bytes == 8 ? 8 : 4) <= elem);
    uint8_t *a = base, *tmp = g_malloc(n ? n * elem : 1);
    /* every digit's histogram from one read of the array */
    size_t(*count)[256] = g_malloc0((size_t)field_bytes * sizeof *count);
    for (guint i = 0; i < n; i++) {
        uint64_t v = field_of(a + i * elem, offset, field_bytes);
        for (int d = 0; d < field_bytes; d++) {
            count[d][(v >> (8 * d)) & 0xff]++;
        }
    }
    for (int d = 0; d < field_bytes; d++) {
        int shift = 8 * d;
        bool one_digit = false;
        for (int v = 0; v < 256; v++) {
            one_digit |= count[d][v] == n;
        }
        if (one_digit) {
            continue;
        }
        size_t pos[256], sum = 0;
        for (int v = 0; v < 256; v++) {
            pos[v] = sum;
            sum += count[d][v];
        }
        if (elem == 16) {
            RADIX_SCATTER(16)
        } else if (elem == 24) {
            RADIX_SCATTER(24)
        } else {
            RADIX_SCATTER(elem)
        }
        uint8_t *swap = a;
        a = tmp;
        tmp = swap;
    }
    g_free(count);
    if (a != base) {
        memcpy(base, a, n * elem);
        tmp = a;
    }
    g_free(tmp);
}
