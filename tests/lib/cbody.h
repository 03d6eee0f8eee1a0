/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One conformance body: checks written once, against a small operations
 * table, and run by every suite that can fill it in -- vdax-posix with
 * system calls (tests/posix/t_body.c: locally, in guests, on `vdax mount`)
 * and vdax-conform with the libvdax API (tests/conformance/c_body.c: on
 * each backend). The check names are the same everywhere, so that the
 * runs line up check by check. Each area is one function,
 * cb_area_<area>(), in tests/lib/body_<area>.c; the drivers (px.c, cf.c)
 * run it in a fresh directory for the area.
 *
 * Paths are relative to the area's directory (the suite's working
 * directory, or a libvdax node of it): a relative path may be PATH_MAX - 1
 * bytes long wherever the area itself sits (c_body.c resolves a few calls,
 * utimens, chown, the xattrs, statvfs and directory streams, by path from
 * the backend's root as vdax-conform always did; the long-path checks use
 * none of them). Every call returns 0 (or a count >= 0) or -errno;
 * handles are opaque.
 *
 * What one suite can do and the other cannot is an op left NULL (or a
 * CB_* flag): the checks that need it are then not run there at all, so
 * each suite prints exactly the checks it always printed. README.md,
 * "Adding a conformance check", says how to add one.
 *
 * Libc only: vdax-posix links statically and runs inside guests.
 */
#ifndef VDAX_TESTS_LIB_CBODY_H
#define VDAX_TESTS_LIB_CBODY_H

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

/* One directory entry, as readdir(3) or vdax_readdir() gave it. */
struct cb_dirent {
	ino_t ino;
	unsigned char type; /* DT_* */
	char name[256];
};

/* What a suite is, where that decides which checks it runs (flags). */
/* Creation modes go through the process umask (022 in every area). */
#define CB_UMASK (1u << 0)
/*
 * The libvdax API: a few checks that only vdax-conform has ever run (its
 * expected-differences files key on their names) run only here.
 */
#define CB_LIBVDAX (1u << 1)
/*
 * A closed handle is still a number the kernel refuses with EBADF (a file
 * descriptor); a libvdax handle is freed by close and must not be used.
 */
#define CB_CLOSED_EBADF (1u << 2)
/* open(O_PATH) gives a handle without I/O (a system call flag) */
#define CB_O_PATH (1u << 3)
/* "" names nothing (system calls); an *at() API takes it as the directory */
#define CB_EMPTY_PATH_ENOENT (1u << 4)
/* open(O_TMPFILE) is a flag the suite passes on (system calls) */
#define CB_O_TMPFILE (1u << 5)
/* a FIFO the suite opens is a pipe of its own kernel, for I/O */
#define CB_FIFO_IO (1u << 6)
/*
 * POSIX record locks belong to the process (system calls): F_GETLK names
 * the holder's pid, and closing any fd of the file drops them. Without it
 * a handle is its own lock owner (libvdax), dropped by its release.
 */
#define CB_PROCESS_LOCKS (1u << 7)

struct cb_ops;
/* A call made as another user (as_nobody): 0 or -errno. */
typedef int (*cb_as_fn)(const struct cb_ops *o, const char *p);

/*
 * An op a suite cannot do is NULL; the checks that need it are then left
 * out (no TAP line at all), as they always were in that suite.
 */
