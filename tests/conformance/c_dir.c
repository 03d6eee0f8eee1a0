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

#include "cf.h"
#include "cbody.h"

#define NENT 2000

static void dir_mkdir(void)
{
	char name[300];
	struct stat sb = {0};
	nlink_t before = cf_nlink("");

	cf_eq("dir.mkdir.rc", vdax_mkdir(cf_vd, P("d"), 0777), 0);
	cf_ok("dir.mkdir.is_dir",
	      !vdax_stat(cf_vd, P("d"), &sb) && S_ISDIR(sb.st_mode) &&
		      host_exists("d"),
	      "mode 0%o", sb.st_mode);
	/* No umask in the API: 0777 arrives as is. */
	cf_ok("dir.mkdir.mode_0777_exact",
	      (sb.st_mode & 07777) == 0777 && host_mode("d") == 0777,
	      "mode 0%o host 0%o", sb.st_mode & 07777, host_mode("d"));
	vdax_chmod(cf_vd, P("d"), 0755);
	cf_eq("dir.mkdir.nlink_2", sb.st_nlink, 2);
	cf_eq("dir.mkdir.parent_nlink_inc", cf_nlink(""), before + 1);
	cf_err("dir.mkdir.exists_EEXIST", vdax_mkdir(cf_vd, P("d"), 0755),
	       EEXIST);
	cf_put_str("f", "x");
	cf_err("dir.mkdir.over_file_EEXIST", vdax_mkdir(cf_vd, P("f"), 0755),
	       EEXIST);
	vdax_symlink(cf_vd, "nowhere", P("dl"));
	cf_err("dir.mkdir.over_dangling_symlink_EEXIST",
	       vdax_mkdir(cf_vd, P("dl"), 0755), EEXIST);
	cf_err("dir.mkdir.missing_parent_ENOENT",
	       vdax_mkdir(cf_vd, P("no/d"), 0755), ENOENT);
	cf_err("dir.mkdir.parent_is_file_ENOTDIR",
	       vdax_mkdir(cf_vd, P("f/d"), 0755), ENOTDIR);
	memset(name, 'm', 256);
	name[256] = 0;
	cf_err("dir.mkdir.name256_ENAMETOOLONG",
	       vdax_mkdir(cf_vd, P(name), 0755), ENAMETOOLONG);
	vdax_mkdir(cf_vd, P("d/sub"), 0755);
	cf_eq("dir.mkdir.child_bumps_nlink", cf_nlink("d"), 3);
	cf_eq("dir.mkdir.file_does_not_bump_nlink",
	      cf_put_str("d/file", "") ?: (long long)cf_nlink("d"), 3);
	cf_eq("dir.dotdot_is_parent", cf_ino("d/sub/.."), cf_ino("d"));
}

static void dir_rmdir(void)
{
	nlink_t before = cf_nlink("");
	struct stat sb;

	cf_err("dir.rmdir.nonempty_ENOTEMPTY", vdax_rmdir(cf_vd, P("d")),
	       ENOTEMPTY);
	cf_err("dir.rmdir.file_ENOTDIR", vdax_rmdir(cf_vd, P("f")), ENOTDIR);
	cf_err("dir.rmdir.missing_ENOENT", vdax_rmdir(cf_vd, P("nope")),
	       ENOENT);
	cf_err("dir.rmdir.dot_EINVAL", vdax_rmdir(cf_vd, P("d/sub/.")), EINVAL);
	cf_err("dir.rmdir.symlink_ENOTDIR", vdax_rmdir(cf_vd, P("dl")),
	       ENOTDIR);
	cf_err("dir.unlink.dir_EISDIR", vdax_unlink(cf_vd, P("d")), EISDIR);
	cf_err("dir.unlink.missing_ENOENT", vdax_unlink(cf_vd, P("nope")),
	       ENOENT);
	cf_ok("dir.unlink.file_rc",
	      !vdax_unlink(cf_vd, P("d/file")) && !host_exists("d/file"),
	      "host %s", host_exists("d/file") ? "still there" : "gone");
	cf_ok("dir.rmdir.rc",
	      !vdax_rmdir(cf_vd, P("d/sub")) && !host_exists("d/sub"),
	      "host %s", host_exists("d/sub") ? "still there" : "gone");
	cf_eq("dir.rmdir.parent_nlink_dec", cf_nlink("d"), 2);
	cf_err("dir.rmdir.gone_ENOENT", vdax_lstat(cf_vd, P("d/sub"), &sb),
	       ENOENT);
	vdax_rmdir(cf_vd, P("d"));
	cf_eq("dir.rmdir.top_nlink_back", cf_nlink(""), before - 1);
}

