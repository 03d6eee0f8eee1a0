// SPDX-License-Identifier: GPL-2.0-or-later
/* Sparse files, truncate, fallocate and SEEK_DATA/SEEK_HOLE. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cf.h"

#define GiB (1LL << 30)
#define KiB 1024

static char buf[256 * KiB];

/* ---- sparse ---- */

void cf_area_sparse(void)
{
	off_t at = 5 * GiB;
	struct stat sb = {0}, hsb = {0};
	struct vdax_file *f;
	ssize_t n;

	f = cf_open("sparse", O_RDWR | O_CREAT | O_TRUNC, 0644, NULL);
	if (!f) {
		cf_fail_errno("sparse.pwrite_5g.count", ENOENT);
		return;
	}
	cf_pattern(buf, 4096, at);
	cf_eq("sparse.pwrite_5g.count", vdax_pwrite(f, buf, 4096, at), 4096);
	vdax_fsync(f, 0);
	vdax_fstat(f, &sb);
	cf_ok("sparse.pwrite_5g.size",
	      sb.st_size == at + 4096 && host_size("sparse") == at + 4096,
	      "size %lld host %lld", (long long)sb.st_size,
	      (long long)host_size("sparse"));
	lstat(H("sparse"), &hsb);
	cf_ok("sparse.pwrite_5g.blocks_small",
	      sb.st_blocks < 2048 && hsb.st_blocks < 2048,
	      "st_blocks %lld host %lld", (long long)sb.st_blocks,
	      (long long)hsb.st_blocks);
	cf_eq("sparse.lseek_end", vdax_lseek(f, 0, SEEK_END), at + 4096);
	n = vdax_pread(f, buf, 64 * KiB, 4 * GiB);
	cf_ok("sparse.hole_above_4g_zeros", n == 64 * KiB && cf_is_zero(buf, n),
	      "n %zd", n);
	n = vdax_pread(f, buf, 64 * KiB, GiB - 100);
	cf_ok("sparse.hole_below_4g_zeros", n == 64 * KiB && cf_is_zero(buf, n),
	      "n %zd", n);
	n = vdax_pread(f, buf, 4096, at);
	cf_ok("sparse.data_readback", n == 4096 && cf_pattern_ok(buf, 4096, at),
	      "n %zd", n);
	n = host_get("sparse", buf, 4096, at);
	cf_ok("sparse.host_data_at_5g",
	      n == 4096 && cf_pattern_ok(buf, 4096, at), "host read %zd", n);
	n = vdax_pread(f, buf, 8192, at - 4096);
	cf_ok("sparse.read_across_hole_to_data",
	      n == 8192 && cf_is_zero(buf, 4096) &&
		      cf_pattern_ok(buf + 4096, 4096, at),
	      "n %zd", n);
	n = vdax_pread(f, buf, 8192, at + 2048);
	cf_eq("sparse.short_read_at_end", n, 2048);
	cf_eq("sparse.ftruncate_6g", vdax_ftruncate(f, 6 * GiB), 0);
	cf_ok("sparse.ftruncate_6g_size",
	      cf_size("sparse") == 6 * GiB && host_size("sparse") == 6 * GiB,
	      "size %lld host %lld", (long long)cf_size("sparse"),
	      (long long)host_size("sparse"));
	n = vdax_pread(f, buf, 4096, 6 * GiB - 4096);
	cf_ok("sparse.ftruncate_6g_tail_zeros",
	      n == 4096 && cf_is_zero(buf, 4096), "n %zd", n);
	vdax_release(f);
	vdax_unlink(cf_vd, P("sparse"));
}

/* ---- truncate ---- */

