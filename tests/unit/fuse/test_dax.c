// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The device side of the DAX window: INIT negotiation, SETUPMAPPING and
 * REMOVEMAPPING checks against the window and the live mappings, the
 * map/unmap hooks (faked: they record every call and can be told to fail),
 * reset, FUSE_ATTR_DAX per the per-file policy, and requests from several
 * threads at once against slow hooks (the table is not locked across a
 * hook, so they overlap: no two may ever change the same span at once).
 */
#include <linux/fs.h>
#include <pthread.h>
#include <sys/ioctl.h>

#include "harness.h"

#define WIN (8u << 20)
#define R2M (2u << 20)
#define RD FUSE_SETUPMAPPING_FLAG_READ
#define WR (FUSE_SETUPMAPPING_FLAG_READ | FUSE_SETUPMAPPING_FLAG_WRITE)

struct call {
	bool map;
	bool fd_ok; /* the fd was open and a regular file */
	uint64_t foff, moff, len;
	bool w;
	int accmode; /* the fd's O_ACCMODE */
	ino_t ino;   /* the host inode behind the fd */
};

static struct {
	struct call v[64];
	int n;
	int fail; /* next hook call returns this (then 0 again) */
} rec;

static int hook_result(void)
{
	int r = rec.fail;

	rec.fail = 0;
	return r;
}

static int fake_map(void *ctx, int fd, uint64_t fd_offset, uint64_t moffset,
		    uint64_t len, bool writable)
{
	struct stat st;
	struct call c = { true, fstat(fd, &st) == 0 && S_ISREG(st.st_mode),
			  fd_offset, moffset, len, writable,
			  fcntl(fd, F_GETFL) & O_ACCMODE, st.st_ino };

	(void)ctx;
	if (rec.n < 64)
		rec.v[rec.n++] = c;
	return hook_result();
}

static int fake_unmap(void *ctx, uint64_t moffset, uint64_t len)
{
	struct call c = { false, false, 0, moffset, len, false };

	(void)ctx;
	if (rec.n < 64)
		rec.v[rec.n++] = c;
	return hook_result();
}

static struct h h;

static struct fuse_srv_opts dax_opts(void)
{
	struct fuse_srv_opts o = h_opts();

	o.dax.map = fake_map;
	o.dax.unmap = fake_unmap;
	o.dax.window_size = WIN;
	return o;
}

static int setup(uint64_t nodeid, uint64_t fh, uint64_t foff, uint64_t len,
		 uint64_t flags, uint64_t moff)
{
	struct fuse_setupmapping_in in = { .fh = fh, .foffset = foff,
					   .len = len, .flags = flags,
					   .moffset = moff };

	return h_req(&h, FUSE_SETUPMAPPING, nodeid, A(in), NOARG, NOARG);
}

/* REMOVEMAPPING with header count @count and @n entries from @v. */
static int removem(uint64_t nodeid, uint32_t count,
		   const struct fuse_removemapping_one *v, size_t n)
{
	struct fuse_removemapping_in in = { .count = count };

	return h_req(&h, FUSE_REMOVEMAPPING, nodeid, A(in),
		     (struct arg){ v, n * sizeof(*v) }, NOARG);
}

static unsigned log2u(unsigned long v)
{
	unsigned r = 0;

	while (v >>= 1)
		r++;
	return r;
}

