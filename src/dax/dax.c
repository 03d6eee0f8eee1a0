// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * DAX ranges, inodes and the connection: who holds which 2 MiB piece of the
 * window, and reads and writes through it. The design is Linux's
 * fs/fuse/dax.c (Vivek Goyal, Stefan Hajnoczi et al.), moved to user space.
 *
 * Lock order (outermost first):
 *
 *   the caller's inode lock (keeps the file size stable; not ours)
 *     dax_inode.mapping_lock  rwlock, the kernel's i_mmap_sem: I/O and faults
 *                             shared; truncate, punch hole, eviction and the
 *                             reclaim worker exclusive
 *       dax_inode.dax_lock    rwlock over the inode's tree: shared to look up
 *                             and take a reference, exclusive to change
 *         dax_conn.lock       mutex: free and busy lists, counts, worker state
 *
 * The reclaim worker finds its victims on the busy list, under the
 * connection lock, so it takes the inode locks of a victim with trylock only
 * and passes over an inode that is in use. The backend callbacks (FUSE
 * requests) are made with inode locks held, never the connection lock; the
 * window's own lock (window.c) is a leaf taken by the backend channel.
 *
 * A mapped range's reference count is 1 while idle; I/O and faults hold one
 * more while they use it. References are only taken with the owner's
 * dax_lock held, so a holder of dax_lock for writing who reads 1 knows that
 * it stays 1: that is the test reclaim and truncate rely on.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "dax/dax.h"
#include "dax/tree.h"

#define DAX_RECLAIM_PCT	    20	      /* keep this share of the ranges free */
#define DAX_RECLAIM_CHUNK   10	      /* most ranges one worker pass frees */
#define DAX_WORKER_DELAY_NS 1000000L  /* re-run while below threshold */
#define DAX_WAIT_RECHECK_NS 50000000L /* a waiter's safety-net timeout */

struct dax_list {
	struct dax_list *prev, *next;
};

struct dax_range {
	/* File bytes this range maps; protected by the owner's dax_lock. */
	struct dax_tree_node node;
	struct dax_list link; /* free or busy list; protected by conn lock */
	/*
	 * Owner, NULL while free or being moved. Written with both the
	 * owner's dax_lock and the conn lock held; read under either.
	 */
	struct dax_inode *inode;
	uint64_t wofs;	      /* window offset; constant */
	bool writable;	      /* protected by the owner's dax_lock */
	atomic_bool accessed; /* hit since the worker last passed by */
	atomic_uint refcount; /* 0 free, 1 idle, >1 in use */
};

struct dax_inode {
	uint64_t nodeid; /* constant */
	pthread_rwlock_t mapping_lock;
	pthread_rwlock_t dax_lock;
	struct dax_tree tree; /* of dax_range.node; protected by dax_lock */
};

/* Statistics: relaxed atomics, no lock. */
struct dax_counters {
	atomic_uint_fast64_t setup, remove, remove_req, upgrades, bg_reclaims,
		direct_reclaims, waits, hits, misses;
};

struct dax_conn {
	/* Constant after create. */
	struct dax_window *window;
	char *base;
	const struct dax_backend_ops *ops;
	void *ctx;
	struct dax_range *ranges;
	unsigned nr_ranges;

	pthread_mutex_t lock;
	struct dax_list free_list; /* protected by lock */
	unsigned nr_free;	   /* protected by lock */
	struct dax_list busy_list; /* oldest first; protected by lock */
	unsigned nr_busy;	   /* protected by lock */
	/*
	 * Broadcast (with lock) when a range is freed or drops back to idle;
	 * waiters for a free range and for an idle one share it.
	 */
	pthread_cond_t wait_cond;
	atomic_uint nr_waiters; /* changed under lock; read without by puts */

	pthread_cond_t worker_cond; /* with lock */
	bool worker_kick;	    /* protected by lock */
	bool worker_stop;	    /* protected by lock */
	bool have_worker;	    /* constant */
	pthread_t worker;	    /* set before anyone can use @c */

	struct dax_counters st;
};

/* ---- lists ---------------------------------------------------------- */

static void list_init(struct dax_list *h)
{
	h->prev = h->next = h;
}

static void list_add_tail(struct dax_list *h, struct dax_list *e)
{
	e->prev = h->prev;
	e->next = h;
	h->prev->next = e;
	h->prev = e;
}

