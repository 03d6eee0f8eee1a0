// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The attr area of the shared body (cbody.h): chmod, chown, utimensat and
 * stat, and the same on symlinks; we run as root. Where the suite sees
 * the host, modes, owners and times are checked there too.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cbody.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static unsigned int mode_of(const struct cb_ops *o, const char *p)
{
	struct stat sb = { 0 };

	return o->lstat(p, &sb) ? 0xffff : sb.st_mode & 07777;
}

static void attr_chmod(const struct cb_ops *o)
{
	static const unsigned int modes[] = { 0600,  0755, 04755, 02755,
					      01777, 0000, 07777 };
	char name[64];
	void *f;

	cb_put_str(o, "f", "x");
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		snprintf(name, sizeof(name), "attr.chmod.%04o", modes[i]);
		cb_ok(o, name,
		      !o->chmod("f", modes[i]) && mode_of(o, "f") == modes[i] &&
			      cb_host_mode_is(o, "f", modes[i]),
		      "mode 0%o", mode_of(o, "f"));
	}
	if (o->fchmod && !o->open("f", O_RDONLY, 0, &f)) {
		cb_ok(o, "attr.fchmod.0640",
		      !o->fchmod(f, 0640) && mode_of(o, "f") == 0640,
		      "mode 0%o", mode_of(o, "f"));
		o->close(f);
	} else if (o->fchmod) {
		cb_ok(o, "attr.fchmod.0640", false, "open failed");
	}
	o->mkdir("d", 0755);
	cb_ok(o, "attr.chmod.dir_1777",
	      !o->chmod("d", 01777) && mode_of(o, "d") == 01777 &&
		      cb_host_mode_is(o, "d", 01777),
	      "mode 0%o", mode_of(o, "d"));
	cb_err(o, "attr.chmod.missing_ENOENT", o->chmod("nope", 0644), ENOENT);
}

/* @p (not followed) belongs to @uid:@gid, on the host too. */
static void owner_is(const struct cb_ops *o, const char *name, int rc,
		     const char *p, uid_t uid, gid_t gid)
{
	struct stat sb = { 0 }, hsb = { 0 };

	if (rc) {
		cb_fail_errno(o, name, -rc);
		return;
	}
	o->lstat(p, &sb);
	if (o->host_lstat)
		o->host_lstat(p, &hsb);
	else
		hsb = sb;
	cb_ok(o, name,
	      sb.st_uid == uid && sb.st_gid == gid && hsb.st_uid == uid &&
		      hsb.st_gid == gid,
	      "uid %u gid %u host %u/%u", sb.st_uid, sb.st_gid, hsb.st_uid,
	      hsb.st_gid);
}

static void attr_chown(const struct cb_ops *o)
{
	void *f;
	int ret;

	cb_put_str(o, "o", "x");
	owner_is(o, "attr.chown.uid_gid", o->chown("o", 1234, 5678), "o", 1234,
		 5678);
	owner_is(o, "attr.chown.minus1_keeps_uid", o->chown("o", -1, 999), "o",
		 1234, 999);
	if (o->fchown) {
		ret = o->open("o", O_RDONLY, 0, &f);
		owner_is(o, "attr.fchown.uid", ret ?: o->fchown(f, 4321, -1),
			 "o", 4321, 999);
		if (!ret)
			o->close(f);
	}
	o->symlink("o", "ol");
	if (o->flags & CB_LIBVDAX)
		owner_is(o, "attr.chown.follows_symlink",
			 o->chown("ol", 4321, -1), "o", 4321, 999);
	cb_attr_symlink(o);
	/* root's chown of a regular file still drops the setuid bit */
	o->chmod("o", 04755);
	o->chown("o", 1000, 1000);
	cb_mode(o, "attr.chown.clears_setuid", mode_of(o, "o"), 0755);
}

/* An unprivileged writer (via an inherited fd) clears the setuid bit. */
static void attr_write_kills_suid(const struct cb_ops *o)
{
	void *f;
	int ret;

	cb_put_str(o, "suid", "x");
	o->chmod("suid", 04777);
	ret = o->open("suid", O_WRONLY, 0, &f);
	if (!ret) {
		ret = o->write_unprivileged(f, "y", 1);
		o->close(f);
	}
	cb_rc0(o, "attr.write_nonroot.ran", ret);
	cb_mode(o, "attr.write_nonroot.clears_setuid", mode_of(o, "suid"),
		0777);
}

static bool ts_is(struct timespec t, time_t s, long ns)
{
	return t.tv_sec == s && t.tv_nsec == ns;
}

