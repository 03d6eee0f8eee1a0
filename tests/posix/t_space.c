// SPDX-License-Identifier: GPL-2.0-or-later
/* Sparse files, truncate, fallocate and SEEK_DATA/SEEK_HOLE. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "px.h"

#define GiB (1LL << 30)
#define KiB 1024

static char buf[256 * KiB];

/* ---- sparse ---- */

void px_area_sparse(void)
{
	off_t at = 5 * GiB;
	struct stat sb = {0};
	ssize_t n;
	int fd;

	fd = open("sparse", O_RDWR | O_CREAT | O_TRUNC, 0644);
	px_pattern(buf, 4096, at);
	px_eq("sparse.pwrite_5g.count", pwrite(fd, buf, 4096, at), 4096);
	fsync(fd);
	fstat(fd, &sb);
	px_eq("sparse.pwrite_5g.size", sb.st_size, at + 4096);
	px_ok("sparse.pwrite_5g.blocks_small", sb.st_blocks < 2048,
	      "st_blocks %lld", (long long)sb.st_blocks);
	px_eq("sparse.lseek_end", lseek(fd, 0, SEEK_END), at + 4096);
	n = pread(fd, buf, 64 * KiB, 4 * GiB);
	px_ok("sparse.hole_above_4g_zeros", n == 64 * KiB && px_is_zero(buf, n),
	      "n %zd", n);
	n = pread(fd, buf, 64 * KiB, GiB - 100);
	px_ok("sparse.hole_below_4g_zeros", n == 64 * KiB && px_is_zero(buf, n),
	      "n %zd", n);
	n = pread(fd, buf, 4096, at);
	px_ok("sparse.data_readback", n == 4096 && px_pattern_ok(buf, 4096, at),
	      "n %zd", n);
	n = pread(fd, buf, 8192, at - 4096);
	px_ok("sparse.read_across_hole_to_data",
	      n == 8192 && px_is_zero(buf, 4096) &&
		      px_pattern_ok(buf + 4096, 4096, at),
	      "n %zd", n);
	n = pread(fd, buf, 8192, at + 2048);
	px_eq("sparse.short_read_at_end", n, 2048);
	px_eq("sparse.ftruncate_6g", ftruncate(fd, 6 * GiB), 0);
	px_eq("sparse.ftruncate_6g_size", px_size("sparse"), 6 * GiB);
	n = pread(fd, buf, 4096, 6 * GiB - 4096);
	px_ok("sparse.ftruncate_6g_tail_zeros",
	      n == 4096 && px_is_zero(buf, 4096), "n %zd", n);
	close(fd);
	unlink("sparse");
}

/* ---- truncate ---- */

static void trunc_up_down(void)
{
	int fd = open("t", O_RDWR | O_CREAT | O_TRUNC, 0644);
	ssize_t n;

	px_pattern(buf, 100, 0);
	write(fd, buf, 100);
	px_eq("trunc.up.rc", ftruncate(fd, 1000), 0);
	px_eq("trunc.up.size", px_size("t"), 1000);
	n = pread(fd, buf, 2000, 0);
	px_ok("trunc.up.data_kept", n == 1000 && px_pattern_ok(buf, 100, 0),
	      "n %zd", n);
	px_ok("trunc.up.zeros", n == 1000 && px_is_zero(buf + 100, 900),
	      "nonzero in extension");
	px_eq("trunc.down.rc", ftruncate(fd, 50), 0);
	px_eq("trunc.down.size", px_size("t"), 50);
	px_eq("trunc.down.read_stops", pread(fd, buf, 100, 0), 50);
	ftruncate(fd, 100);
	n = pread(fd, buf, 100, 0);
	px_ok("trunc.down.data_gone",
	      n == 100 && px_pattern_ok(buf, 50, 0) && px_is_zero(buf + 50, 50),
	      "old data came back");
	px_eq("trunc.zero.size0", ftruncate(fd, 0) ?: px_size("t"), 0);
	close(fd);
}

