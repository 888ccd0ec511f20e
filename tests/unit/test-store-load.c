/*
 * test-store (test-store.h) under load and under kill -9: concurrent
 * senders (distinct ids, each sender's in order, all there), a sending
 * process killed while it appends (every acknowledged message there
 * after a restart), and the rate of acknowledged appends it prints.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test-store.h"

struct sender {
	int thread;
	int count;
	int64_t *ids;
	int ok;
};

static void *
sender_main(void *p)
{
	struct sender *a = p;
	char from[16], body[32];
	int64_t id;

	snprintf(from, sizeof(from), "t%d", a->thread);
	for (int i = 0; i < a->count; i++) {
		snprintf(body, sizeof(body), "%d:%d", a->thread, i);
		id = 0;
		if (append(from, "sink", body, &id) == STORE_OK) {
			a->ids[a->ok++] = id;
		}
	}
	return NULL;
}

static int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Start nthreads senders of count messages each; returns seconds. */
static double
run_senders(int nthreads, int count, struct sender *a, pthread_t *tid)
{
	int64_t t0 = now_ms();
	int i, started = 0;

	for (i = 0; i < nthreads; i++) {
		a[i].thread = i;
		a[i].count = count;
		a[i].ok = 0;
		a[i].ids = xcalloc((size_t)count, sizeof(int64_t));
		if (pthread_create(&tid[i], NULL, sender_main, &a[i]) != 0) {
			break;
		}
		started++;
	}
	CHECK(started == nthreads);
	for (i = 0; i < started; i++) {
		CHECK(pthread_join(tid[i], NULL) == 0);
	}
	return (double)(now_ms() - t0) / 1000.0;
}

void
test_concurrent(void)
{
	enum { THREADS = 8 };
	char *path = tb->new_store("concurrent"), user[16];
	struct sender a[THREADS];
	pthread_t tid[THREADS];
	struct store_message *m = NULL;
	int count = small ? 50 : 500, total = 0, i, j, n;
	int64_t *all;
	bool distinct = true, ordered = true, bodies = true;

	CHECK(open_store(path, 0, 0, false) == 0);
	run_senders(THREADS, count, a, tid);
	all = xcalloc((size_t)THREADS * (size_t)count, sizeof(int64_t));
	for (i = 0; i < THREADS; i++) {
		CHECK(a[i].ok == count);
		for (j = 0; j < a[i].ok; j++) {
			if (j > 0 && a[i].ids[j] <= a[i].ids[j - 1]) {
				ordered = false;
			}
			all[total++] = a[i].ids[j];
		}
	}
	qsort(all, (size_t)total, sizeof(all[0]), cmp_id);
	for (i = 1; i < total; i++) {
		if (all[i] == all[i - 1]) {
			distinct = false;
		}
	}
	CHECK(total == THREADS * count);
	CHECK(distinct);
	CHECK(ordered);
	CHECK(store_count_messages() == THREADS * count);
	CHECK(store_count_undelivered("sink") == THREADS * count);
	/* Each sender's messages come back in the order it sent them. */
	for (i = 0; i < THREADS; i++) {
		snprintf(user, sizeof(user), "t%d", i);
		n = store_history(user, "sink", (size_t)count, &m);
		CHECK(n == count);
		for (j = 0; j < n; j++) {
			char want[32];

			snprintf(want, sizeof(want), "%d:%d", i, j);
			if (strcmp(m[j].body, want) != 0 ||
			    m[j].id != a[i].ids[j]) {
				bodies = false;
			}
		}
		store_messages_free(m, n);
		free(a[i].ids);
	}
	CHECK(bodies);
	free(all);
	store_close();
	free(path);
}

/*
 * A daemon killed while it appends: every acknowledged message is there
 * after a restart (the kill leaves a hot WAL behind).
 */
void
test_crash(void)
{
	char *path = tb->new_store("crash"), body[32];
	struct store_message *m = NULL;
	int64_t id, *acked = NULL;
	size_t n = 0, cap = 0, j = 0;
	int fds[2], status, got, i, want = small ? 20 : 300;
	bool all = true;
	pid_t pid;

	CHECK(pipe(fds) == 0);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		if (open_store(path, 0, 0, true) != 0) {
			_exit(1);
		}
		for (i = 0;; i++) {
			snprintf(body, sizeof(body), "crash %d", i);
			if (append("crash", "sink", body, &id) == STORE_OK &&
			    write(fds[1], &id, sizeof(id)) != sizeof(id)) {
				_exit(1);
			}
		}
	}
	close(fds[1]);
	CHECK(pid > 0);
	while (pid > 0 && (got = (int)read(fds[0], &id, sizeof(id))) ==
	    (int)sizeof(id)) {
		if (n == cap) {
			cap = cap == 0 ? 256 : cap * 2;
			acked = xrealloc(acked, cap * sizeof(*acked));
		}
		acked[n++] = id;
		if (n == (size_t)want) {
			CHECK(kill(pid, SIGKILL) == 0);
		}
	}
	close(fds[0]);
	if (pid > 0) {
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	}
	CHECK(n >= (size_t)want);

	CHECK(open_store(path, 0, 0, true) == 0);
	got = store_history("crash", "sink", n + 100, &m);
	CHECK(got >= (int)n);
	for (i = 0; i < got && j < n; i++) {
		if (m[i].id == acked[j]) {
			j++;
		}
	}
	all = j == n;
	CHECK(all);
	store_messages_free(m, got);
	store_close();
	free(acked);
	free(path);
}

void
bench(void)
{
	enum { THREADS = 50 };
	char *path = tb->new_store("bench");
	struct sender a[THREADS];
	pthread_t tid[THREADS];
	int one = small ? 50 : 1000, each = small ? 5 : 200, total, i;
	double secs;

	CHECK(open_store(path, 0, 0, true) == 0);
	secs = run_senders(1, one, a, tid);
	CHECK(a[0].ok == one);
	free(a[0].ids);
	printf("test-store: %s, synchronous=FULL, 1 thread: %d appends in "
	    "%.2f s, %.0f acknowledged appends/s\n", tb->engine, one, secs,
	    secs > 0 ? one / secs : 0.0);
	secs = run_senders(THREADS, each, a, tid);
	total = 0;
	for (i = 0; i < THREADS; i++) {
		total += a[i].ok;
		free(a[i].ids);
	}
	CHECK(total == THREADS * each);
	printf("test-store: %s, synchronous=FULL, %d threads: %d appends in "
	    "%.2f s, %.0f acknowledged appends/s\n", tb->engine, THREADS, total,
	    secs,
	    secs > 0 ? total / secs : 0.0);
	store_close();
	free(path);
}
