/*
 * export-autofdo-gcc.c: `cflow export autofdo-gcc`: the AutoFDO profile GCC reads with
 * `-fauto-profile=FILE` (gcc/auto-profile.cc, GCC 12): gcov's word format in the host's byte
 * order, version 2.
 *
 *   u32 magic 'gcda', u32 version 2, u32 0
 *   u32 tag 0xaa000000 (names), u32 length in bytes, u32 N, N strings (u32 bytes with the
 *       NUL, then the bytes, unpadded)
 *   u32 tag 0xac000000 (functions), u32 length, u32 N, N times: u64 head, then the function
 *   u32 tag 0xae000000 (modules), u32 0, u32 0
 *
 * A function is: u32 name index, u32 positions, u32 inlined call sites; per position u32
 * (line offset << 16 | discriminator), u32 targets, u64 count, per target u32 kind (unread),
 * u64 name index, u64 calls; per call site u32 (its offset << 16 | discriminator) and the
 * inlined function, without a head. GCC reads call targets of indirect calls only, and looks
 * string 0 up in places where it asserts an index above 0: string 0 is an unused empty name.
 */
#include <string.h>

#include "autofdo.h"

#define GCOV_DATA_MAGIC 0x67636461u
#define AFDO_VERSION 2u
#define TAG_NAMES 0xaa000000u
#define TAG_FUNCTIONS 0xac000000u
#define TAG_MODULES 0xae000000u

typedef struct {
    GByteArray *bytes;
    GHashTable *index; /* name -> its index + 1 */
    GPtrArray *names;
} Gcov;

static void put32(GByteArray *out, uint32_t v)
{
    g_byte_array_append(out, (const guint8 *)&v, sizeof v);
}

static void put64(GByteArray *out, uint64_t v)
{
    put32(out, (uint32_t)v);
    put32(out, (uint32_t)(v >> 32));
}

static uint32_t name_index(Gcov *g, const char *name)
{
    gpointer v = g_hash_table_lookup(g->index, name);
    if (!v) {
        g_ptr_array_add(g->names, (gpointer)name);
        v = GUINT_TO_POINTER(g->names->len);
        g_hash_table_insert(g->index, (gpointer)name, v);
    }
    return GPOINTER_TO_UINT(v) - 1;
}

static uint32_t location(uint32_t offset, uint32_t discriminator)
{
    return (offset & 0xffffu) << 16 | (discriminator & 0xffffu);
}

static void put_function(Gcov *g, const CflowAfdoFunction *f)
{
    put32(g->bytes, name_index(g, f->name));
    put32(g->bytes, f->positions->len);
    put32(g->bytes, f->callsites->len);
    for (guint i = 0; i < f->positions->len; i++) {
        const CflowAfdoPos *pos = g_ptr_array_index(f->positions, i);
        guint targets = pos->indirect ? pos->targets->len : 0;
        put32(g->bytes, location(pos->offset, pos->discriminator));
        put32(g->bytes, targets);
        put64(g->bytes, pos->count);
        for (guint k = 0; k < targets; k++) {
            const CflowAfdoTarget *t = &g_array_index(pos->targets, CflowAfdoTarget, k);
            put32(g->bytes, 0);
            put64(g->bytes, name_index(g, t->name));
            put64(g->bytes, t->count);
        }
    }
    for (guint i = 0; i < f->callsites->len; i++) {
        const CflowAfdoCallsite *c = g_ptr_array_index(f->callsites, i);
        put32(g->bytes, location(c->offset, c->discriminator));
        put_function(g, c->callee);
    }
}

/* A section: tag, length in bytes, then the body. */
static void put_section(GByteArray *out, uint32_t tag, const GByteArray *body)
{
    put32(out, tag);
    put32(out, body->len);
    g_byte_array_append(out, body->data, body->len);
}

bool cflow_afdo_write_gcc(const CflowAfdo *a, FILE *out, GError **error)
{
    Gcov g = {g_byte_array_new(), g_hash_table_new(g_str_hash, g_str_equal),
              g_ptr_array_new()};
    name_index(&g, "");
    put32(g.bytes, a->functions->len);
    for (guint i = 0; i < a->functions->len; i++) {
        const CflowAfdoFunction *f = g_ptr_array_index(a->functions, i);
        put64(g.bytes, f->head);
        put_function(&g, f);
    }
    g_autoptr(GByteArray) names = g_byte_array_new();
    put32(names, g.names->len);
    for (guint i = 0; i < g.names->len; i++) {
        const char *name = g_ptr_array_index(g.names, i);
        put32(names, (uint32_t)strlen(name) + 1);
        g_byte_array_append(names, (const guint8 *)name, (guint)strlen(name) + 1);
    }
    g_autoptr(GByteArray) file = g_byte_array_new();
    put32(file, GCOV_DATA_MAGIC);
    put32(file, AFDO_VERSION);
    put32(file, 0);
    put_section(file, TAG_NAMES, names);
    put_section(file, TAG_FUNCTIONS, g.bytes);
    put32(file, TAG_MODULES);
    put32(file, 0);
    put32(file, 0);
    fwrite(file->data, 1, file->len, out);
    g_byte_array_unref(g.bytes);
    g_hash_table_unref(g.index);
    g_ptr_array_unref(g.names);
    return cflow_export_written(out, error);
}

CFLOW_AFDO_EXPORT_FORMAT(cflow_export_autofdo_gcc, CFLOW_AFDO_FOR_GCC, cflow_afdo_write_gcc,
                         "autofdo-gcc", "GCC AutoFDO profile (gcc -fauto-profile)", true);
