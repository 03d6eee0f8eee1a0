// SPDX-License-Identifier: GPL-2.0-or-later
/* A small vhost-user frontend for tests: see fake_frontend.h. */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_config.h>

#include "fake_frontend.h"
#include "vhost/virtq.h"

#define RING_AREA 0x4000 /* desc 4 KiB, avail, used: all fit in 16 KiB */

struct ff_queue {
	pthread_mutex_t lock;	/* protects everything below */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx;
	uint16_t last_used;
	bool done[FF_QSIZE];
	uint32_t done_len[FF_QSIZE];
	bool slot_busy[FF_SLOTS];
	int kick, call;
	uint64_t base; /* gpa of the queue area */
};

struct ff {
	int sock;
	int ram_fd;
	int chan;	/* our end of the backend channel */
	uint8_t *ram;
	uint64_t ram_size;
	uint64_t features, proto;
	struct ff_opts opts;
	unsigned nq;
	struct ff_queue q[FF_MAX_QUEUES];
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int ff_new(int sock, struct ff **out)
{
	struct ff *f = calloc(1, sizeof(*f));

	if (!f) {
		close(sock);
		return -ENOMEM;
	}
	f->sock = sock;
	f->ram_fd = -1;
	f->chan = -1;
	for (unsigned i = 0; i < FF_MAX_QUEUES; i++) {
		pthread_mutex_init(&f->q[i].lock, NULL);
		f->q[i].kick = f->q[i].call = -1;
	}
	*out = f;
	return 0;
}

int ff_connect(const char *path, int timeout_ms, struct ff **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long end = now_ms() + timeout_ms;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	for (;;) {
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (s < 0)
			return -errno;
		if (!connect(s, (struct sockaddr *)&sa, sizeof(sa)))
			return ff_new(s, out);
		close(s);
		if (now_ms() > end)
			return -ETIMEDOUT;
		usleep(20000);
	}
}

int ff_sock(struct ff *f)
{
	return f->sock;
}

uint64_t ff_features(struct ff *f)
{
	return f->features;
}

uint64_t ff_protocol(struct ff *f)
{
	return f->proto;
}

uint64_t ff_ram_size(struct ff *f)
{
	return f->ram_size;
}

int ff_send(struct ff *f, uint32_t req, uint32_t flags, const void *pl,
	    uint32_t size, const int *fds, size_t nfds)
{
	struct vhost_user_msg m = { 0 };
	char cbuf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)] = { 0 };
	struct iovec iov = { &m, sizeof(m.hdr) + size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (size > sizeof(m.payload) || nfds > VHOST_USER_MAX_FDS)
		return -EINVAL;
	m.hdr.request = req;
	m.hdr.flags = flags;
	m.hdr.size = size;
	if (size)
		memcpy(&m.payload, pl, size);
	if (nfds) {
		struct cmsghdr *cm;

		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	if (sendmsg(f->sock, &mh, MSG_NOSIGNAL) != (ssize_t)iov.iov_len)
		return errno ? -errno : -EIO;
	return 0;
}

static int read_full(int fd, void *buf, size_t len, long long end)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = end - now_ms();
		ssize_t n;

		if (left < 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)left) == 0)
			return -ETIMEDOUT;
		n = recv(fd, (char *)buf + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == ECONNRESET ? -ENOTCONN : -errno;
		if (n == 0)
			return -ENOTCONN;
		got += (size_t)n;
	}
	return 0;
}

int ff_recv(struct ff *f, struct vhost_user_msg *m, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;
	int rc = read_full(f->sock, &m->hdr, sizeof(m->hdr), end);

	if (rc)
		return rc;
	if (m->hdr.size > sizeof(m->payload))
		return -EMSGSIZE;
	rc = read_full(f->sock, &m->payload, m->hdr.size, end);
	return rc ? rc : (int)m->hdr.size;
}

