/*
 * profile_fixtures.c: the helpers the profile library's unit tests share (profile_fixtures.h).
 */
#include "profile_fixtures.h"

#include <string.h>
#include <unistd.h>
#include <zlib.h>

uint32_t rd32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

uint64_t rd64(const uint8_t *b)
{
    return (uint64_t)rd32(b) | (uint64_t)rd32(b + 4) << 32;
}

void wr32(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
}

void wr64(uint8_t *b, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
}

uint8_t *entry(uint8_t *file, unsigned i)
{
    return file + CFLOW_PROFILE_HEADER_SIZE + i * CFLOW_PROFILE_SECTION_ENTRY_SIZE;
}

size_t header_len_of(const uint8_t *file)
{
    return CFLOW_PROFILE_HEADER_SIZE + (size_t)rd32(file + 12) * CFLOW_PROFILE_SECTION_ENTRY_SIZE;
}

/* Table index of the section of the given type, or -1. */
int find_section(const uint8_t *file, uint32_t type)
{
    uint32_t n = rd32(file + 12);
    for (uint32_t i = 0; i < n; i++) {
        if (rd32(file + CFLOW_PROFILE_HEADER_SIZE + i * CFLOW_PROFILE_SECTION_ENTRY_SIZE) ==
            type) {
            return (int)i;
        }
    }
    return -1;
}

/* Recomputes the header CRC as the format doc says (the CRC field taken as zero). */
void fix_header_crc(uint8_t *file, size_t len)
{
    size_t hl = header_len_of(file);
    g_assert_cmpuint(hl, <=, len);
    wr32(file + 28, 0);
    wr32(file + 28, (uint32_t)crc32(crc32(0, NULL, 0), file, (uInt)hl));
}

/* Recomputes every in-bounds section CRC, then the header CRC: damage that only the structural
 * checks can catch. */
void fix_all_crcs(uint8_t *file, size_t len)
{
    if (len < CFLOW_PROFILE_HEADER_SIZE) {
        return;
    }
    uint32_t n = rd32(file + 12);
    if (n > CFLOW_PROFILE_MAX_SECTIONS || header_len_of(file) > len) {
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = entry(file, i);
        uint64_t off = rd64(e + 8), l = rd64(e + 16);
        if (off <= len && l <= len - off) {
            wr32(e + 4, (uint32_t)crc32(crc32(0, NULL, 0), file + off, (uInt)l));
        }
    }
    fix_header_crc(file, len);
}

/* Builds a container from arbitrary sections, with correct checksums and 8-byte alignment. */
GByteArray *assemble(const Part *parts, unsigned n)
{
    GByteArray *f = g_byte_array_new();
    size_t hl = CFLOW_PROFILE_HEADER_SIZE + n * CFLOW_PROFILE_SECTION_ENTRY_SIZE;
    g_byte_array_set_size(f, (guint)hl);
    memset(f->data, 0, hl);
    for (unsigned i = 0; i < n; i++) {
        while (f->len % 8 != 0) {
            const uint8_t z = 0;
            g_byte_array_append(f, &z, 1);
        }
        uint64_t off = f->len;
        g_byte_array_append(f, parts[i].data, (guint)parts[i].len);
        uint8_t *e = entry(f->data, i);
        wr32(e, parts[i].type);
        wr32(e + 4, (uint32_t)crc32(crc32(0, NULL, 0), parts[i].data, (uInt)parts[i].len));
        wr64(e + 8, off);
        wr64(e + 16, parts[i].len);
        wr64(e + 24, parts[i].count);
    }
    memcpy(f->data, CFLOW_PROFILE_MAGIC, 8);
    wr32(f->data + 8, CFLOW_PROFILE_VERSION);
    wr32(f->data + 12, n);
    wr64(f->data + 16, f->len);
    fix_header_crc(f->data, f->len);
    return f;
}

