/*
 * The SQLite backend of the message store: the database file's two
 * connections, opening and closing them, and the writes.  The writer
 * connection runs the batches of the group-commit writer
 * (store_writer.c) through the steps it is given here (sqlite_backend):
 * BEGIN IMMEDIATE, one statement or two per op, COMMIT, with
 * synchronous=NORMAL.  With StoreSync full the WAL is synced after the
 * COMMIT through a file of our own (wal_sync), which is what
 * synchronous=FULL does, in two steps, so that the writer can deliver
 * between them.  The read functions share the reader connection under
 * a mutex; WAL mode lets them run while the writer commits.  A file that
 * is not this store's database is never written (store_sqlite_schema.c
 * checks it, and creates or migrates the schema).  It decides nothing
 * about batches, waiting or retention's schedule.
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_sqlite_int.h"
#include "store_writer.h"
#include "util.h"

#define BUSY_TIMEOUT_MS		5000

enum wstmt {
	W_BEGIN,
	W_COMMIT,
	W_ROLLBACK,
	W_QUEUED,
	W_INSERT,
	W_MARK,
	W_SESSION_OPEN,
	W_SESSION_CLOSE,
	W_RECOVER,
	W_RETAIN,
	W_SETTING_SET,
	W_SETTING_DEL,
	W_COUNT
};

#define MSG_COLUMNS "id, sent_at, delivered_at, sender, recipient, body, kind"

static const char *const wsql[W_COUNT] = {
	[W_BEGIN] = "BEGIN IMMEDIATE",
	[W_COMMIT] = "COMMIT",
	[W_ROLLBACK] = "ROLLBACK",
	/*
	 * Counts at most ?2 rows of the partial index.  Without statistics
	 * the planner would take messages_recipient and read every message
	 * the recipient ever got, hence INDEXED BY here and below.
	 */
	[W_QUEUED] = "SELECT count(*) FROM (SELECT 1 FROM messages "
	    "INDEXED BY messages_undelivered "
	    "WHERE recipient = ?1 AND delivered_at IS NULL LIMIT ?2)",
	/* Room lines are delivered when written: they never wait for anyone. */
	[W_INSERT] = "INSERT INTO messages(sent_at, sender, recipient, body, "
	    "kind, delivered_at) VALUES (?1, ?2, ?3, ?4, ?5, "
	    "CASE WHEN ?5 = 0 THEN NULL ELSE ?1 END)",
	[W_MARK] = "UPDATE messages SET delivered_at = ?1 "
	    "WHERE id = ?2 AND delivered_at IS NULL",
	[W_SESSION_OPEN] = "INSERT INTO sessions(id, user, addr, login_at) "
	    "VALUES (?1, ?2, ?3, ?4)",
	[W_SESSION_CLOSE] = "UPDATE sessions SET logout_at = ?1, reason = ?2 "
	    "WHERE id = ?3",
	[W_RECOVER] = "UPDATE sessions SET logout_at = ?1, "
	    "reason = 'crash-recovered' WHERE id <= ?2 AND logout_at IS NULL",
	/*
	 * Ids grow with time, so the old messages are the first rows: stop
	 * at the first one sent after the cutoff.  The newest message is
	 * always kept so that its id is never handed out again.
	 */
	[W_RETAIN] = "DELETE FROM messages WHERE id IN (SELECT id FROM messages "
	    "WHERE delivered_at IS NOT NULL AND id < coalesce("
	    "(SELECT id FROM messages WHERE sent_at >= ?1 ORDER BY id LIMIT 1), "
	    "(SELECT max(id) FROM messages)) ORDER BY id LIMIT ?2)",
	[W_SETTING_SET] = "INSERT OR REPLACE INTO settings(user, key, value) "
	    "VALUES (?1, ?2, ?3)",
	[W_SETTING_DEL] = "DELETE FROM settings WHERE user = ?1 AND key = ?2",
};

