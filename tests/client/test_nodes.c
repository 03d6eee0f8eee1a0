// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libvdax node handles against a real backend: lookup counts paid back by
 * FORGET (seen as vdaxd's inode bound letting new lookups in again), nodes
 * that survive renames of their parents, the node forms of the namespace
 * calls checked on the host, symlink nodes never followed, and -ESTALE
 * once the backend forgot an inode.
 *
 * The -ESTALE case needs the backend to forget an inode libvdax still
 * holds, which a well-behaved client never makes it do: the test sends the
 * FORGET itself through libvdax's request layer (it links the library's
 * objects), as a confused client would.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vdax/vdax.h"
#include "client/client.h"
#include "backend.h"

/* vdaxd --max-inodes: inodes a guest may hold besides the root. */
#define MAX_INODES 8
#define STR_(x) #x
#define STR(x) STR_(x)

static struct tb_backend be;
static char hp[1024];

#define H(rel) tb_host(&be, rel, hp, sizeof(hp))

static bool is_vdaxd(void)
{
	return !strcmp(tb_kind(), "vdaxd");
}

static void host_put(const char *rel, const char *s)
{
	FILE *f = fopen(H(rel), "w");

	if (!f || fputs(s, f) < 0)
		tap_bail("host write failed");
	fclose(f);
}

static bool node_reads(struct vdax *vd, struct vdax_node *dir,
		       const char *name, const char *want)
{
	struct vdax_file *f;
	char buf[64] = { 0 };
	ssize_t n;

	if (vdax_openat(vd, dir, name, O_RDONLY, 0, &f))
		return false;
	n = vdax_read(f, buf, sizeof(buf) - 1);
	vdax_release(f);
	return n == (ssize_t)strlen(want) && !memcmp(buf, want, (size_t)n);
}

/* Lookups are counted once per node and paid back when nodes drop. */
static void test_lookup_counts(struct vdax *vd)
{
	struct vdax_node *root = vdax_root(vd), *n[MAX_INODES], *again, *x;
	char name[32];
	int ret = 0;

	for (int i = 0; i < MAX_INODES + 4; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		host_put(name, "x");
	}
	is_int(vdax_node_lookups(vd, root), 0, "root: no lookup counted");
	for (int i = 0; i < MAX_INODES; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		ret = vdax_lookup(vd, root, name, &n[i]);
		if (ret)
			break;
	}
	is_int(ret, 0, "lookup of %d names", MAX_INODES);
	if (ret)
		tap_bail("lookups failed");
	is_int(vdax_node_lookups(vd, n[0]), 1, "one lookup counted");
	is_int(vdax_lookup(vd, root, "c0", &again), 0, "lookup again");
	ok(again == n[0], "the same name gives the same node");
	is_int(vdax_node_lookups(vd, n[0]), 1,
	       "a cached lookup is not counted again");
	vdax_node_put(vd, again);
	if (is_vdaxd()) {
		/* vdaxd holds MAX_INODES inodes for us now: no room */
		is_int(vdax_lookup(vd, root, "c9", &x), -ENFILE,
		       "vdaxd --max-inodes=%d: one lookup more is ENFILE",
		       MAX_INODES);
	}
	vdax_drop_caches(vd);
	is_int(vdax_node_lookups(vd, n[1]), 1,
	       "dropping caches keeps held nodes");
	for (int i = 0; i < MAX_INODES; i++)
		vdax_node_put(vd, n[i]);
	vdax_drop_caches(vd);
	if (is_vdaxd()) {
		/*
		 * FORGET has no reply and goes on the high-priority queue:
		 * give vdaxd a moment to see it before the next lookups.
		 */
		ret = -ENFILE;
		for (int t = 0; t < 200 && ret == -ENFILE; t++) {
			ret = vdax_lookup(vd, root, "c9", &x);
			if (ret == -ENFILE)
				tb_sleep_ms(10);
		}
		is_int(ret, 0, "after the nodes dropped, vdaxd has room again");
		if (!ret)
			vdax_node_put(vd, x);
		vdax_drop_caches(vd);
		ret = 0;
		for (int i = 0; i < MAX_INODES && !ret; i++) {
			snprintf(name, sizeof(name), "c%d", i + 4);
			ret = vdax_lookup(vd, root, name, &n[i]);
			if (ret == -ENFILE) { /* a forget still on its way */
				tb_sleep_ms(20);
				ret = vdax_lookup(vd, root, name, &n[i]);
			}
			if (ret)
				break;
		}
		is_int(ret, 0,
		       "every lookup was paid back: %d new inodes fit again",
		       MAX_INODES);
		/* the kernel's way: forget each node as it goes */
		for (int i = 0; i < MAX_INODES && !ret; i++)
			vdax_node_forget(vd, n[i]);
		ret = -ENFILE;
		for (int t = 0; t < 200 && ret == -ENFILE; t++) {
			ret = vdax_lookup(vd, root, "c0", &x);
			if (ret == -ENFILE)
				tb_sleep_ms(10);
		}
		is_int(ret, 0,
		       "vdax_node_forget pays the lookups back at once");
		if (!ret)
			vdax_node_forget(vd, x);
		vdax_drop_caches(vd);
	}
	vdax_node_put(vd, root);
}

