// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libvdax DAX end to end: vdaxd with an 8 MiB window (4 ranges), the
 * client with dax=always (and inode/never), data checked on both sides.
 */
#include <linux/falloc.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>

#include "daxe2e.h"

#define MiB (1024 * 1024)

static struct dx d;

static void test_window_options(const char *vdaxd)
{
	struct vdax_stats st;
	struct vdax *vd;
	struct vdax_opts o = { .socket_path = d.sock };

	o.options = "dax,cache_size=3M";
	is_int(vdax_open_session(&o, &vd), -EINVAL,
	       "cache_size not a multiple of 2M -> EINVAL");
	o.options = "dax=always,cache_size=0";
	is_int(vdax_open_session(&o, &vd), -EINVAL, "cache_size=0 -> EINVAL");

	/* a smaller window than the backend's */
	if (dx_start(&d, vdaxd, 0, "--cache-size=8M", NULL))
		tap_bail("vdaxd did not start");
	is_int(dx_open(&d, "dax=always,cache_size=4M"), 0,
	       "session with cache_size=4M");
	st = dx_stats(&d);
	is_int((int)st.ranges_total, 2, "4M window: 2 ranges");
	dx_stop(&d);

	/* a larger one is clamped to the advertised size */
	if (dx_start(&d, vdaxd, 0, "--cache-size=8M", NULL))
		tap_bail("vdaxd did not start");
	is_int(dx_open(&d, "dax=always,cache_size=16M"), 0,
	       "session with cache_size=16M");
	st = dx_stats(&d);
	ok(st.window_size == 8 * MiB, "16M clamped to the advertised 8M (%llu)",
	   (unsigned long long)st.window_size);
	dx_stop(&d);

	/* dax=never: no window even though one is offered */
	if (dx_start(&d, vdaxd, 0, "--cache-size=8M", NULL))
		tap_bail("vdaxd did not start");
	is_int(dx_open(&d, "dax=never"), 0, "session with dax=never");
	st = dx_stats(&d);
	ok(st.window_size == 0, "dax=never: no window");
	dx_stop(&d);

	/* a backend without a window */
	if (dx_start(&d, vdaxd, 0, NULL))
		tap_bail("vdaxd did not start");
	is_int(dx_open(&d, "dax=always"), -EOPNOTSUPP,
	       "dax=always on vdaxd without --cache-size -> EOPNOTSUPP");
	d.vd = NULL;
	dx_stop(&d);
	if (dx_start(&d, vdaxd, 0, NULL))
		tap_bail("vdaxd did not start");
	is_int(dx_open(&d, "dax=inode"), 0,
	       "dax=inode without a window falls back");
	dx_stop(&d);
}

static void test_virtiofsd(void)
{
	const char *v = getenv("VIRTIOFSD");

	if (!v || !*v)
		v = "/usr/lib/qemu/virtiofsd";
	if (access(v, X_OK) || geteuid() != 0) {
		ok(1, "# SKIP QEMU's virtiofsd not available (or not root)");
		ok(1, "# SKIP");
		return;
	}
	if (dx_start(&d, v, 1, NULL)) {
		ok(0, "virtiofsd started");
		return;
	}
	is_int(dx_open(&d, "dax=always"), -EOPNOTSUPP,
	       "dax=always on QEMU's virtiofsd -> EOPNOTSUPP");
	d.vd = NULL;
	dx_stop(&d);
	if (dx_start(&d, v, 1, NULL)) {
		ok(0, "virtiofsd restarted");
		return;
	}
	is_int(dx_open(&d, "dax=inode"), 0,
	       "dax=inode on QEMU's virtiofsd falls back to no DAX");
	dx_stop(&d);
}

