// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libvdax public API, attributes: getattr/setattr on a node (symlinks
 * included: a node is never followed), statfs and access; the path forms
 * are a walk plus the node call.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "client/client.h"

static int node_stat(struct vdax *vd, struct fc_node *n, struct vdax_file *f,
		     struct stat *st, struct vdax_ttl *ttl)
{
	struct fuse_attr a;
	int ret = fc_getattr(vd, n, f, &a);

	if (ret)
		return ret;
	fc_attr_to_stat(&a, st);
	if (ttl)
		fc_node_ttl(vd, n, ttl);
	return 0;
}

VDAX_EXPORT int vdax_getattr(struct vdax *vd, struct vdax_node *n,
			     struct stat *st, struct vdax_ttl *ttl)
{
	if (!vd || !n || !st)
		return -EINVAL;
	if (vdx_dev_broken(vd->dev))
		return -ENOTCONN;
	return node_stat(vd, fc_node_of(n), NULL, st, ttl);
}

static int stat_common(struct vdax *vd, const char *path, int wflags,
		       struct stat *st, struct vdax_ttl *ttl)
{
	struct fc_node *n;
	int ret = fc_walk_node(vd, NULL, path, wflags, &n);

	if (ret)
		return ret;
	ret = node_stat(vd, n, NULL, st, ttl);
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
	if (!f)
		return -EBADF;
	return node_stat(f->vd, f->node, f, st, ttl);
}