struct cb_ops {
	const char *name; /* "posix", "libvdax" */
	unsigned int flags; /* CB_* */
	int (*mkdir)(const char *p, mode_t mode);
	int (*rmdir)(const char *p);
	int (*unlink)(const char *p);
	int (*rename)(const char *from, const char *to);
	/* renameat2(2) flags: RENAME_NOREPLACE, RENAME_EXCHANGE */
	int (*rename2)(const char *from, const char *to, unsigned int flags);
	int (*link)(const char *from, const char *to);
	/* linkat(AT_SYMLINK_FOLLOW); NULL: the suite leaves those checks out */
	int (*link_follow)(const char *from, const char *to);
	int (*symlink)(const char *target, const char *p);
	int (*mknod)(const char *p, mode_t mode, dev_t dev);
	ssize_t (*readlink)(const char *p, char *buf, size_t size);
	int (*stat)(const char *p, struct stat *st);
	int (*lstat)(const char *p, struct stat *st);
	int (*truncate)(const char *p, off_t len);
	int (*chmod)(const char *p, mode_t mode);
	int (*chown)(const char *p, uid_t uid, gid_t gid);
	/* utimensat(2) following a final symlink */
	int (*utimens)(const char *p, const struct timespec ts[2]);
	/* the final symlink itself: lchown(2), fchmodat/utimensat NOFOLLOW */
	int (*lchown)(const char *p, uid_t uid, gid_t gid);
	int (*lchmod)(const char *p, mode_t mode);
	int (*lutimens)(const char *p, const struct timespec ts[2]);
	/* files */
	int (*open)(const char *p, int flags, mode_t mode, void **f);
	int (*close)(void *f);
	/* read/write at the file offset, which lseek moves */
	ssize_t (*read)(void *f, void *buf, size_t len);
	ssize_t (*write)(void *f, const void *buf, size_t len);
	off_t (*lseek)(void *f, off_t off, int whence);
	ssize_t (*pread)(void *f, void *buf, size_t len, off_t off);
	ssize_t (*pwrite)(void *f, const void *buf, size_t len, off_t off);
	int (*fstat)(void *f, struct stat *st);
	int (*ftruncate)(void *f, off_t len);
	int (*fsync)(void *f);
	int (*fdatasync)(void *f);
	/* sync_file_range(WAIT_BEFORE | WRITE | WAIT_AFTER) of it all; NULL */
	int (*sync_file_range)(void *f);
	/* syncfs(2) of the filesystem @f is on */
	int (*syncfs)(void *f);
	/*
	 * mmap(2) of @f: 0 and the mapping in *@p, or a positive errno; and
	 * munmap/msync of what it gave. NULL: no mmap area.
	 */
	int (*mmap)(void *f, size_t len, int prot, int flags, off_t off,
		    void **p);
	int (*munmap)(void *p, size_t len);
	int (*msync)(void *p, size_t len, int flags);
	/* locks: flock(2); F_SETLK (never waits) and F_GETLK */
	int (*flock)(void *f, int op);
	int (*setlk)(void *f, const struct flock *fl);
	int (*getlk)(void *f, struct flock *fl);
	/* F_OFD_SETLK / F_OFD_GETLK; NULL: no OFD locks */
	int (*ofd_lk)(void *f, int cmd, struct flock *fl);
	/*
	 * Another lock owner on @p (see body_lock.c): peer_lk does F_SETLK or
	 * F_GETLK as that owner.
	 */
	int (*peer_open)(const char *p, void **peer);
	int (*peer_lk)(void *peer, int cmd, struct flock *fl);
	void (*peer_close)(void *peer);
	/* fcntl(F_GETFD), fcntl(F_GETFL); NULL: no file descriptor flags */
	int (*getfd)(void *f);
	int (*getfl)(void *f);
	int (*setfl)(void *f, int flags);
	/* a second handle on the same open file (one offset); NULL: none */
	int (*dup)(void *f, void **f2);
	ssize_t (*pwritev)(void *f, const struct iovec *iov, int n, off_t off);
	ssize_t (*preadv)(void *f, const struct iovec *iov, int n, off_t off);
	/* on an open file; NULL: those checks are left out */
	int (*fchmod)(void *f, mode_t mode);
	int (*fchown)(void *f, uid_t uid, gid_t gid);
	int (*futimens)(void *f, const struct timespec ts[2]);
	/*
	 * write(2) through @f by a process without privileges (a child that
	 * dropped to nobody): 0 or -errno. NULL: the suite cannot.
	 */
	int (*write_unprivileged)(void *f, const void *buf, size_t len);
	int (*fallocate)(void *f, int mode, off_t off, off_t len);
	/* extended attributes, following a final symlink (getxattr(2)) */
	ssize_t (*getxattr)(const char *p, const char *key, void *v,
			    size_t size);
	int (*setxattr)(const char *p, const char *key, const void *v,
			size_t len, int flags);
	ssize_t (*listxattr)(const char *p, char *list, size_t size);
	int (*removexattr)(const char *p, const char *key);
	/* the symlink's own, and on open files; NULL: left out */
	int (*lsetxattr)(const char *p, const char *key, const void *v,
			 size_t len, int flags);
	ssize_t (*fgetxattr)(void *f, const char *key, void *v, size_t size);
	int (*fsetxattr)(void *f, const char *key, const void *v, size_t len,
			 int flags);
	ssize_t (*flistxattr)(void *f, char *list, size_t size);
	int (*fremovexattr)(void *f, const char *key);
	/* statvfs(3) of the filesystem @p is on; fstatvfs may be NULL */
	int (*statvfs)(const char *p, struct statvfs *st);
	int (*fstatvfs)(void *f, struct statvfs *st);
	/* directory handles, and calls relative to them (openat(2) ...) */
	int (*opendir)(const char *p, void **d);
	int (*closedir)(void *d);
	int (*openat)(void *d, const char *p, int flags, mode_t mode, void **f);
	int (*renameat)(void *d, const char *from, void *d2, const char *to);
	/* more *at() calls; NULL: those checks are left out */
	int (*mkdirat)(void *d, const char *p, mode_t mode);
	int (*unlinkat)(void *d, const char *p, int flags);
	/* fstatat(f, "", AT_EMPTY_PATH) */
	int (*fstatat_empty)(void *f, struct stat *st);
	/* linkat(f, "", AT_FDCWD, @p, AT_EMPTY_PATH): a name for an O_TMPFILE */
	int (*link_handle)(void *f, const char *p);
	/* faccessat(AT_FDCWD, @p, @mode, @flags) */
	int (*access)(const char *p, int mode, int flags);
	int (*statx)(const char *p, unsigned int mask, struct statx *sx);
	/* bind(2) a UNIX socket at @p (and close it) */
	int (*bind_socket)(const char *p);
	ssize_t (*copy_file_range)(void *in, off_t *off_in, void *out,
				   off_t *off_out, size_t len);
	/*
	 * Directory streams (opendir(3), vdax_opendir()); dirread returns 1,
	 * 0 at the end, or -errno. rewind, tell and seek may be NULL.
	 */
	int (*diropen)(const char *p, void **ds);
	int (*dirread)(void *ds, struct cb_dirent *de);
	void (*dirclose)(void *ds);
	void (*dirrewind)(void *ds);
	long (*dirtell)(void *ds);
	void (*dirseek)(void *ds, long pos);
	/* a working directory; NULL where the suite has none */
	int (*chdir)(const char *p);
	/*
	 * Runs @fn(@o, @p) as nobody (a child that dropped its privileges):
	 * 0, the positive errno it got, or -1 if it could not run. NULL: the
	 * suite cannot be another user.
	 */
	int (*as_nobody)(const struct cb_ops *o, cb_as_fn fn, const char *p);
	/* a directory on another mount, for EXDEV; NULL: none to look for */
	const char *(*other_mount)(void);
	/* a handle that is not open (a free fd number); NULL: none exists */
	void *unopened;
	/* the process umask, with CB_UMASK */
	mode_t (*umask)(mode_t mask);
	char *(*getcwd)(char *buf, size_t size);
	/*
	 * The share as the host sees it, where the suite can look (libvdax:
	 * the shared directory next to the daemon); NULL where it cannot
	 * (system calls see only the mount). Paths as above. The cb_host_*
	 * helpers then agree with whatever the check expects.
	 */
	ssize_t (*host_read)(const char *p, void *buf, size_t len, off_t off);
	int (*host_lstat)(const char *p, struct stat *st);
	ssize_t (*host_readlink)(const char *p, char *buf, size_t size);
	ssize_t (*host_getxattr)(const char *p, const char *key, void *v,
				 size_t size);
	int (*host_setxattr)(const char *p, const char *key, const void *v,
			     size_t len, int flags);
	/* a fresh host open of @p cannot take flock(LOCK_EX) */
	bool (*host_flock_blocked)(const char *p);
	/* F_OFD_GETLK of a write lock on the host: the l_type, or -1 */
	short (*host_getlk_type)(const char *p, off_t start, off_t len);
	int (*host_statvfs)(const char *p, struct statvfs *st);
	/* names in host directory @p but "." and ".."; -1 on error */
	int (*host_count)(const char *p);
	/* one TAP line; the detail only on failure */
	bool (*check)(const char *name, bool cond, const char *detail);
	/*
	 * The same with the detail printed on a pass too (the errno an
	 * either-or check saw, which vdax-conform-compare compares); NULL:
	 * as check.
	 */
	bool (*check_always)(const char *name, bool cond, const char *detail);
	/* "ok N - name # SKIP why" */
	void (*skip)(const char *name, const char *why);
	const char *(*errname)(int err);
};

