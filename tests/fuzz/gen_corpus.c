/*
 * gen_corpus.c: writes the seed corpus of the fuzz targets (tests/fuzz/corpus/) into a
 * directory: valid profiles built with the library's API and serializer, valid files laid out
 * unlike the writer does (unknown sections, other order, gaps, shared strings), and damaged
 * ones, each with one thing wrong and its checksums made right where the damage is not the
 * checksum itself, so they start the fuzzer past the CRC checks.
 *
 *   gen_corpus OUTDIR
 *
 * Deterministic: the same files every time. The corpus also holds files named found-*: inputs
 * the fuzzers found in their 10-minute runs that reach code the seeds do not, kept by
 * 'TARGET -merge=1 -use_counters=0 tests/fuzz/corpus/TARGET GROWN_CORPUS' (new edges only).
 */
#include "fuzz_common.h"

#include <errno.h>

static const char *outdir;

static void put(const char *name, const void *data, size_t len)
{
    char *path = g_build_filename(outdir, name, NULL);
    GError *err = NULL;
    if (!g_file_set_contents(path, data, (gssize)len, &err)) {
        fprintf(stderr, "gen_corpus: %s\n", err->message);
        exit(1);
    }
    g_free(path);
}

static GByteArray *bytes_of(const CflowProfile *p)
{
    GBytes *b = cflow_profile_serialize(p);
    return g_bytes_unref_to_array(b);
}

/* A valid file: checked to parse, then written. */
static void put_valid(const char *name, GByteArray *f)
{
    GError *err = NULL;
    CflowProfile *q = cflow_profile_parse(f->data, f->len, &err);
    if (q == NULL) {
        fprintf(stderr, "gen_corpus: %s does not parse: %s\n", name, err->message);
        exit(1);
    }
    cflow_profile_free(q);
    put(name, f->data, f->len);
    g_byte_array_unref(f);
}

static void put_profile(const char *name, const CflowProfile *p)
{
    put_valid(name, bytes_of(p));
}

static uint8_t *entry_of(GByteArray *f, uint32_t type)
{
    uint32_t n = fuzz_rd32(f->data + 12);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = f->data + CFLOW_PROFILE_HEADER_SIZE + i * CFLOW_PROFILE_SECTION_ENTRY_SIZE;
        if (fuzz_rd32(e) == type) {
            return e;
        }
    }
    fprintf(stderr, "gen_corpus: no section %u\n", type);
    exit(1);
}

static uint8_t *section_data(GByteArray *f, uint32_t type)
{
    return f->data + fuzz_rd64(entry_of(f, type) + 8);
}

/* The header CRC only (after damage to file_size, which fuzz_fix_file would repair). */
static void fix_header_crc(GByteArray *f)
{
    size_t hl = CFLOW_PROFILE_HEADER_SIZE +
                (size_t)fuzz_rd32(f->data + 12) * CFLOW_PROFILE_SECTION_ENTRY_SIZE;
    fuzz_wr32(f->data + 28, 0);
    fuzz_wr32(f->data + 28, (uint32_t)crc32(crc32(0, NULL, 0), f->data, (uInt)hl));
}

static void put_damaged(const char *name, GByteArray *f, bool fix)
{
    if (fix) {
        fuzz_fix_file(f->data, f->len);
    }
    GError *err = NULL;
    CflowProfile *q = cflow_profile_parse(f->data, f->len, &err);
    if (q != NULL) {
        fprintf(stderr, "gen_corpus: damaged %s was accepted\n", name);
        exit(1);
    }
    g_error_free(err);
    put(name, f->data, f->len);
    g_byte_array_unref(f);
}

typedef struct {
    uint32_t type;
    const uint8_t *data;
    uint64_t len, count;
} Part;

/* A container from parts, in the given order, each preceded by `gap` bytes of 0xaa. */
static GByteArray *assemble(const Part *parts, unsigned n, unsigned gap)
{
    GByteArray *f = g_byte_array_new();
    size_t hl = CFLOW_PROFILE_HEADER_SIZE + n * CFLOW_PROFILE_SECTION_ENTRY_SIZE;
    g_byte_array_set_size(f, (guint)hl);
    memset(f->data, 0, hl);
    memcpy(f->data, CFLOW_PROFILE_MAGIC, 8);
    fuzz_wr32(f->data + 8, CFLOW_PROFILE_VERSION);
    fuzz_wr32(f->data + 12, n);
    for (unsigned i = 0; i < n; i++) {
        for (unsigned k = 0; k < gap; k++) {
            const uint8_t aa = 0xaa;
            g_byte_array_append(f, &aa, 1);
        }
        uint8_t *e = f->data + CFLOW_PROFILE_HEADER_SIZE + i * CFLOW_PROFILE_SECTION_ENTRY_SIZE;
        fuzz_wr32(e, parts[i].type);
        fuzz_wr64(e + 8, f->len);
        fuzz_wr64(e + 16, parts[i].len);
        fuzz_wr64(e + 24, parts[i].count);
        if (parts[i].len > 0) {
            g_byte_array_append(f, parts[i].data, (guint)parts[i].len);
        }
    }
    fuzz_fix_file(f->data, f->len);
    return f;
}