enum rstmt {
	R_UNDELIVERED,
	R_HISTORY_PEER,
	R_HISTORY_ALL,
	R_COUNT_UNDELIVERED_USER,
	R_COUNT_UNDELIVERED,
	R_COUNT_MESSAGES,
	R_LAST_LOGIN,
	R_MAX_SESSION,
	R_OPEN_SESSIONS,
	R_PAGE_COUNT,
	R_PAGE_SIZE,
	R_ROOM,
	R_ROOM_LAST,
	R_SETTINGS,
	R_COUNT
};

static const char *const rsql[R_COUNT] = {
	[R_UNDELIVERED] = "SELECT " MSG_COLUMNS " FROM messages "
	    "INDEXED BY messages_undelivered "
	    "WHERE recipient = ?1 AND delivered_at IS NULL AND id > ?2 "
	    "ORDER BY id LIMIT ?3",
	/*
	 * Each direction reads its own index newest first; UNION rather
	 * than UNION ALL so a message to oneself is listed once.
	 */
	[R_HISTORY_PEER] = "SELECT * FROM ("
	    "SELECT * FROM (SELECT " MSG_COLUMNS " FROM messages "
	    "WHERE sender = ?1 AND recipient = ?2 ORDER BY id DESC LIMIT ?3) "
	    "UNION SELECT * FROM (SELECT " MSG_COLUMNS " FROM messages "
	    "WHERE sender = ?2 AND recipient = ?1 ORDER BY id DESC LIMIT ?3) "
	    "ORDER BY id DESC LIMIT ?3) ORDER BY id",
	[R_HISTORY_ALL] = "SELECT * FROM ("
	    "SELECT * FROM (SELECT " MSG_COLUMNS " FROM messages "
	    "WHERE sender = ?1 AND kind = 0 ORDER BY id DESC LIMIT ?2) "
	    "UNION SELECT * FROM (SELECT " MSG_COLUMNS " FROM messages "
	    "WHERE recipient = ?1 ORDER BY id DESC LIMIT ?2) "
	    "ORDER BY id DESC LIMIT ?2) ORDER BY id",
	[R_COUNT_UNDELIVERED_USER] = "SELECT count(*) FROM messages "
	    "INDEXED BY messages_undelivered "
	    "WHERE recipient = ?1 AND delivered_at IS NULL",
	[R_COUNT_UNDELIVERED] = "SELECT count(*) FROM messages "
	    "INDEXED BY messages_undelivered WHERE delivered_at IS NULL",
	[R_COUNT_MESSAGES] = "SELECT count(*) FROM messages",
	[R_LAST_LOGIN] = "SELECT max(login_at) FROM sessions WHERE user = ?1",
	[R_MAX_SESSION] = "SELECT max(id) FROM sessions",
	[R_OPEN_SESSIONS] = "SELECT id, user, addr, login_at FROM sessions "
	    "WHERE logout_at IS NULL ORDER BY id",
	[R_PAGE_COUNT] = "PRAGMA page_count",
	[R_PAGE_SIZE] = "PRAGMA page_size",
	[R_ROOM] = "SELECT * FROM (SELECT " MSG_COLUMNS " FROM messages "
	    "WHERE recipient = '*' AND id > ?1 ORDER BY id DESC LIMIT ?2) "
	    "ORDER BY id",
	[R_ROOM_LAST] = "SELECT coalesce(max(id), 0) FROM messages "
	    "WHERE recipient = '*'",
	[R_SETTINGS] = "SELECT key, value FROM settings WHERE user = ?1 "
	    "ORDER BY key",
};

static struct {
	char *path;
	struct store_options opt;
	sqlite3 *wdb;			/* the thread running a batch */
	sqlite3 *rdb;			/* under rlock */
	sqlite3_stmt *w[W_COUNT];
	sqlite3_stmt *r[R_COUNT];
	sqlite3_file *wal;		/* the syncing thread's; NULL: not open */
} st;

static pthread_mutex_t rlock = PTHREAD_MUTEX_INITIALIZER;

/* What a failed write means to the person whose message it was. */
static const char *
reason(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_FULL:
		return "disk full";
	case SQLITE_READONLY:
		return "read-only database";
	case SQLITE_IOERR:
		return "I/O error";
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return "database is locked by another process";
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return "database is corrupt";
	default:
		return sqlite3_errstr(rc);
	}
}

