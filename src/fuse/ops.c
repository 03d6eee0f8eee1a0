// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * FUSE operation workers and the dispatch table. By the time a worker runs,
 * server.c has checked that the body holds the fixed part (req->arg, aligned
 * copy), that every name is NUL-terminated and that the reply buffer holds
 * the fixed part of the reply. Workers return 0 or -errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/log.h"
#include "fuse/internal.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define IOV_STACK 64

/* ---- cache policy ---- */

static uint64_t cache_timeout(const struct fuse_srv *srv)
{
	switch (srv->opts.cache) {
	case FUSE_SRV_CACHE_ALWAYS:
	case FUSE_SRV_CACHE_METADATA:
		return 86400;
	case FUSE_SRV_CACHE_NEVER:
		return 0;
	default:
		return 1;
	}
}

static uint32_t open_out_flags(const struct fuse_srv *srv, bool dir)
{
	switch (srv->opts.cache) {
	case FUSE_SRV_CACHE_ALWAYS:
		return FOPEN_KEEP_CACHE | (dir ? FOPEN_CACHE_DIR : 0);
	case FUSE_SRV_CACHE_NEVER:
	case FUSE_SRV_CACHE_METADATA:
		return dir ? 0 : FOPEN_DIRECT_IO;
	default:
		return 0;
	}
}

/* ---- reply helpers ---- */

static void fill_attr(struct fuse_attr *a, const struct stat *st,
		      uint32_t flags)
{
	memset(a, 0, sizeof(*a));
	a->ino = st->st_ino;
	a->size = (uint64_t)st->st_size;
	a->blocks = (uint64_t)st->st_blocks;
	a->atime = (uint64_t)st->st_atim.tv_sec;
	a->mtime = (uint64_t)st->st_mtim.tv_sec;
	a->ctime = (uint64_t)st->st_ctim.tv_sec;
	a->atimensec = (uint32_t)st->st_atim.tv_nsec;
	a->mtimensec = (uint32_t)st->st_mtim.tv_nsec;
	a->ctimensec = (uint32_t)st->st_ctim.tv_nsec;
	a->mode = st->st_mode;
	a->nlink = (uint32_t)st->st_nlink;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->rdev = (uint32_t)st->st_rdev;
	a->blksize = (uint32_t)st->st_blksize;
	a->flags = flags;
}

/* --translate-uid/gid: the owners as the guest sees them. */
static void map_attr_ids(const struct fuse_srv *srv, struct fuse_attr *a)
{
	a->uid = fuse_idmap_host(srv->opts.uid_map, a->uid);
	a->gid = fuse_idmap_host(srv->opts.gid_map, a->gid);
}

/* FUSE_ATTR_DAX means something only once per-file DAX is negotiated. */
static uint32_t attr_flags(const struct fuse_srv *srv, uint32_t flags)
{
	if (!(fuse_srv_flags(srv) & FUSE_HAS_INODE_DAX))
		flags &= ~(uint32_t)FUSE_ATTR_DAX;
	return flags;
}

static void fill_entry(const struct fuse_srv *srv, struct fuse_entry_out *eo,
		       const struct pt_entry *e)
{
	uint64_t t = e->nodeid ? cache_timeout(srv) : 0;

	memset(eo, 0, sizeof(*eo));
	eo->nodeid = e->nodeid;
	eo->entry_valid = t;
	eo->attr_valid = t;
	fill_attr(&eo->attr, &e->st, attr_flags(srv, e->attr_flags));
	map_attr_ids(srv, &eo->attr);
}

/* A reply that cannot be sent must not leave a lookup counted. */
static int reply_entry(struct fuse_req *req, const struct pt_entry *e)
{
	struct fuse_entry_out eo;
	int ret;

	fill_entry(req->srv, &eo, e);
	ret = reply_put(req, &eo, sizeof(eo));
	if (ret < 0)
		pt_forget(req->srv->fs, e->nodeid, 1);
	return ret;
}

static int reply_attr(struct fuse_req *req, const struct stat *st,
		      uint32_t flags)
{
	struct fuse_attr_out ao = { .attr_valid = cache_timeout(req->srv) };

	fill_attr(&ao.attr, st, attr_flags(req->srv, flags));
	map_attr_ids(req->srv, &ao.attr);
	ao.dummy = 0;
	return reply_put(req, &ao, sizeof(ao));
}

static int reply_open(struct fuse_req *req, uint64_t fh, bool dir)
{
	struct fuse_open_out oo = {
		.fh = fh,
		.open_flags = open_out_flags(req->srv, dir),
	};

	return reply_put(req, &oo, sizeof(oo));
}

#define ARG(type) ((const type *)req->arg)

/* ---- session ---- */

static unsigned ilog2(unsigned v)
{
	unsigned r = 0;

	while (v >>= 1)
		r++;
	return r;
}

