// SPDX-License-Identifier: GPL-2.0-or-later
/* mmap coherency with read/write, SIGBUS past EOF, MAP_PRIVATE. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "px.h"

static sigjmp_buf jb;
static volatile sig_atomic_t last_sig, armed;
static long pg;

/*
 * Only touch()/poke() expect a fault; anywhere else it is a real crash
 * and must kill the area (reported as "mmap.area_completed").
 */
static void on_fault(int sig)
{
	if (!armed) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	armed = 0;
	last_sig = sig;
	siglongjmp(jb, 1);
}

static void catch_faults(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fault;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
}

/* Reads one byte at p; returns the signal it raised, or 0. */
static int touch(volatile char *p, char *out)
{
	last_sig = 0;
	if (sigsetjmp(jb, 1))
		return last_sig;
	armed = 1;
	*out = *p;
	armed = 0;
	return 0;
}

static int poke(volatile char *p, char v)
{
	last_sig = 0;
	if (sigsetjmp(jb, 1))
		return last_sig;
	armed = 1;
	*p = v;
	armed = 0;
	return 0;
}

static void *map(int fd, size_t len, int prot, int flags, off_t off)
{
	void *p = mmap(NULL, len, prot, flags, fd, off);

	return p == MAP_FAILED ? NULL : p;
}

