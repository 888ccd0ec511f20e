/*
 * What the files of the PostgreSQL message store share about its
 * connections: making one from the StoreURL (pq_connect: libpq's notices
 * to the log, the statements prepared), checking a StoreURL, naming the
 * database for the log without the conninfo (which may hold a password),
 * and reading results and errors: integers of binary results, what a
 * failure means to a sender (pq_reason), the text PostgreSQL accepts.
 * It holds no connection and no state.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "log.h"
#include "store_pg_int.h"
#include "util.h"

/* A connection that cannot be made in this long is an error. */
#define CONNECT_TIMEOUT_S	"10"

static void
notice(void *arg, const char *message)
{
	size_t n = strlen(message);

	while (n > 0 && message[n - 1] == '\n') {
		n--;
	}
	debug("PostgreSQL: %.*s", (int)n, message);
}

const char *
pq_error(PGconn *c, char *buf, size_t len)
{
	const char *m = c != NULL ? PQerrorMessage(c) : "out of memory";
	size_t n = strlen(m);

	while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' ')) {
		n--;
	}
	if (n == 0) {
		snprintf(buf, len, "unknown error");
	} else {
		snprintf(buf, len, "%.*s", (int)n, m);
	}
	return buf;
}

const char *
pq_result_error(const PGresult *r, char *buf, size_t len)
{
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);

	if (m == NULL) {
		m = PQresultErrorMessage(r);
	}
	snprintf(buf, len, "%s%s%s", m != NULL && *m != '\0' ? m :
	    PQresStatus(PQresultStatus(r)), state != NULL ? ", SQLSTATE " : "",
	    state != NULL ? state : "");
	return buf;
}

const char *
pq_reason(const PGresult *r, PGconn *c)
{
	const char *s = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) :
	    NULL;

	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		return "database connection lost";
	}
	if (s == NULL) {
		return "database error";
	}
	if (strcmp(s, "53100") == 0) {
		return "disk full";
	}
	if (strcmp(s, "25006") == 0) {
		return "read-only database";
	}
	if (strcmp(s, "55P03") == 0) {
		return "database is locked by another process";
	}
	if (strcmp(s, "XX001") == 0 || strcmp(s, "XX002") == 0) {
		return "database is corrupt";
	}
	if (strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0) {
		return "database conflict";
	}
	if (strcmp(s, "57014") == 0) {
		return "database statement timed out";
	}
	if (strncmp(s, "08", 2) == 0 || strncmp(s, "57P", 3) == 0) {
		return "database connection lost";
	}
	if (strncmp(s, "53", 2) == 0) {
		return "database server out of resources";
	}
	if (strncmp(s, "58", 2) == 0) {
		return "I/O error";
	}
	return "database error";
}

int64_t
pq_get_int(const PGresult *r, int row, int col)
{
	const unsigned char *p;
	uint64_t v = 0;
	int len;

	if (PQgetisnull(r, row, col)) {
		return 0;
	}
	p = (const unsigned char *)PQgetvalue(r, row, col);
	len = PQgetlength(r, row, col);
	if (len != 2 && len != 4 && len != 8) {
		return 0;
	}
	for (int i = 0; i < len; i++) {
		v = v << 8 | p[i];
	}
	/* Big-endian two's complement of len bytes. */
	if (len < 8 && (p[0] & 0x80) != 0) {
		v |= ~(uint64_t)0 << (len * 8);
	}
	return (int64_t)v;
}

bool
pq_text_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 :
		    (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
		uint32_t cp = n == 0 ? *p : n == 1 ? *p & 0x1fu :
		    n == 2 ? *p & 0x0fu : *p & 0x07u;

		if (n < 0) {
			return false;
		}
		for (int i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80) {
				return false;
			}
			cp = cp << 6 | (p[i] & 0x3fu);
		}
		/* Overlong forms, surrogates and past U+10FFFF are refused. */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff)) {
			return false;
		}
		p += n + 1;
	}
	return true;
}