static uint64_t offered_flags(const struct fuse_srv *srv)
{
	const struct fuse_srv_opts *o = &srv->opts;
	uint64_t f = FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC |
		     FUSE_EXPORT_SUPPORT | FUSE_BIG_WRITES | FUSE_DONT_MASK |
		     FUSE_AUTO_INVAL_DATA | FUSE_ASYNC_DIO |
		     FUSE_PARALLEL_DIROPS | FUSE_HANDLE_KILLPRIV_V2 |
		     FUSE_MAX_PAGES | FUSE_INIT_EXT;

	/*
	 * --posix-acl: the guest kernel enforces ACLs (default_permissions)
	 * and reads them as system.posix_acl_* xattrs; umask stays ours to
	 * apply (FUSE_DONT_MASK), so the host honours default ACLs.
	 */
	if (o->posix_acl && o->xattr)
		f |= FUSE_POSIX_ACL;
	/* --security-label: the guest sends the label of each creation */
	if (o->security_label && o->xattr)
		f |= FUSE_SECURITY_CTX;
	/* the caller's supplementary group for creations (server.c) */
	f |= FUSE_SRV_CREATE_SUPP_GROUP;
	if (o->no_killpriv_v2)
		f &= ~(uint64_t)FUSE_HANDLE_KILLPRIV_V2;
	if (o->allow_mmap)
		f |= FUSE_SRV_DIRECT_IO_ALLOW_MMAP;

	if (o->posix_lock)
		f |= FUSE_POSIX_LOCKS;
	if (o->flock)
		f |= FUSE_FLOCK_LOCKS;
	if (o->readdirplus)
		f |= FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO;
	if (o->writeback)
		f |= FUSE_WRITEBACK_CACHE;
	if (o->announce_submounts)
		f |= FUSE_SUBMOUNTS;
	if (o->xattr)
		f |= FUSE_SETXATTR_EXT;
	/* Alignment and per-file DAX mean nothing without a window. */
	if (fuse_dax_on(srv))
		f |= FUSE_MAP_ALIGNMENT | FUSE_HAS_INODE_DAX;
	return f;
}

static int do_init(struct fuse_req *req)
{
	struct fuse_srv *srv = req->srv;
	const struct fuse_init_in *in = ARG(struct fuse_init_in);
	struct fuse_init_out out = {
		.major = FUSE_KERNEL_VERSION,
		.minor = FUSE_KERNEL_MINOR_VERSION,
	};
	uint64_t want = in->flags;
	unsigned max_pages;

	if (in->major < FUSE_KERNEL_VERSION)
		return -EPROTO;
	/* A newer major: answer with ours only; the kernel retries. */
	if (in->major > FUSE_KERNEL_VERSION)
		return reply_put(req, &out, sizeof(out));
	if (in->minor < 23)
		return -EPROTO;
	if ((in->flags & FUSE_INIT_EXT) &&
	    req->arglen >= offsetof(struct fuse_init_in, unused))
		want |= (uint64_t)in->flags2 << 32;

	pthread_mutex_lock(&srv->init_lock);
	/* A second INIT is a rebooted guest: nothing of the old one stays. */
	if (__atomic_load_n(&srv->initialized, __ATOMIC_RELAXED)) {
		VLOG_INFO("fuse: INIT on a live session, resetting");
		/*
		 * A rebooted guest sends no REMOVEMAPPING for what the old
		 * one mapped: empty the window, as at DESTROY.
		 */
		fuse_srv_dax_log(srv, "guest reset");
		fuse_dax_unmap_all(srv);
		fuse_srv_reset_locked(srv);
	}
	want &= offered_flags(srv);
	/*
	 * A client that will map files (it sends FUSE_MAP_ALIGNMENT only
	 * then) writes through the window without FUSE_WRITE, so the server
	 * never sees the write that should drop S_ISUID/S_ISGID: Linux's DAX
	 * write path leaves that to the server under KILLPRIV_V2. Without
	 * it, the kernel clears them itself with a SETATTR.
	 */
	if (want & FUSE_MAP_ALIGNMENT)
		want &= ~FUSE_HANDLE_KILLPRIV_V2;
	max_pages = srv->opts.max_write / srv->page_size;
	if (max_pages > UINT16_MAX)
		max_pages = UINT16_MAX;
	out.max_readahead = in->max_readahead;
	out.flags = (uint32_t)want;
	out.flags2 = (uint32_t)(want >> 32);
	out.max_background = 64;
	out.congestion_threshold = 48;
	out.max_write = srv->opts.max_write;
	out.time_gran = 1;
	out.max_pages = (uint16_t)max_pages;
	if (want & FUSE_MAP_ALIGNMENT)
		out.map_alignment = (uint16_t)ilog2(srv->page_size);
	pt_set_writeback(srv->fs, want & FUSE_WRITEBACK_CACHE);
	__atomic_store_n(&srv->minor, in->minor, __ATOMIC_RELAXED);
	__atomic_store_n(&srv->flags, want, __ATOMIC_RELAXED);
	__atomic_store_n(&srv->initialized, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&srv->init_lock);
	VLOG_INFO("fuse: INIT %u.%u flags %#llx", in->major, in->minor,
		  (unsigned long long)want);
	return reply_put(req, &out, sizeof(out));
}

