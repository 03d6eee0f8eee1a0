// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vdax-conform-compare: run vdax-conform on a reference daemon (QEMU's C
 * virtiofsd, the Rust virtiofsd with --rust, or vdaxd itself with
 * --vdaxd-ref) and on vdaxd and print one
 * TAP line per check saying whether both backends gave the same answer:
 * the same ok / not ok / skip, and the same errno names in the detail.
 * Differences listed in the expected-differences file (name and a one-line
 * justification) pass, with the justification printed.
 *
 *   vdax-conform-compare --conform EXE
 *                        (--virtiofsd PATH | --rust PATH | --vdaxd-ref PATH)
 *                        --vdaxd PATH [--vdaxd-arg ARG] [--expect FILE]
 *                        [--no-locks]
 *
 * --no-locks starts both without remote POSIX/flock locks (the Rust
 * daemon has none), so both are compared with the same features.
 * --vdaxd-arg gives the compared vdaxd (not the reference) one more
 * option: vdaxd with an option against vdaxd without it.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

#define CMP_MAX 1024
#define CMP_NAME 96
#define CMP_ANSWER 160

struct result {
	char name[CMP_NAME];
	char answer[CMP_ANSWER]; /* "ok", "not ok EPERM", "skip EOPNOTSUPP" */
};

struct run {
	const char *backend; /* vdax-conform --backend */
	const char *label;   /* in the TAP lines */
	const char *arg;     /* one more daemon option, or NULL */
	struct result r[CMP_MAX];
	int n;
	bool planned;	/* saw the final "1..N" */
	int status;	/* exit status of vdax-conform */
};

struct expected {
	char name[CMP_NAME];
	char why[200];
	bool used;
};

static struct run runs[2];
static struct expected exp_list[256];
static int n_exp;

/* Appends the errno names (E[A-Z0-9]+ words) found in @detail. */
static void add_errnos(char *ans, size_t size, const char *detail)
{
	const char *p = detail;

	while (*p) {
		const char *w = p;
		size_t len;

		while (*p && (isalnum((unsigned char)*p) || *p == '_'))
			p++;
		len = (size_t)(p - w);
		if (len >= 3 && w[0] == 'E' && isupper((unsigned char)w[1])) {
			bool up = true;

			for (size_t i = 0; i < len; i++)
				if (!isupper((unsigned char)w[i]) &&
				    !isdigit((unsigned char)w[i]))
					up = false;
			if (up)
				snprintf(ans + strlen(ans), size - strlen(ans),
					 " %.*s", (int)len, w);
		}
		if (*p)
			p++;
	}
}

/* "ok 12 - name # detail" / "not ok 12 - name # SKIP why" */
static void parse_line(struct run *r, const char *line)
{
	const char *p = line, *name, *hash;
	struct result *res;
	bool pass;
	size_t len;

	if (!strncmp(p, "1..", 3)) {
		r->planned = true;
		return;
	}
	if (!strncmp(p, "ok ", 3)) {
		pass = true;
		p += 3;
	} else if (!strncmp(p, "not ok ", 7)) {
		pass = false;
		p += 7;
	} else {
		return;
	}
	while (isdigit((unsigned char)*p))
		p++;
	if (strncmp(p, " - ", 3) || r->n >= CMP_MAX)
		return;
	name = p + 3;
	hash = strstr(name, " # ");
	len = hash ? (size_t)(hash - name) : strcspn(name, "\n");
	res = &r->r[r->n++];
	snprintf(res->name, sizeof(res->name), "%.*s", (int)len, name);
	if (hash && !strncmp(hash + 3, "SKIP", 4))
		snprintf(res->answer, sizeof(res->answer), "skip");
	else
		snprintf(res->answer, sizeof(res->answer), "%s",
			 pass ? "ok" : "not ok");
	if (hash)
		add_errnos(res->answer, sizeof(res->answer), hash + 3);
}

static const struct result *find(const struct run *r, const char *name)
{
	for (int i = 0; i < r->n; i++)
		if (!strcmp(r->r[i].name, name))
			return &r->r[i];
	return NULL;
}

static struct expected *find_expected(const char *name)
{
	for (int i = 0; i < n_exp; i++)
		if (!strcmp(exp_list[i].name, name))
			return &exp_list[i];
	return NULL;
}

static int load_expected(const char *path)
{
	char line[512];
	FILE *fp = fopen(path, "r");

	if (!fp)
		return -errno;
	while (fgets(line, sizeof(line), fp) && n_exp < 256) {
		char *p = line, *end;

		line[strcspn(line, "\n")] = 0;
		while (isspace((unsigned char)*p))
			p++;
		if (!*p || *p == '#')
			continue;
		end = p + strcspn(p, " \t");
		snprintf(exp_list[n_exp].name, CMP_NAME, "%.*s",
			 (int)(end - p), p);
		while (isspace((unsigned char)*end))
			end++;
		snprintf(exp_list[n_exp].why, sizeof(exp_list[n_exp].why),
			 "%s", *end ? end : "(no justification given)");
		n_exp++;
	}
	fclose(fp);
	return 0;
}

