// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * DAX stress: 8 threads on an 8 MiB window (4 ranges), each doing random
 * reads, writes, mmap loads and stores, truncations and hole punches on
 * its own 64 MiB file (8x the window), checked against a model, plus reads
 * of one shared file. A watchdog turns a deadlock into a failure.
 */
#include <linux/falloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "daxe2e.h"

#define MiB (1024 * 1024)
#define NTHREADS 8
#define FSIZE (64 * MiB)
#define BLK 4096
#define NBLK (FSIZE / BLK)
#define SHARED_SIZE (6 * MiB)

static struct dx d;
static atomic_ulong progress;
static atomic_int failures;
static int nops = 600;
static __thread sigjmp_buf *volatile jb;

struct worker {
	int id;
	unsigned rnd;
	uint32_t gen[NBLK]; /* 0: zeros; else the pattern seed */
	uint64_t size;
	char name[32];
	struct vdax_file *f;
	unsigned char *map;
	unsigned char buf[64 * BLK];
	char why[200];
};

static void on_bus(int sig)
{
	(void)sig;
	if (jb)
		siglongjmp(*jb, 1);
	_exit(98);
}

static unsigned rnd(struct worker *w, unsigned n)
{
	w->rnd = w->rnd * 1103515245u + 12345u;
	return (w->rnd >> 8) % n;
}

static unsigned char expect(struct worker *w, uint64_t off)
{
	uint32_t g = w->gen[off / BLK];

	return g ? dx_pat(g, off) : 0;
}

static void fail(struct worker *w, const char *what, uint64_t off)
{
	if (!w->why[0])
		snprintf(w->why, sizeof(w->why), "thread %d: %s at %llu",
			 w->id, what, (unsigned long long)off);
	atomic_fetch_add(&failures, 1);
}

static void op_write(struct worker *w, uint32_t seed)
{
	unsigned nb = 1 + rnd(w, 64), b = rnd(w, NBLK - nb);
	uint64_t off = (uint64_t)b * BLK, len = (uint64_t)nb * BLK;

	dx_fill(w->buf, len, seed, off);
	if (vdax_pwrite(w->f, w->buf, len, (off_t)off) != (ssize_t)len) {
		fail(w, "pwrite", off);
		return;
	}
	for (unsigned i = 0; i < nb; i++)
		w->gen[b + i] = seed;
	if (off + len > w->size)
		w->size = off + len;
}

static void op_read(struct worker *w)
{
	unsigned nb = 1 + rnd(w, 64), b = rnd(w, NBLK - nb);
	uint64_t off = (uint64_t)b * BLK, len = (uint64_t)nb * BLK, want;
	ssize_t n = vdax_pread(w->f, w->buf, len, (off_t)off);

	want = off >= w->size ? 0 : (w->size - off < len ? w->size - off : len);
	if (n != (ssize_t)want) {
		fail(w, "pread length", off);
		return;
	}
	for (uint64_t i = 0; i < want; i++)
		if (w->buf[i] != expect(w, off + i)) {
			fail(w, "pread data", off + i);
			return;
		}
}

static int touch(volatile unsigned char *p)
{
	sigjmp_buf env;
	int v;

	if (sigsetjmp(env, 1)) {
		jb = NULL;
		return -1;
	}
	jb = &env;
	v = *p;
	jb = NULL;
	return v;
}

static void op_touch(struct worker *w)
{
	uint64_t off = (uint64_t)rnd(w, NBLK) * BLK + rnd(w, BLK);
	int v = touch(w->map + off);

	if (off >= w->size ? v != -1 : v != expect(w, off))
		fail(w, "mmap load", off);
}

static void op_store(struct worker *w, uint32_t seed)
{
	unsigned b;
	uint64_t off;

	if (w->size < BLK)
		return;
	b = rnd(w, (unsigned)(w->size / BLK));
	off = (uint64_t)b * BLK;
	dx_fill(w->buf, BLK, seed, off);
	memcpy(w->map + off, w->buf, BLK);
	w->gen[b] = seed;
}

static void op_truncate(struct worker *w)
{
	uint64_t size = (uint64_t)(NBLK / 2 + rnd(w, NBLK / 2 + 1)) * BLK;

	if (rnd(w, 4) == 0)
		size = (uint64_t)rnd(w, NBLK / 8) * BLK;
	if (vdax_ftruncate(w->f, (off_t)size)) {
		fail(w, "ftruncate", size);
		return;
	}
	for (uint64_t b = size / BLK; b < NBLK; b++)
		w->gen[b] = 0;
	w->size = size;
}

static void op_punch(struct worker *w)
{
	unsigned nb = 1 + rnd(w, 700), b = rnd(w, NBLK - nb);
	uint64_t off = (uint64_t)b * BLK;

	if (vdax_fallocate(w->f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			   (off_t)off, (off_t)nb * BLK)) {
		fail(w, "punch", off);
		return;
	}
	for (unsigned i = 0; i < nb; i++)
		w->gen[b + i] = 0;
}

