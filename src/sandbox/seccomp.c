// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The seccomp allow-list of a running daemon: the passthrough filesystem,
 * the vhost-user transport (already-open sockets, eventfds, guest memory
 * mappings), glibc and pthreads. Anything else (socket, connect, mount,
 * ptrace, execve, chroot, bpf, ...) takes the configured action.
 *
 * Names, not numbers, so one list serves every architecture: a name the
 * architecture lacks (open on aarch64, say) is skipped.
 */
#include "sandbox/sandbox.h"

#include <errno.h>
#include <linux/fs.h>
#include <seccomp.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"

static const char *const sbx_allowed[] = {
	/* file data */
	"read",
	"write",
	"readv",
	"writev",
	"pread64",
	"pwrite64",
	"preadv",
	"pwritev",
	"preadv2",
	"pwritev2",
	"lseek",
	"_llseek",
	"fallocate",
	"ftruncate",
	"fsync",
	"fdatasync",
	"syncfs",
	"copy_file_range",
	"fadvise64",
	"fadvise64_64",
	/* names and attributes, always relative to an fd */
	"openat",
	"openat2",
	"open_by_handle_at",
	"name_to_handle_at",
	"close",
	"close_range",
	"dup",
	"dup2",
	"dup3",
	"fcntl",
	"fcntl64",
	"newfstatat",
	"fstat",
	"fstat64",
	"fstatat64",
	"statx",
	"fstatfs",
	"fstatfs64",
	"statfs",
	"getdents64",
	"readlinkat",
	"faccessat",
	"faccessat2",
	"mkdirat",
	"mknodat",
	"symlinkat",
	"linkat",
	"unlinkat",
	"renameat",
	"renameat2",
	"fchmod",
	"fchmodat",
	"fchmodat2",
	"fchown",
	"fchownat",
	"utimensat",
	"fchdir",
	"umask",
	"flock",
	/* extended attributes (on /proc/self/fd/N paths for non-regular files)
	 */
	"getxattr",
	"lgetxattr",
	"fgetxattr",
	"setxattr",
	"lsetxattr",
	"fsetxattr",
	"listxattr",
	"llistxattr",
	"flistxattr",
	"removexattr",
	"lremovexattr",
	"fremovexattr",
	/* acting as the guest's caller */
	"setfsuid",
	"setfsgid",
	"getgroups",
	"setgroups", /* per thread: the caller's supplementary group */
	"setresuid",
	"setresgid",
	"getuid",
	"geteuid",
	"getgid",
	"getegid",
	"getresuid",
	"getresgid",
	/* vhost-user transport: accept the next frontend, messages with fds */
	"accept",
	"accept4",
	"recvmsg",
	"sendmsg",
	"recvfrom",
	"sendto",
	"shutdown",
	"poll",
	"ppoll",
	"epoll_create",
	"epoll_create1",
	"epoll_ctl",
	"epoll_wait",
	"epoll_pwait",
	"epoll_pwait2",
	"eventfd2",
	"pipe2",
	/* memory: guest RAM and the allocator */
	"mmap",
	"mmap2",
	"munmap",
	"mremap",
	"mprotect",
	"madvise",
	"brk",
	/* threads and glibc */
	"clone",
	"clone3",
	"futex",
	"futex_waitv",
	"set_robust_list",
	"get_robust_list",
	"set_tid_address",
	"rseq",
	"exit",
	"exit_group",
	"rt_sigreturn",
	"rt_sigprocmask",
	"rt_sigaction",
	"sigreturn",
	"restart_syscall",
	"gettid",
	"getpid",
	"tgkill",
	"tkill",
	"sched_yield",
	"sched_getaffinity",
	"prctl",
	"getrandom",
	"clock_gettime",
	"clock_gettime64",
	"gettimeofday",
	"clock_getres",
	"nanosleep",
	"clock_nanosleep",
	"clock_nanosleep_time64",
	"sysinfo",
	"membarrier",
};

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SBX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SBX_SANITIZER 1
#endif
#endif

#ifdef SBX_SANITIZER
/*
 * Sanitizer runtimes: LeakSanitizer stops the world with a ptrace'ing
 * thread at exit, reports read /proc/self/maps. Test builds only.
 */
static const char *const sbx_allowed_sanitizer[] = {
	"ptrace",
	"getdents",
	"wait4",
	"waitid",
	"sigaltstack",
	"prlimit64",
	"getrlimit",
	"open",
	"readlink",
	"getppid",
	"sched_setaffinity",
	"arch_prctl",
	"personality",
	"kill",
};
#endif

/*
 * ioctl only for these requests: inode flags and fsxattr (FUSE_IOCTL of
 * chattr/lsattr), and what libc itself asks (isatty, FIONREAD, FIOCLEX).
 */
static const unsigned long sbx_allowed_ioctls[] = {
	FS_IOC_GETFLAGS,
	FS_IOC_SETFLAGS,
	FS_IOC32_GETFLAGS,
	FS_IOC32_SETFLAGS,
	FS_IOC_FSGETXATTR,
	FS_IOC_FSSETXATTR,
	TCGETS,
	FIONREAD,
	FIOCLEX,
	FIONCLEX,
};

