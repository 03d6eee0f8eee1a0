// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vdaxd options the Rust virtiofsd has, each shown by its effect on what a
 * frontend sees: spawn the real vdaxd with the option, speak vhost-user and
 * FUSE to it (fake_frontend), and look at the replies, the host directory
 * and the daemon's own open files (/proc/PID/fdinfo).
 *
 *   --readonly, --cache=metadata, --allow-mmap, --[no-]killpriv-v2,
 *   submounts announced by default, --allow-direct-io, --preserve-noatime,
 *   --tag (VHOST_USER_PROTOCOL_F_CONFIG + GET_CONFIG), --socket, the pid
 *   file lock, --log-level=trace|off, --syslog, and their -o forms;
 *   an unprivileged daemon in a user namespace (--uid-map/--gid-map);
 *   --modcaps; --xattrmap; the caller's supplementary group on creation
 *   (FUSE_CREATE_SUPP_GROUP); --translate-uid/gid; --posix-acl; the
 *   command lines libvirt's qemu_virtiofs.c builds (system and session);
 *   --security-label (FUSE_SECURITY_CTX); --inode-file-handles (the
 *   daemon's fd count while the guest holds many inodes, every kind of
 *   operation on handle inodes, host deletes, the fallback and refusal
 *   without CAP_DAC_READ_SEARCH or in a user namespace).
 *
 * The daemon binary comes from $VDAXD (set by meson); without it, skip.
 */
#include <dirent.h>
#include <grp.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "fake_frontend.h"
#include "lib/testd.h"

#define TMO 10000
#define RQ 1 /* first request queue; 0 is hiprio */
#define MAX_ARGS 16
/* FUSE 7.39 FUSE_DIRECT_IO_ALLOW_MMAP: bit 36, i.e. bit 4 of flags2. */
#define ALLOW_MMAP_FLAGS2 (1u << 4)

static const char *bin;
static uid_t run_as = 0; /* nonzero: the daemon drops to this uid and gid */
static const char *sandbox_arg = "--sandbox=none";
static char tmp[64], dir[128], sock[128], logpath[128];
static uint64_t unique = 1;

struct reply {
	struct fuse_out_header oh;
	uint8_t data[8192];
	uint32_t used;
};

struct daemon {
	pid_t pid;
	struct ff *f;
	struct fuse_init_out init;
	bool inited;
};

static int fuse_call(struct ff *f, uint32_t opcode, uint64_t nodeid,
		     const void *a, size_t alen, const void *b, size_t blen,
		     size_t reply_room, struct reply *r)
{
	return ff_fuse(f, RQ, opcode, nodeid, unique++, a, alen, b, blen,
		       &r->oh, r->data, reply_room, TMO, &r->used);
}

/* The FUSE error of the reply, or 1 when the transport failed. */
static int fuse_err(int rc, const struct reply *r)
{
	if (rc || r->used < sizeof(r->oh) || r->oh.len != r->used)
		return 1;
	return r->oh.error;
}

/* Start vdaxd with the common options, then the NULL-terminated extra. */
static pid_t spawn(const char *sockopt, ...)
{
	char a1[300], a2[300];
	const char *argv[MAX_ARGS + 8];
	int n = 0;
	va_list ap;
	pid_t pid;

	snprintf(a1, sizeof(a1), "%s=%s", sockopt, sock);
	snprintf(a2, sizeof(a2), "--shared-dir=%s", dir);
	argv[n++] = bin;
	argv[n++] = a1;
	argv[n++] = a2;
	argv[n++] = sandbox_arg;
	argv[n++] = "--seccomp=none";
	va_start(ap, sockopt);
	for (const char *s; n < MAX_ARGS + 5 && (s = va_arg(ap, const char *));)
		argv[n++] = s;
	va_end(ap);
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
		if (run_as && (setgroups(0, NULL) || setresgid(run_as, run_as, run_as) ||
			       setresuid(run_as, run_as, run_as)))
			_exit(126);
		execv(bin, (char **)argv);
		_exit(127);
	}
	return pid;
}

static void stop(struct daemon *d)
{
	if (d->f)
		ff_free(d->f);
	d->f = NULL;
	td_end(&d->pid, SIGTERM, 2000);
}

/* Connect, set up the rings (@o may be NULL) and send FUSE_INIT. */
static bool start_session(struct daemon *d, const struct ff_opts *o)
{
	struct ff_opts def = { .nreq = 1 };
	struct fuse_init_in in = {
		.major = FUSE_KERNEL_VERSION,
		.minor = FUSE_KERNEL_MINOR_VERSION,
		.max_readahead = 1 << 17,
		/* ask for everything, as a kernel that knows it all would */
		.flags = 0xffffffffu,
		.flags2 = 0xffffffffu,
	};
	struct reply r;
	int rc;

	rc = ff_connect(sock, TMO, &d->f);
	if (rc) {
		diag("connect %s: %s", sock, strerror(-rc));
		return false;
	}
	rc = ff_setup(d->f, o ? o : &def);
	if (rc) {
		diag("vhost-user setup: %s", strerror(-rc));
		return false;
	}
	rc = fuse_call(d->f, FUSE_INIT, 0, &in, sizeof(in), NULL, 0,
		       sizeof(struct fuse_init_out), &r);
	if (fuse_err(rc, &r) ||
	    r.used < sizeof(r.oh) + sizeof(struct fuse_init_out)) {
		diag("FUSE_INIT failed");
		return false;
	}
	memcpy(&d->init, r.data, sizeof(d->init));
	d->inited = true;
	return true;
}

static bool run_daemon(struct daemon *d, pid_t pid, const struct ff_opts *o,
		       const char *what)
{
	d->pid = pid;
	d->f = NULL;
	d->inited = false;
	if (!ok(start_session(d, o), "%s: daemon serves a session", what)) {
		stop(d);
		return false;
	}
	return true;
}

static uint64_t lookup(struct daemon *d, const char *name,
		       struct fuse_entry_out *eo)
{
	struct reply r;
	int rc = fuse_call(d->f, FUSE_LOOKUP, FUSE_ROOT_ID, name,
			   strlen(name) + 1, NULL, 0, sizeof(*eo), &r);

	if (fuse_err(rc, &r))
		return 0;
	memcpy(eo, r.data, sizeof(*eo));
	return eo->nodeid;
}

/* OPEN @nodeid with @flags: the FUSE error; *@oo filled on success. */
static int fuse_open(struct daemon *d, uint64_t nodeid, uint32_t flags,
		     struct fuse_open_out *oo)
{
	struct fuse_open_in oi = { .flags = flags };
	struct reply r;
	int rc = fuse_call(d->f, FUSE_OPEN, nodeid, &oi, sizeof(oi), NULL, 0,
			   sizeof(*oo), &r);
	int err = fuse_err(rc, &r);

	if (!err && oo)
		memcpy(oo, r.data, sizeof(*oo));
	return err;
}

