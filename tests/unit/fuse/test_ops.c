// SPDX-License-Identifier: GPL-2.0-or-later
/* FUSE operations end to end over a temporary shared directory. */
#include <sys/xattr.h>

#include "harness.h"

static struct h h;

static void t_lookup_forget(void)
{
	struct fuse_entry_out eo, eo2;
	struct fuse_attr a;
	uint64_t id;
	struct stat st;

	h_put_file("hello", "hello world\n");
	stat(h_path("hello"), &st);
	is_int(h_lookup(&h, FUSE_ROOT_ID, "hello", &eo), 0, "LOOKUP hello");
	ok(eo.nodeid > FUSE_ROOT_ID, "nodeid is not the root");
	is_int(eo.attr.size, 12, "attr size");
	is_int(eo.attr.ino, st.st_ino, "attr ino is the host inode number");
	ok(S_ISREG(eo.attr.mode), "regular file");
	is_int(eo.entry_valid, 1, "cache=auto: 1 s entry timeout");
	is_int(h_lookup(&h, FUSE_ROOT_ID, "hello", &eo2), 0, "LOOKUP again");
	is_int(eo2.nodeid, eo.nodeid, "same nodeid for the same inode");
	id = eo.nodeid;
	is_int(pt_nlookup(h.srv->fs, id), 2, "nlookup counts both lookups");
	h_forget(&h, id, 1);
	is_int(pt_nlookup(h.srv->fs, id), 1, "FORGET 1 leaves 1");
	is_int(h_getattr(&h, id, &a), 0, "GETATTR still works");
	is_int(a.size, 12, "GETATTR size");
	h_forget(&h, id, 1);
	is_int(h_getattr(&h, id, NULL), -ESTALE, "GETATTR after the last FORGET -> ESTALE");
	is_int(h_lookup(&h, FUSE_ROOT_ID, "nope", NULL), -ENOENT, "LOOKUP missing -> ENOENT");

	/* BATCH_FORGET */
	{
		struct {
			struct fuse_batch_forget_in in;
			struct fuse_forget_one one[2];
		} bf = { { 2, 0 }, { { 0, 3 }, { 0, 1 } } };
		uint64_t before = pt_inode_count(h.srv->fs);

		h_put_file("b1", "");
		h_put_file("b2", "");
		bf.one[0].nodeid = h_ino(&h, 1, "b1");
		h_ino(&h, 1, "b1");
		h_ino(&h, 1, "b1");
		bf.one[1].nodeid = h_ino(&h, 1, "b2");
		is_int(pt_inode_count(h.srv->fs), before + 2, "two more inodes");
		is_int(h_req(&h, FUSE_BATCH_FORGET, 0, A(bf), NOARG, NOARG), 1,
		       "BATCH_FORGET: no reply");
		is_int(pt_inode_count(h.srv->fs), before, "BATCH_FORGET freed both");
	}
}

