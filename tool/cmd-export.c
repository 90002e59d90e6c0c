/*
 * cmd-export.c: `cflow export FORMAT PROFILE [-o OUT]`: a profile in the formats of the tools
 * people already use: BOLT's pre-aggregated profile, an lcov tracefile, a callgrind.out file,
 * a drcov coverage file. One writer per format in export-<format>.c; what they share (modules,
 * file-relative addresses, instruction classes) is in export.c.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cflow.h"
#include "export.h"

#define CMD "export"

static const CflowExportFormat *const formats[] = {
    &cflow_export_bolt,
    &cflow_export_lcov,
    &cflow_export_callgrind,
    &cflow_export_drcov,
    &cflow_export_autofdo_llvm,
    &cflow_export_autofdo_gcc,
};

static const char description[] =
    "Formats:\n"
    "  bolt       BOLT's pre-aggregated profile, for `llvm-bolt -pa -p OUT` on ONE binary:\n"
    "             'B FROM TO COUNT 0' for every taken branch (jumps, calls, returns) and\n"
    "             'F START END COUNT' for every executed translation block (its first and\n"
    "             last instruction) and every fall-through edge, in hex without 0x.\n"
    "             Addresses are the binary's own ELF addresses (run-time address less the\n"
    "             load base, through meta.maps and the program headers), so PIEs and shared\n"
    "             libraries work wherever they were loaded. --binary picks the file (default:\n"
    "             the guest, meta.guest); a transfer from or to code outside it is written\n"
    "             with 0 for the outside address. Link the binary with -Wl,-q (relocations).\n"
    "  lcov       an lcov tracefile (TN, SF, FN/FNDA/FNF/FNH, BRDA/BRF/BRH, DA/LF/LH,\n"
    "             end_of_record) from the DWARF line tables of every file whose code ran\n"
    "             (--binary: that file only). Each line with code in the line table of a\n"
    "             compile unit that ran is listed, with 0 if it never ran (--all-cus: the\n"
    "             compile units that did not run too). A line's count is how often control\n"
    "             entered a run of its instructions (a basic block's instructions of that\n"
    "             line); a function's entry is also counted on the line that names it,\n"
    "             and a 'case X:' / 'default:' line takes the count of the code it leads to,\n"
    "             as gcov reports them. Source files that cannot be read here are left out\n"
    "             (genhtml needs them; --all-sources keeps them). BRDA: each conditional branch the run translated, branch 0 taken and\n"
    "             branch 1 not taken, '-' if never executed; branches in code never translated\n"
    "             are not known. FNDA: executions of the function's entry instruction.\n"
    "  callgrind  a callgrind.out file (callgrind_annotate, KCachegrind): 'positions: instr\n"
    "             line', 'events: Ir' (instruction executions), ob=/fl=/fn= from DWARF and\n"
    "             symbols with name compression, one cost line per executed instruction\n"
    "             (link-time address, line, count), 'jcnd=TAKEN/EXECUTED' for conditional\n"
    "             branches, 'jump=COUNT' for other jumps and fall-throughs, and\n"
    "             'calls=COUNT TARGET' for calls (an edge out of call/bl/blr/jal ra). The\n"
    "             inclusive cost of a call is estimated: the callee's inclusive cost per entry\n"
    "             times the calls (a profile of edges has no call stacks; recursion is cut).\n"
    "             Returns and exceptions are not written.\n"
    "  drcov      DynamoRIO's drcov format, version 2 (Lighthouse, bncov, Cartographer ...):\n"
    "             a text header, the module table (one module per mapped file: id, base,\n"
    "             end, entry, checksum, timestamp, path; entry/checksum/timestamp are 0) and\n"
    "             'BB Table: N bbs' followed by N binary records {u32 start; u16 size;\n"
    "             u16 module id} (little-endian; start is the offset from the module base):\n"
    "             each distinct executed translation block once. drcov has no room for hit\n"
    "             counts: --hits FILE writes them beside it as text, one line per block,\n"
    "             'MODULE_ID OFFSET SIZE COUNT' (decimal id, hex offset, decimal size and\n"
    "             count, in the order of the BB table).\n"
    "  autofdo-llvm  LLVM's text sample profile for clang -fprofile-sample-use=FILE (also\n"
    "             llvm-profdata merge --sample to its binary form), of ONE binary (--binary;\n"
    "             default the guest): 'NAME:TOTAL:HEAD', then ' OFFSET[.DISC]: COUNT\n"
    "             [TARGET:CALLS ...]' per source position (line less the function's\n"
    "             declaration line, clang's base discriminator) and ' OFFSET: CALLEE:TOTAL'\n"
    "             per inlined call site, its lines one space deeper. Counts are exact\n"
    "             executions: a position counts its most executed instruction, HEAD the calls\n"
    "             into the function, TARGET:CALLS the calls (direct and indirect) made there.\n"
    "  autofdo-gcc   the same profile as GCC 12's -fauto-profile=FILE reads it (gcov format,\n"
    "             version 2; call targets of indirect calls only).\n"
    "             Both need the binary's DWARF: build it with -g (clang: also\n"
    "             -fdebug-info-for-profiling, which gives every block its own discriminator;\n"
    "             GCC 12: -gdwarf-4 is not needed). The counts are exact, so what never ran\n"
    "             is written too: every position with code in the binary's line table, in a\n"
    "             function that ran or a callee inlined where it ran, is listed at 0 when\n"
    "             the run never reached it (the compilers read a missing position as\n"
    "             unknown and guess; a 0 gives the branches around it their direction;\n"
    "             --no-zeros leaves them out). Functions that never ran are not in the\n"
    "             profile: the compilers take a function with no profile as cold and\n"
    "             optimise it for size, so record a run that covers what matters. A binary\n"
    "             without line information, or not the build the run executed (its code\n"
    "             differs from the profile's bytes), is an error naming the file.\n"
    "\n"
    "Addresses become files through the profile's meta.maps; the ELF files (and their DWARF)\n"
    "must still be where the run found them. Without -o the export goes to standard output\n"
    "(drcov only to a file or a pipe); -o OUT is written atomically.\n"
    "\n"
    "Examples (feeding the tools):\n"
    "  cflow export bolt prof.cflow -o prog.fdata\n"
    "  llvm-bolt-16 prog -o prog.bolt -pa -p prog.fdata -reorder-blocks=ext-tsp \\\n"
    "      -reorder-functions=hfsort -split-functions -split-all-cold -dyno-stats\n"
    "  cflow export lcov prof.cflow -o prog.info && genhtml prog.info -o html/\n"
    "  cflow export callgrind prof.cflow -o callgrind.out.1 && callgrind_annotate callgrind.out.1\n"
    "  kcachegrind callgrind.out.1\n"
    "  cflow export drcov prof.cflow -o prog.drcov --hits prog.hits   (Lighthouse: File >\n"
    "      Load File > Code coverage file...)\n"
    "  cflow export bolt --binary libfoo.so prof.cflow -o libfoo.fdata   (one library)\n"
    "  clang -O2 -g -fdebug-info-for-profiling prog.c -o prog\n"
    "  cflow record -o prof.cflow -- ./prog input   (any architecture QEMU runs)\n"
    "  cflow export autofdo-llvm prof.cflow -o prog.prof\n"
    "  clang -O2 -g -fdebug-info-for-profiling -fprofile-sample-use=prog.prof \\\n"
    "      -fsample-profile-use-profi prog.c -o prog   (profi: block and edge counts that\n"
    "      agree with the exact counts; on sqlite3 about 80% of instrumented PGO's gain)\n"
    "  gcc -O2 -g prog.c -o prog && cflow record -o prof.cflow -- ./prog input\n"
    "  cflow export autofdo-gcc prof.cflow -o prog.afdo\n"
    "  gcc -O2 -g -fauto-profile=prog.afdo prog.c -o prog   (GCC 12 reads positions by line\n"
    "      alone; add -fno-tree-loop-vectorize if its vectorizer dies: it did on sqlite3)\n";

static const CflowExportFormat *find_format(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(formats); i++) {
        if (strcmp(formats[i]->name, name) == 0) {
            return formats[i];
        }
    }
    return NULL;
}

static int run(int argc, char **argv)
{
    g_autofree char *out = NULL, *binary = NULL, *hits = NULL, *test_name = NULL;
    gboolean all_cus = FALSE, all_sources = FALSE, no_zeros = FALSE;
    GOptionEntry entries[] = {
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "write to OUT (default: standard output)",
         "OUT"},
        {"binary", 0, 0, G_OPTION_ARG_FILENAME, &binary,
         "the mapped ELF file to export (path or base name; bolt: default the guest)", "ELF"},
        {"hits", 0, 0, G_OPTION_ARG_FILENAME, &hits,
         "drcov: also write each block's hit count to FILE", "FILE"},
        {"test-name", 0, 0, G_OPTION_ARG_STRING, &test_name, "lcov: the TN: name (default: cflow)",
         "NAME"},
        {"all-cus", 0, 0, G_OPTION_ARG_NONE, &all_cus,
         "lcov: list the compile units whose code never ran too", NULL},
        {"all-sources", 0, 0, G_OPTION_ARG_NONE, &all_sources,
         "lcov: keep source files that cannot be read here (genhtml will fail on them)", NULL},
        {"no-zeros", 0, 0, G_OPTION_ARG_NONE, &no_zeros,
         "autofdo: leave out the positions that never ran (default: listed at 0)", NULL},
        G_OPTION_ENTRY_NULL};
    GString *names = g_string_new(NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(formats); i++) {
        g_string_append_printf(names, "%s%s", i ? ", " : "", formats[i]->name);
    }
    g_autofree char *names_text = g_string_free(names, FALSE);
    g_autofree char *params_text = g_strdup_printf("FORMAT PROFILE  (FORMAT: %s)", names_text);
    const CflowUsage usage = {
        params_text,
        "Write the profile PROFILE in another tool's format: BOLT, lcov, callgrind, drcov, "
        "AutoFDO (clang, GCC).",
        description, "expected FORMAT PROFILE"};
    if (!cflow_parse_usage(&argc, &argv, &usage, entries, false) ||
        !cflow_check_args(CMD, &usage, argc == 3)) {
        return CFLOW_EXIT_USAGE;
    }
    const CflowExportFormat *format = find_format(argv[1]);
    if (!format) {
        cflow_error(CMD, "unknown format '%s' (%s)", argv[1], names_text);
        return CFLOW_EXIT_USAGE;
    }
    if (hits && format != &cflow_export_drcov) {
        cflow_error(CMD, "--hits is for drcov only");
        return CFLOW_EXIT_USAGE;
    }
    if (no_zeros && format != &cflow_export_autofdo_llvm && format != &cflow_export_autofdo_gcc) {
        cflow_error(CMD, "--no-zeros is for autofdo-llvm and autofdo-gcc only");
        return CFLOW_EXIT_USAGE;
    }
    const char *outputs[] = {out && strcmp(out, "-") != 0 ? out : NULL, hits};
    for (size_t i = 0; i < G_N_ELEMENTS(outputs); i++) {
        g_autoptr(GError) err = NULL;
        if (outputs[i] && !cflow_output_check(outputs[i], &err)) {
            cflow_error(CMD, "%s", err->message);
            return CFLOW_EXIT_USAGE;
        }
    }
    if (!out && format->binary_output && isatty(STDOUT_FILENO)) {
        cflow_error(CMD, "%s is a binary format: give -o OUT or a pipe", format->name);
        return CFLOW_EXIT_USAGE;
    }
    g_autoptr(CflowProfile) p = cflow_load(CMD, argv[2]);
    if (!p) {
        return CFLOW_EXIT_BAD_INPUT;
    }
    g_autoptr(CflowExport) x = cflow_export_new(p);
    x->binary = binary;
    x->hits = hits;
    x->test_name = test_name ? test_name : "cflow";
    x->all_cus = all_cus;
    x->all_sources = all_sources;
    x->afdo_no_zeros = no_zeros;
    g_autoptr(GError) err = NULL;
    bool ok = !format->prepare || format->prepare(x, &err);
    if (!ok) {
        /* nothing written */
    } else if (out && strcmp(out, "-") != 0) {
        ok = cflow_write_file_atomic(out, (CflowWriteFunc)format->write, x, &err);
    } else {
        ok = format->write(x, stdout, &err) && fflush(stdout) == 0;
    }
    if (!ok) {
        cflow_error(CMD, "%s", err ? err->message : "write failed");
        /* a profile the format cannot use (no such binary ...) is a bad input */
        return err && err->domain == CFLOW_PROFILE_ERROR &&
                       err->code == CFLOW_PROFILE_ERROR_FORMAT
                   ? CFLOW_EXIT_BAD_INPUT
                   : CFLOW_EXIT_USAGE;
    }
    return CFLOW_EXIT_OK;
}

const CflowCommand cflow_cmd_export = {
    CMD, "a profile for BOLT, lcov, callgrind, drcov, clang or GCC (AutoFDO)", run};
