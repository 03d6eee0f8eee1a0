/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Logging for the daemon and the library: one line per message, to stderr,
 * or to syslog after vlog_open_syslog().
 */
#ifndef VDAX_COMMON_LOG_H
#define VDAX_COMMON_LOG_H

enum vlog_level {
	VLOG_LVL_OFF = -1, /* as a threshold only: nothing is logged */
	VLOG_LVL_ERR,
	VLOG_LVL_WARN,
	VLOG_LVL_INFO,
	VLOG_LVL_DEBUG,
	VLOG_LVL_TRACE, /* every request */
};

/* Messages above this level are dropped. Default VLOG_LVL_WARN. */
void vlog_set_level(enum vlog_level lvl);
enum vlog_level vlog_get_level(void);
/*
 * Parse "trace|debug|info|warn|error|off" (also "err"/"warning");
 * -EINVAL if unknown.
 */
int vlog_parse_level(const char *s, enum vlog_level *out);
/* Prefix each line with this name (e.g. "vdaxd"); the string must outlive use. */
void vlog_set_ident(const char *ident);
void vlog_msg(enum vlog_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * Send every later message to syslog (facility daemon) instead of stderr:
 * a datagram socket connected now to /dev/log (or $VDAX_SYSLOG_SOCKET, for
 * tests), so it keeps working once the sandbox hides /dev and forbids new
 * sockets. Returns 0 or -errno (then stderr stays in use).
 */
int vlog_open_syslog(void);

#define VLOG_ERR(...) vlog_msg(VLOG_LVL_ERR, __VA_ARGS__)
#define VLOG_WARN(...) vlog_msg(VLOG_LVL_WARN, __VA_ARGS__)
#define VLOG_INFO(...) vlog_msg(VLOG_LVL_INFO, __VA_ARGS__)
#define VLOG_DEBUG(...)                                                       \
	do {                                                                   \
		if (vlog_get_level() >= VLOG_LVL_DEBUG)                         \
			vlog_msg(VLOG_LVL_DEBUG, __VA_ARGS__);                 \
	} while (0)
#define VLOG_TRACE(...)                                                       \
	do {                                                                   \
		if (vlog_get_level() >= VLOG_LVL_TRACE)                         \
			vlog_msg(VLOG_LVL_TRACE, __VA_ARGS__);                 \
	} while (0)

#endif