static void t_create_rw(void)
{
	uint64_t id = 0, fh = 0;
	char buf[64] = { 0 };
	struct stat st;
	int fd, n;

	is_int(h_create(&h, 1, "new", 0666, 027, O_RDWR, &id, &fh), 0, "CREATE");
	ok(stat(h_path("new"), &st) == 0, "file exists on the host");
	is_int(st.st_mode & 07777, 0640, "umask from the request applied");
	is_int(h_write(&h, id, fh, 0, "hello world", 11, 0), 11, "WRITE 11 bytes");
	fd = open(h_path("new"), O_RDONLY);
	n = (int)read(fd, buf, sizeof(buf));
	close(fd);
	ok(n == 11 && !memcmp(buf, "hello world", 11), "host sees the data");
	is_int(h_read(&h, FUSE_READ, id, fh, 6, 100), 5, "READ at 6 -> 5 bytes");
	ok(!memcmp(h.reply, "world", 5), "READ data");
	h.out_size = sizeof(struct fuse_out_header) + 4;
	is_int(h_read(&h, FUSE_READ, id, fh, 0, 100), 4,
	       "READ clamped to the reply buffer");
	h.out_size = 0;
	is_int(h_create(&h, 1, "new", 0644, 0, O_RDWR | O_EXCL, &id, &fh), -EEXIST,
	       "CREATE O_EXCL on an existing name -> EEXIST");

	/* SETATTR: truncate through the handle, chmod, times. */
	{
		struct fuse_setattr_in sa = { .valid = FATTR_SIZE | FATTR_FH,
					      .fh = fh, .size = 3 };
		struct fuse_attr_out *ao = (void *)h.reply;

		is_int(h_req(&h, FUSE_SETATTR, id, A(sa), NOARG, NOARG), 0,
		       "SETATTR size via fh");
		is_int(ao->attr.size, 3, "size now 3");
		sa = (struct fuse_setattr_in){ .valid = FATTR_MODE | FATTR_MTIME,
					       .mode = 0600, .mtime = 1000000 };
		is_int(h_req(&h, FUSE_SETATTR, id, A(sa), NOARG, NOARG), 0,
		       "SETATTR mode + mtime");
		stat(h_path("new"), &st);
		ok((st.st_mode & 07777) == 0600 && st.st_mtime == 1000000,
		   "host mode and mtime changed");
		sa = (struct fuse_setattr_in){ .valid = FATTR_SIZE, .size = 0 };
		is_int(h_req(&h, FUSE_SETATTR, id, A(sa), NOARG, NOARG), 0,
		       "SETATTR size without fh");
	}

	/* WRITE with KILL_SUIDGID clears set-user-ID. */
	chmod(h_path("new"), 04755);
	is_int(h_write(&h, id, fh, 0, "x", 1, FUSE_WRITE_KILL_SUIDGID), 1,
	       "WRITE with KILL_SUIDGID");
	stat(h_path("new"), &st);
	is_int(st.st_mode & 07777, 0755, "suid bit cleared");
	/* COPY_FILE_RANGE into a second file. */
	{
		uint64_t id2 = 0, fh2 = 0;
		struct fuse_copy_file_range_in cr = { .fh_in = fh, .off_in = 0,
						      .len = 1 };

		h_write(&h, id, fh, 0, "Q", 1, 0);
		h_create(&h, 1, "copy", 0644, 0, O_RDWR, &id2, &fh2);
		cr.nodeid_out = id2;
		cr.fh_out = fh2;
		is_int(h_req(&h, FUSE_COPY_FILE_RANGE, id, A(cr), NOARG, NOARG), 0,
		       "COPY_FILE_RANGE");
		is_int(((struct fuse_write_out *)h.reply)->size, 1, "copied 1 byte");
		is_int(h_read(&h, FUSE_READ, id2, fh2, 0, 8), 1, "read the copy");
		ok(h.reply[0] == 'Q', "copy has the data");
		h_release(&h, FUSE_RELEASE, id2, fh2);
	}
	is_int(h_release(&h, FUSE_RELEASE, id, fh), 0, "RELEASE");
}

