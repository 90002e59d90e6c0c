/*
 * cmd-record.c: `cflow record -- PROGRAM ARGS...`: runs a program under qemu-<arch> with
 * libcflow.so and leaves its profile in a file, like `perf record`. When the program is QEMU
 * itself (`-- qemu-system-x86_64 -kernel ...`, record-qemu.c), the plugin is added to its
 * command line instead: a whole machine is profiled.
 *
 * The guest is QEMU's child; its stdin, stdout and stderr are ours, and its exit status
 * becomes ours (death by signal as 128 + the signal, like a shell). The plugin offers no live
 * count, so the status line shown on a terminal comes from the kernel: elapsed time, and the
 * QEMU process's CPU time and resident memory from /proc/PID/stat, read twice a second
 * (QEMU's memory grows with the code it translates: a fair sign of progress, at no cost to the
 * run).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arch.h"
#include "cflow.h"
#include "locate.h"
#include "record-qemu.h"

#define CMD "record"

/* The QEMU architecture name of an ELF file's e_machine, or NULL with a message. */
static const char *elf_arch(const char *path)
{
    unsigned char h[20];
    FILE *f = fopen(path, "rb");
    if (!f) {
        cflow_error(CMD, "%s: %s", path, g_strerror(errno));
        return NULL;
    }
    size_t n = fread(h, 1, sizeof h, f);
    fclose(f);
    if (n < sizeof h || memcmp(h, ELFMAG, SELFMAG) != 0) {
        cflow_error(CMD, "%s is not an ELF program: say which QEMU to use with --arch", path);
        return NULL;
    }
    unsigned machine = h[EI_DATA] == ELFDATA2MSB ? (unsigned)h[18] << 8 | h[19]
                                                 : (unsigned)h[19] << 8 | h[18];
    const CflowArch *arch = cflow_arch_for_elf(machine, h[EI_CLASS]);
    if (arch) {
        return arch->name;
    }
    cflow_error(CMD, "%s: unknown ELF machine %u: say which QEMU to use with --arch", path,
                machine);
    return NULL;
}

/* QEMU's -plugin argument separates options by commas: a literal one is doubled. */
static void append_escaped(GString *s, const char *text)
{
    for (; *text; text++) {
        if (*text == ',') {
            g_string_append_c(s, ',');
        }
        g_string_append_c(s, *text);
    }
}

static volatile sig_atomic_t child_pid;

static void forward_signal(int sig)
{
    if (child_pid > 0) {
        kill(child_pid, sig);
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds and resident MiB of a process, from /proc/PID/stat. */
static bool proc_usage(pid_t pid, double *cpu, double *rss_mib)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)pid);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        return false;
    }
    const char *p = strrchr(text, ')'); /* the command name may hold spaces */
    if (!p) {
        return false;
    }
    unsigned long utime, stime;
    long rss;
    /* fields 3.. after the name: state ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime stime cutime cstime priority nice threads itrealvalue starttime
     * vsize rss */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d "
                      "%*d %*u %*u %ld",
               &utime, &stime, &rss) != 3) {
        return false;
    }
    double hz = (double)sysconf(_SC_CLK_TCK);
    *cpu = (double)(utime + stime) / hz;
    *rss_mib = (double)rss * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
    return true;
}

/* Waits for the child; on a terminal, redraws the status line twice a second meanwhile. */
static int wait_child(pid_t pid, bool live, const char *prog)
{
    int status;
    double start = now(), last = 0;
    while (true) {
        pid_t r = waitpid(pid, &status, live ? WNOHANG : 0);
        if (r == pid) {
            break;
        }
        if (r < 0 && errno != EINTR) {
            cflow_error(CMD, "waitpid: %s", g_strerror(errno));
            return -1;
        }
        if (live && r == 0) {
            double t = now() - start;
            double cpu, rss;
            if (t - last >= 0.5 && proc_usage(pid, &cpu, &rss)) {
                fprintf(stderr, "\r\033[Kcflow record: %s pid %d, %.1f s, cpu %.1f s, %.0f MiB",
                        prog, (int)pid, t, cpu, rss);
                fflush(stderr);
                last = t;
            }
            g_usleep(50000);
        }
    }
    if (live && last > 0) {
        fputs("\r\033[K", stderr);
    }
    return status;
}

