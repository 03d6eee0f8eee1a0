// SPDX-License-Identifier: GPL-2.0-or-later
/* open flags and path resolution errors, through vdax_open(). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cf.h"

/* vdax_open() that releases what it got: 0 or -errno. */
static int open_rc(const char *rel, int flags)
{
	struct vdax_file *f = NULL;
	int rc = vdax_open(cf_vd, P(rel), flags, 0644, &f);

	if (!rc)
		vdax_release(f);
	return rc;
}

static void open_create(void)
{
	struct stat sb = {0};
	struct vdax_file *f;
	int rc;

	f = cf_open("f", O_CREAT | O_EXCL | O_WRONLY, 0644, &rc);
	cf_ok("open.creat_excl.new_ok", f && host_exists("f"),
	      "rc %s, host %s", cf_errname(-rc),
	      host_exists("f") ? "exists" : "missing");
	cf_ok("open.creat_excl.new_size0",
	      f && !vdax_fstat(f, &sb) && sb.st_size == 0 &&
		      host_size("f") == 0,
	      "size %lld host %lld", (long long)sb.st_size,
	      (long long)host_size("f"));
	cf_ok("open.creat.mode_0644",
	      (sb.st_mode & 07777) == 0644 && host_mode("f") == 0644,
	      "mode 0%o host 0%o", sb.st_mode & 07777, host_mode("f"));
	cf_ok("open.creat.owner_is_caller",
	      sb.st_uid == geteuid() && sb.st_gid == getegid(), "uid %u gid %u",
	      sb.st_uid, sb.st_gid);
	cf_ok("open.creat.is_reg", S_ISREG(sb.st_mode), "mode 0%o", sb.st_mode);
	vdax_release(f);

	/* No umask in the API: the mode must arrive unmasked. */
	f = cf_open("um", O_CREAT | O_WRONLY, 0777, &rc);
	cf_ok("open.creat.mode_0777_exact",
	      f && cf_mode_of("um") == 0777 && host_mode("um") == 0777,
	      "mode 0%o host 0%o", cf_mode_of("um"), host_mode("um"));
	vdax_release(f);
	vdax_mkdir(cf_vd, P("umd"), 0750);

	cf_err("open.excl.exists_EEXIST",
	       open_rc("f", O_CREAT | O_EXCL | O_RDWR), EEXIST);
	vdax_symlink(cf_vd, "nowhere", P("dangling"));
	cf_err("open.excl.dangling_symlink_EEXIST",
	       open_rc("dangling", O_CREAT | O_EXCL | O_RDWR), EEXIST);
	cf_err("open.excl.dir_EEXIST",
	       open_rc("umd", O_CREAT | O_EXCL | O_RDWR), EEXIST);
}

static void open_trunc_append(void)
{
	struct vdax_file *f;
	struct stat sb = {0};
	char buf[32];
	ssize_t n;

	cf_put_str("t", "0123456789");
	cf_ok("open.creat.existing_keeps_data",
	      open_rc("t", O_CREAT | O_WRONLY) == 0 && cf_size("t") == 10 &&
		      host_get_str_is("t", "0123456789"),
	      "size %lld", (long long)cf_size("t"));
	f = cf_open("t", O_WRONLY | O_TRUNC, 0, NULL);
	cf_ok("open.trunc.size0",
	      f && !vdax_fstat(f, &sb) && sb.st_size == 0 &&
		      host_size("t") == 0,
	      "size %lld host %lld", (long long)sb.st_size,
	      (long long)host_size("t"));
	vdax_release(f);

	cf_put_str("a", "abc");
	f = cf_open("a", O_WRONLY | O_APPEND, 0, NULL);
	if (f)
		vdax_lseek(f, 0, SEEK_SET);
	n = f ? vdax_write(f, "XYZ", 3) : -EBADF;
	cf_eq("open.append.write_count", n, 3);
	cf_ok("open.append.lands_at_end",
	      cf_get_str_is("a", "abcXYZ") && host_get_str_is("a", "abcXYZ"),
	      "contents differ");
	cf_eq("open.append.offset_after_write",
	      f ? vdax_lseek(f, 0, SEEK_CUR) : -EBADF, 6);
	/* Linux: pwrite on an O_APPEND fd appends regardless of offset. */
	n = f ? vdax_pwrite(f, "P", 1, 0) : -EBADF;
	cf_ok("open.append.pwrite_appends",
	      n == 1 && cf_get_str_is("a", "abcXYZP") &&
		      host_get_str_is("a", "abcXYZP"),
	      "n %zd", n);
	vdax_release(f);

	f = cf_open("a", O_RDWR | O_APPEND, 0, NULL);
	cf_eq("open.append.read_from_start",
	      f ? vdax_read(f, buf, sizeof(buf)) : -EBADF, 7);
	vdax_release(f);
}

