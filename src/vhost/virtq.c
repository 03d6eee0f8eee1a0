// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Split virtqueue, device side: see virtq.h.
 *
 * Locking: vq->lock protects the ring pointers and indices. It is a leaf
 * lock: nothing else is taken while it is held (the backend takes it inside
 * its own connection lock, never the other way round).
 *
 * Ring memory is shared with a driver that may be hostile. Ring fields are
 * accessed with __atomic loads/stores so that the compiler reads each once;
 * descriptors are copied out once before they are looked at.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "vhost/virtq.h"

int vq_init(struct vq *vq)
{
	memset(vq, 0, sizeof(*vq));
	vq->scratch = calloc(VQ_MAX_IOV, sizeof(*vq->scratch));
	if (!vq->scratch)
		return -ENOMEM;
	pthread_mutex_init(&vq->lock, NULL);
	pthread_cond_init(&vq->idle, NULL);
	return 0;
}

void vq_destroy(struct vq *vq)
{
	vq_unmap_rings_locked(vq);
	free(vq->scratch);
	vq->scratch = NULL;
	pthread_cond_destroy(&vq->idle);
	pthread_mutex_destroy(&vq->lock);
}

bool vq_size_valid(unsigned num)
{
	return num && num <= VQ_MAX_SIZE && !(num & (num - 1));
}

static size_t avail_bytes(const struct vq *vq)
{
	/* flags, idx, ring[num], used_event (only with EVENT_IDX) */
	return 4 + 2 * (size_t)vq->num + (vq->event_idx ? 2 : 0);
}

static size_t used_bytes(const struct vq *vq)
{
	/* flags, idx, ring[num], avail_event (only with EVENT_IDX) */
	return 4 + sizeof(struct vring_used_elem) * (size_t)vq->num +
	       (vq->event_idx ? 2 : 0);
}

int vq_map_rings_locked(struct vq *vq, struct vu_mem *mem)
{
	void *d, *a, *u;

	if (!vq_size_valid(vq->num) || !mem)
		return -EINVAL;
	d = vu_mem_uva_to_host(mem, vq->desc_uva,
			       sizeof(struct vring_desc) * (uint64_t)vq->num);
	a = vu_mem_uva_to_host(mem, vq->avail_uva, avail_bytes(vq));
	u = vu_mem_uva_to_host(mem, vq->used_uva, used_bytes(vq));
	if (!d || !a || !u)
		return -EFAULT;
	/* We access ring fields atomically: they must be naturally aligned. */
	if ((uintptr_t)d % 16 || (uintptr_t)a % 2 || (uintptr_t)u % 4)
		return -EINVAL;
	vu_mem_get(mem);
	vq_unmap_rings_locked(vq);
	vq->mem = mem;
	vq->desc = d;
	vq->avail = a;
	vq->used = u;
	return 0;
}

void vq_unmap_rings_locked(struct vq *vq)
{
	vu_mem_put(vq->mem);
	vq->mem = NULL;
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
}

void vq_start_locked(struct vq *vq)
{
	vq->broken = false;
	vq->signalled_used_valid = false;
	if (vq->used)
		vq->used_idx = le16toh(
			__atomic_load_n(&vq->used->idx, __ATOMIC_RELAXED));
}

static uint16_t read_avail_idx(const struct vq *vq)
{
	/*
	 * Acquire: the ring entries and descriptors the driver filled in
	 * before publishing this index are visible once we see it. Pairs
	 * with the driver's write barrier before its avail->idx store.
	 */
	return le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE));
}

struct walk {
	unsigned n;	/* iovecs used in vq->scratch */
	unsigned rd;	/* of which device-readable */
	bool writable;	/* seen a device-writable descriptor */
};

static int walk_desc(struct vq *vq, struct walk *w, uint64_t addr,
		     uint32_t len, uint16_t flags)
{
	unsigned before = w->n;
	int rc;

	if (flags & VRING_DESC_F_WRITE) {
		w->writable = true;
	} else if (w->writable) {
		VLOG_WARN("vq: device-readable descriptor after a writable one");
		return -EBADMSG;
	}
	rc = vu_mem_map_iov(vq->mem, addr, len, vq->scratch, &w->n, VQ_MAX_IOV);
	if (rc == -E2BIG) {
		VLOG_WARN("vq: chain needs more than %u iovecs", VQ_MAX_IOV);
		return -EBADMSG;
	}
	if (rc) {
		VLOG_WARN("vq: descriptor 0x%llx+%u is not in guest memory",
			  (unsigned long long)addr, len);
		return -EBADMSG;
	}
	if (!w->writable)
		w->rd += w->n - before;
	return 0;
}

