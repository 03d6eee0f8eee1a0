// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libvdax DAX: the driver's side of the window (src/dax does the ranges).
 *
 * The window is the device's shared memory region 0. Its size is what the
 * backend advertises by GET_SHMEM_CONFIG, or cache_size= if smaller: the
 * frontend decides the window, and a window smaller than the advertised one
 * is always safe because every moffset the daemon maps comes from us. A
 * cache_size= larger than the advertised region is clamped to it (with a
 * log line): asking the daemon to map beyond what it validated would fail.
 *
 * Lock order (outermost first), per node:
 *   fc_node.io_lock (the kernel's inode lock)
 *     vdax.window_pin_lock (vdax_pread_window() gathering ranges)
 *       dax_inode mapping lock -> dax_inode dax_lock -> dax_conn lock (dax.c)
 *         mmap alias lock (mmap.c), a leaf
 * The backend-channel thread takes only the window's leaf lock: a setup
 * holds inode locks while it waits for the daemon, and the daemon waits for
 * that thread's ack.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "client/client.h"
#include "dax/dax.h"
#include "vhost/vhost_user.h"

/* Most window ranges one vdax_pread_window() call holds (32 MiB). */
#define FC_WINDOW_PIN_MAX 16u

/* ---- the backend's requests: SHMEM_MAP / SHMEM_UNMAP -------------- */

int fc_dax_backend_req(void *opaque, uint32_t request, const void *payload,
		       size_t size, int fd)
{
	struct vdax *vd = opaque;
	struct vhost_user_shmem_map m;
	struct dax_window *w;
	int ret;

	if (size != sizeof(m)) {
		ret = -EINVAL;
		goto out;
	}
	memcpy(&m, payload, sizeof(m));
	/* Pairs with the release store in fc_dax_setup(). */
	w = __atomic_load_n(&vd->window, __ATOMIC_ACQUIRE);
	if (!w || m.shmid != 0) {
		ret = -EINVAL;
		goto out;
	}
	if (request == VHOST_USER_BACKEND_SHMEM_MAP) {
		ret = fd < 0 ? -EBADF :
			       dax_window_map(w, fd, m.fd_offset, m.shm_offset,
					      m.len, m.flags);
	} else if (request == VHOST_USER_BACKEND_SHMEM_UNMAP) {
		ret = fd >= 0 ? -EINVAL :
				dax_window_unmap(w, m.shm_offset, m.len);
	} else {
		ret = -ENOSYS;
	}
	__atomic_fetch_add(&vd->window_seq, 1, __ATOMIC_RELEASE);
out:
	if (fd >= 0)
		close(fd);
	if (ret)
		VLOG_DEBUG("vdax: backend request %u refused: %s", request,
			   strerror(-ret));
	return ret;
}

/* ---- FUSE_SETUPMAPPING / FUSE_REMOVEMAPPING ------------------------- */

static int send_setup(void *ctx, uint64_t nodeid, uint64_t fh, uint64_t foffset,
		      uint64_t len, uint64_t moffset, bool writable)
{
	struct vdax *vd = ctx;
	struct fuse_setupmapping_in in = {
		.fh = fh,
		.foffset = foffset,
		.len = len,
		.flags = FUSE_SETUPMAPPING_FLAG_READ |
			 (writable ? FUSE_SETUPMAPPING_FLAG_WRITE : 0),
		.moffset = moffset,
	};
	struct fc_call c = {
		.opcode = FUSE_SETUPMAPPING,
		.nodeid = nodeid,
		.nin = 1,
		.in = { { &in, sizeof(in) } },
	};
	int ret = fc_send(vd, &c);

	/* Pairs with the release in fc_dax_backend_req(). */
	(void)__atomic_load_n(&vd->window_seq, __ATOMIC_ACQUIRE);
	return ret < 0 ? ret : 0;
}

static int send_remove(void *ctx, uint64_t nodeid,
		       const struct fuse_removemapping_one *v, unsigned n)
{
	struct vdax *vd = ctx;
	struct fuse_removemapping_in in = { .count = n };
	struct fc_call c = {
		.opcode = FUSE_REMOVEMAPPING,
		.nodeid = nodeid,
		.nin = 2,
		.in = { { &in, sizeof(in) },
			{ (void *)v, (size_t)n * sizeof(*v) } },
	};
	int ret = fc_send(vd, &c);

	(void)__atomic_load_n(&vd->window_seq, __ATOMIC_ACQUIRE);
	return ret < 0 ? ret : 0;
}

static const struct dax_backend_ops fc_dax_ops = {
	.setup = send_setup,
	.remove = send_remove,
	.on_range_remove = fc_mmap_range_removed,
};

/* ---- session -------------------------------------------------------- */

int fc_dax_setup(struct vdax *vd, const struct fc_opts *o)
{
	uint64_t adv = vdx_shmem_size(vd->dev), size;
	struct dax_window *w;
	int ret;

	vd->dax_mode = o->dax_mode;
	if (o->dax_mode == FC_DAX_NEVER)
		return 0;
	size = adv & ~DAX_RANGE_MASK;
	if (o->dax_window && o->dax_window < size)
		size = o->dax_window;
	else if (o->dax_window > size && size)
		VLOG_INFO("vdax: cache_size=%llu is larger than the backend's "
			  "window; using %llu",
			  (unsigned long long)o->dax_window,
			  (unsigned long long)size);
	if (!size) {
		if (o->dax_mode == FC_DAX_ALWAYS) {
			VLOG_ERR("vdax: dax=always, but the backend offers no "
				 "DAX window (no VHOST_USER_PROTOCOL_F_SHMEM "
				 "or a region 0 smaller than 2 MiB)");
			return -EOPNOTSUPP;
		}
		vd->dax_mode = FC_DAX_NEVER;
		return 0;
	}
	ret = dax_window_create(size, &w);
	if (ret)
		return ret;
	ret = dax_conn_create(w, &fc_dax_ops, vd,
			      o->dax_admit_all ? 0 : DAX_CONN_ADMIT, &vd->dax);
	if (ret) {
		dax_window_destroy(w);
		return ret;
	}
	vd->window_pin_max = (unsigned)(size >> DAX_RANGE_SHIFT) / 2;
	if (vd->window_pin_max > FC_WINDOW_PIN_MAX)
		vd->window_pin_max = FC_WINDOW_PIN_MAX;
	if (!vd->window_pin_max)
		vd->window_pin_max = 1;
	pthread_mutex_init(&vd->window_pin_lock, NULL);
	__atomic_store_n(&vd->window, w, __ATOMIC_RELEASE);
	VLOG_INFO("vdax: DAX window of %llu MiB (%s, admission %s)",
		  (unsigned long long)(size >> 20),
		  o->dax_mode == FC_DAX_ALWAYS ? "always" : "inode",
		  o->dax_admit_all ? "off" : "adaptive");
	return 0;
}

void fc_dax_init_flags(struct vdax *vd, struct fuse_init_in *in)
{
	if (!vd->dax)
		return;
	in->flags |= FUSE_MAP_ALIGNMENT | FUSE_INIT_EXT;
	if (vd->dax_mode == FC_DAX_INODE)
		in->flags2 |= FUSE_HAS_INODE_DAX >> 32;
}

int fc_dax_init_reply(struct vdax *vd, const struct fuse_init_out *out)
{
	if (!vd->dax || !(out->flags & FUSE_MAP_ALIGNMENT))
		return 0;
	if (dax_check_map_alignment(out->map_alignment)) {
		VLOG_ERR("vdax: backend wants DAX mappings aligned to 2^%u "
			 "bytes; ranges are 2 MiB",
			 out->map_alignment);
		return -EPROTO;
	}
	return 0;
}

void fc_dax_conn_fini(struct vdax *vd)
{
	if (!vd->dax)
		return;
	pthread_mutex_destroy(&vd->window_pin_lock);
	dax_conn_destroy(vd->dax);
	vd->dax = NULL;
}

void fc_dax_window_fini(struct vdax *vd)
{
	dax_window_destroy(vd->window);
	vd->window = NULL;
}

/* ---- nodes ---------------------------------------------------------- */

static bool wants_dax(struct vdax *vd, struct fc_node *n)
{
	struct fuse_attr a;

	pthread_mutex_lock(&vd->cache_lock);
	a = n->attr;
	pthread_mutex_unlock(&vd->cache_lock);
	if (!S_ISREG(a.mode))
		return false;
	return vd->dax_mode == FC_DAX_ALWAYS ||
	       (vd->dax_mode == FC_DAX_INODE && (a.flags & FUSE_ATTR_DAX));
}

/*
 * The choice is made at the node's first open and kept for its life (the
 * kernel likewise does not switch an inode that is in use).
 */
void fc_dax_node_open(struct vdax *vd, struct fc_node *n)
{
	if (!vd->dax)
		return;
	pthread_rwlock_wrlock(&n->io_lock);
	if (!n->dax_decided) {
		n->dax_decided = true;
		if (wants_dax(vd, n)) {
			n->dax = dax_inode_new(n->nodeid);
			if (!n->dax)
				VLOG_WARN("vdax: out of memory, node %llu "
					  "without DAX",
					  (unsigned long long)n->nodeid);
		}
	}
	pthread_rwlock_unlock(&n->io_lock);
}

void fc_dax_node_evict(struct vdax *vd, struct fc_node *n)
{
	if (!n->dax)
		return;
	dax_inode_free(vd->dax, n->dax);
	n->dax = NULL;
}

/*
 * A worker reading a stream of @f ahead sends FUSE_SETUPMAPPING with @f's
 * fh: those still queued are dropped and one in flight is waited for, as
 * once the daemon has the RELEASE the number may name another open file
 * (a stale or reused fh gets EBADF, and a read-ahead through it
 * would be wasted work). n->dax: see fc_dax_read().
 */
void fc_dax_file_release(struct vdax_file *f)
{
	/* dax_inode_release_fh() takes a session or node without DAX. */
	if (!f->is_dir)
		dax_inode_release_fh(f->vd->dax, f->node->dax, f->fh);
}

/* ---- I/O ------------------------------------------------------------ */

static int file_size(struct vdax_file *f, uint64_t *size)
{
	struct fuse_attr a;
	int ret;

	if (fc_size_cached(f->node, size))
		return 0;
	ret = fc_getattr(f->vd, f->node, f, &a);
	if (!ret)
		*size = a.size;
	return ret;
}

/* dax_read_hit()'s size: only a cached one; the locked path asks. */
static bool size_cached(void *arg, uint64_t *size)
{
	return fc_size_cached(arg, size);
}

/*
 * The node's inode lock, exclusive, for a change of the file's data
 * through the window or of its size: the lock keeps the locked readers
 * out, dax_inode_quiesce() the lock-free ones.
 */
static void io_lock_excl(struct fc_node *n)
{
	pthread_rwlock_wrlock(&n->io_lock);
	if (n->dax)
		dax_inode_quiesce(n->dax);
}

static void io_unlock_excl(struct fc_node *n)
{
	if (n->dax)
		dax_inode_resume(n->dax);
	pthread_rwlock_unlock(&n->io_lock);
}

/*
 * A read first tries the lock-free hit path (dax_read_hit()); @buf is
 * never a vdax mapping here (rw() bounces those). n->dax needs no lock:
 * it is set at the node's first open, before any handle of it exists,
 * and cleared only when the node is freed.
 */
ssize_t fc_dax_read(struct vdax_file *f, void *buf, size_t len, uint64_t off,
		    bool *used)
{
	struct fc_node *n = f->node;
	uint64_t size;
	ssize_t ret;

	*used = false;
	if (!f->vd->dax)
		return 0;
	if (n->dax) {
		ret = dax_read_hit(f->vd->dax, n->dax, buf, len, off,
				   size_cached, n);
		if (ret != -EAGAIN) {
			*used = true;
			return ret;
		}
	}
	pthread_rwlock_rdlock(&n->io_lock);
	if (!n->dax) {
		pthread_rwlock_unlock(&n->io_lock);
		return 0;
	}
	*used = true;
	ret = file_size(f, &size);
	if (!ret)
		ret = dax_read(f->vd->dax, n->dax, f->fh, buf, len, off, size);
	pthread_rwlock_unlock(&n->io_lock);
	if (ret == -ENOTBLK) {
		/* Not worth a mapping (yet): the caller sends FUSE_READ. */
		*used = false;
		ret = 0;
	}
	return ret;
}

/*
 * Pin the ranges under [@off, +@len) (already clamped, non-empty) and fill
 * @iov, with dax_read()'s admission and read-ahead; returns the count, or
 * -ENOTBLK (the policy reads this span around the window), or -errno;
 * nothing is left pinned on an error. Caller holds the node's io_lock
 * shared.
 *
 * A thread that holds a pinned range while it waits for a free one can
 * deadlock with others doing the same once the window runs out. Everyone
 * else (dax_read/dax_write, mmap faults, single-range calls here) holds at
 * most one pin and never waits for a range while holding it; a call that
 * needs several gathers them under window_pin_lock, so only one thread at
 * a time holds pins while it waits, and at most half the window: the rest
 * is freed by the reclaim worker as the single pins come back.
 */
static int pin_span(struct vdax_file *f, size_t len, uint64_t off,
		    uint64_t size, struct iovec *iov, struct dax_range **pins)
{
	struct vdax *vd = f->vd;
	unsigned cnt;
	int ret;

	cnt = (unsigned)(((off + len - 1) >> DAX_RANGE_SHIFT) -
			 (off >> DAX_RANGE_SHIFT) + 1);
	if (cnt > vd->window_pin_max)
		return -E2BIG;
	if (cnt > 1)
		pthread_mutex_lock(&vd->window_pin_lock);
	ret = dax_pin_read(vd->dax, f->node->dax, f->fh, off, len, size, iov,
			   pins, cnt);
	if (cnt > 1)
		pthread_mutex_unlock(&vd->window_pin_lock);
	return ret;
}

/*
 * A read the admission policy sends around the window: FUSE_READ into a
 * buffer, which @fn gets instead of window pages (the policy counted the
 * access once, so the caller must not retry through vdax_pread()).
 */
static ssize_t read_around(struct vdax_file *f, size_t len, uint64_t off,
			   int (*fn)(const struct iovec *iov, int cnt,
				     void *arg),
			   void *arg)
{
	struct iovec iov;
	ssize_t n, ret;
	char *buf = malloc(len);

	if (!buf)
		return -ENOMEM;
	n = fc_io(f, false, buf, len, off);
	if (n < 0) {
		free(buf);
		return n;
	}
	iov = (struct iovec){ buf, (size_t)n };
	ret = fn(n ? &iov : NULL, n ? 1 : 0, arg);
	free(buf);
	return ret < 0 ? ret : n;
}

ssize_t fc_dax_read_window(struct vdax_file *f, size_t len, uint64_t off,
			   int (*fn)(const struct iovec *iov, int cnt,
				     void *arg),
			   void *arg)
{
	struct dax_range *pins[FC_WINDOW_PIN_MAX];
	struct iovec iov[FC_WINDOW_PIN_MAX];
	struct vdax *vd = f->vd;
	struct fc_node *n = f->node;
	uint64_t size;
	ssize_t ret;
	int cnt = 0;

	if (!vd->dax)
		return -EOPNOTSUPP;
	pthread_rwlock_rdlock(&n->io_lock);
	if (!n->dax) {
		ret = -EOPNOTSUPP;
		goto out;
	}
	ret = file_size(f, &size);
	if (ret)
		goto out;
	if (off >= size)
		len = 0;
	else if (len > size - off)
		len = (size_t)(size - off);
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	if (len) {
		cnt = pin_span(f, len, off, size, iov, pins);
		if (cnt == -ENOTBLK) {
			pthread_rwlock_unlock(&n->io_lock);
			return read_around(f, len, off, fn, arg);
		}
		if (cnt < 0) {
			ret = cnt;
			goto out;
		}
	}
	/*
	 * From here on @f is not touched: once @fn has answered whoever kept
	 * the file open (a FUSE READ), another thread may release it. Our
	 * own node reference keeps the node (and its io_lock) alive.
	 */
	fc_node_get(vd, n);
	ret = fn(cnt ? iov : NULL, cnt, arg);
	if (ret >= 0)
		ret = (ssize_t)len;
	while (cnt--)
		dax_fault_done(vd->dax, pins[cnt]);
	pthread_rwlock_unlock(&n->io_lock);
	/* May evict (and remove mappings): no inode lock held. */
	fc_node_put(vd, n);
	return ret;
out:
	pthread_rwlock_unlock(&n->io_lock);
	return ret;
}

/*
 * A write through the window needs a read-write handle: the daemon maps
 * with the handle's access mode. O_WRONLY handles send FUSE_WRITE.
 */
ssize_t fc_dax_write(struct vdax_file *f, const void *buf, size_t len,
		     uint64_t off, bool *used)
{
	struct fc_node *n = f->node;
	uint64_t size;
	ssize_t ret;

	*used = false;
	if (!f->vd->dax || (f->flags & O_ACCMODE) != O_RDWR ||
	    (f->flags & O_APPEND))
		return 0;
	if (!n->dax)
		return 0;
	io_lock_excl(n);
	ret = file_size(f, &size);
	if (!ret)
		ret = dax_write(f->vd->dax, n->dax, f->fh, buf, len, off, size);
	if (ret == -ENOTBLK) {
		/* Not worth a mapping (yet): the caller sends FUSE_WRITE. */
		io_unlock_excl(n);
		return 0;
	}
	if (ret == -ERANGE) {
		/*
		 * Extending: FUSE_WRITE, so that data and size change
		 * together. Still under the inode lock: nobody reads through
		 * the window with the old size meanwhile.
		 */
		ret = fc_write_fuse(f, buf, len, off);
		if (ret > 0)
			fc_attr_grow_size(f->vd, n, off + (uint64_t)ret);
	}
	io_unlock_excl(n);
	*used = true;
	return ret;
}

void fc_dax_change_begin(struct vdax *vd, struct fc_node *n, uint64_t start,
			 uint64_t end)
{
	io_lock_excl(n);
	if (!n->dax)
		return;
	dax_inode_lock_mapping(n->dax);
	/* Whole ranges: the one holding @start may keep pages past EOF. */
	dax_inode_break_range(vd->dax, n->dax, start & ~DAX_RANGE_MASK, end);
}

void fc_dax_change_end(struct vdax *vd, struct fc_node *n)
{
	(void)vd;
	if (n->dax)
		dax_inode_unlock_mapping(n->dax);
	io_unlock_excl(n);
}

int fc_dax_flush(struct vdax *vd, struct fc_node *n)
{
	int ret = 0;

	if (!vd->dax)
		return 0;
	pthread_rwlock_rdlock(&n->io_lock);
	if (n->dax)
		ret = dax_inode_flush(vd->dax, n->dax, 0, UINT64_MAX);
	pthread_rwlock_unlock(&n->io_lock);
	return ret;
}

/* ---- counters ------------------------------------------------------- */

int vdax_get_stats(struct vdax *vd, struct vdax_stats *st)
	__attribute__((visibility("default")));
int vdax_get_stats(struct vdax *vd, struct vdax_stats *st)
{
	struct dax_stats ds;

	if (!vd || !st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	if (!vd->dax)
		return 0;
	dax_get_stats(vd->dax, &ds);
	st->window_size = dax_window_size(vd->window);
	st->ranges_total = ds.ranges_total;
	st->ranges_free = ds.ranges_free;
	st->ranges_busy = ds.ranges_busy;
	st->setup_mappings = ds.setup_mappings;
	st->remove_mappings = ds.remove_mappings;
	st->remove_requests = ds.remove_requests;
	st->upgrades = ds.upgrades;
	st->bg_reclaims = ds.bg_reclaims;
	st->direct_reclaims = ds.direct_reclaims;
	st->waits = ds.waits;
	st->hits = ds.hits;
	st->misses = ds.misses;
	st->admissions = ds.admissions;
	st->bypasses = ds.bypasses;
	st->ghost_hits = ds.ghost_hits;
	st->readaheads = ds.readaheads;
	st->admit_margin = ds.admit_margin;
	st->faults = __atomic_load_n(&vd->dax_faults, __ATOMIC_RELAXED);
	return 0;
}

int vdax_print_stats(struct vdax *vd, FILE *out)
	__attribute__((visibility("default")));
int vdax_print_stats(struct vdax *vd, FILE *out)
{
	struct vdax_stats st;
	const struct {
		const char *name;
		const uint64_t *v;
	} rows[] = {
		{ "window_size", &st.window_size },
		{ "ranges_total", &st.ranges_total },
		{ "ranges_free", &st.ranges_free },
		{ "ranges_busy", &st.ranges_busy },
		{ "setup_mappings", &st.setup_mappings },
		{ "remove_mappings", &st.remove_mappings },
		{ "remove_requests", &st.remove_requests },
		{ "upgrades", &st.upgrades },
		{ "bg_reclaims", &st.bg_reclaims },
		{ "direct_reclaims", &st.direct_reclaims },
		{ "waits", &st.waits },
		{ "hits", &st.hits },
		{ "misses", &st.misses },
		{ "faults", &st.faults },
		{ "admissions", &st.admissions },
		{ "bypasses", &st.bypasses },
		{ "ghost_hits", &st.ghost_hits },
		{ "readaheads", &st.readaheads },
		{ "admit_margin", &st.admit_margin },
	};
	int ret = vdax_get_stats(vd, &st);

	if (ret)
		return ret;
	if (!out)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (fprintf(out, "%s %llu\n", rows[i].name,
			    (unsigned long long)*rows[i].v) < 0)
			return -EIO;
	return 0;
}
