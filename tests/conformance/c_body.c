// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The shared conformance body (tests/lib/cbody.h) through the libvdax node
 * API: every path is resolved from the area directory's node, with the
 * *at() calls (so a relative path may be PATH_MAX - 1 bytes long however
 * deep the area is); handles are struct vdax_file, directory handles
 * struct vdax_node.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <sys/file.h>
#include <unistd.h>

#include "cf.h"
#include "cbody.h"

/* The area directory's node while a body check runs. */
static struct vdax_node *at;

static int c_mkdir(const char *p, mode_t m)
{
	return vdax_mkdirat(cf_vd, at, p, m, NULL);
}

static int c_rmdir(const char *p) { return vdax_rmdirat(cf_vd, at, p); }
static int c_unlink(const char *p) { return vdax_unlinkat(cf_vd, at, p, 0); }

static int c_rename(const char *a, const char *b)
{
	return vdax_renameat2(cf_vd, at, a, at, b, 0);
}

static int c_rename2(const char *a, const char *b, unsigned int flags)
{
	return vdax_renameat2(cf_vd, at, a, at, b, flags);
}

static int c_link(const char *a, const char *b)
{
	return vdax_linkat(cf_vd, at, a, at, b, 0, NULL);
}

static int c_symlink(const char *t, const char *p)
{
	return vdax_symlinkat(cf_vd, t, at, p, NULL);
}

static int c_mknod(const char *p, mode_t m, dev_t dev)
{
	return vdax_mknodat(cf_vd, at, p, m, dev, NULL);
}

static ssize_t c_readlink(const char *p, char *b, size_t n)
{
	return vdax_readlinkat(cf_vd, at, p, b, n);
}

static int stat_at(const char *p, int flags, struct stat *st)
{
	struct vdax_node *n;
	int ret = vdax_walk(cf_vd, at, p, flags, &n);

	if (ret)
		return ret;
	ret = vdax_getattr(cf_vd, n, st, NULL);
	vdax_node_put(cf_vd, n);
	return ret;
}

static int c_stat(const char *p, struct stat *st) { return stat_at(p, 0, st); }

static int c_lstat(const char *p, struct stat *st)
{
	return stat_at(p, AT_SYMLINK_NOFOLLOW, st);
}

/* vdax_setattr() on the node @p names (a final symlink followed or not). */
static int setattr_at(const char *p, int flags, const struct stat *attr,
		      int to_set)
{
	struct vdax_node *n;
	int ret = vdax_walk(cf_vd, at, p, flags, &n);

	if (ret)
		return ret;
	ret = vdax_setattr(cf_vd, n, NULL, attr, to_set, NULL, NULL);
	vdax_node_put(cf_vd, n);
	return ret;
}

static int c_truncate(const char *p, off_t len)
{
	struct stat a = { .st_size = len };

	return setattr_at(p, 0, &a, VDAX_SET_SIZE);
}

static int c_chmod(const char *p, mode_t m)
{
	struct stat a = { .st_mode = m };

	return setattr_at(p, 0, &a, VDAX_SET_MODE);
}

/*
 * By path from the root, as vdax-conform always did: vdax_utimens() maps
 * NULL, UTIME_NOW and UTIME_OMIT to what vdax_setattr() takes.
 */
static int c_utimens(const char *p, const struct timespec ts[2])
{
	return vdax_utimens(cf_vd, P(p), ts, 0);
}

static int c_chown(const char *p, uid_t u, gid_t g)
{
	return vdax_chown(cf_vd, P(p), u, g);
}

static int c_lchmod(const char *p, mode_t m)
{
	struct stat a = { .st_mode = m };

	return setattr_at(p, AT_SYMLINK_NOFOLLOW, &a, VDAX_SET_MODE);
}

static int c_lchown(const char *p, uid_t u, gid_t g)
{
	struct stat a = { .st_uid = u, .st_gid = g };
	int set = (u != (uid_t)-1 ? VDAX_SET_UID : 0) |
		  (g != (gid_t)-1 ? VDAX_SET_GID : 0);

	return setattr_at(p, AT_SYMLINK_NOFOLLOW, &a, set);
}

static int c_lutimens(const char *p, const struct timespec ts[2])
{
	struct stat a = { .st_atim = ts[0], .st_mtim = ts[1] };

	return setattr_at(p, AT_SYMLINK_NOFOLLOW, &a,
			  VDAX_SET_ATIME | VDAX_SET_MTIME);
}

static int c_openat(void *d, const char *p, int flags, mode_t mode, void **f)
{
	struct vdax_file *vf;
	int ret = vdax_openat(cf_vd, d, p, flags, mode, &vf);

	if (!ret)
		*f = vf;
	return ret;
}