/* Errors after which no later write can be trusted. */
static bool
fatal_rc(int rc)
{
	if (rc == SQLITE_IOERR_NOMEM) {
		return false;
	}
	return (rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CORRUPT;
}

/* Errors that fail one statement but leave the transaction usable. */
static bool
soft_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_TOOBIG:
	case SQLITE_RANGE:
		return true;
	default:
		return false;
	}
}

int
sq_bind(sqlite3_stmt *s, const char *fmt, ...)
{
	va_list ap;
	const char *p;
	size_t len;
	int i, rc = SQLITE_OK;

	va_start(ap, fmt);
	for (i = 1; *fmt != '\0' && rc == SQLITE_OK; fmt++, i++) {
		switch (*fmt) {
		case 't':
			p = va_arg(ap, const char *);
			rc = sqlite3_bind_text(s, i, p, -1, SQLITE_STATIC);
			break;
		case 'b':
			p = va_arg(ap, const char *);
			len = va_arg(ap, size_t);
			if (len > INT_MAX) {
				rc = SQLITE_TOOBIG;
				break;
			}
			rc = sqlite3_bind_text(s, i, p, (int)len,
			    SQLITE_STATIC);
			break;
		case 'i':
			rc = sqlite3_bind_int64(s, i, va_arg(ap, int64_t));
			break;
		default:
			rc = SQLITE_MISUSE;
			break;
		}
	}
	va_end(ap);
	return rc;
}

