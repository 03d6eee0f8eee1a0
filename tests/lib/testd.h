/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers for the tests that start a backend daemon (vdaxd, QEMU's C
 * virtiofsd, the Rust virtiofsd) themselves: a temp dir for its share and
 * socket, quiet stdio in the child, waiting for the socket, stopping and
 * reaping it, and removing the temp dir. tests/client, tests/daxe2e,
 * tests/integration, tests/conformance and tests/hardening each had a
 * copy of these loops.
 *
 * Header only (static inline), libc only: it is included from header-only
 * harnesses (client/backend.h, daxe2e/daxe2e.h) and from single-file tests
 * alike, without a library to link.
 */
#ifndef VDAX_TESTS_LIB_TESTD_H
#define VDAX_TESTS_LIB_TESTD_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline void td_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * @buf = $TMPDIR (or /tmp) + "/vdax-@what-XXXXXX", created with mkdtemp.
 * 0, -ENAMETOOLONG or mkdtemp's -errno.
 */
static inline int td_tmpdir(const char *what, char *buf, size_t size)
{
	const char *tmp = getenv("TMPDIR");

	if ((size_t)snprintf(buf, size, "%s/vdax-%s-XXXXXX",
			     tmp && *tmp ? tmp : "/tmp", what) >= size)
		return -ENAMETOOLONG;
	return mkdtemp(buf) ? 0 : -errno;
}

/*
 * In the forked child, before exec: the daemon is sent SIGTERM when the
 * test (the thread that forked it: tests start their daemons from the main
 * thread) dies, so that a test killed by meson's timeout leaves no daemon
 * behind; and its stdout and stderr go to /dev/null unless @verbose, so
 * that its log does not mix with TAP.
 */
static inline void td_quiet(bool verbose)
{
	pid_t parent = getppid();
	int devnull;

	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == 0 && getppid() != parent)
		_exit(127); /* the test is already gone */
	if (verbose)
		return;
	devnull = open("/dev/null", O_WRONLY);
	if (devnull < 0)
		return;
	dup2(devnull, 1);
	dup2(devnull, 2);
	if (devnull > 2)
		close(devnull);
}

/*
 * Waits until daemon *@pid has created its UNIX socket @path: 0; or
 * -ECHILD if the daemon exited first (it is reaped and *@pid set to -1);
 * or -ETIMEDOUT after @tries polls 10 ms apart. The socket file exists
 * from bind(); the daemon may still refuse a connect until listen(), so
 * callers retry their first connect too.
 */
static inline int td_wait_socket(const char *path, pid_t *pid, int tries)
{
	for (int i = 0; i < tries; i++) {
		struct stat st;
		int status;

		if (!stat(path, &st) && S_ISSOCK(st.st_mode))
			return 0;
		if (waitpid(*pid, &status, WNOHANG) == *pid) {
			*pid = -1;
			return -ECHILD;
		}
		td_sleep_ms(10);
	}
	return -ETIMEDOUT;
}

/*
 * Ends daemon *@pid: sends @sig (0: none, for a daemon that exits by
 * itself on disconnect), gives it @ms to exit, then SIGKILLs it. Reaps it
 * either way and sets *@pid to -1; a *@pid <= 0 is left alone.
 */
static inline void td_end(pid_t *pid, int sig, unsigned int ms)
{
	if (*pid <= 0)
		return;
	if (sig)
		kill(*pid, sig);
	for (unsigned int t = 0; t < ms; t += 10) {
		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = -1;
			return;
		}
		td_sleep_ms(10);
	}
	kill(*pid, SIGKILL);
	waitpid(*pid, NULL, 0);
	*pid = -1;
}

/* rm -rf @path (a temp dir of ours); false if that failed. */
static inline bool td_rmrf(const char *path)
{
	char cmd[4200];

	if ((size_t)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path) >=
	    sizeof(cmd))
		return false;
	return system(cmd) == 0;
}

#endif
