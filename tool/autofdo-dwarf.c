/*
 * autofdo-dwarf.c: cflow_afdo_build (autofdo.h): the run's executions of one binary as AutoFDO
 * function profiles, through the binary's DWARF.
 *
 * Each executed instruction is placed by its inline chain: the subprogram and the
 * DW_TAG_inlined_subroutine scopes around its address (autofdo-scopes.c); the
 * line table gives the instruction's own line and discriminator, each inlined scope its call
 * site's (DW_AT_call_line, DW_AT_GNU_discriminator) in the scope around it. Names are linkage
 * names where DWARF has them (C++), else the plain name, as both compilers look functions up.
 * Call targets and head counts come from the profile's edges out of call instructions (and
 * jumps into another function's entry: tail calls). Then the zeros: the line table's positions
 * in the functions that ran that no execution reached (place_zeros).
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <inttypes.h>
#include <string.h>

#include "autofdo-scopes.h"
#include "autofdo.h"
#include "dwarf-index.h"

#ifndef DW_AT_GNU_discriminator
#define DW_AT_GNU_discriminator 0x2136
#endif

typedef struct {
    const char *name;
    unsigned decl_line;
    unsigned line, discriminator; /* the instruction's, or the call site of the frame inside */
} Frame;

typedef struct {
    CflowExport *x;
    uint32_t m;
    const char *path;
    Dwfl_Module *mod;
    uint64_t bias;
    CflowScopes *scopes;
    CflowAfdoFlavour flavour;
    CflowAfdo *a;
    CflowAfdoPos **pos_of;      /* instruction -> the position its executions went to */
    CflowAfdoFunction **top_of; /* instruction -> its top-level function profile */
    uint64_t placed, unplaced;  /* executions with and without a source position */
} Build;

/*
 * clang's discriminators pack a base discriminator, a duplication factor (unrolled or
 * vectorised copies) and a copy id, each in a prefix code: a set low bit means 0; else five
 * bits follow, or twelve when bit 5 of the rest (a flag) is set. The sample loader keys
 * positions by the base discriminator; a copy's executions count once per duplicated iteration.
 */
static unsigned llvm_component(unsigned d)
{
    if (d & 1) {
        return 0;
    }
    d >>= 1;
    return d & 0x20 ? ((d >> 1) & 0xfe0) | (d & 0x1f) : d & 0x1f;
}

static unsigned llvm_next_component(unsigned d)
{
    return d & 1 ? d >> 1 : d >> (d & 0x40 ? 14 : 7);
}

static bool produced_by_clang(Dwarf_Die *cu)
{
    Dwarf_Attribute attr;
    const char *producer = dwarf_formstring(dwarf_attr(cu, DW_AT_producer, &attr));
    return producer && strstr(producer, "clang") != NULL;
}

unsigned cflow_afdo_llvm_discriminator(unsigned d, unsigned *factor)
{
    unsigned dup = llvm_component(llvm_next_component(d));
    *factor = dup ? dup : 1;
    return llvm_component(d);
}

/* The discriminator the consumer keys by, and what one execution counts for. */
static unsigned decode_discriminator(const Build *b, bool clang, unsigned d, unsigned *factor)
{
    *factor = 1;
    if (b->flavour == CFLOW_AFDO_FOR_GCC) {
        return 0; /* GCC 12 masks discriminators off what it reads: one position per line */
    }
    return clang ? cflow_afdo_llvm_discriminator(d, factor) : d;
}

static const char *function_name(Dwarf_Die *die)
{
    Dwarf_Attribute attr;
    const char *name = NULL;
    if (dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) ||
        dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr)) {
        name = dwarf_formstring(&attr);
    }
    if (!name && dwarf_attr_integrate(die, DW_AT_name, &attr)) {
        name = dwarf_formstring(&attr);
    }
    return name;
}

#define MAX_DEPTH 64 /* inlined functions in one another; deeper ones count as the 64th */

/*
 * The inline chain at link-time address vaddr, outermost function first, into frames; *entry
 * is the outermost function's entry (link-time) and *factor what an execution there counts
 * for. False when DWARF does not place the address in a function at a line.
 */
