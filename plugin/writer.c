/*
 * writer.c: every profile the plugin writes, for whatever reason (writer.h): the run's
 * metadata, the output place held since start, the thread that writes files, the report.
 */
#include "writer.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collect.h"
#include "report.h"

static const CflowOptions *opts;
static const CflowModeOps *mode;
static qemu_info_t info_copy;
static char *target_name;
static char *cmdline;       /* captured as the first vCPU starts: /proc may be gone later */
static char *qemu_binary;
static const char *guest_binary; /* user mode, captured as the first vCPU starts */
static struct timespec started; /* CLOCK_MONOTONIC at install */
static bool final_written;      /* the exit profile is out: no more dumps */
static uint64_t dumps;          /* dumps written so far */
static int proc_fd = -1;    /* /proc, held open for the same reason */
static long parent_pid;     /* set in a forked child */
static unsigned int vcpu_starts;
static int saved_stderr = -1; /* QEMU's stderr as it was at start (user mode), see print_report */

/* exec snapshots and exit can race in a multi-threaded guest; held across fork */
static pthread_mutex_t output_lock = PTHREAD_MUTEX_INITIALIZER;
static CflowPlace place = {.dirfd = -1}; /* where profiles go, under output_lock */
static long place_pid;                   /* the pid place was opened for (%p) */

/*
 * The writer thread. QEMU runs a guest's setuid() as the raw system call, which changes the
 * credentials of the calling thread only: a thread of the plugin's own, started before the
 * guest runs, keeps the user's and can always create and rename the profile where the user
 * asked. The caller hands it one job at a time and waits.
 */
static pthread_mutex_t job_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t job_cond = PTHREAD_COND_INITIALIZER;
static const CflowProfile *job_profile; /* non-NULL: a job waiting or running */
static bool job_ok;
static GError *job_error;
static bool thread_started;

static bool write_profile_file(const CflowProfile *p, GError **error)
{
    return opts->format == FORMAT_JSON ? cflow_profile_write_json_to(p, &place, error)
                                       : cflow_profile_write_to(p, &place, error);
}

static void *writer_main(void *unused)
{
    pthread_mutex_lock(&job_lock);
    for (;;) {
        while (!job_profile) {
            pthread_cond_wait(&job_cond, &job_lock);
        }
        const CflowProfile *p = job_profile;
        pthread_mutex_unlock(&job_lock);
        GError *err = NULL;
        bool ok = write_profile_file(p, &err);
        pthread_mutex_lock(&job_lock);
        job_ok = ok;
        job_error = err;
        job_profile = NULL;
        pthread_cond_broadcast(&job_cond);
    }
    return NULL;
}

static bool start_thread(void *(*body)(void *));

static void start_writer_thread(void)
{
    thread_started = start_thread(writer_main);
}

/* Under output_lock. */
static bool write_file(const CflowProfile *p, GError **error)
{
    if (!thread_started) {
        return write_profile_file(p, error);
    }
    pthread_mutex_lock(&job_lock);
    job_profile = p;
    pthread_cond_broadcast(&job_cond);
    while (job_profile) {
        pthread_cond_wait(&job_cond, &job_lock);
    }
    bool ok = job_ok;
    if (!ok) {
        g_propagate_error(error, job_error);
    }
    job_error = NULL;
    pthread_mutex_unlock(&job_lock);
    return ok;
}

/* Under output_lock: the place for this process's profile (a forked child's %p differs). */
static bool place_for_this_process(GError **error)
{
    long pid = (long)getpid();
    if (place.dirfd >= 0 && place_pid == pid) {
        return true;
    }
    cflow_place_close(&place);
    g_autofree char *path = cflow_expand_output_path(opts->output, pid);
    place_pid = pid;
    return cflow_place_open(path, &place, error);
}

