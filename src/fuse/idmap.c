// SPDX-License-Identifier: GPL-2.0-or-later
/* --translate-uid / --translate-gid (see idmap.h). */
#include "fuse/idmap.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool overlaps(const struct fuse_idmap_entry *e, unsigned n,
		     uint32_t from, uint32_t count)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t a0 = e[i].from, a1 = a0 + e[i].count;
		uint64_t b0 = from, b1 = b0 + count;

		if (a0 < b1 && b0 < a1)
			return true;
	}
	return false;
}

static int push(struct fuse_idmap_entry *e, unsigned *n,
		enum fuse_idmap_kind kind, uint32_t from, uint32_t to,
		uint32_t count, const char *dir, char *err, size_t errlen)
{
	if (*n >= FUSE_IDMAP_MAX) {
		snprintf(err, errlen, "more than %d %s entries", FUSE_IDMAP_MAX,
			 dir);
		return -EINVAL;
	}
	if (overlaps(e, *n, from, count)) {
		snprintf(err, errlen, "overlaps an earlier %s entry", dir);
		return -EINVAL;
	}
	e[*n] = (struct fuse_idmap_entry){ kind, from, count, to };
	(*n)++;
	return 0;
}

/* "TYPE" then numbers, each after the same separator. */
static int split(const char *spec, char *type, size_t tsize, uint32_t *v,
		 unsigned *nv)
{
	const char *p = spec;
	size_t t = 0;
	char sep;

	while (*p && (isalnum((unsigned char)*p) || *p == '-' || *p == '_')) {
		if (t + 1 >= tsize)
			return -EINVAL;
		type[t++] = (char)tolower((unsigned char)*p++);
	}
	type[t] = '\0';
	sep = *p;
	if (!sep)
		return -EINVAL;
	*nv = 0;
	while (*p == sep) {
		unsigned long long x;
		char *end;

		p++;
		if (!isdigit((unsigned char)*p) || *nv >= 3)
			return -EINVAL;
		errno = 0;
		x = strtoull(p, &end, 10);
		if (errno || x > UINT32_MAX)
			return -EINVAL;
		v[(*nv)++] = (uint32_t)x;
		p = end;
	}
	return *p ? -EINVAL : 0;
}

int fuse_idmap_add(struct fuse_idmap *m, const char *spec, char *err,
		   size_t errlen)
{
	char type[16];
	uint32_t v[3];
	unsigned nv, want;
	int ret;

	if (split(spec, type, sizeof(type), v, &nv)) {
		snprintf(err, errlen, "expected TYPE:A:B:COUNT");
		return -EINVAL;
	}
	want = !strcmp(type, "forbid-guest") ? 2 : 3;
	if (nv != want) {
		snprintf(err, errlen, "%s takes %u numbers", type, want);
		return -EINVAL;
	}
	if (v[nv - 1] == 0 || (uint64_t)v[0] + v[nv - 1] - 1 > UINT32_MAX ||
	    (want == 3 && (uint64_t)v[1] + v[2] - 1 > UINT32_MAX &&
	     strncmp(type, "squash", 6))) {
		snprintf(err, errlen, "the count must be at least 1 and the "
				      "ranges within 32 bits");
		return -EINVAL;
	}
	if (!strcmp(type, "guest"))
		return push(m->g2h, &m->ng2h, FUSE_IDMAP_RANGE, v[0], v[1],
			    v[2], "guest-to-host", err, errlen);
	if (!strcmp(type, "host"))
		return push(m->h2g, &m->nh2g, FUSE_IDMAP_RANGE, v[0], v[1],
			    v[2], "host-to-guest", err, errlen);
	if (!strcmp(type, "squash-guest"))
		return push(m->g2h, &m->ng2h, FUSE_IDMAP_SQUASH, v[0], v[1],
			    v[2], "guest-to-host", err, errlen);
	if (!strcmp(type, "squash-host"))
		return push(m->h2g, &m->nh2g, FUSE_IDMAP_SQUASH, v[0], v[1],
			    v[2], "host-to-guest", err, errlen);
	if (!strcmp(type, "forbid-guest"))
		return push(m->g2h, &m->ng2h, FUSE_IDMAP_FAIL, v[0], 0, v[1],
			    "guest-to-host", err, errlen);
	if (!strcmp(type, "map")) {
		ret = push(m->g2h, &m->ng2h, FUSE_IDMAP_RANGE, v[0], v[1], v[2],
			   "guest-to-host", err, errlen);
		return ret ? ret
			   : push(m->h2g, &m->nh2g, FUSE_IDMAP_RANGE, v[1], v[0],
				  v[2], "host-to-guest", err, errlen);
	}
	snprintf(err, errlen, "unknown type '%s' (guest, host, map, "
			      "squash-guest, squash-host, forbid-guest)",
		 type);
	return -EINVAL;
}

static const struct fuse_idmap_entry *find(const struct fuse_idmap_entry *e,
					   unsigned n, uint32_t id)
{
	for (unsigned i = 0; i < n; i++)
		if (id >= e[i].from && (uint64_t)id < (uint64_t)e[i].from +
							      e[i].count)
			return &e[i];
	return NULL;
}

static uint32_t apply(const struct fuse_idmap_entry *e, uint32_t id)
{
	return e->kind == FUSE_IDMAP_SQUASH ? e->to : e->to + (id - e->from);
}

int fuse_idmap_guest(const struct fuse_idmap *m, uint32_t id, uint32_t *out)
{
	const struct fuse_idmap_entry *e = m ? find(m->g2h, m->ng2h, id) : NULL;

	if (e && e->kind == FUSE_IDMAP_FAIL)
		return -EPERM;
	*out = e ? apply(e, id) : id;
	return 0;
}

uint32_t fuse_idmap_host(const struct fuse_idmap *m, uint32_t id)
{
	const struct fuse_idmap_entry *e = m ? find(m->h2g, m->nh2g, id) : NULL;

	return e ? apply(e, id) : id;
}
