// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vdax: use a vhost-user-fs backend's files from the command line,
 * through libvdax (no VM, no mount).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "vdax/vdax.h"
#ifdef VDAX_HAVE_FUSE3
#include "mount.h"
#endif

/*
 * Buffer of the commands that copy data (cat, put, get), page aligned as
 * coreutils' cat aligns its own: page-aligned file data then copies
 * between page-aligned addresses, not 16 bytes apart as into a plain
 * malloc()ed buffer (where memcpy() may pay for 4 KiB aliasing; see
 * src/common/copy.h). The cold `vdax cat` of a 256 MiB file (bench, 64 MiB
 * window, best of 3) went from 12-13 to 10 ms with it. 1 MiB: one
 * FUSE_READ per call without DAX.
 */
#define BUFSZ	(1u << 20)
#define BUFALIGN 4096u

static void *buf_alloc(void)
{
	return aligned_alloc(BUFALIGN, BUFSZ);
}

static const char *prog = "vdax";

static void usage(FILE *out)
{
	fprintf(out,
		"usage: %s --socket PATH [-o OPTIONS] [--stats] COMMAND [ARGS]\n"
		"\n"
		"commands:\n"
		"  ls [-l] [PATH]          list a directory\n"
		"  stat PATH               show attributes\n"
		"  cat PATH...             print files\n"
		"  put LOCAL REMOTE        copy a local file to the backend\n"
		"  get REMOTE LOCAL        copy a backend file to a local file\n"
		"  cp REMOTE REMOTE        copy within the backend\n"
		"  rm PATH...              remove files\n"
		"  mkdir PATH...           create directories\n"
		"  df [PATH]               show filesystem usage\n"
		"  mount [-f] [-o OPTS] MOUNTPOINT\n"
		"                          serve the share through FUSE\n"
		"  stats MOUNTPOINT        counters of a vdax mount (no --socket)\n"
		"\n"
		"options:\n"
		"  -s, --socket PATH       vhost-user-fs backend socket\n"
		"  -o, --options OPTS      libvdax options, key=value,...:\n"
		"                            dax=never|always|inode, cache_size=BYTES\n"
		"                            (the DAX window, a multiple of 2M),\n"
		"                            entries=N, mem=BYTES, queues=N,\n"
		"                            queue_size=N, timeout=MS\n"
		"      --stats             print libvdax's DAX counters to stderr\n"
		"                          when the command ends\n"
		"  -h, --help              this help\n",
		prog);
}

/* Map an -errno to a sysexits code. */
static int exit_code(int err)
{
	switch (-err) {
	case ENOENT:
	case ENOTDIR:
		return EX_NOINPUT;
	case EACCES:
	case EPERM:
		return EX_NOPERM;
	case ENOTCONN:
	case ECONNREFUSED:
	case ETIMEDOUT:
		return EX_UNAVAILABLE;
	case EINVAL:
		return EX_USAGE;
	case EIO:
	case EPROTO:
		return EX_IOERR;
	default:
		return EX_SOFTWARE;
	}
}

static int fail(const char *what, const char *path, int err)
{
	fprintf(stderr, "%s: %s%s%s: %s\n", prog, what, path ? " " : "",
		path ? path : "", strerror(-err));
	return exit_code(err);
}

static char type_char(mode_t m)
{
	if (S_ISDIR(m))
		return 'd';
	if (S_ISLNK(m))
		return 'l';
	if (S_ISCHR(m))
		return 'c';
	if (S_ISBLK(m))
		return 'b';
	if (S_ISFIFO(m))
		return 'p';
	if (S_ISSOCK(m))
		return 's';
	return '-';
}

static void mode_str(mode_t m, char out[11])
{
	const char *rwx = "rwxrwxrwx";

	out[0] = type_char(m);
	for (int i = 0; i < 9; i++)
		out[1 + i] = (m & (0400 >> i)) ? rwx[i] : '-';
	out[10] = '\0';
}

