// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Stress: 8 threads doing random reads, writes, truncates, hole punches and
 * flushes through the DAX layer on files 8x larger than a 4-range window,
 * every read checked against an in-memory model. A watchdog turns a
 * deadlock into a failure. DAX_STRESS_MS sets the run time (default 5000).
 *
 * With the argument "admit" the connection runs the admission policy
 * (DAX_CONN_ADMIT): refused reads and writes (-ENOTBLK) go to the file
 * itself, as the client's FUSE_READ/FUSE_WRITE would, and the model must
 * still hold.
 *
 * Each file has a test-level rwlock standing for the client's inode lock:
 * reads shared, writes and size changes exclusive (as the kernel's i_rwsem),
 * so that the model is exact; the DAX layer underneath is shared by all.
 *
 * Reads try the lock-free hit path (dax_read_hit()) first, without the
 * rwlock, as libvdax does; writers and size changes quiesce the inode for
 * it. Such a read is checked against the model when no writer ran between
 * just before it and the check (a version bumped by each writer on the
 * way in and out).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dax/dax.h"
#include "fake_backend.h"
#include "tap.h"

#define R	 DAX_RANGE_SIZE
#define WRANGES	 4
#define FSIZE	 (8 * WRANGES * R) /* 64 MiB */
#define NFILES	 3
#define NTHREADS 8
#define MAXIO	 (3 * R)

struct tfile {
	pthread_rwlock_t ilock; /* the caller's inode lock */
	struct dax_inode *ino;
	int fd;
	uint64_t size;	      /* protected by ilock (and quiesce) */
	unsigned char *model; /* FSIZE bytes; protected by ilock */
	atomic_uint version;  /* odd while a writer changes the file */
};

static struct tfile files[NFILES];
static struct dax_conn *conn;
static uint64_t deadline_ms;
static atomic_uint mismatches, errors;
static atomic_uint nops[6]; /* read, write, extend, truncate, punch, flush */
static atomic_uint nbypass;
static atomic_uint nfast, nfast_checked;
static bool admit_mode;

/* dax_read(), or with admission a pread() of the file where refused. */
static ssize_t read_any(struct tfile *f, void *buf, size_t len, uint64_t off)
{
	ssize_t n = dax_read(conn, f->ino, 0, buf, len, off, f->size);

	if (n != -ENOTBLK)
		return n;
	atomic_fetch_add(&nbypass, 1);
	if (off >= f->size)
		return 0;
	if (len > f->size - off)
		len = (size_t)(f->size - off);
	n = pread(f->fd, buf, len, (off_t)off);
	return n < 0 ? -errno : n;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static size_t io_len(uint64_t *s)
{
	return (rnd(s) % 16 == 0) ? 1 + rnd(s) % MAXIO : 1 + rnd(s) % 65536;
}

static void fail(const char *what, uint64_t a, uint64_t b)
{
	if (atomic_fetch_add(&errors, 1) < 5)
		diag("%s: %llu %llu", what, (unsigned long long)a,
		     (unsigned long long)b);
}

static bool tsize(void *arg, uint64_t *size)
{
	*size = ((struct tfile *)arg)->size;
	return true;
}

/* Writers: the caller's exclusive inode lock, then keep lock-free readers
 * out; the version tells a lock-free reader that the model moved. */
static void write_begin(struct tfile *f)
{
	pthread_rwlock_wrlock(&f->ilock);
	atomic_fetch_add(&f->version, 1);
	dax_inode_quiesce(f->ino);
}

static void write_end(struct tfile *f)
{
	dax_inode_resume(f->ino);
	atomic_fetch_add(&f->version, 1);
	pthread_rwlock_unlock(&f->ilock);
}

static void check_read(struct tfile *f, const unsigned char *buf, size_t len,
		       uint64_t off, ssize_t n)
{
	uint64_t want = off >= f->size ? 0 : f->size - off;

	if (want > len)
		want = len;
	if (n != (ssize_t)want)
		fail("read length", (uint64_t)n, want);
	else if (n > 0 && memcmp(buf, f->model + off, (size_t)n) &&
		 atomic_fetch_add(&mismatches, 1) < 5)
		diag("data mismatch reading %zu at %llu", len,
		     (unsigned long long)off);
}

static void do_read(struct tfile *f, uint64_t *s, unsigned char *buf)
{
	uint64_t off = rnd(s) % (FSIZE + R);
	size_t len = io_len(s);
	unsigned v = atomic_load(&f->version);
	ssize_t n;

	n = dax_read_hit(conn, f->ino, buf, len, off, tsize, f);
	if (n != -EAGAIN) {
		atomic_fetch_add(&nfast, 1);
		pthread_rwlock_rdlock(&f->ilock);
		if (!(v & 1) && atomic_load(&f->version) == v) {
			check_read(f, buf, len, off, n);
			atomic_fetch_add(&nfast_checked, 1);
		}
		pthread_rwlock_unlock(&f->ilock);
		atomic_fetch_add(&nops[0], 1);
		return;
	}
	pthread_rwlock_rdlock(&f->ilock);
	n = read_any(f, buf, len, off);
	check_read(f, buf, len, off, n);
	pthread_rwlock_unlock(&f->ilock);
	atomic_fetch_add(&nops[0], 1);
}

static void do_write(struct tfile *f, uint64_t *s, unsigned char *buf)
{
	size_t len = io_len(s);
	uint64_t off = rnd(s) % (FSIZE - len + 1);
	ssize_t n;

	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = rnd(s);
		memcpy(buf + i, &v, len - i < 8 ? len - i : 8);
	}
	write_begin(f);
	n = dax_write(conn, f->ino, 0, buf, len, off, f->size);
	if (n == -ENOTBLK) {
		/* Refused by the admission: FUSE_WRITE, size unchanged. */
		atomic_fetch_add(&nbypass, 1);
		n = pwrite(f->fd, buf, len, (off_t)off);
	}
	if (n == -ERANGE && off + len > f->size) {
		/* The caller's FUSE_WRITE: data and size change together. */
		if (pwrite(f->fd, buf, len, (off_t)off) != (ssize_t)len)
			fail("pwrite", off, len);
		f->size = off + len;
		atomic_fetch_add(&nops[2], 1);
	} else if (n != (ssize_t)len) {
		fail("write", (uint64_t)n, len);
	} else {
		atomic_fetch_add(&nops[1], 1);
	}
	memcpy(f->model + off, buf, len);
	write_end(f);
}

static void do_truncate(struct tfile *f, uint64_t *s)
{
	uint64_t size = rnd(s) % (FSIZE + 1);

	write_begin(f);
	dax_inode_lock_mapping(f->ino);
	if (dax_inode_break_range(conn, f->ino, size < f->size ? size : f->size,
				  UINT64_MAX))
		fail("break_range (truncate)", size, 0);
	if (ftruncate(f->fd, (off_t)size) < 0)
		fail("ftruncate", size, 0);
	dax_inode_unlock_mapping(f->ino);
	if (size < f->size)
		memset(f->model + size, 0, f->size - size);
	f->size = size;
	write_end(f);
	atomic_fetch_add(&nops[3], 1);
}

static void do_punch(struct tfile *f, uint64_t *s)
{
	uint64_t start = rnd(s) % FSIZE, end = start + 1 + rnd(s) % (3 * R);

	if (end > FSIZE)
		end = FSIZE;
	write_begin(f);
	dax_inode_lock_mapping(f->ino);
	if (dax_inode_break_range(conn, f->ino, start, end))
		fail("break_range (punch)", start, end);
	if (fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)start, (off_t)(end - start)) < 0)
		fail("fallocate", start, end);
	dax_inode_unlock_mapping(f->ino);
	memset(f->model + start, 0, end - start); /* zero beyond size anyway */
	write_end(f);
	atomic_fetch_add(&nops[4], 1);
}

