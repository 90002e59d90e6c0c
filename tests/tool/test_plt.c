/*
 * test_plt.c: PLT stubs named "name@plt" (tool/plt.c) on fixture-plt.c, which calls puts,
 * getenv and strlen: linked with a lazy .plt, and with IBT's .plt.sec, where the stubs that
 * calls go to are in the second PLT and the first holds only lazy-binding code. Then the same
 * names through srcline at run-time addresses. (Every stub of real programs and libraries of
 * three architectures is compared with objdump's names in tests/integration/test_names.py.)
 */
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "plt.h"
#include "srcline.h"

static const char *called[] = {"puts@plt", "getenv@plt", "strlen@plt"};

/* The name of the section holding link-time address vaddr, from the section headers. */
static char *section_of(Elf *elf, uint64_t vaddr)
{
    size_t shstrndx;
    g_assert_cmpint(elf_getshdrstrndx(elf, &shstrndx), ==, 0);
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr sh;
        if (gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_ALLOC) && vaddr >= sh.sh_addr &&
            vaddr < sh.sh_addr + sh.sh_size) {
            return g_strdup(elf_strptr(elf, shstrndx, sh.sh_name));
        }
    }
    return NULL;
}

static uint64_t section_start(Elf *elf, const char *name)
{
    size_t shstrndx;
    g_assert_cmpint(elf_getshdrstrndx(elf, &shstrndx), ==, 0);
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr sh;
        if (gelf_getshdr(scn, &sh) && strcmp(elf_strptr(elf, shstrndx, sh.sh_name), name) == 0) {
            return sh.sh_addr;
        }
    }
    g_error("no section %s", name);
}

static const CflowPltStub *stub_named(const CflowPlt *plt, const char *name)
{
    for (guint i = 0; i < cflow_plt_count(plt); i++) {
        if (strcmp(cflow_plt_stub(plt, i)->name, name) == 0) {
            return cflow_plt_stub(plt, i);
        }
    }
    return NULL;
}

static void check_stubs(gboolean ibt)
{
    int fd;
    Elf *elf = fixture_elf(fixture_plt_path(ibt), &fd);
    g_autoptr(CflowPlt) plt = cflow_plt_read(elf);
    const char *home = ibt ? ".plt.sec" : ".plt";
    for (guint i = 0; i < G_N_ELEMENTS(called); i++) {
        const CflowPltStub *s = stub_named(plt, called[i]);
        g_assert_nonnull(s);
        g_autofree char *section = section_of(elf, s->start);
        g_assert_cmpstr(section, ==, home);
        g_assert_cmpuint(s->size, ==, 16); /* x86_64's PLT entries */
        g_assert_true(cflow_plt_find(plt, s->start) == s);
        g_assert_true(cflow_plt_find(plt, s->start + s->size - 1) == s);
        g_assert_true(cflow_plt_find(plt, s->start + s->size) != s);
    }
    /* every named stub lies in a PLT section, and they do not overlap */
    for (guint i = 0; i < cflow_plt_count(plt); i++) {
        const CflowPltStub *s = cflow_plt_stub(plt, i);
        g_autofree char *section = section_of(elf, s->start);
        g_assert_true(g_str_has_prefix(section, ".plt"));
        g_assert_true(g_str_has_suffix(s->name, "@plt"));
        if (i > 0) {
            const CflowPltStub *prev = cflow_plt_stub(plt, i - 1);
            g_assert_cmphex(prev->start + prev->size, <=, s->start);
        }
    }
    /* the first PLT's header (the lazy resolver's call) is no stub: named after the section */
    const CflowPltStub *header = cflow_plt_find(plt, section_start(elf, ".plt"));
    g_assert_nonnull(header);
    g_assert_cmpstr(header->name, ==, ".plt");
    g_assert_null(cflow_plt_find(plt, section_start(elf, ".text")));
    elf_end(elf);
    close(fd);
}

static void test_lazy_plt(void)
{
    check_stubs(FALSE);
}

static void test_ibt_plt(void)
{
    check_stubs(TRUE);
}

/*
 * Linked statically, strlen is an IFUNC called through a stub whose slot has no symbol, only
 * its resolver's address: named after the IFUNC symbol of that resolver, the public name.
 */
static void test_static_ifunc(void)
{
    int fd;
    Elf *elf = fixture_elf(g_getenv("CFLOW_TEST_FIXTURE_PLT_STATIC"), &fd);
    g_autoptr(CflowPlt) plt = cflow_plt_read(elf);
    g_assert_cmpuint(cflow_plt_count(plt), >, 0);
    g_assert_nonnull(stub_named(plt, "strlen@plt"));
    for (guint i = 0; i < cflow_plt_count(plt); i++) {
        g_assert_false(g_str_has_prefix(cflow_plt_stub(plt, i)->name, "*ABS*"));
    }
    elf_end(elf);
    close(fd);
}

/* No ELF, or one of nothing: no stubs and no answers. */
static void test_nothing(void)
{
    g_autoptr(CflowPlt) plt = cflow_plt_read(NULL);
    g_assert_cmpuint(cflow_plt_count(plt), ==, 0);
    g_assert_null(cflow_plt_find(plt, 0x1000));
}

/* srcline names a run-time address in a stub by the stub, through the profile's maps. */
static void test_through_srcline(void)
{
    const char *path = fixture_plt_path(FALSE);
    int fd;
    Elf *elf = fixture_elf(path, &fd);
    g_autoptr(CflowPlt) plt = cflow_plt_read(elf);
    const CflowPltStub *puts_stub = stub_named(plt, "puts@plt");
    g_assert_nonnull(puts_stub);
    uint64_t run_time = FIXTURE_BASE + fixture_offset(path, puts_stub->start);

    g_autoptr(CflowProfile) p = cflow_profile_new();
    g_autofree char *maps = g_strdup_printf("%llx-%llx 0 %s\n", FIXTURE_BASE, FIXTURE_MAP_END,
                                            path);
    cflow_profile_set_meta(p, "maps", maps);
    g_autoptr(CflowSrcline) s = cflow_srcline_new(p);
    const CflowLoc *loc = cflow_srcline_lookup(s, run_time + 4, "qemu_sym");
    g_assert_cmpstr(loc->function, ==, "puts@plt");
    g_assert_cmphex(loc->function_start, ==, run_time);
    g_assert_cmpint(loc->source, ==, CFLOW_LOC_ELF);
    g_assert_null(loc->file);
    g_assert_cmpuint(loc->n_frames, ==, 0);
    elf_end(elf);
    close(fd);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/plt/lazy", test_lazy_plt);
    g_test_add_func("/plt/ibt", test_ibt_plt);
    g_test_add_func("/plt/static-ifunc", test_static_ifunc);
    g_test_add_func("/plt/nothing", test_nothing);
    g_test_add_func("/plt/through-srcline", test_through_srcline);
    return g_test_run();
}
