// SPDX-License-Identifier: GPL-2.0-or-later
/* statfs, fsync family, exact errnos, and assorted POSIX corners. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "px.h"

/* ---- misc ---- */

static int dir_count(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static void misc_tmpfile(void)
{
	static const char *const deps[] = {
		"misc.tmpfile.nlink0",
		"misc.tmpfile.rw",
		"misc.tmpfile.mode",
		"misc.tmpfile.linkat_rc",
		"misc.tmpfile.linked_contents",
		"misc.tmpfile.linked_nlink1",
	};
	struct stat sb = {0};
	char buf[8] = {0};
	size_t i;
	int before = dir_count(".");
	int fd = open(".", O_TMPFILE | O_RDWR, 0600);
	int e = errno;

	px_rc0("misc.tmpfile.open", fd);
	px_eq("misc.tmpfile.invisible_in_readdir", dir_count("."), before);
	if (fd < 0) {
		for (i = 0; i < PX_ARRAY_SIZE(deps); i++)
			px_fail_errno(deps[i], e);
	} else {
		px_eq("misc.tmpfile.nlink0",
		      fstat(fd, &sb) ?: (long)sb.st_nlink, 0);
		px_ok("misc.tmpfile.rw",
		      pwrite(fd, "tmp", 3, 0) == 3 &&
			      pread(fd, buf, 8, 0) == 3 &&
			      !memcmp(buf, "tmp", 3),
		      "rw");
		px_mode("misc.tmpfile.mode", sb.st_mode, S_IFREG | 0600);
		px_eq("misc.tmpfile.linkat_rc",
		      linkat(fd, "", AT_FDCWD, "linked", AT_EMPTY_PATH), 0);
		px_ok("misc.tmpfile.linked_contents",
		      px_get_str_is("linked", "tmp"), "differs");
		px_eq("misc.tmpfile.linked_nlink1",
		      fstat(fd, &sb) ?: (long)sb.st_nlink, 1);
		close(fd);
	}
	fd = open(".", O_TMPFILE | O_RDWR | O_EXCL, 0600);
	px_err("misc.tmpfile.excl_linkat_ENOENT",
	       fd < 0 ? -2 : linkat(fd, "", AT_FDCWD, "excl", AT_EMPTY_PATH),
	       ENOENT);
	if (fd >= 0)
		close(fd);
}

static void misc_special(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat sb = {0};
	char c = 0;
	int fd, s;

	px_eq("misc.mkfifo.rc", mkfifo("fifo", 0666), 0);
	px_ok("misc.mkfifo.is_fifo", !stat("fifo", &sb) && S_ISFIFO(sb.st_mode),
	      "mode 0%o", sb.st_mode);
	px_mode("misc.mkfifo.mode_umask", sb.st_mode & 07777, 0644);
	px_err("misc.mkfifo.exists_EEXIST", mkfifo("fifo", 0644), EEXIST);
	fd = open("fifo", O_RDWR | O_NONBLOCK);
	px_ok("misc.fifo.rw_nonblock",
	      fd >= 0 && write(fd, "p", 1) == 1 && read(fd, &c, 1) == 1 &&
		      c == 'p',
	      "errno %s", px_errname(errno));
	if (fd >= 0)
		close(fd);
	px_eq("misc.mknod.fifo_rc", mknod("fifo2", S_IFIFO | 0600, 0), 0);
	px_ok("misc.mknod.reg",
	      !mknod("reg", S_IFREG | 0600, 0) && !stat("reg", &sb) &&
		      S_ISREG(sb.st_mode) && sb.st_size == 0,
	      "errno %s", px_errname(errno));
	px_ok("misc.mknod.chr_rdev",
	      !mknod("null", S_IFCHR | 0666, makedev(1, 3)) &&
		      !stat("null", &sb) && S_ISCHR(sb.st_mode) &&
		      sb.st_rdev == makedev(1, 3),
	      "errno %s", px_errname(errno));
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sun.sun_path, "sock");
	px_ok("misc.socket.bind_is_sock",
	      !bind(s, (struct sockaddr *)&sun, sizeof(sun)) &&
		      !stat("sock", &sb) && S_ISSOCK(sb.st_mode),
	      "errno %s", px_errname(errno));
	close(s);
}

static void misc_access(void)
{
	px_put_str("a", "x");
	px_eq("misc.access.f_ok", access("a", F_OK), 0);
	px_err("misc.access.missing_ENOENT", access("nope", F_OK), ENOENT);
	chmod("a", 0);
	px_eq("misc.access.root_rw_on_0000", access("a", R_OK | W_OK), 0);
	chmod("a", 0644);
	px_err("misc.access.root_x_on_0644_EACCES", access("a", X_OK), EACCES);
	chmod("a", 0100);
	px_eq("misc.access.root_x_on_0100", access("a", X_OK), 0);
	px_eq("misc.faccessat.eaccess",
	      faccessat(AT_FDCWD, "a", R_OK, AT_EACCESS), 0);
	symlink("nowhere", "dl");
	px_eq("misc.faccessat.nofollow_dangling",
	      faccessat(AT_FDCWD, "dl", F_OK, AT_SYMLINK_NOFOLLOW), 0);
	px_err("misc.access.dangling_ENOENT", access("dl", F_OK), ENOENT);
}

