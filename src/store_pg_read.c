/*
 * The reads of the PostgreSQL message store, on the reader connection,
 * which it owns: one connection shared under a mutex (rlock), as the
 * SQLite backend's, its statements prepared once, results in binary.  A
 * read that finds the connection lost makes it again and tries once
 * more (a read changes nothing).  They are the PostgreSQL engine's reads
 * (store_int.h), called through store_engine.c, which has already
 * waited for the writes a read must see (writer_sync_reads) and closes
 * the open sessions it finds through the writer.  It never writes.
 */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
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
	R_SIZE,
	R_ROOM,
	R_ROOM_LAST,
	R_SETTINGS,
	R_COUNT
};

static const Oid t_i8_i8[] = { PQ_TEXT, PQ_INT8, PQ_INT8 };
static const Oid t_t_i8[] = { PQ_TEXT, PQ_TEXT, PQ_INT8 };
static const Oid t_i8[] = { PQ_TEXT, PQ_INT8 };
static const Oid i8_i8[] = { PQ_INT8, PQ_INT8 };

static const struct pq_stmt rstmts[R_COUNT] = {
	[R_UNDELIVERED] = { "r_undelivered", "SELECT " MSG_COLUMNS " FROM "
	    "messages WHERE recipient = $1 AND delivered_at IS NULL AND "
	    "id > $2 ORDER BY id LIMIT $3", 3, t_i8_i8 },
	/*
	 * Each direction reads its own index newest first; UNION rather
	 * than UNION ALL so a message to oneself is listed once.
	 */
	[R_HISTORY_PEER] = { "r_history_peer", "SELECT * FROM ("
	    "(SELECT " MSG_COLUMNS " FROM messages WHERE sender = $1 AND "
	    "recipient = $2 ORDER BY id DESC LIMIT $3) UNION "
	    "(SELECT " MSG_COLUMNS " FROM messages WHERE sender = $2 AND "
	    "recipient = $1 ORDER BY id DESC LIMIT $3) "
	    "ORDER BY id DESC LIMIT $3) AS h ORDER BY id", 3, t_t_i8 },
	[R_HISTORY_ALL] = { "r_history_all", "SELECT * FROM ("
	    "(SELECT " MSG_COLUMNS " FROM messages WHERE sender = $1 AND "
	    "kind = 0 ORDER BY id DESC LIMIT $2) UNION "
	    "(SELECT " MSG_COLUMNS " FROM messages WHERE recipient = $1 "
	    "ORDER BY id DESC LIMIT $2) "
	    "ORDER BY id DESC LIMIT $2) AS h ORDER BY id", 2, t_i8 },
	[R_COUNT_UNDELIVERED_USER] = { "r_count_undelivered_user",
	    "SELECT count(*) FROM messages WHERE recipient = $1 AND "
	    "delivered_at IS NULL", 1, t_i8 },
	[R_COUNT_UNDELIVERED] = { "r_count_undelivered", "SELECT count(*) "
	    "FROM messages WHERE delivered_at IS NULL", 0, NULL },
	[R_COUNT_MESSAGES] = { "r_count_messages", "SELECT count(*) FROM "
	    "messages", 0, NULL },
	[R_LAST_LOGIN] = { "r_last_login", "SELECT coalesce(max(login_at), "
	    "0) FROM sessions WHERE username = $1", 1, t_i8 },
	[R_MAX_SESSION] = { "r_max_session", "SELECT coalesce(max(id), 0) "
	    "FROM sessions", 0, NULL },
	[R_OPEN_SESSIONS] = { "r_open_sessions", "SELECT id, username, addr, "
	    "login_at FROM sessions WHERE logout_at IS NULL ORDER BY id", 0,
	    NULL },
	/* The store's tables, not the rest of a database it may share. */
	[R_SIZE] = { "r_size", "SELECT coalesce(sum("
	    "pg_total_relation_size(t)), 0)::int8 FROM unnest(ARRAY["
	    "'messages', 'sessions', 'settings', "
	    "'schema_version']::regclass[]) AS t", 0, NULL },
	[R_ROOM] = { "r_room", "SELECT * FROM (SELECT " MSG_COLUMNS " FROM "
	    "messages WHERE recipient = '*' AND id > $1 ORDER BY id DESC "
	    "LIMIT $2) AS r ORDER BY id", 2, i8_i8 },
	[R_ROOM_LAST] = { "r_room_last", "SELECT coalesce(max(id), 0) FROM "
	    "messages WHERE recipient = '*'", 0, NULL },
	/* In byte order, as SQLite's. */
	[R_SETTINGS] = { "r_settings", "SELECT key, value FROM settings "
	    "WHERE username = $1 ORDER BY key COLLATE \"C\"", 1, t_i8 },
};