static void list_del(struct dax_list *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->prev = e->next = e;
}

#define range_of_link(l)                                                       \
	((struct dax_range *)((char *)(l)-offsetof(struct dax_range, link)))
#define range_of_node(n)                                                       \
	((struct dax_range *)((char *)(n)-offsetof(struct dax_range, node)))

static inline void count(atomic_uint_fast64_t *ctr, uint64_t n)
{
	atomic_fetch_add_explicit(ctr, n, memory_order_relaxed);
}

static void deadline_in(struct timespec *ts, long ns)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_nsec += ns;
	while (ts->tv_nsec >= 1000000000L) {
		ts->tv_nsec -= 1000000000L;
		ts->tv_sec++;
	}
}

/* ---- free and busy lists (conn lock held) --------------------------- */

static bool below_threshold_locked(const struct dax_conn *c)
{
	return (uint64_t)c->nr_free * 100 <
	       (uint64_t)c->nr_ranges * DAX_RECLAIM_PCT;
}

static void kick_worker_locked(struct dax_conn *c)
{
	if (c->have_worker && !c->worker_kick) {
		c->worker_kick = true;
		pthread_cond_signal(&c->worker_cond);
	}
}

static struct dax_range *take_free_locked(struct dax_conn *c)
{
	struct dax_range *r;

	if (!c->nr_free)
		return NULL;
	r = range_of_link(c->free_list.next);
	list_del(&r->link);
	c->nr_free--;
	if (below_threshold_locked(c))
		kick_worker_locked(c);
	return r;
}

/* @r is on no list and in no tree. */
static void put_free_locked(struct dax_conn *c, struct dax_range *r)
{
	r->inode = NULL;
	atomic_store(&r->refcount, 0);
	list_add_tail(&c->free_list, &r->link);
	c->nr_free++;
	pthread_cond_broadcast(&c->wait_cond);
}

/* Owner's dax_lock held for writing. */
static void unbusy_locked(struct dax_conn *c, struct dax_range *r)
{
	list_del(&r->link);
	c->nr_busy--;
	r->inode = NULL;
}

static void free_range(struct dax_conn *c, struct dax_range *r)
{
	pthread_mutex_lock(&c->lock);
	put_free_locked(c, r);
	pthread_mutex_unlock(&c->lock);
}

/* ---- references ------------------------------------------------------ */

/* Owner's dax_lock held (either way). */
static void range_get(struct dax_range *r)
{
	atomic_fetch_add(&r->refcount, 1);
	atomic_store_explicit(&r->accessed, true, memory_order_relaxed);
}

static void range_put(struct dax_conn *c, struct dax_range *r)
{
	/*
	 * Pairs with wait_idle(): it counts itself in nr_waiters and then
	 * reads the refcount; we drop the refcount and then read nr_waiters
	 * (both sequentially consistent), so one of us sees the other.
	 */
	if (atomic_fetch_sub(&r->refcount, 1) == 2 &&
	    atomic_load(&c->nr_waiters)) {
		pthread_mutex_lock(&c->lock);
		pthread_cond_broadcast(&c->wait_cond);
		pthread_mutex_unlock(&c->lock);
	}
}

/* Wait until no one but the tree holds @r. Owner's dax_lock held for
 * writing (so no new reference can appear). */
static void wait_idle(struct dax_conn *c, struct dax_range *r)
{
	if (atomic_load(&r->refcount) <= 1)
		return;
	pthread_mutex_lock(&c->lock);
	atomic_fetch_add(&c->nr_waiters, 1);
	while (atomic_load(&r->refcount) > 1)
		pthread_cond_wait(&c->wait_cond, &c->lock);
	atomic_fetch_sub(&c->nr_waiters, 1);
	pthread_mutex_unlock(&c->lock);
}

/* ---- FUSE requests --------------------------------------------------- */

static int send_setup(struct dax_conn *c, struct dax_inode *ino, uint64_t fh,
		      struct dax_range *r, bool writable)
{
	int ret = c->ops->setup(c->ctx, ino->nodeid, fh, r->node.start,
				DAX_RANGE_SIZE, r->wofs, writable);

	/* -ERANGE is dax_write()'s "send FUSE_WRITE"; keep it unambiguous. */
	if (ret > 0 || ret == -ERANGE)
		ret = -EIO;
	if (!ret)
		count(&c->st.setup, 1);
	return ret;
}

