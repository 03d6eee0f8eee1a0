// SPDX-License-Identifier: GPL-2.0-or-later
/* Guest memory table: see mem.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "vhost/mem.h"

struct vu_mem *vu_mem_new(void)
{
	struct vu_mem *m = calloc(1, sizeof(*m));

	if (m)
		m->ref = 1;
	return m;
}

static void region_get(struct vu_mem_region *r)
{
	__atomic_add_fetch(&r->ref, 1, __ATOMIC_RELAXED);
}

static void region_put(struct vu_mem_region *r)
{
	if (__atomic_sub_fetch(&r->ref, 1, __ATOMIC_ACQ_REL))
		return;
	if (r->map_addr)
		munmap(r->map_addr, r->map_len);
	free(r);
}

struct vu_mem *vu_mem_clone(const struct vu_mem *src)
{
	struct vu_mem *m = vu_mem_new();

	if (!m || !src)
		return m;
	m->nregions = src->nregions;
	for (unsigned i = 0; i < src->nregions; i++) {
		m->r[i] = src->r[i];
		region_get(m->r[i]);
	}
	return m;
}

void vu_mem_get(struct vu_mem *m)
{
	__atomic_add_fetch(&m->ref, 1, __ATOMIC_RELAXED);
}

void vu_mem_put(struct vu_mem *m)
{
	if (!m || __atomic_sub_fetch(&m->ref, 1, __ATOMIC_ACQ_REL))
		return;
	for (unsigned i = 0; i < m->nregions; i++)
		region_put(m->r[i]);
	free(m);
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b,
			   uint64_t blen)
{
	/* Both ranges were checked not to wrap. */
	return a < b + blen && b < a + alen;
}

static int check_new_region(const struct vu_mem *m, uint64_t gpa,
			    uint64_t size, uint64_t uva)
{
	uint64_t end;

	if (!size || __builtin_add_overflow(gpa, size, &end) ||
	    __builtin_add_overflow(uva, size, &end))
		return -EINVAL;
	if (size > SIZE_MAX)
		return -EINVAL;
	if (m->nregions >= VU_MEM_MAX_SLOTS)
		return -ENOSPC;
	for (unsigned i = 0; i < m->nregions; i++) {
		if (ranges_overlap(gpa, size, m->r[i]->gpa, m->r[i]->size)) {
			VLOG_WARN("vhost: memory region gpa 0x%llx overlaps",
				  (unsigned long long)gpa);
			return -EINVAL;
		}
	}
	return 0;
}

static void insert_region(struct vu_mem *m, struct vu_mem_region *r)
{
	m->r[m->nregions++] = r;
}

/*
 * The fd must really hold the region: a mapping past the end of a file
 * raises SIGBUS on first touch, which a frontend could use to kill us.
 * A frontend that shrinks the file later still can, unless it sealed it
 * (QEMU's memory-backend-memfd seals by default): say so once.
 */
static int check_region_fd(int fd, const struct vhost_user_mem_region *reg)
{
	struct stat st;
	uint64_t end;
	int seals;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		VLOG_WARN("vhost: memory region fd is not a regular file or memfd");
		return -EINVAL;
	}
	if (__builtin_add_overflow(reg->mmap_offset, reg->memory_size, &end) ||
	    end > (uint64_t)st.st_size) {
		VLOG_WARN("vhost: memory region (offset %llu, %llu bytes) past "
			  "the end of its fd (%lld bytes)",
			  (unsigned long long)reg->mmap_offset,
			  (unsigned long long)reg->memory_size,
			  (long long)st.st_size);
		return -EINVAL;
	}
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK))
		VLOG_DEBUG("vhost: memory region fd is not sealed against "
			   "shrinking");
	return 0;
}