static int do_destroy(struct fuse_req *req)
{
	fuse_srv_dax_log(req->srv, "DESTROY");
	fuse_dax_unmap_all(req->srv);
	fuse_srv_reset(req->srv);
	return 0;
}

static int do_interrupt(struct fuse_req *req)
{
	/* Only requests that block indefinitely can be interrupted. */
	fuse_intr_request(req->srv, ARG(struct fuse_interrupt_in)->unique);
	return FUSE_NO_REPLY;
}

/* ---- names and inodes ---- */

static int do_lookup(struct fuse_req *req)
{
	struct pt_entry e;
	int ret = pt_lookup(req->srv->fs, req->ih.nodeid, req->name[0], &e);

	return ret < 0 ? ret : reply_entry(req, &e);
}

static int do_forget(struct fuse_req *req)
{
	pt_forget(req->srv->fs, req->ih.nodeid,
		  ARG(struct fuse_forget_in)->nlookup);
	return FUSE_NO_REPLY;
}

static int do_batch_forget(struct fuse_req *req)
{
	const struct fuse_batch_forget_in *in = ARG(struct fuse_batch_forget_in);
	const struct fuse_forget_one *one = (const void *)(in + 1);
	size_t need;

	if (__builtin_mul_overflow((size_t)in->count, sizeof(*one), &need) ||
	    need > req->arglen - sizeof(*in))
		return FUSE_NO_REPLY;
	for (uint32_t i = 0; i < in->count; i++)
		pt_forget(req->srv->fs, one[i].nodeid, one[i].nlookup);
	return FUSE_NO_REPLY;
}

static int do_getattr(struct fuse_req *req)
{
	struct stat st;
	uint32_t flags;
	int ret = pt_getattr(req->srv->fs, req->ih.nodeid, &st, &flags);

	return ret < 0 ? ret : reply_attr(req, &st, flags);
}

static int do_setattr(struct fuse_req *req)
{
	const struct fuse_setattr_in *in = ARG(struct fuse_setattr_in);
	struct pt_setattr sa = {
		.valid = in->valid,
		.fh = in->fh,
		.mode = in->mode,
		.uid = in->uid,
		.gid = in->gid,
		.size = in->size,
		.atime = { (time_t)in->atime, in->atimensec },
		.mtime = { (time_t)in->mtime, in->mtimensec },
	};
	struct stat st;
	uint32_t flags = 0;
	int ret;

	if (((in->valid & FATTR_ATIME) && in->atimensec >= 1000000000u) ||
	    ((in->valid & FATTR_MTIME) && in->mtimensec >= 1000000000u))
		return -EINVAL;
	/* --translate-uid/gid: the new owner on the host */
	if (((in->valid & FATTR_UID) &&
	     fuse_idmap_guest(req->srv->opts.uid_map, in->uid, &sa.uid)) ||
	    ((in->valid & FATTR_GID) &&
	     fuse_idmap_guest(req->srv->opts.gid_map, in->gid, &sa.gid)))
		return -EPERM;
	ret = pt_setattr(req->srv->fs, &req->ctx, req->ih.nodeid, &sa, &st);
	if (ret == 0)
		ret = pt_getattr(req->srv->fs, req->ih.nodeid, &st, &flags);
	return ret < 0 ? ret : reply_attr(req, &st, flags);
}

static int do_readlink(struct fuse_req *req)
{
	char *buf = malloc(PATH_MAX + 1);
	ssize_t n;
	int ret;

	if (!buf)
		return -ENOMEM;
	n = pt_readlink(req->srv->fs, req->ih.nodeid, buf, PATH_MAX + 1);
	if (n > PATH_MAX)
		n = -ENAMETOOLONG;
	ret = n < 0 ? (int)n : reply_put(req, buf, (size_t)n);
	free(buf);
	return ret;
}

/*
 * --security-label: give the new inode the label the guest sent (through
 * --xattrmap, as any name). If that fails the creation is undone and the
 * error returned: a file without its label must not appear.
 */
static int apply_secctx(struct fuse_req *req, const struct pt_entry *e,
			bool dir, const uint64_t *fh)
{
	struct pt_fs *fs = req->srv->fs;
	int ret;

	if (!req->secctx_name)
		return 0;
	ret = pt_setxattr(fs, e->nodeid, req->secctx_name, req->secctx_value,
			  req->secctx_len, 0);
	if (ret == 0)
		return 0;
	VLOG_WARN("fuse: security label %s of a new inode: %s",
		  req->secctx_name, strerror(-ret));
	if (fh)
		pt_release(fs, e->nodeid, *fh, false);
	if (req->ih.opcode != FUSE_TMPFILE) {
		if (dir)
			pt_rmdir(fs, req->ih.nodeid, req->name[0]);
		else
			pt_unlink(fs, req->ih.nodeid, req->name[0]);
	}
	pt_forget(fs, e->nodeid, 1);
	return ret;
}

static int do_symlink(struct fuse_req *req)
{
	struct pt_entry e;
	int ret = pt_symlink(req->srv->fs, &req->ctx, req->ih.nodeid,
			     req->name[0], req->name[1], &e);

	if (ret == 0)
		ret = apply_secctx(req, &e, false, NULL);
	return ret < 0 ? ret : reply_entry(req, &e);
}

