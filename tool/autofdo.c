/* autofdo.c: the AutoFDO profile model both writers share (autofdo.h): building and ordering. */
#include "autofdo.h"

#include <string.h>

static void pos_free(gpointer data)
{
    CflowAfdoPos *pos = data;
    g_array_free(pos->targets, TRUE);
    g_free(pos);
}

static void function_free(gpointer data);

static void callsite_free(gpointer data)
{
    CflowAfdoCallsite *c = data;
    function_free(c->callee);
    g_free(c);
}

static CflowAfdoFunction *function_new(CflowAfdo *a, const char *name, unsigned decl_line)
{
    CflowAfdoFunction *f = g_new0(CflowAfdoFunction, 1);
    f->name = g_string_chunk_insert_const(a->names, name);
    f->decl_line = decl_line;
    f->positions = g_ptr_array_new_with_free_func(pos_free);
    f->callsites = g_ptr_array_new_with_free_func(callsite_free);
    f->pos_index = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    f->callsite_index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    return f;
}

static void function_free(gpointer data)
{
    CflowAfdoFunction *f = data;
    g_ptr_array_unref(f->positions);
    g_ptr_array_unref(f->callsites);
    g_hash_table_unref(f->pos_index);
    g_hash_table_unref(f->callsite_index);
    g_free(f);
}

CflowAfdo *cflow_afdo_new(void)
{
    CflowAfdo *a = g_new0(CflowAfdo, 1);
    a->functions = g_ptr_array_new_with_free_func(function_free);
    a->names = g_string_chunk_new(4096);
    a->by_name = g_hash_table_new(g_str_hash, g_str_equal);
    return a;
}

void cflow_afdo_free(CflowAfdo *a)
{
    if (!a) {
        return;
    }
    g_hash_table_unref(a->by_name);
    g_ptr_array_unref(a->functions);
    g_string_chunk_free(a->names);
    g_free(a);
}

CflowAfdoFunction *cflow_afdo_function(CflowAfdo *a, const char *name, unsigned decl_line)
{
    CflowAfdoFunction *f = g_hash_table_lookup(a->by_name, name);
    if (!f) {
        f = function_new(a, name, decl_line);
        g_ptr_array_add(a->functions, f);
        g_hash_table_insert(a->by_name, (gpointer)f->name, f);
    }
    return f;
}

static char *callsite_key(uint32_t offset, uint32_t discriminator, const char *name)
{
    return g_strdup_printf("%u.%u/%s", offset, discriminator, name);
}

CflowAfdoFunction *cflow_afdo_inlined_find(const CflowAfdoFunction *f, uint32_t offset,
                                           uint32_t discriminator, const char *name)
{
    g_autofree char *key = callsite_key(offset, discriminator, name);
    CflowAfdoCallsite *c = g_hash_table_lookup(f->callsite_index, key);
    return c ? c->callee : NULL;
}

bool cflow_afdo_has_callsite_at(const CflowAfdoFunction *f, uint32_t offset,
                                uint32_t discriminator)
{
    for (guint i = 0; i < f->callsites->len; i++) {
        const CflowAfdoCallsite *c = g_ptr_array_index(f->callsites, i);
        if (c->offset == offset && c->discriminator == discriminator) {
            return true;
        }
    }
    return false;
}

CflowAfdoFunction *cflow_afdo_inlined(CflowAfdo *a, CflowAfdoFunction *f, uint32_t offset,
                                      uint32_t discriminator, const char *name,
                                      unsigned decl_line)
{
    g_autofree char *key = callsite_key(offset, discriminator, name);
    CflowAfdoCallsite *c = g_hash_table_lookup(f->callsite_index, key);
    if (!c) {
        c = g_new0(CflowAfdoCallsite, 1);
        c->offset = offset;
        c->discriminator = discriminator;
        c->callee = function_new(a, name, decl_line);
        g_ptr_array_add(f->callsites, c);
        g_hash_table_insert(f->callsite_index, g_steal_pointer(&key), c);
    }
    return c->callee;
}

