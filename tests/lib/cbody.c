// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The shared conformance body (cbody.h): the checks themselves. Each is
 * written once here and runs as vdax-posix (system calls) and as
 * vdax-conform (libvdax), under the same names.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cbody.h"

bool cb_ok(const struct cb_ops *o, const char *name, bool cond,
	   const char *fmt, ...)
{
	char detail[256] = "";
	va_list ap;

	if (!cond && fmt) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	return o->check(name, cond, detail[0] ? detail : NULL);
}

bool cb_rc0(const struct cb_ops *o, const char *name, long long rc)
{
	return cb_ok(o, name, rc >= 0, "got errno %s", o->errname((int)-rc));
}

bool cb_err(const struct cb_ops *o, const char *name, long long rc, int want)
{
	if (rc >= 0)
		return cb_ok(o, name, false, "succeeded (rc %lld), want %s", rc,
			     o->errname(want));
	return cb_ok(o, name, rc == -want, "got errno %s",
		     o->errname((int)-rc));
}

bool cb_err2(const struct cb_ops *o, const char *name, long long rc, int want,
	     int alt)
{
	char detail[64];

	if (rc >= 0)
		return cb_ok(o, name, false, "succeeded (rc %lld), want %s", rc,
			     o->errname(want));
	snprintf(detail, sizeof(detail), "got errno %s", o->errname((int)-rc));
	return (o->check_always ? o->check_always : o->check)(
		name, rc == -want || rc == -alt, detail);
}

bool cb_eq(const struct cb_ops *o, const char *name, long long got,
	   long long want)
{
	/* a call's -errno where a count was due: name the errno */
	if (got < 0 && got >= -4095 && want >= 0)
		return cb_ok(o, name, false, "got %lld (errno %s), want %lld",
			     got, o->errname((int)-got), want);
	return cb_ok(o, name, got == want, "got %lld, want %lld", got, want);
}

bool cb_mode(const struct cb_ops *o, const char *name, unsigned int got,
	     unsigned int want)
{
	return cb_ok(o, name, got == want, "got 0%o, want 0%o", got, want);
}

bool cb_str(const struct cb_ops *o, const char *name, const char *got,
	    const char *want)
{
	bool same = got && want && !strcmp(got, want);

	return cb_ok(o, name, same, "got \"%.60s\", want \"%.60s\"",
		     got ? got : "(null)", want ? want : "(null)");
}

void cb_skip(const struct cb_ops *o, const char *name, const char *why)
{
	o->skip(name, why);
}

void cb_fail_errno(const struct cb_ops *o, const char *name, int err)
{
	cb_ok(o, name, false, "got errno %s", o->errname(err));
}

/* ---- helpers over the table ---- */

int cb_put(const struct cb_ops *o, const char *p, const void *data,
	   size_t len)
{
	void *f;
	ssize_t n = 0;
	int ret = o->open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644, &f);

	if (ret)
		return ret;
	if (len)
		n = o->pwrite(f, data, len, 0);
	ret = o->close(f);
	if (n < 0)
		return (int)n;
	return (size_t)n == len ? ret : -EIO;
}

int cb_put_str(const struct cb_ops *o, const char *p, const char *s)
{
	return cb_put(o, p, s, strlen(s));
}

ssize_t cb_get(const struct cb_ops *o, const char *p, void *buf, size_t cap)
{
	void *f;
	ssize_t n;
	int ret = o->open(p, O_RDONLY, 0, &f);

	if (ret)
		return ret;
	n = o->pread(f, buf, cap, 0);
	o->close(f);
	return n;
}

bool cb_get_str_is(const struct cb_ops *o, const char *p, const char *want)
{
	char buf[256];
	ssize_t n = cb_get(o, p, buf, sizeof(buf) - 1);

	if (n < 0)
		return false;
	buf[n] = 0;
	return !strcmp(buf, want);
}

ino_t cb_ino(const struct cb_ops *o, const char *p)
{
	struct stat st;

	return o->lstat(p, &st) ? 0 : st.st_ino;
}

