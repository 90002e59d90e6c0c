/* harness.c: the fixture, its run and output capture for the tool's unit tests (harness.h). */
#include "harness.h"

#include <elfutils/libdwfl.h>

#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *env_path(const char *name)
{
    const char *path = g_getenv(name);
    if (!path || !*path) {
        g_error("%s is not set: run the tool's unit tests with meson test", name);
    }
    return path;
}

const char *fixture_path(void)
{
    return env_path("CFLOW_TEST_FIXTURE");
}

const char *fixture_nodebug_path(void)
{
    return env_path("CFLOW_TEST_FIXTURE_NODEBUG");
}

const char *fixture_plt_path(gboolean ibt)
{
    return env_path(ibt ? "CFLOW_TEST_FIXTURE_PLT_IBT" : "CFLOW_TEST_FIXTURE_PLT");
}

/* Opens the ELF file or fails the test. */
static Elf *open_elf(const char *path, int *fd)
{
    elf_version(EV_CURRENT);
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    g_assert_cmpint(*fd, >=, 0);
    Elf *elf = elf_begin(*fd, ELF_C_READ, NULL);
    g_assert_nonnull(elf);
    return elf;
}

Elf *fixture_elf(const char *path, int *fd)
{
    return open_elf(path, fd);
}

uint64_t fixture_symbol(const char *path, const char *name, uint64_t *size)
{
    int fd;
    Elf *elf = open_elf(path, &fd);
    uint64_t found = 0;
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn && !found; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB) {
            continue;
        }
        Elf_Data *data = elf_getdata(scn, NULL);
        for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
            GElf_Sym sym;
            const char *n = gelf_getsym(data, (int)i, &sym)
                                ? elf_strptr(elf, sh.sh_link, sym.st_name)
                                : NULL;
            if (n && strcmp(n, name) == 0 && GELF_ST_TYPE(sym.st_info) == STT_FUNC) {
                found = sym.st_value;
                if (size) {
                    *size = sym.st_size;
                }
            }
        }
    }
    elf_end(elf);
    close(fd);
    if (!found) {
        g_error("no function %s in %s", name, path);
    }
    return found;
}

uint64_t fixture_offset(const char *path, uint64_t vaddr)
{
    int fd;
    Elf *elf = open_elf(path, &fd);
    size_t n = 0;
    g_assert_cmpint(elf_getphdrnum(elf, &n), ==, 0);
    uint64_t off = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        GElf_Phdr ph;
        if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && vaddr >= ph.p_vaddr &&
            vaddr < ph.p_vaddr + ph.p_filesz) {
            off = vaddr - ph.p_vaddr + ph.p_offset;
        }
    }
    elf_end(elf);
    close(fd);
    g_assert_cmphex(off, !=, UINT64_MAX);
    return off;
}

unsigned fixture_line(const char *name)
{
    g_autofree char *marker = g_strdup_printf("/* MARK %s */", name);
    const char *files[] = {"fixture.c", "fixture-inline.c", "fixture-switch.c"};
    for (guint f = 0; f < G_N_ELEMENTS(files); f++) {
        g_autofree char *path = g_build_filename(env_path("CFLOW_TEST_FIXTURE_SOURCES"),
                                                 files[f], NULL);
        g_autofree char *text = NULL;
        g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
        g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
        for (unsigned i = 0; lines[i]; i++) {
            if (strstr(lines[i], marker)) {
                return i + 1;
            }
        }
    }
    g_error("no marker %s in the fixture's sources", marker);
}

CflowProfile *fixture_outer_profile(uint64_t k, uint64_t *entry, uint64_t *size)
{
    const char *path = fixture_path();
    *entry = fixture_symbol(path, "fixture_outer", size);
    CflowProfile *p = cflow_profile_new();
    cflow_profile_set_meta(p, "guest", path);
    g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    for (uint64_t a = *entry; a < *entry + *size; a++) {
        uint32_t id = cflow_profile_add_insn(p, a, 1, 0, "byte", NULL);
        g_array_append_val(ids, id);
    }
    cflow_profile_add_block(p, *entry, k, (uint32_t *)ids->data, ids->len);
    return p;
}

