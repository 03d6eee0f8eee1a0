// SPDX-License-Identifier: GPL-2.0-or-later
/* Hard links, unlink of open files, symlinks and readlink. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cf.h"
#include "cbody.h"

static nlink_t nl(const char *rel)
{
	struct stat sb = {0};

	return vdax_lstat(cf_vd, P(rel), &sb) ? 0 : sb.st_nlink;
}

static int lnk(const char *a, const char *b)
{
	return vdax_link(cf_vd, P(a), P(b));
}

static void link_basic(void)
{
	struct stat sb;

	cf_put_str("a", "one");
	cf_eq("link.file.nlink_1", nl("a"), 1);
	cf_eq("link.rc", lnk("a", "b"), 0);
	cf_eq("link.nlink_2", nl("a"), 2);
	{
		struct stat hsb = {0};

		lstat(H("a"), &hsb);
		cf_eq("link.host_nlink_2", hsb.st_nlink, 2);
	}
	cf_ok("link.same_ino",
	      cf_ino("b") == cf_ino("a") && host_ino("b") == host_ino("a") &&
		      host_ino("a"),
	      "differs");
	cf_put_str("b", "two");
	cf_ok("link.contents_shared",
	      cf_get_str_is("a", "two") && host_get_str_is("a", "two"),
	      "differ");
	lnk("a", "c");
	cf_eq("link.nlink_3", nl("b"), 3);
	vdax_unlink(cf_vd, P("c"));
	cf_eq("link.unlink_one.nlink_2", nl("a"), 2);
	vdax_unlink(cf_vd, P("a"));
	cf_ok("link.unlink_one.other_survives",
	      nl("b") == 1 && cf_get_str_is("b", "two"), "nlink %lu",
	      (unsigned long)nl("b"));
	cf_err("link.existing_EEXIST", lnk("b", "b2") ?: lnk("b", "b2"),
	       EEXIST);
	vdax_mkdir(cf_vd, P("d"), 0755);
	cf_err("link.dir_EPERM", lnk("d", "d2"), EPERM);
	cf_err("link.missing_ENOENT", lnk("nope", "x"), ENOENT);
	cf_err("link.into_missing_dir_ENOENT", lnk("b", "no/x"), ENOENT);
	cf_eq("link.into_subdir_rc", lnk("b", "d/b"), 0);
	cf_ok("link.into_subdir_same_ino",
	      cf_ino("d/b") == cf_ino("b") && !vdax_lstat(cf_vd, P("d/b"), &sb),
	      "differs");
}

/* link(2) does not follow a final symlink (linkat without the flag). */
static void link_symlinks(void)
{
	vdax_symlink(cf_vd, "b", P("sl"));
	cf_eq("link.linkat_nofollow.rc", lnk("sl", "vianofollow"), 0);
	cf_ok("link.linkat_nofollow.link_ino",
	      cf_ino("vianofollow") == cf_ino("sl") && cf_ino("sl"),
	      "differs");
}

static void link_unlink_open(void)
{
	struct stat sb = {0};
	char buf[16] = {0};
	struct vdax_file *f;

	cf_put_str("open", "data");
	f = cf_open("open", O_RDWR, 0, NULL);
	if (!f) {
		cf_fail_errno("link.unlink_open.rc", ENOENT);
		return;
	}
	cf_eq("link.unlink_open.rc", vdax_unlink(cf_vd, P("open")), 0);
	cf_ok("link.unlink_open.name_gone_ENOENT",
	      vdax_lstat(cf_vd, P("open"), &sb) == -ENOENT &&
		      !host_exists("open"),
	      "still there");
	cf_ok("link.unlink_open.fd_readable",
	      vdax_pread(f, buf, 16, 0) == 4 && !memcmp(buf, "data", 4),
	      "read \"%.4s\"", buf);
	cf_eq("link.unlink_open.fd_writable", vdax_pwrite(f, "MORE", 4, 4), 4);
	cf_ok("link.unlink_open.reads_back",
	      vdax_pread(f, buf, 16, 0) == 8 && !memcmp(buf, "dataMORE", 8),
	      "read \"%.8s\"", buf);
	cf_ok("link.unlink_open.fstat_nlink0",
	      !vdax_fstat(f, &sb) && sb.st_nlink == 0, "nlink %lu",
	      (unsigned long)sb.st_nlink);
	cf_eq("link.unlink_open.fstat_size", sb.st_size, 8);
	cf_eq("link.unlink_open.ftruncate", vdax_ftruncate(f, 2), 0);
	vdax_release(f);
}

void cf_area_link(void)
{
	cf_body(cb_link_cross_dir);
	link_basic();
	link_symlinks();
	link_unlink_open();
}

/* ---- symlink ---- */

static ssize_t rdl(const char *rel, char *buf, size_t size)
{
	return vdax_readlink(cf_vd, P(rel), buf, size);
}

static bool readlink_is(const char *rel, const char *want)
{
	char buf[2048];
	ssize_t n = rdl(rel, buf, sizeof(buf));
	ssize_t hn = readlink(H(rel), buf + 1024, 1024);

	return n == (ssize_t)strlen(want) && !memcmp(buf, want, n) &&
	       hn == n && !memcmp(buf + 1024, want, hn);
}

