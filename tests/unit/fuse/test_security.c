// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Nothing the guest sends may reach outside the shared directory: path
 * components, symlinks (absolute, relative, chained, /proc magic links),
 * forged or stale nodeids and file handles, handles of the wrong kind.
 */
#include "harness.h"

static struct h h;

static void t_names(void)
{
	struct fuse_entry_out eo;
	char longname[300];
	struct fuse_mkdir_in mi = { .mode = 0755 };

	is_int(h_lookup(&h, 1, "..", &eo), 0, "LOOKUP .. at the root");
	is_int(eo.nodeid, FUSE_ROOT_ID, "... is the root itself");
	is_int(h_lookup(&h, 1, ".", &eo), 0, "LOOKUP . at the root");
	is_int(eo.nodeid, FUSE_ROOT_ID, "... is the root");
	is_int(h_lookup(&h, 1, "etc/passwd", NULL), -EINVAL,
	       "LOOKUP of a name with '/' -> EINVAL");
	is_int(h_lookup(&h, 1, "/etc", NULL), -EINVAL, "LOOKUP /etc -> EINVAL");
	is_int(h_lookup(&h, 1, "", NULL), -EINVAL, "LOOKUP \"\" -> EINVAL");
	memset(longname, 'a', 256);
	longname[256] = 0;
	is_int(h_lookup(&h, 1, longname, NULL), -ENAMETOOLONG,
	       "LOOKUP of 256 chars -> ENAMETOOLONG");
	is_int(h_req(&h, FUSE_MKDIR, 1, A(mi), S("../escape"), NOARG), -EINVAL,
	       "MKDIR ../escape -> EINVAL");
	is_int(h_req(&h, FUSE_MKDIR, 1, A(mi), S(".."), NOARG), -EINVAL,
	       "MKDIR .. -> EINVAL");
	{
		struct fuse_rename2_in rn = { .newdir = 1 };

		h_put_file("victim", "v");
		is_int(h_req(&h, FUSE_RENAME2, 1, A(rn), S("victim"),
			     S("../victim")), -EINVAL,
		       "RENAME to ../victim -> EINVAL");
		ok(access(h_path("victim"), F_OK) == 0, "victim stays");
	}
	is_int(h_req(&h, FUSE_UNLINK, 1, S(".."), NOARG, NOARG), -EINVAL,
	       "UNLINK .. -> EINVAL");

	/* ".." of a subdirectory stays inside. */
	{
		uint64_t d;

		h_req(&h, FUSE_MKDIR, 1, A(mi), S("sub"), NOARG);
		d = ((struct fuse_entry_out *)h.reply)->nodeid;
		is_int(h_lookup(&h, d, "..", &eo), 0, "LOOKUP .. of a subdir");
		is_int(eo.nodeid, FUSE_ROOT_ID, "... is the root");
	}
}

