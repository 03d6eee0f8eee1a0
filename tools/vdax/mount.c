// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vdax mount: a FUSE (low-level API) file system whose every operation is
 * served by libvdax, so any program on the machine can use a vhost-user-fs
 * share.
 *
 * libvdax names files by path, the kernel by node id. This file keeps the
 * mapping: a node per host inode number the kernel knows (nlookup > 0),
 * carrying the (parent, name) aliases the kernel looked it up by (several
 * for hard links, newest first); the path of a node is built by walking the
 * first alias of each ancestor. Node ids and file handles the kernel holds are
 * indices into slot tables with a generation, never pointers.
 *
 * Only one lock: vm.lock protects the node and handle tables, every node's
 * naming fields and the per-node list of open files. No libvdax call is made
 * with it held.
 */
#define FUSE_USE_VERSION 34

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "vdax/vdax.h"
#include "mount.h"

#define VM_PATH_MAX 4096
/*
 * Open flags that only concern this machine's kernel and are not passed on
 * to the backend: O_DIRECT bypasses the mount's page cache here (the kernel
 * does that), while on the host it would make the backend's reads and
 * writes need aligned buffers that libvdax's shared memory does not
 * guarantee (vdaxd answers EINVAL). QEMU's virtiofsd drops it too unless
 * started with allow_direct_io.
 */
#define VM_LOCAL_FLAGS O_DIRECT
#define VM_INO_BUCKETS 4096u

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

static const char *const vm_op_names[VM_NR_OPS] = {
	[VM_LOOKUP] = "lookup",		[VM_FORGET] = "forget",
	[VM_GETATTR] = "getattr",	[VM_SETATTR] = "setattr",
	[VM_READLINK] = "readlink",	[VM_MKNOD] = "mknod",
	[VM_MKDIR] = "mkdir",		[VM_UNLINK] = "unlink",
	[VM_RMDIR] = "rmdir",		[VM_SYMLINK] = "symlink",
	[VM_RENAME] = "rename",		[VM_LINK] = "link",
	[VM_OPEN] = "open",		[VM_CREATE] = "create",
	[VM_READ] = "read",		[VM_WRITE] = "write",
	[VM_FLUSH] = "flush",		[VM_RELEASE] = "release",
	[VM_FSYNC] = "fsync",		[VM_OPENDIR] = "opendir",
	[VM_READDIR] = "readdir",	[VM_READDIRPLUS] = "readdirplus",
	[VM_RELEASEDIR] = "releasedir",
	[VM_STATFS] = "statfs",		[VM_SETXATTR] = "setxattr",
	[VM_GETXATTR] = "getxattr",	[VM_LISTXATTR] = "listxattr",
	[VM_REMOVEXATTR] = "removexattr", [VM_ACCESS] = "access",
	[VM_GETLK] = "getlk",		[VM_SETLK] = "setlk",
	[VM_FLOCK] = "flock",		[VM_FALLOCATE] = "fallocate",
	[VM_LSEEK] = "lseek",		[VM_COPY_FILE_RANGE] = "copy_file_range",
};

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
	uint64_t nodeid;	  /* what the kernel calls it */
	uint64_t ino;		  /* host inode number */
	mode_t type;		  /* S_IFMT bits */
	/* All below protected by vm.lock. */
	uint64_t nlookup;	  /* kernel references */
	unsigned refs;		  /* (nlookup > 0) + children + pins */
	struct vm_alias *aliases; /* none: root, or every name is gone */
	bool in_ino_hash;
	struct vm_node *ino_next; /* ino hash chain */
	struct vm_file *files;	  /* open regular files, for fstat */
	struct vm_lkown *lkowners; /* POSIX lock owners' handles */
	struct timespec seen_mtime; /* at the last open: pages still good */
	off_t seen_size;	    /* while these have not changed */
};

/*
 * libvdax gives each handle its own lock owner, the kernel names the owner
 * (a process's file table) in each request: every kernel owner that takes
 * a POSIX lock on a node gets a handle of its own, kept until the node's
 * last open file is released.
 */
struct vm_lkown {
	uint64_t owner;
	struct vdax_file *vf;
	struct vm_lkown *next;
};

/* One name of a node; holds a reference on @parent. */
struct vm_alias {
	struct vm_node *parent;
	char *name;
	struct vm_alias *next;
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
	struct vm_node *ino_hash[VM_INO_BUCKETS];	/* protected by lock */
	size_t nnodes, nfiles;				/* protected by lock */
};

static struct vm *vm_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Slot 0 is never used, so no id is 0 and the root gets id 1 (idx 1). */
static int tab_add(struct vm_table *t, void *ptr, uint64_t *id)
{
	uint32_t idx;

	if (t->nfree) {
		idx = t->free[--t->nfree];
	} else {
		if (t->used == t->cap) {
			size_t ncap = t->cap ? t->cap * 2 : 256;
			struct vm_slot *s;
			uint32_t *f;

			if (ncap > UINT32_MAX)
				return -ENFILE;
			s = realloc(t->slots, ncap * sizeof(*s));
			if (!s)
				return -ENOMEM;
			t->slots = s;
			f = realloc(t->free, ncap * sizeof(*f));
			if (!f)
				return -ENOMEM;
			t->free = f;
			memset(&s[t->cap], 0, (ncap - t->cap) * sizeof(*s));
			t->cap = ncap;
			if (!t->used)
				t->used = 1;
		}
		idx = t->used++;
	}
	t->slots[idx].ptr = ptr;
	*id = (uint64_t)t->slots[idx].gen << 32 | idx;
	return 0;
}

static void *tab_get(struct vm_table *t, uint64_t id)
{
	uint64_t idx = id & 0xffffffffu;

	if (!idx || idx >= t->used || !t->slots[idx].ptr ||
	    t->slots[idx].gen != (uint32_t)(id >> 32))
		return NULL;
	return t->slots[idx].ptr;
}

static void tab_del(struct vm_table *t, uint64_t id)
{
	uint32_t idx = (uint32_t)id;

	t->slots[idx].ptr = NULL;
	t->slots[idx].gen++;
	t->free[t->nfree++] = idx;
}

/* ---- node naming (all *_locked: caller holds vm.lock) ---- */

static unsigned ino_bucket(uint64_t ino)
{
	return (unsigned)((ino * 0x9e3779b97f4a7c15ull) >> 52) %
	       VM_INO_BUCKETS;
}

static void ino_unhash_locked(struct vm *vm, struct vm_node *n)
{
	struct vm_node **pp = &vm->ino_hash[ino_bucket(n->ino)];

	if (!n->in_ino_hash)
		return;
	for (; *pp; pp = &(*pp)->ino_next) {
		if (*pp == n) {
			*pp = n->ino_next;
			break;
		}
	}
	n->in_ino_hash = false;
}

static void node_put_locked(struct vm *vm, struct vm_node *n);

static void alias_free_locked(struct vm *vm, struct vm_alias *a)
{
	struct vm_node *p = a->parent;

	free(a->name);
	free(a);
	node_put_locked(vm, p);
}

static struct vm_alias **alias_find(struct vm_node *n, struct vm_node *parent,
				    const char *name)
{
	struct vm_alias **pp;

	for (pp = &n->aliases; *pp; pp = &(*pp)->next)
		if ((*pp)->parent == parent && !strcmp((*pp)->name, name))
			return pp;
	return NULL;
}

/* Forget one name of @n (it was unlinked or replaced); false if unknown. */
static bool alias_drop_locked(struct vm *vm, struct vm_node *n,
			      struct vm_node *parent, const char *name)
{
	struct vm_alias **pp = alias_find(n, parent, name), *a;

	if (!pp)
		return false;
	a = *pp;
	*pp = a->next;
	alias_free_locked(vm, a);
	return true;
}

static void alias_drop_all_locked(struct vm *vm, struct vm_node *n)
{
	while (n->aliases) {
		struct vm_alias *a = n->aliases;

		n->aliases = a->next;
		alias_free_locked(vm, a);
	}
}

/* Recursion depth is bounded by the path depth (VM_PATH_MAX / 2). */
static void node_put_locked(struct vm *vm, struct vm_node *n)
{
	if (--n->refs)
		return;
	ino_unhash_locked(vm, n);
	tab_del(&vm->nodes, n->nodeid);
	vm->nnodes--;
	alias_drop_all_locked(vm, n);
	free(n);
}

/* Give @n the name (@parent, @name), first in its list. */
static int alias_add_locked(struct vm_node *n, struct vm_node *parent,
			    const char *name)
{
	struct vm_alias **pp = alias_find(n, parent, name), *a;

	if (pp) {
		a = *pp;
		*pp = a->next;
	} else {
		a = calloc(1, sizeof(*a));
		if (a)
			a->name = strdup(name);
		if (!a || !a->name) {
			free(a);
			return -ENOMEM;
		}
		a->parent = parent;
		parent->refs++;
	}
	a->next = n->aliases;
	n->aliases = a;
	return 0;
}

/* Move the name (@op, @on) of @n to (@np, @nn). */
static int alias_move_locked(struct vm *vm, struct vm_node *n,
			     struct vm_node *op, const char *on,
			     struct vm_node *np, const char *nn)
{
	struct vm_alias **pp = alias_find(n, op, on);
	int ret;

