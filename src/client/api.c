// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libvdax public API: sessions, files, directories, attributes, locks.
 *
 * Lock order: vdax_file.lock -> vdax.cache_lock (see client.h). The file
 * lock only guards the position; I/O runs outside it except for
 * vdax_read/vdax_write, which hold it to keep the position consistent.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/limits.h> /* XATTR_NAME_MAX */
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <stdio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/log.h"
#include "client/client.h"
#include "dax/dax.h"

#define VDAX_EXPORT __attribute__((visibility("default")))

#define FC_MAX_CHUNK (1u << 20)
#define FC_MAX_PARALLEL 16
#define FC_DIRBUF 65536
#define OFFSET_MAX ((uint64_t)INT64_MAX)

static ssize_t do_write(struct vdax_file *f, const void *buf, size_t len,
			off_t off);

/* ---------------- session ---------------- */

static int fc_init(struct vdax *vd)
{
	struct fuse_init_in in = {
		.major = FUSE_KERNEL_VERSION,
		.minor = FUSE_KERNEL_MINOR_VERSION,
		.max_readahead = 1u << 20,
		.flags = FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | FUSE_FLOCK_LOCKS |
			 FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES |
			 FUSE_DO_READDIRPLUS | FUSE_MAX_PAGES |
			 FUSE_PARALLEL_DIROPS | FUSE_INIT_EXT,
		.flags2 = 0,
	};
	struct fuse_init_out out = { 0 };
	struct fc_call c = {
		.opcode = FUSE_INIT,
		.nodeid = 0,
		.nin = 1,
		.in = { { &in, sizeof(in) } },
		.out = &out,
		.out_size = sizeof(out),
		.out_min = FUSE_COMPAT_22_INIT_OUT_SIZE,
	};
	size_t mw, cap;
	int ret;

	fc_dax_init_flags(vd, &in);
	ret = fc_send(vd, &c);
	if (ret < 0)
		return ret == -ENOTCONN ? ret : -EPROTO;
	if (out.major != FUSE_KERNEL_VERSION || out.minor < 12) {
		VLOG_ERR("vdax: backend speaks FUSE %u.%u, need 7.12+",
			 out.major, out.minor);
		return -EPROTO;
	}
	vd->minor = out.minor < FUSE_KERNEL_MINOR_VERSION ?
			    out.minor :
			    FUSE_KERNEL_MINOR_VERSION;
	vd->init_flags = out.flags;
	vd->readdirplus = out.flags & FUSE_DO_READDIRPLUS;
	mw = out.max_write ? out.max_write : 4096;
	if ((out.flags & FUSE_MAX_PAGES) && out.max_pages &&
	    (size_t)out.max_pages * 4096 < mw)
		mw = (size_t)out.max_pages * 4096;
	if (!(out.flags & FUSE_BIG_WRITES) && mw > 4096)
		mw = 4096;
	cap = vdx_max_req(vd->dev) / 4;
	cap = cap > 8192 ? cap - 4096 : 4096;
	if (mw > cap)
		mw = cap;
	if (mw > FC_MAX_CHUNK)
		mw = FC_MAX_CHUNK;
	vd->max_write = mw;
	return fc_dax_init_reply(vd, &out);
}

VDAX_EXPORT int vdax_open_session(const struct vdax_opts *opts,
				  struct vdax **out)
{
	struct vdx_cfg cfg = { 0 };
	struct fc_opts o = { 0 };
	struct vdax *vd;
	int ret;

	if (!opts || !out || !opts->socket_path)
		return -EINVAL;
	cfg.socket_path = opts->socket_path;
	cfg.mem_size = opts->mem_size;
	cfg.num_queues = opts->num_queues;
	cfg.queue_size = opts->queue_size;
	o.timeout_ms = opts->timeout_ms;
	ret = fc_parse_options(opts->options, &cfg, &o);
	if (ret)
		return ret;
	vd = calloc(1, sizeof(*vd));
	if (!vd)
		return -ENOMEM;
	vd->timeout_ms = o.timeout_ms;
	vd->cache_max = o.cache_max;
	ret = fc_cache_init(vd);
	if (ret) {
		free(vd);
		return ret;
	}
	cfg.want_shmem = o.dax_mode != FC_DAX_NEVER;
	cfg.backend_req = fc_dax_backend_req;
	cfg.backend_req_opaque = vd;
	ret = vdx_dev_open(&cfg, &vd->dev);
	if (ret)
		goto fail;
	ret = fc_dax_setup(vd, &o);
	if (ret)
		goto fail;
	ret = fc_init(vd);
	if (ret)
		goto fail;
	*out = vd;
	return 0;
fail:
	fc_cache_destroy(vd);
	fc_dax_conn_fini(vd);
	if (vd->dev)
		vdx_dev_close(vd->dev);
	vd->dev = NULL;
	fc_dax_window_fini(vd);
	free(vd);
	return ret;
}

VDAX_EXPORT void vdax_close(struct vdax *vd)
{
	if (!vd)
		return;
	fc_mmap_session_close(vd);
	/* Evicting DAX nodes removes their mappings: before the conn goes. */
	fc_cache_destroy(vd);
	fc_dax_conn_fini(vd);
	vdx_dev_close(vd->dev);
	fc_dax_window_fini(vd);
	free(vd);
}

VDAX_EXPORT void vdax_set_timeout(struct vdax *vd, unsigned timeout_ms)
{
	__atomic_store_n(&vd->timeout_ms, timeout_ms, __ATOMIC_RELAXED);
}

VDAX_EXPORT size_t vdax_max_write(const struct vdax *vd)
{
	return vd->max_write;
}

VDAX_EXPORT unsigned vdax_proto_minor(const struct vdax *vd)
{
	return vd->minor;
}

/* ---------------- attributes ---------------- */

static void attr_to_stat(const struct fuse_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_size = (off_t)a->size;
	st->st_blksize = a->blksize ? a->blksize : 4096;
	st->st_blocks = a->blocks;
	st->st_atim.tv_sec = a->atime;
	st->st_atim.tv_nsec = a->atimensec;
	st->st_mtim.tv_sec = a->mtime;
	st->st_mtim.tv_nsec = a->mtimensec;
	st->st_ctim.tv_sec = a->ctime;
	st->st_ctim.tv_nsec = a->ctimensec;
}

static int getattr_node(struct vdax *vd, struct fc_node *n,
			struct vdax_file *f, struct fuse_attr *a)
{
	struct fuse_getattr_in in = { 0 };
	struct fuse_attr_out ao;
	struct fc_call c = {
		.opcode = FUSE_GETATTR,
		.nodeid = n->nodeid,
		.nin = 1,
		.in = { { &in, sizeof(in) } },
		.out = &ao,
		.out_size = sizeof(ao),
		.out_min = sizeof(ao),
	};
	int ret;

	if (!f && fc_attr_cached(vd, n, a))
		return 0;
	if (f) {
		in.getattr_flags = FUSE_GETATTR_FH;
		in.fh = f->fh;
	}
	ret = fc_send(vd, &c);
	if (ret < 0)
		return ret;
	if (((ao.attr.mode ^ fc_node_mode(vd, n)) & S_IFMT) &&
	    n->nodeid != FUSE_ROOT_ID)
		return -EIO; /* type of an inode never changes */
	fc_attr_update(vd, n, &ao);
	*a = ao.attr;
	return 0;
}

int fc_getattr(struct vdax *vd, struct fc_node *n, struct vdax_file *f,
	       struct fuse_attr *a)
{
	return getattr_node(vd, n, f, a);
}

static int setattr_node(struct vdax *vd, struct fc_node *n,
			struct vdax_file *f, struct fuse_setattr_in *in)
{
	struct fuse_attr_out ao;
	struct fc_call c = {
		.opcode = FUSE_SETATTR,
		.nodeid = n->nodeid,
		.nin = 1,
		.in = { { in, sizeof(*in) } },
		.out = &ao,
		.out_size = sizeof(ao),
		.out_min = sizeof(ao),
	};
	int ret;

	bool trunc = (in->valid & FATTR_SIZE) && S_ISREG(fc_node_mode(vd, n));

	if (f) {
		in->valid |= FATTR_FH;
		in->fh = f->fh;
	}
	/* Nothing may be mapped past the new end when the host cuts it. */
	if (trunc)
		fc_dax_change_begin(vd, n, in->size, UINT64_MAX);
	ret = fc_send(vd, &c);
	if (ret >= 0)
		fc_attr_update(vd, n, &ao);
	else
		fc_attr_invalidate(vd, n);
	if (trunc)
		fc_dax_change_end(vd, n);
	if (ret < 0)
		return ret;
	return 0;
}

