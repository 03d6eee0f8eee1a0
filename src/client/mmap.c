// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vdax_mmap(): program mappings of DAX files, with page faults built in user
 * space.
 *
 * A program mapping is reserved PROT_NONE. A touch raises SIGSEGV; the
 * handler (installed once, chained to the one it replaced) recognises an
 * address inside a vdax mapping and hands it to the fault-service thread:
 * a request on its own stack, pushed on a lock-free list, an eventfd kick,
 * and a futex wait for the answer (the handler takes no mutex). The
 * service sets up the 2 MiB window range under the inode's mapping lock
 * (shared) with dax_fault() and duplicates the window's mapping of that
 * range onto the program's addresses (mremap() with old size 0 makes a
 * second mapping of the same shared pages); the handler returns and the
 * access re-executes. A touch past end of file gets SIGBUS, as a shared
 * file mapping does in the kernel.
 *
 * Every alias is recorded (window offset -> program span). The DAX layer
 * calls fc_mmap_range_removed() before a range leaves its inode (reclaim,
 * truncate, punch hole, eviction), and that puts PROT_NONE back over each
 * alias: the next touch faults the data in again, or gets SIGBUS.
 *
 * Locking: mm.lock guards the slots' owners and the alias list; it is a
 * leaf (taken under the DAX inode locks by the range-removal hook, and by
 * the fault service with only the mapping lock shared). The slots' spans
 * are also published with atomics for the signal handler.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "common/log.h"
#include "client/client.h"
#include "dax/dax.h"

#define VDAX_EXPORT __attribute__((visibility("default")))
#define MM_MAX_MAPS 256

enum { FAULT_PENDING, FAULT_OK, FAULT_SIGBUS, FAULT_NOT_OURS };

/* On the faulting thread's stack for the duration of the handler. */
struct fault_req {
	struct fault_req *next;
	uintptr_t addr;
	int write;	    /* 1 write, 0 read, -1 unknown */
	_Atomic int state;  /* FAULT_*; futex word */
};

struct vmap;

struct alias {
	struct alias *next;
	struct vmap *m;
	struct vdax *vd;
	uint64_t wofs; /* window offset of the range */
	char *addr;
	size_t len;
};

struct vmap {
	struct vdax *vd;
	struct vdax_file *f; /* our own handle: its fh backs the setups */
	char *addr;
	size_t len; /* page multiple */
	uint64_t off;
	int prot;
	unsigned slot;
	unsigned refs; /* protected by mm.lock: the slot + faults in service */
};

struct mm_slot {
	_Atomic uintptr_t start; /* 0: free; set last, cleared first */
	_Atomic size_t len;
	struct vmap *m; /* protected by mm.lock */
};

static struct {
	pthread_once_t once;
	int init_err;
	struct sigaction old_segv; /* written once before the handler */
	int efd;
	_Atomic pid_t tid; /* the fault-service thread */
	_Atomic(struct fault_req *) head;
	pthread_mutex_t lock;
	struct mm_slot slots[MM_MAX_MAPS];
	atomic_uint nmaps;	   /* live slots, for a fast "none" */
	/*
	 * Slots at and above it are free (changed under lock): the scans
	 * stop there. Every read and write of the process checks its buffer
	 * against the slots (fc_mmap_overlaps()); scanning all of them cost
	 * 4 KiB DAX reads a quarter of their speed while one map was alive
	 * (3.9M -> 2.8M IOPS, vdax-bench).
	 */
	atomic_uint top;
	struct alias *aliases; /* protected by lock */
} mm = { .once = PTHREAD_ONCE_INIT, .efd = -1,
	 .lock = PTHREAD_MUTEX_INITIALIZER };

static long page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}

static int reserve(void *p, size_t len)
{
	if (mmap(p, len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1,
		 0) == MAP_FAILED)
		return -errno;
	return 0;
}

/* ---- the signal handler (async-signal-safe only) -------------------- */

