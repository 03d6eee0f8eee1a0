// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The shared conformance body (tests/lib/cbody.h) through system calls:
 * paths relative to the area's working directory, -1/errno turned into
 * -errno, handles are file descriptors.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <grp.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "px.h"
#include "cbody.h"

#define RC(x) ((x) < 0 ? -errno : 0)
#define FD(h) ((int)(intptr_t)(h))

static int s_mkdir(const char *p, mode_t m) { return RC(mkdir(p, m)); }
static int s_rmdir(const char *p) { return RC(rmdir(p)); }
static int s_unlink(const char *p) { return RC(unlink(p)); }
static int s_rename(const char *a, const char *b) { return RC(rename(a, b)); }

static int s_rename2(const char *a, const char *b, unsigned int flags)
{
	return RC(syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, flags));
}
static int s_link(const char *a, const char *b) { return RC(link(a, b)); }
static int s_link_follow(const char *a, const char *b)
{
	return RC(linkat(AT_FDCWD, a, AT_FDCWD, b, AT_SYMLINK_FOLLOW));
}

static ssize_t s_readlink(const char *p, char *b, size_t n)
{
	ssize_t r = readlink(p, b, n);

	return r < 0 ? -errno : r;
}

static int s_symlink(const char *t, const char *p) { return RC(symlink(t, p)); }

static int s_mknod(const char *p, mode_t m, dev_t dev)
{
	return RC(mknod(p, m, dev));
}
static int s_stat(const char *p, struct stat *st) { return RC(stat(p, st)); }
static int s_lstat(const char *p, struct stat *st) { return RC(lstat(p, st)); }
static int s_truncate(const char *p, off_t l) { return RC(truncate(p, l)); }
static int s_chmod(const char *p, mode_t m) { return RC(chmod(p, m)); }

static int s_utimens(const char *p, const struct timespec ts[2])
{
	return RC(utimensat(AT_FDCWD, p, ts, 0));
}

static int s_chown(const char *p, uid_t u, gid_t g)
{
	return RC(chown(p, u, g));
}

static int s_lchown(const char *p, uid_t u, gid_t g)
{
	return RC(lchown(p, u, g));
}

static int s_lchmod(const char *p, mode_t m)
{
	return RC(fchmodat(AT_FDCWD, p, m, AT_SYMLINK_NOFOLLOW));
}

static int s_lutimens(const char *p, const struct timespec ts[2])
{
	return RC(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW));
}

static int s_open(const char *p, int flags, mode_t mode, void **f)
{
	int fd = open(p, flags, mode);

	if (fd < 0)
		return -errno;
	*f = (void *)(intptr_t)fd;
	return 0;
}

static int s_close(void *f) { return RC(close(FD(f))); }

static ssize_t s_read(void *f, void *b, size_t n)
{
	ssize_t r = read(FD(f), b, n);

	return r < 0 ? -errno : r;
}

static ssize_t s_write(void *f, const void *b, size_t n)
{
	ssize_t r = write(FD(f), b, n);

	return r < 0 ? -errno : r;
}

static off_t s_lseek(void *f, off_t off, int whence)
{
	off_t r = lseek(FD(f), off, whence);

	return r < 0 ? -errno : r;
}

static ssize_t s_pread(void *f, void *b, size_t n, off_t off)
{
	ssize_t r = pread(FD(f), b, n, off);

	return r < 0 ? -errno : r;
}

static ssize_t s_pwrite(void *f, const void *b, size_t n, off_t off)
{
	ssize_t r = pwrite(FD(f), b, n, off);

	return r < 0 ? -errno : r;
}

static int s_fstat(void *f, struct stat *st) { return RC(fstat(FD(f), st)); }

static int s_ftruncate(void *f, off_t l) { return RC(ftruncate(FD(f), l)); }
static int s_fsync(void *f) { return RC(fsync(FD(f))); }

static int s_fallocate(void *f, int mode, off_t off, off_t len)
{
	return RC(fallocate(FD(f), mode, off, len));
}

static int s_getfd(void *f) { return fcntl(FD(f), F_GETFD); }
static int s_getfl(void *f) { return fcntl(FD(f), F_GETFL); }
static int s_setfl(void *f, int fl) { return RC(fcntl(FD(f), F_SETFL, fl)); }

