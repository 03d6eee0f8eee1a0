// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vdax-conform framework and main: TAP output, the work tree, host-side
 * helpers, and (with --backend) starting the backend daemon itself.
 *
 *   vdax-conform --socket S --host-dir D      use a running backend
 *   vdax-conform --backend virtiofsd|vdaxd|rust --exe PATH [--no-locks]
 *                                             start one on a temp dir
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cf.h"
#include "cbody.h"
#include "testd.h"

#define CF_MAX_CHECKS 1024
#define CF_NAME_MAX 80
#define CF_NBUF 8
#define CF_PATH_MAX 4600

struct vdax *cf_vd;

static int n_checks, n_passed, n_failed, n_skipped, n_xfailed;
static int nnames;
static char names[CF_MAX_CHECKS][CF_NAME_MAX];
static bool verbose;
static char *expect_list; /* -x: ",a,b," */
static char host_dir[4096];
static char top[64];	  /* "conform.<pid>" under the backend root */
static char area[32];	  /* the current area */

/* An area of the shared body, run on the libvdax table by cf_body(). */
struct cf_area {
	const char *name;
	void (*body)(const struct cb_ops *o);
};

/* No "mmap": c_body.c has no mmap op (vdax_mmap() is tested in daxe2e). */
static const struct cf_area areas[] = {
	{"open", cb_area_open},	      {"rw", cb_area_rw},
	{"sparse", cb_area_sparse},   {"trunc", cb_area_trunc},
	{"falloc", cb_area_falloc},   {"seek", cb_area_seek},
	{"dir", cb_area_dir},	      {"readdir", cb_area_readdir},
	{"rename", cb_area_rename},   {"link", cb_area_link},
	{"symlink", cb_area_symlink}, {"attr", cb_area_attr},
	{"xattr", cb_area_xattr},     {"lock", cb_area_lock},
	{"statfs", cb_area_statfs},   {"sync", cb_area_sync},
	{"errno", cb_area_errno},     {"misc", cb_area_misc},
};

/* ---- TAP ---- */

const char *cf_errname(int err)
{
	const char *s = strerrorname_np(err);

	return s ? s : "E?";
}

void cf_diag(const char *fmt, ...)
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
	char key[CF_NAME_MAX + 2];

	if (!expect_list)
		return false;
	snprintf(key, sizeof(key), ",%s,", name);
	return strstr(expect_list, key) != NULL;
}

/*
 * --known-failures FILE: "NAME justification" or "BACKEND:NAME
 * justification" lines ('#' comments); the names join the -x list.
 */
static int load_known(const char *path, const char *backend)
{
	char line[512];
	FILE *fp = fopen(path, "r");

	if (!fp)
		return -errno;
	while (fgets(line, sizeof(line), fp)) {
		char *p = line, *colon, *more;
		size_t len;

		p += strspn(p, " \t");
		len = strcspn(p, " \t\n");
		if (!len || *p == '#')
			continue;
		p[len] = 0;
		colon = strchr(p, ':');
		if (colon) {
			*colon = 0;
			if (!backend || strcmp(p, backend))
				continue;
			p = colon + 1;
		}
		if (asprintf(&more, "%s%s,", expect_list ? expect_list : ",",
			     p) < 0)
			break;
		free(expect_list);
		expect_list = more;
	}
	fclose(fp);
	return 0;
}

/* A repeated name would make the comparison lie: fail loudly. */
static bool name_is_new(const char *name)
{
	int i;

	for (i = 0; i < nnames; i++)
		if (!strcmp(names[i], name))
			return false;
	if (nnames < CF_MAX_CHECKS)
		snprintf(names[nnames++], CF_NAME_MAX, "%s", name);
	return true;
}

/* @always: print the detail on a pass too (used by cf_err2). */
static void report(const char *name, bool pass, const char *skip,
		   const char *detail, bool always)
{
	bool todo = expected_to_differ(name);

	if (!name_is_new(name)) {
		pass = false;
		skip = NULL;
		detail = "duplicate check name";
	}
	n_checks++;
	if (skip)
		n_skipped++;
	else if (pass)
		n_passed++;
	else
		n_failed++;
	if (!pass && !skip && todo)
		n_xfailed++;

	printf("%sok %d - %s", pass ? "" : "not ", n_checks, name);
	if (skip)
		printf(" # SKIP %s", skip);
	else if (todo && !pass)
		printf(" # TODO expected to fail%s%s", detail ? ": " : "",
		       detail ? detail : "");
	else if (todo)
		/* Meson counts this as an unexpected pass: update the list. */
		printf(" # TODO listed as a known failure, but passes");
	else if ((!pass || always) && detail)
		printf(" # %s", detail);
	putchar('\n');
	fflush(stdout);
}

