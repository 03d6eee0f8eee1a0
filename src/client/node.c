// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libvdax FUSE client, node layer: the calls on one node that everything
 * above shares (attributes, open, create, release, plain writes). The DAX
 * window (fdax.c) and program mmap (mmap.c) use these, never the public
 * API. A node reference is an fc_node one (cache.c).
 *
 * Lock order: as client.h (file lock -> cache_lock); no lock is held
 * across a request here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"

void fc_attr_to_stat(const struct fuse_attr *a, struct stat *st)
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

int fc_getattr(struct vdax *vd, struct fc_node *n, struct vdax_file *f,
	       struct fuse_attr *a)
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
	if (ret == -ESTALE)
		fc_node_stale(vd, n);
	if (ret < 0)
		return ret;
	if (((ao.attr.mode ^ fc_node_mode(vd, n)) & S_IFMT) &&
	    n->nodeid != FUSE_ROOT_ID)
		return -EIO; /* type of an inode never changes */
	fc_attr_update(vd, n, &ao);
	*a = ao.attr;
	return 0;
}

int fc_setattr(struct vdax *vd, struct fc_node *n, struct vdax_file *f,
	       struct fuse_setattr_in *in)
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
	if (ret == -ESTALE)
		fc_node_stale(vd, n);
	return ret < 0 ? ret : 0;
}

/* A request that creates @name in @dir and answers fuse_entry_out. */
int fc_create_entry(struct vdax *vd, struct fc_node *dir, const char *name,
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

int fc_open_node(struct vdax *vd, struct fc_node *n, int flags,
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
	if (ret == -ESTALE)
		fc_node_stale(vd, n);
	if (ret < 0)
		return ret;
	f = file_new(vd, n, oo.fh, flags, dir);
	if (!f) {
		send_release(vd, n, oo.fh, in.flags, dir, 0, 0);
		return -ENOMEM;
	}
	if ((flags & O_TRUNC) && !dir) {
		if (!(vd->init_flags & FUSE_ATOMIC_O_TRUNC)) {
			struct fuse_setattr_in sa = { .valid = FATTR_SIZE };

			ret = fc_setattr(vd, n, f, &sa);
			if (ret) {
				fc_node_get(vd, n); /* the caller keeps its own */
				fc_file_release(f);
				return ret;
			}
		}
		fc_attr_invalidate(vd, n);
	}
	*out = f;
	return 0;
}

int fc_create_node(struct vdax *vd, struct fc_node *dir, const char *name,
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
	if (ret)
		return ret;
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

ssize_t fc_write_fuse(struct vdax_file *f, const void *buf, size_t len,
		      uint64_t off)
{
	ssize_t ret = fc_io(f, true, (char *)buf, len, off);

	if (ret != 0)
		fc_attr_invalidate(f->vd, f->node);
	return ret;
}

off_t fc_file_size(struct vdax_file *f)
{
	struct fuse_attr a;
	int ret = fc_getattr(f->vd, f->node, f, &a);

	return ret ? ret : (off_t)a.size;
}


int fc_file_release(struct vdax_file *f)
{
	struct vdax *vd = f->vd;
	int ret = 0;

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
	fc_dax_file_release(f);
	send_release(vd, f->node, f->fh, f->flags, f->is_dir,
		     f->flocked ? FUSE_RELEASE_FLOCK_UNLOCK : 0, f->owner);
	fc_node_put(vd, f->node);
	pthread_mutex_destroy(&f->lock);
	free(f);
	return ret;
}