/* The guest's command line: QEMU's own arguments stripped, where they can be told apart. */
static char *read_guest_cmdline(const qemu_info_t *info)
{
    g_autofree char *raw = NULL;
    gsize len = 0;
    if (!g_file_get_contents("/proc/self/cmdline", &raw, &len, NULL) || len == 0) {
        return NULL;
    }
    GPtrArray *args = g_ptr_array_new();
    for (gsize i = 0; i < len; i += strlen(raw + i) + 1) {
        g_ptr_array_add(args, raw + i);
    }
    guint start = 0;
    const char *binary = info->system_emulation ? NULL : qemu_plugin_path_to_binary();
    if (binary) {
        /* QEMU may report the resolved path (/bin/sh -> /usr/bin/dash): compare real paths */
        g_autofree char *real = realpath(binary, NULL);
        g_autofree char *base = g_path_get_basename(binary);
        for (guint i = 1; i < args->len; i++) {
            const char *a = g_ptr_array_index(args, i);
            g_autofree char *abase = g_path_get_basename(a);
            g_autofree char *areal = realpath(a, NULL);
            if (strcmp(a, binary) == 0 || strcmp(abase, base) == 0 ||
                (real && areal && strcmp(real, areal) == 0)) {
                start = i;
                break;
            }
        }
    }
    GString *s = g_string_new(NULL);
    for (guint i = start; i < args->len; i++) {
        g_string_append_printf(s, "%s%s", i > start ? " " : "",
                               (const char *)g_ptr_array_index(args, i));
    }
    g_ptr_array_free(args, TRUE);
    return g_string_free(s, FALSE);
}


/*
 * Whether the profile has an instruction in [start, end): its instructions are sorted by
 * address (collect.c), so a binary search; the host's maps list QEMU's own libraries too,
 * and a scan of every block per line took 8 ms of cc1's exit.
 */
static bool has_insn_in(const CflowProfile *p, uint64_t start, uint64_t end)
{
    guint lo = 0, hi = p->insns->len; /* the first instruction at or above start */
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        if (cflow_profile_insn(p, mid)->addr < start) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < p->insns->len && cflow_profile_insn(p, lo)->addr < end;
}

/*
 * User mode: the file mappings that hold executed code ("start-end offset path" lines), so
 * addresses can be turned into (file, offset) across runs with other layouts. In linux-user
 * with a zero guest base, guest addresses are host addresses. (Guest code is mapped without
 * host execute permission, QEMU translates it, so permissions cannot be the filter.) Read
 * through /proc held open since start: the guest may have changed its root.
 */
static char *code_mappings(const CflowProfile *p)
{
    g_autofree char *name = g_strdup_printf("%ld/maps", (long)getpid());
    int fd = proc_fd >= 0 ? openat(proc_fd, name, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) {
        return NULL;
    }
    GString *maps = g_string_new(NULL);
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        g_string_append_len(maps, buf, n);
    }
    close(fd);
    GString *out = g_string_new(NULL);
    g_auto(GStrv) lines = g_strsplit(maps->str, "\n", -1);
    g_string_free(maps, TRUE);
    for (int i = 0; lines[i]; i++) {
        uint64_t start, end, offset;
        char perms[8], path[4096];
        if (sscanf(lines[i], "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*s %*s %4095[^\n]",
                   &start, &end, perms, &offset, path) != 5 ||
            path[0] != '/') {
            continue;
        }
        if (has_insn_in(p, start, end)) {
            g_string_append_printf(out, "%s%" PRIx64 "-%" PRIx64 " %" PRIx64 " %s",
                                   out->len ? "\n" : "", start, end, offset, path);
        }
    }
    return g_string_free(out, FALSE);
}

