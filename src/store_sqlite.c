/*
 * The SQLite backend of the message store: the database file's
 * connections (opening and closing them: store_open, store_close), the
 * helpers its three files share, the writer connection and the SQL of
 * the writes, and the engine store.c opens (store_sqlite_engine).  The
 * group-commit writer (store_writer.c) runs its batches
 * through the steps given here (sqlite_backend): BEGIN IMMEDIATE, a
 * statement or two per op, COMMIT, with synchronous=NORMAL.  With
 * StoreSync full the WAL is then synced through a file of our own
 * (wal_sync), which is what synchronous=FULL does at COMMIT, in two
 * steps, so that the writer can deliver between them.  The reads are in
 * store_sqlite_read.c, file identity, schema and migration in
 * store_sqlite_schema.c.  It decides nothing about batches, waiting or
 * when retention runs, and holds no lock: the writer connection is used
 * by one thread at a time, which the writer chooses.
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "store_sqlite_int.h"
#include "store_writer.h"
#include "util.h"

#define BUSY_TIMEOUT_MS		5000

enum wstmt {
	W_BEGIN,
	W_COMMIT,
	W_ROLLBACK,
	W_QUEUED,
	W_QUEUED_FROM,
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
	[W_QUEUED_FROM] = "SELECT count(*) FROM (SELECT 1 FROM messages "
	    "INDEXED BY messages_undelivered "
	    "WHERE recipient = ?1 AND delivered_at IS NULL AND sender = ?2 "
	    "LIMIT ?3)",
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
	[W_RETAIN] = "DELETE FROM messages WHERE id IN (SELECT id "
	    "FROM messages WHERE delivered_at IS NOT NULL AND id < coalesce("
	    "(SELECT id FROM messages WHERE sent_at >= ?1 ORDER BY id "
	    "LIMIT 1), (SELECT max(id) FROM messages)) ORDER BY id LIMIT ?2)",
	/* Room lines older than the newest ?1 (none when there are fewer). */
	[W_RETAIN_ROOM] = "DELETE FROM messages WHERE id IN (SELECT id "
	    "FROM messages WHERE recipient = '*' AND id < (SELECT id "
	    "FROM messages WHERE recipient = '*' ORDER BY id DESC LIMIT 1 "
	    "OFFSET ?1 - 1) ORDER BY id LIMIT ?2)",
	[W_SETTING_SET] = "INSERT OR REPLACE INTO settings(user, key, value) "
	    "VALUES (?1, ?2, ?3)",
	[W_SETTING_DEL] = "DELETE FROM settings WHERE user = ?1 AND key = ?2",
};

static struct {
	char *path;
	struct store_options opt;
	sqlite3 *wdb;			/* the thread running a batch */
	sqlite3_stmt *w[W_COUNT];
	sqlite3_file *wal;		/* the sync leader's; NULL: not open */
} st;

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
		    path, *db != NULL ? sqlite3_errmsg(*db) :
		    sqlite3_errstr(rc));
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
		if (st.opt.max_queued_per_sender > 0 &&
		    op->msg_kind == STORE_MSG) {
			*what = "counting undelivered messages from the sender";
			s = st.w[W_QUEUED_FROM];
			rc = sq_bind(s, "tti", op->b, op->a,
			    (int64_t)st.opt.max_queued_per_sender);
			if (rc == SQLITE_OK) {
				rc = sq_query_int64(s, &queued);
			}
			if (rc != SQLITE_OK) {
				return rc;
			}
			if (queued >= st.opt.max_queued_per_sender) {
				op->res = STORE_FULL_SHARE;
				set_err(op->err, sizeof(op->err), "%s has %d "
				    "undelivered messages from %s", op->b,
				    st.opt.max_queued_per_sender, op->a);
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

/* One chunk of a retention DELETE (stmt), in autocommit. */
static int64_t
delete_chunk(int stmt, int64_t a, int64_t chunk, bool *refuse)
{
	int rc;

	rc = sq_bind(st.w[stmt], "ii", a, chunk);
	if (rc == SQLITE_OK) {
		rc = sq_exec(st.w[stmt]);
	}
	if (rc != SQLITE_OK) {
		error("%s: deleting old %s: %s", st.path,
		    stmt == W_RETAIN ? "messages" : "room lines",
		    sqlite3_errmsg(st.wdb));
		*refuse = fatal_rc(rc);
		return -1;
	}
	return sqlite3_changes(st.wdb);
}

static int64_t
sqlite_retain(int64_t cutoff_ms, int64_t chunk, bool *refuse)
{
	return delete_chunk(W_RETAIN, cutoff_ms, chunk, refuse);
}

static int64_t
sqlite_retain_room(int64_t keep, int64_t chunk, bool *refuse)
{
	return delete_chunk(W_RETAIN_ROOM, keep, chunk, refuse);
}

static const struct store_backend sqlite_backend = {
	.begin = sqlite_begin,
	.run = sqlite_run,
	.commit = sqlite_commit,
	.rollback = sqlite_rollback,
	.sync = wal_sync,
	.retain = sqlite_retain,
	.retain_room = sqlite_retain_room,
};

static void
teardown(void)
{
	sq_read_close();
	sq_finalize_all(st.w, W_COUNT);
	sq_close_db(&st.wdb);
	free(st.path);
	st.path = NULL;
}

static int
sqlite_open(const char *path, const struct store_options *opt, char *err,
    size_t errlen)
{
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
	if (sq_read_open(st.path, err, errlen) < 0) {
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

static void
sqlite_close(void)
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

const struct store_engine store_sqlite_engine = {
	.name = "sqlite",
	.open = sqlite_open,
	.close = sqlite_close,
	.undelivered = sq_undelivered,
	.history = sq_history,
	.room = sq_room,
	.room_last_id = sq_room_last_id,
	.settings = sq_settings,
	.count_undelivered = sq_count_undelivered,
	.count_messages = sq_count_messages,
	.last_login = sq_last_login,
	.max_session_id = sq_max_session_id,
	.open_sessions = sq_open_sessions,
	.size = sq_size,
};
