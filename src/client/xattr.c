// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libvdax public API, extended attributes (getxattr(2) family semantics),
 * on a node (never followed: a symlink's own attributes) or by path (a
 * final symlink followed, as getxattr(2)).
 */
#include <errno.h>
#include <linux/limits.h> /* XATTR_NAME_MAX */
#include <string.h>
#include <sys/xattr.h>

#include "client/client.h"

#define FC_XATTR_MAX 65536

/* An xattr name as the kernel takes it: 1 to XATTR_NAME_MAX bytes. */
static int xattr_name_len(const char *name, size_t *nl)
{
	*nl = strlen(name);
	return *nl == 0 || *nl > XATTR_NAME_MAX ? -ERANGE : 0;
}

static int check_node(struct vdax *vd, struct vdax_node *n)
{
	if (!vd || !n)
		return -EINVAL;
	return vdx_dev_broken(vd->dev) ? -ENOTCONN : 0;
}

static int xattr_errno(struct vdax *vd, struct fc_node *n, int ret)
{
	if (ret == -ESTALE)
		fc_node_stale(vd, n);
	return ret == -ENOSYS ? -EOPNOTSUPP : ret;
}

static ssize_t xattr_get(struct vdax *vd, struct fc_node *n, uint32_t opcode,
			 const char *name, void *value, size_t size)
{
	struct fuse_getxattr_in in = { .size = (uint32_t)size };
	struct fuse_getxattr_out go;
	struct fc_call c = { .opcode = opcode, .nin = 1,
			     .in = { { &in, sizeof(in) } } };
	int ret;

	if (size > FC_XATTR_MAX)
		size = in.size = FC_XATTR_MAX;
	if (name) {
		size_t nl;

		if (xattr_name_len(name, &nl))
			return -ERANGE;
		c.nin = 2;
		c.in[1] = (struct iovec){ (void *)name, nl + 1 };
	}
	c.nodeid = n->nodeid;
	if (!size) {
		c.out = &go;
		c.out_size = sizeof(go);
		c.out_min = sizeof(go);
	} else {
		if (!value)
			return -EFAULT;
		c.out = value;
		c.out_size = size;
	}
	ret = fc_send(vd, &c);
	if (ret < 0)
		return xattr_errno(vd, n, ret);
	if (!size)
		return go.size > FC_XATTR_MAX ? -E2BIG : (ssize_t)go.size;
	return ret;
}

static int xattr_set(struct vdax *vd, struct fc_node *n, const char *name,
		     const void *value, size_t size, int flags)
{
	struct fuse_setxattr_in in = { .size = (uint32_t)size,
				       .flags = (uint32_t)flags };
	struct fc_call c = { .opcode = FUSE_SETXATTR, .nin = 3 };
	size_t nl;
	int ret;

	if (!name)
		return -EFAULT;
	if (xattr_name_len(name, &nl))
		return -ERANGE;
	if (size > FC_XATTR_MAX)
		return -E2BIG;
	if (size && !value)
		return -EFAULT;
	if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	c.nodeid = n->nodeid;
	/* Without FUSE_SETXATTR_EXT the short (8-byte) header is used. */
	c.in[0] = (struct iovec){ &in, FUSE_COMPAT_SETXATTR_IN_SIZE };
	c.in[1] = (struct iovec){ (void *)name, nl + 1 };
	c.in[2] = (struct iovec){ (void *)value, size };
	ret = fc_send(vd, &c);
	if (ret >= 0)
		fc_attr_invalidate(vd, n);
	return ret > 0 ? 0 : xattr_errno(vd, n, ret);
}

static int xattr_remove(struct vdax *vd, struct fc_node *n, const char *name)
{
	struct fc_call c = { .opcode = FUSE_REMOVEXATTR, .nin = 1 };
	size_t nl;
	int ret;

	if (!name)
		return -EFAULT;
	if (xattr_name_len(name, &nl))
		return -ERANGE;
	c.nodeid = n->nodeid;
	c.in[0] = (struct iovec){ (void *)name, nl + 1 };
	ret = fc_send(vd, &c);
	if (ret >= 0)
		fc_attr_invalidate(vd, n);
	return ret > 0 ? 0 : xattr_errno(vd, n, ret);
}

VDAX_EXPORT ssize_t vdax_getxattr_node(struct vdax *vd, struct vdax_node *n,
				       const char *name, void *value,
				       size_t size)
{
	int ret = check_node(vd, n);

	if (ret)
		return ret;
	if (!name)
		return -EFAULT;
	return xattr_get(vd, fc_node_of(n), FUSE_GETXATTR, name, value, size);
}

VDAX_EXPORT ssize_t vdax_listxattr_node(struct vdax *vd, struct vdax_node *n,
					char *list, size_t size)
{
	int ret = check_node(vd, n);

	if (ret)
		return ret;
	return xattr_get(vd, fc_node_of(n), FUSE_LISTXATTR, NULL, list, size);
}

VDAX_EXPORT int vdax_setxattr_node(struct vdax *vd, struct vdax_node *n,
				   const char *name, const void *value,
				   size_t size, int flags)
{
	int ret = check_node(vd, n);

	return ret ? ret : xattr_set(vd, fc_node_of(n), name, value, size,
				     flags);
}

VDAX_EXPORT int vdax_removexattr_node(struct vdax *vd, struct vdax_node *n,
				      const char *name)
{
	int ret = check_node(vd, n);

	return ret ? ret : xattr_remove(vd, fc_node_of(n), name);
}

VDAX_EXPORT ssize_t vdax_getxattr(struct vdax *vd, const char *path,
				  const char *name, void *value, size_t size)
{
	struct fc_node *n;
	ssize_t ret;

	if (!name)
		return -EFAULT;
	ret = fc_walk_node(vd, NULL, path, FC_WALK_FOLLOW, &n);
	if (ret)
		return ret;
	ret = xattr_get(vd, n, FUSE_GETXATTR, name, value, size);
	fc_node_put(vd, n);
	return ret;
}

VDAX_EXPORT ssize_t vdax_listxattr(struct vdax *vd, const char *path,
				   char *list, size_t size)
{
	struct fc_node *n;
	ssize_t ret = fc_walk_node(vd, NULL, path, FC_WALK_FOLLOW, &n);

	if (ret)
		return ret;
	ret = xattr_get(vd, n, FUSE_LISTXATTR, NULL, list, size);
	fc_node_put(vd, n);
	return ret;
}

VDAX_EXPORT int vdax_setxattr(struct vdax *vd, const char *path,
			      const char *name, const void *value, size_t size,
			      int flags)
{
	struct fc_node *n;
	int ret;

	if (!name)
		return -EFAULT;
	ret = fc_walk_node(vd, NULL, path, FC_WALK_FOLLOW, &n);
	if (ret)
		return ret;
	ret = xattr_set(vd, n, name, value, size, flags);
	fc_node_put(vd, n);
	return ret;
}

VDAX_EXPORT int vdax_removexattr(struct vdax *vd, const char *path,
				 const char *name)
{
	struct fc_node *n;
	int ret;

	if (!name)
		return -EFAULT;
	ret = fc_walk_node(vd, NULL, path, FC_WALK_FOLLOW, &n);
	if (ret)
		return ret;
	ret = xattr_remove(vd, n, name);
	fc_node_put(vd, n);
	return ret;
}
