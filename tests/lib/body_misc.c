// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The misc area of the shared body (cbody.h): O_TMPFILE, special files,
 * access(2), the working directory, the *at() calls, copy_file_range and
 * statx. Many of these are system call things that only vdax-posix has
 * (its table fills in the ops); vdax-conform runs the rest, with the host
 * side where it applies.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cbody.h"

#define MiB (1 << 20)

/* Entries of @dir, "." and ".." included; -1 if it cannot be read. */
static int dir_count(const struct cb_ops *o, const char *dir)
{
	struct cb_dirent de;
	void *d;
	int n = 0;

	if (o->diropen(dir, &d))
		return 0;
	while (o->dirread(d, &de) > 0)
		n++;
	o->dirclose(d);
	return n;
}

static void misc_tmpfile(const struct cb_ops *o)
{
	static const char *const deps[] = {
		"misc.tmpfile.nlink0",
		"misc.tmpfile.rw",
		"misc.tmpfile.mode",
		"misc.tmpfile.linkat_rc",
		"misc.tmpfile.linked_contents",
		"misc.tmpfile.linked_nlink1",
	};
	struct stat sb = { 0 };
	char buf[8] = { 0 };
	int before = dir_count(o, ".");
	void *f;
	int ret = o->open(".", O_TMPFILE | O_RDWR, 0600, &f);

	cb_rc0(o, "misc.tmpfile.open", ret);
	cb_eq(o, "misc.tmpfile.invisible_in_readdir", dir_count(o, "."),
	      before);
	if (ret) {
		for (size_t i = 0; i < sizeof(deps) / sizeof(deps[0]); i++)
			cb_fail_errno(o, deps[i], -ret);
	} else {
		cb_eq(o, "misc.tmpfile.nlink0",
		      o->fstat(f, &sb) ?: (long)sb.st_nlink, 0);
		cb_ok(o, "misc.tmpfile.rw",
		      o->pwrite(f, "tmp", 3, 0) == 3 &&
			      o->pread(f, buf, 8, 0) == 3 &&
			      !memcmp(buf, "tmp", 3),
		      "rw");
		cb_mode(o, "misc.tmpfile.mode", sb.st_mode, S_IFREG | 0600);
		cb_eq(o, "misc.tmpfile.linkat_rc", o->link_handle(f, "linked"),
		      0);
		cb_ok(o, "misc.tmpfile.linked_contents",
		      cb_get_str_is(o, "linked", "tmp"), "differs");
		cb_eq(o, "misc.tmpfile.linked_nlink1",
		      o->fstat(f, &sb) ?: (long)sb.st_nlink, 1);
		o->close(f);
	}
	/* O_EXCL: this one can never get a name */
	ret = o->open(".", O_TMPFILE | O_RDWR | O_EXCL, 0600, &f);
	cb_err(o, "misc.tmpfile.excl_linkat_ENOENT",
	       ret ?: o->link_handle(f, "excl"), ENOENT);
	if (!ret)
		o->close(f);
}

