// SPDX-License-Identifier: GPL-2.0-or-later
/* vdax_rename(), with and without renameat2(2) flags. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cf.h"
#include "cbody.h"

static int ren(const char *a, const char *b, unsigned int flags)
{
	return vdax_rename(cf_vd, P(a), P(b), flags);
}

static bool gone(const char *rel)
{
	struct stat sb;

	return vdax_lstat(cf_vd, P(rel), &sb) == -ENOENT && !host_exists(rel);
}

static int gone_rc(const char *rel)
{
	struct stat sb;
	int rc = vdax_lstat(cf_vd, P(rel), &sb);

	return rc == -ENOENT && host_exists(rel) ? 0 : rc;
}

static void rename_files(void)
{
	struct vdax_file *f;
	struct stat sb = {0};
	ino_t src;

	cf_put_str("a", "AAA");
	src = cf_ino("a");
	cf_eq("rename.file.rc", ren("a", "b", 0), 0);
	cf_err("rename.file.old_gone_ENOENT", gone_rc("a"), ENOENT);
	cf_eq("rename.file.ino_kept", cf_ino("b"), src);
	cf_ok("rename.file.contents_kept",
	      cf_get_str_is("b", "AAA") && host_get_str_is("b", "AAA"),
	      "differ");

	cf_put_str("victim", "VVV");
	f = cf_open("victim", O_RDONLY, 0, NULL);
	cf_eq("rename.over_file.rc", ren("b", "victim", 0), 0);
	cf_ok("rename.over_file.contents_replaced",
	      cf_get_str_is("victim", "AAA") &&
		      host_get_str_is("victim", "AAA"),
	      "differ");
	cf_eq("rename.over_file.new_ino_is_source", cf_ino("victim"), src);
	cf_ok("rename.over_file.old_inode_unlinked",
	      f && !vdax_fstat(f, &sb) && sb.st_nlink == 0, "nlink %lu",
	      (unsigned long)sb.st_nlink);
	cf_err("rename.over_file.source_gone_ENOENT", gone_rc("b"), ENOENT);
	vdax_release(f);

	cf_eq("rename.self.file_rc", ren("victim", "victim", 0), 0);
	cf_ok("rename.self.file_kept", cf_get_str_is("victim", "AAA"), "gone");
	vdax_link(cf_vd, P("victim"), P("hl"));
	cf_eq("rename.hardlinks.rc", ren("victim", "hl", 0), 0);
	cf_ok("rename.hardlinks.both_remain",
	      cf_ino("victim") && cf_ino("hl") && host_exists("victim") &&
		      host_exists("hl"),
	      "one name vanished");

	f = cf_open("victim", O_RDWR, 0, NULL);
	ren("victim", "moved", 0);
	if (f)
		vdax_pwrite(f, "Z", 1, 0);
	cf_ok("rename.open_fd_follows",
	      cf_get_str_is("moved", "ZAA") && host_get_str_is("moved", "ZAA"),
	      "differ");
	vdax_release(f);
}

static void rename_dirs(void)
{
	cf_put_str("file", "f");
	vdax_mkdir(cf_vd, P("src"), 0755);
	cf_put_str("src/inner", "in");
	vdax_mkdir(cf_vd, P("empty"), 0755);
	cf_eq("rename.dir_over_empty_dir.rc", ren("src", "empty", 0), 0);
	cf_ok("rename.dir_over_empty_dir.contents_moved",
	      cf_get_str_is("empty/inner", "in") &&
		      host_get_str_is("empty/inner", "in"),
	      "inner missing");

	vdax_mkdir(cf_vd, P("src2"), 0755);
	/* POSIX allows both; ext4/tmpfs say ENOTEMPTY, xfs EEXIST. */
	cf_err2("rename.dir_over_nonempty_ENOTEMPTY_or_EEXIST",
		ren("src2", "empty", 0), ENOTEMPTY, EEXIST);
	cf_err("rename.file_over_dir_EISDIR", ren("file", "src2", 0), EISDIR);
	cf_err("rename.dir_over_file_ENOTDIR", ren("src2", "file", 0), ENOTDIR);
	cf_eq("rename.self.dir_rc", ren("src2", "src2", 0), 0);
	vdax_mkdir(cf_vd, P("src2/sub"), 0755);
	cf_err("rename.into_own_subdir_EINVAL", ren("src2", "src2/sub/x", 0),
	       EINVAL);
	cf_err("rename.into_self_EINVAL", ren("src2", "src2/x", 0), EINVAL);
	cf_err("rename.missing_source_ENOENT", ren("nope", "x", 0), ENOENT);
	cf_err("rename.missing_dest_parent_ENOENT", ren("file", "no/x", 0),
	       ENOENT);
	cf_err("rename.dest_parent_is_file_ENOTDIR", ren("src2", "file/x", 0),
	       ENOTDIR);
	cf_err("rename.source_trailing_slash_file_ENOTDIR",
	       ren("file/", "x", 0), ENOTDIR);
}

