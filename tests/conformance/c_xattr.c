// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Extended attributes (user.* mostly). If the backend does not support
 * them at all, every check still runs and fails with the errno of the
 * first setxattr, as in vdax-posix.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cf.h"

static int unsupported; /* errno of the first setxattr, if EOPNOTSUPP */

#define xok(name, cond, ...)                                                   \
	({                                                                     \
		bool xc_ = (cond);                                             \
		unsupported ? (cf_fail_errno(name, unsupported), false)        \
			    : cf_check(name, xc_, __VA_ARGS__);                \
	})

static void xerr(const char *name, long long rc, int want)
{
	if (unsupported) {
		cf_fail_errno(name, unsupported);
		return;
	}
	cf_err(name, rc, want);
}

static ssize_t xget(const char *rel, const char *key, void *buf, size_t size)
{
	return vdax_getxattr(cf_vd, P(rel), key, buf, size);
}

static int xset(const char *rel, const char *key, const void *v, size_t len,
		int flags)
{
	return vdax_setxattr(cf_vd, P(rel), key, v, len, flags);
}

/* The value through the API and on the host. */
static bool get_is(const char *rel, const char *key, const void *want,
		   size_t len)
{
	char buf[8192];
	ssize_t n = xget(rel, key, buf, sizeof(buf));
	ssize_t hn;

	if (n != (ssize_t)len || memcmp(buf, want, len))
		return false;
	hn = getxattr(H(rel), key, buf, sizeof(buf));
	return hn == (ssize_t)len && !memcmp(buf, want, len);
}

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
	int rc;

	cf_put_str("f", "x");
	rc = xset("f", "user.one", "value1", 6, 0);
	if (rc == -EOPNOTSUPP)
		unsupported = EOPNOTSUPP;
	xok("xattr.set.rc", rc == 0, "got errno %s", cf_errname(-rc));
	xok("xattr.get.value", get_is("f", "user.one", "value1", 6), "differs");
	xok("xattr.get.size_query", xget("f", "user.one", NULL, 0) == 6,
	    "got %zd", xget("f", "user.one", NULL, 0));
	xerr("xattr.get.small_buf_ERANGE", xget("f", "user.one", buf, 3),
	     ERANGE);
	xerr("xattr.get.missing_ENODATA", xget("f", "user.none", buf, 64),
	     ENODATA);
	xerr("xattr.create.existing_EEXIST",
	     xset("f", "user.one", "v", 1, XATTR_CREATE), EEXIST);
	xerr("xattr.replace.missing_ENODATA",
	     xset("f", "user.none", "v", 1, XATTR_REPLACE), ENODATA);
	rc = xset("f", "user.one", "longer-value", 12, XATTR_REPLACE);
	xok("xattr.replace.rc", !rc, "errno %s", cf_errname(-rc));
	xok("xattr.replace.value", get_is("f", "user.one", "longer-value", 12),
	    "differs");
	rc = xset("f", "user.two", "2", 1, XATTR_CREATE);
	xok("xattr.create.new_rc", !rc, "errno %s", cf_errname(-rc));
	xok("xattr.overwrite_plain",
	    !xset("f", "user.two", "22", 2, 0) &&
		    get_is("f", "user.two", "22", 2),
	    "differs");
}

static void xattr_list(void)
{
	char list[1024];
	ssize_t want, n;
	int rc;

	want = vdax_listxattr(cf_vd, P("f"), NULL, 0);
	n = vdax_listxattr(cf_vd, P("f"), list, sizeof(list));
	xok("xattr.list.size_query", want == n && n > 0, "query %zd got %zd",
	    want, n);
	xok("xattr.list.has_both",
	    n > 0 && list_count(list, n, "user.one") == 1 &&
		    list_count(list, n, "user.two") == 1,
	    "names missing");
	xerr("xattr.list.small_buf_ERANGE",
	     vdax_listxattr(cf_vd, P("f"), list, 3), ERANGE);
	rc = vdax_removexattr(cf_vd, P("f"), "user.two");
	xok("xattr.remove.rc",
	    rc == 0 && getxattr(H("f"), "user.two", NULL, 0) < 0, "rc %s",
	    cf_errname(-rc));
	xerr("xattr.remove.gone_ENODATA", xget("f", "user.two", list, 64),
	     ENODATA);
	n = vdax_listxattr(cf_vd, P("f"), list, sizeof(list));
	xok("xattr.list.after_remove",
	    n > 0 && list_count(list, n, "user.two") == 0 &&
		    list_count(list, n, "user.one") == 1,
	    "n %zd", n);
	xerr("xattr.remove.missing_ENODATA",
	     vdax_removexattr(cf_vd, P("f"), "user.two"), ENODATA);
}

static void xattr_values(void)
{
	char big[2000], bin[256];
	int i, rc;

	rc = xset("f", "user.empty", "", 0, 0);
	xok("xattr.empty_value",
	    !rc && xget("f", "user.empty", big, sizeof(big)) == 0, "errno %s",
	    cf_errname(-rc));
	for (i = 0; i < 256; i++)
		bin[i] = (char)i;
	xset("f", "user.bin", bin, sizeof(bin), 0);
	xok("xattr.binary_value", get_is("f", "user.bin", bin, sizeof(bin)),
	    "differs");
	cf_pattern(big, sizeof(big), 0);
	rc = xset("f", "user.big", big, sizeof(big), 0);
	xok("xattr.value_2000_set", !rc, "errno %s", cf_errname(-rc));
	xok("xattr.value_2000_get", get_is("f", "user.big", big, sizeof(big)),
	    "differs");

	vdax_mkdir(cf_vd, P("d"), 0755);
	rc = xset("d", "user.d", "dv", 2, 0);
	xok("xattr.dir", !rc && get_is("d", "user.d", "dv", 2), "errno %s",
	    cf_errname(-rc));
	vdax_rename(cf_vd, P("f"), P("g"), 0);
	xok("xattr.survives_rename",
	    get_is("g", "user.one", "longer-value", 12), "lost");
	vdax_link(cf_vd, P("g"), P("h"));
	xok("xattr.shared_by_hardlink",
	    get_is("h", "user.bin", bin, sizeof(bin)), "lost");
	xok("xattr.host_set_visible",
	    !setxattr(H("g"), "user.fromhost", "hv", 2, 0) &&
		    xget("g", "user.fromhost", big, sizeof(big)) == 2 &&
		    !memcmp(big, "hv", 2),
	    "not visible");
}

static void xattr_errors(void)
{
	char name[300];
	int rc;

	vdax_symlink(cf_vd, "g", P("sl"));
	xok("xattr.get_follows_symlink",
	    get_is("sl", "user.one", "longer-value", 12), "differs");
	memcpy(name, "user.", 5);
	memset(name + 5, 'n', 260);
	name[265] = 0;
	xerr("xattr.name_too_long_ERANGE", xset("g", name, "v", 1, 0), ERANGE);
	xerr("xattr.unknown_namespace_EOPNOTSUPP",
	     xset("g", "bogus.ns", "v", 1, 0), EOPNOTSUPP);
	xerr("xattr.missing_file_ENOENT", xset("nope", "user.a", "v", 1, 0),
	     ENOENT);
	rc = xset("g", "trusted.t", "tv", 2, 0);
	xok("xattr.trusted_as_root", !rc && get_is("g", "trusted.t", "tv", 2),
	    "errno %s", cf_errname(-rc));
}

void cf_area_xattr(void)
{
	xattr_basic();
	xattr_list();
	xattr_values();
	xattr_errors();
}