int
sq_exec(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sq_reset(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

int
sq_query_int64(sqlite3_stmt *s, int64_t *out)
{
	int rc = sqlite3_step(s);

	*out = 0;
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(s, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	sq_reset(s);
	return rc;
}

void
sq_finalize_all(sqlite3_stmt **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* Returns the last step's error again, not a failure. */
		(void)sqlite3_finalize(v[i]);
		v[i] = NULL;
	}
}

void
sq_close_db(sqlite3 **db)
{
	int rc;

	if (*db == NULL) {
		return;
	}
	rc = sqlite3_close(*db);
	if (rc != SQLITE_OK) {
		error("closing the message database: %s", sqlite3_errstr(rc));
	}
	*db = NULL;
}

int
sq_prepare_all(sqlite3 *db, const char *path, const char *const *sql,
    sqlite3_stmt **v, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		int rc = sqlite3_prepare_v3(db, sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &v[i], NULL);

		if (rc != SQLITE_OK) {
			set_err(err, errlen, "%s: preparing \"%s\": %s",
			    path, sql[i], sqlite3_errmsg(db));
			return -1;
		}
	}
	return 0;
}

int
sq_open_db(const char *filename, const char *path, int flags, sqlite3 **db,
    char *err, size_t errlen)
{
	int rc;

#ifdef SQLITE_OPEN_EXRESCODE
	flags |= SQLITE_OPEN_EXRESCODE;
#endif
	rc = sqlite3_open_v2(filename, db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		set_err(err, errlen, "%s: cannot open the message database: %s",
		    path, *db != NULL ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
		sq_close_db(db);
		return -1;
	}
	rc = sqlite3_extended_result_codes(*db, 1);
	if (rc == SQLITE_OK) {
		rc = sqlite3_busy_timeout(*db, BUSY_TIMEOUT_MS);
	}
	if (rc != SQLITE_OK) {
		set_err(err, errlen, "%s: %s", path, sqlite3_errmsg(*db));
		sq_close_db(db);
		return -1;
	}
	return 0;
}

static int
configure_writer(char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *mode;
	char sync[64];
	int rc;

	rc = sqlite3_prepare_v2(st.wdb, "PRAGMA journal_mode = WAL", -1, &s,
	    NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
	}
	if (rc != SQLITE_ROW) {
		sq_read_err(st.path, st.wdb, rc, err, errlen);
		(void)sqlite3_finalize(s);
		return -1;
	}
	mode = sqlite3_column_text(s, 0);
	if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
		set_err(err, errlen, "%s: cannot use WAL mode (journal mode "
		    "is %s); is the file on a local file system?", st.path,
		    mode != NULL ? (const char *)mode : "unknown");
		(void)sqlite3_finalize(s);
		return -1;
	}
	(void)sqlite3_finalize(s);
	/* FULL is NORMAL plus a sync of the WAL at COMMIT: see wal_sync(). */
	snprintf(sync, sizeof(sync), "PRAGMA synchronous = NORMAL; "
	    "PRAGMA foreign_keys = OFF");
	rc = sqlite3_exec(st.wdb, sync, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		set_err(err, errlen, "%s: %s", st.path, sqlite3_errmsg(st.wdb));
		return -1;
	}
	return 0;
}

/* Run one op inside the batch transaction. */
static int
run_op(struct op *op, int64_t now, const char **what)
{
	sqlite3_stmt *s;
	int64_t queued;
	int rc;

	switch (op->kind) {
	case OP_APPEND:
		if (st.opt.max_queued > 0 && op->msg_kind == STORE_MSG) {
			*what = "counting undelivered messages";
			s = st.w[W_QUEUED];
			rc = sq_bind(s, "ti", op->b,
			    (int64_t)st.opt.max_queued);
			if (rc == SQLITE_OK) {
				rc = sq_query_int64(s, &queued);
			}
			if (rc != SQLITE_OK) {
				return rc;
			}
			if (queued >= st.opt.max_queued) {
				op->res = STORE_FULL_QUEUE;
				set_err(op->err, sizeof(op->err), "%s has %d "
				    "undelivered messages", op->b,
				    st.opt.max_queued);
				return SQLITE_OK;
			}
		}
		*what = "INSERT INTO messages";
		s = st.w[W_INSERT];
		rc = sq_bind(s, "ittbi", now, op->a, op->b, op->body, op->len,
		    (int64_t)op->msg_kind);
		if (rc == SQLITE_OK) {
			rc = sq_exec(s);
		}
		if (rc == SQLITE_OK) {
			op->out_id = sqlite3_last_insert_rowid(st.wdb);
		}
		return rc;
	case OP_MARK:
		*what = "marking a message delivered";
		s = st.w[W_MARK];
		rc = sq_bind(s, "ii", op->ms, op->id);
		break;
	case OP_SESSION_OPEN:
		*what = "INSERT INTO sessions";
		s = st.w[W_SESSION_OPEN];
		rc = sq_bind(s, "itti", op->id, op->a, op->b, op->ms);
		break;
	case OP_SESSION_CLOSE:
		*what = "closing a session row";
		s = st.w[W_SESSION_CLOSE];
		rc = sq_bind(s, "iti", op->ms, op->a, op->id);
		break;
	case OP_RECOVER:
		*what = "closing crashed sessions";
		s = st.w[W_RECOVER];
		rc = sq_bind(s, "ii", op->ms, op->id);
		break;
	case OP_NOP:
		return SQLITE_OK;
	case OP_SETTING:
		*what = "saving a setting";
		if (op->body != NULL) {
			s = st.w[W_SETTING_SET];
			rc = sq_bind(s, "ttt", op->a, op->b, op->body);
		} else {
			s = st.w[W_SETTING_DEL];
			rc = sq_bind(s, "tt", op->a, op->b);
		}
		break;
	default:
		return SQLITE_MISUSE;
	}
	if (rc == SQLITE_OK) {
		rc = sq_exec(s);
	}
	return rc;
}

/*
 * Tell the writer about rc from what: soft (only the op failed) if the
 * transaction is still open.
 */
static enum backend_rc
failed_step(int rc, const char *what, struct backend_err *e)
{
	e->what = what;
	e->reason = reason(rc);
	e->fatal = fatal_rc(rc);
	snprintf(e->msg, sizeof(e->msg), "%s", sqlite3_errmsg(st.wdb));
	if (soft_rc(rc) && !sqlite3_get_autocommit(st.wdb)) {
		return BACKEND_SOFT;
	}
	return BACKEND_FAIL;
}

static enum backend_rc
sqlite_begin(struct backend_err *e)
{
	int rc = sq_exec(st.w[W_BEGIN]);

	return rc == SQLITE_OK ? BACKEND_OK :
	    failed_step(rc, "BEGIN IMMEDIATE", e);
}

static enum backend_rc
sqlite_run(struct op *op, int64_t now, struct backend_err *e)
{
	const char *what = "";
	int rc = run_op(op, now, &what);

	return rc == SQLITE_OK ? BACKEND_OK : failed_step(rc, what, e);
}

static enum backend_rc
sqlite_commit(struct backend_err *e)
{
	int rc = sq_exec(st.w[W_COMMIT]);

	return rc == SQLITE_OK ? BACKEND_OK : failed_step(rc, "COMMIT", e);
}

static void
sqlite_rollback(void)
{
	if (!sqlite3_get_autocommit(st.wdb) &&
	    sq_exec(st.w[W_ROLLBACK]) != SQLITE_OK) {
		error("%s: ROLLBACK: %s", st.path, sqlite3_errmsg(st.wdb));
	}
}

/*
 * Sync the WAL (and, the first time, its directory), as SQLite's
 * synchronous=FULL does at COMMIT; one thread at a time (the writer's
 * sync leader).  Through a file of our own, opened by the same VFS: the
 * writer connection goes on committing meanwhile.  SQLite keeps the WAL
 * file while connections are open (it is reset in place).
 */
static bool
wal_sync(void)
{
	int rc;

	if (st.wal == NULL) {
		sqlite3_vfs *vfs = sqlite3_vfs_find(NULL);
		char *wal = xasprintf("%s-wal", st.path);
		char *dir = xstrdup(st.path), *slash = strrchr(dir, '/');
		int dfd, flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_WAL;

		st.wal = xcalloc(1, (size_t)vfs->szOsFile);
		rc = vfs->xOpen(vfs, wal, st.wal, flags, &flags);
		if (rc != SQLITE_OK) {
			error("%s: cannot open it to sync it: %s", wal,
			    reason(rc));
			if (st.wal->pMethods != NULL) {
				(void)st.wal->pMethods->xClose(st.wal);
			}
			free(st.wal);
			st.wal = NULL;
		}
		/* Its name in the directory must last too. */
		if (slash != NULL) {
			*(slash == dir ? slash + 1 : slash) = '\0';
		}
		dfd = open(slash != NULL ? dir : ".", O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
		free(wal);
		free(dir);
		if (st.wal == NULL) {
			return false;
		}
	}
	rc = st.wal->pMethods->xSync(st.wal, SQLITE_SYNC_NORMAL);
	if (rc != SQLITE_OK) {
		error("%s-wal: sync: %s", st.path, reason(rc));
		return false;
	}
	return true;
}

/* One chunk of old delivered messages; an autocommit DELETE. */
static int64_t
sqlite_retain(int64_t cutoff_ms, int64_t chunk, bool *fatal)
{
	int rc;

	rc = sq_bind(st.w[W_RETAIN], "ii", cutoff_ms, chunk);
	if (rc == SQLITE_OK) {
		rc = sq_exec(st.w[W_RETAIN]);
	}
	if (rc != SQLITE_OK) {
		error("%s: deleting old messages: %s", st.path,
		    sqlite3_errmsg(st.wdb));
		*fatal = fatal_rc(rc);
		return -1;
	}
	return sqlite3_changes(st.wdb);
}

static const struct store_backend sqlite_backend = {
	.begin = sqlite_begin,
	.run = sqlite_run,
	.commit = sqlite_commit,
	.rollback = sqlite_rollback,
	.sync = wal_sync,
	.retain = sqlite_retain,
};

static void
teardown(void)
{
	sq_finalize_all(st.r, R_COUNT);
	sq_finalize_all(st.w, W_COUNT);
	pthread_mutex_lock(&rlock);
	sq_close_db(&st.rdb);
	pthread_mutex_unlock(&rlock);
	sq_close_db(&st.wdb);
	free(st.path);
	st.path = NULL;
}

int
store_open(const char *path, const struct store_options *opt, char *err,
    size_t errlen)
{
	sqlite3 *rdb = NULL;

	if (writer_is_open()) {
		set_err(err, errlen, "%s: the message store is already open",
		    path);
		return -1;
	}
	if (sqlite3_threadsafe() == 0) {
		set_err(err, errlen, "SQLite was built without thread support");
		return -1;
	}
	if (sq_check_existing(path, err, errlen) < 0) {
		return -1;
	}
	st.path = xstrdup(path);
	st.opt = *opt;
	if (sq_open_db(path, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	    &st.wdb, err, errlen) < 0) {
		goto fail;
	}
	if (sqlite3_db_readonly(st.wdb, "main") == 1) {
		set_err(err, errlen, "%s: the message database is read-only; "
		    "sshchatd must be able to write it (check its owner, "
		    "mode and file system)", path);
		goto fail;
	}
	if (sq_setup_schema(st.wdb, st.path, err, errlen) < 0 ||
	    configure_writer(err, errlen) < 0) {
		goto fail;
	}
	if (sq_prepare_all(st.wdb, st.path, wsql, st.w, W_COUNT, err,
	    errlen) < 0) {
		goto fail;
	}
	if (sq_open_db(path, path, SQLITE_OPEN_READONLY, &rdb, err, errlen) < 0) {
		goto fail;
	}
	pthread_mutex_lock(&rlock);
	st.rdb = rdb;
	pthread_mutex_unlock(&rlock);
	if (sq_prepare_all(st.rdb, st.path, rsql, st.r, R_COUNT, err,
	    errlen) < 0) {
		goto fail;
	}

	if (writer_start(&sqlite_backend, st.path, opt, err, errlen) < 0) {
		goto fail;
	}
	return 0;

fail:
	teardown();
	return -1;
}

void
store_close(void)
{
	if (!writer_stop()) {
		return;
	}
	if (st.wal != NULL) {
		(void)st.wal->pMethods->xClose(st.wal);
		free(st.wal);
		st.wal = NULL;
	}
	teardown();
}

/* Log a failed read; the caller holds rlock. */
static void
read_failed(const char *what, int rc)
{
	error("%s: %s: %s", st.path != NULL ? st.path : "message store",
	    what, st.rdb != NULL ? sqlite3_errmsg(st.rdb) : sqlite3_errstr(rc));
}

static void
copy_name(char *dst, sqlite3_stmt *s, int col)
{
	const unsigned char *p = sqlite3_column_text(s, col);
	int n = sqlite3_column_bytes(s, col);

	if (p == NULL || n < 0) {
		n = 0;
	}
	if (n > STORE_NAME_MAX) {
		n = STORE_NAME_MAX;
	}
	if (n > 0) {
		memcpy(dst, p, (size_t)n);
	}
	dst[n] = '\0';
}

/*
 * Step s (bound, under rlock) and collect its message rows.  Returns
 * the count or -1, and resets s.
 */
static int
read_messages(sqlite3_stmt *s, const char *what, struct store_message **out)
{
	struct store_message *v = NULL, *m;
	size_t n = 0, cap = 0;
	const unsigned char *body;
	int rc, len;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			v = xrealloc(v, cap * sizeof(*v));
		}
		m = &v[n];
		memset(m, 0, sizeof(*m));
		m->id = sqlite3_column_int64(s, 0);
		m->sent_ms = sqlite3_column_int64(s, 1);
		m->delivered_ms = sqlite3_column_int64(s, 2);
		copy_name(m->sender, s, 3);
		copy_name(m->recipient, s, 4);
		body = sqlite3_column_text(s, 5);
		len = sqlite3_column_bytes(s, 5);
		if (body == NULL || len < 0) {
			len = 0;
		}
		m->body = xmalloc((size_t)len + 1);
		if (len > 0) {
			memcpy(m->body, body, (size_t)len);
		}
		m->body[len] = '\0';
		m->body_len = (size_t)len;
		m->kind = sqlite3_column_int(s, 6);
		n++;
	}
	if (rc != SQLITE_DONE) {
		read_failed(what, rc);
		sq_reset(s);
		store_messages_free(v, (int)n);
		return -1;
	}
	sq_reset(s);
	*out = v;
	return (int)n;
}

