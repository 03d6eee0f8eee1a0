// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vdax-bench: the rows. A workload runs on one column for a fixed time in
 * N threads (measure()); prepare() fills the shared directory they read.
 */
#include "bench.h"

#include <linux/kernel-page-flags.h>

/* The walk tree: TREE_TOP dirs of TREE_MID dirs of files. */
#define TREE_TOP 20
#define TREE_MID 10

const struct workload workloads[] = {
	{ "randread", "4 KiB random read", "IOPS",
	  "pread of 4 KiB at a random 4 KiB-aligned offset of a 64 MiB file "
	  "that sits in the host page cache; each thread has its own handle",
	  WL_RANDREAD, 4 * KIB },
	{ "randwrite", "4 KiB random write", "IOPS",
	  "pwrite of 4 KiB at a random 4 KiB-aligned offset of a 64 MiB "
	  "preallocated file (a file per column, opened O_RDWR so that DAX "
	  "may map it writable; no fsync)",
	  WL_RANDWRITE, 4 * KIB },
	{ "seqread", "1 MiB sequential read", "MiB/s",
	  "pread of 1 MiB, in order, wrapping; each thread reads its own "
	  "slice of the 64 MiB cached file",
	  WL_SEQREAD, MIB },
	{ "seqwrite", "1 MiB sequential write", "MiB/s",
	  "pwrite of 1 MiB, in order, over a preallocated 64 MiB file "
	  "(a file per column, each thread its own slice, O_RDWR; no fsync)",
	  WL_SEQWRITE, MIB },
	{ "mmapread", "mmap 4 KiB random read", "IOPS",
	  "memcpy of 4 KiB from a random 4 KiB-aligned offset of a "
	  "MAP_SHARED PROT_READ mapping of the 64 MiB read file (vdax_mmap for "
	  "libvdax with DAX, mmap(2) for local and the mounts); the mapping "
	  "is made once per thread and kept, so the figure is the steady "
	  "state after the first touches",
	  WL_MMAPREAD, 4 * KIB },
	{ "mmapwrite", "mmap 1 MiB sequential write", "MiB/s",
	  "memcpy of 1 MiB, in order, into a MAP_SHARED PROT_READ|PROT_WRITE "
	  "mapping of the column's 64 MiB write file (each thread its own "
	  "slice; no msync); mapping kept as above",
	  WL_MMAPWRITE, MIB },
	{ "meta", "create+stat+unlink", "files/s",
	  "one op = open(O_CREAT|O_EXCL) + close + stat + unlink of an "
	  "empty file, in a directory per thread",
	  WL_META, 0 },
	{ "readdir", "readdir 10 000 entries", "entries/s",
	  "opendir + read every entry + closedir of a directory of 10 000 "
	  "files (every thread the same directory)",
	  WL_READDIR, 0 },
	{ "walk", "stat walk of 20 000 files", "stats/s",
	  "`git status`-like: read every directory of a tree of 20 000 empty "
	  "files (20 x 10 directories of 100) and lstat every entry by its "
	  "path; every thread walks the whole tree",
	  WL_WALK, 0 },
	{ "ws8x", "4 KiB random read, working set 8x window", "IOPS",
	  "as 4 KiB random read, over the first 256 MiB of a file: 8x the "
	  "32 MiB window of the dax column's second session (its other "
	  "rows have 256 MiB); the mnt-dax column keeps its 256 MiB window",
	  WL_RANDREAD, 4 * KIB, 8 },
	{ "ws0.5x", "4 KiB random read, working set 0.5x window", "IOPS",
	  "the sweep: as above over the first 16 MiB", WL_RANDREAD, 4 * KIB,
	  0.5, true },
	{ "ws1x", "4 KiB random read, working set 1x window", "IOPS",
	  "the sweep: over the first 32 MiB", WL_RANDREAD, 4 * KIB, 1, true },
	{ "ws2x", "4 KiB random read, working set 2x window", "IOPS",
	  "the sweep: over the first 64 MiB", WL_RANDREAD, 4 * KIB, 2, true },
	{ "ws4x", "4 KiB random read, working set 4x window", "IOPS",
	  "the sweep: over the first 128 MiB", WL_RANDREAD, 4 * KIB, 4, true },
	{ "wsseq8x", "1 MiB sequential read, file 8x window", "MiB/s",
	  "pread of 1 MiB, in order, wrapping, over the 256 MiB file: 8x "
	  "the 32 MiB window of the dax column's second session; each "
	  "thread its own slice", WL_SEQREAD, MIB, 8, true },
	{ "wsseq8x-2m", "1 MiB sequential read, file 8x window, 2 MiB folios",
	  "MiB/s",
	  "as the row above, over ws2m.bin: the same bytes written in 2 MiB "
	  "pieces, which the host caches in 2 MiB folios (so DAX maps each "
	  "range with one PMD)", WL_SEQREAD, MIB, 8, true, true },
};
_Static_assert(NWORKLOADS == NWORKLOADS, "NWORKLOADS in bench.h");

