// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The sync area of the shared body (cbody.h): the fsync family, and
 * O_SYNC/O_DSYNC writes. Where the suite sees the host, the data must be
 * there after the sync.
 */
#include <errno.h>
#include <fcntl.h>

#include "cbody.h"

void cb_area_sync(const struct cb_ops *o)
{
	void *f = NULL;

	if (o->open("s", O_RDWR | O_CREAT | O_TRUNC, 0644, &f))
		f = NULL;
	if (f)
		o->write(f, "data", 4);
	cb_eq(o, "sync.fsync_file", f ? o->fsync(f) : -EBADF, 0);
	cb_eq(o, "sync.fdatasync_file", f ? o->fdatasync(f) : -EBADF, 0);
	if (o->sync_file_range)
		cb_eq(o, "sync.sync_file_range",
		      f ? o->sync_file_range(f) : -EBADF, 0);
	cb_eq(o, "sync.syncfs", f ? o->syncfs(f) : -EBADF, 0);
	if (f)
		o->close(f);
	if (f && (o->flags & CB_CLOSED_EBADF))
		cb_err(o, "sync.fsync_closed_EBADF", o->fsync(f), EBADF);
	if (o->host_read)
		cb_ok(o, "sync.data_on_host", cb_host_str_is(o, "s", "data"),
		      "differs");
	if (o->open("s", O_RDONLY, 0, &f))
		f = NULL;
	cb_eq(o, "sync.fsync_rdonly_file", f ? o->fsync(f) : -EBADF, 0);
	if (f)
		o->close(f);
	/* a directory syncs too (its entries) */
	if (o->open(".", O_RDONLY | O_DIRECTORY, 0, &f))
		f = NULL;
	cb_eq(o, "sync.fsync_dir", f ? o->fsync(f) : -EBADF, 0);
	cb_eq(o, "sync.fdatasync_dir", f ? o->fdatasync(f) : -EBADF, 0);
	if (f)
		o->close(f);
	if (o->open("os", O_WRONLY | O_CREAT | O_SYNC, 0644, &f))
		f = NULL;
	cb_eq(o, "sync.o_sync_write", f ? o->write(f, "abc", 3) : -EBADF, 3);
	if (f)
		o->close(f);
	if (o->open("od", O_WRONLY | O_CREAT | O_DSYNC, 0644, &f))
		f = NULL;
	cb_eq(o, "sync.o_dsync_write", f ? o->write(f, "abc", 3) : -EBADF, 3);
	if (f)
		o->close(f);
	if (o->host_read)
		cb_ok(o, "sync.o_sync_data_on_host",
		      cb_host_str_is(o, "os", "abc") &&
			      cb_host_str_is(o, "od", "abc"),
		      "differs");
}
