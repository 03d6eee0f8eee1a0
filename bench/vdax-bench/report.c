// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vdax-bench: the results and what is made of them: the JSON file with
 * every raw number and the machine, and the Markdown report (tables,
 * ratios, targets).
 */
#include "bench.h"

/* Ratio columns: numerator, denominator, and the target (0: none). */
static const struct {
	const char *num, *den;
	double target;
} pairs[] = {
	{ "vdaxd", "virtiofsd", 1.0 },
	{ "dax", "virtiofsd", 1.0 },
	{ "dax", "vdaxd", 0 },
	{ "mnt-dax", "mnt", 0 },
	{ "guest-vdaxd", "guest-virtiofsd", 1.0 },
};

/* ---------------- results ---------------- */

double results[NWORKLOADS][4][NBACKENDS][MAX_REPS];
char failures[NWORKLOADS][4][NBACKENDS][160];
struct vdax_stats daxdelta[NWORKLOADS][4];

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct stats stats_of(const double *v, int n)
{
	double s[MAX_REPS];
	struct stats st = { 0, NAN, NAN, NAN };

	for (int i = 0; i < n; i++)
		if (!isnan(v[i]))
			s[st.n++] = v[i];
	if (!st.n)
		return st;
	qsort(s, st.n, sizeof(s[0]), cmp_double);
	st.min = s[0];
	st.max = s[st.n - 1];
	st.med = st.n % 2 ? s[st.n / 2] : (s[st.n / 2 - 1] + s[st.n / 2]) / 2;
	return st;
}

/*
 * Per-repetition ratios of cell (wa, t, a) to cell (wb, t, b): the cells of
 * a repetition ran side by side, so their ratio is freer of noise.
 */
static struct stats cells_ratio(int wa, int a, int wb, int b, int t)
{
	double r[MAX_REPS];

	for (int i = 0; i < P.reps; i++) {
		double x = results[wa][t][a][i], y = results[wb][t][b][i];

		r[i] = (isnan(x) || isnan(y) || y <= 0) ? NAN : x / y;
	}
	return stats_of(r, P.reps);
}

/* Two columns on one row. */
static struct stats ratio_of(int w, int t, int a, int b)
{
	return cells_ratio(w, a, w, b, t);
}

const char *human(double v, char *buf, size_t n)
{
	if (isnan(v))
		snprintf(buf, n, "n/a");
	else if (v >= 1e6)
		snprintf(buf, n, "%.2fM", v / 1e6);
	else if (v >= 1e4)
		snprintf(buf, n, "%.1fk", v / 1e3);
	else if (v >= 100)
		snprintf(buf, n, "%.0f", v);
	else
		snprintf(buf, n, "%.1f", v);
	return buf;
}


/* ---------------- machine facts ---------------- */

struct machine M;

void read_load(double l[3])
{
	FILE *f = fopen("/proc/loadavg", "r");

	l[0] = l[1] = l[2] = NAN;
	if (f) {
		if (fscanf(f, "%lf %lf %lf", &l[0], &l[1], &l[2]) != 3)
			l[0] = l[1] = l[2] = NAN;
		fclose(f);
	}
}

void machine_facts(void)
{
	struct utsname u;
	struct statfs sf;
	char line[512];
	time_t now = time(NULL);
	FILE *f;

	snprintf(M.cpu, sizeof(M.cpu), "unknown");
	f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		if (c && !strncmp(line, "model name", 10)) {
			c++;
			while (*c == ' ')
				c++;
			c[strcspn(c, "\n")] = 0;
			snprintf(M.cpu, sizeof(M.cpu), "%s", c);
			break;
		}
	}
	if (f)
		fclose(f);
	M.cores = sysconf(_SC_NPROCESSORS_ONLN);
	if (!uname(&u)) {
		snprintf(M.kernel, sizeof(M.kernel), "%s %s %s", u.sysname,
			 u.release, u.machine);
		fmt(M.host, sizeof(M.host), "%s", u.nodename);
	}
	snprintf(M.fs, sizeof(M.fs), "unknown");
	if (!statfs(sharedir, &sf)) {
		switch ((unsigned long)sf.f_type) {
		case 0xEF53: snprintf(M.fs, sizeof(M.fs), "ext4"); break;
		case 0x58465342: snprintf(M.fs, sizeof(M.fs), "xfs"); break;
		case 0x9123683E: snprintf(M.fs, sizeof(M.fs), "btrfs"); break;
		case 0x01021994: snprintf(M.fs, sizeof(M.fs), "tmpfs"); break;
		default:
			snprintf(M.fs, sizeof(M.fs), "0x%lx",
				 (unsigned long)sf.f_type);
		}
	}
	strftime(M.date, sizeof(M.date), "%Y-%m-%d", gmtime(&now));
	strftime(M.start_iso, sizeof(M.start_iso), "%Y-%m-%dT%H:%M:%SZ",
		 gmtime(&now));
	read_load(M.load_start);
}

