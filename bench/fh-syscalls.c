// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fh-syscalls: what --inode-file-handles costs vdaxd on the host, as the
 * system calls one request makes with an O_PATH fd per inode and with a
 * file handle per inode (opened for the request, closed after). Run as
 * root (open_by_handle_at needs CAP_DAC_READ_SEARCH) on a directory of
 * files f0000, f0001, ... (made if missing):
 *
 *   fh-syscalls DIR [FILES [REPS]]     (default 2000 files, 20 rounds)
 *
 * Prints microseconds per request for LOOKUP, GETATTR and OPEN each way.
 * Not a test: never part of `make check`.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct fh_buf {
	struct file_handle fh;
	unsigned char bytes[MAX_HANDLE_SZ];
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void handle_of(int fd, struct fh_buf *h)
{
	int mnt;

	h->fh.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(fd, "", &h->fh, &mnt, AT_EMPTY_PATH) < 0) {
		perror("name_to_handle_at");
		exit(1);
	}
}

static void report(const char *what, double t0, int n, int reps)
{
	printf("%-34s %6.2f us\n", what, (now() - t0) / reps / n * 1e6);
}

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 2000;
	int reps = argc > 3 ? atoi(argv[3]) : 20;
	unsigned int mask = STATX_BASIC_STATS | STATX_MNT_ID;
	int flags = AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW;
	struct fh_buf dir_h, *hs;
	struct statx sx;
	char name[32];
	int dir, mfd, *fds;
	double t;

	if (argc < 2 || n <= 0 || reps <= 0) {
		fprintf(stderr, "usage: fh-syscalls DIR [FILES [REPS]]\n");
		return 2;
	}
	dir = open(argv[1], O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* the mount fd: open_by_handle_at() refuses an O_PATH one */
	mfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	hs = calloc(n, sizeof(*hs));
	fds = calloc(n, sizeof(*fds));
	if (dir < 0 || mfd < 0 || !hs || !fds) {
		perror(argv[1]);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%04d", i);
		close(openat(dir, name, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	}
	handle_of(dir, &dir_h);

	/* LOOKUP of a new inode: the child's O_PATH fd and its statx */
	t = now();
	for (int r = 0; r < reps; r++) {
		for (int i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "f%04d", i);
			fds[i] = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
			statx(fds[i], "", flags, mask, &sx);
			if (r < reps - 1)
				close(fds[i]); /* kept by the daemon */
		}
	}
	report("LOOKUP, fd per inode", t, n, reps);
	/* ... plus the parent opened by handle, the child's handle made */
	t = now();
	for (int r = 0; r < reps; r++) {
		for (int i = 0; i < n; i++) {
			int pfd = open_by_handle_at(mfd, &dir_h.fh,
						    O_PATH | O_CLOEXEC);
			int fd;

			snprintf(name, sizeof(name), "f%04d", i);
			fd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
			statx(fd, "", flags, mask, &sx);
			handle_of(fd, &hs[i]);
			close(fd);
			close(pfd);
		}
	}
	report("LOOKUP, file handle per inode", t, n, reps);

	t = now();
	for (int r = 0; r < reps; r++)
		for (int i = 0; i < n; i++)
			statx(fds[i], "", flags, mask, &sx);
	report("GETATTR, fd per inode", t, n, reps);
	t = now();
	for (int r = 0; r < reps; r++) {
		for (int i = 0; i < n; i++) {
			int fd = open_by_handle_at(mfd, &hs[i].fh,
						   O_PATH | O_CLOEXEC);

			statx(fd, "", flags, mask, &sx);
			close(fd);
		}
	}
	report("GETATTR, file handle per inode", t, n, reps);

	/* OPEN: through /proc/self/fd, or straight from the handle */
	t = now();
	for (int r = 0; r < reps; r++) {
		for (int i = 0; i < n; i++) {
			char p[32];

			snprintf(p, sizeof(p), "/proc/self/fd/%d", fds[i]);
			close(open(p, O_RDONLY | O_CLOEXEC));
		}
	}
	report("OPEN, fd per inode (/proc reopen)", t, n, reps);
	t = now();
	for (int r = 0; r < reps; r++)
		for (int i = 0; i < n; i++)
			close(open_by_handle_at(mfd, &hs[i].fh,
						O_RDONLY | O_CLOEXEC));
	report("OPEN, file handle per inode", t, n, reps);
	return 0;
}
