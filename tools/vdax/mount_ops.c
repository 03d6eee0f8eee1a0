// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vdax mount: the FUSE operations. The kernel names files by node id and
 * (parent, name); each node id holds a libvdax node (mount_nodes.c), so
 * every operation is one libvdax call on nodes: LOOKUP is vdax_lookup(),
 * MKDIR vdax_mkdirat(), SETATTR vdax_setattr() and so on, exactly the
 * requests a Linux guest on the same backend would send. No path is ever
 * built.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "mount_int.h"

/*
 * Open flags that only concern this machine's kernel and are not passed on
 * to the backend: O_DIRECT bypasses the mount's page cache here (the kernel
 * does that), while on the host it would make the backend's reads and
 * writes need aligned buffers that libvdax's shared memory does not
 * guarantee (vdaxd answers EINVAL). QEMU's virtiofsd drops it too unless
 * started with allow_direct_io.
 */
#define VM_LOCAL_FLAGS O_DIRECT

static struct vm *vm_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Every error reply goes through here: libvdax's -errno, counted. */
static void reply_err(fuse_req_t req, enum vm_op op, int err)
{
	vm_count(vm_of(req), op, err);
	fuse_reply_err(req, -err);
}

static void reply_ok(fuse_req_t req, enum vm_op op)
{
	vm_count(vm_of(req), op, 0);
	fuse_reply_err(req, 0);
}

static double ttl_seconds(uint64_t sec, uint32_t nsec)
{
	return (double)sec + (double)nsec / 1e9;
}

/* The kernel may keep what the backend let libvdax keep, unless -o says. */
static double attr_timeout(const struct vm *vm, const struct vdax_ttl *t)
{
	if (vm->attr_timeout >= 0)
		return vm->attr_timeout;
	return ttl_seconds(t->attr_sec, t->attr_nsec);
}

static double entry_timeout(const struct vm *vm, const struct vdax_ttl *t)
{
	if (vm->entry_timeout >= 0)
		return vm->entry_timeout;
	return ttl_seconds(t->entry_sec, t->entry_nsec);
}

/*
 * The entry for libvdax node @vn (its reference taken over): attributes
 * and lifetimes, and a kernel node counted as looked up once.
 */
static int entry_of(struct vm *vm, struct vdax_node *vn,
		    struct fuse_entry_param *e)
{
	struct vdax_ttl ttl;
	int ret;

	memset(e, 0, sizeof(*e));
	ret = vdax_getattr(vm->vd, vn, &e->attr, &ttl);
	if (ret) {
		vdax_node_put(vm->vd, vn);
		return ret;
	}
	ret = vm_node_enter(vm, vn, e->attr.st_mode, &e->ino);
	if (ret)
		return ret;
	e->generation = e->ino >> 32;
	e->attr_timeout = attr_timeout(vm, &ttl);
	e->entry_timeout = entry_timeout(vm, &ttl);
	return 0;
}

static void reply_entry(fuse_req_t req, enum vm_op op, struct vdax_node *vn)
{
	struct vm *vm = vm_of(req);
	struct fuse_entry_param e;
	int ret = entry_of(vm, vn, &e);

	if (ret)
		return reply_err(req, op, ret);
	vm_count(vm, op, 0);
	if (fuse_reply_entry(req, &e) == -ENOENT)
		vm_node_forget(vm, e.ino, 1); /* the caller was interrupted */
}

/*
 * Files the kernel creates as someone else are given to that someone (the
 * backend creates them as libvdax's user). A symlink's owner changes
 * itself: vdax_setattr() never follows.
 */
static int give_to_caller(struct vm *vm, fuse_req_t req, struct vm_node *dir,
			  struct vdax_node *vn)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct stat attr = { .st_uid = ctx->uid, .st_gid = ctx->gid };
	struct stat pst;
	int set = 0;

	if (ctx->uid != vm->uid)
		set |= VDAX_SET_UID;
	/* a set-group-ID directory decides the group itself */
	if (ctx->gid != vm->gid &&
	    (vdax_getattr(vm->vd, dir->vn, &pst, NULL) ||
	     !(pst.st_mode & S_ISGID)))
		set |= VDAX_SET_GID;
	if (!set)
		return 0;
	return vdax_setattr(vm->vd, vn, NULL, &attr, set, NULL, NULL);
}

/* ---- names ---- */

static void vm_init(void *userdata, struct fuse_conn_info *conn)
{
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	if (conn->capable & FUSE_CAP_EXPORT_SUPPORT)
		conn->want &= ~FUSE_CAP_EXPORT_SUPPORT;
	/* libvdax splits large transfers itself; no need to go smaller. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/*
	 * Always READDIRPLUS, not only for the first batch (the "auto"
	 * heuristic): libvdax has the attributes already (its own
	 * READDIRPLUS to the backend), so they cost nothing, and `ls -l` of
	 * a large directory needs no LOOKUP per entry.
	 */
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
}