static void t_init(void)
{
	struct fuse_srv_opts o = dax_opts();
	struct fuse_init_out io;
	long ps = sysconf(_SC_PAGESIZE);

	h_start(&h, &o);
	is_int(h_init(&h, FUSE_MAP_ALIGNMENT, FUSE_HAS_INODE_DAX >> 32, &io), 0,
	       "INIT with a window");
	ok(io.flags & FUSE_MAP_ALIGNMENT, "window: FUSE_MAP_ALIGNMENT offered");
	is_int(io.map_alignment, log2u((unsigned long)ps),
	       "map_alignment = log2(host page size)");
	if (ps == 4096)
		is_int(io.map_alignment, 12, "4 KiB pages: map_alignment 12");
	ok(io.flags2 & (FUSE_HAS_INODE_DAX >> 32),
	   "window: FUSE_HAS_INODE_DAX accepted when asked");
	is_int(h_init(&h, FUSE_MAP_ALIGNMENT | FUSE_HANDLE_KILLPRIV_V2, 0, &io),
	       0, "INIT of a DAX client that asks for KILLPRIV_V2");
	ok(!(io.flags & FUSE_HANDLE_KILLPRIV_V2),
	   "a DAX client gets no KILLPRIV_V2 (its window writes bypass FUSE_WRITE)");
	is_int(h_init(&h, FUSE_HANDLE_KILLPRIV_V2, 0, &io), 0,
	       "INIT without FUSE_MAP_ALIGNMENT");
	ok(io.flags & FUSE_HANDLE_KILLPRIV_V2,
	   "a client that maps nothing keeps KILLPRIV_V2");
	is_int(h_init(&h, FUSE_MAP_ALIGNMENT, 0, &io), 0, "INIT again");
	ok(!(io.flags2 & (FUSE_HAS_INODE_DAX >> 32)),
	   "FUSE_HAS_INODE_DAX not set when the frontend did not ask");
	fuse_srv_free(h.srv);

	o = h_opts();
	h_start(&h, &o);
	is_int(h_init(&h, FUSE_MAP_ALIGNMENT, FUSE_HAS_INODE_DAX >> 32, &io), 0,
	       "INIT without a window");
	ok(!(io.flags & FUSE_MAP_ALIGNMENT) && io.map_alignment == 0,
	   "no window: no FUSE_MAP_ALIGNMENT, map_alignment 0");
	ok(!(io.flags2 & (FUSE_HAS_INODE_DAX >> 32)),
	   "no window: no FUSE_HAS_INODE_DAX");
	is_int(setup(FUSE_ROOT_ID, 0, 0, R2M, RD, 0), -ENOSYS,
	       "no window: SETUPMAPPING -> ENOSYS");
	fuse_srv_free(h.srv);
}