static void attr_times(const struct cb_ops *o)
{
	struct timespec ts[2] = { { 1000000000, 123456789 },
				  { 1100000000, 987654321 } };
	struct stat sb = { 0 }, hsb = { 0 };
	time_t now;
	void *f;

	cb_put_str(o, "t", "x");
	cb_eq(o, "attr.utimensat.explicit_rc", o->utimens("t", ts), 0);
	o->stat("t", &sb);
	/* nanoseconds are kept, through to the host */
	if (!o->host_lstat || o->host_lstat("t", &hsb))
		hsb = sb;
	cb_ok(o, "attr.utimensat.atime_exact",
	      ts_is(sb.st_atim, 1000000000, 123456789) &&
		      ts_is(hsb.st_atim, 1000000000, 123456789),
	      "%lld.%09ld", (long long)sb.st_atim.tv_sec, sb.st_atim.tv_nsec);
	cb_ok(o, "attr.utimensat.mtime_exact",
	      ts_is(sb.st_mtim, 1100000000, 987654321) &&
		      ts_is(hsb.st_mtim, 1100000000, 987654321),
	      "%lld.%09ld", (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);

	ts[0] = (struct timespec){ 1200000000, 0 };
	ts[1].tv_nsec = UTIME_OMIT;
	o->utimens("t", ts);
	o->stat("t", &sb);
	cb_ok(o, "attr.utimensat.omit_keeps_mtime",
	      ts_is(sb.st_mtim, 1100000000, 987654321) &&
		      ts_is(sb.st_atim, 1200000000, 0),
	      "mtime %lld", (long long)sb.st_mtime);

	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_nsec = UTIME_NOW;
	now = time(NULL);
	o->utimens("t", ts);
	o->stat("t", &sb);
	cb_ok(o, "attr.utimensat.now_sets_mtime",
	      sb.st_mtime >= now - 10 && sb.st_mtime <= now + 10 &&
		      ts_is(sb.st_atim, 1200000000, 0),
	      "mtime %lld now %lld", (long long)sb.st_mtime, (long long)now);

	o->utimens("t", NULL);
	o->stat("t", &sb);
	cb_ok(o, "attr.utimensat.null_sets_both_now",
	      sb.st_atime >= now - 10 && sb.st_atime <= now + 10 &&
		      sb.st_mtime >= now - 10,
	      "atime %lld", (long long)sb.st_atime);

	ts[0] = (struct timespec){ 1300000000, 5000 };
	ts[1] = (struct timespec){ 1300000001, 6000 };
	if (o->futimens && !o->open("t", O_RDONLY, 0, &f)) {
		cb_eq(o, "attr.futimens.rc", o->futimens(f, ts), 0);
		o->fstat(f, &sb);
		cb_ok(o, "attr.futimens.exact",
		      ts_is(sb.st_atim, 1300000000, 5000) &&
			      ts_is(sb.st_mtim, 1300000001, 6000),
		      "mtime %lld", (long long)sb.st_mtime);
		o->close(f);
	} else {
		/* the same times by path, for the symlink check below */
		o->utimens("t", ts);
	}

	o->symlink("t", "tl");
	ts[1] = (struct timespec){ 1400000000, 0 };
	o->lutimens("tl", ts);
	cb_ok(o, "attr.utimensat.nofollow_sets_link",
	      !o->lstat("tl", &sb) && sb.st_mtime == 1400000000 &&
		      !o->stat("t", &sb) && sb.st_mtime == 1300000001,
	      "mtime %lld", (long long)sb.st_mtime);
	cb_err(o, "attr.utimensat.missing_ENOENT", o->utimens("nope", NULL),
	       ENOENT);
	ts[0] = (struct timespec){ 0, 1000000000 };
	cb_err(o, "attr.utimensat.bad_nsec_EINVAL", o->utimens("t", ts),
	       EINVAL);
}

static struct timespec ctime_of(const struct cb_ops *o, const char *p)
{
	struct stat sb = { 0 };

	if (o->stat(p, &sb))
		return (struct timespec){ 0, 0 };
	return sb.st_ctim;
}

static bool later(struct timespec a, struct timespec b)
{
	return a.tv_sec > b.tv_sec ||
	       (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

/* ctime has no setter; wait long enough for a coarse clock to tick. */
static void attr_ctime(const struct cb_ops *o)
{
	struct timespec t0, ts[2] = { { 5, 0 }, { 5, 0 } };

	cb_put_str(o, "c", "x");
	t0 = ctime_of(o, "c");
	cb_msleep(30);
	o->chmod("c", 0600);
	cb_ok(o, "attr.ctime.on_chmod", later(ctime_of(o, "c"), t0),
	      "unchanged");
	t0 = ctime_of(o, "c");
	cb_msleep(30);
	o->chown("c", 1, 1);
	cb_ok(o, "attr.ctime.on_chown", later(ctime_of(o, "c"), t0),
	      "unchanged");
	t0 = ctime_of(o, "c");
	cb_msleep(30);
	o->utimens("c", ts);
	cb_ok(o, "attr.ctime.on_utimensat", later(ctime_of(o, "c"), t0),
	      "unchanged");
	t0 = ctime_of(o, "c");
	cb_msleep(30);
	o->link("c", "c2");
	cb_ok(o, "attr.ctime.on_link", later(ctime_of(o, "c"), t0),
	      "unchanged");
	t0 = ctime_of(o, "c");
	cb_msleep(30);
	cb_put_str(o, "c", "yy");
	cb_ok(o, "attr.ctime.on_write", later(ctime_of(o, "c"), t0),
	      "unchanged");
}

static void attr_stat(const struct cb_ops *o)
{
	struct stat a = { 0 }, b = { 0 }, h = { 0 };
	void *f;
	int ret;

	cb_put_str(o, "s", "12345");
	ret = o->open("s", O_RDONLY, 0, &f);
	cb_ok(o, "attr.stat.fstat_matches_stat",
	      !ret && !o->stat("s", &a) && !o->fstat(f, &b) &&
		      a.st_ino == b.st_ino && a.st_dev == b.st_dev &&
		      a.st_size == b.st_size && a.st_mode == b.st_mode,
	      "differ");
	if (!ret)
		o->close(f);
	cb_eq(o, "attr.stat.size", a.st_size, 5);
	cb_ok(o, "attr.stat.blksize_positive", a.st_blksize > 0, "%ld",
	      (long)a.st_blksize);
	cb_ok(o, "attr.stat.dev_same_as_dir",
	      !o->stat(".", &b) && a.st_dev == b.st_dev, "differs");
	cb_eq(o, "attr.stat.ino_stable_dotslash", cb_ino(o, "./s"), a.st_ino);
	cb_eq(o, "attr.stat.ino_stable_dotdot", cb_ino(o, "../attr/s"),
	      a.st_ino);
	cb_err(o, "attr.stat.missing_ENOENT", o->stat("nope", &b), ENOENT);
	if (!o->host_lstat)
		return;
	/* what the host says */
	o->host_lstat("s", &h);
	cb_ok(o, "attr.stat.host_agrees",
	      h.st_size == a.st_size && h.st_mode == a.st_mode &&
		      h.st_nlink == a.st_nlink && h.st_uid == a.st_uid &&
		      h.st_gid == a.st_gid &&
		      h.st_mtim.tv_sec == a.st_mtim.tv_sec &&
		      h.st_mtim.tv_nsec == a.st_mtim.tv_nsec,
	      "size %lld/%lld mode 0%o/0%o", (long long)a.st_size,
	      (long long)h.st_size, a.st_mode, h.st_mode);
	cb_eq(o, "attr.stat.ino_is_host_ino", a.st_ino, h.st_ino);
}

void cb_area_attr(const struct cb_ops *o)
{
	attr_chmod(o);
	attr_chown(o);
	if (o->write_unprivileged)
		attr_write_kills_suid(o);
	attr_times(o);
	attr_ctime(o);
	attr_stat(o);
}

/* ---- attr on symlinks ---- */

static void link_owner_is(const struct cb_ops *o, const char *name,
			  int rc, const char *p, uid_t uid, gid_t gid)
{
	struct stat st = { 0 };

	if (rc) {
		cb_rc0(o, name, rc);
		return;
	}
	o->lstat(p, &st);
	cb_ok(o, name, st.st_uid == uid && st.st_gid == gid, "uid %u gid %u",
	      (unsigned)st.st_uid, (unsigned)st.st_gid);
}

/*
 * lchown-, lchmod- and lutimes-style calls on a symlink act on the link
 * (or, for the mode, are refused as Linux does) and never on its target.
 * Needs root (chown to other ids).
 */
void cb_attr_symlink(const struct cb_ops *o)
{
	struct timespec ts[2] = { { 1000000, 0 }, { 2000000, 0 } };
	struct stat l = { 0 }, t = { 0 };
	int ret;

	cb_put_str(o, "so", "x");
	o->lchown("so", 4321, 999);
	o->symlink("so", "sol");
	link_owner_is(o, "attr.lchown.symlink", o->lchown("sol", 77, 88), "sol", 77,
		 88);
	link_owner_is(o, "attr.lchown.target_unchanged", 0, "so", 4321, 999);
	link_owner_is(o, "attr.lchown.symlink_gid_only",
		 o->lchown("sol", (uid_t)-1, 99), "sol", 77, 99);
	link_owner_is(o, "attr.lchown.target_still_unchanged", 0, "so", 4321, 999);
	o->chmod("so", 0640);
	/* not cb_err2: this check has never shown the errno on a pass */
	ret = o->lchmod("sol", 0600);
	if (ret >= 0)
		cb_ok(o, "attr.lchmod.symlink_refused", false,
		      "succeeded (rc %d), want EOPNOTSUPP", ret);
	else
		cb_ok(o, "attr.lchmod.symlink_refused",
		      ret == -EOPNOTSUPP || ret == -ENOTSUP, "got errno %s",
		      o->errname(-ret));
	o->stat("so", &t);
	cb_eq(o, "attr.lchmod.target_unchanged", t.st_mode & 07777, 0640);
	cb_rc0(o, "attr.lutimes.symlink", o->lutimens("sol", ts));
	o->lstat("sol", &l);
	o->stat("so", &t);
	cb_eq(o, "attr.lutimes.link_mtime", l.st_mtim.tv_sec, 2000000);
	cb_ok(o, "attr.lutimes.target_mtime_unchanged",
	      t.st_mtim.tv_sec != 2000000, "the target's mtime changed");
}
