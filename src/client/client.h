/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvdax FUSE client internals: the session, the inode/dentry cache and
 * the request helper.
 *
 * Lock order: file lock -> cache_lock -> (transport locks). FUSE requests
 * are never sent with cache_lock held.
 */
#ifndef VDAX_CLIENT_CLIENT_H
#define VDAX_CLIENT_CLIENT_H

#include <linux/fuse.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vdax/vdax.h"
#include "client/transport.h"

#define FC_HASH_BUCKETS 4096u
#define FC_MAXSYMLINKS 40
#define FC_NAME_MAX 255
#define FC_PATH_MAX 4096

struct fc_node {
	uint64_t nodeid;
	uint64_t generation;
	/* All below protected by vdax.cache_lock. */
	uint64_t nlookup;	 /* lookups the backend counted for us */
	unsigned refs;		 /* dentry + walkers + open files */
	struct fc_node *id_next; /* nodeid hash chain */
	/* The (single) dentry naming this node: */
	bool hashed;
	struct fc_node *parent; /* referenced while hashed */
	char *name;
	struct fc_node *d_next; /* dentry hash chain */
	uint64_t entry_expire;	/* CLOCK_MONOTONIC ns */
	uint64_t attr_expire;
	struct fuse_attr attr;
};

struct fc_forget {
	uint64_t nodeid, nlookup;
};

struct vdax {
	struct vdx_dev *dev;
	unsigned timeout_ms; /* atomic */
	uint32_t minor;
	uint32_t init_flags; /* from FUSE_INIT reply (low 32 bits) */
	size_t max_write;    /* per-request payload bound we use */
	size_t cache_max;    /* dentries kept; 0 = unbounded */
	bool readdirplus;
	bool no_syncfs, no_lseek; /* atomic hints, set on -ENOSYS */
	struct fc_node *root;

	pthread_mutex_t cache_lock;
	struct fc_node *id_hash[FC_HASH_BUCKETS]; /* protected by cache_lock */
	struct fc_node *d_hash[FC_HASH_BUCKETS];  /* protected by cache_lock */
	size_t ndentries;			  /* protected by cache_lock */
	struct fc_forget *forgets;		  /* protected by cache_lock */
	size_t nforgets, forgets_cap;		  /* protected by cache_lock */
	uint64_t lock_owner_seq;		  /* atomic */
};

struct vdax_file {
	struct vdax *vd;
	struct fc_node *node; /* referenced */
	uint64_t fh;
	int flags; /* open(2) flags */
	bool is_dir;
	bool flocked;
	uint64_t owner; /* lock owner */
	pthread_mutex_t lock;
	off_t pos; /* protected by lock */
};

struct vdax_dir {
	struct vdax_file *f;
	char *buf;    /* last READDIR(PLUS) reply */
	size_t len;   /* bytes in buf */
	size_t pos;   /* parse position */
	uint64_t off; /* offset of the next batch */
	bool eof;
};

/* One FUSE request: inputs after the in header, output after the out header. */
struct fc_call {
	uint32_t opcode;
	uint64_t nodeid;
	struct iovec in[4];
	unsigned nin;
	void *out;	  /* reply payload goes here */
	size_t out_size;  /* its capacity (reply space we offer) */
	size_t out_min;	  /* shorter replies are -EIO */
	bool noreply;
	bool hiprio;	  /* hiprio queue instead of a request queue */
};

uint64_t fc_now_ns(void);
/* Send and wait. Returns the payload length or -errno. */
int fc_send(struct vdax *vd, struct fc_call *c);
/* Async halves for parallel I/O. */
int fc_start(struct vdax *vd, struct fc_call *c, bool nowait,
	     struct vdx_req **out);
int fc_finish(struct vdax *vd, struct fc_call *c, struct vdx_req *r);

/* cache */
int fc_cache_init(struct vdax *vd);
void fc_cache_destroy(struct vdax *vd); /* forgets everything */
void fc_node_get(struct vdax *vd, struct fc_node *n);
void fc_node_put(struct vdax *vd, struct fc_node *n);
/*
 * Take a lookup reply into the cache; returns the node referenced. @weak
 * (READDIRPLUS, possibly stale) never replaces an existing dentry.
 */
int fc_cache_enter(struct vdax *vd, struct fc_node *parent, const char *name,
		   size_t namelen, const struct fuse_entry_out *e, bool weak,
		   struct fc_node **out);
void fc_cache_drop(struct vdax *vd, struct fc_node *parent, const char *name);
void fc_attr_update(struct vdax *vd, struct fc_node *n,
		    const struct fuse_attr_out *ao);
void fc_attr_invalidate(struct vdax *vd, struct fc_node *n);
/* Snapshot of a node's attributes if still valid: true if copied. */
bool fc_attr_cached(struct vdax *vd, struct fc_node *n, struct fuse_attr *a);
uint32_t fc_node_mode(struct vdax *vd, struct fc_node *n);
void fc_flush_forgets(struct vdax *vd);

/* path walk */
enum {
	FC_WALK_FOLLOW = 1 << 0, /* follow a final symlink */
	FC_WALK_PARENT = 1 << 1, /* stop at the parent of the final name */
};
/*
 * Resolve @path. Without FC_WALK_PARENT, *node gets the final node
 * (referenced). With it, *node gets the parent directory (referenced),
 * @name the final component and *must_dir whether a trailing slash was
 * given.
 */
int fc_walk(struct vdax *vd, const char *path, int flags, struct fc_node **node,
	    char name[FC_NAME_MAX + 1], bool *must_dir);
int fc_lookup(struct vdax *vd, struct fc_node *dir, const char *name,
	      struct fc_node **out);
int fc_readlink_node(struct vdax *vd, struct fc_node *n, char *buf,
		     size_t size);

/* options */
struct vdx_cfg;
int fc_parse_options(const char *s, struct vdx_cfg *cfg, unsigned *timeout_ms,
		     size_t *cache_max, int *dax_mode);

#endif