static int send_remove(struct dax_conn *c, uint64_t nodeid,
		       const struct fuse_removemapping_one *v, unsigned n)
{
	int ret = c->ops->remove(c->ctx, nodeid, v, n);

	count(&c->st.remove_req, 1);
	count(&c->st.remove, n);
	if (ret)
		VLOG_WARN("dax: FUSE_REMOVEMAPPING of %u range(s) of node "
			  "%llu: %d",
			  n, (unsigned long long)nodeid, ret);
	return ret > 0 ? -EIO : ret;
}

/* Aliases of @r (vdax_mmap) go before the window mapping does. */
static void notify_remove(struct dax_conn *c, struct dax_range *r)
{
	if (c->ops->on_range_remove)
		c->ops->on_range_remove(c->ctx, r->wofs);
}

/*
 * Take @r out of @ino's tree and unmap it; the caller then frees or reuses
 * it. @ino's dax_lock is held for writing and @r is off the busy list. A failed
 * removal is logged and otherwise ignored: the window mapping may linger, but
 * the next FUSE_SETUPMAPPING of this range replaces it.
 */
static void remove_one(struct dax_conn *c, struct dax_inode *ino,
		       struct dax_range *r)
{
	struct fuse_removemapping_one one = {.moffset = r->wofs,
					     .len = DAX_RANGE_SIZE};

	dax_tree_remove(&ino->tree, &r->node);
	notify_remove(c, r);
	send_remove(c, ino->nodeid, &one, 1);
}

/* ---- reclaim --------------------------------------------------------- */

/*
 * Direct reclaim: take one of @ino's own idle ranges, oldest first. The
 * caller holds @ino's mapping lock shared, so the worker leaves @ino alone.
 * Returns the range, unmapped and on no list, or NULL.
 */
static struct dax_range *steal_own(struct dax_conn *c, struct dax_inode *ino)
{
	struct dax_range *r = NULL, *it;
	struct dax_list *l;

