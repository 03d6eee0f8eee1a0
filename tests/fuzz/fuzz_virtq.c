// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz-virtq: the split-virtqueue chain walker (src/vhost/virtq.c).
 *
 * Guest memory is three regions, each its own heap block of exactly its
 * size (so ASan sees any access past a region), with a hole between the
 * second and the third:
 *
 *   gpa 0x00000 .. 0x08000   region 0
 *   gpa 0x08000 .. 0x10000   region 1 (adjacent: chains split across it)
 *   gpa 0x20000 .. 0x21000   region 2
 *
 * Frontend-virtual addresses are gpa + UVA_OFF (the rings are given as
 * those, descriptors as gpa, as in vhost-user).
 *
 * Input: byte 0 = ring size (1 << (bits 0-3 % 9)), bit 4 INDIRECT_DESC,
 * bit 5 EVENT_IDX, bits 6-7 where the rings are; bytes 1-2 = the device's
 * last_avail_idx; the rest is copied into guest memory from gpa 0 on
 * (descriptor table, avail ring, indirect tables, ...). Every chain is
 * popped, its iovecs checked to lie inside one region (a harness invariant:
 * abort if not), touched (read the readable part, fill the writable part),
 * and pushed back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "vhost/mem.h"
#include "vhost/virtq.h"

#define UVA_OFF 0x7f0000000000ull
#define NREG 3

static const struct {
	uint64_t gpa, size;
} layout[NREG] = {
	{ 0x00000, 0x8000 },
	{ 0x08000, 0x8000 },
	{ 0x20000, 0x1000 },
};

static uint8_t *host[NREG];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_log_setup();
	for (unsigned i = 0; i < NREG; i++) {
		host[i] = malloc(layout[i].size);
		if (!host[i])
			fz_die("malloc");
	}
	return 0;
}

static void fill_memory(const uint8_t *data, size_t size)
{
	for (unsigned i = 0; i < NREG; i++) {
		size_t n = 0;

		/* Regions 0 and 1 are contiguous in gpa; region 2 follows them. */
		if (size) {
			n = size < layout[i].size ? size : layout[i].size;
			memcpy(host[i], data, n);
			data += n;
			size -= n;
		}
		memset(host[i] + n, 0, layout[i].size - n);
	}
}

/* Which region (if any) holds all of [p, p + len). */
static bool in_one_region(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (unsigned i = 0; i < NREG; i++) {
		if (b >= host[i] && b <= host[i] + layout[i].size &&
		    len <= (size_t)(host[i] + layout[i].size - b))
			return true;
	}
	return false;
}

static void check_elem(const struct vq *vq, const struct vq_elem *e)
{
	volatile uint8_t sink = 0;

	if (e->head >= vq->num)
		fz_die("head %u out of a ring of %u", e->head, vq->num);
	if (e->bad) {
		if (e->rd_cnt || e->wr_cnt)
			fz_die("bad element with %u+%u iovecs", e->rd_cnt, e->wr_cnt);
		return;
	}
	if (e->rd_cnt + e->wr_cnt > VQ_MAX_IOV)
		fz_die("%u+%u iovecs, more than VQ_MAX_IOV", e->rd_cnt, e->wr_cnt);
	for (unsigned i = 0; i < e->rd_cnt + e->wr_cnt; i++) {
		const struct iovec *v = &e->iov[i];

		if (!in_one_region(v->iov_base, v->iov_len))
			fz_die("iovec %u (%p+%zu) is outside guest memory", i,
			       v->iov_base, v->iov_len);
		if (v->iov_len == 0)
			continue;
		if (i < e->rd_cnt) {
			const uint8_t *b = v->iov_base;

			sink ^= b[0];
			sink ^= b[v->iov_len - 1];
		} else {
			memset(v->iov_base, 0xa5, v->iov_len);
		}
	}
	(void)sink;
}

static uint64_t wr_bytes(const struct vq_elem *e)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < e->wr_cnt; i++)
		n += e->iov[e->rd_cnt + i].iov_len;
	return n;
}

static void place_rings(struct vq *vq, unsigned where)
{
	uint64_t desc = 0, avail, used;
	uint64_t dsz = 16ull * vq->num, asz = 6 + 2ull * vq->num;

	switch (where) {
	case 0: /* packed at the start of region 0, like a driver would */
	default:
		avail = desc + dsz;
		used = (avail + asz + 3) & ~3ull;
		break;
	case 1: /* descriptors in region 0, avail and used in region 1 */
		avail = 0x8000;
		used = 0x8000 + ((asz + 3) & ~3ull);
		break;
	case 2: /* descriptors in the small region (do not fit past 256) */
		desc = 0x20000;
		avail = dsz;
		used = (avail + asz + 3) & ~3ull;
		break;
	}
	vq->desc_uva = desc + UVA_OFF;
	vq->avail_uva = avail + UVA_OFF;
	vq->used_uva = used + UVA_OFF;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct vq_elem *popped[256 + 1];
	unsigned npopped = 0;
	struct vu_mem *mem;
	struct vq vq;
	uint8_t cfg = fz_u8(&in);
	uint16_t base = fz_u16(&in);
	int rc;

	fill_memory(in.p, in.left);
	mem = vu_mem_new();
	if (!mem)
		fz_die("vu_mem_new");
	for (unsigned i = 0; i < NREG; i++) {
		if (vu_mem_add_host(mem, layout[i].gpa, layout[i].size,
				    layout[i].gpa + UVA_OFF, host[i]))
			fz_die("vu_mem_add_host");
	}
	if (vq_init(&vq))
		fz_die("vq_init");

	pthread_mutex_lock(&vq.lock);
	vq.num = 1u << ((cfg & 0xf) % 9);
	vq.indirect = cfg & 0x10;
	vq.event_idx = cfg & 0x20;
	place_rings(&vq, cfg >> 6);
	rc = vq_map_rings_locked(&vq, mem);
	if (rc == 0) {
		vq_start_locked(&vq);
		vq.last_avail_idx = base;
	}
	pthread_mutex_unlock(&vq.lock);
	vu_mem_put(mem); /* the ring holds its own reference */

	for (int pass = 0; rc == 0 && pass < 2; pass++) {
		struct vq_elem *e;

		vq_disable_notify(&vq);
		while ((rc = vq_pop(&vq, &e)) == 0) {
			if (npopped >= sizeof(popped) / sizeof(popped[0]))
				fz_die("popped more chains than the ring has");
			check_elem(&vq, e);
			popped[npopped++] = e;
		}
		if (rc != -EAGAIN && rc != -EIO)
			fz_die("vq_pop: unexpected %d", rc);
		/* Complete in reverse order: the device may finish out of order. */
		while (npopped) {
			e = popped[--npopped];
			(void)vq_push(&vq, e, (uint32_t)wr_bytes(e));
		}
		rc = vq_enable_notify(&vq) ? 0 : 1;
	}
	vq_wait_idle(&vq);
	vq_destroy(&vq);
	return 0;
}
