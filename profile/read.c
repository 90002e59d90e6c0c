/*
 * read.c: the binary profile reader (layout in docs/profile-format.md).
 *
 * The input is untrusted: every offset, length and count is checked against the bytes that
 * are actually there before anything is allocated or copied, so a damaged or hostile file costs
 * at most a copy of itself and ends in an error that says which section is wrong and how. The
 * checks run in the order the spec lists them ("What a reader checks"), one step a function.
 */
#include "format.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOST_LE (G_BYTE_ORDER == G_LITTLE_ENDIAN)
#define fail cflow_profile_fail /* short, for the many checks below */

/* The input and what the reader has learnt of it so far, step by step. */
typedef struct {
    const uint8_t *b;
    size_t len;
    uint32_t n_sections;
    size_t header_len;                  /* header and section table */
    CflowSectionEntry *sec;             /* the section table */
    int known[CFLOW_SECTION_TYPES + 1]; /* the entry of each known type, -1: none */
} Input;

/* "section edges" or "section 3 (unknown type 77)", for messages. */
static char *describe(unsigned index, uint32_t type)
{
    const CflowSectionFormat *f = cflow_section_format(type);
    if (f != NULL) {
        return g_strdup_printf("section %s", f->name);
    }
    return g_strdup_printf("section %u (unknown type %" PRIu32 ")", index, type);
}

static bool header_truncated(size_t len, GError **error)
{
    return fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                "header: truncated (%zu bytes, the header alone is %u)", len,
                CFLOW_PROFILE_HEADER_SIZE);
}

/* Magic and version first: they say whether the rest can be understood at all. */
static bool check_magic_and_version(const Input *in, GError **error)
{
    if (in->len < CFLOW_MAGIC_SIZE) {
        if (in->len > 0 && memcmp(in->b, CFLOW_PROFILE_MAGIC, in->len) == 0) {
            return header_truncated(in->len, error);
        }
        return fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                    "not a cflow profile (%zu bytes, too short for the magic)", in->len);
    }
    if (memcmp(in->b, CFLOW_PROFILE_MAGIC, CFLOW_MAGIC_SIZE) != 0) {
        return fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                    "not a cflow profile (bad magic, expected \"%s\")", CFLOW_PROFILE_MAGIC);
    }
    if (in->len < CFLOW_HEADER_VERSION + 4) {
        return header_truncated(in->len, error);
    }
    uint32_t version = cflow_get_u32(in->b + CFLOW_HEADER_VERSION);
    if (version != CFLOW_PROFILE_VERSION) {
        return fail(error, CFLOW_PROFILE_ERROR_VERSION,
                    "profile format version %" PRIu32 " is not supported (this reader knows "
                    "version %u)",
                    version, CFLOW_PROFILE_VERSION);
    }
    return true;
}

/* The rest of the header: the section count, the header's CRC, the file size, reserved. */
static bool check_header(Input *in, GError **error)
{
    const uint8_t *b = in->b;
    if (in->len < CFLOW_PROFILE_HEADER_SIZE) {
        return header_truncated(in->len, error);
    }
    in->n_sections = cflow_get_u32(b + CFLOW_HEADER_SECTIONS);
    if (in->n_sections > CFLOW_PROFILE_MAX_SECTIONS) {
        return fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                    "header: %" PRIu32 " sections, more than the limit of %u", in->n_sections,
                    CFLOW_PROFILE_MAX_SECTIONS);
    }
    in->header_len = cflow_header_length(in->n_sections);
    if (in->len < in->header_len) {
        return fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                    "section table: truncated (%" PRIu32 " entries need %zu bytes, got %zu)",
                    in->n_sections, in->header_len, in->len);
    }
    uint32_t crc = cflow_header_crc(b, in->header_len);
    uint32_t stored = cflow_get_u32(b + CFLOW_HEADER_CRC);
    if (crc != stored) {
        return fail(error, CFLOW_PROFILE_ERROR_CHECKSUM,
                    "header: checksum mismatch (stored 0x%08" PRIx32 ", computed 0x%08" PRIx32 ")",
                    stored, crc);
    }
    uint64_t file_size = cflow_get_u64(b + CFLOW_HEADER_FILE_SIZE);
    if (file_size > in->len) {
        return fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                    "file truncated: the header says %" PRIu64 " bytes, got %zu", file_size,
                    in->len);
    }
    if (file_size < in->len) {
        return fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                    "trailing data: the header says %" PRIu64 " bytes, got %zu", file_size,
                    in->len);
    }
    uint32_t reserved = cflow_get_u32(b + CFLOW_HEADER_RESERVED);
    if (reserved != 0) {
        return fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                    "header: reserved field is 0x%08" PRIx32 ", must be 0", reserved);
    }
    return true;
}

