// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The --xattrmap rule language (src/passthrough/xattrmap.c): parsing, the
 * errors for bad rules, client name mapping and listxattr rewriting, with
 * the examples of QEMU's virtiofsd documentation and the Rust virtiofsd.
 */
#include <errno.h>
#include <string.h>

#include "tap.h"
#include "passthrough/xattrmap.h"

static struct pt_xattrmap *parse(const char *spec)
{
	struct pt_xattrmap *m = NULL;
	char err[160];

	if (pt_xattrmap_parse(spec, &m, err, sizeof(err)))
		diag("parse %s: %s", spec, err);
	return m;
}

static const char *client(const struct pt_xattrmap *m, const char *name)
{
	static char out[300];
	int rc = pt_xattrmap_client(m, name, out, sizeof(out));

	if (rc == -EPERM)
		return "EPERM";
	if (rc == -EOPNOTSUPP)
		return "EOPNOTSUPP";
	if (rc)
		return "error";
	return out;
}

/* The host list "a\0b\0" as the guest sees it, with '|' for NUL. */
static const char *list(const struct pt_xattrmap *m, const char *bars)
{
	static char buf[512];
	size_t len = strlen(bars), n;

	memcpy(buf, bars, len + 1);
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '|')
			buf[i] = '\0';
	n = pt_xattrmap_list(m, buf, len);
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = '|';
	buf[n] = '\0';
	return buf;
}

static void is_str(const char *got, const char *want, const char *what)
{
	ok(!strcmp(got, want), "%s (got \"%s\", want \"%s\")", what, got, want);
}

static void bad_spec(const char *spec, const char *what)
{
	struct pt_xattrmap *m = NULL;
	char err[160] = "";

	is_int(pt_xattrmap_parse(spec, &m, err, sizeof(err)), -EINVAL,
	       "rejected: %s (%s)", what, err);
	ok(m == NULL, "rejected: %s leaves nothing", what);
}

int main(void)
{
	struct pt_xattrmap *m;

	/* overlayfs in a guest: trusted.* stored as user.virtiofs.trusted.* */
	m = parse(":map:trusted.:user.virtiofs.:");
	ok(m != NULL, "map rule parses");
	is_str(client(m, "trusted.overlay.opaque"),
	       "user.virtiofs.trusted.overlay.opaque", "map: trusted. prefixed");
	is_str(client(m, "user.foo"), "user.foo", "map: user. unchanged");
	is_str(client(m, "user.virtiofs.x"), "EPERM",
	       "map: the guest cannot reach the host prefix directly");
	is_str(list(m, "user.virtiofs.trusted.overlay.opaque|user.foo|"
		       "trusted.host|security.selinux|"),
	       "trusted.overlay.opaque|user.foo|security.selinux|",
	       "map: list stripped, host trusted.* hidden");
	pt_xattrmap_free(m);

	m = parse(":map::user.virtiofs.:");
	ok(m != NULL, "map with an empty key parses");
	is_str(client(m, "security.capability"),
	       "user.virtiofs.security.capability", "map all: every name prefixed");
	is_str(list(m, "user.virtiofs.a|user.b|"), "a|",
	       "map all: only prefixed host names are shown");
	pt_xattrmap_free(m);

	/* The long form, whitespace between rules, another separator. */
	m = parse("/prefix/all/trusted./user.virtiofs./\n"
		  "  /bad/server//trusted./ /bad/client/user.virtiofs.//\n"
		  "/ok/all///");
	ok(m != NULL, "four rules with '/' as the separator parse");
	is_str(client(m, "trusted.x"), "user.virtiofs.trusted.x",
	       "prefix/all: client side");
	is_str(list(m, "user.virtiofs.trusted.x|trusted.y|user.z|"),
	       "trusted.x|user.z|", "prefix/all + bad/server: server side");
	pt_xattrmap_free(m);

	m = parse(":ok:client:user.:::unsupported:client:security.:::"
		  "bad:all:::");
	ok(m != NULL, "ok, unsupported and bad rules parse");
	is_str(client(m, "user.a"), "user.a", "ok/client: passes");
	is_str(client(m, "security.selinux"), "EOPNOTSUPP",
	       "unsupported/client: EOPNOTSUPP");
	is_str(client(m, "trusted.a"), "EPERM", "bad/all: EPERM");
	is_str(list(m, "user.a|trusted.b|"), "",
	       "no server rule but bad/all: everything hidden");
	pt_xattrmap_free(m);

	/* No rule matches: refused and hidden. */
	m = parse(":prefix:client:trusted.:user.virtiofs.:");
	ok(m != NULL, "a single client rule parses");
	is_str(client(m, "user.a"), "EPERM", "no matching rule: EPERM");
	is_str(list(m, "user.a|"), "", "no matching rule: hidden");
	pt_xattrmap_free(m);

	bad_spec("", "an empty map");
	bad_spec("   ", "only white space");
	bad_spec(":prefix:client:hi", "an incomplete rule");
	bad_spec(":tomato:client:a:b:", "an unknown type");
	bad_spec("/prefix/helloworld///", "an unknown scope");
	bad_spec(":map:a:b::ok:all:::", "a rule after map");
	bad_spec(":map:a:b::map:c:d:", "two map rules");
	return tap_done();
}