CflowProfile *fixture_run_profile(FixtureRun *r)
{
    const char *path = fixture_path();
    r->leaf = fixture_symbol(path, "fixture_leaf", NULL);
    r->add = fixture_symbol(path, "fixture_add", NULL);
    r->loop = fixture_symbol(path, "fixture_loop", NULL);
    r->rt_leaf = FIXTURE_BASE + fixture_offset(path, r->leaf);
    r->rt_add = FIXTURE_BASE + fixture_offset(path, r->add);
    r->rt_loop = FIXTURE_BASE + fixture_offset(path, r->loop);
    r->line_leaf = fixture_line("fixture_leaf");
    r->line_add = fixture_line("fixture_add");
    r->line_loop = fixture_line("fixture_loop");
    /* the source order is the address order, which the expected outputs rely on */
    g_assert_cmphex(r->leaf, <, r->add);
    g_assert_cmphex(r->add, <, r->loop);

    CflowProfile *p = cflow_profile_new();
    cflow_profile_set_meta(p, "arch", "x86_64");
    cflow_profile_set_meta(p, "guest", path);
    g_autofree char *maps = g_strdup_printf("%llx-%llx 0 %s", FIXTURE_BASE, FIXTURE_MAP_END, path);
    cflow_profile_set_meta(p, "maps", maps);
    uint64_t a = r->rt_add, l = r->rt_leaf;
    uint32_t add0 = cflow_profile_add_insn(p, a, 4, 0, "mov %edi, %eax", NULL);
    uint32_t call = cflow_profile_add_insn(p, a + 4, 5, 0, "call 0x1", NULL);
    uint32_t jne = cflow_profile_add_insn(p, a + 9, 2, 0, "jne 0x2", NULL);
    uint32_t ret = cflow_profile_add_insn(p, a + 11, 1, 0, "ret", NULL);
    uint32_t leaf0 = cflow_profile_add_insn(p, l, 3, 0, "lea 1(%rdi), %eax", NULL);
    uint32_t leaf_ret = cflow_profile_add_insn(p, l + 3, 1, 0, "ret", NULL);
    uint32_t jmp = cflow_profile_add_insn(p, r->rt_loop, 5, 0, "jmp 0x3", NULL);
    cflow_profile_add_block(p, a, 10, (uint32_t[]){add0, call}, 2);
    cflow_profile_add_block(p, a + 9, 10, (uint32_t[]){jne}, 1);
    cflow_profile_add_block(p, a + 11, 4, (uint32_t[]){ret}, 1);
    cflow_profile_add_block(p, l, 10, (uint32_t[]){leaf0, leaf_ret}, 2);
    cflow_profile_add_block(p, r->rt_loop, 2, (uint32_t[]){jmp}, 1);
    cflow_profile_add_block(p, a + 9, 3, (uint32_t[]){jne}, 1); /* the same block again */
    cflow_profile_add_edge(p, call, CFLOW_EDGE_BRANCH, l, 10);
    cflow_profile_add_edge(p, leaf_ret, CFLOW_EDGE_BRANCH, a + 9, 10);
    cflow_profile_add_edge(p, jne, CFLOW_EDGE_BRANCH, a, 6);
    cflow_profile_add_edge(p, jne, CFLOW_EDGE_FALLTHROUGH, a + 11, 4);
    cflow_profile_add_edge(p, ret, CFLOW_EDGE_BRANCH, 0x1000, 4);
    cflow_profile_add_edge(p, jmp, CFLOW_EDGE_BRANCH, a, 2);
    return p;
}

char *export_text(const CflowExportFormat *format, CflowExport *x, gsize *len, GError **error)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    g_assert_nonnull(f);
    bool ok = format->write(x, f, error);
    g_assert_cmpint(fclose(f), ==, 0);
    if (len) {
        *len = size;
    }
    if (!ok) {
        free(buf);
        return NULL;
    }
    /* open_memstream's buffer is malloc'd: hand back a GLib copy (binary-safe, NUL-ended) */
    char *copy = g_malloc(size + 1);
    memcpy(copy, buf, size);
    copy[size] = 0;
    free(buf);
    return copy;
}

Dwfl_Module *offline_module(const char *path, Dwfl **dwfl)
{
    static char *debuginfo_path = NULL;
    static const Dwfl_Callbacks offline = {
        .find_elf = dwfl_build_id_find_elf,
        .find_debuginfo = dwfl_standard_find_debuginfo,
        .section_address = dwfl_offline_section_address,
        .debuginfo_path = &debuginfo_path,
    };
    *dwfl = dwfl_begin(&offline);
    g_assert_nonnull(*dwfl);
    Dwfl_Module *mod = dwfl_report_offline(*dwfl, path, path, -1);
    dwfl_report_end(*dwfl, NULL, NULL);
    return mod;
}
