/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FUSE server internals shared by the request edge (server.c) and the
 * operation workers (ops.c). A worker returns 0 or -errno (or
 * FUSE_NO_REPLY) and writes only its reply payload through reply_put();
 * only the edge in server.c writes the out header and its error field.
 */
#ifndef VDAX_FUSE_INTERNAL_H
#define VDAX_FUSE_INTERNAL_H

#include <linux/fuse.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * FUSE 7.39's FUSE_DIRECT_IO_ALLOW_MMAP (first named FUSE_DIRECT_IO_RELAX):
 * shared mmap of FOPEN_DIRECT_IO files. Debian 12's <linux/fuse.h> is 7.38.
 */
#define FUSE_SRV_DIRECT_IO_ALLOW_MMAP (1ULL << 36)

/*
 * FUSE 7.38's FUSE_CREATE_SUPP_GROUP and its request extension (absent
 * from Debian 12's header): with creating requests the kernel sends the
 * parent directory's group when the caller is a member of it.
 */
#define FUSE_SRV_CREATE_SUPP_GROUP (1ULL << 34)
#define FUSE_SRV_EXT_GROUPS 32
struct fuse_srv_supp_groups {
	uint32_t nr_groups;
	uint32_t groups[];
};

#include "fuse/idmap.h"
#include "fuse/iov.h"
#include "fuse/server.h"
#include "passthrough/passthrough.h"

/* Worker result: the request takes no reply (FORGET, INTERRUPT). */
#define FUSE_NO_REPLY 1

/* Largest request body copied out of guest memory (WRITE data is not). */
#define FUSE_SRV_MAX_BODY (1u << 20)
#define FUSE_SRV_DEFAULT_MAX_WRITE (1u << 20)

/* One DAX mapping: what the frontend's window holds at moffset. */
struct fuse_dax_map {
	uint64_t moffset;
	uint64_t len;
	uint64_t nodeid; /* the inode it maps (for logs and reclaim audits) */
	bool writable;
	bool fresh;	/* a placeholder for a setup in flight: not live yet */
	uint64_t owner; /* the request whose hook is changing it, or 0 */
};

/*
 * The mappings of the connection, sorted by moffset, never overlapping.
 * The lock is not held across the map/unmap hooks (a backend channel
 * round trip): a request marks the spans it changes busy, drops the lock,
 * calls the hook and takes the lock again to record the outcome. A request
 * that meets a busy span waits on @cond for it; spans that do not meet go
 * on in parallel. A busy record (owner != 0) is never removed or rewritten
 * by anyone but the request that owns it.
 */
struct fuse_dax_table {
	pthread_mutex_t lock;
	pthread_cond_t cond;	/* a busy span became idle */
	struct fuse_dax_map *v; /* protected by lock */
	size_t n, cap;		/* protected by lock */
	size_t fresh;		/* protected by lock: placeholders among n */
	size_t inflight;	/* protected by lock: hook calls in flight */
	size_t most_inflight;	/* protected by lock: its high-water mark */
	uint64_t tickets;	/* protected by lock: the last owner given */
	size_t max;		/* immutable: bound on n */
	uint64_t setups;	/* protected by lock: SETUPMAPPINGs done */
	uint64_t removes;	/* protected by lock: mappings removed */
};

struct fuse_srv {
	struct fuse_srv_opts opts; /* immutable */
	struct fuse_dax_table dax;
	struct pt_fs *fs;
	unsigned page_size;	   /* immutable */
	pthread_mutex_t init_lock; /* serialises INIT, DESTROY and reset */
	/*
	 * Negotiated state: written under init_lock, read without it through
	 * __atomic loads (initialized last with release ordering).
	 */
	bool initialized;
	uint32_t minor;
	uint64_t flags; /* FUSE_* init flags, flags2 in the upper half */

	pthread_mutex_t intr_lock;
	struct fuse_blocker *blockers; /* protected by intr_lock */
	bool cancelling;	       /* protected by intr_lock */
};

/* A request blocked where only a signal ends it (interrupt.c). */
struct fuse_blocker {
	uint64_t unique;
	pthread_t thread;
	struct fuse_blocker *next; /* protected by srv->intr_lock */
};

int fuse_intr_init(struct fuse_srv *srv);
void fuse_intr_destroy(struct fuse_srv *srv);
int fuse_intr_enter(struct fuse_srv *srv, struct fuse_blocker *b,
		    uint64_t unique);
void fuse_intr_leave(struct fuse_srv *srv, struct fuse_blocker *b);
void fuse_intr_request(struct fuse_srv *srv, uint64_t unique);
/* New requests may block again (after a reset). */
void fuse_intr_resume(struct fuse_srv *srv);

struct fuse_req {
	struct fuse_srv *srv;
	struct fuse_in_header ih; /* copied out of guest memory once */
	const char *arg;	  /* copy of the body (only the fixed part for WRITE) */
	size_t arglen;
	struct fuse_iov in;	  /* what follows the copy: WRITE data */
	struct fuse_iov out;	  /* the reply payload, after the header */
	size_t out_len;		  /* payload bytes written */
	const char *name[2];	  /* NUL-terminated names after the fixed part */
	struct pt_ctx ctx;
	/* request extensions (server.c decode_ext), copied out once */
	uint8_t ext[256];
	/* --security-label: the label asked for a creation, or NULL */
	const char *secctx_name;
	const void *secctx_value;
	uint32_t secctx_len;
};

enum {
	OP_NO_REPLY = 1 << 0, /* no reply buffer needed */
	OP_PRE_INIT = 1 << 1, /* allowed before INIT */
	OP_DATA = 1 << 2,     /* copy only the fixed part; data stays put */
	OP_NAME1 = 1 << 3,    /* one NUL-terminated name after the fixed part */
	OP_NAME2 = 1 << 4,    /* two names */
};

struct fuse_op {
	int (*fn)(struct fuse_req *req);
	const char *name;
	uint32_t in_size;  /* fixed part of the request body */
	uint32_t out_size; /* fixed part of the reply */
	uint32_t flags;	   /* OP_* */
};

extern const struct fuse_op fuse_ops[];
extern const unsigned fuse_ops_count;

static inline uint64_t fuse_srv_flags(const struct fuse_srv *srv)
{
	return __atomic_load_n(&srv->flags, __ATOMIC_RELAXED);
}

/* Append to the reply payload; -EINVAL if it does not fit. */
static inline int reply_put(struct fuse_req *req, const void *p, size_t n)
{
	int ret = fuse_iov_write(&req->out, p, n);

	if (ret == 0)
		req->out_len += n;
	return ret;
}

/* Forget all per-connection state (caller holds init_lock). */
void fuse_srv_reset_locked(struct fuse_srv *srv);

/* dax.c. Lock order: fuse_srv.init_lock -> fuse_dax_table.lock. */
#define FUSE_SRV_REMOVEMAPPING_MAX (4096 / sizeof(struct fuse_removemapping_one))
bool fuse_dax_on(const struct fuse_srv *srv);
int fuse_dax_init(struct fuse_srv *srv);
void fuse_dax_fini(struct fuse_srv *srv);
/* Forget every mapping without telling the frontend (its window is gone). */
void fuse_dax_forget_all(struct fuse_srv *srv);
/* Ask the frontend to empty the whole window, then forget (DESTROY). */
void fuse_dax_unmap_all(struct fuse_srv *srv);
int fuse_do_setupmapping(struct fuse_req *req);
int fuse_do_removemapping(struct fuse_req *req);

#endif
