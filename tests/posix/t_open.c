// SPDX-License-Identifier: GPL-2.0-or-later
/* open(2) flags and path resolution errors. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "px.h"

/* open() that closes what it got: -1/errno or the (closed) fd number. */
static int open_rc(const char *path, int flags)
{
	int fd = open(path, flags, 0644);
	int e = errno;

	if (fd >= 0)
		close(fd);
	errno = e;
	return fd;
}

static void open_create(void)
{
	struct stat sb = {0};
	int fd;

	fd = open("f", O_CREAT | O_EXCL | O_WRONLY, 0644);
	px_rc0("open.creat_excl.new_ok", fd);
	px_ok("open.creat_excl.new_size0", !fstat(fd, &sb) && sb.st_size == 0,
	      "size %lld", (long long)sb.st_size);
	px_mode("open.creat.mode_0644", sb.st_mode & 07777, 0644);
	px_ok("open.creat.owner_is_caller",
	      sb.st_uid == geteuid() && sb.st_gid == getegid(), "uid %u gid %u",
	      sb.st_uid, sb.st_gid);
	px_ok("open.creat.is_reg", S_ISREG(sb.st_mode), "mode 0%o", sb.st_mode);
	if (fd >= 0)
		close(fd);

	umask(027);
	fd = open("um", O_CREAT | O_WRONLY, 0777);
	px_ok("open.creat.umask_027",
	      fd >= 0 && !fstat(fd, &sb) && (sb.st_mode & 07777) == 0750,
	      "mode 0%o", sb.st_mode & 07777);
	if (fd >= 0)
		close(fd);
	px_ok("open.mkdir.umask_027",
	      !mkdir("umd", 0777) && !stat("umd", &sb) &&
		      (sb.st_mode & 07777) == 0750,
	      "mode 0%o", sb.st_mode & 07777);
	umask(022);

	px_err("open.excl.exists_EEXIST",
	       open_rc("f", O_CREAT | O_EXCL | O_RDWR), EEXIST);
	symlink("nowhere", "dangling");
	px_err("open.excl.dangling_symlink_EEXIST",
	       open_rc("dangling", O_CREAT | O_EXCL | O_RDWR), EEXIST);
	px_err("open.excl.dir_EEXIST",
	       open_rc("umd", O_CREAT | O_EXCL | O_RDWR), EEXIST);
}

static void open_trunc_append(void)
{
	struct stat sb = {0};
	char buf[32];
	ssize_t n;
	int fd;

	px_put_str("t", "0123456789");
	px_ok("open.creat.existing_keeps_data",
	      open_rc("t", O_CREAT | O_WRONLY) >= 0 && px_size("t") == 10,
	      "size %lld", (long long)px_size("t"));
	fd = open("t", O_WRONLY | O_TRUNC);
	px_ok("open.trunc.size0", fd >= 0 && !fstat(fd, &sb) && sb.st_size == 0,
	      "size %lld", (long long)sb.st_size);
	if (fd >= 0)
		close(fd);

	px_put_str("a", "abc");
	fd = open("a", O_WRONLY | O_APPEND);
	lseek(fd, 0, SEEK_SET);
	n = write(fd, "XYZ", 3);
	px_eq("open.append.write_count", n, 3);
	px_ok("open.append.lands_at_end", px_get_str_is("a", "abcXYZ"),
	      "contents differ");
	px_eq("open.append.offset_after_write", lseek(fd, 0, SEEK_CUR), 6);
	/* Linux: pwrite on an O_APPEND fd appends regardless of offset. */
	n = pwrite(fd, "P", 1, 0);
	px_ok("open.append.pwrite_appends",
	      n == 1 && px_get_str_is("a", "abcXYZP"), "n %zd", n);
	if (fd >= 0)
		close(fd);

	fd = open("a", O_RDWR | O_APPEND);
	n = read(fd, buf, sizeof(buf));
	px_eq("open.append.read_from_start", n, 7);
	if (fd >= 0)
		close(fd);
}

