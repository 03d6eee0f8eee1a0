// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Dying peers with DAX. vdaxd --cache-size=8M (four 2 MiB ranges) under
 * libvdax dax=always:
 *
 *  1. Threads stream reads and writes over a file 8x the window (so
 *     FUSE_SETUPMAPPING and reclaim REMOVEMAPPINGs are always in flight)
 *     and fsync every few writes; vdaxd is SIGKILLed after 50, 200 and
 *     800 ms. Every call must then fail -ENOTCONN or -EIO within a second,
 *     nothing may hang (a watchdog joins every thread with a deadline),
 *     vdax_close() must return, and every byte of every write covered by an
 *     acknowledged fsync must be in the host file.
 *  2. A vdax_mmap() region being touched (each touch needs a new window
 *     range) when vdaxd dies. Defined outcome: pages already aliased keep
 *     the host's page cache (the window maps the host file itself), and the
 *     first touch that needs the daemon gets SIGBUS (BUS_ADRERR) within a
 *     second; the toucher never hangs.
 *
 * And from the daemon's side, with the fake frontend serving the window:
 *
 *  3. A frontend with live DAX mappings (and, every other round, a
 *     SETUPMAPPING whose SHMEM_MAP it never answers) vanishes, 10 times
 *     (and 5 more in the default sandbox when root): vdaxd's fd count
 *     returns to idle (the mapped files' fds are released), and the next
 *     frontend maps the same window offsets.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vdax/vdax.h>

#include "tap.h"
#include "hx.h"

#define MiB (1024u * 1024u)
#define WIN (8 * MiB)
#define RANGE (2 * MiB)
#define FILE_LEN (8 * WIN)		/* 8x the window */
#define NT 4				/* I/O threads */
#define SLICE (FILE_LEN / NT)		/* each thread writes its own slice */
#define BS (64u * 1024u)		/* one read or write */
#define NBLK (SLICE / BS)
#define FSYNC_EVERY 8
#define PG 4096u
#define GRACE_MS 3000			/* after the kill, before giving up */
#define WATCHDOG_MS 6000		/* a thread not back by then hangs */
#define DROPS 10
#define NMAP 4				/* SETUPMAPPINGs per dropped frontend */

static char tmp[128], shared[200];
static const char *const dax_args[] = { "--cache-size=8M", NULL };

/* ---- helpers ---------------------------------------------------------- */

/* A byte depending on the thread, the pass over its slice and the offset. */
static unsigned char pat(unsigned t, unsigned gen, uint64_t off)
{
	uint64_t x = (off >> 3) * 0x9E3779B97F4A7C15ull +
		     ((uint64_t)t << 40 | gen) * 0x100000001B3ull;

	return (unsigned char)((x >> 29) ^ off);
}

static void fill(unsigned char *p, size_t len, unsigned t, unsigned gen,
		 uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		p[i] = pat(t, gen, off + i);
}

static bool same(const unsigned char *p, size_t len, unsigned t, unsigned gen,
		 uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != pat(t, gen, off + i))
			return false;
	return true;
}

static int host_file(const char *name, uint64_t size, int *fdout)
{
	char p[300];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", shared, name);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size)) {
		close(fd);
		return -errno;
	}
	if (fdout)
		*fdout = fd;
	else
		close(fd);
	return 0;
}

static int open_session(struct hx_daemon *d, struct vdax **vd)
{
	struct vdax_opts o = {
		.socket_path = d->sock,
		.options = "dax=always,cache_size=8M",
		.timeout_ms = 0, /* wait forever: a hang is the watchdog's */
	};

	return vdax_open_session(&o, vd);
}

