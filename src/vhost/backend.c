// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vhost-user backend: the message loop, the queue threads, the worker pool
 * and the backend channel.
 *
 * Threads: the message thread (the caller of vu_backend_serve) owns the
 * connection state; it is the only one to change memory tables, ring
 * configuration and kick fds, and it stops a queue's thread before touching
 * what that thread reads. Each started queue has a thread that waits on the
 * kick eventfd and pops chains; with a pool, workers serve them.
 *
 * Lock order: be->chan_lock, then be->reply_lock, then pool->lock, then
 * vq->lock (a leaf). The message thread never holds a vq->lock while
 * waiting for a thread.
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "common/clock.h"
#include "common/log.h"
#include "vhost/backend_internal.h"
#include "vhost/mem.h"
#include "vhost/virtq.h"

#define VU_CHAN_TIMEOUT_MS 30000

struct vu_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct vq_elem *head, *tail; /* protected by lock */
	bool stop;		     /* protected by lock */
	unsigned nthreads;
	pthread_t *threads;
};

struct vu_queue {
	struct vq vq;		/* call_fd is protected by vq.lock */
	struct vu_conn *conn;
	unsigned idx;
	int kick_fd;		/* message thread; read-only while running */
	int call_fd;		/* protected by vq.lock */
	int err_fd;
	int stop_fd;		/* eventfd that stops the queue thread */
	bool enabled;		/* SET_VRING_ENABLE */
	bool addr_set;		/* SET_VRING_ADDR seen */
	bool running;		/* thread exists */
	pthread_t thread;
	/* The lost-notification watch (queue_watch()); queue thread only. */
	bool owed;		/* the driver was owed a notification... */
	uint16_t owed_event;	/* ...with this used_event... */
	long long owed_since;	/* ...since then (ms) */
	unsigned renotified;	/* notifications sent again */
};

struct vu_conn {
	struct vu_backend *be;
	int sock;
	uint64_t features;	/* acked virtio features */
	uint64_t proto;		/* acked protocol features */
	bool owner;
	struct vu_mem *mem;	/* current table (message thread only) */
	unsigned nq;
	struct vu_queue *q;
	struct vu_pool *pool;
};

struct vu_backend {
	struct vu_backend_cfg cfg;
	struct vu_backend_ops ops;
	void *opaque;
	pthread_mutex_t chan_lock;
	int chan_fd;		/* protected by chan_lock */
	uint64_t chan_proto;	/* protected by chan_lock */
	struct vu_conn *conn;	/* protected by chan_lock */
	uint64_t chan_sent;	/* protected by chan_lock: requests sent */
	/*
	 * Replies come back in the order of the requests: the sender of
	 * request number chan_done reads the next one, the others wait.
	 */
	pthread_mutex_t reply_lock;
	pthread_cond_t reply_cond;
	uint64_t chan_done;	/* protected by reply_lock: replies read */
	unsigned chan_inflight;	/* protected by reply_lock */
	bool chan_broken;	/* written under reply_lock (atomic stores, as
				 * chan_request() reads it under chan_lock) */
};

/* ---- worker pool ------------------------------------------------------ */

static void queue_complete(struct vu_queue *q, struct vq_elem *e);