int vu_mem_add_fd(struct vu_mem *m, const struct vhost_user_mem_region *reg,
		  int fd)
{
	struct vu_mem_region *r;
	uint64_t map_len;
	long page = sysconf(_SC_PAGESIZE);
	uint64_t align_off;
	void *p;
	int rc;

	rc = check_new_region(m, reg->guest_phys_addr, reg->memory_size,
			      reg->userspace_addr);
	if (rc)
		return rc;
	/* mmap needs a page-aligned offset: map from the page start. */
	align_off = reg->mmap_offset & (uint64_t)(page - 1);
	if (__builtin_add_overflow(reg->memory_size, align_off, &map_len) ||
	    map_len > SIZE_MAX || reg->mmap_offset > INT64_MAX)
		return -EINVAL;
	rc = check_region_fd(fd, reg);
	if (rc)
		return rc;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	p = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		 fd, (off_t)(reg->mmap_offset - align_off));
	if (p == MAP_FAILED) {
		rc = -errno;
		VLOG_ERR("vhost: mmap of memory region (%llu bytes) failed: %s",
			 (unsigned long long)reg->memory_size, strerror(-rc));
		free(r);
		return rc;
	}
	r->ref = 1;
	r->gpa = reg->guest_phys_addr;
	r->size = reg->memory_size;
	r->uva = reg->userspace_addr;
	r->mmap_offset = reg->mmap_offset;
	r->map_addr = p;
	r->map_len = map_len;
	r->host = (uint8_t *)p + align_off;
	insert_region(m, r);
	return 0;
}

int vu_mem_add_host(struct vu_mem *m, uint64_t gpa, uint64_t size,
		    uint64_t uva, void *host)
{
	struct vu_mem_region *r;
	int rc = check_new_region(m, gpa, size, uva);

	if (rc)
		return rc;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->ref = 1;
	r->gpa = gpa;
	r->size = size;
	r->uva = uva;
	r->host = host;
	insert_region(m, r);
	return 0;
}

int vu_mem_remove(struct vu_mem *m, const struct vhost_user_mem_region *reg)
{
	for (unsigned i = 0; i < m->nregions; i++) {
		struct vu_mem_region *r = m->r[i];

		if (r->gpa != reg->guest_phys_addr ||
		    r->size != reg->memory_size ||
		    r->uva != reg->userspace_addr)
			continue;
		m->r[i] = m->r[--m->nregions];
		m->r[m->nregions] = NULL;
		region_put(r);
		return 0;
	}
	return -ENOENT;
}

static const struct vu_mem_region *find_gpa(const struct vu_mem *m,
					    uint64_t gpa)
{
	for (unsigned i = 0; i < m->nregions; i++) {
		const struct vu_mem_region *r = m->r[i];

		/* gpa - r->gpa cannot wrap once gpa >= r->gpa. */
		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

void *vu_mem_gpa_to_host(const struct vu_mem *m, uint64_t gpa, uint64_t *len)
{
	const struct vu_mem_region *r = m ? find_gpa(m, gpa) : NULL;
	uint64_t off, left;

	if (!r)
		return NULL;
	off = gpa - r->gpa;
	left = r->size - off;
	if (*len > left)
		*len = left;
	return r->host + off;
}

void *vu_mem_gpa_to_host_whole(const struct vu_mem *m, uint64_t gpa,
			       uint64_t len)
{
	uint64_t got = len;
	void *p = vu_mem_gpa_to_host(m, gpa, &got);

	return p && got == len ? p : NULL;
}

void *vu_mem_uva_to_host(const struct vu_mem *m, uint64_t uva, uint64_t len)
{
	if (!m)
		return NULL;
	for (unsigned i = 0; i < m->nregions; i++) {
		const struct vu_mem_region *r = m->r[i];
		uint64_t off;

		if (uva < r->uva)
			continue;
		off = uva - r->uva;
		if (off >= r->size || len > r->size - off)
			continue;
		return r->host + off;
	}
	return NULL;
}

int vu_mem_map_iov(const struct vu_mem *m, uint64_t gpa, uint64_t len,
		   struct iovec *iov, unsigned *n, unsigned max)
{
	uint64_t end;

	if (__builtin_add_overflow(gpa, len, &end))
		return -EFAULT;
	while (len) {
		uint64_t chunk = len;
		void *p = vu_mem_gpa_to_host(m, gpa, &chunk);

		if (!p)
			return -EFAULT;
		if (*n >= max)
			return -E2BIG;
		iov[*n].iov_base = p;
		iov[*n].iov_len = (size_t)chunk;
		(*n)++;
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}
