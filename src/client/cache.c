// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libvdax FUSE client: the inode/dentry cache, LOOKUP and the path walk.
 *
 * Lock order: cache_lock -> transport locks. No request is sent while
 * cache_lock is held; forgets are queued under it and sent afterwards.
 *
 * Each node carries at most one dentry (parent, name). A hashed dentry
 * holds a reference on its node and on its parent; when a node's last
 * reference goes, the lookups the backend counted are forgotten.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "client/client.h"

static uint64_t deadline(uint64_t sec, uint32_t nsec)
{
	uint64_t ns, d;

	if (sec > UINT64_MAX / 2000000000ull)
		return UINT64_MAX;
	ns = sec * 1000000000ull + nsec;
	if (__builtin_add_overflow(fc_now_ns(), ns, &d))
		return UINT64_MAX;
	return d;
}

/*
 * Every change of @n's attributes or their deadline goes through these two
 * (cache_lock held), so that fc_size_cached() sees each one: the size and
 * the deadline are published again as atomics, the size first. A reader
 * that sees the new deadline sees a size at least as new, and one that sees
 * the old deadline gets what it would have got just before the update.
 */
static void attr_publish_locked(struct fc_node *n)
{
	atomic_store_explicit(&n->size_pub, n->attr.size, memory_order_relaxed);
	atomic_store_explicit(&n->expire_pub, n->attr_expire,
			      memory_order_release);
}

/* New attributes from the backend, valid for @sec.@nsec. */
static void attr_set_locked(struct fc_node *n, const struct fuse_attr *a,
			    uint64_t sec, uint32_t nsec)
{
	n->attr = *a;
	n->attr_expire = deadline(sec, nsec);
	attr_publish_locked(n);
	n->ttl.attr_sec = sec;
	n->ttl.attr_nsec = nsec;
}

/* The attributes are to be asked for again before their next use. */
static void attr_expire_locked(struct fc_node *n)
{
	n->attr_expire = 0;
	attr_publish_locked(n);
}

/* ---------------- cache ---------------- */

static unsigned id_bucket(uint64_t nodeid)
{
	return (unsigned)((nodeid * 0x9E3779B97F4A7C15ull) >> 40) %
	       FC_HASH_BUCKETS;
}

static unsigned d_bucket(const struct fc_node *parent, const char *name,
			 size_t len)
{
	uint64_t h = parent->nodeid * 31;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 0x100000001B3ull;
	return (unsigned)(h % FC_HASH_BUCKETS);
}

int fc_cache_init(struct vdax *vd)
{
	struct fc_node *root = calloc(1, sizeof(*root));

	if (!root)
		return -ENOMEM;
	pthread_mutex_init(&vd->cache_lock, NULL);
	pthread_rwlock_init(&root->io_lock, NULL);
	root->nodeid = FUSE_ROOT_ID;
	root->refs = 1; /* the session's */
	root->attr.mode = S_IFDIR | 0755;
	vd->root = root;
	vd->id_hash[id_bucket(FUSE_ROOT_ID)] = root;
	return 0;
}

static void queue_forget_locked(struct vdax *vd, struct fc_node *n)
{
	if (!n->nlookup)
		return;
	if (vd->nforgets == vd->forgets_cap) {
		size_t cap = vd->forgets_cap ? vd->forgets_cap * 2 : 64;
		struct fc_forget *f = realloc(vd->forgets, cap * sizeof(*f));

		if (!f) {
			/* The backend keeps the inode a bit longer; harmless. */
			VLOG_WARN("vdax: out of memory, leaking a forget");
			return;
		}
		vd->forgets = f;
		vd->forgets_cap = cap;
	}
	vd->forgets[vd->nforgets++] = (struct fc_forget){ n->nodeid, n->nlookup };
}

static void unhash_id_locked(struct vdax *vd, struct fc_node *n)
{
	struct fc_node **pp = &vd->id_hash[id_bucket(n->nodeid)];

	for (; *pp; pp = &(*pp)->id_next) {
		if (*pp == n) {
			*pp = n->id_next;
			return;
		}
	}
}

static void node_put_locked(struct vdax *vd, struct fc_node *n);

