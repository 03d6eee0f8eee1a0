// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz-fuse: the FUSE request edge, the operations and the passthrough
 * filesystem (fuse_srv_handle()) over a real temporary directory.
 *
 * Input: an 8-byte control block, then FUSE requests back to back, each as
 * long as its fuse_in_header.len says (at least a header, at most what is
 * left; a tail shorter than a header is sent as it is). The harness sends
 * an INIT (every flag) first.
 *
 *   control[0..2]  lengths of the first device-readable pieces of each
 *                  request (0 = no piece); the rest is the last piece
 *   control[3..5]  the same for the reply buffer (0xff = an empty piece)
 *   control[6..7]  reply buffer size, little endian (0 = 128 KiB)
 *
 * Every piece is its own heap block of exactly its size, so ASan sees any
 * access past one.
 *
 * Ids: the filesystem's nodeids and fhs carry generations, so the input
 * cannot know them. Any 8-byte-aligned u64 in a request equal to
 * 0xffff_ffff_ffff_feNN becomes the nodeid of the NN-th entry (LOOKUP,
 * MKNOD, MKDIR, SYMLINK, LINK, CREATE, TMPFILE) replied so far in this
 * input, 0xffff_ffff_ffff_fdNN the NN-th fh (OPEN, OPENDIR, CREATE,
 * TMPFILE). Root is 1.
 *
 * The shared directory lives in a parent directory that also holds a
 * canary file; after each input the canary and the parent's listing must
 * be unchanged (nothing escaped the shared directory). The shared tree is
 * rebuilt and the server reset (fuse_srv_reset) after every input, and the
 * fd count checked every 16 inputs. When it can, the harness works in a
 * private mount namespace on a small tmpfs; it drops CAP_MKNOD and caps
 * file sizes (RLIMIT_FSIZE) either way, because it runs as root.
 *
 * Replies are checked: length as returned, out header consistent, unique
 * echoed, error in range; DAX hooks (stubs) check what they are given.
 */
#include <cap-ng.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/fuse.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "fuse/server.h"
#include "fuzz_util.h"

#define MAX_REQS 64
#define MAX_IDS 256
#define DAX_WINDOW (16u << 20)
#define LOCK_TIMEOUT_NS 50000000L /* a SETLKW that would wait forever */
#define CANARY_TEXT "canary: the shared directory must never reach me\n"

static char parent[64];	  /* holds "canary" and "shared" */
static char shared[96];
static char canary[96];
static bool own_mount;	  /* parent is a tmpfs in our mount namespace */
static struct stat canary_st, shared_st;
static struct fuse_srv *srv;
static int root_fd = -1, proc_fd = -1;
static timer_t lock_timer;

struct ids {
	uint64_t node[MAX_IDS], fh[MAX_IDS];
	unsigned nnode, nfh;
};

/* ---- DAX stubs: the server must have checked the range and the fd ---- */

static int dax_map(void *ctx, int fd, uint64_t fd_offset, uint64_t moffset,
		   uint64_t len, bool writable)
{
	uint64_t end;

	if (fcntl(fd, F_GETFD) < 0)
		fz_die("DAX map: fd %d is not open", fd);
	if (!len || __builtin_add_overflow(moffset, len, &end) || end > DAX_WINDOW)
		fz_die("DAX map: [0x%llx, +0x%llx) not in the window",
		       (unsigned long long)moffset, (unsigned long long)len);
	/* Let the frontend refuse some, so the error path runs too. */
	return (fd_offset >> 12) & 1 ? -ENOMEM : 0;
}

static int dax_unmap(void *ctx, uint64_t moffset, uint64_t len)
{
	uint64_t end;

	if (!len || __builtin_add_overflow(moffset, len, &end) || end > DAX_WINDOW)
		fz_die("DAX unmap: [0x%llx, +0x%llx) not in the window",
		       (unsigned long long)moffset, (unsigned long long)len);
	return 0;
}

/* ---- the directories ---- */

static void must(bool ok, const char *what)
{
	if (!ok)
		fz_die("%s: %s", what, strerror(errno));
}

static void put_file(const char *rel, const char *text, size_t len, mode_t mode)
{
	char p[160];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", shared, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	must(fd >= 0, p);
	must(write(fd, text, len) == (ssize_t)len, "write");
	close(fd);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	if (f->level == 0)
		return 0; /* the shared directory itself stays: it is the root */
	if (remove(p) < 0)
		fz_die("cannot remove %s: %s", p, strerror(errno));
	return 0;
}

