// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The vhost-user backend in-process, driven by the fake frontend: round
 * trips, concurrency, malformed messages and chains, GET_VRING_BASE and
 * restart, reconnect, and the backend channel.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "common/log.h"
#include "fake_frontend.h"
#include "vhost/backend.h"

#define TMO 5000
#define NREQ 3

static int resets; /* atomic */

/* Echo the readable bytes into the writable buffers. "SLOW" sleeps first. */
static size_t h_echo(void *o, const struct iovec *in, unsigned in_cnt,
		     const struct iovec *out, unsigned out_cnt)
{
	size_t done = 0, oi = 0, ooff = 0;

	if (in_cnt && in[0].iov_len >= 4 && !memcmp(in[0].iov_base, "SLOW", 4))
		usleep(400 * 1000);
	for (unsigned i = 0; i < in_cnt; i++) {
		const char *p = in[i].iov_base;
		size_t left = in[i].iov_len;

		while (left && oi < out_cnt) {
			size_t k = out[oi].iov_len - ooff;

			if (k > left)
				k = left;
			memcpy((char *)out[oi].iov_base + ooff, p, k);
			p += k;
			left -= k;
			done += k;
			ooff += k;
			if (ooff == out[oi].iov_len) {
				oi++;
				ooff = 0;
			}
		}
	}
	return done;
}

static void h_reset(void *o)
{
	__atomic_add_fetch(&resets, 1, __ATOMIC_SEQ_CST);
}

struct server {
	struct vu_backend *be;
	int sock;
	int rc;
	pthread_t t;
};

static void *serve_thread(void *arg)
{
	struct server *s = arg;

	s->rc = vu_backend_serve(s->be, s->sock);
	return NULL;
}

/* Start serving one connection; returns the frontend. */
static struct ff *connect_ff(struct server *s, const struct ff_opts *o)
{
	struct ff *f;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		tap_bail("socketpair");
	s->sock = sv[0];
	s->rc = 1;
	pthread_create(&s->t, NULL, serve_thread, s);
	if (ff_new(sv[1], &f))
		tap_bail("ff_new");
	if (o) {
		int rc = ff_setup(f, o);

		if (!is_int(rc, 0, "frontend set up"))
			tap_bail("setup failed");
	}
	return f;
}

static int echo(struct ff *f, unsigned q, const char *msg)
{
	char back[128] = { 0 };
	struct iovec out = { (void *)msg, strlen(msg) };
	struct iovec in = { back, sizeof(back) };
	uint32_t len = 0;
	int rc = ff_request(f, q, &out, 1, &in, 1, TMO, &len);

	if (rc)
		return rc;
	if (len != strlen(msg) || memcmp(back, msg, len))
		return -EBADMSG;
	return 0;
}

static void test_round_trips(struct ff *f)
{
	char msg[64];
	char a[10], b[300];
	struct iovec out[3], in[2];
	uint32_t len;
	int rc;

	for (unsigned q = 0; q <= NREQ; q++) {
		snprintf(msg, sizeof(msg), "hello queue %u", q);
		is_int(echo(f, q, msg), 0, "round trip on queue %u", q);
	}
	/* Several buffers each way. */
	out[0] = (struct iovec){ "abc", 3 };
	out[1] = (struct iovec){ "defgh", 5 };
	out[2] = (struct iovec){ "ijklmnopqr", 10 };
	in[0] = (struct iovec){ a, sizeof(a) };
	in[1] = (struct iovec){ b, sizeof(b) };
	rc = ff_request(f, 1, out, 3, in, 2, TMO, &len);
	ok(rc == 0 && len == 18 && !memcmp(a, "abcdefghij", 10) &&
	   !memcmp(b, "klmnopqr", 8), "multi-buffer request scattered into two buffers");
}

struct conc {
	struct ff *f;
	unsigned id;
	int fails;
};

static void *conc_thread(void *arg)
{
	struct conc *c = arg;
	char msg[64];

	for (unsigned i = 0; i < 100; i++) {
		snprintf(msg, sizeof(msg), "thread %u request %u", c->id, i);
		if (echo(c->f, 1 + (c->id + i) % NREQ, msg))
			c->fails++;
	}
	return NULL;
}

