// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libvdax public API, files: open (by node, or by a path from a directory
 * node), create, release, and I/O on handles. Plain transfers go through
 * the request layer in chunks, DAX files through the window (fdax.c).
 *
 * Lock order: vdax_file.lock -> vdax.cache_lock (see client.h). The file
 * lock only guards the position; I/O runs outside it except for
 * vdax_read/vdax_write, which hold it to keep the position consistent.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/client.h"
#include "dax/dax.h"

#define AT(n) ((n) ? fc_node_of(n) : NULL)

static int open_at(struct vdax *vd, struct fc_node *at, const char *path,
		   int flags, mode_t mode, struct vdax_file **out,
		   unsigned links)
{
	struct fc_node *n, *dir;
	char name[FC_NAME_MAX + 1];
	bool must_dir;
	int ret;

	if (!(flags & O_CREAT)) {
		ret = fc_walk_node(vd, at, path,
				   (flags & O_NOFOLLOW) ? 0 : FC_WALK_FOLLOW,
				   &n);
		if (ret)
			return ret;
		ret = fc_open_node(vd, n, flags, out);
		if (ret)
			fc_node_put(vd, n);
		return ret;
	}
	ret = fc_walk_parent(vd, at, path, &dir, name, &must_dir);
	if (ret)
		return ret == -EINVAL || ret == -EBUSY || ret == -ENOTEMPTY ?
			       -EISDIR : ret;
	if (must_dir) {
		fc_node_put(vd, dir);
		return -EISDIR;
	}
	/*
	 * O_EXCL never opens what is there, nor follows a symlink: the
	 * backend's CREATE decides (EEXIST) without a LOOKUP first.
	 */
	ret = (flags & O_EXCL) ? -ENOENT : fc_lookup(vd, dir, name, &n);
	if (ret == -ENOENT) {
		ret = fc_create_node(vd, dir, name, flags, mode, out);
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
	if (S_ISLNK(fc_node_mode(vd, n)) && !(flags & O_NOFOLLOW)) {
		/*
		 * Open, or create as open(2) does, what the link names: a
		 * relative target from the link's directory.
		 */
		char *target = malloc(FC_PATH_MAX);

		ret = target ? fc_readlink_node(vd, n, target,
						FC_PATH_MAX - 1) :
			       -ENOMEM;
		fc_node_put(vd, n);
		if (ret == 0)
			ret = -ENOENT;
		if (ret > 0) {
			target[ret] = '\0';
			ret = links >= FC_MAXSYMLINKS ?
				      -ELOOP :
				      open_at(vd, dir, target, flags, mode, out,
					      links + 1);
		}
		free(target);
		fc_node_put(vd, dir);
		return ret;
	}
	fc_node_put(vd, dir);
	ret = fc_open_node(vd, n, flags, out);
	if (ret)
		fc_node_put(vd, n);
	return ret;
}

VDAX_EXPORT int vdax_openat(struct vdax *vd, struct vdax_node *at,
			    const char *path, int flags, mode_t mode,
			    struct vdax_file **out)
{
	if (!vd || !out)
		return -EINVAL;
	if (vdx_dev_broken(vd->dev))
		return -ENOTCONN;
	if ((flags & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	return open_at(vd, AT(at), path, flags, mode, out, 0);
}

VDAX_EXPORT int vdax_createat(struct vdax *vd, struct vdax_node *at,
			      const char *path, int flags, mode_t mode,
			      struct vdax_file **out)
{
	return vdax_openat(vd, at, path, flags | O_CREAT, mode, out);
}

VDAX_EXPORT int vdax_open(struct vdax *vd, const char *path, int flags,
			  mode_t mode, struct vdax_file **out)
{
	return vdax_openat(vd, NULL, path, flags, mode, out);
}

VDAX_EXPORT int vdax_create(struct vdax *vd, const char *path, int flags,
			    mode_t mode, struct vdax_file **out)
{
	return vdax_openat(vd, NULL, path, flags | O_CREAT, mode, out);
}

VDAX_EXPORT int vdax_open_node(struct vdax *vd, struct vdax_node *vn,
			       int flags, struct vdax_file **out)
{
	struct fc_node *n;
	int ret;

	if (!vd || !vn || !out || (flags & O_CREAT))
		return -EINVAL;
	if ((flags & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	if (vdx_dev_broken(vd->dev))
		return -ENOTCONN;
	n = fc_node_of(vn);
	fc_node_get(vd, n); /* the handle's */
	ret = fc_open_node(vd, n, flags, out);
	if (ret)
		fc_node_put(vd, n);
	return ret;
}

VDAX_EXPORT struct vdax_node *vdax_file_node(struct vdax_file *f)
{
	if (!f)
		return NULL;
	fc_node_get(f->vd, f->node);
	return fc_vnode(f->node);
}

VDAX_EXPORT int vdax_release(struct vdax_file *f)
{
	return f ? fc_file_release(f) : 0;
}

/* ---------------- I/O ---------------- */

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
	if (write)
		return fc_write_fuse(f, buf, len, off);
	return fc_io(f, false, buf, len, off);
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
		if (ret > 0 && !fc_getattr(f->vd, f->node, f, &a))
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
			off_t size = fc_file_size(f);

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
		base = fc_file_size(f);
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