/* Put the shared tree back as it was before the first input. */
static void reset_tree(void)
{
	static char big[5000];
	char names[1024], p[160];
	ssize_t n;

	must(nftw(shared, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0, "nftw");
	must(chmod(shared, 0755) == 0 && chown(shared, 0, 0) == 0, "chmod root");
	n = llistxattr(shared, names, sizeof(names));
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1)
		(void)lremovexattr(shared, names + i);

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	put_file("file", big, sizeof(big), 0644);
	put_file("empty", "", 0, 0600);
	snprintf(p, sizeof(p), "%s/dir", shared);
	must(mkdir(p, 0755) == 0, "mkdir");
	snprintf(p, sizeof(p), "%s/dir/inner", shared);
	must(mkdir(p, 0700) == 0, "mkdir");
	put_file("dir/sub", "sub\n", 4, 0644);
	snprintf(p, sizeof(p), "%s/link", shared);
	must(symlink("file", p) == 0, "symlink");
	snprintf(p, sizeof(p), "%s/abs", shared);
	must(symlink(canary, p) == 0, "symlink");
	snprintf(p, sizeof(p), "%s/up", shared);
	must(symlink("../canary", p) == 0, "symlink");
	snprintf(p, sizeof(p), "%s/dotdot", shared);
	must(symlink("..", p) == 0, "symlink");
	snprintf(p, sizeof(p), "%s/hard", shared);
	{
		char f[160];

		snprintf(f, sizeof(f), "%s/file", shared);
		must(link(f, p) == 0, "link");
		(void)lsetxattr(f, "user.fuzz", "value", 5, 0);
	}
}

static void check_canary(void)
{
	char buf[sizeof(CANARY_TEXT) + 16];
	struct stat st;
	struct dirent *e;
	DIR *d;
	int fd;
	ssize_t n;

	if (lstat(canary, &st) < 0)
		fz_die("the canary is gone: %s", strerror(errno));
	if (st.st_ino != canary_st.st_ino || st.st_size != canary_st.st_size ||
	    st.st_mode != canary_st.st_mode || st.st_uid != canary_st.st_uid ||
	    st.st_gid != canary_st.st_gid || st.st_nlink != canary_st.st_nlink ||
	    st.st_mtim.tv_sec != canary_st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != canary_st.st_mtim.tv_nsec ||
	    st.st_ctim.tv_sec != canary_st.st_ctim.tv_sec ||
	    st.st_ctim.tv_nsec != canary_st.st_ctim.tv_nsec)
		fz_die("the canary outside the shared directory changed");
	fd = open(canary, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	must(fd >= 0, "open canary");
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n != (ssize_t)strlen(CANARY_TEXT) || memcmp(buf, CANARY_TEXT, (size_t)n))
		fz_die("the canary's content changed");
	if (lstat(shared, &st) < 0 || st.st_ino != shared_st.st_ino)
		fz_die("the shared directory was replaced");
	d = opendir(parent);
	must(d != NULL, "opendir parent");
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strcmp(e->d_name, "canary") && strcmp(e->d_name, "shared"))
			fz_die("'%s' appeared next to the shared directory", e->d_name);
	}
	closedir(d);
}

static void cleanup(void)
{
	char cmd[128];

	if (own_mount) {
		(void)umount2(parent, MNT_DETACH);
		(void)rmdir(parent);
		return;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", parent);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz-fuse: could not remove %s\n", parent);
}

static void on_lock_timer(int sig)
{
	(void)sig; /* only there to interrupt a blocking lock wait */
}

static void setup_lock_timer(void)
{
	struct sigaction sa = { .sa_handler = on_lock_timer }; /* no SA_RESTART */
	struct sigevent sev = { 0 };

	must(sigaction(SIGRTMIN + 3, &sa, NULL) == 0, "sigaction");
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGRTMIN + 3;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	must(timer_create(CLOCK_MONOTONIC, &sev, &lock_timer) == 0, "timer_create");
}

static void arm_lock_timer(long ns)
{
	struct itimerspec it = { .it_value = { 0, ns } };

	(void)timer_settime(lock_timer, 0, &it, NULL);
}

