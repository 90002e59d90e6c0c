/*
 * srcline.c: guest address -> function and source line (see srcline.h), with elfutils.
 *
 * One Dwfl session per ELF file, each reporting its file at load bias 0: addresses are first
 * made link-time addresses through the profile's `maps` and the file's program headers, so no
 * session needs to know where the run put anything. Dwfl is used rather than bare libdw for
 * the search of separate debug info (build-id, .gnu_debuglink, .debug/, /usr/lib/debug), which
 * is exactly what the other elfutils tools do.
 */
#include "srcline.h"

#include "autofdo-scopes.h"
#include "dwarf-index.h"
#include "elf-symbols.h"
#include "plt.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <inttypes.h>
#include <string.h>

/* GCC's attribute for the discriminator of an inlined instance; elfutils' dwarf.h lacks it */
#define DW_AT_GNU_DISCRIMINATOR 0x2136

typedef struct {
    uint64_t start, end, offset;
    char *path;
} Map;

typedef struct {
    uint64_t offset, filesz, vaddr;
} Load;

typedef struct {
    bool ok;
    bool is_exec; /* ET_EXEC: run-time address == link-time address without maps */
    Dwfl *dwfl;
    Dwfl_Module *mod;
    Dwarf_Addr bias; /* Dwfl address = link-time address + bias */
    GArray *loads;   /* Load: PT_LOAD segments */
    CflowPlt *plt;   /* its PLT stubs' names, read on first use */
    CflowDieIndex *units; /* its compile units by range, indexed on first use (unit_at) */
    CflowSymIndex *symbols; /* its symbols by address, indexed on first use (lookup_dwarf) */
    CflowScopes *scopes;    /* its subprograms by address, indexed on first use (lookup_dwarf) */
} Object;

/* Inlined calls nested deeper than this lose their innermost levels (none comes close). */
#define MAX_INLINE_DEPTH 64

struct CflowSrcline {
    const CflowProfile *p;
    GArray *maps;         /* Map, in the profile's order */
    GHashTable *objects;  /* path -> Object */
    GHashTable *cache;    /* address -> CflowLoc, both owned */
    GStringChunk *strings;
    GHashTable *sources;  /* file path -> GStrv of its lines, or NULL if unreadable */
    const char *guest;     /* meta "guest", kept: the profile may change (cflow_srcline_rebind) */
    const char *maps_text; /* meta "maps" as read, NULL without */
    CflowAddresses addresses; /* what cflow_srcline_address prints */
};

static char *debuginfo_path = NULL; /* NULL: elfutils' default ":.debug:/usr/lib/debug" */

static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

static void object_free(gpointer data)
{
    Object *o = data;
    if (o->dwfl) {
        /* the indexes (made only where the module opened) before the module they read */
        cflow_plt_free(o->plt);
        cflow_die_index_free(o->units);
        cflow_sym_index_free(o->symbols);
        cflow_scopes_free(o->scopes);
        dwfl_end(o->dwfl);
    }
    if (o->loads) {
        g_array_free(o->loads, TRUE);
    }
    g_free(o);
}

static Object *object_open(const char *path)
{
    Object *o = g_new0(Object, 1);
    o->dwfl = dwfl_begin(&callbacks);
    if (!o->dwfl) {
        return o;
    }
    dwfl_report_begin(o->dwfl);
    /* base 0 added to the segments' own addresses: the module sits at its link-time place */
    o->mod = dwfl_report_elf(o->dwfl, path, path, -1, 0, true);
    dwfl_report_end(o->dwfl, NULL, NULL);
    if (!o->mod) {
        return o;
    }
    Elf *elf = dwfl_module_getelf(o->mod, &o->bias);
    GElf_Ehdr ehdr;
    size_t n;
    if (!elf || !gelf_getehdr(elf, &ehdr) || elf_getphdrnum(elf, &n) != 0) {
        return o;
    }
    o->is_exec = ehdr.e_type == ET_EXEC;
    o->loads = g_array_new(FALSE, FALSE, sizeof(Load));
    for (size_t i = 0; i < n; i++) {
        GElf_Phdr ph;
        if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD) {
            Load l = {ph.p_offset, ph.p_filesz, ph.p_vaddr};
            g_array_append_val(o->loads, l);
        }
    }
    o->ok = true;
    return o;
}

static Object *object_get(CflowSrcline *s, const char *path)
{
    Object *o = g_hash_table_lookup(s->objects, path);
    if (!o) {
        o = object_open(path);
        g_hash_table_insert(s->objects, g_strdup(path), o);
    }
    return o->ok ? o : NULL;
}

