// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Several workers at once: lookups, FORGETs, opens, reads and releases on
 * shared inodes. A worker holding its own lookup must never see its nodeid
 * go stale, whatever the others forget.
 */
#include <pthread.h>

#include "harness.h"

#define THREADS 4
#define ITERS 1500

static int failures[THREADS];

static struct fuse_srv *srv;

static void *run(void *arg)
{
	int t = (int)(intptr_t)arg;
	struct h *h = calloc(1, sizeof(*h));
	char name[8];

	h->srv = srv;
	h->unique = (uint64_t)t << 40;
	for (int i = 0; i < ITERS; i++) {
		uint64_t id, fh;

		snprintf(name, sizeof(name), "f%d", i % 4);
		id = h_ino(h, 1, name);
		if (!id) {
			failures[t]++;
			continue;
		}
		if (h_getattr(h, id, NULL) != 0)
			failures[t]++;
		if (h_open(h, id, O_RDONLY, &fh) == 0) {
			if (h_read(h, FUSE_READ, id, fh, 0, 16) != 2)
				failures[t]++;
			if (h_release(h, FUSE_RELEASE, id, fh) != 0)
				failures[t]++;
		} else {
			failures[t]++;
		}
		h_forget(h, id, 1);
	}
	free(h);
	return NULL;
}

int main(void)
{
	struct fuse_srv_opts o;
	pthread_t th[THREADS];
	struct h h0;

	h_setup_dir();
	for (int i = 0; i < 4; i++) {
		char n[8];

		snprintf(n, sizeof(n), "f%d", i);
		h_put_file(n, "ab");
	}
	o = h_opts();
	h_start(&h0, &o);
	srv = h0.srv;
	is_int(h_init(&h0, 0, 0, NULL), 0, "INIT");
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, run, (void *)(intptr_t)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < THREADS; i++)
		is_int(failures[i], 0, "worker %d saw no failure", i);
	is_int(pt_inode_count(srv->fs), 1, "only the root is left");
	is_int(pt_handle_count(srv->fs), 0, "no handle is left");
	fuse_srv_free(srv);
	return tap_done();
}
