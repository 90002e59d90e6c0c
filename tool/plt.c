/*
 * plt.c: PLT stubs -> "name@plt" (see plt.h), with libelf.
 *
 * Three steps: the dynamic relocations, by the address of the slot they fill; the PLT
 * sections' code, scanned for the instruction pair each machine's stubs load their slot with;
 * the stubs found, sorted, each running to the next one or to the end of its entry.
 */
#include "plt.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

struct CflowPlt {
    GArray *stubs;  /* CflowPltStub, named stubs by address */
    GArray *others; /* CflowPltStub: one per PLT section, for its code that is no stub */
    GStringChunk *strings;
};

/* What a machine's scan needs: the section's code and where it is, the relocations' names. */
typedef struct {
    const uint8_t *code;
    size_t len;
    uint64_t addr;    /* link-time address of code[0] */
    uint64_t entsize; /* the section's entry size (16 if it does not say) */
    GHashTable *slots; /* GOT slot address -> name */
    CflowPlt *plt;
} Scan;

/* One reloc's stub name, as objdump's synthetic symbols spell it. */
static const char *reloc_name(CflowPlt *plt, Elf *elf, GElf_Shdr *rel_sh, Elf_Data *symbols,
                              uint64_t sym_index, int64_t addend, GHashTable *ifuncs)
{
    const char *sym = "*ABS*";
    const char *ifunc = !sym_index && ifuncs ? g_hash_table_lookup(ifuncs, &addend) : NULL;
    if (ifunc) {
        g_autofree char *name = g_strdup_printf("%s@plt", ifunc);
        return g_string_chunk_insert_const(plt->strings, name);
    }
    GElf_Sym s;
    if (sym_index && symbols && gelf_getsym(symbols, (int)sym_index, &s)) {
        GElf_Shdr sym_sh;
        Elf_Scn *scn = elf_getscn(elf, rel_sh->sh_link);
        const char *n = scn && gelf_getshdr(scn, &sym_sh)
                            ? elf_strptr(elf, sym_sh.sh_link, s.st_name)
                            : NULL;
        sym = n && *n ? n : sym;
    }
    g_autofree char *name = addend ? g_strdup_printf("%s+0x%" PRIx64 "@plt", sym,
                                                     (uint64_t)addend)
                                   : g_strdup_printf("%s@plt", sym);
    return g_string_chunk_insert_const(plt->strings, name);
}

/* Is a better name for the same function: the one with fewer leading underscores (the public
 * name: memcpy before __new_memcpy), then global before weak before local, then the shorter. */
static bool better_name(const GElf_Sym *s, const char *name, const GElf_Sym *old,
                        const char *old_name)
{
    static const int rank[] = {[STB_LOCAL] = 2, [STB_GLOBAL] = 0, [STB_WEAK] = 1};
    size_t u = strspn(name, "_"), ou = strspn(old_name, "_");
    if (u != ou) {
        return u < ou;
    }
    int b = GELF_ST_BIND(s->st_info) <= STB_WEAK ? rank[GELF_ST_BIND(s->st_info)] : 3;
    int ob = GELF_ST_BIND(old->st_info) <= STB_WEAK ? rank[GELF_ST_BIND(old->st_info)] : 3;
    return b != ob ? b < ob : strlen(name) < strlen(old_name);
}

/* A static program's IFUNC symbol, kept while the best name of each resolver is chosen. */
typedef struct {
    GElf_Sym sym;
    const char *name;
} Ifunc;

/*
 * A static program's IFUNC slots have no symbol (objdump names no stub there): its IFUNC
 * symbols by resolver address -> name, to name the stubs after the function they resolve.
 * NULL for a dynamically linked file, where the stubs keep objdump's names.
 */
static GHashTable *static_ifuncs(Elf *elf)
{
    g_autoptr(GHashTable) best = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr sh;
        if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_DYNSYM) {
            return NULL;
        }
        Elf_Data *data = sh.sh_type == SHT_SYMTAB ? elf_getdata(scn, NULL) : NULL;
        for (size_t i = 0; data && sh.sh_entsize && i < sh.sh_size / sh.sh_entsize; i++) {
            Ifunc f;
            if (!gelf_getsym(data, (int)i, &f.sym) ||
                GELF_ST_TYPE(f.sym.st_info) != STT_GNU_IFUNC ||
                !(f.name = elf_strptr(elf, sh.sh_link, f.sym.st_name)) || !*f.name) {
                continue;
            }
            Ifunc *old = g_hash_table_lookup(best, &f.sym.st_value);
            if (!old || better_name(&f.sym, f.name, &old->sym, old->name)) {
                Ifunc *kept = g_memdup2(&f, sizeof f);
                g_hash_table_insert(best, &kept->sym.st_value, kept);
            }
        }
    }
    GHashTable *ifuncs = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, best);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        const Ifunc *f = value;
        g_hash_table_insert(ifuncs, g_memdup2(&f->sym.st_value, sizeof f->sym.st_value),
                            (gpointer)f->name); /* libelf's string, alive with elf */
    }
    return ifuncs;
}

