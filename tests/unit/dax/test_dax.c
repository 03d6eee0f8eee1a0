// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The DAX range manager against a fake daemon that maps memfds into the
 * window: allocation and counts, hits and misses, the RO -> RW upgrade,
 * busy-list order, direct reclaim, waiting for a range, background reclaim,
 * truncate (break_range) waiting for references, batching of
 * FUSE_REMOVEMAPPING, and the I/O edge cases.
 */
#include <errno.h>
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

#define R DAX_RANGE_SIZE

struct env {
	struct dax_window *w;
	struct fake f;
	struct dax_conn *c;
};

static void env_init(struct env *e, unsigned nranges, unsigned flags)
{
	if (dax_window_create((uint64_t)nranges * R, &e->w))
		tap_bail("window");
	fake_init(&e->f, e->w);
	if (dax_conn_create(e->w, &fake_ops, &e->f, flags, &e->c))
		tap_bail("conn");
}

static void env_fini(struct env *e)
{
	dax_conn_destroy(e->c);
	ok(dax_window_nr_mappings(e->w) == 0 && e->f.map_errors == 0,
	   "teardown: window empty, the fake saw no map errors (%u, %d)",
	   dax_window_nr_mappings(e->w), e->f.map_errors);
	dax_window_destroy(e->w);
	fake_destroy(&e->f);
}

static struct dax_stats stats(struct env *e)
{
	struct dax_stats st;

	dax_get_stats(e->c, &st);
	return st;
}

/* Fill node @id's file piece by piece with a pattern of (offset, id). */
static void fill(int fd, uint64_t size, unsigned id)
{
	static uint32_t buf[R / 4];

	for (uint64_t off = 0; off < size; off += R) {
		for (unsigned i = 0; i < R / 4; i++)
			buf[i] = (uint32_t)((off / 4 + i) * 2654435761u) ^ id;
		if (pwrite(fd, buf, R, (off_t)off) != (ssize_t)R)
			tap_bail("fill");
	}
}

static uint32_t pattern(uint64_t off, unsigned id)
{
	return (uint32_t)((off / 4) * 2654435761u) ^ id;
}

