/*
 * test_profile_reject.c: unit tests of the profile library (profile/profile.h): the reader's
 * rejection of damaged input: magic, version, truncation, bit flips, checksums, the section index,
 * strings, counts, bounds, missing, duplicate and unknown sections.
 */
#include "profile_fixtures.h"
#include "json_check.h"

#include <string.h>

static void test_reject_magic(void)
{
    GByteArray *f = serialize_small();
    f->data[3] = 'X';
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_FORMAT, "bad magic");
    expect_reject("hello, world, this is not a profile at all", 42, CFLOW_PROFILE_ERROR_FORMAT,
                  "not a cflow profile");
    expect_reject("", 0, CFLOW_PROFILE_ERROR_FORMAT, "not a cflow profile");
    expect_reject(NULL, 0, CFLOW_PROFILE_ERROR_FORMAT, "not a cflow profile");
    g_byte_array_unref(f);
}

static void test_reject_version(void)
{
    GByteArray *f = serialize_small();
    wr32(f->data + 8, 2);
    fix_header_crc(f->data, f->len); /* a real future file would have a valid CRC */
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_VERSION, "version 2 is not supported");
    wr32(f->data + 8, 0);
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_VERSION, "version 0");
    wr32(f->data + 8, 0x01000000); /* big-endian 1 */
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_VERSION, "version 16777216");
    g_byte_array_unref(f);
}

static void test_reject_truncated(void)
{
    GByteArray *f = serialize_small();
    for (size_t len = 0; len < f->len; len++) {
        /* A copy of exactly len bytes, so a sanitizer catches any read past the end. */
        uint8_t *copy = g_memdup2(f->data, len);
        GError *err = NULL;
        CflowProfile *p = cflow_profile_parse(len > 0 ? copy : NULL, len, &err);
        if (p != NULL) {
            g_error("a profile truncated to %zu of %u bytes was accepted", len, f->len);
        }
        g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_FORMAT);
        if (len > 0 && strstr(err->message, "truncated") == NULL) {
            g_error("truncated to %zu: unexpected message \"%s\"", len, err->message);
        }
        g_error_free(err);
        g_free(copy);
    }
    g_byte_array_unref(f);
}

/* Is byte i covered by a checksum (the header and section table, or a section)? */
static bool covered(const uint8_t *file, size_t i)
{
    if (i < header_len_of(file)) {
        return true;
    }
    uint32_t n = rd32(file + 12);
    for (uint32_t s = 0; s < n; s++) {
        const uint8_t *e = file + CFLOW_PROFILE_HEADER_SIZE + s * CFLOW_PROFILE_SECTION_ENTRY_SIZE;
        if (i >= rd64(e + 8) && i < rd64(e + 8) + rd64(e + 16)) {
            return true;
        }
    }
    return false;
}

static void test_reject_bitflips(void)
{
    GByteArray *f = serialize_small();
    g_autoptr(CflowProfile) orig = make_small();
    guint covered_bytes = 0, accepted = 0;
    for (size_t i = 0; i < f->len; i++) {
        bool cov = covered(f->data, i);
        covered_bytes += cov;
        for (int bit = 0; bit < 9; bit++) { /* each single bit, then the whole byte */
            uint8_t *copy = g_memdup2(f->data, f->len);
            copy[i] ^= bit < 8 ? (uint8_t)(1u << bit) : 0xff;
            GError *err = NULL;
            CflowProfile *p = cflow_profile_parse(copy, f->len, &err);
            if (p != NULL) {
                /* Only padding between sections may change harmlessly. */
                g_assert_no_error(err);
                if (cov) {
                    g_error("flip %d of checksummed byte %zu went undetected", bit, i);
                }
                assert_equal(orig, p);
                g_assert_true(cflow_profile_validate(p, NULL));
                cflow_profile_free(p);
                accepted++;
            } else {
                g_assert_nonnull(err);
                g_assert_true(err->domain == CFLOW_PROFILE_ERROR);
                g_assert_cmpuint(strlen(err->message), >, 10);
                g_error_free(err);
            }
            g_free(copy);
        }
    }
    g_test_message("%u of %u bytes checksummed, %u flips harmless", covered_bytes, f->len,
                   accepted);
    g_assert_cmpuint(covered_bytes, >, f->len * 9 / 10);
    g_byte_array_unref(f);
}

