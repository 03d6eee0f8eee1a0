// SPDX-License-Identifier: GPL-2.0-or-later
/* mkdir/rmdir/unlink, directory link counts and times, readdir. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "px.h"
#include "cbody.h"

#define NENT 2000

static nlink_t nlink_of(const char *path)
{
	struct stat sb = {0};

	return stat(path, &sb) ? 0 : sb.st_nlink;
}

static void dir_mkdir(void)
{
	char name[300];
	struct stat sb = {0};
	nlink_t before = nlink_of(".");

	px_eq("dir.mkdir.rc", mkdir("d", 0777), 0);
	px_ok("dir.mkdir.is_dir", !stat("d", &sb) && S_ISDIR(sb.st_mode),
	      "mode 0%o", sb.st_mode);
	px_mode("dir.mkdir.mode_umask_022", sb.st_mode & 07777, 0755);
	px_eq("dir.mkdir.nlink_2", sb.st_nlink, 2);
	px_eq("dir.mkdir.parent_nlink_inc", nlink_of("."), before + 1);
	px_err("dir.mkdir.exists_EEXIST", mkdir("d", 0755), EEXIST);
	px_put_str("f", "x");
	px_err("dir.mkdir.over_file_EEXIST", mkdir("f", 0755), EEXIST);
	symlink("nowhere", "dl");
	px_err("dir.mkdir.over_dangling_symlink_EEXIST", mkdir("dl", 0755),
	       EEXIST);
	px_err("dir.mkdir.missing_parent_ENOENT", mkdir("no/d", 0755), ENOENT);
	px_err("dir.mkdir.parent_is_file_ENOTDIR", mkdir("f/d", 0755), ENOTDIR);
	memset(name, 'm', 256);
	name[256] = 0;
	px_err("dir.mkdir.name256_ENAMETOOLONG", mkdir(name, 0755),
	       ENAMETOOLONG);
	mkdir("d/sub", 0755);
	px_eq("dir.mkdir.child_bumps_nlink", nlink_of("d"), 3);
	px_eq("dir.mkdir.file_does_not_bump_nlink",
	      px_put_str("d/file", "") ?: (long long)nlink_of("d"), 3);
	px_eq("dir.dotdot_is_parent", px_ino("d/sub/.."), px_ino("d"));
}

static void dir_rmdir(void)
{
	nlink_t before = nlink_of(".");

	px_err("dir.rmdir.nonempty_ENOTEMPTY", rmdir("d"), ENOTEMPTY);
	px_err("dir.rmdir.file_ENOTDIR", rmdir("f"), ENOTDIR);
	px_err("dir.rmdir.missing_ENOENT", rmdir("nope"), ENOENT);
	px_err("dir.rmdir.dot_EINVAL", rmdir("d/sub/."), EINVAL);
	px_err("dir.rmdir.symlink_ENOTDIR", rmdir("dl"), ENOTDIR);
	px_err("dir.unlink.dir_EISDIR", unlink("d"), EISDIR);
	px_err("dir.unlink.missing_ENOENT", unlink("nope"), ENOENT);
	px_eq("dir.unlink.file_rc", unlink("d/file"), 0);
	px_eq("dir.rmdir.rc", rmdir("d/sub"), 0);
	px_eq("dir.rmdir.parent_nlink_dec", nlink_of("d"), 2);
	px_err("dir.rmdir.gone_ENOENT", access("d/sub", F_OK), ENOENT);
	rmdir("d");
	px_eq("dir.rmdir.top_nlink_back", nlink_of("."), before - 1);
}

static bool mtime_moved(const char *dir)
{
	struct stat sb = {0};

	return !stat(dir, &sb) && sb.st_mtime > 1000000;
}

static void set_old_times(const char *path)
{
	struct timespec ts[2] = {{1000000, 0}, {1000000, 0}};

	utimensat(AT_FDCWD, path, ts, 0);
}

static void dir_times(void)
{
	mkdir("t", 0755);
	set_old_times("t");
	px_put_str("t/new", "");
	px_ok("dir.mtime.on_create", mtime_moved("t"), "unchanged");
	set_old_times("t");
	unlink("t/new");
	px_ok("dir.mtime.on_unlink", mtime_moved("t"), "unchanged");
	set_old_times("t");
	mkdir("t/sub", 0755);
	px_ok("dir.mtime.on_mkdir", mtime_moved("t"), "unchanged");
	px_put_str("t/f", "");
	set_old_times("t");
	rename("t/f", "t/g");
	px_ok("dir.mtime.on_rename", mtime_moved("t"), "unchanged");
}

static void dir_setgid(void)
{
	struct stat sb = {0};

	mkdir("sg", 0755);
	chown("sg", 0, 4242);
	chmod("sg", 02775);
	px_put_str("sg/f", "");
	px_ok("dir.setgid.file_inherits_gid",
	      !stat("sg/f", &sb) && sb.st_gid == 4242, "gid %u", sb.st_gid);
	mkdir("sg/d", 0755);
	px_ok("dir.setgid.subdir_inherits_gid_and_bit",
	      !stat("sg/d", &sb) && sb.st_gid == 4242 && (sb.st_mode & S_ISGID),
	      "gid %u mode 0%o", sb.st_gid, sb.st_mode);
}

static void dir_cwd(void)
{
	char a[4096], b[4096];
	DIR *dp;

	mkdir("cw", 0755);
	getcwd(a, sizeof(a));
	px_ok("dir.chdir.getcwd_inside",
	      !chdir("cw") && getcwd(b, sizeof(b)) && strlen(b) > 3 &&
		      !strcmp(b + strlen(b) - 3, "/cw"),
	      "cwd %s", b);
	px_ok("dir.chdir.dotdot_back",
	      !chdir("..") && getcwd(b, sizeof(b)) && !strcmp(a, b), "cwd %s",
	      b);
	px_err("dir.chdir.file_ENOTDIR", chdir("f"), ENOTDIR);
	dp = opendir("f");
	px_err("dir.opendir.file_ENOTDIR", dp ? 0 : -1, ENOTDIR);
	if (dp)
		closedir(dp);
}

void px_area_dir(void)
{
	cb_dir_pathmax(&px_cb_ops);
	dir_mkdir();
	dir_rmdir();
	dir_times();
	dir_setgid();
	dir_cwd();
}

/* ---- readdir ---- */

