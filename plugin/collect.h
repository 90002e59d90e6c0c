/*
 * collect.h: at exit (or exec), merge the per-vCPU tables and the translation-time records
 * into one CflowProfile. Not on any hot path.
 */
#ifndef CFLOW_COLLECT_H
#define CFLOW_COLLECT_H

#include "mode.h"
#include "profile.h"

/*
 * Builds the profile's insns, edges and blocks from what `mode` counted; the caller adds the
 * run's meta. live: vCPUs may be running, frozen by the caller (the mode's freeze), not
 * stopped. Not live means a user-mode exit, where QEMU has unregistered every callback: where
 * the mode allows it (mode.h: release_counts), the counting state and the records are freed
 * as the profile is built (the exit is where a short run's memory peaks), and the plugin
 * records nothing after it.
 */
CflowProfile *collect_profile(const CflowModeOps *mode, bool live);

#endif
