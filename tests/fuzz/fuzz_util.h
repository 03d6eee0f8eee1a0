/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the libFuzzer targets. */
#ifndef VDAX_FUZZ_UTIL_H
#define VDAX_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Log level from $VDAX_FUZZ_LOG (error|warn|info|debug); silent by default. */
void fz_log_setup(void);

/* Open file descriptors of this process (via /proc/self/fd). */
int fz_fd_count(void);

/*
 * fd leak check around one run (libFuzzer itself opens fds between runs,
 * e.g. for the symbolizer, so only the run is measured). fz_fd_begin()
 * returns the count, or -1 to skip this run (it checks every @every runs,
 * or every run when $VDAX_FUZZ_FDCHECK is set); fz_fd_end() aborts (a
 * finding) if the count changed.
 */
int fz_fd_begin(unsigned every);
void fz_fd_end(const char *target, int before);

/* Harness invariant broken: print and abort (libFuzzer saves the input). */
void fz_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A little-endian reader over the fuzz input. */
struct fz_in {
	const uint8_t *p;
	size_t left;
};

uint8_t fz_u8(struct fz_in *in);
uint16_t fz_u16(struct fz_in *in);
uint32_t fz_u32(struct fz_in *in);

#endif