static void vm_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct vm *vm = vm_of(req);
	struct vm_node *p = vm_node_pin(vm, parent);
	struct vdax_node *vn;
	int ret = p ? vdax_lookup(vm->vd, p->vn, name, &vn) : -ESTALE;

	vm_node_unpin(vm, p);
	if (ret)
		return reply_err(req, VM_LOOKUP, ret);
	reply_entry(req, VM_LOOKUP, vn);
}

static void vm_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	vm_count(vm_of(req), VM_FORGET, 0);
	vm_node_forget(vm_of(req), ino, nlookup);
	fuse_reply_none(req);
}

static void vm_forget_multi(fuse_req_t req, size_t n,
			    struct fuse_forget_data *fd)
{
	for (size_t i = 0; i < n; i++) {
		vm_count(vm_of(req), VM_FORGET, 0);
		vm_node_forget(vm_of(req), fd[i].ino, fd[i].nlookup);
	}
	fuse_reply_none(req);
}

static void vm_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct vm *vm = vm_of(req);
	struct vm_file *f = vm_file_find(vm, fi);
	struct vm_node *n = vm_node_pin(vm, ino);
	struct vdax_ttl ttl;
	struct stat st;
	int ret = -ESTALE;

	if (f && f->vf)
		ret = vdax_fstat_ttl(f->vf, &st, &ttl);
	else if (n)
		ret = vdax_getattr(vm->vd, n->vn, &st, &ttl);
	vm_node_unpin(vm, n);
	if (ret)
		return reply_err(req, VM_GETATTR, ret);
	vm_count(vm, VM_GETATTR, 0);
	fuse_reply_attr(req, &st, attr_timeout(vm, &ttl));
}

static void vm_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct vm *vm = vm_of(req);
	struct vm_file *f = vm_file_find(vm, fi);
	struct vm_node *n = vm_node_pin(vm, ino);
	/* the values are libfuse's own FUSE_SET_ATTR_* */
	int set = to_set & (VDAX_SET_MODE | VDAX_SET_UID | VDAX_SET_GID |
			    VDAX_SET_SIZE | VDAX_SET_ATIME | VDAX_SET_MTIME |
			    VDAX_SET_ATIME_NOW | VDAX_SET_MTIME_NOW);
	struct vdax_file *vf = NULL;
	struct vdax_ttl ttl;
	struct stat st;
	int ret = -ESTALE;

	/* ftruncate(2) works through the handle (its mode may deny writes) */
	if ((set & VDAX_SET_SIZE) && f && f->vf)
		vf = f->vf;
	if (n) /* a handle names its own node */
		ret = vdax_setattr(vm->vd, vf ? NULL : n->vn, vf, attr, set,
				   &st, &ttl);
	vm_node_unpin(vm, n);
	if (ret)
		return reply_err(req, VM_SETATTR, ret);
	vm_count(vm, VM_SETATTR, 0);
	fuse_reply_attr(req, &st, attr_timeout(vm, &ttl));
}

static void vm_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct vm *vm = vm_of(req);
	struct vm_node *n = vm_node_pin(vm, ino);
	char buf[PATH_MAX + 1];
	ssize_t len = n ? vdax_readlinkat(vm->vd, n->vn, "", buf,
					  sizeof(buf) - 1) :
			  -ESTALE;

	vm_node_unpin(vm, n);
	if (len < 0)
		return reply_err(req, VM_READLINK, (int)len);
	buf[len] = '\0';
	vm_count(vm, VM_READLINK, 0);
	fuse_reply_readlink(req, buf);
}

/* What mknod/mkdir/symlink make, before the shared tail. */
struct vm_make {
	enum vm_op op;
	mode_t mode;
	dev_t rdev;
	const char *target;
};

static void make(fuse_req_t req, fuse_ino_t parent, const char *name,
		 const struct vm_make *m)
{
	struct vm *vm = vm_of(req);
	struct vm_node *p = vm_node_pin(vm, parent);
	struct vdax_node *vn = NULL;
	int ret = -ESTALE;

	if (p && m->op == VM_MKDIR)
		ret = vdax_mkdirat(vm->vd, p->vn, name, m->mode, &vn);
	else if (p && m->op == VM_MKNOD)
		ret = vdax_mknodat(vm->vd, p->vn, name, m->mode, m->rdev, &vn);
	else if (p)
		ret = vdax_symlinkat(vm->vd, m->target, p->vn, name, &vn);
	if (!ret)
		ret = give_to_caller(vm, req, p, vn);
	vm_node_unpin(vm, p);
	if (ret) {
		vdax_node_put(vm->vd, vn);
		return reply_err(req, m->op, ret);
	}
	reply_entry(req, m->op, vn);
}

