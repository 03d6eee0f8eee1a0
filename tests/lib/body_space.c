// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The sparse, trunc, falloc and seek areas of the shared body (cbody.h):
 * sparse files, truncate, fallocate and SEEK_DATA/SEEK_HOLE. Sizes and
 * blocks are checked on the host too where the suite sees it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cbody.h"

#define GiB (1LL << 30)
#define KiB 1024

static char buf[256 * KiB];

/* The host's st_blocks of @p, or @none where there is no host view. */
static long long host_blocks(const struct cb_ops *o, const char *p,
			     long long none)
{
	struct stat st = { 0 };

	if (!o->host_lstat)
		return none;
	return o->host_lstat(p, &st) ? -1 : (long long)st.st_blocks;
}

/* ---- sparse ---- */

void cb_area_sparse(const struct cb_ops *o)
{
	off_t at = 5 * GiB;
	struct stat sb = { 0 };
	ssize_t n;
	void *f;
	int ret;

	ret = o->open("sparse", O_RDWR | O_CREAT | O_TRUNC, 0644, &f);
	if (ret) {
		cb_fail_errno(o, "sparse.pwrite_5g.count", -ret);
		return;
	}
	cb_pattern(buf, 4096, at);
	cb_eq(o, "sparse.pwrite_5g.count", o->pwrite(f, buf, 4096, at), 4096);
	o->fsync(f);
	o->fstat(f, &sb);
	cb_ok(o, "sparse.pwrite_5g.size",
	      sb.st_size == at + 4096 && cb_host_size_is(o, "sparse", at + 4096),
	      "size %lld", (long long)sb.st_size);
	/* 5 GiB of size, one page of data: the hole takes no blocks */
	cb_ok(o, "sparse.pwrite_5g.blocks_small",
	      sb.st_blocks < 2048 && host_blocks(o, "sparse", 0) < 2048,
	      "st_blocks %lld host %lld", (long long)sb.st_blocks,
	      host_blocks(o, "sparse", 0));
	cb_eq(o, "sparse.lseek_end", o->lseek(f, 0, SEEK_END), at + 4096);
	n = o->pread(f, buf, 64 * KiB, 4 * GiB);
	cb_ok(o, "sparse.hole_above_4g_zeros",
	      n == 64 * KiB && cb_is_zero(buf, n), "n %zd", n);
	n = o->pread(f, buf, 64 * KiB, GiB - 100);
	cb_ok(o, "sparse.hole_below_4g_zeros",
	      n == 64 * KiB && cb_is_zero(buf, n), "n %zd", n);
	n = o->pread(f, buf, 4096, at);
	cb_ok(o, "sparse.data_readback",
	      n == 4096 && cb_pattern_ok(buf, 4096, at), "n %zd", n);
	if (o->host_read) {
		n = o->host_read("sparse", buf, 4096, at);
		cb_ok(o, "sparse.host_data_at_5g",
		      n == 4096 && cb_pattern_ok(buf, 4096, at),
		      "host read %zd", n);
	}
	n = o->pread(f, buf, 8192, at - 4096);
	cb_ok(o, "sparse.read_across_hole_to_data",
	      n == 8192 && cb_is_zero(buf, 4096) &&
		      cb_pattern_ok(buf + 4096, 4096, at),
	      "n %zd", n);
	n = o->pread(f, buf, 8192, at + 2048);
	cb_eq(o, "sparse.short_read_at_end", n, 2048);
	cb_eq(o, "sparse.ftruncate_6g", o->ftruncate(f, 6 * GiB), 0);
	cb_ok(o, "sparse.ftruncate_6g_size",
	      cb_size(o, "sparse") == 6 * GiB &&
		      cb_host_size_is(o, "sparse", 6 * GiB),
	      "size %lld", (long long)cb_size(o, "sparse"));
	n = o->pread(f, buf, 4096, 6 * GiB - 4096);
	cb_ok(o, "sparse.ftruncate_6g_tail_zeros",
	      n == 4096 && cb_is_zero(buf, 4096), "n %zd", n);
	o->close(f);
	o->unlink("sparse");
}

/* ---- truncate ---- */