static void symlink_targets(void)
{
	static const char rel[] = "some/rel/../path//x";
	static const char abs[] = "/absolute/target/that/is/missing";
	char longt[1001];
	struct stat sb = {0};

	cf_eq("symlink.rc", vdax_symlink(cf_vd, rel, P("rel")), 0);
	cf_ok("symlink.readlink_verbatim", readlink_is("rel", rel), "differs");
	cf_eq("symlink.readlink_len", rdl("rel", longt, sizeof(longt)),
	      (long long)strlen(rel));
	cf_ok("symlink.lstat_size",
	      !vdax_lstat(cf_vd, P("rel"), &sb) &&
		      sb.st_size == (off_t)strlen(rel),
	      "size %lld", (long long)sb.st_size);
	cf_mode("symlink.lstat_mode", sb.st_mode, S_IFLNK | 0777);
	vdax_symlink(cf_vd, abs, P("abs"));
	cf_ok("symlink.absolute_verbatim", readlink_is("abs", abs), "differs");
	cf_err("symlink.dangling_stat_ENOENT", vdax_stat(cf_vd, P("abs"), &sb),
	       ENOENT);
	cf_ok("symlink.dangling_lstat_lnk",
	      !vdax_lstat(cf_vd, P("abs"), &sb) && S_ISLNK(sb.st_mode),
	      "mode 0%o", sb.st_mode);
	memset(longt, 'L', 1000);
	longt[1000] = 0;
	for (int i = 100; i < 1000; i += 100)
		longt[i] = '/';
	vdax_symlink(cf_vd, longt, P("long"));
	cf_ok("symlink.long_target_verbatim", readlink_is("long", longt),
	      "differs");
	cf_ok("symlink.readlink_small_buf_truncates",
	      rdl("rel", longt, 4) == 4 && !memcmp(longt, rel, 4), "wrong");
}

static void symlink_follow(void)
{
	struct stat sb = {0}, lsb = {0};
	struct vdax_file *f;

	cf_put_str("target", "T");
	vdax_mkdir(cf_vd, P("dir"), 0755);
	vdax_symlink(cf_vd, "target", P("tl"));
	vdax_symlink(cf_vd, "dir", P("dl"));
	cf_ok("symlink.stat_follows",
	      !vdax_stat(cf_vd, P("tl"), &sb) && S_ISREG(sb.st_mode) &&
		      sb.st_ino == cf_ino("target"),
	      "mode 0%o", sb.st_mode);
	cf_ok("symlink.lstat_is_link",
	      !vdax_lstat(cf_vd, P("tl"), &lsb) && S_ISLNK(lsb.st_mode) &&
		      lsb.st_ino != sb.st_ino,
	      "mode 0%o", lsb.st_mode);
	cf_ok("symlink.open_reads_target", cf_get_str_is("tl", "T"), "differs");
	cf_ok("symlink.to_dir_trailing_slash",
	      !vdax_lstat(cf_vd, P("dl/"), &sb) && S_ISDIR(sb.st_mode),
	      "mode 0%o", sb.st_mode);
	cf_eq("symlink.create_through_dir_link", cf_put_str("dl/new", "n"), 0);
	cf_ok("symlink.created_in_target_dir",
	      cf_ino("dir/new") && host_get_str_is("dir/new", "n"), "missing");
	vdax_symlink(cf_vd, "made_by_open", P("dang"));
	f = cf_open("dang", O_CREAT | O_WRONLY, 0644, NULL);
	cf_ok("symlink.creat_through_dangling",
	      f && cf_ino("made_by_open") && host_exists("made_by_open"),
	      "%s", f ? "not created" : "open failed");
	vdax_release(f);
	cf_eq("symlink.unlink_removes_link", vdax_unlink(cf_vd, P("tl")), 0);
	cf_ok("symlink.unlink_keeps_target",
	      cf_get_str_is("target", "T") && !host_exists("tl"),
	      "target gone");
}

static void symlink_errors(void)
{
	struct stat sb;
	char buf[64];
	struct vdax_file *f;
	int rc;

	cf_err("symlink.readlink_nonlink_EINVAL",
	       rdl("target", buf, sizeof(buf)), EINVAL);
	cf_err("symlink.readlink_missing_ENOENT", rdl("nope", buf, sizeof(buf)),
	       ENOENT);
	cf_err("symlink.existing_EEXIST", vdax_symlink(cf_vd, "x", P("target")),
	       EEXIST);
	cf_err("symlink.existing_link_EEXIST",
	       vdax_symlink(cf_vd, "x", P("dl")), EEXIST);
	cf_err("symlink.empty_target_ENOENT",
	       vdax_symlink(cf_vd, "", P("empty")), ENOENT);
	vdax_symlink(cf_vd, "loopb", P("loopa"));
	vdax_symlink(cf_vd, "loopa", P("loopb"));
	f = cf_open("loopa", O_RDONLY, 0, &rc);
	cf_err("symlink.loop_open_ELOOP", rc, ELOOP);
	vdax_release(f);
	vdax_symlink(cf_vd, "self", P("self"));
	cf_err("symlink.self_loop_stat_ELOOP", vdax_stat(cf_vd, P("self"), &sb),
	       ELOOP);
	cf_err("symlink.loop_in_path_ELOOP", vdax_stat(cf_vd, P("loopa/x"), &sb),
	       ELOOP);
	cf_err("symlink.missing_dir_ENOENT", vdax_symlink(cf_vd, "x", P("no/l")),
	       ENOENT);
}

void cf_area_symlink(void)
{
	symlink_targets();
	symlink_follow();
	symlink_errors();
}
