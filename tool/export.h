/*
 * export.h: what `cflow export` (cmd-export.c) gives each format's writer (export-<format>.c):
 * the profile with its per-instruction figures, the mapped files ("modules") the run executed
 * code from, every instruction's module and link-time address in that module's file, and the
 * classification of instructions (call, return, conditional branch: arch.h).
 *
 * Addresses in an export are file-relative wherever the consumer works on files (BOLT, lcov,
 * callgrind): the ELF vaddr of the instruction in its own file, found through the profile's
 * `maps` and the file's program headers exactly as srcline.c does for source lines, so a PIE or
 * a shared library exports the same addresses wherever it was loaded.
 */
#ifndef CFLOW_EXPORT_H
#define CFLOW_EXPORT_H

#include <stdio.h>

#include "arch.h"
#include "profile.h"
#include "srcline.h"
#include "stats.h"

#define CFLOW_NO_MODULE UINT32_MAX

typedef struct {
    const char *path; /* the ELF file (owned by the CflowExport) */
    uint64_t base;    /* run-time address of the file's offset 0 (drcov's module base) */
    uint64_t end;     /* end of its last mapping */
    uint64_t executed; /* instruction executions in it */
} CflowExportModule;

typedef struct {
    const CflowProfile *p;
    CflowSrcline *s;
    CflowInsnStats *st;
    const char *arch;     /* meta.arch, "" if absent */
    CflowDecoder decoder; /* its byte decoder, for cflow_export_classify */
    GArray *modules;      /* CflowExportModule, in meta.maps order (the guest first if no maps) */
    uint32_t *module_of;  /* insn index -> module index, or CFLOW_NO_MODULE */
    uint64_t *vaddr;      /* insn index -> link-time address in its module (run-time if none) */
    GStringChunk *strings;
    GHashTable *execs_index; /* cflow_export_execs_at's, built on first use */
    /* options (cmd-export.c) */
    const char *binary;   /* --binary: the one ELF file to export, NULL for the format's default */
    const char *hits;     /* drcov --hits FILE */
    const char *test_name; /* lcov TN: */
    bool all_cus;         /* lcov: every compile unit, not only those whose code ran */
    bool all_sources;     /* lcov: keep source files that cannot be read here */
    bool afdo_no_zeros;   /* autofdo: leave out the positions that never ran (--no-zeros) */
    void *prepared;       /* a format's prepare(), freed with prepared_free */
    GDestroyNotify prepared_free;
} CflowExport;

/* One format: its name, a one-line summary and its writer (false + error on failure). */
typedef struct {
    const char *name;
    const char *summary;
    bool binary_output; /* never written to a terminal */
    bool (*write)(CflowExport *x, FILE *out, GError **error);
    /* optional: what the writer needs, made before the output is opened (x->prepared), so
     * that a binary the format cannot use is said as such, not as an output not written */
    bool (*prepare)(CflowExport *x, GError **error);
} CflowExportFormat;

extern const CflowExportFormat cflow_export_bolt, cflow_export_lcov, cflow_export_callgrind,
    cflow_export_drcov, cflow_export_autofdo_llvm, cflow_export_autofdo_gcc;

/* Builds modules and the per-instruction tables. */
CflowExport *cflow_export_new(const CflowProfile *p);
void cflow_export_free(CflowExport *x);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CflowExport, cflow_export_free)

/*
 * The module --binary names (matched by path, by the file it resolves to, then by base name),
 * or with no --binary the main guest (meta.guest); CFLOW_NO_MODULE with a message in error.
 */
uint32_t cflow_export_select(CflowExport *x, GError **error);

/* What the instruction does (arch.h's class), from its bytes or its disassembly, by the
 * profile's architecture. */
CflowInsnClass cflow_export_classify(const CflowExport *x, uint32_t insn);
/* The same with the rest of what arch.h knows: whether a jump or call is direct, its target. */
void cflow_export_transfer(const CflowExport *x, uint32_t insn, CflowTransfer *t);

/* Executions of the instructions at link-time address vaddr of module m (all generations). */
uint64_t cflow_export_execs_at(CflowExport *x, uint32_t m, uint64_t vaddr);

/* The first and last instruction of a block that has instructions and ran; else false. */
bool cflow_export_block_ran(const CflowProfile *p, const CflowBlock *blk, uint32_t *first,
                            uint32_t *last);

/* After a writer's last line: false with "write error" if the stream failed. */
bool cflow_export_written(FILE *out, GError **error);

/* The keys of a hash table in a new array (GLib 2.74 lacks g_hash_table_get_keys_as_ptr_array). */
GPtrArray *cflow_export_keys(GHashTable *table);

#endif