static void trunc_up_down(const struct cb_ops *o)
{
	ssize_t n;
	void *f;
	int ret = o->open("t", O_RDWR | O_CREAT | O_TRUNC, 0644, &f);

	if (ret) {
		cb_fail_errno(o, "trunc.up.rc", -ret);
		return;
	}
	cb_pattern(buf, 100, 0);
	o->write(f, buf, 100);
	cb_eq(o, "trunc.up.rc", o->ftruncate(f, 1000), 0);
	cb_ok(o, "trunc.up.size",
	      cb_size(o, "t") == 1000 && cb_host_size_is(o, "t", 1000),
	      "size %lld", (long long)cb_size(o, "t"));
	n = o->pread(f, buf, 2000, 0);
	cb_ok(o, "trunc.up.data_kept", n == 1000 && cb_pattern_ok(buf, 100, 0),
	      "n %zd", n);
	cb_ok(o, "trunc.up.zeros", n == 1000 && cb_is_zero(buf + 100, 900),
	      "nonzero in extension");
	cb_eq(o, "trunc.down.rc", o->ftruncate(f, 50), 0);
	cb_ok(o, "trunc.down.size",
	      cb_size(o, "t") == 50 && cb_host_size_is(o, "t", 50), "size %lld",
	      (long long)cb_size(o, "t"));
	cb_eq(o, "trunc.down.read_stops", o->pread(f, buf, 100, 0), 50);
	/* growing again must not bring the cut bytes back */
	o->ftruncate(f, 100);
	n = o->pread(f, buf, 100, 0);
	cb_ok(o, "trunc.down.data_gone",
	      n == 100 && cb_pattern_ok(buf, 50, 0) && cb_is_zero(buf + 50, 50),
	      "old data came back");
	cb_eq(o, "trunc.zero.size0", o->ftruncate(f, 0) ?: cb_size(o, "t"), 0);
	o->close(f);
}

/* Shrinking into the middle of a page must zero the page tail. */
static void trunc_partial_page(const struct cb_ops *o)
{
	ssize_t n = -1;
	void *f;

	if (!o->open("pp", O_RDWR | O_CREAT | O_TRUNC, 0644, &f)) {
		memset(buf, 'x', 8192);
		o->write(f, buf, 8192);
		o->fsync(f);
		o->ftruncate(f, 5000);
		o->ftruncate(f, 8192);
		n = o->pread(f, buf, 8192, 0);
		o->close(f);
	}
	cb_ok(o, "trunc.partial_page.tail_zeroed",
	      n == 8192 && buf[4999] == 'x' && cb_is_zero(buf + 5000, 3192),
	      "n %zd", n);
}

static void trunc_errors(const struct cb_ops *o)
{
	const struct timespec old[2] = { { 1000000, 0 }, { 1000000, 0 } };
	struct stat sb = { 0 };
	void *f;

	cb_put_str(o, "p", "abc");
	cb_eq(o, "trunc.path.rc", o->truncate("p", 4097), 0);
	cb_ok(o, "trunc.path.size",
	      cb_size(o, "p") == 4097 && cb_host_size_is(o, "p", 4097),
	      "size %lld", (long long)cb_size(o, "p"));
	o->mkdir("d", 0755);
	cb_err(o, "trunc.dir_EISDIR", o->truncate("d", 0), EISDIR);
	cb_err(o, "trunc.missing_ENOENT", o->truncate("nope", 0), ENOENT);
	cb_err(o, "trunc.path_negative_EINVAL", o->truncate("p", -1), EINVAL);
	f = NULL;
	cb_err(o, "trunc.fd_negative_EINVAL",
	       o->open("p", O_RDWR, 0, &f) ?: o->ftruncate(f, -1), EINVAL);
	if (f)
		o->close(f);
	f = NULL;
	cb_err(o, "trunc.rdonly_fd_EINVAL",
	       o->open("p", O_RDONLY, 0, &f) ?: o->ftruncate(f, 0), EINVAL);
	if (f)
		o->close(f);

	o->utimens("p", old);
	o->truncate("p", 10);
	o->stat("p", &sb);
	cb_ok(o, "trunc.updates_mtime", sb.st_mtime > 1000000, "mtime %lld",
	      (long long)sb.st_mtime);
}

void cb_area_trunc(const struct cb_ops *o)
{
	trunc_up_down(o);
	trunc_partial_page(o);
	trunc_errors(o);
}

/* ---- fallocate ---- */

