/*
 * test_profile.c: unit tests for the profile library (profile/profile.h): the model, the binary
 * format and its reader's rejection of damaged input, atomic writing, and the JSON form.
 */
#include "profile.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ------------------------------------------------------------------------------------------ */
/* Helpers */

static uint32_t rd32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t rd64(const uint8_t *b)
{
    return (uint64_t)rd32(b) | (uint64_t)rd32(b + 4) << 32;
}

static void wr32(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
}

static void wr64(uint8_t *b, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint8_t *entry(uint8_t *file, unsigned i)
{
    return file + CFLOW_PROFILE_HEADER_SIZE + i * CFLOW_PROFILE_SECTION_ENTRY_SIZE;
}

static size_t header_len_of(const uint8_t *file)
{
    return CFLOW_PROFILE_HEADER_SIZE + (size_t)rd32(file + 12) * CFLOW_PROFILE_SECTION_ENTRY_SIZE;
}

/* Table index of the section of the given type, or -1. */
static int find_section(const uint8_t *file, uint32_t type)
{
    uint32_t n = rd32(file + 12);
    for (uint32_t i = 0; i < n; i++) {
        if (rd32(file + CFLOW_PROFILE_HEADER_SIZE + i * CFLOW_PROFILE_SECTION_ENTRY_SIZE) ==
            type) {
            return (int)i;
        }
    }
    return -1;
}

/* Recomputes the header CRC as the format doc says (the CRC field taken as zero). */
static void fix_header_crc(uint8_t *file, size_t len)
{
    size_t hl = header_len_of(file);
    g_assert_cmpuint(hl, <=, len);
    wr32(file + 28, 0);
    wr32(file + 28, (uint32_t)crc32(crc32(0, NULL, 0), file, (uInt)hl));
}

/* Recomputes every in-bounds section CRC, then the header CRC: damage that only the structural
 * checks can catch. */
static void fix_all_crcs(uint8_t *file, size_t len)
{
    if (len < CFLOW_PROFILE_HEADER_SIZE) {
        return;
    }
    uint32_t n = rd32(file + 12);
    if (n > CFLOW_PROFILE_MAX_SECTIONS || header_len_of(file) > len) {
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = entry(file, i);
        uint64_t off = rd64(e + 8), l = rd64(e + 16);
        if (off <= len && l <= len - off) {
            wr32(e + 4, (uint32_t)crc32(crc32(0, NULL, 0), file + off, (uInt)l));
        }
    }
    fix_header_crc(file, len);
}

typedef struct {
    uint32_t type;
    const void *data;
    size_t len;
    uint64_t count;
} Part;

/* Builds a container from arbitrary sections, with correct checksums and 8-byte alignment. */
static GByteArray *assemble(const Part *parts, unsigned n)
{
    GByteArray *f = g_byte_array_new();
    size_t hl = CFLOW_PROFILE_HEADER_SIZE + n * CFLOW_PROFILE_SECTION_ENTRY_SIZE;
    g_byte_array_set_size(f, (guint)hl);
    memset(f->data, 0, hl);
    for (unsigned i = 0; i < n; i++) {
        while (f->len % 8 != 0) {
            const uint8_t z = 0;
            g_byte_array_append(f, &z, 1);
        }
        uint64_t off = f->len;
        g_byte_array_append(f, parts[i].data, (guint)parts[i].len);
        uint8_t *e = entry(f->data, i);
        wr32(e, parts[i].type);
        wr32(e + 4, (uint32_t)crc32(crc32(0, NULL, 0), parts[i].data, (uInt)parts[i].len));
        wr64(e + 8, off);
        wr64(e + 16, parts[i].len);
        wr64(e + 24, parts[i].count);
    }
    memcpy(f->data, CFLOW_PROFILE_MAGIC, 8);
    wr32(f->data + 8, CFLOW_PROFILE_VERSION);
    wr32(f->data + 12, n);
    wr64(f->data + 16, f->len);
    fix_header_crc(f->data, f->len);
    return f;
}

/* The sections of a serialized profile as Parts (pointing into file). */
static unsigned split(const uint8_t *file, Part *parts)
{
    uint32_t n = rd32(file + 12);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = file + CFLOW_PROFILE_HEADER_SIZE + i * CFLOW_PROFILE_SECTION_ENTRY_SIZE;
        parts[i].type = rd32(e);
        parts[i].data = file + rd64(e + 8);
        parts[i].len = (size_t)rd64(e + 16);
        parts[i].count = rd64(e + 24);
    }
    return n;
}

static CflowProfile *make_small(void)
{
    CflowProfile *p = cflow_profile_new();
    cflow_profile_set_meta(p, "arch", "aarch64");
    cflow_profile_set_meta(p, "command", "./a.out \"x\"");
    uint32_t i0 = cflow_profile_add_insn(p, 0x4006ec, 4, 0, "cmp x0, #1", "main");
    uint32_t i1 = cflow_profile_add_insn(p, 0x4006f0, 4, 0, "b.ne #0x4006ec", "main");
    uint32_t i2 = cflow_profile_add_insn(p, 0x4006f0, 4, 1, "nop", NULL);
    uint32_t i3 = cflow_profile_add_insn(p, 0xffffffff80001000ull, 2, 0, "", "");
    cflow_profile_add_edge(p, i1, CFLOW_EDGE_BRANCH, 0x4006ec, 666);
    cflow_profile_add_edge(p, i1, CFLOW_EDGE_FALLTHROUGH, 0x4006f4, 1);
    cflow_profile_add_edge(p, i2, CFLOW_EDGE_EXCEPTION, 0x400000, 0);
    cflow_profile_add_edge(p, i0, CFLOW_EDGE_INTERRUPT, 0xffffffff80001000ull, UINT64_MAX);
    cflow_profile_add_edge(p, i3, CFLOW_EDGE_HOSTCALL, 0, 7);
    cflow_profile_add_edge(p, i0, CFLOW_EDGE_EARLY_EXIT, 0x4006ec, 2);
    const uint32_t b0[] = {i0, i1};
    const uint32_t b1[] = {i2};
    cflow_profile_add_block(p, 0x4006ec, 667, b0, 2);
    cflow_profile_add_block(p, 0x4006f0, 3, b1, 1);
    cflow_profile_add_block(p, 0xffffffff80001000ull, 0, NULL, 0);
    return p;
}

static bool same_string(const CflowProfile *a, uint32_t oa, const CflowProfile *b, uint32_t ob)
{
    const char *sa = cflow_profile_string(a, oa), *sb = cflow_profile_string(b, ob);
    if (sa == NULL || sb == NULL) {
        return sa == sb;
    }
    return strcmp(sa, sb) == 0;
}

/* Deep comparison; *why says what differs. Records are compared by value and string offsets by
 * the strings they name. */
static bool profiles_equal(const CflowProfile *a, const CflowProfile *b, const char **why)
{
#define DIFF(what)                                                                             \
    do {                                                                                       \
        *why = what;                                                                           \
        return false;                                                                          \
    } while (0)
    if (a->meta->len != b->meta->len) DIFF("meta count");
    for (guint i = 0; i < a->meta->len; i++) {
        const CflowMeta *x = &g_array_index(a->meta, CflowMeta, i);
        const CflowMeta *y = &g_array_index(b->meta, CflowMeta, i);
        if (!same_string(a, x->key, b, y->key) || !same_string(a, x->value, b, y->value))
            DIFF("meta entry");
    }
    if (a->insns->len != b->insns->len) DIFF("insn count");
    for (guint i = 0; i < a->insns->len; i++) {
        const CflowInsn *x = cflow_profile_insn(a, i), *y = cflow_profile_insn(b, i);
        if (x->addr != y->addr || x->size != y->size || x->generation != y->generation)
            DIFF("insn fields");
        if (!same_string(a, x->disas, b, y->disas) || !same_string(a, x->symbol, b, y->symbol))
            DIFF("insn strings");
    }
    if (a->edges->len != b->edges->len) DIFF("edge count");
    if (a->edges->len > 0 &&
        memcmp(a->edges->data, b->edges->data, a->edges->len * sizeof(CflowEdge)) != 0)
        DIFF("edges");
    if (a->blocks->len != b->blocks->len) DIFF("block count");
    if (a->blocks->len > 0 &&
        memcmp(a->blocks->data, b->blocks->data, a->blocks->len * sizeof(CflowBlock)) != 0)
        DIFF("blocks");
    if (a->block_insns->len != b->block_insns->len) DIFF("block_insns count");
    if (a->block_insns->len > 0 &&
        memcmp(a->block_insns->data, b->block_insns->data, a->block_insns->len * 4) != 0)
        DIFF("block_insns");
#undef DIFF
    *why = NULL;
    return true;
}

static void assert_equal(const CflowProfile *a, const CflowProfile *b)
{
    const char *why = NULL;
    if (!profiles_equal(a, b, &why)) {
        g_error("profiles differ: %s", why);
    }
}

/* Parses data, expecting failure with the given code and a message containing needle. */
static void expect_reject(const void *data, size_t len, int code, const char *needle)
{
    GError *err = NULL;
    CflowProfile *p = cflow_profile_parse(data, len, &err);
    if (p != NULL) {
        g_error("parse succeeded, expected an error containing \"%s\"", needle);
    }
    g_assert_nonnull(err);
    g_test_message("rejected: %s", err->message);
    g_assert_true(err->domain == CFLOW_PROFILE_ERROR);
    if (strstr(err->message, needle) == NULL) {
        g_error("error \"%s\" does not contain \"%s\"", err->message, needle);
    }
    g_assert_cmpint(err->code, ==, code);
    g_error_free(err);
}