int ff_call(struct ff *f, uint32_t req, const void *pl, uint32_t size,
	    const int *fds, size_t nfds)
{
	struct vhost_user_msg r;
	int rc = ff_send(f, req, VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK,
			 pl, size, fds, nfds);

	if (rc)
		return rc;
	rc = ff_recv(f, &r, 5000);
	if (rc < 0)
		return rc;
	if (rc != 8 || r.hdr.request != req || !(r.hdr.flags & VHOST_USER_REPLY_MASK))
		return -EPROTO;
	return r.payload.u64 ? (int)(r.payload.u64 > 1000 ? 1000 : r.payload.u64) : 0;
}

/* A request with a u64 reply. */
static int get_u64(struct ff *f, uint32_t req, uint64_t *v)
{
	struct vhost_user_msg r;
	int rc = ff_send(f, req, VHOST_USER_VERSION, NULL, 0, NULL, 0);

	if (rc)
		return rc;
	rc = ff_recv(f, &r, 5000);
	if (rc < 0)
		return rc;
	if (rc != 8 || r.hdr.request != req)
		return -EPROTO;
	*v = r.payload.u64;
	return 0;
}

/* Without REPLY_ACK, messages are fire and forget. */
static int set_msg(struct ff *f, uint32_t req, const void *pl, uint32_t size,
		   const int *fds, size_t nfds)
{
	if (f->proto & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK)) {
		int rc = ff_call(f, req, pl, size, fds, nfds);

		return rc > 0 ? -EIO : rc;
	}
	return ff_send(f, req, VHOST_USER_VERSION, pl, size, fds, nfds);
}

int ff_swap_call(struct ff *f, unsigned qi)
{
	struct ff_queue *q = &f->q[qi];
	uint64_t v = qi;
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), rc;

	if (fd < 0)
		return -errno;
	rc = set_msg(f, VHOST_USER_SET_VRING_CALL, &v, 8, &fd, 1);
	if (rc) {
		close(fd);
		return rc;
	}
	pthread_mutex_lock(&q->lock);
	close(q->call);
	q->call = fd;
	pthread_mutex_unlock(&q->lock);
	return fd;
}

void ff_set_used_event(struct ff *f, unsigned qi, uint16_t v)
{
	struct ff_queue *q = &f->q[qi];

	/* used_event lives just past the avail ring */
	__atomic_store_n(&q->avail->ring[FF_QSIZE], v, __ATOMIC_SEQ_CST);
}

uint16_t ff_used_idx(struct ff *f, unsigned qi)
{
	return __atomic_load_n(&f->q[qi].used->idx, __ATOMIC_ACQUIRE);
}

int ff_get_vring_base(struct ff *f, unsigned q, uint32_t *base)
{
	struct vhost_user_vring_state s = { q, 0 };
	struct vhost_user_msg r;
	int rc = ff_send(f, VHOST_USER_GET_VRING_BASE, VHOST_USER_VERSION, &s,
			 sizeof(s), NULL, 0);

	if (rc)
		return rc;
	rc = ff_recv(f, &r, 10000);
	if (rc < 0)
		return rc;
	if (rc != 8 || r.payload.state.index != q)
		return -EPROTO;
	*base = r.payload.state.num;
	return 0;
}

static int alloc_ram(struct ff *f)
{
	f->ram_size = (uint64_t)f->nq * FF_QAREA;
	f->ram_fd = memfd_create("ff-guest-ram", MFD_CLOEXEC);
	if (f->ram_fd < 0)
		return -errno;
	if (ftruncate(f->ram_fd, (off_t)f->ram_size))
		return -errno;
	f->ram = mmap(NULL, f->ram_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      f->ram_fd, 0);
	if (f->ram == MAP_FAILED) {
		f->ram = NULL;
		return -errno;
	}
	return 0;
}