/* A node is its inode: renames above it change nothing. */
static void test_rename_parent(struct vdax *vd)
{
	struct vdax_node *root = vdax_root(vd), *d, *f, *w;
	struct stat st, hst;
	char dir[1024];

	mkdir(H("rp"), 0755);
	mkdir(H("rp/sub"), 0755);
	host_put("rp/sub/f", "data");
	is_int(vdax_walk(vd, root, "rp/sub", 0, &d), 0, "walk to rp/sub");
	is_int(vdax_lookup(vd, d, "f", &f), 0, "lookup f in it");
	snprintf(dir, sizeof(dir), "%s", H("rp"));
	is_int(rename(dir, H("rq")), 0, "host renames rp -> rq");
	is_int(vdax_getattr(vd, f, &st, NULL), 0, "getattr of f still works");
	stat(H("rq/sub/f"), &hst);
	ok(st.st_ino == hst.st_ino, "same inode as the host's rq/sub/f");
	ok(node_reads(vd, d, "f", "data"),
	   "openat(sub node, f) after the host rename");
	is_int(vdax_renameat2(vd, root, "rq", root, "rr", 0), 0,
	       "renameat2 rq -> rr through libvdax");
	is_int(vdax_getattr(vd, f, &st, NULL), 0, "getattr of f after it");
	is_int(vdax_walk(vd, NULL, "/rr/sub/f", 0, &w), 0, "walk /rr/sub/f");
	ok(vdax_node_id(w) == vdax_node_id(f), "the walk finds the same node");
	vdax_node_put(vd, w);
	is_int(vdax_walk(vd, d, "../sub/./f", 0, &w), 0,
	       "walk ../sub/./f from the sub node");
	ok(vdax_node_id(w) == vdax_node_id(f), "\"..\" from a start node");
	vdax_node_put(vd, w);
	is_int(vdax_walk(vd, NULL, "/rp/sub/f", 0, &w), -ENOENT,
	       "the old path is gone");
	vdax_node_put(vd, f);
	vdax_node_put(vd, d);
	vdax_node_put(vd, root);
}

