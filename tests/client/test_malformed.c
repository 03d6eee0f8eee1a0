// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A tiny fake vhost-user-fs backend that maps the frontend's memfd and
 * writes bad used elements; libvdax must answer -EIO (never crash, never
 * hang) and keep working for the good replies that follow. It also misses
 * one notification, as a device with a lost-wakeup race does: libvdax
 * must notify it again and get its answer.
 *
 * Then a second session with dax=always: the fake offers BACKEND_REQ,
 * BACKEND_SEND_FD, REPLY_ACK and SHMEM (bit 21), advertises an 8 MiB
 * window and sends malformed SHMEM_MAP / SHMEM_UNMAP requests on the
 * backend channel. Each must get a non-zero ack and map nothing (libvdax
 * runs in this process: /proc/self/maps shows every mapping of the fake's
 * temporary file), no fd may leak, and the session must keep working.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vdax/vdax.h"
#include "tap.h"
#include "vhost/vhost_user.h"

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
/* Set: the fake misses the next notification (a device that lost our
 * kick); it clears it when it has. */
static int deaf;
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
static int dax_phase;		/* 1: offer a DAX window, 2: and stall in it */
static uint32_t refuse_req;	/* a SET request the fake acks with 1 */
static uint64_t acked_pf;	/* protocol features the frontend took */
static int chan = -1;		/* our end of the backend channel */

#define FAKE_WIN (8ull << 20)
#define PF_DAX ((1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |		\
		(1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ) |		\
		(1ull << VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD) |	\
		(1ull << VHOST_USER_PROTOCOL_F_SHMEM))

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
			continue;
		case 15: /* GET_PROTOCOL_FEATURES: nothing, or DAX's set */
			reply_u64(fd, 15, dax_phase ? PF_DAX : 0);
			continue;
		case 16: /* SET_PROTOCOL_FEATURES (never acked itself) */
			acked_pf = p.u64[0];
			continue;
		case 44: { /* GET_SHMEM_CONFIG: region 0 is the window */
			struct {
				struct hdr h;
				struct vhost_user_shmem_config c;
			} __attribute__((packed)) r = {
				{ 44, 0x1 | 0x4, sizeof(r.c) },
				{ .nregions = 1, .memory_sizes = { FAKE_WIN } },
			};

			/* phase 2: a reply cut short, then silence */
			size_t len = dax_phase == 2 ? sizeof(r.h) + 100 :
						      sizeof(r);

			if (write(fd, &r, len) != (ssize_t)len)
				perror("fake shmem config");
			continue;
		}
		case 21: /* SET_BACKEND_REQ_FD */
			__atomic_store_n(&chan, rfd, __ATOMIC_RELEASE);
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
			break;
		default:
			if (rfd >= 0)
				close(rfd);
			break;
		}
		/* REPLY_ACK for the messages without a reply of their own */
		if ((h.flags & 0x8) &&
		    (acked_pf & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK)))
			reply_u64(fd, h.request, h.request == refuse_req);
		if (h.request == 18 && p.u32[0] == 1)
			return 0;
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
	int fd;

	(void)arg;
	/* a fresh device for every session */
	memset(vq, 0, sizeof(vq));
	for (int i = 0; i < 2; i++)
		vq[i].kick = vq[i].call = -1;
	mem = NULL;
	acked_pf = 0;
	fd = accept(lfd, NULL, NULL);
	__atomic_store_n(&conn, fd, __ATOMIC_RELEASE);
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
		if (__atomic_exchange_n(&deaf, 0, __ATOMIC_ACQ_REL))
			continue;
		while (vq[1].last_avail !=
		       __atomic_load_n(&vq[1].avail->idx, __ATOMIC_ACQUIRE)) {
			uint16_t head = vq[1].avail->ring[vq[1].last_avail %
							  vq[1].num];

			vq[1].last_avail++;
			serve_one(1, head);
		}
	}
	for (int i = 0; i < 2; i++) {
		if (vq[i].kick >= 0)
			close(vq[i].kick);
		if (vq[i].call >= 0)
			close(vq[i].call);
	}
	munmap(mem, mem_size);
	return NULL;
}

