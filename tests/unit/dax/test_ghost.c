// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The ghost list (src/dax/ghost.c) against a plain ring searched end to
 * end: random adds, finds and takes over a small key space (so that keys
 * repeat, collide in the hash and are overwritten by age), for several
 * capacities; every answer must match the model's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dax/ghost.h"
#include "tap.h"

struct model {
	struct dax_ghost_key *ring;
	unsigned cap, pos;
};

static long m_find(struct model *m, uint64_t n, uint64_t i)
{
	for (unsigned k = 0; k < m->cap; k++)
		if (m->ring[k].idx == i && m->ring[k].nodeid == n)
			return k;
	return -1;
}

static void m_add(struct model *m, uint64_t n, uint64_t i)
{
	long k = m_find(m, n, i);

	if (k >= 0)
		m->ring[k].idx = 0; /* moves to the newest place */
	m->ring[m->pos] = (struct dax_ghost_key){ n, i };
	m->pos = (m->pos + 1) % m->cap;
}

int main(void)
{
	static const unsigned caps[] = { 1, 2, 3, 7, 64, 1000, 4096 };
	struct dax_ghosts g;
	unsigned seed = 1;

	is_int(dax_ghosts_init(&g, 0), -EINVAL, "capacity 0 -> EINVAL");
	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		unsigned cap = caps[c], bad = 0, hits = 0, takes = 0;
		unsigned keys = cap * 3 + 2;
		struct model m = { calloc(cap, sizeof(*m.ring)), cap, 0 };

		if (dax_ghosts_init(&g, cap) || !m.ring)
			tap_bail("init");
		for (int op = 0; op < 200000; op++) {
			uint64_t n, i;
			bool got, want;
			long k;

			seed = seed * 1103515245u + 12345u;
			n = (seed >> 8) % 3;
			i = 1 + (seed >> 12) % keys;
			switch ((seed >> 24) % 4) {
			case 0:
			case 1:
				dax_ghosts_add(&g, n, i);
				m_add(&m, n, i);
				break;
			case 2:
				got = dax_ghosts_find(&g, n, i, false);
				want = m_find(&m, n, i) >= 0;
				bad += got != want;
				hits += got;
				break;
			default:
				got = dax_ghosts_find(&g, n, i, true);
				k = m_find(&m, n, i);
				want = k >= 0;
				if (k >= 0)
					m.ring[k].idx = 0;
				bad += got != want;
				takes += got;
				break;
			}
		}
		/* and every key once more at the end */
		for (uint64_t n = 0; n < 3; n++)
			for (uint64_t i = 1; i <= keys; i++)
				bad += dax_ghosts_find(&g, n, i, false) !=
				       (m_find(&m, n, i) >= 0);
		ok(bad == 0 && hits > 0 && takes > 0,
		   "capacity %u: 200000 random operations as the plain ring "
		   "(%u found, %u taken, %u wrong)",
		   cap, hits, takes, bad);
		ok(!dax_ghosts_find(&g, 0, 0, false),
		   "capacity %u: index 0 is never a ghost", cap);
		dax_ghosts_fini(&g);
		free(m.ring);
	}
	return tap_done();
}
