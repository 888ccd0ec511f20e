/*
 * The PostgreSQL backend of the message store (Store postgresql): the
 * writer connection and the SQL of the writes as the group-commit
 * writer's batch steps (pg_backend), and the engine store_engine.c opens
 * (store_pg_engine).  A batch is one transaction sent in libpq's
 * pipeline mode: BEGIN, one statement per op and COMMIT go out without
 * waiting, and their results are read after one sync, so a batch costs
 * one round trip however many ops it holds.  COMMIT is durable by
 * itself (synchronous_commit; off with StoreSync normal): there is no
 * sync step.  A writer connection found broken before a batch is made
 * again; one lost during a batch fails that batch, whose senders are
 * told their messages were not sent, never that they were.  The reads
 * are in store_pg_read.c, the schema in store_pg_schema.c, connecting
 * and what the files share in store_pg_conn.c.  It decides
 * nothing about batches, waiting or retention, and holds no lock: the
 * writer connection is used by one thread at a time, which the writer
 * chooses.
 */
#include "config.h"

#include <arpa/inet.h>

#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "store_pg_int.h"
#include "store_writer.h"
#include "util.h"

enum wstmt {
	W_BEGIN,
	W_COMMIT,
	W_ROLLBACK,
	W_INSERT,
	W_MARK,
	W_SESSION_OPEN,
	W_SESSION_CLOSE,
	W_RECOVER,
	W_RETAIN,
	W_RETAIN_ROOM,
	W_SETTING_SET,
	W_SETTING_DEL,
	W_COUNT
};

static const Oid insert_types[] = {
	PQ_INT8, PQ_TEXT, PQ_TEXT, PQ_BYTEA, PQ_INT4, PQ_INT8, PQ_INT8
};
static const Oid i8_i8[] = { PQ_INT8, PQ_INT8 };
static const Oid session_types[] = { PQ_INT8, PQ_TEXT, PQ_TEXT, PQ_INT8 };
static const Oid close_types[] = { PQ_INT8, PQ_TEXT, PQ_INT8 };
static const Oid t_t_t[] = { PQ_TEXT, PQ_TEXT, PQ_TEXT };

static const struct pq_stmt wstmts[W_COUNT] = {
	[W_BEGIN] = { "w_begin", "BEGIN", 0, NULL },
	[W_COMMIT] = { "w_commit", "COMMIT", 0, NULL },
	[W_ROLLBACK] = { "w_rollback", "ROLLBACK", 0, NULL },
	/*
	 * The caps are decided in the statement, so the batch need not wait
	 * for a count: the id comes back NULL when the recipient has $6
	 * undelivered or $7 from this sender, with both counts, which say
	 * which.  Earlier appends of the same transaction are counted.  Room
	 * lines are delivered when written.
	 */
	[W_INSERT] = { "w_insert",
	    "WITH q AS (SELECT "
	    "(SELECT count(*) FROM (SELECT 1 FROM messages WHERE recipient = "
	    "$3 AND delivered_at IS NULL LIMIT greatest($6, 0)) AS a) AS n, "
	    "(SELECT count(*) FROM (SELECT 1 FROM messages WHERE recipient = "
	    "$3 AND delivered_at IS NULL AND sender = $2 "
	    "LIMIT greatest($7, 0)) AS b) AS m), "
	    "ins AS (INSERT INTO messages(sent_at, sender, recipient, body, "
	    "kind, delivered_at) SELECT $1, $2, $3, $4, $5, "
	    "CASE WHEN $5 = 0 THEN NULL ELSE $1 END FROM q "
	    "WHERE $5 <> 0 OR (($6 <= 0 OR q.n < $6) AND ($7 <= 0 OR q.m < $7)) "
	    "RETURNING id) "
	    "SELECT (SELECT id FROM ins), q.n, q.m FROM q", 7, insert_types },
	[W_MARK] = { "w_mark", "UPDATE messages SET delivered_at = $1 "
	    "WHERE id = $2 AND delivered_at IS NULL", 2, i8_i8 },
	/* A duplicate id is logged; it does not fail the batch with it. */
	[W_SESSION_OPEN] = { "w_session_open", "INSERT INTO sessions(id, "
	    "username, addr, login_at) VALUES ($1, $2, $3, $4) "
	    "ON CONFLICT (id) DO NOTHING", 4, session_types },
	[W_SESSION_CLOSE] = { "w_session_close", "UPDATE sessions SET "
	    "logout_at = $1, reason = $2 WHERE id = $3", 3, close_types },
	[W_RECOVER] = { "w_recover", "UPDATE sessions SET logout_at = $1, "
	    "reason = 'crash-recovered' WHERE id <= $2 AND logout_at IS NULL",
	    2, i8_i8 },
	/* As SQLite's: the newest message is kept, old ones go by id. */
	[W_RETAIN] = { "w_retain", "DELETE FROM messages WHERE id IN ("
	    "SELECT id FROM messages WHERE delivered_at IS NOT NULL AND "
	    "id < coalesce((SELECT id FROM messages WHERE sent_at >= $1 "
	    "ORDER BY id LIMIT 1), (SELECT max(id) FROM messages)) "
	    "ORDER BY id LIMIT $2)", 2, i8_i8 },
	/* Room lines older than the newest $1 (none when there are fewer). */
	[W_RETAIN_ROOM] = { "w_retain_room", "DELETE FROM messages WHERE id "
	    "IN (SELECT id FROM messages WHERE recipient = '*' AND id < "
	    "(SELECT id FROM messages WHERE recipient = '*' ORDER BY id DESC "
	    "LIMIT 1 OFFSET $1 - 1) ORDER BY id LIMIT $2)", 2, i8_i8 },
	[W_SETTING_SET] = { "w_setting_set", "INSERT INTO settings(username, "
	    "key, value) VALUES ($1, $2, $3) ON CONFLICT (username, key) "
	    "DO UPDATE SET value = excluded.value", 3, t_t_t },
	[W_SETTING_DEL] = { "w_setting_del", "DELETE FROM settings "
	    "WHERE username = $1 AND key = $2", 2, t_t_t },
};

