// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vdax-bench: what its parts share. The layers depend one way only, each
 * on those above it:
 *
 *   common.c     parameters, the work and shared directories, die()
 *   backends.c   the columns: local syscalls, libvdax on vdaxd, on QEMU's
 *                virtiofsd and on the Rust virtiofsd, the `vdax mount`
 *                columns, the guest columns (their figures come from a file)
 *   workloads.c  the rows, the measurement of one cell, the shared
 *                directory they run on
 *   cat.c        the cold whole-process `vdax cat` pseudo-row
 *   report.c     the results, the JSON file and the Markdown report
 *   plots.c      gnuplot data and script (--plots)
 *   main.c       the command line and the interleaved run
 */
#ifndef VDAX_BENCH_H
#define VDAX_BENCH_H

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vdax/vdax.h>

#ifndef VDAX_BENCH_VDAXD
#define VDAX_BENCH_VDAXD ""
#endif
#ifndef VDAX_BENCH_VDAX
#define VDAX_BENCH_VDAX ""
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_THREADS 16
#define MAX_REPS 50
#define KIB 1024ul
#define MIB (1024ul * 1024ul)

/* ---------------- common.c ---------------- */

struct params {
	double duration;	  /* seconds per measurement */
	int reps;		  /* measured repetitions */
	int slices;		  /* a run is this many interleaved slices */
	int threads[4];		  /* thread counts, 0-terminated */
	size_t file_size;	  /* data file bytes */
	unsigned dir_entries;	  /* readdir directory size */
	unsigned queues;	  /* request queues asked of multi-queue backends */
	const char *dir;	  /* shared directory (NULL: a temp one) */
	const char *vdaxd;	  /* vdaxd executable */
	const char *virtiofsd;	  /* QEMU's virtiofsd */
	const char *rust;	  /* the Rust virtiofsd (scripts/rust-virtiofsd.sh) */
	const char *json;	  /* JSON output path */
	const char *md;		  /* Markdown output path (NULL: stdout) */
	const char *only;	  /* comma list of backends, NULL: all */
	const char *workloads;	  /* comma list of workloads, NULL: all */
	const char *vdax_tool;	  /* the vdax command (vdax mount) */
	const char *guest;	  /* guest results to merge (bench/guest) */
	const char *plots;	  /* directory for gnuplot data + script */
	size_t window;		  /* DAX window of the DAX columns */
	size_t ws_window;	  /* DAX window of the working-set rows */
	unsigned tree_files;	  /* files in the walk tree */
	unsigned entries;	  /* libvdax entries= (0: unbounded) */
};

extern struct params P;
extern volatile sig_atomic_t interrupted; /* SIGINT/SIGTERM seen */
extern char workdir[PATH_MAX];	/* sockets, logs (and the share if no --dir) */
extern char sharedir[PATH_MAX];	/* the directory every backend serves */

double now_s(void);
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* snprintf that may truncate (messages). */
void fmt(char *buf, size_t size, const char *f, ...)
	__attribute__((format(printf, 3, 4)));
/* snprintf of a path that must not be truncated. */
void fmt_path(char *buf, size_t size, const char *f, ...)
	__attribute__((format(printf, 3, 4)));
int nthreads_count(void);
/* Is @name in the comma list @list? */
bool in_list(const char *list, const char *name);

/* ---------------- the operations every backend implements ---------------- */

struct backend;

/* A file handle of any backend. */
struct bfile {
	int fd;
	struct vdax_file *vf;
};

struct bops {
	int (*open)(struct backend *be, const char *path, int flags,
		    mode_t mode, struct bfile *f);
	int (*close)(struct bfile *f);
	ssize_t (*pread)(struct bfile *f, void *buf, size_t len, off_t off);
	ssize_t (*pwrite)(struct bfile *f, const void *buf, size_t len,
			  off_t off);
	/* open(O_CREAT|O_EXCL|O_WRONLY) */
	int (*create)(struct backend *be, const char *path, mode_t mode,
		      struct bfile *f);
	int (*stat)(struct backend *be, const char *path, struct stat *st);
	int (*unlink)(struct backend *be, const char *path);
	int (*lstat)(struct backend *be, const char *path, struct stat *st);
	/*
	 * opendir, read every entry, closedir; *entries = entries seen. With
	 * @cb, call it for every entry but "." and ".." (non-zero stops).
	 */
	int (*readdir)(struct backend *be, const char *path, uint64_t *entries,
		       int (*cb)(void *arg, const char *name), void *arg);
	/* MAP_SHARED mapping of the whole open file @f; NULL: impossible */
	int (*mmap)(struct backend *be, struct bfile *f, size_t len, int prot,
		    void **addr);
	int (*munmap)(void *addr, size_t len);
};

/* One column. */
struct backend {
	const char *name;
	const char *desc;
	const struct bops *ops;
	int (*setup)(struct backend *be);
	void (*teardown)(struct backend *be);

	bool optional;		/* measured only when named by --only */
	bool enabled;
	bool up;		/* setup succeeded */
	char why[512];		/* why it is not up */
	int dirfd;		/* local: the shared directory */
	struct vdax *vd;	/* libvdax session */
	pid_t pid;		/* daemon */
	char sock[PATH_MAX];
	char log[PATH_MAX];
	unsigned queues;	/* request queues asked for */
	size_t max_write;
	char version[128];

