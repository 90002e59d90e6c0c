/*
 * fuzz_read.c: fuzz target for the binary profile reader (cflow_profile_parse and
 * cflow_profile_read, profile/read.c), the round trip through the writer, and the library's
 * name parsers.
 *
 * The input is a profile file. It is parsed twice: as it is (which exercises the magic, version
 * and checksum checks: a random mutation almost always breaks a CRC), and after
 * fuzz_fix_file() has made its sizes and CRCs consistent, which lets the mutations reach the
 * structural checks and the loading of records behind them. For each parse:
 *
 *   - rejected: the error is a CFLOW_PROFILE_ERROR with a short printable ASCII message;
 *   - accepted: the profile passes cflow_profile_validate; it serializes, parses back to an
 *     equal profile (every table, the string pool byte for byte) and serializes again to the
 *     same bytes; every meta key finds its own value; every string it references interns to
 *     the same text, twice to the same offset (the index built from a pool that was read, with
 *     its duplicates and offsets into the middle of strings); and after adding a meta entry,
 *     an instruction, an edge, a block and a privilege level it is still valid and still
 *     round-trips (privilege levels included).
 *
 * The as-is input is also read through a file, both a regular one (a memfd) and a pipe, via
 * /proc/self/fd: cflow_profile_read must agree with cflow_profile_parse, the same profile or
 * the same error code with the path prefixed to the same message. And the input's first bytes,
 * as a string, go to the library's name parsers (edge kinds, privilege levels, report sorts),
 * which must accept
 * exactly the names they print.
 */
#include "fuzz_common.h"

#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * Interning a string the profile references finds or adds the same text, and interning it
 * again gives the same offset without growing the pool. (A string that only exists inside
 * another one, an offset into the middle of a pool string, is not in the index: it is added.)
 */
static void check_intern_existing(CflowProfile *q, uint32_t off)
{
    char *s = g_strdup(cflow_profile_string(q, off));
    uint32_t got = cflow_profile_intern(q, s);
    FUZZ_CHECK(got < q->strings->len && strcmp(cflow_profile_string(q, got), s) == 0,
               "interning \"%s\" gave offset %" PRIu32 " with other text", s, got);
    guint pool = q->strings->len;
    FUZZ_CHECK(cflow_profile_intern(q, s) == got && q->strings->len == pool,
               "interning \"%s\" twice gave two offsets", s);
    g_free(s);
}

static void check_accepted(const CflowProfile *p)
{
    CflowProfile *q = fuzz_roundtrip(p);

    /* Meta keys are unique, so each finds its own entry. */
    for (guint i = 0; i < q->meta->len; i++) {
        const CflowMeta *m = &g_array_index(q->meta, CflowMeta, i);
        const char *v = cflow_profile_get_meta(q, cflow_profile_string(q, m->key));
        FUZZ_CHECK(v == cflow_profile_string(q, m->value), "meta %u: get_meta finds another", i);
    }

    /* Extending a profile that was read (what the tool's merge does). */
    FUZZ_CHECK(cflow_profile_intern(q, "") == 0, "\"\" is not at offset 0");
    for (guint i = 0; i < q->meta->len && i < 64; i++) {
        const CflowMeta *m = &g_array_index(q->meta, CflowMeta, i);
        check_intern_existing(q, m->key);
        check_intern_existing(q, m->value);
    }
    for (guint i = 0; i < q->insns->len && i < 64; i++) {
        const CflowInsn *in = cflow_profile_insn(q, i);
        uint32_t sym = in->symbol;
        check_intern_existing(q, in->disas);
        if (sym != CFLOW_NO_STRING) {
            check_intern_existing(q, sym);
        }
    }
    guint n_meta = q->meta->len;
    bool had_key = cflow_profile_get_meta(q, "fuzz.extra") != NULL;
    cflow_profile_set_meta(q, "fuzz.extra", "value");
    FUZZ_CHECK(q->meta->len == n_meta + (had_key ? 0 : 1), "set_meta: %u entries", q->meta->len);
    FUZZ_CHECK(strcmp(cflow_profile_get_meta(q, "fuzz.extra"), "value") == 0, "set_meta");
    uint32_t i = cflow_profile_add_insn(q, 0x1000, 4, 7, "fuzz insn", NULL);
    cflow_profile_add_edge(q, i, CFLOW_EDGE_EARLY_EXIT, 0x2000, UINT64_MAX);
    cflow_profile_add_block(q, 0x1000, 1, &i, 1);
    bool had_levels = q->insn_priv->len > 0;
    cflow_profile_set_insn_priv(q, i, CFLOW_PRIV_KERNEL);
    FUZZ_CHECK(q->insn_priv->len == q->insns->len, "%u levels for %u insns", q->insn_priv->len,
               q->insns->len);
    FUZZ_CHECK(cflow_profile_insn_priv(q, i) == CFLOW_PRIV_KERNEL, "set_insn_priv");
    if (!had_levels && i > 0) {
        FUZZ_CHECK(cflow_profile_insn_priv(q, 0) == CFLOW_PRIV_UNKNOWN, "levels not unknown");
    }
    GError *err = NULL;
    FUZZ_CHECK(cflow_profile_validate(q, &err), "invalid after extension: %s", err->message);
    CflowProfile *r = fuzz_roundtrip(q);
    cflow_profile_free(r);
    cflow_profile_free(q);
}

