/*
 * json_check.c: the JSON parser and content check of json_check.h.
 */
#include "json_check.h"

#include <inttypes.h>
#include <string.h>

void jfree(gpointer v)
{
    JVal *j = v;
    if (j == NULL) {
        return;
    }
    g_free(j->s);
    if (j->items != NULL) {
        g_ptr_array_unref(j->items);
    }
    if (j->keys != NULL) {
        g_ptr_array_unref(j->keys);
    }
    g_free(j);
}

typedef struct {
    const char *p, *end;
} JIn;

static void jws(JIn *in)
{
    while (in->p < in->end && (*in->p == ' ' || *in->p == '\n' || *in->p == '\t' || *in->p == '\r'))
        in->p++;
}

static int jhex(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool jhex4(JIn *in, gunichar *u)
{
    if (in->end - in->p < 4) return false;
    *u = 0;
    for (int i = 0; i < 4; i++) {
        int h = jhex(in->p[i]);
        if (h < 0) return false;
        *u = *u * 16 + (gunichar)h;
    }
    in->p += 4;
    return true;
}

static char *jstring(JIn *in)
{
    if (in->p >= in->end || *in->p != '"') return NULL;
    in->p++;
    GString *s = g_string_new(NULL);
    while (in->p < in->end) {
        unsigned char c = (unsigned char)*in->p++;
        if (c == '"') return g_string_free(s, FALSE);
        if (c < 0x20) break; /* raw control characters are not allowed in JSON strings */
        if (c != '\\') {
            g_string_append_c(s, (char)c);
            continue;
        }
        if (in->p >= in->end) break;
        char e = *in->p++;
        gunichar u;
        switch (e) {
        case '"': g_string_append_c(s, '"'); break;
        case '\\': g_string_append_c(s, '\\'); break;
        case '/': g_string_append_c(s, '/'); break;
        case 'b': g_string_append_c(s, '\b'); break;
        case 'f': g_string_append_c(s, '\f'); break;
        case 'n': g_string_append_c(s, '\n'); break;
        case 'r': g_string_append_c(s, '\r'); break;
        case 't': g_string_append_c(s, '\t'); break;
        case 'u':
            if (!jhex4(in, &u)) goto bad;
            if (u >= 0xd800 && u <= 0xdbff) {
                gunichar lo;
                if (in->end - in->p < 2 || in->p[0] != '\\' || in->p[1] != 'u') goto bad;
                in->p += 2;
                if (!jhex4(in, &lo) || lo < 0xdc00 || lo > 0xdfff) goto bad;
                u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
            } else if (u >= 0xdc00 && u <= 0xdfff) {
                goto bad;
            }
            g_string_append_unichar(s, u);
            break;
        default: goto bad;
        }
    }
bad:
    g_string_free(s, TRUE);
    return NULL;
}

static JVal *jvalue(JIn *in, int depth);

static JVal *jnew(JType t)
{
    JVal *j = g_new0(JVal, 1);
    j->t = t;
    return j;
}

static JVal *jvalue(JIn *in, int depth)
{
    if (depth > 64) return NULL;
    jws(in);
    if (in->p >= in->end) return NULL;
    char c = *in->p;
    if (c == '{' || c == '[') {
        bool obj = c == '{';
        JVal *j = jnew(obj ? J_OBJ : J_ARR);
        j->items = g_ptr_array_new_with_free_func(jfree);
        if (obj) j->keys = g_ptr_array_new_with_free_func(g_free);
        in->p++;
        jws(in);
        if (in->p < in->end && *in->p == (obj ? '}' : ']')) {
            in->p++;
            return j;
        }
        for (;;) {
            if (obj) {
                jws(in);
                char *k = jstring(in);
                if (k == NULL) goto fail;
                g_ptr_array_add(j->keys, k);
                jws(in);
                if (in->p >= in->end || *in->p != ':') goto fail;
                in->p++;
            }
            JVal *v = jvalue(in, depth + 1);
            if (v == NULL) goto fail;
            g_ptr_array_add(j->items, v);
            jws(in);
            if (in->p >= in->end) goto fail;
            if (*in->p == ',') {
                in->p++;
                continue;
            }
            if (*in->p == (obj ? '}' : ']')) {
                in->p++;
                return j;
            }
            goto fail;
        }
    fail:
        jfree(j);
        return NULL;
    }
    if (c == '"') {
        char *s = jstring(in);
        if (s == NULL) return NULL;
        JVal *j = jnew(J_STR);
        j->s = s;
        return j;
    }
    if (c >= '0' && c <= '9') {
        /* Only non-negative integers appear in a profile; anything else fails the test. */
        if (c == '0' && in->p + 1 < in->end && g_ascii_isdigit(in->p[1])) return NULL;
        uint64_t v = 0;
        while (in->p < in->end && g_ascii_isdigit(*in->p)) {
            unsigned d = (unsigned)(*in->p - '0');
            if (v > (UINT64_MAX - d) / 10) return NULL;
            v = v * 10 + d;
            in->p++;
        }
        if (in->p < in->end && (*in->p == '.' || *in->p == 'e' || *in->p == 'E')) return NULL;
        JVal *j = jnew(J_NUM);
        j->num = v;
        return j;
    }
    static const struct {
        const char *word;
        JType t;
        bool b;
    } words[] = {{"null", J_NULL, false}, {"true", J_BOOL, true}, {"false", J_BOOL, false}};
    for (size_t i = 0; i < G_N_ELEMENTS(words); i++) {
        size_t n = strlen(words[i].word);
        if ((size_t)(in->end - in->p) >= n && memcmp(in->p, words[i].word, n) == 0) {
            in->p += n;
            JVal *j = jnew(words[i].t);
            j->b = words[i].b;
            return j;
        }
    }
    return NULL;
}

JVal *jparse(const char *text, size_t len)
{
    JIn in = {text, text + len};
    JVal *v = jvalue(&in, 0);
    if (v == NULL) return NULL;
    jws(&in);
    if (in.p != in.end) {
        jfree(v);
        return NULL;
    }
    return v;
}

JVal *jget(const JVal *obj, const char *key)
{
    g_assert_nonnull(obj);
    g_assert_cmpint(obj->t, ==, J_OBJ);
    for (guint i = 0; i < obj->keys->len; i++) {
        if (strcmp(g_ptr_array_index(obj->keys, i), key) == 0) {
            return g_ptr_array_index(obj->items, i);
        }
    }
    g_error("JSON object has no key \"%s\"", key);
    return NULL;
}

JVal *jat(const JVal *arr, guint i)
{
    g_assert_nonnull(arr);
    g_assert_cmpint(arr->t, ==, J_ARR);
    g_assert_cmpuint(i, <, arr->items->len);
    return g_ptr_array_index(arr->items, i);
}

const char *jstr(const JVal *v)
{
    g_assert_nonnull(v);
    g_assert_cmpint(v->t, ==, J_STR);
    return v->s;
}

static uint64_t jnum(const JVal *v)
{
    g_assert_nonnull(v);
    g_assert_cmpint(v->t, ==, J_NUM);
    return v->num;
}

char *json_of(const CflowProfile *p, size_t *len)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    g_assert_nonnull(f);
    GError *err = NULL;
    g_assert_true(cflow_profile_write_json(p, f, &err));
    g_assert_no_error(err);
    g_assert_cmpint(fclose(f), ==, 0);
    *len = size;
    return buf;
}

