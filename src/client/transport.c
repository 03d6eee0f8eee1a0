// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libvdax transport: vhost-user frontend, guest memory and split
 * virtqueues driven from the "driver" side.
 *
 * Lock order: queue lock -> pool lock. The device's dead flag is atomic;
 * whoever flips it walks every queue (taking each lock alone) and fails
 * the requests in flight.
 *
 * Guest memory layout (one memfd, guest-physical address = memfd offset):
 *   [ring 0][ring 1]...[ring N] | request buffers (page allocator)
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "client/transport.h"
#include "vhost/vhost_user.h"

#define VDX_PAGE 4096u
#define VDX_DEFAULT_MEM (64u << 20)
#define VDX_DEFAULT_QSIZE 128u
#define VDX_MAX_QUEUES 64u
#define VDX_MAX_ACKS 32u /* REPLY_ACKs outstanding at most; vu_set() */
#define VDX_SETUP_TIMEOUT_MS 5000
/*
 * A queue with requests in flight and no completion for this long is
 * looked at again: completions read in case their call was lost, and the
 * device notified again in case our kick was (queue_watch()). A lost kick
 * costs 20-40 ms; QEMU 7.2's virtiofsd lost 70-90 in one run of
 * vdax-bench's walk, readdir and create rows (readdir: 190k entries/s
 * with this period, 80-100k with 100 ms; hung for good without a watch).
 * The io thread wakes this often only while requests are in flight.
 */
#define VDX_STALL_MS 20

/* Page allocator over the request area of guest memory. */
struct vdx_pool {
	pthread_mutex_t lock;
	pthread_cond_t freed;  /* signalled when pages are returned */
	char *base;	       /* first byte of the area */
	uint64_t gpa;	       /* its guest-physical address */
	size_t npages;
	unsigned long *bitmap; /* protected by lock; 1 = in use */
	size_t hint;	       /* protected by lock; where to start looking */
};

struct vdx_queue {
	pthread_mutex_t lock;
	pthread_cond_t space; /* signalled when descriptors are freed */
	unsigned idx;
	unsigned num;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	/* protected by lock */
	uint16_t free_head, num_free;
	uint16_t avail_idx; /* next avail index we publish */
	uint16_t last_used; /* next used index we consume */
	struct vdx_req **inflight; /* by chain head */
	/* set up once */
	int kickfd, callfd;
};

struct vdx_dev {
	int sock;	 /* vhost-user connection */
	int backend_fd;	 /* our end of the backend channel, or -1 */
	int stopfd;	 /* eventfd: threads exit */
	int wakefd;	 /* eventfd: the io thread is to watch the queues */
	bool watch_idle; /* atomic: the io thread sleeps without a stall
			  * watch; a submission clears it and wakes it */
	uint64_t rekicks; /* atomic: queue_watch() notifications */
	int memfd;
	char *mem;
	size_t mem_size;
	uint64_t features, proto;
	uint64_t shm_size; /* shared memory region 0 (the DAX window), or 0 */
	bool event_idx;
	unsigned nq; /* request queues */
	unsigned nvq; /* nq + 1 */
	struct vdx_queue *vq;
	struct vdx_pool pool;
	int dead; /* atomic */
	uint64_t next_unique; /* atomic */
	vdx_backend_req_fn backend_req;
	void *backend_opaque;
	pthread_t io_thread, be_thread;
	bool io_started, be_started;
	/* SET messages sent, their REPLY_ACKs not read yet (vu_set()). */
	uint32_t acks[VDX_MAX_ACKS];
	unsigned nacks;
};

/* ---------------- page allocator ---------------- */

#define BPL (8 * sizeof(unsigned long))

static bool pool_test(const struct vdx_pool *p, size_t i)
{
	return p->bitmap[i / BPL] & (1ul << (i % BPL));
}

static void pool_set(struct vdx_pool *p, size_t first, size_t n, bool on)
{
	for (size_t i = first; i < first + n; i++) {
		if (on)
			p->bitmap[i / BPL] |= 1ul << (i % BPL);
		else
			p->bitmap[i / BPL] &= ~(1ul << (i % BPL));
	}
}

/* First fit from the hint, wrapping once. Caller holds p->lock. */
static long pool_find_locked(struct vdx_pool *p, size_t n)
{
	for (int pass = 0; pass < 2; pass++) {
		size_t start = pass ? 0 : p->hint;
		size_t end = pass ? p->hint + n : p->npages;
		size_t run = 0;

		if (end > p->npages)
			end = p->npages;
		for (size_t i = start; i < end; i++) {
			if (pool_test(p, i)) {
				run = 0;
				continue;
			}
			if (++run == n)
				return (long)(i + 1 - n);
		}
	}
	return -1;
}

static int pool_init(struct vdx_pool *p, char *base, uint64_t gpa, size_t size)
{
	p->base = base;
	p->gpa = gpa;
	p->npages = size / VDX_PAGE;
	p->hint = 0;
	p->bitmap = calloc((p->npages + BPL - 1) / BPL, sizeof(unsigned long));
	if (!p->bitmap)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->freed, NULL);
	return 0;
}

static void pool_destroy(struct vdx_pool *p)
{
	free(p->bitmap);
	p->bitmap = NULL;
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->freed);
}