static int c_open(const char *p, int flags, mode_t mode, void **f)
{
	return c_openat(at, p, flags, mode, f);
}

static int c_close(void *f) { return vdax_release(f); }

static ssize_t c_read(void *f, void *b, size_t n)
{
	return vdax_read(f, b, n);
}

static ssize_t c_write(void *f, const void *b, size_t n)
{
	return vdax_write(f, b, n);
}

static off_t c_lseek(void *f, off_t off, int whence)
{
	return vdax_lseek(f, off, whence);
}

static ssize_t c_pread(void *f, void *b, size_t n, off_t off)
{
	return vdax_pread(f, b, n, off);
}

static ssize_t c_pwrite(void *f, const void *b, size_t n, off_t off)
{
	return vdax_pwrite(f, b, n, off);
}

static int c_fstat(void *f, struct stat *st) { return vdax_fstat(f, st); }

static int c_ftruncate(void *f, off_t l) { return vdax_ftruncate(f, l); }
static int c_fsync(void *f) { return vdax_fsync(f, 0); }
static int c_fdatasync(void *f) { return vdax_fsync(f, 1); }

/* one session, one filesystem: the handle is not needed */
static int c_syncfs(void *f)
{
	(void)f;
	return vdax_syncfs(cf_vd);
}

static int c_fallocate(void *f, int mode, off_t off, off_t len)
{
	return vdax_fallocate(f, mode, off, len);
}

static int c_opendir(const char *p, void **d)
{
	struct vdax_node *n;
	int ret = vdax_walk(cf_vd, at, p, 0, &n);

	if (!ret)
		*d = n;
	return ret;
}

static int c_closedir(void *d)
{
	vdax_node_put(cf_vd, d);
	return 0;
}

static int c_renameat(void *d, const char *a, void *d2, const char *b)
{
	return vdax_renameat2(cf_vd, d, a, d2, b, 0);
}

/* Extended attributes by path from the root, as vdax-conform always did. */
static ssize_t c_getxattr(const char *p, const char *k, void *v, size_t n)
{
	return vdax_getxattr(cf_vd, P(p), k, v, n);
}

static int c_setxattr(const char *p, const char *k, const void *v, size_t n,
		      int fl)
{
	return vdax_setxattr(cf_vd, P(p), k, v, n, fl);
}

static ssize_t c_listxattr(const char *p, char *l, size_t n)
{
	return vdax_listxattr(cf_vd, P(p), l, n);
}

static int c_removexattr(const char *p, const char *k)
{
	return vdax_removexattr(cf_vd, P(p), k);
}

static ssize_t c_copy_file_range(void *in, off_t *oi, void *out, off_t *oo,
				 size_t len)
{
	return vdax_copy_file_range(in, oi, out, oo, len, 0);
}

static int c_flock(void *f, int op) { return vdax_flock(f, op); }

static int c_setlk(void *f, const struct flock *fl)
{
	return vdax_setlk(f, fl, 0);
}

static int c_getlk(void *f, struct flock *fl) { return vdax_getlk(f, fl); }

/* The other lock owner: a second handle, its own owner. */
static int c_peer_open(const char *p, void **peer)
{
	return c_open(p, O_RDWR, 0, peer);
}

static int c_peer_lk(void *peer, int cmd, struct flock *fl)
{
	return cmd == F_GETLK ? vdax_getlk(peer, fl) : vdax_setlk(peer, fl, 0);
}

static void c_peer_close(void *peer) { vdax_release(peer); }

static int c_statvfs(const char *p, struct statvfs *st)
{
	return vdax_statfs(cf_vd, P(p), st);
}

/* Directory streams: vdax_opendir() takes a path from the root. */
static int c_diropen(const char *p, void **ds)
{
	struct vdax_dir *d;
	int ret = vdax_opendir(cf_vd, P(p), &d);

	if (!ret)
		*ds = d;
	return ret;
}

static int c_dirread(void *ds, struct cb_dirent *de)
{
	struct vdax_dirent e;
	int ret = vdax_readdir(ds, &e);

	if (ret > 0) {
		de->ino = e.ino;
		de->type = e.type;
		snprintf(de->name, sizeof(de->name), "%s", e.name);
	}
	return ret;
}

static void c_dirclose(void *ds) { vdax_closedir(ds); }

/* The host side: the same relative path under the area's host directory. */
static ssize_t c_host_read(const char *p, void *b, size_t n, off_t off)
{
	return host_get(p, b, n, off);
}

static int c_host_lstat(const char *p, struct stat *st)
{
	return lstat(H(p), st) ? -errno : 0;
}

static ssize_t c_host_readlink(const char *p, char *b, size_t n)
{
	ssize_t r = readlink(H(p), b, n);

	return r < 0 ? -errno : r;
}