static int do_mknod(struct fuse_req *req)
{
	const struct fuse_mknod_in *in = ARG(struct fuse_mknod_in);
	struct pt_entry e;
	int ret = pt_mknod(req->srv->fs, &req->ctx, req->ih.nodeid,
			   req->name[0], in->mode, in->rdev, in->umask, &e);

	if (ret == 0)
		ret = apply_secctx(req, &e, false, NULL);
	return ret < 0 ? ret : reply_entry(req, &e);
}

static int do_mkdir(struct fuse_req *req)
{
	const struct fuse_mkdir_in *in = ARG(struct fuse_mkdir_in);
	struct pt_entry e;
	int ret = pt_mkdir(req->srv->fs, &req->ctx, req->ih.nodeid,
			   req->name[0], in->mode, in->umask, &e);

	if (ret == 0)
		ret = apply_secctx(req, &e, true, NULL);
	return ret < 0 ? ret : reply_entry(req, &e);
}

static int do_unlink(struct fuse_req *req)
{
	return pt_unlink(req->srv->fs, req->ih.nodeid, req->name[0]);
}

static int do_rmdir(struct fuse_req *req)
{
	return pt_rmdir(req->srv->fs, req->ih.nodeid, req->name[0]);
}

static int do_rename(struct fuse_req *req)
{
	return pt_rename(req->srv->fs, &req->ctx, req->ih.nodeid, req->name[0],
			 ARG(struct fuse_rename_in)->newdir, req->name[1], 0);
}

static int do_rename2(struct fuse_req *req)
{
	const struct fuse_rename2_in *in = ARG(struct fuse_rename2_in);

	return pt_rename(req->srv->fs, &req->ctx, req->ih.nodeid, req->name[0],
			 in->newdir, req->name[1], in->flags);
}

static int do_link(struct fuse_req *req)
{
	struct pt_entry e;
	int ret = pt_link(req->srv->fs, ARG(struct fuse_link_in)->oldnodeid,
			  req->ih.nodeid, req->name[0], &e);

	return ret < 0 ? ret : reply_entry(req, &e);
}

/* ---- files ---- */

static int do_open(struct fuse_req *req)
{
	uint64_t fh;
	int ret = pt_open(req->srv->fs, &req->ctx, req->ih.nodeid,
			  ARG(struct fuse_open_in)->flags, &fh);

	return ret < 0 ? ret : reply_open(req, fh, false);
}

static int reply_create(struct fuse_req *req, const struct pt_entry *e,
			uint64_t fh)
{
	struct fuse_entry_out eo;

	/* out_size covers both parts, so neither put can fail. */
	fill_entry(req->srv, &eo, e);
	reply_put(req, &eo, sizeof(eo));
	return reply_open(req, fh, false);
}

static int do_create(struct fuse_req *req)
{
	const struct fuse_create_in *in = ARG(struct fuse_create_in);
	struct pt_entry e;
	uint64_t fh;
	int ret = pt_create(req->srv->fs, &req->ctx, req->ih.nodeid,
			    req->name[0], in->mode, in->umask, in->flags, &e,
			    &fh);

	if (ret == 0)
		ret = apply_secctx(req, &e, false, &fh);
	return ret < 0 ? ret : reply_create(req, &e, fh);
}

static int do_tmpfile(struct fuse_req *req)
{
	const struct fuse_create_in *in = ARG(struct fuse_create_in);
	struct pt_entry e;
	uint64_t fh;
	int ret = pt_tmpfile(req->srv->fs, &req->ctx, req->ih.nodeid, in->mode,
			     in->umask, in->flags, &e, &fh);

	if (ret == 0)
		ret = apply_secctx(req, &e, false, &fh);
	return ret < 0 ? ret : reply_create(req, &e, fh);
}

/* Run @fn on @len bytes of @c as an iovec array, without copying. */
static ssize_t with_iovecs(struct fuse_req *req, struct fuse_iov *c,
			   size_t len, bool rd)
{
	struct iovec small[IOV_STACK], *v = small;
	unsigned max = c->cnt - c->idx;
	ssize_t n;
	int cnt;

	if (max > IOV_STACK) {
		v = calloc(max, sizeof(*v));
		if (!v)
			return -ENOMEM;
	}
	cnt = fuse_iov_slice(c, len, v, max);
	if (cnt < 0) {
		n = cnt;
	} else if (rd) {
		const struct fuse_read_in *in = ARG(struct fuse_read_in);

		n = pt_read(req->srv->fs, req->ih.nodeid, in->fh, v, cnt,
			    in->offset);
	} else {
		const struct fuse_write_in *in = ARG(struct fuse_write_in);

		n = pt_write(req->srv->fs, req->ih.nodeid, in->fh, v, cnt,
			     in->offset,
			     in->write_flags & FUSE_WRITE_KILL_SUIDGID);
	}
	if (v != small)
		free(v);
	return n;
}

