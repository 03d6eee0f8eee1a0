// SPDX-License-Identifier: LGPL-2.1-or-later
/* vdx_copy_near(), vdx_copy_pieces() and the band probe: see copy.h. */
#include <stdatomic.h>
#include <stdlib.h>

#include "common/clock.h"
#include "common/copy.h"

#if defined(__x86_64__) || defined(__SSE2__)
#include <emmintrin.h>

void vdx_copy_loop(void *dst, const void *src, size_t n)
{
	char *d = dst;
	const char *s = src;
	size_t i = 0;

	/* Four loads, then four stores: 64 bytes a step. */
	for (; i + 64 <= n; i += 64) {
		__m128i a = _mm_loadu_si128((const __m128i *)(s + i));
		__m128i b = _mm_loadu_si128((const __m128i *)(s + i + 16));
		__m128i c = _mm_loadu_si128((const __m128i *)(s + i + 32));
		__m128i e = _mm_loadu_si128((const __m128i *)(s + i + 48));

		_mm_storeu_si128((__m128i *)(d + i), a);
		_mm_storeu_si128((__m128i *)(d + i + 16), b);
		_mm_storeu_si128((__m128i *)(d + i + 32), c);
		_mm_storeu_si128((__m128i *)(d + i + 48), e);
	}
	memcpy(d + i, s + i, n - i);
}
#else
void vdx_copy_loop(void *dst, const void *src, size_t n)
{
	memcpy(dst, src, n);
}
#endif

/* How copies in the band go: 0 until probed, then a VDX_BAND_* value. */
static atomic_int band_way;

/* Through a volatile pointer: the probe times the library's memcpy(). */
static void *(*volatile probe_memcpy)(void *, const void *, size_t) = memcpy;

/*
 * Time both ways over VDX_PROBE_BYTES, the destination 16 bytes past the
 * source's page offset (a malloc()ed buffer against a window page), both
 * in the cache, alternating, best of VDX_PROBE_ROUNDS each: about 6 us
 * on the machines here. In the cache the difference is the instruction's,
 * not the memory's: on the AMD EPYC 9005 hosts memcpy() took 0.69-0.75x
 * the loop's time at 16-128 KiB, as out of the cache (bench/copy-band);
 * where the band was found, REP MOVSB took 5-6x.
 */
#define VDX_PROBE_BYTES	 (32 * 1024)
#define VDX_PROBE_ROUNDS 8

int vdx_copy_band_probe(void)
{
	long long t, best_loop = -1, best_libc = -1;
	char *buf = aligned_alloc(4096, 2 * (VDX_PROBE_BYTES + 4096));
	char *src, *dst;
	int way;

	if (!buf) {
		way = VDX_BAND_LOOP; /* as before the probe */
		goto out;
	}
	src = buf;
	dst = buf + VDX_PROBE_BYTES + 4096 + 16;
	memset(buf, 0x5a, 2 * (VDX_PROBE_BYTES + 4096));
	for (int i = 0; i < VDX_PROBE_ROUNDS; i++) {
		t = vdx_mono_ns();
		vdx_copy_loop(dst, src, VDX_PROBE_BYTES);
		t = vdx_mono_ns() - t;
		if (best_loop < 0 || t < best_loop)
			best_loop = t;
		t = vdx_mono_ns();
		probe_memcpy(dst, src, VDX_PROBE_BYTES);
		t = vdx_mono_ns() - t;
		if (best_libc < 0 || t < best_libc)
			best_libc = t;
	}
	free(buf);
	/* A tie goes to memcpy(): the loop is only for where it wins. */
	way = best_libc <= best_loop ? VDX_BAND_MEMCPY : VDX_BAND_LOOP;
out:
	atomic_store_explicit(&band_way, way, memory_order_relaxed);
	return way;
}

int vdx_copy_band_way(void)
{
	return atomic_load_explicit(&band_way, memory_order_relaxed);
}

void vdx_copy_band_force(int way)
{
	atomic_store_explicit(&band_way, way, memory_order_relaxed);
}

void vdx_copy_near(void *dst, const void *src, size_t n)
{
	int way = atomic_load_explicit(&band_way, memory_order_relaxed);

	if (!way)
		way = vdx_copy_band_probe();
	if (way == VDX_BAND_MEMCPY)
		memcpy(dst, src, n);
	else
		vdx_copy_loop(dst, src, n);
}

void vdx_copy_pieces(void *dst, const void *src, size_t n)
{
	char *d = dst;
	const char *s = src;

	while (n > VDX_COPY_PIECE) {
		memcpy(d, s, VDX_COPY_PIECE);
		d += VDX_COPY_PIECE;
		s += VDX_COPY_PIECE;
		n -= VDX_COPY_PIECE;
	}
	memcpy(d, s, n);
}