static struct {
	char *conninfo;			/* the StoreURL: never logged */
	char *name;			/* the database, for the log */
	struct store_options opt;
	PGconn *wc;			/* the thread running a batch */
	bool in_pipeline;		/* sent since the last sync */
	struct op **sent;		/* the batch's ops sent, in order */
	size_t nsent, cap;
} pg;

/*
 * The writer connection's session: StoreSync normal is
 * synchronous_commit off (a crash of the server may lose the last
 * commits, never corrupt); full keeps the server's setting unless it is
 * off.  Then pipeline mode, for the rest of the connection.
 */
static int
configure_writer(PGconn *c, char *err, size_t errlen)
{
	char *sc = pq_show(c, "SHOW synchronous_commit"), why[256];
	const char *set = NULL;
	PGresult *r;

	if (sc == NULL) {
		set_err(err, errlen, "%s: SHOW synchronous_commit: %s",
		    pg.name, pq_error(c, why, sizeof(why)));
		return -1;
	}
	if (!pg.opt.sync_full) {
		set = "SET synchronous_commit TO off";
	} else if (strcmp(sc, "off") == 0) {
		set = "SET synchronous_commit TO on";
	}
	free(sc);
	if (set != NULL) {
		r = PQexec(c, set);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			set_err(err, errlen, "%s: %s: %s", pg.name, set,
			    pq_error(c, why, sizeof(why)));
			PQclear(r);
			return -1;
		}
		PQclear(r);
	}
	if (PQenterPipelineMode(c) != 1) {
		set_err(err, errlen, "%s: cannot enter pipeline mode: %s",
		    pg.name, pq_error(c, why, sizeof(why)));
		return -1;
	}
	pg.in_pipeline = false;
	return 0;
}

/* The writer. */

/*
 * Is the idle writer connection still there?  Idle, the server sends
 * nothing but notices and, when it ends the connection (a restart,
 * pg_terminate_backend), its goodbye and the end of the stream, which
 * reading what is there brings to light.
 */
static bool
writer_alive(void)
{
	struct pollfd pfd;

	if (pg.wc == NULL || PQstatus(pg.wc) != CONNECTION_OK) {
		return false;
	}
	for (int i = 0; i < 4; i++) {
		pfd.fd = PQsocket(pg.wc);
		pfd.events = POLLIN;
		if (pfd.fd < 0 || poll(&pfd, 1, 0) <= 0) {
			break;
		}
		if (PQconsumeInput(pg.wc) != 1) {
			break;
		}
	}
	return PQstatus(pg.wc) == CONNECTION_OK;
}

