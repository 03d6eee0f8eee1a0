// SPDX-License-Identifier: GPL-2.0-or-later
/* Split virtqueue walking and notification decisions on a fake memory table. */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "common/log.h"
#include "vhost/mem.h"
#include "vhost/virtq.h"

#define RAM_SIZE (1u << 20)
#define HALF (RAM_SIZE / 2)
#define UVA_BASE 0x7f0000000000ull
#define NUM 16
#define DESC_GPA 0x0
#define AVAIL_GPA 0x1000
#define USED_GPA 0x2000
#define IND_GPA 0x4000
#define DATA_GPA 0x10000

static uint8_t *ram;
static struct vu_mem *mem;
static struct vq vq;
static uint16_t avail_idx;

static struct vring_desc *desc_at(uint64_t gpa)
{
	return (struct vring_desc *)(ram + gpa);
}

static void set_desc(struct vring_desc *t, unsigned i, uint64_t addr,
		     uint32_t len, uint16_t flags, uint16_t next)
{
	t[i].addr = htole64(addr);
	t[i].len = htole32(len);
	t[i].flags = htole16(flags);
	t[i].next = htole16(next);
}

static struct vring_avail *avail(void)
{
	return (struct vring_avail *)(ram + AVAIL_GPA);
}

static struct vring_used *used(void)
{
	return (struct vring_used *)(ram + USED_GPA);
}

static void publish(uint16_t head)
{
	avail()->ring[avail_idx % NUM] = htole16(head);
	avail_idx++;
	__atomic_store_n(&avail()->idx, htole16(avail_idx), __ATOMIC_RELEASE);
}

static void setup(bool event_idx, bool indirect)
{
	if (vq.scratch) {
		vq_wait_idle(&vq);
		pthread_mutex_lock(&vq.lock);
		vq_unmap_rings_locked(&vq);
		pthread_mutex_unlock(&vq.lock);
		vq_destroy(&vq);
	}
	memset(ram, 0, RAM_SIZE);
	avail_idx = 0;
	if (vq_init(&vq))
		tap_bail("vq_init");
	vq.num = NUM;
	vq.desc_uva = UVA_BASE + DESC_GPA;
	vq.avail_uva = UVA_BASE + AVAIL_GPA;
	vq.used_uva = UVA_BASE + USED_GPA;
	vq.event_idx = event_idx;
	vq.indirect = indirect;
	pthread_mutex_lock(&vq.lock);
	if (vq_map_rings_locked(&vq, mem))
		tap_bail("map rings");
	vq_start_locked(&vq);
	pthread_mutex_unlock(&vq.lock);
}

/* Pop one element; returns it (or NULL) and the pop result in *rc. */
static struct vq_elem *pop(int *rc)
{
	struct vq_elem *e = NULL;

	*rc = vq_pop(&vq, &e);
	return *rc ? NULL : e;
}

static void expect_bad(const char *what)
{
	int rc;
	struct vq_elem *e = pop(&rc);
	uint16_t before = le16toh(used()->idx);

	is_int(rc, 0, "%s: popped", what);
	ok(e && e->bad, "%s: marked bad", what);
	if (e)
		vq_push(&vq, e, 0);
	is_int(le16toh(used()->idx), (uint16_t)(before + 1), "%s: pushed used", what);
	is_int(le32toh(used()->ring[(uint16_t)(before) % NUM].len), 0,
	       "%s: used len 0", what);
}