/* Read 4 bytes at @off (4-aligned) of @ino and compare to the pattern. */
static bool read_ok(struct env *e, struct dax_inode *ino, unsigned id,
		    uint64_t off, uint64_t size)
{
	uint32_t v = 0;

	return dax_read(e->c, ino, 7, &v, 4, off, size) == 4 &&
	       v == pattern(off, id);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The window offset the fake was told for the last setup of @foffset. */
static int64_t moffset_of(struct fake *f, uint64_t nodeid, uint64_t foffset)
{
	for (unsigned i = f->nsetup; i-- > 0;)
		if (f->setups[i].nodeid == nodeid &&
		    f->setups[i].foffset == foffset)
			return (int64_t)f->setups[i].moffset;
	return -1;
}

static void test_alloc_hits(void)
{
	struct env e;
	struct dax_inode *a;
	struct dax_stats st;
	bool good = true;
	unsigned i;

	diag("allocator, hits and misses");
	env_init(&e, 4, DAX_CONN_NO_WORKER);
	fill(fake_add_file(&e.f, 1, 6 * R), 6 * R, 1);
	a = dax_inode_new(1);
	st = stats(&e);
	ok(st.ranges_total == 4 && st.ranges_free == 4 && st.ranges_busy == 0,
	   "4 ranges, all free");
	for (i = 0; i < 4; i++)
		good &= read_ok(&e, a, 1, i * R + 4 * i, 6 * R);
	ok(good, "reads of 4 pieces return the file's data");
	st = stats(&e);
	ok(st.misses == 4 && st.hits == 0 && st.setup_mappings == 4,
	   "4 misses, 4 FUSE_SETUPMAPPING");
	ok(st.ranges_free == 0 && st.ranges_busy == 4 &&
		   dax_inode_nr_ranges(a) == 4,
	   "free list exhausted: 0 free, 4 busy, inode holds 4");
	ok(e.f.nsetup == 4 && !e.f.setups[0].writable &&
		   e.f.setups[0].len == R && e.f.setups[0].fh == 7 &&
		   e.f.setups[1].foffset == R,
	   "setups: read-only, 2 MiB, the caller's fh, range-aligned foffset");
	good = true;
	for (i = 0; i < 4; i++)
		good &= read_ok(&e, a, 1, i * R + 1000, 6 * R);
	st = stats(&e);
	ok(good && st.hits == 4 && st.misses == 4 && e.f.nsetup == 4,
	   "re-reads are hits: no new setup (hits %llu)",
	   (unsigned long long)st.hits);
	/* A read across a range boundary uses two ranges. */
	{
		static char buf[R];
		ok(dax_read(e.c, a, 7, buf, R, R / 2, 6 * R) == (ssize_t)R &&
			   *(uint32_t *)buf == pattern(R / 2, 1) &&
			   *(uint32_t *)(buf + R - 4) ==
				   pattern(R / 2 + R - 4, 1),
		   "a 2 MiB read across a boundary copies both halves");
	}
	is_int(dax_inode_free(e.c, a), 0, "inode freed");
	st = stats(&e);
	ok(st.ranges_free == 4 && st.ranges_busy == 0 &&
		   st.remove_mappings == 4,
	   "eviction removed all 4 mappings and freed the ranges");
	env_fini(&e);
}

/* Whether the mapping holding @addr has VmFlag @flag in /proc/self/smaps
 * ("rr": MADV_RANDOM, "hg": MADV_HUGEPAGE); -1 if it cannot tell. */
static int vm_flag(const void *addr, const char *flag)
{
	char line[512];
	unsigned long lo, hi, a = (unsigned long)addr;
	FILE *f = fopen("/proc/self/smaps", "r");
	bool in = false;
	int ret = -1;

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' '))
			in = a >= lo && a < hi;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			char *t = strtok(line + 8, " \n");

			ret = 0;
			for (; t; t = strtok(NULL, " \n"))
				if (!strcmp(t, flag))
					ret = 1;
			break;
		}
	}
	if (f)
		fclose(f);
	return ret;
}

