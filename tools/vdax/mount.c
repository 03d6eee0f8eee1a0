// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vdax mount: a FUSE (low-level API) file system whose every operation is
 * served by libvdax, so any program on the machine can use a vhost-user-fs
 * share. This file: the command line, detaching, and the session's life;
 * see mount_int.h for the rest.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "mount_int.h"

/* ---- command line ---- */

struct mount_args {
	const char *socket;
	const char *mountpoint;
	bool foreground, debug;
	char vdax_opts[1024];	/* for libvdax */
	char dax_mode[16];	/* the dax= value given, for vdax stats */
	char fuse_opts[2048];	/* for libfuse */
	double attr_timeout, entry_timeout; /* < 0: not given */
	bool direct_io;
	bool no_window_read;
	bool have_perm_opt;
	bool allow_other;	/* callers other than the mount's owner */
	bool attr_timeout_set, entry_timeout_set;
};

static int append(char *dst, size_t size, const char *s, size_t len)
{
	size_t cur = strlen(dst);

	if (cur + len + 2 > size)
		return -E2BIG;
	if (cur)
		dst[cur++] = ',';
	memcpy(dst + cur, s, len);
	dst[cur + len] = '\0';
	return 0;
}

static bool key_is(const char *opt, size_t len, const char *key)
{
	size_t k = strlen(key);

	return len >= k && !strncmp(opt, key, k) &&
	       (len == k || opt[k] == '=');
}

/* Split one -o list between libvdax, us and libfuse. */
static int split_opts(struct mount_args *a, const char *list)
{
	static const char *const vdax_keys[] = {
		"dax", "cache_size", "entries", "mem", "queues", "queue_size",
		"timeout", "dax_admit",
	};
	const char *p = list;

	while (*p) {
		size_t len = strcspn(p, ",");
		bool done = false;
		int ret = 0;

		for (size_t i = 0; i < sizeof(vdax_keys) / sizeof(*vdax_keys);
		     i++) {
			if (key_is(p, len, vdax_keys[i])) {
				ret = append(a->vdax_opts,
					     sizeof(a->vdax_opts), p, len);
				done = true;
			}
		}
		/* the last dax= wins in libvdax too; a bare "dax" is always */
		if (key_is(p, len, "dax")) {
			const char *v = len > 3 ? p + 4 : "always";
			int vl = len > 3 ? (int)(len - 4) : 6;

			snprintf(a->dax_mode, sizeof(a->dax_mode), "%.*s", vl,
				 v);
		}
		if (done) {
		} else if (key_is(p, len, "attr_timeout") && len > 13) {
			a->attr_timeout = strtod(p + 13, NULL);
			a->attr_timeout_set = true;
		} else if (key_is(p, len, "entry_timeout") && len > 14) {
			a->entry_timeout = strtod(p + 14, NULL);
			a->entry_timeout_set = true;
		} else if (len == 9 && !strncmp(p, "direct_io", 9)) {
			a->direct_io = true;
		} else if (len == 12 && !strncmp(p, "kernel_cache", 12)) {
			a->direct_io = false;
		} else if (len == 14 && !strncmp(p, "no_window_read", 14)) {
			a->no_window_read = true;
		} else if (len == 22 && !strncmp(p, "no_default_permissions", 22)) {
			a->have_perm_opt = true;
		} else if (len) {
			if (key_is(p, len, "default_permissions"))
				a->have_perm_opt = true;
			if (key_is(p, len, "allow_other"))
				a->allow_other = true;
			ret = append(a->fuse_opts, sizeof(a->fuse_opts), p,
				     len);
		}
		if (ret)
			return ret;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

static void mount_usage(FILE *out)
{
	fprintf(out,
		"usage: vdax mount --socket PATH [-o OPTIONS] [-f] [-d] MOUNTPOINT\n"
		"\n"
		"  -s, --socket PATH   vhost-user-fs backend socket\n"
		"  -o OPTIONS          dax=never|always|inode, cache_size=BYTES (the DAX\n"
		"                      window, a multiple of 2M), entries=N (dentries\n"
		"                      cached), mem=, queues=, queue_size=, timeout=\n"
		"                      go to libvdax; attr_timeout=S, entry_timeout=S\n"
		"                      (default: what the backend grants),\n"
		"                      direct_io, no_default_permissions,\n"
		"                      no_window_read to vdax mount;\n"
		"                      the rest (allow_other, ro, fsname=...) to FUSE\n"
		"  -f                  stay in the foreground\n"
		"  -d                  FUSE debug output (implies -f)\n");
}

static int parse_mount_args(struct mount_args *a, int argc, char **argv,
			    const char *opts)
{
	static const struct option lopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "options", required_argument, NULL, 'o' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	a->attr_timeout = -1; /* the backend's */
	a->entry_timeout = -1;
	if (opts && split_opts(a, opts))
		return EX_USAGE;
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:o:fdh", lopts, NULL)) != -1) {
		switch (c) {
		case 's':
			a->socket = optarg;
			break;
		case 'o':
			if (split_opts(a, optarg)) {
				fprintf(stderr, "vdax mount: options too long\n");
				return EX_USAGE;
			}
			break;
		case 'd':
			a->debug = true;
			/* fall through */
		case 'f':
			a->foreground = true;
			break;
		case 'h':
			mount_usage(stdout);
			return -1;
		default:
			mount_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind + 1 != argc || !a->socket) {
		fprintf(stderr, "vdax mount: %s\n",
			!a->socket ? "missing --socket PATH" :
				     "need exactly one MOUNTPOINT");
		mount_usage(stderr);
		return EX_USAGE;
	}
	a->mountpoint = argv[optind];
	if ((a->attr_timeout_set && !(a->attr_timeout >= 0)) ||
	    (a->entry_timeout_set && !(a->entry_timeout >= 0))) {
		fprintf(stderr, "vdax mount: negative timeout\n");
		return EX_USAGE;
	}
	return 0;
}

/*
 * The mount is served by a child when not in the foreground: libvdax's
 * threads would not survive fuse_daemonize()'s fork, and the parent must
 * only return once the mount exists (mount(8) and scripts rely on it), with
 * the child's verdict as exit status.
 */
static int detach(int *notify_fd)
{
	int p[2];
	pid_t pid;
	char rc;

	if (pipe(p))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &rc, 1) != 1)
			rc = EX_SOFTWARE;
		_exit(rc);
	}
	close(p[0]);
	setsid();
	*notify_fd = p[1];
	return 0;
}