static void vm_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	make(req, parent, name,
	     &(struct vm_make){ .op = VM_MKNOD, .mode = mode, .rdev = rdev });
}

static void vm_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	make(req, parent, name, &(struct vm_make){ .op = VM_MKDIR, .mode = mode });
}

static void vm_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	make(req, parent, name,
	     &(struct vm_make){ .op = VM_SYMLINK, .target = link });
}

static void remove_name(fuse_req_t req, enum vm_op op, fuse_ino_t parent,
			const char *name)
{
	struct vm *vm = vm_of(req);
	struct vm_node *p = vm_node_pin(vm, parent);
	int ret = p ? vdax_unlinkat(vm->vd, p->vn, name,
				    op == VM_RMDIR ? AT_REMOVEDIR : 0) :
		      -ESTALE;

	vm_node_unpin(vm, p);
	if (ret)
		return reply_err(req, op, ret);
	reply_ok(req, op);
}

static void vm_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, VM_UNLINK, parent, name);
}

static void vm_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, VM_RMDIR, parent, name);
}

static void vm_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct vm *vm = vm_of(req);
	struct vm_node *op = vm_node_pin(vm, parent);
	struct vm_node *np = vm_node_pin(vm, newparent);
	int ret = op && np ? vdax_renameat2(vm->vd, op->vn, name, np->vn,
					    newname, flags) :
			     -ESTALE;

	vm_node_unpin(vm, op);
	vm_node_unpin(vm, np);
	if (ret)
		return reply_err(req, VM_RENAME, ret);
	reply_ok(req, VM_RENAME);
}

static void vm_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	struct vm *vm = vm_of(req);
	struct vm_node *n = vm_node_pin(vm, ino);
	struct vm_node *np = vm_node_pin(vm, newparent);
	struct vdax_node *vn;
	int ret = n && np ? vdax_linkat(vm->vd, n->vn, "", np->vn, newname,
					AT_EMPTY_PATH, &vn) :
			    -ESTALE;

	vm_node_unpin(vm, n);
	vm_node_unpin(vm, np);
	if (ret)
		return reply_err(req, VM_LINK, ret);
	reply_entry(req, VM_LINK, vn);
}

/* ---- files ---- */

/*
 * Page cache policy (FUSE's "auto_cache"): pages cached for a file survive
 * an open only if its size and mtime are what the previous open saw, so a
 * change made by another client of the backend is seen at the next open.
 */
static void set_open_flags(struct vm *vm, struct vm_file *f,
			   struct fuse_file_info *fi, const struct stat *known)
{
	struct vm_node *n = f->node;
	struct stat st;
	bool same = false;

	fi->direct_io = vm->direct_io;
	fi->keep_cache = 0;
	if (vm->direct_io)
		return;
	if (known) /* a file just created: its CREATE reply's */
		st = *known;
	else if (vdax_fstat(f->vf, &st))
		return;
	pthread_mutex_lock(&vm->lock);
	same = n->seen_size == st.st_size &&
	       n->seen_mtime.tv_sec == st.st_mtim.tv_sec &&
	       n->seen_mtime.tv_nsec == st.st_mtim.tv_nsec;
	n->seen_size = st.st_size;
	n->seen_mtime = st.st_mtim;
	pthread_mutex_unlock(&vm->lock);
	fi->keep_cache = same;
}

static void vm_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct vm *vm = vm_of(req);
	struct vm_node *n = vm_node_pin(vm, ino);
	struct vdax_file *vf;
	struct vm_file *f;
	/* the kernel already resolved the name: open that node */
	int ret = n ? vdax_open_node(vm->vd, n->vn,
				     fi->flags & ~(O_CREAT | O_EXCL | O_NOCTTY |
						   O_NOFOLLOW | VM_LOCAL_FLAGS),
				     &vf) :
		      -ESTALE;

	if (ret) {
		vm_node_unpin(vm, n);
		return reply_err(req, VM_OPEN, ret);
	}
	ret = vm_file_new(vm, n, vf, false, &f);
	vm_node_unpin(vm, n);
	if (ret) {
		vdax_release(vf);
		return reply_err(req, VM_OPEN, ret);
	}
	fi->fh = f->fh;
	set_open_flags(vm, f, fi, NULL);
	vm_count(vm, VM_OPEN, 0);
	if (fuse_reply_open(req, fi) == -ENOENT)
		vm_file_close(vm, f);
}

