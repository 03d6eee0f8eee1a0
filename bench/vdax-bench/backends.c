// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vdax-bench: the columns. Each is a struct backend: a setup/teardown pair
 * and the operations the rows call (local syscalls, or libvdax).
 *
 * Adding a column: write a setup/teardown pair and, if it is not local
 * syscalls or libvdax, a struct bops; add a line to backends[] (and bump
 * NBACKENDS in bench.h).
 */
#include "bench.h"

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

const struct bops local_ops = {
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

const struct bops vdax_ops = {
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

void stop_pid(pid_t *pidp)
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

int vdaxd_start(struct backend *be, const char *sock, const char *log,
		       unsigned queues, size_t cache, pid_t *pidp)
{
	char src[PATH_MAX + 32], sockopt[PATH_MAX + 16], nq[48], cs[48];
	char *argv[] = { (char *)P.vdaxd, sockopt, nq, "-o", src, NULL, NULL,
			 NULL };
	int n = 5;

	snprintf(sockopt, sizeof(sockopt), "--socket-path=%s", sock);
	snprintf(nq, sizeof(nq), "--num-request-queues=%u", queues);
	snprintf(src, sizeof(src), "source=%s,cache=auto", sharedir);
	if (cache) {
		snprintf(cs, sizeof(cs), "--cache-size=%zuM", cache / MIB);
		argv[n++] = cs;
	}
	if (be->file_handles)
		argv[n++] = "--inode-file-handles=prefer";
	return daemon_start(be, argv, sock, log, pidp);
}

/* The socket and log of a column's daemon, in the work directory. */
static void daemon_paths(struct backend *be)
{
	fmt_path(be->sock, sizeof(be->sock), "%s/%s.sock", workdir, be->name);
	fmt_path(be->log, sizeof(be->log), "%s/%s.log", workdir, be->name);
}

static int vdaxd_setup(struct backend *be)
{
	static char opts[128], opts2[128], eopts[64];
	char ent[48] = "";

	daemon_paths(be);
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

/*
 * The session of a column whose daemon offers one request queue (both
 * virtiofsd): asking for more would only be refused.
 */
static int one_queue_session(struct backend *be)
{
	static char eopts[64];

	be->queues = 1;
	if (P.entries) {
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

/* QEMU's C virtiofsd: one request queue, that is all it offers. */
static int virtiofsd_setup(struct backend *be)
{
	char src[PATH_MAX + 16], sockopt[PATH_MAX + 16];
	char *argv[] = { (char *)P.virtiofsd, sockopt, "-o", src,
			 "-o", "cache=auto", "-o", "sandbox=chroot", NULL };

	daemon_paths(be);
	snprintf(sockopt, sizeof(sockopt), "--socket-path=%s", be->sock);
	snprintf(src, sizeof(src), "source=%s", sharedir);
	if (daemon_start(be, argv, be->sock, be->log, &be->pid))
		return -1;
	return one_queue_session(be);
}

/* The Rust virtiofsd, as vdax-conform runs it: chroot sandbox, cache=auto. */
static int rust_setup(struct backend *be)
{
	char src[PATH_MAX + 16], sockopt[PATH_MAX + 16];
	char *argv[] = { (char *)P.rust, sockopt, src, "--cache=auto",
			 "--sandbox=chroot", NULL };

	if (!P.rust || !*P.rust)
		return -1;
	daemon_paths(be);
	snprintf(sockopt, sizeof(sockopt), "--socket-path=%s", be->sock);
	snprintf(src, sizeof(src), "--shared-dir=%s", sharedir);
	if (daemon_start(be, argv, be->sock, be->log, &be->pid))
		return -1;
	return one_queue_session(be);
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

	daemon_paths(be);
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
struct backend backends[] = {
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
		     "libvdax with DAX behind it) on vdaxd --cache-size "
		     "--inode-file-handles=prefer; "
		     "programs use ordinary syscalls on the mount",
	  &local_ops, mount_setup, mount_teardown, Q4, .cache_size = 1,
	  .mount_opts = "dax=always", .file_handles = true },
	{ "mnt", "`vdax mount -o dax=never` (FUSE in the host kernel, "
		 "libvdax without DAX behind it) on vdaxd "
		 "--inode-file-handles=prefer",
	  &local_ops, mount_setup, mount_teardown, Q4,
	  .mount_opts = "dax=never", .file_handles = true },
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
_Static_assert(ARRAY_SIZE(backends) == NBACKENDS, "NBACKENDS in bench.h");


struct backend *backend_by_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(backends); i++)
		if (!strcmp(backends[i].name, name))
			return &backends[i];
	return NULL;
}