	if (!pp)
		return 0;
	np->refs++; /* alias_drop could free it (when it is @op) */
	alias_drop_locked(vm, n, op, on);
	ret = alias_add_locked(n, np, nn);
	node_put_locked(vm, np);
	return ret;
}

static struct vm_node *node_by_ino_locked(struct vm *vm, uint64_t ino)
{
	struct vm_node *n = vm->ino_hash[ino_bucket(ino)];

	while (n && n->ino != ino)
		n = n->ino_next;
	return n;
}

static struct vm_node *node_get_locked(struct vm *vm, fuse_ino_t id)
{
	return tab_get(&vm->nodes, id);
}

/* Build the libvdax path of @n (+ "/" + @name if not NULL). */
static int node_path_locked(struct vm_node *n, const char *name, char *buf,
			    size_t size)
{
	size_t pos = size - 1;

	buf[pos] = '\0';
	if (name) {
		size_t l = strlen(name);

		if (l + 1 > pos)
			return -ENAMETOOLONG;
		pos -= l;
		memcpy(buf + pos, name, l);
		buf[--pos] = '/';
	}
	for (; n->aliases; n = n->aliases->parent) {
		size_t l = strlen(n->aliases->name);

		if (l + 1 > pos)
			return -ENAMETOOLONG;
		pos -= l;
		memcpy(buf + pos, n->aliases->name, l);
		buf[--pos] = '/';
	}
	if (n->nodeid != FUSE_ROOT_ID)
		return -ENOENT; /* an ancestor was unlinked */
	if (pos == size - 1)
		buf[--pos] = '/';
	memmove(buf, buf + pos, size - pos);
	return 0;
}

static int path_of(struct vm *vm, fuse_ino_t id, const char *name, char *buf)
{
	struct vm_node *n;
	int ret;

	pthread_mutex_lock(&vm->lock);
	n = node_get_locked(vm, id);
	ret = n ? node_path_locked(n, name, buf, VM_PATH_MAX) : -ESTALE;
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

/*
 * The node for host inode @st under (@parent_id, @name), created if new,
 * with one more kernel lookup counted. The last name looked up wins (hard
 * links share one node, as they share one kernel inode).
 */
static int node_enter(struct vm *vm, fuse_ino_t parent_id, const char *name,
		      const struct stat *st, uint64_t *nodeid)
{
	struct vm_node *parent, *n;
	int ret = 0;

	pthread_mutex_lock(&vm->lock);
	parent = node_get_locked(vm, parent_id);
	if (!parent) {
		ret = -ESTALE;
		goto out;
	}
	n = node_by_ino_locked(vm, st->st_ino);
	if (n && (n->type != (st->st_mode & S_IFMT))) {
		/* the host reused the number: the old node is gone */
		ino_unhash_locked(vm, n);
		alias_drop_all_locked(vm, n);
		n = NULL;
	}
	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n) {
			ret = -ENOMEM;
			goto out;
		}
		ret = tab_add(&vm->nodes, n, &n->nodeid);
		if (ret) {
			free(n);
			goto out;
		}
		n->ino = st->st_ino;
		n->type = st->st_mode & S_IFMT;
		n->refs = 1; /* for nlookup > 0 */
		n->ino_next = vm->ino_hash[ino_bucket(n->ino)];
		vm->ino_hash[ino_bucket(n->ino)] = n;
		n->in_ino_hash = true;
		vm->nnodes++;
	} else if (!n->nlookup) {
		n->refs++;
	}
	if (n != parent)
		ret = alias_add_locked(n, parent, name);
	n->nlookup++;
	*nodeid = n->nodeid;
out:
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

static void node_forget(struct vm *vm, fuse_ino_t id, uint64_t nlookup)
{
	struct vm_node *n;

	pthread_mutex_lock(&vm->lock);
	n = node_get_locked(vm, id);
	if (n && id != FUSE_ROOT_ID) {
		n->nlookup = nlookup >= n->nlookup ? 0 : n->nlookup - nlookup;
		if (!n->nlookup)
			node_put_locked(vm, n);
	}
	pthread_mutex_unlock(&vm->lock);
}

/* After a name went away on the backend: forget it if a node carries it. */
static void name_gone(struct vm *vm, fuse_ino_t parent_id, const char *name,
		      uint64_t ino)
{
	struct vm_node *n, *p;

	pthread_mutex_lock(&vm->lock);
	p = node_get_locked(vm, parent_id);
	n = node_by_ino_locked(vm, ino);
	if (n && p)
		alias_drop_locked(vm, n, p, name);
	pthread_mutex_unlock(&vm->lock);
}

/* ---- replies ---- */

static void count(struct vm *vm, enum vm_op op, int err)
{
	atomic_fetch_add_explicit(&vm->cnt.calls[op], 1, memory_order_relaxed);
	if (err) {
		atomic_fetch_add_explicit(&vm->cnt.errors[op], 1,
					  memory_order_relaxed);
		if (err == -ENOTCONN)
			atomic_fetch_add_explicit(&vm->cnt.enotconn, 1,
						  memory_order_relaxed);
	}
}

/* Every error reply goes through here: libvdax's -errno, counted. */
static void reply_err(fuse_req_t req, enum vm_op op, int err)
{
	count(vm_of(req), op, err);
	fuse_reply_err(req, -err);
}

static double ttl_seconds(uint64_t sec, uint32_t nsec)
{
	return (double)sec + (double)nsec / 1e9;
}

/* The kernel may keep what the backend let libvdax keep, unless -o says. */
static double attr_timeout(const struct vm *vm, const struct vdax_ttl *t)
{
	if (vm->attr_timeout >= 0)
		return vm->attr_timeout;
	return ttl_seconds(t->attr_sec, t->attr_nsec);
}

static double entry_timeout(const struct vm *vm, const struct vdax_ttl *t)
{
	if (vm->entry_timeout >= 0)
		return vm->entry_timeout;
	return ttl_seconds(t->entry_sec, t->entry_nsec);
}

static void set_timeouts(const struct vm *vm, struct fuse_entry_param *e,
			 const struct vdax_ttl *t)
{
	e->attr_timeout = attr_timeout(vm, t);
	e->entry_timeout = entry_timeout(vm, t);
}

static int do_lookup(struct vm *vm, fuse_ino_t parent, const char *name,
		     struct fuse_entry_param *e)
{
	char path[VM_PATH_MAX];
	struct vdax_ttl ttl;
	int ret = path_of(vm, parent, name, path);

	if (ret)
		return ret;
	memset(e, 0, sizeof(*e));
	ret = vdax_lstat_ttl(vm->vd, path, &e->attr, &ttl);
	if (ret)
		return ret;
	ret = node_enter(vm, parent, name, &e->attr, &e->ino);
	if (ret)
		return ret;
	e->generation = e->ino >> 32;
	set_timeouts(vm, e, &ttl);
	return 0;
}

static void reply_entry(fuse_req_t req, enum vm_op op, fuse_ino_t parent,
			const char *name)
{
	struct vm *vm = vm_of(req);
	struct fuse_entry_param e;
	int ret = do_lookup(vm, parent, name, &e);

	if (ret)
		return reply_err(req, op, ret);
	count(vm, op, 0);
	if (fuse_reply_entry(req, &e) == -ENOENT)
		node_forget(vm, e.ino, 1); /* the caller was interrupted */
}

/* Files the kernel creates as someone else are given to that someone. */
static int give_to_caller(struct vm *vm, fuse_req_t req, fuse_ino_t parent,
			  const char *path)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	char ppath[VM_PATH_MAX];
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	struct stat pst;

	if (ctx->uid != vm->uid)
		uid = ctx->uid;
	if (ctx->gid != vm->gid) {
		/* a set-group-ID directory decides the group itself */
		if (path_of(vm, parent, NULL, ppath) ||
		    vdax_stat(vm->vd, ppath, &pst) || !(pst.st_mode & S_ISGID))
			gid = ctx->gid;
	}
	if (uid == (uid_t)-1 && gid == (gid_t)-1)
		return 0;
	return vdax_chown(vm->vd, path, uid, gid);
}

/* ---- operations ---- */

static void vm_init(void *userdata, struct fuse_conn_info *conn)
{
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	if (conn->capable & FUSE_CAP_EXPORT_SUPPORT)
		conn->want &= ~FUSE_CAP_EXPORT_SUPPORT;
	/* libvdax splits large transfers itself; no need to go smaller. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/*
	 * Always READDIRPLUS, not only for the first batch (the "auto"
	 * heuristic): libvdax has the attributes already (its own
	 * READDIRPLUS to the backend), so they cost nothing, and `ls -l` of
	 * a large directory needs no LOOKUP per entry.
	 */
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
}

static void vm_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	reply_entry(req, VM_LOOKUP, parent, name);
}

static void vm_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	count(vm_of(req), VM_FORGET, 0);
	node_forget(vm_of(req), ino, nlookup);
	fuse_reply_none(req);
}

static void vm_forget_multi(fuse_req_t req, size_t n,
			    struct fuse_forget_data *fd)
{
	for (size_t i = 0; i < n; i++) {
		count(vm_of(req), VM_FORGET, 0);
		node_forget(vm_of(req), fd[i].ino, fd[i].nlookup);
	}
	fuse_reply_none(req);
}

static void file_put(struct vm *vm, struct vm_file *f);

static struct vm_file *file_get(struct vm *vm, struct fuse_file_info *fi)
{
	struct vm_file *f;