static void test_concurrent(struct ff *f)
{
	struct conc c[6];
	pthread_t t[6];
	int fails = 0;

	for (unsigned i = 0; i < 6; i++) {
		c[i] = (struct conc){ f, i, 0 };
		pthread_create(&t[i], NULL, conc_thread, &c[i]);
	}
	for (unsigned i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		fails += c[i].fails;
	}
	is_int(fails, 0, "600 concurrent requests over %u queues all echoed", NREQ);
}

static long long ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void test_slow_does_not_stall(struct ff *f)
{
	struct ff_slot s;
	long long t0;
	uint32_t len;
	int rc;

	if (ff_slot_get(f, 2, &s))
		tap_bail("slot");
	memcpy(s.data, "SLOW", 4);
	ff_set_desc(f, 2, s.desc_base, s.data_gpa, 4, VRING_DESC_F_NEXT,
		    (uint16_t)(s.desc_base + 1));
	ff_set_desc(f, 2, (uint16_t)(s.desc_base + 1), s.data_gpa + 64, 64,
		    VRING_DESC_F_WRITE, 0);
	t0 = ms();
	ff_publish(f, 2, s.desc_base);
	rc = echo(f, 2, "fast one");
	ok(rc == 0 && ms() - t0 < 300, "a fast request passes a slow one on the same queue (%lld ms)",
	   ms() - t0);
	rc = ff_wait(f, 2, s.desc_base, TMO, &len);
	ok(rc == 0 && len == 4, "the slow one completes too");
	ff_slot_put(f, &s);
}

/* Publish a hand-made chain at the slot's first descriptor, wait for it. */
static int bad_chain(struct ff *f, unsigned q, struct ff_slot *s, uint32_t *len)
{
	*len = 12345;
	ff_publish(f, q, s->desc_base);
	return ff_wait(f, q, s->desc_base, TMO, len);
}

/* Whether @fd becomes readable within @ms (and drain it). */
static bool signalled(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	eventfd_t v;

	if (poll(&p, 1, ms) != 1)
		return false;
	eventfd_read(fd, &v);
	return true;
}

/*
 * A new call fd while the driver has completions it has not been told of
 * gets a notification (QEMU swaps call fds as the guest masks and unmasks
 * the vector, and one sent to the old fd meanwhile may never arrive); a
 * driver that has caught up gets none.
 */
static void test_call_swap(struct ff *f)
{
	uint16_t used;
	int fd;

	is_int(echo(f, 1, "before the swap"), 0, "a request completes");
	used = ff_used_idx(f, 1);
	/* As a driver that asked to hear of the last element and did not:
	 * its notification went to the old fd and was lost. */
	ff_set_used_event(f, 1, (uint16_t)(used - 1));
	fd = ff_swap_call(f, 1);
	ok(fd >= 0 && signalled(fd, 1000),
	   "new call fd with completions past used_event (%u): notified",
	   used);
	ff_set_used_event(f, 1, used);
	fd = ff_swap_call(f, 1);
	ok(fd >= 0 && !signalled(fd, 100),
	   "new call fd, driver caught up (used_event = used->idx): not notified");
	is_int(echo(f, 1, "after the swaps"), 0, "the queue still serves");
}

/*
 * A driver that is owed a notification and stays silent (its used_event
 * does not move) is notified again after about 100 ms, once per period;
 * once it has caught up, nothing more comes.
 */
