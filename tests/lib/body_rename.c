// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The rename area of the shared body (cbody.h): rename(2) and renameat2(2)
 * flags. Where the suite sees the host side (vdax-conform), names and
 * contents are checked there too.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/stat.h>

#include "cbody.h"

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

static void rename_files(const struct cb_ops *o)
{
	struct stat sb = { 0 };
	void *f = NULL;
	ino_t src;

	cb_put_str(o, "a", "AAA");
	src = cb_ino(o, "a");
	cb_eq(o, "rename.file.rc", o->rename("a", "b"), 0);
	cb_err(o, "rename.file.old_gone_ENOENT", cb_gone_rc(o, "a"), ENOENT);
	cb_eq(o, "rename.file.ino_kept", cb_ino(o, "b"), src);
	cb_ok(o, "rename.file.contents_kept",
	      cb_get_str_is(o, "b", "AAA") && cb_host_str_is(o, "b", "AAA"),
	      "differ");

	cb_put_str(o, "victim", "VVV");
	if (o->open("victim", O_RDONLY, 0, &f))
		f = NULL;
	cb_eq(o, "rename.over_file.rc", o->rename("b", "victim"), 0);
	cb_ok(o, "rename.over_file.contents_replaced",
	      cb_get_str_is(o, "victim", "AAA") &&
		      cb_host_str_is(o, "victim", "AAA"),
	      "differ");
	cb_eq(o, "rename.over_file.new_ino_is_source", cb_ino(o, "victim"),
	      src);
	/* the replaced inode lives on, unlinked, while it is open */
	cb_ok(o, "rename.over_file.old_inode_unlinked",
	      f && !o->fstat(f, &sb) && sb.st_nlink == 0, "nlink %lu",
	      (unsigned long)sb.st_nlink);
	cb_err(o, "rename.over_file.source_gone_ENOENT", cb_gone_rc(o, "b"),
	       ENOENT);
	if (f)
		o->close(f);

	cb_eq(o, "rename.self.file_rc", o->rename("victim", "victim"), 0);
	cb_ok(o, "rename.self.file_kept", cb_get_str_is(o, "victim", "AAA"),
	      "gone");
	/* two names of one inode: POSIX says do nothing, both stay */
	o->link("victim", "hl");
	cb_eq(o, "rename.hardlinks.rc", o->rename("victim", "hl"), 0);
	cb_ok(o, "rename.hardlinks.both_remain",
	      cb_ino(o, "victim") && cb_ino(o, "hl") &&
		      cb_host_exists(o, "victim") && cb_host_exists(o, "hl"),
	      "one name vanished");

	if (o->open("victim", O_RDWR, 0, &f))
		f = NULL;
	o->rename("victim", "moved");
	if (f)
		o->pwrite(f, "Z", 1, 0);
	cb_ok(o, "rename.open_fd_follows",
	      cb_get_str_is(o, "moved", "ZAA") &&
		      cb_host_str_is(o, "moved", "ZAA"),
	      "differ");
	if (f)
		o->close(f);
}

static void rename_dirs(const struct cb_ops *o)
{
	cb_put_str(o, "file", "f");
	o->mkdir("src", 0755);
	cb_put_str(o, "src/inner", "in");
	o->mkdir("empty", 0755);
	cb_eq(o, "rename.dir_over_empty_dir.rc", o->rename("src", "empty"), 0);
	cb_ok(o, "rename.dir_over_empty_dir.contents_moved",
	      cb_get_str_is(o, "empty/inner", "in") &&
		      cb_host_str_is(o, "empty/inner", "in"),
	      "inner missing");

	o->mkdir("src2", 0755);
	/* POSIX allows both; ext4/tmpfs say ENOTEMPTY, xfs EEXIST. */
	cb_err2(o, "rename.dir_over_nonempty_ENOTEMPTY_or_EEXIST",
		o->rename("src2", "empty"), ENOTEMPTY, EEXIST);
	cb_err(o, "rename.file_over_dir_EISDIR", o->rename("file", "src2"),
	       EISDIR);
	cb_err(o, "rename.dir_over_file_ENOTDIR", o->rename("src2", "file"),
	       ENOTDIR);
	cb_eq(o, "rename.self.dir_rc", o->rename("src2", "src2"), 0);
	o->mkdir("src2/sub", 0755);
	cb_err(o, "rename.into_own_subdir_EINVAL",
	       o->rename("src2", "src2/sub/x"), EINVAL);
	cb_err(o, "rename.into_self_EINVAL", o->rename("src2", "src2/x"),
	       EINVAL);
	cb_err(o, "rename.missing_source_ENOENT", o->rename("nope", "x"),
	       ENOENT);
	cb_err(o, "rename.missing_dest_parent_ENOENT",
	       o->rename("file", "no/x"), ENOENT);
	cb_err(o, "rename.dest_parent_is_file_ENOTDIR",
	       o->rename("src2", "file/x"), ENOTDIR);
	cb_err(o, "rename.source_trailing_slash_file_ENOTDIR",
	       o->rename("file/", "x"), ENOTDIR);
}

