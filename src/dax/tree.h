/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An interval tree for disjoint intervals: an AVL tree keyed by start.
 * Because the intervals never overlap, the one holding x is the last one
 * starting at or before x, and the ones overlapping [a, b] follow it in
 * order, so a sorted tree answers every overlap query in O(log n + k).
 * Nodes are embedded in their owners; the tree allocates nothing. Callers
 * lock.
 */
#ifndef VDAX_DAX_TREE_H
#define VDAX_DAX_TREE_H

#include <stdint.h>

struct dax_tree_node {
	struct dax_tree_node *left, *right;
	uint64_t start, last; /* inclusive: [start, last] */
	int height;
};

struct dax_tree {
	struct dax_tree_node *root;
	unsigned count;
};

void dax_tree_init(struct dax_tree *t);
/* Insert @n ([n->start, n->last] set by the caller). -EEXIST if it would
 * overlap a node already there, -EINVAL if last < start. */
int dax_tree_insert(struct dax_tree *t, struct dax_tree_node *n);
/* Remove @n, which must be in @t. */
void dax_tree_remove(struct dax_tree *t, struct dax_tree_node *n);
/* The node containing @x, or NULL. */
struct dax_tree_node *dax_tree_find(const struct dax_tree *t, uint64_t x);
/* The first node with last >= @x (the one containing @x or the next one
 * after it), or NULL. Iterate with dax_tree_next(). */
struct dax_tree_node *dax_tree_first_from(const struct dax_tree *t, uint64_t x);
struct dax_tree_node *dax_tree_next(const struct dax_tree *t,
				    const struct dax_tree_node *n);

#endif