static void test_basic(void)
{
	unsigned char *buf = malloc(4 * MiB), *hb = malloc(4 * MiB);
	struct vdax_stats s0, s1;
	struct vdax_file *f;
	struct stat st;
	ssize_t n;

	s0 = dx_stats(&d);
	is_int((int)s0.ranges_total, 4, "8M window: 4 ranges");
	is_int((int)s0.ranges_free, 4, "all free at start");

	/* client writes (extending: FUSE_WRITE), reads back through DAX */
	is_int(vdax_open(d.vd, "a", O_RDWR | O_CREAT, 0644, &f), 0, "create a");
	dx_fill(buf, 65536, 1, 0);
	is_int((int)vdax_pwrite(f, buf, 65536, 0), 65536, "extending write");
	is_int(vdax_fstat(f, &st), 0, "fstat");
	is_int((int)st.st_size, 65536, "size updated");
	s1 = dx_stats(&d);
	ok(s1.misses == s0.misses, "extending write used no range");
	memset(buf, 0, 65536);
	is_int((int)vdax_pread(f, buf, 65536, 0), 65536, "read back");
	is_int((int)dx_check(buf, 65536, 1, 0), -1, "data right");
	s1 = dx_stats(&d);
	ok(s1.misses == s0.misses + 1, "first read: a miss (%llu -> %llu)",
	   (unsigned long long)s0.misses, (unsigned long long)s1.misses);
	s0 = s1;
	is_int((int)vdax_pread(f, buf, 4096, 8192), 4096, "read again");
	s1 = dx_stats(&d);
	ok(s1.hits > s0.hits && s1.misses == s0.misses, "second read: a hit");

	/* overwrite in place through the window; visible on the host */
	dx_fill(buf, 4096, 2, 4096);
	is_int((int)vdax_pwrite(f, buf, 4096, 4096), 4096, "DAX overwrite");
	s1 = dx_stats(&d);
	ok(s1.upgrades >= 1, "read-only range upgraded for the write");
	n = dx_host_read(&d, "a", hb, 65536, 0);
	is_int((int)n, 65536, "host read");
	ok(dx_check(hb + 4096, 4096, 2, 4096) == -1 &&
		   dx_check(hb, 4096, 1, 0) == -1 &&
		   dx_check(hb + 8192, 65536 - 8192, 1, 8192) == -1,
	   "host sees the DAX write");
	is_int(vdax_fsync(f, 0), 0, "fsync");
	is_int(vdax_fsync(f, 1), 0, "fdatasync");

	/* extending write at the end: size and data */
	dx_fill(buf, 10000, 3, 65536);
	is_int((int)vdax_pwrite(f, buf, 10000, 65536), 10000,
	       "write past the end");
	is_int(vdax_fstat(f, &st), 0, "fstat");
	is_int((int)st.st_size, 65536 + 10000, "size grew");
	memset(buf, 0, 20000);
	is_int((int)vdax_pread(f, buf, 20000, 65536), 10000,
	       "read clamped at the new end");
	is_int((int)dx_check(buf, 10000, 3, 65536), -1, "extended data right");
	ok(dx_host_size(&d, "a") == 65536 + 10000, "host size");
	vdax_release(f);

	/* host writes, client reads through the window */
	dx_fill(hb, 3 * MiB, 4, 0);
	is_int(dx_host_write(&d, "h", hb, 3 * MiB, 0), 0, "host writes h");
	is_int(vdax_open(d.vd, "h", O_RDONLY, 0, &f), 0, "open h");
	s0 = dx_stats(&d);
	is_int((int)vdax_pread(f, buf, 3 * MiB, 0), 3 * MiB, "read h");
	is_int((int)dx_check(buf, 3 * MiB, 4, 0), -1, "host data via DAX");
	s1 = dx_stats(&d);
	ok(s1.misses == s0.misses + 2, "two ranges set up");
	dx_fill(hb, 4096, 5, 1 * MiB);
	is_int(dx_host_write(&d, "h", hb, 4096, 1 * MiB), 0,
	       "host overwrites h");
	is_int((int)vdax_pread(f, buf, 4096, 1 * MiB), 4096, "read again");
	is_int((int)dx_check(buf, 4096, 5, 1 * MiB), -1,
	       "the window shows the host's page cache");
	vdax_release(f);
	free(buf);
	free(hb);
}