static int share_ram(struct ff *f)
{
	struct vhost_user_mem_region r[2];
	unsigned n = f->opts.split_ram ? 2 : 1;
	uint64_t part = f->ram_size / n;
	int fds[2] = { f->ram_fd, f->ram_fd };

	for (unsigned i = 0; i < n; i++) {
		r[i].guest_phys_addr = i * part;
		r[i].memory_size = part;
		r[i].userspace_addr = (uintptr_t)f->ram + i * part;
		r[i].mmap_offset = i * part;
	}
	if (f->opts.mem_slots) {
		for (unsigned i = 0; i < n; i++) {
			struct vhost_user_mem_reg mr = { 0, r[i] };
			int rc = set_msg(f, VHOST_USER_ADD_MEM_REG, &mr, sizeof(mr),
					 fds, 1);

			if (rc)
				return rc;
		}
		return 0;
	} else {
		struct vhost_user_mem_table t = { .nregions = n };

		memcpy(t.regions, r, n * sizeof(r[0]));
		return set_msg(f, VHOST_USER_SET_MEM_TABLE, &t, 8 + n * sizeof(r[0]),
			       fds, n);
	}
}

static int setup_queue(struct ff *f, unsigned i)
{
	struct ff_queue *q = &f->q[i];
	struct vhost_user_vring_state s = { i, FF_QSIZE };
	struct vhost_user_vring_addr a = { .index = i };
	uint64_t v = i;
	int rc;

	q->base = (uint64_t)i * FF_QAREA;
	memset(f->ram + q->base, 0, RING_AREA);
	q->desc = (struct vring_desc *)(f->ram + q->base);
	q->avail = (struct vring_avail *)(f->ram + q->base + 0x1000);
	q->used = (struct vring_used *)(f->ram + q->base + 0x2000);
	q->avail_idx = q->last_used = 0;
	memset(q->done, 0, sizeof(q->done));
	memset(q->slot_busy, 0, sizeof(q->slot_busy));
	if (q->kick >= 0)
		close(q->kick);
	if (q->call >= 0)
		close(q->call);
	q->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	q->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->kick < 0 || q->call < 0)
		return -errno;
	a.desc_user_addr = (uintptr_t)q->desc;
	a.avail_user_addr = (uintptr_t)q->avail;
	a.used_user_addr = (uintptr_t)q->used;
	rc = set_msg(f, VHOST_USER_SET_VRING_NUM, &s, sizeof(s), NULL, 0);
	s.num = 0;
	if (!rc)
		rc = set_msg(f, VHOST_USER_SET_VRING_BASE, &s, sizeof(s), NULL, 0);
	if (!rc)
		rc = set_msg(f, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
	if (!rc)
		rc = set_msg(f, VHOST_USER_SET_VRING_CALL, &v, 8, &q->call, 1);
	if (!rc)
		rc = set_msg(f, VHOST_USER_SET_VRING_KICK, &v, 8, &q->kick, 1);
	s.num = 1;
	if (!rc && (f->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)))
		rc = set_msg(f, VHOST_USER_SET_VRING_ENABLE, &s, sizeof(s), NULL, 0);
	return rc;
}

static int setup_rings(struct ff *f)
{
	int rc = share_ram(f);

	for (unsigned i = 0; i < f->nq && !rc; i++)
		rc = setup_queue(f, i);
	return rc;
}

static int open_channel(struct ff *f)
{
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	rc = set_msg(f, VHOST_USER_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1);
	close(sv[1]);
	if (rc) {
		close(sv[0]);
		return rc;
	}
	if (f->chan >= 0)
		close(f->chan);
	f->chan = sv[0];
	return 0;
}

int ff_chan_fd(struct ff *f)
{
	return f->chan;
}

