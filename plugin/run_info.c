/*
 * run_info.c: what the plugin says about the run in every profile's meta (run_info.h), and
 * where it gets it: /proc (held open since start), the guest's command line and binary as the
 * first vCPU starts, the clocks.
 */
#include "run_info.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const CflowModeOps *mode;
static qemu_info_t info_copy;
static char *target_name;
static char *cmdline;       /* captured as the first vCPU starts: /proc may be gone later */
static char *qemu_binary;
static const char *guest_binary; /* user mode, captured as the first vCPU starts */
static struct timespec started; /* CLOCK_MONOTONIC at install */
static int proc_fd = -1;    /* /proc, held open for the same reason */
static long parent_pid;     /* set in a forked child */

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
 * address (collect.c), so a binary search (the profile library's lower bound); the host's
 * maps list QEMU's own libraries too, and a scan of every block per line took 8 ms of cc1's
 * exit.
 */
static bool has_insn_in(const CflowProfile *p, uint64_t start, uint64_t end)
{
    guint i = cflow_profile_insn_lower_bound(p, start); /* the first at or above start */
    return i < p->insns->len && cflow_profile_insn(p, i)->addr < end;
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

void run_info_init(const CflowModeOps *profiling_mode, const qemu_info_t *info)
{
    mode = profiling_mode;
    clock_gettime(CLOCK_MONOTONIC, &started);
    info_copy = *info;
    target_name = g_strdup(info->target_name);
}

void run_info_open_proc(void)
{
    qemu_binary = realpath("/proc/self/exe", NULL);
    proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (proc_fd >= 0) {
        int high = fcntl(proc_fd, F_DUPFD_CLOEXEC, 512);
        if (high >= 0) {
            close(proc_fd);
            proc_fd = high;
        }
    }
}

void run_info_capture_guest(void)
{
    cmdline = read_guest_cmdline(&info_copy);
    if (!info_copy.system_emulation) {
        guest_binary = qemu_plugin_path_to_binary(); /* needs a vCPU thread */
    }
}

void run_info_forked_child(void)
{
    parent_pid = (long)getppid();
}

void run_info_restart_clock(void)
{
    clock_gettime(CLOCK_MONOTONIC, &started);
}

struct timespec run_info_started(void)
{
    return started;
}

/* The run's metadata (README, "meta"), said once for every reason a profile is written. */
void run_info_add_meta(CflowProfile *p, WriteReason reason, uint64_t dump_seq, unsigned int vcpus)
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
    cflow_profile_set_meta_u64(p, "vcpus", vcpus);
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
        cflow_profile_set_meta_u64(p, "dump_seq", dump_seq);
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
