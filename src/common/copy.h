/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vdx_copy(): memcpy() for file data (the DAX window, reply buffers).
 *
 * glibc's memcpy() copies sizes from about 2 KiB up to its REP MOVSB stop
 * threshold (the L2 cache size on AMD) with REP MOVSB. On the AMD EPYC
 * hosts here REP MOVSB runs 5 to 6 times slower when the destination is 1
 * to 31 bytes past the source in their page offsets (dst - src mod 4096 in
 * [1, 31]): its loads keep matching the low 12 address bits of stores just
 * issued (4 KiB aliasing). A malloc()ed buffer of 128 KiB or more starts 16
 * bytes into a page, and window and file offsets are page aligned, so a
 * plain read into such a buffer lands in the band every time. There
 * vdx_copy() uses a 64-byte SSE2 loop, which does not care; for pieces of
 * 512 KiB or more in the band it is memcpy() (glibc's own vector loop, as
 * fast as ours or faster). Not every CPU pays: on the AMD EPYC 9005 (Zen 5)
 * hosts REP MOVSB runs as fast in the band as outside it, and the loop is
 * the slower (memcpy() 0.70x its time). So the first copy in the band
 * times both ways on a small buffer (vdx_copy_band_probe(), a few
 * microseconds once per process) and the band goes the faster way.
 *
 * Outside the band a large copy goes to memcpy() in pieces of at most
 * VDX_COPY_PIECE. At its stop threshold (the L2 size on AMD: 1 MiB on the
 * AMD EPYC 9005 hosts here) glibc leaves REP MOVSB for its vector loop,
 * which there moves data out of the host page cache 20 % slower: 1 MiB
 * copies of a file mapping ran at 35 GB/s whole against 42-43 GB/s in
 * 256 KiB pieces (and 43 GB/s for one REP MOVSB). The kernel's own copy
 * for read(2) is REP MOVSB per page or folio, so the pieces also keep DAX
 * on the instruction local I/O uses. Where glibc prefers its vector loop
 * below the threshold too, the pieces change nothing. Measured by
 * bench/copy-band (BENCHMARKS.md).
 */
#ifndef VDAX_COMMON_COPY_H
#define VDAX_COMMON_COPY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Below this glibc does not use REP MOVSB (x86_rep_movsb_threshold). */
#define VDX_COPY_MIN 2048
/* In the band, glibc's vector loop is as fast from here on (copy-band). */
#define VDX_COPY_MAX (512 * 1024)
/* Outside it, larger copies are cut to this: below glibc's REP MOVSB stop
 * threshold on every x86 it tunes (the smallest L2 of a current core). */
#define VDX_COPY_PIECE (256 * 1024)

/* How a copy in the band goes (vdx_copy_band_way()). */
enum { VDX_BAND_LOOP = 1, VDX_BAND_MEMCPY = 2 };

/* A copy in the band, the way the probe chose (probing on first use). */
void vdx_copy_near(void *dst, const void *src, size_t n);
/* The SSE2 loop itself (memcpy() where there is no SSE2). */
void vdx_copy_loop(void *dst, const void *src, size_t n);
void vdx_copy_pieces(void *dst, const void *src, size_t n);
/* Time both ways now and keep the faster; returns it. */
int vdx_copy_band_probe(void);
/* The way chosen, 0 if no copy in the band has been made yet. */
int vdx_copy_band_way(void);
/* Set the way (tests and benchmarks; 0: probe again on the next copy). */
void vdx_copy_band_force(int way);

static inline int vdx_copy_in_band(const void *dst, const void *src)
{
	uintptr_t d = ((uintptr_t)dst - (uintptr_t)src) & 4095;

	return d != 0 && d < 32;
}

static inline void vdx_copy(void *dst, const void *src, size_t n)
{
	if (n < VDX_COPY_MIN)
		memcpy(dst, src, n);
	else if (vdx_copy_in_band(dst, src))
		n < VDX_COPY_MAX ? vdx_copy_near(dst, src, n)
				 : (void)memcpy(dst, src, n);
	else if (n > VDX_COPY_PIECE)
		vdx_copy_pieces(dst, src, n);
	else
		memcpy(dst, src, n);
}

#endif