	if (!fi)
		return NULL;
	pthread_mutex_lock(&vm->lock);
	f = tab_get(&vm->files, fi->fh);
	pthread_mutex_unlock(&vm->lock);
	return f;
}

/*
 * Attributes of a node: by path, or through an open handle when the file
 * has no name any more (unlinked while open).
 */
static int node_stat(struct vm *vm, fuse_ino_t id, struct vm_file *hint,
		     struct stat *st, struct vdax_ttl *ttl)
{
	char path[VM_PATH_MAX];
	struct vm_file *f;
	struct vm_node *n;
	int ret;

	if (hint && hint->vf)
		return vdax_fstat_ttl(hint->vf, st, ttl);
	ret = path_of(vm, id, NULL, path);
	if (!ret) {
		ret = vdax_lstat_ttl(vm->vd, path, st, ttl);
		if (ret != -ENOENT)
			return ret;
	}
	/* Unlinked but open: ask through one of its handles. */
	pthread_mutex_lock(&vm->lock);
	n = node_get_locked(vm, id);
	f = n ? n->files : NULL;
	if (f)
		f->refs++;
	pthread_mutex_unlock(&vm->lock);
	if (!f)
		return ret ? ret : -ENOENT;
	ret = vdax_fstat_ttl(f->vf, st, ttl);
	file_put(vm, f);
	return ret;
}

static void vm_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct vm *vm = vm_of(req);
	struct vdax_ttl ttl;
	struct stat st;
	int ret = node_stat(vm, ino, file_get(vm, fi), &st, &ttl);

	if (ret)
		return reply_err(req, VM_GETATTR, ret);
	count(vm, VM_GETATTR, 0);
	fuse_reply_attr(req, &st, attr_timeout(vm, &ttl));
}

static int node_type(struct vm *vm, fuse_ino_t id, mode_t *type)
{
	struct vm_node *n;

	pthread_mutex_lock(&vm->lock);
	n = node_get_locked(vm, id);
	if (n)
		*type = n->type;
	pthread_mutex_unlock(&vm->lock);
	return n ? 0 : -ESTALE;
}

static int do_setattr(struct vm *vm, fuse_ino_t ino, struct stat *attr,
		      int to_set, struct vm_file *f)
{
	char path[VM_PATH_MAX];
	mode_t type;
	int ret = path_of(vm, ino, NULL, path);
	bool named = !ret;

	if (!named && !(to_set == FUSE_SET_ATTR_SIZE && f && f->vf))
		return ret;
	ret = node_type(vm, ino, &type);
	if (ret)
		return ret;
	if (to_set & FUSE_SET_ATTR_MODE) {
		if (S_ISLNK(type))
			return -EOPNOTSUPP;
		ret = vdax_chmod(vm->vd, path, attr->st_mode);
		if (ret)
			return ret;
	}
	if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		/* vdax_chown follows a final symlink; never retarget it */
		if (S_ISLNK(type))
			return -EOPNOTSUPP;
		ret = vdax_chown(vm->vd, path,
				 (to_set & FUSE_SET_ATTR_UID) ? attr->st_uid :
								(uid_t)-1,
				 (to_set & FUSE_SET_ATTR_GID) ? attr->st_gid :
								(gid_t)-1);
		if (ret)
			return ret;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (f && f->vf)
			ret = vdax_ftruncate(f->vf, attr->st_size);
		else
			ret = vdax_truncate(vm->vd, path, attr->st_size);
		if (ret)
			return ret;
	}
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
		struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };

		if (to_set & FUSE_SET_ATTR_ATIME_NOW)
			ts[0].tv_nsec = UTIME_NOW;
		else if (to_set & FUSE_SET_ATTR_ATIME)
			ts[0] = attr->st_atim;
		if (to_set & FUSE_SET_ATTR_MTIME_NOW)
			ts[1].tv_nsec = UTIME_NOW;
		else if (to_set & FUSE_SET_ATTR_MTIME)
			ts[1] = attr->st_mtim;
		ret = vdax_utimens(vm->vd, path, ts, AT_SYMLINK_NOFOLLOW);
	}
	return ret;
}

static void vm_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct vm *vm = vm_of(req);
	struct vm_file *f = file_get(vm, fi);
	struct vdax_ttl ttl;
	struct stat st;
	int ret = do_setattr(vm, ino, attr, to_set, f);

	if (!ret)
		ret = node_stat(vm, ino, f, &st, &ttl);
	if (ret)
		return reply_err(req, VM_SETATTR, ret);
	count(vm, VM_SETATTR, 0);
	fuse_reply_attr(req, &st, attr_timeout(vm, &ttl));
}

static void vm_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct vm *vm = vm_of(req);
	char path[VM_PATH_MAX], buf[PATH_MAX + 1];
	ssize_t n;
	int ret = path_of(vm, ino, NULL, path);

	if (ret)
		return reply_err(req, VM_READLINK, ret);
	n = vdax_readlink(vm->vd, path, buf, sizeof(buf) - 1);
	if (n < 0)
		return reply_err(req, VM_READLINK, (int)n);
	buf[n] = '\0';
	count(vm, VM_READLINK, 0);
	fuse_reply_readlink(req, buf);
}

/* Shared tail of mknod/mkdir/symlink: chown to the caller, then lookup. */
static void made(fuse_req_t req, enum vm_op op, fuse_ino_t parent,
		 const char *name, const char *path, int ret)
{
	struct vm *vm = vm_of(req);

	if (!ret && op != VM_SYMLINK)
		ret = give_to_caller(vm, req, parent, path);
	if (ret)
		return reply_err(req, op, ret);
	reply_entry(req, op, parent, name);
}

static void vm_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	struct vm *vm = vm_of(req);
	char path[VM_PATH_MAX];
	int ret = path_of(vm, parent, name, path);

	if (!ret)
		ret = vdax_mknod(vm->vd, path, mode, rdev);
	made(req, VM_MKNOD, parent, name, path, ret);
}

static void vm_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct vm *vm = vm_of(req);
	char path[VM_PATH_MAX];
	int ret = path_of(vm, parent, name, path);

	if (!ret)
		ret = vdax_mkdir(vm->vd, path, mode);
	made(req, VM_MKDIR, parent, name, path, ret);
}

static void vm_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	struct vm *vm = vm_of(req);
	char path[VM_PATH_MAX];
	int ret = path_of(vm, parent, name, path);

	if (!ret)
		ret = vdax_symlink(vm->vd, link, path);
	made(req, VM_SYMLINK, parent, name, path, ret);
}

static void remove_name(fuse_req_t req, enum vm_op op, fuse_ino_t parent,
			const char *name)
{
	struct vm *vm = vm_of(req);
	char path[VM_PATH_MAX];
	struct stat st;
	bool known;
	int ret = path_of(vm, parent, name, path);

	if (ret)
		return reply_err(req, op, ret);
	known = !vdax_lstat(vm->vd, path, &st);
	ret = op == VM_RMDIR ? vdax_rmdir(vm->vd, path) :
			       vdax_unlink(vm->vd, path);
	if (ret)
		return reply_err(req, op, ret);
	if (known)
		name_gone(vm, parent, name, st.st_ino);
	count(vm, op, 0);
	fuse_reply_err(req, 0);
}

static void vm_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, VM_UNLINK, parent, name);
}

static void vm_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, VM_RMDIR, parent, name);
}

static void vm_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct vm *vm = vm_of(req);
	char from[VM_PATH_MAX], to[VM_PATH_MAX];
	struct vm_node *op, *np, *src = NULL, *dst = NULL;
	struct stat sst, dst_st;
	bool have_src, have_dst;
	int ret = path_of(vm, parent, name, from);

	if (!ret)
		ret = path_of(vm, newparent, newname, to);
	if (ret)
		return reply_err(req, VM_RENAME, ret);
	have_src = !vdax_lstat(vm->vd, from, &sst);
	have_dst = !vdax_lstat(vm->vd, to, &dst_st);
	ret = vdax_rename(vm->vd, from, to, flags);
	if (ret)
		return reply_err(req, VM_RENAME, ret);

	pthread_mutex_lock(&vm->lock);
	op = node_get_locked(vm, parent);
	np = node_get_locked(vm, newparent);
	if (have_src)
		src = node_by_ino_locked(vm, sst.st_ino);
	if (have_dst)
		dst = node_by_ino_locked(vm, dst_st.st_ino);
	/* a failed move only loses a name: the kernel looks it up again */
	if (op && np && src != dst) {
		if (dst && alias_find(dst, np, newname)) {
			dst->refs++; /* keep it across the swap */
			alias_drop_locked(vm, dst, np, newname);
			if (src && alias_move_locked(vm, src, op, name, np,
						     newname))
				alias_drop_locked(vm, src, np, newname);
			if ((flags & RENAME_EXCHANGE) &&
			    alias_add_locked(dst, op, name))
				alias_drop_locked(vm, dst, op, name);
			node_put_locked(vm, dst);
		} else if (src) {
			if (alias_move_locked(vm, src, op, name, np, newname))
				alias_drop_locked(vm, src, np, newname);
		}
	}
	pthread_mutex_unlock(&vm->lock);
	count(vm, VM_RENAME, 0);
	fuse_reply_err(req, 0);
}

