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
 * Adding a column: write a setup/teardown pair and, if it is not local
 * syscalls or libvdax, a struct bops; add a line to backends[].
 *
 * Output: a JSON file with every raw number and the machine, a Markdown
 * report (stdout, or --md FILE), and one progress line per cell on stderr.
 */
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

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_THREADS 16
#define MAX_REPS 50
#define KIB 1024ul
#define MIB (1024ul * 1024ul)

/* ---------------- parameters ---------------- */

static struct params {
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
	const char *json;	  /* JSON output path */
	const char *md;		  /* Markdown output path (NULL: stdout) */
	const char *only;	  /* comma list of backends, NULL: all */
	const char *workloads;	  /* comma list of workloads, NULL: all */
} P = {
	.duration = 0.5,
	.reps = 5,
	.slices = 5,
	.threads = { 1, 4, 0 },
	.file_size = 64 * MIB,
	.dir_entries = 10000,
	.queues = 4,
};

static char workdir[PATH_MAX];	 /* sockets, logs (and the share if no --dir) */
static char sharedir[PATH_MAX];	 /* the directory every backend serves */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("vdax-bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* snprintf that may truncate (messages). */
static void fmt(char *buf, size_t size, const char *f, ...)
	__attribute__((format(printf, 3, 4)));
static void fmt(char *buf, size_t size, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(buf, size, f, ap);
	va_end(ap);
}

/* snprintf of a path that must not be truncated. */
static void fmt_path(char *buf, size_t size, const char *f, ...)
	__attribute__((format(printf, 3, 4)));
static void fmt_path(char *buf, size_t size, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, size, f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		die("path too long: %s...", buf);
}

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
	/* opendir, read every entry, closedir; *entries = entries seen */
	int (*readdir)(struct backend *be, const char *path, uint64_t *entries);
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
};

/* ---- local syscalls, relative to the shared directory ---- */

static int lo_open(struct backend *be, const char *path, int flags,
		   mode_t mode, struct bfile *f)
{
	f->fd = openat(be->dirfd, path, flags | O_CLOEXEC, mode);
	return f->fd < 0 ? -errno : 0;
}

static int lo_close(struct bfile *f)
{
	int ret = close(f->fd) ? -errno : 0;

	f->fd = -1;
	return ret;
}

static ssize_t lo_pread(struct bfile *f, void *buf, size_t len, off_t off)
{
	ssize_t n = pread(f->fd, buf, len, off);

	return n < 0 ? -errno : n;
}

static ssize_t lo_pwrite(struct bfile *f, const void *buf, size_t len,
			 off_t off)
{
	ssize_t n = pwrite(f->fd, buf, len, off);

	return n < 0 ? -errno : n;
}

static int lo_create(struct backend *be, const char *path, mode_t mode,
		     struct bfile *f)
{
	return lo_open(be, path, O_CREAT | O_EXCL | O_WRONLY, mode, f);
}

static int lo_stat(struct backend *be, const char *path, struct stat *st)
{
	return fstatat(be->dirfd, path, st, 0) ? -errno : 0;
}

static int lo_unlink(struct backend *be, const char *path)
{
	return unlinkat(be->dirfd, path, 0) ? -errno : 0;
}

static int lo_readdir(struct backend *be, const char *path, uint64_t *entries)
{
	int fd = openat(be->dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;
	int ret = 0;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		ret = -errno;
		close(fd);
		return ret;
	}
	*entries = 0;
	errno = 0;
	while ((de = readdir(d)))
		(*entries)++;
	if (errno)
		ret = -errno;
	closedir(d);
	return ret;
}

static const struct bops local_ops = {
	.open = lo_open,
	.close = lo_close,
	.pread = lo_pread,
	.pwrite = lo_pwrite,
	.create = lo_create,
	.stat = lo_stat,
	.unlink = lo_unlink,
	.readdir = lo_readdir,
};

/* ---- libvdax ---- */

static int vx_open(struct backend *be, const char *path, int flags,
		   mode_t mode, struct bfile *f)
{
	return vdax_open(be->vd, path, flags, mode, &f->vf);
}

static int vx_close(struct bfile *f)
{
	int ret = vdax_release(f->vf);

	f->vf = NULL;
	return ret;
}

static ssize_t vx_pread(struct bfile *f, void *buf, size_t len, off_t off)
{
	return vdax_pread(f->vf, buf, len, off);
}

static ssize_t vx_pwrite(struct bfile *f, const void *buf, size_t len,
			 off_t off)
{
	return vdax_pwrite(f->vf, buf, len, off);
}

static int vx_create(struct backend *be, const char *path, mode_t mode,
		     struct bfile *f)
{
	return vdax_open(be->vd, path, O_CREAT | O_EXCL | O_WRONLY, mode,
			 &f->vf);
}

static int vx_stat(struct backend *be, const char *path, struct stat *st)
{
	return vdax_stat(be->vd, path, st);
}

static int vx_unlink(struct backend *be, const char *path)
{
	return vdax_unlink(be->vd, path);
}

