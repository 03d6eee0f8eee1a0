// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vdaxd: the vhost-user-fs backend program.
 *
 * parse -> listening socket -> sandbox (namespace/chroot) -> drop
 * capabilities -> FUSE server + vhost-user backend -> seccomp -> serve one
 * frontend after another until SIGTERM/SIGINT.
 *
 * Capabilities are dropped before any thread exists, because they are per
 * thread and a thread created earlier would keep the full set. Seccomp comes
 * last and is synchronised to every thread.
 *
 * Signals: SIGTERM and SIGINT stay blocked except inside ppoll() while we
 * wait for a frontend (then we leave the loop and free everything) and
 * while a frontend is served (then the handler _exit()s: the backend's
 * threads are busy and the host kernel reclaims every resource anyway).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/options.h"
#include "fuse/server.h"
#include "sandbox/sandbox.h"
#include "vdaxd-config.h"
#include "vhost/backend.h"

/* VHOST_USER_BACKEND_SHMEM_MAP flags: bit 0 = writable. */
#define VDAXD_SHMEM_WRITABLE (1ull << 0)
/* The DAX window is the device's shared memory region 0. */
#define VDAXD_SHMID_CACHE 0

struct vdaxd {
	struct fuse_srv *srv;
	struct vu_backend *be;
};

static volatile sig_atomic_t vdaxd_stop;
static volatile sig_atomic_t vdaxd_serving;

static void on_term(int sig)
{
	vdaxd_stop = 1;
	if (vdaxd_serving)
		_exit(0);
}

/* ---- the adapter between the transport and the FUSE server ---- */

static size_t vdaxd_handle(void *opaque, const struct iovec *in,
			   unsigned in_cnt, const struct iovec *out,
			   unsigned out_cnt)
{
	struct vdaxd *d = opaque;

	return fuse_srv_handle(d->srv, in, in_cnt, out, out_cnt);
}

static void vdaxd_reset(void *opaque)
{
	struct vdaxd *d = opaque;

	fuse_srv_dax_log(d->srv, "frontend gone");
	fuse_srv_reset(d->srv);
}

static void vdaxd_cancel(void *opaque, bool draining)
{
	struct vdaxd *d = opaque;

	fuse_srv_cancel(d->srv, draining);
}

static int vdaxd_dax_map(void *ctx, int fd, uint64_t fd_offset,
			 uint64_t moffset, uint64_t len, bool writable)
{
	struct vdaxd *d = ctx;

	return vu_backend_shmem_map(d->be, VDAXD_SHMID_CACHE, fd, fd_offset,
				    moffset, len,
				    writable ? VDAXD_SHMEM_WRITABLE : 0);
}

static int vdaxd_dax_unmap(void *ctx, uint64_t moffset, uint64_t len)
{
	struct vdaxd *d = ctx;

	return vu_backend_shmem_unmap(d->be, VDAXD_SHMID_CACHE, moffset, len);
}

/* ---- setup ---- */

static void print_capabilities(void)
{
	/*
	 * vhost-user.rst "Backend program conventions": a VHostUserBackend-
	 * Capabilities object. "separate-options" tells libvirt we take
	 * --shared-dir/--cache/... rather than only "-o".
	 */
	printf("{\n"
	       "  \"type\": \"fs\",\n"
	       "  \"features\": [\n"
	       "    \"separate-options\"\n"
	       "  ]\n"
	       "}\n");
}

static int set_rlimit_nofile(const struct vdaxd_opts *o)
{
	struct rlimit rl;

	if (o->rlimit_nofile_set && o->rlimit_nofile == 0)
		return 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (o->rlimit_nofile_set) {
		/* Raising the hard limit needs CAP_SYS_RESOURCE. */
		rl.rlim_cur = o->rlimit_nofile;
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur;
	} else {
		/* Every guest inode holds an O_PATH fd: take what we may. */
		rl.rlim_cur = rl.rlim_max;
	}
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		int err = -errno;

		VLOG_ERR("--rlimit-nofile: cannot set %llu: %s",
			 (unsigned long long)rl.rlim_cur, strerror(errno));
		return err;
	}
	VLOG_DEBUG("RLIMIT_NOFILE set to %llu",
		   (unsigned long long)rl.rlim_cur);
	return 0;
}

static int socket_group(const char *path, const char *group)
{
	struct group gr, *res = NULL;
	char buf[4096];
	int ret;

	ret = getgrnam_r(group, &gr, buf, sizeof(buf), &res);
	if (ret || !res) {
		VLOG_ERR("--socket-group: unknown group %s", group);
		return ret ? -ret : -ENOENT;
	}
	if (chown(path, (uid_t)-1, gr.gr_gid) < 0 || chmod(path, 0660) < 0) {
		ret = -errno;
		VLOG_ERR("--socket-group: %s: %s", path, strerror(errno));
		return ret;
	}
	return 0;
}