static void t_dirs(void)
{
	struct fuse_mkdir_in mi = { .mode = 0755 };
	struct fuse_entry_out eo;
	uint64_t d, fh = 0;
	int n;

	is_int(h_req(&h, FUSE_MKDIR, 1, A(mi), S("dir"), NOARG), 0, "MKDIR");
	d = ((struct fuse_entry_out *)h.reply)->nodeid;
	h_put_file("dir/one", "1");
	h_put_file("dir/two", "22");
	is_int(h_req(&h, FUSE_SYMLINK, d, S("lnk"), S("target/x"), NOARG), 0,
	       "SYMLINK");
	{
		uint64_t l = ((struct fuse_entry_out *)h.reply)->nodeid;

		is_int(h_req(&h, FUSE_READLINK, l, NOARG, NOARG, NOARG), 0,
		       "READLINK");
		ok(h.reply_len == 8 && !memcmp(h.reply, "target/x", 8),
		   "READLINK returns the target as-is");
	}
	is_int(h_opendir(&h, d, &fh), 0, "OPENDIR");
	n = h_read(&h, FUSE_READDIR, d, fh, 0, 4096);
	ok(n > 0, "READDIR returns entries");
	ok(h_dir_has(&h, false, "one", NULL) && h_dir_has(&h, false, "two", NULL) &&
	   h_dir_has(&h, false, "lnk", NULL) && h_dir_has(&h, false, "..", NULL),
	   "READDIR lists one, two, lnk, ..");
	n = h_read(&h, FUSE_READDIR, d, fh, 0, 40);
	ok(n > 0 && n <= 40, "READDIR honours a small size");
	n = h_read(&h, FUSE_READDIRPLUS, d, fh, 0, 8192);
	ok(h_dir_has(&h, true, "two", &eo) && eo.nodeid > 1 && eo.attr.size == 2,
	   "READDIRPLUS entry carries nodeid and attributes");
	is_int(pt_nlookup(h.srv->fs, eo.nodeid), 1,
	       "READDIRPLUS counted one lookup");
	ok(h_dir_has(&h, true, ".", &eo) && eo.nodeid == 0,
	   "READDIRPLUS '.' has no entry");
	is_int(h_release(&h, FUSE_RELEASEDIR, d, fh), 0, "RELEASEDIR");
	is_int(h_req(&h, FUSE_RMDIR, 1, S("dir"), NOARG, NOARG), -ENOTEMPTY,
	       "RMDIR non-empty -> ENOTEMPTY");
	is_int(h_req(&h, FUSE_UNLINK, d, S("one"), NOARG, NOARG), 0, "UNLINK");
	ok(access(h_path("dir/one"), F_OK) < 0, "gone on the host");
}

static int rename2(uint64_t from, const char *a, uint64_t to, const char *b,
		   uint32_t flags)
{
	struct fuse_rename2_in in = { .newdir = to, .flags = flags };

	return h_req(&h, FUSE_RENAME2, from, A(in), S(a), S(b));
}

static void t_rename(void)
{
	char buf[8] = { 0 };
	int fd;

	h_put_file("ra", "A");
	h_put_file("rb", "B");
	is_int(rename2(1, "ra", 1, "rb", RENAME_NOREPLACE), -EEXIST,
	       "RENAME2 NOREPLACE onto an existing name -> EEXIST");
	is_int(rename2(1, "ra", 1, "rb", RENAME_EXCHANGE), 0, "RENAME2 EXCHANGE");
	fd = open(h_path("ra"), O_RDONLY);
	ok(read(fd, buf, 1) == 1 && buf[0] == 'B', "contents swapped");
	close(fd);
	is_int(rename2(1, "ra", 1, "rc", 0), 0, "RENAME2 plain");
	ok(access(h_path("rc"), F_OK) == 0 && access(h_path("ra"), F_OK) < 0,
	   "renamed on the host");
	is_int(rename2(1, "rc", 1, "rd", 1u << 7), -EINVAL,
	       "RENAME2 unknown flag -> EINVAL");
}

