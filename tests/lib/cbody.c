// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The shared conformance body (cbody.h): the check helpers and the helpers
 * over the operations table that the areas (body_<area>.c) share.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cbody.h"

bool cb_ok(const struct cb_ops *o, const char *name, bool cond,
	   const char *fmt, ...)
{
	char detail[256] = "";
	va_list ap;

	if (!cond && fmt) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	return o->check(name, cond, detail[0] ? detail : NULL);
}

bool cb_rc0(const struct cb_ops *o, const char *name, long long rc)
{
	return cb_ok(o, name, rc >= 0, "got errno %s", o->errname((int)-rc));
}

bool cb_err(const struct cb_ops *o, const char *name, long long rc, int want)
{
	if (rc >= 0)
		return cb_ok(o, name, false, "succeeded (rc %lld), want %s", rc,
			     o->errname(want));
	return cb_ok(o, name, rc == -want, "got errno %s",
		     o->errname((int)-rc));
}

bool cb_err2(const struct cb_ops *o, const char *name, long long rc, int want,
	     int alt)
{
	char detail[64];

	if (rc >= 0)
		return cb_ok(o, name, false, "succeeded (rc %lld), want %s", rc,
			     o->errname(want));
	snprintf(detail, sizeof(detail), "got errno %s", o->errname((int)-rc));
	return (o->check_always ? o->check_always : o->check)(
		name, rc == -want || rc == -alt, detail);
}

bool cb_eq(const struct cb_ops *o, const char *name, long long got,
	   long long want)
{
	/* a call's -errno where a count was due: name the errno */
	if (got < 0 && got >= -4095 && want >= 0)
		return cb_ok(o, name, false, "got %lld (errno %s), want %lld",
			     got, o->errname((int)-got), want);
	return cb_ok(o, name, got == want, "got %lld, want %lld", got, want);
}

bool cb_mode(const struct cb_ops *o, const char *name, unsigned int got,
	     unsigned int want)
{
	return cb_ok(o, name, got == want, "got 0%o, want 0%o", got, want);
}

bool cb_str(const struct cb_ops *o, const char *name, const char *got,
	    const char *want)
{
	bool same = got && want && !strcmp(got, want);

	return cb_ok(o, name, same, "got \"%.60s\", want \"%.60s\"",
		     got ? got : "(null)", want ? want : "(null)");
}

void cb_skip(const struct cb_ops *o, const char *name, const char *why)
{
	o->skip(name, why);
}

void cb_fail_errno(const struct cb_ops *o, const char *name, int err)
{
	cb_ok(o, name, false, "got errno %s", o->errname(err));
}

/* ---- helpers over the table ---- */

int cb_put(const struct cb_ops *o, const char *p, const void *data,
	   size_t len)
{
	void *f;
	ssize_t n = 0;
	int ret = o->open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644, &f);

	if (ret)
		return ret;
	if (len)
		n = o->pwrite(f, data, len, 0);
	ret = o->close(f);
	if (n < 0)
		return (int)n;
	return (size_t)n == len ? ret : -EIO;
}

int cb_put_str(const struct cb_ops *o, const char *p, const char *s)
{
	return cb_put(o, p, s, strlen(s));
}

ssize_t cb_get(const struct cb_ops *o, const char *p, void *buf, size_t cap)
{
	void *f;
	ssize_t n;
	int ret = o->open(p, O_RDONLY, 0, &f);

	if (ret)
		return ret;
	n = o->pread(f, buf, cap, 0);
	o->close(f);
	return n;
}

bool cb_get_str_is(const struct cb_ops *o, const char *p, const char *want)
{
	char buf[256];
	ssize_t n = cb_get(o, p, buf, sizeof(buf) - 1);

	if (n < 0)
		return false;
	buf[n] = 0;
	return !strcmp(buf, want);
}

ino_t cb_ino(const struct cb_ops *o, const char *p)
{
	struct stat st;

	return o->lstat(p, &st) ? 0 : st.st_ino;
}

off_t cb_size(const struct cb_ops *o, const char *p)
{
	struct stat st;

	return o->lstat(p, &st) ? -1 : st.st_size;
}

nlink_t cb_nlink(const struct cb_ops *o, const char *p)
{
	struct stat st;

	return o->stat(p, &st) ? 0 : st.st_nlink;
}

bool cb_is_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* The same bytes as vdax-posix and vdax-conform have always written. */
static unsigned char pattern_byte(off_t o)
{
	return (unsigned char)((o * 131 + (o >> 9) * 7 + (o >> 20)) | 1);
}

void cb_pattern(void *buf, size_t len, off_t base)
{
	unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = pattern_byte(base + (off_t)i);
}

bool cb_pattern_ok(const void *buf, size_t len, off_t base)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern_byte(base + (off_t)i))
			return false;
	return true;
}

void cb_msleep(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

bool cb_host_str_is(const struct cb_ops *o, const char *p, const char *want)
{
	char buf[256];
	ssize_t n;

	if (!o->host_read)
		return true;
	n = o->host_read(p, buf, sizeof(buf) - 1, 0);
	if (n < 0)
		return false;
	buf[n] = 0;
	return !strcmp(buf, want);
}

bool cb_host_exists(const struct cb_ops *o, const char *p)
{
	struct stat st;

	return !o->host_lstat || !o->host_lstat(p, &st);
}

bool cb_host_size_is(const struct cb_ops *o, const char *p, off_t want)
{
	struct stat st;

	return !o->host_lstat || (!o->host_lstat(p, &st) && st.st_size == want);
}

bool cb_host_mode_is(const struct cb_ops *o, const char *p, mode_t want)
{
	struct stat st;

	return !o->host_lstat ||
	       (!o->host_lstat(p, &st) && (st.st_mode & 07777) == want);
}

bool cb_host_absent(const struct cb_ops *o, const char *p)
{
	struct stat st;

	return !o->host_lstat || o->host_lstat(p, &st);
}

/* Both names are one (existing) inode on the host. */
bool cb_host_same_ino(const struct cb_ops *o, const char *a, const char *b)
{
	struct stat sa, sb;

	if (!o->host_lstat)
		return true;
	return !o->host_lstat(a, &sa) && !o->host_lstat(b, &sb) &&
	       sa.st_ino == sb.st_ino;
}

bool cb_gone(const struct cb_ops *o, const char *p)
{
	struct stat st;

	return o->lstat(p, &st) == -ENOENT &&
	       (!o->host_lstat || o->host_lstat(p, &st));
}

int cb_gone_rc(const struct cb_ops *o, const char *p)
{
	struct stat st;
	int rc = o->lstat(p, &st);

	if (rc == -ENOENT && o->host_lstat && !o->host_lstat(p, &st))
		return 0;
	return rc;
}