static int allow_ioctls(scmp_filter_ctx ctx)
{
	for (size_t i = 0;
	     i < sizeof(sbx_allowed_ioctls) / sizeof(sbx_allowed_ioctls[0]);
	     i++) {
		/* The kernel reads the request as an unsigned int. */
		int ret = seccomp_rule_add(
			ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
			SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu,
				(uint32_t)sbx_allowed_ioctls[i]));

		if (ret < 0) {
			VLOG_ERR("seccomp: allowing ioctl %#lx: %s",
				 sbx_allowed_ioctls[i], strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/*
 * unshare(CLONE_FS) only: each passthrough worker gives itself a private fs
 * struct so its umask (0, the guest's umask decides) and fchdir() for xattrs
 * on special files do not leak into other threads. No other namespace may be
 * created once the sandbox is up.
 */
static int allow_unshare_fs(scmp_filter_ctx ctx)
{
	int ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(unshare), 1,
				   SCMP_A0(SCMP_CMP_EQ, CLONE_FS));

	if (ret < 0)
		VLOG_ERR("seccomp: allowing unshare(CLONE_FS): %s",
			 strerror(-ret));
	return ret;
}

static int allow_list(scmp_filter_ctx ctx, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		int ret;

		if (nr == __NR_SCMP_ERROR)
			continue;
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		/* A pseudo syscall of this arch (negative nr) may be refused.
		 */
		if (ret < 0 && nr >= 0) {
			VLOG_ERR("seccomp: allowing %s: %s", names[i],
				 strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/*
 * seccomp=trap: name the forbidden syscall on stderr, then die of SIGSYS
 * as without a handler (SA_RESETHAND put the default action back), or,
 * as pid 1 of the sandbox's pid namespace, exit with 128 + SIGSYS.
 * Async-signal-safe: write(), tgkill() and _exit() only, all allowed.
 */
static void sbx_sigsys(int sig, siginfo_t *si, void *uc)
{
	char msg[96] = "vdaxd: seccomp: forbidden syscall ";
	char num[16];
	size_t len = strlen(msg), n = 0;
	unsigned v = si->si_syscall < 0 ? 0 : (unsigned)si->si_syscall;

	(void)uc;
	do
		num[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < sizeof(num));
	while (n && len < sizeof(msg) - 16)
		msg[len++] = num[--n];
	memcpy(msg + len, " (trap)\n", 8);
	len += 8;
	if (write(2, msg, len) < 0) {
		/* nothing more to do: we are about to die */
	}
	syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), sig);
	/* Still here: pid 1 of our pid namespace ignores its own SIGSYS. */
	_exit(128 + sig);
}

static int install_sigsys(void)
{
	struct sigaction sa = {
		.sa_sigaction = sbx_sigsys,
		.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER,
	};

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		int err = -errno;

		VLOG_ERR("seccomp: SIGSYS handler: %s", strerror(errno));
		return err;
	}
	return 0;
}

int sbx_seccomp_install(enum sbx_seccomp action)
{
	scmp_filter_ctx ctx;
	uint32_t def;
	int ret;

	switch (action) {
	case SBX_SECCOMP_NONE:
		VLOG_INFO("seccomp: disabled");
		return 0;
	case SBX_SECCOMP_KILL:
		def = SCMP_ACT_KILL_PROCESS;
		break;
	case SBX_SECCOMP_LOG:
		def = SCMP_ACT_LOG;
		break;
	case SBX_SECCOMP_TRAP:
		def = SCMP_ACT_TRAP;
		ret = install_sigsys();
		if (ret < 0)
			return ret;
		break;
	default:
		return -EINVAL;
	}

	ctx = seccomp_init(def);
	if (!ctx) {
		VLOG_ERR("seccomp: seccomp_init failed");
		return -ENOMEM;
	}
	/* Every thread, including ones a library created earlier. */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (ret < 0) {
		VLOG_ERR("seccomp: TSYNC: %s", strerror(-ret));
		goto out;
	}
	ret = allow_list(ctx, sbx_allowed,
			 sizeof(sbx_allowed) / sizeof(sbx_allowed[0]));
	if (ret == 0)
		ret = allow_ioctls(ctx);
	if (ret == 0)
		ret = allow_unshare_fs(ctx);
#ifdef SBX_SANITIZER
	if (ret == 0)
		ret = allow_list(ctx, sbx_allowed_sanitizer,
				 sizeof(sbx_allowed_sanitizer) /
					 sizeof(sbx_allowed_sanitizer[0]));
#endif
	if (ret < 0)
		goto out;
	ret = seccomp_load(ctx);
	if (ret < 0) {
		VLOG_ERR("seccomp: loading the filter: %s", strerror(-ret));
		goto out;
	}
	VLOG_INFO("seccomp: filter installed (%s)",
		  action == SBX_SECCOMP_KILL  ? "kill"
		  : action == SBX_SECCOMP_LOG ? "log"
					      : "trap");
out:
	seccomp_release(ctx);
	return ret;
}