static void vm_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct vm *vm = vm_of(req);
	struct vm_node *p = vm_node_pin(vm, parent), *n;
	struct fuse_entry_param e;
	struct vdax_ttl ttl;
	struct vdax_file *vf;
	struct vdax_node *vn;
	struct vm_file *f;
	int ret = p ? vdax_createat(vm->vd, p->vn, name,
				    (fi->flags & ~(O_NOCTTY | VM_LOCAL_FLAGS)) |
					    O_NOFOLLOW,
				    mode, &vf) :
		      -ESTALE;

	if (ret) {
		vm_node_unpin(vm, p);
		return reply_err(req, VM_CREATE, ret);
	}
	vn = vdax_file_node(vf);
	ret = give_to_caller(vm, req, p, vn);
	vm_node_unpin(vm, p);
	memset(&e, 0, sizeof(e));
	/* the node's attributes and lifetimes: those of the CREATE reply */
	if (!ret)
		ret = vdax_getattr(vm->vd, vn, &e.attr, &ttl);
	if (ret) {
		vdax_node_put(vm->vd, vn);
		vdax_release(vf);
		return reply_err(req, VM_CREATE, ret);
	}
	ret = vm_node_enter(vm, vn, S_IFREG, &e.ino);
	n = ret ? NULL : vm_node_pin(vm, e.ino);
	if (n) {
		ret = vm_file_new(vm, n, vf, false, &f);
		vm_node_unpin(vm, n);
		if (ret)
			vm_node_forget(vm, e.ino, 1);
	}
	if (ret || !n) {
		vdax_release(vf);
		return reply_err(req, VM_CREATE, ret ? ret : -ESTALE);
	}
	e.generation = e.ino >> 32;
	e.attr_timeout = attr_timeout(vm, &ttl);
	e.entry_timeout = entry_timeout(vm, &ttl);
	fi->fh = f->fh;
	set_open_flags(vm, f, fi, &e.attr);
	vm_count(vm, VM_CREATE, 0);
	if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		vm_file_close(vm, f);
		vm_node_forget(vm, e.ino, 1);
	}
}

/* The one reply to a READ, sent from inside vdax_pread_window(). */
struct vm_window_reply {
	fuse_req_t req;
	bool replied;
};

/*
 * The kernel copies straight from the window pages into the reader's:
 * /dev/fuse's own copy is the only one. fuse_reply_iov() consumes the
 * request even when it fails, so from here on nobody else may reply.
 */
static int window_reply(const struct iovec *iov, int cnt, void *arg)
{
	struct vm_window_reply *wr = arg;

	wr->replied = true;
	if (!cnt)
		return fuse_reply_buf(wr->req, NULL, 0); /* end of file */
	return fuse_reply_iov(wr->req, iov, cnt);
}

/*
 * A READ of a DAX file, answered from the window. Returns true if the
 * request was answered (successfully or not), false if the caller should
 * use vdax_pread(): not a DAX file, or a span the window cannot pin at once.
 */
static bool read_window(struct vm *vm, fuse_req_t req, struct vm_file *f,
			size_t size, off_t off)
{
	struct vm_window_reply wr = { .req = req };
	ssize_t n;

	if (vm->no_window_read)
		return false;
	n = vdax_pread_window(f->vf, size, off, window_reply, &wr);
	if (!wr.replied) {
		if (n == -EOPNOTSUPP || n == -E2BIG || n >= 0)
			return false;
		reply_err(req, VM_READ, (int)n);
		return true;
	}
	/* An error here is the reply's own (the reader is gone). */
	vm_count(vm, VM_READ, n < 0 ? (int)n : 0);
	if (n > 0) {
		atomic_fetch_add_explicit(&vm->cnt.bytes_read,
					  (unsigned long long)n,
					  memory_order_relaxed);
		atomic_fetch_add_explicit(&vm->cnt.window_reads, 1,
					  memory_order_relaxed);
	}
	return true;
}

static void vm_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct vm *vm = vm_of(req);
	struct vm_file *f = vm_file_find(vm, fi);
	ssize_t n;
	char *buf;

	if (!f || !f->vf)
		return reply_err(req, VM_READ, -EBADF);
	if (read_window(vm, req, f, size, off))
		return;
	buf = malloc(size ? size : 1);
	if (!buf)
		return reply_err(req, VM_READ, -ENOMEM);
	n = vdax_pread(f->vf, buf, size, off);
	if (n < 0) {
		free(buf);
		return reply_err(req, VM_READ, (int)n);
	}
	vm_count(vm, VM_READ, 0);
	atomic_fetch_add_explicit(&vm->cnt.bytes_read, (unsigned long long)n,
				  memory_order_relaxed);
	fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void vm_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct vm *vm = vm_of(req);
	struct vm_file *f = vm_file_find(vm, fi);
	ssize_t n;

	if (!f || !f->vf)
		return reply_err(req, VM_WRITE, -EBADF);
	n = vdax_pwrite(f->vf, buf, size, off);
	if (n < 0)
		return reply_err(req, VM_WRITE, (int)n);
	vm_count(vm, VM_WRITE, 0);
	atomic_fetch_add_explicit(&vm->cnt.bytes_written,
				  (unsigned long long)n, memory_order_relaxed);
	fuse_reply_write(req, (size_t)n);
}

