/* emit.c: JSON and CSV pieces for the tool's outputs (see emit.h). */
#include "emit.h"

#include <inttypes.h>
#include <string.h>

void cflow_emit_json_string(GString *out, const char *s)
{
    if (!s) {
        g_string_append(out, "null");
        return;
    }
    bool utf8 = g_utf8_validate(s, -1, NULL);
    g_string_append_c(out, '"');
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '"': g_string_append(out, "\\\""); break;
        case '\\': g_string_append(out, "\\\\"); break;
        case '\n': g_string_append(out, "\\n"); break;
        case '\r': g_string_append(out, "\\r"); break;
        case '\t': g_string_append(out, "\\t"); break;
        case '\b': g_string_append(out, "\\b"); break;
        case '\f': g_string_append(out, "\\f"); break;
        default:
            if (*c < 0x20 || *c == 0x7f || (*c >= 0x80 && !utf8)) {
                g_string_append_printf(out, "\\u%04x", *c);
            } else {
                g_string_append_c(out, (char)*c);
            }
        }
    }
    g_string_append_c(out, '"');
}

void cflow_emit_json_addr(GString *out, uint64_t addr)
{
    g_string_append_printf(out, "\"0x%" PRIx64 "\"", addr);
}

void cflow_emit_json_edge(GString *out, const CflowProfile *p, const CflowEdge *e)
{
    const CflowInsn *from = cflow_profile_insn(p, e->from);
    g_string_append(out, "{\"from\": ");
    cflow_emit_json_addr(out, from->addr);
    g_string_append(out, ", \"to\": ");
    cflow_emit_json_addr(out, e->to);
    g_string_append_printf(out, ", \"kind\": \"%s\", \"count\": %" PRIu64
                           ", \"from_generation\": %u}",
                           cflow_edge_kind_name((CflowEdgeKind)e->kind), e->count,
                           from->generation);
}

void cflow_emit_csv_field(GString *out, const char *s)
{
    if (!s) {
        return;
    }
    if (!strpbrk(s, ",\"\n\r")) {
        g_string_append(out, s);
        return;
    }
    g_string_append_c(out, '"');
    for (const char *c = s; *c; c++) {
        if (*c == '"') {
            g_string_append_c(out, '"');
        }
        g_string_append_c(out, *c);
    }
    g_string_append_c(out, '"');
}