static void test_simple(void)
{
	struct vring_desc *d = desc_at(DESC_GPA);
	struct vq_elem *e;
	int rc;

	setup(false, false);
	e = pop(&rc);
	is_int(rc, -EAGAIN, "empty ring: -EAGAIN");

	set_desc(d, 0, DATA_GPA, 40, VRING_DESC_F_NEXT, 1);
	set_desc(d, 1, DATA_GPA + 100, 8, VRING_DESC_F_NEXT, 5);
	set_desc(d, 5, DATA_GPA + 200, 64, VRING_DESC_F_WRITE, 0);
	publish(0);
	e = pop(&rc);
	is_int(rc, 0, "simple chain pops");
	if (!e)
		return;
	ok(!e->bad, "simple chain is good");
	is_int(e->head, 0, "head id");
	is_int(e->rd_cnt, 2, "two readable iovecs");
	is_int(e->wr_cnt, 1, "one writable iovec");
	ok(e->iov[0].iov_base == ram + DATA_GPA && e->iov[0].iov_len == 40,
	   "first iovec points into guest RAM");
	ok(e->iov[2].iov_base == ram + DATA_GPA + 200 && e->iov[2].iov_len == 64,
	   "writable iovec");
	is_int(vq.inflight, 1, "one in flight");
	vq_push(&vq, e, 17);
	is_int(le16toh(used()->idx), 1, "used idx advanced");
	is_int(le32toh(used()->ring[0].id), 0, "used id");
	is_int(le32toh(used()->ring[0].len), 17, "used len");
	is_int(vq.inflight, 0, "none in flight");
}

static void test_split_regions(void)
{
	struct vring_desc *d = desc_at(DESC_GPA);
	struct vq_elem *e;
	int rc;

	setup(false, false);
	set_desc(d, 0, HALF - 10, 30, 0, 0);
	publish(0);
	e = pop(&rc);
	ok(e && !e->bad && e->rd_cnt == 2, "descriptor across a region end splits into 2 iovecs");
	if (e) {
		ok(e->iov[0].iov_len == 10 && e->iov[1].iov_len == 20,
		   "split lengths 10 + 20");
		vq_push(&vq, e, 0);
	}
}