/* The parts of a serialized file, in section table order. */
static unsigned parts_of(GByteArray *f, Part *parts)
{
    uint32_t n = fuzz_rd32(f->data + 12);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = f->data + CFLOW_PROFILE_HEADER_SIZE + i * CFLOW_PROFILE_SECTION_ENTRY_SIZE;
        parts[i].type = fuzz_rd32(e);
        parts[i].data = f->data + fuzz_rd64(e + 8);
        parts[i].len = fuzz_rd64(e + 16);
        parts[i].count = fuzz_rd64(e + 24);
    }
    return n;
}

static CflowProfile *make_small(void)
{
    CflowProfile *p = cflow_profile_new();
    cflow_profile_set_meta(p, "arch", "aarch64");
    cflow_profile_set_meta(p, "mode", "user");
    cflow_profile_set_meta(p, "cmdline", "primes 20000");
    uint32_t a = cflow_profile_add_insn(p, 0x4006ec, 4, 0, "cmp x0, #0x1", "main");
    uint32_t b = cflow_profile_add_insn(p, 0x4006f0, 4, 0, "add x1, x1, #1", "main");
    uint32_t c = cflow_profile_add_insn(p, 0x400718, 4, 0, "b.ne #0x4006ec", NULL);
    uint32_t d = cflow_profile_add_insn(p, 0x40071c, 4, 0, "svc #0", "");
    cflow_profile_add_edge(p, c, CFLOW_EDGE_BRANCH, 0x4006ec, 666);
    cflow_profile_add_edge(p, c, CFLOW_EDGE_FALLTHROUGH, 0x40071c, 1);
    cflow_profile_add_edge(p, d, CFLOW_EDGE_HOSTCALL, 0x400720, UINT64_MAX);
    cflow_profile_add_edge(p, a, CFLOW_EDGE_EXCEPTION, 0xffff000000000000ull, 2);
    cflow_profile_add_edge(p, b, CFLOW_EDGE_INTERRUPT, 0, 3);
    cflow_profile_add_edge(p, b, CFLOW_EDGE_EARLY_EXIT, 0x4006f0, 4);
    uint32_t blk[] = {a, b, c};
    cflow_profile_add_block(p, 0x4006ec, 667, blk, 3);
    cflow_profile_add_block(p, 0x40071c, 1, &d, 1);
    return p;
}