int ff_chan_recv(struct ff *f, struct vhost_user_msg *m, int *fd, int timeout_ms)
{
	char cbuf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
	struct iovec iov = { &m->hdr, sizeof(m->hdr) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct pollfd p = { .fd = f->chan, .events = POLLIN };
	struct cmsghdr *cm;
	ssize_t n;

	*fd = -1;
	if (poll(&p, 1, timeout_ms) != 1)
		return -ETIMEDOUT;
	n = recvmsg(f->chan, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	if (n != (ssize_t)sizeof(m->hdr))
		return n == 0 ? -ENOTCONN : -EPROTO;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(cm), sizeof(int));
	if (m->hdr.size > sizeof(m->payload))
		return -EMSGSIZE;
	n = read_full(f->chan, &m->payload, m->hdr.size, now_ms() + timeout_ms);
	return n ? (int)n : (int)m->hdr.size;
}

int ff_chan_ack(struct ff *f, uint32_t req, uint64_t val)
{
	struct {
		struct vhost_user_hdr hdr;
		uint64_t v;
	} __attribute__((packed)) r = {
		{ req, VHOST_USER_VERSION | VHOST_USER_REPLY_MASK, 8 }, val
	};

	return send(f->chan, &r, sizeof(r), MSG_NOSIGNAL) == sizeof(r) ? 0 : -EIO;
}

int ff_setup(struct ff *f, const struct ff_opts *o)
{
	uint64_t feat, proto, want, nq;
	int rc;

	f->opts = *o;
	f->nq = 1 + o->nreq;
	if (o->nreq < 1 || f->nq > FF_MAX_QUEUES)
		return -EINVAL;
	rc = get_u64(f, VHOST_USER_GET_FEATURES, &feat);
	if (rc)
		return rc;
	want = (1ull << VIRTIO_F_VERSION_1) | (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
	if (!o->no_event_idx)
		want |= 1ull << VIRTIO_RING_F_EVENT_IDX;
	if (!o->no_indirect)
		want |= 1ull << VIRTIO_RING_F_INDIRECT_DESC;
	f->features = feat & want;
	rc = ff_send(f, VHOST_USER_SET_FEATURES, VHOST_USER_VERSION, &f->features,
		     8, NULL, 0);
	if (!rc && (f->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES))) {
		rc = get_u64(f, VHOST_USER_GET_PROTOCOL_FEATURES, &proto);
		want = (1ull << VHOST_USER_PROTOCOL_F_MQ) |
		       (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK);
		if (o->mem_slots)
			want |= 1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS;
		if (o->config)
			want |= 1ull << VHOST_USER_PROTOCOL_F_CONFIG;
		if (o->backend_channel)
			want |= (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ) |
				(1ull << VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD) |
				(1ull << VHOST_USER_PROTOCOL_F_SHMEM);
		f->proto = proto & want;
		if (!rc)
			rc = ff_send(f, VHOST_USER_SET_PROTOCOL_FEATURES,
				     VHOST_USER_VERSION, &f->proto, 8, NULL, 0);
	}
	if (!rc)
		rc = set_msg(f, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0);
	if (!rc && (f->proto & (1ull << VHOST_USER_PROTOCOL_F_MQ))) {
		rc = get_u64(f, VHOST_USER_GET_QUEUE_NUM, &nq);
		if (!rc && nq < f->nq)
			rc = -ERANGE;
	}
	if (!rc && (f->proto & (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ)))
		rc = open_channel(f);
	if (!rc && !f->ram)
		rc = alloc_ram(f);
	if (!rc)
		rc = setup_rings(f);
	return rc;
}

int ff_reboot(struct ff *f)
{
	for (unsigned i = 0; i < f->nq; i++) {
		uint32_t base;
		int rc = ff_get_vring_base(f, i, &base);

		if (rc)
			return rc;
	}
	if (f->opts.mem_slots) {
		/* Memory slots stay: drop them so the new table is fresh. */
		unsigned n = f->opts.split_ram ? 2 : 1;
		uint64_t part = f->ram_size / n;

		for (unsigned i = 0; i < n; i++) {
			struct vhost_user_mem_reg mr = {
				0, { i * part, part, (uintptr_t)f->ram + i * part, i * part }
			};
			int rc = set_msg(f, VHOST_USER_REM_MEM_REG, &mr, sizeof(mr),
					 &f->ram_fd, 1);

			if (rc)
				return rc;
		}
	}
	return setup_rings(f);
}

void ff_free(struct ff *f)
{
	if (!f)
		return;
	for (unsigned i = 0; i < FF_MAX_QUEUES; i++) {
		if (f->q[i].kick >= 0)
			close(f->q[i].kick);
		if (f->q[i].call >= 0)
			close(f->q[i].call);
		pthread_mutex_destroy(&f->q[i].lock);
	}
	if (f->ram)
		munmap(f->ram, f->ram_size);
	if (f->ram_fd >= 0)
		close(f->ram_fd);
	if (f->chan >= 0)
		close(f->chan);
	close(f->sock);
	free(f);
}

/* ---- rings ------------------------------------------------------------ */

int ff_slot_get(struct ff *f, unsigned qi, struct ff_slot *s)
{
	struct ff_queue *q = &f->q[qi];
	size_t per = (FF_QAREA - RING_AREA) / FF_SLOTS;
	int rc = -EBUSY;

	if (qi >= f->nq)
		return -EINVAL;
	pthread_mutex_lock(&q->lock);
	for (unsigned i = 0; i < FF_SLOTS; i++) {
		if (q->slot_busy[i])
			continue;
		q->slot_busy[i] = true;
		s->queue = qi;
		s->id = i;
		s->desc_base = (uint16_t)(i * FF_SLOT_DESCS);
		s->data_gpa = q->base + RING_AREA + i * per;
		s->data = f->ram + s->data_gpa;
		s->data_len = per;
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}

void ff_slot_put(struct ff *f, struct ff_slot *s)
{
	struct ff_queue *q = &f->q[s->queue];

	pthread_mutex_lock(&q->lock);
	q->slot_busy[s->id] = false;
	pthread_mutex_unlock(&q->lock);
}

struct vring_desc *ff_desc_table(struct ff *f, unsigned q)
{
	return f->q[q].desc;
}

void ff_set_desc(struct ff *f, unsigned q, uint16_t i, uint64_t addr,
		 uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc *d = &f->q[q].desc[i];

	d->addr = htole64(addr);
	d->len = htole32(len);
	d->flags = htole16(flags);
	d->next = htole16(next);
}

void ff_publish(struct ff *f, unsigned qi, uint16_t head)
{
	struct ff_queue *q = &f->q[qi];

	pthread_mutex_lock(&q->lock);
	__atomic_store_n(&q->avail->ring[q->avail_idx % FF_QSIZE], htole16(head),
			 __ATOMIC_RELAXED);
	q->avail_idx++;
	/* Release: descriptors and ring entry before the index. */
	__atomic_store_n(&q->avail->idx, htole16(q->avail_idx), __ATOMIC_RELEASE);
	pthread_mutex_unlock(&q->lock);
	/* Always kick: an extra kick is harmless, a missing one is a hang. */
	eventfd_write(q->kick, 1);
}

/* Collect used elements (caller holds q->lock). */
static void reap_locked(struct ff *f, struct ff_queue *q)
{
	uint16_t *used_event = &q->avail->ring[FF_QSIZE];

	for (;;) {
		uint16_t idx = le16toh(__atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE));

		while (q->last_used != idx) {
			struct vring_used_elem *e = &q->used->ring[q->last_used % FF_QSIZE];
			uint32_t id = le32toh(__atomic_load_n(&e->id, __ATOMIC_RELAXED));

			if (id < FF_QSIZE) {
				q->done[id] = true;
				q->done_len[id] = le32toh(__atomic_load_n(&e->len, __ATOMIC_RELAXED));
			}
			q->last_used++;
		}
		/* Ask for a call on the next used element, then look again. */
		__atomic_store_n(used_event, htole16(q->last_used), __ATOMIC_RELAXED);
		vq_mb(); /* pairs with the device's barrier after used->idx */
		if (le16toh(__atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE)) == q->last_used)
			return;
	}
}

