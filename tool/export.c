/* export.c: the modules, addresses and instruction classes every export uses (export.h). */
#include "export.h"

#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The lowest and highest addresses of an ELF file's PT_LOAD segments (a guest without maps). */
static bool elf_load_range(const char *path, uint64_t *lo, uint64_t *hi)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    elf_version(EV_CURRENT);
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    size_t n;
    bool ok = false;
    *lo = UINT64_MAX;
    *hi = 0;
    if (elf && elf_getphdrnum(elf, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            GElf_Phdr ph;
            if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD) {
                *lo = MIN(*lo, ph.p_vaddr & ~(uint64_t)0xfff);
                *hi = MAX(*hi, ph.p_vaddr + ph.p_memsz);
                ok = true;
            }
        }
    }
    if (elf) {
        elf_end(elf);
    }
    close(fd);
    return ok;
}

static uint32_t module_index(CflowExport *x, GHashTable *by_path, const char *path)
{
    gpointer v = g_hash_table_lookup(by_path, path);
    if (v) {
        return GPOINTER_TO_UINT(v) - 1;
    }
    CflowExportModule m = {g_string_chunk_insert_const(x->strings, path), 0, 0, 0};
    uint64_t lo, hi;
    if (elf_load_range(path, &lo, &hi)) {
        m.base = lo;
        m.end = hi;
    }
    g_array_append_val(x->modules, m);
    g_hash_table_insert(by_path, (gpointer)m.path, GUINT_TO_POINTER(x->modules->len));
    return x->modules->len - 1;
}

CflowExport *cflow_export_new(const CflowProfile *p)
{
    CflowExport *x = g_new0(CflowExport, 1);
    x->p = p;
    x->s = cflow_srcline_new(p);
    x->st = cflow_insn_stats(p);
    x->arch = cflow_profile_get_meta(p, "arch");
    x->arch = x->arch ? x->arch : "";
    cflow_decoder_open(&x->decoder, cflow_arch_find(x->arch));
    x->strings = g_string_chunk_new(1024);
    x->modules = g_array_new(FALSE, FALSE, sizeof(CflowExportModule));
    g_autoptr(GHashTable) by_path = g_hash_table_new(g_str_hash, g_str_equal);

    /* meta.maps: "start-end offset path" per line; a file's base is its start less its offset */
    const char *maps = cflow_profile_get_meta(p, "maps");
    g_auto(GStrv) lines = g_strsplit(maps ? maps : "", "\n", -1);
    for (int i = 0; lines[i]; i++) {
        char *end;
        uint64_t start = g_ascii_strtoull(lines[i], &end, 16);
        if (*end != '-') {
            continue;
        }
        uint64_t stop = g_ascii_strtoull(end + 1, &end, 16);
        if (*end != ' ') {
            continue;
        }
        uint64_t off = g_ascii_strtoull(end + 1, &end, 16);
        if (*end != ' ' || !end[1]) {
            continue;
        }
        const char *path = end + 1;
        bool known = g_hash_table_contains(by_path, path);
        uint32_t m = module_index(x, by_path, path);
        CflowExportModule *mod = &g_array_index(x->modules, CflowExportModule, m);
        if (!known) {
            mod->base = start - off;
            mod->end = stop;
        } else {
            mod->base = MIN(mod->base, start - off);
            mod->end = MAX(mod->end, stop);
        }
    }

    guint n = p->insns->len;
    x->module_of = g_new(uint32_t, n ? n : 1);
    x->vaddr = g_new(uint64_t, n ? n : 1);
    for (guint i = 0; i < n; i++) {
        const CflowInsn *in = cflow_profile_insn(p, i);
        uint64_t vaddr = in->addr;
        const char *path = cflow_srcline_locate(x->s, in->addr, &vaddr);
        x->vaddr[i] = path ? vaddr : in->addr;
        x->module_of[i] = path ? module_index(x, by_path, path) : CFLOW_NO_MODULE;
        if (path) {
            g_array_index(x->modules, CflowExportModule, x->module_of[i]).executed +=
                x->st[i].execs;
        }
    }
    return x;
}

void cflow_export_free(CflowExport *x)
{
    if (!x) {
        return;
    }
    if (x->prepared && x->prepared_free) {
        x->prepared_free(x->prepared);
    }
    cflow_srcline_free(x->s);
    cflow_decoder_close(&x->decoder);
    g_free(x->st);
    g_free(x->module_of);
    g_free(x->vaddr);
    g_array_free(x->modules, TRUE);
    g_string_chunk_free(x->strings);
    if (x->execs_index) {
        g_hash_table_unref(x->execs_index);
    }
    g_free(x);
}

