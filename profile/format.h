/*
 * format.h: the binary profile format stated once (docs/profile-format.md), for the reader
 * (read.c), the writer (write.c) and tests: where the header's fields are, what a section table
 * entry holds, the table of section types with their names, record sizes and record layouts, the
 * record codecs, the little-endian byte helpers and the CRC. Nothing here reads or writes a file;
 * the reader's checks and the writer's placement build on it.
 */
#ifndef CFLOW_FORMAT_H
#define CFLOW_FORMAT_H

#include "profile.h"

#include <stddef.h>

G_BEGIN_DECLS

/* Byte offsets of the header's fields (the header is CFLOW_PROFILE_HEADER_SIZE bytes). */
enum {
    CFLOW_HEADER_MAGIC = 0,      /* 8 bytes, CFLOW_PROFILE_MAGIC */
    CFLOW_HEADER_VERSION = 8,    /* u32 */
    CFLOW_HEADER_SECTIONS = 12,  /* u32, entries in the section table */
    CFLOW_HEADER_FILE_SIZE = 16, /* u64 */
    CFLOW_HEADER_RESERVED = 24,  /* u32, 0 */
    CFLOW_HEADER_CRC = 28,       /* u32, over header and section table with this field 0 */
};
#define CFLOW_MAGIC_SIZE 8u

#define CFLOW_SECTION_TYPES 8u    /* known types are 1 .. CFLOW_SECTION_TYPES */
#define CFLOW_SECTION_REQUIRED 6u /* types 1..6 must be present; 7 and 8 are optional */

/* One section table entry, as in the file. */
typedef struct {
    uint32_t type;
    uint32_t crc;    /* of the section's bytes */
    uint64_t offset; /* from the start of the file */
    uint64_t length; /* bytes */
    uint64_t count;  /* records (bytes for the string pool) */
} CflowSectionEntry;

/* What the format says about one known section type. */
typedef struct {
    const char *name; /* "edges", as messages and the spec name it */
    size_t record_size;
    /*
     * The record's fields, as widths in bytes (4 or 8) back to back, 0-terminated; NULL for a
     * section of bytes. A record in memory has the same fields at the same offsets (checked at
     * compile time in format.c), so on a little-endian host the memory is the disk form.
     */
    const uint8_t *fields;
    /* Where a profile keeps the records: offsetof the GArray in CflowProfile (with `fields`). */
    size_t array;
} CflowSectionFormat;

/* The format of section `type`, or NULL for a type this version does not know. */
const CflowSectionFormat *cflow_section_format(uint32_t type);

/* Little-endian integers on disk, whatever the host's byte order. */
static inline uint32_t cflow_get_u32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint64_t cflow_get_u64(const uint8_t *b)
{
    return (uint64_t)cflow_get_u32(b) | (uint64_t)cflow_get_u32(b + 4) << 32;
}

static inline void cflow_put_u32(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
}

static inline void cflow_put_u64(uint8_t *b, uint64_t v)
{
    cflow_put_u32(b, (uint32_t)v);
    cflow_put_u32(b + 4, (uint32_t)(v >> 32));
}

/* Entry `i` of the section table of the file starting at `file`. */
static inline const uint8_t *cflow_section_entry_at(const uint8_t *file, unsigned i)
{
    return file + CFLOW_PROFILE_HEADER_SIZE + (size_t)i * CFLOW_PROFILE_SECTION_ENTRY_SIZE;
}

void cflow_section_entry_get(const uint8_t *at, CflowSectionEntry *e);
void cflow_section_entry_put(uint8_t *at, const CflowSectionEntry *e);

/* The header and section table's length for `n_sections` entries. */
static inline size_t cflow_header_length(uint32_t n_sections)
{
    return CFLOW_PROFILE_HEADER_SIZE + (size_t)n_sections * CFLOW_PROFILE_SECTION_ENTRY_SIZE;
}

/* Fills in the header fields before the section table, all but the CRC (left 0). */
void cflow_header_put(uint8_t *h, uint32_t n_sections, uint64_t file_size);

/*
 * CRC-32 (zlib's; 0 is the value to start from) of `len` bytes, continuing from `crc`. Any length:
 * zlib takes at most 4 GiB a call.
 */
uint32_t cflow_crc32(uint32_t crc, const void *data, uint64_t len);
/* The header CRC of header + section table (`len` bytes), as if its CRC field were 0. */
uint32_t cflow_header_crc(const uint8_t *h, size_t len);

/*
 * n records of section format f between their memory form and their disk form: what a big-endian
 * host does (on a little-endian one both are a copy).
 */
void cflow_records_encode(const CflowSectionFormat *f, const void *src, uint8_t *dst, size_t n);
void cflow_records_decode(const CflowSectionFormat *f, const uint8_t *src, void *dst, size_t n);

/* An instruction's bytes on disk (section insn_bytes): its size, at most CFLOW_INSN_BYTES. */
static inline uint32_t cflow_insn_bytes_on_disk(uint32_t size)
{
    return MIN(size, CFLOW_INSN_BYTES);
}

/* Sets a CFLOW_PROFILE_ERROR with a formatted message; returns false, for `return fail(...)`. */
bool cflow_profile_fail(GError **error, CflowProfileError code, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

G_END_DECLS

#endif