int ff_wait(struct ff *f, unsigned qi, uint16_t head, int timeout_ms,
	    uint32_t *used_len)
{
	struct ff_queue *q = &f->q[qi];
	long long end = now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = q->call, .events = POLLIN };
		eventfd_t v;
		long long left;

		pthread_mutex_lock(&q->lock);
		reap_locked(f, q);
		if (q->done[head]) {
			q->done[head] = false;
			if (used_len)
				*used_len = q->done_len[head];
			pthread_mutex_unlock(&q->lock);
			return 0;
		}
		pthread_mutex_unlock(&q->lock);
		left = end - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		/* Several waiters share the call fd: poll briefly, rescan. */
		if (poll(&p, 1, left < 20 ? (int)left : 20) == 1)
			eventfd_read(q->call, &v);
	}
}

int ff_request(struct ff *f, unsigned qi, const struct iovec *out,
	       unsigned nout, const struct iovec *in, unsigned nin,
	       int timeout_ms, uint32_t *used_len)
{
	struct ff_slot s;
	size_t off = 0;
	uint32_t len = 0;
	unsigned n = nout + nin;
	int rc;

	if (!n || n > FF_SLOT_DESCS)
		return -E2BIG;
	rc = ff_slot_get(f, qi, &s);
	if (rc)
		return rc;
	for (unsigned i = 0; i < n; i++) {
		const struct iovec *v = i < nout ? &out[i] : &in[i - nout];
		uint16_t flags = i + 1 < n ? VRING_DESC_F_NEXT : 0;

		if (v->iov_len > s.data_len - off) {
			ff_slot_put(f, &s);
			return -E2BIG;
		}
		if (i < nout)
			memcpy(s.data + off, v->iov_base, v->iov_len);
		else
			flags |= VRING_DESC_F_WRITE;
		ff_set_desc(f, qi, (uint16_t)(s.desc_base + i), s.data_gpa + off,
			    (uint32_t)v->iov_len, flags, (uint16_t)(s.desc_base + i + 1));
		off += v->iov_len;
	}
	ff_publish(f, qi, s.desc_base);
	rc = ff_wait(f, qi, s.desc_base, timeout_ms, &len);
	if (rc)
		return rc; /* the slot stays busy: the device may still write */
	/* Copy the reply back out of guest memory. */
	off = 0;
	for (unsigned i = 0; i < nout; i++)
		off += out[i].iov_len;
	for (unsigned i = 0, left = len; i < nin && left; i++) {
		size_t k = in[i].iov_len < left ? in[i].iov_len : left;

		memcpy(in[i].iov_base, s.data + off, k);
		off += in[i].iov_len;
		left -= (unsigned)k;
	}
	ff_slot_put(f, &s);
	if (used_len)
		*used_len = len;
	return 0;
}

