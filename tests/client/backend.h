/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Start a vhost-user-fs backend for the client tests.
 *
 * The backend is chosen by $VDAX_TEST_BACKEND: "virtiofsd" (default, QEMU's
 * C daemon at $VIRTIOFSD or /usr/lib/qemu/virtiofsd) or "vdaxd" (path in
 * $VDAXD, which meson sets when it builds vdaxd). A missing backend makes
 * the test skip with the reason.
 */
#ifndef VDAX_TESTS_CLIENT_BACKEND_H
#define VDAX_TESTS_CLIENT_BACKEND_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "lib/testd.h"

struct tb_backend {
	char dir[256];	  /* temp dir: share/ and the socket */
	char share[300];  /* exported directory */
	char sock[300];	  /* vhost-user socket path */
	pid_t pid;
	const char *vdaxd_arg; /* one more vdaxd argument (NULL: none) */
};

static inline const char *tb_kind(void)
{
	const char *k = getenv("VDAX_TEST_BACKEND");

	return k && *k ? k : "virtiofsd";
}

static inline void tb_sleep_ms(long ms)
{
	td_sleep_ms((unsigned int)ms);
}

static inline const char *tb_exe(void)
{
	const char *e;

	if (!strcmp(tb_kind(), "vdaxd")) {
		e = getenv("VDAXD");
		return e && *e ? e : NULL;
	}
	e = getenv("VIRTIOFSD");
	return e && *e ? e : "/usr/lib/qemu/virtiofsd";
}

/* Skips the whole test (exit 77) when the backend cannot exist here. */
static inline void tb_require(void)
{
	const char *exe = tb_exe();
	char why[512];

	if (!exe) {
		snprintf(why, sizeof(why), "backend %s: set VDAXD", tb_kind());
		tap_skip_all(why);
	}
	if (access(exe, X_OK)) {
		snprintf(why, sizeof(why), "%s not installed", exe);
		tap_skip_all(why);
	}
	if (geteuid() != 0 && !strcmp(tb_kind(), "virtiofsd"))
		tap_skip_all("virtiofsd needs root");
}

/* Create the temp dir (share and socket); no daemon yet. */
static inline void tb_init(struct tb_backend *b)
{
	if (td_tmpdir("client", b->dir, sizeof(b->dir)))
		tap_bail("mkdtemp failed");
	snprintf(b->share, sizeof(b->share), "%s/share", b->dir);
	snprintf(b->sock, sizeof(b->sock), "%s/fs.sock", b->dir);
	if (mkdir(b->share, 0755))
		tap_bail("mkdir share failed");
	b->pid = -1;
}

/* Start (or restart) the daemon; one daemon serves one connection. */
static inline int tb_start(struct tb_backend *b)
{
	const char *exe = tb_exe();
	pid_t pid;

	unlink(b->sock);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		char sockopt[400], src[400];

		td_quiet(getenv("VDAX_TEST_VERBOSE") != NULL);
		snprintf(sockopt, sizeof(sockopt), "--socket-path=%s", b->sock);
		if (!strcmp(tb_kind(), "vdaxd")) {
			/* $VDAX_TEST_VDAXD_ARG: one more, for every test */
			const char *a1 = b->vdaxd_arg;
			const char *a2 = getenv("VDAX_TEST_VDAXD_ARG");

			if (a2 && !*a2)
				a2 = NULL;
			if (!a1) {
				a1 = a2;
				a2 = NULL;
			}
			/* Same features as virtiofsd below; vdaxd keeps its
			 * default sandbox (namespaces) and seccomp=kill. */
			snprintf(src, sizeof(src),
				 "source=%s,cache=auto,xattr,posix_lock,flock",
				 b->share);
			execl(exe, exe, sockopt, "-o", src, a1, a2,
			      (char *)NULL);
		} else {
			snprintf(src, sizeof(src),
				 "source=%s,cache=auto,xattr,posix_lock,flock,sandbox=chroot",
				 b->share);
			execl(exe, exe, sockopt, "-o", src, (char *)NULL);
		}
		_exit(127);
	}
	b->pid = pid;
	return td_wait_socket(b->sock, &b->pid, 500);
}

/* Kill the daemon (SIGKILL) and reap it. */
static inline void tb_kill(struct tb_backend *b)
{
	td_end(&b->pid, SIGKILL, 0);
}

/* Wait for a daemon that exits on disconnect; kill it after 2 s. */
static inline void tb_stop(struct tb_backend *b)
{
	td_end(&b->pid, 0, 2000);
}

static inline void tb_cleanup(struct tb_backend *b)
{
	tb_kill(b);
	if (!td_rmrf(b->dir))
		diag("cleanup of %s failed", b->dir);
}

/* Host-side path helper. */
static inline const char *tb_host(struct tb_backend *b, const char *rel,
				  char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", b->share, rel);
	return buf;
}

/*
 * vdax_open_session() on a backend tb_start() just saw bind its socket:
 * until it listens, a connect is refused, so retry that for a moment (a
 * probing connect would use up virtiofsd's one connection).
 */
static inline int tb_open_session(const struct vdax_opts *o, struct vdax **vd)
{
	int ret = -ECONNREFUSED;

	for (int i = 0; i < 200 && ret == -ECONNREFUSED; i++) {
		ret = vdax_open_session(o, vd);
		if (ret == -ECONNREFUSED)
			usleep(10000);
	}
	return ret;
}

#endif
