/*
 * registry.h: what the plugin learns at translation time, kept once for the whole process.
 *
 * Instructions are interned by content (address, size, bytes): a new content at a known
 * address (self-modifying or JIT code) becomes a new generation with its own id, so edges
 * never mix two different instructions. Blocks are interned by (start, instruction ids): a
 * block translated again after a flush reuses its record and its execution counter.
 *
 * Everything here runs at translation time or at exit, under one mutex; nothing here runs per
 * executed block. Ids are dense, start at 1 (0 means "no instruction") and never change.
 */
#ifndef CFLOW_REGISTRY_H
#define CFLOW_REGISTRY_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include <qemu-plugin.h>

/* The most bytes one instruction can have (x86: 15); longer ones are kept truncated. */
#define INSN_MAX_BYTES 16

/* Bytes kept in the record itself; longer instructions (x86, rare) keep theirs beside it. */
#define INSN_INLINE_BYTES 13

/*
 * 32 bytes, kept in pages that never move: translation allocates nothing per instruction (a
 * python3 start-up translates ~140,000 of them; see docs/design.md). What only some runs or
 * some instructions need lives beside it: the identity of system-mode code, QEMU's text when
 * disassembly is not deferred (registry_insn_disas), the bytes past INSN_INLINE_BYTES
 * (registry_insn_bytes), the symbol as an index (registry_insn_symbol).
 */
typedef struct {
    uint64_t addr;       /* as executed (system mode: the first virtual alias translated) */
    uint32_t generation;
    uint32_t symbol;     /* registry_insn_symbol: 0 for none */
    uint8_t size;        /* at most INSN_MAX_BYTES */
    uint8_t priv;        /* CflowPriv it ran at: part of its identity */
    int8_t may_leave;    /* disas_may_leave_block(), -1 until asked */
    uint8_t bytes[INSN_INLINE_BYTES]; /* the first ones: registry_insn_bytes has them all */
} InsnRec;

/* Instruction ids as blocks keep them: 4 bytes (4 G instructions would need 160 GB of records) */
typedef uint32_t InsnId;

/* Allocated from an arena (blocks live as long as the process): 44 bytes + 4 per instruction. */
typedef struct {
    uint64_t start;
    uint64_t end;       /* address after the last instruction */
    uint64_t expected;  /* fast mode: the predecessor instruction entries are not checked for */
    uint32_t n_insns;
    uint32_t slot;      /* counter index (fast mode) */
    InsnId second;      /* fast mode: a second predecessor counted inline (hotpath.c), or 0 */
    uint32_t slot2;     /* its counter index + 1, given when first instrumented; 0: none yet */
    bool signal_entry;  /* starts a signal handler (sigframe.h): entries checked for faults */
    InsnId ids[];       /* n_insns instruction ids; the last is ids[n_insns - 1] */
} BlockRec;

/*
 * physical: identify code by where its bytes are (system mode: QEMU shares one translation
 * between every virtual alias of a physical page, so no per-alias identity is to be had
 * cheaply); instructions then carry the virtual address of their first translation.
 */
void registry_init(bool physical);
bool registry_physical(void);
void registry_lock(void);
void registry_unlock(void);

/*
 * Under the lock, before registry_insn and registry_block for the `n` (> 0) instructions of
 * `tb`, translated at level `priv`: starts loading the index lines and side-map slots they
 * will probe. Each probe is a cache miss (the indexes outgrow the caches early in a
 * start-up); issued together, the misses overlap.
 */
void registry_prefetch(const struct qemu_plugin_tb *tb, size_t n, uint8_t priv);
/*
 * Under the lock: intern one instruction of a block being translated at level `priv`;
 * `ends_block`: it is the block's last (it may take an id reserved for it, fallthrough.h).
 */
uint64_t registry_insn(const struct qemu_plugin_insn *insn, uint8_t priv, bool ends_block);
/*
 * Under the lock: intern a block made of `ids`, instrumented to expect entries from
 * instruction `expected` and to count those from `second` (0: none) inline (an existing record
 * when the same block was seen before).
 */
BlockRec *registry_block(uint64_t start, uint64_t end, uint64_t expected, uint64_t second,
                         const InsnId *ids, uint32_t n);
/*
 * Under the lock: an id whose instruction is not seen yet (fallthrough.h), its record zero
 * until registry_insn hands the id to it; 0 in system mode (physical identity), where an
 * address alone does not name the instruction that will be there.
 */
uint64_t registry_reserve_id(void);

const InsnRec *registry_insn_by_id(uint64_t id);
/* Under the lock: the instruction's `size` bytes (valid until the next registry_insn). */
const uint8_t *registry_insn_bytes(uint64_t id);
/* Under the lock: QEMU's disassembly when not deferred (disas.h), else NULL. */
const char *registry_insn_disas(uint64_t id);
/* Under the lock: QEMU's symbol for the instruction, or NULL. */
const char *registry_insn_symbol(uint64_t id);
/* Hash and equality of a block's content (start and instructions), whatever it expected. */
guint registry_block_content_hash(gconstpointer block);
gboolean registry_block_content_equal(gconstpointer a, gconstpointer b);
/* Under the lock: can the instruction leave its block mid-way (disas.h)? Cached. */
bool registry_insn_may_leave(uint64_t id);
/* Without the lock, from any thread: an instruction's address (0 for an unknown id). */
uint64_t registry_insn_addr_unlocked(uint64_t id);
uint64_t registry_insn_count(void);    /* ids run from 1 to this */
guint registry_block_count(void);
BlockRec *registry_block_by_index(guint i); /* in creation order */
/* Without the lock, from any thread: the block record of a slot, or NULL. */
const BlockRec *registry_block_unlocked(uint32_t slot);
/*
 * Under the lock, at a user-mode exit (no translation can follow: QEMU has unregistered the
 * callbacks): free the indexes, which only translation uses, before the profile is built.
 * Records stay readable by id and index.
 */
void registry_release_indexes(void);
/*
 * After registry_release_indexes, copying records out in id order: free the pages of records
 * wholly below `id` (their ids must not be looked up again).
 */
void registry_release_insns_below(uint64_t id);
/* After registry_release_indexes, once no block record is read again: free them all. */
void registry_release_blocks(void);
/* Under the lock: has an instruction at addr been translated (at any level)? */
bool registry_has_insn_at(uint64_t addr);

#endif
