// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Extended attributes (user.* mostly). If the filesystem does not support
 * them at all, every check still runs and fails with the errno of the
 * first setxattr, so the difference shows up in a comparison.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "px.h"

static int unsupported; /* errno of the first setxattr, if EOPNOTSUPP */

#define xok(name, cond, ...)                                                   \
	({                                                                     \
		bool xc_ = (cond);                                             \
		unsupported ? (px_fail_errno(name, unsupported), false)        \
			    : px_check(name, xc_, __VA_ARGS__);                \
	})

static void xerr(const char *name, long rc, int want)
{
	int e = errno;

	if (unsupported) {
		px_fail_errno(name, unsupported);
		return;
	}
	errno = e;
	px_err(name, rc, want);
}

static bool get_is(const char *path, const char *key, const void *want,
		   size_t len)
{
	char buf[8192];
	ssize_t n = getxattr(path, key, buf, sizeof(buf));

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

static void xattr_basic(void)
{
	char buf[64];
	int rc, e;

	px_put_str("f", "x");
	rc = setxattr("f", "user.one", "value1", 6, 0);
	e = errno;
	if (rc && (e == EOPNOTSUPP || e == ENOTSUP))
		unsupported = e;
	xok("xattr.set.rc", rc == 0, "got errno %s", px_errname(e));
	xok("xattr.get.value", get_is("f", "user.one", "value1", 6), "differs");
	xok("xattr.get.size_query", getxattr("f", "user.one", NULL, 0) == 6,
	    "got %zd", getxattr("f", "user.one", NULL, 0));
	xerr("xattr.get.small_buf_ERANGE", getxattr("f", "user.one", buf, 3),
	     ERANGE);
	xerr("xattr.get.missing_ENODATA", getxattr("f", "user.none", buf, 64),
	     ENODATA);
	xerr("xattr.create.existing_EEXIST",
	     setxattr("f", "user.one", "v", 1, XATTR_CREATE), EEXIST);
	xerr("xattr.replace.missing_ENODATA",
	     setxattr("f", "user.none", "v", 1, XATTR_REPLACE), ENODATA);
	xok("xattr.replace.rc",
	    !setxattr("f", "user.one", "longer-value", 12, XATTR_REPLACE),
	    "errno %s", px_errname(errno));
	xok("xattr.replace.value", get_is("f", "user.one", "longer-value", 12),
	    "differs");
	xok("xattr.create.new_rc",
	    !setxattr("f", "user.two", "2", 1, XATTR_CREATE), "errno %s",
	    px_errname(errno));
	xok("xattr.overwrite_plain",
	    !setxattr("f", "user.two", "22", 2, 0) &&
		    get_is("f", "user.two", "22", 2),
	    "differs");
}

/* Reported (not erred) so that an oversized errno also shows up. */
static void xerr_or_zero(const char *name, ssize_t rc, int want)
{
	if (want)
		xerr(name, rc, want);
	else
		xok(name, rc == 0, "rc %zd errno %s", rc, px_errname(errno));
}

static void xattr_list(void)
{
	char list[1024];
	ssize_t want, n;

	want = listxattr("f", NULL, 0);
	n = listxattr("f", list, sizeof(list));
	xok("xattr.list.size_query", want == n && n > 0, "query %zd got %zd",
	    want, n);
	xok("xattr.list.has_both",
	    n > 0 && list_count(list, n, "user.one") == 1 &&
		    list_count(list, n, "user.two") == 1,
	    "names missing");
	xerr("xattr.list.small_buf_ERANGE", listxattr("f", list, 3), ERANGE);
	xerr_or_zero("xattr.remove.rc", removexattr("f", "user.two"), 0);
	xerr("xattr.remove.gone_ENODATA", getxattr("f", "user.two", list, 64),
	     ENODATA);
	n = listxattr("f", list, sizeof(list));
	xok("xattr.list.after_remove",
	    n > 0 && list_count(list, n, "user.two") == 0 &&
		    list_count(list, n, "user.one") == 1,
	    "n %zd", n);
	xerr("xattr.remove.missing_ENODATA", removexattr("f", "user.two"),
	     ENODATA);
}

static void xattr_values(void)
{
	char big[2000], bin[256];
	int i, fd;

	xok("xattr.empty_value",
	    !setxattr("f", "user.empty", "", 0, 0) &&
		    getxattr("f", "user.empty", big, sizeof(big)) == 0,
	    "errno %s", px_errname(errno));
	for (i = 0; i < 256; i++)
		bin[i] = (char)i;
	setxattr("f", "user.bin", bin, sizeof(bin), 0);
	xok("xattr.binary_value", get_is("f", "user.bin", bin, sizeof(bin)),
	    "differs");
	px_pattern(big, sizeof(big), 0);
	xok("xattr.value_2000_set",
	    !setxattr("f", "user.big", big, sizeof(big), 0), "errno %s",
	    px_errname(errno));
	xok("xattr.value_2000_get", get_is("f", "user.big", big, sizeof(big)),
	    "differs");

	fd = open("f", O_RDONLY);
	xok("xattr.fset_fget",
	    !fsetxattr(fd, "user.fd", "fdv", 3, 0) &&
		    fgetxattr(fd, "user.fd", big, sizeof(big)) == 3 &&
		    !memcmp(big, "fdv", 3),
	    "errno %s", px_errname(errno));
	xok("xattr.flist", flistxattr(fd, big, sizeof(big)) > 0, "errno %s",
	    px_errname(errno));
	xerr_or_zero("xattr.fremove", fremovexattr(fd, "user.fd"), 0);
	close(fd);

	mkdir("d", 0755);
	xok("xattr.dir",
	    !setxattr("d", "user.d", "dv", 2, 0) &&
		    get_is("d", "user.d", "dv", 2),
	    "errno %s", px_errname(errno));
	rename("f", "g");
	xok("xattr.survives_rename",
	    get_is("g", "user.one", "longer-value", 12), "lost");
	link("g", "h");
	xok("xattr.shared_by_hardlink",
	    get_is("h", "user.bin", bin, sizeof(bin)), "lost");
}

static void xattr_errors(void)
{
	char name[300];

	symlink("g", "sl");
	xerr("xattr.symlink_user_EPERM", lsetxattr("sl", "user.x", "v", 1, 0),
	     EPERM);
	xok("xattr.get_follows_symlink",
	    get_is("sl", "user.one", "longer-value", 12), "differs");
	memcpy(name, "user.", 5);
	memset(name + 5, 'n', 260);
	name[265] = 0;
	xerr("xattr.name_too_long_ERANGE", setxattr("g", name, "v", 1, 0),
	     ERANGE);
	xerr("xattr.unknown_namespace_EOPNOTSUPP",
	     setxattr("g", "bogus.ns", "v", 1, 0), EOPNOTSUPP);
	xerr("xattr.missing_file_ENOENT", setxattr("nope", "user.a", "v", 1, 0),
	     ENOENT);
	xok("xattr.trusted_as_root",
	    !setxattr("g", "trusted.t", "tv", 2, 0) &&
		    get_is("g", "trusted.t", "tv", 2),
	    "errno %s", px_errname(errno));
}

void px_area_xattr(void)
{
	xattr_basic();
	xattr_list();
	xattr_values();
	xattr_errors();
}
