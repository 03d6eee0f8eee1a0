/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vdax-conform: the vdax-posix checks, through the libvdax API.
 *
 * Most areas are the shared body (tests/lib/cbody.h), run on the libvdax
 * table of c_body.c; the rest are still c_<area>.c here, ported by hand
 * from vdax-posix's t_<area>.c. A check that is the same as one of
 * vdax-posix carries the same dotted name, so the results of a guest run,
 * a local run and a libvdax run line up. Checks only the API can express
 * have names of their own.
 *
 * All work happens under /<top>/<area> of the backend's root; the program
 * also knows the shared directory on the host, so many checks verify the
 * host side too (data written through libvdax is in the host file...).
 *
 * The cf_* check helpers print one TAP line each and return whether the
 * check passed. Unlike vdax-posix they take libvdax results: a value >= 0
 * or a negative errno.
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
/* rc >= 0; a negative rc is printed as its errno name. */
bool cf_rc0(const char *name, long long rc);
/* rc == -want. */
bool cf_err(const char *name, long long rc, int want);
/* rc == -want or rc == -alt; the errno seen is always printed. */
bool cf_err2(const char *name, long long rc, int want, int alt);
bool cf_eq(const char *name, long long got, long long want);
bool cf_mode(const char *name, unsigned int got, unsigned int want);
bool cf_str(const char *name, const char *got, const char *want);
void cf_skip(const char *name, const char *why);
void cf_fail_errno(const char *name, int err);
const char *cf_errname(int err);
void cf_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool cf_verbose(void);

/*
 * Paths of @rel inside the current area: P() as the API sees it (from the
 * backend root), H() on the host. Both return one of a few rotating
 * static buffers, enough for the arguments of one call.
 */
const char *P(const char *rel);
const char *H(const char *rel);

/* API-side helpers: 0/-errno or a value. */
int cf_put(const char *rel, const void *data, size_t len);
int cf_put_str(const char *rel, const char *s);
ssize_t cf_get(const char *rel, void *buf, size_t cap);
bool cf_get_str_is(const char *rel, const char *want);
ino_t cf_ino(const char *rel);	    /* lstat; 0 on error */
off_t cf_size(const char *rel);	    /* lstat; -1 on error */
nlink_t cf_nlink(const char *rel);  /* stat; 0 on error */
unsigned int cf_mode_of(const char *rel); /* lstat & 07777; 0xffff */
/* Opens or returns NULL; the error is in *err (may be NULL). */
struct vdax_file *cf_open(const char *rel, int flags, mode_t mode, int *err);

/* Host-side helpers. */
bool host_get_str_is(const char *rel, const char *want);
ssize_t host_get(const char *rel, void *buf, size_t cap, off_t off);
off_t host_size(const char *rel);
ino_t host_ino(const char *rel);
unsigned int host_mode(const char *rel); /* lstat & 07777; 0xffff */
bool host_exists(const char *rel);

bool cf_is_zero(const void *buf, size_t len);
void cf_pattern(void *buf, size_t len, off_t base);
bool cf_pattern_ok(const void *buf, size_t len, off_t base);
void cf_msleep(unsigned int ms);

/* The areas, one per c_*.c file (same split as vdax-posix). */
/*
 * Run a check of the shared body (tests/lib/cbody.h) in the current area,
 * through the libvdax node API (c_body.c).
 */
struct cb_ops;
void cf_body(void (*fn)(const struct cb_ops *o));


#endif
