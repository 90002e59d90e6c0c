/*
 * autofdo-scopes.h: the function scopes around an address (the subprogram, then each inlined
 * subroutine inside it that holds the address), from an index of the binary's subprograms
 * built once. dwarf_getscopes walks a compile unit's top-level entries on every call, which on
 * one large unit (sqlite3.c: thousands of functions and types) costs that much per address.
 */
#ifndef CFLOW_AUTOFDO_SCOPES_H
#define CFLOW_AUTOFDO_SCOPES_H

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <glib.h>

typedef struct CflowScopes CflowScopes;

CflowScopes *cflow_scopes_new(Dwfl_Module *mod);
void cflow_scopes_free(CflowScopes *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CflowScopes, cflow_scopes_free)

/*
 * The scopes around module address a, outermost (the subprogram) first, at most max of them
 * into dies; their compile unit into *cu and its bias into *cubias. 0 when no subprogram holds
 * a.
 */
int cflow_scopes_at(CflowScopes *s, Dwarf_Addr a, Dwarf_Die *dies, int max, Dwarf_Die *cu,
                    Dwarf_Addr *cubias);

/* Do two subprograms hold module address a (cflow_die_index_overlap)? */
bool cflow_scopes_ambiguous(const CflowScopes *s, Dwarf_Addr a);

#endif