static void do_flush(struct tfile *f)
{
	pthread_rwlock_rdlock(&f->ilock);
	if (dax_inode_flush(conn, f->ino, 0, UINT64_MAX))
		fail("flush", 0, 0);
	pthread_rwlock_unlock(&f->ilock);
	atomic_fetch_add(&nops[5], 1);
}

static void *worker(void *arg)
{
	uint64_t s = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);
	unsigned char *buf = malloc(MAXIO);
	struct tfile *f;
	unsigned op;

	if (!buf)
		tap_bail("malloc");
	while (now_ms() < deadline_ms && !atomic_load(&mismatches)) {
		f = &files[rnd(&s) % NFILES];
		op = rnd(&s) % 100;
		if (op < 45)
			do_read(f, &s, buf);
		else if (op < 80)
			do_write(f, &s, buf);
		else if (op < 88)
			do_truncate(f, &s);
		else if (op < 97)
			do_punch(f, &s);
		else
			do_flush(f);
	}
	free(buf);
	return NULL;
}

/*
 * Phase 2: lock-free readers against reclaim. A file that never changes,
 * twice the window, every 8 bytes holding their own offset; NTHREADS - 1
 * threads read 4 KiB pieces of it (dax_read_hit(), else dax_read()) while
 * one thread keeps taking ranges away (dax_conn_reclaim()), so that
 * ranges are retired and re-mapped under the readers all the time.
 */
static struct tfile hot;
static atomic_uint hot_fast, hot_slow, hot_reclaimed;

