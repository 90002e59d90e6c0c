/*
 * dwarf-index.h: a module's DIEs indexed once by the address ranges they cover, so that the
 * DIE holding an address is a binary search away: its compile units (srcline.c, where
 * libdwfl's own lookup finds none: elfutils 0.188 finds units only through .debug_aranges,
 * which clang does not emit) and its subprograms (the AutoFDO export's scopes,
 * autofdo-scopes.c). Also what both, and the lcov export and srcline, read of DIEs: the walk
 * over a unit's subprograms, a DIE's numeric attributes, its name and its call site's file.
 */
#ifndef CFLOW_DWARF_INDEX_H
#define CFLOW_DWARF_INDEX_H

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <glib.h>

typedef enum {
    CFLOW_DIE_UNITS,       /* compile units, by DW_AT_low_pc/high_pc or DW_AT_ranges */
    CFLOW_DIE_SUBPROGRAMS, /* functions with code (C++ member functions included) */
} CflowDieKind;

typedef struct CflowDieIndex CflowDieIndex;

/* The DIEs of that kind in every unit of mod, each range of each (a function split into hot
 * and cold parts has two). */
CflowDieIndex *cflow_die_index_new(Dwfl_Module *mod, CflowDieKind kind);
void cflow_die_index_free(CflowDieIndex *x);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CflowDieIndex, cflow_die_index_free)

/* The DIE whose range holds module address a into *die, and its unit's bias (module address
 * = unit address + bias) into *cubias; false when none does. */
bool cflow_die_index_find(const CflowDieIndex *x, Dwarf_Addr a, Dwarf_Die *die,
                          Dwarf_Addr *cubias);
/* Does more than one range hold a (a function described twice, or nested ones), so that the
 * one cflow_die_index_find gives is not the only answer? */
bool cflow_die_index_overlap(const CflowDieIndex *x, Dwarf_Addr a);

/* Calls fn for every DW_TAG_subprogram under parent, looking into namespaces, classes and
 * structures (C++ member functions) but not into functions. */
void cflow_dwarf_each_subprogram(Dwarf_Die *parent, void (*fn)(Dwarf_Die *sub, void *data),
                                 void *data);

/* Attribute `at` of die (not followed to an abstract origin) as a number; 0 when absent. */
unsigned cflow_dwarf_udata(Dwarf_Die *die, unsigned at);

/* The name of a DIE, following DW_AT_abstract_origin and DW_AT_specification; NULL if none. */
const char *cflow_dwarf_name(Dwarf_Die *die);
/* The file of an inlined instance's DW_AT_call_file, from its unit's file table; NULL if none. */
const char *cflow_dwarf_call_file(Dwarf_Die *cu, Dwarf_Die *inlined);

#endif