static void misc_special(const struct cb_ops *o)
{
	/* with a umask (022), 0666 arrives as 0644, as without one 0644 */
	mode_t fifo_mode = o->flags & CB_UMASK ? 0666 : 0644;
	struct stat sb = { 0 };
	char c = 0;
	void *f;
	int ret;

	cb_eq(o, "misc.mkfifo.rc", o->mknod("fifo", S_IFIFO | fifo_mode, 0), 0);
	cb_ok(o, "misc.mkfifo.is_fifo",
	      !o->stat("fifo", &sb) && S_ISFIFO(sb.st_mode) &&
		      cb_host_exists(o, "fifo"),
	      "mode 0%o", sb.st_mode);
	cb_mode(o, "misc.mkfifo.mode_umask", sb.st_mode & 07777, 0644);
	cb_err(o, "misc.mkfifo.exists_EEXIST",
	       o->mknod("fifo", S_IFIFO | 0644, 0), EEXIST);
	/* a FIFO the suite opens is a pipe of its own kernel */
	if (o->flags & CB_FIFO_IO) {
		ret = o->open("fifo", O_RDWR | O_NONBLOCK, 0, &f);
		cb_ok(o, "misc.fifo.rw_nonblock",
		      !ret && o->write(f, "p", 1) == 1 &&
			      o->read(f, &c, 1) == 1 && c == 'p',
		      "errno %s", o->errname(-ret));
		if (!ret)
			o->close(f);
	}
	cb_eq(o, "misc.mknod.fifo_rc", o->mknod("fifo2", S_IFIFO | 0600, 0),
	      0);
	ret = o->mknod("reg", S_IFREG | 0600, 0);
	cb_ok(o, "misc.mknod.reg",
	      !ret && !o->stat("reg", &sb) && S_ISREG(sb.st_mode) &&
		      sb.st_size == 0,
	      "errno %s", o->errname(-ret));
	if (o->flags & CB_LIBVDAX) {
		ret = o->mknod("sock", S_IFSOCK | 0600, 0);
		cb_ok(o, "misc.mknod.sock",
		      !ret && !o->lstat("sock", &sb) && S_ISSOCK(sb.st_mode),
		      "errno %s mode 0%o", o->errname(-ret), sb.st_mode);
	}
	ret = o->mknod("null", S_IFCHR | 0666, makedev(1, 3));
	cb_ok(o, "misc.mknod.chr_rdev",
	      !ret && !o->stat("null", &sb) && S_ISCHR(sb.st_mode) &&
		      sb.st_rdev == makedev(1, 3),
	      "errno %s", o->errname(-ret));
	if (o->bind_socket) {
		ret = o->bind_socket("sock");
		cb_ok(o, "misc.socket.bind_is_sock",
		      !ret && !o->stat("sock", &sb) && S_ISSOCK(sb.st_mode),
		      "errno %s", o->errname(-ret));
	}
}

static void misc_access(const struct cb_ops *o)
{
	cb_put_str(o, "a", "x");
	cb_eq(o, "misc.access.f_ok", o->access("a", F_OK, 0), 0);
	cb_err(o, "misc.access.missing_ENOENT", o->access("nope", F_OK, 0),
	       ENOENT);
	/* root may read and write anything, and run what has an x bit */
	o->chmod("a", 0);
	cb_eq(o, "misc.access.root_rw_on_0000", o->access("a", R_OK | W_OK, 0),
	      0);
	o->chmod("a", 0644);
	cb_err(o, "misc.access.root_x_on_0644_EACCES", o->access("a", X_OK, 0),
	       EACCES);
	o->chmod("a", 0100);
	cb_eq(o, "misc.access.root_x_on_0100", o->access("a", X_OK, 0), 0);
	cb_eq(o, "misc.faccessat.eaccess", o->access("a", R_OK, AT_EACCESS), 0);
	o->symlink("nowhere", "dl");
	cb_eq(o, "misc.faccessat.nofollow_dangling",
	      o->access("dl", F_OK, AT_SYMLINK_NOFOLLOW), 0);
	cb_err(o, "misc.access.dangling_ENOENT", o->access("dl", F_OK, 0),
	       ENOENT);
}

static bool cwd_ends(const struct cb_ops *o, const char *suffix)
{
	char b[4096];
	size_t l = strlen(suffix);

	return o->getcwd(b, sizeof(b)) && strlen(b) >= l &&
	       !strcmp(b + strlen(b) - l, suffix);
}

