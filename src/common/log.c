// SPDX-License-Identifier: LGPL-2.1-or-later
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int log_level = VLOG_LVL_WARN;	/* read racily on purpose: a level change need not be instant */
static const char *log_ident = "vdax";

void vlog_set_level(enum vlog_level lvl)
{
	__atomic_store_n(&log_level, (int)lvl, __ATOMIC_RELAXED);
}

enum vlog_level vlog_get_level(void)
{
	return (enum vlog_level)__atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

void vlog_set_ident(const char *ident)
{
	log_ident = ident;
}

int vlog_parse_level(const char *s, enum vlog_level *out)
{
	static const struct {
		const char *name;
		enum vlog_level lvl;
	} names[] = {
		{ "debug", VLOG_LVL_DEBUG }, { "info", VLOG_LVL_INFO },
		{ "warn", VLOG_LVL_WARN },   { "warning", VLOG_LVL_WARN },
		{ "err", VLOG_LVL_ERR },     { "error", VLOG_LVL_ERR },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i].name) == 0) {
			*out = names[i].lvl;
			return 0;
		}
	}
	return -EINVAL;
}

void vlog_msg(enum vlog_level lvl, const char *fmt, ...)
{
	static const char *const tag[] = { "error", "warn", "info", "debug" };
	char buf[1024];
	struct timespec ts;
	va_list ap;
	int n;

	if ((int)lvl > (int)vlog_get_level())
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(buf, sizeof(buf), "[%lld.%06ld] %s %s: ", (long long)ts.tv_sec,
		     ts.tv_nsec / 1000, log_ident, tag[lvl]);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(buf))
		vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One write per line so lines from threads do not interleave. */
	fprintf(stderr, "%s\n", buf);
}
