// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vdax-posix framework and main: TAP output, shared counters, the
 * per-area fork and the work directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "px.h"
#include "cbody.h"

#define PX_MAX_CHECKS	1024
#define PX_NAME_MAX	80
#define PX_AREA_TIMEOUT 120 /* seconds; TCG guests are slow */

/* Lives in a MAP_SHARED mapping: written by the area children in turn. */
struct px_state {
	int n, passed, failed, skipped;
	int expected_failed; /* failures of checks listed with -x */
	int nnames;
	char names[PX_MAX_CHECKS][PX_NAME_MAX];
};

static struct px_state *st;
static bool verbose;
static char *expect_list; /* -x: comma separated, with sentinels */
static char top[4200];

/* An area of the shared body, run on the system call table. */
struct px_area {
	const char *name;
	void (*body)(const struct cb_ops *o);
};

static const struct px_area areas[] = {
	{"open", cb_area_open},	      {"rw", cb_area_rw},
	{"sparse", cb_area_sparse},   {"trunc", cb_area_trunc},
	{"falloc", cb_area_falloc},   {"seek", cb_area_seek},
	{"dir", cb_area_dir},	      {"readdir", cb_area_readdir},
	{"rename", cb_area_rename},   {"link", cb_area_link},
	{"symlink", cb_area_symlink}, {"attr", cb_area_attr},
	{"xattr", cb_area_xattr},     {"mmap", cb_area_mmap},
	{"lock", cb_area_lock},	      {"statfs", cb_area_statfs},
	{"sync", cb_area_sync},	      {"errno", cb_area_errno},
	{"misc", cb_area_misc},
};

const char *px_errname(int err)
{
	const char *s = strerrorname_np(err);

	return s ? s : "E?";
}

void px_diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("# ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	va_end(ap);
}

static bool expected_to_differ(const char *name)
{
	char key[PX_NAME_MAX + 2];

	if (!expect_list)
		return false;
	snprintf(key, sizeof(key), ",%s,", name);
	return strstr(expect_list, key) != NULL;
}

/* A repeated name would make the cross-run comparison lie: fail loudly. */
static bool name_is_new(const char *name)
{
	int i;

	for (i = 0; i < st->nnames; i++)
		if (!strcmp(st->names[i], name))
			return false;
	if (st->nnames < PX_MAX_CHECKS)
		snprintf(st->names[st->nnames++], PX_NAME_MAX, "%s", name);
	return true;
}

static void report(const char *name, bool pass, const char *skip,
		   const char *detail)
{
	bool dup = !name_is_new(name);
	bool todo = expected_to_differ(name);

	if (dup) {
		pass = false;
		skip = NULL;
		detail = "duplicate check name";
	}
	st->n++;
	if (skip)
		st->skipped++;
	else if (pass)
		st->passed++;
	else
		st->failed++;
	if (!pass && !skip && todo)
		st->expected_failed++;

	printf("%sok %d - %s", pass ? "" : "not ", st->n, name);
	if (skip)
		printf(" # SKIP %s", skip);
	else if (todo)
		printf(" # TODO expected to differ%s%s", detail ? ": " : "",
		       detail ? detail : "");
	else if (!pass && detail)
		printf(" # %s", detail);
	putchar('\n');
	fflush(stdout);
}

static bool __attribute__((format(printf, 3, 0)))
vcheck(const char *name, bool cond, const char *fmt, va_list ap)
{
	char detail[256];

	detail[0] = 0;
	if (!cond && fmt)
		vsnprintf(detail, sizeof(detail), fmt, ap);
	report(name, cond, NULL, detail[0] ? detail : NULL);
	return cond;
}

bool px_check(const char *name, bool cond, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = vcheck(name, cond, fmt, ap);
	va_end(ap);
	return r;
}

void px_skip(const char *name, const char *why)
{
	report(name, true, why, NULL);
}

void px_fail_errno(const char *name, int err)
{
	px_check(name, false, "got errno %s", px_errname(err));
}

const char *px_other_mount(void)
{
	/* Where creating a name is allowed, so link() gets to the check. */
	static const char *const cands[] = {"/dev/shm", "/dev",	 "/run",
					    "/tmp",	"/proc", "/sys"};
	struct stat here, there;
	size_t i;

	if (stat(".", &here))
		return NULL;
	for (i = 0; i < PX_ARRAY_SIZE(cands); i++)
		if (!stat(cands[i], &there) && there.st_dev != here.st_dev)
			return cands[i];
	return NULL;
}