static int cmd_ls(struct vdax *vd, int argc, char **argv)
{
	const char *path = "/";
	int longfmt = 0, ret;
	struct vdax_dir *d;
	struct vdax_dirent e;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-l"))
			longfmt = 1;
		else
			path = argv[i];
	}
	ret = vdax_opendir(vd, path, &d);
	if (ret == -ENOTDIR) {
		struct stat st;

		ret = vdax_lstat(vd, path, &st);
		if (ret)
			return fail("ls", path, ret);
		printf("%s\n", path);
		return 0;
	}
	if (ret)
		return fail("ls", path, ret);
	while ((ret = vdax_readdir(d, &e)) > 0) {
		char full[4096 + 256 + 2];
		char ms[11];
		struct stat st;

		if (!strcmp(e.name, ".") || !strcmp(e.name, ".."))
			continue;
		if (!longfmt) {
			printf("%s\n", e.name);
			continue;
		}
		snprintf(full, sizeof(full), "%s/%s", path, e.name);
		if (vdax_lstat(vd, full, &st)) {
			printf("?????????? %s\n", e.name);
			continue;
		}
		mode_str(st.st_mode, ms);
		printf("%s %3lu %5u %5u %10lld %s\n", ms,
		       (unsigned long)st.st_nlink, st.st_uid, st.st_gid,
		       (long long)st.st_size, e.name);
	}
	vdax_closedir(d);
	if (ret < 0)
		return fail("ls", path, ret);
	return 0;
}

static int cmd_stat(struct vdax *vd, int argc, char **argv)
{
	int rc = 0;

	if (argc < 2)
		return usage(stderr), EX_USAGE;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		char ms[11];
		int ret = vdax_lstat(vd, argv[i], &st);

		if (ret) {
			rc = fail("stat", argv[i], ret);
			continue;
		}
		mode_str(st.st_mode, ms);
		printf("  File: %s\n  Size: %lld\tBlocks: %lld\tIO Block: %ld\n"
		       "Inode: %llu\tLinks: %lu\n"
		       "Access: (%04o/%s)  Uid: %u  Gid: %u\n"
		       "Modify: %lld.%09ld\n",
		       argv[i], (long long)st.st_size,
		       (long long)st.st_blocks, (long)st.st_blksize,
		       (unsigned long long)st.st_ino,
		       (unsigned long)st.st_nlink, st.st_mode & 07777, ms,
		       st.st_uid, st.st_gid, (long long)st.st_mtim.tv_sec,
		       st.st_mtim.tv_nsec);
	}
	return rc;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

static int cmd_cat(struct vdax *vd, int argc, char **argv)
{
	char *buf = buf_alloc();
	int rc = 0;

	if (!buf)
		return EX_OSERR;
	if (argc < 2) {
		free(buf);
		return usage(stderr), EX_USAGE;
	}
	for (int i = 1; i < argc; i++) {
		struct vdax_file *f;
		ssize_t n;
		int ret = vdax_open(vd, argv[i], O_RDONLY, 0, &f);

		if (ret) {
			rc = fail("cat", argv[i], ret);
			continue;
		}
		while ((n = vdax_read(f, buf, BUFSZ)) > 0) {
			ret = write_all(1, buf, n);
			if (ret) {
				rc = fail("write", "stdout", ret);
				break;
			}
		}
		if (n < 0)
			rc = fail("cat", argv[i], (int)n);
		vdax_release(f);
	}
	free(buf);
	return rc;
}

static int cmd_put(struct vdax *vd, int argc, char **argv)
{
	struct vdax_file *f;
	char *buf;
	int fd, ret, rc = 0;
	ssize_t n;

	if (argc != 3)
		return usage(stderr), EX_USAGE;
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("put", argv[1], -errno);
	ret = vdax_open(vd, argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644, &f);
	if (ret) {
		close(fd);
		return fail("put", argv[2], ret);
	}
	buf = buf_alloc();
	if (!buf) {
		rc = EX_OSERR;
		goto out;
	}
	while ((n = read(fd, buf, BUFSZ)) != 0) {
		ssize_t w;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = fail("put", argv[1], -errno);
			break;
		}
		for (ssize_t off = 0; off < n; off += w) {
			w = vdax_write(f, buf + off, n - off);
			if (w <= 0) {
				rc = fail("put", argv[2], w ? (int)w : -EIO);
				goto out;
			}
		}
	}
out:
	free(buf);
	close(fd);
	ret = vdax_release(f);
	if (ret && !rc)
		rc = fail("put", argv[2], ret);
	return rc;
}