static int64_t
clamp_limit(size_t limit)
{
	return limit > INT_MAX ? INT_MAX : (int64_t)limit;
}

int
store_undelivered(const char *user, int64_t after_id, size_t limit,
    struct store_message **out)
{
	sqlite3_stmt *s;
	int n, rc;

	*out = NULL;
	if (limit == 0) {
		return 0;
	}
	writer_sync_reads(OP_MARK);
	pthread_mutex_lock(&rlock);
	if (st.rdb == NULL) {
		pthread_mutex_unlock(&rlock);
		return -1;
	}
	s = st.r[R_UNDELIVERED];
	rc = sq_bind(s, "tii", user, after_id, clamp_limit(limit));
	if (rc != SQLITE_OK) {
		read_failed("reading undelivered messages", rc);
		n = -1;
	} else {
		n = read_messages(s, "reading undelivered messages", out);
	}
	pthread_mutex_unlock(&rlock);
	return n;
}

int
store_history(const char *user, const char *peer, size_t limit,
    struct store_message **out)
{
	sqlite3_stmt *s;
	int n, rc;

	*out = NULL;
	if (limit == 0) {
		return 0;
	}
	pthread_mutex_lock(&rlock);
	if (st.rdb == NULL) {
		pthread_mutex_unlock(&rlock);
		return -1;
	}
	if (peer != NULL) {
		s = st.r[R_HISTORY_PEER];
		rc = sq_bind(s, "tti", user, peer, clamp_limit(limit));
	} else {
		s = st.r[R_HISTORY_ALL];
		rc = sq_bind(s, "ti", user, clamp_limit(limit));
	}
	if (rc != SQLITE_OK) {
		read_failed("reading history", rc);
		n = -1;
	} else {
		n = read_messages(s, "reading history", out);
	}
	pthread_mutex_unlock(&rlock);
	return n;
}

