/*
 * test_format.c: the profile format as profile/format.c states it (the section table, the byte
 * helpers, the record codecs, the header and section entries, the CRC) against the spec in
 * docs/profile-format.md, and the table of sort keys (profile/sort.c) that the plugin's report
 * and the tool share.
 */
#include <glib.h>
#include <string.h>
#include <zlib.h>

#include "format.h"
#include "sort.h"

static void test_section_table(void)
{
    static const struct {
        uint32_t type;
        const char *name;
        size_t record_size;
    } spec[] = {
        {CFLOW_SECTION_META, "meta", 8},       {CFLOW_SECTION_STRINGS, "strings", 1},
        {CFLOW_SECTION_INSNS, "insns", 24},    {CFLOW_SECTION_EDGES, "edges", 24},
        {CFLOW_SECTION_BLOCKS, "blocks", 24},  {CFLOW_SECTION_BLOCK_INSNS, "block_insns", 4},
        {CFLOW_SECTION_INSN_PRIV, "insn_priv", 1}, {CFLOW_SECTION_INSN_BYTES, "insn_bytes", 1},
    };
    g_assert_cmpuint(G_N_ELEMENTS(spec), ==, CFLOW_SECTION_TYPES);
    for (size_t i = 0; i < G_N_ELEMENTS(spec); i++) {
        const CflowSectionFormat *f = cflow_section_format(spec[i].type);
        g_assert_nonnull(f);
        g_assert_cmpstr(f->name, ==, spec[i].name);
        g_assert_cmpuint(f->record_size, ==, spec[i].record_size);
        if (f->fields) {
            /* the fields fill the record, 4 or 8 bytes each */
            size_t sum = 0;
            for (const uint8_t *w = f->fields; *w; w++) {
                g_assert_true(*w == 4 || *w == 8);
                sum += *w;
            }
            g_assert_cmpuint(sum, ==, f->record_size);
        } else {
            g_assert_cmpuint(f->record_size, ==, 1);
        }
    }
    g_assert_null(cflow_section_format(0));
    g_assert_null(cflow_section_format(CFLOW_SECTION_TYPES + 1));
    g_assert_null(cflow_section_format(77));
}