const char *const sweep_ids[5] = { "ws0.5x", "ws1x", "ws2x", "ws4x", "ws8x" };

/* Kept mappings of the mmap rows, per workload, column and thread. */
static struct pmap {
	void *addr;
	size_t len;
} maps[NWORKLOADS][NBACKENDS][MAX_THREADS];


static unsigned meta_gen;	/* measurements so far (main thread) */

/* One thread of one measurement. */
struct job {
	struct backend *be;
	const struct workload *wl;
	int tid, nthreads;
	pthread_barrier_t *start;
	const int *stop;
	struct bfile f;
	char *buf;
	char *map;
	uint64_t seed;
	uint64_t ops, units;	/* ops done; units of the figure */
	int err;
	char errwhat[64];
};

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static bool stopped(const struct job *j)
{
	return __atomic_load_n(j->stop, __ATOMIC_RELAXED);
}

static bool wl_writes(const struct workload *wl)
{
	return wl->kind == WL_RANDWRITE || wl->kind == WL_SEQWRITE ||
	       wl->kind == WL_MMAPWRITE;
}

bool wl_mmap(const struct workload *wl)
{
	return wl->kind == WL_MMAPREAD || wl->kind == WL_MMAPWRITE;
}

static bool wl_io(const struct workload *wl)
{
	return wl->kind != WL_META && wl->kind != WL_READDIR &&
	       wl->kind != WL_WALK;
}

/* Bytes of the file a row uses. */
size_t wl_span(const struct workload *wl)
{
	return wl->ws > 0 ? (size_t)(wl->ws * P.ws_window) : P.file_size;
}

static void data_path(const struct job *j, char *p, size_t n)
{
	if (j->wl->ws > 0)
		snprintf(p, n, j->wl->big_folios ? "ws2m.bin" : "ws.bin");
	else if (!wl_writes(j->wl))
		snprintf(p, n, "data.bin");
	else
		snprintf(p, n, "w-%s.bin", j->be->name);
}

static int job_io(struct job *j)
{
	const struct bops *ops = j->be->ops;
	bool write = wl_writes(j->wl);
	bool rnd = j->wl->kind == WL_RANDREAD || j->wl->kind == WL_RANDWRITE ||
		   j->wl->kind == WL_MMAPREAD;
	size_t bs = j->wl->bs, span = wl_span(j->wl);
	off_t slice = span / j->nthreads / bs * bs;
	off_t base = slice * j->tid, pos = 0;
	uint64_t nblocks = span / bs;

	while (!stopped(j)) {
		off_t off;
		ssize_t n;

		if (rnd) {
			off = (off_t)(xorshift(&j->seed) % nblocks) * bs;
		} else {
			if (pos + (off_t)bs > slice)
				pos = 0;
			off = base + pos;
			pos += bs;
		}
		if (j->map) {
			if (write)
				memcpy(j->map + off, j->buf, bs);
			else
				memcpy(j->buf, j->map + off, bs);
			/* keep the copy */
			__asm__ volatile("" : : "r"(j->buf), "r"(j->map)
					 : "memory");
			n = bs;
		} else {
			n = write ? ops->pwrite(&j->f, j->buf, bs, off)
				  : ops->pread(&j->f, j->buf, bs, off);
		}
		if (n != (ssize_t)bs) {
			snprintf(j->errwhat, sizeof(j->errwhat), "%s at %lld",
				 write ? "pwrite" : "pread", (long long)off);
			return n < 0 ? (int)n : -EIO;
		}
		j->ops++;
	}
	j->units = j->ops;
	return 0;
}