static bool inline_chain(const Build *b, uint64_t vaddr, GArray *frames, uint64_t *entry,
                         unsigned *factor)
{
    g_array_set_size(frames, 0);
    Dwarf_Addr addr = vaddr + b->bias, cubias;
    Dwarf_Die scopes[MAX_DEPTH], cu;
    int n = cflow_scopes_at(b->scopes, addr, scopes, MAX_DEPTH, &cu, &cubias);
    /* the unit's own line table: libdwfl finds units by .debug_aranges, which clang omits */
    Dwarf_Line *l = n ? dwarf_getsrc_die(&cu, addr - cubias) : NULL;
    int lineno = 0;
    if (!l || dwarf_lineno(l, &lineno) != 0 || lineno <= 0) {
        return false;
    }
    Dwarf_Addr pc;
    unsigned disc = 0, unused;
    dwarf_linediscriminator(l, &disc);
    bool clang = produced_by_clang(&cu);
    Dwarf_Addr base, high;
    /* a function split into hot and cold parts has ranges only: the first is its entry */
    if (dwarf_entrypc(&scopes[0], &pc) != 0 &&
        dwarf_ranges(&scopes[0], 0, &base, &pc, &high) <= 0) {
        return false;
    }
    *entry = pc + cubias - b->bias;
    for (int i = 0; i < n; i++) {
        Frame f = {function_name(&scopes[i]), 0, 0, 0};
        int decl = 0;
        if (i + 1 < n) { /* the call site of the next scope in, in this one */
            f.line = cflow_dwarf_udata(&scopes[i + 1], DW_AT_call_line);
            f.discriminator = decode_discriminator(
                b, clang, cflow_dwarf_udata(&scopes[i + 1], DW_AT_GNU_discriminator), &unused);
        } else {
            f.line = (unsigned)lineno;
            f.discriminator = decode_discriminator(b, clang, disc, factor);
        }
        /* both formats keep a line offset from the function's declaration in 16 bits: a
         * position before it, or 65,536 lines past it (DWARF placing an inlined function's
         * line in another function), has none */
        if (!f.name || dwarf_decl_line(&scopes[i], &decl) != 0 || decl <= 0 ||
            f.line < (unsigned)decl || f.line - (unsigned)decl > 0xffff) {
            return false;
        }
        f.decl_line = (unsigned)decl;
        g_array_append_val(frames, f);
    }
    return true;
}

/*
 * The function profile of the frames' innermost function: made on first use when make is
 * set; else NULL unless the outermost function and every inlined call site on the way are
 * already in the profile. The outermost one into *top.
 */
static CflowAfdoFunction *scope_of(Build *b, const GArray *frames, bool make,
                                   CflowAfdoFunction **top)
{
    const Frame *f = &g_array_index(frames, Frame, 0);
    CflowAfdoFunction *fn = *top = make ? cflow_afdo_function(b->a, f->name, f->decl_line)
                                        : g_hash_table_lookup(b->a->by_name, f->name);
    for (guint k = 1; k < frames->len && fn; k++) {
        const Frame *caller = &g_array_index(frames, Frame, k - 1);
        uint32_t offset = caller->line - caller->decl_line;
        f = &g_array_index(frames, Frame, k);
        fn = make ? cflow_afdo_inlined(b->a, fn, offset, caller->discriminator, f->name,
                                       f->decl_line)
                  : cflow_afdo_inlined_find(fn, offset, caller->discriminator, f->name);
    }
    return fn;
}

/* The position the frames end at, made on first use. */
static CflowAfdoPos *place(Build *b, const GArray *frames, CflowAfdoFunction **top)
{
    CflowAfdoFunction *fn = scope_of(b, frames, true, top);
    const Frame *f = &g_array_index(frames, Frame, frames->len - 1);
    return cflow_afdo_pos(fn, f->line - f->decl_line, f->discriminator);
}

/*
 * The zeros: every address the binary's line table gives a line, in a function that ran (or
 * a callee inlined at a call site that ran), whose position the run never reached, listed at
 * 0. A position that is also an inlined call site is left to the call site (clang weighs a
 * call it finds inlined in the profile by its callee's counts). Callees inlined where they
 * never ran stay out: no build was measured with them, and an inlined callee in the profile
 * steers the compilers' inlining.
 */