static bool __attribute__((format(printf, 4, 0)))
vcheck(const char *name, bool cond, bool always, const char *fmt, va_list ap)
{
	char detail[256];

	detail[0] = 0;
	if ((!cond || always) && fmt)
		vsnprintf(detail, sizeof(detail), fmt, ap);
	report(name, cond, NULL, detail[0] ? detail : NULL, always);
	return cond;
}

bool cf_check(const char *name, bool cond, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = vcheck(name, cond, false, fmt, ap);
	va_end(ap);
	return r;
}

bool cf_check_always(const char *name, bool cond, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = vcheck(name, cond, true, fmt, ap);
	va_end(ap);
	return r;
}

void cf_skip(const char *name, const char *why)
{
	report(name, true, why, NULL, false);
}

void cf_fail_errno(const char *name, int err)
{
	cf_check(name, false, "got errno %s", cf_errname(err));
}

/* ---- paths ---- */

static const char *path_buf(const char *base, const char *rel)
{
	static char bufs[CF_NBUF][CF_PATH_MAX];
	static unsigned int next;
	char *b = bufs[next++ % CF_NBUF];

	if (!area[0])
		snprintf(b, CF_PATH_MAX, "%s/%s%s%s", base, top,
			 rel[0] ? "/" : "", rel);
	else if (rel[0])
		snprintf(b, CF_PATH_MAX, "%s/%s/%s/%s", base, top, area, rel);
	else
		snprintf(b, CF_PATH_MAX, "%s/%s/%s", base, top, area);
	return b;
}

const char *P(const char *rel)
{
	return path_buf("", rel);
}

const char *H(const char *rel)
{
	return path_buf(host_dir, rel);
}

/* ---- host-side helpers ---- */

