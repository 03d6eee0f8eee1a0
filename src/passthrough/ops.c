// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Passthrough operations. Every host path is one component resolved with an
 * *at() call relative to an inode's O_PATH fd; inodes are reopened for I/O
 * through /proc/self/fd (never when the inode is a symlink), so no symlink
 * is ever followed on the host and no path leaves the shared directory.
 * An inode held by a file handle has no fd of its own: each operation
 * opens the handle (open_by_handle_at) for as long as it needs an fd.
 *
 * Creating operations run with the guest caller's fsuid/fsgid (per thread on
 * Linux) and, where the thread could unshare its fs struct, umask 0 so that
 * the guest's umask alone decides the mode bits.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/fuse.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "passthrough/internal.h"
#include "passthrough/xattrmap.h"

#define PT_DIRBUF_SIZE 16384

/* ---- per-thread state ---- */

/* 1: this thread has its own fs struct with umask 0; -1: could not. */
static __thread int thread_fs_private;
/* The thread's own filesystem ids, as set by thread_prepare(). */
static __thread uid_t thread_fsuid;
static __thread gid_t thread_fsgid;

static void thread_prepare(void)
{
	if (thread_fs_private)
		return;
	if (unshare(CLONE_FS) == 0) {
		umask(0);
		thread_fs_private = 1;
	} else {
		VLOG_WARN("passthrough: unshare(CLONE_FS): %s; the process "
			  "umask also applies to new files", strerror(errno));
		thread_fs_private = -1;
	}
	/* setfsuid(-1) fails and so reports the current value. */
	thread_fsuid = (uid_t)syscall(SYS_setfsuid, -1);
	thread_fsgid = (gid_t)syscall(SYS_setfsgid, -1);
}

struct creds_saved {
	bool switched;
	uid_t uid;
	gid_t gid;
	int ngroups; /* -1: the thread's groups were left alone */
	gid_t groups[64];
};

/*
 * The caller's supplementary groups, for this thread only: the raw
 * syscall (glibc's setgroups() changes every thread). Saves the thread's
 * own first. 0 or -errno.
 */
static int groups_enter(const struct pt_ctx *ctx, struct creds_saved *s)
{
	gid_t g[PT_CTX_GROUPS];
	long n;

	s->ngroups = -1;
	if (!ctx->ngroups)
		return 0;
	n = syscall(SYS_getgroups, 64, s->groups);
	if (n < 0)
		return -errno;
	for (uint32_t i = 0; i < ctx->ngroups && i < PT_CTX_GROUPS; i++)
		g[i] = ctx->groups[i];
	if (syscall(SYS_setgroups, ctx->ngroups, g) < 0)
		return -errno;
	s->ngroups = (int)n;
	return 0;
}

static void groups_leave(const struct creds_saved *s)
{
	if (s->ngroups >= 0 &&
	    syscall(SYS_setgroups, s->ngroups, s->groups) < 0)
		VLOG_WARN("passthrough: restoring the thread's groups: %s",
			  strerror(errno));
}

/*
 * Create as the caller. Nothing to switch when the caller's ids are the
 * daemon's own (a root guest on a root daemon): no syscalls at all.
 */
static int creds_enter(const struct pt_ctx *ctx, struct creds_saved *s)
{
	int ret;

	s->switched = false;
	if (ctx->forbidden)
		return -EPERM;
	thread_prepare();
	s->switched = ctx->uid != thread_fsuid || ctx->gid != thread_fsgid ||
		      ctx->ngroups;
	if (!s->switched)
		return 0;
	ret = groups_enter(ctx, s);
	if (ret < 0)
		return ret;
	s->gid = syscall(SYS_setfsgid, ctx->gid);
	s->uid = syscall(SYS_setfsuid, ctx->uid);
	/* setfsuid() reports failure only by not changing anything. */
	if ((uid_t)syscall(SYS_setfsuid, -1) != ctx->uid ||
	    (gid_t)syscall(SYS_setfsgid, -1) != ctx->gid) {
		syscall(SYS_setfsuid, s->uid);
		syscall(SYS_setfsgid, s->gid);
		groups_leave(s);
		return -EPERM;
	}
	return 0;
}

static void creds_leave(const struct creds_saved *s)
{
	if (!s->switched)
		return;
	syscall(SYS_setfsuid, s->uid);
	syscall(SYS_setfsgid, s->gid);
	groups_leave(s);
}

/* ---- helpers ---- */

/* A name from the guest must be one ordinary path component. */
static int check_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || strchr(name, '/'))
		return -EINVAL;
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	return 0;
}

static int stat_fd(int fd, struct stat *st, uint64_t *mnt_id)
{
	struct statx sx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW,
		  STATX_BASIC_STATS | STATX_MNT_ID, &sx) < 0)
		return -errno;
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
	st->st_ino = sx.stx_ino;
	st->st_mode = sx.stx_mode;
	st->st_nlink = sx.stx_nlink;
	st->st_uid = sx.stx_uid;
	st->st_gid = sx.stx_gid;
	st->st_rdev = makedev(sx.stx_rdev_major, sx.stx_rdev_minor);
	st->st_size = sx.stx_size;
	st->st_blksize = sx.stx_blksize;
	st->st_blocks = sx.stx_blocks;
	st->st_atim.tv_sec = sx.stx_atime.tv_sec;
	st->st_atim.tv_nsec = sx.stx_atime.tv_nsec;
	st->st_mtim.tv_sec = sx.stx_mtime.tv_sec;
	st->st_mtim.tv_nsec = sx.stx_mtime.tv_nsec;
	st->st_ctim.tv_sec = sx.stx_ctime.tv_sec;
	st->st_ctim.tv_nsec = sx.stx_ctime.tv_nsec;
	if (mnt_id)
		*mnt_id = (sx.stx_mask & STATX_MNT_ID) ? sx.stx_mnt_id : 0;
	return 0;
}

/* ---- inode fds ---- */

/*
 * open_by_handle_at() of a file whose last link went a moment ago, while
 * the host kernel is still evicting its inode, fails ENOMEM on ext4 (and
 * wherever the filesystem maps iget_locked()'s "no inode" to it): the
 * lookup met the inode being freed. It is a deleted file, not a shortage
 * of memory, and once the eviction is over the same call answers ESTALE.
 * So ENOMEM is asked again, sleeping a little between tries, for up to
 * 50 ms (the longest seen: 7 ms on two loaded CPUs, 40 tries); only an
 * ENOMEM that outlasts that goes to the guest.
 */
#define HANDLE_ENOMEM_WAIT_NS (50 * 1000 * 1000L)

static int open_handle_settled(const struct pt_inode *ino, int flags)
{
	const struct timespec nap = { 0, 100 * 1000 };
	long waited = 0;
	int fd;

	for (;;) {
		fd = open_by_handle_at(ino->mount_fd, ino->fh,
				       flags | O_CLOEXEC);
		if (fd >= 0 || errno != ENOMEM ||
		    waited >= HANDLE_ENOMEM_WAIT_NS)
			return fd;
		nanosleep(&nap, NULL);
		waited += nap.tv_nsec;
	}
}

/*
 * An fd on @ino's file, opened from its handle with @flags. A file unlinked
 * on the host no longer opens by handle (ESTALE) though the guest may still
 * have it open, as POSIX lets it: then reopen one of its open files.
 */