static void vm_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	struct vm *vm = vm_of(req);
	char from[VM_PATH_MAX], to[VM_PATH_MAX];
	int ret = path_of(vm, ino, NULL, from);

	if (!ret)
		ret = path_of(vm, newparent, newname, to);
	if (!ret)
		ret = vdax_link(vm->vd, from, to);
	if (ret)
		return reply_err(req, VM_LINK, ret);
	reply_entry(req, VM_LINK, newparent, newname);
}

/* ---- files ---- */

static int file_new(struct vm *vm, fuse_ino_t ino, struct vdax_file *vf,
		    bool is_dir, struct vm_file **out)
{
	struct vm_file *f = calloc(1, sizeof(*f));
	int ret;

	if (!f)
		return -ENOMEM;
	f->vf = vf;
	f->refs = 1;
	f->is_dir = is_dir;
	pthread_mutex_init(&f->dlock, NULL);
	pthread_mutex_lock(&vm->lock);
	f->node = node_get_locked(vm, ino);
	ret = f->node ? tab_add(&vm->files, f, &f->fh) : -ESTALE;
	if (!ret) {
		f->node->refs++;
		if (vf) {
			f->next = f->node->files;
			f->node->files = f;
		}
		vm->nfiles++;
	}
	pthread_mutex_unlock(&vm->lock);
	if (ret) {
		pthread_mutex_destroy(&f->dlock);
		free(f);
		return ret;
	}
	*out = f;
	return 0;
}

static void dir_drop_snapshot(struct vm_file *f)
{
	for (size_t i = 0; i < f->nents; i++)
		free(f->ents[i].name);
	free(f->ents);
	f->ents = NULL;
	f->nents = 0;
	f->loaded = false;
}

/* Drop a reference; the last one releases the libvdax handle. */
static void file_put(struct vm *vm, struct vm_file *f)
{
	bool last;

	pthread_mutex_lock(&vm->lock);
	last = --f->refs == 0;
	if (last) {
		vm->nfiles--;
		node_put_locked(vm, f->node);
	}
	pthread_mutex_unlock(&vm->lock);
	if (!last)
		return;
	/* close(2) already returned: the flush result has nobody to go to */
	if (f->vf)
		(void)vdax_release(f->vf);
	dir_drop_snapshot(f);
	pthread_mutex_destroy(&f->dlock);
	free(f);
}

/* The kernel is done with @f: unregister it and drop the table's ref. */
static void file_close(struct vm *vm, struct vm_file *f)
{
	struct vm_lkown *owners = NULL;
	struct vm_file **pp;

	pthread_mutex_lock(&vm->lock);
	for (pp = &f->node->files; *pp; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	}
	tab_del(&vm->files, f->fh);
	if (!f->node->files) {
		owners = f->node->lkowners;
		f->node->lkowners = NULL;
	}
	pthread_mutex_unlock(&vm->lock);
	while (owners) {
		struct vm_lkown *o = owners;

		owners = o->next;
		vdax_release(o->vf);
		free(o);
	}
	file_put(vm, f);
}

/*
 * Page cache policy (FUSE's "auto_cache"): pages cached for a file survive
 * an open only if its size and mtime are what the previous open saw, so a
 * change made by another client of the backend is seen at the next open.
 */
static void set_open_flags(struct vm *vm, struct vm_file *f,
			   struct fuse_file_info *fi)
{
	struct vm_node *n = f->node;
	struct stat st;
	bool same = false;

	fi->direct_io = vm->direct_io;
	fi->keep_cache = 0;
	if (vm->direct_io || vdax_fstat(f->vf, &st))
		return;
	pthread_mutex_lock(&vm->lock);
	same = n->seen_size == st.st_size &&
	       n->seen_mtime.tv_sec == st.st_mtim.tv_sec &&
	       n->seen_mtime.tv_nsec == st.st_mtim.tv_nsec;
	n->seen_size = st.st_size;
	n->seen_mtime = st.st_mtim;
	pthread_mutex_unlock(&vm->lock);
	fi->keep_cache = same;
}

static void vm_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct vm *vm = vm_of(req);
	char path[VM_PATH_MAX];
	struct vdax_file *vf;
	struct vm_file *f;
	int ret = path_of(vm, ino, NULL, path);

	if (ret)
		return reply_err(req, VM_OPEN, ret);
	/* the kernel already resolved the name: never follow or create */
	ret = vdax_open(vm->vd, path,
			(fi->flags & ~(O_CREAT | O_EXCL | O_NOCTTY |
				       VM_LOCAL_FLAGS)) |
				O_NOFOLLOW,
			0, &vf);
	if (ret)
		return reply_err(req, VM_OPEN, ret);
	ret = file_new(vm, ino, vf, false, &f);
	if (ret) {
		vdax_release(vf);
		return reply_err(req, VM_OPEN, ret);
	}
	fi->fh = f->fh;
	set_open_flags(vm, f, fi);
	count(vm, VM_OPEN, 0);
	if (fuse_reply_open(req, fi) == -ENOENT)
		file_close(vm, f);
}

static void vm_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct vm *vm = vm_of(req);
	char path[VM_PATH_MAX];
	struct fuse_entry_param e;
	struct vdax_ttl ttl;
	struct vdax_file *vf;
	struct vm_file *f;
	int ret = path_of(vm, parent, name, path);

	if (ret)
		return reply_err(req, VM_CREATE, ret);
	ret = vdax_create(vm->vd, path, fi->flags & ~(O_NOCTTY | VM_LOCAL_FLAGS),
			  mode, &vf);
	if (ret)
		return reply_err(req, VM_CREATE, ret);
	ret = give_to_caller(vm, req, parent, path);
	memset(&e, 0, sizeof(e));
	/* the node's lifetimes: those of the CREATE reply */
	if (!ret)
		ret = vdax_fstat_ttl(vf, &e.attr, &ttl);
	if (!ret)
		ret = node_enter(vm, parent, name, &e.attr, &e.ino);
	if (ret) {
		vdax_release(vf);
		return reply_err(req, VM_CREATE, ret);
	}
	ret = file_new(vm, e.ino, vf, false, &f);
	if (ret) {
		vdax_release(vf);
		node_forget(vm, e.ino, 1);
		return reply_err(req, VM_CREATE, ret);
	}
	e.generation = e.ino >> 32;
	set_timeouts(vm, &e, &ttl);
	fi->fh = f->fh;
	set_open_flags(vm, f, fi);
	count(vm, VM_CREATE, 0);
	if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		file_close(vm, f);
		node_forget(vm, e.ino, 1);
	}
}

/* The one reply to a READ, sent from inside vdax_pread_window(). */
struct vm_window_reply {
	fuse_req_t req;
	bool replied;
};

/*
 * The kernel copies straight from the window pages into the reader's:
 * /dev/fuse's own copy is the only one. fuse_reply_iov() consumes the
 * request even when it fails, so from here on nobody else may reply.
 */
static int window_reply(const struct iovec *iov, int cnt, void *arg)
{
	struct vm_window_reply *wr = arg;

	wr->replied = true;
	if (!cnt)
		return fuse_reply_buf(wr->req, NULL, 0); /* end of file */
	return fuse_reply_iov(wr->req, iov, cnt);
}

/*
 * A READ of a DAX file, answered from the window. Returns true if the
 * request was answered (successfully or not), false if the caller should
 * use vdax_pread(): not a DAX file, or a span the window cannot pin at once.
 */
static bool read_window(struct vm *vm, fuse_req_t req, struct vm_file *f,
			size_t size, off_t off)
{
	struct vm_window_reply wr = { .req = req };
	ssize_t n;

	if (vm->no_window_read)
		return false;
	n = vdax_pread_window(f->vf, size, off, window_reply, &wr);
	if (!wr.replied) {
		if (n == -EOPNOTSUPP || n == -E2BIG || n >= 0)
			return false;
		reply_err(req, VM_READ, (int)n);
		return true;
	}
	/* An error here is the reply's own (the reader is gone). */
	count(vm, VM_READ, n < 0 ? (int)n : 0);
	if (n > 0) {
		atomic_fetch_add_explicit(&vm->cnt.bytes_read,
					  (unsigned long long)n,
					  memory_order_relaxed);
		atomic_fetch_add_explicit(&vm->cnt.window_reads, 1,
					  memory_order_relaxed);
	}
	return true;
}

static void vm_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct vm *vm = vm_of(req);
	struct vm_file *f = file_get(vm, fi);
	ssize_t n;
	char *buf;

	if (!f || !f->vf)
		return reply_err(req, VM_READ, -EBADF);
	if (read_window(vm, req, f, size, off))
		return;
	buf = malloc(size ? size : 1);
	if (!buf)
		return reply_err(req, VM_READ, -ENOMEM);
	n = vdax_pread(f->vf, buf, size, off);
	if (n < 0) {
		free(buf);
		return reply_err(req, VM_READ, (int)n);
	}
	count(vm, VM_READ, 0);
	atomic_fetch_add_explicit(&vm->cnt.bytes_read, (unsigned long long)n,
				  memory_order_relaxed);
	fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void vm_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct vm *vm = vm_of(req);
	struct vm_file *f = file_get(vm, fi);
	ssize_t n;

	if (!f || !f->vf)
		return reply_err(req, VM_WRITE, -EBADF);
	n = vdax_pwrite(f->vf, buf, size, off);
	if (n < 0)
		return reply_err(req, VM_WRITE, (int)n);
	count(vm, VM_WRITE, 0);
	atomic_fetch_add_explicit(&vm->cnt.bytes_written,
				  (unsigned long long)n, memory_order_relaxed);
	fuse_reply_write(req, (size_t)n);
}

