// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The statfs area of the shared body (cbody.h): statvfs of the area's
 * filesystem. Where the suite sees the host, the numbers are the host's.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/statvfs.h>

#include "cbody.h"

void cb_area_statfs(const struct cb_ops *o)
{
	struct statvfs a = { 0 }, b = { 0 }, h = { 0 };
	void *f;
	int rc;

	cb_eq(o, "statfs.rc", o->statvfs(".", &a), 0);
	cb_ok(o, "statfs.bsize_positive", a.f_bsize > 0, "%lu", a.f_bsize);
	cb_ok(o, "statfs.blocks_ge_bfree", a.f_blocks >= a.f_bfree,
	      "blocks %llu bfree %llu", (unsigned long long)a.f_blocks,
	      (unsigned long long)a.f_bfree);
	cb_ok(o, "statfs.bfree_ge_bavail", a.f_bfree >= a.f_bavail,
	      "bfree %llu bavail %llu", (unsigned long long)a.f_bfree,
	      (unsigned long long)a.f_bavail);
	cb_ok(o, "statfs.blocks_nonzero", a.f_blocks > 0, "0");
	/* the same through an open directory, where the suite has fstatfs */
	if (o->fstatvfs) {
		cb_ok(o, "statfs.namelen_ge_255", a.f_namemax >= 255, "%lu",
		      a.f_namemax);
		rc = o->open(".", O_RDONLY | O_DIRECTORY, 0, &f);
		cb_ok(o, "statfs.fstatfs_matches",
		      !rc && !o->fstatvfs(f, &b) && a.f_fsid == b.f_fsid &&
			      a.f_bsize == b.f_bsize &&
			      a.f_blocks == b.f_blocks &&
			      a.f_namemax == b.f_namemax,
		      "differs");
		if (!rc)
			o->close(f);
	}
	cb_err(o, "statfs.missing_ENOENT", o->statvfs("nope", &b), ENOENT);
	cb_ok(o, "statvfs.namemax_ge_255", a.f_namemax >= 255, "%lu",
	      a.f_namemax);
	cb_ok(o, "statvfs.frsize_positive", a.f_frsize > 0, "%lu", a.f_frsize);
	if (!o->host_statvfs)
		return;
	/* the numbers are the host's */
	rc = o->host_statvfs(".", &h);
	cb_ok(o, "statfs.host_agrees",
	      !rc && h.f_blocks * h.f_frsize == a.f_blocks * a.f_frsize &&
		      h.f_files == a.f_files,
	      "blocks %llu*%lu host %llu*%lu", (unsigned long long)a.f_blocks,
	      a.f_frsize, (unsigned long long)h.f_blocks, h.f_frsize);
}
