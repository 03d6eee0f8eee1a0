/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The passthrough filesystem: serves FUSE operations on a shared host
 * directory. Knows nothing of the FUSE wire format beyond its flag values.
 *
 * Inodes are O_PATH|O_NOFOLLOW fds, or kernel file handles (see enum
 * pt_fh_mode), found by (st_dev, st_ino, mount id) and named by a 64-bit
 * nodeid = generation << 32 | slot index (the root is FUSE_ROOT_ID). Open
 * files (FUSE fh) are named the same way. A nodeid or fh from the guest is
 * only ever an index checked against a bound, an in-use flag and a
 * generation; a kernel file handle never comes from the guest. Every name
 * is a single path component resolved with openat() relative to its
 * parent's fd; symlinks are never followed on the
 * host. All functions are thread-safe and return 0 (or a count) or -errno.
 */
#ifndef VDAX_PASSTHROUGH_H
#define VDAX_PASSTHROUGH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <fcntl.h>

struct pt_fs;
struct pt_xattrmap;

/* Which regular files get FUSE_ATTR_DAX (per-file DAX, FUSE_HAS_INODE_DAX). */
enum pt_dax_policy {
	PT_DAX_NEVER,	/* none */
	PT_DAX_SIZE,	/* files of at least pt_opts.dax_min_size bytes */
	PT_DAX_XFLAG,	/* files with FS_XFLAG_DAX set on the host */
};

/*
 * How inodes are held (--inode-file-handles). An O_PATH fd per inode costs
 * one open file per inode the guest knows; a file handle (name_to_handle_at)
 * costs memory only and is opened (open_by_handle_at, which needs
 * CAP_DAC_READ_SEARCH) for each operation that needs an fd.
 */
enum pt_fh_mode {
	PT_FH_NEVER,	 /* an O_PATH fd per inode */
	PT_FH_PREFER,	 /* handles where the filesystem has them, else fds */
	PT_FH_MANDATORY, /* handles or nothing: a lookup fails instead */
};

struct pt_opts {
	int root_fd;		 /* O_PATH fd of the shared directory (caller's) */
	int proc_self_fd;	 /* O_PATH fd of /proc/self/fd (caller's) */
	uint64_t max_inodes;	 /* 0 = default */
	uint64_t max_handles;	 /* 0 = default */
	bool announce_submounts; /* flag directories on another mount */
	bool writeback;		 /* writeback cache: open O_WRONLY as O_RDWR, no O_APPEND */
	bool allow_direct_io;	 /* keep O_DIRECT from the guest (else dropped) */
	bool preserve_noatime;	 /* keep O_NOATIME from the guest (else dropped) */
	const struct pt_xattrmap *xattrmap; /* --xattrmap (caller's); NULL = none */
	enum pt_dax_policy dax_policy; /* FUSE_ATTR_DAX in attr_flags */
	uint64_t dax_min_size;	 /* PT_DAX_SIZE threshold, bytes */
	/*
	 * With PREFER or MANDATORY the caller holds CAP_DAC_READ_SEARCH (in
	 * the initial user namespace); pt_new() probes the shared directory:
	 * PREFER falls back to fds if that fails, MANDATORY fails pt_new().
	 */
	enum pt_fh_mode file_handles;
};

/* Credentials of the requesting guest process. */
#define PT_CTX_GROUPS 8

struct pt_ctx {
	uint32_t uid;
	uint32_t gid;
	uint32_t pid;
	/*
	 * Supplementary groups the caller has for a creation (the kernel's
	 * FUSE_EXT_GROUPS extension: the parent directory's group when the
	 * caller is a member): held by the thread while it creates.
	 */
	uint32_t ngroups;
	uint32_t groups[PT_CTX_GROUPS];
	bool forbidden; /* --translate-*: these ids may not create files */
};

struct pt_entry {
	uint64_t nodeid;     /* 0: no entry (readdirplus "." and "..") */
	struct stat st;
	uint32_t attr_flags; /* FUSE_ATTR_* */
};

/* What SETATTR changes: FATTR_* bits in @valid. */
struct pt_setattr {
	uint32_t valid;
	uint64_t fh;
	uint32_t mode;
	uint32_t uid;
	uint32_t gid;
	uint64_t size;
	struct timespec atime; /* tv_nsec UTIME_NOW / UTIME_OMIT honoured */
	struct timespec mtime;
};

