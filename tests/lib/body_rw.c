// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The rw area of the shared body (cbody.h): read, write, pread, pwrite
 * and lseek, including an 8 MiB pattern round trip. Where the suite sees
 * the host, the data and mtimes are checked there too.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "cbody.h"

#define BIG (8u << 20)

static void rw_eof(const struct cb_ops *o)
{
	char buf[256], want[100];
	ssize_t n;
	void *f;
	int ret;

	cb_pattern(want, sizeof(want), 0);
	ret = o->open("small", O_RDWR | O_CREAT | O_TRUNC, 0644, &f);
	if (ret) {
		cb_fail_errno(o, "rw.write.count", -ret);
		return;
	}
	cb_eq(o, "rw.write.count", o->write(f, want, 100), 100);
	cb_eq(o, "rw.write.offset_advanced", o->lseek(f, 0, SEEK_CUR), 100);
	cb_eq(o, "rw.read.at_eof_0", o->read(f, buf, 10), 0);
	n = o->pread(f, buf, 200, 50);
	cb_ok(o, "rw.pread.short_at_eof", n == 50 && !memcmp(buf, want + 50, 50),
	      "n %zd", n);
	cb_eq(o, "rw.pread.past_eof_0", o->pread(f, buf, 10, 1000), 0);
	cb_ok(o, "rw.lseek.past_eof_read_0",
	      o->lseek(f, 5000, SEEK_SET) == 5000 && o->read(f, buf, 10) == 0,
	      "not 0");
	/* seeking past the end is no write */
	cb_ok(o, "rw.lseek.past_eof_size_unchanged",
	      cb_size(o, "small") == 100 && cb_host_size_is(o, "small", 100),
	      "size %lld", (long long)cb_size(o, "small"));
	cb_eq(o, "rw.write.zero_len_0", o->write(f, buf, 0), 0);
	cb_ok(o, "rw.write.zero_len_no_extend",
	      cb_size(o, "small") == 100 && cb_host_size_is(o, "small", 100),
	      "size %lld", (long long)cb_size(o, "small"));
	cb_eq(o, "rw.read.zero_len_0", o->pread(f, buf, 0, 0), 0);
	cb_err(o, "rw.pread.negative_offset_EINVAL", o->pread(f, buf, 1, -1),
	       EINVAL);
	cb_err(o, "rw.pwrite.negative_offset_EINVAL", o->pwrite(f, buf, 1, -1),
	       EINVAL);
	if (o->host_read) {
		n = o->host_read("small", buf, sizeof(buf), 0);
		cb_ok(o, "rw.host.data_matches",
		      n == 100 && !memcmp(buf, want, 100), "host read %zd", n);
	}
	o->close(f);
	/* a file descriptor stays a number after close(2): EBADF */
	if (o->flags & CB_CLOSED_EBADF) {
		cb_err(o, "rw.read.closed_fd_EBADF", o->read(f, buf, 1), EBADF);
		cb_err(o, "rw.write.closed_fd_EBADF", o->write(f, buf, 1),
		       EBADF);
	}
}

static void rw_hole(const struct cb_ops *o)
{
	char buf[10000];
	ssize_t n;
	void *f;
	int ret;

	ret = o->open("holey", O_RDWR | O_CREAT | O_TRUNC, 0644, &f);
	if (ret) {
		cb_fail_errno(o, "rw.pwrite.past_eof_count", -ret);
		return;
	}
	o->write(f, "head", 4);
	cb_eq(o, "rw.pwrite.past_eof_count", o->pwrite(f, "tail!", 5, 10000),
	      5);
	cb_ok(o, "rw.pwrite.past_eof_size",
	      cb_size(o, "holey") == 10005 && cb_host_size_is(o, "holey", 10005),
	      "size %lld", (long long)cb_size(o, "holey"));
	/* pwrite and pread leave the file offset alone */
	cb_eq(o, "rw.pwrite.offset_unchanged", o->lseek(f, 0, SEEK_CUR), 4);
	n = o->pread(f, buf, 9996, 4);
	cb_ok(o, "rw.pwrite.hole_zeros", n == 9996 && cb_is_zero(buf, 9996),
	      "n %zd", n);
	n = o->pread(f, buf, 20, 9996);
	cb_ok(o, "rw.pwrite.data_intact",
	      n == 9 && !memcmp(buf + 4, "tail!", 5) && cb_is_zero(buf, 4),
	      "n %zd", n);
	cb_eq(o, "rw.pread.offset_unchanged", o->lseek(f, 0, SEEK_CUR), 4);
	o->close(f);
}

