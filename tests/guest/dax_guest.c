// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vdax-dax-guest: file I/O through Linux's virtio-fs DAX client, run inside
 * a guest (static, libc only). Each step prints "R:<step>:ok" or
 * "R:<step>:<what went wrong>"; the host side (tests/guest/dax_test.py)
 * checks those and then the host copies of the files, byte for byte.
 *
 *   vdax-dax-guest rw DIR        the 8x-window scenario on files the host
 *                                made (big.bin, trunc.bin, punch.bin)
 *   vdax-dax-guest statx FILE... "R:dax:<name>:<0|1>" from STATX_ATTR_DAX
 *   vdax-dax-guest read FILE...  read each file whole, print its blocks'
 *                                check as "R:read:<name>:ok"
 *   vdax-dax-guest hold FILE SECONDS
 *                                map FILE, read it, then keep reading it
 *                                through the mapping for SECONDS
 *   vdax-dax-guest par ROUNDS FILE...
 *                                one process per file, all at once, each
 *                                checking ROUNDS random 4 KiB blocks of its
 *                                file, through a mapping (odd ones) or
 *                                pread (even ones): "R:par:<name>:ok"
 *
 * File contents follow a pattern the host side knows: 4 KiB block b of a
 * file written with seed s starts with the 16 bytes {s, b} (little-endian
 * u64s) followed by 4080 bytes of a fixed pseudo-random table, shifted by
 * b. A block in the wrong place, a stale block or a zero page all show.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BLK 4096u
#define MIB (1u << 20)

#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX 0x00200000
#endif

/* Must match dax_test.py: the 8 KiB table of the pattern. */
static uint8_t table[2 * BLK];

static void table_init(void)
{
	uint64_t x = 0x2545f4914f6cdd1dull;

	for (size_t i = 0; i < sizeof(table); i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		table[i] = (uint8_t)(x >> 56);
	}
}

static void block(uint64_t seed, uint64_t b, uint8_t *out)
{
	size_t off = (size_t)(b * 16 % BLK);

	memcpy(out, &seed, 8); /* x86: little-endian, as the host expects */
	memcpy(out + 8, &b, 8);
	memcpy(out + 16, table + off, BLK - 16);
}

/* The LCG the host replays to know which blocks were overwritten. */
static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 33;
}

