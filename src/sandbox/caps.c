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
 */
static const unsigned int sbx_kept_caps[] = {
	CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID,
	CAP_SETGID, CAP_SETUID,	      CAP_MKNOD,  CAP_SETFCAP,
};

#define SBX_NKEPT (sizeof(sbx_kept_caps) / sizeof(sbx_kept_caps[0]))

/* A capability we do not hold cannot be kept: capset would fail. */
static void which_held(bool held[SBX_NKEPT])
{
	capng_get_caps_process();
	for (size_t i = 0; i < SBX_NKEPT; i++)
		held[i] = capng_have_capability(CAPNG_PERMITTED,
						sbx_kept_caps[i]);
}

static int build_set(const bool held[SBX_NKEPT])
{
	capng_clear(CAPNG_SELECT_BOTH);
	for (size_t i = 0; i < SBX_NKEPT; i++) {
		if (!held[i])
			continue;
		if (capng_update(CAPNG_ADD,
				 CAPNG_EFFECTIVE | CAPNG_PERMITTED |
					 CAPNG_BOUNDING_SET,
				 sbx_kept_caps[i]) < 0)
			return -EINVAL;
	}
	return 0;
}

int sbx_drop_caps(void)
{
	bool held[SBX_NKEPT];
	int ret;

	if (geteuid() != 0) {
		VLOG_INFO(
			"sandbox: not root, keeping capabilities as they are");
		return 0;
	}
	which_held(held);
	ret = build_set(held);
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
		ret = build_set(held);
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