static void test_upgrade_and_edges(void)
{
	struct env e;
	struct dax_inode *a;
	struct dax_stats st;
	char buf[64], *win;
	int fd;

	diag("upgrade RO -> RW, size edges, errors");
	env_init(&e, 2, DAX_CONN_NO_WORKER);
	fd = fake_add_file(&e.f, 1, 3 * R);
	fill(fd, 3 * R, 1);
	a = dax_inode_new(1);
	ok(read_ok(&e, a, 1, 64, 3 * R), "read sets up read-only");
	win = (char *)dax_window_base(e.w) + e.f.setups[0].moffset;
	is_int(vm_flag(win, "rr"), 1, "a small read's range is MADV_RANDOM");
	is_int(dax_write(e.c, a, 7, "abcdef", 6, 100, 3 * R), 6,
	       "write into the read-only range");
	st = stats(&e);
	ok(e.f.nsetup == 2 && e.f.setups[1].writable &&
		   e.f.setups[1].moffset == e.f.setups[0].moffset &&
		   st.upgrades == 1 && st.misses == 1,
	   "the upgrade sent a second SETUPMAPPING, writable, same moffset");
	is_int(vm_flag(win, "rr"), 1,
	       "the upgraded range (a new mapping) is MADV_RANDOM again");
	ok(pread(fd, buf, 6, 100) == 6 && !memcmp(buf, "abcdef", 6),
	   "the write reached the file");
	is_int(dax_write(e.c, a, 7, "xy", 2, 200, 3 * R), 2, "second write");
	ok(e.f.nsetup == 2 && stats(&e).upgrades == 1,
	   "no setup for a write to a writable range");
	ok(read_ok(&e, a, 1, 1024, 3 * R) && e.f.nsetup == 2,
	   "a read of a writable range is a hit");

	/* A fresh write sets up writable at once. */
	is_int(dax_write(e.c, a, 7, "q", 1, R + 5, 3 * R), 1,
	       "write to an unmapped piece");
	ok(e.f.nsetup == 3 && e.f.setups[2].writable && stats(&e).upgrades == 1,
	   "set up writable directly, no upgrade");

	/* Extending writes are the caller's. */
	is_int(dax_write(e.c, a, 7, "zz", 2, 3 * R - 1, 3 * R), -ERANGE,
	       "write crossing EOF: -ERANGE (send FUSE_WRITE)");
	is_int(dax_write(e.c, a, 7, "zz", 2, UINT64_MAX - 1, 3 * R), -ERANGE,
	       "write with offset overflow: -ERANGE");
	is_int(dax_write(e.c, a, 7, "zz", 2, 5 * R, 3 * R), -ERANGE,
	       "write beyond EOF: -ERANGE");
	is_int(e.f.nsetup, 3, "no setup for refused writes");

	/* Reads clamp at the file size. */
	{
		static char big[4 * R];
		is_int(dax_read(e.c, a, 7, big, sizeof(big), 0, 3 * R), 3 * R,
		       "read of 8 MiB from a 6 MiB file returns 6 MiB");
		ok(*(uint32_t *)(big + 3 * R - 4) == pattern(3 * R - 4, 1),
		   "the last bytes are right");
		is_int(dax_read(e.c, a, 7, big, 10, 3 * R, 3 * R), 0,
		       "read at EOF returns 0");
		is_int(dax_read(e.c, a, 7, big, 10, UINT64_MAX - 2, 3 * R), 0,
		       "read far beyond EOF returns 0");
		is_int(dax_read(e.c, a, 7, big, R, 3 * R - 100, 3 * R), 100,
		       "read straddling EOF is clamped");
	}
	is_int(dax_inode_flush(e.c, a, 0, UINT64_MAX), 0, "flush (msync) ok");

	/* A failing setup leaves the range free. */
	is_int(dax_inode_break_range(e.c, a, 0, UINT64_MAX), 0,
	       "break everything");
	e.f.fail_setup = -EIO;
	is_int(dax_read(e.c, a, 7, buf, 4, 0, 3 * R), -EIO,
	       "setup failure reaches the reader");
	e.f.fail_setup = -ERANGE;
	is_int(dax_write(e.c, a, 7, buf, 4, 0, 3 * R), -EIO,
	       "a backend -ERANGE is not mistaken for \"extending\"");
	e.f.fail_setup = 0;
	st = stats(&e);
	ok(st.ranges_free == 2 && dax_inode_nr_ranges(a) == 0,
	   "failed setups left the ranges free");
	is_int(dax_check_map_alignment(12), 0, "map_alignment 4 KiB accepted");
	is_int(dax_check_map_alignment(21), 0, "map_alignment 2 MiB accepted");
	is_int(dax_check_map_alignment(22), -EINVAL,
	       "map_alignment 4 MiB refused");
	dax_inode_free(e.c, a);
	env_fini(&e);
}

static void test_busy_order(void)
{
	struct env e;
	struct dax_inode *a;
	int64_t m0, m1, m2;

	diag("busy list: least recently used first, second chance on a hit");
	env_init(&e, 3, DAX_CONN_NO_WORKER);
	fill(fake_add_file(&e.f, 1, 3 * R), 3 * R, 1);
	a = dax_inode_new(1);
	read_ok(&e, a, 1, 0, 3 * R);
	read_ok(&e, a, 1, R, 3 * R);
	read_ok(&e, a, 1, 2 * R, 3 * R);
	m0 = moffset_of(&e.f, 1, 0);
	m1 = moffset_of(&e.f, 1, R);
	m2 = moffset_of(&e.f, 1, 2 * R);
	ok(m0 >= 0 && m1 >= 0 && m2 >= 0 && m0 != m1 && m1 != m2 && m0 != m2,
	   "three ranges at three window offsets");
	/* Pieces 1 and 2 were hit when set up? No: a miss is not a hit. Touch
	 * piece 0 so that it gets a second chance. */
	read_ok(&e, a, 1, 8, 3 * R);
	is_int(dax_conn_reclaim(e.c, 1), 1, "reclaim one");
	ok(e.f.nremove == 1 && (int64_t)e.f.removes[0].moffset == m1,
	   "the oldest untouched range (piece 1) went first");
	is_int(dax_conn_reclaim(e.c, 1), 1, "reclaim another");
	ok(e.f.nremove == 2 && (int64_t)e.f.removes[1].moffset == m2,
	   "then piece 2");
	is_int(dax_conn_reclaim(e.c, 1), 1, "reclaim the last");
	ok(e.f.nremove == 3 && (int64_t)e.f.removes[2].moffset == m0,
	   "piece 0, which was hit, last");
	is_int(dax_conn_reclaim(e.c, 5), 0, "nothing left to reclaim");
	ok(stats(&e).bg_reclaims == 3 && dax_inode_nr_ranges(a) == 0,
	   "3 reclaims counted; inode holds none");
	dax_inode_free(e.c, a);
	env_fini(&e);
}

