// SPDX-License-Identifier: GPL-2.0-or-later
/* read/write/pread/pwrite/lseek, including an 8 MiB pattern round trip. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cf.h"

#define BIG (8u << 20)

static void rw_eof(void)
{
	char buf[256], want[100];
	struct vdax_file *f;
	ssize_t n;

	cf_pattern(want, sizeof(want), 0);
	f = cf_open("small", O_RDWR | O_CREAT | O_TRUNC, 0644, NULL);
	if (!f) {
		cf_fail_errno("rw.write.count", ENOENT);
		return;
	}
	cf_eq("rw.write.count", vdax_write(f, want, 100), 100);
	cf_eq("rw.write.offset_advanced", vdax_lseek(f, 0, SEEK_CUR), 100);
	cf_eq("rw.read.at_eof_0", vdax_read(f, buf, 10), 0);
	n = vdax_pread(f, buf, 200, 50);
	cf_ok("rw.pread.short_at_eof", n == 50 && !memcmp(buf, want + 50, 50),
	      "n %zd", n);
	cf_eq("rw.pread.past_eof_0", vdax_pread(f, buf, 10, 1000), 0);
	cf_ok("rw.lseek.past_eof_read_0",
	      vdax_lseek(f, 5000, SEEK_SET) == 5000 &&
		      vdax_read(f, buf, 10) == 0,
	      "not 0");
	cf_ok("rw.lseek.past_eof_size_unchanged",
	      cf_size("small") == 100 && host_size("small") == 100,
	      "size %lld host %lld", (long long)cf_size("small"),
	      (long long)host_size("small"));
	cf_eq("rw.write.zero_len_0", vdax_write(f, buf, 0), 0);
	cf_ok("rw.write.zero_len_no_extend",
	      cf_size("small") == 100 && host_size("small") == 100,
	      "size %lld host %lld", (long long)cf_size("small"),
	      (long long)host_size("small"));
	cf_eq("rw.read.zero_len_0", vdax_pread(f, buf, 0, 0), 0);
	cf_err("rw.pread.negative_offset_EINVAL", vdax_pread(f, buf, 1, -1),
	       EINVAL);
	cf_err("rw.pwrite.negative_offset_EINVAL", vdax_pwrite(f, buf, 1, -1),
	       EINVAL);
	n = host_get("small", buf, sizeof(buf), 0);
	cf_ok("rw.host.data_matches", n == 100 && !memcmp(buf, want, 100),
	      "host read %zd", n);
	vdax_release(f);
}

static void rw_hole(void)
{
	char buf[10000];
	struct vdax_file *f;
	ssize_t n;

	f = cf_open("holey", O_RDWR | O_CREAT | O_TRUNC, 0644, NULL);
	if (!f) {
		cf_fail_errno("rw.pwrite.past_eof_count", ENOENT);
		return;
	}
	vdax_write(f, "head", 4);
	cf_eq("rw.pwrite.past_eof_count", vdax_pwrite(f, "tail!", 5, 10000),
	      5);
	cf_ok("rw.pwrite.past_eof_size",
	      cf_size("holey") == 10005 && host_size("holey") == 10005,
	      "size %lld host %lld", (long long)cf_size("holey"),
	      (long long)host_size("holey"));
	cf_eq("rw.pwrite.offset_unchanged", vdax_lseek(f, 0, SEEK_CUR), 4);
	n = vdax_pread(f, buf, 9996, 4);
	cf_ok("rw.pwrite.hole_zeros", n == 9996 && cf_is_zero(buf, 9996),
	      "n %zd", n);
	n = vdax_pread(f, buf, 20, 9996);
	cf_ok("rw.pwrite.data_intact",
	      n == 9 && !memcmp(buf + 4, "tail!", 5) && cf_is_zero(buf, 4),
	      "n %zd", n);
	cf_eq("rw.pread.offset_unchanged", vdax_lseek(f, 0, SEEK_CUR), 4);
	vdax_release(f);
}

static void rw_big_write(char *p)
{
	struct vdax_file *f;
	size_t done = 0;
	ssize_t n;

	cf_pattern(p, BIG, 0);
	f = cf_open("big", O_RDWR | O_CREAT | O_TRUNC, 0644, NULL);
	while (f && done < BIG) {
		n = vdax_write(f, p + done, BIG - done);
		if (n <= 0)
			break;
		done += n;
	}
	cf_eq("rw.big.write_8m", done, BIG);
	cf_ok("rw.big.size_8m", cf_size("big") == BIG && host_size("big") == BIG,
	      "size %lld host %lld", (long long)cf_size("big"),
	      (long long)host_size("big"));
	vdax_release(f);
}

static void rw_big_read(char *p)
{
	struct vdax_file *f;
	size_t done = 0;
	ssize_t n;

	memset(p, 0, BIG);
	n = host_get("big", p, BIG, 0);
	cf_ok("rw.big.host_pattern", n == BIG && cf_pattern_ok(p, BIG, 0),
	      "host read %zd", n);
	memset(p, 0, BIG);
	f = cf_open("big", O_RDONLY, 0, NULL);
	while (f && done < BIG) {
		n = vdax_read(f, p + done, BIG - done);
		if (n <= 0)
			break;
		done += n;
	}
	cf_ok("rw.big.readback_pattern",
	      done == BIG && cf_pattern_ok(p, BIG, 0), "read %zu bytes", done);
	n = f ? vdax_pread(f, p, 4099, 1234567) : -EBADF;
	cf_ok("rw.big.pread_unaligned",
	      n == 4099 && cf_pattern_ok(p, 4099, 1234567), "n %zd", n);
	n = f ? vdax_pread(f, p, 3 << 20, (2 << 20) - 1) : -EBADF;
	cf_ok("rw.big.pread_across_2m",
	      n == 3 << 20 && cf_pattern_ok(p, 3 << 20, (2 << 20) - 1), "n %zd",
	      n);
	vdax_release(f);
}

static void rw_unaligned(void)
{
	char buf[8200], w[5000];
	off_t at = (1 << 20) + 17;
	struct vdax_file *f;
	ssize_t n;

	f = cf_open("big", O_RDWR, 0, NULL);
	if (!f) {
		cf_fail_errno("rw.unaligned.overwrite_count", ENOENT);
		return;
	}
	memset(w, 'Q', sizeof(w));
	n = vdax_pwrite(f, w, sizeof(w), at);
	cf_eq("rw.unaligned.overwrite_count", n, (ssize_t)sizeof(w));
	n = vdax_pread(f, buf, 5100, at - 50);
	cf_ok("rw.unaligned.overwrite_neighbors",
	      n == 5100 && cf_pattern_ok(buf, 50, at - 50) &&
		      !memcmp(buf + 50, w, 5000) &&
		      cf_pattern_ok(buf + 5050, 50, at + 5000),
	      "n %zd", n);
	cf_eq("rw.unaligned.size_unchanged", cf_size("big"), BIG);

	/* 3 bytes straddling a page boundary. */
	vdax_pwrite(f, "abc", 3, 4095);
	n = vdax_pread(f, buf, 7, 4093);
	cf_ok("rw.unaligned.page_straddle",
	      n == 7 && cf_pattern_ok(buf, 2, 4093) &&
		      !memcmp(buf + 2, "abc", 3) &&
		      cf_pattern_ok(buf + 5, 2, 4098),
	      "n %zd", n);
	n = host_get("big", buf, 7, 4093);
	cf_ok("rw.host.page_straddle", n == 7 && !memcmp(buf + 2, "abc", 3),
	      "n %zd", n);
	/* A write that ends exactly at EOF+1 grows the file by one byte. */
	vdax_pwrite(f, "zz", 2, BIG - 1);
	cf_ok("rw.unaligned.grow_by_one",
	      cf_size("big") == BIG + 1 && host_size("big") == BIG + 1,
	      "size %lld host %lld", (long long)cf_size("big"),
	      (long long)host_size("big"));
	vdax_release(f);
}