/* Valid profiles from the API: empty, small, hostile strings, generations, extremes, large. */
static void put_valid_profiles(const CflowProfile *small)
{
    /* Valid profiles from the API. */
    CflowProfile *empty = cflow_profile_new();
    put_profile("valid-empty", empty);
    cflow_profile_free(empty);

    put_profile("valid-small", small);

    CflowProfile *str = cflow_profile_new();
    cflow_profile_set_meta(str, "quote\"backslash\\slash/", "tab\tnl\nret\rbs\bff\f");
    cflow_profile_set_meta(str, "ctl", "\x01\x1f\x7f end");
    cflow_profile_set_meta(str, "utf8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf");
    cflow_profile_set_meta(str, "latin1", "\xff\xfe\xe9t\xe9");
    cflow_profile_set_meta(str, "overlong", "\xc0\x80 \xc1\xbf \xe0\x80\xaf \xf0\x80\x80\xaf");
    cflow_profile_set_meta(str, "surrogate", "\xed\xa0\x80 \xed\xbf\xbf \xed\x9f\xbf");
    cflow_profile_set_meta(str, "beyond", "\xf4\x90\x80\x80 \xf5\x80\x80\x80 \xf8\x88\x80\x80\x80");
    cflow_profile_set_meta(str, "truncated", "\xe2\x82 \xf0\x9f\x98 \xc3");
    cflow_profile_set_meta(str, "", "empty key");
    uint32_t i0 = cflow_profile_add_insn(str, 0x1000, 2, 0, "mov \"a\", '\\'", "sym\xff");
    uint32_t i1 = cflow_profile_add_insn(str, 0x1002, 15, 0, "\xe2\x82\xac", "\xc3\xa9t\xc3\xa9");
    cflow_profile_add_edge(str, i0, CFLOW_EDGE_FALLTHROUGH, 0x1002, 1);
    cflow_profile_add_edge(str, i1, CFLOW_EDGE_BRANCH, 0x1000, 2);
    uint32_t sblk[] = {i0, i1};
    cflow_profile_add_block(str, 0x1000, 3, sblk, 2);
    put_profile("valid-strings", str);
    cflow_profile_free(str);

    /* Self-modifying code: one address, three generations. */
    CflowProfile *smc = cflow_profile_new();
    cflow_profile_set_meta(smc, "arch", "x86_64");
    for (uint32_t g = 0; g < 3; g++) {
        char *dis = g_strdup_printf("mov eax, %u", g);
        uint32_t at = cflow_profile_add_insn(smc, 0x7f0000001000ull, 5, g, dis, "jit");
        uint32_t ret = cflow_profile_add_insn(smc, 0x7f0000001005ull, 1, g, "ret", "jit");
        g_free(dis);
        cflow_profile_add_edge(smc, ret, CFLOW_EDGE_BRANCH, 0x401000 + g, 10 + g);
        uint32_t blk[] = {at, ret};
        cflow_profile_add_block(smc, 0x7f0000001000ull, 10 + g, blk, 2);
    }
    put_profile("valid-smc", smc);
    cflow_profile_free(smc);

    /* Extreme field values. */
    CflowProfile *ext = cflow_profile_new();
    uint32_t e0 = cflow_profile_add_insn(ext, 0, 0, 0, "", NULL);
    uint32_t e1 = cflow_profile_add_insn(ext, UINT64_MAX, UINT32_MAX, UINT32_MAX - 1, "x", "");
    cflow_profile_add_edge(ext, e0, CFLOW_EDGE_BRANCH, UINT64_MAX, 0);
    cflow_profile_add_edge(ext, e1, CFLOW_EDGE_EARLY_EXIT, 0, UINT64_MAX);
    cflow_profile_add_block(ext, UINT64_MAX, 0, NULL, 0);
    cflow_profile_add_block(ext, 0, UINT64_MAX, &e1, 1);
    put_profile("valid-extremes", ext);
    cflow_profile_free(ext);

    /* A mid-sized one, pseudo-random but fixed. */
    CflowProfile *mid = cflow_profile_new();
    GRand *rng = g_rand_new_with_seed(7);
    static const char *const syms[] = {"main", "loop", "memcpy", "_start", NULL};
    for (int k = 0; k < 8; k++) {
        char key[16], val[32];
        snprintf(key, sizeof key, "key%d", k);
        snprintf(val, sizeof val, "%u", g_rand_int(rng));
        cflow_profile_set_meta(mid, key, val);
    }
    uint64_t addr = 0x400000;
    for (int k = 0; k < 32; k++) {
        char dis[32];
        uint32_t sz = (uint32_t)g_rand_int_range(rng, 1, 16);
        snprintf(dis, sizeof dis, "op%d %u", k % 7, sz);
        cflow_profile_add_insn(mid, addr, sz, 0, dis, syms[k / 7]);
        addr += sz;
    }
    for (int k = 0; k < 48; k++) {
        /* One draw per statement: argument evaluation order is unspecified. */
        uint32_t from = (uint32_t)g_rand_int_range(rng, 0, 32);
        CflowEdgeKind kind = (CflowEdgeKind)g_rand_int_range(rng, 0, CFLOW_EDGE_KIND_COUNT);
        uint64_t to = 0x400000 + (uint64_t)g_rand_int_range(rng, 0, 256);
        uint64_t count = g_rand_int(rng);
        count <<= g_rand_int_range(rng, 0, 32);
        cflow_profile_add_edge(mid, from, kind, to, count);
    }
    for (uint32_t k = 0; k < 32; k += 4) {
        uint32_t blk[4] = {k, k + 1, k + 2, k + 3};
        cflow_profile_add_block(mid, cflow_profile_insn(mid, k)->addr, g_rand_int(rng), blk, 4);
    }
    g_rand_free(rng);
    put_profile("valid-mid", mid);
    cflow_profile_free(mid);

    /* JSON far larger than the writer's 64 KiB buffer, from a 4 KiB file: one long string of
     * characters that need escaping or are multi-byte, used by every insn, so escapes and
     * UTF-8 sequences straddle the buffer's end at many offsets. */
    CflowProfile *big = cflow_profile_new();
    static const char *const pieces[] = {"a", "\x01", "\"", "\xe2\x82\xac", "\xff", "\\",
                                         "\xf0\x9f\x98\x80", "\n", "\xc3\xa9", "\x7f"};
    GString *longs = g_string_new(NULL);
    for (unsigned k = 0; longs->len < 997; k = (k * 7 + 3) % 10) {
        g_string_append(longs, pieces[k]);
    }
    uint32_t first = 0;
    for (uint32_t k = 0; k < 24; k++) {
        uint32_t at = cflow_profile_add_insn(big, 0x10000 + 4 * k, 4, 0, longs->str,
                                             k % 3 ? NULL : longs->str);
        first = k == 0 ? at : first;
        cflow_profile_add_edge(big, at, (CflowEdgeKind)(k % CFLOW_EDGE_KIND_COUNT),
                               0x10000 + 4 * k + 4, k);
    }
    uint32_t all[24];
    for (uint32_t k = 0; k < 24; k++) {
        all[k] = first + k;
    }
    cflow_profile_add_block(big, 0x10000, 1, all, 24);
    g_string_free(longs, TRUE);
    put_profile("valid-big-json", big);
    cflow_profile_free(big);
}