static void test_truncate_punch(void)
{
	unsigned char *buf = malloc(3 * MiB), *hb = malloc(3 * MiB);
	struct vdax_stats s0, s1;
	struct vdax_file *f;
	struct stat st;
	long bad;

	dx_fill(hb, 3 * MiB, 6, 0);
	is_int(dx_host_write(&d, "t", hb, 3 * MiB, 0), 0, "host writes t");
	is_int(vdax_open(d.vd, "t", O_RDWR, 0, &f), 0, "open t");
	is_int((int)vdax_pread(f, buf, 3 * MiB, 0), 3 * MiB, "map t");
	s0 = dx_stats(&d);
	is_int(vdax_ftruncate(f, MiB + 4096), 0, "truncate down, mapped");
	s1 = dx_stats(&d);
	ok(s1.remove_mappings > s0.remove_mappings,
	   "ranges removed by the truncate (%llu)",
	   (unsigned long long)(s1.remove_mappings - s0.remove_mappings));
	ok(dx_host_size(&d, "t") == MiB + 4096, "host size after truncate");
	is_int((int)vdax_pread(f, buf, 3 * MiB, 0), MiB + 4096,
	       "read stops at the new end");
	is_int((int)dx_check(buf, MiB + 4096, 6, 0), -1, "kept data right");
	is_int(vdax_ftruncate(f, 3 * MiB), 0, "truncate up");
	memset(buf, 0xaa, 3 * MiB);
	is_int((int)vdax_pread(f, buf, 3 * MiB, 0), 3 * MiB, "read all");
	bad = -1;
	for (long i = MiB + 4096; i < 3 * MiB; i++)
		if (buf[i]) {
			bad = i;
			break;
		}
	is_int((int)bad, -1, "the grown part reads zero");
	dx_fill(buf, 8192, 7, 2 * MiB + 12288);
	is_int((int)vdax_pwrite(f, buf, 8192, 2 * MiB + 12288), 8192,
	       "DAX write into the grown part");
	is_int((int)dx_host_read(&d, "t", hb, 8192, 2 * MiB + 12288), 8192,
	       "host read");
	is_int((int)dx_check(hb, 8192, 7, 2 * MiB + 12288), -1,
	       "host sees it");

	/* punch a hole with the range mapped */
	is_int((int)vdax_pread(f, buf, 65536, 0), 65536, "map the start");
	is_int(vdax_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      8192, 16384),
	       0, "punch hole");
	memset(buf, 0xaa, 65536);
	is_int((int)vdax_pread(f, buf, 65536, 0), 65536, "read over the hole");
	bad = -1;
	for (long i = 8192; i < 8192 + 16384; i++)
		if (buf[i]) {
			bad = i;
			break;
		}
	is_int((int)bad, -1, "the hole reads zero");
	is_int((int)dx_check(buf, 8192, 6, 0), -1, "before the hole intact");
	is_int((int)dx_check(buf + 24576, 65536 - 24576, 6, 24576), -1,
	       "after the hole intact");
	is_int((int)dx_host_read(&d, "t", hb, 65536, 0), 65536, "host read");
	ok(hb[8192] == 0 && hb[24575] == 0 && hb[24576] == buf[24576],
	   "host sees the hole");
	is_int(vdax_fstat(f, &st), 0, "fstat");
	is_int((int)st.st_size, 3 * MiB, "size kept");

	/* O_TRUNC open with ranges mapped */
	is_int((int)vdax_pread(f, buf, 4096, 0), 4096, "map again");
	{
		struct vdax_file *g;

		is_int(vdax_open(d.vd, "t", O_RDWR | O_TRUNC, 0, &g), 0,
		       "open O_TRUNC");
		is_int((int)vdax_pread(f, buf, 4096, 0), 0,
		       "empty after O_TRUNC");
		ok(dx_host_size(&d, "t") == 0, "host size 0");
		vdax_release(g);
	}
	vdax_release(f);
	free(buf);
	free(hb);
}

