/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FUSE server: decodes one FUSE request from device-readable buffers, checks
 * every size once, calls the passthrough filesystem, and encodes the reply
 * into device-writable buffers. Knows nothing of virtqueues.
 */
#ifndef VDAX_FUSE_SERVER_H
#define VDAX_FUSE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "passthrough/passthrough.h"

struct fuse_srv;
struct pt_xattrmap;
struct fuse_idmap;

enum fuse_srv_cache {
	FUSE_SRV_CACHE_AUTO,
	FUSE_SRV_CACHE_ALWAYS,
	FUSE_SRV_CACHE_NEVER,
	FUSE_SRV_CACHE_METADATA, /* metadata as ALWAYS, file data as NEVER */
};

/*
 * DAX hooks (the vhost-user backend channel); all NULL when DAX is off.
 * @map: map @len bytes of @fd (borrowed: the hook keeps or passes on its
 * own reference) at @fd_offset to window offset @moffset, writable or
 * read-only; an exact existing mapping at that span is replaced. @unmap:
 * leave [@moffset, +@len) reserved and empty. Both return 0 or -errno and
 * are called one at a time (the server serialises them).
 */
struct fuse_srv_dax_ops {
	int (*map)(void *ctx, int fd, uint64_t fd_offset, uint64_t moffset,
		   uint64_t len, bool writable);
	int (*unmap)(void *ctx, uint64_t moffset, uint64_t len);
	void *ctx;
	uint64_t window_size; /* bytes; 0 = no DAX window */
};

/* Per-file DAX (FUSE_HAS_INODE_DAX): which files get FUSE_ATTR_DAX. */
enum fuse_srv_inode_dax {
	FUSE_SRV_INODE_DAX_NEVER,
	FUSE_SRV_INODE_DAX_SIZE,  /* regular files of >= inode_dax_size bytes */
	FUSE_SRV_INODE_DAX_XFLAG, /* regular files with FS_XFLAG_DAX */
};

struct fuse_srv_opts {
	int root_fd;	   /* O_PATH fd of the shared directory (owned by caller) */
	int proc_self_fd;  /* O_PATH fd of /proc/self/fd, to reopen O_PATH fds */
	enum fuse_srv_cache cache;
	bool xattr;		  /* serve *XATTR requests (else ENOSYS) */
	bool announce_submounts;  /* FUSE_ATTR_SUBMOUNT on mount points */
	bool writeback;		  /* offer FUSE_WRITEBACK_CACHE */
	bool readdirplus;	  /* offer READDIRPLUS */
	bool posix_lock;	  /* serve GETLK/SETLK/SETLKW */
	bool flock;		  /* serve BSD flock */
	bool readonly;		  /* EROFS for everything that modifies */
	bool allow_direct_io;	  /* keep the guest's O_DIRECT on the host */
	bool preserve_noatime;	  /* keep O_NOATIME (else it is dropped) */
	bool allow_mmap;	  /* FUSE_DIRECT_IO_ALLOW_MMAP (cache=never/metadata) */
	bool no_killpriv_v2;	  /* do not offer FUSE_HANDLE_KILLPRIV_V2 */
	bool posix_acl;		  /* offer FUSE_POSIX_ACL (needs xattr) */
	bool security_label;	  /* offer FUSE_SECURITY_CTX (needs xattr) */
	const struct pt_xattrmap *xattrmap; /* --xattrmap (caller's), or NULL */
	/* --translate-uid/--translate-gid (caller's), or NULL */
	const struct fuse_idmap *uid_map, *gid_map;
	uint64_t max_inodes;	  /* inode table bound; 0 = default */
	enum pt_fh_mode file_handles; /* --inode-file-handles */
	unsigned max_write;	  /* bytes; 0 = default (1 MiB) */
	struct fuse_srv_dax_ops dax;
	enum fuse_srv_inode_dax inode_dax; /* ignored without a window */
	uint64_t inode_dax_size;
};

/* Create a server over the shared directory. Returns 0 or -errno. */
int fuse_srv_new(const struct fuse_srv_opts *opts, struct fuse_srv **out);

/*
 * Handle one request. Same contract as vu_backend_ops.handle: returns bytes
 * written into @out. Safe to call from several threads at once.
 */
size_t fuse_srv_handle(struct fuse_srv *srv, const struct iovec *in,
		       unsigned in_cnt, const struct iovec *out, unsigned out_cnt);

/*
 * With @on: end every request blocked indefinitely (a SETLKW), which
 * answers -EINTR, and make new ones fail at once; with !@on (or after
 * fuse_srv_reset()) they may block again. Same contract as
 * vu_backend_ops.cancel: bracket a wait for in-flight requests.
 */
void fuse_srv_cancel(struct fuse_srv *srv, bool on);

/*
 * Forget every inode, handle and DAX mapping (frontend gone, its window
 * with it); keeps the root.
 */
void fuse_srv_reset(struct fuse_srv *srv);

/* Live DAX mappings (tests, logs). */
size_t fuse_srv_dax_mappings(struct fuse_srv *srv);

/* The window's counters since the daemon started. */
struct fuse_srv_dax_stats {
	uint64_t live;	  /* mappings in place now */
	uint64_t setups;  /* SETUPMAPPINGs carried out (upgrades included) */
	uint64_t removes; /* mappings removed by REMOVEMAPPING */
	uint64_t most_inflight; /* most map/unmap calls in flight at once */
};
void fuse_srv_dax_stats(struct fuse_srv *srv, struct fuse_srv_dax_stats *st);

/* Log the counters above at info level, saying why (@why). */
void fuse_srv_dax_log(struct fuse_srv *srv, const char *why);

void fuse_srv_free(struct fuse_srv *srv);

#endif