static int handle_open(struct pt_fs *fs, const struct pt_inode *ino,
		       int flags)
{
	char name[16];
	int fd, ofd;

	fd = open_handle_settled(ino, flags);
	if (fd >= 0)
		return fd;
	if (errno != ESTALE)
		return -errno;
	ofd = pt_inode_dup_open_fd(fs, pt_inode_nodeid(ino));
	if (ofd < 0)
		return -ESTALE;
	if (flags & O_PATH)
		return ofd;
	snprintf(name, sizeof(name), "%d", ofd);
	fd = openat(fs->opts.proc_self_fd, name, flags | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	close(ofd);
	return fd;
}

static int ino_pin(const struct pt_inode *ino)
{
	return __atomic_load_n(&ino->pin_fd, __ATOMIC_ACQUIRE);
}

/*
 * An O_PATH fd on @ino for one operation: its own fd (or the one it was
 * pinned with), or its handle opened; give it back with ino_fd_put(). An
 * fd per operation rather than a cache: two syscalls, and nothing to bound
 * or to invalidate.
 */
static int ino_fd(struct pt_fs *fs, const struct pt_inode *ino)
{
	int pin;

	if (!ino->fh)
		return ino->fd;
	pin = ino_pin(ino);
	return pin >= 0 ? pin : handle_open(fs, ino, O_PATH);
}

/* A pin set meanwhile is another fd than the one opened: that one closes. */
static void ino_fd_put(const struct pt_inode *ino, int fd)
{
	if (ino->fh && fd >= 0 && fd != ino_pin(ino))
		close(fd);
}

/* Reopen an inode for I/O. Never for a symlink: that would follow it. */
static int reopen(struct pt_fs *fs, const struct pt_inode *ino, int flags)
{
	char name[16];
	int fd;

	if (S_ISLNK(ino->type))
		return -ELOOP;
	flags &= ~(O_CREAT | O_EXCL | O_NOFOLLOW | O_PATH | O_TMPFILE);
	/* Straight from the handle: no O_PATH fd to go through. */
	if (ino->fh && ino_pin(ino) < 0)
		return handle_open(fs, ino, flags);
	snprintf(name, sizeof(name), "%d", ino->fh ? ino_pin(ino) : ino->fd);
	fd = openat(fs->opts.proc_self_fd, name, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/*
 * A mount fd for @mnt_id, which @fd is on: the first inode seen on a mount
 * is its root (see struct pt_mount), a directory. A file bind-mounted on
 * its own is no directory and gives none (-ENOTDIR).
 */
static int mount_ensure(struct pt_fs *fs, int fd, mode_t mode,
			uint64_t mnt_id)
{
	char name[16];
	int mfd;

	if (pt_mount_known(fs, mnt_id))
		return 0;
	if (!S_ISDIR(mode))
		return -ENOTDIR;
	snprintf(name, sizeof(name), "%d", fd);
	mfd = openat(fs->opts.proc_self_fd, name,
		     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return -errno;
	return pt_mount_add(fs, mnt_id, mfd);
}

/*
 * The file handle of @fd (of type @mode) into @buf when inodes are held by
 * handles; *@out NULL: hold the fd. A file whose filesystem has no handles
 * (EOPNOTSUPP: some FUSE or pseudo filesystems) keeps its fd under PREFER
 * and fails to be looked up under MANDATORY; either is logged once.
 */
#define PT_FH_BUF (sizeof(struct file_handle) + MAX_HANDLE_SZ)

static int fd_handle(struct pt_fs *fs, int fd, mode_t mode, uint64_t mnt_id,
		     void *buf, const struct file_handle **out)
{
	struct file_handle *fh = buf;
	bool mandatory = fs->fh_mode == PT_FH_MANDATORY;
	int mnt, err;

	*out = NULL;
	if (fs->fh_mode == PT_FH_NEVER)
		return 0;
	fh->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(fd, "", fh, &mnt, AT_EMPTY_PATH) == 0) {
		err = -mount_ensure(fs, fd, mode, mnt_id);
		if (!err) {
			*out = fh;
			return 0;
		}
	} else {
		err = errno;
	}
	if (!__atomic_exchange_n(&fs->fh_warned, 1, __ATOMIC_RELAXED))
		VLOG_WARN("passthrough: no usable file handle for a file on "
			  "mount %llu (%s): %s", (unsigned long long)mnt_id,
			  err == ENOTDIR ? "a file mounted on its own"
					 : strerror(err),
			  mandatory ? "lookups there fail "
				      "(--inode-file-handles=mandatory)"
				    : "holding an O_PATH fd for each such inode");
	return mandatory ? -err : 0;
}

/* Does the host file carry FS_XFLAG_DAX? The ioctl needs a real open. */
static bool has_xflag_dax(struct pt_fs *fs, int pathfd)
{
	struct fsxattr fsx;
	char name[16];
	bool ret = false;
	int fd;

	snprintf(name, sizeof(name), "%d", pathfd);
	fd = openat(fs->opts.proc_self_fd, name,
		    O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (ioctl(fd, FS_IOC_FSGETXATTR, &fsx) == 0)
		ret = fsx.fsx_xflags & FS_XFLAG_DAX;
	close(fd);
	return ret;
}

/* FUSE_ATTR_DAX per the policy: only ever on regular files. */
static uint32_t dax_attr(struct pt_fs *fs, int pathfd, const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		return 0;
	switch (fs->opts.dax_policy) {
	case PT_DAX_SIZE:
		return (uint64_t)st->st_size >= fs->opts.dax_min_size ?
			       FUSE_ATTR_DAX : 0;
	case PT_DAX_XFLAG:
		return has_xflag_dax(fs, pathfd) ? FUSE_ATTR_DAX : 0;
	default:
		return 0;
	}
}

static bool is_submount(struct pt_fs *fs, const struct pt_inode *parent,
			const struct stat *st, uint64_t mnt_id)
{
	return fs->opts.announce_submounts && S_ISDIR(st->st_mode) &&
	       (st->st_dev != parent->dev || mnt_id != parent->mnt_id);
}

/*
 * Add @fd (consumed) as the inode for a lookup from @parent; by its file
 * handle if @handle and handles are on.
 */
static int entry_from_fd(struct pt_fs *fs, const struct pt_inode *parent,
			 int fd, bool handle, struct pt_entry *e)
{
	_Alignas(struct file_handle) char buf[PT_FH_BUF];
	const struct file_handle *fh = NULL;
	uint64_t mnt_id;
	bool sub;
	int ret;

	ret = stat_fd(fd, &e->st, &mnt_id);
	if (ret == 0 && handle)
		ret = fd_handle(fs, fd, e->st.st_mode, mnt_id, buf, &fh);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	sub = parent && is_submount(fs, parent, &e->st, mnt_id);
	e->attr_flags = (sub ? FUSE_ATTR_SUBMOUNT : 0) | dax_attr(fs, fd, &e->st);
	return pt_inode_add(fs, fd, &e->st, mnt_id, fh, sub, &e->nodeid);
}

/* @dirfd: an fd on @parent (ino_fd(), or an open directory of it). */
static int lookup_at(struct pt_fs *fs, struct pt_inode *parent, int dirfd,
		     const char *name, struct pt_entry *e)
{
	int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return entry_from_fd(fs, parent, fd, true, e);
}

/*
 * "." is the directory itself. ".." of the root is the root; of another
 * directory only a directory the guest already reached from the root, so a
 * lookup never climbs out of the tree.
 */
static int lookup_dot(struct pt_fs *fs, struct pt_inode *dir, int dirfd,
		      bool dotdot, struct pt_entry *e)
{
	_Alignas(struct file_handle) char buf[PT_FH_BUF];
	const struct file_handle *fh = NULL;
	uint64_t mnt_id, nodeid;
	bool up = dotdot && dir->idx != PT_ROOT_IDX;
	int fd, ret;

	fd = openat(dirfd, up ? ".." : ".", O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = stat_fd(fd, &e->st, &mnt_id);
	if (ret == 0)
		ret = fd_handle(fs, fd, e->st.st_mode, mnt_id, buf, &fh);
	if (ret == 0 && up && !pt_inode_known(fs, &e->st, mnt_id, fh, &nodeid))
		ret = -ENOENT;
	if (ret < 0) {
		close(fd);
		return ret;
	}
	e->attr_flags = up ? 0 : (dir->submount ? FUSE_ATTR_SUBMOUNT : 0);
	return pt_inode_add(fs, fd, &e->st, mnt_id, fh, !up && dir->submount,
			    &e->nodeid);
}

int pt_lookup(struct pt_fs *fs, uint64_t parent, const char *name,
	      struct pt_entry *e)
{
	struct pt_inode *dir;
	int ret, fd;

	ret = pt_inode_get(fs, parent, &dir);
	if (ret < 0)
		return ret;
	if (!S_ISDIR(dir->type)) {
		ret = -ENOTDIR;
	} else if ((fd = ino_fd(fs, dir)) < 0) {
		ret = fd;
	} else {
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			ret = lookup_dot(fs, dir, fd, name[1] == '.', e);
		else if ((ret = check_name(name)) == 0)
			ret = lookup_at(fs, dir, fd, name, e);
		ino_fd_put(dir, fd);
	}
	pt_inode_put(fs, dir);
	return ret;
}

int pt_forget(struct pt_fs *fs, uint64_t nodeid, uint64_t nlookup)
{
	return pt_inode_forget(fs, nodeid, nlookup);
}

int pt_getattr(struct pt_fs *fs, uint64_t nodeid, struct stat *st,
	       uint32_t *attr_flags)
{
	struct pt_inode *ino;
	int ret, fd;

	ret = pt_inode_get(fs, nodeid, &ino);
	if (ret < 0)
		return ret;
	fd = ino_fd(fs, ino);
	if (fd < 0) {
		pt_inode_put(fs, ino);
		return fd;
	}
	ret = stat_fd(fd, st, NULL);
	if (attr_flags)
		*attr_flags = (ino->submount ? FUSE_ATTR_SUBMOUNT : 0) |
			      (ret == 0 ? dax_attr(fs, fd, st) : 0);
	ino_fd_put(ino, fd);
	pt_inode_put(fs, ino);
	return ret;
}

/* @pfd: ino_fd() of @ino; @fd: an open file of it, or -1. */
static int chmod_inode(struct pt_fs *fs, const struct pt_inode *ino, int pfd,
		       int fd, mode_t mode)
{
	char name[16];

	if (fd >= 0)
		return fchmod(fd, mode) < 0 ? -errno : 0;
	if (S_ISLNK(ino->type))
		return -EOPNOTSUPP;
	snprintf(name, sizeof(name), "%d", pfd);
	return fchmodat(fs->opts.proc_self_fd, name, mode, 0) < 0 ? -errno : 0;
}

/* Clear set-user-ID, and set-group-ID when group-executable (as the VFS). */
static int kill_suidgid(struct pt_fs *fs, const struct pt_inode *ino, int pfd,
			int fd)
{
	struct stat st;
	mode_t m;

	if (fstatat(fd >= 0 ? fd : pfd, "", &st,
		    AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	m = st.st_mode & 07777;
	if (!S_ISREG(st.st_mode) ||
	    (!(m & S_ISUID) && !((m & S_ISGID) && (m & S_IXGRP))))
		return 0;
	m &= ~S_ISUID;
	if (m & S_IXGRP)
		m &= ~S_ISGID;
	return chmod_inode(fs, ino, pfd, fd, m);
}

static int set_times(struct pt_fs *fs, const struct pt_inode *ino, int pfd,
		     int fd, const struct pt_setattr *sa)
{
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT },
				  { .tv_nsec = UTIME_OMIT } };
	char name[16];

	if (sa->valid & FATTR_ATIME_NOW)
		ts[0].tv_nsec = UTIME_NOW;
	else if (sa->valid & FATTR_ATIME)
		ts[0] = sa->atime;
	if (sa->valid & FATTR_MTIME_NOW)
		ts[1].tv_nsec = UTIME_NOW;
	else if (sa->valid & FATTR_MTIME)
		ts[1] = sa->mtime;
	if (fd >= 0)
		return futimens(fd, ts) < 0 ? -errno : 0;
	if (utimensat(pfd, "", ts, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != EINVAL || S_ISLNK(ino->type))
		return -errno;
	snprintf(name, sizeof(name), "%d", pfd);
	return utimensat(fs->opts.proc_self_fd, name, ts, 0) < 0 ? -errno : 0;
}

static int truncate_inode(struct pt_fs *fs, const struct pt_inode *ino,
			  int fd, uint64_t size)
{
	int ret = 0, tfd = fd;

	if (size > INT64_MAX)
		return -EFBIG;
	if (tfd < 0) {
		if (!S_ISREG(ino->type))
			return S_ISDIR(ino->type) ? -EISDIR : -EINVAL;
		tfd = reopen(fs, ino, O_WRONLY);
		if (tfd < 0)
			return tfd;
	}
	if (ftruncate(tfd, (off_t)size) < 0)
		ret = -errno;
	if (tfd != fd)
		close(tfd);
	return ret;
}

int pt_setattr(struct pt_fs *fs, const struct pt_ctx *ctx, uint64_t nodeid,
	       const struct pt_setattr *sa, struct stat *st)
{
	struct pt_handle *h = NULL;
	struct pt_inode *ino;
	uint32_t v = sa->valid;
	int fd = -1, pfd, ret;

	ret = pt_inode_get(fs, nodeid, &ino);
	if (ret < 0)
		return ret;
	pfd = ino_fd(fs, ino);
	if (pfd < 0) {
		pt_inode_put(fs, ino);
		return pfd;
	}
	if (v & FATTR_FH) {
		ret = pt_handle_get(fs, nodeid, sa->fh, false, &h);
		if (ret < 0)
			goto out;
		fd = h->fd;
	}
	if (v & FATTR_MODE) {
		ret = chmod_inode(fs, ino, pfd, fd, sa->mode & 07777);
		if (ret < 0)
			goto out;
	}
	if (v & (FATTR_UID | FATTR_GID)) {
		uid_t uid = (v & FATTR_UID) ? sa->uid : (uid_t)-1;
		gid_t gid = (v & FATTR_GID) ? sa->gid : (gid_t)-1;

		if (fchownat(pfd, "", uid, gid,
			     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
			ret = -errno;
			goto out;
		}
	}
	if (v & FATTR_SIZE) {
		ret = truncate_inode(fs, ino, fd, sa->size);
		if (ret < 0)
			goto out;
	}
	if ((v & FATTR_KILL_SUIDGID) && !(v & FATTR_MODE)) {
		ret = kill_suidgid(fs, ino, pfd, fd);
		if (ret < 0)
			goto out;
	}
	if (v & (FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW | FATTR_MTIME_NOW)) {
		ret = set_times(fs, ino, pfd, fd, sa);
		if (ret < 0)
			goto out;
	}
	/* FATTR_CTIME: the host sets ctime itself; FATTR_LOCKOWNER: unused. */
	ret = stat_fd(pfd, st, NULL);
out:
	pt_handle_put(fs, h);
	ino_fd_put(ino, pfd);
	pt_inode_put(fs, ino);
	(void)ctx;
	return ret;
}

ssize_t pt_readlink(struct pt_fs *fs, uint64_t nodeid, char *buf, size_t size)
{
	struct pt_inode *ino;
	ssize_t n;
	int ret, fd;

	ret = pt_inode_get(fs, nodeid, &ino);
	if (ret < 0)
		return ret;
	if (!S_ISLNK(ino->type)) {
		n = -EINVAL;
	} else if ((fd = ino_fd(fs, ino)) < 0) {
		n = fd;
	} else {
		n = readlinkat(fd, "", buf, size);
		if (n < 0)
			n = -errno;
		ino_fd_put(ino, fd);
	}
	pt_inode_put(fs, ino);
	return n;
}

/* ---- creating operations ---- */

enum mk_kind { MK_NOD, MK_DIR, MK_SYMLINK };

struct mk_args {
	enum mk_kind kind;
	mode_t mode;
	dev_t rdev;
	const char *target;
};

static int mk_at(int dirfd, const char *name, const struct mk_args *a)
{
	int r;

	switch (a->kind) {
	case MK_DIR:
		r = mkdirat(dirfd, name, a->mode);
		break;
	case MK_SYMLINK:
		r = symlinkat(a->target, dirfd, name);
		break;
	default:
		r = mknodat(dirfd, name, a->mode, a->rdev);
		break;
	}
	return r < 0 ? -errno : 0;
}

static int make_node(struct pt_fs *fs, const struct pt_ctx *ctx,
		     uint64_t parent, const char *name,
		     const struct mk_args *a, struct pt_entry *e)
{
	struct creds_saved saved;
	struct pt_inode *dir;
	int ret, dfd = -1;

	ret = check_name(name);
	if (ret < 0)
		return ret;
	ret = pt_inode_get(fs, parent, &dir);
	if (ret < 0)
		return ret;
	if (!S_ISDIR(dir->type)) {
		ret = -ENOTDIR;
		goto out;
	}
	dfd = ino_fd(fs, dir);
	if (dfd < 0) {
		ret = dfd;
		goto out;
	}
	ret = creds_enter(ctx, &saved);
	if (ret < 0)
		goto out;
	ret = mk_at(dfd, name, a);
	creds_leave(&saved);
	if (ret == 0)
		ret = lookup_at(fs, dir, dfd, name, e);
out:
	ino_fd_put(dir, dfd);
	pt_inode_put(fs, dir);
	return ret;
}

int pt_mknod(struct pt_fs *fs, const struct pt_ctx *ctx, uint64_t parent,
	     const char *name, uint32_t mode, uint32_t rdev, uint32_t umask,
	     struct pt_entry *e)
{
	struct mk_args a = { MK_NOD, (mode & S_IFMT) | (mode & 07777 & ~umask),
			     rdev, NULL };

	switch (mode & S_IFMT) {
	case S_IFREG:
	case S_IFIFO:
	case S_IFSOCK:
	case S_IFCHR:
	case S_IFBLK:
		break;
	case S_IFDIR:
		return pt_mkdir(fs, ctx, parent, name, mode, umask, e);
	default:
		return -EINVAL;
	}
	return make_node(fs, ctx, parent, name, &a, e);
}

int pt_mkdir(struct pt_fs *fs, const struct pt_ctx *ctx, uint64_t parent,
	     const char *name, uint32_t mode, uint32_t umask,
	     struct pt_entry *e)
{
	struct mk_args a = { MK_DIR, mode & 07777 & ~umask, 0, NULL };

	return make_node(fs, ctx, parent, name, &a, e);
}

int pt_symlink(struct pt_fs *fs, const struct pt_ctx *ctx, uint64_t parent,
	       const char *name, const char *target, struct pt_entry *e)
{
	struct mk_args a = { MK_SYMLINK, 0, 0, target };

	if (!*target)
		return -ENOENT;
	if (strlen(target) >= PATH_MAX)
		return -ENAMETOOLONG;
	return make_node(fs, ctx, parent, name, &a, e);
}

/*
 * Before @name in @dirfd loses its name (unlink, rmdir, rename over it): a
 * handle inode the guest holds would answer ESTALE once its last name is
 * gone, where an fd keeps it reachable as POSIX wants (fstat of a file
 * unlinked but not closed in the guest, a removed working directory). So
 * it gets an O_PATH fd, as it would have with --inode-file-handles=never:
 * four syscalls per removal with handles on. A file deleted on the host
 * gets none: that one answers ESTALE.
 */
static void pin_victim(struct pt_fs *fs, int dirfd, const char *name)
{
	_Alignas(struct file_handle) char buf[PT_FH_BUF];
	struct file_handle *fh = (void *)buf;
	uint64_t mnt_id;
	struct stat st;
	int fd, mnt;

	if (fs->fh_mode == PT_FH_NEVER)
		return;
	fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	fh->handle_bytes = MAX_HANDLE_SZ;
	if (stat_fd(fd, &st, &mnt_id) == 0 &&
	    (S_ISDIR(st.st_mode) || st.st_nlink <= 1) &&
	    name_to_handle_at(fd, "", fh, &mnt, AT_EMPTY_PATH) == 0 &&
	    pt_inode_pin(fs, &st, mnt_id, fh, fd))
		return;
	close(fd);
}

static int remove_at(struct pt_fs *fs, uint64_t parent, const char *name,
		     int flags)
{
	struct pt_inode *dir;
	int ret, fd;

	ret = check_name(name);
	if (ret < 0)
		return ret;
	ret = pt_inode_get(fs, parent, &dir);
	if (ret < 0)
		return ret;
	fd = ino_fd(fs, dir);
	if (fd < 0) {
		ret = fd;
	} else {
		pin_victim(fs, fd, name);
		if (unlinkat(fd, name, flags) < 0)
			ret = -errno;
	}
	ino_fd_put(dir, fd);
	pt_inode_put(fs, dir);
	return ret;
}

int pt_unlink(struct pt_fs *fs, uint64_t parent, const char *name)
{
	return remove_at(fs, parent, name, 0);
}

int pt_rmdir(struct pt_fs *fs, uint64_t parent, const char *name)
{
	return remove_at(fs, parent, name, AT_REMOVEDIR);
}

int pt_rename(struct pt_fs *fs, const struct pt_ctx *ctx, uint64_t parent,
	      const char *name, uint64_t newparent, const char *newname,
	      uint32_t flags)
{
	struct pt_inode *od = NULL, *nd = NULL;
	struct creds_saved saved;
	int ret, ofd = -1, nfd = -1;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
		return -EINVAL;
	ret = check_name(name);
	if (ret == 0)
		ret = check_name(newname);
	if (ret < 0)
		return ret;
	ret = pt_inode_get(fs, parent, &od);
	if (ret == 0)
		ret = pt_inode_get(fs, newparent, &nd);
	if (ret < 0)
		goto out;
	ofd = ino_fd(fs, od);
	if (ofd < 0) {
		ret = ofd;
		goto out;
	}
	nfd = ino_fd(fs, nd);
	if (nfd < 0) {
		ret = nfd;
		goto out;
	}
	/* A whiteout is a new device node: owned by the caller. */
	if (flags & RENAME_WHITEOUT) {
		ret = creds_enter(ctx, &saved);
		if (ret < 0)
			goto out;
	}
	if (!(flags & (RENAME_EXCHANGE | RENAME_NOREPLACE)))
		pin_victim(fs, nfd, newname);
	if (renameat2(ofd, name, nfd, newname, flags) < 0)
		ret = -errno;
	if (flags & RENAME_WHITEOUT)
		creds_leave(&saved);
out:
	if (nd)
		ino_fd_put(nd, nfd);
	if (od)
		ino_fd_put(od, ofd);
	pt_inode_put(fs, nd);
	pt_inode_put(fs, od);
	return ret;
}

int pt_link(struct pt_fs *fs, uint64_t nodeid, uint64_t newparent,
	    const char *newname, struct pt_entry *e)
{
	struct pt_inode *ino = NULL, *dir = NULL;
	int ret, fd = -1, dfd = -1;

	ret = check_name(newname);
	if (ret < 0)
		return ret;
	ret = pt_inode_get(fs, nodeid, &ino);
	if (ret == 0)
		ret = pt_inode_get(fs, newparent, &dir);
	if (ret < 0)
		goto out;
	if (S_ISDIR(ino->type)) {
		ret = -EPERM;
		goto out;
	}
	fd = ino_fd(fs, ino);
	if (fd < 0) {
		ret = fd;
		goto out;
	}
	dfd = ino_fd(fs, dir);
	if (dfd < 0) {
		ret = dfd;
		goto out;
	}
	if (linkat(fd, "", dfd, newname, AT_EMPTY_PATH) < 0) {
		ret = -errno;
		goto out;
	}
	ret = lookup_at(fs, dir, dfd, newname, e);
out:
	if (dir)
		ino_fd_put(dir, dfd);
	if (ino)
		ino_fd_put(ino, fd);
	pt_inode_put(fs, dir);
	pt_inode_put(fs, ino);
	return ret;
}

/* ---- open files ---- */

static int open_flags(struct pt_fs *fs, uint32_t flags)
{
	/*
	 * O_DIRECT is dropped, as QEMU's virtiofsd does by default: the data
	 * moves between the host file and guest buffers of any alignment, which
	 * the host's O_DIRECT would refuse (EINVAL). The guest kernel still
	 * bypasses its own page cache for an O_DIRECT file.
	 */
	int f = (int)flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_PATH |
			       O_TMPFILE | O_NOFOLLOW | O_DIRECTORY);

	/* --allow-direct-io: the guest asks for aligned buffers itself. */
	if (!fs->opts.allow_direct_io)
		f &= ~O_DIRECT;
	/*
	 * O_NOATIME needs ownership or CAP_FOWNER on the host; as the Rust
	 * virtiofsd does, it is dropped unless --preserve-noatime.
	 */
	if (!fs->opts.preserve_noatime)
		f &= ~O_NOATIME;

	/* The kernel's writeback cache reads pages and appends itself. */
	if (__atomic_load_n(&fs->opts.writeback, __ATOMIC_RELAXED)) {
		if ((f & O_ACCMODE) == O_WRONLY)
			f = (f & ~O_ACCMODE) | O_RDWR;
		f &= ~O_APPEND;
	}
	return f | O_CLOEXEC;
}

static bool flags_writable(int f)
{
	return (f & O_ACCMODE) != O_RDONLY;
}

int pt_open(struct pt_fs *fs, const struct pt_ctx *ctx, uint64_t nodeid,
	    uint32_t flags, uint64_t *fh)
{
	struct pt_inode *ino;
	int f = open_flags(fs, flags), fd, ret;

	ret = pt_inode_get(fs, nodeid, &ino);
	if (ret < 0)
		return ret;
	/* Devices, FIFOs and sockets are opened by the guest kernel itself. */
	if (S_ISLNK(ino->type))
		ret = -ELOOP;
	else if (S_ISDIR(ino->type))
		ret = -EISDIR;
	else if (!S_ISREG(ino->type))
		ret = -ENXIO;
	if (ret < 0)
		goto out;
	fd = reopen(fs, ino, f);
	if (fd < 0) {
		ret = fd;
		goto out;
	}
	ret = pt_handle_add(fs, fd, nodeid, false, flags_writable(f), fh);
	if (ret < 0)
		close(fd);
out:
	pt_inode_put(fs, ino);
	(void)ctx;
	return ret;
}

/* Add an opened file as an entry plus a handle; undoes both on failure. */
static int entry_and_handle(struct pt_fs *fs, const struct pt_inode *dir,
			    int fd, int pathfd, bool handle, int f,
			    struct pt_entry *e, uint64_t *fh)
{
	int ret;

	ret = entry_from_fd(fs, dir, pathfd, handle, e);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	ret = pt_handle_add(fs, fd, e->nodeid, false, flags_writable(f), fh);
	if (ret < 0) {
		close(fd);
		pt_inode_forget(fs, e->nodeid, 1);
	}
	return ret;
}

/*
 * What CREATE opened must be a regular file (else ENXIO, as OPEN answers);
 * give it back its own O_NONBLOCK setting and an O_PATH fd of the very same
 * file, taken from @fd rather than by name so a rename on the host in
 * between cannot swap it.
 */
static int create_result(struct pt_fs *fs, int fd, int flags, int *pathfd)
{
	char name[16];
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ENXIO;
	if (!(flags & O_NONBLOCK) &&
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		return -errno;
	snprintf(name, sizeof(name), "%d", fd);
	*pathfd = openat(fs->opts.proc_self_fd, name, O_PATH | O_CLOEXEC);
	return *pathfd < 0 ? -errno : 0;
}

int pt_create(struct pt_fs *fs, const struct pt_ctx *ctx, uint64_t parent,
	      const char *name, uint32_t mode, uint32_t umask, uint32_t flags,
	      struct pt_entry *e, uint64_t *fh)
{
	struct creds_saved saved;
	struct pt_inode *dir;
	int f = open_flags(fs, flags), fd, pathfd = -1, dfd, ret;

	ret = check_name(name);
	if (ret < 0)
		return ret;
	ret = pt_inode_get(fs, parent, &dir);
	if (ret < 0)
		return ret;
	dfd = ino_fd(fs, dir);
	if (dfd < 0) {
		ret = dfd;
		goto out;
	}
	ret = creds_enter(ctx, &saved);
	if (ret < 0)
		goto out;
	/*
	 * Without O_EXCL this opens whatever already has the name, so as for
	 * OPEN only a regular file may come back: O_NOFOLLOW makes a symlink
	 * ELOOP, O_NONBLOCK keeps an existing FIFO from blocking this worker,
	 * and create_result() refuses devices, FIFOs and sockets.
	 */
	fd = openat(dfd, name,
		    f | O_CREAT | O_NOFOLLOW | O_NONBLOCK | ((int)flags & O_EXCL),
		    mode & 07777 & ~umask);
	if (fd < 0)
		ret = -errno;
	creds_leave(&saved);
	if (ret < 0)
		goto out;
	ret = create_result(fs, fd, f, &pathfd);
	if (ret < 0) {
		close(fd);
		goto out;
	}
	ret = entry_and_handle(fs, dir, fd, pathfd, true, f, e, fh);
out:
	ino_fd_put(dir, dfd);
	pt_inode_put(fs, dir);
	return ret;
}

int pt_tmpfile(struct pt_fs *fs, const struct pt_ctx *ctx, uint64_t parent,
	       uint32_t mode, uint32_t umask, uint32_t flags,
	       struct pt_entry *e, uint64_t *fh)
{
	struct creds_saved saved;
	struct pt_inode *dir;
	char name[16];
	int f = open_flags(fs, flags), fd, pathfd, dfd, ret;

	if (!flags_writable(f))
		return -EINVAL;
	ret = pt_inode_get(fs, parent, &dir);
	if (ret < 0)
		return ret;
	dfd = ino_fd(fs, dir);
	if (dfd < 0) {
		ret = dfd;
		goto out;
	}
	ret = creds_enter(ctx, &saved);
	if (ret < 0)
		goto out;
	fd = openat(dfd, ".", f | O_TMPFILE, mode & 07777 & ~umask);
	if (fd < 0)
		ret = -errno;
	creds_leave(&saved);
	if (ret < 0)
		goto out;
	snprintf(name, sizeof(name), "%d", fd);
	pathfd = openat(fs->opts.proc_self_fd, name, O_PATH | O_CLOEXEC);
	if (pathfd < 0) {
		ret = -errno;
		close(fd);
		goto out;
	}
	/*
	 * Always by fd: a file with no name has a handle that does not open
	 * (ESTALE) until it is linked, if ever.
	 */
	ret = entry_and_handle(fs, dir, fd, pathfd, false, f, e, fh);
out:
	ino_fd_put(dir, dfd);
	pt_inode_put(fs, dir);
	return ret;
}

ssize_t pt_read(struct pt_fs *fs, uint64_t nodeid, uint64_t fh,
		const struct iovec *iov, int cnt, uint64_t off)
{
	struct pt_handle *h;
	ssize_t n;
	int ret;

	if (off > INT64_MAX)
		return -EINVAL;
	ret = pt_handle_get(fs, nodeid, fh, false, &h);
	if (ret < 0)
		return ret;
	n = preadv(h->fd, iov, cnt, (off_t)off);
	if (n < 0)
		n = -errno;
	pt_handle_put(fs, h);
	return n;
}

ssize_t pt_write(struct pt_fs *fs, uint64_t nodeid, uint64_t fh,
		 const struct iovec *iov, int cnt, uint64_t off,
		 bool kill_priv)
{
	struct pt_inode *ino = NULL;
	struct pt_handle *h;
	ssize_t n;
	int ret;

	if (off > INT64_MAX)
		return -EINVAL;
	ret = pt_handle_get(fs, nodeid, fh, false, &h);
	if (ret < 0)
		return ret;
	n = pwritev(h->fd, iov, cnt, (off_t)off);
	if (n < 0)
		n = -errno;
	/* The daemon holds CAP_FSETID, so the host would keep the bits. */
	if (n >= 0 && kill_priv && pt_inode_get(fs, nodeid, &ino) == 0) {
		ret = kill_suidgid(fs, ino, -1, h->fd);
		if (ret < 0)
			n = ret;
		pt_inode_put(fs, ino);
	}
	pt_handle_put(fs, h);
	return n;
}

int pt_release(struct pt_fs *fs, uint64_t nodeid, uint64_t fh,
	       bool flock_unlock)
{
	return pt_handle_remove(fs, nodeid, fh, false, flock_unlock);
}

int pt_fsync(struct pt_fs *fs, uint64_t nodeid, uint64_t fh, bool datasync,
	     bool dir)
{
	struct pt_handle *h;
	int ret;

	ret = pt_handle_get(fs, nodeid, fh, dir, &h);
	if (ret < 0)
		return ret;
	if ((datasync ? fdatasync(h->fd) : fsync(h->fd)) < 0)
		ret = -errno;
	pt_handle_put(fs, h);
	return ret;
}

int pt_handle_dup_fd(struct pt_fs *fs, uint64_t nodeid, uint64_t fh,
		     int *accmode)
{
	struct pt_handle *h;
	int fd, fl, ret;

	ret = pt_handle_get(fs, nodeid, fh, false, &h);
	if (ret < 0)
		return ret;
	fd = fcntl(h->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		fd = -errno;
	} else {
		/* The open file's own mode, not what the guest asked for. */
		fl = fcntl(fd, F_GETFL);
		if (fl < 0) {
			ret = -errno;
			close(fd);
			fd = ret;
		} else {
			*accmode = fl & O_ACCMODE;
		}
	}
	pt_handle_put(fs, h);
	return fd;
}

int pt_inode_open_fd(struct pt_fs *fs, uint64_t nodeid, bool writable)
{
	struct pt_inode *ino;
	int fd;

	fd = pt_inode_get(fs, nodeid, &ino);
	if (fd < 0)
		return fd;
	if (!S_ISREG(ino->type))
		fd = -EBADF;
	else
		fd = reopen(fs, ino, writable ? O_RDWR : O_RDONLY);
	pt_inode_put(fs, ino);
	return fd;
}

/* ---- directories ---- */

int pt_opendir(struct pt_fs *fs, uint64_t nodeid, uint32_t flags,
	       uint64_t *fh)
{
	struct pt_inode *ino;
	int fd, ret;

	ret = pt_inode_get(fs, nodeid, &ino);
	if (ret < 0)
		return ret;
	if (!S_ISDIR(ino->type)) {
		ret = -ENOTDIR;
		goto out;
	}
	fd = reopen(fs, ino, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		ret = fd;
		goto out;
	}
	ret = pt_handle_add(fs, fd, nodeid, true, false, fh);
	if (ret < 0)
		close(fd);
out:
	pt_inode_put(fs, ino);
	(void)flags;
	return ret;
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/*
 * READDIRPLUS looks each entry up relative to the open directory itself
 * (@dir's @dirfd): no reopening of a handle inode per entry.
 */
static int emit_one(struct pt_fs *fs, struct pt_inode *dir, int dirfd,
		    const struct linux_dirent64 *d, const struct pt_dir_filler *f)
{
	struct pt_entry e = { 0 };
	struct pt_dirent de = {
		.name = d->d_name,
		.namelen = strlen(d->d_name),
		.ino = d->d_ino,
		.type = d->d_type,
		.off = (uint64_t)d->d_off,
	};
	int ret;

	if (dir) {
		bool dot = !strcmp(d->d_name, ".") || !strcmp(d->d_name, "..");

		/* nodeid 0: no entry; the guest only lists the name. */
		if (dot || check_name(d->d_name) < 0 ||
		    lookup_at(fs, dir, dirfd, d->d_name, &e) < 0) {
			memset(&e, 0, sizeof(e));
			e.st.st_ino = d->d_ino;
			e.st.st_mode = DTTOIF(d->d_type);
		}
		de.entry = &e;
	}
	ret = f->add(f->arg, &de);
	if (ret < 0 && e.nodeid)
		pt_inode_forget(fs, e.nodeid, 1);
	return ret;
}

int pt_readdir(struct pt_fs *fs, uint64_t nodeid, uint64_t fh, uint64_t off,
	       bool plus, const struct pt_dir_filler *f)
{
	struct pt_inode *dir = NULL;
	struct pt_handle *h;
	char *buf;
	int ret;

	if (off > INT64_MAX)
		return -EINVAL;
	ret = pt_handle_get(fs, nodeid, fh, true, &h);
	if (ret < 0)
		return ret;
	if (plus) {
		ret = pt_inode_get(fs, nodeid, &dir);
		if (ret < 0) {
			pt_handle_put(fs, h);
			return ret;
		}
	}
	buf = malloc(PT_DIRBUF_SIZE);
	if (!buf) {
		pt_inode_put(fs, dir);
		pt_handle_put(fs, h);
		return -ENOMEM;
	}
	pthread_mutex_lock(&h->dir_lock);
	if (lseek(h->fd, (off_t)off, SEEK_SET) < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = getdents64(h->fd, buf, PT_DIRBUF_SIZE);

		if (n < 0)
			ret = -errno;
		if (n <= 0)
			goto out;
		for (ssize_t pos = 0; pos < n;) {
			const struct linux_dirent64 *d = (const void *)(buf + pos);

			if (!f->fits(f->arg, strlen(d->d_name)))
				goto out;
			ret = emit_one(fs, dir, h->fd, d, f);
			if (ret < 0)
				goto out;
			pos += d->d_reclen;
		}
	}
out:
	pthread_mutex_unlock(&h->dir_lock);
	free(buf);
	pt_inode_put(fs, dir);
	pt_handle_put(fs, h);
	return ret;
}

int pt_releasedir(struct pt_fs *fs, uint64_t nodeid, uint64_t fh)
{
	return pt_handle_remove(fs, nodeid, fh, true, false);
}

/* ---- misc ---- */

int pt_statfs(struct pt_fs *fs, uint64_t nodeid, struct statvfs *sv)
{
	struct pt_inode *ino;
	int ret, fd;

	ret = pt_inode_get(fs, nodeid, &ino);
	if (ret < 0)
		return ret;
	fd = ino_fd(fs, ino);
	if (fd < 0)
		ret = fd;
	else if (fstatvfs(fd, sv) < 0)
		ret = -errno;
	ino_fd_put(ino, fd);
	pt_inode_put(fs, ino);
	return ret;
}

int pt_access(struct pt_fs *fs, const struct pt_ctx *ctx, uint64_t nodeid,
	      uint32_t mask)
{
	struct creds_saved saved;
	struct pt_inode *ino;
	char name[16];
	int ret, fd = -1;

	if (mask & ~(uint32_t)(R_OK | W_OK | X_OK))
		return -EINVAL;
	ret = pt_inode_get(fs, nodeid, &ino);
	if (ret < 0)
		return ret;
	if (S_ISLNK(ino->type)) {
		ret = mask ? -EACCES : 0;
		goto out;
	}
	fd = ino_fd(fs, ino);
	if (fd < 0) {
		ret = fd;
		goto out;
	}
	snprintf(name, sizeof(name), "%d", fd);
	ret = creds_enter(ctx, &saved);
	if (ret < 0)
		goto out;
	/* AT_EACCESS: checked against the fsuid just set, not the real uid. */
	if (syscall(SYS_faccessat2, fs->opts.proc_self_fd, name, (int)mask,
		    AT_EACCESS) < 0)
		ret = -errno;
	creds_leave(&saved);
out:
	ino_fd_put(ino, fd);
	pt_inode_put(fs, ino);
	return ret;
}

int pt_fallocate(struct pt_fs *fs, uint64_t nodeid, uint64_t fh, uint32_t mode,
		 uint64_t off, uint64_t len)
{
	struct pt_handle *h;
	int ret;

	if (off > INT64_MAX || len > INT64_MAX)
		return -EINVAL;
	ret = pt_handle_get(fs, nodeid, fh, false, &h);
	if (ret < 0)
		return ret;
	if (fallocate(h->fd, (int)mode, (off_t)off, (off_t)len) < 0)
		ret = -errno;
	pt_handle_put(fs, h);
	return ret;
}

int pt_lseek(struct pt_fs *fs, uint64_t nodeid, uint64_t fh, uint64_t off,
	     uint32_t whence, uint64_t *res)
{
	struct pt_handle *h;
	off_t r;
	int ret;

	if (off > INT64_MAX)
		return -EINVAL;
	if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END &&
	    whence != SEEK_DATA && whence != SEEK_HOLE)
		return -EINVAL;
	ret = pt_handle_get(fs, nodeid, fh, false, &h);
	if (ret < 0)
		return ret;
	r = lseek(h->fd, (off_t)off, (int)whence);
	if (r < 0)
		ret = -errno;
	else
		*res = (uint64_t)r;
	pt_handle_put(fs, h);
	return ret;
}

ssize_t pt_copy_file_range(struct pt_fs *fs, uint64_t nodeid_in,
			   uint64_t fh_in, uint64_t off_in,
			   uint64_t nodeid_out, uint64_t fh_out,
			   uint64_t off_out, uint64_t len, uint64_t flags)
{
	struct pt_handle *hi = NULL, *ho = NULL;
	loff_t oi = (loff_t)off_in, oo = (loff_t)off_out;
	ssize_t n;

	if (flags || off_in > INT64_MAX || off_out > INT64_MAX)
		return -EINVAL;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	n = pt_handle_get(fs, nodeid_in, fh_in, false, &hi);
	if (n == 0)
		n = pt_handle_get(fs, nodeid_out, fh_out, false, &ho);
	if (n == 0) {
		n = copy_file_range(hi->fd, &oi, ho->fd, &oo, len, 0);
		if (n < 0)
			n = -errno;
	}
	pt_handle_put(fs, ho);
	pt_handle_put(fs, hi);
	return n;
}

int pt_flock(struct pt_fs *fs, uint64_t nodeid, uint64_t fh, int op)
{
	struct pt_handle *h;
	int ret;

	ret = pt_handle_get(fs, nodeid, fh, false, &h);
	if (ret < 0)
		return ret;
	if (flock(h->fd, op) < 0)
		ret = -errno;
	pt_handle_put(fs, h);
	return ret;
}

int pt_syncfs(struct pt_fs *fs, uint64_t nodeid)
{
	struct pt_inode *ino;
	int fd, ret;

	ret = pt_inode_get(fs, nodeid, &ino);
	if (ret < 0)
		return ret;
	fd = reopen(fs, ino, O_RDONLY | O_NONBLOCK);
	if (fd < 0) {
		ret = fd;
	} else {
		if (syncfs(fd) < 0)
			ret = -errno;
		close(fd);
	}
	pt_inode_put(fs, ino);
	return ret;
}

/* ---- lifetime ---- */

/*
 * Do file handles work in the shared directory? Its own handle, opened
 * back: EPERM without CAP_DAC_READ_SEARCH, EOPNOTSUPP on a filesystem
 * without handles. 0 or -errno.
 */
static int fh_probe(int root_fd)
{
	_Alignas(struct file_handle) char buf[PT_FH_BUF];
	struct file_handle *fh = (void *)buf;
	int mnt, mfd, fd, ret = 0;

	fh->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(root_fd, "", fh, &mnt, AT_EMPTY_PATH) < 0)
		return -errno;
	mfd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return -errno;
	fd = open_by_handle_at(mfd, fh, O_PATH | O_CLOEXEC);
	if (fd < 0)
		ret = -errno;
	else
		close(fd);
	close(mfd);
	return ret;
}

static int fh_setup(struct pt_fs *fs)
{
	int ret;

	fs->fh_mode = fs->opts.file_handles;
	if (fs->fh_mode == PT_FH_NEVER)
		return 0;
	ret = fh_probe(fs->opts.root_fd);
	if (ret == 0) {
		VLOG_INFO("passthrough: inodes are held by file handles (%s)",
			  fs->fh_mode == PT_FH_MANDATORY ? "mandatory"
							 : "prefer");
		return 0;
	}
	if (fs->fh_mode == PT_FH_MANDATORY) {
		VLOG_ERR("passthrough: --inode-file-handles=mandatory: file "
			 "handles do not work in the shared directory: %s%s",
			 strerror(-ret),
			 ret == -EPERM ? " (open_by_handle_at needs "
					 "CAP_DAC_READ_SEARCH)" : "");
		return ret;
	}
	VLOG_WARN("passthrough: --inode-file-handles=prefer: file handles do "
		  "not work in the shared directory (%s): holding an O_PATH "
		  "fd per inode", strerror(-ret));
	fs->fh_mode = PT_FH_NEVER;
	return 0;
}

enum pt_fh_mode pt_file_handles(struct pt_fs *fs)
{
	return fs->fh_mode;
}

int pt_new(const struct pt_opts *opts, struct pt_fs **out)
{
	struct pt_fs *fs;
	int ret;

	if (opts->root_fd < 0 || opts->proc_self_fd < 0)
		return -EBADF;
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->opts = *opts;
	ret = fh_setup(fs);
	if (ret < 0) {
		free(fs);
		return ret;
	}
	pthread_mutex_init(&fs->lock, NULL);
	pthread_mutex_init(&fs->plock_lock, NULL);
	ret = pt_table_init(fs);
	if (ret < 0) {
		pt_table_destroy(fs);
		pthread_mutex_destroy(&fs->plock_lock);
		pthread_mutex_destroy(&fs->lock);
		free(fs);
		return ret;
	}
	*out = fs;
	return 0;
}

void pt_reset(struct pt_fs *fs)
{
	pt_locks_reset(fs);
	pt_table_reset(fs);
}

void pt_set_writeback(struct pt_fs *fs, bool on)
{
	__atomic_store_n(&fs->opts.writeback, on, __ATOMIC_RELAXED);
}

void pt_free(struct pt_fs *fs)
{
	if (!fs)
		return;
	pt_locks_reset(fs);
	pt_table_destroy(fs);
	pthread_mutex_destroy(&fs->plock_lock);
	pthread_mutex_destroy(&fs->lock);
	free(fs);
}

/* ---- extended attributes ---- */

enum xa_op { XA_SET, XA_GET, XA_LIST, XA_REMOVE };

struct xa_args {
	enum xa_op op;
	const char *name;
	void *buf; /* value in (SET) or out (GET/LIST) */
	size_t size;
	int flags;
};

static ssize_t xa_fd(int fd, const struct xa_args *a)
{
	switch (a->op) {
	case XA_SET:
		return fsetxattr(fd, a->name, a->buf, a->size, a->flags);
	case XA_GET:
		return fgetxattr(fd, a->name, a->buf, a->size);
	case XA_LIST:
		return flistxattr(fd, a->buf, a->size);
	default:
		return fremovexattr(fd, a->name);
	}
}

static ssize_t xa_path(const char *path, const struct xa_args *a)
{
	switch (a->op) {
	case XA_SET:
		return setxattr(path, a->name, a->buf, a->size, a->flags);
	case XA_GET:
		return getxattr(path, a->name, a->buf, a->size);
	case XA_LIST:
		return listxattr(path, a->buf, a->size);
	default:
		return removexattr(path, a->name);
	}
}

/*
 * Regular files and directories are reopened. Anything else cannot be
 * opened safely, so go through its /proc/self/fd magic link relative to a
 * per-thread working directory: resolving a magic link lands on the O_PATH
 * file itself and never follows a symlink beyond it.
 */
static ssize_t xattr_do(struct pt_fs *fs, uint64_t nodeid,
			const struct xa_args *a)
{
	struct pt_inode *ino;
	char name[16];
	ssize_t n;
	int fd, ret;

	if (a->name && (!*a->name || strlen(a->name) > XATTR_NAME_MAX))
		return a->name[0] ? -ERANGE : -EINVAL;
	ret = pt_inode_get(fs, nodeid, &ino);
	if (ret < 0)
		return ret;
	if (S_ISREG(ino->type) || S_ISDIR(ino->type)) {
		fd = reopen(fs, ino, O_RDONLY | O_NONBLOCK);
		if (fd < 0) {
			n = fd;
		} else {
			n = xa_fd(fd, a);
			if (n < 0)
				n = -errno;
			close(fd);
		}
	} else {
		thread_prepare();
		if (thread_fs_private != 1) {
			n = -EOPNOTSUPP;
		} else if ((fd = ino_fd(fs, ino)) < 0) {
			n = fd;
		} else if (fchdir(fs->opts.proc_self_fd) < 0) {
			n = -errno;
			ino_fd_put(ino, fd);
		} else {
			snprintf(name, sizeof(name), "%d", fd);
			n = xa_path(name, a);
			if (n < 0)
				n = -errno;
			if (fchdir(fs->opts.root_fd) < 0)
				VLOG_WARN("passthrough: fchdir back: %s",
					  strerror(errno));
			ino_fd_put(ino, fd);
		}
	}
	pt_inode_put(fs, ino);
	return n;
}

/*
 * --xattrmap: the host name of the guest's @*name, in @buf; *@name is
 * pointed at it. Without a map the name stays. 0 or -errno.
 */
static int xattr_name(struct pt_fs *fs, const char **name, char *buf,
		      size_t size)
{
	int ret;

	if (!fs->opts.xattrmap || !*name)
		return 0;
	if (!**name || strlen(*name) > XATTR_NAME_MAX)
		return **name ? -ERANGE : -EINVAL;
	ret = pt_xattrmap_client(fs->opts.xattrmap, *name, buf, size);
	if (ret == 0)
		*name = buf;
	return ret;
}

int pt_setxattr(struct pt_fs *fs, uint64_t nodeid, const char *name,
		const void *value, size_t size, uint32_t flags)
{
	char mapped[XATTR_NAME_MAX + 1];
	int ret = xattr_name(fs, &name, mapped, sizeof(mapped));
	struct xa_args a = { XA_SET, name, (void *)value, size, (int)flags };

	if (ret)
		return ret;
	if (flags & ~(uint32_t)(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	return (int)xattr_do(fs, nodeid, &a);
}

ssize_t pt_getxattr(struct pt_fs *fs, uint64_t nodeid, const char *name,
		    void *buf, size_t size)
{
	char mapped[XATTR_NAME_MAX + 1];
	int ret = xattr_name(fs, &name, mapped, sizeof(mapped));
	struct xa_args a = { XA_GET, name, buf, size, 0 };

	return ret ? ret : xattr_do(fs, nodeid, &a);
}

/*
 * With --xattrmap the guest sees a rewritten list, whose size is only
 * known once the host's whole list is read and filtered: read it into a
 * buffer of our own (retrying if it grows meanwhile), then answer the
 * size query or copy.
 */
static ssize_t listxattr_mapped(struct pt_fs *fs, uint64_t nodeid, void *buf,
				size_t size)
{
	for (int tries = 0; tries < 8; tries++) {
		struct xa_args q = { XA_LIST, NULL, NULL, 0, 0 }, a = q;
		ssize_t n = xattr_do(fs, nodeid, &q);
		size_t len;
		char *all;

		if (n <= 0)
			return n;
		all = malloc((size_t)n);
		if (!all)
			return -ENOMEM;
		a.buf = all;
		a.size = (size_t)n;
		n = xattr_do(fs, nodeid, &a);
		if (n == -ERANGE) {
			free(all);
			continue;
		}
		if (n < 0) {
			free(all);
			return n;
		}
		len = pt_xattrmap_list(fs->opts.xattrmap, all, (size_t)n);
		if (size && len > size)
			n = -ERANGE;
		else if (size)
			memcpy(buf, all, len);
		free(all);
		return n < 0 ? n : (ssize_t)len;
	}
	return -ERANGE;
}

ssize_t pt_listxattr(struct pt_fs *fs, uint64_t nodeid, void *buf,
		     size_t size)
{
	struct xa_args a = { XA_LIST, NULL, buf, size, 0 };

	if (fs->opts.xattrmap)
		return listxattr_mapped(fs, nodeid, buf, size);
	return xattr_do(fs, nodeid, &a);
}

int pt_removexattr(struct pt_fs *fs, uint64_t nodeid, const char *name)
{
	char mapped[XATTR_NAME_MAX + 1];
	int ret = xattr_name(fs, &name, mapped, sizeof(mapped));
	struct xa_args a = { XA_REMOVE, name, NULL, 0, 0 };

	return ret ? ret : (int)xattr_do(fs, nodeid, &a);
}
