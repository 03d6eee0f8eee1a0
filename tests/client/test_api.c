// SPDX-License-Identifier: GPL-2.0-or-later
/* libvdax API against a real backend: results, errnos, host-side data. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "vdax/vdax.h"
#include "backend.h"

static struct tb_backend be;
static char hp[1024];

#define H(rel) tb_host(&be, rel, hp, sizeof(hp))

static int host_read(const char *rel, char *buf, size_t size)
{
	int fd = open(H(rel), O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size);
	close(fd);
	return (int)n;
}

static void test_files(struct vdax *vd)
{
	struct vdax_file *f, *g;
	struct stat st, hst;
	char buf[256];
	ssize_t n;

	is_int(vdax_open(vd, "/nope", O_RDONLY, 0, &f), -ENOENT,
	       "open missing -> ENOENT");
	is_int(vdax_create(vd, "/a.txt", O_RDWR | O_EXCL, 0640, &f), 0,
	       "create a.txt");
	is_int(vdax_write(f, "hello world", 11), 11, "write 11 bytes");
	is_int(host_read("a.txt", buf, sizeof(buf)), 11, "host sees 11 bytes");
	ok(!memcmp(buf, "hello world", 11), "host data matches");
	is_int(vdax_lseek(f, 0, SEEK_CUR), 11, "position advanced");
	is_int(vdax_lseek(f, 6, SEEK_SET), 6, "SEEK_SET");
	n = vdax_read(f, buf, sizeof(buf));
	is_int(n, 5, "read rest");
	ok(n == 5 && !memcmp(buf, "world", 5), "read data");
	is_int(vdax_read(f, buf, sizeof(buf)), 0, "read at EOF = 0");
	is_int(vdax_pwrite(f, "HELLO", 5, 0), 5, "pwrite");
	is_int(vdax_lseek(f, 0, SEEK_CUR), 11, "pwrite keeps position");
	is_int(vdax_pread(f, buf, 5, 0), 5, "pread");
	ok(!memcmp(buf, "HELLO", 5), "pread data");
	is_int(vdax_lseek(f, -1, SEEK_END), 10, "SEEK_END");
	is_int(vdax_lseek(f, -100, SEEK_SET), -EINVAL, "negative seek");
	is_int(vdax_fstat(f, &st), 0, "fstat");
	is_int(st.st_size, 11, "fstat size");
	is_int(st.st_mode, S_IFREG | 0640, "fstat mode");
	stat(H("a.txt"), &hst);
	is_int(st.st_ino, hst.st_ino, "ino matches host");
	is_int(vdax_fsync(f, 0), 0, "fsync");
	is_int(vdax_fsync(f, 1), 0, "fdatasync");
	is_int(vdax_ftruncate(f, 4), 0, "ftruncate");
	stat(H("a.txt"), &hst);
	is_int(hst.st_size, 4, "host size after ftruncate");
	is_int(vdax_fallocate(f, 0, 0, 8192), 0, "fallocate");
	stat(H("a.txt"), &hst);
	is_int(hst.st_size, 8192, "host size after fallocate");
	is_int(vdax_fallocate(f, FALLOC_FL_KEEP_SIZE, 8192, 4096), 0,
	       "fallocate keep size");
	stat(H("a.txt"), &hst);
	is_int(hst.st_size, 8192, "KEEP_SIZE keeps size");
	is_int(vdax_release(f), 0, "release");

	is_int(vdax_create(vd, "/a.txt", O_RDWR | O_EXCL, 0640, &f), -EEXIST,
	       "O_EXCL on existing");
	is_int(vdax_open(vd, "/a.txt", O_WRONLY | O_TRUNC, 0, &f), 0,
	       "open O_TRUNC");
	stat(H("a.txt"), &hst);
	is_int(hst.st_size, 0, "O_TRUNC truncated");
	is_int(vdax_read(f, buf, 1), -EBADF, "read on O_WRONLY -> EBADF");
	vdax_release(f);
	is_int(vdax_open(vd, "/a.txt", O_RDONLY, 0, &f), 0, "open rdonly");
	is_int(vdax_write(f, "x", 1), -EBADF, "write on O_RDONLY -> EBADF");
	is_int(vdax_ftruncate(f, 0), -EINVAL, "ftruncate O_RDONLY");
	vdax_release(f);

	/* append */
	is_int(vdax_open(vd, "/a.txt", O_WRONLY | O_APPEND, 0, &f), 0,
	       "open append");
	is_int(vdax_write(f, "abc", 3), 3, "append 1");
	is_int(vdax_write(f, "def", 3), 3, "append 2");
	vdax_release(f);
	is_int(host_read("a.txt", buf, sizeof(buf)), 6, "appended size");
	ok(!memcmp(buf, "abcdef", 6), "appended data");

	/* truncate by path */
	is_int(vdax_truncate(vd, "a.txt", 2), 0, "truncate path");
	stat(H("a.txt"), &hst);
	is_int(hst.st_size, 2, "host size after truncate");
	is_int(vdax_truncate(vd, "/", 0), -EISDIR, "truncate dir -> EISDIR");

	/* SEEK_DATA / HOLE */
	is_int(vdax_open(vd, "/sparse", O_RDWR | O_CREAT, 0600, &f), 0,
	       "create sparse");
	is_int(vdax_pwrite(f, "x", 1, 1 << 20), 1, "write at 1 MiB");
	n = vdax_lseek(f, 0, SEEK_DATA);
	ok(n >= 0 && n <= (1 << 20), "SEEK_DATA -> %zd", n);
	n = vdax_lseek(f, 0, SEEK_HOLE);
	ok(n >= 0 && n <= (1 << 20) + 1, "SEEK_HOLE -> %zd", n);
	is_int(vdax_lseek(f, 2 << 20, SEEK_DATA), -ENXIO,
	       "SEEK_DATA past EOF -> ENXIO");

	/* copy_file_range */
	is_int(vdax_open(vd, "/copy", O_RDWR | O_CREAT, 0600, &g), 0,
	       "create copy");
	{
		off_t oi = (1 << 20), oo = 5;

		is_int(vdax_copy_file_range(f, &oi, g, &oo, 1, 0), 1,
		       "copy_file_range 1 byte");
		is_int(oo, 6, "copy_file_range advances off_out");
	}
	is_int(host_read("copy", buf, sizeof(buf)), 6, "copy size on host");
	ok(buf[5] == 'x', "copied byte");
	vdax_release(g);
	vdax_release(f);

	/* large, split and parallel */
	{
		size_t big = 5 * vdax_max_write(vd) + 12345;
		char *w = malloc(big), *r = malloc(big);
		int fd;

		for (size_t i = 0; i < big; i++)
			w[i] = (char)(i * 7 + i / 4096);
		is_int(vdax_open(vd, "/big", O_RDWR | O_CREAT, 0600, &f), 0,
		       "create big");
		is_int(vdax_pwrite(f, w, big, 100), (ssize_t)big,
		       "big pwrite (%zu)", big);
		memset(r, 0, big);
		fd = open(H("big"), O_RDONLY);
		is_int(pread(fd, r, big, 100), (ssize_t)big, "host read big");
		close(fd);
		ok(!memcmp(w, r, big), "big data on host");
		memset(r, 0, big);
		is_int(vdax_pread(f, r, big, 100), (ssize_t)big, "big pread");
		ok(!memcmp(w, r, big), "big data read back");
		is_int(vdax_pread(f, r, big, 200), (ssize_t)big - 100,
		       "short read at end");
		vdax_release(f);
		free(w);
		free(r);
	}
}