static int vx_readdir(struct backend *be, const char *path, uint64_t *entries)
{
	struct vdax_dirent ent;
	struct vdax_dir *d;
	int ret;

	ret = vdax_opendir(be->vd, path, &d);
	if (ret)
		return ret;
	*entries = 0;
	while ((ret = vdax_readdir(d, &ent)) == 1)
		(*entries)++;
	vdax_closedir(d);
	return ret;
}

static const struct bops vdax_ops = {
	.open = vx_open,
	.close = vx_close,
	.pread = vx_pread,
	.pwrite = vx_pwrite,
	.create = vx_create,
	.stat = vx_stat,
	.unlink = vx_unlink,
	.readdir = vx_readdir,
};

/* ---- setup and teardown ---- */

static int local_setup(struct backend *be)
{
	be->dirfd = open(sharedir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (be->dirfd < 0) {
		fmt(be->why, sizeof(be->why), "open %s: %s", sharedir,
			 strerror(errno));
		return -1;
	}
	snprintf(be->version, sizeof(be->version), "kernel syscalls");
	return 0;
}

static void local_teardown(struct backend *be)
{
	if (be->dirfd >= 0)
		close(be->dirfd);
	be->dirfd = -1;
}

/* First line of "EXE --version", for the record. */
static void exe_version(const char *exe, char *out, size_t size)
{
	char cmd[PATH_MAX + 32];
	FILE *p;

	snprintf(out, size, "?");
	snprintf(cmd, sizeof(cmd), "'%s' --version 2>&1", exe);
	p = popen(cmd, "r");
	if (!p)
		return;
	if (fgets(out, size, p))
		out[strcspn(out, "\n")] = 0;
	pclose(p);
}

static void stop_daemon(struct backend *be)
{
	int status;

	if (be->pid <= 0)
		return;
	kill(be->pid, SIGTERM);
	for (int i = 0; i < 50; i++) {
		if (waitpid(be->pid, &status, WNOHANG) == be->pid) {
			be->pid = -1;
			return;
		}
		usleep(20000);
	}
	kill(be->pid, SIGKILL);
	waitpid(be->pid, &status, 0);
	be->pid = -1;
}

static void log_tail(struct backend *be)
{
	char line[256];
	size_t len = strlen(be->why);
	FILE *f = fopen(be->log, "r");

	if (!f)
		return;
	/* the last lines that fit */
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (len + strlen(line) + 4 >= sizeof(be->why))
			len = strlen(be->why);
		snprintf(be->why + len, sizeof(be->why) - len, " | %s", line);
	}
	fclose(f);
}

/*
 * Start a daemon (argv[0] is the executable), wait for its socket, open a
 * libvdax session on it with @queues request queues.
 */