off_t cb_size(const struct cb_ops *o, const char *p)
{
	struct stat st;

	return o->lstat(p, &st) ? -1 : st.st_size;
}

nlink_t cb_nlink(const struct cb_ops *o, const char *p)
{
	struct stat st;

	return o->stat(p, &st) ? 0 : st.st_nlink;
}

bool cb_is_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* The same bytes as vdax-posix and vdax-conform have always written. */
static unsigned char pattern_byte(off_t o)
{
	return (unsigned char)((o * 131 + (o >> 9) * 7 + (o >> 20)) | 1);
}

void cb_pattern(void *buf, size_t len, off_t base)
{
	unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = pattern_byte(base + (off_t)i);
}

bool cb_pattern_ok(const void *buf, size_t len, off_t base)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern_byte(base + (off_t)i))
			return false;
	return true;
}

void cb_msleep(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

bool cb_host_str_is(const struct cb_ops *o, const char *p, const char *want)
{
	char buf[256];
	ssize_t n;

	if (!o->host_read)
		return true;
	n = o->host_read(p, buf, sizeof(buf) - 1, 0);
	if (n < 0)
		return false;
	buf[n] = 0;
	return !strcmp(buf, want);
}

bool cb_host_exists(const struct cb_ops *o, const char *p)
{
	struct stat st;

	return !o->host_lstat || !o->host_lstat(p, &st);
}

bool cb_host_size_is(const struct cb_ops *o, const char *p, off_t want)
{
	struct stat st;

	return !o->host_lstat || (!o->host_lstat(p, &st) && st.st_size == want);
}

bool cb_host_mode_is(const struct cb_ops *o, const char *p, mode_t want)
{
	struct stat st;

	return !o->host_lstat ||
	       (!o->host_lstat(p, &st) && (st.st_mode & 07777) == want);
}

bool cb_host_absent(const struct cb_ops *o, const char *p)
{
	struct stat st;

	return !o->host_lstat || o->host_lstat(p, &st);
}

/* Both names are one (existing) inode on the host. */
bool cb_host_same_ino(const struct cb_ops *o, const char *a, const char *b)
{
	struct stat sa, sb;

	if (!o->host_lstat)
		return true;
	return !o->host_lstat(a, &sa) && !o->host_lstat(b, &sb) &&
	       sa.st_ino == sb.st_ino;
}

bool cb_gone(const struct cb_ops *o, const char *p)
{
	struct stat st;

	return o->lstat(p, &st) == -ENOENT &&
	       (!o->host_lstat || o->host_lstat(p, &st));
}

int cb_gone_rc(const struct cb_ops *o, const char *p)
{
	struct stat st;
	int rc = o->lstat(p, &st);

	if (rc == -ENOENT && o->host_lstat && !o->host_lstat(p, &st))
		return 0;
	return rc;
}

/* ---- small helpers of the checks below ---- */


static long long nlink_of(const struct cb_ops *o, const char *p)
{
	struct stat st;

	return o->lstat(p, &st) ? -1 : (long long)st.st_nlink;
}

/* ---- dir.pathmax ---- */

/*
 * Paths of PATH_MAX - 1 bytes (the longest a system call takes) built from
 * NAME_MAX-byte components: 15 directories and a final name, 16 x 255 + 15
 * slashes = 4095. Every call on such a path must work; one byte more is
 * ENAMETOOLONG.
 */
#define PM_DEPTH 15

/* @buf = @depth directories of 255 x @c, then "/" + 255 x @leaf. */
static size_t pm_build(char *buf, int depth, char c, char leaf)
{
	size_t pos = 0;

	for (int i = 0; i < depth; i++) {
		memset(buf + pos, c, NAME_MAX);
		pos += NAME_MAX;
		buf[pos++] = '/';
	}
	if (leaf) {
		memset(buf + pos, leaf, NAME_MAX);
		pos += NAME_MAX;
	} else if (pos) {
		pos--; /* no trailing slash */
	}
	buf[pos] = '\0';
	return pos;
}

void cb_dir_pathmax(const struct cb_ops *o)
{
	char *file = malloc(PATH_MAX + 2), *other = malloc(PATH_MAX + 2);
	char *link2 = malloc(PATH_MAX + 2), *dir15 = malloc(PATH_MAX + 2);
	struct stat st = { 0 };
	int ret = 0;
	ssize_t n = -EIO;
	void *f;

	if (!file || !other || !link2 || !dir15) {
		cb_ok(o, "dir.pathmax.alloc", false, "out of memory");
		goto out;
	}
	for (int d = 1; d <= PM_DEPTH && !ret; d++) {
		pm_build(dir15, d, 'p', 0);
		ret = o->mkdir(dir15, 0755);
	}
	cb_rc0(o, "dir.pathmax.mkdir_chain", ret);
	cb_eq(o, "dir.pathmax.len", (long long)pm_build(file, PM_DEPTH, 'p', 'f'),
	      PATH_MAX - 1);
	pm_build(other, PM_DEPTH, 'p', 'o');
	pm_build(link2, PM_DEPTH, 'p', 'l');
	ret = o->open(file, O_CREAT | O_WRONLY | O_EXCL, 0644, &f);
	cb_rc0(o, "dir.pathmax.open_creat", ret);
	if (!ret) {
		n = o->pwrite(f, "deep", 4, 0);
		o->close(f);
	}
	cb_eq(o, "dir.pathmax.write", n, 4);
	cb_rc0(o, "dir.pathmax.stat", o->stat(file, &st));
	cb_eq(o, "dir.pathmax.size", st.st_size, 4);
	cb_rc0(o, "dir.pathmax.truncate", o->truncate(file, 2));
	cb_eq(o, "dir.pathmax.truncated_size", cb_size(o, file), 2);
	cb_rc0(o, "dir.pathmax.chmod", o->chmod(file, 0600));
	cb_rc0(o, "dir.pathmax.rename", o->rename(file, other));
	cb_err(o, "dir.pathmax.rename.old_gone", o->lstat(file, &st), ENOENT);
	cb_rc0(o, "dir.pathmax.link", o->link(other, file));
	cb_ok(o, "dir.pathmax.link.same_ino",
	      cb_ino(o, file) && cb_ino(o, file) == cb_ino(o, other),
	      "%llu vs %llu", (unsigned long long)cb_ino(o, file),
	      (unsigned long long)cb_ino(o, other));
	cb_rc0(o, "dir.pathmax.symlink", o->symlink("short-target", link2));
	cb_rc0(o, "dir.pathmax.unlink_symlink", o->unlink(link2));
	cb_rc0(o, "dir.pathmax.unlink", o->unlink(file));
	cb_rc0(o, "dir.pathmax.unlink_other", o->unlink(other));
	cb_rc0(o, "dir.pathmax.mkdir_last", o->mkdir(file, 0755));
	cb_rc0(o, "dir.pathmax.rmdir_last", o->rmdir(file));
	/* one byte more than a system call takes */
	file[PATH_MAX - 1] = 'x';
	file[PATH_MAX] = '\0';
	ret = o->open(file, O_CREAT | O_WRONLY, 0644, &f);
	if (!ret)
		o->close(f);
	cb_err(o, "dir.pathmax.plus_one_ENAMETOOLONG", ret, ENAMETOOLONG);
	pm_build(dir15, PM_DEPTH, 'p', 0);
	cb_rc0(o, "dir.pathmax.rmdir_deepest", o->rmdir(dir15));
out:
	free(file);
	free(other);
	free(link2);
	free(dir15);
}

/* ---- link.cross_dir ---- */

/* A hard link in another directory is the same inode under both names. */
void cb_link_cross_dir(const struct cb_ops *o)
{
	ino_t a;

	o->mkdir("d1", 0755);
	o->mkdir("d2", 0755);
	o->mkdir("d2/sub", 0755);
	cb_put_str(o, "d1/f", "cross");
	cb_rc0(o, "link.cross_dir.rc", o->link("d1/f", "d2/sub/g"));
	a = cb_ino(o, "d1/f");
	cb_ok(o, "link.cross_dir.same_ino", a && cb_ino(o, "d2/sub/g") == a,
	      "%llu vs %llu", (unsigned long long)cb_ino(o, "d2/sub/g"),
	      (unsigned long long)a);
	cb_eq(o, "link.cross_dir.nlink_2", nlink_of(o, "d2/sub/g"), 2);
	cb_put_str(o, "d2/sub/g", "changed");
	cb_ok(o, "link.cross_dir.contents_shared",
	      cb_get_str_is(o, "d1/f", "changed"),
	      "d1/f does not show the write through d2/sub/g");
	cb_rc0(o, "link.cross_dir.rename_dir", o->rename("d2", "d3"));
	cb_ok(o, "link.cross_dir.after_rename.same_ino",
	      a && cb_ino(o, "d3/sub/g") == a, "inode %llu",
	      (unsigned long long)cb_ino(o, "d3/sub/g"));
	cb_rc0(o, "link.cross_dir.unlink_first", o->unlink("d1/f"));
	cb_eq(o, "link.cross_dir.nlink_back_1", nlink_of(o, "d3/sub/g"), 1);
	cb_ok(o, "link.cross_dir.survivor_contents",
	      cb_get_str_is(o, "d3/sub/g", "changed"), "differ");
	cb_rc0(o, "link.cross_dir.link_back", o->link("d3/sub/g", "d1/f2"));
	cb_eq(o, "link.cross_dir.link_back.nlink_2", nlink_of(o, "d1/f2"), 2);
}

/* ---- rename.dir_open_below ---- */

/* Renaming a directory moves what is open below it, names and all. */
void cb_rename_dir_open_below(const struct cb_ops *o)
{
	struct stat before = { 0 }, after = { 0 }, st;
	void *f = NULL, *d = NULL, *g;
	char buf[16] = { 0 };
	int ret;

	o->mkdir("top", 0755);
	o->mkdir("top/mid", 0755);
	cb_put_str(o, "top/mid/f", "abc");
	ret = o->open("top/mid/f", O_RDWR, 0, &f);
	if (!ret)
		ret = o->opendir("top/mid", &d);
	if (ret) {
		cb_rc0(o, "rename.dir_open_below.open", ret);
		goto out;
	}
	o->fstat(f, &before);
	cb_rc0(o, "rename.dir_open_below.rc", o->rename("top", "top2"));
	cb_rc0(o, "rename.dir_open_below.write", o->pwrite(f, "XY", 2, 3));
	cb_rc0(o, "rename.dir_open_below.fstat", o->fstat(f, &after));
	cb_eq(o, "rename.dir_open_below.same_ino", after.st_ino, before.st_ino);
	cb_eq(o, "rename.dir_open_below.size", after.st_size, 5);
	cb_ok(o, "rename.dir_open_below.new_name_sees_write",
	      cb_get_str_is(o, "top2/mid/f", "abcXY"), "differ");
	cb_err(o, "rename.dir_open_below.old_name_gone",
	       o->lstat("top/mid/f", &st), ENOENT);
	/* calls relative to the open directory follow it too */
	ret = o->openat(d, "g", O_CREAT | O_WRONLY, 0644, &g);
	if (!ret)
		o->close(g);
	cb_rc0(o, "rename.dir_open_below.openat_new", ret);
	cb_rc0(o, "rename.dir_open_below.g_under_new_name",
	       o->lstat("top2/mid/g", &st));
	cb_rc0(o, "rename.dir_open_below.renameat_in_dir",
	       o->renameat(d, "g", d, "h"));
	cb_rc0(o, "rename.dir_open_below.h_there", o->lstat("top2/mid/h", &st));
	cb_eq(o, "rename.dir_open_below.read_back",
	      o->pread(f, buf, sizeof(buf) - 1, 0), 5);
out:
	if (d)
		o->closedir(d);
	if (f)
		o->close(f);
}
