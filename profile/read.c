/*
 * read.c: the binary profile reader (layout in docs/profile-format.md).
 *
 * The input is untrusted: every offset, length and count is checked against the bytes that
 * are actually there before anything is allocated or copied, so a damaged or hostile file costs
 * at most a copy of itself and ends in an error that says which section is wrong and how.
 */
#include "profile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define HOST_LE (G_BYTE_ORDER == G_LITTLE_ENDIAN)
#define N_REQUIRED 6u /* section types 1..6 must be present */
#define N_KNOWN 8u    /* 7 (insn_priv) and 8 (insn_bytes) are optional */

typedef struct {
    uint32_t type;
    uint32_t crc;
    uint64_t offset;
    uint64_t length;
    uint64_t count;
} InSection;

static uint32_t get_u32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t get_u64(const uint8_t *b)
{
    return (uint64_t)get_u32(b) | (uint64_t)get_u32(b + 4) << 32;
}

static uint32_t crc_of(const uint8_t *data, uint64_t len)
{
    uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
    while (len > 0) {
        uInt n = (uInt)MIN(len, (uint64_t)1 << 30);
        crc = (uint32_t)crc32(crc, data, n);
        data += n;
        len -= n;
    }
    return crc;
}

static const char *section_name(uint32_t type)
{
    switch (type) {
    case CFLOW_SECTION_META: return "meta";
    case CFLOW_SECTION_STRINGS: return "strings";
    case CFLOW_SECTION_INSNS: return "insns";
    case CFLOW_SECTION_EDGES: return "edges";
    case CFLOW_SECTION_BLOCKS: return "blocks";
    case CFLOW_SECTION_BLOCK_INSNS: return "block_insns";
    case CFLOW_SECTION_INSN_PRIV: return "insn_priv";
    case CFLOW_SECTION_INSN_BYTES: return "insn_bytes";
    default: return NULL;
    }
}

/* "section edges" or "section 3 (unknown type 77)", for messages. */
static char *describe(unsigned index, uint32_t type)
{
    const char *name = section_name(type);
    if (name != NULL) {
        return g_strdup_printf("section %s", name);
    }
    return g_strdup_printf("section %u (unknown type %" PRIu32 ")", index, type);
}