static void t_setup(void)
{
	struct fuse_srv_opts o = dax_opts();
	uint64_t id, id2, fro, frw, fwo, f2, dfh;
	struct fuse_removemapping_one one;

	h_put_file("m1", "0123456789");
	h_put_file("m2", "abc");
	h_start(&h, &o);
	h_init(&h, FUSE_MAP_ALIGNMENT, 0, NULL);
	id = h_ino(&h, FUSE_ROOT_ID, "m1");
	id2 = h_ino(&h, FUSE_ROOT_ID, "m2");
	if (h_open(&h, id, O_RDONLY, &fro) || h_open(&h, id, O_RDWR, &frw) ||
	    h_open(&h, id, O_WRONLY, &fwo) || h_open(&h, id2, O_RDONLY, &f2) ||
	    h_opendir(&h, FUSE_ROOT_ID, &dfh))
		tap_bail("open");

	rec.n = 0;
	is_int(setup(id, fro, 4096, R2M, RD, 0), 0, "SETUPMAPPING read-only");
	ok(rec.n == 1 && rec.v[0].map && rec.v[0].fd_ok &&
	   rec.v[0].foff == 4096 && rec.v[0].moff == 0 &&
	   rec.v[0].len == R2M && !rec.v[0].w,
	   "map hook: the file's fd, foffset, moffset, len, read-only");
	is_int(setup(id, frw, 0, R2M, WR, R2M), 0, "SETUPMAPPING writable (O_RDWR)");
	ok(rec.n == 2 && rec.v[1].w && rec.v[1].moff == R2M,
	   "map hook: writable at 2 MiB");
	is_int(fuse_srv_dax_mappings(h.srv), 2, "two live mappings");

	rec.n = 0;
	is_int(setup(id, fro, 0, R2M, WR, 2 * R2M), -EPERM,
	       "writable mapping of an O_RDONLY handle -> EPERM");
	is_int(setup(id, fwo, 0, R2M, RD, 2 * R2M), -EPERM,
	       "read-only mapping of an O_WRONLY handle -> EPERM");
	is_int(setup(id, fwo, 0, R2M, WR, 2 * R2M), -EPERM,
	       "writable mapping of an O_WRONLY handle -> EPERM");
	is_int(setup(id, fro, 0, R2M, RD, 2 * R2M + 512), -EINVAL,
	       "misaligned moffset -> EINVAL");
	is_int(setup(id, fro, 100, R2M, RD, 2 * R2M), -EINVAL,
	       "misaligned foffset -> EINVAL");
	is_int(setup(id, fro, 0, R2M - 1, RD, 2 * R2M), -EINVAL,
	       "misaligned len -> EINVAL");
	is_int(setup(id, fro, 0, 0, RD, 2 * R2M), -EINVAL, "len 0 -> EINVAL");
	is_int(setup(id, fro, 0, R2M, RD, WIN), -EINVAL,
	       "moffset at the window's end -> EINVAL");
	is_int(setup(id, fro, 0, 2 * R2M, RD, WIN - R2M), -EINVAL,
	       "span running past the window -> EINVAL");
	is_int(setup(id, fro, 0, 8192, RD, ~0ull - 4095), -EINVAL,
	       "moffset + len overflowing -> EINVAL");
	is_int(setup(id, fro, ~0ull - 4095, 8192, RD, 2 * R2M), -EINVAL,
	       "foffset + len overflowing -> EINVAL");
	is_int(setup(id, fro, (1ull << 63) - 4096, 8192, RD, 2 * R2M), -EINVAL,
	       "foffset + len past INT64_MAX -> EINVAL");
	is_int(setup(id, fro, 0, R2M, RD | 4, 2 * R2M), -EINVAL,
	       "unknown flag -> EINVAL");
	is_int(setup(id2, fro, 0, R2M, RD, 2 * R2M), -EBADF,
	       "fh of another inode than the header's nodeid -> EBADF");
	is_int(setup(id, fro + (1ull << 32), 0, R2M, RD, 2 * R2M), -EBADF,
	       "stale fh -> EBADF");
	is_int(setup(FUSE_ROOT_ID, dfh, 0, R2M, RD, 2 * R2M), -EBADF,
	       "directory handle -> EBADF");
	is_int(setup(id, fro, 0, R2M, RD, 4096), -EINVAL,
	       "partial overlap with a live mapping -> EINVAL");
	is_int(setup(id, fro, 0, 2 * R2M, RD, 0), -EINVAL,
	       "span covering a live mapping and more -> EINVAL");
	is_int(setup(id, fro, 0, 4096, RD, R2M - 4096 + R2M), -EINVAL,
	       "span inside a live mapping -> EINVAL");
	is_int(rec.n, 0, "no refused SETUPMAPPING reached the hook");
	is_int(fuse_srv_dax_mappings(h.srv), 2, "still two live mappings");

	is_int(setup(id, frw, 0, R2M, WR, 0), 0,
	       "exact replace (read-only -> writable upgrade) accepted");
	ok(rec.n == 1 && rec.v[0].w && rec.v[0].moff == 0,
	   "the upgrade reached the hook as a writable map");
	is_int(fuse_srv_dax_mappings(h.srv), 2, "an upgrade adds no mapping");
	is_int(setup(id2, f2, 0, R2M, RD, 0), 0,
	       "exact replace by another file accepted");

	rec.n = 0;
	rec.fail = -ENOMEM;
	is_int(setup(id, fro, 0, R2M, RD, 2 * R2M), -ENOMEM,
	       "map hook failing -> its errno");
	is_int(fuse_srv_dax_mappings(h.srv), 2, "a failed map is not recorded");
	rec.fail = -EIO;
	is_int(setup(id, frw, 0, R2M, WR, 0), -EIO,
	       "failed replace -> the hook's errno");
	one = (struct fuse_removemapping_one){ 0, R2M };
	is_int(removem(id, 1, &one, 1), 0,
	       "the old record survives a failed replace (REMOVEMAPPING ok)");
	is_int(fuse_srv_dax_mappings(h.srv), 1, "one live mapping left");

	rec.n = 0;
	is_int(setup(id, frw, 0, 4096, WR, 3 * R2M), 0, "a 4 KiB mapping");
	is_int(setup(id, frw, 4096, 4096, WR, 3 * R2M + 4096), 0,
	       "an adjacent 4 KiB mapping");
	is_int(fuse_srv_dax_mappings(h.srv), 3, "three live mappings");
	fuse_srv_reset(h.srv);
	is_int(fuse_srv_dax_mappings(h.srv), 0, "reset forgets every mapping");
	is_int(rec.n, 2, "reset does not call the hooks (the window is gone)");
	fuse_srv_free(h.srv);
}