static int find_slot(uintptr_t a)
{
	unsigned top = atomic_load(&mm.top);

	for (unsigned i = 0; i < top && i < MM_MAX_MAPS; i++) {
		uintptr_t s = atomic_load(&mm.slots[i].start);

		if (s && a >= s && a - s < atomic_load(&mm.slots[i].len))
			return (int)i;
	}
	return -1;
}

static void futex_wait(_Atomic int *w, int val)
{
	syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic int *w)
{
	syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static int fault_is_write(void *uc)
{
#if defined(__x86_64__)
	/* Page-fault error code bit 1: the access was a write. */
	return !!(((ucontext_t *)uc)->uc_mcontext.gregs[REG_ERR] & 2);
#else
	(void)uc;
	return -1;
#endif
}

/* As the kernel forces a fault's signal: never blocked, never ignored. */
static void raise_sigbus(void *addr)
{
	struct sigaction sa;
	sigset_t set;
	siginfo_t si;

	if (!sigaction(SIGBUS, NULL, &sa) && !(sa.sa_flags & SA_SIGINFO) &&
	    sa.sa_handler == SIG_IGN) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(SIGBUS, &sa, NULL);
	}
	sigemptyset(&set);
	sigaddset(&set, SIGBUS);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	memset(&si, 0, sizeof(si));
	si.si_signo = SIGBUS;
	si.si_code = BUS_ADRERR;
	si.si_addr = addr;
	if (syscall(SYS_rt_tgsigqueueinfo, getpid(), syscall(SYS_gettid),
		    SIGBUS, &si))
		raise(SIGBUS);
}

static void chain(int sig, siginfo_t *si, void *uc)
{
	const struct sigaction *o = &mm.old_segv;

	if (o->sa_flags & SA_SIGINFO) {
		o->sa_sigaction(sig, si, uc);
	} else if (o->sa_handler != SIG_DFL && o->sa_handler != SIG_IGN) {
		o->sa_handler(sig);
	} else {
		/* Default: die as if we had never been here. */
		struct sigaction dfl;

		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigaction(sig, &dfl, NULL);
		if (si->si_code <= 0)
			raise(sig); /* sent, not a fault: re-send */
		/* a fault re-executes and kills */
	}
}

static void segv_handler(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	struct fault_req r;
	uint64_t one = 1;
	struct fault_req *old;

	if (si->si_code <= 0 || find_slot((uintptr_t)si->si_addr) < 0 ||
	    syscall(SYS_gettid) == atomic_load(&mm.tid))
		goto not_ours;
	r.addr = (uintptr_t)si->si_addr;
	r.write = fault_is_write(uc);
	atomic_init(&r.state, FAULT_PENDING);
	old = atomic_load(&mm.head);
	do
		r.next = old;
	while (!atomic_compare_exchange_weak(&mm.head, &old, &r));
	if (write(mm.efd, &one, sizeof(one)) < 0) {
		/* Cannot happen with a live eventfd; do not hang. */
	}
	while (atomic_load(&r.state) == FAULT_PENDING)
		futex_wait(&r.state, FAULT_PENDING);
	if (atomic_load(&r.state) == FAULT_NOT_OURS)
		goto not_ours;
	if (atomic_load(&r.state) == FAULT_SIGBUS)
		raise_sigbus(si->si_addr);
	errno = saved;
	return;
not_ours:
	errno = saved;
	chain(sig, si, uc);
}

/* ---- the fault service ----------------------------------------------- */

/* mm.lock held. */
static struct vmap *map_of_locked(uintptr_t a)
{
	int i = find_slot(a);

	return i < 0 ? NULL : mm.slots[i].m;
}

static void map_free(struct vmap *m)
{
	if (m->f)
		fc_file_release(m->f);
	free(m);
}

static void map_put(struct vmap *m)
{
	bool last;

	pthread_mutex_lock(&mm.lock);
	last = !--m->refs;
	pthread_mutex_unlock(&mm.lock);
	if (last)
		map_free(m);
}

