// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The dir and readdir areas of the shared body (cbody.h): mkdir, rmdir
 * and unlink, directory link counts and times, readdir.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cbody.h"

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

#define NENT 2000

static void dir_mkdir(const struct cb_ops *o)
{
	char name[300];
	struct stat sb = { 0 }, hsb = { 0 };
	nlink_t before = cb_nlink(o, ".");

	cb_eq(o, "dir.mkdir.rc", o->mkdir("d", 0777), 0);
	cb_ok(o, "dir.mkdir.is_dir",
	      !o->stat("d", &sb) && S_ISDIR(sb.st_mode) &&
		      cb_host_exists(o, "d"),
	      "mode 0%o", sb.st_mode);
	if (o->flags & CB_UMASK) {
		cb_mode(o, "dir.mkdir.mode_umask_022", sb.st_mode & 07777, 0755);
	} else {
		/* No umask in the API: 0777 arrives as is. */
		if (o->host_lstat)
			o->host_lstat("d", &hsb);
		cb_ok(o, "dir.mkdir.mode_0777_exact",
		      (sb.st_mode & 07777) == 0777 &&
			      (!o->host_lstat || (hsb.st_mode & 07777) == 0777),
		      "mode 0%o host 0%o", sb.st_mode & 07777,
		      hsb.st_mode & 07777);
		o->chmod("d", 0755);
	}
	cb_eq(o, "dir.mkdir.nlink_2", sb.st_nlink, 2);
	cb_eq(o, "dir.mkdir.parent_nlink_inc", cb_nlink(o, "."), before + 1);
	cb_err(o, "dir.mkdir.exists_EEXIST", o->mkdir("d", 0755), EEXIST);
	cb_put_str(o, "f", "x");
	cb_err(o, "dir.mkdir.over_file_EEXIST", o->mkdir("f", 0755), EEXIST);
	o->symlink("nowhere", "dl");
	cb_err(o, "dir.mkdir.over_dangling_symlink_EEXIST",
	       o->mkdir("dl", 0755), EEXIST);
	cb_err(o, "dir.mkdir.missing_parent_ENOENT", o->mkdir("no/d", 0755),
	       ENOENT);
	cb_err(o, "dir.mkdir.parent_is_file_ENOTDIR", o->mkdir("f/d", 0755),
	       ENOTDIR);
	memset(name, 'm', 256);
	name[256] = 0;
	cb_err(o, "dir.mkdir.name256_ENAMETOOLONG", o->mkdir(name, 0755),
	       ENAMETOOLONG);
	o->mkdir("d/sub", 0755);
	cb_eq(o, "dir.mkdir.child_bumps_nlink", cb_nlink(o, "d"), 3);
	cb_eq(o, "dir.mkdir.file_does_not_bump_nlink",
	      cb_put_str(o, "d/file", "") ?: (long long)cb_nlink(o, "d"), 3);
	cb_eq(o, "dir.dotdot_is_parent", cb_ino(o, "d/sub/.."), cb_ino(o, "d"));
}

static void dir_rmdir(const struct cb_ops *o)
{
	nlink_t before = cb_nlink(o, ".");
	struct stat sb;
	int ret;

	cb_err(o, "dir.rmdir.nonempty_ENOTEMPTY", o->rmdir("d"), ENOTEMPTY);
	cb_err(o, "dir.rmdir.file_ENOTDIR", o->rmdir("f"), ENOTDIR);
	cb_err(o, "dir.rmdir.missing_ENOENT", o->rmdir("nope"), ENOENT);
	cb_err(o, "dir.rmdir.dot_EINVAL", o->rmdir("d/sub/."), EINVAL);
	cb_err(o, "dir.rmdir.symlink_ENOTDIR", o->rmdir("dl"), ENOTDIR);
	cb_err(o, "dir.unlink.dir_EISDIR", o->unlink("d"), EISDIR);
	cb_err(o, "dir.unlink.missing_ENOENT", o->unlink("nope"), ENOENT);
	ret = o->unlink("d/file");
	cb_ok(o, "dir.unlink.file_rc", !ret && cb_host_absent(o, "d/file"),
	      "rc %d, host %s", ret,
	      cb_host_absent(o, "d/file") ? "gone" : "still there");
	ret = o->rmdir("d/sub");
	cb_ok(o, "dir.rmdir.rc", !ret && cb_host_absent(o, "d/sub"),
	      "rc %d, host %s", ret,
	      cb_host_absent(o, "d/sub") ? "gone" : "still there");
	cb_eq(o, "dir.rmdir.parent_nlink_dec", cb_nlink(o, "d"), 2);
	cb_err(o, "dir.rmdir.gone_ENOENT", o->lstat("d/sub", &sb), ENOENT);
	o->rmdir("d");
	cb_eq(o, "dir.rmdir.top_nlink_back", cb_nlink(o, "."), before - 1);
}

