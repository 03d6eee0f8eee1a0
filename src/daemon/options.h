/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vdaxd command line: virtiofsd-compatible options into one struct. */
#ifndef VDAX_DAEMON_OPTIONS_H
#define VDAX_DAEMON_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/log.h"
#include "fuse/server.h"
#include "fuse/idmap.h"
#include "passthrough/xattrmap.h"
#include "sandbox/sandbox.h"

enum vdaxd_action {
	VDAXD_ACT_RUN,
	VDAXD_ACT_HELP,
	VDAXD_ACT_VERSION,
	VDAXD_ACT_PRINT_CAPS,
};

/* Worker threads when locks are served and no --thread-pool-size is given. */
#define VDAXD_LOCK_POOL 8

struct vdaxd_opts {
	enum vdaxd_action action;
	const char *socket_path;  /* NULL with --fd */
	const char *socket_group; /* NULL: leave the socket's group alone */
	int fd;			  /* -1 unless --fd */
	const char *shared_dir;
	enum fuse_srv_cache cache;
	unsigned thread_pool_size;
	bool thread_pool_size_set; /* else it follows the lock options */
	unsigned num_request_queues;
	enum sbx_mode sandbox;
	enum sbx_seccomp seccomp;
	enum vlog_level log_level;
	bool xattr, announce_submounts, writeback, readdirplus, posix_lock,
		flock;
	bool readdirplus_set; /* else it follows the cache mode */
	bool readonly, allow_direct_io, allow_mmap, preserve_noatime;
	bool no_killpriv_v2; /* default: FUSE_HANDLE_KILLPRIV_V2 offered */
	bool syslog;	     /* log to syslog instead of stderr */
	bool posix_acl;	     /* FUSE_POSIX_ACL (implies xattr) */
	bool security_label; /* FUSE_SECURITY_CTX (implies xattr) */
	const char *tag;     /* virtio-fs tag for GET_CONFIG; NULL = none */
	struct sbx_userns userns; /* --uid-map/--gid-map */
	struct pt_xattrmap *xattrmap; /* --xattrmap (implies --xattr) */
	struct fuse_idmap uid_map, gid_map; /* --translate-uid/-gid */
	uint64_t cache_size;  /* DAX window bytes; 0 = no DAX */
	enum fuse_srv_inode_dax inode_dax; /* per-file DAX policy */
	uint64_t inode_dax_size;	   /* with FUSE_SRV_INODE_DAX_SIZE */
	/* unset: raise the soft limit to the hard one; 0: leave it alone */
	uint64_t max_inodes;	/* 0 = the passthrough default */
	enum pt_fh_mode inode_file_handles; /* --inode-file-handles */
	bool rlimit_nofile_set;
	uint64_t rlimit_nofile;
	bool test_forbidden_syscall; /* VDAXD_TEST_HOOKS builds only */
};

/* DAX ranges are 2 MiB (FUSE_DAX_SHIFT); the window is made of them. */
#define VDAXD_DAX_RANGE (2ull << 20)

/*
 * Parse argv into @o (defaults filled first). On a bad option, prints
 * "vdaxd: <what>" to stderr naming it and returns -EINVAL (exit EX_USAGE).
 */
int vdaxd_parse_args(int argc, char **argv, struct vdaxd_opts *o);

/* Parse "SIZE[K|M|G|T]" (binary units). 0 or -EINVAL / -ERANGE. */
int vdaxd_parse_size(const char *s, uint64_t *out);

void vdaxd_usage(const char *prog, FILE *f);

#endif
