// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The device side of the DAX window: FUSE_SETUPMAPPING and
 * FUSE_REMOVEMAPPING, checked against the window and against the table of
 * live mappings, then carried out by the map/unmap hooks (the vhost-user
 * backend channel: SHMEM_MAP / SHMEM_UNMAP).
 *
 * Requests run in parallel: the table lock is held to check a request
 * and to record its outcome, never across a hook (a round trip to the
 * frontend), so two vCPUs faulting in two ranges are two requests in
 * flight on the backend channel at once. A request waits only for one
 * that is changing the same span (see struct fuse_dax_table).
 *
 * Lock order: fuse_srv.init_lock -> fuse_dax_table.lock. The hooks run
 * with no table lock held, except the one whole-window unmap of
 * fuse_dax_unmap_all(), which runs with none in flight. pt_fs locks are
 * never held with the table lock: the handle is looked up first.
 *
 * Errors, so the guest can tell them apart:
 *   EINVAL  the request itself: unknown flags, a span that is misaligned,
 *           empty, overflowing or outside the window, a file offset past
 *           INT64_MAX, a partial overlap with a live mapping, a
 *           REMOVEMAPPING whose entries do not match live mappings or
 *           whose body does not hold exactly @count entries;
 *   EBADF   the file handle: stale, of another inode than the header's
 *           nodeid, a directory handle, or not a regular file; with
 *           fh = -1 (FUSE_DAX_FH_INODE), an inode that is not a regular
 *           file;
 *   EPERM   the handle's access mode cannot back the mapping: a writable
 *           mapping needs O_RDWR (MAP_SHARED + PROT_WRITE also reads), a
 *           read-only one O_RDONLY or O_RDWR;
 *   ENOENT/ESTALE  with fh = -1, a nodeid the guest does not hold;
 *   ENOSPC  the table is full (a bound on daemon memory);
 *   (a span that partly overlaps one whose setup is still in flight is
 *   EINVAL too, as it would be once that setup is done);
 *   ENOSYS  no window;
 *   anything else comes from the hooks (the frontend's answer), except
 *   EAGAIN and EINTR, which become EIO: Linux's fault path retries
 *   SETUPMAPPING for as long as it gets EAGAIN.
 *
 * Two kinds of client: libvdax sends the fh of an open file; Linux
 * (fs/fuse/dax.c, fuse_setup_one_mapping()) always sends fh = -1, as its
 * mappings belong to the inode and outlive every RELEASE, so the daemon
 * opens the inode's file itself for each mapping (the frontend's mmap
 * keeps its own reference, the fd is closed at once).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "fuse/internal.h"

/* Upper bound on live mappings whatever the window size (32 MiB of table). */
#define DAX_TABLE_MAX (1u << 20)

bool fuse_dax_on(const struct fuse_srv *srv)
{
	return srv->opts.dax.map && srv->opts.dax.unmap &&
	       srv->opts.dax.window_size;
}

int fuse_dax_init(struct fuse_srv *srv)
{
	struct fuse_dax_table *t = &srv->dax;
	uint64_t pages = srv->opts.dax.window_size / srv->page_size;
	int ret;

	t->max = pages < DAX_TABLE_MAX ? (size_t)pages : DAX_TABLE_MAX;
	ret = pthread_mutex_init(&t->lock, NULL);
	if (ret)
		return -ret;
	ret = pthread_cond_init(&t->cond, NULL);
	if (ret) {
		pthread_mutex_destroy(&t->lock);
		return -ret;
	}
	return 0;
}

void fuse_dax_fini(struct fuse_srv *srv)
{
	free(srv->dax.v);
	srv->dax.v = NULL;
	pthread_cond_destroy(&srv->dax.cond);
	pthread_mutex_destroy(&srv->dax.lock);
}

/* Wait until no hook is in flight (the lock is dropped while waiting). */
static void wait_idle_locked(struct fuse_dax_table *t)
{
	while (t->inflight)
		pthread_cond_wait(&t->cond, &t->lock);
}

/*
 * Forget every record. Requests in flight own their records until they
 * finish, so this waits for them: on a session reset the queues are
 * stopped first, and a hook in flight ends when the channel closes or
 * its timeout expires.
 */
static void forget_locked(struct fuse_dax_table *t)
{
	wait_idle_locked(t);
	t->n = 0;
	t->fresh = 0;
}

void fuse_dax_forget_all(struct fuse_srv *srv)
{
	pthread_mutex_lock(&srv->dax.lock);
	forget_locked(&srv->dax);
	pthread_mutex_unlock(&srv->dax.lock);
}