static void parse_maps(CflowSrcline *s)
{
    const char *maps = cflow_profile_get_meta(s->p, "maps");
    if (!maps) {
        return;
    }
    g_auto(GStrv) lines = g_strsplit(maps, "\n", -1);
    for (int i = 0; lines[i]; i++) {
        Map m;
        char *end;
        m.start = g_ascii_strtoull(lines[i], &end, 16);
        if (*end != '-') {
            continue;
        }
        m.end = g_ascii_strtoull(end + 1, &end, 16);
        if (*end != ' ') {
            continue;
        }
        m.offset = g_ascii_strtoull(end + 1, &end, 16);
        if (*end != ' ' || !end[1]) {
            continue;
        }
        m.path = g_string_chunk_insert_const(s->strings, end + 1);
        g_array_append_val(s->maps, m);
    }
}

static void loc_free(gpointer data)
{
    CflowLoc *loc = data;
    g_free((gpointer)loc->frames);
    g_free(loc);
}

/* A meta value of s's profile, kept in s's strings (NULL if the profile has none). */
static const char *keep_meta(CflowSrcline *s, const char *key)
{
    const char *v = cflow_profile_get_meta(s->p, key);
    return v ? g_string_chunk_insert_const(s->strings, v) : NULL;
}

CflowSrcline *cflow_srcline_new(const CflowProfile *p)
{
    elf_version(EV_CURRENT);
    CflowSrcline *s = g_new0(CflowSrcline, 1);
    s->p = p;
    s->maps = g_array_new(FALSE, FALSE, sizeof(Map));
    s->objects = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, object_free);
    s->cache = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, loc_free);
    s->strings = g_string_chunk_new(4096);
    s->sources = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify)g_strfreev);
    s->guest = keep_meta(s, "guest");
    s->maps_text = keep_meta(s, "maps");
    parse_maps(s);
    return s;
}

bool cflow_srcline_rebind(CflowSrcline *s, const CflowProfile *p)
{
    if (g_strcmp0(s->guest, cflow_profile_get_meta(p, "guest")) != 0 ||
        g_strcmp0(s->maps_text, cflow_profile_get_meta(p, "maps")) != 0) {
        return false;
    }
    s->p = p;
    return true;
}

void cflow_srcline_free(CflowSrcline *s)
{
    if (!s) {
        return;
    }
    g_array_free(s->maps, TRUE);
    g_hash_table_unref(s->objects);
    g_hash_table_unref(s->cache);
    g_hash_table_unref(s->sources);
    g_string_chunk_free(s->strings);
    g_free(s);
}

/*
 * The ELF file and link-time address of a run-time address: through maps (file offset ->
 * segment), else the guest binary itself when it is not relocatable (a static executable whose
 * profile has no maps). *delta is run-time minus link-time address.
 */
static Object *locate(CflowSrcline *s, uint64_t addr, uint64_t *vaddr, int64_t *delta,
                      const char **path)
{
    for (guint i = 0; i < s->maps->len; i++) {
        const Map *m = &g_array_index(s->maps, Map, i);
        if (addr < m->start || addr >= m->end) {
            continue;
        }
        Object *o = object_get(s, m->path);
        if (!o) {
            return NULL;
        }
        uint64_t off = addr - m->start + m->offset;
        *vaddr = off;
        for (guint k = 0; k < o->loads->len; k++) {
            const Load *l = &g_array_index(o->loads, Load, k);
            if (off >= l->offset && off < l->offset + l->filesz) {
                *vaddr = off - l->offset + l->vaddr;
                break;
            }
        }
        *delta = (int64_t)(addr - *vaddr);
        *path = m->path;
        return o;
    }
    if (s->guest) {
        Object *o = object_get(s, s->guest);
        if (o && (o->is_exec || s->maps->len == 0)) {
            *vaddr = addr;
            *delta = 0;
            *path = s->guest;
            return o;
        }
    }
    return NULL;
}

/*
 * The inline chain from the scopes around an address (innermost first): one level per inlined
 * instance, ending at the first real function. Each level's call site is that of the instance.
 */