/* Check helpers over ops->check, for results in the -errno convention. */
bool cb_ok(const struct cb_ops *o, const char *name, bool cond,
	   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
bool cb_rc0(const struct cb_ops *o, const char *name, long long rc);
bool cb_err(const struct cb_ops *o, const char *name, long long rc, int want);
bool cb_err2(const struct cb_ops *o, const char *name, long long rc, int want,
	     int alt);
bool cb_eq(const struct cb_ops *o, const char *name, long long got,
	   long long want);
bool cb_mode(const struct cb_ops *o, const char *name, unsigned int got,
	     unsigned int want);
bool cb_str(const struct cb_ops *o, const char *name, const char *got,
	    const char *want);
void cb_skip(const struct cb_ops *o, const char *name, const char *why);
void cb_fail_errno(const struct cb_ops *o, const char *name, int err);

/* Helpers over the table: 0/-errno or a value, as the suites had them. */
int cb_put(const struct cb_ops *o, const char *p, const void *data,
	   size_t len);
int cb_put_str(const struct cb_ops *o, const char *p, const char *s);
ssize_t cb_get(const struct cb_ops *o, const char *p, void *buf, size_t cap);
bool cb_get_str_is(const struct cb_ops *o, const char *p, const char *want);
ino_t cb_ino(const struct cb_ops *o, const char *p);	 /* lstat; 0 */
off_t cb_size(const struct cb_ops *o, const char *p);	 /* lstat; -1 */
nlink_t cb_nlink(const struct cb_ops *o, const char *p); /* stat; 0 */
/* Data: position-dependent bytes, never all zero, so holes and shifts show. */
bool cb_is_zero(const void *buf, size_t len);
void cb_pattern(void *buf, size_t len, off_t base);
bool cb_pattern_ok(const void *buf, size_t len, off_t base);
void cb_msleep(unsigned int ms);
/* @p is gone: lstat says ENOENT, and so does the host where it is seen. */
bool cb_gone(const struct cb_ops *o, const char *p);
/* lstat's result, but 0 (not gone) if the host still has @p. */
int cb_gone_rc(const struct cb_ops *o, const char *p);
/* The host view agrees (true where there is none). */
bool cb_host_str_is(const struct cb_ops *o, const char *p, const char *want);
bool cb_host_exists(const struct cb_ops *o, const char *p);
bool cb_host_size_is(const struct cb_ops *o, const char *p, off_t want);
/* permission bits (st_mode & 07777) */
bool cb_host_mode_is(const struct cb_ops *o, const char *p, mode_t want);
bool cb_host_absent(const struct cb_ops *o, const char *p);
bool cb_host_same_ino(const struct cb_ops *o, const char *a, const char *b);

/*
 * The areas written once (tests/lib/body_<area>.c): a suite's area of that
 * name just runs these on its table.
 */
void cb_area_attr(const struct cb_ops *o);
void cb_area_xattr(const struct cb_ops *o);
void cb_area_rw(const struct cb_ops *o);
void cb_area_open(const struct cb_ops *o);
void cb_area_lock(const struct cb_ops *o);
void cb_area_mmap(const struct cb_ops *o);
void cb_area_misc(const struct cb_ops *o);
void cb_area_statfs(const struct cb_ops *o);
void cb_area_sync(const struct cb_ops *o);
void cb_area_errno(const struct cb_ops *o);
void cb_area_dir(const struct cb_ops *o);
void cb_area_readdir(const struct cb_ops *o);
void cb_area_sparse(const struct cb_ops *o);
void cb_area_trunc(const struct cb_ops *o);
void cb_area_falloc(const struct cb_ops *o);
void cb_area_seek(const struct cb_ops *o);
void cb_area_link(const struct cb_ops *o);
void cb_area_symlink(const struct cb_ops *o);
void cb_area_rename(const struct cb_ops *o);

/* Parts of the areas above, each in its area's file. */
void cb_dir_pathmax(const struct cb_ops *o);	     /* dir.pathmax.* */
void cb_link_cross_dir(const struct cb_ops *o);	     /* link.cross_dir.* */
void cb_rename_dir_open_below(const struct cb_ops *o); /* rename.dir_open_below.* */
void cb_attr_symlink(const struct cb_ops *o);	     /* attr.l{chown,chmod,utimes}.* */

#endif
