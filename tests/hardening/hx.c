// SPDX-License-Identifier: GPL-2.0-or-later
/* Helpers for the hardening tests: see hx.h. */
#include "hx.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "lib/testd.h"

const char *hx_secret;
unsigned hx_leaks;

long long hx_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static bool log_has(const char *path, const char *what)
{
	char buf[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, what) != NULL;
}

static pid_t first_child(pid_t pid)
{
	char path[64], buf[64] = { 0 };
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
		 (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? (pid_t)atoi(buf) : -1;
}

int hx_start(struct hx_daemon *d, const char *tmp, const char *shared,
	     bool sandbox, const char *const *extra)
{
	const char *bin = getenv("VDAXD");
	char a_sock[300], a_dir[300];
	const char *argv[32];
	unsigned n = 0;
	long long end;

	if (!bin || access(bin, X_OK))
		return -ENOENT;
	memset(d, 0, sizeof(*d));
	d->sandbox = sandbox;
	snprintf(d->sock, sizeof(d->sock), "%s/vhost.sock", tmp);
	snprintf(d->log, sizeof(d->log), "%s/vdaxd.log", tmp);
	snprintf(a_sock, sizeof(a_sock), "--socket-path=%s", d->sock);
	snprintf(a_dir, sizeof(a_dir), "--shared-dir=%s", shared);
	argv[n++] = bin;
	argv[n++] = a_sock;
	argv[n++] = a_dir;
	argv[n++] = "--log-level=info";
	if (!sandbox) {
		argv[n++] = "--sandbox=none";
		argv[n++] = "--seccomp=none";
	}
	for (unsigned i = 0; extra && extra[i] && n < 31; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	unlink(d->log);
	d->pid = fork();
	if (d->pid < 0)
		return -errno;
	if (d->pid == 0) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			      0644);

		if (fd >= 0)
			dup2(fd, 2);
		/* LeakSanitizer cannot read /proc/self/task after pivot_root. */
		if (sandbox)
			setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	end = hx_now_ms() + 10000;
	while (!log_has(d->log, "ready, waiting")) {
		if (hx_now_ms() > end || waitpid(d->pid, NULL, WNOHANG) != 0) {
			hx_dump_log(d);
			hx_kill(d);
			return -ETIMEDOUT;
		}
		usleep(10000);
	}
	d->server = d->pid;
	if (sandbox) {
		d->server = first_child(d->pid);
		if (d->server <= 0) {
			hx_kill(d);
			return -ESRCH;
		}
	}
	return 0;
}

void hx_kill(struct hx_daemon *d)
{
	if (d->pid <= 0)
		return;
	kill(d->pid, SIGKILL);
	if (d->sandbox && d->server > 0)
		kill(d->server, SIGKILL);
	waitpid(d->pid, NULL, 0);
	d->pid = 0;
}

bool hx_alive(struct hx_daemon *d)
{
	if (d->pid <= 0 || waitpid(d->pid, NULL, WNOHANG) != 0)
		return false;
	return kill(d->server, 0) == 0;
}

void hx_dump_log(const struct hx_daemon *d)
{
	char line[512];
	FILE *f = fopen(d->log, "r");
	int n = 0;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && n++ < 40)
		diag("vdaxd: %.*s", (int)strcspn(line, "\n"), line);
	fclose(f);
}

