/*
 * export-drcov.c: `cflow export drcov`: DynamoRIO's drcov coverage format, version 2, as
 * drcov writes it and Lighthouse (and bncov, Cartographer, ...) read it:
 *
 *   DRCOV VERSION: 2
 *   DRCOV FLAVOR: drcov
 *   Module Table: version 2, count N
 *   Columns: id, base, end, entry, checksum, timestamp, path
 *     0, 0x0000555555554000, 0x0000555555559000, 0x0000000000000000, 0x00000000, 0x00000000, /path
 *   BB Table: M bbs
 *   <M binary records: uint32 start (offset from the module's base), uint16 size, uint16 id>
 *
 * One module per mapped file (meta.maps; the guest binary's load segments when a static guest's
 * profile has no maps), its base the run-time address of file offset 0. The blocks are the
 * distinct executed translation blocks (start, size in bytes), as DynamoRIO's own basic blocks
 * are: code entered at one address and run to the next transfer. Hit counts do not fit the
 * format; --hits writes them to a text file beside it.
 */
#include <inttypes.h>
#include <string.h>

#include "export.h"

typedef struct {
    uint32_t module;
    uint32_t start; /* offset from the module base */
    uint16_t size;
    uint64_t hits;
} Bb;

static int cmp_bb(gconstpointer x, gconstpointer y)
{
    const Bb *a = x, *b = y;
    if (a->module != b->module) {
        return a->module < b->module ? -1 : 1;
    }
    if (a->start != b->start) {
        return a->start < b->start ? -1 : 1;
    }
    return (a->size > b->size) - (a->size < b->size);
}

static bool write_hits(const void *data, FILE *f, GError **error)
{
    const GArray *bbs = data;
    fprintf(f, "# cflow drcov hits: MODULE_ID OFFSET SIZE COUNT, one line per BB table entry\n");
    for (guint i = 0; i < bbs->len; i++) {
        const Bb *b = &g_array_index(bbs, Bb, i);
        fprintf(f, "%u 0x%" PRIx32 " %u %" PRIu64 "\n", b->module, b->start, b->size, b->hits);
    }
    (void)error;
    return !ferror(f);
}

static bool write_drcov(CflowExport *x, FILE *out, GError **error)
{
    const CflowProfile *p = x->p;
    GArray *mods = x->modules;
    if (mods->len > UINT16_MAX) {
        g_set_error(error, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_FORMAT,
                    "%u modules: drcov has room for %u", mods->len, UINT16_MAX);
        return false;
    }
    g_autoptr(GArray) bbs = g_array_new(FALSE, FALSE, sizeof(Bb));
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
                                                       (GDestroyNotify)g_bytes_unref, NULL);
    uint64_t outside = 0;
    for (guint b = 0; b < p->blocks->len; b++) {
        const CflowBlock *blk = cflow_profile_block(p, b);
        uint32_t first, last;
        if (!cflow_export_block_ran(p, blk, &first, &last)) {
            continue;
        }
        const CflowInsn *li = cflow_profile_insn(p, last);
        uint32_t m = x->module_of[first];
        if (m == CFLOW_NO_MODULE) {
            outside++;
            continue;
        }
        const CflowExportModule *mod = &g_array_index(mods, CflowExportModule, m);
        uint64_t size = li->addr + li->size - blk->addr;
        uint64_t off = blk->addr - mod->base;
        if (blk->addr < mod->base || off > UINT32_MAX || size > UINT16_MAX) {
            outside++;
            continue;
        }
        Bb bb = {m, (uint32_t)off, (uint16_t)size, blk->count};
        /* each (module, start, size) once, its hits summed */
        uint64_t key[3] = {bb.module, bb.start, bb.size};
        GBytes *k = g_bytes_new(key, sizeof key);
        gpointer idx = g_hash_table_lookup(seen, k);
        if (idx) {
            g_array_index(bbs, Bb, GPOINTER_TO_UINT(idx) - 1).hits += bb.hits;
            g_bytes_unref(k);
        } else {
            g_array_append_val(bbs, bb);
            g_hash_table_insert(seen, k, GUINT_TO_POINTER(bbs->len));
        }
    }
    g_array_sort(bbs, cmp_bb);
    fprintf(out, "DRCOV VERSION: 2\nDRCOV FLAVOR: drcov\n");
    fprintf(out, "Module Table: version 2, count %u\n", mods->len);
    fprintf(out, "Columns: id, base, end, entry, checksum, timestamp, path\n");
    for (guint m = 0; m < mods->len; m++) {
        const CflowExportModule *mod = &g_array_index(mods, CflowExportModule, m);
        fprintf(out, "%3u, 0x%016" PRIx64 ", 0x%016" PRIx64 ", 0x%016x, 0x%08x, 0x%08x, %s\n", m,
                mod->base, mod->end, 0, 0, 0, mod->path);
    }
    fprintf(out, "BB Table: %u bbs\n", bbs->len);
    for (guint i = 0; i < bbs->len; i++) {
        const Bb *b = &g_array_index(bbs, Bb, i);
        uint8_t rec[8] = {
            (uint8_t)b->start,        (uint8_t)(b->start >> 8), (uint8_t)(b->start >> 16),
            (uint8_t)(b->start >> 24), (uint8_t)b->size,        (uint8_t)(b->size >> 8),
            (uint8_t)b->module,       (uint8_t)(b->module >> 8)};
        fwrite(rec, 1, sizeof rec, out);
    }
    if (outside) {
        fprintf(stderr, "cflow export: drcov: %" PRIu64 " executed blocks are in no mapped file "
                        "(JIT or anonymous code) and are left out\n", outside);
    }
    if (!cflow_export_written(out, error)) {
        return false;
    }
    if (x->hits && !cflow_write_file_atomic(x->hits, write_hits, bbs, error)) {
        return false;
    }
    return true;
}

const CflowExportFormat cflow_export_drcov = {"drcov", "DynamoRIO drcov v2 coverage", true,
                                              write_drcov, NULL};