static bool hot_ok(const unsigned char *buf, size_t n, uint64_t off)
{
	uint64_t v;

	for (size_t i = 0; i + 8 <= n; i += 8) {
		memcpy(&v, buf + i, 8);
		if (v != off + i)
			return false;
	}
	return true;
}

static void *hot_reader(void *arg)
{
	uint64_t s = 0x2545f4914f6cdd1dull * ((uintptr_t)arg + 1), off;
	unsigned char buf[4096];
	ssize_t n;

	while (now_ms() < deadline_ms) {
		off = (rnd(&s) % (hot.size / 4096)) * 4096;
		n = dax_read_hit(conn, hot.ino, buf, sizeof(buf), off, tsize,
				 &hot);
		if (n != -EAGAIN) {
			atomic_fetch_add(&hot_fast, 1);
		} else {
			n = read_any(&hot, buf, sizeof(buf), off);
			atomic_fetch_add(&hot_slow, 1);
		}
		if (n != (ssize_t)sizeof(buf))
			fail("hot read length", (uint64_t)n, off);
		else if (!hot_ok(buf, sizeof(buf), off) &&
			 atomic_fetch_add(&mismatches, 1) < 5)
			diag("hot read at %llu: wrong bytes",
			     (unsigned long long)off);
	}
	return NULL;
}

static void *hot_reclaimer(void *arg)
{
	(void)arg;
	while (now_ms() < deadline_ms) {
		atomic_fetch_add(&hot_reclaimed, dax_conn_reclaim(conn, 1));
		usleep(200);
	}
	return NULL;
}

static void hot_phase(struct fake *f, uint64_t run_ms)
{
	struct dax_stats st0, st1;
	pthread_t th[NTHREADS];
	uint64_t hits;
	unsigned i;

	hot.size = 2 * WRANGES * R;
	hot.fd = fake_add_file(f, 1 + NFILES, (off_t)hot.size);
	for (uint64_t o = 0; o < hot.size; o += 8)
		if (pwrite(hot.fd, &o, 8, (off_t)o) != 8)
			tap_bail("pwrite");
	hot.ino = dax_inode_new(1 + NFILES);
	if (!hot.ino)
		tap_bail("alloc");
	dax_get_stats(conn, &st0);
	deadline_ms = now_ms() + run_ms;
	for (i = 0; i < NTHREADS - 1; i++)
		pthread_create(&th[i], NULL, hot_reader, (void *)(uintptr_t)i);
	pthread_create(&th[i], NULL, hot_reclaimer, NULL);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	dax_get_stats(conn, &st1);
	/* Each read is one lookup: the lock-free ones are all hits (counted
	 * per thread), the locked ones hits or misses. */
	hits = st1.hits - st0.hits;
	ok(hits >= atomic_load(&hot_fast) &&
		   hits <= (uint64_t)atomic_load(&hot_fast) +
				   atomic_load(&hot_slow),
	   "hits counted: %llu for %u lock-free and %u locked reads",
	   (unsigned long long)hits, atomic_load(&hot_fast),
	   atomic_load(&hot_slow));
	diag("readers vs reclaim: %u lock-free reads, %u locked, %u ranges "
	     "reclaimed under them",
	     atomic_load(&hot_fast), atomic_load(&hot_slow),
	     atomic_load(&hot_reclaimed));
	ok(!atomic_load(&mismatches) && !atomic_load(&errors) &&
		   atomic_load(&hot_fast) > 1000 &&
		   atomic_load(&hot_reclaimed) > 10,
	   "lock-free reads stay right while their ranges are reclaimed");
	if (dax_inode_free(conn, hot.ino))
		fail("free hot inode", 0, 0);
}

static pthread_mutex_t wd_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wd_cond = PTHREAD_COND_INITIALIZER;
static bool wd_done;

