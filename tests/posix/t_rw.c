// SPDX-License-Identifier: GPL-2.0-or-later
/* read/write/pread/pwrite/lseek, including an 8 MiB pattern round trip. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "px.h"

#define BIG (8u << 20)

static void rw_eof(void)
{
	char buf[256], want[100];
	ssize_t n;
	int fd;

	px_pattern(want, sizeof(want), 0);
	fd = open("small", O_RDWR | O_CREAT | O_TRUNC, 0644);
	px_eq("rw.write.count", write(fd, want, 100), 100);
	px_eq("rw.write.offset_advanced", lseek(fd, 0, SEEK_CUR), 100);
	px_eq("rw.read.at_eof_0", read(fd, buf, 10), 0);
	n = pread(fd, buf, 200, 50);
	px_ok("rw.pread.short_at_eof", n == 50 && !memcmp(buf, want + 50, 50),
	      "n %zd", n);
	px_eq("rw.pread.past_eof_0", pread(fd, buf, 10, 1000), 0);
	px_ok("rw.lseek.past_eof_read_0",
	      lseek(fd, 5000, SEEK_SET) == 5000 && read(fd, buf, 10) == 0,
	      "not 0");
	px_eq("rw.lseek.past_eof_size_unchanged", px_size("small"), 100);
	px_eq("rw.write.zero_len_0", write(fd, buf, 0), 0);
	px_eq("rw.write.zero_len_no_extend", px_size("small"), 100);
	px_eq("rw.read.zero_len_0", pread(fd, buf, 0, 0), 0);
	px_err("rw.pread.negative_offset_EINVAL", pread(fd, buf, 1, -1),
	       EINVAL);
	px_err("rw.pwrite.negative_offset_EINVAL", pwrite(fd, buf, 1, -1),
	       EINVAL);
	close(fd);
	px_err("rw.read.closed_fd_EBADF", read(fd, buf, 1), EBADF);
	px_err("rw.write.closed_fd_EBADF", write(fd, buf, 1), EBADF);
}

static void rw_hole(void)
{
	char buf[10000];
	ssize_t n;
	int fd;

	fd = open("holey", O_RDWR | O_CREAT | O_TRUNC, 0644);
	write(fd, "head", 4);
	px_eq("rw.pwrite.past_eof_count", pwrite(fd, "tail!", 5, 10000), 5);
	px_eq("rw.pwrite.past_eof_size", px_size("holey"), 10005);
	px_eq("rw.pwrite.offset_unchanged", lseek(fd, 0, SEEK_CUR), 4);
	n = pread(fd, buf, 9996, 4);
	px_ok("rw.pwrite.hole_zeros", n == 9996 && px_is_zero(buf, 9996),
	      "n %zd", n);
	n = pread(fd, buf, 20, 9996);
	px_ok("rw.pwrite.data_intact",
	      n == 9 && !memcmp(buf + 4, "tail!", 5) && px_is_zero(buf, 4),
	      "n %zd", n);
	px_eq("rw.pread.offset_unchanged", lseek(fd, 0, SEEK_CUR), 4);
	close(fd);
}

static void rw_big_write(char *p)
{
	size_t done = 0;
	ssize_t n;
	int fd;

	px_pattern(p, BIG, 0);
	fd = open("big", O_RDWR | O_CREAT | O_TRUNC, 0644);
	while (done < BIG) {
		n = write(fd, p + done, BIG - done);
		if (n <= 0)
			break;
		done += n;
	}
	px_eq("rw.big.write_8m", done, BIG);
	px_eq("rw.big.size_8m", px_size("big"), BIG);
	close(fd);
}

static void rw_big_read(char *p)
{
	size_t done = 0;
	ssize_t n;
	int fd;

	memset(p, 0, BIG);
	fd = open("big", O_RDONLY);
	while (done < BIG) {
		n = read(fd, p + done, BIG - done);
		if (n <= 0)
			break;
		done += n;
	}
	px_ok("rw.big.readback_pattern",
	      done == BIG && px_pattern_ok(p, BIG, 0), "read %zu bytes", done);
	n = pread(fd, p, 4099, 1234567);
	px_ok("rw.big.pread_unaligned",
	      n == 4099 && px_pattern_ok(p, 4099, 1234567), "n %zd", n);
	n = pread(fd, p, 3 << 20, (2 << 20) - 1);
	px_ok("rw.big.pread_across_2m",
	      n == 3 << 20 && px_pattern_ok(p, 3 << 20, (2 << 20) - 1), "n %zd",
	      n);
	close(fd);
}

static void rw_unaligned(void)
{
	char buf[8200], w[5000];
	off_t at = (1 << 20) + 17;
	ssize_t n;
	int fd;

	fd = open("big", O_RDWR);
	memset(w, 'Q', sizeof(w));
	n = pwrite(fd, w, sizeof(w), at);
	px_eq("rw.unaligned.overwrite_count", n, (ssize_t)sizeof(w));
	n = pread(fd, buf, 5100, at - 50);
	px_ok("rw.unaligned.overwrite_neighbors",
	      n == 5100 && px_pattern_ok(buf, 50, at - 50) &&
		      !memcmp(buf + 50, w, 5000) &&
		      px_pattern_ok(buf + 5050, 50, at + 5000),
	      "n %zd", n);
	px_eq("rw.unaligned.size_unchanged", px_size("big"), BIG);

	/* 3 bytes straddling a page boundary. */
	n = pwrite(fd, "abc", 3, 4095);
	n = pread(fd, buf, 7, 4093);
	px_ok("rw.unaligned.page_straddle",
	      n == 7 && px_pattern_ok(buf, 2, 4093) &&
		      !memcmp(buf + 2, "abc", 3) &&
		      px_pattern_ok(buf + 5, 2, 4098),
	      "n %zd", n);
	/* A write that ends exactly at EOF+1 grows the file by one byte. */
	n = pwrite(fd, "zz", 2, BIG - 1);
	px_eq("rw.unaligned.grow_by_one", px_size("big"), BIG + 1);
	close(fd);
}

