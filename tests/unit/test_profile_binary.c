/*
 * test_profile_binary.c: unit tests of the profile library (profile/profile.h): the binary format:
 * its layout, round trips, atomic writing, read errors.
 */
#include "profile_fixtures.h"
#include "json_check.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static void test_layout(void)
{
    g_autoptr(CflowProfile) p = make_small();
    GBytes *bytes = cflow_profile_serialize(p);
    gsize len;
    const uint8_t *b = g_bytes_get_data(bytes, &len);
    g_assert_cmpmem(b, 8, CFLOW_PROFILE_MAGIC, 8);
    g_assert_cmpuint(rd32(b + 8), ==, CFLOW_PROFILE_VERSION);
    g_assert_cmpuint(rd64(b + 16), ==, len);
    g_assert_cmpuint(rd32(b + 24), ==, 0);
    uint32_t n = rd32(b + 12);
    g_assert_cmpuint(n, ==, 6);
    static const uint32_t rec[] = {0, 8, 1, 24, 24, 24, 4};
    const uint64_t counts[] = {0, 2, p->strings->len, 4, 6, 3, 3};
    for (uint32_t t = CFLOW_SECTION_META; t <= CFLOW_SECTION_BLOCK_INSNS; t++) {
        int i = find_section(b, t);
        g_assert_cmpint(i, >=, 0);
        const uint8_t *e = b + CFLOW_PROFILE_HEADER_SIZE + i * CFLOW_PROFILE_SECTION_ENTRY_SIZE;
        uint64_t off = rd64(e + 8), l = rd64(e + 16), c = rd64(e + 24);
        g_assert_cmpuint(off % 8, ==, 0);
        g_assert_cmpuint(off, >=, header_len_of(b));
        g_assert_cmpuint(off + l, <=, len);
        g_assert_cmpuint(c, ==, counts[t]);
        g_assert_cmpuint(l, ==, c * rec[t]);
        g_assert_cmpuint(rd32(e + 4), ==, (uint32_t)crc32(crc32(0, NULL, 0), b + off, (uInt)l));
    }
    /* Spot-check one record of each kind against the documented layout. */
    const uint8_t *edges = b + rd64(b + CFLOW_PROFILE_HEADER_SIZE +
                                    find_section(b, CFLOW_SECTION_EDGES) * 32 + 8);
    g_assert_cmpuint(rd32(edges + 3 * 24), ==, 0);                      /* from */
    g_assert_cmpuint(rd32(edges + 3 * 24 + 4), ==, CFLOW_EDGE_INTERRUPT); /* kind */
    g_assert_cmpuint(rd64(edges + 3 * 24 + 8), ==, 0xffffffff80001000ull);
    g_assert_cmpuint(rd64(edges + 3 * 24 + 16), ==, UINT64_MAX);
    const uint8_t *insns = b + rd64(b + CFLOW_PROFILE_HEADER_SIZE +
                                    find_section(b, CFLOW_SECTION_INSNS) * 32 + 8);
    g_assert_cmpuint(rd64(insns + 2 * 24), ==, 0x4006f0);
    g_assert_cmpuint(rd32(insns + 2 * 24 + 8), ==, 4);
    g_assert_cmpuint(rd32(insns + 2 * 24 + 12), ==, 1);
    g_assert_cmpuint(rd32(insns + 2 * 24 + 20), ==, CFLOW_NO_STRING);
    const uint8_t *blocks = b + rd64(b + CFLOW_PROFILE_HEADER_SIZE +
                                     find_section(b, CFLOW_SECTION_BLOCKS) * 32 + 8);
    g_assert_cmpuint(rd64(blocks + 24), ==, 0x4006f0);
    g_assert_cmpuint(rd64(blocks + 24 + 8), ==, 3);
    g_assert_cmpuint(rd32(blocks + 24 + 16), ==, 2);
    g_assert_cmpuint(rd32(blocks + 24 + 20), ==, 1);
    /* Header CRC as documented. */
    GByteArray *copy = g_byte_array_new();
    g_byte_array_append(copy, b, (guint)len);
    fix_header_crc(copy->data, copy->len);
    g_assert_cmpmem(copy->data, copy->len, b, len);
    g_byte_array_unref(copy);
    g_bytes_unref(bytes);
}

