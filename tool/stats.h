/*
 * stats.h: figures derived from a profile's records for the tool's views: per instruction
 * (executions, out-edge totals by kind) and per function or source line (report --by, diff).
 */
#ifndef CFLOW_STATS_H
#define CFLOW_STATS_H

#include "profile.h"
#include "srcline.h"

typedef struct {
    /*
     * Times executed: the sum of the counts of the blocks holding the instruction. A block
     * left early (a fault) counts its later instructions too; blocks are not split at faults.
     */
    uint64_t execs;
    uint64_t out[CFLOW_EDGE_KIND_COUNT]; /* transfers out of it, by kind */
    uint32_t branch_dests;               /* distinct branch targets */
} CflowInsnStats;

/* One entry per instruction of p (g_free it). */
CflowInsnStats *cflow_insn_stats(const CflowProfile *p);

/*
 * What instruction i does with control (arch.h's one classifier, through d): from its bytes
 * where the profile keeps them and has no text of its own (the text would be made from those
 * bytes), else from its disassembly text.
 */
void cflow_insn_transfer(const CflowProfile *p, const CflowDecoder *d, uint32_t i,
                         CflowTransfer *t);
/* Only its class. */
CflowInsnClass cflow_insn_class(const CflowProfile *p, const CflowDecoder *d, uint32_t i);

/* Exceptions, interrupts, host calls and early exits together. */
uint64_t cflow_stats_exceptions(const CflowInsnStats *s);

typedef enum { CFLOW_GROUP_FUNCTION, CFLOW_GROUP_LINE } CflowGroupBy;

typedef struct {
    const char *function; /* owned by the CflowSrcline */
    const char *file;     /* NULL in a function group, or a line unknown */
    unsigned line;
    const char *where;    /* "file.c:12" (base name), NULL if no line */
    uint64_t first_addr;  /* lowest instruction address */
    uint64_t function_start; /* the function's entry (function groups), else 0; an inlined
                              * instance's DWARF entry pc */
    const CflowInlineFrame *inlined; /* an inlined instance (grouped with inlines only): its
                                      * innermost level (function, declaration); else NULL */
    uint64_t entries;     /* function: transfers to its entry; inlined instance: times control
                           * came into its code from outside it; line: transfers into it from
                           * another line */
    uint64_t execs;       /* instruction executions */
    uint64_t out[CFLOW_EDGE_KIND_COUNT];
    uint32_t branch_dests;
    int64_t biased;       /* the most biased conditional branch (insn index), or -1 */
    uint64_t biased_taken, biased_fallthrough;
} CflowGroup;

/* |taken ratio - 1/2| of a group's most biased branch (0 without one). */
double cflow_group_bias(const CflowGroup *g);

/*
 * The instructions of p grouped by function or source line (instructions without a known line
 * form one group per function). With `inlines`, inlined code is grouped by its inlined
 * instance instead of the function it was inlined in, named with its callers
 * (cflow_srcline_inline_name), and a line of it by line and instance. `function`, if not NULL,
 * keeps only that function's code (with `inlines`, also the code inlined from it). Unsorted.
 */
GPtrArray *cflow_groups(const CflowProfile *p, CflowSrcline *s, const CflowInsnStats *st,
                        CflowGroupBy by, const char *function, bool inlines);

#endif
