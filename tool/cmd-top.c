/*
 * cmd-top.c: `cflow top FILE`: the hottest functions, source lines or edges of a profile that
 * a running QEMU rewrites every few seconds (plugin option dump=), redrawn as each new dump
 * lands, like `perf top`.
 *
 * The plugin replaces the file atomically (a new file renamed over the old one), so a dump is
 * noticed by its identity changing (inode, time, size), looked at every POLL_MS (one stat, far
 * below a dump period; unlike inotify it works on any file system and needs no watch of the
 * folder), and read whole; anything that still fails to read (a damaged file put there by
 * someone else) is skipped with a status line and the last good view stays. The run is over when
 * the file holds the final profile (meta written_at = exit), or when the QEMU that wrote the
 * dumps (meta pid) is gone without writing one (killed).
 *
 * The terminal: no curses, which would add a dependency for a page of text; ANSI escapes
 * (home, clear to end of line and of screen, hide the cursor) and termios with canonical input
 * and echo off, so a key acts at once. Signals (SIGINT, SIGTERM, SIGHUP) end the loop so the
 * terminal is always restored; SIGWINCH redraws at the new size. When standard output is no
 * terminal, or with --once, one snapshot is printed and the command exits.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cflow.h"
#include "top-view.h"

#define CMD "top"
#define POLL_MS 200      /* how often the file is looked at */
#define SNAPSHOT_ROWS 20 /* rows of a snapshot when no terminal says how many fit */

static volatile sig_atomic_t stop_signal, resized;

static void on_stop(int sig)
{
    stop_signal = sig;
}

static void on_resize(int sig)
{
    (void)sig;
    resized = 1;
}

/* The state of a live view. */
typedef struct {
    const char *path;
    CflowTopView view;
    unsigned rows;         /* --topn (at most what the terminal holds), or 0: all it holds */
    CflowProfile *shown;   /* the last profile read whole, or NULL */
    CflowSrcline *names;   /* the shown profile's names and lines */
    struct stat seen;      /* the identity of the file last read (good or not) */
    bool have_seen, final; /* final: the run is over */
    char *status;          /* the status line */
} Top;

static void set_status(Top *t, char *status)
{
    g_free(t->status);
    t->status = status;
}

static void forget_shown(Top *t)
{
    g_clear_pointer(&t->names, cflow_srcline_free);
    g_clear_pointer(&t->shown, cflow_profile_free);
}

/* "dump 7, 8.0 s into the run": what the profile is, from its meta. */
static char *describe(const CflowProfile *p)
{
    const char *at = cflow_profile_get_meta(p, "written_at");
    const char *seq = cflow_profile_get_meta(p, "dump_seq");
    const char *elapsed = cflow_profile_get_meta(p, "elapsed_seconds");
    g_autofree char *when = elapsed ? g_strdup_printf(", %s s into the run", elapsed)
                                    : g_strdup("");
    if (at && strcmp(at, "dump") == 0) {
        return g_strdup_printf("dump %s%s", seq ? seq : "?", when);
    }
    return g_strdup_printf("%s profile%s", at && strcmp(at, "exit") == 0 ? "final" : at ? at : "a",
                           when);
}

static bool is_final(const CflowProfile *p)
{
    const char *at = cflow_profile_get_meta(p, "written_at");
    return !at || strcmp(at, "exit") == 0;
}

