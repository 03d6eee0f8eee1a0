// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * DAX ranges, inodes and the connection: who holds which 2 MiB piece of the
 * window, and reads and writes through it. The design is Linux's
 * fs/fuse/dax.c (Vivek Goyal, Stefan Hajnoczi et al.), moved to user space.
 *
 * Lock order (outermost first):
 *
 *   the caller's inode lock (keeps the file size stable; not ours)
 *     dax_inode.mapping_lock  rwlock, the kernel's i_mmap_sem: I/O, faults
 *                             and the worker's read-ahead shared; truncate,
 *                             punch hole and eviction exclusive
 *       dax_inode.dax_lock    rwlock over the inode's tree: shared to look up
 *                             and take a reference, exclusive to change
 *         dax_conn.lock       mutex: free and busy lists, counts, worker state
 *
 * The reclaim worker finds its victims on the busy list, under the
 * connection lock, so it takes a victim's dax_lock with trylock only and
 * passes over an inode whose tree is being changed. The backend callbacks (FUSE
 * requests) are made with inode locks held, never the connection lock; the
 * window's own lock (window.c) is a leaf taken by the backend channel.
 *
 * A mapped range's reference count is 1 while idle; I/O and faults hold one
 * more while they use it. References are only taken with the owner's
 * dax_lock held, so a holder of dax_lock for writing who reads 1 knows that
 * it stays 1: that is the test reclaim and truncate rely on.
 *
 * A range being set up is in its inode's tree already, in state
 * RANGE_SETUP, referenced by the thread sending FUSE_SETUPMAPPING, which
 * holds no inode lock meanwhile: misses on other ranges of the inode, and
 * hits, go on in parallel. Whoever else wants it takes a reference and
 * waits for RANGE_READY (or RANGE_DEAD: the setup failed; try again).
 *
 * Admission (DAX_CONN_ADMIT, see admit()): once the window is full, a miss
 * maps a range only if the range is more often used than the one it would
 * push out; the others are answered -ENOTBLK, for the caller to serve by
 * FUSE_READ/FUSE_WRITE. adm_lock (a leaf, taken on misses and by the
 * worker) guards the ghost list of recently evicted ranges.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "common/copy.h"
#include "common/log.h"
#include "dax/dax.h"
#include "dax/ghost.h"
#include "dax/hazard.h"
#include "dax/tree.h"

#define DAX_RECLAIM_PCT	    20	      /* keep this share of the ranges free */
/*
 * With admission (dax_admit=adaptive) the worker keeps one range free per
 * DAX_ADMIT_RESERVE_DIV instead, at least DAX_ADMIT_RESERVE_MIN (a miss and
 * a stream's read-ahead both find one at once). The 20 % reserve is there
 * so that every miss finds a free range at once; with admission a miss
 * maps only when the policy says so, a few per 1000 reads once the window
 * is full, and the reserve is a fifth of the window that holds nothing: 12
 * of 16 ranges mapped, so 4 KiB random reads over 2x the window hit at
 * most 37.5 % of the time, against 44 % with 14. Measured, 2 runs each,
 * interleaved (`--only=dax,vdaxd --workloads=ws2x,ws4x,ws8x,wsseq8x`,
 * dax/vdaxd, 1 / 4 threads), 4 free ranges of 16 against 2 (and 1): 2x
 * 1.50-1.53 / 1.40-1.48 against 1.65-1.70 / 1.61-1.73 (1.70-1.86 /
 * 1.72-1.80); 4x 1.15-1.23 / 1.16-1.23 against 1.22-1.23 / 1.16-1.20
 * (1.22-1.23 / 1.24-1.26); 8x 1.07-1.10 / 1.01-1.04 against 1.01-1.07 /
 * 1.03-1.09 (1.06-1.08 / 1.13); the streams the same. With 1, a stream's
 * first read sometimes had to reclaim for itself (test_stream_ahead).
 */
#define DAX_ADMIT_RESERVE_DIV 32
#define DAX_ADMIT_RESERVE_MIN 2
#define DAX_RECLAIM_CHUNK   10	      /* most ranges one worker pass frees */
#define DAX_WORKER_DELAY_NS 1000000L  /* re-run while below threshold */
#define DAX_WAIT_RECHECK_NS 50000000L /* a waiter's safety-net timeout */

/* Admission: frequency sketch counters saturate here (4 bits' worth). */
#define DAX_FREQ_MAX	 15
#define DAX_MARGIN_INIT	 2  /* starting admission margin */
#define DAX_MARGIN_MAX	 16 /* > DAX_FREQ_MAX: admit nothing */
#define DAX_MARGIN_DECAY 8  /* sketch halvings per margin step down */
#define DAX_PAYBACK_HITS 16 /* hits a mapping must earn to pay for itself */
#define DAX_HITS_CAP	 (4 * DAX_PAYBACK_HITS) /* all evicted() tells apart */
#define DAX_RATE_SHIFT	 16 /* fixed point of evict_rate */
#define DAX_STREAMS	 4  /* sequential streams tracked per inode */
#define DAX_RA_MAX	 8  /* read-ahead requests queued for the workers */
#define DAX_RA_DEEP	 4  /* most ranges a lone stream is read ahead */
#define DAX_RA_RING	 8  /* range entries by streams remembered */
/*
 * Worker threads: each maps read-aheads, any of them reclaims. One setup
 * is a round trip that mostly waits, so several streams need several in
 * flight to keep ahead of their readers; but each setup also costs CPU on
 * both sides (a mapping replaced is a TLB shootdown on every CPU of the
 * process), so more in flight than CPUs only contend. One per online CPU,
 * at least 2 (a stream's two read-aheads at once), at most DAX_WORKERS:
 * on 2 CPUs four 1 MiB streams through 8x the window ran 1.09-1.44x no DAX
 * (median 1.27) with 2 workers against 1.02-1.16x (1.09) with 4, one
 * stream about level, and 8 workers were slower still (bench/notes.md).
 */
#define DAX_WORKERS	 4
#define DAX_WORKERS_MIN	 2
/* A call this long maps its ranges for bulk reading (advise_range()). */
#define DAX_BULK_READ	 (256 * 1024)
/* A call this short that is no stream maps its range for random I/O. */
#define DAX_SMALL_IO	 (16 * 1024)

/* How a range about to be published is advised (advise_range()). */
enum { ADV_DEFAULT, ADV_HUGE, ADV_RANDOM };

enum { RANGE_SETUP, RANGE_READY, RANGE_DEAD };

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
	bool stream;	      /* mapped for a sequential stream; ditto */
	atomic_bool rand;     /* advised MADV_RANDOM (advise_range()) */
	bool huge;	      /* advised MADV_HUGEPAGE; owner's dax_lock */
	atomic_int state;     /* RANGE_*; READY stored with release */
	atomic_bool accessed; /* hit since the worker last passed by */
	atomic_uint refcount; /* 0 free, 1 idle, >1 in use */
	atomic_uint hits;     /* lookups served since it was set up (capped) */
	uint64_t born;	      /* touch_clock() at setup; owner's dax_lock */
	/*
	 * Lock-free readers may use it (dax_read_hit()): set with release
	 * once READY, after fast_ino and fast_pos (which say for what; they
	 * are written only there), and cleared by retire().
	 */
	atomic_bool fast;
	_Atomic(const struct dax_inode *) fast_ino;
	_Atomic uint64_t fast_pos;
	/*
	 * The sketch's halvings + 1 when a lock-free reader last found both
	 * of this range's counters saturated, 0 if none since it was
	 * published: until the next halving a touch cannot raise them, and
	 * the readers skip the sketch (freq_touch_range()).
	 */
	atomic_uint sat_epoch;
};

/* A sequential stream: where its next access would start. */
struct dax_stream {
	_Atomic uint64_t next;	/* byte offset; 0 unused */
	_Atomic uint64_t ra_at; /* range start last read ahead, +1 */
};

struct dax_inode {
	uint64_t nodeid; /* constant */
	pthread_rwlock_t mapping_lock;
	pthread_rwlock_t dax_lock;
	struct dax_tree tree; /* of dax_range.node; protected by dax_lock */
	/* Heuristics, relaxed atomics: a lost update costs a guess. */
	struct dax_stream streams[DAX_STREAMS];
	atomic_uint stream_rr;
	/*
	 * For dax_read_hit(): ranges by file range index modulo the table
	 * size (a miss in it only sends the reader to the locked path).
	 * Allocated at the first install, under dax_lock; entries set when a
	 * range is published and cleared by retire().
	 */
	_Atomic(struct dax_range *) *_Atomic hints;
	unsigned hint_mask;   /* constant once hints is set */
	atomic_uint gate;     /* > 0: lock-free readers stay out */
};

/*
 * Hits of lock-free readers are counted in the reader's own one of these,
 * by its hazard slot, each on a cache line of its own and written only by
 * the thread that holds the slot: so with a plain load and store, no
 * locked instruction (which waits for the copy's stores to drain). One
 * shared counter was a sixth of the time of 4 KiB reads with four
 * threads, its line going back and forth between the CPUs (perf,
 * in-window random reads).
 */
