// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A tiny fake vhost-user-fs backend that maps the frontend's memfd and
 * writes bad used elements; libvdax must answer -EIO (never crash, never
 * hang) and keep working for the good replies that follow.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vdax/vdax.h"
#include "tap.h"

enum mode {
	M_GOOD,
	M_SHORT,      /* used len < out header */
	M_OVERSIZED,  /* used len > writable buffer */
	M_UNIQUE,     /* wrong unique */
	M_LENMISMATCH,/* out.len != used len */
	M_BADERR,     /* positive error */
	M_HUGEERR,    /* error out of range */
	M_BADID,      /* used id not in flight, then a good reply */
	M_ERRNO,      /* a proper -ENOENT */
};

struct hdr {
	uint32_t request, flags, size;
} __attribute__((packed));

static int lfd;
static char sock_path[256];
static volatile enum mode mode; /* next reply's flavour */
static char *mem;		/* frontend memory, mapped */
static size_t mem_size;
static uint64_t mem_uaddr;	/* frontend's address of it */
static struct {
	uint32_t num;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	int kick, call;
	uint16_t last_avail;
} vq[2];
static int conn = -1;

static void *uva(uint64_t a)
{
	return mem + (a - mem_uaddr);
}

static int recv_msg(int fd, struct hdr *h, void *payload, int *fdout)
{
	char cbuf[CMSG_SPACE(8 * sizeof(int))];
	struct iovec iov = { h, sizeof(*h) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	ssize_t n = recvmsg(fd, &m, MSG_WAITALL);

	*fdout = -1;
	if (n != sizeof(*h))
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_type == SCM_RIGHTS)
			memcpy(fdout, CMSG_DATA(c), sizeof(int));
	if (h->size && recv(fd, payload, h->size, MSG_WAITALL) != h->size)
		return -1;
	return 0;
}

static void reply_u64(int fd, uint32_t req, uint64_t v)
{
	struct hdr h = { req, 0x1 | 0x4, 8 };
	char buf[20];

	memcpy(buf, &h, 12);
	memcpy(buf + 12, &v, 8);
	if (write(fd, buf, 20) != 20)
		perror("fake reply");
}

/* vhost-user setup until queue 1 is enabled. */
static int setup(int fd)
{
	for (;;) {
		struct hdr h;
		union {
			uint64_t u64[64];
			uint32_t u32[128];
		} p;
		int rfd;

		if (recv_msg(fd, &h, &p, &rfd))
			return -1;
		switch (h.request) {
		case 1: /* GET_FEATURES */
			reply_u64(fd, 1, (1ull << 32) | (1ull << 30));
			break;
		case 15: /* GET_PROTOCOL_FEATURES: nothing */
			reply_u64(fd, 15, 0);
			break;
		case 5: { /* SET_MEM_TABLE */
			uint64_t *r = &p.u64[1];

			mem_size = r[1];
			mem_uaddr = r[2];
			mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE,
				   MAP_SHARED, rfd, r[3]);
			close(rfd);
			if (mem == MAP_FAILED)
				return -1;
			break;
		}
		case 8: /* SET_VRING_NUM */
			vq[p.u32[0] & 1].num = p.u32[1];
			break;
		case 9: { /* SET_VRING_ADDR */
			uint32_t i = p.u32[0] & 1;

			vq[i].desc = uva(p.u64[1]);
			vq[i].used = uva(p.u64[2]);
			vq[i].avail = uva(p.u64[3]);
			break;
		}
		case 12: /* KICK */
			vq[p.u64[0] & 1].kick = rfd;
			break;
		case 13: /* CALL */
			vq[p.u64[0] & 1].call = rfd;
			break;
		case 18: /* SET_VRING_ENABLE */
			if (p.u32[0] == 1)
				return 0;
			break;
		default:
			if (rfd >= 0)
				close(rfd);
			break;
		}
	}
}

static void push_used(int q, uint32_t id, uint32_t len)
{
	uint16_t idx = vq[q].used->idx;
	uint64_t one = 1;

	vq[q].used->ring[idx % vq[q].num].id = id;
	vq[q].used->ring[idx % vq[q].num].len = len;
	__atomic_store_n(&vq[q].used->idx, (uint16_t)(idx + 1),
			 __ATOMIC_RELEASE);
	if (write(vq[q].call, &one, 8) != 8)
		perror("fake call");
}