static void inline_chain(CflowSrcline *s, Dwarf_Die *cu, Dwarf_Die *scopes, int n,
                         int64_t to_run_time, CflowLoc *loc)
{
    GArray *frames = g_array_new(FALSE, TRUE, sizeof(CflowInlineFrame));
    for (int i = 0; i < n; i++) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram) {
            continue;
        }
        const char *name = cflow_dwarf_name(&scopes[i]);
        CflowInlineFrame f = {
            .function = g_string_chunk_insert_const(s->strings, name ? name : "??"),
        };
        int decl = 0;
        if (dwarf_decl_line(&scopes[i], &decl) == 0 && decl > 0) {
            f.decl_line = (unsigned)decl;
        }
        const char *decl_file = dwarf_decl_file(&scopes[i]);
        f.decl_file = decl_file ? g_string_chunk_insert_const(s->strings, decl_file) : NULL;
        Dwarf_Addr entry;
        if (dwarf_entrypc(&scopes[i], &entry) == 0) {
            f.entry = entry + (uint64_t)to_run_time;
        }
        if (tag == DW_TAG_inlined_subroutine) {
            const char *file = cflow_dwarf_call_file(cu, &scopes[i]);
            f.call_file = file ? g_string_chunk_insert_const(s->strings, file) : NULL;
            f.call_line = cflow_dwarf_udata(&scopes[i], DW_AT_call_line);
            f.call_column = cflow_dwarf_udata(&scopes[i], DW_AT_call_column);
            f.discriminator = cflow_dwarf_udata(&scopes[i], DW_AT_GNU_DISCRIMINATOR);
        }
        g_array_append_val(frames, f);
        if (tag == DW_TAG_subprogram) {
            if (name) { /* inlined code belongs to the real function it was inlined in */
                loc->function = f.function;
                loc->function_start = f.entry;
                loc->source = CFLOW_LOC_DWARF;
            }
            break;
        }
    }
    loc->n_frames = frames->len;
    loc->frames = (const CflowInlineFrame *)g_array_free(frames, loc->n_frames == 0);
}

/* A PLT stub's name ("puts@plt", as objdump says), which no debug info or symbol gives. */
static bool lookup_plt(CflowSrcline *s, Object *o, uint64_t vaddr, int64_t delta, CflowLoc *loc)
{
    if (!o->plt) {
        Dwarf_Addr bias;
        o->plt = cflow_plt_read(dwfl_module_getelf(o->mod, &bias));
    }
    const CflowPltStub *stub = cflow_plt_find(o->plt, vaddr);
    if (!stub) {
        return false;
    }
    loc->function = g_string_chunk_insert_const(s->strings, stub->name);
    loc->function_start = stub->start + (uint64_t)delta;
    loc->source = CFLOW_LOC_ELF;
    return true;
}

/*
 * The compile unit holding module address a, and its bias: libdwfl's lookup, else the units'
 * own ranges. libdwfl (elfutils 0.188) finds a unit only through .debug_aranges, which clang
 * does not emit, so that a clang-built file would have no lines at all.
 */
static Dwarf_Die *unit_at(Object *o, Dwarf_Addr a, Dwarf_Die *storage, Dwarf_Addr *cubias)
{
    Dwarf_Die *cu = dwfl_module_addrdie(o->mod, a, cubias);
    if (cu) {
        return cu;
    }
    if (!o->units) {
        o->units = cflow_die_index_new(o->mod, CFLOW_DIE_UNITS);
    }
    return cflow_die_index_find(o->units, a, storage, cubias) ? storage : NULL;
}

/* The row of the unit's line table for unit address a: file, line, column, discriminator. */
static void line_at(CflowSrcline *s, Dwarf_Die *cu, Dwarf_Addr a, CflowLoc *loc)
{
    Dwarf_Line *line = dwarf_getsrc_die(cu, a);
    int lineno = 0, column = 0;
    const char *file = line ? dwarf_linesrc(line, NULL, NULL) : NULL;
    if (!file || dwarf_lineno(line, &lineno) != 0 || lineno <= 0) {
        return;
    }
    loc->file = g_string_chunk_insert_const(s->strings, file);
    loc->line = (unsigned)lineno;
    loc->column = dwarf_linecol(line, &column) == 0 && column > 0 ? (unsigned)column : 0;
    unsigned discriminator = 0;
    if (dwarf_linediscriminator(line, &discriminator) == 0) {
        loc->discriminator = discriminator;
    }
}

/*
 * The inline chain from the unit itself: dwarf_getscopes continues an inlined instance with its
 * abstract definition's scopes; the DIEs physically around the innermost scope are the chain.
 * It walks the unit from its top: only for what the subprogram index does not answer.
 */
