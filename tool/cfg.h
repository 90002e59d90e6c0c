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
} CflowCfgEdge;

typedef struct {
    GArray *order;  /* uint32_t: the selected instructions by address, generation */
    GArray *blocks; /* CflowBasicBlock, in address order */
    GArray *edges;  /* CflowCfgEdge */
    uint32_t *block_of; /* instruction index -> basic block, or CFLOW_CFG_OUTSIDE */
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
void cflow_cfg_free(CflowCfg *g);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CflowCfg, cflow_cfg_free)

#endif
