// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Command line parsing. Both spellings virtiofsd users know are accepted:
 * the separate options of Rust virtiofsd (--shared-dir, --cache=...) and the
 * "-o key[=value],..." list of QEMU's C virtiofsd. Every error names the
 * offending option; nothing here exits.
 */
#include "daemon/options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VDAXD_MAX_QUEUES 256
#define VDAXD_MAX_POOL	 1024

enum {
	OPT_SOCKET_PATH = 256,
	OPT_SOCKET_GROUP,
	OPT_FD,
	OPT_SHARED_DIR,
	OPT_CACHE,
	OPT_THREAD_POOL,
	OPT_SANDBOX,
	OPT_SECCOMP,
	OPT_LOG_LEVEL,
	OPT_XATTR,
	OPT_NO_XATTR,
	OPT_ANNOUNCE,
	OPT_NO_ANNOUNCE,
	OPT_WRITEBACK,
	OPT_NO_WRITEBACK,
	OPT_READDIRPLUS,
	OPT_NO_READDIRPLUS,
	OPT_POSIX_LOCK,
	OPT_NO_POSIX_LOCK,
	OPT_FLOCK,
	OPT_NO_FLOCK,
	OPT_QUEUES,
	OPT_CACHE_SIZE,
	OPT_INODE_DAX,
	OPT_RLIMIT_NOFILE,
	OPT_MAX_INODES,
	OPT_PRINT_CAPS,
	OPT_SOCKET,
	OPT_UID_MAP,
	OPT_MODCAPS,
	OPT_XATTRMAP,
	OPT_INODE_FILE_HANDLES,
	OPT_TRANSLATE_UID,
	OPT_POSIX_ACL,
	OPT_SECURITY_LABEL,
	OPT_TRANSLATE_GID,
	OPT_UNSUPPORTED, /* the Rust virtiofsd's, refused with a reason */
	OPT_GID_MAP,
	OPT_SYSLOG,
	OPT_READONLY,
	OPT_TAG,
	OPT_ALLOW_DIRECT_IO,
	OPT_NO_ALLOW_DIRECT_IO,
	OPT_ALLOW_MMAP,
	OPT_PRESERVE_NOATIME,
	OPT_KILLPRIV_V2,
	OPT_NO_KILLPRIV_V2,
	OPT_TEST_FORBIDDEN,
};