static void scopes_of_unit(CflowSrcline *s, Dwarf_Die *cu, Dwarf_Addr unit_addr,
                           int64_t to_run_time, CflowLoc *loc)
{
    Dwarf_Die *scopes = NULL;
    int n = dwarf_getscopes(cu, unit_addr, &scopes);
    bool inlined = false;
    for (int i = 0; i < n && !inlined; i++) {
        inlined = dwarf_tag(&scopes[i]) == DW_TAG_inlined_subroutine;
    }
    if (inlined) {
        Dwarf_Die *found = scopes;
        n = dwarf_getscopes_die(&found[0], &scopes);
        free(found);
    }
    inline_chain(s, cu, scopes, n, to_run_time, loc);
    free(scopes);
}

static void lookup_dwarf(CflowSrcline *s, Object *o, uint64_t vaddr, int64_t delta,
                         CflowLoc *loc)
{
    Dwarf_Addr a = vaddr + o->bias, cubias;
    Dwarf_Die storage;
    Dwarf_Die *cu = unit_at(o, a, &storage, &cubias);
    if (cu) {
        line_at(s, cu, a - cubias, loc);
        /*
         * The inline chain: the DIEs physically around the address (what eu-addr2line -i
         * walks), from the module's subprograms indexed once (autofdo-scopes.c), not
         * dwarf_getscopes, which walks the unit from its top for every address (two thirds of
         * `report` on a profile of code with the C library's debug information installed).
         */
        if (!o->scopes) {
            o->scopes = cflow_scopes_new(o->mod);
        }
        Dwarf_Die outer_first[MAX_INLINE_DEPTH], scopes[MAX_INLINE_DEPTH], scope_cu;
        Dwarf_Addr scope_bias;
        int n = cflow_scopes_at(o->scopes, a, outer_first, MAX_INLINE_DEPTH, &scope_cu,
                                &scope_bias);
        if (n > 0 && dwarf_dieoffset(&scope_cu) == dwarf_dieoffset(cu) &&
            !cflow_scopes_ambiguous(o->scopes, a)) {
            for (int i = 0; i < n; i++) {
                scopes[i] = outer_first[n - 1 - i];
            }
            inline_chain(s, cu, scopes, n, (int64_t)(cubias - o->bias) + delta, loc);
        } else {
            /* no subprogram of this unit holds it, or two do: the unit's own answer */
            scopes_of_unit(s, cu, a - cubias, (int64_t)(cubias - o->bias) + delta, loc);
        }
    }
    if (!loc->function) {
        GElf_Off off;
        if (!o->symbols) {
            o->symbols = cflow_sym_index_new(o->mod);
        }
        const char *name = cflow_sym_index_function(o->symbols, a, &off);
        if (name) {
            loc->function = g_string_chunk_insert_const(s->strings, name);
            loc->function_start = a - off - o->bias + (uint64_t)delta;
            loc->source = loc->file ? CFLOW_LOC_DWARF : CFLOW_LOC_ELF;
        }
    }
}

const CflowLoc *cflow_srcline_lookup(CflowSrcline *s, uint64_t addr, const char *qemu_symbol)
{
    CflowLoc *loc = g_hash_table_lookup(s->cache, &addr);
    if (loc) {
        return loc;
    }
    loc = g_new0(CflowLoc, 1);
    uint64_t vaddr;
    int64_t delta;
    const char *path = NULL;
    Object *o = locate(s, addr, &vaddr, &delta, &path);
    if (o) {
        loc->object = path;
        if (!lookup_plt(s, o, vaddr, delta, loc)) {
            lookup_dwarf(s, o, vaddr, delta, loc);
        }
    }
    if (!loc->function && qemu_symbol && *qemu_symbol) {
        loc->function = g_string_chunk_insert_const(s->strings, qemu_symbol);
        loc->source = CFLOW_LOC_QEMU;
    }
    if (!loc->function) {
        char text[24];
        g_snprintf(text, sizeof text, "0x%" PRIx64, addr);
        loc->function = g_string_chunk_insert_const(s->strings, text);
        loc->source = CFLOW_LOC_ADDRESS;
    }
    g_hash_table_insert(s->cache, g_memdup2(&addr, sizeof addr), loc);
    return loc;
}

const CflowInlineFrame *cflow_srcline_inline_chain(CflowSrcline *s, uint64_t addr, unsigned *n)
{
    const CflowLoc *loc = cflow_srcline_lookup(s, addr, NULL);
    *n = loc->n_frames;
    return loc->frames;
}

