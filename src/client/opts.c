// SPDX-License-Identifier: LGPL-2.1-or-later
/* libvdax session option string: "key=value,key=value". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "dax/dax.h"

static int parse_u64(const char *v, unsigned long long max,
		     unsigned long long *out)
{
	unsigned long long x, mul = 1;
	char *end;

	if (!v || !*v || *v == '-')
		return -EINVAL;
	errno = 0;
	x = strtoull(v, &end, 0);
	if (errno || end == v)
		return -EINVAL;
	/* optional size suffix */
	switch (*end) {
	case 'k':
	case 'K':
		mul = 1ull << 10;
		break;
	case 'm':
	case 'M':
		mul = 1ull << 20;
		break;
	case 'g':
	case 'G':
		mul = 1ull << 30;
		break;
	}
	if (mul != 1) {
		end++;
		if (__builtin_mul_overflow(x, mul, &x))
			return -EINVAL;
	}
	if (*end || x > max)
		return -EINVAL;
	*out = x;
	return 0;
}

static int parse_dax(const char *val, int *mode)
{
	if (!val || !strcmp(val, "always"))
		*mode = FC_DAX_ALWAYS; /* bare "dax" too, as the mount option */
	else if (!strcmp(val, "never"))
		*mode = FC_DAX_NEVER;
	else if (!strcmp(val, "inode"))
		*mode = FC_DAX_INODE;
	else
		return -EINVAL;
	return 0;
}

static int apply(const char *key, const char *val, struct vdx_cfg *cfg,
		 struct fc_opts *o)
{
	unsigned long long x;
	int ret = 0;

	if (!strcmp(key, "dax"))
		return parse_dax(val, &o->dax_mode);
	if (!strcmp(key, "mem")) {
		ret = parse_u64(val, 1ull << 40, &x);
		if (!ret)
			cfg->mem_size = x;
	} else if (!strcmp(key, "queues")) {
		ret = parse_u64(val, 64, &x);
		if (!ret)
			cfg->num_queues = x;
	} else if (!strcmp(key, "queue_size")) {
		ret = parse_u64(val, 32768, &x);
		if (!ret)
			cfg->queue_size = x;
	} else if (!strcmp(key, "timeout")) {
		ret = parse_u64(val, 24ull * 3600 * 1000, &x);
		if (!ret)
			o->timeout_ms = x;
	} else if (!strcmp(key, "entries")) {
		ret = parse_u64(val, 1ull << 32, &x);
		if (!ret)
			o->cache_max = x;
	} else if (!strcmp(key, "dax_admit")) {
		/* adaptive (default) or all: every miss maps, as before */
		if (val && !strcmp(val, "all"))
			o->dax_admit_all = true;
		else if (val && !strcmp(val, "adaptive"))
			o->dax_admit_all = false;
		else
			ret = -EINVAL;
	} else if (!strcmp(key, "cache_size")) {
		/* The DAX window: non-zero, whole 2 MiB ranges. */
		ret = parse_u64(val, 1ull << 40, &x);
		if (!ret && (!x || (x & DAX_RANGE_MASK)))
			ret = -EINVAL;
		if (!ret)
			o->dax_window = x;
	} else {
		ret = -EINVAL;
	}
	return ret;
}

int fc_parse_options(const char *s, struct vdx_cfg *cfg, struct fc_opts *o)
{
	char *copy, *tok, *save = NULL;
	int ret = 0;

	if (!s || !*s)
		return 0;
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok && !ret;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (eq)
			*eq++ = '\0';
		ret = apply(tok, eq, cfg, o);
	}
	free(copy);
	return ret;
}
