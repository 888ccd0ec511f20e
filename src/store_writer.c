/*
 * The group-commit writer of the message store, the same for every
 * backend (store_writer.h): it owns the queue of writes, the writer
 * thread, the batches and who runs them, the sync leader, the waiting
 * threads' semaphores, the store's failed state and the schedule of
 * retention, and store.h's write functions, which only make ops.  One
 * thread at a time has the backend's batch steps (w.running): it takes
 * every queued write (appends, delivery marks, session rows) in one
 * transaction and wakes each sender after COMMIT returned, so a message
 * is never acknowledged before it is committed.  That is the writer
 * thread, or, when the store is quiet, the thread that queued an append
 * and would otherwise wake the writer and sleep (writer_submit_wait).
 * With sync_full and a backend whose COMMIT is not durable by itself
 * (be->sync), the messages are delivered after COMMIT (show_before_sync),
 * so recipients need not wait for the disk, and the writer goes on with
 * the next batch while the appending threads sync (lead_sync); appends
 * are acknowledged after the sync.  One sync covers every batch
 * committed before it began.  After a failure the backend calls fatal
 * (an I/O error) or a failed sync, the store refuses every write until
 * restarted, because a retried fsync can report success for data that
 * was lost.  It must not know a database: no SQL, no backend types.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "store.h"
#include "store_writer.h"
#include "util.h"

#define BATCH_MAX		1000
#define WRITER_STACK		(256 * 1024)
#define RETENTION_EVERY_MS	(60 * 60 * 1000)
#define RETENTION_CHUNK		1000
#define DAY_MS			(24LL * 60 * 60 * 1000)
/*
 * Writes nobody waits for (delivered marks, session rows, settings) wait
 * this long for company before their own COMMIT, so a login storm or a
 * busy room shares one fsync among many of them; a waited write takes
 * them along at once.
 */
#define ASYNC_COMMIT_MS		50

#define ERR_FAILED "message store failed after an I/O error; restart the " \
	"daemon"
/* What the sender of an append whose sync failed is told. */
#define ERR_SYNC "I/O error"

static struct {
	const struct store_backend *be;
	const char *name;		/* the database, for the log */
	bool sync;			/* appends wait for be->sync() */
	bool show_before_sync;		/* written() before the sync */
	int retention_days;
	int room_max;			/* room lines kept; 0: all */
	pthread_t writer;
	pthread_cond_t work;		/* queue not empty, or stopping */
	struct op *head, *tail;		/* under qlock, as are the flags */
	int64_t head_ms;		/* when head was queued */
	unsigned nwaited;		/* queued ops someone waits for */
	unsigned pending[OP_KINDS];	/* queued or running, by kind */
	bool accepting;
	bool stopping;
	bool failed;
	struct op *unsynced, *unsynced_tail;	/* committed, not synced */
	bool syncing;			/* a thread is in lead_sync() */
	bool running;			/* a thread runs a batch */
	/* Writer thread only. */
	int64_t next_retention;
	bool retaining;
	int64_t retained, retained_room;
} w;

static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;

/*
 * One transaction for every op of the batch.  Returns true when the
 * store must refuse every later write.
 */