static const struct option long_opts[] = {
	{"socket-path", required_argument, NULL, OPT_SOCKET_PATH},
	{"socket-group", required_argument, NULL, OPT_SOCKET_GROUP},
	{"fd", required_argument, NULL, OPT_FD},
	{"shared-dir", required_argument, NULL, OPT_SHARED_DIR},
	{"cache", required_argument, NULL, OPT_CACHE},
	{"thread-pool-size", required_argument, NULL, OPT_THREAD_POOL},
	{"sandbox", required_argument, NULL, OPT_SANDBOX},
	{"seccomp", required_argument, NULL, OPT_SECCOMP},
	{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	{"xattr", no_argument, NULL, OPT_XATTR},
	{"no-xattr", no_argument, NULL, OPT_NO_XATTR},
	{"announce-submounts", no_argument, NULL, OPT_ANNOUNCE},
	{"no-announce-submounts", no_argument, NULL, OPT_NO_ANNOUNCE},
	{"writeback", no_argument, NULL, OPT_WRITEBACK},
	{"no-writeback", no_argument, NULL, OPT_NO_WRITEBACK},
	{"readdirplus", no_argument, NULL, OPT_READDIRPLUS},
	{"no-readdirplus", no_argument, NULL, OPT_NO_READDIRPLUS},
	{"posix-lock", no_argument, NULL, OPT_POSIX_LOCK},
	{"no-posix-lock", no_argument, NULL, OPT_NO_POSIX_LOCK},
	{"flock", no_argument, NULL, OPT_FLOCK},
	{"no-flock", no_argument, NULL, OPT_NO_FLOCK},
	{"num-request-queues", required_argument, NULL, OPT_QUEUES},
	{"cache-size", required_argument, NULL, OPT_CACHE_SIZE},
	{"inode-dax", required_argument, NULL, OPT_INODE_DAX},
	{"rlimit-nofile", required_argument, NULL, OPT_RLIMIT_NOFILE},
	{"max-inodes", required_argument, NULL, OPT_MAX_INODES},
	{"print-capabilities", no_argument, NULL, OPT_PRINT_CAPS},
	{"socket", required_argument, NULL, OPT_SOCKET},
	{"uid-map", required_argument, NULL, OPT_UID_MAP},
	{"modcaps", required_argument, NULL, OPT_MODCAPS},
	{"xattrmap", required_argument, NULL, OPT_XATTRMAP},
	{"inode-file-handles", required_argument, NULL, OPT_INODE_FILE_HANDLES},
	{"posix-acl", no_argument, NULL, OPT_POSIX_ACL},
	{"security-label", no_argument, NULL, OPT_SECURITY_LABEL},
	{"translate-uid", required_argument, NULL, OPT_TRANSLATE_UID},
	{"translate-gid", required_argument, NULL, OPT_TRANSLATE_GID},
	{"migration-mode", required_argument, NULL, OPT_UNSUPPORTED},
	{"migration-on-error", required_argument, NULL, OPT_UNSUPPORTED},
	{"migration-verify-handles", no_argument, NULL, OPT_UNSUPPORTED},
	{"migration-confirm-paths", no_argument, NULL, OPT_UNSUPPORTED},
	{"gid-map", required_argument, NULL, OPT_GID_MAP},
	{"syslog", no_argument, NULL, OPT_SYSLOG},
	{"readonly", no_argument, NULL, OPT_READONLY},
	{"tag", required_argument, NULL, OPT_TAG},
	{"allow-direct-io", no_argument, NULL, OPT_ALLOW_DIRECT_IO},
	{"no-allow-direct-io", no_argument, NULL, OPT_NO_ALLOW_DIRECT_IO},
	{"allow-mmap", no_argument, NULL, OPT_ALLOW_MMAP},
	{"preserve-noatime", no_argument, NULL, OPT_PRESERVE_NOATIME},
	{"killpriv-v2", no_argument, NULL, OPT_KILLPRIV_V2},
	{"no-killpriv-v2", no_argument, NULL, OPT_NO_KILLPRIV_V2},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
#ifdef VDAXD_TEST_HOOKS
	{"test-forbidden-syscall", no_argument, NULL, OPT_TEST_FORBIDDEN},
#endif
	{NULL, 0, NULL, 0},
};

/*
 * The Rust virtiofsd's options vdaxd does not implement, and why: each is
 * refused (EX_USAGE) with its reason rather than accepted and ignored.
 * man/vdaxd.1 lists the same.
 */
static const struct {
	const char *name; /* long option; the -o form has '_' for '-' */
	const char *why;
} unsupported[] = {
	{"migration-mode", "live migration is not implemented"},
	{"migration-on-error", "live migration is not implemented"},
	{"migration-verify-handles", "live migration is not implemented"},
	{"migration-confirm-paths", "live migration is not implemented"},
};

/* @name: a long option's name, or an -o item (@o_form). */
static int refuse(const char *name, bool o_form_given)
{
	for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]);
	     i++) {
		char o_form[64];
		size_t j;

		for (j = 0; unsupported[i].name[j] && j < sizeof(o_form) - 1; j++)
			o_form[j] = unsupported[i].name[j] == '-'
					    ? '_'
					    : unsupported[i].name[j];
		o_form[j] = '\0';
		if (strcmp(name, unsupported[i].name) &&
		    strcmp(name, o_form))
			continue;
		fprintf(stderr, "vdaxd: %s%s is not supported: %s (see vdaxd(1))\n",
			o_form_given ? "-o " : "--", name, unsupported[i].why);
		return -EINVAL;
	}
	return 0;
}

static int long_index; /* of the long option getopt_long just returned */