/* Make the writer connection again; false with e filled. */
static bool
reconnect(struct backend_err *e)
{
	char err[sizeof(e->msg)];

	PQfinish(pg.wc);
	pg.wc = pq_connect(pg.conninfo, wstmts, W_COUNT, err, sizeof(err));
	if (pg.wc != NULL && configure_writer(pg.wc, err, sizeof(err)) < 0) {
		PQfinish(pg.wc);
		pg.wc = NULL;
	}
	if (pg.wc == NULL) {
		e->what = "connecting";
		e->reason = "cannot reach the database";
		e->fatal = false;
		memcpy(e->msg, err, sizeof(e->msg));
		return false;
	}
	info("%s: connected again", pg.name);
	return true;
}

/* Fill e for a failure of what: the result r, or the connection. */
static enum backend_rc
failed(const char *what, const PGresult *r, struct backend_err *e)
{
	e->what = what;
	e->reason = pq_reason(r, pg.wc);
	/*
	 * Never fatal: the server owns durability (a failed fsync there is
	 * a PANIC and a recovery, not a success reported on a lost write),
	 * and a lost connection is made again for the next batch.
	 */
	e->fatal = false;
	if (r != NULL && PQresultStatus(r) == PGRES_FATAL_ERROR) {
		(void)pq_result_error(r, e->msg, sizeof(e->msg));
	} else {
		(void)pq_error(pg.wc, e->msg, sizeof(e->msg));
	}
	return BACKEND_FAIL;
}

/* Queue writer statement i in the pipeline, for op (NULL: none). */
static bool
send_stmt(enum wstmt i, const char *const *v, const int *len,
    const int *fmt, struct op *op)
{
	if (PQsendQueryPrepared(pg.wc, wstmts[i].name, wstmts[i].nparams, v,
	    len, fmt, 1) != 1) {
		return false;
	}
	pg.in_pipeline = true;
	if (op != NULL) {
		if (pg.nsent == pg.cap) {
			pg.cap = pg.cap == 0 ? 64 : pg.cap * 2;
			pg.sent = xrealloc(pg.sent,
			    pg.cap * sizeof(struct op *));
		}
		pg.sent[pg.nsent++] = op;
	}
	return true;
}

/* What statement q of a batch of nops ops did, for the log. */
static const char *
batch_step(struct op *const *ops, size_t nops, size_t q)
{
	if (q == 0) {
		return "BEGIN";
	}
	if (q > nops) {
		return "COMMIT";
	}
	switch (ops != NULL ? ops[q - 1]->kind : OP_NOP) {
	case OP_APPEND:
		return "INSERT INTO messages";
	case OP_MARK:
		return "marking a message delivered";
	case OP_SESSION_OPEN:
		return "INSERT INTO sessions";
	case OP_SESSION_CLOSE:
		return "closing a session row";
	case OP_RECOVER:
		return "closing crashed sessions";
	case OP_SETTING:
		return "saving a setting";
	default:
		return "a write";
	}
}

/* What op's statement returned, r, says about op. */
static void
op_result(struct op *op, PGresult *r)
{
	if (op->kind == OP_APPEND && PQntuples(r) == 1 &&
	    !PQgetisnull(r, 0, 0)) {
		op->out_id = pq_get_int(r, 0, 0);
	} else if (op->kind == OP_APPEND && (PQntuples(r) != 1 ||
	    pg.opt.max_queued_per_sender <= 0 ||
	    (pg.opt.max_queued > 0 && pq_get_int(r, 0, 1) >=
	    pg.opt.max_queued))) {
		op->res = STORE_FULL_QUEUE;
		set_err(op->err, sizeof(op->err), "%s has %d undelivered "
		    "messages", op->b, pg.opt.max_queued);
	} else if (op->kind == OP_APPEND) {
		op->res = STORE_FULL_SHARE;
		set_err(op->err, sizeof(op->err), "%s has %d undelivered "
		    "messages from %s", op->b, pg.opt.max_queued_per_sender,
		    op->a);
	} else if (op->kind == OP_SESSION_OPEN &&
	    strcmp(PQcmdTuples(r), "0") == 0) {
		error("%s: INSERT INTO sessions: session %" PRId64 " exists "
		    "already", pg.name, op->id);
	}
}

