/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fake daemon for the DAX tests: FUSE_SETUPMAPPING / FUSE_REMOVEMAPPING
 * become dax_window_map() / dax_window_unmap() of a memfd per node, exactly
 * what the real backend channel does with the daemon's SHMEM_MAP requests.
 * Every call is recorded.
 */
#ifndef VDAX_TESTS_DAX_FAKE_BACKEND_H
#define VDAX_TESTS_DAX_FAKE_BACKEND_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "dax/dax.h"

#define FAKE_MAX_NODES 16
#define FAKE_LOG       4096

struct fake_setup_call {
	uint64_t nodeid, fh, foffset, len, moffset;
	bool writable;
};

struct fake_remove_call {
	uint64_t nodeid, moffset, len;
};

struct fake {
	struct dax_window *w;
	pthread_mutex_t lock;
	int fd[FAKE_MAX_NODES]; /* by nodeid; -1 none */
	int fail_setup;		/* -errno to return from setup, 0 none */
	unsigned nsetup, nremove, nremove_req, max_batch, bad_batches;
	struct fake_setup_call setups[FAKE_LOG];
	struct fake_remove_call removes[FAKE_LOG];
	int map_errors; /* dax_window_map/unmap failures seen */
	unsigned delay_us;		  /* each setup takes this long */
	unsigned inflight, max_inflight;  /* setups at once, and the most */
	/*
	 * With @gather set, a setup also waits (2 s at most) until that many
	 * are in flight: whether setups can overlap is then told apart from
	 * whether the scheduler let a second thread run within @delay_us.
	 */
	unsigned gather;
	pthread_cond_t gather_cond;
	unsigned nsetup_writable;	  /* setups that asked for write */
	uint64_t watch_fh;		  /* setups through it (0: none): */
	unsigned watch_started, watch_inflight; /* begun, and in progress */
};

static int fake_setup(void *ctx, uint64_t nodeid, uint64_t fh, uint64_t foffset,
		      uint64_t len, uint64_t moffset, bool writable)
{
	struct fake *f = ctx;
	int ret, fd;

	pthread_mutex_lock(&f->lock);
	if (f->fail_setup) {
		ret = f->fail_setup;
		pthread_mutex_unlock(&f->lock);
		return ret;
	}
	fd = nodeid < FAKE_MAX_NODES ? f->fd[nodeid] : -1;
	if (f->nsetup < FAKE_LOG)
		f->setups[f->nsetup] = (struct fake_setup_call){
			nodeid, fh, foffset, len, moffset, writable};
	f->nsetup++;
	f->nsetup_writable += writable;
	if (++f->inflight > f->max_inflight)
		f->max_inflight = f->inflight;
	if (f->watch_fh && fh == f->watch_fh) {
		f->watch_started++;
		f->watch_inflight++;
	}
	if (f->gather) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 2;
		pthread_cond_broadcast(&f->gather_cond);
		while (f->inflight < f->gather &&
		       pthread_cond_timedwait(&f->gather_cond, &f->lock,
					      &ts) == 0)
			;
	}
	pthread_mutex_unlock(&f->lock);
	if (f->delay_us)
		usleep(f->delay_us); /* the round trip to a slow daemon */
	pthread_mutex_lock(&f->lock);
	f->inflight--;
	if (f->watch_fh && fh == f->watch_fh)
		f->watch_inflight--;
	pthread_mutex_unlock(&f->lock);
	if (fd < 0)
		return -ENOENT;
	ret = dax_window_map(f->w, fd, foffset, moffset, len,
			     writable ? DAX_MAP_WRITABLE : 0);
	if (ret) {
		pthread_mutex_lock(&f->lock);
		f->map_errors++;
		pthread_mutex_unlock(&f->lock);
	}
	return ret;
}

static int fake_remove(void *ctx, uint64_t nodeid,
		       const struct fuse_removemapping_one *v, unsigned n)
{
	struct fake *f = ctx;
	unsigned i;
	int ret = 0, r;

	pthread_mutex_lock(&f->lock);
	f->nremove_req++;
	if (n > f->max_batch)
		f->max_batch = n;
	if (!n || n > DAX_REMOVEMAPPING_MAX)
		f->bad_batches++;
	for (i = 0; i < n; i++) {
		if (f->nremove < FAKE_LOG)
			f->removes[f->nremove] = (struct fake_remove_call){
				nodeid, v[i].moffset, v[i].len};
		f->nremove++;
	}
	pthread_mutex_unlock(&f->lock);
	for (i = 0; i < n; i++) {
		r = dax_window_unmap(f->w, v[i].moffset, v[i].len);
		if (r && !ret)
			ret = r;
	}
	if (ret) {
		pthread_mutex_lock(&f->lock);
		f->map_errors++;
		pthread_mutex_unlock(&f->lock);
	}
	return ret;
}

static const struct dax_backend_ops fake_ops = {
	.setup = fake_setup,
	.remove = fake_remove,
};

static inline void fake_init(struct fake *f, struct dax_window *w)
{
	memset(f, 0, sizeof(*f));
	f->w = w;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->gather_cond, NULL);
	for (int i = 0; i < FAKE_MAX_NODES; i++)
		f->fd[i] = -1;
}

static inline void fake_set_gather(struct fake *f, unsigned n)
{
	pthread_mutex_lock(&f->lock);
	f->gather = n;
	pthread_cond_broadcast(&f->gather_cond);
	pthread_mutex_unlock(&f->lock);
}

/* A memfd of @size bytes as node @nodeid. Returns the fd. */
static inline int fake_add_file(struct fake *f, uint64_t nodeid, off_t size)
{
	int fd = memfd_create("vdax-dax-test", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, size) < 0) {
		perror("memfd");
		exit(1);
	}
	f->fd[nodeid] = fd;
	return fd;
}

static inline void fake_destroy(struct fake *f)
{
	for (int i = 0; i < FAKE_MAX_NODES; i++)
		if (f->fd[i] >= 0)
			close(f->fd[i]);
	pthread_cond_destroy(&f->gather_cond);
	pthread_mutex_destroy(&f->lock);
}

/*
 * Wait up to 2 s for every range of @c to be free or busy again, and
 * return how long it took in ms (2000: it never did). A background worker
 * may still hold a victim it took off the busy list, its
 * FUSE_REMOVEMAPPING in flight, when the test's own threads are done; a
 * range lost for good never comes back, and the caller's count of
 * free + busy then fails.
 */
static inline unsigned dax_settle(struct dax_conn *c, struct dax_stats *st)
{
	unsigned ms;

	for (ms = 0; ms < 2000; ms++) {
		dax_get_stats(c, st);
		if (st->ranges_free + st->ranges_busy == st->ranges_total)
			break;
		usleep(1000);
	}
	return ms;
}

#endif
