// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vdax_mmap() end to end on vdaxd with an 8 MiB window: loads and stores
 * through a program mapping, mappings surviving reclaim, SIGBUS past the
 * end of file, I/O into a mapped buffer, faults racing truncation.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <sys/mman.h>

#include "daxe2e.h"

#define MiB (1024 * 1024)

static struct dx d;
static __thread sigjmp_buf *volatile jb;
static volatile sig_atomic_t nbus;

static void on_bus(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	nbus++;
	if (jb)
		siglongjmp(*jb, 1);
	_exit(99);
}

/* Read one byte of a mapping; -1 if it raised SIGBUS. */
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

static int poke(volatile unsigned char *p, unsigned char v)
{
	sigjmp_buf env;

	if (sigsetjmp(env, 1)) {
		jb = NULL;
		return -1;
	}
	jb = &env;
	*p = v;
	jb = NULL;
	return 0;
}

static void stream_other(const char *name, size_t size)
{
	unsigned char *buf = malloc(MiB);
	struct vdax_file *g;

	if (vdax_open(d.vd, name, O_RDWR | O_CREAT, 0644, &g)) {
		ok(0, "open %s", name);
		free(buf);
		return;
	}
	vdax_ftruncate(g, (off_t)size);
	for (size_t off = 0; off < size; off += MiB)
		vdax_pread(g, buf, MiB, (off_t)off);
	vdax_release(g);
	free(buf);
}

static void test_mapping(void)
{
	unsigned char *hb = malloc(4 * MiB);
	struct vdax_stats s0, s1;
	struct vdax_file *f;
	unsigned char *p;
	void *v;
	long bad;

	dx_fill(hb, 4 * MiB, 11, 0);
	is_int(dx_host_write(&d, "m", hb, 4 * MiB, 0), 0, "host writes m");
	is_int(vdax_open(d.vd, "m", O_RDWR, 0, &f), 0, "open m");
	is_int(vdax_mmap(f, 4 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0,
			 &v),
	       -EINVAL, "MAP_PRIVATE refused");
	is_int(vdax_mmap(f, 4 * MiB, PROT_READ, MAP_SHARED, 100, &v), -EINVAL,
	       "unaligned offset refused");
	s0 = dx_stats(&d);
	is_int(vdax_mmap(f, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &v),
	       0, "vdax_mmap 4 MiB");
	p = v;
	vdax_release(f); /* the mapping keeps its own handle */
	bad = dx_check(p, 4 * MiB, 11, 0);
	is_int((int)bad, -1, "reads through the mapping");
	s1 = dx_stats(&d);
	ok(s1.faults >= s0.faults + 2, "faults counted (%llu)",
	   (unsigned long long)(s1.faults - s0.faults));
	dx_fill(p + 100, 5000, 12, 100);
	dx_fill(p + 3 * MiB, 4096, 12, 3 * MiB);
	is_int((int)dx_host_read(&d, "m", hb, 4 * MiB, 0), 4 * MiB,
	       "host read");
	ok(dx_check(hb + 100, 5000, 12, 100) == -1 &&
		   dx_check(hb + 3 * MiB, 4096, 12, 3 * MiB) == -1 &&
		   dx_check(hb + 5100, 4096, 11, 5100) == -1,
	   "host sees stores through the mapping");

	/*
	 * Stream another file, 4x the window, through it twice: our ranges
	 * go (removed to restore the free reserve once they are the oldest
	 * idle ones; how many depends on the worker's passes, at least one),
	 * while the stream's own ranges are re-mapped in place without
	 * FUSE_REMOVEMAPPING. The fault count below says they came back.
	 */
	s0 = dx_stats(&d);
	stream_other("other", 32 * MiB);
	stream_other("other", 32 * MiB);
	s1 = dx_stats(&d);
	ok(s1.remove_mappings >= s0.remove_mappings + 1,
	   "streaming reclaimed the mapped file's ranges (%llu removed)",
	   (unsigned long long)(s1.remove_mappings - s0.remove_mappings));
	s0 = s1;
	ok(dx_check(p + 100, 5000, 12, 100) == -1 &&
		   dx_check(p + 3 * MiB, 4096, 12, 3 * MiB) == -1 &&
		   dx_check(p + 8192, 4096, 11, 8192) == -1,
	   "mapping survives reclaim, data right");
	s1 = dx_stats(&d);
	ok(s1.faults > s0.faults, "it faulted back in (%llu)",
	   (unsigned long long)(s1.faults - s0.faults));

	/* I/O whose buffer is itself a mapping (of this file) */
	{
		struct vdax_file *g;
		unsigned char *tmp = malloc(MiB);

		is_int(vdax_open(d.vd, "m", O_RDWR, 0, &g), 0, "open m again");
		is_int((int)vdax_pread(g, p + 2 * MiB, MiB, 0), MiB,
		       "pread into a mapping of the same file");
		dx_fill(tmp, MiB, 12, 0);
		memcpy(tmp + 100, p + 100, 5000);
		ok(memcmp(p + 2 * MiB, p, MiB) == 0, "copied right");
		is_int((int)vdax_pwrite(g, p + 3 * MiB, 4096, 4096), 4096,
		       "pwrite from a mapping");
		ok(dx_check(p + 4096, 4096, 12, 3 * MiB) == -1,
		   "visible in the mapping");
		/*
		 * Maps made after it and one of them gone: the buffer checks
		 * scan only up to the highest slot in use, which must still
		 * cover every live map.
		 */
		{
			void *b, *c;

			is_int(vdax_mmap(g, 4 * MiB, PROT_READ | PROT_WRITE,
					 MAP_SHARED, 0, &b),
			       0, "a second map");
			is_int(vdax_mmap(g, 4 * MiB, PROT_READ | PROT_WRITE,
					 MAP_SHARED, 0, &c),
			       0, "a third map");
			is_int(vdax_munmap(b, 4 * MiB), 0,
			       "the second one unmapped");
			is_int((int)vdax_pread(g, (char *)c + MiB, MiB, 0), MiB,
			       "pread into the third map, past a freed slot");
			ok(memcmp((char *)c + MiB, p, MiB) == 0, "copied right");
			is_int(vdax_munmap(c, 4 * MiB), 0,
			       "the third one unmapped");
			is_int((int)vdax_pread(g, p + 2 * MiB, MiB, 0), MiB,
			       "pread into the first map again");
		}
		vdax_release(g);
		free(tmp);
	}
	is_int(vdax_munmap(p, 4 * MiB), 0, "munmap");
	is_int(vdax_munmap(p, 4 * MiB), -EINVAL, "munmap twice -> EINVAL");
	free(hb);
}