/* Valid, but not as the writer lays it out: unknown and optional sections, other orders. */
static void put_relaid_profiles(const CflowProfile *small)
{
    /* Valid, but not as the writer lays it out. */
    g_autoptr(GByteArray) sf = bytes_of(small);
    Part parts[8];
    unsigned n = parts_of(sf, parts);
    static const uint8_t future[] = "data of a later writer";
    parts[n++] = (Part){77, future, sizeof future, 3};
    put_valid("valid-unknown-section", assemble(parts, n, 0));
    /* Type 7 with one byte per insn (4): an optional section of a later library version. */
    static const uint8_t per_insn[4] = {1, 2, 0, 4};
    parts[n - 1] = (Part){7, per_insn, sizeof per_insn, sizeof per_insn};
    put_valid("valid-section-7", assemble(parts, n, 0));
    /* Type 8: the instructions' bytes, each its size (4 insns of 4 bytes). */
    static const uint8_t insn_bytes[16] = {0x1f, 0x04, 0x00, 0xf1, 0x21, 0x04, 0x00, 0x91,
                                           0xa1, 0xfe, 0xff, 0x54, 0x01, 0x00, 0x00, 0xd4};
    parts[n - 1] = (Part){8, insn_bytes, sizeof insn_bytes, sizeof insn_bytes};
    put_valid("valid-section-8", assemble(parts, n, 0));
    parts[n - 1] = (Part){7, per_insn, sizeof per_insn, sizeof per_insn};
    Part rev[8];
    for (unsigned k = 0; k < n; k++) {
        rev[k] = parts[n - 1 - k];
    }
    put_valid("valid-reordered-gaps", assemble(rev, n, 3));

    /* Strings shared by offsets into the middle of others, and duplicates in the pool. */
    CflowProfile *sh = make_small();
    static const char extra[] = "x_mainloop\0nop\0nop\0";
    guint base = sh->strings->len;
    g_byte_array_append(sh->strings, (const guint8 *)extra, sizeof extra - 1);
    cflow_profile_insn(sh, 0)->symbol = base + 2;  /* "mainloop" */
    cflow_profile_insn(sh, 1)->symbol = base + 6;  /* "loop" */
    cflow_profile_insn(sh, 1)->disas = base + 15;  /* the second "nop" */
    cflow_profile_insn(sh, 2)->disas = base + 11;  /* the first */
    put_profile("valid-shared-strings", sh);
    cflow_profile_free(sh);
}