static void test_byte_helpers(void)
{
    uint8_t b[8];
    cflow_put_u32(b, 0x11223344u);
    g_assert_cmpmem(b, 4, "\x44\x33\x22\x11", 4);
    g_assert_cmphex(cflow_get_u32(b), ==, 0x11223344u);
    cflow_put_u64(b, 0x0102030405060708ull);
    g_assert_cmpmem(b, 8, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
    g_assert_cmphex(cflow_get_u64(b), ==, 0x0102030405060708ull);
    g_assert_cmpuint(cflow_insn_bytes_on_disk(3), ==, 3);
    g_assert_cmpuint(cflow_insn_bytes_on_disk(40), ==, CFLOW_INSN_BYTES);
}

static void test_crc(void)
{
    g_assert_cmphex(cflow_crc32(0, NULL, 0), ==, 0);
    g_assert_cmphex(cflow_crc32(0, "123456789", 9), ==, 0xcbf43926u); /* the check value */
    /* in pieces, the same */
    g_assert_cmphex(cflow_crc32(cflow_crc32(0, "1234", 4), "56789", 5), ==, 0xcbf43926u);
    /* the header's CRC is computed with its own field as zero */
    uint8_t h[64];
    for (size_t i = 0; i < sizeof h; i++) {
        h[i] = (uint8_t)(i * 7 + 1);
    }
    uint32_t crc = cflow_header_crc(h, sizeof h);
    memset(h + CFLOW_HEADER_CRC, 0, 4);
    g_assert_cmphex(crc, ==, (uint32_t)crc32(0, h, sizeof h));
}

/* Records in memory and on disk, through the codec a big-endian host uses. */
static void test_record_codecs(void)
{
    GRand *r = g_rand_new_with_seed(18);
    for (uint32_t t = 1; t <= CFLOW_SECTION_TYPES; t++) {
        const CflowSectionFormat *f = cflow_section_format(t);
        if (!f->fields) {
            continue;
        }
        const size_t n = 37, len = n * f->record_size;
        uint8_t *mem = g_malloc(len), *disk = g_malloc(len), *back = g_malloc(len);
        for (size_t i = 0; i < len; i++) {
            mem[i] = (uint8_t)g_rand_int(r);
        }
        cflow_records_encode(f, mem, disk, n);
        if (G_BYTE_ORDER == G_LITTLE_ENDIAN) {
            g_assert_cmpmem(disk, len, mem, len); /* why a little-endian host just copies */
        }
        memset(back, 0, len);
        cflow_records_decode(f, disk, back, n);
        g_assert_cmpmem(back, len, mem, len);
        g_free(mem);
        g_free(disk);
        g_free(back);
    }
    /* an edge, field by field as the spec lays it out */
    CflowEdge e = {.from = 0x01020304u, .kind = 5, .to = 0x1122334455667788ull, .count = 9};
    uint8_t disk[24];
    cflow_records_encode(cflow_section_format(CFLOW_SECTION_EDGES), &e, disk, 1);
    g_assert_cmphex(cflow_get_u32(disk), ==, e.from);
    g_assert_cmphex(cflow_get_u32(disk + 4), ==, e.kind);
    g_assert_cmphex(cflow_get_u64(disk + 8), ==, e.to);
    g_assert_cmphex(cflow_get_u64(disk + 16), ==, e.count);
    g_rand_free(r);
}

static void test_section_entry(void)
{
    CflowSectionEntry e = {.type = 4, .crc = 0xdeadbeefu, .offset = 96, .length = 48,
                           .count = 2}, back;
    uint8_t b[CFLOW_PROFILE_SECTION_ENTRY_SIZE];
    cflow_section_entry_put(b, &e);
    g_assert_cmphex(cflow_get_u32(b), ==, 4);
    g_assert_cmphex(cflow_get_u32(b + 4), ==, 0xdeadbeefu);
    g_assert_cmpuint(cflow_get_u64(b + 8), ==, 96);
    g_assert_cmpuint(cflow_get_u64(b + 16), ==, 48);
    g_assert_cmpuint(cflow_get_u64(b + 24), ==, 2);
    cflow_section_entry_get(b, &back);
    g_assert_cmpmem(&back, sizeof back, &e, sizeof e);
}

/* A serialized profile, read back with nothing but the format's helpers. */
static void test_serialized_layout(void)
{
    g_autoptr(CflowProfile) p = cflow_profile_new();
    cflow_profile_set_meta(p, "arch", "x86_64");
    uint32_t a = cflow_profile_add_insn(p, 0x1000, 2, 0, "jmp", "main");
    cflow_profile_add_insn(p, 0x1002, 1, 0, "ret", NULL);
    cflow_profile_add_edge(p, a, CFLOW_EDGE_BRANCH, 0x1002, 7);
    uint32_t ids[] = {0, 1};
    cflow_profile_add_block(p, 0x1000, 7, ids, 2);
    g_autoptr(GBytes) bytes = cflow_profile_serialize(p);
    gsize len;
    const uint8_t *b = g_bytes_get_data(bytes, &len);

    g_assert_cmpmem(b, CFLOW_MAGIC_SIZE, CFLOW_PROFILE_MAGIC, CFLOW_MAGIC_SIZE);
    g_assert_cmpuint(cflow_get_u32(b + CFLOW_HEADER_VERSION), ==, CFLOW_PROFILE_VERSION);
    uint32_t n = cflow_get_u32(b + CFLOW_HEADER_SECTIONS);
    g_assert_cmpuint(n, ==, 6); /* no privilege levels, no bytes: the optional ones left out */
    g_assert_cmpuint(cflow_get_u64(b + CFLOW_HEADER_FILE_SIZE), ==, len);
    g_assert_cmpuint(cflow_get_u32(b + CFLOW_HEADER_RESERVED), ==, 0);
    g_assert_cmphex(cflow_get_u32(b + CFLOW_HEADER_CRC), ==,
                    cflow_header_crc(b, cflow_header_length(n)));
    /* the version-1 order, each section aligned to 8 bytes after the header, CRCs right */
    static const uint32_t order[] = {CFLOW_SECTION_META,   CFLOW_SECTION_INSNS,
                                     CFLOW_SECTION_EDGES,  CFLOW_SECTION_BLOCKS,
                                     CFLOW_SECTION_BLOCK_INSNS, CFLOW_SECTION_STRINGS};
    uint64_t pos = cflow_header_length(n);
    for (unsigned i = 0; i < n; i++) {
        CflowSectionEntry e;
        cflow_section_entry_get(cflow_section_entry_at(b, i), &e);
        g_assert_cmpuint(e.type, ==, order[i]);
        pos = (pos + 7) & ~(uint64_t)7;
        g_assert_cmpuint(e.offset, ==, pos);
        g_assert_cmpuint(e.length, ==, e.count * cflow_section_format(e.type)->record_size);
        g_assert_cmphex(e.crc, ==, cflow_crc32(0, b + e.offset, e.length));
        pos += e.length;
    }
    g_assert_cmpuint(pos, ==, len);
}

static void test_sort_keys(void)
{
    g_autofree char *insn = cflow_sort_names(CFLOW_SORT_VIEW_INSN, "|");
    g_autofree char *group = cflow_sort_names(CFLOW_SORT_VIEW_GROUP, ",");
    g_assert_cmpstr(insn, ==, "hottest|early|exceptions|popular|edges|bias");
    g_assert_cmpstr(group, ==, "hottest,early,exceptions,popular,edges,bias,entries,execs");
    g_autofree char *help_text = cflow_sort_help(2);
    g_autofree char *help = g_strconcat("\n", help_text, NULL);
    for (unsigned i = 0; i < CFLOW_SORT_KEYS; i++) {
        const CflowSortKey *k = &cflow_sort_keys[i];
        g_assert_true(k->name && k->help && *k->help && k->group_compare);
        g_assert_cmpstr(cflow_sort_name((CflowSort)i), ==, k->name);
        g_autofree char *line = g_strdup_printf("\n  %-11s ", k->name); /* a line each */
        g_assert_nonnull(strstr(help, line));
        CflowSort s;
        g_assert_true(cflow_sort_find(k->name, CFLOW_SORT_VIEW_GROUP, &s) && s == i);
        g_assert_cmpint(cflow_sort_parse(k->name, &s), ==, i < CFLOW_SORT_COUNT);
    }
    CflowSort s;
    g_assert_false(cflow_sort_parse("fastest", &s));
    g_assert_false(cflow_sort_find("entries", CFLOW_SORT_VIEW_INSN, &s));
    for (unsigned i = 0; i < CFLOW_SORT_COUNT; i++) {
        g_assert_cmpint(cflow_sort_ranks_edges((CflowSort)i), ==, i == CFLOW_SORT_EDGES);
    }
}

/* What the keys rank by: most first; the selections of the instruction view. */
static void test_sort_compares(void)
{
    CflowSortCounts many = {.out = {[CFLOW_EDGE_BRANCH] = 9, [CFLOW_EDGE_FALLTHROUGH] = 1,
                                    [CFLOW_EDGE_EXCEPTION] = 3, [CFLOW_EDGE_EARLY_EXIT] = 2},
                            .branch_dests = 3, .entries = 5, .execs = 50, .bias = 0.4};
    CflowSortCounts few = {.out = {[CFLOW_EDGE_BRANCH] = 1, [CFLOW_EDGE_FALLTHROUGH] = 1,
                                   [CFLOW_EDGE_INTERRUPT] = 1, [CFLOW_EDGE_EARLY_EXIT] = 1},
                           .branch_dests = 1, .entries = 1, .execs = 4, .bias = 0.0};
    static const CflowSortCounts none;
    for (unsigned i = 0; i < CFLOW_SORT_KEYS; i++) {
        const CflowSortKey *k = &cflow_sort_keys[i];
        g_assert_cmpint(k->group_compare(&many, &few), <, 0);
        g_assert_cmpint(k->group_compare(&few, &many), >, 0);
        g_assert_cmpint(k->group_compare(&few, &few), ==, 0);
        if (i < CFLOW_SORT_COUNT && !cflow_sort_ranks_edges((CflowSort)i)) {
            g_assert_cmpint(k->insn_compare(&many, &few), <, 0);
            g_assert_true(cflow_sort_selects((CflowSort)i, &many, 0));
            g_assert_false(cflow_sort_selects((CflowSort)i, &none, 0));
        }
    }
    /* exceptions: groups count early exits, instructions do not */
    CflowSortCounts early = {.out = {[CFLOW_EDGE_EARLY_EXIT] = 5}};
    CflowSortCounts exc = {.out = {[CFLOW_EDGE_EXCEPTION] = 1}};
    const CflowSortKey *k = &cflow_sort_keys[CFLOW_SORT_EXCEPTIONS];
    g_assert_cmpint(k->group_compare(&early, &exc), <, 0);
    g_assert_cmpint(k->insn_compare(&early, &exc), >, 0);
    g_assert_false(cflow_sort_selects(CFLOW_SORT_EXCEPTIONS, &early, 0));
    /* bias: conditional branches only, and only those at the floor */
    g_assert_true(cflow_sort_selects(CFLOW_SORT_BIAS, &many, 10));
    g_assert_false(cflow_sort_selects(CFLOW_SORT_BIAS, &many, 11));
    g_assert_false(cflow_sort_selects(CFLOW_SORT_BIAS, &exc, 0));
    g_autoptr(GString) out = g_string_new(NULL);
    cflow_sort_keys[CFLOW_SORT_BIAS].insn_print(out, &many);
    g_assert_cmpstr(out->str, ==, ", taken ratio 90.0%");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/format/section_table", test_section_table);
    g_test_add_func("/format/byte_helpers", test_byte_helpers);
    g_test_add_func("/format/crc", test_crc);
    g_test_add_func("/format/record_codecs", test_record_codecs);
    g_test_add_func("/format/section_entry", test_section_entry);
    g_test_add_func("/format/serialized_layout", test_serialized_layout);
    g_test_add_func("/sort/keys", test_sort_keys);
    g_test_add_func("/sort/compares", test_sort_compares);
    return g_test_run();
}