static int daemon_session(struct backend *be, char *const argv[],
			  unsigned queues, const char *vdax_options)
{
	struct vdax_opts o = { 0 };
	struct stat st;
	int ret, status;
	pid_t pid;

	if (!argv[0] || !*argv[0] || access(argv[0], X_OK)) {
		fmt(be->why, sizeof(be->why), "%s: not found",
			 argv[0] && *argv[0] ? argv[0] : "executable");
		return -1;
	}
	exe_version(argv[0], be->version, sizeof(be->version));
	fmt_path(be->log, sizeof(be->log), "%s/%s.log", workdir, be->name);
	unlink(be->sock);
	pid = fork();
	if (pid < 0) {
		fmt(be->why, sizeof(be->why), "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fd = open(be->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	be->pid = pid;
	for (int i = 0;; i++) {
		if (!stat(be->sock, &st) && S_ISSOCK(st.st_mode))
			break;
		if (waitpid(pid, &status, WNOHANG) == pid || i >= 500) {
			be->pid = (i >= 500) ? pid : -1;
			stop_daemon(be);
			fmt(be->why, sizeof(be->why),
				 "%s did not start", argv[0]);
			log_tail(be);
			return -1;
		}
		usleep(10000);
	}
	o.socket_path = be->sock;
	o.num_queues = queues;
	o.options = vdax_options;
	ret = vdax_open_session(&o, &be->vd);
	if (ret) {
		stop_daemon(be);
		fmt(be->why, sizeof(be->why), "vdax_open_session: %s",
			 strerror(-ret));
		log_tail(be);
		be->vd = NULL;
		return -1;
	}
	be->queues = queues;
	be->max_write = vdax_max_write(be->vd);
	return 0;
}

static int vdaxd_setup(struct backend *be)
{
	char src[PATH_MAX + 32], sockopt[PATH_MAX + 16], nq[48];
	char *argv[] = { (char *)P.vdaxd, sockopt, nq, "-o", src, NULL };

	fmt_path(be->sock, sizeof(be->sock), "%s/%s.sock", workdir, be->name);
	snprintf(sockopt, sizeof(sockopt), "--socket-path=%s", be->sock);
	snprintf(nq, sizeof(nq), "--num-request-queues=%u", P.queues);
	snprintf(src, sizeof(src), "source=%s,cache=auto", sharedir);
	return daemon_session(be, argv, P.queues, NULL);
}

/* vdaxd with a single request queue, like virtiofsd (--only vdaxd-1q) */
static int vdaxd_1q_setup(struct backend *be)
{
	char src[PATH_MAX + 32], sockopt[PATH_MAX + 16];
	char *argv[] = { (char *)P.vdaxd, sockopt, "-o", src, NULL };

	fmt_path(be->sock, sizeof(be->sock), "%s/%s.sock", workdir, be->name);
	snprintf(sockopt, sizeof(sockopt), "--socket-path=%s", be->sock);
	snprintf(src, sizeof(src), "source=%s,cache=auto", sharedir);
	return daemon_session(be, argv, 1, NULL);
}

static int virtiofsd_setup(struct backend *be)
{
	char src[PATH_MAX + 16], sockopt[PATH_MAX + 16];
	char *argv[] = { (char *)P.virtiofsd, sockopt, "-o", src,
			 "-o", "cache=auto", "-o", "sandbox=chroot", NULL };

	fmt_path(be->sock, sizeof(be->sock), "%s/%s.sock", workdir, be->name);
	snprintf(sockopt, sizeof(sockopt), "--socket-path=%s", be->sock);
	snprintf(src, sizeof(src), "source=%s", sharedir);
	/* one request queue: that is all QEMU's C virtiofsd offers */
	return daemon_session(be, argv, 1, NULL);
}

static void vdax_teardown(struct backend *be)
{
	vdax_close(be->vd);
	be->vd = NULL;
	stop_daemon(be);
}

static struct backend backends[] = {
	{ "local", "local syscalls on the host directory (the limit)",
	  &local_ops, local_setup, local_teardown },
	{ "vdaxd", "libvdax on vdaxd (default sandbox, cache=auto, "
		   "one request queue per thread)",
	  &vdax_ops, vdaxd_setup, vdax_teardown },
	{ "virtiofsd", "libvdax on QEMU's C virtiofsd (sandbox=chroot, "
		       "cache=auto, its single request queue)",
	  &vdax_ops, virtiofsd_setup, vdax_teardown },
	{ "vdaxd-1q", "libvdax on vdaxd with one request queue",
	  &vdax_ops, vdaxd_1q_setup, vdax_teardown, .optional = true },
};

/* Ratio columns besides "X/local": numerator, denominator, and the target. */
static const struct {
	const char *num, *den;
	double target;
} pairs[] = {
	{ "vdaxd", "virtiofsd", 1.0 },
};

static struct backend *backend_by_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(backends); i++)
		if (!strcmp(backends[i].name, name))
			return &backends[i];
	return NULL;
}

/* ---------------- workloads ---------------- */

enum wl_kind { WL_RANDREAD, WL_RANDWRITE, WL_SEQREAD, WL_SEQWRITE,
	       WL_META, WL_READDIR };

struct workload {
	const char *id;
	const char *title;
	const char *unit;	/* of the figure reported */
	const char *what;	/* what it measures, for the report */
	enum wl_kind kind;
	size_t bs;
};

static const struct workload workloads[] = {
	{ "randread", "4 KiB random read", "IOPS",
	  "pread of 4 KiB at a random 4 KiB-aligned offset of a 64 MiB file "
	  "that sits in the host page cache; each thread has its own handle",
	  WL_RANDREAD, 4 * KIB },
	{ "randwrite", "4 KiB random write", "IOPS",
	  "pwrite of 4 KiB at a random 4 KiB-aligned offset of a 64 MiB "
	  "preallocated file (a file per column; no fsync)",
	  WL_RANDWRITE, 4 * KIB },
	{ "seqread", "1 MiB sequential read", "MiB/s",
	  "pread of 1 MiB, in order, wrapping; each thread reads its own "
	  "slice of the 64 MiB cached file",
	  WL_SEQREAD, MIB },
	{ "seqwrite", "1 MiB sequential write", "MiB/s",
	  "pwrite of 1 MiB, in order, over a preallocated 64 MiB file "
	  "(a file per column, each thread its own slice; no fsync)",
	  WL_SEQWRITE, MIB },
	{ "meta", "create+stat+unlink", "files/s",
	  "one op = open(O_CREAT|O_EXCL) + close + stat + unlink of an "
	  "empty file, in a directory per thread",
	  WL_META, 0 },
	{ "readdir", "readdir 10 000 entries", "entries/s",
	  "opendir + read every entry + closedir of a directory of 10 000 "
	  "files (every thread the same directory)",
	  WL_READDIR, 0 },
};

/* One thread of one measurement. */
struct job {
	struct backend *be;
	const struct workload *wl;
	int tid, nthreads;
	pthread_barrier_t *start;
	const int *stop;
	struct bfile f;
	char *buf;
	uint64_t seed;
	uint64_t ops, units;	/* ops done; units of the figure */
	int err;
	char errwhat[64];
};

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static bool stopped(const struct job *j)
{
	return __atomic_load_n(j->stop, __ATOMIC_RELAXED);
}

