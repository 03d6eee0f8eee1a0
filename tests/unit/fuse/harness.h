/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test harness for the FUSE server: builds requests in memory, splits them
 * over several iovecs (so the iov cursor is exercised at odd boundaries),
 * and decodes the reply.
 */
#ifndef VDAX_TEST_FUSE_HARNESS_H
#define VDAX_TEST_FUSE_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fuse/internal.h"
#include "tap.h"

#define H_BUF (1u << 17)

struct h {
	struct fuse_srv *srv;
	uint64_t unique;
	uint32_t uid, gid;
	char reply[H_BUF];   /* payload of the last reply */
	size_t reply_len;    /* payload bytes */
	size_t out_size;     /* writable bytes offered (default H_BUF) */
};

struct arg {
	const void *p;
	size_t n;
};

#define A(x) ((struct arg){ &(x), sizeof(x) })
#define S(s) ((struct arg){ (s), strlen(s) + 1 })
#define NOARG ((struct arg){ NULL, 0 })

/* Send a raw request buffer: split 3 ways; out split 2 ways. */
static inline size_t h_raw(struct h *h, const void *req, size_t len,
			   void *out, size_t outlen)
{
	struct iovec in[3], ov[2];
	size_t a = len > 7 ? 7 : len, b = len > 50 ? 50 : len;
	size_t o1 = outlen > 13 ? 13 : outlen;

	in[0] = (struct iovec){ (void *)req, a };
	in[1] = (struct iovec){ (char *)req + a, b - a };
	in[2] = (struct iovec){ (char *)req + b, len - b };
	ov[0] = (struct iovec){ out, o1 };
	ov[1] = (struct iovec){ (char *)out + o1, outlen - o1 };
	return fuse_srv_handle(h->srv, in, 3, ov, 2);
}

/*
 * Send opcode with up to three argument parts. Returns the reply's error
 * (0 or -errno), or 1 when there was no reply. The payload lands in
 * h->reply.
 */
static inline int h_req(struct h *h, uint32_t op, uint64_t nodeid,
			struct arg a1, struct arg a2, struct arg a3)
{
	static __thread char buf[H_BUF] __attribute__((aligned(8)));
	static __thread char out[H_BUF + 64];
	struct fuse_in_header *ih = (void *)buf;
	struct fuse_out_header oh;
	size_t len = sizeof(*ih), n;

	memset(ih, 0, sizeof(*ih));
	for (int i = 0; i < 3; i++) {
		struct arg a = i == 0 ? a1 : i == 1 ? a2 : a3;

		if (a.n)
			memcpy(buf + len, a.p, a.n);
		len += a.n;
	}
	ih->len = (uint32_t)len;
	ih->opcode = op;
	ih->unique = ++h->unique;
	ih->nodeid = nodeid;
	ih->uid = h->uid;
	ih->gid = h->gid;
	ih->pid = (uint32_t)getpid();
	n = h_raw(h, buf, len, out, h->out_size ? h->out_size : H_BUF);
	h->reply_len = 0;
	if (n == 0)
		return 1;
	if (n < sizeof(oh))
		return -9999;
	memcpy(&oh, out, sizeof(oh));
	if (oh.len != n || oh.unique != h->unique)
		return -9998;
	h->reply_len = n - sizeof(oh);
	memcpy(h->reply, out + sizeof(oh), h->reply_len);
	return oh.error;
}

static inline int h_init(struct h *h, uint32_t flags, uint32_t flags2,
			 struct fuse_init_out *res)
{
	struct fuse_init_in in = { .major = 7, .minor = 38,
				   .max_readahead = 65536,
				   .flags = flags | FUSE_INIT_EXT,
				   .flags2 = flags2 };
	int ret = h_req(h, FUSE_INIT, 0, A(in), NOARG, NOARG);

	if (ret == 0 && res)
		memcpy(res, h->reply, sizeof(*res));
	return ret;
}

static inline int h_lookup(struct h *h, uint64_t parent, const char *name,
			   struct fuse_entry_out *eo)
{
	int ret = h_req(h, FUSE_LOOKUP, parent, S(name), NOARG, NOARG);

	if (ret == 0 && eo)
		memcpy(eo, h->reply, sizeof(*eo));
	return ret;
}

static inline uint64_t h_ino(struct h *h, uint64_t parent, const char *name)
{
	struct fuse_entry_out eo;

	return h_lookup(h, parent, name, &eo) == 0 ? eo.nodeid : 0;
}

static inline int h_getattr(struct h *h, uint64_t nodeid, struct fuse_attr *a)
{
	struct fuse_getattr_in in = { 0 };
	int ret = h_req(h, FUSE_GETATTR, nodeid, A(in), NOARG, NOARG);

	if (ret == 0 && a)
		memcpy(a, &((struct fuse_attr_out *)h->reply)->attr, sizeof(*a));
	return ret;
}

static inline int h_open(struct h *h, uint64_t nodeid, uint32_t flags,
			 uint64_t *fh)
{
	struct fuse_open_in in = { .flags = flags };
	int ret = h_req(h, FUSE_OPEN, nodeid, A(in), NOARG, NOARG);

	if (ret == 0)
		*fh = ((struct fuse_open_out *)h->reply)->fh;
	return ret;
}

