/*
 * srcline.h: guest address -> function and source line, for the tool's views.
 *
 * Addresses are turned into (file, offset) with the profile's `maps` meta, then into the
 * file's link-time address through its program headers, so the answer does not depend on
 * where the run happened to load things. Each file's DWARF (its own, or separate debug info
 * found by build-id, .gnu_debuglink, .debug/ or /usr/lib/debug) gives function and line; code
 * without DWARF falls back to ELF symbols (.symtab, then .dynsym), then to the symbol QEMU
 * recorded, then to the bare address. The plugin never needs any of this.
 */
#ifndef CFLOW_SRCLINE_H
#define CFLOW_SRCLINE_H

#include <stdbool.h>
#include <stdint.h>

#include "profile.h"

typedef enum {
    CFLOW_LOC_DWARF,   /* function and line from debug info */
    CFLOW_LOC_ELF,     /* function from an ELF symbol table, no line */
    CFLOW_LOC_QEMU,    /* the symbol QEMU recorded in the profile */
    CFLOW_LOC_ADDRESS, /* nothing known: the function is the address */
} CflowLocSource;

/*
 * One level of an address's inline chain, as `addr2line -i` prints it: the function whose code
 * the address is at this level, and where that function was inlined into the next level out.
 * Strings are owned by the CflowSrcline.
 */
typedef struct {
    const char *function;  /* its name (abstract origin followed), never NULL */
    const char *decl_file; /* where it is declared (DW_AT_decl_file), NULL if unknown */
    unsigned decl_line;    /* the line it is declared on (DW_AT_decl_line), 0 if unknown */
    uint64_t entry;        /* run-time address of this level's entry: the inlined instance's
                            * entry pc, the function's entry at the outermost level; 0 if
                            * unknown */
    const char *call_file; /* the call site inlined here, in the next level out (full path);
                            * NULL at the outermost level, which is a real function */
    unsigned call_line;    /* 0 if unknown or outermost */
    unsigned call_column;  /* DW_AT_call_column, 0 if unknown */
    unsigned discriminator; /* DW_AT_GNU_discriminator of the inlined instance, 0 if none */
} CflowInlineFrame;

typedef struct {
    const char *function; /* never NULL (at worst "0x..."); owned by the CflowSrcline */
    const char *file;     /* source file, NULL if unknown */
    unsigned line;        /* 0 if unknown */
    const char *object;   /* the ELF file holding the address, NULL if unknown */
    uint64_t function_start; /* run-time address of the function's entry, 0 if unknown */
    CflowLocSource source;
    unsigned column;        /* the line's column, 0 if unknown */
    unsigned discriminator; /* the line table's discriminator for the address, 0 if none */
    /* the inline chain, innermost first (see CflowInlineFrame); its last level is `function`;
     * n_frames is 1 for code that was not inlined and 0 without DWARF */
    const CflowInlineFrame *frames;
    unsigned n_frames;
} CflowLoc;

typedef struct CflowSrcline CflowSrcline;

/* Reads nothing yet: files are opened on first use. The profile must outlive the result. */
CflowSrcline *cflow_srcline_new(const CflowProfile *p);
void cflow_srcline_free(CflowSrcline *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CflowSrcline, cflow_srcline_free)
/*
 * Points s at p, keeping every file it opened and every address it looked up, when p is a
 * later profile of the same run (the same guest, its files mapped at the same places: `cflow
 * top` following dumps); false, and s unchanged, when it is not.
 */
bool cflow_srcline_rebind(CflowSrcline *s, const CflowProfile *p);

/* Where `addr` is; `qemu_symbol` (may be NULL) is the profile's symbol for it. Cached. */
const CflowLoc *cflow_srcline_lookup(CflowSrcline *s, uint64_t addr, const char *qemu_symbol);
/*
 * The inline chain of run-time address `addr` (innermost first: [0] is the function whose code
 * it is, [n-1] the real function it was inlined into; [i] was inlined into [i+1] at [i]'s call
 * site), and its length in *n (0 without DWARF, then NULL). Owned by s; cached like lookups.
 */
const CflowInlineFrame *cflow_srcline_inline_chain(CflowSrcline *s, uint64_t addr, unsigned *n);
/* The same for instruction `insn` of the profile. */
const CflowLoc *cflow_srcline_insn(CflowSrcline *s, uint32_t insn);

/*
 * The ELF file holding run-time address `addr` (a path owned by s) and its link-time address in
 * that file (*vaddr), through the profile's maps as for lookups; NULL when no file is known.
 */
const char *cflow_srcline_locate(CflowSrcline *s, uint64_t addr, uint64_t *vaddr);

/*
 * The elfutils module of the ELF file `path` (opened on first use, owned by s), with its DWARF
 * found as for lookups; *bias is what to add to a link-time address to get the module's
 * address. NULL if the file cannot be read.
 */
struct Dwfl_Module *cflow_srcline_module(CflowSrcline *s, const char *path, uint64_t *bias);

/*
 * A run-independent name of a run-time address: "path+0xOFFSET" in the file the profile's maps
 * put there, else "0xADDR". Newly allocated.
 */
char *cflow_srcline_file_offset(CflowSrcline *s, uint64_t addr);

/*
 * The name of an inline chain's innermost function with its callers kept in view (frames[0]
 * inlined into frames[1] and so on): "classify (inlined into main at wc.c:14)", each further
 * level ", into f at file:line"; just the function's name for a chain of one. Owned by s, one
 * copy per text.
 */
const char *cflow_srcline_chain_name(CflowSrcline *s, const CflowInlineFrame *frames,
                                     unsigned n);
/* The same for loc's chain: loc->function itself for code that was not inlined. */
const char *cflow_srcline_inline_name(CflowSrcline *s, const CflowLoc *loc);

/* Which addresses the views print (option --addresses of report, annotate and dot). */
typedef enum {
    CFLOW_ADDRESSES_RUN,  /* where the run had the code: the default */
    CFLOW_ADDRESSES_LINK, /* where the ELF file has it, what `objdump -d` of that file prints
                           * (the run-time address where no file is known) */
    CFLOW_ADDRESSES_BOTH, /* "0xRUN (0xLINK)", or one of them where they are the same */
} CflowAddresses;

/* "run", "link" or "both"; false for anything else. */
bool cflow_addresses_parse(const char *name, CflowAddresses *addresses);
/* What cflow_srcline_address prints from now on (CFLOW_ADDRESSES_RUN until told), and what
 * it prints now. */
void cflow_srcline_set_addresses(CflowSrcline *s, CflowAddresses addresses);
CflowAddresses cflow_srcline_addresses(const CflowSrcline *s);
/* Appends run-time address `addr` as the views print it: "0x..." (see CflowAddresses). */
void cflow_srcline_address(CflowSrcline *s, GString *out, uint64_t addr);

/* "file:line" with the file's base name, or NULL when the line is unknown (owned by s). */
const char *cflow_srcline_short(CflowSrcline *s, const CflowLoc *loc);
/* The text of a source line, if the file can be read (owned by s), else NULL. */
const char *cflow_srcline_text(CflowSrcline *s, const char *file, unsigned line);

#endif