static const char description[] =
    "Runs PROGRAM ARGS... under qemu-ARCH (user mode) with the cflow plugin and writes its\n"
    "profile to FILE (default cflow.data; a relative path is taken from the current\n"
    "directory, and FILE is replaced atomically). Everything after the first non-option\n"
    "argument, or after '--', belongs to the guest.\n"
    "\n"
    "ARCH comes from the program's ELF header (x86_64, aarch64, riscv64, ...) unless --arch\n"
    "says otherwise. QEMU is --qemu, else $CFLOW_QEMU, else qemu-ARCH in the .deps/qemu/bin of\n"
    "the checkout the tool was built in, else qemu-ARCH on PATH. The plugin is --plugin, else\n"
    "$CFLOW_PLUGIN, else the one installed with the tool (found from the tool's own folder),\n"
    "else the libcflow.so of the build tree; 'cflow version' says which. The plugin runs with\n"
    "report=off and output=FILE; --plugin-opt adds any other plugin option (README, \"Using the\n"
    "plugin\": mode=reference, format=json, adapt_after=N, dump=SECONDS, ...) and may be\n"
    "repeated; --symbols FILE is the plugin's symbols=FILE. A dynamically linked guest of\n"
    "another architecture needs its libraries: pass QEMU's -L with --qemu-opt.\n"
    "\n"
    "System mode: when PROGRAM is QEMU itself, a qemu-system-* emulator (or, the same way, a\n"
    "user-mode qemu-ARCH), ARGS are QEMU's own and the tool adds -plugin with the options above\n"
    "to them: the whole machine is profiled. A bare name is taken from the project's QEMU\n"
    "(.deps/qemu/bin of the checkout), else from PATH; a QEMU built without plugins is refused.\n"
    "Name the kernel's or firmware's functions with --symbols System.map (or an ELF file with\n"
    "a symbol table, such as vmlinux). --arch and --qemu do not apply; --qemu-opt adds to QEMU's\n"
    "arguments as before. Watch a long run with --plugin-opt dump=1 and 'cflow top FILE'.\n"
    "\n"
    "The guest's standard input, output and error are the tool's. On a terminal, a status\n"
    "line on standard error shows elapsed time and QEMU's CPU time and memory (the plugin\n"
    "has no live counter); nothing is added when standard error is not a terminal, nor in\n"
    "system mode (the machine's console has the terminal).\n"
    "\n"
    "Exit status: the guest's own (128 + N if it died of signal N, like a shell; in system\n"
    "mode QEMU's, which is the guest's where the guest can say one, e.g. semihosting); 1 when\n"
    "the command line is wrong, the guest cannot be started or no profile was written. SIGINT\n"
    "and SIGQUIT reach the guest from the terminal; SIGTERM and SIGHUP are passed on to it.\n"
    "\n"
    "Examples:\n"
    "  cflow record ./prog input.txt\n"
    "  cflow record -o run1.cflow --plugin-opt mode=reference -- ./prog -v\n"
    "  cflow record --qemu-opt -L --qemu-opt /usr/aarch64-linux-gnu -- ./arm-prog\n"
    "  cflow record -o linux.cflow --symbols System.map -- qemu-system-x86_64 -nographic \\\n"
    "      -kernel bzImage -initrd initrd.gz -append console=ttyS0\n";