const CflowLoc *cflow_srcline_insn(CflowSrcline *s, uint32_t insn)
{
    const CflowInsn *in = cflow_profile_insn(s->p, insn);
    return cflow_srcline_lookup(s, in->addr, cflow_profile_string(s->p, in->symbol));
}

const char *cflow_srcline_locate(CflowSrcline *s, uint64_t addr, uint64_t *vaddr)
{
    int64_t delta;
    const char *path = NULL;
    return locate(s, addr, vaddr, &delta, &path) ? path : NULL;
}

struct Dwfl_Module *cflow_srcline_module(CflowSrcline *s, const char *path, uint64_t *bias)
{
    Object *o = object_get(s, path);
    if (!o) {
        return NULL;
    }
    *bias = o->bias;
    return o->mod;
}

char *cflow_srcline_file_offset(CflowSrcline *s, uint64_t addr)
{
    for (guint i = 0; i < s->maps->len; i++) {
        const Map *m = &g_array_index(s->maps, Map, i);
        if (addr >= m->start && addr < m->end) {
            return g_strdup_printf("%s+0x%" PRIx64, m->path, addr - m->start + m->offset);
        }
    }
    return g_strdup_printf("0x%" PRIx64, addr);
}

bool cflow_addresses_parse(const char *name, CflowAddresses *addresses)
{
    static const char *const names[] = {"run", "link", "both"};
    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        if (strcmp(name, names[i]) == 0) {
            *addresses = (CflowAddresses)i;
            return true;
        }
    }
    return false;
}

void cflow_srcline_set_addresses(CflowSrcline *s, CflowAddresses addresses)
{
    s->addresses = addresses;
}

CflowAddresses cflow_srcline_addresses(const CflowSrcline *s)
{
    return s->addresses;
}

void cflow_srcline_address(CflowSrcline *s, GString *out, uint64_t addr)
{
    uint64_t link = addr;
    if (s->addresses != CFLOW_ADDRESSES_RUN && !cflow_srcline_locate(s, addr, &link)) {
        link = addr;
    }
    if (s->addresses == CFLOW_ADDRESSES_BOTH && link != addr) {
        g_string_append_printf(out, "0x%" PRIx64 " (0x%" PRIx64 ")", addr, link);
    } else {
        g_string_append_printf(out, "0x%" PRIx64,
                               s->addresses == CFLOW_ADDRESSES_LINK ? link : addr);
    }
}

const char *cflow_srcline_chain_name(CflowSrcline *s, const CflowInlineFrame *frames,
                                     unsigned n)
{
    GString *name = g_string_new(frames[0].function);
    for (unsigned i = 0; i + 1 < n; i++) {
        g_autofree char *base =
            frames[i].call_file ? g_path_get_basename(frames[i].call_file) : g_strdup("?");
        g_string_append_printf(name, "%s into %s at %s:%u", i ? "," : " (inlined",
                               frames[i + 1].function, base, frames[i].call_line);
    }
    if (n > 1) {
        g_string_append_c(name, ')');
    }
    const char *interned = g_string_chunk_insert_const(s->strings, name->str);
    g_string_free(name, TRUE);
    return interned;
}

const char *cflow_srcline_inline_name(CflowSrcline *s, const CflowLoc *loc)
{
    return loc->n_frames < 2 ? loc->function
                             : cflow_srcline_chain_name(s, loc->frames, loc->n_frames);
}

const char *cflow_srcline_short(CflowSrcline *s, const CflowLoc *loc)
{
    if (!loc->file || !loc->line) {
        return NULL;
    }
    g_autofree char *base = g_path_get_basename(loc->file);
    g_autofree char *text = g_strdup_printf("%s:%u", base, loc->line);
    return g_string_chunk_insert_const(s->strings, text);
}

const char *cflow_srcline_text(CflowSrcline *s, const char *file, unsigned line)
{
    if (!file || !line) {
        return NULL;
    }
    gpointer lines;
    if (!g_hash_table_lookup_extended(s->sources, file, NULL, &lines)) {
        g_autofree char *text = NULL;
        lines = g_file_get_contents(file, &text, NULL, NULL) ? g_strsplit(text, "\n", -1) : NULL;
        g_hash_table_insert(s->sources, g_strdup(file), lines);
    }
    if (!lines || line > g_strv_length(lines)) {
        return NULL;
    }
    return ((char **)lines)[line - 1];
}
