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
 * How a reader that knows more than the profile names what the report shows (the tool: names
 * from DWARF, ELF symbols and PLT stubs; link-time addresses). The plugin has only QEMU's
 * symbols and run-time addresses, which cflow_report prints.
 */
typedef struct {
    const char *(*function)(void *data, uint32_t insn);          /* the insn's function */
    void (*address)(void *data, GString *out, uint64_t address); /* an address as text */
    void *data;
} CflowReportNames;

/* cflow_report with `names` (NULL: as cflow_report). */
GString *cflow_report_named(const CflowProfile *p, CflowSort sort, unsigned topn,
                            const CflowReportNames *names);
/*
 * The entries `sort` ranks, best first, at most `topn` of them (0: all): edge indices for a key
 * that ranks edges (cflow_sort_ranks_edges), source instruction indices otherwise (the order
 * cflow_report prints).
 */
GArray *cflow_report_rank(const CflowProfile *p, CflowSort sort, unsigned topn);

#endif
