// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libvdax public API, directories: streams over READDIR(PLUS), opened by
 * path or on a node. READDIRPLUS entries enter the cache as lookups would.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"

/* A directory stream over the open directory @f (which it takes). */
static int dir_new(struct vdax_file *f, struct vdax_dir **out)
{
	struct vdax_dir *d;

	d = calloc(1, sizeof(*d));
	if (d)
		d->buf = malloc(FC_DIRBUF);
	if (!d || !d->buf) {
		if (d)
			free(d);
		fc_file_release(f);
		return -ENOMEM;
	}
	d->f = f;
	*out = d;
	return 0;
}

VDAX_EXPORT int vdax_opendir(struct vdax *vd, const char *path,
			     struct vdax_dir **out)
{
	struct vdax_file *f;
	int ret;

	if (!out)
		return -EINVAL;
	ret = vdax_openat(vd, NULL, path, O_RDONLY | O_DIRECTORY, 0, &f);
	return ret ? ret : dir_new(f, out);
}

VDAX_EXPORT int vdax_opendir_node(struct vdax *vd, struct vdax_node *n,
				  struct vdax_dir **out)
{
	struct vdax_file *f;
	int ret;

	if (!out)
		return -EINVAL;
	ret = vdax_open_node(vd, n, O_RDONLY | O_DIRECTORY, &f);
	return ret ? ret : dir_new(f, out);
}

static int dir_fill(struct vdax_dir *d)
{
	struct vdax_file *f = d->f;
	struct vdax *vd = f->vd;
	struct fuse_read_in in = { .fh = f->fh, .offset = d->off,
				   .size = FC_DIRBUF };
	struct fc_call c = {
		.opcode = vd->readdirplus ? FUSE_READDIRPLUS : FUSE_READDIR,
		.nodeid = f->node->nodeid,
		.nin = 1,
		.in = { { &in, sizeof(in) } },
		.out = d->buf,
		.out_size = FC_DIRBUF,
	};
	int ret = fc_send(vd, &c);

	if (ret < 0)
		return ret;
	d->len = (size_t)ret;
	d->pos = 0;
	if (!ret)
		d->eof = true;
	return 0;
}

/*
 * The next entry of @d into *@ent; with READDIRPLUS also the lookup the
 * backend counted, which goes into the cache (as a lookup would) and, when
 * it does, into ent->st/ttl with attr_valid set.
 */
static int dir_next(struct vdax_dir *d, struct vdax_dirent_plus *ent)
{
	struct vdax *vd = d->f->vd;
	size_t hdr = vd->readdirplus ? FUSE_NAME_OFFSET_DIRENTPLUS :
				       FUSE_NAME_OFFSET;
	struct fuse_entry_out e;
	struct fuse_dirent de;
	struct fc_node *n;
	const char *name;
	size_t rec;
	int ret;

	if (d->pos >= d->len) {
		if (d->eof)
			return 0;
		ret = dir_fill(d);
		if (ret)
			return ret;
		if (d->eof)
			return 0;
	}
	if (d->len - d->pos < hdr)
		return -EIO;
	if (vd->readdirplus) {
		memcpy(&e, d->buf + d->pos, sizeof(e));
		memcpy(&de,
		       d->buf + d->pos + offsetof(struct fuse_direntplus, dirent),
		       sizeof(de));
	} else {
		memcpy(&de, d->buf + d->pos, sizeof(de));
	}
	if (de.namelen == 0 || de.namelen > FC_NAME_MAX)
		return -EIO;
	rec = FUSE_DIRENT_ALIGN(hdr + de.namelen);
	if (rec > d->len - d->pos && hdr + de.namelen > d->len - d->pos)
		return -EIO;
	name = d->buf + d->pos + hdr;
	if (memchr(name, '/', de.namelen) || memchr(name, '\0', de.namelen))
		return -EIO;
	d->pos += rec < d->len - d->pos ? rec : d->len - d->pos;
	d->off = de.off;
	memset(ent, 0, sizeof(*ent));
	memcpy(ent->name, name, de.namelen);
	ent->name[de.namelen] = '\0';
	ent->ino = de.ino;
	ent->type = (unsigned char)de.type;
	/* "." and "..": the kernel takes no lookup from them either. */
	if (!vd->readdirplus || !e.nodeid || !strcmp(ent->name, ".") ||
	    !strcmp(ent->name, ".."))
		return 1;
	/* The backend counted a lookup: keep it in the cache. */
	if (fc_cache_enter(vd, d->f->node, ent->name, de.namelen, &e, true, &n))
		return 1;
	fc_node_put(vd, n);
	if (((e.attr.mode >> 12) & 017) != ent->type && ent->type != DT_UNKNOWN)
		return 1; /* inconsistent: let the caller look it up */
	ent->attr_valid = 1;
	fc_attr_to_stat(&e.attr, &ent->st);
	ent->ttl = (struct vdax_ttl){ .entry_sec = e.entry_valid,
				      .entry_nsec = e.entry_valid_nsec,
				      .attr_sec = e.attr_valid,
				      .attr_nsec = e.attr_valid_nsec };
	return 1;
}

VDAX_EXPORT int vdax_readdir_plus(struct vdax_dir *d,
				  struct vdax_dirent_plus *ent)
{
	if (!d || !ent)
		return -EINVAL;
	return dir_next(d, ent);
}

VDAX_EXPORT int vdax_readdir(struct vdax_dir *d, struct vdax_dirent *ent)
{
	struct vdax_dirent_plus p;
	int ret;

	if (!d || !ent)
		return -EINVAL;
	ret = dir_next(d, &p);
	if (ret > 0) {
		ent->ino = p.ino;
		ent->type = p.type;
		memcpy(ent->name, p.name, sizeof(ent->name));
	}
	return ret;
}

VDAX_EXPORT void vdax_closedir(struct vdax_dir *d)
{
	if (!d)
		return;
	fc_file_release(d->f);
	free(d->buf);
	free(d);
}