static void *fail(GError **error, CflowProfileError code, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
static void *fail(GError **error, CflowProfileError code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(error, CFLOW_PROFILE_ERROR, code, msg);
    g_free(msg);
    return NULL;
}

/* Decoders for big-endian hosts: n disk records at src into memory records at dst. */
static void decode_meta(const uint8_t *src, void *dst, size_t n)
{
    CflowMeta *m = dst;
    for (size_t i = 0; i < n; i++, src += 8) {
        m[i].key = get_u32(src);
        m[i].value = get_u32(src + 4);
    }
}

static void decode_insns(const uint8_t *src, void *dst, size_t n)
{
    CflowInsn *r = dst;
    for (size_t i = 0; i < n; i++, src += 24) {
        r[i].addr = get_u64(src);
        r[i].size = get_u32(src + 8);
        r[i].generation = get_u32(src + 12);
        r[i].disas = get_u32(src + 16);
        r[i].symbol = get_u32(src + 20);
    }
}

static void decode_edges(const uint8_t *src, void *dst, size_t n)
{
    CflowEdge *r = dst;
    for (size_t i = 0; i < n; i++, src += 24) {
        r[i].from = get_u32(src);
        r[i].kind = get_u32(src + 4);
        r[i].to = get_u64(src + 8);
        r[i].count = get_u64(src + 16);
    }
}

static void decode_blocks(const uint8_t *src, void *dst, size_t n)
{
    CflowBlock *r = dst;
    for (size_t i = 0; i < n; i++, src += 24) {
        r[i].addr = get_u64(src);
        r[i].count = get_u64(src + 8);
        r[i].first = get_u32(src + 16);
        r[i].n_insns = get_u32(src + 20);
    }
}

static void decode_u32s(const uint8_t *src, void *dst, size_t n)
{
    uint32_t *r = dst;
    for (size_t i = 0; i < n; i++, src += 4) {
        r[i] = get_u32(src);
    }
}

typedef void (*Decoder)(const uint8_t *src, void *dst, size_t n);

/* Record sizes on disk (0: not a record section) and decoders, by section type. */
static const size_t record_size[N_KNOWN + 1] = {
    [CFLOW_SECTION_META] = 8,   [CFLOW_SECTION_STRINGS] = 1, [CFLOW_SECTION_INSNS] = 24,
    [CFLOW_SECTION_EDGES] = 24, [CFLOW_SECTION_BLOCKS] = 24, [CFLOW_SECTION_BLOCK_INSNS] = 4,
    [CFLOW_SECTION_INSN_PRIV] = 1, [CFLOW_SECTION_INSN_BYTES] = 1,
};
static const Decoder decoders[N_KNOWN + 1] = {
    [CFLOW_SECTION_META] = decode_meta,     [CFLOW_SECTION_INSNS] = decode_insns,
    [CFLOW_SECTION_EDGES] = decode_edges,   [CFLOW_SECTION_BLOCKS] = decode_blocks,
    [CFLOW_SECTION_BLOCK_INSNS] = decode_u32s,
};

/* Copies a checked record section into a new GArray. */
static GArray *load_records(const uint8_t *src, uint32_t type, uint32_t count)
{
    size_t rs = record_size[type];
    GArray *a = g_array_sized_new(FALSE, FALSE, (guint)rs, count);
    g_array_set_size(a, count);
    if (count > 0) {
        if (HOST_LE) {
            memcpy(a->data, src, (size_t)count * rs);
        } else {
            decoders[type](src, a->data, count);
        }
    }
    return a;
}

static void replace_array(GArray **slot, GArray *a)
{
    g_array_unref(*slot);
    *slot = a;
}

CflowProfile *cflow_profile_parse(const void *data, size_t len, GError **error)
{
    const uint8_t *b = data;
    if (b == NULL && len > 0) {
        return fail(error, CFLOW_PROFILE_ERROR_FORMAT, "no data");
    }

    /* Magic and version first: they say whether the rest can be understood at all. */
    if (len < 8) {
        if (len > 0 && memcmp(b, CFLOW_PROFILE_MAGIC, len) == 0) {
            return fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                        "header: truncated (%zu bytes, the header alone is %u)", len,
                        CFLOW_PROFILE_HEADER_SIZE);
        }
        return fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                    "not a cflow profile (%zu bytes, too short for the magic)", len);
    }
    if (memcmp(b, CFLOW_PROFILE_MAGIC, 8) != 0) {
        return fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                    "not a cflow profile (bad magic, expected \"%s\")", CFLOW_PROFILE_MAGIC);
    }
    if (len < 12) {
        return fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                    "header: truncated (%zu bytes, the header alone is %u)", len,
                    CFLOW_PROFILE_HEADER_SIZE);
    }
    uint32_t version = get_u32(b + 8);
    if (version != CFLOW_PROFILE_VERSION) {
        return fail(error, CFLOW_PROFILE_ERROR_VERSION,
                    "profile format version %" PRIu32 " is not supported (this reader knows "
                    "version %u)",
                    version, CFLOW_PROFILE_VERSION);
    }
    if (len < CFLOW_PROFILE_HEADER_SIZE) {
        return fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                    "header: truncated (%zu bytes, the header alone is %u)", len,
                    CFLOW_PROFILE_HEADER_SIZE);
    }
    uint32_t n_sections = get_u32(b + 12);
    if (n_sections > CFLOW_PROFILE_MAX_SECTIONS) {
        return fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                    "header: %" PRIu32 " sections, more than the limit of %u", n_sections,
                    CFLOW_PROFILE_MAX_SECTIONS);
    }
    const size_t header_len =
        CFLOW_PROFILE_HEADER_SIZE + (size_t)n_sections * CFLOW_PROFILE_SECTION_ENTRY_SIZE;
    if (len < header_len) {
        return fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                    "section table: truncated (%" PRIu32 " entries need %zu bytes, got %zu)",
                    n_sections, header_len, len);
    }
    {
        static const uint8_t zero[4];
        uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
        crc = (uint32_t)crc32(crc, b, 28);
        crc = (uint32_t)crc32(crc, zero, 4);
        crc = (uint32_t)crc32(crc, b + 32, (uInt)(header_len - 32));
        uint32_t stored = get_u32(b + 28);
        if (crc != stored) {
            return fail(error, CFLOW_PROFILE_ERROR_CHECKSUM,
                        "header: checksum mismatch (stored 0x%08" PRIx32 ", computed 0x%08" PRIx32
                        ")",
                        stored, crc);
        }
    }
    uint64_t file_size = get_u64(b + 16);
    if (file_size != len) {
        if (file_size > len) {
            return fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                        "file truncated: the header says %" PRIu64 " bytes, got %zu", file_size,
                        len);
        }
        return fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                    "trailing data: the header says %" PRIu64 " bytes, got %zu", file_size, len);
    }
    uint32_t reserved = get_u32(b + 24);
    if (reserved != 0) {
        return fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                    "header: reserved field is 0x%08" PRIx32 ", must be 0", reserved);
    }

    /* The section table: every section inside the file, after the header, not overlapping. */
    InSection *sec = g_new0(InSection, MAX(n_sections, 1u));
    int known[N_KNOWN + 1];
    for (unsigned t = 0; t <= N_KNOWN; t++) {
        known[t] = -1;
    }
    CflowProfile *p = NULL;
    char *what = NULL;
    for (unsigned i = 0; i < n_sections; i++) {
        const uint8_t *e = b + CFLOW_PROFILE_HEADER_SIZE + i * CFLOW_PROFILE_SECTION_ENTRY_SIZE;
        InSection *s = &sec[i];
        s->type = get_u32(e);
        s->crc = get_u32(e + 4);
        s->offset = get_u64(e + 8);
        s->length = get_u64(e + 16);
        s->count = get_u64(e + 24);
        g_free(what);
        what = describe(i, s->type);
        if (s->offset > len || s->length > len - s->offset) {
            fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                 "%s: bytes [%" PRIu64 ", +%" PRIu64 ") are outside the file (%zu bytes)", what,
                 s->offset, s->length, len);
            goto out;
        }
        if (s->offset < header_len) {
            fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                 "%s: bytes [%" PRIu64 ", +%" PRIu64 ") overlap the header (%zu bytes)", what,
                 s->offset, s->length, header_len);
            goto out;
        }
        for (unsigned j = 0; j < i; j++) {
            const InSection *o = &sec[j];
            if (s->length > 0 && o->length > 0 && s->offset < o->offset + o->length &&
                o->offset < s->offset + s->length) {
                char *other = describe(j, o->type);
                fail(error, CFLOW_PROFILE_ERROR_FORMAT, "%s overlaps %s", what, other);
                g_free(other);
                goto out;
            }
        }
        if (s->type >= 1 && s->type <= N_KNOWN) {
            if (known[s->type] >= 0) {
                fail(error, CFLOW_PROFILE_ERROR_FORMAT, "%s appears twice in the section table",
                     what);
                goto out;
            }
            known[s->type] = (int)i;
        }
    }
    for (unsigned i = 0; i < n_sections; i++) {
        uint32_t crc = crc_of(b + sec[i].offset, sec[i].length);
        if (crc != sec[i].crc) {
            g_free(what);
            what = describe(i, sec[i].type);
            fail(error, CFLOW_PROFILE_ERROR_CHECKSUM,
                 "%s: checksum mismatch (stored 0x%08" PRIx32 ", computed 0x%08" PRIx32 ")",
                 what, sec[i].crc, crc);
            goto out;
        }
    }

    /* Known sections: present, and count consistent with length and the in-memory limits. */
    for (uint32_t t = 1; t <= N_KNOWN; t++) {
        g_free(what);
        what = describe(0, t);
        if (known[t] < 0 && t > N_REQUIRED) {
            continue;
        }
        if (known[t] < 0) {
            fail(error, CFLOW_PROFILE_ERROR_FORMAT, "%s is missing", what);
            goto out;
        }
        const InSection *s = &sec[known[t]];
        size_t rs = record_size[t];
        if (s->count > s->length / rs || s->count * rs != s->length) {
            fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                 "%s: count %" PRIu64 " does not match length %" PRIu64
                 " (%zu-byte records)",
                 what, s->count, s->length, rs);
            goto out;
        }
        /* In memory, lengths are 32-bit; string offsets must also stay below NO_STRING. */
        uint64_t limit = t == CFLOW_SECTION_STRINGS ? (uint64_t)UINT32_MAX - 1 : UINT32_MAX;
        if (s->count > limit) {
            fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                 "%s: count %" PRIu64 " exceeds the limit of %" PRIu64, what, s->count, limit);
            goto out;
        }
    }
    const InSection *strs = &sec[known[CFLOW_SECTION_STRINGS]];
    const uint8_t *pool = b + strs->offset;
    if (strs->length == 0 || pool[0] != 0) {
        fail(error, CFLOW_PROFILE_ERROR_FORMAT,
             "section strings: the pool must start with the empty string");
        goto out;
    }
    if (pool[strs->length - 1] != 0) {
        fail(error, CFLOW_PROFILE_ERROR_FORMAT,
             "section strings: the last string is not NUL-terminated");
        goto out;
    }

    p = cflow_profile_new();
    cflow_profile_forget_string_index(p); /* built on the first intern, see profile.c */
    g_byte_array_set_size(p->strings, 0);
    g_byte_array_append(p->strings, pool, (guint)strs->length);