static void test_silent_driver(struct ff *f)
{
	char msg[] = "is anybody there";
	struct ff_slot s;
	uint16_t used;
	uint32_t len;
	int fd = ff_swap_call(f, 1), n = 0;
	long long t0, t;
	struct timespec ts;

	ok(fd >= 0, "a call fd of our own");
	if (fd < 0 || ff_slot_get(f, 1, &s))
		return;
	memcpy(s.data, msg, sizeof(msg));
	ff_set_desc(f, 1, s.desc_base, s.data_gpa, sizeof(msg),
		    VRING_DESC_F_NEXT, (uint16_t)(s.desc_base + 1));
	ff_set_desc(f, 1, (uint16_t)(s.desc_base + 1), s.data_gpa + 64, 64,
		    VRING_DESC_F_WRITE, 0);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
	used = ff_used_idx(f, 1);
	ff_publish(f, 1, s.desc_base);
	/* The completion's own notification, then the driver says nothing:
	 * used_event stays where it was, behind the new used->idx. */
	ok(signalled(fd, 1000), "the completion is notified");
	ok(ff_used_idx(f, 1) == (uint16_t)(used + 1), "and used (%u -> %u)",
	   used, ff_used_idx(f, 1));
	while (n < 2 && signalled(fd, 1000))
		n++;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000 - t0;
	ok(n == 2 && t >= 150 && t < 2000,
	   "a silent driver is notified again, once a period (%d in %lld ms)",
	   n, t);
	/* The driver reaps (ff_wait moves used_event up to used->idx). */
	is_int(ff_wait(f, 1, s.desc_base, TMO, &len), 0, "the driver reaps");
	ff_slot_put(f, &s);
	signalled(fd, 0); /* a re-notification racing the reap */
	ok(!signalled(fd, 350), "caught up: no more notifications");
}

static void test_bad_chains(struct ff *f)
{
	struct ff_slot s;
	uint16_t b;
	uint32_t len;
	int rc;

	if (ff_slot_get(f, 1, &s))
		tap_bail("slot");
	b = s.desc_base;
	ff_set_desc(f, 1, b, s.data_gpa, 8, VRING_DESC_F_NEXT, (uint16_t)(b + 1));
	ff_set_desc(f, 1, (uint16_t)(b + 1), s.data_gpa, 8, VRING_DESC_F_NEXT, b);
	rc = bad_chain(f, 1, &s, &len);
	ok(rc == 0 && len == 0, "looped chain: used with len 0");

	ff_set_desc(f, 1, b, ff_ram_size(f) + 0x1000, 8, 0, 0);
	rc = bad_chain(f, 1, &s, &len);
	ok(rc == 0 && len == 0, "address outside guest RAM: used with len 0");

	ff_set_desc(f, 1, b, s.data_gpa, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
		    (uint16_t)(b + 1));
	ff_set_desc(f, 1, (uint16_t)(b + 1), s.data_gpa, 8, 0, 0);
	rc = bad_chain(f, 1, &s, &len);
	ok(rc == 0 && len == 0, "readable after writable: used with len 0");

	/* Indirect table in the slot's data, nested indirect inside. */
	{
		struct vring_desc *t = (struct vring_desc *)(s.data + 4096);

		t[0].addr = htole64(s.data_gpa);
		t[0].len = htole32(16);
		t[0].flags = htole16(VRING_DESC_F_INDIRECT);
		ff_set_desc(f, 1, b, s.data_gpa + 4096, 16, VRING_DESC_F_INDIRECT, 0);
		rc = bad_chain(f, 1, &s, &len);
		ok(rc == 0 && len == 0, "nested indirect: used with len 0");

		/* A good indirect chain. */
		memcpy(s.data, "indirect!", 9);
		t[0].addr = htole64(s.data_gpa);
		t[0].len = htole32(9);
		t[0].flags = htole16(VRING_DESC_F_NEXT);
		t[0].next = htole16(1);
		t[1].addr = htole64(s.data_gpa + 1024);
		t[1].len = htole32(32);
		t[1].flags = htole16(VRING_DESC_F_WRITE);
		ff_set_desc(f, 1, b, s.data_gpa + 4096, 32, VRING_DESC_F_INDIRECT, 0);
		rc = bad_chain(f, 1, &s, &len);
		ok(rc == 0 && len == 9 && !memcmp(s.data + 1024, "indirect!", 9),
		   "indirect chain served");
	}
	ff_slot_put(f, &s);
	is_int(echo(f, 1, "still alive"), 0, "queue keeps serving after bad chains");
}

static void test_bad_messages(struct ff *f)
{
	struct vhost_user_vring_state st = { 99, 64 };
	uint64_t v = 0;

	ok(ff_call(f, 222, NULL, 0, NULL, 0) > 0, "unknown request: error ack");
	ok(ff_call(f, VHOST_USER_SET_VRING_NUM, &st, sizeof(st), NULL, 0) > 0,
	   "queue index out of range: error ack");
	ok(ff_call(f, VHOST_USER_SET_VRING_NUM, &st, 4, NULL, 0) > 0,
	   "short payload: error ack");
	{
		int e = eventfd(0, EFD_CLOEXEC);

		ok(ff_call(f, VHOST_USER_SET_FEATURES, &v, 8, &e, 1) > 0,
		   "unexpected fd: error ack");
		close(e);
	}
	is_int(echo(f, 3, "after bad messages"), 0, "backend keeps serving after bad messages");
}