static void trunc_up_down(void)
{
	struct vdax_file *f = cf_open("t", O_RDWR | O_CREAT | O_TRUNC, 0644,
				      NULL);
	ssize_t n;

	if (!f) {
		cf_fail_errno("trunc.up.rc", ENOENT);
		return;
	}
	cf_pattern(buf, 100, 0);
	vdax_write(f, buf, 100);
	cf_eq("trunc.up.rc", vdax_ftruncate(f, 1000), 0);
	cf_ok("trunc.up.size", cf_size("t") == 1000 && host_size("t") == 1000,
	      "size %lld host %lld", (long long)cf_size("t"),
	      (long long)host_size("t"));
	n = vdax_pread(f, buf, 2000, 0);
	cf_ok("trunc.up.data_kept", n == 1000 && cf_pattern_ok(buf, 100, 0),
	      "n %zd", n);
	cf_ok("trunc.up.zeros", n == 1000 && cf_is_zero(buf + 100, 900),
	      "nonzero in extension");
	cf_eq("trunc.down.rc", vdax_ftruncate(f, 50), 0);
	cf_ok("trunc.down.size", cf_size("t") == 50 && host_size("t") == 50,
	      "size %lld host %lld", (long long)cf_size("t"),
	      (long long)host_size("t"));
	cf_eq("trunc.down.read_stops", vdax_pread(f, buf, 100, 0), 50);
	vdax_ftruncate(f, 100);
	n = vdax_pread(f, buf, 100, 0);
	cf_ok("trunc.down.data_gone",
	      n == 100 && cf_pattern_ok(buf, 50, 0) && cf_is_zero(buf + 50, 50),
	      "old data came back");
	cf_eq("trunc.zero.size0", vdax_ftruncate(f, 0) ?: cf_size("t"), 0);
	vdax_release(f);
}

/* Shrinking into the middle of a page must zero the page tail. */
static void trunc_partial_page(void)
{
	struct vdax_file *f = cf_open("pp", O_RDWR | O_CREAT | O_TRUNC, 0644,
				      NULL);
	ssize_t n = -1;

	if (f) {
		memset(buf, 'x', 8192);
		vdax_write(f, buf, 8192);
		vdax_fsync(f, 0);
		vdax_ftruncate(f, 5000);
		vdax_ftruncate(f, 8192);
		n = vdax_pread(f, buf, 8192, 0);
	}
	cf_ok("trunc.partial_page.tail_zeroed",
	      n == 8192 && buf[4999] == 'x' && cf_is_zero(buf + 5000, 3192),
	      "n %zd", n);
	vdax_release(f);
}

static void trunc_errors(void)
{
	struct timespec old[2] = {{1000000, 0}, {1000000, 0}};
	struct stat sb = {0};
	struct vdax_file *f;

	cf_put_str("p", "abc");
	cf_eq("trunc.path.rc", vdax_truncate(cf_vd, P("p"), 4097), 0);
	cf_ok("trunc.path.size", cf_size("p") == 4097 && host_size("p") == 4097,
	      "size %lld host %lld", (long long)cf_size("p"),
	      (long long)host_size("p"));
	vdax_mkdir(cf_vd, P("d"), 0755);
	cf_err("trunc.dir_EISDIR", vdax_truncate(cf_vd, P("d"), 0), EISDIR);
	cf_err("trunc.missing_ENOENT", vdax_truncate(cf_vd, P("nope"), 0),
	       ENOENT);
	cf_err("trunc.path_negative_EINVAL", vdax_truncate(cf_vd, P("p"), -1),
	       EINVAL);
	f = cf_open("p", O_RDWR, 0, NULL);
	cf_err("trunc.fd_negative_EINVAL", f ? vdax_ftruncate(f, -1) : -ENOENT,
	       EINVAL);
	vdax_release(f);
	f = cf_open("p", O_RDONLY, 0, NULL);
	cf_err("trunc.rdonly_fd_EINVAL", f ? vdax_ftruncate(f, 0) : -ENOENT,
	       EINVAL);
	vdax_release(f);

	vdax_utimens(cf_vd, P("p"), old, 0);
	vdax_truncate(cf_vd, P("p"), 10);
	vdax_stat(cf_vd, P("p"), &sb);
	cf_ok("trunc.updates_mtime", sb.st_mtime > 1000000, "mtime %lld",
	      (long long)sb.st_mtime);
}

