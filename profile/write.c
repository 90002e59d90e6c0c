/*
 * write.c: the binary profile writer (layout in docs/profile-format.md).
 *
 * On a little-endian host the in-memory records are byte for byte the on-disk records (checked
 * below at compile time), so sections go out straight from the GArrays. A big-endian host
 * encodes them through a small buffer instead.
 */
#include "profile.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

_Static_assert(sizeof(CflowMeta) == 8, "CflowMeta must match its 8-byte disk record");
_Static_assert(sizeof(CflowInsn) == 24 && offsetof(CflowInsn, size) == 8 &&
                   offsetof(CflowInsn, generation) == 12 && offsetof(CflowInsn, disas) == 16 &&
                   offsetof(CflowInsn, symbol) == 20,
               "CflowInsn must match its 24-byte disk record");
_Static_assert(sizeof(CflowEdge) == 24 && offsetof(CflowEdge, kind) == 4 &&
                   offsetof(CflowEdge, to) == 8 && offsetof(CflowEdge, count) == 16,
               "CflowEdge must match its 24-byte disk record");
_Static_assert(sizeof(CflowBlock) == 24 && offsetof(CflowBlock, count) == 8 &&
                   offsetof(CflowBlock, first) == 16 && offsetof(CflowBlock, n_insns) == 20,
               "CflowBlock must match its 24-byte disk record");

#define HOST_LE (G_BYTE_ORDER == G_LITTLE_ENDIAN)
#define N_SECTIONS 8u /* at most: insn_priv and insn_bytes are written only when recorded */

static void put_u32(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
}

static void put_u64(uint8_t *b, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
}

/* Encoders for big-endian hosts: n records from src to their disk form at dst. */
static void encode_meta(const void *src, uint8_t *dst, size_t n)
{
    const CflowMeta *m = src;
    for (size_t i = 0; i < n; i++, dst += 8) {
        put_u32(dst, m[i].key);
        put_u32(dst + 4, m[i].value);
    }
}

static void encode_insns(const void *src, uint8_t *dst, size_t n)
{
    const CflowInsn *r = src;
    for (size_t i = 0; i < n; i++, dst += 24) {
        put_u64(dst, r[i].addr);
        put_u32(dst + 8, r[i].size);
        put_u32(dst + 12, r[i].generation);
        put_u32(dst + 16, r[i].disas);
        put_u32(dst + 20, r[i].symbol);
    }
}

static void encode_edges(const void *src, uint8_t *dst, size_t n)
{
    const CflowEdge *r = src;
    for (size_t i = 0; i < n; i++, dst += 24) {
        put_u32(dst, r[i].from);
        put_u32(dst + 4, r[i].kind);
        put_u64(dst + 8, r[i].to);
        put_u64(dst + 16, r[i].count);
    }
}

static void encode_blocks(const void *src, uint8_t *dst, size_t n)
{
    const CflowBlock *r = src;
    for (size_t i = 0; i < n; i++, dst += 24) {
        put_u64(dst, r[i].addr);
        put_u64(dst + 8, r[i].count);
        put_u32(dst + 16, r[i].first);
        put_u32(dst + 20, r[i].n_insns);
    }
}

static void encode_u32s(const void *src, uint8_t *dst, size_t n)
{
    const uint32_t *r = src;
    for (size_t i = 0; i < n; i++, dst += 4) {
        put_u32(dst, r[i]);
    }
}

typedef void (*Encoder)(const void *src, uint8_t *dst, size_t n);
typedef bool (*Sink)(const void *data, size_t len, void *ud);

