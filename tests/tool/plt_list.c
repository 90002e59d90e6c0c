/*
 * plt_list.c: `plt-list ELF...` prints each file's named PLT stubs as tool/plt.c finds them,
 * one "ADDRESS <NAME>:" line each (hex without 0x), the form of objdump -d's labels, so that
 * tests/integration/test_names.py can hold them to objdump's on programs and libraries of
 * every architecture the suite builds. A test helper, not installed.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "plt.h"

int main(int argc, char **argv)
{
    elf_version(EV_CURRENT);
    for (int a = 1; a < argc; a++) {
        int fd = open(argv[a], O_RDONLY | O_CLOEXEC);
        Elf *elf = fd >= 0 ? elf_begin(fd, ELF_C_READ, NULL) : NULL;
        if (!elf) {
            fprintf(stderr, "plt-list: cannot read %s\n", argv[a]);
            return 1;
        }
        g_autoptr(CflowPlt) plt = cflow_plt_read(elf);
        for (guint i = 0; i < cflow_plt_count(plt); i++) {
            const CflowPltStub *s = cflow_plt_stub(plt, i);
            printf("%016" PRIx64 " <%s>:\n", s->start, s->name);
        }
        elf_end(elf);
        close(fd);
    }
    return 0;
}