/* mm.lock held: the alias of @m covering @p, if any. */
static struct alias *alias_at_locked(struct vmap *m, const char *p)
{
	for (struct alias *a = mm.aliases; a; a = a->next)
		if (a->m == m && p >= a->addr && p < a->addr + a->len)
			return a;
	return NULL;
}

static int file_size(struct vmap *m, uint64_t *size)
{
	struct fuse_attr a;
	int ret = 0;

	if (!fc_attr_cached(m->vd, m->f->node, &a))
		ret = fc_getattr(m->vd, m->f->node, m->f, &a);
	if (!ret)
		*size = a.size;
	return ret;
}

/*
 * Alias the window range holding file offset @o into @m. Mapping lock
 * held shared, @o below the size.
 */
static int install(struct vmap *m, struct fault_req *r, uint64_t o)
{
	struct vdax *vd = m->vd;
	struct fc_node *n = m->f->node;
	uint64_t rstart = o & ~DAX_RANGE_MASK, s, e;
	bool writable = m->prot & PROT_WRITE;
	struct dax_range *pin;
	struct alias *a;
	char *waddr, *dst;
	int ret;

	ret = dax_fault(vd->dax, n->dax, m->f->fh, o, writable,
			(void **)&waddr, &pin);
	if (ret)
		return ret;
	s = rstart > m->off ? rstart : m->off;
	e = rstart + DAX_RANGE_SIZE;
	if (e > m->off + m->len)
		e = m->off + m->len;
	dst = m->addr + (s - m->off);
	waddr -= o - s;

	pthread_mutex_lock(&mm.lock);
	if (!m->refs || mm.slots[m->slot].m != m) {
		ret = 0; /* unmapped meanwhile: the touch was a bug */
	} else if (alias_at_locked(m, (char *)r->addr)) {
		/* Mapped by an earlier request: a permission fault? */
		ret = r->write == 1 && !(m->prot & PROT_WRITE) ? -EACCES : 0;
	} else if (!(a = calloc(1, sizeof(*a)))) {
		ret = -ENOMEM;
	} else if (mremap(waddr, 0, e - s, MREMAP_MAYMOVE | MREMAP_FIXED,
			  dst) == MAP_FAILED) {
		ret = -errno;
		free(a);
		reserve(dst, e - s);
	} else {
		if (!writable)
			mprotect(dst, e - s, PROT_READ);
		a->m = m;
		a->vd = vd;
		/* Ranges are aligned in the window: round down. */
		a->wofs = (uint64_t)(waddr -
				     (char *)dax_window_base(vd->window)) &
			  ~DAX_RANGE_MASK;
		a->addr = dst;
		a->len = e - s;
		a->next = mm.aliases;
		mm.aliases = a;
		__atomic_add_fetch(&vd->dax_faults, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&mm.lock);
	/* Recorded before the pin goes: a removal now finds the alias. */
	dax_fault_done(vd->dax, pin);
	return ret;
}

static int serve(struct fault_req *r)
{
	long pg = page_size();
	struct fc_node *n;
	struct vmap *m;
	uint64_t o, size;
	int ret;

	pthread_mutex_lock(&mm.lock);
	m = map_of_locked(r->addr);
	if (m)
		m->refs++;
	pthread_mutex_unlock(&mm.lock);
	if (!m)
		return FAULT_NOT_OURS;
	if (r->write == 1 && !(m->prot & PROT_WRITE)) {
		map_put(m);
		return FAULT_NOT_OURS;
	}
	n = m->f->node;
	o = m->off + ((r->addr & ~(uintptr_t)(pg - 1)) - (uintptr_t)m->addr);
	/* The size cannot change under us: truncation takes the mapping
	 * lock exclusively around its request. */
	dax_inode_lock_mapping_shared(n->dax);
	ret = file_size(m, &size);
	if (!ret && o >= size)
		ret = -ENXIO;
	if (!ret)
		ret = install(m, r, o);
	dax_inode_unlock_mapping(n->dax);
	map_put(m);
	if (ret == -EACCES)
		return FAULT_NOT_OURS;
	if (ret && ret != -ENXIO)
		VLOG_WARN("vdax: mmap fault at offset %llu: %s",
			  (unsigned long long)o, strerror(-ret));
	return ret ? FAULT_SIGBUS : FAULT_OK;
}

static void *fault_thread(void *arg)
{
	struct fault_req *r, *next;
	sigset_t all;
	uint64_t cnt;

	(void)arg;
	/* Thread names (15 characters) for top -H, ps -L and perf. */
	pthread_setname_np(pthread_self(), "vdax-fault");
	/* Signals are for the program's threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	atomic_store(&mm.tid, (pid_t)syscall(SYS_gettid));
	for (;;) {
		if (read(mm.efd, &cnt, sizeof(cnt)) < 0 && errno != EINTR &&
		    errno != EAGAIN)
			break;
		r = atomic_exchange(&mm.head, NULL);
		for (; r; r = next) {
			int res;

			next = r->next; /* before the owner may return */
			res = serve(r);
			atomic_store(&r->state, res);
			futex_wake(&r->state);
		}
	}
	return NULL;
}