static void notify(int *fd, char rc)
{
	int nul;

	if (*fd < 0)
		return;
	if (write(*fd, &rc, 1) != 1) {
		/* the parent is gone; nothing to tell */
	}
	close(*fd);
	*fd = -1;
	if (rc)
		return;
	if (chdir("/")) {
		/* stay where we are */
	}
	nul = open("/dev/null", O_RDWR);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		if (nul > 2)
			close(nul);
	}
}

int vmnt_main(int argc, char **argv, const char *socket, const char *opts)
{
	struct mount_args a = { .socket = socket };
	struct fuse_args fargs = FUSE_ARGS_INIT(0, NULL);
	struct vdax_opts vo = { 0 };
	struct vm vm = { 0 };
	char fsname[512];
	int notify_fd = -1, ret, rc = EX_SOFTWARE;

	ret = parse_mount_args(&a, argc, argv, opts);
	if (ret)
		return ret < 0 ? 0 : ret;
	/*
	 * libvdax sends every request with our credentials: let the kernel
	 * check permissions against the attributes unless told otherwise,
	 * wherever those checks can refuse anything. A mount of root's
	 * without allow_other is entered by root's processes alone (the
	 * kernel turns every other caller away), and root's capabilities
	 * pass every check but exec of a file with no x bit, which the
	 * kernel makes in any case. The checks would still cost: the kernel
	 * drops a directory's attributes at every CREATE, UNLINK, MKDIR...
	 * in it and fetches them again (GETATTR, to the backend) before the
	 * next permission check there, two round trips in each
	 * create+unlink. Without them access(2) is answered by vm_access().
	 */
	if (!a.have_perm_opt && (geteuid() != 0 || a.allow_other) &&
	    append(a.fuse_opts, sizeof(a.fuse_opts), "default_permissions", 19))
		return EX_USAGE;
	if (!strstr(a.fuse_opts, "fsname=")) {
		snprintf(fsname, sizeof(fsname), "fsname=vdax:%s", a.socket);
		/* a comma would split the option; fall back to a plain name */
		if (strchr(fsname + 7, ','))
			strcpy(fsname, "fsname=vdax");
		if (append(a.fuse_opts, sizeof(a.fuse_opts), fsname,
			   strlen(fsname)))
			return EX_USAGE;
	}
	if (!strstr(a.fuse_opts, "subtype=") &&
	    append(a.fuse_opts, sizeof(a.fuse_opts), "subtype=vdax", 12))
		return EX_USAGE;

	if (!a.foreground && detach(&notify_fd)) {
		perror("vdax mount: fork");
		return EX_OSERR;
	}

	vm.attr_timeout = a.attr_timeout;
	vm.entry_timeout = a.entry_timeout;
	vm.direct_io = a.direct_io;
	vm.no_window_read = a.no_window_read;
	snprintf(vm.dax_mode, sizeof(vm.dax_mode), "%s",
		 a.dax_mode[0] ? a.dax_mode : "never");
	vm.uid = geteuid();
	vm.gid = getegid();
	vm.started = time(NULL);
	pthread_mutex_init(&vm.lock, NULL);

	vo.socket_path = a.socket;
	vo.options = a.vdax_opts[0] ? a.vdax_opts : NULL;
	ret = vdax_open_session(&vo, &vm.vd);
	if (ret == -EOPNOTSUPP) {
		fprintf(stderr,
			"vdax mount: connect %s: %s: the backend has no DAX "
			"window (dax=always needs one, e.g. vdaxd "
			"--cache-size=SIZE; use dax=inode or dax=never)\n",
			a.socket, strerror(-ret));
		rc = EX_UNAVAILABLE;
		goto out;
	}
	if (ret) {
		fprintf(stderr, "vdax mount: connect %s: %s\n", a.socket,
			strerror(-ret));
		rc = ret == -EINVAL ? EX_USAGE : EX_UNAVAILABLE;
		goto out;
	}
	ret = vm_setup_root(&vm);
	if (ret) {
		fprintf(stderr, "vdax mount: root of the share: %s\n",
			strerror(-ret));
		rc = EX_UNAVAILABLE;
		goto out_vdax;
	}

	if (fuse_opt_add_arg(&fargs, "vdax") ||
	    (a.debug && fuse_opt_add_arg(&fargs, "-d")) ||
	    fuse_opt_add_arg(&fargs, "-o") ||
	    fuse_opt_add_arg(&fargs, a.fuse_opts)) {
		rc = EX_OSERR;
		goto out_vdax;
	}
	vm.se = fuse_session_new(&fargs, &vm_ops, sizeof(vm_ops), &vm);
	if (!vm.se) {
		fprintf(stderr, "vdax mount: bad FUSE options: %s\n",
			a.fuse_opts);
		rc = EX_USAGE;
		goto out_args;
	}
	if (fuse_set_signal_handlers(vm.se)) {
		rc = EX_OSERR;
		goto out_session;
	}
	if (fuse_session_mount(vm.se, a.mountpoint)) {
		rc = EX_CANTCREAT;
		goto out_signals;
	}
	notify(&notify_fd, 0);
	{
		struct fuse_loop_config lc = { .clone_fd = 0,
					       .max_idle_threads = 10 };

		ret = fuse_session_loop_mt(vm.se, &lc);
	}
	fuse_session_unmount(vm.se);
	/*
	 * The kernel ends the connection when the mount goes (umount, or the
	 * last file of a lazy umount closing): a blocked /dev/fuse read then
	 * sees ENODEV or, depending on timing, ECONNABORTED. Both are the
	 * normal end of the mount, not a failure.
	 */
	if (ret == -ECONNABORTED || ret == ECONNABORTED)
		ret = 0;
	rc = ret ? EX_SOFTWARE : 0;
out_signals:
	fuse_remove_signal_handlers(vm.se);
out_session:
	fuse_session_destroy(vm.se);
out_args:
	fuse_opt_free_args(&fargs);
out_vdax:
	/* handles the kernel never released go first: vdax_close would
	 * free them under us otherwise */
	vm_free_tables(&vm);
	vdax_close(vm.vd);
out:
	pthread_mutex_destroy(&vm.lock);
	notify(&notify_fd, (char)rc);
	return rc;
}