/* Every allocated (dynamic) relocation: slot address -> stub name; the first one wins. */
static GHashTable *read_slots(CflowPlt *plt, Elf *elf)
{
    g_autoptr(GHashTable) ifuncs = static_ifuncs(elf);
    GHashTable *slots = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) || !sh.sh_entsize ||
            (sh.sh_type != SHT_RELA && sh.sh_type != SHT_REL)) {
            continue;
        }
        Elf_Data *data = elf_getdata(scn, NULL);
        Elf_Scn *symscn = elf_getscn(elf, sh.sh_link);
        Elf_Data *symbols = symscn ? elf_getdata(symscn, NULL) : NULL;
        for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
            uint64_t offset, info;
            int64_t addend = 0;
            GElf_Rela rela;
            GElf_Rel rel;
            if (sh.sh_type == SHT_RELA && gelf_getrela(data, (int)i, &rela)) {
                offset = rela.r_offset, info = rela.r_info, addend = rela.r_addend;
            } else if (sh.sh_type == SHT_REL && gelf_getrel(data, (int)i, &rel)) {
                offset = rel.r_offset, info = rel.r_info;
            } else {
                continue;
            }
            if (!g_hash_table_contains(slots, &offset)) {
                const char *name = reloc_name(plt, elf, &sh, symbols, GELF_R_SYM(info), addend,
                                              ifuncs);
                g_hash_table_insert(slots, g_memdup2(&offset, sizeof offset), (gpointer)name);
            }
        }
    }
    return slots;
}