/* Shrinking into the middle of a page must zero the page tail. */
static void trunc_partial_page(void)
{
	int fd = open("pp", O_RDWR | O_CREAT | O_TRUNC, 0644);
	ssize_t n;

	memset(buf, 'x', 8192);
	write(fd, buf, 8192);
	fsync(fd);
	ftruncate(fd, 5000);
	ftruncate(fd, 8192);
	n = pread(fd, buf, 8192, 0);
	px_ok("trunc.partial_page.tail_zeroed",
	      n == 8192 && buf[4999] == 'x' && px_is_zero(buf + 5000, 3192),
	      "n %zd", n);
	close(fd);
}

static void trunc_errors(void)
{
	struct stat sb = {0};
	int fd;

	px_put_str("p", "abc");
	px_eq("trunc.path.rc", truncate("p", 4097), 0);
	px_eq("trunc.path.size", px_size("p"), 4097);
	mkdir("d", 0755);
	px_err("trunc.dir_EISDIR", truncate("d", 0), EISDIR);
	px_err("trunc.missing_ENOENT", truncate("nope", 0), ENOENT);
	px_err("trunc.path_negative_EINVAL", truncate("p", -1), EINVAL);
	fd = open("p", O_RDWR);
	px_err("trunc.fd_negative_EINVAL", ftruncate(fd, -1), EINVAL);
	close(fd);
	fd = open("p", O_RDONLY);
	px_err("trunc.rdonly_fd_EINVAL", ftruncate(fd, 0), EINVAL);
	close(fd);

	utimensat(AT_FDCWD, "p",
		  (struct timespec[]){{1000000, 0}, {1000000, 0}}, 0);
	truncate("p", 10);
	stat("p", &sb);
	px_ok("trunc.updates_mtime", sb.st_mtime > 1000000, "mtime %lld",
	      (long long)sb.st_mtime);
}

void px_area_trunc(void)
{
	trunc_up_down();
	trunc_partial_page();
	trunc_errors();
}

/* ---- fallocate ---- */

/*
 * fallocate() with a mode the filesystem does not implement is a result,
 * not a crash: the check and its dependants are reported as skipped with
 * the errno, so a comparison across mounts shows the difference.
 */
static bool falloc_try(const char *name, int fd, int mode, off_t off, off_t len)
{
	int rc = fallocate(fd, mode, off, len);
	int e = errno;

	if (rc && (e == EOPNOTSUPP || e == ENOSYS)) {
		px_skip(name, e == ENOSYS ? "ENOSYS" : "EOPNOTSUPP");
		return false;
	}
	errno = e;
	return px_rc0(name, rc);
}

static void falloc_skip(const char *name, bool ran)
{
	if (!ran)
		px_skip(name, "mode unsupported");
}

static void falloc_default(void)
{
	int fd = open("fa", O_RDWR | O_CREAT | O_TRUNC, 0644);
	struct stat sb = {0};
	bool ran;
	ssize_t n;

	ran = falloc_try("falloc.default.rc", fd, 0, 0, 256 * KiB);
	falloc_skip("falloc.default.extends_size", ran);
	falloc_skip("falloc.default.allocates_blocks", ran);
	falloc_skip("falloc.default.reads_zeros", ran);
	if (ran) {
		fstat(fd, &sb);
		px_eq("falloc.default.extends_size", sb.st_size, 256 * KiB);
		px_ok("falloc.default.allocates_blocks",
		      sb.st_blocks * 512 >= 256 * KiB, "st_blocks %lld",
		      (long long)sb.st_blocks);
		n = pread(fd, buf, sizeof(buf), 0);
		px_ok("falloc.default.reads_zeros",
		      n == 256 * KiB && px_is_zero(buf, n), "n %zd", n);
	}
	ftruncate(fd, 4096);
	ran = falloc_try("falloc.keep_size.rc", fd, FALLOC_FL_KEEP_SIZE, 0,
			 256 * KiB);
	falloc_skip("falloc.keep_size.size_unchanged", ran);
	if (ran)
		px_eq("falloc.keep_size.size_unchanged", px_size("fa"), 4096);
	close(fd);
}