/* close(2) of any descriptor drops the calling process's POSIX locks. */
static void vm_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct vm *vm = vm_of(req);
	struct vm_file *f = vm_file_find(vm, fi);
	struct flock lk = { .l_type = F_UNLCK, .l_whence = SEEK_SET };
	struct vdax_file *vf;
	int ret = 0;

	if (!f)
		return reply_err(req, VM_FLUSH, -EBADF);
	/* no request unless a POSIX lock was ever taken on the node */
	pthread_mutex_lock(&vm->lock);
	vf = f->node->posix_locked ? f->vf : NULL;
	pthread_mutex_unlock(&vm->lock);
	if (vf)
		ret = vdax_setlk_owner(vf, fi->lock_owner, &lk, 0);
	if (ret == -ENOSYS || ret == -EOPNOTSUPP)
		ret = 0;
	if (ret)
		return reply_err(req, VM_FLUSH, ret);
	vm_count(vm, VM_FLUSH, 0);
	fuse_reply_err(req, 0);
}

static void vm_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct vm *vm = vm_of(req);
	struct vm_file *f = vm_file_find(vm, fi);

	if (!f || !f->vf)
		return reply_err(req, VM_RELEASE, -EBADF);
	vm_file_close(vm, f);
	vm_count(vm, VM_RELEASE, 0);
	fuse_reply_err(req, 0);
}

static void vm_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	struct vm *vm = vm_of(req);
	struct vm_file *f = vm_file_find(vm, fi);
	int ret = f && f->vf ? vdax_fsync(f->vf, datasync) : -EBADF;

	if (ret)
		return reply_err(req, VM_FSYNC, ret);
	vm_count(vm, VM_FSYNC, 0);
	fuse_reply_err(req, 0);
}

/* ---- directories ---- */

static void vm_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct vm *vm = vm_of(req);
	struct vm_node *n = vm_node_pin(vm, ino);
	struct vdax_dir *d;
	struct vm_file *f;
	/* check now that it opens (errors belong to opendir(3)) */
	int ret = n ? vdax_opendir_node(vm->vd, n->vn, &d) : -ESTALE;

	if (!ret) {
		ret = vm_file_new(vm, n, NULL, true, &f);
		if (ret)
			vdax_closedir(d);
		else
			f->stream = d; /* the first READDIR reads it */
	}
	vm_node_unpin(vm, n);
	if (ret)
		return reply_err(req, VM_OPENDIR, ret);
	fi->fh = f->fh;
	vm_count(vm, VM_OPENDIR, 0);
	if (fuse_reply_open(req, fi) == -ENOENT)
		vm_file_close(vm, f);
}

/*
 * libvdax directory streams cannot seek, so a directory is read whole at
 * offset 0 and served from that snapshot: entry i has offset i + 1, which
 * keeps telldir/seekdir stable until the next rewinddir.
 */
static int dir_load(struct vm *vm, struct vm_file *f)
{
	struct vdax_dirent de;
	struct vdax_dir *d;
	size_t cap = 0;
	int ret;

	/* the stream OPENDIR opened, or a new one for a rewind */
	d = f->stream;
	f->stream = NULL;
	vm_dir_drop_snapshot(f);
	ret = d ? 0 : vdax_opendir_node(vm->vd, f->node->vn, &d);
	if (ret)
		return ret;
	while ((ret = vdax_readdir(d, &de)) > 0) {
		if (f->nents == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct vm_dirent *e =
				realloc(f->ents, ncap * sizeof(*e));

			if (!e) {
				ret = -ENOMEM;
				break;
			}
			f->ents = e;
			cap = ncap;
		}
		f->ents[f->nents].name = strdup(de.name);
		if (!f->ents[f->nents].name) {
			ret = -ENOMEM;
			break;
		}
		f->ents[f->nents].ino = de.ino;
		f->ents[f->nents].type = de.type;
		f->nents++;
	}
	vdax_closedir(d);
	if (ret < 0) {
		vm_dir_drop_snapshot(f);
		return ret;
	}
	f->loaded = true;
	return 0;
}

/* Node ids handed out in one READDIRPLUS reply, undone if it fails. */
struct vm_given {
	uint64_t *ids;
	size_t n, cap;
};

static int given_add(struct vm_given *g, uint64_t id)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 32;
		uint64_t *v = realloc(g->ids, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		g->ids = v;
		g->cap = cap;
	}
	g->ids[g->n++] = id;
	return 0;
}

/*
 * One READDIRPLUS entry: the attributes and lifetimes libvdax has for the
 * name (its cache holds them from its own READDIRPLUS to the backend, so
 * usually no request is sent), and a node counted as looked up, exactly as
 * vm_lookup() would. "." and "..", and a name gone since the snapshot, go
 * without attributes (node id 0: the kernel takes no reference).
 */