/* Does the daemon hold an fd on a file named @name with flag bits @bits? */
static bool daemon_has_fd_with(pid_t pid, const char *name, unsigned bits)
{
	char p[320], target[512], line[256];
	struct dirent *de;
	bool found = false;
	DIR *dd;

	snprintf(p, sizeof(p), "/proc/%d/fd", (int)pid);
	dd = opendir(p);
	if (!dd)
		return false;
	while (!found && (de = readdir(dd))) {
		FILE *fp;
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/proc/%d/fd/%s", (int)pid, de->d_name);
		n = readlink(p, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (!strstr(target, name))
			continue;
		snprintf(p, sizeof(p), "/proc/%d/fdinfo/%s", (int)pid,
			 de->d_name);
		fp = fopen(p, "r");
		if (!fp)
			continue;
		while (fgets(line, sizeof(line), fp)) {
			unsigned long fl;

			if (sscanf(line, "flags: %lo", &fl) == 1 &&
			    (fl & bits) == bits)
				found = true;
		}
		fclose(fp);
	}
	closedir(dd);
	return found;
}

static bool host_exists(const char *name)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

static char *slurp(const char *path)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* ---- the cases ---- */

static void test_defaults(void)
{
	struct daemon d;
	uint64_t flags;

	if (!run_daemon(&d, spawn("--socket-path", NULL), NULL, "defaults"))
		return;
	flags = d.init.flags | ((uint64_t)d.init.flags2 << 32);
	ok(flags & FUSE_SUBMOUNTS,
	   "defaults: submounts announced (FUSE_SUBMOUNTS), as the Rust daemon");
	ok(flags & FUSE_HANDLE_KILLPRIV_V2,
	   "defaults: FUSE_HANDLE_KILLPRIV_V2 offered");
	ok(!(d.init.flags2 & ALLOW_MMAP_FLAGS2),
	   "defaults: no FUSE_DIRECT_IO_ALLOW_MMAP");
	ok(!(ff_protocol(d.f) & (1ull << VHOST_USER_PROTOCOL_F_CONFIG)),
	   "defaults: no VHOST_USER_PROTOCOL_F_CONFIG without --tag");
	stop(&d);
}

static void test_switches(void)
{
	struct daemon d;
	uint64_t flags;

	if (run_daemon(&d, spawn("--socket-path", "--no-announce-submounts",
				 "--no-killpriv-v2", NULL),
		       NULL, "--no-announce-submounts --no-killpriv-v2")) {
		flags = d.init.flags | ((uint64_t)d.init.flags2 << 32);
		ok(!(flags & FUSE_SUBMOUNTS),
		   "--no-announce-submounts: no FUSE_SUBMOUNTS");
		ok(!(flags & FUSE_HANDLE_KILLPRIV_V2),
		   "--no-killpriv-v2: no FUSE_HANDLE_KILLPRIV_V2");
		stop(&d);
	}
	if (run_daemon(&d, spawn("--socket-path", "-o",
				 "no_killpriv_v2,killpriv_v2,allow_mmap",
				 "--cache=never", NULL),
		       NULL, "-o killpriv_v2,allow_mmap")) {
		ok(d.init.flags & FUSE_HANDLE_KILLPRIV_V2,
		   "-o no_killpriv_v2,killpriv_v2: the last one wins");
		ok(d.init.flags2 & ALLOW_MMAP_FLAGS2,
		   "-o allow_mmap with cache=never: FUSE_DIRECT_IO_ALLOW_MMAP");
		stop(&d);
	}
	if (run_daemon(&d, spawn("--socket-path", "--allow-mmap",
				 "--cache=metadata", NULL),
		       NULL, "--allow-mmap --cache=metadata")) {
		ok(d.init.flags2 & ALLOW_MMAP_FLAGS2,
		   "--allow-mmap: FUSE_DIRECT_IO_ALLOW_MMAP");
		stop(&d);
	}
}

static void test_cache_metadata(void)
{
	struct fuse_entry_out eo;
	struct fuse_open_out oo;
	struct daemon d;
	uint64_t node;

	if (!run_daemon(&d, spawn("--socket-path", "--cache=metadata", NULL),
			NULL, "--cache=metadata"))
		return;
	node = lookup(&d, "hello.txt", &eo);
	ok(node && eo.entry_valid == 86400 && eo.attr_valid == 86400,
	   "--cache=metadata: entry and attr timeouts of a day (got %llu/%llu)",
	   (unsigned long long)eo.entry_valid,
	   (unsigned long long)eo.attr_valid);
	ok(node && fuse_open(&d, node, O_RDONLY, &oo) == 0 &&
		   (oo.open_flags & FOPEN_DIRECT_IO) &&
		   !(oo.open_flags & FOPEN_KEEP_CACHE),
	   "--cache=metadata: file data uncached (FOPEN_DIRECT_IO)");
	stop(&d);

	if (!run_daemon(&d, spawn("--socket-path", "-o", "cache=metadata",
				  NULL),
			NULL, "-o cache=metadata"))
		return;
	node = lookup(&d, "hello.txt", &eo);
	ok(node && eo.attr_valid == 86400, "-o cache=metadata: the same");
	stop(&d);
}

static void test_readonly(const char *form)
{
	struct fuse_create_in cr = { .flags = O_RDWR | O_CREAT,
				     .mode = S_IFREG | 0644 };
	struct fuse_mkdir_in mk = { .mode = 0755 };
	struct fuse_setattr_in sa = { .valid = FATTR_SIZE, .size = 0 };
	struct fuse_read_in rd = { .size = 64 };
	struct fuse_entry_out eo;
	struct fuse_open_out oo;
	struct daemon d;
	struct reply r;
	uint64_t node;
	pid_t pid;
	int rc;

	/* --socket, the Rust daemon's deprecated spelling, on the way */
	if (!strcmp(form, "--readonly"))
		pid = spawn("--socket", "--readonly", NULL);
	else
		pid = spawn("--socket-path", "-o", "readonly", NULL);
	if (!run_daemon(&d, pid, NULL, form))
		return;
	node = lookup(&d, "hello.txt", &eo);
	ok(node != 0, "%s: LOOKUP works", form);
	ok(fuse_open(&d, node, O_RDONLY, &oo) == 0, "%s: OPEN O_RDONLY works",
	   form);
	rd.fh = oo.fh;
	rc = fuse_call(d.f, FUSE_READ, node, &rd, sizeof(rd), NULL, 0, 64, &r);
	ok(!fuse_err(rc, &r) && r.used == sizeof(r.oh) + 5 &&
		   !memcmp(r.data, "hello", 5),
	   "%s: READ works", form);
	is_int(fuse_open(&d, node, O_WRONLY, NULL), -EROFS,
	       "%s: OPEN O_WRONLY: EROFS", form);
	is_int(fuse_open(&d, node, O_RDONLY | O_TRUNC, NULL), -EROFS,
	       "%s: OPEN O_TRUNC: EROFS", form);
	rc = fuse_call(d.f, FUSE_CREATE, FUSE_ROOT_ID, &cr, sizeof(cr), "new",
		       4, sizeof(struct fuse_entry_out) + sizeof(oo), &r);
	is_int(fuse_err(rc, &r), -EROFS, "%s: CREATE: EROFS", form);
	ok(!host_exists("new"), "%s: nothing created on the host", form);
	rc = fuse_call(d.f, FUSE_MKDIR, FUSE_ROOT_ID, &mk, sizeof(mk), "dir",
		       4, sizeof(struct fuse_entry_out), &r);
	is_int(fuse_err(rc, &r), -EROFS, "%s: MKDIR: EROFS", form);
	rc = fuse_call(d.f, FUSE_SETATTR, node, &sa, sizeof(sa), NULL, 0,
		       sizeof(struct fuse_attr_out), &r);
	is_int(fuse_err(rc, &r), -EROFS, "%s: SETATTR (truncate): EROFS", form);
	rc = fuse_call(d.f, FUSE_UNLINK, FUSE_ROOT_ID, "hello.txt", 10, NULL, 0,
		       0, &r);
	is_int(fuse_err(rc, &r), -EROFS, "%s: UNLINK: EROFS", form);
	{
		struct stat st;
		char p[256];

		snprintf(p, sizeof(p), "%s/hello.txt", dir);
		ok(stat(p, &st) == 0 && st.st_size == 5,
		   "%s: the host file is untouched", form);
	}
	stop(&d);
}

static void test_open_flags(void)
{
	struct fuse_entry_out eo;
	struct fuse_open_out oo;
	struct daemon d;
	uint64_t node;

	/* Defaults: O_DIRECT and O_NOATIME are dropped on the host. */
	if (run_daemon(&d, spawn("--socket-path", NULL), NULL,
		       "open flags, defaults")) {
		node = lookup(&d, "hello.txt", &eo);
		ok(node && fuse_open(&d, node, O_RDONLY | O_DIRECT, &oo) == 0,
		   "defaults: OPEN O_DIRECT works");
		ok(!daemon_has_fd_with(d.pid, "hello.txt", O_DIRECT),
		   "defaults: the host file is open without O_DIRECT");
		ok(node && fuse_open(&d, node, O_RDONLY | O_NOATIME, &oo) == 0,
		   "defaults: OPEN O_NOATIME works");
		ok(!daemon_has_fd_with(d.pid, "hello.txt", O_NOATIME),
		   "defaults: O_NOATIME is dropped (as the Rust daemon)");
		stop(&d);
	}
	if (run_daemon(&d, spawn("--socket-path", "--allow-direct-io",
				 "--preserve-noatime", NULL),
		       NULL, "--allow-direct-io --preserve-noatime")) {
		node = lookup(&d, "hello.txt", &eo);
		ok(node && fuse_open(&d, node, O_RDONLY | O_DIRECT, &oo) == 0 &&
			   daemon_has_fd_with(d.pid, "hello.txt", O_DIRECT),
		   "--allow-direct-io: the host file is open O_DIRECT");
		ok(node &&
			   fuse_open(&d, node, O_RDONLY | O_NOATIME, &oo) == 0 &&
			   daemon_has_fd_with(d.pid, "hello.txt", O_NOATIME),
		   "--preserve-noatime: the host file is open O_NOATIME");
		stop(&d);
	}
	if (run_daemon(&d, spawn("--socket-path", "-o",
				 "allow_direct_io,preserve_noatime", NULL),
		       NULL, "-o allow_direct_io,preserve_noatime")) {
		node = lookup(&d, "hello.txt", &eo);
		ok(node &&
			   fuse_open(&d, node, O_RDONLY | O_DIRECT | O_NOATIME,
				     &oo) == 0 &&
			   daemon_has_fd_with(d.pid, "hello.txt",
					      O_DIRECT | O_NOATIME),
		   "-o allow_direct_io,preserve_noatime: both kept");
		stop(&d);
	}
}

static int get_config(struct ff *f, uint32_t off, uint32_t size,
		      struct vhost_user_msg *m)
{
	struct vhost_user_config c = { .offset = off, .size = size };
	int rc = ff_send(f, VHOST_USER_GET_CONFIG, VHOST_USER_VERSION, &c,
			 VHOST_USER_CONFIG_HDR + size, NULL, 0);

	return rc ? rc : ff_recv(f, m, TMO);
}

static void test_tag(void)
{
	struct ff_opts o = { .nreq = 2, .config = true };
	struct virtio_fs_config_le fc;
	struct vhost_user_msg m;
	struct daemon d;
	int n;

	if (!run_daemon(&d, spawn("--socket-path", "--tag=myfs",
				  "--num-request-queues=2", NULL),
			&o, "--tag"))
		return;
	ok(ff_protocol(d.f) & (1ull << VHOST_USER_PROTOCOL_F_CONFIG),
	   "--tag: VHOST_USER_PROTOCOL_F_CONFIG offered");
	n = get_config(d.f, 0, sizeof(fc), &m);
	memcpy(&fc, m.payload.config.region, sizeof(fc));
	ok(n == (int)(VHOST_USER_CONFIG_HDR + sizeof(fc)) &&
		   m.payload.config.size == sizeof(fc) &&
		   !memcmp(fc.tag, "myfs\0\0\0", 8) && fc.num_request_queues == 2,
	   "--tag: GET_CONFIG gives tag \"myfs\" and 2 request queues");
	n = get_config(d.f, 36, 4, &m);
	ok(n == VHOST_USER_CONFIG_HDR + 4 &&
		   !memcmp(m.payload.config.region, "\2\0\0\0", 4),
	   "--tag: GET_CONFIG of a part (num_request_queues)");
	n = get_config(d.f, 30, 20, &m);
	ok(n == VHOST_USER_CONFIG_HDR && m.payload.config.size == 0,
	   "--tag: GET_CONFIG past the end: an empty answer");
	{
		struct fuse_entry_out eo;

		ok(lookup(&d, "hello.txt", &eo) != 0,
		   "--tag: the session still works");
	}
	stop(&d);
}

static void test_pid_file(void)
{
	struct daemon d, d2 = { .pid = -1 };
	char pidpath[160];
	int status = 0;
	pid_t w = 0;

	if (!run_daemon(&d, spawn("--socket-path", NULL), NULL, "pid file"))
		return;
	snprintf(pidpath, sizeof(pidpath), "%s.pid", sock);
	is_int(atoi(slurp(pidpath)), d.pid, "pid file: %s holds the daemon's pid",
	       pidpath);
	d2.pid = spawn("--socket-path", NULL);
	for (int i = 0; i < 250 && w == 0; i++) {
		w = waitpid(d2.pid, &status, WNOHANG);
		if (!w)
			usleep(20000);
	}
	ok(w == d2.pid && WIFEXITED(status) && WEXITSTATUS(status) != 0,
	   "pid file: a second daemon on the same socket fails (status %d)",
	   WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	if (w == d2.pid)
		d2.pid = -1;
	ok(strstr(slurp(logpath), "in use by another daemon") != NULL,
	   "pid file: and says the socket is in use");
	stop(&d2);
	{
		struct fuse_entry_out eo;

		ok(lookup(&d, "hello.txt", &eo) != 0,
		   "pid file: the first daemon still serves");
	}
	stop(&d);
	/* The lock died with the daemon: the next one starts. */
	if (run_daemon(&d, spawn("--socket-path", NULL), NULL,
		       "pid file: after the first one exits, a new daemon"))
		stop(&d);
}

static void test_log_levels(void)
{
	struct fuse_entry_out eo;
	struct daemon d;

	if (run_daemon(&d, spawn("--socket-path", "--log-level=trace", NULL),
		       NULL, "--log-level=trace")) {
		lookup(&d, "hello.txt", &eo);
		stop(&d);
		ok(strstr(slurp(logpath), "fuse: LOOKUP") != NULL,
		   "--log-level=trace: every request is logged");
	}
	if (run_daemon(&d, spawn("--socket-path", "--log-level=debug", NULL),
		       NULL, "--log-level=debug")) {
		lookup(&d, "hello.txt", &eo);
		stop(&d);
		ok(strstr(slurp(logpath), "fuse: LOOKUP") == NULL,
		   "--log-level=debug: requests are not traced");
	}
	if (run_daemon(&d, spawn("--socket-path", "--log-level=off", NULL),
		       NULL, "--log-level=off")) {
		lookup(&d, "hello.txt", &eo);
		stop(&d);
		is_int((int)strlen(slurp(logpath)), 0,
		       "--log-level=off: nothing on stderr");
	}
	if (run_daemon(&d, spawn("--socket-path", "-o", "loglevel=warn", NULL),
		       NULL, "-o loglevel=warn")) {
		stop(&d);
		ok(strstr(slurp(logpath), "listening on") == NULL,
		   "-o loglevel=warn (the Rust spelling): no info lines");
	}
}

static void test_syslog(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[100], buf[2048];
	struct timeval tv = { .tv_sec = 5 };
	struct daemon d;
	bool seen = false, prefix = false;
	int fd;

	snprintf(path, sizeof(path), "%s/log.sock", tmp);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ok(0, "--syslog: a syslog socket for the test");
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setenv("VDAX_SYSLOG_SOCKET", path, 1);
	if (run_daemon(&d, spawn("--socket-path", "--syslog", NULL), NULL,
		       "--syslog")) {
		stop(&d);
		for (;;) {
			ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

			if (n <= 0)
				break;
			buf[n] = '\0';
			if (strstr(buf, "listening on"))
				seen = true;
			/* daemon.info = 3 * 8 + 6 */
			if (!strncmp(buf, "<30>", 4) && strstr(buf, "vdaxd["))
				prefix = true;
		}
		ok(seen, "--syslog: the daemon's messages reach syslog");
		ok(prefix, "--syslog: as daemon.info with \"vdaxd[PID]:\"");
		ok(strstr(slurp(logpath), "listening on") == NULL,
		   "--syslog: and not stderr");
	}
	unsetenv("VDAX_SYSLOG_SOCKET");
	close(fd);
}

/* The pid of @pid's child (the namespace sandbox's server), or -1. */
static pid_t child_of(pid_t pid)
{
	char p[64];
	int c = -1;
	FILE *fp;

	snprintf(p, sizeof(p), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	fp = fopen(p, "r");
	if (fp) {
		if (fscanf(fp, "%d", &c) != 1)
			c = -1;
		fclose(fp);
	}
	return c;
}

static bool same_userns(pid_t a, pid_t b)
{
	char p[64], la[64] = "a", lb[64] = "b";
	ssize_t n;

	snprintf(p, sizeof(p), "/proc/%d/ns/user", (int)a);
	n = readlink(p, la, sizeof(la) - 1);
	la[n > 0 ? n : 0] = '\0';
	snprintf(p, sizeof(p), "/proc/%d/ns/user", (int)b);
	n = readlink(p, lb, sizeof(lb) - 1);
	lb[n > 0 ? n : 0] = '\0';
	return n > 0 && !strcmp(la, lb);
}

/* Exit status of vdaxd with these arguments, run as @uid (0: as we are). */
static int usage_status(uid_t uid, const char *a, const char *b)
{
	struct daemon d = { .pid = -1 };
	int status = 0;
	pid_t w = 0;

	run_as = uid;
	d.pid = spawn("--socket-path", a, b, NULL);
	run_as = 0;
	for (int i = 0; i < 250 && w == 0; i++) {
		w = waitpid(d.pid, &status, WNOHANG);
		if (!w)
			usleep(20000);
	}
	if (w != d.pid) {
		stop(&d);
		return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_userns(void)
{
	const uid_t nobody = 65534;
	char saved_dir[sizeof(dir)], saved_sock[sizeof(sock)], p[300];
	struct fuse_create_in cr = { .flags = O_RDWR | O_CREAT,
				     .mode = S_IFREG | 0644 };
	struct daemon d;
	struct reply r;
	struct stat st;
	pid_t server, pid;
	int rc;

	is_int(usage_status(0, "--uid-map=:0:100000:65536:", NULL), 64,
	       "--uid-map as root: a usage error (as in the Rust daemon)");
	is_int(usage_status(nobody, "--uid-map=0:65534:1", NULL), 64,
	       "--uid-map without the colons: a usage error");
	is_int(usage_status(nobody, "--gid-map=:0:65534:0:", NULL), 64,
	       "--gid-map with count 0: a usage error");
	is_int(usage_status(nobody, "--uid-map=:0:65534:1:",
			    "--sandbox=chroot"),
	       64, "--uid-map with --sandbox=chroot: a usage error");

	memcpy(saved_dir, dir, sizeof(dir));
	memcpy(saved_sock, sock, sizeof(sock));
	/* nobody's own directory, for the socket, its pid file and the share */
	snprintf(p, sizeof(p), "%s/ns", tmp);
	snprintf(dir, sizeof(dir), "%s/ns/share", tmp);
	snprintf(sock, sizeof(sock), "%s/ns/s.sock", tmp);
	if (mkdir(p, 0755) || chown(p, nobody, nobody) || mkdir(dir, 0755) ||
	    chown(dir, nobody, nobody) || chmod(tmp, 0755)) {
		ok(0, "userns: a shared directory owned by nobody");
		goto out;
	}
	/* Unprivileged, default sandbox: a user namespace of our own id. */
	sandbox_arg = "--sandbox=namespace";
	run_as = nobody;
	pid = spawn("--socket-path", "--seccomp=kill", "--uid-map=:0:65534:1:",
		    "--gid-map=:0:65534:1:", NULL);
	run_as = 0;
	if (!run_daemon(&d, pid, NULL,
			"unprivileged --sandbox=namespace --uid-map/--gid-map")) {
		diag("%s", slurp(logpath));
	} else {
		server = child_of(d.pid);
		ok(server > 0 && !same_userns(getpid(), server),
		   "userns: the server runs in a user namespace of its own");
		rc = fuse_call(d.f, FUSE_CREATE, FUSE_ROOT_ID, &cr, sizeof(cr),
			       "by-root", 8,
			       sizeof(struct fuse_entry_out) +
				       sizeof(struct fuse_open_out),
			       &r);
		is_int(fuse_err(rc, &r), 0, "userns: CREATE as guest root");
		snprintf(p, sizeof(p), "%s/by-root", dir);
		if (stat(p, &st))
			memset(&st, 0xff, sizeof(st));
		ok(st.st_uid == nobody && st.st_gid == nobody,
		   "userns: guest root's file belongs to host uid/gid 65534 "
		   "(got %d:%d)", (int)st.st_uid, (int)st.st_gid);
		stop(&d);
	}
	/* No maps at all: the same, by default. */
	run_as = nobody;
	pid = spawn("--socket-path", NULL);
	run_as = 0;
	if (run_daemon(&d, pid, NULL, "unprivileged, no maps")) {
		server = child_of(d.pid);
		ok(server > 0 && !same_userns(getpid(), server),
		   "userns: without maps too (the default sandbox works "
		   "without root)");
		stop(&d);
	}
	/*
	 * File handles need CAP_DAC_READ_SEARCH on the host, which a user
	 * namespace never gives: prefer falls back, mandatory refuses.
	 */
	run_as = nobody;
	pid = spawn("--socket-path", "--inode-file-handles=prefer", NULL);
	run_as = 0;
	if (run_daemon(&d, pid, NULL, "unprivileged, prefer")) {
		struct fuse_entry_out eo;

		ok(lookup(&d, "by-root", &eo) != 0,
		   "userns: prefer: LOOKUP works (by fds)");
		stop(&d);
		ok(strstr(slurp(logpath), "user namespace") &&
			   strstr(slurp(logpath), "holding an O_PATH fd"),
		   "userns: prefer: falls back to fds, and says why");
	}
	rc = usage_status(nobody, "--inode-file-handles=mandatory", NULL);
	ok(rc == 77 && strstr(slurp(logpath), "mandatory: cannot open file "
					      "handles"),
	   "userns: mandatory refuses to start (status %d, EX_NOPERM) with "
	   "the reason", rc);
out:
	sandbox_arg = "--sandbox=none";
	memcpy(dir, saved_dir, sizeof(dir));
	memcpy(sock, saved_sock, sizeof(sock));
}

static uint64_t cap_eff(pid_t pid)
{
	char p[64], line[256];
	unsigned long long v = 0;
	FILE *fp;

	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	fp = fopen(p, "r");
	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "CapEff: %llx", &v) == 1)
			break;
	fclose(fp);
	return v;
}

/* CREATE @name, then SETATTR its owner to @uid: the FUSE error. */
static int create_chown(struct daemon *d, const char *name, uint32_t uid)
{
	struct fuse_create_in cr = { .flags = O_RDWR | O_CREAT,
				     .mode = S_IFREG | 0644 };
	struct fuse_setattr_in sa = { .valid = FATTR_UID, .uid = uid };
	struct fuse_entry_out eo;
	struct reply r;
	int rc, err;

	rc = fuse_call(d->f, FUSE_CREATE, FUSE_ROOT_ID, &cr, sizeof(cr), name,
		       strlen(name) + 1,
		       sizeof(eo) + sizeof(struct fuse_open_out), &r);
	err = fuse_err(rc, &r);
	if (err)
		return err;
	memcpy(&eo, r.data, sizeof(eo));
	rc = fuse_call(d->f, FUSE_SETATTR, eo.nodeid, &sa, sizeof(sa), NULL, 0,
		       sizeof(struct fuse_attr_out), &r);
	return fuse_err(rc, &r);
}

static void test_modcaps(void)
{
	const uint64_t chown_bit = 1ull << 0, sys_admin_bit = 1ull << 21;
	struct daemon d;
	uint64_t eff;

	is_int(usage_status(0, "--modcaps=chown", NULL), 64,
	       "--modcaps without +/-: a usage error");
	is_int(usage_status(0, "--modcaps=+no_such_cap", NULL), 64,
	       "--modcaps with an unknown capability: a usage error");
	is_int(usage_status(0, "--modcaps=+chown::-fowner", NULL), 64,
	       "--modcaps with an empty item: a usage error");
	if (run_daemon(&d, spawn("--socket-path", NULL), NULL,
		       "capabilities, defaults")) {
		eff = cap_eff(d.pid);
		ok((eff & chown_bit) && !(eff & sys_admin_bit),
		   "defaults: CAP_CHOWN kept, CAP_SYS_ADMIN dropped (%#llx)",
		   (unsigned long long)eff);
		is_int(create_chown(&d, "chown-default", 1234), 0,
		       "defaults: chown to another uid works");
		stop(&d);
	}
	if (run_daemon(&d, spawn("--socket-path", "--modcaps=-CHOWN:+sys_admin",
				 NULL),
		       NULL, "--modcaps=-CHOWN:+sys_admin")) {
		eff = cap_eff(d.pid);
		ok(!(eff & chown_bit) && (eff & sys_admin_bit),
		   "--modcaps: CAP_CHOWN dropped, CAP_SYS_ADMIN kept (%#llx)",
		   (unsigned long long)eff);
		is_int(create_chown(&d, "chown-modcaps", 1234), -EPERM,
		       "--modcaps=-chown: chown to another uid gets EPERM");
		stop(&d);
	}
	if (run_daemon(&d, spawn("--socket-path", "-o", "modcaps=-chown",
				 NULL),
		       NULL, "-o modcaps=-chown")) {
		ok(!(cap_eff(d.pid) & chown_bit), "-o modcaps=-chown: the same");
		stop(&d);
	}
}

static int fuse_setxattr_raw(struct daemon *d, uint64_t node,
			     const char *name, const void *value, size_t len,
			     uint32_t setxattr_flags)
{
	/* FUSE_SETXATTR_EXT is negotiated: the long form of the header */
	struct fuse_setxattr_in si = { .size = (uint32_t)len,
				       .setxattr_flags = setxattr_flags };
	char body[256];
	size_t nlen = strlen(name) + 1;
	struct reply r;
	int rc;

	memcpy(body, name, nlen);
	memcpy(body + nlen, value, len);
	rc = fuse_call(d->f, FUSE_SETXATTR, node, &si, sizeof(si), body,
		       nlen + len, 0, &r);
	return fuse_err(rc, &r);
}

static int fuse_setxattr(struct daemon *d, uint64_t node, const char *name,
			 const char *value)
{
	/* FUSE_SETXATTR_EXT is negotiated: the long form of the header */
	struct fuse_setxattr_in si = { .size = (uint32_t)strlen(value) };
	char body[256];
	size_t nlen = strlen(name) + 1;
	struct reply r;
	int rc;

	memcpy(body, name, nlen);
	memcpy(body + nlen, value, si.size);
	rc = fuse_call(d->f, FUSE_SETXATTR, node, &si, sizeof(si), body,
		       nlen + si.size, 0, &r);
	return fuse_err(rc, &r);
}

/*
 * CREATE @name in @parent as @uid/@gid, with the FUSE_EXT_GROUPS
 * extension naming @group unless it is 0. The FUSE error; the entry in
 * *@eo if not NULL.
 */
static int create_as(struct daemon *d, uint64_t parent, const char *name,
		     uint32_t uid, uint32_t gid, uint32_t group,
		     struct fuse_entry_out *eo)
{
	struct fuse_create_in cr = { .flags = O_RDWR | O_CREAT,
				     .mode = S_IFREG | 0644, .umask = 022 };
	struct {
		struct fuse_ext_header xh;
		uint32_t nr, gid;
	} ext = { { sizeof(ext), 32 /* FUSE_EXT_GROUPS */ }, 1, group };
	size_t nlen = strlen(name) + 1;
	char padded[64] = { 0 };
	struct fuse_in_header ih = {
		.opcode = FUSE_CREATE,
		.unique = unique++,
		.nodeid = parent,
		.uid = uid,
		.gid = gid,
		.pid = getpid(),
	};
	struct iovec out[4] = { { &ih, sizeof(ih) }, { &cr, sizeof(cr) },
				{ padded, 0 }, { &ext, sizeof(ext) } };
	struct reply r;
	struct iovec in[2] = { { &r.oh, sizeof(r.oh) },
			       { r.data, sizeof(struct fuse_entry_out) +
						 sizeof(struct fuse_open_out) } };
	unsigned nout = group ? 4 : 3;
	int rc;

	/* the extension starts 8-aligned after the name */
	memcpy(padded, name, nlen);
	out[2].iov_len = group ? (nlen + 7) / 8 * 8 : nlen;
	ih.total_extlen = group ? sizeof(ext) / 8 : 0;
	ih.len = (uint32_t)(sizeof(ih) + sizeof(cr) + out[2].iov_len +
			    (group ? sizeof(ext) : 0));
	memset(&r.oh, 0, sizeof(r.oh));
	rc = ff_request(d->f, RQ, out, nout, in, 2, TMO, &r.used);
	rc = fuse_err(rc, &r);
	if (!rc && eo)
		memcpy(eo, r.data, sizeof(*eo));
	return rc;
}

static int create_as_1000(struct daemon *d, uint64_t parent, const char *name,
			  uint32_t group)
{
	return create_as(d, parent, name, 1000, 1000, group, NULL);
}

static void host_owner(const char *name, int *uid, int *gid)
{
	struct stat st;
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (stat(p, &st)) {
		*uid = *gid = -1;
		return;
	}
	*uid = (int)st.st_uid;
	*gid = (int)st.st_gid;
}

static void test_translate(void)
{
	struct fuse_setattr_in sa = { .valid = FATTR_UID | FATTR_GID,
				      .uid = 1005, .gid = 1006 };
	struct fuse_entry_out eo;
	struct daemon d;
	struct reply r;
	uint64_t open_dir;
	char p[256];
	int u, g, rc;

	is_int(usage_status(0, "--translate-uid=tomato:1:2:3", NULL), 64,
	       "--translate-uid with an unknown type: a usage error");
	is_int(usage_status(0, "--translate-uid=map:1:2", NULL), 64,
	       "--translate-uid with a number missing: a usage error");
	if (!run_daemon(&d, spawn("--socket-path",
				  "--translate-uid=map:1000:5000:10",
				  "--translate-gid=map:1000:5000:10",
				  "--translate-uid=forbid-guest:2000:1",
				  "--translate-uid=squash-host:7000:65534:100",
				  NULL),
			NULL, "--translate-uid/--translate-gid"))
		return;
	/* a directory anyone may create in: the host checks as 5000 */
	snprintf(p, sizeof(p), "%s/open", dir);
	if (mkdir(p, 0777) || chmod(p, 0777))
		diag("mkdir %s: %s", p, strerror(errno));
	open_dir = lookup(&d, "open", &eo);
	rc = create_as(&d, open_dir, "by-1000", 1000, 1000, 0, &eo);
	host_owner("open/by-1000", &u, &g);
	ok(rc == 0 && u == 5000 && g == 5000,
	   "translate: guest 1000:1000 creates as host 5000:5000 (got %d:%d)",
	   u, g);
	ok(rc == 0 && eo.attr.uid == 1000 && eo.attr.gid == 1000,
	   "translate: and the guest sees 1000:1000 (got %u:%u)",
	   eo.attr.uid, eo.attr.gid);
	rc = fuse_call(d.f, FUSE_SETATTR, eo.nodeid, &sa, sizeof(sa), NULL, 0,
		       sizeof(struct fuse_attr_out), &r);
	host_owner("open/by-1000", &u, &g);
	ok(!fuse_err(rc, &r) && u == 5005 && g == 5006,
	   "translate: chown to 1005:1006 gives host 5005:5006 (got %d:%d)",
	   u, g);
	ok(!fuse_err(rc, &r) &&
		   ((struct fuse_attr_out *)r.data)->attr.uid == 1005,
	   "translate: the SETATTR reply shows guest 1005");
	is_int(create_as(&d, open_dir, "by-2000", 2000, 2000, 0, NULL),
	       -EPERM, "translate: forbid-guest 2000: CREATE gets EPERM");
	ok(lookup(&d, "hello.txt", &eo) && eo.attr.uid == 0,
	   "translate: unmapped ids stay as they are (root)");
	snprintf(p, sizeof(p), "%s/squashed", dir);
	if (mknod(p, S_IFREG | 0644, 0) || chown(p, 7042, 7042))
		diag("squashed: %s", strerror(errno));
	if (!lookup(&d, "squashed", &eo))
		memset(&eo, 0, sizeof(eo));
	ok(eo.attr.uid == 65534 && eo.attr.gid == 7042,
	   "translate: squash-host 7000+100 shows host 7042 as 65534 "
	   "(got %u:%u)", eo.attr.uid, eo.attr.gid);
	stop(&d);
}

static void test_supp_groups(void)
{
	struct fuse_entry_out eo;
	struct daemon d;
	struct stat st;
	char p[256];
	uint64_t node;

	snprintf(p, sizeof(p), "%s/grp", dir);
	if (mkdir(p, 0770) || chown(p, 0, 2000) || chmod(p, 0770)) {
		ok(0, "supplementary groups: a directory of group 2000");
		return;
	}
	if (!run_daemon(&d, spawn("--socket-path", NULL), NULL,
			"supplementary groups"))
		return;
	ok(d.init.flags2 & (1u << 2),
	   "FUSE_CREATE_SUPP_GROUP offered");
	node = lookup(&d, "grp", &eo);
	is_int(create_as_1000(&d, node, "no-group", 0), -EACCES,
	       "uid 1000 without group 2000: EACCES in a 0770 root:2000 "
	       "directory");
	is_int(create_as_1000(&d, node, "with-group", 2000), 0,
	       "uid 1000 with the supplementary group 2000 (FUSE_EXT_GROUPS): "
	       "created");
	snprintf(p, sizeof(p), "%s/grp/with-group", dir);
	if (stat(p, &st))
		memset(&st, 0xff, sizeof(st));
	ok(st.st_uid == 1000 && st.st_gid == 1000,
	   "the file belongs to 1000:1000 (got %d:%d)", (int)st.st_uid,
	   (int)st.st_gid);
	is_int(create_as_1000(&d, node, "again-no-group", 0), -EACCES,
	       "the group is not left on the worker thread");
	stop(&d);
}

/* An access ACL in the xattr format: u::rw-, u:1234:r--, g::r--, m::r--, o::--- */
struct acl_entry {
	uint16_t tag, perm;
	uint32_t id;
};

static const struct {
	uint32_t version;
	struct acl_entry e[5];
} test_acl = { 2,
	       { { 0x01, 6, (uint32_t)-1 },
		 { 0x02, 4, 1234 },
		 { 0x04, 4, (uint32_t)-1 },
		 { 0x10, 4, (uint32_t)-1 },
		 { 0x20, 0, (uint32_t)-1 } } };

static void test_posix_acl(void)
{
	struct fuse_entry_out eo;
	struct daemon d;
	struct stat st;
	char p[256], v[128];
	uint64_t node;
	ssize_t n;
	int fd;

	is_int(usage_status(0, "--posix-acl", "--translate-uid=map:0:1:1"), 64,
	       "--posix-acl with --translate-uid: a usage error (as the Rust "
	       "daemon)");
	if (run_daemon(&d, spawn("--socket-path", "--xattr", NULL), NULL,
		       "--xattr without --posix-acl")) {
		ok(!(d.init.flags & FUSE_POSIX_ACL),
		   "without --posix-acl: no FUSE_POSIX_ACL");
		stop(&d);
	}
	snprintf(p, sizeof(p), "%s/acl.txt", dir);
	fd = open(p, O_CREAT | O_WRONLY, 0664);
	if (fd < 0 || fchmod(fd, 02664)) {
		ok(0, "--posix-acl: a set-group-ID file");
		return;
	}
	close(fd);
	if (!run_daemon(&d, spawn("--socket-path", "--posix-acl", NULL), NULL,
			"--posix-acl"))
		return;
	ok((d.init.flags & FUSE_POSIX_ACL) && (d.init.flags & FUSE_DONT_MASK) &&
		   (d.init.flags & FUSE_SETXATTR_EXT),
	   "--posix-acl: FUSE_POSIX_ACL, FUSE_DONT_MASK, FUSE_SETXATTR_EXT "
	   "(and so xattrs)");
	node = lookup(&d, "acl.txt", &eo);
	is_int(fuse_setxattr_raw(&d, node, "system.posix_acl_access", &test_acl,
				 sizeof(test_acl), 0),
	       0, "--posix-acl: SETXATTR system.posix_acl_access");
	n = getxattr(p, "system.posix_acl_access", v, sizeof(v));
	ok(n == (ssize_t)sizeof(test_acl) && !memcmp(v, &test_acl, sizeof(test_acl)),
	   "--posix-acl: the host file has the ACL (user 1234 r--)");
	ok(stat(p, &st) == 0 && (st.st_mode & S_ISGID),
	   "--posix-acl: set-group-ID kept without KILL_SGID");
	is_int(fuse_setxattr_raw(&d, node, "system.posix_acl_access", &test_acl,
				 sizeof(test_acl),
				 FUSE_SETXATTR_ACL_KILL_SGID),
	       0, "--posix-acl: SETXATTR with FUSE_SETXATTR_ACL_KILL_SGID");
	if (stat(p, &st))
		memset(&st, 0, sizeof(st));
	ok(!(st.st_mode & S_ISGID) && (st.st_mode & 07777) == 0640,
	   "--posix-acl: KILL_SGID cleared set-group-ID, the ACL set the rest "
	   "(0640: u::rw-, mask::r--, o::---; got %o)",
	   (unsigned)(st.st_mode & 07777));
	stop(&d);
}

/*
 * Start vdaxd as libvirt does: a listening socket inherited as fd 3
 * (--fd=3), the options as separate words. NULL-terminated extra args.
 */
static pid_t spawn_libvirt(uid_t uid, ...)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *argv[MAX_ARGS + 4];
	int n = 0, lfd;
	va_list ap;
	pid_t pid;

	unlink(sock);
	if (strlen(sock) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 1) || (uid && chown(sock, uid, uid)))
		return -1;
	argv[n++] = bin;
	argv[n++] = "--fd=3";
	va_start(ap, uid);
	for (const char *s; n < MAX_ARGS + 2 && (s = va_arg(ap, const char *));)
		argv[n++] = s;
	va_end(ap);
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
		if (dup2(lfd, 3) < 0)
			_exit(126);
		if (uid && (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
			    setresuid(uid, uid, uid)))
			_exit(126);
		execv(bin, (char **)argv);
		_exit(127);
	}
	close(lfd);
	return pid;
}

