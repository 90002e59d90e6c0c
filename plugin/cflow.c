/*
 * cflow.c: the plugin's entry point and lifecycle: options, vCPU init, translation, fork,
 * exec, exit. The work itself lives in registry.c (translation time), hotpath.c (per executed
 * block), reference.c (the oracle mode), collect.c (merge at exit) and the profile library.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <qemu-plugin.h>

#include "collect.h"
#include "disas.h"
#include "hotpath.h"
#include "options.h"
#include "profile.h"
#include "reference.h"
#include "registry.h"
#include "report.h"
#include "sigframe.h"
#include "tsan.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;
#if defined(__SANITIZE_THREAD__)
char cflow_tsan_exclusive;
#endif

static CflowOptions opts;
static qemu_info_t info_copy;
static char *target_name;
static long parent_pid;       /* set in a forked child */
static unsigned int vcpu_inits;
/* exec snapshots and exit can race in a multi-threaded guest */
static pthread_mutex_t output_lock = PTHREAD_MUTEX_INITIALIZER;
static qemu_plugin_id_t plugin_id;
static int saved_stderr = -1; /* QEMU's stderr as it was at start (user mode), see print_report */

static void vcpu_init(qemu_plugin_id_t id, unsigned int cpu)
{
    __atomic_add_fetch(&vcpu_inits, 1, __ATOMIC_RELAXED);
    sigframe_vcpu_init();
    if (opts.mode == MODE_FAST) {
        hotpath_vcpu_init(cpu);
    } else {
        reference_vcpu_init(cpu);
    }
}

static void vcpu_exit(qemu_plugin_id_t id, unsigned int cpu)
{
    if (opts.mode == MODE_FAST) {
        hotpath_vcpu_exit(cpu);
    }
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    size_t n = qemu_plugin_tb_n_insns(tb);
    if (n == 0) {
        return;
    }
    uint64_t *ids = g_new(uint64_t, n);
    registry_lock();
    for (size_t i = 0; i < n; i++) {
        ids[i] = registry_insn(qemu_plugin_tb_get_insn(tb, i));
    }
    struct qemu_plugin_insn *last = qemu_plugin_tb_get_insn(tb, n - 1);
    uint64_t end = qemu_plugin_insn_vaddr(last) + qemu_plugin_insn_size(last);
    uint64_t start = qemu_plugin_tb_vaddr(tb);
    bool signal_entry = sigframe_is_handler(start);
    uint64_t expected = opts.mode != MODE_FAST ? 0
                        : signal_entry       ? EXPECT_EVERY_ENTRY
                                             : hotpath_expected_pred(start);
    BlockRec *b = registry_block(start, end, expected, ids, (uint32_t)n);
    b->signal_entry |= signal_entry;
    if (opts.mode == MODE_FAST) {
        hotpath_instrument(tb, b);
    } else {
        reference_instrument(tb, b);
    }
    TSAN_PUBLISHED(b);
    registry_unlock();
    g_free(ids);
}

static void discon(qemu_plugin_id_t id, unsigned int cpu, enum qemu_plugin_discon_type type,
                   uint64_t from_pc, uint64_t to_pc)
{
    if (opts.mode == MODE_FAST) {
        hotpath_discon(cpu, type, to_pc);
    } else {
        reference_discon(cpu, type, to_pc);
    }
}

/* The guest's command line: QEMU's own arguments stripped, where they can be told apart. */
static char *guest_cmdline(void)
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
    const char *binary = info_copy.system_emulation ? NULL : qemu_plugin_path_to_binary();
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
 * User mode: the file mappings that hold executed code ("start-end offset path"
 * lines), so addresses can be turned into (file, offset) across runs with other layouts. In
 * linux-user with a zero guest base, guest addresses are host addresses. (Guest code is mapped
 * without host execute permission, QEMU translates it, so permissions cannot be the filter.)
 */
