// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Resource limits. Every inode the guest looks up holds an O_PATH fd and
 * every open handle an fd, so --rlimit-nofile bounds both: past it the
 * guest gets EMFILE/ENFILE and the daemon keeps serving. (The inode table's
 * own bound, pt_opts.max_inodes, is 2^20 and not settable from the command
 * line, so the fd limit is the one a guest meets first.) Sizes the guest
 * names (READ, GETXATTR, READDIR) are bounded by the buffers it supplied:
 * RSS stays small.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "hx.h"

#define NFILES 400
#define NOFILE "256"
#define MAXINO "32"

static char tmp[128], shared[200];

static bool too_many(int rc)
{
	return rc == -EMFILE || rc == -ENFILE;
}

static void inode_bound(struct hx_daemon *d, struct hx_conn *c)
{
	static uint64_t ids[NFILES];
	struct fuse_entry_out e;
	uint64_t dir = 0;
	unsigned good = 0, full = 0, other = 0;
	int idle, n, rc;
	char name[16];

	idle = hx_fd_count(d->server);
	rc = hx_lookup(c, FUSE_ROOT_ID, "many", &e);
	if (rc == 0)
		dir = e.nodeid;
	for (unsigned i = 0; dir && i < NFILES; i++) {
		snprintf(name, sizeof(name), "f%03u", i);
		rc = hx_lookup(c, dir, name, &e);
		ids[i] = rc == 0 ? e.nodeid : 0;
		good += rc == 0;
		full += too_many(rc);
		other += rc != 0 && !too_many(rc);
	}
	diag("%u lookups: %u ok, %u EMFILE/ENFILE, %u other", NFILES, good, full,
	     other);
	ok(good > 100 && full > 0 && other == 0,
	   "LOOKUPs without FORGET past --rlimit-nofile=%s: EMFILE/ENFILE, "
	   "nothing else", NOFILE);
	n = hx_fd_count(d->server);
	ok(n > 0 && n <= atoi(NOFILE), "the daemon holds at most %s fds (%d)",
	   NOFILE, n);
	is_int(hx_getattr(c, FUSE_ROOT_ID, NULL), 0,
	       "GETATTR still answered with the fd table full");
	for (unsigned i = 0; i < NFILES; i++)
		if (ids[i])
			hx_forget(c, ids[i], 1);
	n = hx_wait_fds(d->server, idle + 1, 2000);
	is_int(n, idle + 1, "after FORGET the fds are released (the dir stays)");
	rc = hx_lookup(c, dir, "f399", &e);
	is_int(rc, 0, "LOOKUP works again after FORGET");
	if (rc == 0)
		hx_forget(c, e.nodeid, 1);

	/* The same few names many times: no fd per lookup. */
	n = hx_fd_count(d->server);
	other = 0;
	for (unsigned i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "f%03u", i % 4);
		other += hx_lookup(c, dir, name, &e) != 0;
	}
	is_int(other, 0, "20000 LOOKUPs of 4 names all answered");
	is_int(hx_fd_count(d->server), n + 4, "and they hold 4 fds, not 20000");
}

