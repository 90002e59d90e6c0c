/*
 * replay.c: a main() for the fuzz targets where libFuzzer is not linked in: runs
 * LLVMFuzzerTestOneInput once on each file named, or on each file in each directory named.
 * The meson test 'fuzz-corpus-*' runs the committed corpus through it with the ordinary
 * compiler (and again in the sanitizer build), so every seed and every crash input once found
 * stays checked even where clang is not installed.
 */
#include "fuzz_common.h"

static int cmp_path(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static unsigned replay_file(const char *path)
{
    char *data;
    gsize len;
    GError *err = NULL;
    if (!g_file_get_contents(path, &data, &len, &err)) {
        fprintf(stderr, "replay: %s\n", err->message);
        exit(1);
    }
    LLVMFuzzerTestOneInput((const uint8_t *)data, len);
    g_free(data);
    return 1;
}

int main(int argc, char **argv)
{
    LLVMFuzzerInitialize(&argc, &argv);
    unsigned n = 0;
    for (int i = 1; i < argc; i++) {
        if (!g_file_test(argv[i], G_FILE_TEST_IS_DIR)) {
            n += replay_file(argv[i]);
            continue;
        }
        GError *err = NULL;
        GDir *dir = g_dir_open(argv[i], 0, &err);
        if (dir == NULL) {
            fprintf(stderr, "replay: %s\n", err->message);
            return 1;
        }
        /* In name order, so a failure is reproducible by its position. */
        GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
        const char *name;
        while ((name = g_dir_read_name(dir)) != NULL) {
            g_ptr_array_add(names, g_build_filename(argv[i], name, NULL));
        }
        g_dir_close(dir);
        g_ptr_array_sort(names, cmp_path);
        for (guint k = 0; k < names->len; k++) {
            n += replay_file(g_ptr_array_index(names, k));
        }
        g_ptr_array_unref(names);
    }
    if (n == 0) {
        fprintf(stderr, "replay: no inputs\n");
        return 1;
    }
    printf("replay: %u inputs, no failure\n", n);
    return 0;
}