int hx_fd_count(pid_t pid)
{
	char path[64];
	struct dirent *de;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

long hx_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int hx_wait_fds(pid_t pid, int want, int ms)
{
	long long end = hx_now_ms() + ms;
	int n;

	for (;;) {
		n = hx_fd_count(pid);
		if (n == want || hx_now_ms() > end)
			return n;
		usleep(10000);
	}
}

int hx_open_conn(struct hx_daemon *d, struct hx_conn *c, unsigned nreq)
{
	struct ff_opts o = { .nreq = nreq };
	struct fuse_init_in init = { .major = FUSE_KERNEL_VERSION,
				     .minor = FUSE_KERNEL_MINOR_VERSION,
				     .max_readahead = 1 << 17 };
	struct hx_reply *r;
	int rc;

	memset(c, 0, sizeof(*c));
	c->unique = 1;
	c->timeout_ms = 5000;
	rc = ff_connect(d->sock, 5000, &c->f);
	if (rc)
		return rc;
	rc = ff_setup(c->f, &o);
	if (rc) {
		hx_close_conn(c);
		return rc;
	}
	r = malloc(sizeof(*r));
	if (!r) {
		hx_close_conn(c);
		return -ENOMEM;
	}
	rc = hx_call(c, FUSE_INIT, 0, &init, sizeof(init), NULL, 0,
		     sizeof(struct fuse_init_out), r);
	free(r);
	if (rc) {
		hx_close_conn(c);
		return rc == HX_NOREPLY ? -EPROTO : rc;
	}
	return 0;
}

void hx_close_conn(struct hx_conn *c)
{
	if (c->f)
		ff_free(c->f);
	c->f = NULL;
}

static void fill_hdr(struct hx_conn *c, struct fuse_in_header *ih,
		     uint32_t opcode, uint64_t nodeid, size_t alen, size_t blen)
{
	*ih = (struct fuse_in_header){
		.len = (uint32_t)(sizeof(*ih) + alen + blen),
		.opcode = opcode,
		.unique = c->unique++,
		.nodeid = nodeid,
		.uid = c->uid,
		.gid = c->gid,
		.pid = (uint32_t)getpid(),
	};
}

int hx_call(struct hx_conn *c, uint32_t opcode, uint64_t nodeid, const void *a,
	    size_t alen, const void *b, size_t blen, size_t room,
	    struct hx_reply *r)
{
	struct fuse_in_header ih;
	struct iovec out[3] = { { &ih, sizeof(ih) } };
	struct iovec in[2] = { { &r->oh, sizeof(r->oh) }, { r->data, room } };
	unsigned nout = 1;
	int rc;

	if (room > sizeof(r->data))
		return HX_NOREPLY;
	fill_hdr(c, &ih, opcode, nodeid, alen, blen);
	if (alen)
		out[nout++] = (struct iovec){ (void *)a, alen };
	if (blen)
		out[nout++] = (struct iovec){ (void *)b, blen };
	memset(&r->oh, 0, sizeof(r->oh));
	r->used = 0;
	rc = ff_request(c->f, HX_RQ, out, nout, in, room ? 2 : 1,
			c->timeout_ms, &r->used);
	if (rc)
		return HX_NOREPLY;
	if (hx_secret && r->used > sizeof(r->oh) &&
	    memmem(r->data, r->used - sizeof(r->oh), hx_secret,
		   strlen(hx_secret)))
		hx_leaks++;
	if (r->used == 0 && (opcode == FUSE_FORGET ||
			     opcode == FUSE_BATCH_FORGET ||
			     opcode == FUSE_INTERRUPT))
		return 0;
	if (r->used < sizeof(r->oh) || r->oh.len != r->used ||
	    r->oh.unique != ih.unique || r->oh.error > 0 ||
	    r->oh.error < -4095)
		return HX_NOREPLY;
	return r->oh.error;
}

int hx_post(struct hx_conn *c, uint32_t opcode, uint64_t nodeid, const void *a,
	    size_t alen, const void *b, size_t blen, size_t room,
	    struct ff_slot *s)
{
	struct fuse_in_header ih;
	size_t off = 0;
	uint16_t d;
	int rc;

	rc = ff_slot_get(c->f, HX_RQ, s);
	if (rc)
		return rc;
	if (sizeof(ih) + alen + blen + sizeof(struct fuse_out_header) + room >
	    s->data_len)
		return -E2BIG;
	fill_hdr(c, &ih, opcode, nodeid, alen, blen);
	memcpy(s->data, &ih, sizeof(ih));
	off = sizeof(ih);
	if (alen)
		memcpy(s->data + off, a, alen);
	off += alen;
	if (blen)
		memcpy(s->data + off, b, blen);
	off += blen;
	d = s->desc_base;
	ff_set_desc(c->f, HX_RQ, d, s->data_gpa, (uint32_t)off, VRING_DESC_F_NEXT,
		    (uint16_t)(d + 1));
	ff_set_desc(c->f, HX_RQ, (uint16_t)(d + 1), s->data_gpa + off,
		    (uint32_t)(sizeof(struct fuse_out_header) + room),
		    VRING_DESC_F_WRITE, 0);
	ff_publish(c->f, HX_RQ, d);
	return 0;
}

/* ---- wrappers ---- */

int hx_lookup(struct hx_conn *c, uint64_t parent, const char *name,
	      struct fuse_entry_out *e)
{
	struct hx_reply r;
	int rc = hx_call(c, FUSE_LOOKUP, parent, name, strlen(name) + 1, NULL,
			 0, sizeof(*e), &r);

	if (rc == 0 && r.used != sizeof(r.oh) + sizeof(*e))
		rc = HX_NOREPLY;
	if (rc == 0 && e)
		memcpy(e, r.data, sizeof(*e));
	return rc;
}

int hx_getattr(struct hx_conn *c, uint64_t nodeid, struct fuse_attr *a)
{
	struct fuse_getattr_in in = { 0 };
	struct hx_reply r;
	int rc = hx_call(c, FUSE_GETATTR, nodeid, &in, sizeof(in), NULL, 0,
			 sizeof(struct fuse_attr_out), &r);

	if (rc == 0 && a)
		*a = ((struct fuse_attr_out *)r.data)->attr;
	return rc;
}

int hx_open(struct hx_conn *c, uint64_t nodeid, uint32_t flags, uint64_t *fh)
{
	struct fuse_open_in in = { .flags = flags };
	struct hx_reply r;
	int rc = hx_call(c, FUSE_OPEN, nodeid, &in, sizeof(in), NULL, 0,
			 sizeof(struct fuse_open_out), &r);

	if (rc == 0 && fh)
		*fh = ((struct fuse_open_out *)r.data)->fh;
	return rc;
}

int hx_create(struct hx_conn *c, uint64_t parent, const char *name,
	      uint32_t flags, uint32_t mode, uint64_t *nodeid, uint64_t *fh)
{
	struct fuse_create_in in = { .flags = flags, .mode = mode };
	struct hx_reply r;
	int rc = hx_call(c, FUSE_CREATE, parent, &in, sizeof(in), name,
			 strlen(name) + 1,
			 sizeof(struct fuse_entry_out) +
				 sizeof(struct fuse_open_out),
			 &r);

	if (rc == 0) {
		if (nodeid)
			*nodeid = ((struct fuse_entry_out *)r.data)->nodeid;
		if (fh)
			*fh = ((struct fuse_open_out *)(r.data +
				sizeof(struct fuse_entry_out)))->fh;
	}
	return rc;
}

int hx_read(struct hx_conn *c, uint64_t nodeid, uint64_t fh, uint64_t off,
	    uint32_t size, void *buf, size_t room, size_t *n)
{
	struct fuse_read_in in = { .fh = fh, .offset = off, .size = size };
	struct hx_reply *r = malloc(sizeof(*r));
	int rc;

	*n = 0;
	if (!r)
		return HX_NOREPLY;
	rc = hx_call(c, FUSE_READ, nodeid, &in, sizeof(in), NULL, 0, room, r);
	if (rc == 0) {
		*n = r->used - sizeof(r->oh);
		if (buf)
			memcpy(buf, r->data, *n);
	}
	free(r);
	return rc;
}

int hx_write(struct hx_conn *c, uint64_t nodeid, uint64_t fh, uint64_t off,
	     const void *buf, uint32_t size)
{
	struct fuse_write_in in = { .fh = fh, .offset = off, .size = size };
	struct hx_reply r;
	int rc = hx_call(c, FUSE_WRITE, nodeid, &in, sizeof(in), buf, size,
			 sizeof(struct fuse_write_out), &r);

	if (rc == 0 && ((struct fuse_write_out *)r.data)->size != size)
		rc = -EIO;
	return rc;
}

int hx_fsync(struct hx_conn *c, uint64_t nodeid, uint64_t fh)
{
	struct fuse_fsync_in in = { .fh = fh };
	struct hx_reply r;

	return hx_call(c, FUSE_FSYNC, nodeid, &in, sizeof(in), NULL, 0, 0, &r);
}

int hx_release(struct hx_conn *c, uint64_t nodeid, uint64_t fh)
{
	struct fuse_release_in in = { .fh = fh };
	struct hx_reply r;

	return hx_call(c, FUSE_RELEASE, nodeid, &in, sizeof(in), NULL, 0, 0, &r);
}

int hx_forget(struct hx_conn *c, uint64_t nodeid, uint64_t n)
{
	struct fuse_forget_in in = { .nlookup = n };
	struct hx_reply r;

	return hx_call(c, FUSE_FORGET, nodeid, &in, sizeof(in), NULL, 0, 0, &r);
}

static int entry_call(struct hx_conn *c, uint32_t op, uint64_t parent,
		      const void *a, size_t alen, const void *b, size_t blen,
		      uint64_t *nodeid)
{
	struct hx_reply r;
	int rc = hx_call(c, op, parent, a, alen, b, blen,
			 sizeof(struct fuse_entry_out), &r);

	if (rc == 0 && nodeid)
		*nodeid = ((struct fuse_entry_out *)r.data)->nodeid;
	return rc;
}

int hx_mknod(struct hx_conn *c, uint64_t parent, const char *name,
	     uint32_t mode, uint32_t rdev, uint64_t *nodeid)
{
	struct fuse_mknod_in in = { .mode = mode, .rdev = rdev };

	return entry_call(c, FUSE_MKNOD, parent, &in, sizeof(in), name,
			  strlen(name) + 1, nodeid);
}

int hx_mkdir(struct hx_conn *c, uint64_t parent, const char *name,
	     uint64_t *nodeid)
{
	struct fuse_mkdir_in in = { .mode = 0755 };

	return entry_call(c, FUSE_MKDIR, parent, &in, sizeof(in), name,
			  strlen(name) + 1, nodeid);
}

int hx_symlink(struct hx_conn *c, uint64_t parent, const char *name,
	       const char *target, uint64_t *nodeid)
{
	char buf[1024];
	size_t a = strlen(name) + 1, b = strlen(target) + 1;

	if (a + b > sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, name, a);
	memcpy(buf + a, target, b);
	return entry_call(c, FUSE_SYMLINK, parent, buf, a + b, NULL, 0, nodeid);
}

int hx_readlink(struct hx_conn *c, uint64_t nodeid, char *buf, size_t size)
{
	struct hx_reply r;
	int rc = hx_call(c, FUSE_READLINK, nodeid, NULL, 0, NULL, 0, 4096, &r);
	size_t n;

	if (rc)
		return rc;
	n = r.used - sizeof(r.oh);
	if (n >= size)
		n = size - 1;
	memcpy(buf, r.data, n);
	buf[n] = '\0';
	return 0;
}

int hx_rename(struct hx_conn *c, uint64_t dir, const char *name,
	      uint64_t newdir, const char *newname)
{
	struct fuse_rename_in in = { .newdir = newdir };
	char buf[1024];
	size_t a = strlen(name) + 1, b = strlen(newname) + 1;
	struct hx_reply r;

	if (a + b > sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, name, a);
	memcpy(buf + a, newname, b);
	return hx_call(c, FUSE_RENAME, dir, &in, sizeof(in), buf, a + b, 0, &r);
}

int hx_link(struct hx_conn *c, uint64_t oldnode, uint64_t newdir,
	    const char *newname, uint64_t *nodeid)
{
	struct fuse_link_in in = { .oldnodeid = oldnode };

	return entry_call(c, FUSE_LINK, newdir, &in, sizeof(in), newname,
			  strlen(newname) + 1, nodeid);
}

int hx_setattr(struct hx_conn *c, uint64_t nodeid, const struct fuse_setattr_in *in)
{
	struct hx_reply r;

	return hx_call(c, FUSE_SETATTR, nodeid, in, sizeof(*in), NULL, 0,
		       sizeof(struct fuse_attr_out), &r);
}

int hx_opendir(struct hx_conn *c, uint64_t nodeid, uint64_t *fh)
{
	struct fuse_open_in in = { .flags = O_RDONLY | O_DIRECTORY };
	struct hx_reply r;
	int rc = hx_call(c, FUSE_OPENDIR, nodeid, &in, sizeof(in), NULL, 0,
			 sizeof(struct fuse_open_out), &r);

	if (rc == 0 && fh)
		*fh = ((struct fuse_open_out *)r.data)->fh;
	return rc;
}

int hx_setlk(struct hx_conn *c, uint64_t nodeid, uint64_t fh, uint64_t owner,
	     int type, bool wait)
{
	struct fuse_lk_in in = {
		.fh = fh,
		.owner = owner,
		.lk = { .start = 0, .end = 0x7fffffffffffffffull,
			.type = (uint32_t)type, .pid = 1 },
	};
	struct hx_reply r;

	return hx_call(c, wait ? FUSE_SETLKW : FUSE_SETLK, nodeid, &in,
		       sizeof(in), NULL, 0, 0, &r);
}

/* ---- host side ---- */

int hx_tmpdir(const char *what, char *buf, size_t size)
{
	snprintf(buf, size, "/tmp/vdax-%s-XXXXXX", what);
	return mkdtemp(buf) ? 0 : -errno;
}

void hx_rmrf(const char *path)
{
	if (strncmp(path, "/tmp/vdax-", 10))
		return;
	if (!td_rmrf(path))
		diag("cleanup of %s failed", path);
}

int hx_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len)
		rc = -EIO;
	close(fd);
	return rc;
}
