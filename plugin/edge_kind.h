/*
 * edge_kind.h: how both modes (hotpath.c, reference.c) name an edge while they record it, so
 * that collect.c turns either one's counts into a profile the same way and the two modes'
 * results compare directly.
 *
 * A recorded edge is keyed HOT_KEY(kind, source instruction id) -> destination: the kind in
 * the top byte, the id below it.
 */
#ifndef CFLOW_EDGE_KIND_H
#define CFLOW_EDGE_KIND_H

#include <stdint.h>

#include <qemu-plugin.h>

/* Kinds as recorded on the hot path (k1's top byte); never 0 so k1 is never 0. */
enum {
    HOT_NORMAL = 1,    /* branch or fall-through: told apart at exit by address */
    HOT_EARLY = 2,     /* the previous block did not reach its last instruction */
    HOT_EXCEPTION = 3, /* from a discontinuity callback ... */
    HOT_INTERRUPT = 4,
    HOT_HOSTCALL = 5,
    HOT_ENTRY = 6,     /* no predecessor: a vCPU's first block; not an edge */
    HOT_FOREIGN = 7,   /* entered from code at a privilege level not recorded; not an edge */
};
#define HOT_KIND_SHIFT 56
#define HOT_ID_MASK ((1ull << HOT_KIND_SHIFT) - 1)
#define HOT_KEY(kind, id) (((uint64_t)(kind) << HOT_KIND_SHIFT) | (id))

/* The hot-path kind of a discontinuity QEMU reports (both modes record them the same way). */
static inline int hot_kind_of_discon(enum qemu_plugin_discon_type type)
{
    return type == QEMU_PLUGIN_DISCON_INTERRUPT   ? HOT_INTERRUPT
           : type == QEMU_PLUGIN_DISCON_EXCEPTION ? HOT_EXCEPTION
                                                  : HOT_HOSTCALL;
}

/* A last_id no instruction has: forces the helper on the next block entry. */
#define LAST_ID_DISCON HOT_ID_MASK
/* What blocks of a level not recorded (option priv) store: "control was elsewhere". */
#define LAST_ID_FOREIGN (HOT_ID_MASK - 2)

#endif
