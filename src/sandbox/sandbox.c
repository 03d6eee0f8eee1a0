// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Confining the daemon to the shared directory.
 *
 * namespace: new pid, mount and network namespaces. The process that called
 *            sbx_enter() stays outside as a supervisor: it forwards
 *            termination signals and exits with the child's status. The
 *            child makes every mount a slave (nothing propagates back to
 *            the host), mounts a /proc for its pid namespace, keeps an O_PATH
 *            fd of /proc/self/fd, bind-mounts the shared directory onto
 *            itself and pivot_roots into it, then lazily detaches the old
 *            root. Afterwards no path leads outside the shared directory.
 * chroot:    for containers that forbid namespaces: chroot(2) only. Weaker:
 *            a process keeping CAP_SYS_CHROOT could escape, which is why the
 *            capability drop and seccomp (no chroot(2)) must follow.
 * none:      nothing; the shared directory is reached through root_fd.
 */
#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"

int sbx_parse_mode(const char *s, enum sbx_mode *out)
{
	if (strcmp(s, "namespace") == 0)
		*out = SBX_MODE_NAMESPACE;
	else if (strcmp(s, "chroot") == 0)
		*out = SBX_MODE_CHROOT;
	else if (strcmp(s, "none") == 0)
		*out = SBX_MODE_NONE;
	else
		return -EINVAL;
	return 0;
}

int sbx_parse_seccomp(const char *s, enum sbx_seccomp *out)
{
	if (strcmp(s, "kill") == 0)
		*out = SBX_SECCOMP_KILL;
	else if (strcmp(s, "log") == 0)
		*out = SBX_SECCOMP_LOG;
	else if (strcmp(s, "none") == 0)
		*out = SBX_SECCOMP_NONE;
	else if (strcmp(s, "trap") == 0)
		*out = SBX_SECCOMP_TRAP;
	else
		return -EINVAL;
	return 0;
}

static int open_proc_self_fd(void)
{
	int fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		int err = -errno;

		VLOG_ERR("sandbox: open /proc/self/fd: %s", strerror(errno));
		return err;
	}
	return fd;
}

static int open_root(const char *dir)
{
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		int err = -errno;

		VLOG_ERR("sandbox: open %s: %s", dir, strerror(errno));
		return err;
	}
	return fd;
}

static int enter_none(const char *dir, struct sbx_fds *out)
{
	int root = open_root(dir);
	int proc;

	if (root < 0)
		return root;
	proc = open_proc_self_fd();
	if (proc < 0) {
		close(root);
		return proc;
	}
	out->root_fd = root;
	out->proc_self_fd = proc;
	return 0;
}

static int enter_chroot(const char *dir, struct sbx_fds *out)
{
	int proc, root, err;

	/* /proc is not reachable once the root moves: take the fd first. */
	proc = open_proc_self_fd();
	if (proc < 0)
		return proc;
	if (chdir(dir) < 0 || chroot(".") < 0 || chdir("/") < 0) {
		err = -errno;
		VLOG_ERR("sandbox: chroot %s: %s", dir, strerror(errno));
		goto out_proc;
	}
	root = open_root("/");
	if (root < 0) {
		err = root;
		goto out_proc;
	}
	out->root_fd = root;
	out->proc_self_fd = proc;
	return 0;

out_proc:
	close(proc);
	return err;
}

/* In the child, inside the fresh namespaces. */
static int setup_mounts(const char *dir, struct sbx_fds *out)
{
	int proc = -1, root, err;

	/* Our mounts and unmounts must never propagate to the host. */
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0) {
		err = -errno;
		VLOG_ERR("sandbox: make / a slave: %s", strerror(errno));
		return err;
	}
	/* A /proc that shows our pid namespace, so /proc/self is us. */
	if (mount("proc", "/proc", "proc",
		  MS_NODEV | MS_NOEXEC | MS_NOSUID | MS_RELATIME, NULL) < 0) {
		err = -errno;
		VLOG_ERR("sandbox: mount /proc: %s", strerror(errno));
		return err;
	}
	proc = open_proc_self_fd();
	if (proc < 0)
		return proc;

	/* pivot_root needs the new root to be a mount point. */
	if (mount(dir, dir, NULL, MS_BIND | MS_REC, NULL) < 0) {
		err = -errno;
		VLOG_ERR("sandbox: bind %s: %s", dir, strerror(errno));
		goto out_proc;
	}
	/*
	 * pivot_root(".", ".") stacks the old root on top of the new one at
	 * "/"; detaching "." then removes the old root and uncovers the
	 * shared directory, without needing a scratch directory inside it.
	 */
	if (chdir(dir) < 0) {
		err = -errno;
		VLOG_ERR("sandbox: chdir %s: %s", dir, strerror(errno));
		goto out_proc;
	}
	if (syscall(SYS_pivot_root, ".", ".") < 0) {
		err = -errno;
		VLOG_ERR("sandbox: pivot_root %s: %s", dir, strerror(errno));
		goto out_proc;
	}
	if (umount2(".", MNT_DETACH) < 0) {
		err = -errno;
		VLOG_ERR("sandbox: detach the old root: %s", strerror(errno));
		goto out_proc;
	}
	if (chdir("/") < 0) {
		err = -errno;
		VLOG_ERR("sandbox: chdir /: %s", strerror(errno));
		goto out_proc;
	}
	root = open_root("/");
	if (root < 0) {
		err = root;
		goto out_proc;
	}
	out->root_fd = root;
	out->proc_self_fd = proc;
	return 0;

