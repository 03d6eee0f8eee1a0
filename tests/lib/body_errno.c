// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The errno area of the shared body (cbody.h): exact errnos of path
 * resolution, of other users (where the suite can act as one) and across
 * mounts (where it sees another).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cbody.h"

static void errno_exdev(const struct cb_ops *o)
{
	const char *other = o->other_mount();
	char target[256];

	if (!other) {
		cb_ok(o, "errno.exdev.rename", false, "no other mount found");
		cb_ok(o, "errno.exdev.link", false, "no other mount found");
		return;
	}
	snprintf(target, sizeof(target), "%s/vdax-posix-exdev-%ld", other,
		 (long)getpid());
	cb_err(o, "errno.exdev.rename", o->rename("x", target), EXDEV);
	o->unlink(target); /* only if it wrongly succeeded */
	cb_err(o, "errno.exdev.link", o->link("x", target), EXDEV);
	o->unlink(target);
}

static int op_unlink(const struct cb_ops *o, const char *p)
{
	return o->unlink(p);
}

static int op_open_rd(const struct cb_ops *o, const char *p)
{
	void *f;
	int ret = o->open(p, O_RDONLY, 0, &f);

	if (!ret)
		o->close(f);
	return ret;
}

static int op_chown(const struct cb_ops *o, const char *p)
{
	return o->chown(p, 65534, 65534);
}

/* @got: as_nobody's answer, 0 or an errno (< 0: could not run it). */
static void nobody_is(const struct cb_ops *o, const char *name, int got,
		      int want)
{
	if (got < 0)
		cb_ok(o, name, false, "could not run as nobody");
	else
		cb_ok(o, name, got == want, "got %s, want %s",
		      got ? o->errname(got) : "success",
		      want ? o->errname(want) : "success");
}

static void errno_nobody(const struct cb_ops *o)
{
	o->mkdir("sticky", 0755);
	o->chmod("sticky", 01777);
	cb_put_str(o, "sticky/f", "root's");
	o->mkdir("open", 0755);
	o->chmod("open", 0777);
	cb_put_str(o, "open/f", "root's");
	cb_put_str(o, "secret", "s");
	o->chmod("secret", 0600);

	/* the sticky bit: only the owner may unlink from a shared dir */
	nobody_is(o, "errno.eperm.sticky_unlink_by_other",
		  o->as_nobody(o, op_unlink, "sticky/f"), EPERM);
	nobody_is(o, "errno.nonsticky_unlink_by_other_ok",
		  o->as_nobody(o, op_unlink, "open/f"), 0);
	nobody_is(o, "errno.eacces.open_0600_by_other",
		  o->as_nobody(o, op_open_rd, "secret"), EACCES);
	nobody_is(o, "errno.eperm.chown_by_other",
		  o->as_nobody(o, op_chown, "secret"), EPERM);
}

static void errno_paths(const struct cb_ops *o)
{
	char *path = malloc(5001);
	struct stat sb = { 0 };
	char l[16], n[16];
	void *f;
	int i, ret;

	if (path) {
		for (i = 0; i < 5000; i++)
			path[i] = i % 2 ? '/' : 'a';
		path[5000] = 0;
		cb_err(o, "errno.enametoolong.path_over_4096",
		       o->stat(path, &sb), ENAMETOOLONG);
		cb_err(o, "errno.enametoolong.symlink_target",
		       o->symlink(path, "toolong"), ENAMETOOLONG);
		free(path);
	}
	/* A chain of 41 links exceeds Linux's 40-link limit. */
	cb_put_str(o, "c41", "end");
	for (i = 0; i < 41; i++) {
		snprintf(l, sizeof(l), "c%d", i);
		snprintf(n, sizeof(n), "c%d", i + 1);
		o->symlink(n, l);
	}
	cb_err(o, "errno.eloop.chain_41", o->stat("c0", &sb), ELOOP);
	ret = o->stat("c1", &sb);
	cb_ok(o, "errno.eloop.chain_40_ok", !ret && S_ISREG(sb.st_mode),
	      "errno %s", o->errname(-ret));
	/* a handle number that is not open: only file descriptors have one */
	if (o->unopened) {
		cb_err(o, "errno.ebadf.fstat_closed",
		       o->fstat(o->unopened, &sb), EBADF);
		cb_err(o, "errno.ebadf.close_closed", o->close(o->unopened),
		       EBADF);
	}
	if (o->flags & CB_O_TMPFILE) {
		ret = o->open(".", O_TMPFILE | O_RDONLY, 0, &f);
		if (!ret)
			o->close(f);
		cb_err(o, "errno.einval.tmpfile_rdonly", ret, EINVAL);
	}
	cb_err(o, "errno.enotdir.dotdot_of_file", o->stat("x/..", &sb),
	       ENOTDIR);
	if (o->flags & CB_LIBVDAX)
		cb_err(o, "errno.api.link_to_missing_parent_ENOENT",
		       o->link("x", "no/x"), ENOENT);
}

void cb_area_errno(const struct cb_ops *o)
{
	cb_put_str(o, "x", "x");
	if (o->other_mount)
		errno_exdev(o);
	if (o->as_nobody)
		errno_nobody(o);
	errno_paths(o);
}