static int cmd_get(struct vdax *vd, int argc, char **argv)
{
	struct vdax_file *f;
	char *buf;
	int fd, ret, rc = 0;
	ssize_t n;

	if (argc != 3)
		return usage(stderr), EX_USAGE;
	ret = vdax_open(vd, argv[1], O_RDONLY, 0, &f);
	if (ret)
		return fail("get", argv[1], ret);
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = EX_CANTCREAT;
		fprintf(stderr, "%s: get %s: %s\n", prog, argv[2],
			strerror(errno));
		vdax_release(f);
		return rc;
	}
	buf = buf_alloc();
	if (!buf) {
		rc = EX_OSERR;
		goto out;
	}
	while ((n = vdax_read(f, buf, BUFSZ)) > 0) {
		ret = write_all(fd, buf, n);
		if (ret) {
			rc = fail("get", argv[2], ret);
			break;
		}
	}
	if (n < 0)
		rc = fail("get", argv[1], (int)n);
out:
	free(buf);
	if (close(fd) && !rc)
		rc = fail("get", argv[2], -errno);
	vdax_release(f);
	return rc;
}

static int cmd_cp(struct vdax *vd, int argc, char **argv)
{
	struct vdax_file *in, *out;
	struct stat st;
	int ret, rc = 0;

	if (argc != 3)
		return usage(stderr), EX_USAGE;
	ret = vdax_open(vd, argv[1], O_RDONLY, 0, &in);
	if (ret)
		return fail("cp", argv[1], ret);
	ret = vdax_fstat(in, &st);
	if (!ret)
		ret = vdax_open(vd, argv[2], O_WRONLY | O_CREAT | O_TRUNC,
				st.st_mode & 0777, &out);
	if (ret) {
		vdax_release(in);
		return fail("cp", argv[2], ret);
	}
	for (;;) {
		ssize_t n = vdax_copy_file_range(in, NULL, out, NULL, 1u << 30,
						 0);

		if (n == 0)
			break;
		if (n == -ENOSYS || n == -EXDEV || n == -EOPNOTSUPP) {
			char *buf = buf_alloc();

			/* fall back to read/write */
			while (buf && (n = vdax_read(in, buf, BUFSZ)) > 0) {
				ssize_t w = vdax_write(out, buf, n);

				if (w != n) {
					n = w < 0 ? w : -EIO;
					break;
				}
			}
			free(buf);
			if (n < 0)
				rc = fail("cp", argv[2], (int)n);
			break;
		}
		if (n < 0) {
			rc = fail("cp", argv[2], (int)n);
			break;
		}
	}
	ret = vdax_release(out);
	if (ret && !rc)
		rc = fail("cp", argv[2], ret);
	vdax_release(in);
	return rc;
}

static int cmd_each(struct vdax *vd, int argc, char **argv, const char *what,
		    int (*fn)(struct vdax *, const char *))
{
	int rc = 0;

	if (argc < 2)
		return usage(stderr), EX_USAGE;
	for (int i = 1; i < argc; i++) {
		int ret = fn(vd, argv[i]);

		if (ret)
			rc = fail(what, argv[i], ret);
	}
	return rc;
}

static int do_mkdir(struct vdax *vd, const char *p)
{
	return vdax_mkdir(vd, p, 0755);
}

static int cmd_df(struct vdax *vd, int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/";
	struct statvfs st;
	int ret = vdax_statfs(vd, path, &st);
	unsigned long long k;

	if (ret)
		return fail("df", path, ret);
	k = st.f_frsize / 1024 ? st.f_frsize / 1024 : 1;
	printf("%12s %12s %12s %12s %5s\n", "1K-blocks", "Used", "Available",
	       "Inodes", "Use%");
	printf("%12llu %12llu %12llu %12llu %4llu%%\n",
	       (unsigned long long)st.f_blocks * k,
	       (unsigned long long)(st.f_blocks - st.f_bfree) * k,
	       (unsigned long long)st.f_bavail * k,
	       (unsigned long long)st.f_files,
	       st.f_blocks ? (unsigned long long)(st.f_blocks - st.f_bfree) *
				     100 / st.f_blocks :
			     0);
	return 0;
}

/*
 * vdax_open_session() failed: say why in words a user can act on. An
 * unavailable service (no backend, or no DAX window for dax=always) is
 * EX_UNAVAILABLE; bad -o options are EX_USAGE.
 */
