// SPDX-License-Identifier: GPL-2.0-or-later
/* vdax-bench --plots: gnuplot data and script from the results. */
#include "bench.h"

static void plot_val(FILE *f, double v)
{
	if (isnan(v))
		fputs(" NaN", f);
	else
		fprintf(f, " %.6g", v);
}

/*
 * gnuplot input: DIR/workloads.dat (one line per row and thread count,
 * one column per backend, medians), DIR/ws.dat (the sweep) and
 * DIR/plots.gp, which writes DIR/workloads.png and DIR/wsratio.png.
 */
void write_plots(const char *dir)
{
	char path[PATH_MAX + 32];
	int nt = nthreads_count();
	size_t nb = NBACKENDS;
	int nrow = 0;
	FILE *f;

	if (mkdir(dir, 0755) && errno != EEXIST)
		die("mkdir %s: %s", dir, strerror(errno));
	fmt_path(path, sizeof(path), "%s/workloads.dat", dir);
	f = fopen(path, "w");
	if (!f)
		die("cannot write %s: %s", path, strerror(errno));
	/* one block per row, separated by two blank lines */
	for (size_t w = 0; w < NWORKLOADS; w++) {
		if (!wl_enabled(&workloads[w]) || workloads[w].sweep_only)
			continue;
		fprintf(f, "# %s (%s)\n", workloads[w].title, workloads[w].unit);
		for (int t = 0; t < nt; t++) {
			fprintf(f, "\"%d thr\"", P.threads[t]);
			for (size_t i = 0; i < nb; i++)
				if (backends[i].up)
					plot_val(f, cell_shown(w, t, i) && !(cell_na(&backends[i], &workloads[w]) && !backends[i].external)
						    ? stats_of(results[w][t][i], P.reps).med : NAN);
			fputc('\n', f);
		}
		fputs("\n\n", f);
		nrow++;
	}
	fclose(f);

	fmt_path(path, sizeof(path), "%s/ws.dat", dir);
	f = fopen(path, "w");
	if (!f)
		die("cannot write %s: %s", path, strerror(errno));
	for (int t = 0; t < nt; t++) {
		fprintf(f, "# %d threads: ratio", P.threads[t]);
		for (size_t i = 0; i < nb; i++)
			if (backends[i].up && backends[i].sweep)
				fprintf(f, " %s", backends[i].name);
		fputc('\n', f);
		for (size_t k = 0; k < ARRAY_SIZE(sweep_ids); k++) {
			int w = find_wl(sweep_ids[k]);

			if (w < 0)
				continue;
			fprintf(f, "%g", workloads[w].ws);
			for (size_t i = 0; i < nb; i++)
				if (backends[i].up && backends[i].sweep)
					plot_val(f, stats_of(results[w][t][i], P.reps).med);
			fputc('\n', f);
		}
		fputs("\n\n", f);
	}
	fclose(f);

	fmt_path(path, sizeof(path), "%s/plots.gp", dir);
	f = fopen(path, "w");
	if (!f)
		die("cannot write %s: %s", path, strerror(errno));
	fprintf(f, "# written by vdax-bench --plots\n"
		   "set terminal pngcairo size 1600,%d font 'sans,10'\n"
		   "set output '%s/workloads.png'\n"
		   "set multiplot layout %d,2 title 'vdax-bench %s: throughput per workload "
		   "(median; log scale; higher is better)' font 'sans,14'\n"
		   "set style data histogram\n"
		   "set style histogram clustered gap 1\n"
		   "set style fill solid 0.9 border -1\n"
		   "set boxwidth 0.9\n"
		   "set logscale y\n"
		   "set grid ytics\n"
		   "set key outside right top vertical font 'sans,9'\n"
		   "set datafile missing 'NaN'\n",
		   260 * ((nrow + 1) / 2) + 60, dir, (nrow + 1) / 2, M.start_iso);
	{
		int k = 0;

		for (size_t w = 0; w < NWORKLOADS; w++) {
			int col = 2;
			bool firstc = true;

			if (!wl_enabled(&workloads[w]) || workloads[w].sweep_only)
				continue;
			fprintf(f, "set title '%s' font 'sans,11'\n"
				   "set ylabel '%s'\n",
				workloads[w].title, workloads[w].unit);
			fprintf(f, "plot ");
			for (size_t i = 0; i < nb; i++) {
				if (!backends[i].up)
					continue;
				fprintf(f, "%s'%s/workloads.dat' index %d using %d:xtic(1) title '%s' lc %zu",
					firstc ? "" : ", \\\n     ", dir, k, col,
					backends[i].name, i + 1);
				firstc = false;
				col++;
			}
			fprintf(f, "\n");
			k++;
		}
	}
	fprintf(f, "unset multiplot\n"
		   "reset\n"
		   "set terminal pngcairo size 1000,600 font 'sans,11'\n"
		   "set output '%s/wsratio.png'\n"
		   "set title 'vdax-bench %s: 4 KiB random reads vs working set / DAX window (%zu MiB)'\n"
		   "set xlabel 'working set / DAX window'\n"
		   "set ylabel 'IOPS (log)'\n"
		   "set logscale x 2\nset logscale y\nset grid\n"
		   "set key outside right\n"
		   "set datafile missing 'NaN'\n"
		   "plot ", dir, M.start_iso, P.ws_window / MIB);
	{
		bool firstc = true;

		for (int t = 0; t < nt; t++) {
			int col = 2;

			for (size_t i = 0; i < nb; i++) {
				if (!backends[i].up || !backends[i].sweep)
					continue;
				fprintf(f, "%s'%s/ws.dat' index %d using 1:%d with linespoints lw 2 pt %d dt %d lc %zu title '%s, %d thr'",
					firstc ? "" : ", \\\n     ", dir, t, col,
					t ? 7 : 5, t ? 2 : 1, i + 1, backends[i].name,
					P.threads[t]);
				firstc = false;
				col++;
			}
		}
	}
	fprintf(f, "\n");
	fclose(f);
	fprintf(stderr, "vdax-bench: gnuplot script in %s/plots.gp\n", dir);
}