static void t_remove(void)
{
	struct fuse_srv_opts o = dax_opts();
	struct fuse_removemapping_one v[300];
	uint64_t id, fh;

	h_put_file("r1", "0123456789");
	h_start(&h, &o);
	h_init(&h, FUSE_MAP_ALIGNMENT, 0, NULL);
	id = h_ino(&h, FUSE_ROOT_ID, "r1");
	if (h_open(&h, id, O_RDONLY, &fh))
		tap_bail("open");
	for (unsigned i = 0; i < 4; i++)
		if (setup(id, fh, 0, R2M, RD, i * (uint64_t)R2M))
			tap_bail("setup");

	memset(v, 0, sizeof(v));
	rec.n = 0;
	is_int(removem(id, 257, v, 257), -EINVAL,
	       "REMOVEMAPPING count above the maximum (256) -> EINVAL");
	v[0] = (struct fuse_removemapping_one){ 0, R2M };
	v[1] = (struct fuse_removemapping_one){ R2M, R2M };
	is_int(removem(id, 2, v, 1), -EINVAL,
	       "payload shorter than count entries -> EINVAL");
	is_int(removem(id, 1, v, 2), -EINVAL,
	       "payload longer than count entries -> EINVAL");
	v[0] = (struct fuse_removemapping_one){ 0, 4096 };
	is_int(removem(id, 1, v, 1), -EINVAL,
	       "entry cutting a live mapping -> EINVAL");
	v[0] = (struct fuse_removemapping_one){ 4096, R2M };
	is_int(removem(id, 1, v, 1), -EINVAL,
	       "entry straddling two mappings -> EINVAL");
	v[0] = (struct fuse_removemapping_one){ 0, ~0ull };
	is_int(removem(id, 1, v, 1), -EINVAL,
	       "~0 length (no wildcard in the protocol) -> EINVAL");
	is_int(rec.n, 0, "no refused entry reached the unmap hook");
	is_int(fuse_srv_dax_mappings(h.srv), 4, "all four still live");

	v[0] = (struct fuse_removemapping_one){ 0, R2M };
	v[1] = (struct fuse_removemapping_one){ 2 * R2M, R2M };
	is_int(removem(id, 2, v, 2), 0, "good batch of two");
	ok(rec.n == 2 && !rec.v[0].map && rec.v[0].moff == 0 &&
	   rec.v[0].len == R2M && rec.v[1].moff == 2 * R2M,
	   "unmap hook called for each entry");
	is_int(fuse_srv_dax_mappings(h.srv), 2, "two left");
	is_int(removem(id, 1, v, 1), -EINVAL,
	       "entry with no live mapping (already removed) -> EINVAL");

	rec.n = 0;
	v[0] = (struct fuse_removemapping_one){ R2M, R2M };
	v[1] = (struct fuse_removemapping_one){ 0, R2M }; /* gone */
	v[2] = (struct fuse_removemapping_one){ 3 * R2M, R2M };
	is_int(removem(id, 3, v, 3), -EINVAL,
	       "batch with one bad entry -> its error");
	is_int(fuse_srv_dax_mappings(h.srv), 0,
	       "the good entries of that batch are removed");
	is_int(rec.n, 2, "the bad entry did not reach the hook");

	if (setup(id, fh, 0, R2M, RD, 0) || setup(id, fh, 0, R2M, RD, R2M))
		tap_bail("setup");
	v[0] = (struct fuse_removemapping_one){ 0, 2 * R2M };
	is_int(removem(id, 1, v, 1), 0,
	       "one entry covering two whole mappings");
	is_int(fuse_srv_dax_mappings(h.srv), 0, "both removed");

	if (setup(id, fh, 0, R2M, RD, 0))
		tap_bail("setup");
	rec.fail = -EIO;
	v[0] = (struct fuse_removemapping_one){ 0, R2M };
	is_int(removem(id, 1, v, 1), -EIO, "unmap hook failing -> its errno");
	is_int(fuse_srv_dax_mappings(h.srv), 1,
	       "a mapping the frontend kept stays recorded");
	is_int(removem(id, 0, v, 0), 0, "count 0, empty payload: nothing to do");

	rec.n = 0;
	is_int(h_req(&h, FUSE_DESTROY, 0, NOARG, NOARG, NOARG), 0, "DESTROY");
	ok(rec.n == 1 && !rec.v[0].map && rec.v[0].moff == 0 &&
	   rec.v[0].len == WIN,
	   "DESTROY with live mappings empties the whole window");
	is_int(fuse_srv_dax_mappings(h.srv), 0, "DESTROY forgets every mapping");
	fuse_srv_free(h.srv);
}

static uint32_t lookup_flags(const char *name)
{
	struct fuse_entry_out eo;

	if (h_lookup(&h, FUSE_ROOT_ID, name, &eo))
		return 0xdead;
	return eo.attr.flags;
}