static int bad(const char *opt, const char *val, const char *why)
{
	if (val)
		fprintf(stderr, "vdaxd: invalid value '%s' for %s: %s\n", val,
			opt, why);
	else
		fprintf(stderr, "vdaxd: %s: %s\n", opt, why);
	return -EINVAL;
}

/* Digits only: strtoull alone would take "-1", " 7" and "0x10". */
static int parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!*s)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	*out = v;
	return 0;
}

static int parse_uint(const char *opt, const char *s, unsigned lo, unsigned hi,
		      unsigned *out)
{
	uint64_t v;

	if (parse_u64(s, &v) < 0 || v < lo || v > hi) {
		char why[64];

		snprintf(why, sizeof(why), "expected an integer in [%u, %u]",
			 lo, hi);
		return bad(opt, s, why);
	}
	*out = (unsigned)v;
	return 0;
}

int vdaxd_parse_size(const char *s, uint64_t *out)
{
	char num[32];
	size_t len = strlen(s);
	unsigned shift = 0;
	uint64_t v;
	int ret;

	if (len == 0 || len >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, len + 1);
	switch (num[len - 1]) {
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	default:
		break;
	}
	if (shift)
		num[len - 1] = '\0';
	ret = parse_u64(num, &v);
	if (ret < 0)
		return ret;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

static int parse_cache(const char *opt, const char *s, enum fuse_srv_cache *out)
{
	if (strcmp(s, "auto") == 0)
		*out = FUSE_SRV_CACHE_AUTO;
	else if (strcmp(s, "always") == 0)
		*out = FUSE_SRV_CACHE_ALWAYS;
	else if (strcmp(s, "never") == 0 || strcmp(s, "none") == 0)
		*out = FUSE_SRV_CACHE_NEVER;
	else if (strcmp(s, "metadata") == 0)
		*out = FUSE_SRV_CACHE_METADATA;
	else
		return bad(opt, s, "expected auto, always, never or metadata");
	return 0;
}

/* never | size:BYTES (K/M/G/T suffixes) | xflag */
static int parse_inode_dax(const char *s, struct vdaxd_opts *o)
{
	if (!strcmp(s, "never")) {
		o->inode_dax = FUSE_SRV_INODE_DAX_NEVER;
	} else if (!strcmp(s, "xflag")) {
		o->inode_dax = FUSE_SRV_INODE_DAX_XFLAG;
	} else if (!strncmp(s, "size:", 5) &&
		   vdaxd_parse_size(s + 5, &o->inode_dax_size) == 0) {
		o->inode_dax = FUSE_SRV_INODE_DAX_SIZE;
	} else {
		return bad("--inode-dax", s,
			   "expected never, size:BYTES or xflag");
	}
	return 0;
}

static int parse_sandbox(const char *opt, const char *s, struct vdaxd_opts *o)
{
	if (sbx_parse_mode(s, &o->sandbox) < 0)
		return bad(opt, s, "expected namespace, chroot or none");
	return 0;
}

static int parse_xattrmap(const char *opt, const char *s, struct vdaxd_opts *o)
{
	char err[160];
	int ret;

	pt_xattrmap_free(o->xattrmap);
	o->xattrmap = NULL;
	ret = pt_xattrmap_parse(s, &o->xattrmap, err, sizeof(err));
	if (ret == -ENOMEM)
		return bad(opt, NULL, "out of memory");
	if (ret)
		return bad(opt, s, err);
	o->xattr = true;
	return 0;
}

static int parse_log_level(const char *opt, const char *s, struct vdaxd_opts *o)
{
	if (vlog_parse_level(s, &o->log_level) < 0)
		return bad(opt, s,
			   "expected trace, debug, info, warn, error or off");
	return 0;
}

/* "-o" flags: name, field offset, value. */
static const struct {
	const char *name;
	size_t off;
	bool val;
} o_flags[] = {
	{"xattr", offsetof(struct vdaxd_opts, xattr), true},
	{"no_xattr", offsetof(struct vdaxd_opts, xattr), false},
	{"flock", offsetof(struct vdaxd_opts, flock), true},
	{"no_flock", offsetof(struct vdaxd_opts, flock), false},
	{"posix_lock", offsetof(struct vdaxd_opts, posix_lock), true},
	{"no_posix_lock", offsetof(struct vdaxd_opts, posix_lock), false},
	{"writeback", offsetof(struct vdaxd_opts, writeback), true},
	{"no_writeback", offsetof(struct vdaxd_opts, writeback), false},
	{"announce_submounts", offsetof(struct vdaxd_opts, announce_submounts),
	 true},
	{"no_announce_submounts",
	 offsetof(struct vdaxd_opts, announce_submounts), false},
	{"readdirplus", offsetof(struct vdaxd_opts, readdirplus), true},
	{"no_readdirplus", offsetof(struct vdaxd_opts, readdirplus), false},
	{"readonly", offsetof(struct vdaxd_opts, readonly), true},
	{"allow_direct_io", offsetof(struct vdaxd_opts, allow_direct_io), true},
	{"no_allow_direct_io", offsetof(struct vdaxd_opts, allow_direct_io),
	 false},
	{"allow_mmap", offsetof(struct vdaxd_opts, allow_mmap), true},
	{"preserve_noatime", offsetof(struct vdaxd_opts, preserve_noatime),
	 true},
	{"killpriv_v2", offsetof(struct vdaxd_opts, no_killpriv_v2), false},
	{"no_killpriv_v2", offsetof(struct vdaxd_opts, no_killpriv_v2), true},
	{"syslog", offsetof(struct vdaxd_opts, syslog), true},
};

/* "fallback" is the Rust virtiofsd's deprecated spelling of "prefer". */
static int parse_file_handles(const char *opt, const char *val,
			      struct vdaxd_opts *o)
{
	if (!strcmp(val, "never"))
		o->inode_file_handles = PT_FH_NEVER;
	else if (!strcmp(val, "prefer") || !strcmp(val, "fallback"))
		o->inode_file_handles = PT_FH_PREFER;
	else if (!strcmp(val, "mandatory"))
		o->inode_file_handles = PT_FH_MANDATORY;
	else
		return bad(opt, val, "expected never, prefer or mandatory");
	return 0;
}

static int parse_o_item(char *item, struct vdaxd_opts *o)
{
	char *val = strchr(item, '=');

	if (val)
		*val++ = '\0';
	if (!val) {
		if (!strcmp(item, "security_label") ||
		    !strcmp(item, "no_security_label")) {
			o->security_label = item[0] == 's';
			return 0;
		}
		if (!strcmp(item, "posix_acl") || !strcmp(item, "no_posix_acl")) {
			o->posix_acl = item[0] == 'p';
			return 0;
		}
		for (size_t i = 0; i < sizeof(o_flags) / sizeof(o_flags[0]);
		     i++) {
			if (strcmp(item, o_flags[i].name) == 0) {
				*(bool *)((char *)o + o_flags[i].off) =
					o_flags[i].val;
				if (strstr(item, "readdirplus"))
					o->readdirplus_set = true;
				return 0;
			}
		}
		if (refuse(item, true))
			return -EINVAL;
		fprintf(stderr, "vdaxd: unknown -o option '%s'\n", item);
		return -EINVAL;
	}
	if (strcmp(item, "source") == 0) {
		o->shared_dir = val;
		return 0;
	}
	if (strcmp(item, "cache") == 0)
		return parse_cache("-o cache", val, &o->cache);
	/* log_level is QEMU's C virtiofsd's spelling, loglevel the Rust one's */
	if (strcmp(item, "log_level") == 0 || strcmp(item, "loglevel") == 0)
		return parse_log_level("-o log_level", val, o);
	if (strcmp(item, "xattrmap") == 0)
		return parse_xattrmap("-o xattrmap", val, o);
	if (strcmp(item, "modcaps") == 0)
		return sbx_set_modcaps(val);
	if (strcmp(item, "sandbox") == 0)
		return parse_sandbox("-o sandbox", val, o);
	if (strcmp(item, "inode_file_handles") == 0)
		return parse_file_handles("-o inode_file_handles", val, o);
	if (strcmp(item, "thread_pool_size") == 0)
	{
		o->thread_pool_size_set = true;
		return parse_uint("-o thread_pool_size", val, 0, VDAXD_MAX_POOL,
				  &o->thread_pool_size);
	}
	if (refuse(item, true))
		return -EINVAL;
	fprintf(stderr, "vdaxd: unknown -o option '%s=%s'\n", item, val);
	return -EINVAL;
}

/* @list points into argv: it is ours to cut up. */
static int parse_o(char *list, struct vdaxd_opts *o)
{
	char *save = NULL;

	for (char *it = strtok_r(list, ",", &save); it;
	     it = strtok_r(NULL, ",", &save)) {
		int ret = parse_o_item(it, o);

		if (ret < 0)
			return ret;
	}
	return 0;
}

static void defaults(struct vdaxd_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->action = VDAXD_ACT_RUN;
	o->fd = -1;
	o->cache = FUSE_SRV_CACHE_AUTO;
	o->thread_pool_size = 0;
	o->num_request_queues = 1;
	o->sandbox = SBX_MODE_NAMESPACE;
	o->seccomp = SBX_SECCOMP_KILL;
	o->log_level = VLOG_LVL_INFO;
	/* As the Rust virtiofsd: the guest learns where mount points are. */
	o->announce_submounts = true;
}

static int parse_one(int c, struct vdaxd_opts *o)
{
	unsigned u;
	int ret;

	switch (c) {
	case OPT_SOCKET: /* the Rust virtiofsd's deprecated spelling */
	case OPT_SOCKET_PATH:
		o->socket_path = optarg;
		break;
	case OPT_POSIX_ACL:
		o->posix_acl = true;
		break;
	case OPT_SECURITY_LABEL:
		o->security_label = true;
		break;
	case OPT_TRANSLATE_UID:
	case OPT_TRANSLATE_GID: {
		bool uid = c == OPT_TRANSLATE_UID;
		char err[128];

		if (fuse_idmap_add(uid ? &o->uid_map : &o->gid_map, optarg, err,
				   sizeof(err)))
			return bad(uid ? "--translate-uid" : "--translate-gid",
				   optarg, err);
		break;
	}
	case OPT_INODE_FILE_HANDLES:
		return parse_file_handles("--inode-file-handles", optarg, o);
	case OPT_UNSUPPORTED:
		refuse(long_opts[long_index].name, false);
		return -EINVAL;
	case OPT_XATTRMAP:
		return parse_xattrmap("--xattrmap", optarg, o);
	case OPT_MODCAPS:
		return sbx_set_modcaps(optarg);
	case OPT_UID_MAP:
		if (o->userns.nuid >= SBX_IDMAP_MAX)
			return bad("--uid-map", optarg, "too many maps");
		if (sbx_parse_idmap(optarg, &o->userns.uid[o->userns.nuid]))
			return bad("--uid-map", optarg,
				   "expected :namespace_uid:host_uid:count:");
		o->userns.nuid++;
		break;
	case OPT_GID_MAP:
		if (o->userns.ngid >= SBX_IDMAP_MAX)
			return bad("--gid-map", optarg, "too many maps");
		if (sbx_parse_idmap(optarg, &o->userns.gid[o->userns.ngid]))
			return bad("--gid-map", optarg,
				   "expected :namespace_gid:host_gid:count:");
		o->userns.ngid++;
		break;
	case OPT_SYSLOG:
		o->syslog = true;
		break;
	case OPT_READONLY:
		o->readonly = true;
		break;
	case OPT_TAG:
		/* virtio_fs_config.tag: 36 bytes, NUL-padded, not terminated */
		if (!*optarg || strlen(optarg) > 36)
			return bad("--tag", optarg, "expected 1 to 36 bytes");
		o->tag = optarg;
		break;
	case OPT_ALLOW_DIRECT_IO:
		o->allow_direct_io = true;
		break;
	case OPT_NO_ALLOW_DIRECT_IO:
		o->allow_direct_io = false;
		break;
	case OPT_ALLOW_MMAP:
		o->allow_mmap = true;
		break;
	case OPT_PRESERVE_NOATIME:
		o->preserve_noatime = true;
		break;
	case OPT_KILLPRIV_V2:
		o->no_killpriv_v2 = false;
		break;
	case OPT_NO_KILLPRIV_V2:
		o->no_killpriv_v2 = true;
		break;
	case OPT_SOCKET_GROUP:
		o->socket_group = optarg;
		break;
	case OPT_FD:
		ret = parse_uint("--fd", optarg, 0, INT_MAX, &u);
		if (ret < 0)
			return ret;
		o->fd = (int)u;
		break;
	case OPT_SHARED_DIR:
		o->shared_dir = optarg;
		break;
	case 'o':
		return parse_o(optarg, o);
	case OPT_CACHE:
		return parse_cache("--cache", optarg, &o->cache);
	case OPT_THREAD_POOL:
		o->thread_pool_size_set = true;
		return parse_uint("--thread-pool-size", optarg, 0,
				  VDAXD_MAX_POOL, &o->thread_pool_size);
	case OPT_SANDBOX:
		return parse_sandbox("--sandbox", optarg, o);
	case OPT_SECCOMP:
		if (sbx_parse_seccomp(optarg, &o->seccomp) < 0)
			return bad("--seccomp", optarg,
				   "expected kill, log, trap or none");
		break;
	case OPT_LOG_LEVEL:
		return parse_log_level("--log-level", optarg, o);
	case 'd':
		o->log_level = VLOG_LVL_DEBUG;
		break;
	case 'f':
		break; /* virtiofsd's "foreground": we never daemonize */
	case OPT_XATTR:
		o->xattr = true;
		break;
	case OPT_NO_XATTR:
		o->xattr = false;
		break;
	case OPT_ANNOUNCE:
		o->announce_submounts = true;
		break;
	case OPT_NO_ANNOUNCE:
		o->announce_submounts = false;
		break;
	case OPT_WRITEBACK:
		o->writeback = true;
		break;
	case OPT_NO_WRITEBACK:
		o->writeback = false;
		break;
	case OPT_READDIRPLUS:
		o->readdirplus = o->readdirplus_set = true;
		break;
	case OPT_NO_READDIRPLUS:
		o->readdirplus = false;
		o->readdirplus_set = true;
		break;
	case OPT_POSIX_LOCK:
		o->posix_lock = true;
		break;
	case OPT_NO_POSIX_LOCK:
		o->posix_lock = false;
		break;
	case OPT_FLOCK:
		o->flock = true;
		break;
	case OPT_NO_FLOCK:
		o->flock = false;
		break;
	case OPT_QUEUES:
		return parse_uint("--num-request-queues", optarg, 1,
				  VDAXD_MAX_QUEUES, &o->num_request_queues);
	case OPT_CACHE_SIZE:
		if (vdaxd_parse_size(optarg, &o->cache_size) < 0)
			return bad("--cache-size", optarg,
				   "expected a size such as 0, 512M or 2G");
		if (o->cache_size % VDAXD_DAX_RANGE)
			return bad("--cache-size", optarg,
				   "must be a multiple of 2M (the DAX range "
				   "size)");
		break;
	case OPT_INODE_DAX:
		return parse_inode_dax(optarg, o);
	case OPT_RLIMIT_NOFILE:
		ret = parse_u64(optarg, &o->rlimit_nofile);
		if (ret < 0)
			return bad("--rlimit-nofile", optarg,
				   "expected an integer");
		o->rlimit_nofile_set = true;
		break;
	case OPT_MAX_INODES:
		ret = parse_u64(optarg, &o->max_inodes);
		if (ret < 0 || o->max_inodes == 0 || o->max_inodes > (1u << 30))
			return bad("--max-inodes", optarg,
				   "expected an integer from 1 to 2^30");
		break;
	case OPT_PRINT_CAPS:
		o->action = VDAXD_ACT_PRINT_CAPS;
		break;
	case OPT_TEST_FORBIDDEN:
		o->test_forbidden_syscall = true;
		break;
	case 'h':
		o->action = VDAXD_ACT_HELP;
		break;
	case 'V':
		o->action = VDAXD_ACT_VERSION;
		break;
	default:
		/* getopt already named the option on stderr */
		return -EINVAL;
	}
	return 0;
}

static int check(struct vdaxd_opts *o)
{
	if (o->action != VDAXD_ACT_RUN)
		return 0;
	if (!o->shared_dir)
		return bad(
			"--shared-dir", NULL,
			"required (or -o source=DIR): the directory to share");
	if (!o->socket_path && o->fd < 0)
		return bad("--socket-path", NULL,
			   "required unless --fd=N is given");
	if (o->socket_path && o->fd >= 0)
		return bad("--fd", NULL,
			   "cannot be combined with --socket-path");
	if (o->socket_group && !o->socket_path)
		return bad("--socket-group", NULL, "needs --socket-path");
	if ((o->userns.nuid || o->userns.ngid) &&
	    (geteuid() == 0 || o->sandbox != SBX_MODE_NAMESPACE))
		return bad(o->userns.nuid ? "--uid-map" : "--gid-map", NULL,
			   "only for a daemon started without root, with "
			   "--sandbox=namespace (a user namespace)");
	/* ACL entries name host ids: translating them would break them */
	if (o->posix_acl && (fuse_idmap_active(&o->uid_map) ||
			     fuse_idmap_active(&o->gid_map)))
		return bad("--posix-acl", NULL,
			   "cannot be combined with --translate-uid/gid (as in "
			   "the Rust virtiofsd)");
	if (o->posix_acl || o->security_label)
		o->xattr = true;
	if (!o->readdirplus_set)
		o->readdirplus = o->cache != FUSE_SRV_CACHE_NEVER;
	/*
	 * A lock wait blocks its worker. Served by the queue's own thread it
	 * would stall the queue, and so the very unlock it waits for: with
	 * locks on, a pool is the default.
	 */
	if (!o->thread_pool_size_set && (o->posix_lock || o->flock))
		o->thread_pool_size = VDAXD_LOCK_POOL;
	if (o->inode_dax != FUSE_SRV_INODE_DAX_NEVER && !o->cache_size)
		fprintf(stderr, "vdaxd: --inode-dax has no effect without "
				"--cache-size\n");
	return 0;
}

int vdaxd_parse_args(int argc, char **argv, struct vdaxd_opts *o)
{
	int c;

	defaults(o);
	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "+hVdfo:", long_opts,
				&long_index)) != -1) {
		int ret = parse_one(c, o);

		if (ret < 0)
			return ret;
	}
	if (optind < argc) {
		fprintf(stderr, "vdaxd: unexpected argument '%s'\n",
			argv[optind]);
		return -EINVAL;
	}
	return check(o);
}

