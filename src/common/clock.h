/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The monotonic clock, for timeouts, watches and timings. */
#ifndef VDAX_COMMON_CLOCK_H
#define VDAX_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t vdx_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t vdx_mono_ms(void)
{
	return vdx_mono_ns() / 1000000;
}

#endif
