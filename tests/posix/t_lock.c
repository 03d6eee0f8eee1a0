// SPDX-License-Identifier: GPL-2.0-or-later
/* flock(2), POSIX record locks and OFD locks. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "px.h"

/* What a forked child saw: F_GETLK result or F_SETLK rc/errno. */
struct probe {
	struct flock fl;
	int rc, err;
};

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

/* Runs fcntl(fd_of_child, cmd, fl) in a child with its own open(). */
static struct probe child_probe(const char *path, int cmd, struct flock fl)
{
	struct probe pr = {.rc = -1, .err = EIO};
	int p[2], fd;
	pid_t pid;

	if (pipe(p))
		return pr;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		fd = open(path, O_RDWR);
		pr.rc = fcntl(fd, cmd, &fl);
		pr.err = pr.rc ? errno : 0;
		pr.fl = fl;
		write(p[1], &pr, sizeof(pr));
		_exit(0);
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &pr, sizeof(pr)) != sizeof(pr))
		pr.rc = -1;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return pr;
}

static void lock_flock(void)
{
	int a, b, d;

	px_put_str("fl", "x");
	a = open("fl", O_RDWR);
	b = open("fl", O_RDWR);
	/* LOCK_NB everywhere: a broken filesystem must not hang the run. */
	px_eq("lock.flock.ex_rc", flock(a, LOCK_EX | LOCK_NB), 0);
	px_err("lock.flock.ex_other_ofd_EWOULDBLOCK",
	       flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	px_err("lock.flock.sh_other_ofd_EWOULDBLOCK",
	       flock(b, LOCK_SH | LOCK_NB), EWOULDBLOCK);
	d = dup(a);
	px_eq("lock.flock.dup_same_ofd_ok", flock(d, LOCK_EX | LOCK_NB), 0);
	close(d);
	px_eq("lock.flock.unlock_rc", flock(a, LOCK_UN), 0);
	px_eq("lock.flock.after_unlock_ok", flock(b, LOCK_EX | LOCK_NB), 0);
	flock(b, LOCK_UN);
	px_ok("lock.flock.shared_shared_ok",
	      !flock(a, LOCK_SH | LOCK_NB) && !flock(b, LOCK_SH | LOCK_NB),
	      "errno %s", px_errname(errno));
	px_err("lock.flock.shared_blocks_ex_EWOULDBLOCK",
	       flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	flock(b, LOCK_UN);
	flock(a, LOCK_EX | LOCK_NB);
	close(a);
	px_eq("lock.flock.close_releases", flock(b, LOCK_EX | LOCK_NB), 0);
	close(b);
}

static void lock_posix_owner(int fd)
{
	struct flock own;
	struct probe pr;

	px_eq("lock.posix.setlk_wr_rc",
	      fcntl(fd, F_SETLK, (struct flock[]){range(F_WRLCK, 100, 100)}),
	      0);
	pr = child_probe("pl", F_GETLK, range(F_WRLCK, 0, 1000));
	px_ok("lock.posix.getlk_child_type",
	      pr.rc == 0 && pr.fl.l_type == F_WRLCK, "rc %d type %d", pr.rc,
	      pr.fl.l_type);
	px_eq("lock.posix.getlk_child_pid", pr.fl.l_pid, getpid());
	px_ok("lock.posix.getlk_child_range",
	      pr.fl.l_start == 100 && pr.fl.l_len == 100, "start %lld len %lld",
	      (long long)pr.fl.l_start, (long long)pr.fl.l_len);
	pr = child_probe("pl", F_GETLK, range(F_WRLCK, 300, 100));
	px_ok("lock.posix.getlk_disjoint_unlck",
	      pr.rc == 0 && pr.fl.l_type == F_UNLCK, "type %d", pr.fl.l_type);
	pr = child_probe("pl", F_SETLK, range(F_RDLCK, 150, 10));
	px_ok("lock.posix.setlk_child_EAGAIN", pr.rc == -1 && pr.err == EAGAIN,
	      "rc %d errno %s", pr.rc, px_errname(pr.err));
	own = range(F_WRLCK, 0, 0);
	fcntl(fd, F_GETLK, &own);
	px_eq("lock.posix.own_lock_no_conflict", own.l_type, F_UNLCK);
	px_eq("lock.posix.unlock_rc",
	      fcntl(fd, F_SETLK, (struct flock[]){range(F_UNLCK, 0, 0)}), 0);
	pr = child_probe("pl", F_SETLK, range(F_WRLCK, 100, 100));
	px_ok("lock.posix.after_unlock_child_ok", pr.rc == 0, "errno %s",
	      px_errname(pr.err));
}

static void lock_posix(void)
{
	struct probe pr = {.rc = -1, .err = EIO};
	int fd, fd2, wo;

	px_put_str("pl", "0123456789");
	fd = open("pl", O_RDWR);
	lock_posix_owner(fd);

	px_ok("lock.posix.rdlck_shared",
	      !fcntl(fd, F_SETLK, (struct flock[]){range(F_RDLCK, 0, 10)}) &&
		      (pr = child_probe("pl", F_SETLK, range(F_RDLCK, 0, 10)))
				      .rc == 0,
	      "errno %s", px_errname(pr.err));
	/* Closing any fd of the file drops this process's POSIX locks. */
	fd2 = open("pl", O_RDONLY);
	close(fd2);
	pr = child_probe("pl", F_SETLK, range(F_WRLCK, 0, 10));
	px_ok("lock.posix.close_other_fd_releases", pr.rc == 0, "errno %s",
	      px_errname(pr.err));
	wo = open("pl", O_WRONLY);
	px_err("lock.posix.rdlck_on_wronly_EBADF",
	       fcntl(wo, F_SETLK, (struct flock[]){range(F_RDLCK, 0, 1)}),
	       EBADF);
	close(wo);
	close(fd);
}

static void lock_ofd(void)
{
	struct flock fl = range(F_WRLCK, 0, 10);
	int a, b;

	px_put_str("ofd", "x");
	a = open("ofd", O_RDWR);
	b = open("ofd", O_RDWR);
	px_eq("lock.ofd.setlk_rc", fcntl(a, F_OFD_SETLK, &fl), 0);
	fl = range(F_WRLCK, 5, 10);
	px_err("lock.ofd.conflict_EAGAIN", fcntl(b, F_OFD_SETLK, &fl), EAGAIN);
	fl = range(F_WRLCK, 0, 100);
	fcntl(b, F_OFD_GETLK, &fl);
	px_ok("lock.ofd.getlk_reports",
	      fl.l_type == F_WRLCK && fl.l_pid == -1 && fl.l_start == 0 &&
		      fl.l_len == 10,
	      "type %d pid %d", fl.l_type, fl.l_pid);
	fl = range(F_WRLCK, 0, 10);
	px_err("lock.ofd.vs_posix_same_process_EAGAIN", fcntl(b, F_SETLK, &fl),
	       EAGAIN);
	fl = range(F_UNLCK, 0, 0);
	px_eq("lock.ofd.unlock_rc", fcntl(a, F_OFD_SETLK, &fl), 0);
	fl = range(F_WRLCK, 5, 10);
	px_eq("lock.ofd.after_unlock_ok", fcntl(b, F_OFD_SETLK, &fl), 0);
	close(a);
	close(b);
}

void px_area_lock(void)
{
	lock_flock();
	lock_posix();
	lock_ofd();
}
