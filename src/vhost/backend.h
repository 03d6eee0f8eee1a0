/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost-user-fs backend: the device side of a vhost-user connection.
 *
 * The transport never sees a path and the filesystem never sees a virtqueue:
 * the backend pops descriptor chains, translates every guest address through
 * the memory table, and hands the filesystem two iovec arrays pointing into
 * guest memory (zero copy). The filesystem returns how many bytes it wrote
 * into the device-writable part; the backend pushes the used element and
 * notifies the frontend.
 */
#ifndef VDAX_VHOST_BACKEND_H
#define VDAX_VHOST_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct vu_backend;

struct vu_backend_ops {
	/*
	 * Serve one request. @in/@in_cnt: device-readable buffers (the FUSE
	 * request); @out/@out_cnt: device-writable buffers (the reply). Called
	 * from worker threads, concurrently. Returns the number of bytes written
	 * into @out (0 if no reply, e.g. FORGET or an unparseable request).
	 */
	size_t (*handle)(void *opaque, const struct iovec *in, unsigned in_cnt,
			 const struct iovec *out, unsigned out_cnt);
	/*
	 * The frontend is gone (disconnect or RESET_OWNER) and every worker is
	 * idle: drop all per-connection state (inodes, handles, mappings).
	 */
	void (*reset)(void *opaque);
	/*
	 * Requests must drain now (the frontend is gone, or a ring is being
	 * stopped). With @draining true, called before the backend waits for
	 * in-flight requests: end any that may block indefinitely, and keep
	 * new ones from blocking; called again with false once drained.
	 * May be NULL.
	 */
	void (*cancel)(void *opaque, bool draining);
};

/* virtio-fs: the tag is 36 bytes, NUL-padded, not NUL-terminated. */
#define VU_TAG_MAX 36

struct vu_backend_cfg {
	unsigned num_request_queues; /* request queues besides hiprio; >= 1 */
	unsigned thread_pool_size;   /* 0: serve each queue in its own thread */
	uint64_t shm_size;	     /* DAX window (shmid 0) size; 0 = no DAX */
	/*
	 * virtio_fs_config.tag; "" = none. Non-empty: offer
	 * VHOST_USER_PROTOCOL_F_CONFIG and answer GET_CONFIG with it (QEMU
	 * 7.1-8.0 crash on that feature: only when asked for).
	 */
	char tag[VU_TAG_MAX + 1];
};

/* Create a backend. Returns 0 or -errno. */
int vu_backend_new(const struct vu_backend_cfg *cfg,
		   const struct vu_backend_ops *ops, void *opaque,
		   struct vu_backend **out);

/*
 * Serve one frontend on the connected socket @conn_fd (takes ownership)
 * until it disconnects or sends something that breaks the connection.
 * Releases every per-connection resource (rings, memory regions, eventfds,
 * threads) and calls ops->reset before returning. Returns 0 on an orderly
 * disconnect, -errno otherwise. Call again for the next frontend.
 */
int vu_backend_serve(struct vu_backend *be, int conn_fd);

void vu_backend_free(struct vu_backend *be);

/*
 * DAX: ask the frontend, over the backend channel, to map @len bytes of @fd
 * at @fd_offset into shared memory region @shmid at @shm_offset (flags bit 0
 * = writable), or to unmap. Waits for the frontend's REPLY_ACK. Returns 0,
 * -ENOTCONN without a backend channel, -EOPNOTSUPP if the frontend lacks the
 * SHMEM protocol feature, or the frontend's error.
 */
int vu_backend_shmem_map(struct vu_backend *be, uint8_t shmid, int fd,
			 uint64_t fd_offset, uint64_t shm_offset, uint64_t len,
			 uint64_t flags);
int vu_backend_shmem_unmap(struct vu_backend *be, uint8_t shmid,
			   uint64_t shm_offset, uint64_t len);

#endif
