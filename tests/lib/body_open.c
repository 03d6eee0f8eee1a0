// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The open area of the shared body (cbody.h): open flags and path
 * resolution errors. Where the suite sees the host, what open creates or
 * truncates is checked there too.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cbody.h"

/* open() that closes what it got: 0 or -errno. */
static int open_rc(const struct cb_ops *o, const char *p, int flags)
{
	void *f;
	int ret = o->open(p, flags, 0644, &f);

	if (!ret)
		o->close(f);
	return ret;
}

static unsigned int mode_of(const struct cb_ops *o, const char *p)
{
	struct stat sb = { 0 };

	return o->lstat(p, &sb) ? 0xffff : sb.st_mode & 07777;
}

static void open_create(const struct cb_ops *o)
{
	struct stat sb = { 0 };
	void *f = NULL;
	int ret;

	ret = o->open("f", O_CREAT | O_EXCL | O_WRONLY, 0644, &f);
	cb_ok(o, "open.creat_excl.new_ok", !ret && cb_host_exists(o, "f"),
	      "rc %s, host %s", o->errname(-ret),
	      cb_host_exists(o, "f") ? "exists" : "missing");
	if (ret)
		f = NULL;
	cb_ok(o, "open.creat_excl.new_size0",
	      f && !o->fstat(f, &sb) && sb.st_size == 0 &&
		      cb_host_size_is(o, "f", 0),
	      "size %lld", (long long)sb.st_size);
	cb_ok(o, "open.creat.mode_0644",
	      (sb.st_mode & 07777) == 0644 && cb_host_mode_is(o, "f", 0644),
	      "mode 0%o", sb.st_mode & 07777);
	cb_ok(o, "open.creat.owner_is_caller",
	      sb.st_uid == geteuid() && sb.st_gid == getegid(), "uid %u gid %u",
	      sb.st_uid, sb.st_gid);
	cb_ok(o, "open.creat.is_reg", S_ISREG(sb.st_mode), "mode 0%o",
	      sb.st_mode);
	if (f)
		o->close(f);

	if (o->flags & CB_UMASK) {
		/* the process umask masks what open and mkdir create */
		o->umask(027);
		ret = o->open("um", O_CREAT | O_WRONLY, 0777, &f);
		cb_ok(o, "open.creat.umask_027",
		      !ret && !o->fstat(f, &sb) &&
			      (sb.st_mode & 07777) == 0750,
		      "mode 0%o", sb.st_mode & 07777);
		if (!ret)
			o->close(f);
		cb_ok(o, "open.mkdir.umask_027",
		      !o->mkdir("umd", 0777) && !o->stat("umd", &sb) &&
			      (sb.st_mode & 07777) == 0750,
		      "mode 0%o", sb.st_mode & 07777);
		o->umask(022);
	} else {
		/* No umask in the API: the mode must arrive unmasked. */
		ret = o->open("um", O_CREAT | O_WRONLY, 0777, &f);
		cb_ok(o, "open.creat.mode_0777_exact",
		      !ret && mode_of(o, "um") == 0777 &&
			      cb_host_mode_is(o, "um", 0777),
		      "mode 0%o", mode_of(o, "um"));
		if (!ret)
			o->close(f);
		o->mkdir("umd", 0750);
	}

	cb_err(o, "open.excl.exists_EEXIST",
	       open_rc(o, "f", O_CREAT | O_EXCL | O_RDWR), EEXIST);
	o->symlink("nowhere", "dangling");
	cb_err(o, "open.excl.dangling_symlink_EEXIST",
	       open_rc(o, "dangling", O_CREAT | O_EXCL | O_RDWR), EEXIST);
	cb_err(o, "open.excl.dir_EEXIST",
	       open_rc(o, "umd", O_CREAT | O_EXCL | O_RDWR), EEXIST);
}

