// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The DAX window end to end: the real vdaxd (from $VDAXD) with
 * --cache-size=8M, the fake frontend serving SHMEM_MAP / SHMEM_UNMAP on the
 * backend channel into a PROT_NONE window, and FUSE SETUPMAPPING /
 * REMOVEMAPPING on the request queue. Runs twice: without a sandbox, and
 * with the default sandbox and seccomp=kill (a forbidden syscall on the
 * DAX path would kill the daemon and fail the second run).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "fake_frontend.h"
#include "lib/testd.h"

#define TMO 10000
#define RQ 1 /* first request queue; 0 is hiprio */
#define WIN (8u << 20)
#define R2M (2u << 20)
#define FILE_LEN 8192

static uint64_t unique = 1;
static long page;

struct reply {
	struct fuse_out_header oh;
	uint8_t data[4096];
	uint32_t used;
};

/* One FUSE request; returns the reply's error, or -9999 on transport trouble. */
static int fcall(struct ff *f, uint32_t opcode, uint64_t nodeid, const void *a,
		 size_t alen, const void *b, size_t blen, size_t room,
		 struct reply *r)
{
	uint64_t u = unique++;

	if (ff_fuse(f, RQ, opcode, nodeid, u, a, alen, b, blen, &r->oh,
		    r->data, room, TMO, &r->used) ||
	    r->used < sizeof(r->oh) || r->oh.len != r->used ||
	    r->oh.unique != u)
		return -9999;
	return r->oh.error;
}

static int setupmap(struct ff *f, uint64_t nodeid, uint64_t fh, uint64_t foff,
		    uint64_t len, uint64_t flags, uint64_t moff)
{
	struct fuse_setupmapping_in in = { .fh = fh, .foffset = foff,
					   .len = len, .flags = flags,
					   .moffset = moff };
	struct reply r;

	return fcall(f, FUSE_SETUPMAPPING, nodeid, &in, sizeof(in), NULL, 0, 0,
		     &r);
}

static int removemap(struct ff *f, uint64_t nodeid, uint64_t moff, uint64_t len)
{
	struct fuse_removemapping_in in = { .count = 1 };
	struct fuse_removemapping_one one = { .moffset = moff, .len = len };
	struct reply r;

	return fcall(f, FUSE_REMOVEMAPPING, nodeid, &in, sizeof(in), &one,
		     sizeof(one), 0, &r);
}

static int fopen_fh(struct ff *f, uint64_t nodeid, uint32_t flags, uint64_t *fh)
{
	struct fuse_open_in oi = { .flags = flags };
	struct reply r;
	int rc = fcall(f, FUSE_OPEN, nodeid, &oi, sizeof(oi), NULL, 0,
		       sizeof(struct fuse_open_out), &r);

	if (rc == 0)
		*fh = ((struct fuse_open_out *)r.data)->fh;
	return rc;
}

/* The protection of the page at @addr per /proc/self/maps ("r-xp"...). */
static bool prot_of(const void *addr, char perms[5])
{
	FILE *m = fopen("/proc/self/maps", "r");
	unsigned long lo, hi, a = (unsigned long)addr;
	char line[512];
	bool found = false;

	if (!m)
		return false;
	while (!found && fgets(line, sizeof(line), m)) {
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 &&
		    a >= lo && a < hi)
			found = true;
	}
	fclose(m);
	return found;
}

static bool is_prot_none(const void *addr)
{
	char p[5];

	return prot_of(addr, p) && !strncmp(p, "---", 3);
}

static pid_t spawn(const char *bin, const char *sock, const char *dir,
		   bool sandbox)
{
	char a1[700], a2[700];
	pid_t pid = fork();

	snprintf(a1, sizeof(a1), "--socket-path=%s", sock);
	snprintf(a2, sizeof(a2), "--shared-dir=%s", dir);
	if (pid == 0) {
		if (sandbox) {
			/* LeakSanitizer cannot read /proc after pivot_root. */
			setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
			execl(bin, bin, a1, a2, "--cache-size=8M",
			      "--inode-dax=xflag", "--sandbox=namespace",
			      "--seccomp=kill", (char *)NULL);
		} else {
			execl(bin, bin, a1, a2, "--cache-size=8M",
			      "--inode-dax=size:4K", "--sandbox=none",
			      "--seccomp=none", (char *)NULL);
		}
		_exit(127);
	}
	return pid;
}

static void stop(pid_t pid)
{
	td_end(&pid, SIGTERM, 5000);
}

static void get_shmem_config(struct ff *f, const char *tag)
{
	struct vhost_user_msg m;
	int rc;

	rc = ff_send(f, VHOST_USER_GET_SHMEM_CONFIG, VHOST_USER_VERSION, NULL,
		     0, NULL, 0);
	if (rc == 0)
		rc = ff_recv(f, &m, TMO);
	ok(rc == (int)sizeof(struct vhost_user_shmem_config) &&
	   m.hdr.request == VHOST_USER_GET_SHMEM_CONFIG &&
	   m.payload.shmem_config.nregions >= 1 &&
	   m.payload.shmem_config.memory_sizes[0] == WIN,
	   "%s: GET_SHMEM_CONFIG reports region 0 of 8 MiB", tag);
}

