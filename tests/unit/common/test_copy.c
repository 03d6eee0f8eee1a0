// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vdx_copy(): the same bytes as memcpy() for every size class and every
 * relative page offset of destination and source (in the 4 KiB aliasing
 * band, where the SSE2 loop runs, and outside it, where copies larger than
 * VDX_COPY_PIECE go in pieces), nothing written outside [dst, dst + n),
 * the band predicate itself, and the probe that picks the band's way; in
 * the band both ways are checked, whichever the probe picks here.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/copy.h"
#include "tap.h"

#define AREA (2 * 1024 * 1024 + 4096)

static const size_t sizes[] = { 0, 1, 15, 63, 64, 65, 127, 2047,
				2048, 2049, 4095, 4096, 4097, 65536,
				131072 + 13, 262144 + 64,
				VDX_COPY_MAX - 1, VDX_COPY_MAX,
				VDX_COPY_PIECE + 1,
				(1 << 20) + 13, 2 << 20 };

struct tally {
	unsigned cases, in_band, pieces, bad_bytes, bad_guard;
};

/*
 * Every size at source offsets 0, 7, ... 77 and destinations 0-71 bytes
 * past them (@coarse: every 9th offset only, to keep valgrind's time).
 */
static void run_cases(unsigned char *src, unsigned char *dst,
		      unsigned char *ref, bool coarse, struct tally *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		/* Large copies: fewer offsets, enough to meet both sides of
		 * the band (valgrind runs this test too). */
		unsigned step = sizes[k] > VDX_COPY_MAX || coarse ? 9 : 1;

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
				t->cases++;
				t->in_band += n >= VDX_COPY_MIN &&
					      n < VDX_COPY_MAX &&
					      vdx_copy_in_band(d, s);
				t->pieces += n > VDX_COPY_PIECE &&
					     !vdx_copy_in_band(d, s);
				if (memcmp(d, s, n))
					t->bad_bytes++;
				if (memcmp(lo, ref, span))
					t->bad_guard++;
			}
		}
	}
}

int main(void)
{
	unsigned char *src = aligned_alloc(4096, AREA + 8192);
	unsigned char *dst = aligned_alloc(4096, AREA + 8192);
	unsigned char *ref = aligned_alloc(4096, AREA + 8192);
	struct tally t;
	int way;

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

	/* The probe: nothing chosen before the first copy in the band. */
	is_int(vdx_copy_band_way(), 0, "no way chosen before a copy in the band");
	vdx_copy(dst + 16, src, 8192);
	way = vdx_copy_band_way();
	ok(way == VDX_BAND_LOOP || way == VDX_BAND_MEMCPY,
	   "the first copy in the band probed: %s",
	   way == VDX_BAND_LOOP ? "the SSE2 loop" : "memcpy()");
	ok(!memcmp(dst + 16, src, 8192), "the probing copy has the bytes");
	is_int(vdx_copy_band_probe(), vdx_copy_band_way(),
	       "the probe's answer is the way kept");

	vdx_copy_band_force(VDX_BAND_LOOP);
	run_cases(src, dst, ref, false, &t);
	diag("the loop: %u cases, %u in the band, %u in pieces", t.cases,
	     t.in_band, t.pieces);
	ok(t.in_band > t.cases / 10, "the band loop ran (%u of %u cases)",
	   t.in_band, t.cases);
	ok(t.pieces > 100, "copies went in pieces (%u of %u cases)", t.pieces,
	   t.cases);
	is_int((int)t.bad_bytes, 0, "the loop: every copy has memcpy()'s bytes");
	is_int((int)t.bad_guard, 0,
	       "the loop: nothing written outside the destination");

	vdx_copy_band_force(VDX_BAND_MEMCPY);
	run_cases(src, dst, ref, true, &t);
	diag("memcpy(): %u cases, %u in the band", t.cases, t.in_band);
	ok(t.in_band > t.cases / 20, "the band went to memcpy() (%u of %u cases)",
	   t.in_band, t.cases);
	is_int((int)t.bad_bytes, 0,
	       "memcpy() in the band: every copy has the bytes");
	is_int((int)t.bad_guard, 0,
	       "memcpy() in the band: nothing written outside the destination");
	free(src);
	free(dst);
	free(ref);
	return tap_done();
}