static void rename_cross_dir(const struct cb_ops *o)
{
	char name[300];

	o->mkdir("p1", 0755);
	o->mkdir("p2", 0755);
	o->mkdir("p1/child", 0755);
	cb_put_str(o, "p1/f", "f");
	cb_eq(o, "rename.cross_dir.file_rc", o->rename("p1/f", "p2/f"), 0);
	cb_ok(o, "rename.cross_dir.file_moved",
	      cb_get_str_is(o, "p2/f", "f") && cb_gone(o, "p1/f") &&
		      cb_host_str_is(o, "p2/f", "f"),
	      "not moved");
	cb_eq(o, "rename.cross_dir.dir_rc", o->rename("p1/child", "p2/child"),
	      0);
	/* the moved directory's ".." went from one parent to the other */
	cb_ok(o, "rename.cross_dir.parent_nlinks",
	      cb_nlink(o, "p1") == 2 && cb_nlink(o, "p2") == 3,
	      "p1 %lu p2 %lu", (unsigned long)cb_nlink(o, "p1"),
	      (unsigned long)cb_nlink(o, "p2"));
	cb_eq(o, "rename.cross_dir.dotdot_updated", cb_ino(o, "p2/child/.."),
	      cb_ino(o, "p2"));
	memset(name, 'r', 256);
	name[256] = 0;
	cb_err(o, "rename.name256_ENAMETOOLONG", o->rename("p2/f", name),
	       ENAMETOOLONG);
}

static void rename_flags(const struct cb_ops *o)
{
	struct stat sb;

	cb_put_str(o, "x", "xx");
	cb_put_str(o, "y", "yy");
	cb_err(o, "rename.noreplace_EEXIST",
	       o->rename2("x", "y", RENAME_NOREPLACE), EEXIST);
	cb_ok(o, "rename.noreplace.target_kept",
	      cb_get_str_is(o, "y", "yy") && cb_host_str_is(o, "y", "yy"),
	      "lost");
	cb_eq(o, "rename.noreplace.free_name_rc",
	      o->rename2("x", "x2", RENAME_NOREPLACE), 0);
	cb_eq(o, "rename.exchange.rc", o->rename2("x2", "y", RENAME_EXCHANGE),
	      0);
	cb_ok(o, "rename.exchange.contents_swapped",
	      cb_get_str_is(o, "x2", "yy") && cb_get_str_is(o, "y", "xx") &&
		      cb_host_str_is(o, "x2", "yy") &&
		      cb_host_str_is(o, "y", "xx"),
	      "not swapped");
	cb_err(o, "rename.exchange.missing_ENOENT",
	       o->rename2("y", "none", RENAME_EXCHANGE), ENOENT);
	o->mkdir("xd", 0755);
	cb_eq(o, "rename.exchange.file_dir_rc",
	      o->rename2("y", "xd", RENAME_EXCHANGE), 0);
	cb_ok(o, "rename.exchange.file_dir_types",
	      cb_get_str_is(o, "xd", "xx") && !o->stat("y/.", &sb) &&
		      S_ISDIR(sb.st_mode),
	      "types not swapped");
	cb_err(o, "rename.flags.noreplace_exchange_EINVAL",
	       o->rename2("x2", "xd", RENAME_NOREPLACE | RENAME_EXCHANGE),
	       EINVAL);
}

void cb_area_rename(const struct cb_ops *o)
{
	cb_rename_dir_open_below(o);
	rename_files(o);
	rename_dirs(o);
	rename_cross_dir(o);
	rename_flags(o);
}