static int res(const char *step, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int res(const char *step, const char *fmt, ...)
{
	va_list ap;

	printf("R:%s:", step);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return strcmp(fmt, "ok") == 0 ? 0 : -1;
}

/* Check @len bytes at @p, which hold the file's bytes from @off, against
 * what block(seed(b), b) says; NULL if they match, else a description. */
typedef uint64_t (*seed_fn)(uint64_t b, void *ctx);

/* If set, the file was cut there: the rest of that block reads as zeros. */
static uint64_t pattern_cut;

static const char *check(const uint8_t *p, uint64_t off, size_t len,
			 seed_fn seed, void *ctx, uint64_t *bad)
{
	static uint8_t want[BLK];
	static char why[96];

	while (len) {
		uint64_t b = off / BLK, in = off % BLK;
		size_t n = BLK - in < len ? BLK - in : len;
		uint64_t s = seed(b, ctx);

		if (s == 0)
			memset(want, 0, BLK);
		else
			block(s, b, want);
		if (pattern_cut && pattern_cut / BLK == b)
			memset(want + pattern_cut % BLK, 0, BLK - pattern_cut % BLK);
		if (memcmp(p, want + in, n)) {
			uint64_t got_seed = 0, got_b = 0;

			if (in == 0 && n >= 16) {
				memcpy(&got_seed, p, 8);
				memcpy(&got_b, p + 8, 8);
			}
			*bad = off;
			snprintf(why, sizeof(why),
				 "block %" PRIu64 " wrong (want seed %" PRIu64
				 ", block starts %" PRIu64 "/%" PRIu64 ")",
				 b, s, got_seed, got_b);
			return why;
		}
		p += n;
		off += n;
		len -= n;
	}
	return NULL;
}

static uint64_t const_seed(uint64_t b, void *ctx)
{
	(void)b;
	return *(uint64_t *)ctx;
}

/* big.bin: seed 1, except blocks listed in a map with their own seed. */
struct overlay {
	uint64_t nblocks;
	uint8_t *seed; /* per block, 0 = the base seed */
	uint64_t base;
};

static uint64_t overlay_seed(uint64_t b, void *ctx)
{
	struct overlay *o = ctx;

	return b < o->nblocks && o->seed[b] ? o->seed[b] : o->base;
}

/*
 * pread(), retried a few times on EBUSY. Linux's DAX client frees a range
 * for a new one inline when the window is full (fs/fuse/dax.c,
 * inode_inline_reclaim_one_dmap()): it writes back and invalidates the
 * old range's page-cache entries first, and invalidate_inode_pages2_range()
 * answers EBUSY when one of them cannot be dropped at that moment; the
 * read then fails with EBUSY before any request reaches the daemon. The
 * retries are counted and reported ("R:ebusy:N") so that they stay seen.
 */
static unsigned ebusy_retries;

static ssize_t pread_dax(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n;

	for (int tries = 0;; tries++) {
		n = pread(fd, buf, len, off);
		if (n >= 0 || errno != EBUSY || tries == 5)
			return n;
		ebusy_retries++;
		usleep(10000);
	}
}

static uint64_t fsize(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static int read_all(int fd, uint64_t size, seed_fn seed, void *ctx,
		    const char *step)
{
	static uint8_t buf[MIB];
	uint64_t off = 0, bad;
	const char *why;

	while (off < size) {
		size_t want = size - off < MIB ? size - off : MIB;
		ssize_t n = pread_dax(fd, buf, want, (off_t)off);

		if (n <= 0)
			return res(step, "pread at %" PRIu64 ": %s", off,
				   n < 0 ? strerror(errno) : "short");
		why = check(buf, off, (size_t)n, seed, ctx, &bad);
		if (why)
			return res(step, "at %" PRIu64 ": %s", bad, why);
		off += (uint64_t)n;
	}
	return res(step, "ok");
}

static sigjmp_buf bus_jmp;
static volatile sig_atomic_t bus_seen;

static void on_bus(int sig)
{
	(void)sig;
	bus_seen = 1;
	siglongjmp(bus_jmp, 1);
}

/* Does reading *p raise SIGBUS? */
static bool faults(const volatile uint8_t *p)
{
	struct sigaction sa = { .sa_handler = on_bus }, old;
	volatile uint8_t v = 0;

	bus_seen = 0;
	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(bus_jmp, 1) == 0)
		v = *p;
	sigaction(SIGBUS, &old, NULL);
	(void)v;
	return bus_seen;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* ---- the rw scenario -------------------------------------------------- */

static int step_big(const char *dir)
{
	char path[512];
	struct overlay o = { .base = 1 };
	uint8_t buf[BLK];
	uint64_t size, s, bad;
	const char *why;
	uint8_t *m;
	int fd, fails = 0;

	snprintf(path, sizeof(path), "%s/big.bin", dir);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return res("open_big", "%s", strerror(errno));
	size = fsize(fd);
	o.nblocks = size / BLK;
	o.seed = calloc(o.nblocks, 1);

	/* Sequential read, 1 MiB at a time: every range mapped, reclaimed. */
	fails += read_all(fd, size, overlay_seed, &o, "seqread");

	/* Random 4 KiB reads. */
	s = 7;
	for (int i = 0; i < 3000; i++) {
		uint64_t b = lcg(&s) % o.nblocks;

		if (pread_dax(fd, buf, BLK, (off_t)(b * BLK)) != BLK ||
		    (why = check(buf, b * BLK, BLK, overlay_seed, &o, &bad))) {
			fails += res("randread", "block %" PRIu64, b);
			goto randread_done;
		}
	}
	fails += res("randread", "ok");
randread_done:

	/* Random 4 KiB overwrites with seed 2 (in place: through the window). */
	s = 11;
	for (int i = 0; i < 400; i++) {
		uint64_t b = lcg(&s) % o.nblocks;

		block(2, b, buf);
		if (pwrite(fd, buf, BLK, (off_t)(b * BLK)) != BLK) {
			fails += res("randwrite", "pwrite: %s", strerror(errno));
			goto randwrite_done;
		}
		o.seed[b] = 2;
	}
	if (fsync(fd) < 0)
		fails += res("randwrite", "fsync: %s", strerror(errno));
	else
		fails += read_all(fd, size, overlay_seed, &o, "randwrite");
randwrite_done:

	/* The whole file through a shared mapping. */
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		fails += res("mmapread", "mmap: %s", strerror(errno));
		goto out;
	}
	why = check(m, 0, size, overlay_seed, &o, &bad);
	fails += why ? res("mmapread", "at %" PRIu64 ": %s", bad, why)
		     : res("mmapread", "ok");

	/* Stores through the mapping, seed 3, then msync. */
	s = 13;
	for (int i = 0; i < 300; i++) {
		uint64_t b = lcg(&s) % o.nblocks;

		block(3, b, m + b * BLK);
		o.seed[b] = 3;
	}
	if (msync(m, size, MS_SYNC) < 0)
		fails += res("mmapwrite", "msync: %s", strerror(errno));
	else
		fails += read_all(fd, size, overlay_seed, &o, "mmapwrite");
	munmap(m, size);
out:
	free(o.seed);
	close(fd);
	return fails;
}

/* trunc.bin (seed 4): truncate down while mapped, then extend again. */
#define TRUNC_DOWN (5 * MIB + 100)
#define TRUNC_UP (8 * MIB)
#define TRUNC_MARK (6 * MIB) /* one seed-6 block written through the map */

static uint64_t trunc_seed(uint64_t b, void *ctx)
{
	(void)ctx;
	if (b * BLK == TRUNC_MARK)
		return 6;
	return b * BLK < TRUNC_DOWN ? 4 : 0;
}

static int step_trunc(const char *dir)
{
	char path[512];
	uint64_t size, four = 4, bad;
	const char *why;
	uint8_t *m, c;
	int fd, fails = 0;

	snprintf(path, sizeof(path), "%s/trunc.bin", dir);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return res("trunc", "open: %s", strerror(errno));
	size = fsize(fd);
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		close(fd);
		return res("trunc", "mmap: %s", strerror(errno));
	}
	/* Fault in (map) every range. */
	why = check(m, 0, size, const_seed, &four, &bad);
	if (why) {
		fails += res("trunc_before", "at %" PRIu64 ": %s", bad, why);
		goto out;
	}
	fails += res("trunc_before", "ok");
	if (ftruncate(fd, TRUNC_DOWN) < 0) {
		fails += res("trunc_down", "ftruncate: %s", strerror(errno));
		goto out;
	}
	fails += pread(fd, &c, 1, TRUNC_DOWN) == 0 ? res("trunc_down", "ok")
						      : res("trunc_down", "read past the new end");
	fails += faults(m + 10 * MIB) ? res("trunc_sigbus", "ok")
				      : res("trunc_sigbus", "no SIGBUS past the new end");
	why = check(m, 0, TRUNC_DOWN, const_seed, &four, &bad);
	fails += why ? res("trunc_kept", "at %" PRIu64 ": %s", bad, why)
		     : res("trunc_kept", "ok");
	if (ftruncate(fd, TRUNC_UP) < 0) {
		fails += res("trunc_up", "ftruncate: %s", strerror(errno));
		goto out;
	}
	fails += all_zero(m + TRUNC_DOWN, TRUNC_UP - TRUNC_DOWN)
			 ? res("trunc_up", "ok")
			 : res("trunc_up", "the regrown part is not zero");
	block(6, TRUNC_MARK / BLK, m + TRUNC_MARK);
	pattern_cut = TRUNC_DOWN;
	if (msync(m, TRUNC_UP, MS_SYNC) < 0)
		fails += res("trunc_mark", "msync: %s", strerror(errno));
	else
		fails += read_all(fd, TRUNC_UP, trunc_seed, NULL, "trunc_mark");
	pattern_cut = 0;
out:
	munmap(m, size);
	close(fd);
	return fails;
}

