// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The xattr area of the shared body (cbody.h): extended attributes
 * (user.* mostly). If the filesystem does not support them at all, every
 * check still runs and fails with the errno of the first setxattr, so the
 * difference shows up in a comparison. Values are read back on the host
 * too where the suite sees it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "cbody.h"

static int unsupported; /* errno of the first setxattr, if EOPNOTSUPP */

static bool xok(const struct cb_ops *o, const char *name, bool cond,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static bool xok(const struct cb_ops *o, const char *name, bool cond,
		const char *fmt, ...)
{
	char detail[256] = "";
	va_list ap;

	if (unsupported) {
		cb_fail_errno(o, name, unsupported);
		return false;
	}
	if (!cond && fmt) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	return o->check(name, cond, detail[0] ? detail : NULL);
}

static void xerr(const struct cb_ops *o, const char *name, long long rc,
		 int want)
{
	if (unsupported)
		cb_fail_errno(o, name, unsupported);
	else
		cb_err(o, name, rc, want);
}

/* The value through the suite and, where it is seen, on the host. */
static bool get_is(const struct cb_ops *o, const char *p, const char *key,
		   const void *want, size_t len)
{
	char buf[8192];
	ssize_t n = o->getxattr(p, key, buf, sizeof(buf));

	if (n != (ssize_t)len || memcmp(buf, want, len))
		return false;
	if (!o->host_getxattr)
		return true;
	n = o->host_getxattr(p, key, buf, sizeof(buf));
	return n == (ssize_t)len && !memcmp(buf, want, len);
}

/* Counts how often name occurs in a listxattr() result. */
static int list_count(const char *list, ssize_t len, const char *name)
{
	const char *p;
	int n = 0;

	for (p = list; p < list + len; p += strlen(p) + 1)
		n += !strcmp(p, name);
	return n;
}

static void xattr_basic(const struct cb_ops *o)
{
	char buf[64];
	int rc;

	cb_put_str(o, "f", "x");
	rc = o->setxattr("f", "user.one", "value1", 6, 0);
	if (rc == -EOPNOTSUPP)
		unsupported = EOPNOTSUPP;
	xok(o, "xattr.set.rc", rc == 0, "got errno %s", o->errname(-rc));
	xok(o, "xattr.get.value", get_is(o, "f", "user.one", "value1", 6),
	    "differs");
	xok(o, "xattr.get.size_query",
	    o->getxattr("f", "user.one", NULL, 0) == 6, "got %zd",
	    o->getxattr("f", "user.one", NULL, 0));
	xerr(o, "xattr.get.small_buf_ERANGE",
	     o->getxattr("f", "user.one", buf, 3), ERANGE);
	xerr(o, "xattr.get.missing_ENODATA",
	     o->getxattr("f", "user.none", buf, 64), ENODATA);
	xerr(o, "xattr.create.existing_EEXIST",
	     o->setxattr("f", "user.one", "v", 1, XATTR_CREATE), EEXIST);
	xerr(o, "xattr.replace.missing_ENODATA",
	     o->setxattr("f", "user.none", "v", 1, XATTR_REPLACE), ENODATA);
	rc = o->setxattr("f", "user.one", "longer-value", 12, XATTR_REPLACE);
	xok(o, "xattr.replace.rc", !rc, "errno %s", o->errname(-rc));
	xok(o, "xattr.replace.value",
	    get_is(o, "f", "user.one", "longer-value", 12), "differs");
	rc = o->setxattr("f", "user.two", "2", 1, XATTR_CREATE);
	xok(o, "xattr.create.new_rc", !rc, "errno %s", o->errname(-rc));
	xok(o, "xattr.overwrite_plain",
	    !o->setxattr("f", "user.two", "22", 2, 0) &&
		    get_is(o, "f", "user.two", "22", 2),
	    "differs");
}

static void xattr_list(const struct cb_ops *o)
{
	char list[1024];
	ssize_t want, n;
	int rc;

	want = o->listxattr("f", NULL, 0);
	n = o->listxattr("f", list, sizeof(list));
	xok(o, "xattr.list.size_query", want == n && n > 0,
	    "query %zd got %zd", want, n);
	xok(o, "xattr.list.has_both",
	    n > 0 && list_count(list, n, "user.one") == 1 &&
		    list_count(list, n, "user.two") == 1,
	    "names missing");
	xerr(o, "xattr.list.small_buf_ERANGE", o->listxattr("f", list, 3),
	     ERANGE);
	/* reported (not erred) so that an oversized errno also shows up */
	rc = o->removexattr("f", "user.two");
	xok(o, "xattr.remove.rc",
	    rc == 0 && (!o->host_getxattr ||
			o->host_getxattr("f", "user.two", NULL, 0) < 0),
	    "rc %s", o->errname(-rc));
	xerr(o, "xattr.remove.gone_ENODATA",
	     o->getxattr("f", "user.two", list, 64), ENODATA);
	n = o->listxattr("f", list, sizeof(list));
	xok(o, "xattr.list.after_remove",
	    n > 0 && list_count(list, n, "user.two") == 0 &&
		    list_count(list, n, "user.one") == 1,
	    "n %zd", n);
	xerr(o, "xattr.remove.missing_ENODATA",
	     o->removexattr("f", "user.two"), ENODATA);
}

/* The same calls on an open file: only where the suite has them. */
static void xattr_fd(const struct cb_ops *o, char *big, size_t size)
{
	void *f;
	int rc;

	if (o->open("f", O_RDONLY, 0, &f))
		f = NULL;
	rc = f ? o->fsetxattr(f, "user.fd", "fdv", 3, 0) : -EBADF;
	xok(o, "xattr.fset_fget",
	    !rc && o->fgetxattr(f, "user.fd", big, size) == 3 &&
		    !memcmp(big, "fdv", 3),
	    "errno %s", o->errname(-rc));
	rc = f ? (int)o->flistxattr(f, big, size) : -EBADF;
	xok(o, "xattr.flist", rc > 0, "errno %s", o->errname(-rc));
	rc = f ? o->fremovexattr(f, "user.fd") : -EBADF;
	xok(o, "xattr.fremove", rc == 0, "rc %d errno %s", rc,
	    o->errname(-rc));
	if (f)
		o->close(f);
}

static void xattr_values(const struct cb_ops *o)
{
	char big[2000], bin[256];
	int i, rc;

	rc = o->setxattr("f", "user.empty", "", 0, 0);
	xok(o, "xattr.empty_value",
	    !rc && o->getxattr("f", "user.empty", big, sizeof(big)) == 0,
	    "errno %s", o->errname(-rc));
	for (i = 0; i < 256; i++)
		bin[i] = (char)i;
	o->setxattr("f", "user.bin", bin, sizeof(bin), 0);
	xok(o, "xattr.binary_value",
	    get_is(o, "f", "user.bin", bin, sizeof(bin)), "differs");
	cb_pattern(big, sizeof(big), 0);
	rc = o->setxattr("f", "user.big", big, sizeof(big), 0);
	xok(o, "xattr.value_2000_set", !rc, "errno %s", o->errname(-rc));
	xok(o, "xattr.value_2000_get",
	    get_is(o, "f", "user.big", big, sizeof(big)), "differs");
	if (o->fsetxattr)
		xattr_fd(o, big, sizeof(big));

	o->mkdir("d", 0755);
	rc = o->setxattr("d", "user.d", "dv", 2, 0);
	xok(o, "xattr.dir", !rc && get_is(o, "d", "user.d", "dv", 2),
	    "errno %s", o->errname(-rc));
	o->rename("f", "g");
	xok(o, "xattr.survives_rename",
	    get_is(o, "g", "user.one", "longer-value", 12), "lost");
	o->link("g", "h");
	xok(o, "xattr.shared_by_hardlink",
	    get_is(o, "h", "user.bin", bin, sizeof(bin)), "lost");
	if (o->host_setxattr)
		xok(o, "xattr.host_set_visible",
		    !o->host_setxattr("g", "user.fromhost", "hv", 2, 0) &&
			    o->getxattr("g", "user.fromhost", big,
					sizeof(big)) == 2 &&
			    !memcmp(big, "hv", 2),
		    "not visible");
}

static void xattr_errors(const struct cb_ops *o)
{
	char name[300];
	int rc;

	o->symlink("g", "sl");
	/* user.* is for regular files and directories only */
	if (o->lsetxattr)
		xerr(o, "xattr.symlink_user_EPERM",
		     o->lsetxattr("sl", "user.x", "v", 1, 0), EPERM);
	xok(o, "xattr.get_follows_symlink",
	    get_is(o, "sl", "user.one", "longer-value", 12), "differs");
	memcpy(name, "user.", 5);
	memset(name + 5, 'n', 260);
	name[265] = 0;
	xerr(o, "xattr.name_too_long_ERANGE",
	     o->setxattr("g", name, "v", 1, 0), ERANGE);
	xerr(o, "xattr.unknown_namespace_EOPNOTSUPP",
	     o->setxattr("g", "bogus.ns", "v", 1, 0), EOPNOTSUPP);
	xerr(o, "xattr.missing_file_ENOENT",
	     o->setxattr("nope", "user.a", "v", 1, 0), ENOENT);
	rc = o->setxattr("g", "trusted.t", "tv", 2, 0);
	xok(o, "xattr.trusted_as_root",
	    !rc && get_is(o, "g", "trusted.t", "tv", 2), "errno %s",
	    o->errname(-rc));
}

void cb_area_xattr(const struct cb_ops *o)
{
	unsupported = 0;
	xattr_basic(o);
	xattr_list(o);
	xattr_values(o);
	xattr_errors(o);
}
