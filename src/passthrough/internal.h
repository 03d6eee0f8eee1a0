/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Passthrough internals: the inode and handle tables (table.c) shared with
 * the operations (ops.c).
 *
 * Lock order: pt_handle.dir_lock -> pt_fs.lock. pt_fs.lock is a leaf held
 * only for table updates; no syscall that can block runs under it.
 */
#ifndef VDAX_PASSTHROUGH_INTERNAL_H
#define VDAX_PASSTHROUGH_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "passthrough/passthrough.h"

#define PT_ROOT_IDX 1u

struct pt_inode {
	int fd;		  /* O_PATH|O_NOFOLLOW; immutable while refs > 0 */
	uint32_t idx;	  /* slot index, immutable */
	uint32_t gen;	  /* protected by fs->lock; bumped when the slot frees */
	dev_t dev;	  /* identity: immutable while refs > 0 */
	ino_t ino;
	uint64_t mnt_id;
	mode_t type;	  /* S_IFMT bits */
	bool submount;	  /* directory on another mount than its parent */
	bool hashed;	  /* protected by fs->lock: reachable by key and nodeid */
	uint64_t nlookup; /* protected by fs->lock */
	uint64_t refs;	  /* protected by fs->lock: 1 while hashed + 1 per user */
	uint32_t hnext;	  /* protected by fs->lock: hash chain, 0 ends it */
};

struct pt_handle {
	int fd;		 /* immutable while refs > 0 */
	uint32_t idx;	 /* slot index, immutable */
	uint32_t gen;	 /* protected by fs->lock */
	bool live;	 /* protected by fs->lock: not yet released */
	bool dir;	 /* immutable while refs > 0 */
	bool writable;	 /* immutable while refs > 0 */
	uint64_t nodeid; /* owning inode; immutable while refs > 0 */
	uint64_t refs;	 /* protected by fs->lock: 1 while live + 1 per user */
	pthread_mutex_t dir_lock; /* serialises lseek+getdents64 */
};

struct pt_slots {
	void **v;	 /* slot objects, never freed before the table */
	uint32_t n;	 /* slots handed out so far */
	uint32_t cap;
	uint32_t *free;	 /* indices of free slots (capacity cap) */
	uint32_t nfree;
	uint64_t live;	 /* slots in use */
	uint64_t max;	 /* bound on live */
};

struct pt_fs {
	struct pt_opts opts;	 /* immutable but .writeback (atomic) */
	pthread_mutex_t lock;
	struct pt_slots inodes;	 /* protected by lock */
	uint32_t *buckets;	 /* protected by lock: heads of hash chains */
	uint32_t nbuckets;	 /* protected by lock: power of two */
	struct pt_slots handles; /* protected by lock */
	pthread_mutex_t plock_lock;
	struct pt_plock *plocks; /* protected by plock_lock: per-owner lock fds */
	unsigned nplocks;	 /* protected by plock_lock */
};

/* locks.c: drop every lock owner's fd (reset, free). */
void pt_locks_reset(struct pt_fs *fs);

/* table.c */
int pt_table_init(struct pt_fs *fs);
void pt_table_destroy(struct pt_fs *fs);
void pt_table_reset(struct pt_fs *fs);
/* Take a reference on a live inode; -ESTALE if @nodeid names none. */
int pt_inode_get(struct pt_fs *fs, uint64_t nodeid, struct pt_inode **out);
void pt_inode_put(struct pt_fs *fs, struct pt_inode *ino);
uint64_t pt_inode_nodeid(const struct pt_inode *ino);
/*
 * Find or add the inode for @fd (consumed) with identity @st/@mnt_id and
 * count one lookup. -ENFILE past max_inodes.
 */
int pt_inode_add(struct pt_fs *fs, int fd, const struct stat *st,
		 uint64_t mnt_id, bool submount, uint64_t *nodeid);
/* Find an inode by identity without counting a lookup (no ref taken). */
bool pt_inode_known(struct pt_fs *fs, const struct stat *st, uint64_t mnt_id,
		    uint64_t *nodeid);
int pt_inode_forget(struct pt_fs *fs, uint64_t nodeid, uint64_t n);

/* Install @fd (consumed on success) as a handle on @nodeid. */
int pt_handle_add(struct pt_fs *fs, int fd, uint64_t nodeid, bool dir,
		  bool writable, uint64_t *fh);
/* Take a reference; -EBADF if stale, of another inode or another kind. */
int pt_handle_get(struct pt_fs *fs, uint64_t nodeid, uint64_t fh, bool dir,
		  struct pt_handle **out);
void pt_handle_put(struct pt_fs *fs, struct pt_handle *h);
/* Mark released and drop the table's reference. */
int pt_handle_remove(struct pt_fs *fs, uint64_t nodeid, uint64_t fh, bool dir,
		     bool flock_unlock);

#endif