/* ---- DAX window (backend channel) ------------------------------------- */

struct ff_window {
	struct ff *f;
	uint8_t *base;
	uint64_t size;
	pthread_t thread;
	pthread_mutex_t lock;
	bool stop;		/* protected by lock */
	unsigned served;	/* protected by lock */
	unsigned refused;	/* protected by lock */
};

static int window_span_ok(const struct ff_window *w,
			  const struct vhost_user_shmem_map *m)
{
	uint64_t end, mask = (uint64_t)sysconf(_SC_PAGESIZE) - 1;

	if (m->shmid != 0 || !m->len || (m->shm_offset & mask) ||
	    (m->len & mask) || (m->fd_offset & mask))
		return -EINVAL;
	if (__builtin_add_overflow(m->shm_offset, m->len, &end) ||
	    end > w->size)
		return -EINVAL;
	return 0;
}

static int window_map(struct ff_window *w, const struct vhost_user_shmem_map *m,
		      int fd)
{
	int prot = PROT_READ, rc;

	if (fd < 0)
		return -EBADF;
	rc = window_span_ok(w, m);
	if (rc)
		return rc;
	if (m->flags & ~VHOST_USER_SHMEM_MAP_F_WRITABLE)
		return -EINVAL;
	if (m->flags & VHOST_USER_SHMEM_MAP_F_WRITABLE)
		prot |= PROT_WRITE;
	if (mmap(w->base + m->shm_offset, m->len, prot, MAP_SHARED | MAP_FIXED,
		 fd, (off_t)m->fd_offset) == MAP_FAILED)
		return -errno;
	return 0;
}