static void data_path(const struct job *j, char *p, size_t n)
{
	if (j->wl->kind == WL_RANDREAD || j->wl->kind == WL_SEQREAD)
		snprintf(p, n, "data.bin");
	else
		snprintf(p, n, "w-%s.bin", j->be->name);
}

static int job_io(struct job *j)
{
	const struct bops *ops = j->be->ops;
	bool write = j->wl->kind == WL_RANDWRITE || j->wl->kind == WL_SEQWRITE;
	bool rnd = j->wl->kind == WL_RANDREAD || j->wl->kind == WL_RANDWRITE;
	size_t bs = j->wl->bs;
	off_t slice = P.file_size / j->nthreads / bs * bs;
	off_t base = slice * j->tid, pos = 0;
	uint64_t nblocks = P.file_size / bs;

	while (!stopped(j)) {
		off_t off;
		ssize_t n;

		if (rnd) {
			off = (off_t)(xorshift(&j->seed) % nblocks) * bs;
		} else {
			if (pos + (off_t)bs > slice)
				pos = 0;
			off = base + pos;
			pos += bs;
		}
		n = write ? ops->pwrite(&j->f, j->buf, bs, off)
			  : ops->pread(&j->f, j->buf, bs, off);
		if (n != (ssize_t)bs) {
			snprintf(j->errwhat, sizeof(j->errwhat), "%s at %lld",
				 write ? "pwrite" : "pread", (long long)off);
			return n < 0 ? (int)n : -EIO;
		}
		j->ops++;
	}
	j->units = j->ops;
	return 0;
}

static int job_meta(struct job *j)
{
	const struct bops *ops = j->be->ops;
	char path[128];
	struct stat st;
	struct bfile f;
	int ret;

	while (!stopped(j)) {
		snprintf(path, sizeof(path), "m-%s/t%d/f%" PRIu64, j->be->name,
			 j->tid, j->seed++);
		ret = ops->create(j->be, path, 0644, &f);
		if (ret) {
			snprintf(j->errwhat, sizeof(j->errwhat), "create");
			return ret;
		}
		ret = ops->close(&f);
		if (ret) {
			snprintf(j->errwhat, sizeof(j->errwhat), "close");
			return ret;
		}
		ret = ops->stat(j->be, path, &st);
		if (!ret && (!S_ISREG(st.st_mode) || st.st_size != 0))
			ret = -EINVAL;
		if (ret) {
			snprintf(j->errwhat, sizeof(j->errwhat), "stat");
			return ret;
		}
		ret = ops->unlink(j->be, path);
		if (ret) {
			snprintf(j->errwhat, sizeof(j->errwhat), "unlink");
			return ret;
		}
		j->ops++;
	}
	j->units = j->ops;
	return 0;
}

static int job_readdir(struct job *j)
{
	uint64_t n;
	int ret;

	while (!stopped(j)) {
		ret = j->be->ops->readdir(j->be, "rd", &n);
		if (ret) {
			snprintf(j->errwhat, sizeof(j->errwhat), "readdir");
			return ret;
		}
		/* every file, give or take "." and ".." */
		if (n < P.dir_entries || n > P.dir_entries + 2) {
			snprintf(j->errwhat, sizeof(j->errwhat),
				 "readdir saw %" PRIu64 " entries", n);
			return -EIO;
		}
		j->ops++;
		j->units += n;
	}
	return 0;
}

static void *job_main(void *arg)
{
	struct job *j = arg;

	pthread_barrier_wait(j->start);
	switch (j->wl->kind) {
	case WL_RANDREAD:
	case WL_RANDWRITE:
	case WL_SEQREAD:
	case WL_SEQWRITE:
		j->err = job_io(j);
		break;
	case WL_META:
		j->err = job_meta(j);
		break;
	case WL_READDIR:
		j->err = job_readdir(j);
		break;
	}
	return NULL;
}

/*
 * Run @wl on @be with @nthreads threads for @duration seconds; add the work
 * done (in the figure's unit: MiB for sequential I/O) to *units and the time
 * taken to *secs. Returns 0, or a negative errno with *what set.
 */