static bool mtime_moved(const char *dir)
{
	struct stat sb = {0};

	return !vdax_stat(cf_vd, P(dir), &sb) && sb.st_mtime > 1000000;
}

static void set_old_times(const char *rel)
{
	struct timespec ts[2] = {{1000000, 0}, {1000000, 0}};

	vdax_utimens(cf_vd, P(rel), ts, 0);
}

static void dir_times(void)
{
	vdax_mkdir(cf_vd, P("t"), 0755);
	set_old_times("t");
	cf_put_str("t/new", "");
	cf_ok("dir.mtime.on_create", mtime_moved("t"), "unchanged");
	set_old_times("t");
	vdax_unlink(cf_vd, P("t/new"));
	cf_ok("dir.mtime.on_unlink", mtime_moved("t"), "unchanged");
	set_old_times("t");
	vdax_mkdir(cf_vd, P("t/sub"), 0755);
	cf_ok("dir.mtime.on_mkdir", mtime_moved("t"), "unchanged");
	cf_put_str("t/f", "");
	set_old_times("t");
	vdax_rename(cf_vd, P("t/f"), P("t/g"), 0);
	cf_ok("dir.mtime.on_rename", mtime_moved("t"), "unchanged");
}

static void dir_setgid(void)
{
	struct stat sb = {0};

	vdax_mkdir(cf_vd, P("sg"), 0755);
	vdax_chown(cf_vd, P("sg"), 0, 4242);
	vdax_chmod(cf_vd, P("sg"), 02775);
	cf_put_str("sg/f", "");
	cf_ok("dir.setgid.file_inherits_gid",
	      !vdax_stat(cf_vd, P("sg/f"), &sb) && sb.st_gid == 4242, "gid %u",
	      sb.st_gid);
	vdax_mkdir(cf_vd, P("sg/d"), 0755);
	cf_ok("dir.setgid.subdir_inherits_gid_and_bit",
	      !vdax_stat(cf_vd, P("sg/d"), &sb) && sb.st_gid == 4242 &&
		      (sb.st_mode & S_ISGID),
	      "gid %u mode 0%o", sb.st_gid, sb.st_mode);
}

static void dir_open(void)
{
	struct vdax_dir *d = NULL;
	int rc = vdax_opendir(cf_vd, P("f"), &d);

	cf_err("dir.opendir.file_ENOTDIR", rc, ENOTDIR);
	if (!rc)
		vdax_closedir(d);
	cf_err("dir.opendir.missing_ENOENT", vdax_opendir(cf_vd, P("nope"), &d),
	       ENOENT);
}

void cf_area_dir(void)
{
	cf_body(cb_dir_pathmax);
	dir_mkdir();
	dir_rmdir();
	dir_times();
	dir_setgid();
	dir_open();
}

/* ---- readdir ---- */

struct seen {
	unsigned char count[NENT];
	int dot, dotdot, other, bad_type, files, err;
};