static int with_node(struct vdax *vd, const char *path, int wflags,
		     struct fc_node **n)
{
	char name[FC_NAME_MAX + 1];
	bool must_dir = false;

	if (!vd)
		return -EINVAL;
	if (vdx_dev_broken(vd->dev))
		return -ENOTCONN;
	return fc_walk(vd, path, wflags, n, name, &must_dir);
}

static int stat_common(struct vdax *vd, const char *path, int wflags,
		       struct stat *st, struct vdax_ttl *ttl)
{
	struct fuse_attr a;
	struct fc_node *n;
	int ret = with_node(vd, path, wflags, &n);

	if (ret)
		return ret;
	ret = getattr_node(vd, n, NULL, &a);
	if (!ret) {
		attr_to_stat(&a, st);
		if (ttl)
			fc_node_ttl(vd, n, ttl);
	}
	fc_node_put(vd, n);
	return ret;
}

VDAX_EXPORT int vdax_stat(struct vdax *vd, const char *path, struct stat *st)
{
	return stat_common(vd, path, FC_WALK_FOLLOW, st, NULL);
}

VDAX_EXPORT int vdax_lstat(struct vdax *vd, const char *path, struct stat *st)
{
	return stat_common(vd, path, 0, st, NULL);
}

VDAX_EXPORT int vdax_stat_ttl(struct vdax *vd, const char *path,
			      struct stat *st, struct vdax_ttl *ttl)
{
	return stat_common(vd, path, FC_WALK_FOLLOW, st, ttl);
}

VDAX_EXPORT int vdax_lstat_ttl(struct vdax *vd, const char *path,
			       struct stat *st, struct vdax_ttl *ttl)
{
	return stat_common(vd, path, 0, st, ttl);
}

VDAX_EXPORT int vdax_fstat_ttl(struct vdax_file *f, struct stat *st,
			       struct vdax_ttl *ttl)
{
	struct fuse_attr a;
	int ret;

	if (!f)
		return -EBADF;
	ret = getattr_node(f->vd, f->node, f, &a);
	if (!ret) {
		attr_to_stat(&a, st);
		if (ttl)
			fc_node_ttl(f->vd, f->node, ttl);
	}
	return ret;
}

VDAX_EXPORT int vdax_fstat(struct vdax_file *f, struct stat *st)
{
	return vdax_fstat_ttl(f, st, NULL);
}

static int setattr_path(struct vdax *vd, const char *path, int wflags,
			struct fuse_setattr_in *in)
{
	struct fc_node *n;
	int ret = with_node(vd, path, wflags, &n);

	if (ret)
		return ret;
	ret = setattr_node(vd, n, NULL, in);
	fc_node_put(vd, n);
	return ret;
}

VDAX_EXPORT int vdax_chmod(struct vdax *vd, const char *path, mode_t mode)
{
	struct fuse_setattr_in in = { .valid = FATTR_MODE,
				      .mode = mode & 07777 };

	return setattr_path(vd, path, FC_WALK_FOLLOW, &in);
}

VDAX_EXPORT int vdax_chown(struct vdax *vd, const char *path, uid_t uid,
			   gid_t gid)
{
	struct fuse_setattr_in in = { 0 };

	if (uid != (uid_t)-1) {
		in.valid |= FATTR_UID;
		in.uid = uid;
	}
	if (gid != (gid_t)-1) {
		in.valid |= FATTR_GID;
		in.gid = gid;
	}
	return setattr_path(vd, path, FC_WALK_FOLLOW, &in);
}

static int set_time(struct fuse_setattr_in *in, const struct timespec *t,
		    bool atime)
{
	uint32_t set = atime ? FATTR_ATIME : FATTR_MTIME;
	uint32_t now = atime ? FATTR_ATIME_NOW : FATTR_MTIME_NOW;

	if (!t || t->tv_nsec == UTIME_NOW) {
		in->valid |= set | now;
		return 0;
	}
	if (t->tv_nsec == UTIME_OMIT)
		return 0;
	if (t->tv_nsec < 0 || t->tv_nsec >= 1000000000)
		return -EINVAL;
	in->valid |= set;
	if (atime) {
		in->atime = t->tv_sec;
		in->atimensec = t->tv_nsec;
	} else {
		in->mtime = t->tv_sec;
		in->mtimensec = t->tv_nsec;
	}
	return 0;
}

VDAX_EXPORT int vdax_utimens(struct vdax *vd, const char *path,
			     const struct timespec times[2], int flags)
{
	struct fuse_setattr_in in = { 0 };
	int ret;

	if (flags & ~AT_SYMLINK_NOFOLLOW)
		return -EINVAL;
	ret = set_time(&in, times ? &times[0] : NULL, true);
	if (!ret)
		ret = set_time(&in, times ? &times[1] : NULL, false);
	if (ret)
		return ret;
	if (!in.valid)
		return with_node(vd, path, 0, &(struct fc_node *){ NULL }) ?:
			       0; /* still report ENOENT */
	return setattr_path(vd, path,
			    (flags & AT_SYMLINK_NOFOLLOW) ? 0 : FC_WALK_FOLLOW,
			    &in);
}

VDAX_EXPORT int vdax_truncate(struct vdax *vd, const char *path, off_t len)
{
	struct fuse_setattr_in in = { .valid = FATTR_SIZE,
				      .size = (uint64_t)len };
	struct fc_node *n;
	int ret;

	if (len < 0)
		return -EINVAL;
	ret = with_node(vd, path, FC_WALK_FOLLOW, &n);
	if (ret)
		return ret;
	if (S_ISDIR(fc_node_mode(vd, n)))
		ret = -EISDIR;
	else if (!S_ISREG(fc_node_mode(vd, n)))
		ret = -EINVAL;
	else
		ret = setattr_node(vd, n, NULL, &in);
	fc_node_put(vd, n);
	return ret;
}

VDAX_EXPORT int vdax_ftruncate(struct vdax_file *f, off_t len)
{
	struct fuse_setattr_in in = { .valid = FATTR_SIZE,
				      .size = (uint64_t)len };

	if (!f || f->is_dir || (f->flags & O_ACCMODE) == O_RDONLY)
		return f && f->is_dir ? -EISDIR : (f ? -EINVAL : -EBADF);
	if (len < 0)
		return -EINVAL;
	return setattr_node(f->vd, f->node, f, &in);
}

VDAX_EXPORT int vdax_statfs(struct vdax *vd, const char *path,
			    struct statvfs *st)
{
	struct fuse_statfs_out so;
	struct fc_node *n;
	int ret = with_node(vd, path, FC_WALK_FOLLOW, &n);
	struct fc_call c = { .opcode = FUSE_STATFS,
			     .out = &so,
			     .out_size = sizeof(so),
			     .out_min = FUSE_COMPAT_STATFS_SIZE };

	if (ret)
		return ret;
	memset(&so, 0, sizeof(so));
	c.nodeid = n->nodeid;
	ret = fc_send(vd, &c);
	fc_node_put(vd, n);
	if (ret < 0)
		return ret;
	memset(st, 0, sizeof(*st));
	st->f_bsize = so.st.bsize;
	st->f_frsize = so.st.frsize ? so.st.frsize : so.st.bsize;
	st->f_blocks = so.st.blocks;
	st->f_bfree = so.st.bfree;
	st->f_bavail = so.st.bavail;
	st->f_files = so.st.files;
	st->f_ffree = so.st.ffree;
	st->f_favail = so.st.ffree;
	st->f_namemax = so.st.namelen;
	return 0;
}

/* ---------------- namespace ---------------- */

static int with_parent(struct vdax *vd, const char *path, struct fc_node **dir,
		       char name[FC_NAME_MAX + 1], bool *must_dir)
{
	int ret;

	if (!vd)
		return -EINVAL;
	if (vdx_dev_broken(vd->dev))
		return -ENOTCONN;
	*must_dir = false;
	ret = fc_walk(vd, path, FC_WALK_PARENT, dir, name, must_dir);
	if (ret)
		return ret;
	if (!S_ISDIR(fc_node_mode(vd, *dir))) {
		fc_node_put(vd, *dir);
		return -ENOTDIR;
	}
	return 0;
}

/* A request that creates @name in @dir and answers fuse_entry_out. */
static int create_entry(struct vdax *vd, struct fc_node *dir, const char *name,
			struct fc_call *c, struct fc_node **out)
{
	struct fuse_entry_out e;
	struct fc_node *n;
	int ret;

