// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * map-floor: what one 2 MiB range of a stream through the DAX window costs
 * the host kernel alone, with no daemon, no request and no wake-up: the
 * least CPU any frontend pays per range, whatever its protocol.
 *
 * Per range, as libvdax and vdaxd do it (src/dax/window.c, src/dax/dax.c):
 * mmap() the file's 2 MiB aside, mremap() it over the window slot it
 * recycles (the old mapping's page-table entries are zapped and every CPU
 * running the process flushes its TLB), fill the page tables as libvdax's
 * read-ahead does (one byte of every 64 KiB through process_vm_readv()),
 * then copy the range out with vdx_copy() as a 1 MiB read does. A second
 * thread keeps the process running on another CPU, so that the shoot-down
 * costs what it costs while a reader runs there.
 *
 * Two files, as vdax-bench's stream rows: written in 1 MiB pieces (the host
 * caches it in folios no larger than that: 512 page-table entries per
 * range) and in 2 MiB pieces (2 MiB folios where the filesystem has them:
 * one PMD per range). Prints a Markdown table: microseconds per range
 * (median of 5 passes) and the most a stream could then move on all online
 * CPUs at once. Not a test: bench/run.sh puts it in BENCHMARKS.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "common/copy.h"

#define RANGE	   (2u << 20)
#define SLOTS	   16 /* the 32 MiB window of the stream rows */
#define PASSES	   5
#define FAULT_STEP (64 * 1024) /* the kernel's fault-around block */

static atomic_bool stop;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "map-floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The other CPU: in this process's mm, touching its own line. */
static void *spin(void *arg)
{
	volatile uint64_t *x = arg;

	while (!atomic_load_explicit(&stop, memory_order_relaxed))
		(*x)++;
	return NULL;
}

static void write_by(const char *path, size_t size, size_t piece)
{
	char *buf = malloc(piece);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (!buf || fd < 0)
		die(path);
	for (size_t i = 0; i < piece; i++)
		buf[i] = (char)(i * 131 + (i >> 12));
	for (size_t off = 0; off < size; off += piece)
		if (pwrite(fd, buf, piece, (off_t)off) != (ssize_t)piece)
			die(path);
	if (fsync(fd))
		die(path);
	/* Read it once, as vdax-bench warms its files. */
	for (size_t off = 0; off < size; off += piece)
		if (pread(fd, buf, piece, (off_t)off) != (ssize_t)piece)
			die(path);
	close(fd);
	free(buf);
}

static void prefault(char *p)
{
	enum { N = RANGE / FAULT_STEP };
	struct iovec local, remote[N];
	char buf[N];

	local.iov_base = buf;
	local.iov_len = N;
	for (unsigned i = 0; i < N; i++) {
		remote[i].iov_base = p + (size_t)i * FAULT_STEP;
		remote[i].iov_len = 1;
	}
	(void)process_vm_readv(getpid(), &local, 1, remote, N, 0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct cost {
	double map_us, copy_us; /* per range, medians */
};

/* Stream @size bytes of @fd through @win, PASSES times. */
static struct cost stream(int fd, size_t size, char *win, char *buf)
{
	double map[PASSES], copy[PASSES];
	size_t nr = size / RANGE, n = 0;
	struct cost c;

	for (int p = 0; p < PASSES; p++) {
		double tm = 0, tc = 0, t0, t1, t2;

		for (size_t i = 0; i < nr; i++, n++) {
			char *dst = win + (n % SLOTS) * (size_t)RANGE;
			void *tmp;

			t0 = now_s();
			tmp = mmap(NULL, RANGE, PROT_READ, MAP_SHARED, fd,
				   (off_t)(i * RANGE));
			if (tmp == MAP_FAILED)
				die("mmap");
			if (mremap(tmp, RANGE, RANGE,
				   MREMAP_MAYMOVE | MREMAP_FIXED,
				   dst) == MAP_FAILED)
				die("mremap");
			prefault(dst);
			t1 = now_s();
			/* 1 MiB reads, as the stream rows make them */
			vdx_copy(buf, dst, RANGE / 2);
			vdx_copy(buf, dst + RANGE / 2, RANGE / 2);
			t2 = now_s();
			tm += t1 - t0;
			tc += t2 - t1;
		}
		map[p] = tm / (double)nr * 1e6;
		copy[p] = tc / (double)nr * 1e6;
	}
	qsort(map, PASSES, sizeof(map[0]), cmp_double);
	qsort(copy, PASSES, sizeof(copy[0]), cmp_double);
	c.map_us = map[PASSES / 2];
	c.copy_us = copy[PASSES / 2];
	return c;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/var/tmp";
	size_t size = (argc > 2 ? strtoul(argv[2], NULL, 0) : 256) << 20;
	static const struct {
		const char *name, *what;
		size_t piece;
	} files[] = {
		{ "floor-1m.bin", "written in 1 MiB pieces (ws.bin)", 1u << 20 },
		{ "floor-2m.bin", "written in 2 MiB pieces (ws2m.bin)",
		  2u << 20 },
	};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t spin_line[8] __attribute__((aligned(64))) = { 0 };
	char path[4096], *res, *win, *buf;
	pthread_t spinner;

	if (size < SLOTS * (size_t)RANGE) {
		fprintf(stderr, "map-floor: the file must be at least %u MiB\n",
			SLOTS * (RANGE >> 20));
		return 2;
	}
	size -= size % RANGE;
	/* A 2 MiB-aligned window of SLOTS ranges, as dax_window_create(). */
	res = mmap(NULL, (SLOTS + 1) * (size_t)RANGE, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	buf = aligned_alloc(4096, RANGE);
	if (res == MAP_FAILED || !buf)
		die("memory");
	memset(buf, 0, RANGE);
	win = (char *)(((uintptr_t)res + RANGE - 1) & ~(uintptr_t)(RANGE - 1));
	if (pthread_create(&spinner, NULL, spin, spin_line))
		die("pthread_create");

	printf("| file (%zu MiB, cached) | map + fill + replace µs | copy µs "
	       "| µs per range | at most MiB/s on %ld CPUs |\n"
	       "|---|---:|---:|---:|---:|\n",
	       size >> 20, cpus);
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		struct cost c;
		double per;
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dir, files[f].name);
		write_by(path, size, files[f].piece);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die(path);
		c = stream(fd, size, win, buf);
		per = c.map_us + c.copy_us;
		printf("| %s | %.1f | %.1f | %.1f | %.0f |\n", files[f].what,
		       c.map_us, c.copy_us, per,
		       (double)cpus * (RANGE >> 20) / (per * 1e-6));
		close(fd);
		unlink(path);
	}
	atomic_store(&stop, true);
	pthread_join(spinner, NULL);
	munmap(res, (SLOTS + 1) * (size_t)RANGE);
	free(buf);
	return 0;
}
