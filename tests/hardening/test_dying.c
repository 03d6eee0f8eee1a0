// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Dying peers. A frontend that vanishes with many requests in flight must
 * leave nothing behind in vdaxd (inodes, handles, locks, fds, mappings): its
 * fd count returns to the idle value and the next frontend is served, 20
 * times over, in both sandbox modes. A vdaxd killed during writes and
 * fsyncs must have put on disk every write an FSYNC acknowledged, and the
 * frontend must not hang on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "hx.h"

#define ROUNDS_NONE 20
#define ROUNDS_SANDBOX 5
#define BLK 4096

static char tmp[128], shared[200];

/*
 * Dead: no such process, or a zombie. The sandboxed server outlives its
 * killed supervisor only as a zombie, until whatever init adopted it reaps it.
 */
static bool proc_gone(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	bool zombie = false;

	if (kill(pid, 0) < 0)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] == ' ')
		zombie = p[2] == 'Z' || p[2] == 'X';
	fclose(f);
	return zombie;
}

/* One frontend: two handles, a lock, a burst of requests, then a drop. */
static int busy_round(struct hx_daemon *d, bool *locked)
{
	struct fuse_entry_out e;
	struct hx_conn c;
	struct ff_slot s;
	uint64_t fh1, fh2;
	char data[512];
	int rc;

	*locked = false;
	rc = hx_open_conn(d, &c, 1);
	if (rc)
		return rc;
	rc = hx_lookup(&c, FUSE_ROOT_ID, "f", &e);
	if (!rc)
		rc = hx_open(&c, e.nodeid, O_RDWR, &fh1);
	if (!rc)
		rc = hx_open(&c, e.nodeid, O_RDWR, &fh2);
	/* Fails if an earlier frontend's lock was left behind. */
	if (!rc)
		*locked = hx_setlk(&c, e.nodeid, fh1, 1, F_WRLCK, false) == 0;
	memset(data, 'w', sizeof(data));
	for (int i = 0; !rc && i < 24; i++) {
		struct fuse_getattr_in ga = { 0 };
		struct fuse_read_in rd = { .fh = fh2, .size = 4096 };
		struct fuse_write_in wr = { .fh = fh2, .offset = 512u * (unsigned)i,
					    .size = sizeof(data) };

		switch (i % 4) {
		case 0:
			rc = hx_post(&c, FUSE_GETATTR, e.nodeid, &ga, sizeof(ga),
				     NULL, 0, sizeof(struct fuse_attr_out), &s);
			break;
		case 1:
			rc = hx_post(&c, FUSE_LOOKUP, FUSE_ROOT_ID, "f", 2, NULL,
				     0, sizeof(struct fuse_entry_out), &s);
			break;
		case 2:
			rc = hx_post(&c, FUSE_READ, e.nodeid, &rd, sizeof(rd),
				     NULL, 0, 4096, &s);
			break;
		default:
			rc = hx_post(&c, FUSE_WRITE, e.nodeid, &wr, sizeof(wr),
				     data, sizeof(data),
				     sizeof(struct fuse_write_out), &s);
		}
	}
	hx_close_conn(&c); /* abrupt: requests still in flight */
	return rc;
}

static void drops(bool sandbox, int rounds)
{
	static const char *const extra[] = { "--posix-lock", "--thread-pool-size=4",
					     NULL };
	const char *mode = sandbox ? "default sandbox" : "no sandbox";
	struct hx_daemon d;
	struct hx_conn c;
	int idle, n, served = 0, back = 0, locks = 0, worst = 0, rc;

	rc = hx_start(&d, tmp, shared, sandbox, extra);
	if (!is_int(rc, 0, "vdaxd started (%s)", mode))
		return;
	/* The idle value: after one orderly session has come and gone. */
	rc = hx_open_conn(&d, &c, 1);
	hx_close_conn(&c);
	usleep(200000);
	idle = hx_fd_count(d.server);
	diag("%s: idle fd count of pid %d: %d", mode, (int)d.server, idle);
	ok(rc == 0 && idle > 0, "%s: a first frontend came and went", mode);
	for (int i = 0; i < rounds; i++) {
		bool locked;

		rc = busy_round(&d, &locked);
		served += rc == 0;
		locks += locked;
		n = hx_wait_fds(d.server, idle, 3000);
		back += n == idle;
		if (n - idle > worst)
			worst = n - idle;
		if (rc || n != idle || !locked)
			diag("%s round %d: rc %d, fds %d (idle %d), lock %d", mode,
			     i, rc, n, idle, locked);
		if (rc == -ETIMEDOUT || rc == -ECONNREFUSED)
			break;
	}
	is_int(served, rounds, "%s: %d frontends dropped mid-burst, each served",
	       mode, rounds);
	is_int(locks, rounds,
	       "%s: every frontend could take the lock (none left behind)", mode);
	is_int(back, rounds,
	       "%s: the fd count is back to idle after every drop", mode);
	is_int(worst, 0, "%s: no fd growth over %d rounds", mode, rounds);
	ok(hx_alive(&d), "%s: the daemon is alive", mode);
	hx_kill(&d);
}

