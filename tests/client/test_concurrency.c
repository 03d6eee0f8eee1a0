// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * 16 threads x mixed operations on shared and private files through one
 * session; every byte checked against a model, then against the host.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vdax/vdax.h"
#include "backend.h"

#define NTHREADS 16
#define ITERS 150
#define SLOT 8192 /* each thread owns one slot of the shared file */

static struct tb_backend be;
static struct vdax *vd;
static struct vdax_file *shared;
static unsigned char model[NTHREADS][SLOT];
static int errors[NTHREADS];

static void fail_op(int id, unsigned op, int line)
{
	errors[id]++;
	diag("thread %d: op %u failed (line %d)", id, op, line);
}

static unsigned next_rand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void *worker(void *arg)
{
	int id = (int)(long)arg;
	unsigned seed = 0x1234u + id;
	char path[64], dpath[64];
	unsigned char *priv = calloc(1, 1 << 20), *buf = malloc(1 << 20);
	size_t priv_len = 0;
	struct vdax_file *f;
	int ret;

	snprintf(path, sizeof(path), "/priv-%d", id);
	snprintf(dpath, sizeof(dpath), "/dir-%d", id);
	ret = vdax_open(vd, path, O_RDWR | O_CREAT | O_TRUNC, 0600, &f);
	if (ret) {
		fail_op(id, 99, __LINE__);
		goto out;
	}
	for (int it = 0; it < ITERS; it++) {
		unsigned op = next_rand(&seed) % 8;
		size_t off, len;
		struct stat st;

		switch (op) {
		case 0: /* shared slot write */
		case 1:
			off = next_rand(&seed) % SLOT;
			len = 1 + next_rand(&seed) % (SLOT - off);
			for (size_t i = 0; i < len; i++)
				model[id][off + i] = (unsigned char)next_rand(&seed);
			if (vdax_pwrite(shared, model[id] + off, len,
					(off_t)id * SLOT + off) != (ssize_t)len)
				fail_op(id, op, __LINE__);
			break;
		case 2: /* shared slot read */
			if (vdax_pread(shared, buf, SLOT, (off_t)id * SLOT) !=
				    SLOT ||
			    memcmp(buf, model[id], SLOT))
				fail_op(id, op, __LINE__);
			break;
		case 3: /* private big write (split across requests) */
			off = next_rand(&seed) % (1 << 19);
			len = 1 + next_rand(&seed) % (1 << 19);
			for (size_t i = 0; i < len; i++)
				priv[off + i] = (unsigned char)(it + i + id);
			if (vdax_pwrite(f, priv + off, len, off) != (ssize_t)len)
				fail_op(id, op, __LINE__);
			if (off + len > priv_len)
				priv_len = off + len;
			break;
		case 4: /* private read back */
			if (vdax_pread(f, buf, 1 << 20, 0) != (ssize_t)priv_len ||
			    memcmp(buf, priv, priv_len))
				fail_op(id, op, __LINE__);
			break;
		case 5: /* metadata */
			if (vdax_fstat(f, &st) || st.st_size != (off_t)priv_len)
				fail_op(id, op, __LINE__);
			if (vdax_stat(vd, "/shared", &st))
				fail_op(id, op, __LINE__);
			break;
		case 6: /* namespace churn */
			if ((ret = vdax_mkdir(vd, dpath, 0700)) ||
			    (ret = vdax_stat(vd, dpath, &st)) ||
			    (ret = S_ISDIR(st.st_mode) ? 0 : -1000) ||
			    (ret = vdax_rmdir(vd, dpath))) {
				diag("thread %d: %s: %d", id, dpath, ret);
				fail_op(id, op, __LINE__);
			}
			break;
		default: { /* readdir of the root */
			struct vdax_dir *d;
			struct vdax_dirent e;
			int n = 0, r;

			if (vdax_opendir(vd, "/", &d)) {
				fail_op(id, op, __LINE__);
				break;
			}
			while ((r = vdax_readdir(d, &e)) > 0)
				n++;
			if (r < 0 || n < 3)
				fail_op(id, op, __LINE__);
			vdax_closedir(d);
			break;
		}
		}
	}
	/* final check of the private file from the host */
	{
		char hp[600];
		int fd = open(tb_host(&be, path + 1, hp, sizeof(hp)), O_RDONLY);

		if (fd < 0 || read(fd, buf, 1 << 20) != (ssize_t)priv_len ||
		    memcmp(buf, priv, priv_len))
			fail_op(id, 98, __LINE__);
		if (fd >= 0)
			close(fd);
	}
	vdax_release(f);
out:
	free(priv);
	free(buf);
	return NULL;
}

int main(void)
{
	struct vdax_opts o = { 0 };
	pthread_t t[NTHREADS];
	int ret, total = 0;

	tb_require();
	tb_init(&be);
	if (tb_start(&be)) {
		tb_cleanup(&be);
		tap_bail("backend did not start");
	}
	o.socket_path = be.sock;
	o.queue_size = 64; /* small ring: exercise waiting for descriptors */
	o.mem_size = 32 << 20;
	ret = tb_open_session(&o, &vd);
	is_int(ret, 0, "open session");
	if (ret)
		goto out;
	ret = vdax_open(vd, "/shared", O_RDWR | O_CREAT, 0600, &shared);
	is_int(ret, 0, "create shared file");
	if (ret)
		goto out_close;
	{
		static unsigned char zero[NTHREADS * SLOT];

		is_int(vdax_pwrite(shared, zero, sizeof(zero), 0),
		       (ssize_t)sizeof(zero), "size shared file");
	}
	for (long i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < NTHREADS; i++) {
		if (errors[i])
			diag("thread %d: %d errors", i, errors[i]);
		total += errors[i];
	}
	is_int(total, 0, "%d threads x %d mixed operations matched the model",
	       NTHREADS, ITERS);
	{
		static unsigned char host[NTHREADS * SLOT];
		char hp[600];
		int fd = open(tb_host(&be, "shared", hp, sizeof(hp)), O_RDONLY);

		is_int(read(fd, host, sizeof(host)), (ssize_t)sizeof(host),
		       "host read shared");
		ok(!memcmp(host, model, sizeof(host)),
		   "shared file on the host matches the model");
		close(fd);
	}
	vdax_release(shared);
out_close:
	vdax_close(vd);
out:
	tb_cleanup(&be);
	return tap_done();
}