static int measure(struct backend *be, const struct workload *wl,
		   int nthreads, double duration, double *units_out,
		   double *secs, char *what, size_t wsize)
{
	struct job jobs[MAX_THREADS];
	pthread_t tids[MAX_THREADS];
	pthread_barrier_t start;
	bool io = wl->kind != WL_META && wl->kind != WL_READDIR;
	int stop = 0, err = 0, started = 0;
	uint64_t units = 0;
	double t0 = 0, t1 = 0;
	char path[128];

	memset(jobs, 0, sizeof(jobs));
	for (int i = 0; i < nthreads; i++) {
		struct job *j = &jobs[i];

		j->be = be;
		j->wl = wl;
		j->tid = i;
		j->nthreads = nthreads;
		j->stop = &stop;
		j->start = &start;
		j->f.fd = -1;
		j->seed = 0x9e3779b97f4a7c15ull * (i + 1) ^ (uint64_t)rand();
		if (wl->kind == WL_META)
			j->seed = 0;
		if (!io)
			continue;
		if (posix_memalign((void **)&j->buf, 4096, wl->bs))
			die("out of memory");
		memset(j->buf, 0x5a + i, wl->bs);
		data_path(j, path, sizeof(path));
		err = be->ops->open(be, path,
				    wl->kind == WL_RANDREAD ||
						    wl->kind == WL_SEQREAD
					    ? O_RDONLY
					    : O_WRONLY,
				    0, &j->f);
		if (err) {
			snprintf(what, wsize, "open %s: %s", path,
				 strerror(-err));
			nthreads = i;
			goto out;
		}
	}
	pthread_barrier_init(&start, NULL, nthreads + 1);
	for (; started < nthreads; started++)
		if (pthread_create(&tids[started], NULL, job_main,
				   &jobs[started]))
			die("pthread_create failed");
	pthread_barrier_wait(&start);
	t0 = now_s();
	usleep((useconds_t)(duration * 1e6));
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	t1 = now_s();
	pthread_barrier_destroy(&start);
	for (int i = 0; i < nthreads; i++) {
		if (jobs[i].err && !err) {
			err = jobs[i].err;
			snprintf(what, wsize, "%s: %s", jobs[i].errwhat,
				 strerror(-err));
		}
		units += jobs[i].units;
	}
out:
	for (int i = 0; i < nthreads; i++)
		if (io)
			be->ops->close(&jobs[i].f);
	for (int i = 0; i < MAX_THREADS; i++)
		free(jobs[i].buf);
	if (err)
		return err;
	if (wl->kind == WL_SEQREAD || wl->kind == WL_SEQWRITE)
		*units_out += units * (double)wl->bs / MIB;
	else
		*units_out += units;
	*secs += t1 - t0;
	return 0;
}

/* ---------------- preparing the shared directory ---------------- */

static void write_file(int dirfd, const char *name, size_t size)
{
	size_t chunk = MIB;
	char *buf = malloc(chunk);
	uint64_t s = 88172645463325252ull;
	int fd;

	if (!buf)
		die("out of memory");
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0644);
	if (fd < 0)
		die("create %s/%s: %s", sharedir, name, strerror(errno));
	for (size_t off = 0; off < size; off += chunk) {
		for (size_t i = 0; i < chunk; i += 8)
			memcpy(buf + i, &(uint64_t){ xorshift(&s) }, 8);
		if (pwrite(fd, buf, chunk, off) != (ssize_t)chunk)
			die("write %s: %s", name, strerror(errno));
	}
	if (fsync(fd))
		die("fsync %s: %s", name, strerror(errno));
	close(fd);
	free(buf);
}

static void warm_file(int dirfd, const char *name)
{
	char *buf = malloc(MIB);
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

	if (!buf || fd < 0)
		die("warm %s: %s", name, strerror(errno));
	while (read(fd, buf, MIB) > 0)
		;
	close(fd);
	free(buf);
}

static void mkdir_p(int dirfd, const char *name)
{
	if (mkdirat(dirfd, name, 0755) && errno != EEXIST)
		die("mkdir %s/%s: %s", sharedir, name, strerror(errno));
}

