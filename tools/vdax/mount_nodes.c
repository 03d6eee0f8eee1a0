// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vdax mount: the node and handle tables. A node id or file handle the
 * kernel holds is an index into a slot table with a generation, never a
 * pointer. Each node holds one libvdax node reference; the nodes the kernel
 * looked up through different names of one inode (hard links) are one node,
 * found by that reference (libvdax has one vdax_node per backend inode).
 *
 * Lock: vm.lock (see mount_int.h); libvdax is called without it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mount_int.h"

/* Slot 0 is never used, so no id is 0 and the root gets id 1 (idx 1). */
static int tab_add(struct vm_table *t, void *ptr, uint64_t *id)
{
	uint32_t idx;

	if (t->nfree) {
		idx = t->free[--t->nfree];
	} else {
		if (t->used == t->cap) {
			size_t ncap = t->cap ? t->cap * 2 : 256;
			struct vm_slot *s;
			uint32_t *f;

			if (ncap > UINT32_MAX)
				return -ENFILE;
			s = realloc(t->slots, ncap * sizeof(*s));
			if (!s)
				return -ENOMEM;
			t->slots = s;
			f = realloc(t->free, ncap * sizeof(*f));
			if (!f)
				return -ENOMEM;
			t->free = f;
			memset(&s[t->cap], 0, (ncap - t->cap) * sizeof(*s));
			t->cap = ncap;
			if (!t->used)
				t->used = 1;
		}
		idx = t->used++;
	}
	t->slots[idx].ptr = ptr;
	*id = (uint64_t)t->slots[idx].gen << 32 | idx;
	return 0;
}

static void *tab_get(struct vm_table *t, uint64_t id)
{
	uint64_t idx = id & 0xffffffffu;

	if (!idx || idx >= t->used || !t->slots[idx].ptr ||
	    t->slots[idx].gen != (uint32_t)(id >> 32))
		return NULL;
	return t->slots[idx].ptr;
}

static void tab_del(struct vm_table *t, uint64_t id)
{
	uint32_t idx = (uint32_t)id;

	t->slots[idx].ptr = NULL;
	t->slots[idx].gen++;
	t->free[t->nfree++] = idx;
}

static unsigned node_bucket(const struct vdax_node *vn)
{
	uint64_t h = (uint64_t)(uintptr_t)vn * 0x9E3779B97F4A7C15ull;

	return (unsigned)(h >> 40) % VM_NODE_BUCKETS;
}

static struct vm_node *node_find_locked(struct vm *vm,
					const struct vdax_node *vn)
{
	struct vm_node *n = vm->node_hash[node_bucket(vn)];

	while (n && n->vn != vn)
		n = n->hnext;
	return n;
}

static void node_unhash_locked(struct vm *vm, struct vm_node *n)
{
	struct vm_node **pp = &vm->node_hash[node_bucket(n->vn)];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == n) {
			*pp = n->hnext;
			return;
		}
	}
}

/*
 * Drop a reference; the last one takes the node out of the tables and
 * returns its libvdax node, to be put by the caller once vm.lock is gone.
 */
static struct vdax_node *node_put_locked(struct vm *vm, struct vm_node *n)
{
	struct vdax_node *vn;

	if (--n->refs)
		return NULL;
	node_unhash_locked(vm, n);
	tab_del(&vm->nodes, n->nodeid);
	vm->nnodes--;
	vn = n->vn;
	free(n);
	return vn;
}

int vm_setup_root(struct vm *vm)
{
	struct vm_node *root;
	int ret;

	vm->node_hash = calloc(VM_NODE_BUCKETS, sizeof(*vm->node_hash));
	if (!vm->node_hash)
		return -ENOMEM;
	root = calloc(1, sizeof(*root));
	if (!root)
		return -ENOMEM;
	root->vn = vdax_root(vm->vd);
	ret = tab_add(&vm->nodes, root, &root->nodeid);
	if (ret || root->nodeid != FUSE_ROOT_ID) {
		vdax_node_put(vm->vd, root->vn);
		free(root);
		return ret ? ret : -EINVAL;
	}
	root->type = S_IFDIR;
	root->refs = 1;
	root->nlookup = 1;
	root->hnext = vm->node_hash[node_bucket(root->vn)];
	vm->node_hash[node_bucket(root->vn)] = root;
	vm->nnodes = 1;
	return 0;
}