static void place_zeros(Build *b)
{
    g_autoptr(GArray) frames = g_array_new(FALSE, FALSE, sizeof(Frame));
    Dwarf_Die *cu = NULL;
    Dwarf_Addr cubias;
    while ((cu = dwfl_module_nextcu(b->mod, cu, &cubias))) {
        Dwarf_Lines *lines;
        size_t n;
        if (dwarf_getsrclines(cu, &lines, &n) != 0) {
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            Dwarf_Line *l = dwarf_onesrcline(lines, i);
            Dwarf_Addr a;
            bool end;
            uint64_t entry;
            unsigned factor;
            CflowAfdoFunction *top;
            if (dwarf_lineendsequence(l, &end) != 0 || end || dwarf_lineaddr(l, &a) != 0 ||
                !inline_chain(b, a + cubias - b->bias, frames, &entry, &factor)) {
                continue;
            }
            CflowAfdoFunction *fn = scope_of(b, frames, false, &top);
            const Frame *f = &g_array_index(frames, Frame, frames->len - 1);
            uint32_t offset = f->line - f->decl_line;
            if (fn && !cflow_afdo_has_callsite_at(fn, offset, f->discriminator)) {
                cflow_afdo_pos(fn, offset, f->discriminator); /* 0 if it is new */
            }
        }
    }
}

/* Every executed instruction of the module counted at its position. */
static void place_executions(Build *b)
{
    const CflowExport *x = b->x;
    g_autoptr(GArray) frames = g_array_new(FALSE, FALSE, sizeof(Frame));
    for (guint i = 0; i < x->p->insns->len; i++) {
        uint64_t execs = x->st[i].execs, entry;
        unsigned factor;
        if (x->module_of[i] != b->m || !execs) {
            continue;
        }
        if (!inline_chain(b, x->vaddr[i], frames, &entry, &factor)) {
            b->unplaced += execs;
            continue;
        }
        b->placed += execs;
        CflowAfdoPos *pos = b->pos_of[i] = place(b, frames, &b->top_of[i]);
        pos->count = MAX(pos->count, execs * factor);
    }
}

/* The name of the function whose entry is run-time address `to` (*here: in this binary),
 * or NULL. */
static const char *callee_at(Build *b, uint64_t to, GArray *frames, bool *here)
{
    uint64_t vaddr, entry;
    unsigned factor;
    const char *path = cflow_srcline_locate(b->x->s, to, &vaddr);
    *here = path && strcmp(path, b->path) == 0;
    if (*here) {
        return inline_chain(b, vaddr, frames, &entry, &factor) && entry == vaddr
                   ? g_array_index(frames, Frame, 0).name
                   : NULL;
    }
    /* another file: its symbols (a library's exported functions) */
    const CflowLoc *loc = cflow_srcline_lookup(b->x->s, to, NULL);
    return loc->function_start == to && loc->source <= CFLOW_LOC_ELF ? loc->function : NULL;
}

/*
 * Whether a call is direct: arch.h knows when it decoded the bytes; an instruction kept as
 * text only (riscv64) is read by its mnemonic: jal, bl and call with an address are direct.
 */
static bool direct_call(const CflowExport *x, uint32_t insn, const CflowTransfer *t)
{
    if (t->has_target) {
        return true;
    }
    const char *text = cflow_profile_insn_disas(x->p, insn);
    if (!text) {
        return false;
    }
    size_t len = strcspn(text, " \t");
    const char *operand = text + len + strspn(text + len, " \t");
    static const char *const direct[] = {"jal", "c.jal", "bl"};
    for (size_t i = 0; i < G_N_ELEMENTS(direct); i++) {
        if (len == strlen(direct[i]) && strncmp(text, direct[i], len) == 0) {
            return true;
        }
    }
    return strncmp(text, "call", 4) == 0 && strncmp(operand, "0x", 2) == 0;
}

/* Call targets at the calls' positions, and head counts of the functions entered by calls. */
static void place_calls(Build *b)
{
    CflowExport *x = b->x;
    const CflowProfile *p = x->p;
    g_autoptr(GArray) frames = g_array_new(FALSE, FALSE, sizeof(Frame));
    for (guint e = 0; e < p->edges->len; e++) {
        const CflowEdge *edge = cflow_profile_edge(p, e);
        if (edge->kind != CFLOW_EDGE_BRANCH) {
            continue;
        }
        CflowTransfer t;
        cflow_export_transfer(x, edge->from, &t);
        bool from_here = x->module_of[edge->from] == b->m;
        bool here;
        const char *callee = callee_at(b, edge->to, frames, &here);
        if (!callee) {
            continue;
        }
        if (t.cls == CFLOW_INSN_CALL && from_here && b->pos_of[edge->from]) {
            CflowAfdoPos *pos = b->pos_of[edge->from];
            cflow_afdo_add_target(b->a, pos, callee, edge->count);
            pos->indirect |= !direct_call(x, edge->from, &t);
        }
        CflowAfdoFunction *target = here ? g_hash_table_lookup(b->a->by_name, callee) : NULL;
        bool other_function = !from_here || !b->top_of[edge->from] ||
                              b->top_of[edge->from] != target;
        if (target && (t.cls == CFLOW_INSN_CALL || other_function)) {
            target->head += edge->count;
        }
    }
}