struct pt_dirent {
	const char *name;
	size_t namelen;
	uint64_t ino;
	uint32_t type; /* DT_* */
	uint64_t off;  /* cookie of the next entry */
	const struct pt_entry *entry; /* readdirplus only */
};

/*
 * READDIR(PLUS) output sink. @fits says whether an entry with a name of
 * @namelen bytes still fits (asked before the entry is looked up, so a
 * readdirplus lookup is never wasted); @add stores one entry.
 */
struct pt_dir_filler {
	bool (*fits)(void *arg, size_t namelen);
	int (*add)(void *arg, const struct pt_dirent *de);
	void *arg;
};

int pt_new(const struct pt_opts *opts, struct pt_fs **out);
void pt_free(struct pt_fs *fs);
/* Forget every inode but the root and every handle; stale ids stay stale. */
void pt_reset(struct pt_fs *fs);
/* The kernel accepted (or not) the writeback cache; see pt_opts.writeback. */
void pt_set_writeback(struct pt_fs *fs, bool on);

/* Introspection (tests, logs). */
uint64_t pt_inode_count(struct pt_fs *fs);
uint64_t pt_handle_count(struct pt_fs *fs);
/* The mode in effect after pt_new()'s probe (PREFER may have become NEVER). */
enum pt_fh_mode pt_file_handles(struct pt_fs *fs);
/* nlookup of @nodeid, or 0 if it is not a live inode. */
uint64_t pt_nlookup(struct pt_fs *fs, uint64_t nodeid);

int pt_lookup(struct pt_fs *fs, uint64_t parent, const char *name,
	      struct pt_entry *e);
/* Drop @nlookup lookups; a bad nodeid is ignored with -ESTALE. */
int pt_forget(struct pt_fs *fs, uint64_t nodeid, uint64_t nlookup);
int pt_getattr(struct pt_fs *fs, uint64_t nodeid, struct stat *st,
	       uint32_t *attr_flags);
int pt_setattr(struct pt_fs *fs, const struct pt_ctx *ctx, uint64_t nodeid,
	       const struct pt_setattr *sa, struct stat *st);
/* Returns the length of the target (not NUL-terminated) or -errno. */
ssize_t pt_readlink(struct pt_fs *fs, uint64_t nodeid, char *buf, size_t size);

int pt_mknod(struct pt_fs *fs, const struct pt_ctx *ctx, uint64_t parent,
	     const char *name, uint32_t mode, uint32_t rdev, uint32_t umask,
	     struct pt_entry *e);
int pt_mkdir(struct pt_fs *fs, const struct pt_ctx *ctx, uint64_t parent,
	     const char *name, uint32_t mode, uint32_t umask,
	     struct pt_entry *e);
int pt_symlink(struct pt_fs *fs, const struct pt_ctx *ctx, uint64_t parent,
	       const char *name, const char *target, struct pt_entry *e);
int pt_unlink(struct pt_fs *fs, uint64_t parent, const char *name);
int pt_rmdir(struct pt_fs *fs, uint64_t parent, const char *name);
/* @flags: RENAME_NOREPLACE / RENAME_EXCHANGE / RENAME_WHITEOUT. */
int pt_rename(struct pt_fs *fs, const struct pt_ctx *ctx, uint64_t parent,
	      const char *name, uint64_t newparent, const char *newname,
	      uint32_t flags);
int pt_link(struct pt_fs *fs, uint64_t nodeid, uint64_t newparent,
	    const char *newname, struct pt_entry *e);

int pt_open(struct pt_fs *fs, const struct pt_ctx *ctx, uint64_t nodeid,
	    uint32_t flags, uint64_t *fh);
int pt_create(struct pt_fs *fs, const struct pt_ctx *ctx, uint64_t parent,
	      const char *name, uint32_t mode, uint32_t umask, uint32_t flags,
	      struct pt_entry *e, uint64_t *fh);
int pt_tmpfile(struct pt_fs *fs, const struct pt_ctx *ctx, uint64_t parent,
	       uint32_t mode, uint32_t umask, uint32_t flags,
	       struct pt_entry *e, uint64_t *fh);