/*
 * Listen on @path. The socket is bound under a temporary name next to it
 * and renamed into place once it listens: whoever waits for the path to
 * appear (a VMM, libvirt, a script) can connect at once, where a bind()
 * in place would show the path a moment before listen() and a connect in
 * that moment would be refused. A path too long for the temporary name
 * is bound in place.
 */
static int listen_path(const char *path, const char *group)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char tmp[sizeof(sa.sun_path)];
	const char *at = path;
	struct stat st;
	mode_t old;
	int fd, ret, n;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		VLOG_ERR("--socket-path: %s is too long for a unix socket",
			 path);
		return -ENAMETOOLONG;
	}

	/* A stale socket from an earlier run; never remove anything else. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			VLOG_ERR("--socket-path: %s exists and is not a socket",
				 path);
			return -EEXIST;
		}
		if (unlink(path) < 0) {
			ret = -errno;
			VLOG_ERR("--socket-path: removing stale %s: %s", path,
				 strerror(errno));
			return ret;
		}
	}
	n = snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	if (n > 0 && (size_t)n < sizeof(tmp)) {
		at = tmp;
		unlink(tmp); /* ours by name (our pid): a leftover of a crash */
	}
	strcpy(sa.sun_path, at);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	old = umask(0077); /* only the owner may connect unless told */
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (ret < 0) {
		ret = -errno;
		VLOG_ERR("--socket-path: bind %s: %s", at, strerror(errno));
		close(fd);
		return ret;
	}
	if (group) {
		ret = socket_group(at, group);
		if (ret < 0)
			goto err;
	}
	/* One frontend at a time; the next one waits in the backlog. */
	if (listen(fd, 1) < 0) {
		ret = -errno;
		VLOG_ERR("--socket-path: listen %s: %s", path, strerror(errno));
		goto err;
	}
	if (at != path && rename(at, path) < 0) {
		ret = -errno;
		VLOG_ERR("--socket-path: rename %s to %s: %s", at, path,
			 strerror(errno));
		goto err;
	}
	VLOG_INFO("listening on %s", path);
	return fd;
err:
	unlink(at);
	close(fd);
	return ret;
}

static int check_listen_fd(int fd)
{
	int acc = 0;
	socklen_t len = sizeof(acc);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0) {
		int err = -errno;

		VLOG_ERR("--fd=%d: %s", fd, strerror(errno));
		return err;
	}
	if (!acc) {
		VLOG_ERR("--fd=%d: not a listening socket", fd);
		return -EINVAL;
	}
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	return fd;
}

/*
 * "<socket>.pid", locked for our lifetime (the fd stays open through the
 * sandbox) with our pid in it: a second daemon on the same socket path
 * fails here instead of unlinking the first one's socket. Returns the fd
 * or -errno. The file stays behind; a stale one is harmless (the lock is
 * what counts, and it dies with us).
 */
static int lock_pid_file(const char *sock)
{
	char path[PATH_MAX], pid[32];
	int fd, n, ret;

	if ((size_t)snprintf(path, sizeof(path), "%s.pid", sock) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ret = -errno;
		VLOG_ERR("pid file %s: %s", path, strerror(errno));
		return ret;
	}
	/*
	 * A daemon just stopped may take a moment to be gone (its sandbox
	 * supervisor and server exit one after the other): a restart on the
	 * same path waits up to 2 s for the lock before giving up.
	 */
	for (int i = 0; i < 40 && flock(fd, LOCK_EX | LOCK_NB) < 0 &&
			    errno == EWOULDBLOCK;
	     i++)
		usleep(50000);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ret = -errno;
		if (errno == EWOULDBLOCK) {
			n = (int)pread(fd, pid, sizeof(pid) - 1, 0);
			pid[n > 0 ? n : 0] = '\0';
			pid[strcspn(pid, "\n")] = '\0';
			VLOG_ERR("%s is in use by another daemon (pid file %s, "
				 "pid %s)", sock, path, pid[0] ? pid : "?");
		} else {
			VLOG_ERR("pid file %s: lock: %s", path, strerror(errno));
		}
		close(fd);
		return ret;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		ret = -errno;
		VLOG_ERR("pid file %s: write: %s", path, strerror(errno));
		close(fd);
		return ret;
	}
	return fd;
}

static void install_signals(sigset_t *orig)
{
	struct sigaction sa = {.sa_handler = on_term};
	sigset_t term;

	/* No SA_RESTART: ppoll must return EINTR. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a vanished frontend is an EPIPE */

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	sigprocmask(SIG_BLOCK, &term, orig);
	sigdelset(orig, SIGTERM);
	sigdelset(orig, SIGINT);
}