static struct {
	char *conninfo;			/* under rlock, as are name and rc */
	const char *name;		/* the database, for the log */
	PGconn *rc;
} rd;

static pthread_mutex_t rlock = PTHREAD_MUTEX_INITIALIZER;

int
pq_read_open(const char *conninfo, const char *name, char *err,
    size_t errlen)
{
	int ret = -1;

	pthread_mutex_lock(&rlock);
	rd.rc = pq_connect(conninfo, rstmts, R_COUNT, err, errlen);
	if (rd.rc != NULL) {
		rd.conninfo = xstrdup(conninfo);
		rd.name = name;
		ret = 0;
	}
	pthread_mutex_unlock(&rlock);
	return ret;
}

void
pq_read_close(void)
{
	pthread_mutex_lock(&rlock);
	PQfinish(rd.rc);
	rd.rc = NULL;
	if (rd.conninfo != NULL) {
		secure_zero(rd.conninfo, strlen(rd.conninfo));
	}
	free(rd.conninfo);
	rd.conninfo = NULL;
	rd.name = NULL;
	pthread_mutex_unlock(&rlock);
}

/* Parameters as text: a few names and numbers. */
struct params {
	const char *v[3];
	char num[3][24];
	int n;
};

static void
p_text(struct params *p, const char *s)
{
	p->v[p->n++] = s;
}

static void
p_int(struct params *p, int64_t x)
{
	snprintf(p->num[p->n], sizeof(p->num[0]), "%" PRId64, x);
	p->v[p->n] = p->num[p->n];
	p->n++;
}

/*
 * Run reader statement i, the caller holding rlock; a connection found
 * lost is made again, and the statement run again, once.  NULL (logged
 * unless the store is closed) on error.
 */
static PGresult *
rexec(enum rstmt i, const struct params *p, const char *what)
{
	char err[512];
	PGresult *r = NULL;

	if (rd.conninfo == NULL) {
		return NULL;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		if (rd.rc == NULL || PQstatus(rd.rc) != CONNECTION_OK) {
			PQfinish(rd.rc);
			rd.rc = pq_connect(rd.conninfo, rstmts, R_COUNT, err,
			    sizeof(err));
			if (rd.rc == NULL) {
				error("%s: %s: %s", rd.name, what, err);
				return NULL;
			}
			info("%s: reader connected again", rd.name);
		}
		r = PQexecPrepared(rd.rc, rstmts[i].name, rstmts[i].nparams,
		    p != NULL ? p->v : NULL, NULL, NULL, 1);
		if (PQresultStatus(r) == PGRES_TUPLES_OK) {
			return r;
		}
		if (PQstatus(rd.rc) == CONNECTION_OK) {
			break;
		}
		PQclear(r);
		r = NULL;
	}
	error("%s: %s: %s", rd.name, what, r != NULL ?
	    pq_result_error(r, err, sizeof(err)) :
	    pq_error(rd.rc, err, sizeof(err)));
	PQclear(r);
	return NULL;
}

static void
copy_name(char *dst, const PGresult *r, int row, int col)
{
	int n = PQgetlength(r, row, col);

	if (n < 0 || PQgetisnull(r, row, col)) {
		n = 0;
	}
	if (n > STORE_NAME_MAX) {
		n = STORE_NAME_MAX;
	}
	memcpy(dst, PQgetvalue(r, row, col), (size_t)n);
	dst[n] = '\0';
}

/* The message rows of r (MSG_COLUMNS); the count.  Clears r. */
static int
read_messages(PGresult *r, struct store_message **out)
{
	int n = PQntuples(r), len;
	struct store_message *v = n > 0 ? xcalloc((size_t)n, sizeof(*v)) :
	    NULL;

	for (int i = 0; i < n; i++) {
		struct store_message *m = &v[i];

		m->id = pq_get_int(r, i, 0);
		m->sent_ms = pq_get_int(r, i, 1);
		m->delivered_ms = pq_get_int(r, i, 2);
		copy_name(m->sender, r, i, 3);
		copy_name(m->recipient, r, i, 4);
		len = PQgetlength(r, i, 5);
		if (len < 0) {
			len = 0;
		}
		m->body = xmalloc((size_t)len + 1);
		memcpy(m->body, PQgetvalue(r, i, 5), (size_t)len);
		m->body[len] = '\0';
		m->body_len = (size_t)len;
		m->kind = (int)pq_get_int(r, i, 6);
	}
	PQclear(r);
	*out = v;
	return n;
}

static int64_t
clamp_limit(size_t limit)
{
	return limit > INT_MAX ? INT_MAX : (int64_t)limit;
}

