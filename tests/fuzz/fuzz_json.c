/*
 * fuzz_json.c: fuzz target for the views of a profile that was read: the JSON writer
 * (cflow_profile_write_json, profile/json.c) and the text report (cflow_report).
 *
 * The library has no JSON reader (the JSON form is write-only, docs/profile-format.md), so the
 * round trip is checked here with a strict RFC 8259 parser of this file's own. The input is a
 * binary profile: parsed as it is, or if that is refused, after fuzz_fix_file() (see
 * fuzz_common.h). An accepted profile is written as JSON, and the text must be:
 *
 *   - valid UTF-8, strictly valid JSON, ending with a newline, with one line per meta entry,
 *     edge, insn and block;
 *   - exactly the four keys meta, edges, insns, blocks in that order, each record with exactly
 *     its documented keys in order;
 *   - field for field the profile: addresses as "0x" + lower-case hex without leading zeros,
 *     integers printed exactly, edge kinds and privilege levels by name (a "priv" key in every
 *     insn when the profile records levels, in none otherwise), symbol null for none, and
 *     every string escaped exactly as the format document says (compared as raw JSON text against an
 *     encoder written here from that description, and decoded back against the expected code
 *     points: well-formed UTF-8 kept, any other byte read as Latin-1).
 *
 * Then the text report is built for every sort order, with a topn taken from the input.
 */
#include "fuzz_common.h"
#include "report.h"

/* ------------------------------------------------------------------------------------------ */
/* A strict JSON parser: a tree of values, each with its raw text. */

typedef enum { J_NULL, J_TRUE, J_FALSE, J_NUM, J_STR, J_ARR, J_OBJ } JType;

typedef struct JVal {
    JType t;
    const char *raw; /* the value's text in the document (for a string: with its quotes) */
    size_t raw_len;
    GString *str;    /* J_STR: the decoded string (UTF-8) */
    GPtrArray *keys; /* J_OBJ: GString * decoded keys, in order */
    GPtrArray *items; /* J_ARR, J_OBJ: JVal *, in order */
} JVal;

static void jfree(gpointer v)
{
    JVal *j = v;
    if (j == NULL) {
        return;
    }
    if (j->str != NULL) {
        g_string_free(j->str, TRUE);
    }
    if (j->keys != NULL) {
        g_ptr_array_unref(j->keys);
    }
    if (j->items != NULL) {
        g_ptr_array_unref(j->items);
    }
    g_free(j);
}

static void gstring_free(gpointer s)
{
    g_string_free(s, TRUE);
}

typedef struct {
    const char *s, *end;
    int depth;
} JParser;

#define JFAIL(jp, what) FUZZ_CHECK(0, "invalid JSON at offset %zu: %s", \
                                   (size_t)((jp)->s - jp_start), what)
static const char *jp_start;

static void jws(JParser *jp)
{
    while (jp->s < jp->end && (*jp->s == ' ' || *jp->s == '\t' || *jp->s == '\n' ||
                               *jp->s == '\r')) {
        jp->s++;
    }
}

static bool jlit(JParser *jp, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(jp->end - jp->s) >= n && memcmp(jp->s, lit, n) == 0) {
        jp->s += n;
        return true;
    }
    return false;
}

static int jhex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static unsigned ju4(JParser *jp)
{
    if (jp->end - jp->s < 4) {
        JFAIL(jp, "short \\u escape");
    }
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = jhex(jp->s[i]);
        if (h < 0) {
            JFAIL(jp, "bad hex digit in \\u escape");
        }
        v = v << 4 | (unsigned)h;
    }
    jp->s += 4;
    return v;
}

