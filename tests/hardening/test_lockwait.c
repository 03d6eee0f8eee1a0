// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Lock waits. A SETLKW waiting for another owner's lock holds a worker
 * thread; the holder's unlock, sent on the same queue, must still be
 * served (with locks on, vdaxd's default is a worker pool for this), and
 * then the waiter gets its lock. A waiter named by FUSE_INTERRUPT answers
 * EINTR at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tap.h"
#include "hx.h"

static char tmp[128], shared[200];

/* Post a SETLKW of @owner over the whole file; *@unique, *@err_at for later. */
static int post_setlkw(struct hx_conn *c, uint64_t nodeid, uint64_t fh,
		       uint64_t owner, struct ff_slot *s, uint64_t *unique,
		       struct fuse_out_header **oh)
{
	struct fuse_lk_in lk = {
		.fh = fh, .owner = owner,
		.lk = { .end = 0x7fffffffffffffffull, .type = F_WRLCK, .pid = 2 },
	};
	int rc;

	*unique = c->unique;
	rc = hx_post(c, FUSE_SETLKW, nodeid, &lk, sizeof(lk), NULL, 0, 0, s);
	*oh = (struct fuse_out_header *)(s->data + sizeof(struct fuse_in_header) +
					 sizeof(lk));
	return rc;
}

int main(void)
{
	struct fuse_out_header *oh;
	struct fuse_entry_out e;
	struct hx_daemon d;
	struct hx_conn c;
	struct ff_slot s, si;
	uint64_t fh1 = 0, fh2 = 0, unique;
	uint32_t used = 0;
	char p[300];
	int rc;
	static const char *const extra[] = { "--posix-lock", NULL };

	if (hx_tmpdir("lockwait", tmp, sizeof(tmp)))
		tap_bail("mkdtemp");
	snprintf(shared, sizeof(shared), "%s/shared", tmp);
	snprintf(p, sizeof(p), "%s/f", shared);
	if (mkdir(shared, 0755) || hx_write_file(p, "0123456789", 10, 0644))
		tap_bail("setup");
	signal(SIGPIPE, SIG_IGN);
	/* --posix-lock and no --thread-pool-size: the default must be safe */
	if (hx_start(&d, tmp, shared, false, extra))
		tap_bail("vdaxd did not start");
	rc = hx_open_conn(&d, &c, 1);
	if (!rc)
		rc = hx_lookup(&c, FUSE_ROOT_ID, "f", &e);
	if (!rc)
		rc = hx_open(&c, e.nodeid, O_RDWR, &fh1);
	if (!rc)
		rc = hx_open(&c, e.nodeid, O_RDWR, &fh2);
	is_int(rc, 0, "two handles on one file");
	c.timeout_ms = 2000;

	is_int(hx_setlk(&c, e.nodeid, fh1, 1, F_WRLCK, false), 0,
	       "owner 1 takes a write lock");
	is_int(post_setlkw(&c, e.nodeid, fh2, 2, &s, &unique, &oh), 0,
	       "owner 2 waits for it (SETLKW posted)");
	is_int(ff_wait(c.f, HX_RQ, s.desc_base, 300, &used), -ETIMEDOUT,
	       "the SETLKW waits while owner 1 holds the lock");
	is_int(hx_setlk(&c, e.nodeid, fh1, 1, F_UNLCK, false), 0,
	       "owner 1's unlock is served on the same queue meanwhile");
	is_int(ff_wait(c.f, HX_RQ, s.desc_base, 2000, &used), 0,
	       "then the SETLKW completes");
	is_int(oh->error, 0, "... with the lock granted");
	ff_slot_put(c.f, &s);
	is_int(hx_setlk(&c, e.nodeid, fh1, 1, F_WRLCK, false), -EAGAIN,
	       "owner 2 now holds it: owner 1 gets EAGAIN");

	/* FUSE_INTERRUPT ends a wait. */
	is_int(post_setlkw(&c, e.nodeid, fh1, 3, &s, &unique, &oh), 0,
	       "owner 3 waits for owner 2's lock");
	is_int(ff_wait(c.f, HX_RQ, s.desc_base, 300, &used), -ETIMEDOUT,
	       "the SETLKW waits");
	{
		struct fuse_interrupt_in ii = { .unique = unique };

		is_int(hx_post(&c, FUSE_INTERRUPT, 0, &ii, sizeof(ii), NULL, 0, 0,
			       &si),
		       0, "FUSE_INTERRUPT for it");
	}
	is_int(ff_wait(c.f, HX_RQ, s.desc_base, 2000, &used), 0,
	       "the interrupted SETLKW answers at once");
	is_int(oh->error, -EINTR, "... with EINTR");
	ff_slot_put(c.f, &s);
	is_int(hx_setlk(&c, e.nodeid, fh1, 3, F_WRLCK, false), -EAGAIN,
	       "and holds nothing: owner 2 still has the lock");
	ok(hx_alive(&d), "the daemon is alive");
	hx_close_conn(&c);
	hx_kill(&d);
	hx_rmrf(tmp);
	return tap_done();
}
