/*
 * emit.h: the small pieces of JSON and CSV the tool's machine-readable outputs are made of,
 * written the way profile/json.c writes them (addresses as "0x..." strings, the same edge
 * objects), so a script reads one style everywhere.
 */
#ifndef CFLOW_EMIT_H
#define CFLOW_EMIT_H

#include "profile.h"

/* A JSON string literal; bytes that are not valid UTF-8 become \u00XX (Latin-1). NULL: null */
void cflow_emit_json_string(GString *out, const char *s);
/* "0x..." in quotes */
void cflow_emit_json_addr(GString *out, uint64_t addr);
/* {"from": "0x..", "to": "0x..", "kind": "branch", "count": N, "from_generation": G} */
void cflow_emit_json_edge(GString *out, const CflowProfile *p, const CflowEdge *e);
/* One CSV field (RFC 4180 quoting when needed); NULL is empty. */
void cflow_emit_csv_field(GString *out, const char *s);

#endif
