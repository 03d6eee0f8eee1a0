// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libvdax public API, locks: flock(2) on a handle, and POSIX record locks
 * owned by the handle or by an owner the caller names (as the kernel names
 * a process's file table), all through the backend's GETLK/SETLK(W).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "client/client.h"

static int lk_call(struct vdax_file *f, uint64_t owner, uint32_t opcode,
		   uint32_t lk_flags, const struct fuse_file_lock *lk,
		   struct fuse_file_lock *res)
{
	struct fuse_lk_in in = { .fh = f->fh,
				 .owner = owner,
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
	struct fuse_file_lock lk = { .start = 0, .end = FC_OFFSET_MAX,
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
	ret = lk_call(f, f->owner, (op & LOCK_NB) || lk.type == F_UNLCK ? FUSE_SETLK :
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
		start = fc_file_size(f);
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
		lk->end = FC_OFFSET_MAX;
	}
	return 0;
}

static int getlk(struct vdax_file *f, uint64_t owner, struct flock *fl)
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
	ret = lk_call(f, owner, FUSE_GETLK, 0, &lk, &res);
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
		fl->l_len = res.end == FC_OFFSET_MAX ?
				    0 :
				    (off_t)(res.end - res.start + 1);
		fl->l_pid = (pid_t)res.pid;
	}
	return 0;
}

static int setlk(struct vdax_file *f, uint64_t owner, const struct flock *fl,
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
	return lk_call(f, owner, wait ? FUSE_SETLKW : FUSE_SETLK, 0, &lk, NULL);
}


VDAX_EXPORT int vdax_getlk(struct vdax_file *f, struct flock *fl)
{
	return f ? getlk(f, f->owner, fl) : -EBADF;
}

VDAX_EXPORT int vdax_setlk(struct vdax_file *f, const struct flock *fl,
			   int wait)
{
	return f ? setlk(f, f->owner, fl, wait) : -EBADF;
}

VDAX_EXPORT int vdax_getlk_owner(struct vdax_file *f, uint64_t owner,
				 struct flock *fl)
{
	return f ? getlk(f, owner, fl) : -EBADF;
}

VDAX_EXPORT int vdax_setlk_owner(struct vdax_file *f, uint64_t owner,
				 const struct flock *fl, int wait)
{
	return f ? setlk(f, owner, fl, wait) : -EBADF;
}