static void t_symlinks(void)
{
	struct fuse_entry_out eo;
	uint64_t id, fh = 0;
	struct fuse_create_in ci = { .flags = O_RDWR, .mode = S_IFREG | 0644 };
	char outside[300];

	if (symlink("/etc", h_path("etc")) < 0 ||
	    symlink("/etc/passwd", h_path("pw")) < 0 ||
	    symlink("../../../../../../etc/passwd", h_path("rel")) < 0 ||
	    symlink("chain2", h_path("chain1")) < 0 ||
	    symlink("pw", h_path("chain2")) < 0 ||
	    symlink("/proc/self/root", h_path("procroot")) < 0 ||
	    symlink("/proc/self/fd/0", h_path("procfd")) < 0)
		tap_bail("symlink");

	is_int(h_lookup(&h, 1, "etc", &eo), 0, "LOOKUP symlink to /etc");
	ok(S_ISLNK(eo.attr.mode), "... is a symlink, not /etc");
	id = eo.nodeid;
	is_int(h_lookup(&h, id, "passwd", NULL), -ENOTDIR,
	       "LOOKUP through the symlink -> ENOTDIR");
	is_int(h_open(&h, id, O_RDONLY, &fh), -ELOOP, "OPEN symlink to /etc -> ELOOP");
	is_int(h_opendir(&h, id, &fh), -ENOTDIR, "OPENDIR symlink -> ENOTDIR");

	id = h_ino(&h, 1, "pw");
	is_int(h_open(&h, id, O_RDONLY, &fh), -ELOOP,
	       "OPEN absolute symlink to /etc/passwd -> ELOOP");
	is_int(h_req(&h, FUSE_READLINK, id, NOARG, NOARG, NOARG), 0, "READLINK pw");
	ok(h.reply_len == 11 && !memcmp(h.reply, "/etc/passwd", 11),
	   "READLINK returns the string as-is");
	{
		struct fuse_getattr_in gi = { 0 };
		struct fuse_attr_out *ao = (void *)h.reply;
		struct stat st;

		lstat(h_path("pw"), &st);
		h_req(&h, FUSE_GETATTR, id, A(gi), NOARG, NOARG);
		ok(ao->attr.ino == st.st_ino && S_ISLNK(ao->attr.mode),
		   "GETATTR describes the link, not /etc/passwd");
	}
	{
		struct fuse_setattr_in sa = { .valid = FATTR_SIZE, .size = 0 };
		struct stat st;

		is_int(h_req(&h, FUSE_SETATTR, id, A(sa), NOARG, NOARG) < 0, 1,
		       "SETATTR size on a symlink fails");
		stat("/etc/passwd", &st);
		ok(st.st_size > 0, "/etc/passwd untouched");
	}
	id = h_ino(&h, 1, "rel");
	is_int(h_open(&h, id, O_RDONLY, &fh), -ELOOP,
	       "OPEN relative ../../ symlink -> ELOOP");
	id = h_ino(&h, 1, "chain1");
	is_int(h_open(&h, id, O_RDONLY, &fh), -ELOOP, "OPEN symlink chain -> ELOOP");
	id = h_ino(&h, 1, "procroot");
	ok(id != 0, "LOOKUP /proc/self/root link");
	is_int(h_lookup(&h, id, "etc", NULL), -ENOTDIR,
	       "LOOKUP through the /proc magic link -> ENOTDIR");
	is_int(h_open(&h, id, O_RDONLY, &fh), -ELOOP, "OPEN /proc link -> ELOOP");
	id = h_ino(&h, 1, "procfd");
	is_int(h_open(&h, id, O_RDONLY, &fh), -ELOOP,
	       "OPEN link to /proc/self/fd/0 -> ELOOP");

	/* CREATE over a dangling symlink pointing outside. */
	snprintf(outside, sizeof(outside), "%s-outside", h_tmpdir);
	unlink(outside);
	if (symlink(outside, h_path("dangle")) < 0)
		tap_bail("symlink");
	is_int(h_req(&h, FUSE_CREATE, 1, A(ci), S("dangle"), NOARG), -ELOOP,
	       "CREATE over a symlink -> ELOOP");
	ok(access(outside, F_OK) < 0, "nothing created outside");
	{
		struct fuse_mkdir_in mi = { .mode = 0755 };

		is_int(h_req(&h, FUSE_MKDIR, 1, A(mi), S("dangle"), NOARG), -EEXIST,
		       "MKDIR over a symlink -> EEXIST");
	}
	/* xattrs on a symlink: never on its target. */
	{
		struct fuse_getxattr_in gi = { .size = 256 };
		int ret;

		id = h_ino(&h, 1, "pw");
		ret = h_req(&h, FUSE_LISTXATTR, id, A(gi), NOARG, NOARG);
		ok(ret <= 0, "LISTXATTR on a symlink does not crash (%d)", ret);
	}
	/* A symlink inode may not become a link parent or rename target dir. */
	{
		struct fuse_link_in li = { .oldnodeid = h_ino(&h, 1, "victim") };

		is_int(h_req(&h, FUSE_LINK, h_ino(&h, 1, "etc"), A(li), S("x"),
			     NOARG) < 0, 1, "LINK into a symlink-to-dir fails");
		ok(access("/etc/x", F_OK) < 0, "no /etc/x");
	}
}