/* Join @t before @deadline (hx_now_ms() clock); false if it is stuck. */
static bool join_by(pthread_t t, long long deadline)
{
	struct timespec ts;
	long long left = deadline - hx_now_ms();

	if (left < 0)
		left = 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += left / 1000;
	ts.tv_nsec += (left % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return pthread_timedjoin_np(t, NULL, &ts) == 0;
}

static void *close_thread(void *arg)
{
	vdax_close(arg);
	return NULL;
}

/* vdax_close() under the watchdog; false if it did not return. */
static bool close_by(struct vdax *vd, int ms)
{
	pthread_t t;

	if (pthread_create(&t, NULL, close_thread, vd))
		return false;
	if (join_by(t, hx_now_ms() + ms))
		return true;
	pthread_detach(t);
	return false;
}

static bool dead_err(long r)
{
	return r == -ENOTCONN || r == -EIO;
}

/* ---- 1. I/O threads, vdaxd killed ------------------------------------ */

static struct {
	struct vdax *vd;
	const char *path;
	atomic_int killed;
	long long kill_ms;
} io;

struct worker {
	pthread_t th;
	unsigned t;
	unsigned char *buf;
	uint32_t rnd;
	unsigned writes, fsyncs, reads;
	unsigned gen;			/* current pass over the slice */
	unsigned issued[NBLK];		/* last gen whose write started */
	unsigned done[NBLK];		/* last gen whose write returned */
	unsigned acked[NBLK];		/* last gen an fsync covered */
	long first_err;			/* the first error after the kill */
	long err_ms;			/* ... and when, after the kill */
	long bad;			/* an unexpected result */
	const char *bad_what;
	unsigned corrupt;		/* reads of own blocks that differ */
	bool later_ok;			/* every later call failed too */
	bool finished;
};

static struct worker wk[NT];

static uint32_t xs(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/*
 * One result. Returns true when the worker should stop: the first error
 * after the kill, anything unexpected, or no error GRACE_MS after it.
 */
static bool account(struct worker *w, long r, long want, const char *what)
{
	bool killed = atomic_load(&io.killed);
	long ms = killed ? (long)(hx_now_ms() - io.kill_ms) : 0;

	if (r == want)
		return killed && ms > GRACE_MS;
	if (killed && dead_err(r)) {
		w->first_err = r;
		w->err_ms = ms;
		return true;
	}
	w->bad = r;
	w->bad_what = what;
	return true;
}

static void *io_worker(void *arg)
{
	struct worker *w = arg;
	struct vdax_file *f = NULL;
	uint64_t base = (uint64_t)w->t * SLICE;
	unsigned blk = 0, since = 0;
	long r;

	w->gen = 1;
	r = vdax_open(io.vd, io.path, O_RDWR, 0, &f);
	if (r) {
		if (!account(w, r, 0, "open"))
			w->bad = r;
		w->finished = true;
		return NULL;
	}
	for (;;) {
		uint64_t off = base + (uint64_t)blk * BS;

		/* a write in our slice */
		fill(w->buf, BS, w->t, w->gen, off);
		w->issued[blk] = w->gen;
		r = vdax_pwrite(f, w->buf, BS, (off_t)off);
		if (r == (long)BS)
			w->done[blk] = w->gen;
		w->writes++;
		if (account(w, r, BS, "pwrite"))
			break;
		if (++blk == NBLK) {
			blk = 0;
			w->gen++;
		}
		/* fsync: what returned before it is acknowledged if it is */
		if (++since == FSYNC_EVERY) {
			unsigned snap[NBLK];

			since = 0;
			memcpy(snap, w->done, sizeof(snap));
			r = vdax_fsync(f, 0);
			w->fsyncs++;
			if (r == 0)
				memcpy(w->acked, snap, sizeof(snap));
			if (account(w, r, 0, "fsync"))
				break;
		}
		/* a read anywhere: moves the window around */
		off = (uint64_t)(xs(&w->rnd) % (FILE_LEN / BS)) * BS;
		r = vdax_pread(f, w->buf, BS, (off_t)off);
		w->reads++;
		if (account(w, r, BS, "pread"))
			break;
		/* a read of one of our own finished blocks: must match */
		{
			unsigned b = xs(&w->rnd) % NBLK;

			if (!w->done[b] || w->issued[b] != w->done[b])
				continue;
			off = base + (uint64_t)b * BS;
			r = vdax_pread(f, w->buf, BS, (off_t)off);
			w->reads++;
			if (r == (long)BS && !same(w->buf, BS, w->t, w->done[b], off))
				w->corrupt++;
			if (account(w, r, BS, "pread own"))
				break;
		}
	}
	/* Once dead, dead for every kind of call. */
	if (w->first_err) {
		struct stat st;

		w->later_ok = dead_err(vdax_pread(f, w->buf, BS, 0)) &&
			      dead_err(vdax_pwrite(f, w->buf, BS,
						   (off_t)base)) &&
			      dead_err(vdax_fsync(f, 0)) &&
			      dead_err(vdax_fstat(f, &st)) &&
			      dead_err(vdax_stat(io.vd, io.path, &st));
	}
	vdax_release(f);
	w->finished = true;
	return NULL;
}

/* Check the host file: every acknowledged block, page by page. */
static unsigned verify_host(const char *name, unsigned *nacked)
{
	unsigned char *buf = malloc(BS);
	unsigned bad = 0;
	char p[300];
	int fd;

	*nacked = 0;
	snprintf(p, sizeof(p), "%s/%s", shared, name);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return 1u << 30;
	}
	for (unsigned t = 0; t < NT; t++) {
		struct worker *w = &wk[t];

		for (unsigned b = 0; b < NBLK; b++) {
			uint64_t off = (uint64_t)t * SLICE + (uint64_t)b * BS;

			if (!w->acked[b])
				continue;
			(*nacked)++;
			if (pread(fd, buf, BS, (off_t)off) != (ssize_t)BS) {
				bad++;
				continue;
			}
			/*
			 * A later write (unacknowledged) may have replaced
			 * a page; what it cannot do is leave anything else.
			 */
			for (unsigned pg = 0; pg < BS; pg += PG) {
				bool found = false;

				for (unsigned g = w->acked[b];
				     !found && g <= w->issued[b]; g++)
					found = same(buf + pg, PG, t, g,
						     off + pg);
				if (!found) {
					if (!bad)
						diag("thread %u block %u page "
						     "%u: not acked gen %u..%u",
						     t, b, pg / PG, w->acked[b],
						     w->issued[b]);
					bad++;
					break;
				}
			}
		}
	}
	close(fd);
	free(buf);
	return bad;
}

static unsigned total_acked;
static uint64_t most_setups, most_removes;

static void io_round(unsigned kill_after_ms)
{
	const char *tag;
	char name[32], path[40];
	struct hx_daemon d;
	struct vdax_stats st;
	bool all_back = true, all_dead = true, all_later = true;
	long worst = 0;
	unsigned corrupt = 0, bad, nacked, writes = 0, fsyncs = 0, reads = 0;
	int rc;

	snprintf(name, sizeof(name), "io-%u", kill_after_ms);
	snprintf(path, sizeof(path), "/%s", name);
	tag = name;
	if (host_file(name, FILE_LEN, NULL))
		tap_bail("host file");
	rc = hx_start(&d, tmp, shared, false, dax_args);
	if (!is_int(rc, 0, "%s: vdaxd --cache-size=8M started", tag))
		return;
	memset(&io, 0, sizeof(io));
	io.path = path;
	rc = open_session(&d, &io.vd);
	if (!is_int(rc, 0, "%s: libvdax session with dax=always", tag)) {
		hx_dump_log(&d);
		hx_kill(&d);
		return;
	}
	if (vdax_get_stats(io.vd, &st) || st.window_size != WIN)
		diag("%s: window %llu bytes", tag,
		     (unsigned long long)st.window_size);
	memset(wk, 0, sizeof(wk));
	for (unsigned t = 0; t < NT; t++) {
		wk[t].t = t;
		wk[t].rnd = 0x9e3779b9u * (t + 1) + kill_after_ms;
		wk[t].buf = malloc(BS);
		if (!wk[t].buf ||
		    pthread_create(&wk[t].th, NULL, io_worker, &wk[t]))
			tap_bail("worker");
	}
	usleep(kill_after_ms * 1000u);
	io.kill_ms = hx_now_ms();
	atomic_store(&io.killed, 1);
	hx_kill(&d); /* SIGKILL and reap */

	for (unsigned t = 0; t < NT; t++) {
		struct worker *w = &wk[t];

		if (!join_by(w->th, io.kill_ms + WATCHDOG_MS)) {
			ok(0, "%s: thread %u came back (it hangs)", tag, t);
			tap_bail("a libvdax call hangs after the backend died");
		}
		writes += w->writes;
		fsyncs += w->fsyncs;
		reads += w->reads;
		corrupt += w->corrupt;
		if (w->bad || !w->first_err) {
			diag("%s: thread %u: %s -> %ld, first error %ld after "
			     "%ld ms", tag, t, w->bad_what ? w->bad_what : "-",
			     w->bad, w->first_err, w->err_ms);
			all_dead = false;
		}
		if (w->first_err && !w->later_ok)
			all_later = false;
		if (w->err_ms > worst)
			worst = w->err_ms;
		all_back &= w->finished;
		free(w->buf);
	}
	diag("%s: %u writes, %u fsyncs, %u reads before the end", tag, writes,
	     fsyncs, reads);
	ok(all_back, "%s: every thread returned (watchdog %d ms)", tag,
	   WATCHDOG_MS);
	ok(all_dead,
	   "%s: every thread's calls failed -ENOTCONN/-EIO after the kill, "
	   "nothing else failed", tag);
	ok(all_dead && worst < 1000,
	   "%s: the first failure came within a second (worst %ld ms)", tag,
	   worst);
	ok(all_dead && all_later,
	   "%s: pread, pwrite, fsync, fstat and stat all fail afterwards", tag);
	is_int(corrupt, 0, "%s: own blocks read back intact while alive", tag);
	if (!vdax_get_stats(io.vd, &st)) {
		diag("%s: setups %llu removes %llu bg reclaims %llu direct %llu "
		     "waits %llu", tag, (unsigned long long)st.setup_mappings,
		     (unsigned long long)st.remove_mappings,
		     (unsigned long long)st.bg_reclaims,
		     (unsigned long long)st.direct_reclaims,
		     (unsigned long long)st.waits);
		if (st.setup_mappings > most_setups)
			most_setups = st.setup_mappings;
		if (st.remove_mappings > most_removes)
			most_removes = st.remove_mappings;
	}
	ok(close_by(io.vd, WATCHDOG_MS), "%s: vdax_close() returned", tag);
	bad = verify_host(name, &nacked);
	total_acked += nacked;
	ok(bad == 0,
	   "%s: every fsync-acknowledged write is in the host file "
	   "(%u blocks of 64 KiB, %u bad)", tag, nacked, bad);
	{
		char hp[300];

		snprintf(hp, sizeof(hp), "%s/%s", shared, name);
		unlink(hp);
	}
}

/* ---- 2. a vdax_mmap() region touched when vdaxd dies ----------------- */

#define MAP_LEN (16 * RANGE) /* 4x the window: every new range faults */

static __thread sigjmp_buf *volatile jb;
static volatile sig_atomic_t stray_bus;

static void on_bus(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	if (jb)
		siglongjmp(*jb, 1);
	stray_bus++;
	_exit(98);
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

static struct {
	unsigned char *addr;
	atomic_int killed;
	long long kill_ms;
	unsigned touches, wrong, early_bus;
	long bus_ms; /* -1: no SIGBUS */
	bool finished;
} mt;

/* The byte the host wrote at the start of every page. */
static unsigned char mark(uint64_t off)
{
	return (unsigned char)(0x5a ^ (off / PG) * 7);
}

static void *toucher(void *arg)
{
	(void)arg;
	mt.bus_ms = -1;
	for (unsigned i = 0;; i++) {
		/* a new range every touch, a different page each pass */
		uint64_t off = (uint64_t)(i % 16) * RANGE +
			       (uint64_t)((i / 16) % (RANGE / PG)) * PG;
		bool killed = atomic_load(&mt.killed);
		int v = touch(mt.addr + off);

		mt.touches++;
		if (v < 0) {
			if (!killed && !atomic_load(&mt.killed)) {
				mt.early_bus++;
				break;
			}
			mt.bus_ms = (long)(hx_now_ms() - mt.kill_ms);
			break;
		}
		if (v != mark(off))
			mt.wrong++;
		if (killed && hx_now_ms() - mt.kill_ms > GRACE_MS)
			break;
	}
	mt.finished = true;
	return NULL;
}

static void mmap_round(void)
{
	static const char *tag = "mmap";
	struct sigaction sa = { .sa_sigaction = on_bus,
				.sa_flags = SA_SIGINFO | SA_NODEFER };
	struct vdax_file *f = NULL;
	struct hx_daemon d;
	struct vdax *vd;
	pthread_t th;
	void *addr = NULL;
	int rc, fd;

	if (host_file("map", MAP_LEN, &fd))
		tap_bail("host file");
	for (uint64_t off = 0; off < MAP_LEN; off += PG) {
		unsigned char c = mark(off);

		if (pwrite(fd, &c, 1, (off_t)off) != 1)
			tap_bail("host write");
	}
	close(fd);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	rc = hx_start(&d, tmp, shared, false, dax_args);
	if (!is_int(rc, 0, "%s: vdaxd started", tag))
		return;
	rc = open_session(&d, &vd);
	if (!rc)
		rc = vdax_open(vd, "/map", O_RDONLY, 0, &f);
	if (!rc)
		rc = vdax_mmap(f, MAP_LEN, PROT_READ, MAP_SHARED, 0, &addr);
	if (!is_int(rc, 0, "%s: session, open and vdax_mmap of 32 MiB", tag)) {
		hx_kill(&d);
		return;
	}
	vdax_release(f);
	memset(&mt, 0, sizeof(mt));
	mt.addr = addr;
	if (pthread_create(&th, NULL, toucher, NULL))
		tap_bail("toucher");
	usleep(300000);
	mt.kill_ms = hx_now_ms();
	atomic_store(&mt.killed, 1);
	hx_kill(&d);
	if (!join_by(th, mt.kill_ms + WATCHDOG_MS)) {
		/* Leave the session alone: a thread is stuck inside it. */
		ok(0, "%s: the touching thread came back (it hangs in the "
		   "fault; %u touches)", tag, mt.touches);
		return;
	}
	diag("%s: %u touches, SIGBUS %ld ms after the kill", tag, mt.touches,
	     mt.bus_ms);
	ok(mt.touches > 16 && mt.early_bus == 0 && mt.wrong == 0,
	   "%s: touches before the kill read the host's bytes (%u touches, "
	   "%u wrong, %u early SIGBUS)", tag, mt.touches, mt.wrong,
	   mt.early_bus);
	ok(mt.bus_ms >= 0 && mt.bus_ms < 1000,
	   "%s: the first touch needing the dead daemon got SIGBUS within a "
	   "second (%ld ms)", tag, mt.bus_ms);
	is_int(vdax_munmap(addr, MAP_LEN), 0, "%s: vdax_munmap() afterwards",
	       tag);
	ok(close_by(vd, WATCHDOG_MS), "%s: vdax_close() returned", tag);
	ok(stray_bus == 0, "%s: no SIGBUS outside a touch", tag);
}

/* ---- 3. frontends with live mappings dropped -------------------------- */

struct dconn {
	struct hx_conn c;
	struct ff_window *w;
	uint64_t node[NMAP], fh[NMAP];
};

static int dconn_open(struct hx_daemon *d, struct dconn *k)
{
	struct ff_opts o = { .nreq = 1, .backend_channel = true };
	struct fuse_init_in init = {
		.major = FUSE_KERNEL_VERSION,
		.minor = FUSE_KERNEL_MINOR_VERSION,
		.max_readahead = 1 << 17,
		.flags = FUSE_MAP_ALIGNMENT | FUSE_INIT_EXT,
	};
	struct hx_reply *r;
	int rc;

	memset(k, 0, sizeof(*k));
	k->c.unique = 1;
	k->c.timeout_ms = 5000;
	rc = ff_connect(d->sock, 5000, &k->c.f);
	if (!rc)
		rc = ff_setup(k->c.f, &o);
	if (!rc && !(ff_protocol(k->c.f) & (1ull << VHOST_USER_PROTOCOL_F_SHMEM)))
		rc = -EOPNOTSUPP;
	if (!rc)
		rc = ff_window_start(k->c.f, WIN, &k->w);
	if (rc)
		return rc;
	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	rc = hx_call(&k->c, FUSE_INIT, 0, &init, sizeof(init), NULL, 0,
		     sizeof(struct fuse_init_out), r);
	free(r);
	return rc == HX_NOREPLY ? -EPROTO : rc;
}

/* Abrupt: no REMOVEMAPPING, RELEASE or FORGET; the socket just goes. */
static void dconn_drop(struct dconn *k)
{
	if (k->c.f)
		shutdown(ff_sock(k->c.f), SHUT_RDWR);
	ff_window_stop(k->w);
	k->w = NULL;
	hx_close_conn(&k->c);
}

static int setupmap(struct dconn *k, unsigned i, uint64_t flags)
{
	struct fuse_setupmapping_in in = { .fh = k->fh[i], .len = RANGE,
					   .flags = flags,
					   .moffset = (uint64_t)i * RANGE };
	struct hx_reply r;

	return hx_call(&k->c, FUSE_SETUPMAPPING, k->node[i], &in, sizeof(in),
		       NULL, 0, 0, &r);
}

/* Look up m0..m3, open them and map each to window range i. */
static int map_all(struct dconn *k, unsigned *mapped)
{
	uint8_t *win = ff_window_base(k->w);
	int rc = 0;

	*mapped = 0;
	for (unsigned i = 0; i < NMAP; i++) {
		struct fuse_entry_out e;
		char name[8];
		bool rw = i & 1;

		snprintf(name, sizeof(name), "m%u", i);
		rc = hx_lookup(&k->c, FUSE_ROOT_ID, name, &e);
		if (!rc) {
			k->node[i] = e.nodeid;
			rc = hx_open(&k->c, e.nodeid, rw ? O_RDWR : O_RDONLY,
				     &k->fh[i]);
		}
		if (!rc)
			rc = setupmap(k, i,
				      FUSE_SETUPMAPPING_FLAG_READ |
				      (rw ? FUSE_SETUPMAPPING_FLAG_WRITE : 0));
		if (rc)
			return rc;
		/* The frontend sees the file's bytes at that offset. */
		if (win[(size_t)i * RANGE + 4096] == (uint8_t)('A' + i))
			(*mapped)++;
	}
	return 0;
}

/* A backend request is waiting on the channel, unread. */
static bool chan_pending(struct ff *f, int ms)
{
	struct pollfd p = { .fd = ff_chan_fd(f), .events = POLLIN };

	return p.fd >= 0 && poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static void drops(bool sandbox, unsigned rounds)
{
	const char *mode = sandbox ? "default sandbox" : "no sandbox";
	static const char *const extra[] = { "--cache-size=8M",
					     "--thread-pool-size=4", NULL };
	struct hx_daemon d;
	struct dconn k;
	unsigned served = 0, back = 0, maps = 0, mapped = 0, held = 0;
	unsigned stuck = 0;
	int idle, n, worst = 0, rc;

	for (unsigned i = 0; i < NMAP; i++) {
		char name[8], c = (char)('A' + i);
		int fd;

		snprintf(name, sizeof(name), "m%u", i);
		if (host_file(name, RANGE, &fd) || pwrite(fd, &c, 1, 4096) != 1)
			tap_bail("host file");
		close(fd);
	}
	rc = hx_start(&d, tmp, shared, sandbox, extra);
	if (!is_int(rc, 0, "drops (%s): vdaxd --cache-size=8M started", mode))
		return;
	/* The idle value: after one DAX frontend has come and gone. */
	rc = dconn_open(&d, &k);
	dconn_drop(&k);
	usleep(200000);
	idle = hx_fd_count(d.server);
	diag("drops (%s): idle fd count of pid %d: %d", mode,
	     (int)d.server, idle);
	if (!ok(rc == 0 && idle > 0,
		"drops (%s): a frontend with a backend channel and a window came "
		"and went (%d)", mode, rc)) {
		hx_dump_log(&d);
		hx_kill(&d);
		return;
	}
	for (unsigned i = 0; i < rounds; i++) {
		int live;

		mapped = 0;
		rc = dconn_open(&d, &k);
		if (!rc)
			rc = map_all(&k, &mapped);
		served += rc == 0;
		maps += rc == 0 && mapped == NMAP;
		live = hx_fd_count(d.server);
		held += !rc && live > idle;
		if (!rc && (i & 1)) {
			/*
			 * A SETUPMAPPING whose SHMEM_MAP is never answered:
			 * the window thread is gone when it arrives.
			 */
			struct fuse_setupmapping_in in = {
				.fh = k.fh[0], .len = RANGE,
				.flags = FUSE_SETUPMAPPING_FLAG_READ,
				.moffset = 0,
			};
			struct ff_slot s;

			ff_window_stop(k.w);
			k.w = NULL;
			rc = hx_post(&k.c, FUSE_SETUPMAPPING, k.node[0], &in,
				     sizeof(in), NULL, 0, 0, &s);
			/* It reached the backend channel and waits there. */
			stuck += !rc && chan_pending(k.c.f, 2000);
		}
		dconn_drop(&k);
		n = hx_wait_fds(d.server, idle, 3000);
		back += n == idle;
		if (n - idle > worst)
			worst = n - idle;
		if (rc || n != idle || mapped != NMAP)
			diag("drops (%s) round %u: rc %d, %u mapped, fds %d while "
			     "live, %d after (idle %d)", mode, i, rc, mapped, live, n,
			     idle);
		if (rc == -ETIMEDOUT || rc == -ECONNREFUSED)
			break;
	}
	ok(held == served && served > 0,
	   "drops (%s): while mapped, vdaxd held more fds than idle (%u of %u)",
	   mode, held, served);
	is_int(stuck, rounds / 2,
	   "drops (%s): every other frontend left a SHMEM_MAP unanswered",
	       mode);
	is_int(served, rounds,
	       "drops (%s): %u frontends set up %d DAX mappings each, then vanished",
	       mode, rounds, NMAP);
	is_int(maps, rounds,
	       "drops (%s): every frontend saw the files through the same window "
	       "offsets", mode);
	is_int(back, rounds, "drops (%s): the fd count is back to idle after every "
	       "drop (mapped files' fds released)", mode);
	is_int(worst, 0, "drops (%s): no fd growth over %u drops", mode,
	       rounds);
	/* The next frontend maps the same offsets, and leaves in order. */
	rc = dconn_open(&d, &k);
	if (!rc)
		rc = map_all(&k, &mapped);
	ok(rc == 0 && mapped == NMAP,
	   "drops (%s): the next frontend maps the same window offsets (%d, %u)",
	   mode, rc, mapped);
	dconn_drop(&k);
	ok(hx_alive(&d), "drops (%s): the daemon is alive", mode);
	hx_kill(&d);
}

int main(void)
{
	static const unsigned kill_after[] = { 50, 200, 800 };

	if (!getenv("VDAXD"))
		tap_skip_all("vdaxd not built ($VDAXD unset)");
	if (hx_tmpdir("daxdying", tmp, sizeof(tmp)))
		tap_bail("mkdtemp");
	snprintf(shared, sizeof(shared), "%s/shared", tmp);
	if (mkdir(shared, 0755))
		tap_bail("setup");
	signal(SIGPIPE, SIG_IGN);

	for (unsigned i = 0; i < sizeof(kill_after) / sizeof(kill_after[0]); i++)
		io_round(kill_after[i]);
	ok(total_acked > 0,
	   "fsyncs were acknowledged before the kills (%u blocks checked)",
	   total_acked);
	ok(most_setups > 4 && most_removes > 0,
	   "SETUPMAPPING and reclaim REMOVEMAPPING were in flight (%llu setups, "
	   "%llu removals in one round)", (unsigned long long)most_setups,
	   (unsigned long long)most_removes);
	mmap_round();
	drops(false, DROPS);
	if (geteuid() == 0)
		drops(true, DROPS / 2);
	hx_rmrf(tmp);
	return tap_done();
}