static int do_read(struct fuse_req *req)
{
	size_t size = ARG(struct fuse_read_in)->size;
	ssize_t n;

	if (size > fuse_iov_left(&req->out))
		size = fuse_iov_left(&req->out);
	/* preadv() straight into the reply buffers, after the header. */
	n = with_iovecs(req, &req->out, size, true);
	if (n < 0)
		return (int)n;
	fuse_iov_skip(&req->out, (size_t)n);
	req->out_len += (size_t)n;
	return 0;
}

static int do_write(struct fuse_req *req)
{
	const struct fuse_write_in *in = ARG(struct fuse_write_in);
	struct fuse_write_out wo = { 0 };
	ssize_t n;

	if (in->size > req->srv->opts.max_write ||
	    in->size > fuse_iov_left(&req->in))
		return -EINVAL;
	/* pwritev() straight from the request buffers. */
	n = with_iovecs(req, &req->in, in->size, false);
	if (n < 0)
		return (int)n;
	wo.size = (uint32_t)n;
	return reply_put(req, &wo, sizeof(wo));
}

static int do_flush(struct fuse_req *req)
{
	const struct fuse_flush_in *in = ARG(struct fuse_flush_in);

	return pt_flush(req->srv->fs, req->ih.nodeid, in->fh, in->lock_owner);
}

static int do_release(struct fuse_req *req)
{
	const struct fuse_release_in *in = ARG(struct fuse_release_in);

	return pt_release(req->srv->fs, req->ih.nodeid, in->fh,
			  in->release_flags & FUSE_RELEASE_FLOCK_UNLOCK);
}

static int do_fsync(struct fuse_req *req)
{
	const struct fuse_fsync_in *in = ARG(struct fuse_fsync_in);

	return pt_fsync(req->srv->fs, req->ih.nodeid, in->fh,
			in->fsync_flags & FUSE_FSYNC_FDATASYNC, false);
}

static int do_fallocate(struct fuse_req *req)
{
	const struct fuse_fallocate_in *in = ARG(struct fuse_fallocate_in);
	const uint32_t ok = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE |
			    FALLOC_FL_ZERO_RANGE;

	if (in->mode & ~ok)
		return -EOPNOTSUPP;
	return pt_fallocate(req->srv->fs, req->ih.nodeid, in->fh, in->mode,
			    in->offset, in->length);
}

static int do_lseek(struct fuse_req *req)
{
	const struct fuse_lseek_in *in = ARG(struct fuse_lseek_in);
	struct fuse_lseek_out lo;
	int ret = pt_lseek(req->srv->fs, req->ih.nodeid, in->fh, in->offset,
			   in->whence, &lo.offset);

	return ret < 0 ? ret : reply_put(req, &lo, sizeof(lo));
}

static int do_copy_file_range(struct fuse_req *req)
{
	const struct fuse_copy_file_range_in *in =
		ARG(struct fuse_copy_file_range_in);
	struct fuse_write_out wo = { 0 };
	uint64_t len = in->len > (1u << 30) ? (1u << 30) : in->len;
	ssize_t n;

	n = pt_copy_file_range(req->srv->fs, req->ih.nodeid, in->fh_in,
			       in->off_in, in->nodeid_out, in->fh_out,
			       in->off_out, len, in->flags);
	if (n < 0)
		return (int)n;
	wo.size = (uint32_t)n;
	return reply_put(req, &wo, sizeof(wo));
}

/* ---- locks ---- */

static int lock_to_flock(const struct fuse_file_lock *lk, struct flock *fl)
{
	if (lk->type != F_RDLCK && lk->type != F_WRLCK && lk->type != F_UNLCK)
		return -EINVAL;
	if (lk->start > INT64_MAX || lk->end < lk->start)
		return -EINVAL;
	memset(fl, 0, sizeof(*fl));
	fl->l_type = (short)lk->type;
	fl->l_whence = SEEK_SET;
	fl->l_start = (off_t)lk->start;
	/* end == OFFSET_MAX (or beyond) means "to end of file". */
	fl->l_len = lk->end >= INT64_MAX ? 0 : (off_t)(lk->end - lk->start + 1);
	return 0;
}

static int do_getlk(struct fuse_req *req)
{
	const struct fuse_lk_in *in = ARG(struct fuse_lk_in);
	struct fuse_lk_out lo = { 0 };
	struct flock fl;
	int ret;

	if (!req->srv->opts.posix_lock)
		return -ENOSYS;
	ret = lock_to_flock(&in->lk, &fl);
	if (ret == 0)
		ret = pt_getlk(req->srv->fs, req->ih.nodeid, in->fh, in->owner,
			       &fl);
	if (ret < 0)
		return ret;
	lo.lk.type = (uint32_t)fl.l_type;
	if (fl.l_type != F_UNLCK) {
		lo.lk.start = (uint64_t)fl.l_start;
		lo.lk.end = fl.l_len ? (uint64_t)(fl.l_start + fl.l_len - 1) :
				       (uint64_t)INT64_MAX;
	}
	return reply_put(req, &lo, sizeof(lo));
}