/*
 * Read results up to the sync point.  A batch (what NULL) gives each
 * op's result to it (ops: the statements after BEGIN, in order); else
 * what names the statements for the log, and *changes (if not NULL)
 * gets the rows the first one changed.  The first failure fills e.
 * False when anything failed or the sync was not reached.
 */
static bool
read_to_sync(struct op *const *ops, size_t nops, const char *what,
    int64_t *changes, struct backend_err *e)
{
	char why[256];
	size_t q = 0;
	bool ok = true, synced = false;

	while (!synced) {
		PGresult *r = PQgetResult(pg.wc);

		if (r == NULL) {
			if (PQstatus(pg.wc) != CONNECTION_OK || q > nops + 1) {
				break;
			}
			q++;	/* the end of one statement's results */
			continue;
		}
		switch (PQresultStatus(r)) {
		case PGRES_PIPELINE_SYNC:
			synced = true;
			break;
		case PGRES_PIPELINE_ABORTED:
			break;	/* skipped after the failure */
		case PGRES_COMMAND_OK:
		case PGRES_TUPLES_OK:
			if (q >= 1 && q <= nops && ops != NULL) {
				op_result(ops[q - 1], r);
			} else if (changes != NULL) {
				*changes = strtoll(PQcmdTuples(r), NULL, 10);
			}
			if (ok && strcmp(PQcmdStatus(r), "ROLLBACK") == 0 &&
			    q > nops) {
				/* A COMMIT that rolled back. */
				ok = false;
				e->what = "COMMIT";
				e->reason = "database error";
				e->fatal = false;
				snprintf(e->msg, sizeof(e->msg), "the "
				    "transaction was rolled back");
			}
			break;
		default:
			if (ok) {
				ok = false;
				(void)failed(what != NULL ? what :
				    batch_step(ops, nops, q), r, e);
				debug("%s: %s", pg.name,
				    pq_result_error(r, why, sizeof(why)));
			}
			break;
		}
		PQclear(r);
	}
	if (synced) {
		pg.in_pipeline = false;
	} else if (ok) {
		ok = false;
		(void)failed(what != NULL ? what : batch_step(ops, nops, q),
		    NULL, e);
	}
	return ok && synced;
}

static enum backend_rc
pg_begin(struct backend_err *e)
{
	if (!writer_alive() && !reconnect(e)) {
		return BACKEND_FAIL;
	}
	pg.nsent = 0;
	if (!send_stmt(W_BEGIN, NULL, NULL, NULL, NULL)) {
		return failed("BEGIN", NULL, e);
	}
	return BACKEND_OK;
}

/* A statement's parameters: text, or binary (the body) with its length. */
#define PARAMS_MAX 8
struct params {
	const char *v[PARAMS_MAX];
	int len[PARAMS_MAX];
	int fmt[PARAMS_MAX];
	char num[PARAMS_MAX][24];
	int n;
};

static void
p_text(struct params *p, const char *s)
{
	if (p->n >= PARAMS_MAX) {
		abort();	/* a statement with more: a bug here */
	}
	p->v[p->n] = s;
	p->len[p->n] = 0;
	p->fmt[p->n++] = 0;
}

static void
p_int(struct params *p, int64_t x)
{
	snprintf(p->num[p->n], sizeof(p->num[0]), "%" PRId64, x);
	p_text(p, p->num[p->n]);
}

static void
p_bytes(struct params *p, const char *s, size_t len)
{
	if (p->n >= PARAMS_MAX) {
		abort();	/* a statement with more: a bug here */
	}
	p->v[p->n] = s != NULL ? s : "";
	p->len[p->n] = (int)len;	/* append() refused len > INT_MAX */
	p->fmt[p->n++] = 1;
}

