/*
 * sort.h: the sort keys of cflow's reports, stated once, as perf's util/sort.c keeps its keys: one
 * table of keys (name, help, how each view compares and titles by it) for the plugin's report at
 * exit (profile/report.c, option sort=) and for `cflow report --sort` (tool/). A key serves two
 * views. The instruction view ranks source instructions by what their out-edges did (or, key
 * "edges", the edges themselves): the plugin's report and `cflow report --by insn`. The group view
 * ranks functions or source lines (`cflow report --by function|line`); it has two keys of its own,
 * entries and execs. A key's figures come from CflowSortCounts, which both views fill.
 */
#ifndef CFLOW_SORT_H
#define CFLOW_SORT_H

#include "profile.h"

/* The keys; the instruction view's come first. Values index cflow_sort_keys. */
typedef enum {
    CFLOW_SORT_HOTTEST,    /* source instructions with the most branches taken */
    CFLOW_SORT_EARLY,      /* most early exits */
    CFLOW_SORT_EXCEPTIONS, /* most exceptions, interrupts and host calls */
    CFLOW_SORT_POPULAR,    /* most distinct branch destinations */
    CFLOW_SORT_EDGES,      /* the hottest edges themselves */
    CFLOW_SORT_BIAS,       /* conditional branches by taken ratio */
    CFLOW_SORT_ENTRIES,    /* groups only: most entries */
    CFLOW_SORT_EXECS,      /* groups only: most instructions executed */
    CFLOW_SORT_KEYS
} CflowSort;
#define CFLOW_SORT_COUNT (CFLOW_SORT_BIAS + 1) /* the keys of the instruction view */

typedef enum { CFLOW_SORT_VIEW_INSN, CFLOW_SORT_VIEW_GROUP } CflowSortView;

/* What a key ranks by: the figures of one source instruction or of one group. */
typedef struct {
    uint64_t out[CFLOW_EDGE_KIND_COUNT]; /* transfers out, by kind */
    uint32_t branch_dests;               /* distinct branch destinations */
    uint64_t entries;                    /* groups: times entered */
    uint64_t execs;                      /* groups: instructions executed */
    double bias; /* groups: |taken ratio - 1/2| of the most biased conditional branch */
} CflowSortCounts;

/* <0 when x ranks before y, 0 for a tie (each view then orders by its own tie-breaks). */
typedef int (*CflowSortCompare)(const CflowSortCounts *x, const CflowSortCounts *y);

typedef struct {
    const char *name;
    const char *help; /* one line for help texts */
    /* The instruction view: insn_title NULL, not a key of that view. */
    const char *insn_title;
    CflowSortCompare insn_compare; /* NULL: the key ranks edges, not source instructions */
    /* The group view: group_title NULL, not a key of that view. */
    const char *group_title;
    CflowSortCompare group_compare;
    /*
     * Which source instructions the instruction view ranks at all (`floor`: see insn_floor); NULL:
     * those with a figure to rank by, which insn_compare puts before one without any.
     */
    bool (*insn_select)(const CflowSortCounts *c, uint64_t floor);
    /*
     * Ranks only conditional branches run at least 0.1% as often as all of them together (rare
     * ones would crowd the top with 1-of-2 ratios); the report says so under its title.
     */
    bool insn_floor;
    /* Figures of its own after a source instruction's counts in the text report, or NULL. */
    void (*insn_print)(GString *out, const CflowSortCounts *c);
} CflowSortKey;

extern const CflowSortKey cflow_sort_keys[CFLOW_SORT_KEYS];

/* The key named `name` in `view`; false if that view has none. */
bool cflow_sort_find(const char *name, CflowSortView view, CflowSort *sort);
/* The names of a view's keys, joined by `sep`, in table order (newly allocated). */
char *cflow_sort_names(CflowSortView view, const char *sep);
/* A help paragraph: one line per key, indented by `indent` (newly allocated). */
char *cflow_sort_help(unsigned indent);

const char *cflow_sort_name(CflowSort sort);
/* The instruction view's key named `name` ("hottest", ...); false if there is none. */
bool cflow_sort_parse(const char *name, CflowSort *sort);
/* Does the instruction view rank edges (not source instructions) by this key? */
bool cflow_sort_ranks_edges(CflowSort sort);

/* Is a source instruction with these figures ranked by `sort` (a key of the instruction view)? */
bool cflow_sort_selects(CflowSort sort, const CflowSortCounts *c, uint64_t floor);
/* A conditional branch: seen both taken and falling through, at least `floor` times. */
bool cflow_sort_conditional(const CflowSortCounts *c, uint64_t floor);

#endif
