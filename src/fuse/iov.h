/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A cursor over an iovec array (the device-readable or device-writable part
 * of one request). Lengths are summed once with overflow checks; every
 * access is bounded by what is left, so a short buffer yields -EINVAL and
 * never a read or write past its end.
 */
#ifndef VDAX_FUSE_IOV_H
#define VDAX_FUSE_IOV_H

#include <stddef.h>
#include <sys/uio.h>

struct fuse_iov {
	const struct iovec *iov;
	unsigned cnt;
	unsigned idx;	/* current element */
	size_t off;	/* offset into iov[idx] */
	size_t left;	/* bytes still available (bounded by any limit) */
};

/* Returns 0, or -EOVERFLOW if the lengths do not sum into a size_t. */
int fuse_iov_init(struct fuse_iov *c, const struct iovec *iov, unsigned cnt);

/* Shrink what is available to @n bytes (no-op if already smaller). */
void fuse_iov_limit(struct fuse_iov *c, size_t n);

static inline size_t fuse_iov_left(const struct fuse_iov *c)
{
	return c->left;
}

/* Copy @len bytes out of the buffers; -EINVAL (nothing consumed) if short. */
int fuse_iov_read(struct fuse_iov *c, void *dst, size_t len);

/* Copy @len bytes into the buffers; -EINVAL (nothing written) if short. */
int fuse_iov_write(struct fuse_iov *c, const void *src, size_t len);

/* Advance by @len bytes; -EINVAL if short. */
int fuse_iov_skip(struct fuse_iov *c, size_t len);

/*
 * Describe the next @len bytes as at most @max iovecs in @dst (for preadv/
 * pwritev straight into or out of guest memory) without consuming them.
 * Returns the number of iovecs, -EINVAL if short, -E2BIG if @max is too few.
 */
int fuse_iov_slice(const struct fuse_iov *c, size_t len, struct iovec *dst,
		   unsigned max);

#endif