/*
 * False with an error when the file's code is not what the run executed there: the profile
 * keeps each instruction's bytes, the file has them at the instruction's link-time address.
 */
static bool same_code(Build *b, GError **error)
{
    Dwarf_Addr bias;
    Elf *elf = dwfl_module_getelf(b->mod, &bias);
    size_t size, n;
    const char *image = elf ? elf_rawfile(elf, &size) : NULL;
    if (!image || elf_getphdrnum(elf, &n) != 0) {
        return true; /* nothing to compare with */
    }
    const CflowExport *x = b->x;
    for (guint i = 0; i < x->p->insns->len; i++) {
        const CflowInsn *in = cflow_profile_insn(x->p, i);
        const uint8_t *bytes = cflow_profile_insn_bytes(x->p, i);
        if (x->module_of[i] != b->m || !bytes || !in->size || in->size > CFLOW_INSN_BYTES) {
            continue;
        }
        for (size_t k = 0; k < n; k++) {
            GElf_Phdr ph;
            uint64_t v = x->vaddr[i];
            if (!gelf_getphdr(elf, (int)k, &ph) || ph.p_type != PT_LOAD || v < ph.p_vaddr ||
                v + in->size > ph.p_vaddr + ph.p_filesz) {
                continue;
            }
            uint64_t off = v - ph.p_vaddr + ph.p_offset;
            if (off + in->size <= size && memcmp(image + off, bytes, in->size) != 0) {
                g_set_error(error, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_FORMAT,
                            "%s is not the binary the profile was recorded from: its code at "
                            "0x%" PRIx64 " differs from what the run executed there (rebuilt "
                            "since?)", b->path, v);
                return false;
            }
            break;
        }
    }
    return true;
}

CflowAfdo *cflow_afdo_build(CflowExport *x, CflowAfdoFlavour flavour, GError **error)
{
    uint32_t m = cflow_export_select(x, error);
    if (m == CFLOW_NO_MODULE) {
        return NULL;
    }
    Build b = {x, m, g_array_index(x->modules, CflowExportModule, m).path, NULL, 0, NULL,
               flavour, NULL, NULL, NULL, 0, 0};
    b.mod = cflow_srcline_module(x->s, b.path, &b.bias);
    if (!b.mod) {
        g_set_error(error, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_FORMAT,
                    "cannot read %s as an ELF file", b.path);
        return NULL;
    }
    if (!same_code(&b, error)) {
        return NULL;
    }
    g_autoptr(CflowScopes) scopes = b.scopes = cflow_scopes_new(b.mod);
    g_autoptr(CflowAfdo) a = b.a = cflow_afdo_new();
    guint n = x->p->insns->len;
    g_autofree CflowAfdoPos **pos_of = b.pos_of = g_new0(CflowAfdoPos *, n ? n : 1);
    g_autofree CflowAfdoFunction **top_of = b.top_of = g_new0(CflowAfdoFunction *, n ? n : 1);
    place_executions(&b);
    if (!b.placed) {
        g_set_error(error, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_FORMAT,
                    "%s has no debug line information for the code that ran (build it with -g; "
                    "a stripped file has none, give its unstripped copy or debug file)", b.path);
        return NULL;
    }
    if (b.unplaced) {
        fprintf(stderr,
                "cflow export: note: %.1f%% of the executions in %s are in code without a "
                "source line (built without -g, PLT stubs, or line 0: code the compiler "
                "merged from several lines); they are not in the profile\n",
                100.0 * (double)b.unplaced / (double)(b.placed + b.unplaced), b.path);
    }
    place_calls(&b);
    if (!x->afdo_no_zeros) {
        place_zeros(&b);
    }
    cflow_afdo_finish(a);
    return g_steal_pointer(&a);
}

bool cflow_afdo_prepare(CflowExport *x, CflowAfdoFlavour flavour, GError **error)
{
    if (!x->prepared) {
        x->prepared = cflow_afdo_build(x, flavour, error);
        x->prepared_free = (GDestroyNotify)cflow_afdo_free;
    }
    return x->prepared != NULL;
}