static void test_libvirt_cmdline(void)
{
	char saved_dir[sizeof(dir)], saved_sock[sizeof(sock)], o_opts[300];
	struct fuse_entry_out eo;
	struct daemon d;
	pid_t pid;

	/* system mode, Rust-style (separate-options): qemuVirtioFSBuildCommandLine */
	pid = spawn_libvirt(0, "--shared-dir", dir, "--cache", "never",
			    "--sandbox", "chroot", "--xattr",
			    "--thread-pool-size=4", "--rlimit-nofile=4096",
			    "--log-level", "debug", NULL);
	if (run_daemon(&d, pid, NULL,
		       "libvirt's system-mode command line (--fd, --cache never, "
		       "--sandbox chroot, --xattr, ...)")) {
		ok(lookup(&d, "hello.txt", &eo) && eo.attr_valid == 0 &&
			   (d.init.flags & FUSE_SETXATTR_EXT),
		   "libvirt system mode: cache never and xattrs in effect");
		stop(&d);
	}
	/* the -o form libvirt builds for a daemon without separate-options */
	snprintf(o_opts, sizeof(o_opts),
		 "source=%s,cache=always,sandbox=chroot,xattr,flock,posix_lock",
		 dir);
	pid = spawn_libvirt(0, "-o", o_opts, NULL);
	if (run_daemon(&d, pid, NULL, "libvirt's -o command line")) {
		ok(lookup(&d, "hello.txt", &eo) && eo.attr_valid == 86400 &&
			   (d.init.flags & FUSE_POSIX_LOCKS) &&
			   (d.init.flags & FUSE_FLOCK_LOCKS),
		   "libvirt -o form: cache always, posix_lock and flock in "
		   "effect");
		stop(&d);
	}
	/* session mode: unprivileged, --uid-map/--gid-map of its own ids */
	memcpy(saved_dir, dir, sizeof(dir));
	memcpy(saved_sock, sock, sizeof(sock));
	snprintf(dir, sizeof(dir), "%s/ns/share", tmp);
	snprintf(sock, sizeof(sock), "%s/ns/libvirt.sock", tmp);
	pid = spawn_libvirt(65534, "--shared-dir", dir, "--uid-map=:0:65534:1:",
			    "--gid-map=:0:65534:1:", "--xattr", NULL);
	if (run_daemon(&d, pid, NULL,
		       "libvirt's session-mode command line (unprivileged, "
		       "--uid-map/--gid-map)")) {
		ok(lookup(&d, "by-root", &eo) && eo.attr.uid == 0,
		   "libvirt session mode: host uid 65534 is root in the guest");
		stop(&d);
	}
	memcpy(dir, saved_dir, sizeof(dir));
	memcpy(sock, saved_sock, sizeof(sock));
}