static int setlk(struct fuse_req *req, bool wait)
{
	const struct fuse_lk_in *in = ARG(struct fuse_lk_in);
	struct flock fl;
	int ret, op;

	if (in->lk_flags & FUSE_LK_FLOCK) {
		if (!req->srv->opts.flock)
			return -ENOSYS;
		switch (in->lk.type) {
		case F_RDLCK:
			op = LOCK_SH;
			break;
		case F_WRLCK:
			op = LOCK_EX;
			break;
		case F_UNLCK:
			op = LOCK_UN;
			break;
		default:
			return -EINVAL;
		}
		return pt_flock(req->srv->fs, req->ih.nodeid, in->fh,
				op | (wait ? 0 : LOCK_NB));
	}
	if (!req->srv->opts.posix_lock)
		return -ENOSYS;
	ret = lock_to_flock(&in->lk, &fl);
	return ret < 0 ? ret :
			 pt_setlk(req->srv->fs, req->ih.nodeid, in->fh,
				  in->owner, &fl, wait);
}

static int do_setlk(struct fuse_req *req)
{
	return setlk(req, false);
}

static int do_setlkw(struct fuse_req *req)
{
	struct fuse_blocker b;
	int ret = fuse_intr_enter(req->srv, &b, req->ih.unique);

	if (ret == 0) {
		ret = setlk(req, true);
		fuse_intr_leave(req->srv, &b);
	}
	return ret;
}

/* ---- directories ---- */

static int do_opendir(struct fuse_req *req)
{
	uint64_t fh;
	int ret = pt_opendir(req->srv->fs, req->ih.nodeid,
			     ARG(struct fuse_open_in)->flags, &fh);

	return ret < 0 ? ret : reply_open(req, fh, true);
}

struct dir_sink {
	struct fuse_req *req;
	size_t room; /* bytes the guest asked for and can take */
	bool plus;
};

static size_t dirent_size(bool plus, size_t namelen)
{
	return FUSE_DIRENT_ALIGN((plus ? FUSE_NAME_OFFSET_DIRENTPLUS :
					 FUSE_NAME_OFFSET) + namelen);
}

static bool dir_fits(void *arg, size_t namelen)
{
	struct dir_sink *s = arg;

	return dirent_size(s->plus, namelen) <= s->room;
}

static int dir_add(void *arg, const struct pt_dirent *de)
{
	struct dir_sink *s = arg;
	union {
		struct fuse_direntplus p;
		char b[sizeof(struct fuse_direntplus) + NAME_MAX + 8];
	} rec;
	struct fuse_dirent *d = s->plus ? &rec.p.dirent : (void *)rec.b;
	size_t size = dirent_size(s->plus, de->namelen);
	int ret;

	if (de->namelen > NAME_MAX || size > s->room)
		return -ENOSPC;
	memset(&rec, 0, size);
	if (s->plus)
		fill_entry(s->req->srv, &rec.p.entry_out, de->entry);
	d->ino = de->ino;
	d->off = de->off;
	d->namelen = (uint32_t)de->namelen;
	d->type = de->type;
	memcpy(d->name, de->name, de->namelen);
	ret = reply_put(s->req, &rec, size);
	if (ret == 0)
		s->room -= size;
	return ret;
}

static int readdir_common(struct fuse_req *req, bool plus)
{
	const struct fuse_read_in *in = ARG(struct fuse_read_in);
	struct dir_sink s = { req, in->size, plus };
	struct pt_dir_filler f = { dir_fits, dir_add, &s };
	int ret;

	if (s.room > fuse_iov_left(&req->out))
		s.room = fuse_iov_left(&req->out);
	ret = pt_readdir(req->srv->fs, req->ih.nodeid, in->fh, in->offset,
			 plus, &f);
	/* Entries already sent (and looked up) must reach the guest. */
	return req->out_len ? 0 : ret;
}

static int do_readdir(struct fuse_req *req)
{
	return readdir_common(req, false);
}

static int do_readdirplus(struct fuse_req *req)
{
	return readdir_common(req, true);
}

static int do_releasedir(struct fuse_req *req)
{
	return pt_releasedir(req->srv->fs, req->ih.nodeid,
			     ARG(struct fuse_release_in)->fh);
}

static int do_fsyncdir(struct fuse_req *req)
{
	const struct fuse_fsync_in *in = ARG(struct fuse_fsync_in);

	return pt_fsync(req->srv->fs, req->ih.nodeid, in->fh,
			in->fsync_flags & FUSE_FSYNC_FDATASYNC, true);
}

/* ---- filesystem ---- */

static int do_statfs(struct fuse_req *req)
{
	struct fuse_statfs_out so = { 0 };
	struct statvfs sv;
	int ret = pt_statfs(req->srv->fs, req->ih.nodeid, &sv);

	if (ret < 0)
		return ret;
	so.st.blocks = sv.f_blocks;
	so.st.bfree = sv.f_bfree;
	so.st.bavail = sv.f_bavail;
	so.st.files = sv.f_files;
	so.st.ffree = sv.f_ffree;
	so.st.bsize = (uint32_t)sv.f_bsize;
	so.st.namelen = (uint32_t)sv.f_namemax;
	so.st.frsize = (uint32_t)sv.f_frsize;
	return reply_put(req, &so, sizeof(so));
}