/* punch.bin (seed 5): punch a hole while the file is mapped. */
#define HOLE_OFF (3 * MIB + 8192)
#define HOLE_LEN (2 * MIB)

static uint64_t punch_seed(uint64_t b, void *ctx)
{
	(void)ctx;
	return b * BLK >= HOLE_OFF && b * BLK < HOLE_OFF + HOLE_LEN ? 0 : 5;
}

static int step_punch(const char *dir)
{
	char path[512];
	uint64_t size, five = 5, bad;
	const char *why;
	uint8_t *m;
	int fd, fails = 0;

	snprintf(path, sizeof(path), "%s/punch.bin", dir);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return res("punch", "open: %s", strerror(errno));
	size = fsize(fd);
	m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		close(fd);
		return res("punch", "mmap: %s", strerror(errno));
	}
	why = check(m, 0, size, const_seed, &five, &bad);
	if (why) {
		fails += res("punch", "before: at %" PRIu64 ": %s", bad, why);
		goto out;
	}
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, HOLE_OFF,
		      HOLE_LEN) < 0) {
		fails += res("punch", "fallocate: %s", strerror(errno));
		goto out;
	}
	why = check(m, 0, size, punch_seed, NULL, &bad);
	fails += why ? res("punch_mmap", "at %" PRIu64 ": %s", bad, why)
		     : res("punch_mmap", "ok");
	fails += read_all(fd, size, punch_seed, NULL, "punch_read");
	fails += fsize(fd) == size ? res("punch_size", "ok")
				   : res("punch_size", "size changed");