/* 64 MiB through an 8 MiB window, written and read through DAX; @adaptive:
 * the session's admission (and so the streams' read-ahead) is on. */
static void test_stream(bool adaptive)
{
	const size_t size = 64 * MiB, chunk = 512 * 1024;
	unsigned char *buf = malloc(chunk);
	struct vdax_stats s0, s1;
	struct vdax_file *f;
	long bad = -1;
	int fd;
	char p[600];

	is_int(vdax_open(d.vd, "big", O_RDWR | O_CREAT, 0644, &f), 0,
	       "create big");
	is_int(vdax_ftruncate(f, (off_t)size), 0, "size it (8x the window)");
	s0 = dx_stats(&d);
	for (size_t off = 0; off < size; off += chunk) {
		dx_fill(buf, chunk, 8, off);
		if (vdax_pwrite(f, buf, chunk, (off_t)off) != (ssize_t)chunk) {
			bad = (long)off;
			break;
		}
	}
	is_int((int)bad, -1, "streamed write");
	s1 = dx_stats(&d);
	ok(s1.misses - s0.misses >= size / (2 * MiB),
	   "every range set up (%llu misses)",
	   (unsigned long long)(s1.misses - s0.misses));
	ok(s1.bg_reclaims + s1.direct_reclaims >
		   s0.bg_reclaims + s0.direct_reclaims,
	   "ranges reclaimed while streaming (bg %llu, direct %llu)",
	   (unsigned long long)(s1.bg_reclaims - s0.bg_reclaims),
	   (unsigned long long)(s1.direct_reclaims - s0.direct_reclaims));
	is_int(vdax_fsync(f, 0), 0, "fsync big");
	/* the host has it all */
	fd = open(dx_host(&d, "big", p, sizeof(p)), O_RDONLY);
	for (size_t off = 0; fd >= 0 && off < size; off += chunk)
		if (pread(fd, buf, chunk, (off_t)off) != (ssize_t)chunk ||
		    dx_check(buf, chunk, 8, off) != -1) {
			bad = (long)off;
			break;
		}
	if (fd >= 0)
		close(fd);
	is_int((int)bad, -1, "host content right");
	s0 = dx_stats(&d);
	for (size_t off = 0; off < size; off += chunk)
		if (vdax_pread(f, buf, chunk, (off_t)off) != (ssize_t)chunk ||
		    dx_check(buf, chunk, 8, off) != -1) {
			bad = (long)off;
			break;
		}
	is_int((int)bad, -1, "streamed read, data right");
	s1 = dx_stats(&d);
	ok(s1.misses - s0.misses >= size / (2 * MiB) - 4,
	   "read streamed through the window (%llu misses)",
	   (unsigned long long)(s1.misses - s0.misses));
	/*
	 * The file is 8x the window: the stream's read-ahead re-maps the
	 * ranges it left behind in place, vdaxd replacing the mapping (the
	 * data checks above say it really did), with no FUSE_REMOVEMAPPING
	 * for them. With dax_admit=all there is no read-ahead: the reader
	 * maps and the worker removes.
	 */
	ok(!adaptive || s1.remove_mappings - s0.remove_mappings <=
		   (s1.misses - s0.misses) / 4,
	   "ranges re-mapped in place: %llu removed for %llu set up",
	   (unsigned long long)(s1.remove_mappings - s0.remove_mappings),
	   (unsigned long long)(s1.misses - s0.misses));
	/*
	 * A read-ahead or a background reclaim may still hold a range off
	 * both lists for a moment (taken, not yet installed or freed): the
	 * counts must add up once the worker is done.
	 */
	for (int i = 0; i < 300; i++) {
		s1 = dx_stats(&d);
		if (s1.ranges_busy + s1.ranges_free == s1.ranges_total)
			break;
		dx_sleep_ms(10);
	}
	ok(s1.ranges_busy + s1.ranges_free == s1.ranges_total,
	   "ranges accounted for (%llu free, %llu busy of %llu)",
	   (unsigned long long)s1.ranges_free,
	   (unsigned long long)s1.ranges_busy,
	   (unsigned long long)s1.ranges_total);
	vdax_release(f);
	free(buf);
}

