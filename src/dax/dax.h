/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guest side of the virtio-fs DAX window, in user space (after Linux
 * fs/fuse/dax.c).
 *
 * The window (struct dax_window) is a reserved span of address space: the
 * device's shared memory region. The daemon fills it by SHMEM_MAP requests
 * on the backend channel, which end in dax_window_map()/dax_window_unmap().
 *
 * The connection (struct dax_conn) cuts the window into 2 MiB ranges and
 * lends them to inodes (struct dax_inode). Reads and writes become memcpy()
 * to and from the window; a range that an inode lacks is set up by
 * FUSE_SETUPMAPPING, and one taken away is torn down by FUSE_REMOVEMAPPING,
 * both sent through struct dax_backend_ops. When ranges run short a
 * background worker reclaims the least recently used idle ones.
 *
 * Nothing here depends on the transport: the transport supplies the ops and
 * calls the window functions from its backend-channel thread.
 */
#ifndef VDAX_DAX_DAX_H
#define VDAX_DAX_DAX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <linux/fuse.h>

#define DAX_RANGE_SHIFT 21
#define DAX_RANGE_SIZE	(UINT64_C(1) << DAX_RANGE_SHIFT)
#define DAX_RANGE_MASK	(DAX_RANGE_SIZE - 1)

/*
 * FUSE_REMOVEMAPPING_MAX_ENTRY is written in terms of the kernel's
 * PAGE_SIZE, which user space does not have; the wire limit is the 4 KiB
 * page's worth that the kernel and virtiofsd use.
 */
#define DAX_REMOVEMAPPING_MAX (4096 / sizeof(struct fuse_removemapping_one))

/* SHMEM_MAP flags: the only bit defined. */
#define DAX_MAP_WRITABLE (UINT64_C(1) << 0)

struct dax_window;
struct dax_conn;
struct dax_inode;
struct dax_range;

/* ---- the window ---------------------------------------------------- */

/*
 * Reserve a window of @size bytes (a non-zero multiple of DAX_RANGE_SIZE),
 * all PROT_NONE. Errors: -EINVAL (size), -ENOMEM.
 */
int dax_window_create(uint64_t size, struct dax_window **out);
/* Unmap everything and free. The connection using it must be gone. */
void dax_window_destroy(struct dax_window *w);
void *dax_window_base(const struct dax_window *w);
uint64_t dax_window_size(const struct dax_window *w);

/*
 * A SHMEM_MAP request from the daemon: map @len bytes of @fd at @fd_offset
 * to window offset @shm_offset, read-only or (flags DAX_MAP_WRITABLE)
 * read-write. This is the check that counts: everything here comes from the
 * peer. @shm_offset, @fd_offset and @len must be page aligned, @len
 * non-zero, the span inside the window, @fd an open regular file, and only
 * bit 0 of @flags set. A map may overlap existing mappings only if it covers
 * each of them whole (it replaces them, as a FUSE_SETUPMAPPING upgrade to
 * writable does); a partial overlap fails with -EBUSY. Other errors:
 * -EINVAL, -EBADF, -ENOMEM, or mmap()'s -errno. The caller keeps @fd (the
 * mapping holds its own reference). On a failure nothing new is mapped; if
 * the kernel dropped the old mapping on the way, the span is left reserved
 * PROT_NONE, never a hole.
 */
int dax_window_map(struct dax_window *w, int fd, uint64_t fd_offset,
		   uint64_t shm_offset, uint64_t len, uint64_t flags);

/*
 * A SHMEM_UNMAP request: replace [@shm_offset, +@len) with a fresh PROT_NONE
 * reservation. The span must be page aligned, non-empty, inside the window,
 * and cover whole mappings (-EINVAL if it would cut one). Unmapping a span
 * with nothing mapped succeeds.
 */
int dax_window_unmap(struct dax_window *w, uint64_t shm_offset, uint64_t len);

/* How many separate mappings the window holds (for tests and stats). */
unsigned dax_window_nr_mappings(struct dax_window *w);

/* ---- the connection ---------------------------------------------- */