/* The *at() calls on nodes, checked on the host. */
static void test_node_calls(struct vdax *vd)
{
	struct vdax_node *root = vdax_root(vd), *d, *d2, *f, *l, *h, *x;
	struct vdax_file *vf;
	struct stat st, hst, attr = { 0 };
	char buf[64];
	ssize_t n;

	is_int(vdax_mkdirat(vd, root, "nd", 0750, &d), 0, "mkdirat");
	ok(!stat(H("nd"), &hst) && S_ISDIR(hst.st_mode) &&
		   (hst.st_mode & 0777) == 0750,
	   "host: nd is a 0750 directory");
	is_int(vdax_mkdirat(vd, d, "in", 0755, &d2), 0, "mkdirat in a node");
	is_int(vdax_createat(vd, d, "f", O_RDWR | O_EXCL, 0600, &vf), 0,
	       "createat");
	is_int(vdax_write(vf, "node!", 5), 5, "write through it");
	f = vdax_file_node(vf);
	ok(f != NULL, "vdax_file_node");
	vdax_release(vf);
	ok(!stat(H("nd/f"), &hst) && hst.st_size == 5, "host: nd/f, 5 bytes");
	is_int(vdax_open_node(vd, f, O_RDONLY, &vf), 0, "open_node");
	is_int(vdax_read(vf, buf, sizeof(buf)), 5, "read it back");
	vdax_release(vf);
	is_int(vdax_open_node(vd, f, O_RDONLY | O_CREAT, &vf), -EINVAL,
	       "open_node with O_CREAT -> EINVAL");
	is_int(vdax_linkat(vd, f, "", d2, "hard", AT_EMPTY_PATH, &h), 0,
	       "linkat of a node into another directory");
	ok(vdax_node_id(h) == vdax_node_id(f), "the link is the same node");
	ok(!stat(H("nd/in/hard"), &hst) && hst.st_nlink == 2,
	   "host: nd/in/hard, nlink 2");
	is_int(vdax_getattr(vd, f, &st, NULL), 0, "getattr");
	is_int((int)st.st_nlink, 2, "nlink 2 through the node");
	vdax_node_put(vd, h);
	is_int(vdax_symlinkat(vd, "f", d, "l", &l), 0, "symlinkat");
	n = vdax_readlinkat(vd, l, "", buf, sizeof(buf));
	ok(n == 1 && buf[0] == 'f', "readlinkat of the node itself");
	is_int((int)vdax_readlinkat(vd, d, "l", buf, sizeof(buf)), 1,
	       "readlinkat by name");
	attr.st_uid = 4242;
	attr.st_gid = 4343;
	is_int(vdax_setattr(vd, l, NULL, &attr, VDAX_SET_UID | VDAX_SET_GID,
			    &st, NULL),
	       0, "setattr uid/gid on a symlink node (lchown)");
	ok(st.st_uid == 4242 && S_ISLNK(st.st_mode), "reply: the link's");
	ok(!lstat(H("nd/l"), &hst) && hst.st_uid == 4242 &&
		   hst.st_gid == 4343,
	   "host: the link changed owner");
	ok(!stat(H("nd/f"), &hst) && hst.st_uid != 4242,
	   "host: the target did not");
	is_int(vdax_lchown(vd, "/nd/l", 5151, (gid_t)-1), 0, "vdax_lchown");
	ok(!lstat(H("nd/l"), &hst) && hst.st_uid == 5151, "host: lchown");
	attr.st_mode = 0600;
	ok(vdax_setattr(vd, l, NULL, &attr, VDAX_SET_MODE, NULL, NULL) ==
		   -EOPNOTSUPP,
	   "mode of a symlink node: EOPNOTSUPP, as Linux");
	attr.st_size = 2;
	is_int(vdax_setattr(vd, f, NULL, &attr, VDAX_SET_SIZE, &st, NULL), 0,
	       "setattr size");
	ok(st.st_size == 2 && !stat(H("nd/f"), &hst) && hst.st_size == 2,
	   "size 2 here and on the host");
	is_int(vdax_setattr(vd, d, NULL, &attr, VDAX_SET_SIZE, NULL, NULL),
	       -EISDIR, "size of a directory -> EISDIR");
	is_int(vdax_setattr(vd, f, NULL, &attr, 1 << 20, NULL, NULL), -EINVAL,
	       "unknown setattr bits -> EINVAL");
	is_int(vdax_lookup(vd, d, "a/b", &x), -EINVAL,
	       "lookup of a name with '/' -> EINVAL");
	is_int(vdax_lookup(vd, d, "..", &x), -EINVAL, "lookup of .. -> EINVAL");
	is_int(vdax_lookup(vd, f, "x", &x), -ENOTDIR,
	       "lookup in a file -> ENOTDIR");
	memset(buf, 'n', sizeof(buf));
	{
		char longname[300];

		memset(longname, 'n', 256);
		longname[256] = '\0';
		is_int(vdax_lookup(vd, d, longname, &x), -ENAMETOOLONG,
		       "a 256-byte name -> ENAMETOOLONG");
	}
	is_int(vdax_access_node(vd, f, R_OK | W_OK), 0, "access R|W");
	is_int(vdax_setxattr_node(vd, f, "user.k", "v", 1, 0), 0,
	       "setxattr on a node");
	is_int((int)vdax_getxattr_node(vd, f, "user.k", buf, sizeof(buf)), 1,
	       "getxattr on a node");
	is_int(vdax_renameat2(vd, d, "f", d2, "moved", 0), 0,
	       "renameat2 across directory nodes");
	is_int(vdax_getattr(vd, f, &st, NULL), 0, "the node survives");
	ok(!access(H("nd/in/moved"), F_OK) && access(H("nd/f"), F_OK),
	   "host: moved");
	is_int(vdax_unlinkat(vd, d2, "moved", 0), 0, "unlinkat");
	is_int(vdax_unlinkat(vd, d2, "hard", 0), 0, "unlinkat the link");
	is_int(vdax_getattr(vd, f, &st, NULL), 0,
	       "a node with no name left still answers");
	is_int((int)st.st_nlink, 0, "nlink 0");
	is_int(vdax_unlinkat(vd, d, "in", 0), -EISDIR,
	       "unlinkat of a directory -> EISDIR");
	is_int(vdax_rmdirat(vd, d, "in"), 0, "rmdirat");
	is_int(vdax_unlinkat(vd, d, "l", 0), 0, "unlinkat the symlink");
	is_int(vdax_unlinkat(vd, root, "nd", AT_REMOVEDIR), 0,
	       "unlinkat AT_REMOVEDIR");
	ok(access(H("nd"), F_OK), "host: nd gone");
	vdax_node_put(vd, l);
	vdax_node_put(vd, f);
	vdax_node_put(vd, d2);
	vdax_node_put(vd, d);
	vdax_node_put(vd, root);
}

