// SPDX-License-Identifier: GPL-2.0-or-later
/* chmod/chown/utimensat and friends; we run as root. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "px.h"
#include "cbody.h"

static unsigned int mode_of(const char *p)
{
	struct stat sb = {0};

	return lstat(p, &sb) ? 0xffff : sb.st_mode & 07777;
}

static void attr_chmod(void)
{
	static const unsigned int modes[] = {0600,  0755, 04755, 02755,
					     01777, 0000, 07777};
	char name[64];
	size_t i;
	int fd;

	px_put_str("f", "x");
	for (i = 0; i < PX_ARRAY_SIZE(modes); i++) {
		snprintf(name, sizeof(name), "attr.chmod.%04o", modes[i]);
		px_ok(name, !chmod("f", modes[i]) && mode_of("f") == modes[i],
		      "mode 0%o", mode_of("f"));
	}
	fd = open("f", O_RDONLY);
	px_ok("attr.fchmod.0640", !fchmod(fd, 0640) && mode_of("f") == 0640,
	      "mode 0%o", mode_of("f"));
	close(fd);
	mkdir("d", 0755);
	px_ok("attr.chmod.dir_1777",
	      !chmod("d", 01777) && mode_of("d") == 01777, "mode 0%o",
	      mode_of("d"));
	px_err("attr.chmod.missing_ENOENT", chmod("nope", 0644), ENOENT);
}

static void owner_is(const char *name, int rc, const char *path, uid_t uid,
		     gid_t gid)
{
	struct stat sb = {0};
	int e = errno;

	if (rc) {
		px_fail_errno(name, e);
		return;
	}
	lstat(path, &sb);
	px_ok(name, sb.st_uid == uid && sb.st_gid == gid, "uid %u gid %u",
	      sb.st_uid, sb.st_gid);
}

static void attr_chown(void)
{
	int fd;

	px_put_str("o", "x");
	owner_is("attr.chown.uid_gid", chown("o", 1234, 5678), "o", 1234, 5678);
	owner_is("attr.chown.minus1_keeps_uid", chown("o", -1, 999), "o", 1234,
		 999);
	fd = open("o", O_RDONLY);
	owner_is("attr.fchown.uid", fchown(fd, 4321, -1), "o", 4321, 999);
	close(fd);
	symlink("o", "ol");
	cb_attr_symlink(&px_cb_ops);
	chmod("o", 04755);
	chown("o", 1000, 1000);
	px_mode("attr.chown.clears_setuid", mode_of("o"), 0755);
}

/* An unprivileged writer (via an inherited fd) clears the setuid bit. */
static void attr_write_kills_suid(void)
{
	int fd, status = -1;
	pid_t pid;

	px_put_str("suid", "x");
	chmod("suid", 04777);
	fd = open("suid", O_WRONLY);
	pid = fork();
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		_exit(write(fd, "y", 1) == 1 ? 0 : 3);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	close(fd);
	px_ok("attr.write_nonroot.ran",
	      WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d",
	      status);
	px_mode("attr.write_nonroot.clears_setuid", mode_of("suid"), 0777);
}

static bool ts_is(struct timespec t, time_t s, long ns)
{
	return t.tv_sec == s && t.tv_nsec == ns;
}

