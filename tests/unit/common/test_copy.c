// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vdx_copy(): the same bytes as memcpy() for every size class and every
 * relative page offset of destination and source (in the 4 KiB aliasing
 * band, where the SSE2 loop runs, and outside it, where copies larger than
 * VDX_COPY_PIECE go in pieces), nothing written outside [dst, dst + n),
 * and the band predicate itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/copy.h"
#include "tap.h"

#define AREA (2 * 1024 * 1024 + 4096)

int main(void)
{
	static const size_t sizes[] = { 0, 1, 15, 63, 64, 65, 127, 2047,
					2048, 2049, 4095, 4096, 4097, 65536,
					131072 + 13, 262144 + 64,
					VDX_COPY_MAX - 1, VDX_COPY_MAX,
					VDX_COPY_PIECE + 1,
					(1 << 20) + 13, 2 << 20 };
	unsigned char *src = aligned_alloc(4096, AREA + 8192);
	unsigned char *dst = aligned_alloc(4096, AREA + 8192);
	unsigned char *ref = aligned_alloc(4096, AREA + 8192);
	unsigned bad_bytes = 0, bad_guard = 0, cases = 0, in_band = 0;
	unsigned pieces = 0;

	if (!src || !dst || !ref)
		tap_bail("out of memory");
	for (size_t i = 0; i < AREA + 8192; i++)
		src[i] = (unsigned char)(i * 131 + (i >> 9));

	ok(!vdx_copy_in_band(dst, dst), "distance 0: not in the band");
	ok(vdx_copy_in_band(dst + 1, dst) && vdx_copy_in_band(dst + 31, dst),
	   "distance 1 and 31: in the band");
	ok(!vdx_copy_in_band(dst + 32, dst) && !vdx_copy_in_band(dst, dst + 16),
	   "distance 32 and -16 (4080): not in the band");
	ok(vdx_copy_in_band(dst + 4096 + 16, dst),
	   "distance 4096 + 16: in the band (page offsets count)");

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		/* Large copies: fewer offsets, enough to meet both sides of
		 * the band (valgrind runs this test too). */
		unsigned step = sizes[k] > VDX_COPY_MAX ? 9 : 1;

		for (unsigned so = 0; so < 80; so += 7 * step) {
			for (unsigned dd = 0; dd < 72; dd += step) {
				size_t n = sizes[k];
				unsigned char *s = src + so;
				unsigned char *d = dst + 4096 + so + dd;

				/* guard bytes: 64 either side */
				unsigned char *lo = d - 64;
				size_t span = n + 128;

				memset(lo, 0xa5, span);
				memset(ref, 0xa5, span);
				memcpy(ref + 64, s, n);
				vdx_copy(d, s, n);
				cases++;
				in_band += n >= VDX_COPY_MIN &&
					   n < VDX_COPY_MAX &&
					   vdx_copy_in_band(d, s);
				pieces += n > VDX_COPY_PIECE &&
					  !vdx_copy_in_band(d, s);
				if (memcmp(d, s, n))
					bad_bytes++;
				if (memcmp(lo, ref, span))
					bad_guard++;
			}
		}
	}
	diag("%u cases, %u through the band loop, %u in pieces", cases,
	     in_band, pieces);
	ok(in_band > cases / 10, "the band loop ran (%u of %u cases)", in_band,
	   cases);
	ok(pieces > 100, "copies went in pieces (%u of %u cases)", pieces,
	   cases);
	is_int((int)bad_bytes, 0, "every copy has memcpy()'s bytes");
	is_int((int)bad_guard, 0, "nothing written outside the destination");
	free(src);
	free(dst);
	free(ref);
	return tap_done();
}
