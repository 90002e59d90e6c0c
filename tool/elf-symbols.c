/*
 * elf-symbols.c: a module's sized symbols sorted by address (elf-symbols.h).
 */
#include "elf-symbols.h"

#include "sorted-search.h"

#include <gelf.h>
#include <stddef.h>
#include <string.h>
#include <stdbool.h>

typedef struct {
    GElf_Addr start, end;
    GElf_Addr reach; /* the largest end of this symbol and those before it in the index */
    const char *name;
    int table_index; /* its place in the module's symbol table */
    int rank;        /* binding: global before weak before local */
} Sym;

struct CflowSymIndex {
    Dwfl_Module *mod;
    GArray *syms;    /* Sym with a size, by start then table index */
    int first_global; /* symbols from here on are searched first (libdwfl) */
    GArray *labels;  /* GElf_Addr: the starts of symbols without a size, sorted */
    uint64_t answered;     /* names given without asking libdwfl (cflow_sym_index_answered) */
};

static int binding_rank(unsigned char info)
{
    switch (GELF_ST_BIND(info)) {
    case STB_GLOBAL:
        return 3;
    case STB_WEAK:
        return 2;
    case STB_LOCAL:
        return 1;
    default:
        return 0;
    }
}

static gint by_address(gconstpointer pa, gconstpointer pb)
{
    GElf_Addr a = *(const GElf_Addr *)pa, b = *(const GElf_Addr *)pb;
    return a < b ? -1 : a > b;
}

static gint by_start(gconstpointer pa, gconstpointer pb)
{
    const Sym *a = pa, *b = pb;
    if (a->start != b->start) {
        return a->start < b->start ? -1 : 1;
    }
    return a->table_index < b->table_index ? -1 : a->table_index > b->table_index;
}

CflowSymIndex *cflow_sym_index_new(Dwfl_Module *mod)
{
    CflowSymIndex *x = g_new0(CflowSymIndex, 1);
    x->mod = mod;
    x->syms = g_array_new(FALSE, FALSE, sizeof(Sym));
    int n = dwfl_module_getsymtab(mod);
    x->first_global = dwfl_module_getsymtab_first_global(mod);
    x->labels = g_array_new(FALSE, FALSE, sizeof(GElf_Addr));
    for (int i = 1; i < n; i++) {
        GElf_Sym sym;
        GElf_Addr addr;
        GElf_Word shndx;
        const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx, NULL, NULL);
        unsigned type = GELF_ST_TYPE(sym.st_info);
        if (!name || !*name || shndx == SHN_UNDEF || type == STT_SECTION || type == STT_FILE ||
            type == STT_TLS) {
            continue;
        }
        if (sym.st_size == 0) {
            g_array_append_val(x->labels, addr);
            continue;
        }
        Sym s = {addr, addr + sym.st_size, 0, name, i, binding_rank(sym.st_info)};
        g_array_append_val(x->syms, s);
    }
    g_array_sort(x->syms, by_start);
    g_array_sort(x->labels, by_address);
    cflow_fill_reach(x->syms, offsetof(Sym, end), offsetof(Sym, reach));
    return x;
}

/* How many symbols start at or below a. */
static guint upper_bound(const CflowSymIndex *x, GElf_Addr a)
{
    return cflow_count_at_or_below(x->syms, offsetof(Sym, start), a);
}

/* Is some symbol without a size exactly at a? */
static bool label_at(const CflowSymIndex *x, GElf_Addr a)
{
    guint n = cflow_count_at_or_below(x->labels, 0, a);
    return n > 0 && g_array_index(x->labels, GElf_Addr, n - 1) == a;
}

/*
 * The symbol libdwfl would name for a when every sized symbol holding a has the same start and
 * size (one function and its aliases): libdwfl searches the global and weak symbols first and
 * the local ones only if none of those holds a (and no label is exactly at a: then libdwfl
 * decides), and among symbols of one start keeps the first in table order of the strongest
 * binding. NULL otherwise (no holder, or two that differ); *held says whether any holds a.
 */
static const Sym *only_holder(const CflowSymIndex *x, GElf_Addr a, bool *held)
{
    const Sym *best[2] = {NULL, NULL}, *first = NULL; /* [1]: global pass, [0]: local pass */
    *held = false;
    for (guint i = upper_bound(x, a); i-- > 0 && g_array_index(x->syms, Sym, i).reach > a;) {
        const Sym *s = &g_array_index(x->syms, Sym, i);
        if (s->end <= a) {
            continue;
        }
        *held = true;
        if (first && (s->start != first->start || s->end != first->end)) {
            return NULL;
        }
        first = s;
        const Sym **b = &best[s->table_index >= x->first_global];
        if (!*b || s->rank > (*b)->rank ||
            (s->rank == (*b)->rank && s->table_index < (*b)->table_index)) {
            *b = s;
        }
    }
    if (best[1]) {
        return best[1];
    }
    return best[0] && !label_at(x, a) ? best[0] : NULL;
}

/*
 * When no sized symbol holds a, libdwfl names it by the closest symbol without a size at or
 * below it (an assembly label), but only if no symbol at or below a ends above that label.
 * False when that rules every label out, so that a has no name; true when libdwfl must say.
 */
static bool label_may_name(const CflowSymIndex *x, GElf_Addr a)
{
    guint n = cflow_count_at_or_below(x->labels, 0, a);
    if (n == 0) {
        return false; /* no label at or below a */
    }
    GElf_Addr label = g_array_index(x->labels, GElf_Addr, n - 1);
    guint below = upper_bound(x, a);
    return below == 0 || g_array_index(x->syms, Sym, below - 1).reach <= label;
}

const char *cflow_sym_index_name(CflowSymIndex *x, GElf_Addr a, GElf_Off *offset)
{
    bool held;
    const Sym *s = only_holder(x, a, &held);
    if (s) {
        x->answered++;
        *offset = a - s->start;
        return s->name;
    }
    if (!held && !label_may_name(x, a)) {
        x->answered++;
        return NULL;
    }
    GElf_Sym sym;
    return dwfl_module_addrinfo(x->mod, a, offset, &sym, NULL, NULL, NULL);
}

/*
 * An Arm, AArch64 or RISC-V mapping symbol ("$x", "$d", "$a", "$t", "$x.123", RISC-V's
 * "$xrv64i2p1..."): it marks where code or data starts, it names no function, so code that
 * only such a symbol covers is left unnamed rather than called "$x".
 */
static bool is_mapping_symbol(const char *name)
{
    return name[0] == '$' && strchr("adtx", name[1]) && name[1] &&
           (name[2] == '\0' || name[2] == '.' || (name[1] == 'x' && name[2] == 'r'));
}

const char *cflow_sym_index_function(CflowSymIndex *x, GElf_Addr a, GElf_Off *offset)
{
    const char *name = cflow_sym_index_name(x, a, offset);
    return name && *name && !is_mapping_symbol(name) ? name : NULL;
}

uint64_t cflow_sym_index_answered(const CflowSymIndex *x)
{
    return x->answered;
}

void cflow_sym_index_free(CflowSymIndex *x)
{
    if (x) {
        g_array_free(x->syms, TRUE);
        g_array_free(x->labels, TRUE);
        g_free(x);
    }
}