/* Serializes p without validating it (serialize does not), to hand damaged data to parse. */
static void expect_reject_profile(const CflowProfile *p, const char *needle)
{
    GBytes *bytes = cflow_profile_serialize(p);
    gsize len;
    const void *data = g_bytes_get_data(bytes, &len);
    expect_reject(data, len, CFLOW_PROFILE_ERROR_FORMAT, needle);
    GError *err = NULL;
    g_assert_false(cflow_profile_validate(p, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_FORMAT);
    g_error_free(err);
    g_bytes_unref(bytes);
}

/* Serializes p and parses it back, which must succeed; the bytes go to *bytes_out if asked. */
static CflowProfile *reparse(const CflowProfile *p, GBytes **bytes_out)
{
    GBytes *bytes = cflow_profile_serialize(p);
    gsize len;
    const void *data = g_bytes_get_data(bytes, &len);
    GError *err = NULL;
    CflowProfile *q = cflow_profile_parse(data, len, &err);
    g_assert_no_error(err);
    g_assert_nonnull(q);
    if (bytes_out) {
        *bytes_out = bytes;
    } else {
        g_bytes_unref(bytes);
    }
    return q;
}

static GByteArray *serialize_small(void)
{
    g_autoptr(CflowProfile) p = make_small();
    GBytes *bytes = cflow_profile_serialize(p);
    return g_bytes_unref_to_array(bytes);
}

static char *make_tmpdir(void)
{
    GError *err = NULL;
    char *dir = g_dir_make_tmp("cflow-test-XXXXXX", &err);
    g_assert_no_error(err);
    return dir;
}

static void rm_rf(const char *path)
{
    GDir *d = g_dir_open(path, 0, NULL);
    if (d != NULL) {
        const char *name;
        while ((name = g_dir_read_name(d)) != NULL) {
            char *child = g_build_filename(path, name, NULL);
            rm_rf(child);
            g_free(child);
        }
        g_dir_close(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static guint count_entries(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    g_assert_nonnull(d);
    guint n = 0;
    while (g_dir_read_name(d) != NULL) {
        n++;
    }
    g_dir_close(d);
    return n;
}

/* ------------------------------------------------------------------------------------------ */
/* A strict little JSON parser, to check the JSON form by content rather than by text. */

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } JType;
typedef struct JVal {
    JType t;
    bool b;
    uint64_t num;
    char *s;          /* J_STR: decoded UTF-8 */
    GPtrArray *items; /* J_ARR, J_OBJ: JVal* */
    GPtrArray *keys;  /* J_OBJ: char* */
} JVal;

static void jfree(gpointer v)
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

static JVal *jparse(const char *text, size_t len)
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

static JVal *jget(const JVal *obj, const char *key)
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

static JVal *jat(const JVal *arr, guint i)
{
    g_assert_nonnull(arr);
    g_assert_cmpint(arr->t, ==, J_ARR);
    g_assert_cmpuint(i, <, arr->items->len);
    return g_ptr_array_index(arr->items, i);
}

static const char *jstr(const JVal *v)
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

static char *json_of(const CflowProfile *p, size_t *len)
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
static void check_json_content(const CflowProfile *p, const char *text, size_t len)
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

/* ------------------------------------------------------------------------------------------ */
/* The model */

static void test_intern(void)
{
    g_autoptr(CflowProfile) p = cflow_profile_new();
    g_assert_cmpuint(p->strings->len, ==, 1);
    g_assert_cmpuint(p->strings->data[0], ==, 0);
    g_assert_cmpuint(cflow_profile_intern(p, ""), ==, 0);
    uint32_t a = cflow_profile_intern(p, "mov x0, x1");
    uint32_t b = cflow_profile_intern(p, "ret");
    g_assert_cmpuint(a, !=, 0);
    g_assert_cmpuint(b, !=, a);
    g_assert_cmpuint(cflow_profile_intern(p, "mov x0, x1"), ==, a);
    g_assert_cmpuint(cflow_profile_intern(p, "ret"), ==, b);
    g_assert_cmpuint(p->strings->len, ==, 1 + 11 + 4);
    /* Interning from a pointer into the pool itself must work even when the pool moves. */
    for (int i = 0; i < 1000; i++) {
        char buf[32];
        g_snprintf(buf, sizeof buf, "s%d", i);
        cflow_profile_intern(p, buf);
    }
    g_assert_cmpuint(cflow_profile_intern(p, "ret"), ==, b);
    g_assert_cmpstr(cflow_profile_string(p, a), ==, "mov x0, x1");
    g_assert_cmpstr(cflow_profile_string(p, 0), ==, "");
    g_assert_null(cflow_profile_string(p, CFLOW_NO_STRING));
}

static void test_meta(void)
{
    g_autoptr(CflowProfile) p = cflow_profile_new();
    g_assert_null(cflow_profile_get_meta(p, "arch"));
    cflow_profile_set_meta(p, "arch", "x86_64");
    cflow_profile_set_meta(p, "pid", "42");
    g_assert_cmpstr(cflow_profile_get_meta(p, "arch"), ==, "x86_64");
    cflow_profile_set_meta(p, "arch", "riscv64");
    g_assert_cmpstr(cflow_profile_get_meta(p, "arch"), ==, "riscv64");
    g_assert_cmpstr(cflow_profile_get_meta(p, "pid"), ==, "42");
    g_assert_cmpuint(p->meta->len, ==, 2); /* replaced, not added */
    g_assert_null(cflow_profile_get_meta(p, "ARCH"));
    cflow_profile_set_meta(p, "empty", "");
    g_assert_cmpstr(cflow_profile_get_meta(p, "empty"), ==, "");
    cflow_profile_set_meta_u64(p, "pid", UINT64_MAX);
    g_assert_cmpstr(cflow_profile_get_meta(p, "pid"), ==, "18446744073709551615");
    cflow_profile_set_meta_u64(p, "zero", 0);
    g_assert_cmpstr(cflow_profile_get_meta(p, "zero"), ==, "0");
    g_assert_true(cflow_profile_validate(p, NULL));
}

static void test_kinds(void)
{
    static const char *const names[] = {"branch", "fallthrough", "exception",
                                        "interrupt", "hostcall", "early-exit"};
    g_assert_cmpuint(G_N_ELEMENTS(names), ==, CFLOW_EDGE_KIND_COUNT);
    for (unsigned k = 0; k < CFLOW_EDGE_KIND_COUNT; k++) {
        g_assert_cmpstr(cflow_edge_kind_name((CflowEdgeKind)k), ==, names[k]);
        CflowEdgeKind parsed = CFLOW_EDGE_KIND_COUNT;
        g_assert_true(cflow_edge_kind_parse(names[k], &parsed));
        g_assert_cmpint(parsed, ==, k);
    }
    /* The numeric values are part of the file format. */
    g_assert_cmpint(CFLOW_EDGE_BRANCH, ==, 0);
    g_assert_cmpint(CFLOW_EDGE_EARLY_EXIT, ==, 5);
    CflowEdgeKind k = CFLOW_EDGE_HOSTCALL;
    g_assert_false(cflow_edge_kind_parse("Branch", &k));
    g_assert_false(cflow_edge_kind_parse("early_exit", &k));
    g_assert_false(cflow_edge_kind_parse("", &k));
    g_assert_false(cflow_edge_kind_parse(NULL, &k));
    g_assert_cmpint(k, ==, CFLOW_EDGE_HOSTCALL);
    g_assert_cmpstr(cflow_edge_kind_name(CFLOW_EDGE_KIND_COUNT), ==, "unknown");
}

static void test_build(void)
{
    g_autoptr(CflowProfile) p = make_small();
    g_assert_cmpuint(p->insns->len, ==, 4);
    g_assert_cmpuint(p->edges->len, ==, 6);
    g_assert_cmpuint(p->blocks->len, ==, 3);
    g_assert_cmpuint(p->block_insns->len, ==, 3);
    const CflowInsn *i2 = cflow_profile_insn(p, 2);
    g_assert_cmpuint(i2->addr, ==, 0x4006f0);
    g_assert_cmpuint(i2->generation, ==, 1);
    g_assert_cmpstr(cflow_profile_string(p, i2->disas), ==, "nop");
    g_assert_cmpuint(i2->symbol, ==, CFLOW_NO_STRING);
    g_assert_cmpuint(cflow_profile_insn(p, 0)->symbol, ==, cflow_profile_insn(p, 1)->symbol);
    const CflowBlock *b1 = cflow_profile_block(p, 1);
    g_assert_cmpuint(b1->first, ==, 2);
    g_assert_cmpuint(b1->n_insns, ==, 1);
    g_assert_cmpuint(g_array_index(p->block_insns, uint32_t, 2), ==, 2);
    const CflowEdge *e = cflow_profile_edge(p, 3);
    g_assert_cmpuint(e->kind, ==, CFLOW_EDGE_INTERRUPT);
    g_assert_cmpuint(e->count, ==, UINT64_MAX);
    GError *err = NULL;
    g_assert_true(cflow_profile_validate(p, &err));
    g_assert_no_error(err);
}

static void test_validate(void)
{
    GError *err = NULL;
    {
        g_autoptr(CflowProfile) p = make_small();
        cflow_profile_edge(p, 2)->from = 4;
        g_assert_false(cflow_profile_validate(p, &err));
        g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_FORMAT);
        g_assert_nonnull(strstr(err->message, "edge 2: source insn index 4 out of range"));
        g_clear_error(&err);
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        cflow_profile_edge(p, 0)->kind = CFLOW_EDGE_KIND_COUNT;
        g_assert_false(cflow_profile_validate(p, &err));
        g_assert_nonnull(strstr(err->message, "edge 0: unknown kind 6"));
        g_clear_error(&err);
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        cflow_profile_block(p, 1)->n_insns = 2; /* first 2 + 2 > 3 */
        g_assert_false(cflow_profile_validate(p, &err));
        g_assert_nonnull(strstr(err->message, "block 1:"));
        g_clear_error(&err);
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        cflow_profile_block(p, 0)->first = UINT32_MAX; /* must not wrap around */
        cflow_profile_block(p, 0)->n_insns = 2;
        g_assert_false(cflow_profile_validate(p, &err));
        g_assert_nonnull(strstr(err->message, "block 0:"));
        g_clear_error(&err);
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        cflow_profile_insn(p, 3)->disas = p->strings->len;
        g_assert_false(cflow_profile_validate(p, &err));
        g_assert_nonnull(strstr(err->message, "insn 3: disassembly string offset"));
        g_clear_error(&err);
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        g_byte_array_append(p->strings, (const guint8 *)"abc", 3);
        g_assert_false(cflow_profile_validate(p, &err));
        g_assert_nonnull(strstr(err->message, "not NUL-terminated"));
        g_clear_error(&err);
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        CflowMeta dup = g_array_index(p->meta, CflowMeta, 0);
        dup.value = 0;
        g_array_append_val(p->meta, dup);
        g_assert_false(cflow_profile_validate(p, &err));
        g_assert_nonnull(strstr(err->message, "meta 2: duplicate key \"arch\""));
        g_clear_error(&err);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Binary format */

static void test_layout(void)
{
    g_autoptr(CflowProfile) p = make_small();
    GBytes *bytes = cflow_profile_serialize(p);
    gsize len;
    const uint8_t *b = g_bytes_get_data(bytes, &len);
    g_assert_cmpmem(b, 8, CFLOW_PROFILE_MAGIC, 8);
    g_assert_cmpuint(rd32(b + 8), ==, CFLOW_PROFILE_VERSION);
    g_assert_cmpuint(rd64(b + 16), ==, len);
    g_assert_cmpuint(rd32(b + 24), ==, 0);
    uint32_t n = rd32(b + 12);
    g_assert_cmpuint(n, ==, 6);
    static const uint32_t rec[] = {0, 8, 1, 24, 24, 24, 4};
    const uint64_t counts[] = {0, 2, p->strings->len, 4, 6, 3, 3};
    for (uint32_t t = CFLOW_SECTION_META; t <= CFLOW_SECTION_BLOCK_INSNS; t++) {
        int i = find_section(b, t);
        g_assert_cmpint(i, >=, 0);
        const uint8_t *e = b + CFLOW_PROFILE_HEADER_SIZE + i * CFLOW_PROFILE_SECTION_ENTRY_SIZE;
        uint64_t off = rd64(e + 8), l = rd64(e + 16), c = rd64(e + 24);
        g_assert_cmpuint(off % 8, ==, 0);
        g_assert_cmpuint(off, >=, header_len_of(b));
        g_assert_cmpuint(off + l, <=, len);
        g_assert_cmpuint(c, ==, counts[t]);
        g_assert_cmpuint(l, ==, c * rec[t]);
        g_assert_cmpuint(rd32(e + 4), ==, (uint32_t)crc32(crc32(0, NULL, 0), b + off, (uInt)l));
    }
    /* Spot-check one record of each kind against the documented layout. */
    const uint8_t *edges = b + rd64(b + CFLOW_PROFILE_HEADER_SIZE +
                                    find_section(b, CFLOW_SECTION_EDGES) * 32 + 8);
    g_assert_cmpuint(rd32(edges + 3 * 24), ==, 0);                      /* from */
    g_assert_cmpuint(rd32(edges + 3 * 24 + 4), ==, CFLOW_EDGE_INTERRUPT); /* kind */
    g_assert_cmpuint(rd64(edges + 3 * 24 + 8), ==, 0xffffffff80001000ull);
    g_assert_cmpuint(rd64(edges + 3 * 24 + 16), ==, UINT64_MAX);
    const uint8_t *insns = b + rd64(b + CFLOW_PROFILE_HEADER_SIZE +
                                    find_section(b, CFLOW_SECTION_INSNS) * 32 + 8);
    g_assert_cmpuint(rd64(insns + 2 * 24), ==, 0x4006f0);
    g_assert_cmpuint(rd32(insns + 2 * 24 + 8), ==, 4);
    g_assert_cmpuint(rd32(insns + 2 * 24 + 12), ==, 1);
    g_assert_cmpuint(rd32(insns + 2 * 24 + 20), ==, CFLOW_NO_STRING);
    const uint8_t *blocks = b + rd64(b + CFLOW_PROFILE_HEADER_SIZE +
                                     find_section(b, CFLOW_SECTION_BLOCKS) * 32 + 8);
    g_assert_cmpuint(rd64(blocks + 24), ==, 0x4006f0);
    g_assert_cmpuint(rd64(blocks + 24 + 8), ==, 3);
    g_assert_cmpuint(rd32(blocks + 24 + 16), ==, 2);
    g_assert_cmpuint(rd32(blocks + 24 + 20), ==, 1);
    /* Header CRC as documented. */
    GByteArray *copy = g_byte_array_new();
    g_byte_array_append(copy, b, (guint)len);
    fix_header_crc(copy->data, copy->len);
    g_assert_cmpmem(copy->data, copy->len, b, len);
    g_byte_array_unref(copy);
    g_bytes_unref(bytes);
}

static void test_roundtrip(void)
{
    g_autoptr(CflowProfile) p = make_small();
    GBytes *bytes;
    g_autoptr(CflowProfile) q = reparse(p, &bytes);
    gsize len;
    const void *data = g_bytes_get_data(bytes, &len);
    GError *err = NULL;
    assert_equal(p, q);
    g_assert_cmpstr(cflow_profile_get_meta(q, "arch"), ==, "aarch64");
    g_assert_cmpstr(cflow_profile_get_meta(q, "command"), ==, "./a.out \"x\"");
    g_assert_cmpstr(cflow_profile_string(q, cflow_profile_insn(q, 1)->disas), ==,
                    "b.ne #0x4006ec");
    g_assert_cmpstr(cflow_profile_string(q, cflow_profile_insn(q, 3)->symbol), ==, "");
    g_assert_cmpuint(cflow_profile_edge(q, 3)->count, ==, UINT64_MAX);
    /* Serializing what was read gives the same bytes. */
    GBytes *again = cflow_profile_serialize(q);
    g_assert_true(g_bytes_equal(bytes, again));
    g_bytes_unref(again);

    /* Through a file. */
    g_autofree char *dir = make_tmpdir();
    g_autofree char *path = g_build_filename(dir, "small.cflow", NULL);
    g_assert_true(cflow_profile_write(p, path, &err));
    g_assert_no_error(err);
    g_autoptr(CflowProfile) r = cflow_profile_read(path, &err);
    g_assert_no_error(err);
    assert_equal(p, r);
    char *contents;
    gsize clen;
    g_assert_true(g_file_get_contents(path, &contents, &clen, NULL));
    g_assert_cmpmem(contents, clen, data, len);
    g_free(contents);
    rm_rf(dir);
    g_bytes_unref(bytes);
}

static void test_empty(void)
{
    g_autoptr(CflowProfile) p = cflow_profile_new();
    g_autoptr(CflowProfile) q = reparse(p, NULL);
    assert_equal(p, q);
    g_assert_cmpuint(q->strings->len, ==, 1);
    size_t jlen;
    char *json = json_of(q, &jlen);
    g_assert_cmpstr(json, ==, "{\n\"meta\": {},\n\"edges\": [],\n\"insns\": [],\n\"blocks\": []\n}\n");
    check_json_content(q, json, jlen);
    free(json);
}

/* A profile that was read can still be extended: interning finds the strings already there. */
static void test_extend_after_read(void)
{
    g_autoptr(CflowProfile) p = make_small();
    g_autoptr(CflowProfile) q = reparse(p, NULL);
    guint pool = q->strings->len;
    g_assert_cmpuint(cflow_profile_intern(q, "nop"), ==, cflow_profile_insn(q, 2)->disas);
    g_assert_cmpuint(cflow_profile_intern(q, "main"), ==, cflow_profile_insn(q, 0)->symbol);
    g_assert_cmpuint(cflow_profile_intern(q, ""), ==, 0);
    g_assert_cmpuint(q->strings->len, ==, pool);
    uint32_t i = cflow_profile_add_insn(q, 0x500000, 4, 0, "svc #0", "main");
    g_assert_cmpuint(i, ==, 4);
    g_assert_cmpuint(q->strings->len, ==, pool + 7);
    cflow_profile_set_meta(q, "arch", "riscv64");
    g_assert_cmpstr(cflow_profile_get_meta(q, "arch"), ==, "riscv64");
    g_assert_cmpuint(q->meta->len, ==, 2);
    cflow_profile_add_edge(q, i, CFLOW_EDGE_HOSTCALL, 0x500004, 1);
    g_assert_true(cflow_profile_validate(q, NULL));
}

static void test_atomic_write(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *path = g_build_filename(dir, "prof.cflow", NULL);
    g_autoptr(CflowProfile) a = make_small();
    g_autoptr(CflowProfile) b = cflow_profile_new();
    cflow_profile_set_meta(b, "which", "second");
    GError *err = NULL;
    g_assert_true(cflow_profile_write(a, path, &err));
    g_assert_no_error(err);
    struct stat st_a, st_b;
    g_assert_cmpint(stat(path, &st_a), ==, 0);
    mode_t mask = umask(022);
    umask(mask);
    g_assert_cmpuint(st_a.st_mode & 0777, ==, 0666 & ~mask); /* not left at mkstemp's 0600 */

    /* A reader holding the old file keeps seeing the whole old profile. */
    FILE *old = fopen(path, "rb");
    g_assert_nonnull(old);
    g_assert_true(cflow_profile_write(b, path, &err));
    g_assert_no_error(err);
    g_assert_cmpint(stat(path, &st_b), ==, 0);
    g_assert_cmpuint(st_a.st_ino, !=, st_b.st_ino); /* replaced by rename, not rewritten */
    GByteArray *buf = g_byte_array_new();
    uint8_t chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, old)) > 0) {
        g_byte_array_append(buf, chunk, (guint)n);
    }
    fclose(old);
    g_autoptr(CflowProfile) old_p = cflow_profile_parse(buf->data, buf->len, &err);
    g_assert_no_error(err);
    assert_equal(a, old_p);
    g_byte_array_unref(buf);
    g_autoptr(CflowProfile) new_p = cflow_profile_read(path, &err);
    g_assert_no_error(err);
    assert_equal(b, new_p);
    g_assert_cmpuint(count_entries(dir), ==, 1); /* no temporary file left behind */

    /* A failed write (here: rename onto a non-empty directory) leaves nothing behind. */
    g_autofree char *blocked = g_build_filename(dir, "blocked", NULL);
    g_autofree char *inner = g_build_filename(blocked, "x", NULL);
    g_assert_cmpint(mkdir(blocked, 0755), ==, 0);
    g_assert_true(g_file_set_contents(inner, "x", 1, NULL));
    g_assert_false(cflow_profile_write(a, blocked, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_IO);
    g_assert_nonnull(strstr(err->message, blocked));
    g_clear_error(&err);
    g_assert_cmpuint(count_entries(dir), ==, 2);
    g_assert_false(cflow_profile_write_json_file(a, blocked, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_IO);
    g_clear_error(&err);
    g_assert_cmpuint(count_entries(dir), ==, 2);

    /* Writing an invalid profile is refused and creates nothing. */
    g_autofree char *bad_path = g_build_filename(dir, "bad.cflow", NULL);
    cflow_profile_edge(a, 0)->from = 99;
    g_assert_false(cflow_profile_write(a, bad_path, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_FORMAT);
    g_assert_nonnull(strstr(err->message, "edge 0"));
    g_clear_error(&err);
    g_assert_false(cflow_profile_write_json_file(a, bad_path, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_FORMAT);
    g_clear_error(&err);
    g_assert_false(g_file_test(bad_path, G_FILE_TEST_EXISTS));
    g_assert_cmpuint(count_entries(dir), ==, 2);
    rm_rf(dir);
}

static void test_unwritable(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autoptr(CflowProfile) p = make_small();
    GError *err = NULL;

    g_autofree char *missing = g_build_filename(dir, "no-such-dir", "p.cflow", NULL);
    g_assert_false(cflow_profile_write(p, missing, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_IO);
    g_assert_nonnull(strstr(err->message, missing));
    g_assert_nonnull(strstr(err->message, g_strerror(ENOENT)));
    g_clear_error(&err);

    g_autofree char *file = g_build_filename(dir, "plain", NULL);
    g_assert_true(g_file_set_contents(file, "", 0, NULL));
    g_autofree char *under_file = g_build_filename(file, "p.cflow", NULL);
    g_assert_false(cflow_profile_write(p, under_file, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_IO);
    g_assert_nonnull(strstr(err->message, under_file));
    g_assert_nonnull(strstr(err->message, g_strerror(ENOTDIR)));
    g_clear_error(&err);
    g_assert_false(cflow_profile_write_json_file(p, under_file, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_IO);
    g_assert_nonnull(strstr(err->message, under_file));
    g_clear_error(&err);

    if (geteuid() != 0) {
        g_autofree char *ro = g_build_filename(dir, "ro", NULL);
        g_assert_cmpint(mkdir(ro, 0500), ==, 0);
        g_autofree char *in_ro = g_build_filename(ro, "p.cflow", NULL);
        g_assert_false(cflow_profile_write(p, in_ro, &err));
        g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_IO);
        g_assert_nonnull(strstr(err->message, g_strerror(EACCES)));
        g_clear_error(&err);
        chmod(ro, 0700);
    }

    /* A stream that cannot be written: the JSON writer reports it. */
    FILE *ro_stream = fopen(file, "r");
    g_assert_nonnull(ro_stream);
    g_assert_false(cflow_profile_write_json(p, ro_stream, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_IO);
    g_assert_nonnull(strstr(err->message, "writing JSON"));
    g_clear_error(&err);
    fclose(ro_stream);
    rm_rf(dir);
}

static void test_read_errors(void)
{
    g_autofree char *dir = make_tmpdir();
    GError *err = NULL;
    g_autofree char *missing = g_build_filename(dir, "missing.cflow", NULL);
    g_assert_null(cflow_profile_read(missing, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_IO);
    g_assert_nonnull(strstr(err->message, missing));
    g_assert_nonnull(strstr(err->message, g_strerror(ENOENT)));
    g_clear_error(&err);

    g_assert_null(cflow_profile_read(dir, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_IO);
    g_assert_nonnull(strstr(err->message, dir));
    g_clear_error(&err);

    g_autofree char *empty = g_build_filename(dir, "empty.cflow", NULL);
    g_assert_true(g_file_set_contents(empty, "", 0, NULL));
    g_assert_null(cflow_profile_read(empty, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_FORMAT);
    g_assert_nonnull(strstr(err->message, empty));
    g_clear_error(&err);

    /* A damaged file on disk: the message names the file and the section. */
    GByteArray *f = serialize_small();
    int e = find_section(f->data, CFLOW_SECTION_EDGES);
    f->data[rd64(entry(f->data, (unsigned)e) + 8) + 5] ^= 0x10;
    g_autofree char *damaged = g_build_filename(dir, "damaged.cflow", NULL);
    g_assert_true(g_file_set_contents(damaged, (const char *)f->data, f->len, NULL));
    g_assert_null(cflow_profile_read(damaged, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_CHECKSUM);
    g_assert_nonnull(strstr(err->message, damaged));
    g_assert_nonnull(strstr(err->message, "section edges: checksum mismatch"));
    g_clear_error(&err);

    /* Truncated on disk. */
    g_autofree char *cut = g_build_filename(dir, "cut.cflow", NULL);
    g_assert_true(g_file_set_contents(cut, (const char *)f->data, f->len - 3, NULL));
    g_assert_null(cflow_profile_read(cut, &err));
    g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_FORMAT);
    g_assert_nonnull(strstr(err->message, "truncated"));
    g_clear_error(&err);
    g_byte_array_unref(f);
    rm_rf(dir);
}

/* ------------------------------------------------------------------------------------------ */
/* Rejection of damaged input */

static void test_reject_magic(void)
{
    GByteArray *f = serialize_small();
    f->data[3] = 'X';
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_FORMAT, "bad magic");
    expect_reject("hello, world, this is not a profile at all", 42, CFLOW_PROFILE_ERROR_FORMAT,
                  "not a cflow profile");
    expect_reject("", 0, CFLOW_PROFILE_ERROR_FORMAT, "not a cflow profile");
    expect_reject(NULL, 0, CFLOW_PROFILE_ERROR_FORMAT, "not a cflow profile");
    g_byte_array_unref(f);
}

static void test_reject_version(void)
{
    GByteArray *f = serialize_small();
    wr32(f->data + 8, 2);
    fix_header_crc(f->data, f->len); /* a real future file would have a valid CRC */
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_VERSION, "version 2 is not supported");
    wr32(f->data + 8, 0);
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_VERSION, "version 0");
    wr32(f->data + 8, 0x01000000); /* big-endian 1 */
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_VERSION, "version 16777216");
    g_byte_array_unref(f);
}

static void test_reject_truncated(void)
{
    GByteArray *f = serialize_small();
    for (size_t len = 0; len < f->len; len++) {
        /* A copy of exactly len bytes, so a sanitizer catches any read past the end. */
        uint8_t *copy = g_memdup2(f->data, len);
        GError *err = NULL;
        CflowProfile *p = cflow_profile_parse(len > 0 ? copy : NULL, len, &err);
        if (p != NULL) {
            g_error("a profile truncated to %zu of %u bytes was accepted", len, f->len);
        }
        g_assert_error(err, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_FORMAT);
        if (len > 0 && strstr(err->message, "truncated") == NULL) {
            g_error("truncated to %zu: unexpected message \"%s\"", len, err->message);
        }
        g_error_free(err);
        g_free(copy);
    }
    g_byte_array_unref(f);
}

/* Is byte i covered by a checksum (the header and section table, or a section)? */
static bool covered(const uint8_t *file, size_t i)
{
    if (i < header_len_of(file)) {
        return true;
    }
    uint32_t n = rd32(file + 12);
    for (uint32_t s = 0; s < n; s++) {
        const uint8_t *e = file + CFLOW_PROFILE_HEADER_SIZE + s * CFLOW_PROFILE_SECTION_ENTRY_SIZE;
        if (i >= rd64(e + 8) && i < rd64(e + 8) + rd64(e + 16)) {
            return true;
        }
    }
    return false;
}

static void test_reject_bitflips(void)
{
    GByteArray *f = serialize_small();
    g_autoptr(CflowProfile) orig = make_small();
    guint covered_bytes = 0, accepted = 0;
    for (size_t i = 0; i < f->len; i++) {
        bool cov = covered(f->data, i);
        covered_bytes += cov;
        for (int bit = 0; bit < 9; bit++) { /* each single bit, then the whole byte */
            uint8_t *copy = g_memdup2(f->data, f->len);
            copy[i] ^= bit < 8 ? (uint8_t)(1u << bit) : 0xff;
            GError *err = NULL;
            CflowProfile *p = cflow_profile_parse(copy, f->len, &err);
            if (p != NULL) {
                /* Only padding between sections may change harmlessly. */
                g_assert_no_error(err);
                if (cov) {
                    g_error("flip %d of checksummed byte %zu went undetected", bit, i);
                }
                assert_equal(orig, p);
                g_assert_true(cflow_profile_validate(p, NULL));
                cflow_profile_free(p);
                accepted++;
            } else {
                g_assert_nonnull(err);
                g_assert_true(err->domain == CFLOW_PROFILE_ERROR);
                g_assert_cmpuint(strlen(err->message), >, 10);
                g_error_free(err);
            }
            g_free(copy);
        }
    }
    g_test_message("%u of %u bytes checksummed, %u flips harmless", covered_bytes, f->len,
                   accepted);
    g_assert_cmpuint(covered_bytes, >, f->len * 9 / 10);
    g_byte_array_unref(f);
}

/* Flipping a byte in a section and fixing nothing reports that section's checksum. */
static void test_reject_checksum(void)
{
    static const struct {
        uint32_t type;
        const char *name;
    } secs[] = {{CFLOW_SECTION_META, "meta"},       {CFLOW_SECTION_STRINGS, "strings"},
                {CFLOW_SECTION_INSNS, "insns"},     {CFLOW_SECTION_EDGES, "edges"},
                {CFLOW_SECTION_BLOCKS, "blocks"},   {CFLOW_SECTION_BLOCK_INSNS, "block_insns"}};
    for (size_t k = 0; k < G_N_ELEMENTS(secs); k++) {
        GByteArray *f = serialize_small();
        uint8_t *e = entry(f->data, (unsigned)find_section(f->data, secs[k].type));
        uint64_t off = rd64(e + 8), len = rd64(e + 16);
        g_assert_cmpuint(len, >, 0);
        f->data[off + len / 2] ^= 0x01;
        g_autofree char *needle = g_strdup_printf("section %s: checksum mismatch", secs[k].name);
        expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_CHECKSUM, needle);
        g_byte_array_unref(f);
    }
    GByteArray *f = serialize_small();
    f->data[CFLOW_PROFILE_HEADER_SIZE + 40] ^= 0x80; /* inside the section table */
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_CHECKSUM, "header: checksum mismatch");
    g_byte_array_unref(f);
}

static void test_reject_index(void)
{
    {
        g_autoptr(CflowProfile) p = make_small();
        cflow_profile_edge(p, 5)->from = 4;
        expect_reject_profile(p, "edge 5: source insn index 4 out of range (4 insns)");
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        cflow_profile_edge(p, 1)->kind = 77;
        expect_reject_profile(p, "edge 1: unknown kind 77");
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        g_array_index(p->block_insns, uint32_t, 1) = 1000;
        expect_reject_profile(p, "block_insns 1: insn index 1000 out of range");
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        cflow_profile_block(p, 2)->first = 2;
        cflow_profile_block(p, 2)->n_insns = 0xfffffffe; /* wraps to 0 in 32-bit arithmetic */
        expect_reject_profile(p, "block 2: insns");
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        cflow_profile_insn(p, 1)->disas = 0x7fffffff;
        expect_reject_profile(p, "insn 1: disassembly string offset 2147483647 outside the pool");
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        cflow_profile_insn(p, 0)->symbol = p->strings->len;
        expect_reject_profile(p, "insn 0: symbol string offset");
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        g_array_index(p->meta, CflowMeta, 1).value = UINT32_MAX;
        expect_reject_profile(p, "meta 1: string offset 4294967295 outside the pool");
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        g_array_index(p->meta, CflowMeta, 1).key = g_array_index(p->meta, CflowMeta, 0).key;
        expect_reject_profile(p, "meta 1: duplicate key \"arch\"");
    }
}

static void test_reject_strings(void)
{
    {
        g_autoptr(CflowProfile) p = make_small();
        g_byte_array_append(p->strings, (const guint8 *)"tail", 4); /* no NUL */
        expect_reject_profile(p, "section strings: the last string is not NUL-terminated");
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        p->strings->data[0] = 'x';
        expect_reject_profile(p, "section strings: the pool must start with the empty string");
    }
    {
        g_autoptr(CflowProfile) p = make_small();
        g_byte_array_set_size(p->strings, 0);
        expect_reject_profile(p, "section strings: the pool must start with the empty string");
    }
}

/* A section table entry changed on purpose, with valid checksums: the structural checks. */
static GByteArray *small_with_entry(uint32_t type, int field_offset, uint64_t value, bool wide)
{
    GByteArray *f = serialize_small();
    uint8_t *e = entry(f->data, (unsigned)find_section(f->data, type));
    if (wide) {
        wr64(e + field_offset, value);
    } else {
        wr32(e + field_offset, (uint32_t)value);
    }
    fix_header_crc(f->data, f->len);
    return f;
}

static void test_reject_counts(void)
{
    GByteArray *f;
    /* count * 24 wraps around to the real length 6 * 24 in 64-bit arithmetic. */
    f = small_with_entry(CFLOW_SECTION_EDGES, 24, 6 + ((uint64_t)1 << 61), true);
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_FORMAT,
                  "section edges: count 2305843009213693958 does not match length 144");
    g_byte_array_unref(f);
    f = small_with_entry(CFLOW_SECTION_INSNS, 24, 5, true);
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_FORMAT,
                  "section insns: count 5 does not match length 96");
    g_byte_array_unref(f);
    f = small_with_entry(CFLOW_SECTION_BLOCK_INSNS, 24, UINT64_MAX, true);
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_FORMAT, "section block_insns: count");
    g_byte_array_unref(f);
    f = small_with_entry(CFLOW_SECTION_STRINGS, 24, 1, true);
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_FORMAT, "section strings: count 1");
    g_byte_array_unref(f);
    /* A length that is not a whole number of records. */
    {
        GByteArray *g = serialize_small();
        Part parts[8];
        unsigned n = split(g->data, parts);
        for (unsigned i = 0; i < n; i++) {
            if (parts[i].type == CFLOW_SECTION_META) {
                parts[i].len -= 1;
            }
        }
        GByteArray *h = assemble(parts, n);
        expect_reject(h->data, h->len, CFLOW_PROFILE_ERROR_FORMAT,
                      "section meta: count 2 does not match length 15");
        g_byte_array_unref(h);
        g_byte_array_unref(g);
    }
    /* Section count in the header. */
    f = serialize_small();
    wr32(f->data + 12, UINT32_MAX);
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_FORMAT,
                  "header: 4294967295 sections, more than the limit of 256");
    wr32(f->data + 12, 200); /* within the limit but the table would pass the end */
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_FORMAT,
                  "section table: truncated (200 entries need 6432 bytes");
    g_byte_array_unref(f);
}