static bool mtime_moved(const struct cb_ops *o, const char *dir)
{
	struct stat sb = { 0 };

	return !o->stat(dir, &sb) && sb.st_mtime > 1000000;
}

static void set_old_times(const struct cb_ops *o, const char *p)
{
	const struct timespec ts[2] = { { 1000000, 0 }, { 1000000, 0 } };

	o->utimens(p, ts);
}

/* Every change of a directory's entries moves its mtime. */
static void dir_times(const struct cb_ops *o)
{
	o->mkdir("t", 0755);
	set_old_times(o, "t");
	cb_put_str(o, "t/new", "");
	cb_ok(o, "dir.mtime.on_create", mtime_moved(o, "t"), "unchanged");
	set_old_times(o, "t");
	o->unlink("t/new");
	cb_ok(o, "dir.mtime.on_unlink", mtime_moved(o, "t"), "unchanged");
	set_old_times(o, "t");
	o->mkdir("t/sub", 0755);
	cb_ok(o, "dir.mtime.on_mkdir", mtime_moved(o, "t"), "unchanged");
	cb_put_str(o, "t/f", "");
	set_old_times(o, "t");
	o->rename("t/f", "t/g");
	cb_ok(o, "dir.mtime.on_rename", mtime_moved(o, "t"), "unchanged");
}

static void dir_setgid(const struct cb_ops *o)
{
	struct stat sb = { 0 };

	o->mkdir("sg", 0755);
	o->lchown("sg", 0, 4242);
	o->chmod("sg", 02775);
	cb_put_str(o, "sg/f", "");
	cb_ok(o, "dir.setgid.file_inherits_gid",
	      !o->stat("sg/f", &sb) && sb.st_gid == 4242, "gid %u", sb.st_gid);
	o->mkdir("sg/d", 0755);
	cb_ok(o, "dir.setgid.subdir_inherits_gid_and_bit",
	      !o->stat("sg/d", &sb) && sb.st_gid == 4242 &&
		      (sb.st_mode & S_ISGID),
	      "gid %u mode 0%o", sb.st_gid, sb.st_mode);
}

/* A working directory: only where the suite has one (system calls). */
static void dir_cwd(const struct cb_ops *o)
{
	char a[4096] = "", b[4096] = "";

	o->mkdir("cw", 0755);
	o->getcwd(a, sizeof(a));
	cb_ok(o, "dir.chdir.getcwd_inside",
	      !o->chdir("cw") && o->getcwd(b, sizeof(b)) && strlen(b) > 3 &&
		      !strcmp(b + strlen(b) - 3, "/cw"),
	      "cwd %s", b);
	cb_ok(o, "dir.chdir.dotdot_back",
	      !o->chdir("..") && o->getcwd(b, sizeof(b)) && !strcmp(a, b),
	      "cwd %s", b);
	cb_err(o, "dir.chdir.file_ENOTDIR", o->chdir("f"), ENOTDIR);
}

static void dir_open(const struct cb_ops *o)
{
	void *d;
	int ret;

	if (o->chdir)
		dir_cwd(o);
	ret = o->diropen("f", &d);
	cb_err(o, "dir.opendir.file_ENOTDIR", ret, ENOTDIR);
	if (!ret)
		o->dirclose(d);
	if (o->flags & CB_LIBVDAX) {
		ret = o->diropen("nope", &d);
		cb_err(o, "dir.opendir.missing_ENOENT", ret, ENOENT);
		if (!ret)
			o->dirclose(d);
	}
}