static void attr_times(void)
{
	struct timespec ts[2] = {{1000000000, 123456789},
				 {1100000000, 987654321}};
	struct stat sb = {0};
	time_t now;
	int fd;

	px_put_str("t", "x");
	px_eq("attr.utimensat.explicit_rc", utimensat(AT_FDCWD, "t", ts, 0), 0);
	stat("t", &sb);
	px_ok("attr.utimensat.atime_exact",
	      ts_is(sb.st_atim, 1000000000, 123456789), "%lld.%09ld",
	      (long long)sb.st_atim.tv_sec, sb.st_atim.tv_nsec);
	px_ok("attr.utimensat.mtime_exact",
	      ts_is(sb.st_mtim, 1100000000, 987654321), "%lld.%09ld",
	      (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);

	ts[0] = (struct timespec){1200000000, 0};
	ts[1].tv_nsec = UTIME_OMIT;
	utimensat(AT_FDCWD, "t", ts, 0);
	stat("t", &sb);
	px_ok("attr.utimensat.omit_keeps_mtime",
	      ts_is(sb.st_mtim, 1100000000, 987654321) &&
		      ts_is(sb.st_atim, 1200000000, 0),
	      "mtime %lld", (long long)sb.st_mtime);

	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_nsec = UTIME_NOW;
	now = time(NULL);
	utimensat(AT_FDCWD, "t", ts, 0);
	stat("t", &sb);
	px_ok("attr.utimensat.now_sets_mtime",
	      sb.st_mtime >= now - 10 && sb.st_mtime <= now + 10 &&
		      ts_is(sb.st_atim, 1200000000, 0),
	      "mtime %lld now %lld", (long long)sb.st_mtime, (long long)now);

	utimensat(AT_FDCWD, "t", NULL, 0);
	stat("t", &sb);
	px_ok("attr.utimensat.null_sets_both_now",
	      sb.st_atime >= now - 10 && sb.st_atime <= now + 10 &&
		      sb.st_mtime >= now - 10,
	      "atime %lld", (long long)sb.st_atime);

	fd = open("t", O_RDONLY);
	ts[0] = (struct timespec){1300000000, 5000};
	ts[1] = (struct timespec){1300000001, 6000};
	px_eq("attr.futimens.rc", futimens(fd, ts), 0);
	fstat(fd, &sb);
	px_ok("attr.futimens.exact",
	      ts_is(sb.st_atim, 1300000000, 5000) &&
		      ts_is(sb.st_mtim, 1300000001, 6000),
	      "mtime %lld", (long long)sb.st_mtime);
	close(fd);

	symlink("t", "tl");
	ts[1] = (struct timespec){1400000000, 0};
	utimensat(AT_FDCWD, "tl", ts, AT_SYMLINK_NOFOLLOW);
	px_ok("attr.utimensat.nofollow_sets_link",
	      !lstat("tl", &sb) && sb.st_mtime == 1400000000 &&
		      !stat("t", &sb) && sb.st_mtime == 1300000001,
	      "mtime %lld", (long long)sb.st_mtime);
	px_err("attr.utimensat.missing_ENOENT",
	       utimensat(AT_FDCWD, "nope", NULL, 0), ENOENT);
	ts[0] = (struct timespec){0, 1000000000};
	px_err("attr.utimensat.bad_nsec_EINVAL",
	       utimensat(AT_FDCWD, "t", ts, 0), EINVAL);
}

static struct timespec ctime_of(const char *p)
{
	struct stat sb = {0};

	if (stat(p, &sb))
		return (struct timespec){0, 0};
	return sb.st_ctim;
}

static bool later(struct timespec a, struct timespec b)
{
	return a.tv_sec > b.tv_sec ||
	       (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

/* ctime has no setter; wait long enough for a coarse clock to tick. */
static void attr_ctime(void)
{
	struct timespec t0, ts[2] = {{5, 0}, {5, 0}};

	px_put_str("c", "x");
	t0 = ctime_of("c");
	px_msleep(30);
	chmod("c", 0600);
	px_ok("attr.ctime.on_chmod", later(ctime_of("c"), t0), "unchanged");
	t0 = ctime_of("c");
	px_msleep(30);
	chown("c", 1, 1);
	px_ok("attr.ctime.on_chown", later(ctime_of("c"), t0), "unchanged");
	t0 = ctime_of("c");
	px_msleep(30);
	utimensat(AT_FDCWD, "c", ts, 0);
	px_ok("attr.ctime.on_utimensat", later(ctime_of("c"), t0), "unchanged");
	t0 = ctime_of("c");
	px_msleep(30);
	link("c", "c2");
	px_ok("attr.ctime.on_link", later(ctime_of("c"), t0), "unchanged");
	t0 = ctime_of("c");
	px_msleep(30);
	px_put_str("c", "yy");
	px_ok("attr.ctime.on_write", later(ctime_of("c"), t0), "unchanged");
}

static void attr_stat(void)
{
	struct stat a = {0}, b = {0};
	int fd;

	px_put_str("s", "12345");
	fd = open("s", O_RDONLY);
	px_ok("attr.stat.fstat_matches_stat",
	      !stat("s", &a) && !fstat(fd, &b) && a.st_ino == b.st_ino &&
		      a.st_dev == b.st_dev && a.st_size == b.st_size &&
		      a.st_mode == b.st_mode,
	      "differ");
	close(fd);
	px_eq("attr.stat.size", a.st_size, 5);
	px_ok("attr.stat.blksize_positive", a.st_blksize > 0, "%ld",
	      (long)a.st_blksize);
	px_ok("attr.stat.dev_same_as_dir",
	      !stat(".", &b) && a.st_dev == b.st_dev, "differs");
	px_eq("attr.stat.ino_stable_dotslash", px_ino("./s"), a.st_ino);
	px_eq("attr.stat.ino_stable_dotdot", px_ino("../attr/s"), a.st_ino);
	px_err("attr.stat.missing_ENOENT", stat("nope", &a), ENOENT);
}

void px_area_attr(void)
{
	attr_chmod();
	attr_chown();
	attr_write_kills_suid();
	attr_times();
	attr_ctime();
	attr_stat();
}