/* Look up an indirect table; it must lie whole in one region. */
static const struct vring_desc *indirect_table(struct vq *vq, uint64_t addr,
					       uint32_t len, unsigned *max)
{
	const void *t;

	if (!vq->indirect) {
		VLOG_WARN("vq: indirect descriptor without INDIRECT_DESC");
		return NULL;
	}
	if (!len || len % sizeof(struct vring_desc) ||
	    len / sizeof(struct vring_desc) > VQ_MAX_SIZE) {
		VLOG_WARN("vq: bad indirect table length %u", len);
		return NULL;
	}
	t = vu_mem_gpa_to_host_whole(vq->mem, addr, len);
	if (!t) {
		VLOG_WARN("vq: indirect table 0x%llx+%u not in one region",
			  (unsigned long long)addr, len);
		return NULL;
	}
	*max = len / sizeof(struct vring_desc);
	return t;
}

/* Walk the chain at @head into vq->scratch. -EBADMSG if malformed. */
static int walk_chain(struct vq *vq, uint16_t head, struct walk *w)
{
	const struct vring_desc *table = vq->desc;
	unsigned max = vq->num, count = 0, i = head;
	bool in_indirect = false;

	for (;;) {
		struct vring_desc d;
		uint64_t addr;
		uint32_t len;
		uint16_t flags, next;
		int rc;

		/* A chain can't be longer than its table: longer means a loop. */
		if (++count > max) {
			VLOG_WARN("vq: looped or overlong chain at head %u", head);
			return -EBADMSG;
		}
		/* Copy once: the driver can rewrite the descriptor under us. */
		memcpy(&d, &table[i], sizeof(d));
		addr = le64toh(d.addr);
		len = le32toh(d.len);
		flags = le16toh(d.flags);
		next = le16toh(d.next);

		if (flags & VRING_DESC_F_INDIRECT) {
			if (in_indirect) {
				VLOG_WARN("vq: nested indirect descriptor");
				return -EBADMSG;
			}
			if (flags & VRING_DESC_F_NEXT) {
				VLOG_WARN("vq: indirect descriptor with NEXT");
				return -EBADMSG;
			}
			table = indirect_table(vq, addr, len, &max);
			if (!table)
				return -EBADMSG;
			in_indirect = true;
			count = 0;
			i = 0;
			continue;
		}
		rc = walk_desc(vq, w, addr, len, flags);
		if (rc)
			return rc;
		if (!(flags & VRING_DESC_F_NEXT))
			return 0;
		if (next >= max) {
			VLOG_WARN("vq: descriptor next %u out of range", next);
			return -EBADMSG;
		}
		i = next;
	}
}

static struct vq_elem *make_elem(struct vq *vq, uint16_t head,
				 const struct walk *w, bool bad)
{
	unsigned n = bad ? 0 : w->n;
	struct vq_elem *e = malloc(sizeof(*e) + n * sizeof(struct iovec));

	if (!e)
		return NULL;
	e->head = head;
	e->bad = bad;
	e->rd_cnt = bad ? 0 : w->rd;
	e->wr_cnt = n - e->rd_cnt;
	if (n)
		memcpy(e->iov, vq->scratch, n * sizeof(struct iovec));
	e->mem = vq->mem;
	vu_mem_get(e->mem);
	return e;
}

int vq_pop(struct vq *vq, struct vq_elem **out)
{
	struct walk w = { 0 };
	struct vq_elem *e;
	uint16_t avail_idx, head;
	int rc = 0;

	pthread_mutex_lock(&vq->lock);
	if (!vq->avail || vq->broken) {
		rc = -EIO;
		goto out;
	}
	avail_idx = read_avail_idx(vq);
	if ((uint16_t)(avail_idx - vq->last_avail_idx) > vq->num) {
		VLOG_ERR("vq: avail idx %u moved more than %u past %u: queue broken",
			 avail_idx, vq->num, vq->last_avail_idx);
		vq->broken = true;
		rc = -EIO;
		goto out;
	}
	if (avail_idx == vq->last_avail_idx) {
		rc = -EAGAIN;
		goto out;
	}
	head = le16toh(__atomic_load_n(&vq->avail->ring[vq->last_avail_idx % vq->num],
				       __ATOMIC_RELAXED));
	if (head >= vq->num) {
		/* No id we could push back: the driver must reset the queue. */
		VLOG_ERR("vq: head %u out of range: queue broken", head);
		vq->broken = true;
		rc = -EIO;
		goto out;
	}
	vq->last_avail_idx++;
	rc = walk_chain(vq, head, &w);
	e = make_elem(vq, head, &w, rc != 0);
	if (!e) {
		/* Leave it available: the next kick retries it. */
		vq->last_avail_idx--;
		rc = -ENOMEM;
		goto out;
	}
	rc = 0;
	vq->inflight++;
	*out = e;
out:
	pthread_mutex_unlock(&vq->lock);
	return rc;
}