/* Fills 64 KiB of 'A', applies mode to [4096, 12288), checks the result. */
static void falloc_zeroing(const char *what, int mode)
{
	char name[64];
	bool ran;
	ssize_t n;
	int fd = open(what, O_RDWR | O_CREAT | O_TRUNC, 0644);

	memset(buf, 'A', 64 * KiB);
	write(fd, buf, 64 * KiB);
	fsync(fd);
	snprintf(name, sizeof(name), "falloc.%s.rc", what);
	ran = falloc_try(name, fd, mode, 4096, 8192);
	n = pread(fd, buf, 64 * KiB, 0);
	snprintf(name, sizeof(name), "falloc.%s.range_zeroed", what);
	if (ran)
		px_ok(name, n == 64 * KiB && px_is_zero(buf + 4096, 8192),
		      "data survived");
	else
		px_skip(name, "mode unsupported");
	snprintf(name, sizeof(name), "falloc.%s.outside_intact", what);
	if (ran)
		px_ok(name,
		      n == 64 * KiB && buf[4095] == 'A' && buf[12288] == 'A' &&
			      buf[65535] == 'A',
		      "n %zd", n);
	else
		px_skip(name, "mode unsupported");
	snprintf(name, sizeof(name), "falloc.%s.size_unchanged", what);
	if (ran)
		px_eq(name, px_size(what), 64 * KiB);
	else
		px_skip(name, "mode unsupported");
	close(fd);
}

static void falloc_errors(void)
{
	int fd = open("fe", O_RDWR | O_CREAT | O_TRUNC, 0644);

	px_err("falloc.punch_without_keep_EOPNOTSUPP",
	       fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096), EOPNOTSUPP);
	px_err("falloc.len0_EINVAL", fallocate(fd, 0, 0, 0), EINVAL);
	px_err("falloc.negative_offset_EINVAL", fallocate(fd, 0, -1, 4096),
	       EINVAL);
	close(fd);
	fd = open("fe", O_RDONLY);
	px_err("falloc.rdonly_EBADF", fallocate(fd, 0, 0, 4096), EBADF);
	close(fd);
}

void px_area_falloc(void)
{
	falloc_default();
	falloc_zeroing("punch", FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
	falloc_zeroing("zero_range", FALLOC_FL_ZERO_RANGE);
	falloc_zeroing("zero_range_keep",
		       FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE);
	falloc_errors();
}

/* ---- SEEK_DATA / SEEK_HOLE ---- */

void px_area_seek(void)
{
	const off_t M = 1 << 20;
	off_t end = M + 64 * KiB;
	int fd = open("s", O_RDWR | O_CREAT | O_TRUNC, 0644);

	/* data [0, 64K), hole [64K, 1M), data [1M, 1M+64K) */
	memset(buf, 'D', 64 * KiB);
	pwrite(fd, buf, 64 * KiB, 0);
	pwrite(fd, buf, 64 * KiB, M);
	fsync(fd);
	px_eq("seek.data_from_0", lseek(fd, 0, SEEK_DATA), 0);
	px_eq("seek.hole_from_0", lseek(fd, 0, SEEK_HOLE), 64 * KiB);
	px_eq("seek.data_from_hole", lseek(fd, 128 * KiB, SEEK_DATA), M);
	px_eq("seek.hole_in_hole", lseek(fd, 128 * KiB, SEEK_HOLE), 128 * KiB);
	px_eq("seek.hole_from_last_data", lseek(fd, M + 4096, SEEK_HOLE), end);
	px_eq("seek.data_in_data", lseek(fd, M + 4096, SEEK_DATA), M + 4096);
	px_err("seek.data_at_eof_ENXIO", lseek(fd, end, SEEK_DATA), ENXIO);
	px_err("seek.data_past_eof_ENXIO", lseek(fd, end + M, SEEK_DATA),
	       ENXIO);
	px_err("seek.hole_past_eof_ENXIO", lseek(fd, end + 1, SEEK_HOLE),
	       ENXIO);
	ftruncate(fd, end + M);
	px_err("seek.data_in_trailing_hole_ENXIO",
	       lseek(fd, end + 4096, SEEK_DATA), ENXIO);
	px_eq("seek.offset_after_hole_seek", lseek(fd, 0, SEEK_CUR), M + 4096);
	close(fd);
}