static bool cwd_ends(const char *suffix)
{
	char b[4096];
	size_t l = strlen(suffix);

	return getcwd(b, sizeof(b)) && strlen(b) >= l &&
	       !strcmp(b + strlen(b) - l, suffix);
}

static void misc_cwd(void)
{
	char home[4096];
	int fd;

	if (!getcwd(home, sizeof(home)))
		home[0] = 0;
	px_ok("misc.getcwd.inside", cwd_ends("/misc"), "wrong cwd");
	mkdir("cw", 0755);
	chdir("cw");
	px_eq("misc.getcwd.rename_cwd_rc", rename("../cw", "../cw2"), 0);
	px_ok("misc.getcwd.follows_rename", cwd_ends("/misc/cw2"), "stale");
	chdir(home);
	mkdir("gone", 0755);
	chdir("gone");
	rmdir("../gone");
	px_ok("misc.cwd_deleted.getcwd_ENOENT",
	      !getcwd(home + 2048, 2048) && errno == ENOENT, "errno %s",
	      px_errname(errno));
	fd = open("x", O_CREAT | O_WRONLY, 0644);
	px_err("misc.cwd_deleted.create_ENOENT", fd, ENOENT);
	if (fd >= 0)
		close(fd);
	chdir(home);
}

static void misc_at(void)
{
	struct stat sb = {0};
	int dfd, fd;

	mkdir("at", 0755);
	dfd = open("at", O_RDONLY | O_DIRECTORY);
	fd = openat(dfd, "f", O_CREAT | O_WRONLY, 0644);
	px_ok("misc.openat.relative_to_dirfd", fd >= 0 && !access("at/f", F_OK),
	      "errno %s", px_errname(errno));
	px_ok("misc.fstatat.empty_path",
	      !fstatat(fd, "", &sb, AT_EMPTY_PATH) &&
		      sb.st_ino == px_ino("at/f"),
	      "errno %s", px_errname(errno));
	if (fd >= 0)
		close(fd);
	px_eq("misc.mkdirat.rc", mkdirat(dfd, "sub", 0755), 0);
	px_eq("misc.renameat.rc", renameat(dfd, "f", dfd, "sub/g"), 0);
	px_err("misc.unlinkat.removedir_on_file_ENOTDIR",
	       unlinkat(dfd, "sub/g", AT_REMOVEDIR), ENOTDIR);
	unlinkat(dfd, "sub/g", 0);
	px_eq("misc.unlinkat.removedir_rc", unlinkat(dfd, "sub", AT_REMOVEDIR),
	      0);
	px_eq("misc.nlink.dir_back_to_2", fstat(dfd, &sb) ?: (long)sb.st_nlink,
	      2);
	close(dfd);
	px_ok("misc.ino.distinct",
	      px_ino("a") && px_ino("at") && px_ino("a") != px_ino("at"),
	      "same");
}

static void misc_copy_and_flags(void)
{
	char *buf = malloc(1 << 20);
	ssize_t n = -1;
	int in, out;

	if (!buf)
		return;
	px_pattern(buf, 1 << 20, 0);
	px_put("cin", buf, 1 << 20);
	in = open("cin", O_RDONLY);
	out = open("cout", O_RDWR | O_CREAT | O_TRUNC, 0644);
	px_eq("misc.copy_file_range.count",
	      n = copy_file_range(in, NULL, out, NULL, 1 << 20, 0), 1 << 20);
	memset(buf, 0, 1 << 20);
	px_ok("misc.copy_file_range.contents",
	      n == 1 << 20 && pread(out, buf, 1 << 20, 0) == 1 << 20 &&
		      px_pattern_ok(buf, 1 << 20, 0),
	      "mismatch");
	close(in);
	close(out);
	free(buf);

	px_put_str("ap", "12");
	out = open("ap", O_WRONLY);
	fcntl(out, F_SETFL, O_APPEND);
	px_ok("misc.fcntl.setfl_append",
	      (fcntl(out, F_GETFL) & O_APPEND) && write(out, "3", 1) == 1 &&
		      px_get_str_is("ap", "123"),
	      "no");
	close(out);
}

static void misc_statx(void)
{
	struct statx sx = {0};

	px_put_str("sx", "12345");
	px_ok("misc.statx.basic",
	      !statx(AT_FDCWD, "sx", 0, STATX_BASIC_STATS, &sx) &&
		      (sx.stx_mask & (STATX_SIZE | STATX_INO | STATX_MODE)) ==
			      (STATX_SIZE | STATX_INO | STATX_MODE) &&
		      sx.stx_size == 5 && sx.stx_ino == px_ino("sx"),
	      "errno %s mask 0x%x", px_errname(errno), sx.stx_mask);
}

void px_area_misc(void)
{
	misc_tmpfile();
	misc_special();
	misc_access();
	misc_cwd();
	misc_at();
	misc_copy_and_flags();
	misc_statx();
}
