/*
 * format.c: the binary profile format stated once (see format.h): the section table, the record
 * codecs, section table entries, the header and the CRC.
 */
#include "format.h"

#include <string.h>
#include <zlib.h>

/* The records in memory are the records on disk (little-endian host): same sizes and offsets. */
_Static_assert(sizeof(CflowMeta) == 8 && offsetof(CflowMeta, value) == 4,
               "CflowMeta must match its 8-byte disk record");
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

/* Field widths of each record, in the order of the struct's members (docs/profile-format.md). */
static const uint8_t meta_fields[] = {4, 4, 0}; /* key, value */
static const uint8_t insn_fields[] = {8, 4, 4,
                                      4, 4, 0};        /* addr, size, generation, disas, symbol */
static const uint8_t edge_fields[] = {4, 4, 8, 8, 0};  /* from, kind, to, count */
static const uint8_t block_fields[] = {8, 8, 4, 4, 0}; /* addr, count, first, n_insns */
static const uint8_t index_fields[] = {4, 0};          /* an insn index */

static const CflowSectionFormat sections[CFLOW_SECTION_TYPES + 1] = {
    [CFLOW_SECTION_META] = {"meta", 8, meta_fields, offsetof(CflowProfile, meta)},
    [CFLOW_SECTION_STRINGS] = {"strings", 1, NULL, 0},
    [CFLOW_SECTION_INSNS] = {"insns", 24, insn_fields, offsetof(CflowProfile, insns)},
    [CFLOW_SECTION_EDGES] = {"edges", 24, edge_fields, offsetof(CflowProfile, edges)},
    [CFLOW_SECTION_BLOCKS] = {"blocks", 24, block_fields, offsetof(CflowProfile, blocks)},
    [CFLOW_SECTION_BLOCK_INSNS] = {"block_insns", 4, index_fields,
                                   offsetof(CflowProfile, block_insns)},
    [CFLOW_SECTION_INSN_PRIV] = {"insn_priv", 1, NULL, 0},
    [CFLOW_SECTION_INSN_BYTES] = {"insn_bytes", 1, NULL, 0},
};

const CflowSectionFormat *cflow_section_format(uint32_t type)
{
    return type >= 1 && type <= CFLOW_SECTION_TYPES ? &sections[type] : NULL;
}

void cflow_records_encode(const CflowSectionFormat *f, const void *src, uint8_t *dst, size_t n)
{
    const uint8_t *s = src;
    for (size_t i = 0; i < n; i++) {
        for (const uint8_t *w = f->fields; *w; s += *w, dst += *w, w++) {
            if (*w == 8) {
                uint64_t v;
                memcpy(&v, s, 8);
                cflow_put_u64(dst, v);
            } else {
                uint32_t v;
                memcpy(&v, s, 4);
                cflow_put_u32(dst, v);
            }
        }
    }
}

void cflow_records_decode(const CflowSectionFormat *f, const uint8_t *src, void *dst, size_t n)
{
    uint8_t *d = dst;
    for (size_t i = 0; i < n; i++) {
        for (const uint8_t *w = f->fields; *w; src += *w, d += *w, w++) {
            if (*w == 8) {
                uint64_t v = cflow_get_u64(src);
                memcpy(d, &v, 8);
            } else {
                uint32_t v = cflow_get_u32(src);
                memcpy(d, &v, 4);
            }
        }
    }
}

void cflow_section_entry_get(const uint8_t *at, CflowSectionEntry *e)
{
    e->type = cflow_get_u32(at);
    e->crc = cflow_get_u32(at + 4);
    e->offset = cflow_get_u64(at + 8);
    e->length = cflow_get_u64(at + 16);
    e->count = cflow_get_u64(at + 24);
}

void cflow_section_entry_put(uint8_t *at, const CflowSectionEntry *e)
{
    cflow_put_u32(at, e->type);
    cflow_put_u32(at + 4, e->crc);
    cflow_put_u64(at + 8, e->offset);
    cflow_put_u64(at + 16, e->length);
    cflow_put_u64(at + 24, e->count);
}

void cflow_header_put(uint8_t *h, uint32_t n_sections, uint64_t file_size)
{
    memcpy(h + CFLOW_HEADER_MAGIC, CFLOW_PROFILE_MAGIC, CFLOW_MAGIC_SIZE);
    cflow_put_u32(h + CFLOW_HEADER_VERSION, CFLOW_PROFILE_VERSION);
    cflow_put_u32(h + CFLOW_HEADER_SECTIONS, n_sections);
    cflow_put_u64(h + CFLOW_HEADER_FILE_SIZE, file_size);
    cflow_put_u32(h + CFLOW_HEADER_RESERVED, 0);
    cflow_put_u32(h + CFLOW_HEADER_CRC, 0);
}

uint32_t cflow_crc32(uint32_t crc, const void *data, uint64_t len)
{
    const Bytef *b = data;
    while (len > 0) {
        uInt n = (uInt)MIN(len, (uint64_t)1 << 30);
        crc = (uint32_t)crc32(crc, b, n);
        b += n;
        len -= n;
    }
    return crc;
}

uint32_t cflow_header_crc(const uint8_t *h, size_t len)
{
    static const uint8_t zero[4];
    uint32_t crc = cflow_crc32(0, h, CFLOW_HEADER_CRC);
    crc = cflow_crc32(crc, zero, sizeof zero);
    return cflow_crc32(crc, h + CFLOW_HEADER_CRC + 4, len - (CFLOW_HEADER_CRC + 4));
}

bool cflow_profile_fail(GError **error, CflowProfileError code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(error, CFLOW_PROFILE_ERROR, code, msg);
    g_free(msg);
    return false;
}