static struct vdax_file *lk_find(struct vm *vm, struct vm_node *n,
				  uint64_t owner)
{
	struct vdax_file *vf = NULL;

	pthread_mutex_lock(&vm->lock);
	for (struct vm_lkown *o = n->lkowners; o && !vf; o = o->next)
		if (o->owner == owner)
			vf = o->vf;
	pthread_mutex_unlock(&vm->lock);
	return vf;
}

/*
 * The handle that speaks for kernel lock owner @owner on @f's node. It
 * lives while any file of the node is open (so while @f is). Without one
 * (@create false), or when the file has no name left to open, @f's own
 * handle stands in: it never holds POSIX locks itself.
 */
static struct vdax_file *lk_handle(struct vm *vm, struct vm_file *f,
				   uint64_t owner, bool create)
{
	char path[VM_PATH_MAX];
	struct vdax_file *vf = lk_find(vm, f->node, owner), *extra = NULL;
	struct vm_lkown *o;

	if (vf || !create)
		return vf ? vf : f->vf;
	o = calloc(1, sizeof(*o));
	if (!o)
		return f->vf;
	if (path_of(vm, f->node->nodeid, NULL, path) ||
	    vdax_open(vm->vd, path, O_RDWR | O_NOFOLLOW, 0, &o->vf)) {
		free(o);
		return f->vf;
	}
	o->owner = owner;
	pthread_mutex_lock(&vm->lock);
	for (struct vm_lkown *q = f->node->lkowners; q && !vf; q = q->next)
		if (q->owner == owner)
			vf = q->vf;
	if (!vf) {
		o->next = f->node->lkowners;
		f->node->lkowners = o;
		vf = o->vf;
		o = NULL;
	}
	pthread_mutex_unlock(&vm->lock);
	if (o) { /* another thread of the same owner won */
		extra = o->vf;
		free(o);
		vdax_release(extra);
	}
	return vf;
}

/* close(2) of any descriptor drops the calling process's POSIX locks. */
static void vm_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct vm *vm = vm_of(req);
	struct vm_file *f = file_get(vm, fi);
	struct flock lk = { .l_type = F_UNLCK, .l_whence = SEEK_SET };
	struct vdax_file *vf;
	int ret = 0;

	if (!f)
		return reply_err(req, VM_FLUSH, -EBADF);
	vf = lk_find(vm, f->node, fi->lock_owner);
	if (vf)
		ret = vdax_setlk(vf, &lk, 0);
	if (ret == -ENOSYS || ret == -EOPNOTSUPP)
		ret = 0;
	if (ret)
		return reply_err(req, VM_FLUSH, ret);
	count(vm, VM_FLUSH, 0);
	fuse_reply_err(req, 0);
}

static void vm_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct vm *vm = vm_of(req);
	struct vm_file *f = file_get(vm, fi);

	if (!f || !f->vf)
		return reply_err(req, VM_RELEASE, -EBADF);
	file_close(vm, f);
	count(vm, VM_RELEASE, 0);
	fuse_reply_err(req, 0);
}

static void vm_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	struct vm *vm = vm_of(req);
	struct vm_file *f = file_get(vm, fi);
	int ret = f && f->vf ? vdax_fsync(f->vf, datasync) : -EBADF;

	if (ret)
		return reply_err(req, VM_FSYNC, ret);
	count(vm, VM_FSYNC, 0);
	fuse_reply_err(req, 0);
}

/* ---- directories ---- */

static void vm_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct vm *vm = vm_of(req);
	char path[VM_PATH_MAX];
	struct vdax_dir *d;
	struct vm_file *f;
	int ret = path_of(vm, ino, NULL, path);

	/* check now that it opens (errors belong to opendir(3)) */
	if (!ret)
		ret = vdax_opendir(vm->vd, path, &d);
	if (ret)
		return reply_err(req, VM_OPENDIR, ret);
	vdax_closedir(d);
	ret = file_new(vm, ino, NULL, true, &f);
	if (ret)
		return reply_err(req, VM_OPENDIR, ret);
	fi->fh = f->fh;
	count(vm, VM_OPENDIR, 0);
	if (fuse_reply_open(req, fi) == -ENOENT)
		file_close(vm, f);
}

/*
 * libvdax directory streams cannot seek, so a directory is read whole at
 * offset 0 and served from that snapshot: entry i has offset i + 1, which
 * keeps telldir/seekdir stable until the next rewinddir.
 */
static int dir_load(struct vm *vm, fuse_ino_t ino, struct vm_file *f)
{
	char path[VM_PATH_MAX];
	struct vdax_dirent de;
	struct vdax_dir *d;
	size_t cap = 0;
	int ret = path_of(vm, ino, NULL, path);

	dir_drop_snapshot(f);
	if (!ret)
		ret = vdax_opendir(vm->vd, path, &d);
	if (ret)
		return ret;
	while ((ret = vdax_readdir(d, &de)) > 0) {
		if (f->nents == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct vm_dirent *e =
				realloc(f->ents, ncap * sizeof(*e));

			if (!e) {
				ret = -ENOMEM;
				break;
			}
			f->ents = e;
			cap = ncap;
		}
		f->ents[f->nents].name = strdup(de.name);
		if (!f->ents[f->nents].name) {
			ret = -ENOMEM;
			break;
		}
		f->ents[f->nents].ino = de.ino;
		f->ents[f->nents].type = de.type;
		f->nents++;
	}
	vdax_closedir(d);
	if (ret < 0) {
		dir_drop_snapshot(f);
		return ret;
	}
	f->loaded = true;
	return 0;
}

/* Node ids handed out in one READDIRPLUS reply, undone if it fails. */
struct vm_given {
	uint64_t *ids;
	size_t n, cap;
};

static int given_add(struct vm_given *g, uint64_t id)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 32;
		uint64_t *v = realloc(g->ids, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		g->ids = v;
		g->cap = cap;
	}
	g->ids[g->n++] = id;
	return 0;
}

/*
 * One READDIRPLUS entry: the attributes and lifetimes libvdax has for the
 * name (its cache holds them from its own READDIRPLUS to the backend, so
 * usually no request is sent), and a node counted as looked up, exactly as
 * vm_lookup() would. "." and "..", and a name gone since the snapshot, go
 * without attributes (node id 0: the kernel takes no reference).
 */
static void plus_entry(struct vm *vm, fuse_ino_t dir,
		       const struct vm_dirent *de, struct fuse_entry_param *e)
{
	char path[VM_PATH_MAX];
	struct vdax_ttl ttl;

	memset(e, 0, sizeof(*e));
	if (strcmp(de->name, ".") && strcmp(de->name, "..") &&
	    !path_of(vm, dir, de->name, path) &&
	    !vdax_lstat_ttl(vm->vd, path, &e->attr, &ttl) &&
	    !node_enter(vm, dir, de->name, &e->attr, &e->ino)) {
		e->generation = e->ino >> 32;
		set_timeouts(vm, e, &ttl);
		return;
	}
	memset(e, 0, sizeof(*e));
	e->attr.st_ino = de->ino;
	e->attr.st_mode = (mode_t)de->type << 12;
}

static void dir_reply(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi, bool plus)
{
	enum vm_op op = plus ? VM_READDIRPLUS : VM_READDIR;
	struct vm *vm = vm_of(req);
	struct vm_file *f = file_get(vm, fi);
	struct vm_given given = { 0 };
	size_t used = 0;
	char *buf;
	int ret = 0;

	if (!f || !f->is_dir)
		return reply_err(req, op, -EBADF);
	if (off < 0)
		return reply_err(req, op, -EINVAL);
	buf = malloc(size);
	if (!buf)
		return reply_err(req, op, -ENOMEM);
	pthread_mutex_lock(&f->dlock);
	if (off == 0 || !f->loaded)
		ret = dir_load(vm, ino, f);
	for (size_t i = off; !ret && i < f->nents; i++) {
		const struct vm_dirent *de = &f->ents[i];
		struct fuse_entry_param e;
		size_t len;

		if (!plus) {
			struct stat st = { .st_ino = de->ino,
					   .st_mode = (mode_t)de->type << 12 };

			len = fuse_add_direntry(req, buf + used, size - used,
						de->name, &st, (off_t)i + 1);
			if (len > size - used)
				break;
			used += len;
			continue;
		}
		plus_entry(vm, ino, de, &e);
		len = fuse_add_direntry_plus(req, buf + used, size - used,
					     de->name, &e, (off_t)i + 1);
		if (len > size - used || (e.ino && given_add(&given, e.ino))) {
			/* not sent after all: the kernel holds no reference */
			if (e.ino)
				node_forget(vm, e.ino, 1);
			if (len <= size - used && !used)
				ret = -ENOMEM;
			break;
		}
		used += len;
	}
	pthread_mutex_unlock(&f->dlock);
	if (ret) {
		free(buf);
		free(given.ids);
		return reply_err(req, op, ret);
	}
	count(vm, op, 0);
	if (fuse_reply_buf(req, buf, used) == -ENOENT) {
		/* interrupted: the kernel never saw these lookups */
		for (size_t i = 0; i < given.n; i++)
			node_forget(vm, given.ids[i], 1);
	}
	free(buf);
	free(given.ids);
}