uint32_t cflow_export_select(CflowExport *x, GError **error)
{
    const char *want = x->binary ? x->binary : cflow_profile_get_meta(x->p, "guest");
    if (!want) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "the profile names no guest binary (meta.guest): give --binary");
        return CFLOW_NO_MODULE;
    }
    g_autofree char *real = realpath(want, NULL);
    g_autofree char *base = g_path_get_basename(want);
    /* exact path, then the same file by its resolved path, then the same base name */
    for (int pass = 0; pass < 3; pass++) {
        uint32_t found = CFLOW_NO_MODULE, matches = 0;
        for (guint m = 0; m < x->modules->len; m++) {
            const char *path = g_array_index(x->modules, CflowExportModule, m).path;
            bool hit = false;
            if (pass == 0) {
                hit = strcmp(path, want) == 0;
            } else if (pass == 1) {
                g_autofree char *r = realpath(path, NULL);
                hit = real && r && strcmp(r, real) == 0;
            } else {
                g_autofree char *b = g_path_get_basename(path);
                hit = strcmp(b, base) == 0;
            }
            if (hit) {
                found = found == CFLOW_NO_MODULE ? m : found;
                matches++;
            }
        }
        if (matches == 1 || (matches > 1 && pass < 2)) {
            return found;
        }
        if (matches > 1) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "'%s' matches %u mapped files: give its full path", want, matches);
            return CFLOW_NO_MODULE;
        }
    }
    GString *known = g_string_new(NULL);
    for (guint m = 0; m < x->modules->len; m++) {
        g_string_append_printf(known, "\n  %s", g_array_index(x->modules, CflowExportModule,
                                                              m).path);
    }
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "no code of '%s' in the profile; the run executed code from:%s", want,
                known->len ? known->str : " (no file known)");
    g_string_free(known, TRUE);
    return CFLOW_NO_MODULE;
}

/* The instruction's control transfer: arch.h's one classifier, through tool/stats.c. */
void cflow_export_transfer(const CflowExport *x, uint32_t insn, CflowTransfer *t)
{
    cflow_insn_transfer(x->p, &x->decoder, insn, t);
}

CflowInsnClass cflow_export_classify(const CflowExport *x, uint32_t insn)
{
    return cflow_insn_class(x->p, &x->decoder, insn);
}

uint64_t cflow_export_execs_at(CflowExport *x, uint32_t m, uint64_t vaddr)
{
    if (!x->execs_index) {
        /* (module, vaddr) -> executions, built on first use */
        GHashTable *index = x->execs_index = g_hash_table_new_full(g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref,
                                      g_free);
        for (guint i = 0; i < x->p->insns->len; i++) {
            if (x->module_of[i] == CFLOW_NO_MODULE) {
                continue;
            }
            uint64_t key[2] = {x->module_of[i], x->vaddr[i]};
            GBytes *k = g_bytes_new(key, sizeof key);
            uint64_t *v = g_hash_table_lookup(index, k);
            if (v) {
                *v += x->st[i].execs;
                g_bytes_unref(k);
            } else {
                g_hash_table_insert(index, k, g_memdup2(&x->st[i].execs, sizeof(uint64_t)));
            }
        }
    }
    uint64_t key[2] = {m, vaddr};
    g_autoptr(GBytes) k = g_bytes_new(key, sizeof key);
    uint64_t *v = g_hash_table_lookup(x->execs_index, k);
    return v ? *v : 0;
}

GPtrArray *cflow_export_keys(GHashTable *table)
{
    GPtrArray *keys = g_ptr_array_sized_new(g_hash_table_size(table));
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, table);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
        g_ptr_array_add(keys, k);
    }
    return keys;
}

bool cflow_export_block_ran(const CflowProfile *p, const CflowBlock *blk, uint32_t *first,
                            uint32_t *last)
{
    if (!blk->n_insns || !blk->count) {
        return false;
    }
    *first = g_array_index(p->block_insns, uint32_t, blk->first);
    *last = g_array_index(p->block_insns, uint32_t, blk->first + blk->n_insns - 1);
    return true;
}

bool cflow_export_written(FILE *out, GError **error)
{
    if (ferror(out)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_IO, "write error");
        return false;
    }
    return true;
}
