// SPDX-License-Identifier: GPL-2.0-or-later
/* The FUSE dispatcher's size checks and session rules. */
#include "harness.h"

/* A request whose header says @hdr_len while @buf_len bytes are sent. */
static int send_len(struct h *h, uint32_t op, uint64_t nodeid,
		    const void *body, size_t body_len, uint32_t hdr_len,
		    size_t buf_len, size_t out_len, size_t *nret)
{
	static char buf[4096] __attribute__((aligned(8))), out[4096];
	struct fuse_in_header *ih = (void *)buf;
	struct fuse_out_header oh;
	size_t n;

	memset(buf, 0, sizeof(buf));
	memcpy(buf + sizeof(*ih), body, body_len);
	ih->len = hdr_len;
	ih->opcode = op;
	ih->unique = ++h->unique;
	ih->nodeid = nodeid;
	n = h_raw(h, buf, buf_len, out, out_len);
	if (nret)
		*nret = n;
	if (n < sizeof(oh))
		return 1;
	memcpy(&oh, out, sizeof(oh));
	return oh.unique == h->unique ? oh.error : -9998;
}

static struct {
	int calls;
	uint64_t foff, moff, len;
	bool w;
} dax_seen;

static int fake_map(void *ctx, int fd, uint64_t fd_offset, uint64_t moffset,
		    uint64_t len, bool writable)
{
	dax_seen.calls++;
	dax_seen.foff = fd_offset;
	dax_seen.moff = moffset;
	dax_seen.len = len;
	dax_seen.w = writable;
	return fcntl(fd, F_GETFD) < 0 ? -EBADF : 0;
}

static int fake_unmap(void *ctx, uint64_t moffset, uint64_t len)
{
	dax_seen.calls++;
	return 0;
}

static void t_dax(void)
{
	struct fuse_srv_opts o = h_opts();
	struct fuse_setupmapping_in sm = { .len = 1 << 21,
					   .flags = FUSE_SETUPMAPPING_FLAG_READ };
	struct {
		struct fuse_removemapping_in in;
		struct fuse_removemapping_one one;
	} __attribute__((packed)) rm = { { 1 }, { 1 << 21, 1 << 21 } };
	struct h h;
	uint64_t id, fh = 0;

	o.dax.map = fake_map;
	o.dax.unmap = fake_unmap;
	o.dax.window_size = 1 << 22;
	h_start(&h, &o);
	h_init(&h, FUSE_MAP_ALIGNMENT, 0, NULL);
	id = h_ino(&h, FUSE_ROOT_ID, "f");
	h_open(&h, id, O_RDONLY, &fh);
	sm.fh = fh;
	sm.moffset = 1 << 21;
	is_int(h_req(&h, FUSE_SETUPMAPPING, id, A(sm), NOARG, NOARG), 0,
	       "SETUPMAPPING inside the window");
	ok(dax_seen.calls == 1 && dax_seen.moff == (1u << 21) &&
	   dax_seen.len == (1u << 21) && !dax_seen.w, "map hook got the range");
	sm.moffset = 1 << 22;
	is_int(h_req(&h, FUSE_SETUPMAPPING, id, A(sm), NOARG, NOARG), -EINVAL,
	       "SETUPMAPPING past the window -> EINVAL");
	sm.moffset = ~0ull - 4095;
	is_int(h_req(&h, FUSE_SETUPMAPPING, id, A(sm), NOARG, NOARG), -EINVAL,
	       "SETUPMAPPING with moffset+len overflowing -> EINVAL");
	sm.moffset = 100;
	is_int(h_req(&h, FUSE_SETUPMAPPING, id, A(sm), NOARG, NOARG), -EINVAL,
	       "misaligned moffset -> EINVAL");
	sm.moffset = 0;
	sm.flags |= FUSE_SETUPMAPPING_FLAG_WRITE;
	is_int(h_req(&h, FUSE_SETUPMAPPING, id, A(sm), NOARG, NOARG), -EPERM,
	       "writable mapping of a read-only handle -> EPERM");
	sm.flags = FUSE_SETUPMAPPING_FLAG_READ;
	sm.fh = fh + (1ull << 32);
	is_int(h_req(&h, FUSE_SETUPMAPPING, id, A(sm), NOARG, NOARG), -EBADF,
	       "SETUPMAPPING with a stale fh -> EBADF");
	is_int(dax_seen.calls, 1, "no refused request reached the hook");
	is_int(h_req(&h, FUSE_REMOVEMAPPING, id, A(rm), NOARG, NOARG), 0,
	       "REMOVEMAPPING one range");
	rm.in.count = 2;
	is_int(h_req(&h, FUSE_REMOVEMAPPING, id, A(rm), NOARG, NOARG), -EINVAL,
	       "REMOVEMAPPING count beyond the body -> EINVAL");
	is_int(dax_seen.calls, 2, "unmap hook called once");
	fuse_srv_free(h.srv);
}

