/*
 * The reads of the SQLite message store, on the reader connection, which
 * it owns: one connection shared under a mutex (rlock), WAL mode letting
 * it read while the writer connection commits.  They are the SQLite
 * engine's reads (store_int.h), called through store_engine.c, which has
 * already waited for the writes a read must see (writer_sync_reads) and
 * closes the open sessions it finds through the writer.  It never writes.
 */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "store_sqlite_int.h"
#include "util.h"

#define MSG_COLUMNS "id, sent_at, delivered_at, sender, recipient, body, kind"

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
	const char *path;		/* the database, for the log */
	sqlite3 *rdb;			/* under rlock, as is r */
	sqlite3_stmt *r[R_COUNT];
} rd;

static pthread_mutex_t rlock = PTHREAD_MUTEX_INITIALIZER;

int
sq_read_open(const char *path, char *err, size_t errlen)
{
	int ret = -1;

	pthread_mutex_lock(&rlock);
	rd.path = path;
	if (sq_open_db(path, path, SQLITE_OPEN_READONLY, &rd.rdb, err,
	    errlen) == 0 &&
	    sq_prepare_all(rd.rdb, path, rsql, rd.r, R_COUNT, err,
	    errlen) == 0) {
		ret = 0;
	}
	pthread_mutex_unlock(&rlock);
	return ret;
}

void
sq_read_close(void)
{
	pthread_mutex_lock(&rlock);
	sq_finalize_all(rd.r, R_COUNT);
	sq_close_db(&rd.rdb);
	rd.path = NULL;
	pthread_mutex_unlock(&rlock);
}

/* Log a failed read; the caller holds rlock. */
static void
read_failed(const char *what, int rc)
{
	error("%s: %s: %s", rd.path != NULL ? rd.path : "message store",
	    what, rd.rdb != NULL ? sqlite3_errmsg(rd.rdb) : sqlite3_errstr(rc));
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
sq_undelivered(const char *user, int64_t after_id, size_t limit,
    struct store_message **out)
{
	sqlite3_stmt *s;
	int n, rc;

	pthread_mutex_lock(&rlock);
	if (rd.rdb == NULL) {
		pthread_mutex_unlock(&rlock);
		return -1;
	}
	s = rd.r[R_UNDELIVERED];
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
sq_history(const char *user, const char *peer, size_t limit,
    struct store_message **out)
{
	sqlite3_stmt *s;
	int n, rc;

	pthread_mutex_lock(&rlock);
	if (rd.rdb == NULL) {
		pthread_mutex_unlock(&rlock);
		return -1;
	}
	if (peer != NULL) {
		s = rd.r[R_HISTORY_PEER];
		rc = sq_bind(s, "tti", user, peer, clamp_limit(limit));
	} else {
		s = rd.r[R_HISTORY_ALL];
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

/* One integer from reader statement i, bound with user if not NULL. */
static int64_t
read_int64(enum rstmt i, const char *user, const char *what)
{
	int64_t v = -1;
	int rc;

	pthread_mutex_lock(&rlock);
	if (rd.rdb == NULL) {
		pthread_mutex_unlock(&rlock);
		return -1;
	}
	rc = user != NULL ? sq_bind(rd.r[i], "t", user) : SQLITE_OK;
	if (rc == SQLITE_OK) {
		rc = sq_query_int64(rd.r[i], &v);
	}
	if (rc != SQLITE_OK) {
		read_failed(what, rc);
		v = -1;
	}
	pthread_mutex_unlock(&rlock);
	return v;
}

int64_t
sq_count_undelivered(const char *user)
{
	if (user == NULL) {
		return read_int64(R_COUNT_UNDELIVERED, NULL,
		    "counting undelivered messages");
	}
	return read_int64(R_COUNT_UNDELIVERED_USER, user,
	    "counting undelivered messages");
}

int64_t
sq_count_messages(void)
{
	return read_int64(R_COUNT_MESSAGES, NULL, "counting messages");
}

int64_t
sq_last_login(const char *user)
{
	return read_int64(R_LAST_LOGIN, user, "reading the last login");
}

int64_t
sq_max_session_id(void)
{
	return read_int64(R_MAX_SESSION, NULL,
	    "reading the highest session id");
}

int64_t
sq_size(void)
{
	int64_t pages, size;

	pages = read_int64(R_PAGE_COUNT, NULL, "reading the page count");
	size = read_int64(R_PAGE_SIZE, NULL, "reading the page size");
	if (pages < 0 || size < 0) {
		return -1;
	}
	return pages * size;
}

int
sq_open_sessions(struct store_open_session **out)
{
	struct store_open_session *v = NULL;
	sqlite3_stmt *s;
	const unsigned char *user, *addr;
	size_t n = 0, cap = 0;
	int rc;

	*out = NULL;
	pthread_mutex_lock(&rlock);
	if (rd.rdb == NULL) {
		pthread_mutex_unlock(&rlock);
		return -1;
	}
	s = rd.r[R_OPEN_SESSIONS];
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
	if (rc != SQLITE_DONE) {
		for (size_t i = 0; i < n; i++) {
			free(v[i].user);
			free(v[i].addr);
		}
		free(v);
		return -1;
	}
	*out = v;
	return (int)n;
}

int
sq_settings(const char *user, void (*fn)(const char *key,
    const char *value, void *arg), void *arg)
{
	sqlite3_stmt *s;
	int rc, n = 0;

	pthread_mutex_lock(&rlock);
	if (rd.rdb == NULL) {
		pthread_mutex_unlock(&rlock);
		return -1;
	}
	s = rd.r[R_SETTINGS];
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
sq_room(int64_t after_id, size_t limit, struct store_message **out)
{
	sqlite3_stmt *s;
	int n;

	pthread_mutex_lock(&rlock);
	if (rd.rdb == NULL) {
		pthread_mutex_unlock(&rlock);
		return -1;
	}
	s = rd.r[R_ROOM];
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
sq_room_last_id(void)
{
	return read_int64(R_ROOM_LAST, NULL, "reading the last room line");
}
