// SPDX-License-Identifier: LGPL-2.1-or-later
/* The admission policy's ghost list: see ghost.h. */
#include <errno.h>
#include <stdlib.h>

#include "dax/ghost.h"

static unsigned home(const struct dax_ghosts *g, uint64_t nodeid,
		     uint64_t idx)
{
	uint64_t x = nodeid * 0x9e3779b97f4a7c15ull ^ idx;

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 29;
	return (unsigned)x & g->hmask;
}

static bool same(const struct dax_ghost_key *k, uint64_t nodeid,
		 uint64_t idx)
{
	return k->idx == idx && k->nodeid == nodeid;
}

/* The hash slot holding @nodeid/@idx, or -1. */
static long slot_of(const struct dax_ghosts *g, uint64_t nodeid, uint64_t idx)
{
	for (unsigned i = home(g, nodeid, idx);; i = (i + 1) & g->hmask) {
		int32_t p = g->hash[i];

		if (p < 0)
			return -1;
		if (same(&g->ring[p], nodeid, idx))
			return i;
	}
}

/*
 * Empty hash slot @i, shifting later entries of its probe run back so
 * that every remaining key stays reachable from its home slot.
 */
static void slot_del(struct dax_ghosts *g, unsigned i)
{
	unsigned j = i;

	for (;;) {
		const struct dax_ghost_key *k;
		unsigned h;

		j = (j + 1) & g->hmask;
		if (g->hash[j] < 0)
			break;
		k = &g->ring[g->hash[j]];
		h = home(g, k->nodeid, k->idx);
		/* Leave it if its home lies cyclically in (i, j]. */
		if (i <= j ? (h > i && h <= j) : (h > i || h <= j))
			continue;
		g->hash[i] = g->hash[j];
		i = j;
	}
	g->hash[i] = -1;
}

int dax_ghosts_init(struct dax_ghosts *g, unsigned cap)
{
	unsigned size = 4;

	if (!cap || cap > (1u << 28))
		return -EINVAL;
	while (size < 2 * cap)
		size <<= 1;
	g->ring = calloc(cap, sizeof(*g->ring));
	g->hash = malloc(size * sizeof(*g->hash));
	if (!g->ring || !g->hash) {
		free(g->ring);
		free(g->hash);
		g->ring = NULL;
		g->hash = NULL;
		return -ENOMEM;
	}
	for (unsigned i = 0; i < size; i++)
		g->hash[i] = -1;
	g->cap = cap;
	g->pos = 0;
	g->hmask = size - 1;
	return 0;
}

void dax_ghosts_fini(struct dax_ghosts *g)
{
	free(g->ring);
	free(g->hash);
	g->ring = NULL;
	g->hash = NULL;
}

void dax_ghosts_add(struct dax_ghosts *g, uint64_t nodeid, uint64_t idx)
{
	struct dax_ghost_key *old = &g->ring[g->pos];
	long s;
	unsigned i;

	if (!idx)
		return;
	if (old->idx && (s = slot_of(g, old->nodeid, old->idx)) >= 0)
		slot_del(g, (unsigned)s);
	old->idx = 0;
	s = slot_of(g, nodeid, idx);
	if (s >= 0) {
		/* Already a ghost: it moves to the newest place. */
		g->ring[g->hash[s]].idx = 0;
		slot_del(g, (unsigned)s);
	}
	*old = (struct dax_ghost_key){ nodeid, idx };
	for (i = home(g, nodeid, idx); g->hash[i] >= 0; i = (i + 1) & g->hmask)
		;
	g->hash[i] = (int32_t)g->pos;
	g->pos = (g->pos + 1) % g->cap;
}

bool dax_ghosts_find(struct dax_ghosts *g, uint64_t nodeid, uint64_t idx,
		     bool take)
{
	long s;

	if (!idx)
		return false;
	s = slot_of(g, nodeid, idx);
	if (s < 0)
		return false;
	if (take) {
		g->ring[g->hash[s]].idx = 0;
		slot_del(g, (unsigned)s);
	}
	return true;
}
