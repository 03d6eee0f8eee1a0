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
} P = {
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

static volatile sig_atomic_t interrupted; /* SIGINT/SIGTERM seen */
static void md_pressure(FILE *f);
static void json_cat(FILE *f);

/* The walk tree: TREE_TOP dirs of TREE_MID dirs of files. */
#define TREE_TOP 20
#define TREE_MID 10

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
	size_t cache_size;	/* vdaxd --cache-size, 0 = none */
	const char *vdax_options; /* libvdax session options */
	const char *notes;	/* for the report: what a reader must know */
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

static int lo_lstat(struct backend *be, const char *path, struct stat *st)
{
	return fstatat(be->dirfd, path, st, AT_SYMLINK_NOFOLLOW) ? -errno : 0;
}

static int lo_mmap(struct backend *be, struct bfile *f, size_t len, int prot,
		   void **addr)
{
	void *p = mmap(NULL, len, prot, MAP_SHARED, f->fd, 0);

	(void)be;
	if (p == MAP_FAILED)
		return -errno;
	*addr = p;
	return 0;
}

static int lo_munmap(void *addr, size_t len)
{
	return munmap(addr, len) ? -errno : 0;
}

static int lo_readdir(struct backend *be, const char *path, uint64_t *entries,
		      int (*cb)(void *arg, const char *name), void *arg)
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
	while ((de = readdir(d))) {
		(*entries)++;
		if (!cb || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		ret = cb(arg, de->d_name);
		if (ret)
			break;
	}
	if (!ret && errno)
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
	.lstat = lo_lstat,
	.readdir = lo_readdir,
	.mmap = lo_mmap,
	.munmap = lo_munmap,
};

/* ---- libvdax ---- */

/* The working-set rows ("ws*" files) use the small-window session. */
static struct vdax *vx_session(struct backend *be, const char *path)
{
	return be->vd2 && !strncmp(path, "ws", 2) ? be->vd2 : be->vd;
}

static int vx_open(struct backend *be, const char *path, int flags,
		   mode_t mode, struct bfile *f)
{
	return vdax_open(vx_session(be, path), path, flags, mode, &f->vf);
}

static int vx_lstat(struct backend *be, const char *path, struct stat *st)
{
	return vdax_lstat(be->vd, path, st);
}

static int vx_mmap(struct backend *be, struct bfile *f, size_t len, int prot,
		   void **addr)
{
	if (!be->dax)
		return -ENODEV;
	return vdax_mmap(f->vf, len, prot, MAP_SHARED, 0, addr);
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

static int vx_readdir(struct backend *be, const char *path, uint64_t *entries,
		      int (*cb)(void *arg, const char *name), void *arg)
{
	struct vdax_dirent ent;
	struct vdax_dir *d;
	int ret;

	ret = vdax_opendir(be->vd, path, &d);
	if (ret)
		return ret;
	*entries = 0;
	while ((ret = vdax_readdir(d, &ent)) == 1) {
		(*entries)++;
		if (!cb || !strcmp(ent.name, ".") || !strcmp(ent.name, ".."))
			continue;
		ret = cb(arg, ent.name);
		if (ret)
			break;
	}
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
	.lstat = vx_lstat,
	.readdir = vx_readdir,
	.mmap = vx_mmap,
	.munmap = vdax_munmap,
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

static void stop_pid(pid_t *pidp)
{
	int status;

	if (*pidp <= 0)
		return;
	kill(*pidp, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(*pidp, &status, WNOHANG) == *pidp) {
			*pidp = -1;
			return;
		}
		usleep(20000);
	}
	kill(*pidp, SIGKILL);
	waitpid(*pidp, &status, 0);
	*pidp = -1;
}

static void log_tail(struct backend *be, const char *log)
{
	char line[256];
	size_t len = strlen(be->why);
	FILE *f = fopen(log, "r");

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

/* fork + exec @argv with stdout/stderr to @log; the pid or -1. */
static pid_t spawn(char *const argv[], const char *log)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/*
 * Start a daemon (argv[0] is the executable) that will listen on @sock,
 * logging to @log; wait for the socket. 0 or -1 with be->why set.
 */
static int daemon_start(struct backend *be, char *const argv[],
			const char *sock, const char *log, pid_t *pidp)
{
	struct stat st;
	int status;
	pid_t pid;

	if (!argv[0] || !*argv[0] || access(argv[0], X_OK)) {
		fmt(be->why, sizeof(be->why), "%s: not found",
			 argv[0] && *argv[0] ? argv[0] : "executable");
		return -1;
	}
	if (!be->version[0])
		exe_version(argv[0], be->version, sizeof(be->version));
	unlink(sock);
	pid = spawn(argv, log);
	if (pid < 0) {
		fmt(be->why, sizeof(be->why), "fork: %s", strerror(errno));
		return -1;
	}
	*pidp = pid;
	for (int i = 0;; i++) {
		if (!stat(sock, &st) && S_ISSOCK(st.st_mode))
			return 0;
		if (waitpid(pid, &status, WNOHANG) == pid || i >= 500) {
			*pidp = (i >= 500) ? pid : -1;
			stop_pid(pidp);
			fmt(be->why, sizeof(be->why), "%s did not start",
			    argv[0]);
			log_tail(be, log);
			return -1;
		}
		usleep(10000);
	}
}

static int session_open(struct backend *be, const char *sock, const char *log,
			unsigned queues, const char *options,
			struct vdax **out)
{
	struct vdax_opts o = { 0 };
	int ret;

	o.socket_path = sock;
	o.num_queues = queues;
	o.options = options;
	/* The socket exists from bind(); until listen() a connect is
	 * refused (a busy machine shows it). */
	for (int i = 0; i < 200; i++) {
		ret = vdax_open_session(&o, out);
		if (ret != -ECONNREFUSED)
			break;
		usleep(10000);
	}
	if (ret) {
		fmt(be->why, sizeof(be->why), "vdax_open_session(%s): %s",
		    options ? options : "", strerror(-ret));
		log_tail(be, log);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* vdaxd serving the share on @sock, with a DAX window of @cache bytes. */
static int vdaxd_start(struct backend *be, const char *sock, const char *log,
		       unsigned queues, size_t cache, pid_t *pidp)
{
	char src[PATH_MAX + 32], sockopt[PATH_MAX + 16], nq[48], cs[48];
	char *argv[] = { (char *)P.vdaxd, sockopt, nq, "-o", src, NULL, NULL };

	snprintf(sockopt, sizeof(sockopt), "--socket-path=%s", sock);
	snprintf(nq, sizeof(nq), "--num-request-queues=%u", queues);
	snprintf(src, sizeof(src), "source=%s,cache=auto", sharedir);
	if (cache) {
		snprintf(cs, sizeof(cs), "--cache-size=%zuM", cache / MIB);
		argv[5] = cs;
	}
	return daemon_start(be, argv, sock, log, pidp);
}

static int vdaxd_setup(struct backend *be)
{
	static char opts[128], opts2[128], eopts[64];
	char ent[48] = "";

	fmt_path(be->sock, sizeof(be->sock), "%s/%s.sock", workdir, be->name);
	fmt_path(be->log, sizeof(be->log), "%s/%s.log", workdir, be->name);
	if (vdaxd_start(be, be->sock, be->log, be->queues, be->cache_size,
			&be->pid))
		return -1;
	if (P.entries)
		snprintf(ent, sizeof(ent), ",entries=%u", P.entries);
	if (be->cache_size) {
		snprintf(opts, sizeof(opts), "dax=always,cache_size=%zuM%s",
			 be->cache_size / MIB, ent);
		be->vdax_options = opts;
	} else if (P.entries) {
		snprintf(eopts, sizeof(eopts), "%s", ent + 1);
		be->vdax_options = eopts;
	}
	if (session_open(be, be->sock, be->log, be->queues, be->vdax_options,
			 &be->vd)) {
		stop_pid(&be->pid);
		return -1;
	}
	be->max_write = vdax_max_write(be->vd);
	if (!be->cache_size)
		return 0;
	be->dax = true;
	/* the working-set rows: a second session with the small window */
	fmt_path(be->sock2, sizeof(be->sock2), "%s/%s-ws.sock", workdir,
		 be->name);
	fmt_path(be->log2, sizeof(be->log2), "%s/%s-ws.log", workdir,
		 be->name);
	snprintf(opts2, sizeof(opts2), "dax=always,cache_size=%zuM%s",
		 P.ws_window / MIB, ent);
	if (vdaxd_start(be, be->sock2, be->log2, be->queues, P.ws_window,
			&be->pid2) ||
	    session_open(be, be->sock2, be->log2, be->queues, opts2,
			 &be->vd2)) {
		vdax_close(be->vd);
		be->vd = NULL;
		stop_pid(&be->pid2);
		stop_pid(&be->pid);
		return -1;
	}
	return 0;
}

static int virtiofsd_setup(struct backend *be)
{
	char src[PATH_MAX + 16], sockopt[PATH_MAX + 16];
	char *argv[] = { (char *)P.virtiofsd, sockopt, "-o", src,
			 "-o", "cache=auto", "-o", "sandbox=chroot", NULL };

	fmt_path(be->sock, sizeof(be->sock), "%s/%s.sock", workdir, be->name);
	fmt_path(be->log, sizeof(be->log), "%s/%s.log", workdir, be->name);
	snprintf(sockopt, sizeof(sockopt), "--socket-path=%s", be->sock);
	snprintf(src, sizeof(src), "source=%s", sharedir);
	if (daemon_start(be, argv, be->sock, be->log, &be->pid))
		return -1;
	/* one request queue: that is all QEMU's C virtiofsd offers */
	be->queues = 1;
	if (P.entries) {
		static char eopts[64];

		snprintf(eopts, sizeof(eopts), "entries=%u", P.entries);
		be->vdax_options = eopts;
	}
	if (session_open(be, be->sock, be->log, 1, be->vdax_options, &be->vd)) {
		stop_pid(&be->pid);
		return -1;
	}
	be->max_write = vdax_max_write(be->vd);
	return 0;
}

/* The Rust virtiofsd, as vdax-conform runs it: chroot sandbox, cache=auto. */
static int rust_setup(struct backend *be)
{
	char src[PATH_MAX + 16], sockopt[PATH_MAX + 16];
	char *argv[] = { (char *)P.rust, sockopt, src, "--cache=auto",
			 "--sandbox=chroot", NULL };

	if (!P.rust || !*P.rust)
		return -1;
	fmt_path(be->sock, sizeof(be->sock), "%s/%s.sock", workdir, be->name);
	fmt_path(be->log, sizeof(be->log), "%s/%s.log", workdir, be->name);
	snprintf(sockopt, sizeof(sockopt), "--socket-path=%s", be->sock);
	snprintf(src, sizeof(src), "--shared-dir=%s", sharedir);
	if (daemon_start(be, argv, be->sock, be->log, &be->pid))
		return -1;
	be->queues = 1; /* one request queue, as QEMU's C virtiofsd */
	if (P.entries) {
		static char eopts[64];

		snprintf(eopts, sizeof(eopts), "entries=%u", P.entries);
		be->vdax_options = eopts;
	}
	if (session_open(be, be->sock, be->log, 1, be->vdax_options, &be->vd)) {
		stop_pid(&be->pid);
		return -1;
	}
	be->max_write = vdax_max_write(be->vd);
	return 0;
}

static void vdax_teardown(struct backend *be)
{
	vdax_close(be->vd);
	be->vd = NULL;
	vdax_close(be->vd2);
	be->vd2 = NULL;
	stop_pid(&be->pid);
	stop_pid(&be->pid2);
}

static bool is_mounted(const char *mnt)
{
	char parent[PATH_MAX + 4];
	struct stat a, b;

	fmt(parent, sizeof(parent), "%s/..", mnt);
	return !stat(mnt, &a) && !stat(parent, &b) && a.st_dev != b.st_dev;
}

static void mount_teardown(struct backend *be)
{
	if (be->dirfd >= 0)
		close(be->dirfd);
	be->dirfd = -1;
	if (be->mnt[0] && is_mounted(be->mnt) && umount2(be->mnt, 0))
		umount2(be->mnt, MNT_DETACH);
	if (be->fuse_pid > 0) {
		int status;

		/* the server leaves its loop once the mount is gone */
		for (int i = 0; i < 100; i++) {
			if (waitpid(be->fuse_pid, &status, WNOHANG) ==
			    be->fuse_pid) {
				be->fuse_pid = -1;
				break;
			}
			usleep(20000);
		}
		stop_pid(&be->fuse_pid);
	}
	stop_pid(&be->pid);
}

/* vdaxd + `vdax mount -f` on a new mount point; local syscalls on it. */
static int mount_setup(struct backend *be)
{
	char opts[256];
	char *argv[] = { (char *)P.vdax_tool, "mount", "--socket", be->sock,
			 "-o", opts, "-f", be->mnt, NULL };
	int status;

	fmt_path(be->sock, sizeof(be->sock), "%s/%s.sock", workdir, be->name);
	fmt_path(be->log, sizeof(be->log), "%s/%s.log", workdir, be->name);
	fmt_path(be->fuse_log, sizeof(be->fuse_log), "%s/%s-fuse.log",
		 workdir, be->name);
	fmt_path(be->mnt, sizeof(be->mnt), "%s/mnt-%s", workdir, be->name);
	if (!P.vdax_tool || !*P.vdax_tool || access(P.vdax_tool, X_OK)) {
		fmt(be->why, sizeof(be->why), "the vdax command (%s) not found",
		    P.vdax_tool && *P.vdax_tool ? P.vdax_tool : "--vdax");
		return -1;
	}
	if (mkdir(be->mnt, 0755) && errno != EEXIST) {
		fmt(be->why, sizeof(be->why), "mkdir %s: %s", be->mnt,
		    strerror(errno));
		return -1;
	}
	if (vdaxd_start(be, be->sock, be->log, be->queues, be->cache_size,
			&be->pid))
		return -1;
	if (be->cache_size)
		snprintf(opts, sizeof(opts), "%s,cache_size=%zuM,queues=%u",
			 be->mount_opts, be->cache_size / MIB, be->queues);
	else
		snprintf(opts, sizeof(opts), "%s,queues=%u", be->mount_opts,
			 be->queues);
	be->fuse_pid = spawn(argv, be->fuse_log);
	if (be->fuse_pid < 0) {
		fmt(be->why, sizeof(be->why), "fork: %s", strerror(errno));
		stop_pid(&be->pid);
		return -1;
	}
	for (int i = 0; !is_mounted(be->mnt); i++) {
		if (waitpid(be->fuse_pid, &status, WNOHANG) == be->fuse_pid ||
		    i >= 500) {
			if (i < 500)
				be->fuse_pid = -1;
			fmt(be->why, sizeof(be->why), "vdax mount -o %s failed",
			    opts);
			log_tail(be, be->fuse_log);
			mount_teardown(be);
			return -1;
		}
		usleep(10000);
	}
	be->vdax_options = strdup(opts);
	be->dirfd = open(be->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (be->dirfd < 0) {
		fmt(be->why, sizeof(be->why), "open %s: %s", be->mnt,
		    strerror(errno));
		mount_teardown(be);
		return -1;
	}
	{
		size_t l = strlen(be->version);

		snprintf(be->version + l, sizeof(be->version) - l,
			 " + vdax mount");
	}
	return 0;
}

/* The guest columns are measured by bench/guest/run.sh (--guest=FILE). */
static int guest_setup(struct backend *be)
{
	fmt(be->why, sizeof(be->why), "no guest results (--guest=FILE)");
	return -1;
}

static void no_teardown(struct backend *be)
{
	(void)be;
}

#define Q4 .queues = 4 /* replaced by --queues at start */
static struct backend backends[] = {
	{ "local", "local syscalls on the host directory (the limit)",
	  &local_ops, local_setup, local_teardown, .sweep = true },
	{ "dax", "libvdax with DAX (dax=always) on vdaxd --cache-size: file "
		 "data by memcpy through the shared window; the "
		 "working-set rows use a second session with a smaller window",
	  &vdax_ops, vdaxd_setup, vdax_teardown, .sweep = true, Q4,
	  .cache_size = 1 /* P.window */ },
	{ "vdaxd", "libvdax without DAX on vdaxd (FUSE_READ/FUSE_WRITE "
		   "through the virtqueues)",
	  &vdax_ops, vdaxd_setup, vdax_teardown, .sweep = true, Q4 },
	{ "virtiofsd", "libvdax on QEMU's C virtiofsd (sandbox=chroot, "
		       "cache=auto, its single request queue; it has no DAX "
		       "window)",
	  &vdax_ops, virtiofsd_setup, vdax_teardown },
	{ "mnt-dax", "`vdax mount -o dax=always` (FUSE in the host kernel, "
		     "libvdax with DAX behind it) on vdaxd --cache-size; "
		     "programs use ordinary syscalls on the mount",
	  &local_ops, mount_setup, mount_teardown, Q4, .cache_size = 1,
	  .mount_opts = "dax=always" },
	{ "mnt", "`vdax mount -o dax=never` (FUSE in the host kernel, "
		 "libvdax without DAX behind it) on vdaxd",
	  &local_ops, mount_setup, mount_teardown, Q4,
	  .mount_opts = "dax=never" },
	{ "guest-vdaxd", "a Linux guest (QEMU TCG, 1 vCPU) on vdaxd, "
			 "bench/guest/run.sh; its own workloads, see below",
	  &local_ops, guest_setup, no_teardown, .external = true },
	{ "guest-virtiofsd", "the same guest on QEMU's virtiofsd",
	  &local_ops, guest_setup, no_teardown, .external = true },
	{ "rust", "libvdax on the Rust virtiofsd (Debian 13's, "
		  "scripts/rust-virtiofsd.sh; sandbox=chroot, cache=auto, one "
		  "request queue); with --rust=PATH and --only",
	  &vdax_ops, rust_setup, vdax_teardown, .optional = true },
	{ "vdaxd-1q", "libvdax on vdaxd with one request queue",
	  &vdax_ops, vdaxd_setup, vdax_teardown, .optional = true,
	  .queues = 1 },
};

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

static struct backend *backend_by_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(backends); i++)
		if (!strcmp(backends[i].name, name))
			return &backends[i];
	return NULL;
}

/* ---------------- workloads ---------------- */

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
};

static const struct workload workloads[] = {
	{ "randread", "4 KiB random read", "IOPS",
	  "pread of 4 KiB at a random 4 KiB-aligned offset of a 64 MiB file "
	  "that sits in the host page cache; each thread has its own handle",
	  WL_RANDREAD, 4 * KIB },
	{ "randwrite", "4 KiB random write", "IOPS",
	  "pwrite of 4 KiB at a random 4 KiB-aligned offset of a 64 MiB "
	  "preallocated file (a file per column, opened O_RDWR so that DAX "
	  "may map it writable; no fsync)",
	  WL_RANDWRITE, 4 * KIB },
	{ "seqread", "1 MiB sequential read", "MiB/s",
	  "pread of 1 MiB, in order, wrapping; each thread reads its own "
	  "slice of the 64 MiB cached file",
	  WL_SEQREAD, MIB },
	{ "seqwrite", "1 MiB sequential write", "MiB/s",
	  "pwrite of 1 MiB, in order, over a preallocated 64 MiB file "
	  "(a file per column, each thread its own slice, O_RDWR; no fsync)",
	  WL_SEQWRITE, MIB },
	{ "mmapread", "mmap 4 KiB random read", "IOPS",
	  "memcpy of 4 KiB from a random 4 KiB-aligned offset of a "
	  "MAP_SHARED PROT_READ mapping of the 64 MiB read file (vdax_mmap for "
	  "libvdax with DAX, mmap(2) for local and the mounts); the mapping "
	  "is made once per thread and kept, so the figure is the steady "
	  "state after the first touches",
	  WL_MMAPREAD, 4 * KIB },
	{ "mmapwrite", "mmap 1 MiB sequential write", "MiB/s",
	  "memcpy of 1 MiB, in order, into a MAP_SHARED PROT_READ|PROT_WRITE "
	  "mapping of the column's 64 MiB write file (each thread its own "
	  "slice; no msync); mapping kept as above",
	  WL_MMAPWRITE, MIB },
	{ "meta", "create+stat+unlink", "files/s",
	  "one op = open(O_CREAT|O_EXCL) + close + stat + unlink of an "
	  "empty file, in a directory per thread",
	  WL_META, 0 },
	{ "readdir", "readdir 10 000 entries", "entries/s",
	  "opendir + read every entry + closedir of a directory of 10 000 "
	  "files (every thread the same directory)",
	  WL_READDIR, 0 },
	{ "walk", "stat walk of 20 000 files", "stats/s",
	  "`git status`-like: read every directory of a tree of 20 000 empty "
	  "files (20 x 10 directories of 100) and lstat every entry by its "
	  "path; every thread walks the whole tree",
	  WL_WALK, 0 },
	{ "ws8x", "4 KiB random read, working set 8x window", "IOPS",
	  "as 4 KiB random read, over the first 256 MiB of a file: 8x the "
	  "32 MiB window of the dax column's second session (its other "
	  "rows have 256 MiB); the mnt-dax column keeps its 256 MiB window",
	  WL_RANDREAD, 4 * KIB, 8 },
	{ "ws0.5x", "4 KiB random read, working set 0.5x window", "IOPS",
	  "the sweep: as above over the first 16 MiB", WL_RANDREAD, 4 * KIB,
	  0.5, true },
	{ "ws1x", "4 KiB random read, working set 1x window", "IOPS",
	  "the sweep: over the first 32 MiB", WL_RANDREAD, 4 * KIB, 1, true },
	{ "ws2x", "4 KiB random read, working set 2x window", "IOPS",
	  "the sweep: over the first 64 MiB", WL_RANDREAD, 4 * KIB, 2, true },
	{ "ws4x", "4 KiB random read, working set 4x window", "IOPS",
	  "the sweep: over the first 128 MiB", WL_RANDREAD, 4 * KIB, 4, true },
	{ "wsseq8x", "1 MiB sequential read, file 8x window", "MiB/s",
	  "pread of 1 MiB, in order, wrapping, over the 256 MiB file: 8x "
	  "the 32 MiB window of the dax column's second session; each "
	  "thread its own slice", WL_SEQREAD, MIB, 8, true },
};

/* Kept mappings of the mmap rows, per workload, column and thread. */
static struct pmap {
	void *addr;
	size_t len;
} maps[ARRAY_SIZE(workloads)][16][MAX_THREADS];

/* DAX counters of the dax column, summed over a cell's measured runs. */
static struct vdax_stats daxdelta[ARRAY_SIZE(workloads)][4];

static unsigned meta_gen;	/* measurements so far (main thread) */

/* One thread of one measurement. */
struct job {
	struct backend *be;
	const struct workload *wl;
	int tid, nthreads;
	pthread_barrier_t *start;
	const int *stop;
	struct bfile f;
	char *buf;
	char *map;
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

static bool wl_writes(const struct workload *wl)
{
	return wl->kind == WL_RANDWRITE || wl->kind == WL_SEQWRITE ||
	       wl->kind == WL_MMAPWRITE;
}

static bool wl_mmap(const struct workload *wl)
{
	return wl->kind == WL_MMAPREAD || wl->kind == WL_MMAPWRITE;
}

static bool wl_io(const struct workload *wl)
{
	return wl->kind != WL_META && wl->kind != WL_READDIR &&
	       wl->kind != WL_WALK;
}

/* Bytes of the file a row uses. */
static size_t wl_span(const struct workload *wl)
{
	return wl->ws > 0 ? (size_t)(wl->ws * P.ws_window) : P.file_size;
}

static void data_path(const struct job *j, char *p, size_t n)
{
	if (j->wl->ws > 0)
		snprintf(p, n, "ws.bin");
	else if (!wl_writes(j->wl))
		snprintf(p, n, "data.bin");
	else
		snprintf(p, n, "w-%s.bin", j->be->name);
}

static int job_io(struct job *j)
{
	const struct bops *ops = j->be->ops;
	bool write = wl_writes(j->wl);
	bool rnd = j->wl->kind == WL_RANDREAD || j->wl->kind == WL_RANDWRITE ||
		   j->wl->kind == WL_MMAPREAD;
	size_t bs = j->wl->bs, span = wl_span(j->wl);
	off_t slice = span / j->nthreads / bs * bs;
	off_t base = slice * j->tid, pos = 0;
	uint64_t nblocks = span / bs;

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
		if (j->map) {
			if (write)
				memcpy(j->map + off, j->buf, bs);
			else
				memcpy(j->buf, j->map + off, bs);
			/* keep the copy */
			__asm__ volatile("" : : "r"(j->buf), "r"(j->map)
					 : "memory");
			n = bs;
		} else {
			n = write ? ops->pwrite(&j->f, j->buf, bs, off)
				  : ops->pread(&j->f, j->buf, bs, off);
		}
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
		ret = j->be->ops->readdir(j->be, "rd", &n, NULL, NULL);
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

struct walk {
	struct job *j;
	int depth;
	char path[256];
};

/* lstat every entry; read the directories above the leaves. */
static int walk_cb(void *arg, const char *name)
{
	struct walk *w = arg;
	struct job *j = w->j;
	size_t len = strlen(w->path);
	struct stat st;
	uint64_t n;
	int ret;

	if (stopped(j))
		return 1;
	if (len + strlen(name) + 2 > sizeof(w->path))
		return -ENAMETOOLONG;
	snprintf(w->path + len, sizeof(w->path) - len, "/%s", name);
	ret = j->be->ops->lstat(j->be, w->path, &st);
	if (ret) {
		snprintf(j->errwhat, sizeof(j->errwhat), "lstat");
	} else {
		j->units++;
		if (w->depth < 2) {
			w->depth++;
			ret = j->be->ops->readdir(j->be, w->path, &n, walk_cb,
						  w);
			if (ret < 0)
				snprintf(j->errwhat, sizeof(j->errwhat),
					 "readdir");
			w->depth--;
		}
	}
	w->path[len] = 0;
	return ret;
}

static int job_walk(struct job *j)
{
	struct walk w = { .j = j, .path = "tree" };
	uint64_t n;
	int ret;

	while (!stopped(j)) {
		ret = j->be->ops->readdir(j->be, w.path, &n, walk_cb, &w);
		if (ret < 0) {
			if (!j->errwhat[0])
				snprintf(j->errwhat, sizeof(j->errwhat),
					 "readdir tree");
			return ret;
		}
		if (!ret)
			j->ops++;
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
	case WL_MMAPREAD:
	case WL_MMAPWRITE:
		j->err = job_io(j);
		break;
	case WL_WALK:
		j->err = job_walk(j);
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
	bool io = wl_io(wl), mm = wl_mmap(wl);
	size_t w = wl - workloads, b = be - backends;
	int stop = 0, err = 0, started = 0;
	uint64_t units = 0;
	double t0 = 0, t1 = 0;
	char path[128];

	memset(jobs, 0, sizeof(jobs));
	meta_gen++;
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
		/* fresh names every measurement: a name left behind by a
		 * failed unlink must not fail the next slice */
		if (wl->kind == WL_META)
			j->seed = (uint64_t)meta_gen << 32;
		if (!io)
			continue;
		if (posix_memalign((void **)&j->buf, 4096, wl->bs))
			die("out of memory");
		memset(j->buf, 0x5a + i, wl->bs);
		data_path(j, path, sizeof(path));
		if (mm && maps[w][b][i].addr) {
			j->map = maps[w][b][i].addr;
			continue;
		}
		err = be->ops->open(be, path, wl_writes(wl) ? O_RDWR : O_RDONLY,
				    0, &j->f);
		if (err) {
			snprintf(what, wsize, "open %s: %s", path,
				 strerror(-err));
			nthreads = i;
			goto out;
		}
		if (!mm)
			continue;
		err = be->ops->mmap(be, &j->f, P.file_size,
				    wl_writes(wl) ? PROT_READ | PROT_WRITE
						  : PROT_READ,
				    (void **)&j->map);
		/* the mapping holds the file */
		be->ops->close(&j->f);
		j->f.fd = -1;
		j->f.vf = NULL;
		if (err) {
			snprintf(what, wsize, "mmap %s: %s", path,
				 strerror(-err));
			nthreads = i;
			goto out;
		}
		maps[w][b][i].addr = j->map;
		maps[w][b][i].len = P.file_size;
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
		if (io && !mm)
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
	write_file(dirfd, "ws.bin", 8 * P.ws_window);
	for (size_t b = 0; b < ARRAY_SIZE(backends); b++) {
		if (!backends[b].enabled || backends[b].external)
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
	mkdir_p(dirfd, "tree");
	for (unsigned i = 0; i < P.tree_files; i++) {
		unsigned per_leaf = (P.tree_files + TREE_TOP * TREE_MID - 1) /
				    (TREE_TOP * TREE_MID);
		unsigned leaf = i / per_leaf;
		int fd;

		snprintf(name, sizeof(name), "tree/d%02u", leaf / TREE_MID);
		if (leaf % TREE_MID == 0 && i % per_leaf == 0)
			mkdir_p(dirfd, name);
		snprintf(name, sizeof(name), "tree/d%02u/s%02u", leaf / TREE_MID,
			 leaf % TREE_MID);
		if (i % per_leaf == 0)
			mkdir_p(dirfd, name);
		snprintf(name, sizeof(name), "tree/d%02u/s%02u/file-%05u.c",
			 leaf / TREE_MID, leaf % TREE_MID, i);
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			die("create %s: %s", name, strerror(errno));
		close(fd);
	}
	syncfs(dirfd);
	warm_file(dirfd, "data.bin");
	warm_file(dirfd, "ws.bin");
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

static const char *cell_na(const struct backend *be,
			   const struct workload *wl);

/* Is the cell (w, t, b) to be reported? */
static bool cell_shown(size_t w, int t, size_t b)
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

static void write_json(const char *path)
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
		fprintf(f, ", \"options\": ");
		json_str(f, be->vdax_options ? be->vdax_options : "");
		fprintf(f, ", \"queues\": %u, \"max_write\": %zu, "
			   "\"cache_size\": %zu}",
			be->queues, be->max_write, be->cache_size);
	}
	fprintf(f, "\n  ],\n  \"workloads\": [\n");
	first = true;
	for (size_t w = 0; w < ARRAY_SIZE(workloads); w++) {
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
	for (size_t w = 0; w < ARRAY_SIZE(workloads); w++) {
		for (int t = 0; t < nt; t++) {
			for (size_t b = 0; b < ARRAY_SIZE(backends); b++) {
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
	for (size_t w = 0; w < ARRAY_SIZE(workloads); w++) {
		if (!wl_enabled(&workloads[w]))
			continue;
		for (int t = 0; t < nt; t++) {
			for (size_t b = 0; b < ARRAY_SIZE(backends); b++) {
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
	for (size_t w = 0; w < ARRAY_SIZE(workloads); w++) {
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

static int find_wl(const char *id)
{
	for (size_t w = 0; w < ARRAY_SIZE(workloads); w++)
		if (!strcmp(workloads[w].id, id) && wl_enabled(&workloads[w]))
			return w;
	return -1;
}

/* Per-repetition ratio of two cells of one column (rows wa, wb). */
static struct stats row_ratio(int wa, int wb, int t, int b)
{
	double r[MAX_REPS];

	for (int i = 0; i < P.reps; i++) {
		double x = results[wa][t][b][i], y = results[wb][t][b][i];

		r[i] = (isnan(x) || isnan(y) || y <= 0) ? NAN : x / y;
	}
	return stats_of(r, P.reps);
}

static void md_target(FILE *f, const char *what, struct stats s,
		      double target, bool at_most)
{
	const char *verdict;

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
	if (s.n)
		fprintf(f, "| %s | %.2f [%.2f–%.2f] | %s%.2g | %s |\n", what,
			s.med, s.min, s.max, at_most ? "≤ " : "≥ ", target,
			verdict);
	else
		fprintf(f, "| %s | n/a | %s%.2g | %s |\n", what,
			at_most ? "≤ " : "≥ ", target, verdict);
}

static void write_markdown(FILE *f)
{
	int nt = nthreads_count();
	struct backend *lo = backend_by_name("local");
	size_t nb = ARRAY_SIZE(backends);
	char a[32], b[32], c[32];
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
	for (size_t w = 0; w < ARRAY_SIZE(workloads); w++)
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
	for (size_t w = 0; w < ARRAY_SIZE(workloads); w++) {
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
				else if (backends[i].external)
					fprintf(f, " %s [%s–%s] |",
						human(s.med, a, sizeof(a)),
						human(s.min, b, sizeof(b)),
						human(s.max, c, sizeof(c)));
				else
					fprintf(f, " %s [%s–%s] |",
						human(s.med, a, sizeof(a)),
						human(s.min, b, sizeof(b)),
						human(s.max, c, sizeof(c)));
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
	for (size_t w = 0; w < ARRAY_SIZE(workloads); w++) {
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
		static const char *const ids[] = { "ws0.5x", "ws1x", "ws2x",
						   "ws4x", "ws8x" };

		for (size_t k = 0; k < ARRAY_SIZE(ids); k++) {
			int w = find_wl(ids[k]);
			struct backend *dx = backend_by_name("dax");
			double reads;

			if (w < 0)
				continue;
			fprintf(f, "| %g x (%zu MiB) | %d |", workloads[w].ws,
				wl_span(&workloads[w]) / MIB, P.threads[t]);
			for (size_t i = 0; i < nb; i++) {
				struct stats s;

				if (!backends[i].up || !backends[i].sweep)
					continue;
				s = stats_of(results[w][t][i], P.reps);
				fprintf(f, " %s [%s–%s] |",
					human(s.med, a, sizeof(a)),
					human(s.min, b, sizeof(b)),
					human(s.max, c, sizeof(c)));
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
				md_target(f, what, row_ratio(w05, w8, t, dx - backends), 3, true);
			}
		}
	}
	fprintf(f, "| vdaxd ≥ virtiofsd on every row | %d of %d rows (median) | all | %s |\n",
		vmet, vmet + vnoise + vmissed,
		vmet == vmet + vnoise + vmissed ? "**met**" : "**missed** on some rows, see the ratio table");
}

/* ---------------- cold whole-process `vdax cat` ---------------- */

/*
 * One `vdax cat` (or local `cat`) of ws.bin (256 MiB, in the host page
 * cache) as a whole process: exec, session set-up, the read, teardown.
 * Each vdax run gets a fresh vdaxd --cache-size=CAT_WINDOW, so every DAX
 * mapping is made during the measured run. Best of CAT_REPS (the issue's
 * measure), the variants interleaved with the order rotating.
 */
#define CAT_WINDOW (64 * MIB)
#define CAT_REPS   3

static const struct cat_variant {
	const char *name;
	const char *desc;
	const char *options; /* vdax -o; NULL: local cat */
} cat_variants[] = {
	{ "local", "`cat FILE > /dev/null` on the host directory", NULL },
	{ "dax", "`vdax -o dax=always,cache_size=64M cat` (adaptive admission)",
	  "dax=always,cache_size=64M" },
	{ "dax-all", "the same with `dax_admit=all` (every miss maps: the "
		     "behaviour before issue 13)",
	  "dax=always,cache_size=64M,dax_admit=all" },
	{ "nodax", "`vdax -o dax=never cat` (FUSE_READ)", "dax=never" },
};

static struct cat_result {
	double ms[CAT_REPS]; /* NAN: failed */
	uint64_t misses, admissions, bypasses, readaheads, direct;
	char why[200];
} cat_res[ARRAY_SIZE(cat_variants)];
static bool cat_ran;

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
	if (!cv->options) {
		char *argv[] = { "/bin/cat", file, NULL };

		fmt_path(file, sizeof(file), "%s/ws.bin", sharedir);
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
				 "ws.bin", NULL };

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

static void cold_cat(void)
{
	size_t nv = ARRAY_SIZE(cat_variants);
	int reps = P.reps < CAT_REPS ? (P.reps < 1 ? 1 : P.reps) : CAT_REPS;

	if (!P.vdax_tool || !*P.vdax_tool || access(P.vdax_tool, X_OK)) {
		fprintf(stderr, "vdax-bench: no vdax tool: no cold cat rows\n");
		return;
	}
	for (size_t v = 0; v < nv; v++)
		for (int k = 0; k < CAT_REPS; k++)
			cat_res[v].ms[k] = NAN;
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
static double cat_best(size_t v)
{
	double b = NAN;

	for (int k = 0; k < CAT_REPS; k++)
		if (!isnan(cat_res[v].ms[k]) && (isnan(b) || cat_res[v].ms[k] < b))
			b = cat_res[v].ms[k];
	return b;
}

static int cat_find(const char *name)
{
	for (size_t v = 0; v < ARRAY_SIZE(cat_variants); v++)
		if (!strcmp(cat_variants[v].name, name))
			return (int)v;
	return -1;
}

/* ---------------- issue 13: DAX under pressure ---------------- */

static const char *const pressure_ids[] = { "randread", "ws2x", "ws4x",
					    "ws8x", "wsseq8x" };

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
	int nt = nthreads_count();
	char a[32], b[32], c[32];

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
			   "`cat` | ranges set up | admitted | bypassed | read "
			   "ahead | direct reclaims |\n"
			   "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n",
			CAT_REPS);
		for (size_t v = 0; v < ARRAY_SIZE(cat_variants); v++) {
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
			fprintf(f, "| %s | %.0f | %s | %.2f | %.2f |",
				cat_variants[v].desc, best, runs,
				cat_best(nd) / best, cat_best(lo) / best);
			if (cat_variants[v].options && strstr(cat_variants[v].options, "always"))
				fprintf(f, " %" PRIu64 " | %" PRIu64 " | %" PRIu64
					   " | %" PRIu64 " | %" PRIu64 " |\n",
					r->misses, r->admissions, r->bypasses,
					r->readaheads, r->direct);
			else
				fprintf(f, " | | | | |\n");
			if (r->why[0])
				fprintf(f, "| (%s: %s) | | | | | | | | | |\n",
					cat_variants[v].name, r->why);
		}
		fprintf(f, "\n(\"vs\" columns: how many times faster than "
			   "that variant; > 1 is faster.)\n\n");
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
			for (size_t i = 0; i < ARRAY_SIZE(backends); i++) {
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
				human(r2.med, a, sizeof(a)));
			md_counters(f, w, t);
			fprintf(f, "\n");
		}
	}

	fprintf(f, "\n**Targets of issue 13** (median of the per-run ratios; "
		   "the cold cat: best of %d):\n\n"
		   "| target | measured | goal | verdict |\n|---|---:|---:|---|\n",
		CAT_REPS);
	if (cat_ran) {
		int dx = cat_find("dax"), nd = cat_find("nodax"),
		    lo = cat_find("local");

		md_target(f, "cold `vdax cat` 256 MiB, 64 MiB window: DAX / no DAX (speed)",
			  one(cat_best(nd) / cat_best(dx)), 3, false);
		md_target(f, "cold `vdax cat` 256 MiB, 64 MiB window: DAX / local `cat` (speed)",
			  one(cat_best(lo) / cat_best(dx)), 0.8, false);
	}
	for (int t = 0; t < nt; t++) {
		static const char *const ws[] = { "ws2x", "ws4x", "ws8x" };
		char what[160];

		for (size_t k = 0; k < ARRAY_SIZE(ws); k++) {
			int w = find_wl(ws[k]);

			if (w < 0)
				continue;
			fmt(what, sizeof(what), "4 KiB random read, working set %gx window, %d thr: DAX / no DAX",
			    workloads[w].ws, P.threads[t]);
			md_target(f, what, col_ratio(w, t, "dax", "vdaxd"), 1, false);
		}
		fmt(what, sizeof(what), "4 KiB random read in the window, %d thr: DAX / local pread",
		    P.threads[t]);
		md_target(f, what, col_ratio(find_wl("randread"), t, "dax", "local"), 1, false);
		fmt(what, sizeof(what), "1 MiB sequential read of a file 8x the window, %d thr: DAX / no DAX",
		    P.threads[t]);
		md_target(f, what, col_ratio(find_wl("wsseq8x"), t, "dax", "vdaxd"), 3, false);
	}
}

/* The cold cat runs, for the JSON file. */
static void json_cat(FILE *f)
{
	fprintf(f, ",\n  \"cold_cat\": [");
	for (size_t v = 0; cat_ran && v < ARRAY_SIZE(cat_variants); v++) {
		fprintf(f, "%s\n    {\"variant\": \"%s\", \"options\": ",
			v ? "," : "", cat_variants[v].name);
		json_str(f, cat_variants[v].options ? cat_variants[v].options : "");
		fprintf(f, ", \"window\": %zu, \"file\": %zu, \"ms\": [",
			(size_t)CAT_WINDOW, 8 * P.ws_window);
		for (int k = 0; k < CAT_REPS; k++) {
			fprintf(f, "%s", k ? ", " : "");
			json_num(f, cat_res[v].ms[k]);
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
static void write_plots(const char *dir)
{
	char path[PATH_MAX + 32];
	int nt = nthreads_count();
	size_t nb = ARRAY_SIZE(backends);
	int ncol = 0, nrow = 0;
	FILE *f;

	if (mkdir(dir, 0755) && errno != EEXIST)
		die("mkdir %s: %s", dir, strerror(errno));
	fmt_path(path, sizeof(path), "%s/workloads.dat", dir);
	f = fopen(path, "w");
	if (!f)
		die("cannot write %s: %s", path, strerror(errno));
	/* one block per row, separated by two blank lines */
	for (size_t w = 0; w < ARRAY_SIZE(workloads); w++) {
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
		static const char *const ids[] = { "ws0.5x", "ws1x", "ws2x",
						   "ws4x", "ws8x" };

		fprintf(f, "# %d threads: ratio", P.threads[t]);
		for (size_t i = 0; i < nb; i++)
			if (backends[i].up && backends[i].sweep)
				fprintf(f, " %s", backends[i].name);
		fputc('\n', f);
		for (size_t k = 0; k < ARRAY_SIZE(ids); k++) {
			int w = find_wl(ids[k]);

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
	for (size_t i = 0; i < nb; i++)
		ncol += backends[i].up;
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

		for (size_t w = 0; w < ARRAY_SIZE(workloads); w++) {
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

/* ---------------- main ---------------- */

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
	fmt(p, sizeof(p), "%s/tree", sharedir);
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


static void on_signal(int sig)
{
	interrupted = sig;
}

/*
 * Why a cell is not measured: NULL if it is; "" if the row does not belong
 * to the column at all (the sweep on columns outside it).
 */
static const char *cell_na(const struct backend *be, const struct workload *wl)
{
	if (wl->sweep_only && !be->sweep)
		return "";
	if (be->external)
		return "";
	if (wl_mmap(wl) && be->ops == &vdax_ops && !be->dax)
		return "libvdax maps files only through a DAX window "
		       "(vdax_mmap is -ENODEV without one)";
	return NULL;
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
		for (size_t w = 0; w < ARRAY_SIZE(workloads); w++) {
			if (strcmp(workloads[w].id, wid))
				continue;
			results[w][0][be - backends][rep - 1] = v;
			be->up = true;
		}
	}
	fclose(f);
	for (size_t b = 0; b < ARRAY_SIZE(backends); b++)
		if (backends[b].external && backends[b].up)
			snprintf(backends[b].version,
				 sizeof(backends[b].version),
				 "bench/guest/run.sh");
}

static void unmap_all(void)
{
	for (size_t w = 0; w < ARRAY_SIZE(workloads); w++)
		for (size_t b = 0; b < ARRAY_SIZE(backends); b++)
			for (int t = 0; t < MAX_THREADS; t++) {
				struct pmap *m = &maps[w][b][t];

				if (m->addr)
					backends[b].ops->munmap(m->addr, m->len);
				m->addr = NULL;
			}
}

int main(int argc, char **argv)
{
	const size_t nb = ARRAY_SIZE(backends);
	char jsonpath[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	struct sigaction sa = { .sa_handler = on_signal };
	int nt, cells = 0, nup = 0;
	double t_start, work = 0, done = 0;

	_Static_assert(ARRAY_SIZE(backends) <= 16, "maps[] too small");
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
	for (size_t w = 0; w < ARRAY_SIZE(workloads); w++)
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