static void rw_big_write(const struct cb_ops *o, char *p)
{
	size_t done = 0;
	ssize_t n;
	void *f = NULL;

	cb_pattern(p, BIG, 0);
	if (o->open("big", O_RDWR | O_CREAT | O_TRUNC, 0644, &f))
		f = NULL;
	while (f && done < BIG) {
		n = o->write(f, p + done, BIG - done);
		if (n <= 0)
			break;
		done += n;
	}
	cb_eq(o, "rw.big.write_8m", done, BIG);
	cb_ok(o, "rw.big.size_8m",
	      cb_size(o, "big") == BIG && cb_host_size_is(o, "big", BIG),
	      "size %lld", (long long)cb_size(o, "big"));
	if (f)
		o->close(f);
}

static void rw_big_read(const struct cb_ops *o, char *p)
{
	size_t done = 0;
	ssize_t n;
	void *f = NULL;

	if (o->host_read) {
		memset(p, 0, BIG);
		n = o->host_read("big", p, BIG, 0);
		cb_ok(o, "rw.big.host_pattern",
		      n == BIG && cb_pattern_ok(p, BIG, 0), "host read %zd", n);
	}
	memset(p, 0, BIG);
	if (o->open("big", O_RDONLY, 0, &f))
		f = NULL;
	while (f && done < BIG) {
		n = o->read(f, p + done, BIG - done);
		if (n <= 0)
			break;
		done += n;
	}
	cb_ok(o, "rw.big.readback_pattern",
	      done == BIG && cb_pattern_ok(p, BIG, 0), "read %zu bytes", done);
	n = f ? o->pread(f, p, 4099, 1234567) : -EBADF;
	cb_ok(o, "rw.big.pread_unaligned",
	      n == 4099 && cb_pattern_ok(p, 4099, 1234567), "n %zd", n);
	n = f ? o->pread(f, p, 3 << 20, (2 << 20) - 1) : -EBADF;
	cb_ok(o, "rw.big.pread_across_2m",
	      n == 3 << 20 && cb_pattern_ok(p, 3 << 20, (2 << 20) - 1),
	      "n %zd", n);
	if (f)
		o->close(f);
}

static void rw_unaligned(const struct cb_ops *o)
{
	char buf[8200], w[5000];
	off_t at = (1 << 20) + 17;
	ssize_t n;
	void *f;
	int ret;

	ret = o->open("big", O_RDWR, 0, &f);
	if (ret) {
		cb_fail_errno(o, "rw.unaligned.overwrite_count", -ret);
		return;
	}
	memset(w, 'Q', sizeof(w));
	n = o->pwrite(f, w, sizeof(w), at);
	cb_eq(o, "rw.unaligned.overwrite_count", n, (ssize_t)sizeof(w));
	n = o->pread(f, buf, 5100, at - 50);
	cb_ok(o, "rw.unaligned.overwrite_neighbors",
	      n == 5100 && cb_pattern_ok(buf, 50, at - 50) &&
		      !memcmp(buf + 50, w, 5000) &&
		      cb_pattern_ok(buf + 5050, 50, at + 5000),
	      "n %zd", n);
	cb_eq(o, "rw.unaligned.size_unchanged", cb_size(o, "big"), BIG);

	/* 3 bytes straddling a page boundary. */
	o->pwrite(f, "abc", 3, 4095);
	n = o->pread(f, buf, 7, 4093);
	cb_ok(o, "rw.unaligned.page_straddle",
	      n == 7 && cb_pattern_ok(buf, 2, 4093) &&
		      !memcmp(buf + 2, "abc", 3) &&
		      cb_pattern_ok(buf + 5, 2, 4098),
	      "n %zd", n);
	if (o->host_read) {
		n = o->host_read("big", buf, 7, 4093);
		cb_ok(o, "rw.host.page_straddle",
		      n == 7 && !memcmp(buf + 2, "abc", 3), "n %zd", n);
	}
	/* A write that ends exactly at EOF+1 grows the file by one byte. */
	o->pwrite(f, "zz", 2, BIG - 1);
	cb_ok(o, "rw.unaligned.grow_by_one",
	      cb_size(o, "big") == BIG + 1 && cb_host_size_is(o, "big", BIG + 1),
	      "size %lld", (long long)cb_size(o, "big"));
	o->close(f);
}

static void rw_lseek(const struct cb_ops *o)
{
	void *f;
	int ret = o->open("small", O_RDWR, 0, &f);

	if (ret) {
		cb_fail_errno(o, "rw.lseek.end_minus_10", -ret);
		return;
	}
	cb_eq(o, "rw.lseek.end_minus_10", o->lseek(f, -10, SEEK_END), 90);
	cb_eq(o, "rw.lseek.cur_plus_5", o->lseek(f, 5, SEEK_CUR), 95);
	cb_eq(o, "rw.lseek.cur_0_reports", o->lseek(f, 0, SEEK_CUR), 95);
	cb_eq(o, "rw.lseek.end_plus_10", o->lseek(f, 10, SEEK_END), 110);
	cb_eq(o, "rw.lseek.set_0", o->lseek(f, 0, SEEK_SET), 0);
	cb_err(o, "rw.lseek.set_negative_EINVAL", o->lseek(f, -1, SEEK_SET),
	       EINVAL);
	cb_err(o, "rw.lseek.cur_negative_EINVAL", o->lseek(f, -1, SEEK_CUR),
	       EINVAL);
	cb_err(o, "rw.lseek.end_negative_EINVAL", o->lseek(f, -101, SEEK_END),
	       EINVAL);
	cb_err(o, "rw.lseek.bad_whence_EINVAL", o->lseek(f, 0, 77), EINVAL);
	o->close(f);
}

