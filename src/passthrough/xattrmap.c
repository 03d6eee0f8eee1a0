// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The --xattrmap rule engine (see xattrmap.h). Parsing happens once at
 * start-up; matching is a linear walk over a handful of rules.
 */
#include "passthrough/xattrmap.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XM_MAX_RULES 64

enum xm_type { XM_PREFIX, XM_OK, XM_BAD, XM_UNSUPPORTED };

enum { XM_CLIENT = 1, XM_SERVER = 2, XM_ALL = 3 };

struct xm_rule {
	enum xm_type type;
	unsigned scope;
	char *key;     /* prefix of client names */
	char *prepend; /* prefix of server names; prepended to client names */
};

struct pt_xattrmap {
	struct xm_rule r[XM_MAX_RULES];
	unsigned n;
};

static int add(struct pt_xattrmap *m, enum xm_type type, unsigned scope,
	       const char *key, size_t klen, const char *prepend, size_t plen)
{
	struct xm_rule *r;

	if (m->n >= XM_MAX_RULES)
		return -E2BIG;
	r = &m->r[m->n];
	r->key = strndup(key, klen);
	r->prepend = strndup(prepend, plen);
	if (!r->key || !r->prepend) {
		free(r->key);
		free(r->prepend);
		return -ENOMEM;
	}
	r->type = type;
	r->scope = scope;
	m->n++;
	return 0;
}

/* "map" as the Rust virtiofsd expands it. */
static int add_map(struct pt_xattrmap *m, const char *key, size_t klen,
		   const char *prepend, size_t plen)
{
	int ret = add(m, XM_PREFIX, XM_ALL, key, klen, prepend, plen);

	if (ret)
		return ret;
	if (!klen) /* everything goes under PREPEND; the rest is hidden */
		return add(m, XM_BAD, XM_ALL, "", 0, "", 0);
	/*
	 * The guest may not reach PREPEND names directly, and host names
	 * starting with KEY stay hidden (they are not the guest's).
	 */
	ret = add(m, XM_BAD, XM_ALL, prepend, plen, key, klen);
	return ret ? ret : add(m, XM_OK, XM_ALL, "", 0, "", 0);
}

/* The next field up to @d; NULL if the spec ends first. */
static const char *field(const char *p, char d, size_t *len)
{
	const char *e = strchr(p, d);

	if (!e)
		return NULL;
	*len = (size_t)(e - p);
	return p;
}

static bool is(const char *s, size_t len, const char *word)
{
	return len == strlen(word) && !memcmp(s, word, len);
}

static int parse_rule(struct pt_xattrmap *m, const char **pp, bool *was_map,
		      char *err, size_t errlen, unsigned nth)
{
	const char *p = *pp, *f[4];
	size_t len[4], nf;
	enum xm_type type;
	unsigned scope = 0;
	char d = *p++;
	bool map;

	f[0] = field(p, d, &len[0]);
	if (!f[0])
		goto incomplete;
	map = is(f[0], len[0], "map");
	nf = map ? 3 : 4;
	p = f[0] + len[0] + 1;
	for (size_t i = 1; i < nf; i++) {
		f[i] = field(p, d, &len[i]);
		if (!f[i])
			goto incomplete;
		p = f[i] + len[i] + 1;
	}
	*pp = p;
	*was_map = map;
	if (map)
		return add_map(m, f[1], len[1], f[2], len[2]);
	if (is(f[0], len[0], "prefix"))
		type = XM_PREFIX;
	else if (is(f[0], len[0], "ok"))
		type = XM_OK;
	else if (is(f[0], len[0], "bad"))
		type = XM_BAD;
	else if (is(f[0], len[0], "unsupported"))
		type = XM_UNSUPPORTED;
	else {
		snprintf(err, errlen,
			 "rule %u: type '%.*s' (expected prefix, ok, bad, "
			 "unsupported or map)",
			 nth, (int)len[0], f[0]);
		return -EINVAL;
	}
	if (is(f[1], len[1], "client"))
		scope = XM_CLIENT;
	else if (is(f[1], len[1], "server"))
		scope = XM_SERVER;
	else if (is(f[1], len[1], "all"))
		scope = XM_ALL;
	else {
		snprintf(err, errlen,
			 "rule %u: scope '%.*s' (expected client, server or all)",
			 nth, (int)len[1], f[1]);
		return -EINVAL;
	}
	return add(m, type, scope, f[2], len[2], f[3], len[3]);

incomplete:
	snprintf(err, errlen, "rule %u is incomplete (expected "
			      ":type:scope:key:prepend: or :map:key:prepend:)",
		 nth);
	return -EINVAL;
}