/* A cache=auto backend (vdaxd, virtiofsd) grants 1 s for both. */
static bool ttl_is_1s(const struct vdax_ttl *t, bool entry)
{
	return t->attr_sec == 1 && t->attr_nsec == 0 &&
	       (!entry || (t->entry_sec == 1 && t->entry_nsec == 0));
}

static bool same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_mode == b->st_mode &&
	       a->st_nlink == b->st_nlink && a->st_uid == b->st_uid &&
	       a->st_gid == b->st_gid && a->st_size == b->st_size &&
	       a->st_blocks == b->st_blocks &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* /many (700 files): readdir-plus = readdir, with lstat's attributes. */
static void test_readdir_plus(struct vdax *vd)
{
	static unsigned char seen[700], seen_plus[700];
	int dots = 0, dots_valid = 0, valid = 0, same = 0, ttl_ok = 0;
	int other = 0, ret, i;
	struct vdax_dirent_plus p;
	struct vdax_dirent e;
	struct vdax_ttl t;
	struct vdax_file *f;
	struct vdax_dir *d;
	struct stat st;
	char path[300];

	memset(seen, 0, sizeof(seen));
	memset(seen_plus, 0, sizeof(seen_plus));
	is_int(vdax_opendir(vd, "/many", &d), 0, "opendir many (plain)");
	while ((ret = vdax_readdir(d, &e)) > 0)
		if (sscanf(e.name, "entry-with-a-long-name-%d", &i) == 1 &&
		    i >= 0 && i < 700)
			seen[i]++;
	vdax_closedir(d);
	is_int(vdax_opendir(vd, "/many", &d), 0, "opendir many (plus)");
	while ((ret = vdax_readdir_plus(d, &p)) > 0) {
		if (!strcmp(p.name, ".") || !strcmp(p.name, "..")) {
			dots++;
			dots_valid += p.attr_valid;
			continue;
		}
		if (sscanf(p.name, "entry-with-a-long-name-%d", &i) != 1 ||
		    i < 0 || i >= 700) {
			other++;
			continue;
		}
		seen_plus[i]++;
		if (!p.attr_valid)
			continue;
		valid++;
		snprintf(path, sizeof(path), "/many/%s", p.name);
		if (vdax_lstat(vd, path, &st) == 0 && same_stat(&st, &p.st) &&
		    p.ino == (uint64_t)st.st_ino && p.type == DT_REG)
			same++;
		if (ttl_is_1s(&p.ttl, true))
			ttl_ok++;
	}
	is_int(ret, 0, "readdir_plus ends with 0");
	vdax_closedir(d);
	ok(!memcmp(seen, seen_plus, sizeof(seen)) && !other,
	   "readdir_plus names = readdir names (%d others)", other);
	for (i = 0; i < 700 && seen[i] == 1; i++)
		;
	is_int(i, 700, "readdir saw each of the 700 names once");
	is_int(dots, 2, "readdir_plus: . and ..");
	is_int(dots_valid, 0, ". and .. carry no attributes");
	is_int(valid, 700, "readdir_plus: every file has attributes");
	is_int(same, 700, "readdir_plus attributes = vdax_lstat");
	is_int(ttl_ok, 700, "readdir_plus entry/attr ttl = 1 s (cache=auto)");
	is_int(vdax_readdir_plus(NULL, &p), -EINVAL, "readdir_plus NULL");

	memset(&t, 0xff, sizeof(t));
	is_int(vdax_lstat_ttl(vd, "/many/entry-with-a-long-name-0007", &st,
			      &t), 0, "lstat_ttl");
	ok(ttl_is_1s(&t, true), "lstat_ttl: entry %llu.%09u attr %llu.%09u",
	   (unsigned long long)t.entry_sec, t.entry_nsec,
	   (unsigned long long)t.attr_sec, t.attr_nsec);
	memset(&t, 0xff, sizeof(t));
	is_int(vdax_stat_ttl(vd, "/", &st, &t), 0, "stat_ttl of the root");
	ok(ttl_is_1s(&t, false) && t.entry_sec == 0 && t.entry_nsec == 0,
	   "root: attr 1 s, no entry (%llu.%09u)",
	   (unsigned long long)t.entry_sec, t.entry_nsec);
	is_int(vdax_stat_ttl(vd, "/many/nope", &st, &t), -ENOENT,
	       "stat_ttl missing -> ENOENT");
	is_int(vdax_open(vd, "/many/entry-with-a-long-name-0001", O_RDONLY, 0,
			 &f), 0, "open for fstat_ttl");
	memset(&t, 0xff, sizeof(t));
	is_int(vdax_fstat_ttl(f, &st, &t), 0, "fstat_ttl");
	ok(ttl_is_1s(&t, false), "fstat_ttl: attr %llu.%09u",
	   (unsigned long long)t.attr_sec, t.attr_nsec);
	vdax_release(f);
}

