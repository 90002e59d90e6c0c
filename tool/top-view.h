/*
 * top-view.h: the screens of `cflow top` (cmd-top.c): one profile drawn as its hottest
 * functions, source lines or edges, a page of text cut to the terminal. Kept apart from the
 * terminal handling so that a snapshot (--once, or output that is no terminal) is the same text.
 */
#ifndef CFLOW_TOP_VIEW_H
#define CFLOW_TOP_VIEW_H

#include <glib.h>

#include "profile.h"
#include "srcline.h"

typedef enum { CFLOW_TOP_FUNCTIONS, CFLOW_TOP_LINES, CFLOW_TOP_EDGES, CFLOW_TOP_VIEWS } CflowTopView;

/* "functions", "lines", "edges". */
const char *cflow_top_view_name(CflowTopView v);
/* A view by its name or its key's letter (f, l, e); false if none. */
bool cflow_top_view_parse(const char *name, CflowTopView *v);

/*
 * View v of p (named through s, a CflowSrcline of p kept by the caller so that the files it
 * opens are read once per profile, not once per redraw): a line of column heads, then at most
 * `rows` rows (at least 1), hottest first (functions and lines by instructions executed, edges
 * by count), with each one's share of the whole. Every line is cut to `width` columns (0: not
 * cut) and ends in '\n'.
 */
GString *cflow_top_render(const CflowProfile *p, CflowSrcline *s, CflowTopView v, unsigned rows,
                          unsigned width);

#endif
