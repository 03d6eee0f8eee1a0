// SPDX-License-Identifier: GPL-2.0-or-later
/* chmod/chown/utimens and stat; we run as root. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cf.h"
#include "cbody.h"

static void attr_chmod(void)
{
	static const unsigned int modes[] = {0600,  0755, 04755, 02755,
					     01777, 0000, 07777};
	char name[64];
	size_t i;

	cf_put_str("f", "x");
	for (i = 0; i < CF_ARRAY_SIZE(modes); i++) {
		snprintf(name, sizeof(name), "attr.chmod.%04o", modes[i]);
		cf_ok(name,
		      !vdax_chmod(cf_vd, P("f"), modes[i]) &&
			      cf_mode_of("f") == modes[i] &&
			      host_mode("f") == modes[i],
		      "mode 0%o host 0%o", cf_mode_of("f"), host_mode("f"));
	}
	vdax_mkdir(cf_vd, P("d"), 0755);
	cf_ok("attr.chmod.dir_1777",
	      !vdax_chmod(cf_vd, P("d"), 01777) && cf_mode_of("d") == 01777 &&
		      host_mode("d") == 01777,
	      "mode 0%o", cf_mode_of("d"));
	cf_err("attr.chmod.missing_ENOENT", vdax_chmod(cf_vd, P("nope"), 0644),
	       ENOENT);
}

static void owner_is(const char *name, int rc, const char *rel, uid_t uid,
		     gid_t gid)
{
	struct stat sb = {0}, hsb = {0};

	if (rc) {
		cf_fail_errno(name, -rc);
		return;
	}
	vdax_lstat(cf_vd, P(rel), &sb);
	lstat(H(rel), &hsb);
	cf_ok(name,
	      sb.st_uid == uid && sb.st_gid == gid && hsb.st_uid == uid &&
		      hsb.st_gid == gid,
	      "uid %u gid %u host %u/%u", sb.st_uid, sb.st_gid, hsb.st_uid,
	      hsb.st_gid);
}

static void attr_chown(void)
{
	cf_put_str("o", "x");
	owner_is("attr.chown.uid_gid", vdax_chown(cf_vd, P("o"), 1234, 5678),
		 "o", 1234, 5678);
	owner_is("attr.chown.minus1_keeps_uid",
		 vdax_chown(cf_vd, P("o"), -1, 999), "o", 1234, 999);
	vdax_symlink(cf_vd, "o", P("ol"));
	owner_is("attr.chown.follows_symlink",
		 vdax_chown(cf_vd, P("ol"), 4321, -1), "o", 4321, 999);
	cf_body(cb_attr_symlink);
	vdax_chmod(cf_vd, P("o"), 04755);
	vdax_chown(cf_vd, P("o"), 1000, 1000);
	cf_mode("attr.chown.clears_setuid", cf_mode_of("o"), 0755);
}

static bool ts_is(struct timespec t, time_t s, long ns)
{
	return t.tv_sec == s && t.tv_nsec == ns;
}

static void attr_times(void)
{
	struct timespec ts[2] = {{1000000000, 123456789},
				 {1100000000, 987654321}};
	struct stat sb = {0}, hsb = {0};
	time_t now;

	cf_put_str("t", "x");
	cf_eq("attr.utimensat.explicit_rc",
	      vdax_utimens(cf_vd, P("t"), ts, 0), 0);
	vdax_stat(cf_vd, P("t"), &sb);
	stat(H("t"), &hsb);
	cf_ok("attr.utimensat.atime_exact",
	      ts_is(sb.st_atim, 1000000000, 123456789) &&
		      ts_is(hsb.st_atim, 1000000000, 123456789),
	      "%lld.%09ld", (long long)sb.st_atim.tv_sec, sb.st_atim.tv_nsec);
	cf_ok("attr.utimensat.mtime_exact",
	      ts_is(sb.st_mtim, 1100000000, 987654321) &&
		      ts_is(hsb.st_mtim, 1100000000, 987654321),
	      "%lld.%09ld", (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);

	ts[0] = (struct timespec){1200000000, 0};
	ts[1].tv_nsec = UTIME_OMIT;
	vdax_utimens(cf_vd, P("t"), ts, 0);
	vdax_stat(cf_vd, P("t"), &sb);
	cf_ok("attr.utimensat.omit_keeps_mtime",
	      ts_is(sb.st_mtim, 1100000000, 987654321) &&
		      ts_is(sb.st_atim, 1200000000, 0),
	      "mtime %lld", (long long)sb.st_mtime);

	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_nsec = UTIME_NOW;
	now = time(NULL);
	vdax_utimens(cf_vd, P("t"), ts, 0);
	vdax_stat(cf_vd, P("t"), &sb);
	cf_ok("attr.utimensat.now_sets_mtime",
	      sb.st_mtime >= now - 10 && sb.st_mtime <= now + 10 &&
		      ts_is(sb.st_atim, 1200000000, 0),
	      "mtime %lld now %lld", (long long)sb.st_mtime, (long long)now);

	vdax_utimens(cf_vd, P("t"), NULL, 0);
	vdax_stat(cf_vd, P("t"), &sb);
	cf_ok("attr.utimensat.null_sets_both_now",
	      sb.st_atime >= now - 10 && sb.st_atime <= now + 10 &&
		      sb.st_mtime >= now - 10,
	      "atime %lld", (long long)sb.st_atime);

	ts[0] = (struct timespec){1300000000, 5000};
	ts[1] = (struct timespec){1300000001, 6000};
	vdax_utimens(cf_vd, P("t"), ts, 0);
	vdax_symlink(cf_vd, "t", P("tl"));
	ts[1] = (struct timespec){1400000000, 0};
	vdax_utimens(cf_vd, P("tl"), ts, AT_SYMLINK_NOFOLLOW);
	cf_ok("attr.utimensat.nofollow_sets_link",
	      !vdax_lstat(cf_vd, P("tl"), &sb) && sb.st_mtime == 1400000000 &&
		      !vdax_stat(cf_vd, P("t"), &sb) &&
		      sb.st_mtime == 1300000001,
	      "mtime %lld", (long long)sb.st_mtime);
	cf_err("attr.utimensat.missing_ENOENT",
	       vdax_utimens(cf_vd, P("nope"), NULL, 0), ENOENT);
	ts[0] = (struct timespec){0, 1000000000};
	cf_err("attr.utimensat.bad_nsec_EINVAL",
	       vdax_utimens(cf_vd, P("t"), ts, 0), EINVAL);
}

static struct timespec ctime_of(const char *rel)
{
	struct stat sb = {0};

	if (vdax_stat(cf_vd, P(rel), &sb))
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

	cf_put_str("c", "x");
	t0 = ctime_of("c");
	cf_msleep(30);
	vdax_chmod(cf_vd, P("c"), 0600);
	cf_ok("attr.ctime.on_chmod", later(ctime_of("c"), t0), "unchanged");
	t0 = ctime_of("c");
	cf_msleep(30);
	vdax_chown(cf_vd, P("c"), 1, 1);
	cf_ok("attr.ctime.on_chown", later(ctime_of("c"), t0), "unchanged");
	t0 = ctime_of("c");
	cf_msleep(30);
	vdax_utimens(cf_vd, P("c"), ts, 0);
	cf_ok("attr.ctime.on_utimensat", later(ctime_of("c"), t0), "unchanged");
	t0 = ctime_of("c");
	cf_msleep(30);
	vdax_link(cf_vd, P("c"), P("c2"));
	cf_ok("attr.ctime.on_link", later(ctime_of("c"), t0), "unchanged");
	t0 = ctime_of("c");
	cf_msleep(30);
	cf_put_str("c", "yy");
	cf_ok("attr.ctime.on_write", later(ctime_of("c"), t0), "unchanged");
}

static void attr_stat(void)
{
	struct stat a = {0}, b = {0}, h = {0};
	struct vdax_file *f;

	cf_put_str("s", "12345");
	f = cf_open("s", O_RDONLY, 0, NULL);
	cf_ok("attr.stat.fstat_matches_stat",
	      f && !vdax_stat(cf_vd, P("s"), &a) && !vdax_fstat(f, &b) &&
		      a.st_ino == b.st_ino && a.st_dev == b.st_dev &&
		      a.st_size == b.st_size && a.st_mode == b.st_mode,
	      "differ");
	vdax_release(f);
	cf_eq("attr.stat.size", a.st_size, 5);
	cf_ok("attr.stat.blksize_positive", a.st_blksize > 0, "%ld",
	      (long)a.st_blksize);
	cf_ok("attr.stat.dev_same_as_dir",
	      !vdax_stat(cf_vd, P(""), &b) && a.st_dev == b.st_dev, "differs");
	cf_eq("attr.stat.ino_stable_dotslash", cf_ino("./s"), a.st_ino);
	cf_eq("attr.stat.ino_stable_dotdot", cf_ino("../attr/s"), a.st_ino);
	cf_err("attr.stat.missing_ENOENT", vdax_stat(cf_vd, P("nope"), &b),
	       ENOENT);
	/* API only: what the host says. */
	lstat(H("s"), &h);
	cf_ok("attr.stat.host_agrees",
	      h.st_size == a.st_size && h.st_mode == a.st_mode &&
		      h.st_nlink == a.st_nlink && h.st_uid == a.st_uid &&
		      h.st_gid == a.st_gid &&
		      h.st_mtim.tv_sec == a.st_mtim.tv_sec &&
		      h.st_mtim.tv_nsec == a.st_mtim.tv_nsec,
	      "size %lld/%lld mode 0%o/0%o", (long long)a.st_size,
	      (long long)h.st_size, a.st_mode, h.st_mode);
	cf_eq("attr.stat.ino_is_host_ino", a.st_ino, h.st_ino);
}

void cf_area_attr(void)
{
	attr_chmod();
	attr_chown();
	attr_times();
	attr_ctime();
	attr_stat();
}