#define LOAD(field, type)                                                                      \
    replace_array(&p->field, load_records(b + sec[known[type]].offset, type,                   \
                                          (uint32_t)sec[known[type]].count))
    LOAD(meta, CFLOW_SECTION_META);
    LOAD(insns, CFLOW_SECTION_INSNS);
    LOAD(edges, CFLOW_SECTION_EDGES);
    LOAD(blocks, CFLOW_SECTION_BLOCKS);
    LOAD(block_insns, CFLOW_SECTION_BLOCK_INSNS);
#undef LOAD
    if (known[CFLOW_SECTION_INSN_PRIV] >= 0) {
        const InSection *ps = &sec[known[CFLOW_SECTION_INSN_PRIV]];
        g_byte_array_append(p->insn_priv, b + ps->offset, (guint)ps->count);
    }
    if (known[CFLOW_SECTION_INSN_BYTES] >= 0) {
        /* each instruction's own size on disk, CFLOW_INSN_BYTES apiece in memory */
        const InSection *bs = &sec[known[CFLOW_SECTION_INSN_BYTES]];
        uint64_t need = 0;
        for (guint i = 0; i < p->insns->len; i++) {
            need += MIN(cflow_profile_insn(p, i)->size, CFLOW_INSN_BYTES);
        }
        if (need != bs->length) {
            fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                 "section insn_bytes: %" PRIu64 " bytes, the instructions' sizes add up to %" PRIu64,
                 bs->length, need);
            cflow_profile_free(p);
            p = NULL;
            goto out;
        }
        const uint8_t *at = b + bs->offset;
        for (guint i = 0; i < p->insns->len; i++) {
            uint32_t n = MIN(cflow_profile_insn(p, i)->size, CFLOW_INSN_BYTES);
            cflow_profile_set_insn_bytes(p, i, at, n);
            at += n;
        }
    }
    if (!cflow_profile_validate(p, error)) {
        cflow_profile_free(p);
        p = NULL;
    }