/*
 * The adaptive admission on a real daemon (8 MiB window): 4 KiB random
 * reads over 32 MiB, 4x the window, once it is full go around it by
 * FUSE_READ for ranges that have not earned a mapping; data right either
 * way, and the counters say so.
 */
static void test_admission(void)
{
	const size_t size = 32 * MiB, bs = 4096;
	unsigned char *hb = malloc(size), buf[4096];
	struct vdax_stats s0, s1;
	struct vdax_file *f;
	uint64_t x = 88172645463325252ull;
	long bad = -1;

	dx_fill(hb, size, 9, 0);
	is_int(dx_host_write(&d, "ws", hb, size, 0), 0, "host writes ws");
	is_int(vdax_open(d.vd, "ws", O_RDONLY, 0, &f), 0, "open ws");
	s0 = dx_stats(&d);
	for (int i = 0; i < 4000 && bad < 0; i++) {
		uint64_t off;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		off = x % (size / bs) * bs;
		if (vdax_pread(f, buf, bs, (off_t)off) != (ssize_t)bs ||
		    dx_check(buf, bs, 9, off) != -1)
			bad = (long)off;
	}
	is_int((int)bad, -1, "4000 random reads over 4x the window, data right");
	s1 = dx_stats(&d);
	ok(s1.bypasses - s0.bypasses > 1000,
	   "most misses went around the window (%llu bypasses)",
	   (unsigned long long)(s1.bypasses - s0.bypasses));
	ok(s1.misses - s0.misses < 400,
	   "few ranges set up (%llu), not one per miss",
	   (unsigned long long)(s1.misses - s0.misses));
	ok(s1.hits > s0.hits, "the ranges kept are hit (%llu)",
	   (unsigned long long)(s1.hits - s0.hits));
	ok(s1.admit_margin >= 1, "the margin is set (%llu)",
	   (unsigned long long)s1.admit_margin);
	vdax_release(f);
	free(hb);
}

/* ---- 2 MiB folios for bulk reads ------------------------------------ */

/* Write @name on the host (@size, pattern @seed), then drop it from the
 * page cache. 0, or -1 if the page cache kept some of it. */