out_proc:
	close(proc);
	return err;
}

static volatile sig_atomic_t sbx_child_pid;

static void forward_signal(int sig)
{
	pid_t pid = (pid_t)sbx_child_pid;

	if (pid > 0)
		kill(pid, sig);
}

/*
 * Only what the child handles: as the init of its pid namespace it ignores
 * every other signal. Anything else kills the supervisor, and with it the
 * child (PR_SET_PDEATHSIG).
 */
static const int sbx_forwarded[] = {SIGTERM, SIGINT};

/* The supervisor: never returns. */
static void __attribute__((noreturn)) supervise(pid_t child)
{
	struct sigaction sa = {.sa_handler = forward_signal};
	sigset_t unblock;
	int status, sig;
	pid_t r;

	sbx_child_pid = child;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&unblock);
	for (size_t i = 0; i < sizeof(sbx_forwarded) / sizeof(sbx_forwarded[0]);
	     i++) {
		sigaction(sbx_forwarded[i], &sa, NULL);
		sigaddset(&unblock, sbx_forwarded[i]);
	}
	/* The caller may have blocked them; a pending one is forwarded now. */
	sigprocmask(SIG_UNBLOCK, &unblock, NULL);

	do {
		r = waitpid(child, &status, 0);
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		VLOG_ERR("sandbox: waitpid: %s", strerror(errno));
		_exit(71); /* EX_OSERR */
	}
	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));

	/*
	 * Die of the same signal so that whoever started us sees it (e.g. the
	 * child was killed by seccomp with SIGSYS). No core dump of the
	 * supervisor: the interesting one is the child's.
	 */
	sig = WTERMSIG(status);
	VLOG_INFO("sandbox: child killed by signal %d", sig);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	signal(sig, SIG_DFL);
	sigemptyset(&unblock);
	sigaddset(&unblock, sig);
	sigprocmask(SIG_UNBLOCK, &unblock, NULL);
	raise(sig);
	_exit(128 + sig);
}

static int enter_namespace(const char *dir, struct sbx_fds *out)
{
	struct pollfd hup = {.events = POLLIN};
	int alive[2], err;
	pid_t pid;

	/* Only children of the caller land in the new pid namespace. */
	if (unshare(CLONE_NEWPID) < 0) {
		err = -errno;
		VLOG_ERR("sandbox: unshare(CLONE_NEWPID): %s "
			 "(try --sandbox=chroot or none)",
			 strerror(errno));
		return err;
	}
	/*
	 * The supervisor keeps the write end open until it dies: the child
	 * sees a hang-up if it died before PR_SET_PDEATHSIG took effect.
	 */
	if (pipe2(alive, O_CLOEXEC) < 0) {
		err = -errno;
		VLOG_ERR("sandbox: pipe: %s", strerror(errno));
		return err;
	}
	pid = fork();
	if (pid < 0) {
		err = -errno;
		VLOG_ERR("sandbox: fork: %s", strerror(errno));
		close(alive[0]);
		close(alive[1]);
		return err;
	}
	if (pid > 0) {
		close(alive[0]);
		supervise(pid);
	}

	/* Child: pid 1 of its namespace. Die with the supervisor. */
	close(alive[1]);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
		err = -errno;
		VLOG_ERR("sandbox: PR_SET_PDEATHSIG: %s", strerror(errno));
		close(alive[0]);
		return err;
	}
	hup.fd = alive[0];
	if (poll(&hup, 1, 0) != 0)
		_exit(71); /* EX_OSERR: nobody is left to tell */
	close(alive[0]);
	if (unshare(CLONE_NEWNS | CLONE_NEWNET) < 0) {
		err = -errno;
		VLOG_ERR("sandbox: unshare(CLONE_NEWNS|CLONE_NEWNET): %s",
			 strerror(errno));
		return err;
	}
	return setup_mounts(dir, out);
}

int sbx_enter(enum sbx_mode mode, const char *shared_dir, struct sbx_fds *out)
{
	char *dir;
	int ret;

	out->root_fd = -1;
	out->proc_self_fd = -1;
	/* Bind mounts and pivot_root want a canonical absolute path. */
	dir = realpath(shared_dir, NULL);
	if (!dir) {
		ret = -errno;
		VLOG_ERR("sandbox: shared directory %s: %s", shared_dir,
			 strerror(errno));
		return ret;
	}

	switch (mode) {
	case SBX_MODE_NAMESPACE:
		ret = enter_namespace(dir, out);
		break;
	case SBX_MODE_CHROOT:
		ret = enter_chroot(dir, out);
		break;
	case SBX_MODE_NONE:
		ret = enter_none(dir, out);
		break;
	default:
		ret = -EINVAL;
		break;
	}
	if (ret == 0)
		VLOG_INFO("sandbox: confined to %s (%s)", dir,
			  mode == SBX_MODE_NAMESPACE ? "namespace"
			  : mode == SBX_MODE_CHROOT  ? "chroot"
						     : "none");
	free(dir);
	return ret;
}
