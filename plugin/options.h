/*
 * options.h: the plugin's options, QEMU's `-plugin libcflow.so,key=value,...` style.
 * Parsing is pure (no QEMU calls) so the unit tests can exercise every error message.
 */
#ifndef CFLOW_OPTIONS_H
#define CFLOW_OPTIONS_H

#include <glib.h>
#include <stdbool.h>

#include "sort.h"

typedef enum { FORMAT_BINARY, FORMAT_JSON } CflowFormat;
typedef enum { MODE_FAST, MODE_REFERENCE } CflowMode;
typedef enum { PRIV_ALL, PRIV_USER, PRIV_KERNEL } CflowPrivFilter;

typedef struct {
    CflowSort sort;      /* of the text report */
    unsigned topn;
    char *output;        /* NULL: no profile file; may hold %p */
    CflowFormat format;
    CflowMode mode;
    bool report;         /* print the text report at exit */
    unsigned long long adapt_after; /* helper calls before re-planning; 0: never */
    unsigned long long counter_mib; /* per-block counters' budget, all vCPU indices (hotpath.c) */
    bool qemu_disas;     /* disas=qemu: always QEMU's disassembler, at translation time */
    CflowPrivFilter priv; /* which privilege level's code is recorded */
    char *symbols;       /* a System.map or ELF file naming code QEMU gives no symbols for */
    unsigned long long dump_seconds; /* write the profile this often too; 0: only at exit */
} CflowOptions;

/* Fills `opts` from argv; on a bad key or value returns false with a message naming it. */
bool cflow_options_parse(CflowOptions *opts, int argc, char **argv, GError **error);
void cflow_options_clear(CflowOptions *opts);
/* Every option with a line of help, one a line (newly allocated). */
char *cflow_options_help(void);

/* PATH with every %p replaced by pid (and %% by %). */
char *cflow_expand_output_path(const char *pattern, long pid);
/* Can a profile be written at `path` (atomically, via a temporary file beside it)? */
bool cflow_check_output_path(const char *path, GError **error);

#endif