static int host_cold(const char *name, size_t size, unsigned seed)
{
	unsigned char *hb = malloc(size);
	char p[600];
	int fd, ret = -1;

	dx_fill(hb, size, seed, 0);
	if (dx_host_write(&d, name, hb, size, 0))
		tap_bail("host write failed");
	fd = open(dx_host(&d, name, p, sizeof(p)), O_RDONLY);
	if (fd >= 0 && !fdatasync(fd) &&
	    !posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
		ret = 0;
	if (fd >= 0)
		close(fd);
	free(hb);
	return ret;
}

/*
 * Map host file @name in this process and report how much of it is
 * cached (mincore) and how much the kernel maps with PMDs when every
 * cached page is touched: 2 MiB folios in the page cache. @hugepage: the
 * probe itself asks for them (MADV_HUGEPAGE), which brings uncached pages
 * in as 2 MiB folios: the control, "does this filesystem have them".
 */
static void probe(const char *name, size_t size, bool hugepage,
		  size_t *cached, size_t *pmd)
{
	char p[600], line[256];
	unsigned char *vec = calloc(size / 4096, 1);
	char *res, *m;
	int fd = open(dx_host(&d, name, p, sizeof(p)), O_RDONLY);
	FILE *sm;
	bool in = false;
	unsigned long kb;

	*cached = *pmd = 0;
	res = mmap(NULL, size + 2 * MiB, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fd < 0 || res == MAP_FAILED || !vec)
		tap_bail("probe failed");
	m = mmap((char *)(((uintptr_t)res + 2 * MiB - 1) & ~(2 * MiB - 1)),
		 size, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		tap_bail("probe map failed");
	if (hugepage)
		madvise(m, size, MADV_HUGEPAGE);
	if (!mincore(m, size, vec))
		for (size_t i = 0; i < size / 4096; i++)
			*cached += (vec[i] & 1) * 4096;
	for (size_t i = 0; i < size / 4096; i++)
		if (hugepage || (vec[i] & 1))
			(void)*(volatile char *)(m + i * 4096);
	sm = fopen("/proc/self/smaps", "r");
	snprintf(p, sizeof(p), "%lx-", (unsigned long)m);
	while (sm && fgets(line, sizeof(line), sm)) {
		if (strchr(line, '-') && strchr(line, ' ') &&
		    strchr(line, '-') < strchr(line, ' '))
			in = !strncmp(line, p, strlen(p));
		else if (in && sscanf(line, "FilePmdMapped: %lu kB", &kb) == 1)
			*pmd = kb * 1024;
	}
	if (sm)
		fclose(sm);
	munmap(res, size + 2 * MiB);
	free(vec);
}

/*
 * A bulk reader (1 MiB calls, a stream) of a file not yet in the host's
 * page cache leaves it there in 2 MiB folios, which the window then maps
 * with one PMD per range; a single 4 KiB read brings in about its page.
 */
static void test_huge(void)
{
	const size_t size = 8 * MiB;
	size_t cached, pmd;
	unsigned char *buf = malloc(MiB);
	struct vdax_file *f;
	long bad = -1;

	if (host_cold("hctl", size, 41) || host_cold("hbulk", size, 42) ||
	    host_cold("hsmall", size, 43)) {
		tap_skip("the page cache keeps the files: no cold start here");
		free(buf);
		return;
	}
	probe("hctl", size, true, &cached, &pmd);
	if (pmd < 4 * MiB) {
		diag("control: %zu KiB cached, %zu KiB PMD-mapped", cached >> 10,
		     pmd >> 10);
		tap_skip("this filesystem gives no 2 MiB folios (control)");
		free(buf);
		return;
	}
	is_int(vdax_open(d.vd, "hbulk", O_RDONLY, 0, &f), 0, "open hbulk");
	for (size_t off = 0; off < size && bad < 0; off += MiB)
		if (vdax_pread(f, buf, MiB, (off_t)off) != (ssize_t)MiB ||
		    dx_check(buf, MiB, 42, off) != -1)
			bad = (long)off;
	vdax_release(f);
	is_int((int)bad, -1, "a cold 8 MiB file read in 1 MiB calls: right");
	probe("hbulk", size, false, &cached, &pmd);
	ok(cached == size && pmd >= size - 2 * MiB,
	   "... it is cached in 2 MiB folios (%zu KiB cached, %zu KiB "
	   "PMD-mapped)",
	   cached >> 10, pmd >> 10);

	is_int(vdax_open(d.vd, "hsmall", O_RDONLY, 0, &f), 0, "open hsmall");
	ok(vdax_pread(f, buf, 4096, 4 * MiB) == 4096 &&
		   dx_check(buf, 4096, 43, 4 * MiB) == -1,
	   "one 4 KiB read of a cold file: right");
	vdax_release(f);
	probe("hsmall", size, false, &cached, &pmd);
	/* Not the device's read-ahead either (8 MiB here): MADV_RANDOM. */
	ok(cached <= 256 * 1024,
	   "... it read about its page, not the read-around nor 2 MiB "
	   "(%zu KiB)", cached >> 10);
	free(buf);
}

static void test_inode_mode(const char *vdaxd)
{
	unsigned char *buf = malloc(3 * MiB);
	struct vdax_stats s0, s1;
	struct vdax_file *f;

	if (dx_start(&d, vdaxd, 0, "--cache-size=8M", "--inode-dax=size:1M",
		     NULL))
		tap_bail("vdaxd did not start");
	is_int(dx_open(&d, "dax=inode"), 0, "dax=inode session");
	dx_fill(buf, 3 * MiB, 9, 0);
	is_int(dx_host_write(&d, "small", buf, 4096, 0), 0, "host: small");
	is_int(dx_host_write(&d, "large", buf, 3 * MiB, 0), 0, "host: large");
	s0 = dx_stats(&d);
	is_int(vdax_open(d.vd, "small", O_RDONLY, 0, &f), 0, "open small");
	memset(buf, 0, 4096);
	is_int((int)vdax_pread(f, buf, 4096, 0), 4096, "read small");
	is_int((int)dx_check(buf, 4096, 9, 0), -1, "small data right");
	vdax_release(f);
	s1 = dx_stats(&d);
	ok(s1.misses == s0.misses && s1.hits == s0.hits &&
		   s1.setup_mappings == s0.setup_mappings,
	   "small file did not use the window");
	is_int(vdax_open(d.vd, "large", O_RDONLY, 0, &f), 0, "open large");
	is_int((int)vdax_pread(f, buf, 3 * MiB, 0), 3 * MiB, "read large");
	is_int((int)dx_check(buf, 3 * MiB, 9, 0), -1, "large data right");
	vdax_release(f);
	s1 = dx_stats(&d);
	ok(s1.misses >= s0.misses + 2, "large file went through the window");
	dx_stop(&d);
	free(buf);
}

int main(void)
{
	const char *vdaxd = dx_vdaxd();
	FILE *mem;
	char *txt = NULL;
	size_t tlen = 0;

	dx_init(&d);
	test_window_options(vdaxd);
	test_virtiofsd();

	if (dx_start(&d, vdaxd, 0, "--cache-size=8M", NULL))
		tap_bail("vdaxd did not start");
	/* The mechanism, exact counts: every miss maps (dax_admit=all). */
	is_int(dx_open(&d, "dax=always,dax_admit=all"), 0,
	       "dax=always,dax_admit=all session on vdaxd");
	if (!d.vd)
		tap_bail("no session");
	test_basic();
	test_truncate_punch();
	test_stream(false);
	mem = open_memstream(&txt, &tlen);
	is_int(vdax_print_stats(d.vd, mem), 0, "print stats");
	fclose(mem);
	ok(txt && strstr(txt, "\nmisses ") && strstr(txt, "ranges_total 4\n") &&
		   strstr(txt, "\nbypasses 0\n") &&
		   strstr(txt, "\nadmit_margin 0\n"),
	   "stats printed one per line (no admission with dax_admit=all)");
	free(txt);
	dx_stop(&d);
	ok(d.pid < 0, "vdaxd exited after close");

	/* The default: adaptive admission. */
	if (dx_start(&d, vdaxd, 0, "--cache-size=8M", NULL))
		tap_bail("vdaxd did not start");
	is_int(dx_open(&d, "dax=always,dax_admit=sometimes"), -EINVAL,
	       "dax_admit=sometimes -> EINVAL");
	is_int(dx_open(&d, "dax=always"), 0, "dax=always session (adaptive)");
	if (!d.vd)
		tap_bail("no session");
	test_stream(true);
	ok(dx_stats(&d).readaheads > 0, "the stream was read ahead (%llu)",
	   (unsigned long long)dx_stats(&d).readaheads);
	test_admission();
	dx_stop(&d);

	/* A fresh window: the reads below map (nothing to be admitted past). */
	if (dx_start(&d, vdaxd, 0, "--cache-size=8M", NULL))
		tap_bail("vdaxd did not start");
	is_int(dx_open(&d, "dax=always"), 0, "dax=always session, fresh window");
	if (!d.vd)
		tap_bail("no session");
	test_huge();
	dx_stop(&d);

	test_inode_mode(vdaxd);
	dx_cleanup(&d);
	return tap_done();
}