static void mm_init(void)
{
	struct sigaction sa;
	pthread_attr_t at;
	pthread_t th;
	int ret;

	mm.efd = eventfd(0, EFD_CLOEXEC);
	if (mm.efd < 0) {
		mm.init_err = -errno;
		return;
	}
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	ret = pthread_create(&th, &at, fault_thread, NULL);
	pthread_attr_destroy(&at);
	if (ret) {
		mm.init_err = -ret;
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = segv_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &mm.old_segv))
		mm.init_err = -errno;
}

/* ---- the range-removal hook ------------------------------------------ */

void fc_mmap_range_removed(void *ctx, uint64_t moffset)
{
	struct vdax *vd = ctx;
	struct alias **pp, *a;

	if (!atomic_load(&mm.nmaps))
		return;
	pthread_mutex_lock(&mm.lock);
	for (pp = &mm.aliases; (a = *pp);) {
		if (a->vd == vd && a->wofs == moffset) {
			if (reserve(a->addr, a->len))
				VLOG_ERR("vdax: could not re-protect a mapping "
					 "at %p",
					 (void *)a->addr);
			*pp = a->next;
			free(a);
		} else {
			pp = &a->next;
		}
	}
	pthread_mutex_unlock(&mm.lock);
}

bool fc_mmap_overlaps(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p, s, l;
	unsigned top;

	if (!atomic_load(&mm.nmaps) || !len)
		return false;
	top = atomic_load(&mm.top);
	for (unsigned i = 0; i < top && i < MM_MAX_MAPS; i++) {
		s = atomic_load(&mm.slots[i].start);
		l = atomic_load(&mm.slots[i].len);
		if (s && a < s + l && s < a + len)
			return true;
	}
	return false;
}

/* ---- mapping and unmapping ------------------------------------------- */

/* mm.lock held: forget @m's aliases and slot; the caller unmaps. */
static void unregister_locked(struct vmap *m)
{
	unsigned top = atomic_load(&mm.top);
	struct alias **pp, *a;

	atomic_store(&mm.slots[m->slot].start, 0);
	atomic_store(&mm.slots[m->slot].len, 0);
	mm.slots[m->slot].m = NULL;
	atomic_fetch_sub(&mm.nmaps, 1);
	while (top && !mm.slots[top - 1].m)
		top--;
	atomic_store(&mm.top, top);
	for (pp = &mm.aliases; (a = *pp);) {
		if (a->m == m) {
			*pp = a->next;
			free(a);
		} else {
			pp = &a->next;
		}
	}
}