static enum backend_rc
pg_run(struct op *op, int64_t now, struct backend_err *e)
{
	struct params p = { .n = 0 };
	enum wstmt i;

	/*
	 * Text PostgreSQL would refuse must not reach it: the failure would
	 * abort the whole batch.  Refused here, only this op fails.
	 */
	if ((op->a != NULL && !pq_text_ok(op->a)) ||
	    (op->b != NULL && !pq_text_ok(op->b)) ||
	    (op->kind == OP_SETTING && op->body != NULL &&
	    !pq_text_ok(op->body))) {
		e->what = "checking a write";
		e->reason = "invalid text";
		e->fatal = false;
		snprintf(e->msg, sizeof(e->msg), "a name or setting is not "
		    "valid UTF-8");
		return BACKEND_SOFT;
	}
	switch (op->kind) {
	case OP_APPEND:
		i = W_INSERT;
		p_int(&p, now);
		p_text(&p, op->a);
		p_text(&p, op->b);
		p_bytes(&p, op->body, op->len);
		p_int(&p, op->msg_kind);
		p_int(&p, op->msg_kind == STORE_MSG ? pg.opt.max_queued : 0);
		p_int(&p, op->msg_kind == STORE_MSG ?
		    pg.opt.max_queued_per_sender : 0);
		break;
	case OP_MARK:
		i = W_MARK;
		p_int(&p, op->ms);
		p_int(&p, op->id);
		break;
	case OP_SESSION_OPEN:
		i = W_SESSION_OPEN;
		p_int(&p, op->id);
		p_text(&p, op->a);
		p_text(&p, op->b);
		p_int(&p, op->ms);
		break;
	case OP_SESSION_CLOSE:
		i = W_SESSION_CLOSE;
		p_int(&p, op->ms);
		p_text(&p, op->a);
		p_int(&p, op->id);
		break;
	case OP_RECOVER:
		i = W_RECOVER;
		p_int(&p, op->ms);
		p_int(&p, op->id);
		break;
	case OP_SETTING:
		i = op->body != NULL ? W_SETTING_SET : W_SETTING_DEL;
		p_text(&p, op->a);
		p_text(&p, op->b);
		if (op->body != NULL) {
			p_text(&p, op->body);
		}
		break;
	case OP_NOP:
		return BACKEND_OK;
	default:
		e->what = "a write";
		e->reason = "internal error";
		e->fatal = false;
		snprintf(e->msg, sizeof(e->msg), "unknown op %d", op->kind);
		return BACKEND_FAIL;
	}
	if (!send_stmt(i, p.v, p.len, p.fmt, op)) {
		return failed(wstmts[i].sql, NULL, e);
	}
	return BACKEND_OK;
}

static enum backend_rc
pg_commit(struct backend_err *e)
{
	if (!send_stmt(W_COMMIT, NULL, NULL, NULL, NULL) ||
	    PQpipelineSync(pg.wc) != 1) {
		return failed("COMMIT", NULL, e);
	}
	return read_to_sync(pg.sent, pg.nsent, NULL, NULL, e) ?
	    BACKEND_OK : BACKEND_FAIL;
}

static void
pg_rollback(void)
{
	struct backend_err e;
	PGTransactionStatusType ts;

	if (pg.wc == NULL || PQstatus(pg.wc) != CONNECTION_OK) {
		return;		/* the next batch connects again */
	}
	if (pg.in_pipeline) {
		/* Sent but not synced: a send failed half way. */
		if (PQpipelineSync(pg.wc) != 1) {
			return;
		}
		(void)read_to_sync(NULL, pg.nsent, "a write", NULL, &e);
	}
	ts = PQtransactionStatus(pg.wc);
	if (ts != PQTRANS_INTRANS && ts != PQTRANS_INERROR) {
		return;
	}
	if (!send_stmt(W_ROLLBACK, NULL, NULL, NULL, NULL) ||
	    PQpipelineSync(pg.wc) != 1) {
		error("%s: ROLLBACK: %s", pg.name, pq_error(pg.wc, e.msg,
		    sizeof(e.msg)));
	} else if (!read_to_sync(NULL, 0, "ROLLBACK", NULL, &e)) {
		error("%s: ROLLBACK: %s", pg.name, e.msg);
	}
}