/* A SETLKW blocked on a lock of the same frontend when it disconnects. */
static void blocked_setlkw(void)
{
	static const char *const extra[] = { "--posix-lock", "--thread-pool-size=4",
					     NULL };
	struct fuse_entry_out e;
	struct hx_daemon d;
	struct hx_conn c;
	struct ff_slot s;
	uint64_t fh1, fh2;
	int idle, n, rc;
	long long t0;

	if (hx_start(&d, tmp, shared, false, extra))
		return;
	rc = hx_open_conn(&d, &c, 1);
	hx_close_conn(&c);
	usleep(200000);
	idle = hx_fd_count(d.server);
	rc = hx_open_conn(&d, &c, 1);
	if (!rc)
		rc = hx_lookup(&c, FUSE_ROOT_ID, "f", &e);
	if (!rc)
		rc = hx_open(&c, e.nodeid, O_RDWR, &fh1);
	if (!rc)
		rc = hx_open(&c, e.nodeid, O_RDWR, &fh2);
	if (!rc)
		rc = hx_setlk(&c, e.nodeid, fh1, 1, F_WRLCK, false);
	if (!rc) {
		struct fuse_lk_in lk = {
			.fh = fh2, .owner = 2,
			.lk = { .end = 0x7fffffffffffffffull, .type = F_WRLCK,
				.pid = 2 },
		};

		rc = hx_post(&c, FUSE_SETLKW, e.nodeid, &lk, sizeof(lk), NULL,
			     0, 0, &s);
	}
	is_int(rc, 0, "a SETLKW is waiting behind the frontend's own lock");
	usleep(100000);
	hx_close_conn(&c);
	t0 = hx_now_ms();
	n = hx_wait_fds(d.server, idle, 3000);
	ok(n == idle,
	   "after a drop with a blocked SETLKW, fds back to idle (%d vs %d)",
	   n, idle);
	/* The next frontend: GET_FEATURES answered within a second? */
	rc = ff_connect(d.sock, 1000, &c.f);
	if (!rc)
		rc = ff_send(c.f, VHOST_USER_GET_FEATURES, VHOST_USER_VERSION,
			     NULL, 0, NULL, 0);
	if (!rc) {
		struct vhost_user_msg m;

		rc = ff_recv(c.f, &m, 1000);
		rc = rc == 8 ? 0 : rc < 0 ? rc : -EPROTO;
	}
	ok(rc == 0, "the next frontend is served (%d, %lld ms)", rc,
	   hx_now_ms() - t0);
	hx_close_conn(&c);
	hx_kill(&d);
}

static void fill(char *b, unsigned i)
{
	for (unsigned k = 0; k < BLK; k++)
		b[k] = (char)('A' + (i * 7 + k) % 26);
}

