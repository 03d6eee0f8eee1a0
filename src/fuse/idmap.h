/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * --translate-uid / --translate-gid: id translation inside the daemon, as
 * in the Rust virtiofsd. Guest-to-host (the caller's ids, SETATTR owners)
 * and host-to-guest (the owners in replies) are independent; an id no
 * entry covers maps to itself. Entries, "TYPE:A:B:COUNT" (any separator
 * that is not alphanumeric, '-' or '_'):
 *
 *   guest:GUEST:HOST:N         guest [GUEST, +N) -> host [HOST, +N)
 *   host:HOST:GUEST:N          host [HOST, +N) -> guest [GUEST, +N)
 *   map:GUEST:HOST:N           both directions
 *   squash-guest:GUEST:HOST:N  guest [GUEST, +N) -> the one host id HOST
 *   squash-host:HOST:GUEST:N   host [HOST, +N) -> the one guest id GUEST
 *   forbid-guest:GUEST:N       guest [GUEST, +N): EPERM for creating files
 *                              as, or giving files to, these ids
 *
 * Ranges of one direction may not overlap.
 */
#ifndef VDAX_FUSE_IDMAP_H
#define VDAX_FUSE_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FUSE_IDMAP_MAX 32

enum fuse_idmap_kind { FUSE_IDMAP_RANGE, FUSE_IDMAP_SQUASH, FUSE_IDMAP_FAIL };

struct fuse_idmap_entry {
	enum fuse_idmap_kind kind;
	uint32_t from, count, to;
};

struct fuse_idmap {
	struct fuse_idmap_entry g2h[FUSE_IDMAP_MAX], h2g[FUSE_IDMAP_MAX];
	unsigned ng2h, nh2g;
};

/* Add one entry of @spec to @m. 0 or -EINVAL with the reason in @err. */
int fuse_idmap_add(struct fuse_idmap *m, const char *spec, char *err,
		   size_t errlen);

/* A guest id to the host's: 0, or -EPERM for a forbidden id. */
int fuse_idmap_guest(const struct fuse_idmap *m, uint32_t id, uint32_t *out);

/* A host id to the guest's (never fails). */
uint32_t fuse_idmap_host(const struct fuse_idmap *m, uint32_t id);

/* Is anything mapped at all? (NULL: no.) */
static inline bool fuse_idmap_active(const struct fuse_idmap *m)
{
	return m && (m->ng2h || m->nh2g);
}

#endif