void cf_area_trunc(void)
{
	trunc_up_down();
	trunc_partial_page();
	trunc_errors();
}

/* ---- fallocate ---- */

/* An unsupported mode is a result, reported as a skip with the errno. */
static bool falloc_try(const char *name, struct vdax_file *f, int mode,
		       off_t off, off_t len)
{
	int rc = f ? vdax_fallocate(f, mode, off, len) : -EBADF;

	if (rc == -EOPNOTSUPP || rc == -ENOSYS) {
		cf_skip(name, rc == -ENOSYS ? "ENOSYS" : "EOPNOTSUPP");
		return false;
	}
	return cf_rc0(name, rc);
}

static void falloc_skip(const char *name, bool ran)
{
	if (!ran)
		cf_skip(name, "mode unsupported");
}

static void falloc_default(void)
{
	struct vdax_file *f = cf_open("fa", O_RDWR | O_CREAT | O_TRUNC, 0644,
				      NULL);
	struct stat sb = {0}, hsb = {0};
	bool ran;
	ssize_t n;

	ran = falloc_try("falloc.default.rc", f, 0, 0, 256 * KiB);
	falloc_skip("falloc.default.extends_size", ran);
	falloc_skip("falloc.default.allocates_blocks", ran);
	falloc_skip("falloc.default.reads_zeros", ran);
	if (ran) {
		vdax_fstat(f, &sb);
		cf_ok("falloc.default.extends_size",
		      sb.st_size == 256 * KiB && host_size("fa") == 256 * KiB,
		      "size %lld host %lld", (long long)sb.st_size,
		      (long long)host_size("fa"));
		lstat(H("fa"), &hsb);
		cf_ok("falloc.default.allocates_blocks",
		      sb.st_blocks * 512 >= 256 * KiB &&
			      hsb.st_blocks * 512 >= 256 * KiB,
		      "st_blocks %lld host %lld", (long long)sb.st_blocks,
		      (long long)hsb.st_blocks);
		n = vdax_pread(f, buf, sizeof(buf), 0);
		cf_ok("falloc.default.reads_zeros",
		      n == 256 * KiB && cf_is_zero(buf, n), "n %zd", n);
	}
	if (f)
		vdax_ftruncate(f, 4096);
	ran = falloc_try("falloc.keep_size.rc", f, FALLOC_FL_KEEP_SIZE, 0,
			 256 * KiB);
	falloc_skip("falloc.keep_size.size_unchanged", ran);
	if (ran)
		cf_ok("falloc.keep_size.size_unchanged",
		      cf_size("fa") == 4096 && host_size("fa") == 4096,
		      "size %lld host %lld", (long long)cf_size("fa"),
		      (long long)host_size("fa"));
	vdax_release(f);
}

/* Fills 64 KiB of 'A', applies mode to [4096, 12288), checks the result. */
static void falloc_zeroing(const char *what, int mode)
{
	struct vdax_file *f = cf_open(what, O_RDWR | O_CREAT | O_TRUNC, 0644,
				      NULL);
	char name[64];
	bool ran;
	ssize_t n = -1, hn;
	static char hbuf[64 * KiB];

	memset(buf, 'A', 64 * KiB);
	if (f) {
		vdax_write(f, buf, 64 * KiB);
		vdax_fsync(f, 0);
	}
	snprintf(name, sizeof(name), "falloc.%s.rc", what);
	ran = falloc_try(name, f, mode, 4096, 8192);
	if (f)
		n = vdax_pread(f, buf, 64 * KiB, 0);
	hn = host_get(what, hbuf, sizeof(hbuf), 0);
	snprintf(name, sizeof(name), "falloc.%s.range_zeroed", what);
	if (ran)
		cf_ok(name,
		      n == 64 * KiB && cf_is_zero(buf + 4096, 8192) &&
			      hn == 64 * KiB && cf_is_zero(hbuf + 4096, 8192),
		      "data survived");
	else
		cf_skip(name, "mode unsupported");
	snprintf(name, sizeof(name), "falloc.%s.outside_intact", what);
	if (ran)
		cf_ok(name,
		      n == 64 * KiB && buf[4095] == 'A' && buf[12288] == 'A' &&
			      buf[65535] == 'A',
		      "n %zd", n);
	else
		cf_skip(name, "mode unsupported");
	snprintf(name, sizeof(name), "falloc.%s.size_unchanged", what);
	if (ran)
		cf_eq(name, cf_size(what), 64 * KiB);
	else
		cf_skip(name, "mode unsupported");
	vdax_release(f);
}

