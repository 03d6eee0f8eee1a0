// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vdax-bench: libvdax on vdaxd against libvdax on QEMU's virtiofsd, with
 * local syscalls on the same directory as the limit.
 *
 * One program, one run: every backend (a column) serves the same
 * directory; every workload (a row) runs on every backend, interleaved per
 * repetition (the backend order rotates each repetition) so that noise from
 * a busy machine falls on all columns alike. Each figure is the median of
 * the repetitions, each a fixed time, with the min/max spread; ratios
 * between columns are the medians of the per-repetition ratios.
 *
 * Output: a JSON file with every raw number and the machine, a Markdown
 * report (stdout, or --md FILE), and one progress line per cell on stderr.
 *
 * This file: the command line and the run; bench.h says where the rest is.
 */
#include "bench.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vdax-bench [OPTION]...\n"
		"Throughput of local syscalls, libvdax on vdaxd and libvdax on\n"
		"QEMU's virtiofsd, side by side on the same directory.\n\n"
		"  --vdaxd=PATH        vdaxd executable [%s]\n"
		"  --virtiofsd=PATH    QEMU's virtiofsd [/usr/lib/qemu/virtiofsd]\n"
		"  --rust=PATH         the Rust virtiofsd, for the rust column\n"
		"  --dir=DIR           shared directory (default: a new one under\n"
		"                      $TMPDIR or /var/tmp, removed at the end)\n"
		"  --duration=SEC      seconds per measurement [0.5]\n"
		"  --reps=N            measured repetitions [5]\n"
		"  --slices=N          a run of a column is N slices, the columns\n"
		"                      alternating slice by slice [5]\n"
		"  --threads=N[,N]     thread counts [1,4]\n"
		"  --queues=N          request queues for vdaxd [online CPUs, max 4]\n"
		"  --only=A,B          columns [local,dax,vdaxd,virtiofsd,mnt-dax,mnt];\n"
		"                      also vdaxd-1q, rust (with --rust)\n"
		"  --workloads=A,B     randread,randwrite,seqread,seqwrite,mmapread,\n"
		"                      mmapwrite,meta,readdir,walk,ws8x,ws0.5x,...\n"
		"  --json=FILE         raw results [bench/results/DATE.json in cwd]\n"
		"  --md=FILE           Markdown report [stdout]\n"
		"  --quick             1 run of 0.2 s (a smoke test)\n"
		"  --vdax=PATH         the vdax command, for the mount columns\n"
		"  --window=MIB        DAX window of the dax columns [256]\n"
		"  --ws-window=MIB     DAX window of the working-set rows [32]\n"
		"  --guest=FILE        merge bench/guest/run.sh --raw results\n"
		"  --plots=DIR         write gnuplot data and DIR/plots.gp\n"
		"  -h, --help\n",
		*VDAX_BENCH_VDAXD ? VDAX_BENCH_VDAXD : "none built");
}

