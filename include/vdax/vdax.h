/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvdax: the guest side of virtio-fs, in user space.
 *
 * libvdax plays the VMM (a vhost-user frontend sharing a memfd as guest
 * memory) and the guest kernel (a FUSE client with a dentry/inode cache) at
 * once, so any program can use a vhost-user-fs backend's files directly.
 *
 * Conventions: every function returns 0 (or a byte count >= 0) on success
 * and a negative errno value on failure; errno is not used. Paths are
 * resolved from the backend's root ("/a/b" and "a/b" are the same), one
 * component at a time, the way the kernel would; the *at() forms resolve
 * them from a directory node instead (see "nodes" below), and each path
 * call is its *at() form from the root. Every function is
 * thread-safe; one struct vdax_file may be used by several threads, with
 * the file position shared (as with dup'ed descriptors).
 *
 * When the backend dies or disconnects every pending and later call returns
 * -ENOTCONN; vdax_close() still releases everything.
 */
#ifndef VDAX_VDAX_H
#define VDAX_VDAX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <fcntl.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vdax;
struct vdax_file;
struct vdax_dir;
struct vdax_node;
struct vdax_ttl;

/* Session options. Zero-initialise, then set what you need. */
struct vdax_opts {
	const char *socket_path; /* vhost-user-fs backend socket (required) */
	size_t mem_size;	 /* shared "guest memory" bytes; 0 = 64 MiB */
	unsigned num_queues;	 /* request queues; 0 = 1 */
	unsigned queue_size;	 /* ring entries, power of 2; 0 = 128 */
	unsigned timeout_ms;	 /* per-request timeout, 0 = wait forever */
	/*
	 * Comma-separated "key=value" list, may be NULL. Keys: mem=BYTES,
	 * queues=N, queue_size=N, timeout=MS, entries=N (dentries kept in
	 * the cache; 0 = unbounded), and for DAX (see docs/dax.md):
	 *   dax=never|always|inode  (bare "dax" = always; default never)
	 *     always: every regular file goes through the DAX window; a
	 *             backend without one (no VHOST_USER_PROTOCOL_F_SHMEM,
	 *             e.g. QEMU's virtiofsd) makes vdax_open_session() fail
	 *             -EOPNOTSUPP;
	 *     inode:  only files the backend flags FUSE_ATTR_DAX (decided at
	 *             a file's first open); no window = no DAX, silently;
	 *   cache_size=BYTES  the window (K/M/G suffixes, a non-zero multiple
	 *             of 2 MiB); default and upper bound: the size the
	 *             backend advertises (a larger value is clamped).
	 * BYTES values take K/M/G suffixes. Values here override the fields
	 * above. Unknown keys or bad values make vdax_open_session() fail
	 * -EINVAL.
	 */
	const char *options;
};

/*
 * Connect to the backend, set up shared memory and virtqueues, and
 * negotiate FUSE_INIT. On success *out owns the session.
 * Errors: -EINVAL (bad options), -ENOENT/-ECONNREFUSED (no backend),
 * -EPROTO (backend does not speak virtio-fs well enough), -ENOMEM.
 */
int vdax_open_session(const struct vdax_opts *opts, struct vdax **out);

/*
 * Forget every cached inode, stop all threads and free everything.
 * Files and directories still open are released first. Never fails;
 * NULL is accepted.
 */
void vdax_close(struct vdax *vd);

/*
 * Set the per-request timeout in milliseconds (0 = none). A request that
 * exceeds it is interrupted (FUSE_INTERRUPT is sent) and the call returns
 * -ETIMEDOUT; the reply, if it ever comes, is discarded.
 */
void vdax_set_timeout(struct vdax *vd, unsigned timeout_ms);

/* Negotiated limits: largest single READ/WRITE payload, FUSE minor. */
size_t vdax_max_write(const struct vdax *vd);
unsigned vdax_proto_minor(const struct vdax *vd);

/* ---- nodes ---- */

/*
 * A struct vdax_node is an inode of the backend as libvdax knows it: a
 * FUSE nodeid with the lookups the backend counted for it. It is
 * reference counted; every function that gives one out (vdax_root(),
 * vdax_lookup(), vdax_walk(), the *at() calls that create, vdax_file_node())
 * gives a reference the caller must drop with vdax_node_put(). While any
 * reference is held the backend keeps the inode (its lookup count is not
 * paid back), so a node stays the same file across renames of it or of any
 * directory above it, and after its last name is removed. When the last
 * reference goes, libvdax may keep the node in its dentry cache (bounded
 * by the entries= option) or forget it: the backend then gets a FORGET for
 * every lookup it counted. Calls on nodes never follow a symlink: a node
 * that is a symlink is the link itself.
 *
 * Nodes belong to their session: passing one to another session is a bug.
 * A node whose inode the backend no longer knows answers -ESTALE; libvdax
 * then forgets the name it was found by, so that a fresh vdax_lookup()
 * gets the inode now under that name.
 */

/* The root directory, referenced. NULL only for a NULL @vd. */
struct vdax_node *vdax_root(struct vdax *vd);
/* Another reference to @n; returns @n. NULL is accepted. */
struct vdax_node *vdax_node_get(struct vdax *vd, struct vdax_node *n);
/* Drop a reference (see above for what follows). NULL is accepted. */
void vdax_node_put(struct vdax *vd, struct vdax_node *n);
/*
 * vdax_node_put() for a caller that is done with the inode, as the kernel
 * is when it evicts one: if this was the last reference, the name @n was
 * found by is dropped from libvdax's cache too, so that the backend gets
 * its FORGET now rather than when the cache is shrunk. (`vdax mount` does
 * this on the kernel's FORGET.) NULL is accepted.
 */
void vdax_node_forget(struct vdax *vd, struct vdax_node *n);
/* The backend's nodeid for @n (constant while @n is held); 0 for NULL. */
uint64_t vdax_node_id(const struct vdax_node *n);
/*
 * Lookups the backend has counted for @n (LOOKUP, CREATE, MKNOD, MKDIR,
 * SYMLINK, LINK and READDIRPLUS replies naming it) and libvdax has not yet
 * paid back with FORGET. 0 for the root, which is never looked up.
 */
uint64_t vdax_node_lookups(struct vdax *vd, struct vdax_node *n);
/*
 * Forget every cached name nobody holds a node, file or directory under,
 * so that the backend gets its FORGETs now (as writing 2 to
 * /proc/sys/vm/drop_caches does for the kernel's dentries). Nodes still
 * referenced, and the names leading to them, stay.
 */
void vdax_drop_caches(struct vdax *vd);

/*
 * Look up one @name (a single component: no '/', not "." or "..") in
 * directory @dir. On success *@out holds the node, referenced. The answer
 * may come from the cache while the backend's entry timeout lasts.
 * Errors: -EINVAL (bad arguments or name), -ENAMETOOLONG (over 255
 * bytes), -ENOTDIR (@dir is not a directory), -ENOENT, -ESTALE (@dir is
 * gone from the backend), -ENOTCONN, or the backend's LOOKUP error.
 */
int vdax_lookup(struct vdax *vd, struct vdax_node *dir, const char *name,
		struct vdax_node **out);
/*
 * Resolve @path from directory @dir (NULL: the root; an absolute path
 * starts at the root) as the kernel would, following symlinks on the way
 * and, unless @flags has AT_SYMLINK_NOFOLLOW, a final one. With
 * AT_EMPTY_PATH an empty @path names @dir itself. ".." at @dir goes to the
 * directory @dir was last looked up in. *@out gets the node, referenced.
 * Errors as stat(2), -EINVAL for other @flags.
 */
int vdax_walk(struct vdax *vd, struct vdax_node *dir, const char *path,
	      int flags, struct vdax_node **out);

/*
 * Attributes of @n itself (a symlink's own). *@ttl (may be NULL) as
 * vdax_stat_ttl(). Cached attributes are used while the backend's
 * attribute timeout lasts. Errors: -EINVAL, -ESTALE, -ENOTCONN.
 */
int vdax_getattr(struct vdax *vd, struct vdax_node *n, struct stat *st,
		 struct vdax_ttl *ttl);

/* What vdax_setattr() sets (the values of libfuse's FUSE_SET_ATTR_*). */
#define VDAX_SET_MODE (1 << 0)
#define VDAX_SET_UID (1 << 1)
#define VDAX_SET_GID (1 << 2)
#define VDAX_SET_SIZE (1 << 3)
#define VDAX_SET_ATIME (1 << 4)
#define VDAX_SET_MTIME (1 << 5)
#define VDAX_SET_ATIME_NOW (1 << 7) /* atime = now (st_atim ignored) */
#define VDAX_SET_MTIME_NOW (1 << 8) /* mtime = now (st_mtim ignored) */

/*
 * Change what @to_set names of @n's attributes to @attr's st_mode (the
 * permission bits), st_uid, st_gid, st_size, st_atim, st_mtim, in one
 * SETATTR. @n is never followed: a symlink's owner changes as lchown(2)
 * would, and its mode as fchmodat(AT_SYMLINK_NOFOLLOW) would (most
 * backends answer -EOPNOTSUPP, as Linux does). With @f (an open handle of
 * the same node; @n may then be NULL) the backend works through that
 * handle, so that ftruncate(2) of a file opened for writing whose mode
 * denies writing works. Then, if @st is not NULL, the new attributes go
 * to *@st (and *@ttl, may be NULL). @to_set 0 just reads them.
 * Errors: -EINVAL (unknown @to_set bits, no @attr, a negative size, @f
 * not of @n, a size on something not a regular file, or on @f opened
 * read-only), -EISDIR (size of a directory), -EPERM/-EACCES/-EOPNOTSUPP
 * from the backend, -ESTALE, -ENOTCONN.
 */
int vdax_setattr(struct vdax *vd, struct vdax_node *n, struct vdax_file *f,
		 const struct stat *attr, int to_set, struct stat *st,
		 struct vdax_ttl *ttl);

/*
 * access(2) of @n (@mask F_OK, or R_OK|W_OK|X_OK) as the backend decides
 * it (FUSE_ACCESS, for libvdax's own credentials). A backend without
 * FUSE_ACCESS grants everything on an existing node, as the kernel then
 * does. Errors: -EACCES, -EINVAL, -ESTALE, -ENOTCONN.
 */
int vdax_access_node(struct vdax *vd, struct vdax_node *n, int mask);
/* statfs of the file system holding @n (NULL: the root's). */
int vdax_statfs_node(struct vdax *vd, struct vdax_node *n,
		     struct statvfs *st);

/*
 * Node forms of the namespace calls: @path (usually a single name) is
 * resolved from directory node @dir (NULL: the root) as vdax_walk()
 * would, its final component not followed. The calls that create give the
 * new node in *@out, referenced, when @out is not NULL. Errors as the
 * system calls of the same name.
 */
int vdax_mkdirat(struct vdax *vd, struct vdax_node *dir, const char *path,
		 mode_t mode, struct vdax_node **out);
int vdax_mknodat(struct vdax *vd, struct vdax_node *dir, const char *path,
		 mode_t mode, dev_t dev, struct vdax_node **out);
int vdax_symlinkat(struct vdax *vd, const char *target, struct vdax_node *dir,
		   const char *linkpath, struct vdax_node **out);
/*
 * A new name @newpath (from @newdir) for what @oldpath (from @olddir)
 * names; @flags AT_SYMLINK_FOLLOW (follow a final symlink of @oldpath) and
 * AT_EMPTY_PATH (an empty @oldpath: @olddir itself, which may then be any
 * node but a directory). *@out (may be NULL) gets the node, referenced.
 */
int vdax_linkat(struct vdax *vd, struct vdax_node *olddir,
		const char *oldpath, struct vdax_node *newdir,
		const char *newpath, int flags, struct vdax_node **out);
/* @flags 0 or AT_REMOVEDIR (then as vdax_rmdirat()). */
int vdax_unlinkat(struct vdax *vd, struct vdax_node *dir, const char *path,
		  int flags);
int vdax_rmdirat(struct vdax *vd, struct vdax_node *dir, const char *path);
/* @flags as vdax_rename(). Nodes held for either name stay valid. */
int vdax_renameat2(struct vdax *vd, struct vdax_node *olddir,
		   const char *oldpath, struct vdax_node *newdir,
		   const char *newpath, unsigned flags);
/* As vdax_readlink(); an empty @path reads @dir itself (a symlink node). */
ssize_t vdax_readlinkat(struct vdax *vd, struct vdax_node *dir,
			const char *path, char *buf, size_t size);

/*
 * Open @path from directory node @dir (NULL: the root) as openat(2);
 * otherwise as vdax_open(). vdax_createat() adds O_CREAT.
 */
int vdax_openat(struct vdax *vd, struct vdax_node *dir, const char *path,
		int flags, mode_t mode, struct vdax_file **out);
int vdax_createat(struct vdax *vd, struct vdax_node *dir, const char *path,
		  int flags, mode_t mode, struct vdax_file **out);
/*
 * Open node @n itself with @flags as vdax_open() (O_CREAT is -EINVAL;
 * O_TRUNC, O_APPEND, O_DIRECTORY ... apply). A symlink node gives -ELOOP.
 * The handle holds a reference of its own on @n.
 */
int vdax_open_node(struct vdax *vd, struct vdax_node *n, int flags,
		   struct vdax_file **out);
/* The node @f is open on, referenced (drop with vdax_node_put()). */
struct vdax_node *vdax_file_node(struct vdax_file *f);
/* A directory stream on directory node @n (see vdax_opendir()). */
int vdax_opendir_node(struct vdax *vd, struct vdax_node *n,
		      struct vdax_dir **out);

/*
 * Extended attributes of @n itself (a symlink's own, as lgetxattr(2)):
 * otherwise as vdax_getxattr() and friends.
 */
ssize_t vdax_getxattr_node(struct vdax *vd, struct vdax_node *n,
			   const char *name, void *value, size_t size);
int vdax_setxattr_node(struct vdax *vd, struct vdax_node *n, const char *name,
		       const void *value, size_t size, int flags);
ssize_t vdax_listxattr_node(struct vdax *vd, struct vdax_node *n, char *list,
			    size_t size);
int vdax_removexattr_node(struct vdax *vd, struct vdax_node *n,
			  const char *name);

/* ---- files ---- */

/*
 * Open @path with open(2) @flags (O_RDONLY/O_WRONLY/O_RDWR, O_APPEND,
 * O_TRUNC, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY ...); @mode is used
 * when O_CREAT creates the file. On success *out owns the handle; release
 * it with vdax_release(). Errors as open(2).
 */
int vdax_open(struct vdax *vd, const char *path, int flags, mode_t mode,
	      struct vdax_file **out);
/* Same as vdax_open(vd, path, flags | O_CREAT, mode, out). */
int vdax_create(struct vdax *vd, const char *path, int flags, mode_t mode,
		struct vdax_file **out);
/* Flush, drop locks owned by this handle and free it. Returns the flush
 * result (the handle is freed either way). NULL is accepted. */
int vdax_release(struct vdax_file *f);

/* Read/write at the file position, advancing it. Return bytes or -errno. */
ssize_t vdax_read(struct vdax_file *f, void *buf, size_t len);
ssize_t vdax_write(struct vdax_file *f, const void *buf, size_t len);
/* Read/write at @off; the file position is untouched. Large transfers are
 * split at vdax_max_write() and issued in parallel. */
ssize_t vdax_pread(struct vdax_file *f, void *buf, size_t len, off_t off);
ssize_t vdax_pwrite(struct vdax_file *f, const void *buf, size_t len,
		    off_t off);
/*
 * Zero-copy read of a DAX file: call @fn once with iovecs pointing into the
 * DAX window for [@off, @off + @len) of @f, clamped at end of file, so that
 * the caller can move the bytes to their destination (a socket, /dev/fuse,
 * another buffer) with one copy. While @fn runs libvdax holds @f's inode
 * lock shared (the size cannot change: truncation and hole punching wait)
 * and a reference on each 2 MiB window range the span touches (reclaim
 * passes them over). The ranges are set up read-only if needed, exactly as
 * vdax_pread() would, and counted as its hits and misses are. The window's
 * admission policy applies as in vdax_pread(): a cold miss on a full
 * window may be read around it (FUSE_READ into a buffer of libvdax's, one
 * iovec, counted in the stats' bypasses); @fn cannot tell and need not.
 *
 * @fn gets cnt >= 1 iovecs whose lengths add up to the clamped length, or
 * cnt == 0 (iov may be NULL) when @off is at or past end of file or @len
 * is 0. It returns 0 (any value >= 0 counts as 0) or a negative errno.
 * The memory is valid only during the call, and read-only (writing to it
 * faults). @fn must not call back into libvdax for this file (no open,
 * I/O, truncate, release) nor touch a vdax_mmap() mapping of it, and
 * should not block for long: writers of the file wait for it. @f itself
 * is no longer used once @fn has been called, so another thread may
 * vdax_release() it meanwhile (e.g. after @fn answered a request that
 * kept the file open). As with any use of the window, a host that truncates
 * the file behind the client's back can make a touch past the host's new
 * end of file raise SIGBUS (see docs/dax.md).
 *
 * Returns the byte count given to @fn (0 at end of file), or @fn's negative
 * return, or -errno before @fn was called (then it was not called):
 *   -EOPNOTSUPP  @f does not go through the DAX window (dax=never, a
 *                dax=inode file without FUSE_ATTR_DAX, no window); nothing
 *                was done, use vdax_pread()
 *   -E2BIG       the clamped span touches more window ranges than one call
 *                may hold (half the window's ranges, at most 16; at least
 *                1); use vdax_pread() or a shorter span
 *   -EBADF (no @f, or not open for reading), -EISDIR, -EINVAL (@off < 0,
 *   no @fn), -ENOTCONN, or the backend's error setting up a range.
 */
ssize_t vdax_pread_window(struct vdax_file *f, size_t len, off_t off,
			  int (*fn)(const struct iovec *iov, int cnt,
				    void *arg),
			  void *arg);
/* Flush data (and metadata unless @datasync) to stable storage. */
int vdax_fsync(struct vdax_file *f, int datasync);
int vdax_ftruncate(struct vdax_file *f, off_t len);
int vdax_truncate(struct vdax *vd, const char *path, off_t len);
/* fallocate(2) @mode flags (FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE...). */
int vdax_fallocate(struct vdax_file *f, int mode, off_t off, off_t len);
/* SEEK_SET/CUR/END/DATA/HOLE; returns the new position or -errno. */
off_t vdax_lseek(struct vdax_file *f, off_t off, int whence);
/*
 * copy_file_range(2) within the backend. NULL offsets use (and advance) the
 * files' positions. Returns bytes copied or -errno.
 */
ssize_t vdax_copy_file_range(struct vdax_file *in, off_t *off_in,
			     struct vdax_file *out, off_t *off_out, size_t len,
			     unsigned flags);

/* ---- attributes ---- */

int vdax_stat(struct vdax *vd, const char *path, struct stat *st);
int vdax_lstat(struct vdax *vd, const char *path, struct stat *st);
int vdax_fstat(struct vdax_file *f, struct stat *st);

/*
 * How long the backend lets a client trust what it answered (FUSE
 * entry_valid / attr_valid), exactly as it sent them: a name for the inode
 * it resolved to (entry), and that inode's attributes (attr). A backend
 * run with cache=auto sends 1 s, cache=none 0, cache=always a long time.
 * libvdax's own cache honours them; a program that caches on top (such as
 * `vdax mount` for the kernel) should too.
 */
struct vdax_ttl {
	uint64_t entry_sec;
	uint32_t entry_nsec;
	uint64_t attr_sec;
	uint32_t attr_nsec;
};

/*
 * vdax_stat()/vdax_lstat()/vdax_fstat() that also report, in *@ttl (may be
 * NULL), the lifetimes the backend granted with the most recent reply that
 * named the final inode (LOOKUP or READDIRPLUS for the entry; these or
 * GETATTR/SETATTR for the attributes). The answer may come from libvdax's
 * cache: the lifetimes are the backend's values, not what is left of
 * them. The root (and a file reached only through a handle) has no entry
 * of its own until looked up: entry_sec and entry_nsec are then 0.
 * Errors as vdax_stat().
 */
int vdax_stat_ttl(struct vdax *vd, const char *path, struct stat *st,
		  struct vdax_ttl *ttl);
int vdax_lstat_ttl(struct vdax *vd, const char *path, struct stat *st,
		   struct vdax_ttl *ttl);
int vdax_fstat_ttl(struct vdax_file *f, struct stat *st,
		   struct vdax_ttl *ttl);
int vdax_chmod(struct vdax *vd, const char *path, mode_t mode);
/* (uid_t)-1 / (gid_t)-1 leave that id unchanged. */
int vdax_chown(struct vdax *vd, const char *path, uid_t uid, gid_t gid);
/* vdax_chown() of a final symlink itself, as lchown(2). */
int vdax_lchown(struct vdax *vd, const char *path, uid_t uid, gid_t gid);
/* utimensat(2) semantics: NULL = now; UTIME_NOW and UTIME_OMIT honoured.
 * @flags may hold AT_SYMLINK_NOFOLLOW. */
int vdax_utimens(struct vdax *vd, const char *path,
		 const struct timespec times[2], int flags);
int vdax_statfs(struct vdax *vd, const char *path, struct statvfs *st);

/* ---- namespace ---- */

int vdax_mkdir(struct vdax *vd, const char *path, mode_t mode);
int vdax_rmdir(struct vdax *vd, const char *path);
int vdax_unlink(struct vdax *vd, const char *path);
/* renameat2(2) @flags: RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT. */
int vdax_rename(struct vdax *vd, const char *from, const char *to,
		unsigned flags);
int vdax_link(struct vdax *vd, const char *oldpath, const char *newpath);
int vdax_symlink(struct vdax *vd, const char *target, const char *linkpath);
/* Like readlink(2): not NUL-terminated; returns the byte count. */
ssize_t vdax_readlink(struct vdax *vd, const char *path, char *buf,
		      size_t size);
int vdax_mknod(struct vdax *vd, const char *path, mode_t mode, dev_t dev);

/* ---- directories ---- */

struct vdax_dirent {
	uint64_t ino;	    /* inode number as the backend reports it */
	unsigned char type; /* DT_REG, DT_DIR, ... (DT_UNKNOWN if unknown) */
	char name[256];	    /* NUL-terminated */
};

int vdax_opendir(struct vdax *vd, const char *path, struct vdax_dir **out);
/* Next entry into *ent: returns 1, 0 at the end, or -errno. */
int vdax_readdir(struct vdax_dir *d, struct vdax_dirent *ent);
/*
 * A directory entry with the attributes the backend sent along with it
 * (FUSE_READDIRPLUS, used whenever the backend offers it at FUSE_INIT).
 */
struct vdax_dirent_plus {
	uint64_t ino;	    /* inode number as the backend reports it */
	unsigned char type; /* DT_REG, DT_DIR, ... (DT_UNKNOWN if unknown) */
	char name[256];	    /* NUL-terminated */
	/*
	 * 1: @st and @ttl are what the backend sent for this entry (and
	 * the entry is now in libvdax's cache, as a lookup would have put
	 * it). 0: the backend gave no attributes (plain READDIR, or "." and
	 * "..", or an entry it chose not to look up); @st and @ttl are zero.
	 */
	int attr_valid;
	struct stat st;
	struct vdax_ttl ttl;
};

/*
 * Next entry into *ent, with attributes when the backend gave them: 1, 0 at
 * the end, or -errno (-EIO: a malformed reply). The same stream as
 * vdax_readdir(); the two may be mixed on one struct vdax_dir.
 */
int vdax_readdir_plus(struct vdax_dir *d, struct vdax_dirent_plus *ent);
/* NULL is accepted. */
void vdax_closedir(struct vdax_dir *d);

/* ---- extended attributes (getxattr(2) family semantics) ---- */

/* @size 0 returns the needed size; too small a buffer gives -ERANGE. */
ssize_t vdax_getxattr(struct vdax *vd, const char *path, const char *name,
		      void *value, size_t size);
int vdax_setxattr(struct vdax *vd, const char *path, const char *name,
		  const void *value, size_t size, int flags);
ssize_t vdax_listxattr(struct vdax *vd, const char *path, char *list,
		       size_t size);
int vdax_removexattr(struct vdax *vd, const char *path, const char *name);

/* ---- locks ---- */

/* flock(2) operation: LOCK_SH, LOCK_EX, LOCK_UN, optionally | LOCK_NB. */
int vdax_flock(struct vdax_file *f, int op);
/* F_GETLK: on return lk->l_type is F_UNLCK or describes the conflict. */
int vdax_getlk(struct vdax_file *f, struct flock *lk);
/* F_SETLK (@wait 0: -EAGAIN on conflict) or F_SETLKW (@wait 1). */
int vdax_setlk(struct vdax_file *f, const struct flock *lk, int wait);
/*
 * vdax_getlk()/vdax_setlk() for lock owner @owner instead of @f's own: the
 * locks belong to @owner on @f's inode, whichever handle of the inode
 * takes or drops them (POSIX: a process's locks, as the kernel's
 * fl_owner). A program serving several owners (such as `vdax mount`, which
 * passes the kernel's) uses one handle for all of them. Owners share one
 * space with libvdax's per-handle ones, which are unlikely to collide.
 */
int vdax_getlk_owner(struct vdax_file *f, uint64_t owner, struct flock *lk);
int vdax_setlk_owner(struct vdax_file *f, uint64_t owner,
		     const struct flock *lk, int wait);

/* ---- program mmap (DAX sessions only; see docs/dax.md) ---- */

/*
 * Map @len bytes of @f at @off (page aligned) into the program, as
 * mmap(2) with MAP_SHARED: loads and stores go straight to the backend's
 * page cache through the DAX window. @prot is PROT_READ, optionally
 * | PROT_WRITE (which needs @f opened O_RDWR); @flags must be MAP_SHARED.
 * Pages are set up on first touch (a SIGSEGV handler libvdax installs,
 * chained to the program's); a touch beyond end of file raises SIGBUS.
 * The mapping keeps its own handle: @f may be released meanwhile.
 * Errors: -EINVAL (flags, alignment, len 0), -EACCES (mode), -ENODEV (the
 * file is not a DAX file), -ENOMEM.
 */
int vdax_mmap(struct vdax_file *f, size_t len, int prot, int flags, off_t off,
	      void **out);
/* Unmap a whole mapping made by vdax_mmap(). -EINVAL if @addr/@len do not
 * name one. */
int vdax_munmap(void *addr, size_t len);

/* ---- DAX counters ---- */

struct vdax_stats {
	uint64_t window_size;	  /* bytes; 0 = the session has no DAX */
	uint64_t ranges_total;	  /* 2 MiB ranges in the window */
	uint64_t ranges_free;
	uint64_t ranges_busy;	  /* mapped to a file */
	uint64_t setup_mappings;  /* FUSE_SETUPMAPPING sent (incl. upgrades) */
	uint64_t remove_mappings; /* ranges removed (FUSE_REMOVEMAPPING) */
	uint64_t remove_requests; /* FUSE_REMOVEMAPPING requests */
	uint64_t upgrades;	  /* read-only ranges made writable */
	uint64_t bg_reclaims;	  /* ranges freed by the reclaim worker */
	uint64_t direct_reclaims; /* a file's own idle range reused by I/O */
	uint64_t waits;		  /* I/O waited for a free range */
	uint64_t hits;		  /* range lookups that found a mapping */
	uint64_t misses;	  /* ... that had to set one up */
	uint64_t faults;	  /* vdax_mmap page faults served */
	/* Admission (dax_admit=adaptive, the default; all 0 with =all): */
	uint64_t admissions;	  /* misses the policy let map a range */
	uint64_t bypasses;	  /* misses served by FUSE_READ/WRITE instead */
	uint64_t ghost_hits;	  /* misses on a range evicted a moment ago */
	uint64_t readaheads;	  /* ranges mapped ahead of a sequential read */
	uint64_t admit_margin;	  /* the adaptive margin now (see docs/dax.md) */
};

/* Snapshot of the DAX counters (all 0 without DAX). 0 or -EINVAL. */
int vdax_get_stats(struct vdax *vd, struct vdax_stats *st);
/* The counters, one "name value" line each. 0, -EINVAL or -EIO. */
int vdax_print_stats(struct vdax *vd, FILE *out);

/* ---- filesystem ---- */

/* Flush the whole filesystem; 0 if the backend does not support it. */
int vdax_syncfs(struct vdax *vd);

#ifdef __cplusplus
}
#endif

#endif