int
pq_prepare_all(PGconn *c, const struct pq_stmt *stmts, size_t n, char *err,
    size_t errlen)
{
	char why[256];

	for (size_t i = 0; i < n; i++) {
		PGresult *r = PQprepare(c, stmts[i].name, stmts[i].sql,
		    stmts[i].nparams, stmts[i].types);

		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			set_err(err, errlen, "PostgreSQL message store: "
			    "preparing \"%s\": %s", stmts[i].sql,
			    r != NULL ? pq_result_error(r, why, sizeof(why)) :
			    pq_error(c, why, sizeof(why)));
			PQclear(r);
			return -1;
		}
		PQclear(r);
	}
	return 0;
}

PGconn *
pq_connect(const char *conninfo, const struct pq_stmt *stmts, size_t n,
    char *err, size_t errlen)
{
	/*
	 * The conninfo is expanded in place of dbname: what it says wins
	 * over the keywords before it, the client encoding after it is
	 * ours (names are checked as UTF-8, bodies are bytea).
	 */
	static const char *const kw[] = {
		"connect_timeout", "fallback_application_name", "dbname",
		"client_encoding", NULL
	};
	const char *val[] = {
		CONNECT_TIMEOUT_S, "sshchatd", conninfo, "UTF8", NULL
	};
	char why[512];
	PGconn *c = PQconnectdbParams(kw, val, 1);

	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		set_err(err, errlen, "PostgreSQL message store: cannot "
		    "connect: %s", pq_error(c, why, sizeof(why)));
		PQfinish(c);
		return NULL;
	}
	(void)PQsetNoticeProcessor(c, notice, NULL);
	if (PQserverVersion(c) < 100000) {
		set_err(err, errlen, "PostgreSQL message store: server "
		    "version %d is too old (10 or later is needed)",
		    PQserverVersion(c));
		PQfinish(c);
		return NULL;
	}
	if (pq_prepare_all(c, stmts, n, err, errlen) < 0) {
		PQfinish(c);
		return NULL;
	}
	return c;
}

char *
pq_describe(PGconn *c)
{
	const char *host = PQhost(c), *port = PQport(c), *db = PQdb(c);

	return xasprintf("PostgreSQL database %s (%s%s%s)",
	    db != NULL ? db : "?", host != NULL && *host != '\0' ? host :
	    "default host", port != NULL && *port != '\0' ? " port " : "",
	    port != NULL ? port : "");
}

char *
pq_show(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	char *v = NULL;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
		v = xstrdup(PQgetvalue(r, 0, 0));
	}
	PQclear(r);
	return v;
}

int
pq_check_conninfo(const char *where, char *err, size_t errlen)
{
	PQconninfoOption *o;
	char *msg = NULL;
	size_t n = where != NULL ? strlen(where) : 0;

	if (n >= 2 && where[0] == '"' && where[n - 1] == '"') {
		set_err(err, errlen, "StoreURL: written in quotes, which "
		    "are part of the value here (sshchatd.conf removes them "
		    "around a whole value, -o does not); write the connection "
		    "string without them");
		return -1;
	}
	if (where == NULL || (strchr(where, '=') == NULL &&
	    strncmp(where, "postgresql://", 13) != 0 &&
	    strncmp(where, "postgres://", 11) != 0)) {
		return 0;	/* what libpq takes as a database name */
	}
	o = PQconninfoParse(where, &msg);
	if (o == NULL) {
		n = msg != NULL ? strlen(msg) : 0;
		while (n > 0 && msg[n - 1] == '\n') {
			n--;
		}
		set_err(err, errlen, "StoreURL: %.*s", (int)n,
		    msg != NULL ? msg : "out of memory");
		PQfreemem(msg);
		return -1;
	}
	PQconninfoFree(o);
	return 0;
}
