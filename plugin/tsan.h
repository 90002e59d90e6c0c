/*
 * tsan.h: telling ThreadSanitizer about the orderings QEMU provides.
 *
 * The suite runs the plugin built with -fsanitize=thread inside an uninstrumented QEMU
 * (LD_PRELOAD of libtsan). Two orderings then escape TSan, because QEMU makes them with its
 * own, uninstrumented atomics:
 * - a translation publishes the records passed to callbacks as udata (BlockRec, RefInsn)
 *   before any vCPU runs the translated code;
 * - QEMU's exclusive sections (TB flush, reset, scoreboard growth) run with every vCPU out of
 *   generated code, so they are ordered with every helper call.
 * These macros state them; outside a TSan build they are nothing at all. (The plugin's own
 * locks are pthread mutexes rather than GMutex for the same reason: GLib's futex-based
 * GMutex is invisible to TSan, and it would report every locked access as a race.)
 */
#ifndef CFLOW_TSAN_H
#define CFLOW_TSAN_H

#if defined(__SANITIZE_THREAD__)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
extern char cflow_tsan_exclusive;
/* translation time, once the record is complete */
#define TSAN_PUBLISHED(p) __tsan_release((void *)(p))
/* in a callback, before reading what the translation published */
#define TSAN_RECEIVED(p) __tsan_acquire((void *)(p))
/* around the body of a helper (generated code) and of an exclusive-section callback alike */
#define TSAN_ORDERED_ENTER() __tsan_acquire(&cflow_tsan_exclusive)
#define TSAN_ORDERED_LEAVE() __tsan_release(&cflow_tsan_exclusive)
#else
#define TSAN_PUBLISHED(p) ((void)0)
#define TSAN_RECEIVED(p) ((void)0)
#define TSAN_ORDERED_ENTER() ((void)0)
#define TSAN_ORDERED_LEAVE() ((void)0)
#endif

#endif