VDAX_EXPORT int vdax_fstat(struct vdax_file *f, struct stat *st)
{
	return vdax_fstat_ttl(f, st, NULL);
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

/* VDAX_SET_* and a struct stat into a SETATTR request. */
static int setattr_in(const struct stat *attr, int to_set,
		      struct fuse_setattr_in *in)
{
	struct timespec ts;
	int ret = 0;

	if (to_set & ~(VDAX_SET_MODE | VDAX_SET_UID | VDAX_SET_GID |
		       VDAX_SET_SIZE | VDAX_SET_ATIME | VDAX_SET_MTIME |
		       VDAX_SET_ATIME_NOW | VDAX_SET_MTIME_NOW))
		return -EINVAL;
	if (to_set && !attr)
		return -EINVAL;
	memset(in, 0, sizeof(*in));
	if (to_set & VDAX_SET_MODE) {
		in->valid |= FATTR_MODE;
		in->mode = attr->st_mode & 07777;
	}
	if (to_set & VDAX_SET_UID) {
		in->valid |= FATTR_UID;
		in->uid = attr->st_uid;
	}
	if (to_set & VDAX_SET_GID) {
		in->valid |= FATTR_GID;
		in->gid = attr->st_gid;
	}
	if (to_set & VDAX_SET_SIZE) {
		if (attr->st_size < 0)
			return -EINVAL;
		in->valid |= FATTR_SIZE;
		in->size = (uint64_t)attr->st_size;
	}
	if (to_set & (VDAX_SET_ATIME | VDAX_SET_ATIME_NOW)) {
		ts = attr->st_atim;
		if (to_set & VDAX_SET_ATIME_NOW)
			ts.tv_nsec = UTIME_NOW;
		ret = set_time(in, &ts, true);
	}
	if (!ret && (to_set & (VDAX_SET_MTIME | VDAX_SET_MTIME_NOW))) {
		ts = attr->st_mtim;
		if (to_set & VDAX_SET_MTIME_NOW)
			ts.tv_nsec = UTIME_NOW;
		ret = set_time(in, &ts, false);
	}
	return ret;
}

VDAX_EXPORT int vdax_setattr(struct vdax *vd, struct vdax_node *vn,
			     struct vdax_file *f, const struct stat *attr,
			     int to_set, struct stat *st,
			     struct vdax_ttl *ttl)
{
	struct fuse_setattr_in in;
	struct fc_node *n;
	int ret;

	if (!vd || (!vn && !f))
		return -EINVAL;
	if (f && vn && f->node != fc_node_of(vn))
		return -EINVAL;
	n = f ? f->node : fc_node_of(vn);
	if (vdx_dev_broken(vd->dev))
		return -ENOTCONN;
	ret = setattr_in(attr, to_set, &in);
	if (ret)
		return ret;
	if (in.valid & FATTR_SIZE) {
		uint32_t m = fc_node_mode(vd, n);

		if (S_ISDIR(m))
			return -EISDIR;
		if (!S_ISREG(m))
			return -EINVAL;
		if (f && (f->flags & O_ACCMODE) == O_RDONLY)
			return -EINVAL;
	}
	if (in.valid) {
		ret = fc_setattr(vd, n, f, &in);
		if (ret)
			return ret;
	}
	return st ? node_stat(vd, n, f, st, ttl) : 0;
}

static int setattr_path(struct vdax *vd, const char *path, int wflags,
			struct fuse_setattr_in *in)
{
	struct fc_node *n;
	int ret = fc_walk_node(vd, NULL, path, wflags, &n);

	if (ret)
		return ret;
	if (in->valid)
		ret = fc_setattr(vd, n, NULL, in);
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

VDAX_EXPORT int vdax_lchown(struct vdax *vd, const char *path, uid_t uid,
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
	return setattr_path(vd, path, 0, &in);
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
	/* nothing to set still reports ENOENT & co. */
	return setattr_path(vd, path,
			    (flags & AT_SYMLINK_NOFOLLOW) ? 0 : FC_WALK_FOLLOW,
			    &in);
}

VDAX_EXPORT int vdax_truncate(struct vdax *vd, const char *path, off_t len)
{
	struct stat attr = { .st_size = len };
	struct fc_node *n;
	int ret;

	if (len < 0)
		return -EINVAL;
	ret = fc_walk_node(vd, NULL, path, FC_WALK_FOLLOW, &n);
	if (ret)
		return ret;
	ret = vdax_setattr(vd, fc_vnode(n), NULL, &attr, VDAX_SET_SIZE, NULL,
			   NULL);
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
	return fc_setattr(f->vd, f->node, f, &in);
}

static int statfs_node(struct vdax *vd, struct fc_node *n, struct statvfs *st)
{
	struct fuse_statfs_out so;
	struct fc_call c = { .opcode = FUSE_STATFS,
			     .nodeid = n->nodeid,
			     .out = &so,
			     .out_size = sizeof(so),
			     .out_min = FUSE_COMPAT_STATFS_SIZE };
	int ret;

	memset(&so, 0, sizeof(so));
	ret = fc_send(vd, &c);
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

VDAX_EXPORT int vdax_statfs_node(struct vdax *vd, struct vdax_node *n,
				 struct statvfs *st)
{
	if (!vd || !st)
		return -EINVAL;
	if (vdx_dev_broken(vd->dev))
		return -ENOTCONN;
	return statfs_node(vd, n ? fc_node_of(n) : vd->root, st);
}

VDAX_EXPORT int vdax_statfs(struct vdax *vd, const char *path,
			    struct statvfs *st)
{
	struct fc_node *n;
	int ret = fc_walk_node(vd, NULL, path, FC_WALK_FOLLOW, &n);

	if (ret)
		return ret;
	ret = statfs_node(vd, n, st);
	fc_node_put(vd, n);
	return ret;
}

VDAX_EXPORT int vdax_access_node(struct vdax *vd, struct vdax_node *vn,
				 int mask)
{
	struct fuse_access_in in = { .mask = (uint32_t)mask };
	struct fc_call c = { .opcode = FUSE_ACCESS, .nin = 1,
			     .in = { { &in, sizeof(in) } } };
	struct fuse_attr a;
	int ret;

	if (!vd || !vn || (mask & ~(R_OK | W_OK | X_OK)))
		return -EINVAL;
	if (vdx_dev_broken(vd->dev))
		return -ENOTCONN;
	c.nodeid = fc_node_of(vn)->nodeid;
	if (mask == F_OK || __atomic_load_n(&vd->no_access, __ATOMIC_RELAXED))
		return fc_getattr(vd, fc_node_of(vn), NULL, &a);
	ret = fc_send(vd, &c);
	if (ret == -ENOSYS) {
		/* as the kernel does: no ACCESS, the attributes decide */
		__atomic_store_n(&vd->no_access, true, __ATOMIC_RELAXED);
		return fc_getattr(vd, fc_node_of(vn), NULL, &a);
	}
	if (ret == -ESTALE)
		fc_node_stale(vd, fc_node_of(vn));
	return ret > 0 ? 0 : ret;
}
