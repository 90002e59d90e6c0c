/*
 * plt.h: the names of an ELF file's PLT stubs as objdump gives them ("puts@plt"), for the
 * tool's views, which otherwise show a call into the PLT as a bare address.
 *
 * A stub is named by the dynamic relocation of the GOT slot it jumps through: the symbol's name
 * ("*ABS*" for none, as for IRELATIVE), "+0x<addend>" when the addend is not zero, then "@plt".
 * The slot is decoded from the stub's own code (x86_64: jmp *disp(%rip), also in .plt.sec and
 * .plt.got; aarch64: adrp x16 + ldr x17; riscv64: auipc t3 + ld t3), so lazy and eager PLTs,
 * IBT's second PLT and BTI landing pads need no layout tables. Code in a PLT section that is
 * no stub (the header that calls the lazy resolver, IBT's lazy entries) is named after its
 * section (".plt"), as objdump's `<.plt+0x10>` does.
 */
#ifndef CFLOW_PLT_H
#define CFLOW_PLT_H

#include <gelf.h>
#include <glib.h>
#include <stdint.h>

typedef struct {
    uint64_t start, size; /* link-time addresses */
    const char *name;     /* "puts@plt", or the section's name for its other code */
} CflowPltStub;

typedef struct CflowPlt CflowPlt;

/* The stubs of `elf` (none for a file without PLT or of another machine); never NULL. */
CflowPlt *cflow_plt_read(Elf *elf);
void cflow_plt_free(CflowPlt *plt);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CflowPlt, cflow_plt_free)

/* The stub, or the PLT section's other code, holding link-time address `vaddr`; else NULL. */
const CflowPltStub *cflow_plt_find(const CflowPlt *plt, uint64_t vaddr);

/* The named stubs, by address (for tests and listings). */
guint cflow_plt_count(const CflowPlt *plt);
const CflowPltStub *cflow_plt_stub(const CflowPlt *plt, guint i);

#endif