static int c_host_count(const char *p)
{
	DIR *d = opendir(H(p));
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static ssize_t c_host_getxattr(const char *p, const char *k, void *v,
				size_t n)
{
	ssize_t r = getxattr(H(p), k, v, n);

	return r < 0 ? -errno : r;
}

static int c_host_setxattr(const char *p, const char *k, const void *v,
			   size_t n, int fl)
{
	return setxattr(H(p), k, v, n, fl) ? -errno : 0;
}

static int c_host_statvfs(const char *p, struct statvfs *st)
{
	return statvfs(H(p), st) ? -errno : 0;
}

/* Does a fresh host open see a flock conflict? */
static bool c_host_flock_blocked(const char *p)
{
	int fd = open(H(p), O_RDWR);
	bool blocked;

	if (fd < 0)
		return false;
	blocked = flock(fd, LOCK_EX | LOCK_NB) && errno == EWOULDBLOCK;
	close(fd);
	return blocked;
}

static short c_host_getlk_type(const char *p, off_t start, off_t len)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = start, .l_len = len };
	int fd = open(H(p), O_RDWR);

	if (fd < 0)
		return -1;
	if (fcntl(fd, F_OFD_GETLK, &fl))
		fl.l_type = -1;
	close(fd);
	return fl.l_type;
}

static bool c_check(const char *name, bool cond, const char *detail)
{
	return cf_check(name, cond, "%s", detail ? detail : "");
}

static bool c_check_always(const char *name, bool cond, const char *detail)
{
	return cf_check_always(name, cond, "%s", detail ? detail : "");
}

static const struct cb_ops c_ops = {
	.name = "libvdax",
	.flags = CB_LIBVDAX,
	.mkdir = c_mkdir,
	.rmdir = c_rmdir,
	.unlink = c_unlink,
	.rename = c_rename,
	.rename2 = c_rename2,
	.link = c_link,
	/* no link_follow: vdax-conform has never run those two checks */
	.symlink = c_symlink,
	.readlink = c_readlink,
	.mknod = c_mknod,
	.stat = c_stat,
	.lstat = c_lstat,
	.truncate = c_truncate,
	.chmod = c_chmod,
	.chown = c_chown,
	.utimens = c_utimens,
	.lchown = c_lchown,
	.lchmod = c_lchmod,
	.lutimens = c_lutimens,
	.open = c_open,
	.close = c_close,
	.read = c_read,
	.write = c_write,
	.lseek = c_lseek,
	.pread = c_pread,
	.pwrite = c_pwrite,
	.fstat = c_fstat,
	.ftruncate = c_ftruncate,
	.fsync = c_fsync,
	.fdatasync = c_fdatasync,
	.syncfs = c_syncfs,
	/*
	 * no dup, pwritev/preadv, fchmod, fchown, futimens or
	 * write_unprivileged: those checks were never run here
	 */
	.fallocate = c_fallocate,
	.opendir = c_opendir,
	.closedir = c_closedir,
	.openat = c_openat,
	.renameat = c_renameat,
	.getxattr = c_getxattr,
	.setxattr = c_setxattr,
	.listxattr = c_listxattr,
	.removexattr = c_removexattr,
	/* no lsetxattr, no f*xattr: never run here */
	/* no mkdirat/unlinkat/fstatat_empty, link_handle, access, statx or
	 * bind_socket: those checks were never run here */
	.copy_file_range = c_copy_file_range,
	.flock = c_flock,
	.setlk = c_setlk,
	.getlk = c_getlk,
	/* no ofd_lk: a handle's locks are its own already */
	.peer_open = c_peer_open,
	.peer_lk = c_peer_lk,
	.peer_close = c_peer_close,
	.statvfs = c_statvfs,
	/* no fstatvfs; no rewind/tell/seek, no working directory */
	.diropen = c_diropen,
	.dirread = c_dirread,
	.dirclose = c_dirclose,
	.host_read = c_host_read,
	.host_lstat = c_host_lstat,
	.host_readlink = c_host_readlink,
	.host_count = c_host_count,
	.host_statvfs = c_host_statvfs,
	.host_flock_blocked = c_host_flock_blocked,
	.host_getlk_type = c_host_getlk_type,
	.host_getxattr = c_host_getxattr,
	.host_setxattr = c_host_setxattr,
	.check = c_check,
	.check_always = c_check_always,
	.skip = cf_skip,
	.errname = cf_errname,
};

void cf_body(void (*fn)(const struct cb_ops *o))
{
	int ret = vdax_walk(cf_vd, NULL, P(""), 0, &at);

	if (ret) {
		cf_fail_errno("body.area_node", -ret);
		return;
	}
	fn(&c_ops);
	vdax_node_put(cf_vd, at);
	at = NULL;
}
