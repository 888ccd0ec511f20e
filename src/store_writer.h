/*
 * The group-commit writer of the message store, for every backend: the
 * queue of writes (ops), the batches, the sync leader and the threads
 * waiting for their writes.  A backend gives it the steps of one batch
 * (struct store_backend): begin, run one op, commit, rollback, and, if
 * its COMMIT is not durable by itself, a sync of what was committed.
 * The writer decides when and by whom they run; the backend decides
 * only what they do to its database.  Only backends include this.
 */
#ifndef STORE_WRITER_H
#define STORE_WRITER_H

#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

enum op_kind {
	OP_APPEND,
	OP_MARK,
	OP_SESSION_OPEN,
	OP_SESSION_CLOSE,
	OP_RECOVER,
	OP_SETTING,
	OP_NOP,		/* a barrier: done once everything before it is */
	OP_KINDS
};

/*
 * One queued write.  A waited op lives on its caller's stack and the
 * caller sleeps until done; the others are heap copies the writer frees.
 */
struct op {
	struct op *next;
	enum op_kind kind;
	bool waited;
	atomic_bool done;	/* read by its thread without qlock */
	int64_t id;		/* message or session id; recover: highest */
	int64_t ms;		/* delivered, login or logout time */
	const char *a;		/* append: sender; session: user or reason */
	const char *b;		/* append: recipient; session: address */
	const char *body;	/* append: text; setting: value or NULL */
	size_t len;
	int msg_kind;		/* append: enum store_kind */
	/*
	 * waited: posted when done, or when its thread is to lead a sync.
	 * A semaphore, not a condition variable: a thread woken because
	 * its op is done returns without taking qlock again, which the
	 * thread that woke it, and woke the others, still holds.
	 */
	sem_t sem;
	store_written_fn *on_written;	/* append: called once, when written */
	void *arg;
	enum store_result res;
	int64_t out_id;
	char err[128];
};

enum backend_rc {
	BACKEND_OK,
	BACKEND_SOFT,		/* this op failed; the transaction goes on */
	BACKEND_FAIL,		/* the transaction failed */
};

/* What a backend step that failed tells the writer. */
struct backend_err {
	const char *what;	/* the step, for the log: "COMMIT" */
	const char *reason;	/* what the sender is told: "disk full" */
	bool fatal;		/* no later write can be trusted */
	char msg[256];		/* the database's own message, for the log */
};

/*
 * The steps of a batch, run by one thread at a time (the one that has
 * the batch: the writer thread or an appending thread), except sync,
 * which another thread may run meanwhile.  begin, run and commit fill
 * *e when they do not return BACKEND_OK.
 */
struct store_backend {
	enum backend_rc (*begin)(struct backend_err *e);
	/*
	 * Run op inside the transaction, now_ms being the batch's time.
	 * It may answer op itself (op->res, op->err: STORE_FULL_QUEUE) and
	 * return BACKEND_OK; an append sets op->out_id.
	 */
	enum backend_rc (*run)(struct op *op, int64_t now_ms,
	    struct backend_err *e);
	enum backend_rc (*commit)(struct backend_err *e);
	/* End a failed batch's transaction if one is open (logs a failure). */
	void (*rollback)(void);
	/*
	 * Make every batch committed before the call durable; false (logged)
	 * when it failed.  NULL: COMMIT is durable by itself.
	 */
	bool (*sync)(void);
	/*
	 * Outside a batch: delete at most chunk delivered messages sent
	 * before cutoff_ms.  Returns how many, or -1 (logged, *refuse set
	 * when no later write can be trusted).
	 */
	int64_t (*retain)(int64_t cutoff_ms, int64_t chunk, bool *refuse);
	/*
	 * Outside a batch: delete at most chunk room lines older than the
	 * newest keep.  Returns how many, or -1 as retain.
	 */
	int64_t (*retain_room)(int64_t keep, int64_t chunk, bool *refuse);
};

/*
 * Start the writer thread for be; name (the database, for the log) must
 * last until writer_stop() returned.  opt: sync_full (the appends wait
 * for be->sync), show_before_sync, retention_days.  -1 with err set.
 */
int writer_start(const struct store_backend *be, const char *name,
    const struct store_options *opt, char *err, size_t errlen);
/* True from writer_start() until writer_stop() finished. */
bool writer_is_open(void);
/*
 * Refuse new writes, commit and sync what is queued, stop the thread.
 * False if the writer was not running.  Afterwards no thread runs a
 * step of the backend.
 */
bool writer_stop(void);

/*
 * Queue op (on the caller's stack) and sleep until it is done: committed
 * or failed, and for an append with sync_full, synced.  False if it was
 * refused (op->res, op->err say why).
 */
bool writer_submit_wait(struct op *op);
/*
 * Reads see the writes made before them: when a write of this kind is
 * queued or running, wait until it is committed.
 */
void writer_sync_reads(enum op_kind kind);

#endif
