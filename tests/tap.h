/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Minimal TAP producer for vdax tests. Meson runs every test with
 * protocol: 'tap', so each ok()/is() line counts as one check.
 *
 *   tap_plan_lazy();              // print "1..N" at the end
 *   ok(x == 1, "x is one");
 *   is_int(rc, -ENOENT, "lookup of missing name");
 *   return tap_done();
 *
 * tap_skip_all("reason") prints "1..0 # SKIP reason" and exits 77.
 */
#ifndef VDAX_TESTS_TAP_H
#define VDAX_TESTS_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static inline void __attribute__((format(printf, 2, 0)))
tap_vok(int cond, const char *fmt, va_list ap)
{
	tap_n++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
}

static inline int __attribute__((format(printf, 2, 3)))
ok(int cond, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tap_vok(cond, fmt, ap);
	va_end(ap);
	return cond;
}

#define is_int(got, want, ...)                                                  \
	({                                                                      \
		long long _g = (long long)(got), _w = (long long)(want);        \
		int _r = ok(_g == _w, __VA_ARGS__);                             \
		if (!_r)                                                        \
			printf("#   got %lld, want %lld (%s:%d)\n", _g, _w,         \
			       __FILE__, __LINE__);                             \
		_r;                                                             \
	})

static inline void __attribute__((format(printf, 1, 2))) diag(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	va_end(ap);
}

static inline void __attribute__((noreturn)) tap_skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	fflush(stdout);
	exit(77);
}

/* One check that cannot run here: "ok N - ... # SKIP why" (not a pass). */
static inline void tap_skip(const char *why)
{
	printf("ok %d - # SKIP %s\n", ++tap_n, why);
	fflush(stdout);
}

static inline void __attribute__((noreturn)) tap_bail(const char *why)
{
	printf("Bail out! %s\n", why);
	fflush(stdout);
	exit(1);
}

/* Print the plan; exit status 0 only if every check passed. */
static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

#endif