/* preadv/pwritev straight into/out of @iov. Return bytes or -errno. */
ssize_t pt_read(struct pt_fs *fs, uint64_t nodeid, uint64_t fh,
		const struct iovec *iov, int cnt, uint64_t off);
ssize_t pt_write(struct pt_fs *fs, uint64_t nodeid, uint64_t fh,
		 const struct iovec *iov, int cnt, uint64_t off,
		 bool kill_suidgid);
/* Close of one of @owner's descriptors: releases its POSIX locks here. */
int pt_flush(struct pt_fs *fs, uint64_t nodeid, uint64_t fh, uint64_t owner);
int pt_release(struct pt_fs *fs, uint64_t nodeid, uint64_t fh,
	       bool flock_unlock);
int pt_fsync(struct pt_fs *fs, uint64_t nodeid, uint64_t fh, bool datasync,
	     bool dir);

int pt_opendir(struct pt_fs *fs, uint64_t nodeid, uint32_t flags,
	       uint64_t *fh);
int pt_readdir(struct pt_fs *fs, uint64_t nodeid, uint64_t fh, uint64_t off,
	       bool plus, const struct pt_dir_filler *f);
int pt_releasedir(struct pt_fs *fs, uint64_t nodeid, uint64_t fh);

int pt_statfs(struct pt_fs *fs, uint64_t nodeid, struct statvfs *sv);
int pt_access(struct pt_fs *fs, const struct pt_ctx *ctx, uint64_t nodeid,
	      uint32_t mask);

int pt_setxattr(struct pt_fs *fs, uint64_t nodeid, const char *name,
		const void *value, size_t size, uint32_t flags);
/* size 0: return the needed size. Returns bytes or -errno. */
ssize_t pt_getxattr(struct pt_fs *fs, uint64_t nodeid, const char *name,
		    void *buf, size_t size);
ssize_t pt_listxattr(struct pt_fs *fs, uint64_t nodeid, void *buf,
		     size_t size);
int pt_removexattr(struct pt_fs *fs, uint64_t nodeid, const char *name);

int pt_fallocate(struct pt_fs *fs, uint64_t nodeid, uint64_t fh, uint32_t mode,
		 uint64_t off, uint64_t len);
int pt_lseek(struct pt_fs *fs, uint64_t nodeid, uint64_t fh, uint64_t off,
	     uint32_t whence, uint64_t *res);
ssize_t pt_copy_file_range(struct pt_fs *fs, uint64_t nodeid_in,
			   uint64_t fh_in, uint64_t off_in,
			   uint64_t nodeid_out, uint64_t fh_out,
			   uint64_t off_out, uint64_t len, uint64_t flags);
/*
 * POSIX locks of lock owner @owner (a guest process), kept as OFD locks on
 * an open file description per (inode, owner); @fl->l_pid is ignored.
 * -ENOLCK when too many owners hold locks.
 */
int pt_getlk(struct pt_fs *fs, uint64_t nodeid, uint64_t fh, uint64_t owner,
	     struct flock *fl);
int pt_setlk(struct pt_fs *fs, uint64_t nodeid, uint64_t fh, uint64_t owner,
	     const struct flock *fl, bool wait);
/* @op: LOCK_SH/LOCK_EX/LOCK_UN, optionally | LOCK_NB. */
int pt_flock(struct pt_fs *fs, uint64_t nodeid, uint64_t fh, int op);
int pt_syncfs(struct pt_fs *fs, uint64_t nodeid);

/*
 * For DAX: a dup of the handle's fd (caller closes it) and the access mode
 * it was opened with (O_RDONLY, O_WRONLY or O_RDWR) in *@accmode. -EBADF
 * for a stale handle, one of another inode, or a directory handle.
 */
int pt_handle_dup_fd(struct pt_fs *fs, uint64_t nodeid, uint64_t fh,
		     int *accmode);

/*
 * For DAX mappings that belong to the inode rather than to an open file
 * (the Linux client sends fh = -1: its mappings outlive every RELEASE): a
 * new fd on @nodeid's regular file, O_RDWR if @writable, else O_RDONLY
 * (caller closes it). -EBADF if the inode is not a regular file; the
 * errors of pt_inode_get() for a bad nodeid; the open's own errno.
 */
int pt_inode_open_fd(struct pt_fs *fs, uint64_t nodeid, bool writable);

#endif