static int job_meta(struct job *j)
{
	const struct bops *ops = j->be->ops;
	char path[128];
	struct stat st;
	struct bfile f;
	int ret;

	while (!stopped(j)) {
		snprintf(path, sizeof(path), "m-%s/t%d/f%" PRIu64, j->be->name,
			 j->tid, j->seed++);
		ret = ops->create(j->be, path, 0644, &f);
		if (ret) {
			snprintf(j->errwhat, sizeof(j->errwhat), "create");
			return ret;
		}
		ret = ops->close(&f);
		if (ret) {
			snprintf(j->errwhat, sizeof(j->errwhat), "close");
			return ret;
		}
		ret = ops->stat(j->be, path, &st);
		if (!ret && (!S_ISREG(st.st_mode) || st.st_size != 0))
			ret = -EINVAL;
		if (ret) {
			snprintf(j->errwhat, sizeof(j->errwhat), "stat");
			return ret;
		}
		ret = ops->unlink(j->be, path);
		if (ret) {
			snprintf(j->errwhat, sizeof(j->errwhat), "unlink");
			return ret;
		}
		j->ops++;
	}
	j->units = j->ops;
	return 0;
}

static int job_readdir(struct job *j)
{
	uint64_t n;
	int ret;

	while (!stopped(j)) {
		ret = j->be->ops->readdir(j->be, "rd", &n, NULL, NULL);
		if (ret) {
			snprintf(j->errwhat, sizeof(j->errwhat), "readdir");
			return ret;
		}
		/* every file, give or take "." and ".." */
		if (n < P.dir_entries || n > P.dir_entries + 2) {
			snprintf(j->errwhat, sizeof(j->errwhat),
				 "readdir saw %" PRIu64 " entries", n);
			return -EIO;
		}
		j->ops++;
		j->units += n;
	}
	return 0;
}

struct walk {
	struct job *j;
	int depth;
	char path[256];
};

/* lstat every entry; read the directories above the leaves. */
static int walk_cb(void *arg, const char *name)
{
	struct walk *w = arg;
	struct job *j = w->j;
	size_t len = strlen(w->path);
	struct stat st;
	uint64_t n;
	int ret;

	if (stopped(j))
		return 1;
	if (len + strlen(name) + 2 > sizeof(w->path))
		return -ENAMETOOLONG;
	snprintf(w->path + len, sizeof(w->path) - len, "/%s", name);
	ret = j->be->ops->lstat(j->be, w->path, &st);
	if (ret) {
		snprintf(j->errwhat, sizeof(j->errwhat), "lstat");
	} else {
		j->units++;
		if (w->depth < 2) {
			w->depth++;
			ret = j->be->ops->readdir(j->be, w->path, &n, walk_cb,
						  w);
			if (ret < 0)
				snprintf(j->errwhat, sizeof(j->errwhat),
					 "readdir");
			w->depth--;
		}
	}
	w->path[len] = 0;
	return ret;
}

static int job_walk(struct job *j)
{
	struct walk w = { .j = j, .path = "tree" };
	uint64_t n;
	int ret;

	while (!stopped(j)) {
		ret = j->be->ops->readdir(j->be, w.path, &n, walk_cb, &w);
		if (ret < 0) {
			if (!j->errwhat[0])
				snprintf(j->errwhat, sizeof(j->errwhat),
					 "readdir tree");
			return ret;
		}
		if (!ret)
			j->ops++;
	}
	return 0;
}

static void *job_main(void *arg)
{
	struct job *j = arg;

	pthread_barrier_wait(j->start);
	switch (j->wl->kind) {
	case WL_RANDREAD:
	case WL_RANDWRITE:
	case WL_SEQREAD:
	case WL_SEQWRITE:
	case WL_MMAPREAD:
	case WL_MMAPWRITE:
		j->err = job_io(j);
		break;
	case WL_WALK:
		j->err = job_walk(j);
		break;
	case WL_META:
		j->err = job_meta(j);
		break;
	case WL_READDIR:
		j->err = job_readdir(j);
		break;
	}
	return NULL;
}

