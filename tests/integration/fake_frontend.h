/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small vhost-user frontend for tests: "guest RAM" is a memfd shared with
 * SET_MEM_TABLE (guest-physical address = offset in the memfd, frontend
 * virtual address = where we mapped it), split virtqueues laid out in it,
 * and helpers to send FUSE-style requests as descriptor chains.
 *
 * Every queue has a fixed area: rings, then FF_SLOTS request slots, each
 * with FF_SLOT_DESCS descriptors (desc index = slot * FF_SLOT_DESCS + i) and
 * a private data area. Slots make concurrent requests on one queue easy.
 */
#ifndef VDAX_TESTS_FAKE_FRONTEND_H
#define VDAX_TESTS_FAKE_FRONTEND_H

#include <linux/fuse.h>
#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vhost/vhost_user.h"

#define FF_QSIZE 256
#define FF_SLOT_DESCS 8
#define FF_SLOTS (FF_QSIZE / FF_SLOT_DESCS)
#define FF_QAREA (4u << 20)
#define FF_MAX_QUEUES 8

struct ff;

struct ff_opts {
	unsigned nreq;		/* request queues besides hiprio (>= 1) */
	bool no_event_idx;	/* don't ack VIRTIO_RING_F_EVENT_IDX */
	bool no_indirect;	/* don't ack VIRTIO_RING_F_INDIRECT_DESC */
	bool split_ram;		/* share RAM as two regions */
	bool mem_slots;		/* ADD_MEM_REG instead of SET_MEM_TABLE */
	bool backend_channel;	/* BACKEND_REQ + SHMEM: see ff_chan_fd() */
	bool config;		/* ack VHOST_USER_PROTOCOL_F_CONFIG if offered */
};

struct ff_slot {
	unsigned queue;
	unsigned id;
	uint16_t desc_base;	/* first descriptor index of the slot */
	uint64_t data_gpa;
	uint8_t *data;
	size_t data_len;
};

/* Take ownership of a connected socket. */
int ff_new(int sock, struct ff **out);
/* Connect to @path, retrying for up to @timeout_ms while it isn't there. */
int ff_connect(const char *path, int timeout_ms, struct ff **out);
/* Negotiate and set up hiprio + nreq queues. 0 or -errno. */
int ff_setup(struct ff *f, const struct ff_opts *o);
/* Guest reboot: GET_VRING_BASE on every ring, then a fresh setup. */
int ff_reboot(struct ff *f);
void ff_free(struct ff *f);
int ff_sock(struct ff *f);
uint64_t ff_features(struct ff *f);	/* acked virtio features */
uint64_t ff_protocol(struct ff *f);	/* acked protocol features */

/*
 * Send one request on queue @q: device-readable @out buffers, then
 * device-writable @in buffers; wait for the used element. The reply bytes
 * are copied back into @in. 0 and *@used_len, -ETIMEDOUT, -E2BIG.
 */
int ff_request(struct ff *f, unsigned q, const struct iovec *out,
	       unsigned nout, const struct iovec *in, unsigned nin,
	       int timeout_ms, uint32_t *used_len);

/*
 * One FUSE request on queue @q: a fuse_in_header (@opcode, @nodeid,
 * @unique, and the caller's uid, gid and pid), then @a and @b (either may
 * be empty) out; the reply's header into @oh and up to @room bytes of its
 * body into @data in (@oh is zeroed first). As ff_request().
 */
int ff_fuse(struct ff *f, unsigned q, uint32_t opcode, uint64_t nodeid,
	    uint64_t unique, const void *a, size_t alen, const void *b,
	    size_t blen, struct fuse_out_header *oh, void *data, size_t room,
	    int timeout_ms, uint32_t *used_len);

/* Low level: build chains by hand. */
int ff_slot_get(struct ff *f, unsigned q, struct ff_slot *s);
void ff_slot_put(struct ff *f, struct ff_slot *s);
struct vring_desc *ff_desc_table(struct ff *f, unsigned q);
void ff_set_desc(struct ff *f, unsigned q, uint16_t i, uint64_t addr,
		 uint32_t len, uint16_t flags, uint16_t next);
void ff_publish(struct ff *f, unsigned q, uint16_t head);
int ff_wait(struct ff *f, unsigned q, uint16_t head, int timeout_ms,
	    uint32_t *used_len);
uint64_t ff_ram_size(struct ff *f);
/* Our end of the backend channel (-1 without one); requests arrive here. */
int ff_chan_fd(struct ff *f);
/* Read one backend request and the fd that came with it (or -1). */
int ff_chan_recv(struct ff *f, struct vhost_user_msg *m, int *fd, int timeout_ms);
/* Answer a backend request that asked for an ack. */
int ff_chan_ack(struct ff *f, uint32_t req, uint64_t val);

/*
 * The frontend's side of the DAX window: reserve @size bytes PROT_NONE and
 * serve SHMEM_MAP / SHMEM_UNMAP for shmid 0 from a thread, mmap()ing the
 * received fd MAP_FIXED at window + shm_offset (unmap puts a fresh
 * PROT_NONE reservation back) and answering with REPLY_ACK (0 or a
 * positive errno). Needs ff_opts.backend_channel. Stop it before ff_free().
 */
struct ff_window;
int ff_window_start(struct ff *f, uint64_t size, struct ff_window **out);
uint8_t *ff_window_base(const struct ff_window *w);
/* Requests answered so far, and how many of them were refused. */
unsigned ff_window_served(struct ff_window *w, unsigned *refused);
void ff_window_stop(struct ff_window *w);

/* Raw vhost-user messages. */
int ff_send(struct ff *f, uint32_t req, uint32_t flags, const void *pl,
	    uint32_t size, const int *fds, size_t nfds);
/* Receive one message: payload size, -ETIMEDOUT, or -ENOTCONN on EOF. */
int ff_recv(struct ff *f, struct vhost_user_msg *m, int timeout_ms);
/* Send with NEED_REPLY and return the ack (0 ok, else failure) or -errno. */
int ff_call(struct ff *f, uint32_t req, const void *pl, uint32_t size,
	    const int *fds, size_t nfds);
/*
 * SET_VRING_CALL with a fresh eventfd for queue @q, which becomes the
 * queue's call fd (the old one is closed): the fd, or -errno.
 */
int ff_swap_call(struct ff *f, unsigned q);
/* The driver's used_event of queue @q (EVENT_IDX), and the used index. */
void ff_set_used_event(struct ff *f, unsigned q, uint16_t v);
uint16_t ff_used_idx(struct ff *f, unsigned q);
/* GET_VRING_BASE. */
int ff_get_vring_base(struct ff *f, unsigned q, uint32_t *base);

#endif