static void test_names(struct vdax *vd)
{
	struct stat st;
	char buf[300], longname[300];
	struct vdax_file *f;
	struct vdax_dir *d;
	struct vdax_dirent e;
	int seen = 0, ret;

	is_int(vdax_mkdir(vd, "/d", 0750), 0, "mkdir");
	is_int(vdax_mkdir(vd, "/d", 0750), -EEXIST, "mkdir again -> EEXIST");
	is_int(lstat(H("d"), &st), 0, "host sees dir");
	is_int(st.st_mode, S_IFDIR | 0750, "dir mode");
	is_int(vdax_mkdir(vd, "/nope/x", 0755), -ENOENT,
	       "mkdir in missing -> ENOENT");
	is_int(vdax_mkdir(vd, "/a.txt/x", 0755), -ENOTDIR,
	       "mkdir under file -> ENOTDIR");
	is_int(vdax_stat(vd, "/a.txt/", &st), -ENOTDIR,
	       "trailing slash on file -> ENOTDIR");
	memset(longname, 'n', 256);
	longname[256] = '\0';
	is_int(vdax_stat(vd, longname, &st), -ENAMETOOLONG,
	       "256-byte name -> ENAMETOOLONG");
	is_int(vdax_create(vd, "/d/f1", O_WRONLY, 0644, &f), 0, "create d/f1");
	vdax_release(f);
	is_int(vdax_stat(vd, "d/../d/./f1", &st), 0, "dot and dotdot");
	is_int(vdax_rmdir(vd, "/d"), -ENOTEMPTY, "rmdir non-empty");
	is_int(vdax_unlink(vd, "/d"), -EISDIR, "unlink dir -> EISDIR");
	is_int(vdax_rmdir(vd, "/d/f1"), -ENOTDIR, "rmdir file -> ENOTDIR");

	/* links */
	is_int(vdax_symlink(vd, "d/f1", "/ln"), 0, "symlink");
	is_int(readlink(H("ln"), buf, sizeof(buf)), 4, "host readlink");
	is_int(vdax_readlink(vd, "/ln", buf, sizeof(buf)), 4, "readlink");
	ok(!memcmp(buf, "d/f1", 4), "readlink data");
	is_int(vdax_readlink(vd, "/d", buf, sizeof(buf)), -EINVAL,
	       "readlink non-link -> EINVAL");
	is_int(vdax_lstat(vd, "/ln", &st), 0, "lstat link");
	ok(S_ISLNK(st.st_mode), "lstat sees a link");
	is_int(vdax_stat(vd, "/ln", &st), 0, "stat follows");
	ok(S_ISREG(st.st_mode), "stat sees the file");
	is_int(vdax_symlink(vd, "/d", "/dl"), 0, "absolute dir symlink");
	is_int(vdax_stat(vd, "/dl/f1", &st), 0, "intermediate link followed");
	is_int(vdax_open(vd, "/ln", O_RDONLY | O_NOFOLLOW, 0, &f), -ELOOP,
	       "O_NOFOLLOW on link -> ELOOP");
	is_int(vdax_symlink(vd, "loop2", "/loop1"), 0, "loop1");
	is_int(vdax_symlink(vd, "loop1", "/loop2"), 0, "loop2");
	is_int(vdax_stat(vd, "/loop1", &st), -ELOOP, "symlink loop -> ELOOP");
	is_int(vdax_link(vd, "/d/f1", "/hard"), 0, "hard link");
	is_int(lstat(H("hard"), &st), 0, "host sees hard link");
	is_int(st.st_nlink, 2, "nlink 2");
	is_int(vdax_stat(vd, "/d/f1", &st), 0, "stat after link");
	is_int(st.st_nlink, 2, "nlink seen through vdax");
	is_int(vdax_link(vd, "/d", "/dlink"), -EPERM, "link dir -> EPERM");

	/* rename */
	is_int(vdax_rename(vd, "/hard", "/d/moved", 0), 0, "rename");
	ok(access(H("d/moved"), F_OK) == 0 && access(H("hard"), F_OK) < 0,
	   "host sees rename");
	is_int(vdax_stat(vd, "/hard", &st), -ENOENT, "old name gone");
	is_int(vdax_rename(vd, "/d/moved", "/d/f1", RENAME_NOREPLACE),
	       -EEXIST, "RENAME_NOREPLACE -> EEXIST");
	is_int(vdax_rename(vd, "/d/moved", "/ln", RENAME_EXCHANGE), 0,
	       "RENAME_EXCHANGE");
	is_int(vdax_lstat(vd, "/d/moved", &st), 0, "exchanged");
	ok(S_ISLNK(st.st_mode), "link now at d/moved");
	is_int(vdax_unlink(vd, "/d/moved"), 0, "unlink");
	is_int(vdax_unlink(vd, "/d/moved"), -ENOENT, "unlink again -> ENOENT");
	ok(access(H("d/moved"), F_OK) < 0, "host sees unlink");

	/* mknod */
	is_int(vdax_mknod(vd, "/fifo", S_IFIFO | 0600, 0), 0, "mknod fifo");
	is_int(lstat(H("fifo"), &st), 0, "host fifo");
	ok(S_ISFIFO(st.st_mode), "is a fifo");

	/* readdir */
	is_int(vdax_opendir(vd, "/d", &d), 0, "opendir");
	while ((ret = vdax_readdir(d, &e)) > 0) {
		if (!strcmp(e.name, "f1")) {
			seen |= 1;
			ok(e.type == DT_REG, "f1 is DT_REG");
			lstat(H("d/f1"), &st);
			is_int(e.ino, st.st_ino, "f1 ino");
		} else if (!strcmp(e.name, ".")) {
			seen |= 2;
		} else if (!strcmp(e.name, "..")) {
			seen |= 4;
		} else {
			seen |= 8;
		}
	}
	is_int(ret, 0, "readdir ends with 0");
	is_int(seen, 7, "saw f1, . and .. only");
	vdax_closedir(d);
	is_int(vdax_opendir(vd, "/a.txt", &d), -ENOTDIR, "opendir file");
	/* many entries: several READDIR batches */
	{
		char path[1400];
		int cnt = 0;

		vdax_mkdir(vd, "/many", 0755);
		for (int i = 0; i < 700; i++) {
			snprintf(path, sizeof(path),
				 "%s/many/entry-with-a-long-name-%04d", be.share,
				 i);
			close(open(path, O_CREAT | O_WRONLY, 0644));
		}
		is_int(vdax_opendir(vd, "/many", &d), 0, "opendir many");
		while (vdax_readdir(d, &e) > 0)
			cnt++;
		vdax_closedir(d);
		is_int(cnt, 702, "700 entries + dots");
		test_readdir_plus(vd);
	}
	is_int(vdax_rmdir(vd, "/d/"), -ENOTEMPTY, "rmdir with slash");
	is_int(vdax_unlink(vd, "/d/f1"), 0, "unlink f1");
	is_int(vdax_rmdir(vd, "/d/"), 0, "rmdir");
	ok(access(H("d"), F_OK) < 0, "host sees rmdir");
}