static void test_reject_bounds(void)
{
    GByteArray *f;
    f = small_with_entry(CFLOW_SECTION_EDGES, 16, UINT64_MAX, true); /* offset + length wraps */
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_FORMAT,
                  "section edges: bytes [");
    g_byte_array_unref(f);
    f = small_with_entry(CFLOW_SECTION_STRINGS, 8, UINT64_MAX - 3, true);
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_FORMAT,
                  "are outside the file");
    g_byte_array_unref(f);
    f = small_with_entry(CFLOW_SECTION_META, 8, 8, true); /* inside the header */
    expect_reject(f->data, f->len, CFLOW_PROFILE_ERROR_FORMAT, "section meta: bytes [8, +16) overlap the header (224 bytes)");
    g_byte_array_unref(f);
    /* Two sections over the same bytes. */
    {
        GByteArray *g = serialize_small();
        uint8_t *ei = entry(g->data, (unsigned)find_section(g->data, CFLOW_SECTION_INSNS));
        uint8_t *eb = entry(g->data, (unsigned)find_section(g->data, CFLOW_SECTION_BLOCKS));
        wr64(eb + 8, rd64(ei + 8) + 24);
        fix_all_crcs(g->data, g->len);
        expect_reject(g->data, g->len, CFLOW_PROFILE_ERROR_FORMAT, "overlaps section");
        g_byte_array_unref(g);
    }
    /* Trailing bytes after a complete profile. */
    {
        GByteArray *g = serialize_small();
        g_byte_array_append(g, (const guint8 *)"junk", 4);
        expect_reject(g->data, g->len, CFLOW_PROFILE_ERROR_FORMAT, "trailing data");
        g_byte_array_unref(g);
    }
    /* The reserved header field. */
    {
        GByteArray *g = serialize_small();
        wr32(g->data + 24, 1);
        fix_header_crc(g->data, g->len);
        expect_reject(g->data, g->len, CFLOW_PROFILE_ERROR_FORMAT, "reserved field");
        g_byte_array_unref(g);
    }
}