out:
	munmap(m, size);
	close(fd);
	return fails;
}

/* new.bin: extending writes (FUSE_WRITE in Linux), then read through DAX. */
#define NEW_SIZE (3 * MIB + 5)

static int step_append(const char *dir)
{
	char path[512];
	uint8_t buf[BLK];
	uint64_t seven = 7;
	int fd, fails = 0;

	snprintf(path, sizeof(path), "%s/new.bin", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return res("append", "open: %s", strerror(errno));
	for (uint64_t off = 0; off < NEW_SIZE; off += BLK) {
		size_t n = NEW_SIZE - off < BLK ? NEW_SIZE - off : BLK;

		block(7, off / BLK, buf);
		if (write(fd, buf, n) != (ssize_t)n) {
			fails += res("append", "write: %s", strerror(errno));
			close(fd);
			return fails;
		}
	}
	if (fsync(fd) < 0)
		fails += res("append", "fsync: %s", strerror(errno));
	else
		fails += read_all(fd, NEW_SIZE, const_seed, &seven, "append");
	close(fd);
	return fails;
}

static int cmd_rw(const char *dir)
{
	int fails = 0;

	fails += step_big(dir);
	fails += step_trunc(dir);
	fails += step_punch(dir);
	fails += step_append(dir);
	printf("R:ebusy:%u\n", ebusy_retries);
	return fails ? 1 : 0;
}

/* ---- the small commands ----------------------------------------------- */

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static int cmd_statx(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		struct statx stx;

		if (statx(AT_FDCWD, argv[i], 0, STATX_BASIC_STATS, &stx) < 0) {
			res("dax", "%s:%s", base_name(argv[i]), strerror(errno));
			continue;
		}
		printf("R:dax:%s:%d\n", base_name(argv[i]),
		       !!(stx.stx_attributes & STATX_ATTR_DAX));
	}
	fflush(stdout);
	return 0;
}

/* Files named *.s<N> follow the pattern with seed N. */
static int cmd_read(int argc, char **argv)
{
	int fails = 0;

	for (int i = 0; i < argc; i++) {
		const char *dot = strrchr(argv[i], '.');
		uint64_t seed = dot && dot[1] == 's' ? strtoull(dot + 2, NULL, 10) : 1;
		char step[300];
		int fd = open(argv[i], O_RDONLY);

		snprintf(step, sizeof(step), "read:%s", base_name(argv[i]));
		if (fd < 0) {
			fails += res(step, "%s", strerror(errno));
			continue;
		}
		fails += read_all(fd, fsize(fd), const_seed, &seed, step);
		close(fd);
	}
	return fails ? 1 : 0;
}