static void t_fallocate_lseek(void)
{
	static char block[65536];
	struct fuse_fallocate_in fa = { .mode = FALLOC_FL_PUNCH_HOLE |
						 FALLOC_FL_KEEP_SIZE,
					.offset = 0, .length = 65536 };
	struct fuse_lseek_in ls = { .whence = SEEK_DATA };
	struct stat st1, st2;
	uint64_t id = 0, fh = 0;
	int ret;

	memset(block, 'z', sizeof(block));
	h_create(&h, 1, "sparse", 0644, 0, O_RDWR, &id, &fh);
	h_write(&h, id, fh, 0, block, sizeof(block), 0);
	h_write(&h, id, fh, 65536, block, sizeof(block), 0);
	{
		struct fuse_fsync_in fs = { .fh = fh };

		is_int(h_req(&h, FUSE_FSYNC, id, A(fs), NOARG, NOARG), 0, "FSYNC");
	}
	stat(h_path("sparse"), &st1);
	fa.fh = fh;
	ret = h_req(&h, FUSE_FALLOCATE, id, A(fa), NOARG, NOARG);
	if (ret == -EOPNOTSUPP) {
		diag("punch hole unsupported on this filesystem");
		ok(1, "# SKIP punch hole");
		return;
	}
	is_int(ret, 0, "FALLOCATE PUNCH_HOLE|KEEP_SIZE");
	stat(h_path("sparse"), &st2);
	ok(st2.st_size == 131072 && st2.st_blocks < st1.st_blocks,
	   "size kept, blocks freed");
	is_int(h_read(&h, FUSE_READ, id, fh, 100, 1), 1, "read in the hole");
	ok(h.reply[0] == 0, "hole reads as zero");
	ls.fh = fh;
	is_int(h_req(&h, FUSE_LSEEK, id, A(ls), NOARG, NOARG), 0, "LSEEK SEEK_DATA");
	is_int(((struct fuse_lseek_out *)h.reply)->offset, 65536,
	       "SEEK_DATA skips the hole");
	ls.whence = SEEK_HOLE;
	ls.offset = 65536;
	h_req(&h, FUSE_LSEEK, id, A(ls), NOARG, NOARG);
	is_int(((struct fuse_lseek_out *)h.reply)->offset, 131072,
	       "SEEK_HOLE finds the end");
	fa.mode = 0x40; /* FALLOC_FL_INSERT_RANGE */
	is_int(h_req(&h, FUSE_FALLOCATE, id, A(fa), NOARG, NOARG), -EOPNOTSUPP,
	       "FALLOCATE other modes -> EOPNOTSUPP");
	h_release(&h, FUSE_RELEASE, id, fh);
}

static void t_xattr(void)
{
	struct fuse_setxattr_in si = { .size = 3 };
	struct fuse_getxattr_in gi = { .size = 0 };
	uint64_t id = h_ino(&h, 1, "hello");
	int ret;

	ret = h_req(&h, FUSE_SETXATTR, id, A(si), S("user.vdax"),
		    (struct arg){ "abc", 3 });
	if (ret == -EOPNOTSUPP) {
		ok(1, "# SKIP user xattrs unsupported here");
		return;
	}
	is_int(ret, 0, "SETXATTR user.vdax (extended layout)");
	is_int(h_req(&h, FUSE_GETXATTR, id, A(gi), S("user.vdax"), NOARG), 0,
	       "GETXATTR size query");
	is_int(((struct fuse_getxattr_out *)h.reply)->size, 3, "size is 3");
	gi.size = 64;
	h_req(&h, FUSE_GETXATTR, id, A(gi), S("user.vdax"), NOARG);
	ok(h.reply_len == 3 && !memcmp(h.reply, "abc", 3), "GETXATTR value");
	gi.size = 1;
	is_int(h_req(&h, FUSE_GETXATTR, id, A(gi), S("user.vdax"), NOARG), -ERANGE,
	       "GETXATTR into a too small buffer -> ERANGE");
	gi.size = 256;
	h_req(&h, FUSE_LISTXATTR, id, A(gi), NOARG, NOARG);
	ok(memmem(h.reply, h.reply_len, "user.vdax", 10) != NULL, "LISTXATTR");
	is_int(h_req(&h, FUSE_REMOVEXATTR, id, S("user.vdax"), NOARG, NOARG), 0,
	       "REMOVEXATTR");
	is_int(h_req(&h, FUSE_GETXATTR, id, A(gi), S("user.vdax"), NOARG), -ENODATA,
	       "GETXATTR after remove -> ENODATA");
	si.size = 100;
	is_int(h_req(&h, FUSE_SETXATTR, id, A(si), S("user.x"),
		     (struct arg){ "abc", 3 }), -EINVAL,
	       "SETXATTR size beyond the value -> EINVAL");
}

/* The guest's buffers have any alignment: O_DIRECT must not reach the host. */
static void t_direct_io(void)
{
	uint64_t id = 0, fh = 0;

	is_int(h_create(&h, 1, "direct", 0644, 0, O_RDWR | O_DIRECT, &id, &fh),
	       0, "CREATE O_DIRECT");
	is_int(h_write(&h, id, fh, 3, "unaligned", 9, 0), 9,
	       "O_DIRECT WRITE of 9 bytes at offset 3");
	is_int(h_read(&h, FUSE_READ, id, fh, 5, 7), 7,
	       "O_DIRECT READ of 7 bytes at offset 5");
	ok(!memcmp(h.reply, "aligned", 7), "... the data");
	h_release(&h, FUSE_RELEASE, id, fh);
}