/* Damaged: one thing wrong each. */
static void put_damaged_profiles(const CflowProfile *small)
{
    GByteArray *f = bytes_of(small);
    memcpy(f->data, "CFLOWPRX", 8);
    put_damaged("bad-magic", f, true);

    f = bytes_of(small);
    put_damaged("bad-short", (g_byte_array_set_size(f, 7), f), false);
    put_damaged("bad-empty", g_byte_array_new(), false);
    static const char kind_name[] = "early-exit";
    put("name-kind", kind_name, sizeof kind_name - 1);

    f = bytes_of(small);
    fuzz_wr32(f->data + 8, 2);
    put_damaged("bad-version", f, true);

    f = bytes_of(small);
    f->data[29] ^= 0x10;
    put_damaged("bad-header-crc", f, false);

    f = bytes_of(small);
    section_data(f, CFLOW_SECTION_EDGES)[9] ^= 1;
    put_damaged("bad-section-crc", f, false);

    f = bytes_of(small);
    g_byte_array_set_size(f, f->len - 5);
    put_damaged("bad-truncated", f, false);

    f = bytes_of(small);
    const uint8_t junk[] = {1, 2, 3};
    g_byte_array_append(f, junk, 3);
    put_damaged("bad-trailing", f, false);

    f = bytes_of(small);
    fuzz_wr64(f->data + 16, f->len + 8);
    fix_header_crc(f);
    put_damaged("bad-file-size", f, false);

    f = bytes_of(small);
    fuzz_wr32(f->data + 24, 1);
    put_damaged("bad-reserved", f, true);

    f = bytes_of(small);
    fuzz_wr32(f->data + 12, CFLOW_PROFILE_MAX_SECTIONS + 1);
    put_damaged("bad-too-many-sections", f, true);

    f = bytes_of(small);
    fuzz_wr32(entry_of(f, CFLOW_SECTION_BLOCKS), 9);
    put_damaged("bad-missing-section", f, true);

    f = bytes_of(small);
    fuzz_wr32(entry_of(f, CFLOW_SECTION_BLOCKS), CFLOW_SECTION_EDGES);
    put_damaged("bad-duplicate-section", f, true);

    f = bytes_of(small);
    {
        uint8_t *e = entry_of(f, CFLOW_SECTION_META), *s = entry_of(f, CFLOW_SECTION_INSNS);
        fuzz_wr64(e + 8, fuzz_rd64(s + 8) + 8);
    }
    put_damaged("bad-overlap", f, true);

    f = bytes_of(small);
    fuzz_wr64(entry_of(f, CFLOW_SECTION_EDGES) + 16, UINT64_MAX - 7);
    put_damaged("bad-outside", f, true);

    f = bytes_of(small);
    fuzz_wr64(entry_of(f, CFLOW_SECTION_EDGES) + 24, 7);
    put_damaged("bad-count", f, true);

    f = bytes_of(small);
    fuzz_wr32(section_data(f, CFLOW_SECTION_EDGES), 4);
    put_damaged("bad-edge-from", f, true);

    f = bytes_of(small);
    fuzz_wr32(section_data(f, CFLOW_SECTION_EDGES) + 4, CFLOW_EDGE_KIND_COUNT);
    put_damaged("bad-edge-kind", f, true);

    f = bytes_of(small);
    fuzz_wr32(section_data(f, CFLOW_SECTION_BLOCKS) + 20, 5);
    put_damaged("bad-block-range", f, true);

    f = bytes_of(small);
    fuzz_wr32(section_data(f, CFLOW_SECTION_BLOCK_INSNS), 4);
    put_damaged("bad-block-insn", f, true);

    f = bytes_of(small);
    fuzz_wr32(section_data(f, CFLOW_SECTION_INSNS) + 20, 0x7ffffff0);
    put_damaged("bad-symbol-offset", f, true);

    f = bytes_of(small);
    {
        uint8_t *e = entry_of(f, CFLOW_SECTION_STRINGS);
        section_data(f, CFLOW_SECTION_STRINGS)[fuzz_rd64(e + 16) - 1] = 'x';
    }
    put_damaged("bad-pool-end", f, true);

    f = bytes_of(small);
    section_data(f, CFLOW_SECTION_STRINGS)[0] = 'x';
    put_damaged("bad-pool-start", f, true);

    f = bytes_of(small);
    {
        uint8_t *m = section_data(f, CFLOW_SECTION_META);
        fuzz_wr32(m + 8, fuzz_rd32(m)); /* meta 1's key = meta 0's */
    }
    put_damaged("bad-duplicate-key", f, true);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus OUTDIR\n");
        return 2;
    }
    outdir = argv[1];
    if (g_mkdir_with_parents(outdir, 0777) != 0) {
        fprintf(stderr, "gen_corpus: %s: %s\n", outdir, g_strerror(errno));
        return 1;
    }

    CflowProfile *small = make_small();
    put_valid_profiles(small);
    put_relaid_profiles(small);
    put_damaged_profiles(small);
    cflow_profile_free(small);
    return 0;
}