static bool
run_batch(struct op *batch, bool failed)
{
	const struct store_backend *be = w.be;
	struct backend_err e;
	struct op *op;
	int64_t now = wall_ms(), t0 = metrics_clock();
	int appends = 0, others = 0;
	enum backend_rc rc;

	if (failed) {
		for (op = batch; op != NULL; op = op->next) {
			op->res = STORE_ERROR;
			set_err(op->err, sizeof(op->err), "%s", ERR_FAILED);
		}
		return true;
	}
	if (be->begin(&e) != BACKEND_OK) {
		goto fail;
	}
	for (op = batch; op != NULL; op = op->next) {
		op->res = STORE_OK;
		rc = be->run(op, now, &e);
		if (rc == BACKEND_OK) {
			continue;
		}
		if (rc != BACKEND_SOFT) {
			goto fail;
		}
		/* Only this op failed; the transaction goes on. */
		error("%s: %s: %s", w.name, e.what, e.msg);
		op->res = STORE_ERROR;
		set_err(op->err, sizeof(op->err), "%s", e.reason);
	}
	if (be->commit(&e) != BACKEND_OK) {
		goto fail;
	}
	metrics_observe(&metrics.store_commit, metrics_clock() - t0);
	return false;

fail:
	be->rollback();
	for (op = batch; op != NULL; op = op->next) {
		if (op->kind == OP_APPEND) {
			appends++;
		} else {
			others++;
		}
		op->res = STORE_ERROR;
		set_err(op->err, sizeof(op->err), "%s", e.reason);
	}
	error("%s: %s failed: %s (%s); not stored: %d messages, %d other "
	    "writes%s", w.name, e.what, e.msg, e.reason, appends, others,
	    e.fatal ? "; refusing every further write until restarted" : "");
	return e.fatal;
}

/* A waited op is done: wake its thread (only it).  qlock is held. */
static void
op_done(struct op *op)
{
	op->done = true;
	(void)sem_post(&op->sem);
}

/*
 * Sync the WAL for every append committed so far and acknowledge them;
 * qlock is held and dropped meanwhile.  The thread of a committed append
 * does it when no sync is running: it is awake anyway, and the writer
 * goes on committing.  Appends committed during a sync wait for the
 * next one, which the first of them leads.  A failed sync fails every
 * append it was for, and the store with them: after a failed fsync the
 * data may be lost, and a retry may report success.
 */
static void
lead_sync(void)
{
	struct op *list = w.unsynced, *next;
	bool ok = !w.failed;
	int64_t t0;

	w.unsynced = w.unsynced_tail = NULL;
	w.syncing = true;
	pthread_mutex_unlock(&qlock);
	t0 = metrics_clock();
	ok = ok && w.be->sync();
	if (ok) {
		metrics_observe(&metrics.store_sync, metrics_clock() - t0);
	}
	pthread_mutex_lock(&qlock);
	w.syncing = false;
	if (!ok && !w.failed) {
		error("%s: syncing the WAL failed; the last messages may be "
		    "lost; refusing every further write until restarted",
		    w.name);
		w.failed = true;
	}
	for (struct op *op = list; op != NULL; op = next) {
		next = op->next;
		if (!ok) {
			op->res = STORE_ERROR;
			set_err(op->err, sizeof(op->err), "%s",
			    ERR_SYNC);
		}
		op_done(op);
	}
	if (w.unsynced != NULL) {
		/* Committed meanwhile: the next sync is theirs to lead. */
		(void)sem_post(&w.unsynced->sem);
	}
}

/*
 * The batch's messages are committed: before the sync, call their
 * written() here, in the writer thread (their senders are asleep until
 * the sync is done, and waking each of them just to deliver would cost a
 * thread switch per message).  qlock is not held: written() may queue
 * writes of its own (delivery marks).
 */
static void
tell_written(struct op *batch)
{
	for (struct op *op = batch; op != NULL; op = op->next) {
		if (op->kind == OP_APPEND && op->waited &&
		    op->res == STORE_OK && op->on_written != NULL) {
			store_written_fn *fn = op->on_written;

			op->on_written = NULL;
			fn(op->arg, op->out_id);
		}
	}
}

/*
 * Delete one chunk of old delivered messages (MessageRetentionDays) and
 * one of room lines past the newest room_max (RoomHistoryMax).  True on
 * a fatal error.
 */