/* A stub at `start` if a relocation fills `slot`; true if one did. */
static bool add_stub(Scan *sc, uint64_t start, uint64_t slot)
{
    const char *name = g_hash_table_lookup(sc->slots, &slot);
    if (!name) {
        return false;
    }
    CflowPltStub stub = {start, 0, name};
    g_array_append_val(sc->plt->stubs, stub);
    return true;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int64_t sign_extend(uint64_t value, unsigned bits)
{
    uint64_t m = 1ull << (bits - 1);
    return (int64_t)((value ^ m) - m);
}

/* x86_64: jmp *disp32(%rip) (ff 25, after a bnd prefix or endbr64 too); one stub per entry. */
static void scan_x86_64(Scan *sc)
{
    uint64_t entsize = sc->entsize;
    for (size_t pos = 0; pos + 6 <= sc->len; pos++) {
        if (sc->code[pos] != 0xff || sc->code[pos + 1] != 0x25) {
            continue;
        }
        uint64_t slot = sc->addr + pos + 6 + (uint64_t)sign_extend(le32(sc->code + pos + 2), 32);
        uint64_t entry = pos / entsize * entsize;
        if (add_stub(sc, sc->addr + entry, slot)) {
            pos = entry + entsize - 1; /* the rest of this entry is its lazy-binding push */
        }
    }
}

/*
 * The fixed-width machines: a stub loads its slot with a pair of words, which `decode` knows
 * (true and *slot for a pair that is one); a landing pad word `pad` just before starts it.
 */
static void scan_pairs(Scan *sc, bool (*decode)(uint64_t pc, uint32_t, uint32_t, uint64_t *),
                       uint32_t pad)
{
    for (size_t pos = 0; pos + 8 <= sc->len; pos += 4) {
        uint64_t pc = sc->addr + pos, slot;
        if (decode(pc, le32(sc->code + pos), le32(sc->code + pos + 4), &slot)) {
            bool padded = pad && pos >= 4 && le32(sc->code + pos - 4) == pad;
            add_stub(sc, pc - (padded ? 4 : 0), slot);
        }
    }
}

/* aarch64: adrp x16, page; ldr x17, [x16, #off]. */
static bool decode_aarch64(uint64_t pc, uint32_t adrp, uint32_t ldr, uint64_t *slot)
{
    if ((adrp & 0x9f00001fu) != 0x90000010u || (ldr & 0xffc003ffu) != 0xf9400211u) {
        return false;
    }
    uint64_t imm = ((adrp >> 29) & 3) | ((uint64_t)(adrp >> 5) & 0x7ffff) << 2;
    uint64_t page = (pc & ~0xfffull) + (uint64_t)(sign_extend(imm, 21) * 4096);
    *slot = page + ((ldr >> 10) & 0xfff) * 8;
    return true;
}

/* riscv64: auipc t3, hi; ld t3, lo(t3). */
static bool decode_riscv64(uint64_t pc, uint32_t auipc, uint32_t ld, uint64_t *slot)
{
    if ((auipc & 0xfffu) != 0xe17u || (ld & 0xfffffu) != 0xe3e03u) {
        return false;
    }
    *slot = pc + (uint64_t)sign_extend(auipc & 0xfffff000u, 32) +
            (uint64_t)sign_extend(ld >> 20, 12);
    return true;
}

#define BTI_C 0xd503245fu /* aarch64's landing pad for indirect calls */

static void scan_machine(Scan *sc, GElf_Half machine)
{
    if (machine == EM_X86_64) {
        scan_x86_64(sc);
    } else if (machine == EM_AARCH64) {
        scan_pairs(sc, decode_aarch64, BTI_C);
    } else if (machine == EM_RISCV) {
        scan_pairs(sc, decode_riscv64, 0);
    }
}

static int by_start(gconstpointer a, gconstpointer b)
{
    const CflowPltStub *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * The stubs one section's scan added (from index `from`, in address order) each run to the
 * next one, the end of the section or of their entry, whichever is first.
 */
static void size_stubs(GArray *stubs, guint from, uint64_t end, uint64_t entsize)
{
    for (guint i = from; i < stubs->len; i++) {
        CflowPltStub *s = &g_array_index(stubs, CflowPltStub, i);
        uint64_t next = i + 1 < stubs->len ? g_array_index(stubs, CflowPltStub, i + 1).start
                                           : end;
        s->size = MIN(next, end) - s->start;
        if (entsize) {
            s->size = MIN(s->size, entsize);
        }
    }
}

CflowPlt *cflow_plt_read(Elf *elf)
{
    CflowPlt *plt = g_new0(CflowPlt, 1);
    plt->stubs = g_array_new(FALSE, FALSE, sizeof(CflowPltStub));
    plt->others = g_array_new(FALSE, FALSE, sizeof(CflowPltStub));
    plt->strings = g_string_chunk_new(1024);
    GElf_Ehdr eh;
    size_t shstrndx;
    if (!elf || !gelf_getehdr(elf, &eh) || elf_getshdrstrndx(elf, &shstrndx) != 0) {
        return plt;
    }
    if (eh.e_machine != EM_X86_64 && eh.e_machine != EM_AARCH64 && eh.e_machine != EM_RISCV) {
        return plt;
    }
    g_autoptr(GHashTable) slots = read_slots(plt, elf);
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr sh;
        const char *name = gelf_getshdr(scn, &sh) ? elf_strptr(elf, shstrndx, sh.sh_name) : NULL;
        Elf_Data *data = name && g_str_has_prefix(name, ".plt") && sh.sh_type == SHT_PROGBITS &&
                                 (sh.sh_flags & SHF_EXECINSTR)
                             ? elf_getdata(scn, NULL)
                             : NULL;
        if (!data || !data->d_buf) {
            continue;
        }
        CflowPltStub other = {sh.sh_addr, data->d_size,
                              g_string_chunk_insert_const(plt->strings, name)};
        g_array_append_val(plt->others, other);
        Scan sc = {data->d_buf, data->d_size, sh.sh_addr, sh.sh_entsize ? sh.sh_entsize : 16,
                   slots, plt};
        guint before = plt->stubs->len;
        scan_machine(&sc, eh.e_machine);
        /* x86 stubs are one per entry; elsewhere an entry may hold more than its sh_entsize
         * says (a BTI landing pad), and stubs are simply consecutive */
        size_stubs(plt->stubs, before, sh.sh_addr + data->d_size,
                   eh.e_machine == EM_X86_64 ? sc.entsize : 0);
    }
    g_array_sort(plt->stubs, by_start);
    return plt;
}

void cflow_plt_free(CflowPlt *plt)
{
    if (!plt) {
        return;
    }
    g_array_free(plt->stubs, TRUE);
    g_array_free(plt->others, TRUE);
    g_string_chunk_free(plt->strings);
    g_free(plt);
}

const CflowPltStub *cflow_plt_find(const CflowPlt *plt, uint64_t vaddr)
{
    guint lo = 0, hi = plt->stubs->len;
    while (lo < hi) { /* the first stub starting after vaddr */
        guint mid = lo + (hi - lo) / 2;
        if (g_array_index(plt->stubs, CflowPltStub, mid).start <= vaddr) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo > 0) {
        const CflowPltStub *s = &g_array_index(plt->stubs, CflowPltStub, lo - 1);
        if (vaddr < s->start + s->size) {
            return s;
        }
    }
    for (guint i = 0; i < plt->others->len; i++) {
        const CflowPltStub *o = &g_array_index(plt->others, CflowPltStub, i);
        if (vaddr >= o->start && vaddr < o->start + o->size) {
            return o;
        }
    }
    return NULL;
}

guint cflow_plt_count(const CflowPlt *plt)
{
    return plt->stubs->len;
}

const CflowPltStub *cflow_plt_stub(const CflowPlt *plt, guint i)
{
    return &g_array_index(plt->stubs, CflowPltStub, i);
}