/*
 * fallocate() with a mode the filesystem does not implement is a result,
 * not a crash: the check and its dependants are reported as skipped with
 * the errno, so a comparison across mounts shows the difference.
 */
static bool falloc_try(const struct cb_ops *o, const char *name, void *f,
		       int mode, off_t off, off_t len)
{
	int rc = f ? o->fallocate(f, mode, off, len) : -EBADF;

	if (rc == -EOPNOTSUPP || rc == -ENOSYS) {
		cb_skip(o, name, rc == -ENOSYS ? "ENOSYS" : "EOPNOTSUPP");
		return false;
	}
	return cb_rc0(o, name, rc);
}

static void falloc_skip(const struct cb_ops *o, const char *name, bool ran)
{
	if (!ran)
		cb_skip(o, name, "mode unsupported");
}

static void falloc_default(const struct cb_ops *o)
{
	struct stat sb = { 0 };
	void *f = NULL;
	bool ran;
	ssize_t n;

	if (o->open("fa", O_RDWR | O_CREAT | O_TRUNC, 0644, &f))
		f = NULL;
	ran = falloc_try(o, "falloc.default.rc", f, 0, 0, 256 * KiB);
	falloc_skip(o, "falloc.default.extends_size", ran);
	falloc_skip(o, "falloc.default.allocates_blocks", ran);
	falloc_skip(o, "falloc.default.reads_zeros", ran);
	if (ran) {
		o->fstat(f, &sb);
		cb_ok(o, "falloc.default.extends_size",
		      sb.st_size == 256 * KiB &&
			      cb_host_size_is(o, "fa", 256 * KiB),
		      "size %lld", (long long)sb.st_size);
		cb_ok(o, "falloc.default.allocates_blocks",
		      sb.st_blocks * 512 >= 256 * KiB &&
			      host_blocks(o, "fa", 512) * 512 >= 256 * KiB,
		      "st_blocks %lld host %lld", (long long)sb.st_blocks,
		      host_blocks(o, "fa", 512));
		n = o->pread(f, buf, sizeof(buf), 0);
		cb_ok(o, "falloc.default.reads_zeros",
		      n == 256 * KiB && cb_is_zero(buf, n), "n %zd", n);
	}
	if (f)
		o->ftruncate(f, 4096);
	ran = falloc_try(o, "falloc.keep_size.rc", f, FALLOC_FL_KEEP_SIZE, 0,
			 256 * KiB);
	falloc_skip(o, "falloc.keep_size.size_unchanged", ran);
	if (ran)
		cb_ok(o, "falloc.keep_size.size_unchanged",
		      cb_size(o, "fa") == 4096 && cb_host_size_is(o, "fa", 4096),
		      "size %lld", (long long)cb_size(o, "fa"));
	if (f)
		o->close(f);
}

/* Fills 64 KiB of 'A', applies mode to [4096, 12288), checks the result. */
static void falloc_zeroing(const struct cb_ops *o, const char *what, int mode)
{
	static char hbuf[64 * KiB];
	char name[64];
	ssize_t n = -1, hn = 64 * KiB;
	void *f = NULL;
	bool ran;

	memset(buf, 'A', 64 * KiB);
	if (o->open(what, O_RDWR | O_CREAT | O_TRUNC, 0644, &f))
		f = NULL;
	if (f) {
		o->write(f, buf, 64 * KiB);
		o->fsync(f);
	}
	snprintf(name, sizeof(name), "falloc.%s.rc", what);
	ran = falloc_try(o, name, f, mode, 4096, 8192);
	if (f)
		n = o->pread(f, buf, 64 * KiB, 0);
	/* no host view: the host copy "agrees" */
	memset(hbuf, 0, sizeof(hbuf));
	if (o->host_read)
		hn = o->host_read(what, hbuf, sizeof(hbuf), 0);
	snprintf(name, sizeof(name), "falloc.%s.range_zeroed", what);
	if (ran)
		cb_ok(o, name,
		      n == 64 * KiB && cb_is_zero(buf + 4096, 8192) &&
			      hn == 64 * KiB && cb_is_zero(hbuf + 4096, 8192),
		      "data survived");
	else
		cb_skip(o, name, "mode unsupported");
	snprintf(name, sizeof(name), "falloc.%s.outside_intact", what);
	if (ran)
		cb_ok(o, name,
		      n == 64 * KiB && buf[4095] == 'A' && buf[12288] == 'A' &&
			      buf[65535] == 'A',
		      "n %zd", n);
	else
		cb_skip(o, name, "mode unsupported");
	snprintf(name, sizeof(name), "falloc.%s.size_unchanged", what);
	if (ran)
		cb_eq(o, name, cb_size(o, what), 64 * KiB);
	else
		cb_skip(o, name, "mode unsupported");
	if (f)
		o->close(f);
}

