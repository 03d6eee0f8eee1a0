// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Inode and handle tables. A guest-supplied id is (generation << 32 | index):
 * the index is bounds-checked, the slot must be in use and the generation
 * must match, so a stale or forged id never reaches a freed or reused slot.
 * Slots hold references: a FORGET or RELEASE racing with a worker that is
 * using the object only drops the table's reference; the last user frees it.
 *
 * Locking: everything here runs under pt_fs.lock (a leaf lock).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/log.h"
#include "passthrough/internal.h"

#define PT_DEFAULT_MAX_INODES (1u << 20)
#define PT_DEFAULT_MAX_HANDLES (1u << 16)
#define PT_MIN_BUCKETS 256u

static inline uint32_t id_idx(uint64_t id)
{
	return (uint32_t)id;
}

static inline uint32_t id_gen(uint64_t id)
{
	return (uint32_t)(id >> 32);
}

static inline uint64_t mk_id(uint32_t gen, uint32_t idx)
{
	return (uint64_t)gen << 32 | idx;
}

static uint32_t next_gen(uint32_t gen)
{
	return gen + 1 ? gen + 1 : 1;
}

/* Hand out a slot index: a freed one first, else a new one. */
static int slots_alloc(struct pt_slots *s, size_t objsz, uint32_t *idx,
		       bool *fresh)
{
	if (s->live >= s->max)
		return -ENFILE;
	if (s->nfree) {
		*idx = s->free[--s->nfree];
		*fresh = false;
		s->live++;
		return 0;
	}
	if (s->n == s->cap) {
		uint32_t ncap = s->cap ? s->cap * 2 : 64;
		void **v;
		uint32_t *fr;

		if (ncap <= s->cap)
			return -ENFILE;
		v = realloc(s->v, ncap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		fr = realloc(s->free, ncap * sizeof(*fr));
		if (!fr)
			return -ENOMEM;
		s->free = fr;
		s->cap = ncap;
	}
	s->v[s->n] = calloc(1, objsz);
	if (!s->v[s->n])
		return -ENOMEM;
	*idx = s->n++;
	*fresh = true;
	s->live++;
	return 0;
}

static void slots_release(struct pt_slots *s, uint32_t idx)
{
	s->free[s->nfree++] = idx;
	s->live--;
}

static void slots_destroy(struct pt_slots *s)
{
	for (uint32_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	free(s->free);
	memset(s, 0, sizeof(*s));
}

/* ---- inode hash, keyed by (dev, ino, mount id) ---- */

static uint32_t key_hash(dev_t dev, ino_t ino, uint64_t mnt)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull;

	h ^= ((uint64_t)dev + (mnt << 17)) * 0xc2b2ae3d27d4eb4full;
	return (uint32_t)(h ^ (h >> 29));
}

static struct pt_inode *islot(struct pt_fs *fs, uint32_t idx)
{
	return fs->inodes.v[idx];
}

static void hash_link(struct pt_fs *fs, struct pt_inode *ino)
{
	uint32_t b = key_hash(ino->dev, ino->ino, ino->mnt_id) &
		     (fs->nbuckets - 1);

	ino->hnext = fs->buckets[b];
	fs->buckets[b] = ino->idx;
}

static void hash_unlink(struct pt_fs *fs, struct pt_inode *ino)
{
	uint32_t b = key_hash(ino->dev, ino->ino, ino->mnt_id) &
		     (fs->nbuckets - 1);
	uint32_t *pp = &fs->buckets[b];

	while (*pp && *pp != ino->idx)
		pp = &islot(fs, *pp)->hnext;
	if (*pp)
		*pp = ino->hnext;
	ino->hnext = 0;
}

/*
 * Two handles of one (dev, ino, mount id) differ when the inode number was
 * freed and reused: a handle carries the inode's generation. An inode held
 * by an fd pins its number, so without a handle on either side the key
 * alone decides.
 */
static bool fh_same(const struct file_handle *a, const struct file_handle *b)
{
	if (!a || !b)
		return true;
	return a->handle_type == b->handle_type &&
	       a->handle_bytes == b->handle_bytes &&
	       !memcmp(a->f_handle, b->f_handle, a->handle_bytes);
}

static struct pt_inode *hash_find(struct pt_fs *fs, dev_t dev, ino_t i,
				  uint64_t mnt, const struct file_handle *fh)
{
	uint32_t b = key_hash(dev, i, mnt) & (fs->nbuckets - 1);

	for (uint32_t x = fs->buckets[b]; x; x = islot(fs, x)->hnext) {
		struct pt_inode *ino = islot(fs, x);

		if (ino->dev == dev && ino->ino == i && ino->mnt_id == mnt &&
		    fh_same(ino->fh, fh))
			return ino;
	}
	return NULL;
}

/* ---- mount fds of handle inodes ---- */

static struct pt_mount *mount_find_locked(struct pt_fs *fs, uint64_t mnt_id)
{
	for (unsigned i = 0; i < fs->nmounts; i++)
		if (fs->mounts[i].mnt_id == mnt_id)
			return &fs->mounts[i];
	return NULL;
}

bool pt_mount_known(struct pt_fs *fs, uint64_t mnt_id)
{
	bool known;

	pthread_mutex_lock(&fs->lock);
	known = mount_find_locked(fs, mnt_id) != NULL;
	pthread_mutex_unlock(&fs->lock);
	return known;
}

int pt_mount_add(struct pt_fs *fs, uint64_t mnt_id, int fd)
{
	struct pt_mount *m;
	int ret = 0;

	pthread_mutex_lock(&fs->lock);
	if (mount_find_locked(fs, mnt_id))
		goto out;
	if (fs->nmounts == fs->capmounts) {
		unsigned ncap = fs->capmounts ? fs->capmounts * 2 : 4;

		m = realloc(fs->mounts, ncap * sizeof(*m));
		if (!m) {
			ret = -ENOMEM;
			goto out;
		}
		fs->mounts = m;
		fs->capmounts = ncap;
	}
	fs->mounts[fs->nmounts++] = (struct pt_mount){ .mnt_id = mnt_id,
						       .fd = fd };
	fd = -1;
out:
	pthread_mutex_unlock(&fs->lock);
	if (fd >= 0)
		close(fd);
	return ret;
}

/* The last handle inode on a mount closes its fd. Caller holds fs->lock. */
static void mount_put_locked(struct pt_fs *fs, uint64_t mnt_id)
{
	struct pt_mount *m = mount_find_locked(fs, mnt_id);

	if (!m || !m->refs || --m->refs)
		return;
	close(m->fd);
	*m = fs->mounts[--fs->nmounts];
}

/* Keep chains short; a failed grow only costs speed. */
static void hash_maybe_grow(struct pt_fs *fs)
{
	uint32_t nb = fs->nbuckets * 2, *nbk;
	uint32_t *old = fs->buckets;

	if (fs->inodes.live <= fs->nbuckets || nb < fs->nbuckets)
		return;
	nbk = calloc(nb, sizeof(*nbk));
	if (!nbk)
		return;
	fs->buckets = nbk;
	fs->nbuckets = nb;
	for (uint32_t i = 0; i < fs->inodes.n; i++) {
		struct pt_inode *ino = islot(fs, i);

		if (ino && ino->hashed)
			hash_link(fs, ino);
	}
	free(old);
}

/* ---- inodes ---- */

uint64_t pt_inode_nodeid(const struct pt_inode *ino)
{
	return mk_id(ino->gen, ino->idx);
}

/* Drop one reference; the last one frees the slot. Caller holds fs->lock. */
static void inode_put_locked(struct pt_fs *fs, struct pt_inode *ino)
{
	if (--ino->refs)
		return;
	if (ino->fh) {
		free(ino->fh);
		ino->fh = NULL;
		mount_put_locked(fs, ino->mnt_id);
		if (ino->pin_fd >= 0)
			close(ino->pin_fd);
		ino->pin_fd = -1;
	} else {
		close(ino->fd);
	}
	ino->fd = -1;
	ino->gen = next_gen(ino->gen);
	slots_release(&fs->inodes, ino->idx);
}

static struct pt_inode *inode_find_locked(struct pt_fs *fs, uint64_t nodeid)
{
	uint32_t idx = id_idx(nodeid);
	struct pt_inode *ino;

	if (idx == 0 || idx >= fs->inodes.n)
		return NULL;
	ino = islot(fs, idx);
	if (!ino->hashed || ino->gen != id_gen(nodeid))
		return NULL;
	return ino;
}

int pt_inode_get(struct pt_fs *fs, uint64_t nodeid, struct pt_inode **out)
{
	struct pt_inode *ino;

	pthread_mutex_lock(&fs->lock);
	ino = inode_find_locked(fs, nodeid);
	if (ino)
		ino->refs++;
	pthread_mutex_unlock(&fs->lock);
	*out = ino;
	return ino ? 0 : -ESTALE;
}

void pt_inode_put(struct pt_fs *fs, struct pt_inode *ino)
{
	if (!ino)
		return;
	pthread_mutex_lock(&fs->lock);
	inode_put_locked(fs, ino);
	pthread_mutex_unlock(&fs->lock);
}

int pt_inode_add(struct pt_fs *fs, int fd, const struct stat *st,
		 uint64_t mnt_id, const struct file_handle *fh, bool submount,
		 uint64_t *nodeid)
{
	struct file_handle *copy = NULL;
	struct pt_mount *m = NULL;
	struct pt_inode *ino;
	bool fresh;
	uint32_t idx;
	int ret = 0;

	/* Allocated outside the lock; usually the inode is new. */
	if (fh) {
		copy = malloc(sizeof(*fh) + fh->handle_bytes);
		if (!copy) {
			close(fd);
			return -ENOMEM;
		}
		memcpy(copy, fh, sizeof(*fh) + fh->handle_bytes);
	}
	pthread_mutex_lock(&fs->lock);
	ino = hash_find(fs, st->st_dev, st->st_ino, mnt_id, fh);
	if (ino) {
		ino->nlookup++;
		*nodeid = pt_inode_nodeid(ino);
		pthread_mutex_unlock(&fs->lock);
		free(copy);
		close(fd);
		return 0;
	}
	ret = slots_alloc(&fs->inodes, sizeof(*ino), &idx, &fresh);
	/*
	 * pt_mount_add() came first, but the mount's last handle inode may
	 * have gone since and taken the mount fd with it: hold this one by
	 * its fd, which is always right.
	 */
	if (ret == 0 && copy) {
		m = mount_find_locked(fs, mnt_id);
		if (m) {
			m->refs++;
		} else {
			free(copy);
			copy = NULL;
		}
	}
	if (ret < 0) {
		pthread_mutex_unlock(&fs->lock);
		free(copy);
		close(fd);
		return ret;
	}
	ino = islot(fs, idx);
	if (fresh) {
		ino->idx = idx;
		ino->gen = 1;
	}
	ino->fh = copy;
	ino->mount_fd = m ? m->fd : -1;
	ino->pin_fd = -1;
	ino->fd = copy ? -1 : fd;
	ino->dev = st->st_dev;
	ino->ino = st->st_ino;
	ino->mnt_id = mnt_id;
	ino->type = st->st_mode & S_IFMT;
	ino->submount = submount;
	ino->nlookup = 1;
	ino->refs = 1;
	ino->hashed = true;
	hash_link(fs, ino);
	hash_maybe_grow(fs);
	*nodeid = pt_inode_nodeid(ino);
	pthread_mutex_unlock(&fs->lock);
	/* A handle inode needs no fd of its own. */
	if (copy)
		close(fd);
	return 0;
}

bool pt_inode_known(struct pt_fs *fs, const struct stat *st, uint64_t mnt_id,
		    const struct file_handle *fh, uint64_t *nodeid)
{
	struct pt_inode *ino;

	pthread_mutex_lock(&fs->lock);
	ino = hash_find(fs, st->st_dev, st->st_ino, mnt_id, fh);
	if (ino)
		*nodeid = pt_inode_nodeid(ino);
	pthread_mutex_unlock(&fs->lock);
	return ino != NULL;
}

/* Caller holds fs->lock. The root is never forgotten. */
static void inode_unhash_locked(struct pt_fs *fs, struct pt_inode *ino)
{
	hash_unlink(fs, ino);
	ino->hashed = false;
	ino->nlookup = 0;
	inode_put_locked(fs, ino);
}

int pt_inode_forget(struct pt_fs *fs, uint64_t nodeid, uint64_t n)
{
	struct pt_inode *ino;

	pthread_mutex_lock(&fs->lock);
	ino = inode_find_locked(fs, nodeid);
	if (!ino) {
		pthread_mutex_unlock(&fs->lock);
		return -ESTALE;
	}
	if (ino->idx != PT_ROOT_IDX) {
		ino->nlookup = n < ino->nlookup ? ino->nlookup - n : 0;
		if (!ino->nlookup)
			inode_unhash_locked(fs, ino);
	}
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

uint64_t pt_nlookup(struct pt_fs *fs, uint64_t nodeid)
{
	struct pt_inode *ino;
	uint64_t n = 0;

	pthread_mutex_lock(&fs->lock);
	ino = inode_find_locked(fs, nodeid);
	if (ino)
		n = ino->nlookup;
	pthread_mutex_unlock(&fs->lock);
	return n;
}

uint64_t pt_inode_count(struct pt_fs *fs)
{
	uint64_t n;

	pthread_mutex_lock(&fs->lock);
	n = fs->inodes.live - 1; /* not the reserved slot 0 */
	pthread_mutex_unlock(&fs->lock);
	return n;
}

/* ---- handles ---- */

static struct pt_handle *hslot(struct pt_fs *fs, uint32_t idx)
{
	return fs->handles.v[idx];
}

static void handle_put_locked(struct pt_fs *fs, struct pt_handle *h)
{
	if (--h->refs)
		return;
	close(h->fd);
	h->fd = -1;
	h->gen = next_gen(h->gen);
	slots_release(&fs->handles, h->idx);
}

int pt_handle_add(struct pt_fs *fs, int fd, uint64_t nodeid, bool dir,
		  bool writable, uint64_t *fh)
{
	struct pt_handle *h;
	uint32_t idx;
	bool fresh;
	int ret;

	pthread_mutex_lock(&fs->lock);
	ret = slots_alloc(&fs->handles, sizeof(*h), &idx, &fresh);
	if (ret < 0) {
		pthread_mutex_unlock(&fs->lock);
		return ret;
	}
	h = hslot(fs, idx);
	if (fresh) {
		h->idx = idx;
		h->gen = 1;
		pthread_mutex_init(&h->dir_lock, NULL);
	}
	h->fd = fd;
	h->dir = dir;
	h->writable = writable;
	h->nodeid = nodeid;
	h->refs = 1;
	h->live = true;
	*fh = mk_id(h->gen, h->idx);
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

static struct pt_handle *handle_find_locked(struct pt_fs *fs, uint64_t nodeid,
					    uint64_t fh, bool dir)
{
	uint32_t idx = id_idx(fh);
	struct pt_handle *h;

	if (idx >= fs->handles.n)
		return NULL;
	h = hslot(fs, idx);
	if (!h->live || h->gen != id_gen(fh) || h->dir != dir ||
	    h->nodeid != nodeid)
		return NULL;
	return h;
}

int pt_handle_get(struct pt_fs *fs, uint64_t nodeid, uint64_t fh, bool dir,
		  struct pt_handle **out)
{
	struct pt_handle *h;

	pthread_mutex_lock(&fs->lock);
	h = handle_find_locked(fs, nodeid, fh, dir);
	if (h)
		h->refs++;
	pthread_mutex_unlock(&fs->lock);
	*out = h;
	return h ? 0 : -EBADF;
}

void pt_handle_put(struct pt_fs *fs, struct pt_handle *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&fs->lock);
	handle_put_locked(fs, h);
	pthread_mutex_unlock(&fs->lock);
}

int pt_handle_remove(struct pt_fs *fs, uint64_t nodeid, uint64_t fh, bool dir,
		     bool flock_unlock)
{
	struct pt_handle *h;

	pthread_mutex_lock(&fs->lock);
	h = handle_find_locked(fs, nodeid, fh, dir);
	if (!h) {
		pthread_mutex_unlock(&fs->lock);
		return -EBADF;
	}
	h->live = false;
	/* Unlock before a concurrent user could keep the fd open longer. */
	if (flock_unlock)
		flock(h->fd, LOCK_UN);
	handle_put_locked(fs, h);
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

bool pt_inode_pin(struct pt_fs *fs, const struct stat *st, uint64_t mnt_id,
		  const struct file_handle *fh, int fd)
{
	struct pt_inode *ino;
	bool taken = false;

	pthread_mutex_lock(&fs->lock);
	ino = hash_find(fs, st->st_dev, st->st_ino, mnt_id, fh);
	if (ino && ino->fh && ino->pin_fd < 0) {
		__atomic_store_n(&ino->pin_fd, fd, __ATOMIC_RELEASE);
		taken = true;
	}
	pthread_mutex_unlock(&fs->lock);
	return taken;
}

int pt_inode_dup_open_fd(struct pt_fs *fs, uint64_t nodeid)
{
	int fd = -ESTALE;

	pthread_mutex_lock(&fs->lock);
	for (uint32_t i = 0; i < fs->handles.n; i++) {
		struct pt_handle *h = hslot(fs, i);

		if (h->live && h->nodeid == nodeid) {
			fd = fcntl(h->fd, F_DUPFD_CLOEXEC, 0);
			if (fd < 0)
				fd = -errno;
			break;
		}
	}
	pthread_mutex_unlock(&fs->lock);
	return fd;
}

uint64_t pt_handle_count(struct pt_fs *fs)
{
	uint64_t n;

	pthread_mutex_lock(&fs->lock);
	n = fs->handles.live;
	pthread_mutex_unlock(&fs->lock);
	return n;
}

/* ---- whole tables ---- */

static int add_root(struct pt_fs *fs, int fd, const struct stat *st,
		    uint64_t mnt_id)
{
	uint64_t nodeid;
	struct pt_inode *root;
	int ret;

	/* The root keeps its fd: one fd, and every path starts there. */
	ret = pt_inode_add(fs, fd, st, mnt_id, NULL, false, &nodeid);
	if (ret < 0)
		return ret;
	root = islot(fs, PT_ROOT_IDX);
	/* The root is nodeid FUSE_ROOT_ID (1): slot 1, generation 0. */
	if (id_idx(nodeid) != PT_ROOT_IDX)
		return -EINVAL;
	root->gen = 0;
	/*
	 * Handle inodes on the root's mount open through the shared
	 * directory, which the sandbox made its mount's root. This reference
	 * is never dropped.
	 */
	if (fs->fh_mode != PT_FH_NEVER) {
		int mfd = openat(root->fd, ".",
				 O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (mfd < 0)
			return -errno;
		ret = pt_mount_add(fs, mnt_id, mfd);
		if (ret == 0) {
			pthread_mutex_lock(&fs->lock);
			mount_find_locked(fs, mnt_id)->refs++;
			pthread_mutex_unlock(&fs->lock);
		}
	}
	return ret;
}

int pt_table_init(struct pt_fs *fs)
{
	struct statx sx;
	struct stat st = { 0 };
	uint32_t idx;
	bool fresh;
	int fd, ret;

	fs->inodes.max = fs->opts.max_inodes ? fs->opts.max_inodes :
					       PT_DEFAULT_MAX_INODES;
	fs->handles.max = fs->opts.max_handles ? fs->opts.max_handles :
						 PT_DEFAULT_MAX_HANDLES;
	/* Two more: the unused slot 0 and the root. */
	fs->inodes.max += 2;
	fs->nbuckets = PT_MIN_BUCKETS;
	fs->buckets = calloc(fs->nbuckets, sizeof(*fs->buckets));
	if (!fs->buckets)
		return -ENOMEM;
	/* Slot 0 is never handed out so that nodeid 0 is never valid. */
	ret = slots_alloc(&fs->inodes, sizeof(struct pt_inode), &idx, &fresh);
	if (ret < 0)
		return ret;
	islot(fs, 0)->fd = -1;
	fd = openat(fs->opts.root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW,
		  STATX_BASIC_STATS | STATX_MNT_ID, &sx) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	st.st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
	st.st_ino = sx.stx_ino;
	st.st_mode = sx.stx_mode;
	return add_root(fs, fd, &st,
			(sx.stx_mask & STATX_MNT_ID) ? sx.stx_mnt_id : 0);
}

void pt_table_reset(struct pt_fs *fs)
{
	pthread_mutex_lock(&fs->lock);
	for (uint32_t i = PT_ROOT_IDX + 1; i < fs->inodes.n; i++) {
		struct pt_inode *ino = islot(fs, i);

		if (ino->hashed)
			inode_unhash_locked(fs, ino);
	}
	for (uint32_t i = 0; i < fs->handles.n; i++) {
		struct pt_handle *h = hslot(fs, i);

		if (h->live) {
			h->live = false;
			handle_put_locked(fs, h);
		}
	}
	pthread_mutex_unlock(&fs->lock);
}

void pt_table_destroy(struct pt_fs *fs)
{
	for (uint32_t i = 0; i < fs->inodes.n; i++) {
		struct pt_inode *ino = islot(fs, i);

		if (ino->refs && ino->fd >= 0)
			close(ino->fd);
		if (ino->refs && ino->fh && ino->pin_fd >= 0)
			close(ino->pin_fd);
		free(ino->fh);
	}
	for (unsigned i = 0; i < fs->nmounts; i++)
		close(fs->mounts[i].fd);
	free(fs->mounts);
	fs->mounts = NULL;
	fs->nmounts = fs->capmounts = 0;
	for (uint32_t i = 0; i < fs->handles.n; i++) {
		struct pt_handle *h = hslot(fs, i);

		if (h->refs && h->fd >= 0)
			close(h->fd);
		pthread_mutex_destroy(&h->dir_lock);
	}
	slots_destroy(&fs->inodes);
	slots_destroy(&fs->handles);
	free(fs->buckets);
	fs->buckets = NULL;
}
