/*
 * profile.h: cflow's data model and its one reader/writer library, shared by the plugin, the
 * cflow tool and the tests.
 *
 * A profile is what one guest process (or one machine) did: the instructions it translated,
 * the blocks it entered and how often, and the control-flow edges between instructions with
 * exact counts. Data flows one way: plugin -> profile file -> tool views.
 *
 * Instructions are identified by (addr, generation): the same address translated with
 * different bytes (self-modifying or JIT code) gets a new generation, so edges out of the old
 * and the new instruction are never mixed up. Edges point at instructions by index.
 */
#ifndef CFLOW_PROFILE_H
#define CFLOW_PROFILE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "arch.h" /* CflowPriv */

G_BEGIN_DECLS

#define CFLOW_PROFILE_MAGIC "CFLOWPRF" /* 8 bytes, no terminator on disk */
#define CFLOW_PROFILE_VERSION 1u
#define CFLOW_NO_STRING UINT32_MAX /* an insn without a symbol */
#define CFLOW_INSN_BYTES 16u /* an instruction's bytes as kept (section insn_bytes), zero-padded */

/* The kinds of edge, as in docs/profile-format.md. Values are part of the file format. */
typedef enum {
    CFLOW_EDGE_BRANCH = 0,      /* non-linear transfer out of a block's last instruction */
    CFLOW_EDGE_FALLTHROUGH = 1, /* a block's last instruction followed by the next address */
    CFLOW_EDGE_EXCEPTION = 2,   /* QEMU reported an exception at `from` */
    CFLOW_EDGE_INTERRUPT = 3,   /* QEMU reported an interrupt after `from` */
    CFLOW_EDGE_HOSTCALL = 4,    /* QEMU reported a host call (semihosting ...) at `from` */
    CFLOW_EDGE_EARLY_EXIT = 5,  /* the block was left at `from`, before its end: a fault */
    CFLOW_EDGE_KIND_COUNT
} CflowEdgeKind;

/* CflowPriv, the privilege level an instruction ran at (section insn_priv), is in arch.h. */

typedef struct {
    uint64_t addr;
    uint32_t size;       /* bytes */
    uint32_t generation; /* 0, 1, ...: distinct contents seen at this address, in order */
    uint32_t disas;      /* offset into the string pool */
    uint32_t symbol;     /* offset into the string pool, or CFLOW_NO_STRING */
} CflowInsn;

typedef struct {
    uint32_t from; /* index into insns */
    uint32_t kind; /* CflowEdgeKind */
    uint64_t to;   /* address of the first instruction executed after the transfer */
    uint64_t count;
} CflowEdge;

typedef struct {
    uint64_t addr;  /* first instruction */
    uint64_t count; /* times the block was entered */
    uint32_t first; /* index into block_insns */
    uint32_t n_insns;
} CflowBlock;

typedef struct {
    uint32_t key;   /* offsets into the string pool */
    uint32_t value;
} CflowMeta;

/* A profile in memory. Arrays are GArrays so the plugin can build one incrementally. */
typedef struct {
    GArray *meta;        /* CflowMeta, in insertion order */
    GArray *insns;       /* CflowInsn */
    GArray *edges;       /* CflowEdge */
    GArray *blocks;      /* CflowBlock */
    GArray *block_insns; /* uint32_t insn indices, referenced by CflowBlock.first/n_insns */
    GByteArray *strings; /* NUL-terminated strings; offset 0 is always "" */
    GByteArray *insn_priv; /* CflowPriv per insn, or empty: levels not recorded */
    GByteArray *insn_bytes; /* CFLOW_INSN_BYTES per insn, or empty: bytes not recorded */
    GPtrArray *insn_text;   /* texts made from insn_bytes, by insn, NULL until asked: apart from
                             * the pool, so no string pointer a reader holds ever moves */
    struct CflowStringIndex *string_index; /* pool offsets by string, for interning while
                                            * building (empty in a profile that was read: built
                                            * on its first intern); private to profile.c */
} CflowProfile;

#define CFLOW_PROFILE_ERROR (cflow_profile_error_quark())
GQuark cflow_profile_error_quark(void);
typedef enum {
    CFLOW_PROFILE_ERROR_IO,       /* open/read/write/rename failed */
    CFLOW_PROFILE_ERROR_FORMAT,   /* not a cflow profile, or damaged */
    CFLOW_PROFILE_ERROR_VERSION,  /* a cflow profile of a version this reader does not know */
    CFLOW_PROFILE_ERROR_CHECKSUM, /* contents do not match the stored checksum */
} CflowProfileError;

CflowProfile *cflow_profile_new(void);
void cflow_profile_free(CflowProfile *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CflowProfile, cflow_profile_free)