static void test_direct_reclaim(void)
{
	struct env e;
	struct dax_inode *a, *b;
	struct dax_stats st;
	int64_t m0;

	diag("direct reclaim steals the inode's own idle range");
	env_init(&e, 3, DAX_CONN_NO_WORKER);
	fill(fake_add_file(&e.f, 1, 4 * R), 4 * R, 1);
	fill(fake_add_file(&e.f, 2, 4 * R), 4 * R, 2);
	a = dax_inode_new(1);
	b = dax_inode_new(2);
	ok(read_ok(&e, b, 2, 0, 4 * R), "b takes a range first (the oldest)");
	read_ok(&e, a, 1, 0, 4 * R);
	read_ok(&e, a, 1, R, 4 * R);
	m0 = moffset_of(&e.f, 1, 0);
	ok(read_ok(&e, a, 1, 2 * R + 40, 4 * R),
	   "a third piece of a, with no free range, reads right");
	st = stats(&e);
	ok(st.direct_reclaims == 1 && st.waits == 0 && st.bg_reclaims == 0,
	   "one direct reclaim, no wait");
	ok(e.f.nremove == 0 && e.f.nremove_req == 0,
	   "no FUSE_REMOVEMAPPING: the new setup replaces the old mapping");
	ok(dax_inode_nr_ranges(b) == 1 && dax_inode_nr_ranges(a) == 2,
	   "b keeps its range; a holds 2");
	ok(moffset_of(&e.f, 1, 2 * R) == m0,
	   "a's oldest window range, not b's older one, was reused");
	ok(*(uint32_t *)((char *)dax_window_base(e.w) + m0 + 40) ==
		   pattern(2 * R + 40, 1),
	   "the window there now shows a's third piece");
	ok(read_ok(&e, b, 2, 4, 4 * R) && stats(&e).misses == 4,
	   "b's range is still a hit");
	dax_inode_free(e.c, a);
	dax_inode_free(e.c, b);
	env_fini(&e);
}

struct waiter {
	struct env *e;
	struct dax_inode *ino;
	unsigned id;
	uint64_t size;
	unsigned iters;
	atomic_bool done;
	bool good;
};

static void *waiter_main(void *arg)
{
	struct waiter *wt = arg;

	wt->good = true;
	for (unsigned i = 0; i < wt->iters; i++) {
		uint64_t off = ((uint64_t)(i % 4) * R + 4 * i) % wt->size;
		wt->good &=
			read_ok(wt->e, wt->ino, wt->id, off & ~3ull, wt->size);
	}
	atomic_store(&wt->done, true);
	return NULL;
}