static void vm_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	dir_reply(req, ino, size, off, fi, false);
}

static void vm_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	dir_reply(req, ino, size, off, fi, true);
}

static void vm_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct vm *vm = vm_of(req);
	struct vm_file *f = file_get(vm, fi);

	if (!f || !f->is_dir)
		return reply_err(req, VM_RELEASEDIR, -EBADF);
	file_close(vm, f);
	count(vm, VM_RELEASEDIR, 0);
	fuse_reply_err(req, 0);
}

static void vm_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct vm *vm = vm_of(req);
	char path[VM_PATH_MAX];
	struct statvfs sv;
	int ret = path_of(vm, ino, NULL, path);

	/* an unlinked file still lives on the same file system */
	if (ret)
		strcpy(path, "/");
	ret = vdax_statfs(vm->vd, path, &sv);
	if (ret)
		return reply_err(req, VM_STATFS, ret);
	count(vm, VM_STATFS, 0);
	fuse_reply_statfs(req, &sv);
}

/* ---- extended attributes ---- */

static int stats_text(struct vm *vm, char *buf, size_t size);

/* Symlinks: libvdax's xattr calls follow them, the kernel's must not. */
static int xattr_path(struct vm *vm, fuse_ino_t ino, char *path)
{
	mode_t type;
	int ret = node_type(vm, ino, &type);

	if (ret)
		return ret;
	if (S_ISLNK(type))
		return -EOPNOTSUPP;
	return path_of(vm, ino, NULL, path);
}

static void vm_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	struct vm *vm = vm_of(req);
	char path[VM_PATH_MAX];
	int ret = xattr_path(vm, ino, path);

	if (ino == FUSE_ROOT_ID && !strcmp(name, VMNT_STATS_XATTR))
		ret = -EPERM;
	if (!ret)
		ret = vdax_setxattr(vm->vd, path, name, value, size, flags);
	if (ret)
		return reply_err(req, VM_SETXATTR, ret);
	count(vm, VM_SETXATTR, 0);
	fuse_reply_err(req, 0);
}

static void vm_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	struct vm *vm = vm_of(req);
	char path[VM_PATH_MAX];
	char *buf = NULL;
	ssize_t n;
	int ret;

	if (ino == FUSE_ROOT_ID && !strcmp(name, VMNT_STATS_XATTR)) {
		char text[8192];

		count(vm, VM_GETXATTR, 0);
		n = stats_text(vm, text, sizeof(text));
		if (size == 0)
			return (void)fuse_reply_xattr(req, (size_t)n);
		if ((size_t)n > size)
			return reply_err(req, VM_GETXATTR, -ERANGE);
		fuse_reply_buf(req, text, (size_t)n);
		return;
	}
	ret = xattr_path(vm, ino, path);
	if (ret)
		return reply_err(req, VM_GETXATTR, ret);
	if (size) {
		buf = malloc(size);
		if (!buf)
			return reply_err(req, VM_GETXATTR, -ENOMEM);
	}
	n = vdax_getxattr(vm->vd, path, name, buf, size);
	if (n < 0) {
		free(buf);
		return reply_err(req, VM_GETXATTR, (int)n);
	}
	count(vm, VM_GETXATTR, 0);
	if (size)
		fuse_reply_buf(req, buf, (size_t)n);
	else
		fuse_reply_xattr(req, (size_t)n);
	free(buf);
}

static void vm_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct vm *vm = vm_of(req);
	char path[VM_PATH_MAX];
	char *buf = NULL;
	ssize_t n;
	int ret = xattr_path(vm, ino, path);

	if (ret == -EOPNOTSUPP) { /* a symlink: nothing we can list */
		count(vm, VM_LISTXATTR, 0);
		if (size)
			fuse_reply_buf(req, NULL, 0);
		else
			fuse_reply_xattr(req, 0);
		return;
	}
	if (ret)
		return reply_err(req, VM_LISTXATTR, ret);
	if (size) {
		buf = malloc(size);
		if (!buf)
			return reply_err(req, VM_LISTXATTR, -ENOMEM);
	}
	n = vdax_listxattr(vm->vd, path, buf, size);
	if (n < 0) {
		free(buf);
		return reply_err(req, VM_LISTXATTR, (int)n);
	}
	count(vm, VM_LISTXATTR, 0);
	if (size)
		fuse_reply_buf(req, buf, (size_t)n);
	else
		fuse_reply_xattr(req, (size_t)n);
	free(buf);
}

static void vm_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct vm *vm = vm_of(req);
	char path[VM_PATH_MAX];
	int ret = xattr_path(vm, ino, path);

	if (!ret)
		ret = vdax_removexattr(vm->vd, path, name);
	if (ret)
		return reply_err(req, VM_REMOVEXATTR, ret);
	count(vm, VM_REMOVEXATTR, 0);
	fuse_reply_err(req, 0);
}

/* Without default_permissions: check the caller against the attributes. */
static void vm_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct vm *vm = vm_of(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct stat st;
	mode_t bits;
	int ret = node_stat(vm, ino, NULL, &st, NULL);

	if (ret)
		return reply_err(req, VM_ACCESS, ret);
	if (mask == F_OK)
		goto ok;
	if (ctx->uid == 0) {
		/* root: everything but executing a file nobody may execute */
		if ((mask & X_OK) && !S_ISDIR(st.st_mode) &&
		    !(st.st_mode & 0111))
			return reply_err(req, VM_ACCESS, -EACCES);
		goto ok;
	}
	if (ctx->uid == st.st_uid) {
		bits = (st.st_mode >> 6) & 7;
	} else {
		gid_t groups[64];
		int ng = fuse_req_getgroups(req, 64, groups);
		bool in = ctx->gid == st.st_gid;

		for (int i = 0; !in && i < ng && i < 64; i++)
			in = groups[i] == st.st_gid;
		bits = in ? (st.st_mode >> 3) & 7 : st.st_mode & 7;
	}
	if ((mask & bits) != (unsigned)mask)
		return reply_err(req, VM_ACCESS, -EACCES);
ok:
	count(vm, VM_ACCESS, 0);
	fuse_reply_err(req, 0);
}

/* ---- locks, space, copies ---- */

static void vm_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		     struct flock *lock)
{
	struct vm *vm = vm_of(req);
	struct vm_file *f = file_get(vm, fi);
	int ret = f && f->vf ?
		vdax_getlk(lk_handle(vm, f, fi->lock_owner, false), lock) :
		-EBADF;

	if (ret)
		return reply_err(req, VM_GETLK, ret);
	count(vm, VM_GETLK, 0);
	fuse_reply_lock(req, lock);
}

static void vm_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		     struct flock *lock, int sleep)
{
	struct vm *vm = vm_of(req);
	struct vm_file *f = file_get(vm, fi);
	int ret = -EBADF;

	if (f && f->vf)
		ret = vdax_setlk(lk_handle(vm, f, fi->lock_owner,
					   lock->l_type != F_UNLCK),
				 lock, sleep);
	if (ret)
		return reply_err(req, VM_SETLK, ret);
	count(vm, VM_SETLK, 0);
	fuse_reply_err(req, 0);
}

static void vm_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		     int op)
{
	struct vm *vm = vm_of(req);
	struct vm_file *f = file_get(vm, fi);
	int ret = f && f->vf ? vdax_flock(f->vf, op) : -EBADF;

	if (ret)
		return reply_err(req, VM_FLOCK, ret);
	count(vm, VM_FLOCK, 0);
	fuse_reply_err(req, 0);
}

static void vm_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			 off_t offset, off_t length, struct fuse_file_info *fi)
{
	struct vm *vm = vm_of(req);
	struct vm_file *f = file_get(vm, fi);
	int ret = f && f->vf ? vdax_fallocate(f->vf, mode, offset, length) :
			       -EBADF;

	if (ret)
		return reply_err(req, VM_FALLOCATE, ret);
	count(vm, VM_FALLOCATE, 0);
	fuse_reply_err(req, 0);
}

static void vm_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		     struct fuse_file_info *fi)
{
	struct vm *vm = vm_of(req);
	struct vm_file *f = file_get(vm, fi);
	off_t pos = f && f->vf ? vdax_lseek(f->vf, off, whence) : -EBADF;

	if (pos < 0)
		return reply_err(req, VM_LSEEK, (int)pos);
	count(vm, VM_LSEEK, 0);
	fuse_reply_lseek(req, pos);
}

static void vm_copy_file_range(fuse_req_t req, fuse_ino_t ino_in,
			       off_t off_in, struct fuse_file_info *fi_in,
			       fuse_ino_t ino_out, off_t off_out,
			       struct fuse_file_info *fi_out, size_t len,
			       int flags)
{
	struct vm *vm = vm_of(req);
	struct vm_file *in = file_get(vm, fi_in), *out = file_get(vm, fi_out);
	ssize_t n;

	if (!in || !in->vf || !out || !out->vf)
		return reply_err(req, VM_COPY_FILE_RANGE, -EBADF);
	n = vdax_copy_file_range(in->vf, &off_in, out->vf, &off_out, len,
				 (unsigned)flags);
	if (n < 0)
		return reply_err(req, VM_COPY_FILE_RANGE, (int)n);
	count(vm, VM_COPY_FILE_RANGE, 0);
	fuse_reply_write(req, (size_t)n);
}