static int cmd_hold(const char *path, int seconds)
{
	uint64_t one = 1, size, bad, rounds = 0;
	time_t end = time(NULL) + seconds;
	const char *why;
	uint8_t *m;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return res("hold", "open: %s", strerror(errno));
	size = fsize(fd);
	m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return res("hold", "mmap: %s", strerror(errno));
	why = check(m, 0, size, const_seed, &one, &bad);
	res("hold_mapped", why ? "bad" : "ok");
	while (time(NULL) < end) {
		why = check(m, 0, size, const_seed, &one, &bad);
		rounds++;
		if (why)
			break;
		usleep(100000);
	}
	printf("R:hold_rounds:%" PRIu64 "\n", rounds);
	return why ? res("hold_end", "at %" PRIu64 ": %s", bad, why)
		   : res("hold_end", "ok");
}

/*
 * One child of cmd_par: random blocks of its file, by a shared mapping or
 * by pread(). With files together larger than the window, most blocks
 * land in a range that is not mapped: the children's faults and reads
 * wait on SETUPMAPPINGs (and the reclaim's REMOVEMAPPINGs) at the same
 * time, each child on its own inode.
 */
static int par_child(const char *path, unsigned idx, unsigned rounds)
{
	const char *dot = strrchr(path, '.');
	uint64_t seed = dot && dot[1] == 's' ? strtoull(dot + 2, NULL, 10) : 1;
	uint64_t rng = 0x9e3779b97f4a7c15ull * (idx + 1), size, nb, bad;
	static uint8_t buf[BLK];
	const uint8_t *m = NULL;
	char step[300];
	int fd = open(path, O_RDONLY);

	snprintf(step, sizeof(step), "par:%s", base_name(path));
	if (fd < 0)
		return res(step, "open: %s", strerror(errno));
	size = fsize(fd);
	nb = size / BLK;
	if (!nb)
		return res(step, "empty file");
	if (idx % 2) {
		m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			return res(step, "mmap: %s", strerror(errno));
	}
	for (unsigned r = 0; r < rounds; r++) {
		uint64_t b = lcg(&rng) % nb;
		const uint8_t *p = buf;
		const char *why;

		if (m) {
			p = m + b * BLK;
		} else if (pread_dax(fd, buf, BLK, (off_t)(b * BLK)) != BLK) {
			return res(step, "pread of block %" PRIu64 ": %s", b,
				   strerror(errno));
		}
		why = check(p, b * BLK, BLK, const_seed, &seed, &bad);
		if (why)
			return res(step, "round %u, %s: %s", r,
				   m ? "mapped" : "pread", why);
	}
	close(fd);
	printf("R:ebusy:%s:%u\n", base_name(path), ebusy_retries);
	return res(step, "ok");
}

static int cmd_par(unsigned rounds, int argc, char **argv)
{
	struct timespec t0, t1;
	int fails = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < argc; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return res("par", "fork: %s", strerror(errno)), 1;
		if (pid == 0)
			_exit(par_child(argv[i], (unsigned)i, rounds) ? 1 : 0);
	}
	for (int i = 0; i < argc; i++) {
		int st;

		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			fails++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("R:par_ms:%lld\n",
	       (long long)(t1.tv_sec - t0.tv_sec) * 1000 +
		       (t1.tv_nsec - t0.tv_nsec) / 1000000);
	return fails ? 1 : 0;
}

int main(int argc, char **argv)
{
	table_init();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "rw") == 0)
		return cmd_rw(argv[2]);
	if (argc >= 3 && strcmp(argv[1], "statx") == 0)
		return cmd_statx(argc - 2, argv + 2);
	if (argc >= 3 && strcmp(argv[1], "read") == 0)
		return cmd_read(argc - 2, argv + 2);
	if (argc == 4 && strcmp(argv[1], "hold") == 0)
		return cmd_hold(argv[2], atoi(argv[3]));
	if (argc >= 4 && strcmp(argv[1], "par") == 0)
		return cmd_par((unsigned)atoi(argv[2]), argc - 3, argv + 3);
	fprintf(stderr, "usage: vdax-dax-guest rw DIR | statx FILE... | "
			"read FILE... | hold FILE SECONDS | par ROUNDS FILE...\n");
	return 2;
}