void
store_messages_free(struct store_message *msgs, int n)
{
	if (msgs == NULL) {
		return;
	}
	for (int i = 0; i < n; i++) {
		free(msgs[i].body);
	}
	free(msgs);
}

/* One integer from reader statement i, bound with user if not NULL. */
static int64_t
read_int64(enum rstmt i, const char *user, const char *what)
{
	int64_t v = -1;
	int rc;

	pthread_mutex_lock(&rlock);
	if (st.rdb == NULL) {
		pthread_mutex_unlock(&rlock);
		return -1;
	}
	rc = user != NULL ? sq_bind(st.r[i], "t", user) : SQLITE_OK;
	if (rc == SQLITE_OK) {
		rc = sq_query_int64(st.r[i], &v);
	}
	if (rc != SQLITE_OK) {
		read_failed(what, rc);
		v = -1;
	}
	pthread_mutex_unlock(&rlock);
	return v;
}

int64_t
store_count_undelivered(const char *user)
{
	writer_sync_reads(OP_MARK);
	if (user == NULL) {
		return read_int64(R_COUNT_UNDELIVERED, NULL,
		    "counting undelivered messages");
	}
	return read_int64(R_COUNT_UNDELIVERED_USER, user,
	    "counting undelivered messages");
}

int64_t
store_count_messages(void)
{
	return read_int64(R_COUNT_MESSAGES, NULL, "counting messages");
}