/* ---------------- output ---------------- */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, double v)
{
	if (isnan(v))
		fputs("null", f);
	else
		fprintf(f, "%.6g", v);
}

static void json_stats(FILE *f, struct stats s)
{
	fputs("{\"median\": ", f);
	json_num(f, s.med);
	fputs(", \"min\": ", f);
	json_num(f, s.min);
	fputs(", \"max\": ", f);
	json_num(f, s.max);
	fprintf(f, ", \"n\": %d}", s.n);
}

/* Is the cell (w, t, b) to be reported? */
bool cell_shown(size_t w, int t, size_t b)
{
	const struct backend *be = &backends[b];

	if (!be->up || !wl_enabled(&workloads[w]))
		return false;
	if (be->external)
		return t == 0 && stats_of(results[w][t][b], P.reps).n > 0;
	return !cell_na(be, &workloads[w]) || *cell_na(be, &workloads[w]);
}

static void json_ratio(FILE *f, bool *first, size_t w, int t,
		       struct backend *a, struct backend *c, double target)
{
	struct stats s = ratio_of(w, t, a - backends, c - backends);

	if (!s.n)
		return;
	fprintf(f, "%s    {\"workload\": \"%s\", \"threads\": %d, "
		   "\"ratio\": \"%s/%s\", ",
		*first ? "" : ",\n", workloads[w].id, P.threads[t], a->name,
		c->name);
	if (target > 0)
		fprintf(f, "\"target\": %g, ", target);
	fputs("\"stats\": ", f);
	json_stats(f, s);
	fputs("}", f);
	*first = false;
}

/* A cell of the throughput tables: " median [min–max] |". */
static void md_spread(FILE *f, struct stats s)
{
	char a[32], b[32], c[32];

	fprintf(f, " %s [%s–%s] |", human(s.med, a, sizeof(a)),
		human(s.min, b, sizeof(b)), human(s.max, c, sizeof(c)));
}

/* " 1.23 [0.9–1.4] |" or " n/a |"; returns the stats. */
static struct stats md_ratio(FILE *f, size_t w, int t, const char *num,
			     const char *den, double target)
{
	struct backend *x = backend_by_name(num), *y = backend_by_name(den);
	struct stats s = { 0, NAN, NAN, NAN };

	if (x && y && x->up && y->up && cell_shown(w, t, x - backends) &&
	    cell_shown(w, t, y - backends))
		s = ratio_of(w, t, x - backends, y - backends);
	if (!s.n) {
		fprintf(f, " |");
		return s;
	}
	if (target > 0 && s.med < target)
		fprintf(f, " **%.2f** [%.2f–%.2f] |", s.med, s.min, s.max);
	else
		fprintf(f, " %.2f [%.2f–%.2f] |", s.med, s.min, s.max);
	return s;
}

/*
 * A target's row. With @local (the issue 13 table), one more column: the
 * same ratio with local I/O in the measured column's place, for rows where
 * a copy from the page cache bounds both (n = 0: "–"). A goal above it is
 * beyond this machine, and the verdict says so.
 */
static void md_target_row(FILE *f, const char *what, struct stats s,
			  double target, bool at_most, const struct stats *local)
{
	const char *verdict, *beyond = "";
	char col[48] = "";

	if (!s.n)
		verdict = "not measured";
	else if (at_most ? s.med <= target : s.med >= target)
		verdict = (at_most ? s.max <= target : s.min >= target)
				  ? "**met**"
				  : "met (median; not in every run)";
	else
		verdict = (at_most ? s.min <= target : s.max >= target)
				  ? "**missed** (median; some runs reach it)"
				  : "**missed**";
	if (local) {
		if (local->n)
			fmt(col, sizeof(col), " %.2f |", local->med);
		else
			fmt(col, sizeof(col), " – |");
		if (s.n && local->n && !at_most && s.med < target &&
		    local->med < target)
			beyond = "; beyond local I/O here";
	}
	if (s.n)
		fprintf(f, "| %s | %.2f [%.2f–%.2f] |%s %s%.2g | %s%s |\n", what,
			s.med, s.min, s.max, col, at_most ? "≤ " : "≥ ", target,
			verdict, beyond);
	else
		fprintf(f, "| %s | n/a |%s %s%.2g | %s |\n", what, col,
			at_most ? "≤ " : "≥ ", target, verdict);
}

static void md_target(FILE *f, const char *what, struct stats s,
		      double target, bool at_most)
{
	md_target_row(f, what, s, target, at_most, NULL);
}

/* ---------------- issue 13: DAX under pressure ---------------- */

