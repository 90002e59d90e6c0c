/* autofdo-scopes.c: subprograms indexed by address range, inline scopes found under them. */
#include "autofdo-scopes.h"

#include <dwarf.h>
#include <glib.h>

typedef struct {
    Dwarf_Addr low, high; /* [low, high), module addresses */
    Dwarf_Addr cubias;
    Dwarf_Die die;
} Range;

struct CflowScopes {
    GArray *ranges; /* Range, by low */
};

static void add_subprograms(GArray *ranges, Dwarf_Die *parent, Dwarf_Addr cubias)
{
    Dwarf_Die child;
    if (dwarf_child(parent, &child) != 0) {
        return;
    }
    do {
        int tag = dwarf_tag(&child);
        if (tag == DW_TAG_namespace || tag == DW_TAG_class_type ||
            tag == DW_TAG_structure_type) {
            add_subprograms(ranges, &child, cubias); /* C++ member functions */
            continue;
        }
        if (tag != DW_TAG_subprogram) {
            continue;
        }
        Dwarf_Addr base, low, high;
        ptrdiff_t off = 0;
        /* every range: a function split into hot and cold parts has two */
        while ((off = dwarf_ranges(&child, off, &base, &low, &high)) > 0) {
            Range r = {low + cubias, high + cubias, cubias, child};
            g_array_append_val(ranges, r);
        }
    } while (dwarf_siblingof(&child, &child) == 0);
}

static int cmp_range(gconstpointer x, gconstpointer y)
{
    const Range *a = x, *b = y;
    return (a->low > b->low) - (a->low < b->low);
}

CflowScopes *cflow_scopes_new(Dwfl_Module *mod)
{
    CflowScopes *s = g_new0(CflowScopes, 1);
    s->ranges = g_array_new(FALSE, FALSE, sizeof(Range));
    Dwarf_Die *cu = NULL;
    Dwarf_Addr cubias;
    while ((cu = dwfl_module_nextcu(mod, cu, &cubias))) {
        add_subprograms(s->ranges, cu, cubias);
    }
    g_array_sort(s->ranges, cmp_range);
    return s;
}

void cflow_scopes_free(CflowScopes *s)
{
    if (s) {
        g_array_free(s->ranges, TRUE);
        g_free(s);
    }
}

/* The child of parent whose range holds a (CU-relative) and that is a scope, or false. */
static bool inner_scope(Dwarf_Die *parent, Dwarf_Addr a, Dwarf_Die *out)
{
    if (dwarf_child(parent, out) != 0) {
        return false;
    }
    do {
        int tag = dwarf_tag(out);
        if ((tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block) &&
            dwarf_haspc(out, a) == 1) {
            return true;
        }
    } while (dwarf_siblingof(out, out) == 0);
    return false;
}

int cflow_scopes_at(CflowScopes *s, Dwarf_Addr a, Dwarf_Die *dies, int max, Dwarf_Die *cu,
                    Dwarf_Addr *cubias)
{
    /* the last range starting at or before a; ranges of one function do not overlap others */
    guint lo = 0, hi = s->ranges->len;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        if (g_array_index(s->ranges, Range, mid).low <= a) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == 0 || max < 1) {
        return 0;
    }
    Range *r = &g_array_index(s->ranges, Range, lo - 1);
    if (a >= r->high || !dwarf_diecu(&r->die, cu, NULL, NULL)) {
        return 0;
    }
    *cubias = r->cubias;
    int n = 0;
    dies[n++] = r->die;
    Dwarf_Die scope = r->die, inner;
    while (n < max && inner_scope(&scope, a - r->cubias, &inner)) {
        if (dwarf_tag(&inner) == DW_TAG_inlined_subroutine) {
            dies[n++] = inner;
        }
        scope = inner;
    }
    return n;
}