static bool
retain_step(void)
{
	int64_t changes = 0, room = 0;
	bool refuse = false;

	if (w.retention_days > 0) {
		changes = w.be->retain(wall_ms() - w.retention_days * DAY_MS,
		    RETENTION_CHUNK, &refuse);
		if (changes < 0) {
			w.retaining = false;
			return refuse;
		}
		w.retained += changes;
	}
	if (w.room_max > 0) {
		room = w.be->retain_room(w.room_max, RETENTION_CHUNK, &refuse);
		if (room < 0) {
			w.retaining = false;
			return refuse;
		}
		w.retained_room += room;
	}
	if (changes < RETENTION_CHUNK && room < RETENTION_CHUNK) {
		w.retaining = false;
		if (w.retained > 0) {
			info("%s: deleted %lld delivered messages older than "
			    "%d days", w.name, (long long)w.retained,
			    w.retention_days);
		}
		if (w.retained_room > 0) {
			info("%s: deleted %lld room lines older than the newest "
			    "%d", w.name, (long long)w.retained_room,
			    w.room_max);
		}
	}
	return false;
}

static bool
retention_due(void)
{
	return (w.retention_days > 0 || w.room_max > 0) &&
	    (w.retaining || now_ms() >= w.next_retention);
}

static void
wait_work(void)
{
	struct timespec ts;
	int64_t until;

	if (w.retention_days <= 0 && w.room_max <= 0) {
		pthread_cond_wait(&w.work, &qlock);
		return;
	}
	until = w.next_retention;
	ts.tv_sec = until / 1000;
	ts.tv_nsec = (until % 1000) * 1000000;
	/* ETIMEDOUT is the point; the caller looks at the state again. */
	(void)pthread_cond_timedwait(&w.work, &qlock, &ts);
}

/* Take up to BATCH_MAX queued ops off the queue; qlock is held. */
static struct op *
take_batch(void)
{
	struct op *batch = w.head, **tailp = &batch;

	for (int n = 0; *tailp != NULL && n < BATCH_MAX; n++) {
		if ((*tailp)->waited) {
			w.nwaited--;
		}
		tailp = &(*tailp)->next;
	}
	w.head = *tailp;
	*tailp = NULL;
	if (w.head == NULL) {
		w.tail = NULL;
	} else {
		w.head_ms = now_ms();
	}
	return batch;
}

/*
 * Run one batch of the queue in one transaction and finish its ops: the
 * batch steps are the caller's (w.running).  qlock is held, and
 * dropped meanwhile.  The writer thread also deletes old messages here
 * when that is due (retention).
 */
static void
run_queue(bool retention)
{
	struct op *batch = take_batch(), *op, *next;
	bool failed = w.failed, stopping = w.stopping, refuse = false;

	pthread_mutex_unlock(&qlock);
	if (batch != NULL) {
		refuse = run_batch(batch, failed);
		if (!refuse && !failed && w.sync && w.show_before_sync) {
			tell_written(batch);
		}
	}
	if (retention && !refuse && !failed && !stopping && retention_due()) {
		if (!w.retaining) {
			w.retaining = true;
			w.retained = w.retained_room = 0;
			w.next_retention = now_ms() + RETENTION_EVERY_MS;
		}
		refuse = retain_step();
	}

	pthread_mutex_lock(&qlock);
	if (refuse) {
		w.failed = true;
	}
	for (op = batch; op != NULL; op = next) {
		next = op->next;
		/* Committed: visible to reads. */
		w.pending[op->kind]--;
		if (op->waited && op->kind == OP_APPEND && w.sync &&
		    op->res == STORE_OK && !refuse) {
			/* Acknowledged once synced: see lead_sync(). */
			op->next = NULL;
			if (w.unsynced_tail != NULL) {
				w.unsynced_tail->next = op;
			} else {
				w.unsynced = op;
			}
			w.unsynced_tail = op;
		} else if (op->waited) {
			op_done(op);
		} else {
			free(op);
		}
	}
	if (w.unsynced != NULL && !w.syncing) {
		/* One thread leads the sync; the rest sleep till done. */
		(void)sem_post(&w.unsynced->sem);
	}
}

/*
 * The writer thread: what the threads that wait for their writes do not
 * run themselves (see writer_submit_wait()): writes nobody waits for,
 * which wait up to ASYNC_COMMIT_MS for company, what is queued while
 * another thread runs a batch, and retention.
 */
