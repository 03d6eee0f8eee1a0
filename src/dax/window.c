// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The DAX window: a reserved span of address space that the daemon fills
 * with mappings of its files (SHMEM_MAP / SHMEM_UNMAP on the backend
 * channel). Every request is checked here, once; the window keeps a tree of
 * what is mapped so that it can refuse a map that would cut into another
 * mapping and an unmap that would cut one in two.
 *
 * Locking: w->lock is a leaf lock. The DAX layer sends FUSE_SETUPMAPPING
 * with inode locks held and the daemon's answer arrives here on another
 * thread, so nothing in this file may wait for any other lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "dax/dax.h"
#include "dax/tree.h"

struct dax_extent {
	struct dax_tree_node node; /* [shm offset, last byte] */
	bool writable;
};

struct dax_window {
	char *base;    /* constant */
	uint64_t size; /* constant */
	pthread_mutex_t lock;
	struct dax_tree extents; /* protected by lock */
};

#define RESERVE_FLAGS (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)

/* Put a PROT_NONE reservation over [p, p + len): never leave a hole that
 * another mmap() in the process could take. */
static int reserve(void *p, uint64_t len)
{
	if (mmap(p, len, PROT_NONE, RESERVE_FLAGS | MAP_FIXED, -1, 0) ==
	    MAP_FAILED)
		return -errno;
	return 0;
}

int dax_window_create(uint64_t size, struct dax_window **out)
{
	struct dax_window *w;
	uintptr_t head;
	void *p;

	if (!size || (size & DAX_RANGE_MASK) || size > SIZE_MAX / 2)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	/*
	 * Reserve a range more and keep the 2 MiB-aligned part: a range
	 * that starts on a PMD boundary can be mapped by one page-table
	 * entry where the host caches the file in 2 MiB folios. Kernels that
	 * align large anonymous mappings by themselves (6.7 on) make the
	 * trims empty; older ones and other allocators need them.
	 */
	p = mmap(NULL, size + DAX_RANGE_SIZE, PROT_NONE, RESERVE_FLAGS, -1, 0);
	if (p == MAP_FAILED) {
		free(w);
		return -ENOMEM;
	}
	head = (DAX_RANGE_SIZE - ((uintptr_t)p & DAX_RANGE_MASK)) &
	       DAX_RANGE_MASK;
	if (head)
		munmap(p, head);
	/* head < DAX_RANGE_SIZE: there is always a tail to give back. */
	munmap((char *)p + head + size, DAX_RANGE_SIZE - head);
	p = (char *)p + head;
	w->base = p;
	w->size = size;
	pthread_mutex_init(&w->lock, NULL);
	dax_tree_init(&w->extents);
	*out = w;
	return 0;
}

void dax_window_destroy(struct dax_window *w)
{
	struct dax_tree_node *n;

	if (!w)
		return;
	while ((n = w->extents.root)) {
		dax_tree_remove(&w->extents, n);
		free(n);
	}
	munmap(w->base, w->size);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

void *dax_window_base(const struct dax_window *w)
{
	return w->base;
}

uint64_t dax_window_size(const struct dax_window *w)
{
	return w->size;
}

unsigned dax_window_nr_mappings(struct dax_window *w)
{
	unsigned n;

	pthread_mutex_lock(&w->lock);
	n = w->extents.count;
	pthread_mutex_unlock(&w->lock);
	return n;
}

/* Offsets and length of a request: page aligned, non-empty, inside. */
static int check_span(const struct dax_window *w, uint64_t off, uint64_t len)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), end;

	if (!len || ((off | len) & (page - 1)))
		return -EINVAL;
	if (__builtin_add_overflow(off, len, &end) || end > w->size)
		return -EINVAL;
	return 0;
}

/*
 * Every mapping overlapping [off, off + len) lies inside it: the rule for
 * both map (replace whole mappings only) and unmap (never cut one in two).
 */
