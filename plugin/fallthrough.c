/*
 * fallthrough.c: owners and reservations of the linear paths into blocks (fallthrough.h).
 *
 * A reservation exists because a block's check compares the cursor with a constant fixed
 * when the block is translated: to expect an instruction that has not been translated yet
 * (the latch of a loop entered by a jump, which comes right after the head), the block needs
 * its id first. Until it is claimed the record stays zero and nothing refers to the id: no
 * store writes it, so no check passes on it and no edge comes from it.
 */
#include "fallthrough.h"

#include "disas.h"
#include "registry.h"
#include "u64map.h"

static U64Map owners;   /* end address -> the first instruction seen ending a block there */
static U64Map reserved; /* start address -> the id reserved for its linear predecessor */

uint64_t fallthrough_owner(uint64_t end, uint64_t id)
{
    uint64_t *owner = u64map_slot(&owners, end);
    if (!*owner) {
        *owner = id;
    }
    return *owner;
}

void fallthrough_prefetch(uint64_t addr)
{
    u64map_prefetch(&owners, addr);
}

/* Not a jump, call or return, as far as the encoding tells (a guess: disas.h) */
static bool can_fall_through(uint64_t addr, const uint8_t *bytes, uint32_t size)
{
    DisasTransfer t;
    if (!disas_transfer_by_encoding(addr, bytes, size, &t)) {
        return true;
    }
    return t.cls == CFLOW_INSN_COND || t.cls == CFLOW_INSN_OTHER;
}

uint64_t fallthrough_linear_predecessor(uint64_t start)
{
    uint64_t owner = u64map_get(&owners, start);
    if (!disas_can_classify()) {
        return owner; /* nothing tells what can fall through: the owner is the best guess */
    }
    if (owner) {
        const InsnRec *r = registry_insn_by_id(owner);
        return can_fall_through(r->addr, registry_insn_bytes(owner), r->size) ? owner : 0;
    }
    uint64_t id = u64map_get(&reserved, start);
    if (!id) {
        id = registry_reserve_id();
        if (id) {
            *u64map_slot(&reserved, start) = id;
        }
    }
    return id;
}

uint64_t fallthrough_claim(uint64_t addr, const uint8_t *bytes, uint32_t size)
{
    uint64_t id = u64map_size(&reserved) ? u64map_get(&reserved, addr + size) : 0;
    if (!id || !can_fall_through(addr, bytes, size)) {
        return 0;
    }
    *u64map_slot(&reserved, addr + size) = 0; /* used up: the next one gets an id of its own */
    return id;
}

void fallthrough_release(void)
{
    u64map_free(&owners);
    u64map_free(&reserved);
}
