// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Hazard slots (see hazard.h). The table is process-wide, not per
 * connection: a thread reads through any number of sessions with the one
 * slot, and a writer scans only up to the highest slot ever taken.
 */
#include <pthread.h>
#include <sched.h>
#include <stddef.h>

#include "dax/hazard.h"

static struct dax_hazard slots[DAX_HAZARD_SLOTS];
static atomic_uint slots_top; /* slots ever taken: scan [0, top) */
static pthread_key_t slot_key;
static pthread_once_t slot_once = PTHREAD_ONCE_INIT;
static bool slot_key_ok;

/* Marks a thread that found no slot (or no key): it does not look again. */
static struct dax_hazard no_slot;
static _Thread_local struct dax_hazard *mine;

/* Runs on the exiting thread, between its copies. */
static void slot_release(void *p)
{
	struct dax_hazard *h = p;

	atomic_store(&h->owner, NULL);
	atomic_store(&h->obj, NULL);
	atomic_store(&h->taken, false);
	/* A read from a later thread-exit destructor takes the locked path:
	 * the slot may belong to another thread from now on. */
	mine = &no_slot;
}

static void slot_key_init(void)
{
	slot_key_ok = pthread_key_create(&slot_key, slot_release) == 0;
}

static struct dax_hazard *slot_take(void)
{
	unsigned i, top;
	bool no = false;

	pthread_once(&slot_once, slot_key_init);
	if (!slot_key_ok)
		return &no_slot;
	for (i = 0; i < DAX_HAZARD_SLOTS; i++) {
		if (atomic_load_explicit(&slots[i].taken,
					 memory_order_relaxed) ||
		    !atomic_compare_exchange_strong(&slots[i].taken, &no,
						    true)) {
			no = false;
			continue;
		}
		if (pthread_setspecific(slot_key, &slots[i])) {
			atomic_store(&slots[i].taken, false);
			return &no_slot;
		}
		top = atomic_load(&slots_top);
		while (top < i + 1 &&
		       !atomic_compare_exchange_weak(&slots_top, &top, i + 1))
			;
		return &slots[i];
	}
	return &no_slot;
}

struct dax_hazard *dax_hazard_mine(void)
{
	if (!mine)
		mine = slot_take();
	return mine == &no_slot ? NULL : mine;
}

unsigned dax_hazard_index(const struct dax_hazard *h)
{
	return (unsigned)(h - slots);
}

bool dax_hazard_held(const void *owner, const void *obj)
{
	unsigned top = atomic_load(&slots_top), i;

	for (i = 0; i < top; i++) {
		if (owner && atomic_load(&slots[i].owner) == owner)
			return true;
		if (obj && atomic_load(&slots[i].obj) == obj)
			return true;
	}
	return false;
}

void dax_hazard_wait(const void *owner, const void *obj)
{
	while (dax_hazard_held(owner, obj))
		sched_yield();
}