static void set_serving(bool on, const sigset_t *orig)
{
	sigset_t term;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	if (on) {
		vdaxd_serving = 1;
		sigprocmask(SIG_UNBLOCK, &term, NULL);
	} else {
		sigprocmask(SIG_BLOCK, &term, NULL);
		vdaxd_serving = 0;
	}
}

/* Wait for the next frontend. Returns its fd, 0 to stop, or -errno. */
static int next_frontend(int lfd, const sigset_t *waitmask)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};
	int conn;

	for (;;) {
		if (vdaxd_stop)
			return 0;
		if (ppoll(&p, 1, NULL, waitmask) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (conn >= 0)
			return conn;
		if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN)
			return -errno;
	}
}

static int serve(struct vdaxd *d, int lfd, const sigset_t *orig)
{
	for (;;) {
		int conn = next_frontend(lfd, orig), ret;

		if (conn == 0)
			return 0;
		if (conn < 0) {
			VLOG_ERR("accept: %s", strerror(-conn));
			return conn;
		}
		VLOG_INFO("frontend connected");
		set_serving(true, orig);
		ret = vu_backend_serve(d->be, conn);
		set_serving(false, orig);
		if (ret < 0)
			VLOG_WARN("frontend dropped: %s", strerror(-ret));
		else
			VLOG_INFO("frontend disconnected");
	}
}

#ifdef VDAXD_TEST_HOOKS
/* A syscall outside the allow-list, made with the sandbox fully up. */
static void test_forbidden_syscall(void)
{
	int fd;

	VLOG_INFO("test hook: calling socket(AF_INET)");
	fd = socket(AF_INET, SOCK_STREAM, 0);
	VLOG_INFO("test hook: survived (socket returned %d)", fd);
	if (fd >= 0)
		close(fd);
}
#endif

static int run(const struct vdaxd_opts *o, int lfd, const sigset_t *orig)
{
	struct vdaxd d = {0};
	struct sbx_fds fds;
	struct fuse_srv_opts fo;
	struct vu_backend_cfg cfg;
	enum pt_fh_mode fh = o->inode_file_handles;
	const char *why;
	static const struct vu_backend_ops ops = {
		.handle = vdaxd_handle,
		.reset = vdaxd_reset,
		.cancel = vdaxd_cancel,
	};
	int ret;

	sbx_set_userns(&o->userns);
	ret = sbx_enter(o->sandbox, o->shared_dir, &fds);
	if (ret < 0)
		return EX_OSERR;
	if (fh != PT_FH_NEVER)
		sbx_keep_file_handle_caps();
	ret = sbx_drop_caps();
	if (ret < 0) {
		ret = EX_OSERR;
		goto out_fds;
	}
	/* Decided with the capabilities the daemon keeps, not those it had. */
	if (fh != PT_FH_NEVER && !sbx_file_handles_allowed(&why)) {
		if (fh == PT_FH_MANDATORY) {
			VLOG_ERR("--inode-file-handles=mandatory: cannot open "
				 "file handles: %s", why);
			ret = EX_NOPERM;
			goto out_fds;
		}
		VLOG_WARN("--inode-file-handles=prefer: %s; holding an O_PATH "
			  "fd per inode", why);
		fh = PT_FH_NEVER;
	}

	fo = (struct fuse_srv_opts){
		.root_fd = fds.root_fd,
		.proc_self_fd = fds.proc_self_fd,
		.cache = o->cache,
		.xattr = o->xattr,
		.announce_submounts = o->announce_submounts,
		.writeback = o->writeback,
		.readdirplus = o->readdirplus,
		.posix_lock = o->posix_lock,
		.flock = o->flock,
		.readonly = o->readonly,
		.allow_direct_io = o->allow_direct_io,
		.preserve_noatime = o->preserve_noatime,
		.allow_mmap = o->allow_mmap,
		.no_killpriv_v2 = o->no_killpriv_v2,
		.posix_acl = o->posix_acl,
		.security_label = o->security_label,
		.xattrmap = o->xattrmap,
		.uid_map = fuse_idmap_active(&o->uid_map) ? &o->uid_map : NULL,
		.gid_map = fuse_idmap_active(&o->gid_map) ? &o->gid_map : NULL,
		.max_inodes = o->max_inodes,
		.file_handles = fh,
	};
	if (o->cache_size) {
		fo.dax = (struct fuse_srv_dax_ops){
			.map = vdaxd_dax_map,
			.unmap = vdaxd_dax_unmap,
			.ctx = &d,
			.window_size = o->cache_size,
		};
		fo.inode_dax = o->inode_dax;
		fo.inode_dax_size = o->inode_dax_size;
	}
	ret = fuse_srv_new(&fo, &d.srv);
	if (ret < 0) {
		VLOG_ERR("FUSE server: %s", strerror(-ret));
		/* mandatory file handles that do not work: logged already */
		ret = fh == PT_FH_MANDATORY && (ret == -EPERM || ret == -EOPNOTSUPP)
			      ? EX_NOPERM : EX_SOFTWARE;
		goto out_fds;
	}

	cfg = (struct vu_backend_cfg){
		.num_request_queues = o->num_request_queues,
		.thread_pool_size = o->thread_pool_size,
		.shm_size = o->cache_size,
	};
	if (o->tag)
		snprintf(cfg.tag, sizeof(cfg.tag), "%s", o->tag);
	ret = vu_backend_new(&cfg, &ops, &d, &d.be);
	if (ret < 0) {
		VLOG_ERR("vhost-user backend: %s", strerror(-ret));
		ret = EX_SOFTWARE;
		goto out_srv;
	}

	ret = sbx_seccomp_install(o->seccomp);
	if (ret < 0) {
		ret = EX_OSERR;
		goto out_be;
	}
#ifdef VDAXD_TEST_HOOKS
	if (o->test_forbidden_syscall) {
		test_forbidden_syscall();
		ret = EX_OK;
		goto out_be;
	}
#endif

	VLOG_INFO("ready, waiting for a frontend");
	ret = serve(&d, lfd, orig) < 0 ? EX_OSERR : EX_OK;
	if (ret == EX_OK)
		VLOG_INFO("terminated by a signal, exiting");

out_be:
	vu_backend_free(d.be);
out_srv:
	fuse_srv_free(d.srv);
out_fds:
	close(fds.root_fd);
	close(fds.proc_self_fd);
	return ret;
}

