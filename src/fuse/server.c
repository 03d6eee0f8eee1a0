// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The request edge: copy the in header out of guest memory once, check
 * every size against the dispatch table, call the worker, and write the out
 * header. Guest buffers are only touched through struct fuse_iov.
 *
 * Lock order: fuse_srv.init_lock -> fuse_dax_table.lock -> pt_fs locks
 * (the table lock and pt_fs locks are never held together in practice).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "fuse/idmap.h"
#include "fuse/internal.h"

/* Bodies up to this size are copied onto the stack. */
#define SMALL_BODY 512

int fuse_srv_new(const struct fuse_srv_opts *opts, struct fuse_srv **out)
{
	struct pt_opts po = {
		.root_fd = opts->root_fd,
		.proc_self_fd = opts->proc_self_fd,
		.max_inodes = opts->max_inodes,
		.file_handles = opts->file_handles,
		.announce_submounts = opts->announce_submounts,
		.allow_direct_io = opts->allow_direct_io,
		.preserve_noatime = opts->preserve_noatime,
		.xattrmap = opts->xattrmap,
		.dax_min_size = opts->inode_dax_size,
	};
	struct fuse_srv *srv;
	long ps = sysconf(_SC_PAGESIZE);
	int ret;

	if (opts->max_write && opts->max_write < 4096)
		return -EINVAL;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->opts = *opts;
	if (!srv->opts.max_write)
		srv->opts.max_write = FUSE_SRV_DEFAULT_MAX_WRITE;
	srv->page_size = ps > 0 ? (unsigned)ps : 4096;
	if (fuse_dax_on(srv)) {
		switch (opts->inode_dax) {
		case FUSE_SRV_INODE_DAX_SIZE:
			po.dax_policy = PT_DAX_SIZE;
			break;
		case FUSE_SRV_INODE_DAX_XFLAG:
			po.dax_policy = PT_DAX_XFLAG;
			break;
		default:
			po.dax_policy = PT_DAX_NEVER;
		}
	}
	ret = fuse_dax_init(srv);
	if (ret < 0) {
		free(srv);
		return ret;
	}
	ret = fuse_intr_init(srv);
	if (ret < 0) {
		fuse_dax_fini(srv);
		free(srv);
		return ret;
	}
	pthread_mutex_init(&srv->init_lock, NULL);
	ret = pt_new(&po, &srv->fs);
	if (ret < 0) {
		pthread_mutex_destroy(&srv->init_lock);
		fuse_intr_destroy(srv);
		fuse_dax_fini(srv);
		free(srv);
		return ret;
	}
	*out = srv;
	return 0;
}

void fuse_srv_reset_locked(struct fuse_srv *srv)
{
	__atomic_store_n(&srv->initialized, false, __ATOMIC_RELEASE);
	__atomic_store_n(&srv->flags, 0, __ATOMIC_RELAXED);
	pt_set_writeback(srv->fs, false);
	fuse_dax_forget_all(srv);
	pt_reset(srv->fs);
	fuse_intr_resume(srv);
}

void fuse_srv_reset(struct fuse_srv *srv)
{
	pthread_mutex_lock(&srv->init_lock);
	fuse_srv_reset_locked(srv);
	pthread_mutex_unlock(&srv->init_lock);
}

void fuse_srv_free(struct fuse_srv *srv)
{
	if (!srv)
		return;
	pt_free(srv->fs);
	fuse_dax_fini(srv);
	pthread_mutex_destroy(&srv->init_lock);
	fuse_intr_destroy(srv);
	free(srv);
}

/* The only place that writes an out header. Returns the reply length. */
static size_t reply_edge(struct fuse_req *req, const struct iovec *out,
			 unsigned out_cnt, int ret)
{
	struct fuse_out_header oh = { .unique = req->ih.unique };
	struct fuse_iov hdr;

	if (ret == FUSE_NO_REPLY)
		return 0;
	if (ret > 0 || ret < -4095)
		ret = -EIO;
	oh.error = ret;
	oh.len = sizeof(oh) + (ret < 0 ? 0 : (uint32_t)req->out_len);
	if (fuse_iov_init(&hdr, out, out_cnt) < 0 ||
	    fuse_iov_write(&hdr, &oh, sizeof(oh)) < 0)
		return 0;
	return oh.len;
}

/* Each name after the fixed part must end with a NUL inside the body. */
static int find_names(struct fuse_req *req, const struct fuse_op *op,
		      size_t pos)
{
	unsigned n = (op->flags & OP_NAME2) ? 2 : (op->flags & OP_NAME1) ? 1 : 0;


	for (unsigned i = 0; i < n; i++) {
		const char *s = req->arg + pos;
		const char *nul = memchr(s, '\0', req->arglen - pos);

		if (!nul)
			return -EINVAL;
		req->name[i] = s;
		pos += (size_t)(nul - s) + 1;
	}
	return 0;
}