/* ---- the DAX session: malformed requests on the backend channel ---- */

static char shm_path[64];	/* the fake's file, as /proc/self/maps names it */

/*
 * One backend request on the channel (NEED_REPLY), @nfds copies of @fd.
 * Returns the ack (0 = done, else the errno libvdax sent) or -1 when no
 * well-formed ack came back within 5 seconds.
 */
static long chan_req_n(uint32_t req, const void *pl, uint32_t size, int fd,
		       int nfds)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct hdr h = { req, 0x1 | 0x8, size };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)pl, size } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };
	struct pollfd pfd = { .fd = chan, .events = POLLIN };
	struct {
		struct hdr h;
		uint64_t v;
	} __attribute__((packed)) r;
	ssize_t want = (ssize_t)(sizeof(h) + size);

	if (fd >= 0 && nfds > 0) {
		int fds[2] = { fd, fd };
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		m.msg_control = cm.buf;
		m.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	}
	if (sendmsg(chan, &m, MSG_NOSIGNAL) != want)
		return -1;
	if (poll(&pfd, 1, 5000) != 1 ||
	    recv(chan, &r, sizeof(r), MSG_WAITALL) != (ssize_t)sizeof(r) ||
	    r.h.request != req || !(r.h.flags & 0x4) || r.h.size != 8)
		return -1;
	return (long)r.v;
}

static long chan_req(uint32_t req, const struct vhost_user_shmem_map *mp,
		     int fd)
{
	return chan_req_n(req, mp, sizeof(*mp), fd, 1);
}

/* Mappings of the fake's file in this process: count, bytes, first one. */
static unsigned shm_maps(uint64_t *bytes, unsigned long *first)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	unsigned n = 0;

	*bytes = 0;
	if (first)
		*first = 0;
	if (!f)
		return ~0u;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (!strstr(line, shm_path) ||
		    sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		if (!n && first)
			*first = lo;
		n++;
		*bytes += hi - lo;
	}
	fclose(f);
	return n;
}

static int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void *close_thread(void *arg)
{
	vdax_close(arg);
	return NULL;
}

static bool join_within(pthread_t t, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return pthread_timedjoin_np(t, NULL, &ts) == 0;
}

/*
 * The backend sends half a SHMEM_MAP (a header announcing 40 bytes, then
 * 12) and nothing more. Requests on the queues do not need the channel;
 * vdax_close() must not wait for the rest. If it does, the rest is sent so
 * that the test can finish.
 */
