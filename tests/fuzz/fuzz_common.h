/*
 * fuzz_common.h: helpers shared by the fuzz targets (tests/fuzz/fuzz_*.c).
 *
 * Each target is a libFuzzer entry point, LLVMFuzzerTestOneInput, built two ways: with clang's
 * -fsanitize=fuzzer,address,undefined by tests/fuzz/run, and with any compiler against
 * replay.c, a small driver that feeds it the committed corpus (the meson test 'fuzz-corpus').
 *
 * A failed check prints what was wrong and aborts, which libFuzzer reports as a crash and
 * saves the input for.
 */
#ifndef CFLOW_FUZZ_COMMON_H
#define CFLOW_FUZZ_COMMON_H

#include "profile.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define FUZZ_CHECK(cond, ...)                                                                  \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "fuzz: %s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);     \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                               \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* GLib's criticals and warnings (g_return_if_fail ...) are bugs here: make them abort. */
static inline void fuzz_init(void)
{
    g_log_set_always_fatal(G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
}

static inline uint32_t fuzz_rd32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint64_t fuzz_rd64(const uint8_t *b)
{
    return (uint64_t)fuzz_rd32(b) | (uint64_t)fuzz_rd32(b + 4) << 32;
}

static inline void fuzz_wr32(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
}

static inline void fuzz_wr64(uint8_t *b, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
}

/*
 * Makes a mutated file consistent where a fuzzer could never be by chance: sets file_size to
 * the length, recomputes every in-bounds section CRC, then the header CRC. What is left wrong is
 * structure, which is what the reader's later checks are for. Does nothing to an input too
 * short or with too many sections to have a section table.
 */
static inline void fuzz_fix_file(uint8_t *f, size_t len)
{
    if (len < CFLOW_PROFILE_HEADER_SIZE) {
        return;
    }
    uint32_t n = fuzz_rd32(f + 12);
    if (n > CFLOW_PROFILE_MAX_SECTIONS) {
        return;
    }
    size_t hl = CFLOW_PROFILE_HEADER_SIZE + (size_t)n * CFLOW_PROFILE_SECTION_ENTRY_SIZE;
    if (hl > len) {
        return;
    }
    fuzz_wr64(f + 16, len);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = f + CFLOW_PROFILE_HEADER_SIZE + i * CFLOW_PROFILE_SECTION_ENTRY_SIZE;
        uint64_t off = fuzz_rd64(e + 8), l = fuzz_rd64(e + 16);
        if (off <= len && l <= len - off) {
            fuzz_wr32(e + 4, (uint32_t)crc32(crc32(0, NULL, 0), f + off, (uInt)l));
        }
    }
    fuzz_wr32(f + 28, 0);
    fuzz_wr32(f + 28, (uint32_t)crc32(crc32(0, NULL, 0), f, (uInt)hl));
}

/* A rejection must be a CFLOW_PROFILE_ERROR with a short, printable, ASCII message. */
static inline void fuzz_check_error(const GError *err)
{
    FUZZ_CHECK(err != NULL, "rejected without an error");
    FUZZ_CHECK(err->domain == CFLOW_PROFILE_ERROR, "error domain %s",
               g_quark_to_string(err->domain));
    FUZZ_CHECK(err->code >= CFLOW_PROFILE_ERROR_IO && err->code <= CFLOW_PROFILE_ERROR_CHECKSUM,
               "error code %d", err->code);
    size_t n = strlen(err->message);
    FUZZ_CHECK(n > 0 && n < 512, "message length %zu", n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)err->message[i];
        FUZZ_CHECK(c >= 0x20 && c < 0x7f, "byte 0x%02x at %zu in message \"%s\"", c, i,
                   err->message);
    }
}

/* Parses data, checking the contract either way: a valid profile, or a proper error. */
static inline CflowProfile *fuzz_parse(const uint8_t *data, size_t size, GError **err_out)
{
    GError *err = NULL;
    CflowProfile *p = cflow_profile_parse(data, size, &err);
    if (p == NULL) {
        fuzz_check_error(err);
        if (err_out != NULL) {
            *err_out = err;
        } else {
            g_error_free(err);
        }
        return NULL;
    }
    FUZZ_CHECK(err == NULL, "accepted with an error: %s", err->message);
    GError *verr = NULL;
    FUZZ_CHECK(cflow_profile_validate(p, &verr), "accepted an invalid profile: %s",
               verr->message);
    return p;
}

#define FUZZ_SAME_ARRAY(a, b, what)                                                            \
    FUZZ_CHECK((a)->len == (b)->len &&                                                         \
                   ((a)->len == 0 ||                                                           \
                    memcmp((a)->data, (b)->data,                                               \
                           (size_t)(a)->len * g_array_get_element_size(a)) == 0),              \
               "%s differ after the round trip (%u vs %u records)", what, (a)->len, (b)->len)

/* Every table of a and b equal, record for record, the string pools and the privilege levels
 * byte for byte. */
static inline void fuzz_check_equal(const CflowProfile *a, const CflowProfile *b)
{
    FUZZ_SAME_ARRAY(a->meta, b->meta, "meta");
    FUZZ_SAME_ARRAY(a->insns, b->insns, "insns");
    FUZZ_SAME_ARRAY(a->edges, b->edges, "edges");
    FUZZ_SAME_ARRAY(a->blocks, b->blocks, "blocks");
    FUZZ_SAME_ARRAY(a->block_insns, b->block_insns, "block_insns");
    FUZZ_CHECK(a->strings->len == b->strings->len &&
                   memcmp(a->strings->data, b->strings->data, a->strings->len) == 0,
               "string pools differ after the round trip (%u vs %u bytes)", a->strings->len,
               b->strings->len);
    FUZZ_CHECK(a->insn_priv->len == b->insn_priv->len &&
                   (a->insn_priv->len == 0 ||
                    memcmp(a->insn_priv->data, b->insn_priv->data, a->insn_priv->len) == 0),
               "privilege levels differ after the round trip (%u vs %u)", a->insn_priv->len,
               b->insn_priv->len);
}

/*
 * Serializes p, parses the bytes back (which must succeed), checks the result equals p and
 * serializes to the same bytes again. Returns the re-parsed profile.
 */
static inline CflowProfile *fuzz_roundtrip(const CflowProfile *p)
{
    GBytes *b1 = cflow_profile_serialize(p);
    gsize n1;
    const uint8_t *d1 = g_bytes_get_data(b1, &n1);
    FUZZ_CHECK(n1 >= CFLOW_PROFILE_HEADER_SIZE && fuzz_rd64(d1 + 16) == n1,
               "serialized %zu bytes, header says %" PRIu64, (size_t)n1,
               n1 >= 24 ? fuzz_rd64(d1 + 16) : 0);
    GError *err = NULL;
    CflowProfile *q = cflow_profile_parse(d1, n1, &err);
    FUZZ_CHECK(q != NULL, "the serialized profile does not parse: %s", err->message);
    fuzz_check_equal(p, q);
    GBytes *b2 = cflow_profile_serialize(q);
    FUZZ_CHECK(g_bytes_equal(b1, b2), "serializing the re-parsed profile gives other bytes");
    g_bytes_unref(b2);
    g_bytes_unref(b1);
    return q;
}

#endif