static void rw_lseek(void)
{
	struct vdax_file *f = cf_open("small", O_RDWR, 0, NULL);

	if (!f) {
		cf_fail_errno("rw.lseek.end_minus_10", ENOENT);
		return;
	}
	cf_eq("rw.lseek.end_minus_10", vdax_lseek(f, -10, SEEK_END), 90);
	cf_eq("rw.lseek.cur_plus_5", vdax_lseek(f, 5, SEEK_CUR), 95);
	cf_eq("rw.lseek.cur_0_reports", vdax_lseek(f, 0, SEEK_CUR), 95);
	cf_eq("rw.lseek.end_plus_10", vdax_lseek(f, 10, SEEK_END), 110);
	cf_eq("rw.lseek.set_0", vdax_lseek(f, 0, SEEK_SET), 0);
	cf_err("rw.lseek.set_negative_EINVAL", vdax_lseek(f, -1, SEEK_SET),
	       EINVAL);
	cf_err("rw.lseek.cur_negative_EINVAL", vdax_lseek(f, -1, SEEK_CUR),
	       EINVAL);
	cf_err("rw.lseek.end_negative_EINVAL", vdax_lseek(f, -101, SEEK_END),
	       EINVAL);
	cf_err("rw.lseek.bad_whence_EINVAL", vdax_lseek(f, 0, 77), EINVAL);
	vdax_release(f);
}

