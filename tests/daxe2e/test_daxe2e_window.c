// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vdax_pread_window() end to end: vdaxd with an 8 MiB window (4 ranges, so
 * one call may hold 2), the bytes the callback sees against vdax_pread()
 * and the host, EOF, errors, a truncate that must wait for a running
 * callback, and calls spanning two ranges from more threads than the
 * window could serve if each held one range while waiting for another
 * (with dax_admit=all: every miss maps); then the admission policy on this
 * path: random reads over 4x the window go around it, a stream is mapped
 * ahead.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "daxe2e.h"

#define MiB (1024 * 1024)
#define FSIZE (5 * MiB + 1234) /* three ranges, the last one partly */

static struct dx d;

/* What a callback saw: the bytes gathered, the iovec count, how often. */
struct seen {
	unsigned char *buf;
	size_t cap, len;
	int cnt, calls;
	int ret; /* what the callback returns */
};

static int gather(const struct iovec *iov, int cnt, void *arg)
{
	struct seen *s = arg;

	s->calls++;
	s->cnt = cnt;
	s->len = 0;
	for (int i = 0; i < cnt; i++) {
		size_t n = iov[i].iov_len;

		if (s->len + n > s->cap)
			n = s->cap - s->len;
		memcpy(s->buf + s->len, iov[i].iov_base, n);
		s->len += n;
	}
	return s->ret;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One window read of @len at @off, compared with vdax_pread and the file. */
static void check_span(struct vdax_file *f, unsigned seed, off_t off,
		       size_t len, ssize_t want, int want_cnt, const char *what)
{
	unsigned char *ref = malloc(len ? len : 1);
	struct seen s = { .buf = malloc(len ? len : 1), .cap = len };
	ssize_t n, r;

	n = vdax_pread_window(f, len, off, gather, &s);
	r = vdax_pread(f, ref, len, off);
	ok(n == want && s.calls == 1 && s.cnt == want_cnt &&
		   s.len == (size_t)(n > 0 ? n : 0),
	   "%s: %zd bytes in %d iovecs, one call (got %zd, %d iovecs, "
	   "%d calls, %zu bytes)",
	   what, want, want_cnt, n, s.cnt, s.calls, s.len);
	ok(r == n && (n <= 0 || !memcmp(s.buf, ref, (size_t)n)) &&
		   (n <= 0 || dx_check(s.buf, (size_t)n, seed, (uint64_t)off) ==
				      -1),
	   "%s: same bytes as vdax_pread and the host", what);
	free(ref);
	free(s.buf);
}

static void test_spans(void)
{
	unsigned char *hb = malloc(FSIZE);
	struct vdax_stats s0, s1;
	struct vdax_file *f, *wf;
	struct seen s = { .buf = malloc(64), .cap = 64 };

	dx_fill(hb, FSIZE, 21, 0);
	if (dx_host_write(&d, "w", hb, FSIZE, 0))
		tap_bail("host write failed");
	is_int(vdax_open(d.vd, "w", O_RDONLY, 0, &f), 0, "open w");

	s0 = dx_stats(&d);
	check_span(f, 21, 0, 4096, 4096, 1, "first page");
	s1 = dx_stats(&d);
	ok(s1.misses > s0.misses, "counted as a miss (%llu -> %llu)",
	   (unsigned long long)s0.misses, (unsigned long long)s1.misses);
	s0 = dx_stats(&d);
	check_span(f, 21, 4095, 10000, 10000, 1, "unaligned, same range");
	s1 = dx_stats(&d);
	ok(s1.hits > s0.hits && s1.misses == s0.misses,
	   "counted as a hit (hits %llu -> %llu)",
	   (unsigned long long)s0.hits, (unsigned long long)s1.hits);
	check_span(f, 21, 2 * MiB - 1000, 5000, 5000, 2,
		   "across the 2 MiB boundary");
	check_span(f, 21, 3 * MiB + 12345, MiB, MiB, 2,
		   "1 MiB across the 4 MiB boundary");
	check_span(f, 21, 2 * MiB, 2 * MiB, 2 * MiB, 1, "one whole range");
	check_span(f, 21, FSIZE - 100, 4096, 100, 1, "short at EOF");
	check_span(f, 21, 4 * MiB - 10, 2 * MiB, MiB + 1244, 2,
		   "across a boundary, short at EOF");
	check_span(f, 21, FSIZE, 4096, 0, 0, "at EOF: 0, no iovecs");
	check_span(f, 21, FSIZE + 10 * MiB, 4096, 0, 0, "past EOF: 0");
	check_span(f, 21, 100, 0, 0, 0, "length 0");

	/* more ranges than one call may hold: nothing done */
	s.calls = 0;
	is_int((int)vdax_pread_window(f, 5 * MiB, 0, gather, &s), -E2BIG,
	       "three ranges in a 4-range window -> E2BIG");
	is_int(s.calls, 0, "... the callback was not called");
	/* the callback's error comes back, and the ranges are released */
	s.ret = -EIO;
	is_int((int)vdax_pread_window(f, 10, 0, gather, &s), -EIO,
	       "the callback's -EIO is returned");
	s.ret = -ENOSPC;
	is_int((int)vdax_pread_window(f, 5000, 2 * MiB - 1000, gather, &s),
	       -ENOSPC, "the callback's -ENOSPC, across a boundary");
	s.ret = 7;
	is_int((int)vdax_pread_window(f, 10, 0, gather, &s), 10,
	       "a positive callback return counts as success");
	s.ret = 0;
	s1 = dx_stats(&d);
	is_int((int)s1.ranges_total, 4, "4 ranges");

	/* bad arguments */
	s.calls = 0;
	is_int((int)vdax_pread_window(NULL, 10, 0, gather, &s), -EBADF,
	       "NULL file -> EBADF");
	is_int((int)vdax_pread_window(f, 10, -1, gather, &s), -EINVAL,
	       "negative offset -> EINVAL");
	is_int((int)vdax_pread_window(f, 10, 0, NULL, NULL), -EINVAL,
	       "no callback -> EINVAL");
	is_int(vdax_open(d.vd, "w", O_WRONLY, 0, &wf), 0, "open w O_WRONLY");
	is_int((int)vdax_pread_window(wf, 10, 0, gather, &s), -EBADF,
	       "write-only handle -> EBADF");
	is_int(s.calls, 0, "no callback on an argument error");
	vdax_release(wf);
	vdax_release(f);
	free(s.buf);
	free(hb);
}

/* ---- a truncate while a callback runs ------------------------------ */

struct trunc_race {
	struct vdax_file *rf, *tf;
	atomic_int in_cb;
	double cb_return, trunc_done;
	int trunc_ret;
	long bad; /* first byte that changed during the callback, or -1 */
};

static int slow_cb(const struct iovec *iov, int cnt, void *arg)
{
	struct trunc_race *t = arg;
	const unsigned char *p = iov[0].iov_base;
	size_t len = iov[0].iov_len;

	(void)cnt;
	t->bad = dx_check(p, len, 22, 0);
	atomic_store(&t->in_cb, 1);
	dx_sleep_ms(200);
	/* every byte again: no SIGBUS, and still the file's old bytes */
	if (t->bad < 0)
		t->bad = dx_check(p, len, 22, 0);
	t->cb_return = now_s();
	return 0;
}

static void *truncator(void *arg)
{
	struct trunc_race *t = arg;

	while (!atomic_load(&t->in_cb))
		dx_sleep_ms(1);
	t->trunc_ret = vdax_ftruncate(t->tf, 0);
	t->trunc_done = now_s();
	return NULL;
}

static void test_truncate_waits(void)
{
	struct trunc_race t = { .bad = -1 };
	unsigned char *hb = malloc(MiB), tmp[16];
	struct seen s = { .buf = tmp, .cap = sizeof(tmp) };
	pthread_t th;
	ssize_t n;

	dx_fill(hb, MiB, 22, 0);
	if (dx_host_write(&d, "t", hb, MiB, 0))
		tap_bail("host write failed");
	is_int(vdax_open(d.vd, "t", O_RDONLY, 0, &t.rf), 0, "open t to read");
	is_int(vdax_open(d.vd, "t", O_RDWR, 0, &t.tf), 0,
	       "open t to truncate");
	if (!t.rf || !t.tf)
		tap_bail("no handles");
	pthread_create(&th, NULL, truncator, &t);
	n = vdax_pread_window(t.rf, MiB, 0, slow_cb, &t);
	pthread_join(th, NULL);
	is_int((int)n, MiB, "window read during a truncate: all of it");
	is_int((int)t.bad, -1,
	       "the callback saw the old bytes throughout (no SIGBUS)");
	is_int(t.trunc_ret, 0, "the truncate succeeded");
	ok(t.trunc_done >= t.cb_return,
	   "the truncate completed only after the callback returned "
	   "(%.3f s after)",
	   t.trunc_done - t.cb_return);
	ok(dx_host_size(&d, "t") == 0, "host size 0");
	s.calls = 0;
	is_int((int)vdax_pread_window(t.rf, 4096, 0, gather, &s), 0,
	       "after the truncate: EOF");
	ok(s.calls == 1 && s.cnt == 0, "... one call, no iovecs");
	vdax_release(t.rf);
	vdax_release(t.tf);
	free(hb);
}

/* ---- the handle released while the callback runs ------------------- */

struct rel_race {
	struct vdax_file *f;
	atomic_int in_cb, released;
	int rel_ret;
	long bad;
	int released_in_cb;
};

static int wait_release_cb(const struct iovec *iov, int cnt, void *arg)
{
	struct rel_race *r = arg;

	atomic_store(&r->in_cb, 1);
	/* as vdax mount: the reply is out, the kernel sends RELEASE */
	for (int i = 0; i < 2000 && !atomic_load(&r->released); i++)
		dx_sleep_ms(1);
	r->released_in_cb = atomic_load(&r->released);
	r->bad = cnt == 2 ? dx_check(iov[0].iov_base, iov[0].iov_len, 24,
				     2 * MiB - 4096) :
			    0;
	if (r->bad < 0)
		r->bad = dx_check(iov[1].iov_base, iov[1].iov_len, 24,
				  2 * MiB);
	return 0;
}

static void *releaser(void *arg)
{
	struct rel_race *r = arg;

	while (!atomic_load(&r->in_cb))
		dx_sleep_ms(1);
	r->rel_ret = vdax_release(r->f);
	atomic_store(&r->released, 1);
	return NULL;
}

static void test_release_during_cb(void)
{
	unsigned char *hb = malloc(3 * MiB);
	struct rel_race r = { .bad = -2 };
	pthread_t th;
	ssize_t n;

	dx_fill(hb, 3 * MiB, 24, 0);
	if (dx_host_write(&d, "r", hb, 3 * MiB, 0))
		tap_bail("host write failed");
	is_int(vdax_open(d.vd, "r", O_RDONLY, 0, &r.f), 0, "open r");
	if (!r.f)
		tap_bail("no handle");
	pthread_create(&th, NULL, releaser, &r);
	n = vdax_pread_window(r.f, 8192, 2 * MiB - 4096, wait_release_cb, &r);
	pthread_join(th, NULL);
	ok(r.released_in_cb && r.rel_ret == 0,
	   "the handle was released while the callback ran (%d, %d)",
	   r.released_in_cb, r.rel_ret);
	is_int((int)n, 8192, "... and the call still completes");
	is_int((int)r.bad, -1, "... with the right bytes in both ranges");
	free(hb);
}

/* ---- two-range spans from more threads than ranges ----------------- */

#define NTHREADS 6
#define ROUNDS 60

static pthread_barrier_t round_barrier;

struct spanner {
	int idx;
	struct vdax_file *f;
	int errors; /* wrong result or wrong bytes */
};

static void *span_loop(void *arg)
{
	struct spanner *sp = arg;
	struct seen s = { .buf = malloc(MiB), .cap = MiB };
	unsigned x = (unsigned)sp->idx * 2654435761u + 1;

	for (int i = 0; i < ROUNDS; i++) {
		off_t off;
		ssize_t n;

		x = x * 1103515245u + 12345u;
		/* all at once: 12 ranges wanted from a window of 4 */
		pthread_barrier_wait(&round_barrier);
		/* a 256 KiB span across the 2 MiB boundary of file 'sN' */
		off = 2 * MiB - 128 * 1024 + (off_t)(x % 65536);
		n = vdax_pread_window(sp->f, 256 * 1024, off, gather, &s);
		if (n != 256 * 1024 || s.cnt != 2 ||
		    dx_check(s.buf, s.len, 30 + (unsigned)sp->idx,
			     (uint64_t)off) != -1)
			sp->errors++;
	}
	free(s.buf);
	return NULL;
}

static void test_many_threads(void)
{
	struct spanner sp[NTHREADS];
	pthread_t th[NTHREADS];
	unsigned char *hb = malloc(3 * MiB);
	int errors = 0, opened = 0;
	char name[16];

	for (int i = 0; i < NTHREADS; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		dx_fill(hb, 3 * MiB, 30 + (unsigned)i, 0);
		if (dx_host_write(&d, name, hb, 3 * MiB, 0))
			tap_bail("host write failed");
		sp[i] = (struct spanner){ .idx = i };
		opened += !vdax_open(d.vd, name, O_RDONLY, 0, &sp[i].f);
	}
	is_int(opened, NTHREADS, "%d files open", NTHREADS);
	if (opened != NTHREADS)
		tap_bail("open failed");
	/* a deadlock here would hang: the meson timeout catches it */
	alarm(120);
	pthread_barrier_init(&round_barrier, NULL, NTHREADS);
	for (int i = 0; i < NTHREADS; i++)
		pthread_create(&th[i], NULL, span_loop, &sp[i]);
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		errors += sp[i].errors;
		vdax_release(sp[i].f);
	}
	alarm(0);
	pthread_barrier_destroy(&round_barrier);
	is_int(errors, 0,
	       "%d threads x %d two-range spans on 6 files, 4 ranges: "
	       "all right, no deadlock",
	       NTHREADS, ROUNDS);
	free(hb);
}