static int s_dup(void *f, void **f2)
{
	int fd = dup(FD(f));

	if (fd < 0)
		return -errno;
	*f2 = (void *)(intptr_t)fd;
	return 0;
}

static ssize_t s_pwritev(void *f, const struct iovec *iov, int n, off_t off)
{
	ssize_t r = pwritev(FD(f), iov, n, off);

	return r < 0 ? -errno : r;
}

static ssize_t s_preadv(void *f, const struct iovec *iov, int n, off_t off)
{
	ssize_t r = preadv(FD(f), iov, n, off);

	return r < 0 ? -errno : r;
}

static int s_fdatasync(void *f) { return RC(fdatasync(FD(f))); }

static int s_sync_file_range(void *f)
{
	return RC(sync_file_range(FD(f), 0, 0,
				  SYNC_FILE_RANGE_WAIT_BEFORE |
					  SYNC_FILE_RANGE_WRITE |
					  SYNC_FILE_RANGE_WAIT_AFTER));
}

static int s_syncfs(void *f) { return RC(syncfs(FD(f))); }

/* A child drops to nobody (no groups) and reports the errno in its status. */
static int s_as_nobody(const struct cb_ops *o, cb_as_fn fn, const char *p)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(255);
		_exit(-fn(o, p) & 0xff);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) == 255)
		return -1;
	return WEXITSTATUS(status);
}

static int s_fchmod(void *f, mode_t m) { return RC(fchmod(FD(f), m)); }

static int s_fchown(void *f, uid_t u, gid_t g)
{
	return RC(fchown(FD(f), u, g));
}

static int s_futimens(void *f, const struct timespec ts[2])
{
	return RC(futimens(FD(f), ts));
}

/* The fd is inherited by a child that drops to nobody before it writes. */
static int s_write_unprivileged(void *f, const void *b, size_t n)
{
	int status = -1;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		_exit(write(FD(f), b, n) == (ssize_t)n ? 0 : 3);
	}
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status))
		return -EINTR;
	return WEXITSTATUS(status) == 0 ? 0 :
	       WEXITSTATUS(status) == 2 ? -EPERM : -EIO;
}

static int s_opendir(const char *p, void **d)
{
	return s_open(p, O_RDONLY | O_DIRECTORY, 0, d);
}

static int s_openat(void *d, const char *p, int flags, mode_t mode, void **f)
{
	int fd = openat(FD(d), p, flags, mode);

	if (fd < 0)
		return -errno;
	*f = (void *)(intptr_t)fd;
	return 0;
}

static int s_renameat(void *d, const char *a, void *d2, const char *b)
{
	return RC(renameat(FD(d), a, FD(d2), b));
}

#define SZ(x) ((x) < 0 ? -errno : (x))

static ssize_t s_getxattr(const char *p, const char *k, void *v, size_t n)
{
	ssize_t r = getxattr(p, k, v, n);

	return SZ(r);
}

static int s_setxattr(const char *p, const char *k, const void *v, size_t n,
		      int fl)
{
	return RC(setxattr(p, k, v, n, fl));
}

static ssize_t s_listxattr(const char *p, char *l, size_t n)
{
	ssize_t r = listxattr(p, l, n);

	return SZ(r);
}

static int s_removexattr(const char *p, const char *k)
{
	return RC(removexattr(p, k));
}

static int s_lsetxattr(const char *p, const char *k, const void *v, size_t n,
		       int fl)
{
	return RC(lsetxattr(p, k, v, n, fl));
}

static ssize_t s_fgetxattr(void *f, const char *k, void *v, size_t n)
{
	ssize_t r = fgetxattr(FD(f), k, v, n);

	return SZ(r);
}

static int s_fsetxattr(void *f, const char *k, const void *v, size_t n,
		       int fl)
{
	return RC(fsetxattr(FD(f), k, v, n, fl));
}

static ssize_t s_flistxattr(void *f, char *l, size_t n)
{
	ssize_t r = flistxattr(FD(f), l, n);

	return SZ(r);
}

static int s_fremovexattr(void *f, const char *k)
{
	return RC(fremovexattr(FD(f), k));
}