static void test_sections_missing_duplicate_unknown(void)
{
    GByteArray *f = serialize_small();
    g_autoptr(CflowProfile) orig = make_small();
    Part parts[10];
    unsigned n = split(f->data, parts);
    g_assert_cmpuint(n, ==, 6);

    /* Each required section left out. */
    for (unsigned drop = 0; drop < n; drop++) {
        Part sub[10];
        unsigned m = 0;
        for (unsigned i = 0; i < n; i++) {
            if (i != drop) {
                sub[m++] = parts[i];
            }
        }
        GByteArray *g = assemble(sub, m);
        static const char *const names[] = {"", "meta", "strings", "insns",
                                            "edges", "blocks", "block_insns"};
        g_autofree char *needle = g_strdup_printf("section %s is missing", names[parts[drop].type]);
        expect_reject(g->data, g->len, CFLOW_PROFILE_ERROR_FORMAT, needle);
        g_byte_array_unref(g);
    }

    /* One required section twice. */
    {
        Part dup[10];
        memcpy(dup, parts, n * sizeof(Part));
        dup[n] = parts[2];
        GByteArray *g = assemble(dup, n + 1);
        expect_reject(g->data, g->len, CFLOW_PROFILE_ERROR_FORMAT, "appears twice");
        g_byte_array_unref(g);
    }

    /* Unknown sections (before, between and after) are skipped; sections in another order. */
    {
        static const char future[] = "a section from a newer writer";
        Part more[10];
        unsigned m = 0;
        more[m++] = (Part){0x1000, future, sizeof future, 1};
        for (unsigned i = n; i-- > 0;) {
            more[m++] = parts[i];
            if (i == 3) {
                more[m++] = (Part){0, future, 5, 5};
            }
        }
        more[m++] = (Part){0xffffffff, "", 0, 0};
        GByteArray *g = assemble(more, m);
        GError *err = NULL;
        g_autoptr(CflowProfile) p = cflow_profile_parse(g->data, g->len, &err);
        g_assert_no_error(err);
        assert_equal(orig, p);
        /* ...but their checksums are still checked. */
        uint8_t *e0 = entry(g->data, 0);
        g->data[rd64(e0 + 8)] ^= 1;
        expect_reject(g->data, g->len, CFLOW_PROFILE_ERROR_CHECKSUM,
                      "section 0 (unknown type 4096): checksum mismatch");
        g_byte_array_unref(g);
    }
    g_byte_array_unref(f);
}