	c->nodeid = dir->nodeid;
	c->out = &e;
	c->out_size = sizeof(e);
	c->out_min = sizeof(e);
	ret = fc_send(vd, c);
	if (ret < 0)
		return ret;
	fc_attr_invalidate(vd, dir);
	ret = fc_cache_enter(vd, dir, name, strlen(name), &e, false, &n);
	if (ret)
		return ret;
	if (out)
		*out = n;
	else
		fc_node_put(vd, n);
	return 0;
}

VDAX_EXPORT int vdax_mkdir(struct vdax *vd, const char *path, mode_t mode)
{
	char name[FC_NAME_MAX + 1];
	struct fuse_mkdir_in in = { .mode = mode & 07777, .umask = 0 };
	struct fc_call c = { .opcode = FUSE_MKDIR, .nin = 2 };
	struct fc_node *dir;
	bool must_dir;
	int ret = with_parent(vd, path, &dir, name, &must_dir);

	if (ret)
		return ret == -EBUSY || ret == -EINVAL || ret == -ENOTEMPTY ?
			       -EEXIST : ret;
	c.in[0] = (struct iovec){ &in, sizeof(in) };
	c.in[1] = (struct iovec){ name, strlen(name) + 1 };
	ret = create_entry(vd, dir, name, &c, NULL);
	fc_node_put(vd, dir);
	return ret;
}

VDAX_EXPORT int vdax_mknod(struct vdax *vd, const char *path, mode_t mode,
			   dev_t dev)
{
	char name[FC_NAME_MAX + 1];
	struct fuse_mknod_in in = { .mode = mode, .rdev = (uint32_t)dev };
	struct fc_call c = { .opcode = FUSE_MKNOD, .nin = 2 };
	struct fc_node *dir;
	bool must_dir;
	int ret;

	if (!(mode & S_IFMT))
		in.mode |= S_IFREG;
	if (S_ISDIR(in.mode))
		return -EPERM;
	ret = with_parent(vd, path, &dir, name, &must_dir);
	if (ret)
		return ret == -EBUSY || ret == -EINVAL || ret == -ENOTEMPTY ?
			       -EEXIST : ret;
	if (must_dir) {
		fc_node_put(vd, dir);
		return -ENOENT;
	}
	c.in[0] = (struct iovec){ &in, sizeof(in) };
	c.in[1] = (struct iovec){ name, strlen(name) + 1 };
	ret = create_entry(vd, dir, name, &c, NULL);
	fc_node_put(vd, dir);
	return ret;
}

VDAX_EXPORT int vdax_symlink(struct vdax *vd, const char *target,
			     const char *linkpath)
{
	char name[FC_NAME_MAX + 1];
	struct fc_call c = { .opcode = FUSE_SYMLINK, .nin = 2 };
	struct fc_node *dir;
	bool must_dir;
	int ret;

	if (!target)
		return -EFAULT;
	if (!*target)
		return -ENOENT;
	if (strnlen(target, FC_PATH_MAX) >= FC_PATH_MAX)
		return -ENAMETOOLONG;
	ret = with_parent(vd, linkpath, &dir, name, &must_dir);
	if (ret)
		return ret == -EBUSY || ret == -EINVAL || ret == -ENOTEMPTY ?
			       -EEXIST : ret;
	c.in[0] = (struct iovec){ name, strlen(name) + 1 };
	c.in[1] = (struct iovec){ (void *)target, strlen(target) + 1 };
	ret = must_dir ? -ENOENT : create_entry(vd, dir, name, &c, NULL);
	fc_node_put(vd, dir);
	return ret;
}

VDAX_EXPORT int vdax_link(struct vdax *vd, const char *oldpath,
			  const char *newpath)
{
	char name[FC_NAME_MAX + 1];
	struct fuse_link_in in;
	struct fc_call c = { .opcode = FUSE_LINK, .nin = 2 };
	struct fc_node *old, *dir;
	bool must_dir;
	int ret = with_node(vd, oldpath, 0, &old);

	if (ret)
		return ret;
	if (S_ISDIR(fc_node_mode(vd, old))) {
		fc_node_put(vd, old);
		return -EPERM;
	}
	ret = with_parent(vd, newpath, &dir, name, &must_dir);
	if (ret) {
		fc_node_put(vd, old);
		return ret == -EBUSY || ret == -EINVAL || ret == -ENOTEMPTY ?
			       -EEXIST : ret;
	}
	in.oldnodeid = old->nodeid;
	c.in[0] = (struct iovec){ &in, sizeof(in) };
	c.in[1] = (struct iovec){ name, strlen(name) + 1 };
	ret = must_dir ? -ENOENT : create_entry(vd, dir, name, &c, NULL);
	if (!ret)
		fc_attr_invalidate(vd, old); /* nlink changed */
	fc_node_put(vd, dir);
	fc_node_put(vd, old);
	return ret;
}

static int remove_common(struct vdax *vd, const char *path, uint32_t opcode)
{
	char name[FC_NAME_MAX + 1];
	struct fc_call c = { .opcode = opcode, .nin = 1 };
	struct fc_node *dir;
	bool must_dir;
	int ret = with_parent(vd, path, &dir, name, &must_dir);

	if (ret) {
		if (opcode == FUSE_UNLINK && (ret == -EINVAL || ret == -EBUSY ||
					      ret == -ENOTEMPTY))
			return -EISDIR;
		return ret;
	}
	/* The VFS has the dentry before it asks to remove it: look the name
	 * up first, which also gives the type errors. */
	{
		struct fc_node *n;
		uint32_t m;

		ret = fc_lookup(vd, dir, name, &n);
		if (ret) {
			fc_node_put(vd, dir);
			return ret;
		}
		m = fc_node_mode(vd, n);
		fc_node_put(vd, n);
		if (opcode == FUSE_UNLINK && S_ISDIR(m))
			ret = -EISDIR;
		else if (opcode == FUSE_RMDIR && !S_ISDIR(m))
			ret = -ENOTDIR;
		else if (opcode == FUSE_UNLINK && must_dir)
			ret = -ENOTDIR;
		if (ret) {
			fc_node_put(vd, dir);
			return ret;
		}
	}
	c.nodeid = dir->nodeid;
	c.in[0] = (struct iovec){ name, strlen(name) + 1 };
	ret = fc_send(vd, &c);
	if (ret > 0)
		ret = 0;
	if (!ret || ret == -ENOENT) {
		fc_cache_drop(vd, dir, name);
		fc_attr_invalidate(vd, dir);
	}
	fc_node_put(vd, dir);
	return ret;
}

VDAX_EXPORT int vdax_unlink(struct vdax *vd, const char *path)
{
	return remove_common(vd, path, FUSE_UNLINK);
}

VDAX_EXPORT int vdax_rmdir(struct vdax *vd, const char *path)
{
	return remove_common(vd, path, FUSE_RMDIR);
}

VDAX_EXPORT int vdax_rename(struct vdax *vd, const char *from, const char *to,
			    unsigned flags)
{
	char oname[FC_NAME_MAX + 1], nname[FC_NAME_MAX + 1];
	struct fuse_rename2_in in2 = { .flags = flags };
	struct fuse_rename_in in1;
	struct fc_node *odir, *ndir, *on = NULL, *nn = NULL;
	struct fc_call c = { .nin = 3 };
	bool od, nd;
	int ret;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
		return -EINVAL;
	if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
		return -EINVAL;
	ret = with_parent(vd, from, &odir, oname, &od);
	if (ret)
		return ret == -EINVAL || ret == -ENOTEMPTY ? -EINVAL : -EBUSY;
	ret = with_parent(vd, to, &ndir, nname, &nd);
	if (ret) {
		fc_node_put(vd, odir);
		return ret == -EINVAL || ret == -ENOTEMPTY ? -EINVAL :
		       ret == -EBUSY ? -EBUSY : ret;
	}
	/* Hold both inodes across the call, as the VFS holds its dentries:
	 * backends resolve the names through inodes we have looked up. */
	ret = fc_lookup(vd, odir, oname, &on);
	if (ret)
		goto out;
	ret = fc_lookup(vd, ndir, nname, &nn);
	if (ret && ret != -ENOENT)
		goto out;
	if ((flags & RENAME_EXCHANGE) && ret)
		goto out;
	/* A trailing slash on either name means "a directory" (rename(2)). */
	if ((od || nd) && (!S_ISDIR(fc_node_mode(vd, on)) ||
			   (nn && !S_ISDIR(fc_node_mode(vd, nn))))) {
		ret = -ENOTDIR;
		goto out;
	}
	c.nodeid = odir->nodeid;
	if (flags) {
		in2.newdir = ndir->nodeid;
		c.opcode = FUSE_RENAME2;
		c.in[0] = (struct iovec){ &in2, sizeof(in2) };
	} else {
		in1.newdir = ndir->nodeid;
		c.opcode = FUSE_RENAME;
		c.in[0] = (struct iovec){ &in1, sizeof(in1) };
	}
	c.in[1] = (struct iovec){ oname, strlen(oname) + 1 };
	c.in[2] = (struct iovec){ nname, strlen(nname) + 1 };
	ret = fc_send(vd, &c);
	if (ret > 0)
		ret = 0;
	fc_cache_drop(vd, odir, oname);
	fc_cache_drop(vd, ndir, nname);
	fc_attr_invalidate(vd, odir);
	fc_attr_invalidate(vd, ndir);
	fc_attr_invalidate(vd, on); /* ctime */
out:
	fc_node_put(vd, on);
	fc_node_put(vd, nn);
	fc_node_put(vd, odir);
	fc_node_put(vd, ndir);
	return ret;
}