/* cflow_profile_read of `path` agrees with the parse of the same bytes. */
static void check_read_path(const char *path, const CflowProfile *p, const GError *perr)
{
    GError *err = NULL;
    CflowProfile *r = cflow_profile_read(path, &err);
    if (p != NULL) {
        FUZZ_CHECK(r != NULL, "parse accepted, read refused: %s", err->message);
        fuzz_check_equal(p, r);
        cflow_profile_free(r);
        return;
    }
    FUZZ_CHECK(r == NULL, "parse refused (%s), read accepted", perr->message);
    FUZZ_CHECK(err != NULL && err->domain == perr->domain && err->code == perr->code,
               "read's error differs from parse's (%s)", perr->message);
    char *want = g_strdup_printf("%s: %s", path, perr->message);
    FUZZ_CHECK(strcmp(err->message, want) == 0, "read says \"%s\", expected \"%s\"", err->message,
               want);
    g_free(want);
    g_error_free(err);
}

static void write_all(int fd, const uint8_t *data, size_t size)
{
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        FUZZ_CHECK(n > 0, "write: %s", g_strerror(errno));
        done += (size_t)n;
    }
}

/*
 * The same bytes through cflow_profile_read: from a regular file (a memfd: the mapped path),
 * and from a pipe (the path that reads what cannot be mapped), via /proc/self/fd.
 */
static void check_path_reader(const uint8_t *data, size_t size, const CflowProfile *p,
                              const GError *perr)
{
    char path[64];
    int fd = memfd_create("cflow-fuzz", MFD_CLOEXEC);
    if (fd >= 0) {
        write_all(fd, data, size);
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        check_read_path(path, p, perr);
        close(fd);
    }
    int pfd[2];
    if (size <= 16384 && pipe2(pfd, O_CLOEXEC) == 0) { /* fits the pipe's buffer */
        write_all(pfd[1], data, size);
        close(pfd[1]);
        snprintf(path, sizeof path, "/proc/self/fd/%d", pfd[0]);
        check_read_path(path, p, perr);
        close(pfd[0]);
    }
}

/* The library's other text input: names of edge kinds, privilege levels, report sorts. */
static void check_names(const uint8_t *data, size_t size)
{
    char *name = g_strndup((const char *)data, MIN(size, 32));
    CflowEdgeKind kind;
    if (cflow_edge_kind_parse(name, &kind)) {
        FUZZ_CHECK((unsigned)kind < CFLOW_EDGE_KIND_COUNT &&
                       strcmp(cflow_edge_kind_name(kind), name) == 0,
                   "\"%s\" parses as kind %d", name, kind);
    }
    CflowPriv priv;
    if (cflow_priv_parse(name, &priv)) {
        FUZZ_CHECK((unsigned)priv < CFLOW_PRIV_COUNT && strcmp(cflow_priv_name(priv), name) == 0,
                   "\"%s\" parses as privilege level %d", name, priv);
    }
    CflowSort sort;
    if (cflow_sort_parse(name, &sort)) {
        FUZZ_CHECK((unsigned)sort < CFLOW_SORT_COUNT && strcmp(cflow_sort_name(sort), name) == 0,
                   "\"%s\" parses as sort %d", name, sort);
    }
    if (cflow_sort_find(name, CFLOW_SORT_VIEW_GROUP, &sort)) {
        FUZZ_CHECK((unsigned)sort < CFLOW_SORT_KEYS && strcmp(cflow_sort_name(sort), name) == 0,
                   "\"%s\" finds group sort %d", name, sort);
    }
    g_free(name);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_names(data, size);
    GError *err = NULL;
    CflowProfile *p = fuzz_parse(data, size, &err);
    check_path_reader(data, size, p, err);
    if (p != NULL) {
        check_accepted(p);
        cflow_profile_free(p);
    } else {
        g_error_free(err);
    }

    if (size >= CFLOW_PROFILE_HEADER_SIZE) {
        uint8_t *copy = g_memdup2(data, size);
        fuzz_fix_file(copy, size);
        CflowProfile *f = fuzz_parse(copy, size, NULL);
        if (f != NULL) {
            check_accepted(f);
            cflow_profile_free(f);
        }
        g_free(copy);
    }
    return 0;
}