static void *
writer_main(void *arg)
{
	(void)pthread_setname_np(pthread_self(), "store-writer");
	pthread_mutex_lock(&qlock);
	for (;;) {
		if (w.running) {
			/* A waiting thread runs a batch: it wakes us. */
			pthread_cond_wait(&w.work, &qlock);
			continue;
		}
		if (w.head == NULL && w.stopping) {
			break;
		}
		if (w.head == NULL && !retention_due()) {
			wait_work();
			continue;
		}
		/* Only writes nobody waits for: let a few more join them. */
		while (w.head != NULL && w.nwaited == 0 && !w.stopping &&
		    !w.running && now_ms() < w.head_ms + ASYNC_COMMIT_MS) {
			/* w.work waits on CLOCK_MONOTONIC, as now_ms(). */
			int64_t until = w.head_ms + ASYNC_COMMIT_MS;
			struct timespec ts = {
				.tv_sec = until / 1000,
				.tv_nsec = (until % 1000) * 1000000,
			};

			(void)pthread_cond_timedwait(&w.work, &qlock, &ts);
		}
		if (w.running || (w.head == NULL && !retention_due())) {
			continue;	/* a waiting thread took them */
		}
		w.running = true;
		run_queue(true);
		w.running = false;
	}
	pthread_mutex_unlock(&qlock);
	return NULL;
}

/*
 * Queue op, waking the writer thread unless the caller runs the queue
 * itself; the caller holds qlock and has checked w.accepting.
 */
static void
enqueue(struct op *op, bool wake)
{
	op->next = NULL;
	if (w.tail != NULL) {
		w.tail->next = op;
	} else {
		w.head = op;
		w.head_ms = now_ms();
		if (wake) {
			pthread_cond_signal(&w.work);
		}
	}
	w.tail = op;
	w.pending[op->kind]++;
	if (op->waited) {
		w.nwaited++;
		if (wake) {
			/* It may be holding async writes back: go now. */
			pthread_cond_signal(&w.work);
		}
	}
}

/*
 * Queue op and sleep until the writer ran it.  False if refused.  The
 * writer takes op off the queue (and out of w.tail) before it sets
 * op->done, so a caller's op on the stack is unreferenced once this
 * returns; clang-analyzer cannot see the other thread and says it still
 * is (StackAddressEscape), hence the NOLINTs at the callers.
 */
bool
writer_submit_wait(struct op *op)
{
	bool here;

	op->waited = true;
	op->done = false;
	pthread_mutex_lock(&qlock);
	if (!w.accepting) {
		pthread_mutex_unlock(&qlock);
		op->res = STORE_ERROR;
		set_err(op->err, sizeof(op->err), "message store is not open");
		return false;
	}
	if (w.failed) {
		pthread_mutex_unlock(&qlock);
		op->res = STORE_ERROR;
		set_err(op->err, sizeof(op->err), "%s", ERR_FAILED);
		return false;
	}
	(void)sem_init(&op->sem, 0, 0);
	/*
	 * A quiet store (nobody runs a batch, no sync runs):
	 * run the queue here, this op last, rather than wake the writer
	 * thread to do it, a thread switch less before a message is
	 * delivered.  Under load the writer thread runs the batches: they
	 * grow while the disk syncs, and a session thread stays free for
	 * its own session.
	 */
	here = !w.running && !w.stopping && !w.syncing &&
	    w.unsynced == NULL;
	enqueue(op, !here);
	if (here) {
		w.running = true;
		run_queue(false);
		w.running = false;
		if (w.head != NULL || w.stopping || retention_due()) {
			pthread_cond_signal(&w.work);
		}
	}
	pthread_mutex_unlock(&qlock);
	for (;;) {
		while (sem_wait(&op->sem) != 0 && errno == EINTR) {
			/* a signal: wait on */
		}
		if (op->done) {
			break;	/* set before the post, which orders it */
		}
		/* Asked to lead a sync. */
		pthread_mutex_lock(&qlock);
		if (!w.syncing && w.unsynced != NULL) {
			lead_sync();
		}
		pthread_mutex_unlock(&qlock);
		if (op->done) {
			break;	/* the sync it led was for it too */
		}
	}
	(void)sem_destroy(&op->sem);
	return true;
}