VDAX_EXPORT ssize_t vdax_readlink(struct vdax *vd, const char *path, char *buf,
				  size_t size)
{
	char tmp[FC_PATH_MAX];
	struct fc_node *n;
	int ret;

	if (!size)
		return -EINVAL;
	ret = with_node(vd, path, 0, &n);
	if (ret)
		return ret;
	if (!S_ISLNK(fc_node_mode(vd, n)))
		ret = -EINVAL;
	else
		ret = fc_readlink_node(vd, n, tmp, sizeof(tmp));
	fc_node_put(vd, n);
	if (ret < 0)
		return ret;
	if ((size_t)ret > size)
		ret = (int)size;
	memcpy(buf, tmp, ret);
	return ret;
}

/* ---------------- open/release ---------------- */

static uint64_t new_owner(struct vdax *vd)
{
	return __atomic_add_fetch(&vd->lock_owner_seq, 1, __ATOMIC_RELAXED) ^
	       ((uint64_t)(uintptr_t)vd << 16);
}

static struct vdax_file *file_new(struct vdax *vd, struct fc_node *n,
				  uint64_t fh, int flags, bool is_dir)
{
	struct vdax_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->vd = vd;
	f->node = n;
	f->fh = fh;
	f->flags = flags;
	f->is_dir = is_dir;
	f->owner = new_owner(vd);
	pthread_mutex_init(&f->lock, NULL);
	return f;
}

static void send_release(struct vdax *vd, struct fc_node *n, uint64_t fh,
			 int flags, bool dir, uint32_t rflags, uint64_t owner)
{
	struct fuse_release_in in = { .fh = fh,
				      .flags = (uint32_t)flags,
				      .release_flags = rflags,
				      .lock_owner = owner };
	struct fc_call c = {
		.opcode = dir ? FUSE_RELEASEDIR : FUSE_RELEASE,
		.nodeid = n->nodeid,
		.nin = 1,
		.in = { { &in, sizeof(in) } },
	};

	fc_send(vd, &c);
}

static int open_node(struct vdax *vd, struct fc_node *n, int flags,
		     struct vdax_file **out)
{
	uint32_t mode = fc_node_mode(vd, n);
	bool dir = S_ISDIR(mode);
	struct fuse_open_in in = { 0 };
	struct fuse_open_out oo;
	struct fc_call c = {
		.opcode = dir ? FUSE_OPENDIR : FUSE_OPEN,
		.nodeid = n->nodeid,
		.nin = 1,
		.in = { { &in, sizeof(in) } },
		.out = &oo,
		.out_size = sizeof(oo),
		.out_min = sizeof(oo),
	};
	struct vdax_file *f;
	int ret;

	if (S_ISLNK(mode))
		return -ELOOP;
	if ((flags & O_DIRECTORY) && !dir)
		return -ENOTDIR;
	if (dir && ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)))
		return -EISDIR;
	in.flags = flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_NOFOLLOW |
			     O_DIRECTORY | O_CLOEXEC);
	if (!(vd->init_flags & FUSE_ATOMIC_O_TRUNC))
		in.flags &= ~O_TRUNC;
	if (!dir && vd->dax) {
		fc_dax_node_open(vd, n);
		/* The window reads the size from the attributes: fresh ones
		 * at open (the host may have changed the file). */
		fc_attr_invalidate(vd, n);
	}
	if (in.flags & O_TRUNC) {
		fc_dax_change_begin(vd, n, 0, UINT64_MAX);
		ret = fc_send(vd, &c);
		fc_dax_change_end(vd, n);
	} else {
		ret = fc_send(vd, &c);
	}
	if (ret < 0)
		return ret;
	f = file_new(vd, n, oo.fh, flags, dir);
	if (!f) {
		send_release(vd, n, oo.fh, in.flags, dir, 0, 0);
		return -ENOMEM;
	}
	if ((flags & O_TRUNC) && !dir) {
		if (!(vd->init_flags & FUSE_ATOMIC_O_TRUNC)) {
			ret = vdax_ftruncate(f, 0);
			if (ret) {
				vdax_release(f);
				return ret;
			}
		}
		fc_attr_invalidate(vd, n);
	}
	*out = f;
	return 0;
}

int fc_open_node(struct vdax *vd, struct fc_node *n, int flags,
		 struct vdax_file **out)
{
	return open_node(vd, n, flags, out);
}

static int create_node(struct vdax *vd, struct fc_node *dir, const char *name,
		       int flags, mode_t mode, struct vdax_file **out)
{
	struct fuse_create_in in = {
		.flags = (uint32_t)(flags & ~(O_NOCTTY | O_NOFOLLOW |
					      O_DIRECTORY | O_CLOEXEC)),
		.mode = S_IFREG | (mode & 07777),
		.umask = 0,
	};
	struct {
		struct fuse_entry_out e;
		struct fuse_open_out o;
	} reply;
	struct fc_call c = {
		.opcode = FUSE_CREATE,
		.nodeid = dir->nodeid,
		.nin = 2,
		.in = { { &in, sizeof(in) }, { (void *)name, strlen(name) + 1 } },
		.out = &reply,
		.out_size = sizeof(reply),
		.out_min = sizeof(reply),
	};
	struct fc_node *n;
	struct vdax_file *f;
	int ret = fc_send(vd, &c);

	if (ret < 0)
		return ret;
	fc_attr_invalidate(vd, dir);
	ret = fc_cache_enter(vd, dir, name, strlen(name), &reply.e, false,
			     &n);
	if (ret) {
		return ret;
	}
	f = file_new(vd, n, reply.o.fh, flags, false);
	if (!f) {
		send_release(vd, n, reply.o.fh, in.flags, false, 0, 0);
		fc_node_put(vd, n);
		return -ENOMEM;
	}
	fc_dax_node_open(vd, n);
	*out = f;
	return 0;
}

/*
 * The path of @link's target, as open(2) would resolve it: an absolute
 * target from the root, a relative one from the directory of @path.
 */
