/*
 * collect.h: at exit (or exec), merge the per-vCPU tables and the translation-time records
 * into one CflowProfile. Not on any hot path.
 */
#ifndef CFLOW_COLLECT_H
#define CFLOW_COLLECT_H

#include "options.h"
#include "profile.h"

/*
 * Builds the profile's insns, edges and blocks; the caller adds the run's meta. live: vCPUs
 * may be running, frozen by the caller (hotpath_freeze, reference_lock), not stopped. Not
 * live means a user-mode exit, where QEMU has unregistered every callback: in fast mode the
 * counting state and the records are freed as the profile is built (the exit is where a
 * short run's memory peaks), and the plugin records nothing after it.
 */
CflowProfile *collect_profile(CflowMode mode, bool live);

#endif