static ino_t host_ino(const char *rel)
{
	struct stat st;

	return stat(h_path(rel), &st) == 0 ? st.st_ino : 0;
}

/*
 * SETUPMAPPING as Linux's fs/fuse/dax.c sends it: fh = -1 (the mapping is
 * the inode's, not an open file's), len 2 MiB even past end of file, READ
 * always, READ|WRITE to upgrade the same span.
 */
static void t_linux_client(void)
{
	struct fuse_srv_opts o = dax_opts();
	struct fuse_srv_dax_stats st;
	struct fuse_removemapping_one one[2];
	uint64_t id, did;

	h_put_file("lk", "ten bytes!");
	if (mkdir(h_path("ldir"), 0755) && errno != EEXIST)
		tap_bail("mkdir");
	h_start(&h, &o);
	h_init(&h, FUSE_MAP_ALIGNMENT, 0, NULL);
	id = h_ino(&h, FUSE_ROOT_ID, "lk");
	did = h_ino(&h, FUSE_ROOT_ID, "ldir");

	rec.n = 0;
	is_int(setup(id, UINT64_MAX, 0, R2M, RD, 0), 0,
	       "fh = -1, no open file at all: SETUPMAPPING read-only");
	ok(rec.n == 1 && rec.v[0].fd_ok && rec.v[0].accmode == O_RDONLY &&
	   rec.v[0].ino == host_ino("lk") && !rec.v[0].w,
	   "fh = -1: the daemon opened the inode's own file O_RDONLY");
	is_int(setup(id, UINT64_MAX, 0, R2M, WR, 0), 0,
	       "fh = -1: the same span again with READ|WRITE (upgrade)");
	ok(rec.n == 2 && rec.v[1].accmode == O_RDWR && rec.v[1].w &&
	   rec.v[1].ino == host_ino("lk"),
	   "upgrade: opened O_RDWR, mapped writable");
	is_int(fuse_srv_dax_mappings(h.srv), 1, "an upgrade adds no mapping");
	is_int(setup(id, UINT64_MAX, 4u << 20, R2M, RD, R2M), 0,
	       "fh = -1: a range wholly past end of file is mapped too");
	is_int(setup(did, UINT64_MAX, 0, R2M, RD, 2 * R2M), -EBADF,
	       "fh = -1 on a directory -> EBADF");
	ok(setup(0xdead0000beefull, UINT64_MAX, 0, R2M, RD, 2 * R2M) < 0,
	   "fh = -1 on a nodeid never looked up fails");
	rec.fail = -EAGAIN;
	is_int(setup(id, UINT64_MAX, 0, R2M, RD, 3 * R2M), -EIO,
	       "a frontend EAGAIN becomes EIO (Linux would retry EAGAIN forever)");
	is_int(fuse_srv_dax_mappings(h.srv), 2, "two live mappings");
	one[0] = (struct fuse_removemapping_one){ 0, R2M };
	one[1] = (struct fuse_removemapping_one){ R2M, R2M };
	is_int(removem(id, 2, one, 2), 0,
	       "REMOVEMAPPING of both in one batch, as at inode eviction");
	fuse_srv_dax_stats(h.srv, &st);
	ok(st.live == 0 && st.setups == 3 && st.removes == 2,
	   "counters: 3 set up (upgrade included), 2 removed, 0 live");

	is_int(setup(id, UINT64_MAX, 0, R2M, RD, 0), 0, "map again");
	rec.n = 0;
	h_init(&h, FUSE_MAP_ALIGNMENT, 0, NULL);
	ok(rec.n == 1 && !rec.v[0].map && rec.v[0].moff == 0 &&
	   rec.v[0].len == WIN,
	   "a second INIT (rebooted guest) empties the whole window");
	is_int(fuse_srv_dax_mappings(h.srv), 0, "and forgets the mapping");
	fuse_srv_free(h.srv);
}

static void skip(const char *why)
{
	printf("ok %d # SKIP %s\n", ++tap_n, why);
}

