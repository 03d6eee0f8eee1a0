// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * End to end: spawn the real vdaxd, connect as a vhost-user frontend and
 * speak FUSE over the request queue. The daemon binary comes from $VDAXD
 * (set by meson); without it the test skips.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "fake_frontend.h"
#include "lib/testd.h"

#define TMO 10000
#define RQ 1 /* first request queue; 0 is hiprio */

static uint64_t unique = 1;

struct reply {
	struct fuse_out_header oh;
	uint8_t data[8192];
	uint32_t used;
};

/* One FUSE request: header + @a + @b out, header + data in. -errno on transport. */
static int fuse_call(struct ff *f, uint32_t opcode, uint64_t nodeid,
		     const void *a, size_t alen, const void *b, size_t blen,
		     size_t reply_room, struct reply *r)
{
	return ff_fuse(f, RQ, opcode, nodeid, unique++, a, alen, b, blen,
		       &r->oh, r->data, reply_room, TMO, &r->used);
}

/* The reply is well formed, matches the request and carries @err. */
static bool reply_ok(const struct reply *r, int err)
{
	return r->used >= sizeof(r->oh) && r->oh.len == r->used &&
	       r->oh.unique == unique - 1 && r->oh.error == err;
}

static bool alive(struct ff *f)
{
	struct fuse_getattr_in ga = { 0 };
	struct reply r;

	return !fuse_call(f, FUSE_GETATTR, FUSE_ROOT_ID, &ga, sizeof(ga), NULL, 0,
			  sizeof(struct fuse_attr_out), &r) &&
	       reply_ok(&r, 0);
}

static bool fuse_init(struct ff *f)
{
	struct fuse_init_in init = { .major = FUSE_KERNEL_VERSION,
				     .minor = FUSE_KERNEL_MINOR_VERSION };
	struct reply r;

	return !fuse_call(f, FUSE_INIT, 0, &init, sizeof(init), NULL, 0,
			  sizeof(struct fuse_init_out), &r) &&
	       reply_ok(&r, 0);
}