static int window_unmap(struct ff_window *w, const struct vhost_user_shmem_map *m)
{
	int rc = window_span_ok(w, m);

	if (rc)
		return rc;
	if (mmap(w->base + m->shm_offset, m->len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1,
		 0) == MAP_FAILED)
		return -errno;
	return 0;
}

static void *window_thread(void *arg)
{
	struct ff_window *w = arg;
	struct vhost_user_msg m;
	int fd, rc;

	for (;;) {
		pthread_mutex_lock(&w->lock);
		if (w->stop) {
			pthread_mutex_unlock(&w->lock);
			break;
		}
		pthread_mutex_unlock(&w->lock);
		rc = ff_chan_recv(w->f, &m, &fd, 100);
		if (rc == -ETIMEDOUT)
			continue;
		if (rc < 0)
			break;
		if (rc < (int)sizeof(struct vhost_user_shmem_map))
			rc = -EINVAL;
		else if (m.hdr.request == VHOST_USER_BACKEND_SHMEM_MAP)
			rc = window_map(w, &m.payload.shmem_map, fd);
		else if (m.hdr.request == VHOST_USER_BACKEND_SHMEM_UNMAP)
			rc = window_unmap(w, &m.payload.shmem_map);
		else
			rc = -EOPNOTSUPP;
		if (fd >= 0)
			close(fd); /* the mapping holds its own reference */
		pthread_mutex_lock(&w->lock);
		w->served++;
		if (rc < 0)
			w->refused++;
		pthread_mutex_unlock(&w->lock);
		if (m.hdr.flags & VHOST_USER_NEED_REPLY_MASK)
			ff_chan_ack(w->f, m.hdr.request, rc < 0 ? (uint64_t)-rc : 0);
	}
	return NULL;
}

int ff_window_start(struct ff *f, uint64_t size, struct ff_window **out)
{
	struct ff_window *w;
	int rc;

	if (f->chan < 0)
		return -ENOTCONN;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->f = f;
	w->size = size;
	w->base = mmap(NULL, size, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (w->base == MAP_FAILED) {
		rc = -errno;
		free(w);
		return rc;
	}
	pthread_mutex_init(&w->lock, NULL);
	rc = -pthread_create(&w->thread, NULL, window_thread, w);
	if (rc) {
		munmap(w->base, size);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return rc;
	}
	*out = w;
	return 0;
}

uint8_t *ff_window_base(const struct ff_window *w)
{
	return w->base;
}

unsigned ff_window_served(struct ff_window *w, unsigned *refused)
{
	unsigned n;

	pthread_mutex_lock(&w->lock);
	n = w->served;
	if (refused)
		*refused = w->refused;
	pthread_mutex_unlock(&w->lock);
	return n;
}

void ff_window_stop(struct ff_window *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	munmap(w->base, w->size);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

int ff_fuse(struct ff *f, unsigned q, uint32_t opcode, uint64_t nodeid,
	    uint64_t unique, const void *a, size_t alen, const void *b,
	    size_t blen, struct fuse_out_header *oh, void *data, size_t room,
	    int timeout_ms, uint32_t *used_len)
{
	struct fuse_in_header ih = {
		.len = (uint32_t)(sizeof(ih) + alen + blen),
		.opcode = opcode,
		.unique = unique,
		.nodeid = nodeid,
		.uid = getuid(),
		.gid = getgid(),
		.pid = getpid(),
	};
	struct iovec out[3] = { { &ih, sizeof(ih) } };
	struct iovec in[2] = { { oh, sizeof(*oh) }, { data, room } };
	unsigned nout = 1;

	if (alen)
		out[nout++] = (struct iovec){ (void *)a, alen };
	if (blen)
		out[nout++] = (struct iovec){ (void *)b, blen };
	memset(oh, 0, sizeof(*oh));
	return ff_request(f, q, out, nout, in, room ? 2 : 1, timeout_ms,
			  used_len);
}
