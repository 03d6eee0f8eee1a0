// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Inodes held by file handles (--inode-file-handles=mandatory), and the
 * host replacing a file while the guest opens it: the guest holds the old
 * nodeid from its LOOKUP, the host renames a new file over the name, and
 * the old inode is evicted by the host kernel at that moment. The OPEN
 * must then answer the old file, ESTALE or ENOENT: never ENOMEM, which is
 * what open_by_handle_at() itself says on ext4 when it meets the inode
 * being freed (CI saw it once in hardening_escape_default-fh).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "harness.h"

#define HOST_ROUNDS 6000

static struct fuse_srv *srv;
static atomic_bool host_done;
static long answers[4]; /* ok, ESTALE, ENOENT, other */
static int other_err;

static void *host(void *arg)
{
	(void)arg;
	for (int i = 0; i < HOST_ROUNDS; i++) {
		h_put_file("v.new", "new");
		if (rename(h_path("v.new"), h_path("v")))
			tap_bail("rename");
	}
	atomic_store(&host_done, true);
	return NULL;
}

static void *guest(void *arg)
{
	struct h *h = calloc(1, sizeof(*h));
	uint64_t id, fh;
	int rc;

	(void)arg;
	if (!h)
		tap_bail("calloc");
	h->srv = srv;
	h->unique = 1ull << 40;
	while (!atomic_load(&host_done)) {
		id = h_ino(h, 1, "v");
		if (!id)
			continue;
		rc = h_open(h, id, O_RDONLY, &fh);
		if (rc == 0) {
			answers[0]++;
			h_release(h, FUSE_RELEASE, id, fh);
		} else if (rc == -ESTALE) {
			answers[1]++;
		} else if (rc == -ENOENT) {
			answers[2]++;
		} else {
			answers[3]++;
			other_err = rc;
		}
		h_forget(h, id, 1);
	}
	free(h);
	return NULL;
}

int main(void)
{
	struct fuse_srv_opts o;
	pthread_t th[2];
	struct h h0;

	if (geteuid() != 0)
		tap_skip_all("file handles need CAP_DAC_READ_SEARCH (root)");
	h_setup_dir();
	h_put_file("v", "old");
	o = h_opts();
	o.file_handles = PT_FH_MANDATORY;
	h_start(&h0, &o);
	srv = h0.srv;
	is_int(h_init(&h0, 0, 0, NULL), 0, "INIT, inodes held by file handles");
	pthread_create(&th[0], NULL, guest, NULL);
	pthread_create(&th[1], NULL, host, NULL);
	pthread_join(th[1], NULL);
	pthread_join(th[0], NULL);
	diag("OPEN answers: %ld ok, %ld ESTALE, %ld ENOENT, %ld other",
	     answers[0], answers[1], answers[2], answers[3]);
	ok(answers[1] + answers[2] > 0,
	   "some OPENs met a file replaced on the host (%ld)",
	   answers[1] + answers[2]);
	is_int(answers[3] ? other_err : 0, 0,
	       "no OPEN of a replaced file answered anything but the file, "
	       "ESTALE or ENOENT (%ld did)", answers[3]);
	ok(answers[0] > 0, "OPENs of the current file work (%ld)", answers[0]);
	is_int(pt_inode_count(srv->fs), 1, "only the root is left");
	fuse_srv_free(srv);
	return tap_done();
}