/*
 * Random damage with the checksums recomputed afterwards, so that only the structural checks
 * stand between the damage and the data: nothing may crash, and whatever is accepted must
 * validate.
 */
static void test_reject_random_structural(void)
{
    GByteArray *f = serialize_small();
    GRand *rng = g_rand_new_with_seed(12345);
    guint accepted = 0, rounds = 20000;
    for (guint r = 0; r < rounds; r++) {
        uint8_t *copy = g_memdup2(f->data, f->len);
        size_t len = f->len;
        guint flips = (guint)g_rand_int_range(rng, 1, 4);
        for (guint k = 0; k < flips; k++) {
            size_t at = (size_t)g_rand_int_range(rng, 0, (gint32)len);
            switch (g_rand_int_range(rng, 0, 4)) {
            case 0: copy[at] ^= (uint8_t)(1u << g_rand_int_range(rng, 0, 8)); break;
            case 1: copy[at] = (uint8_t)g_rand_int_range(rng, 0, 256); break;
            case 2: copy[at] = 0xff; break;
            default: copy[at] = 0; break;
            }
        }
        if (g_rand_boolean(rng)) {
            fix_all_crcs(copy, len);
        }
        GError *err = NULL;
        CflowProfile *p = cflow_profile_parse(copy, len, &err);
        if (p != NULL) {
            g_assert_no_error(err);
            g_assert_true(cflow_profile_validate(p, NULL));
            /* An accepted profile must be usable: serialize it and dump it as JSON. */
            size_t jlen;
            char *json = json_of(p, &jlen);
            g_assert_true(g_utf8_validate(json, (gssize)jlen, NULL));
            free(json);
            cflow_profile_free(p);
            accepted++;
        } else {
            g_assert_nonnull(err);
            g_error_free(err);
        }
        g_free(copy);
    }
    g_test_message("%u of %u damaged variants accepted (damage in harmless places)", accepted,
                   rounds);
    g_rand_free(rng);
    g_byte_array_unref(f);
}