static void plus_entry(struct vm *vm, struct vm_node *dir,
		       const struct vm_dirent *de, struct fuse_entry_param *e)
{
	struct vdax_node *vn;

	memset(e, 0, sizeof(*e));
	if (strcmp(de->name, ".") && strcmp(de->name, "..") &&
	    !vdax_lookup(vm->vd, dir->vn, de->name, &vn) &&
	    !entry_of(vm, vn, e))
		return;
	memset(e, 0, sizeof(*e));
	e->attr.st_ino = de->ino;
	e->attr.st_mode = (mode_t)de->type << 12;
}

static void dir_reply(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi, bool plus)
{
	enum vm_op op = plus ? VM_READDIRPLUS : VM_READDIR;
	struct vm *vm = vm_of(req);
	struct vm_file *f = vm_file_find(vm, fi);
	struct vm_given given = { 0 };
	size_t used = 0;
	char *buf;
	int ret = 0;

	if (!f || !f->is_dir)
		return reply_err(req, op, -EBADF);
	if (off < 0)
		return reply_err(req, op, -EINVAL);
	buf = malloc(size);
	if (!buf)
		return reply_err(req, op, -ENOMEM);
	pthread_mutex_lock(&f->dlock);
	if (off == 0 || !f->loaded)
		ret = dir_load(vm, f);
	for (size_t i = off; !ret && i < f->nents; i++) {
		const struct vm_dirent *de = &f->ents[i];
		struct fuse_entry_param e;
		size_t len;

		if (!plus) {
			struct stat st = { .st_ino = de->ino,
					   .st_mode = (mode_t)de->type << 12 };

			len = fuse_add_direntry(req, buf + used, size - used,
						de->name, &st, (off_t)i + 1);
			if (len > size - used)
				break;
			used += len;
			continue;
		}
		plus_entry(vm, f->node, de, &e);
		len = fuse_add_direntry_plus(req, buf + used, size - used,
					     de->name, &e, (off_t)i + 1);
		if (len > size - used || (e.ino && given_add(&given, e.ino))) {
			/* not sent after all: the kernel holds no reference */
			if (e.ino)
				vm_node_forget(vm, e.ino, 1);
			if (len <= size - used && !used)
				ret = -ENOMEM;
			break;
		}
		used += len;
	}
	pthread_mutex_unlock(&f->dlock);
	if (ret) {
		free(buf);
		free(given.ids);
		return reply_err(req, op, ret);
	}
	vm_count(vm, op, 0);
	if (fuse_reply_buf(req, buf, used) == -ENOENT) {
		/* interrupted: the kernel never saw these lookups */
		for (size_t i = 0; i < given.n; i++)
			vm_node_forget(vm, given.ids[i], 1);
	}
	free(buf);
	free(given.ids);
}

static void vm_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	dir_reply(req, ino, size, off, fi, false);
}

static void vm_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	dir_reply(req, ino, size, off, fi, true);
}

static void vm_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct vm *vm = vm_of(req);
	struct vm_file *f = vm_file_find(vm, fi);

	if (!f || !f->is_dir)
		return reply_err(req, VM_RELEASEDIR, -EBADF);
	vm_file_close(vm, f);
	vm_count(vm, VM_RELEASEDIR, 0);
	fuse_reply_err(req, 0);
}

static void vm_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct vm *vm = vm_of(req);
	struct vm_node *n = vm_node_pin(vm, ino);
	struct statvfs sv;
	/* an unknown node still lives on the same file system */
	int ret = vdax_statfs_node(vm->vd, n ? n->vn : NULL, &sv);

	vm_node_unpin(vm, n);
	if (ret)
		return reply_err(req, VM_STATFS, ret);
	vm_count(vm, VM_STATFS, 0);
	fuse_reply_statfs(req, &sv);
}

/* ---- extended attributes ---- */

/*
 * The node for an xattr call, pinned. Symlinks have none the kernel would
 * ask us about (the VFS refuses user.* on them itself), and a backend that
 * reads them through /proc/self/fd could follow the link: refuse.
 */
static int xattr_node(struct vm *vm, fuse_ino_t ino, struct vm_node **out)
{
	struct vm_node *n = vm_node_pin(vm, ino);

	if (!n)
		return -ESTALE;
	if (S_ISLNK(n->type)) {
		vm_node_unpin(vm, n);
		return -EOPNOTSUPP;
	}
	*out = n;
	return 0;
}

static void vm_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	struct vm *vm = vm_of(req);
	struct vm_node *n = NULL;
	int ret = xattr_node(vm, ino, &n);

	if (ino == FUSE_ROOT_ID && !strcmp(name, VMNT_STATS_XATTR))
		ret = -EPERM;
	if (!ret)
		ret = vdax_setxattr_node(vm->vd, n->vn, name, value, size,
					 flags);
	vm_node_unpin(vm, n);
	if (ret)
		return reply_err(req, VM_SETXATTR, ret);
	vm_count(vm, VM_SETXATTR, 0);
	fuse_reply_err(req, 0);
}

