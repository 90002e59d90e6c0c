/* autofdo-scopes.c: the subprogram at an address (dwarf-index.c), inline scopes found under it. */
#include "autofdo-scopes.h"

#include <dwarf.h>

#include "dwarf-index.h"

struct CflowScopes {
    CflowDieIndex *subprograms;
};

CflowScopes *cflow_scopes_new(Dwfl_Module *mod)
{
    CflowScopes *s = g_new0(CflowScopes, 1);
    s->subprograms = cflow_die_index_new(mod, CFLOW_DIE_SUBPROGRAMS);
    return s;
}

void cflow_scopes_free(CflowScopes *s)
{
    if (s) {
        cflow_die_index_free(s->subprograms);
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
    Dwarf_Die sub;
    if (max < 1 || !cflow_die_index_find(s->subprograms, a, &sub, cubias) ||
        !dwarf_diecu(&sub, cu, NULL, NULL)) {
        return 0;
    }
    int n = 0;
    dies[n++] = sub;
    Dwarf_Die scope = sub, inner;
    while (n < max && inner_scope(&scope, a - *cubias, &inner)) {
        if (dwarf_tag(&inner) == DW_TAG_inlined_subroutine) {
            dies[n++] = inner;
        }
        scope = inner;
    }
    return n;
}

bool cflow_scopes_ambiguous(const CflowScopes *s, Dwarf_Addr a)
{
    return cflow_die_index_overlap(s->subprograms, a);
}
