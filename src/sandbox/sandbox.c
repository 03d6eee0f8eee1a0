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
 *
 * Without root, namespace mode first enters a new user namespace (as the
 * Rust virtiofsd does): a helper forked beforehand writes the uid/gid maps
 * from outside (newuidmap/newgidmap when more than our own id is mapped),
 * then the daemon becomes uid/gid 0 in it and carries on as root would,
 * with capabilities valid for that namespace only.
 */
#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
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

static struct sbx_userns sbx_userns_cfg;
/* Set once this process runs in the user namespace of enter_userns(). */
bool sbx_userns_entered;

void sbx_set_userns(const struct sbx_userns *u)
{
	sbx_userns_cfg = *u;
}

int sbx_parse_idmap(const char *s, struct sbx_idmap *m)
{
	unsigned long long v[3];
	const char *p = s;

	if (*p++ != ':')
		return -EINVAL;
	for (int i = 0; i < 3; i++) {
		char *end;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		errno = 0;
		v[i] = strtoull(p, &end, 10);
		if (errno || *end != ':' || v[i] > UINT32_MAX)
			return -EINVAL;
		p = end + 1;
	}
	if (*p || v[2] == 0 || v[0] + v[2] - 1 > UINT32_MAX - 1 ||
	    v[1] + v[2] - 1 > UINT32_MAX - 1)
		return -EINVAL;
	m->ns = (unsigned)v[0];
	m->host = (unsigned)v[1];
	m->count = (unsigned)v[2];
	return 0;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;
	size_t len = strlen(s);

	if (fd < 0)
		return -errno;
	if (write(fd, s, len) != (ssize_t)len)
		err = -errno ? -errno : -EIO;
	close(fd);
	return err;
}

/* Run newuidmap/newgidmap PID NS HOST COUNT...; 0 or -errno. */
static int run_idmap_tool(const char *tool, pid_t pid,
			  const struct sbx_idmap *m, unsigned n)
{
	char args[SBX_IDMAP_MAX * 3 + 1][16];
	char *argv[SBX_IDMAP_MAX * 3 + 3];
	unsigned na = 0;
	int status;
	pid_t c;

	if (n > SBX_IDMAP_MAX)
		return -EINVAL;
	snprintf(args[na++], sizeof(args[0]), "%d", (int)pid);
	for (unsigned i = 0; i < n; i++) {
		snprintf(args[na++], sizeof(args[0]), "%u", m[i].ns);
		snprintf(args[na++], sizeof(args[0]), "%u", m[i].host);
		snprintf(args[na++], sizeof(args[0]), "%u", m[i].count);
	}
	argv[0] = (char *)tool;
	for (unsigned i = 0; i < na; i++)
		argv[i + 1] = args[i];
	argv[na + 1] = NULL;
	c = fork();
	if (c < 0)
		return -errno;
	if (c == 0) {
		execvp(tool, argv);
		VLOG_ERR("sandbox: cannot run %s: %s (install uidmap)", tool,
			 strerror(errno));
		_exit(127);
	}
	while (waitpid(c, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		VLOG_ERR("sandbox: %s failed (status %d): does /etc/sub%cid "
			 "grant these ids?",
			 tool, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			 tool[3] == 'u' ? 'u' : 'g');
		return -EPERM;
	}
	return 0;
}

/*
 * In the helper, outside: map @pid's new user namespace. One map of our
 * own id is written directly (with setgroups denied, as an unprivileged
 * writer must); anything else goes through the setuid helpers.
 */
static int write_maps(pid_t pid, const struct sbx_userns *u, uid_t uid,
		      gid_t gid)
{
	struct sbx_idmap du = {0, uid, 1}, dg = {0, gid, 1};
	const struct sbx_idmap *um = u->nuid ? u->uid : &du;
	const struct sbx_idmap *gm = u->ngid ? u->gid : &dg;
	unsigned nu = u->nuid ? u->nuid : 1, ng = u->ngid ? u->ngid : 1;
	char path[64], line[64];
	int err;

	if (nu == 1 && um->host == uid && um->count == 1) {
		snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
		snprintf(line, sizeof(line), "%u %u 1\n", um->ns, um->host);
		err = write_file(path, line);
	} else {
		err = run_idmap_tool("newuidmap", pid, um, nu);
	}
	if (err) {
		VLOG_ERR("sandbox: uid map: %s", strerror(-err));
		return err;
	}
	if (ng == 1 && gm->host == gid && gm->count == 1) {
		snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
		err = write_file(path, "deny");
		snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
		snprintf(line, sizeof(line), "%u %u 1\n", gm->ns, gm->host);
		if (!err)
			err = write_file(path, line);
	} else {
		err = run_idmap_tool("newgidmap", pid, gm, ng);
	}
	if (err)
		VLOG_ERR("sandbox: gid map: %s", strerror(-err));
	return err;
}

/*
 * Unprivileged: a new user namespace, mapped by a helper forked first
 * (a process cannot run the setuid newuidmap from inside), then uid and
 * gid 0 in it. 0 or -errno.
 */
static int enter_userns(void)
{
	const struct sbx_userns *u = &sbx_userns_cfg;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	pid_t self = getpid(), helper;
	int go[2], err, status;
	char c = 0;

	if (pipe2(go, O_CLOEXEC) < 0)
		return -errno;
	helper = fork();
	if (helper < 0) {
		err = -errno;
		close(go[0]);
		close(go[1]);
		return err;
	}
	if (helper == 0) {
		close(go[1]);
		/* EOF: the parent failed to unshare; nothing to map */
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		_exit(write_maps(self, u, uid, gid) ? 1 : 0);
	}
	close(go[0]);
	if (unshare(CLONE_NEWUSER) < 0) {
		err = -errno;
		VLOG_ERR("sandbox: unshare(CLONE_NEWUSER): %s (user namespaces "
			 "disabled? run as root, or --sandbox=none)",
			 strerror(errno));
		close(go[1]);
		waitpid(helper, &status, 0);
		return err;
	}
	err = write(go[1], &c, 1) == 1 ? 0 : -EIO;
	close(go[1]);
	while (waitpid(helper, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (err || !WIFEXITED(status) || WEXITSTATUS(status)) {
		VLOG_ERR("sandbox: the user namespace could not be mapped");
		return -EPERM;
	}
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
		err = -errno;
		VLOG_ERR("sandbox: becoming root in the user namespace: %s "
			 "(the maps must map id 0)",
			 strerror(errno));
		return err;
	}
	VLOG_INFO("sandbox: in a user namespace (host uid %u, gid %u as 0)",
		  (unsigned)uid, (unsigned)gid);
	sbx_userns_entered = true;
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

	if (geteuid() != 0) {
		err = enter_userns();
		if (err)
			return err;
	} else if (sbx_userns_cfg.nuid || sbx_userns_cfg.ngid) {
		VLOG_ERR("sandbox: --uid-map/--gid-map are for a daemon started "
			 "without root (as in the Rust virtiofsd)");
		return -EINVAL;
	}
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
