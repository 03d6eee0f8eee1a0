/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vdax-conform: the vdax-posix checks, through the libvdax API.
 *
 * The checks are the shared conformance body (tests/lib/cbody.h), run on
 * the libvdax table of c_body.c; this is the driver (cf.c). A check that
 * is the same as one of vdax-posix carries the same dotted name, so the
 * results of a guest run, a local run and a libvdax run line up. Checks
 * only the API can express have names of their own.
 *
 * All work happens under /<top>/<area> of the backend's root; the program
 * also knows the shared directory on the host, so many checks verify the
 * host side too (data written through libvdax is in the host file...).
 *
 * The cf_* check helpers print one TAP line each and return whether the
 * check passed.
 */
#ifndef VDAX_TESTS_CONFORMANCE_CF_H
#define VDAX_TESTS_CONFORMANCE_CF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <vdax/vdax.h>

#define CF_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

extern struct vdax *cf_vd;

/* Generic check; the detail is printed only on failure. */
bool cf_check(const char *name, bool cond, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define cf_ok(name, cond, ...)                                                 \
	({                                                                     \
		bool cf_c_ = (cond);                                           \
		cf_check((name), cf_c_, __VA_ARGS__);                          \
	})
/* The same, printing the detail on a pass too. */
bool cf_check_always(const char *name, bool cond, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cf_skip(const char *name, const char *why);
void cf_fail_errno(const char *name, int err);
const char *cf_errname(int err);
void cf_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Paths of @rel inside the current area: P() as the API sees it (from the
 * backend root), H() on the host. Both return one of a few rotating
 * static buffers, enough for the arguments of one call.
 */
const char *P(const char *rel);
const char *H(const char *rel);

/* Host-side helpers. */
ssize_t host_get(const char *rel, void *buf, size_t cap, off_t off);
bool host_exists(const char *rel);

/*
 * Run an area of the shared body (tests/lib/cbody.h) in the current area
 * directory, through the libvdax node API (c_body.c).
 */
struct cb_ops;
void cf_body(void (*fn)(const struct cb_ops *o));

#endif