/* Prints view v of p with a title line: the snapshot (--once, or no terminal). */
static int snapshot(const char *path, CflowTopView v, unsigned rows)
{
    g_autoptr(CflowProfile) p = cflow_load(CMD, path);
    if (!p) {
        return CFLOW_EXIT_BAD_INPUT;
    }
    g_autoptr(CflowSrcline) names = cflow_srcline_new(p);
    g_autofree char *what = describe(p);
    g_autoptr(GString) body = cflow_top_render(p, names, v, rows ? rows : SNAPSHOT_ROWS, 0);
    printf("cflow top: %s, %s, hottest %s\n%s", path, what, cflow_top_view_name(v), body->str);
    return CFLOW_EXIT_OK;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Reads the file if it changed since last seen; true when there is something new to show. */
static bool poll_file(Top *t)
{
    struct stat st;
    if (stat(t->path, &st) != 0) {
        if (!t->shown && !t->status) {
            set_status(t, g_strdup_printf("waiting for %s (written by the plugin's dump=)",
                                          t->path));
            return true;
        }
        return false;
    }
    if (t->have_seen && same_file(&st, &t->seen)) {
        return false;
    }
    t->seen = st;
    t->have_seen = true;
    if (!S_ISREG(st.st_mode)) {
        /* a FIFO would block the reader, and a device is written in place, never replaced */
        set_status(t, g_strdup_printf("%s is not a regular file: only a file the plugin "
                                      "replaces can be followed (--once reads it once)",
                                      t->path));
        return true;
    }
    g_autoptr(GError) err = NULL;
    CflowProfile *p = cflow_profile_read(t->path, &err);
    if (!p) {
        set_status(t, g_strdup_printf("skipped a profile that does not read (%s); %s",
                                      err->message, t->shown ? "the last good one is shown"
                                                             : "waiting for the next"));
        return true;
    }
    /* the next dump of the same run keeps the opened files and the names looked up */
    CflowSrcline *names = g_steal_pointer(&t->names);
    if (names && !cflow_srcline_rebind(names, p)) {
        g_clear_pointer(&names, cflow_srcline_free);
    }
    forget_shown(t);
    t->shown = p;
    t->names = names ? names : cflow_srcline_new(p);
    t->final = is_final(p);
    set_status(t, g_strdup(t->final ? "the run is over: the final profile is shown"
                                    : "watching for the next dump"));
    return true;
}

/* Has the QEMU that wrote the shown dump exited without a final profile (killed)? */
static bool writer_gone(const Top *t)
{
    const char *pid = t->shown ? cflow_profile_get_meta(t->shown, "pid") : NULL;
    gint64 n = pid ? g_ascii_strtoll(pid, NULL, 10) : 0;
    return n > 0 && kill((pid_t)n, 0) != 0 && errno == ESRCH;
}

/* One line of the screen, cut to the width and cleared to its end (nothing old shows). */
static void screen_line(GString *screen, const char *line, unsigned width)
{
    g_string_append_len(screen, line, MIN(strlen(line), (size_t)width));
    g_string_append(screen, "\033[K\n");
}

/* Redraws the whole screen: title, status, then the view cut to the terminal. */
static void draw(const Top *t)
{
    struct winsize ws = {0};
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_row < 5 || ws.ws_col == 0) {
        ws.ws_row = 24;
        ws.ws_col = 80;
    }
    /* title, status, heads, the rows, and the line the cursor ends on: nothing scrolls */
    unsigned fit = (unsigned)ws.ws_row - 4, rows = t->rows && t->rows < fit ? t->rows : fit;
    g_autofree char *what = t->shown ? describe(t->shown) : g_strdup("no profile yet");
    g_autofree char *title =
        g_strdup_printf("cflow top: %s, %s, hottest %s   [f]unctions [l]ines [e]dges [q]uit",
                        t->path, what, cflow_top_view_name(t->view));
    GString *screen = g_string_new("\033[H");
    screen_line(screen, title, ws.ws_col);
    screen_line(screen, t->status ? t->status : "", ws.ws_col);
    if (t->shown) {
        g_autoptr(GString) body =
            cflow_top_render(t->shown, t->names, t->view, rows, ws.ws_col);
        g_auto(GStrv) lines = g_strsplit(body->str, "\n", -1);
        for (int i = 0; lines[i] && *lines[i]; i++) {
            screen_line(screen, lines[i], ws.ws_col);
        }
    }
    g_string_append(screen, "\033[J");
    fwrite(screen->str, 1, screen->len, stdout);
    fflush(stdout);
    g_string_free(screen, TRUE);
}

/* Acts on the keys typed; false when one was q. */
static bool read_keys(Top *t)
{
    char keys[64];
    ssize_t n = read(STDIN_FILENO, keys, sizeof keys);
    for (ssize_t i = 0; i < n; i++) {
        char k[2] = {keys[i], 0};
        if (keys[i] == 'q') {
            return false;
        }
        cflow_top_view_parse(k, &t->view); /* anything else (arrows, ...) changes nothing */
    }
    return true;
}

/* The live loop, until q, a signal, or the end of the run. */
static void watch(Top *t, bool keys)
{
    draw(t);
    while (!stop_signal) {
        struct pollfd in = {.fd = STDIN_FILENO, .events = POLLIN};
        int ready = poll(&in, keys ? 1 : 0, POLL_MS);
        bool redraw = resized;
        resized = 0;
        if (ready > 0 && (in.revents & (POLLIN | POLLHUP))) {
            if (!read_keys(t)) {
                return;
            }
            redraw = true;
        }
        redraw |= poll_file(t);
        /* gone without a final profile: looked at after the file, then the file once more,
         * so a final profile renamed into place just before the exit is not missed */
        if (!t->final && writer_gone(t) && !poll_file(t)) {
            set_status(t, g_strdup("the QEMU that wrote the dumps has ended without a final "
                                   "profile: the last dump is shown"));
            t->final = redraw = true;
        }
        if (redraw) {
            draw(t);
        }
        if (t->final) {
            return;
        }
    }
}

