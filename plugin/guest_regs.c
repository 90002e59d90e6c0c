/* guest_regs.c: see guest_regs.h. */
#include "guest_regs.h"

#include <glib.h>
#include <string.h>

static __thread GByteArray *scratch;

struct qemu_plugin_register *guest_reg_find(const char *name)
{
    struct qemu_plugin_register *found = NULL;
    g_autoptr(GArray) regs = qemu_plugin_get_registers();
    for (guint i = 0; regs && i < regs->len && !found; i++) {
        qemu_plugin_reg_descriptor *d = &g_array_index(regs, qemu_plugin_reg_descriptor, i);
        if (strcmp(d->name, name) == 0) {
            found = d->handle;
        }
    }
    return found;
}

void guest_regs_thread_init(void)
{
    if (!scratch) {
        scratch = g_byte_array_sized_new(16);
    }
}

bool guest_reg_read(struct qemu_plugin_register *reg, uint64_t *out)
{
    if (!reg || !scratch) {
        return false;
    }
    g_byte_array_set_size(scratch, 0);
    int n = qemu_plugin_read_register(reg, scratch);
    if (n <= 0 || n > 8) {
        return false;
    }
    *out = 0;
    memcpy(out, scratch->data, (size_t)n);
    return true;
}
