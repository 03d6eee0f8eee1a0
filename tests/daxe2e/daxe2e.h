/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers for the DAX end-to-end tests: start vdaxd with a DAX window (or
 * QEMU's virtiofsd, which has none) on a temporary shared directory, open
 * a libvdax session on it, and look at the files from the host side.
 */
#ifndef VDAX_TESTS_DAXE2E_H
#define VDAX_TESTS_DAXE2E_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vdax/vdax.h>

#include "tap.h"
#include "lib/testd.h"

struct dx {
	char dir[256];
	char share[300];
	char sock[300];
	pid_t pid;
	struct vdax *vd;
};

static inline void dx_sleep_ms(long ms)
{
	td_sleep_ms((unsigned int)ms);
}

static inline const char *dx_vdaxd(void)
{
	const char *e = getenv("VDAXD");

	if (!e || !*e)
		tap_skip_all("VDAXD not set (vdaxd not built)");
	if (access(e, X_OK))
		tap_skip_all("vdaxd not executable");
	return e;
}

static inline void dx_init(struct dx *d)
{
	memset(d, 0, sizeof(*d));
	if (td_tmpdir("daxe2e", d->dir, sizeof(d->dir)))
		tap_bail("mkdtemp failed");
	snprintf(d->share, sizeof(d->share), "%s/share", d->dir);
	snprintf(d->sock, sizeof(d->sock), "%s/fs.sock", d->dir);
	if (mkdir(d->share, 0755))
		tap_bail("mkdir share failed");
	d->pid = -1;
}

/* Start @exe with "--socket-path=... --shared-dir=..." style args for
 * vdaxd, or virtiofsd's own (@virtiofsd), plus the NULL-terminated rest. */
static inline int dx_start(struct dx *d, const char *exe, int virtiofsd, ...)
{
	char a1[400], a2[400];
	const char *argv[32];
	int argc = 0;
	va_list ap;
	pid_t pid;

	unlink(d->sock);
	snprintf(a1, sizeof(a1), "--socket-path=%s", d->sock);
	argv[argc++] = exe;
	argv[argc++] = a1;
	if (virtiofsd) {
		snprintf(a2, sizeof(a2),
			 "source=%s,cache=auto,sandbox=chroot", d->share);
		argv[argc++] = "-o";
		argv[argc++] = a2;
	} else {
		snprintf(a2, sizeof(a2), "--shared-dir=%s", d->share);
		argv[argc++] = a2;
		argv[argc++] = "--sandbox=none";
		argv[argc++] = "--seccomp=none";
	}
	va_start(ap, virtiofsd);
	for (const char *s; argc < 31 && (s = va_arg(ap, const char *));)
		argv[argc++] = s;
	va_end(ap);
	argv[argc] = NULL;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		td_quiet(getenv("VDAX_TEST_VERBOSE") != NULL);
		execv(exe, (char **)argv);
		_exit(127);
	}
	d->pid = pid;
	return td_wait_socket(d->sock, &d->pid, 1000);
}

static inline int dx_open(struct dx *d, const char *options)
{
	struct vdax_opts o = { .socket_path = d->sock,
			       .options = options,
			       .timeout_ms = 30000 };

	int ret;

	/*
	 * The socket file exists from bind(); until listen() a connect is
	 * refused. A probing connect would use up virtiofsd's one connection,
	 * so retry the open itself for a moment instead.
	 */
	for (int i = 0; i < 200; i++) {
		ret = vdax_open_session(&o, &d->vd);
		if (ret != -ECONNREFUSED)
			break;
		dx_sleep_ms(10);
	}
	return ret;
}

static inline void dx_stop(struct dx *d)
{
	vdax_close(d->vd);
	d->vd = NULL;
	/* the daemon exits on disconnect; kill it after 2 s */
	td_end(&d->pid, 0, 2000);
}

static inline void dx_cleanup(struct dx *d)
{
	if (d->vd || d->pid > 0)
		dx_stop(d);
	if (!td_rmrf(d->dir))
		diag("cleanup of %s failed", d->dir);
}

static inline const char *dx_host(struct dx *d, const char *rel, char *buf,
				  size_t size)
{
	snprintf(buf, size, "%s/%s", d->share, rel);
	return buf;
}

static inline struct vdax_stats dx_stats(struct dx *d)
{
	struct vdax_stats st;

	if (vdax_get_stats(d->vd, &st))
		memset(&st, 0, sizeof(st));
	return st;
}

/* A byte that depends on the file and the offset. */
static inline unsigned char dx_pat(unsigned seed, uint64_t off)
{
	uint64_t x = (off >> 3) * 0x9E3779B97F4A7C15ull + seed * 0x100000001B3ull;

	return (unsigned char)((x >> 29) ^ off);
}

static inline void dx_fill(unsigned char *p, size_t len, unsigned seed,
			   uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		p[i] = dx_pat(seed, off + i);
}

/* Index of the first byte that differs from the pattern, or -1. */
static inline long dx_check(const unsigned char *p, size_t len, unsigned seed,
			    uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != dx_pat(seed, off + i))
			return (long)i;
	return -1;
}

static inline int dx_host_write(struct dx *d, const char *rel,
				const void *buf, size_t len, off_t off)
{
	char p[600];
	int fd = open(dx_host(d, rel, p, sizeof(p)), O_WRONLY | O_CREAT, 0644);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pwrite(fd, buf, len, off);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

static inline ssize_t dx_host_read(struct dx *d, const char *rel, void *buf,
				   size_t len, off_t off)
{
	char p[600];
	int fd = open(dx_host(d, rel, p, sizeof(p)), O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread(fd, buf, len, off);
	close(fd);
	return n;
}

static inline long long dx_host_size(struct dx *d, const char *rel)
{
	char p[600];
	struct stat st;

	if (stat(dx_host(d, rel, p, sizeof(p)), &st))
		return -errno;
	return st.st_size;
}

#endif
