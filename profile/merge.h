/*
 * merge.h: adding profiles together, in the profile library so the tool, the tests and later
 * tools share one definition of what a sum of profiles is.
 *
 * Merging is exact and order-free: every edge (source instruction by address and generation,
 * kind, target) and every block (address and instruction list) of the result counts the sum of
 * that edge's or block's counts in the inputs; the result is sorted canonically, so merging the
 * same inputs in any order or grouping gives the same edges, blocks and instructions. Only meta
 * depends on the order (the first input's descriptive keys are kept).
 *
 * An accumulator holds one record per distinct instruction, edge and block: fold inputs in one
 * at a time and free each before loading the next, and memory is bounded by the distinct edges
 * rather than by the number of inputs.
 */
#ifndef CFLOW_MERGE_H
#define CFLOW_MERGE_H

#include "profile.h"

G_BEGIN_DECLS

#define CFLOW_MERGE_ERROR (cflow_merge_error_quark())
GQuark cflow_merge_error_quark(void);
typedef enum {
    CFLOW_MERGE_ERROR_INCOMPATIBLE, /* different architecture, binary or code layout */
    CFLOW_MERGE_ERROR_OVERFLOW,     /* a sum does not fit 64 bits */
} CflowMergeError;

typedef struct CflowMerge CflowMerge;

CflowMerge *cflow_merge_new(void);
/*
 * Adds p's counts. Without `force`, refuses (CFLOW_MERGE_ERROR_INCOMPATIBLE, nothing added)
 * a profile whose meta `arch` or `guest` differs from the inputs before it, or whose `maps`
 * put the same file at another address. On OVERFLOW the accumulator is left partly updated.
 */
bool cflow_merge_add(CflowMerge *m, const CflowProfile *p, bool force, GError **error);
/* Number of profiles added so far. */
unsigned cflow_merge_inputs(const CflowMerge *m);
/* The sum, canonically ordered; frees the accumulator. */
CflowProfile *cflow_merge_finish(CflowMerge *m);
void cflow_merge_free(CflowMerge *m);

/* The sum of n profiles in one call (NULL with `error` set on refusal). */
CflowProfile *cflow_profile_merge(const CflowProfile *const *profiles, unsigned n, bool force,
                                  GError **error);

G_END_DECLS

#endif
