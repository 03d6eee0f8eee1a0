// SPDX-License-Identifier: GPL-2.0-or-later
/* vhost-user message validation: crafted messages through vu_handle_msg(). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "tap.h"
#include "common/log.h"
#include "vhost/backend_internal.h"

#define NREQ 2
#define RAM 0x100000

static int peer; /* our end of the socketpair: replies come here */
static int resets;

static size_t h_echo(void *o, const struct iovec *in, unsigned in_cnt,
		     const struct iovec *out, unsigned out_cnt)
{
	return 0;
}

static void h_reset(void *o)
{
	resets++;
}

static int handle(struct vu_conn *c, uint32_t req, uint32_t flags,
		  const void *pl, uint32_t size, const int *fds, size_t nfds)
{
	struct vhost_user_msg m = { 0 };
	int fdcopy[VHOST_USER_MAX_FDS];

	m.hdr.request = req;
	m.hdr.flags = flags;
	m.hdr.size = size;
	if (size)
		memcpy(&m.payload, pl, size);
	if (nfds)
		memcpy(fdcopy, fds, nfds * sizeof(int));
	return vu_handle_msg(c, &m, sizeof(m.hdr) + size, fdcopy, nfds);
}

/* Read one reply if there is one; returns its payload size or -1. */
static int get_reply(struct vhost_user_msg *r)
{
	struct pollfd p = { .fd = peer, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, 0) != 1)
		return -1;
	n = recv(peer, r, sizeof(*r), 0);
	if (n < (ssize_t)sizeof(r->hdr))
		return -1;
	return (int)r->hdr.size;
}

/* Send with NEED_REPLY and return the ack value (0 ok, 1 error, -1 none). */
static long long acked(struct vu_conn *c, uint32_t req, const void *pl,
		       uint32_t size, const int *fds, size_t nfds, int *rc)
{
	struct vhost_user_msg r;

	*rc = handle(c, req, VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK,
		     pl, size, fds, nfds);
	if (get_reply(&r) != 8 || r.hdr.request != req ||
	    r.hdr.flags != (VHOST_USER_VERSION | VHOST_USER_REPLY_MASK))
		return -1;
	return (long long)r.payload.u64;
}

static bool fd_closed(int fd)
{
	return fcntl(fd, F_GETFD) < 0 && errno == EBADF;
}