static void dax_flow(struct ff *f, struct ff_window *w, const char *path,
		     const uint8_t *content, bool want_attr_dax, const char *tag)
{
	struct fuse_init_in init = {
		.major = FUSE_KERNEL_VERSION,
		.minor = FUSE_KERNEL_MINOR_VERSION,
		.flags = FUSE_MAP_ALIGNMENT | FUSE_INIT_EXT,
		.flags2 = (uint32_t)(FUSE_HAS_INODE_DAX >> 32),
	};
	uint8_t *win = ff_window_base(w);
	uint64_t id, fro = 0, frw = 0;
	unsigned served, refused;
	struct reply r;
	uint8_t buf[64];
	int fd, rc;

	rc = fcall(f, FUSE_INIT, 0, &init, sizeof(init), NULL, 0,
		   sizeof(struct fuse_init_out), &r);
	ok(rc == 0 && (((struct fuse_init_out *)r.data)->flags &
		       FUSE_MAP_ALIGNMENT) &&
	   (1L << ((struct fuse_init_out *)r.data)->map_alignment) == page,
	   "%s: INIT: FUSE_MAP_ALIGNMENT, map_alignment = log2(page size)",
	   tag);
	rc = fcall(f, FUSE_LOOKUP, FUSE_ROOT_ID, "data.bin", 9, NULL, 0,
		   sizeof(struct fuse_entry_out), &r);
	id = rc == 0 ? ((struct fuse_entry_out *)r.data)->nodeid : 0;
	is_int(rc == 0 && (((struct fuse_entry_out *)r.data)->attr.flags &
			   FUSE_ATTR_DAX),
	       want_attr_dax, "%s: FUSE_ATTR_DAX on data.bin per --inode-dax",
	       tag);
	ok(id && fopen_fh(f, id, O_RDONLY, &fro) == 0 &&
	   fopen_fh(f, id, O_RDWR, &frw) == 0,
	   "%s: LOOKUP and OPEN data.bin read-only and read-write", tag);

	ok(is_prot_none(win) && is_prot_none(win + R2M),
	   "%s: the window starts PROT_NONE", tag);
	is_int(setupmap(f, id, fro, 0, FILE_LEN, FUSE_SETUPMAPPING_FLAG_READ, 0),
	       0, "%s: SETUPMAPPING read-only of the whole file", tag);
	ok(!is_prot_none(win) && !memcmp(win, content, FILE_LEN),
	   "%s: the file's bytes read straight from the window", tag);

	is_int(setupmap(f, id, frw, 4096, 4096,
			FUSE_SETUPMAPPING_FLAG_READ |
				FUSE_SETUPMAPPING_FLAG_WRITE,
			R2M),
	       0, "%s: SETUPMAPPING writable of the second page at 2 MiB", tag);
	if (!is_prot_none(win + R2M)) {
		memcpy(win + R2M + 100, "stored via DAX", 14);
		msync(win + R2M, 4096, MS_SYNC);
	}
	fd = open(path, O_RDONLY);
	ok(fd >= 0 && pread(fd, buf, 14, 4096 + 100) == 14 &&
	   !memcmp(buf, "stored via DAX", 14),
	   "%s: a store in the window is in the host file after msync", tag);
	if (fd >= 0)
		close(fd);

	is_int(removemap(f, id, 0, FILE_LEN), 0, "%s: REMOVEMAPPING", tag);
	ok(is_prot_none(win) && is_prot_none(win + 4096),
	   "%s: the range is PROT_NONE again", tag);
	ok(!is_prot_none(win + R2M), "%s: the other mapping stays", tag);

	served = ff_window_served(w, &refused);
	is_int(setupmap(f, id, fro, 0, 4096,
			FUSE_SETUPMAPPING_FLAG_READ |
				FUSE_SETUPMAPPING_FLAG_WRITE,
			0),
	       -EPERM, "%s: writable mapping of a read-only handle -> EPERM",
	       tag);
	is_int(setupmap(f, id, fro, 0, 4096, FUSE_SETUPMAPPING_FLAG_READ, 100),
	       -EINVAL, "%s: misaligned moffset -> EINVAL", tag);
	is_int(setupmap(f, id, fro, 0, 4096, FUSE_SETUPMAPPING_FLAG_READ, WIN),
	       -EINVAL, "%s: moffset outside the window -> EINVAL", tag);
	is_int(setupmap(f, id, fro, 0, 8192, FUSE_SETUPMAPPING_FLAG_READ,
			R2M - 4096),
	       -EINVAL, "%s: partial overlap with a live mapping -> EINVAL", tag);
	is_int(setupmap(f, FUSE_ROOT_ID, fro, 0, 4096,
			FUSE_SETUPMAPPING_FLAG_READ, 0),
	       -EBADF, "%s: fh of another nodeid -> EBADF", tag);
	is_int(ff_window_served(w, NULL), served,
	       "%s: no refused SETUPMAPPING reached the frontend", tag);
	ok(is_prot_none(win) && is_prot_none(win + R2M - 4096),
	   "%s: nothing mapped by them", tag);
	is_int(removemap(f, id, 0, FILE_LEN), -EINVAL,
	       "%s: REMOVEMAPPING of nothing live -> EINVAL", tag);
	is_int(removemap(f, id, R2M, 4096), 0,
	       "%s: REMOVEMAPPING of the writable mapping", tag);
	ok(is_prot_none(win + R2M), "%s: the window is empty again", tag);
	ff_window_served(w, &refused);
	is_int(refused, 0, "%s: the frontend refused nothing it was sent", tag);
}