/* SETXATTR's fixed part grew when FUSE_SETXATTR_EXT is negotiated. */
static uint32_t op_in_size(const struct fuse_req *req, const struct fuse_op *op)
{
	if (req->ih.opcode == FUSE_SETXATTR &&
	    (fuse_srv_flags(req->srv) & FUSE_SETXATTR_EXT))
		return sizeof(struct fuse_setxattr_in);
	return op->in_size;
}

/* The requests the kernel attaches FUSE_EXT_GROUPS to. */
static bool op_creates(uint32_t opcode)
{
	return opcode == FUSE_CREATE || opcode == FUSE_MKNOD ||
	       opcode == FUSE_MKDIR || opcode == FUSE_SYMLINK ||
	       opcode == FUSE_TMPFILE;
}

/*
 * A security context extension (--security-label): fuse_secctx_header
 * (whose nr_secctx sits where an extension's type does), then per context
 * a fuse_secctx, the xattr name and the value. The first one is kept.
 */
static int decode_secctx(struct fuse_req *req, const uint8_t *p, size_t size,
			 uint32_t nr)
{
	struct fuse_secctx sc;
	const char *name, *nul;
	size_t pos = sizeof(struct fuse_secctx_header), left;

	if (!nr)
		return 0;
	if (size - pos < sizeof(sc))
		return -EINVAL;
	memcpy(&sc, p + pos, sizeof(sc));
	pos += sizeof(sc);
	name = (const char *)p + pos;
	nul = memchr(name, '\0', size - pos);
	if (!nul || nul == name)
		return -EINVAL;
	pos += (size_t)(nul - name) + 1;
	left = size - pos;
	if (sc.size > left)
		return -EINVAL;
	req->secctx_name = name;
	req->secctx_value = p + pos;
	req->secctx_len = sc.size;
	return 0;
}

/*
 * The request extensions (@len bytes at @c): a chain of fuse_ext_header,
 * each a multiple of 8 bytes. FUSE_EXT_GROUPS (negotiated with
 * FUSE_CREATE_SUPP_GROUP) fills req->ctx's groups; a security context
 * (types up to FUSE_MAX_NR_SECCTX, with FUSE_SECURITY_CTX) the label of
 * the creation. -EINVAL for a malformed chain.
 */
static int decode_ext(struct fuse_req *req, struct fuse_iov *c, size_t len)
{
	uint64_t f = fuse_srv_flags(req->srv);
	uint8_t *buf = req->ext;
	size_t pos = 0;

	if (!(f & (FUSE_SRV_CREATE_SUPP_GROUP | FUSE_SECURITY_CTX)) ||
	    !op_creates(req->ih.opcode))
		return 0;
	if (len > sizeof(req->ext))
		return -EINVAL;
	if (fuse_iov_read(c, buf, len) < 0)
		return -EINVAL;
	while (pos < len) {
		struct fuse_ext_header xh;
		struct fuse_srv_supp_groups sg;

		if (len - pos < sizeof(xh))
			return -EINVAL;
		memcpy(&xh, buf + pos, sizeof(xh));
		if (xh.size < sizeof(xh) || xh.size % 8 || xh.size > len - pos)
			return -EINVAL;
		if (xh.type == FUSE_SRV_EXT_GROUPS) {
			size_t room = xh.size - sizeof(xh);

			if (room < sizeof(sg))
				return -EINVAL;
			memcpy(&sg, buf + pos + sizeof(xh), sizeof(sg));
			if (sg.nr_groups > (room - sizeof(sg)) / 4 ||
			    sg.nr_groups > PT_CTX_GROUPS)
				return -EINVAL;
			memcpy(req->ctx.groups, buf + pos + sizeof(xh) + sizeof(sg),
			       sg.nr_groups * 4);
			req->ctx.ngroups = sg.nr_groups;
			for (uint32_t i = 0; i < sg.nr_groups; i++)
				if (fuse_idmap_guest(req->srv->opts.gid_map,
						     req->ctx.groups[i],
						     &req->ctx.groups[i]))
					req->ctx.forbidden = true;
		} else if (xh.type <= FUSE_MAX_NR_SECCTX &&
			   (f & FUSE_SECURITY_CTX)) {
			int ret = decode_secctx(req, buf + pos, xh.size,
						xh.type);

			if (ret < 0)
				return ret;
		}
		pos += xh.size;
	}
	return 0;
}

/*
 * Everything decided before the worker runs. Returns 0 with the body copied
 * into @buf (or *heap), or -errno for the reply.
 */
static int decode(struct fuse_req *req, const struct fuse_op *op,
		  char *buf, char **heap)
{
	size_t body = req->ih.len - sizeof(req->ih);
	size_t ext = (size_t)req->ih.total_extlen * 8;
	uint32_t in_size = op_in_size(req, op);
	size_t copy;
	int ret;

	/* Extensions follow the body: the groups one is read, others skipped. */
	if (ext > body)
		return -EINVAL;
	body -= ext;
	if (ext) {
		struct fuse_iov c = req->in;

		if (fuse_iov_skip(&c, body) < 0)
			return -EINVAL;
		ret = decode_ext(req, &c, ext);
		if (ret < 0)
			return ret;
	}
	fuse_iov_limit(&req->in, body);
	if (body < in_size)
		return -EINVAL;
	copy = (op->flags & OP_DATA) ? in_size : body;
	if (copy > FUSE_SRV_MAX_BODY)
		return -E2BIG;
	if (copy > SMALL_BODY) {
		*heap = malloc(copy);
		if (!*heap)
			return -ENOMEM;
		buf = *heap;
	}
	ret = fuse_iov_read(&req->in, buf, copy);
	if (ret < 0)
		return ret;
	req->arg = buf;
	req->arglen = copy;
	return find_names(req, op, in_size);
}