static void unhash_dentry_locked(struct vdax *vd, struct fc_node *n)
{
	struct fc_node *parent = n->parent;
	struct fc_node **pp;

	if (!n->hashed)
		return;
	pp = &vd->d_hash[d_bucket(parent, n->name, strlen(n->name))];
	for (; *pp; pp = &(*pp)->d_next) {
		if (*pp == n) {
			*pp = n->d_next;
			break;
		}
	}
	n->hashed = false;
	n->parent = NULL;
	free(n->name);
	n->name = NULL;
	vd->ndentries--;
	node_put_locked(vd, n);
	node_put_locked(vd, parent);
}

void fc_node_free(struct fc_node *n)
{
	pthread_rwlock_destroy(&n->io_lock);
	free(n->name);
	free(n);
}

static void node_put_locked(struct vdax *vd, struct fc_node *n)
{
	if (--n->refs)
		return;
	/* Only unhashed nodes reach zero: a dentry holds a reference. */
	unhash_id_locked(vd, n);
	if (n->dax) {
		/*
		 * Its window ranges must be removed (FUSE requests: not
		 * under cache_lock) before the backend may forget the
		 * inode: fc_flush_forgets() does both, in that order.
		 */
		n->id_next = vd->evicts;
		vd->evicts = n;
		return;
	}
	queue_forget_locked(vd, n);
	fc_node_free(n);
}

/* Remove the mappings of evicted DAX nodes, then queue their forgets. */
static void flush_evicts(struct vdax *vd)
{
	struct fc_node *n, *next;

	pthread_mutex_lock(&vd->cache_lock);
	n = vd->evicts;
	vd->evicts = NULL;
	pthread_mutex_unlock(&vd->cache_lock);
	for (; n; n = next) {
		next = n->id_next;
		fc_dax_node_evict(vd, n);
		pthread_mutex_lock(&vd->cache_lock);
		queue_forget_locked(vd, n);
		pthread_mutex_unlock(&vd->cache_lock);
		fc_node_free(n);
	}
}

void fc_node_get(struct vdax *vd, struct fc_node *n)
{
	pthread_mutex_lock(&vd->cache_lock);
	n->refs++;
	pthread_mutex_unlock(&vd->cache_lock);
}

void fc_node_put(struct vdax *vd, struct fc_node *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&vd->cache_lock);
	node_put_locked(vd, n);
	pthread_mutex_unlock(&vd->cache_lock);
	fc_flush_forgets(vd);
}

/* Send queued forgets on the hiprio queue, batched. */
void fc_flush_forgets(struct vdax *vd)
{
	flush_evicts(vd);
	for (;;) {
		struct fuse_forget_one one[64];
		struct fuse_batch_forget_in bin = { 0 };
		struct fc_call c = { .opcode = FUSE_BATCH_FORGET, .nin = 2,
				     .noreply = true, .hiprio = true };
		struct vdx_req *r;
		size_t n;

		pthread_mutex_lock(&vd->cache_lock);
		n = vd->nforgets < 64 ? vd->nforgets : 64;
		for (size_t i = 0; i < n; i++) {
			struct fc_forget *f = &vd->forgets[--vd->nforgets];

			one[i] = (struct fuse_forget_one){ f->nodeid,
							   f->nlookup };
		}
		pthread_mutex_unlock(&vd->cache_lock);
		if (!n)
			return;
		if (vdx_dev_broken(vd->dev))
			continue;
		bin.count = n;
		c.in[0] = (struct iovec){ &bin, sizeof(bin) };
		c.in[1] = (struct iovec){ one, n * sizeof(one[0]) };
		if (fc_start(vd, &c, false, &r) == 0)
			vdx_req_put(r);
	}
}

static struct fc_node *d_find_locked(struct vdax *vd, struct fc_node *parent,
				     const char *name, size_t len)
{
	struct fc_node *n = vd->d_hash[d_bucket(parent, name, len)];

	for (; n; n = n->d_next)
		if (n->parent == parent && strlen(n->name) == len &&
		    !memcmp(n->name, name, len))
			return n;
	return NULL;
}

static struct fc_node *id_find_locked(struct vdax *vd, uint64_t nodeid)
{
	struct fc_node *n = vd->id_hash[id_bucket(nodeid)];

	for (; n; n = n->id_next)
		if (n->nodeid == nodeid)
			return n;
	return NULL;
}

/* Drop the oldest-looking dentries until under the cache bound. */
static void shrink_locked(struct vdax *vd)
{
	for (unsigned b = 0; vd->cache_max && vd->ndentries > vd->cache_max &&
			     b < FC_HASH_BUCKETS; b++) {
		struct fc_node *n = vd->d_hash[b];

		/* only leaves nobody else uses: refs == 1 (the dentry) */
		while (n && vd->ndentries > vd->cache_max) {
			struct fc_node *next = n->d_next;

			if (n->refs == 1)
				unhash_dentry_locked(vd, n);
			n = next;
		}
	}
}