static void test_vring_base_restart(struct ff *f)
{
	uint32_t base = 0;
	int rc;

	/* Queue 3 saw: round trip, 200 concurrent ones, "after bad messages". */
	rc = ff_get_vring_base(f, 3, &base);
	ok(rc == 0 && base == 202, "GET_VRING_BASE returns last_avail_idx (%u)", base);
	rc = ff_reboot(f);
	is_int(rc, 0, "guest reboot: every ring stopped and set up again");
	for (unsigned q = 0; q <= NREQ; q++)
		is_int(echo(f, q, "after reboot"), 0, "queue %u serves after reboot", q);
}

struct map_call {
	struct vu_backend *be;
	int fd;
	int rc;
	uint64_t off; /* unmap_thread(): the span's offset (0: 2 MiB) */
};

static void *map_thread(void *arg)
{
	struct map_call *c = arg;

	c->rc = vu_backend_shmem_map(c->be, 0, c->fd, 4096, 2u << 20, 2u << 20,
				     VHOST_USER_SHMEM_MAP_F_WRITABLE);
	return NULL;
}

static void *unmap_thread(void *arg)
{
	struct map_call *c = arg;

	c->rc = vu_backend_shmem_unmap(c->be, 0, c->off ? c->off : 2u << 20,
				       4096);
	return NULL;
}

static void test_backend_channel(struct vu_backend *be)
{
	struct server s = { .be = be };
	struct ff_opts o = { .nreq = 1, .backend_channel = true };
	struct ff *f = connect_ff(&s, &o);
	struct vhost_user_msg m;
	uint64_t acks[2] = { 0, 22 };
	int want[2] = { 0, -22 };

	ok(ff_chan_fd(f) >= 0, "backend channel set up");
	ok(ff_protocol(f) & (1ull << VHOST_USER_PROTOCOL_F_SHMEM), "SHMEM negotiated");
	for (unsigned i = 0; i < 2; i++) {
		struct map_call c = { be, eventfd(0, EFD_CLOEXEC), 1 };
		pthread_t t;
		int fd = -1, rc;

		pthread_create(&t, NULL, map_thread, &c);
		rc = ff_chan_recv(f, &m, &fd, TMO);
		ok(rc == (int)sizeof(struct vhost_user_shmem_map) &&
		   m.hdr.request == VHOST_USER_BACKEND_SHMEM_MAP &&
		   (m.hdr.flags & VHOST_USER_NEED_REPLY_MASK) &&
		   m.payload.shmem_map.shmid == 0 &&
		   m.payload.shmem_map.fd_offset == 4096 &&
		   m.payload.shmem_map.shm_offset == 2u << 20 &&
		   m.payload.shmem_map.len == 2u << 20 &&
		   m.payload.shmem_map.flags == VHOST_USER_SHMEM_MAP_F_WRITABLE,
		   "SHMEM_MAP request arrives with its payload");
		ok(fd >= 0, "... and an fd");
		if (fd >= 0)
			close(fd);
		ff_chan_ack(f, VHOST_USER_BACKEND_SHMEM_MAP, acks[i]);
		pthread_join(t, NULL);
		is_int(c.rc, want[i], "shmem_map returns the frontend's answer");
		close(c.fd);
	}
	{
		struct map_call c = { be, -1, 1 };
		pthread_t t;
		int fd = -1, rc;

		is_int(vu_backend_shmem_map(be, 0, -1, 0, 0, 4096, 0), -EBADF,
		       "shmem_map with a bad fd: -EBADF");
		pthread_create(&t, NULL, unmap_thread, &c);
		rc = ff_chan_recv(f, &m, &fd, TMO);
		ok(rc == (int)sizeof(struct vhost_user_shmem_map) &&
		   m.hdr.request == VHOST_USER_BACKEND_SHMEM_UNMAP && fd < 0 &&
		   m.payload.shmem_map.shm_offset == 2u << 20 &&
		   m.payload.shmem_map.len == 4096,
		   "SHMEM_UNMAP request arrives, without an fd");
		ff_chan_ack(f, VHOST_USER_BACKEND_SHMEM_UNMAP, 0);
		pthread_join(t, NULL);
		is_int(c.rc, 0, "shmem_unmap acked");
	}
	ff_free(f);
	pthread_join(s.t, NULL);
	/* Without SHMEM in the protocol features. */
	o.backend_channel = false;
	f = connect_ff(&s, &o);
	is_int(vu_backend_shmem_unmap(be, 0, 0, 4096), -ENOTCONN,
	       "no channel on this connection: -ENOTCONN");
	ff_free(f);
	pthread_join(s.t, NULL);
}

