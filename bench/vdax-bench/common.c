// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vdax-bench: the parameters, the directories and the helpers every part
 * uses.
 */
#include "bench.h"

struct params P = {
	.duration = 0.5,
	.reps = 5,
	.slices = 5,
	.threads = { 1, 4, 0 },
	.file_size = 64 * MIB,
	.dir_entries = 10000,
	.queues = 0, /* 0: one per online CPU, at most 4 (see main()) */
	.window = 256 * MIB,
	.ws_window = 32 * MIB,
	.tree_files = 20000,
};

volatile sig_atomic_t interrupted;
char workdir[PATH_MAX];
char sharedir[PATH_MAX];

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("vdax-bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

void fmt(char *buf, size_t size, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(buf, size, f, ap);
	va_end(ap);
}

void fmt_path(char *buf, size_t size, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, size, f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		die("path too long: %s...", buf);
}

int nthreads_count(void)
{
	int n = 0;

	while (n < 4 && P.threads[n])
		n++;
	return n;
}

bool in_list(const char *list, const char *name)
{
	size_t len = strlen(name);

	for (const char *s = list; s && *s;) {
		if (!strncmp(s, name, len) && (s[len] == ',' || !s[len]))
			return true;
		s = strchr(s, ',');
		if (s)
			s++;
	}
	return false;
}