static int s_statvfs(const char *p, struct statvfs *st)
{
	return RC(statvfs(p, st));
}

static int s_fstatvfs(void *f, struct statvfs *st)
{
	return RC(fstatvfs(FD(f), st));
}

static int s_mkdirat(void *d, const char *p, mode_t m)
{
	return RC(mkdirat(FD(d), p, m));
}

static int s_unlinkat(void *d, const char *p, int flags)
{
	return RC(unlinkat(FD(d), p, flags));
}

static int s_fstatat_empty(void *f, struct stat *st)
{
	return RC(fstatat(FD(f), "", st, AT_EMPTY_PATH));
}

static int s_link_handle(void *f, const char *p)
{
	return RC(linkat(FD(f), "", AT_FDCWD, p, AT_EMPTY_PATH));
}

static int s_access(const char *p, int mode, int flags)
{
	return RC(faccessat(AT_FDCWD, p, mode, flags));
}

static int s_statx(const char *p, unsigned int mask, struct statx *sx)
{
	return RC(statx(AT_FDCWD, p, 0, mask, sx));
}

static int s_bind_socket(const char *p)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM, 0), ret;

	if (s < 0)
		return -errno;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", p);
	ret = RC(bind(s, (struct sockaddr *)&sun, sizeof(sun)));
	close(s);
	return ret;
}

static ssize_t s_copy_file_range(void *in, off_t *oi, void *out, off_t *oo,
				 size_t len)
{
	ssize_t r = copy_file_range(FD(in), oi, FD(out), oo, len, 0);

	return r < 0 ? -errno : r;
}

static int s_mmap(void *f, size_t len, int prot, int flags, off_t off,
		  void **p)
{
	void *m = mmap(NULL, len, prot, flags, FD(f), off);

	if (m == MAP_FAILED)
		return errno;
	*p = m;
	return 0;
}

static int s_munmap(void *p, size_t len) { return RC(munmap(p, len)); }

static int s_msync(void *p, size_t len, int flags)
{
	return RC(msync(p, len, flags));
}

static int s_flock(void *f, int op) { return RC(flock(FD(f), op)); }

static int s_setlk(void *f, const struct flock *fl)
{
	return RC(fcntl(FD(f), F_SETLK, fl));
}

static int s_getlk(void *f, struct flock *fl)
{
	return RC(fcntl(FD(f), F_GETLK, fl));
}

static int s_ofd_lk(void *f, int cmd, struct flock *fl)
{
	return RC(fcntl(FD(f), cmd, fl));
}

/*
 * The other lock owner: for each call a forked child with its own open(),
 * so a POSIX lock it takes goes with it. The peer is just the path.
 */
static int s_peer_open(const char *p, void **peer)
{
	char *dup = strdup(p);

	if (!dup)
		return -ENOMEM;
	*peer = dup;
	return 0;
}

static void s_peer_close(void *peer) { free(peer); }

/* What the child saw: F_GETLK's result, F_SETLK's rc and errno. */
struct probe {
	struct flock fl;
	int rc, err;
};

static int s_peer_lk(void *peer, int cmd, struct flock *fl)
{
	struct probe pr = { .rc = -1, .err = EIO };
	int p[2], fd;
	pid_t pid;

	if (pipe(p))
		return -errno;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		fd = open(peer, O_RDWR);
		pr.rc = fcntl(fd, cmd, fl);
		pr.err = pr.rc ? errno : 0;
		pr.fl = *fl;
		if (write(p[1], &pr, sizeof(pr)) != sizeof(pr))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &pr, sizeof(pr)) != sizeof(pr))
		pr.rc = -1;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	if (pr.rc)
		return -pr.err;
	*fl = pr.fl;
	return 0;
}

static int s_diropen(const char *p, void **ds)
{
	DIR *d = opendir(p);

	if (!d)
		return -errno;
	*ds = d;
	return 0;
}

/* readdir(3) does not tell an error from the end: both are the end here. */
static int s_dirread(void *ds, struct cb_dirent *de)
{
	struct dirent *e = readdir(ds);

	if (!e)
		return 0;
	de->ino = e->d_ino;
	de->type = e->d_type;
	snprintf(de->name, sizeof(de->name), "%s", e->d_name);
	return 1;
}