typedef struct {
    uint32_t type;
    const void *data;
    uint64_t count;    /* records (bytes for the string pool) */
    size_t rec_size;   /* bytes per record on disk */
    Encoder encode;    /* NULL: the memory is already the disk form */
    uint64_t offset;   /* from the start of the file */
    uint64_t length;   /* bytes */
    uint32_t crc;
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
    GByteArray *out = g_byte_array_sized_new(p->insns->len * 4);
    for (guint i = 0; i < p->insns->len; i++) {
        g_byte_array_append(out, cflow_profile_insn_bytes(p, i),
                            MIN(cflow_profile_insn(p, i)->size, CFLOW_INSN_BYTES));
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
    if (s->length == 0) {
        return true;
    }
    if (s->encode == NULL) {
        return sink(s->data, (size_t)s->length, ud);
    }
    uint8_t buf[24 * 4096];
    const size_t per_chunk = sizeof buf / s->rec_size;
    const uint8_t *src = s->data;
    /* The in-memory record size equals the disk record size for every section. */
    for (uint64_t done = 0; done < s->count;) {
        size_t n = (size_t)MIN((uint64_t)per_chunk, s->count - done);
        s->encode(src + done * s->rec_size, buf, n);
        if (!sink(buf, n * s->rec_size, ud)) {
            return false;
        }
        done += n;
    }
    return true;
}

static uint32_t crc_update(uint32_t crc, const void *data, size_t len)
{
    const Bytef *b = data;
    while (len > 0) {
        uInt n = (uInt)MIN(len, (size_t)1 << 30);
        crc = (uint32_t)crc32(crc, b, n);
        b += n;
        len -= n;
    }
    return crc;
}

static bool crc_sink(const void *data, size_t len, void *ud)
{
    uint32_t *crc = ud;
    *crc = crc_update(*crc, data, len);
    return true;
}

static void set_section(OutSection *s, uint32_t type, const void *data, uint64_t count,
                        size_t rec_size, Encoder be_encode)
{
    s->type = type;
    s->data = data;
    s->count = count;
    s->rec_size = rec_size;
    s->encode = HOST_LE ? NULL : be_encode;
    s->length = count * rec_size;
}

/* Places the sections, computes every checksum and fills in the header. */
static void plan(const CflowProfile *p, Layout *l)
{
    memset(l, 0, sizeof *l);
    set_section(&l->s[0], CFLOW_SECTION_META, p->meta->data, p->meta->len, 8, encode_meta);
    set_section(&l->s[1], CFLOW_SECTION_INSNS, p->insns->data, p->insns->len, 24,
                encode_insns);
    set_section(&l->s[2], CFLOW_SECTION_EDGES, p->edges->data, p->edges->len, 24,
                encode_edges);
    set_section(&l->s[3], CFLOW_SECTION_BLOCKS, p->blocks->data, p->blocks->len, 24,
                encode_blocks);
    set_section(&l->s[4], CFLOW_SECTION_BLOCK_INSNS, p->block_insns->data,
                p->block_insns->len, 4, encode_u32s);
    set_section(&l->s[5], CFLOW_SECTION_STRINGS, p->strings->data, p->strings->len, 1, NULL);
    l->s[5].encode = NULL; /* bytes have no byte order */
    l->n = 6;
    if (p->insn_priv && p->insn_priv->len > 0) {
        set_section(&l->s[6], CFLOW_SECTION_INSN_PRIV, p->insn_priv->data, p->insn_priv->len, 1,
                    NULL);
        l->s[6].encode = NULL;
        l->n = 7;
    }
    if (p->insn_bytes && p->insn_bytes->len > 0) {
        l->packed_bytes = pack_insn_bytes(p);
        set_section(&l->s[l->n], CFLOW_SECTION_INSN_BYTES, l->packed_bytes->data,
                    l->packed_bytes->len, 1, NULL);
        l->s[l->n].encode = NULL; /* bytes have no byte order */
        l->n++;
    }

    l->header_len = CFLOW_PROFILE_HEADER_SIZE + l->n * CFLOW_PROFILE_SECTION_ENTRY_SIZE;
    uint64_t pos = l->header_len;
    for (unsigned i = 0; i < l->n; i++) {
        OutSection *s = &l->s[i];
        pos = (pos + 7) & ~(uint64_t)7;
        s->offset = pos;
        pos += s->length;
        s->crc = (uint32_t)crc32(0L, Z_NULL, 0);
        emit_section(s, crc_sink, &s->crc);
    }
    l->file_size = pos;

    uint8_t *h = l->header;
    memcpy(h, CFLOW_PROFILE_MAGIC, 8);
    put_u32(h + 8, CFLOW_PROFILE_VERSION);
    put_u32(h + 12, l->n);
    put_u64(h + 16, l->file_size);
    put_u32(h + 24, 0); /* reserved */
    put_u32(h + 28, 0); /* header CRC, computed with this field zero */
    for (unsigned i = 0; i < l->n; i++) {
        uint8_t *e = h + CFLOW_PROFILE_HEADER_SIZE + i * CFLOW_PROFILE_SECTION_ENTRY_SIZE;
        put_u32(e, l->s[i].type);
        put_u32(e + 4, l->s[i].crc);
        put_u64(e + 8, l->s[i].offset);
        put_u64(e + 16, l->s[i].length);
        put_u64(e + 24, l->s[i].count);
    }
    put_u32(h + 28, crc_update((uint32_t)crc32(0L, Z_NULL, 0), h, (size_t)l->header_len));
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
        if (s->offset > pos && !sink(zeros, (size_t)(s->offset - pos), ud)) {
            return false;
        }
        if (!emit_section(s, sink, ud)) {
            return false;
        }
        pos = s->offset + s->length;
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
