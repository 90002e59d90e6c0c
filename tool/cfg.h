/*
 * cfg.h: guest basic blocks rebuilt from a profile, for dot and annotate.
 *
 * QEMU's translation blocks are not basic blocks: they overlap (a branch into the middle of
 * one starts another), and they also end at page boundaries and other places where control
 * does not branch. A basic block here starts at a leader (any translation block start or edge
 * target) or after a gap in the instructions, and ends at an instruction that ends a
 * translation block with a branch or fall-through edge, or just before the next leader.
 */
#ifndef CFLOW_CFG_H
#define CFLOW_CFG_H

#include "profile.h"
#include "srcline.h"
#include "stats.h"

typedef struct {
    uint64_t start, end; /* [start, end) */
    uint32_t first, n;   /* slice of CflowCfg.order */
    uint64_t execs;      /* times its first instruction ran */
} CflowBasicBlock;

#define CFLOW_CFG_OUTSIDE UINT32_MAX

typedef struct {
    uint32_t from, to;   /* basic blocks; `to` is CFLOW_CFG_OUTSIDE if not selected */
    uint64_t to_addr;
    uint64_t count;
    CflowEdgeKind kind;
    bool implicit;       /* straight-line flow into a block split off by a leader */
    /*
     * From a block that ends in a call to the block where the call returns (the instruction
     * after the call): cflow_cfg_add_call_returns. `count` is the returns that landed there;
     * `callee` the call's most frequent target, `callees` how many distinct ones it had.
     */
    bool call_return;
    bool call;           /* a branch out of a call instruction: to the function called */
    uint64_t callee;
    uint32_t callees;
} CflowCfgEdge;

typedef struct {
    GArray *order;  /* uint32_t: the selected instructions by address, generation */
    GArray *blocks; /* CflowBasicBlock, in address order */
    GArray *edges;  /* CflowCfgEdge */
    uint32_t *block_of; /* instruction index -> basic block, or CFLOW_CFG_OUTSIDE */
    GHashTable *starts; /* start address (uint64_t *) -> basic block + 1 (oldest generation) */
} CflowCfg;

/*
 * The instructions of the function named `function` (as srcline names them), for
 * cflow_cfg_build: selected[i] for each instruction of p (g_free it); NULL when none is. A
 * function that never ran but as code inlined elsewhere is that code, all its instances.
 */
bool *cflow_cfg_select_function(const CflowProfile *p, CflowSrcline *s, const char *function);
/* The same without the inlined code: only the function's own (NULL if none of it ran). */
bool *cflow_cfg_select_own(const CflowProfile *p, CflowSrcline *s, const char *function);

/* One inlined instance of a function: its name with its callers, its instructions. */
typedef struct {
    const char *name;  /* cflow_srcline_chain_name's, owned by the CflowSrcline */
    bool *selected;    /* as cflow_cfg_select_function's */
    uint64_t first;    /* its lowest address */
} CflowCfgInstance;

/*
 * The instances of code inlined from `function` (the chain's innermost level by that name),
 * by lowest address; an empty array when there is none. Frees what it holds.
 */
GArray *cflow_cfg_inlined_instances(const CflowProfile *p, CflowSrcline *s,
                                    const char *function);

/* `selected[i]` says whether instruction i belongs in the graph (NULL: all of them). */
CflowCfg *cflow_cfg_build(const CflowProfile *p, const CflowInsnStats *st, const bool *selected);

/*
 * Joins a function's graph across its calls: an edge (call_return) from every block that ends
 * in a call instruction (arch.h's class, by the profile's meta "arch") to the block that starts
 * at the instruction after the call, if that block is in the graph. Its count is the number of
 * transfers from return instructions that landed there (the profile's branch edges out of
 * returns); where the architecture's returns cannot be told apart (no branch edge of the
 * profile leaves a return), the call's own count instead. A call site never returned to (exit,
 * longjmp) gets no edge. Appended after the edges cflow_cfg_build made, whose branches out of
 * call instructions it marks (`call`).
 */
void cflow_cfg_add_call_returns(CflowCfg *g, const CflowProfile *p);

void cflow_cfg_free(CflowCfg *g);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CflowCfg, cflow_cfg_free)

#endif