static void *pool_thread(void *arg)
{
	struct vu_pool *p = arg;

	pthread_setname_np(pthread_self(), "vdaxd-pool");
	for (;;) {
		struct vq_elem *e;

		pthread_mutex_lock(&p->lock);
		while (!p->head && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		e = p->head;
		if (!e) { /* stop and nothing left to do */
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		p->head = e->next;
		if (!p->head)
			p->tail = NULL;
		pthread_mutex_unlock(&p->lock);
		queue_complete(e->owner, e);
	}
}

static void pool_submit(struct vu_pool *p, struct vq_elem *e)
{
	e->next = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = e;
	else
		p->head = e;
	p->tail = e;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

/* Drains the queue of work before the threads exit. */
static void pool_free(struct vu_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p);
}

static int pool_new(unsigned n, struct vu_pool **out)
{
	struct vu_pool *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return -ENOMEM;
	p->threads = calloc(n, sizeof(*p->threads));
	if (!p->threads) {
		free(p);
		return -ENOMEM;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	for (; p->nthreads < n; p->nthreads++) {
		rc = pthread_create(&p->threads[p->nthreads], NULL, pool_thread, p);
		if (rc) {
			pool_free(p);
			return -rc;
		}
	}
	*out = p;
	return 0;
}

/* ---- queues ----------------------------------------------------------- */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void queue_notify(struct vu_queue *q)
{
	pthread_mutex_lock(&q->vq.lock);
	if (q->call_fd >= 0 && eventfd_write(q->call_fd, 1) < 0)
		VLOG_WARN("vhost: queue %u: call eventfd: %s", q->idx,
			  strerror(errno));
	pthread_mutex_unlock(&q->vq.lock);
}

static size_t iov_bytes(const struct iovec *iov, unsigned n)
{
	size_t sum = 0;

	for (unsigned i = 0; i < n; i++)
		sum += iov[i].iov_len; /* chain bytes fit: regions are mapped */
	return sum;
}

static void queue_complete(struct vu_queue *q, struct vq_elem *e)
{
	struct vu_backend *be = q->conn->be;
	size_t len = 0;

	if (!e->bad && be->ops.handle) {
		size_t room = iov_bytes(e->iov + e->rd_cnt, e->wr_cnt);

		len = be->ops.handle(be->opaque, e->iov, e->rd_cnt,
				     e->iov + e->rd_cnt, e->wr_cnt);
		if (len > room) {
			VLOG_ERR("vhost: handler wrote %zu bytes into %zu", len, room);
			len = room;
		}
		if (len > UINT32_MAX)
			len = UINT32_MAX;
	}
	if (vq_push(&q->vq, e, (uint32_t)len))
		queue_notify(q);
}

/* Pop and dispatch until the ring is empty and notifications are back on. */
static void queue_process(struct vu_queue *q)
{
	struct vu_pool *pool = q->conn->pool;
	struct vq_elem *e;
	int rc;

	do {
		vq_disable_notify(&q->vq);
		while ((rc = vq_pop(&q->vq, &e)) == 0) {
			e->owner = q;
			if (e->bad) /* already logged; nothing to serve */
				queue_complete(q, e);
			else if (pool)
				pool_submit(pool, e);
			else
				queue_complete(q, e);
		}
		if (rc != -EAGAIN)
			return; /* broken or out of memory: wait for a kick */
	} while (vq_enable_notify(&q->vq));
}

/*
 * The lost-notification watch. A driver owed a notification (EVENT_IDX:
 * used->idx past its used_event) that has not moved used_event for
 * VU_WATCH_MS is notified again, once per period while that lasts. Linux
 * guests under QEMU 7.2 (TCG) stop here now and then: in one boot in 30
 * to 60 of bench/guest/run.sh, on vdaxd and on QEMU's virtiofsd alike,
 * the guest set used_event on the high-priority queue, queued 1024 more
 * FORGETs, had them all completed and notified, and never reaped them;
 * its unmount then waits for them for good (QEMU's own `xp` of the ring:
 * used_event 0x0682, used->idx and avail->idx 0x0a82). Where the
 * notification is lost (QEMU or the guest) is not known; one more brings
 * the guest back. Returns the poll timeout: VU_WATCH_MS while a
 * notification is owed or requests are in flight (a pool thread may
 * complete one), else none.
 */
#define VU_WATCH_MS 100

static int queue_watch(struct vu_queue *q)
{
	long long now = vdx_mono_ms();
	bool owed, busy;
	uint16_t ev, used;

	pthread_mutex_lock(&q->vq.lock);
	/* Only EVENT_IDX says whether the driver has read what we used. */
	owed = q->vq.event_idx && vq_owed_notify_locked(&q->vq);
	ev = vq_used_event_locked(&q->vq);
	used = q->vq.used_idx;
	busy = q->vq.inflight != 0;
	if (!owed) {
		q->owed = false;
	} else if (!q->owed || ev != q->owed_event) {
		/* newly owed, or the driver is moving: start the clock */
		q->owed = true;
		q->owed_event = ev;
		q->owed_since = now;
	} else if (now - q->owed_since >= VU_WATCH_MS) {
		if (q->call_fd >= 0 && eventfd_write(q->call_fd, 1) == 0) {
			q->renotified++;
			VLOG_DEBUG("vhost: queue %u: driver silent for %lld ms "
				   "(used_event %u, used %u): notified again",
				   q->idx, now - q->owed_since, ev, used);
		}
		q->owed_since = now;
	}
	pthread_mutex_unlock(&q->vq.lock);
	return owed || busy ? VU_WATCH_MS : -1;
}

static void *queue_thread(void *arg)
{
	struct vu_queue *q = arg;
	struct pollfd p[2] = {
		{ .fd = q->kick_fd, .events = POLLIN },
		{ .fd = q->stop_fd, .events = POLLIN },
	};
	char name[16];

	snprintf(name, sizeof(name), "vdaxd-q%u", q->idx);
	pthread_setname_np(pthread_self(), name);
	q->owed = false;
	for (;;) {
		eventfd_t v;

		/* Buffers may be there before the first kick (restart). */
		queue_process(q);
		if (poll(p, 2, queue_watch(q)) < 0) {
			if (errno == EINTR)
				continue;
			VLOG_ERR("vhost: queue %u: poll: %s", q->idx, strerror(errno));
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			VLOG_WARN("vhost: queue %u: kick fd failed", q->idx);
			break;
		}
		if (p[0].revents & POLLIN)
			(void)eventfd_read(q->kick_fd, &v);
	}
	if (q->renotified)
		VLOG_INFO("vhost: queue %u: %u notifications sent again to a "
			  "silent driver", q->idx, q->renotified);
	q->renotified = 0;
	return NULL;
}

static bool queue_should_run(const struct vu_queue *q)
{
	bool need_enable = q->conn->features &
			   (1ull << VHOST_USER_F_PROTOCOL_FEATURES);

	return q->kick_fd >= 0 && q->addr_set && (q->enabled || !need_enable);
}

static void queue_stop(struct vu_queue *q)
{
	eventfd_t v;

	if (!q->running)
		return;
	(void)eventfd_write(q->stop_fd, 1);
	pthread_join(q->thread, NULL);
	(void)eventfd_read(q->stop_fd, &v);
	q->running = false;
}

static int queue_start(struct vu_queue *q)
{
	struct vu_conn *c = q->conn;
	int rc;

	if (c->be->cfg.thread_pool_size && !c->pool) {
		rc = pool_new(c->be->cfg.thread_pool_size, &c->pool);
		if (rc)
			return rc;
	}
	pthread_mutex_lock(&q->vq.lock);
	q->vq.event_idx = c->features & (1ull << VIRTIO_RING_F_EVENT_IDX);
	q->vq.indirect = c->features & (1ull << VIRTIO_RING_F_INDIRECT_DESC);
	rc = vq_map_rings_locked(&q->vq, c->mem);
	if (!rc)
		vq_start_locked(&q->vq);
	pthread_mutex_unlock(&q->vq.lock);
	if (rc) {
		VLOG_ERR("vhost: queue %u: rings not in guest memory", q->idx);
		return rc;
	}
	rc = pthread_create(&q->thread, NULL, queue_thread, q);
	if (rc)
		return -rc;
	q->running = true;
	VLOG_DEBUG("vhost: queue %u started", q->idx);
	return 0;
}

/* Start or stop @q's thread to match its configuration. */
static int queue_update(struct vu_queue *q)
{
	bool run = queue_should_run(q);

	if (run && !q->running)
		return queue_start(q);
	if (!run && q->running)
		queue_stop(q);
	return 0;
}

static void queue_reset(struct vu_queue *q)
{
	queue_stop(q);
	vq_wait_idle(&q->vq);
	close_fd(&q->kick_fd);
	close_fd(&q->err_fd);
	pthread_mutex_lock(&q->vq.lock);
	close_fd(&q->call_fd);
	vq_unmap_rings_locked(&q->vq);
	q->vq.num = 0;
	q->vq.last_avail_idx = 0;
	q->vq.used_idx = 0;
	q->vq.broken = false;
	pthread_mutex_unlock(&q->vq.lock);
	q->enabled = false;
	q->addr_set = false;
}

/* ---- backend channel -------------------------------------------------- */

/*
 * Swap the channel's fd. Requests still waiting for a reply on the old fd
 * are let finish first (chan_close() has shut it down, so they fail at
 * once): none may read a closed fd, or a reply on the new one.
 */
static void chan_set(struct vu_backend *be, int fd)
{
	int old;

	pthread_mutex_lock(&be->chan_lock);
	pthread_mutex_lock(&be->reply_lock);
	while (be->chan_inflight)
		pthread_cond_wait(&be->reply_cond, &be->reply_lock);
	be->chan_sent = be->chan_done = 0;
	__atomic_store_n(&be->chan_broken, false, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&be->reply_lock);
	old = be->chan_fd;
	be->chan_fd = fd;
	pthread_mutex_unlock(&be->chan_lock);
	if (old >= 0)
		close(old);
}

/* Wake a sender blocked on the channel, then drop the channel. */
static void chan_close(struct vu_backend *be)
{
	int fd;

	/* chan_fd only changes on the message thread, which is us. */
	fd = __atomic_load_n(&be->chan_fd, __ATOMIC_RELAXED);
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
	chan_set(be, -1);
}

static int chan_send(int fd, const struct vhost_user_msg *m, int pass_fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { (void *)m, sizeof(m->hdr) + m->hdr.size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (pass_fd >= 0) {
		struct cmsghdr *cm;

		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == iov.iov_len ? 0 : -EIO;
}

static int read_full_timeout(int fd, void *buf, size_t len, int timeout_ms)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int rc = poll(&p, 1, timeout_ms);

		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -errno;
		if (rc == 0)
			return -ETIMEDOUT;
		n = recv(fd, (char *)buf + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENOTCONN;
		got += (size_t)n;
	}
	return 0;
}

/*
 * Read and check the reply to the oldest request in flight: 0 with the
 * frontend's answer in @answer, or why there was no well-formed reply.
 */
static int chan_reply(int fd, uint32_t req, int *answer)
{
	struct {
		struct vhost_user_hdr hdr;
		uint64_t u64;
	} __attribute__((packed)) reply;
	int rc;

	rc = read_full_timeout(fd, &reply, sizeof(reply), VU_CHAN_TIMEOUT_MS);
	if (rc) {
		VLOG_ERR("vhost: no reply on the backend channel: %s",
			 strerror(-rc));
		return rc;
	}
	if (reply.hdr.request != req ||
	    !(reply.hdr.flags & VHOST_USER_REPLY_MASK) ||
	    reply.hdr.size != sizeof(uint64_t)) {
		VLOG_ERR("vhost: bad reply on the backend channel");
		return -EPROTO;
	}
	/* Non-zero is failure; a small value is taken to be an errno. */
	*answer = !reply.u64 ? 0 : reply.u64 < 4096 ? -(int)reply.u64 : -EIO;
	return 0;
}

/*
 * One request, NEED_REPLY. Several may be in flight at once, from several
 * threads: they are sent in ticket order under chan_lock, and each sender
 * then waits for its turn to read, since the frontend answers in the order
 * it read them. A missing or malformed reply leaves the stream out of step:
 * the channel is then broken, and every request fails with EPROTO until
 * the frontend sends a new one.
 */
static int chan_request(struct vu_backend *be, uint32_t req,
			const struct vhost_user_shmem_map *pl, int pass_fd)
{
	struct vhost_user_msg m = { 0 };
	uint64_t ticket;
	int fd, rc;

	pthread_mutex_lock(&be->chan_lock);
	if (be->chan_fd < 0) {
		pthread_mutex_unlock(&be->chan_lock);
		return -ENOTCONN;
	}
	if (!(be->chan_proto & (1ull << VHOST_USER_PROTOCOL_F_SHMEM)) ||
	    !(be->chan_proto & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK))) {
		pthread_mutex_unlock(&be->chan_lock);
		return -EOPNOTSUPP;
	}
	if (__atomic_load_n(&be->chan_broken, __ATOMIC_RELAXED)) {
		pthread_mutex_unlock(&be->chan_lock);
		return -EPROTO;
	}
	fd = be->chan_fd;
	m.hdr.request = req;
	m.hdr.flags = VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK;
	m.hdr.size = sizeof(*pl);
	m.payload.shmem_map = *pl;
	rc = chan_send(fd, &m, pass_fd);
	if (rc) {
		/* Part of a message may have gone: the stream is lost. */
		pthread_mutex_lock(&be->reply_lock);
		__atomic_store_n(&be->chan_broken, true, __ATOMIC_RELAXED);
		pthread_cond_broadcast(&be->reply_cond);
		pthread_mutex_unlock(&be->reply_lock);
		pthread_mutex_unlock(&be->chan_lock);
		return rc;
	}
	ticket = be->chan_sent++;
	pthread_mutex_lock(&be->reply_lock);
	be->chan_inflight++;
	pthread_mutex_unlock(&be->chan_lock);

	while (be->chan_done != ticket && !be->chan_broken)
		pthread_cond_wait(&be->reply_cond, &be->reply_lock);
	if (be->chan_broken) {
		rc = -EPROTO;
	} else {
		/* Our turn: the fd stays open while a request is in flight. */
		int answer = 0;

		pthread_mutex_unlock(&be->reply_lock);
		rc = chan_reply(fd, req, &answer);
		pthread_mutex_lock(&be->reply_lock);
		/* A frontend's answer, even a failure, leaves it in step. */
		if (rc)
			__atomic_store_n(&be->chan_broken, true,
					 __ATOMIC_RELAXED);
		else
			rc = answer;
		be->chan_done++;
	}
	be->chan_inflight--;
	pthread_cond_broadcast(&be->reply_cond);
	pthread_mutex_unlock(&be->reply_lock);
	return rc;
}

int vu_backend_shmem_map(struct vu_backend *be, uint8_t shmid, int fd,
			 uint64_t fd_offset, uint64_t shm_offset, uint64_t len,
			 uint64_t flags)
{
	struct vhost_user_shmem_map pl = {
		.shmid = shmid,
		.fd_offset = fd_offset,
		.shm_offset = shm_offset,
		.len = len,
		.flags = flags,
	};

	if (fd < 0)
		return -EBADF;
	return chan_request(be, VHOST_USER_BACKEND_SHMEM_MAP, &pl, fd);
}

int vu_backend_shmem_unmap(struct vu_backend *be, uint8_t shmid,
			   uint64_t shm_offset, uint64_t len)
{
	struct vhost_user_shmem_map pl = {
		.shmid = shmid,
		.shm_offset = shm_offset,
		.len = len,
	};

	return chan_request(be, VHOST_USER_BACKEND_SHMEM_UNMAP, &pl, -1);
}

/* ---- message handlers ------------------------------------------------- */

uint64_t vu_backend_offered_features(void)
{
	return (1ull << VIRTIO_F_VERSION_1) |
	       (1ull << VIRTIO_RING_F_EVENT_IDX) |
	       (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
	       (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
}

uint64_t vu_backend_offered_protocol_features(const struct vu_backend *be)
{
	uint64_t f = (1ull << VHOST_USER_PROTOCOL_F_MQ) |
		     (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
		     (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ) |
		     (1ull << VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD) |
		     (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS);

	if (be->cfg.shm_size)
		f |= 1ull << VHOST_USER_PROTOCOL_F_SHMEM;
	if (be->cfg.tag[0])
		f |= 1ull << VHOST_USER_PROTOCOL_F_CONFIG;
	return f;
}

struct vu_msg_ctx {
	const struct vhost_user_msg *m;
	int *fds;
	size_t nfds;
	struct vhost_user_msg *reply; /* handlers with a reply fill payload */
};

/* Take fds[i] from the message (the caller closes what is left). */
static int take_fd(struct vu_msg_ctx *x, size_t i)
{
	int fd = x->fds[i];

	x->fds[i] = -1;
	return fd;
}

static void reply_u64(struct vu_msg_ctx *x, uint64_t v)
{
	x->reply->hdr.size = sizeof(uint64_t);
	x->reply->payload.u64 = v;
}

static int queue_index(struct vu_conn *c, uint64_t idx, struct vu_queue **q)
{
	if (idx >= c->nq) {
		VLOG_WARN("vhost: queue index %llu out of range (%u queues)",
			  (unsigned long long)idx, c->nq);
		return -EINVAL;
	}
	*q = &c->q[idx];
	return 0;
}

static int h_get_features(struct vu_conn *c, struct vu_msg_ctx *x)
{
	reply_u64(x, vu_backend_offered_features());
	return 0;
}

static int h_set_features(struct vu_conn *c, struct vu_msg_ctx *x)
{
	uint64_t f = x->m->payload.u64;

	if (f & ~vu_backend_offered_features()) {
		VLOG_WARN("vhost: frontend acked features 0x%llx we never offered",
			  (unsigned long long)f);
		return -EINVAL;
	}
	c->features = f;
	return 0;
}

static int h_get_protocol_features(struct vu_conn *c, struct vu_msg_ctx *x)
{
	reply_u64(x, vu_backend_offered_protocol_features(c->be));
	return 0;
}

static int h_set_protocol_features(struct vu_conn *c, struct vu_msg_ctx *x)
{
	uint64_t f = x->m->payload.u64;

	if (f & ~vu_backend_offered_protocol_features(c->be))
		return -EINVAL;
	c->proto = f;
	pthread_mutex_lock(&c->be->chan_lock);
	c->be->chan_proto = f;
	pthread_mutex_unlock(&c->be->chan_lock);
	return 0;
}

static int h_set_owner(struct vu_conn *c, struct vu_msg_ctx *x)
{
	c->owner = true;
	return 0;
}

static void conn_reset(struct vu_conn *c);

/* A request blocked indefinitely (a lock wait) must not stall a drain. */
static void drain_begin(struct vu_conn *c)
{
	if (c->be->ops.cancel)
		c->be->ops.cancel(c->be->opaque, true);
}

static void drain_end(struct vu_conn *c)
{
	if (c->be->ops.cancel)
		c->be->ops.cancel(c->be->opaque, false);
}

static int h_reset_owner(struct vu_conn *c, struct vu_msg_ctx *x)
{
	conn_reset(c);
	return 0;
}

/* Point every configured ring at the new table. */
static void remap_rings(struct vu_conn *c)
{
	for (unsigned i = 0; i < c->nq; i++) {
		struct vu_queue *q = &c->q[i];
		int rc;

		if (!q->addr_set)
			continue;
		pthread_mutex_lock(&q->vq.lock);
		rc = vq_map_rings_locked(&q->vq, c->mem);
		pthread_mutex_unlock(&q->vq.lock);
		/* The ring keeps its old table (still mapped) until one fits. */
		if (rc && q->running)
			VLOG_WARN("vhost: queue %u: rings not in the new memory table", i);
	}
}

static void install_mem(struct vu_conn *c, struct vu_mem *m)
{
	vu_mem_put(c->mem);
	c->mem = m;
	remap_rings(c);
}

static int h_set_mem_table(struct vu_conn *c, struct vu_msg_ctx *x)
{
	const struct vhost_user_mem_table *t = &x->m->payload.memory;
	struct vu_mem *m;
	int rc = 0;

	if (t->nregions > VHOST_USER_MEM_REGIONS_MAX ||
	    x->m->hdr.size < 8 + t->nregions * sizeof(t->regions[0]) ||
	    x->nfds != t->nregions) {
		VLOG_WARN("vhost: SET_MEM_TABLE: %u regions, %zu fds, %u bytes",
			  t->nregions, x->nfds, x->m->hdr.size);
		return -EINVAL;
	}
	m = vu_mem_new();
	if (!m)
		return -ENOMEM;
	for (unsigned i = 0; i < t->nregions && !rc; i++)
		rc = vu_mem_add_fd(m, &t->regions[i], x->fds[i]);
	if (rc) {
		vu_mem_put(m);
		return rc;
	}
	install_mem(c, m);
	return 0;
}

static int h_get_max_mem_slots(struct vu_conn *c, struct vu_msg_ctx *x)
{
	reply_u64(x, VU_MEM_MAX_SLOTS);
	return 0;
}

static int h_add_mem_reg(struct vu_conn *c, struct vu_msg_ctx *x)
{
	struct vu_mem *m;
	int rc;

	if (!(c->proto & (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS)))
		return -EPROTO;
	m = vu_mem_clone(c->mem);
	if (!m)
		return -ENOMEM;
	rc = vu_mem_add_fd(m, &x->m->payload.mem_reg.region, x->fds[0]);
	if (rc) {
		vu_mem_put(m);
		return rc;
	}
	install_mem(c, m);
	return 0;
}

static int h_rem_mem_reg(struct vu_conn *c, struct vu_msg_ctx *x)
{
	struct vu_mem *m;
	int rc;

	if (!(c->proto & (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS)))
		return -EPROTO;
	m = vu_mem_clone(c->mem);
	if (!m)
		return -ENOMEM;
	rc = vu_mem_remove(m, &x->m->payload.mem_reg.region);
	if (rc) {
		vu_mem_put(m);
		return rc;
	}
	install_mem(c, m);
	return 0;
}

static int h_set_vring_num(struct vu_conn *c, struct vu_msg_ctx *x)
{
	const struct vhost_user_vring_state *s = &x->m->payload.state;
	struct vu_queue *q;
	int rc = queue_index(c, s->index, &q);

	if (rc)
		return rc;
	if (!vq_size_valid(s->num)) {
		VLOG_WARN("vhost: queue %u: bad size %u", s->index, s->num);
		return -EINVAL;
	}
	if (q->running)
		return -EBUSY;
	pthread_mutex_lock(&q->vq.lock);
	if (q->vq.inflight) {
		rc = -EBUSY;
	} else {
		q->vq.num = s->num;
		vq_unmap_rings_locked(&q->vq);
		q->addr_set = false;
	}
	pthread_mutex_unlock(&q->vq.lock);
	return rc;
}

static int h_set_vring_addr(struct vu_conn *c, struct vu_msg_ctx *x)
{
	const struct vhost_user_vring_addr *a = &x->m->payload.addr;
	struct vu_queue *q;
	int rc = queue_index(c, a->index, &q);

	if (rc)
		return rc;
	if (q->running)
		return -EBUSY;
	pthread_mutex_lock(&q->vq.lock);
	if (q->vq.inflight) {
		rc = -EBUSY;
		goto out;
	}
	q->vq.desc_uva = a->desc_user_addr;
	q->vq.avail_uva = a->avail_user_addr;
	q->vq.used_uva = a->used_user_addr;
	/* EVENT_IDX decides the ring sizes; features come before rings. */
	q->vq.event_idx = c->features & (1ull << VIRTIO_RING_F_EVENT_IDX);
	rc = vq_map_rings_locked(&q->vq, c->mem);
	if (rc)
		VLOG_WARN("vhost: queue %u: ring addresses not in guest memory",
			  a->index);
out:
	pthread_mutex_unlock(&q->vq.lock);
	q->addr_set = !rc;
	if (!rc)
		rc = queue_update(q);
	return rc;
}

static int h_set_vring_base(struct vu_conn *c, struct vu_msg_ctx *x)
{
	const struct vhost_user_vring_state *s = &x->m->payload.state;
	struct vu_queue *q;
	int rc = queue_index(c, s->index, &q);

	if (rc)
		return rc;
	if (s->num > UINT16_MAX)
		return -EINVAL;
	if (q->running)
		return -EBUSY;
	pthread_mutex_lock(&q->vq.lock);
	q->vq.last_avail_idx = (uint16_t)s->num;
	pthread_mutex_unlock(&q->vq.lock);
	return 0;
}

static int h_get_vring_base(struct vu_conn *c, struct vu_msg_ctx *x)
{
	const struct vhost_user_vring_state *s = &x->m->payload.state;
	struct vu_queue *q;
	int rc = queue_index(c, s->index, &q);

	if (rc)
		return rc;
	/* Stop the ring, then let its requests finish before we answer. */
	queue_stop(q);
	drain_begin(c);
	vq_wait_idle(&q->vq);
	drain_end(c);
	close_fd(&q->kick_fd);
	pthread_mutex_lock(&q->vq.lock);
	x->reply->payload.state.index = s->index;
	x->reply->payload.state.num = q->vq.last_avail_idx;
	close_fd(&q->call_fd);
	pthread_mutex_unlock(&q->vq.lock);
	x->reply->hdr.size = sizeof(x->reply->payload.state);
	return 0;
}

/* Shared by KICK/CALL/ERR: index and fd (or none) from the payload. */
static int vring_fd(struct vu_conn *c, struct vu_msg_ctx *x,
		    struct vu_queue **q, int *fd)
{
	uint64_t v = x->m->payload.u64;
	bool nofd = v & VHOST_USER_VRING_NOFD_MASK;
	int rc;

	if (v & ~(VHOST_USER_VRING_IDX_MASK | VHOST_USER_VRING_NOFD_MASK))
		return -EINVAL;
	rc = queue_index(c, v & VHOST_USER_VRING_IDX_MASK, q);
	if (rc)
		return rc;
	if (nofd != (x->nfds == 0))
		return -EINVAL;
	*fd = nofd ? -1 : take_fd(x, 0);
	return 0;
}

static int h_set_vring_kick(struct vu_conn *c, struct vu_msg_ctx *x)
{
	struct vu_queue *q;
	int fd, rc = vring_fd(c, x, &q, &fd);

	if (rc)
		return rc;
	if (fd < 0) /* we have no polling mode */
		return -EOPNOTSUPP;
	queue_stop(q); /* a new kick fd restarts the thread */
	close_fd(&q->kick_fd);
	q->kick_fd = fd;
	return queue_update(q);
}

static int h_set_vring_call(struct vu_conn *c, struct vu_msg_ctx *x)
{
	struct vu_queue *q;
	int fd, rc = vring_fd(c, x, &q, &fd);
	bool owed;

	if (rc)
		return rc;
	pthread_mutex_lock(&q->vq.lock);
	close_fd(&q->call_fd);
	q->call_fd = fd;
	/*
	 * QEMU swaps the call fd while the guest masks and unmasks the
	 * queue's MSI-X vector (the masked notifier, then the irqfd or its
	 * own handler), and does not wait for us to take the new one before
	 * it looks at the masked notifier for a notification that came
	 * meanwhile. One we send to the masked notifier after it looked is
	 * never delivered, and with EVENT_IDX nothing is sent again until
	 * the driver moves used_event: its queue stalls for good. So if the
	 * driver may be owed one, the new fd gets it (at worst one spurious
	 * interrupt per swap, which the driver's handler finds nothing for).
	 */
	owed = fd >= 0 && vq_owed_notify_locked(&q->vq);
	if (owed && eventfd_write(fd, 1) < 0)
		VLOG_WARN("vhost: queue %u: call eventfd: %s", q->idx,
			  strerror(errno));
	pthread_mutex_unlock(&q->vq.lock);
	VLOG_DEBUG("vhost: queue %u: call fd %s%s", q->idx,
		   fd >= 0 ? "replaced" : "removed",
		   owed ? ", notified on the new one" : "");
	return 0;
}

static int h_set_vring_err(struct vu_conn *c, struct vu_msg_ctx *x)
{
	struct vu_queue *q;
	int fd, rc = vring_fd(c, x, &q, &fd);

	if (rc)
		return rc;
	close_fd(&q->err_fd);
	q->err_fd = fd;
	return 0;
}

static int h_get_queue_num(struct vu_conn *c, struct vu_msg_ctx *x)
{
	reply_u64(x, c->nq);
	return 0;
}

static int h_set_vring_enable(struct vu_conn *c, struct vu_msg_ctx *x)
{
	const struct vhost_user_vring_state *s = &x->m->payload.state;
	struct vu_queue *q;
	int rc = queue_index(c, s->index, &q);

	if (rc)
		return rc;
	if (s->num > 1)
		return -EINVAL;
	q->enabled = s->num;
	return queue_update(q);
}

static int h_set_backend_req_fd(struct vu_conn *c, struct vu_msg_ctx *x)
{
	if (!(c->proto & (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ)))
		return -EPROTO;
	chan_close(c->be);
	chan_set(c->be, take_fd(x, 0));
	return 0;
}

static int h_get_shmem_config(struct vu_conn *c, struct vu_msg_ctx *x)
{
	struct vhost_user_shmem_config *cfg = &x->reply->payload.shmem_config;

	memset(cfg, 0, sizeof(*cfg));
	if (c->be->cfg.shm_size) {
		cfg->nregions = 1;
		cfg->memory_sizes[0] = c->be->cfg.shm_size;
	}
	x->reply->hdr.size = sizeof(*cfg);
	return 0;
}

/*
 * GET_CONFIG: the virtio-fs config space (tag, num_request_queues) from
 * @offset for @size bytes. A range outside it is answered with the header
 * and size 0, which a frontend takes as a failure (it must get a reply).
 */
static int h_get_config(struct vu_conn *c, struct vu_msg_ctx *x)
{
	const struct vhost_user_config *in = &x->m->payload.config;
	struct vhost_user_config *out = &x->reply->payload.config;
	struct virtio_fs_config_le fc;
	uint32_t len = x->m->hdr.size;

	if (!(c->proto & (1ull << VHOST_USER_PROTOCOL_F_CONFIG)))
		return -EPROTO;
	memset(out, 0, sizeof(*out));
	x->reply->hdr.size = VHOST_USER_CONFIG_HDR;
	if (len < VHOST_USER_CONFIG_HDR || in->size > VHOST_USER_CONFIG_MAX ||
	    len != VHOST_USER_CONFIG_HDR + in->size ||
	    in->offset > sizeof(fc) || in->size > sizeof(fc) - in->offset) {
		VLOG_WARN("vhost: GET_CONFIG: bad range %u+%u (payload %u)",
			  in->offset, in->size, len);
		out->offset = in->offset;
		return 0;
	}
	memset(&fc, 0, sizeof(fc));
	memcpy(fc.tag, c->be->cfg.tag, strnlen(c->be->cfg.tag, VU_TAG_MAX));
	fc.num_request_queues = htole32(c->be->cfg.num_request_queues);
	out->offset = in->offset;
	out->size = in->size;
	out->flags = in->flags;
	memcpy(out->region, (const uint8_t *)&fc + in->offset, in->size);
	x->reply->hdr.size = VHOST_USER_CONFIG_HDR + in->size;
	return 0;
}

#define SZ_VAR UINT32_MAX
struct vu_handler {
	int (*fn)(struct vu_conn *c, struct vu_msg_ctx *x);
	const char *name;
	uint32_t size;	 /* exact payload size, or SZ_VAR: handler checks */
	uint32_t size_max;
	uint8_t fds_min, fds_max;
	bool replies;	 /* sends a payload reply (no separate ack) */
};

#define H(req, f, sz, fmin, fmax, rep)                                        \
	[VHOST_USER_##req] = { f, #req, sz, sz, fmin, fmax, rep }

static const struct vu_handler handlers[] = {
	H(GET_FEATURES, h_get_features, 0, 0, 0, true),
	H(SET_FEATURES, h_set_features, 8, 0, 0, false),
	H(SET_OWNER, h_set_owner, 0, 0, 0, false),
	H(RESET_OWNER, h_reset_owner, 0, 0, 0, false),
	[VHOST_USER_SET_MEM_TABLE] = { h_set_mem_table, "SET_MEM_TABLE", SZ_VAR,
				       sizeof(struct vhost_user_mem_table), 0,
				       VHOST_USER_MEM_REGIONS_MAX, false },
	H(SET_VRING_NUM, h_set_vring_num, 8, 0, 0, false),
	H(SET_VRING_ADDR, h_set_vring_addr, 40, 0, 0, false),
	H(SET_VRING_BASE, h_set_vring_base, 8, 0, 0, false),
	H(GET_VRING_BASE, h_get_vring_base, 8, 0, 0, true),
	H(SET_VRING_KICK, h_set_vring_kick, 8, 0, 1, false),
	H(SET_VRING_CALL, h_set_vring_call, 8, 0, 1, false),
	H(SET_VRING_ERR, h_set_vring_err, 8, 0, 1, false),
	H(GET_PROTOCOL_FEATURES, h_get_protocol_features, 0, 0, 0, true),
	H(SET_PROTOCOL_FEATURES, h_set_protocol_features, 8, 0, 0, false),
	H(GET_QUEUE_NUM, h_get_queue_num, 0, 0, 0, true),
	H(SET_VRING_ENABLE, h_set_vring_enable, 8, 0, 0, false),
	H(SET_BACKEND_REQ_FD, h_set_backend_req_fd, 0, 1, 1, false),
	H(GET_MAX_MEM_SLOTS, h_get_max_mem_slots, 0, 0, 0, true),
	H(ADD_MEM_REG, h_add_mem_reg, 40, 1, 1, false),
	/* QEMU sends the region's fd along; we don't need it. */
	H(REM_MEM_REG, h_rem_mem_reg, 40, 0, 1, false),
	H(GET_SHMEM_CONFIG, h_get_shmem_config, 0, 0, 0, true),
	[VHOST_USER_GET_CONFIG] = { h_get_config, "GET_CONFIG", SZ_VAR,
				    VHOST_USER_CONFIG_HDR + VHOST_USER_CONFIG_MAX,
				    0, 0, true },
};

static int send_reply(struct vu_conn *c, struct vhost_user_msg *r)
{
	size_t len = sizeof(r->hdr) + r->hdr.size;
	ssize_t n;

	do
		n = send(c->sock, r, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

static void close_fds(int *fds, size_t nfds)
{
	for (size_t i = 0; i < nfds; i++)
		close_fd(&fds[i]);
}

/* Checks the header and the payload size and fd count against the table. */
static int check_msg(const struct vhost_user_msg *m, size_t len, size_t nfds,
		     const struct vu_handler **hp)
{
	const struct vu_handler *h;
	uint32_t req = m->hdr.request;

	if ((m->hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION ||
	    (m->hdr.flags & ~(VHOST_USER_VERSION_MASK | VHOST_USER_NEED_REPLY_MASK))) {
		VLOG_WARN("vhost: request %u: bad flags 0x%x", req, m->hdr.flags);
		return -EPROTO;
	}
	if (m->hdr.size != len - sizeof(m->hdr)) {
		VLOG_WARN("vhost: request %u: size %u but %zu bytes", req,
			  m->hdr.size, len - sizeof(m->hdr));
		return -EPROTO;
	}
	if (req >= sizeof(handlers) / sizeof(handlers[0]) || !handlers[req].fn) {
		VLOG_WARN("vhost: unsupported request %u", req);
		return -EOPNOTSUPP;
	}
	h = &handlers[req];
	*hp = h;
	if (h->size == SZ_VAR ? m->hdr.size > h->size_max : m->hdr.size != h->size) {
		VLOG_WARN("vhost: %s: payload of %u bytes", h->name, m->hdr.size);
		return -EINVAL;
	}
	if (nfds < h->fds_min || nfds > h->fds_max) {
		VLOG_WARN("vhost: %s: %zu fds", h->name, nfds);
		return -EINVAL;
	}
	return 0;
}

int vu_handle_msg(struct vu_conn *c, const void *buf, size_t len, int *fds,
		  size_t nfds)
{
	struct vhost_user_msg m, reply;
	const struct vu_handler *h = NULL;
	struct vu_msg_ctx x = { &m, fds, nfds, &reply };
	bool need_ack = false;
	int rc;

	if (len < sizeof(m.hdr) || len > sizeof(m)) {
		close_fds(fds, nfds);
		return -EPROTO;
	}
	memset(&m, 0, sizeof(m));
	memcpy(&m, buf, len);
	need_ack = m.hdr.flags & VHOST_USER_NEED_REPLY_MASK;
	rc = check_msg(&m, len, nfds, &h);
	memset(&reply.hdr, 0, sizeof(reply.hdr));
	if (!rc) {
		VLOG_DEBUG("vhost: %s", h->name);
		rc = h->fn(c, &x);
		if (rc)
			VLOG_WARN("vhost: %s failed: %s", h->name, strerror(-rc));
	}
	close_fds(fds, nfds);

	reply.hdr.request = m.hdr.request;
	reply.hdr.flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK;
	if (!rc && h->replies)
		return send_reply(c, &reply);
	if (need_ack && !(h && h->replies)) {
		/* REPLY_ACK: 0 is success, anything else failure. */
		reply.hdr.size = sizeof(uint64_t);
		reply.payload.u64 = rc ? 1 : 0;
		int src = send_reply(c, &reply);

		return src ? src : 0;
	}
	/* Failed without an ack to carry the error: drop the frontend. */
	return rc;
}

/* ---- connection ------------------------------------------------------- */

unsigned vu_conn_running_queues(struct vu_conn *c)
{
	unsigned n = 0;

	for (unsigned i = 0; i < c->nq; i++)
		n += c->q[i].running;
	return n;
}

/* Back to the state of a fresh connection (RESET_OWNER, disconnect). */
static void conn_reset(struct vu_conn *c)
{
	for (unsigned i = 0; i < c->nq; i++)
		queue_stop(&c->q[i]);
	/* Wake a worker waiting on the backend channel, then let every
	 * request finish: workers push into rings that are still mapped. */
	chan_close(c->be);
	drain_begin(c);
	for (unsigned i = 0; i < c->nq; i++)
		vq_wait_idle(&c->q[i].vq);
	drain_end(c);
	pool_free(c->pool);
	c->pool = NULL;
	for (unsigned i = 0; i < c->nq; i++)
		queue_reset(&c->q[i]);
	pthread_mutex_lock(&c->be->chan_lock);
	c->be->chan_proto = 0;
	pthread_mutex_unlock(&c->be->chan_lock);
	vu_mem_put(c->mem);
	c->mem = NULL;
	c->features = 0;
	c->proto = 0;
	c->owner = false;
	if (c->be->ops.reset)
		c->be->ops.reset(c->be->opaque);
}

int vu_conn_new(struct vu_backend *be, int sock, struct vu_conn **out)
{
	struct vu_conn *c = calloc(1, sizeof(*c));
	int rc = -ENOMEM;

	if (!c)
		goto fail;
	c->be = be;
	c->sock = sock;
	c->nq = 1 + be->cfg.num_request_queues;
	c->q = calloc(c->nq, sizeof(*c->q));
	if (!c->q)
		goto fail;
	for (unsigned i = 0; i < c->nq; i++) {
		struct vu_queue *q = &c->q[i];

		q->conn = c;
		q->idx = i;
		q->kick_fd = q->call_fd = q->err_fd = -1;
		q->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		rc = q->stop_fd < 0 ? -errno : vq_init(&q->vq);
		if (rc) {
			/* Unwind the queues that were set up. */
			if (q->stop_fd >= 0)
				close(q->stop_fd);
			while (i--) {
				close(c->q[i].stop_fd);
				vq_destroy(&c->q[i].vq);
			}
			free(c->q);
			goto fail;
		}
	}
	pthread_mutex_lock(&be->chan_lock);
	if (be->conn)
		rc = -EBUSY;
	else
		be->conn = c;
	pthread_mutex_unlock(&be->chan_lock);
	if (rc) {
		c->nq = 0;
		for (unsigned i = 0; i < 1 + be->cfg.num_request_queues; i++) {
			close(c->q[i].stop_fd);
			vq_destroy(&c->q[i].vq);
		}
		free(c->q);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	free(c);
	close(sock);
	return rc;
}

void vu_conn_free(struct vu_conn *c)
{
	if (!c)
		return;
	conn_reset(c);
	for (unsigned i = 0; i < c->nq; i++) {
		close(c->q[i].stop_fd);
		vq_destroy(&c->q[i].vq);
	}
	pthread_mutex_lock(&c->be->chan_lock);
	c->be->conn = NULL;
	pthread_mutex_unlock(&c->be->chan_lock);
	close(c->sock);
	free(c->q);
	free(c);
}

/* ---- socket reading --------------------------------------------------- */

/*
 * Read one message. Returns its length, 0 on orderly EOF, or -errno.
 * *@nfds fds were received into @fds (the caller owns them either way).
 */
static ssize_t read_msg(int sock, struct vhost_user_msg *m, int *fds,
			size_t *nfds)
{
	char cbuf[CMSG_SPACE(VHOST_USER_MAX_FDS * sizeof(int))];
	struct iovec iov = { m, sizeof(m->hdr) };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	ssize_t n;
	int rc;

	*nfds = 0;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t k;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (k > VHOST_USER_MAX_FDS - *nfds)
			k = VHOST_USER_MAX_FDS - *nfds;
		memcpy(fds + *nfds, CMSG_DATA(cm), k * sizeof(int));
		*nfds += k;
	}
	if (n == 0)
		return 0;
	if (mh.msg_flags & MSG_CTRUNC) {
		VLOG_WARN("vhost: too many fds in one message");
		return -EPROTO;
	}
	if ((size_t)n != sizeof(m->hdr))
		return -EPROTO;
	if (m->hdr.size > sizeof(m->payload)) {
		VLOG_WARN("vhost: request %u: payload of %u bytes", m->hdr.request,
			  m->hdr.size);
		return -EMSGSIZE;
	}
	rc = read_full_timeout(sock, &m->payload, m->hdr.size, -1);
	if (rc)
		return rc == -ENOTCONN ? -EPROTO : rc;
	return (ssize_t)(sizeof(m->hdr) + m->hdr.size);
}

/* ---- public API ------------------------------------------------------- */

int vu_backend_new(const struct vu_backend_cfg *cfg,
		   const struct vu_backend_ops *ops, void *opaque,
		   struct vu_backend **out)
{
	struct vu_backend *be;

	if (!cfg || !ops || !out || cfg->num_request_queues < 1 ||
	    cfg->num_request_queues > 255)
		return -EINVAL;
	be = calloc(1, sizeof(*be));
	if (!be)
		return -ENOMEM;
	be->cfg = *cfg;
	be->ops = *ops;
	be->opaque = opaque;
	be->chan_fd = -1;
	pthread_mutex_init(&be->chan_lock, NULL);
	pthread_mutex_init(&be->reply_lock, NULL);
	pthread_cond_init(&be->reply_cond, NULL);
	*out = be;
	return 0;
}

int vu_backend_serve(struct vu_backend *be, int conn_fd)
{
	struct vu_conn *c;
	int rc = vu_conn_new(be, conn_fd, &c);

	if (rc)
		return rc;
	for (;;) {
		struct vhost_user_msg m;
		int fds[VHOST_USER_MAX_FDS];
		size_t nfds;
		ssize_t n = read_msg(c->sock, &m, fds, &nfds);

		if (n <= 0) {
			close_fds(fds, nfds);
			rc = (int)n;
			break;
		}
		rc = vu_handle_msg(c, &m, (size_t)n, fds, nfds);
		if (rc) {
			VLOG_ERR("vhost: dropping the frontend: %s", strerror(-rc));
			break;
		}
	}
	if (!rc)
		VLOG_INFO("vhost: frontend disconnected");
	vu_conn_free(c);
	return rc;
}

void vu_backend_free(struct vu_backend *be)
{
	if (!be)
		return;
	chan_set(be, -1);
	pthread_cond_destroy(&be->reply_cond);
	pthread_mutex_destroy(&be->reply_lock);
	pthread_mutex_destroy(&be->chan_lock);
	free(be);
}