struct dax_hit_shard {
	atomic_uint_fast64_t n;
} __attribute__((aligned(64)));

/* Statistics: relaxed atomics, no lock; off the lines readers only read. */
struct dax_counters {
	atomic_uint_fast64_t setup, remove, remove_req, upgrades, bg_reclaims,
		direct_reclaims, waits, hits, misses, admissions, bypasses,
		ghost_hits, readaheads;
	struct dax_hit_shard fast_hits[DAX_HAZARD_SLOTS];
} __attribute__((aligned(64)));

/* A read-ahead the worker is asked to map. */
struct dax_ra {
	struct dax_inode *ino;
	uint64_t fh, pos;
	bool writable;
	bool recycle; /* the file is larger than the window */
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
	unsigned nr_workers;	    /* constant */
	struct dax_worker {
		struct dax_conn *c;
		pthread_t thread;
		/* Its read-ahead's inode, NULL if none, and the file handle
		 * it maps through; protected by lock. */
		struct dax_inode *ra_busy;
		uint64_t ra_fh;
	} workers[DAX_WORKERS];

	struct dax_ra ra[DAX_RA_MAX]; /* protected by lock */
	unsigned nr_ra;		      /* protected by lock */
	unsigned ra_depth;	      /* ranges a stream is read ahead, at
				       * least (ra_depth_now()); constant */
	/* The streams that entered a range lately (only compared). */
	_Atomic(const struct dax_stream *) ra_ring[DAX_RA_RING];
	atomic_uint ra_ring_at;

	/* Admission (constant unless noted). */
	bool admit;
	unsigned reserve;	       /* free ranges the worker keeps */
	_Atomic uint8_t *freq;	       /* count-min sketch, 2 hashes */
	unsigned freq_mask;	       /* slots - 1 */
	unsigned freq_period;	       /* touches between halvings */
	struct {		       /* since the last halving; on its */
		atomic_uint n;	       /* own line: every thread adds */
	} __attribute__((aligned(64))) freq_touches;
	atomic_uint freq_ages;	       /* halvings so far */
	atomic_uint margin;	       /* admission margin, adaptive */
	atomic_uint evict_rate;	       /* hits per touch of the ranges
					* evicted lately, << DAX_RATE_SHIFT */
	unsigned spread_slots;	       /* sketch slots in use above which
					* more ranges are in use than fit */
	atomic_bool spread;	       /* so they were at the last halving */
	atomic_bool policy_took;       /* last range taken: for an admitted
					* miss (true) or a stream (false) */
	pthread_mutex_t adm_lock;      /* leaf: the ghost list */
	struct dax_ghosts ghosts;      /* protected by adm_lock */

	/* The session is ending: mappings go with the window (dax_conn_closing). */
	atomic_bool closing;

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
	return c->nr_free < c->reserve;
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

static struct dax_range *take_free(struct dax_conn *c)
{
	struct dax_range *r;

