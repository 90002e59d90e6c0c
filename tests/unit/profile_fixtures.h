/*
 * profile_fixtures.h: what the profile library's unit tests (test_profile_*.c) share: byte
 * helpers to read and damage a serialized profile in place, a small profile with every edge
 * kind, deep comparison, and expectations of parse failures and round trips.
 */
#pragma once

#include "profile.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Little-endian fields of a serialized profile */
uint32_t rd32(const uint8_t *b);
uint64_t rd64(const uint8_t *b);
void wr32(uint8_t *b, uint32_t v);
void wr64(uint8_t *b, uint64_t v);

/* The section table: entry i, the header's length with its table, the index of a type (-1) */
uint8_t *entry(uint8_t *file, unsigned i);
size_t header_len_of(const uint8_t *file);
int find_section(const uint8_t *file, uint32_t type);
void fix_header_crc(uint8_t *file, size_t len);
void fix_all_crcs(uint8_t *file, size_t len);

/* One section of a container built by hand */
typedef struct {
    uint32_t type;
    const void *data;
    size_t len;
    uint64_t count;
} Part;

GByteArray *assemble(const Part *parts, unsigned n);
unsigned split(const uint8_t *file, Part *parts);

CflowProfile *make_small(void);
bool profiles_equal(const CflowProfile *a, const CflowProfile *b, const char **why);
void assert_equal(const CflowProfile *a, const CflowProfile *b);
void expect_reject(const void *data, size_t len, int code, const char *needle);
void expect_reject_profile(const CflowProfile *p, const char *needle);
CflowProfile *reparse(const CflowProfile *p, GBytes **bytes_out);
GByteArray *serialize_small(void);

/* Scratch folders */
char *make_tmpdir(void);
void rm_rf(const char *path);
guint count_entries(const char *dir);