static int do_access(struct fuse_req *req)
{
	return pt_access(req->srv->fs, &req->ctx, req->ih.nodeid,
			 ARG(struct fuse_access_in)->mask);
}

static int do_syncfs(struct fuse_req *req)
{
	return pt_syncfs(req->srv->fs, req->ih.nodeid);
}

/* ---- extended attributes ---- */

static int do_setxattr(struct fuse_req *req)
{
	const struct fuse_setxattr_in *in = ARG(struct fuse_setxattr_in);
	const char *value = req->name[0] + strlen(req->name[0]) + 1;
	size_t have = (size_t)(req->arg + req->arglen - value);
	int ret;

	if (!req->srv->opts.xattr)
		return -ENOSYS;
	if (in->size > have)
		return -EINVAL;
	ret = pt_setxattr(req->srv->fs, req->ih.nodeid, req->name[0], value,
			  in->size, in->flags);
	/*
	 * The guest kernel decided the ACL change clears set-group-ID (the
	 * caller is not in the group); the daemon has CAP_FSETID, so the host
	 * kernel would keep it.
	 */
	if (ret == 0 && (fuse_srv_flags(req->srv) & FUSE_POSIX_ACL) &&
	    (fuse_srv_flags(req->srv) & FUSE_SETXATTR_EXT) &&
	    (in->setxattr_flags & FUSE_SETXATTR_ACL_KILL_SGID) &&
	    !strcmp(req->name[0], "system.posix_acl_access")) {
		static const struct pt_ctx root = { 0 };
		struct pt_setattr sa = { .valid = FATTR_MODE };
		struct stat st;
		uint32_t flags;

		ret = pt_getattr(req->srv->fs, req->ih.nodeid, &st, &flags);
		if (ret == 0 && (st.st_mode & S_ISGID)) {
			sa.mode = st.st_mode & ~(mode_t)S_ISGID & 07777;
			ret = pt_setattr(req->srv->fs, &root, req->ih.nodeid,
					 &sa, &st);
		}
	}
	return ret;
}

/* GETXATTR/LISTXATTR: size 0 asks for the size, else for the data. */
static int xattr_reply(struct fuse_req *req, const char *name)
{
	const struct fuse_getxattr_in *in = ARG(struct fuse_getxattr_in);
	size_t size = in->size;
	char *buf = NULL;
	ssize_t n;
	int ret;

	if (!req->srv->opts.xattr)
		return -ENOSYS;
	/*
	 * With size 0 the reply is a fuse_getxattr_out; otherwise the value
	 * itself, into a buffer of exactly size bytes (the kernel's layout),
	 * which may be smaller than fuse_getxattr_out.
	 */
	if ((size ? size : sizeof(struct fuse_getxattr_out)) >
	    fuse_iov_left(&req->out))
		return -EINVAL;
	if (size) {
		buf = malloc(size);
		if (!buf)
			return -ENOMEM;
	}
	n = name ? pt_getxattr(req->srv->fs, req->ih.nodeid, name, buf, size) :
		   pt_listxattr(req->srv->fs, req->ih.nodeid, buf, size);
	if (n < 0) {
		ret = (int)n;
	} else if (size) {
		ret = reply_put(req, buf, (size_t)n);
	} else {
		struct fuse_getxattr_out go = { .size = (uint32_t)n };

		ret = reply_put(req, &go, sizeof(go));
	}
	free(buf);
	return ret;
}

static int do_getxattr(struct fuse_req *req)
{
	return xattr_reply(req, req->name[0]);
}

static int do_listxattr(struct fuse_req *req)
{
	return xattr_reply(req, NULL);
}

static int do_removexattr(struct fuse_req *req)
{
	if (!req->srv->opts.xattr)
		return -ENOSYS;
	return pt_removexattr(req->srv->fs, req->ih.nodeid, req->name[0]);
}

/* ---- the table ---- */

/* The name without its "FUSE_" prefix, for logs. */
#define OP(code, fn, in, out, fl) [code] = { fn, &(#code)[5], in, out, fl }

