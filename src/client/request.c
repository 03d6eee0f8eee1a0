// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libvdax FUSE client, request layer: build one FUSE request in shared
 * memory, put it on a queue and wait for its reply; and transfers too big
 * for one request split into chunks kept in flight across the queues.
 * Nothing here knows about the cache: callers above keep it right.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "client/client.h"
#include "common/clock.h"
#include "common/copy.h"

uint64_t fc_now_ns(void)
{
	return (uint64_t)vdx_mono_ns();
}

int fc_start(struct vdax *vd, struct fc_call *c, bool nowait,
	     struct vdx_req **out)
{
	size_t in_len = sizeof(struct fuse_in_header);
	size_t out_cap = c->noreply ? 0 :
			 sizeof(struct fuse_out_header) + c->out_size;
	struct fuse_in_header *ih;
	struct vdx_req *r;
	char *p;
	int ret;

	for (unsigned i = 0; i < c->nin; i++)
		if (__builtin_add_overflow(in_len, c->in[i].iov_len, &in_len))
			return -E2BIG;
	ret = vdx_req_new(vd->dev, in_len, out_cap, nowait, &r);
	if (ret)
		return ret;
	r->noreply = c->noreply;
	ih = r->buf;
	*ih = (struct fuse_in_header){
		.opcode = c->opcode,
		.nodeid = c->nodeid,
		.uid = geteuid(),
		.gid = getegid(),
		.pid = getpid(),
	};
	p = (char *)(ih + 1);
	for (unsigned i = 0; i < c->nin; i++) {
		vdx_copy(p, c->in[i].iov_base, c->in[i].iov_len);
		p += c->in[i].iov_len;
	}
	ret = vdx_submit(r, c->hiprio ? 0 : vdx_pick_queue(vd->dev));
	if (ret) {
		vdx_req_put(r);
		return ret;
	}
	*out = r;
	return 0;
}

int fc_finish(struct vdax *vd, struct fc_call *c, struct vdx_req *r)
{
	int ret = vdx_wait(r, __atomic_load_n(&vd->timeout_ms,
					      __ATOMIC_RELAXED));

	if (ret >= 0 && !c->noreply) {
		size_t plen = (size_t)ret - sizeof(struct fuse_out_header);

		/* Length was checked against out_cap by the transport. */
		if (plen < c->out_min || plen > c->out_size) {
			ret = -EIO;
		} else {
			if (plen)
				vdx_copy(c->out,
					 (char *)vdx_req_out(r) +
						 sizeof(struct fuse_out_header),
					 plen);
			ret = (int)plen;
		}
	}
	vdx_req_put(r);
	return ret;
}

int fc_send(struct vdax *vd, struct fc_call *c)
{
	struct vdx_req *r;
	int ret = fc_start(vd, c, false, &r);

	if (ret)
		return ret;
	return fc_finish(vd, c, r);
}

/* ---------------- chunked transfers ---------------- */

struct io_chunk {
	struct fc_call c;
	struct vdx_req *r;
	union {
		struct fuse_read_in rin;
		struct {
			struct fuse_write_in win;
			struct fuse_write_out wout;
		};
	};
	size_t len;
};

static void chunk_setup(struct vdax_file *f, struct io_chunk *ch, bool write,
			char *buf, size_t len, uint64_t off)
{
	memset(ch, 0, sizeof(*ch));
	ch->len = len;
	ch->c.nodeid = f->node->nodeid;
	if (write) {
		ch->c.opcode = FUSE_WRITE;
		ch->win = (struct fuse_write_in){ .fh = f->fh,
						  .offset = off,
						  .size = (uint32_t)len,
						  .write_flags =
							  FUSE_WRITE_LOCKOWNER,
						  .lock_owner = f->owner,
						  .flags = (uint32_t)f->flags };
		ch->c.nin = 2;
		ch->c.in[0] = (struct iovec){ &ch->win, sizeof(ch->win) };
		ch->c.in[1] = (struct iovec){ buf, len };
		ch->c.out = &ch->wout;
		ch->c.out_size = sizeof(ch->wout);
		ch->c.out_min = sizeof(ch->wout);
	} else {
		ch->c.opcode = FUSE_READ;
		ch->rin = (struct fuse_read_in){ .fh = f->fh,
						 .offset = off,
						 .size = (uint32_t)len,
						 .read_flags = FUSE_READ_LOCKOWNER,
						 .lock_owner = f->owner,
						 .flags = (uint32_t)f->flags };
		ch->c.nin = 1;
		ch->c.in[0] = (struct iovec){ &ch->rin, sizeof(ch->rin) };
		ch->c.out = buf;
		ch->c.out_size = len;
	}
}

/* Finish a chunk: bytes transferred or -errno. */
static ssize_t chunk_finish(struct vdax *vd, struct io_chunk *ch, bool write)
{
	int ret = fc_finish(vd, &ch->c, ch->r);

	ch->r = NULL;
	if (ret < 0)
		return ret;
	if (!write)
		return ret;
	if (ch->wout.size > ch->len)
		return -EIO;
	return ch->wout.size;
}

/*
 * Split [off, off+len) at max_write and keep up to FC_MAX_PARALLEL chunks
 * in flight. Only the first allocation may block (see vdx_req_new()).
 * Returns bytes done up to the first short or failed chunk, or its error
 * if nothing was done.
 */
ssize_t fc_io(struct vdax_file *f, bool write, char *buf, size_t len,
	      uint64_t off)
{
	struct vdax *vd = f->vd;
	struct io_chunk ch[FC_MAX_PARALLEL];
	size_t cs = vd->max_write, issued = 0, done = 0;
	unsigned head = 0, n = 0;
	ssize_t err = 0;
	bool stop = false;

	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	if (!len)
		return 0;
	while ((issued < len && !stop) || n) {
		/* issue */
		while (issued < len && !stop && n < FC_MAX_PARALLEL) {
			struct io_chunk *c = &ch[(head + n) % FC_MAX_PARALLEL];
			size_t l = len - issued < cs ? len - issued : cs;
			int ret;

			chunk_setup(f, c, write, buf + issued, l, off + issued);
			ret = fc_start(vd, &c->c, n > 0, &c->r);
			if (ret == -EAGAIN)
				break;
			if (ret) {
				err = ret;
				stop = true;
				break;
			}
			issued += l;
			n++;
		}
		if (!n)
			break;
		/* complete the oldest */
		{
			struct io_chunk *c = &ch[head];
			ssize_t got = chunk_finish(vd, c, write);

			head = (head + 1) % FC_MAX_PARALLEL;
			n--;
			if (stop || err) {
				continue;
			} else if (got < 0) {
				err = got;
				stop = true;
			} else {
				done += got;
				if ((size_t)got < c->len)
					stop = true;
			}
		}
	}
	if (done)
		return done;
	return err;
}

