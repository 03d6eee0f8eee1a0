// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Malformed traffic at a serving vdaxd (the default sandbox when we are
 * root, so that an error path reaching a forbidden syscall would kill it):
 * a fixed number of random vhost-user messages and random descriptor
 * chains, from a seeded PRNG. The daemon never dies, leaks no fd, and a
 * well-formed request afterwards works.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "hx.h"

#define ITERATIONS 2000
#define SEED 0x5eed0f0ddba11ull

static uint64_t rng = SEED;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static void rnd_bytes(void *p, size_t n)
{
	uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)rnd();
}

static void drain(struct hx_conn *c)
{
	char buf[4096];

	while (recv(ff_sock(c->f), buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* One random vhost-user message, maybe with an fd. */
static void garbage_msg(struct hx_conn *c)
{
	uint8_t pl[sizeof(((struct vhost_user_msg *)0)->payload)];
	uint32_t req = (uint32_t)(rnd() % 48);
	uint32_t flags = rnd() % 4 ? VHOST_USER_VERSION |
				     (rnd() % 2 ? VHOST_USER_NEED_REPLY_MASK : 0)
				   : (uint32_t)rnd();
	uint32_t size = (uint32_t)(rnd() % 3 ? rnd() % 72 : rnd() % sizeof(pl));
	int fd = -1;

	rnd_bytes(pl, size);
	if (rnd() % 4 == 0)
		fd = rnd() % 2 ? eventfd(0, EFD_CLOEXEC)
			       : memfd_create("garbage", MFD_CLOEXEC);
	if (fd >= 0 && rnd() % 2)
		(void)!ftruncate(fd, (off_t)(rnd() % (1 << 20)));
	ff_send(c->f, req, flags, pl, size, fd >= 0 ? &fd : NULL, fd >= 0);
	if (fd >= 0)
		close(fd);
	usleep(200);
	drain(c);
}

/* A random chain in one slot; FUSE-like or not. Returns ff_wait's result. */
static int garbage_chain(struct hx_conn *c)
{
	uint64_t ram = ff_ram_size(c->f);
	struct ff_slot s;
	unsigned n = 1 + (unsigned)(rnd() % FF_SLOT_DESCS);
	int rc;

	rc = ff_slot_get(c->f, HX_RQ, &s);
	if (rc)
		return rc;
	rnd_bytes(s.data, 8192);
	if (rnd() % 3) {
		struct fuse_in_header *ih = (void *)s.data;

		ih->len = rnd() % 2 ? (uint32_t)(rnd() % 8192) : (uint32_t)rnd();
		ih->opcode = (uint32_t)(rnd() % 52);
		/* A SETLKW may rightly wait for a lock it drew at random. */
		if (ih->opcode == FUSE_SETLKW)
			ih->opcode = FUSE_GETATTR;
		ih->nodeid = rnd() % 2 ? FUSE_ROOT_ID : rnd() % 64;
		ih->total_extlen = rnd() % 4 ? 0 : (uint16_t)rnd();
	}
	for (unsigned i = 0; i < n; i++) {
		uint64_t addr;
		uint32_t len = rnd() % 8 ? (uint32_t)(rnd() % 4096)
					 : (uint32_t)rnd();
		uint16_t flags = (uint16_t)(rnd() % 8);
		uint16_t next = rnd() % 4 ? (uint16_t)(s.desc_base + i + 1)
					  : (uint16_t)rnd();

		switch (rnd() % 8) {
		case 0: /* beyond guest RAM */
			addr = ram + rnd() % (1ull << 40);
			break;
		case 1: /* anything; overflow at the top */
			addr = rnd() | (1ull << 63);
			break;
		default: /* inside our slot (never over our own rings) */
			addr = s.data_gpa + rnd() % 8192;
			if (len > 8192)
				len = (uint32_t)(rnd() % 8192);
		}
		if (i + 1 == n && rnd() % 4)
			flags &= (uint16_t)~VRING_DESC_F_NEXT;
		if (i + 1 < n && rnd() % 4)
			flags |= VRING_DESC_F_NEXT;
		if (rnd() % 2 && i > 0)
			flags |= VRING_DESC_F_WRITE;
		ff_set_desc(c->f, HX_RQ, (uint16_t)(s.desc_base + i), addr, len,
			    flags, next);
	}
	ff_publish(c->f, HX_RQ, s.desc_base);
	rc = ff_wait(c->f, HX_RQ, s.desc_base, 300, NULL);
	if (rc == 0)
		ff_slot_put(c->f, &s);
	return rc;
}

int main(void)
{
	bool sandbox = geteuid() == 0;
	unsigned msgs = 0, chains = 0, stuck = 0, reconnects = 0, probes = 0,
		 probe_fail = 0;
	struct fuse_entry_out e;
	struct hx_daemon d;
	struct hx_conn c;
	char tmp[128], shared[200], p[300], buf[16] = { 0 };
	uint64_t fh;
	size_t n;
	int rc, idle;

	if (!getenv("VDAXD"))
		tap_skip_all("vdaxd not built ($VDAXD unset)");
	if (hx_tmpdir("garbage", tmp, sizeof(tmp)))
		tap_bail("mkdtemp");
	snprintf(shared, sizeof(shared), "%s/shared", tmp);
	snprintf(p, sizeof(p), "%s/hello.txt", shared);
	if (mkdir(shared, 0755) || hx_write_file(p, "hello", 5, 0644))
		tap_bail("setup");
	rc = hx_start(&d, tmp, shared, sandbox, NULL);
	if (!is_int(rc, 0, "vdaxd started (%s)",
		    sandbox ? "default sandbox" : "no sandbox"))
		return tap_done();
	rc = hx_open_conn(&d, &c, 1);
	hx_close_conn(&c);
	usleep(200000);
	idle = hx_fd_count(d.server);
	ok(rc == 0 && idle > 0, "an orderly frontend came and went (idle fds %d)",
	   idle);

	rc = hx_open_conn(&d, &c, 1);
	for (unsigned i = 0; i < ITERATIONS && hx_alive(&d); i++) {
		if (rc) { /* the last round broke the connection */
			hx_close_conn(&c);
			rc = hx_open_conn(&d, &c, 1);
			reconnects++;
			if (rc)
				break;
		}
		if (rnd() % 5 < 2) {
			garbage_msg(&c);
			msgs++;
			rc = -EPIPE; /* start over on a clean connection */
		} else {
			chains++;
			if (garbage_chain(&c)) {
				stuck++;
				rc = -ETIMEDOUT;
			}
		}
		if (i % 100 == 99) {
			if (rc == 0 && hx_getattr(&c, FUSE_ROOT_ID, NULL) == 0) {
				probes++;
				continue;
			}
			hx_close_conn(&c);
			rc = hx_open_conn(&d, &c, 1);
			reconnects++;
			probes++;
			if (rc || hx_getattr(&c, FUSE_ROOT_ID, NULL) != 0) {
				probe_fail++;
				rc = rc ? rc : -EIO;
			}
		}
	}
	hx_close_conn(&c);
	diag("%u garbage messages, %u garbage chains (%u unanswered), "
	     "%u reconnects, seed %#llx", msgs, chains, stuck, reconnects,
	     (unsigned long long)SEED);
	ok(msgs + chains == ITERATIONS, "all %d rounds of garbage were sent",
	   ITERATIONS);
	ok(hx_alive(&d), "the daemon survived them");
	is_int(probe_fail, 0, "every periodic well-formed GETATTR worked (%u)",
	       probes);

	rc = hx_open_conn(&d, &c, 1);
	if (!rc)
		rc = hx_lookup(&c, FUSE_ROOT_ID, "hello.txt", &e);
	if (!rc)
		rc = hx_open(&c, e.nodeid, O_RDONLY, &fh);
	if (!rc)
		rc = hx_read(&c, e.nodeid, fh, 0, 16, buf, sizeof(buf) - 1, &n);
	ok(rc == 0 && !strcmp(buf, "hello"),
	   "afterwards a fresh frontend reads hello.txt (%d)", rc);
	hx_close_conn(&c);
	rc = hx_wait_fds(d.server, idle, 3000);
	is_int(rc, idle, "the fd count is back to idle: nothing leaked");
	if (!hx_alive(&d))
		hx_dump_log(&d);
	hx_kill(&d);
	hx_rmrf(tmp);
	return tap_done();
}