static void test_attrs(struct vdax *vd)
{
	struct timespec ts[2] = { { 1000000, 5 }, { 2000000, 7 } };
	struct statvfs sv, hsv;
	struct stat st;
	char buf[128];
	ssize_t n;

	is_int(vdax_chmod(vd, "/a.txt", 0604), 0, "chmod");
	lstat(H("a.txt"), &st);
	is_int(st.st_mode & 07777, 0604, "host mode");
	is_int(vdax_stat(vd, "/a.txt", &st), 0, "stat after chmod");
	is_int(st.st_mode & 07777, 0604, "vdax sees mode");
	is_int(vdax_chown(vd, "/a.txt", 1234, 5678), 0, "chown");
	lstat(H("a.txt"), &st);
	ok(st.st_uid == 1234 && st.st_gid == 5678, "host owner");
	is_int(vdax_chown(vd, "/a.txt", (uid_t)-1, 42), 0, "chown gid only");
	lstat(H("a.txt"), &st);
	ok(st.st_uid == 1234 && st.st_gid == 42, "uid kept");
	is_int(vdax_utimens(vd, "/a.txt", ts, 0), 0, "utimens");
	lstat(H("a.txt"), &st);
	ok(st.st_atim.tv_sec == 1000000 && st.st_atim.tv_nsec == 5 &&
		   st.st_mtim.tv_sec == 2000000 && st.st_mtim.tv_nsec == 7,
	   "host times");
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_nsec = UTIME_NOW;
	is_int(vdax_utimens(vd, "/a.txt", ts, 0), 0, "utimens OMIT/NOW");
	lstat(H("a.txt"), &st);
	ok(st.st_atim.tv_sec == 1000000 && st.st_mtim.tv_sec > 2000000,
	   "OMIT kept atime, NOW set mtime");
	is_int(vdax_chmod(vd, "/missing", 0600), -ENOENT, "chmod missing");

	is_int(vdax_statfs(vd, "/", &sv), 0, "statfs");
	statvfs(be.share, &hsv);
	ok(sv.f_blocks == hsv.f_blocks && sv.f_bsize == hsv.f_bsize,
	   "statfs matches host");

	/* xattrs */
	n = vdax_setxattr(vd, "/a.txt", "user.k", "val", 3, 0);
	if (n == -EOPNOTSUPP || n == -ENOTSUP) {
		diag("xattrs not supported by the host fs; skipping those");
		return;
	}
	is_int(n, 0, "setxattr");
	is_int(getxattr(H("a.txt"), "user.k", buf, sizeof(buf)), 3,
	       "host getxattr");
	is_int(vdax_getxattr(vd, "/a.txt", "user.k", NULL, 0), 3,
	       "getxattr size");
	is_int(vdax_getxattr(vd, "/a.txt", "user.k", buf, sizeof(buf)), 3,
	       "getxattr");
	ok(!memcmp(buf, "val", 3), "getxattr data");
	is_int(vdax_getxattr(vd, "/a.txt", "user.k", buf, 1), -ERANGE,
	       "getxattr small -> ERANGE");
	is_int(vdax_getxattr(vd, "/a.txt", "user.none", buf, sizeof(buf)),
	       -ENODATA, "getxattr missing -> ENODATA");
	is_int(vdax_setxattr(vd, "/a.txt", "user.k", "v", 1, XATTR_CREATE),
	       -EEXIST, "XATTR_CREATE on existing");
	n = vdax_listxattr(vd, "/a.txt", buf, sizeof(buf));
	ok(n >= 7 && memmem(buf, n, "user.k", 7), "listxattr (%zd)", n);
	is_int(vdax_listxattr(vd, "/a.txt", NULL, 0), n, "listxattr size");
	is_int(vdax_removexattr(vd, "/a.txt", "user.k"), 0, "removexattr");
	is_int(getxattr(H("a.txt"), "user.k", buf, sizeof(buf)), -1,
	       "host xattr gone");
	is_int(vdax_removexattr(vd, "/a.txt", "user.k"), -ENODATA,
	       "removexattr again");
}

