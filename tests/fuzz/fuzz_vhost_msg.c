// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz-vhost-msg: the vhost-user message handlers (vu_handle_msg()).
 *
 * Input: one config byte, then vhost-user messages back to back, each a
 * 12-byte header followed by hdr.size bytes of payload (fewer if the input
 * ends first; a tail shorter than a header is sent as it is).
 *
 *   config bit 0: 2 request queues (else 1); bit 1: a worker pool of 2
 *   threads (else a thread per queue); bit 2: a 1 GiB DAX window.
 *
 * The top byte of hdr.flags is the harness's and is cleared before the
 * message is handed over: bits 28-31 choose how many fds come with it
 * (0 = what the request expects, n = n - 1 fds, at most 8), bits 24-27
 * their kind (0 = the natural one, 1 = eventfd, 2 = /dev/null, 3 = guest
 * RAM as it is, not grown to cover the region: a lying frontend). Natural
 * fds: a memfd sized to cover the region for SET_MEM_TABLE / ADD_MEM_REG /
 * REM_MEM_REG (an fd mmap refuses if the region would need more than
 * RAM_CAP), an eventfd for SET_VRING_KICK/CALL/ERR, a socket for
 * SET_BACKEND_REQ_FD.
 *
 * Two pseudo-requests act as the guest instead of the frontend and never
 * reach the backend: POKE (0xffffff01: u32 file offset, then bytes written
 * into guest RAM, e.g. rings and descriptors) and KICK (0xffffff02: u8
 * queue index; writes the kick eventfd the harness sent for that queue).
 *
 * Each input gets a fresh backend and connection; everything is freed and
 * every fd closed at the end (checked).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "vhost/backend_internal.h"

#define RAM_BASE (1u << 20)
#define RAM_CAP (1ull << 30) /* sparse: only what the rings touch is real */
#define NQ_MAX 3
#define MAX_HELD 64

#define FZ_POKE 0xffffff01u
#define FZ_KICK 0xffffff02u

static int ram_fd = -1; /* guest RAM: every memory fd is a dup of it */

struct run {
	int peer;	     /* our end of the connection socket */
	int kick[NQ_MAX];    /* dups of the kick eventfds, for KICK */
	int held[MAX_HELD];  /* other fds we keep until the end */
	unsigned nheld;
	uint64_t ram_size;
};

/* The stub filesystem: reads the request, writes a short reply. */
static size_t stub_handle(void *opaque, const struct iovec *in, unsigned in_cnt,
			  const struct iovec *out, unsigned out_cnt)
{
	volatile uint8_t sink = 0;
	size_t done = 0;

	for (unsigned i = 0; i < in_cnt; i++) {
		const uint8_t *b = in[i].iov_base;

		for (size_t j = 0; j < in[i].iov_len; j += 512)
			sink ^= b[j];
	}
	for (unsigned i = 0; i < out_cnt && done < 256; i++) {
		size_t n = out[i].iov_len < 256 - done ? out[i].iov_len : 256 - done;

		memset(out[i].iov_base, 0x5a, n);
		done += n;
	}
	(void)sink;
	return done;
}

static void stub_reset(void *opaque)
{
}

static const struct vu_backend_ops stub_ops = {
	.handle = stub_handle,
	.reset = stub_reset,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_log_setup();
	ram_fd = memfd_create("fuzz-ram", MFD_CLOEXEC);
	if (ram_fd < 0)
		fz_die("memfd_create");
	return 0;
}

static void hold(struct run *r, int fd)
{
	if (r->nheld >= MAX_HELD)
		fz_die("too many held fds");
	r->held[r->nheld++] = fd;
}

/* An fd that maps [off, off + size) of guest RAM, or one mmap refuses. */
static int mem_fd(struct run *r, uint64_t off, uint64_t size)
{
	uint64_t end;

	if (__builtin_add_overflow(off, size, &end) || end > RAM_CAP)
		return eventfd(0, EFD_CLOEXEC);
	if (end > r->ram_size) {
		if (ftruncate(ram_fd, (off_t)end))
			fz_die("ftruncate");
		r->ram_size = end;
	}
	return dup(ram_fd);
}

static int natural_fd(struct run *r, const struct vhost_user_msg *m,
		      size_t paylen, unsigned i)
{
	const struct vhost_user_mem_region *reg = NULL;
	int sv[2];

	switch (m->hdr.request) {
	case VHOST_USER_SET_MEM_TABLE:
		if (paylen >= 8 + (i + 1) * sizeof(*reg) &&
		    i < VHOST_USER_MEM_REGIONS_MAX)
			reg = &m->payload.memory.regions[i];
		break;
	case VHOST_USER_ADD_MEM_REG:
	case VHOST_USER_REM_MEM_REG:
		if (paylen >= sizeof(m->payload.mem_reg))
			reg = &m->payload.mem_reg.region;
		break;
	case VHOST_USER_SET_BACKEND_REQ_FD:
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
			fz_die("socketpair");
		hold(r, sv[1]);
		return sv[0];
	default:
		return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	}
	if (!reg)
		return mem_fd(r, 0, RAM_BASE);
	return mem_fd(r, reg->mmap_offset, reg->memory_size);
}

static size_t auto_nfds(const struct vhost_user_msg *m, size_t paylen)
{
	switch (m->hdr.request) {
	case VHOST_USER_SET_MEM_TABLE:
		if (paylen < 4)
			return 0;
		return m->payload.memory.nregions < VHOST_USER_MAX_FDS ?
			       m->payload.memory.nregions : VHOST_USER_MAX_FDS;
	case VHOST_USER_ADD_MEM_REG:
	case VHOST_USER_REM_MEM_REG:
	case VHOST_USER_SET_BACKEND_REQ_FD:
		return 1;
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
		return paylen >= 8 && (m->payload.u64 & VHOST_USER_VRING_NOFD_MASK) ?
			       0 : 1;
	default:
		return 0;
	}
}