static int session_failed(const char *sock, int err)
{
	if (err == -EOPNOTSUPP) {
		fprintf(stderr,
			"%s: connect %s: %s: the backend has no DAX window "
			"(dax=always needs one, e.g. vdaxd --cache-size=SIZE; "
			"use dax=inode or dax=never)\n",
			prog, sock, strerror(-err));
		return EX_UNAVAILABLE;
	}
	fprintf(stderr, "%s: connect %s: %s\n", prog, sock, strerror(-err));
	return err == -EINVAL ? EX_USAGE : EX_UNAVAILABLE;
}

/*
 * --stats: the DAX counters go to stderr, after the command's own output
 * (which may be file data on stdout: `vdax --stats cat F > copy`).
 */
static int print_stats(struct vdax *vd, int rc)
{
	int ret;

	fflush(stdout);
	ret = vdax_print_stats(vd, stderr);
	if (ret)
		return rc ? rc : fail("stats", NULL, ret);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "options", required_argument, NULL, 'o' },
		{ "stats", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vdax_opts o = { 0 };
	struct vdax *vd;
	const char *cmd;
	bool stats = false;
	int c, ret, rc;

	while ((c = getopt_long(argc, argv, "+s:o:h", lopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o.socket_path = optarg;
			break;
		case 'o':
			o.options = optarg;
			break;
		case 'S':
			stats = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (stats && optind < argc &&
	    (!strcmp(argv[optind], "mount") || !strcmp(argv[optind], "stats"))) {
		fprintf(stderr, "%s: --stats is for one-shot commands; a mount's "
			"counters are read with `vdax stats MOUNTPOINT`\n", prog);
		return EX_USAGE;
	}
	if (optind < argc && !strcmp(argv[optind], "mount")) {
#ifdef VDAX_HAVE_FUSE3
		return vmnt_main(argc - optind, argv + optind, o.socket_path,
				 o.options);
#else
		fprintf(stderr, "%s: built without libfuse3\n", prog);
		return EX_UNAVAILABLE;
#endif
	}
	if (optind < argc && !strcmp(argv[optind], "stats")) {
#ifdef VDAX_HAVE_FUSE3
		return vmnt_stats_main(argc - optind, argv + optind);
#else
		fprintf(stderr, "%s: built without libfuse3\n", prog);
		return EX_UNAVAILABLE;
#endif
	}
	if (optind >= argc || !o.socket_path) {
		fprintf(stderr, "%s: %s\n", prog,
			o.socket_path ? "missing command" :
					"missing --socket PATH");
		usage(stderr);
		return EX_USAGE;
	}
	cmd = argv[optind];
	if (strcmp(cmd, "ls") && strcmp(cmd, "stat") && strcmp(cmd, "cat") &&
	    strcmp(cmd, "put") && strcmp(cmd, "get") && strcmp(cmd, "cp") &&
	    strcmp(cmd, "rm") && strcmp(cmd, "mkdir") && strcmp(cmd, "df")) {
		fprintf(stderr, "%s: unknown command '%s'\n", prog, cmd);
		usage(stderr);
		return EX_USAGE;
	}
	ret = vdax_open_session(&o, &vd);
	if (ret)
		return session_failed(o.socket_path, ret);
	argc -= optind;
	argv += optind;
	if (!strcmp(cmd, "ls"))
		rc = cmd_ls(vd, argc, argv);
	else if (!strcmp(cmd, "stat"))
		rc = cmd_stat(vd, argc, argv);
	else if (!strcmp(cmd, "cat"))
		rc = cmd_cat(vd, argc, argv);
	else if (!strcmp(cmd, "put"))
		rc = cmd_put(vd, argc, argv);
	else if (!strcmp(cmd, "get"))
		rc = cmd_get(vd, argc, argv);
	else if (!strcmp(cmd, "cp"))
		rc = cmd_cp(vd, argc, argv);
	else if (!strcmp(cmd, "rm"))
		rc = cmd_each(vd, argc, argv, "rm", vdax_unlink);
	else if (!strcmp(cmd, "mkdir"))
		rc = cmd_each(vd, argc, argv, "mkdir", do_mkdir);
	else
		rc = cmd_df(vd, argc, argv);
	if (stats)
		rc = print_stats(vd, rc);
	vdax_close(vd);
	return rc;
}