/* The working directory follows renames; a deleted one takes nothing. */
static void misc_cwd(const struct cb_ops *o)
{
	char home[4096];
	void *f;
	int ret;

	if (!o->getcwd(home, sizeof(home)))
		home[0] = 0;
	cb_ok(o, "misc.getcwd.inside", cwd_ends(o, "/misc"), "wrong cwd");
	o->mkdir("cw", 0755);
	o->chdir("cw");
	cb_eq(o, "misc.getcwd.rename_cwd_rc", o->rename("../cw", "../cw2"), 0);
	cb_ok(o, "misc.getcwd.follows_rename", cwd_ends(o, "/misc/cw2"),
	      "stale");
	o->chdir(home);
	o->mkdir("gone", 0755);
	o->chdir("gone");
	o->rmdir("../gone");
	cb_ok(o, "misc.cwd_deleted.getcwd_ENOENT",
	      !o->getcwd(home + 2048, 2048) && errno == ENOENT, "errno %s",
	      o->errname(errno));
	ret = o->open("x", O_CREAT | O_WRONLY, 0644, &f);
	cb_err(o, "misc.cwd_deleted.create_ENOENT", ret, ENOENT);
	if (!ret)
		o->close(f);
	o->chdir(home);
}

/* The *at() calls, relative to a directory handle. */
static void misc_at(const struct cb_ops *o)
{
	struct stat sb = { 0 };
	void *d = NULL, *f = NULL;
	int ret;

	o->mkdir("at", 0755);
	if (o->opendir("at", &d))
		d = NULL;
	ret = d ? o->openat(d, "f", O_CREAT | O_WRONLY, 0644, &f) : -EBADF;
	cb_ok(o, "misc.openat.relative_to_dirfd",
	      !ret && !o->lstat("at/f", &sb), "errno %s", o->errname(-ret));
	ret = ret ?: o->fstatat_empty(f, &sb);
	cb_ok(o, "misc.fstatat.empty_path",
	      !ret && sb.st_ino == cb_ino(o, "at/f"), "errno %s",
	      o->errname(-ret));
	if (f)
		o->close(f);
	cb_eq(o, "misc.mkdirat.rc", d ? o->mkdirat(d, "sub", 0755) : -EBADF, 0);
	cb_eq(o, "misc.renameat.rc",
	      d ? o->renameat(d, "f", d, "sub/g") : -EBADF, 0);
	cb_err(o, "misc.unlinkat.removedir_on_file_ENOTDIR",
	       d ? o->unlinkat(d, "sub/g", AT_REMOVEDIR) : -EBADF, ENOTDIR);
	if (d)
		o->unlinkat(d, "sub/g", 0);
	cb_eq(o, "misc.unlinkat.removedir_rc",
	      d ? o->unlinkat(d, "sub", AT_REMOVEDIR) : -EBADF, 0);
	cb_eq(o, "misc.nlink.dir_back_to_2",
	      d ? o->fstat(d, &sb) ?: (long)sb.st_nlink : -EBADF, 2);
	if (d)
		o->closedir(d);
	cb_ok(o, "misc.ino.distinct",
	      cb_ino(o, "a") && cb_ino(o, "at") &&
		      cb_ino(o, "a") != cb_ino(o, "at"),
	      "same");
}

/* Without the *at() checks: the same two, by path. */
static void misc_ino(const struct cb_ops *o)
{
	struct stat sb = { 0 };

	cb_put_str(o, "a", "x");
	o->mkdir("at", 0755);
	cb_ok(o, "misc.ino.distinct",
	      cb_ino(o, "a") && cb_ino(o, "at") &&
		      cb_ino(o, "a") != cb_ino(o, "at"),
	      "same");
	o->mkdir("at/sub", 0755);
	o->rmdir("at/sub");
	cb_eq(o, "misc.nlink.dir_back_to_2",
	      o->stat("at", &sb) ?: (long)sb.st_nlink, 2);
}