ssize_t host_get(const char *rel, void *buf, size_t cap, off_t off)
{
	int fd = open(H(rel), O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread(fd, buf, cap, off);
	if (n < 0)
		n = -errno;
	close(fd);
	return n;
}

bool host_exists(const char *rel)
{
	struct stat sb;

	return lstat(H(rel), &sb) == 0;
}

/* ---- the work tree ---- */

/* Removes @path (API path) and everything below it; 0 or -errno. */
static int rm_tree(const char *path, int depth)
{
	struct vdax_dirent de;
	struct vdax_dir *d;
	struct stat sb;
	char *child;
	int rc, err = 0;

	rc = vdax_lstat(cf_vd, path, &sb);
	if (rc)
		return rc;
	if (!S_ISDIR(sb.st_mode))
		return vdax_unlink(cf_vd, path);
	if (depth > 32)
		return -ELOOP;
	child = malloc(CF_PATH_MAX);
	if (!child)
		return -ENOMEM;
	/* Deleting while reading may skip names: go round until empty. */
	for (int round = 0; round < 8; round++) {
		int seen = 0;

		rc = vdax_opendir(cf_vd, path, &d);
		if (rc) {
			err = rc;
			break;
		}
		while ((rc = vdax_readdir(d, &de)) > 0) {
			if (!strcmp(de.name, ".") || !strcmp(de.name, ".."))
				continue;
			seen++;
			snprintf(child, CF_PATH_MAX, "%s/%s", path, de.name);
			rc = rm_tree(child, depth + 1);
			if (rc && rc != -ENOENT)
				err = rc;
		}
		vdax_closedir(d);
		if (!seen)
			break;
	}
	free(child);
	rc = vdax_rmdir(cf_vd, path);
	return rc ? rc : err;
}

static void run_area(const struct cf_area *a)
{
	char name[CF_NAME_MAX];
	int rc;

	snprintf(area, sizeof(area), "%s", a->name);
	rc = vdax_mkdir(cf_vd, P(""), 0755);
	snprintf(name, sizeof(name), "%s.area_setup", a->name);
	if (rc || !host_exists("")) {
		cf_check(name, false, "mkdir %s: %s, host %s", P(""),
			 cf_errname(-rc), host_exists("") ? "ok" : "missing");
		return;
	}
	if (verbose)
		cf_diag("area %s in %s", a->name, P(""));
	cf_body(a->body);
}

/* ---- the backend, with --backend ---- */

struct backend {
	char dir[256];
	char share[300];
	char sock[300];
	pid_t pid;
};

static struct backend be = {.pid = -1};
static bool no_locks; /* --no-locks: start vdaxd without remote locks */
/* --daemon-arg: more vdaxd options, as --inode-file-handles=prefer */
#define MAX_DAEMON_ARGS 8
static const char *daemon_args[MAX_DAEMON_ARGS + 1];
static int n_daemon_args;

static int backend_start(const char *kind, const char *exe)
{
	int rc = td_tmpdir("conform", be.dir, sizeof(be.dir));

	if (rc)
		return rc;
	snprintf(be.share, sizeof(be.share), "%s/share", be.dir);
	snprintf(be.sock, sizeof(be.sock), "%s/fs.sock", be.dir);
	if (mkdir(be.share, 0755))
		return -errno;
	be.pid = fork();
	if (be.pid < 0)
		return -errno;
	if (be.pid == 0) {
		char sockopt[400], src[400];

		td_quiet(verbose);
		if (verbose)
			dup2(2, 1); /* the daemon's log, not on the TAP stream */
		snprintf(sockopt, sizeof(sockopt), "--socket-path=%s", be.sock);
		if (!strcmp(kind, "vdaxd")) {
			const char *argv[16 + MAX_DAEMON_ARGS];
			int n = 0;

			snprintf(src, sizeof(src), "--shared-dir=%s", be.share);
			argv[n++] = exe;
			argv[n++] = sockopt;
			argv[n++] = src;
			argv[n++] = "--sandbox=none";
			argv[n++] = "--seccomp=none";
			argv[n++] = "--cache=auto";
			argv[n++] = "--xattr";
			argv[n++] = no_locks ? "--no-posix-lock" : "--posix-lock";
			argv[n++] = no_locks ? "--no-flock" : "--flock";
			for (int i = 0; i < n_daemon_args; i++)
				argv[n++] = daemon_args[i];
			argv[n] = NULL;
			execv(exe, (char **)argv);
		} else if (!strcmp(kind, "rust")) {
			/* The Rust virtiofsd has no remote POSIX/flock locks. */
			snprintf(src, sizeof(src), "--shared-dir=%s", be.share);
			execl(exe, exe, sockopt, src, "--sandbox=chroot",
			      "--cache=auto", "--xattr", (char *)NULL);
		} else {
			snprintf(src, sizeof(src),
				 "source=%s,cache=auto,xattr,posix_lock,flock,"
				 "sandbox=chroot",
				 be.share);
			execl(exe, exe, sockopt, "-o", src, (char *)NULL);
		}
		_exit(127);
	}
	return td_wait_socket(be.sock, &be.pid, 500);
}

static void backend_stop(void)
{
	td_end(&be.pid, SIGTERM, 1000);
	if (be.dir[0] && !td_rmrf(be.dir))
		cf_diag("cleanup of %s failed", be.dir);
}

static void __attribute__((noreturn)) skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	fflush(stdout);
	exit(77);
}

/* ---- main ---- */

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr,
		"usage: vdax-conform [-v] [-x NAME,...] [--known-failures F] --socket S --host-dir D\n"
		"       vdax-conform [-v] [-x NAME,...] --backend virtiofsd|vdaxd|rust "
		"--exe PATH\n"
		"  Runs the vdax-posix checks through libvdax and prints TAP.\n"
		"  -x  checks expected to fail (reported as TODO)\n"
		"  --known-failures FILE  the same from a file: NAME or\n"
		"      BACKEND:NAME, then a justification, one a line\n"
		"  --no-locks  start vdaxd without remote POSIX/flock locks\n"
		"      (as the Rust virtiofsd, which has none)\n"
		"  --daemon-arg ARG  one more vdaxd option (repeatable)\n");
	exit(2);
}

struct args {
	const char *sock, *host, *backend, *exe, *known;
};