/*
 * Run @wl on @be with @nthreads threads for @duration seconds; add the work
 * done (in the figure's unit: MiB for sequential I/O) to *units and the time
 * taken to *secs. Returns 0, or a negative errno with *what set.
 */
int measure(struct backend *be, const struct workload *wl,
		   int nthreads, double duration, double *units_out,
		   double *secs, char *what, size_t wsize)
{
	struct job jobs[MAX_THREADS];
	pthread_t tids[MAX_THREADS];
	pthread_barrier_t start;
	bool io = wl_io(wl), mm = wl_mmap(wl);
	size_t w = wl - workloads, b = be - backends;
	int stop = 0, err = 0, started = 0;
	uint64_t units = 0;
	double t0 = 0, t1 = 0;
	char path[128];

	memset(jobs, 0, sizeof(jobs));
	meta_gen++;
	for (int i = 0; i < nthreads; i++) {
		struct job *j = &jobs[i];

		j->be = be;
		j->wl = wl;
		j->tid = i;
		j->nthreads = nthreads;
		j->stop = &stop;
		j->start = &start;
		j->f.fd = -1;
		j->seed = 0x9e3779b97f4a7c15ull * (i + 1) ^ (uint64_t)rand();
		/* fresh names every measurement: a name left behind by a
		 * failed unlink must not fail the next slice */
		if (wl->kind == WL_META)
			j->seed = (uint64_t)meta_gen << 32;
		if (!io)
			continue;
		if (posix_memalign((void **)&j->buf, 4096, wl->bs))
			die("out of memory");
		memset(j->buf, 0x5a + i, wl->bs);
		data_path(j, path, sizeof(path));
		if (mm && maps[w][b][i].addr) {
			j->map = maps[w][b][i].addr;
			continue;
		}
		err = be->ops->open(be, path, wl_writes(wl) ? O_RDWR : O_RDONLY,
				    0, &j->f);
		if (err) {
			snprintf(what, wsize, "open %s: %s", path,
				 strerror(-err));
			nthreads = i;
			goto out;
		}
		if (!mm)
			continue;
		err = be->ops->mmap(be, &j->f, P.file_size,
				    wl_writes(wl) ? PROT_READ | PROT_WRITE
						  : PROT_READ,
				    (void **)&j->map);
		/* the mapping holds the file */
		be->ops->close(&j->f);
		j->f.fd = -1;
		j->f.vf = NULL;
		if (err) {
			snprintf(what, wsize, "mmap %s: %s", path,
				 strerror(-err));
			nthreads = i;
			goto out;
		}
		maps[w][b][i].addr = j->map;
		maps[w][b][i].len = P.file_size;
	}
	pthread_barrier_init(&start, NULL, nthreads + 1);
	for (; started < nthreads; started++)
		if (pthread_create(&tids[started], NULL, job_main,
				   &jobs[started]))
			die("pthread_create failed");
	pthread_barrier_wait(&start);
	t0 = now_s();
	usleep((useconds_t)(duration * 1e6));
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	t1 = now_s();
	pthread_barrier_destroy(&start);
	for (int i = 0; i < nthreads; i++) {
		if (jobs[i].err && !err) {
			err = jobs[i].err;
			snprintf(what, wsize, "%s: %s", jobs[i].errwhat,
				 strerror(-err));
		}
		units += jobs[i].units;
	}
out:
	for (int i = 0; i < nthreads; i++)
		if (io && !mm)
			be->ops->close(&jobs[i].f);
	for (int i = 0; i < MAX_THREADS; i++)
		free(jobs[i].buf);
	if (err)
		return err;
	if (wl->kind == WL_SEQREAD || wl->kind == WL_SEQWRITE)
		*units_out += units * (double)wl->bs / MIB;
	else
		*units_out += units;
	*secs += t1 - t0;
	return 0;
}

/* ---------------- preparing the shared directory ---------------- */

