/*
 * The session threads: one per connection, started by the listener
 * (session_start) and counted, so that shutdown can wait for them.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "session.h"
#include "session_int.h"

static atomic_ulong next_id;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t count_cond = PTHREAD_COND_INITIALIZER;
static unsigned nthreads;		/* under count_lock */

void
session_set_first_id(unsigned long id)
{
	next_id = id - 1;
}

/*
 * Session threads are kept for the next connection when they finish:
 * creating a thread, faulting its stack in and releasing it again cost
 * more than a login's key exchange.  At most POOL_IDLE_MAX wait, each
 * for POOL_IDLE_MS at most.
 */
#define POOL_IDLE_MAX 32
#define POOL_IDLE_MS (60 * 1000)

static struct sess *pool_job;		/* under count_lock */
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;
static unsigned pool_idle;
static bool pool_closed;

static void *
session_main(void *arg)
{
	struct sess *s = arg;

	(void)pthread_setname_np(pthread_self(), "session");
	for (;;) {
		struct timespec ts;

		sess_run(s);
		pthread_mutex_lock(&count_lock);
		nthreads--;
		metrics.session_threads = nthreads;
		pthread_cond_broadcast(&count_cond);
		if (pool_closed || pool_idle >= POOL_IDLE_MAX) {
			pthread_mutex_unlock(&count_lock);
			break;
		}
		pool_idle++;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += POOL_IDLE_MS / 1000;
		while (pool_job == NULL && !pool_closed) {
			if (pthread_cond_timedwait(&pool_cond, &count_lock,
			    &ts) != 0) {
				break;
			}
		}
		s = pool_job;
		pool_job = NULL;
		pool_idle--;
		pthread_cond_broadcast(&count_cond);
		pthread_mutex_unlock(&count_lock);
		if (s == NULL) {
			break;
		}
	}
	return NULL;
}

/* Hand s to an idle session thread; false if there is none. */
static bool
pool_hand_over(struct sess *s)
{
	bool taken = false;

	pthread_mutex_lock(&count_lock);
	if (pool_idle > 0 && pool_job == NULL && !pool_closed) {
		pool_job = s;
		nthreads++;
		metrics.session_threads = nthreads;
		taken = true;
		pthread_cond_signal(&pool_cond);
	}
	pthread_mutex_unlock(&count_lock);
	return taken;
}

void
session_pool_close(void)
{
	pthread_mutex_lock(&count_lock);
	pool_closed = true;
	pthread_cond_broadcast(&pool_cond);
	/* None may still be running while the libraries are torn down. */
	while (pool_idle > 0) {
		pthread_cond_wait(&count_cond, &count_lock);
	}
	pthread_mutex_unlock(&count_lock);
}

int
session_start(void *ssh, const char *addr, const char *ip,
    struct gate_conn *gate)
{
	struct sess *s = sess_new(ssh, addr, ip, gate, ++next_id);
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	if (s == NULL) {
		return -1;
	}
	if (pool_hand_over(s)) {
		return 0;
	}
	pthread_mutex_lock(&count_lock);
	nthreads++;
	metrics.session_threads = nthreads;
	pthread_mutex_unlock(&count_lock);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, session_main, s);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		error("pthread_create: %s", strerror(rc));
		pthread_mutex_lock(&count_lock);
		nthreads--;
		metrics.session_threads = nthreads;
		pthread_mutex_unlock(&count_lock);
		sess_discard(s);
		return -1;
	}
	return 0;
}

unsigned
session_threads(void)
{
	unsigned n;

	pthread_mutex_lock(&count_lock);
	n = nthreads;
	pthread_mutex_unlock(&count_lock);
	return n;
}

void
session_wait_all(int timeout_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&count_lock);
	while (nthreads > 0) {
		if (pthread_cond_timedwait(&count_cond, &count_lock, &ts) != 0) {
			break;
		}
	}
	pthread_mutex_unlock(&count_lock);
}
