/*
 * reference.h: the slow, obviously right mode (mode=reference), kept forever as the oracle
 * that every faster scheme is checked against.
 *
 * A helper runs before every instruction, under one global lock, and records every block
 * entry explicitly as (previous instruction -> this block, kind) in one GLib hash table:
 * no inline operations, no scoreboards, nothing derived by subtraction.
 */
#ifndef CFLOW_REFERENCE_H
#define CFLOW_REFERENCE_H

#include "mode.h"

/* The mode's table (mode.h); everything else of reference.c is its own. */
extern const CflowModeOps reference_mode;

#endif