/* The backend forgets an inode libvdax holds: -ESTALE, then a fresh one. */
static void test_stale(struct vdax *vd)
{
	struct vdax_node *root = vdax_root(vd), *f, *g;
	struct fuse_forget_in in = { 0 };
	struct fc_call c = { .opcode = FUSE_FORGET, .nin = 1,
			     .noreply = true, .hiprio = true };
	struct stat st;
	int ret = -ESTALE;

	host_put("stale", "fresh");
	is_int(vdax_lookup(vd, root, "stale", &f), 0, "lookup stale");
	in.nlookup = vdax_node_lookups(vd, f);
	c.nodeid = vdax_node_id(f);
	c.in[0] = (struct iovec){ &in, sizeof(in) };
	is_int(fc_send(vd, &c), 0, "the backend is made to forget it");
	/* not from the cache, and the FORGET (no reply) has arrived */
	for (int t = 0; t < 200; t++) {
		fc_attr_invalidate(vd, fc_node_of(f));
		ret = vdax_getattr(vd, f, &st, NULL);
		if (ret)
			break;
		tb_sleep_ms(10);
	}
	if (!is_vdaxd()) {
		/* QEMU's virtiofsd answers an unknown node id with EBADF */
		ok(ret == -EBADF || ret == -ESTALE,
		   "virtiofsd: getattr of a forgotten node fails (%d)", ret);
		vdax_node_put(vd, f);
		vdax_node_put(vd, root);
		return;
	}
	is_int(ret, -ESTALE, "getattr of a forgotten node -> ESTALE");
	is_int(vdax_lookup(vd, root, "stale", &g), 0,
	       "the name is looked up afresh");
	ok(g != f, "as a new node");
	ok(node_reads(vd, root, "stale", "fresh"), "which works");
	is_int(vdax_getattr(vd, g, &st, NULL), 0, "getattr of the new node");
	vdax_node_put(vd, g);
	/* its FORGET now names an inode vdaxd no longer has: ignored */
	vdax_node_put(vd, f);
	vdax_drop_caches(vd);
	vdax_node_put(vd, root);
}

int main(void)
{
	struct vdax_opts o = { 0 };
	struct vdax *vd;
	int ret;

	tb_require();
	tb_init(&be);
	be.vdaxd_arg = "--max-inodes=" STR(MAX_INODES);
	ret = tb_start(&be);
	if (ret)
		tap_bail("backend did not start");
	o.socket_path = be.sock;
	o.timeout_ms = 10000;
	ret = tb_open_session(&o, &vd);
	if (ret) {
		tb_cleanup(&be);
		tap_bail("vdax_open_session failed");
	}
	test_lookup_counts(vd);
	/* each test starts with nothing cached (vdaxd's bound is small) */
	vdax_drop_caches(vd);
	test_rename_parent(vd);
	vdax_drop_caches(vd);
	test_node_calls(vd);
	vdax_drop_caches(vd);
	test_stale(vd);
	vdax_close(vd);
	tb_stop(&be);
	tb_cleanup(&be);
	return tap_done();
}