static void test_roundtrip(void)
{
    g_autoptr(CflowProfile) p = make_small();
    GBytes *bytes;
    g_autoptr(CflowProfile) q = reparse(p, &bytes);
    gsize len;
    const void *data = g_bytes_get_data(bytes, &len);
    GError *err = NULL;
    assert_equal(p, q);
    g_assert_cmpstr(cflow_profile_get_meta(q, "arch"), ==, "aarch64");
    g_assert_cmpstr(cflow_profile_get_meta(q, "command"), ==, "./a.out \"x\"");
    g_assert_cmpstr(cflow_profile_string(q, cflow_profile_insn(q, 1)->disas), ==,
                    "b.ne #0x4006ec");
    g_assert_cmpstr(cflow_profile_string(q, cflow_profile_insn(q, 3)->symbol), ==, "");
    g_assert_cmpuint(cflow_profile_edge(q, 3)->count, ==, UINT64_MAX);
    /* Serializing what was read gives the same bytes. */
    GBytes *again = cflow_profile_serialize(q);
    g_assert_true(g_bytes_equal(bytes, again));
    g_bytes_unref(again);

    /* Through a file. */
    g_autofree char *dir = make_tmpdir();
    g_autofree char *path = g_build_filename(dir, "small.cflow", NULL);
    g_assert_true(cflow_profile_write(p, path, &err));
    g_assert_no_error(err);
    g_autoptr(CflowProfile) r = cflow_profile_read(path, &err);
    g_assert_no_error(err);
    assert_equal(p, r);
    char *contents;
    gsize clen;
    g_assert_true(g_file_get_contents(path, &contents, &clen, NULL));
    g_assert_cmpmem(contents, clen, data, len);
    g_free(contents);
    rm_rf(dir);
    g_bytes_unref(bytes);
}

static void test_empty(void)
{
    g_autoptr(CflowProfile) p = cflow_profile_new();
    g_autoptr(CflowProfile) q = reparse(p, NULL);
    assert_equal(p, q);
    g_assert_cmpuint(q->strings->len, ==, 1);
    size_t jlen;
    char *json = json_of(q, &jlen);
    g_assert_cmpstr(json, ==, "{\n\"meta\": {},\n\"edges\": [],\n\"insns\": [],\n\"blocks\": []\n}\n");
    check_json_content(q, json, jlen);
    free(json);
}

/* A profile that was read can still be extended: interning finds the strings already there. */
static void test_extend_after_read(void)
{
    g_autoptr(CflowProfile) p = make_small();
    g_autoptr(CflowProfile) q = reparse(p, NULL);
    guint pool = q->strings->len;
    g_assert_cmpuint(cflow_profile_intern(q, "nop"), ==, cflow_profile_insn(q, 2)->disas);
    g_assert_cmpuint(cflow_profile_intern(q, "main"), ==, cflow_profile_insn(q, 0)->symbol);
    g_assert_cmpuint(cflow_profile_intern(q, ""), ==, 0);
    g_assert_cmpuint(q->strings->len, ==, pool);
    uint32_t i = cflow_profile_add_insn(q, 0x500000, 4, 0, "svc #0", "main");
    g_assert_cmpuint(i, ==, 4);
    g_assert_cmpuint(q->strings->len, ==, pool + 7);
    cflow_profile_set_meta(q, "arch", "riscv64");
    g_assert_cmpstr(cflow_profile_get_meta(q, "arch"), ==, "riscv64");
    g_assert_cmpuint(q->meta->len, ==, 2);
    cflow_profile_add_edge(q, i, CFLOW_EDGE_HOSTCALL, 0x500004, 1);
    g_assert_true(cflow_profile_validate(q, NULL));
}