/* Entry i (`what`) lies inside the file, after the header, overlapping no earlier entry. */
static bool check_place(const Input *in, unsigned i, const char *what, GError **error)
{
    const CflowSectionEntry *s = &in->sec[i];
    if (s->offset > in->len || s->length > in->len - s->offset) {
        return fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                    "%s: bytes [%" PRIu64 ", +%" PRIu64 ") are outside the file (%zu bytes)", what,
                    s->offset, s->length, in->len);
    }
    if (s->offset < in->header_len) {
        return fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                    "%s: bytes [%" PRIu64 ", +%" PRIu64 ") overlap the header (%zu bytes)", what,
                    s->offset, s->length, in->header_len);
    }
    for (unsigned j = 0; j < i; j++) {
        const CflowSectionEntry *o = &in->sec[j];
        if (s->length > 0 && o->length > 0 && s->offset < o->offset + o->length &&
            o->offset < s->offset + s->length) {
            char *other = describe(j, o->type);
            fail(error, CFLOW_PROFILE_ERROR_FORMAT, "%s overlaps %s", what, other);
            g_free(other);
            return false;
        }
    }
    return true;
}

/* The section table: every entry in its place, each known type at most once. */
static bool read_section_table(Input *in, GError **error)
{
    for (unsigned t = 0; t <= CFLOW_SECTION_TYPES; t++) {
        in->known[t] = -1;
    }
    for (unsigned i = 0; i < in->n_sections; i++) {
        CflowSectionEntry *s = &in->sec[i];
        cflow_section_entry_get(cflow_section_entry_at(in->b, i), s);
        g_autofree char *what = describe(i, s->type);
        if (!check_place(in, i, what, error)) {
            return false;
        }
        if (cflow_section_format(s->type) != NULL) {
            if (in->known[s->type] >= 0) {
                return fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                            "%s appears twice in the section table", what);
            }
            in->known[s->type] = (int)i;
        }
    }
    return true;
}

/* Every section's CRC, known or unknown. */
static bool check_checksums(const Input *in, GError **error)
{
    for (unsigned i = 0; i < in->n_sections; i++) {
        const CflowSectionEntry *s = &in->sec[i];
        uint32_t crc = cflow_crc32(0, in->b + s->offset, s->length);
        if (crc != s->crc) {
            g_autofree char *what = describe(i, s->type);
            return fail(error, CFLOW_PROFILE_ERROR_CHECKSUM,
                        "%s: checksum mismatch (stored 0x%08" PRIx32 ", computed 0x%08" PRIx32 ")",
                        what, s->crc, crc);
        }
    }
    return true;
}

/* Known sections: present, and count consistent with length and the in-memory limits. */
static bool check_counts(const Input *in, GError **error)
{
    for (uint32_t t = 1; t <= CFLOW_SECTION_TYPES; t++) {
        if (in->known[t] < 0 && t > CFLOW_SECTION_REQUIRED) {
            continue;
        }
        g_autofree char *what = describe(0, t);
        if (in->known[t] < 0) {
            return fail(error, CFLOW_PROFILE_ERROR_FORMAT, "%s is missing", what);
        }
        const CflowSectionEntry *s = &in->sec[in->known[t]];
        size_t rs = cflow_section_format(t)->record_size;
        if (s->count > s->length / rs || s->count * rs != s->length) {
            return fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                        "%s: count %" PRIu64 " does not match length %" PRIu64
                        " (%zu-byte records)",
                        what, s->count, s->length, rs);
        }
        /* In memory, lengths are 32-bit; string offsets must also stay below NO_STRING. */
        uint64_t limit = t == CFLOW_SECTION_STRINGS ? (uint64_t)UINT32_MAX - 1 : UINT32_MAX;
        if (s->count > limit) {
            return fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                        "%s: count %" PRIu64 " exceeds the limit of %" PRIu64, what, s->count,
                        limit);
        }
    }
    return true;
}

/* The section of known type t (present: checked). */
static const CflowSectionEntry *section(const Input *in, uint32_t t)
{
    return &in->sec[in->known[t]];
}

/* The pool names terminated strings, offset 0 the empty one. */
static bool check_pool(const Input *in, GError **error)
{
    const CflowSectionEntry *strs = section(in, CFLOW_SECTION_STRINGS);
    const uint8_t *pool = in->b + strs->offset;
    if (strs->length == 0 || pool[0] != 0) {
        return fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                    "section strings: the pool must start with the empty string");
    }
    if (pool[strs->length - 1] != 0) {
        return fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                    "section strings: the last string is not NUL-terminated");
    }
    return true;
}