int fc_cache_enter(struct vdax *vd, struct fc_node *parent, const char *name,
		   size_t namelen, const struct fuse_entry_out *e, bool weak,
		   struct fc_node **out)
{
	struct fc_node *n, *old;
	char *nm;
	unsigned b;

	if (e->nodeid == 0 || e->nodeid == FUSE_ROOT_ID)
		return -EIO;
	nm = strndup(name, namelen);
	if (!nm)
		return -ENOMEM;
	pthread_mutex_lock(&vd->cache_lock);
	n = id_find_locked(vd, e->nodeid);
	if (n && n->generation != e->generation) {
		/* Backend reused a nodeid we still hold: treat as new. */
		unhash_dentry_locked(vd, n);
		n = id_find_locked(vd, e->nodeid);
		if (n)
			unhash_id_locked(vd, n);
		n = NULL;
	}
	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n) {
			pthread_mutex_unlock(&vd->cache_lock);
			free(nm);
			/* Don't leak the backend's lookup count. */
			pthread_mutex_lock(&vd->cache_lock);
			queue_forget_locked(vd, &(struct fc_node){
							.nodeid = e->nodeid,
							.nlookup = 1 });
			pthread_mutex_unlock(&vd->cache_lock);
			fc_flush_forgets(vd);
			return -ENOMEM;
		}
		pthread_rwlock_init(&n->io_lock, NULL);
		n->nodeid = e->nodeid;
		n->generation = e->generation;
		b = id_bucket(n->nodeid);
		n->id_next = vd->id_hash[b];
		vd->id_hash[b] = n;
	}
	n->nlookup++;
	n->refs++; /* caller's, taken before any unhash can free it */
	attr_set_locked(n, &e->attr, e->attr_valid, e->attr_valid_nsec);
	old = d_find_locked(vd, parent, name, namelen);
	if (old && old != n) {
		if (weak)
			goto done; /* a newer lookup/create named it: keep that */
		unhash_dentry_locked(vd, old);
	}
	if (n->hashed && (n->parent != parent || strcmp(n->name, nm))) {
		if (weak)
			goto done;
		unhash_dentry_locked(vd, n);
	}
	if (!n->hashed) {
		n->hashed = true;
		n->parent = parent;
		parent->refs++;
		n->refs++;
		n->name = nm;
		nm = NULL;
		b = d_bucket(parent, n->name, namelen);
		n->d_next = vd->d_hash[b];
		vd->d_hash[b] = n;
		vd->ndentries++;
	}
	n->entry_expire = deadline(e->entry_valid, e->entry_valid_nsec);
	n->ttl.entry_sec = e->entry_valid;
	n->ttl.entry_nsec = e->entry_valid_nsec;
	shrink_locked(vd);
done:
	pthread_mutex_unlock(&vd->cache_lock);
	free(nm);
	fc_flush_forgets(vd);
	*out = n;
	return 0;
}

void fc_cache_drop(struct vdax *vd, struct fc_node *parent, const char *name)
{
	struct fc_node *n;

	pthread_mutex_lock(&vd->cache_lock);
	n = d_find_locked(vd, parent, name, strlen(name));
	if (n)
		unhash_dentry_locked(vd, n);
	pthread_mutex_unlock(&vd->cache_lock);
	fc_flush_forgets(vd);
}

void fc_attr_update(struct vdax *vd, struct fc_node *n,
		    const struct fuse_attr_out *ao)
{
	pthread_mutex_lock(&vd->cache_lock);
	attr_set_locked(n, &ao->attr, ao->attr_valid, ao->attr_valid_nsec);
	pthread_mutex_unlock(&vd->cache_lock);
}

void fc_attr_grow_size(struct vdax *vd, struct fc_node *n, uint64_t size)
{
	pthread_mutex_lock(&vd->cache_lock);
	if (n->attr.size < size) {
		n->attr.size = size;
		attr_publish_locked(n);
	}
	pthread_mutex_unlock(&vd->cache_lock);
}

void fc_attr_invalidate(struct vdax *vd, struct fc_node *n)
{
	pthread_mutex_lock(&vd->cache_lock);
	attr_expire_locked(n);
	pthread_mutex_unlock(&vd->cache_lock);
}