static void t_locks(void)
{
	struct fuse_lk_in lk = { .lk = { .start = 0, .end = 99, .type = F_WRLCK } };
	uint64_t id = h_ino(&h, 1, "hello"), f1 = 0, f2 = 0;

	h_open(&h, id, O_RDWR, &f1);
	h_open(&h, id, O_RDWR, &f2);
	/* POSIX locks belong to the lock owner (a guest process), not to a handle. */
	lk.fh = f1;
	lk.owner = 1;
	is_int(h_req(&h, FUSE_SETLK, id, A(lk), NOARG, NOARG), 0, "SETLK write lock");
	lk.fh = f2;
	is_int(h_req(&h, FUSE_SETLK, id, A(lk), NOARG, NOARG), 0,
	       "same owner through another handle: no conflict");
	lk.owner = 2;
	is_int(h_req(&h, FUSE_SETLK, id, A(lk), NOARG, NOARG), -EAGAIN,
	       "conflicting SETLK from another owner -> EAGAIN");
	is_int(h_req(&h, FUSE_GETLK, id, A(lk), NOARG, NOARG), 0, "GETLK");
	{
		struct fuse_lk_out *lo = (void *)h.reply;

		ok(lo->lk.type == F_WRLCK && lo->lk.start == 0 && lo->lk.end == 99,
		   "GETLK reports the conflicting lock");
	}
	lk.owner = 1;
	is_int(h_req(&h, FUSE_GETLK, id, A(lk), NOARG, NOARG), 0, "GETLK by the holder");
	is_int(((struct fuse_lk_out *)h.reply)->lk.type, F_UNLCK,
	       "the owner's own lock does not conflict");
	{
		/* close() of any of owner 1's descriptors drops all its locks */
		struct fuse_flush_in fi = { .fh = f2, .lock_owner = 1 };

		is_int(h_req(&h, FUSE_FLUSH, id, A(fi), NOARG, NOARG), 0, "FLUSH");
	}
	lk.owner = 2;
	is_int(h_req(&h, FUSE_SETLKW, id, A(lk), NOARG, NOARG), 0,
	       "FLUSH by the owner through another handle released its lock");
	lk.lk.type = F_UNLCK;
	is_int(h_req(&h, FUSE_SETLK, id, A(lk), NOARG, NOARG), 0, "unlock");
	lk.owner = 3;
	is_int(h_req(&h, FUSE_SETLK, id, A(lk), NOARG, NOARG), 0,
	       "unlock by an owner holding nothing");
	/* flock */
	lk = (struct fuse_lk_in){ .fh = f1, .lk_flags = FUSE_LK_FLOCK,
				  .lk = { .type = F_WRLCK } };
	is_int(h_req(&h, FUSE_SETLK, id, A(lk), NOARG, NOARG), 0, "flock EX");
	lk.fh = f2;
	is_int(h_req(&h, FUSE_SETLK, id, A(lk), NOARG, NOARG), -EWOULDBLOCK,
	       "second flock EX -> EWOULDBLOCK");
	{
		struct fuse_release_in ri = { .fh = f1,
					      .release_flags = FUSE_RELEASE_FLOCK_UNLOCK };

		h_req(&h, FUSE_RELEASE, id, A(ri), NOARG, NOARG);
	}
	is_int(h_req(&h, FUSE_SETLK, id, A(lk), NOARG, NOARG), 0,
	       "flock free after RELEASE with FLOCK_UNLOCK");
	h_release(&h, FUSE_RELEASE, id, f2);
	is_int(pt_handle_count(h.srv->fs), 0, "no handles left");
}

