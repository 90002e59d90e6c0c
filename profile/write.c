/*
 * write.c: the binary profile writer (layout in docs/profile-format.md).
 *
 * On a little-endian host the in-memory records are byte for byte the on-disk records (checked
 * at compile time in format.c), so sections go out straight from the GArrays. A big-endian host
 * encodes them through a small buffer instead. What each section holds and how its records are
 * laid out is format.c's table; this file places the sections and writes them out.
 */
#include "format.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define HOST_LE (G_BYTE_ORDER == G_LITTLE_ENDIAN)
#define N_SECTIONS 8u /* at most: insn_priv and insn_bytes are written only when recorded */

/* The version-1 writer's order of sections (docs/profile-format.md, "Placement"). */
static const uint32_t write_order[N_SECTIONS] = {
    CFLOW_SECTION_META,      CFLOW_SECTION_INSNS,       CFLOW_SECTION_EDGES,
    CFLOW_SECTION_BLOCKS,    CFLOW_SECTION_BLOCK_INSNS, CFLOW_SECTION_STRINGS,
    CFLOW_SECTION_INSN_PRIV, CFLOW_SECTION_INSN_BYTES,
};

typedef bool (*Sink)(const void *data, size_t len, void *ud);

typedef struct {
    CflowSectionEntry e;
    const void *data;
    const CflowSectionFormat *encode; /* NULL: the memory is already the disk form */
} OutSection;

typedef struct {
    OutSection s[N_SECTIONS];
    unsigned n; /* sections in this file */
    uint64_t header_len;
    uint64_t file_size;
    uint8_t header[CFLOW_PROFILE_HEADER_SIZE + N_SECTIONS * CFLOW_PROFILE_SECTION_ENTRY_SIZE];
    GByteArray *packed_bytes; /* insn_bytes as on disk: each insn's own size, back to back */
} Layout;

/* On disk an instruction's bytes take its size, not the CFLOW_INSN_BYTES kept in memory. */
static GByteArray *pack_insn_bytes(const CflowProfile *p)
{
    guint total = 0;
    for (guint i = 0; i < p->insns->len; i++) {
        total += cflow_insn_bytes_on_disk(cflow_profile_insn(p, i)->size);
    }
    GByteArray *out = g_byte_array_sized_new(total);
    g_byte_array_set_size(out, total);
    uint8_t *at = out->data; /* copied in place: an append per instruction cost more */
    for (guint i = 0; i < p->insns->len; i++) {
        uint32_t n = cflow_insn_bytes_on_disk(cflow_profile_insn(p, i)->size);
        memcpy(at, cflow_profile_insn_bytes(p, i), n);
        at += n;
    }
    return out;
}

static void layout_free(Layout *l)
{
    if (l->packed_bytes) {
        g_byte_array_unref(l->packed_bytes);
    }
    g_free(l);
}

static bool emit_section(const OutSection *s, Sink sink, void *ud)
{
    if (s->e.length == 0) {
        return true;
    }
    if (s->encode == NULL) {
        return sink(s->data, (size_t)s->e.length, ud);
    }
    uint8_t buf[24 * 4096];
    const size_t rs = s->encode->record_size; /* the same in memory and on disk */
    const size_t per_chunk = sizeof buf / rs;
    const uint8_t *src = s->data;
    for (uint64_t done = 0; done < s->e.count;) {
        size_t n = (size_t)MIN((uint64_t)per_chunk, s->e.count - done);
        cflow_records_encode(s->encode, src + done * rs, buf, n);
        if (!sink(buf, n * rs, ud)) {
            return false;
        }
        done += n;
    }
    return true;
}

static bool crc_sink(const void *data, size_t len, void *ud)
{
    uint32_t *crc = ud;
    *crc = cflow_crc32(*crc, data, len);
    return true;
}

/*
 * Where section `type` of p is in memory, and how many records it has; false for an optional
 * section the profile does not record (it is then not written at all).
 */
static bool section_source(const CflowProfile *p, uint32_t type, Layout *l, const void **data,
                           uint64_t *count)
{
    const CflowSectionFormat *f = cflow_section_format(type);
    const GByteArray *bytes = NULL;
    if (f->fields) {
        const GArray *a = *(GArray *const *)(const void *)((const char *)p + f->array);
        *data = a->data;
        *count = a->len;
        return true;
    }
    if (type == CFLOW_SECTION_STRINGS) {
        bytes = p->strings;
    } else if (type == CFLOW_SECTION_INSN_PRIV && p->insn_priv && p->insn_priv->len > 0) {
        bytes = p->insn_priv;
    } else if (type == CFLOW_SECTION_INSN_BYTES && p->insn_bytes && p->insn_bytes->len > 0) {
        bytes = l->packed_bytes = pack_insn_bytes(p);
    }
    if (!bytes) {
        return false;
    }
    *data = bytes->data;
    *count = bytes->len;
    return true;
}