bool fc_attr_cached(struct vdax *vd, struct fc_node *n, struct fuse_attr *a)
{
	bool ok;

	pthread_mutex_lock(&vd->cache_lock);
	ok = n->attr_expire > fc_now_ns();
	if (ok)
		*a = n->attr;
	pthread_mutex_unlock(&vd->cache_lock);
	return ok;
}

/* fc_attr_cached() for the size alone, without cache_lock. */
bool fc_size_cached(struct fc_node *n, uint64_t *size)
{
	uint64_t exp = atomic_load_explicit(&n->expire_pub,
					    memory_order_acquire);

	if (exp <= fc_now_ns())
		return false;
	*size = atomic_load_explicit(&n->size_pub, memory_order_relaxed);
	return true;
}

void fc_node_ttl(struct vdax *vd, struct fc_node *n, struct vdax_ttl *t)
{
	pthread_mutex_lock(&vd->cache_lock);
	*t = n->ttl;
	pthread_mutex_unlock(&vd->cache_lock);
}

uint32_t fc_node_mode(struct vdax *vd, struct fc_node *n)
{
	uint32_t m;

	pthread_mutex_lock(&vd->cache_lock);
	m = n->attr.mode;
	pthread_mutex_unlock(&vd->cache_lock);
	return m;
}

void fc_cache_destroy(struct vdax *vd)
{
	pthread_mutex_lock(&vd->cache_lock);
	for (unsigned b = 0; b < FC_HASH_BUCKETS; b++)
		while (vd->d_hash[b])
			unhash_dentry_locked(vd, vd->d_hash[b]);
	pthread_mutex_unlock(&vd->cache_lock);
	fc_flush_forgets(vd);
	/* Nodes still referenced (leaked handles) are freed here. */
	for (unsigned b = 0; b < FC_HASH_BUCKETS; b++) {
		struct fc_node *n = vd->id_hash[b];

		while (n) {
			struct fc_node *next = n->id_next;

			fc_dax_node_evict(vd, n);
			fc_node_free(n);
			n = next;
		}
		vd->id_hash[b] = NULL;
	}
	free(vd->forgets);
	vd->forgets = NULL;
	pthread_mutex_destroy(&vd->cache_lock);
}

/* ---------------- lookup and walk ---------------- */

int fc_lookup(struct vdax *vd, struct fc_node *dir, const char *name,
	      struct fc_node **out)
{
	size_t len = strlen(name);
	struct fuse_entry_out e;
	struct fc_node *n;
	struct fc_call c = {
		.opcode = FUSE_LOOKUP,
		.nodeid = dir->nodeid,
		.nin = 1,
		.in = { { (void *)name, len + 1 } },
		.out = &e,
		.out_size = sizeof(e),
		.out_min = sizeof(e),
	};
	int ret;

	pthread_mutex_lock(&vd->cache_lock);
	n = d_find_locked(vd, dir, name, len);
	if (n && n->entry_expire > fc_now_ns()) {
		n->refs++;
		pthread_mutex_unlock(&vd->cache_lock);
		*out = n;
		return 0;
	}
	pthread_mutex_unlock(&vd->cache_lock);
	ret = fc_send(vd, &c);
	if (ret == -ESTALE)
		fc_node_stale(vd, dir);
	if (ret == -ENOENT || (ret >= 0 && e.nodeid == 0)) {
		fc_cache_drop(vd, dir, name);
		return -ENOENT;
	}
	if (ret < 0)
		return ret;
	return fc_cache_enter(vd, dir, name, len, &e, false, out);
}

int fc_readlink_node(struct vdax *vd, struct fc_node *n, char *buf,
		     size_t size)
{
	struct fc_call c = {
		.opcode = FUSE_READLINK,
		.nodeid = n->nodeid,
		.out = buf,
		.out_size = size,
	};

	return fc_send(vd, &c);
}

struct walk_stack {
	struct fc_node **v;
	size_t n, cap;
};

static int stack_push(struct vdax *vd, struct walk_stack *s, struct fc_node *n)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct fc_node **v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = n;
	return 0;
}

static void stack_reset(struct vdax *vd, struct walk_stack *s, size_t keep)
{
	while (s->n > keep)
		fc_node_put(vd, s->v[--s->n]);
}