/* Flipping a byte in a section and fixing nothing reports that section's checksum. */
static void test_reject_checksum(void)
{
    static const struct {
        uint32_t type;
        const char *name;
    } secs[] = {{CFLOW_SECTION_META, "meta"},       {CFLOW_SECTION_STRINGS, "strings"},
                {CFLOW_SECTION_INSNS, "insns"},     {CFLOW_SECTION_EDGES, "edges"},
                {CFLOW_SECTION_BLOCKS, "blocks"},   {CFLOW_SECTION_BLOCK_INSNS, "block_insns"}};
    for (size_t k = 0; k < G_N_ELEMENTS(secs); k++) {
        GByteArray *f = serialize_small();
        uint8_t *e = entry(f->data, (unsigned)find_section(f->data, secs[k].type));
        uint64_t off = rd64(e + 8), len = rd64(e + 16);
        g_assert_cmpuint(len, >, 0);
        f->data[off + len / 2] ^= 0x01;
        g_autofree char *needle = g_strdup_printf("section %s: checksum mismatch", secs[k].name);
        expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_CHECKSUM, needle);
        g_byte_array_unref(f);
    }
    GByteArray *f = serialize_small();
    f->data[CFLOW_PROFILE_HEADER_SIZE + 40] ^= 0x80; /* inside the section table */
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_CHECKSUM, "header: checksum mismatch");
    g_byte_array_unref(f);
}

static void test_reject_index(void)
{
    {
        g_autoptr(CflowProfile) p = make_small();
        cflow_profile_edge(p, 5)->from = 4;
        expect_reject_profile(p, "edge 5: source insn index 4 out of range (4 insns)");
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        cflow_profile_edge(p, 1)->kind = 77;
        expect_reject_profile(p, "edge 1: unknown kind 77");
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        g_array_index(p->block_insns, uint32_t, 1) = 1000;
        expect_reject_profile(p, "block_insns 1: insn index 1000 out of range");
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        cflow_profile_block(p, 2)->first = 2;
        cflow_profile_block(p, 2)->n_insns = 0xfffffffe; /* wraps to 0 in 32-bit arithmetic */
        expect_reject_profile(p, "block 2: insns");
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        cflow_profile_insn(p, 1)->disas = 0x7fffffff;
        expect_reject_profile(p, "insn 1: disassembly string offset 2147483647 outside the pool");
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        cflow_profile_insn(p, 0)->symbol = p->strings->len;
        expect_reject_profile(p, "insn 0: symbol string offset");
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        g_array_index(p->meta, CflowMeta, 1).value = UINT32_MAX;
        expect_reject_profile(p, "meta 1: string offset 4294967295 outside the pool");
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        g_array_index(p->meta, CflowMeta, 1).key = g_array_index(p->meta, CflowMeta, 0).key;
        expect_reject_profile(p, "meta 1: duplicate key \"arch\"");
    }
}

static void test_reject_strings(void)
{
    {
        g_autoptr(CflowProfile) p = make_small();
        g_byte_array_append(p->strings, (const guint8 *)"tail", 4); /* no NUL */
        expect_reject_profile(p, "section strings: the last string is not NUL-terminated");
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        p->strings->data[0] = 'x';
        expect_reject_profile(p, "section strings: the pool must start with the empty string");
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        g_byte_array_set_size(p->strings, 0);
        expect_reject_profile(p, "section strings: the pool must start with the empty string");
    }
}

/* A section table entry changed on purpose, with valid checksums: the structural checks. */
static GByteArray *small_with_entry(uint32_t type, int field_offset, uint64_t value, bool wide)
{
    GByteArray *f = serialize_small();
    uint8_t *e = entry(f->data, (unsigned)find_section(f->data, type));
    if (wide) {
        wr64(e + field_offset, value);
    } else {
        wr32(e + field_offset, (uint32_t)value);
    }
    fix_header_crc(f->data, f->len);
    return f;
}