static void write_file_by(int dirfd, const char *name, size_t size,
			  size_t chunk)
{
	char *buf = malloc(chunk);
	uint64_t s = 88172645463325252ull;
	int fd;

	if (!buf)
		die("out of memory");
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0644);
	if (fd < 0)
		die("create %s/%s: %s", sharedir, name, strerror(errno));
	for (size_t off = 0; off < size; off += chunk) {
		for (size_t i = 0; i < chunk; i += 8)
			memcpy(buf + i, &(uint64_t){ xorshift(&s) }, 8);
		if (pwrite(fd, buf, chunk, off) != (ssize_t)chunk)
			die("write %s: %s", name, strerror(errno));
	}
	if (fsync(fd))
		die("fsync %s: %s", name, strerror(errno));
	close(fd);
	free(buf);
}

static void write_file(int dirfd, const char *name, size_t size)
{
	write_file_by(dirfd, name, size, MIB);
}

void warm_file(int dirfd, const char *name)
{
	char *buf = malloc(MIB);
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

	if (!buf || fd < 0)
		die("warm %s: %s", name, strerror(errno));
	while (read(fd, buf, MIB) > 0)
		;
	close(fd);
	free(buf);
}

/* A folio of *@run pages ends: into its bucket of @pages (see folio_mix()). */
static void folio_done(uint64_t *run, uint64_t pages[3])
{
	if (*run)
		pages[*run == 1 ? 0 : *run < 512 ? 1 : 2] += *run;
	*run = 0;
}

/*
 * How the host caches @name: the shares of its pages held in 4 KiB folios
 * (mix[0]), in larger folios below 2 MiB (mix[1]) and in 2 MiB or larger
 * ones (mix[2]), from /proc/self/pagemap and /proc/kpageflags (root only).
 * A DAX mapping costs a page-table entry per 4 KiB page unless the folio is
 * 2 MiB (one PMD), while read(2) gains from every large folio: the cold
 * cat's ratio against local `cat` moves with this (bench/notes.md). Pages
 * not in the cache count in none. False where the kernel does not say.
 */
bool folio_mix(int dirfd, const char *name, double mix[3])
{
	enum { BATCH = 4096 };
	uint64_t *pm = malloc(BATCH * sizeof(*pm)), run = 0, pages[3] = { 0 };
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	int pmfd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	int kfd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	bool ok = false, any = false;
	size_t np = 0, i, j, n;
	char *map = MAP_FAILED;
	struct stat st;

	if (!pm || fd < 0 || pmfd < 0 || kfd < 0 || fstat(fd, &st) ||
	    st.st_size <= 0)
		goto out;
	np = (size_t)st.st_size / 4096;
	map = mmap(NULL, np * 4096, PROT_READ, MAP_SHARED | MAP_POPULATE, fd,
		   0);
	if (map == MAP_FAILED)
		goto out;
	for (i = 0; i < np; i += n) {
		n = np - i < BATCH ? np - i : BATCH;
		if (pread(pmfd, pm, n * sizeof(*pm),
			  (off_t)(((uintptr_t)map / 4096 + i) * sizeof(*pm))) !=
		    (ssize_t)(n * sizeof(*pm)))
			goto out;
		for (j = 0; j < n; j++) {
			uint64_t pfn = pm[j] & ((1ull << 55) - 1), fl;

			/* not present, or no PFN shown (not root) */
			if (!(pm[j] >> 63) || !pfn) {
				folio_done(&run, pages);
				continue;
			}
			if (pread(kfd, &fl, sizeof(fl),
				  (off_t)(pfn * sizeof(fl))) != sizeof(fl))
				goto out;
			any = true;
			/* a tail page continues the folio before it */
			if (!(fl & (1ull << KPF_COMPOUND_TAIL)))
				folio_done(&run, pages);
			run++;
		}
	}
	folio_done(&run, pages);
	ok = any;
	for (i = 0; ok && i < 3; i++)
		mix[i] = (double)pages[i] / (double)np;
out:
	if (map != MAP_FAILED)
		munmap(map, np * 4096);
	if (fd >= 0)
		close(fd);
	if (pmfd >= 0)
		close(pmfd);
	if (kfd >= 0)
		close(kfd);
	free(pm);
	return ok;
}