/*
 * How the DAX layer talks to the daemon. Both are called with inode locks
 * held (never the connection lock) and block until the reply; while they
 * run, the backend channel must be able to call dax_window_map()/unmap(),
 * which take only the window's own lock.
 */
struct dax_backend_ops {
	/* send FUSE_SETUPMAPPING {fh, foffset, len, flags READ|WRITE,
	 * moffset}; 0 or -errno */
	int (*setup)(void *ctx, uint64_t nodeid, uint64_t fh, uint64_t foffset,
		     uint64_t len, uint64_t moffset, bool writable);
	/* send FUSE_REMOVEMAPPING with @n {moffset, len} entries
	 * (n <= DAX_REMOVEMAPPING_MAX); 0 or -errno */
	int (*remove)(void *ctx, uint64_t nodeid,
		      const struct fuse_removemapping_one *v, unsigned n);
	/*
	 * Optional (vdax_mmap): the range at window offset @moffset is about
	 * to be taken from its inode and unmapped; re-protect every alias
	 * of it now. Called with the inode's dax_lock held for writing and
	 * no one holding a reference on the range (so no fault is setting
	 * up a new alias of it); must not take inode or connection locks.
	 */
	void (*on_range_remove)(void *ctx, uint64_t moffset);
};

/* dax_conn_create() flags */
#define DAX_CONN_NO_WORKER (1u << 0) /* no background reclaim (tests) */
/*
 * Admission and read-ahead. Once the window is full, a miss maps its range
 * only if the range has lately been used more often than the one it would
 * push out (a frequency sketch per 2 MiB range of each file, a ghost list
 * of recent evictions, a margin adapted to what evicted mappings earned);
 * otherwise dax_read()/dax_write() answer -ENOTBLK and the caller serves
 * the call by FUSE_READ/FUSE_WRITE. Sequential streams always map, and the
 * worker maps the range a stream reaches next. Without the flag every miss
 * maps and nothing is read ahead (the kernel's behaviour).
 */
#define DAX_CONN_ADMIT (1u << 1)

/*
 * Cut @w into ranges and start the reclaim worker. @w and @ops are
 * borrowed and must outlive the connection. Errors: -EINVAL, -ENOMEM, or
 * pthread_create()'s error.
 */
int dax_conn_create(struct dax_window *w, const struct dax_backend_ops *ops,
		    void *ctx, unsigned flags, struct dax_conn **out);
/* Stop the worker and free. Every dax_inode must have been freed first. */
void dax_conn_destroy(struct dax_conn *c);

/*
 * FUSE_INIT's map_alignment (log2 bytes, with FUSE_MAP_ALIGNMENT): our
 * ranges are 2 MiB aligned, so any alignment up to that is met.
 * 0 or -EINVAL.
 */
int dax_check_map_alignment(uint32_t map_alignment);

/*
 * The session is ending and the whole window goes with it: from now on
 * freeing an inode (dax_inode_free(), dax_inode_break_range()) drops its
 * ranges without a FUSE_REMOVEMAPPING round trip each. The backend forgets
 * every mapping when the frontend disconnects, as it must anyway for a
 * frontend that dies; the frontend unmaps the window in one call. No I/O
 * may start after this.
 */
void dax_conn_closing(struct dax_conn *c);

/*
 * One reclaim pass, as the background worker runs it: free up to @max idle
 * busy ranges, least recently used first. Returns how many were freed.
 */
unsigned dax_conn_reclaim(struct dax_conn *c, unsigned max);

/* ---- inodes -------------------------------------------------------- */

/* DAX state of one inode (by FUSE node id). NULL if out of memory. */
struct dax_inode *dax_inode_new(uint64_t nodeid);
/*
 * Inode eviction: remove all its mappings (FUSE_REMOVEMAPPING) and free it.
 * No I/O on @ino may be running or start. Returns the first error of the
 * removals (the ranges are freed regardless).
 */
int dax_inode_free(struct dax_conn *c, struct dax_inode *ino);

