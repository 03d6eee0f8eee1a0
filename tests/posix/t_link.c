// SPDX-License-Identifier: GPL-2.0-or-later
/* Hard links, unlink of open files, symlinks and readlink. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "px.h"
#include "cbody.h"

static nlink_t nl(const char *p)
{
	struct stat sb = {0};

	return lstat(p, &sb) ? 0 : sb.st_nlink;
}

static void link_basic(void)
{
	px_put_str("a", "one");
	px_eq("link.file.nlink_1", nl("a"), 1);
	px_eq("link.rc", link("a", "b"), 0);
	px_eq("link.nlink_2", nl("a"), 2);
	px_eq("link.same_ino", px_ino("b"), px_ino("a"));
	px_put_str("b", "two");
	px_ok("link.contents_shared", px_get_str_is("a", "two"), "differ");
	link("a", "c");
	px_eq("link.nlink_3", nl("b"), 3);
	unlink("c");
	px_eq("link.unlink_one.nlink_2", nl("a"), 2);
	unlink("a");
	px_ok("link.unlink_one.other_survives",
	      nl("b") == 1 && px_get_str_is("b", "two"), "nlink %lu",
	      (unsigned long)nl("b"));
	px_err("link.existing_EEXIST", link("b", "b2") ?: link("b", "b2"),
	       EEXIST);
	mkdir("d", 0755);
	px_err("link.dir_EPERM", link("d", "d2"), EPERM);
	px_err("link.missing_ENOENT", link("nope", "x"), ENOENT);
	px_err("link.into_missing_dir_ENOENT", link("b", "no/x"), ENOENT);
	px_eq("link.into_subdir_rc", link("b", "d/b"), 0);
	px_ok("link.into_subdir_same_ino", px_ino("d/b") == px_ino("b"),
	      "differs");
}

static void link_symlinks(void)
{
	symlink("b", "sl");
	px_eq("link.linkat_follow.rc",
	      linkat(AT_FDCWD, "sl", AT_FDCWD, "viafollow", AT_SYMLINK_FOLLOW),
	      0);
	px_eq("link.linkat_follow.target_ino", px_ino("viafollow"),
	      px_ino("b"));
	px_eq("link.linkat_nofollow.rc",
	      linkat(AT_FDCWD, "sl", AT_FDCWD, "vianofollow", 0), 0);
	px_eq("link.linkat_nofollow.link_ino", px_ino("vianofollow"),
	      px_ino("sl"));
}

static void link_unlink_open(void)
{
	struct stat sb = {0};
	char buf[16] = {0};
	int fd;

	px_put_str("open", "data");
	fd = open("open", O_RDWR);
	px_eq("link.unlink_open.rc", unlink("open"), 0);
	px_err("link.unlink_open.name_gone_ENOENT", access("open", F_OK),
	       ENOENT);
	px_ok("link.unlink_open.fd_readable",
	      pread(fd, buf, 16, 0) == 4 && !memcmp(buf, "data", 4),
	      "read \"%.4s\"", buf);
	px_eq("link.unlink_open.fd_writable", pwrite(fd, "MORE", 4, 4), 4);
	px_ok("link.unlink_open.reads_back",
	      pread(fd, buf, 16, 0) == 8 && !memcmp(buf, "dataMORE", 8),
	      "read \"%.8s\"", buf);
	px_ok("link.unlink_open.fstat_nlink0",
	      !fstat(fd, &sb) && sb.st_nlink == 0, "nlink %lu",
	      (unsigned long)sb.st_nlink);
	px_eq("link.unlink_open.fstat_size", sb.st_size, 8);
	px_eq("link.unlink_open.ftruncate", ftruncate(fd, 2), 0);
	if (fd >= 0)
		close(fd);
}

void px_area_link(void)
{
	cb_link_cross_dir(&px_cb_ops);
	link_basic();
	link_symlinks();
	link_unlink_open();
}

/* ---- symlink ---- */

static bool readlink_is(const char *path, const char *want)
{
	char buf[2048];
	ssize_t n = readlink(path, buf, sizeof(buf));

	return n == (ssize_t)strlen(want) && !memcmp(buf, want, n);
}