/* MKDIR @name as root with a security context extension @xname=@value. */
static int mkdir_labelled(struct daemon *d, const char *name,
			  const char *xname, const char *value)
{
	struct fuse_mkdir_in mk = { .mode = 0755, .umask = 022 };
	uint8_t ext[128] = { 0 };
	char padded[64] = { 0 };
	size_t nlen = strlen(name) + 1, xlen = strlen(xname) + 1;
	size_t vlen = strlen(value), esize;
	struct fuse_secctx_header *h = (void *)ext;
	struct fuse_secctx *sc = (void *)(ext + sizeof(*h));
	struct fuse_in_header ih = {
		.opcode = FUSE_MKDIR,
		.unique = unique++,
		.nodeid = FUSE_ROOT_ID,
		.pid = getpid(),
	};
	struct reply r;
	struct iovec out[4], in[2] = {
		{ &r.oh, sizeof(r.oh) },
		{ r.data, sizeof(struct fuse_entry_out) },
	};
	int rc;

	esize = (sizeof(*h) + sizeof(*sc) + xlen + vlen + 7) / 8 * 8;
	h->size = (uint32_t)esize;
	h->nr_secctx = 1;
	sc->size = (uint32_t)vlen;
	memcpy(ext + sizeof(*h) + sizeof(*sc), xname, xlen);
	memcpy(ext + sizeof(*h) + sizeof(*sc) + xlen, value, vlen);
	memcpy(padded, name, nlen);
	out[0] = (struct iovec){ &ih, sizeof(ih) };
	out[1] = (struct iovec){ &mk, sizeof(mk) };
	out[2] = (struct iovec){ padded, (nlen + 7) / 8 * 8 };
	out[3] = (struct iovec){ ext, esize };
	ih.total_extlen = (uint16_t)(esize / 8);
	ih.len = (uint32_t)(sizeof(ih) + sizeof(mk) + out[2].iov_len + esize);
	memset(&r.oh, 0, sizeof(r.oh));
	rc = ff_request(d->f, RQ, out, 4, in, 2, TMO, &r.used);
	return fuse_err(rc, &r);
}

