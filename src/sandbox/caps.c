// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Capabilities: keep only what a passthrough server acting for the guest
 * needs. Everything runs as root on the host, but with these alone the
 * daemon can change file ownership and bypass permission checks on files,
 * not mount, trace, load modules, configure the network or raise limits.
 */
#include "sandbox/sandbox.h"

#include <cap-ng.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <unistd.h>

#include "common/log.h"

/*
 * Why each one:
 *  CHOWN        - create files owned by the guest's uid/gid (fchownat, and
 *                 SETATTR of uid/gid).
 *  DAC_OVERRIDE - the server must reach every file the guest kernel already
 *                 allowed; the guest does its own permission checks.
 *  FOWNER       - utimensat/fchmod/xattr on files owned by another uid, and
 *                 O_NOATIME.
 *  FSETID       - keep set-user/group-ID bits as the guest set them (a chown
 *                 or write by a non-owner would clear them).
 *  SETGID       - setfsgid()/setresgid() to create files as the caller.
 *  SETUID       - setfsuid()/setresuid() likewise.
 *  MKNOD        - MKNOD of device nodes asked for by the guest.
 *  SETFCAP      - setting security.capability xattrs from the guest.
 * and, only with --inode-file-handles=prefer|mandatory:
 *  DAC_READ_SEARCH - open_by_handle_at(), to open the inodes held by file
 *                 handles. It also lets a process open any handle on the
 *                 filesystem, inside the shared directory or not; vdaxd
 *                 only opens handles it made itself from files it reached
 *                 through the directory (the guest never supplies one).
 */
static const unsigned int sbx_kept_caps[] = {
	CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID,
	CAP_SETGID, CAP_SETUID,	      CAP_MKNOD,  CAP_SETFCAP,
};

#define SBX_NKEPT (sizeof(sbx_kept_caps) / sizeof(sbx_kept_caps[0]))

/* --modcaps on top of the list: bit N = capability N (CAP_LAST_CAP < 64) */
static uint64_t sbx_caps_add, sbx_caps_del;
static bool sbx_fh_caps; /* keep CAP_DAC_READ_SEARCH for file handles */

/* sandbox.c */
extern bool sbx_userns_entered;

void sbx_keep_file_handle_caps(void)
{
	sbx_fh_caps = true;
}

bool sbx_file_handles_allowed(const char **why)
{
	if (sbx_userns_entered) {
		*why = "an unprivileged daemon (in its own user namespace) "
		       "cannot have CAP_DAC_READ_SEARCH on the host";
		return false;
	}
	capng_get_caps_process();
	if (!capng_have_capability(CAPNG_EFFECTIVE, CAP_DAC_READ_SEARCH)) {
		*why = "the daemon does not hold CAP_DAC_READ_SEARCH "
		       "(not root, or --modcaps=-dac_read_search)";
		return false;
	}
	return true;
}

int sbx_set_modcaps(const char *spec)
{
	uint64_t add = 0, del = 0;
	char *copy = strdup(spec), *save = NULL;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	if (!*copy)
		ret = -EINVAL;
	for (char *it = strtok_r(copy, ":", &save); it && !ret;
	     it = strtok_r(NULL, ":", &save)) {
		int cap = it[0] && it[1] ? capng_name_to_capability(it + 1) : -1;

		if ((it[0] != '+' && it[0] != '-') || cap < 0 || cap > 63) {
			fprintf(stderr, "vdaxd: --modcaps: bad item '%s': "
					"expected +name or -name\n", it);
			ret = -EINVAL;
		} else if (it[0] == '+') {
			add |= 1ull << cap;
			del &= ~(1ull << cap);
		} else {
			del |= 1ull << cap;
			add &= ~(1ull << cap);
		}
	}
	/* "a::b" or a trailing ':' leaves an empty item strtok_r skips */
	if (!ret && (strstr(spec, "::") || spec[strlen(spec) - 1] == ':' ||
		     spec[0] == ':')) {
		fprintf(stderr, "vdaxd: --modcaps: empty item in '%s'\n", spec);
		ret = -EINVAL;
	}
	free(copy);
	if (!ret) {
		sbx_caps_add = add;
		sbx_caps_del = del;
	}
	return ret;
}

static bool wanted(unsigned cap)
{
	if (cap < 64 && (sbx_caps_del >> cap & 1))
		return false;
	if (cap < 64 && (sbx_caps_add >> cap & 1))
		return true;
	if (cap == CAP_DAC_READ_SEARCH && sbx_fh_caps)
		return true;
	for (size_t i = 0; i < SBX_NKEPT; i++)
		if (sbx_kept_caps[i] == cap)
			return true;
	return false;
}

/*
 * The set to keep: wanted and held (a capability we do not hold cannot be
 * kept: capset would fail).
 */
static int build_set(void)
{
	bool held[64];

	capng_get_caps_process();
	for (unsigned c = 0; c < 64; c++)
		held[c] = c <= CAP_LAST_CAP &&
			  capng_have_capability(CAPNG_PERMITTED, c);
	capng_clear(CAPNG_SELECT_BOTH);
	for (unsigned c = 0; c <= CAP_LAST_CAP && c < 64; c++) {
		if (!held[c] || !wanted(c))
			continue;
		if (capng_update(CAPNG_ADD,
				 CAPNG_EFFECTIVE | CAPNG_PERMITTED |
					 CAPNG_BOUNDING_SET,
				 c) < 0)
			return -EINVAL;
	}
	return 0;
}

int sbx_drop_caps(void)
{
	int ret;

	if (geteuid() != 0) {
		VLOG_INFO(
			"sandbox: not root, keeping capabilities as they are");
		return 0;
	}
	ret = build_set();
	if (ret < 0) {
		VLOG_ERR("sandbox: building the capability set failed");
		return ret;
	}
	/*
	 * Shrinking the bounding set needs CAP_SETPCAP, which a container may
	 * have withheld; the bounding set only matters across execve, which
	 * seccomp forbids anyway, so fall back to the thread's own sets.
	 */
	ret = capng_apply(CAPNG_SELECT_BOTH);
	if (ret < 0) {
		VLOG_INFO("sandbox: cannot shrink the bounding set (%d), "
			  "dropping effective/permitted only",
			  ret);
		ret = build_set();
		if (ret == 0)
			ret = capng_apply(CAPNG_SELECT_CAPS);
	}
	if (ret < 0) {
		VLOG_ERR("sandbox: dropping capabilities failed (%d)", ret);
		return -EPERM;
	}
	VLOG_INFO("sandbox: capabilities dropped");
	return 0;
}
