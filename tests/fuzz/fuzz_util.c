// SPDX-License-Identifier: GPL-2.0-or-later
/* Helpers shared by the libFuzzer targets. */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "fuzz_util.h"

void fz_log_setup(void)
{
	const char *s = getenv("VDAX_FUZZ_LOG");
	enum vlog_level lvl;

	/* Below ERR: nothing is printed (the harness runs millions of bad inputs). */
	if (s && vlog_parse_level(s, &lvl) == 0)
		vlog_set_level(lvl);
	else
		vlog_set_level((enum vlog_level)-1);
}

int fz_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		fz_die("opendir /proc/self/fd");
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the DIR's own fd */
}

int fz_fd_begin(unsigned every)
{
	static unsigned runs;
	static int always = -1;

	if (always < 0)
		always = getenv("VDAX_FUZZ_FDCHECK") != NULL;
	if (!always && runs++ % every)
		return -1;
	return fz_fd_count();
}

void fz_fd_end(const char *target, int before)
{
	int n;

	if (before < 0)
		return;
	n = fz_fd_count();
	if (n != before)
		fz_die("%s: fd leak: %d fds open before the run, %d after",
		       target, before, n);
}

void fz_die(const char *fmt, ...)
{
	va_list ap;

	fputs("FUZZ HARNESS: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

uint8_t fz_u8(struct fz_in *in)
{
	uint8_t v = 0;

	if (in->left) {
		v = *in->p++;
		in->left--;
	}
	return v;
}

uint16_t fz_u16(struct fz_in *in)
{
	uint16_t lo = fz_u8(in);

	return (uint16_t)(lo | fz_u8(in) << 8);
}

uint32_t fz_u32(struct fz_in *in)
{
	uint32_t lo = fz_u16(in);

	return lo | (uint32_t)fz_u16(in) << 16;
}