/* ---- the admission policy on this path ---------------------------- */

#define ASIZE (32 * MiB) /* 16 ranges through a window of 4 */

/*
 * With adaptive admission (the default) a window read is a dax_read()
 * choice like any other: random reads over 4x the window must mostly go
 * around it (FUSE_READ, the callback gets a buffer), not remap a range per
 * read; a sequential reader must be mapped ahead. Every byte checked.
 */
static void test_admission(void)
{
	unsigned char *hb = malloc(ASIZE);
	struct seen s = { .buf = malloc(MiB), .cap = MiB };
	struct vdax_stats s0, s1;
	struct vdax_file *f;
	unsigned x = 12345, bad = 0, one = 0;
	const int reads = 2000;

	dx_fill(hb, ASIZE, 25, 0);
	if (dx_host_write(&d, "adm", hb, ASIZE, 0))
		tap_bail("host write failed");
	is_int(vdax_open(d.vd, "adm", O_RDONLY, 0, &f), 0, "open adm");
	if (!f)
		tap_bail("no handle");
	/* fill the window first, so that admission is in play */
	for (off_t o = 0; o < 8 * MiB; o += 2 * MiB)
		if (vdax_pread_window(f, 4096, o, gather, &s) != 4096)
			bad++;
	s0 = dx_stats(&d);
	for (int i = 0; i < reads; i++) {
		off_t off;

		x = x * 1103515245u + 12345u;
		off = (off_t)((x >> 4) % (ASIZE / 4096)) * 4096;
		if (vdax_pread_window(f, 4096, off, gather, &s) != 4096 ||
		    s.len != 4096 ||
		    dx_check(s.buf, 4096, 25, (uint64_t)off) != -1)
			bad++;
		one += s.cnt == 1;
	}
	s1 = dx_stats(&d);
	is_int((int)bad, 0, "%d random 4 KiB window reads over 4x the window: "
	       "all the right bytes", reads);
	is_int((int)one, reads, "... each one piece, mapped or read around");
	diag("random: %llu bypasses, %llu admissions, %llu setups, "
	     "%llu hits",
	     (unsigned long long)(s1.bypasses - s0.bypasses),
	     (unsigned long long)(s1.admissions - s0.admissions),
	     (unsigned long long)(s1.setup_mappings - s0.setup_mappings),
	     (unsigned long long)(s1.hits - s0.hits));
	ok(s1.bypasses - s0.bypasses > reads / 2,
	   "most went around the window (%llu bypasses of %d)",
	   (unsigned long long)(s1.bypasses - s0.bypasses), reads);
	ok(s1.setup_mappings - s0.setup_mappings < reads / 10,
	   "the window did not thrash (%llu setups for %d reads)",
	   (unsigned long long)(s1.setup_mappings - s0.setup_mappings),
	   reads);

	/* a sequential reader, 128 KiB at a time (the kernel's read-ahead) */
	s0 = dx_stats(&d);
	bad = 0;
	for (off_t off = 0; off < ASIZE; off += 128 * 1024)
		if (vdax_pread_window(f, 128 * 1024, off, gather, &s) !=
			    128 * 1024 ||
		    dx_check(s.buf, s.len, 25, (uint64_t)off) != -1)
			bad++;
	s1 = dx_stats(&d);
	is_int((int)bad, 0, "a 128 KiB stream through 4x the window: all "
	       "the right bytes");
	ok(s1.readaheads - s0.readaheads >= 8 &&
		   s1.bypasses - s0.bypasses <= 2,
	   "... mapped ahead (%llu read-aheads, %llu bypasses)",
	   (unsigned long long)(s1.readaheads - s0.readaheads),
	   (unsigned long long)(s1.bypasses - s0.bypasses));
	vdax_release(f);
	free(s.buf);
	free(hb);
}