static void t_attr_dax(void)
{
	struct fuse_srv_opts o = dax_opts();
	struct fuse_attr a;
	char big[10000];
	uint64_t id, nid, fh, dfh;
	struct fsxattr fsx;
	int fd;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	h_put_file("big", big);
	h_put_file("small", "tiny");
	if (mkdir(h_path("adir"), 0755) && errno != EEXIST)
		tap_bail("mkdir");

	o.inode_dax = FUSE_SRV_INODE_DAX_SIZE;
	o.inode_dax_size = 8192;
	h_start(&h, &o);
	h_init(&h, FUSE_MAP_ALIGNMENT, FUSE_HAS_INODE_DAX >> 32, NULL);
	ok(lookup_flags("big") & FUSE_ATTR_DAX,
	   "size:8192: LOOKUP of a 10 KB file has FUSE_ATTR_DAX");
	ok(!(lookup_flags("small") & FUSE_ATTR_DAX),
	   "size:8192: LOOKUP of a 4-byte file has not");
	ok(!(lookup_flags("adir") & FUSE_ATTR_DAX), "never on a directory");
	id = h_ino(&h, FUSE_ROOT_ID, "big");
	ok(h_getattr(&h, id, &a) == 0 && (a.flags & FUSE_ATTR_DAX),
	   "GETATTR carries FUSE_ATTR_DAX too");
	ok(h_create(&h, FUSE_ROOT_ID, "fresh", 0644, 0, O_RDWR, &nid, &fh) == 0 &&
	   !(((struct fuse_entry_out *)h.reply)->attr.flags & FUSE_ATTR_DAX),
	   "CREATE of an empty file: no FUSE_ATTR_DAX");
	{
		struct fuse_entry_out eo;

		ok(h_opendir(&h, FUSE_ROOT_ID, &dfh) == 0 &&
		   h_read(&h, FUSE_READDIRPLUS, FUSE_ROOT_ID, dfh, 0, 65536) > 0 &&
		   h_dir_has(&h, true, "big", &eo) &&
		   (eo.attr.flags & FUSE_ATTR_DAX),
		   "READDIRPLUS entry of the big file has FUSE_ATTR_DAX");
		ok(h_dir_has(&h, true, "small", &eo) &&
		   !(eo.attr.flags & FUSE_ATTR_DAX),
		   "READDIRPLUS entry of the small file has not");
	}
	h_init(&h, FUSE_MAP_ALIGNMENT, 0, NULL);
	ok(!(lookup_flags("big") & FUSE_ATTR_DAX),
	   "without FUSE_HAS_INODE_DAX negotiated, no FUSE_ATTR_DAX");
	fuse_srv_free(h.srv);

	o.inode_dax = FUSE_SRV_INODE_DAX_NEVER;
	h_start(&h, &o);
	h_init(&h, FUSE_MAP_ALIGNMENT, FUSE_HAS_INODE_DAX >> 32, NULL);
	ok(!(lookup_flags("big") & FUSE_ATTR_DAX),
	   "never: no FUSE_ATTR_DAX on the big file");
	fuse_srv_free(h.srv);

	o = h_opts();
	o.inode_dax = FUSE_SRV_INODE_DAX_SIZE;
	o.inode_dax_size = 1;
	h_start(&h, &o);
	h_init(&h, 0, FUSE_HAS_INODE_DAX >> 32, NULL);
	ok(!(lookup_flags("big") & FUSE_ATTR_DAX),
	   "no window: the policy is ignored");
	fuse_srv_free(h.srv);

	o = dax_opts();
	o.inode_dax = FUSE_SRV_INODE_DAX_XFLAG;
	h_start(&h, &o);
	h_init(&h, FUSE_MAP_ALIGNMENT, FUSE_HAS_INODE_DAX >> 32, NULL);
	h_put_file("xf", "flagged");
	ok(!(lookup_flags("xf") & FUSE_ATTR_DAX) &&
	   !(lookup_flags("big") & FUSE_ATTR_DAX),
	   "xflag: files without FS_XFLAG_DAX have no FUSE_ATTR_DAX");
	fd = open(h_path("xf"), O_RDONLY);
	if (fd >= 0 && ioctl(fd, FS_IOC_FSGETXATTR, &fsx) == 0) {
		fsx.fsx_xflags |= FS_XFLAG_DAX;
		if (ioctl(fd, FS_IOC_FSSETXATTR, &fsx) < 0)
			fsx.fsx_xflags = 0;
		else if (ioctl(fd, FS_IOC_FSGETXATTR, &fsx) < 0)
			fsx.fsx_xflags = 0;
	} else {
		fsx.fsx_xflags = 0;
	}
	if (fd >= 0)
		close(fd);
	if (fsx.fsx_xflags & FS_XFLAG_DAX) {
		uint64_t xid = h_ino(&h, FUSE_ROOT_ID, "xf");

		ok(lookup_flags("xf") & FUSE_ATTR_DAX,
		   "xflag: a file with FS_XFLAG_DAX has FUSE_ATTR_DAX");
		ok(h_getattr(&h, xid, &a) == 0 && (a.flags & FUSE_ATTR_DAX),
		   "xflag: GETATTR too");
	} else {
		skip("the test directory's filesystem cannot set FS_XFLAG_DAX");
		skip("the test directory's filesystem cannot set FS_XFLAG_DAX");
	}
	fuse_srv_free(h.srv);
}