static const char *const pressure_ids[] = { "randread", "ws2x", "ws4x",
					    "ws8x", "wsseq8x", "wsseq8x-2m" };

/* Per 1000 operations of the dax column's cell: "a / b / c / d / e". */
static void md_counters(FILE *f, int w, int t)
{
	const struct vdax_stats *d = &daxdelta[w][t];
	double ops = (double)(d->hits + d->bypasses + d->misses) -
		     (double)d->readaheads;

	if (!d->window_size || ops <= 0) {
		fprintf(f, " | | | | |");
		return;
	}
	fprintf(f, " %.1f | %.1f | %.1f | %.1f | %.1f |",
		1000.0 * d->misses / ops, 1000.0 * d->admissions / ops,
		1000.0 * d->bypasses / ops, 1000.0 * d->ghost_hits / ops,
		1000.0 * d->readaheads / ops);
}

static struct stats col_ratio(int w, int t, const char *a, const char *b)
{
	struct backend *x = backend_by_name(a), *y = backend_by_name(b);
	struct stats none = { 0, NAN, NAN, NAN };

	if (w < 0 || !x || !y || !x->up || !y->up)
		return none;
	return ratio_of(w, t, x - backends, y - backends);
}

/* A ratio of two single figures, as a stats of one. */
static struct stats one(double v)
{
	struct stats s = { 0, NAN, NAN, NAN };

	if (!isnan(v)) {
		s.n = 1;
		s.med = s.min = s.max = v;
	}
	return s;
}

