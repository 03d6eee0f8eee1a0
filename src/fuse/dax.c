// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The device side of the DAX window: FUSE_SETUPMAPPING and
 * FUSE_REMOVEMAPPING, checked against the window and against the table of
 * live mappings, then carried out by the map/unmap hooks (the vhost-user
 * backend channel: SHMEM_MAP / SHMEM_UNMAP).
 *
 * Lock order: fuse_srv.init_lock -> fuse_dax_table.lock -> whatever the
 * hooks take (the backend channel lock). pt_fs locks are never held with
 * the table lock: the handle is looked up before the table is touched.
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

	t->max = pages < DAX_TABLE_MAX ? (size_t)pages : DAX_TABLE_MAX;
	return -pthread_mutex_init(&t->lock, NULL);
}

void fuse_dax_fini(struct fuse_srv *srv)
{
	free(srv->dax.v);
	srv->dax.v = NULL;
	pthread_mutex_destroy(&srv->dax.lock);
}

static void forget_locked(struct fuse_dax_table *t)
{
	t->n = 0;
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
	n = srv->dax.n;
	pthread_mutex_unlock(&srv->dax.lock);
	return n;
}

void fuse_srv_dax_stats(struct fuse_srv *srv, struct fuse_srv_dax_stats *st)
{
	pthread_mutex_lock(&srv->dax.lock);
	st->live = srv->dax.n;
	st->setups = srv->dax.setups;
	st->removes = srv->dax.removes;
	pthread_mutex_unlock(&srv->dax.lock);
}

void fuse_srv_dax_log(struct fuse_srv *srv, const char *why)
{
	struct fuse_srv_dax_stats st;

	if (!fuse_dax_on(srv))
		return;
	fuse_srv_dax_stats(srv, &st);
	VLOG_INFO("dax: %s: %llu mappings set up, %llu removed, %llu live",
		  why, (unsigned long long)st.setups,
		  (unsigned long long)st.removes, (unsigned long long)st.live);
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
 * Map under the table lock. A span may only be taken again whole: the
 * kernel re-sends SETUPMAPPING for the same moffset/len to upgrade a
 * read-only range to writable, and (after a REMOVEMAPPING that failed on
 * our side) may hand the range to another file. Anything else that touches
 * a live mapping is refused.
 */
static int setup_locked(struct fuse_srv *srv, int fd,
			const struct fuse_setupmapping_in *in,
			const struct fuse_dax_map *m)
{
	const struct fuse_srv_dax_ops *dax = &srv->opts.dax;
	struct fuse_dax_table *t = &srv->dax;
	size_t at = first_ending_after(t, m->moffset);
	bool replace = false;
	int ret;

	if (at < t->n && t->v[at].moffset < m->moffset + m->len) {
		if (t->v[at].moffset != m->moffset || t->v[at].len != m->len)
			return -EINVAL;
		replace = true;
	} else if (t->n >= t->max) {
		return -ENOSPC;
	}
	ret = dax->map(dax->ctx, fd, in->foffset, m->moffset, m->len,
		       m->writable);
	if (ret < 0)
		/*
		 * On a failed replace the old record stays: the frontend
		 * keeps either the old mapping or an empty reservation, and
		 * either way the guest may still REMOVEMAPPING the span.
		 */
		return ret;
	if (replace) {
		t->v[at] = *m;
		return 0;
	}
	ret = insert_locked(t, at, m);
	if (ret < 0) {
		/* Keep the window and the table in step. */
		if (dax->unmap(dax->ctx, m->moffset, m->len) < 0)
			VLOG_WARN("dax: could not undo a mapping at %#llx",
				  (unsigned long long)m->moffset);
	}
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
	pthread_mutex_lock(&srv->dax.lock);
	ret = setup_locked(srv, fd, in, &m);
	if (ret == 0)
		srv->dax.setups++;
	pthread_mutex_unlock(&srv->dax.lock);
	close(fd);
	if (ret == -EAGAIN || ret == -EINTR)
		ret = -EIO;
	return ret;
}

/*
 * One entry: it must cover whole live mappings, at least one, and cut
 * none. Gaps between them are fine (unmapping an empty span is a no-op for
 * the frontend).
 */
static int remove_one_locked(struct fuse_srv *srv, uint64_t moffset,
			     uint64_t len)
{
	const struct fuse_srv_dax_ops *dax = &srv->opts.dax;
	struct fuse_dax_table *t = &srv->dax;
	uint64_t end = moffset + len; /* checked by check_span() */
	size_t at, last;
	int ret;

	ret = check_span(srv, moffset, len);
	if (ret < 0)
		return ret;
	at = first_ending_after(t, moffset);
	if (at == t->n || t->v[at].moffset >= end ||
	    t->v[at].moffset < moffset)
		return -EINVAL;
	for (last = at; last < t->n && t->v[last].moffset < end; last++)
		if (t->v[last].moffset + t->v[last].len > end)
			return -EINVAL;
	ret = dax->unmap(dax->ctx, moffset, len);
	if (ret < 0)
		return ret; /* the frontend still holds them: keep the records */
	remove_locked(t, at, last - at);
	t->removes += last - at;
	return 0;
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
	pthread_mutex_lock(&srv->dax.lock);
	for (uint32_t i = 0; i < in->count; i++) {
		/* Entries follow a 4-byte header: copy, do not cast. */
		memcpy(&one, p + (size_t)i * sizeof(one), sizeof(one));
		ret = remove_one_locked(srv, one.moffset, one.len);
		if (ret < 0 && !first)
			first = ret;
	}
	pthread_mutex_unlock(&srv->dax.lock);
	return first;
}