	pthread_rwlock_wrlock(&ino->dax_lock);
	pthread_mutex_lock(&c->lock);
	for (l = c->busy_list.next; l != &c->busy_list; l = l->next) {
		it = range_of_link(l);
		if (it->inode == ino && atomic_load(&it->refcount) == 1) {
			r = it;
			unbusy_locked(c, r);
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	if (r)
		remove_one(c, ino, r);
	pthread_rwlock_unlock(&ino->dax_lock);
	return r;
}

/*
 * Choose the worker's next victim: the least recently used idle range
 * (second chance: a range hit since the last pass goes to the back once)
 * whose inode locks can be had without waiting. Returns it off the busy
 * list with its inode's mapping_lock and dax_lock held for writing.
 */
static struct dax_range *pick_victim_locked(struct dax_conn *c,
					    struct dax_inode **inop)
{
	unsigned steps = c->nr_busy * 2;
	struct dax_list *l, *next;
	struct dax_inode *ino;
	struct dax_range *r;

	for (l = c->busy_list.next; l != &c->busy_list && steps;
	     l = next, steps--) {
		next = l->next;
		r = range_of_link(l);
		if (atomic_load(&r->refcount) > 1)
			continue;
		if (atomic_exchange(&r->accessed, false)) {
			list_del(&r->link);
			list_add_tail(&c->busy_list, &r->link);
			if (next == &c->busy_list)
				next = c->busy_list.next;
			continue;
		}
		ino = r->inode;
		if (pthread_rwlock_trywrlock(&ino->mapping_lock))
			continue;
		if (pthread_rwlock_trywrlock(&ino->dax_lock)) {
			pthread_rwlock_unlock(&ino->mapping_lock);
			continue;
		}
		/* A reference may have been taken before we had dax_lock. */
		if (atomic_load(&r->refcount) > 1) {
			pthread_rwlock_unlock(&ino->dax_lock);
			pthread_rwlock_unlock(&ino->mapping_lock);
			continue;
		}
		unbusy_locked(c, r);
		*inop = ino;
		return r;
	}
	return NULL;
}

unsigned dax_conn_reclaim(struct dax_conn *c, unsigned max)
{
	struct dax_inode *ino;
	struct dax_range *r;
	unsigned freed = 0;

	while (freed < max) {
		pthread_mutex_lock(&c->lock);
		r = pick_victim_locked(c, &ino);
		pthread_mutex_unlock(&c->lock);
		if (!r)
			break;
		remove_one(c, ino, r);
		pthread_rwlock_unlock(&ino->dax_lock);
		pthread_rwlock_unlock(&ino->mapping_lock);
		free_range(c, r);
		freed++;
	}
	count(&c->st.bg_reclaims, freed);
	return freed;
}

/*
 * A pass frees at most DAX_RECLAIM_CHUNK ranges, as the kernel's worker
 * does, but never more than the 20 % it restores, so that a window of a few
 * ranges is not emptied at every pass.
 */
static unsigned reclaim_chunk(const struct dax_conn *c)
{
	unsigned n = c->nr_ranges * DAX_RECLAIM_PCT / 100;

	if (n < 1)
		n = 1;
	return n < DAX_RECLAIM_CHUNK ? n : DAX_RECLAIM_CHUNK;
}

static void *worker_main(void *arg)
{
	struct dax_conn *c = arg;
	struct timespec ts;

	pthread_mutex_lock(&c->lock);
	while (!c->worker_stop) {
		if (!c->worker_kick) {
			pthread_cond_wait(&c->worker_cond, &c->lock);
			continue;
		}
		c->worker_kick = false;
		pthread_mutex_unlock(&c->lock);
		dax_conn_reclaim(c, reclaim_chunk(c));
		pthread_mutex_lock(&c->lock);
		if (below_threshold_locked(c) && !c->worker_stop) {
			/* Ranges in use could not be taken; try again soon. */
			c->worker_kick = true;
			deadline_in(&ts, DAX_WORKER_DELAY_NS);
			pthread_cond_timedwait(&c->worker_cond, &c->lock, &ts);
		}
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* ---- allocation ------------------------------------------------------ */

/*
 * A range for @ino, unmapped and on no list: A. a free one; B. else one of
 * @ino's own idle ranges (direct reclaim); C. else wait for one to be freed
 * and try again. The caller holds @ino's mapping lock shared and no other.
 */
static int alloc_range(struct dax_conn *c, struct dax_inode *ino,
		       struct dax_range **out)
{
	struct dax_range *r;
	struct timespec ts;
	bool waited = false;

	for (;;) {
		pthread_mutex_lock(&c->lock);
		r = take_free_locked(c);
		pthread_mutex_unlock(&c->lock);
		if (r)
			break;
		r = steal_own(c, ino);
		if (r) {
			count(&c->st.direct_reclaims, 1);
			break;
		}
		pthread_mutex_lock(&c->lock);
		if (!c->nr_free) {
			if (!waited)
				count(&c->st.waits, 1);
			waited = true;
			kick_worker_locked(c);
			/*
			 * Woken when a range is freed or falls idle (one of
			 * ours may have: see steal_own()). The timeout is a
			 * safety net only.
			 */
			atomic_fetch_add(&c->nr_waiters, 1);
			deadline_in(&ts, DAX_WAIT_RECHECK_NS);
			pthread_cond_timedwait(&c->wait_cond, &c->lock, &ts);
			atomic_fetch_sub(&c->nr_waiters, 1);
		}
		pthread_mutex_unlock(&c->lock);
	}
	*out = r;
	return 0;
}

/* ---- finding a range for I/O ----------------------------------------- */

/* @ino's dax_lock held (either way). */
static struct dax_range *lookup(struct dax_inode *ino, uint64_t pos)
{
	struct dax_tree_node *n = dax_tree_find(&ino->tree, pos);

	return n ? range_of_node(n) : NULL;
}

/* A read-only range at @pos must become writable: FUSE_SETUPMAPPING again,
 * with WRITE. -EAGAIN if the range went away meanwhile. */
static int upgrade(struct dax_conn *c, struct dax_inode *ino, uint64_t fh,
		   uint64_t pos, struct dax_range **out)
{
	struct dax_range *r;
	int ret = 0;

	pthread_rwlock_wrlock(&ino->dax_lock);
	r = lookup(ino, pos);
	if (!r) {
		ret = -EAGAIN;
	} else if (!r->writable) {
		/*
		 * Readers may be copying from it: the daemon's map replaces
		 * the mapping atomically, with the same file pages.
		 */
		ret = send_setup(c, ino, fh, r, true);
		if (!ret) {
			r->writable = true;
			count(&c->st.upgrades, 1);
		}
	}
	if (!ret) {
		range_get(r);
		count(&c->st.hits, 1);
		*out = r;
	}
	pthread_rwlock_unlock(&ino->dax_lock);
	return ret;
}

/* Map @fresh at file offset @pos for @ino. -EAGAIN (and @fresh freed) if
 * another thread mapped @pos first. */
static int install(struct dax_conn *c, struct dax_inode *ino, uint64_t fh,
		   struct dax_range *fresh, uint64_t pos, bool writable,
		   struct dax_range **out)
{
	int ret;

	pthread_rwlock_wrlock(&ino->dax_lock);
	if (lookup(ino, pos)) {
		ret = -EAGAIN;
		goto fail;
	}
	fresh->node.start = pos;
	fresh->node.last = pos + DAX_RANGE_MASK;
	ret = send_setup(c, ino, fh, fresh, writable);
	if (ret)
		goto fail;
	fresh->writable = writable;
	atomic_store(&fresh->accessed, false);
	atomic_store(&fresh->refcount, 2);	   /* the tree's and ours */
	dax_tree_insert(&ino->tree, &fresh->node); /* @pos is free: checked */
	pthread_mutex_lock(&c->lock);
	fresh->inode = ino;
	list_add_tail(&c->busy_list, &fresh->link);
	c->nr_busy++;
	pthread_mutex_unlock(&c->lock);
	pthread_rwlock_unlock(&ino->dax_lock);
	count(&c->st.misses, 1);
	*out = fresh;
	return 0;

fail:
	pthread_rwlock_unlock(&ino->dax_lock);
	free_range(c, fresh);
	return ret;
}

/*
 * The range mapping file offset @pos (range aligned) of @ino, referenced,
 * writable if @writable. Caller holds @ino's mapping lock shared.
 */
static int get_range(struct dax_conn *c, struct dax_inode *ino, uint64_t fh,
		     uint64_t pos, bool writable, struct dax_range **out)
{
	struct dax_range *r;
	int ret;

	for (;;) {
		pthread_rwlock_rdlock(&ino->dax_lock);
		r = lookup(ino, pos);
		if (r && (r->writable || !writable)) {
			range_get(r);
			pthread_rwlock_unlock(&ino->dax_lock);
			count(&c->st.hits, 1);
			*out = r;
			return 0;
		}
		pthread_rwlock_unlock(&ino->dax_lock);

		if (r) {
			ret = upgrade(c, ino, fh, pos, out);
		} else {
			ret = alloc_range(c, ino, &r);
			if (!ret)
				ret = install(c, ino, fh, r, pos, writable,
					      out);
		}
		if (ret != -EAGAIN)
			return ret;
	}
}

/* ---- I/O ------------------------------------------------------------- */

static ssize_t dax_io(struct dax_conn *c, struct dax_inode *ino, uint64_t fh,
		      char *buf, size_t len, uint64_t off, bool write)
{
	struct dax_range *r;
	size_t done = 0, n;
	uint64_t pos, start;
	char *p;
	int ret = 0;

	pthread_rwlock_rdlock(&ino->mapping_lock);
	while (done < len) {
		pos = off + done;
		start = pos & ~DAX_RANGE_MASK;
		n = len - done;
		if (n > start + DAX_RANGE_SIZE - pos)
			n = start + DAX_RANGE_SIZE - pos;
		ret = get_range(c, ino, fh, start, write, &r);
		if (ret)
			break;
		/* Only our reference holds the range: no lock while copying,
		 * since @buf may itself be a vdax mapping that faults. */
		p = c->base + r->wofs + (pos - start);
		if (write)
			memcpy(p, buf + done, n);
		else
			memcpy(buf + done, p, n);
		range_put(c, r);
		done += n;
	}
	pthread_rwlock_unlock(&ino->mapping_lock);
	return done ? (ssize_t)done : ret;
}

ssize_t dax_read(struct dax_conn *c, struct dax_inode *ino, uint64_t fh,
		 void *buf, size_t len, uint64_t off, uint64_t file_size)
{
	if (off >= file_size || !len)
		return 0;
	if (len > file_size - off)
		len = file_size - off;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	return dax_io(c, ino, fh, buf, len, off, false);
}

ssize_t dax_write(struct dax_conn *c, struct dax_inode *ino, uint64_t fh,
		  const void *buf, size_t len, uint64_t off, uint64_t file_size)
{
	uint64_t end;

	if (!len)
		return 0;
	if (len > SSIZE_MAX)
		return -EINVAL;
	if (__builtin_add_overflow(off, len, &end) || end > file_size)
		return -ERANGE;
	return dax_io(c, ino, fh, (char *)buf, len, off, true);
}

int dax_fault(struct dax_conn *c, struct dax_inode *ino, uint64_t fh,
	      uint64_t off, bool writable, void **addr, struct dax_range **pin)
{
	uint64_t start = off & ~DAX_RANGE_MASK;
	struct dax_range *r;
	int ret;

	pthread_rwlock_rdlock(&ino->mapping_lock);
	ret = get_range(c, ino, fh, start, writable, &r);
	pthread_rwlock_unlock(&ino->mapping_lock);
	if (ret)
		return ret;
	*addr = c->base + r->wofs + (off - start);
	*pin = r;
	return 0;
}

void dax_fault_done(struct dax_conn *c, struct dax_range *pin)
{
	range_put(c, pin);
}

/* ---- inodes ---------------------------------------------------------- */

struct dax_inode *dax_inode_new(uint64_t nodeid)
{
	struct dax_inode *ino = calloc(1, sizeof(*ino));

	if (!ino)
		return NULL;
	ino->nodeid = nodeid;
	/* Reader-preferring (the default): a copy into a buffer that is
	 * itself a mapping of this inode faults and takes the lock shared
	 * again while we hold it. */
	pthread_rwlock_init(&ino->mapping_lock, NULL);
	pthread_rwlock_init(&ino->dax_lock, NULL);
	dax_tree_init(&ino->tree);
	return ino;
}

void dax_inode_lock_mapping(struct dax_inode *ino)
{
	pthread_rwlock_wrlock(&ino->mapping_lock);
}

void dax_inode_lock_mapping_shared(struct dax_inode *ino)
{
	pthread_rwlock_rdlock(&ino->mapping_lock);
}

void dax_inode_unlock_mapping(struct dax_inode *ino)
{
	pthread_rwlock_unlock(&ino->mapping_lock);
}

unsigned dax_inode_nr_ranges(struct dax_inode *ino)
{
	unsigned n;

	pthread_rwlock_rdlock(&ino->dax_lock);
	n = ino->tree.count;
	pthread_rwlock_unlock(&ino->dax_lock);
	return n;
}

int dax_inode_break_range(struct dax_conn *c, struct dax_inode *ino,
			  uint64_t start, uint64_t end)
{
	struct fuse_removemapping_one v[DAX_REMOVEMAPPING_MAX];
	struct dax_range *batch[DAX_REMOVEMAPPING_MAX];
	struct dax_tree_node *n, *next;
	unsigned k, i;
	int ret, err = 0;

	if (end <= start)
		return 0;
	pthread_rwlock_wrlock(&ino->dax_lock);
	do {
		k = 0;
		for (n = dax_tree_first_from(&ino->tree, start);
		     n && n->start < end && k < DAX_REMOVEMAPPING_MAX;
		     n = next) {
			next = dax_tree_next(&ino->tree, n);
			batch[k] = range_of_node(n);
			wait_idle(c, batch[k]);
			dax_tree_remove(&ino->tree, n);
			notify_remove(c, batch[k]);
			v[k].moffset = batch[k]->wofs;
			v[k].len = DAX_RANGE_SIZE;
			k++;
		}
		if (!k)
			break;
		ret = send_remove(c, ino->nodeid, v, k);
		if (ret && !err)
			err = ret;
		pthread_mutex_lock(&c->lock);
		for (i = 0; i < k; i++) {
			unbusy_locked(c, batch[i]);
			put_free_locked(c, batch[i]);
		}
		pthread_mutex_unlock(&c->lock);
	} while (k == DAX_REMOVEMAPPING_MAX);
	pthread_rwlock_unlock(&ino->dax_lock);
	return err;
}

int dax_inode_free(struct dax_conn *c, struct dax_inode *ino)
{
	int ret;

	if (!ino)
		return 0;
	pthread_rwlock_wrlock(&ino->mapping_lock);
	ret = dax_inode_break_range(c, ino, 0, UINT64_MAX);
	pthread_rwlock_unlock(&ino->mapping_lock);
	pthread_rwlock_destroy(&ino->dax_lock);
	pthread_rwlock_destroy(&ino->mapping_lock);
	free(ino);
	return ret;
}

int dax_inode_flush(struct dax_conn *c, struct dax_inode *ino, uint64_t start,
		    uint64_t end)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), a, b;
	struct dax_tree_node *n;
	int ret = 0;

	if (end <= start)
		return 0;
	pthread_rwlock_rdlock(&ino->mapping_lock);
	pthread_rwlock_rdlock(&ino->dax_lock);
	for (n = dax_tree_first_from(&ino->tree, start); n && n->start < end;
	     n = dax_tree_next(&ino->tree, n)) {
		a = (start > n->start ? start - n->start : 0) & ~(page - 1);
		b = end <= n->last ? end - n->start : DAX_RANGE_SIZE;
		if (msync(c->base + range_of_node(n)->wofs + a, b - a,
			  MS_SYNC) < 0 &&
		    !ret)
			ret = -errno;
	}
	pthread_rwlock_unlock(&ino->dax_lock);
	pthread_rwlock_unlock(&ino->mapping_lock);
	return ret;
}

/* ---- the connection -------------------------------------------------- */

int dax_check_map_alignment(uint32_t map_alignment)
{
	return map_alignment > DAX_RANGE_SHIFT ? -EINVAL : 0;
}

int dax_conn_create(struct dax_window *w, const struct dax_backend_ops *ops,
		    void *ctx, unsigned flags, struct dax_conn **out)
{
	struct dax_conn *c;
	uint64_t nr;
	unsigned i;
	int ret;

	if (!w || !ops || !ops->setup || !ops->remove ||
	    (flags & ~DAX_CONN_NO_WORKER))
		return -EINVAL;
	nr = dax_window_size(w) >> DAX_RANGE_SHIFT;
	if (!nr || nr > UINT32_MAX / 2)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ranges = calloc(nr, sizeof(*c->ranges));
	if (!c->ranges) {
		free(c);
		return -ENOMEM;
	}
	c->window = w;
	c->base = dax_window_base(w);
	c->ops = ops;
	c->ctx = ctx;
	c->nr_ranges = (unsigned)nr;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->wait_cond, NULL);
	pthread_cond_init(&c->worker_cond, NULL);
	list_init(&c->free_list);
	list_init(&c->busy_list);
	for (i = 0; i < c->nr_ranges; i++) {
		c->ranges[i].wofs = (uint64_t)i << DAX_RANGE_SHIFT;
		put_free_locked(c, &c->ranges[i]);
	}
	if (!(flags & DAX_CONN_NO_WORKER)) {
		ret = pthread_create(&c->worker, NULL, worker_main, c);
		if (ret) {
			pthread_cond_destroy(&c->worker_cond);
			pthread_cond_destroy(&c->wait_cond);
			pthread_mutex_destroy(&c->lock);
			free(c->ranges);
			free(c);
			return -ret;
		}
		c->have_worker = true;
	}
	*out = c;
	return 0;
}

void dax_conn_destroy(struct dax_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->worker_stop = true;
	pthread_cond_broadcast(&c->worker_cond);
	if (c->nr_busy)
		VLOG_WARN("dax: connection freed with %u ranges still mapped",
			  c->nr_busy);
	pthread_mutex_unlock(&c->lock);
	if (c->have_worker)
		pthread_join(c->worker, NULL);
	pthread_cond_destroy(&c->worker_cond);
	pthread_cond_destroy(&c->wait_cond);
	pthread_mutex_destroy(&c->lock);
	free(c->ranges);
	free(c);
}

void dax_get_stats(struct dax_conn *c, struct dax_stats *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&c->lock);
	st->ranges_total = c->nr_ranges;
	st->ranges_free = c->nr_free;
	st->ranges_busy = c->nr_busy;
	pthread_mutex_unlock(&c->lock);
	st->setup_mappings = atomic_load(&c->st.setup);
	st->remove_mappings = atomic_load(&c->st.remove);
	st->remove_requests = atomic_load(&c->st.remove_req);
	st->upgrades = atomic_load(&c->st.upgrades);
	st->bg_reclaims = atomic_load(&c->st.bg_reclaims);
	st->direct_reclaims = atomic_load(&c->st.direct_reclaims);
	st->waits = atomic_load(&c->st.waits);
	st->hits = atomic_load(&c->st.hits);
	st->misses = atomic_load(&c->st.misses);
}