/*
 * Reads see the writes made before them: when a write of this kind is
 * still queued (held back by ASYNC_COMMIT_MS) or running, wait until it
 * is committed.
 */
void
writer_sync_reads(enum op_kind kind)
{
	struct op op = { .kind = OP_NOP };
	bool pending;

	pthread_mutex_lock(&qlock);
	pending = w.pending[kind] > 0;
	pthread_mutex_unlock(&qlock);
	if (pending) {
		/* NOLINTNEXTLINE(clang-analyzer-core.StackAddressEscape) */
		(void)writer_submit_wait(&op);
	}
}

/* Queue a heap op nobody waits for; dropped when writes are refused. */
static void
submit_async(struct op *op)
{
	bool queued = false;

	op->waited = false;
	pthread_mutex_lock(&qlock);
	if (w.accepting && !w.failed) {
		enqueue(op, true);
		queued = true;
	}
	pthread_mutex_unlock(&qlock);
	if (!queued) {
		debug("message store refuses writes; dropped one");
		free(op);
	}
}

/* An async op with copies of up to two strings after it. */
static struct op *
new_op(enum op_kind kind, const char *a, const char *b)
{
	size_t la = a != NULL ? strlen(a) + 1 : 0;
	size_t lb = b != NULL ? strlen(b) + 1 : 0;
	struct op *op = xcalloc(1, sizeof(*op) + la + lb);
	char *p = (char *)(op + 1);

	op->kind = kind;
	if (a != NULL) {
		memcpy(p, a, la);
		op->a = p;
		p += la;
	}
	if (b != NULL) {
		memcpy(p, b, lb);
		op->b = p;
	}
	return op;
}

int
writer_start(const struct store_backend *be, const char *name,
    const struct store_options *opt, char *err, size_t errlen)
{
	pthread_condattr_t ca;
	pthread_attr_t attr;
	int rc;

	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&w.work, &ca) != 0) {
		set_err(err, errlen, "%s: cannot set up the writer queue",
		    name);
		return -1;
	}
	(void)pthread_condattr_destroy(&ca);
	w.be = be;
	w.name = name;
	w.sync = opt->sync_full && be->sync != NULL;
	w.show_before_sync = opt->show_before_sync;
	w.retention_days = opt->retention_days;
	w.room_max = opt->room_history_max;
	w.unsynced = w.unsynced_tail = NULL;
	w.syncing = false;
	w.running = false;
	w.head = w.tail = NULL;
	w.failed = false;
	w.stopping = false;
	w.accepting = true;
	w.retaining = false;
	w.next_retention = now_ms();	/* once at start */
	if (pthread_attr_init(&attr) != 0) {
		set_err(err, errlen, "%s: pthread_attr_init failed", name);
		goto fail;
	}
	rc = pthread_attr_setstacksize(&attr, WRITER_STACK);
	if (rc == 0) {
		rc = pthread_create(&w.writer, &attr, writer_main, NULL);
	}
	(void)pthread_attr_destroy(&attr);
	if (rc != 0) {
		set_err(err, errlen, "%s: cannot start the writer thread: %s",
		    name, strerror(rc));
		goto fail;
	}
	return 0;

fail:
	w.accepting = false;
	(void)pthread_cond_destroy(&w.work);
	return -1;
}

bool
writer_is_open(void)
{
	bool open;

	pthread_mutex_lock(&qlock);
	open = w.accepting || w.stopping;
	pthread_mutex_unlock(&qlock);
	return open;
}

