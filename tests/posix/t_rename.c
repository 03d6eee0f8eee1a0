// SPDX-License-Identifier: GPL-2.0-or-later
/* rename(2) and renameat2(2). */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "px.h"
#include "cbody.h"

static int rename2(const char *a, const char *b, unsigned int flags)
{
	return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, flags);
}

static void rename_files(void)
{
	struct stat sb = {0};
	ino_t src;
	int fd;

	px_put_str("a", "AAA");
	src = px_ino("a");
	px_eq("rename.file.rc", rename("a", "b"), 0);
	px_err("rename.file.old_gone_ENOENT", access("a", F_OK), ENOENT);
	px_eq("rename.file.ino_kept", px_ino("b"), src);
	px_ok("rename.file.contents_kept", px_get_str_is("b", "AAA"), "differ");

	px_put_str("victim", "VVV");
	fd = open("victim", O_RDONLY);
	px_eq("rename.over_file.rc", rename("b", "victim"), 0);
	px_ok("rename.over_file.contents_replaced",
	      px_get_str_is("victim", "AAA"), "differ");
	px_eq("rename.over_file.new_ino_is_source", px_ino("victim"), src);
	px_ok("rename.over_file.old_inode_unlinked",
	      fd >= 0 && !fstat(fd, &sb) && sb.st_nlink == 0, "nlink %lu",
	      (unsigned long)sb.st_nlink);
	px_err("rename.over_file.source_gone_ENOENT", access("b", F_OK),
	       ENOENT);
	if (fd >= 0)
		close(fd);

	px_eq("rename.self.file_rc", rename("victim", "victim"), 0);
	px_ok("rename.self.file_kept", px_get_str_is("victim", "AAA"), "gone");
	link("victim", "hl");
	px_eq("rename.hardlinks.rc", rename("victim", "hl"), 0);
	px_ok("rename.hardlinks.both_remain",
	      !access("victim", F_OK) && !access("hl", F_OK),
	      "one name vanished");

	fd = open("victim", O_RDWR);
	rename("victim", "moved");
	pwrite(fd, "Z", 1, 0);
	px_ok("rename.open_fd_follows", px_get_str_is("moved", "ZAA"),
	      "differ");
	if (fd >= 0)
		close(fd);
}

static void rename_dirs(void)
{
	px_put_str("file", "f");
	mkdir("src", 0755);
	px_put_str("src/inner", "in");
	mkdir("empty", 0755);
	px_eq("rename.dir_over_empty_dir.rc", rename("src", "empty"), 0);
	px_ok("rename.dir_over_empty_dir.contents_moved",
	      px_get_str_is("empty/inner", "in"), "inner missing");

	mkdir("src2", 0755);
	/* POSIX allows both; ext4/tmpfs say ENOTEMPTY, xfs EEXIST. */
	px_err2("rename.dir_over_nonempty_ENOTEMPTY_or_EEXIST",
		rename("src2", "empty"), ENOTEMPTY, EEXIST);
	px_err("rename.file_over_dir_EISDIR", rename("file", "src2"), EISDIR);
	px_err("rename.dir_over_file_ENOTDIR", rename("src2", "file"), ENOTDIR);
	px_eq("rename.self.dir_rc", rename("src2", "src2"), 0);
	mkdir("src2/sub", 0755);
	px_err("rename.into_own_subdir_EINVAL", rename("src2", "src2/sub/x"),
	       EINVAL);
	px_err("rename.into_self_EINVAL", rename("src2", "src2/x"), EINVAL);
	px_err("rename.missing_source_ENOENT", rename("nope", "x"), ENOENT);
	px_err("rename.missing_dest_parent_ENOENT", rename("file", "no/x"),
	       ENOENT);
	px_err("rename.dest_parent_is_file_ENOTDIR", rename("src2", "file/x"),
	       ENOTDIR);
	px_err("rename.source_trailing_slash_file_ENOTDIR",
	       rename("file/", "x"), ENOTDIR);
}

static nlink_t nl(const char *p)
{
	struct stat sb = {0};

	return stat(p, &sb) ? 0 : sb.st_nlink;
}

static void rename_cross_dir(void)
{
	char name[300];

	mkdir("p1", 0755);
	mkdir("p2", 0755);
	mkdir("p1/child", 0755);
	px_put_str("p1/f", "f");
	px_eq("rename.cross_dir.file_rc", rename("p1/f", "p2/f"), 0);
	px_ok("rename.cross_dir.file_moved",
	      px_get_str_is("p2/f", "f") && access("p1/f", F_OK), "not moved");
	px_eq("rename.cross_dir.dir_rc", rename("p1/child", "p2/child"), 0);
	px_ok("rename.cross_dir.parent_nlinks", nl("p1") == 2 && nl("p2") == 3,
	      "p1 %lu p2 %lu", (unsigned long)nl("p1"),
	      (unsigned long)nl("p2"));
	px_eq("rename.cross_dir.dotdot_updated", px_ino("p2/child/.."),
	      px_ino("p2"));
	memset(name, 'r', 256);
	name[256] = 0;
	px_err("rename.name256_ENAMETOOLONG", rename("p2/f", name),
	       ENAMETOOLONG);
}

static void rename_flags(void)
{
	px_put_str("x", "xx");
	px_put_str("y", "yy");
	px_err("rename.noreplace_EEXIST", rename2("x", "y", RENAME_NOREPLACE),
	       EEXIST);
	px_ok("rename.noreplace.target_kept", px_get_str_is("y", "yy"), "lost");
	px_eq("rename.noreplace.free_name_rc",
	      rename2("x", "x2", RENAME_NOREPLACE), 0);
	px_eq("rename.exchange.rc", rename2("x2", "y", RENAME_EXCHANGE), 0);
	px_ok("rename.exchange.contents_swapped",
	      px_get_str_is("x2", "yy") && px_get_str_is("y", "xx"),
	      "not swapped");
	px_err("rename.exchange.missing_ENOENT",
	       rename2("y", "none", RENAME_EXCHANGE), ENOENT);
	mkdir("xd", 0755);
	px_eq("rename.exchange.file_dir_rc",
	      rename2("y", "xd", RENAME_EXCHANGE), 0);
	px_ok("rename.exchange.file_dir_types",
	      px_get_str_is("xd", "xx") && !access("y/.", F_OK),
	      "types not swapped");
	px_err("rename.flags.noreplace_exchange_EINVAL",
	       rename2("x2", "xd", RENAME_NOREPLACE | RENAME_EXCHANGE), EINVAL);
}

void px_area_rename(void)
{
	cb_rename_dir_open_below(&px_cb_ops);
	rename_files();
	rename_dirs();
	rename_cross_dir();
	rename_flags();
}
