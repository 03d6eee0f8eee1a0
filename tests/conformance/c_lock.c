// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * flock and POSIX record locks. A libvdax handle is its own lock owner
 * (like an open file description), so where vdax-posix probes from a
 * forked child with its own open(), this uses a second handle.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cf.h"

static struct flock range(short type, off_t start, off_t len)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = start;
	fl.l_len = len;
	return fl;
}

static int setlk(struct vdax_file *f, short type, off_t start, off_t len)
{
	struct flock fl = range(type, start, len);

	return f ? vdax_setlk(f, &fl, 0) : -EBADF;
}

/* Host view: does a fresh host open see a flock conflict? */
static bool host_flock_blocked(const char *rel)
{
	int fd = open(H(rel), O_RDWR);
	bool blocked;

	if (fd < 0)
		return false;
	blocked = flock(fd, LOCK_EX | LOCK_NB) && errno == EWOULDBLOCK;
	close(fd);
	return blocked;
}

static short host_getlk_type(const char *rel, off_t start, off_t len)
{
	struct flock fl = range(F_WRLCK, start, len);
	int fd = open(H(rel), O_RDWR);

	if (fd < 0)
		return -1;
	if (fcntl(fd, F_OFD_GETLK, &fl))
		fl.l_type = -1;
	close(fd);
	return fl.l_type;
}

static void lock_flock(void)
{
	struct vdax_file *a, *b;
	int rc;

	cf_put_str("fl", "x");
	a = cf_open("fl", O_RDWR, 0, NULL);
	b = cf_open("fl", O_RDWR, 0, NULL);
	if (!a || !b) {
		cf_fail_errno("lock.flock.ex_rc", ENOENT);
		vdax_release(a);
		vdax_release(b);
		return;
	}
	/* LOCK_NB everywhere: a broken backend must not hang the run. */
	cf_eq("lock.flock.ex_rc", vdax_flock(a, LOCK_EX | LOCK_NB), 0);
	cf_err("lock.flock.ex_other_ofd_EWOULDBLOCK",
	       vdax_flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	cf_err("lock.flock.sh_other_ofd_EWOULDBLOCK",
	       vdax_flock(b, LOCK_SH | LOCK_NB), EWOULDBLOCK);
	cf_ok("lock.flock.host_sees_lock", host_flock_blocked("fl"),
	      "host flock succeeded");
	cf_eq("lock.flock.relock_same_handle_ok",
	      vdax_flock(a, LOCK_EX | LOCK_NB), 0);
	cf_eq("lock.flock.unlock_rc", vdax_flock(a, LOCK_UN), 0);
	cf_eq("lock.flock.after_unlock_ok", vdax_flock(b, LOCK_EX | LOCK_NB), 0);
	vdax_flock(b, LOCK_UN);
	rc = vdax_flock(a, LOCK_SH | LOCK_NB) ?: vdax_flock(b, LOCK_SH | LOCK_NB);
	cf_ok("lock.flock.shared_shared_ok", rc == 0, "errno %s",
	      cf_errname(-rc));
	cf_err("lock.flock.shared_blocks_ex_EWOULDBLOCK",
	       vdax_flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	vdax_flock(b, LOCK_UN);
	vdax_flock(a, LOCK_EX | LOCK_NB);
	vdax_release(a);
	cf_eq("lock.flock.close_releases", vdax_flock(b, LOCK_EX | LOCK_NB), 0);
	vdax_release(b);
	cf_ok("lock.flock.host_free_after_release", !host_flock_blocked("fl"),
	      "host still blocked");
}

static void lock_posix(void)
{
	struct vdax_file *a, *b, *wo;
	struct flock fl;
	int rc;

	cf_put_str("pl", "0123456789");
	a = cf_open("pl", O_RDWR, 0, NULL);
	b = cf_open("pl", O_RDWR, 0, NULL);
	if (!a || !b) {
		cf_fail_errno("lock.posix.setlk_wr_rc", ENOENT);
		vdax_release(a);
		vdax_release(b);
		return;
	}
	cf_eq("lock.posix.setlk_wr_rc", setlk(a, F_WRLCK, 100, 100), 0);
	fl = range(F_WRLCK, 0, 1000);
	rc = vdax_getlk(b, &fl);
	cf_ok("lock.posix.getlk_child_type", rc == 0 && fl.l_type == F_WRLCK,
	      "rc %s type %d", cf_errname(-rc), fl.l_type);
	cf_ok("lock.posix.getlk_child_range",
	      fl.l_start == 100 && fl.l_len == 100, "start %lld len %lld",
	      (long long)fl.l_start, (long long)fl.l_len);
	cf_eq("lock.posix.host_sees_lock", host_getlk_type("pl", 0, 1000),
	      F_WRLCK);
	fl = range(F_WRLCK, 300, 100);
	rc = vdax_getlk(b, &fl);
	cf_ok("lock.posix.getlk_disjoint_unlck",
	      rc == 0 && fl.l_type == F_UNLCK, "rc %s type %d",
	      cf_errname(-rc), fl.l_type);
	cf_err("lock.posix.setlk_child_EAGAIN", setlk(b, F_RDLCK, 150, 10),
	       EAGAIN);
	fl = range(F_WRLCK, 0, 0);
	vdax_getlk(a, &fl);
	cf_eq("lock.posix.own_lock_no_conflict", fl.l_type, F_UNLCK);
	cf_eq("lock.posix.unlock_rc", setlk(a, F_UNLCK, 0, 0), 0);
	cf_eq("lock.posix.after_unlock_child_ok", setlk(b, F_WRLCK, 100, 100),
	      0);
	setlk(b, F_UNLCK, 0, 0);

	rc = setlk(a, F_RDLCK, 0, 10) ?: setlk(b, F_RDLCK, 0, 10);
	cf_ok("lock.posix.rdlck_shared", rc == 0, "errno %s", cf_errname(-rc));
	setlk(b, F_UNLCK, 0, 0);
	vdax_release(a);
	cf_eq("lock.posix.release_drops_locks", setlk(b, F_WRLCK, 0, 10), 0);
	vdax_release(b);
	cf_eq("lock.posix.host_free_after_release",
	      host_getlk_type("pl", 0, 1000), F_UNLCK);

	wo = cf_open("pl", O_WRONLY, 0, NULL);
	cf_err("lock.posix.rdlck_on_wronly_EBADF", setlk(wo, F_RDLCK, 0, 1),
	       EBADF);
	vdax_release(wo);
}

void cf_area_lock(void)
{
	lock_flock();
	lock_posix();
}
