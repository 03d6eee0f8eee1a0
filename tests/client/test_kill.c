// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Backend killed (SIGKILL) while threads issue requests: every call must
 * return -ENOTCONN within a second, nothing hangs, vdax_close frees.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vdax/vdax.h"
#include "backend.h"

#define NTHREADS 8

static struct tb_backend be;
static struct vdax *vd;
static volatile int killed; /* set after the SIGKILL */
static struct timespec kill_time;
static long worst_ms[NTHREADS];
static int bad_err[NTHREADS];
static int saw_enotconn[NTHREADS];

static long ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 +
	       (now.tv_nsec - t->tv_nsec) / 1000000;
}

static void *worker(void *arg)
{
	int id = (int)(long)arg;
	char path[32];
	char *buf = malloc(1 << 20);
	struct vdax_file *f = NULL;

	snprintf(path, sizeof(path), "/k%d", id);
	if (vdax_open(vd, path, O_RDWR | O_CREAT, 0600, &f))
		f = NULL;
	memset(buf, id, 1 << 20);
	for (;;) {
		struct stat st;
		ssize_t r;
		int was_killed = __atomic_load_n(&killed, __ATOMIC_ACQUIRE);

		if (f && (id & 1))
			r = vdax_pwrite(f, buf, 1 << 20, 0);
		else if (f)
			r = vdax_pread(f, buf, 1 << 20, 0);
		else
			r = vdax_stat(vd, "/", &st);
		if (was_killed) {
			long ms = ms_since(&kill_time);

			if (ms > worst_ms[id])
				worst_ms[id] = ms;
			if (r == -ENOTCONN) {
				saw_enotconn[id] = 1;
				break;
			}
			if (r < 0)
				bad_err[id] = (int)r;
			if (ms > 3000)
				break;
		}
	}
	/* later calls fail too */
	{
		struct stat st;

		if (vdax_stat(vd, "/", &st) != -ENOTCONN)
			bad_err[id] = -1;
	}
	vdax_release(f);
	free(buf);
	return NULL;
}

int main(void)
{
	struct vdax_opts o = { 0 };
	pthread_t t[NTHREADS];
	struct stat st;
	int ret, all = 1;
	long worst = 0;

	tb_require();
	tb_init(&be);
	if (tb_start(&be)) {
		tb_cleanup(&be);
		tap_bail("backend did not start");
	}
	o.socket_path = be.sock;
	ret = tb_open_session(&o, &vd);
	is_int(ret, 0, "open session");
	if (ret) {
		tb_cleanup(&be);
		return tap_done();
	}
	for (long i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	tb_sleep_ms(300);
	clock_gettime(CLOCK_MONOTONIC, &kill_time);
	__atomic_store_n(&killed, 1, __ATOMIC_RELEASE);
	tb_kill(&be);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < NTHREADS; i++) {
		if (!saw_enotconn[i] || bad_err[i]) {
			diag("thread %d: enotconn %d other error %d", i,
			     saw_enotconn[i], bad_err[i]);
			all = 0;
		}
		if (worst_ms[i] > worst)
			worst = worst_ms[i];
	}
	ok(all, "every thread got -ENOTCONN and nothing else");
	ok(worst < 1000, "calls failed within a second (worst %ld ms)", worst);
	is_int(vdax_stat(vd, "/", &st), -ENOTCONN, "later stat -> ENOTCONN");
	is_int(vdax_mkdir(vd, "/x", 0755), -ENOTCONN, "later mkdir -> ENOTCONN");
	vdax_close(vd);
	ok(1, "vdax_close returned");
	tb_cleanup(&be);
	return tap_done();
}
