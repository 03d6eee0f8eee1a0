/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vdax-posix: a small POSIX conformance suite for the filesystem under a
 * directory. Every check has a stable, unique dotted name
 * ("area.subject.expectation") so that runs on different mounts (local
 * disk, a guest on vdaxd, a guest on virtiofsd) can be diffed check by
 * check.
 *
 * The checks are the shared conformance body (tests/lib/cbody.h), run on
 * the system call table of t_body.c; this is the driver (px.c). Each area
 * runs in a forked child, inside a fresh directory <top>/<area>; the
 * counters live in a shared mapping so that a crash in one area (SIGBUS
 * from a bad DAX mapping, say) costs only that area.
 *
 * The px_* check helpers print one TAP line each and return whether the
 * check passed.
 */
#ifndef VDAX_TESTS_POSIX_PX_H
#define VDAX_TESTS_POSIX_PX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PX_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Generic check; fmt describes the failure and is printed only then. The
 * macro evaluates cond before the detail arguments (argument evaluation
 * order is unspecified), so the details show the state cond saw.
 */
bool px_check(const char *name, bool cond, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define px_ok(name, cond, ...)                                                 \
	({                                                                     \
		bool px_c_ = (cond);                                           \
		px_check((name), px_c_, __VA_ARGS__);                          \
	})
/* A check that could not run here; printed as "ok N - name # SKIP why". */
void px_skip(const char *name, const char *why);
/* Force a failure with the given errno (used when a prerequisite broke). */
void px_fail_errno(const char *name, int err);

const char *px_errname(int err);
void px_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Path on another mount than the work dir, for EXDEV; NULL if none. */
const char *px_other_mount(void);

/* The shared conformance body (tests/lib/cbody.h) on system calls. */
struct cb_ops;
extern const struct cb_ops px_cb_ops;

#endif