static void parse_args(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "vdaxd", required_argument, NULL, 'V' },
		{ "virtiofsd", required_argument, NULL, 'Q' },
		{ "dir", required_argument, NULL, 'D' },
		{ "duration", required_argument, NULL, 't' },
		{ "reps", required_argument, NULL, 'r' },
		{ "slices", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 'T' },
		{ "queues", required_argument, NULL, 'q' },
		{ "only", required_argument, NULL, 'o' },
		{ "workloads", required_argument, NULL, 'w' },
		{ "json", required_argument, NULL, 'j' },
		{ "md", required_argument, NULL, 'm' },
		{ "quick", no_argument, NULL, 'k' },
		{ "vdax", required_argument, NULL, 'X' },
		{ "guest", required_argument, NULL, 'G' },
		{ "plots", required_argument, NULL, 'P' },
		{ "window", required_argument, NULL, 'W' },
		{ "ws-window", required_argument, NULL, 'S' },
		{ "rust", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	P.vdaxd = VDAX_BENCH_VDAXD;
	P.vdax_tool = VDAX_BENCH_VDAX;
	P.virtiofsd = "/usr/lib/qemu/virtiofsd";
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'V': P.vdaxd = optarg; break;
		case 'Q': P.virtiofsd = optarg; break;
		case 'R': P.rust = optarg; break;
		case 'D': P.dir = optarg; break;
		case 't':
			P.duration = strtod(optarg, &end);
			if (*end || !(P.duration > 0 && P.duration <= 60))
				die("--duration: 0 < SEC <= 60");
			break;
		case 'r':
			P.reps = atoi(optarg);
			if (P.reps < 1 || P.reps > MAX_REPS)
				die("--reps: 1..%d", MAX_REPS);
			break;
		case 's':
			P.slices = atoi(optarg);
			if (P.slices < 1 || P.slices > 100)
				die("--slices: 1..100");
			break;
		case 'T': {
			int n = 0;

			for (char *s = optarg; *s && n < 3;) {
				long v = strtol(s, &end, 10);

				if (end == s || v < 1 || v > MAX_THREADS ||
				    (*end && *end != ','))
					die("--threads: N[,N]..., 1..%d",
					    MAX_THREADS);
				P.threads[n++] = v;
				s = *end ? end + 1 : end;
			}
			P.threads[n] = 0;
			if (!n)
				die("--threads: N[,N]...");
			break;
		}
		case 'q':
			P.queues = atoi(optarg);
			if (P.queues < 1 || P.queues > 64)
				die("--queues: 1..64");
			break;
		case 'o': P.only = optarg; break;
		case 'w': P.workloads = optarg; break;
		case 'j': P.json = optarg; break;
		case 'm': P.md = optarg; break;
		case 'k': P.reps = 1; P.duration = 0.2; P.slices = 2; break;
		case 'X': P.vdax_tool = optarg; break;
		case 'G': P.guest = optarg; break;
		case 'P': P.plots = optarg; break;
		case 'W':
		case 'S': {
			unsigned long v = strtoul(optarg, &end, 10);

			if (end == optarg || (*end && strcmp(end, "M")) || !v ||
			    v % 2 || v > 4096)
				die("--window/--ws-window: MiB, even, <= 4096");
			if (c == 'W')
				P.window = v * MIB;
			else
				P.ws_window = v * MIB;
			break;
		}
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc)
		die("unexpected argument %s", argv[optind]);
	if (!P.queues) {
		/*
		 * What a user should run: a request queue per CPU that can
		 * serve one (as the Linux driver maps queues to CPUs), never
		 * more queue threads than cores to run them; at most 4.
		 */
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		P.queues = n < 1 ? 1 : n > 4 ? 4 : (unsigned)n;
	}
}

static int rm_one(const char *path, const struct stat *st, int type,
		  struct FTW *ftw)
{
	if (remove(path) && errno != ENOENT)
		fprintf(stderr, "vdax-bench: remove %s: %s\n", path,
			strerror(errno));
	return 0;
}

static void rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* With --dir, remove only what prepare() made (the workdir goes whole). */
static void cleanup_share(void)
{
	char p[PATH_MAX + 64];

	if (!P.dir)
		return;
	fmt(p, sizeof(p), "%s/rd", sharedir);
	rm_rf(p);
	fmt(p, sizeof(p), "%s/data.bin", sharedir);
	rm_rf(p);
	fmt(p, sizeof(p), "%s/ws.bin", sharedir);
	rm_rf(p);
	fmt(p, sizeof(p), "%s/ws2m.bin", sharedir);
	rm_rf(p);
	fmt(p, sizeof(p), "%s/tree", sharedir);
	rm_rf(p);
	for (size_t b = 0; b < NBACKENDS; b++) {
		if (!backends[b].enabled)
			continue;
		fmt(p, sizeof(p), "%s/w-%s.bin", sharedir, backends[b].name);
		rm_rf(p);
		fmt(p, sizeof(p), "%s/m-%s", sharedir, backends[b].name);
		rm_rf(p);
	}
}

static void on_signal(int sig)
{
	interrupted = sig;
}


static void stats_add(struct vdax_stats *acc, const struct vdax_stats *a,
		      const struct vdax_stats *b)
{
#define D(f) acc->f += b->f - a->f
	D(setup_mappings); D(remove_mappings); D(remove_requests);
	D(upgrades); D(bg_reclaims); D(direct_reclaims); D(waits); D(hits);
	D(misses); D(faults); D(admissions); D(bypasses); D(ghost_hits);
	D(readaheads);
#undef D
	acc->admit_margin = b->admit_margin;
	acc->window_size = b->window_size;
	acc->ranges_total = b->ranges_total;
}

/*
 * Guest results (bench/guest/run.sh --raw): "COLUMN WORKLOAD REP VALUE"
 * lines, one thread, VALUE in the row's unit.
 */
