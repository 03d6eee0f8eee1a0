/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ghost list of the admission policy: the last @cap ranges evicted
 * from the window, as (node id, range index) keys, oldest overwritten
 * first, with a hash index so that a lookup costs the same for a window of
 * 32 ranges as for one of 16384 (a linear scan of the ring did not: 16 KiB
 * read under the lock per miss with a 2 GiB window). Not thread-safe: the
 * caller locks. A key added again moves to the newest place.
 */
#ifndef VDAX_DAX_GHOST_H
#define VDAX_DAX_GHOST_H

#include <stdbool.h>
#include <stdint.h>

struct dax_ghost_key {
	uint64_t nodeid, idx; /* idx 0: an empty slot */
};

struct dax_ghosts {
	struct dax_ghost_key *ring;
	unsigned cap, pos;
	int32_t *hash; /* ring positions by key, -1 empty; linear probing */
	unsigned hmask;
};

/* @cap >= 1 keys (at most 2^28). 0 or -ENOMEM. */
int dax_ghosts_init(struct dax_ghosts *g, unsigned cap);
void dax_ghosts_fini(struct dax_ghosts *g);
/* Remember key (@nodeid, @idx), @idx != 0; forgets the oldest if full. */
void dax_ghosts_add(struct dax_ghosts *g, uint64_t nodeid, uint64_t idx);
/* Is the key remembered? With @take, forget it. */
bool dax_ghosts_find(struct dax_ghosts *g, uint64_t nodeid, uint64_t idx,
		     bool take);

#endif
