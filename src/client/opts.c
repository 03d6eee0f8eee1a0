// SPDX-License-Identifier: LGPL-2.1-or-later
/* libvdax session option string: "key=value,key=value". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"

static int parse_u64(const char *v, unsigned long long max,
		     unsigned long long *out)
{
	unsigned long long x;
	char *end;

	if (!*v || *v == '-')
		return -EINVAL;
	errno = 0;
	x = strtoull(v, &end, 0);
	if (errno || end == v)
		return -EINVAL;
	/* optional size suffix */
	if (*end == 'k' || *end == 'K')
		x = __builtin_mul_overflow(x, 1024ull, &x) ? ~0ull : x, end++;
	else if (*end == 'm' || *end == 'M')
		x = __builtin_mul_overflow(x, 1024ull * 1024, &x) ? ~0ull : x,
		end++;
	else if (*end == 'g' || *end == 'G')
		x = __builtin_mul_overflow(x, 1024ull * 1024 * 1024, &x) ? ~0ull :
									x,
		end++;
	if (*end || x > max)
		return -EINVAL;
	*out = x;
	return 0;
}

static int apply(const char *key, const char *val, struct vdx_cfg *cfg,
		 unsigned *timeout_ms, size_t *cache_max, int *dax_mode)
{
	unsigned long long x;
	int ret;

	if (!val)
		return -EINVAL;
	if (!strcmp(key, "dax")) {
		if (!strcmp(val, "never"))
			*dax_mode = 0;
		else if (!strcmp(val, "always"))
			*dax_mode = 1;
		else if (!strcmp(val, "inode"))
			*dax_mode = 2;
		else
			return -EINVAL;
		return 0;
	}
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
			*timeout_ms = x;
	} else if (!strcmp(key, "cache_size")) {
		ret = parse_u64(val, 1ull << 32, &x);
		if (!ret)
			*cache_max = x;
	} else {
		ret = -EINVAL;
	}
	return ret;
}

int fc_parse_options(const char *s, struct vdx_cfg *cfg, unsigned *timeout_ms,
		     size_t *cache_max, int *dax_mode)
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
		ret = apply(tok, eq, cfg, timeout_ms, cache_max, dax_mode);
	}
	free(copy);
	return ret;
}