static void open_types(void)
{
	struct stat sb = {0};
	int fd;

	mkdir("d", 0755);
	px_put_str("file", "x");
	symlink("file", "lnk");

	px_err("open.directory.file_ENOTDIR", open_rc("file", O_DIRECTORY),
	       ENOTDIR);
	px_rc0("open.directory.dir_ok", open_rc("d", O_DIRECTORY | O_RDONLY));
	px_err("open.nofollow.symlink_ELOOP", open_rc("lnk", O_NOFOLLOW),
	       ELOOP);
	px_rc0("open.nofollow.file_ok", open_rc("file", O_NOFOLLOW));
	px_rc0("open.follow.symlink_ok", open_rc("lnk", O_RDONLY));
	fd = open("lnk", O_PATH | O_NOFOLLOW);
	px_ok("open.path_nofollow.is_lnk",
	      fd >= 0 && !fstat(fd, &sb) && S_ISLNK(sb.st_mode),
	      "fd %d mode 0%o", fd, sb.st_mode);
	if (fd >= 0)
		close(fd);
	px_err("open.creat.dir_EISDIR", open_rc("d", O_CREAT | O_RDWR), EISDIR);
	px_err("open.dir.wronly_EISDIR", open_rc("d", O_WRONLY), EISDIR);
	px_err("open.dir.rdwr_EISDIR", open_rc("d", O_RDWR), EISDIR);
	px_err("open.dir.trunc_EISDIR", open_rc("d", O_RDONLY | O_TRUNC),
	       EISDIR);
	px_err("open.file.trailing_slash_ENOTDIR", open_rc("file/", O_RDONLY),
	       ENOTDIR);
	px_rc0("open.dir.trailing_slash_ok", open_rc("d/", O_RDONLY));
}

static void open_lookup_errors(void)
{
	char name[300];

	px_err("open.missing_ENOENT", open_rc("missing", O_RDONLY), ENOENT);
	px_err("open.empty_path_ENOENT", open_rc("", O_RDONLY), ENOENT);
	px_err("open.missing_parent_ENOENT",
	       open_rc("nodir/f", O_CREAT | O_WRONLY), ENOENT);
	px_err("open.component_file_ENOTDIR", open_rc("file/x", O_RDONLY),
	       ENOTDIR);
	px_err("open.component_file_creat_ENOTDIR",
	       open_rc("file/x", O_CREAT | O_WRONLY), ENOTDIR);

	memset(name, 'n', 256);
	name[256] = 0;
	px_err("open.name256_ENAMETOOLONG", open_rc(name, O_CREAT | O_WRONLY),
	       ENAMETOOLONG);
	px_err("open.name256_lookup_ENAMETOOLONG", open_rc(name, O_RDONLY),
	       ENAMETOOLONG);
	name[255] = 0;
	px_rc0("open.name255_ok", open_rc(name, O_CREAT | O_WRONLY));
	px_ok("open.name255_stat", px_size(name) == 0, "size %lld",
	      (long long)px_size(name));
	unlink(name);
}

static void open_modes(void)
{
	char c = 'x';
	int fd;

	fd = open("file", O_RDONLY);
	px_err("open.rdonly.write_EBADF", write(fd, &c, 1), EBADF);
	close(fd);
	fd = open("file", O_WRONLY);
	px_err("open.wronly.read_EBADF", read(fd, &c, 1), EBADF);
	close(fd);
	fd = open("file", O_PATH);
	px_err("open.path.read_EBADF", read(fd, &c, 1), EBADF);
	close(fd);
	fd = open("d", O_RDONLY | O_DIRECTORY);
	px_err("open.dir.read_EISDIR", read(fd, &c, 1), EISDIR);
	close(fd);
	fd = open("file", O_RDONLY | O_CLOEXEC);
	px_ok("open.cloexec_set", fcntl(fd, F_GETFD) == FD_CLOEXEC,
	      "F_GETFD %d", fcntl(fd, F_GETFD));
	px_eq("open.getfl_accmode", fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	close(fd);

	fd = open("rw", O_RDWR | O_CREAT | O_TRUNC, 0600);
	px_ok("open.rdwr.read_own_write",
	      write(fd, "hello", 5) == 5 && pread(fd, &c, 1, 4) == 1 &&
		      c == 'o',
	      "read back '%c'", c);
	close(fd);
}

void px_area_open(void)
{
	open_create();
	open_trunc_append();
	open_types();
	open_lookup_errors();
	open_modes();
}