static void test_security_label(void)
{
	struct daemon d;
	char p[256], v[64] = "";
	ssize_t n;

	if (run_daemon(&d, spawn("--socket-path", "--security-label",
				 "--modcaps=+sys_admin", NULL),
		       NULL, "--security-label")) {
		ok(d.init.flags2 & 1, "--security-label: FUSE_SECURITY_CTX");
		is_int(mkdir_labelled(&d, "labelled", "security.vdaxtest",
				      "system_u:object_r:test_t"),
		       0, "--security-label: MKDIR with a security context");
		snprintf(p, sizeof(p), "%s/labelled", dir);
		n = getxattr(p, "security.vdaxtest", v, sizeof(v) - 1);
		ok(n == 24 && !memcmp(v, "system_u:object_r:test_t", 24),
		   "--security-label: the new directory has the label on the "
		   "host");
		stop(&d);
	}
	/* Without CAP_SYS_ADMIN the host refuses security.*: undone. */
	if (run_daemon(&d, spawn("--socket-path", "-o", "security_label", NULL),
		       NULL, "-o security_label (no CAP_SYS_ADMIN)")) {
		is_int(mkdir_labelled(&d, "unlabelled", "security.vdaxtest", "x"),
		       -EPERM, "a label the host refuses: EPERM");
		ok(!host_exists("unlabelled"),
		   "and the directory is not left behind");
		stop(&d);
	}
	if (run_daemon(&d, spawn("--socket-path", "--xattr", NULL), NULL,
		       "no --security-label")) {
		ok(!(d.init.flags2 & 1), "without it: no FUSE_SECURITY_CTX");
		stop(&d);
	}
}