static void test_locks(struct vdax *vd)
{
	struct vdax_file *f, *g;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = 0, .l_len = 10 };
	int fd;

	is_int(vdax_open(vd, "/a.txt", O_RDWR, 0, &f), 0, "open for locks");
	is_int(vdax_open(vd, "/a.txt", O_RDWR, 0, &g), 0, "second handle");
	is_int(vdax_flock(f, LOCK_EX | LOCK_NB), 0, "flock EX");
	is_int(vdax_flock(g, LOCK_EX | LOCK_NB), -EWOULDBLOCK,
	       "flock conflict -> EWOULDBLOCK");
	fd = open(H("a.txt"), O_RDWR);
	is_int(flock(fd, LOCK_EX | LOCK_NB), -1, "host sees the flock");
	is_int(vdax_flock(f, LOCK_UN), 0, "flock UN");
	is_int(vdax_flock(g, LOCK_SH | LOCK_NB), 0, "flock SH after unlock");
	vdax_flock(g, LOCK_UN);

	is_int(vdax_setlk(f, &fl, 0), 0, "setlk WRLCK 0-9");
	/* a POSIX lock conflicts with other processes only: check from host */
	{
		pid_t pid = fork();

		if (pid == 0) {
			struct flock h = { .l_type = F_WRLCK,
					   .l_whence = SEEK_SET,
					   .l_start = 5, .l_len = 1 };

			_exit(fcntl(fd, F_SETLK, &h) == -1 &&
					      (errno == EAGAIN ||
					       errno == EACCES) ?
				      0 :
				      1);
		}
		int status = 0;

		waitpid(pid, &status, 0);
		ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		   "host process sees the POSIX lock");
	}
	{
		struct flock q = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
				   .l_start = 0, .l_len = 0 };

		is_int(vdax_getlk(g, &q), 0, "getlk");
		ok(q.l_type == F_WRLCK && q.l_start == 0 && q.l_len == 10,
		   "getlk reports the other handle's lock (type %d %lld+%lld)",
		   q.l_type, (long long)q.l_start, (long long)q.l_len);
	}
	fl.l_type = F_UNLCK;
	is_int(vdax_setlk(f, &fl, 0), 0, "unlock");
	fl.l_type = 99;
	is_int(vdax_setlk(f, &fl, 0), -EINVAL, "bad lock type -> EINVAL");
	close(fd);
	vdax_release(g);
	vdax_release(f);
	is_int(vdax_syncfs(vd), 0, "syncfs");
}

