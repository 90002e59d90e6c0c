/*
 * report.h: the text views of a profile, shared by the plugin (report at exit) and the tool.
 */
#ifndef CFLOW_REPORT_H
#define CFLOW_REPORT_H

#include "profile.h"

typedef enum {
    CFLOW_SORT_HOTTEST,    /* source instructions with the most branches taken */
    CFLOW_SORT_EARLY,      /* most early exits */
    CFLOW_SORT_EXCEPTIONS, /* most exceptions, interrupts and host calls */
    CFLOW_SORT_POPULAR,    /* most distinct branch destinations */
    CFLOW_SORT_EDGES,      /* the hottest edges themselves */
    CFLOW_SORT_BIAS,       /* conditional branches by taken ratio */
} CflowSort;
#define CFLOW_SORT_COUNT (CFLOW_SORT_BIAS + 1)

const char *cflow_sort_name(CflowSort sort);
/* The sort named `name` ("hottest", ...); false if there is none. */
bool cflow_sort_parse(const char *name, CflowSort *sort);
/* The whole report as text: a summary, then the top `topn` entries of `sort`. */
GString *cflow_report(const CflowProfile *p, CflowSort sort, unsigned topn);
/*
 * The entries `sort` ranks, best first, at most `topn` of them (0: all): edge indices for
 * CFLOW_SORT_EDGES, source instruction indices otherwise (the order cflow_report prints).
 */
GArray *cflow_report_rank(const CflowProfile *p, CflowSort sort, unsigned topn);

#endif