static void test_reject_counts(void)
{
    GByteArray *f;
    /* count * 24 wraps around to the real length 6 * 24 in 64-bit arithmetic. */
    f = small_with_entry(CFLOW_SECTION_EDGES, 24, 6 + ((uint64_t)1 << 61), true);
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_FORMAT,
                  "section edges: count 2305843009213693958 does not match length 144");
    g_byte_array_unref(f);
    f = small_with_entry(CFLOW_SECTION_INSNS, 24, 5, true);
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_FORMAT,
                  "section insns: count 5 does not match length 96");
    g_byte_array_unref(f);
    f = small_with_entry(CFLOW_SECTION_BLOCK_INSNS, 24, UINT64_MAX, true);
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_FORMAT, "section block_insns: count");
    g_byte_array_unref(f);
    f = small_with_entry(CFLOW_SECTION_STRINGS, 24, 1, true);
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_FORMAT, "section strings: count 1");
    g_byte_array_unref(f);
    /* A length that is not a whole number of records. */
    {
        GByteArray *g = serialize_small();
        Part parts[8];
        unsigned n = split(g->data, parts);
        for (unsigned i = 0; i < n; i++) {
            if (parts[i].type == CFLOW_SECTION_META) {
                parts[i].len -= 1;
            }
        }
        GByteArray *h = assemble(parts, n);
        expect_reject(h->data, h->len, CFLOW_PROFILE_ERROR_FORMAT,
                      "section meta: count 2 does not match length 15");
        g_byte_array_unref(h);
        g_byte_array_unref(g);
    }
    /* Section count in the header. */
    f = serialize_small();
    wr32(f->data + 12, UINT32_MAX);
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_FORMAT,
                  "header: 4294967295 sections, more than the limit of 256");
    wr32(f->data + 12, 200); /* within the limit but the table would pass the end */
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_FORMAT,
                  "section table: truncated (200 entries need 6432 bytes");
    g_byte_array_unref(f);
}

static void test_reject_bounds(void)
{
    GByteArray *f;
    f = small_with_entry(CFLOW_SECTION_EDGES, 16, UINT64_MAX, true); /* offset + length wraps */
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_FORMAT,
                  "section edges: bytes [");
    g_byte_array_unref(f);
    f = small_with_entry(CFLOW_SECTION_STRINGS, 8, UINT64_MAX - 3, true);
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_FORMAT,
                  "are outside the file");
    g_byte_array_unref(f);
    f = small_with_entry(CFLOW_SECTION_META, 8, 8, true); /* inside the header */
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_FORMAT, "section meta: bytes [8, +16) overlap the header (224 bytes)");
    g_byte_array_unref(f);
    /* Two sections over the same bytes. */
    {
        GByteArray *g = serialize_small();
        uint8_t *ei = entry(g->data, (unsigned)find_section(g->data, CFLOW_SECTION_INSNS));
        uint8_t *eb = entry(g->data, (unsigned)find_section(g->data, CFLOW_SECTION_BLOCKS));
        wr64(eb + 8, rd64(ei + 8) + 24);
        fix_all_crcs(g->data, g->len);
        expect_reject(g->data, g->len, CFLOW_PROFILE_ERROR_FORMAT, "overlaps section");
        g_byte_array_unref(g);
    }
    /* Trailing bytes after a complete profile. */
    {
        GByteArray *g = serialize_small();
        g_byte_array_append(g, (const guint8 *)"junk", 4);
        expect_reject(g->data, g->len, CFLOW_PROFILE_ERROR_FORMAT, "trailing data");
        g_byte_array_unref(g);
    }
    /* The reserved header field. */
    {
        GByteArray *g = serialize_small();
        wr32(g->data + 24, 1);
        fix_header_crc(g->data, g->len);
        expect_reject(g->data, g->len, CFLOW_PROFILE_ERROR_FORMAT, "reserved field");
        g_byte_array_unref(g);
    }
}

