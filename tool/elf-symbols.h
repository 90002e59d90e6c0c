/*
 * elf-symbols.h: the function names of a module's symbol table, indexed once by address.
 *
 * libdwfl's dwfl_module_addrinfo reads the whole symbol table for every address it is asked
 * about: `cflow report --by function` of a python3 profile (130,000 instructions, a binary
 * with no DWARF and 12,000 symbols) took 6 s, three quarters of it there. The index answers
 * the common case itself, an address inside exactly one sized symbol (or inside aliases of one:
 * the same start and size), the way libdwfl would; every other address (several symbols around
 * it, assembly labels without a size, none) is still asked of libdwfl, whose rules for those
 * are its own. tests/tool/test_elf_symbols.c holds the index to libdwfl's answers.
 */
#ifndef CFLOW_ELF_SYMBOLS_H
#define CFLOW_ELF_SYMBOLS_H

#include <elfutils/libdwfl.h>
#include <glib.h>
#include <stdint.h>

typedef struct CflowSymIndex CflowSymIndex;

/* Reads the symbol table of mod (which must outlive the index) once, now. */
CflowSymIndex *cflow_sym_index_new(Dwfl_Module *mod);
/*
 * The name of the symbol module address `a` is in, as dwfl_module_addrinfo names it, and in
 * *offset how far into it `a` is; NULL when it has none. The name is libdwfl's.
 */
const char *cflow_sym_index_name(CflowSymIndex *x, GElf_Addr a, GElf_Off *offset);
/* The same, but NULL for a name that names no function: empty, or a mapping symbol ("$x"). */
const char *cflow_sym_index_function(CflowSymIndex *x, GElf_Addr a, GElf_Off *offset);
/* How many of its answers the index gave itself, without libdwfl (for the tests). */
uint64_t cflow_sym_index_answered(const CflowSymIndex *x);
void cflow_sym_index_free(CflowSymIndex *x);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CflowSymIndex, cflow_sym_index_free)

#endif