/*
 * The file handle @fh of @ino is about to be released (FUSE_RELEASE): drop
 * the read-aheads queued with it and wait for those a worker is setting up
 * with it, so that no FUSE_SETUPMAPPING carries @fh once the daemon has
 * let it go (where the number may already name another open file). Ranges
 * mapped through @fh stay mapped: a mapping outlives its file, as the
 * daemon's own reference keeps the file open. No lock of @ino held.
 */
void dax_inode_release_fh(struct dax_conn *c, struct dax_inode *ino,
			  uint64_t fh);

/*
 * The inode's mapping lock (the kernel's i_mmap_sem / invalidate lock).
 * dax_read(), dax_write() and dax_fault() take it shared; truncate and hole
 * punching take it exclusively around dax_inode_break_range() and the
 * FUSE request that changes the file.
 */
void dax_inode_lock_mapping(struct dax_inode *ino);
void dax_inode_unlock_mapping(struct dax_inode *ino);
/*
 * Shared, as a fault takes it: keeps truncation out while the caller checks
 * the size and installs what dax_fault() returned. Reader-preferring, so a
 * thread already holding it shared may take it again.
 */
void dax_inode_lock_mapping_shared(struct dax_inode *ino);

/*
 * Remove every mapping of @ino overlapping file bytes [@start, @end)
 * (@end UINT64_MAX for "to the end"). The caller holds the mapping lock
 * (dax_inode_lock_mapping()). Waits until no one holds a reference on those
 * ranges (dax_fault() pins), then sends FUSE_REMOVEMAPPING in batches and
 * frees the ranges. Returns 0 or the first removal error (the ranges are
 * freed regardless: a stale window mapping is replaced by the next setup).
 */
int dax_inode_break_range(struct dax_conn *c, struct dax_inode *ino,
			  uint64_t start, uint64_t end);

/*
 * fsync: msync(MS_SYNC) the mapped parts of [@start, @end). Takes the
 * mapping lock shared. 0 or -errno.
 */
int dax_inode_flush(struct dax_conn *c, struct dax_inode *ino, uint64_t start,
		    uint64_t end);

/* Number of ranges @ino holds. */
unsigned dax_inode_nr_ranges(struct dax_inode *ino);
/* Whether the range holding file offset @off is in @ino's tree. */
bool dax_inode_mapped(struct dax_inode *ino, uint64_t off);

/* ---- I/O ------------------------------------------------------------ */

/*
 * Read up to @len bytes at @off through the window, clamped at @file_size.
 * With DAX_CONN_ADMIT, -ENOTBLK (nothing done) means "not worth mapping:
 * use FUSE_READ"; only the first range of a call is ever refused.
 * The caller keeps @file_size stable for the call (its inode lock, as the
 * kernel's i_rwsem: truncate takes it exclusively). @fh goes into
 * FUSE_SETUPMAPPING. @buf may itself lie in a vdax mapping: no connection
 * lock is held while copying. Returns bytes read (short only on an error
 * after some progress) or -errno from the backend / allocation.
 */
ssize_t dax_read(struct dax_conn *c, struct dax_inode *ino, uint64_t fh,
		 void *buf, size_t len, uint64_t off, uint64_t file_size);

/*
 * The lock-free hit path: copy [@off, +@len) out of the window if it lies
 * in one range that @ino has mapped and published, taking no lock and no
 * reference and writing no line that other readers write (a hazard slot
 * of the calling thread, see hazard.h, keeps the range from being taken
 * away during the copy). @size_of gives the file size, read after the
 * way in is known open; false sends the call to the locked path. Returns
 * the bytes copied (clamped at the size), or -EAGAIN: nothing done, use
 * dax_read() with the caller's locks (not mapped, spans two ranges, at or
 * past end of file, part of a sequential stream, the inode quiesced, no
 * slot). The caller takes none of its own locks; whatever changes the
 * file's data through the window or its size must run between
 * dax_inode_quiesce() and dax_inode_resume(). @buf must not be a vdax
 * program mapping (a fault there could wait for a writer that waits for
 * this copy).
 */