static void test_indirect(void)
{
	struct vring_desc *d = desc_at(DESC_GPA), *t = desc_at(IND_GPA);
	struct vq_elem *e;
	int rc;

	setup(false, true);
	set_desc(t, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(t, 1, DATA_GPA + 64, 16, VRING_DESC_F_NEXT, 2);
	set_desc(t, 2, DATA_GPA + 128, 100, VRING_DESC_F_WRITE, 0);
	set_desc(d, 3, IND_GPA, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	publish(3);
	e = pop(&rc);
	ok(e && !e->bad, "indirect chain pops");
	if (e) {
		is_int(e->head, 3, "indirect head id");
		is_int(e->rd_cnt, 2, "indirect: 2 readable");
		is_int(e->wr_cnt, 1, "indirect: 1 writable");
		vq_push(&vq, e, 3);
	}

	/* Without the feature an indirect descriptor is malformed. */
	setup(false, false);
	set_desc(t, 0, DATA_GPA, 16, 0, 0);
	set_desc(d, 0, IND_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	expect_bad("indirect without INDIRECT_DESC");

	setup(false, true);
	set_desc(t, 0, IND_GPA + 256, 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(d, 0, IND_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	expect_bad("nested indirect");

	set_desc(d, 1, IND_GPA, 24, VRING_DESC_F_INDIRECT, 0);
	publish(1);
	expect_bad("indirect length not a multiple of 16");

	set_desc(d, 2, HALF - 16, 32, VRING_DESC_F_INDIRECT, 0);
	publish(2);
	expect_bad("indirect table across a region end");

	set_desc(d, 4, IND_GPA, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 5);
	publish(4);
	expect_bad("indirect with NEXT");

	/* A loop inside an indirect table. */
	set_desc(t, 0, DATA_GPA, 8, VRING_DESC_F_NEXT, 1);
	set_desc(t, 1, DATA_GPA, 8, VRING_DESC_F_NEXT, 0);
	set_desc(d, 6, IND_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	publish(6);
	expect_bad("loop in an indirect table");

	/* More iovecs than the cap: 1025 one-byte descriptors. */
	for (unsigned i = 0; i < VQ_MAX_IOV + 1; i++)
		set_desc(t, i, DATA_GPA + i, 1, VRING_DESC_F_NEXT, (uint16_t)(i + 1));
	t[VQ_MAX_IOV].flags = 0;
	set_desc(d, 7, IND_GPA, (VQ_MAX_IOV + 1) * 16, VRING_DESC_F_INDIRECT, 0);
	publish(7);
	expect_bad("more than VQ_MAX_IOV iovecs");
	/* Exactly at the cap is fine. */
	t[VQ_MAX_IOV - 1].flags = 0;
	set_desc(d, 8, IND_GPA, VQ_MAX_IOV * 16, VRING_DESC_F_INDIRECT, 0);
	publish(8);
	e = pop(&rc);
	ok(e && !e->bad && e->rd_cnt == VQ_MAX_IOV, "exactly VQ_MAX_IOV iovecs is fine");
	if (e)
		vq_push(&vq, e, 0);
}

static void test_malformed(void)
{
	struct vring_desc *d = desc_at(DESC_GPA);
	struct vq_elem *e;
	int rc;

	setup(false, false);
	set_desc(d, 0, DATA_GPA, 8, VRING_DESC_F_NEXT, 1);
	set_desc(d, 1, DATA_GPA, 8, VRING_DESC_F_NEXT, 0);
	publish(0);
	expect_bad("looped chain");

	/* Every descriptor chained: longer than the queue. */
	for (unsigned i = 0; i < NUM; i++)
		set_desc(d, i, DATA_GPA, 8, VRING_DESC_F_NEXT, (uint16_t)((i + 1) % NUM));
	publish(0);
	expect_bad("chain longer than the queue");

	set_desc(d, 2, DATA_GPA, 8, VRING_DESC_F_NEXT, NUM);
	publish(2);
	expect_bad("next out of range");

	set_desc(d, 3, RAM_SIZE + 4096, 8, 0, 0);
	publish(3);
	expect_bad("address outside guest memory");

	set_desc(d, 4, RAM_SIZE - 4, 8, 0, 0);
	publish(4);
	expect_bad("descriptor running past the end of memory");

	set_desc(d, 5, 0xffffffffffffff00ull, 0x200, 0, 0);
	publish(5);
	expect_bad("overflowing address + length");

	set_desc(d, 6, DATA_GPA, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 7);
	set_desc(d, 7, DATA_GPA, 8, 0, 0);
	publish(6);
	expect_bad("readable after writable");

	/* The queue goes on after all that. */
	set_desc(d, 8, DATA_GPA, 0, VRING_DESC_F_NEXT, 9);
	set_desc(d, 9, DATA_GPA, 8, VRING_DESC_F_WRITE, 0);
	publish(8);
	e = pop(&rc);
	ok(e && !e->bad, "zero-length descriptor accepted, queue still serving");
	if (e) {
		is_int(e->rd_cnt, 0, "zero-length descriptor gives no iovec");
		is_int(e->wr_cnt, 1, "writable one still there");
		vq_push(&vq, e, 0);
	}

	/* A head out of range breaks the queue: no id to push back. */
	publish(NUM + 3);
	pop(&rc);
	is_int(rc, -EIO, "head out of range: queue broken");
	ok(vq.broken, "broken flag set");

	setup(false, false);
	avail_idx = NUM + 1;
	__atomic_store_n(&avail()->idx, htole16(avail_idx), __ATOMIC_RELEASE);
	pop(&rc);
	is_int(rc, -EIO, "avail idx jumping past the ring size breaks the queue");
}

static void test_event_idx(void)
{
	struct vring_desc *d = desc_at(DESC_GPA);
	uint16_t *used_event = &avail()->ring[NUM];
	uint16_t *avail_event = (uint16_t *)&used()->ring[NUM];
	struct vq_elem *e[3];
	int rc;

	setup(true, false);
	for (unsigned i = 0; i < 3; i++) {
		set_desc(d, i, DATA_GPA, 8, VRING_DESC_F_WRITE, 0);
		publish((uint16_t)i);
		e[i] = pop(&rc);
		if (!e[i])
			tap_bail("pop for event idx");
	}
	ok(vq_push(&vq, e[0], 1), "first push always notifies");
	*used_event = htole16(1); /* driver: tell me when used idx passes 1 */
	ok(vq_push(&vq, e[1], 1), "used idx 1 -> 2 crosses used_event 1: notify");
	*used_event = htole16(10);
	ok(!vq_push(&vq, e[2], 1), "used_event 10 not crossed: no notify");

	ok(!vq_enable_notify(&vq), "nothing new after enabling notifications");
	is_int(le16toh(*avail_event), 3, "avail_event = last_avail_idx");
	publish(0);
	ok(vq_enable_notify(&vq), "new buffer seen when re-enabling");

	setup(false, false);
	for (unsigned i = 0; i < 2; i++) {
		set_desc(d, i, DATA_GPA, 8, VRING_DESC_F_WRITE, 0);
		publish((uint16_t)i);
		e[i] = pop(&rc);
		if (!e[i])
			tap_bail("pop for no-interrupt");
	}
	avail()->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	ok(!vq_push(&vq, e[0], 1), "NO_INTERRUPT suppresses the call");
	avail()->flags = 0;
	ok(vq_push(&vq, e[1], 1), "without NO_INTERRUPT: call");
	vq_disable_notify(&vq);
	ok(le16toh(used()->flags) & VRING_USED_F_NO_NOTIFY, "disable sets NO_NOTIFY");
	vq_enable_notify(&vq);
	ok(!(le16toh(used()->flags) & VRING_USED_F_NO_NOTIFY), "enable clears NO_NOTIFY");
}

static void test_mem(void)
{
	struct vu_mem *m = vu_mem_new();
	uint64_t len = 100;
	struct iovec iov[2];
	unsigned n = 0;

	ok(m && !vu_mem_add_host(m, 0x1000, 0x1000, 0x5000, ram), "add region");
	ok(vu_mem_add_host(m, 0x1800, 0x1000, 0x9000, ram) == -EINVAL, "overlap rejected");
	ok(vu_mem_add_host(m, UINT64_MAX - 10, 0x100, 0, ram) == -EINVAL,
	   "wrapping region rejected");
	ok(vu_mem_gpa_to_host(m, 0x1fff, &len) == ram + 0xfff && len == 1,
	   "gpa translation clamps at the region end");
	ok(!vu_mem_uva_to_host(m, 0x5f00, 0x200), "uva range past the end rejected");
	ok(vu_mem_uva_to_host(m, 0x5f00, 0x100) == ram + 0xf00, "uva translation");
	ok(vu_mem_map_iov(m, 0x1f00, 0x200, iov, &n, 2) == -EFAULT, "hole after region: -EFAULT");
	vu_mem_put(m);
}

int main(void)
{
	vlog_set_level(VLOG_LVL_ERR);
	ram = aligned_alloc(4096, RAM_SIZE);
	mem = vu_mem_new();
	if (!ram || !mem)
		tap_bail("alloc");
	if (vu_mem_add_host(mem, 0, HALF, UVA_BASE, ram) ||
	    vu_mem_add_host(mem, HALF, HALF, UVA_BASE + HALF, ram + HALF))
		tap_bail("fake memory table");
	test_mem();
	test_simple();
	test_split_regions();
	test_indirect();
	test_malformed();
	test_event_idx();
	vq_wait_idle(&vq);
	pthread_mutex_lock(&vq.lock);
	vq_unmap_rings_locked(&vq);
	pthread_mutex_unlock(&vq.lock);
	vq_destroy(&vq);
	vu_mem_put(mem);
	free(ram);
	return tap_done();
}