static void op_shared(struct worker *w, struct vdax_file *sf,
		      unsigned char *smap)
{
	uint64_t off = rnd(w, SHARED_SIZE - sizeof(w->buf));

	if (rnd(w, 2)) {
		if (vdax_pread(sf, w->buf, 8192, (off_t)off) != 8192 ||
		    dx_check(w->buf, 8192, 77, off) != -1)
			fail(w, "shared read", off);
	} else if (touch(smap + off) != dx_pat(77, off)) {
		fail(w, "shared mmap load", off);
	}
}

static struct vdax_file *shared_f;
static unsigned char *shared_map;

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	void *v;

	if (vdax_open(d.vd, w->name, O_RDWR | O_CREAT | O_TRUNC, 0644,
		      &w->f) ||
	    vdax_ftruncate(w->f, FSIZE) ||
	    vdax_mmap(w->f, FSIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0,
		      &v)) {
		fail(w, "setup", 0);
		return NULL;
	}
	w->map = v;
	w->size = FSIZE;
	for (int i = 0; i < nops && !w->why[0]; i++) {
		uint32_t seed = ((uint32_t)w->id << 24) | (uint32_t)(i + 1);

		switch (rnd(w, 10)) {
		case 0:
		case 1:
			op_write(w, seed);
			break;
		case 2:
		case 3:
			op_read(w);
			break;
		case 4:
		case 5:
			op_touch(w);
			break;
		case 6:
			op_store(w, seed);
			break;
		case 7:
			op_truncate(w);
			break;
		case 8:
			op_punch(w);
			break;
		default:
			op_shared(w, shared_f, shared_map);
		}
		atomic_fetch_add(&progress, 1);
	}
	/* final full check of a sample through read */
	for (int i = 0; i < 20 && !w->why[0]; i++)
		op_read(w);
	vdax_munmap(w->map, FSIZE);
	vdax_release(w->f);
	return NULL;
}

static void *watchdog(void *arg)
{
	unsigned long last = (unsigned long)-1;
	int still = 0;

	(void)arg;
	for (;;) {
		unsigned long now = atomic_load(&progress);

		dx_sleep_ms(1000);
		if (now == last) {
			if (++still >= 60) {
				printf("Bail out! no progress for 60 s: "
				       "deadlock\n");
				fflush(stdout);
				if (d.pid > 0)
					kill(d.pid, SIGKILL);
				_exit(1);
			}
		} else {
			still = 0;
		}
		last = now;
	}
	return NULL;
}

int main(void)
{
	const char *vdaxd = dx_vdaxd();
	static struct worker ws[NTHREADS];
	pthread_t th[NTHREADS], wd;
	unsigned char *hb;
	struct vdax_stats st;
	const char *e = getenv("VDAX_STRESS_OPS");
	void *v;

	if (e && atoi(e) > 0)
		nops = atoi(e);
	signal(SIGBUS, on_bus);
	dx_init(&d);
	hb = malloc(SHARED_SIZE);
	dx_fill(hb, SHARED_SIZE, 77, 0);
	if (dx_host_write(&d, "shared", hb, SHARED_SIZE, 0))
		tap_bail("host write");
	free(hb);
	if (dx_start(&d, vdaxd, 0, "--cache-size=8M", NULL))
		tap_bail("vdaxd did not start");
	is_int(dx_open(&d, "dax=always"), 0, "dax=always session");
	if (!d.vd)
		tap_bail("no session");
	is_int(vdax_open(d.vd, "shared", O_RDONLY, 0, &shared_f), 0,
	       "open shared");
	is_int(vdax_mmap(shared_f, SHARED_SIZE, PROT_READ, MAP_SHARED, 0, &v),
	       0, "map shared");
	shared_map = v;
	pthread_create(&wd, NULL, watchdog, NULL);
	pthread_detach(wd);
	for (int i = 0; i < NTHREADS; i++) {
		ws[i].id = i;
		ws[i].rnd = 12345u + (unsigned)i * 7919u;
		snprintf(ws[i].name, sizeof(ws[i].name), "s%d", i);
		pthread_create(&th[i], NULL, worker_main, &ws[i]);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		ok(!ws[i].why[0], "thread %d: %s", i,
		   ws[i].why[0] ? ws[i].why : "model agrees");
	}
	is_int(atomic_load(&failures), 0, "no failures");
	/* The reclaim worker may be moving a range: let it settle. */
	for (int i = 0; i < 300; i++) {
		st = dx_stats(&d);
		if (st.ranges_free + st.ranges_busy == st.ranges_total)
			break;
		dx_sleep_ms(10);
	}
	ok(st.ranges_free + st.ranges_busy == st.ranges_total,
	   "ranges accounted for (%llu free, %llu busy)",
	   (unsigned long long)st.ranges_free,
	   (unsigned long long)st.ranges_busy);
	ok(st.bg_reclaims + st.direct_reclaims > 0,
	   "reclaim ran (bg %llu, direct %llu, waits %llu, faults %llu)",
	   (unsigned long long)st.bg_reclaims,
	   (unsigned long long)st.direct_reclaims,
	   (unsigned long long)st.waits, (unsigned long long)st.faults);
	vdax_munmap(shared_map, SHARED_SIZE);
	vdax_release(shared_f);
	dx_stop(&d);
	ok(d.pid < 0, "vdaxd exited after close");
	dx_cleanup(&d);
	return tap_done();
}