static int pool_alloc(struct vdx_dev *d, size_t len, bool nowait, void **buf,
		      uint64_t *gpa)
{
	struct vdx_pool *p = &d->pool;
	size_t n = (len + VDX_PAGE - 1) / VDX_PAGE;
	long first;
	int ret = 0;

	if (!n)
		n = 1;
	/* Leave room for others: one request may take at most half. */
	if (n > p->npages / 2)
		return -E2BIG;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		if (__atomic_load_n(&d->dead, __ATOMIC_ACQUIRE)) {
			ret = -ENOTCONN;
			break;
		}
		first = pool_find_locked(p, n);
		if (first >= 0) {
			pool_set(p, first, n, true);
			p->hint = first + n;
			if (p->hint >= p->npages)
				p->hint = 0;
			*buf = p->base + (size_t)first * VDX_PAGE;
			*gpa = p->gpa + (uint64_t)first * VDX_PAGE;
			break;
		}
		if (nowait) {
			ret = -EAGAIN;
			break;
		}
		pthread_cond_wait(&p->freed, &p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return ret;
}

static void pool_free(struct vdx_pool *p, void *buf, size_t len)
{
	size_t first = ((char *)buf - p->base) / VDX_PAGE;
	size_t n = (len + VDX_PAGE - 1) / VDX_PAGE;

	pthread_mutex_lock(&p->lock);
	pool_set(p, first, n ? n : 1, false);
	pthread_cond_broadcast(&p->freed);
	pthread_mutex_unlock(&p->lock);
}

/* ---------------- vhost-user messages ---------------- */

static int vu_send(int sock, uint32_t req, uint32_t flags, const void *payload,
		   uint32_t size, const int *fds, unsigned nfds)
{
	struct vhost_user_hdr hdr = { req, VHOST_USER_VERSION | flags, size };
	struct iovec iov[2] = { { &hdr, sizeof(hdr) },
				{ (void *)payload, size } };
	union {
		char buf[CMSG_SPACE(VHOST_USER_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };
	ssize_t n;

	if (nfds) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EPIPE || errno == ECONNRESET ? -ENOTCONN : -errno;
	if ((size_t)n != sizeof(hdr) + size)
		return -EIO;
	return 0;
}

static int wait_readable(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int n;

	do
		n = poll(&pfd, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

/*
 * Once a header has arrived its payload must follow promptly: a backend
 * that sends half a message must not hold a caller (or vdax_close) forever.
 */
#define VU_PAYLOAD_TIMEOUT_MS 5000

/* Read exactly @len bytes (into @buf, or discard them) before @deadline. */
static int recv_exact(int sock, void *buf, size_t len, long long deadline)
{
	char drain[256];
	size_t done = 0;

	while (done < len) {
		long long left = deadline - vdx_mono_ms();
		size_t want = len - done;
		ssize_t n;
		int ret;

		if (left <= 0)
			return -ETIMEDOUT;
		ret = wait_readable(sock, (int)left);
		if (ret)
			return ret;
		if (!buf && want > sizeof(drain))
			want = sizeof(drain);
		n = recv(sock, buf ? (char *)buf + done : drain, want,
			 MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return errno == ECONNRESET ? -ENOTCONN : -errno;
		if (n == 0)
			return -ENOTCONN;
		done += (size_t)n;
	}
	return 0;
}

/*
 * Read one message: header, then payload of at most @cap bytes (bigger ones
 * are drained and fail -EMSGSIZE). Received fds go to @fds (closed beyond
 * @maxfds). @timeout_ms bounds the wait for the header (-1: none); the rest
 * must come within VU_PAYLOAD_TIMEOUT_MS. Returns the payload size or -errno.
 */
static int vu_recv(int sock, struct vhost_user_hdr *hdr, void *payload, size_t cap,
		   int *fds, unsigned *nfds, unsigned maxfds, int timeout_ms)
{
	union {
		char buf[CMSG_SPACE(VHOST_USER_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { hdr, sizeof(*hdr) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cm.buf,
			      .msg_controllen = sizeof(cm.buf) };
	unsigned got = 0;
	long long deadline;
	ssize_t n;
	int ret;

	ret = wait_readable(sock, timeout_ms);
	if (ret)
		return ret;
	/* The fds come with the first byte; the header's rest may trail. */
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == ECONNRESET ? -ENOTCONN : -errno;
	if (n == 0)
		return -ENOTCONN;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c;
	     c = CMSG_NXTHDR(&msg, c)) {
		size_t cnt;
		int tmp[VHOST_USER_MAX_FDS];

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (cnt > VHOST_USER_MAX_FDS)
			cnt = VHOST_USER_MAX_FDS;
		memcpy(tmp, CMSG_DATA(c), cnt * sizeof(int));
		for (size_t i = 0; i < cnt; i++) {
			if (got < maxfds)
				fds[got++] = tmp[i];
			else
				close(tmp[i]);
		}
	}
	if (nfds)
		*nfds = got;
	deadline = vdx_mono_ms() + VU_PAYLOAD_TIMEOUT_MS;
	ret = recv_exact(sock, (char *)hdr + n, sizeof(*hdr) - (size_t)n,
			 deadline);
	if (ret)
		goto fail;
	if (hdr->size > cap) {
		ret = recv_exact(sock, NULL, hdr->size, deadline);
		if (ret == 0)
			ret = -EMSGSIZE;
		goto fail;
	}
	ret = recv_exact(sock, payload, hdr->size, deadline);
	if (ret)
		goto fail;
	return (int)hdr->size;
fail:
	if (ret == -ETIMEDOUT)
		ret = -EIO; /* a message cut short, not a slow peer */
	for (unsigned i = 0; i < got; i++)
		close(fds[i]);
	if (nfds)
		*nfds = 0;
	return ret;
}

/*
 * Read the REPLY_ACKs of the SET messages sent so far, in order: the first
 * refusal (-EIO) or malformed ack (-EPROTO) is the answer. Replies on the
 * connection come in the order of the requests, so every GET-type message
 * and the end of the set-up come after this.
 */
static int vu_drain(struct vdx_dev *d)
{
	struct vhost_user_hdr hdr;
	unsigned i, n = d->nacks;
	uint64_t v;
	int ret = 0, r;

	d->nacks = 0;
	for (i = 0; i < n; i++) {
		r = vu_recv(d->sock, &hdr, &v, sizeof(v), NULL, NULL, 0,
			    VDX_SETUP_TIMEOUT_MS);
		if (r < 0)
			return r; /* the stream is lost: no more to read */
		if (ret)
			continue;
		if (hdr.request != d->acks[i] || r != sizeof(v))
			ret = -EPROTO;
		else if (v) {
			VLOG_WARN("vdax: the backend refused vhost-user "
				  "request %u", d->acks[i]);
			ret = -EIO;
		}
	}
	return ret;
}

/* GET_* request answered with a u64. */
static int vu_get_u64(struct vdx_dev *d, uint32_t req, uint64_t *val)
{
	struct vhost_user_hdr hdr;
	uint64_t v;
	int ret;

	ret = vu_drain(d);
	if (ret)
		return ret;
	ret = vu_send(d->sock, req, 0, NULL, 0, NULL, 0);
	if (ret)
		return ret;
	ret = vu_recv(d->sock, &hdr, &v, sizeof(v), NULL, NULL, 0,
		      VDX_SETUP_TIMEOUT_MS);
	if (ret < 0)
		return ret;
	if (hdr.request != req || !(hdr.flags & VHOST_USER_REPLY_MASK) ||
	    ret != sizeof(v))
		return -EPROTO;
	*val = v;
	return 0;
}

/*
 * A SET-type message. With REPLY_ACK it asks for one, but does not wait:
 * the set-up sends its messages back to back (26 of them for two request
 * queues, a round trip each to wait out) and vu_drain() checks the acks
 * before the next GET and at the end, as QEMU sends its vring messages.
 */
static int vu_set(struct vdx_dev *d, uint32_t req, const void *payload,
		  uint32_t size, const int *fds, unsigned nfds)
{
	bool ack = d->proto & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK);
	int ret;

	if (ack && d->nacks == VDX_MAX_ACKS) {
		ret = vu_drain(d);
		if (ret)
			return ret;
	}
	ret = vu_send(d->sock, req, ack ? VHOST_USER_NEED_REPLY_MASK : 0, payload,
		      size, fds, nfds);
	if (ret || !ack)
		return ret;
	d->acks[d->nacks++] = req;
	return 0;
}

static int vu_set_u64(struct vdx_dev *d, uint32_t req, uint64_t val)
{
	return vu_set(d, req, &val, sizeof(val), NULL, 0);
}

/* ---------------- virtqueues ---------------- */

static size_t ring_bytes(unsigned num)
{
	size_t sz = vring_size(num, VDX_PAGE);

	return (sz + VDX_PAGE - 1) & ~(size_t)(VDX_PAGE - 1);
}

static int queue_init(struct vdx_dev *d, struct vdx_queue *q, unsigned idx,
		      unsigned num, size_t off)
{
	struct vring vr;

	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->space, NULL);
	q->idx = idx;
	q->num = num;
	vring_init(&vr, num, d->mem + off, VDX_PAGE);
	q->desc = vr.desc;
	q->avail = vr.avail;
	q->used = vr.used;
	q->desc_gpa = off;
	q->avail_gpa = (char *)vr.avail - d->mem;
	q->used_gpa = (char *)vr.used - d->mem;
	for (unsigned i = 0; i < num; i++)
		q->desc[i].next = htole16((i + 1) % num);
	q->free_head = 0;
	q->num_free = num;
	q->avail_idx = q->last_used = 0;
	q->inflight = calloc(num, sizeof(*q->inflight));
	if (!q->inflight)
		return -ENOMEM;
	q->kickfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	q->callfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->kickfd < 0 || q->callfd < 0)
		return -errno;
	return 0;
}

static int queue_start(struct vdx_dev *d, struct vdx_queue *q)
{
	struct vhost_user_vring_state st = { q->idx, q->num };
	struct vhost_user_vring_addr addr = {
		.index = q->idx,
		.desc_user_addr = (uintptr_t)q->desc,
		.used_user_addr = (uintptr_t)q->used,
		.avail_user_addr = (uintptr_t)q->avail,
	};
	int ret;

	ret = vu_set(d, VHOST_USER_SET_VRING_NUM, &st, sizeof(st), NULL, 0);
	if (ret)
		return ret;
	st.num = 0;
	ret = vu_set(d, VHOST_USER_SET_VRING_BASE, &st, sizeof(st), NULL, 0);
	if (ret)
		return ret;
	ret = vu_set(d, VHOST_USER_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0);
	if (ret)
		return ret;
	ret = vu_set(d, VHOST_USER_SET_VRING_CALL, &(uint64_t){ q->idx }, 8,
		     &q->callfd, 1);
	if (ret)
		return ret;
	ret = vu_set(d, VHOST_USER_SET_VRING_KICK, &(uint64_t){ q->idx }, 8,
		     &q->kickfd, 1);
	if (ret)
		return ret;
	if (d->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)) {
		st.num = 1;
		ret = vu_set(d, VHOST_USER_SET_VRING_ENABLE, &st, sizeof(st), NULL,
			     0);
	}
	return ret;
}

static void req_finish_locked(struct vdx_queue *q, struct vdx_req *r, int err,
			      uint32_t out_len);
static void req_complete_locked(struct vdx_queue *q, struct vdx_req *r, int err,
				uint32_t out_len);
static void req_wake(struct vdx_req *r);

/*
 * Validate one used element against the request it names and finish that
 * request; returns it (to be woken once q->lock is dropped), or NULL.
 * Caller holds q->lock.
 */
static struct vdx_req *used_one_locked(struct vdx_queue *q, uint32_t id,
				       uint32_t len)
{
	struct fuse_out_header oh;
	struct vdx_req *r;
	int err = 0;

	if (id >= q->num || !q->inflight[id]) {
		VLOG_WARN("vdax: queue %u: used id %u not in flight", q->idx,
			  id);
		return NULL;
	}
	r = q->inflight[id];
	if (r->noreply) {
		len = 0;
	} else if (len < sizeof(oh) || len > r->out_cap) {
		VLOG_WARN("vdax: queue %u: bad used length %u", q->idx, len);
		err = -EIO;
		len = 0;
	} else {
		memcpy(&oh, vdx_req_out(r), sizeof(oh));
		if (oh.len != len || oh.unique != r->unique || oh.error > 0 ||
		    oh.error <= -512) {
			VLOG_WARN("vdax: queue %u: malformed reply (len %u/%u unique %llu/%llu error %d)",
				  q->idx, oh.len, len,
				  (unsigned long long)oh.unique,
				  (unsigned long long)r->unique, oh.error);
			err = -EIO;
			len = 0;
		} else if (oh.error && len != sizeof(oh)) {
			err = -EIO;
			len = 0;
		} else {
			err = oh.error;
		}
	}
	req_finish_locked(q, r, err, len);
	return r;
}

/*
 * Reap @q's used ring. The requests found done are woken after q->lock is
 * dropped: a waiter woken while the drain still held it went straight back
 * to sleep on the lock (pthread_cond_wait() takes it again before it
 * returns), a second sleep and wake-up per request. With four threads
 * reading through one queue, 5821 of the readers' 37000 context switches
 * in half a second were that (perf sched, 4 KiB random reads over 8x the
 * window).
 */
static void queue_drain(struct vdx_dev *d, struct vdx_queue *q)
{
	struct vdx_req *done = NULL, *r;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		uint16_t used_idx;

		/* Pairs with the device's write barrier before used->idx. */
		used_idx = le16toh(__atomic_load_n(&q->used->idx,
						   __ATOMIC_ACQUIRE));
		while (q->last_used != used_idx) {
			struct vring_used_elem e;
			unsigned slot = q->last_used % q->num;

			memcpy(&e, &q->used->ring[slot], sizeof(e));
			q->last_used++;
			r = used_one_locked(q, le32toh(e.id), le32toh(e.len));
			if (r) {
				r->wake_next = done;
				done = r;
			}
		}
		if (!d->event_idx)
			break;
		/* Ask for a call at the next used entry, then re-check:
		 * the full barrier pairs with the device's one between
		 * writing used->idx and reading used_event. */
		__atomic_store_n(&q->avail->ring[q->num], htole16(q->last_used),
				 __ATOMIC_SEQ_CST);
		if (le16toh(__atomic_load_n(&q->used->idx, __ATOMIC_SEQ_CST)) ==
		    q->last_used)
			break;
	}
	if (done)
		pthread_cond_broadcast(&q->space);
	pthread_mutex_unlock(&q->lock);
	while (done) {
		r = done;
		done = r->wake_next;
		req_wake(r);
	}
}

/* Fail everything in flight on @q. */
static void queue_fail_all(struct vdx_queue *q, int err)
{
	pthread_mutex_lock(&q->lock);
	for (unsigned i = 0; i < q->num; i++)
		if (q->inflight[i])
			req_complete_locked(q, q->inflight[i], err, 0);
	pthread_cond_broadcast(&q->space);
	pthread_mutex_unlock(&q->lock);
}

void vdx_dev_kill(struct vdx_dev *d)
{
	if (__atomic_exchange_n(&d->dead, 1, __ATOMIC_ACQ_REL))
		return;
	VLOG_INFO("vdax: backend gone, failing all requests");
	for (unsigned i = 0; d->vq && i < d->nvq; i++)
		if (d->vq[i].inflight)
			queue_fail_all(&d->vq[i], -ENOTCONN);
	pthread_mutex_lock(&d->pool.lock);
	pthread_cond_broadcast(&d->pool.freed);
	pthread_mutex_unlock(&d->pool.lock);
}

bool vdx_dev_broken(const struct vdx_dev *d)
{
	return __atomic_load_n(&d->dead, __ATOMIC_ACQUIRE);
}

unsigned vdx_num_queues(const struct vdx_dev *d)
{
	return d->nq;
}

uint64_t vdx_shmem_size(const struct vdx_dev *d)
{
	return d->shm_size;
}

size_t vdx_max_req(const struct vdx_dev *d)
{
	return d->pool.npages / 2 * VDX_PAGE;
}

/*
 * Each calling thread keeps one request queue: the first request of a
 * thread takes the next slot of a process-wide round robin, and the
 * thread's later requests (on any session) go to queue 1 + slot % nq. The
 * daemon thread serving that queue then keeps being woken by the same
 * client thread (warm, often already running) instead of a different,
 * sleeping one per request; threads still spread over the queues, as the
 * Linux driver's per-CPU queue mapping does.
 */
static unsigned vdx_next_slot;		  /* atomic */
static __thread unsigned vdx_thread_slot; /* slot + 1; 0: not assigned yet */

unsigned vdx_pick_queue(struct vdx_dev *d)
{
	if (!vdx_thread_slot)
		vdx_thread_slot = 1 + __atomic_fetch_add(&vdx_next_slot, 1,
							 __ATOMIC_RELAXED);
	return 1 + (vdx_thread_slot - 1) % d->nq;
}

/* ---------------- requests ---------------- */

int vdx_req_new(struct vdx_dev *d, size_t in_len, size_t out_cap, bool nowait,
		struct vdx_req **out)
{
	struct vdx_req *r;
	size_t total;
	int ret;

	if (__builtin_add_overflow(in_len, out_cap, &total) ||
	    total > vdx_max_req(d) || total > UINT32_MAX)
		return -E2BIG;
	if (vdx_dev_broken(d))
		return -ENOTCONN;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->buf_size = (total + VDX_PAGE - 1) & ~(size_t)(VDX_PAGE - 1);
	ret = pool_alloc(d, r->buf_size, nowait, &r->buf, &r->gpa);
	if (ret) {
		free(r);
		return ret;
	}
	r->dev = d;
	r->in_len = in_len;
	r->out_cap = out_cap;
	r->refs = 1;
	r->state = VDX_REQ_NEW;
	pthread_cond_init(&r->cv, NULL);
	*out = r;
	return 0;
}

void vdx_req_put(struct vdx_req *r)
{
	if (!r || __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL))
		return;
	pool_free(&r->dev->pool, r->buf, r->buf_size);
	pthread_cond_destroy(&r->cv);
	free(r);
}

/*
 * Caller holds q->lock; r is in flight on q. Marks it done and gives its
 * descriptors back; the ring's reference stays, for req_wake().
 */
static void req_finish_locked(struct vdx_queue *q, struct vdx_req *r, int err,
			      uint32_t out_len)
{
	uint16_t head = r->head;

	/* Return our own chain to the free list: we know its length; the
	 * device never writes descriptors. */
	{
		uint16_t last = head;

		for (unsigned i = 1; i < r->ndesc; i++)
			last = le16toh(q->desc[last].next) % q->num;
		q->desc[last].next = htole16(q->free_head);
	}
	q->free_head = head;
	q->num_free += r->ndesc;
	q->inflight[head] = NULL;
	r->state = VDX_REQ_DONE;
	r->error = err;
	r->out_len = out_len;
}

/*
 * Wake @r's waiter and drop the ring's reference, with or without q->lock:
 * the waiter tests r->state under the lock, which req_finish_locked() set
 * under it, so a waiter that has not slept yet does not miss the signal;
 * and our reference keeps @r (and its condition variable) alive until here.
 */
static void req_wake(struct vdx_req *r)
{
	pthread_cond_signal(&r->cv);
	vdx_req_put(r);
}

/* Caller holds q->lock; r is in flight on q. Drops the ring's reference. */
static void req_complete_locked(struct vdx_queue *q, struct vdx_req *r, int err,
				uint32_t out_len)
{
	req_finish_locked(q, r, err, out_len);
	pthread_cond_broadcast(&q->space);
	req_wake(r);
}

static void watch_wake(struct vdx_dev *d);

/* Notify the device that @q has new buffers. */
static void queue_kick(struct vdx_queue *q)
{
	uint64_t one = 1;

	if (write(q->kickfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		VLOG_WARN("vdax: kick queue %u: %s", q->idx, strerror(errno));
}

/* Requests in flight on @q? q->lock held. */
static bool queue_busy_locked(const struct vdx_queue *q)
{
	return q->num_free < q->num;
}

int vdx_submit(struct vdx_req *r, unsigned qidx)
{
	struct vdx_dev *d = r->dev;
	struct vdx_queue *q;
	struct fuse_in_header *ih = r->buf;
	unsigned ndesc = r->out_cap ? 2 : 1;
	uint16_t head, second, old;
	bool kick;

	if (qidx >= d->nvq)
		return -EINVAL;
	q = &d->vq[qidx];
	r->unique = __atomic_add_fetch(&d->next_unique, 2, __ATOMIC_RELAXED);
	ih->unique = r->unique;
	ih->len = r->in_len;

	pthread_mutex_lock(&q->lock);
	while (!vdx_dev_broken(d) && q->num_free < ndesc)
		pthread_cond_wait(&q->space, &q->lock);
	if (vdx_dev_broken(d)) {
		pthread_mutex_unlock(&q->lock);
		return -ENOTCONN;
	}
	head = q->free_head;
	q->desc[head].addr = htole64(r->gpa);
	q->desc[head].len = htole32(r->in_len);
	q->desc[head].flags = 0;
	second = le16toh(q->desc[head].next) % q->num;
	if (ndesc == 2) {
		q->desc[head].flags = htole16(VRING_DESC_F_NEXT);
		q->desc[second].addr = htole64(r->gpa + r->in_len);
		q->desc[second].len = htole32(r->out_cap);
		q->desc[second].flags = htole16(VRING_DESC_F_WRITE);
		q->free_head = le16toh(q->desc[second].next) % q->num;
		/* keep the link so completion can walk the chain */
		q->desc[head].next = htole16(second);
	} else {
		q->free_head = second;
	}
	q->num_free -= ndesc;
	r->q = q;
	r->head = head;
	r->ndesc = ndesc;
	r->state = VDX_REQ_PENDING;
	__atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
	q->inflight[head] = r;

	q->avail->ring[q->avail_idx % q->num] = htole16(head);
	old = q->avail_idx++;
	/* Descriptors and ring entry before the index the device polls;
	 * seq_cst so the index store is ordered before the avail_event /
	 * flags load below (pairs with the device's full barrier between
	 * writing avail_event and re-reading avail->idx). */
	__atomic_store_n(&q->avail->idx, htole16(q->avail_idx),
			 __ATOMIC_SEQ_CST);
	if (d->event_idx)
		kick = vring_need_event(
			le16toh(__atomic_load_n((__virtio16 *)&q->used->ring[q->num],
						__ATOMIC_SEQ_CST)),
			q->avail_idx, old);
	else
		kick = !(le16toh(__atomic_load_n(&q->used->flags,
						 __ATOMIC_SEQ_CST)) &
			 VRING_USED_F_NO_NOTIFY);
	pthread_mutex_unlock(&q->lock);
	if (kick)
		queue_kick(q);
	watch_wake(d);
	return 0;
}

static void send_interrupt(struct vdx_req *victim)
{
	struct {
		struct fuse_in_header ih;
		struct fuse_interrupt_in in;
	} *m;
	struct vdx_req *r;

	if (vdx_req_new(victim->dev, sizeof(*m), 0, false, &r))
		return;
	m = r->buf;
	memset(m, 0, sizeof(*m));
	m->ih.opcode = FUSE_INTERRUPT;
	m->in.unique = victim->unique;
	r->noreply = true;
	/* The interrupt gets its own unique | FUSE_INT_REQ_BIT is the
	 * kernel's /dev/fuse convention; on virtio a fresh unique is fine. */
	if (vdx_submit(r, victim->q->idx) == 0)
		VLOG_DEBUG("vdax: interrupted request %llu",
			   (unsigned long long)victim->unique);
	vdx_req_put(r);
}

int vdx_wait(struct vdx_req *r, unsigned timeout_ms)
{
	struct vdx_queue *q = r->q;
	struct timespec ts;
	int ret = 0;

	if (timeout_ms) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += timeout_ms / 1000;
		ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
	}
	pthread_mutex_lock(&q->lock);
	while (r->state != VDX_REQ_DONE) {
		if (!timeout_ms) {
			pthread_cond_wait(&r->cv, &q->lock);
		} else if (pthread_cond_timedwait(&r->cv, &q->lock, &ts) ==
			   ETIMEDOUT && r->state != VDX_REQ_DONE) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	if (!ret)
		ret = r->error ? r->error : (int)r->out_len;
	pthread_mutex_unlock(&q->lock);
	if (ret == -ETIMEDOUT && !r->noreply)
		send_interrupt(r);
	return ret;
}

/* ---------------- threads ---------------- */

static bool sock_dead(int sock)
{
	char c;
	ssize_t n = recv(sock, &c, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n == 0)
		return true;
	if (n < 0)
		return errno != EAGAIN && errno != EINTR;
	/* Unsolicited data on the frontend channel: drop the message. */
	{
		struct vhost_user_hdr hdr;
		char buf[VHOST_USER_PAYLOAD_MAX];
		int fds[VHOST_USER_MAX_FDS];
		unsigned nfds = 0;
		int ret = vu_recv(sock, &hdr, buf, sizeof(buf), fds, &nfds,
				  VHOST_USER_MAX_FDS, 0);

		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		return ret == -ENOTCONN;
	}
}

/*
 * The stall watch: every VDX_STALL_MS while @q has requests in flight,
 * drain @q, and if nothing completed since the last look (@seen: the used
 * index then), notify the device again. A device must accept any number of
 * notifications; this one is for a device that missed ours. QEMU 7.2's
 * virtiofsd (libvhost-user) publishes avail_event and then re-reads
 * avail->idx with no full barrier between, so its store can still sit in
 * its CPU's store buffer when our kick test (vdx_submit()) reads the old
 * avail_event: each side then waits for the other. Seen as a bench run
 * that hung with 128 FUSE_BATCH_FORGETs on virtiofsd's full high-priority
 * queue. The drain covers the same race the other way (a call the device
 * skipped). Returns whether @q still has requests in flight.
 */
static bool queue_watch(struct vdx_dev *d, struct vdx_queue *q, uint16_t *seen)
{
	bool busy, stalled;

	queue_drain(d, q);
	pthread_mutex_lock(&q->lock);
	busy = queue_busy_locked(q);
	stalled = busy && q->last_used == *seen;
	*seen = q->last_used;
	pthread_mutex_unlock(&q->lock);
	if (stalled) {
		__atomic_add_fetch(&d->rekicks, 1, __ATOMIC_RELAXED);
		VLOG_DEBUG("vdax: queue %u: no completion in %u ms, "
			   "notifying the device again",
			   q->idx, VDX_STALL_MS);
		queue_kick(q);
	}
	return busy;
}

static bool any_busy(struct vdx_dev *d)
{
	bool busy = false;

	for (unsigned i = 0; i < d->nvq && !busy; i++) {
		pthread_mutex_lock(&d->vq[i].lock);
		busy = queue_busy_locked(&d->vq[i]);
		pthread_mutex_unlock(&d->vq[i].lock);
	}
	return busy;
}

/*
 * A request was just published: if the io thread sleeps with no watch,
 * wake it to start one. The seq_cst load pairs with watch_sleep()'s store
 * and re-check: either it sees our request or we see its flag.
 */
static void watch_wake(struct vdx_dev *d)
{
	uint64_t one = 1;

	if (__atomic_load_n(&d->watch_idle, __ATOMIC_SEQ_CST) &&
	    __atomic_exchange_n(&d->watch_idle, false, __ATOMIC_SEQ_CST) &&
	    write(d->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		VLOG_WARN("vdax: wake the io thread: %s", strerror(errno));
}

/* Nothing in flight: may the io thread sleep with no watch? */
static bool watch_sleep(struct vdx_dev *d)
{
	__atomic_store_n(&d->watch_idle, true, __ATOMIC_SEQ_CST);
	if (!any_busy(d))
		return true;
	/* A request came in meanwhile: keep watching (its submitter may
	 * have taken the flag already and woken us: a spare wake-up). */
	__atomic_store_n(&d->watch_idle, false, __ATOMIC_SEQ_CST);
	return false;
}

/* Completions of every queue, the stall watch, and the connection monitor. */
static void *io_thread(void *arg)
{
	struct vdx_dev *d = arg;
	unsigned n = d->nvq + 3, wake = d->nvq + 2;
	struct pollfd *pfd = calloc(n, sizeof(*pfd));
	uint16_t *seen = calloc(d->nvq, sizeof(*seen));
	int64_t next = vdx_mono_ms() + VDX_STALL_MS, now;
	bool watching = true;

	pthread_setname_np(pthread_self(), "vdax-io");
	if (!pfd || !seen) {
		free(pfd);
		free(seen);
		vdx_dev_kill(d);
		return NULL;
	}
	pfd[0] = (struct pollfd){ .fd = d->stopfd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = d->sock, .events = POLLIN | POLLRDHUP };
	for (unsigned i = 0; i < d->nvq; i++)
		pfd[2 + i] = (struct pollfd){ .fd = d->vq[i].callfd,
					      .events = POLLIN };
	pfd[wake] = (struct pollfd){ .fd = d->wakefd, .events = POLLIN };
	for (;;) {
		int64_t left = next - vdx_mono_ms();
		int ret = poll(pfd, n, !watching ? -1 : left > 0 ? (int)left : 0);

		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0 || pfd[0].revents)
			break;
		if (pfd[wake].revents) {
			uint64_t cnt;

			if (read(d->wakefd, &cnt, sizeof(cnt)) < 0 &&
			    errno != EAGAIN)
				VLOG_DEBUG("vdax: wakefd: %s", strerror(errno));
			if (!watching)
				next = vdx_mono_ms() + VDX_STALL_MS;
			watching = true;
		}
		if (pfd[1].revents && !vdx_dev_broken(d) &&
		    ((pfd[1].revents & (POLLHUP | POLLERR | POLLRDHUP)) ||
		     sock_dead(d->sock))) {
			vdx_dev_kill(d);
		}
		if (vdx_dev_broken(d))
			pfd[1].fd = -1;
		for (unsigned i = 0; i < d->nvq; i++) {
			uint64_t cnt;

			if (!pfd[2 + i].revents)
				continue;
			if (read(d->vq[i].callfd, &cnt, sizeof(cnt)) < 0 &&
			    errno != EAGAIN)
				continue;
			if (!vdx_dev_broken(d))
				queue_drain(d, &d->vq[i]);
		}
		now = vdx_mono_ms();
		if (watching && now >= next && !vdx_dev_broken(d)) {
			bool busy = false;

			/* On a clock, not on quiet: calls on one queue must
			 * not keep another's stall from being seen. */
			for (unsigned i = 0; i < d->nvq; i++)
				busy |= queue_watch(d, &d->vq[i], &seen[i]);
			next = now + VDX_STALL_MS;
			if (!busy)
				watching = !watch_sleep(d);
		}
	}
	free(pfd);
	free(seen);
	return NULL;
}

/* Serve backend-initiated requests; errors for everything we lack. */
static void *backend_thread(void *arg)
{
	struct vdx_dev *d = arg;
	struct pollfd pfd[2] = { { .fd = d->stopfd, .events = POLLIN },
				 { .fd = d->backend_fd, .events = POLLIN } };

	pthread_setname_np(pthread_self(), "vdax-backend");
	for (;;) {
		char buf[VHOST_USER_PAYLOAD_MAX];
		struct vhost_user_hdr hdr;
		int fds[VHOST_USER_MAX_FDS];
		unsigned nfds = 0;
		uint64_t result;
		int ret = poll(pfd, 2, -1);

		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0 || pfd[0].revents)
			break;
		ret = vu_recv(d->backend_fd, &hdr, buf, sizeof(buf), fds, &nfds,
			      VHOST_USER_MAX_FDS, 0);
		if (ret == -ENOTCONN || ret == -EIO) {
			/* Channel gone: the socket monitor decides if the
			 * backend is dead; just stop serving. */
			break;
		}
		if (ret < 0 && ret != -EMSGSIZE)
			continue;
		if (ret < 0) {
			result = EMSGSIZE;
		} else if (d->backend_req &&
			   (hdr.request == VHOST_USER_BACKEND_SHMEM_MAP ||
			    hdr.request == VHOST_USER_BACKEND_SHMEM_UNMAP)) {
			int fd = nfds ? fds[0] : -1;

			for (unsigned i = 1; i < nfds; i++)
				close(fds[i]);
			nfds = 0;
			ret = d->backend_req(d->backend_opaque, hdr.request,
					     buf, (size_t)ret, fd);
			/* REPLY_ACK: 0 = success; the daemon reads a small
			 * non-zero value as the errno. */
			result = ret < 0 ? (uint64_t)-ret : 0;
		} else {
			VLOG_DEBUG("vdax: backend request %u not supported",
				   hdr.request);
			result = ENOSYS;
		}
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		if (hdr.flags & VHOST_USER_NEED_REPLY_MASK)
			vu_send(d->backend_fd, hdr.request, VHOST_USER_REPLY_MASK,
				&result, sizeof(result), NULL, 0);
	}
	return NULL;
}

/* ---------------- setup ---------------- */

static int connect_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (!path || !*path)
		return -EINVAL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

/*
 * GET_SHMEM_CONFIG: the size of shared memory region 0 (virtio-fs's DAX
 * cache). A reply we cannot trust means "no window", not a dead session.
 */
static int get_shmem_config(struct vdx_dev *d)
{
	struct vhost_user_shmem_config cfg;
	struct vhost_user_hdr hdr;
	int ret;

	ret = vu_drain(d);
	if (ret)
		return ret;
	ret = vu_send(d->sock, VHOST_USER_GET_SHMEM_CONFIG, 0, NULL, 0, NULL,
		      0);
	if (ret)
		return ret;
	memset(&cfg, 0, sizeof(cfg));
	ret = vu_recv(d->sock, &hdr, &cfg, sizeof(cfg), NULL, NULL, 0,
		      VDX_SETUP_TIMEOUT_MS);
	if (ret < 0)
		return ret;
	if (hdr.request != VHOST_USER_GET_SHMEM_CONFIG ||
	    !(hdr.flags & VHOST_USER_REPLY_MASK) || ret != sizeof(cfg) ||
	    cfg.nregions > VHOST_USER_SHMEM_MAX_REGIONS) {
		VLOG_WARN("vdax: malformed GET_SHMEM_CONFIG reply, no DAX "
			  "window");
		return 0;
	}
	d->shm_size = cfg.nregions ? cfg.memory_sizes[0] : 0;
	return 0;
}

static int negotiate(struct vdx_dev *d, unsigned want_nq, bool want_shmem)
{
	uint64_t feat, want, pf, want_pf, qnum = 0;
	int ret;

	ret = vu_send(d->sock, VHOST_USER_SET_OWNER, 0, NULL, 0, NULL, 0);
	if (ret)
		return ret;
	ret = vu_get_u64(d, VHOST_USER_GET_FEATURES, &feat);
	if (ret)
		return ret;
	want = (1ull << VIRTIO_F_VERSION_1) |
	       (1ull << VIRTIO_RING_F_EVENT_IDX) |
	       (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
	d->features = feat & want;
	if (!(d->features & (1ull << VIRTIO_F_VERSION_1)))
		return -EPROTO;
	d->event_idx = d->features & (1ull << VIRTIO_RING_F_EVENT_IDX);
	d->nq = 1;
	if (d->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)) {
		ret = vu_get_u64(d, VHOST_USER_GET_PROTOCOL_FEATURES, &pf);
		if (ret)
			return ret;
		want_pf = (1ull << VHOST_USER_PROTOCOL_F_MQ) |
			  (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
			  (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ) |
			  (1ull << VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD);
		if (want_shmem)
			want_pf |= 1ull << VHOST_USER_PROTOCOL_F_SHMEM;
		d->proto = pf & want_pf;
		/* A window is useless without the channel that fills it. */
		if ((d->proto & (1ull << VHOST_USER_PROTOCOL_F_SHMEM)) &&
		    (~d->proto & ((1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ) |
				  (1ull << VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD) |
				  (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK))))
			d->proto &= ~(1ull << VHOST_USER_PROTOCOL_F_SHMEM);
		/* Not acked yet: send without NEED_REPLY. */
		ret = vu_send(d->sock, VHOST_USER_SET_PROTOCOL_FEATURES, 0,
			      &d->proto, sizeof(d->proto), NULL, 0);
		if (ret)
			return ret;
		if (d->proto & (1ull << VHOST_USER_PROTOCOL_F_MQ)) {
			ret = vu_get_u64(d, VHOST_USER_GET_QUEUE_NUM, &qnum);
			if (ret)
				return ret;
			/* qnum counts hiprio too */
			if (qnum >= 2 && want_nq > qnum - 1)
				want_nq = qnum - 1;
			d->nq = want_nq;
		}
		if (d->proto & (1ull << VHOST_USER_PROTOCOL_F_SHMEM)) {
			ret = get_shmem_config(d);
			if (ret)
				return ret;
		}
	}
	return vu_set_u64(d, VHOST_USER_SET_FEATURES, d->features);
}

static int setup_backend_channel(struct vdx_dev *d)
{
	int sv[2];
	int ret;

	if (!(d->proto & (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ)))
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	ret = vu_set(d, VHOST_USER_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1);
	close(sv[1]);
	if (ret) {
		close(sv[0]);
		return ret;
	}
	d->backend_fd = sv[0];
	return 0;
}

static int setup_memory(struct vdx_dev *d, unsigned qsize)
{
	struct vhost_user_mem_table mt = { .nregions = 1 };
	size_t rings = ring_bytes(qsize) * d->nvq;
	int ret;

	if (rings + 16 * VDX_PAGE > d->mem_size)
		return -EINVAL;
	d->memfd = memfd_create("vdax-guest-ram", MFD_CLOEXEC);
	if (d->memfd < 0)
		return -errno;
	if (ftruncate(d->memfd, d->mem_size) < 0)
		return -errno;
	d->mem = mmap(NULL, d->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      d->memfd, 0);
	if (d->mem == MAP_FAILED) {
		d->mem = NULL;
		return -errno;
	}
	mt.regions[0] = (struct vhost_user_mem_region){
		.guest_phys_addr = 0,
		.memory_size = d->mem_size,
		.userspace_addr = (uintptr_t)d->mem,
		.mmap_offset = 0,
	};
	ret = vu_set(d, VHOST_USER_SET_MEM_TABLE, &mt,
		     offsetof(struct vhost_user_mem_table, regions[1]), &d->memfd, 1);
	if (ret)
		return ret;
	return pool_init(&d->pool, d->mem + rings, rings, d->mem_size - rings);
}

int vdx_dev_open(const struct vdx_cfg *cfg, struct vdx_dev **out)
{
	unsigned qsize = cfg->queue_size ? cfg->queue_size : VDX_DEFAULT_QSIZE;
	unsigned want_nq = cfg->num_queues ? cfg->num_queues : 1;
	struct vdx_dev *d;
	int ret;

	if (qsize > 32768 || (qsize & (qsize - 1)) || want_nq > VDX_MAX_QUEUES)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->sock = d->backend_fd = d->memfd = d->wakefd = -1;
	d->mem_size = cfg->mem_size ? cfg->mem_size : VDX_DEFAULT_MEM;
	d->mem_size = (d->mem_size + VDX_PAGE - 1) & ~(size_t)(VDX_PAGE - 1);
	d->backend_req = cfg->backend_req;
	d->backend_opaque = cfg->backend_req_opaque;
	d->stopfd = eventfd(0, EFD_CLOEXEC);
	if (d->stopfd < 0) {
		ret = -errno;
		goto fail;
	}
	d->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->wakefd < 0) {
		ret = -errno;
		goto fail;
	}
	ret = connect_socket(cfg->socket_path);
	if (ret < 0)
		goto fail;
	d->sock = ret;
	ret = negotiate(d, want_nq, cfg->want_shmem);
	if (ret)
		goto fail;
	d->nvq = d->nq + 1;
	ret = setup_backend_channel(d);
	if (ret)
		goto fail;
	ret = setup_memory(d, qsize);
	if (ret)
		goto fail;
	d->vq = calloc(d->nvq, sizeof(*d->vq));
	if (!d->vq) {
		ret = -ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < d->nvq; i++)
		d->vq[i].kickfd = d->vq[i].callfd = -1;
	for (unsigned i = 0; i < d->nvq; i++) {
		ret = queue_init(d, &d->vq[i], i, qsize, i * ring_bytes(qsize));
		if (ret)
			goto fail;
	}
	for (unsigned i = 0; i < d->nvq; i++) {
		ret = queue_start(d, &d->vq[i]);
		if (ret)
			goto fail;
	}
	ret = vu_drain(d);
	if (ret)
		goto fail;
	ret = -pthread_create(&d->io_thread, NULL, io_thread, d);
	if (ret)
		goto fail;
	d->io_started = true;
	if (d->backend_fd >= 0) {
		ret = -pthread_create(&d->be_thread, NULL, backend_thread, d);
		if (ret)
			goto fail;
		d->be_started = true;
	}
	*out = d;
	return 0;
fail:
	if (ret == -ETIMEDOUT || ret == -EMSGSIZE)
		ret = -EPROTO;
	vdx_dev_close(d);
	return ret;
}

void vdx_dev_close(struct vdx_dev *d)
{
	uint64_t one = 1;

	if (!d)
		return;
	vdx_dev_kill(d);
	if (d->stopfd >= 0 && write(d->stopfd, &one, sizeof(one)) < 0)
		VLOG_WARN("vdax: stop: %s", strerror(errno));
	/* Wake a thread blocked on a backend that stopped mid-message. */
	if (d->backend_fd >= 0)
		shutdown(d->backend_fd, SHUT_RDWR);
	if (d->sock >= 0)
		shutdown(d->sock, SHUT_RDWR);
	if (d->io_started)
		pthread_join(d->io_thread, NULL);
	if (d->be_started)
		pthread_join(d->be_thread, NULL);
	if (d->rekicks)
		VLOG_INFO("vdax: the device was notified again %llu times "
			  "(requests with no completion for %u ms)",
			  (unsigned long long)d->rekicks, VDX_STALL_MS);
	if (d->sock >= 0)
		close(d->sock);
	if (d->backend_fd >= 0)
		close(d->backend_fd);
	for (unsigned i = 0; d->vq && i < d->nvq; i++) {
		struct vdx_queue *q = &d->vq[i];

		if (q->kickfd >= 0)
			close(q->kickfd);
		if (q->callfd >= 0)
			close(q->callfd);
		if (q->num) {
			free(q->inflight);
			pthread_mutex_destroy(&q->lock);
			pthread_cond_destroy(&q->space);
		}
	}
	free(d->vq);
	if (d->pool.bitmap)
		pool_destroy(&d->pool);
	if (d->mem)
		munmap(d->mem, d->mem_size);
	if (d->memfd >= 0)
		close(d->memfd);
	if (d->stopfd >= 0)
		close(d->stopfd);
	if (d->wakefd >= 0)
		close(d->wakefd);
	free(d);
}