static void md_pressure(FILE *f)
{
	const struct stats none = { 0, NAN, NAN, NAN };
	int nt = nthreads_count();
	char a[32], b[32], c[32], d[32];

	fprintf(f, "\n### DAX under pressure: cold files, working sets larger "
		   "than the window, threads (issue 13)\n\n");
	if (cat_ran) {
		int lo = cat_find("local"), nd = cat_find("nodax");

		fprintf(f, "**Cold whole-process `vdax cat`** of a 256 MiB file "
			   "in the host page cache, a fresh vdaxd "
			   "`--cache-size=64M` per run (so every mapping is made "
			   "in the run), wall time of the whole process, best of "
			   "%d, variants interleaved:\n\n"
			   "| variant | best ms | runs (ms) | vs no DAX | vs local "
			   "`cat` | host folios 4K/large/2M %% | ranges set up | "
			   "admitted | bypassed | read ahead | direct reclaims |\n"
			   "|---|---:|---|---:|---:|---|---:|---:|---:|---:|---:|\n",
			CAT_REPS);
		for (size_t v = 0; v < NCAT; v++) {
			const struct cat_result *r = &cat_res[v];
			double best = cat_best(v);
			char runs[96] = "";
			int len = 0;

			for (int k = 0; k < CAT_REPS; k++)
				if (!isnan(r->ms[k]))
					len += snprintf(runs + len,
							sizeof(runs) - len,
							"%s%.0f", len ? ", " : "",
							r->ms[k]);
			int vl = cat_find(cat_variants[v].local);
			char vsnd[16] = "–";

			/* no DAX is measured on ws.bin only */
			if (!strcmp(cat_variants[v].file, "ws.bin"))
				snprintf(vsnd, sizeof(vsnd), "%.2f",
					 cat_best(nd) / best);
			int bk = cat_best_rep(v);
			char mix[32] = "?";

			if (bk >= 0 && !isnan(r->folios[bk][0]))
				snprintf(mix, sizeof(mix), "%.0f/%.0f/%.0f",
					 100 * r->folios[bk][0],
					 100 * r->folios[bk][1],
					 100 * r->folios[bk][2]);
			fprintf(f, "| %s | %.0f | %s | %s | %.2f | %s |",
				cat_variants[v].desc, best, runs, vsnd,
				cat_best(vl < 0 ? lo : vl) / best, mix);
			if (cat_variants[v].options && strstr(cat_variants[v].options, "always"))
				fprintf(f, " %" PRIu64 " | %" PRIu64 " | %" PRIu64
					   " | %" PRIu64 " | %" PRIu64 " |\n",
					r->misses, r->admissions, r->bypasses,
					r->readaheads, r->direct);
			else
				fprintf(f, " | | | | |\n");
			if (r->why[0])
				fprintf(f, "| (%s: %s) | | | | | | | | | | |\n",
					cat_variants[v].name, r->why);
		}
		fprintf(f, "\n(\"vs\" columns: how many times faster than "
			   "that variant; > 1 is faster. The ws2m.bin rows are "
			   "compared with local `cat` of ws2m.bin: how the host "
			   "caches a file decides how DAX maps it, see "
			   "docs/dax.md. \"Host folios\": the shares of the "
			   "file's pages the host page cache held in 4 KiB "
			   "folios, in larger ones below 2 MiB and in 2 MiB ones "
			   "just before the best run (/proc/kpageflags); "
			   "`read(2)` gains from every large folio, a DAX "
			   "mapping only from 2 MiB ones, so the ratio against "
			   "local `cat` moves with them: bench/notes.md.)\n\n");
	}
	fprintf(f, "**Random reads over a working set larger than the window, "
		   "and a stream through it**: the dax column's second session "
		   "(window %zu MiB; the 4 KiB random read row uses the "
		   "%zu MiB window, in which the 64 MiB file fits). DAX "
		   "counters per 1000 operations of the dax cell: ranges set "
		   "up (FUSE_SETUPMAPPING), admitted by the policy, bypassed "
		   "(served by FUSE_READ), ghost hits, read ahead.\n\n"
		   "| row | thr | local | dax | vdaxd (no DAX) | dax/vdaxd | "
		   "dax/local | set up | admitted | bypassed | ghost hits | "
		   "read ahead |\n"
		   "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
		P.ws_window / MIB, P.window / MIB);
	for (size_t k = 0; k < ARRAY_SIZE(pressure_ids); k++) {
		int w = find_wl(pressure_ids[k]);

		if (w < 0)
			continue;
		for (int t = 0; t < nt; t++) {
			struct stats r1 = col_ratio(w, t, "dax", "vdaxd");
			struct stats r2 = col_ratio(w, t, "dax", "local");

			fprintf(f, "| %s | %d |", workloads[w].title,
				P.threads[t]);
			for (size_t i = 0; i < NBACKENDS; i++) {
				const char *nm = backends[i].name;
				struct stats s;

				if (strcmp(nm, "local") && strcmp(nm, "dax") &&
				    strcmp(nm, "vdaxd"))
					continue;
				if (!backends[i].up) {
					fprintf(f, " – |");
					continue;
				}
				s = stats_of(results[w][t][i], P.reps);
				fprintf(f, " %s %s |", human(s.med, a, sizeof(a)),
					workloads[w].unit);
			}
			fprintf(f, " %s [%s–%s] | %s |",
				human(r1.med, a, sizeof(a)),
				human(r1.min, b, sizeof(b)),
				human(r1.max, c, sizeof(c)),
				human(r2.med, d, sizeof(d)));
			md_counters(f, w, t);
			fprintf(f, "\n");
		}
	}

	fprintf(f, "\n**Targets of issue 13** (median of the per-run ratios; "
		   "the cold cat: best of %d). \"local\" is the same ratio "
		   "with local I/O (the host's own `cat`, `pread()`) in DAX's "
		   "place: where both are one copy out of the page cache, as "
		   "in the 1 MiB streams and the cold cat, DAX cannot go "
		   "beyond it.\n\n"
		   "| target | measured | local | goal | verdict |\n"
		   "|---|---:|---:|---:|---|\n",
		CAT_REPS);
	if (cat_ran) {
		int dx = cat_find("dax"), nd = cat_find("nodax"),
		    lo = cat_find("local");
		struct stats lo_nd = one(cat_best(nd) / cat_best(lo));

		md_target_row(f, "cold `vdax cat` 256 MiB, 64 MiB window: DAX / no DAX (speed)",
			      one(cat_best(nd) / cat_best(dx)), 3, false, &lo_nd);
		md_target_row(f, "cold `vdax cat` 256 MiB, 64 MiB window: DAX / local `cat` (speed)",
			      one(cat_best(lo) / cat_best(dx)), 0.8, false, &none);
	}
	for (int t = 0; t < nt; t++) {
		static const char *const ws[] = { "ws2x", "ws4x", "ws8x" };
		static const char *const seq[] = { "wsseq8x", "wsseq8x-2m" };
		char what[160];

		for (size_t k = 0; k < ARRAY_SIZE(ws); k++) {
			int w = find_wl(ws[k]);
			struct stats lo;

			if (w < 0)
				continue;
			lo = col_ratio(w, t, "local", "vdaxd");
			fmt(what, sizeof(what), "4 KiB random read, working set %gx window, %d thr: DAX / no DAX",
			    workloads[w].ws, P.threads[t]);
			md_target_row(f, what, col_ratio(w, t, "dax", "vdaxd"), 1, false, &lo);
		}
		fmt(what, sizeof(what), "4 KiB random read in the window, %d thr: DAX / local pread",
		    P.threads[t]);
		md_target_row(f, what, col_ratio(find_wl("randread"), t, "dax", "local"), 1, false, &none);
		for (size_t k = 0; k < ARRAY_SIZE(seq); k++) {
			int w = find_wl(seq[k]);
			struct stats lo = col_ratio(w, t, "local", "vdaxd");

			if (k)
				fmt(what, sizeof(what), "(the same, the file cached in 2 MiB folios, %d thr: DAX / no DAX)",
				    P.threads[t]);
			else
				fmt(what, sizeof(what), "1 MiB sequential read of a file 8x the window, %d thr: DAX / no DAX",
				    P.threads[t]);
			md_target_row(f, what, col_ratio(w, t, "dax", "vdaxd"), 3, false, &lo);
		}
	}
}

