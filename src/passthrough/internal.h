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

struct file_handle;

/*
 * An inode is held either by an O_PATH fd (@fd, @fh NULL) or by a kernel
 * file handle (@fh, @fd -1) that ops.c opens with open_by_handle_at() on
 * @mount_fd for each operation needing an fd: the inode then costs no open
 * file, however many the guest holds (--inode-file-handles).
 */
struct pt_inode {
	int fd;		  /* O_PATH|O_NOFOLLOW or -1; immutable while refs > 0 */
	struct file_handle *fh; /* or NULL; immutable while refs > 0 */
	int mount_fd;	  /* with @fh: fs->mounts' fd of @mnt_id (not ours) */
	/*
	 * With @fh: -1, or an O_PATH fd taken when the guest removed the
	 * inode's last name (pt_inode_pin()). Atomic; set once, closed with
	 * the inode.
	 */
	int pin_fd;
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

/*
 * One fd per mount that handle inodes live on, for open_by_handle_at()
 * (which refuses an O_PATH fd there): a directory opened O_RDONLY, the
 * first one seen on the mount, which is its root (a lookup crosses into a
 * mount only at its root; a mount point cannot be removed, so the fd never
 * pins a deleted file). Counted by the handle inodes on it.
 */
struct pt_mount {
	uint64_t mnt_id;
	int fd;
	uint64_t refs;
};

struct pt_fs {
	struct pt_opts opts;	 /* immutable but .writeback (atomic) */
	enum pt_fh_mode fh_mode; /* immutable: opts.file_handles after the probe */
	int fh_warned;		 /* atomic: the fallback was logged */
	pthread_mutex_t lock;
	struct pt_slots inodes;	 /* protected by lock */
	uint32_t *buckets;	 /* protected by lock: heads of hash chains */
	uint32_t nbuckets;	 /* protected by lock: power of two */
	struct pt_slots handles; /* protected by lock */
	struct pt_mount *mounts; /* protected by lock */
	unsigned nmounts, capmounts; /* protected by lock */
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
 * count one lookup. With @fh (copied) a new inode is held by the handle
 * (its mount needs a pt_mount_add() first; without one, by @fd after all)
 * and @fd is closed; an inode of the same (dev, ino, mount id) but another
 * handle is another file that reused the inode number, not a match.
 * -ENFILE past max_inodes.
 */
int pt_inode_add(struct pt_fs *fs, int fd, const struct stat *st,
		 uint64_t mnt_id, const struct file_handle *fh, bool submount,
		 uint64_t *nodeid);
/* Is there a mount fd for @mnt_id? */
bool pt_mount_known(struct pt_fs *fs, uint64_t mnt_id);
/* Install @fd (consumed) as the mount fd of @mnt_id unless it has one. */
int pt_mount_add(struct pt_fs *fs, uint64_t mnt_id, int fd);
/* Find an inode by identity without counting a lookup (no ref taken). */
bool pt_inode_known(struct pt_fs *fs, const struct stat *st, uint64_t mnt_id,
		    const struct file_handle *fh, uint64_t *nodeid);
/*
 * Give the handle inode of identity @st/@mnt_id/@fh, if the guest holds
 * one, @fd (consumed on true) to keep it reachable without a name.
 */
bool pt_inode_pin(struct pt_fs *fs, const struct stat *st, uint64_t mnt_id,
		  const struct file_handle *fh, int fd);
/*
 * A dup of the fd of a live open file of @nodeid, or -ESTALE: an unlinked
 * file's handle no longer opens (ESTALE), but an open file still reaches it.
 */
int pt_inode_dup_open_fd(struct pt_fs *fs, uint64_t nodeid);
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