/* Places the sections, computes every checksum and fills in the header. */
static void plan(const CflowProfile *p, Layout *l)
{
    memset(l, 0, sizeof *l);
    for (unsigned i = 0; i < N_SECTIONS; i++) {
        const CflowSectionFormat *f = cflow_section_format(write_order[i]);
        OutSection *s = &l->s[l->n];
        if (section_source(p, write_order[i], l, &s->data, &s->e.count)) {
            s->e.type = write_order[i];
            s->e.length = s->e.count * f->record_size;
            s->encode = HOST_LE || !f->fields ? NULL : f; /* bytes have no byte order */
            l->n++;
        }
    }

    l->header_len = cflow_header_length(l->n);
    uint64_t pos = l->header_len;
    for (unsigned i = 0; i < l->n; i++) {
        OutSection *s = &l->s[i];
        pos = (pos + 7) & ~(uint64_t)7;
        s->e.offset = pos;
        pos += s->e.length;
        s->e.crc = 0;
        emit_section(s, crc_sink, &s->e.crc);
    }
    l->file_size = pos;

    cflow_header_put(l->header, l->n, l->file_size);
    for (unsigned i = 0; i < l->n; i++) {
        cflow_section_entry_put(l->header + cflow_header_length(i), &l->s[i].e);
    }
    cflow_put_u32(l->header + CFLOW_HEADER_CRC,
                  cflow_header_crc(l->header, (size_t)l->header_len));
}

/* Writes the planned file through sink: header, then sections with zero padding between. */
static bool emit_file(const Layout *l, Sink sink, void *ud)
{
    static const uint8_t zeros[8];
    if (!sink(l->header, (size_t)l->header_len, ud)) {
        return false;
    }
    uint64_t pos = l->header_len;
    for (unsigned i = 0; i < l->n; i++) {
        const OutSection *s = &l->s[i];
        if (s->e.offset > pos && !sink(zeros, (size_t)(s->e.offset - pos), ud)) {
            return false;
        }
        if (!emit_section(s, sink, ud)) {
            return false;
        }
        pos = s->e.offset + s->e.length;
    }
    return true;
}

typedef struct {
    uint8_t *buf;
    size_t pos;
} MemSink;

static bool mem_sink(const void *data, size_t len, void *ud)
{
    MemSink *m = ud;
    memcpy(m->buf + m->pos, data, len);
    m->pos += len;
    return true;
}

GBytes *cflow_profile_serialize(const CflowProfile *p)
{
    g_return_val_if_fail(p != NULL, NULL);
    Layout *l = g_new(Layout, 1);
    plan(p, l);
    MemSink m = {.buf = g_malloc((gsize)l->file_size), .pos = 0};
    emit_file(l, mem_sink, &m);
    g_assert(m.pos == l->file_size);
    gsize size = (gsize)l->file_size;
    layout_free(l);
    return g_bytes_new_take(m.buf, size);
}

static bool file_sink(const void *data, size_t len, void *ud)
{
    return fwrite(data, 1, len, (FILE *)ud) == len;
}

static bool write_binary_body(const void *what, FILE *f, GError **error)
{
    const Layout *l = what;
    return emit_file(l, file_sink, f);
}

bool cflow_profile_write_to(const CflowProfile *p, const CflowPlace *place, GError **error)
{
    g_return_val_if_fail(p != NULL && place != NULL, false);
    GError *local = NULL;
    if (!cflow_profile_validate(p, &local)) {
        g_propagate_prefixed_error(error, local, "refusing to write an invalid profile to %s: ",
                                   place->shown);
        return false;
    }
    Layout *l = g_new(Layout, 1);
    plan(p, l);
    bool ok = cflow_write_place(place, write_binary_body, l, error);
    layout_free(l);
    return ok;
}

bool cflow_profile_write(const CflowProfile *p, const char *path, GError **error)
{
    g_return_val_if_fail(p != NULL && path != NULL, false);
    CflowPlace place;
    if (!cflow_place_open(path, &place, error)) {
        return false;
    }
    bool ok = cflow_profile_write_to(p, &place, error);
    cflow_place_close(&place);
    return ok;
}