/* The cold cat runs, for the JSON file. */
static void json_cat(FILE *f)
{
	fprintf(f, ",\n  \"cold_cat\": [");
	for (size_t v = 0; cat_ran && v < NCAT; v++) {
		fprintf(f, "%s\n    {\"variant\": \"%s\", \"options\": ",
			v ? "," : "", cat_variants[v].name);
		json_str(f, cat_variants[v].options ? cat_variants[v].options : "");
		fprintf(f, ", \"window\": %zu, \"file\": %zu, \"path\": ",
			(size_t)CAT_WINDOW, 8 * P.ws_window);
		json_str(f, cat_variants[v].file);
		fprintf(f, ", \"ms\": [");
		for (int k = 0; k < CAT_REPS; k++) {
			fprintf(f, "%s", k ? ", " : "");
			json_num(f, cat_res[v].ms[k]);
		}
		fprintf(f, "], \"folios\": [");
		for (int k = 0; k < CAT_REPS; k++) {
			fprintf(f, "%s[", k ? ", " : "");
			for (int j = 0; j < 3; j++) {
				fprintf(f, "%s", j ? ", " : "");
				json_num(f, cat_res[v].folios[k][j]);
			}
			fprintf(f, "]");
		}
		fprintf(f, "], \"misses\": %" PRIu64 ", \"admissions\": %" PRIu64
			   ", \"bypasses\": %" PRIu64 ", \"readaheads\": %" PRIu64
			   ", \"direct_reclaims\": %" PRIu64 "}",
			cat_res[v].misses, cat_res[v].admissions,
			cat_res[v].bypasses, cat_res[v].readaheads,
			cat_res[v].direct);
	}
	fprintf(f, "\n  ]");
}

/* ---------------- the JSON file and the report ---------------- */

