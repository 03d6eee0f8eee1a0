/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Split virtqueue, device side. Every ring field is read once, through
 * le*toh(), and every guest address goes through the memory table. A
 * malformed chain never stops the queue: it comes back from vq_pop() as an
 * element with ->bad set, which the caller completes with length 0.
 */
#ifndef VDAX_VHOST_VIRTQ_H
#define VDAX_VHOST_VIRTQ_H

#include <linux/virtio_ring.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vhost/mem.h"

/*
 * Full memory barrier between our ring stores and the loads that follow
 * (callers say what it pairs with). ThreadSanitizer does not model
 * standalone fences, so under it a seq_cst read-modify-write stands in.
 */
static inline void vq_mb(void)
{
#if defined(__SANITIZE_THREAD__)
	static int vq_mb_dummy;

	__atomic_fetch_add(&vq_mb_dummy, 0, __ATOMIC_SEQ_CST);
#else
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

#define VQ_MAX_SIZE 32768u
#define VQ_MAX_IOV 1024u /* iovecs per chain, all descriptors together */

struct vq_elem {
	uint16_t head;
	bool bad;	     /* malformed chain: complete with len 0 */
	unsigned rd_cnt;     /* device-readable iovecs, iov[0 .. rd_cnt) */
	unsigned wr_cnt;     /* device-writable ones follow */
	struct vu_mem *mem;  /* keeps what the iovecs point into mapped */
	struct vq_elem *next; /* for the caller's lists (worker pool) */
	void *owner;	     /* for the caller: which queue */
	struct iovec iov[];
};

struct vq {
	pthread_mutex_t lock;
	pthread_cond_t idle; /* signalled when inflight drops to 0 */

	/* Everything below is protected by lock. */
	unsigned num;	/* ring size; 0 = not configured */
	uint64_t desc_uva, avail_uva, used_uva; /* frontend-virtual */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	struct vu_mem *mem; /* table the ring pointers come from (ref) */
	uint16_t last_avail_idx;
	uint16_t used_idx;
	uint16_t signalled_used;
	bool signalled_used_valid;
	bool event_idx;
	bool indirect;
	bool broken;	   /* avail idx went mad: stop popping */
	unsigned inflight; /* popped, not yet pushed */
	struct iovec *scratch; /* VQ_MAX_IOV entries for walking a chain */
};

int vq_init(struct vq *vq);
void vq_destroy(struct vq *vq);

/* True if @num is a valid split ring size. */
bool vq_size_valid(unsigned num);

/*
 * Point the ring at @mem (caller holds vq->lock): translate the three
 * frontend-virtual ring addresses, each of which must fit whole in one
 * region. Takes its own reference on @mem. -EFAULT if they do not, -EINVAL
 * if the ring is not configured or misaligned.
 */
int vq_map_rings_locked(struct vq *vq, struct vu_mem *mem);
/* Drop the ring mapping (caller holds vq->lock). */
void vq_unmap_rings_locked(struct vq *vq);
/* Ring (re)starts: read used->idx, forget old notification state. */
void vq_start_locked(struct vq *vq);

/*
 * Pop the next available chain. 0 and *@out (free it with vq_push()),
 * -EAGAIN if none is available, -EIO if the queue is broken or not mapped,
 * -ENOMEM.
 */
int vq_pop(struct vq *vq, struct vq_elem **out);

/*
 * Whether the driver may be waiting for an interrupt it has not had: with
 * EVENT_IDX, used->idx is past the used_event it set; without, interrupts
 * are on and something was ever used. Caller holds vq->lock. For a new
 * call fd (SET_VRING_CALL): a notification sent to the old one may never
 * reach the driver.
 */
bool vq_owed_notify_locked(struct vq *vq);
/* The driver's used_event (0 without EVENT_IDX). Caller holds vq->lock. */
uint16_t vq_used_event_locked(const struct vq *vq);

/*
 * Return @elem to the driver with @len bytes written and free it. Returns
 * true if the driver wants an interrupt now (EVENT_IDX / NO_INTERRUPT).
 * Safe to call from any thread, in any order.
 */
bool vq_push(struct vq *vq, struct vq_elem *elem, uint32_t len);

/*
 * Ask the driver for kicks again. Returns true if more buffers arrived
 * meanwhile (so the caller must pop again before sleeping).
 */
bool vq_enable_notify(struct vq *vq);
void vq_disable_notify(struct vq *vq);

/* Wait until every popped element has been pushed. */
void vq_wait_idle(struct vq *vq);

#endif