static void test_waiting(void)
{
	struct waiter wt[3];
	pthread_t th[3];
	struct env e;
	struct dax_inode *a, *ino[3];
	struct dax_range *pin;
	struct dax_stats st;
	void *addr;
	unsigned i, done, rounds = 0;

	diag("waiting for a free range (1-range window, no worker)");
	env_init(&e, 1, DAX_CONN_NO_WORKER);
	fill(fake_add_file(&e.f, 1, 2 * R), 2 * R, 1);
	a = dax_inode_new(1);
	is_int(dax_fault(e.c, a, 7, 12, false, &addr, &pin), 0,
	       "inode 1 pins the only range");
	ok(*(uint32_t *)addr == pattern(12, 1),
	   "the pinned address shows the file");
	for (i = 0; i < 3; i++) {
		fill(fake_add_file(&e.f, 2 + i, 4 * R), 4 * R, 2 + i);
		ino[i] = dax_inode_new(2 + i);
		wt[i] = (struct waiter){.e = &e,
					.ino = ino[i],
					.id = 2 + i,
					.size = 4 * R,
					.iters = 1};
		pthread_create(&th[i], NULL, waiter_main, &wt[i]);
	}
	usleep(100 * 1000);
	done = 0;
	for (i = 0; i < 3; i++)
		done += atomic_load(&wt[i].done);
	st = stats(&e);
	ok(done == 0 && st.waits == 3,
	   "three readers of other inodes wait (done %u, waits %llu)", done,
	   (unsigned long long)st.waits);
	dax_fault_done(e.c, pin);
	/* No worker: reclaim by hand until every waiter got its turn. */
	for (;;) {
		done = 0;
		for (i = 0; i < 3; i++)
			done += atomic_load(&wt[i].done);
		if (done == 3 || rounds > 5000)
			break;
		dax_conn_reclaim(e.c, 1);
		usleep(1000);
		rounds++;
	}
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	ok(done == 3 && wt[0].good && wt[1].good && wt[2].good,
	   "every waiter was woken and read the right data (%u rounds)",
	   rounds);
	dax_inode_free(e.c, a);
	for (i = 0; i < 3; i++)
		dax_inode_free(e.c, ino[i]);
	env_fini(&e);

	diag("waiting with the worker: 1-range window, 2 inodes, 2 threads");
	env_init(&e, 1, 0);
	for (i = 0; i < 2; i++) {
		fill(fake_add_file(&e.f, 1 + i, 4 * R), 4 * R, 1 + i);
		ino[i] = dax_inode_new(1 + i);
		wt[i] = (struct waiter){.e = &e,
					.ino = ino[i],
					.id = 1 + i,
					.size = 4 * R,
					.iters = 300};
	}
	{
		uint64_t t0 = now_ms();

		for (i = 0; i < 2; i++)
			pthread_create(&th[i], NULL, waiter_main, &wt[i]);
		for (i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		ok(wt[0].good && wt[1].good,
		   "both threads finished with the right data (%llu ms)",
		   (unsigned long long)(now_ms() - t0));
	}
	dax_settle(e.c, &st);
	ok(st.misses >= 8 && st.ranges_free + st.ranges_busy == 1,
	   "the range went back and forth (misses %llu, waits %llu, "
	   "direct %llu, bg %llu)",
	   (unsigned long long)st.misses, (unsigned long long)st.waits,
	   (unsigned long long)st.direct_reclaims,
	   (unsigned long long)st.bg_reclaims);
	for (i = 0; i < 2; i++)
		dax_inode_free(e.c, ino[i]);
	env_fini(&e);
}

static void test_background(void)
{
	struct env e;
	struct dax_inode *a;
	struct dax_stats st;
	uint64_t t0;
	bool good = true;
	unsigned i;

	diag("background reclaim restores 20%% free");
	env_init(&e, 10, 0);
	fill(fake_add_file(&e.f, 1, 10 * R), 10 * R, 1);
	a = dax_inode_new(1);
	for (i = 0; i < 10; i++)
		good &= read_ok(&e, a, 1, i * R, 10 * R);
	ok(good, "10 pieces read");
	t0 = now_ms();
	do {
		st = stats(&e);
		if (st.ranges_free * 100 >= 20 * st.ranges_total)
			break;
		usleep(1000);
	} while (now_ms() - t0 < 5000);
	ok(st.ranges_free * 100 >= 20 * st.ranges_total && st.bg_reclaims >= 2,
	   "the worker freed ranges back to >= 20%% (free %llu of %llu, "
	   "reclaimed %llu)",
	   (unsigned long long)st.ranges_free,
	   (unsigned long long)st.ranges_total,
	   (unsigned long long)st.bg_reclaims);
	dax_settle(e.c, &st);
	ok(st.ranges_busy == dax_inode_nr_ranges(a) &&
		   st.ranges_busy + st.ranges_free == 10,
	   "counts add up (busy %llu)", (unsigned long long)st.ranges_busy);
	ok(read_ok(&e, a, 1, 0, 10 * R) && read_ok(&e, a, 1, 9 * R, 10 * R),
	   "reads still right after reclaim");
	dax_inode_free(e.c, a);
	env_fini(&e);
}

struct pinner {
	struct env *e;
	struct dax_range *pin;
	atomic_bool released;
};

static void *pinner_main(void *arg)
{
	struct pinner *p = arg;

	usleep(200 * 1000);
	atomic_store(&p->released, true);
	dax_fault_done(p->e->c, p->pin);
	return NULL;
}

static void test_break(void)
{
	struct env e;
	struct dax_inode *a, *b;
	struct pinner p = {0};
	struct dax_range *pin;
	struct dax_stats st;
	pthread_t th;
	void *addr;
	uint64_t t0, dt;
	char c1 = 0;
	unsigned i;
	int ret;

	diag("break_range waits for references, removes, frees");
	env_init(&e, 4, DAX_CONN_NO_WORKER);
	fill(fake_add_file(&e.f, 1, 4 * R), 4 * R, 1);
	a = dax_inode_new(1);
	for (i = 0; i < 4; i++)
		read_ok(&e, a, 1, i * R, 4 * R);
	is_int(dax_fault(e.c, a, 7, R + 4, true, &addr, &pin), 0,
	       "pin piece 1 writable (a program mapping faulting)");
	ok(*(uint32_t *)addr == pattern(R + 4, 1) && stats(&e).upgrades == 1,
	   "the pin upgraded the range and shows the file");
	is_int(dax_conn_reclaim(e.c, 10), 3,
	       "reclaim frees the 3 idle ranges, skips the pinned one");
	ok(dax_inode_nr_ranges(a) == 1, "the pinned range stays");
	p.e = &e;
	p.pin = pin;
	pthread_create(&th, NULL, pinner_main, &p);
	t0 = now_ms();
	dax_inode_lock_mapping(a);
	ret = dax_inode_break_range(e.c, a, R + 100, R + 200);
	dt = now_ms() - t0;
	dax_inode_unlock_mapping(a);
	pthread_join(th, NULL);
	ok(ret == 0 && atomic_load(&p.released) && dt >= 150,
	   "break_range returned only after the pin was dropped (%llu ms)",
	   (unsigned long long)dt);
	st = stats(&e);
	ok(dax_inode_nr_ranges(a) == 0 && st.ranges_free == 4 &&
		   dax_window_nr_mappings(e.w) == 0,
	   "the range is gone from the inode, the window and the free count");

	/* Overlap selection: only ranges touching [start, end). */
	for (i = 0; i < 4; i++)
		read_ok(&e, a, 1, i * R, 4 * R);
	dax_inode_lock_mapping(a);
	is_int(dax_inode_break_range(e.c, a, R, 2 * R + 1), 0,
	       "break [2 MiB, 4 MiB + 1)");
	dax_inode_unlock_mapping(a);
	ok(dax_inode_nr_ranges(a) == 2 && stats(&e).ranges_free == 2,
	   "pieces 1 and 2 removed, 0 and 3 kept");
	ok(read_ok(&e, a, 1, 0, 4 * R) && read_ok(&e, a, 1, 3 * R, 4 * R) &&
		   stats(&e).misses == 8,
	   "pieces 0 and 3 still hits");

	/* A read into a buffer that is itself a window mapping. */
	fill(fake_add_file(&e.f, 2, R), R, 2);
	b = dax_inode_new(2);
	is_int(dax_fault(e.c, b, 7, 0, true, &addr, &pin), 0,
	       "pin b's piece writable");
	is_int(dax_read(e.c, a, 7, addr, 4096, 3 * R, 4 * R), 4096,
	       "read a into b's window mapping");
	ok(*(uint32_t *)addr == pattern(3 * R, 1) &&
		   pread(e.f.fd[2], &c1, 1, 0) == 1 && c1 == ((char *)addr)[0],
	   "the data landed in b's file");
	dax_fault_done(e.c, pin);
	dax_inode_free(e.c, b);
	dax_inode_free(e.c, a);
	env_fini(&e);
}

static void test_batch(void)
{
	struct env e;
	struct dax_inode *a;
	struct dax_stats st;
	const unsigned n = 300;
	unsigned i, good = 0;
	char ch;

	diag("FUSE_REMOVEMAPPING batches of at most %u",
	     (unsigned)DAX_REMOVEMAPPING_MAX);
	env_init(&e, n, DAX_CONN_NO_WORKER);
	fake_add_file(&e.f, 1, (off_t)n * R);
	a = dax_inode_new(1);
	for (i = 0; i < n; i++)
		good += dax_read(e.c, a, 7, &ch, 1, (uint64_t)i * R,
				 (uint64_t)n * R) == 1;
	is_int(good, n, "300 pieces mapped");
	dax_inode_lock_mapping(a);
	is_int(dax_inode_break_range(e.c, a, 0, UINT64_MAX), 0, "break all");
	dax_inode_unlock_mapping(a);
	st = stats(&e);
	ok(e.f.nremove_req == 2 && e.f.max_batch == DAX_REMOVEMAPPING_MAX &&
		   e.f.bad_batches == 0 && st.remove_mappings == n &&
		   st.remove_requests == 2,
	   "two requests (256 + 44), %u entries", e.f.nremove);
	ok(st.ranges_free == n && dax_window_nr_mappings(e.w) == 0,
	   "all free, window empty");
	dax_inode_free(e.c, a);
	env_fini(&e);
}

/* Session teardown: dax_conn_closing(), then inodes go without REMOVEMAPPING. */
static void test_closing(void)
{
	struct env e;
	struct dax_inode *a, *b;
	struct dax_stats st;
	bool good = true;
	unsigned i, nrem;

	diag("closing: the window goes as a whole");
	env_init(&e, 4, DAX_CONN_NO_WORKER);
	fill(fake_add_file(&e.f, 1, 4 * R), 4 * R, 1);
	fill(fake_add_file(&e.f, 2, 4 * R), 4 * R, 2);
	a = dax_inode_new(1);
	b = dax_inode_new(2);
	for (i = 0; i < 2; i++) {
		good &= read_ok(&e, a, 1, i * R, 4 * R);
		good &= read_ok(&e, b, 2, i * R, 4 * R);
	}
	ok(good && dax_inode_nr_ranges(a) == 2 && dax_inode_nr_ranges(b) == 2,
	   "two files hold two ranges each");
	/* a live session removes what it frees */
	is_int(dax_inode_free(e.c, b), 0, "inode b freed while open");
	nrem = e.f.nremove;
	ok(nrem == 2, "... with FUSE_REMOVEMAPPING of its 2 ranges (%u)", nrem);
	dax_conn_closing(e.c);
	is_int(dax_inode_free(e.c, a), 0, "inode a freed after closing");
	st = stats(&e);
	ok(e.f.nremove == nrem && st.remove_mappings == 2,
	   "... without a FUSE_REMOVEMAPPING (%u removed in all)",
	   e.f.nremove);
	ok(st.ranges_free == 4 && st.ranges_busy == 0,
	   "... and all 4 ranges are free again");
	dax_conn_closing(NULL); /* accepted, as dax_conn_destroy(NULL) */
	dax_conn_destroy(e.c);
	ok(dax_window_nr_mappings(e.w) == 2 && e.f.map_errors == 0,
	   "a's 2 mappings are left for the window's own teardown (%u)",
	   dax_window_nr_mappings(e.w));
	dax_window_destroy(e.w);
	fake_destroy(&e.f);
}

int main(void)
{
	test_alloc_hits();
	test_upgrade_and_edges();
	test_busy_order();
	test_direct_reclaim();
	test_waiting();
	test_background();
	test_break();
	test_batch();
	test_closing();
	return tap_done();
}