int main(void)
{
	struct fuse_srv_opts o;
	struct fuse_init_out io;
	struct fuse_getattr_in ga = { 0 };
	struct h h;
	size_t n;
	int ret;

	h_setup_dir();
	o = h_opts();
	o.readdirplus = false;
	o.xattr = false;
	h_start(&h, &o);

	/* Before INIT. */
	is_int(h_getattr(&h, FUSE_ROOT_ID, NULL), -EIO, "GETATTR before INIT -> EIO");
	is_int(h_lookup(&h, FUSE_ROOT_ID, "x", NULL), -EIO, "LOOKUP before INIT -> EIO");
	{
		struct fuse_forget_in f = { 1 };

		is_int(h_req(&h, FUSE_FORGET, 5, A(f), NOARG, NOARG), 1,
		       "FORGET before INIT gets no reply");
	}

	/* INIT with a newer major: the answer carries our major only. */
	{
		struct fuse_init_in in = { .major = 8, .minor = 0 };

		ret = h_req(&h, FUSE_INIT, 0, A(in), NOARG, NOARG);
		is_int(ret, 0, "INIT major 8 answered");
		is_int(((struct fuse_init_out *)h.reply)->major, 7,
		       "... with major 7");
		is_int(h_getattr(&h, FUSE_ROOT_ID, NULL), -EIO,
		       "... and the session is still not initialised");
	}
	{
		struct fuse_init_in in = { .major = 6 };

		is_int(h_req(&h, FUSE_INIT, 0, A(in), NOARG, NOARG), -EPROTO,
		       "INIT major 6 -> EPROTO");
	}

	ret = h_init(&h, 0xffffffffu, 0xffffffffu, &io);
	is_int(ret, 0, "INIT");
	is_int(io.major, 7, "INIT major 7");
	is_int(io.minor, 38, "INIT minor 38");
	ok(io.flags & FUSE_ASYNC_READ, "ASYNC_READ offered");
	ok(io.flags & FUSE_DONT_MASK, "DONT_MASK offered");
	ok(io.flags & FUSE_POSIX_LOCKS, "POSIX_LOCKS offered (opts.posix_lock)");
	ok(!(io.flags & (FUSE_SPLICE_READ | FUSE_SPLICE_WRITE | FUSE_SPLICE_MOVE)),
	   "no SPLICE flags");
	ok(!(io.flags & FUSE_POSIX_ACL), "no POSIX_ACL");
	ok(!(io.flags & FUSE_DO_READDIRPLUS), "no READDIRPLUS when opts say so");
	ok(!(io.flags & FUSE_WRITEBACK_CACHE), "no WRITEBACK_CACHE by default");
	ok(!(io.flags & FUSE_MAP_ALIGNMENT), "no MAP_ALIGNMENT without a DAX window");
	ok(!(io.flags & FUSE_SETXATTR_EXT), "no SETXATTR_EXT without xattr");
	ok(io.flags & FUSE_MAX_PAGES, "MAX_PAGES offered");
	is_int(io.max_write, 1u << 20, "max_write 1 MiB");
	is_int(io.max_pages, (1u << 20) / (unsigned)sysconf(_SC_PAGESIZE),
	       "max_pages = max_write / page size");
	ok(!(io.flags2 & (FUSE_HAS_INODE_DAX >> 32)), "no per-inode DAX");

	/* Short header: no unique, no reply. */
	ret = send_len(&h, FUSE_GETATTR, 1, &ga, sizeof(ga), 64, 20, 4096, &n);
	is_int(n, 0, "short header -> no reply");

	/* in-header len larger than the buffer. */
	ret = send_len(&h, FUSE_GETATTR, 1, &ga, sizeof(ga),
		       sizeof(struct fuse_in_header) + sizeof(ga) + 100,
		       sizeof(struct fuse_in_header) + sizeof(ga), 4096, NULL);
	is_int(ret, -EINVAL, "len larger than the buffer -> EINVAL");

	/* in-header len below the header size. */
	ret = send_len(&h, FUSE_GETATTR, 1, &ga, sizeof(ga), 10,
		       sizeof(struct fuse_in_header) + sizeof(ga), 4096, NULL);
	is_int(ret, -EINVAL, "len smaller than a header -> EINVAL");

	/* in-header len smaller than the buffer: the tail is ignored. */
	ret = send_len(&h, FUSE_GETATTR, 1, &ga, sizeof(ga),
		       sizeof(struct fuse_in_header) + sizeof(ga),
		       sizeof(struct fuse_in_header) + sizeof(ga) + 64, 4096,
		       NULL);
	is_int(ret, 0, "trailing bytes beyond len are ignored");

	/* ...but only len counts: a name cut before its NUL is refused. */
	ret = send_len(&h, FUSE_LOOKUP, 1, "abc\0", 4,
		       sizeof(struct fuse_in_header) + 3,
		       sizeof(struct fuse_in_header) + 4, 4096, NULL);
	is_int(ret, -EINVAL, "name cut by len -> EINVAL");

	/* Truncated fixed part. */
	ret = send_len(&h, FUSE_GETATTR, 1, &ga, 8,
		       sizeof(struct fuse_in_header) + 8,
		       sizeof(struct fuse_in_header) + 8, 4096, NULL);
	is_int(ret, -EINVAL, "GETATTR with 8 of 16 bytes -> EINVAL");
	{
		struct fuse_write_in w = { .size = 4 };

		ret = send_len(&h, FUSE_WRITE, 1, &w, 24,
			       sizeof(struct fuse_in_header) + 24,
			       sizeof(struct fuse_in_header) + 24, 4096, NULL);
		is_int(ret, -EINVAL, "WRITE with a compat-size header -> EINVAL");
	}

	/* Unterminated name. */
	ret = send_len(&h, FUSE_LOOKUP, 1, "abcdef", 6,
		       sizeof(struct fuse_in_header) + 6,
		       sizeof(struct fuse_in_header) + 6, 4096, NULL);
	is_int(ret, -EINVAL, "unterminated LOOKUP name -> EINVAL");
	{
		struct fuse_rename_in rn = { .newdir = 1 };
		char body[64];

		memcpy(body, &rn, sizeof(rn));
		memcpy(body + sizeof(rn), "old\0new", 7); /* second lacks NUL */
		ret = send_len(&h, FUSE_RENAME, 1, body, sizeof(rn) + 7,
			       sizeof(struct fuse_in_header) + sizeof(rn) + 7,
			       sizeof(struct fuse_in_header) + sizeof(rn) + 7,
			       4096, NULL);
		is_int(ret, -EINVAL, "RENAME with unterminated new name -> EINVAL");
	}

	/* Extension length beyond the body. */
	{
		static char buf[256] __attribute__((aligned(8))), out[256];
		struct fuse_in_header *ih = (void *)buf;
		struct fuse_out_header oh;

		memset(buf, 0, sizeof(buf));
		ih->len = sizeof(*ih) + sizeof(ga);
		ih->opcode = FUSE_GETATTR;
		ih->unique = 4242;
		ih->nodeid = 1;
		ih->total_extlen = 4; /* 32 bytes > 16 */
		n = h_raw(&h, buf, ih->len, out, sizeof(out));
		memcpy(&oh, out, sizeof(oh));
		ok(n == sizeof(oh) && oh.error == -EINVAL,
		   "total_extlen past the body -> EINVAL");
	}

	/* Reply buffer too small for the fixed reply. */
	h.out_size = sizeof(struct fuse_out_header) + 50;
	is_int(h_getattr(&h, FUSE_ROOT_ID, NULL), -EINVAL,
	       "GETATTR with a 50-byte reply buffer -> EINVAL");
	is_int(h_lookup(&h, FUSE_ROOT_ID, "zzz", NULL), -EINVAL,
	       "LOOKUP with a short reply buffer -> EINVAL");
	h.out_size = 10;
	is_int(h_getattr(&h, FUSE_ROOT_ID, NULL), 1,
	       "reply buffer shorter than the out header -> no reply");
	h.out_size = 0;
	is_int(h_getattr(&h, FUSE_ROOT_ID, NULL), 0, "GETATTR works again");

	/* Unknown and unsupported opcodes. */
	is_int(h_req(&h, 9999, 1, NOARG, NOARG, NOARG), -ENOSYS,
	       "opcode 9999 -> ENOSYS");
	is_int(h_req(&h, 0, 1, NOARG, NOARG, NOARG), -ENOSYS, "opcode 0 -> ENOSYS");
	is_int(h_req(&h, 7, 1, NOARG, NOARG, NOARG), -ENOSYS,
	       "opcode 7 (hole in the table) -> ENOSYS");
	{
		char z[64] = { 0 };

		is_int(h_req(&h, FUSE_IOCTL, 1, A(z), NOARG, NOARG), -ENOSYS,
		       "IOCTL -> ENOSYS");
		is_int(h_req(&h, FUSE_BMAP, 1, A(z), NOARG, NOARG), -ENOSYS,
		       "BMAP -> ENOSYS");
		is_int(h_req(&h, FUSE_SETUPMAPPING, 1, A(z), NOARG, NOARG),
		       -ENOSYS, "SETUPMAPPING without DAX -> ENOSYS");
		is_int(h_req(&h, FUSE_REMOVEMAPPING, 1, A(z), NOARG, NOARG),
		       -ENOSYS, "REMOVEMAPPING without DAX -> ENOSYS");
		is_int(h_req(&h, FUSE_GETXATTR, 1, A(z), S("user.x"), NOARG),
		       -ENOSYS, "GETXATTR without opts.xattr -> ENOSYS");
		is_int(h_req(&h, FUSE_INTERRUPT, 1, A(z), NOARG, NOARG), 1,
		       "INTERRUPT gets no reply");
	}

	/* A second INIT resets the session: old nodeids go stale. */
	h_put_file("f", "x");
	{
		uint64_t id = h_ino(&h, FUSE_ROOT_ID, "f");

		ok(id > 1, "lookup before re-INIT");
		is_int(h_init(&h, 0, 0, NULL), 0, "second INIT");
		is_int(h_getattr(&h, id, NULL), -ESTALE,
		       "nodeid from before the second INIT is stale");
		is_int(h_getattr(&h, FUSE_ROOT_ID, NULL), 0, "root survives");
		is_int(h_req(&h, FUSE_DESTROY, 0, NOARG, NOARG, NOARG), 0,
		       "DESTROY");
		is_int(h_getattr(&h, FUSE_ROOT_ID, NULL), -EIO,
		       "after DESTROY requests get EIO");
	}
	fuse_srv_free(h.srv);

	/* DAX window: MAP_ALIGNMENT and log2(page size). */
	o = h_opts();
	o.dax.window_size = 1u << 30;
	o.dax.map = fake_map;
	o.dax.unmap = fake_unmap;
	o.writeback = true;
	h_start(&h, &o);
	h_init(&h, FUSE_MAP_ALIGNMENT | FUSE_WRITEBACK_CACHE | FUSE_DO_READDIRPLUS,
	       0, &io);
	ok(io.flags & FUSE_MAP_ALIGNMENT, "MAP_ALIGNMENT with a DAX window");
	is_int(1u << io.map_alignment, (unsigned)sysconf(_SC_PAGESIZE),
	       "map_alignment = log2(page size)");
	ok(io.flags & FUSE_WRITEBACK_CACHE, "WRITEBACK_CACHE when opts.writeback");
	ok(io.flags & FUSE_DO_READDIRPLUS, "READDIRPLUS when opts.readdirplus");
	ok(!(io.flags & FUSE_POSIX_ACL), "INIT reply only has flags the guest asked");
	fuse_srv_free(h.srv);

	/* cache=never / cache=always: timeouts and FOPEN flags. */
	for (int c = 0; c < 2; c++) {
		struct fuse_entry_out eo = { 0 };
		uint64_t fh = 0;

		o = h_opts();
		o.cache = c ? FUSE_SRV_CACHE_ALWAYS : FUSE_SRV_CACHE_NEVER;
		h_start(&h, &o);
		h_init(&h, 0, 0, NULL);
		h_lookup(&h, FUSE_ROOT_ID, "f", &eo);
		is_int(eo.entry_valid, c ? 86400 : 0,
		       "cache=%s entry timeout", c ? "always" : "never");
		is_int(eo.attr_valid, c ? 86400 : 0, "... attr timeout");
		h_open(&h, eo.nodeid, O_RDONLY, &fh);
		is_int(((struct fuse_open_out *)h.reply)->open_flags,
		       c ? FOPEN_KEEP_CACHE : FOPEN_DIRECT_IO, "... FOPEN flags");
		h_opendir(&h, FUSE_ROOT_ID, &fh);
		is_int(((struct fuse_open_out *)h.reply)->open_flags,
		       c ? FOPEN_KEEP_CACHE | FOPEN_CACHE_DIR : 0,
		       "... FOPEN flags for a directory");
		fuse_srv_free(h.srv);
	}
	t_dax();
	return tap_done();
}