static pid_t spawn(const char *bin, const char *sock, const char *dir)
{
	char a1[700], a2[700];
	pid_t pid;

	snprintf(a1, sizeof(a1), "--socket-path=%s", sock);
	snprintf(a2, sizeof(a2), "--shared-dir=%s", dir);
	pid = fork();
	if (pid == 0) {
		execl(bin, bin, a1, a2, "--sandbox=none", "--seccomp=none",
		      (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void test_fuse(struct ff *f, const char *dir)
{
	struct fuse_init_in init = { .major = FUSE_KERNEL_VERSION,
				     .minor = FUSE_KERNEL_MINOR_VERSION,
				     .max_readahead = 1 << 17 };
	struct fuse_getattr_in ga = { 0 };
	struct fuse_create_in cr = { .flags = O_RDWR | O_CREAT, .mode = S_IFREG | 0644 };
	struct fuse_write_in wr = { 0 };
	struct fuse_read_in rd = { 0 };
	const char payload[] = "written through vdaxd";
	struct fuse_entry_out *ent;
	struct reply r;
	uint64_t file_node, file_fh, new_node, dir_fh;
	char path[256], buf[64] = { 0 };
	int rc, fd;

	rc = fuse_call(f, FUSE_INIT, 0, &init, sizeof(init), NULL, 0,
		       sizeof(struct fuse_init_out), &r);
	ok(rc == 0 && reply_ok(&r, 0) && r.used >= sizeof(r.oh) + FUSE_COMPAT_22_INIT_OUT_SIZE,
	   "FUSE_INIT answered");
	if (!rc && r.used > sizeof(r.oh)) {
		struct fuse_init_out *io = (void *)r.data;

		is_int(io->major, FUSE_KERNEL_VERSION, "INIT major");
	}

	rc = fuse_call(f, FUSE_LOOKUP, FUSE_ROOT_ID, "hello.txt", 10, NULL, 0,
		       sizeof(struct fuse_entry_out), &r);
	ent = (void *)r.data;
	ok(rc == 0 && reply_ok(&r, 0) && r.used == sizeof(r.oh) + sizeof(*ent) &&
	   ent->nodeid && ent->attr.size == 5, "LOOKUP hello.txt");
	file_node = ent->nodeid;

	rc = fuse_call(f, FUSE_LOOKUP, FUSE_ROOT_ID, "missing", 8, NULL, 0,
		       sizeof(struct fuse_entry_out), &r);
	ok(rc == 0 && reply_ok(&r, -ENOENT), "LOOKUP of a missing name: -ENOENT");

	rc = fuse_call(f, FUSE_GETATTR, file_node, &ga, sizeof(ga), NULL, 0,
		       sizeof(struct fuse_attr_out), &r);
	ok(rc == 0 && reply_ok(&r, 0) &&
	   ((struct fuse_attr_out *)r.data)->attr.size == 5 &&
	   S_ISREG(((struct fuse_attr_out *)r.data)->attr.mode), "GETATTR of the file");

	rc = fuse_call(f, FUSE_CREATE, FUSE_ROOT_ID, &cr, sizeof(cr), "new.txt", 8,
		       sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out), &r);
	ok(rc == 0 && reply_ok(&r, 0) &&
	   r.used == sizeof(r.oh) + sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out),
	   "CREATE new.txt");
	new_node = ((struct fuse_entry_out *)r.data)->nodeid;
	file_fh = ((struct fuse_open_out *)(r.data + sizeof(struct fuse_entry_out)))->fh;
	(void)new_node;

	wr.fh = file_fh;
	wr.size = sizeof(payload) - 1;
	rc = fuse_call(f, FUSE_WRITE, new_node, &wr, sizeof(wr), payload, wr.size,
		       sizeof(struct fuse_write_out), &r);
	ok(rc == 0 && reply_ok(&r, 0) && ((struct fuse_write_out *)r.data)->size == wr.size,
	   "WRITE into the new file");
	snprintf(path, sizeof(path), "%s/new.txt", dir);
	fd = open(path, O_RDONLY);
	ok(fd >= 0 && read(fd, buf, sizeof(buf)) == (ssize_t)wr.size &&
	   !memcmp(buf, payload, wr.size), "the host file holds what was written");
	if (fd >= 0)
		close(fd);

	rd.fh = file_fh;
	rd.size = 100;
	rc = fuse_call(f, FUSE_READ, new_node, &rd, sizeof(rd), NULL, 0, 100, &r);
	ok(rc == 0 && reply_ok(&r, 0) && r.used == sizeof(r.oh) + wr.size &&
	   !memcmp(r.data, payload, wr.size), "READ it back");

	{
		struct fuse_open_in oi = { .flags = O_RDONLY | O_DIRECTORY };
		bool seen_hello = false, seen_new = false;

		rc = fuse_call(f, FUSE_OPENDIR, FUSE_ROOT_ID, &oi, sizeof(oi), NULL, 0,
			       sizeof(struct fuse_open_out), &r);
		ok(rc == 0 && reply_ok(&r, 0), "OPENDIR root");
		dir_fh = ((struct fuse_open_out *)r.data)->fh;
		rd = (struct fuse_read_in){ .fh = dir_fh, .size = 4096 };
		rc = fuse_call(f, FUSE_READDIR, FUSE_ROOT_ID, &rd, sizeof(rd), NULL, 0,
			       4096, &r);
		ok(rc == 0 && reply_ok(&r, 0), "READDIR root");
		for (size_t off = 0; rc == 0 && off + FUSE_NAME_OFFSET <= r.used - sizeof(r.oh);) {
			struct fuse_dirent *d = (void *)(r.data + off);

			if (d->namelen == 9 && !memcmp(d->name, "hello.txt", 9))
				seen_hello = true;
			if (d->namelen == 7 && !memcmp(d->name, "new.txt", 7))
				seen_new = true;
			off += FUSE_DIRENT_SIZE(d);
		}
		ok(seen_hello && seen_new, "READDIR lists hello.txt and new.txt");
	}

	/* Malformed requests: each gets an error (or nothing) and the daemon stays. */
	{
		struct iovec out = { &ga, 10 };
		struct reply rr;
		struct iovec in[2] = { { &rr.oh, sizeof(rr.oh) }, { rr.data, 64 } };

		rc = ff_request(f, RQ, &out, 1, in, 2, TMO, &rr.used);
		ok(rc == 0 && (rr.used == 0 || (int)rr.oh.error < 0),
		   "short header: no reply or an error");
		ok(alive(f), "daemon answers after a short header");
	}
	{
		struct fuse_in_header ih = { .len = 4096, .opcode = FUSE_GETATTR,
					     .unique = unique++, .nodeid = FUSE_ROOT_ID };
		struct iovec out[2] = { { &ih, sizeof(ih) }, { &ga, sizeof(ga) } };
		struct reply rr;
		struct iovec in[2] = { { &rr.oh, sizeof(rr.oh) }, { rr.data, 128 } };

		rc = ff_request(f, RQ, out, 2, in, 2, TMO, &rr.used);
		ok(rc == 0 && (rr.used == 0 || (int)rr.oh.error < 0),
		   "len past the buffer: no reply or an error");
		ok(alive(f), "daemon answers after a bad len");
	}
	rc = fuse_call(f, FUSE_GETATTR, 0xdeadbeef, &ga, sizeof(ga), NULL, 0,
		       sizeof(struct fuse_attr_out), &r);
	ok(rc == 0 && r.used >= sizeof(r.oh) && (int)r.oh.error < 0, "GETATTR of a bad nodeid: error");
	rd = (struct fuse_read_in){ .fh = 0x7777777, .size = 16 };
	rc = fuse_call(f, FUSE_READ, file_node, &rd, sizeof(rd), NULL, 0, 16, &r);
	ok(rc == 0 && r.used >= sizeof(r.oh) && (int)r.oh.error < 0, "READ with a bad fh: error");
	rc = fuse_call(f, 9999, FUSE_ROOT_ID, NULL, 0, NULL, 0, 16, &r);
	ok(rc == 0 && reply_ok(&r, -ENOSYS), "unknown opcode: -ENOSYS");
	ok(alive(f), "daemon still answers at the end");
}

int main(void)
{
	const char *bin = getenv("VDAXD");
	char tmpl[] = "/tmp/vdax-e2e-XXXXXX";
	char dir[128], sock[128], path[256];
	struct ff_opts o = { .nreq = 1 };
	struct ff *f = NULL;
	int status, fd, rc;
	pid_t pid;

	if (!bin || access(bin, X_OK))
		tap_skip_all("vdaxd not built ($VDAXD unset)");
	if (!mkdtemp(tmpl))
		tap_bail("mkdtemp");
	snprintf(dir, sizeof(dir), "%s/shared", tmpl);
	snprintf(sock, sizeof(sock), "%s/vhost.sock", tmpl);
	snprintf(path, sizeof(path), "%s/hello.txt", dir);
	if (mkdir(dir, 0755))
		tap_bail("mkdir");
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	if (fd < 0 || write(fd, "hello", 5) != 5)
		tap_bail("hello.txt");
	close(fd);

	pid = spawn(bin, sock, dir);
	rc = ff_connect(sock, TMO, &f);
	if (!is_int(rc, 0, "connected to vdaxd")) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return tap_done();
	}
	rc = ff_setup(f, &o);
	is_int(rc, 0, "vhost-user setup with vdaxd");
	if (!rc)
		test_fuse(f, dir);
	ff_free(f);
	f = NULL;

	/* The daemon takes the next frontend after a disconnect. */
	rc = ff_connect(sock, TMO, &f);
	if (!rc)
		rc = ff_setup(f, &o);
	ok(rc == 0 && fuse_init(f) && alive(f), "a second frontend is served (INIT, GETATTR)");
	if (f)
		ff_free(f);

	kill(pid, SIGTERM);
	for (int i = 0; i < 100 && waitpid(pid, &status, WNOHANG) == 0; i++)
		usleep(50000);
	rc = waitpid(pid, &status, WNOHANG);
	ok(rc == -1 && errno == ECHILD, "daemon exits on SIGTERM within 5 s");
	if (rc == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	if (!td_rmrf(tmpl))
		diag("cleanup of %s failed", tmpl);
	return tap_done();
}
