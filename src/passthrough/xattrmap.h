/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * --xattrmap: rules translating extended attribute names between the guest
 * (client) and the host (server), in the rule language of QEMU's and the
 * Rust virtiofsd:
 *
 *   <d>TYPE<d>SCOPE<d>KEY<d>PREPEND<d>   (d: any separator character)
 *   <d>map<d>KEY<d>PREPEND<d>            (at most one, and last)
 *
 * TYPE prefix|ok|bad|unsupported, SCOPE client|server|all. Rules are tried
 * in order; the first that matches decides. A client name matches when it
 * starts with KEY, a host name when it starts with PREPEND. prefix: a
 * client name gets PREPEND in front, a host name loses it; ok: unchanged;
 * bad: EPERM for the client, hidden from listxattr; unsupported: the same
 * with EOPNOTSUPP. "map" expands to prefix + bad + ok rules that give the
 * guest its own KEY namespace stored under PREPEND on the host (e.g.
 * ":map:trusted.:user.virtiofs.:" for overlayfs in a guest). A name no
 * rule matches is refused (EPERM) or hidden.
 */
#ifndef VDAX_PASSTHROUGH_XATTRMAP_H
#define VDAX_PASSTHROUGH_XATTRMAP_H

#include <stddef.h>

struct pt_xattrmap;

/*
 * Parse @spec. 0 and *@out, or -EINVAL with a message naming the rule in
 * @err, or -ENOMEM.
 */
int pt_xattrmap_parse(const char *spec, struct pt_xattrmap **out, char *err,
		      size_t errlen);
void pt_xattrmap_free(struct pt_xattrmap *m);

/*
 * The host name for the guest's @name, into @out (@size bytes): 0,
 * -EPERM (bad or no rule), -EOPNOTSUPP (unsupported), -ERANGE (too long).
 */
int pt_xattrmap_client(const struct pt_xattrmap *m, const char *name,
		       char *out, size_t size);

/*
 * Rewrite the host's listxattr result @list (@len bytes of NUL-terminated
 * names) in place for the guest: names hidden, prefixes stripped. Returns
 * the new length (never more than @len).
 */
size_t pt_xattrmap_list(const struct pt_xattrmap *m, char *list, size_t len);

#endif