	pthread_mutex_lock(&c->lock);
	r = take_free_locked(c);
	pthread_mutex_unlock(&c->lock);
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

/*
 * A use of @r, for reclaim's second chance and the admission's payback.
 * The hit count stops where evicted() stops looking, so that a hot range
 * read by several threads is not written by each read.
 */
static void range_touch(struct dax_range *r)
{
	if (atomic_load_explicit(&r->hits, memory_order_relaxed) <
	    DAX_HITS_CAP)
		atomic_fetch_add_explicit(&r->hits, 1, memory_order_relaxed);
	if (!atomic_load_explicit(&r->accessed, memory_order_relaxed))
		atomic_store_explicit(&r->accessed, true,
				      memory_order_relaxed);
}

/* Owner's dax_lock held (either way). */
static void range_get(struct dax_range *r)
{
	atomic_fetch_add(&r->refcount, 1);
	range_touch(r);
}

static void range_put(struct dax_conn *c, struct dax_range *r)
{
	/*
	 * Pairs with wait_idle(): it counts itself in nr_waiters and then
	 * reads the refcount; we drop the refcount and then read nr_waiters
	 * (both sequentially consistent), so one of us sees the other.
	 */
	unsigned old = atomic_fetch_sub(&r->refcount, 1);

	if (old <= 2 && atomic_load(&c->nr_waiters)) {
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

/* ---- lock-free readers (dax_read_hit) -------------------------------- */

#define DAX_HINTS_MAX 64u /* entries of an inode's hint table, at most */

static unsigned hint_slot(const struct dax_inode *ino, uint64_t pos)
{
	return (unsigned)(pos >> DAX_RANGE_SHIFT) & ino->hint_mask;
}

/* @ino's dax_lock held for writing. Without memory, no lock-free reads. */
static void hints_alloc(const struct dax_conn *c, struct dax_inode *ino)
{
	_Atomic(struct dax_range *) *h;
	unsigned n = 1;

	if (atomic_load_explicit(&ino->hints, memory_order_relaxed))
		return;
	while (n < c->nr_ranges && n < DAX_HINTS_MAX)
		n *= 2;
	h = calloc(n, sizeof(*h));
	if (!h)
		return;
	ino->hint_mask = n - 1;
	atomic_store_explicit(&ino->hints, h, memory_order_release);
}

/*
 * @r has just become READY for @ino at its node.start, and holds a
 * reference of its installer (so nothing retires it meanwhile): open it
 * to lock-free readers.
 */
static void fast_publish(struct dax_inode *ino, struct dax_range *r)
{
	_Atomic(struct dax_range *) *h =
		atomic_load_explicit(&ino->hints, memory_order_acquire);

	if (!h)
		return;
	atomic_store_explicit(&r->fast_ino, ino, memory_order_relaxed);
	atomic_store_explicit(&r->fast_pos, r->node.start,
			      memory_order_relaxed);
	atomic_store_explicit(&r->sat_epoch, 0, memory_order_relaxed);
	atomic_store_explicit(&r->fast, true, memory_order_release);
	atomic_store_explicit(&h[hint_slot(ino, r->node.start)], r,
			      memory_order_release);
}

/*
 * @r leaves @ino (dax_lock held for writing): close it to lock-free
 * readers and wait for those already copying out of it, before anything
 * unmaps or re-maps its window bytes. Called before the range leaves the
 * tree, wherever it does.
 */
static void retire(struct dax_inode *ino, struct dax_range *r)
{
	_Atomic(struct dax_range *) *h =
		atomic_load_explicit(&ino->hints, memory_order_relaxed);
	struct dax_range *want = r;

	if (!atomic_load_explicit(&r->fast, memory_order_relaxed))
		return;
	atomic_store(&r->fast, false);
	if (h)
		atomic_compare_exchange_strong(
			&h[hint_slot(ino, r->node.start)], &want, NULL);
	dax_hazard_wait(NULL, r);
}

/* Take @r out of @ino's tree (dax_lock held for writing). */
static void tree_take(struct dax_inode *ino, struct dax_range *r)
{
	retire(ino, r);
	dax_tree_remove(&ino->tree, &r->node);
}

/*
 * Wait while @r (referenced by us) is being set up by another thread. No
 * inode lock held. Pairs with publish(): we count ourselves in nr_waiters,
 * then read the state; it stores the state, then reads nr_waiters.
 */
static void wait_ready(struct dax_conn *c, struct dax_range *r)
{
	if (atomic_load(&r->state) != RANGE_SETUP)
		return;
	pthread_mutex_lock(&c->lock);
	atomic_fetch_add(&c->nr_waiters, 1);
	while (atomic_load(&r->state) == RANGE_SETUP)
		pthread_cond_wait(&c->wait_cond, &c->lock);
	atomic_fetch_sub(&c->nr_waiters, 1);
	pthread_mutex_unlock(&c->lock);
}

/* The setup of @r is over (READY or DEAD): wake its waiters. */
static void publish(struct dax_conn *c, struct dax_range *r, int state)
{
	atomic_store(&r->state, state);
	if (atomic_load(&c->nr_waiters)) {
		pthread_mutex_lock(&c->lock);
		pthread_cond_broadcast(&c->wait_cond);
		pthread_mutex_unlock(&c->lock);
	}
}

/* ---- FUSE requests --------------------------------------------------- */

static int send_setup(struct dax_conn *c, struct dax_inode *ino, uint64_t fh,
		      struct dax_range *r, bool writable)
{
	int ret = c->ops->setup(c->ctx, ino->nodeid, fh, r->node.start,
				DAX_RANGE_SIZE, r->wofs, writable);

	/* -ERANGE and -ENOTBLK are dax_write()'s "send FUSE_WRITE" and the
	 * admission's bypass; keep them unambiguous. */
	if (ret > 0 || ret == -ERANGE || ret == -ENOTBLK)
		ret = -EIO;
	if (!ret)
		count(&c->st.setup, 1);
	return ret;
}

static int send_remove(struct dax_conn *c, uint64_t nodeid,
		       const struct fuse_removemapping_one *v, unsigned n)
{
	int ret;

	/* The window goes as a whole (dax_conn_closing()). */
	if (atomic_load_explicit(&c->closing, memory_order_relaxed))
		return 0;
	ret = c->ops->remove(c->ctx, nodeid, v, n);
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

/* ---- admission ------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

/* Both sketch slots of file range @pos of node @nodeid. */
static void freq_slots(const struct dax_conn *c, uint64_t nodeid, uint64_t pos,
		       _Atomic uint8_t **a, _Atomic uint8_t **b)
{
	uint64_t h = mix64(nodeid * UINT64_C(0x9e3779b97f4a7c15) ^
			   (pos >> DAX_RANGE_SHIFT));

	*a = &c->freq[h & c->freq_mask];
	*b = &c->freq[(h >> 32) & c->freq_mask];
}

/* How often the range has been used lately (count-min: the smaller). */
static unsigned freq_est(const struct dax_conn *c, uint64_t nodeid,
			 uint64_t pos)
{
	_Atomic uint8_t *a, *b;
	unsigned x, y;

	freq_slots(c, nodeid, pos, &a, &b);
	x = atomic_load_explicit(a, memory_order_relaxed);
	y = atomic_load_explicit(b, memory_order_relaxed);
	return x < y ? x : y;
}

/*
 * The admission's clock: touches of the sketch so far (approximate: each
 * thread adds its touches 16 at a time, and the count restarts at a
 * halving a moment after freq_ages moves on).
 */
static uint64_t touch_clock(const struct dax_conn *c)
{
	return (uint64_t)atomic_load_explicit(&c->freq_ages,
					      memory_order_relaxed) *
		       c->freq_period +
	       atomic_load_explicit(&c->freq_touches.n, memory_order_relaxed);
}

/* 1 - e^-x, 0 <= x <= 1, by its series (no libm for one number). */
static double one_minus_exp_neg(double x)
{
	double term = x, sum = x;

	for (int k = 2; k < 24; k++) {
		term *= -x / k;
		sum += term;
	}
	return sum;
}

/*
 * Halve every count, so that the sketch says "lately" (TinyLFU's reset),
 * and every DAX_MARGIN_DECAY halvings let the margin fall back by one, so
 * that a workload that has changed can earn admission again. Slowly: with
 * uniformly random reads over more than the window no mapping pays, and
 * each step down lets a few more through before evictions push it back.
 */
static void freq_age(struct dax_conn *c)
{
	unsigned v, i, used = 0;

	for (i = 0; i <= c->freq_mask; i++) {
		v = atomic_load_explicit(&c->freq[i], memory_order_relaxed);
		if (v) {
			used++;
			atomic_store_explicit(&c->freq[i], (uint8_t)(v >> 1),
					      memory_order_relaxed);
		}
	}
	atomic_store_explicit(&c->spread, used > c->spread_slots,
			      memory_order_relaxed);
	if (atomic_fetch_add(&c->freq_ages, 1) % DAX_MARGIN_DECAY)
		return;
	v = atomic_load(&c->margin);
	if (v > 1)
		atomic_compare_exchange_strong(&c->margin, &v, v - 1);
}

/*
 * Count one touch on the admission's clock. The shared count is updated
 * once every 16 touches of a thread, and the halving is due when it
 * passes the period.
 */
static void freq_tick(struct dax_conn *c)
{
	static _Thread_local unsigned batch;
	unsigned old;

	if (++batch < 16)
		return;
	batch = 0;
	old = atomic_fetch_add(&c->freq_touches.n, 16);
	if (old < c->freq_period && old + 16 >= c->freq_period) {
		freq_age(c);
		atomic_store(&c->freq_touches.n, 0);
	}
}

/*
 * One use of range @pos. Counters saturate, so a hot range stops being
 * written (no cache line bouncing between threads hitting it). Returns
 * whether both of its counters were saturated already.
 */
static bool freq_touch(struct dax_conn *c, uint64_t nodeid, uint64_t pos)
{
	_Atomic uint8_t *a, *b;
	unsigned x, y;

	freq_slots(c, nodeid, pos, &a, &b);
	x = atomic_load_explicit(a, memory_order_relaxed);
	y = atomic_load_explicit(b, memory_order_relaxed);
	/* Conservative update: raise only the smaller. */
	if (x <= y && x < DAX_FREQ_MAX)
		atomic_store_explicit(a, (uint8_t)(x + 1), memory_order_relaxed);
	if (y <= x && y < DAX_FREQ_MAX)
		atomic_store_explicit(b, (uint8_t)(y + 1), memory_order_relaxed);
	freq_tick(c);
	return x >= DAX_FREQ_MAX && y >= DAX_FREQ_MAX;
}

/*
 * freq_touch() for a hit on mapped range @r at @pos: the same counts,
 * without reading the sketch while @r's counters are known saturated.
 * With four threads reading a window that holds the file, the sketch's
 * lines (written by the other CPU after every halving) were half of the
 * cost of a touch. The epoch is read before the counters, so a halving
 * after it only makes the mark stale (and unused).
 */
static void freq_touch_range(struct dax_conn *c, struct dax_range *r,
			     uint64_t nodeid, uint64_t pos)
{
	unsigned ep = atomic_load_explicit(&c->freq_ages,
					   memory_order_acquire) + 1;

	if (atomic_load_explicit(&r->sat_epoch, memory_order_relaxed) == ep) {
		freq_tick(c);
		return;
	}
	if (freq_touch(c, nodeid, pos))
		atomic_store_explicit(&r->sat_epoch, ep, memory_order_relaxed);
}

/* Is range @pos of @nodeid on the ghost list (evicted lately)? */
static bool ghost_find(struct dax_conn *c, uint64_t nodeid, uint64_t pos,
		       bool take)
{
	bool found;

	pthread_mutex_lock(&c->adm_lock);
	found = dax_ghosts_find(&c->ghosts, nodeid,
				(pos >> DAX_RANGE_SHIFT) + 1, take);
	pthread_mutex_unlock(&c->adm_lock);
	return found;
}

/*
 * What range @r earned beyond what the ranges evicted lately earned over
 * the same number of touches, and fold its own rate into theirs. A range
 * is taken from others: were they as busy as it was (random reads spread
 * evenly over more than the window), the setup bought nothing, however
 * many hits the range had. The average is a moving one, 1/8 per range.
 */
static unsigned earned(struct dax_conn *c, struct dax_range *r, unsigned hits)
{
	uint64_t age = touch_clock(c) - r->born, rate, avg, expect;

	/* The clock can step back by a halving's count (touch_clock()). */
	if ((int64_t)age < 1)
		age = 1;
	if (age > UINT64_C(1) << 32)
		age = UINT64_C(1) << 32;
	avg = atomic_load_explicit(&c->evict_rate, memory_order_relaxed);
	expect = (avg * age) >> DAX_RATE_SHIFT;
	rate = ((uint64_t)hits << DAX_RATE_SHIFT) / age;
	/* Relaxed: evictions of two files may race; one update is lost. */
	atomic_store_explicit(&c->evict_rate,
			      (unsigned)(avg - avg / 8 + rate / 8),
			      memory_order_relaxed);
	/* All the ranges in use fit: once mapped, nothing need go. */
	if (!atomic_load_explicit(&c->spread, memory_order_relaxed))
		return hits;
	return hits > expect ? hits - (unsigned)expect : 0;
}

/*
 * Range @r of @ino has just been evicted (its dax_lock held for writing):
 * remember it as a ghost, and learn from what the mapping earned. One that
 * was evicted before it paid for its setup makes admission harder; one
 * that paid many times over makes it easier. Ranges mapped for a stream
 * are read once by design and teach nothing. What a range earned is its
 * hits less those of the ranges evicted lately over as long (earned()).
 *
 * Nor does a range taken by its own file's I/O (@forced: steal_own(),
 * when no range was free). The reclaim worker chooses the idlest range of
 * the whole window; a file that finds none free can only take the oldest
 * of its own, which may be as hot as the one it maps: that range did not
 * pay because the worker was late, not because admission let too much
 * in. Counted, such evictions closed admission altogether (the margin at
 * its maximum) when the worker was starved of CPU for a moment, and a hot
 * set that came later was read around the window for as long as the
 * margin took to come down (test_even_spread, under load).
 */
static void evicted(struct dax_conn *c, struct dax_inode *ino,
		    struct dax_range *r, bool forced)
{
	unsigned gain, m;

	if (!c->admit)
		return;
	pthread_mutex_lock(&c->adm_lock);
	dax_ghosts_add(&c->ghosts, ino->nodeid,
		       (r->node.start >> DAX_RANGE_SHIFT) + 1);
	pthread_mutex_unlock(&c->adm_lock);
	if (r->stream || forced)
		return;
	gain = earned(c, r, atomic_load_explicit(&r->hits,
						 memory_order_relaxed));
	m = atomic_load(&c->margin);
	/*
	 * A range that did not pay makes admission harder only when it
	 * gave way to another admitted miss, the churn the margin is there
	 * to stop. Pushed out by a stream (which maps without asking), it
	 * says nothing about admission: streams through the window used to
	 * raise the margin to its maximum, evicting the random reads' young
	 * ranges, and the random reads that came after could earn no
	 * mapping for seconds.
	 */
	if (gain < DAX_PAYBACK_HITS && m < DAX_MARGIN_MAX &&
	    atomic_load_explicit(&c->policy_took, memory_order_relaxed))
		atomic_compare_exchange_strong(&c->margin, &m, m + 1);
	else if (gain >= DAX_HITS_CAP && m > 1)
		atomic_compare_exchange_strong(&c->margin, &m, m - 1);
}

/*
 * The sketch count of the range that reclaim would take next: the oldest
 * idle one not hit since the worker last passed (else the oldest idle
 * one). Conn lock held: a range's node.start is set before it goes on the
 * busy list and stays while it is there. DAX_FREQ_MAX + 1 if nothing is
 * idle: a new mapping would only wait. *@spent: that range was mapped for
 * a sequential stream and not hit since the worker last passed by.
 */
static unsigned victim_est_locked(struct dax_conn *c, bool *spent)
{
	struct dax_range *r, *idle = NULL;
	unsigned steps = 8;
	struct dax_list *l;

	for (l = c->busy_list.next; l != &c->busy_list && steps;
	     l = l->next, steps--) {
		r = range_of_link(l);
		if (atomic_load(&r->refcount) != 1)
			continue;
		if (!atomic_load_explicit(&r->accessed, memory_order_relaxed)) {
			idle = r;
			break;
		}
		if (!idle)
			idle = r;
	}
	*spent = false;
	if (!idle)
		return DAX_FREQ_MAX + 1;
	*spent = idle->stream &&
		 !atomic_load_explicit(&idle->accessed, memory_order_relaxed);
	return freq_est(c, idle->inode->nodeid, idle->node.start);
}

/*
 * A miss at range @pos of @ino: map it (true) or leave the window alone and
 * let the caller send FUSE_READ/FUSE_WRITE (false). While free ranges are
 * left a mapping displaces nothing and is always made. Once the window is
 * full, a range is mapped only if it has been used more often lately than
 * the range it would push out, by a margin that the worker adapts to what
 * mappings earn before they are evicted (evicted()); a range evicted a
 * moment ago (a ghost) counts one use more. Streams do not ask: they map.
 */
static bool admit(struct dax_conn *c, struct dax_inode *ino, uint64_t pos)
{
	unsigned victim, m;
	bool ghost, spent;

	pthread_mutex_lock(&c->lock);
	if (c->nr_free > c->reserve) {
		pthread_mutex_unlock(&c->lock);
		return true;
	}
	victim = victim_est_locked(c, &spent);
	/* Only a free range is then taken, and the leftover goes to the
	 * worker; with none free the miss would take one of its own file's. */
	spent = spent && c->nr_free;
	pthread_mutex_unlock(&c->lock);
	/*
	 * What a stream has read and left is worth nothing kept (a stream
	 * reads once, and maps again if it comes back): any miss may have
	 * it, margin or not. Without this, random reads after a stream
	 * through another file found the window full of its leftovers and a
	 * margin that no range of theirs could beat (4 KiB random reads
	 * over 8x the window right after the stream rows of `make bench`,
	 * one thread: 22-28 hits per 1000 reads, and 88-94 with this, of
	 * the 94 that 12 mapped ranges of 128 give).
	 */
	if (spent)
		return true;
	ghost = ghost_find(c, ino->nodeid, pos, false);
	if (ghost)
		count(&c->st.ghost_hits, 1);
	m = atomic_load(&c->margin);
	if (freq_est(c, ino->nodeid, pos) + ghost < victim + m)
		return false;
	if (ghost)
		ghost_find(c, ino->nodeid, pos, true);
	return true;
}

/* ---- sequential streams --------------------------------------------- */

/*
 * The stream an access at @off continues, or NULL. Heuristic and
 * lock-free: concurrent streams may steal each other's slots, which costs
 * a guess, never correctness.
 */
static struct dax_stream *stream_find(struct dax_inode *ino, uint64_t off)
{
	unsigned i;

	if (off)
		for (i = 0; i < DAX_STREAMS; i++)
			if (atomic_load_explicit(&ino->streams[i].next,
						 memory_order_relaxed) == off)
				return &ino->streams[i];
	return NULL;
}

/*
 * A slot for a stream that may start at @next. Only accesses that missed
 * start one: hits on a mapped range need no stream, and random hits from
 * several threads would otherwise keep writing the slots.
 */
static void stream_start(struct dax_inode *ino, uint64_t next)
{
	unsigned i = atomic_fetch_add_explicit(&ino->stream_rr, 1,
					       memory_order_relaxed);
	struct dax_stream *s = &ino->streams[i % DAX_STREAMS];

	atomic_store_explicit(&s->next, next, memory_order_relaxed);
	atomic_store_explicit(&s->ra_at, 0, memory_order_relaxed);
}

/* ---- reclaim --------------------------------------------------------- */

/*
 * Take @k ranges of @ino out of its tree and unmap them in one
 * FUSE_REMOVEMAPPING; the caller then frees or reuses them. @ino's
 * dax_lock is held for writing and the ranges are idle and off the busy
 * list. A failed removal is logged and otherwise ignored: the window
 * mapping may linger, but the next FUSE_SETUPMAPPING of the range
 * replaces it.
 */
static void remove_batch(struct dax_conn *c, struct dax_inode *ino,
			 struct dax_range **rs, unsigned k)
{
	struct fuse_removemapping_one v[DAX_REMOVEMAPPING_MAX] = { { 0 } };
	unsigned i;

	for (i = 0; i < k && i < DAX_REMOVEMAPPING_MAX; i++) {
		tree_take(ino, rs[i]);
		notify_remove(c, rs[i]);
		v[i].moffset = rs[i]->wofs;
		v[i].len = DAX_RANGE_SIZE;
	}
	send_remove(c, ino->nodeid, v, k);
	for (i = 0; i < k; i++)
		evicted(c, ino, rs[i], false);
}

/*
 * Take idle range @r out of @ino (dax_lock held for writing, @r off the
 * busy list) for a caller that maps it again at once, at its own window
 * offset: that FUSE_SETUPMAPPING replaces the old mapping in one step
 * (the daemon's map is MAP_FIXED over it, dax_window_map() an atomic
 * mremap()), so no FUSE_REMOVEMAPPING round trip is spent first. Nobody
 * can reach the old bytes meanwhile: the range is in no tree and its
 * program mmap aliases are gone. Should the new setup fail, the range is
 * freed with the old mapping still in the window, which remove_batch()
 * already allows: the next setup of the range replaces it.
 */
static void detach_for_reuse(struct dax_conn *c, struct dax_inode *ino,
			     struct dax_range *r)
{
	tree_take(ino, r);
	notify_remove(c, r);
	evicted(c, ino, r, true);
}

/*
 * Take one of @ino's own idle ranges, oldest first; with @left, only one
 * a sequential stream has left behind (stream_done() put those first in
 * line, not hit since). Returns the range, on no list and detached for
 * reuse (the caller installs it at once), or NULL. Direct reclaim (I/O
 * that finds no free range) and the worker's read-ahead use it.
 */
static struct dax_range *steal_own(struct dax_conn *c, struct dax_inode *ino,
				   bool left)
{
	struct dax_range *r = NULL, *it;
	struct dax_list *l;

	pthread_rwlock_wrlock(&ino->dax_lock);
	pthread_mutex_lock(&c->lock);
	for (l = c->busy_list.next; l != &c->busy_list; l = l->next) {
		it = range_of_link(l);
		if (it->inode != ino || atomic_load(&it->refcount) != 1)
			continue;
		if (left && (!it->stream || atomic_load(&it->accessed)))
			continue;
		r = it;
		unbusy_locked(c, r);
		break;
	}
	pthread_mutex_unlock(&c->lock);
	if (r)
		detach_for_reuse(c, ino, r);
	pthread_rwlock_unlock(&ino->dax_lock);
	return r;
}

/*
 * Choose the worker's next victim: the least recently used idle range
 * (second chance: a range hit since the last pass goes to the back once)
 * whose inode's dax_lock can be had without waiting. Returns it off the
 * busy list with that dax_lock held for writing.
 *
 * Not the mapping lock: I/O holds it shared for a whole call, so a file
 * under constant I/O (four threads reading it) could never give up a
 * range and its readers would have to reclaim for themselves. dax_lock
 * and a reference count of 1 are what exclude users of the range (I/O
 * and faults take references only under dax_lock); the mapping lock is
 * for truncation, which must also keep new mappings out.
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
		if (pthread_rwlock_trywrlock(&ino->dax_lock))
			continue;
		/* A reference may have been taken before we had dax_lock. */
		if (atomic_load(&r->refcount) > 1) {
			pthread_rwlock_unlock(&ino->dax_lock);
			continue;
		}
		unbusy_locked(c, r);
		*inop = ino;
		return r;
	}
	return NULL;
}

/*
 * More victims of @ino (whose locks the worker holds) for the same
 * FUSE_REMOVEMAPPING: idle ranges not hit since the last pass, oldest
 * first, at most @max. Conn lock held.
 */
static unsigned more_victims_locked(struct dax_conn *c, struct dax_inode *ino,
				    struct dax_range **rs, unsigned max)
{
	struct dax_list *l, *next;
	struct dax_range *r;
	unsigned k = 0;

	for (l = c->busy_list.next; l != &c->busy_list && k < max; l = next) {
		next = l->next;
		r = range_of_link(l);
		if (r->inode != ino || atomic_load(&r->refcount) != 1 ||
		    atomic_load(&r->accessed))
			continue;
		unbusy_locked(c, r);
		rs[k++] = r;
	}
	return k;
}

unsigned dax_conn_reclaim(struct dax_conn *c, unsigned max)
{
	struct dax_range *batch[DAX_REMOVEMAPPING_MAX];
	struct dax_inode *ino;
	unsigned freed = 0, k, i, room;

	while (freed < max) {
		pthread_mutex_lock(&c->lock);
		batch[0] = pick_victim_locked(c, &ino);
		k = 0;
		if (batch[0]) {
			room = max - freed;
			if (room > DAX_REMOVEMAPPING_MAX)
				room = DAX_REMOVEMAPPING_MAX;
			k = 1 + more_victims_locked(c, ino, batch + 1, room - 1);
		}
		pthread_mutex_unlock(&c->lock);
		if (!k)
			break;
		remove_batch(c, ino, batch, k);
		pthread_rwlock_unlock(&ino->dax_lock);
		pthread_mutex_lock(&c->lock);
		for (i = 0; i < k; i++)
			put_free_locked(c, batch[i]);
		pthread_mutex_unlock(&c->lock);
		freed += k;
	}
	count(&c->st.bg_reclaims, freed);
	return freed;
}

/*
 * A pass frees at most DAX_RECLAIM_CHUNK ranges, as the kernel's worker
 * does, but never more than the 20 % it restores, so that a window of a few
 * ranges is not emptied at every pass. With admission, no more than the
 * reserve lacks: admit() maps every miss while more than the reserve is
 * free, so a range freed beyond it went to the next miss without the
 * policy's say, and the range it had held was pushed out for nothing.
 * Conn lock held.
 */
static unsigned reclaim_chunk_locked(const struct dax_conn *c)
{
	unsigned n = c->nr_ranges * DAX_RECLAIM_PCT / 100, short_by;

	if (n < 1)
		n = 1;
	if (n > DAX_RECLAIM_CHUNK)
		n = DAX_RECLAIM_CHUNK;
	if (!c->admit)
		return n;
	short_by = c->nr_free < c->reserve ? c->reserve - c->nr_free : 0;
	return n < short_by ? n : short_by;
}

static int install(struct dax_conn *c, struct dax_inode *ino, uint64_t fh,
		   struct dax_range *fresh, uint64_t pos, bool writable,
		   bool stream, int advice, struct dax_range **out);

/* @ino's dax_lock held (either way). */
static struct dax_range *lookup(struct dax_inode *ino, uint64_t pos)
{
	struct dax_tree_node *n = dax_tree_find(&ino->tree, pos);

	return n ? range_of_node(n) : NULL;
}

static bool mapped(struct dax_inode *ino, uint64_t pos)
{
	bool ret;

	pthread_rwlock_rdlock(&ino->dax_lock);
	ret = lookup(ino, pos) != NULL;
	pthread_rwlock_unlock(&ino->dax_lock);
	return ret;
}

/*
 * Fill the page tables of a range just read ahead, so that the stream's
 * reader only copies. One byte of every 64 KiB (the kernel's fault-around
 * block: one fault maps 16 pages) is read with process_vm_readv() from our
 * own memory: a page the file no longer has ends it with EFAULT where a
 * plain load would raise SIGBUS. MADV_POPULATE_READ takes 3x as long here:
 * it walks every page. Measured on a cold `vdax cat` of 256 MiB in 4 KiB
 * folios (20 runs each, interleaved): median 66 against 76 ms, best 47
 * against 59, with local `cat` at 38. It runs on a worker after the range
 * is published, so a reader that gets there first is not held up, and the
 * other workers' setups go on meanwhile (with one worker it delayed the
 * next setup and gained nothing).
 */
static void prefault(struct dax_conn *c, struct dax_range *r)
{
	enum { STEP = 64 * 1024, N = DAX_RANGE_SIZE / STEP };
	struct iovec local, remote[N];
	char buf[N];

	local.iov_base = buf;
	local.iov_len = N;
	for (unsigned i = 0; i < N; i++) {
		remote[i].iov_base = c->base + r->wofs + (size_t)i * STEP;
		remote[i].iov_len = 1;
	}
	(void)process_vm_readv(getpid(), &local, 1, remote, N, 0);
}

/*
 * A worker maps the range a stream is about to reach. The inode stays
 * valid: dax_inode_free() waits while a worker's ra_busy is it. Skipped if
 * the inode is being truncated (mapping lock taken), the range is there
 * already, or no range can be had: the stream then maps it itself.
 */
static void readahead_one(struct dax_conn *c, const struct dax_ra *ra)
{
	struct dax_inode *ino = ra->ino;
	struct dax_range *r;

	if (pthread_rwlock_tryrdlock(&ino->mapping_lock))
		return;
	if (mapped(ino, ra->pos))
		goto out;
	/*
	 * A stream through a file larger than the whole window can never
	 * keep it mapped: re-map a range it has left behind in place, one
	 * round trip, where a free range would cost the worker a
	 * FUSE_REMOVEMAPPING later to restore the reserve (and push out a
	 * range some other reader may want). A smaller file takes a free
	 * range, so that a file read through once stays mapped for the
	 * next pass.
	 */
	r = NULL;
	atomic_store_explicit(&c->policy_took, false, memory_order_relaxed);
	if (ra->recycle && (r = steal_own(c, ino, true)))
		count(&c->st.bg_reclaims, 1);
	if (!r)
		r = take_free(c);
	/* None free: any idle range of the file, else the common reclaim. */
	if (!r && (r = steal_own(c, ino, false)))
		count(&c->st.bg_reclaims, 1);
	if (!r) {
		dax_conn_reclaim(c, 1);
		r = take_free(c);
	}
	if (r && !install(c, ino, ra->fh, r, ra->pos, ra->writable, true, ADV_HUGE,
			  &r)) {
		/* Not taken back before the stream gets there. */
		atomic_store(&r->accessed, true);
		/* A write stream would fault again to write: left alone. */
		if (!ra->writable)
			prefault(c, r);
		count(&c->st.readaheads, 1);
		range_put(c, r);
	}
out:
	pthread_rwlock_unlock(&ino->mapping_lock);
}

/*
 * A stream has left range @pos of @ino behind: make it the first victim,
 * so that the stream's ranges give way to each other rather than push out
 * ranges that are used again (scan resistance). No lock held.
 */
static void stream_done(struct dax_conn *c, struct dax_inode *ino,
			uint64_t pos)
{
	struct dax_range *r;

	pthread_rwlock_rdlock(&ino->dax_lock);
	r = lookup(ino, pos);
	if (r && r->stream && atomic_load(&r->state) == RANGE_READY) {
		pthread_mutex_lock(&c->lock);
		atomic_store(&r->accessed, false);
		list_del(&r->link);
		/* the head: the oldest */
		r->link.next = c->busy_list.next;
		r->link.prev = &c->busy_list;
		c->busy_list.next->prev = &r->link;
		c->busy_list.next = &r->link;
		pthread_mutex_unlock(&c->lock);
	}
	pthread_rwlock_unlock(&ino->dax_lock);
}

/*
 * How many ranges stream @s, entering a range, reads ahead: a quarter of
 * the window shared among the streams that entered a range lately, between
 * ra_depth and DAX_RA_DEEP. Two ranges ahead leave a setup the time the
 * reader takes to copy two (about 300 us at 7 GB/s), which a lone stream
 * still missed now and then; four streams two deep already hold half of a
 * 32 MiB window. Lock-free: a lost ring update costs a guess.
 */
static unsigned ra_depth_now(struct dax_conn *c, const struct dax_stream *s)
{
	const struct dax_stream *v[DAX_RA_RING];
	unsigned i, j, n = 0, d;

	if (c->ra_depth < 2)
		return c->ra_depth;
	i = atomic_fetch_add_explicit(&c->ra_ring_at, 1, memory_order_relaxed);
	atomic_store_explicit(&c->ra_ring[i % DAX_RA_RING], s,
			      memory_order_relaxed);
	for (i = 0; i < DAX_RA_RING; i++) {
		v[i] = atomic_load_explicit(&c->ra_ring[i],
					    memory_order_relaxed);
		if (!v[i])
			continue;
		for (j = 0; j < i && v[j] != v[i]; j++)
			;
		n += j == i;
	}
	d = c->nr_ranges / (4 * (n ? n : 1));
	if (d > DAX_RA_DEEP)
		d = DAX_RA_DEEP;
	return d < c->ra_depth ? c->ra_depth : d;
}

/* Queue a read-ahead of range @pos of @ino for the worker. No lock held. */
static void readahead_post(struct dax_conn *c, struct dax_inode *ino,
			   uint64_t fh, uint64_t pos, bool writable,
			   uint64_t file_size)
{
	bool recycle = file_size / DAX_RANGE_SIZE > c->nr_ranges;

	unsigned i;

	if (!c->have_worker || mapped(ino, pos))
		return;
	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->nr_ra; i++)
		if (c->ra[i].ino == ino && c->ra[i].pos == pos)
			break;
	if (i == c->nr_ra && c->nr_ra < DAX_RA_MAX) {
		c->ra[c->nr_ra++] =
			(struct dax_ra){ ino, fh, pos, writable, recycle };
		pthread_cond_signal(&c->worker_cond);
	}
	pthread_mutex_unlock(&c->lock);
}

static void *worker_main(void *arg)
{
	struct dax_worker *w = arg;
	struct dax_conn *c = w->c;
	struct timespec ts;
	struct dax_ra ra;
	char name[16];
	unsigned n;

	snprintf(name, sizeof(name), "vdax-dax%u", (unsigned)(w - c->workers));
	pthread_setname_np(pthread_self(), name);
	pthread_mutex_lock(&c->lock);
	while (!c->worker_stop) {
		if (c->nr_ra) {
			/* A stream is waiting for this one: it goes first. */
			ra = c->ra[0];
			memmove(c->ra, c->ra + 1, --c->nr_ra * sizeof(ra));
			w->ra_busy = ra.ino;
			w->ra_fh = ra.fh;
			pthread_mutex_unlock(&c->lock);
			readahead_one(c, &ra);
			pthread_mutex_lock(&c->lock);
			w->ra_busy = NULL;
			pthread_cond_broadcast(&c->wait_cond);
			continue;
		}
		if (!c->worker_kick) {
			pthread_cond_wait(&c->worker_cond, &c->lock);
			continue;
		}
		c->worker_kick = false;
		n = reclaim_chunk_locked(c);
		pthread_mutex_unlock(&c->lock);
		if (n)
			dax_conn_reclaim(c, n);
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
		r = take_free(c);
		if (r)
			break;
		r = steal_own(c, ino, false);
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

static void readvise_range(struct dax_conn *c, struct dax_range *r);

/* A read-only range at @pos must become writable: FUSE_SETUPMAPPING again,
 * with WRITE. -EAGAIN if the range went away meanwhile. */
static int upgrade(struct dax_conn *c, struct dax_inode *ino, uint64_t fh,
		   uint64_t pos, struct dax_range **out)
{
	struct dax_range *r;
	int ret = 0;

	pthread_rwlock_wrlock(&ino->dax_lock);
	r = lookup(ino, pos);
	if (!r || atomic_load(&r->state) != RANGE_READY) {
		ret = -EAGAIN;
	} else if (!r->writable) {
		/*
		 * Readers may be copying from it: the daemon's map replaces
		 * the mapping atomically, with the same file pages.
		 */
		ret = send_setup(c, ino, fh, r, true);
		if (!ret) {
			readvise_range(c, r);
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

/*
 * A range set up for a sequential stream, or for a call of 256 KiB or
 * more, will be read whole (ADV_HUGE): let the kernel bring its pages in
 * as 2 MiB folios where they are not cached yet (with MADV_HUGEPAGE, mmap
 * read-ahead allocates PMD-sized folios, and the file's read-ahead state
 * carries that order on to the next ranges), so that a reader's first
 * touch maps the whole range with one page-table entry and the next
 * re-map zaps one, not 512. Where the host's page cache already holds the
 * file in 2 MiB folios the kernel maps them so anyway; where it holds
 * small ones this changes nothing.
 *
 * A range set up for a small read or write that is no stream (ADV_RANDOM,
 * 16 KiB or less) gets MADV_RANDOM: a fault on an uncached page then reads
 * that page, not the kernel's mmap read-around, which is the device's
 * whole read-ahead size (read_ahead_kb: 8 MiB on this machine kind's
 * disk), so a 4 KiB read of a cold file pulled 4 to 6 MiB off the disk
 * (tests/daxe2e). Pages already cached are still mapped around the fault
 * (fault-around ignores the hint). A stream that later reads such a range
 * takes the hint back (dax_io()). Program mmap faults keep the default.
 * Done before the range is published, so before any touch. Measured in
 * docs/dax.md.
 */
static void advise_range(struct dax_conn *c, struct dax_range *r, int advice)
{
	int how = advice == ADV_HUGE ? MADV_HUGEPAGE : MADV_RANDOM;

	atomic_store(&r->rand, false);
	r->huge = false;
	if (advice == ADV_DEFAULT)
		return;
	if (madvise(c->base + r->wofs, DAX_RANGE_SIZE, how) && errno != EINVAL)
		VLOG_DEBUG("dax: madvise(%d): %s", how, strerror(errno));
	else if (advice == ADV_RANDOM)
		atomic_store(&r->rand, true);
	else
		r->huge = true;
}

/*
 * The daemon's map for an upgrade is a new mapping (dax_window_map()
 * moves it over the old one), which has forgotten the old one's advice:
 * give it again. A stream that takes the random hint back at the same
 * moment may leave the range random: the advice is a hint, the data the
 * same either way.
 */
static void readvise_range(struct dax_conn *c, struct dax_range *r)
{
	if (atomic_load(&r->rand))
		advise_range(c, r, ADV_RANDOM);
	else if (r->huge)
		advise_range(c, r, ADV_HUGE);
}

/*
 * Map @fresh at file offset @pos for @ino. -EAGAIN (and @fresh freed) if
 * another thread mapped @pos first. The range goes into the tree first, in
 * RANGE_SETUP, and FUSE_SETUPMAPPING is sent with no inode lock held, so
 * that other threads' hits and misses on @ino are not held up by this
 * round trip; a thread that wants this very range waits for it.
 */
static int install(struct dax_conn *c, struct dax_inode *ino, uint64_t fh,
		   struct dax_range *fresh, uint64_t pos, bool writable,
		   bool stream, int advice, struct dax_range **out)
{
	int ret;

	pthread_rwlock_wrlock(&ino->dax_lock);
	if (lookup(ino, pos)) {
		pthread_rwlock_unlock(&ino->dax_lock);
		free_range(c, fresh);
		return -EAGAIN;
	}
	hints_alloc(c, ino);
	fresh->node.start = pos;
	fresh->node.last = pos + DAX_RANGE_MASK;
	fresh->writable = writable;
	fresh->stream = stream;
	atomic_store(&fresh->state, RANGE_SETUP);
	atomic_store(&fresh->accessed, false);
	atomic_store(&fresh->hits, 0);
	fresh->born = touch_clock(c);
	atomic_store(&fresh->refcount, 2);	   /* the tree's and ours */
	dax_tree_insert(&ino->tree, &fresh->node); /* @pos is free: checked */
	pthread_mutex_lock(&c->lock);
	fresh->inode = ino;
	list_add_tail(&c->busy_list, &fresh->link);
	c->nr_busy++;
	pthread_mutex_unlock(&c->lock);
	pthread_rwlock_unlock(&ino->dax_lock);

	ret = send_setup(c, ino, fh, fresh, writable);
	if (!ret) {
		advise_range(c, fresh, advice);
		publish(c, fresh, RANGE_READY);
		fast_publish(ino, fresh);
		count(&c->st.misses, 1);
		*out = fresh;
		return 0;
	}
	pthread_rwlock_wrlock(&ino->dax_lock);
	dax_tree_remove(&ino->tree, &fresh->node);
	pthread_mutex_lock(&c->lock);
	unbusy_locked(c, fresh);
	pthread_mutex_unlock(&c->lock);
	atomic_fetch_sub(&fresh->refcount, 1); /* the tree's */
	pthread_rwlock_unlock(&ino->dax_lock);
	publish(c, fresh, RANGE_DEAD);
	/* Waiters drop their references on seeing DEAD; then it is ours. */
	wait_idle(c, fresh);
	free_range(c, fresh);
	return ret;
}

/*
 * The range mapping file offset @pos (range aligned) of @ino, referenced,
 * writable if @writable. Caller holds @ino's mapping lock shared. With
 * @ask, a miss asks admit() first and may return -ENOTBLK (nothing done).
 */
static int get_range(struct dax_conn *c, struct dax_inode *ino, uint64_t fh,
		     uint64_t pos, bool writable, bool ask, bool stream,
		     int advice, bool *missed, struct dax_range **out)
{
	struct dax_range *r;
	int ret;

	for (;;) {
		int state = RANGE_DEAD;

		pthread_rwlock_rdlock(&ino->dax_lock);
		r = lookup(ino, pos);
		/*
		 * One load of the state for both tests: a setup in flight
		 * (a worker's read-ahead) publishes READY without dax_lock,
		 * and a read that saw SETUP first and READY second took the
		 * upgrade path below: a writable FUSE_SETUPMAPPING through a
		 * read-only handle, which vdaxd refuses (EPERM).
		 */
		if (r)
			state = atomic_load(&r->state);
		if (r && state == RANGE_READY && (r->writable || !writable)) {
			range_get(r);
			pthread_rwlock_unlock(&ino->dax_lock);
			count(&c->st.hits, 1);
			*out = r;
			return 0;
		}
		if (r && state != RANGE_READY) {
			/* Being set up by another thread: wait, look again. */
			range_get(r);
			pthread_rwlock_unlock(&ino->dax_lock);
			wait_ready(c, r);
			range_put(c, r);
			continue;
		}
		pthread_rwlock_unlock(&ino->dax_lock);

		*missed = true;
		if (r) {
			/* READY, read-only, and we write. */
			ret = upgrade(c, ino, fh, pos, out);
		} else {
			if (ask && !admit(c, ino, pos)) {
				count(&c->st.bypasses, 1);
				return -ENOTBLK;
			}
			if (ask)
				count(&c->st.admissions, 1);
			if (ask || stream)
				atomic_store_explicit(&c->policy_took, ask,
						      memory_order_relaxed);
			ret = alloc_range(c, ino, &r);
			if (!ret)
				ret = install(c, ino, fh, r, pos, writable,
					      stream, advice, out);
		}
		if (ret != -EAGAIN)
			return ret;
	}
}

/* ---- I/O ------------------------------------------------------------- */

/*
 * Where dax_io() puts each piece: copied to or from @buf, or (@iov set,
 * dax_pin_read()) left pinned for the caller, @iov[i] its window bytes and
 * @pins[i] its reference, all or nothing (the caller sized the arrays).
 */
struct dax_dest {
	char *buf;
	struct iovec *iov;
	struct dax_range **pins;
	unsigned cnt;
};

static ssize_t dax_io(struct dax_conn *c, struct dax_inode *ino, uint64_t fh,
		      struct dax_dest *d, size_t len, uint64_t off, bool write,
		      uint64_t file_size)
{
	struct dax_stream *s = NULL;
	struct dax_range *r;
	size_t done = 0, n;
	uint64_t pos, start, next;
	bool seq, missed = false;
	char *p;
	int ret = 0;

	if (c->admit)
		s = stream_find(ino, off);
	seq = s != NULL;
	pthread_rwlock_rdlock(&ino->mapping_lock);
	while (done < len) {
		pos = off + done;
		start = pos & ~DAX_RANGE_MASK;
		n = len - done;
		if (n > start + DAX_RANGE_SIZE - pos)
			n = start + DAX_RANGE_SIZE - pos;
		/* A stream counts once per range: it is read once. */
		if (c->admit && (!seq || pos == start || !done))
			freq_touch(c, ino->nodeid, start);
		/* Only the first range of a call may go around the window:
		 * a short transfer would surprise the caller. */
		ret = get_range(c, ino, fh, start, write,
				c->admit && !seq && !done, seq,
				seq || len >= DAX_BULK_READ ? ADV_HUGE
				: len <= DAX_SMALL_IO	  ? ADV_RANDOM
							  : ADV_DEFAULT,
				&missed, &r);
		if (ret)
			break;
		/* A stream through a range set up for random I/O: its faults
		 * may read ahead again. */
		if (seq && atomic_load_explicit(&r->rand, memory_order_relaxed) &&
		    atomic_exchange(&r->rand, false))
			madvise(c->base + r->wofs, DAX_RANGE_SIZE, MADV_NORMAL);
		p = c->base + r->wofs + (pos - start);
		if (d->iov) {
			d->iov[d->cnt].iov_base = p;
			d->iov[d->cnt].iov_len = n;
			d->pins[d->cnt++] = r;
			done += n;
			continue;
		}
		/* Only our reference holds the range: no lock while copying,
		 * since @buf may itself be a vdax mapping that faults. */
		if (write)
			vdx_copy(p, d->buf + done, n);
		else
			vdx_copy(d->buf + done, p, n);
		range_put(c, r);
		done += n;
	}
	pthread_rwlock_unlock(&ino->mapping_lock);
	if (d->iov && ret) {
		/* All or nothing: a window reader wants the whole span. */
		while (d->cnt)
			range_put(c, d->pins[--d->cnt]);
		done = 0;
	}
	/* Bypassed or not, the caller moves the stream on. */
	if (c->admit && !s && missed)
		stream_start(ino, off + len);
	if (s) {
		atomic_store_explicit(&s->next, off + len,
				      memory_order_relaxed);
		next = ((off + len - 1) & ~DAX_RANGE_MASK) + DAX_RANGE_SIZE;
		if (seq &&
		    atomic_exchange_explicit(&s->ra_at, next + 1,
					     memory_order_relaxed) != next + 1) {
			unsigned depth = ra_depth_now(c, s);

			for (unsigned k = 0; k < depth; k++) {
				uint64_t at = next + k * DAX_RANGE_SIZE;

				if (at >= file_size)
					break;
				readahead_post(c, ino, fh, at, write,
					       file_size);
			}
			if (next >= 2 * DAX_RANGE_SIZE)
				stream_done(c, ino, next - 2 * DAX_RANGE_SIZE);
		}
	}
	return done ? (ssize_t)done : ret;
}

/* A read's length clamped at @file_size (and SSIZE_MAX); 0 at EOF. */
static size_t read_len(size_t len, uint64_t off, uint64_t file_size)
{
	if (off >= file_size)
		return 0;
	if (len > file_size - off)
		len = file_size - off;
	return len > SSIZE_MAX ? SSIZE_MAX : len;
}

ssize_t dax_read(struct dax_conn *c, struct dax_inode *ino, uint64_t fh,
		 void *buf, size_t len, uint64_t off, uint64_t file_size)
{
	len = read_len(len, off, file_size);
	if (!len)
		return 0;
	return dax_io(c, ino, fh, &(struct dax_dest){ .buf = buf }, len, off,
		      false, file_size);
}

ssize_t dax_read_hit(struct dax_conn *c, struct dax_inode *ino, void *buf,
		     size_t len, uint64_t off,
		     bool (*size_of)(void *arg, uint64_t *size), void *arg)
{
	uint64_t start = off & ~DAX_RANGE_MASK, size;
	_Atomic(struct dax_range *) *hints;
	atomic_uint_fast64_t *shard;
	struct dax_hazard *h;
	struct dax_range *r;
	ssize_t ret = -EAGAIN;

	if (!len || len > DAX_RANGE_SIZE - (off - start))
		return -EAGAIN;
	hints = atomic_load_explicit(&ino->hints, memory_order_acquire);
	if (!hints || atomic_load_explicit(&c->closing, memory_order_relaxed))
		return -EAGAIN;
	/* A stream's reads move its read-ahead on: the locked path. */
	if (c->admit && stream_find(ino, off))
		return -EAGAIN;
	h = dax_hazard_mine();
	if (!h)
		return -EAGAIN;
	/* Each store before the load that checks the other side's. */
	atomic_store(&h->owner, ino);
	if (atomic_load(&ino->gate))
		goto out;
	r = atomic_load_explicit(&hints[hint_slot(ino, start)],
				 memory_order_acquire);
	if (!r)
		goto out;
	atomic_store(&h->obj, r);
	if (!atomic_load(&r->fast) ||
	    atomic_load_explicit(&r->fast_ino, memory_order_relaxed) != ino ||
	    atomic_load_explicit(&r->fast_pos, memory_order_relaxed) != start)
		goto out;
	/* After the gate: a size change closes it before it happens. */
	if (!size_of(arg, &size) || off >= size)
		goto out;
	if (len > size - off)
		len = (size_t)(size - off);
	if (c->admit)
		freq_touch_range(c, r, ino->nodeid, start);
	vdx_copy(buf, c->base + r->wofs + (off - start), len);
	range_touch(r);
	shard = &c->st.fast_hits[dax_hazard_index(h)].n;
	atomic_store_explicit(
		shard, atomic_load_explicit(shard, memory_order_relaxed) + 1,
		memory_order_relaxed);
	ret = (ssize_t)len;
out:
	atomic_store_explicit(&h->obj, NULL, memory_order_release);
	atomic_store_explicit(&h->owner, NULL, memory_order_release);
	return ret;
}

void dax_inode_quiesce(struct dax_inode *ino)
{
	atomic_fetch_add(&ino->gate, 1);
	dax_hazard_wait(ino, NULL);
}

void dax_inode_resume(struct dax_inode *ino)
{
	atomic_fetch_sub_explicit(&ino->gate, 1, memory_order_release);
}

int dax_pin_read(struct dax_conn *c, struct dax_inode *ino, uint64_t fh,
		 uint64_t off, size_t len, uint64_t file_size,
		 struct iovec *iov, struct dax_range **pins, unsigned max)
{
	struct dax_dest d = { .iov = iov, .pins = pins };
	ssize_t ret;

	len = read_len(len, off, file_size);
	if (!len)
		return 0;
	if (((off + len - 1) >> DAX_RANGE_SHIFT) - (off >> DAX_RANGE_SHIFT) >=
	    max)
		return -E2BIG;
	ret = dax_io(c, ino, fh, &d, len, off, false, file_size);
	return ret < 0 ? (int)ret : (int)d.cnt;
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
	return dax_io(c, ino, fh, &(struct dax_dest){ .buf = (char *)buf }, len,
		      off, true, file_size);
}

int dax_fault(struct dax_conn *c, struct dax_inode *ino, uint64_t fh,
	      uint64_t off, bool writable, void **addr, struct dax_range **pin)
{
	uint64_t start = off & ~DAX_RANGE_MASK;
	struct dax_range *r;
	int ret;

	pthread_rwlock_rdlock(&ino->mapping_lock);
	bool missed;

	ret = get_range(c, ino, fh, start, writable, false, false,
			ADV_DEFAULT, &missed, &r);
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

bool dax_inode_mapped(struct dax_inode *ino, uint64_t off)
{
	return mapped(ino, off & ~DAX_RANGE_MASK);
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
			tree_take(ino, batch[k]);
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

/* A worker is reading @ino ahead (through @fh, unless @any_fh). Conn lock
 * held. */
static bool readahead_busy_locked(const struct dax_conn *c,
				  const struct dax_inode *ino, bool any_fh,
				  uint64_t fh)
{
	for (unsigned i = 0; i < c->nr_workers; i++)
		if (c->workers[i].ra_busy == ino &&
		    (any_fh || c->workers[i].ra_fh == fh))
			return true;
	return false;
}

/* Drop @ino's queued read-aheads (those through @fh, unless @any_fh) and
 * wait out those in progress. */
static void readahead_cancel(struct dax_conn *c, struct dax_inode *ino,
			     bool any_fh, uint64_t fh)
{
	unsigned i, k = 0;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->nr_ra; i++)
		if (c->ra[i].ino != ino || (!any_fh && c->ra[i].fh != fh))
			c->ra[k++] = c->ra[i];
	c->nr_ra = k;
	while (readahead_busy_locked(c, ino, any_fh, fh))
		pthread_cond_wait(&c->wait_cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
}

void dax_inode_release_fh(struct dax_conn *c, struct dax_inode *ino,
			  uint64_t fh)
{
	if (c && ino)
		readahead_cancel(c, ino, false, fh);
}

int dax_inode_free(struct dax_conn *c, struct dax_inode *ino)
{
	int ret;

	if (!ino)
		return 0;
	readahead_cancel(c, ino, true, 0);
	pthread_rwlock_wrlock(&ino->mapping_lock);
	ret = dax_inode_break_range(c, ino, 0, UINT64_MAX);
	pthread_rwlock_unlock(&ino->mapping_lock);
	pthread_rwlock_destroy(&ino->dax_lock);
	pthread_rwlock_destroy(&ino->mapping_lock);
	free((void *)atomic_load(&ino->hints));
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

/*
 * The sketch has 16 slots per range of the window (at least 1024), so that
 * a working set many times the window still has few collisions, and is
 * halved every 10 touches per range, as TinyLFU's sample. The ghost list
 * remembers as many evicted ranges as the window holds.
 */
static int admit_init(struct dax_conn *c, unsigned nr, unsigned flags)
{
	unsigned slots = 1024;

	c->reserve = (nr * DAX_RECLAIM_PCT + 99) / 100;
	/*
	 * Ranges mapped ahead of a stream: enough that the worker's round
	 * trips overlap the reader's copying, few enough that a handful of
	 * streams do not fill a small window with data not yet read. One
	 * range ahead leaves a setup the time of one range's copy (300 us at
	 * 7 GB/s), which it often misses: a 1 MiB stream through a 16-range
	 * window went from 0.73x to 0.83x of local read() with two (bench,
	 * 4 interleaved pairs). Four streams two deep hold 12 of 16 ranges.
	 * This is the least; fewer streams go deeper (ra_depth_now()).
	 */
	c->ra_depth = nr >= 16 ? 2 : 1;
	if (!(flags & DAX_CONN_ADMIT))
		return 0;
	c->reserve = nr / DAX_ADMIT_RESERVE_DIV;
	if (c->reserve < DAX_ADMIT_RESERVE_MIN)
		c->reserve = DAX_ADMIT_RESERVE_MIN;
	if (c->reserve > nr)
		c->reserve = nr;
	while (slots < 16 * nr && slots < (1u << 24))
		slots <<= 1;
	c->freq = calloc(slots, sizeof(*c->freq));
	if (!c->freq || dax_ghosts_init(&c->ghosts, nr))
		return -ENOMEM;
	c->freq_mask = slots - 1;
	c->freq_period = 10 * nr < 160 ? 160 : 10 * nr;
	/*
	 * A range sets at most two slots: n ranges in use leave about
	 * slots * (1 - e^(-2n/slots)) of them non-zero (linear counting).
	 * Over the window's ranges and a quarter more, the working set
	 * cannot all be mapped (2x, 4x, 8x the window: 32, 64, 128 ranges
	 * against 20 for 16).
	 */
	c->spread_slots = (unsigned)(slots *
		one_minus_exp_neg(2.0 * (nr + nr / 4) / slots));
	atomic_store(&c->margin, DAX_MARGIN_INIT);
	pthread_mutex_init(&c->adm_lock, NULL);
	c->admit = true;
	return 0;
}

static void admit_fini(struct dax_conn *c)
{
	if (c->admit)
		pthread_mutex_destroy(&c->adm_lock);
	free(c->freq);
	dax_ghosts_fini(&c->ghosts);
}

int dax_conn_create(struct dax_window *w, const struct dax_backend_ops *ops,
		    void *ctx, unsigned flags, struct dax_conn **out)
{
	struct dax_conn *c;
	uint64_t nr;
	unsigned i, want;
	long ncpu;
	int ret;

	if (!w || !ops || !ops->setup || !ops->remove ||
	    (flags & ~(DAX_CONN_NO_WORKER | DAX_CONN_ADMIT)))
		return -EINVAL;
	nr = dax_window_size(w) >> DAX_RANGE_SHIFT;
	if (!nr || nr > UINT32_MAX / 2)
		return -EINVAL;
	/* Aligned: the hit shards are a cache line each. */
	c = aligned_alloc(_Alignof(struct dax_conn),
			  (sizeof(*c) + _Alignof(struct dax_conn) - 1) &
				  ~(_Alignof(struct dax_conn) - 1));
	if (!c)
		return -ENOMEM;
	memset(c, 0, sizeof(*c));
	c->ranges = calloc(nr, sizeof(*c->ranges));
	if (!c->ranges || admit_init(c, (unsigned)nr, flags)) {
		admit_fini(c);
		free(c->ranges);
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
	c->have_worker = !(flags & DAX_CONN_NO_WORKER);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	want = ncpu < DAX_WORKERS_MIN ? DAX_WORKERS_MIN :
	       ncpu > DAX_WORKERS     ? DAX_WORKERS :
					(unsigned)ncpu;
	for (i = 0; c->have_worker && i < want; i++) {
		c->workers[i].c = c;
		ret = pthread_create(&c->workers[i].thread, NULL, worker_main,
				     &c->workers[i]);
		if (ret) {
			if (!i) {
				c->have_worker = false;
				dax_conn_destroy(c);
				return -ret;
			}
			break; /* fewer workers: slower, still correct */
		}
		c->nr_workers = i + 1;
	}
	*out = c;
	return 0;
}

void dax_conn_closing(struct dax_conn *c)
{
	if (c)
		atomic_store(&c->closing, true);
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
	for (unsigned i = 0; i < c->nr_workers; i++)
		pthread_join(c->workers[i].thread, NULL);
	pthread_cond_destroy(&c->worker_cond);
	pthread_cond_destroy(&c->wait_cond);
	pthread_mutex_destroy(&c->lock);
	admit_fini(c);
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
	for (unsigned i = 0; i < DAX_HAZARD_SLOTS; i++)
		st->hits += atomic_load_explicit(&c->st.fast_hits[i].n,
						 memory_order_relaxed);
	st->misses = atomic_load(&c->st.misses);
	st->admissions = atomic_load(&c->st.admissions);
	st->bypasses = atomic_load(&c->st.bypasses);
	st->ghost_hits = atomic_load(&c->st.ghost_hits);
	st->readaheads = atomic_load(&c->st.readaheads);
	st->admit_margin = c->admit ? atomic_load(&c->margin) : 0;
}