static void scan(const char *rel, struct seen *s)
{
	struct vdax_dirent de;
	struct vdax_dir *d;
	char *end;
	long i;
	int rc;

	memset(s, 0, sizeof(*s));
	rc = vdax_opendir(cf_vd, P(rel), &d);
	if (rc) {
		s->err = rc;
		return;
	}
	while ((rc = vdax_readdir(d, &de)) > 0) {
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
	vdax_closedir(d);
}

static int make_many(void)
{
	struct vdax_file *f;
	char name[32];
	int i, made = 0;

	vdax_mkdir(cf_vd, P("many"), 0755);
	for (i = 0; i < NENT; i++) {
		snprintf(name, sizeof(name), "many/e%d", i);
		f = cf_open(name, O_CREAT | O_WRONLY, 0644, NULL);
		if (f) {
			made++;
			vdax_release(f);
		}
	}
	return made;
}

static int host_count(const char *rel)
{
	DIR *d = opendir(H(rel));
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return d ? n : -1;
}

static void readdir_many(void)
{
	static struct seen s;
	int i, once = 0;

	cf_ok("readdir.many.create_2000",
	      make_many() == NENT && host_count("many") == NENT,
	      "host has %d", host_count("many"));
	scan("many", &s);
	cf_ok("readdir.many.opendir", s.err == 0, "errno %s",
	      cf_errname(-s.err));
	for (i = 0; i < NENT; i++)
		once += s.count[i] == 1;
	cf_eq("readdir.many.all_seen_once", once, NENT);
	cf_eq("readdir.many.entry_count", s.files, NENT);
	cf_eq("readdir.many.no_strangers", s.other, 0);
	cf_ok("readdir.many.dot_and_dotdot", s.dot == 1 && s.dotdot == 1,
	      ". %d .. %d", s.dot, s.dotdot);
	cf_eq("readdir.many.d_type", s.bad_type, 0);
	scan("many", &s);
	cf_eq("readdir.many.reopen_same_count", s.files, NENT);
}

/* Unlink every entry (and some not yet seen) while iterating. */
static void readdir_unlink_during(void)
{
	struct vdax_dirent de;
	struct vdax_dir *d = NULL;
	char path[300];
	int n = 0, rounds = 0;

	vdax_opendir(cf_vd, P("many"), &d);
	while (d && vdax_readdir(d, &de) > 0 && rounds++ < 3 * NENT) {
		if (de.name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "many/%s", de.name);
		vdax_unlink(cf_vd, P(path));
		n++;
		if (n % 7 == 0) {
			snprintf(path, sizeof(path), "many/e%d",
				 (n * 13) % NENT);
			vdax_unlink(cf_vd, P(path));
		}
	}
	cf_ok("readdir.unlink_during.terminates",
	      d && rounds < 3 * NENT && n <= NENT, "rounds %d n %d", rounds, n);
	vdax_closedir(d);
	/* Anything the iteration missed (allowed by POSIX) goes now. */
	d = NULL;
	vdax_opendir(cf_vd, P("many"), &d);
	while (d && vdax_readdir(d, &de) > 0) {
		snprintf(path, sizeof(path), "many/%s", de.name);
		if (de.name[0] != '.')
			vdax_unlink(cf_vd, P(path));
	}
	vdax_closedir(d);
	cf_ok("readdir.unlink_during.rmdir_after",
	      !vdax_rmdir(cf_vd, P("many")) && !host_exists("many"), "host %s",
	      host_exists("many") ? "still there" : "gone");
}

static unsigned char dtype_of(const char *dir, const char *name)
{
	struct vdax_dirent de;
	struct vdax_dir *d = NULL;
	unsigned char t = 255;

	vdax_opendir(cf_vd, P(dir), &d);
	while (d && vdax_readdir(d, &de) > 0)
		if (!strcmp(de.name, name))
			t = de.type;
	vdax_closedir(d);
	return t;
}

static void readdir_types(void)
{
	struct vdax_dirent de;
	struct vdax_dir *d = NULL;
	ino_t ino = 0;
	int n = 0;

	vdax_mkdir(cf_vd, P("ty"), 0755);
	vdax_mkdir(cf_vd, P("ty/dir"), 0755);
	cf_put_str("ty/reg", "");
	vdax_symlink(cf_vd, "reg", P("ty/lnk"));
	vdax_mknod(cf_vd, P("ty/fifo"), S_IFIFO | 0644, 0);
	cf_eq("readdir.d_type.dir", dtype_of("ty", "dir"), DT_DIR);
	cf_eq("readdir.d_type.reg", dtype_of("ty", "reg"), DT_REG);
	cf_eq("readdir.d_type.lnk", dtype_of("ty", "lnk"), DT_LNK);
	cf_eq("readdir.d_type.fifo", dtype_of("ty", "fifo"), DT_FIFO);
	vdax_opendir(cf_vd, P("ty"), &d);
	while (d && vdax_readdir(d, &de) > 0)
		if (!strcmp(de.name, "reg"))
			ino = de.ino;
	vdax_closedir(d);
	cf_eq("readdir.d_ino_matches_stat", ino, cf_ino("ty/reg"));
	cf_eq("readdir.d_ino_is_host_ino", ino, host_ino("ty/reg"));

	vdax_mkdir(cf_vd, P("empty"), 0755);
	d = NULL;
	vdax_opendir(cf_vd, P("empty"), &d);
	while (d && vdax_readdir(d, &de) > 0)
		n++;
	vdax_closedir(d);
	cf_eq("readdir.empty_only_dots", n, 2);
}

void cf_area_readdir(void)
{
	readdir_types();
	readdir_many();
	readdir_unlink_during();
}