/* Interns s (NULL is not allowed) and returns its offset in the string pool. */
uint32_t cflow_profile_intern(CflowProfile *p, const char *s);
/* Forget the intern index (the pool was replaced): rebuilt on the next intern. */
void cflow_profile_forget_string_index(CflowProfile *p);
/* NULL for NO_STRING. The pointer is into the pool: valid until the next string is interned. */
const char *cflow_profile_string(const CflowProfile *p, uint32_t offset);

void cflow_profile_set_meta(CflowProfile *p, const char *key, const char *value);
void cflow_profile_set_meta_u64(CflowProfile *p, const char *key, uint64_t value); /* decimal */
const char *cflow_profile_get_meta(const CflowProfile *p, const char *key); /* NULL if absent */
/*
 * Room for what a writer is about to add (the arrays of an empty profile allocated at their
 * final size): a large profile is then built without the copies and the slack of growing
 * arrays, which were the peak of a plugin's memory at exit.
 */
void cflow_profile_reserve(CflowProfile *p, guint insns, guint edges, guint blocks,
                           guint block_insns);
uint32_t cflow_profile_add_insn(CflowProfile *p, uint64_t addr, uint32_t size,
                                uint32_t generation, const char *disas, const char *symbol);
/*
 * Room for `n` instructions at once, returning the first new index: for a builder that knows
 * every index up front (the plugin, which copies its records out in their own order while
 * the profile keeps address order) and then fills each one with cflow_profile_put_insn.
 * Until filled they are zeros with no text.
 */
uint32_t cflow_profile_add_insns(CflowProfile *p, guint n);
void cflow_profile_put_insn(CflowProfile *p, uint32_t index, uint64_t addr, uint32_t size,
                            uint32_t generation, const char *disas, const char *symbol);
void cflow_profile_add_edge(CflowProfile *p, uint32_t from, CflowEdgeKind kind, uint64_t to,
                            uint64_t count);
void cflow_profile_add_block(CflowProfile *p, uint64_t addr, uint64_t count,
                             const uint32_t *insns, uint32_t n_insns);

#define cflow_profile_insn(p, i) (&g_array_index((p)->insns, CflowInsn, (i)))
#define cflow_profile_edge(p, i) (&g_array_index((p)->edges, CflowEdge, (i)))
#define cflow_profile_block(p, i) (&g_array_index((p)->blocks, CflowBlock, (i)))
/*
 * The first instruction at or above `addr` (p->insns->len if none), by binary search: the
 * instructions are in address order, as every writer of the library keeps them.
 */
guint cflow_profile_insn_lower_bound(const CflowProfile *p, uint64_t addr);
/* The index of an instruction record of p, from its address. */
#define cflow_profile_insn_index(p, in) ((uint32_t)((in) - (const CflowInsn *)(p)->insns->data))

/* Sets insn i's level; the first call sizes insn_priv to the insns (others UNKNOWN). */
/*
 * An instruction's disassembly. A profile may keep an instruction's bytes instead of its text
 * (the plugin does, in user mode on x86_64 and aarch64: disassembling every instruction at exit
 * was the largest part of writing a profile); the text is then made from the bytes, with
 * capstone and the architecture in meta "arch", the first time it is asked for, and kept.
 */
const char *cflow_profile_insn_disas(const CflowProfile *p, uint32_t insn);
/*
 * The instruction's bytes (its `size` of them, at most CFLOW_INSN_BYTES), or NULL. In a profile
 * that keeps bytes, an instruction added without them has zeros (its text, if given, wins).
 */
const uint8_t *cflow_profile_insn_bytes(const CflowProfile *p, uint32_t insn);
void cflow_profile_set_insn_bytes(CflowProfile *p, uint32_t insn, const uint8_t *bytes,
                                  uint32_t size);
/*
 * Text for one instruction as QEMU prints it through capstone (AT&T syntax on x86, data
 * shown as .byte), or ".byte 0x.., ..." where capstone has no such architecture (profile/disasm.c).
 */
char *cflow_disasm(const char *arch, uint64_t addr, const uint8_t *bytes, uint32_t size);

void cflow_profile_set_insn_priv(CflowProfile *p, uint32_t insn, CflowPriv priv);
/* UNKNOWN where levels are not recorded. */
CflowPriv cflow_profile_insn_priv(const CflowProfile *p, uint32_t insn);
const char *cflow_priv_name(CflowPriv priv); /* "user", "kernel", "hypervisor", "firmware" */
bool cflow_priv_parse(const char *name, CflowPriv *priv);

/*
 * Orders insn indices (uint32_t) of `profile` by address, then generation: a GCompareDataFunc
 * for g_array_sort_with_data, the canonical order of instructions.
 */
