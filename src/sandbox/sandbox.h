/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's sandbox: namespaces + pivot_root, capabilities, seccomp. */
#ifndef VDAX_SANDBOX_H
#define VDAX_SANDBOX_H

#include <stdbool.h>

enum sbx_mode { SBX_MODE_NAMESPACE, SBX_MODE_CHROOT, SBX_MODE_NONE };
enum sbx_seccomp {
	SBX_SECCOMP_KILL,
	SBX_SECCOMP_LOG,
	SBX_SECCOMP_NONE,
	SBX_SECCOMP_TRAP, /* SIGSYS: the daemon dies by it, with a core */
};

/* --uid-map/--gid-map ":namespace_id:host_id:count:" */
struct sbx_idmap {
	unsigned ns, host, count;
};

#define SBX_IDMAP_MAX 16

/*
 * The user namespace of an unprivileged namespace sandbox: the maps, or
 * none for the default (the daemon's own uid/gid as 0 in the namespace).
 * More than a single map of our own id needs newuidmap/newgidmap (package
 * uidmap) and /etc/subuid, /etc/subgid entries.
 */
struct sbx_userns {
	struct sbx_idmap uid[SBX_IDMAP_MAX], gid[SBX_IDMAP_MAX];
	unsigned nuid, ngid;
};

/*
 * Parse ":NS:HOST:COUNT:" into @m (COUNT >= 1, no overflow of either
 * range). 0 or -EINVAL.
 */
int sbx_parse_idmap(const char *s, struct sbx_idmap *m);

/*
 * Use @u (copied) when namespace mode starts without root. Without a call
 * the defaults apply.
 */
void sbx_set_userns(const struct sbx_userns *u);

struct sbx_fds {
	int root_fd;	  /* O_PATH fd of the shared directory */
	int proc_self_fd; /* O_PATH fd of /proc/self/fd (outlives pivot_root) */
};

/*
 * Confine the process to @shared_dir. Namespace mode forks into new
 * pid, mount and network namespaces: the parent waits and exits with the
 * child's status (or dies of the signal that killed it); only the child
 * returns, and it dies with the parent. Already-open fds (the listening
 * socket) are kept. Returns 0 or -errno with a logged reason.
 *
 * Must be called while the process is single-threaded (unshare(CLONE_NEWNS)
 * refuses otherwise). In namespace mode the parent forwards SIGTERM and
 * SIGINT to the child; the child is the init of its pid namespace, so it
 * only receives signals it has installed a handler for: install those
 * before calling this.
 */
int sbx_enter(enum sbx_mode mode, const char *shared_dir, struct sbx_fds *out);

/*
 * Drop every capability passthrough does not need (see caps.c for the list
 * and why each is kept), from the effective, permitted, inheritable and
 * (when allowed) bounding sets. Capabilities are per thread: call this
 * before creating any thread, so that every later thread inherits the
 * reduced set. Without root it logs and returns 0. Returns 0 or -errno.
 */
int sbx_drop_caps(void);

/*
 * Inodes will be held by file handles: keep CAP_DAC_READ_SEARCH, which
 * open_by_handle_at() needs, in later sbx_drop_caps() calls (unless
 * --modcaps removes it).
 */
void sbx_keep_file_handle_caps(void);

/*
 * After sbx_drop_caps(): can this process open file handles? Needs
 * CAP_DAC_READ_SEARCH in the initial user namespace, which a daemon in its
 * own user namespace (unprivileged) never has. Else false and *@why.
 */
bool sbx_file_handles_allowed(const char **why);

/*
 * --modcaps: "(+|-)name[:(+|-)name]..." (names as in capabilities(7),
 * without "cap_", any case) adds capabilities to the kept set or removes
 * them, applied by later sbx_drop_caps() calls. 0, or -EINVAL naming the
 * bad item on stderr.
 */
int sbx_set_modcaps(const char *spec);

/*
 * Install the seccomp allow-list; @action for anything else. The filter is
 * synchronised to every thread of the process (TSYNC) and sets
 * no_new_privs. SBX_SECCOMP_NONE installs nothing. Returns 0 or -errno.
 */
int sbx_seccomp_install(enum sbx_seccomp action);

/* Parse "namespace|chroot|none" / "kill|log|none". 0 or -EINVAL. */
int sbx_parse_mode(const char *s, enum sbx_mode *out);
int sbx_parse_seccomp(const char *s, enum sbx_seccomp *out);

#endif