/*
 * --readonly: what would change the shared directory gets EROFS, as from a
 * read-only mount: every modifying opcode, an OPEN asking for write access
 * or truncation, and a writable DAX mapping. Called after decode().
 */
static int readonly_check(const struct fuse_req *req)
{
	switch (req->ih.opcode) {
	case FUSE_SETATTR:
	case FUSE_SYMLINK:
	case FUSE_MKNOD:
	case FUSE_MKDIR:
	case FUSE_UNLINK:
	case FUSE_RMDIR:
	case FUSE_RENAME:
	case FUSE_RENAME2:
	case FUSE_LINK:
	case FUSE_WRITE:
	case FUSE_SETXATTR:
	case FUSE_REMOVEXATTR:
	case FUSE_CREATE:
	case FUSE_TMPFILE:
	case FUSE_FALLOCATE:
	case FUSE_COPY_FILE_RANGE:
		return -EROFS;
	case FUSE_OPEN: {
		const struct fuse_open_in *oi = (const void *)req->arg;

		if ((oi->flags & O_ACCMODE) != O_RDONLY ||
		    (oi->flags & (O_TRUNC | O_CREAT)))
			return -EROFS;
		return 0;
	}
	case FUSE_SETUPMAPPING: {
		const struct fuse_setupmapping_in *si = (const void *)req->arg;

		return (si->flags & FUSE_SETUPMAPPING_FLAG_WRITE) ? -EROFS : 0;
	}
	default:
		return 0;
	}
}

size_t fuse_srv_handle(struct fuse_srv *srv, const struct iovec *in,
		       unsigned in_cnt, const struct iovec *out, unsigned out_cnt)
{
	union {
		uint64_t align;
		char b[SMALL_BODY];
	} small;
	struct fuse_req req = { .srv = srv };
	const struct fuse_op *op = NULL;
	char *heap = NULL;
	size_t readable;
	int ret;

	if (fuse_iov_init(&req.in, in, in_cnt) < 0 ||
	    fuse_iov_init(&req.out, out, out_cnt) < 0)
		return 0;
	/* Without a whole header there is no unique to answer to. */
	if (fuse_iov_read(&req.in, &req.ih, sizeof(req.ih)) < 0)
		return 0;
	readable = fuse_iov_left(&req.in) + sizeof(req.ih);
	req.ctx.uid = req.ih.uid;
	req.ctx.gid = req.ih.gid;
	req.ctx.pid = req.ih.pid;
	/* --translate-uid/gid: act as the host ids (forbidden: no creating) */
	if (fuse_idmap_guest(srv->opts.uid_map, req.ih.uid, &req.ctx.uid) ||
	    fuse_idmap_guest(srv->opts.gid_map, req.ih.gid, &req.ctx.gid))
		req.ctx.forbidden = true;

	if (req.ih.opcode < fuse_ops_count && fuse_ops[req.ih.opcode].fn)
		op = &fuse_ops[req.ih.opcode];
	if (!(op && (op->flags & OP_NO_REPLY))) {
		if (fuse_iov_skip(&req.out, sizeof(struct fuse_out_header)) < 0)
			return 0;
	}

	if (req.ih.len < sizeof(req.ih) || req.ih.len > readable) {
		ret = -EINVAL;
	} else if (!op) {
		ret = -ENOSYS;
	} else if (!(op->flags & OP_PRE_INIT) &&
		   !__atomic_load_n(&srv->initialized, __ATOMIC_ACQUIRE)) {
		ret = -EIO;
	} else if (!(op->flags & OP_NO_REPLY) &&
		   fuse_iov_left(&req.out) < op->out_size) {
		ret = -EINVAL;
	} else {
		ret = decode(&req, op, small.b, &heap);
		if (ret == 0 && srv->opts.readonly)
			ret = readonly_check(&req);
		if (ret == 0)
			ret = op->fn(&req);
	}

	VLOG_TRACE("fuse: %s (%u) unique %llu nodeid %llu: %s",
		   op ? op->name : "?", req.ih.opcode,
		   (unsigned long long)req.ih.unique,
		   (unsigned long long)req.ih.nodeid,
		   ret < 0 ? strerror(-ret) : "ok");
	if (ret < 0 && ret != -ENOENT)
		VLOG_DEBUG("fuse: %s (%u) unique %llu: %s",
			   op ? op->name : "?", req.ih.opcode,
			   (unsigned long long)req.ih.unique, strerror(-ret));
	free(heap);
	if (op && (op->flags & OP_NO_REPLY))
		return 0;
	return reply_edge(&req, out, out_cnt, ret);
}