static void *watchdog(void *arg)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(uintptr_t)arg;
	pthread_mutex_lock(&wd_lock);
	while (!wd_done)
		if (pthread_cond_timedwait(&wd_cond, &wd_lock, &ts) ==
			    ETIMEDOUT &&
		    !wd_done) {
			printf("Bail out! no progress: deadlock?\n");
			fflush(stdout);
			_exit(1);
		}
	pthread_mutex_unlock(&wd_lock);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *env = getenv("DAX_STRESS_MS");
	uint64_t run_ms = env ? strtoull(env, NULL, 10) : 5000;
	pthread_t th[NTHREADS], wd;
	struct dax_window *w;
	struct dax_stats st;
	struct fake f;
	unsigned i, total = 0;

	if (dax_window_create(WRANGES * R, &w))
		tap_bail("window");
	fake_init(&f, w);
	admit_mode = argc > 1 && !strcmp(argv[1], "admit");
	if (dax_conn_create(w, &fake_ops, &f, admit_mode ? DAX_CONN_ADMIT : 0,
			    &conn))
		tap_bail("conn");
	for (i = 0; i < NFILES; i++) {
		files[i].fd = fake_add_file(&f, 1 + i, FSIZE / 2);
		files[i].size = FSIZE / 2;
		files[i].model = calloc(1, FSIZE);
		files[i].ino = dax_inode_new(1 + i);
		pthread_rwlock_init(&files[i].ilock, NULL);
		if (!files[i].model || !files[i].ino)
			tap_bail("alloc");
	}
	diag("%d threads, %d files of %llu MiB, a %d-range window, %llu ms",
	     NTHREADS, NFILES, (unsigned long long)(FSIZE >> 20), WRANGES,
	     (unsigned long long)run_ms);
	pthread_create(&wd, NULL, watchdog,
		       (void *)(uintptr_t)(run_ms / 1000 + 60));
	deadline_ms = now_ms() + run_ms;
	for (i = 0; i < NTHREADS; i++)
		pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_lock(&wd_lock);
	wd_done = true;
	pthread_cond_signal(&wd_cond);
	pthread_mutex_unlock(&wd_lock);
	pthread_join(wd, NULL);

	for (i = 0; i < 6; i++)
		total += atomic_load(&nops[i]);
	diag("ops: %u reads, %u writes, %u extending writes, %u truncates, "
	     "%u punches, %u flushes",
	     nops[0], nops[1], nops[2], nops[3], nops[4], nops[5]);
	diag("lock-free reads: %u, %u of them checked against the model",
	     atomic_load(&nfast), atomic_load(&nfast_checked));
	is_int(atomic_load(&mismatches), 0, "every read matched the model");
	ok(atomic_load(&nfast_checked) > 0,
	   "the lock-free hit path served reads among writers and truncates");
	is_int(atomic_load(&errors), 0, "no operation failed");
	ok(nops[0] && nops[1] && nops[2] && nops[3] && nops[4],
	   "every kind of operation ran (%u in all)", total);

	hot_phase(&f, run_ms / 4 < 1000 ? run_ms / 4 : 1000);

	/* The whole file, once more, single-threaded. */
	{
		unsigned char *buf = malloc(FSIZE);
		unsigned bad = 0;

		for (i = 0; buf && i < NFILES; i++)
			if (read_any(&files[i], buf, FSIZE, 0) !=
				    (ssize_t)files[i].size ||
			    memcmp(buf, files[i].model, files[i].size))
				bad++;
		ok(buf && !bad, "final full reads match the model");
		free(buf);
	}
	i = dax_settle(conn, &st);
	if (i)
		diag("the worker settled after about %u ms", i);
	dax_get_stats(conn, &st);
	diag("stats: setup %llu, remove %llu (%llu requests), upgrades %llu, "
	     "bg %llu, direct %llu, waits %llu, hits %llu, misses %llu",
	     (unsigned long long)st.setup_mappings,
	     (unsigned long long)st.remove_mappings,
	     (unsigned long long)st.remove_requests,
	     (unsigned long long)st.upgrades,
	     (unsigned long long)st.bg_reclaims,
	     (unsigned long long)st.direct_reclaims,
	     (unsigned long long)st.waits, (unsigned long long)st.hits,
	     (unsigned long long)st.misses);
	if (admit_mode) {
		diag("admission: %llu admitted, %llu bypassed (%u seen), "
		     "%llu ghost hits, %llu read ahead, margin %llu",
		     (unsigned long long)st.admissions,
		     (unsigned long long)st.bypasses, atomic_load(&nbypass),
		     (unsigned long long)st.ghost_hits,
		     (unsigned long long)st.readaheads,
		     (unsigned long long)st.admit_margin);
		ok(st.bypasses > 0 && st.bypasses == atomic_load(&nbypass) &&
			   st.admissions > 0,
		   "admission ran: some misses admitted, some refused, "
		   "each refusal seen by the caller");
	} else {
		ok(st.bypasses == 0 && st.admissions == 0,
		   "no admission without DAX_CONN_ADMIT");
	}
	ok(st.hits && st.misses > WRANGES &&
		   st.bg_reclaims + st.direct_reclaims > 0 &&
		   st.ranges_free + st.ranges_busy == WRANGES,
	   "the window was recycled and the counts add up");
	for (i = 0; i < NFILES; i++) {
		dax_inode_free(conn, files[i].ino);
		pthread_rwlock_destroy(&files[i].ilock);
		free(files[i].model);
	}
	dax_get_stats(conn, &st);
	ok(st.ranges_free == WRANGES && dax_window_nr_mappings(w) == 0 &&
		   f.map_errors == 0 && f.bad_batches == 0,
	   "after eviction: all ranges free, window empty, no map errors");
	dax_conn_destroy(conn);
	dax_window_destroy(w);
	fake_destroy(&f);
	return tap_done();
}