static const struct fuse_lowlevel_ops vm_ops = {
	.init = vm_init,
	.lookup = vm_lookup,
	.forget = vm_forget,
	.forget_multi = vm_forget_multi,
	.getattr = vm_getattr,
	.setattr = vm_setattr,
	.readlink = vm_readlink,
	.mknod = vm_mknod,
	.mkdir = vm_mkdir,
	.unlink = vm_unlink,
	.rmdir = vm_rmdir,
	.symlink = vm_symlink,
	.rename = vm_rename,
	.link = vm_link,
	.open = vm_open,
	.create = vm_create,
	.read = vm_read,
	.write = vm_write,
	.flush = vm_flush,
	.release = vm_release,
	.fsync = vm_fsync,
	.opendir = vm_opendir,
	.readdir = vm_readdir,
	.readdirplus = vm_readdirplus,
	.releasedir = vm_releasedir,
	.statfs = vm_statfs,
	.setxattr = vm_setxattr,
	.getxattr = vm_getxattr,
	.listxattr = vm_listxattr,
	.removexattr = vm_removexattr,
	.access = vm_access,
	.getlk = vm_getlk,
	.setlk = vm_setlk,
	.flock = vm_flock,
	.fallocate = vm_fallocate,
	.lseek = vm_lseek,
	.copy_file_range = vm_copy_file_range,
};

/* ---- stats ---- */

static int stats_text(struct vm *vm, char *buf, size_t size)
{
	unsigned long long total = 0, errs = 0;
	size_t pos = 0, nnodes, nfiles;
	struct vdax_stats dax;

#define OUT(...)                                                              \
	do {                                                                  \
		int w_ = snprintf(buf + pos, size - pos, __VA_ARGS__);        \
		if (w_ > 0)                                                   \
			pos = pos + (size_t)w_ < size ? pos + (size_t)w_ :    \
							size - 1;             \
	} while (0)

	pthread_mutex_lock(&vm->lock);
	nnodes = vm->nnodes;
	nfiles = vm->nfiles;
	pthread_mutex_unlock(&vm->lock);
	for (int i = 0; i < VM_NR_OPS; i++) {
		total += atomic_load(&vm->cnt.calls[i]);
		errs += atomic_load(&vm->cnt.errors[i]);
	}
	OUT("uptime_s %lld\n", (long long)(time(NULL) - vm->started));
	OUT("fuse_proto_minor %u\n", vdax_proto_minor(vm->vd));
	OUT("max_write %zu\n", vdax_max_write(vm->vd));
	OUT("direct_io %d\n", vm->direct_io);
	OUT("nodes %zu\n", nnodes);
	OUT("open_handles %zu\n", nfiles);
	OUT("requests %llu\n", total);
	OUT("errors %llu\n", errs);
	OUT("backend_gone %llu\n", atomic_load(&vm->cnt.enotconn));
	OUT("bytes_read %llu\n", atomic_load(&vm->cnt.bytes_read));
	OUT("bytes_written %llu\n", atomic_load(&vm->cnt.bytes_written));
	OUT("window_reads %llu\n", atomic_load(&vm->cnt.window_reads));
	OUT("dax %s\n", vm->dax_mode);
	if (!vdax_get_stats(vm->vd, &dax)) {
		const struct {
			const char *name;
			uint64_t v;
		} rows[] = {
			{ "window_size", dax.window_size },
			{ "ranges_total", dax.ranges_total },
			{ "ranges_free", dax.ranges_free },
			{ "ranges_busy", dax.ranges_busy },
			{ "setup_mappings", dax.setup_mappings },
			{ "remove_mappings", dax.remove_mappings },
			{ "remove_requests", dax.remove_requests },
			{ "upgrades", dax.upgrades },
			{ "bg_reclaims", dax.bg_reclaims },
			{ "direct_reclaims", dax.direct_reclaims },
			{ "waits", dax.waits },
			{ "hits", dax.hits },
			{ "misses", dax.misses },
			{ "faults", dax.faults },
		};

		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
			OUT("dax.%s %llu\n", rows[i].name,
			    (unsigned long long)rows[i].v);
	}
	for (int i = 0; i < VM_NR_OPS; i++) {
		unsigned long long c = atomic_load(&vm->cnt.calls[i]);

		if (c)
			OUT("op.%s %llu %llu\n", vm_op_names[i], c,
			    atomic_load(&vm->cnt.errors[i]));
	}
#undef OUT
	return (int)pos;
}

int vmnt_stats_main(int argc, char **argv)
{
	char buf[8192];
	ssize_t n;

	if (argc != 2) {
		fprintf(stderr, "usage: vdax stats MOUNTPOINT\n");
		return EX_USAGE;
	}
	n = getxattr(argv[1], VMNT_STATS_XATTR, buf, sizeof(buf) - 1);
	if (n < 0) {
		int e = errno;

		fprintf(stderr, "vdax: stats %s: %s%s\n", argv[1], strerror(e),
			e == ENODATA || e == ENOTSUP ?
				" (not a vdax mount?)" : "");
		return e == ENOENT ? EX_NOINPUT : EX_UNAVAILABLE;
	}
	buf[n] = '\0';
	fputs(buf, stdout);
	return 0;
}

/* ---- command line ---- */

struct mount_args {
	const char *socket;
	const char *mountpoint;
	bool foreground, debug;
	char vdax_opts[1024];	/* for libvdax */
	char dax_mode[16];	/* the dax= value given, for vdax stats */
	char fuse_opts[2048];	/* for libfuse */
	double attr_timeout, entry_timeout; /* < 0: not given */
	bool direct_io;
	bool no_window_read;
	bool have_perm_opt;
	bool attr_timeout_set, entry_timeout_set;
};

static int append(char *dst, size_t size, const char *s, size_t len)
{
	size_t cur = strlen(dst);

	if (cur + len + 2 > size)
		return -E2BIG;
	if (cur)
		dst[cur++] = ',';
	memcpy(dst + cur, s, len);
	dst[cur + len] = '\0';
	return 0;
}

static bool key_is(const char *opt, size_t len, const char *key)
{
	size_t k = strlen(key);

	return len >= k && !strncmp(opt, key, k) &&
	       (len == k || opt[k] == '=');
}

/* Split one -o list between libvdax, us and libfuse. */
static int split_opts(struct mount_args *a, const char *list)
{
	static const char *const vdax_keys[] = {
		"dax", "cache_size", "entries", "mem", "queues", "queue_size",
		"timeout", "dax_admit",
	};
	const char *p = list;

	while (*p) {
		size_t len = strcspn(p, ",");
		bool done = false;
		int ret = 0;

		for (size_t i = 0; i < sizeof(vdax_keys) / sizeof(*vdax_keys);
		     i++) {
			if (key_is(p, len, vdax_keys[i])) {
				ret = append(a->vdax_opts,
					     sizeof(a->vdax_opts), p, len);
				done = true;
			}
		}
		/* the last dax= wins in libvdax too; a bare "dax" is always */
		if (key_is(p, len, "dax")) {
			const char *v = len > 3 ? p + 4 : "always";
			int vl = len > 3 ? (int)(len - 4) : 6;

			snprintf(a->dax_mode, sizeof(a->dax_mode), "%.*s", vl,
				 v);
		}
		if (done) {
		} else if (key_is(p, len, "attr_timeout") && len > 13) {
			a->attr_timeout = strtod(p + 13, NULL);
			a->attr_timeout_set = true;
		} else if (key_is(p, len, "entry_timeout") && len > 14) {
			a->entry_timeout = strtod(p + 14, NULL);
			a->entry_timeout_set = true;
		} else if (len == 9 && !strncmp(p, "direct_io", 9)) {
			a->direct_io = true;
		} else if (len == 12 && !strncmp(p, "kernel_cache", 12)) {
			a->direct_io = false;
		} else if (len == 14 && !strncmp(p, "no_window_read", 14)) {
			a->no_window_read = true;
		} else if (len == 22 && !strncmp(p, "no_default_permissions", 22)) {
			a->have_perm_opt = true;
		} else if (len) {
			if (key_is(p, len, "default_permissions"))
				a->have_perm_opt = true;
			ret = append(a->fuse_opts, sizeof(a->fuse_opts), p,
				     len);
		}
		if (ret)
			return ret;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

static void mount_usage(FILE *out)
{
	fprintf(out,
		"usage: vdax mount --socket PATH [-o OPTIONS] [-f] [-d] MOUNTPOINT\n"
		"\n"
		"  -s, --socket PATH   vhost-user-fs backend socket\n"
		"  -o OPTIONS          dax=never|always|inode, cache_size=BYTES (the DAX\n"
		"                      window, a multiple of 2M), entries=N (dentries\n"
		"                      cached), mem=, queues=, queue_size=, timeout=\n"
		"                      go to libvdax; attr_timeout=S, entry_timeout=S\n"
		"                      (default: what the backend grants),\n"
		"                      direct_io, no_default_permissions,\n"
		"                      no_window_read to vdax mount;\n"
		"                      the rest (allow_other, ro, fsname=...) to FUSE\n"
		"  -f                  stay in the foreground\n"
		"  -d                  FUSE debug output (implies -f)\n");
}

static int parse_mount_args(struct mount_args *a, int argc, char **argv,
			    const char *opts)
{
	static const struct option lopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "options", required_argument, NULL, 'o' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	a->attr_timeout = -1; /* the backend's */
	a->entry_timeout = -1;
	if (opts && split_opts(a, opts))
		return EX_USAGE;
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:o:fdh", lopts, NULL)) != -1) {
		switch (c) {
		case 's':
			a->socket = optarg;
			break;
		case 'o':
			if (split_opts(a, optarg)) {
				fprintf(stderr, "vdax mount: options too long\n");
				return EX_USAGE;
			}
			break;
		case 'd':
			a->debug = true;
			/* fall through */
		case 'f':
			a->foreground = true;
			break;
		case 'h':
			mount_usage(stdout);
			return -1;
		default:
			mount_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind + 1 != argc || !a->socket) {
		fprintf(stderr, "vdax mount: %s\n",
			!a->socket ? "missing --socket PATH" :
				     "need exactly one MOUNTPOINT");
		mount_usage(stderr);
		return EX_USAGE;
	}
	a->mountpoint = argv[optind];
	if ((a->attr_timeout_set && !(a->attr_timeout >= 0)) ||
	    (a->entry_timeout_set && !(a->entry_timeout >= 0))) {
		fprintf(stderr, "vdax mount: negative timeout\n");
		return EX_USAGE;
	}
	return 0;
}

/*
 * The mount is served by a child when not in the foreground: libvdax's
 * threads would not survive fuse_daemonize()'s fork, and the parent must
 * only return once the mount exists (mount(8) and scripts rely on it), with
 * the child's verdict as exit status.
 */
static int detach(int *notify_fd)
{
	int p[2];
	pid_t pid;
	char rc;

	if (pipe(p))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &rc, 1) != 1)
			rc = EX_SOFTWARE;
		_exit(rc);
	}
	close(p[0]);
	setsid();
	*notify_fd = p[1];
	return 0;
}

