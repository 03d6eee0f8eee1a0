/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vdax-posix: a small POSIX conformance suite for the filesystem under a
 * directory. Every check has a stable, unique dotted name
 * ("area.subject.expectation") so that runs on different mounts (local
 * disk, a guest on vdaxd, a guest on virtiofsd) can be diffed check by
 * check.
 *
 * Each area runs in a forked child, inside a fresh directory
 * <top>/<area>; the counters live in a shared mapping so that a crash in
 * one area (SIGBUS from a bad DAX mapping, say) costs only that area.
 *
 * The px_* check helpers print one TAP line each and return whether the
 * check passed. Helpers that take a syscall result read errno first
 * thing, so pass the call itself as the argument:
 *
 *	px_err("open.missing_ENOENT", open("nope", O_RDONLY), ENOENT);
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
/* rc >= 0 (a syscall that must succeed); on failure prints the errno. */
bool px_rc0(const char *name, long rc);
/* rc == -1 and errno == want. */
bool px_err(const char *name, long rc, int want);
/* rc == -1 and errno is one of two values POSIX allows. */
bool px_err2(const char *name, long rc, int want, int alt);
/* got == want; modes are printed in octal by px_mode. */
bool px_eq(const char *name, long long got, long long want);
bool px_mode(const char *name, unsigned int got, unsigned int want);
bool px_str(const char *name, const char *got, const char *want);
/* A check that could not run here; printed as "ok N - name # SKIP why". */
void px_skip(const char *name, const char *why);
/* Force a failure with the given errno (used when a prerequisite broke). */
void px_fail_errno(const char *name, int err);

const char *px_errname(int err);
bool px_verbose(void);
void px_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Helpers: 0 or -errno. */
int px_put(const char *path, const void *data, size_t len);
int px_put_str(const char *path, const char *s);
ssize_t px_get(const char *path, void *buf, size_t cap);
bool px_get_str_is(const char *path, const char *want);
bool px_is_zero(const void *buf, size_t len);
void px_pattern(void *buf, size_t len, off_t base);
bool px_pattern_ok(const void *buf, size_t len, off_t base);
ino_t px_ino(const char *path);
off_t px_size(const char *path);
void px_msleep(unsigned int ms);
/* Path on another mount than the work dir, for EXDEV; NULL if none. */
const char *px_other_mount(void);

/* The shared conformance body (tests/lib/cbody.h) on system calls. */
struct cb_ops;
extern const struct cb_ops px_cb_ops;

/* The areas not (yet) in the shared body, one per t_*.c file. */

#endif