int64_t
store_last_login(const char *user)
{
	int64_t v;

	writer_sync_reads(OP_SESSION_OPEN);
	writer_sync_reads(OP_SESSION_CLOSE);
	v = read_int64(R_LAST_LOGIN, user, "reading the last login");

	return v < 0 ? 0 : v;
}

uint64_t
store_max_session_id(void)
{
	int64_t v = read_int64(R_MAX_SESSION, NULL,
	    "reading the highest session id");

	return v < 0 ? 0 : (uint64_t)v;
}

int64_t
store_size(void)
{
	int64_t pages, size;

	pages = read_int64(R_PAGE_COUNT, NULL, "reading the page count");
	size = read_int64(R_PAGE_SIZE, NULL, "reading the page size");
	if (pages < 0 || size < 0) {
		return -1;
	}
	return pages * size;
}

struct open_session {
	int64_t id;
	int64_t login_ms;
	char *user;
	char *addr;
};

int
store_recover_sessions(void (*fn)(uint64_t id, const char *user,
    const char *addr, int64_t login_ms, void *arg), void *arg)
{
	struct open_session *v = NULL;
	struct op op;
	sqlite3_stmt *s;
	const unsigned char *user, *addr;
	size_t n = 0, cap = 0, i;
	int rc, ret;

	pthread_mutex_lock(&rlock);
	if (st.rdb == NULL) {
		pthread_mutex_unlock(&rlock);
		return -1;
	}
	s = st.r[R_OPEN_SESSIONS];
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			v = xrealloc(v, cap * sizeof(*v));
		}
		user = sqlite3_column_text(s, 1);
		addr = sqlite3_column_text(s, 2);
		v[n].id = sqlite3_column_int64(s, 0);
		v[n].user = xstrdup(user != NULL ? (const char *)user : "");
		v[n].addr = xstrdup(addr != NULL ? (const char *)addr : "");
		v[n].login_ms = sqlite3_column_int64(s, 3);
		n++;
	}
	if (rc != SQLITE_DONE) {
		read_failed("reading open sessions", rc);
	}
	sq_reset(s);
	pthread_mutex_unlock(&rlock);

	ret = rc == SQLITE_DONE ? (int)n : -1;
	if (ret > 0) {
		/* Called without locks: fn may use the store. */
		for (i = 0; i < n; i++) {
			if (fn != NULL) {
				fn((uint64_t)v[i].id, v[i].user, v[i].addr,
				    v[i].login_ms, arg);
			}
		}
		memset(&op, 0, sizeof(op));
		op.kind = OP_RECOVER;
		op.id = v[n - 1].id;
		op.ms = wall_ms();
		if (!writer_submit_wait(&op) || op.res != STORE_OK) {
			error("%s: closing crashed sessions: %s", st.path,
			    op.err);
			ret = -1;
		}
	}
	for (i = 0; i < n; i++) {
		free(v[i].user);
		free(v[i].addr);
	}
	free(v);
	/* op is unreferenced: see writer_submit_wait() */
	return ret; /* NOLINT(clang-analyzer-core.StackAddressEscape) */
}