void cb_area_dir(const struct cb_ops *o)
{
	cb_dir_pathmax(o);
	dir_mkdir(o);
	dir_rmdir(o);
	dir_times(o);
	dir_setgid(o);
	dir_open(o);
}

/* ---- readdir ---- */

struct seen {
	unsigned char count[NENT];
	int dot, dotdot, other, bad_type, files, err;
};

/* Reads @d to its end; the tally in @s, a read error in s->err. */
static void scan(const struct cb_ops *o, void *d, struct seen *s)
{
	struct cb_dirent de;
	char *end;
	long i;
	int rc;

	memset(s, 0, sizeof(*s));
	while ((rc = o->dirread(d, &de)) > 0) {
		if (!strcmp(de.name, ".")) {
			s->dot++;
			s->bad_type += de.type != DT_DIR;
			continue;
		}
		if (!strcmp(de.name, "..")) {
			s->dotdot++;
			s->bad_type += de.type != DT_DIR;
			continue;
		}
		i = strtol(de.name + 1, &end, 10);
		if (de.name[0] != 'e' || *end || i < 0 || i >= NENT) {
			s->other++;
			continue;
		}
		s->files++;
		if (s->count[i] < 255)
			s->count[i]++;
		s->bad_type += de.type != DT_REG;
	}
	s->err = rc;
}

static int make_many(const struct cb_ops *o)
{
	char name[32];
	int i, made = 0;
	void *f;

	o->mkdir("many", 0755);
	for (i = 0; i < NENT; i++) {
		snprintf(name, sizeof(name), "many/e%d", i);
		if (!o->open(name, O_CREAT | O_WRONLY, 0644, &f)) {
			made++;
			o->close(f);
		}
	}
	return made;
}

/* Names in @p on the host but "." and ".."; -1 if it cannot be read. */
static int host_count(const struct cb_ops *o, const char *p)
{
	return o->host_count ? o->host_count(p) : NENT;
}

static void readdir_many(const struct cb_ops *o)
{
	static struct seen s;
	int i, once = 0, ret;
	void *d;

	cb_ok(o, "readdir.many.create_2000",
	      make_many(o) == NENT && host_count(o, "many") == NENT,
	      "host has %d", host_count(o, "many"));
	ret = o->diropen("many", &d);
	if (!ret)
		scan(o, d, &s);
	cb_ok(o, "readdir.many.opendir", !ret && !s.err, "errno %s",
	      o->errname(ret ? -ret : -s.err));
	if (ret)
		return;
	for (i = 0; i < NENT; i++)
		once += s.count[i] == 1;
	cb_eq(o, "readdir.many.all_seen_once", once, NENT);
	cb_eq(o, "readdir.many.entry_count", s.files, NENT);
	cb_eq(o, "readdir.many.no_strangers", s.other, 0);
	cb_ok(o, "readdir.many.dot_and_dotdot", s.dot == 1 && s.dotdot == 1,
	      ". %d .. %d", s.dot, s.dotdot);
	cb_eq(o, "readdir.many.d_type", s.bad_type, 0);
	if (o->dirrewind) {
		o->dirrewind(d);
		scan(o, d, &s);
		cb_eq(o, "readdir.many.rewind_same_count", s.files, NENT);
		o->dirclose(d);
		return;
	}
	/* no rewinddir: a second stream must list the same */
	o->dirclose(d);
	if (!o->diropen("many", &d)) {
		scan(o, d, &s);
		o->dirclose(d);
	} else {
		s.files = -1;
	}
	cb_eq(o, "readdir.many.reopen_same_count", s.files, NENT);
}

/* telldir/seekdir: only where the suite has them (system calls). */
static void readdir_seek(const struct cb_ops *o)
{
	char want[256] = "";
	struct cb_dirent de;
	long pos = -1;
	void *d = NULL;
	int i;

	if (o->diropen("many", &d))
		d = NULL;
	for (i = 0; d && i < 10 && o->dirread(d, &de) > 0; i++) {
		if (i == 5) {
			pos = o->dirtell(d);
			snprintf(want, sizeof(want), "%s",
				 o->dirread(d, &de) > 0 ? de.name : "");
		}
	}
	if (d && pos >= 0) {
		o->dirseek(d, pos);
		cb_str(o, "readdir.telldir_seekdir_same_entry",
		       o->dirread(d, &de) > 0 ? de.name : NULL, want);
		o->dirrewind(d);
		cb_ok(o, "readdir.rewinddir_restarts", o->dirread(d, &de) > 0,
		      "no entry");
	} else {
		cb_ok(o, "readdir.telldir_seekdir_same_entry", false, "no dir");
		cb_ok(o, "readdir.rewinddir_restarts", false, "no dir");
	}
	if (d)
		o->dirclose(d);
}