static char *hex_addr(uint64_t a)
{
    return g_strdup_printf("0x%" PRIx64, a);
}

/*
 * What a string from the pool reads as once the JSON is decoded: well-formed UTF-8 unchanged,
 * every other byte as the code point of the same value (the documented rule), here computed
 * with GLib's validator rather than the writer's.
 */
static char *json_view(const char *s)
{
    GString *out = g_string_new(NULL);
    while (*s != 0) {
        gunichar c = g_utf8_get_char_validated(s, -1);
        if (c == (gunichar)-1 || c == (gunichar)-2) {
            g_string_append_unichar(out, (unsigned char)*s);
            s++;
        } else {
            const char *next = g_utf8_next_char(s);
            g_string_append_len(out, s, next - s);
            s = next;
        }
    }
    return g_string_free(out, FALSE);
}

static void assert_json_str(const JVal *v, const char *pool_string)
{
    g_autofree char *want = json_view(pool_string);
    g_assert_cmpstr(jstr(v), ==, want);
}

/* Checks the JSON text of p against p itself, field by field. */
void check_json_content(const CflowProfile *p, const char *text, size_t len)
{
    g_assert_true(g_utf8_validate(text, (gssize)len, NULL));
    JVal *root = jparse(text, len);
    g_assert_nonnull(root);
    g_assert_cmpint(root->t, ==, J_OBJ);
    g_assert_cmpuint(root->keys->len, ==, 4);

    JVal *meta = jget(root, "meta");
    g_assert_cmpint(meta->t, ==, J_OBJ);
    g_assert_cmpuint(meta->keys->len, ==, p->meta->len);
    for (guint i = 0; i < p->meta->len; i++) {
        const CflowMeta *m = &g_array_index(p->meta, CflowMeta, i);
        g_autofree char *key = json_view(cflow_profile_string(p, m->key));
        g_assert_cmpstr(g_ptr_array_index(meta->keys, i), ==, key);
        assert_json_str(g_ptr_array_index(meta->items, i), cflow_profile_string(p, m->value));
    }

    JVal *edges = jget(root, "edges");
    g_assert_cmpint(edges->t, ==, J_ARR);
    g_assert_cmpuint(edges->items->len, ==, p->edges->len);
    for (guint i = 0; i < p->edges->len; i++) {
        const CflowEdge *e = cflow_profile_edge(p, i);
        const CflowInsn *from = cflow_profile_insn(p, e->from);
        JVal *je = jat(edges, i);
        g_assert_cmpuint(je->keys->len, ==, 5);
        g_autofree char *f = hex_addr(from->addr), *t = hex_addr(e->to);
        g_assert_cmpstr(jstr(jget(je, "from")), ==, f);
        g_assert_cmpstr(jstr(jget(je, "to")), ==, t);
        g_assert_cmpstr(jstr(jget(je, "kind")), ==, cflow_edge_kind_name(e->kind));
        g_assert_cmpuint(jnum(jget(je, "count")), ==, e->count);
        g_assert_cmpuint(jnum(jget(je, "from_generation")), ==, from->generation);
    }

    JVal *insns = jget(root, "insns");
    g_assert_cmpuint(insns->items->len, ==, p->insns->len);
    for (guint i = 0; i < p->insns->len; i++) {
        const CflowInsn *in = cflow_profile_insn(p, i);
        JVal *ji = jat(insns, i);
        g_assert_cmpuint(ji->keys->len, ==, 5);
        g_autofree char *a = hex_addr(in->addr);
        g_assert_cmpstr(jstr(jget(ji, "addr")), ==, a);
        g_assert_cmpuint(jnum(jget(ji, "size")), ==, in->size);
        g_assert_cmpuint(jnum(jget(ji, "generation")), ==, in->generation);
        assert_json_str(jget(ji, "disas"), cflow_profile_string(p, in->disas));
        JVal *sym = jget(ji, "symbol");
        if (in->symbol == CFLOW_NO_STRING) {
            g_assert_cmpint(sym->t, ==, J_NULL);
        } else {
            assert_json_str(sym, cflow_profile_string(p, in->symbol));
        }
    }

    JVal *blocks = jget(root, "blocks");
    g_assert_cmpuint(blocks->items->len, ==, p->blocks->len);
    for (guint i = 0; i < p->blocks->len; i++) {
        const CflowBlock *b = cflow_profile_block(p, i);
        JVal *jb = jat(blocks, i);
        g_assert_cmpuint(jb->keys->len, ==, 3);
        g_autofree char *a = hex_addr(b->addr);
        g_assert_cmpstr(jstr(jget(jb, "addr")), ==, a);
        g_assert_cmpuint(jnum(jget(jb, "count")), ==, b->count);
        JVal *list = jget(jb, "insns");
        g_assert_cmpuint(list->items->len, ==, b->n_insns);
        for (uint32_t k = 0; k < b->n_insns; k++) {
            uint32_t idx = g_array_index(p->block_insns, uint32_t, b->first + k);
            g_autofree char *ia = hex_addr(cflow_profile_insn(p, idx)->addr);
            g_assert_cmpstr(jstr(jat(list, k)), ==, ia);
        }
    }
    jfree(root);
}