static void mkdir_p(int dirfd, const char *name)
{
	if (mkdirat(dirfd, name, 0755) && errno != EEXIST)
		die("mkdir %s/%s: %s", sharedir, name, strerror(errno));
}

void prepare(void)
{
	int dirfd = open(sharedir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char name[PATH_MAX];

	if (dirfd < 0)
		die("open %s: %s", sharedir, strerror(errno));
	fprintf(stderr, "vdax-bench: preparing %s\n", sharedir);
	write_file(dirfd, "data.bin", P.file_size);
	write_file(dirfd, "ws.bin", 8 * P.ws_window);
	/* the cold cat's other file: cached in 2 MiB folios where the
	 * filesystem has them (ext4 from Linux 6.16, XFS) */
	write_file_by(dirfd, "ws2m.bin", 8 * P.ws_window, 2 * MIB);
	for (size_t b = 0; b < NBACKENDS; b++) {
		if (!backends[b].enabled || backends[b].external)
			continue;
		snprintf(name, sizeof(name), "w-%s.bin", backends[b].name);
		write_file(dirfd, name, P.file_size);
		snprintf(name, sizeof(name), "m-%s", backends[b].name);
		mkdir_p(dirfd, name);
		for (int t = 0; t < MAX_THREADS; t++) {
			snprintf(name, sizeof(name), "m-%s/t%d",
				 backends[b].name, t);
			mkdir_p(dirfd, name);
		}
	}
	mkdir_p(dirfd, "rd");
	for (unsigned i = 0; i < P.dir_entries; i++) {
		int fd;

		snprintf(name, sizeof(name), "rd/entry-%05u", i);
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			die("create %s: %s", name, strerror(errno));
		close(fd);
	}
	mkdir_p(dirfd, "tree");
	for (unsigned i = 0; i < P.tree_files; i++) {
		unsigned per_leaf = (P.tree_files + TREE_TOP * TREE_MID - 1) /
				    (TREE_TOP * TREE_MID);
		unsigned leaf = i / per_leaf;
		int fd;

		snprintf(name, sizeof(name), "tree/d%02u", leaf / TREE_MID);
		if (leaf % TREE_MID == 0 && i % per_leaf == 0)
			mkdir_p(dirfd, name);
		snprintf(name, sizeof(name), "tree/d%02u/s%02u", leaf / TREE_MID,
			 leaf % TREE_MID);
		if (i % per_leaf == 0)
			mkdir_p(dirfd, name);
		snprintf(name, sizeof(name), "tree/d%02u/s%02u/file-%05u.c",
			 leaf / TREE_MID, leaf % TREE_MID, i);
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			die("create %s: %s", name, strerror(errno));
		close(fd);
	}
	syncfs(dirfd);
	warm_file(dirfd, "data.bin");
	warm_file(dirfd, "ws.bin");
	warm_file(dirfd, "ws2m.bin");
	close(dirfd);
}

bool wl_enabled(const struct workload *wl)
{
	return !P.workloads || in_list(P.workloads, wl->id);
}

int find_wl(const char *id)
{
	for (size_t w = 0; w < NWORKLOADS; w++)
		if (!strcmp(workloads[w].id, id) && wl_enabled(&workloads[w]))
			return w;
	return -1;
}


const char *cell_na(const struct backend *be, const struct workload *wl)
{
	if (wl->sweep_only && !be->sweep)
		return "";
	if (be->external)
		return "";
	if (wl_mmap(wl) && be->ops == &vdax_ops && !be->dax)
		return "libvdax maps files only through a DAX window "
		       "(vdax_mmap is -ENODEV without one)";
	return NULL;
}

void unmap_all(void)
{
	for (size_t w = 0; w < NWORKLOADS; w++)
		for (size_t b = 0; b < NBACKENDS; b++)
			for (int t = 0; t < MAX_THREADS; t++) {
				struct pmap *m = &maps[w][b][t];

				if (m->addr)
					backends[b].ops->munmap(m->addr, m->len);
				m->addr = NULL;
			}
}

