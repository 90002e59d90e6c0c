/*
 * collect.h: at exit (or exec), merge the per-vCPU tables and the translation-time records
 * into one CflowProfile. Not on any hot path; other vCPUs may still be running at exec.
 */
#ifndef CFLOW_COLLECT_H
#define CFLOW_COLLECT_H

#include "options.h"
#include "profile.h"

/* Builds the profile's insns, edges and blocks; the caller adds the run's meta. */
CflowProfile *collect_profile(CflowMode mode);

#endif