static bool covers_whole(const struct dax_window *w, uint64_t off, uint64_t len)
{
	uint64_t last = off + len - 1;
	struct dax_tree_node *n;

	for (n = dax_tree_first_from(&w->extents, off); n && n->start <= last;
	     n = dax_tree_next(&w->extents, n))
		if (n->start < off || n->last > last)
			return false;
	return true;
}

/* Forget the mappings inside [off, off + len). */
static void drop_extents(struct dax_window *w, uint64_t off, uint64_t len)
{
	uint64_t last = off + len - 1;
	struct dax_tree_node *n;

	while ((n = dax_tree_first_from(&w->extents, off)) &&
	       n->start <= last) {
		dax_tree_remove(&w->extents, n);
		free(n);
	}
}

int dax_window_map(struct dax_window *w, int fd, uint64_t fd_offset,
		   uint64_t shm_offset, uint64_t len, uint64_t flags)
{
	bool writable = flags & DAX_MAP_WRITABLE;
	int prot = PROT_READ | (writable ? PROT_WRITE : 0);
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), fd_end;
	struct dax_extent *e;
	struct stat st;
	void *tmp, *dst;
	int ret;

	if (flags & ~DAX_MAP_WRITABLE)
		return -EINVAL;
	ret = check_span(w, shm_offset, len);
	if (ret)
		return ret;
	if ((fd_offset & (page - 1)) ||
	    __builtin_add_overflow(fd_offset, len, &fd_end) ||
	    fd_end > (uint64_t)INT64_MAX)
		return -EINVAL;
	if (fd < 0)
		return -EBADF;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->node.start = shm_offset;
	e->node.last = shm_offset + len - 1;
	e->writable = writable;
	dst = w->base + shm_offset;

	/*
	 * Map aside first, then move into place. mmap(MAP_FIXED) over the
	 * old mapping can fail after the kernel has already dropped it;
	 * this way every error the file or the flags can cause leaves the
	 * window untouched, and mremap() replaces the old mapping atomically.
	 *
	 * No MAP_POPULATE: it fills the page tables through get_user_pages(),
	 * a page at a time (150 us per 2 MiB of a cached ext4 file here),
	 * while the reader's own first touches take one fault per 64 KiB
	 * fault-around block (about 30 us for the same 2 MiB). Measured on a
	 * cold `vdax cat`: populating on this thread cost the process 15 %
	 * more CPU and no wall time (docs/dax.md). Readers faulting on
	 * different mappings do not contend where the kernel has per-VMA
	 * locks (6.7 on): each mapping is its own VMA.
	 */
	tmp = mmap(NULL, len, prot, MAP_SHARED, fd, (off_t)fd_offset);
	if (tmp == MAP_FAILED) {
		free(e);
		return -errno;
	}
	pthread_mutex_lock(&w->lock);
	if (!covers_whole(w, shm_offset, len)) {
		munmap(tmp, len);
		ret = -EBUSY;
		goto out_free;
	}
	if (mremap(tmp, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst) ==
	    MAP_FAILED) {
		ret = -errno;
		munmap(tmp, len);
		/* The destination may be gone already: re-reserve it and
		 * forget what it held. */
		if (reserve(dst, len))
			VLOG_ERR("dax: window span at %#llx lost its "
				 "reservation",
				 (unsigned long long)shm_offset);
		drop_extents(w, shm_offset, len);
		goto out_free;
	}
	drop_extents(w, shm_offset, len);
	ret = dax_tree_insert(&w->extents, &e->node);
	pthread_mutex_unlock(&w->lock);
	return ret; /* 0: the span was emptied just above */

out_free:
	pthread_mutex_unlock(&w->lock);
	free(e);
	return ret;
}

int dax_window_unmap(struct dax_window *w, uint64_t shm_offset, uint64_t len)
{
	int ret = check_span(w, shm_offset, len);

	if (ret)
		return ret;
	pthread_mutex_lock(&w->lock);
	if (!covers_whole(w, shm_offset, len)) {
		ret = -EINVAL;
	} else {
		ret = reserve(w->base + shm_offset, len);
		if (!ret)
			drop_extents(w, shm_offset, len);
	}
	pthread_mutex_unlock(&w->lock);
	return ret;
}