out:
    g_free(what);
    g_free(sec);
    return p;
}

/* Reads a file that cannot be mapped (a pipe ...) into memory. */
static uint8_t *slurp(int fd, size_t *len, int *err)
{
    GByteArray *buf = g_byte_array_new();
    uint8_t chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            *err = errno;
            g_byte_array_unref(buf);
            return NULL;
        }
        if (n == 0) {
            break;
        }
        g_byte_array_append(buf, chunk, (guint)n);
    }
    *len = buf->len;
    return g_byte_array_free(buf, FALSE);
}

CflowProfile *cflow_profile_read(const char *path, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        return fail(error, CFLOW_PROFILE_ERROR_IO, "cannot open %s: %s", path, g_strerror(err));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return fail(error, CFLOW_PROFILE_ERROR_IO, "cannot read %s: %s", path, g_strerror(err));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return fail(error, CFLOW_PROFILE_ERROR_IO, "cannot read %s: %s", path,
                    g_strerror(EISDIR));
    }
    GError *local = NULL;
    CflowProfile *p = NULL;
    if (S_ISREG(st.st_mode) && st.st_size > 0) {
        if ((uint64_t)st.st_size > SIZE_MAX) {
            close(fd);
            return fail(error, CFLOW_PROFILE_ERROR_IO, "cannot read %s: %s", path,
                        g_strerror(EFBIG));
        }
        size_t len = (size_t)st.st_size;
        void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            int err = errno;
            close(fd);
            return fail(error, CFLOW_PROFILE_ERROR_IO, "cannot map %s: %s", path,
                        g_strerror(err));
        }
        close(fd);
        madvise(map, len, MADV_SEQUENTIAL);
        p = cflow_profile_parse(map, len, &local);
        munmap(map, len);
    } else {
        size_t len = 0;
        int err = 0;
        uint8_t *data = slurp(fd, &len, &err);
        close(fd);
        if (err != 0) {
            return fail(error, CFLOW_PROFILE_ERROR_IO, "cannot read %s: %s", path,
                        g_strerror(err));
        }
        p = cflow_profile_parse(data, len, &local);
        g_free(data);
    }
    if (p == NULL) {
        g_propagate_prefixed_error(error, local, "%s: ", path);
    }
    return p;
}