static void open_types(void)
{
	vdax_mkdir(cf_vd, P("d"), 0755);
	cf_put_str("file", "x");
	vdax_symlink(cf_vd, "file", P("lnk"));

	cf_err("open.directory.file_ENOTDIR", open_rc("file", O_DIRECTORY),
	       ENOTDIR);
	cf_rc0("open.directory.dir_ok", open_rc("d", O_DIRECTORY | O_RDONLY));
	cf_err("open.nofollow.symlink_ELOOP", open_rc("lnk", O_NOFOLLOW),
	       ELOOP);
	cf_rc0("open.nofollow.file_ok", open_rc("file", O_NOFOLLOW));
	cf_rc0("open.follow.symlink_ok", open_rc("lnk", O_RDONLY));
	cf_err("open.creat.dir_EISDIR", open_rc("d", O_CREAT | O_RDWR), EISDIR);
	cf_err("open.dir.wronly_EISDIR", open_rc("d", O_WRONLY), EISDIR);
	cf_err("open.dir.rdwr_EISDIR", open_rc("d", O_RDWR), EISDIR);
	cf_err("open.dir.trunc_EISDIR", open_rc("d", O_RDONLY | O_TRUNC),
	       EISDIR);
	cf_err("open.file.trailing_slash_ENOTDIR", open_rc("file/", O_RDONLY),
	       ENOTDIR);
	cf_rc0("open.dir.trailing_slash_ok", open_rc("d/", O_RDONLY));
}

static void open_lookup_errors(void)
{
	char name[300];

	cf_err("open.missing_ENOENT", open_rc("missing", O_RDONLY), ENOENT);
	cf_err("open.missing_parent_ENOENT",
	       open_rc("nodir/f", O_CREAT | O_WRONLY), ENOENT);
	cf_err("open.component_file_ENOTDIR", open_rc("file/x", O_RDONLY),
	       ENOTDIR);
	cf_err("open.component_file_creat_ENOTDIR",
	       open_rc("file/x", O_CREAT | O_WRONLY), ENOTDIR);

	memset(name, 'n', 256);
	name[256] = 0;
	cf_err("open.name256_ENAMETOOLONG", open_rc(name, O_CREAT | O_WRONLY),
	       ENAMETOOLONG);
	cf_err("open.name256_lookup_ENAMETOOLONG", open_rc(name, O_RDONLY),
	       ENAMETOOLONG);
	name[255] = 0;
	cf_rc0("open.name255_ok", open_rc(name, O_CREAT | O_WRONLY));
	cf_ok("open.name255_stat", cf_size(name) == 0 && host_size(name) == 0,
	      "size %lld host %lld", (long long)cf_size(name),
	      (long long)host_size(name));
	vdax_unlink(cf_vd, P(name));
	cf_ok("open.api.flags_accmode3_EINVAL",
	      open_rc("file", O_ACCMODE) == -EINVAL, "rc %s",
	      cf_errname(-open_rc("file", O_ACCMODE)));
}

static void open_modes(void)
{
	struct vdax_file *f;
	char c = 'x';

	f = cf_open("file", O_RDONLY, 0, NULL);
	cf_err("open.rdonly.write_EBADF", f ? vdax_write(f, &c, 1) : -ENOENT,
	       EBADF);
	vdax_release(f);
	f = cf_open("file", O_WRONLY, 0, NULL);
	cf_err("open.wronly.read_EBADF", f ? vdax_read(f, &c, 1) : -ENOENT,
	       EBADF);
	vdax_release(f);
	f = cf_open("d", O_RDONLY | O_DIRECTORY, 0, NULL);
	cf_err("open.dir.read_EISDIR", f ? vdax_read(f, &c, 1) : -ENOENT,
	       EISDIR);
	vdax_release(f);

	f = cf_open("rw", O_RDWR | O_CREAT | O_TRUNC, 0600, NULL);
	cf_ok("open.rdwr.read_own_write",
	      f && vdax_write(f, "hello", 5) == 5 &&
		      vdax_pread(f, &c, 1, 4) == 1 && c == 'o' &&
		      host_get_str_is("rw", "hello"),
	      "read back '%c'", c);
	vdax_release(f);
}

void cf_area_open(void)
{
	open_create();
	open_trunc_append();
	open_types();
	open_lookup_errors();
	open_modes();
}