/* What the command line asks for. */
typedef struct {
    char *out, *arch, *qemu, *plugin; /* -o, --arch, --qemu, --plugin (NULL: not given) */
    char *symbols;                    /* --symbols */
    GStrv plugin_opts, qemu_args;     /* --plugin-opt, --qemu-opt */
    char *prog;                       /* the guest program's path (QEMU's, if it is QEMU) */
    CflowProgKind kind;               /* a guest program, or QEMU itself */
    int first;                        /* argv index of the guest program */
} Request;

static void request_clear(Request *r)
{
    g_free(r->out);
    g_free(r->arch);
    g_free(r->qemu);
    g_free(r->plugin);
    g_free(r->symbols);
    g_strfreev(r->plugin_opts);
    g_strfreev(r->qemu_args);
    g_free(r->prog);
}

/* The options, and the guest program found (on PATH if it has no '/'); false: exit 1. */
static bool parse_args(int *argc, char ***argv, Request *r)
{
    static const CflowUsage usage = {
        "[-o FILE] [--] PROGRAM [ARGS...] | [--] qemu-system-ARCH [QEMU-ARGS...]",
        "Run a program under QEMU with the cflow plugin and write its profile.", description,
        "no program to run"};
    GOptionEntry entries[] = {
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &r->out, "Write the profile to FILE", "FILE"},
        {"arch", 'a', 0, G_OPTION_ARG_STRING, &r->arch, "QEMU architecture (default: from ELF)",
         "ARCH"},
        {"plugin-opt", 'O', 0, G_OPTION_ARG_STRING_ARRAY, &r->plugin_opts,
         "A plugin option, e.g. mode=reference (repeatable)", "K=V"},
        {"symbols", 0, 0, G_OPTION_ARG_FILENAME, &r->symbols,
         "Name code from a System.map or ELF file (plugin symbols=)", "FILE"},
        {"qemu-opt", 0, 0, G_OPTION_ARG_STRING_ARRAY, &r->qemu_args,
         "An argument for QEMU before the program, e.g. -L (repeatable)", "ARG"},
        {"qemu", 0, 0, G_OPTION_ARG_FILENAME, &r->qemu, "The QEMU binary to run", "PATH"},
        {"plugin", 0, 0, G_OPTION_ARG_FILENAME, &r->plugin, "The plugin (libcflow.so)",
         "PATH"},
        G_OPTION_ENTRY_NULL,
    };
    if (!cflow_parse_usage(argc, argv, &usage, entries, true)) {
        return false;
    }
    r->first = 1;
    if (r->first < *argc && strcmp((*argv)[r->first], "--") == 0) {
        r->first++;
    }
    if (!cflow_check_args(CMD, &usage, r->first < *argc)) {
        return false;
    }
    const char *prog_arg = (*argv)[r->first];
    r->kind = cflow_prog_kind(prog_arg);
    if (r->kind != CFLOW_PROG_GUEST) {
        r->prog = cflow_qemu_program(CMD, prog_arg);
        return r->prog != NULL;
    }
    r->prog = strchr(prog_arg, '/') ? g_strdup(prog_arg) : g_find_program_in_path(prog_arg);
    if (!r->prog || !g_file_test(r->prog, G_FILE_TEST_IS_REGULAR)) {
        cflow_error(CMD, "%s: no such program", prog_arg);
        return false;
    }
    return true;
}

/*
 * With QEMU itself as the program: it is the QEMU to run, and it must take plugins; --arch and
 * --qemu, which choose a QEMU for a guest program, would be ignored, so they are refused.
 */
static bool resolve_qemu_program(Request *r)
{
    if (r->arch || r->qemu) {
        cflow_error(CMD, "--%s chooses the QEMU for a guest program; here the program is QEMU "
                         "itself (%s)",
                    r->arch ? "arch" : "qemu", r->prog);
        return false;
    }
    if (!cflow_qemu_takes_plugins(CMD, r->prog)) {
        return false;
    }
    r->qemu = g_strdup(r->prog);
    return true;
}