/* ------------------------------------------------------------------------------------------ */
/* JSON */

static void test_json_text(void)
{
    g_autoptr(CflowProfile) p = make_small();
    size_t len;
    char *json = json_of(p, &len);
    static const char expected[] =
        "{\n"
        "\"meta\": {\n"
        "  \"arch\": \"aarch64\",\n"
        "  \"command\": \"./a.out \\\"x\\\"\"\n"
        "},\n"
        "\"edges\": [\n"
        "  {\"from\": \"0x4006f0\", \"to\": \"0x4006ec\", \"kind\": \"branch\", \"count\": 666, "
        "\"from_generation\": 0},\n"
        "  {\"from\": \"0x4006f0\", \"to\": \"0x4006f4\", \"kind\": \"fallthrough\", \"count\": 1, "
        "\"from_generation\": 0},\n"
        "  {\"from\": \"0x4006f0\", \"to\": \"0x400000\", \"kind\": \"exception\", \"count\": 0, "
        "\"from_generation\": 1},\n"
        "  {\"from\": \"0x4006ec\", \"to\": \"0xffffffff80001000\", \"kind\": \"interrupt\", "
        "\"count\": 18446744073709551615, \"from_generation\": 0},\n"
        "  {\"from\": \"0xffffffff80001000\", \"to\": \"0x0\", \"kind\": \"hostcall\", \"count\": 7, "
        "\"from_generation\": 0},\n"
        "  {\"from\": \"0x4006ec\", \"to\": \"0x4006ec\", \"kind\": \"early-exit\", \"count\": 2, "
        "\"from_generation\": 0}\n"
        "],\n"
        "\"insns\": [\n"
        "  {\"addr\": \"0x4006ec\", \"size\": 4, \"generation\": 0, \"disas\": \"cmp x0, #1\", "
        "\"symbol\": \"main\"},\n"
        "  {\"addr\": \"0x4006f0\", \"size\": 4, \"generation\": 0, \"disas\": \"b.ne #0x4006ec\", "
        "\"symbol\": \"main\"},\n"
        "  {\"addr\": \"0x4006f0\", \"size\": 4, \"generation\": 1, \"disas\": \"nop\", "
        "\"symbol\": null},\n"
        "  {\"addr\": \"0xffffffff80001000\", \"size\": 2, \"generation\": 0, \"disas\": \"\", "
        "\"symbol\": \"\"}\n"
        "],\n"
        "\"blocks\": [\n"
        "  {\"addr\": \"0x4006ec\", \"count\": 667, \"insns\": [\"0x4006ec\", \"0x4006f0\"]},\n"
        "  {\"addr\": \"0x4006f0\", \"count\": 3, \"insns\": [\"0x4006f0\"]},\n"
        "  {\"addr\": \"0xffffffff80001000\", \"count\": 0, \"insns\": []}\n"
        "]\n"
        "}\n";
    g_assert_cmpstr(json, ==, expected);
    check_json_content(p, json, len);
    free(json);
}

static void test_json_roundtrip_file(void)
{
    g_autoptr(CflowProfile) p = make_small();
    g_autofree char *dir = make_tmpdir();
    g_autofree char *bin = g_build_filename(dir, "p.cflow", NULL);
    g_autofree char *js = g_build_filename(dir, "p.json", NULL);
    GError *err = NULL;
    g_assert_true(cflow_profile_write(p, bin, &err));
    g_autoptr(CflowProfile) q = cflow_profile_read(bin, &err);
    g_assert_no_error(err);
    g_assert_true(cflow_profile_write_json_file(q, js, &err));
    g_assert_no_error(err);
    char *text;
    gsize len;
    g_assert_true(g_file_get_contents(js, &text, &len, NULL));
    check_json_content(p, text, len);
    size_t len2;
    char *direct = json_of(p, &len2);
    g_assert_cmpmem(text, len, direct, len2); /* same JSON before and after the binary trip */
    free(direct);
    g_free(text);
    g_assert_cmpuint(count_entries(dir), ==, 2);
    rm_rf(dir);
}