CflowAfdoPos *cflow_afdo_pos(CflowAfdoFunction *f, uint32_t offset, uint32_t discriminator)
{
    int64_t key = (int64_t)((uint64_t)offset << 32 | discriminator);
    CflowAfdoPos *pos = g_hash_table_lookup(f->pos_index, &key);
    if (!pos) {
        pos = g_new0(CflowAfdoPos, 1);
        pos->offset = offset;
        pos->discriminator = discriminator;
        pos->targets = g_array_new(FALSE, FALSE, sizeof(CflowAfdoTarget));
        g_ptr_array_add(f->positions, pos);
        /* the key: offset and discriminator side by side, owned by the index */
        g_hash_table_insert(f->pos_index, g_memdup2(&key, sizeof key), pos);
    }
    return pos;
}

void cflow_afdo_add_target(CflowAfdo *a, CflowAfdoPos *pos, const char *name, uint64_t calls)
{
    for (guint i = 0; i < pos->targets->len; i++) {
        CflowAfdoTarget *t = &g_array_index(pos->targets, CflowAfdoTarget, i);
        if (strcmp(t->name, name) == 0) {
            t->count += calls;
            return;
        }
    }
    CflowAfdoTarget t = {g_string_chunk_insert_const(a->names, name), calls};
    g_array_append_val(pos->targets, t);
}

static int cmp_pos(gconstpointer x, gconstpointer y)
{
    const CflowAfdoPos *a = *(CflowAfdoPos *const *)x, *b = *(CflowAfdoPos *const *)y;
    if (a->offset != b->offset) {
        return a->offset < b->offset ? -1 : 1;
    }
    return (a->discriminator > b->discriminator) - (a->discriminator < b->discriminator);
}

static int cmp_callsite(gconstpointer x, gconstpointer y)
{
    const CflowAfdoCallsite *a = *(CflowAfdoCallsite *const *)x;
    const CflowAfdoCallsite *b = *(CflowAfdoCallsite *const *)y;
    if (a->offset != b->offset) {
        return a->offset < b->offset ? -1 : 1;
    }
    if (a->discriminator != b->discriminator) {
        return a->discriminator < b->discriminator ? -1 : 1;
    }
    return strcmp(a->callee->name, b->callee->name);
}

static int cmp_target(gconstpointer x, gconstpointer y)
{
    const CflowAfdoTarget *a = x, *b = y;
    if (a->count != b->count) {
        return a->count > b->count ? -1 : 1;
    }
    return strcmp(a->name, b->name);
}

static int cmp_function(gconstpointer x, gconstpointer y)
{
    const CflowAfdoFunction *a = *(CflowAfdoFunction *const *)x;
    const CflowAfdoFunction *b = *(CflowAfdoFunction *const *)y;
    if (a->total != b->total) {
        return a->total > b->total ? -1 : 1;
    }
    return strcmp(a->name, b->name);
}

/* Orders f's positions, targets and call sites and returns its total. */
static uint64_t finish_function(CflowAfdoFunction *f)
{
    g_ptr_array_sort(f->positions, cmp_pos);
    g_ptr_array_sort(f->callsites, cmp_callsite);
    f->total = 0;
    for (guint i = 0; i < f->positions->len; i++) {
        CflowAfdoPos *pos = g_ptr_array_index(f->positions, i);
        g_array_sort(pos->targets, cmp_target);
        f->total += pos->count;
    }
    for (guint i = 0; i < f->callsites->len; i++) {
        f->total += finish_function(((CflowAfdoCallsite *)g_ptr_array_index(f->callsites,
                                                                            i))->callee);
    }
    return f->total;
}

void cflow_afdo_finish(CflowAfdo *a)
{
    for (guint i = 0; i < a->functions->len; i++) {
        finish_function(g_ptr_array_index(a->functions, i));
    }
    g_ptr_array_sort(a->functions, cmp_function);
}