/* Everything after parsing; @o->xattrmap is freed by the caller. */
static int vdaxd_main(struct vdaxd_opts *o, char **argv)
{
	struct stat st;
	sigset_t orig;
	int lfd, pidfd = -1, ret;

	switch (o->action) {
	case VDAXD_ACT_HELP:
		vdaxd_usage(argv[0], stdout);
		return EX_OK;
	case VDAXD_ACT_VERSION:
		printf("vdaxd %s\n", VDAXD_VERSION);
		return EX_OK;
	case VDAXD_ACT_PRINT_CAPS:
		print_capabilities();
		return EX_OK;
	case VDAXD_ACT_RUN:
		break;
	}
	vlog_set_level(o->log_level);
	if (o->syslog) {
		ret = vlog_open_syslog();
		if (ret < 0)
			fprintf(stderr, "vdaxd: --syslog: %s; logging to stderr\n",
				strerror(-ret));
	}

	if (stat(o->shared_dir, &st) < 0) {
		fprintf(stderr, "vdaxd: --shared-dir %s: %s\n", o->shared_dir,
			strerror(errno));
		return EX_NOINPUT;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "vdaxd: --shared-dir %s: not a directory\n",
			o->shared_dir);
		return EX_NOINPUT;
	}
	if (set_rlimit_nofile(o) < 0)
		return EX_OSERR;

	install_signals(&orig);
	if (o->socket_path) {
		pidfd = lock_pid_file(o->socket_path);
		if (pidfd < 0)
			return EX_OSERR;
	}
	lfd = o->socket_path ? listen_path(o->socket_path, o->socket_group)
			     : check_listen_fd(o->fd);
	if (lfd < 0) {
		if (pidfd >= 0)
			close(pidfd);
		return EX_OSERR;
	}

	ret = run(o, lfd, &orig);
	close(lfd);
	if (pidfd >= 0)
		close(pidfd);
	return ret;
}

int main(int argc, char **argv)
{
	struct vdaxd_opts o;
	int ret;

	vlog_set_ident("vdaxd");
	if (vdaxd_parse_args(argc, argv, &o) < 0) {
		fprintf(stderr, "Try '%s --help' for more information.\n",
			argv[0]);
		pt_xattrmap_free(o.xattrmap);
		return EX_USAGE;
	}
	ret = vdaxd_main(&o, argv);
	pt_xattrmap_free(o.xattrmap);
	/*
	 * Confined to the shared directory there is no /proc: exit-time work
	 * that needs it (LeakSanitizer's leak check in sanitizer builds)
	 * would spin for ever, and the supervisor with it. Everything is
	 * already released; leave without atexit handlers.
	 */
	if (o.action == VDAXD_ACT_RUN && o.sandbox != SBX_MODE_NONE) {
		fflush(NULL);
		_exit(ret);
	}
	return ret;
}