static void vm_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	struct vm *vm = vm_of(req);
	struct vm_node *node;
	char *buf = NULL;
	ssize_t n;
	int ret;

	if (ino == FUSE_ROOT_ID && !strcmp(name, VMNT_STATS_XATTR)) {
		char text[8192];

		vm_count(vm, VM_GETXATTR, 0);
		n = vm_stats_text(vm, text, sizeof(text));
		if (size == 0)
			return (void)fuse_reply_xattr(req, (size_t)n);
		if ((size_t)n > size)
			return reply_err(req, VM_GETXATTR, -ERANGE);
		fuse_reply_buf(req, text, (size_t)n);
		return;
	}
	ret = xattr_node(vm, ino, &node);
	if (ret)
		return reply_err(req, VM_GETXATTR, ret);
	if (size) {
		buf = malloc(size);
		if (!buf) {
			vm_node_unpin(vm, node);
			return reply_err(req, VM_GETXATTR, -ENOMEM);
		}
	}
	n = vdax_getxattr_node(vm->vd, node->vn, name, buf, size);
	vm_node_unpin(vm, node);
	if (n < 0) {
		free(buf);
		return reply_err(req, VM_GETXATTR, (int)n);
	}
	vm_count(vm, VM_GETXATTR, 0);
	if (size)
		fuse_reply_buf(req, buf, (size_t)n);
	else
		fuse_reply_xattr(req, (size_t)n);
	free(buf);
}

static void vm_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct vm *vm = vm_of(req);
	struct vm_node *node;
	char *buf = NULL;
	ssize_t n;
	int ret = xattr_node(vm, ino, &node);

	if (ret == -EOPNOTSUPP) { /* a symlink: nothing we can list */
		vm_count(vm, VM_LISTXATTR, 0);
		if (size)
			fuse_reply_buf(req, NULL, 0);
		else
			fuse_reply_xattr(req, 0);
		return;
	}
	if (ret)
		return reply_err(req, VM_LISTXATTR, ret);
	if (size) {
		buf = malloc(size);
		if (!buf) {
			vm_node_unpin(vm, node);
			return reply_err(req, VM_LISTXATTR, -ENOMEM);
		}
	}
	n = vdax_listxattr_node(vm->vd, node->vn, buf, size);
	vm_node_unpin(vm, node);
	if (n < 0) {
		free(buf);
		return reply_err(req, VM_LISTXATTR, (int)n);
	}
	vm_count(vm, VM_LISTXATTR, 0);
	if (size)
		fuse_reply_buf(req, buf, (size_t)n);
	else
		fuse_reply_xattr(req, (size_t)n);
	free(buf);
}

static void vm_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct vm *vm = vm_of(req);
	struct vm_node *n = NULL;
	int ret = xattr_node(vm, ino, &n);

	if (!ret)
		ret = vdax_removexattr_node(vm->vd, n->vn, name);
	vm_node_unpin(vm, n);
	if (ret)
		return reply_err(req, VM_REMOVEXATTR, ret);
	vm_count(vm, VM_REMOVEXATTR, 0);
	fuse_reply_err(req, 0);
}

/* Without default_permissions: check the caller against the attributes. */
static void vm_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct vm *vm = vm_of(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct stat st;
	mode_t bits;
	struct vm_node *n = vm_node_pin(vm, ino);
	int ret = n ? vdax_getattr(vm->vd, n->vn, &st, NULL) : -ESTALE;

	vm_node_unpin(vm, n);

	if (ret)
		return reply_err(req, VM_ACCESS, ret);
	if (mask == F_OK)
		goto ok;
	if (ctx->uid == 0) {
		/* root: everything but executing a file nobody may execute */
		if ((mask & X_OK) && !S_ISDIR(st.st_mode) &&
		    !(st.st_mode & 0111))
			return reply_err(req, VM_ACCESS, -EACCES);
		goto ok;
	}
	if (ctx->uid == st.st_uid) {
		bits = (st.st_mode >> 6) & 7;
	} else {
		gid_t groups[64];
		int ng = fuse_req_getgroups(req, 64, groups);
		bool in = ctx->gid == st.st_gid;

		for (int i = 0; !in && i < ng && i < 64; i++)
			in = groups[i] == st.st_gid;
		bits = in ? (st.st_mode >> 3) & 7 : st.st_mode & 7;
	}
	if ((mask & bits) != (unsigned)mask)
		return reply_err(req, VM_ACCESS, -EACCES);
ok:
	vm_count(vm, VM_ACCESS, 0);
	fuse_reply_err(req, 0);
}

/* ---- locks, space, copies ---- */