static void falloc_errors(void)
{
	struct vdax_file *f = cf_open("fe", O_RDWR | O_CREAT | O_TRUNC, 0644,
				      NULL);

	cf_err("falloc.punch_without_keep_EOPNOTSUPP",
	       f ? vdax_fallocate(f, FALLOC_FL_PUNCH_HOLE, 0, 4096) : -EBADF,
	       EOPNOTSUPP);
	cf_err("falloc.len0_EINVAL", f ? vdax_fallocate(f, 0, 0, 0) : -EBADF,
	       EINVAL);
	cf_err("falloc.negative_offset_EINVAL",
	       f ? vdax_fallocate(f, 0, -1, 4096) : -EBADF, EINVAL);
	vdax_release(f);
	f = cf_open("fe", O_RDONLY, 0, NULL);
	cf_err("falloc.rdonly_EBADF", f ? vdax_fallocate(f, 0, 0, 4096) : -ENOENT,
	       EBADF);
	vdax_release(f);
}

void cf_area_falloc(void)
{
	falloc_default();
	falloc_zeroing("punch", FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
	falloc_zeroing("zero_range", FALLOC_FL_ZERO_RANGE);
	falloc_zeroing("zero_range_keep",
		       FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE);
	falloc_errors();
}

/* ---- SEEK_DATA / SEEK_HOLE ---- */

void cf_area_seek(void)
{
	const off_t M = 1 << 20;
	off_t end = M + 64 * KiB;
	struct vdax_file *f = cf_open("s", O_RDWR | O_CREAT | O_TRUNC, 0644,
				      NULL);

	if (!f) {
		cf_fail_errno("seek.data_from_0", ENOENT);
		return;
	}
	/* data [0, 64K), hole [64K, 1M), data [1M, 1M+64K) */
	memset(buf, 'D', 64 * KiB);
	vdax_pwrite(f, buf, 64 * KiB, 0);
	vdax_pwrite(f, buf, 64 * KiB, M);
	vdax_fsync(f, 0);
	cf_eq("seek.data_from_0", vdax_lseek(f, 0, SEEK_DATA), 0);
	cf_eq("seek.hole_from_0", vdax_lseek(f, 0, SEEK_HOLE), 64 * KiB);
	cf_eq("seek.data_from_hole", vdax_lseek(f, 128 * KiB, SEEK_DATA), M);
	cf_eq("seek.hole_in_hole", vdax_lseek(f, 128 * KiB, SEEK_HOLE),
	      128 * KiB);
	cf_eq("seek.hole_from_last_data", vdax_lseek(f, M + 4096, SEEK_HOLE),
	      end);
	cf_eq("seek.data_in_data", vdax_lseek(f, M + 4096, SEEK_DATA), M + 4096);
	cf_err("seek.data_at_eof_ENXIO", vdax_lseek(f, end, SEEK_DATA), ENXIO);
	cf_err("seek.data_past_eof_ENXIO", vdax_lseek(f, end + M, SEEK_DATA),
	       ENXIO);
	cf_err("seek.hole_past_eof_ENXIO", vdax_lseek(f, end + 1, SEEK_HOLE),
	       ENXIO);
	vdax_ftruncate(f, end + M);
	cf_err("seek.data_in_trailing_hole_ENXIO",
	       vdax_lseek(f, end + 4096, SEEK_DATA), ENXIO);
	cf_eq("seek.offset_after_hole_seek", vdax_lseek(f, 0, SEEK_CUR),
	      M + 4096);
	vdax_release(f);
}
