/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest memory table. A table is an immutable, reference-counted snapshot:
 * SET_MEM_TABLE / ADD_MEM_REG / REM_MEM_REG build a new table and swap it
 * in, while a request in flight keeps the table it was popped from (and so
 * every mapping its iovecs point into) alive until it completes. Regions are
 * reference-counted too, because ADD/REM_MEM_REG share them between tables.
 */
#ifndef VDAX_VHOST_MEM_H
#define VDAX_VHOST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vhost/vhost_user.h"

#define VU_MEM_MAX_SLOTS 32

struct vu_mem_region {
	int ref;		/* atomic */
	uint64_t gpa;		/* guest-physical start */
	uint64_t size;
	uint64_t uva;		/* frontend-virtual start */
	uint64_t mmap_offset;	/* offset of gpa in the fd */
	uint8_t *host;		/* our pointer for gpa */
	void *map_addr;		/* what to munmap; NULL if not ours */
	size_t map_len;
};

struct vu_mem {
	int ref; /* atomic */
	unsigned nregions;
	struct vu_mem_region *r[VU_MEM_MAX_SLOTS];
};

/* A new empty table with one reference. NULL on ENOMEM. */
struct vu_mem *vu_mem_new(void);
/* A new table holding the same regions as @src (may be NULL). */
struct vu_mem *vu_mem_clone(const struct vu_mem *src);
void vu_mem_get(struct vu_mem *m);
/* Drop a reference; the last one unmaps what nobody else uses. NULL is ok. */
void vu_mem_put(struct vu_mem *m);

/*
 * Map @reg from @fd (MAP_SHARED; @fd stays the caller's) and add it to @m,
 * which must not be shared yet. -EINVAL for a zero/overflowing/overlapping
 * region, -ENOSPC if full, or the mmap error.
 */
int vu_mem_add_fd(struct vu_mem *m, const struct vhost_user_mem_region *reg,
		  int fd);
/* Add a region whose memory the caller already has at @host (tests). */
int vu_mem_add_host(struct vu_mem *m, uint64_t gpa, uint64_t size,
		    uint64_t uva, void *host);
/* Remove the region matching gpa, size and uva. -ENOENT if none. */
int vu_mem_remove(struct vu_mem *m, const struct vhost_user_mem_region *reg);

/*
 * Host pointer for guest-physical @gpa; *@len is clamped to what stays in
 * the same region (so the caller splits). NULL if @gpa is not mapped.
 */
void *vu_mem_gpa_to_host(const struct vu_mem *m, uint64_t gpa, uint64_t *len);
/* Host pointer for [@uva, @uva+@len) in frontend-virtual space, which must
 * lie in one region. NULL otherwise. */
void *vu_mem_uva_to_host(const struct vu_mem *m, uint64_t uva, uint64_t len);
/* Host pointer for [@gpa, @gpa+@len) that must lie in one region. */
void *vu_mem_gpa_to_host_whole(const struct vu_mem *m, uint64_t gpa,
			       uint64_t len);
/*
 * Append iovecs for [@gpa, @gpa+@len) to @iov (@n used of @max), splitting at
 * region ends. -EFAULT if any byte is unmapped or the range overflows,
 * -E2BIG if @max would be exceeded.
 */
int vu_mem_map_iov(const struct vu_mem *m, uint64_t gpa, uint64_t len,
		   struct iovec *iov, unsigned *n, unsigned max);

#endif