static void misc_copy(const struct cb_ops *o)
{
	char *buf = malloc(MiB);
	void *in = NULL, *out = NULL;
	ssize_t n = -1;

	if (!buf)
		return;
	cb_pattern(buf, MiB, 0);
	cb_put(o, "cin", buf, MiB);
	if (o->open("cin", O_RDONLY, 0, &in))
		in = NULL;
	if (o->open("cout", O_RDWR | O_CREAT | O_TRUNC, 0644, &out))
		out = NULL;
	if (in && out)
		n = o->copy_file_range(in, NULL, out, NULL, MiB);
	cb_eq(o, "misc.copy_file_range.count", n, MiB);
	memset(buf, 0, MiB);
	cb_ok(o, "misc.copy_file_range.contents",
	      n == MiB && o->pread(out, buf, MiB, 0) == MiB &&
		      cb_pattern_ok(buf, MiB, 0),
	      "mismatch");
	if (o->host_read) {
		memset(buf, 0, MiB);
		cb_ok(o, "misc.copy_file_range.host_contents",
		      o->host_read("cout", buf, MiB, 0) == MiB &&
			      cb_pattern_ok(buf, MiB, 0),
		      "mismatch");
	}
	if (o->flags & CB_LIBVDAX)
		cb_eq(o, "misc.copy_file_range.advances_offsets",
		      out ? o->lseek(out, 0, SEEK_CUR) : -EBADF, MiB);
	if ((o->flags & CB_LIBVDAX) && in && out) {
		off_t oi = 100, oo = 0;

		/* explicit offsets move, the file offsets do not */
		n = o->copy_file_range(in, &oi, out, &oo, 1000);
		memset(buf, 0, 1000);
		cb_ok(o, "misc.copy_file_range.explicit_offsets",
		      n == 1000 && oi == 1100 && oo == 1000 &&
			      (!o->host_read ||
			       o->host_read("cout", buf, 1000, 0) == 1000) &&
			      (!o->host_read || cb_pattern_ok(buf, 1000, 100)) &&
			      o->lseek(out, 0, SEEK_CUR) == MiB,
		      "n %zd off_in %lld off_out %lld", n, (long long)oi,
		      (long long)oo);
	} else if (o->flags & CB_LIBVDAX) {
		cb_fail_errno(o, "misc.copy_file_range.explicit_offsets",
			      ENOENT);
	}
	if (in)
		o->close(in);
	if (out)
		o->close(out);
	free(buf);
}

static void misc_setfl(const struct cb_ops *o)
{
	void *f;
	int ret;

	cb_put_str(o, "ap", "12");
	ret = o->open("ap", O_WRONLY, 0, &f);
	if (!ret)
		o->setfl(f, O_APPEND);
	cb_ok(o, "misc.fcntl.setfl_append",
	      !ret && (o->getfl(f) & O_APPEND) && o->write(f, "3", 1) == 1 &&
		      cb_get_str_is(o, "ap", "123"),
	      "no");
	if (!ret)
		o->close(f);
}

static void misc_statx(const struct cb_ops *o)
{
	struct statx sx = { 0 };
	int ret;

	cb_put_str(o, "sx", "12345");
	ret = o->statx("sx", STATX_BASIC_STATS, &sx);
	cb_ok(o, "misc.statx.basic",
	      !ret &&
		      (sx.stx_mask & (STATX_SIZE | STATX_INO | STATX_MODE)) ==
			      (STATX_SIZE | STATX_INO | STATX_MODE) &&
		      sx.stx_size == 5 && sx.stx_ino == cb_ino(o, "sx"),
	      "errno %s mask 0x%x", o->errname(-ret), sx.stx_mask);
}

void cb_area_misc(const struct cb_ops *o)
{
	if (o->flags & CB_O_TMPFILE)
		misc_tmpfile(o);
	misc_special(o);
	if (o->access)
		misc_access(o);
	if (o->chdir)
		misc_cwd(o);
	/* the order of the ino and nlink checks differs with the *at() ones */
	if (o->mkdirat)
		misc_at(o);
	else
		misc_ino(o);
	misc_copy(o);
	if (o->setfl)
		misc_setfl(o);
	if (o->statx)
		misc_statx(o);
}