static void test_options(struct tb_backend *b)
{
	struct vdax_opts o = { .socket_path = b->sock,
			       .options = "bogus=1" };
	struct vdax *vd;

	is_int(vdax_open_session(&o, &vd), -EINVAL, "unknown option -> EINVAL");
	o.options = "timeout=abc";
	is_int(vdax_open_session(&o, &vd), -EINVAL, "bad value -> EINVAL");
	o.options = "dax=sometimes";
	is_int(vdax_open_session(&o, &vd), -EINVAL, "bad dax -> EINVAL");
	o.socket_path = "/nonexistent/socket";
	o.options = NULL;
	is_int(vdax_open_session(&o, &vd), -ENOENT, "missing socket -> ENOENT");
	/* Valid options get as far as the socket (dax_admit's branches set
	 * no value of their own: the parse result must still be 0). */
	o.options = "dax_admit=all";
	is_int(vdax_open_session(&o, &vd), -ENOENT,
	       "dax_admit=all parses (then ENOENT)");
	o.options = "dax_admit=adaptive,dax=never";
	is_int(vdax_open_session(&o, &vd), -ENOENT,
	       "dax_admit=adaptive parses (then ENOENT)");
}

int main(void)
{
	struct vdax_opts o = { 0 };
	struct vdax *vd;
	int ret;

	tb_require();
	tb_init(&be);
	test_options(&be);
	ret = tb_start(&be);
	if (ret) {
		tb_cleanup(&be);
		tap_bail("backend did not start");
	}
	o.socket_path = be.sock;
	o.options = "entries=64,timeout=20000";
	ret = tb_open_session(&o, &vd);
	is_int(ret, 0, "open session");
	if (ret) {
		tb_cleanup(&be);
		return tap_done();
	}
	ok(vdax_proto_minor(vd) >= 12, "negotiated minor %u",
	   vdax_proto_minor(vd));
	test_files(vd);
	test_names(vd);
	test_attrs(vd);
	test_locks(vd);
	vdax_close(vd);
	tb_stop(&be);
	ok(be.pid < 0, "backend exited after close");
	tb_cleanup(&be);
	return tap_done();
}