/* The sections of a serialized profile as Parts (pointing into file). */
unsigned split(const uint8_t *file, Part *parts)
{
    uint32_t n = rd32(file + 12);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = file + CFLOW_PROFILE_HEADER_SIZE + i * CFLOW_PROFILE_SECTION_ENTRY_SIZE;
        parts[i].type = rd32(e);
        parts[i].data = file + rd64(e + 8);
        parts[i].len = (size_t)rd64(e + 16);
        parts[i].count = rd64(e + 24);
    }
    return n;
}

CflowProfile *make_small(void)
{
    CflowProfile *p = cflow_profile_new();
    cflow_profile_set_meta(p, "arch", "aarch64");
    cflow_profile_set_meta(p, "command", "./a.out \"x\"");
    uint32_t i0 = cflow_profile_add_insn(p, 0x4006ec, 4, 0, "cmp x0, #1", "main");
    uint32_t i1 = cflow_profile_add_insn(p, 0x4006f0, 4, 0, "b.ne #0x4006ec", "main");
    uint32_t i2 = cflow_profile_add_insn(p, 0x4006f0, 4, 1, "nop", NULL);
    uint32_t i3 = cflow_profile_add_insn(p, 0xffffffff80001000ull, 2, 0, "", "");
    cflow_profile_add_edge(p, i1, CFLOW_EDGE_BRANCH, 0x4006ec, 666);
    cflow_profile_add_edge(p, i1, CFLOW_EDGE_FALLTHROUGH, 0x4006f4, 1);
    cflow_profile_add_edge(p, i2, CFLOW_EDGE_EXCEPTION, 0x400000, 0);
    cflow_profile_add_edge(p, i0, CFLOW_EDGE_INTERRUPT, 0xffffffff80001000ull, UINT64_MAX);
    cflow_profile_add_edge(p, i3, CFLOW_EDGE_HOSTCALL, 0, 7);
    cflow_profile_add_edge(p, i0, CFLOW_EDGE_EARLY_EXIT, 0x4006ec, 2);
    const uint32_t b0[] = {i0, i1};
    const uint32_t b1[] = {i2};
    cflow_profile_add_block(p, 0x4006ec, 667, b0, 2);
    cflow_profile_add_block(p, 0x4006f0, 3, b1, 1);
    cflow_profile_add_block(p, 0xffffffff80001000ull, 0, NULL, 0);
    return p;
}

static bool same_string(const CflowProfile *a, uint32_t oa, const CflowProfile *b, uint32_t ob)
{
    const char *sa = cflow_profile_string(a, oa), *sb = cflow_profile_string(b, ob);
    if (sa == NULL || sb == NULL) {
        return sa == sb;
    }
    return strcmp(sa, sb) == 0;
}

/* Deep comparison; *why says what differs. Records are compared by value and string offsets by
 * the strings they name. */
bool profiles_equal(const CflowProfile *a, const CflowProfile *b, const char **why)
{
#define DIFF(what)                                                                             \
    do {                                                                                       \
        *why = what;                                                                           \
        return false;                                                                          \
    } while (0)
    if (a->meta->len != b->meta->len) DIFF("meta count");
    for (guint i = 0; i < a->meta->len; i++) {
        const CflowMeta *x = &g_array_index(a->meta, CflowMeta, i);
        const CflowMeta *y = &g_array_index(b->meta, CflowMeta, i);
        if (!same_string(a, x->key, b, y->key) || !same_string(a, x->value, b, y->value))
            DIFF("meta entry");
    }
    if (a->insns->len != b->insns->len) DIFF("insn count");
    for (guint i = 0; i < a->insns->len; i++) {
        const CflowInsn *x = cflow_profile_insn(a, i), *y = cflow_profile_insn(b, i);
        if (x->addr != y->addr || x->size != y->size || x->generation != y->generation)
            DIFF("insn fields");
        if (!same_string(a, x->disas, b, y->disas) || !same_string(a, x->symbol, b, y->symbol))
            DIFF("insn strings");
    }
    if (a->edges->len != b->edges->len) DIFF("edge count");
    if (a->edges->len > 0 &&
        memcmp(a->edges->data, b->edges->data, a->edges->len * sizeof(CflowEdge)) != 0)
        DIFF("edges");
    if (a->blocks->len != b->blocks->len) DIFF("block count");
    if (a->blocks->len > 0 &&
        memcmp(a->blocks->data, b->blocks->data, a->blocks->len * sizeof(CflowBlock)) != 0)
        DIFF("blocks");
    if (a->block_insns->len != b->block_insns->len) DIFF("block_insns count");
    if (a->block_insns->len > 0 &&
        memcmp(a->block_insns->data, b->block_insns->data, a->block_insns->len * 4) != 0)
        DIFF("block_insns");
#undef DIFF
    *why = NULL;
    return true;
}