/* Where the host is seen: a write, and O_TRUNC, move the host's mtime. */
static void rw_mtime(const struct cb_ops *o)
{
	const struct timespec old[2] = { { 1000000, 0 }, { 1000000, 0 } };
	struct stat hsb = { 0 };
	void *f;
	int ret;

	cb_put_str(o, "mt", "x");
	o->utimens("mt", old);
	if (!o->open("mt", O_WRONLY, 0, &f)) {
		o->pwrite(f, "y", 1, 0);
		o->close(f);
	}
	o->host_lstat("mt", &hsb);
	cb_ok(o, "rw.write.updates_host_mtime", hsb.st_mtime > 1000000,
	      "host mtime %lld", (long long)hsb.st_mtime);
	o->utimens("mt", old);
	ret = o->open("mt", O_WRONLY | O_TRUNC, 0, &f);
	if (!ret)
		o->close(f);
	o->host_lstat("mt", &hsb);
	cb_ok(o, "rw.open_trunc.updates_host_mtime",
	      !ret && hsb.st_mtime > 1000000 && hsb.st_size == 0,
	      "host mtime %lld size %lld", (long long)hsb.st_mtime,
	      (long long)hsb.st_size);
}

/* Offsets: dup shares one, a second open has its own; data is shared. */
static void rw_handles(const struct cb_ops *o)
{
	char a[4] = { 0 }, b[4] = { 0 };
	void *f, *f2, *d;
	int ret;

	cb_put_str(o, "shared", "0123456789");
	ret = o->open("shared", O_RDWR, 0, &f);
	if (ret) {
		cb_fail_errno(o, "rw.open_twice.own_offset", -ret);
		return;
	}
	if (o->dup && !o->dup(f, &d)) {
		o->read(f, a, 3);
		o->read(d, b, 3);
		cb_ok(o, "rw.dup.shares_offset",
		      !memcmp(a, "012", 3) && !memcmp(b, "345", 3),
		      "dup read \"%.3s\"", b);
		o->close(d);
	} else if (o->dup) {
		cb_ok(o, "rw.dup.shares_offset", false, "dup failed");
	} else {
		o->read(f, b, 3);
	}
	ret = o->open("shared", O_RDONLY, 0, &f2);
	if (ret) {
		cb_fail_errno(o, "rw.open_twice.own_offset", -ret);
		o->close(f);
		return;
	}
	o->read(f2, b, 3);
	cb_ok(o, "rw.open_twice.own_offset", !memcmp(b, "012", 3),
	      "second open read \"%.3s\"", b);
	o->pwrite(f, "AB", 2, 0);
	o->pread(f2, b, 2, 0);
	cb_ok(o, "rw.open_twice.sees_write", !memcmp(b, "AB", 2),
	      "read \"%.2s\"", b);
	o->close(f2);

	if (o->pwritev) {
		struct iovec iov[3];
		char x[3], y[5], z[2];

		iov[0] = (struct iovec){ "abc", 3 };
		iov[1] = (struct iovec){ "defgh", 5 };
		iov[2] = (struct iovec){ "ij", 2 };
		cb_eq(o, "rw.writev.count", o->pwritev(f, iov, 3, 0), 10);
		iov[0] = (struct iovec){ x, 3 };
		iov[1] = (struct iovec){ y, 5 };
		iov[2] = (struct iovec){ z, 2 };
		cb_ok(o, "rw.readv.scatter",
		      o->preadv(f, iov, 3, 0) == 10 && !memcmp(x, "abc", 3) &&
			      !memcmp(y, "defgh", 5) && !memcmp(z, "ij", 2),
		      "mismatch");
	} else {
		o->pwrite(f, "abcdefghij", 10, 0);
	}
	o->close(f);
	cb_ok(o, "rw.persist_after_close",
	      cb_get_str_is(o, "shared", "abcdefghij") &&
		      cb_host_str_is(o, "shared", "abcdefghij"),
	      "contents differ");
}

void cb_area_rw(const struct cb_ops *o)
{
	char *p = malloc(BIG);

	rw_eof(o);
	rw_hole(o);
	if (p) {
		rw_big_write(o, p);
		rw_big_read(o, p);
		free(p);
	}
	rw_unaligned(o);
	rw_lseek(o);
	if (o->host_lstat)
		rw_mtime(o);
	rw_handles(o);
}