int
store_settings(const char *user, void (*fn)(const char *key,
    const char *value, void *arg), void *arg)
{
	sqlite3_stmt *s;
	int rc, n = 0;

	/*
	 * No writer_sync_reads(OP_SETTING): settings are written only through
	 * prefs.c's cache, which reads a user's settings once, before any
	 * write of that user's, and keeps them.
	 */
	pthread_mutex_lock(&rlock);
	if (st.rdb == NULL) {
		pthread_mutex_unlock(&rlock);
		return -1;
	}
	s = st.r[R_SETTINGS];
	rc = sq_bind(s, "t", user);
	while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		fn((const char *)sqlite3_column_text(s, 0),
		    (const char *)sqlite3_column_text(s, 1), arg);
		n++;
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_OK) {
		read_failed("reading settings", rc);
		n = -1;
	}
	sq_reset(s);
	pthread_mutex_unlock(&rlock);
	return n;
}

int
store_room(int64_t after_id, size_t limit, struct store_message **out)
{
	sqlite3_stmt *s;
	int n;

	*out = NULL;
	pthread_mutex_lock(&rlock);
	if (st.rdb == NULL) {
		pthread_mutex_unlock(&rlock);
		return -1;
	}
	s = st.r[R_ROOM];
	if (sq_bind(s, "ii", after_id, clamp_limit(limit)) != SQLITE_OK) {
		sq_reset(s);
		pthread_mutex_unlock(&rlock);
		return -1;
	}
	n = read_messages(s, "reading room lines", out);
	pthread_mutex_unlock(&rlock);
	return n;
}

int64_t
store_room_last_id(void)
{
	return read_int64(R_ROOM_LAST, NULL, "reading the last room line");
}
