/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvdax FUSE client internals. The client is built in layers, each one
 * calling only the ones below it (as Linux's fs/fuse is split by concern):
 *
 *   transport.c  vhost-user frontend, virtqueues, shared memory
 *   request.c    one FUSE request (send, wait) and transfers split into
 *                chunks across the queues
 *   cache.c      the inode/dentry cache, LOOKUP and the path walk
 *   node.c       calls on nodes (attributes, open, create, release):
 *                what DAX (fdax.c) and program mmap (mmap.c) use
 *   fdax.c, mmap.c   the DAX window and program mappings
 *   session.c, names.c, attr.c, file.c, dir.c, xattr.c, locks.c
 *                the public API, by concern
 *
 * Lock order: file lock -> cache_lock -> (transport locks). FUSE requests
 * are never sent with cache_lock held.
 */
#ifndef VDAX_CLIENT_CLIENT_H
#define VDAX_CLIENT_CLIENT_H

#include <linux/fuse.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vdax/vdax.h"
#include "client/transport.h"

#define FC_HASH_BUCKETS 4096u
#define FC_MAXSYMLINKS 40
#define FC_NAME_MAX 255
#define FC_PATH_MAX 4096
#define FC_MAX_CHUNK (1u << 20) /* largest READ/WRITE payload we use */
#define FC_MAX_PARALLEL 16	/* chunks of one transfer in flight */
#define FC_DIRBUF 65536
#define FC_OFFSET_MAX ((uint64_t)INT64_MAX)
#define VDAX_EXPORT __attribute__((visibility("default")))

struct dax_inode;
struct dax_conn;
struct dax_window;

struct fc_node {
	uint64_t nodeid;
	uint64_t generation;
	/*
	 * The kernel's inode lock, for DAX files: reads shared, writes,
	 * truncation and hole punching exclusive, so that the size stays put
	 * while data is copied through the window. Outside dax->mapping_lock.
	 */
	pthread_rwlock_t io_lock;
	struct dax_inode *dax; /* set once under io_lock (exclusive); freed
				* only when the node is evicted */
	bool dax_decided;      /* protected by io_lock */
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
	/* The lifetimes the backend last granted, as sent (vdax_ttl). */
	struct vdax_ttl ttl;
	/*
	 * attr.size and attr_expire again, written with them under
	 * cache_lock, read without it: every DAX read and write asks for the
	 * size, and the session-wide cache_lock was a cache line all the
	 * I/O threads of a process wrote (fc_size_cached()).
	 */
	_Atomic uint64_t size_pub, expire_pub;
};

/*
 * The public struct vdax_node is this node: a vdax_node pointer is an
 * fc_node pointer, converted only here. Its reference is one of @refs.
 */
static inline struct fc_node *fc_node_of(struct vdax_node *n)
{
	return (struct fc_node *)(void *)n;
}

static inline struct vdax_node *fc_vnode(struct fc_node *n)
{
	return (struct vdax_node *)(void *)n;
}

struct fc_forget {
	uint64_t nodeid, nlookup;
};

enum { FC_DAX_NEVER, FC_DAX_ALWAYS, FC_DAX_INODE };

/* Parsed session options (see vdax_opts.options). */
struct fc_opts {
	unsigned timeout_ms;
	size_t cache_max;    /* dentries kept; 0 = unbounded */
	int dax_mode;	     /* FC_DAX_* */
	uint64_t dax_window; /* cache_size=: window bytes; 0 = as advertised */
	bool dax_admit_all;  /* dax_admit=all: every miss maps (no policy) */
};

struct vdax {
	struct vdx_dev *dev;
	/* DAX: constant once the session is open (window published with
	 * release before FUSE_INIT, read with acquire by the backend
	 * channel). */
	int dax_mode;
	struct dax_window *window;
	struct dax_conn *dax; /* NULL: no DAX */
	uint64_t dax_faults;  /* atomic: program mmap faults served */
	/*
	 * vdax_pread_window(): most ranges one call may hold, and the lock
	 * a call takes while it gathers more than one (constant / valid
	 * while @dax is set). See fc_dax_read_window().
	 */
	unsigned window_pin_max;
	pthread_mutex_t window_pin_lock;
	/*
	 * Bumped (release) by the backend channel after each window change,
	 * read (acquire) when a SETUPMAPPING/REMOVEMAPPING reply arrives:
	 * the daemon orders the two, but across a process, where thread
	 * sanitizers cannot see it. This makes the edge explicit.
	 */
	unsigned long window_seq;
	unsigned timeout_ms; /* atomic */
	uint32_t minor;
	uint32_t init_flags; /* from FUSE_INIT reply (low 32 bits) */
	size_t max_write;    /* per-request payload bound we use */
	size_t cache_max;    /* dentries kept; 0 = unbounded */
	bool readdirplus;
	bool no_syncfs, no_lseek, no_access; /* atomic hints, set on -ENOSYS */
	struct fc_node *root;

	pthread_mutex_t cache_lock;
	struct fc_node *id_hash[FC_HASH_BUCKETS]; /* protected by cache_lock */
	struct fc_node *d_hash[FC_HASH_BUCKETS];  /* protected by cache_lock */
	size_t ndentries;			  /* protected by cache_lock */
	struct fc_forget *forgets;		  /* protected by cache_lock */
	size_t nforgets, forgets_cap;		  /* protected by cache_lock */
	struct fc_node *evicts; /* DAX nodes whose mappings must go before
				 * their forget; via id_next; cache_lock */
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

/* ---- requests (request.c) ---- */
uint64_t fc_now_ns(void);
/* Send and wait. Returns the payload length or -errno. */
int fc_send(struct vdax *vd, struct fc_call *c);
/* Async halves for parallel I/O. */
int fc_start(struct vdax *vd, struct fc_call *c, bool nowait,
	     struct vdx_req **out);
int fc_finish(struct vdax *vd, struct fc_call *c, struct vdx_req *r);
/*
 * FUSE_READ/FUSE_WRITE of [@off, +@len) on @f's handle, split at max_write
 * with up to FC_MAX_PARALLEL chunks in flight across the queues. Returns
 * the bytes done up to the first short or failed chunk, or its error.
 */
ssize_t fc_io(struct vdax_file *f, bool write, char *buf, size_t len,
	      uint64_t off);

/* ---- cache and walk (cache.c) ---- */

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
bool fc_size_cached(struct fc_node *n, uint64_t *size);
/* The lifetimes the backend last granted for @n's entry and attributes. */
void fc_node_ttl(struct vdax *vd, struct fc_node *n, struct vdax_ttl *t);
uint32_t fc_node_mode(struct vdax *vd, struct fc_node *n);
void fc_flush_forgets(struct vdax *vd);

/* path walk */
enum {
	FC_WALK_FOLLOW = 1 << 0, /* follow a final symlink */
	FC_WALK_PARENT = 1 << 1, /* stop at the parent of the final name */
};
/*
 * Resolve @path from @start (NULL: the root; an absolute path or symlink
 * restarts at the root). Without FC_WALK_PARENT, *node gets the final node
 * (referenced). With it, *node gets the parent directory (referenced),
 * @name the final component and *must_dir whether a trailing slash was
 * given.
 */
int fc_walk(struct vdax *vd, struct fc_node *start, const char *path,
	    int flags, struct fc_node **node, char name[FC_NAME_MAX + 1],
	    bool *must_dir);
/* fc_walk() for a whole path (-ENOTCONN once the device is broken). */
int fc_walk_node(struct vdax *vd, struct fc_node *start, const char *path,
		 int wflags, struct fc_node **n);
/* fc_walk() to the parent directory of the final name (-ENOTDIR if not). */
int fc_walk_parent(struct vdax *vd, struct fc_node *start, const char *path,
		   struct fc_node **dir, char name[FC_NAME_MAX + 1],
		   bool *must_dir);
/* The backend said -ESTALE for @n: its name must be looked up again. */
void fc_node_stale(struct vdax *vd, struct fc_node *n);
/*
 * fc_node_put() that also drops @n's dentry if nothing else holds @n, so
 * that the backend gets its FORGET now (the kernel's eviction).
 */
void fc_node_put_forget(struct vdax *vd, struct fc_node *n);
/* Drop every dentry nobody uses (forgetting their nodes). */
void fc_cache_shrink_all(struct vdax *vd);
uint64_t fc_node_nlookup(struct vdax *vd, struct fc_node *n);
int fc_lookup(struct vdax *vd, struct fc_node *dir, const char *name,
	      struct fc_node **out);
int fc_readlink_node(struct vdax *vd, struct fc_node *n, char *buf,
		     size_t size);

/* ---- calls on nodes (node.c) ---- */
void fc_attr_to_stat(const struct fuse_attr *a, struct stat *st);
/* Attributes: cached if valid (and no @f), else GETATTR (with @f's fh). */
int fc_getattr(struct vdax *vd, struct fc_node *n, struct vdax_file *f,
	       struct fuse_attr *a);
/* SETATTR of @in (with @f's fh if given); updates the cache. */
int fc_setattr(struct vdax *vd, struct fc_node *n, struct vdax_file *f,
	       struct fuse_setattr_in *in);
/* Open @n (whose reference the handle takes over on success). */
int fc_open_node(struct vdax *vd, struct fc_node *n, int flags,
		 struct vdax_file **out);
/* FUSE_CREATE of @name in @dir: the handle holds the new node. */
int fc_create_node(struct vdax *vd, struct fc_node *dir, const char *name,
		   int flags, mode_t mode, struct vdax_file **out);
/* Send @c (a request creating @name in @dir, answering fuse_entry_out)
 * and enter the new node; *@out (may be NULL) gets it referenced. */
int fc_create_entry(struct vdax *vd, struct fc_node *dir, const char *name,
		    struct fc_call *c, struct fc_node **out);
/* FLUSH (files), RELEASE, drop the node and free @f: the flush result. */
int fc_file_release(struct vdax_file *f);
/* The file's size from fresh attributes, or -errno. */
off_t fc_file_size(struct vdax_file *f);
/* FUSE_WRITE (no DAX). */
ssize_t fc_write_fuse(struct vdax_file *f, const void *buf, size_t len,
		      uint64_t off);
/* Record a size we caused (an extending FUSE_WRITE). */
void fc_attr_grow_size(struct vdax *vd, struct fc_node *n, uint64_t size);
void fc_node_free(struct fc_node *n);

/* options */
struct vdx_cfg;
int fc_parse_options(const char *s, struct vdx_cfg *cfg, struct fc_opts *o);

/* ---- DAX (fdax.c) ---- */
/* The backend channel's SHMEM_MAP / SHMEM_UNMAP (vdx_backend_req_fn). */
int fc_dax_backend_req(void *opaque, uint32_t request, const void *payload,
		       size_t size, int fd);
/* After the transport is up: create the window and the connection. */
int fc_dax_setup(struct vdax *vd, const struct fc_opts *o);
/* FUSE_INIT: what to ask for, and checking the answer. */
void fc_dax_init_flags(struct vdax *vd, struct fuse_init_in *in);
int fc_dax_init_reply(struct vdax *vd, const struct fuse_init_out *out);
void fc_dax_conn_fini(struct vdax *vd);	  /* after the cache is gone */
void fc_dax_window_fini(struct vdax *vd); /* after the transport is gone */
/* Decide at open whether @n goes through the window. */
void fc_dax_node_open(struct vdax *vd, struct fc_node *n);
/* Eviction: remove @n's mappings (sends FUSE_REMOVEMAPPING). */
void fc_dax_node_evict(struct vdax *vd, struct fc_node *n);
/* Before FUSE_RELEASE of @f: no read-ahead may map through its fh after. */
void fc_dax_file_release(struct vdax_file *f);
/*
 * Read/write through the window if @f's node is a DAX file; *@used false
 * (and nothing done) if not.
 */
ssize_t fc_dax_read(struct vdax_file *f, void *buf, size_t len, uint64_t off,
		    bool *used);
ssize_t fc_dax_write(struct vdax_file *f, const void *buf, size_t len,
		     uint64_t off, bool *used);
/*
 * vdax_pread_window() for a checked @f: -EOPNOTSUPP if @f's node is not a
 * DAX file (nothing done).
 */
ssize_t fc_dax_read_window(struct vdax_file *f, size_t len, uint64_t off,
			   int (*fn)(const struct iovec *iov, int cnt,
				     void *arg),
			   void *arg);
/*
 * Around a request that truncates or punches [@start, @end) of @n: take
 * the inode lock and the mapping lock exclusively and remove the window
 * ranges there; fc_dax_change_end() unlocks.
 */
void fc_dax_change_begin(struct vdax *vd, struct fc_node *n, uint64_t start,
			 uint64_t end);
void fc_dax_change_end(struct vdax *vd, struct fc_node *n);
/* fsync: flush the window's dirty pages of @n first. */
int fc_dax_flush(struct vdax *vd, struct fc_node *n);

/* ---- program mmap (mmap.c) ---- */
/* Does [@p, +@len) touch a vdax mapping? */
bool fc_mmap_overlaps(const void *p, size_t len);
/* The dax on_range_remove hook: re-protect aliases of window offset. */
void fc_mmap_range_removed(void *ctx, uint64_t moffset);
/* vdax_close(): drop the session's mappings. */
void fc_mmap_session_close(struct vdax *vd);

#endif
