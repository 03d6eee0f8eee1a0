// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libvdax public API, names: lookup and walk to a node, and the calls that
 * make, remove, move and read names (mkdirat ... renameat2, readlinkat).
 * Each *at() call resolves its path from a directory node (NULL: the root)
 * and the path calls are the same with the root: vdax_mkdir(vd, p, m) is
 * vdax_mkdirat(vd, NULL, p, m, NULL).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "client/client.h"

#define AT(n) ((n) ? fc_node_of(n) : NULL)

/* Errors of a walk to the parent of a name that is to be created. */
static int create_err(int ret)
{
	return ret == -EBUSY || ret == -EINVAL || ret == -ENOTEMPTY ? -EEXIST :
								      ret;
}

/* Hand the new node to *@out (if asked for) or drop it. */
static void give_node(struct vdax *vd, struct fc_node *n,
		      struct vdax_node **out)
{
	if (out)
		*out = fc_vnode(n);
	else
		fc_node_put(vd, n);
}

VDAX_EXPORT int vdax_lookup(struct vdax *vd, struct vdax_node *dir,
			    const char *name, struct vdax_node **out)
{
	struct fc_node *n;
	size_t len;
	int ret;

	if (!vd || !dir || !name || !out)
		return -EINVAL;
	len = strnlen(name, FC_NAME_MAX + 1);
	if (!len || strchr(name, '/') || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return -EINVAL;
	if (len > FC_NAME_MAX)
		return -ENAMETOOLONG;
	if (vdx_dev_broken(vd->dev))
		return -ENOTCONN;
	if (!S_ISDIR(fc_node_mode(vd, fc_node_of(dir))))
		return -ENOTDIR;
	ret = fc_lookup(vd, fc_node_of(dir), name, &n);
	if (ret)
		return ret;
	*out = fc_vnode(n);
	return 0;
}

VDAX_EXPORT int vdax_walk(struct vdax *vd, struct vdax_node *dir,
			  const char *path, int flags, struct vdax_node **out)
{
	struct fc_node *n;
	int ret;

	if (!out || (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)))
		return -EINVAL;
	if (vd && path && !*path && (flags & AT_EMPTY_PATH)) {
		*out = dir ? vdax_node_get(vd, dir) : vdax_root(vd);
		return 0;
	}
	ret = fc_walk_node(vd, AT(dir), path,
			   (flags & AT_SYMLINK_NOFOLLOW) ? 0 : FC_WALK_FOLLOW,
			   &n);
	if (!ret)
		*out = fc_vnode(n);
	return ret;
}

VDAX_EXPORT int vdax_mkdirat(struct vdax *vd, struct vdax_node *at,
			     const char *path, mode_t mode,
			     struct vdax_node **out)
{
	char name[FC_NAME_MAX + 1];
	struct fuse_mkdir_in in = { .mode = mode & 07777, .umask = 0 };
	struct fc_call c = { .opcode = FUSE_MKDIR, .nin = 2 };
	struct fc_node *dir, *n;
	bool must_dir;
	int ret = fc_walk_parent(vd, AT(at), path, &dir, name, &must_dir);

	if (ret)
		return create_err(ret);
	c.in[0] = (struct iovec){ &in, sizeof(in) };
	c.in[1] = (struct iovec){ name, strlen(name) + 1 };
	ret = fc_create_entry(vd, dir, name, &c, &n);
	fc_node_put(vd, dir);
	if (!ret)
		give_node(vd, n, out);
	return ret;
}

VDAX_EXPORT int vdax_mkdir(struct vdax *vd, const char *path, mode_t mode)
{
	return vdax_mkdirat(vd, NULL, path, mode, NULL);
}

VDAX_EXPORT int vdax_mknodat(struct vdax *vd, struct vdax_node *at,
			     const char *path, mode_t mode, dev_t dev,
			     struct vdax_node **out)
{
	char name[FC_NAME_MAX + 1];
	struct fuse_mknod_in in = { .mode = mode, .rdev = (uint32_t)dev };
	struct fc_call c = { .opcode = FUSE_MKNOD, .nin = 2 };
	struct fc_node *dir, *n;
	bool must_dir;
	int ret;