static void test_atomic_write(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *path = g_build_filename(dir, "prof.cflow", NULL);
    g_autoptr(CflowProfile) a = make_small();
    g_autoptr(CflowProfile) b = cflow_profile_new();
    cflow_profile_set_meta(b, "which", "second");
    GError *err = NULL;
    g_assert_true(cflow_profile_write(a, path, &err));
    g_assert_no_error(err);
    struct stat st_a, st_b;
    g_assert_cmpint(stat(path, &st_a), ==, 0);
    mode_t mask = umask(022);
    umask(mask);
    g_assert_cmpuint(st_a.st_mode & 0777, ==, 0666 & ~mask); /* not left at mkstemp's 0600 */

    /* A reader holding the old file keeps seeing the whole old profile. */
    FILE *old = fopen(path, "rb");
    g_assert_nonnull(old);
    g_assert_true(cflow_profile_write(b, path, &err));
    g_assert_no_error(err);
    g_assert_cmpint(stat(path, &st_b), ==, 0);
    g_assert_cmpuint(st_a.st_ino, !=, st_b.st_ino); /* replaced by rename, not rewritten */
    GByteArray *buf = g_byte_array_new();
    uint8_t chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, old)) > 0) {
        g_byte_array_append(buf, chunk, (guint)n);
    }
    fclose(old);
    g_autoptr(CflowProfile) old_p = cflow_profile_parse(buf->data, buf->len, &err);
    g_assert_no_error(err);
    assert_equal(a, old_p);
    g_byte_array_unref(buf);
    g_autoptr(CflowProfile) new_p = cflow_profile_read(path, &err);
    g_assert_no_error(err);
    assert_equal(b, new_p);
    g_assert_cmpuint(count_entries(dir), ==, 1); /* no temporary file left behind */

    /* A failed write (here: rename onto a non-empty directory) leaves nothing behind. */
    g_autofree char *blocked = g_build_filename(dir, "blocked", NULL);
    g_autofree char *inner = g_build_filename(blocked, "x", NULL);
    g_assert_cmpint(mkdir(blocked, 0755), ==, 0);
    g_assert_true(g_file_set_contents(inner, "x", 1, NULL));
    g_assert_false(cflow_profile_write(a, blocked, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_IO);
    g_assert_nonnull(strstr(err->message, blocked));
    g_clear_error(&err);
    g_assert_cmpuint(count_entries(dir), ==, 2);
    g_assert_false(cflow_profile_write_json_file(a, blocked, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_IO);
    g_clear_error(&err);
    g_assert_cmpuint(count_entries(dir), ==, 2);

    /* Writing an invalid profile is refused and creates nothing. */
    g_autofree char *bad_path = g_build_filename(dir, "bad.cflow", NULL);
    cflow_profile_edge(a, 0)->from = 99;
    g_assert_false(cflow_profile_write(a, bad_path, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_FORMAT);
    g_assert_nonnull(strstr(err->message, "edge 0"));
    g_clear_error(&err);
    g_assert_false(cflow_profile_write_json_file(a, bad_path, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_FORMAT);
    g_clear_error(&err);
    g_assert_false(g_file_test(bad_path, G_FILE_TEST_EXISTS));
    g_assert_cmpuint(count_entries(dir), ==, 2);
    rm_rf(dir);
}

static void test_unwritable(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autoptr(CflowProfile) p = make_small();
    GError *err = NULL;

    g_autofree char *missing = g_build_filename(dir, "no-such-dir", "p.cflow", NULL);
    g_assert_false(cflow_profile_write(p, missing, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_IO);
    g_assert_nonnull(strstr(err->message, missing));
    g_assert_nonnull(strstr(err->message, g_strerror(ENOENT)));
    g_clear_error(&err);

    g_autofree char *file = g_build_filename(dir, "plain", NULL);
    g_assert_true(g_file_set_contents(file, "", 0, NULL));
    g_autofree char *under_file = g_build_filename(file, "p.cflow", NULL);
    g_assert_false(cflow_profile_write(p, under_file, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_IO);
    g_assert_nonnull(strstr(err->message, under_file));
    g_assert_nonnull(strstr(err->message, g_strerror(ENOTDIR)));
    g_clear_error(&err);
    g_assert_false(cflow_profile_write_json_file(p, under_file, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_IO);
    g_assert_nonnull(strstr(err->message, under_file));
    g_clear_error(&err);

    if (geteuid() != 0) {
        g_autofree char *ro = g_build_filename(dir, "ro", NULL);
        g_assert_cmpint(mkdir(ro, 0500), ==, 0);
        g_autofree char *in_ro = g_build_filename(ro, "p.cflow", NULL);
        g_assert_false(cflow_profile_write(p, in_ro, &err));
        g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_IO);
        g_assert_nonnull(strstr(err->message, g_strerror(EACCES)));
        g_clear_error(&err);
        chmod(ro, 0700);
    }

    /* A stream that cannot be written: the JSON writer reports it. */
    FILE *ro_stream = fopen(file, "r");
    g_assert_nonnull(ro_stream);
    g_assert_false(cflow_profile_write_json(p, ro_stream, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_IO);
    g_assert_nonnull(strstr(err->message, "writing JSON"));
    g_clear_error(&err);
    fclose(ro_stream);
    rm_rf(dir);
}

static void test_read_errors(void)
{
    g_autofree char *dir = make_tmpdir();
    GError *err = NULL;
    g_autofree char *missing = g_build_filename(dir, "missing.cflow", NULL);
    g_assert_null(cflow_profile_read(missing, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_IO);
    g_assert_nonnull(strstr(err->message, missing));
    g_assert_nonnull(strstr(err->message, g_strerror(ENOENT)));
    g_clear_error(&err);

    g_assert_null(cflow_profile_read(dir, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_IO);
    g_assert_nonnull(strstr(err->message, dir));
    g_clear_error(&err);

    g_autofree char *empty = g_build_filename(dir, "empty.cflow", NULL);
    g_assert_true(g_file_set_contents(empty, "", 0, NULL));
    g_assert_null(cflow_profile_read(empty, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_FORMAT);
    g_assert_nonnull(strstr(err->message, empty));
    g_clear_error(&err);

    /* A damaged file on disk: the message names the file and the section. */
    GByteArray *f = serialize_small();
    int e = find_section(f->data, CFLOW_SECTION_EDGES);
    f->data[rd64(entry(f->data, (unsigned)e) + 8) + 5] ^= 0x10;
    g_autofree char *damaged = g_build_filename(dir, "damaged.cflow", NULL);
    g_assert_true(g_file_set_contents(damaged, (const char *)f->data, f->len, NULL));
    g_assert_null(cflow_profile_read(damaged, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_CHECKSUM);
    g_assert_nonnull(strstr(err->message, damaged));
    g_assert_nonnull(strstr(err->message, "section edges: checksum mismatch"));
    g_clear_error(&err);

    /* Truncated on disk. */
    g_autofree char *cut = g_build_filename(dir, "cut.cflow", NULL);
    g_assert_true(g_file_set_contents(cut, (const char *)f->data, f->len - 3, NULL));
    g_assert_null(cflow_profile_read(cut, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_FORMAT);
    g_assert_nonnull(strstr(err->message, "truncated"));
    g_clear_error(&err);
    g_byte_array_unref(f);
    rm_rf(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/profile/binary/layout", test_layout);
    g_test_add_func("/profile/binary/roundtrip", test_roundtrip);
    g_test_add_func("/profile/binary/empty", test_empty);
    g_test_add_func("/profile/binary/extend-after-read", test_extend_after_read);
    g_test_add_func("/profile/binary/atomic-write", test_atomic_write);
    g_test_add_func("/profile/binary/unwritable", test_unwritable);
    g_test_add_func("/profile/binary/read-errors", test_read_errors);
    return g_test_run();
}