/*
 * Requests from several threads are all on the channel before the first
 * reply (the backend does not wait for one round trip to start the next),
 * each thread gets the answer to its own request (replies match requests
 * in order), and a reply that is not an answer breaks the channel until
 * the frontend brings a new one.
 */
static void test_chan_pipeline(struct vu_backend *be)
{
	struct server s = { .be = be };
	struct ff_opts o = { .nreq = 1, .backend_channel = true };
	struct ff *f = connect_ff(&s, &o);
	struct map_call c[3];
	pthread_t t[3];
	uint64_t order[3], answers[3] = { 0, 5, 22 };
	struct vhost_user_msg m;
	int fd, rc, got = 0, matched = 0;

	for (unsigned i = 0; i < 3; i++) {
		c[i] = (struct map_call){ be, -1, 1, (uint64_t)(i + 1) << 21 };
		pthread_create(&t[i], NULL, unmap_thread, &c[i]);
	}
	for (unsigned i = 0; i < 3; i++) {
		fd = -1;
		rc = ff_chan_recv(f, &m, &fd, TMO);
		if (rc == (int)sizeof(struct vhost_user_shmem_map) &&
		    m.hdr.request == VHOST_USER_BACKEND_SHMEM_UNMAP)
			order[got++] = m.payload.shmem_map.shm_offset;
		if (fd >= 0)
			close(fd);
	}
	is_int(got, 3, "pipeline: 3 requests on the channel before any reply");
	for (int i = 0; i < got; i++)
		ff_chan_ack(f, VHOST_USER_BACKEND_SHMEM_UNMAP, answers[i]);
	for (unsigned i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < got; i++)
		for (unsigned j = 0; j < 3; j++)
			if (c[j].off == order[i] && c[j].rc == -(int)answers[i])
				matched++;
	is_int(matched, 3, "pipeline: each request got the answer sent to it");

	/* A reply with another request code: out of step. */
	c[0] = (struct map_call){ be, -1, 1, 1u << 21 };
	pthread_create(&t[0], NULL, unmap_thread, &c[0]);
	fd = -1;
	rc = ff_chan_recv(f, &m, &fd, TMO);
	if (fd >= 0)
		close(fd);
	ff_chan_ack(f, VHOST_USER_BACKEND_SHMEM_MAP, 0);
	pthread_join(t[0], NULL);
	is_int(c[0].rc, -EPROTO, "pipeline: a reply to another request: -EPROTO");
	is_int(vu_backend_shmem_unmap(be, 0, 1u << 21, 4096), -EPROTO,
	       "pipeline: the broken channel fails the next request at once");
	fd = -1;
	rc = ff_chan_recv(f, &m, &fd, 200);
	ok(rc <= 0, "pipeline: ... without sending it");
	if (fd >= 0)
		close(fd);
	ff_free(f);
	pthread_join(s.t, NULL);

	/* A new frontend, a new channel: in step again. */
	f = connect_ff(&s, &o);
	c[0] = (struct map_call){ be, -1, 1, 1u << 21 };
	pthread_create(&t[0], NULL, unmap_thread, &c[0]);
	fd = -1;
	rc = ff_chan_recv(f, &m, &fd, TMO);
	if (fd >= 0)
		close(fd);
	ff_chan_ack(f, VHOST_USER_BACKEND_SHMEM_UNMAP, 0);
	pthread_join(t[0], NULL);
	is_int(c[0].rc, 0, "pipeline: a new channel works again");
	ff_free(f);
	pthread_join(s.t, NULL);
}