static void test_sigbus(void)
{
	unsigned char *hb = malloc(4 * MiB);
	struct vdax_file *f;
	unsigned char *p;
	void *v;
	int b0;

	dx_fill(hb, 4 * MiB, 13, 0);
	is_int(dx_host_write(&d, "b", hb, 4 * MiB, 0), 0, "host writes b");
	is_int(vdax_open(d.vd, "b", O_RDWR, 0, &f), 0, "open b");
	is_int(vdax_mmap(f, 8 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &v),
	       0, "map 8 MiB of a 4 MiB file");
	p = v;
	is_int(touch(p + 3 * MiB + 5), dx_pat(13, 3 * MiB + 5),
	       "touch inside");
	b0 = nbus;
	is_int(touch(p + 5 * MiB), -1, "touch past EOF -> SIGBUS");
	ok(nbus == b0 + 1, "one SIGBUS");
	is_int(vdax_ftruncate(f, MiB + 4096), 0, "truncate below mapped pages");
	is_int(touch(p + 3 * MiB + 5), -1, "touch the cut page -> SIGBUS");
	is_int(poke(p + 2 * MiB, 1), -1, "store past the new end -> SIGBUS");
	is_int(touch(p + MiB + 100), dx_pat(13, MiB + 100),
	       "below the new end still readable");
	is_int(vdax_ftruncate(f, 4 * MiB), 0, "grow again");
	is_int(touch(p + 3 * MiB + 5), 0, "grown part reads zero");
	vdax_munmap(p, 8 * MiB);
	vdax_release(f);
	free(hb);
}

/* Faults racing truncation: generations must never go backwards. */
static atomic_int stop_race;
static unsigned char *race_p;

static void *race_reader(void *arg)
{
	int last = 0, *bad = arg;

	while (!atomic_load(&stop_race)) {
		int v = touch(race_p + 4096 * 3);

		if (v > 0) {
			if (v < last)
				*bad = 1;
			last = v;
		}
	}
	return NULL;
}

static void test_fault_vs_truncate(void)
{
	unsigned char page[4096];
	struct vdax_file *f;
	pthread_t th;
	int bad = 0;
	void *v;

	is_int(vdax_open(d.vd, "r", O_RDWR | O_CREAT, 0644, &f), 0, "open r");
	is_int(vdax_ftruncate(f, 2 * MiB), 0, "size r");
	is_int(vdax_mmap(f, 2 * MiB, PROT_READ, MAP_SHARED, 0, &v), 0,
	       "map r");
	race_p = v;
	pthread_create(&th, NULL, race_reader, &bad);
	for (int gen = 1; gen < 120; gen++) {
		vdax_ftruncate(f, 0);
		vdax_ftruncate(f, 2 * MiB);
		memset(page, gen, sizeof(page));
		vdax_pwrite(f, page, sizeof(page), 4096 * 3);
	}
	atomic_store(&stop_race, 1);
	pthread_join(th, NULL);
	is_int(bad, 0, "no stale data seen across truncations");
	is_int(touch(race_p + 4096 * 3), 119, "last generation visible");
	vdax_munmap(v, 2 * MiB);
	vdax_release(f);
}

int main(void)
{
	const char *vdaxd = dx_vdaxd();
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_bus;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGBUS, &sa, NULL);
	dx_init(&d);
	if (dx_start(&d, vdaxd, 0, "--cache-size=8M", NULL))
		tap_bail("vdaxd did not start");
	is_int(dx_open(&d, "dax=always"), 0, "dax=always session on vdaxd");
	if (!d.vd)
		tap_bail("no session");
	test_mapping();
	test_sigbus();
	test_fault_vs_truncate();
	dx_stop(&d);
	dx_cleanup(&d);
	return tap_done();
}