int main(void)
{
	struct vu_backend_cfg cfg = { .num_request_queues = NREQ,
				      .thread_pool_size = 0,
				      .shm_size = 1ull << 30 };
	struct vu_backend_ops ops = { .handle = h_echo, .reset = h_reset };
	struct vu_backend *be;
	struct vu_conn *c;
	struct vhost_user_msg r;
	struct vhost_user_vring_state st;
	struct vhost_user_vring_addr addr;
	struct vhost_user_mem_table mt = { 0 };
	uint64_t u64;
	int sv[2], rc, efd, mfd;
	uint8_t *ram;

	vlog_set_level(VLOG_LVL_ERR);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		tap_bail("socketpair");
	peer = sv[1];
	if (vu_backend_new(&cfg, &ops, NULL, &be) || vu_conn_new(be, sv[0], &c))
		tap_bail("backend");

	/* Plain queries. */
	rc = handle(c, VHOST_USER_GET_FEATURES, VHOST_USER_VERSION, NULL, 0, NULL, 0);
	is_int(rc, 0, "GET_FEATURES handled");
	ok(get_reply(&r) == 8 && r.payload.u64 == vu_backend_offered_features(),
	   "GET_FEATURES answers the offered features");
	ok(vu_backend_offered_features() & (1ull << VIRTIO_RING_F_EVENT_IDX) &&
	   vu_backend_offered_features() & (1ull << VIRTIO_F_VERSION_1) &&
	   vu_backend_offered_features() & (1ull << VHOST_USER_F_PROTOCOL_FEATURES),
	   "offers VERSION_1, EVENT_IDX, PROTOCOL_FEATURES");
	handle(c, VHOST_USER_GET_QUEUE_NUM, VHOST_USER_VERSION, NULL, 0, NULL, 0);
	ok(get_reply(&r) == 8 && r.payload.u64 == 1 + NREQ, "GET_QUEUE_NUM = hiprio + requests");
	handle(c, VHOST_USER_GET_SHMEM_CONFIG, VHOST_USER_VERSION, NULL, 0, NULL, 0);
	ok(get_reply(&r) == sizeof(struct vhost_user_shmem_config) &&
	   r.payload.shmem_config.nregions == 1 &&
	   r.payload.shmem_config.memory_sizes[0] == cfg.shm_size &&
	   r.payload.shmem_config.memory_sizes[1] == 0,
	   "GET_SHMEM_CONFIG reports the DAX window as region 0");
	handle(c, VHOST_USER_GET_MAX_MEM_SLOTS, VHOST_USER_VERSION, NULL, 0, NULL, 0);
	ok(get_reply(&r) == 8 && r.payload.u64 >= 8, "GET_MAX_MEM_SLOTS");

	/* Header validation. */
	rc = handle(c, VHOST_USER_GET_FEATURES, 2, NULL, 0, NULL, 0);
	ok(rc < 0 && get_reply(&r) < 0, "bad version: dropped, no reply");
	rc = handle(c, VHOST_USER_GET_FEATURES,
		    VHOST_USER_VERSION | VHOST_USER_REPLY_MASK, NULL, 0, NULL, 0);
	ok(rc < 0, "reply flag from the frontend: dropped");
	{
		struct vhost_user_msg m = { .hdr = { VHOST_USER_SET_FEATURES,
						     VHOST_USER_VERSION, 8 } };
		rc = vu_handle_msg(c, &m, sizeof(m.hdr) + 4, NULL, 0);
		ok(rc < 0, "header size larger than the bytes given: dropped");
	}
	u64 = 0;
	rc = handle(c, VHOST_USER_SET_FEATURES, VHOST_USER_VERSION, &u64, 4, NULL, 0);
	ok(rc < 0, "short SET_FEATURES payload: dropped");
	is_int(acked(c, 200, NULL, 0, NULL, 0, &rc), 1, "unknown request with NEED_REPLY: error ack");
	is_int(rc, 0, "... and the connection stays");
	rc = handle(c, 200, VHOST_USER_VERSION, NULL, 0, NULL, 0);
	ok(rc < 0, "unknown request without NEED_REPLY: dropped");

	/* Unexpected fds are closed. */
	efd = eventfd(0, EFD_CLOEXEC);
	{
		int fdcopy = efd;
		struct vhost_user_msg m = { .hdr = { VHOST_USER_GET_FEATURES,
						     VHOST_USER_VERSION, 0 } };
		rc = vu_handle_msg(c, &m, sizeof(m.hdr), &fdcopy, 1);
	}
	ok(rc < 0 && fd_closed(efd), "GET_FEATURES with an fd: rejected, fd closed");

	/* Features. */
	u64 = 1ull << 40;
	is_int(acked(c, VHOST_USER_SET_FEATURES, &u64, 8, NULL, 0, &rc), 1,
	       "SET_FEATURES with unoffered bit: error");
	u64 = vu_backend_offered_features();
	is_int(acked(c, VHOST_USER_SET_FEATURES, &u64, 8, NULL, 0, &rc), 0, "SET_FEATURES ok");
	u64 = 1ull << 50;
	is_int(acked(c, VHOST_USER_SET_PROTOCOL_FEATURES, &u64, 8, NULL, 0, &rc), 1,
	       "SET_PROTOCOL_FEATURES with unknown bit: error");
	u64 = 0;
	efd = eventfd(0, EFD_CLOEXEC);
	is_int(acked(c, VHOST_USER_SET_BACKEND_REQ_FD, NULL, 0, &efd, 1, &rc), 1,
	       "SET_BACKEND_REQ_FD without BACKEND_REQ: error");
	ok(fd_closed(efd), "... and its fd closed");
	{
		struct vhost_user_mem_reg mr = { 0 };

		efd = eventfd(0, EFD_CLOEXEC);
		is_int(acked(c, VHOST_USER_ADD_MEM_REG, &mr, sizeof(mr), &efd, 1, &rc), 1,
		       "ADD_MEM_REG without CONFIGURE_MEM_SLOTS: error");
	}
	u64 = vu_backend_offered_protocol_features(be);
	ok(u64 & (1ull << VHOST_USER_PROTOCOL_F_SHMEM), "SHMEM offered with a DAX window");
	is_int(acked(c, VHOST_USER_SET_PROTOCOL_FEATURES, &u64, 8, NULL, 0, &rc), 0,
	       "SET_PROTOCOL_FEATURES ok");

	/* Vring numbers. */
	st = (struct vhost_user_vring_state){ 1 + NREQ, 64 };
	is_int(acked(c, VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0, &rc), 1,
	       "queue index past the last queue: error");
	st = (struct vhost_user_vring_state){ 1, 100 };
	is_int(acked(c, VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0, &rc), 1,
	       "ring size not a power of two: error");
	st.num = 65536;
	is_int(acked(c, VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0, &rc), 1,
	       "ring size above 32768: error");
	st.num = 0;
	is_int(acked(c, VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0, &rc), 1,
	       "ring size 0: error");
	st.num = 64;
	is_int(acked(c, VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0, &rc), 0,
	       "ring size 64 ok");
	st = (struct vhost_user_vring_state){ 1, 70000 };
	is_int(acked(c, VHOST_USER_SET_VRING_BASE, &st, 8, NULL, 0, &rc), 1,
	       "base above 65535: error");

	/* Memory table. */
	mfd = memfd_create("ram", MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, RAM))
		tap_bail("memfd");
	ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (ram == MAP_FAILED)
		tap_bail("mmap");
	mt.nregions = 2;
	mt.regions[0] = (struct vhost_user_mem_region){ 0, RAM, (uintptr_t)ram, 0 };
	mt.regions[1] = (struct vhost_user_mem_region){ RAM, RAM, (uintptr_t)ram + RAM, 0 };
	{
		int d = dup(mfd);

		is_int(acked(c, VHOST_USER_SET_MEM_TABLE, &mt, 8 + 2 * 32, &d, 1, &rc), 1,
		       "SET_MEM_TABLE: 2 regions but 1 fd: error");
		ok(fd_closed(d), "... fd closed");
	}
	mt.nregions = 9;
	is_int(acked(c, VHOST_USER_SET_MEM_TABLE, &mt, 8, NULL, 0, &rc), 1,
	       "SET_MEM_TABLE: 9 regions: error");
	mt.nregions = 1;
	mt.regions[0].memory_size = UINT64_MAX;
	{
		int d = dup(mfd);

		is_int(acked(c, VHOST_USER_SET_MEM_TABLE, &mt, 8 + 32, &d, 1, &rc), 1,
		       "SET_MEM_TABLE: overflowing region: error");
	}
	/* A region longer than its fd would SIGBUS on first touch. */
	mt.regions[0].memory_size = 2 * RAM;
	{
		int d = dup(mfd);

		is_int(acked(c, VHOST_USER_SET_MEM_TABLE, &mt, 8 + 32, &d, 1, &rc), 1,
		       "SET_MEM_TABLE: region past the end of its fd: error");
	}
	mt.regions[0].memory_size = RAM;
	mt.regions[0].mmap_offset = 4096;
	{
		int d = dup(mfd);

		is_int(acked(c, VHOST_USER_SET_MEM_TABLE, &mt, 8 + 32, &d, 1, &rc), 1,
		       "SET_MEM_TABLE: offset + size past the end of its fd: error");
	}
	mt.regions[0].mmap_offset = 0;
	{
		int d = open("/dev/null", O_RDWR | O_CLOEXEC);

		is_int(acked(c, VHOST_USER_SET_MEM_TABLE, &mt, 8 + 32, &d, 1, &rc), 1,
		       "SET_MEM_TABLE: fd not a file: error");
	}
	{
		int d = dup(mfd);

		is_int(acked(c, VHOST_USER_SET_MEM_TABLE, &mt, 8 + 32, &d, 1, &rc), 0,
		       "SET_MEM_TABLE ok");
	}

	/* Ring addresses must translate and fit. */
	addr = (struct vhost_user_vring_addr){ .index = 1,
					       .desc_user_addr = (uintptr_t)ram + RAM - 512,
					       .avail_user_addr = (uintptr_t)ram + 0x2000,
					       .used_user_addr = (uintptr_t)ram + 0x3000 };
	is_int(acked(c, VHOST_USER_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0, &rc), 1,
	       "descriptor table running off the end of memory: error");
	addr.desc_user_addr = 0x1000;
	is_int(acked(c, VHOST_USER_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0, &rc), 1,
	       "descriptor table outside frontend memory: error");
	addr.desc_user_addr = (uintptr_t)ram + 0x1000;
	is_int(acked(c, VHOST_USER_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0, &rc), 0,
	       "valid ring addresses ok");

	/* Kick / call. */
	u64 = 1;
	is_int(acked(c, VHOST_USER_SET_VRING_KICK, &u64, 8, NULL, 0, &rc), 1,
	       "SET_VRING_KICK without an fd or NOFD: error");
	u64 = 1 | (1ull << 20);
	efd = eventfd(0, EFD_CLOEXEC);
	is_int(acked(c, VHOST_USER_SET_VRING_CALL, &u64, 8, &efd, 1, &rc), 1,
	       "SET_VRING_CALL with junk bits: error");
	u64 = 1;
	efd = eventfd(0, EFD_CLOEXEC);
	is_int(acked(c, VHOST_USER_SET_VRING_CALL, &u64, 8, &efd, 1, &rc), 0, "SET_VRING_CALL ok");
	efd = eventfd(0, EFD_CLOEXEC);
	is_int(acked(c, VHOST_USER_SET_VRING_KICK, &u64, 8, &efd, 1, &rc), 0, "SET_VRING_KICK ok");
	is_int(vu_conn_running_queues(c), 0, "ring not started before SET_VRING_ENABLE");
	st = (struct vhost_user_vring_state){ 1, 1 };
	is_int(acked(c, VHOST_USER_SET_VRING_ENABLE, &st, 8, NULL, 0, &rc), 0, "SET_VRING_ENABLE ok");
	is_int(vu_conn_running_queues(c), 1, "ring started once enabled");
	is_int(acked(c, VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0, &rc), 1,
	       "SET_VRING_NUM on a running ring: error");

	st = (struct vhost_user_vring_state){ 1, 0 };
	rc = handle(c, VHOST_USER_GET_VRING_BASE, VHOST_USER_VERSION, &st, 8, NULL, 0);
	ok(rc == 0 && get_reply(&r) == 8 && r.payload.state.index == 1 &&
	   r.payload.state.num == 0, "GET_VRING_BASE answers last_avail_idx");
	is_int(vu_conn_running_queues(c), 0, "GET_VRING_BASE stops the ring");

	resets = 0;
	rc = handle(c, VHOST_USER_RESET_OWNER, VHOST_USER_VERSION, NULL, 0, NULL, 0);
	ok(rc == 0 && resets == 1, "RESET_OWNER resets the filesystem");

	vu_conn_free(c);
	ok(resets == 2, "freeing the connection resets again");
	vu_backend_free(be);
	munmap(ram, RAM);
	close(mfd);
	close(peer);
	return tap_done();
}