static void open_trunc_append(const struct cb_ops *o)
{
	struct stat sb = { 0 };
	char buf[32];
	ssize_t n;
	void *f;
	int ret;

	cb_put_str(o, "t", "0123456789");
	cb_ok(o, "open.creat.existing_keeps_data",
	      open_rc(o, "t", O_CREAT | O_WRONLY) == 0 &&
		      cb_size(o, "t") == 10 &&
		      cb_host_str_is(o, "t", "0123456789"),
	      "size %lld", (long long)cb_size(o, "t"));
	ret = o->open("t", O_WRONLY | O_TRUNC, 0, &f);
	cb_ok(o, "open.trunc.size0",
	      !ret && !o->fstat(f, &sb) && sb.st_size == 0 &&
		      cb_host_size_is(o, "t", 0),
	      "size %lld", (long long)sb.st_size);
	if (!ret)
		o->close(f);

	cb_put_str(o, "a", "abc");
	ret = o->open("a", O_WRONLY | O_APPEND, 0, &f);
	if (!ret)
		o->lseek(f, 0, SEEK_SET);
	n = ret ?: o->write(f, "XYZ", 3);
	cb_eq(o, "open.append.write_count", n, 3);
	cb_ok(o, "open.append.lands_at_end",
	      cb_get_str_is(o, "a", "abcXYZ") &&
		      cb_host_str_is(o, "a", "abcXYZ"),
	      "contents differ");
	cb_eq(o, "open.append.offset_after_write",
	      ret ?: o->lseek(f, 0, SEEK_CUR), 6);
	/* Linux: pwrite on an O_APPEND fd appends regardless of offset. */
	n = ret ?: o->pwrite(f, "P", 1, 0);
	cb_ok(o, "open.append.pwrite_appends",
	      n == 1 && cb_get_str_is(o, "a", "abcXYZP") &&
		      cb_host_str_is(o, "a", "abcXYZP"),
	      "n %zd", n);
	if (!ret)
		o->close(f);

	ret = o->open("a", O_RDWR | O_APPEND, 0, &f);
	cb_eq(o, "open.append.read_from_start",
	      ret ?: o->read(f, buf, sizeof(buf)), 7);
	if (!ret)
		o->close(f);
}

static void open_types(const struct cb_ops *o)
{
	struct stat sb = { 0 };
	void *f;
	int ret;

	o->mkdir("d", 0755);
	cb_put_str(o, "file", "x");
	o->symlink("file", "lnk");

	cb_err(o, "open.directory.file_ENOTDIR",
	       open_rc(o, "file", O_DIRECTORY), ENOTDIR);
	cb_rc0(o, "open.directory.dir_ok",
	       open_rc(o, "d", O_DIRECTORY | O_RDONLY));
	cb_err(o, "open.nofollow.symlink_ELOOP", open_rc(o, "lnk", O_NOFOLLOW),
	       ELOOP);
	cb_rc0(o, "open.nofollow.file_ok", open_rc(o, "file", O_NOFOLLOW));
	cb_rc0(o, "open.follow.symlink_ok", open_rc(o, "lnk", O_RDONLY));
	if (o->flags & CB_O_PATH) {
		ret = o->open("lnk", O_PATH | O_NOFOLLOW, 0, &f);
		cb_ok(o, "open.path_nofollow.is_lnk",
		      !ret && !o->fstat(f, &sb) && S_ISLNK(sb.st_mode),
		      "rc %d mode 0%o", ret, sb.st_mode);
		if (!ret)
			o->close(f);
	}
	cb_err(o, "open.creat.dir_EISDIR", open_rc(o, "d", O_CREAT | O_RDWR),
	       EISDIR);
	cb_err(o, "open.dir.wronly_EISDIR", open_rc(o, "d", O_WRONLY), EISDIR);
	cb_err(o, "open.dir.rdwr_EISDIR", open_rc(o, "d", O_RDWR), EISDIR);
	cb_err(o, "open.dir.trunc_EISDIR", open_rc(o, "d", O_RDONLY | O_TRUNC),
	       EISDIR);
	cb_err(o, "open.file.trailing_slash_ENOTDIR",
	       open_rc(o, "file/", O_RDONLY), ENOTDIR);
	cb_rc0(o, "open.dir.trailing_slash_ok", open_rc(o, "d/", O_RDONLY));
}