int vm_node_enter(struct vm *vm, struct vdax_node *vn, mode_t type,
		  uint64_t *nodeid)
{
	struct vm_node *n;
	int ret = 0;

	pthread_mutex_lock(&vm->lock);
	n = node_find_locked(vm, vn);
	if (n) {
		if (!n->nlookup)
			n->refs++;
		n->nlookup++;
		*nodeid = n->nodeid;
		pthread_mutex_unlock(&vm->lock);
		vdax_node_put(vm->vd, vn); /* the node holds one already */
		return 0;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = tab_add(&vm->nodes, n, &n->nodeid);
	if (ret) {
		free(n);
		goto fail;
	}
	n->vn = vn;
	n->type = type & S_IFMT;
	n->refs = 1; /* for nlookup > 0 */
	n->nlookup = 1;
	n->hnext = vm->node_hash[node_bucket(vn)];
	vm->node_hash[node_bucket(vn)] = n;
	vm->nnodes++;
	*nodeid = n->nodeid;
	pthread_mutex_unlock(&vm->lock);
	return 0;
fail:
	pthread_mutex_unlock(&vm->lock);
	vdax_node_put(vm->vd, vn);
	return ret;
}

void vm_node_forget(struct vm *vm, uint64_t id, uint64_t nlookup)
{
	struct vdax_node *drop = NULL;
	struct vm_node *n;

	pthread_mutex_lock(&vm->lock);
	n = tab_get(&vm->nodes, id);
	if (n && id != FUSE_ROOT_ID && n->nlookup) {
		n->nlookup = nlookup >= n->nlookup ? 0 : n->nlookup - nlookup;
		if (!n->nlookup)
			drop = node_put_locked(vm, n);
	}
	pthread_mutex_unlock(&vm->lock);
	/* the kernel evicted it: so the backend gets its FORGET, as from a
	 * guest (unless an open file still holds the node) */
	vdax_node_forget(vm->vd, drop);
}

struct vm_node *vm_node_pin(struct vm *vm, uint64_t id)
{
	struct vm_node *n;

	pthread_mutex_lock(&vm->lock);
	n = tab_get(&vm->nodes, id);
	if (n)
		n->refs++;
	pthread_mutex_unlock(&vm->lock);
	return n;
}

void vm_node_unpin(struct vm *vm, struct vm_node *n)
{
	struct vdax_node *drop;

	if (!n)
		return;
	pthread_mutex_lock(&vm->lock);
	drop = node_put_locked(vm, n);
	pthread_mutex_unlock(&vm->lock);
	vdax_node_put(vm->vd, drop);
}

int vm_file_new(struct vm *vm, struct vm_node *n, struct vdax_file *vf,
		bool is_dir, struct vm_file **out)
{
	struct vm_file *f = calloc(1, sizeof(*f));
	int ret;

	if (!f)
		return -ENOMEM;
	f->vf = vf;
	f->refs = 1;
	f->is_dir = is_dir;
	f->node = n;
	pthread_mutex_init(&f->dlock, NULL);
	pthread_mutex_lock(&vm->lock);
	ret = tab_add(&vm->files, f, &f->fh);
	if (!ret) {
		n->refs++;
		if (vf) {
			f->next = n->files;
			n->files = f;
		}
		vm->nfiles++;
	}
	pthread_mutex_unlock(&vm->lock);
	if (ret) {
		pthread_mutex_destroy(&f->dlock);
		free(f);
		return ret;
	}
	*out = f;
	return 0;
}

struct vm_file *vm_file_find(struct vm *vm, struct fuse_file_info *fi)
{
	struct vm_file *f;

	if (!fi)
		return NULL;
	pthread_mutex_lock(&vm->lock);
	f = tab_get(&vm->files, fi->fh);
	pthread_mutex_unlock(&vm->lock);
	return f;
}

void vm_dir_drop_snapshot(struct vm_file *f)
{
	vdax_closedir(f->stream);
	f->stream = NULL;
	for (size_t i = 0; i < f->nents; i++)
		free(f->ents[i].name);
	free(f->ents);
	f->ents = NULL;
	f->nents = 0;
	f->loaded = false;
}

/* Drop a reference; the last one releases the libvdax handle. */
void vm_file_put(struct vm *vm, struct vm_file *f)
{
	struct vdax_node *drop = NULL;
	bool last;

	pthread_mutex_lock(&vm->lock);
	last = --f->refs == 0;
	if (last) {
		vm->nfiles--;
		drop = node_put_locked(vm, f->node);
	}
	pthread_mutex_unlock(&vm->lock);
	if (!last)
		return;
	/* close(2) already returned: the flush result has nobody to go to */
	if (f->vf)
		(void)vdax_release(f->vf);
	vdax_node_put(vm->vd, drop);
	vm_dir_drop_snapshot(f);
	pthread_mutex_destroy(&f->dlock);
	free(f);
}

void vm_file_close(struct vm *vm, struct vm_file *f)
{
	struct vm_file **pp;

	pthread_mutex_lock(&vm->lock);
	for (pp = &f->node->files; *pp; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	}
	tab_del(&vm->files, f->fh);
	pthread_mutex_unlock(&vm->lock);
	vm_file_put(vm, f);
}

void vm_free_tables(struct vm *vm)
{
	for (size_t i = 1; i < vm->files.used; i++)
		if (vm->files.slots[i].ptr) {
			struct vm_file *f = vm->files.slots[i].ptr;

			if (f->vf)
				vdax_release(f->vf);
			vm_dir_drop_snapshot(f);
			free(f);
		}
	for (size_t i = 1; i < vm->nodes.used; i++)
		if (vm->nodes.slots[i].ptr) {
			struct vm_node *n = vm->nodes.slots[i].ptr;

			vdax_node_put(vm->vd, n->vn);
			free(n);
		}
	free(vm->nodes.slots);
	free(vm->nodes.free);
	free(vm->files.slots);
	free(vm->files.free);
	free(vm->node_hash);
}