/*
 * The guest unmounted: mappings it never removed would keep host files
 * mapped in the frontend's window for as long as the frontend lives. The
 * window is emptied in one request; the frontend's answer does not matter
 * to the guest, which is going away.
 */
void fuse_dax_unmap_all(struct fuse_srv *srv)
{
	const struct fuse_srv_dax_ops *dax = &srv->opts.dax;
	struct fuse_dax_table *t = &srv->dax;
	int ret;

	if (!fuse_dax_on(srv))
		return;
	pthread_mutex_lock(&t->lock);
	wait_idle_locked(t);
	if (t->n) {
		ret = dax->unmap(dax->ctx, 0, dax->window_size);
		if (ret < 0)
			VLOG_WARN("dax: emptying the window at DESTROY: %s",
				  strerror(-ret));
	}
	forget_locked(t);
	pthread_mutex_unlock(&t->lock);
}

size_t fuse_srv_dax_mappings(struct fuse_srv *srv)
{
	size_t n;

	pthread_mutex_lock(&srv->dax.lock);
	n = srv->dax.n - srv->dax.fresh;
	pthread_mutex_unlock(&srv->dax.lock);
	return n;
}

void fuse_srv_dax_stats(struct fuse_srv *srv, struct fuse_srv_dax_stats *st)
{
	pthread_mutex_lock(&srv->dax.lock);
	st->live = srv->dax.n - srv->dax.fresh;
	st->setups = srv->dax.setups;
	st->removes = srv->dax.removes;
	st->most_inflight = srv->dax.most_inflight;
	pthread_mutex_unlock(&srv->dax.lock);
}

void fuse_srv_dax_log(struct fuse_srv *srv, const char *why)
{
	struct fuse_srv_dax_stats st;

	if (!fuse_dax_on(srv))
		return;
	fuse_srv_dax_stats(srv, &st);
	VLOG_INFO("dax: %s: %llu mappings set up, %llu removed, %llu live, "
		  "at most %llu in flight at once",
		  why, (unsigned long long)st.setups,
		  (unsigned long long)st.removes, (unsigned long long)st.live,
		  (unsigned long long)st.most_inflight);
}

/* Index of the first mapping that ends after @off (t->n if none). */
static size_t first_ending_after(const struct fuse_dax_table *t, uint64_t off)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		/* moffset + len cannot overflow: checked on insertion. */
		if (t->v[mid].moffset + t->v[mid].len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* One more hook call in flight. */
static void inflight_inc(struct fuse_dax_table *t)
{
	if (++t->inflight > t->most_inflight)
		t->most_inflight = t->inflight;
}

/* A request's own mark for the records it changes (never 0). */
static uint64_t new_owner(struct fuse_dax_table *t)
{
	if (++t->tickets == 0)
		t->tickets = 1;
	return t->tickets;
}

/*
 * Index of @owner's record at @moffset. Only the owner removes or rewrites
 * a busy record, so it is there: anything else is a bug in this file.
 */
static size_t record_at(const struct fuse_dax_table *t, uint64_t moffset,
			uint64_t owner)
{
	size_t at = first_ending_after(t, moffset);

	if (at == t->n || t->v[at].moffset != moffset ||
	    t->v[at].owner != owner) {
		VLOG_ERR("dax: lost the record at %#llx",
			 (unsigned long long)moffset);
		abort();
	}
	return at;
}

static int insert_locked(struct fuse_dax_table *t, size_t at,
			 const struct fuse_dax_map *m)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct fuse_dax_map *v;

		if (cap > t->max)
			cap = t->max;
		if (cap <= t->n)
			return -ENOSPC;
		v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	memmove(&t->v[at + 1], &t->v[at], (t->n - at) * sizeof(*m));
	t->v[at] = *m;
	t->n++;
	return 0;
}

static void remove_locked(struct fuse_dax_table *t, size_t at, size_t cnt)
{
	memmove(&t->v[at], &t->v[at + cnt],
		(t->n - at - cnt) * sizeof(t->v[0]));
	t->n -= cnt;
}

/* [moffset, +len) must be non-empty, aligned and inside the window. */
static int check_span(const struct fuse_srv *srv, uint64_t moffset,
		      uint64_t len)
{
	uint64_t end, mask = srv->page_size - 1;

	if (!len || (moffset & mask) || (len & mask))
		return -EINVAL;
	if (__builtin_add_overflow(moffset, len, &end) ||
	    end > srv->opts.dax.window_size)
		return -EINVAL;
	return 0;
}