/* A backend without a DAX window never offers SHMEM. */
static void test_no_shmem(const struct vu_backend_ops *ops)
{
	struct vu_backend_cfg cfg = { .num_request_queues = 1 };
	struct ff_opts o = { .nreq = 1, .backend_channel = true };
	struct server s = { 0 };
	struct ff *f;

	if (vu_backend_new(&cfg, ops, NULL, &s.be))
		tap_bail("backend");
	f = connect_ff(&s, &o);
	ok(ff_chan_fd(f) >= 0 && !(ff_protocol(f) & (1ull << VHOST_USER_PROTOCOL_F_SHMEM)),
	   "channel without SHMEM");
	is_int(vu_backend_shmem_map(s.be, 0, 0, 0, 0, 4096, 0), -EOPNOTSUPP,
	       "shmem_map without SHMEM negotiated: -EOPNOTSUPP");
	ff_free(f);
	pthread_join(s.t, NULL);
	vu_backend_free(s.be);
}

int main(void)
{
	struct vu_backend_cfg cfg = { .num_request_queues = NREQ,
				      .thread_pool_size = 4,
				      .shm_size = 1ull << 28 };
	struct vu_backend_ops ops = { .handle = h_echo, .reset = h_reset };
	struct ff_opts o = { .nreq = NREQ, .split_ram = true };
	struct vu_backend *be;
	struct server s;
	struct ff *f;
	int r0;

	vlog_set_level(VLOG_LVL_ERR);
	if (vu_backend_new(&cfg, &ops, NULL, &be))
		tap_bail("backend");
	ok(vu_backend_shmem_map(be, 0, 0, 0, 0, 4096, 0) == -ENOTCONN,
	   "shmem_map without a channel: -ENOTCONN");

	s = (struct server){ .be = be };
	f = connect_ff(&s, &o);
	test_round_trips(f);
	test_concurrent(f);
	test_slow_does_not_stall(f);
	test_call_swap(f);
	test_silent_driver(f);
	test_bad_chains(f);
	test_bad_messages(f);
	test_vring_base_restart(f);
	r0 = __atomic_load_n(&resets, __ATOMIC_SEQ_CST);
	ff_free(f);
	pthread_join(s.t, NULL);
	is_int(s.rc, 0, "orderly disconnect: serve returns 0");
	is_int(__atomic_load_n(&resets, __ATOMIC_SEQ_CST), r0 + 1, "ops->reset called on disconnect");

	/* A second frontend: no event idx, no indirect, memory slots. */
	o = (struct ff_opts){ .nreq = 2, .no_event_idx = true, .no_indirect = true,
			      .mem_slots = true };
	f = connect_ff(&s, &o);
	is_int(echo(f, 1, "second frontend"), 0, "reconnect: second frontend served");
	is_int(echo(f, 2, "second frontend q2"), 0, "second frontend, queue 2");
	is_int(ff_reboot(f), 0, "reboot with memory slots");
	is_int(echo(f, 1, "after reboot 2"), 0, "served after reboot with memory slots");
	/*
	 * Without EVENT_IDX nothing tells whether the driver has read its
	 * completions, so the silent-driver watch stays out: an idle queue
	 * gets no notifications (past the one a new call fd may get).
	 */
	{
		int fd = ff_swap_call(f, 1);

		signalled(fd, 200); /* the new call fd's own, if any */
		ok(fd >= 0 && !signalled(fd, 350),
		   "no EVENT_IDX, queue idle: no notifications");
	}

	/* A malformed message without an ack drops the connection. */
	{
		struct vhost_user_msg m;

		ff_send(f, 222, VHOST_USER_VERSION, NULL, 0, NULL, 0);
		is_int(ff_recv(f, &m, TMO), -ENOTCONN, "unknown request without ack: dropped");
		ff_free(f);
		pthread_join(s.t, NULL);
		ok(s.rc < 0, "serve reports the broken connection");
	}
	f = connect_ff(&s, &o);
	is_int(echo(f, 1, "third frontend"), 0, "served again after a dropped frontend");
	ff_free(f);
	pthread_join(s.t, NULL);

	test_backend_channel(be);
	test_chan_pipeline(be);
	test_no_shmem(&ops);
	vu_backend_free(be);
	return tap_done();
}
