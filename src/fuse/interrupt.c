// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Ending requests that may block indefinitely (today: SETLKW).
 *
 * Such a request registers its worker thread while it blocks. FUSE_INTERRUPT
 * for its unique, or a cancel of the whole connection (the frontend is gone,
 * or a ring is stopping and must drain), sends that thread FUSE_SRV_SIGNAL,
 * whose handler does nothing and is installed without SA_RESTART, so the
 * blocking syscall returns EINTR and the request answers -EINTR, as the
 * guest kernel expects of an interrupted request.
 *
 * A signal can land just before the thread enters the syscall, so the
 * sender repeats it until the request has unregistered. Registration is
 * kept on the request's stack; it is only touched under srv->intr_lock.
 */
#include <errno.h>
#include <signal.h>
#include <time.h>

#include "common/log.h"
#include "fuse/internal.h"

#define FUSE_SRV_SIGNAL (SIGRTMIN + 2)
#define KICK_INTERVAL_NS (2 * 1000 * 1000)
#define KICK_TRIES 2500 /* 5 s */

static void intr_handler(int sig)
{
	(void)sig; /* its only job is to make the blocked syscall return */
}

int fuse_intr_init(struct fuse_srv *srv)
{
	struct sigaction sa = { .sa_handler = intr_handler };

	sigemptyset(&sa.sa_mask);
	if (sigaction(FUSE_SRV_SIGNAL, &sa, NULL) < 0)
		return -errno;
	pthread_mutex_init(&srv->intr_lock, NULL);
	return 0;
}

void fuse_intr_destroy(struct fuse_srv *srv)
{
	pthread_mutex_destroy(&srv->intr_lock);
}

/* Returns -EINTR if the connection is being cancelled: do not block. */
int fuse_intr_enter(struct fuse_srv *srv, struct fuse_blocker *b,
		    uint64_t unique)
{
	int ret = 0;

	b->unique = unique;
	b->thread = pthread_self();
	pthread_mutex_lock(&srv->intr_lock);
	if (srv->cancelling) {
		ret = -EINTR;
	} else {
		b->next = srv->blockers;
		srv->blockers = b;
	}
	pthread_mutex_unlock(&srv->intr_lock);
	return ret;
}

void fuse_intr_leave(struct fuse_srv *srv, struct fuse_blocker *b)
{
	struct fuse_blocker **pp;

	pthread_mutex_lock(&srv->intr_lock);
	for (pp = &srv->blockers; *pp; pp = &(*pp)->next) {
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	}
	pthread_mutex_unlock(&srv->intr_lock);
}

/*
 * Signal every registered request matching @unique (all with @all) until
 * none is left; bounded, since a request may be stuck in something no
 * signal ends. Returns the number of kicks sent.
 */
static unsigned kick(struct fuse_srv *srv, bool all, uint64_t unique)
{
	const struct timespec pause = { 0, KICK_INTERVAL_NS };
	unsigned sent = 0;

	for (unsigned i = 0; i < KICK_TRIES; i++) {
		bool found = false;

		pthread_mutex_lock(&srv->intr_lock);
		for (struct fuse_blocker *b = srv->blockers; b; b = b->next) {
			if (all || b->unique == unique) {
				found = true;
				pthread_kill(b->thread, FUSE_SRV_SIGNAL);
				sent++;
			}
		}
		pthread_mutex_unlock(&srv->intr_lock);
		if (!found)
			return sent;
		nanosleep(&pause, NULL);
	}
	VLOG_WARN("fuse: a blocked request did not end after %u signals", sent);
	return sent;
}

void fuse_intr_request(struct fuse_srv *srv, uint64_t unique)
{
	kick(srv, false, unique);
}

void fuse_srv_cancel(struct fuse_srv *srv, bool on)
{
	pthread_mutex_lock(&srv->intr_lock);
	srv->cancelling = on;
	pthread_mutex_unlock(&srv->intr_lock);
	if (on && kick(srv, true, 0))
		VLOG_INFO("fuse: interrupted blocked requests so the queues "
			  "can drain");
}

void fuse_intr_resume(struct fuse_srv *srv)
{
	fuse_srv_cancel(srv, false);
}