	bool external;		/* results come from elsewhere (the guest) */
	bool sweep;		/* also measured on the working-set sweep */
	bool dax;		/* the session has a DAX window */
	/* the working-set rows' session (window P.ws_window), "ws*" files */
	struct vdax *vd2;
	pid_t pid2;
	char sock2[PATH_MAX];
	char log2[PATH_MAX];
	/* vdax mount columns */
	pid_t fuse_pid;
	char mnt[PATH_MAX];
	char fuse_log[PATH_MAX];
	const char *mount_opts;
	/* vdaxd --inode-file-handles=prefer: the host kernel, not the bench,
	 * decides how many inodes a mount holds, and an O_PATH fd each
	 * would run into RLIMIT_NOFILE (bench/notes.md) */
	bool file_handles;
	size_t cache_size;	/* vdaxd --cache-size, 0 = none */
	const char *vdax_options; /* libvdax session options */
	const char *notes;	/* for the report: what a reader must know */
};

/* The column table; NBACKENDS is checked against it in backends.c. */
#define NBACKENDS 10
extern struct backend backends[];
extern const struct bops local_ops, vdax_ops;

struct backend *backend_by_name(const char *name);
void stop_pid(pid_t *pidp);
/* vdaxd serving the share on @sock, with a DAX window of @cache bytes. */
int vdaxd_start(struct backend *be, const char *sock, const char *log,
		unsigned queues, size_t cache, pid_t *pidp);

/* ---------------- workloads.c ---------------- */

enum wl_kind { WL_RANDREAD, WL_RANDWRITE, WL_SEQREAD, WL_SEQWRITE,
	       WL_META, WL_READDIR, WL_MMAPREAD, WL_MMAPWRITE, WL_WALK };

struct workload {
	const char *id;
	const char *title;
	const char *unit;	/* of the figure reported */
	const char *what;	/* what it measures, for the report */
	enum wl_kind kind;
	size_t bs;
	double ws;		/* working set / P.ws_window; 0: not a ws row */
	bool sweep_only;	/* only on the columns with .sweep */
	bool big_folios;	/* on ws2m.bin (cached in 2 MiB folios) */
};

#define NWORKLOADS 16
extern const struct workload workloads[];

/* The rows of the working-set sweep, smallest first. */
extern const char *const sweep_ids[5];

bool wl_mmap(const struct workload *wl);
size_t wl_span(const struct workload *wl);
bool wl_enabled(const struct workload *wl);
int find_wl(const char *id);
/*
 * Why a cell is not measured: NULL if it is; "" if the row does not belong
 * to the column at all (the sweep on columns outside it).
 */
const char *cell_na(const struct backend *be, const struct workload *wl);
int measure(struct backend *be, const struct workload *wl, int nthreads,
	    double duration, double *units_out, double *secs, char *what,
	    size_t wsize);
void prepare(void);
/* Read @name (under @dirfd) whole, so that the host caches it. */
void warm_file(int dirfd, const char *name);
bool folio_mix(int dirfd, const char *name, double mix[3]);
void unmap_all(void);

/* ---------------- cat.c ---------------- */

#define CAT_WINDOW (64 * MIB)
#define CAT_REPS   3
#define NCAT 6

extern const struct cat_variant {
	const char *name;
	const char *desc;
	const char *options; /* vdax -o; NULL: local cat */
	const char *file;    /* in the shared directory */
	const char *local;   /* the local variant it is compared with */
} cat_variants[];

extern struct cat_result {
	double ms[CAT_REPS]; /* NAN: failed */
	uint64_t misses, admissions, bypasses, readaheads, direct;
	/* the host's folios for the file before each run (folio_mix()),
	 * NAN where unknown */
	double folios[CAT_REPS][3];
	char why[200];
} cat_res[NCAT];
extern bool cat_ran;

void cold_cat(void);
double cat_best(size_t v);
int cat_best_rep(size_t v);
int cat_find(const char *name);

/* ---------------- report.c ---------------- */

struct stats {
	int n;
	double med, min, max;
};

/* Per cell: one value per repetition (NAN = failed). */
extern double results[NWORKLOADS][4][NBACKENDS][MAX_REPS];
extern char failures[NWORKLOADS][4][NBACKENDS][160];
/* DAX counters of the dax column, summed over a cell's measured runs. */
extern struct vdax_stats daxdelta[NWORKLOADS][4];

struct machine {
	char cpu[128];
	long cores;
	char kernel[256];
	char host[64];
	char fs[32];
	double load_start[3], load_end[3];
	char date[32];
	char start_iso[32];
};

extern struct machine M;

struct stats stats_of(const double *v, int n);
const char *human(double v, char *buf, size_t n);
bool cell_shown(size_t w, int t, size_t b);
void read_load(double l[3]);
void machine_facts(void);
void write_json(const char *path);
void write_markdown(FILE *f);

/* ---------------- plots.c ---------------- */

void write_plots(const char *dir);

#endif /* VDAX_BENCH_H */