static void t_ids(void)
{
	struct fuse_link_in li;
	uint64_t id, fh = 0, dfh = 0, id2, fh2 = 0;
	int ret;

	is_int(h_getattr(&h, 0, NULL), -ESTALE, "nodeid 0 -> ESTALE");
	is_int(h_getattr(&h, ~0ull, NULL), -ESTALE, "nodeid ~0 -> ESTALE");
	is_int(h_getattr(&h, 0x7fffffffull, NULL), -ESTALE,
	       "index beyond the table -> ESTALE");
	is_int(h_getattr(&h, (5ull << 32) | 1, NULL), -ESTALE,
	       "root index with a wrong generation -> ESTALE");
	is_int(h_lookup(&h, 12345, "x", NULL), -ESTALE, "LOOKUP under a bogus parent");

	/* Stale generation after FORGET; slot reuse must not revive it. */
	h_put_file("g1", "1");
	h_put_file("g2", "2");
	id = h_ino(&h, 1, "g1");
	h_forget(&h, id, 1);
	id2 = h_ino(&h, 1, "g2");
	ok((uint32_t)id2 == (uint32_t)id && id2 != id,
	   "freed slot reused with a new generation");
	is_int(h_getattr(&h, id, NULL), -ESTALE, "old generation -> ESTALE");
	is_int(h_getattr(&h, id + (1ull << 32) * 5, NULL), -ESTALE,
	       "future generation -> ESTALE");
	h_forget(&h, id, 100);
	is_int(h_getattr(&h, id2, NULL), 0, "FORGET of a stale id left the new one");

	/* LINK only takes nodeids from the table. */
	li.oldnodeid = 0xdead00000007ull;
	is_int(h_req(&h, FUSE_LINK, 1, A(li), S("stolen"), NOARG), -ESTALE,
	       "LINK of a forged nodeid -> ESTALE");
	li.oldnodeid = 0;
	is_int(h_req(&h, FUSE_LINK, 1, A(li), S("stolen"), NOARG), -ESTALE,
	       "LINK of nodeid 0 -> ESTALE");
	li.oldnodeid = 1;
	is_int(h_req(&h, FUSE_LINK, 1, A(li), S("rootlink"), NOARG), -EPERM,
	       "LINK of a directory -> EPERM");

	/* File handles. */
	ret = h_open(&h, id2, O_RDWR, &fh);
	is_int(ret, 0, "OPEN g2");
	is_int(h_read(&h, FUSE_READ, id2, fh ^ (1ull << 32), 0, 10), -EBADF,
	       "READ with a wrong fh generation -> EBADF");
	is_int(h_read(&h, FUSE_READ, id2, 0xffffull, 0, 10), -EBADF,
	       "READ with an unallocated fh -> EBADF");
	is_int(h_read(&h, FUSE_READ, 1, fh, 0, 10), -EBADF,
	       "READ with a handle of another inode -> EBADF");
	is_int(h_read(&h, FUSE_READDIR, id2, fh, 0, 4096), -EBADF,
	       "READDIR with a file handle -> EBADF");
	h_opendir(&h, 1, &dfh);
	is_int(h_read(&h, FUSE_READ, 1, dfh, 0, 10), -EBADF,
	       "READ with a directory handle -> EBADF");
	is_int(h_write(&h, 1, dfh, 0, "x", 1, 0), -EBADF,
	       "WRITE with a directory handle -> EBADF");
	is_int(h_release(&h, FUSE_RELEASE, 1, dfh), -EBADF,
	       "RELEASE of a dir handle as a file -> EBADF");
	is_int(h_release(&h, FUSE_RELEASEDIR, 1, dfh), 0, "RELEASEDIR");
	is_int(h_release(&h, FUSE_RELEASE, id2, fh), 0, "RELEASE");
	is_int(h_read(&h, FUSE_READ, id2, fh, 0, 10), -EBADF,
	       "READ after RELEASE -> EBADF");
	is_int(h_release(&h, FUSE_RELEASE, id2, fh), -EBADF,
	       "double RELEASE -> EBADF");
	h_open(&h, id2, O_RDONLY, &fh2);
	ok(fh2 != fh, "reused handle slot has a new fh");
	is_int(h_read(&h, FUSE_READ, id2, fh, 0, 10), -EBADF,
	       "old fh still refused after slot reuse");
	is_int(h_write(&h, id2, fh2, 0, "x", 1, 0), -EBADF,
	       "WRITE on a read-only handle -> EBADF");
	{
		struct fuse_write_in w = { .fh = fh2, .size = 100 };

		is_int(h_req(&h, FUSE_WRITE, id2, A(w), (struct arg){ "ab", 2 },
			     NOARG), -EINVAL,
		       "WRITE size beyond the data sent -> EINVAL");
	}
	{
		struct fuse_read_in r = { .fh = fh2, .offset = ~0ull, .size = 10 };

		is_int(h_req(&h, FUSE_READ, id2, A(r), NOARG, NOARG), -EINVAL,
		       "READ at offset 2^64-1 -> EINVAL");
	}
	h_release(&h, FUSE_RELEASE, id2, fh2);
}

static void t_devices(void)
{
	struct fuse_mknod_in mn = { .mode = S_IFCHR | 0666,
				    .rdev = (1 << 8) | 3 }; /* 1:3 = /dev/null */
	int ret = h_req(&h, FUSE_MKNOD, 1, A(mn), S("null"), NOARG);
	uint64_t fh;

	if (ret == -EPERM) {
		ok(1, "# SKIP mknod not permitted here");
		return;
	}
	is_int(ret, 0, "MKNOD char device (as the host permits)");
	is_int(h_open(&h, ((struct fuse_entry_out *)h.reply)->nodeid, O_RDWR,
		      &fh), -ENXIO, "OPEN of a device node by the daemon -> ENXIO");
	mn.mode = S_IFIFO | 0600;
	is_int(h_req(&h, FUSE_MKNOD, 1, A(mn), S("fifo"), NOARG), 0, "MKNOD FIFO");
	is_int(h_open(&h, ((struct fuse_entry_out *)h.reply)->nodeid, O_RDONLY,
		      &fh), -ENXIO, "OPEN of a FIFO (would block) -> ENXIO");
	mn.mode = S_IFLNK | 0777;
	is_int(h_req(&h, FUSE_MKNOD, 1, A(mn), S("badlnk"), NOARG), -EINVAL,
	       "MKNOD of S_IFLNK -> EINVAL");
}

int main(void)
{
	struct fuse_srv_opts o;

	h_setup_dir();
	o = h_opts();
	h_start(&h, &o);
	if (h_init(&h, 0xffffffffu, 0, NULL) != 0)
		tap_bail("INIT");
	t_names();
	t_symlinks();
	t_ids();
	t_devices();
	fuse_srv_free(h.srv);
	return tap_done();
}