/* --max-inodes: the inode table's own bound, below the fd limit. */
static void max_inodes(void)
{
	static const char *const extra[] = { "--max-inodes=" MAXINO, NULL };
	static uint64_t ids[NFILES];
	struct fuse_entry_out e;
	struct hx_daemon d;
	struct hx_conn c;
	unsigned good = 0, enfile = 0, other = 0;
	uint64_t dir = 0;
	char name[16];
	int rc;

	rc = hx_start(&d, tmp, shared, false, extra);
	if (!is_int(rc, 0, "vdaxd started with --max-inodes=%s", MAXINO))
		return;
	rc = hx_open_conn(&d, &c, 1);
	if (rc == 0 && hx_lookup(&c, FUSE_ROOT_ID, "many", &e) == 0)
		dir = e.nodeid;
	for (unsigned i = 0; dir && i < 100; i++) {
		snprintf(name, sizeof(name), "f%03u", i);
		rc = hx_lookup(&c, dir, name, &e);
		ids[i] = rc == 0 ? e.nodeid : 0;
		good += rc == 0;
		enfile += rc == -ENFILE;
		other += rc != 0 && rc != -ENFILE;
	}
	/* "many" holds one of the slots */
	is_int(good, atoi(MAXINO) - 1, "100 LOOKUPs without FORGET: %s inodes, "
	       "no more", MAXINO);
	is_int(enfile, 100 - good, "the rest get ENFILE");
	is_int(other, 0, "and nothing else");
	for (unsigned i = 0; i < 100; i++)
		if (ids[i])
			hx_forget(&c, ids[i], 1);
	usleep(100000);
	is_int(hx_lookup(&c, dir, "f099", &e), 0,
	       "after FORGET the table has room again");
	hx_close_conn(&c);
	ok(hx_alive(&d), "the daemon is alive");
	hx_kill(&d);
}

static void handle_bound(struct hx_daemon *d, struct hx_conn *c)
{
	static uint64_t fhs[600], nodes[600];
	struct fuse_entry_out e;
	unsigned good = 0, full = 0, other = 0, k = 0;
	uint64_t fh, node = 0;
	int idle, rc;

	if (hx_lookup(c, FUSE_ROOT_ID, "big", &e) == 0)
		node = e.nodeid;
	idle = hx_fd_count(d->server);
	for (unsigned i = 0; node && i < 600; i++) {
		rc = hx_open(c, node, O_RDONLY, &fh);
		if (rc == 0) {
			fhs[k] = fh;
			nodes[k++] = node;
		}
		good += rc == 0;
		full += too_many(rc);
		other += rc != 0 && !too_many(rc);
		if (i == 599)
			is_int(hx_getattr(c, node, NULL), 0,
			       "GETATTR answered while OPEN fails");
	}
	diag("600 opens: %u ok, %u EMFILE/ENFILE, %u other", good, full, other);
	ok(good > 100 && full > 0 && other == 0,
	   "OPEN past --rlimit-nofile: EMFILE/ENFILE, nothing else");
	for (unsigned i = 0; i < k; i++)
		hx_release(c, nodes[i], fhs[i]);
	rc = hx_wait_fds(d->server, idle, 2000);
	is_int(rc, idle, "RELEASE gives every fd back");
	rc = node ? hx_open(c, node, O_RDONLY, &fh) : -ENOENT;
	is_int(rc, 0, "OPEN works again");
	if (rc == 0)
		hx_release(c, node, fh);
}

