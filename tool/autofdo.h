/*
 * autofdo.h: one binary's executions by source position, in the shape both AutoFDO formats
 * share (export-autofdo-llvm.c: LLVM's text sample profile; export-autofdo-gcc.c: GCC's .afdo).
 *
 * A function profile is a function as a compiler sees it in its source: its position counts are
 * keyed by (line - the line of the function's declaration, discriminator), so they survive edits
 * elsewhere in the file; the functions inlined into it hang off the position of their call
 * site, nested as deep as the inlining went. Counts are exact executions, not samples: a
 * position's count is the most executions of any one of its instructions (a line that spans
 * several basic blocks counts as its hottest one, as the compilers read it), a function's head
 * is how often it was called (entered by a call, or by a jump from another function: a tail
 * call), a call's targets are how often each function was called from there.
 *
 * Because the counts are exact, what did not run is known too: a position of a function that
 * ran (or of a callee inlined where it ran) that has code in the binary but never executed is
 * listed at 0 (cflow_afdo_build's zeros). Both compilers read a position the profile lacks as
 * unknown, to be guessed, and a listed 0 as never executed, which is what gives the branches
 * around it their direction. Functions that never ran are left out: the compilers take those
 * as cold already.
 */
#ifndef CFLOW_AUTOFDO_H
#define CFLOW_AUTOFDO_H

#include "export.h"

typedef struct {
    const char *name;
    uint64_t count;
} CflowAfdoTarget;

typedef struct {
    uint32_t offset;        /* source line - the function's declaration line */
    uint32_t discriminator; /* as the compiler reads it (clang: the base discriminator) */
    uint64_t count;
    GArray *targets;        /* CflowAfdoTarget, most calls first */
    bool indirect;          /* the targets were called indirectly (GCC keeps only those) */
} CflowAfdoPos;

typedef struct CflowAfdoFunction CflowAfdoFunction;

typedef struct {
    uint32_t offset, discriminator; /* of the call site, in the caller */
    CflowAfdoFunction *callee;
} CflowAfdoCallsite;

struct CflowAfdoFunction {
    const char *name;       /* linkage name (owned by the CflowAfdo) */
    unsigned decl_line;
    uint64_t total;         /* its position counts and its inlined callees' totals, summed */
    uint64_t head;          /* calls (top-level functions only) */
    GPtrArray *positions;   /* CflowAfdoPos *, by offset and discriminator */
    GPtrArray *callsites;   /* CflowAfdoCallsite *, by offset, discriminator, callee name */
    GHashTable *pos_index, *callsite_index; /* lookups while building */
};

typedef struct {
    GPtrArray *functions;   /* top-level CflowAfdoFunction *, hottest first */
    GStringChunk *names;
    GHashTable *by_name;    /* top-level functions by name */
} CflowAfdo;

/* Empty, for cflow_afdo_build and for tests that build one by hand. */
CflowAfdo *cflow_afdo_new(void);
void cflow_afdo_free(CflowAfdo *a);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CflowAfdo, cflow_afdo_free)

/* The top-level function `name` (made on first use), a callee inlined at a call site of f,
 * and a position of f (made on first use). */
CflowAfdoFunction *cflow_afdo_function(CflowAfdo *a, const char *name, unsigned decl_line);
CflowAfdoFunction *cflow_afdo_inlined(CflowAfdo *a, CflowAfdoFunction *f, uint32_t offset,
                                      uint32_t discriminator, const char *name,
                                      unsigned decl_line);
CflowAfdoPos *cflow_afdo_pos(CflowAfdoFunction *f, uint32_t offset, uint32_t discriminator);
/* The callee `name` inlined at that call site of f if the profile has it, else NULL; whether f
 * has any inlined call site at that position. */
CflowAfdoFunction *cflow_afdo_inlined_find(const CflowAfdoFunction *f, uint32_t offset,
                                           uint32_t discriminator, const char *name);
bool cflow_afdo_has_callsite_at(const CflowAfdoFunction *f, uint32_t offset,
                                uint32_t discriminator);
/* Adds calls to target `name` at position pos. */
void cflow_afdo_add_target(CflowAfdo *a, CflowAfdoPos *pos, const char *name, uint64_t calls);

/* Sorts everything into the order above and sums the totals. */
void cflow_afdo_finish(CflowAfdo *a);

/* How the position's discriminators are read for the consumer. */
typedef enum {
    CFLOW_AFDO_FOR_LLVM, /* clang's base discriminator (duplication factor multiplied in) */
    CFLOW_AFDO_FOR_GCC,  /* none: GCC 12 keys positions by line alone (it reads the
                          * discriminator bits of a position as 0), so a line is one position */
} CflowAfdoFlavour;

/*
 * The profile of the binary the export selects (--binary, else the guest), from its DWARF:
 * an error naming the file when it has no line information for the code that ran, or when its
 * code is not the code the profile recorded (another build at the same path). The positions
 * that never ran are listed at 0 unless x->afdo_no_zeros.
 */
CflowAfdo *cflow_afdo_build(CflowExport *x, CflowAfdoFlavour flavour, GError **error);

/* clang's base discriminator of DWARF discriminator d, and its duplication factor. */
unsigned cflow_afdo_llvm_discriminator(unsigned d, unsigned *factor);

/* The export's profile in x->prepared, built on first use (the formats' prepare()). */
bool cflow_afdo_prepare(CflowExport *x, CflowAfdoFlavour flavour, GError **error);

/* The writers: LLVM's text sample profile, GCC's .afdo (export-autofdo-{llvm,gcc}.c). */
bool cflow_afdo_write_llvm(const CflowAfdo *a, FILE *out, GError **error);
bool cflow_afdo_write_gcc(const CflowAfdo *a, FILE *out, GError **error);

/*
 * The export format `ident` (export.h's table row): the two AutoFDO formats differ only in how
 * the profile is read for their compiler (flavour) and in its writer, so this one definition
 * makes both: prepare() builds the profile, write() writes it (preparing it first if the
 * caller did not).
 */
#define CFLOW_AFDO_EXPORT_FORMAT(ident, flavour, writer, name, summary, binary_output)        \
    static bool ident##_prepare(CflowExport *x, GError **error)                              \
    {                                                                                         \
        return cflow_afdo_prepare(x, flavour, error);                                         \
    }                                                                                         \
    static bool ident##_write(CflowExport *x, FILE *out, GError **error)                      \
    {                                                                                         \
        return ident##_prepare(x, error) && writer(x->prepared, out, error);                  \
    }                                                                                         \
    const CflowExportFormat ident = {name, summary, binary_output, ident##_write,            \
                                     ident##_prepare}

#endif
