// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * POSIX (fcntl) record locks with the semantics the guest relies on.
 *
 * A POSIX lock belongs to a process (the FUSE "lock owner"), and closing
 * any of that process's descriptors for the file releases all of its locks
 * on the file; the guest kernel turns that close into FLUSH{lock_owner}.
 * OFD locks on the handle's fd would tie locks to one handle instead, so a
 * close of another descriptor would release nothing. Instead each
 * (inode, lock owner) pair gets an open file description of its own, which
 * carries that owner's OFD locks; FLUSH with the owner closes it, releasing
 * exactly that owner's locks, and conflicts between owners are the kernel's
 * own OFD-lock conflicts.
 *
 * Lock order: fs->lock (handle lookups) is never taken with plock_lock held.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "passthrough/internal.h"

/* Owners × inodes with live locks; past it SETLK answers ENOLCK. */
#define PT_PLOCK_MAX 65536

struct pt_plock {
	uint64_t nodeid;       /* immutable */
	uint64_t owner;	       /* immutable: the FUSE lock owner */
	int fd;		       /* immutable: this owner's open file description */
	unsigned refs;	       /* protected by fs->plock_lock: 1 listed + 1 per user */
	struct pt_plock *next; /* protected by fs->plock_lock */
};

static struct pt_plock **plock_slot_locked(struct pt_fs *fs, uint64_t nodeid,
					   uint64_t owner)
{
	struct pt_plock **pp = &fs->plocks;

	while (*pp && !((*pp)->nodeid == nodeid && (*pp)->owner == owner))
		pp = &(*pp)->next;
	return pp;
}

static void plock_put(struct pt_fs *fs, struct pt_plock *p)
{
	bool last;

	pthread_mutex_lock(&fs->plock_lock);
	last = --p->refs == 0;
	pthread_mutex_unlock(&fs->plock_lock);
	if (last) {
		close(p->fd); /* releases whatever locks it still holds */
		free(p);
	}
}

/*
 * A new open file description of the handle's file, read-write when the
 * daemon may, else with the handle's own access mode: lock types are
 * checked against the guest's descriptor by the guest kernel already.
 */
static int reopen_for_locks(struct pt_fs *fs, int hfd)
{
	char name[16];
	int fd, fl;

	snprintf(name, sizeof(name), "%d", hfd);
	fd = openat(fs->opts.proc_self_fd, name, O_RDWR | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	fl = fcntl(hfd, F_GETFL);
	if (fl < 0)
		return -errno;
	fd = openat(fs->opts.proc_self_fd, name, (fl & O_ACCMODE) | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Find (and with @create, make) the owner's entry; a reference is taken. */
static int plock_get(struct pt_fs *fs, struct pt_handle *h, uint64_t nodeid,
		     uint64_t owner, bool create, struct pt_plock **out)
{
	struct pt_plock **pp, *p;
	int fd;

	pthread_mutex_lock(&fs->plock_lock);
	p = *plock_slot_locked(fs, nodeid, owner);
	if (p)
		p->refs++;
	pthread_mutex_unlock(&fs->plock_lock);
	if (p || !create) {
		*out = p;
		return p ? 0 : -ENOENT;
	}

	fd = reopen_for_locks(fs, h->fd);
	if (fd < 0)
		return fd;
	p = calloc(1, sizeof(*p));
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	*p = (struct pt_plock){ .nodeid = nodeid, .owner = owner, .fd = fd,
				.refs = 2 };
	pthread_mutex_lock(&fs->plock_lock);
	pp = plock_slot_locked(fs, nodeid, owner);
	if (*pp) { /* another request of this owner made it meanwhile */
		free(p);
		p = *pp;
		p->refs++;
		pthread_mutex_unlock(&fs->plock_lock);
		close(fd);
	} else if (fs->nplocks >= PT_PLOCK_MAX) {
		pthread_mutex_unlock(&fs->plock_lock);
		close(fd);
		free(p);
		return -ENOLCK;
	} else {
		*pp = p;
		fs->nplocks++;
		pthread_mutex_unlock(&fs->plock_lock);
	}
	*out = p;
	return 0;
}

int pt_getlk(struct pt_fs *fs, uint64_t nodeid, uint64_t fh, uint64_t owner,
	     struct flock *fl)
{
	struct pt_plock *p = NULL;
	struct pt_handle *h;
	int ret;

	ret = pt_handle_get(fs, nodeid, fh, false, &h);
	if (ret < 0)
		return ret;
	/* The owner's own locks never conflict: ask through its own fd. */
	plock_get(fs, h, nodeid, owner, false, &p);
	fl->l_pid = 0;
	ret = fcntl(p ? p->fd : h->fd, F_OFD_GETLK, fl) < 0 ? -errno : 0;
	if (p)
		plock_put(fs, p);
	pt_handle_put(fs, h);
	return ret;
}

int pt_setlk(struct pt_fs *fs, uint64_t nodeid, uint64_t fh, uint64_t owner,
	     const struct flock *fl, bool wait)
{
	struct flock l = *fl;
	struct pt_plock *p;
	struct pt_handle *h;
	int ret;

	ret = pt_handle_get(fs, nodeid, fh, false, &h);
	if (ret < 0)
		return ret;
	ret = plock_get(fs, h, nodeid, owner, l.l_type != F_UNLCK, &p);
	pt_handle_put(fs, h);
	if (ret == -ENOENT && l.l_type == F_UNLCK)
		return 0; /* the owner holds nothing here */
	if (ret < 0)
		return ret;
	l.l_pid = 0;
	if (fcntl(p->fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &l) < 0)
		ret = -errno;
	plock_put(fs, p);
	return ret;
}

int pt_flush(struct pt_fs *fs, uint64_t nodeid, uint64_t fh, uint64_t owner)
{
	struct pt_plock **pp, *p;
	struct pt_handle *h;
	int ret;

	ret = pt_handle_get(fs, nodeid, fh, false, &h);
	if (ret < 0)
		return ret;
	pt_handle_put(fs, h);
	pthread_mutex_lock(&fs->plock_lock);
	pp = plock_slot_locked(fs, nodeid, owner);
	p = *pp;
	if (p) {
		*pp = p->next;
		fs->nplocks--;
	}
	pthread_mutex_unlock(&fs->plock_lock);
	if (p)
		plock_put(fs, p); /* the list's reference: closes, unlocks */
	return 0;
}

void pt_locks_reset(struct pt_fs *fs)
{
	struct pt_plock *p, *next;

	pthread_mutex_lock(&fs->plock_lock);
	p = fs->plocks;
	fs->plocks = NULL;
	fs->nplocks = 0;
	pthread_mutex_unlock(&fs->plock_lock);
	for (; p; p = next) {
		next = p->next;
		plock_put(fs, p);
	}
}
