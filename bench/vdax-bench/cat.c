// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vdax-bench: the pseudo-row "cat", processes of their own after the
 * columns.
 *
 * One `vdax cat` (or local `cat`) of ws.bin (256 MiB, in the host page
 * cache), or of ws2m.bin (the same size written in 2 MiB pieces, so that
 * the host caches it in 2 MiB folios where the filesystem has them), as a
 * whole process: exec, session set-up, the read, teardown.
 * Each vdax run gets a fresh vdaxd --cache-size=CAT_WINDOW, so every DAX
 * mapping is made during the measured run. Best of CAT_REPS (the issue's
 * measure), the variants interleaved with the order rotating.
 */
#include "bench.h"

const struct cat_variant cat_variants[] = {
	{ "local", "`cat FILE > /dev/null` on the host directory", NULL,
	  "ws.bin", "local" },
	{ "dax", "`vdax -o dax=always,cache_size=64M cat` (adaptive admission)",
	  "dax=always,cache_size=64M", "ws.bin", "local" },
	{ "dax-all", "the same with `dax_admit=all` (every miss maps: the "
		     "behaviour before issue 13)",
	  "dax=always,cache_size=64M,dax_admit=all", "ws.bin", "local" },
	{ "nodax", "`vdax -o dax=never cat` (FUSE_READ)", "dax=never", "ws.bin",
	  "local" },
	{ "local-2m", "`cat` of ws2m.bin: the same size written in 2 MiB "
		      "pieces (the host caches it in 2 MiB folios)",
	  NULL, "ws2m.bin", "local-2m" },
	{ "dax-2m", "`vdax -o dax=always,cache_size=64M cat` of ws2m.bin "
		    "(one PMD per range)",
	  "dax=always,cache_size=64M", "ws2m.bin", "local-2m" },
};

_Static_assert(ARRAY_SIZE(cat_variants) == NCAT, "NCAT in bench.h");

struct cat_result cat_res[NCAT];
bool cat_ran;

/* "name value" lines of vdax --stats. */
static uint64_t stat_line(const char *txt, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = txt; p && *p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (!strncmp(p, name, n) && p[n] == ' ')
			return strtoull(p + n + 1, NULL, 10);
	}
	return 0;
}

