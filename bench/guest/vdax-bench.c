// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vdax-bench: the timing helper of bench/guest/run.sh, run inside the guest
 * (built statically so it needs nothing from the initramfs).
 *
 *   vdax-bench now                  print CLOCK_MONOTONIC in microseconds
 *   vdax-bench files DIR N          create, stat, list, unlink N empty files
 *                                   in DIR (the caches dropped before stat and
 *                                   before the listing); prints "create US",
 *                                   "stat US", "readdir US", "unlink US"
 *   vdax-bench mmapread FILE N [S]  N 4 KiB copies from random 4 KiB-aligned
 *                                   offsets of a MAP_SHARED mapping of FILE;
 *                                   prints "mmapread US"
 *   vdax-bench randread FILE N [S]  N preads of 4 KiB at random 4 KiB-aligned
 *                                   offsets (seed S); prints "randread US"
 *
 * Exit status 0, or 1 with a message on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLK 4096

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int parse_count(const char *s, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || end == s || *end || *out == 0 || *out > 10000000ul) {
		fprintf(stderr, "vdax-bench: bad count '%s'\n", s);
		return -1;
	}
	return 0;
}

/* Make the next phase ask the backend, not the guest's dentry/inode cache. */
static void drop_caches(void)
{
	int fd;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "3", 1) != 1)
		fprintf(stderr, "vdax-bench: drop_caches: %s\n", strerror(errno));
	close(fd);
}

static int files(const char *dir, unsigned long n)
{
	char path[4096];
	struct stat st;
	uint64_t t0, t1, ts, t2, t3, tr0, tr1;
	unsigned long seen = 0;
	struct dirent *de;
	DIR *d;
	unsigned long i;
	int fd;

	t0 = now_us();
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%07lu", dir, i);
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(stderr, "vdax-bench: create %s: %s\n", path, strerror(errno));
			return 1;
		}
		close(fd);
	}
	t1 = now_us();
	drop_caches(); /* not timed */
	ts = now_us();
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%07lu", dir, i);
		if (stat(path, &st) < 0) {
			fprintf(stderr, "vdax-bench: stat %s: %s\n", path, strerror(errno));
			return 1;
		}
	}
	t2 = now_us();
	ts = t2 - ts; /* the stat phase */
	drop_caches(); /* not timed */
	tr0 = now_us();
	d = opendir(dir);
	if (!d) {
		fprintf(stderr, "vdax-bench: opendir %s: %s\n", dir, strerror(errno));
		return 1;
	}
	while ((de = readdir(d)))
		seen++;
	closedir(d);
	tr1 = now_us();
	if (seen < n) {
		fprintf(stderr, "vdax-bench: %s: %lu entries, expected %lu\n", dir, seen, n);
		return 1;
	}
	t2 = now_us();
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%07lu", dir, i);
		if (unlink(path) < 0) {
			fprintf(stderr, "vdax-bench: unlink %s: %s\n", path, strerror(errno));
			return 1;
		}
	}
	t3 = now_us();
	printf("create %" PRIu64 "\nstat %" PRIu64 "\nreaddir %" PRIu64
	       "\nunlink %" PRIu64 "\n",
	       t1 - t0, ts, tr1 - tr0, t3 - t2);
	return 0;
}

static int randread(const char *file, unsigned long n, uint64_t seed)
{
	static char buf[BLK] __attribute__((aligned(BLK)));
	uint64_t x = seed ? seed : 0x9e3779b97f4a7c15ull;
	uint64_t t0, t1, blocks;
	struct stat st;
	unsigned long i;
	ssize_t r;
	int fd;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "vdax-bench: %s: %s\n", file, strerror(errno));
		return 1;
	}
	blocks = (uint64_t)st.st_size / BLK;
	if (blocks == 0) {
		fprintf(stderr, "vdax-bench: %s is smaller than 4 KiB\n", file);
		close(fd);
		return 1;
	}
	t0 = now_us();
	for (i = 0; i < n; i++) {
		/* xorshift64 */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		r = pread(fd, buf, BLK, (off_t)((x % blocks) * BLK));
		if (r != BLK) {
			fprintf(stderr, "vdax-bench: pread: %s\n", r < 0 ? strerror(errno) : "short read");
			close(fd);
			return 1;
		}
	}
	t1 = now_us();
	close(fd);
	printf("randread %" PRIu64 "\n", t1 - t0);
	return 0;
}

static int mmapread(const char *file, unsigned long n, uint64_t seed)
{
	static char buf[BLK] __attribute__((aligned(BLK)));
	uint64_t x = seed ? seed : 0x9e3779b97f4a7c15ull;
	uint64_t t0, t1, blocks;
	struct stat st;
	unsigned long i;
	char *map;
	int fd;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "vdax-bench: %s: %s\n", file, strerror(errno));
		return 1;
	}
	blocks = (uint64_t)st.st_size / BLK;
	map = blocks ? mmap(NULL, blocks * BLK, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
	close(fd);
	if (map == MAP_FAILED) {
		fprintf(stderr, "vdax-bench: mmap %s: %s\n", file, strerror(errno));
		return 1;
	}
	t0 = now_us();
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf, map + (x % blocks) * BLK, BLK);
		__asm__ volatile("" : : "r"(buf) : "memory");
	}
	t1 = now_us();
	munmap(map, blocks * BLK);
	printf("mmapread %" PRIu64 "\n", t1 - t0);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long n;

	if (argc == 2 && !strcmp(argv[1], "now")) {
		printf("%" PRIu64 "\n", now_us());
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "files")) {
		if (parse_count(argv[3], &n))
			return 1;
		return files(argv[2], n);
	}
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "randread")) {
		if (parse_count(argv[3], &n))
			return 1;
		return randread(argv[2], n, argc == 5 ? strtoull(argv[4], NULL, 0) : 1);
	}
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "mmapread")) {
		if (parse_count(argv[3], &n))
			return 1;
		return mmapread(argv[2], n, argc == 5 ? strtoull(argv[4], NULL, 0) : 1);
	}
	fprintf(stderr, "usage: vdax-bench now | files DIR N | randread FILE N [SEED] | mmapread FILE N [SEED]\n");
	return 1;
}