/* A string at jp->s (its opening quote), decoded into out. The document is valid UTF-8. */
static void jstring(JParser *jp, GString *out)
{
    if (jp->s >= jp->end || *jp->s != '"') {
        JFAIL(jp, "expected a string");
    }
    jp->s++;
    for (;;) {
        if (jp->s >= jp->end) {
            JFAIL(jp, "unterminated string");
        }
        unsigned char c = (unsigned char)*jp->s;
        if (c == '"') {
            jp->s++;
            return;
        }
        if (c < 0x20) {
            JFAIL(jp, "control character in a string");
        }
        if (c != '\\') {
            const char *run = jp->s;
            while (jp->s < jp->end && *jp->s != '"' && *jp->s != '\\' &&
                   (unsigned char)*jp->s >= 0x20) {
                jp->s++;
            }
            g_string_append_len(out, run, jp->s - run);
            continue;
        }
        jp->s++;
        if (jp->s >= jp->end) {
            JFAIL(jp, "unterminated escape");
        }
        char e = *jp->s++;
        switch (e) {
        case '"': g_string_append_c(out, '"'); break;
        case '\\': g_string_append_c(out, '\\'); break;
        case '/': g_string_append_c(out, '/'); break;
        case 'b': g_string_append_c(out, '\b'); break;
        case 'f': g_string_append_c(out, '\f'); break;
        case 'n': g_string_append_c(out, '\n'); break;
        case 'r': g_string_append_c(out, '\r'); break;
        case 't': g_string_append_c(out, '\t'); break;
        case 'u': {
            unsigned u = ju4(jp);
            if (u >= 0xdc00 && u <= 0xdfff) {
                JFAIL(jp, "lone low surrogate");
            }
            if (u >= 0xd800 && u <= 0xdbff) {
                if (!jlit(jp, "\\u")) {
                    JFAIL(jp, "lone high surrogate");
                }
                unsigned lo = ju4(jp);
                if (lo < 0xdc00 || lo > 0xdfff) {
                    JFAIL(jp, "high surrogate without a low one");
                }
                u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
            }
            g_string_append_unichar(out, u);
            break;
        }
        default: JFAIL(jp, "unknown escape");
        }
    }
}

static JVal *jvalue(JParser *jp);

static JVal *jnew(JType t, const char *raw)
{
    JVal *v = g_new0(JVal, 1);
    v->t = t;
    v->raw = raw;
    return v;
}