/* SIGKILL vdaxd while writes and fsyncs are in flight. */
static void killed(bool sandbox)
{
	const char *mode = sandbox ? "default sandbox" : "no sandbox";
	char path[300], name[32], b[BLK], got[BLK];
	struct ff_slot slots[16];
	unsigned acked = 0, bad = 0, posted = 0;
	uint64_t node = 0, fh = 0;
	struct hx_daemon d;
	struct hx_conn c;
	long long t0, dt;
	int fd, rc;

	snprintf(name, sizeof(name), "data-%s", sandbox ? "sbx" : "none");
	rc = hx_start(&d, tmp, shared, sandbox, NULL);
	if (!is_int(rc, 0, "vdaxd started for the kill test (%s)", mode))
		return;
	rc = hx_open_conn(&d, &c, 1);
	if (!rc)
		rc = hx_create(&c, FUSE_ROOT_ID, name, O_RDWR, S_IFREG | 0644,
			       &node, &fh);
	for (unsigned i = 0; !rc && i < 48; i++) {
		fill(b, i);
		rc = hx_write(&c, node, fh, (uint64_t)i * BLK, b, BLK);
		if (!rc && i % 4 == 3) {
			rc = hx_fsync(&c, node, fh);
			if (!rc)
				acked = i + 1;
		}
	}
	is_int(rc, 0, "%s: 48 writes, 12 fsyncs acknowledged", mode);
	/* A burst left in flight, then the kill. */
	for (unsigned i = 48; !rc && i < 56; i++) {
		struct fuse_write_in wr = { .fh = fh, .offset = (uint64_t)i * BLK,
					    .size = BLK };
		struct fuse_fsync_in fs = { .fh = fh };

		fill(b, i);
		if (hx_post(&c, FUSE_WRITE, node, &wr, sizeof(wr), b, BLK,
			    sizeof(struct fuse_write_out), &slots[posted]) == 0)
			posted++;
		if (hx_post(&c, FUSE_FSYNC, node, &fs, sizeof(fs), NULL, 0, 0,
			    &slots[posted]) == 0)
			posted++;
	}
	kill(d.pid, SIGKILL);
	t0 = hx_now_ms();
	rc = posted ? ff_wait(c.f, HX_RQ, slots[posted - 1].desc_base, 1000, NULL)
		    : -ETIMEDOUT;
	dt = hx_now_ms() - t0;
	ok((rc == 0 || rc == -ETIMEDOUT) && dt < 1500,
	   "%s: the frontend's wait ends within a second of the kill (%lld ms)",
	   mode, dt);
	{
		struct vhost_user_msg m;

		t0 = hx_now_ms();
		rc = ff_recv(c.f, &m, 1000);
		ok(rc == -ENOTCONN && hx_now_ms() - t0 < 1000,
		   "%s: the vhost-user socket reports the daemon gone (%d)",
		   mode, rc);
	}
	waitpid(d.pid, NULL, 0);
	t0 = hx_now_ms();
	while (!proc_gone(d.server) && hx_now_ms() - t0 < 1000)
		usleep(10000);
	ok(proc_gone(d.server), "%s: the serving process is gone", mode);
	d.pid = 0;
	hx_close_conn(&c);

	snprintf(path, sizeof(path), "%s/%s", shared, name);
	fd = open(path, O_RDONLY);
	for (unsigned i = 0; fd >= 0 && i < acked; i++) {
		fill(b, i);
		if (pread(fd, got, BLK, (off_t)i * BLK) != BLK ||
		    memcmp(got, b, BLK))
			bad++;
	}
	if (fd >= 0)
		close(fd);
	ok(fd >= 0 && acked == 48 && bad == 0,
	   "%s: all %u fsync-acknowledged blocks are in the host file (%u bad)",
	   mode, acked, bad);
}

int main(void)
{
	char p[300];

	if (!getenv("VDAXD"))
		tap_skip_all("vdaxd not built ($VDAXD unset)");
	if (hx_tmpdir("dying", tmp, sizeof(tmp)))
		tap_bail("mkdtemp");
	snprintf(shared, sizeof(shared), "%s/shared", tmp);
	snprintf(p, sizeof(p), "%s/f", shared);
	if (mkdir(shared, 0755) || hx_write_file(p, "0123456789", 10, 0644))
		tap_bail("setup");
	signal(SIGPIPE, SIG_IGN);

	drops(false, ROUNDS_NONE);
	if (geteuid() == 0)
		drops(true, ROUNDS_SANDBOX);
	killed(false);
	if (geteuid() == 0)
		killed(true);
	blocked_setlkw();
	hx_rmrf(tmp);
	return tap_done();
}