static void s_dirclose(void *ds) { closedir(ds); }
static void s_dirrewind(void *ds) { rewinddir(ds); }
static long s_dirtell(void *ds) { return telldir(ds); }
static void s_dirseek(void *ds, long pos) { seekdir(ds, pos); }
static int s_chdir(const char *p) { return RC(chdir(p)); }

static bool s_check(const char *name, bool cond, const char *detail)
{
	return px_check(name, cond, "%s", detail ? detail : "");
}

static void s_skip(const char *name, const char *why) { px_skip(name, why); }

const struct cb_ops px_cb_ops = {
	.name = "posix",
	.flags = CB_UMASK | CB_CLOSED_EBADF | CB_O_PATH | CB_EMPTY_PATH_ENOENT |
		 CB_O_TMPFILE | CB_FIFO_IO | CB_PROCESS_LOCKS,
	.mkdir = s_mkdir,
	.rmdir = s_rmdir,
	.unlink = s_unlink,
	.rename = s_rename,
	.rename2 = s_rename2,
	.link = s_link,
	.link_follow = s_link_follow,
	.symlink = s_symlink,
	.readlink = s_readlink,
	.mknod = s_mknod,
	.stat = s_stat,
	.lstat = s_lstat,
	.truncate = s_truncate,
	.chmod = s_chmod,
	.chown = s_chown,
	.utimens = s_utimens,
	.lchown = s_lchown,
	.lchmod = s_lchmod,
	.lutimens = s_lutimens,
	.open = s_open,
	.close = s_close,
	.read = s_read,
	.write = s_write,
	.lseek = s_lseek,
	.pread = s_pread,
	.pwrite = s_pwrite,
	.fstat = s_fstat,
	.ftruncate = s_ftruncate,
	.fsync = s_fsync,
	.fdatasync = s_fdatasync,
	.sync_file_range = s_sync_file_range,
	.syncfs = s_syncfs,
	.mmap = s_mmap,
	.munmap = s_munmap,
	.msync = s_msync,
	.flock = s_flock,
	.setlk = s_setlk,
	.getlk = s_getlk,
	.ofd_lk = s_ofd_lk,
	.peer_open = s_peer_open,
	.peer_lk = s_peer_lk,
	.peer_close = s_peer_close,
	.getfd = s_getfd,
	.getfl = s_getfl,
	.setfl = s_setfl,
	.dup = s_dup,
	.pwritev = s_pwritev,
	.preadv = s_preadv,
	.fchmod = s_fchmod,
	.fchown = s_fchown,
	.futimens = s_futimens,
	.write_unprivileged = s_write_unprivileged,
	.fallocate = s_fallocate,
	.opendir = s_opendir,
	.closedir = s_close,
	.openat = s_openat,
	.renameat = s_renameat,
	.getxattr = s_getxattr,
	.setxattr = s_setxattr,
	.listxattr = s_listxattr,
	.removexattr = s_removexattr,
	.lsetxattr = s_lsetxattr,
	.fgetxattr = s_fgetxattr,
	.fsetxattr = s_fsetxattr,
	.flistxattr = s_flistxattr,
	.fremovexattr = s_fremovexattr,
	.statvfs = s_statvfs,
	.fstatvfs = s_fstatvfs,
	.mkdirat = s_mkdirat,
	.unlinkat = s_unlinkat,
	.fstatat_empty = s_fstatat_empty,
	.link_handle = s_link_handle,
	.access = s_access,
	.statx = s_statx,
	.bind_socket = s_bind_socket,
	.copy_file_range = s_copy_file_range,
	.diropen = s_diropen,
	.dirread = s_dirread,
	.dirclose = s_dirclose,
	.dirrewind = s_dirrewind,
	.dirtell = s_dirtell,
	.dirseek = s_dirseek,
	.chdir = s_chdir,
	.getcwd = getcwd,
	.umask = umask,
	.as_nobody = s_as_nobody,
	.other_mount = px_other_mount,
	.unopened = (void *)(intptr_t)1000, /* no area opens that many */
	/* no host view: the guest or mount sees only the mount */
	.check = s_check,
	.skip = s_skip,
	.errname = px_errname,
};