static void prepare(void)
{
	int dirfd = open(sharedir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char name[PATH_MAX];

	if (dirfd < 0)
		die("open %s: %s", sharedir, strerror(errno));
	fprintf(stderr, "vdax-bench: preparing %s\n", sharedir);
	write_file(dirfd, "data.bin", P.file_size);
	for (size_t b = 0; b < ARRAY_SIZE(backends); b++) {
		if (!backends[b].enabled)
			continue;
		snprintf(name, sizeof(name), "w-%s.bin", backends[b].name);
		write_file(dirfd, name, P.file_size);
		snprintf(name, sizeof(name), "m-%s", backends[b].name);
		mkdir_p(dirfd, name);
		for (int t = 0; t < MAX_THREADS; t++) {
			snprintf(name, sizeof(name), "m-%s/t%d",
				 backends[b].name, t);
			mkdir_p(dirfd, name);
		}
	}
	mkdir_p(dirfd, "rd");
	for (unsigned i = 0; i < P.dir_entries; i++) {
		int fd;

		snprintf(name, sizeof(name), "rd/entry-%05u", i);
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			die("create %s: %s", name, strerror(errno));
		close(fd);
	}
	syncfs(dirfd);
	warm_file(dirfd, "data.bin");
	close(dirfd);
}

/* ---------------- results ---------------- */

/* Per cell: one value per repetition (NAN = failed). */
static double results[ARRAY_SIZE(workloads)][4][ARRAY_SIZE(backends)][MAX_REPS];
static char failures[ARRAY_SIZE(workloads)][4][ARRAY_SIZE(backends)][160];

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct stats {
	int n;
	double med, min, max;
};

static struct stats stats_of(const double *v, int n)
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

/* Per-repetition ratios a/b (the columns ran side by side). */
static struct stats ratio_of(int w, int t, int a, int b)
{
	double r[MAX_REPS];

	for (int i = 0; i < P.reps; i++) {
		double x = results[w][t][a][i], y = results[w][t][b][i];

		r[i] = (isnan(x) || isnan(y) || y <= 0) ? NAN : x / y;
	}
	return stats_of(r, P.reps);
}

static const char *human(double v, char *buf, size_t n)
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

static int nthreads_count(void)
{
	int n = 0;

	while (n < 4 && P.threads[n])
		n++;
	return n;
}

static bool wl_enabled(const struct workload *wl)
{
	const char *s = P.workloads;
	size_t len = strlen(wl->id);

	if (!s)
		return true;
	while (*s) {
		if (!strncmp(s, wl->id, len) && (s[len] == ',' || !s[len]))
			return true;
		s = strchr(s, ',');
		if (!s)
			break;
		s++;
	}
	return false;
}

/* ---------------- machine facts ---------------- */

static struct machine {
	char cpu[128];
	long cores;
	char kernel[256];
	char host[64];
	char fs[32];
	double load_start[3], load_end[3];
	char date[32];
	char start_iso[32];
} M;

static void read_load(double l[3])
{
	FILE *f = fopen("/proc/loadavg", "r");

	l[0] = l[1] = l[2] = NAN;
	if (f) {
		if (fscanf(f, "%lf %lf %lf", &l[0], &l[1], &l[2]) != 3)
			l[0] = l[1] = l[2] = NAN;
		fclose(f);
	}
}

static void machine_facts(void)
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

static void write_json(const char *path)
{
	int nt = nthreads_count();
	FILE *f = fopen(path, "w");
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
		   "\"queues\": %u, \"dir\": ",
		P.duration, P.reps, P.slices, P.file_size, P.dir_entries,
		P.queues);
	json_str(f, sharedir);
	fprintf(f, "},\n  \"backends\": [\n");
	for (size_t b = 0; b < ARRAY_SIZE(backends); b++) {
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
		fprintf(f, ", \"queues\": %u, \"max_write\": %zu}", be->queues,
			be->max_write);
	}
	fprintf(f, "\n  ],\n  \"results\": [\n");
	first = true;
	for (size_t w = 0; w < ARRAY_SIZE(workloads); w++) {
		if (!wl_enabled(&workloads[w]))
			continue;
		for (int t = 0; t < nt; t++) {
			for (size_t b = 0; b < ARRAY_SIZE(backends); b++) {
				if (!backends[b].up)
					continue;
				fprintf(f, "%s    {\"workload\": \"%s\", "
					   "\"threads\": %d, \"backend\": ",
					first ? "" : ",\n", workloads[w].id,
					P.threads[t]);
				first = false;
				json_str(f, backends[b].name);
				fprintf(f, ", \"unit\": \"%s\", \"runs\": [",
					workloads[w].unit);
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
	for (size_t w = 0; w < ARRAY_SIZE(workloads); w++) {
		if (!wl_enabled(&workloads[w]))
			continue;
		for (int t = 0; t < nt; t++) {
			for (size_t b = 0; b < ARRAY_SIZE(backends); b++) {
				const char *num = backends[b].name;
				struct backend *lo = backend_by_name("local");

				if (!backends[b].up || !lo || !lo->up ||
				    lo == &backends[b])
					continue;
				fprintf(f, "%s    {\"workload\": \"%s\", "
					   "\"threads\": %d, \"ratio\": \"%s/local\", "
					   "\"stats\": ",
					first ? "" : ",\n", workloads[w].id,
					P.threads[t], num);
				first = false;
				json_stats(f, ratio_of(w, t, b, lo - backends));
				fputs("}", f);
			}
			for (size_t p = 0; p < ARRAY_SIZE(pairs); p++) {
				struct backend *a = backend_by_name(pairs[p].num);
				struct backend *c = backend_by_name(pairs[p].den);

				if (!a || !c || !a->up || !c->up)
					continue;
				fprintf(f, "%s    {\"workload\": \"%s\", "
					   "\"threads\": %d, \"ratio\": \"%s/%s\", "
					   "\"target\": %g, \"stats\": ",
					first ? "" : ",\n", workloads[w].id,
					P.threads[t], a->name, c->name,
					pairs[p].target);
				first = false;
				json_stats(f, ratio_of(w, t, a - backends,
						       c - backends));
				fputs("}", f);
			}
		}
	}
	fprintf(f, "\n  ]\n}\n");
	if (fclose(f))
		die("write %s: %s", path, strerror(errno));
}

static void write_markdown(FILE *f)
{
	int nt = nthreads_count();
	struct backend *lo = backend_by_name("local");
	bool have_lo = lo && lo->up;
	char a[32], b[32], c[32];
	int met = 0, missed = 0, noise = 0;

	fprintf(f, "Run of %s (UTC) on %s: %s, %ld cores, %s; the directory "
		   "is on %s. Load average %.2f at the start, %.2f at the end.\n\n",
		M.start_iso, M.host, M.cpu, M.cores, M.kernel, M.fs,
		M.load_start[0], M.load_end[0]);
	fprintf(f, "Each figure: median of %d runs of %.2f s, [min–max]; a "
		   "run is %d slices, the columns alternating slice by slice. "
		   "Ratios: median of the per-run ratios, [min–max].\n\n",
		P.reps, P.duration, P.slices);
	fprintf(f, "Columns:\n\n");
	for (size_t i = 0; i < ARRAY_SIZE(backends); i++) {
		struct backend *be = &backends[i];

		if (!be->enabled)
			continue;
		if (be->up)
			fprintf(f, "- **%s**: %s — %s", be->name, be->desc,
				be->version);
		else
			fprintf(f, "- **%s**: not measured: %s", be->name,
				be->why);
		if (be->up && be->vd)
			fprintf(f, "; %u request queue(s), max_write %zu KiB",
				be->queues, be->max_write / KIB);
		fprintf(f, "\n");
	}
	fprintf(f, "\nRows (each with 1 and with several threads; the "
		   "data files are filled before the run and the read file is "
		   "in the host page cache):\n\n");
	for (size_t w = 0; w < ARRAY_SIZE(workloads); w++)
		if (wl_enabled(&workloads[w]))
			fprintf(f, "- **%s** (%s): %s\n", workloads[w].title,
				workloads[w].unit, workloads[w].what);
	fprintf(f, "\n| workload | thr | unit |");
	for (size_t i = 0; i < ARRAY_SIZE(backends); i++)
		if (backends[i].up)
			fprintf(f, " %s |", backends[i].name);
	for (size_t p = 0; p < ARRAY_SIZE(pairs); p++)
		fprintf(f, " %s/%s |", pairs[p].num, pairs[p].den);
	for (size_t i = 0; i < ARRAY_SIZE(backends); i++)
		if (backends[i].up && have_lo && &backends[i] != lo)
			fprintf(f, " %s/local |", backends[i].name);
	fprintf(f, "\n|---|---:|---|");
	for (size_t i = 0; i < ARRAY_SIZE(backends); i++)
		if (backends[i].up)
			fprintf(f, "---:|");
	for (size_t p = 0; p < ARRAY_SIZE(pairs); p++)
		fprintf(f, "---:|");
	for (size_t i = 0; i < ARRAY_SIZE(backends); i++)
		if (backends[i].up && have_lo && &backends[i] != lo)
			fprintf(f, "---:|");
	fprintf(f, "\n");
	for (size_t w = 0; w < ARRAY_SIZE(workloads); w++) {
		if (!wl_enabled(&workloads[w]))
			continue;
		for (int t = 0; t < nt; t++) {
			fprintf(f, "| %s | %d | %s |", workloads[w].title,
				P.threads[t], workloads[w].unit);
			for (size_t i = 0; i < ARRAY_SIZE(backends); i++) {
				struct stats s;

				if (!backends[i].up)
					continue;
				s = stats_of(results[w][t][i], P.reps);
				if (failures[w][t][i][0] && s.n < P.reps)
					fprintf(f, " failed: %s |",
						failures[w][t][i]);
				else
					fprintf(f, " %s [%s–%s] |",
						human(s.med, a, sizeof(a)),
						human(s.min, b, sizeof(b)),
						human(s.max, c, sizeof(c)));
			}
			for (size_t p = 0; p < ARRAY_SIZE(pairs); p++) {
				struct backend *x = backend_by_name(pairs[p].num);
				struct backend *y = backend_by_name(pairs[p].den);
				struct stats s = { 0, NAN, NAN, NAN };

				if (x && y && x->up && y->up)
					s = ratio_of(w, t, x - backends,
						     y - backends);
				if (!s.n) {
					fprintf(f, " n/a |");
					continue;
				}
				fprintf(f, " %s%.2f%s [%.2f–%.2f] |",
					s.med < pairs[p].target ? "**" : "",
					s.med,
					s.med < pairs[p].target ? "**" : "",
					s.min, s.max);
				if (s.med >= pairs[p].target)
					met++;
				else if (s.max >= pairs[p].target)
					noise++;
				else
					missed++;
			}
			for (size_t i = 0; i < ARRAY_SIZE(backends); i++) {
				struct stats s;

				if (!backends[i].up || !have_lo ||
				    &backends[i] == lo)
					continue;
				s = ratio_of(w, t, i, lo - backends);
				if (s.n)
					fprintf(f, " %.3f |", s.med);
				else
					fprintf(f, " n/a |");
			}
			fprintf(f, "\n");
		}
	}
	fprintf(f, "\nTarget vdaxd/virtiofsd >= 1 (bold: below): met on %d "
		   "rows; below on %d rows where some run reached it (noise "
		   "can explain it); below on %d rows in every run.\n",
		met, noise, missed);
}

/* ---------------- main ---------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vdax-bench [OPTION]...\n"
		"Throughput of local syscalls, libvdax on vdaxd and libvdax on\n"
		"QEMU's virtiofsd, side by side on the same directory.\n\n"
		"  --vdaxd=PATH        vdaxd executable [%s]\n"
		"  --virtiofsd=PATH    QEMU's virtiofsd [/usr/lib/qemu/virtiofsd]\n"
		"  --dir=DIR           shared directory (default: a new one under\n"
		"                      $TMPDIR or /var/tmp, removed at the end)\n"
		"  --duration=SEC      seconds per measurement [0.5]\n"
		"  --reps=N            measured repetitions [5]\n"
		"  --slices=N          a run of a column is N slices, the columns\n"
		"                      alternating slice by slice [5]\n"
		"  --threads=N[,N]     thread counts [1,4]\n"
		"  --queues=N          request queues for vdaxd [4]\n"
		"  --only=A,B          columns [local,vdaxd,virtiofsd]; also vdaxd-1q\n"
		"  --workloads=A,B     randread,randwrite,seqread,seqwrite,meta,readdir\n"
		"  --json=FILE         raw results [bench/results/DATE.json in cwd]\n"
		"  --md=FILE           Markdown report [stdout]\n"
		"  --quick             1 run of 0.2 s (a smoke test)\n"
		"  -h, --help\n",
		*VDAX_BENCH_VDAXD ? VDAX_BENCH_VDAXD : "none built");
}

static bool in_list(const char *list, const char *name)
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
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	P.vdaxd = VDAX_BENCH_VDAXD;
	P.virtiofsd = "/usr/lib/qemu/virtiofsd";
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'V': P.vdaxd = optarg; break;
		case 'Q': P.virtiofsd = optarg; break;
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
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc)
		die("unexpected argument %s", argv[optind]);
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
	for (size_t b = 0; b < ARRAY_SIZE(backends); b++) {
		if (!backends[b].enabled)
			continue;
		fmt(p, sizeof(p), "%s/w-%s.bin", sharedir, backends[b].name);
		rm_rf(p);
		fmt(p, sizeof(p), "%s/m-%s", sharedir, backends[b].name);
		rm_rf(p);
	}
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

int main(int argc, char **argv)
{
	const size_t nb = ARRAY_SIZE(backends);
	char jsonpath[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	struct sigaction sa = { .sa_handler = on_signal };
	int nt, cells = 0, nup = 0;
	double t_start, work = 0, done = 0;

	parse_args(argc, argv);
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
		backends[b].enabled = P.only ? in_list(P.only, backends[b].name)
					     : !backends[b].optional;
		backends[b].dirfd = -1;
		backends[b].pid = -1;
	}
	machine_facts();
	prepare();

	for (size_t b = 0; b < nb; b++) {
		struct backend *be = &backends[b];

		if (!be->enabled)
			continue;
		be->up = be->setup(be) == 0;
		fprintf(stderr, "vdax-bench: %s: %s%s\n", be->name,
			be->up ? "up, " : "NOT MEASURED: ",
			be->up ? be->version : be->why);
		nup += be->up;
	}
	if (!nup)
		die("no backend could be set up");

	for (size_t w = 0; w < ARRAY_SIZE(workloads); w++)
		for (int t = 0; t < 4; t++)
			for (size_t b = 0; b < nb; b++)
				for (int r = 0; r < MAX_REPS; r++)
					results[w][t][b][r] = NAN;
	for (size_t w = 0; w < ARRAY_SIZE(workloads); w++)
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

		for (size_t w = 0; w < ARRAY_SIZE(workloads) && !interrupted; w++) {
			const struct workload *wl = &workloads[w];

			if (!wl_enabled(wl))
				continue;
			for (int t = 0; t < nt && !interrupted; t++) {
				double units[ARRAY_SIZE(backends)] = { 0 };
				double secs[ARRAY_SIZE(backends)] = { 0 };
				bool failed[ARRAY_SIZE(backends)] = { 0 };
				char line[512], num[32];
				int len, left;
				double el;

				for (int sl = 0; sl < nslices; sl++) {
					for (size_t k = 0; k < nb; k++) {
						size_t b = (k + rep + sl) % nb;
						struct backend *be = &backends[b];
						char what[160] = "";

						if (!be->up || failed[b])
							continue;
						if (measure(be, wl, P.threads[t], dur,
							    &units[b], &secs[b], what,
							    sizeof(what)) < 0) {
							fmt(failures[w][t][b],
							    sizeof(failures[w][t][b]),
							    "%s", what);
							failed[b] = true;
						}
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

					if (!backends[b].up)
						continue;
					if (rep)
						results[w][t][b][rep - 1] = v;
					len += snprintf(line + len,
							sizeof(line) - len,
							" %s %s", backends[b].name,
							isnan(v) ? "FAILED"
								 : human(v, num, sizeof(num)));
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
	read_load(M.load_end);

	for (size_t b = 0; b < nb; b++)
		if (backends[b].up)
			backends[b].teardown(&backends[b]);
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