static bool same_open_file(int a, int b)
{
    struct stat x, y;
    return fstat(a, &x) == 0 && fstat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/*
 * The report goes through QEMU's log, which is fd 2 unless -D names a file. In user mode the
 * guest shares QEMU's descriptors, and many programs close stderr at exit or dup2() something
 * over it: put QEMU's original stderr back at fd 2 just for the report, then restore what the
 * guest had (with -D, the log is a file and fd 2 is not used at all).
 */
static void print_report(const char *text)
{
    bool swap = saved_stderr >= 0 && !same_open_file(2, saved_stderr);
    int guests = -1;
    if (swap) {
        guests = fcntl(2, F_DUPFD_CLOEXEC, 3); /* -1 if the guest closed it */
        dup2(saved_stderr, 2);
    }
    qemu_plugin_outs(text);
    if (swap) {
        if (guests >= 0) {
            dup2(guests, 2);
            close(guests);
        } else {
            close(2);
        }
    }
}

/* The run's metadata (README, "meta"), said once for every reason a profile is written. */
static void add_run_meta(CflowProfile *p, WriteReason reason)
{
    static const char *reasons[] = {[WRITE_AT_EXIT] = "exit", [WRITE_AT_EXEC] = "exec",
                                    [WRITE_AT_DUMP] = "dump"};
    cflow_profile_set_meta(p, "tool", "cflow " CFLOW_VERSION);
    /* QEMU exports no version to plugins: this is the QEMU the plugin was built against */
    cflow_profile_set_meta(p, "qemu_version", CFLOW_QEMU_VERSION);
    if (qemu_binary) {
        cflow_profile_set_meta(p, "qemu_binary", qemu_binary);
    }
    cflow_profile_set_meta_u64(p, "plugin_api", (uint64_t)info_copy.version.cur);
    cflow_profile_set_meta(p, "arch", target_name);
    cflow_profile_set_meta(p, "mode", info_copy.system_emulation ? "system" : "user");
    cflow_profile_set_meta(p, "profile_mode", mode->name);
    cflow_profile_set_meta_u64(p, "vcpus", __atomic_load_n(&vcpu_starts, __ATOMIC_RELAXED));
    if (mode->run_meta) {
        mode->run_meta(p);
    }
    if (!info_copy.system_emulation) {
        if (guest_binary) {
            cflow_profile_set_meta(p, "guest", guest_binary);
        }
        g_autofree char *maps = code_mappings(p);
        if (maps && *maps) {
            cflow_profile_set_meta(p, "maps", maps);
        }
    }
    if (cmdline) {
        cflow_profile_set_meta(p, "cmdline", cmdline);
    }
    cflow_profile_set_meta_u64(p, "pid", (uint64_t)getpid());
    if (parent_pid) {
        cflow_profile_set_meta_u64(p, "parent_pid", (uint64_t)parent_pid);
    }
    cflow_profile_set_meta(p, "written_at", reasons[reason]);
    if (reason == WRITE_AT_DUMP) {
        cflow_profile_set_meta_u64(p, "dump_seq", dumps);
    }
    /* when: wall clock (UTC), and seconds since QEMU started the plugin */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double elapsed = (double)(now.tv_sec - started.tv_sec) +
                     (double)(now.tv_nsec - started.tv_nsec) / 1e9;
    g_autofree char *secs = g_strdup_printf("%.3f", elapsed);
    cflow_profile_set_meta(p, "elapsed_seconds", secs);
    g_autoptr(GDateTime) utc = g_date_time_new_now_utc();
    g_autofree char *iso = g_date_time_format_iso8601(utc);
    cflow_profile_set_meta(p, "written_time", iso);
}

void writer_write(WriteReason reason)
{
    bool report = opts->report && reason == WRITE_AT_EXIT;
    if (!opts->output && !report) {
        return; /* nothing asked for: skip merging altogether */
    }
    pthread_mutex_lock(&output_lock);
    if (final_written) {
        pthread_mutex_unlock(&output_lock); /* a dump that lost the race with the exit */
        return;
    }
    /*
     * At a user-mode exit QEMU has already stopped every vCPU from running instrumented code;
     * anywhere else vCPUs may be running (dumps, exec in a threaded guest, a system-mode exit
     * started by one vCPU while the others go on): freeze them for the merge.
     */
    bool live = !(reason == WRITE_AT_EXIT && !info_copy.system_emulation);
    if (live) {
        mode->freeze(); /* every vCPU's recording stands still for a consistent merge */
    }
    g_autoptr(CflowProfile) p = collect_profile(mode, live);
    if (live) {
        mode->thaw();
    }
    if (reason == WRITE_AT_DUMP) {
        dumps++;
    }
    final_written = reason == WRITE_AT_EXIT;
    add_run_meta(p, reason);
    if (opts->output) {
        g_autoptr(GError) err = NULL;
        if (!place_for_this_process(&err) || !write_file(p, &err)) {
            /* an error is no report: it reaches the user's stderr whatever -d says */
            dprintf(saved_stderr >= 0 ? saved_stderr : 2, "cflow: %s\n", err->message);
        }
    }
    if (report) {
        GString *r = cflow_report(p, opts->sort, opts->topn);
        print_report(r->str);
        g_string_free(r, TRUE);
    }
    pthread_mutex_unlock(&output_lock);
}

/* Option dump: a thread of the plugin's own writes the profile every dump_seconds. */
static void *dump_main(void *unused)
{
    struct timespec next = started;
    for (;;) {
        next.tv_sec += (time_t)opts->dump_seconds;
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) != 0) {
        }
        if (__atomic_load_n(&vcpu_starts, __ATOMIC_ACQUIRE) == 0) {
            continue; /* nothing has run yet */
        }
        writer_write(WRITE_AT_DUMP);
    }
    return NULL;
}