/* One chunk of a retention DELETE (stmt), a transaction of its own. */
static int64_t
delete_chunk(enum wstmt stmt, int64_t a, int64_t chunk, bool *refuse)
{
	const char *what = stmt == W_RETAIN ? "deleting old messages" :
	    "deleting old room lines";
	struct backend_err e;
	struct params p = { .n = 0 };
	int64_t changes = 0;

	*refuse = false;
	if (!writer_alive() && !reconnect(&e)) {
		error("%s: %s: %s", pg.name, what, e.msg);
		return -1;
	}
	p_int(&p, a);
	p_int(&p, chunk);
	if (!send_stmt(stmt, p.v, p.len, p.fmt, NULL) ||
	    PQpipelineSync(pg.wc) != 1) {
		(void)failed(what, NULL, &e);
		error("%s: %s: %s", pg.name, what, e.msg);
		return -1;
	}
	if (!read_to_sync(NULL, 0, what, &changes, &e)) {
		error("%s: %s: %s", pg.name, what, e.msg);
		return -1;
	}
	return changes;
}

static int64_t
pg_retain(int64_t cutoff_ms, int64_t chunk, bool *refuse)
{
	return delete_chunk(W_RETAIN, cutoff_ms, chunk, refuse);
}

static int64_t
pg_retain_room(int64_t keep, int64_t chunk, bool *refuse)
{
	return delete_chunk(W_RETAIN_ROOM, keep, chunk, refuse);
}

static const struct store_backend pg_backend = {
	.begin = pg_begin,
	.run = pg_run,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.sync = NULL,		/* COMMIT is durable by itself */
	.retain = pg_retain,
	.retain_room = pg_retain_room,
};

/* The engine. */


static void
teardown(void)
{
	pq_read_close();
	PQfinish(pg.wc);
	pg.wc = NULL;
	free(pg.sent);
	pg.sent = NULL;
	pg.nsent = pg.cap = 0;
	if (pg.conninfo != NULL) {
		secure_zero(pg.conninfo, strlen(pg.conninfo));
	}
	free(pg.conninfo);
	pg.conninfo = NULL;
	free(pg.name);
	pg.name = NULL;
}

static int
pg_open(const char *where, const struct store_options *opt, char *err,
    size_t errlen)
{
	char *ro;

	if (pq_check_conninfo(where, err, errlen) < 0) {
		return -1;
	}
	if (PQisthreadsafe() != 1) {
		set_err(err, errlen, "libpq was built without thread support");
		return -1;
	}
	pg.conninfo = xstrdup(where != NULL ? where : "");
	pg.opt = *opt;
	pg.wc = pq_connect(pg.conninfo, NULL, 0, err, errlen);
	if (pg.wc == NULL) {
		goto fail;
	}
	pg.name = pq_describe(pg.wc);
	ro = pq_show(pg.wc, "SHOW transaction_read_only");
	if (ro == NULL || strcmp(ro, "off") != 0) {
		set_err(err, errlen, "%s: the message database is read-only "
		    "(a standby server, or default_transaction_read_only is "
		    "on); sshchatd must be able to write it", pg.name);
		free(ro);
		goto fail;
	}
	free(ro);
	if (pq_setup_schema(pg.wc, pg.name, err, errlen) < 0 ||
	    pq_prepare_all(pg.wc, wstmts, W_COUNT, err, errlen) < 0 ||
	    configure_writer(pg.wc, err, errlen) < 0) {
		goto fail;
	}
	if (pq_read_open(pg.conninfo, pg.name, err, errlen) < 0) {
		goto fail;
	}
	if (writer_start(&pg_backend, pg.name, opt, err, errlen) < 0) {
		goto fail;
	}
	info("%s: message store open", pg.name);
	return 0;

fail:
	teardown();
	return -1;
}

static void
pg_close(void)
{
	if (!writer_stop()) {
		return;
	}
	teardown();
}

const struct store_engine store_pg_engine = {
	.name = "postgresql",
	.check = pq_check_conninfo,
	.open = pg_open,
	.close = pg_close,
	.undelivered = pq_undelivered,
	.history = pq_history,
	.room = pq_room,
	.room_last_id = pq_room_last_id,
	.settings = pq_settings,
	.count_undelivered = pq_count_undelivered,
	.count_messages = pq_count_messages,
	.last_login = pq_last_login,
	.max_session_id = pq_max_session_id,
	.open_sessions = pq_open_sessions,
	.size = pq_size,
};