/* Copies a checked record section into a new GArray. */
static GArray *load_records(const uint8_t *src, const CflowSectionFormat *f, uint32_t count)
{
    GArray *a = g_array_sized_new(FALSE, FALSE, (guint)f->record_size, count);
    g_array_set_size(a, count);
    if (count > 0) {
        if (HOST_LE) {
            memcpy(a->data, src, (size_t)count * f->record_size);
        } else {
            cflow_records_decode(f, src, a->data, count);
        }
    }
    return a;
}

/* Each instruction's own size on disk, CFLOW_INSN_BYTES apiece in memory. */
static bool load_insn_bytes(const Input *in, CflowProfile *p, GError **error)
{
    const CflowSectionEntry *bs = section(in, CFLOW_SECTION_INSN_BYTES);
    uint64_t need = 0;
    for (guint i = 0; i < p->insns->len; i++) {
        need += cflow_insn_bytes_on_disk(cflow_profile_insn(p, i)->size);
    }
    if (need != bs->length) {
        return fail(error, CFLOW_PROFILE_ERROR_FORMAT,
                    "section insn_bytes: %" PRIu64
                    " bytes, the instructions' sizes add up to %" PRIu64,
                    bs->length, need);
    }
    const uint8_t *at = in->b + bs->offset;
    for (guint i = 0; i < p->insns->len; i++) {
        uint32_t n = cflow_insn_bytes_on_disk(cflow_profile_insn(p, i)->size);
        cflow_profile_set_insn_bytes(p, i, at, n);
        at += n;
    }
    return true;
}

/* Only now are arrays allocated, each at most the size of its checked section. */
static CflowProfile *load_profile(const Input *in, GError **error)
{
    CflowProfile *p = cflow_profile_new();
    cflow_profile_forget_string_index(p); /* built on the first intern, see profile.c */
    const CflowSectionEntry *strs = section(in, CFLOW_SECTION_STRINGS);
    g_byte_array_set_size(p->strings, 0);
    g_byte_array_append(p->strings, in->b + strs->offset, (guint)strs->length);
    for (uint32_t t = 1; t <= CFLOW_SECTION_TYPES; t++) {
        const CflowSectionFormat *f = cflow_section_format(t);
        if (f->fields) {
            GArray **slot = (GArray **)(void *)((char *)p + f->array);
            g_array_unref(*slot);
            *slot =
                load_records(in->b + section(in, t)->offset, f, (uint32_t)section(in, t)->count);
        }
    }
    if (in->known[CFLOW_SECTION_INSN_PRIV] >= 0) {
        const CflowSectionEntry *ps = section(in, CFLOW_SECTION_INSN_PRIV);
        g_byte_array_append(p->insn_priv, in->b + ps->offset, (guint)ps->count);
    }
    if ((in->known[CFLOW_SECTION_INSN_BYTES] >= 0 && !load_insn_bytes(in, p, error)) ||
        !cflow_profile_validate(p, error)) {
        cflow_profile_free(p);
        return NULL;
    }
    return p;
}

CflowProfile *cflow_profile_parse(const void *data, size_t len, GError **error)
{
    Input in = {.b = data, .len = len};
    if (in.b == NULL && len > 0) {
        fail(error, CFLOW_PROFILE_ERROR_FORMAT, "no data");
        return NULL;
    }
    if (!check_magic_and_version(&in, error) || !check_header(&in, error)) {
        return NULL;
    }
    in.sec = g_new0(CflowSectionEntry, MAX(in.n_sections, 1u));
    CflowProfile *p = NULL;
    if (read_section_table(&in, error) && check_checksums(&in, error) &&
        check_counts(&in, error) && check_pool(&in, error)) {
        p = load_profile(&in, error);
    }
    g_free(in.sec);
    return p;
}

static CflowProfile *io_fail(GError **error, const char *verb, const char *path, int err)
{
    fail(error, CFLOW_PROFILE_ERROR_IO, "cannot %s %s: %s", verb, path, g_strerror(err));
    return NULL;
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
        return io_fail(error, "open", path, err);
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return io_fail(error, "read", path, err);
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return io_fail(error, "read", path, EISDIR);
    }
    GError *local = NULL;
    CflowProfile *p = NULL;
    if (S_ISREG(st.st_mode) && st.st_size > 0) {
        if ((uint64_t)st.st_size > SIZE_MAX) {
            close(fd);
            return io_fail(error, "read", path, EFBIG);
        }
        size_t len = (size_t)st.st_size;
        void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            int err = errno;
            close(fd);
            return io_fail(error, "map", path, err);
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
            return io_fail(error, "read", path, err);
        }
        p = cflow_profile_parse(data, len, &local);
        g_free(data);
    }
    if (p == NULL) {
        g_propagate_prefixed_error(error, local, "%s: ", path);
    }
    return p;
}