static void test_xattrmap(void)
{
	struct fuse_getxattr_in gi = { .size = 256 };
	struct fuse_entry_out eo;
	struct daemon d;
	struct reply r;
	char p[256], v[64] = "";
	uint64_t node;
	ssize_t n;
	int rc;

	is_int(usage_status(0, "--xattrmap=:tomato:client:a:b:", NULL), 64,
	       "--xattrmap with an unknown rule type: a usage error");
	if (!run_daemon(&d, spawn("--socket-path",
				  "--xattrmap=:map:trusted.:user.virtiofs.:",
				  NULL),
			NULL, "--xattrmap=:map:trusted.:user.virtiofs.:"))
		return;
	ok(d.init.flags & FUSE_SETXATTR_EXT,
	   "--xattrmap implies --xattr (FUSE_SETXATTR_EXT offered)");
	node = lookup(&d, "hello.txt", &eo);
	is_int(fuse_setxattr(&d, node, "trusted.overlay.opaque", "y"), 0,
	       "--xattrmap: SETXATTR trusted.overlay.opaque (no CAP_SYS_ADMIN "
	       "needed)");
	snprintf(p, sizeof(p), "%s/hello.txt", dir);
	n = getxattr(p, "user.virtiofs.trusted.overlay.opaque", v, sizeof(v));
	ok(n == 1 && v[0] == 'y',
	   "--xattrmap: the host holds user.virtiofs.trusted.overlay.opaque");
	rc = fuse_call(d.f, FUSE_GETXATTR, node, &gi, sizeof(gi),
		       "trusted.overlay.opaque", 23, 256, &r);
	ok(!fuse_err(rc, &r) && r.used == sizeof(r.oh) + 1 && r.data[0] == 'y',
	   "--xattrmap: GETXATTR trusted.overlay.opaque gives it back");
	if (setxattr(p, "trusted.host-only", "h", 1, 0))
		diag("setxattr trusted.host-only: %s", strerror(errno));
	rc = fuse_call(d.f, FUSE_LISTXATTR, node, &gi, sizeof(gi), NULL, 0, 256,
		       &r);
	ok(!fuse_err(rc, &r) &&
		   r.used == sizeof(r.oh) + sizeof("trusted.overlay.opaque") &&
		   !strcmp((char *)r.data, "trusted.overlay.opaque"),
	   "--xattrmap: LISTXATTR shows the guest's name only (host trusted.* "
	   "and user.virtiofs.* hidden)");
	gi.size = 0;
	rc = fuse_call(d.f, FUSE_LISTXATTR, node, &gi, sizeof(gi), NULL, 0,
		       sizeof(struct fuse_getxattr_out), &r);
	ok(!fuse_err(rc, &r) &&
		   ((struct fuse_getxattr_out *)r.data)->size ==
			   sizeof("trusted.overlay.opaque"),
	   "--xattrmap: the LISTXATTR size query gives the mapped size");
	is_int(fuse_setxattr(&d, node, "user.virtiofs.sneak", "x"), -EPERM,
	       "--xattrmap: the host prefix itself is refused (EPERM)");
	stop(&d);
}

/* ---- --inode-file-handles ---- */

#define FH_FILES 2000

/* Open fds of @pid. */
static int fd_count(pid_t pid)
{
	char p[64];
	struct dirent *de;
	int n = 0;
	DIR *dd;

	snprintf(p, sizeof(p), "/proc/%d/fd", (int)pid);
	dd = opendir(p);
	if (!dd)
		return -1;
	while ((de = readdir(dd)))
		if (de->d_name[0] != '.')
			n++;
	closedir(dd);
	return n;
}

static uint64_t lookup_in(struct daemon *d, uint64_t parent, const char *name,
			  struct fuse_entry_out *eo)
{
	struct reply r;
	int rc = fuse_call(d->f, FUSE_LOOKUP, parent, name, strlen(name) + 1,
			   NULL, 0, sizeof(*eo), &r);

	if (fuse_err(rc, &r))
		return 0;
	memcpy(eo, r.data, sizeof(*eo));
	return eo->nodeid;
}

/* GETATTR: the FUSE error; *@a filled on success. */
static int fuse_getattr(struct daemon *d, uint64_t nodeid, struct fuse_attr *a)
{
	struct fuse_getattr_in gi = { 0 };
	struct fuse_attr_out ao;
	struct reply r;
	int rc = fuse_call(d->f, FUSE_GETATTR, nodeid, &gi, sizeof(gi), NULL, 0,
			   sizeof(ao), &r);
	int err = fuse_err(rc, &r);

	if (!err) {
		memcpy(&ao, r.data, sizeof(ao));
		*a = ao.attr;
	}
	return err;
}

static ssize_t fuse_read_fh(struct daemon *d, uint64_t nodeid, uint64_t fh,
			    char *buf, size_t size)
{
	struct fuse_read_in ri = { .fh = fh, .size = (uint32_t)size };
	struct reply r;
	int rc = fuse_call(d->f, FUSE_READ, nodeid, &ri, sizeof(ri), NULL, 0,
			   size, &r);
	int err = fuse_err(rc, &r);

	if (err)
		return err;
	memcpy(buf, r.data, r.used - sizeof(r.oh));
	return (ssize_t)(r.used - sizeof(r.oh));
}

static void host_path(char *p, size_t n, const char *name)
{
	snprintf(p, n, "%s/%s", dir, name);
}