/*
 * "..": back one step of the walk; from where the walk started, the parent
 * libvdax last looked that directory up under (the root stays the root).
 */
static int walk_dotdot(struct vdax *vd, struct walk_stack *s)
{
	struct fc_node *cur = s->v[s->n - 1], *up;

	if (s->n > 1) {
		stack_reset(vd, s, s->n - 1);
		return 0;
	}
	if (cur == vd->root)
		return 0;
	pthread_mutex_lock(&vd->cache_lock);
	up = cur->hashed ? cur->parent : NULL;
	if (up)
		up->refs++;
	pthread_mutex_unlock(&vd->cache_lock);
	if (!up)
		return -ENOENT; /* the start directory has no known name */
	s->v[0] = up;
	fc_node_put(vd, cur);
	return 0;
}

/* Replace the walk's remaining path with target + "/" + rest. */
static int splice_link(char **rem, const char *target, size_t tlen,
		       const char *rest)
{
	size_t rlen = strlen(rest);
	char *p;

	if (tlen + 1 + rlen >= FC_PATH_MAX)
		return -ENAMETOOLONG;
	p = malloc(tlen + rlen + 2);
	if (!p)
		return -ENOMEM;
	memcpy(p, target, tlen);
	p[tlen] = '/';
	memcpy(p + tlen + 1, rest, rlen + 1);
	if (!rlen)
		p[tlen] = '\0'; /* keep "no trailing slash" as given */
	free(*rem);
	*rem = p;
	return 0;
}

int fc_walk(struct vdax *vd, struct fc_node *start, const char *path,
	    int flags, struct fc_node **node, char name[FC_NAME_MAX + 1],
	    bool *must_dir)
{
	struct walk_stack st = { 0 };
	char linkbuf[FC_PATH_MAX];
	unsigned links = 0;
	char *rem = NULL;
	const char *p;
	int ret;

	if (!path)
		return -EFAULT;
	if (!*path)
		return -ENOENT;
	if (strnlen(path, FC_PATH_MAX) >= FC_PATH_MAX)
		return -ENAMETOOLONG;
	rem = strdup(path);
	if (!rem)
		return -ENOMEM;
	if (!start || path[0] == '/')
		start = vd->root;
	fc_node_get(vd, start);
	ret = stack_push(vd, &st, start);
	if (ret) {
		fc_node_put(vd, start);
		goto out;
	}
	p = rem;
	for (;;) {
		struct fc_node *cur = st.v[st.n - 1], *child;
		const char *comp, *rest;
		size_t len;
		bool last, slash;
		char cname[FC_NAME_MAX + 1];

		while (*p == '/')
			p++;
		if (!*p) {
			/* path ended on a directory ("/", "a/", "a/.") */
			if (flags & FC_WALK_PARENT) {
				ret = st.n == 1 ? -EBUSY : -EINVAL;
				goto out;
			}
			fc_node_get(vd, cur);
			*node = cur;
			ret = 0;
			goto out;
		}
		comp = p;
		while (*p && *p != '/')
			p++;
		len = p - comp;
		slash = *p == '/';
		rest = p;
		while (*rest == '/')
			rest++;
		last = !*rest;
		if (len > FC_NAME_MAX) {
			ret = -ENAMETOOLONG;
			goto out;
		}
		memcpy(cname, comp, len);
		cname[len] = '\0';
		/* "file/." and "file/.." fail like any "file/x" (ENOTDIR). */
		if (!S_ISDIR(fc_node_mode(vd, cur))) {
			ret = -ENOTDIR;
			goto out;
		}
		if (!strcmp(cname, ".") || !strcmp(cname, "..")) {
			if (last && (flags & FC_WALK_PARENT)) {
				ret = !strcmp(cname, ".") ? -EINVAL : -ENOTEMPTY;
				goto out;
			}
			if (cname[1] == '.') {
				ret = walk_dotdot(vd, &st);
				if (ret)
					goto out;
			}
			continue;
		}
		if (last && (flags & FC_WALK_PARENT)) {
			strcpy(name, cname);
			*must_dir = slash;
			fc_node_get(vd, cur);
			*node = cur;
			ret = 0;
			goto out;
		}
		ret = fc_lookup(vd, cur, cname, &child);
		if (ret)
			goto out;
		if (S_ISLNK(fc_node_mode(vd, child)) &&
		    (!last || slash || (flags & FC_WALK_FOLLOW))) {
			int n;

			if (++links > FC_MAXSYMLINKS) {
				fc_node_put(vd, child);
				ret = -ELOOP;
				goto out;
			}
			n = fc_readlink_node(vd, child, linkbuf,
					     sizeof(linkbuf) - 1);
			fc_node_put(vd, child);
			if (n < 0) {
				ret = n;
				goto out;
			}
			if (n == 0) {
				ret = -ENOENT;
				goto out;
			}
			if (linkbuf[0] == '/') {
				stack_reset(vd, &st, 0);
				fc_node_get(vd, vd->root);
				stack_push(vd, &st, vd->root); /* cap >= 1 */
			}
			/* keep a trailing slash of the original */
			ret = splice_link(&rem, linkbuf, n,
					  last && slash ? "/" : rest);
			if (ret)
				goto out;
			p = rem;
			continue;
		}
		if (last) {
			if (slash && !S_ISDIR(fc_node_mode(vd, child))) {
				fc_node_put(vd, child);
				ret = -ENOTDIR;
				goto out;
			}
			*node = child;
			ret = 0;
			goto out;
		}
		ret = stack_push(vd, &st, child);
		if (ret) {
			fc_node_put(vd, child);
			goto out;
		}
	}
out:
	stack_reset(vd, &st, 0);
	free(st.v);
	free(rem);
	return ret;
}