	if (!(mode & S_IFMT))
		in.mode |= S_IFREG;
	if (S_ISDIR(in.mode))
		return -EPERM;
	ret = fc_walk_parent(vd, AT(at), path, &dir, name, &must_dir);
	if (ret)
		return create_err(ret);
	c.in[0] = (struct iovec){ &in, sizeof(in) };
	c.in[1] = (struct iovec){ name, strlen(name) + 1 };
	ret = must_dir ? -ENOENT : fc_create_entry(vd, dir, name, &c, &n);
	fc_node_put(vd, dir);
	if (!ret)
		give_node(vd, n, out);
	return ret;
}

VDAX_EXPORT int vdax_mknod(struct vdax *vd, const char *path, mode_t mode,
			   dev_t dev)
{
	return vdax_mknodat(vd, NULL, path, mode, dev, NULL);
}

VDAX_EXPORT int vdax_symlinkat(struct vdax *vd, const char *target,
			       struct vdax_node *at, const char *linkpath,
			       struct vdax_node **out)
{
	char name[FC_NAME_MAX + 1];
	struct fc_call c = { .opcode = FUSE_SYMLINK, .nin = 2 };
	struct fc_node *dir, *n;
	bool must_dir;
	int ret;

	if (!target)
		return -EFAULT;
	if (!*target)
		return -ENOENT;
	if (strnlen(target, FC_PATH_MAX) >= FC_PATH_MAX)
		return -ENAMETOOLONG;
	ret = fc_walk_parent(vd, AT(at), linkpath, &dir, name, &must_dir);
	if (ret)
		return create_err(ret);
	c.in[0] = (struct iovec){ name, strlen(name) + 1 };
	c.in[1] = (struct iovec){ (void *)target, strlen(target) + 1 };
	ret = must_dir ? -ENOENT : fc_create_entry(vd, dir, name, &c, &n);
	fc_node_put(vd, dir);
	if (!ret)
		give_node(vd, n, out);
	return ret;
}

VDAX_EXPORT int vdax_symlink(struct vdax *vd, const char *target,
			     const char *linkpath)
{
	return vdax_symlinkat(vd, target, NULL, linkpath, NULL);
}

VDAX_EXPORT int vdax_linkat(struct vdax *vd, struct vdax_node *oldat,
			    const char *oldpath, struct vdax_node *newat,
			    const char *newpath, int flags,
			    struct vdax_node **out)
{
	char name[FC_NAME_MAX + 1];
	struct fuse_link_in in;
	struct fc_call c = { .opcode = FUSE_LINK, .nin = 2 };
	struct fc_node *old, *dir, *n;
	struct vdax_node *vold;
	bool must_dir;
	int ret;

	if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	ret = vdax_walk(vd, oldat, oldpath,
			(flags & AT_EMPTY_PATH) |
				((flags & AT_SYMLINK_FOLLOW) ?
					 0 :
					 AT_SYMLINK_NOFOLLOW),
			&vold);
	if (ret)
		return ret;
	old = fc_node_of(vold);
	if (S_ISDIR(fc_node_mode(vd, old))) {
		fc_node_put(vd, old);
		return -EPERM;
	}
	ret = fc_walk_parent(vd, AT(newat), newpath, &dir, name, &must_dir);
	if (ret) {
		fc_node_put(vd, old);
		return create_err(ret);
	}
	in.oldnodeid = old->nodeid;
	c.in[0] = (struct iovec){ &in, sizeof(in) };
	c.in[1] = (struct iovec){ name, strlen(name) + 1 };
	ret = must_dir ? -ENOENT : fc_create_entry(vd, dir, name, &c, &n);
	if (!ret) {
		fc_attr_invalidate(vd, old); /* nlink changed */
		give_node(vd, n, out);
	} else if (ret == -ESTALE) {
		fc_node_stale(vd, old);
	}
	fc_node_put(vd, dir);
	fc_node_put(vd, old);
	return ret;
}

VDAX_EXPORT int vdax_link(struct vdax *vd, const char *oldpath,
			  const char *newpath)
{
	return vdax_linkat(vd, NULL, oldpath, NULL, newpath, 0, NULL);
}