static void handle(int sig, void (*fn)(int))
{
    struct sigaction sa = {.sa_handler = fn}; /* no SA_RESTART: poll returns at once */
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

/* The live view on the terminal: keys without Enter or echo, the cursor hidden meanwhile. */
static int live(Top *t)
{
    handle(SIGINT, on_stop);
    handle(SIGTERM, on_stop);
    handle(SIGHUP, on_stop);
    handle(SIGWINCH, on_resize);
    struct termios saved, raw;
    bool keys = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (keys) {
        raw = saved;
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        raw.c_cc[VMIN] = 1;
        raw.c_cc[VTIME] = 0;
        tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    }
    fputs("\033[?25l\033[H\033[2J", stdout);
    watch(t, keys);
    fputs("\033[?25h", stdout);
    fflush(stdout);
    if (keys) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    }
    return CFLOW_EXIT_OK;
}

static const char description[] =
    "FILE is the profile a running QEMU rewrites every few seconds: the plugin's output= with\n"
    "dump=SECONDS (README, \"Using the plugin\"), in the binary format (the default, not\n"
    "format=json), e.g. written by\n"
    "  cflow record -o linux.cflow --plugin-opt dump=1 -- qemu-system-x86_64 ...\n"
    "Each new dump replaces the view, which shows the run so far (counts are cumulative):\n"
    "\n"
    "  functions  instructions executed per function, their share of all, entries, branches\n"
    "  lines      the same per source line (where the guest's DWARF says; else per function)\n"
    "  edges      the most frequent transfers, with their kind and share of all transfers\n"
    "\n"
    "Keys: f, l, e switch the view; q quits. The view follows the terminal's size (--topn fixes\n"
    "the number of rows). A file that does not read as a profile (damaged, half-written by\n"
    "something else) is skipped with a status line and the last good view stays. Before the\n"
    "file exists the command waits for it. The command ends by itself when the run does: the\n"
    "file holds the final profile (written at exit), or the QEMU whose process id the dumps\n"
    "name is gone without writing one.\n"
    "\n"
    "With --once, or when standard output is not a terminal, one snapshot of the view is\n"
    "printed (--view, default functions; --topn rows, default 20) and the command exits.\n"
    "\n"
    "Examples:\n"
    "  cflow top linux.cflow\n"
    "  cflow top --once --view edges --topn 5 linux.cflow\n";

/*
 * The options into t (the view, the rows) and *once; argv[1] is then the profile. False after
 * a message (exit 1).
 */
static bool parse_args(int *argc, char ***argv, Top *t, gboolean *once)
{
    static const CflowUsage usage = {
        "FILE", "Show the hottest functions, lines or edges of a running guest's dumps.",
        description, "expected one profile FILE"};
    g_autofree char *view_name = NULL;
    int topn = 0;
    GOptionEntry entries[] = {
        {"once", 0, 0, G_OPTION_ARG_NONE, once, "Print one snapshot and exit", NULL},
        {"view", 'v', 0, G_OPTION_ARG_STRING, &view_name,
         "functions (default), lines or edges", "VIEW"},
        {"topn", 'n', 0, G_OPTION_ARG_INT, &topn, "Rows shown (default: what fits)", "N"},
        G_OPTION_ENTRY_NULL,
    };
    if (!cflow_parse_usage(argc, argv, &usage, entries, false) ||
        !cflow_check_args(CMD, &usage, *argc == 2)) {
        return false;
    }
    t->view = CFLOW_TOP_FUNCTIONS;
    if (view_name && !cflow_top_view_parse(view_name, &t->view)) {
        cflow_error(CMD, "--view %s: unknown view (functions, lines or edges)", view_name);
        return false;
    }
    if (topn < 0) {
        cflow_error(CMD, "--topn must be 0 or more");
        return false;
    }
    t->rows = (unsigned)topn;
    t->path = (*argv)[1];
    return true;
}

static int run(int argc, char **argv)
{
    Top t = {0};
    gboolean once = FALSE;
    if (!parse_args(&argc, &argv, &t, &once)) {
        return CFLOW_EXIT_USAGE;
    }
    if (once || !isatty(STDOUT_FILENO)) {
        return snapshot(t.path, t.view, t.rows);
    }
    int code = live(&t);
    forget_shown(&t);
    g_free(t.status);
    return code;
}

const CflowCommand cflow_cmd_top = {CMD, "watch a running guest's hottest code, like perf top",
                                    run};