static void vm_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		     struct flock *lock)
{
	struct vm *vm = vm_of(req);
	struct vm_file *f = vm_file_find(vm, fi);
	int ret = f && f->vf ?
		vdax_getlk_owner(f->vf, fi->lock_owner, lock) :
		-EBADF;

	if (ret)
		return reply_err(req, VM_GETLK, ret);
	vm_count(vm, VM_GETLK, 0);
	fuse_reply_lock(req, lock);
}

static void vm_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		     struct flock *lock, int sleep)
{
	struct vm *vm = vm_of(req);
	struct vm_file *f = vm_file_find(vm, fi);
	int ret = -EBADF;

	if (f && f->vf && lock->l_type != F_UNLCK) {
		/* before the request: a FLUSH racing with it must unlock */
		pthread_mutex_lock(&vm->lock);
		f->node->posix_locked = true;
		pthread_mutex_unlock(&vm->lock);
	}
	if (f && f->vf)
		ret = vdax_setlk_owner(f->vf, fi->lock_owner, lock, sleep);
	if (ret)
		return reply_err(req, VM_SETLK, ret);
	vm_count(vm, VM_SETLK, 0);
	fuse_reply_err(req, 0);
}

static void vm_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		     int op)
{
	struct vm *vm = vm_of(req);
	struct vm_file *f = vm_file_find(vm, fi);
	int ret = f && f->vf ? vdax_flock(f->vf, op) : -EBADF;

	if (ret)
		return reply_err(req, VM_FLOCK, ret);
	vm_count(vm, VM_FLOCK, 0);
	fuse_reply_err(req, 0);
}

static void vm_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			 off_t offset, off_t length, struct fuse_file_info *fi)
{
	struct vm *vm = vm_of(req);
	struct vm_file *f = vm_file_find(vm, fi);
	int ret = f && f->vf ? vdax_fallocate(f->vf, mode, offset, length) :
			       -EBADF;

	if (ret)
		return reply_err(req, VM_FALLOCATE, ret);
	vm_count(vm, VM_FALLOCATE, 0);
	fuse_reply_err(req, 0);
}

static void vm_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		     struct fuse_file_info *fi)
{
	struct vm *vm = vm_of(req);
	struct vm_file *f = vm_file_find(vm, fi);
	off_t pos = f && f->vf ? vdax_lseek(f->vf, off, whence) : -EBADF;

	if (pos < 0)
		return reply_err(req, VM_LSEEK, (int)pos);
	vm_count(vm, VM_LSEEK, 0);
	fuse_reply_lseek(req, pos);
}

static void vm_copy_file_range(fuse_req_t req, fuse_ino_t ino_in,
			       off_t off_in, struct fuse_file_info *fi_in,
			       fuse_ino_t ino_out, off_t off_out,
			       struct fuse_file_info *fi_out, size_t len,
			       int flags)
{
	struct vm *vm = vm_of(req);
	struct vm_file *in = vm_file_find(vm, fi_in), *out = vm_file_find(vm, fi_out);
	ssize_t n;

	if (!in || !in->vf || !out || !out->vf)
		return reply_err(req, VM_COPY_FILE_RANGE, -EBADF);
	n = vdax_copy_file_range(in->vf, &off_in, out->vf, &off_out, len,
				 (unsigned)flags);
	if (n < 0)
		return reply_err(req, VM_COPY_FILE_RANGE, (int)n);
	vm_count(vm, VM_COPY_FILE_RANGE, 0);
	fuse_reply_write(req, (size_t)n);
}

const struct fuse_lowlevel_ops vm_ops = {
	.init = vm_init,
	.lookup = vm_lookup,
	.forget = vm_forget,
	.forget_multi = vm_forget_multi,
	.getattr = vm_getattr,
	.setattr = vm_setattr,
	.readlink = vm_readlink,
	.mknod = vm_mknod,
	.mkdir = vm_mkdir,
	.unlink = vm_unlink,
	.rmdir = vm_rmdir,
	.symlink = vm_symlink,
	.rename = vm_rename,
	.link = vm_link,
	.open = vm_open,
	.create = vm_create,
	.read = vm_read,
	.write = vm_write,
	.flush = vm_flush,
	.release = vm_release,
	.fsync = vm_fsync,
	.opendir = vm_opendir,
	.readdir = vm_readdir,
	.readdirplus = vm_readdirplus,
	.releasedir = vm_releasedir,
	.statfs = vm_statfs,
	.setxattr = vm_setxattr,
	.getxattr = vm_getxattr,
	.listxattr = vm_listxattr,
	.removexattr = vm_removexattr,
	.access = vm_access,
	.getlk = vm_getlk,
	.setlk = vm_setlk,
	.flock = vm_flock,
	.fallocate = vm_fallocate,
	.lseek = vm_lseek,
	.copy_file_range = vm_copy_file_range,
};

