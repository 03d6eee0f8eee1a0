// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The interval tree of disjoint intervals: insert, find, remove, iterate,
 * checked against a plain array model in random order, with the AVL
 * balance and order invariants verified along the way.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "dax/tree.h"
#include "tap.h"

#define SLOTS 2000
#define SLOT  16 /* interval k covers [k * SLOT, k * SLOT + len[k] - 1] */

static struct dax_tree_node nodes[SLOTS];
static bool in[SLOTS];
static unsigned len[SLOTS];

/* Returns the height, or -1 if an invariant is broken. */
static int check(const struct dax_tree_node *n, uint64_t lo, uint64_t hi,
		 unsigned *cnt)
{
	int l, r;

	if (!n)
		return 0;
	if (n->start < lo || n->last > hi || n->last < n->start)
		return -1;
	(*cnt)++;
	l = check(n->left, lo, n->start ? n->start - 1 : 0, cnt);
	r = check(n->right, n->last + 1, hi, cnt);
	if (l < 0 || r < 0 || abs(l - r) > 1 ||
	    n->height != (l > r ? l : r) + 1)
		return -1;
	return n->height;
}

/* floor(log2(n)) for n >= 1 */
static int ilog2(unsigned n)
{
	int l = 0;

	while (n >>= 1)
		l++;
	return l;
}

static unsigned xs = 12345;
static unsigned rnd(void)
{
	xs ^= xs << 13;
	xs ^= xs >> 17;
	xs ^= xs << 5;
	return xs;
}

/* The model's answer to find(x). */
static struct dax_tree_node *model_find(uint64_t x)
{
	unsigned k = (unsigned)(x / SLOT);

	if (k < SLOTS && in[k] && x - (uint64_t)k * SLOT < len[k])
		return &nodes[k];
	return NULL;
}

static struct dax_tree_node *model_first_from(uint64_t x)
{
	for (unsigned k = (unsigned)(x / SLOT); k < SLOTS; k++)
		if (in[k] && (uint64_t)k * SLOT + len[k] - 1 >= x)
			return &nodes[k];
	return NULL;
}

int main(void)
{
	struct dax_tree t;
	struct dax_tree_node a = {.start = 100, .last = 199},
			     b = {.start = 150, .last = 160},
			     c = {.start = 0, .last = 100},
			     d = {.start = 199, .last = 300},
			     e = {.start = 200, .last = 300},
			     bad = {.start = 5, .last = 4};
	unsigned i, k, cnt, bad_find = 0, bad_first = 0, bad_iter = 0;
	unsigned max_count = 0;
	int h, bad_shape = 0, bad_insert = 0;
	struct dax_tree_node *n;
	uint64_t x, prev;

	dax_tree_init(&t);
	ok(!dax_tree_find(&t, 0) && !dax_tree_first_from(&t, 0),
	   "empty tree finds nothing");
	is_int(dax_tree_insert(&t, &a), 0, "insert [100,199]");
	is_int(dax_tree_insert(&t, &b), -EEXIST, "overlap inside refused");
	is_int(dax_tree_insert(&t, &c), -EEXIST,
	       "overlap at the start refused");
	is_int(dax_tree_insert(&t, &d), -EEXIST, "overlap at the end refused");
	is_int(dax_tree_insert(&t, &bad), -EINVAL, "last < start refused");
	is_int(dax_tree_insert(&t, &e), 0, "adjacent [200,300] accepted");
	ok(dax_tree_find(&t, 199) == &a && dax_tree_find(&t, 200) == &e &&
		   !dax_tree_find(&t, 99) && !dax_tree_find(&t, 301),
	   "find at the edges");
	ok(dax_tree_first_from(&t, 0) == &a && dax_tree_next(&t, &a) == &e &&
		   !dax_tree_next(&t, &e),
	   "first_from and next walk in order");
	dax_tree_remove(&t, &a);
	ok(!dax_tree_find(&t, 150) && dax_tree_find(&t, 250) == &e &&
		   t.count == 1,
	   "remove leaves the other");
	dax_tree_remove(&t, &e);
	ok(!t.root && !t.count, "tree empty again");

	/* Random operations against the model. */
	for (i = 0; i < 200000; i++) {
		k = rnd() % SLOTS;
		if (!in[k] && rnd() % 3) {
			len[k] = 1 + rnd() % SLOT;
			nodes[k].start = (uint64_t)k * SLOT;
			nodes[k].last = nodes[k].start + len[k] - 1;
			if (dax_tree_insert(&t, &nodes[k]))
				bad_insert++;
			in[k] = true;
		} else if (in[k]) {
			dax_tree_remove(&t, &nodes[k]);
			in[k] = false;
		}
		x = rnd() % (SLOTS * SLOT + 5);
		if (dax_tree_find(&t, x) != model_find(x))
			bad_find++;
		if (dax_tree_first_from(&t, x) != model_first_from(x))
			bad_first++;
		if (t.count > max_count)
			max_count = t.count;
		if (i % 5000 == 0) {
			cnt = 0;
			h = check(t.root, 0, UINT64_MAX, &cnt);
			if (h < 0 || cnt != t.count ||
			    h > (3 * (ilog2(cnt + 2) + 1)) / 2 + 1)
				bad_shape++;
			/* Full in-order walk equals the model's. */
			k = 0;
			prev = 0;
			for (n = dax_tree_first_from(&t, 0); n;
			     n = dax_tree_next(&t, n)) {
				while (k < SLOTS && !in[k])
					k++;
				if (k == SLOTS || n != &nodes[k] ||
				    (prev && n->start <= prev))
					bad_iter++;
				prev = n->start;
				k++;
			}
			while (k < SLOTS && !in[k])
				k++;
			if (k != SLOTS)
				bad_iter++;
		}
	}
	is_int(bad_insert, 0, "every non-overlapping insert accepted");
	is_int(bad_find, 0, "find agrees with the model (200000 probes)");
	is_int(bad_first, 0, "first_from agrees with the model");
	is_int(bad_iter, 0, "in-order walks agree with the model");
	is_int(bad_shape, 0, "AVL balance, heights, order and count hold");
	ok(max_count > SLOTS / 3, "the tree grew large (%u nodes)", max_count);

	/* Drain in random order. */
	for (i = 0; i < SLOTS; i++) {
		k = rnd() % SLOTS;
		if (in[k]) {
			dax_tree_remove(&t, &nodes[k]);
			in[k] = false;
		}
	}
	for (k = 0; k < SLOTS; k++)
		if (in[k]) {
			dax_tree_remove(&t, &nodes[k]);
			in[k] = false;
		}
	ok(!t.root && !t.count, "drained to empty");
	return tap_done();
}
