// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The mmap area of the shared body (cbody.h): mmap coherency with read and
 * write, SIGBUS past EOF, MAP_PRIVATE. It needs o->mmap: vdax-posix runs
 * it; vdax-conform has no such op (programs map through vdax_mmap(),
 * which tests/daxe2e covers) and leaves the area out of its table.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cbody.h"

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

/* The mapping, or NULL with the errno in *err. */
static void *map(const struct cb_ops *o, void *f, size_t len, int prot,
		 int flags, off_t off, int *err)
{
	void *p = NULL;

	*err = f ? o->mmap(f, len, prot, flags, off, &p) : EBADF;
	return *err ? NULL : p;
}

static void mmap_shared(const struct cb_ops *o)
{
	char buf[64];
	char *p;
	void *f, *g;
	int err;

	if (o->open("sh", O_RDWR | O_CREAT | O_TRUNC, 0644, &f))
		f = NULL;
	if (f)
		o->ftruncate(f, 2 * pg);
	p = map(o, f, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &err);
	cb_ok(o, "mmap.shared.map_rc", p != NULL, "errno %s", o->errname(err));
	if (!p) {
		if (f)
			o->close(f);
		return;
	}
	/* one page cache: the map and read(2) see each other at once */
	memcpy(p + 100, "through-the-map", 15);
	cb_ok(o, "mmap.shared.read_sees_before_msync",
	      o->pread(f, buf, 15, 100) == 15 &&
		      !memcmp(buf, "through-the-map", 15),
	      "not visible");
	cb_eq(o, "mmap.shared.msync_rc", o->msync(p, 2 * pg, MS_SYNC), 0);
	cb_ok(o, "mmap.shared.read_sees_after_msync",
	      o->pread(f, buf, 15, 100) == 15 &&
		      !memcmp(buf, "through-the-map", 15),
	      "not visible");
	o->pwrite(f, "from-write", 10, pg + 7);
	cb_ok(o, "mmap.shared.map_sees_later_write",
	      !memcmp(p + pg + 7, "from-write", 10), "stale");
	cb_eq(o, "mmap.shared.size_unchanged", cb_size(o, "sh"), 2 * pg);
	o->munmap(p, 2 * pg);
	o->close(f);
	err = o->open("sh", O_RDONLY, 0, &g);
	cb_ok(o, "mmap.shared.persists_after_close",
	      cb_get(o, "sh", buf, 1) == 1 && buf[0] == 0 && !err &&
		      o->pread(g, buf, 15, 100) == 15 &&
		      !memcmp(buf, "through-the-map", 15),
	      "lost");
	if (!err)
		o->close(g);
}

static void mmap_after_write(const struct cb_ops *o)
{
	char *p, *big;
	size_t len = 4 << 20;
	void *f;
	int err;

	if (o->open("w", O_RDWR | O_CREAT | O_TRUNC, 0644, &f))
		f = NULL;
	big = malloc(len);
	if (big && f) {
		cb_pattern(big, len, 0);
		o->write(f, big, len);
	}
	p = map(o, f, len, PROT_READ, MAP_SHARED, 0, &err);
	cb_ok(o, "mmap.after_write.sees_data",
	      big && p && cb_pattern_ok(p, len, 0), "mismatch");
	if (p)
		o->munmap(p, len);
	/* A window at an offset crossing a 2 MiB boundary. */
	p = map(o, f, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED,
		(2 << 20) - pg, &err);
	cb_ok(o, "mmap.offset.sees_data",
	      p && cb_pattern_ok(p, 2 * pg, (2 << 20) - pg), "mismatch");
	if (p) {
		memset(p + pg - 8, 'M', 16);
		o->msync(p, 2 * pg, MS_SYNC);
		o->munmap(p, 2 * pg);
	}
	cb_ok(o, "mmap.offset.write_across_2m",
	      big && f && o->pread(f, big, 32, (2 << 20) - 16) == 32 &&
		      cb_pattern_ok(big, 8, (2 << 20) - 16) &&
		      !memcmp(big + 8, "MMMMMMMMMMMMMMMM", 16) &&
		      cb_pattern_ok(big + 24, 8, (2 << 20) + 8),
	      "mismatch");
	free(big);
	if (f)
		o->close(f);
}