static void load_guest(const char *path)
{
	char col[64], wid[64];
	double v;
	int rep;
	FILE *f = fopen(path, "r");

	if (!f) {
		fprintf(stderr, "vdax-bench: %s: %s (no guest columns)\n", path,
			strerror(errno));
		return;
	}
	while (fscanf(f, "%63s %63s %d %lf", col, wid, &rep, &v) == 4) {
		struct backend *be = backend_by_name(col);

		if (!be || !be->external || rep < 1 || rep > P.reps)
			continue;
		for (size_t w = 0; w < NWORKLOADS; w++) {
			if (strcmp(workloads[w].id, wid))
				continue;
			results[w][0][be - backends][rep - 1] = v;
			be->up = true;
		}
	}
	fclose(f);
	for (size_t b = 0; b < NBACKENDS; b++)
		if (backends[b].external && backends[b].up)
			snprintf(backends[b].version,
				 sizeof(backends[b].version),
				 "bench/guest/run.sh");
}



int main(int argc, char **argv)
{
	const size_t nb = NBACKENDS;
	char jsonpath[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	struct sigaction sa = { .sa_handler = on_signal };
	int nt, cells = 0, nup = 0;
	double t_start, work = 0, done = 0;

	parse_args(argc, argv);
	/*
	 * The daemons keep an O_PATH descriptor per inode the client holds;
	 * libvdax's dentry cache is unbounded, so the walk and readdir trees
	 * (30 000 files) need more than a default 20 000 (as root: raise).
	 */
	{
		struct rlimit rl;

		if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_max < 262144) {
			struct rlimit want = { 262144, 262144 };

			if (setrlimit(RLIMIT_NOFILE, &want)) {
				/* bound libvdax's cache below the limit */
				P.entries = rl.rlim_max > 8192
						    ? rl.rlim_max - 4096
						    : 4096;
				fprintf(stderr, "vdax-bench: cannot raise "
					"RLIMIT_NOFILE above %lu (%s): libvdax "
					"sessions keep at most %u dentries\n",
					(unsigned long)rl.rlim_max,
					strerror(errno), P.entries);
			}
		}
	}
	nt = nthreads_count();
	srand(12345);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	snprintf(workdir, sizeof(workdir), "%s/vdax-bench.XXXXXX",
		 tmp && *tmp ? tmp : "/var/tmp");
	if (!mkdtemp(workdir))
		die("mkdtemp %s: %s", workdir, strerror(errno));
	if (P.dir) {
		if (!realpath(P.dir, sharedir))
			die("%s: %s", P.dir, strerror(errno));
	} else {
		fmt_path(sharedir, sizeof(sharedir), "%s/share", workdir);
		if (mkdir(sharedir, 0755))
			die("mkdir %s: %s", sharedir, strerror(errno));
	}
	for (size_t b = 0; b < nb; b++) {
		struct backend *be = &backends[b];

		be->enabled = P.only ? in_list(P.only, be->name)
				     : !be->optional;
		if (be->external && !P.guest)
			be->enabled = false;
		be->dirfd = -1;
		be->pid = be->pid2 = be->fuse_pid = -1;
		if (be->queues == 4)
			be->queues = P.queues;
		if (be->cache_size == 1)
			be->cache_size = P.window;
	}
	for (size_t w = 0; w < NWORKLOADS; w++)
		for (int t = 0; t < 4; t++)
			for (size_t b = 0; b < nb; b++)
				for (int r = 0; r < MAX_REPS; r++)
					results[w][t][b][r] = NAN;
	machine_facts();
	prepare();

	for (size_t b = 0; b < nb; b++) {
		struct backend *be = &backends[b];

		if (!be->enabled || be->external)
			continue;
		be->up = be->setup(be) == 0;
		fprintf(stderr, "vdax-bench: %s: %s%s\n", be->name,
			be->up ? "up, " : "NOT MEASURED: ",
			be->up ? be->version : be->why);
		nup += be->up;
	}
	if (!nup)
		die("no backend could be set up");
	if (P.guest)
		load_guest(P.guest);

	for (size_t w = 0; w < NWORKLOADS; w++)
		if (wl_enabled(&workloads[w]))
			cells += nt;
	/* the warm-up repetition is a quarter of a measured one */
	work = cells * (P.reps + 0.25);

	/*
	 * Repetition 0 warms every path up and is not recorded. A run of a
	 * column is P.slices slices, the columns alternating slice by slice
	 * (order rotating), so that a burst of load elsewhere on the machine
	 * hits every column of a repetition nearly alike.
	 */
	t_start = now_s();
	for (int rep = 0; rep <= P.reps && !interrupted; rep++) {
		int nslices = rep ? P.slices : 1;
		double dur = rep ? P.duration / P.slices : P.duration / 4;

		for (size_t w = 0; w < NWORKLOADS && !interrupted; w++) {
			const struct workload *wl = &workloads[w];

			if (!wl_enabled(wl))
				continue;
			for (int t = 0; t < nt && !interrupted; t++) {
				double units[NBACKENDS] = { 0 };
				double secs[NBACKENDS] = { 0 };
				bool failed[NBACKENDS] = { 0 };
				char line[768], num[32];
				int len, left;
				double el;

				for (int sl = 0; sl < nslices; sl++) {
					for (size_t k = 0; k < nb; k++) {
						size_t b = (k + rep + sl) % nb;
						struct backend *be = &backends[b];
						struct vdax *sv = wl->ws > 0 && be->vd2 ? be->vd2 : be->vd;
						struct vdax_stats s0, s1;
						char what[160] = "";

						if (!be->up || failed[b] ||
						    cell_na(be, wl))
							continue;
						if (be->dax)
							vdax_get_stats(sv, &s0);
						if (measure(be, wl, P.threads[t], dur,
							    &units[b], &secs[b], what,
							    sizeof(what)) < 0) {
							fmt(failures[w][t][b],
							    sizeof(failures[w][t][b]),
							    "%s", what);
							failed[b] = true;
						}
						if (be->dax && rep &&
						    !vdax_get_stats(sv, &s1))
							stats_add(&daxdelta[w][t], &s0, &s1);
					}
				}
				len = snprintf(line, sizeof(line),
					       "[%s %d/%d] %s x%d:",
					       rep ? "rep" : "warm-up", rep,
					       P.reps, wl->title, P.threads[t]);
				for (size_t b = 0; b < nb; b++) {
					double v = failed[b] || secs[b] <= 0
							   ? NAN
							   : units[b] / secs[b];

					if (!backends[b].up || cell_na(&backends[b], wl))
						continue;
					if (rep)
						results[w][t][b][rep - 1] = v;
					/* a failure's reason goes to the log
					 * too: a scratch run keeps no report */
					len += snprintf(line + len,
							sizeof(line) - len,
							" %s %s%s%s%s", backends[b].name,
							isnan(v) ? "FAILED"
								 : human(v, num, sizeof(num)),
							failed[b] ? " (" : "",
							failed[b] ? failures[w][t][b] : "",
							failed[b] ? ")" : "");
					if (len >= (int)sizeof(line))
						len = sizeof(line) - 1;
				}
				done += rep ? 1 : 0.25;
				el = now_s() - t_start;
				left = (int)(el / done * (work - done));
				fprintf(stderr, "%s %s  (%d:%02d left)\n", line,
					wl->unit, left / 60, left % 60);
			}
		}
	}
	unmap_all();
	for (size_t b = 0; b < nb; b++)
		if (backends[b].up)
			backends[b].teardown(&backends[b]);
	/* the pseudo-row "cat": processes of their own, after the columns */
	{
		struct workload cat = { .id = "cat" };

		if (!interrupted && wl_enabled(&cat))
			cold_cat();
	}
	read_load(M.load_end);
	if (interrupted) {
		cleanup_share();
		rm_rf(workdir);
		die("interrupted");
	}

	if (P.json) {
		snprintf(jsonpath, sizeof(jsonpath), "%s", P.json);
	} else {
		mkdir("bench", 0755);
		mkdir("bench/results", 0755);
		snprintf(jsonpath, sizeof(jsonpath), "bench/results/%s.json",
			 M.date);
	}
	write_json(jsonpath);
	fprintf(stderr, "vdax-bench: raw results in %s\n", jsonpath);
	if (P.plots)
		write_plots(P.plots);
	if (P.md) {
		FILE *f = fopen(P.md, "w");

		if (!f)
			die("cannot write %s: %s", P.md, strerror(errno));
		write_markdown(f);
		if (fclose(f))
			die("write %s: %s", P.md, strerror(errno));
		fprintf(stderr, "vdax-bench: report in %s\n", P.md);
	} else {
		write_markdown(stdout);
	}
	cleanup_share();
	rm_rf(workdir);
	return 0;
}