bool
writer_stop(void)
{
	int rc;

	pthread_mutex_lock(&qlock);
	if (!w.accepting) {
		pthread_mutex_unlock(&qlock);
		return false;
	}
	/* The writer commits what is queued before it stops. */
	w.accepting = false;
	w.stopping = true;
	pthread_cond_signal(&w.work);
	pthread_mutex_unlock(&qlock);
	rc = pthread_join(w.writer, NULL);
	if (rc != 0) {
		error("joining the store writer: %s", strerror(rc));
	}
	pthread_mutex_lock(&qlock);
	w.stopping = false;
	/* Appends whose threads have not synced them yet. */
	while (w.syncing || w.unsynced != NULL) {
		if (w.syncing) {
			struct timespec ms = { .tv_nsec = 1000000 };

			pthread_mutex_unlock(&qlock);
			(void)nanosleep(&ms, NULL);
			pthread_mutex_lock(&qlock);
		} else {
			lead_sync();
		}
	}
	pthread_mutex_unlock(&qlock);
	(void)pthread_cond_destroy(&w.work);
	return true;
}

static enum store_result
append(const char *from, const char *to, int kind, const char *body,
    size_t len, int64_t *id, store_written_fn *written, void *arg,
    char *err, size_t errlen)
{
	struct op op;

	if (strlen(from) > STORE_NAME_MAX || strlen(to) > STORE_NAME_MAX) {
		set_err(err, errlen, "user name longer than %d bytes",
		    STORE_NAME_MAX);
		return STORE_ERROR;
	}
	if (len > INT_MAX) {
		set_err(err, errlen, "message too long");
		return STORE_ERROR;
	}
	memset(&op, 0, sizeof(op));
	op.kind = OP_APPEND;
	op.msg_kind = kind;
	op.a = from;
	op.b = to;
	op.body = body != NULL ? body : "";
	op.len = body != NULL ? len : 0;
	op.on_written = written;
	op.arg = arg;
	(void)writer_submit_wait(&op);	/* op.res says if it was refused */
	if (op.res == STORE_OK) {
		if (id != NULL) {
			*id = op.out_id;
		}
		if (op.on_written != NULL) {
			/* Not told before the sync: now. */
			op.on_written(arg, op.out_id);
		}
	} else {
		set_err(err, errlen, "%s", op.err);
	}
	/* op is unreferenced: see writer_submit_wait() */
	return op.res; /* NOLINT(clang-analyzer-core.StackAddressEscape) */
}

enum store_result
store_append(const char *from, const char *to, const char *body, size_t len,
    int64_t *id, store_written_fn *written, void *arg, char *err,
    size_t errlen)
{
	return append(from, to, STORE_MSG, body, len, id, written, arg, err,
	    errlen);
}

enum store_result
store_append_room(const char *from, int kind, const char *body, size_t len,
    int64_t *id, store_written_fn *written, void *arg, char *err,
    size_t errlen)
{
	return append(from, STORE_ROOM, kind, body, len, id, written, arg,
	    err, errlen);
}

void
store_setting_set(const char *user, const char *key, const char *value)
{
	size_t lv = value != NULL ? strlen(value) + 1 : 0;
	struct op *op = new_op(OP_SETTING, user, key);
	struct op *big = xrealloc(op, sizeof(*op) + strlen(user) + 1 +
	    strlen(key) + 1 + lv);
	char *p = (char *)(big + 1);

	/* new_op copied user and key after the op; the value goes last. */
	big->a = p;
	p += strlen(user) + 1;
	big->b = p;
	p += strlen(key) + 1;
	if (value != NULL) {
		memcpy(p, value, lv);
		big->body = p;
	}
	submit_async(big);
}

void
store_mark_delivered(int64_t id)
{
	struct op *op = new_op(OP_MARK, NULL, NULL);

	op->id = id;
	op->ms = wall_ms();
	submit_async(op);
}

void
store_session_open(uint64_t id, const char *user, const char *addr,
    int64_t login_ms)
{
	struct op *op = new_op(OP_SESSION_OPEN, user, addr);

	op->id = (int64_t)id;
	op->ms = login_ms;
	submit_async(op);
}

void
store_session_close(uint64_t id, const char *reason_name, int64_t logout_ms)
{
	struct op *op = new_op(OP_SESSION_CLOSE, reason_name, NULL);

	op->id = (int64_t)id;
	op->ms = logout_ms;
	submit_async(op);
}