/* ---- files that do not use the window ------------------------------ */

static void test_no_window(const char *vdaxd, const char *opts)
{
	unsigned char hb[100];
	struct seen s = { .buf = hb, .cap = sizeof(hb) };
	struct vdax_file *f;

	if (dx_start(&d, vdaxd, 0, "--cache-size=8M", NULL))
		tap_bail("vdaxd did not start");
	is_int(dx_open(&d, opts), 0, "session with %s", opts);
	if (!d.vd)
		tap_bail("no session");
	dx_fill(hb, sizeof(hb), 23, 0);
	is_int(vdax_open(d.vd, "w", O_RDONLY, 0, &f), 0, "open w (%s)", opts);
	is_int((int)vdax_pread_window(f, 10, 0, gather, &s), -EOPNOTSUPP,
	       "%s: EOPNOTSUPP", opts);
	is_int(s.calls, 0, "%s: the callback was not called", opts);
	is_int((int)vdax_pread(f, hb, 10, 0), 10, "%s: vdax_pread works",
	       opts);
	vdax_release(f);
	dx_stop(&d);
}

int main(void)
{
	const char *vdaxd = dx_vdaxd();

	dx_init(&d);
	if (dx_start(&d, vdaxd, 0, "--cache-size=8M", NULL))
		tap_bail("vdaxd did not start");
	/* The mechanism: every miss maps. */
	is_int(dx_open(&d, "dax=always,dax_admit=all"), 0,
	       "dax=always,dax_admit=all session on vdaxd");
	if (!d.vd)
		tap_bail("no session");
	test_spans();
	test_truncate_waits();
	test_release_during_cb();
	test_many_threads();
	dx_stop(&d);

	if (dx_start(&d, vdaxd, 0, "--cache-size=8M", NULL))
		tap_bail("vdaxd did not start");
	is_int(dx_open(&d, "dax=always"), 0,
	       "dax=always session (adaptive admission)");
	if (!d.vd)
		tap_bail("no session");
	test_admission();
	dx_stop(&d);

	test_no_window(vdaxd, "dax=never");
	/* vdaxd flags no file FUSE_ATTR_DAX by default */
	test_no_window(vdaxd, "dax=inode");
	dx_cleanup(&d);
	return tap_done();
}
