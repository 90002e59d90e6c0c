/* symbols.c: names from a System.map or an ELF file (see symbols.h). */
#include "symbols.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    uint64_t addr;
    uint64_t size; /* 0: up to the next symbol */
    char *name;
} Sym;

static GArray *syms; /* Sym, sorted by address */

static int cmp_sym(gconstpointer a, gconstpointer b)
{
    const Sym *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void add(uint64_t addr, uint64_t size, const char *name)
{
    Sym s = {.addr = addr, .size = size, .name = g_strdup(name)};
    g_array_append_val(syms, s);
}

/* System.map: "ffffffff81000000 T _stext"; only code (t, T, w, W). */
static bool load_map(const char *text)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (int i = 0; lines[i]; i++) {
        char type, name[512];
        unsigned long long addr;
        if (sscanf(lines[i], "%llx %c %511s", &addr, &type, name) == 3 &&
            strchr("tTwW", type) != NULL) {
            add(addr, 0, name);
        }
    }
    return syms->len > 0;
}

static bool load_elf(const char *path, GError **error)
{
    elf_version(EV_CURRENT);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "cflow: symbols '%s': %s", path,
                    g_strerror(errno));
        return false;
    }
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    Elf_Scn *scn = NULL, *dynsym = NULL, *symtab = NULL;
    while (elf && (scn = elf_nextscn(elf, scn)) != NULL) {
        GElf_Shdr sh;
        if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB) {
            symtab = scn;
        } else if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_DYNSYM) {
            dynsym = scn;
        }
    }
    Elf_Scn *use = symtab ? symtab : dynsym;
    if (use) {
        GElf_Shdr sh;
        gelf_getshdr(use, &sh);
        Elf_Data *data = elf_getdata(use, NULL);
        size_t n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
        for (size_t i = 0; data && i < n; i++) {
            GElf_Sym sym;
            if (!gelf_getsym(data, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
                sym.st_value == 0) {
                continue;
            }
            const char *name = elf_strptr(elf, sh.sh_link, sym.st_name);
            if (name && *name) {
                add(sym.st_value, sym.st_size, name);
            }
        }
    }
    if (elf) {
        elf_end(elf);
    }
    close(fd);
    return syms->len > 0;
}

bool symbols_load(const char *path, GError **error)
{
    syms = g_array_new(FALSE, FALSE, sizeof(Sym));
    g_autofree char *head = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &head, &len, NULL)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "cflow: symbols '%s': cannot read",
                    path);
        return false;
    }
    bool ok = len >= 4 && memcmp(head, "\177ELF", 4) == 0 ? load_elf(path, error)
                                                          : load_map(head);
    if (!ok) {
        if (error && !*error) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                        "cflow: symbols '%s': no function symbols found (expected a System.map "
                        "or an ELF file with a symbol table)",
                        path);
        }
        return false;
    }
    g_array_sort(syms, cmp_sym);
    return true;
}

const char *symbols_lookup(uint64_t addr)
{
    if (!syms || syms->len == 0) {
        return NULL;
    }
    /* the last symbol starting at or before addr */
    guint lo = 0, hi = syms->len;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        if (g_array_index(syms, Sym, mid).addr <= addr) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == 0) {
        return NULL;
    }
    const Sym *s = &g_array_index(syms, Sym, lo - 1);
    if (s->size && addr >= s->addr + s->size) {
        return NULL;
    }
    if (!s->size && lo == syms->len && addr - s->addr > (1u << 20)) {
        return NULL; /* past the last symbol of a map: not its code */
    }
    return s->name;
}