static bool start_thread(void *(*body)(void *))
{
    /* no signal of the guest's may land on it: QEMU's handlers expect a vCPU thread */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    bool ok = pthread_create(&t, NULL, body, NULL) == 0;
    if (ok) {
        pthread_detach(t);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return ok;
}

bool writer_init(const CflowOptions *options, const CflowModeOps *profiling_mode,
                 const qemu_info_t *info, GError **error)
{
    opts = options;
    mode = profiling_mode;
    clock_gettime(CLOCK_MONOTONIC, &started);
    if (opts->dump_seconds && !opts->output) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "cflow: option 'dump' needs 'output' (where to write the profile)");
        return false;
    }
    info_copy = *info;
    target_name = g_strdup(info->target_name);
    if (opts->output) {
        g_autofree char *path = cflow_expand_output_path(opts->output, (long)getpid());
        GError *local = NULL;
        if (!cflow_output_check(path, &local) || !cflow_place_open(path, &place, &local)) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "cflow: %s", local->message);
            g_error_free(local);
            return false;
        }
        place_pid = (long)getpid();
    }
    cflow_output_pin_umask(); /* profiles get the permissions the user had at start */
    qemu_binary = realpath("/proc/self/exe", NULL);
    proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (proc_fd >= 0) {
        int high = fcntl(proc_fd, F_DUPFD_CLOEXEC, 512);
        if (high >= 0) {
            close(proc_fd);
            proc_fd = high;
        }
    }
    if (!info->system_emulation) {
        /* high, so as not to take a number the guest expects to get from open() */
        saved_stderr = fcntl(2, F_DUPFD_CLOEXEC, 512);
        if (opts->output) {
            start_writer_thread();
        }
    }
    if (opts->dump_seconds && !start_thread(dump_main)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "cflow: cannot start the thread for option 'dump'");
        return false;
    }
    return true;
}

void writer_vcpu_started(void)
{
    if (__atomic_add_fetch(&vcpu_starts, 1, __ATOMIC_RELAXED) == 1) {
        /* the first vCPU starts before the guest runs; QEMU names the guest only from now */
        pthread_mutex_lock(&output_lock);
        cmdline = read_guest_cmdline(&info_copy);
        if (!info_copy.system_emulation) {
            guest_binary = qemu_plugin_path_to_binary(); /* needs a vCPU thread */
        }
        pthread_mutex_unlock(&output_lock);
    }
}

void writer_fork_prepare(void)
{
    pthread_mutex_lock(&output_lock);
}

void writer_fork_parent(void)
{
    pthread_mutex_unlock(&output_lock);
}

/* The writer thread did not come along: the child starts its own (with its credentials). */
void writer_fork_child(void)
{
    pthread_mutex_unlock(&output_lock);
    parent_pid = (long)getppid();
    job_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    job_cond = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
    job_profile = NULL;
#if defined(__SANITIZE_THREAD__)
    /* TSan cannot follow a thread started after a multi-threaded fork: write directly */
    thread_started = false;
#else
    if (thread_started) {
        start_writer_thread();
    }
    if (opts->dump_seconds) {
        dumps = 0;
        clock_gettime(CLOCK_MONOTONIC, &started); /* the child's dumps count from its birth */
        start_thread(dump_main);
    }
#endif
}