static void mmap_eof(const struct cb_ops *o)
{
	char c = 1, *p;
	void *f;
	int err;

	if (o->open("e", O_RDWR | O_CREAT | O_TRUNC, 0644, &f))
		f = NULL;
	if (f)
		o->write(f, "short", 5);
	p = map(o, f, 3 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &err);
	cb_ok(o, "mmap.eof.map_rc", p != NULL, "errno %s", o->errname(err));
	if (!p) {
		if (f)
			o->close(f);
		return;
	}
	cb_ok(o, "mmap.eof.page_tail_zero", touch(p + 100, &c) == 0 && c == 0,
	      "sig %d byte %d", last_sig, c);
	cb_eq(o, "mmap.eof.beyond_eof_SIGBUS", touch(p + pg + 1, &c), SIGBUS);
	cb_eq(o, "mmap.eof.write_beyond_eof_SIGBUS", poke(p + 2 * pg, 'x'),
	      SIGBUS);
	/* the rest of the last page is mapped, but not part of the file */
	poke(p + 200, 'T');
	cb_eq(o, "mmap.eof.tail_write_not_in_size", cb_size(o, "e"), 5);
	o->ftruncate(f, 2 * pg);
	cb_ok(o, "mmap.eof.extend_then_touch",
	      touch(p + pg + 1, &c) == 0 && c == 0, "sig %d", last_sig);
	o->ftruncate(f, 0);
	cb_eq(o, "mmap.eof.after_truncate_SIGBUS", touch(p, &c), SIGBUS);
	o->munmap(p, 3 * pg);
	o->close(f);
}

static void mmap_private(const struct cb_ops *o)
{
	char buf[8] = { 0 };
	char *p;
	void *f;
	int err;

	cb_put_str(o, "pv", "original");
	if (o->open("pv", O_RDWR, 0, &f))
		f = NULL;
	p = map(o, f, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0, &err);
	cb_ok(o, "mmap.private.map_rc", p != NULL, "errno %s",
	      o->errname(err));
	if (p) {
		memcpy(p, "CHANGED!", 8);
		o->msync(p, pg, MS_SYNC);
		cb_ok(o, "mmap.private.sees_own_write",
		      !memcmp(p, "CHANGED!", 8), "lost");
		cb_ok(o, "mmap.private.not_in_file",
		      o->pread(f, buf, 8, 0) == 8 &&
			      !memcmp(buf, "original", 8),
		      "leaked: %.8s", buf);
		o->munmap(p, pg);
	}
	if (f)
		o->close(f);
	cb_ok(o, "mmap.private.not_after_unmap",
	      cb_get_str_is(o, "pv", "original"), "leaked");
}

static void mmap_errors(const struct cb_ops *o)
{
	void *f;
	int err;

	cb_put_str(o, "ro", "data");
	if (o->open("ro", O_RDONLY, 0, &f))
		f = NULL;
	map(o, f, pg, PROT_WRITE, MAP_SHARED, 0, &err);
	cb_err(o, "mmap.rdonly_fd_shared_write_EACCES", -err, EACCES);
	cb_ok(o, "mmap.rdonly_fd_private_write_ok",
	      map(o, f, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0, &err) !=
		      NULL,
	      "errno %s", o->errname(err));
	map(o, f, 0, PROT_READ, MAP_SHARED, 0, &err);
	cb_err(o, "mmap.zero_len_EINVAL", -err, EINVAL);
	map(o, f, pg, PROT_READ, MAP_SHARED, 1, &err);
	cb_err(o, "mmap.unaligned_offset_EINVAL", -err, EINVAL);
	if (f)
		o->close(f);
	if (o->open("ro", O_WRONLY, 0, &f))
		f = NULL;
	map(o, f, pg, PROT_READ, MAP_SHARED, 0, &err);
	cb_err(o, "mmap.wronly_fd_EACCES", -err, EACCES);
	if (f)
		o->close(f);
}

void cb_area_mmap(const struct cb_ops *o)
{
	pg = sysconf(_SC_PAGESIZE);
	catch_faults();
	mmap_shared(o);
	mmap_after_write(o);
	mmap_eof(o);
	mmap_private(o);
	mmap_errors(o);
}