const struct fuse_op fuse_ops[] = {
	OP(FUSE_LOOKUP, do_lookup, 0, sizeof(struct fuse_entry_out), OP_NAME1),
	OP(FUSE_FORGET, do_forget, sizeof(struct fuse_forget_in), 0,
	   OP_NO_REPLY),
	OP(FUSE_GETATTR, do_getattr, sizeof(struct fuse_getattr_in),
	   sizeof(struct fuse_attr_out), 0),
	OP(FUSE_SETATTR, do_setattr, sizeof(struct fuse_setattr_in),
	   sizeof(struct fuse_attr_out), 0),
	OP(FUSE_READLINK, do_readlink, 0, 0, 0),
	OP(FUSE_SYMLINK, do_symlink, 0, sizeof(struct fuse_entry_out),
	   OP_NAME2),
	OP(FUSE_MKNOD, do_mknod, sizeof(struct fuse_mknod_in),
	   sizeof(struct fuse_entry_out), OP_NAME1),
	OP(FUSE_MKDIR, do_mkdir, sizeof(struct fuse_mkdir_in),
	   sizeof(struct fuse_entry_out), OP_NAME1),
	OP(FUSE_UNLINK, do_unlink, 0, 0, OP_NAME1),
	OP(FUSE_RMDIR, do_rmdir, 0, 0, OP_NAME1),
	OP(FUSE_RENAME, do_rename, sizeof(struct fuse_rename_in), 0, OP_NAME2),
	OP(FUSE_LINK, do_link, sizeof(struct fuse_link_in),
	   sizeof(struct fuse_entry_out), OP_NAME1),
	OP(FUSE_OPEN, do_open, sizeof(struct fuse_open_in),
	   sizeof(struct fuse_open_out), 0),
	OP(FUSE_READ, do_read, sizeof(struct fuse_read_in), 0, 0),
	OP(FUSE_WRITE, do_write, sizeof(struct fuse_write_in),
	   sizeof(struct fuse_write_out), OP_DATA),
	OP(FUSE_STATFS, do_statfs, 0, sizeof(struct fuse_statfs_out), 0),
	OP(FUSE_RELEASE, do_release, sizeof(struct fuse_release_in), 0, 0),
	OP(FUSE_FSYNC, do_fsync, sizeof(struct fuse_fsync_in), 0, 0),
	OP(FUSE_SETXATTR, do_setxattr, FUSE_COMPAT_SETXATTR_IN_SIZE, 0,
	   OP_NAME1),
	/* Reply room depends on in->size: checked in xattr_reply(). */
	OP(FUSE_GETXATTR, do_getxattr, sizeof(struct fuse_getxattr_in), 0,
	   OP_NAME1),
	OP(FUSE_LISTXATTR, do_listxattr, sizeof(struct fuse_getxattr_in), 0, 0),
	OP(FUSE_REMOVEXATTR, do_removexattr, 0, 0, OP_NAME1),
	OP(FUSE_FLUSH, do_flush, sizeof(struct fuse_flush_in), 0, 0),
	OP(FUSE_INIT, do_init, offsetof(struct fuse_init_in, flags2),
	   sizeof(struct fuse_init_out), OP_PRE_INIT),
	OP(FUSE_OPENDIR, do_opendir, sizeof(struct fuse_open_in),
	   sizeof(struct fuse_open_out), 0),
	OP(FUSE_READDIR, do_readdir, sizeof(struct fuse_read_in), 0, 0),
	OP(FUSE_RELEASEDIR, do_releasedir, sizeof(struct fuse_release_in), 0,
	   0),
	OP(FUSE_FSYNCDIR, do_fsyncdir, sizeof(struct fuse_fsync_in), 0, 0),
	OP(FUSE_GETLK, do_getlk, sizeof(struct fuse_lk_in),
	   sizeof(struct fuse_lk_out), 0),
	OP(FUSE_SETLK, do_setlk, sizeof(struct fuse_lk_in), 0, 0),
	OP(FUSE_SETLKW, do_setlkw, sizeof(struct fuse_lk_in), 0, 0),
	OP(FUSE_ACCESS, do_access, sizeof(struct fuse_access_in), 0, 0),
	OP(FUSE_CREATE, do_create, sizeof(struct fuse_create_in),
	   sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out),
	   OP_NAME1),
	OP(FUSE_INTERRUPT, do_interrupt, sizeof(struct fuse_interrupt_in), 0,
	   OP_NO_REPLY),
	OP(FUSE_DESTROY, do_destroy, 0, 0, 0),
	OP(FUSE_BATCH_FORGET, do_batch_forget,
	   sizeof(struct fuse_batch_forget_in), 0, OP_NO_REPLY),
	OP(FUSE_FALLOCATE, do_fallocate, sizeof(struct fuse_fallocate_in), 0,
	   0),
	OP(FUSE_READDIRPLUS, do_readdirplus, sizeof(struct fuse_read_in), 0,
	   0),
	OP(FUSE_RENAME2, do_rename2, sizeof(struct fuse_rename2_in), 0,
	   OP_NAME2),
	OP(FUSE_LSEEK, do_lseek, sizeof(struct fuse_lseek_in),
	   sizeof(struct fuse_lseek_out), 0),
	OP(FUSE_COPY_FILE_RANGE, do_copy_file_range,
	   sizeof(struct fuse_copy_file_range_in),
	   sizeof(struct fuse_write_out), 0),
	OP(FUSE_SETUPMAPPING, fuse_do_setupmapping,
	   sizeof(struct fuse_setupmapping_in), 0, 0),
	OP(FUSE_REMOVEMAPPING, fuse_do_removemapping,
	   sizeof(struct fuse_removemapping_in), 0, 0),
	OP(FUSE_SYNCFS, do_syncfs, sizeof(struct fuse_syncfs_in), 0, 0),
	OP(FUSE_TMPFILE, do_tmpfile, sizeof(struct fuse_create_in),
	   sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out),
	   OP_NAME1),
	/* IOCTL, POLL, BMAP, NOTIFY_REPLY: no entry, hence ENOSYS. */
};

const unsigned fuse_ops_count = ARRAY_SIZE(fuse_ops);
