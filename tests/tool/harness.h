/*
 * harness.h: what the tool's unit tests share: the fixture (an ELF file with DWARF built from
 * fixture.c, never run) with its functions' addresses and source lines found independently of
 * the code under test, a small profile placed on it, and the capture of an exporter's output.
 */
#ifndef CFLOW_TOOL_HARNESS_H
#define CFLOW_TOOL_HARNESS_H

#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <glib.h>
#include <stdint.h>

#include "export.h"
#include "profile.h"

/* Paths from the environment meson gives the tests (tests/tool/meson.build). */
const char *fixture_path(void);         /* fixture.c built with DWARF */
const char *fixture_nodebug_path(void); /* the same without DWARF (symbols only) */
/* fixture-plt.c linked with a lazy .plt, or (ibt) with IBT's .plt.sec on x86_64 */
const char *fixture_plt_path(gboolean ibt);
/* The ELF file at path, opened with libelf (fails the test if it cannot be); close *fd after. */
Elf *fixture_elf(const char *path, int *fd);

/*
 * The ELF file at path as a libdwfl module of its own (offline, its debug information found
 * the standard way); *dwfl to dwfl_end after. NULL if libdwfl cannot report it.
 */
Dwfl_Module *offline_module(const char *path, Dwfl **dwfl);

/* A function's link-time address (and size, if asked), from the fixture's .symtab (libelf). */
uint64_t fixture_symbol(const char *path, const char *name, uint64_t *size);
/* The file offset of link-time address vaddr, from the fixture's program headers. */
uint64_t fixture_offset(const char *path, uint64_t vaddr);
/*
 * The line of the fixture's sources (fixture.c, fixture-inline.c, fixture-switch.c) that holds
 * "MARK name" (each function of fixture.c and fixture-inline.c is one line).
 */
unsigned fixture_line(const char *name);

/* Where the fixture is mapped in the profiles the tests build ("maps" meta): file offset 0. */
#define FIXTURE_BASE 0x7f0000000000ull
#define FIXTURE_MAP_END 0x7f0000100000ull

/*
 * The small run the exporter tests describe, on the fixture mapped at FIXTURE_BASE (x86_64):
 *
 *   fixture_leaf  L+0  lea    (block, 10 entries: L+0 L+3)
 *                 L+3  ret    -> add+9 (10)
 *   fixture_add   A+0  mov    (block, 10 entries: A+0 A+4)
 *                 A+4  call   -> leaf (10)
 *                 A+9  jne    -> add+0 taken 6, falls through 4 (block, 10 + 3 entries)
 *                 A+11 ret    -> 0x1000, outside (block, 4 entries)
 *   fixture_loop  P+0  jmp    -> add+0 (2) (block, 2 entries)
 *
 * Addresses are run-time ones: FIXTURE_BASE + the file offset of each function.
 */
typedef struct {
    uint64_t leaf, add, loop;       /* link-time addresses */
    uint64_t rt_leaf, rt_add, rt_loop; /* run-time addresses */
    unsigned line_leaf, line_add, line_loop;
} FixtureRun;
CflowProfile *fixture_run_profile(FixtureRun *r);

/*
 * fixture_outer (fixture-inline.c, where fixture_inlined is inlined twice) run k times, as one
 * block of one-byte "instructions" over all its bytes, at its link-time addresses (the guest,
 * no maps): every byte runs k times. Its entry and size in *entry, *size.
 */
CflowProfile *fixture_outer_profile(uint64_t k, uint64_t *entry, uint64_t *size);

/* What a writer of export.h writes for x, as a string (with its length for binary output). */
char *export_text(const CflowExportFormat *format, CflowExport *x, gsize *len, GError **error);

#endif
