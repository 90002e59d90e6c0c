/*
 * fallthrough.h: the instructions that lead linearly into blocks, for fast mode's guesses of
 * a block's expected predecessors (hotpath.c): the first instruction seen ending a block at
 * each address (its owner), and ids handed out for such instructions before they are
 * translated (reservations). All under the registry lock; translation-time only.
 */
#ifndef CFLOW_FALLTHROUGH_H
#define CFLOW_FALLTHROUGH_H

#include <stdbool.h>
#include <stdint.h>

/* The instruction that owns the path into `end`; records `id` as owner when there is none. */
uint64_t fallthrough_owner(uint64_t end, uint64_t id);
void fallthrough_prefetch(uint64_t addr);
/*
 * The instruction that can fall through into `start`: its owner if that can (a conditional
 * branch, or a block QEMU cut short), else 0; with no owner yet, where instructions are
 * classified, an id reserved (registry_reserve_id: user mode) for the first such instruction
 * to end a block at `start`.
 */
uint64_t fallthrough_linear_predecessor(uint64_t start);
/*
 * A new instruction at `addr` that ends its block: the id reserved for it, if one was and it
 * can fall through (the reservation is used up), else 0.
 */
uint64_t fallthrough_claim(uint64_t addr, const uint8_t *bytes, uint32_t size);
void fallthrough_release(void);

#endif