/*
 * Several threads map and unmap 2 MiB and 4 MiB spans of a 16-range window
 * at random, against hooks that take a while and keep their own model of
 * the window: what is mapped where, and which ranges a hook is changing.
 * The daemon must never let two hooks touch one range at once, must never
 * map over part of a mapping or unmap part of one, must have more than one
 * hook in flight at some point, and must end with a table that is exactly
 * the model. Every 11th hook call fails, so the undo paths run too.
 */
#define CSLOTS 16
#define CTHREADS 4
#define CITERS 400

static struct {
	pthread_mutex_t lock;
	int start[CSLOTS]; /* slot of the mapping that covers this one, or -1 */
	int nslots[CSLOTS]; /* at a mapping's first slot: its length */
	bool busy[CSLOTS];
	unsigned inflight, max_inflight, calls, violations;
	bool nofail;
} cm = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Take the slots of a hook call; false (a violation) if one is busy. */
static bool cm_enter(unsigned s0, unsigned n)
{
	bool ok = true;

	for (unsigned i = s0; i < s0 + n; i++) {
		ok &= !cm.busy[i];
		cm.busy[i] = true;
	}
	if (++cm.inflight > cm.max_inflight)
		cm.max_inflight = cm.inflight;
	return ok;
}

static int cm_leave(unsigned s0, unsigned n)
{
	for (unsigned i = s0; i < s0 + n; i++)
		cm.busy[i] = false;
	cm.inflight--;
	return ++cm.calls % 11 == 0 && !cm.nofail ? -EIO : 0;
}

static int slow_map(void *ctx, int fd, uint64_t fd_offset, uint64_t moffset,
		    uint64_t len, bool writable)
{
	unsigned s0 = (unsigned)(moffset / R2M), n = (unsigned)(len / R2M);
	int ret;

	(void)ctx, (void)fd, (void)fd_offset, (void)writable;
	pthread_mutex_lock(&cm.lock);
	if (!cm_enter(s0, n))
		cm.violations++;
	/* Empty, or exactly one mapping of this span (a replace). */
	for (unsigned i = s0; i < s0 + n; i++)
		if (cm.start[i] >= 0 &&
		    (cm.start[i] != (int)s0 || cm.nslots[s0] != (int)n))
			cm.violations++;
	pthread_mutex_unlock(&cm.lock);
	usleep(300);
	pthread_mutex_lock(&cm.lock);
	ret = cm_leave(s0, n);
	if (ret == 0) {
		for (unsigned i = s0; i < s0 + n; i++)
			cm.start[i] = (int)s0;
		cm.nslots[s0] = (int)n;
	}
	pthread_mutex_unlock(&cm.lock);
	return ret;
}

static int slow_unmap(void *ctx, uint64_t moffset, uint64_t len)
{
	unsigned s0 = (unsigned)(moffset / R2M), n = (unsigned)(len / R2M);
	int ret;

	(void)ctx;
	pthread_mutex_lock(&cm.lock);
	if (!cm_enter(s0, n))
		cm.violations++;
	/* Whole mappings only. */
	for (unsigned i = s0; i < s0 + n; i++) {
		int st = cm.start[i];

		if (st >= 0 && (st < (int)s0 ||
				st + cm.nslots[st] > (int)(s0 + n)))
			cm.violations++;
	}
	pthread_mutex_unlock(&cm.lock);
	usleep(300);
	pthread_mutex_lock(&cm.lock);
	ret = cm_leave(s0, n);
	if (ret == 0)
		for (unsigned i = s0; i < s0 + n; i++)
			cm.start[i] = -1;
	pthread_mutex_unlock(&cm.lock);
	return ret;
}

static struct fuse_srv *csrv;
static uint64_t cid;
static unsigned cfail[CTHREADS];