static JVal *jvalue(JParser *jp)
{
    jws(jp);
    if (jp->s >= jp->end) {
        JFAIL(jp, "expected a value");
    }
    const char *start = jp->s;
    JVal *v;
    char c = *jp->s;
    if (c == '{' || c == '[') {
        if (++jp->depth > 64) {
            JFAIL(jp, "nested too deep");
        }
        bool obj = c == '{';
        v = jnew(obj ? J_OBJ : J_ARR, start);
        v->items = g_ptr_array_new_with_free_func(jfree);
        if (obj) {
            v->keys = g_ptr_array_new_with_free_func(gstring_free);
        }
        jp->s++;
        jws(jp);
        if (jp->s < jp->end && *jp->s == (obj ? '}' : ']')) {
            jp->s++;
        } else {
            for (;;) {
                if (obj) {
                    jws(jp);
                    GString *k = g_string_new(NULL);
                    jstring(jp, k);
                    g_ptr_array_add(v->keys, k);
                    jws(jp);
                    if (!jlit(jp, ":")) {
                        JFAIL(jp, "expected ':'");
                    }
                }
                g_ptr_array_add(v->items, jvalue(jp));
                jws(jp);
                if (jlit(jp, ",")) {
                    continue;
                }
                if (jlit(jp, obj ? "}" : "]")) {
                    break;
                }
                JFAIL(jp, obj ? "expected ',' or '}'" : "expected ',' or ']'");
            }
        }
        jp->depth--;
    } else if (c == '"') {
        v = jnew(J_STR, start);
        v->str = g_string_new(NULL);
        jstring(jp, v->str);
    } else if (jlit(jp, "null")) {
        v = jnew(J_NULL, start);
    } else if (jlit(jp, "true")) {
        v = jnew(J_TRUE, start);
    } else if (jlit(jp, "false")) {
        v = jnew(J_FALSE, start);
    } else {
        /* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
        const char *s = jp->s, *e = jp->end;
#define DIGIT(p) ((p) < e && *(p) >= '0' && *(p) <= '9')
        if (s < e && *s == '-') {
            s++;
        }
        if (s < e && *s == '0') {
            s++;
        } else if (DIGIT(s)) {
            while (DIGIT(s)) {
                s++;
            }
        } else {
            JFAIL(jp, "unexpected character");
        }
        if (s < e && *s == '.') {
            s++;
            if (!DIGIT(s)) {
                JFAIL(jp, "digits expected after '.'");
            }
            while (DIGIT(s)) {
                s++;
            }
        }
        if (s < e && (*s == 'e' || *s == 'E')) {
            s++;
            if (s < e && (*s == '+' || *s == '-')) {
                s++;
            }
            if (!DIGIT(s)) {
                JFAIL(jp, "digits expected in an exponent");
            }
            while (DIGIT(s)) {
                s++;
            }
        }
#undef DIGIT
        jp->s = s;
        v = jnew(J_NUM, start);
    }
    v->raw_len = (size_t)(jp->s - start);
    return v;
}

static JVal *jparse(const char *text, size_t len)
{
    JParser jp = {text, text + len, 0};
    jp_start = text;
    JVal *root = jvalue(&jp);
    jws(&jp);
    if (jp.s != jp.end) {
        JFAIL(&jp, "trailing characters after the document");
    }
    return root;
}

/* ------------------------------------------------------------------------------------------ */
/* What the JSON must say, written from docs/profile-format.md (not from json.c). */

/* Length of a well-formed UTF-8 sequence at s, by decoding it, or 0. s is NUL-terminated. */
static size_t wellformed_utf8(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp, min;
    if (c >= 0xc0 && c < 0xe0) {
        n = 2, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c < 0xf0) {
        n = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c < 0xf8) {
        n = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0; /* includes the terminating NUL */
        }
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return n;
}

static void append_u00(GString *json, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    const char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
    g_string_append_len(json, esc, 6);
}

/* The exact JSON text of a pool string (with quotes) and what it decodes to. */
static void expected_string(const char *str, GString *json, GString *decoded)
{
    const unsigned char *s = (const unsigned char *)str;
    g_string_append_c(json, '"');
    while (*s != 0) {
        unsigned char c = *s;
        size_t n;
        if (c >= 0x80 && (n = wellformed_utf8(s)) != 0) {
            g_string_append_len(json, (const char *)s, (gssize)n);
            g_string_append_len(decoded, (const char *)s, (gssize)n);
            s += n;
            continue;
        }
        if (c >= 0x80) {
            append_u00(json, c);
            g_string_append_unichar(decoded, c);
        } else {
            switch (c) {
            case '"': g_string_append(json, "\\\""); break;
            case '\\': g_string_append(json, "\\\\"); break;
            case '\n': g_string_append(json, "\\n"); break;
            case '\r': g_string_append(json, "\\r"); break;
            case '\t': g_string_append(json, "\\t"); break;
            case '\b': g_string_append(json, "\\b"); break;
            case '\f': g_string_append(json, "\\f"); break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    append_u00(json, c);
                } else {
                    g_string_append_c(json, (char)c);
                }
            }
            g_string_append_c(decoded, (char)c);
        }
        s++;
    }
    g_string_append_c(json, '"');
}

static const char *what_field;

static void check_raw(const JVal *v, JType t, const char *want)
{
    FUZZ_CHECK(v->t == t, "%s: JSON type %d, expected %d", what_field, v->t, t);
    FUZZ_CHECK(v->raw_len == strlen(want) && memcmp(v->raw, want, v->raw_len) == 0,
               "%s: JSON has %.*s, expected %s", what_field, (int)MIN(v->raw_len, 200),
               v->raw, want);
}

/* Expected JSON text and decoded text of pool strings, by offset (a string is often used by
 * many records: computed once per profile). */
typedef struct {
    GString *json, *decoded;
} Expected;

static GHashTable *expected_cache;

static void expected_free(gpointer e)
{
    Expected *x = e;
    g_string_free(x->json, TRUE);
    g_string_free(x->decoded, TRUE);
    g_free(x);
}

static const Expected *expected_of(const CflowProfile *p, uint32_t offset)
{
    Expected *x = g_hash_table_lookup(expected_cache, GUINT_TO_POINTER(offset + 1));
    if (x == NULL) {
        x = g_new(Expected, 1);
        x->json = g_string_new(NULL);
        x->decoded = g_string_new(NULL);
        expected_string(cflow_profile_string(p, offset), x->json, x->decoded);
        g_hash_table_insert(expected_cache, GUINT_TO_POINTER(offset + 1), x);
    }
    return x;
}

static void check_str(const JVal *v, const CflowProfile *p, uint32_t offset)
{
    const Expected *x = expected_of(p, offset);
    FUZZ_CHECK(v->t == J_STR, "%s: JSON type %d, expected a string", what_field, v->t);
    FUZZ_CHECK(v->raw_len == x->json->len && memcmp(v->raw, x->json->str, v->raw_len) == 0,
               "%s: JSON has %.*s, expected %.*s", what_field, (int)MIN(v->raw_len, 200),
               v->raw, (int)MIN(x->json->len, 200), x->json->str);
    FUZZ_CHECK(v->str->len == x->decoded->len &&
                   memcmp(v->str->str, x->decoded->str, x->decoded->len) == 0,
               "%s: string decodes to other text", what_field);
}

static void check_u64(const JVal *v, uint64_t n)
{
    char want[24];
    snprintf(want, sizeof want, "%" PRIu64, n);
    check_raw(v, J_NUM, want);
}

static void check_addr(const JVal *v, uint64_t a)
{
    char want[24];
    snprintf(want, sizeof want, "\"0x%" PRIx64 "\"", a);
    check_raw(v, J_STR, want);
}

/* v is an object with exactly these keys, in this order; returns its values. */
static JVal **check_keys(const JVal *v, const char *const *keys, unsigned n)
{
    FUZZ_CHECK(v->t == J_OBJ, "%s: not an object", what_field);
    FUZZ_CHECK(v->keys->len == n, "%s: %u keys, expected %u", what_field, v->keys->len, n);
    for (unsigned i = 0; i < n; i++) {
        const GString *k = g_ptr_array_index(v->keys, i);
        FUZZ_CHECK(strcmp(k->str, keys[i]) == 0 && k->len == strlen(keys[i]),
                   "%s: key %u is \"%s\", expected \"%s\"", what_field, i, k->str, keys[i]);
    }
    return (JVal **)v->items->pdata;
}

static void check_array(const JVal *v, guint n)
{
    FUZZ_CHECK(v->t == J_ARR, "%s: not an array", what_field);
    FUZZ_CHECK(v->items->len == n, "%s: %u items, expected %u", what_field, v->items->len, n);
}

static void check_json(const CflowProfile *p, const char *text, size_t len)
{
    FUZZ_CHECK(g_utf8_validate(text, (gssize)len, NULL), "the JSON is not valid UTF-8");
    FUZZ_CHECK(len > 0 && text[len - 1] == '\n', "the JSON does not end with a newline");
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) {
        lines += text[i] == '\n';
    }
    size_t want_lines = 6;
    const guint sizes[] = {p->meta->len, p->edges->len, p->insns->len, p->blocks->len};
    for (unsigned i = 0; i < 4; i++) {
        want_lines += sizes[i] > 0 ? sizes[i] + 1 : 0;
    }
    FUZZ_CHECK(lines == want_lines, "%zu lines, expected %zu", lines, want_lines);

    JVal *root = jparse(text, len);
    expected_cache = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, expected_free);
    static const char *const top[] = {"meta", "edges", "insns", "blocks"};
    what_field = "top level";
    JVal **parts = check_keys(root, top, 4);

    JVal *meta = parts[0];
    what_field = "meta";
    FUZZ_CHECK(meta->t == J_OBJ && meta->keys->len == p->meta->len, "meta: %u entries",
               meta->t == J_OBJ ? meta->keys->len : 0);
    for (guint i = 0; i < p->meta->len; i++) {
        const CflowMeta *m = &g_array_index(p->meta, CflowMeta, i);
        const Expected *x = expected_of(p, m->key);
        const GString *k = g_ptr_array_index(meta->keys, i);
        FUZZ_CHECK(k->len == x->decoded->len && memcmp(k->str, x->decoded->str, k->len) == 0,
                   "meta %u: key decodes to other text", i);
        check_str(g_ptr_array_index(meta->items, i), p, m->value);
    }

    static const char *const edge_keys[] = {"from", "to", "kind", "count", "from_generation"};
    what_field = "edges";
    check_array(parts[1], p->edges->len);
    for (guint i = 0; i < p->edges->len; i++) {
        const CflowEdge *e = cflow_profile_edge(p, i);
        const CflowInsn *from = cflow_profile_insn(p, e->from);
        JVal **f = check_keys(g_ptr_array_index(parts[1]->items, i), edge_keys, 5);
        check_addr(f[0], from->addr);
        check_addr(f[1], e->to);
        char kind[32];
        snprintf(kind, sizeof kind, "\"%s\"", cflow_edge_kind_name((CflowEdgeKind)e->kind));
        check_raw(f[2], J_STR, kind);
        check_u64(f[3], e->count);
        check_u64(f[4], from->generation);
    }

    /* "priv" is there, in every insn, when the profile records privilege levels. */
    static const char *const insn_keys[] = {"addr", "size", "generation", "disas", "symbol",
                                            "priv"};
    what_field = "insns";
    check_array(parts[2], p->insns->len);
    bool levels = p->insn_priv->len > 0;
    for (guint i = 0; i < p->insns->len; i++) {
        const CflowInsn *in = cflow_profile_insn(p, i);
        JVal **f = check_keys(g_ptr_array_index(parts[2]->items, i), insn_keys, levels ? 6 : 5);
        if (levels) {
            char priv[32];
            snprintf(priv, sizeof priv, "\"%s\"", cflow_priv_name(cflow_profile_insn_priv(p, i)));
            check_raw(f[5], J_STR, priv);
        }
        check_addr(f[0], in->addr);
        check_u64(f[1], in->size);
        check_u64(f[2], in->generation);
        check_str(f[3], p, in->disas);
        if (in->symbol == CFLOW_NO_STRING) {
            check_raw(f[4], J_NULL, "null");
        } else {
            check_str(f[4], p, in->symbol);
        }
    }

    static const char *const block_keys[] = {"addr", "count", "insns"};
    what_field = "blocks";
    check_array(parts[3], p->blocks->len);
    const uint32_t *bi = (const uint32_t *)(void *)p->block_insns->data;
    for (guint i = 0; i < p->blocks->len; i++) {
        const CflowBlock *b = cflow_profile_block(p, i);
        JVal **f = check_keys(g_ptr_array_index(parts[3]->items, i), block_keys, 3);
        check_addr(f[0], b->addr);
        check_u64(f[1], b->count);
        check_array(f[2], b->n_insns);
        for (uint32_t k = 0; k < b->n_insns; k++) {
            check_addr(g_ptr_array_index(f[2]->items, k), cflow_profile_insn(p, bi[b->first + k])->addr);
        }
    }
    g_hash_table_unref(expected_cache);
    expected_cache = NULL;
    jfree(root);
}