static void falloc_errors(const struct cb_ops *o)
{
	void *f = NULL;

	if (o->open("fe", O_RDWR | O_CREAT | O_TRUNC, 0644, &f))
		f = NULL;
	cb_err(o, "falloc.punch_without_keep_EOPNOTSUPP",
	       f ? o->fallocate(f, FALLOC_FL_PUNCH_HOLE, 0, 4096) : -EBADF,
	       EOPNOTSUPP);
	cb_err(o, "falloc.len0_EINVAL", f ? o->fallocate(f, 0, 0, 0) : -EBADF,
	       EINVAL);
	cb_err(o, "falloc.negative_offset_EINVAL",
	       f ? o->fallocate(f, 0, -1, 4096) : -EBADF, EINVAL);
	if (f)
		o->close(f);
	if (o->open("fe", O_RDONLY, 0, &f))
		f = NULL;
	cb_err(o, "falloc.rdonly_EBADF",
	       f ? o->fallocate(f, 0, 0, 4096) : -ENOENT, EBADF);
	if (f)
		o->close(f);
}

void cb_area_falloc(const struct cb_ops *o)
{
	falloc_default(o);
	falloc_zeroing(o, "punch", FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
	falloc_zeroing(o, "zero_range", FALLOC_FL_ZERO_RANGE);
	falloc_zeroing(o, "zero_range_keep",
		       FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE);
	falloc_errors(o);
}

/* ---- SEEK_DATA / SEEK_HOLE ---- */

void cb_area_seek(const struct cb_ops *o)
{
	const off_t M = 1 << 20;
	off_t end = M + 64 * KiB;
	void *f;
	int ret = o->open("s", O_RDWR | O_CREAT | O_TRUNC, 0644, &f);

	if (ret) {
		cb_fail_errno(o, "seek.data_from_0", -ret);
		return;
	}
	/* data [0, 64K), hole [64K, 1M), data [1M, 1M+64K) */
	memset(buf, 'D', 64 * KiB);
	o->pwrite(f, buf, 64 * KiB, 0);
	o->pwrite(f, buf, 64 * KiB, M);
	o->fsync(f);
	cb_eq(o, "seek.data_from_0", o->lseek(f, 0, SEEK_DATA), 0);
	cb_eq(o, "seek.hole_from_0", o->lseek(f, 0, SEEK_HOLE), 64 * KiB);
	cb_eq(o, "seek.data_from_hole", o->lseek(f, 128 * KiB, SEEK_DATA), M);
	cb_eq(o, "seek.hole_in_hole", o->lseek(f, 128 * KiB, SEEK_HOLE),
	      128 * KiB);
	cb_eq(o, "seek.hole_from_last_data", o->lseek(f, M + 4096, SEEK_HOLE),
	      end);
	cb_eq(o, "seek.data_in_data", o->lseek(f, M + 4096, SEEK_DATA),
	      M + 4096);
	cb_err(o, "seek.data_at_eof_ENXIO", o->lseek(f, end, SEEK_DATA), ENXIO);
	cb_err(o, "seek.data_past_eof_ENXIO", o->lseek(f, end + M, SEEK_DATA),
	       ENXIO);
	cb_err(o, "seek.hole_past_eof_ENXIO", o->lseek(f, end + 1, SEEK_HOLE),
	       ENXIO);
	o->ftruncate(f, end + M);
	cb_err(o, "seek.data_in_trailing_hole_ENXIO",
	       o->lseek(f, end + 4096, SEEK_DATA), ENXIO);
	/* a failed SEEK_DATA leaves the offset where the last good one put it */
	cb_eq(o, "seek.offset_after_hole_seek", o->lseek(f, 0, SEEK_CUR),
	      M + 4096);
	o->close(f);
}