static void t_misc(void)
{
	struct fuse_mkdir_in mi = { .mode = 0777 };
	struct fuse_create_in ci = { .flags = O_RDWR, .mode = S_IFREG | 0600 };
	struct fuse_link_in li;
	struct fuse_access_in ai = { .mask = W_OK };
	struct stat st;
	uint64_t d, id;

	is_int(h_req(&h, FUSE_STATFS, 1, NOARG, NOARG, NOARG), 0, "STATFS");
	ok(((struct fuse_statfs_out *)h.reply)->st.namelen == 255, "namelen 255");

	/* Files are created as the requesting uid/gid. */
	h_req(&h, FUSE_MKDIR, 1, A(mi), S("shared"), NOARG);
	d = ((struct fuse_entry_out *)h.reply)->nodeid;
	chmod(h_path("shared"), 0777);
	h.uid = 1234;
	h.gid = 4321;
	is_int(h_req(&h, FUSE_MKDIR, d, A(mi), S("mine"), NOARG), 0,
	       "MKDIR as uid 1234");
	stat(h_path("shared/mine"), &st);
	ok(st.st_uid == 1234 && st.st_gid == 4321, "owned by 1234:4321");
	is_int(h_req(&h, FUSE_MKDIR, 1, A(mi), S("notmine"), NOARG), -EACCES,
	       "uid 1234 cannot create in a root-owned 0755 dir");
	is_int(h_req(&h, FUSE_ACCESS, 1, A(ai), NOARG, NOARG), -EACCES,
	       "ACCESS W_OK on the root as uid 1234 -> EACCES");
	h.uid = h.gid = 0;
	is_int(h_req(&h, FUSE_ACCESS, 1, A(ai), NOARG, NOARG), 0,
	       "ACCESS W_OK as root");

	/* LINK */
	id = h_ino(&h, 1, "hello");
	li.oldnodeid = id;
	is_int(h_req(&h, FUSE_LINK, d, A(li), S("hl"), NOARG), 0, "LINK");
	stat(h_path("hello"), &st);
	is_int(st.st_nlink, 2, "nlink 2 on the host");

	/* TMPFILE */
	{
		int ret = h_req(&h, FUSE_TMPFILE, 1, A(ci), S("/"), NOARG);

		if (ret == -EOPNOTSUPP) {
			ok(1, "# SKIP O_TMPFILE unsupported");
		} else {
			uint64_t tid = ((struct fuse_entry_out *)h.reply)->nodeid;
			uint64_t tfh = ((struct fuse_open_out *)(h.reply +
				sizeof(struct fuse_entry_out)))->fh;

			is_int(ret, 0, "TMPFILE");
			is_int(h_write(&h, tid, tfh, 0, "tmp", 3, 0), 3,
			       "write to the tmpfile");
			h_release(&h, FUSE_RELEASE, tid, tfh);
		}
	}
	{
		struct fuse_syncfs_in si = { 0 };

		is_int(h_req(&h, FUSE_SYNCFS, 1, A(si), NOARG, NOARG), 0, "SYNCFS");
	}
}

static void t_max_inodes(void)
{
	struct fuse_srv_opts o = h_opts();
	struct h *s = calloc(1, sizeof(*s));

	o.max_inodes = 2;
	h_start(s, &o);
	h_init(s, 0, 0, NULL);
	h_put_file("m1", "");
	h_put_file("m2", "");
	h_put_file("m3", "");
	ok(h_ino(s, 1, "m1") && h_ino(s, 1, "m2"), "two inodes fit");
	is_int(h_lookup(s, 1, "m3", NULL), -ENFILE, "third -> ENFILE");
	fuse_srv_free(s->srv);
	free(s);
}

int main(void)
{
	struct fuse_srv_opts o;

	h_setup_dir();
	o = h_opts();
	h_start(&h, &o);
	if (h_init(&h, 0xffffffffu, 0, NULL) != 0)
		tap_bail("INIT");
	t_lookup_forget();
	t_create_rw();
	t_dirs();
	t_rename();
	t_fallocate_lseek();
	t_xattr();
	t_direct_io();
	t_locks();
	t_misc();
	t_max_inodes();
	fuse_srv_free(h.srv);
	return tap_done();
}
