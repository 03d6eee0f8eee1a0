// SPDX-License-Identifier: LGPL-2.1-or-later
/* vdx_copy_near() and vdx_copy_pieces(): see copy.h. */
#include "common/copy.h"

#if defined(__x86_64__) || defined(__SSE2__)
#include <emmintrin.h>

void vdx_copy_near(void *dst, const void *src, size_t n)
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
void vdx_copy_near(void *dst, const void *src, size_t n)
{
	memcpy(dst, src, n);
}
#endif

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