static char *code_mappings(const CflowProfile *p)
{
    g_autofree char *maps = NULL;
    if (!g_file_get_contents("/proc/self/maps", &maps, NULL, NULL)) {
        return NULL;
    }
    GString *out = g_string_new(NULL);
    g_auto(GStrv) lines = g_strsplit(maps, "\n", -1);
    for (int i = 0; lines[i]; i++) {
        uint64_t start, end, offset;
        char perms[8], path[4096];
        if (sscanf(lines[i], "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*s %*s %4095[^\n]",
                   &start, &end, perms, &offset, path) != 5 ||
            path[0] != '/') {
            continue;
        }
        for (guint b = 0; b < p->blocks->len; b++) {
            uint64_t a = cflow_profile_block(p, b)->addr;
            if (a >= start && a < end) {
                g_string_append_printf(out, "%s%" PRIx64 "-%" PRIx64 " %" PRIx64 " %s",
                                       out->len ? "\n" : "", start, end, offset, path);
                break;
            }
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

static void write_outputs(const char *reason)
{
    bool report = opts.report && strcmp(reason, "exit") == 0;
    if (!opts.output && !report) {
        return; /* nothing asked for: skip merging altogether */
    }
    pthread_mutex_lock(&output_lock);
    g_autoptr(CflowProfile) p = collect_profile(opts.mode);
    cflow_profile_set_meta(p, "tool", "cflow " CFLOW_VERSION);
    /* QEMU exports no version to plugins: this is the QEMU the plugin was built against */
    cflow_profile_set_meta(p, "qemu_version", CFLOW_QEMU_VERSION);
    g_autofree char *qemu_binary = realpath("/proc/self/exe", NULL);
    if (qemu_binary) {
        cflow_profile_set_meta(p, "qemu_binary", qemu_binary);
    }
    cflow_profile_set_meta_u64(p, "plugin_api", (uint64_t)info_copy.version.cur);
    cflow_profile_set_meta(p, "arch", target_name);
    cflow_profile_set_meta(p, "mode", info_copy.system_emulation ? "system" : "user");
    cflow_profile_set_meta(p, "profile_mode", opts.mode == MODE_FAST ? "fast" : "reference");
    cflow_profile_set_meta_u64(p, "vcpus", __atomic_load_n(&vcpu_inits, __ATOMIC_RELAXED));
    if (opts.mode == MODE_FAST) {
        cflow_profile_set_meta_u64(p, "adapt_after", opts.adapt_after);
    }
    if (!info_copy.system_emulation) {
        const char *binary = qemu_plugin_path_to_binary();
        if (binary) {
            cflow_profile_set_meta(p, "guest", binary);
        }
        g_autofree char *maps = code_mappings(p);
        if (maps && *maps) {
            cflow_profile_set_meta(p, "maps", maps);
        }
    }
    g_autofree char *cmd = guest_cmdline();
    if (cmd) {
        cflow_profile_set_meta(p, "cmdline", cmd);
    }
    cflow_profile_set_meta_u64(p, "pid", (uint64_t)getpid());
    if (parent_pid) {
        cflow_profile_set_meta_u64(p, "parent_pid", (uint64_t)parent_pid);
    }
    cflow_profile_set_meta(p, "written_at", reason);

    if (opts.output) {
        g_autofree char *path = cflow_expand_output_path(opts.output, (long)getpid());
        g_autoptr(GError) err = NULL;
        bool ok = opts.format == FORMAT_JSON ? cflow_profile_write_json_file(p, path, &err)
                                             : cflow_profile_write(p, path, &err);
        if (!ok) {
            g_autofree char *msg = g_strdup_printf("cflow: %s\n", err->message);
            print_report(msg);
        }
    }
    if (report) {
        GString *r = cflow_report(p, opts.sort, opts.topn);
        print_report(r->str);
        g_string_free(r, TRUE);
    }
    pthread_mutex_unlock(&output_lock);
}

static void plugin_exit(qemu_plugin_id_t id, void *udata)
{
    write_outputs("exit");
}

/* execve replaces the process image without running QEMU's exit path: snapshot first. */
static bool is_execve(int64_t num)
{
    if (strcmp(target_name, "x86_64") == 0) {
        return num == 59 || num == 322;
    }
    if (strcmp(target_name, "aarch64") == 0 || strcmp(target_name, "riscv64") == 0 ||
        strcmp(target_name, "riscv32") == 0 || strcmp(target_name, "loongarch64") == 0) {
        return num == 221 || num == 281;
    }
    if (strcmp(target_name, "i386") == 0) {
        return num == 11 || num == 358;
    }
    return false;
}

static void vcpu_syscall(qemu_plugin_id_t id, unsigned int cpu, int64_t num, uint64_t a1,
                         uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6,
                         uint64_t a7, uint64_t a8)
{
    if (opts.mode == MODE_FAST) {
        hotpath_housekeeping(cpu);
    }
    sigframe_syscall(num, a1, a2);
    if (is_execve(num)) {
        write_outputs("exec");
    }
}

static void tb_flush(qemu_plugin_id_t id)
{
    hotpath_flush();
}

static void vcpu_resume(qemu_plugin_id_t id, unsigned int cpu)
{
    hotpath_housekeeping(cpu);
}

/*
 * fork: hold the plugin's locks across it, so the child never inherits one taken by a thread
 * that does not exist there (QEMU already holds its mmap lock here, which translation, the
 * registry's main user, also holds first: the order is the same).
 */
static void lock_mode_state(void)
{
    if (opts.mode == MODE_FAST) {
        hotpath_lock_vcpus();
    } else {
        reference_lock();
    }
}

static void unlock_mode_state(void)
{
    if (opts.mode == MODE_FAST) {
        hotpath_unlock_vcpus();
    } else {
        reference_unlock();
    }
}

static void before_fork(void)
{
    pthread_mutex_lock(&output_lock);
    registry_lock();
    lock_mode_state();
}

static void after_fork_in_parent(void)
{
    unlock_mode_state();
    registry_unlock();
    pthread_mutex_unlock(&output_lock);
}

/* A forked child profiles only what it runs itself: it starts from zero counts. */
static void after_fork_in_child(void)
{
    unlock_mode_state();
    registry_unlock();
    pthread_mutex_unlock(&output_lock);
    parent_pid = (long)getppid();
    if (opts.mode == MODE_FAST) {
        hotpath_reset_counts();
    } else {
        reference_reset_counts();
    }
}

/* At install, and again after every adaptation reset (which unregisters everything). */
static void register_callbacks(void)
{
    qemu_plugin_id_t id = plugin_id;
    if (opts.mode == MODE_FAST) {
        qemu_plugin_register_flush_cb(id, tb_flush);
        if (info_copy.system_emulation) {
            qemu_plugin_register_vcpu_resume_cb(id, vcpu_resume);
        }
    }
    qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
    qemu_plugin_register_vcpu_exit_cb(id, vcpu_exit);
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_vcpu_discon_cb(id, QEMU_PLUGIN_DISCON_ALL, discon);
    if (!info_copy.system_emulation) {
        qemu_plugin_register_vcpu_syscall_cb(id, vcpu_syscall);
    }
    qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                           int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    if (!cflow_options_parse(&opts, argc, argv, &err)) {
        fprintf(stderr, "%s\n", err->message);
        return -1;
    }
    if (opts.output && !g_path_is_absolute(opts.output)) {
        /* the guest may chdir(): the profile goes where the user was when QEMU started */
        g_autofree char *cwd = g_get_current_dir();
        char *absolute = g_build_filename(cwd, opts.output, NULL);
        g_free(opts.output);
        opts.output = absolute;
    }
    if (opts.output) {
        g_autofree char *path = cflow_expand_output_path(opts.output, (long)getpid());
        if (!cflow_check_output_path(path, &err)) {
            fprintf(stderr, "%s\n", err->message);
            return -1;
        }
    }
    cflow_output_pin_umask(); /* profiles get the permissions the user had at start */
    info_copy = *info;
    if (!info->system_emulation) {
        /* high, so as not to take a number the guest expects to get from open() */
        saved_stderr = fcntl(2, F_DUPFD_CLOEXEC, 512);
    }
    target_name = g_strdup(info->target_name);
    plugin_id = id;
    registry_init();
    disas_init(info->target_name, info->system_emulation, !opts.qemu_disas);
    sigframe_init(info->target_name, info->system_emulation);
    if (opts.mode == MODE_FAST) {
        hotpath_init(id, opts.adapt_after, opts.counter_mib, register_callbacks);
    } else {
        reference_init();
    }
    pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
    register_callbacks();
    return 0;
}