/* ---- driver ---- */

static int rm_one(const char *path, const struct stat *sb, int flag,
		  struct FTW *ftw)
{
	if (flag == FTW_DP)
		return rmdir(path) ? -1 : 0;
	return unlink(path) ? -1 : 0;
}

static int rm_tree(const char *path)
{
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int mkdir_p(const char *path)
{
	char buf[4096];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

static void area_child(const struct px_area *a)
{
	char dir[4300];

	snprintf(dir, sizeof(dir), "%s/%s", top, a->name);
	if (mkdir(dir, 0755) || chdir(dir)) {
		printf("# %s: cannot enter %s: %s\n", a->name, dir,
		       strerror(errno));
		fflush(stdout);
		_exit(2);
	}
	umask(022);
	alarm(PX_AREA_TIMEOUT);
	if (verbose)
		px_diag("area %s in %s", a->name, dir);
	a->body(&px_cb_ops);
	fflush(stdout);
	_exit(0);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void run_area(const struct px_area *a)
{
	char name[PX_NAME_MAX];
	long long t0 = now_ms();
	int status = 0;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		snprintf(name, sizeof(name), "%s.area_completed", a->name);
		px_fail_errno(name, errno);
		return;
	}
	if (pid == 0)
		area_child(a);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	snprintf(name, sizeof(name), "%s.area_completed", a->name);
	if (WIFSIGNALED(status))
		px_check(name, false, "killed by signal %s%s",
			 sigabbrev_np(WTERMSIG(status)) ?: "?",
			 WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
	else
		px_check(name, WIFEXITED(status) && WEXITSTATUS(status) == 0,
			 "exit status %d", WEXITSTATUS(status));
	if (verbose)
		px_diag("area %s took %lld ms", a->name, now_ms() - t0);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: vdax-posix [-v] [-x NAME[,NAME...]] DIR\n"
		"  Runs POSIX checks in a fresh subdirectory of DIR (created\n"
		"  if missing) and prints TAP.\n"
		"  -v  verbose diagnostics\n"
		"  -x  checks expected to differ (reported as TODO)\n");
	exit(2);
}

static void parse_args(int argc, char **argv, const char **dir)
{
	int c;

	while ((c = getopt(argc, argv, "vx:h")) != -1) {
		switch (c) {
		case 'v':
			verbose = true;
			break;
		case 'x':
			free(expect_list);
			if (asprintf(&expect_list, ",%s,", optarg) < 0)
				expect_list = NULL;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	*dir = argv[optind];
}

static int make_top(const char *dir)
{
	char abs[4096];
	int err = mkdir_p(dir);

	if (err) {
		fprintf(stderr, "vdax-posix: mkdir -p %s: %s\n", dir,
			strerror(-err));
		return err;
	}
	if (!realpath(dir, abs)) {
		fprintf(stderr, "vdax-posix: %s: %s\n", dir, strerror(errno));
		return -errno;
	}
	snprintf(top, sizeof(top), "%s/vdax-posix.%ld", abs, (long)getpid());
	rm_tree(top); /* a stale one from a recycled pid */
	if (mkdir(top, 0755)) {
		fprintf(stderr, "vdax-posix: mkdir %s: %s\n", top,
			strerror(errno));
		return -errno;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir;
	size_t i;
	int rc;

	parse_args(argc, argv, &dir);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED) {
		perror("vdax-posix: mmap");
		return 2;
	}
	if (make_top(dir))
		return 2;
	if (verbose)
		px_diag("work dir %s", top);

	for (i = 0; i < PX_ARRAY_SIZE(areas); i++)
		run_area(&areas[i]);

	rc = rm_tree(top);
	px_ok("cleanup.remove_tree", rc == 0, "nftw: %s", px_errname(errno));

	printf("1..%d\n", st->n);
	printf("# posix: %d passed, %d failed, %d skipped", st->passed,
	       st->failed, st->skipped);
	if (expect_list)
		printf(", %d of the failures expected (-x)",
		       st->expected_failed);
	putchar('\n');
	fflush(stdout);
	return st->failed > st->expected_failed ? 1 : 0;
}