static void notify(int *fd, char rc)
{
	int nul;

	if (*fd < 0)
		return;
	if (write(*fd, &rc, 1) != 1) {
		/* the parent is gone; nothing to tell */
	}
	close(*fd);
	*fd = -1;
	if (rc)
		return;
	if (chdir("/")) {
		/* stay where we are */
	}
	nul = open("/dev/null", O_RDWR);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		if (nul > 2)
			close(nul);
	}
}

static int vm_setup_root(struct vm *vm)
{
	struct vm_node *root = calloc(1, sizeof(*root));
	struct stat st;
	int ret;

	if (!root)
		return -ENOMEM;
	ret = vdax_lstat(vm->vd, "/", &st);
	if (!ret)
		ret = tab_add(&vm->nodes, root, &root->nodeid);
	if (ret || root->nodeid != FUSE_ROOT_ID) {
		free(root);
		return ret ? ret : -EINVAL;
	}
	root->ino = st.st_ino;
	root->type = S_IFDIR;
	root->refs = 1;
	root->nlookup = 1;
	vm->nnodes = 1;
	/* not in the ino hash: ".." lookups never reach us, and a hard link
	 * to the root cannot exist */
	return 0;
}

static void vm_free_tables(struct vm *vm)
{
	for (size_t i = 1; i < vm->files.used; i++)
		if (vm->files.slots[i].ptr) {
			struct vm_file *f = vm->files.slots[i].ptr;

			if (f->vf)
				vdax_release(f->vf);
			dir_drop_snapshot(f);
			free(f);
		}
	for (size_t i = 1; i < vm->nodes.used; i++)
		if (vm->nodes.slots[i].ptr) {
			struct vm_node *n = vm->nodes.slots[i].ptr;

			while (n->lkowners) {
				struct vm_lkown *o = n->lkowners;

				n->lkowners = o->next;
				vdax_release(o->vf);
				free(o);
			}
			while (n->aliases) {
				struct vm_alias *a = n->aliases;

				n->aliases = a->next;
				free(a->name);
				free(a);
			}
			free(n);
		}
	free(vm->nodes.slots);
	free(vm->nodes.free);
	free(vm->files.slots);
	free(vm->files.free);
}

int vmnt_main(int argc, char **argv, const char *socket, const char *opts)
{
	struct mount_args a = { .socket = socket };
	struct fuse_args fargs = FUSE_ARGS_INIT(0, NULL);
	struct vdax_opts vo = { 0 };
	struct vm vm = { 0 };
	char fsname[512];
	int notify_fd = -1, ret, rc = EX_SOFTWARE;

	ret = parse_mount_args(&a, argc, argv, opts);
	if (ret)
		return ret < 0 ? 0 : ret;
	/* libvdax sends every request with our credentials: let the kernel
	 * check permissions against the attributes unless told otherwise */
	if (!a.have_perm_opt && append(a.fuse_opts, sizeof(a.fuse_opts),
				       "default_permissions", 19))
		return EX_USAGE;
	if (!strstr(a.fuse_opts, "fsname=")) {
		snprintf(fsname, sizeof(fsname), "fsname=vdax:%s", a.socket);
		/* a comma would split the option; fall back to a plain name */
		if (strchr(fsname + 7, ','))
			strcpy(fsname, "fsname=vdax");
		if (append(a.fuse_opts, sizeof(a.fuse_opts), fsname,
			   strlen(fsname)))
			return EX_USAGE;
	}
	if (!strstr(a.fuse_opts, "subtype=") &&
	    append(a.fuse_opts, sizeof(a.fuse_opts), "subtype=vdax", 12))
		return EX_USAGE;

	if (!a.foreground && detach(&notify_fd)) {
		perror("vdax mount: fork");
		return EX_OSERR;
	}

	vm.attr_timeout = a.attr_timeout;
	vm.entry_timeout = a.entry_timeout;
	vm.direct_io = a.direct_io;
	vm.no_window_read = a.no_window_read;
	snprintf(vm.dax_mode, sizeof(vm.dax_mode), "%s",
		 a.dax_mode[0] ? a.dax_mode : "never");
	vm.uid = geteuid();
	vm.gid = getegid();
	vm.started = time(NULL);
	pthread_mutex_init(&vm.lock, NULL);

	vo.socket_path = a.socket;
	vo.options = a.vdax_opts[0] ? a.vdax_opts : NULL;
	ret = vdax_open_session(&vo, &vm.vd);
	if (ret == -EOPNOTSUPP) {
		fprintf(stderr,
			"vdax mount: connect %s: %s: the backend has no DAX "
			"window (dax=always needs one, e.g. vdaxd "
			"--cache-size=SIZE; use dax=inode or dax=never)\n",
			a.socket, strerror(-ret));
		rc = EX_UNAVAILABLE;
		goto out;
	}
	if (ret) {
		fprintf(stderr, "vdax mount: connect %s: %s\n", a.socket,
			strerror(-ret));
		rc = ret == -EINVAL ? EX_USAGE : EX_UNAVAILABLE;
		goto out;
	}
	ret = vm_setup_root(&vm);
	if (ret) {
		fprintf(stderr, "vdax mount: root of the share: %s\n",
			strerror(-ret));
		rc = EX_UNAVAILABLE;
		goto out_vdax;
	}

	if (fuse_opt_add_arg(&fargs, "vdax") ||
	    (a.debug && fuse_opt_add_arg(&fargs, "-d")) ||
	    fuse_opt_add_arg(&fargs, "-o") ||
	    fuse_opt_add_arg(&fargs, a.fuse_opts)) {
		rc = EX_OSERR;
		goto out_vdax;
	}
	vm.se = fuse_session_new(&fargs, &vm_ops, sizeof(vm_ops), &vm);
	if (!vm.se) {
		fprintf(stderr, "vdax mount: bad FUSE options: %s\n",
			a.fuse_opts);
		rc = EX_USAGE;
		goto out_args;
	}
	if (fuse_set_signal_handlers(vm.se)) {
		rc = EX_OSERR;
		goto out_session;
	}
	if (fuse_session_mount(vm.se, a.mountpoint)) {
		rc = EX_CANTCREAT;
		goto out_signals;
	}
	notify(&notify_fd, 0);
	{
		struct fuse_loop_config lc = { .clone_fd = 0,
					       .max_idle_threads = 10 };

		ret = fuse_session_loop_mt(vm.se, &lc);
	}
	fuse_session_unmount(vm.se);
	/*
	 * The kernel ends the connection when the mount goes (umount, or the
	 * last file of a lazy umount closing): a blocked /dev/fuse read then
	 * sees ENODEV or, depending on timing, ECONNABORTED. Both are the
	 * normal end of the mount, not a failure.
	 */
	if (ret == -ECONNABORTED || ret == ECONNABORTED)
		ret = 0;
	rc = ret ? EX_SOFTWARE : 0;
out_signals:
	fuse_remove_signal_handlers(vm.se);
out_session:
	fuse_session_destroy(vm.se);
out_args:
	fuse_opt_free_args(&fargs);
out_vdax:
	/* handles the kernel never released go first: vdax_close would
	 * free them under us otherwise */
	vm_free_tables(&vm);
	vdax_close(vm.vd);
out:
	pthread_mutex_destroy(&vm.lock);
	notify(&notify_fd, (char)rc);
	return rc;
}
