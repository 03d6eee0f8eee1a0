/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vdax mount internals. The mount is split as the client is:
 *   mount.c        main and the command line
 *   mount_stats.c  counters and `vdax stats`
 *   mount_nodes.c  the node and handle tables the kernel's ids index
 *   mount_ops.c    the FUSE operations, each one libvdax node call
 *
 * Each FUSE node id holds one struct vdax_node reference (the kernel's
 * nodes are passed straight through: no paths, no second tree); FORGET
 * drops it, and with it libvdax's lookups on the backend.
 *
 * One lock: vm.lock protects the tables, every node's lookup count, refs
 * and list of open files. No libvdax call is made with it held.
 */
#ifndef VDAX_TOOLS_MOUNT_INT_H
#define VDAX_TOOLS_MOUNT_INT_H

#define FUSE_USE_VERSION 34

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "vdax/vdax.h"
#include "mount.h"

/*
 * Enough for the inodes a kernel keeps of a large tree (a stat walk of
 * 20 000 files had chains of 5 and more at 4096, and vm_node_enter() at
 * 5 % of the mount's time); allocated with the root.
 */
#define VM_NODE_BUCKETS 65536u

/* ---- counters (vdax stats) ---- */

enum vm_op {
	VM_LOOKUP, VM_FORGET, VM_GETATTR, VM_SETATTR, VM_READLINK, VM_MKNOD,
	VM_MKDIR, VM_UNLINK, VM_RMDIR, VM_SYMLINK, VM_RENAME, VM_LINK, VM_OPEN,
	VM_CREATE, VM_READ, VM_WRITE, VM_FLUSH, VM_RELEASE, VM_FSYNC,
	VM_OPENDIR, VM_READDIR, VM_READDIRPLUS, VM_RELEASEDIR, VM_STATFS, VM_SETXATTR,
	VM_GETXATTR, VM_LISTXATTR, VM_REMOVEXATTR, VM_ACCESS, VM_GETLK,
	VM_SETLK, VM_FLOCK, VM_FALLOCATE, VM_LSEEK, VM_COPY_FILE_RANGE,
	VM_NR_OPS
};

extern const char *const vm_op_names[VM_NR_OPS];

struct vm_counters {
	atomic_ullong calls[VM_NR_OPS];
	atomic_ullong errors[VM_NR_OPS];
	atomic_ullong bytes_read, bytes_written;
	atomic_ullong window_reads; /* READs answered from the DAX window */
	atomic_ullong enotconn; /* replies that said the backend is gone */
};

/* ---- nodes and handles ---- */

struct vm_file;

struct vm_node {
	uint64_t nodeid;	/* what the kernel calls it */
	struct vdax_node *vn;	/* referenced; constant */
	mode_t type;		/* S_IFMT bits */
	/* All below protected by vm.lock. */
	uint64_t nlookup;	/* kernel references */
	unsigned refs;		/* (nlookup > 0) + open files + pins */
	struct vm_node *hnext;	/* vm.node_hash chain (by vn) */
	struct vm_file *files;	/* open regular files */
	bool posix_locked;	/* a POSIX lock was ever taken: FLUSH unlocks */
	struct timespec seen_mtime; /* at the last open: pages still good */
	off_t seen_size;	    /* while these have not changed */
};

struct vm_dirent {
	uint64_t ino;
	unsigned char type;
	char *name;
};

struct vm_file {
	uint64_t fh;
	struct vm_node *node;	  /* referenced */
	struct vdax_file *vf;	  /* regular files */
	struct vm_file *next;	  /* protected by vm.lock (node->files) */
	unsigned refs;		  /* protected by vm.lock; table + users */
	/* Directories: a snapshot taken at offset 0, protected by dlock. */
	bool is_dir;
	pthread_mutex_t dlock;
	struct vdax_dir *stream; /* from OPENDIR, for the first snapshot */
	struct vm_dirent *ents;
	size_t nents;
	bool loaded;
};

struct vm_slot {
	void *ptr;
	uint32_t gen;
};

struct vm_table {
	struct vm_slot *slots; /* protected by vm.lock */
	size_t cap, used;      /* protected by vm.lock */
	uint32_t *free;	       /* free indices; protected by vm.lock */
	size_t nfree;	       /* protected by vm.lock */
};

struct vm {
	struct vdax *vd;
	struct fuse_session *se;
	/* -o attr_timeout=/entry_timeout=; < 0: the backend's, per reply */
	double attr_timeout, entry_timeout;
	bool direct_io;
	bool no_window_read;	/* -o no_window_read: always copy (vdax_pread) */
	char dax_mode[16];	/* as given with -o dax= (default never) */
	uid_t uid;
	gid_t gid;
	time_t started;
	struct vm_counters cnt;

	pthread_mutex_t lock;
	struct vm_table nodes;				/* protected by lock */
	struct vm_table files;				/* protected by lock */
	struct vm_node **node_hash; /* VM_NODE_BUCKETS; protected by lock */
	size_t nnodes, nfiles;				/* protected by lock */
};

/* ---- mount_stats.c ---- */
void vm_count(struct vm *vm, enum vm_op op, int err);
/* The counters as `vdax stats` prints them; returns the length. */
int vm_stats_text(struct vm *vm, char *buf, size_t size);

/* ---- mount_nodes.c ---- */
/* The root's node (id FUSE_ROOT_ID), holding vdax_root(). */
int vm_setup_root(struct vm *vm);
/* At exit: release what the kernel never did, free the tables. */
void vm_free_tables(struct vm *vm);
/*
 * The node for @vn (whose reference this takes over: dropped if the node
 * exists already), with one more kernel lookup counted; *@nodeid its id.
 */
int vm_node_enter(struct vm *vm, struct vdax_node *vn, mode_t type,
		  uint64_t *nodeid);
/* Drop @nlookup kernel lookups of @id; the last one drops the node. */
void vm_node_forget(struct vm *vm, uint64_t id, uint64_t nlookup);
/* Pin the node the kernel calls @id (NULL: unknown); vm_node_unpin(). */
struct vm_node *vm_node_pin(struct vm *vm, uint64_t id);
void vm_node_unpin(struct vm *vm, struct vm_node *n);
/* A new handle on @n (pinned by the caller; the handle pins it too). */
int vm_file_new(struct vm *vm, struct vm_node *n, struct vdax_file *vf,
		bool is_dir, struct vm_file **out);
/*
 * The handle the kernel calls @fi->fh (NULL if none), not referenced: the
 * kernel releases no handle while a request on it runs.
 */
struct vm_file *vm_file_find(struct vm *vm, struct fuse_file_info *fi);
void vm_file_put(struct vm *vm, struct vm_file *f);
/* The kernel is done with @f: unregister it and drop the table's ref. */
void vm_file_close(struct vm *vm, struct vm_file *f);
void vm_dir_drop_snapshot(struct vm_file *f);

/* ---- mount_ops.c ---- */
extern const struct fuse_lowlevel_ops vm_ops;

#endif