static void setup_dirs(void)
{
	struct rlimit fsz = { 64 << 20, 64 << 20 };
	int fd;

	snprintf(parent, sizeof(parent), "/tmp/vdax-fuzz-XXXXXX");
	must(mkdtemp(parent) != NULL, "mkdtemp");
	/* Best effort: a private tmpfs bounds what a runaway input can touch. */
	if (unshare(CLONE_NEWNS) == 0 &&
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
	    mount("vdax-fuzz", parent, "tmpfs", MS_NOSUID, "size=64m,mode=0700") == 0)
		own_mount = true;
	atexit(cleanup);
	chmod(parent, 0700);
	snprintf(shared, sizeof(shared), "%s/shared", parent);
	snprintf(canary, sizeof(canary), "%s/canary", parent);
	must(mkdir(shared, 0755) == 0, "mkdir shared");
	fd = open(canary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	must(fd >= 0, "canary");
	must(write(fd, CANARY_TEXT, strlen(CANARY_TEXT)) ==
		     (ssize_t)strlen(CANARY_TEXT), "write canary");
	close(fd);
	must(lstat(canary, &canary_st) == 0 && lstat(shared, &shared_st) == 0, "stat");

	/* As root: no device nodes, no huge files. */
	capng_get_caps_process();
	capng_update(CAPNG_DROP, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
		     CAP_MKNOD);
	if (capng_apply(CAPNG_SELECT_BOTH) < 0 && geteuid() == 0)
		fz_die("cannot drop CAP_MKNOD");
	signal(SIGXFSZ, SIG_IGN);
	must(setrlimit(RLIMIT_FSIZE, &fsz) == 0, "setrlimit");
	reset_tree();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct fuse_srv_opts o = {
		.cache = FUSE_SRV_CACHE_AUTO,
		.xattr = true,
		.announce_submounts = true,
		.writeback = true,
		.readdirplus = true,
		.posix_lock = true,
		.flock = true,
		.max_inodes = 64, /* small, so that "table full" is reachable */
		.dax = { .map = dax_map, .unmap = dax_unmap,
			 .window_size = DAX_WINDOW },
	};

	fz_log_setup();
	setup_dirs();
	setup_lock_timer();
	root_fd = open(shared, O_PATH | O_DIRECTORY | O_CLOEXEC);
	proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	must(root_fd >= 0 && proc_fd >= 0, "open root");
	o.root_fd = root_fd;
	o.proc_self_fd = proc_fd;
	if (fuse_srv_new(&o, &srv) < 0)
		fz_die("fuse_srv_new");
	fprintf(stderr, "fuzz-fuse: shared directory %s (%s)\n", shared,
		own_mount ? "private tmpfs" : "no private mount");
	return 0;
}

/* ---- one request ---- */

struct ctl {
	uint8_t in_split[3];
	uint8_t out_split[3];
	size_t out_size;
};

static void free_iov(struct iovec *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(v[i].iov_base);
}

static unsigned split(struct iovec *v, const uint8_t *pieces, size_t total,
		      bool allow_empty)
{
	unsigned n = 0;

	for (unsigned i = 0; i < 3; i++) {
		size_t len = pieces[i];

		if (len == 0 || (len > total && !(allow_empty && len == 0xff)))
			continue;
		if (allow_empty && len == 0xff)
			len = 0;
		v[n].iov_len = len;
		v[n].iov_base = malloc(len ? len : 1);
		if (!v[n].iov_base)
			fz_die("malloc");
		total -= len;
		n++;
	}
	v[n].iov_len = total;
	v[n].iov_base = malloc(total ? total : 1);
	if (!v[n].iov_base)
		fz_die("malloc");
	return n + 1;
}

static void gather(const struct iovec *v, unsigned n, uint8_t *dst, size_t len)
{
	for (unsigned i = 0; i < n && len; i++) {
		size_t k = v[i].iov_len < len ? v[i].iov_len : len;

		memcpy(dst, v[i].iov_base, k);
		dst += k;
		len -= k;
	}
}

static void scatter(struct iovec *v, unsigned n, const uint8_t *src)
{
	for (unsigned i = 0; i < n; i++) {
		memcpy(v[i].iov_base, src, v[i].iov_len);
		src += v[i].iov_len;
	}
}

/* Replace the id placeholders (see the top of the file). */
static void patch_ids(uint8_t *req, size_t len, const struct ids *ids)
{
	for (size_t off = 0; off + 8 <= len; off += 8) {
		uint64_t v, idx;

		memcpy(&v, req + off, 8);
		idx = v & 0xff;
		if (v >> 8 == 0xfffffffffffffeull && idx < ids->nnode)
			v = ids->node[idx];
		else if (v >> 8 == 0xfffffffffffffdull && idx < ids->nfh)
			v = ids->fh[idx];
		else
			continue;
		memcpy(req + off, &v, 8);
	}
}

static void record_ids(uint32_t opcode, const uint8_t *pl, size_t len,
		       struct ids *ids)
{
	struct fuse_entry_out eo;
	struct fuse_open_out oo;
	size_t pos = 0;

	switch (opcode) {
	case FUSE_LOOKUP:
	case FUSE_MKNOD:
	case FUSE_MKDIR:
	case FUSE_SYMLINK:
	case FUSE_LINK:
	case FUSE_CREATE:
	case FUSE_TMPFILE:
		if (len < sizeof(eo))
			return;
		memcpy(&eo, pl, sizeof(eo));
		if (ids->nnode < MAX_IDS)
			ids->node[ids->nnode++] = eo.nodeid;
		if (opcode != FUSE_CREATE && opcode != FUSE_TMPFILE)
			return;
		pos = sizeof(eo);
		/* fall through */
	case FUSE_OPEN:
	case FUSE_OPENDIR:
		if (len < pos + sizeof(oo))
			return;
		memcpy(&oo, pl + pos, sizeof(oo));
		if (ids->nfh < MAX_IDS)
			ids->fh[ids->nfh++] = oo.fh;
		return;
	}
}

static void one_request(const uint8_t *src, size_t len, const struct ctl *c,
			struct ids *ids)
{
	struct iovec in[4], out[4];
	struct fuse_in_header ih = { 0 };
	struct fuse_out_header oh;
	uint8_t *req = malloc(len ? len : 1), head[512];
	unsigned nin, nout;
	size_t ret, total = c->out_size;

	if (!req)
		fz_die("malloc");
	memcpy(req, src, len);
	patch_ids(req, len, ids);
	if (len >= sizeof(ih))
		memcpy(&ih, req, sizeof(ih));
	nin = split(in, c->in_split, len, false);
	scatter(in, nin, req);
	nout = split(out, c->out_split, total, true);

	if (ih.opcode == FUSE_SETLKW)
		arm_lock_timer(LOCK_TIMEOUT_NS);
	ret = fuse_srv_handle(srv, in, nin, out, nout);
	if (ih.opcode == FUSE_SETLKW)
		arm_lock_timer(0);

	if (ret > total)
		fz_die("opcode %u: reply of %zu bytes in a buffer of %zu",
		       ih.opcode, ret, total);
	if (ret) {
		size_t n = ret < sizeof(head) ? ret : sizeof(head);

		if (ret < sizeof(oh))
			fz_die("opcode %u: reply of %zu bytes, less than a header",
			       ih.opcode, ret);
		gather(out, nout, head, n);
		memcpy(&oh, head, sizeof(oh));
		if (oh.len != ret)
			fz_die("opcode %u: out header says %u bytes, returned %zu",
			       ih.opcode, oh.len, ret);
		if (oh.error > 0 || oh.error < -4095)
			fz_die("opcode %u: error %d", ih.opcode, oh.error);
		if (oh.error && ret != sizeof(oh))
			fz_die("opcode %u: error %d with a payload", ih.opcode, oh.error);
		if (len >= sizeof(ih) && oh.unique != ih.unique)
			fz_die("opcode %u: unique %llu answered as %llu", ih.opcode,
			       (unsigned long long)ih.unique,
			       (unsigned long long)oh.unique);
		if (!oh.error)
			record_ids(ih.opcode, head + sizeof(oh), n - sizeof(oh), ids);
	}
	free_iov(in, nin);
	free_iov(out, nout);
	free(req);
}

static void send_init(const struct ctl *c, struct ids *ids)
{
	struct {
		struct fuse_in_header ih;
		struct fuse_init_in ii;
	} m = {
		.ih = { .len = sizeof(m), .opcode = FUSE_INIT, .unique = 1 },
		.ii = { .major = FUSE_KERNEL_VERSION,
			.minor = FUSE_KERNEL_MINOR_VERSION,
			.max_readahead = 1 << 17,
			.flags = 0xffffffffu,
			.flags2 = 0xffffffffu },
	};
	struct ctl plain = { .out_size = c->out_size };

	one_request((const uint8_t *)&m, sizeof(m), &plain, ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct ids ids = { .nnode = 0 };
	struct ctl c;
	int fds_before = fz_fd_begin(16);
	static bool xfsz_ignored;
	uint16_t out_size;

	/* libFuzzer installs its own SIGXFSZ handler after our init. */
	if (!xfsz_ignored) {
		signal(SIGXFSZ, SIG_IGN);
		xfsz_ignored = true;
	}

	for (unsigned i = 0; i < 3; i++)
		c.in_split[i] = fz_u8(&in);
	for (unsigned i = 0; i < 3; i++)
		c.out_split[i] = fz_u8(&in);
	out_size = fz_u16(&in);
	c.out_size = out_size ? out_size : 1u << 17;

	send_init(&c, &ids);
	for (unsigned n = 0; in.left && n < MAX_REQS; n++) {
		size_t len = in.left;

		if (in.left >= sizeof(struct fuse_in_header)) {
			uint32_t hlen;

			memcpy(&hlen, in.p, 4);
			len = hlen < sizeof(struct fuse_in_header) ?
				      sizeof(struct fuse_in_header) : hlen;
			if (len > in.left)
				len = in.left;
		}
		one_request(in.p, len, &c, &ids);
		in.p += len;
		in.left -= len;
	}

	fuse_srv_reset(srv);
	check_canary();
	reset_tree();
	fz_fd_end("fuzz-fuse", fds_before);
	return 0;
}
