/*
 * report.h: the text views of a profile, shared by the plugin (report at exit) and the tool.
 * What they rank by is a sort key of sort.h.
 */
#ifndef CFLOW_REPORT_H
#define CFLOW_REPORT_H

#include "profile.h"
#include "sort.h"

/* The whole report as text: a summary, then the top `topn` entries of `sort`. */
GString *cflow_report(const CflowProfile *p, CflowSort sort, unsigned topn);
/*
 * The entries `sort` ranks, best first, at most `topn` of them (0: all): edge indices for a key
 * that ranks edges (cflow_sort_ranks_edges), source instruction indices otherwise (the order
 * cflow_report prints).
 */
GArray *cflow_report_rank(const CflowProfile *p, CflowSort sort, unsigned topn);

#endif