static void host_write(const char *name, const char *text)
{
	char p[300];
	int fd;

	host_path(p, sizeof(p), name);
	fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		diag("host_write %s: %s", name, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/*
 * Look up (and hold) FH_FILES files under "many": the daemon's open fds
 * grow by one per file with an fd per inode, stay flat with handles.
 */
static int fds_for_lookups(const char *mode)
{
	char name[32];
	struct fuse_entry_out eo;
	struct timespec t0, t1;
	struct daemon d;
	uint64_t many;
	int before, after, found = 0;

	if (!run_daemon(&d, spawn("--socket-path", mode, NULL), NULL, mode))
		return -1;
	many = lookup(&d, "many", &eo);
	before = fd_count(d.pid);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < FH_FILES; i++) {
		snprintf(name, sizeof(name), "f%04d", i);
		found += lookup_in(&d, many, name, &eo) != 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	after = fd_count(d.pid);
	is_int(found, FH_FILES, "%s: %d lookups succeed", mode, FH_FILES);
	/* Informational only: the round trip dominates, the machine is shared */
	diag("%s: %d fds before %d lookups, %d after; %.0f lookups/s", mode,
	     before, FH_FILES, after,
	     FH_FILES / ((t1.tv_sec - t0.tv_sec) +
			 (t1.tv_nsec - t0.tv_nsec) / 1e9));
	stop(&d);
	return after - before;
}

/* FH_FILES lookups held by a daemon limited to 500 fds: how many, or 0. */
static int held_under_limit(const char *mode)
{
	char name[32];
	struct fuse_entry_out eo;
	struct daemon d;
	uint64_t many;
	int found = 0;

	if (!run_daemon(&d, spawn("--socket-path", mode, "--rlimit-nofile=500",
				 NULL),
			NULL, mode))
		return -1;
	many = lookup(&d, "many", &eo);
	for (int i = 0; i < FH_FILES; i++) {
		snprintf(name, sizeof(name), "f%04d", i);
		found += lookup_in(&d, many, name, &eo) != 0;
	}
	stop(&d);
	diag("%s, --rlimit-nofile=500: %d of %d LOOKUPs succeed", mode,
	     found, FH_FILES);
	return found == FH_FILES ? found : 0;
}

static void test_fh_fd_count(void)
{
	char p[300];
	int never, prefer, mandatory;

	host_path(p, sizeof(p), "many");
	if (mkdir(p, 0755)) {
		ok(0, "file handles: mkdir many");
		return;
	}
	for (int i = 0; i < FH_FILES; i++) {
		char name[32];

		snprintf(name, sizeof(name), "many/f%04d", i);
		host_write(name, "x");
	}
	never = fds_for_lookups("--inode-file-handles=never");
	prefer = fds_for_lookups("--inode-file-handles=prefer");
	mandatory = fds_for_lookups("--inode-file-handles=mandatory");
	ok(never >= FH_FILES - 10,
	   "never: an fd per inode (%d more fds for %d inodes)", never,
	   FH_FILES);
	ok(prefer >= 0 && prefer <= 10,
	   "prefer: the fd count stays flat (%d more fds for %d inodes)",
	   prefer, FH_FILES);
	ok(mandatory >= 0 && mandatory <= 10,
	   "mandatory: the fd count stays flat (%d more fds for %d inodes)",
	   mandatory, FH_FILES);
	/* More inodes than RLIMIT_NOFILE: only handles serve them all. */
	is_int(held_under_limit("--inode-file-handles=never"), 0,
	       "never, --rlimit-nofile=500: LOOKUPs past the limit fail");
	is_int(held_under_limit("--inode-file-handles=prefer"), FH_FILES,
	       "prefer, --rlimit-nofile=500: all %d LOOKUPs succeed",
	       FH_FILES);
}

/* Every kind of operation on handle inodes, checked on the host too. */
static void test_fh_ops(const char *mode)
{
	struct fuse_create_in cr = { .flags = O_RDWR | O_CREAT,
				     .mode = S_IFREG | 0644 };
	struct fuse_write_in wi = { .size = 3 };
	struct fuse_setattr_in sa = { .valid = FATTR_SIZE | FATTR_MODE,
				      .size = 1, .mode = S_IFREG | 0600 };
	struct fuse_rename2_in rn = { .newdir = FUSE_ROOT_ID };
	static const char names[] = "fh-new\0fh-renamed";
	struct fuse_link_in li;
	struct fuse_open_out oo;
	struct fuse_entry_out eo;
	struct fuse_attr a;
	struct daemon d;
	struct reply r;
	struct stat st;
	uint64_t node, held, gone, hello;
	char buf[64], p[300];
	ssize_t n;
	int rc;

	host_write("fh-held.txt", "held");
	host_write("fh-gone.txt", "gone");
	if (!run_daemon(&d, spawn("--socket-path", mode, NULL), NULL, mode))
		return;
	hello = lookup(&d, "hello.txt", &eo);
	is_int(fuse_open(&d, hello, O_RDONLY, &oo), 0, "%s: OPEN", mode);
	n = fuse_read_fh(&d, hello, oo.fh, buf, sizeof(buf));
	ok(n == 5 && !memcmp(buf, "hello", 5), "%s: READ gives the content",
	   mode);

	rc = fuse_call(d.f, FUSE_CREATE, FUSE_ROOT_ID, &cr, sizeof(cr),
		       "fh-new", 7, sizeof(eo) + sizeof(oo), &r);
	is_int(fuse_err(rc, &r), 0, "%s: CREATE", mode);
	memcpy(&eo, r.data, sizeof(eo));
	memcpy(&oo, r.data + sizeof(eo), sizeof(oo));
	node = eo.nodeid;
	wi.fh = oo.fh;
	rc = fuse_call(d.f, FUSE_WRITE, node, &wi, sizeof(wi), "abc", 3,
		       sizeof(struct fuse_write_out), &r);
	is_int(fuse_err(rc, &r), 0, "%s: WRITE", mode);
	n = fuse_read_fh(&d, node, oo.fh, buf, sizeof(buf));
	ok(n == 3 && !memcmp(buf, "abc", 3), "%s: READ back what was written",
	   mode);
	rc = fuse_call(d.f, FUSE_SETATTR, node, &sa, sizeof(sa), NULL, 0,
		       sizeof(struct fuse_attr_out), &r);
	is_int(fuse_err(rc, &r), 0, "%s: SETATTR size and mode", mode);
	host_path(p, sizeof(p), "fh-new");
	ok(!stat(p, &st) && st.st_size == 1 && (st.st_mode & 07777) == 0600,
	   "%s: the host file has size 1 and mode 0600", mode);

	rc = fuse_call(d.f, FUSE_RENAME2, FUSE_ROOT_ID, &rn, sizeof(rn), names,
		       sizeof(names), 0, &r);
	is_int(fuse_err(rc, &r), 0, "%s: RENAME2", mode);
	ok(!host_exists("fh-new") && host_exists("fh-renamed"),
	   "%s: renamed on the host", mode);
	ok(fuse_getattr(&d, node, &a) == 0 && a.size == 1,
	   "%s: GETATTR of the renamed inode", mode);

	li.oldnodeid = node;
	rc = fuse_call(d.f, FUSE_LINK, FUSE_ROOT_ID, &li, sizeof(li),
		       "fh-link", 8, sizeof(eo), &r);
	is_int(fuse_err(rc, &r), 0, "%s: LINK", mode);
	memcpy(&eo, r.data, sizeof(eo));
	is_int((int)(eo.nodeid == node), 1,
	       "%s: the new link is the same inode (one nodeid)", mode);
	is_int((int)eo.attr.nlink, 2, "%s: nlink 2", mode);
	rc = fuse_call(d.f, FUSE_UNLINK, FUSE_ROOT_ID, "fh-link", 8, NULL, 0,
		       0, &r);
	is_int(fuse_err(rc, &r), 0, "%s: UNLINK", mode);
	ok(fuse_getattr(&d, node, &a) == 0 && a.nlink == 1,
	   "%s: the held inode has nlink 1 again", mode);

	/*
	 * The guest removes the last name of an inode it holds (not open):
	 * it stays reachable, as with an fd per inode (POSIX: fstat after
	 * unlink, a removed working directory).
	 */
	{
		struct fuse_mkdir_in mk = { .mode = 0755 };
		uint64_t dn, pin;

		host_write("fh-victim", "v");
		rc = fuse_call(d.f, FUSE_RENAME2, FUSE_ROOT_ID, &rn, sizeof(rn),
			       "fh-renamed\0fh-victim",
			       sizeof("fh-renamed\0fh-victim"), 0, &r);
		is_int(fuse_err(rc, &r), 0, "%s: RENAME2 over a file", mode);
		rc = fuse_call(d.f, FUSE_UNLINK, FUSE_ROOT_ID, "fh-victim",
			       sizeof("fh-victim"), NULL, 0, 0, &r);
		is_int(fuse_err(rc, &r), 0, "%s: UNLINK its last name", mode);
		ok(fuse_getattr(&d, node, &a) == 0 && a.nlink == 0 &&
			   a.size == 1,
		   "%s: GETATTR of the held, unlinked inode (nlink 0)", mode);
		/* not open in the guest: no open file stands in */
		host_write("fh-pin", "pp");
		pin = lookup(&d, "fh-pin", &eo);
		rc = fuse_call(d.f, FUSE_UNLINK, FUSE_ROOT_ID, "fh-pin",
			       sizeof("fh-pin"), NULL, 0, 0, &r);
		is_int(fuse_err(rc, &r), 0, "%s: UNLINK a held file", mode);
		ok(pin && fuse_getattr(&d, pin, &a) == 0 && a.nlink == 0 &&
			   a.size == 2,
		   "%s: GETATTR of a held, unlinked, unopened file", mode);
		rc = fuse_call(d.f, FUSE_MKDIR, FUSE_ROOT_ID, &mk, sizeof(mk),
			       "fh-dir", sizeof("fh-dir"), sizeof(eo), &r);
		is_int(fuse_err(rc, &r), 0, "%s: MKDIR", mode);
		memcpy(&eo, r.data, sizeof(eo));
		dn = eo.nodeid;
		rc = fuse_call(d.f, FUSE_RMDIR, FUSE_ROOT_ID, "fh-dir",
			       sizeof("fh-dir"), NULL, 0, 0, &r);
		is_int(fuse_err(rc, &r), 0, "%s: RMDIR", mode);
		ok(fuse_getattr(&d, dn, &a) == 0 && a.nlink == 0,
		   "%s: GETATTR of the held, removed directory", mode);
	}

	/* READDIRPLUS: entries looked up relative to the open directory */
	{
		struct fuse_open_in oi = { .flags = O_RDONLY };
		struct fuse_read_in ri = { .size = 4096 };
		int entries = 0, with_node = 0;

		rc = fuse_call(d.f, FUSE_OPENDIR, FUSE_ROOT_ID, &oi,
			       sizeof(oi), NULL, 0, sizeof(oo), &r);
		is_int(fuse_err(rc, &r), 0, "%s: OPENDIR", mode);
		memcpy(&oo, r.data, sizeof(oo));
		ri.fh = oo.fh;
		rc = fuse_call(d.f, FUSE_READDIRPLUS, FUSE_ROOT_ID, &ri,
			       sizeof(ri), NULL, 0, 4096, &r);
		if (!fuse_err(rc, &r)) {
			for (size_t off = 0; off + FUSE_NAME_OFFSET_DIRENTPLUS <
					     r.used - sizeof(r.oh);) {
				struct fuse_direntplus *dp =
					(void *)(r.data + off);

				entries++;
				with_node += dp->entry_out.nodeid != 0;
				off += FUSE_DIRENTPLUS_SIZE(dp);
			}
		}
		ok(entries >= 5 && with_node >= 3,
		   "%s: READDIRPLUS lists entries with their inodes (%d, %d)",
		   mode, entries, with_node);
	}

	/* Deleted on the host while the guest holds it: ESTALE, no crash. */
	gone = lookup(&d, "fh-gone.txt", &eo);
	host_path(p, sizeof(p), "fh-gone.txt");
	unlink(p);
	rc = fuse_getattr(&d, gone, &a);
	ok(rc == -ESTALE || rc == -ENOENT,
	   "%s: GETATTR of a file deleted on the host: ESTALE or ENOENT (%d)",
	   mode, rc);
	rc = fuse_open(&d, gone, O_RDONLY, &oo);
	ok(rc == -ESTALE || rc == -ENOENT,
	   "%s: OPEN of it too (%d)", mode, rc);
	/* One the guest has open stays usable, as POSIX wants. */
	held = lookup(&d, "fh-held.txt", &eo);
	is_int(fuse_open(&d, held, O_RDONLY, &oo), 0, "%s: OPEN held", mode);
	host_path(p, sizeof(p), "fh-held.txt");
	unlink(p);
	ok(fuse_getattr(&d, held, &a) == 0 && a.nlink == 0,
	   "%s: GETATTR of an open file deleted on the host (nlink 0)", mode);
	n = fuse_read_fh(&d, held, oo.fh, buf, sizeof(buf));
	ok(n == 4 && !memcmp(buf, "held", 4), "%s: and READ of it", mode);
	ok(lookup(&d, "hello.txt", &eo) == hello,
	   "%s: the daemon still serves, same nodeid for the same file", mode);

	/* An inode number reused by a new file is another inode. */
	{
		struct stat s1, s2;
		uint64_t n1, n2;

		host_write("fh-reuse", "1");
		host_path(p, sizeof(p), "fh-reuse");
		stat(p, &s1);
		n1 = lookup(&d, "fh-reuse", &eo);
		unlink(p);
		host_write("fh-reuse", "22");
		stat(p, &s2);
		n2 = lookup(&d, "fh-reuse", &eo);
		if (s1.st_ino == s2.st_ino)
			ok(n1 && n2 && n1 != n2 &&
				   fuse_getattr(&d, n2, &a) == 0 && a.size == 2,
			   "%s: a reused inode number is a new inode", mode);
		else
			ok(n1 && n2, "%s: lookups of a recreated file # the "
			   "host did not reuse the inode number", mode);
		unlink(p);
	}
	stop(&d);
	unlink(p);
	host_path(p, sizeof(p), "fh-renamed");
	unlink(p);
}

/*
 * Mounts in the shared directory (in a mount namespace of the test's own,
 * which the daemons it starts inherit): a tmpfs has handles and gets its
 * own mount fd; proc has none, so prefer holds its inodes by fds and
 * mandatory fails their lookups.
 */
static void test_fh_mounts(void)
{
	char sub[300], nofh[300], name[32];
	struct fuse_entry_out eo;
	struct fuse_attr a;
	struct daemon d;
	int before, found = 0;
	uint64_t s, f = 0;
	struct reply r;
	int rc;

	host_path(sub, sizeof(sub), "fh-tmpfs");
	host_path(nofh, sizeof(nofh), "fh-proc");
	if (unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mkdir(sub, 0755) || mkdir(nofh, 0755) ||
	    mount("tmpfs", sub, "tmpfs", 0, "size=1m") ||
	    mount("proc", nofh, "proc", 0, NULL)) {
		ok(1, "file handles and mounts # SKIP cannot mount (%s)",
		   strerror(errno));
		return;
	}
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "fh-tmpfs/t%03d", i);
		host_write(name, "t");
	}
	if (run_daemon(&d, spawn("--socket-path", "--inode-file-handles=prefer",
				 NULL),
		       NULL, "prefer with a tmpfs and a proc mounted")) {
		s = lookup(&d, "fh-tmpfs", &eo);
		before = fd_count(d.pid);
		for (int i = 0; i < 100; i++) {
			snprintf(name, sizeof(name), "t%03d", i);
			f = lookup_in(&d, s, name, &eo);
			found += f != 0;
		}
		is_int(found, 100, "prefer: lookups on a tmpfs submount");
		ok(fd_count(d.pid) - before <= 2,
		   "prefer: by handles there too (fds %d -> %d)", before,
		   fd_count(d.pid));
		ok(f && fuse_getattr(&d, f, &a) == 0 && a.size == 1,
		   "prefer: GETATTR opens a handle on the submount");
		s = lookup(&d, "fh-proc", &eo);
		before = fd_count(d.pid);
		f = s ? lookup_in(&d, s, "uptime", &eo) : 0;
		ok(f && fuse_getattr(&d, f, &a) == 0,
		   "prefer: proc has no file handles: still served");
		ok(fd_count(d.pid) - before == 1,
		   "prefer: by an fd (fds %d -> %d)", before, fd_count(d.pid));
		stop(&d);
		ok(strstr(slurp(logpath), "no usable file handle") != NULL,
		   "prefer: the fallback is logged");
	}
	if (run_daemon(&d, spawn("--socket-path",
				 "--inode-file-handles=mandatory", NULL),
		       NULL, "mandatory with a proc mounted")) {
		rc = fuse_call(d.f, FUSE_LOOKUP, FUSE_ROOT_ID, "fh-proc", 8,
			       NULL, 0, sizeof(eo), &r);
		rc = fuse_err(rc, &r);
		ok(rc == -EOPNOTSUPP,
		   "mandatory: LOOKUP of a filesystem without handles fails "
		   "EOPNOTSUPP (%d)", rc);
		ok(lookup(&d, "fh-tmpfs", &eo) != 0,
		   "mandatory: a tmpfs has handles: LOOKUP works");
		stop(&d);
	}
	umount2(nofh, MNT_DETACH);
	umount2(sub, MNT_DETACH);
}

