// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * AVL tree of disjoint intervals, keyed by start (see tree.h). Recursive
 * insert and remove: the depth is at most about 1.44 log2(n), so a window of
 * any size stays well inside the stack.
 */
#include <errno.h>
#include <stddef.h>

#include "dax/tree.h"

static int height(const struct dax_tree_node *n)
{
	return n ? n->height : 0;
}

static void fix_height(struct dax_tree_node *n)
{
	int l = height(n->left), r = height(n->right);

	n->height = (l > r ? l : r) + 1;
}

static struct dax_tree_node *rotate_right(struct dax_tree_node *n)
{
	struct dax_tree_node *l = n->left;

	n->left = l->right;
	l->right = n;
	fix_height(n);
	fix_height(l);
	return l;
}

static struct dax_tree_node *rotate_left(struct dax_tree_node *n)
{
	struct dax_tree_node *r = n->right;

	n->right = r->left;
	r->left = n;
	fix_height(n);
	fix_height(r);
	return r;
}

/* Restore |height(left) - height(right)| <= 1 at @n; returns the new root. */
static struct dax_tree_node *balance(struct dax_tree_node *n)
{
	int bf;

	fix_height(n);
	bf = height(n->left) - height(n->right);
	if (bf > 1) {
		if (height(n->left->left) < height(n->left->right))
			n->left = rotate_left(n->left);
		return rotate_right(n);
	}
	if (bf < -1) {
		if (height(n->right->right) < height(n->right->left))
			n->right = rotate_right(n->right);
		return rotate_left(n);
	}
	return n;
}

static struct dax_tree_node *insert(struct dax_tree_node *h,
				    struct dax_tree_node *n)
{
	if (!h)
		return n;
	if (n->start < h->start)
		h->left = insert(h->left, n);
	else
		h->right = insert(h->right, n);
	return balance(h);
}

static struct dax_tree_node *remove_min(struct dax_tree_node *h,
					struct dax_tree_node **min)
{
	if (!h->left) {
		*min = h;
		return h->right;
	}
	h->left = remove_min(h->left, min);
	return balance(h);
}

static struct dax_tree_node *remove_node(struct dax_tree_node *h,
					 struct dax_tree_node *n)
{
	struct dax_tree_node *m, *r;

	if (!h)
		return NULL;
	if (n->start < h->start) {
		h->left = remove_node(h->left, n);
	} else if (n->start > h->start) {
		h->right = remove_node(h->right, n);
	} else {
		if (!h->right)
			return h->left;
		r = remove_min(h->right, &m);
		m->left = h->left;
		m->right = r;
		return balance(m);
	}
	return balance(h);
}

void dax_tree_init(struct dax_tree *t)
{
	t->root = NULL;
	t->count = 0;
}

struct dax_tree_node *dax_tree_first_from(const struct dax_tree *t, uint64_t x)
{
	struct dax_tree_node *h = t->root, *best = NULL;

	/* Disjoint intervals: "last >= x" is monotonic in start order. */
	while (h) {
		if (h->last >= x) {
			best = h;
			h = h->left;
		} else {
			h = h->right;
		}
	}
	return best;
}

struct dax_tree_node *dax_tree_find(const struct dax_tree *t, uint64_t x)
{
	struct dax_tree_node *n = dax_tree_first_from(t, x);

	return n && n->start <= x ? n : NULL;
}

struct dax_tree_node *dax_tree_next(const struct dax_tree *t,
				    const struct dax_tree_node *n)
{
	if (n->last == UINT64_MAX)
		return NULL;
	return dax_tree_first_from(t, n->last + 1);
}

int dax_tree_insert(struct dax_tree *t, struct dax_tree_node *n)
{
	struct dax_tree_node *o;

	if (n->last < n->start)
		return -EINVAL;
	o = dax_tree_first_from(t, n->start);
	if (o && o->start <= n->last)
		return -EEXIST;
	n->left = n->right = NULL;
	n->height = 1;
	t->root = insert(t->root, n);
	t->count++;
	return 0;
}

void dax_tree_remove(struct dax_tree *t, struct dax_tree_node *n)
{
	t->root = remove_node(t->root, n);
	t->count--;
	n->left = n->right = NULL;
}