static void parse_args(int argc, char **argv, struct args *a)
{
	static const struct option lopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"host-dir", required_argument, NULL, 'H'},
		{"backend", required_argument, NULL, 'b'},
		{"exe", required_argument, NULL, 'e'},
		{"known-failures", required_argument, NULL, 'k'},
		{"verbose", no_argument, NULL, 'v'},
		{"no-locks", no_argument, NULL, 'L'},
		{"daemon-arg", required_argument, NULL, 'A'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "vx:h", lopts, NULL)) != -1) {
		switch (c) {
		case 's':
			a->sock = optarg;
			break;
		case 'H':
			a->host = optarg;
			break;
		case 'b':
			a->backend = optarg;
			break;
		case 'e':
			a->exe = optarg;
			break;
		case 'k':
			a->known = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'L':
			no_locks = true;
			break;
		case 'A':
			if (n_daemon_args == MAX_DAEMON_ARGS)
				usage();
			daemon_args[n_daemon_args++] = optarg;
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
	if (optind != argc)
		usage();
	if (a->known && load_known(a->known, a->backend)) {
		fprintf(stderr, "vdax-conform: cannot read %s\n", a->known);
		exit(2);
	}
	if (a->backend) {
		if (strcmp(a->backend, "virtiofsd") &&
		    strcmp(a->backend, "vdaxd") && strcmp(a->backend, "rust"))
			usage();
		if (a->sock || a->host)
			usage();
	} else if (!a->sock || !a->host) {
		usage();
	}
}

static void setup_backend(struct args *a)
{
	char why[600];
	int rc;

	if (!a->exe || !a->exe[0]) {
		snprintf(why, sizeof(why), "no %s executable given", a->backend);
		skip_all(why);
	}
	if (access(a->exe, X_OK)) {
		snprintf(why, sizeof(why), "%s not installed", a->exe);
		skip_all(why);
	}
	if (geteuid() != 0)
		skip_all("the backends need root");
	rc = backend_start(a->backend, a->exe);
	if (rc) {
		backend_stop();
		snprintf(why, sizeof(why), "starting %s failed: %s", a->exe,
			 strerror(-rc));
		printf("Bail out! %s\n", why);
		exit(1);
	}
	a->sock = be.sock;
	a->host = be.share;
}

static int open_session(const char *sock)
{
	struct vdax_opts o = {
		.socket_path = sock,
		.timeout_ms = 20000,
	};
	int rc = -ENOENT;

	for (int i = 0; i < 50; i++) {
		rc = vdax_open_session(&o, &cf_vd);
		if (rc != -ECONNREFUSED && rc != -ENOENT)
			break;
		td_sleep_ms(20);
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct args a = {0};
	size_t i;
	int rc;

	parse_args(argc, argv, &a);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	umask(022);
	if (a.backend)
		setup_backend(&a);
	if (!realpath(a.host, host_dir)) {
		printf("Bail out! host dir %s: %s\n", a.host, strerror(errno));
		backend_stop();
		return 1;
	}
	rc = open_session(a.sock);
	if (rc) {
		printf("Bail out! vdax_open_session(%s): %s\n", a.sock,
		       strerror(-rc));
		backend_stop();
		return 1;
	}
	if (verbose)
		cf_diag("backend %s, host dir %s, max_write %zu, minor %u",
			a.backend ? a.backend : a.sock, host_dir,
			vdax_max_write(cf_vd), vdax_proto_minor(cf_vd));

	snprintf(top, sizeof(top), "conform.%ld", (long)getpid());
	area[0] = 0;
	rc = vdax_mkdir(cf_vd, top, 0755);
	if (rc) {
		printf("Bail out! mkdir /%s: %s\n", top, strerror(-rc));
		vdax_close(cf_vd);
		backend_stop();
		return 1;
	}

	for (i = 0; i < CF_ARRAY_SIZE(areas); i++)
		run_area(&areas[i]);

	rc = rm_tree(top, 0);
	area[0] = 0;
	cf_ok("cleanup.remove_tree", rc == 0 && !host_exists(""),
	      "rc %s, host %s", cf_errname(-rc),
	      host_exists("") ? "still there" : "gone");

	vdax_close(cf_vd);
	backend_stop();
	printf("1..%d\n", n_checks);
	printf("# conform: %d passed, %d failed, %d skipped", n_passed,
	       n_failed, n_skipped);
	if (expect_list)
		printf(", %d of the failures expected (-x)", n_xfailed);
	putchar('\n');
	fflush(stdout);
	return n_failed > n_xfailed ? 1 : 0;
}