VDAX_EXPORT int vdax_mmap(struct vdax_file *f, size_t len, int prot, int flags,
			  off_t off, void **out)
{
	long pg = page_size();
	struct vdax *vd;
	struct vmap *m;
	uint64_t end;
	size_t rlen;
	unsigned i;
	int acc, ret;

	if (!f || !out)
		return -EBADF;
	vd = f->vd;
	if (flags != MAP_SHARED || !len || off < 0 || (off & (pg - 1)) ||
	    (prot & ~(PROT_READ | PROT_WRITE)) || !prot)
		return -EINVAL;
	if (len > SIZE_MAX - (size_t)pg)
		return -ENOMEM;
	rlen = (len + (size_t)pg - 1) & ~(size_t)(pg - 1);
	if (__builtin_add_overflow((uint64_t)off, (uint64_t)rlen, &end) ||
	    end > (uint64_t)INT64_MAX)
		return -EOVERFLOW;
	acc = f->flags & O_ACCMODE;
	if (f->is_dir || !vd->dax)
		return -ENODEV;
	if (acc == O_WRONLY || ((prot & PROT_WRITE) && acc != O_RDWR))
		return -EACCES;
	pthread_rwlock_rdlock(&f->node->io_lock);
	ret = f->node->dax ? 0 : -ENODEV;
	pthread_rwlock_unlock(&f->node->io_lock);
	if (ret)
		return ret;
	pthread_once(&mm.once, mm_init);
	if (mm.init_err)
		return mm.init_err;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->vd = vd;
	m->len = rlen;
	m->off = (uint64_t)off;
	m->prot = prot & PROT_WRITE ? PROT_READ | PROT_WRITE : PROT_READ;
	fc_node_get(vd, f->node);
	ret = fc_open_node(vd, f->node, prot & PROT_WRITE ? O_RDWR : O_RDONLY,
			   &m->f);
	if (ret) {
		fc_node_put(vd, f->node);
		free(m);
		return ret;
	}
	m->addr = mmap(NULL, rlen, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->addr == MAP_FAILED) {
		map_free(m);
		return -ENOMEM;
	}
	pthread_mutex_lock(&mm.lock);
	for (i = 0; i < MM_MAX_MAPS && mm.slots[i].m; i++)
		;
	if (i == MM_MAX_MAPS) {
		pthread_mutex_unlock(&mm.lock);
		munmap(m->addr, rlen);
		map_free(m);
		return -ENOMEM;
	}
	m->slot = i;
	m->refs = 1;
	mm.slots[i].m = m;
	atomic_store(&mm.slots[i].len, rlen);
	atomic_store(&mm.slots[i].start, (uintptr_t)m->addr);
	atomic_fetch_add(&mm.nmaps, 1);
	if (atomic_load(&mm.top) < i + 1)
		atomic_store(&mm.top, i + 1);
	pthread_mutex_unlock(&mm.lock);
	*out = m->addr;
	return 0;
}

static void unmap_one_locked(struct vmap *m, bool *last)
{
	unregister_locked(m);
	munmap(m->addr, m->len);
	*last = !--m->refs;
}

VDAX_EXPORT int vdax_munmap(void *addr, size_t len)
{
	long pg = page_size();
	struct vmap *m = NULL;
	bool last = false;
	size_t rlen;

	if (!addr || !len)
		return -EINVAL;
	rlen = (len + (size_t)pg - 1) & ~(size_t)(pg - 1);
	pthread_mutex_lock(&mm.lock);
	for (unsigned i = 0; i < MM_MAX_MAPS; i++) {
		if (mm.slots[i].m && mm.slots[i].m->addr == addr &&
		    mm.slots[i].m->len == rlen) {
			m = mm.slots[i].m;
			break;
		}
	}
	if (m)
		unmap_one_locked(m, &last);
	pthread_mutex_unlock(&mm.lock);
	if (!m)
		return -EINVAL;
	if (last)
		map_free(m);
	return 0;
}

void fc_mmap_session_close(struct vdax *vd)
{
	struct vmap *m;
	bool last;

	if (!atomic_load(&mm.nmaps))
		return;
	for (unsigned i = 0; i < atomic_load(&mm.top); i++) {
		pthread_mutex_lock(&mm.lock);
		m = mm.slots[i].m;
		last = false;
		if (m && m->vd == vd)
			unmap_one_locked(m, &last);
		pthread_mutex_unlock(&mm.lock);
		if (last)
			map_free(m);
	}
}
