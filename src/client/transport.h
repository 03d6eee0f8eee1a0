/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvdax transport: the VMM's part. A vhost-user frontend that shares a
 * memfd as guest memory, drives split virtqueues (hiprio = 0, requests =
 * 1..N) and completes FUSE requests out of order.
 *
 * A request is one contiguous buffer in guest memory: the device-readable
 * FUSE request (in header + args) followed by the device-writable reply
 * space (out header + args). Requests are reference counted: the caller
 * holds one reference from vdx_req_new() to vdx_req_put(), the ring holds
 * one while the request is in flight, so a caller that gives up (timeout)
 * can walk away and the late reply frees the buffer.
 */
#ifndef VDAX_CLIENT_TRANSPORT_H
#define VDAX_CLIENT_TRANSPORT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vdx_dev;
struct vdx_queue;

enum vdx_req_state { VDX_REQ_NEW, VDX_REQ_PENDING, VDX_REQ_DONE };

struct vdx_req {
	struct vdx_dev *dev;
	void *buf;	  /* in guest memory; request bytes first */
	uint64_t gpa;	  /* guest-physical address of buf */
	size_t buf_size;  /* as allocated (page multiple) */
	size_t in_len;	  /* device-readable bytes at buf */
	size_t out_cap;	  /* device-writable bytes at buf + in_len */
	bool noreply;	  /* FORGET & co: no writable part, no header check */
	uint64_t unique;  /* assigned by vdx_submit() */
	unsigned refs;	  /* atomic */
	/* The fields below are protected by the queue lock once submitted. */
	enum vdx_req_state state;
	int error;	   /* 0 or -errno when DONE */
	uint32_t out_len;  /* validated reply length when DONE */
	pthread_cond_t cv; /* signalled when state becomes DONE */
	struct vdx_queue *q;
	struct vdx_req *wake_next; /* queue_drain()'s list of requests done */
	uint16_t head, ndesc;
};

/* Backend-initiated request hook (SHMEM_MAP = 9, SHMEM_UNMAP = 10, ...).
 * @fd is -1 or an fd the handler must close. Return 0 or -errno; the
 * result is acked (0, or the positive errno) when the backend asked for a
 * reply. Runs on the backend-channel thread: it must never wait for a lock
 * that a thread sending a FUSE request may hold. */
typedef int (*vdx_backend_req_fn)(void *opaque, uint32_t request,
				  const void *payload, size_t size, int fd);

struct vdx_cfg {
	const char *socket_path;
	size_t mem_size;
	unsigned num_queues; /* request queues */
	unsigned queue_size;
	bool want_shmem; /* negotiate PROTOCOL_F_SHMEM if offered (DAX) */
	vdx_backend_req_fn backend_req; /* NULL: answer every request with an error */
	void *backend_req_opaque;
};

int vdx_dev_open(const struct vdx_cfg *cfg, struct vdx_dev **out);
/* Stops the threads, closes the connection, frees everything. Requests
 * still referenced by callers must have been put before. */
void vdx_dev_close(struct vdx_dev *dev);
/* Number of request queues actually set up (may be < cfg->num_queues). */
unsigned vdx_num_queues(const struct vdx_dev *dev);
bool vdx_dev_broken(const struct vdx_dev *dev);
/* Mark the device dead: every pending and later request fails -ENOTCONN. */
void vdx_dev_kill(struct vdx_dev *dev);
/* Size of shared memory region 0 (the DAX window) the backend advertised
 * by GET_SHMEM_CONFIG; 0 if SHMEM was not negotiated or there is none. */
uint64_t vdx_shmem_size(const struct vdx_dev *dev);
/* Largest in_len + out_cap one request can have. */
size_t vdx_max_req(const struct vdx_dev *dev);

/*
 * Allocate a request with @in_len readable and @out_cap writable bytes.
 * Blocks while guest memory is exhausted unless @nowait (then -EAGAIN).
 * A caller already holding requests must use @nowait, or two such callers
 * could wait for each other. -ENOTCONN if the device is dead, -E2BIG if it
 * can never fit.
 */
int vdx_req_new(struct vdx_dev *dev, size_t in_len, size_t out_cap, bool nowait,
		struct vdx_req **out);
void vdx_req_put(struct vdx_req *r);
static inline void *vdx_req_out(struct vdx_req *r)
{
	return (char *)r->buf + r->in_len;
}

/*
 * Put @r on queue @qidx (0 = hiprio). Sets the FUSE unique in the in
 * header. -ENOTCONN if the device is dead.
 */
int vdx_submit(struct vdx_req *r, unsigned qidx);
/*
 * Wait for @r. Returns the reply length (>= 16: out header included) or
 * -errno: the FUSE error from the backend, -EIO for a malformed reply,
 * -ENOTCONN when the backend died, -ETIMEDOUT after @timeout_ms (then
 * FUSE_INTERRUPT has been sent and the reply will be dropped).
 */
int vdx_wait(struct vdx_req *r, unsigned timeout_ms);
/* Pick a request queue (1..N), spreading load. */
unsigned vdx_pick_queue(struct vdx_dev *dev);

#endif