/* ------------------------------------------------------------------------------------------ */

static void check_views(const CflowProfile *p, unsigned topn)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    FUZZ_CHECK(f != NULL, "open_memstream");
    GError *err = NULL;
    FUZZ_CHECK(cflow_profile_write_json(p, f, &err), "write_json failed: %s", err->message);
    FUZZ_CHECK(fclose(f) == 0, "fclose");
    check_json(p, buf, len);
    free(buf);

    for (int s = 0; s < CFLOW_SORT_COUNT; s++) {
        GString *r = cflow_report(p, (CflowSort)s, topn);
        FUZZ_CHECK(g_str_has_prefix(r->str, "cflow: "), "report starts with \"%.40s\"", r->str);
        g_string_free(r, TRUE);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The report's topn comes from the last byte: 0..15, or all for 0xff. */
    unsigned topn = size > 0 ? data[size - 1] % 16 : 10;
    if (size > 0 && data[size - 1] == 0xff) {
        topn = UINT32_MAX;
    }
    CflowProfile *p = fuzz_parse(data, size, NULL);
    if (p == NULL && size >= CFLOW_PROFILE_HEADER_SIZE) {
        uint8_t *copy = g_memdup2(data, size);
        fuzz_fix_file(copy, size);
        p = fuzz_parse(copy, size, NULL);
        g_free(copy);
    }
    if (p != NULL) {
        check_views(p, topn);
        cflow_profile_free(p);
    }
    return 0;
}
