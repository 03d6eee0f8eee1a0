// SPDX-License-Identifier: GPL-2.0-or-later
/* statfs, fsync family, exact errnos, and assorted corners. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cf.h"

/* ---- misc ---- */

static void misc_special(void)
{
	struct stat sb = {0};
	int rc;

	cf_eq("misc.mkfifo.rc", vdax_mknod(cf_vd, P("fifo"), S_IFIFO | 0644, 0),
	      0);
	cf_ok("misc.mkfifo.is_fifo",
	      !vdax_stat(cf_vd, P("fifo"), &sb) && S_ISFIFO(sb.st_mode) &&
		      host_exists("fifo"),
	      "mode 0%o", sb.st_mode);
	cf_mode("misc.mkfifo.mode_umask", sb.st_mode & 07777, 0644);
	cf_err("misc.mkfifo.exists_EEXIST",
	       vdax_mknod(cf_vd, P("fifo"), S_IFIFO | 0644, 0), EEXIST);
	cf_eq("misc.mknod.fifo_rc",
	      vdax_mknod(cf_vd, P("fifo2"), S_IFIFO | 0600, 0), 0);
	rc = vdax_mknod(cf_vd, P("reg"), S_IFREG | 0600, 0);
	cf_ok("misc.mknod.reg",
	      !rc && !vdax_stat(cf_vd, P("reg"), &sb) && S_ISREG(sb.st_mode) &&
		      sb.st_size == 0,
	      "errno %s", cf_errname(-rc));
	rc = vdax_mknod(cf_vd, P("sock"), S_IFSOCK | 0600, 0);
	cf_ok("misc.mknod.sock",
	      !rc && !vdax_lstat(cf_vd, P("sock"), &sb) &&
		      S_ISSOCK(sb.st_mode),
	      "errno %s mode 0%o", cf_errname(-rc), sb.st_mode);
	rc = vdax_mknod(cf_vd, P("null"), S_IFCHR | 0666, makedev(1, 3));
	cf_ok("misc.mknod.chr_rdev",
	      !rc && !vdax_stat(cf_vd, P("null"), &sb) && S_ISCHR(sb.st_mode) &&
		      sb.st_rdev == makedev(1, 3),
	      "errno %s", cf_errname(-rc));
}

static void misc_ino(void)
{
	struct stat sb = {0};

	cf_put_str("a", "x");
	vdax_mkdir(cf_vd, P("at"), 0755);
	cf_ok("misc.ino.distinct",
	      cf_ino("a") && cf_ino("at") && cf_ino("a") != cf_ino("at"),
	      "same");
	vdax_mkdir(cf_vd, P("at/sub"), 0755);
	vdax_rmdir(cf_vd, P("at/sub"));
	cf_eq("misc.nlink.dir_back_to_2",
	      vdax_stat(cf_vd, P("at"), &sb) ?: (long)sb.st_nlink, 2);
}

static void misc_copy(void)
{
	char *buf = malloc(1 << 20);
	struct vdax_file *in, *out;
	ssize_t n = -1;

	if (!buf)
		return;
	cf_pattern(buf, 1 << 20, 0);
	cf_put("cin", buf, 1 << 20);
	in = cf_open("cin", O_RDONLY, 0, NULL);
	out = cf_open("cout", O_RDWR | O_CREAT | O_TRUNC, 0644, NULL);
	if (in && out)
		n = vdax_copy_file_range(in, NULL, out, NULL, 1 << 20, 0);
	cf_eq("misc.copy_file_range.count", n, 1 << 20);
	memset(buf, 0, 1 << 20);
	cf_ok("misc.copy_file_range.contents",
	      n == 1 << 20 && vdax_pread(out, buf, 1 << 20, 0) == 1 << 20 &&
		      cf_pattern_ok(buf, 1 << 20, 0),
	      "mismatch");
	memset(buf, 0, 1 << 20);
	cf_ok("misc.copy_file_range.host_contents",
	      host_get("cout", buf, 1 << 20, 0) == 1 << 20 &&
		      cf_pattern_ok(buf, 1 << 20, 0),
	      "mismatch");
	cf_eq("misc.copy_file_range.advances_offsets",
	      out ? vdax_lseek(out, 0, SEEK_CUR) : -EBADF, 1 << 20);
	if (in && out) {
		off_t oi = 100, oo = 0;

		n = vdax_copy_file_range(in, &oi, out, &oo, 1000, 0);
		memset(buf, 0, 1000);
		cf_ok("misc.copy_file_range.explicit_offsets",
		      n == 1000 && oi == 1100 && oo == 1000 &&
			      host_get("cout", buf, 1000, 0) == 1000 &&
			      cf_pattern_ok(buf, 1000, 100) &&
			      vdax_lseek(out, 0, SEEK_CUR) == 1 << 20,
		      "n %zd off_in %lld off_out %lld", n, (long long)oi,
		      (long long)oo);
	} else {
		cf_fail_errno("misc.copy_file_range.explicit_offsets", ENOENT);
	}
	vdax_release(in);
	vdax_release(out);
	free(buf);
}

void cf_area_misc(void)
{
	misc_special();
	misc_ino();
	misc_copy();
}