static void symlink_targets(void)
{
	static const char rel[] = "some/rel/../path//x";
	static const char abs[] = "/absolute/target/that/is/missing";
	char longt[1001];
	struct stat sb = {0};

	px_eq("symlink.rc", symlink(rel, "rel"), 0);
	px_ok("symlink.readlink_verbatim", readlink_is("rel", rel), "differs");
	px_eq("symlink.readlink_len", readlink("rel", longt, sizeof(longt)),
	      (long long)strlen(rel));
	px_ok("symlink.lstat_size",
	      !lstat("rel", &sb) && sb.st_size == (off_t)strlen(rel),
	      "size %lld", (long long)sb.st_size);
	px_mode("symlink.lstat_mode", sb.st_mode, S_IFLNK | 0777);
	symlink(abs, "abs");
	px_ok("symlink.absolute_verbatim", readlink_is("abs", abs), "differs");
	px_err("symlink.dangling_stat_ENOENT", stat("abs", &sb), ENOENT);
	px_ok("symlink.dangling_lstat_lnk",
	      !lstat("abs", &sb) && S_ISLNK(sb.st_mode), "mode 0%o",
	      sb.st_mode);
	memset(longt, 'L', 1000);
	longt[1000] = 0;
	for (int i = 100; i < 1000; i += 100)
		longt[i] = '/';
	symlink(longt, "long");
	px_ok("symlink.long_target_verbatim", readlink_is("long", longt),
	      "differs");
	px_ok("symlink.readlink_small_buf_truncates",
	      readlink("rel", longt, 4) == 4 && !memcmp(longt, rel, 4),
	      "wrong");
}

static void symlink_follow(void)
{
	struct stat sb = {0}, lsb = {0};
	int fd;

	px_put_str("target", "T");
	mkdir("dir", 0755);
	symlink("target", "tl");
	symlink("dir", "dl");
	px_ok("symlink.stat_follows",
	      !stat("tl", &sb) && S_ISREG(sb.st_mode) &&
		      sb.st_ino == px_ino("target"),
	      "mode 0%o", sb.st_mode);
	px_ok("symlink.lstat_is_link",
	      !lstat("tl", &lsb) && S_ISLNK(lsb.st_mode) &&
		      lsb.st_ino != sb.st_ino,
	      "mode 0%o", lsb.st_mode);
	px_ok("symlink.open_reads_target", px_get_str_is("tl", "T"), "differs");
	px_ok("symlink.to_dir_trailing_slash",
	      !lstat("dl/", &sb) && S_ISDIR(sb.st_mode), "mode 0%o",
	      sb.st_mode);
	px_eq("symlink.create_through_dir_link", px_put_str("dl/new", "n"), 0);
	px_ok("symlink.created_in_target_dir", !access("dir/new", F_OK),
	      "missing");
	symlink("made_by_open", "dang");
	fd = open("dang", O_CREAT | O_WRONLY, 0644);
	px_ok("symlink.creat_through_dangling",
	      fd >= 0 && !access("made_by_open", F_OK), "errno %s",
	      px_errname(errno));
	if (fd >= 0)
		close(fd);
	px_eq("symlink.unlink_removes_link", unlink("tl"), 0);
	px_ok("symlink.unlink_keeps_target", px_get_str_is("target", "T"),
	      "target gone");
}

static void symlink_errors(void)
{
	char buf[64];
	int fd;

	px_err("symlink.readlink_nonlink_EINVAL",
	       readlink("target", buf, sizeof(buf)), EINVAL);
	px_err("symlink.readlink_missing_ENOENT",
	       readlink("nope", buf, sizeof(buf)), ENOENT);
	px_err("symlink.existing_EEXIST", symlink("x", "target"), EEXIST);
	px_err("symlink.existing_link_EEXIST", symlink("x", "dl"), EEXIST);
	px_err("symlink.empty_target_ENOENT", symlink("", "empty"), ENOENT);
	symlink("loopb", "loopa");
	symlink("loopa", "loopb");
	fd = open("loopa", O_RDONLY);
	px_err("symlink.loop_open_ELOOP", fd, ELOOP);
	if (fd >= 0)
		close(fd);
	symlink("self", "self");
	px_err("symlink.self_loop_stat_ELOOP", stat("self", (struct stat[1]){}),
	       ELOOP);
	px_err("symlink.loop_in_path_ELOOP", access("loopa/x", F_OK), ELOOP);
	px_err("symlink.missing_dir_ENOENT", symlink("x", "no/l"), ENOENT);
}

void px_area_symlink(void)
{
	symlink_targets();
	symlink_follow();
	symlink_errors();
}