/* used_event lives just past the avail ring. */
uint16_t vq_used_event_locked(const struct vq *vq)
{
	if (!vq->avail || !vq->event_idx)
		return 0;
	return le16toh(__atomic_load_n(&vq->avail->ring[vq->num],
				       __ATOMIC_RELAXED));
}

static bool should_notify_locked(struct vq *vq)
{
	uint16_t old, new, event;
	bool valid;

	/*
	 * Full barrier: our used->idx store must be visible before we read
	 * the driver's used_event / flags. Pairs with the driver's barrier
	 * between writing used_event (or clearing NO_INTERRUPT) and
	 * re-reading used->idx, so one of us always sees the other.
	 */
	vq_mb();
	if (!vq->event_idx)
		return !(le16toh(__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED)) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	old = vq->signalled_used;
	valid = vq->signalled_used_valid;
	new = vq->used_idx;
	vq->signalled_used = new;
	vq->signalled_used_valid = true;
	if (!valid)
		return true;
	event = vq_used_event_locked(vq);
	return vring_need_event(event, new, old);
}

bool vq_owed_notify_locked(struct vq *vq)
{
	uint16_t event;

	if (!vq->avail || !vq->used)
		return false;
	vq_mb(); /* as should_notify_locked(): read the driver's fields fresh */
	if (!vq->event_idx)
		return vq->used_idx != 0 &&
		       !(le16toh(__atomic_load_n(&vq->avail->flags,
						 __ATOMIC_RELAXED)) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	/*
	 * The driver has asked to hear of completions past used_event; if
	 * used->idx is past it, one was due (and may have gone to the old
	 * call fd). A driver that has caught up moved used_event to where
	 * it stopped reading, and is owed nothing.
	 */
	event = vq_used_event_locked(vq);
	return (uint16_t)(vq->used_idx - event - 1) < 0x8000;
}

bool vq_push(struct vq *vq, struct vq_elem *elem, uint32_t len)
{
	bool notify = false;

	pthread_mutex_lock(&vq->lock);
	if (vq->used) {
		struct vring_used_elem *ue =
			&vq->used->ring[vq->used_idx % vq->num];

		__atomic_store_n(&ue->id, htole32(elem->head), __ATOMIC_RELAXED);
		__atomic_store_n(&ue->len, htole32(len), __ATOMIC_RELAXED);
		vq->used_idx++;
		/*
		 * Release: the used element and the reply bytes the worker
		 * wrote are visible before the new used->idx. Pairs with the
		 * driver's read barrier after it loads used->idx.
		 */
		__atomic_store_n(&vq->used->idx, htole16(vq->used_idx),
				 __ATOMIC_RELEASE);
		notify = should_notify_locked(vq);
	}
	if (vq->inflight && !--vq->inflight)
		pthread_cond_broadcast(&vq->idle);
	pthread_mutex_unlock(&vq->lock);
	vu_mem_put(elem->mem);
	free(elem);
	return notify;
}

bool vq_enable_notify(struct vq *vq)
{
	bool more = false;

	pthread_mutex_lock(&vq->lock);
	if (!vq->avail || vq->broken)
		goto out;
	if (vq->event_idx) {
		/* avail_event lives just past the used ring. */
		uint16_t *ev = (uint16_t *)&vq->used->ring[vq->num];

		__atomic_store_n(ev, htole16(vq->last_avail_idx), __ATOMIC_RELAXED);
	} else {
		uint16_t f = le16toh(__atomic_load_n(&vq->used->flags, __ATOMIC_RELAXED));

		__atomic_store_n(&vq->used->flags,
				 htole16(f & ~VRING_USED_F_NO_NOTIFY), __ATOMIC_RELAXED);
	}
	/*
	 * Full barrier: publish avail_event / the cleared flag before we
	 * look at avail->idx again. Pairs with the driver's barrier between
	 * its avail->idx store and its read of avail_event / used->flags:
	 * either it sees our update and kicks, or we see its buffer here.
	 */
	vq_mb();
	more = read_avail_idx(vq) != vq->last_avail_idx;
out:
	pthread_mutex_unlock(&vq->lock);
	return more;
}

void vq_disable_notify(struct vq *vq)
{
	pthread_mutex_lock(&vq->lock);
	/* With EVENT_IDX the driver only kicks when it passes avail_event,
	 * which we leave behind while busy: nothing to do. */
	if (vq->used && !vq->event_idx) {
		uint16_t f = le16toh(__atomic_load_n(&vq->used->flags, __ATOMIC_RELAXED));

		__atomic_store_n(&vq->used->flags, htole16(f | VRING_USED_F_NO_NOTIFY),
				 __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&vq->lock);
}

void vq_wait_idle(struct vq *vq)
{
	pthread_mutex_lock(&vq->lock);
	while (vq->inflight)
		pthread_cond_wait(&vq->idle, &vq->lock);
	pthread_mutex_unlock(&vq->lock);
}
