/*
 * json.c: the JSON form of a profile (docs/profile-format.md, "JSON form").
 *
 * One meta entry, edge, insn or block per line, so two dumps diff well. Numbers and addresses
 * are formatted by hand into a local buffer: printf would dominate the time for millions of
 * edges.
 */
#include "profile.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

typedef struct {
    FILE *f;
    size_t n;
    bool failed;
    int err;
    char buf[1 << 16];
} Out;

static void out_flush(Out *o)
{
    if (o->n > 0 && !o->failed && fwrite(o->buf, 1, o->n, o->f) != o->n) {
        o->failed = true;
        o->err = errno != 0 ? errno : EIO;
    }
    o->n = 0;
}

/* Room for n more bytes (n is always small: at most one escaped character or one number). */
static inline char *out_reserve(Out *o, size_t n)
{
    if (sizeof o->buf - o->n < n) {
        out_flush(o);
    }
    return o->buf + o->n;
}

static void out_mem(Out *o, const char *s, size_t len)
{
    while (len > 0) {
        if (o->n == sizeof o->buf) {
            out_flush(o);
        }
        size_t k = MIN(len, sizeof o->buf - o->n);
        memcpy(o->buf + o->n, s, k);
        o->n += k;
        s += k;
        len -= k;
    }
}

static inline void out_str(Out *o, const char *s)
{
    out_mem(o, s, strlen(s));
}

static void out_u64(Out *o, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    char *d = out_reserve(o, sizeof tmp);
    memcpy(d, tmp + i, sizeof tmp - i);
    o->n += sizeof tmp - i;
}

/* "0x" and lower-case hex digits without leading zeros, in quotes. */
static void out_addr(Out *o, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[16];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = digits[v & 15];
        v >>= 4;
    } while (v != 0);
    char *d = out_reserve(o, sizeof tmp + 4);
    d[0] = '"';
    d[1] = '0';
    d[2] = 'x';
    memcpy(d + 3, tmp + i, sizeof tmp - i);
    d[3 + sizeof tmp - i] = '"';
    o->n += 4 + sizeof tmp - i;
}

/*
 * Length of the well-formed UTF-8 sequence at s (Unicode table 3-7: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0. s is NUL-terminated and NUL is never a
 * continuation byte, so reading ahead stops at the end of the string.
 */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range */
    size_t n;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        lo = c == 0xe0 ? 0xa0 : lo; /* overlong */
        hi = c == 0xed ? 0x9f : hi; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        lo = c == 0xf0 ? 0x90 : lo; /* overlong */
        hi = c == 0xf4 ? 0x8f : hi; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf) {
            return 0;
        }
    }
    return n;
}

/*
 * A JSON string. Quotes, backslashes and control characters are escaped; well-formed UTF-8 is
 * copied; any other byte B (>= 0x80) becomes \u00BB, i.e. it is read as Latin-1, so the output
 * is always valid UTF-8 and no byte is silently dropped.
 */
static void out_json_string(Out *o, const char *str)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    *out_reserve(o, 1) = '"';
    o->n++;
    for (;;) {
        /* Copy the run of characters that need nothing. */
        const unsigned char *run = s;
        while (*s >= 0x20 && *s < 0x7f && *s != '"' && *s != '\\') {
            s++;
        }
        out_mem(o, (const char *)run, (size_t)(s - run));
        unsigned char c = *s;
        if (c == 0) {
            break;
        }
        char *d = out_reserve(o, 6);
        size_t k;
        if (c >= 0x80 && (k = utf8_len(s)) != 0) {
            memcpy(d, s, k);
            o->n += k;
            s += k;
            continue;
        }
        d[0] = '\\';
        switch (c) {
        case '"': d[1] = '"'; o->n += 2; break;
        case '\\': d[1] = '\\'; o->n += 2; break;
        case '\n': d[1] = 'n'; o->n += 2; break;
        case '\r': d[1] = 'r'; o->n += 2; break;
        case '\t': d[1] = 't'; o->n += 2; break;
        case '\b': d[1] = 'b'; o->n += 2; break;
        case '\f': d[1] = 'f'; o->n += 2; break;
        default:
            memcpy(d + 1, "u00", 3);
            d[4] = hex[c >> 4];
            d[5] = hex[c & 15];
            o->n += 6;
            break;
        }
        s++;
    }
    *out_reserve(o, 1) = '"';
    o->n++;
}