static int check_setup(const struct fuse_srv *srv,
		       const struct fuse_setupmapping_in *in)
{
	uint64_t fend;
	int ret;

	if (in->flags & ~(uint64_t)(FUSE_SETUPMAPPING_FLAG_WRITE |
				    FUSE_SETUPMAPPING_FLAG_READ))
		return -EINVAL;
	ret = check_span(srv, in->moffset, in->len);
	if (ret < 0)
		return ret;
	if ((in->foffset & (srv->page_size - 1)) ||
	    __builtin_add_overflow(in->foffset, in->len, &fend) ||
	    fend > INT64_MAX)
		return -EINVAL;
	return 0;
}

/* The fh Linux sends: the mapping belongs to the inode, not to a file. */
#define FUSE_DAX_FH_INODE UINT64_MAX

/* A handle on @nodeid's regular file opened for what the mapping needs. */
static int mapping_fd(struct fuse_req *req, uint64_t fh, bool writable)
{
	struct stat st;
	int accmode = -1, fd, ret = 0;

	if (fh == FUSE_DAX_FH_INODE) {
		fd = pt_inode_open_fd(req->srv->fs, req->ih.nodeid, writable);
		accmode = writable ? O_RDWR : O_RDONLY;
	} else {
		fd = pt_handle_dup_fd(req->srv->fs, req->ih.nodeid, fh,
				      &accmode);
	}
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		ret = -errno;
	else if (!S_ISREG(st.st_mode))
		ret = -EBADF;
	else if (writable ? accmode != O_RDWR : accmode == O_WRONLY)
		ret = -EPERM;
	if (ret < 0) {
		close(fd);
		return ret;
	}
	return fd;
}

/*
 * A span may only be taken again whole: the kernel re-sends SETUPMAPPING
 * for the same moffset/len to upgrade a read-only range to writable, and
 * (after a REMOVEMAPPING that failed on our side) may hand the range to
 * another file. Anything else that touches a mapping is refused. A new
 * span gets a placeholder record first, so that no other request can map
 * over it while the hook runs.
 */
static int setup_span(struct fuse_srv *srv, int fd,
		      const struct fuse_setupmapping_in *in,
		      const struct fuse_dax_map *m)
{
	const struct fuse_srv_dax_ops *dax = &srv->opts.dax;
	struct fuse_dax_table *t = &srv->dax;
	struct fuse_dax_map rec = *m;
	uint64_t owner;
	size_t at;
	int ret;

	pthread_mutex_lock(&t->lock);
	for (;;) {
		at = first_ending_after(t, m->moffset);
		if (at == t->n || t->v[at].moffset >= m->moffset + m->len)
			break;
		if (t->v[at].moffset != m->moffset || t->v[at].len != m->len) {
			ret = -EINVAL;
			goto out;
		}
		if (!t->v[at].owner)
			break;
		pthread_cond_wait(&t->cond, &t->lock);
	}
	owner = new_owner(t);
	if (at < t->n && t->v[at].moffset == m->moffset) {
		t->v[at].owner = owner; /* a replace */
	} else {
		if (t->n >= t->max) {
			ret = -ENOSPC;
			goto out;
		}
		rec.owner = owner;
		rec.fresh = true;
		ret = insert_locked(t, at, &rec);
		if (ret < 0)
			goto out;
		t->fresh++;
	}
	inflight_inc(t);
	pthread_mutex_unlock(&t->lock);

	ret = dax->map(dax->ctx, fd, in->foffset, m->moffset, m->len,
		       m->writable);

	pthread_mutex_lock(&t->lock);
	at = record_at(t, m->moffset, owner);
	if (ret == 0) {
		if (t->v[at].fresh)
			t->fresh--;
		t->v[at] = *m;
		t->v[at].fresh = false;
		t->v[at].owner = 0;
		t->setups++;
	} else if (t->v[at].fresh) {
		remove_locked(t, at, 1);
		t->fresh--;
	} else {
		/*
		 * On a failed replace the old record stays: the frontend
		 * keeps either the old mapping or an empty reservation, and
		 * either way the guest may still REMOVEMAPPING the span.
		 */
		t->v[at].owner = 0;
	}
	t->inflight--;
	pthread_cond_broadcast(&t->cond);
out:
	pthread_mutex_unlock(&t->lock);
	return ret;
}