/* fork + exec, stdout to /dev/null, stderr to @err; wall ms or NAN. */
static double run_timed(char *const argv[], const char *err)
{
	double t0 = now_s();
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return NAN;
	if (!pid) {
		int o = open("/dev/null", O_WRONLY), e;

		e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return NAN;
	return (now_s() - t0) * 1000;
}

static void cat_one(size_t v, int rep)
{
	const struct cat_variant *cv = &cat_variants[v];
	struct cat_result *r = &cat_res[v];
	static struct backend be = { .name = "cat" };
	char file[PATH_MAX + 16], err[PATH_MAX + 16], sock[PATH_MAX + 16];
	char log[PATH_MAX + 16], txt[4096];
	pid_t pid = -1;
	double ms;
	ssize_t n;
	int fd;

	fmt_path(err, sizeof(err), "%s/cat.err", workdir);
	/*
	 * "In the host page cache" for every run: a machine may page idle
	 * files out behind our back (here DAMON's pageout scheme on physical
	 * memory evicts page cache that has not been touched for a few
	 * seconds), and the cat runs come minutes after the columns last read
	 * the file. Untimed, and the same for every variant.
	 */
	{
		int dirfd = open(sharedir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dirfd >= 0) {
			warm_file(dirfd, cv->file);
			/* Untimed too: how the host holds the file now. */
			if (!folio_mix(dirfd, cv->file, r->folios[rep]))
				for (int k = 0; k < 3; k++)
					r->folios[rep][k] = NAN;
			close(dirfd);
		}
	}
	if (!cv->options) {
		char *argv[] = { "/bin/cat", file, NULL };

		fmt_path(file, sizeof(file), "%s/%s", sharedir, cv->file);
		r->ms[rep] = run_timed(argv, err);
		return;
	}
	fmt_path(sock, sizeof(sock), "%s/cat.sock", workdir);
	fmt_path(log, sizeof(log), "%s/cat.log", workdir);
	if (vdaxd_start(&be, sock, log, 1, CAT_WINDOW, &pid)) {
		fmt(r->why, sizeof(r->why), "%s", be.why);
		r->ms[rep] = NAN;
		return;
	}
	{
		char *argv[] = { (char *)P.vdax_tool, "--socket", sock, "-o",
				 (char *)cv->options, "--stats", "cat",
				 (char *)cv->file, NULL };

		/* vdax retries a refused connect itself? Not assumed: the
		 * socket is listening once vdaxd logs "ready". */
		for (int i = 0; i < 200; i++) {
			char lt[4096] = "";
			int lf = open(log, O_RDONLY);

			if (lf >= 0) {
				n = read(lf, lt, sizeof(lt) - 1);
				close(lf);
				if (n > 0 && strstr(lt, "ready"))
					break;
			}
			usleep(10000);
		}
		ms = run_timed(argv, err);
	}
	stop_pid(&pid);
	r->ms[rep] = ms;
	if (isnan(ms)) {
		fmt(r->why, sizeof(r->why), "vdax cat failed (see %s)", err);
		return;
	}
	fd = open(err, O_RDONLY);
	n = fd >= 0 ? read(fd, txt, sizeof(txt) - 1) : -1;
	if (fd >= 0)
		close(fd);
	txt[n > 0 ? n : 0] = 0;
	/* the counters of the best run so far */
	if (rep == 0 || ms <= r->ms[0] || isnan(r->ms[0])) {
		r->misses = stat_line(txt, "misses");
		r->admissions = stat_line(txt, "admissions");
		r->bypasses = stat_line(txt, "bypasses");
		r->readaheads = stat_line(txt, "readaheads");
		r->direct = stat_line(txt, "direct_reclaims");
	}
}

void cold_cat(void)
{
	size_t nv = NCAT;
	int reps = P.reps < CAT_REPS ? (P.reps < 1 ? 1 : P.reps) : CAT_REPS;

	if (!P.vdax_tool || !*P.vdax_tool || access(P.vdax_tool, X_OK)) {
		fprintf(stderr, "vdax-bench: no vdax tool: no cold cat rows\n");
		return;
	}
	for (size_t v = 0; v < nv; v++)
		for (int k = 0; k < CAT_REPS; k++) {
			cat_res[v].ms[k] = NAN;
			for (int j = 0; j < 3; j++)
				cat_res[v].folios[k][j] = NAN;
		}
	for (int rep = 0; rep < reps && !interrupted; rep++) {
		char line[512];
		int len = snprintf(line, sizeof(line), "[cat %d/%d]", rep + 1,
				   reps);

		for (size_t k = 0; k < nv; k++) {
			size_t v = (k + (size_t)rep) % nv;

			cat_one(v, rep);
			len += snprintf(line + len, sizeof(line) - len,
					" %s %.0f ms", cat_variants[v].name,
					cat_res[v].ms[rep]);
			if (len >= (int)sizeof(line))
				len = sizeof(line) - 1;
		}
		fprintf(stderr, "%s\n", line);
	}
	cat_ran = true;
}

/* Best (smallest) of the runs, NAN if none succeeded. */
/* The run with the best time, -1 if none succeeded. */
int cat_best_rep(size_t v)
{
	int b = -1;

	for (int k = 0; k < CAT_REPS; k++)
		if (!isnan(cat_res[v].ms[k]) &&
		    (b < 0 || cat_res[v].ms[k] < cat_res[v].ms[b]))
			b = k;
	return b;
}

double cat_best(size_t v)
{
	int k = cat_best_rep(v);

	return k < 0 ? NAN : cat_res[v].ms[k];
}

int cat_find(const char *name)
{
	for (size_t v = 0; v < NCAT; v++)
		if (!strcmp(cat_variants[v].name, name))
			return (int)v;
	return -1;
}

