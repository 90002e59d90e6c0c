/*
 * symbols.h: names for code QEMU gives no symbols for (system mode: a kernel, firmware), from
 * the file of option symbols=PATH: a System.map ("address type name" lines) or an ELF file
 * (its .symtab, else .dynsym, through libelf). Used at exit only.
 */
#ifndef CFLOW_SYMBOLS_H
#define CFLOW_SYMBOLS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* At install: false with a message naming the file and what is wrong. */
bool symbols_load(const char *path, GError **error);
/* The function containing addr, or NULL (nothing loaded, or no symbol covers it). */
const char *symbols_lookup(uint64_t addr);

#endif
