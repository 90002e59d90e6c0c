/*
 * run_info.h: the run's metadata (README, "meta"), said once for every reason a profile is
 * written, and gathered while it can still be had: /proc held open from the start (the guest
 * may change its root), the guest's command line and binary as the first vCPU starts (/proc
 * may be gone later). The writer (writer.c) calls it; nothing here writes files.
 */
#ifndef CFLOW_RUN_INFO_H
#define CFLOW_RUN_INFO_H

#include <stdint.h>
#include <time.h>

#include <qemu-plugin.h>

#include "mode.h"
#include "profile.h"
#include "writer.h"

/* At install, first thing: the run's clock starts. */
void run_info_init(const CflowModeOps *mode, const qemu_info_t *info);
/* At install, once the output is checked: QEMU's binary, and /proc held open. */
void run_info_open_proc(void);
/* As the first vCPU starts (QEMU names the guest only from then; needs a vCPU thread). */
void run_info_capture_guest(void);
/* In a forked child: its profiles name the parent. */
void run_info_forked_child(void);
/* In a forked child with periodic dumps: its dumps (and elapsed time) count from its birth. */
void run_info_restart_clock(void);
struct timespec run_info_started(void); /* CLOCK_MONOTONIC */
/* The run's meta into p (dump_seq: the dump's number, for reason WRITE_AT_DUMP). */
void run_info_add_meta(CflowProfile *p, WriteReason reason, uint64_t dump_seq,
                       unsigned int vcpus);

#endif