/* Unlink every entry (and some not yet seen) while iterating. */
static void readdir_unlink_during(const struct cb_ops *o)
{
	struct cb_dirent de;
	char path[300];
	int n = 0, rounds = 0, ret;
	void *d = NULL;

	if (o->diropen("many", &d))
		d = NULL;
	while (d && o->dirread(d, &de) > 0 && rounds++ < 3 * NENT) {
		if (de.name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "many/%s", de.name);
		o->unlink(path);
		n++;
		if (n % 7 == 0) {
			snprintf(path, sizeof(path), "many/e%d",
				 (n * 13) % NENT);
			o->unlink(path);
		}
	}
	cb_ok(o, "readdir.unlink_during.terminates",
	      d && rounds < 3 * NENT && n <= NENT, "rounds %d n %d", rounds, n);
	if (d)
		o->dirclose(d);
	/* Anything the iteration missed (allowed by POSIX) goes now. */
	if (o->diropen("many", &d))
		d = NULL;
	while (d && o->dirread(d, &de) > 0) {
		snprintf(path, sizeof(path), "many/%s", de.name);
		if (de.name[0] != '.')
			o->unlink(path);
	}
	if (d)
		o->dirclose(d);
	ret = o->rmdir("many");
	cb_ok(o, "readdir.unlink_during.rmdir_after",
	      !ret && cb_host_absent(o, "many"), "rc %d, host %s", ret,
	      cb_host_absent(o, "many") ? "gone" : "still there");
}

/* d_type of @name in @dir; 255 if not listed */
static unsigned char dtype_of(const struct cb_ops *o, const char *dir,
			      const char *name)
{
	struct cb_dirent de;
	unsigned char t = 255;
	void *d;

	if (o->diropen(dir, &d))
		return t;
	while (o->dirread(d, &de) > 0)
		if (!strcmp(de.name, name))
			t = de.type;
	o->dirclose(d);
	return t;
}

static void readdir_types(const struct cb_ops *o)
{
	struct cb_dirent de;
	struct stat hsb = { 0 };
	ino_t ino = 0;
	int n = 0;
	void *d;

	o->mkdir("ty", 0755);
	o->mkdir("ty/dir", 0755);
	cb_put_str(o, "ty/reg", "");
	o->symlink("reg", "ty/lnk");
	o->mknod("ty/fifo", S_IFIFO | 0644, 0);
	cb_eq(o, "readdir.d_type.dir", dtype_of(o, "ty", "dir"), DT_DIR);
	cb_eq(o, "readdir.d_type.reg", dtype_of(o, "ty", "reg"), DT_REG);
	cb_eq(o, "readdir.d_type.lnk", dtype_of(o, "ty", "lnk"), DT_LNK);
	cb_eq(o, "readdir.d_type.fifo", dtype_of(o, "ty", "fifo"), DT_FIFO);
	if (!o->diropen("ty", &d)) {
		while (o->dirread(d, &de) > 0)
			if (!strcmp(de.name, "reg"))
				ino = de.ino;
		o->dirclose(d);
	}
	cb_eq(o, "readdir.d_ino_matches_stat", ino, cb_ino(o, "ty/reg"));
	if (o->host_lstat) {
		o->host_lstat("ty/reg", &hsb);
		cb_eq(o, "readdir.d_ino_is_host_ino", ino, hsb.st_ino);
	}

	o->mkdir("empty", 0755);
	if (!o->diropen("empty", &d)) {
		while (o->dirread(d, &de) > 0)
			n++;
		o->dirclose(d);
	}
	cb_eq(o, "readdir.empty_only_dots", n, 2);
}

void cb_area_readdir(const struct cb_ops *o)
{
	readdir_types(o);
	readdir_many(o);
	if (o->dirtell)
		readdir_seek(o);
	readdir_unlink_during(o);
}