void vdaxd_usage(const char *prog, FILE *f)
{
	fprintf(f,
		"Usage: %s [OPTION]... --shared-dir=DIR (--socket-path=PATH | "
		"--fd=N)\n"
		"vhost-user virtio-fs backend with a DAX window.\n"
		"\n"
		"  --socket-path=PATH       listen on a new unix socket at "
		"PATH\n"
		"                           (also --socket=PATH); PATH.pid "
		"is locked\n"
		"  --tag=TAG                the virtio-fs tag for "
		"GET_CONFIG (F_CONFIG)\n"
		"  --socket-group=GROUP     give the socket to GROUP, mode "
		"0660\n"
		"  --fd=N                   use the listening socket inherited "
		"as fd N\n"
		"  --shared-dir=DIR         the directory to share (also -o "
		"source=DIR)\n"
		"  --cache=auto|always|never|metadata  guest caching "
		"(\"none\" = never)  [auto]\n"
		"  --allow-mmap             shared mmap with cache=never/"
		"metadata\n"
		"  --allow-direct-io        keep the guest's O_DIRECT  [off]\n"
		"  --preserve-noatime       keep the guest's O_NOATIME  [off]\n"
		"  --readonly               refuse every change with EROFS\n"
		"  --cache-size=SIZE        DAX window size, K/M/G suffixes, "
		"multiple\n"
		"                           of 2M; must match the frontend; 0 "
		"= no DAX [0]\n"
		"  --inode-dax=never|size:BYTES|xflag  which files the guest "
		"maps\n"
		"                           through the window in its "
		"per-file DAX\n"
		"                           mode (with --cache-size)  "
		"[never]\n"
		"  --num-request-queues=N   request queues, as the frontend "
		"has  [1]\n"
		"  --thread-pool-size=N     worker threads; 0 = each queue "
		"served by\n"
		"                           its own thread  [0; 8 with locks on]\n"
		"  --sandbox=namespace|chroot|none  confinement  [namespace]\n"
		"  --seccomp=kill|log|trap|none  action on a forbidden "
		"syscall  [kill]\n"
		"  --uid-map=:NS:HOST:N:, --gid-map=:NS:HOST:N:  user "
		"namespace maps\n"
		"                           (without root only)\n"
		"  --modcaps=(+|-)CAP[:...]  change the kept capabilities\n"
		"  --log-level=trace|debug|info|warn|error|off  [info]; -d = "
		"debug\n"
		"  --syslog                 log to syslog, not stderr\n"
		"  --[no-]xattr             extended attributes  [off]\n"
		"  --posix-acl              POSIX ACLs (implies --xattr)\n"
		"  --security-label         labels of new files "
		"(FUSE_SECURITY_CTX)\n"
		"  --translate-uid=TYPE:A:B:N, --translate-gid=...  id "
		"translation\n"
		"  --xattrmap=RULES         translate xattr names (implies "
		"--xattr)\n"
		"  --[no-]posix-lock        POSIX record locks  [off]\n"
		"  --[no-]flock             BSD flock locks  [off]\n"
		"  --[no-]readdirplus       READDIRPLUS  [on unless "
		"--cache=never]\n"
		"  --[no-]writeback         guest writeback cache  [off]\n"
		"  --[no-]announce-submounts  report submounts to the guest  "
		"[on]\n"
		"  --[no-]killpriv-v2       FUSE_HANDLE_KILLPRIV_V2  [on]\n"
		"  --inode-file-handles=never|prefer|mandatory\n"
		"                           hold inodes as O_PATH fds, or as "
		"file handles\n"
		"                           (CAP_DAC_READ_SEARCH)  [never]\n"
		"  --max-inodes=N           inodes the guest may hold at once;\n"
		"                           past it LOOKUP gets ENFILE  [1048576]\n"
		"  --rlimit-nofile=N        set RLIMIT_NOFILE; 0 = leave it\n"
		"                           [raise the soft limit to the hard "
		"one]\n"
		"  -o OPT[,OPT]...          virtiofsd style: source=, cache=, "
		"xattr,\n"
		"                           no_xattr, flock, no_flock, "
		"posix_lock,\n"
		"                           no_posix_lock, readdirplus, "
		"no_readdirplus,\n"
		"                           writeback, no_writeback, "
		"announce_submounts,\n"
		"                           log_level= (loglevel=), sandbox=, "
		"thread_pool_size=,\n"
		"                           readonly, allow_direct_io, "
		"allow_mmap, syslog,\n"
		"                           preserve_noatime, [no_]killpriv_v2, "
		"modcaps=,\n"
		"                           xattrmap=, inode_file_handles=\n"
		"  -f                       ignored (vdaxd always stays in the "
		"foreground)\n"
		"  --print-capabilities     print the vhost-user backend JSON "
		"and exit\n"
		"  -h, --help               this text\n"
		"  -V, --version            the version\n",
		prog);
}
