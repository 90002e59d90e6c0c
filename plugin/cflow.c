/*
 * cflow.c: the plugin's entry point and lifecycle: options, vCPU init, translation, fork,
 * exec, exit. The work itself lives in registry.c (translation time), the mode that runs
 * (mode.h: hotpath.c per executed block, or reference.c, the oracle), collect.c (merge at
 * exit) and the profile library.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <qemu-plugin.h>

#include "disas.h"
#include "mode.h"
#include "options.h"
#include "privilege.h"
#include "qemu_compat.h"
#include "registry.h"
#include "sigframe.h"
#include "symbols.h"
#include "tsan.h"
#include "writer.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;
#if defined(__SANITIZE_THREAD__)
char cflow_tsan_exclusive;
#endif

static CflowOptions opts;
static qemu_info_t info_copy;
static qemu_plugin_id_t plugin_id;
static const CflowModeOps *mode; /* looked up once, at install */

static void vcpu_init(qemu_plugin_id_t id, unsigned int cpu)
{
    qemu_compat_vcpu_init(cpu, info_copy.system_emulation);
    writer_vcpu_started();
    privilege_vcpu_init();
    sigframe_vcpu_init();
    mode->vcpu_init(cpu);
}

static void vcpu_exit(qemu_plugin_id_t id, unsigned int cpu)
{
    if (mode->vcpu_exit) {
        mode->vcpu_exit(cpu);
    }
}

/* Option priv: is code at this level recorded? (Levels unknown are always recorded.) */
static bool priv_recorded(CflowPriv priv)
{
    switch (opts.priv) {
    case PRIV_USER:
        return priv == CFLOW_PRIV_USER || priv == CFLOW_PRIV_UNKNOWN;
    case PRIV_KERNEL:
        return priv == CFLOW_PRIV_KERNEL || priv == CFLOW_PRIV_UNKNOWN;
    default:
        return true;
    }
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    size_t n = qemu_plugin_tb_n_insns(tb);
    if (n == 0) {
        return;
    }
    CflowPriv priv = privilege_now();
    if (!priv_recorded(priv)) {
        mode->instrument_foreign(tb);
        return;
    }
    InsnId *ids = g_new(InsnId, n);
    registry_lock();
    registry_prefetch(tb, n, (uint8_t)priv);
    if (mode->prefetch) {
        mode->prefetch(qemu_plugin_tb_vaddr(tb));
    }
    for (size_t i = 0; i < n; i++) {
        ids[i] = (InsnId)registry_insn(qemu_plugin_tb_get_insn(tb, i), (uint8_t)priv, i + 1 == n);
    }
    /* addresses as the instructions' records have them (system mode: the first alias) */
    const InsnRec *first = registry_insn_by_id(ids[0]), *last = registry_insn_by_id(ids[n - 1]);
    uint64_t start = first->addr, end = last->addr + last->size;
    bool signal_entry = sigframe_is_handler(start);
    uint64_t second = 0;
    uint64_t expected =
        mode->expected_pred ? mode->expected_pred(start, signal_entry, &second) : 0;
    BlockRec *b = registry_block(start, end, expected, second, ids, (uint32_t)n);
    b->signal_entry |= signal_entry;
    mode->instrument(tb, b);
    TSAN_PUBLISHED(b);
    registry_unlock();
    g_free(ids);
}

static void discon(qemu_plugin_id_t id, unsigned int cpu, enum qemu_plugin_discon_type type,
                   uint64_t from_pc, uint64_t to_pc)
{
    mode->discon(cpu, type, from_pc, to_pc);
}

static void plugin_exit(qemu_plugin_id_t id, void *udata)
{
    writer_write(WRITE_AT_EXIT);
}

/* execve replaces the process image without running QEMU's exit path: snapshot first. */
static bool is_execve(int64_t num)
{
    return cflow_arch_is_execve(disas_arch(), num);
}

static void vcpu_syscall(qemu_plugin_id_t id, unsigned int cpu, int64_t num, uint64_t a1,
                         uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6,
                         uint64_t a7, uint64_t a8)
{
    if (mode->housekeeping) {
        mode->housekeeping(cpu);
    }
    uint64_t new_handler = sigframe_syscall(num, a1, a2);
    if (new_handler && mode->signal_handler_installed) {
        mode->signal_handler_installed(new_handler);
    }
    if (is_execve(num)) {
        writer_write(WRITE_AT_EXEC);
    }
}

static void tb_flush(qemu_plugin_id_t id)
{
    mode->tb_flush();
}

static void vcpu_resume(qemu_plugin_id_t id, unsigned int cpu)
{
    mode->housekeeping(cpu);
}

/*
 * fork: hold the plugin's locks across it, so the child never inherits one taken by a thread
 * that does not exist there (QEMU already holds its mmap lock here, which translation, the
 * registry's main user, also holds first: the order is the same).
 */
static void before_fork(void)
{
    writer_fork_prepare();
    registry_lock();
    mode->fork_lock();
}

static void after_fork_in_parent(void)
{
    mode->fork_unlock();
    registry_unlock();
    writer_fork_parent();
}

/* A forked child profiles only what it runs itself: it starts from zero counts. */
static void after_fork_in_child(void)
{
    mode->unlock_in_child();
    registry_unlock();
    writer_fork_child();
    mode->reset_counts();
}

/* At install, and again after every adaptation reset (which unregisters everything). */
static void register_callbacks(void)
{
    qemu_plugin_id_t id = plugin_id;
    if (mode->tb_flush) {
        qemu_plugin_register_flush_cb(id, tb_flush);
    }
    if (mode->housekeeping && info_copy.system_emulation) {
        qemu_plugin_register_vcpu_resume_cb(id, vcpu_resume);
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
    if (opts.priv == PRIV_KERNEL && !info->system_emulation) {
        fprintf(stderr, "cflow: option 'priv=kernel': QEMU in user mode runs user code only\n");
        return -1;
    }
    if (opts.symbols && !symbols_load(opts.symbols, &err)) {
        fprintf(stderr, "%s\n", err->message);
        return -1;
    }
    mode = cflow_mode_of(opts.mode);
    if (!writer_init(&opts, mode, info, &err)) {
        fprintf(stderr, "%s\n", err->message);
        return -1;
    }
    info_copy = *info;
    plugin_id = id;
    registry_init(info->system_emulation);
    privilege_init(info->target_name, info->system_emulation);
    disas_init(info->target_name, info->system_emulation, !opts.qemu_disas);
    sigframe_init(info->target_name, info->system_emulation);
    mode->init(&(CflowModeSetup){
        .id = id, .opts = &opts, .info = info, .reregister = register_callbacks});
    pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
    register_callbacks();
    return 0;
}