static void test_sections_missing_duplicate_unknown(void)
{
    GByteArray *f = serialize_small();
    g_autoptr(CflowProfile) orig = make_small();
    Part parts[10];
    unsigned n = split(f->data, parts);
    g_assert_cmpuint(n, ==, 6);

    /* Each required section left out. */
    for (unsigned drop = 0; drop < n; drop++) {
        Part sub[10];
        unsigned m = 0;
        for (unsigned i = 0; i < n; i++) {
            if (i != drop) {
                sub[m++] = parts[i];
            }
        }
        GByteArray *g = assemble(sub, m);
        static const char *const names[] = {"", "meta", "strings", "insns",
                                            "edges", "blocks", "block_insns"};
        g_autofree char *needle = g_strdup_printf("section %s is missing", names[parts[drop].type]);
        expect_reject(g->data, g->len, CFLOW_PROFILE_ERROR_FORMAT, needle);
        g_byte_array_unref(g);
    }

    /* One required section twice. */
    {
        Part dup[10];
        memcpy(dup, parts, n * sizeof(Part));
        dup[n] = parts[2];
        GByteArray *g = assemble(dup, n + 1);
        expect_reject(g->data, g->len, CFLOW_PROFILE_ERROR_FORMAT, "appears twice");
        g_byte_array_unref(g);
    }

    /* Unknown sections (before, between and after) are skipped; sections in another order. */
    {
        static const char future[] = "a section from a newer writer";
        Part more[10];
        unsigned m = 0;
        more[m++] = (Part){0x1000, future, sizeof future, 1};
        for (unsigned i = n; i-- > 0;) {
            more[m++] = parts[i];
            if (i == 3) {
                more[m++] = (Part){0, future, 5, 5};
            }
        }
        more[m++] = (Part){0xffffffff, "", 0, 0};
        GByteArray *g = assemble(more, m);
        GError *err = NULL;
        g_autoptr(CflowProfile) p = cflow_profile_parse(g->data, g->len, &err);
        g_assert_no_error(err);
        assert_equal(orig, p);
        /* ...but their checksums are still checked. */
        uint8_t *e0 = entry(g->data, 0);
        g->data[rd64(e0 + 8)] ^= 1;
        expect_reject(g->data, g->len, CFLOW_PROFILE_ERROR_CHECKSUM,
                      "section 0 (unknown type 4096): checksum mismatch");
        g_byte_array_unref(g);
    }
    g_byte_array_unref(f);
}

/*
 * Random damage with the checksums recomputed afterwards, so that only the structural checks
 * stand between the damage and the data: nothing may crash, and whatever is accepted must
 * validate.
 */
static void test_reject_random_structural(void)
{
    GByteArray *f = serialize_small();
    GRand *rng = g_rand_new_with_seed(12345);
    guint accepted = 0, rounds = 20000;
    for (guint r = 0; r < rounds; r++) {
        uint8_t *copy = g_memdup2(f->data, f->len);
        size_t len = f->len;
        guint flips = (guint)g_rand_int_range(rng, 1, 4);
        for (guint k = 0; k < flips; k++) {
            size_t at = (size_t)g_rand_int_range(rng, 0, (gint32)len);
            switch (g_rand_int_range(rng, 0, 4)) {
            case 0: copy[at] ^= (uint8_t)(1u << g_rand_int_range(rng, 0, 8)); break;
            case 1: copy[at] = (uint8_t)g_rand_int_range(rng, 0, 256); break;
            case 2: copy[at] = 0xff; break;
            default: copy[at] = 0; break;
            }
        }
        if (g_rand_boolean(rng)) {
            fix_all_crcs(copy, len);
        }
        GError *err = NULL;
        CflowProfile *p = cflow_profile_parse(copy, len, &err);
        if (p != NULL) {
            g_assert_no_error(err);
            g_assert_true(cflow_profile_validate(p, NULL));
            /* An accepted profile must be usable: serialize it and dump it as JSON. */
            size_t jlen;
            char *json = json_of(p, &jlen);
            g_assert_true(g_utf8_validate(json, (gssize)jlen, NULL));
            free(json);
            cflow_profile_free(p);
            accepted++;
        } else {
            g_assert_nonnull(err);
            g_error_free(err);
        }
        g_free(copy);
    }
    g_test_message("%u of %u damaged variants accepted (damage in harmless places)", accepted,
                   rounds);
    g_rand_free(rng);
    g_byte_array_unref(f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/profile/reject/magic", test_reject_magic);
    g_test_add_func("/profile/reject/version", test_reject_version);
    g_test_add_func("/profile/reject/truncated", test_reject_truncated);
    g_test_add_func("/profile/reject/bitflips", test_reject_bitflips);
    g_test_add_func("/profile/reject/checksum", test_reject_checksum);
    g_test_add_func("/profile/reject/index", test_reject_index);
    g_test_add_func("/profile/reject/strings", test_reject_strings);
    g_test_add_func("/profile/reject/counts", test_reject_counts);
    g_test_add_func("/profile/reject/bounds", test_reject_bounds);
    g_test_add_func("/profile/reject/sections", test_sections_missing_duplicate_unknown);
    g_test_add_func("/profile/reject/random-structural", test_reject_random_structural);
    return g_test_run();
}