static void test_json_escape(void)
{
    static const struct {
        const char *in;
        const char *out; /* the JSON text, quotes included */
    } cases[] = {
        {"plain", "\"plain\""},
        {"say \"hi\"", "\"say \\\"hi\\\"\""},
        {"back\\slash", "\"back\\\\slash\""},
        {"nl\ncr\rtab\tbs\bff\f", "\"nl\\ncr\\rtab\\tbs\\bff\\f\""},
        {"\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\""},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
        {"\xff", "\"\\u00ff\""},
        {"bad\x80tail", "\"bad\\u0080tail\""},
        {"cut\xe2\x82", "\"cut\\u00e2\\u0082\""},          /* truncated sequence at the end */
        {"\xe2\x82x", "\"\\u00e2\\u0082x\""},             /* truncated in the middle */
        {"\xc0\xaf", "\"\\u00c0\\u00af\""},               /* overlong '/' */
        {"\xe0\x80\xaf", "\"\\u00e0\\u0080\\u00af\""},    /* overlong 3-byte */
        {"\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\""},    /* UTF-16 surrogate */
        {"\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\""}, /* above U+10FFFF */
        {"\xf5\x80", "\"\\u00f5\\u0080\""},
        {"</script>", "\"</script>\""},
    };
    g_autoptr(CflowProfile) p = cflow_profile_new();
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        cflow_profile_add_insn(p, 0x1000 + 4 * i, 4, 0, cases[i].in, cases[i].in);
    }
    cflow_profile_set_meta(p, "odd \"key\"\n", "\xff value \\");
    size_t len;
    char *json = json_of(p, &len);
    g_assert_true(g_utf8_validate(json, (gssize)len, NULL));
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *needle = g_strdup_printf("\"disas\": %s, \"symbol\": %s}", cases[i].out,
                                                  cases[i].out);
        if (strstr(json, needle) == NULL) {
            g_error("case %zu: %s not found in\n%s", i, needle, json);
        }
    }
    g_assert_nonnull(strstr(json, "\"odd \\\"key\\\"\\n\": \"\\u00ff value \\\\\""));
    check_json_content(p, json, len);
    /* Decoded, the valid strings come back exactly. */
    JVal *root = jparse(json, len);
    g_assert_nonnull(root);
    JVal *insns = jget(root, "insns");
    g_assert_cmpstr(jstr(jget(jat(insns, 3), "disas")), ==, "nl\ncr\rtab\tbs\bff\f");
    g_assert_cmpstr(jstr(jget(jat(insns, 4), "disas")), ==, "\x01\x1f\x7f");
    g_assert_cmpstr(jstr(jget(jat(insns, 6), "disas")), ==, "\xc3\xbf"); /* byte 0xff as U+00FF */
    jfree(root);
    free(json);
}

/* ------------------------------------------------------------------------------------------ */
/* Scale */

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 11;
}

static CflowProfile *make_large(guint n_edges, guint n_insns)
{
    CflowProfile *p = cflow_profile_new();
    cflow_profile_set_meta(p, "arch", "x86_64");
    uint64_t s = 42;
    char disas[64], sym[32];
    for (guint i = 0; i < n_insns; i++) {
        g_snprintf(disas, sizeof disas, "insn %u", i % 5000);
        g_snprintf(sym, sizeof sym, "f%u", i / 100);
        cflow_profile_add_insn(p, 0x400000 + 4ull * i, 1 + (uint32_t)(lcg(&s) % 15),
                               (uint32_t)(lcg(&s) % 3), disas, i % 7 == 0 ? NULL : sym);
    }
    g_array_set_size(p->edges, n_edges);
    CflowEdge *e = (CflowEdge *)(void *)p->edges->data;
    for (guint i = 0; i < n_edges; i++) {
        e[i].from = (uint32_t)(lcg(&s) % n_insns);
        e[i].kind = (uint32_t)(lcg(&s) % CFLOW_EDGE_KIND_COUNT);
        e[i].to = lcg(&s);
        e[i].count = lcg(&s) << (i % 12);
    }
    for (guint i = 0; i + 3 <= n_insns; i += 3) {
        const uint32_t ix[3] = {i, i + 1, i + 2};
        cflow_profile_add_block(p, cflow_profile_insn(p, i)->addr, lcg(&s), ix, 3);
    }
    return p;
}

static void test_large(void)
{
    const guint n_edges = 1000000, n_insns = 100000;
    g_autoptr(CflowProfile) p = make_large(n_edges, n_insns);
    g_autofree char *dir = make_tmpdir();
    g_autofree char *path = g_build_filename(dir, "big.cflow", NULL);
    GError *err = NULL;
    gint64 t0 = g_get_monotonic_time();
    g_assert_true(cflow_profile_write(p, path, &err));
    g_assert_no_error(err);
    gint64 t1 = g_get_monotonic_time();
    g_autoptr(CflowProfile) q = cflow_profile_read(path, &err);
    gint64 t2 = g_get_monotonic_time();
    g_assert_no_error(err);
    g_assert_nonnull(q);
    g_test_message("1M edges: write %.3f s, read %.3f s", (t1 - t0) / 1e6, (t2 - t1) / 1e6);
    g_assert_cmpuint(q->edges->len, ==, n_edges);
    assert_equal(p, q);
    /* Independent spot checks, field by field. */
    for (guint i = 0; i < n_edges; i += 99991) {
        const CflowEdge *a = cflow_profile_edge(p, i), *b = cflow_profile_edge(q, i);
        g_assert_cmpuint(a->from, ==, b->from);
        g_assert_cmpuint(a->kind, ==, b->kind);
        g_assert_cmpuint(a->to, ==, b->to);
        g_assert_cmpuint(a->count, ==, b->count);
    }
    const CflowInsn *last = cflow_profile_insn(q, n_insns - 1);
    g_assert_cmpuint(last->addr, ==, 0x400000 + 4ull * (n_insns - 1));
    g_assert_cmpstr(cflow_profile_string(q, last->disas), ==, "insn 4999");

    /* The JSON form: one edge per line, in order. */
    g_autofree char *js = g_build_filename(dir, "big.json", NULL);
    t0 = g_get_monotonic_time();
    g_assert_true(cflow_profile_write_json_file(q, js, &err));
    g_assert_no_error(err);
    t1 = g_get_monotonic_time();
    g_test_message("1M edges: JSON %.3f s", (t1 - t0) / 1e6);
    char *text;
    gsize len;
    g_assert_true(g_file_get_contents(js, &text, &len, NULL));
    g_assert_true(g_utf8_validate(text, (gssize)len, NULL));
    /* Lines found with memchr (g_strsplit is quadratic under AddressSanitizer's strstr). */
    GPtrArray *lines = g_ptr_array_new();
    for (char *line = text; line < text + len;) {
        char *nl = memchr(line, '\n', (size_t)(text + len - line));
        g_assert_nonnull(nl); /* the output ends with a newline */
        *nl = 0;
        g_ptr_array_add(lines, line);
        line = nl + 1;
    }
    guint edge_lines = 0, first_edge = 0;
    for (guint i = 0; i < lines->len; i++) {
        if (g_str_has_prefix(g_ptr_array_index(lines, i), "  {\"from\": ")) {
            if (edge_lines == 0) {
                first_edge = i;
            }
            edge_lines++;
        }
    }
    g_assert_cmpuint(edge_lines, ==, n_edges);
    for (guint i = 0; i < n_edges; i += 77777) {
        const CflowEdge *e = cflow_profile_edge(p, i);
        const CflowInsn *from = cflow_profile_insn(p, e->from);
        g_autofree char *want = g_strdup_printf(
            "  {\"from\": \"0x%" PRIx64 "\", \"to\": \"0x%" PRIx64 "\", \"kind\": \"%s\", "
            "\"count\": %" PRIu64 ", \"from_generation\": %" PRIu32 "}%s",
            from->addr, e->to, cflow_edge_kind_name(e->kind), e->count, from->generation,
            i + 1 < n_edges ? "," : "");
        g_assert_cmpstr(g_ptr_array_index(lines, first_edge + i), ==, want);
    }
    g_ptr_array_unref(lines);
    g_free(text);
    rm_rf(dir);
}

/* 10 million edges, with timings: only with -m perf. */
static void test_perf(void)
{
    const guint n_edges = 10000000, n_insns = 1000000;
    g_autoptr(CflowProfile) p = make_large(n_edges, n_insns);
    g_autofree char *dir = make_tmpdir();
    g_autofree char *path = g_build_filename(dir, "huge.cflow", NULL);
    g_autofree char *js = g_build_filename(dir, "huge.json", NULL);
    GError *err = NULL;
    gint64 t0 = g_get_monotonic_time();
    g_assert_true(cflow_profile_write(p, path, &err));
    gint64 t1 = g_get_monotonic_time();
    g_autoptr(CflowProfile) q = cflow_profile_read(path, &err);
    gint64 t2 = g_get_monotonic_time();
    g_assert_no_error(err);
    g_assert_true(cflow_profile_write_json_file(q, js, &err));
    gint64 t3 = g_get_monotonic_time();
    g_assert_no_error(err);
    assert_equal(p, q);
    g_test_minimized_result((t2 - t1) / 1e6, "10M edges: read %.3f s (write %.3f s, JSON %.3f s)",
                            (t2 - t1) / 1e6, (t1 - t0) / 1e6, (t3 - t2) / 1e6);
    g_assert_cmpfloat((t2 - t1) / 1e6, <, 2.0);
    rm_rf(dir);
}


/* Instruction bytes instead of text: the optional insn_bytes section round-trips at each
 * instruction's own size, texts are made from it when asked (and text a profile has wins),
 * pointers into the pool stay put, and a section that does not add up is refused. */
