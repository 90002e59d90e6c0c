/*
 * writer.c: every profile the plugin writes, for whatever reason (writer.h): the output place
 * held since start, the thread that writes files, the dump thread, fork, the report. The
 * run's metadata is run_info.c's.
 */
#include "writer.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collect.h"
#include "report.h"
#include "run_info.h"

static const CflowOptions *opts;
static const CflowModeOps *mode;
static qemu_info_t info_copy;
static bool final_written;      /* the exit profile is out: no more dumps */
static uint64_t dumps;          /* dumps written so far */
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
    run_info_add_meta(p, reason, dumps, __atomic_load_n(&vcpu_starts, __ATOMIC_RELAXED));
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
    struct timespec next = run_info_started();
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
    run_info_init(profiling_mode, info); /* the run's clock starts */
    if (opts->dump_seconds && !opts->output) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "cflow: option 'dump' needs 'output' (where to write the profile)");
        return false;
    }
    info_copy = *info;
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
    run_info_open_proc();
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
        run_info_capture_guest();
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
    run_info_forked_child();
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
        run_info_restart_clock(); /* the child's dumps count from its birth */
        start_thread(dump_main);
    }
#endif
}
