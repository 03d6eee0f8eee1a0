// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The lock area of the shared body (cbody.h): flock(2), POSIX record locks
 * and OFD locks.
 *
 * The other lock owner is a "peer" (peer_open): for vdax-posix a forked
 * child with its own open() for each call (POSIX locks belong to the
 * process, so the child's vanish with it); for vdax-conform a second
 * libvdax handle, its own lock owner like an open file description, whose
 * locks stay until it unlocks or is released.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cbody.h"

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

static int setlk(const struct cb_ops *o, void *f, short type, off_t start,
		 off_t len)
{
	struct flock fl = range(type, start, len);

	return f ? o->setlk(f, &fl) : -EBADF;
}

static int peer_setlk(const struct cb_ops *o, void *peer, short type,
		      off_t start, off_t len)
{
	struct flock fl = range(type, start, len);

	return peer ? o->peer_lk(peer, F_SETLK, &fl) : -EBADF;
}

static void lock_flock(const struct cb_ops *o)
{
	void *a = NULL, *b = NULL, *d;
	int rc;

	cb_put_str(o, "fl", "x");
	if (o->open("fl", O_RDWR, 0, &a))
		a = NULL;
	if (o->open("fl", O_RDWR, 0, &b))
		b = NULL;
	if (!a || !b) {
		cb_fail_errno(o, "lock.flock.ex_rc", ENOENT);
		if (a)
			o->close(a);
		if (b)
			o->close(b);
		return;
	}
	/* LOCK_NB everywhere: a broken filesystem must not hang the run. */
	cb_eq(o, "lock.flock.ex_rc", o->flock(a, LOCK_EX | LOCK_NB), 0);
	cb_err(o, "lock.flock.ex_other_ofd_EWOULDBLOCK",
	       o->flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	cb_err(o, "lock.flock.sh_other_ofd_EWOULDBLOCK",
	       o->flock(b, LOCK_SH | LOCK_NB), EWOULDBLOCK);
	if (o->host_flock_blocked)
		cb_ok(o, "lock.flock.host_sees_lock",
		      o->host_flock_blocked("fl"), "host flock succeeded");
	/* the lock belongs to the open file: a dup (or itself) may relock */
	if (o->dup && !o->dup(a, &d)) {
		cb_eq(o, "lock.flock.dup_same_ofd_ok",
		      o->flock(d, LOCK_EX | LOCK_NB), 0);
		o->close(d);
	} else if (o->dup) {
		cb_ok(o, "lock.flock.dup_same_ofd_ok", false, "dup failed");
	} else {
		cb_eq(o, "lock.flock.relock_same_handle_ok",
		      o->flock(a, LOCK_EX | LOCK_NB), 0);
	}
	cb_eq(o, "lock.flock.unlock_rc", o->flock(a, LOCK_UN), 0);
	cb_eq(o, "lock.flock.after_unlock_ok", o->flock(b, LOCK_EX | LOCK_NB),
	      0);
	o->flock(b, LOCK_UN);
	rc = o->flock(a, LOCK_SH | LOCK_NB) ?: o->flock(b, LOCK_SH | LOCK_NB);
	cb_ok(o, "lock.flock.shared_shared_ok", rc == 0, "errno %s",
	      o->errname(-rc));
	cb_err(o, "lock.flock.shared_blocks_ex_EWOULDBLOCK",
	       o->flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	o->flock(b, LOCK_UN);
	o->flock(a, LOCK_EX | LOCK_NB);
	o->close(a);
	cb_eq(o, "lock.flock.close_releases", o->flock(b, LOCK_EX | LOCK_NB),
	      0);
	o->close(b);
	if (o->host_flock_blocked)
		cb_ok(o, "lock.flock.host_free_after_release",
		      !o->host_flock_blocked("fl"), "host still blocked");
}

static void lock_posix(const struct cb_ops *o)
{
	void *a = NULL, *b = NULL, *wo;
	struct flock fl;
	int rc;

	cb_put_str(o, "pl", "0123456789");
	if (o->open("pl", O_RDWR, 0, &a))
		a = NULL;
	if (o->peer_open("pl", &b))
		b = NULL;
	if (!a || !b) {
		cb_fail_errno(o, "lock.posix.setlk_wr_rc", ENOENT);
		if (a)
			o->close(a);
		if (b)
			o->peer_close(b);
		return;
	}
	cb_eq(o, "lock.posix.setlk_wr_rc", setlk(o, a, F_WRLCK, 100, 100), 0);
	fl = range(F_WRLCK, 0, 1000);
	rc = o->peer_lk(b, F_GETLK, &fl);
	cb_ok(o, "lock.posix.getlk_child_type",
	      rc == 0 && fl.l_type == F_WRLCK, "rc %s type %d",
	      o->errname(-rc), fl.l_type);
	/* a process-owned lock names its holder */
	if (o->flags & CB_PROCESS_LOCKS)
		cb_eq(o, "lock.posix.getlk_child_pid", fl.l_pid, getpid());
	cb_ok(o, "lock.posix.getlk_child_range",
	      fl.l_start == 100 && fl.l_len == 100, "start %lld len %lld",
	      (long long)fl.l_start, (long long)fl.l_len);
	if (o->host_getlk_type)
		cb_eq(o, "lock.posix.host_sees_lock",
		      o->host_getlk_type("pl", 0, 1000), F_WRLCK);
	fl = range(F_WRLCK, 300, 100);
	rc = o->peer_lk(b, F_GETLK, &fl);
	cb_ok(o, "lock.posix.getlk_disjoint_unlck",
	      rc == 0 && fl.l_type == F_UNLCK, "rc %s type %d",
	      o->errname(-rc), fl.l_type);
	cb_err(o, "lock.posix.setlk_child_EAGAIN",
	       peer_setlk(o, b, F_RDLCK, 150, 10), EAGAIN);
	fl = range(F_WRLCK, 0, 0);
	o->getlk(a, &fl);
	cb_eq(o, "lock.posix.own_lock_no_conflict", fl.l_type, F_UNLCK);
	cb_eq(o, "lock.posix.unlock_rc", setlk(o, a, F_UNLCK, 0, 0), 0);
	cb_eq(o, "lock.posix.after_unlock_child_ok",
	      peer_setlk(o, b, F_WRLCK, 100, 100), 0);
	peer_setlk(o, b, F_UNLCK, 0, 0);

	rc = setlk(o, a, F_RDLCK, 0, 10) ?: peer_setlk(o, b, F_RDLCK, 0, 10);
	cb_ok(o, "lock.posix.rdlck_shared", rc == 0, "errno %s",
	      o->errname(-rc));
	if (o->flags & CB_PROCESS_LOCKS) {
		void *f2;

		/* Closing any fd of the file drops this process's locks. */
		if (!o->open("pl", O_RDONLY, 0, &f2))
			o->close(f2);
		cb_eq(o, "lock.posix.close_other_fd_releases",
		      peer_setlk(o, b, F_WRLCK, 0, 10), 0);
	} else {
		/* releasing the handle drops its locks */
		peer_setlk(o, b, F_UNLCK, 0, 0);
		o->close(a);
		a = NULL;
		cb_eq(o, "lock.posix.release_drops_locks",
		      peer_setlk(o, b, F_WRLCK, 0, 10), 0);
		o->peer_close(b);
		b = NULL;
		if (o->host_getlk_type)
			cb_eq(o, "lock.posix.host_free_after_release",
			      o->host_getlk_type("pl", 0, 1000), F_UNLCK);
	}

	if (o->open("pl", O_WRONLY, 0, &wo))
		wo = NULL;
	cb_err(o, "lock.posix.rdlck_on_wronly_EBADF",
	       setlk(o, wo, F_RDLCK, 0, 1), EBADF);
	if (wo)
		o->close(wo);
	if (a)
		o->close(a);
	if (b)
		o->peer_close(b);
}

/* Open file description locks: where the suite has them (system calls). */
static void lock_ofd(const struct cb_ops *o)
{
	struct flock fl = range(F_WRLCK, 0, 10);
	void *a = NULL, *b = NULL;

	cb_put_str(o, "ofd", "x");
	if (o->open("ofd", O_RDWR, 0, &a) || o->open("ofd", O_RDWR, 0, &b)) {
		cb_fail_errno(o, "lock.ofd.setlk_rc", ENOENT);
		if (a)
			o->close(a);
		return;
	}
	cb_eq(o, "lock.ofd.setlk_rc", o->ofd_lk(a, F_OFD_SETLK, &fl), 0);
	fl = range(F_WRLCK, 5, 10);
	cb_err(o, "lock.ofd.conflict_EAGAIN", o->ofd_lk(b, F_OFD_SETLK, &fl),
	       EAGAIN);
	fl = range(F_WRLCK, 0, 100);
	o->ofd_lk(b, F_OFD_GETLK, &fl);
	cb_ok(o, "lock.ofd.getlk_reports",
	      fl.l_type == F_WRLCK && fl.l_pid == -1 && fl.l_start == 0 &&
		      fl.l_len == 10,
	      "type %d pid %d", fl.l_type, fl.l_pid);
	fl = range(F_WRLCK, 0, 10);
	/* an OFD lock conflicts with the same process's POSIX lock */
	cb_err(o, "lock.ofd.vs_posix_same_process_EAGAIN", o->setlk(b, &fl),
	       EAGAIN);
	fl = range(F_UNLCK, 0, 0);
	cb_eq(o, "lock.ofd.unlock_rc", o->ofd_lk(a, F_OFD_SETLK, &fl), 0);
	fl = range(F_WRLCK, 5, 10);
	cb_eq(o, "lock.ofd.after_unlock_ok", o->ofd_lk(b, F_OFD_SETLK, &fl),
	      0);
	o->close(a);
	o->close(b);
}

void cb_area_lock(const struct cb_ops *o)
{
	lock_flock(o);
	lock_posix(o);
	if (o->ofd_lk)
		lock_ofd(o);
}