static size_t make_fds(struct run *r, const struct vhost_user_msg *m,
		       size_t paylen, uint32_t ctl, int *fds)
{
	unsigned count = ctl >> 4, kind = ctl & 0xf;
	size_t n = count ? count - 1 : auto_nfds(m, paylen);

	if (n > VHOST_USER_MAX_FDS)
		n = VHOST_USER_MAX_FDS;
	for (size_t i = 0; i < n; i++) {
		switch (kind) {
		case 1:
			fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			break;
		case 2:
			fds[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
			break;
		case 3:
			fds[i] = dup(ram_fd);
			break;
		default:
			fds[i] = natural_fd(r, m, paylen, (unsigned)i);
			break;
		}
		if (fds[i] < 0)
			fz_die("cannot make an fd: %s", strerror(errno));
	}
	/* Keep a way to kick the queue whose kick fd this is. */
	if (m->hdr.request == VHOST_USER_SET_VRING_KICK && n == 1 && paylen >= 8) {
		uint64_t q = m->payload.u64 & VHOST_USER_VRING_IDX_MASK;

		if (q < NQ_MAX) {
			if (r->kick[q] >= 0)
				close(r->kick[q]);
			r->kick[q] = dup(fds[0]);
		}
	}
	return n;
}

static void drain(int fd)
{
	char buf[4096];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static void pseudo(struct run *r, const struct vhost_user_msg *m, size_t paylen)
{
	if (m->hdr.request == FZ_POKE && paylen >= 4) {
		uint32_t off;
		size_t n = paylen - 4;

		memcpy(&off, m->payload.raw, 4);
		off %= RAM_BASE;
		if (off + n > r->ram_size)
			n = r->ram_size - off;
		if (pwrite(ram_fd, m->payload.raw + 4, n, off) < 0)
			fz_die("pwrite");
	} else if (m->hdr.request == FZ_KICK && paylen >= 1) {
		unsigned q = m->payload.raw[0];

		if (q < NQ_MAX && r->kick[q] >= 0)
			(void)eventfd_write(r->kick[q], 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct vu_backend_cfg cfg = { 0 };
	struct run r = { .peer = -1, .ram_size = RAM_BASE };
	struct vu_backend *be;
	struct vu_conn *c;
	uint8_t conf = fz_u8(&in);
	int sv[2], fds_before = fz_fd_begin(1);

	for (unsigned i = 0; i < NQ_MAX; i++)
		r.kick[i] = -1;
	/* Fresh, zeroed guest RAM: nothing maps it between runs. */
	if (ftruncate(ram_fd, 0) || ftruncate(ram_fd, RAM_BASE))
		fz_die("ftruncate");
	cfg.num_request_queues = 1 + (conf & 1);
	cfg.thread_pool_size = conf & 2 ? 2 : 0;
	cfg.shm_size = conf & 4 ? 1ull << 30 : 0;
	if (vu_backend_new(&cfg, &stub_ops, NULL, &be))
		fz_die("vu_backend_new");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		fz_die("socketpair");
	r.peer = sv[1];
	if (vu_conn_new(be, sv[0], &c))
		fz_die("vu_conn_new");

	while (in.left) {
		struct vhost_user_msg m;
		int fds[VHOST_USER_MAX_FDS];
		size_t len, nfds, paylen = 0;
		uint32_t ctl;
		int rc;

		if (in.left < sizeof(m.hdr)) {
			/* A truncated header, as it is. */
			rc = vu_handle_msg(c, in.p, in.left, NULL, 0);
			in.left = 0;
			break;
		}
		memset(&m, 0, sizeof(m));
		memcpy(&m.hdr, in.p, sizeof(m.hdr));
		in.p += sizeof(m.hdr);
		in.left -= sizeof(m.hdr);
		len = m.hdr.size < in.left ? m.hdr.size : in.left;
		/* More than a message can hold: the backend only sees the length. */
		paylen = len < sizeof(m.payload) ? len : sizeof(m.payload);
		memcpy(&m.payload, in.p, paylen);
		in.p += len;
		in.left -= len;
		if (m.hdr.request >= FZ_POKE && m.hdr.request <= FZ_KICK) {
			pseudo(&r, &m, paylen);
			continue;
		}
		ctl = m.hdr.flags >> 24;
		m.hdr.flags &= 0x00ffffffu;
		nfds = make_fds(&r, &m, paylen, ctl, fds);
		if (len > paylen) {
			/* Oversized: hand over a buffer of the full length. */
			uint8_t *big = calloc(1, sizeof(m.hdr) + len);

			if (!big)
				fz_die("calloc");
			memcpy(big, &m, sizeof(m));
			rc = vu_handle_msg(c, big, sizeof(m.hdr) + len, fds, nfds);
			free(big);
		} else {
			rc = vu_handle_msg(c, &m, sizeof(m.hdr) + len, fds, nfds);
		}
		drain(r.peer);
		if (rc)
			break; /* the backend drops the frontend here */
	}

	vu_conn_free(c); /* closes the backend's end of the socket */
	vu_backend_free(be);
	close(r.peer);
	for (unsigned i = 0; i < NQ_MAX; i++)
		if (r.kick[i] >= 0)
			close(r.kick[i]);
	for (unsigned i = 0; i < r.nheld; i++)
		close(r.held[i]);
	fz_fd_end("fuzz-vhost-msg", fds_before);
	return 0;
}
