/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hazard slots: how a lock-free reader of the DAX window says what it is
 * reading, without writing a cache line that any other thread writes.
 *
 * Each thread that reads lock-free owns one slot (its own cache line) for
 * its life, taken from a process-wide table on first use and given back
 * when the thread exits. While it copies out of a range it keeps two
 * pointers there: the inode and the range. Whoever is about to take a
 * range away from lock-free readers, or to change an inode's data under
 * them, first closes the way in (a flag the readers check after they have
 * filled their slot) and then waits until no slot names the object: the
 * reader stores and then loads, the writer stores and then loads, both
 * sequentially consistent, so one of the two always sees the other
 * (Michael's hazard pointers, without the deferred free: ranges are never
 * freed while the connection lives).
 *
 * The readers hold a slot for the time of one copy of at most 2 MiB and
 * never wait for anything meanwhile, so a writer waits microseconds (or a
 * scheduler slice if the reader was preempted).
 */
#ifndef VDAX_DAX_HAZARD_H
#define VDAX_DAX_HAZARD_H

#include <stdatomic.h>
#include <stdbool.h>

/* Slots in the table: more reading threads fall back to the locked path. */
#define DAX_HAZARD_SLOTS 256

struct dax_hazard {
	_Atomic(const void *) owner; /* the inode being read, or NULL */
	_Atomic(const void *) obj;   /* the range being read, or NULL */
	atomic_bool taken;	     /* the slot belongs to a thread */
} __attribute__((aligned(64)));

/*
 * The calling thread's slot, taken on the first call; NULL if every slot
 * is taken (the caller then uses its locked path).
 */
struct dax_hazard *dax_hazard_mine(void);

/*
 * The number of slot @h in the table, below DAX_HAZARD_SLOTS: one thread
 * at a time owns it, for the thread's life.
 */
unsigned dax_hazard_index(const struct dax_hazard *h);

/* Whether any thread's slot names @owner (as owner) or @obj (as obj). */
bool dax_hazard_held(const void *owner, const void *obj);

/*
 * Wait until no slot names @owner / @obj (one of them may be NULL: not
 * looked for). The caller has closed the way in first.
 */
void dax_hazard_wait(const void *owner, const void *obj);

#endif