void assert_equal(const CflowProfile *a, const CflowProfile *b)
{
    const char *why = NULL;
    if (!profiles_equal(a, b, &why)) {
        g_error("profiles differ: %s", why);
    }
}

/* Parses data, expecting failure with the given code and a message containing needle. */
void expect_reject(const void *data, size_t len, int code, const char *needle)
{
    GError *err = NULL;
    CflowProfile *p = cflow_profile_parse(data, len, &err);
    if (p != NULL) {
        g_error("parse succeeded, expected an error containing \"%s\"", needle);
    }
    g_assert_nonnull(err);
    g_test_message("rejected: %s", err->message);
    g_assert_true(err->domain == CFLOW_PROFILE_ERROR);
    if (strstr(err->message, needle) == NULL) {
        g_error("error \"%s\" does not contain \"%s\"", err->message, needle);
    }
    g_assert_cmpint(err->code, ==, code);
    g_error_free(err);
}

/* Serializes p without validating it (serialize does not), to hand damaged data to parse. */
void expect_reject_profile(const CflowProfile *p, const char *needle)
{
    GBytes *bytes = cflow_profile_serialize(p);
    gsize len;
    const void *data = g_bytes_get_data(bytes, &len);
    expect_reject(data, len, CFLOW_PROFILE_ERROR_FORMAT, needle);
    GError *err = NULL;
    g_assert_false(cflow_profile_validate(p, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_FORMAT);
    g_error_free(err);
    g_bytes_unref(bytes);
}

/* Serializes p and parses it back, which must succeed; the bytes go to *bytes_out if asked. */
CflowProfile *reparse(const CflowProfile *p, GBytes **bytes_out)
{
    GBytes *bytes = cflow_profile_serialize(p);
    gsize len;
    const void *data = g_bytes_get_data(bytes, &len);
    GError *err = NULL;
    CflowProfile *q = cflow_profile_parse(data, len, &err);
    g_assert_no_error(err);
    g_assert_nonnull(q);
    if (bytes_out) {
        *bytes_out = bytes;
    } else {
        g_bytes_unref(bytes);
    }
    return q;
}

GByteArray *serialize_small(void)
{
    g_autoptr(CflowProfile) p = make_small();
    GBytes *bytes = cflow_profile_serialize(p);
    return g_bytes_unref_to_array(bytes);
}

char *make_tmpdir(void)
{
    GError *err = NULL;
    char *dir = g_dir_make_tmp("cflow-test-XXXXXX", &err);
    g_assert_no_error(err);
    return dir;
}

void rm_rf(const char *path)
{
    GDir *d = g_dir_open(path, 0, NULL);
    if (d != NULL) {
        const char *name;
        while ((name = g_dir_read_name(d)) != NULL) {
            char *child = g_build_filename(path, name, NULL);
            rm_rf(child);
            g_free(child);
        }
        g_dir_close(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

guint count_entries(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    g_assert_nonnull(d);
    guint n = 0;
    while (g_dir_read_name(d) != NULL) {
        n++;
    }
    g_dir_close(d);
    return n;
}