int pt_xattrmap_parse(const char *spec, struct pt_xattrmap **out, char *err,
		      size_t errlen)
{
	struct pt_xattrmap *m = calloc(1, sizeof(*m));
	const char *p = spec;
	bool map = false;
	int ret = 0;

	if (!m)
		return -ENOMEM;
	snprintf(err, errlen, "no rules");
	while (*p && !ret) {
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
			p++;
			continue;
		}
		if (map) {
			snprintf(err, errlen, "rule %u: a map rule must be "
					      "the last one",
				 m->n);
			ret = -EINVAL;
			break;
		}
		ret = parse_rule(m, &p, &map, err, errlen, m->n + 1);
		if (ret == -E2BIG)
			snprintf(err, errlen, "more than %d rules",
				 XM_MAX_RULES);
	}
	if (!ret && !m->n)
		ret = -EINVAL;
	if (ret) {
		if (ret == -E2BIG)
			ret = -EINVAL;
		pt_xattrmap_free(m);
		return ret;
	}
	*out = m;
	return 0;
}

void pt_xattrmap_free(struct pt_xattrmap *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < m->n; i++) {
		free(m->r[i].key);
		free(m->r[i].prepend);
	}
	free(m);
}

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static const struct xm_rule *find(const struct pt_xattrmap *m, unsigned scope,
				  const char *name)
{
	for (unsigned i = 0; i < m->n; i++) {
		const struct xm_rule *r = &m->r[i];

		if (!(r->scope & scope))
			continue;
		if (starts(name, scope == XM_CLIENT ? r->key : r->prepend))
			return r;
	}
	return NULL;
}

int pt_xattrmap_client(const struct pt_xattrmap *m, const char *name,
		       char *out, size_t size)
{
	const struct xm_rule *r = find(m, XM_CLIENT, name);
	int n;

	if (!r || r->type == XM_BAD)
		return -EPERM;
	if (r->type == XM_UNSUPPORTED)
		return -EOPNOTSUPP;
	n = snprintf(out, size, "%s%s", r->type == XM_PREFIX ? r->prepend : "",
		     name);
	return n < 0 || (size_t)n >= size ? -ERANGE : 0;
}

size_t pt_xattrmap_list(const struct pt_xattrmap *m, char *list, size_t len)
{
	size_t in = 0, outlen = 0;

	while (in < len) {
		const char *name = list + in;
		size_t nlen = strnlen(name, len - in);
		const struct xm_rule *r;
		const char *keep;

		/* an unterminated last name is the host's bug: drop it */
		if (in + nlen >= len)
			break;
		in += nlen + 1;
		if (!nlen)
			continue;
		r = find(m, XM_SERVER, name);
		if (!r || r->type == XM_BAD || r->type == XM_UNSUPPORTED)
			continue;
		keep = r->type == XM_PREFIX ? name + strlen(r->prepend) : name;
		if (!*keep)
			continue;
		nlen = strlen(keep) + 1;
		/* the output never overtakes the input: memmove is safe */
		memmove(list + outlen, keep, nlen);
		outlen += nlen;
	}
	return outlen;
}