static int remove_at(struct vdax *vd, struct fc_node *at, const char *path,
		     uint32_t opcode)
{
	char name[FC_NAME_MAX + 1];
	struct fc_call c = { .opcode = opcode, .nin = 1 };
	struct fc_node *dir, *n;
	bool must_dir;
	uint32_t m;
	int ret = fc_walk_parent(vd, at, path, &dir, name, &must_dir);

	if (ret) {
		if (opcode == FUSE_UNLINK && (ret == -EINVAL || ret == -EBUSY ||
					      ret == -ENOTEMPTY))
			return -EISDIR;
		return ret;
	}
	/* The VFS has the dentry before it asks to remove it: look the name
	 * up first, which also gives the type errors. */
	ret = fc_lookup(vd, dir, name, &n);
	if (ret)
		goto out;
	m = fc_node_mode(vd, n);
	if (opcode == FUSE_UNLINK && S_ISDIR(m))
		ret = -EISDIR;
	else if (opcode == FUSE_RMDIR && !S_ISDIR(m))
		ret = -ENOTDIR;
	else if (opcode == FUSE_UNLINK && must_dir)
		ret = -ENOTDIR;
	if (ret)
		goto out_node;
	c.nodeid = dir->nodeid;
	c.in[0] = (struct iovec){ name, strlen(name) + 1 };
	ret = fc_send(vd, &c);
	if (ret > 0)
		ret = 0;
	if (!ret || ret == -ENOENT) {
		fc_cache_drop(vd, dir, name);
		fc_attr_invalidate(vd, dir);
		fc_attr_invalidate(vd, n); /* nlink (other names, open files) */
	}
out_node:
	fc_node_put(vd, n);
out:
	fc_node_put(vd, dir);
	return ret;
}

VDAX_EXPORT int vdax_unlinkat(struct vdax *vd, struct vdax_node *at,
			      const char *path, int flags)
{
	if (flags & ~AT_REMOVEDIR)
		return -EINVAL;
	return remove_at(vd, AT(at), path,
			 (flags & AT_REMOVEDIR) ? FUSE_RMDIR : FUSE_UNLINK);
}

VDAX_EXPORT int vdax_rmdirat(struct vdax *vd, struct vdax_node *at,
			     const char *path)
{
	return remove_at(vd, AT(at), path, FUSE_RMDIR);
}

VDAX_EXPORT int vdax_unlink(struct vdax *vd, const char *path)
{
	return remove_at(vd, NULL, path, FUSE_UNLINK);
}

VDAX_EXPORT int vdax_rmdir(struct vdax *vd, const char *path)
{
	return remove_at(vd, NULL, path, FUSE_RMDIR);
}

VDAX_EXPORT int vdax_renameat2(struct vdax *vd, struct vdax_node *oldat,
			       const char *from, struct vdax_node *newat,
			       const char *to, unsigned flags)
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
	ret = fc_walk_parent(vd, AT(oldat), from, &odir, oname, &od);
	if (ret)
		return ret == -EINVAL || ret == -ENOTEMPTY ? -EINVAL :
		       ret == -EBUSY ? -EBUSY : ret;
	ret = fc_walk_parent(vd, AT(newat), to, &ndir, nname, &nd);
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
	if (nn)
		fc_attr_invalidate(vd, nn); /* nlink, or ctime on exchange */
out:
	fc_node_put(vd, on);
	fc_node_put(vd, nn);
	fc_node_put(vd, odir);
	fc_node_put(vd, ndir);
	return ret;
}

VDAX_EXPORT int vdax_rename(struct vdax *vd, const char *from, const char *to,
			    unsigned flags)
{
	return vdax_renameat2(vd, NULL, from, NULL, to, flags);
}

VDAX_EXPORT ssize_t vdax_readlinkat(struct vdax *vd, struct vdax_node *at,
				    const char *path, char *buf, size_t size)
{
	char tmp[FC_PATH_MAX];
	struct vdax_node *vn;
	struct fc_node *n;
	int ret;

	if (!size || !buf)
		return -EINVAL;
	/* an empty path names @at itself, as readlinkat(2) */
	ret = vdax_walk(vd, at, path, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH,
			&vn);
	if (ret)
		return ret;
	n = fc_node_of(vn);
	if (!S_ISLNK(fc_node_mode(vd, n)))
		ret = -EINVAL;
	else
		ret = fc_readlink_node(vd, n, tmp, sizeof(tmp));
	if (ret == -ESTALE)
		fc_node_stale(vd, n);
	fc_node_put(vd, n);
	if (ret < 0)
		return ret;
	if ((size_t)ret > size)
		ret = (int)size;
	memcpy(buf, tmp, ret);
	return ret;
}

VDAX_EXPORT ssize_t vdax_readlink(struct vdax *vd, const char *path, char *buf,
				  size_t size)
{
	if (path && !*path)
		return -ENOENT;
	return vdax_readlinkat(vd, NULL, path, buf, size);
}