/* The architecture, QEMU, the plugin and the output, defaults filled in; false: exit 1. */
static bool resolve(Request *r)
{
    if (r->symbols && !g_file_test(r->symbols, G_FILE_TEST_IS_REGULAR)) {
        cflow_error(CMD, "--symbols %s: no such file", r->symbols);
        return false;
    }
    if (r->kind != CFLOW_PROG_GUEST) {
        if (!resolve_qemu_program(r)) {
            return false;
        }
    } else if (!r->arch) {
        const char *a = elf_arch(r->prog);
        if (!a) {
            return false;
        }
        r->arch = g_strdup(a);
    }
    CflowLocated qemu = {0}, plugin = {0};
    g_autoptr(GError) err = NULL;
    if (!cflow_find_qemu(r->qemu, r->arch, &qemu, &err) ||
        !cflow_find_plugin(r->plugin, &plugin, &err)) {
        cflow_error(CMD, "%s", err->message);
        cflow_located_clear(&qemu);
        return false;
    }
    g_free(r->qemu);
    g_free(r->plugin);
    r->qemu = qemu.path;
    r->plugin = plugin.path;
    if (!r->out) {
        r->out = g_strdup("cflow.data");
    }
    return true;
}

/* -plugin's argument: PLUGIN,report=off,output=FILE[,symbols=F][,opts...]. */
static char *plugin_spec(const Request *r, const char *out_abs)
{
    GString *spec = g_string_new(NULL);
    append_escaped(spec, r->plugin);
    g_string_append(spec, ",report=off,output=");
    /* '%' doubled: the plugin expands %p */
    g_auto(GStrv) pieces = g_strsplit(out_abs, "%", -1);
    g_autofree char *no_pct = g_strjoinv("%%", pieces);
    append_escaped(spec, no_pct);
    if (r->symbols) {
        g_autofree char *symbols_abs = g_canonicalize_filename(r->symbols, NULL);
        g_string_append(spec, ",symbols=");
        append_escaped(spec, symbols_abs);
    }
    for (int i = 0; r->plugin_opts && r->plugin_opts[i]; i++) {
        g_string_append_c(spec, ',');
        append_escaped(spec, r->plugin_opts[i]);
    }
    return g_string_free(spec, FALSE);
}

/*
 * QEMU's command line, NULL-terminated: QEMU [--qemu-opt...] -plugin SPEC PROGRAM ARGS... for a
 * guest program; QEMU -plugin SPEC [--qemu-opt...] ARGS... when the program is QEMU (the plugin
 * first, before a user-mode QEMU's guest program).
 */
static GPtrArray *qemu_command(const Request *r, const char *out_abs, int argc, char **argv)
{
    bool guest = r->kind == CFLOW_PROG_GUEST;
    GPtrArray *args = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(args, g_strdup(r->qemu));
    if (!guest) {
        g_ptr_array_add(args, g_strdup("-plugin"));
        g_ptr_array_add(args, plugin_spec(r, out_abs));
    }
    for (int i = 0; r->qemu_args && r->qemu_args[i]; i++) {
        g_ptr_array_add(args, g_strdup(r->qemu_args[i]));
    }
    if (guest) {
        g_ptr_array_add(args, g_strdup("-plugin"));
        g_ptr_array_add(args, plugin_spec(r, out_abs));
        g_ptr_array_add(args, g_strdup(r->prog));
    }
    for (int i = r->first + 1; i < argc; i++) {
        g_ptr_array_add(args, g_strdup(argv[i]));
    }
    g_ptr_array_add(args, NULL);
    return args;
}

/*
 * Starts QEMU as our child with the terminal's signals (SIGINT, SIGQUIT) left to it and
 * SIGTERM and SIGHUP passed on. Returns its pid, or -1 after a message; *exec_errno is exec's
 * error when it could not run QEMU (the child then exits 127), else 0.
 */