/* Run a message query and collect its rows; -1 on error. */
static int
messages(enum rstmt i, const struct params *p, const char *what,
    struct store_message **out)
{
	PGresult *r;
	int n = -1;

	pthread_mutex_lock(&rlock);
	r = rexec(i, p, what);
	if (r != NULL) {
		n = read_messages(r, out);
	}
	pthread_mutex_unlock(&rlock);
	return n;
}

int
pq_undelivered(const char *user, int64_t after_id, size_t limit,
    struct store_message **out)
{
	struct params p = { .n = 0 };

	p_text(&p, user);
	p_int(&p, after_id);
	p_int(&p, clamp_limit(limit));
	return messages(R_UNDELIVERED, &p, "reading undelivered messages",
	    out);
}

int
pq_history(const char *user, const char *peer, size_t limit,
    struct store_message **out)
{
	struct params p = { .n = 0 };

	p_text(&p, user);
	if (peer != NULL) {
		p_text(&p, peer);
	}
	p_int(&p, clamp_limit(limit));
	return messages(peer != NULL ? R_HISTORY_PEER : R_HISTORY_ALL, &p,
	    "reading history", out);
}

int
pq_room(int64_t after_id, size_t limit, struct store_message **out)
{
	struct params p = { .n = 0 };

	p_int(&p, after_id);
	p_int(&p, clamp_limit(limit));
	return messages(R_ROOM, &p, "reading room lines", out);
}

/* One integer from reader statement i, bound with user if not NULL. */
static int64_t
read_int64(enum rstmt i, const char *user, const char *what)
{
	struct params p = { .n = 0 };
	PGresult *r;
	int64_t v = -1;

	if (user != NULL) {
		p_text(&p, user);
	}
	pthread_mutex_lock(&rlock);
	r = rexec(i, &p, what);
	if (r != NULL) {
		v = PQntuples(r) == 1 ? pq_get_int(r, 0, 0) : 0;
		PQclear(r);
	}
	pthread_mutex_unlock(&rlock);
	return v;
}

int64_t
pq_room_last_id(void)
{
	return read_int64(R_ROOM_LAST, NULL, "reading the last room line");
}

int64_t
pq_count_undelivered(const char *user)
{
	if (user == NULL) {
		return read_int64(R_COUNT_UNDELIVERED, NULL,
		    "counting undelivered messages");
	}
	return read_int64(R_COUNT_UNDELIVERED_USER, user,
	    "counting undelivered messages");
}

int64_t
pq_count_messages(void)
{
	return read_int64(R_COUNT_MESSAGES, NULL, "counting messages");
}

int64_t
pq_last_login(const char *user)
{
	return read_int64(R_LAST_LOGIN, user, "reading the last login");
}

int64_t
pq_max_session_id(void)
{
	return read_int64(R_MAX_SESSION, NULL,
	    "reading the highest session id");
}

int64_t
pq_size(void)
{
	return read_int64(R_SIZE, NULL, "reading the size of the store");
}

int
pq_open_sessions(struct store_open_session **out)
{
	struct store_open_session *v = NULL;
	PGresult *r;
	int n = -1;

	*out = NULL;
	pthread_mutex_lock(&rlock);
	r = rexec(R_OPEN_SESSIONS, NULL, "reading open sessions");
	if (r != NULL) {
		n = PQntuples(r);
		v = n > 0 ? xcalloc((size_t)n, sizeof(*v)) : NULL;
		for (int i = 0; i < n; i++) {
			v[i].id = pq_get_int(r, i, 0);
			v[i].user = xstrndup(PQgetvalue(r, i, 1),
			    (size_t)PQgetlength(r, i, 1));
			v[i].addr = xstrndup(PQgetvalue(r, i, 2),
			    (size_t)PQgetlength(r, i, 2));
			v[i].login_ms = pq_get_int(r, i, 3);
		}
		PQclear(r);
	}
	pthread_mutex_unlock(&rlock);
	*out = v;
	return n;
}

int
pq_settings(const char *user, void (*fn)(const char *key,
    const char *value, void *arg), void *arg)
{
	struct params p = { .n = 0 };
	PGresult *r;
	int n = -1;

	p_text(&p, user);
	pthread_mutex_lock(&rlock);
	r = rexec(R_SETTINGS, &p, "reading settings");
	pthread_mutex_unlock(&rlock);
	if (r == NULL) {
		return -1;
	}
	/* Binary text is the text itself, NUL-terminated by libpq. */
	n = PQntuples(r);
	for (int i = 0; i < n; i++) {
		fn(PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), arg);
	}
	PQclear(r);
	return n;
}