ssize_t dax_read_hit(struct dax_conn *c, struct dax_inode *ino, void *buf,
		     size_t len, uint64_t off,
		     bool (*size_of)(void *arg, uint64_t *size), void *arg);

/*
 * Keep dax_read_hit() out of @ino and wait for the copies in progress;
 * nestable. The caller holds its own exclusive inode lock, so that the
 * locked readers are out too.
 */
void dax_inode_quiesce(struct dax_inode *ino);
void dax_inode_resume(struct dax_inode *ino);

/*
 * dax_read() for a caller that reads the window itself (vdax_pread_window):
 * the same admission, stream and read-ahead choices, but instead of copying
 * it pins each range under [@off, +@len) (clamped at @file_size) and gives
 * @iov[i] the window bytes of piece i and @pins[i] its reference (drop each
 * with dax_fault_done()). Returns the number of pieces (0 at end of file),
 * all pinned; -E2BIG if the span needs more than @max; -ENOTBLK if the
 * policy sends this read around the window; or -errno. On an error nothing
 * is left pinned. The caller's locking is dax_read()'s; a caller that may
 * hold several pins while waiting for a free range must keep the window
 * from running out (see fc_dax_read_window()).
 */
int dax_pin_read(struct dax_conn *c, struct dax_inode *ino, uint64_t fh,
		 uint64_t off, size_t len, uint64_t file_size,
		 struct iovec *iov, struct dax_range **pins, unsigned max);

/*
 * Write @len bytes at @off through the window. A write that would extend
 * the file (off + len > @file_size) is not done here: it returns -ERANGE
 * before touching anything, and the caller sends FUSE_WRITE so that data and
 * size change together. Otherwise as dax_read().
 */
ssize_t dax_write(struct dax_conn *c, struct dax_inode *ino, uint64_t fh,
		  const void *buf, size_t len, uint64_t off,
		  uint64_t file_size);

/*
 * Program mmap support (the fault-service thread of vdax_mmap): set up the
 * range holding file offset @off (which the caller checked is below the
 * file size) and return it referenced, with *@addr the window address of
 * @off. The reference pins the range: reclaim skips it and
 * dax_inode_break_range() waits for it, so the caller must drop it with
 * dax_fault_done() without needing the inode's mapping lock in between.
 * Aliases of the range into a program mapping must be re-protected before
 * the reference is dropped for good; that bookkeeping belongs to the
 * vdax_mmap layer (not written yet).
 */
int dax_fault(struct dax_conn *c, struct dax_inode *ino, uint64_t fh,
	      uint64_t off, bool writable, void **addr, struct dax_range **pin);
void dax_fault_done(struct dax_conn *c, struct dax_range *pin);

/* ---- counters ------------------------------------------------------- */

struct dax_stats {
	uint64_t ranges_total;
	uint64_t ranges_free;
	uint64_t ranges_busy;
	uint64_t setup_mappings;  /* FUSE_SETUPMAPPING sent (incl. upgrades) */
	uint64_t remove_mappings; /* ranges removed by FUSE_REMOVEMAPPING */
	uint64_t remove_requests; /* FUSE_REMOVEMAPPING requests sent */
	uint64_t upgrades;	  /* read-only ranges made writable */
	uint64_t bg_reclaims;	  /* ranges freed by the worker */
	uint64_t direct_reclaims; /* own idle ranges stolen by I/O */
	uint64_t waits;		  /* times I/O waited for a free range */
	uint64_t hits;		  /* range lookups that found a mapping */
	uint64_t misses;	  /* ranges set up (incl. read-ahead) */
	uint64_t admissions;	  /* misses the policy let map */
	uint64_t bypasses;	  /* misses sent around the window */
	uint64_t ghost_hits;	  /* misses on a lately evicted range */
	uint64_t readaheads;	  /* ranges mapped ahead of a stream */
	uint64_t admit_margin;	  /* current admission margin (0: off) */
};

void dax_get_stats(struct dax_conn *c, struct dax_stats *st);

#endif
