// SPDX-License-Identifier: GPL-2.0-or-later
#include "fuse/iov.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

int fuse_iov_init(struct fuse_iov *c, const struct iovec *iov, unsigned cnt)
{
	size_t total = 0;

	for (unsigned i = 0; i < cnt; i++)
		if (__builtin_add_overflow(total, iov[i].iov_len, &total))
			return -EOVERFLOW;
	c->iov = iov;
	c->cnt = cnt;
	c->idx = 0;
	c->off = 0;
	c->left = total;
	return 0;
}

void fuse_iov_limit(struct fuse_iov *c, size_t n)
{
	if (n < c->left)
		c->left = n;
}

/* Walk @len bytes; call @fn on each contiguous piece unless @fn is NULL. */
static void iov_walk(struct fuse_iov *c, size_t len,
		     void (*fn)(void *base, size_t n, void *arg), void *arg)
{
	c->left -= len;
	while (len) {
		size_t avail = c->iov[c->idx].iov_len - c->off;
		size_t n = len < avail ? len : avail;

		if (fn && n)
			fn((char *)c->iov[c->idx].iov_base + c->off, n, arg);
		len -= n;
		c->off += n;
		if (c->off == c->iov[c->idx].iov_len) {
			c->idx++;
			c->off = 0;
		}
	}
}

static void copy_out(void *base, size_t n, void *arg)
{
	char **dst = arg;

	memcpy(*dst, base, n);
	*dst += n;
}

static void copy_in(void *base, size_t n, void *arg)
{
	const char **src = arg;

	memcpy(base, *src, n);
	*src += n;
}

int fuse_iov_read(struct fuse_iov *c, void *dst, size_t len)
{
	char *p = dst;

	if (len > c->left)
		return -EINVAL;
	iov_walk(c, len, copy_out, &p);
	return 0;
}

int fuse_iov_write(struct fuse_iov *c, const void *src, size_t len)
{
	const char *p = src;

	if (len > c->left)
		return -EINVAL;
	iov_walk(c, len, copy_in, &p);
	return 0;
}

int fuse_iov_skip(struct fuse_iov *c, size_t len)
{
	if (len > c->left)
		return -EINVAL;
	iov_walk(c, len, NULL, NULL);
	return 0;
}

int fuse_iov_slice(const struct fuse_iov *c, size_t len, struct iovec *dst,
		   unsigned max)
{
	unsigned idx = c->idx, n = 0;
	size_t off = c->off;

	if (len > c->left)
		return -EINVAL;
	while (len) {
		size_t avail = c->iov[idx].iov_len - off;
		size_t take = len < avail ? len : avail;

		if (take) {
			if (n == max)
				return -E2BIG;
			dst[n].iov_base = (char *)c->iov[idx].iov_base + off;
			dst[n].iov_len = take;
			n++;
		}
		len -= take;
		idx++;
		off = 0;
	}
	return (int)n;
}
