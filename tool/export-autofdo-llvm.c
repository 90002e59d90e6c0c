/*
 * export-autofdo-llvm.c: `cflow export autofdo-llvm`: LLVM's text sample profile, for
 * `clang -fprofile-sample-use=FILE` (or `llvm-profdata merge --sample` to its binary form).
 *
 *   NAME:TOTAL:HEAD                 a function: all its counts summed, the calls into it
 *    OFFSET[.DISC]: COUNT [T:N ...]  executions at line OFFSET from the declaration line,
 *                                    and the calls made there to each target T
 *    OFFSET[.DISC]: CALLEE:TOTAL     a function inlined at that call site, its own lines
 *     ...                            below it, one space deeper
 *
 * The counts are exact executions (autofdo.h), which the compiler reads as samples.
 */
#include <inttypes.h>

#include "autofdo.h"

static void write_position(FILE *out, int depth, uint32_t offset, uint32_t discriminator)
{
    fprintf(out, "%*s%" PRIu32, depth, "", offset);
    if (discriminator) {
        fprintf(out, ".%" PRIu32, discriminator);
    }
    fputs(": ", out);
}

static void write_body(FILE *out, const CflowAfdoFunction *f, int depth)
{
    for (guint i = 0; i < f->positions->len; i++) {
        const CflowAfdoPos *pos = g_ptr_array_index(f->positions, i);
        write_position(out, depth, pos->offset, pos->discriminator);
        fprintf(out, "%" PRIu64, pos->count);
        for (guint k = 0; k < pos->targets->len; k++) {
            const CflowAfdoTarget *t = &g_array_index(pos->targets, CflowAfdoTarget, k);
            fprintf(out, " %s:%" PRIu64, t->name, t->count);
        }
        fputc('\n', out);
    }
    for (guint i = 0; i < f->callsites->len; i++) {
        const CflowAfdoCallsite *c = g_ptr_array_index(f->callsites, i);
        write_position(out, depth, c->offset, c->discriminator);
        fprintf(out, "%s:%" PRIu64 "\n", c->callee->name, c->callee->total);
        write_body(out, c->callee, depth + 1);
    }
}

bool cflow_afdo_write_llvm(const CflowAfdo *a, FILE *out, GError **error)
{
    for (guint i = 0; i < a->functions->len; i++) {
        const CflowAfdoFunction *f = g_ptr_array_index(a->functions, i);
        fprintf(out, "%s:%" PRIu64 ":%" PRIu64 "\n", f->name, f->total, f->head);
        write_body(out, f, 1);
    }
    return cflow_export_written(out, error);
}

CFLOW_AFDO_EXPORT_FORMAT(cflow_export_autofdo_llvm, CFLOW_AFDO_FOR_LLVM, cflow_afdo_write_llvm,
                         "autofdo-llvm", "LLVM sample profile, text (clang -fprofile-sample-use)", false);