/* 200 lookups and a GETATTR by handle in a sandboxed daemon (@server). */
static void fh_sandboxed(struct daemon *d, pid_t server, const char *what)
{
	struct fuse_entry_out eo;
	struct fuse_attr a;
	uint64_t many = lookup(d, "many", &eo), f = 0;
	int before = fd_count(server), found = 0;

	for (int i = 0; i < 200; i++) {
		char name[32];

		snprintf(name, sizeof(name), "f%04d", i);
		f = lookup_in(d, many, name, &eo);
		found += f != 0;
	}
	is_int(found, 200, "%s: lookups by handle", what);
	ok(f && fuse_getattr(d, f, &a) == 0 && a.size == 1,
	   "%s: GETATTR opens the handle", what);
	ok(fd_count(server) - before <= 10,
	   "%s: fd count flat (%d before, %d after)", what, before,
	   fd_count(server));
	stop(d);
}

static void test_file_handles(void)
{
	struct daemon d;
	char *log;
	int rc;

	is_int(usage_status(0, "--inode-file-handles=sometimes", NULL), 64,
	       "--inode-file-handles=sometimes: a usage error");
	/* CAP_DAC_READ_SEARCH (bit 2) only when handles are on */
	if (run_daemon(&d, spawn("--socket-path", NULL), NULL, "never")) {
		ok(!(cap_eff(d.pid) & 1ull << 2),
		   "never: CAP_DAC_READ_SEARCH dropped");
		stop(&d);
	}
	if (run_daemon(&d, spawn("--socket-path", "--inode-file-handles=prefer",
				 NULL),
		       NULL, "prefer")) {
		ok(cap_eff(d.pid) & 1ull << 2,
		   "prefer: CAP_DAC_READ_SEARCH kept (open_by_handle_at)");
		stop(&d);
	}
	test_fh_fd_count();
	test_fh_ops("--inode-file-handles=prefer");
	test_fh_ops("--inode-file-handles=mandatory");

	if (run_daemon(&d, spawn("--socket-path", "-o",
				 "inode_file_handles=fallback", NULL),
		       NULL, "-o inode_file_handles=fallback")) {
		stop(&d);
		ok(strstr(slurp(logpath), "held by file handles (prefer)") !=
			   NULL,
		   "-o inode_file_handles=fallback: the same as prefer");
	}
	/* Without CAP_DAC_READ_SEARCH: prefer falls back, mandatory refuses */
	if (run_daemon(&d, spawn("--socket-path",
				 "--inode-file-handles=prefer",
				 "--modcaps=-dac_read_search", NULL),
		       NULL, "prefer --modcaps=-dac_read_search")) {
		stop(&d);
		ok(strstr(slurp(logpath), "holding an O_PATH fd per inode") !=
			   NULL,
		   "prefer without CAP_DAC_READ_SEARCH: falls back, logged");
	}
	rc = usage_status(0, "--inode-file-handles=mandatory",
			  "--modcaps=-dac_read_search");
	log = slurp(logpath);
	ok(rc == 77 && strstr(log, "CAP_DAC_READ_SEARCH"),
	   "mandatory without CAP_DAC_READ_SEARCH: refuses to start "
	   "(status %d, EX_NOPERM)", rc);
	if (rc != 77)
		diag("%s", log);

	/*
	 * The namespace sandbox pivots into the shared directory, chroot
	 * chroots into it: handles open through the mount fd taken there.
	 */
	for (int sb = 0; sb < 2; sb++) {
		const char *what = sb ? "chroot sandbox" : "namespace sandbox";

		sandbox_arg = sb ? "--sandbox=chroot" : "--sandbox=namespace";
		if (run_daemon(&d, spawn("--socket-path", "--seccomp=kill",
					 "--inode-file-handles=mandatory",
					 NULL),
			       NULL, what))
			fh_sandboxed(&d, sb ? d.pid : child_of(d.pid), what);
	}
	sandbox_arg = "--sandbox=none";
	test_fh_mounts();
}

int main(void)
{
	char p[200];
	int fd;

	bin = getenv("VDAXD");
	if (!bin || access(bin, X_OK))
		tap_skip_all("vdaxd not built ($VDAXD unset)");
	signal(SIGPIPE, SIG_IGN);
	snprintf(tmp, sizeof(tmp), "/tmp/vdax-opts-XXXXXX");
	if (!mkdtemp(tmp))
		tap_bail("mkdtemp");
	snprintf(dir, sizeof(dir), "%s/shared", tmp);
	snprintf(sock, sizeof(sock), "%s/vhost.sock", tmp);
	snprintf(logpath, sizeof(logpath), "%s/vdaxd.log", tmp);
	snprintf(p, sizeof(p), "%s/hello.txt", dir);
	if (mkdir(dir, 0755))
		tap_bail("mkdir");
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	if (fd < 0 || write(fd, "hello", 5) != 5)
		tap_bail("hello.txt");
	close(fd);

	test_defaults();
	test_switches();
	test_cache_metadata();
	test_readonly("--readonly");
	test_readonly("-o readonly");
	test_open_flags();
	test_tag();
	test_pid_file();
	test_log_levels();
	test_syslog();
	test_userns();
	test_modcaps();
	test_xattrmap();
	test_supp_groups();
	test_translate();
	test_posix_acl();
	test_libvirt_cmdline();
	test_security_label();
	test_file_handles();

	if (!td_rmrf(tmp))
		diag("cleanup of %s failed", tmp);
	return tap_done();
}
