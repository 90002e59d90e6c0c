/* dwarf-index.c: DIEs indexed by address range, and what is read of DIEs (dwarf-index.h). */
#include "dwarf-index.h"

#include <stddef.h>

#include "sorted-search.h"

#include <dwarf.h>

typedef struct {
    Dwarf_Addr low, high; /* [low, high), module addresses */
    Dwarf_Addr reach;     /* the largest high of this range and those before it in the index */
    Dwarf_Addr cubias;
    Dwarf_Die die;
} Range;

struct CflowDieIndex {
    GArray *ranges; /* Range, by low */
};

void cflow_dwarf_each_subprogram(Dwarf_Die *parent, void (*fn)(Dwarf_Die *sub, void *data),
                                 void *data)
{
    Dwarf_Die child;
    if (dwarf_child(parent, &child) != 0) {
        return;
    }
    do {
        int tag = dwarf_tag(&child);
        if (tag == DW_TAG_namespace || tag == DW_TAG_class_type ||
            tag == DW_TAG_structure_type) {
            cflow_dwarf_each_subprogram(&child, fn, data);
        } else if (tag == DW_TAG_subprogram) {
            fn(&child, data);
        }
    } while (dwarf_siblingof(&child, &child) == 0);
}

unsigned cflow_dwarf_udata(Dwarf_Die *die, unsigned at)
{
    Dwarf_Attribute attr;
    Dwarf_Word value = 0;
    if (!dwarf_attr(die, at, &attr) || dwarf_formudata(&attr, &value) != 0) {
        return 0;
    }
    return (unsigned)value;
}

typedef struct {
    GArray *ranges;
    Dwarf_Addr cubias;
} Adding;

/* Every non-empty range of die. */
static void add_ranges(Dwarf_Die *die, void *data)
{
    Adding *to = data;
    Dwarf_Addr base, low, high;
    ptrdiff_t off = 0;
    while ((off = dwarf_ranges(die, off, &base, &low, &high)) > 0) {
        if (low < high) {
            Range r = {low + to->cubias, high + to->cubias, 0, to->cubias, *die};
            g_array_append_val(to->ranges, r);
        }
    }
}

static int cmp_range(gconstpointer x, gconstpointer y)
{
    const Range *a = x, *b = y;
    return (a->low > b->low) - (a->low < b->low);
}

CflowDieIndex *cflow_die_index_new(Dwfl_Module *mod, CflowDieKind kind)
{
    CflowDieIndex *x = g_new0(CflowDieIndex, 1);
    x->ranges = g_array_new(FALSE, FALSE, sizeof(Range));
    Dwarf_Die *cu = NULL;
    Adding to = {x->ranges, 0};
    while ((cu = dwfl_module_nextcu(mod, cu, &to.cubias))) {
        if (kind == CFLOW_DIE_UNITS) {
            add_ranges(cu, &to);
        } else {
            cflow_dwarf_each_subprogram(cu, add_ranges, &to);
        }
    }
    g_array_sort(x->ranges, cmp_range);
    cflow_fill_reach(x->ranges, offsetof(Range, high), offsetof(Range, reach));
    return x;
}

void cflow_die_index_free(CflowDieIndex *x)
{
    if (x) {
        g_array_free(x->ranges, TRUE);
        g_free(x);
    }
}

bool cflow_die_index_overlap(const CflowDieIndex *x, Dwarf_Addr a)
{
    guint lo = cflow_count_at_or_below(x->ranges, offsetof(Range, low), a);
    return lo >= 2 && g_array_index(x->ranges, Range, lo - 2).reach > a;
}

bool cflow_die_index_find(const CflowDieIndex *x, Dwarf_Addr a, Dwarf_Die *die,
                          Dwarf_Addr *cubias)
{
    /* the last range starting at or before a: the ranges of one kind do not overlap */
    guint lo = cflow_count_at_or_below(x->ranges, offsetof(Range, low), a);
    if (lo == 0) {
        return false;
    }
    const Range *r = &g_array_index(x->ranges, Range, lo - 1);
    if (a >= r->high) {
        return false;
    }
    *die = r->die;
    *cubias = r->cubias;
    return true;
}

const char *cflow_dwarf_name(Dwarf_Die *die)
{
    Dwarf_Attribute attr;
    return dwarf_attr_integrate(die, DW_AT_name, &attr) ? dwarf_formstring(&attr) : NULL;
}

const char *cflow_dwarf_call_file(Dwarf_Die *cu, Dwarf_Die *inlined)
{
    Dwarf_Attribute attr;
    Dwarf_Word index;
    Dwarf_Files *files;
    size_t n;
    if (!dwarf_attr(inlined, DW_AT_call_file, &attr) || dwarf_formudata(&attr, &index) != 0 ||
        dwarf_getsrcfiles(cu, &files, &n) != 0 || index >= n) {
        return NULL;
    }
    return dwarf_filesrc(files, index, NULL, NULL);
}