int cflow_insn_index_cmp(const void *a, const void *b, void *profile);

const char *cflow_edge_kind_name(CflowEdgeKind kind); /* "branch", "fallthrough", ... */
bool cflow_edge_kind_parse(const char *name, CflowEdgeKind *kind);

/*
 * Binary format (docs/profile-format.md). Writing is atomic: a temporary file beside `path`
 * is renamed over it, so a reader never sees half a profile.
 */
bool cflow_profile_write(const CflowProfile *p, const char *path, GError **error);
/* Rejects anything damaged with a specific message; never crashes on bad input. */
CflowProfile *cflow_profile_read(const char *path, GError **error);
CflowProfile *cflow_profile_parse(const void *data, size_t len, GError **error);
/* Serializes to a newly allocated buffer (what cflow_profile_write puts on disk). */
GBytes *cflow_profile_serialize(const CflowProfile *p);

/* JSON form: {"meta": {...}, "edges": [...], "insns": [...], "blocks": [...]} */
bool cflow_profile_write_json(const CflowProfile *p, FILE *out, GError **error);
bool cflow_profile_write_json_file(const CflowProfile *p, const char *path, GError **error);

/*
 * Where a file goes (output.c): the folder of the file `path` leads to through symbolic links,
 * held open so that a later chdir() or chroot() does not move it, and the name in it.
 */
typedef struct {
    int dirfd;
    char *name;
    char *shown; /* the path as given, for messages */
} CflowPlace;
bool cflow_place_open(const char *path, CflowPlace *place, GError **error);
void cflow_place_close(CflowPlace *place);
/* Could a file be written there (see cflow_write_place)? A message naming the problem if not. */
bool cflow_place_check(const CflowPlace *place, GError **error);

/*
 * Writes what `body` writes to `f` (output.c): FIFOs and character devices written in place,
 * a regular file or new name replaced atomically (a temporary file in the same folder, fsync,
 * rename; on failure it is removed and the target untouched); anything else refused. `body`
 * returns false on failure, setting `error` or leaving errno. The binary and JSON writers use
 * it; the tool may use it for its own outputs.
 */
typedef bool (*CflowWriteFunc)(const void *data, FILE *f, GError **error);
bool cflow_write_place(const CflowPlace *place, CflowWriteFunc body, const void *data,
                       GError **error);
/* The same for a path (cflow_place_open, then cflow_write_place). */
bool cflow_write_file_atomic(const char *path, CflowWriteFunc body, const void *data,
                             GError **error);
/* cflow_place_open + cflow_place_check. */
bool cflow_output_check(const char *path, GError **error);
/* The file a path leads to, through symbolic links (newly allocated). */
char *cflow_output_target(const char *path);
/* New files get 0666 less the umask in force now, whatever a program sets it to later. */
void cflow_output_pin_umask(void);
/* A profile, binary or JSON, to a place. */
bool cflow_profile_write_to(const CflowProfile *p, const CflowPlace *place, GError **error);
bool cflow_profile_write_json_to(const CflowProfile *p, const CflowPlace *place,
                                 GError **error);

/* Checks the invariants a reader relies on (indices in range, strings in the pool ...). */
bool cflow_profile_validate(const CflowProfile *p, GError **error);

/*
 * Container layout constants (docs/profile-format.md), for the reader, the writer and tests
 * that build damaged files on purpose. All integers on disk are little-endian.
 */
#define CFLOW_PROFILE_HEADER_SIZE 32u        /* fixed header before the section table */
#define CFLOW_PROFILE_SECTION_ENTRY_SIZE 32u /* one section table entry */
#define CFLOW_PROFILE_MAX_SECTIONS 256u      /* a reader rejects larger section tables */
typedef enum {
    CFLOW_SECTION_META = 1,        /* CflowMeta records, 8 bytes each */
    CFLOW_SECTION_STRINGS = 2,     /* the string pool, count = length in bytes */
    CFLOW_SECTION_INSNS = 3,       /* CflowInsn records, 24 bytes each */
    CFLOW_SECTION_EDGES = 4,       /* CflowEdge records, 24 bytes each */
    CFLOW_SECTION_BLOCKS = 5,      /* CflowBlock records, 24 bytes each */
    CFLOW_SECTION_BLOCK_INSNS = 6, /* uint32_t insn indices, 4 bytes each */
    CFLOW_SECTION_INSN_PRIV = 7,   /* optional: one CflowPriv byte per insn, in insn order */
    CFLOW_SECTION_INSN_BYTES = 8,  /* optional: CFLOW_INSN_BYTES bytes per insn, in insn order */
} CflowSectionType;

G_END_DECLS

#endif