bool cflow_profile_write_json(const CflowProfile *p, FILE *out, GError **error)
{
    g_return_val_if_fail(p != NULL && out != NULL, false);
    if (!cflow_profile_validate(p, error)) {
        return false;
    }
    Out *o = g_new(Out, 1);
    o->f = out;
    o->n = 0;
    o->failed = false;
    o->err = 0;

    out_str(o, "{\n\"meta\": {");
    for (guint i = 0; i < p->meta->len; i++) {
        const CflowMeta *m = &g_array_index(p->meta, CflowMeta, i);
        out_str(o, i == 0 ? "\n  " : ",\n  ");
        out_json_string(o, cflow_profile_string(p, m->key));
        out_str(o, ": ");
        out_json_string(o, cflow_profile_string(p, m->value));
    }
    out_str(o, p->meta->len > 0 ? "\n},\n" : "},\n");

    const CflowInsn *insns = (const CflowInsn *)(void *)p->insns->data;
    out_str(o, "\"edges\": [");
    for (guint i = 0; i < p->edges->len; i++) {
        const CflowEdge *e = cflow_profile_edge(p, i);
        const CflowInsn *from = &insns[e->from];
        out_str(o, i == 0 ? "\n  {\"from\": " : ",\n  {\"from\": ");
        out_addr(o, from->addr);
        out_str(o, ", \"to\": ");
        out_addr(o, e->to);
        out_str(o, ", \"kind\": \"");
        out_str(o, cflow_edge_kind_name((CflowEdgeKind)e->kind));
        out_str(o, "\", \"count\": ");
        out_u64(o, e->count);
        out_str(o, ", \"from_generation\": ");
        out_u64(o, from->generation);
        out_str(o, "}");
    }
    out_str(o, p->edges->len > 0 ? "\n],\n" : "],\n");

    out_str(o, "\"insns\": [");
    for (guint i = 0; i < p->insns->len; i++) {
        const CflowInsn *in = &insns[i];
        out_str(o, i == 0 ? "\n  {\"addr\": " : ",\n  {\"addr\": ");
        out_addr(o, in->addr);
        out_str(o, ", \"size\": ");
        out_u64(o, in->size);
        out_str(o, ", \"generation\": ");
        out_u64(o, in->generation);
        out_str(o, ", \"disas\": ");
        out_json_string(o, cflow_profile_insn_disas(p, cflow_profile_insn_index(p, in)));
        out_str(o, ", \"symbol\": ");
        if (in->symbol == CFLOW_NO_STRING) {
            out_str(o, "null");
        } else {
            out_json_string(o, cflow_profile_string(p, in->symbol));
        }
        if (p->insn_priv && p->insn_priv->len > 0) {
            out_str(o, ", \"priv\": \"");
            out_str(o, cflow_priv_name(cflow_profile_insn_priv(p, i)));
            out_str(o, "\"");
        }
        out_str(o, "}");
    }
    out_str(o, p->insns->len > 0 ? "\n],\n" : "],\n");

    const uint32_t *bi = (const uint32_t *)(void *)p->block_insns->data;
    out_str(o, "\"blocks\": [");
    for (guint i = 0; i < p->blocks->len; i++) {
        const CflowBlock *b = cflow_profile_block(p, i);
        out_str(o, i == 0 ? "\n  {\"addr\": " : ",\n  {\"addr\": ");
        out_addr(o, b->addr);
        out_str(o, ", \"count\": ");
        out_u64(o, b->count);
        out_str(o, ", \"insns\": [");
        for (uint32_t k = 0; k < b->n_insns; k++) {
            if (k > 0) {
                out_str(o, ", ");
            }
            out_addr(o, insns[bi[b->first + k]].addr);
        }
        out_str(o, "]}");
    }
    out_str(o, p->blocks->len > 0 ? "\n]\n}\n" : "]\n}\n");

    out_flush(o);
    bool ok = !o->failed;
    int err = o->err;
    g_free(o);
    if (ok && fflush(out) != 0) {
        ok = false;
        err = errno;
    }
    if (!ok) {
        g_set_error(error, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_IO, "writing JSON: %s",
                    g_strerror(err));
    }
    return ok;
}

static bool json_body(const void *what, FILE *f, GError **error)
{
    return cflow_profile_write_json(what, f, error);
}

bool cflow_profile_write_json_to(const CflowProfile *p, const CflowPlace *place, GError **error)
{
    g_return_val_if_fail(p != NULL && place != NULL, false);
    return cflow_write_place(place, json_body, p, error);
}

bool cflow_profile_write_json_file(const CflowProfile *p, const char *path, GError **error)
{
    g_return_val_if_fail(p != NULL && path != NULL, false);
    return cflow_write_file_atomic(path, json_body, p, error);
}