static int link_target_path(struct vdax *vd, struct fc_node *link,
			    const char *path, char out[FC_PATH_MAX])
{
	char target[FC_PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
	ssize_t n = fc_readlink_node(vd, link, target, sizeof(target) - 1);

	if (n < 0)
		return (int)n;
	if (n == 0)
		return -ENOENT;
	target[n] = '\0';
	if (target[0] == '/')
		dirlen = 0;
	if (dirlen + (size_t)n >= FC_PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(out, path, dirlen);
	memcpy(out + dirlen, target, (size_t)n + 1);
	return 0;
}

static int open_path(struct vdax *vd, const char *path, int flags, mode_t mode,
		     struct vdax_file **out, unsigned links)
{
	struct fc_node *n, *dir;
	char name[FC_NAME_MAX + 1];
	bool must_dir;
	int ret;

	if (!(flags & O_CREAT)) {
		ret = fc_walk(vd, path, (flags & O_NOFOLLOW) ? 0 : FC_WALK_FOLLOW,
			      &n, name, &must_dir);
		if (ret)
			return ret;
		ret = open_node(vd, n, flags, out);
		if (ret)
			fc_node_put(vd, n);
		return ret;
	}
	ret = with_parent(vd, path, &dir, name, &must_dir);
	if (ret)
		return ret == -EINVAL || ret == -EBUSY || ret == -ENOTEMPTY ?
			       -EISDIR : ret;
	if (must_dir) {
		fc_node_put(vd, dir);
		return -EISDIR;
	}
	ret = fc_lookup(vd, dir, name, &n);
	if (ret == -ENOENT) {
		ret = create_node(vd, dir, name, flags, mode, out);
		fc_node_put(vd, dir);
		return ret;
	}
	if (ret) {
		fc_node_put(vd, dir);
		return ret;
	}
	if (flags & O_EXCL) {
		fc_node_put(vd, n);
		fc_node_put(vd, dir);
		return -EEXIST;
	}
	fc_node_put(vd, dir);
	if (S_ISLNK(fc_node_mode(vd, n)) && !(flags & O_NOFOLLOW)) {
		/* Open, or create as open(2) does, what the link names. */
		char *target = malloc(FC_PATH_MAX);

		ret = target ? link_target_path(vd, n, path, target) : -ENOMEM;
		fc_node_put(vd, n);
		if (ret == 0)
			ret = links >= FC_MAXSYMLINKS ?
				      -ELOOP :
				      open_path(vd, target, flags, mode, out,
						links + 1);
		free(target);
		return ret;
	}
	ret = open_node(vd, n, flags, out);
	if (ret)
		fc_node_put(vd, n);
	return ret;
}

VDAX_EXPORT int vdax_open(struct vdax *vd, const char *path, int flags,
			  mode_t mode, struct vdax_file **out)
{
	if (!vd || !out)
		return -EINVAL;
	if (vdx_dev_broken(vd->dev))
		return -ENOTCONN;
	if ((flags & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	return open_path(vd, path, flags, mode, out, 0);
}

VDAX_EXPORT int vdax_create(struct vdax *vd, const char *path, int flags,
			    mode_t mode, struct vdax_file **out)
{
	return vdax_open(vd, path, flags | O_CREAT, mode, out);
}

VDAX_EXPORT int vdax_release(struct vdax_file *f)
{
	struct vdax *vd;
	int ret = 0;

	if (!f)
		return 0;
	vd = f->vd;
	if (!f->is_dir) {
		struct fuse_flush_in in = { .fh = f->fh,
					    .lock_owner = f->owner };
		struct fc_call c = { .opcode = FUSE_FLUSH,
				     .nodeid = f->node->nodeid,
				     .nin = 1,
				     .in = { { &in, sizeof(in) } } };

		ret = fc_send(vd, &c);
		if (ret > 0 || ret == -ENOSYS)
			ret = 0;
	}
	send_release(vd, f->node, f->fh, f->flags, f->is_dir,
		     f->flocked ? FUSE_RELEASE_FLOCK_UNLOCK : 0, f->owner);
	fc_node_put(vd, f->node);
	pthread_mutex_destroy(&f->lock);
	free(f);
	return ret;
}

/* ---------------- I/O ---------------- */

struct io_chunk {
	struct fc_call c;
	struct vdx_req *r;
	union {
		struct fuse_read_in rin;
		struct {
			struct fuse_write_in win;
			struct fuse_write_out wout;
		};
	};
	size_t len;
};

static void chunk_setup(struct vdax_file *f, struct io_chunk *ch, bool write,
			char *buf, size_t len, uint64_t off)
{
	memset(ch, 0, sizeof(*ch));
	ch->len = len;
	ch->c.nodeid = f->node->nodeid;
	if (write) {
		ch->c.opcode = FUSE_WRITE;
		ch->win = (struct fuse_write_in){ .fh = f->fh,
						  .offset = off,
						  .size = (uint32_t)len,
						  .write_flags =
							  FUSE_WRITE_LOCKOWNER,
						  .lock_owner = f->owner,
						  .flags = (uint32_t)f->flags };
		ch->c.nin = 2;
		ch->c.in[0] = (struct iovec){ &ch->win, sizeof(ch->win) };
		ch->c.in[1] = (struct iovec){ buf, len };
		ch->c.out = &ch->wout;
		ch->c.out_size = sizeof(ch->wout);
		ch->c.out_min = sizeof(ch->wout);
	} else {
		ch->c.opcode = FUSE_READ;
		ch->rin = (struct fuse_read_in){ .fh = f->fh,
						 .offset = off,
						 .size = (uint32_t)len,
						 .read_flags = FUSE_READ_LOCKOWNER,
						 .lock_owner = f->owner,
						 .flags = (uint32_t)f->flags };
		ch->c.nin = 1;
		ch->c.in[0] = (struct iovec){ &ch->rin, sizeof(ch->rin) };
		ch->c.out = buf;
		ch->c.out_size = len;
	}
}

/* Finish a chunk: bytes transferred or -errno. */
static ssize_t chunk_finish(struct vdax *vd, struct io_chunk *ch, bool write)
{
	int ret = fc_finish(vd, &ch->c, ch->r);

	ch->r = NULL;
	if (ret < 0)
		return ret;
	if (!write)
		return ret;
	if (ch->wout.size > ch->len)
		return -EIO;
	return ch->wout.size;
}

/*
 * Split [off, off+len) at max_write and keep up to FC_MAX_PARALLEL chunks
 * in flight. Only the first allocation may block (see vdx_req_new()).
 * Returns bytes done up to the first short or failed chunk, or its error
 * if nothing was done.
 */
static ssize_t do_io(struct vdax_file *f, bool write, char *buf, size_t len,
		     uint64_t off)
{
	struct vdax *vd = f->vd;
	struct io_chunk ch[FC_MAX_PARALLEL];
	size_t cs = vd->max_write, issued = 0, done = 0;
	unsigned head = 0, n = 0;
	ssize_t err = 0;
	bool stop = false;

	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	if (!len)
		return 0;
	while ((issued < len && !stop) || n) {
		/* issue */
		while (issued < len && !stop && n < FC_MAX_PARALLEL) {
			struct io_chunk *c = &ch[(head + n) % FC_MAX_PARALLEL];
			size_t l = len - issued < cs ? len - issued : cs;
			int ret;

			chunk_setup(f, c, write, buf + issued, l, off + issued);
			ret = fc_start(vd, &c->c, n > 0, &c->r);
			if (ret == -EAGAIN)
				break;
			if (ret) {
				err = ret;
				stop = true;
				break;
			}
			issued += l;
			n++;
		}
		if (!n)
			break;
		/* complete the oldest */
		{
			struct io_chunk *c = &ch[head];
			ssize_t got = chunk_finish(vd, c, write);

			head = (head + 1) % FC_MAX_PARALLEL;
			n--;
			if (stop || err) {
				continue;
			} else if (got < 0) {
				err = got;
				stop = true;
			} else {
				done += got;
				if ((size_t)got < c->len)
					stop = true;
			}
		}
	}
	if (write && (done || err))
		fc_attr_invalidate(vd, f->node);
	if (done)
		return done;
	return err;
}

static int check_io(struct vdax_file *f, bool write, off_t off)
{
	int acc;

	if (!f)
		return -EBADF;
	if (f->is_dir)
		return -EISDIR;
	acc = f->flags & O_ACCMODE;
	if (write ? acc == O_RDONLY : acc == O_WRONLY)
		return -EBADF;
	if (off < 0)
		return -EINVAL;
	if (vdx_dev_broken(f->vd->dev))
		return -ENOTCONN;
	return 0;
}

ssize_t fc_write_fuse(struct vdax_file *f, const void *buf, size_t len,
		      uint64_t off)
{
	return do_io(f, true, (char *)buf, len, off);
}

/* Through the DAX window if the file is a DAX file, else READ/WRITE. */
static ssize_t rw_once(struct vdax_file *f, bool write, char *buf, size_t len,
		       uint64_t off)
{
	bool used;
	ssize_t ret;

	if (write)
		ret = fc_dax_write(f, buf, len, off, &used);
	else
		ret = fc_dax_read(f, buf, len, off, &used);
	if (used)
		return ret;
	return do_io(f, write, buf, len, off);
}

#define FC_BOUNCE (1u << 20)

/*
 * A buffer that is itself a vdax_mmap() mapping may fault while it is
 * copied. Copy it through a bounce buffer outside every lock and range
 * reference, so that the fault service never waits for what the faulting
 * copy holds. The transfer is then split in 1 MiB steps (not atomic as a
 * whole, as with any short transfer).
 */
static ssize_t rw(struct vdax_file *f, bool write, char *buf, size_t len,
		  uint64_t off)
{
	size_t done = 0, n;
	ssize_t ret = 0;
	char *tmp;

	if (!fc_mmap_overlaps(buf, len))
		return rw_once(f, write, buf, len, off);
	tmp = malloc(len < FC_BOUNCE ? len : FC_BOUNCE);
	if (!tmp)
		return -ENOMEM;
	while (done < len) {
		n = len - done < FC_BOUNCE ? len - done : FC_BOUNCE;
		if (write)
			memcpy(tmp, buf + done, n);
		ret = rw_once(f, write, tmp, n, off + done);
		if (ret <= 0)
			break;
		if (!write)
			memcpy(buf + done, tmp, (size_t)ret);
		done += (size_t)ret;
		if ((size_t)ret < n)
			break;
	}
	free(tmp);
	return done ? (ssize_t)done : ret;
}

VDAX_EXPORT ssize_t vdax_pread(struct vdax_file *f, void *buf, size_t len,
			       off_t off)
{
	int ret = check_io(f, false, off);

	if (ret)
		return ret;
	return rw(f, false, buf, len, (uint64_t)off);
}

VDAX_EXPORT ssize_t vdax_pread_window(struct vdax_file *f, size_t len,
				      off_t off,
				      int (*fn)(const struct iovec *iov,
						int cnt, void *arg),
				      void *arg)
{
	int ret = check_io(f, false, off);

	if (ret)
		return ret;
	if (!fn)
		return -EINVAL;
	return fc_dax_read_window(f, len, (uint64_t)off, fn, arg);
}

static ssize_t do_write(struct vdax_file *f, const void *buf, size_t len,
			off_t off)
{
	uint64_t end;

	if (__builtin_add_overflow((uint64_t)off, (uint64_t)len, &end) ||
	    end > (uint64_t)INT64_MAX)
		return -EFBIG;
	return rw(f, true, (char *)buf, len, (uint64_t)off);
}

VDAX_EXPORT ssize_t vdax_pwrite(struct vdax_file *f, const void *buf,
				size_t len, off_t off)
{
	int ret = check_io(f, true, off);

	if (ret)
		return ret;
	return do_write(f, buf, len, off);
}

VDAX_EXPORT ssize_t vdax_read(struct vdax_file *f, void *buf, size_t len)
{
	ssize_t ret;

	if (!f)
		return -EBADF;
	pthread_mutex_lock(&f->lock);
	ret = check_io(f, false, f->pos);
	if (!ret)
		ret = rw(f, false, buf, len, (uint64_t)f->pos);
	if (ret > 0)
		f->pos += ret;
	pthread_mutex_unlock(&f->lock);
	return ret;
}

VDAX_EXPORT ssize_t vdax_write(struct vdax_file *f, const void *buf,
			       size_t len)
{
	ssize_t ret;

	if (!f)
		return -EBADF;
	pthread_mutex_lock(&f->lock);
	ret = check_io(f, true, f->pos);
	if (ret)
		goto out;
	if (f->flags & O_APPEND) {
		struct fuse_attr a;

		/* The backend appends; learn where the end went. */
		ret = do_write(f, buf, len, f->pos);
		if (ret > 0 && !getattr_node(f->vd, f->node, f, &a))
			f->pos = (off_t)a.size;
		goto out;
	}
	ret = do_write(f, buf, len, f->pos);
	if (ret > 0)
		f->pos += ret;
out:
	pthread_mutex_unlock(&f->lock);
	return ret;
}

VDAX_EXPORT int vdax_fsync(struct vdax_file *f, int datasync)
{
	struct fuse_fsync_in in;
	struct fc_call c = { .nin = 1 };
	int ret;

	if (!f)
		return -EBADF;
	if (!f->is_dir) {
		ret = fc_dax_flush(f->vd, f->node);
		if (ret)
			return ret;
	}
	in = (struct fuse_fsync_in){ .fh = f->fh,
				     .fsync_flags = datasync ? 1 : 0 };
	c.opcode = f->is_dir ? FUSE_FSYNCDIR : FUSE_FSYNC;
	c.nodeid = f->node->nodeid;
	c.in[0] = (struct iovec){ &in, sizeof(in) };
	ret = fc_send(f->vd, &c);
	if (ret == -ENOSYS)
		ret = 0;
	return ret > 0 ? 0 : ret;
}

VDAX_EXPORT int vdax_fallocate(struct vdax_file *f, int mode, off_t off,
			       off_t len)
{
	struct fuse_fallocate_in in;
	struct fc_call c = { .opcode = FUSE_FALLOCATE, .nin = 1 };
	bool change;
	int ret;

	if (!f)
		return -EBADF;
	if (off < 0 || len <= 0)
		return -EINVAL;
	if (f->is_dir)
		return -EISDIR;
	if ((f->flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	in = (struct fuse_fallocate_in){ .fh = f->fh,
					 .offset = (uint64_t)off,
					 .length = (uint64_t)len,
					 .mode = (uint32_t)mode };
	c.nodeid = f->node->nodeid;
	c.in[0] = (struct iovec){ &in, sizeof(in) };
	/*
	 * Anything that takes data away (punch, zero, collapse, insert)
	 * runs with the window's ranges there removed, like a truncate.
	 */
	change = mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE |
			 FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE);
	if (change) {
		uint64_t end = UINT64_MAX;

		if (!(mode & (FALLOC_FL_COLLAPSE_RANGE |
			      FALLOC_FL_INSERT_RANGE)) &&
		    !__builtin_add_overflow((uint64_t)off, (uint64_t)len,
					    &end) &&
		    end <= UINT64_MAX - DAX_RANGE_MASK)
			end = (end + DAX_RANGE_MASK) & ~DAX_RANGE_MASK;
		else
			end = UINT64_MAX;
		fc_dax_change_begin(f->vd, f->node, (uint64_t)off, end);
	}
	ret = fc_send(f->vd, &c);
	fc_attr_invalidate(f->vd, f->node);
	if (change)
		fc_dax_change_end(f->vd, f->node);
	return ret > 0 ? 0 : ret;
}

static off_t file_size(struct vdax_file *f)
{
	struct fuse_attr a;
	int ret = getattr_node(f->vd, f->node, f, &a);

	return ret ? ret : (off_t)a.size;
}

VDAX_EXPORT off_t vdax_lseek(struct vdax_file *f, off_t off, int whence)
{
	off_t base = 0, res;

	if (!f)
		return -EBADF;
	if (whence == SEEK_DATA || whence == SEEK_HOLE) {
		struct fuse_lseek_in in = { .fh = f->fh,
					    .offset = (uint64_t)off,
					    .whence = (uint32_t)whence };
		struct fuse_lseek_out lo;
		struct fc_call c = { .opcode = FUSE_LSEEK,
				     .nodeid = f->node->nodeid,
				     .nin = 1,
				     .in = { { &in, sizeof(in) } },
				     .out = &lo,
				     .out_size = sizeof(lo),
				     .out_min = sizeof(lo) };
		int ret;

		if (off < 0)
			return -ENXIO;
		ret = fc_send(f->vd, &c);
		if (ret == -ENOSYS) {
			/* generic: all data, one hole at the end */
			off_t size = file_size(f);

			if (size < 0)
				return size;
			if (off >= size)
				return -ENXIO;
			res = whence == SEEK_DATA ? off : size;
		} else if (ret < 0) {
			return ret;
		} else {
			if (lo.offset > (uint64_t)INT64_MAX)
				return -EIO;
			res = (off_t)lo.offset;
		}
		pthread_mutex_lock(&f->lock);
		f->pos = res;
		pthread_mutex_unlock(&f->lock);
		return res;
	}
	pthread_mutex_lock(&f->lock);
	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = f->pos;
		break;
	case SEEK_END:
		base = file_size(f);
		if (base < 0) {
			pthread_mutex_unlock(&f->lock);
			return base;
		}
		break;
	default:
		pthread_mutex_unlock(&f->lock);
		return -EINVAL;
	}
	if (__builtin_add_overflow(base, off, &res)) {
		pthread_mutex_unlock(&f->lock);
		return -EOVERFLOW;
	}
	if (res < 0) {
		pthread_mutex_unlock(&f->lock);
		return -EINVAL;
	}
	f->pos = res;
	pthread_mutex_unlock(&f->lock);
	return res;
}

VDAX_EXPORT ssize_t vdax_copy_file_range(struct vdax_file *in, off_t *off_in,
					 struct vdax_file *out, off_t *off_out,
					 size_t len, unsigned flags)
{
	struct fuse_copy_file_range_in ci;
	struct fuse_write_out wo;
	struct fc_call c = { .opcode = FUSE_COPY_FILE_RANGE,
			     .nin = 1,
			     .out = &wo,
			     .out_size = sizeof(wo),
			     .out_min = sizeof(wo) };
	off_t oi, oo;
	int ret;

	if (!in || !out || in->vd != out->vd)
		return -EBADF;
	if (flags)
		return -EINVAL;
	if (in->is_dir || out->is_dir)
		return -EISDIR;
	if ((in->flags & O_ACCMODE) == O_WRONLY ||
	    (out->flags & O_ACCMODE) == O_RDONLY || (out->flags & O_APPEND))
		return -EBADF;
	if (!len)
		return 0;
	if (len > UINT32_MAX) /* the reply's size field is 32 bits */
		len = UINT32_MAX & ~4095u;
	if (in < out) {
		pthread_mutex_lock(&in->lock);
		pthread_mutex_lock(&out->lock);
	} else {
		pthread_mutex_lock(&out->lock);
		if (in != out)
			pthread_mutex_lock(&in->lock);
	}
	oi = off_in ? *off_in : in->pos;
	oo = off_out ? *off_out : out->pos;
	if (oi < 0 || oo < 0) {
		ret = -EINVAL;
		goto out;
	}
	ci = (struct fuse_copy_file_range_in){
		.fh_in = in->fh,
		.off_in = (uint64_t)oi,
		.nodeid_out = out->node->nodeid,
		.fh_out = out->fh,
		.off_out = (uint64_t)oo,
		.len = len,
		.flags = 0,
	};
	c.nodeid = in->node->nodeid;
	c.in[0] = (struct iovec){ &ci, sizeof(ci) };
	ret = fc_send(in->vd, &c);
	if (ret >= 0) {
		ret = wo.size > len ? -EIO : (int)wo.size;
		if (ret > 0) {
			if (off_in)
				*off_in += ret;
			else
				in->pos += ret;
			if (off_out)
				*off_out += ret;
			else
				out->pos += ret;
		}
	}
	fc_attr_invalidate(in->vd, out->node);
out:
	pthread_mutex_unlock(&in->lock);
	if (in != out)
		pthread_mutex_unlock(&out->lock);
	return ret;
}

/* ---------------- directories ---------------- */

VDAX_EXPORT int vdax_opendir(struct vdax *vd, const char *path,
			     struct vdax_dir **out)
{
	struct vdax_file *f;
	struct vdax_dir *d;
	int ret;

	if (!out)
		return -EINVAL;
	ret = vdax_open(vd, path, O_RDONLY | O_DIRECTORY, 0, &f);
	if (ret)
		return ret;
	d = calloc(1, sizeof(*d));
	if (d)
		d->buf = malloc(FC_DIRBUF);
	if (!d || !d->buf) {
		if (d)
			free(d);
		vdax_release(f);
		return -ENOMEM;
	}
	d->f = f;
	*out = d;
	return 0;
}

static int dir_fill(struct vdax_dir *d)
{
	struct vdax_file *f = d->f;
	struct vdax *vd = f->vd;
	struct fuse_read_in in = { .fh = f->fh, .offset = d->off,
				   .size = FC_DIRBUF };
	struct fc_call c = {
		.opcode = vd->readdirplus ? FUSE_READDIRPLUS : FUSE_READDIR,
		.nodeid = f->node->nodeid,
		.nin = 1,
		.in = { { &in, sizeof(in) } },
		.out = d->buf,
		.out_size = FC_DIRBUF,
	};
	int ret = fc_send(vd, &c);

	if (ret < 0)
		return ret;
	d->len = (size_t)ret;
	d->pos = 0;
	if (!ret)
		d->eof = true;
	return 0;
}

/*
 * The next entry of @d into *@ent; with READDIRPLUS also the lookup the
 * backend counted, which goes into the cache (as a lookup would) and, when
 * it does, into ent->st/ttl with attr_valid set.
 */
static int dir_next(struct vdax_dir *d, struct vdax_dirent_plus *ent)
{
	struct vdax *vd = d->f->vd;
	size_t hdr = vd->readdirplus ? FUSE_NAME_OFFSET_DIRENTPLUS :
				       FUSE_NAME_OFFSET;
	struct fuse_entry_out e;
	struct fuse_dirent de;
	struct fc_node *n;
	const char *name;
	size_t rec;
	int ret;

	if (d->pos >= d->len) {
		if (d->eof)
			return 0;
		ret = dir_fill(d);
		if (ret)
			return ret;
		if (d->eof)
			return 0;
	}
	if (d->len - d->pos < hdr)
		return -EIO;
	if (vd->readdirplus) {
		memcpy(&e, d->buf + d->pos, sizeof(e));
		memcpy(&de,
		       d->buf + d->pos + offsetof(struct fuse_direntplus, dirent),
		       sizeof(de));
	} else {
		memcpy(&de, d->buf + d->pos, sizeof(de));
	}
	if (de.namelen == 0 || de.namelen > FC_NAME_MAX)
		return -EIO;
	rec = FUSE_DIRENT_ALIGN(hdr + de.namelen);
	if (rec > d->len - d->pos && hdr + de.namelen > d->len - d->pos)
		return -EIO;
	name = d->buf + d->pos + hdr;
	if (memchr(name, '/', de.namelen) || memchr(name, '\0', de.namelen))
		return -EIO;
	d->pos += rec < d->len - d->pos ? rec : d->len - d->pos;
	d->off = de.off;
	memset(ent, 0, sizeof(*ent));
	memcpy(ent->name, name, de.namelen);
	ent->name[de.namelen] = '\0';
	ent->ino = de.ino;
	ent->type = (unsigned char)de.type;
	/* "." and "..": the kernel takes no lookup from them either. */
	if (!vd->readdirplus || !e.nodeid || !strcmp(ent->name, ".") ||
	    !strcmp(ent->name, ".."))
		return 1;
	/* The backend counted a lookup: keep it in the cache. */
	if (fc_cache_enter(vd, d->f->node, ent->name, de.namelen, &e, true, &n))
		return 1;
	fc_node_put(vd, n);
	if (((e.attr.mode >> 12) & 017) != ent->type && ent->type != DT_UNKNOWN)
		return 1; /* inconsistent: let the caller look it up */
	ent->attr_valid = 1;
	attr_to_stat(&e.attr, &ent->st);
	ent->ttl = (struct vdax_ttl){ .entry_sec = e.entry_valid,
				      .entry_nsec = e.entry_valid_nsec,
				      .attr_sec = e.attr_valid,
				      .attr_nsec = e.attr_valid_nsec };
	return 1;
}

VDAX_EXPORT int vdax_readdir_plus(struct vdax_dir *d,
				  struct vdax_dirent_plus *ent)
{
	if (!d || !ent)
		return -EINVAL;
	return dir_next(d, ent);
}

VDAX_EXPORT int vdax_readdir(struct vdax_dir *d, struct vdax_dirent *ent)
{
	struct vdax_dirent_plus p;
	int ret;

	if (!d || !ent)
		return -EINVAL;
	ret = dir_next(d, &p);
	if (ret > 0) {
		ent->ino = p.ino;
		ent->type = p.type;
		memcpy(ent->name, p.name, sizeof(ent->name));
	}
	return ret;
}

VDAX_EXPORT void vdax_closedir(struct vdax_dir *d)
{
	if (!d)
		return;
	vdax_release(d->f);
	free(d->buf);
	free(d);
}

/* ---------------- xattrs ---------------- */


/* An xattr name as the kernel takes it: 1 to XATTR_NAME_MAX bytes. */
static int xattr_name_len(const char *name, size_t *nl)
{
	*nl = strlen(name);
	return *nl == 0 || *nl > XATTR_NAME_MAX ? -ERANGE : 0;
}
static ssize_t xattr_get(struct vdax *vd, const char *path, uint32_t opcode,
			 const char *name, void *value, size_t size)
{
	struct fuse_getxattr_in in = { .size = (uint32_t)size };
	struct fuse_getxattr_out go;
	struct fc_call c = { .opcode = opcode, .nin = 1,
			     .in = { { &in, sizeof(in) } } };
	struct fc_node *n;
	int ret;

	if (size > 65536)
		size = in.size = 65536;
	if (name) {
		size_t nl;

		if (xattr_name_len(name, &nl))
			return -ERANGE;
		c.nin = 2;
		c.in[1] = (struct iovec){ (void *)name, nl + 1 };
	}
	ret = with_node(vd, path, FC_WALK_FOLLOW, &n);
	if (ret)
		return ret;
	c.nodeid = n->nodeid;
	if (!size) {
		c.out = &go;
		c.out_size = sizeof(go);
		c.out_min = sizeof(go);
	} else {
		c.out = value;
		c.out_size = size;
	}
	ret = fc_send(vd, &c);
	fc_node_put(vd, n);
	if (ret < 0)
		return ret == -ENOSYS ? -EOPNOTSUPP : ret;
	if (!size)
		return go.size > 65536 ? -E2BIG : (ssize_t)go.size;
	return ret;
}

VDAX_EXPORT ssize_t vdax_getxattr(struct vdax *vd, const char *path,
				  const char *name, void *value, size_t size)
{
	if (!name)
		return -EFAULT;
	return xattr_get(vd, path, FUSE_GETXATTR, name, value, size);
}

VDAX_EXPORT ssize_t vdax_listxattr(struct vdax *vd, const char *path,
				   char *list, size_t size)
{
	return xattr_get(vd, path, FUSE_LISTXATTR, NULL, list, size);
}

VDAX_EXPORT int vdax_setxattr(struct vdax *vd, const char *path,
			      const char *name, const void *value, size_t size,
			      int flags)
{
	struct fuse_setxattr_in in = { .size = (uint32_t)size,
				       .flags = (uint32_t)flags };
	struct fc_call c = { .opcode = FUSE_SETXATTR, .nin = 3 };
	struct fc_node *n;
	size_t nl;
	int ret;

	if (!name)
		return -EFAULT;
	if (xattr_name_len(name, &nl))
		return -ERANGE;
	if (size > 65536)
		return -E2BIG;
	if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	ret = with_node(vd, path, FC_WALK_FOLLOW, &n);
	if (ret)
		return ret;
	c.nodeid = n->nodeid;
	/* Without FUSE_SETXATTR_EXT the short (8-byte) header is used. */
	c.in[0] = (struct iovec){ &in, FUSE_COMPAT_SETXATTR_IN_SIZE };
	c.in[1] = (struct iovec){ (void *)name, nl + 1 };
	c.in[2] = (struct iovec){ (void *)value, size };
	ret = fc_send(vd, &c);
	if (ret >= 0)
		fc_attr_invalidate(vd, n);
	fc_node_put(vd, n);
	if (ret == -ENOSYS)
		ret = -EOPNOTSUPP;
	return ret > 0 ? 0 : ret;
}

VDAX_EXPORT int vdax_removexattr(struct vdax *vd, const char *path,
				 const char *name)
{
	struct fc_call c = { .opcode = FUSE_REMOVEXATTR, .nin = 1 };
	struct fc_node *n;
	size_t nl;
	int ret;

	if (!name)
		return -EFAULT;
	if (xattr_name_len(name, &nl))
		return -ERANGE;
	ret = with_node(vd, path, FC_WALK_FOLLOW, &n);
	if (ret)
		return ret;
	c.nodeid = n->nodeid;
	c.in[0] = (struct iovec){ (void *)name, nl + 1 };
	ret = fc_send(vd, &c);
	if (ret >= 0)
		fc_attr_invalidate(vd, n);
	fc_node_put(vd, n);
	if (ret == -ENOSYS)
		ret = -EOPNOTSUPP;
	return ret > 0 ? 0 : ret;
}

/* ---------------- locks ---------------- */

static int lk_call(struct vdax_file *f, uint32_t opcode, uint32_t lk_flags,
		   const struct fuse_file_lock *lk, struct fuse_file_lock *res)
{
	struct fuse_lk_in in = { .fh = f->fh,
				 .owner = f->owner,
				 .lk = *lk,
				 .lk_flags = lk_flags };
	struct fuse_lk_out lo;
	struct fc_call c = { .opcode = opcode,
			     .nodeid = f->node->nodeid,
			     .nin = 1,
			     .in = { { &in, sizeof(in) } } };
	int ret;

	if (res) {
		c.out = &lo;
		c.out_size = sizeof(lo);
		c.out_min = sizeof(lo);
	}
	ret = fc_send(f->vd, &c);
	if (ret >= 0 && res)
		*res = lo.lk;
	return ret > 0 ? 0 : ret;
}

VDAX_EXPORT int vdax_flock(struct vdax_file *f, int op)
{
	struct fuse_file_lock lk = { .start = 0, .end = OFFSET_MAX,
				     .pid = (uint32_t)getpid() };
	int ret;

	if (!f)
		return -EBADF;
	switch (op & ~LOCK_NB) {
	case LOCK_SH:
		lk.type = F_RDLCK;
		break;
	case LOCK_EX:
		lk.type = F_WRLCK;
		break;
	case LOCK_UN:
		lk.type = F_UNLCK;
		break;
	default:
		return -EINVAL;
	}
	ret = lk_call(f, (op & LOCK_NB) || lk.type == F_UNLCK ? FUSE_SETLK :
								 FUSE_SETLKW,
		      FUSE_LK_FLOCK, &lk, NULL);
	if (!ret && lk.type != F_UNLCK)
		f->flocked = true;
	return ret == -EAGAIN ? -EWOULDBLOCK : ret;
}

static int flock_to_fuse(struct vdax_file *f, const struct flock *fl,
			 struct fuse_file_lock *lk)
{
	off_t start;

	switch (fl->l_whence) {
	case SEEK_SET:
		start = 0;
		break;
	case SEEK_CUR:
		pthread_mutex_lock(&f->lock);
		start = f->pos;
		pthread_mutex_unlock(&f->lock);
		break;
	case SEEK_END:
		start = file_size(f);
		if (start < 0)
			return (int)start;
		break;
	default:
		return -EINVAL;
	}
	if (__builtin_add_overflow(start, fl->l_start, &start) || start < 0)
		return -EINVAL;
	if (fl->l_type != F_RDLCK && fl->l_type != F_WRLCK &&
	    fl->l_type != F_UNLCK)
		return -EINVAL;
	lk->type = (uint32_t)fl->l_type;
	lk->pid = (uint32_t)getpid();
	if (fl->l_len > 0) {
		lk->start = (uint64_t)start;
		lk->end = (uint64_t)start + (uint64_t)fl->l_len - 1;
	} else if (fl->l_len < 0) {
		if (start + fl->l_len < 0)
			return -EINVAL;
		lk->start = (uint64_t)(start + fl->l_len);
		lk->end = (uint64_t)start - 1;
	} else {
		lk->start = (uint64_t)start;
		lk->end = OFFSET_MAX;
	}
	return 0;
}

VDAX_EXPORT int vdax_getlk(struct vdax_file *f, struct flock *fl)
{
	struct fuse_file_lock lk, res;
	int ret;

	if (!f || !fl)
		return -EBADF;
	ret = flock_to_fuse(f, fl, &lk);
	if (ret)
		return ret;
	if (lk.type == F_UNLCK)
		return -EINVAL;
	/* Backends using OFD locks reject a nonzero pid in a query. */
	lk.pid = 0;
	ret = lk_call(f, FUSE_GETLK, 0, &lk, &res);
	if (ret)
		return ret;
	if (res.type != F_UNLCK && res.type != F_RDLCK && res.type != F_WRLCK)
		return -EIO;
	fl->l_type = (short)res.type;
	if (res.type != F_UNLCK) {
		if (res.start > (uint64_t)INT64_MAX || res.end < res.start)
			return -EIO;
		fl->l_whence = SEEK_SET;
		fl->l_start = (off_t)res.start;
		fl->l_len = res.end == OFFSET_MAX ?
				    0 :
				    (off_t)(res.end - res.start + 1);
		fl->l_pid = (pid_t)res.pid;
	}
	return 0;
}

VDAX_EXPORT int vdax_setlk(struct vdax_file *f, const struct flock *fl,
			   int wait)
{
	struct fuse_file_lock lk;
	int ret;

	if (!f || !fl)
		return -EBADF;
	ret = flock_to_fuse(f, fl, &lk);
	if (ret)
		return ret;
	if ((lk.type == F_RDLCK && (f->flags & O_ACCMODE) == O_WRONLY) ||
	    (lk.type == F_WRLCK && (f->flags & O_ACCMODE) == O_RDONLY))
		return -EBADF;
	return lk_call(f, wait ? FUSE_SETLKW : FUSE_SETLK, 0, &lk, NULL);
}

/* ---------------- filesystem ---------------- */

VDAX_EXPORT int vdax_syncfs(struct vdax *vd)
{
	struct fuse_syncfs_in in = { 0 };
	struct fc_call c = { .opcode = FUSE_SYNCFS,
			     .nodeid = FUSE_ROOT_ID,
			     .nin = 1,
			     .in = { { &in, sizeof(in) } } };
	int ret;

	if (!vd)
		return -EINVAL;
	if (__atomic_load_n(&vd->no_syncfs, __ATOMIC_RELAXED))
		return vdx_dev_broken(vd->dev) ? -ENOTCONN : 0;
	ret = fc_send(vd, &c);
	if (ret == -ENOSYS) {
		__atomic_store_n(&vd->no_syncfs, true, __ATOMIC_RELAXED);
		ret = 0;
	}
	return ret > 0 ? 0 : ret;
}
