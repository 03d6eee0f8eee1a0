// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libvdax public API, the session: connect, FUSE_INIT, close, and the
 * node handles themselves (the root, references, lookup counts).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "client/client.h"
#include "dax/dax.h"

static int fc_init(struct vdax *vd)
{
	struct fuse_init_in in = {
		.major = FUSE_KERNEL_VERSION,
		.minor = FUSE_KERNEL_MINOR_VERSION,
		.max_readahead = 1u << 20,
		.flags = FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | FUSE_FLOCK_LOCKS |
			 FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES |
			 FUSE_DO_READDIRPLUS | FUSE_MAX_PAGES |
			 FUSE_PARALLEL_DIROPS | FUSE_INIT_EXT,
		.flags2 = 0,
	};
	struct fuse_init_out out = { 0 };
	struct fc_call c = {
		.opcode = FUSE_INIT,
		.nodeid = 0,
		.nin = 1,
		.in = { { &in, sizeof(in) } },
		.out = &out,
		.out_size = sizeof(out),
		.out_min = FUSE_COMPAT_22_INIT_OUT_SIZE,
	};
	size_t mw, cap;
	int ret;

	fc_dax_init_flags(vd, &in);
	ret = fc_send(vd, &c);
	if (ret < 0)
		return ret == -ENOTCONN ? ret : -EPROTO;
	if (out.major != FUSE_KERNEL_VERSION || out.minor < 12) {
		VLOG_ERR("vdax: backend speaks FUSE %u.%u, need 7.12+",
			 out.major, out.minor);
		return -EPROTO;
	}
	vd->minor = out.minor < FUSE_KERNEL_MINOR_VERSION ?
			    out.minor :
			    FUSE_KERNEL_MINOR_VERSION;
	vd->init_flags = out.flags;
	vd->readdirplus = out.flags & FUSE_DO_READDIRPLUS;
	mw = out.max_write ? out.max_write : 4096;
	if ((out.flags & FUSE_MAX_PAGES) && out.max_pages &&
	    (size_t)out.max_pages * 4096 < mw)
		mw = (size_t)out.max_pages * 4096;
	if (!(out.flags & FUSE_BIG_WRITES) && mw > 4096)
		mw = 4096;
	cap = vdx_max_req(vd->dev) / 4;
	cap = cap > 8192 ? cap - 4096 : 4096;
	if (mw > cap)
		mw = cap;
	if (mw > FC_MAX_CHUNK)
		mw = FC_MAX_CHUNK;
	vd->max_write = mw;
	return fc_dax_init_reply(vd, &out);
}

VDAX_EXPORT int vdax_open_session(const struct vdax_opts *opts,
				  struct vdax **out)
{
	struct vdx_cfg cfg = { 0 };
	struct fc_opts o = { 0 };
	struct vdax *vd;
	int ret;

	if (!opts || !out || !opts->socket_path)
		return -EINVAL;
	cfg.socket_path = opts->socket_path;
	cfg.mem_size = opts->mem_size;
	cfg.num_queues = opts->num_queues;
	cfg.queue_size = opts->queue_size;
	o.timeout_ms = opts->timeout_ms;
	ret = fc_parse_options(opts->options, &cfg, &o);
	if (ret)
		return ret;
	vd = calloc(1, sizeof(*vd));
	if (!vd)
		return -ENOMEM;
	vd->timeout_ms = o.timeout_ms;
	vd->cache_max = o.cache_max;
	ret = fc_cache_init(vd);
	if (ret) {
		free(vd);
		return ret;
	}
	cfg.want_shmem = o.dax_mode != FC_DAX_NEVER;
	cfg.backend_req = fc_dax_backend_req;
	cfg.backend_req_opaque = vd;
	ret = vdx_dev_open(&cfg, &vd->dev);
	if (ret)
		goto fail;
	ret = fc_dax_setup(vd, &o);
	if (ret)
		goto fail;
	ret = fc_init(vd);
	if (ret)
		goto fail;
	*out = vd;
	return 0;
fail:
	fc_cache_destroy(vd);
	fc_dax_conn_fini(vd);
	if (vd->dev)
		vdx_dev_close(vd->dev);
	vd->dev = NULL;
	fc_dax_window_fini(vd);
	free(vd);
	return ret;
}

VDAX_EXPORT void vdax_close(struct vdax *vd)
{
	if (!vd)
		return;
	fc_mmap_session_close(vd);
	/*
	 * Evicting DAX nodes frees their ranges: before the conn goes. Not
	 * one FUSE_REMOVEMAPPING each: the window goes as a whole.
	 */
	if (vd->dax)
		dax_conn_closing(vd->dax);
	fc_cache_destroy(vd);
	fc_dax_conn_fini(vd);
	vdx_dev_close(vd->dev);
	fc_dax_window_fini(vd);
	free(vd);
}

VDAX_EXPORT void vdax_set_timeout(struct vdax *vd, unsigned timeout_ms)
{
	__atomic_store_n(&vd->timeout_ms, timeout_ms, __ATOMIC_RELAXED);
}

VDAX_EXPORT size_t vdax_max_write(const struct vdax *vd)
{
	return vd->max_write;
}

VDAX_EXPORT unsigned vdax_proto_minor(const struct vdax *vd)
{
	return vd->minor;
}

VDAX_EXPORT int vdax_syncfs(struct vdax *vd)
{
	struct fuse_syncfs_in in = { 0 };
	struct fc_call c = { .opcode = FUSE_SYNCFS,
			     .nodeid = FUSE_ROOT_ID,
			     .nin = 1,
			     .in = { { &in, sizeof(in) } } };
	int ret;

	if (!vd)
		return -EINVAL;
	if (__atomic_load_n(&vd->no_syncfs, __ATOMIC_RELAXED))
		return vdx_dev_broken(vd->dev) ? -ENOTCONN : 0;
	ret = fc_send(vd, &c);
	if (ret == -ENOSYS) {
		__atomic_store_n(&vd->no_syncfs, true, __ATOMIC_RELAXED);
		ret = 0;
	}
	return ret > 0 ? 0 : ret;
}


/* ---------------- node handles ---------------- */

VDAX_EXPORT struct vdax_node *vdax_root(struct vdax *vd)
{
	if (!vd)
		return NULL;
	fc_node_get(vd, vd->root);
	return fc_vnode(vd->root);
}

VDAX_EXPORT struct vdax_node *vdax_node_get(struct vdax *vd,
					    struct vdax_node *n)
{
	if (vd && n)
		fc_node_get(vd, fc_node_of(n));
	return n;
}

VDAX_EXPORT void vdax_node_put(struct vdax *vd, struct vdax_node *n)
{
	if (vd && n)
		fc_node_put(vd, fc_node_of(n));
}

VDAX_EXPORT void vdax_node_forget(struct vdax *vd, struct vdax_node *n)
{
	if (vd && n && fc_node_of(n) != vd->root)
		fc_node_put_forget(vd, fc_node_of(n));
	else
		vdax_node_put(vd, n);
}

VDAX_EXPORT uint64_t vdax_node_id(const struct vdax_node *n)
{
	return n ? ((const struct fc_node *)(const void *)n)->nodeid : 0;
}

VDAX_EXPORT uint64_t vdax_node_lookups(struct vdax *vd, struct vdax_node *n)
{
	return vd && n ? fc_node_nlookup(vd, fc_node_of(n)) : 0;
}

VDAX_EXPORT void vdax_drop_caches(struct vdax *vd)
{
	if (vd)
		fc_cache_shrink_all(vd);
}