static void rename_cross_dir(void)
{
	char name[300];

	vdax_mkdir(cf_vd, P("p1"), 0755);
	vdax_mkdir(cf_vd, P("p2"), 0755);
	vdax_mkdir(cf_vd, P("p1/child"), 0755);
	cf_put_str("p1/f", "f");
	cf_eq("rename.cross_dir.file_rc", ren("p1/f", "p2/f", 0), 0);
	cf_ok("rename.cross_dir.file_moved",
	      cf_get_str_is("p2/f", "f") && gone("p1/f") &&
		      host_get_str_is("p2/f", "f"),
	      "not moved");
	cf_eq("rename.cross_dir.dir_rc", ren("p1/child", "p2/child", 0), 0);
	cf_ok("rename.cross_dir.parent_nlinks",
	      cf_nlink("p1") == 2 && cf_nlink("p2") == 3, "p1 %lu p2 %lu",
	      (unsigned long)cf_nlink("p1"), (unsigned long)cf_nlink("p2"));
	cf_eq("rename.cross_dir.dotdot_updated", cf_ino("p2/child/.."),
	      cf_ino("p2"));
	memset(name, 'r', 256);
	name[256] = 0;
	cf_err("rename.name256_ENAMETOOLONG", ren("p2/f", name, 0),
	       ENAMETOOLONG);
}

static void rename_flags(void)
{
	struct stat sb;

	cf_put_str("x", "xx");
	cf_put_str("y", "yy");
	cf_err("rename.noreplace_EEXIST", ren("x", "y", RENAME_NOREPLACE),
	       EEXIST);
	cf_ok("rename.noreplace.target_kept",
	      cf_get_str_is("y", "yy") && host_get_str_is("y", "yy"), "lost");
	cf_eq("rename.noreplace.free_name_rc",
	      ren("x", "x2", RENAME_NOREPLACE), 0);
	cf_eq("rename.exchange.rc", ren("x2", "y", RENAME_EXCHANGE), 0);
	cf_ok("rename.exchange.contents_swapped",
	      cf_get_str_is("x2", "yy") && cf_get_str_is("y", "xx") &&
		      host_get_str_is("x2", "yy") && host_get_str_is("y", "xx"),
	      "not swapped");
	cf_err("rename.exchange.missing_ENOENT",
	       ren("y", "none", RENAME_EXCHANGE), ENOENT);
	vdax_mkdir(cf_vd, P("xd"), 0755);
	cf_eq("rename.exchange.file_dir_rc", ren("y", "xd", RENAME_EXCHANGE),
	      0);
	cf_ok("rename.exchange.file_dir_types",
	      cf_get_str_is("xd", "xx") && !vdax_stat(cf_vd, P("y/."), &sb) &&
		      S_ISDIR(sb.st_mode),
	      "types not swapped");
	cf_err("rename.flags.noreplace_exchange_EINVAL",
	       ren("x2", "xd", RENAME_NOREPLACE | RENAME_EXCHANGE), EINVAL);
}

void cf_area_rename(void)
{
	cf_body(cb_rename_dir_open_below);
	rename_files();
	rename_dirs();
	rename_cross_dir();
	rename_flags();
}