/* API only: a write through libvdax moves the host file's mtime. */
static void rw_mtime(void)
{
	struct timespec old[2] = {{1000000, 0}, {1000000, 0}};
	struct vdax_file *f;
	struct stat hsb = {0};

	cf_put_str("mt", "x");
	vdax_utimens(cf_vd, P("mt"), old, 0);
	f = cf_open("mt", O_WRONLY, 0, NULL);
	if (f)
		vdax_pwrite(f, "y", 1, 0);
	vdax_release(f);
	stat(H("mt"), &hsb);
	cf_ok("rw.write.updates_host_mtime", hsb.st_mtime > 1000000,
	      "host mtime %lld", (long long)hsb.st_mtime);
	vdax_utimens(cf_vd, P("mt"), old, 0);
	f = cf_open("mt", O_WRONLY | O_TRUNC, 0, NULL);
	vdax_release(f);
	stat(H("mt"), &hsb);
	cf_ok("rw.open_trunc.updates_host_mtime",
	      f && hsb.st_mtime > 1000000 && hsb.st_size == 0,
	      "host mtime %lld size %lld", (long long)hsb.st_mtime,
	      (long long)hsb.st_size);
}

static void rw_handles(void)
{
	struct vdax_file *f, *f2;
	char b[4] = {0};

	cf_put_str("shared", "0123456789");
	f = cf_open("shared", O_RDWR, 0, NULL);
	f2 = cf_open("shared", O_RDONLY, 0, NULL);
	if (!f || !f2) {
		cf_fail_errno("rw.open_twice.own_offset", ENOENT);
		vdax_release(f);
		vdax_release(f2);
		return;
	}
	vdax_read(f, b, 3);
	vdax_read(f2, b, 3);
	cf_ok("rw.open_twice.own_offset", !memcmp(b, "012", 3),
	      "second open read \"%.3s\"", b);
	vdax_pwrite(f, "AB", 2, 0);
	vdax_pread(f2, b, 2, 0);
	cf_ok("rw.open_twice.sees_write", !memcmp(b, "AB", 2), "read \"%.2s\"",
	      b);
	vdax_release(f2);
	vdax_pwrite(f, "abcdefghij", 10, 0);
	vdax_release(f);
	cf_ok("rw.persist_after_close",
	      cf_get_str_is("shared", "abcdefghij") &&
		      host_get_str_is("shared", "abcdefghij"),
	      "contents differ");
}

void cf_area_rw(void)
{
	char *p = malloc(BIG);

	rw_eof();
	rw_hole();
	if (p) {
		rw_big_write(p);
		rw_big_read(p);
		free(p);
	}
	rw_unaligned();
	rw_lseek();
	rw_mtime();
	rw_handles();
}