static inline int h_opendir(struct h *h, uint64_t nodeid, uint64_t *fh)
{
	struct fuse_open_in in = { .flags = O_RDONLY };
	int ret = h_req(h, FUSE_OPENDIR, nodeid, A(in), NOARG, NOARG);

	if (ret == 0)
		*fh = ((struct fuse_open_out *)h->reply)->fh;
	return ret;
}

static inline int h_create(struct h *h, uint64_t parent, const char *name,
			   uint32_t mode, uint32_t umask, uint32_t flags,
			   uint64_t *nodeid, uint64_t *fh)
{
	struct fuse_create_in in = { .flags = flags, .mode = S_IFREG | mode,
				     .umask = umask };
	int ret = h_req(h, FUSE_CREATE, parent, A(in), S(name), NOARG);

	if (ret == 0) {
		*nodeid = ((struct fuse_entry_out *)h->reply)->nodeid;
		*fh = ((struct fuse_open_out *)(h->reply +
			sizeof(struct fuse_entry_out)))->fh;
	}
	return ret;
}

/* Returns bytes written or -errno. */
static inline int h_write(struct h *h, uint64_t nodeid, uint64_t fh,
			  uint64_t off, const void *data, size_t len,
			  uint32_t wflags)
{
	struct fuse_write_in in = { .fh = fh, .offset = off,
				    .size = (uint32_t)len,
				    .write_flags = wflags };
	int ret = h_req(h, FUSE_WRITE, nodeid, A(in),
			(struct arg){ data, len }, NOARG);

	return ret < 0 ? ret : (int)((struct fuse_write_out *)h->reply)->size;
}

/* Returns bytes read (data in h->reply) or -errno. */
static inline int h_read(struct h *h, uint32_t op, uint64_t nodeid,
			 uint64_t fh, uint64_t off, uint32_t size)
{
	struct fuse_read_in in = { .fh = fh, .offset = off, .size = size };
	int ret = h_req(h, op, nodeid, A(in), NOARG, NOARG);

	return ret < 0 ? ret : (int)h->reply_len;
}

static inline int h_release(struct h *h, uint32_t op, uint64_t nodeid,
			    uint64_t fh)
{
	struct fuse_release_in in = { .fh = fh };

	return h_req(h, op, nodeid, A(in), NOARG, NOARG);
}

static inline void h_forget(struct h *h, uint64_t nodeid, uint64_t n)
{
	struct fuse_forget_in in = { .nlookup = n };

	h_req(h, FUSE_FORGET, nodeid, A(in), NOARG, NOARG);
}

/* Does the last READDIR(PLUS) reply list @name? Fills @eo for plus. */
static inline bool h_dir_has(struct h *h, bool plus, const char *name,
			     struct fuse_entry_out *eo)
{
	size_t pos = 0;

	while (pos < h->reply_len) {
		struct fuse_dirent *d;
		size_t sz;

		if (plus) {
			struct fuse_direntplus *p = (void *)(h->reply + pos);

			d = &p->dirent;
			sz = FUSE_DIRENTPLUS_SIZE(p);
			if (eo)
				*eo = p->entry_out;
		} else {
			d = (void *)(h->reply + pos);
			sz = FUSE_DIRENT_SIZE(d);
		}
		if (d->namelen == strlen(name) &&
		    !memcmp(d->name, name, d->namelen))
			return true;
		pos += sz;
	}
	return false;
}

#endif

/* ---- setup ---- */

static char h_tmpdir[256];
static int h_root_fd = -1, h_proc_fd = -1;

static inline void h_cleanup(void)
{
	char cmd[300];

	if (!h_tmpdir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h_tmpdir);
	if (system(cmd) != 0)
		diag("could not remove %s", h_tmpdir);
}

/* Make a temporary shared directory (mode 0755) and the fds to serve it. */
static inline void h_setup_dir(void)
{
	snprintf(h_tmpdir, sizeof(h_tmpdir), "/tmp/vdax-fuse-XXXXXX");
	if (!mkdtemp(h_tmpdir))
		tap_bail("mkdtemp");
	chmod(h_tmpdir, 0755);
	atexit(h_cleanup);
	h_root_fd = open(h_tmpdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	h_proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (h_root_fd < 0 || h_proc_fd < 0)
		tap_skip_all("cannot open the shared directory or /proc/self/fd");
}

static inline struct fuse_srv_opts h_opts(void)
{
	struct fuse_srv_opts o = {
		.root_fd = h_root_fd,
		.proc_self_fd = h_proc_fd,
		.cache = FUSE_SRV_CACHE_AUTO,
		.xattr = true,
		.readdirplus = true,
		.posix_lock = true,
		.flock = true,
	};

	return o;
}

static inline void h_start(struct h *h, const struct fuse_srv_opts *o)
{
	memset(h, 0, sizeof(*h));
	if (fuse_srv_new(o, &h->srv) < 0)
		tap_bail("fuse_srv_new");
}

/* Host-side helpers on the shared directory. */
static inline char *h_path(const char *rel)
{
	static char p[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", h_tmpdir, rel);
	return p[i];
}

static inline void h_put_file(const char *rel, const char *content)
{
	int fd = open(h_path(rel), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, content, strlen(content)) < 0)
		tap_bail("host file");
	close(fd);
}
