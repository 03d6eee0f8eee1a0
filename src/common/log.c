// SPDX-License-Identifier: LGPL-2.1-or-later
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int log_level = VLOG_LVL_WARN;	/* read racily on purpose: a level change need not be instant */
static const char *log_ident = "vdax";
static int log_syslog_fd = -1; /* connected SOCK_DGRAM to /dev/log, or -1 */

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
		{ "trace", VLOG_LVL_TRACE }, { "off", VLOG_LVL_OFF },
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

int vlog_open_syslog(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = getenv("VDAX_SYSLOG_SOCKET");
	int fd;

	if (!path || !*path)
		path = "/dev/log";
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	log_syslog_fd = fd;
	return 0;
}

/* RFC 3164 as syslog(3) writes it: "<PRI>TIMESTAMP IDENT[PID]: MSG". */
static void syslog_send(enum vlog_level lvl, const char *msg)
{
	/* LOG_DAEMON (3 << 3) | LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
	static const int sev[] = { 3, 4, 6, 7, 7 };
	char buf[1200], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int n;

	gmtime_r(&now, &tm); /* no time zone files in the sandbox */
	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	n = snprintf(buf, sizeof(buf), "<%d>%s %s[%ld]: %s", (3 << 3) | sev[lvl],
		     stamp, log_ident, (long)getpid(), msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	/* Best effort: a full or gone syslog daemon must not stall us. */
	if (send(log_syslog_fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return;
}

void vlog_msg(enum vlog_level lvl, const char *fmt, ...)
{
	static const char *const tag[] = { "error", "warn", "info", "debug",
					   "trace" };
	char buf[1024];
	struct timespec ts;
	va_list ap;
	int n;

	if ((int)lvl > (int)vlog_get_level() || lvl < VLOG_LVL_ERR)
		return;
	if (log_syslog_fd >= 0) {
		va_start(ap, fmt);
		vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		syslog_send(lvl, buf);
		return;
	}
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