struct seen {
	unsigned char count[NENT];
	int dot, dotdot, other, bad_type, files;
};

static void scan(DIR *d, struct seen *s)
{
	struct dirent *de;
	char *end;
	long i;

	memset(s, 0, sizeof(*s));
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".")) {
			s->dot++;
			s->bad_type += de->d_type != DT_DIR;
			continue;
		}
		if (!strcmp(de->d_name, "..")) {
			s->dotdot++;
			s->bad_type += de->d_type != DT_DIR;
			continue;
		}
		i = strtol(de->d_name + 1, &end, 10);
		if (de->d_name[0] != 'e' || *end || i < 0 || i >= NENT) {
			s->other++;
			continue;
		}
		s->files++;
		if (s->count[i] < 255)
			s->count[i]++;
		s->bad_type += de->d_type != DT_REG;
	}
}

static int make_many(void)
{
	char name[32];
	int i, made = 0, fd;

	mkdir("many", 0755);
	for (i = 0; i < NENT; i++) {
		snprintf(name, sizeof(name), "many/e%d", i);
		fd = open(name, O_CREAT | O_WRONLY, 0644);
		if (fd >= 0) {
			made++;
			close(fd);
		}
	}
	return made;
}

static void readdir_many(void)
{
	struct seen s;
	int i, once = 0;
	DIR *d;

	px_eq("readdir.many.create_2000", make_many(), NENT);
	d = opendir("many");
	px_ok("readdir.many.opendir", d != NULL, "errno %s", px_errname(errno));
	if (!d)
		return;
	scan(d, &s);
	for (i = 0; i < NENT; i++)
		once += s.count[i] == 1;
	px_eq("readdir.many.all_seen_once", once, NENT);
	px_eq("readdir.many.entry_count", s.files, NENT);
	px_eq("readdir.many.no_strangers", s.other, 0);
	px_ok("readdir.many.dot_and_dotdot", s.dot == 1 && s.dotdot == 1,
	      ". %d .. %d", s.dot, s.dotdot);
	px_eq("readdir.many.d_type", s.bad_type, 0);
	rewinddir(d);
	scan(d, &s);
	px_eq("readdir.many.rewind_same_count", s.files, NENT);
	closedir(d);
}