int fc_walk_node(struct vdax *vd, struct fc_node *start, const char *path,
		 int wflags, struct fc_node **n)
{
	char name[FC_NAME_MAX + 1];
	bool must_dir = false;

	if (!vd)
		return -EINVAL;
	if (vdx_dev_broken(vd->dev))
		return -ENOTCONN;
	return fc_walk(vd, start, path, wflags, n, name, &must_dir);
}

int fc_walk_parent(struct vdax *vd, struct fc_node *start, const char *path,
		   struct fc_node **dir, char name[FC_NAME_MAX + 1],
		   bool *must_dir)
{
	int ret;

	if (!vd)
		return -EINVAL;
	if (vdx_dev_broken(vd->dev))
		return -ENOTCONN;
	*must_dir = false;
	ret = fc_walk(vd, start, path, FC_WALK_PARENT, dir, name, must_dir);
	if (ret)
		return ret;
	if (!S_ISDIR(fc_node_mode(vd, *dir))) {
		fc_node_put(vd, *dir);
		return -ENOTDIR;
	}
	return 0;
}

/*
 * The backend no longer knows @n (it forgot the inode, or the inode is
 * gone): unhash its dentry so that the next walk through its name looks it
 * up afresh, as the kernel invalidates a dentry on -ESTALE. Whoever holds
 * @n keeps a node that answers -ESTALE.
 */
void fc_node_stale(struct vdax *vd, struct fc_node *n)
{
	if (n == vd->root)
		return;
	pthread_mutex_lock(&vd->cache_lock);
	attr_expire_locked(n);
	n->entry_expire = 0;
	unhash_dentry_locked(vd, n);
	pthread_mutex_unlock(&vd->cache_lock);
	fc_flush_forgets(vd);
}

void fc_node_put_forget(struct vdax *vd, struct fc_node *n)
{
	pthread_mutex_lock(&vd->cache_lock);
	/* ours and the dentry's only: nobody else will look it up here */
	if (n->hashed && n->refs == 2)
		unhash_dentry_locked(vd, n);
	node_put_locked(vd, n);
	pthread_mutex_unlock(&vd->cache_lock);
	fc_flush_forgets(vd);
}

void fc_cache_shrink_all(struct vdax *vd)
{
	bool again = true;

	pthread_mutex_lock(&vd->cache_lock);
	/* a parent becomes unused once its last child dentry goes */
	while (again) {
		again = false;
		for (unsigned b = 0; b < FC_HASH_BUCKETS; b++) {
			struct fc_node *n = vd->d_hash[b];

			while (n) {
				struct fc_node *next = n->d_next;

				if (n->refs == 1) {
					unhash_dentry_locked(vd, n);
					again = true;
				}
				n = next;
			}
		}
	}
	pthread_mutex_unlock(&vd->cache_lock);
	fc_flush_forgets(vd);
}

uint64_t fc_node_nlookup(struct vdax *vd, struct fc_node *n)
{
	uint64_t v;

	pthread_mutex_lock(&vd->cache_lock);
	v = n->nlookup;
	pthread_mutex_unlock(&vd->cache_lock);
	return v;
}