static pid_t spawn(const char *qemu, GPtrArray *args, int *exec_errno)
{
    /* exec errors come back through a close-on-exec pipe: EOF means the exec worked */
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        cflow_error(CMD, "pipe: %s", g_strerror(errno));
        return -1;
    }
    struct sigaction ignore = {.sa_handler = SIG_IGN}, fwd = {.sa_handler = forward_signal};
    struct sigaction old_int, old_quit, old_term, old_hup;
    sigaction(SIGINT, &ignore, &old_int);
    sigaction(SIGQUIT, &ignore, &old_quit);
    sigaction(SIGTERM, &fwd, &old_term);
    sigaction(SIGHUP, &fwd, &old_hup);
    pid_t pid = fork();
    if (pid == 0) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGQUIT, &old_quit, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGHUP, &old_hup, NULL);
        close(pipefd[0]);
        execv(qemu, (char **)args->pdata);
        int e = errno;
        ssize_t w = write(pipefd[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(pipefd[1]);
    if (pid < 0) {
        cflow_error(CMD, "fork: %s", g_strerror(errno));
        close(pipefd[0]);
        return -1;
    }
    child_pid = pid;
    *exec_errno = 0;
    ssize_t got;
    do {
        got = read(pipefd[0], exec_errno, sizeof *exec_errno);
    } while (got < 0 && errno == EINTR);
    close(pipefd[0]);
    if (got != (ssize_t)sizeof *exec_errno) {
        *exec_errno = 0;
    }
    return pid;
}

/* Is there a profile at path that was not there as `before` (an old one must not pass)? */
static bool newly_written(const char *path, bool had_before, const struct stat *before)
{
    struct stat after;
    return stat(path, &after) == 0 &&
           (!had_before || after.st_ino != before->st_ino ||
            after.st_mtim.tv_sec != before->st_mtim.tv_sec ||
            after.st_mtim.tv_nsec != before->st_mtim.tv_nsec);
}

/* Runs QEMU and waits for it; the exit status as record's (the guest's), see description. */
static int record(const Request *r, int argc, char **argv)
{
    g_autofree char *out_abs = g_canonicalize_filename(r->out, NULL);
    GPtrArray *args = qemu_command(r, out_abs, argc, argv);
    struct stat before;
    bool had_before = stat(out_abs, &before) == 0;
    /* in system mode the machine's console has the terminal: no status line over it */
    bool live = isatty(STDERR_FILENO) && r->kind != CFLOW_PROG_QEMU_SYSTEM;
    int exec_errno;
    pid_t pid = spawn(r->qemu, args, &exec_errno);
    g_ptr_array_free(args, TRUE);
    if (pid < 0) {
        return CFLOW_EXIT_USAGE;
    }
    g_autofree char *prog_name = g_path_get_basename(r->prog);
    int status = wait_child(pid, live, prog_name);
    child_pid = 0;
    if (exec_errno) {
        cflow_error(CMD, "cannot run %s: %s", r->qemu, g_strerror(exec_errno));
        return CFLOW_EXIT_USAGE;
    }
    if (status < 0) {
        return CFLOW_EXIT_USAGE;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status)
                                 : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
    if (!newly_written(out_abs, had_before, &before)) {
        cflow_error(CMD, "no profile was written to %s", r->out);
        return code ? code : CFLOW_EXIT_USAGE;
    }
    if (live) {
        if (WIFSIGNALED(status)) {
            fprintf(stderr, "cflow record: %s died of signal %d (%s)\n", prog_name,
                    WTERMSIG(status), g_strsignal(WTERMSIG(status)));
        }
        fprintf(stderr, "cflow record: profile written to %s\n", r->out);
    }
    return code;
}

static int run(int argc, char **argv)
{
    Request r = {0};
    int code = parse_args(&argc, &argv, &r) && resolve(&r) ? record(&r, argc, argv)
                                                            : CFLOW_EXIT_USAGE;
    request_clear(&r);
    return code;
}

const CflowCommand cflow_cmd_record = {CMD, "run a program under QEMU and write its profile",
                                       run};