static void rw_lseek(void)
{
	int fd = open("small", O_RDWR);

	px_eq("rw.lseek.end_minus_10", lseek(fd, -10, SEEK_END), 90);
	px_eq("rw.lseek.cur_plus_5", lseek(fd, 5, SEEK_CUR), 95);
	px_eq("rw.lseek.cur_0_reports", lseek(fd, 0, SEEK_CUR), 95);
	px_eq("rw.lseek.end_plus_10", lseek(fd, 10, SEEK_END), 110);
	px_eq("rw.lseek.set_0", lseek(fd, 0, SEEK_SET), 0);
	px_err("rw.lseek.set_negative_EINVAL", lseek(fd, -1, SEEK_SET), EINVAL);
	px_err("rw.lseek.cur_negative_EINVAL", lseek(fd, -1, SEEK_CUR), EINVAL);
	px_err("rw.lseek.end_negative_EINVAL", lseek(fd, -101, SEEK_END),
	       EINVAL);
	px_err("rw.lseek.bad_whence_EINVAL", lseek(fd, 0, 77), EINVAL);
	close(fd);
}

static void rw_fds(void)
{
	char a[4] = {0}, b[4] = {0};
	struct iovec iov[3];
	char x[3], y[5], z[2];
	int fd, fd2, d;

	px_put_str("shared", "0123456789");
	fd = open("shared", O_RDWR);
	d = dup(fd);
	read(fd, a, 3);
	read(d, b, 3);
	px_ok("rw.dup.shares_offset",
	      !memcmp(a, "012", 3) && !memcmp(b, "345", 3), "dup read \"%.3s\"",
	      b);
	fd2 = open("shared", O_RDONLY);
	read(fd2, b, 3);
	px_ok("rw.open_twice.own_offset", !memcmp(b, "012", 3),
	      "second open read \"%.3s\"", b);
	pwrite(fd, "AB", 2, 0);
	pread(fd2, b, 2, 0);
	px_ok("rw.open_twice.sees_write", !memcmp(b, "AB", 2), "read \"%.2s\"",
	      b);
	close(d);
	close(fd2);

	iov[0] = (struct iovec){"abc", 3};
	iov[1] = (struct iovec){"defgh", 5};
	iov[2] = (struct iovec){"ij", 2};
	px_eq("rw.writev.count", pwritev(fd, iov, 3, 0), 10);
	iov[0] = (struct iovec){x, 3};
	iov[1] = (struct iovec){y, 5};
	iov[2] = (struct iovec){z, 2};
	px_ok("rw.readv.scatter",
	      preadv(fd, iov, 3, 0) == 10 && !memcmp(x, "abc", 3) &&
		      !memcmp(y, "defgh", 5) && !memcmp(z, "ij", 2),
	      "mismatch");
	close(fd);
	px_ok("rw.persist_after_close", px_get_str_is("shared", "abcdefghij"),
	      "contents differ");
}

void px_area_rw(void)
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
	rw_fds();
}