static void test_insn_bytes(void)
{
    static const uint8_t mov[] = {0x48, 0x89, 0xe5}, ret[] = {0xc3}, ud2[] = {0x0f, 0x0b};
    g_autoptr(CflowProfile) p = cflow_profile_new();
    cflow_profile_set_meta(p, "arch", "x86_64");
    uint32_t a = cflow_profile_add_insn(p, 0x1000, 3, 0, NULL, "main");
    cflow_profile_set_insn_bytes(p, a, mov, 3);
    uint32_t b = cflow_profile_add_insn(p, 0x1003, 1, 0, "ret (as given)", NULL);
    cflow_profile_set_insn_bytes(p, b, ret, 1);
    uint32_t c = cflow_profile_add_insn(p, 0x1004, 2, 0, NULL, NULL);
    cflow_profile_set_insn_bytes(p, c, ud2, 2);
    GBytes *bytes = NULL;
    g_autoptr(CflowProfile) q = reparse(p, &bytes);
    gsize len;
    const uint8_t *file = g_bytes_get_data(bytes, &len);
    int s = find_section(file, CFLOW_SECTION_INSN_BYTES);
    g_assert_cmpint(s, >=, 0);
    g_assert_cmpuint(rd64(entry((uint8_t *)file, (unsigned)s) + 16), ==, 3 + 1 + 2);
    g_assert_cmpmem(cflow_profile_insn_bytes(q, a), 3, mov, 3);
    const char *sym = cflow_profile_string(q, cflow_profile_insn(q, a)->symbol);
    g_assert_cmpstr(cflow_profile_insn_disas(q, a), ==, "movq %rsp, %rbp");
    g_assert_cmpstr(cflow_profile_insn_disas(q, b), ==, "ret (as given)");
    g_assert_cmpstr(cflow_profile_insn_disas(q, c), ==, "ud2 ");
    g_assert_true(sym == cflow_profile_string(q, cflow_profile_insn(q, a)->symbol));
    g_assert_cmpstr(sym, ==, "main");
    /* JSON has the text */
    size_t jlen = 0;
    g_autofree char *json = json_of(q, &jlen);
    g_assert_nonnull(strstr(json, "\"disas\": \"movq %rsp, %rbp\""));
    /* an instruction added without bytes to a profile that keeps them: zeros, its text wins */
    uint32_t late = cflow_profile_add_insn(q, 0x2000, 4, 0, "late one", NULL);
    GError *verr = NULL;
    g_assert_true(cflow_profile_validate(q, &verr));
    static const uint8_t zeros[4] = {0};
    g_assert_cmpmem(cflow_profile_insn_bytes(q, late), 4, zeros, 4);
    g_assert_cmpstr(cflow_profile_insn_disas(q, late), ==, "late one");
    /* an architecture capstone does not know: the bytes as data */
    cflow_profile_set_meta(q, "arch", "riscv64");
    g_autoptr(CflowProfile) r = reparse(q, NULL);
    g_assert_cmpstr(cflow_profile_insn_disas(r, c), ==, ".byte 0x0f,0x0b");
    /* aarch64 */
    static const uint8_t nop[] = {0x1f, 0x20, 0x03, 0xd5};
    g_autoptr(CflowProfile) arm = cflow_profile_new();
    cflow_profile_set_meta(arm, "arch", "aarch64");
    cflow_profile_set_insn_bytes(arm, cflow_profile_add_insn(arm, 0x400000, 4, 0, NULL, NULL),
                                 nop, 4);
    g_autoptr(CflowProfile) arm2 = reparse(arm, NULL);
    g_assert_cmpstr(cflow_profile_insn_disas(arm2, 0), ==, "nop ");
    /* one byte short of what the sizes add up to (checksums fixed): refused */
    GByteArray *bad = g_byte_array_new();
    g_byte_array_append(bad, file, (guint)len);
    uint8_t *e = entry(bad->data, (unsigned)s);
    wr64(e + 16, 5);
    wr64(e + 24, 5);
    fix_all_crcs(bad->data, bad->len);
    expect_reject(bad->data, bad->len, CFLOW_PROFILE_ERROR_FORMAT, "insn_bytes");
    g_byte_array_unref(bad);
    g_bytes_unref(bytes);
}


/* Privilege levels: the optional insn_priv section round-trips, is absent when not recorded,
 * and a damaged one (bad level, wrong count) is refused. */
static void test_insn_priv(void)
{
    g_autoptr(CflowProfile) p = make_small();
    g_assert_cmpuint(p->insn_priv->len, ==, 0);
    g_autoptr(CflowProfile) plain = reparse(p, NULL);
    g_assert_cmpuint(plain->insn_priv->len, ==, 0);
    g_assert_cmpint(cflow_profile_insn_priv(plain, 0), ==, CFLOW_PRIV_UNKNOWN);

    cflow_profile_set_insn_priv(p, 0, CFLOW_PRIV_USER);
    cflow_profile_set_insn_priv(p, 3, CFLOW_PRIV_KERNEL);
    uint32_t late = cflow_profile_add_insn(p, 0x500000, 4, 0, "nop", NULL); /* after: sized */
    cflow_profile_set_insn_priv(p, late, CFLOW_PRIV_FIRMWARE);
    g_assert_cmpuint(p->insn_priv->len, ==, p->insns->len);
    GBytes *bytes = NULL;
    g_autoptr(CflowProfile) q = reparse(p, &bytes);
    g_assert_cmpuint(q->insn_priv->len, ==, p->insns->len);
    g_assert_cmpint(cflow_profile_insn_priv(q, 0), ==, CFLOW_PRIV_USER);
    g_assert_cmpint(cflow_profile_insn_priv(q, 1), ==, CFLOW_PRIV_UNKNOWN);
    g_assert_cmpint(cflow_profile_insn_priv(q, 3), ==, CFLOW_PRIV_KERNEL);
    g_assert_cmpint(cflow_profile_insn_priv(q, late), ==, CFLOW_PRIV_FIRMWARE);
    CflowPriv parsed;
    g_assert_true(cflow_priv_parse("hypervisor", &parsed));
    g_assert_cmpint(parsed, ==, CFLOW_PRIV_HYPERVISOR);
    g_assert_false(cflow_priv_parse("root", &parsed));

    /* JSON names the level of every instruction */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    g_assert_true(cflow_profile_write_json(q, f, NULL));
    fclose(f);
    g_assert_nonnull(strstr(buf, "\"priv\": \"kernel\""));
    g_assert_nonnull(strstr(buf, "\"priv\": \"firmware\""));
    free(buf);

    /* an out-of-range level is refused, naming the instruction */
    p->insn_priv->data[1] = 9;
    GError *err = NULL;
    g_assert_false(cflow_profile_validate(p, &err));
    g_assert_nonnull(strstr(err->message, "insn 1: unknown privilege level 9"));
    g_clear_error(&err);
    /* one level too few */
    p->insn_priv->data[1] = CFLOW_PRIV_USER;
    g_byte_array_set_size(p->insn_priv, p->insns->len - 1);
    g_assert_false(cflow_profile_validate(p, &err));
    g_assert_nonnull(strstr(err->message, "insn_priv"));
    g_clear_error(&err);
    g_bytes_unref(bytes);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/profile/model/intern", test_intern);
    g_test_add_func("/profile/model/meta", test_meta);
    g_test_add_func("/profile/model/kinds", test_kinds);
    g_test_add_func("/profile/model/build", test_build);
    g_test_add_func("/profile/model/validate", test_validate);
    g_test_add_func("/profile/binary/layout", test_layout);
    g_test_add_func("/profile/binary/roundtrip", test_roundtrip);
    g_test_add_func("/profile/binary/empty", test_empty);
    g_test_add_func("/profile/binary/extend-after-read", test_extend_after_read);
    g_test_add_func("/profile/binary/atomic-write", test_atomic_write);
    g_test_add_func("/profile/binary/unwritable", test_unwritable);
    g_test_add_func("/profile/binary/read-errors", test_read_errors);
    g_test_add_func("/profile/reject/magic", test_reject_magic);
    g_test_add_func("/profile/reject/version", test_reject_version);
    g_test_add_func("/profile/reject/truncated", test_reject_truncated);
    g_test_add_func("/profile/reject/bitflips", test_reject_bitflips);
    g_test_add_func("/profile/reject/checksum", test_reject_checksum);
    g_test_add_func("/profile/reject/index", test_reject_index);
    g_test_add_func("/profile/reject/strings", test_reject_strings);
    g_test_add_func("/profile/reject/counts", test_reject_counts);
    g_test_add_func("/profile/reject/bounds", test_reject_bounds);
    g_test_add_func("/profile/reject/sections", test_sections_missing_duplicate_unknown);
    g_test_add_func("/profile/reject/random-structural", test_reject_random_structural);
    g_test_add_func("/profile/json/text", test_json_text);
    g_test_add_func("/profile/insn-priv", test_insn_priv);
    g_test_add_func("/profile/insn-bytes", test_insn_bytes);
    g_test_add_func("/profile/json/roundtrip-file", test_json_roundtrip_file);
    g_test_add_func("/profile/json/escape", test_json_escape);
    g_test_add_func("/profile/scale/1m-edges", test_large);
    if (g_test_perf()) {
        g_test_add_func("/profile/scale/10m-edges-perf", test_perf);
    }
    return g_test_run();
}