static void close_stuck_channel(struct vdax *vd)
{
	struct vhost_user_shmem_map m = { .len = 4096 };
	struct hdr h = { 9, 0x1 | 0x8, sizeof(m) };
	char part[sizeof(h) + sizeof(m)];
	struct stat st;
	pthread_t t;
	bool back;

	memcpy(part, &h, sizeof(h));
	memcpy(part + sizeof(h), &m, sizeof(m));
	if (send(chan, part, sizeof(h) + 12, MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(h) + 12)
		tap_bail("send on the backend channel");
	usleep(100000);
	is_int(vdax_stat(vd, "/", &st), 0,
	       "dax: half a backend message pending: the session works");
	if (pthread_create(&t, NULL, close_thread, vd))
		tap_bail("thread");
	back = join_within(t, 2000);
	ok(back, "dax: vdax_close() returns with half a backend message "
	   "pending");
	if (back)
		return;
	/* rescue: complete the message, then the thread can stop */
	if (send(chan, part + sizeof(h) + 12, sizeof(m) - 12, MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(m) - 12 || !join_within(t, 5000))
		tap_bail("vdax_close() hangs for good");
}

enum { FD_FILE, FD_RO, FD_NONE, FD_PIPE, FD_PIPE_W, FD_DIR, FD_PATH, FD_N };

static void dax_session(void)
{
	const uint64_t K4 = 4096, M1 = 1u << 20, M2 = 2u << 20;
	struct vdax_opts o = { .socket_path = sock_path,
			       .mem_size = 4 << 20,
			       .timeout_ms = 5000,
			       .options = "dax=always" };
	static const struct {
		uint32_t req;
		uint8_t shmid;
		uint64_t fd_off, shm_off, len, flags;
		int fd;
		uint32_t size; /* payload bytes if not the struct's */
		const char *what;
	} bad[] = {
		{ 9, 0, 0, 8 << 20, 4096, 0, FD_FILE, 0, "map outside the window" },
		{ 9, 0, 0, (8 << 20) - 4096, 8192, 0, FD_FILE, 0,
		  "map across the window's end" },
		{ 9, 0, 0, 100, 4096, 0, FD_FILE, 0, "misaligned window offset" },
		{ 9, 0, 0, 0, 100, 0, FD_FILE, 0, "misaligned length" },
		{ 9, 0, 100, 0, 4096, 0, FD_FILE, 0, "misaligned file offset" },
		{ 9, 0, 0, 0, 0, 0, FD_FILE, 0, "length 0" },
		{ 9, 0, 0, ~0ull - 4095, 8192, 0, FD_FILE, 0,
		  "window offset + length overflows" },
		{ 9, 0, ~0ull - 4095, 0, 8192, 0, FD_FILE, 0,
		  "file offset + length overflows" },
		{ 9, 0, 1ull << 63, 0, 4096, 0, FD_FILE, 0,
		  "file offset beyond off_t" },
		{ 9, 1, 0, 0, 4096, 0, FD_FILE, 0, "shmid 1" },
		{ 9, 255, 0, 0, 4096, 0, FD_FILE, 0, "shmid 255" },
		{ 9, 0, 0, 0, 4096, 2, FD_FILE, 0, "unknown flag bit 1" },
		{ 9, 0, 0, 0, 4096, 1ull << 63, FD_FILE, 0,
		  "unknown flag bit 63" },
		{ 9, 0, 0, 0, 4096, 0, FD_NONE, 0, "map without an fd" },
		{ 9, 0, 0, 0, 4096, 0, FD_PIPE, 0, "map of a pipe" },
		{ 9, 0, 0, 0, 4096, 0, FD_DIR, 0, "map of a directory" },
		{ 9, 0, 0, 0, 4096, 0, FD_PATH, 0, "map of an O_PATH fd" },
		{ 9, 0, 0, 0, 4096, 1, FD_RO, 0,
		  "writable map of a read-only fd" },
		{ 9, 0, 0, 0, 4096, 0, FD_FILE, 32, "map message of 32 bytes" },
		{ 9, 0, 0, 0, 4096, 0, FD_FILE, 48, "map message of 48 bytes" },
		{ 9, 0, 0, 0, 4096, 0, FD_FILE, 4096,
		  "map message bigger than any payload" },
		{ 9, 0, 0, 0, 4096, 0, FD_FILE, 1, "map message of 1 byte" },
		{ 10, 0, 0, 0, 4096, 0, FD_FILE, 0, "unmap with an fd" },
		{ 10, 0, 0, 8 << 20, 4096, 0, FD_NONE, 0,
		  "unmap outside the window" },
		{ 10, 0, 0, 0, 0, 0, FD_NONE, 0, "unmap of length 0" },
		{ 10, 0, 0, 100, 4096, 0, FD_NONE, 0, "misaligned unmap" },
		{ 10, 1, 0, 0, 4096, 0, FD_NONE, 0, "unmap of shmid 1" },
		{ 10, 0, 0, 0, 4096, 0, FD_NONE, 24, "unmap message of 24 bytes" },
		{ 99, 0, 0, 0, 4096, 0, FD_FILE, 0, "unknown backend request" },
	};
	uint64_t bytes;
	unsigned long at;
	struct vdax_stats vs;
	struct vdax *vd;
	struct stat st;
	pthread_t th;
	int fds[FD_N], sfd, rofd, fd0, ret;
	unsigned n;
	long ack;

	/* the file the fake maps: 8 MiB, a marker at 1 MiB + 4 KiB */
	snprintf(shm_path, sizeof(shm_path), "/tmp/vdax-fake-shm-%d",
		 (int)getpid());
	sfd = open(shm_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	rofd = open(shm_path, O_RDONLY | O_CLOEXEC);
	if (sfd < 0 || rofd < 0 || ftruncate(sfd, FAKE_WIN) ||
	    pwrite(sfd, "DAXMARK", 7, M1 + K4) != 7)
		tap_bail("fake shm file");
	fds[FD_FILE] = sfd;
	fds[FD_RO] = rofd;
	fds[FD_NONE] = -1;
	if (pipe2(&fds[FD_PIPE], O_CLOEXEC))
		tap_bail("pipe");
	fds[FD_PATH] = open(shm_path, O_PATH | O_CLOEXEC);
	fds[FD_DIR] = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fds[FD_PATH] < 0 || fds[FD_DIR] < 0)
		tap_bail("fds");

	dax_phase = 1;
	mode = M_GOOD;
	pthread_create(&th, NULL, fake_backend, NULL);
	ret = vdax_open_session(&o, &vd);
	is_int(ret, 0, "dax: session with dax=always on the fake backend");
	if (ret) {
		pthread_join(th, NULL);
		return;
	}
	if (vdax_get_stats(vd, &vs))
		memset(&vs, 0, sizeof(vs));
	ok(vs.window_size == FAKE_WIN,
	   "dax: the window is the advertised 8 MiB (%llu)",
	   (unsigned long long)vs.window_size);
	ok(__atomic_load_n(&chan, __ATOMIC_ACQUIRE) >= 0 &&
	   (acked_pf & PF_DAX) == PF_DAX,
	   "dax: BACKEND_REQ, BACKEND_SEND_FD, REPLY_ACK, SHMEM acked and a "
	   "backend channel set up");
	if (chan < 0) {
		vdax_close(vd);
		pthread_join(th, NULL);
		return;
	}
	fd0 = fd_count();
	ok(shm_maps(&bytes, NULL) == 0, "dax: nothing of the file mapped yet");

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vhost_user_shmem_map m = {
			.shmid = bad[i].shmid, .fd_offset = bad[i].fd_off,
			.shm_offset = bad[i].shm_off, .len = bad[i].len,
			.flags = bad[i].flags,
		};
		uint8_t pl[4096] = { 0 };
		uint32_t size = bad[i].size ? bad[i].size : sizeof(m);

		memcpy(pl, &m, sizeof(m) < size ? sizeof(m) : size);
		ack = chan_req_n(bad[i].req, pl, size, fds[bad[i].fd], 1);
		n = shm_maps(&bytes, NULL);
		ok(ack > 0 && n == 0 && vdax_stat(vd, "/", &st) == 0,
		   "dax: %s -> ack %ld, %u mappings, the session works",
		   bad[i].what, ack, n);
	}

	/* A good map: proves the probe sees what libvdax maps. */
	{
		struct vhost_user_shmem_map m = { .shm_offset = M2, .len = M2,
						  .flags = 1 };

		ack = chan_req(9, &m, sfd);
		n = shm_maps(&bytes, &at);
		ok(ack == 0 && n == 1 && bytes == M2,
		   "dax: a good writable map of 2 MiB at 2 MiB -> ack %ld, "
		   "%u mappings of %llu bytes", ack, n,
		   (unsigned long long)bytes);
		ok(at && !memcmp((char *)at + M1 + K4, "DAXMARK", 7),
		   "dax: the file's bytes are in the window");
		/* two fds: the extra one is dropped, the map replaces the
		 * old one whole (an upgrade) */
		ack = chan_req_n(9, &m, sizeof(m), sfd, 2);
		n = shm_maps(&bytes, &at);
		ok(ack == 0 && n == 1 && bytes == M2,
		   "dax: the same map again with two fds replaces it "
		   "(ack %ld, %u mappings)", ack, n);
	}
	/* Requests that would cut into the live mapping. */
	{
		static const struct {
			uint32_t req;
			uint64_t off, len;
			const char *what;
		} cut[] = {
			{ 9, 1u << 20, 2u << 20, "map overlapping its start" },
			{ 9, 3u << 20, 2u << 20, "map overlapping its end" },
			{ 9, (2u << 20) + 4096, 4096, "map inside it" },
			{ 10, (2u << 20) + 4096, 4096,
			  "unmap of a page inside it" },
			{ 10, 1u << 20, 2u << 20, "unmap of its first half" },
			{ 10, 3u << 20, 2u << 20, "unmap of its second half" },
		};
		unsigned long at0 = at;

		for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
			struct vhost_user_shmem_map m = {
				.shm_offset = cut[i].off, .len = cut[i].len,
			};

			ack = chan_req(cut[i].req, &m,
				       cut[i].req == 9 ? sfd : -1);
			n = shm_maps(&bytes, &at);
			ok(ack > 0 && n == 1 && bytes == M2 && at == at0 &&
			   vdax_stat(vd, "/", &st) == 0,
			   "dax: %s -> ack %ld, the mapping is whole (%u, "
			   "%llu bytes)", cut[i].what, ack, n,
			   (unsigned long long)bytes);
		}
		ok(!memcmp((char *)at0 + M1 + K4, "DAXMARK", 7),
		   "dax: and still shows the file");
	}
	{
		struct vhost_user_shmem_map m = { .shm_offset = 0,
						  .len = 8u << 20 };

		ack = chan_req(10, &m, -1);
		ok(ack == 0 && shm_maps(&bytes, NULL) == 0,
		   "dax: an unmap of the whole window removes it (ack %ld)",
		   ack);
	}
	is_int(fd_count(), fd0, "dax: no fd kept from the refused requests");
	/* Map again, then close with the mapping live. */
	{
		struct vhost_user_shmem_map m = { .shm_offset = 6u << 20,
						  .len = M2 };

		ack = chan_req(9, &m, rofd);
		ok(ack == 0 && shm_maps(&bytes, NULL) == 1,
		   "dax: a good read-only map at 6 MiB (ack %ld)", ack);
	}
	ok(vdax_stat(vd, "/", &st) == 0 && S_ISDIR(st.st_mode),
	   "dax: the session still works");
	close_stuck_channel(vd);
	pthread_join(th, NULL);
	close(conn);
	ok(shm_maps(&bytes, NULL) == 0, "dax: vdax_close() unmaps the window");
	close(chan);
	chan = -1;
	for (int i = 0; i < FD_N; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	unlink(shm_path);
}

static struct {
	struct vdax *vd;
	int ret;
} so;

static void *open_thread(void *arg)
{
	so.ret = vdax_open_session(arg, &so.vd);
	return NULL;
}

/*
 * Start a fresh fake backend (*@th) and open a session on it from another
 * thread, bounded: the setup timeout is 5 s, so 7 s without an answer is a
 * hang, rescued by shutting the connection. True if the open returned in
 * time; its result is in @so.
 */
static bool open_on_fake(struct vdax_opts *o, pthread_t *th)
{
	pthread_t t;
	bool back;

	conn = -1;
	so.vd = NULL;
	so.ret = 1;
	pthread_create(th, NULL, fake_backend, NULL);
	if (pthread_create(&t, NULL, open_thread, o))
		tap_bail("thread");
	back = join_within(t, 7000);
	if (!back) {
		/* rescue: the connection goes, the recv returns */
		int fd = __atomic_load_n(&conn, __ATOMIC_ACQUIRE);

		if (fd >= 0)
			shutdown(fd, SHUT_RDWR);
		if (!join_within(t, 5000))
			tap_bail("vdax_open_session() hangs for good");
	}
	return back;
}

/* Close what open_on_fake() left: the session if any, the connection. */
static void close_on_fake(pthread_t th)
{
	if (so.vd)
		vdax_close(so.vd);
	if (conn >= 0)
		shutdown(conn, SHUT_RDWR);
	pthread_join(th, NULL);
	if (conn >= 0)
		close(conn);
}

/*
 * The backend answers GET_SHMEM_CONFIG with a header announcing 2056
 * bytes, sends 100 and falls silent, the connection open. The session
 * setup is bounded by a timeout; it must not wait for ever for the rest.
 */
static void stalled_shmem_config(void)
{
	struct vdax_opts o = { .socket_path = sock_path,
			       .mem_size = 4 << 20,
			       .timeout_ms = 5000,
			       .options = "dax=always" };
	pthread_t th;
	bool back;

	dax_phase = 2;
	back = open_on_fake(&o, &th);
	ok(back && so.ret < 0,
	   "stalled GET_SHMEM_CONFIG reply: vdax_open_session() gives up "
	   "(%d)", back ? so.ret : 0);
	ok(so.ret < 0 && !so.vd,
	   "stalled GET_SHMEM_CONFIG reply: the session fails (%d)", so.ret);
	close_on_fake(th);
	dax_phase = 0;
}

/*
 * The backend refuses one SET message of the set-up (a REPLY_ACK of 1).
 * libvdax sends them without waiting for each ack, so the refusal is read
 * later: the session must still fail, with EIO, and not hang.
 */
static void refused_set(void)
{
	static const struct {
		uint32_t req;
		const char *what;
	} cases[] = {
		{ 2, "SET_FEATURES" },	   { 5, "SET_MEM_TABLE" },
		{ 9, "SET_VRING_ADDR" },   { 12, "SET_VRING_KICK" },
		{ 18, "SET_VRING_ENABLE" },
	};
	struct vdax_opts o = { .socket_path = sock_path,
			       .mem_size = 4 << 20,
			       .timeout_ms = 5000 };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pthread_t th;
		bool back;

		dax_phase = 1; /* REPLY_ACK offered */
		refuse_req = cases[i].req;
		back = open_on_fake(&o, &th);
		ok(back && so.ret == -EIO && !so.vd,
		   "%s refused: vdax_open_session() fails with EIO (%d)",
		   cases[i].what, back ? so.ret : 0);
		close_on_fake(th);
	}
	refuse_req = 0;
	dax_phase = 0;
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
	{
		/* A device that misses a notification: libvdax's stall
		 * watch notifies it again (without it: ETIMEDOUT in 5 s). */
		struct timespec t0, t1;
		double ms;

		mode = M_GOOD;
		__atomic_store_n(&deaf, 1, __ATOMIC_RELEASE);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		ret = vdax_stat(vd, "/", &st);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (t1.tv_sec - t0.tv_sec) * 1e3 +
		     (t1.tv_nsec - t0.tv_nsec) / 1e6;
		is_int(ret, 0, "a lost notification: the request is answered "
			       "(%.0f ms)", ms);
		ok(!__atomic_load_n(&deaf, __ATOMIC_ACQUIRE) && ms >= 10 &&
			   ms < 2000,
		   "the fake missed the kick and was notified again within "
		   "2 s (%.0f ms)", ms);
	}
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
	dax_session();
	stalled_shmem_config();
	refused_set();
	unlink(sock_path);
	close(lfd);
	return tap_done();
}