static void readdir_seek(void)
{
	char want[256];
	struct dirent *de;
	long pos = -1;
	int i;
	DIR *d = opendir("many");

	for (i = 0; d && i < 10 && (de = readdir(d)); i++) {
		if (i == 5) {
			pos = telldir(d);
			de = readdir(d);
			snprintf(want, sizeof(want), "%s",
				 de ? de->d_name : "");
		}
	}
	if (d && pos >= 0) {
		seekdir(d, pos);
		de = readdir(d);
		px_str("readdir.telldir_seekdir_same_entry",
		       de ? de->d_name : NULL, want);
		rewinddir(d);
		de = readdir(d);
		px_ok("readdir.rewinddir_restarts", de != NULL, "no entry");
	} else {
		px_ok("readdir.telldir_seekdir_same_entry", false, "no dir");
		px_ok("readdir.rewinddir_restarts", false, "no dir");
	}
	if (d)
		closedir(d);
}

/* Unlink every entry (and some not yet seen) while iterating. */
static void readdir_unlink_during(void)
{
	struct dirent *de;
	char path[300];
	int n = 0, rounds = 0;
	DIR *d = opendir("many");

	while (d && (de = readdir(d)) && rounds++ < 3 * NENT) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "many/%s", de->d_name);
		unlink(path);
		n++;
		if (n % 7 == 0) {
			snprintf(path, sizeof(path), "many/e%d",
				 (n * 13) % NENT);
			unlink(path);
		}
	}
	px_ok("readdir.unlink_during.terminates",
	      d && rounds < 3 * NENT && n <= NENT, "rounds %d n %d", rounds, n);
	if (d)
		closedir(d);
	/* Anything the iteration missed (allowed by POSIX) goes now. */
	d = opendir("many");
	while (d && (de = readdir(d))) {
		snprintf(path, sizeof(path), "many/%s", de->d_name);
		if (de->d_name[0] != '.')
			unlink(path);
	}
	if (d)
		closedir(d);
	px_eq("readdir.unlink_during.rmdir_after", rmdir("many"), 0);
}

static unsigned char dtype_of(const char *dir, const char *name)
{
	struct dirent *de;
	unsigned char t = 255;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d)))
		if (!strcmp(de->d_name, name))
			t = de->d_type;
	if (d)
		closedir(d);
	return t;
}

static void readdir_types(void)
{
	struct dirent *de;
	ino_t ino = 0;
	int n = 0;
	DIR *d;

	mkdir("ty", 0755);
	mkdir("ty/dir", 0755);
	px_put_str("ty/reg", "");
	symlink("reg", "ty/lnk");
	mkfifo("ty/fifo", 0644);
	px_eq("readdir.d_type.dir", dtype_of("ty", "dir"), DT_DIR);
	px_eq("readdir.d_type.reg", dtype_of("ty", "reg"), DT_REG);
	px_eq("readdir.d_type.lnk", dtype_of("ty", "lnk"), DT_LNK);
	px_eq("readdir.d_type.fifo", dtype_of("ty", "fifo"), DT_FIFO);
	d = opendir("ty");
	while (d && (de = readdir(d)))
		if (!strcmp(de->d_name, "reg"))
			ino = de->d_ino;
	if (d)
		closedir(d);
	px_eq("readdir.d_ino_matches_stat", ino, px_ino("ty/reg"));

	mkdir("empty", 0755);
	d = opendir("empty");
	while (d && (de = readdir(d)))
		n++;
	if (d)
		closedir(d);
	px_eq("readdir.empty_only_dots", n, 2);
}

void px_area_readdir(void)
{
	readdir_types();
	readdir_many();
	readdir_seek();
	readdir_unlink_during();
}
