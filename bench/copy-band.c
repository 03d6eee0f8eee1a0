// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * copy-band: glibc memcpy() against vdx_copy() (src/common/copy.h) for the
 * copies libvdax makes of file data: 128 MiB of a page-aligned source (a
 * window or reply buffer) into one destination buffer, in pieces of 4 KiB,
 * 128 KiB and 1 MiB, with the destination 0, 16 (a malloc()ed buffer of
 * 128 KiB or more), 48 and 64 bytes into its page. Interleaved, best of 5;
 * prints a Markdown table with the SSE2 band loop alone too, "memcpy /
 * vdx_copy" time ratios (> 1: vdx_copy faster), and the way vdx_copy()'s
 * probe chose for the band on this CPU. Not a test: bench/run.sh puts it
 * in BENCHMARKS.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/copy.h"

#define SRC (128u << 20)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Through a volatile pointer: the compiler cannot inline or fold it. */
static void *(*volatile libc_memcpy)(void *, const void *, size_t) = memcpy;

__attribute__((noinline)) static void libc_copy(void *d, const void *s, size_t n)
{
	libc_memcpy(d, s, n);
}

__attribute__((noinline)) static void vdx(void *d, const void *s, size_t n)
{
	vdx_copy(d, s, n);
}

__attribute__((noinline)) static void loop(void *d, const void *s, size_t n)
{
	vdx_copy_loop(d, s, n);
}

static double run(void (*fn)(void *, const void *, size_t), char *dst,
		  const char *src, size_t piece)
{
	double t0 = now_s();

	for (size_t p = 0; p < SRC; p += piece)
		fn(dst, src + p, piece);
	return (now_s() - t0) * 1e3;
}

int main(void)
{
	static const size_t pieces[] = { 4096, 128 << 10, 1 << 20 };
	static const size_t offs[] = { 0, 16, 48, 64 };
	char *src = aligned_alloc(4096, SRC);
	char *buf = aligned_alloc(4096, (2 << 20) + 4096);
	int way;

	if (!src || !buf) {
		perror("copy-band");
		return 1;
	}
	memset(src, 7, SRC);
	memset(buf, 1, (2 << 20) + 4096);
	way = vdx_copy_band_probe();
	printf("vdx_copy()'s probe chose %s for copies in the band on this CPU.\n\n",
	       way == VDX_BAND_MEMCPY ? "`memcpy()`" : "the SSE2 loop");
	printf("| piece | destination offset in its page | memcpy ms | "
	       "SSE2 loop ms | vdx_copy ms | memcpy / vdx_copy |\n"
	       "|---:|---:|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		for (size_t j = 0; j < sizeof(offs) / sizeof(offs[0]); j++) {
			double a = 1e9, b = 1e9, c = 1e9, t;

			for (int rep = 0; rep < 5; rep++) {
				t = run(libc_copy, buf + offs[j], src, pieces[i]);
				a = t < a ? t : a;
				t = run(loop, buf + offs[j], src, pieces[i]);
				c = t < c ? t : c;
				t = run(vdx, buf + offs[j], src, pieces[i]);
				b = t < b ? t : b;
			}
			printf("| %zu KiB | %zu | %.1f | %.1f | %.1f | %.2f |\n",
			       pieces[i] >> 10, offs[j], a, c, b, a / b);
		}
	}
	free(src);
	free(buf);
	return 0;
}
