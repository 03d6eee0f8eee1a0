// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The link and symlink areas of the shared body (cbody.h): hard links,
 * unlink of open files, symlinks and readlink.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "cbody.h"

static long long nlink_of(const struct cb_ops *o, const char *p)
{
	struct stat st;

	return o->lstat(p, &st) ? -1 : (long long)st.st_nlink;
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

/* lstat's link count; 0 on error */
static nlink_t nl(const struct cb_ops *o, const char *p)
{
	struct stat sb = { 0 };

	return o->lstat(p, &sb) ? 0 : sb.st_nlink;
}

static void link_basic(const struct cb_ops *o)
{
	struct stat sb;

	cb_put_str(o, "a", "one");
	cb_eq(o, "link.file.nlink_1", nl(o, "a"), 1);
	cb_eq(o, "link.rc", o->link("a", "b"), 0);
	cb_eq(o, "link.nlink_2", nl(o, "a"), 2);
	if (o->host_lstat) {
		struct stat hsb = { 0 };

		o->host_lstat("a", &hsb);
		cb_eq(o, "link.host_nlink_2", hsb.st_nlink, 2);
	}
	cb_ok(o, "link.same_ino",
	      cb_ino(o, "b") == cb_ino(o, "a") && cb_host_same_ino(o, "a", "b"),
	      "differs");
	cb_put_str(o, "b", "two");
	cb_ok(o, "link.contents_shared",
	      cb_get_str_is(o, "a", "two") && cb_host_str_is(o, "a", "two"),
	      "differ");
	o->link("a", "c");
	cb_eq(o, "link.nlink_3", nl(o, "b"), 3);
	o->unlink("c");
	cb_eq(o, "link.unlink_one.nlink_2", nl(o, "a"), 2);
	o->unlink("a");
	cb_ok(o, "link.unlink_one.other_survives",
	      nl(o, "b") == 1 && cb_get_str_is(o, "b", "two"), "nlink %lu",
	      (unsigned long)nl(o, "b"));
	/* the first call may make b2; the second must then refuse */
	cb_err(o, "link.existing_EEXIST",
	       o->link("b", "b2") ?: o->link("b", "b2"), EEXIST);
	o->mkdir("d", 0755);
	cb_err(o, "link.dir_EPERM", o->link("d", "d2"), EPERM);
	cb_err(o, "link.missing_ENOENT", o->link("nope", "x"), ENOENT);
	cb_err(o, "link.into_missing_dir_ENOENT", o->link("b", "no/x"), ENOENT);
	cb_eq(o, "link.into_subdir_rc", o->link("b", "d/b"), 0);
	cb_ok(o, "link.into_subdir_same_ino",
	      cb_ino(o, "d/b") == cb_ino(o, "b") && !o->lstat("d/b", &sb),
	      "differs");
}

static void link_symlinks(const struct cb_ops *o)
{
	o->symlink("b", "sl");
	/* linkat(AT_SYMLINK_FOLLOW): only where the suite has it */
	if (o->link_follow) {
		cb_eq(o, "link.linkat_follow.rc",
		      o->link_follow("sl", "viafollow"), 0);
		cb_eq(o, "link.linkat_follow.target_ino",
		      cb_ino(o, "viafollow"), cb_ino(o, "b"));
	}
	/* link(2) does not follow a final symlink (linkat without the flag) */
	cb_eq(o, "link.linkat_nofollow.rc", o->link("sl", "vianofollow"), 0);
	cb_ok(o, "link.linkat_nofollow.link_ino",
	      cb_ino(o, "vianofollow") == cb_ino(o, "sl") && cb_ino(o, "sl"),
	      "differs");
}

static void link_unlink_open(const struct cb_ops *o)
{
	struct stat sb = { 0 };
	char buf[16] = { 0 };
	void *f;
	int ret;

	cb_put_str(o, "open", "data");
	ret = o->open("open", O_RDWR, 0, &f);
	if (ret) {
		cb_fail_errno(o, "link.unlink_open.rc", -ret);
		return;
	}
	cb_eq(o, "link.unlink_open.rc", o->unlink("open"), 0);
	cb_err(o, "link.unlink_open.name_gone_ENOENT", cb_gone_rc(o, "open"),
	       ENOENT);
	/* the inode lives on while it is open */
	cb_ok(o, "link.unlink_open.fd_readable",
	      o->pread(f, buf, 16, 0) == 4 && !memcmp(buf, "data", 4),
	      "read \"%.4s\"", buf);
	cb_eq(o, "link.unlink_open.fd_writable", o->pwrite(f, "MORE", 4, 4), 4);
	cb_ok(o, "link.unlink_open.reads_back",
	      o->pread(f, buf, 16, 0) == 8 && !memcmp(buf, "dataMORE", 8),
	      "read \"%.8s\"", buf);
	cb_ok(o, "link.unlink_open.fstat_nlink0",
	      !o->fstat(f, &sb) && sb.st_nlink == 0, "nlink %lu",
	      (unsigned long)sb.st_nlink);
	cb_eq(o, "link.unlink_open.fstat_size", sb.st_size, 8);
	cb_eq(o, "link.unlink_open.ftruncate", o->ftruncate(f, 2), 0);
	o->close(f);
}

void cb_area_link(const struct cb_ops *o)
{
	cb_link_cross_dir(o);
	link_basic(o);
	link_symlinks(o);
	link_unlink_open(o);
}

/* ---- symlink ---- */

/* readlink gives @want verbatim, and so does the host where it is seen */
static bool readlink_is(const struct cb_ops *o, const char *p,
			const char *want)
{
	char buf[2048];
	ssize_t n = o->readlink(p, buf, sizeof(buf)), hn;

	if (n != (ssize_t)strlen(want) || memcmp(buf, want, n))
		return false;
	if (!o->host_readlink)
		return true;
	hn = o->host_readlink(p, buf + 1024, 1024);
	return hn == n && !memcmp(buf + 1024, want, hn);
}

static void symlink_targets(const struct cb_ops *o)
{
	static const char rel[] = "some/rel/../path//x";
	static const char abs[] = "/absolute/target/that/is/missing";
	char longt[1001];
	struct stat sb = { 0 };

	cb_eq(o, "symlink.rc", o->symlink(rel, "rel"), 0);
	cb_ok(o, "symlink.readlink_verbatim", readlink_is(o, "rel", rel),
	      "differs");
	cb_eq(o, "symlink.readlink_len", o->readlink("rel", longt, sizeof(longt)),
	      (long long)strlen(rel));
	cb_ok(o, "symlink.lstat_size",
	      !o->lstat("rel", &sb) && sb.st_size == (off_t)strlen(rel),
	      "size %lld", (long long)sb.st_size);
	cb_mode(o, "symlink.lstat_mode", sb.st_mode, S_IFLNK | 0777);
	o->symlink(abs, "abs");
	cb_ok(o, "symlink.absolute_verbatim", readlink_is(o, "abs", abs),
	      "differs");
	cb_err(o, "symlink.dangling_stat_ENOENT", o->stat("abs", &sb), ENOENT);
	cb_ok(o, "symlink.dangling_lstat_lnk",
	      !o->lstat("abs", &sb) && S_ISLNK(sb.st_mode), "mode 0%o",
	      sb.st_mode);
	/* 1000 bytes, slashes every 100: longer than any one name */
	memset(longt, 'L', 1000);
	longt[1000] = 0;
	for (int i = 100; i < 1000; i += 100)
		longt[i] = '/';
	o->symlink(longt, "long");
	cb_ok(o, "symlink.long_target_verbatim", readlink_is(o, "long", longt),
	      "differs");
	cb_ok(o, "symlink.readlink_small_buf_truncates",
	      o->readlink("rel", longt, 4) == 4 && !memcmp(longt, rel, 4),
	      "wrong");
}

static void symlink_follow(const struct cb_ops *o)
{
	struct stat sb = { 0 }, lsb = { 0 };
	void *f;
	int ret;

	cb_put_str(o, "target", "T");
	o->mkdir("dir", 0755);
	o->symlink("target", "tl");
	o->symlink("dir", "dl");
	cb_ok(o, "symlink.stat_follows",
	      !o->stat("tl", &sb) && S_ISREG(sb.st_mode) &&
		      sb.st_ino == cb_ino(o, "target"),
	      "mode 0%o", sb.st_mode);
	cb_ok(o, "symlink.lstat_is_link",
	      !o->lstat("tl", &lsb) && S_ISLNK(lsb.st_mode) &&
		      lsb.st_ino != sb.st_ino,
	      "mode 0%o", lsb.st_mode);
	cb_ok(o, "symlink.open_reads_target", cb_get_str_is(o, "tl", "T"),
	      "differs");
	cb_ok(o, "symlink.to_dir_trailing_slash",
	      !o->lstat("dl/", &sb) && S_ISDIR(sb.st_mode), "mode 0%o",
	      sb.st_mode);
	cb_eq(o, "symlink.create_through_dir_link",
	      cb_put_str(o, "dl/new", "n"), 0);
	cb_ok(o, "symlink.created_in_target_dir",
	      cb_ino(o, "dir/new") && cb_host_str_is(o, "dir/new", "n"),
	      "missing");
	/* O_CREAT through a dangling symlink creates its target */
	o->symlink("made_by_open", "dang");
	ret = o->open("dang", O_CREAT | O_WRONLY, 0644, &f);
	cb_ok(o, "symlink.creat_through_dangling",
	      !ret && cb_ino(o, "made_by_open") &&
		      cb_host_exists(o, "made_by_open"),
	      "errno %s", ret ? o->errname(-ret) : "none, not created");
	if (!ret)
		o->close(f);
	cb_eq(o, "symlink.unlink_removes_link", o->unlink("tl"), 0);
	cb_ok(o, "symlink.unlink_keeps_target",
	      cb_get_str_is(o, "target", "T") && cb_host_absent(o, "tl"),
	      "target gone");
}

static void symlink_errors(const struct cb_ops *o)
{
	struct stat sb;
	char buf[64];
	void *f;
	int ret;

	cb_err(o, "symlink.readlink_nonlink_EINVAL",
	       o->readlink("target", buf, sizeof(buf)), EINVAL);
	cb_err(o, "symlink.readlink_missing_ENOENT",
	       o->readlink("nope", buf, sizeof(buf)), ENOENT);
	cb_err(o, "symlink.existing_EEXIST", o->symlink("x", "target"), EEXIST);
	cb_err(o, "symlink.existing_link_EEXIST", o->symlink("x", "dl"), EEXIST);
	cb_err(o, "symlink.empty_target_ENOENT", o->symlink("", "empty"),
	       ENOENT);
	o->symlink("loopb", "loopa");
	o->symlink("loopa", "loopb");
	ret = o->open("loopa", O_RDONLY, 0, &f);
	cb_err(o, "symlink.loop_open_ELOOP", ret, ELOOP);
	if (!ret)
		o->close(f);
	o->symlink("self", "self");
	cb_err(o, "symlink.self_loop_stat_ELOOP", o->stat("self", &sb), ELOOP);
	cb_err(o, "symlink.loop_in_path_ELOOP", o->stat("loopa/x", &sb), ELOOP);
	cb_err(o, "symlink.missing_dir_ENOENT", o->symlink("x", "no/l"), ENOENT);
}

void cb_area_symlink(const struct cb_ops *o)
{
	symlink_targets(o);
	symlink_follow(o);
	symlink_errors(o);
}