void write_json(const char *path)
{
	int nt = nthreads_count();
	FILE *f = fopen(path, "w");
	struct backend *lo = backend_by_name("local");
	bool first = true;

	if (!f)
		die("cannot write %s: %s", path, strerror(errno));
	fprintf(f, "{\n  \"tool\": \"vdax-bench\",\n  \"date\": ");
	json_str(f, M.start_iso);
	fprintf(f, ",\n  \"machine\": {\"cpu\": ");
	json_str(f, M.cpu);
	fprintf(f, ", \"cores\": %ld, \"kernel\": ", M.cores);
	json_str(f, M.kernel);
	fprintf(f, ", \"host\": ");
	json_str(f, M.host);
	fprintf(f, ", \"fs\": ");
	json_str(f, M.fs);
	fprintf(f, ", \"loadavg_start\": [%.2f, %.2f, %.2f]"
		   ", \"loadavg_end\": [%.2f, %.2f, %.2f]},\n",
		M.load_start[0], M.load_start[1], M.load_start[2],
		M.load_end[0], M.load_end[1], M.load_end[2]);
	fprintf(f, "  \"params\": {\"duration_s\": %g, \"reps\": %d, "
		   "\"slices\": %d, \"file_size\": %zu, \"dir_entries\": %u, "
		   "\"tree_files\": %u, \"queues\": %u, \"window\": %zu, "
		   "\"ws_window\": %zu, \"dir\": ",
		P.duration, P.reps, P.slices, P.file_size, P.dir_entries,
		P.tree_files, P.queues, P.window, P.ws_window);
	json_str(f, sharedir);
	fprintf(f, "},\n  \"backends\": [\n");
	for (size_t b = 0; b < NBACKENDS; b++) {
		struct backend *be = &backends[b];

		if (!be->enabled)
			continue;
		fprintf(f, "%s    {\"name\": ", first ? "" : ",\n");
		first = false;
		json_str(f, be->name);
		fprintf(f, ", \"desc\": ");
		json_str(f, be->desc);
		fprintf(f, ", \"up\": %s, \"why\": ", be->up ? "true" : "false");
		json_str(f, be->why);
		fprintf(f, ", \"version\": ");
		json_str(f, be->version);
		fprintf(f, ", \"options\": ");
		json_str(f, be->vdax_options ? be->vdax_options : "");
		fprintf(f, ", \"queues\": %u, \"max_write\": %zu, "
			   "\"cache_size\": %zu}",
			be->queues, be->max_write, be->cache_size);
	}
	fprintf(f, "\n  ],\n  \"workloads\": [\n");
	first = true;
	for (size_t w = 0; w < NWORKLOADS; w++) {
		if (!wl_enabled(&workloads[w]))
			continue;
		fprintf(f, "%s    {\"id\": \"%s\", \"title\": ", first ? "" : ",\n",
			workloads[w].id);
		first = false;
		json_str(f, workloads[w].title);
		fprintf(f, ", \"unit\": \"%s\", \"ws_ratio\": %g, \"what\": ",
			workloads[w].unit, workloads[w].ws);
		json_str(f, workloads[w].what);
		fputs("}", f);
	}
	fprintf(f, "\n  ],\n  \"results\": [\n");
	first = true;
	for (size_t w = 0; w < NWORKLOADS; w++) {
		for (int t = 0; t < nt; t++) {
			for (size_t b = 0; b < NBACKENDS; b++) {
				const char *na = cell_na(&backends[b],
							 &workloads[w]);

				if (!cell_shown(w, t, b))
					continue;
				fprintf(f, "%s    {\"workload\": \"%s\", "
					   "\"threads\": %d, \"backend\": ",
					first ? "" : ",\n", workloads[w].id,
					P.threads[t]);
				first = false;
				json_str(f, backends[b].name);
				fprintf(f, ", \"unit\": \"%s\", ",
					workloads[w].unit);
				if (na && !backends[b].external) {
					fputs("\"na\": ", f);
					json_str(f, na);
					fputs("}", f);
					continue;
				}
				fputs("\"runs\": [", f);
				for (int r = 0; r < P.reps; r++) {
					fputs(r ? ", " : "", f);
					json_num(f, results[w][t][b][r]);
				}
				fputs("], \"stats\": ", f);
				json_stats(f, stats_of(results[w][t][b],
						       P.reps));
				fputs(", \"error\": ", f);
				json_str(f, failures[w][t][b]);
				fputs("}", f);
			}
		}
	}
	fprintf(f, "\n  ],\n  \"ratios\": [\n");
	first = true;
	for (size_t w = 0; w < NWORKLOADS; w++) {
		if (!wl_enabled(&workloads[w]))
			continue;
		for (int t = 0; t < nt; t++) {
			for (size_t b = 0; b < NBACKENDS; b++) {
				if (!lo || !lo->up || lo == &backends[b] ||
				    backends[b].external || !backends[b].up)
					continue;
				json_ratio(f, &first, w, t, &backends[b], lo, 0);
			}
			for (size_t p = 0; p < ARRAY_SIZE(pairs); p++) {
				struct backend *a = backend_by_name(pairs[p].num);
				struct backend *c = backend_by_name(pairs[p].den);

				if (a && c && a->up && c->up)
					json_ratio(f, &first, w, t, a, c,
						   pairs[p].target);
			}
		}
	}
	fprintf(f, "\n  ],\n  \"dax_counters\": [\n");
	first = true;
	for (size_t w = 0; w < NWORKLOADS; w++) {
		for (int t = 0; t < nt; t++) {
			const struct vdax_stats *d = &daxdelta[w][t];

			if (!d->window_size)
				continue;
			fprintf(f, "%s    {\"workload\": \"%s\", \"threads\": %d, "
				   "\"window_size\": %" PRIu64 ", "
				   "\"setup_mappings\": %" PRIu64 ", "
				   "\"remove_mappings\": %" PRIu64 ", "
				   "\"remove_requests\": %" PRIu64 ", "
				   "\"upgrades\": %" PRIu64 ", "
				   "\"bg_reclaims\": %" PRIu64 ", "
				   "\"direct_reclaims\": %" PRIu64 ", "
				   "\"waits\": %" PRIu64 ", \"hits\": %" PRIu64
				   ", \"misses\": %" PRIu64 ", \"faults\": %"
				   PRIu64 ", \"admissions\": %" PRIu64
				   ", \"bypasses\": %" PRIu64
				   ", \"ghost_hits\": %" PRIu64
				   ", \"readaheads\": %" PRIu64
				   ", \"admit_margin\": %" PRIu64 "}",
				first ? "" : ",\n", workloads[w].id,
				P.threads[t], d->window_size, d->setup_mappings,
				d->remove_mappings, d->remove_requests,
				d->upgrades, d->bg_reclaims, d->direct_reclaims,
				d->waits, d->hits, d->misses, d->faults,
				d->admissions, d->bypasses, d->ghost_hits,
				d->readaheads, d->admit_margin);
			first = false;
		}
	}
	fprintf(f, "\n  ]");
	json_cat(f);
	fprintf(f, "\n}\n");
	if (fclose(f))
		die("write %s: %s", path, strerror(errno));
}