/* Starts vdax-conform for one backend with stdout to @out; returns pid. */
static pid_t start(const char *conform, const struct run *run,
		   const char *exe, bool no_locks, FILE *out)
{
	pid_t pid = fork();

	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY), n = 0;
		const char *argv[10];

		dup2(fileno(out), 1);
		if (devnull >= 0)
			dup2(devnull, 2);
		argv[n++] = conform;
		argv[n++] = "--backend";
		argv[n++] = run->backend;
		argv[n++] = "--exe";
		argv[n++] = exe;
		if (no_locks)
			argv[n++] = "--no-locks";
		if (run->arg) {
			argv[n++] = "--daemon-arg";
			argv[n++] = run->arg;
		}
		argv[n] = NULL;
		execv(conform, (char **)argv);
		_exit(127);
	}
	return pid;
}

static void collect(struct run *r, FILE *out)
{
	char line[1024];

	rewind(out);
	while (fgets(line, sizeof(line), out))
		parse_line(r, line);
}

static void compare_one(const char *name)
{
	const struct result *a = find(&runs[0], name);
	const struct result *b = find(&runs[1], name);
	const char *aa = a ? a->answer : "missing";
	const char *ba = b ? b->answer : "missing";
	struct expected *e = find_expected(name);

	if (!strcmp(aa, ba)) {
		ok(1, "%s", name);
		if (e)
			diag("%s is listed as an expected difference but both "
			     "say \"%s\"", name, aa);
		if (e)
			e->used = true;
		return;
	}
	if (e) {
		e->used = true;
		ok(1, "%s # expected difference (%s: %s, %s: %s): %s",
		   name, runs[0].label, aa, runs[1].label, ba, e->why);
		return;
	}
	ok(0, "%s # %s: %s, %s: %s", name, runs[0].label, aa, runs[1].label,
	   ba);
}

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr, "usage: vdax-conform-compare --conform EXE "
			"(--virtiofsd PATH | --rust PATH | --vdaxd-ref PATH) "
			"--vdaxd PATH [--vdaxd-arg ARG] [--expect FILE] "
			"[--no-locks]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"conform", required_argument, NULL, 'c'},
		{"virtiofsd", required_argument, NULL, 'q'},
		{"rust", required_argument, NULL, 'r'},
		{"vdaxd", required_argument, NULL, 'd'},
		{"vdaxd-ref", required_argument, NULL, 'V'},
		{"vdaxd-arg", required_argument, NULL, 'A'},
		{"no-locks", no_argument, NULL, 'L'},
		{"expect", required_argument, NULL, 'x'},
		{NULL, 0, NULL, 0},
	};
	const char *conform = NULL, *exes[2] = {NULL, NULL}, *expect = NULL;
	FILE *outs[2];
	pid_t pids[2];
	const char *ref = "virtiofsd", *arg = NULL;
	char label[200];
	bool no_locks = false;
	char why[600];
	int c, i;

	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			conform = optarg;
			break;
		case 'q':
		case 'r':
		case 'V':
			if (exes[0])
				usage();
			exes[0] = optarg;
			ref = c == 'r' ? "rust" : c == 'V' ? "vdaxd" : "virtiofsd";
			break;
		case 'A':
			arg = optarg;
			break;
		case 'L':
			no_locks = true;
			break;
		case 'd':
			exes[1] = optarg;
			break;
		case 'x':
			expect = optarg;
			break;
		default:
			usage();
		}
	}
	if (!conform || !exes[0] || !exes[1] || optind != argc)
		usage();
	runs[0].backend = runs[0].label = ref;
	runs[1].backend = runs[1].label = "vdaxd";
	runs[1].arg = arg;
	if (arg) {
		snprintf(label, sizeof(label), "vdaxd %s", arg);
		runs[1].label = label;
	}
	for (i = 0; i < 2; i++) {
		if (!exes[i][0] || access(exes[i], X_OK)) {
			snprintf(why, sizeof(why), "%s (%s) not available",
				 runs[i].backend, exes[i]);
			tap_skip_all(why);
		}
	}
	if (geteuid() != 0)
		tap_skip_all("the backends need root");
	if (expect && load_expected(expect)) {
		snprintf(why, sizeof(why), "cannot read %s", expect);
		tap_bail(why);
	}

	/* Both at once: two cores, and each run waits on its backend. */
	fflush(stdout);
	for (i = 0; i < 2; i++) {
		outs[i] = tmpfile();
		if (!outs[i])
			tap_bail("tmpfile failed");
		pids[i] = start(conform, &runs[i], exes[i], no_locks, outs[i]);
	}
	for (i = 0; i < 2; i++) {
		if (pids[i] < 0 || waitpid(pids[i], &runs[i].status, 0) < 0)
			runs[i].status = -1;
		collect(&runs[i], outs[i]);
		fclose(outs[i]);
	}
	for (i = 0; i < 2; i++) {
		int st = runs[i].status;

		if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
			tap_skip_all("a backend run was skipped");
		diag("%s: %d checks, exit status %d", runs[i].label,
		     runs[i].n, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
	ok(runs[0].planned && runs[1].planned,
	   "compare.both_runs_complete # %s %s, %s %s", runs[0].label,
	   runs[0].planned ? "complete" : "cut short", runs[1].label,
	   runs[1].planned ? "complete" : "cut short");

	for (i = 0; i < runs[0].n; i++)
		compare_one(runs[0].r[i].name);
	for (i = 0; i < runs[1].n; i++)
		if (!find(&runs[0], runs[1].r[i].name))
			compare_one(runs[1].r[i].name);
	for (i = 0; i < n_exp; i++)
		if (!exp_list[i].used)
			diag("expected difference %s: no such check",
			     exp_list[i].name);
	return tap_done();
}