int fuse_do_setupmapping(struct fuse_req *req)
{
	const struct fuse_setupmapping_in *in = (const void *)req->arg;
	struct fuse_srv *srv = req->srv;
	struct fuse_dax_map m = {
		.moffset = in->moffset,
		.len = in->len,
		.nodeid = req->ih.nodeid,
		.writable = in->flags & FUSE_SETUPMAPPING_FLAG_WRITE,
	};
	int fd, ret;

	if (!fuse_dax_on(srv))
		return -ENOSYS;
	ret = check_setup(srv, in);
	if (ret < 0)
		return ret;
	fd = mapping_fd(req, in->fh, m.writable);
	if (fd < 0)
		return fd;
	ret = setup_span(srv, fd, in, &m);
	close(fd);
	if (ret == -EAGAIN || ret == -EINTR)
		ret = -EIO;
	return ret;
}

/*
 * One entry: it must cover whole mappings, at least one, and cut none.
 * Gaps between them are fine. The mappings are marked and unmapped with
 * the lock dropped, one call per run of adjacent ones (one call in all for
 * the exact {moffset, len} of a range, as the kernel and libvdax send):
 * the gaps are not unmapped, as a setup may fill one meanwhile.
 */
static int remove_one(struct fuse_srv *srv, uint64_t moffset, uint64_t len)
{
	const struct fuse_srv_dax_ops *dax = &srv->opts.dax;
	struct fuse_dax_table *t = &srv->dax;
	uint64_t owner, pos, end = moffset + len; /* checked by check_span() */
	size_t at, last, i;
	bool busy;
	int ret, first = 0;

	ret = check_span(srv, moffset, len);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&t->lock);
	for (;;) {
		at = first_ending_after(t, moffset);
		if (at == t->n || t->v[at].moffset >= end ||
		    t->v[at].moffset < moffset) {
			ret = -EINVAL;
			goto out;
		}
		busy = false;
		for (last = at; last < t->n && t->v[last].moffset < end;
		     last++) {
			if (t->v[last].moffset + t->v[last].len > end) {
				ret = -EINVAL;
				goto out;
			}
			busy |= t->v[last].owner != 0;
		}
		if (!busy)
			break;
		pthread_cond_wait(&t->cond, &t->lock);
	}
	owner = new_owner(t);
	for (i = at; i < last; i++)
		t->v[i].owner = owner;
	inflight_inc(t);
	for (pos = moffset;;) {
		uint64_t run, run_end;

		at = first_ending_after(t, pos);
		while (at < t->n && t->v[at].moffset < end &&
		       t->v[at].owner != owner)
			at++;
		if (at == t->n || t->v[at].moffset >= end)
			break;
		run = run_end = t->v[at].moffset;
		for (last = at; last < t->n && t->v[last].owner == owner &&
				t->v[last].moffset == run_end;
		     last++)
			run_end += t->v[last].len;
		pthread_mutex_unlock(&t->lock);

		ret = dax->unmap(dax->ctx, run, run_end - run);

		pthread_mutex_lock(&t->lock);
		at = record_at(t, run, owner);
		for (last = at; last < t->n && t->v[last].moffset < run_end;
		     last++)
			t->v[last].owner = 0;
		if (ret == 0) {
			remove_locked(t, at, last - at);
			t->removes += last - at;
		} else if (!first) {
			/* The frontend still holds them: keep the records. */
			first = ret;
		}
		pos = run_end;
	}
	t->inflight--;
	pthread_cond_broadcast(&t->cond);
	ret = first;
out:
	pthread_mutex_unlock(&t->lock);
	return ret;
}

/*
 * Entries are handled in order and each one stands alone: a bad or failed
 * entry does not stop the others, and entries already removed stay removed
 * (as in virtiofsd and the kernel, which frees its ranges whatever the
 * answer). The reply carries the first error. The kernel only ever sends
 * exact {moffset, len} pairs of its ranges; there is no "whole window"
 * wildcard entry in the protocol (~0 lengths are simply invalid).
 */
int fuse_do_removemapping(struct fuse_req *req)
{
	const struct fuse_removemapping_in *in = (const void *)req->arg;
	const char *p = req->arg + sizeof(*in);
	struct fuse_srv *srv = req->srv;
	struct fuse_removemapping_one one;
	int ret, first = 0;

	if (!fuse_dax_on(srv))
		return -ENOSYS;
	if (in->count > FUSE_SRV_REMOVEMAPPING_MAX ||
	    req->arglen - sizeof(*in) != (size_t)in->count * sizeof(one))
		return -EINVAL;
	for (uint32_t i = 0; i < in->count; i++) {
		/* Entries follow a 4-byte header: copy, do not cast. */
		memcpy(&one, p + (size_t)i * sizeof(one), sizeof(one));
		ret = remove_one(srv, one.moffset, one.len);
		if (ret < 0 && !first)
			first = ret;
	}
	return first;
}