void write_markdown(FILE *f)
{
	int nt = nthreads_count();
	struct backend *lo = backend_by_name("local");
	size_t nb = NBACKENDS;
	int vmet = 0, vmissed = 0, vnoise = 0;

	fprintf(f, "Run of %s (UTC) on %s: %s, %ld cores, %s; the directory "
		   "is on %s. Load average %.2f at the start, %.2f at the end.\n\n",
		M.start_iso, M.host, M.cpu, M.cores, M.kernel, M.fs,
		M.load_start[0], M.load_end[0]);
	fprintf(f, "Each host figure: median of %d runs of %.2f s, [min–max]; "
		   "a run is %d slices, the columns alternating slice by slice "
		   "(order rotating). Ratios: median of the per-run ratios, "
		   "[min–max]. DAX windows: %zu MiB (dax, mnt-dax), %zu MiB "
		   "(the working-set rows of dax). %u request queues for vdaxd.\n\n",
		P.reps, P.duration, P.slices, P.window / MIB, P.ws_window / MIB,
		P.queues);
	fprintf(f, "Columns:\n\n");
	for (size_t i = 0; i < nb; i++) {
		struct backend *be = &backends[i];

		if (!be->enabled)
			continue;
		if (be->up)
			fprintf(f, "- **%s**: %s — %s", be->name, be->desc,
				be->version);
		else
			fprintf(f, "- **%s**: not measured: %s", be->name,
				be->why);
		if (be->up && be->vdax_options)
			fprintf(f, "; options `%s`", be->vdax_options);
		if (be->up && be->vd)
			fprintf(f, "; %u request queue(s), max_write %zu KiB",
				be->queues, be->max_write / KIB);
		fprintf(f, "\n");
	}
	fprintf(f, "\nRows (host columns: 1 and 4 threads; the data files are "
		   "filled before the run and sit in the host page cache):\n\n");
	for (size_t w = 0; w < NWORKLOADS; w++)
		if (wl_enabled(&workloads[w]) && !workloads[w].sweep_only)
			fprintf(f, "- **%s** (%s): %s\n", workloads[w].title,
				workloads[w].unit, workloads[w].what);

	/* 1. absolute figures */
	fprintf(f, "\n### Throughput (median [min–max])\n\n| workload | thr | unit |");
	for (size_t i = 0; i < nb; i++)
		if (backends[i].up)
			fprintf(f, " %s |", backends[i].name);
	fprintf(f, "\n|---|---:|---|");
	for (size_t i = 0; i < nb; i++)
		if (backends[i].up)
			fprintf(f, "---:|");
	fprintf(f, "\n");
	for (size_t w = 0; w < NWORKLOADS; w++) {
		if (!wl_enabled(&workloads[w]) || workloads[w].sweep_only)
			continue;
		for (int t = 0; t < nt; t++) {
			fprintf(f, "| %s | %d | %s |", workloads[w].title,
				P.threads[t], workloads[w].unit);
			for (size_t i = 0; i < nb; i++) {
				const char *na = cell_na(&backends[i], &workloads[w]);
				struct stats s;

				if (!backends[i].up)
					continue;
				s = stats_of(results[w][t][i], P.reps);
				if (backends[i].external && (t || !s.n))
					fprintf(f, " – |");
				else if (na && !backends[i].external)
					fprintf(f, " n/a |");
				else if (failures[w][t][i][0] && s.n < P.reps)
					fprintf(f, " failed: %s |",
						failures[w][t][i]);
				else
					md_spread(f, s);
			}
			fprintf(f, "\n");
		}
	}
	fprintf(f, "\nn/a: the mmap rows on libvdax without DAX (vdaxd, "
		   "virtiofsd): libvdax maps files only through a DAX window. "
		   "–: the guest columns have one vCPU and their own workloads "
		   "(see the guest section).\n");

	/* 2. ratios */
	fprintf(f, "\n### Ratios vs the local limit and vs QEMU's virtiofsd "
		   "(median [min–max] of per-run ratios; bold: below the "
		   "target 1)\n\n| workload | thr |");
	for (size_t i = 0; i < nb; i++)
		if (backends[i].up && !backends[i].external && lo && lo->up &&
		    &backends[i] != lo)
			fprintf(f, " %s/local |", backends[i].name);
	for (size_t p = 0; p < ARRAY_SIZE(pairs); p++)
		fprintf(f, " %s/%s |", pairs[p].num, pairs[p].den);
	fprintf(f, "\n|---|---:|");
	for (size_t i = 0; i < nb; i++)
		if (backends[i].up && !backends[i].external && lo && lo->up &&
		    &backends[i] != lo)
			fprintf(f, "---:|");
	for (size_t p = 0; p < ARRAY_SIZE(pairs); p++)
		fprintf(f, "---:|");
	fprintf(f, "\n");
	for (size_t w = 0; w < NWORKLOADS; w++) {
		if (!wl_enabled(&workloads[w]) || workloads[w].sweep_only)
			continue;
		for (int t = 0; t < nt; t++) {
			fprintf(f, "| %s | %d |", workloads[w].title,
				P.threads[t]);
			for (size_t i = 0; i < nb; i++) {
				if (!backends[i].up || backends[i].external ||
				    !lo || !lo->up || &backends[i] == lo)
					continue;
				md_ratio(f, w, t, backends[i].name, "local", 0);
			}
			for (size_t p = 0; p < ARRAY_SIZE(pairs); p++) {
				struct stats s = md_ratio(f, w, t, pairs[p].num,
							  pairs[p].den,
							  pairs[p].target);

				if (strcmp(pairs[p].num, "vdaxd") || !s.n)
					continue;
				if (s.med >= 1)
					vmet++;
				else if (s.max >= 1)
					vnoise++;
				else
					vmissed++;
			}
			fprintf(f, "\n");
		}
	}
	fprintf(f, "\nvdaxd/virtiofsd >= 1 (libvdax without DAX on both): met "
		   "on %d rows; below on %d rows where some run reached it; "
		   "below in every run on %d rows.\n", vmet, vnoise, vmissed);

	/* 3. the working-set sweep */
	fprintf(f, "\n### 4 KiB random reads vs working set / DAX window "
		   "(window %zu MiB for dax)\n\n| working set | thr |",
		P.ws_window / MIB);
	for (size_t i = 0; i < nb; i++)
		if (backends[i].up && backends[i].sweep)
			fprintf(f, " %s IOPS |", backends[i].name);
	fprintf(f, " dax/local | dax/vdaxd | dax setups per 1000 window lookups |\n|---|---:|");
	for (size_t i = 0; i < nb; i++)
		if (backends[i].up && backends[i].sweep)
			fprintf(f, "---:|");
	fprintf(f, "---:|---:|---:|\n");
	for (int t = 0; t < nt; t++) {
		for (size_t k = 0; k < ARRAY_SIZE(sweep_ids); k++) {
			int w = find_wl(sweep_ids[k]);
			struct backend *dx = backend_by_name("dax");
			double reads;

			if (w < 0)
				continue;
			fprintf(f, "| %g x (%zu MiB) | %d |", workloads[w].ws,
				wl_span(&workloads[w]) / MIB, P.threads[t]);
			for (size_t i = 0; i < nb; i++) {
				if (!backends[i].up || !backends[i].sweep)
					continue;
				md_spread(f, stats_of(results[w][t][i], P.reps));
			}
			md_ratio(f, w, t, "dax", "local", 0);
			md_ratio(f, w, t, "dax", "vdaxd", 0);
			reads = daxdelta[w][t].hits + daxdelta[w][t].misses;
			if (dx && dx->up && reads > 0)
				fprintf(f, " %.1f |\n",
					1000.0 * daxdelta[w][t].misses / reads);
			else
				fprintf(f, " |\n");
		}
	}

	md_pressure(f);

	/* 4. targets */
	fprintf(f, "\n### Targets\n\n| target | measured | goal | verdict |\n"
		   "|---|---:|---:|---|\n");
	for (int t = 0; t < nt; t++) {
		char what[160];
		int w;
		struct backend *dx = backend_by_name("dax");
		struct backend *vd = backend_by_name("vdaxd");
		struct stats none = { 0, NAN, NAN, NAN };

		if ((w = find_wl("randread")) >= 0) {
			fmt(what, sizeof(what), "DAX 4 KiB random read / local pread, %d thr", P.threads[t]);
			md_target(f, what, dx && lo && dx->up && lo->up ? ratio_of(w, t, dx - backends, lo - backends) : none, 1, false);
			fmt(what, sizeof(what), "DAX 4 KiB random read / non-DAX, %d thr", P.threads[t]);
			md_target(f, what, dx && vd && dx->up && vd->up ? ratio_of(w, t, dx - backends, vd - backends) : none, 10, false);
		}
		if ((w = find_wl("seqread")) >= 0) {
			fmt(what, sizeof(what), "DAX 1 MiB sequential read / non-DAX, %d thr", P.threads[t]);
			md_target(f, what, dx && vd && dx->up && vd->up ? ratio_of(w, t, dx - backends, vd - backends) : none, 3, false);
		}
		{
			int w8 = find_wl("ws8x"), w05 = find_wl("ws0.5x");

			if (w8 >= 0 && w05 >= 0 && dx && dx->up) {
				fmt(what, sizeof(what), "DAX in-window (0.5x) / 8x-window random read throughput, %d thr", P.threads[t]);
				md_target(f, what, cells_ratio(w05, dx - backends, w8, dx - backends, t), 3, true);
			}
		}
	}
	fprintf(f, "| vdaxd ≥ virtiofsd on every row | %d of %d rows (median) | all | %s |\n",
		vmet, vmet + vnoise + vmissed,
		vmet == vmet + vnoise + vmissed ? "**met**" : "**missed** on some rows, see the ratio table");
}