static void open_lookup_errors(const struct cb_ops *o)
{
	char name[300];

	cb_err(o, "open.missing_ENOENT", open_rc(o, "missing", O_RDONLY),
	       ENOENT);
	/* "" names nothing for a system call (an *at() API may take it) */
	if (o->flags & CB_EMPTY_PATH_ENOENT)
		cb_err(o, "open.empty_path_ENOENT", open_rc(o, "", O_RDONLY),
		       ENOENT);
	cb_err(o, "open.missing_parent_ENOENT",
	       open_rc(o, "nodir/f", O_CREAT | O_WRONLY), ENOENT);
	cb_err(o, "open.component_file_ENOTDIR",
	       open_rc(o, "file/x", O_RDONLY), ENOTDIR);
	cb_err(o, "open.component_file_creat_ENOTDIR",
	       open_rc(o, "file/x", O_CREAT | O_WRONLY), ENOTDIR);

	memset(name, 'n', 256);
	name[256] = 0;
	cb_err(o, "open.name256_ENAMETOOLONG",
	       open_rc(o, name, O_CREAT | O_WRONLY), ENAMETOOLONG);
	cb_err(o, "open.name256_lookup_ENAMETOOLONG",
	       open_rc(o, name, O_RDONLY), ENAMETOOLONG);
	name[255] = 0;
	cb_rc0(o, "open.name255_ok", open_rc(o, name, O_CREAT | O_WRONLY));
	cb_ok(o, "open.name255_stat",
	      cb_size(o, name) == 0 && cb_host_size_is(o, name, 0),
	      "size %lld", (long long)cb_size(o, name));
	o->unlink(name);
	/* O_ACCMODE itself is no access mode: the API refuses it */
	if (o->flags & CB_LIBVDAX)
		cb_ok(o, "open.api.flags_accmode3_EINVAL",
		      open_rc(o, "file", O_ACCMODE) == -EINVAL, "rc %s",
		      o->errname(-open_rc(o, "file", O_ACCMODE)));
}

static void open_modes(const struct cb_ops *o)
{
	char c = 'x';
	void *f;
	int ret;

	ret = o->open("file", O_RDONLY, 0, &f);
	cb_err(o, "open.rdonly.write_EBADF", ret ?: o->write(f, &c, 1), EBADF);
	if (!ret)
		o->close(f);
	ret = o->open("file", O_WRONLY, 0, &f);
	cb_err(o, "open.wronly.read_EBADF", ret ?: o->read(f, &c, 1), EBADF);
	if (!ret)
		o->close(f);
	if (o->flags & CB_O_PATH) {
		ret = o->open("file", O_PATH, 0, &f);
		cb_err(o, "open.path.read_EBADF", ret ?: o->read(f, &c, 1),
		       EBADF);
		if (!ret)
			o->close(f);
	}
	ret = o->open("d", O_RDONLY | O_DIRECTORY, 0, &f);
	cb_err(o, "open.dir.read_EISDIR", ret ?: o->read(f, &c, 1), EISDIR);
	if (!ret)
		o->close(f);
	if (o->getfd && !o->open("file", O_RDONLY | O_CLOEXEC, 0, &f)) {
		cb_ok(o, "open.cloexec_set", o->getfd(f) == FD_CLOEXEC,
		      "F_GETFD %d", o->getfd(f));
		cb_eq(o, "open.getfl_accmode", o->getfl(f) & O_ACCMODE,
		      O_RDONLY);
		o->close(f);
	}

	ret = o->open("rw", O_RDWR | O_CREAT | O_TRUNC, 0600, &f);
	cb_ok(o, "open.rdwr.read_own_write",
	      !ret && o->write(f, "hello", 5) == 5 &&
		      o->pread(f, &c, 1, 4) == 1 && c == 'o' &&
		      cb_host_str_is(o, "rw", "hello"),
	      "read back '%c'", c);
	if (!ret)
		o->close(f);
}

void cb_area_open(const struct cb_ops *o)
{
	open_create(o);
	open_trunc_append(o);
	open_types(o);
	open_lookup_errors(o);
	open_modes(o);
}