static bool set_xflag_dax(const char *path)
{
	struct fsxattr fsx;
	bool ret = false;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return false;
	if (ioctl(fd, FS_IOC_FSGETXATTR, &fsx) == 0) {
		fsx.fsx_xflags |= FS_XFLAG_DAX;
		ret = ioctl(fd, FS_IOC_FSSETXATTR, &fsx) == 0 &&
		      ioctl(fd, FS_IOC_FSGETXATTR, &fsx) == 0 &&
		      (fsx.fsx_xflags & FS_XFLAG_DAX);
	}
	close(fd);
	return ret;
}

static void run(const char *bin, const char *tmp, bool sandbox)
{
	const char *tag = sandbox ? "sandbox+seccomp" : "no sandbox";
	struct ff_opts o = { .nreq = 1, .backend_channel = true };
	char dir[300], sock[300], path[400];
	uint8_t content[FILE_LEN];
	struct ff_window *w = NULL;
	struct ff *f = NULL;
	bool xflag;
	pid_t pid;
	int fd, rc;

	snprintf(dir, sizeof(dir), "%s/%s", tmp, sandbox ? "sbx" : "plain");
	snprintf(sock, sizeof(sock), "%s/%s.sock", tmp, sandbox ? "sbx" : "plain");
	snprintf(path, sizeof(path), "%s/data.bin", dir);
	if (mkdir(dir, 0755))
		tap_bail("mkdir");
	for (int i = 0; i < FILE_LEN; i++)
		content[i] = (uint8_t)(i * 7 + (sandbox ? 3 : 1));
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	if (fd < 0 || write(fd, content, FILE_LEN) != FILE_LEN)
		tap_bail("data.bin");
	close(fd);
	/*
	 * The sandboxed run uses --inode-dax=xflag: the daemon's
	 * FS_IOC_FSGETXATTR must pass seccomp whether or not this filesystem
	 * keeps FS_XFLAG_DAX (and FUSE_ATTR_DAX must follow what it keeps).
	 */
	xflag = sandbox && set_xflag_dax(path);
	if (sandbox)
		diag("FS_XFLAG_DAX %s on data.bin", xflag ? "set" : "not settable");

	pid = spawn(bin, sock, dir, sandbox);
	rc = ff_connect(sock, TMO, &f);
	if (rc && sandbox) {
		int status;

		/* Only where namespaces cannot be made: say so, don't fail. */
		if (waitpid(pid, &status, WNOHANG) == pid) {
			printf("ok %d # SKIP the default sandbox cannot start "
			       "here (daemon exited %d)\n",
			       ++tap_n, WEXITSTATUS(status));
			return;
		}
	}
	if (!is_int(rc, 0, "%s: connected to vdaxd", tag)) {
		stop(pid);
		return;
	}
	rc = ff_setup(f, &o);
	is_int(rc, 0, "%s: vhost-user setup with a backend channel", tag);
	ok(ff_protocol(f) & (1ull << VHOST_USER_PROTOCOL_F_SHMEM),
	   "%s: protocol feature SHMEM (bit 21) negotiated", tag);
	if (rc == 0) {
		get_shmem_config(f, tag);
		rc = ff_window_start(f, WIN, &w);
		is_int(rc, 0, "%s: window reserved, backend channel served", tag);
	}
	if (rc == 0)
		dax_flow(f, w, path, content, sandbox ? xflag : true, tag);
	ff_window_stop(w);
	ff_free(f);
	ok(kill(pid, 0) == 0 && waitpid(pid, NULL, WNOHANG) == 0,
	   "%s: the daemon is still alive", tag);
	stop(pid);
}

int main(void)
{
	const char *bin = getenv("VDAXD");
	char tmp[] = "/tmp/vdax-dax-XXXXXX";

	if (!bin || access(bin, X_OK))
		tap_skip_all("vdaxd not built ($VDAXD unset)");
	page = sysconf(_SC_PAGESIZE);
	if (page != 4096)
		diag("page size %ld", page);
	if (!mkdtemp(tmp))
		tap_bail("mkdtemp");
	chmod(tmp, 0755);
	run(bin, tmp, false);
	run(bin, tmp, true);
	if (!td_rmrf(tmp))
		diag("cleanup of %s failed", tmp);
	return tap_done();
}
