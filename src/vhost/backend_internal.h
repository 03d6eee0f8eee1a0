/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of the vhost-user backend shared with its tests and fuzzers:
 * a connection can be driven one message at a time from a buffer.
 */
#ifndef VDAX_VHOST_BACKEND_INTERNAL_H
#define VDAX_VHOST_BACKEND_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "vhost/backend.h"
#include "vhost/vhost_user.h"

struct vu_conn;

/* Virtio/protocol features the backend offers. */
uint64_t vu_backend_offered_features(void);
uint64_t vu_backend_offered_protocol_features(const struct vu_backend *be);

/*
 * A connection on @sock (replies are written there; ownership passes to
 * the connection). -EBUSY if the backend already serves one.
 */
int vu_conn_new(struct vu_backend *be, int sock, struct vu_conn **out);
/* Stop rings, join threads, unmap memory, close fds, call ops->reset. */
void vu_conn_free(struct vu_conn *c);

/*
 * Handle one message: @buf/@len is the header and payload as read from the
 * socket, @fds/@nfds the descriptors that came with it. The fds are always
 * consumed (kept or closed), even on error. Returns 0 to go on serving or
 * -errno if the connection must be dropped.
 */
int vu_handle_msg(struct vu_conn *c, const void *buf, size_t len, int *fds,
		  size_t nfds);

/* Number of queues whose thread is running (tests). */
unsigned vu_conn_running_queues(struct vu_conn *c);

#endif