static void serve_one(int q, uint16_t head)
{
	struct vring_desc *d0 = &vq[q].desc[head], *d1;
	struct fuse_in_header ih;
	struct fuse_out_header *oh;
	char *out;
	uint32_t cap, len;

	memcpy(&ih, mem + d0->addr, sizeof(ih));
	if (!(d0->flags & VRING_DESC_F_NEXT)) { /* FORGET & co */
		push_used(q, head, 0);
		return;
	}
	d1 = &vq[q].desc[d0->next];
	out = mem + d1->addr;
	cap = d1->len;
	oh = (void *)out;
	memset(out, 0, cap);
	oh->unique = ih.unique;
	if (ih.opcode == FUSE_INIT) {
		struct fuse_init_out *io = (void *)(oh + 1);

		io->major = 7;
		io->minor = 31;
		io->max_write = 65536;
		io->flags = FUSE_BIG_WRITES;
		len = sizeof(*oh) + sizeof(*io);
	} else {
		struct fuse_attr_out *ao = (void *)(oh + 1);

		ao->attr.ino = 1;
		ao->attr.mode = S_IFDIR | 0755;
		ao->attr.nlink = 2;
		len = sizeof(*oh) + sizeof(*ao);
		switch (mode) {
		case M_SHORT:
			oh->len = 8;
			push_used(q, head, 8);
			return;
		case M_OVERSIZED:
			oh->len = cap + 4096;
			push_used(q, head, cap + 4096);
			return;
		case M_UNIQUE:
			oh->unique = ih.unique + 1000;
			break;
		case M_LENMISMATCH:
			oh->len = len - 8;
			push_used(q, head, len);
			return;
		case M_BADERR:
			oh->error = 5;
			len = sizeof(*oh);
			break;
		case M_HUGEERR:
			oh->error = -100000;
			len = sizeof(*oh);
			break;
		case M_BADID:
			push_used(q, 999, 16);
			push_used(q, (head + 1) % vq[q].num, 16); /* not in flight */
			break;
		case M_ERRNO:
			oh->error = -ENOENT;
			len = sizeof(*oh);
			break;
		default:
			break;
		}
	}
	oh->len = len;
	push_used(q, head, len);
}

static void *fake_backend(void *arg)
{
	int fd = accept(lfd, NULL, NULL);

	conn = fd;
	if (fd < 0 || setup(fd))
		return NULL;
	for (;;) {
		struct pollfd pfd[2] = { { .fd = vq[1].kick, .events = POLLIN },
					 { .fd = fd, .events = POLLIN } };
		uint64_t cnt;

		if (poll(pfd, 2, -1) < 0)
			break;
		if (pfd[1].revents) {
			char c;

			if (recv(fd, &c, 1, MSG_PEEK) <= 0)
				break;
		}
		if (!pfd[0].revents)
			continue;
		if (read(vq[1].kick, &cnt, 8) < 0)
			continue;
		while (vq[1].last_avail !=
		       __atomic_load_n(&vq[1].avail->idx, __ATOMIC_ACQUIRE)) {
			uint16_t head = vq[1].avail->ring[vq[1].last_avail %
							  vq[1].num];

			vq[1].last_avail++;
			serve_one(1, head);
		}
	}
	return NULL;
}

int main(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vdax_opts o = { 0 };
	struct vdax *vd;
	pthread_t th;
	struct stat st;
	int ret;
	static const struct {
		enum mode m;
		int want;
		const char *what;
	} cases[] = {
		{ M_SHORT, -EIO, "used len shorter than out header" },
		{ M_OVERSIZED, -EIO, "used len beyond the buffer" },
		{ M_UNIQUE, -EIO, "wrong unique" },
		{ M_LENMISMATCH, -EIO, "out.len != used len" },
		{ M_BADERR, -EIO, "positive error" },
		{ M_HUGEERR, -EIO, "error out of range" },
		{ M_ERRNO, -ENOENT, "proper errno passes through" },
		{ M_BADID, 0, "bogus used ids ignored, good reply accepted" },
		{ M_GOOD, 0, "good reply after all that" },
	};

	snprintf(sock_path, sizeof(sock_path), "/tmp/vdax-fake-%d.sock",
		 (int)getpid());
	strcpy(sa.sun_path, sock_path);
	unlink(sock_path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 1))
		tap_bail("cannot listen");
	pthread_create(&th, NULL, fake_backend, NULL);
	o.socket_path = sock_path;
	o.mem_size = 4 << 20;
	o.timeout_ms = 5000; /* a bug must fail, not hang */
	ret = vdax_open_session(&o, &vd);
	is_int(ret, 0, "session with the fake backend");
	if (ret)
		return tap_done();
	is_int(vdax_proto_minor(vd), 31, "minor from the fake INIT");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mode = cases[i].m;
		is_int(vdax_stat(vd, "/", &st), cases[i].want, "%s",
		       cases[i].what);
	}
	ok(S_ISDIR(st.st_mode), "attributes from the good reply");
	/* the backend goes away: pending and later calls fail */
	shutdown(conn, SHUT_RDWR);
	pthread_join(th, NULL);
	close(conn);
	for (int i = 0; i < 100; i++) {
		ret = vdax_stat(vd, "/", &st);
		if (ret == -ENOTCONN)
			break;
		usleep(10000);
	}
	is_int(ret, -ENOTCONN, "disconnect -> ENOTCONN");
	vdax_close(vd);
	unlink(sock_path);
	close(lfd);
	return tap_done();
}