static void mmap_shared(void)
{
	char buf[64];
	char *p;
	int fd = open("sh", O_RDWR | O_CREAT | O_TRUNC, 0644);

	ftruncate(fd, 2 * pg);
	p = map(fd, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	px_ok("mmap.shared.map_rc", p != NULL, "errno %s", px_errname(errno));
	if (!p) {
		close(fd);
		return;
	}
	memcpy(p + 100, "through-the-map", 15);
	px_ok("mmap.shared.read_sees_before_msync",
	      pread(fd, buf, 15, 100) == 15 &&
		      !memcmp(buf, "through-the-map", 15),
	      "not visible");
	px_eq("mmap.shared.msync_rc", msync(p, 2 * pg, MS_SYNC), 0);
	px_ok("mmap.shared.read_sees_after_msync",
	      pread(fd, buf, 15, 100) == 15 &&
		      !memcmp(buf, "through-the-map", 15),
	      "not visible");
	pwrite(fd, "from-write", 10, pg + 7);
	px_ok("mmap.shared.map_sees_later_write",
	      !memcmp(p + pg + 7, "from-write", 10), "stale");
	px_eq("mmap.shared.size_unchanged", px_size("sh"), 2 * pg);
	munmap(p, 2 * pg);
	close(fd);
	px_ok("mmap.shared.persists_after_close",
	      px_get("sh", buf, 1) == 1 && buf[0] == 0 &&
		      (fd = open("sh", O_RDONLY)) >= 0 &&
		      pread(fd, buf, 15, 100) == 15 &&
		      !memcmp(buf, "through-the-map", 15),
	      "lost");
	if (fd >= 0)
		close(fd);
}

static void mmap_after_write(void)
{
	char *p, *big;
	size_t len = 4 << 20;
	int fd = open("w", O_RDWR | O_CREAT | O_TRUNC, 0644);

	big = malloc(len);
	if (big) {
		px_pattern(big, len, 0);
		write(fd, big, len);
	}
	p = map(fd, len, PROT_READ, MAP_SHARED, 0);
	px_ok("mmap.after_write.sees_data",
	      big && p && px_pattern_ok(p, len, 0), "mismatch");
	if (p)
		munmap(p, len);
	/* A window at an offset crossing a 2 MiB boundary. */
	p = map(fd, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, (2 << 20) - pg);
	px_ok("mmap.offset.sees_data",
	      p && px_pattern_ok(p, 2 * pg, (2 << 20) - pg), "mismatch");
	if (p) {
		memset(p + pg - 8, 'M', 16);
		msync(p, 2 * pg, MS_SYNC);
		munmap(p, 2 * pg);
	}
	px_ok("mmap.offset.write_across_2m",
	      big && pread(fd, big, 32, (2 << 20) - 16) == 32 &&
		      px_pattern_ok(big, 8, (2 << 20) - 16) &&
		      !memcmp(big + 8, "MMMMMMMMMMMMMMMM", 16) &&
		      px_pattern_ok(big + 24, 8, (2 << 20) + 8),
	      "mismatch");
	free(big);
	close(fd);
}

static void mmap_eof(void)
{
	char c = 1, *p;
	int fd = open("e", O_RDWR | O_CREAT | O_TRUNC, 0644);

	write(fd, "short", 5);
	p = map(fd, 3 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	px_ok("mmap.eof.map_rc", p != NULL, "errno %s", px_errname(errno));
	if (!p) {
		close(fd);
		return;
	}
	px_ok("mmap.eof.page_tail_zero", touch(p + 100, &c) == 0 && c == 0,
	      "sig %d byte %d", last_sig, c);
	px_eq("mmap.eof.beyond_eof_SIGBUS", touch(p + pg + 1, &c), SIGBUS);
	px_eq("mmap.eof.write_beyond_eof_SIGBUS", poke(p + 2 * pg, 'x'),
	      SIGBUS);
	poke(p + 200, 'T');
	px_eq("mmap.eof.tail_write_not_in_size", px_size("e"), 5);
	ftruncate(fd, 2 * pg);
	px_ok("mmap.eof.extend_then_touch",
	      touch(p + pg + 1, &c) == 0 && c == 0, "sig %d", last_sig);
	ftruncate(fd, 0);
	px_eq("mmap.eof.after_truncate_SIGBUS", touch(p, &c), SIGBUS);
	munmap(p, 3 * pg);
	close(fd);
}

static void mmap_private(void)
{
	char buf[8] = {0};
	char *p;
	int fd;

	px_put_str("pv", "original");
	fd = open("pv", O_RDWR);
	p = map(fd, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0);
	px_ok("mmap.private.map_rc", p != NULL, "errno %s", px_errname(errno));
	if (p) {
		memcpy(p, "CHANGED!", 8);
		msync(p, pg, MS_SYNC);
		px_ok("mmap.private.sees_own_write", !memcmp(p, "CHANGED!", 8),
		      "lost");
		px_ok("mmap.private.not_in_file",
		      pread(fd, buf, 8, 0) == 8 && !memcmp(buf, "original", 8),
		      "leaked: %.8s", buf);
		munmap(p, pg);
	}
	close(fd);
	px_ok("mmap.private.not_after_unmap", px_get_str_is("pv", "original"),
	      "leaked");
}

static void mmap_errors(void)
{
	int fd;

	px_put_str("ro", "data");
	fd = open("ro", O_RDONLY);
	px_err("mmap.rdonly_fd_shared_write_EACCES",
	       map(fd, pg, PROT_WRITE, MAP_SHARED, 0) ? 0 : -1, EACCES);
	px_ok("mmap.rdonly_fd_private_write_ok",
	      map(fd, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0) != NULL,
	      "errno %s", px_errname(errno));
	px_err("mmap.zero_len_EINVAL",
	       map(fd, 0, PROT_READ, MAP_SHARED, 0) ? 0 : -1, EINVAL);
	px_err("mmap.unaligned_offset_EINVAL",
	       map(fd, pg, PROT_READ, MAP_SHARED, 1) ? 0 : -1, EINVAL);
	close(fd);
	fd = open("ro", O_WRONLY);
	px_err("mmap.wronly_fd_EACCES",
	       map(fd, pg, PROT_READ, MAP_SHARED, 0) ? 0 : -1, EACCES);
	close(fd);
}

void px_area_mmap(void)
{
	pg = sysconf(_SC_PAGESIZE);
	catch_faults();
	mmap_shared();
	mmap_after_write();
	mmap_eof();
	mmap_private();
	mmap_errors();
}