static void *c_run(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg, seed = 7919 * (t + 1);
	struct h *hh = calloc(1, sizeof(*hh));
	uint64_t fh;

	if (!hh)
		tap_bail("calloc");
	hh->srv = csrv;
	hh->unique = (uint64_t)(t + 1) << 40;
	if (h_open(hh, cid, O_RDWR, &fh)) {
		cfail[t]++;
		free(hh);
		return NULL;
	}
	for (int i = 0; i < CITERS; i++) {
		unsigned r = rand_r(&seed), n = r % 4 == 0 ? 2 : 1;
		unsigned s0 = (r >> 4) % (CSLOTS - 1);
		uint64_t moff = (uint64_t)s0 * R2M, len = (uint64_t)n * R2M;
		int ret;

		if (r & 8) {
			struct fuse_setupmapping_in in = {
				.fh = fh, .foffset = moff, .len = len,
				.flags = (r & 4) ? WR : RD, .moffset = moff };

			ret = h_req(hh, FUSE_SETUPMAPPING, cid, A(in), NOARG,
				    NOARG);
		} else {
			struct fuse_removemapping_in in = { .count = 1 };
			struct fuse_removemapping_one one = { moff, len };

			ret = h_req(hh, FUSE_REMOVEMAPPING, cid, A(in), A(one),
				    NOARG);
		}
		/* What a span may get from these requests, racing or not. */
		if (ret != 0 && ret != -EINVAL && ret != -EIO)
			cfail[t]++;
	}
	h_release(hh, FUSE_RELEASE, cid, fh);
	free(hh);
	return NULL;
}

static void t_concurrent(void)
{
	struct fuse_srv_opts o = h_opts();
	pthread_t th[CTHREADS];
	unsigned live = 0, removed_ok = 0, bad = 0;
	struct h hc;

	o.dax.map = slow_map;
	o.dax.unmap = slow_unmap;
	o.dax.window_size = (uint64_t)CSLOTS * R2M;
	for (unsigned i = 0; i < CSLOTS; i++)
		cm.start[i] = -1;
	h_put_file("conc", "data");
	h_start(&hc, &o);
	csrv = hc.srv;
	h_init(&hc, FUSE_MAP_ALIGNMENT, 0, NULL);
	cid = h_ino(&hc, FUSE_ROOT_ID, "conc");
	for (unsigned i = 0; i < CTHREADS; i++)
		pthread_create(&th[i], NULL, c_run, (void *)(uintptr_t)i);
	for (unsigned i = 0; i < CTHREADS; i++)
		pthread_join(th[i], NULL);
	for (unsigned i = 0; i < CTHREADS; i++)
		is_int(cfail[i], 0, "concurrent: thread %u got only 0, EINVAL or EIO", i);
	is_int(cm.violations, 0,
	       "concurrent: no hook ever overlapped another's span or cut a mapping");
	ok(cm.max_inflight > 1, "concurrent: hooks ran in parallel (%u at most)",
	   cm.max_inflight);
	{
		struct fuse_srv_dax_stats st;

		fuse_srv_dax_stats(csrv, &st);
		ok(st.most_inflight >= cm.max_inflight,
		   "concurrent: the daemon counts at least as many at once as the hooks saw (%llu)",
		   (unsigned long long)st.most_inflight);
	}
	/* The table must be the model: count, then remove each mapping. */
	for (unsigned i = 0; i < CSLOTS; i++)
		live += cm.start[i] == (int)i;
	is_int(fuse_srv_dax_mappings(csrv), live,
	       "concurrent: the table holds as many mappings as the window");
	cm.nofail = true;
	for (unsigned i = 0; i < CSLOTS; i++) {
		struct fuse_removemapping_in in = { .count = 1 };
		struct fuse_removemapping_one one = { (uint64_t)i * R2M,
						      (uint64_t)R2M };
		int ret;

		if (cm.start[i] != (int)i)
			continue;
		one.len = (uint64_t)cm.nslots[i] * R2M;
		ret = h_req(&hc, FUSE_REMOVEMAPPING, cid, A(in), A(one), NOARG);
		if (ret == 0)
			removed_ok++;
		else
			bad++;
	}
	is_int(bad, 0, "concurrent: every mapping of the model removes as a whole");
	is_int(removed_ok, live, "concurrent: %u mappings removed", live);
	is_int(fuse_srv_dax_mappings(csrv), 0, "concurrent: the table is empty");
	fuse_srv_free(csrv);
}

int main(void)
{
	h_setup_dir();
	t_init();
	t_setup();
	t_remove();
	t_linux_client();
	t_attr_dax();
	t_concurrent();
	return tap_done();
}