static void huge_sizes(struct hx_daemon *d, struct hx_conn *c)
{
	struct fuse_entry_out e;
	struct hx_reply *r = malloc(sizeof(*r));
	uint64_t node = 0, fh = 0, dfh = 0;
	long rss0, rss1;
	size_t n = 0;
	int rc;

	if (!r)
		tap_bail("malloc");
	rss0 = hx_rss_kb(d->server);
	if (hx_lookup(c, FUSE_ROOT_ID, "big", &e) == 0)
		node = e.nodeid;
	rc = node ? hx_open(c, node, O_RDONLY, &fh) : -ENOENT;
	is_int(rc, 0, "OPEN of a 100 GiB sparse file");
	/* fuse_read_in.size is 32 bits: 4 GiB - 1 is the most one can ask. */
	rc = hx_read(c, node, fh, 0, 0xffffffffu, NULL, 65536, &n);
	ok(rc == 0 && n == 65536,
	   "READ of 4 GiB - 1 into a 64 KiB buffer: a 64 KiB short read (%d, %zu)",
	   rc, n);
	rc = hx_read(c, node, fh, (100ull << 30) - 10, 0xffffffffu, NULL, 65536,
		     &n);
	ok(rc == 0 && n == 10, "READ at 100 GiB - 10: 10 bytes (%d, %zu)", rc, n);
	rc = hx_read(c, node, fh, 1ull << 63, 4096, NULL, 4096, &n);
	is_int(rc, -EINVAL, "READ at offset 2^63: EINVAL");
	{
		struct fuse_write_in wr = { .fh = fh, .size = 0xffffffffu };

		rc = hx_call(c, FUSE_WRITE, node, &wr, sizeof(wr), "xx", 2,
			     sizeof(struct fuse_write_out), r);
		is_int(rc, -EINVAL, "WRITE claiming 4 GiB with 2 bytes: EINVAL");
	}
	{
		struct fuse_getxattr_in gi = { .size = 0xffffffffu };

		rc = hx_call(c, FUSE_GETXATTR, node, &gi, sizeof(gi), "user.x", 7,
			     64, r);
		is_int(rc, -EINVAL, "GETXATTR asking 4 GiB into 64 bytes: EINVAL");
		rc = hx_call(c, FUSE_LISTXATTR, node, &gi, sizeof(gi), NULL, 0,
			     64, r);
		is_int(rc, -EINVAL, "LISTXATTR asking 4 GiB into 64 bytes: EINVAL");
	}
	rc = hx_opendir(c, FUSE_ROOT_ID, &dfh);
	if (rc == 0) {
		struct fuse_read_in rd = { .fh = dfh, .size = 0xffffffffu };

		rc = hx_call(c, FUSE_READDIR, FUSE_ROOT_ID, &rd, sizeof(rd), NULL,
			     0, 4096, r);
	}
	ok(rc == 0 && r->used <= sizeof(r->oh) + 4096,
	   "READDIR asking 4 GiB fills only the 4 KiB buffer (%d)", rc);
	rss1 = hx_rss_kb(d->server);
	diag("VmRSS %ld kB -> %ld kB", rss0, rss1);
	ok(rss0 > 0 && rss1 > 0 && rss1 - rss0 < 32768,
	   "VmRSS grew by less than 32 MiB (%ld kB)", rss1 - rss0);
	free(r);
}

int main(void)
{
	static const char *const extra[] = { "--rlimit-nofile=" NOFILE, "--xattr",
					     "--thread-pool-size=2", NULL };
	struct hx_daemon d;
	struct hx_conn c;
	char p[300];
	int fd, rc;

	if (!getenv("VDAXD"))
		tap_skip_all("vdaxd not built ($VDAXD unset)");
	if (hx_tmpdir("limits", tmp, sizeof(tmp)))
		tap_bail("mkdtemp");
	snprintf(shared, sizeof(shared), "%s/shared", tmp);
	snprintf(p, sizeof(p), "%s/many", shared);
	if (mkdir(shared, 0755) || mkdir(p, 0755))
		tap_bail("mkdir");
	for (int i = 0; i < NFILES; i++) {
		snprintf(p, sizeof(p), "%s/many/f%03d", shared, i);
		fd = open(p, O_CREAT | O_WRONLY, 0644);
		if (fd < 0)
			tap_bail("create");
		close(fd);
	}
	snprintf(p, sizeof(p), "%s/big", shared);
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	if (fd < 0 || ftruncate(fd, 100ll << 30))
		tap_bail("sparse file");
	close(fd);

	rc = hx_start(&d, tmp, shared, false, extra);
	if (!is_int(rc, 0, "vdaxd started with --rlimit-nofile=%s", NOFILE))
		return tap_done();
	rc = hx_open_conn(&d, &c, 1);
	if (is_int(rc, 0, "connected")) {
		inode_bound(&d, &c);
		handle_bound(&d, &c);
		huge_sizes(&d, &c);
		hx_close_conn(&c);
	}
	ok(hx_alive(&d), "the daemon is alive");
	hx_kill(&d);
	max_inodes();
	hx_rmrf(tmp);
	return tap_done();
}
