/*
 * What the files of the PostgreSQL backend share, and nothing else
 * includes: store_pg.c (the writer connection and the SQL of the writes,
 * open and close, the engine), store_pg_conn.c (connecting, results and
 * errors), store_pg_read.c (the reader connection and the reads),
 * store_pg_schema.c (the schema, its version, migration).  The helpers
 * are named pq_ (libpq's own are PQ).
 */
#ifndef STORE_PG_INT_H
#define STORE_PG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

/* Built-in type OIDs (pg_type.h is the server's, not libpq's). */
#define PQ_BYTEA	17
#define PQ_INT8		20
#define PQ_INT4		23
#define PQ_TEXT		25

/* One statement to prepare on a connection. */
struct pq_stmt {
	const char *name;
	const char *sql;
	int nparams;
	const Oid *types;
};

/* store_pg_conn.c: helpers for every connection. */

/*
 * Connect with conninfo (the StoreURL), log libpq's notices instead of
 * printing them, and prepare n statements.  NULL with err set.
 */
PGconn *pq_connect(const char *conninfo, const struct pq_stmt *stmts,
    size_t n, char *err, size_t errlen);
int pq_prepare_all(PGconn *c, const struct pq_stmt *stmts, size_t n,
    char *err, size_t errlen);
/*
 * Is where something libpq can connect with (a conninfo, a URI, a
 * database name, "" for its defaults)?  Parsed only.  -1 with err set.
 */
int pq_check_conninfo(const char *where, char *err, size_t errlen);
/* The one value a query (constant SQL) returns; NULL on error. */
char *pq_show(PGconn *c, const char *sql);
/* The connection's database and server, for the log (no password). */
char *pq_describe(PGconn *c);
/* libpq's last error on c, without its final newline. */
const char *pq_error(PGconn *c, char *buf, size_t len);
/* A result's error (SQLSTATE and primary message) for the log. */
const char *pq_result_error(const PGresult *r, char *buf, size_t len);
/* What a failed statement means to the person whose message it was. */
const char *pq_reason(const PGresult *r, PGconn *c);
/* An integer column of a binary result (2, 4 or 8 bytes); NULL is 0. */
int64_t pq_get_int(const PGresult *r, int row, int col);
/* Is s valid UTF-8 (the text PostgreSQL accepts) without control bytes? */
bool pq_text_ok(const char *s);

/* store_pg_read.c: the reader connection, opened after the schema. */
int pq_read_open(const char *conninfo, const char *name, char *err,
    size_t errlen);
void pq_read_close(void);
/* The engine's reads (store_int.h). */
struct store_message;
struct store_open_session;
int pq_undelivered(const char *user, int64_t after_id, size_t limit,
    struct store_message **out);
int pq_history(const char *user, const char *peer, size_t limit,
    struct store_message **out);
int pq_room(int64_t after_id, size_t limit, struct store_message **out);
int64_t pq_room_last_id(void);
int pq_settings(const char *user, void (*fn)(const char *key,
    const char *value, void *arg), void *arg);
int64_t pq_count_undelivered(const char *user);
int64_t pq_count_messages(void);
int64_t pq_last_login(const char *user);
int64_t pq_max_session_id(void);
int pq_open_sessions(struct store_open_session **out);
int64_t pq_size(void);

/* store_pg_schema.c */

/*
 * Create the tables in a database (a schema of it: the first of its
 * search_path) that has none of them, migrate an older version of
 * ours, refuse a newer one or tables of the same names that are not
 * ours; under an advisory lock, so daemons starting together do it
 * once.  c is outside any transaction and pipeline.  -1 with err set.
 */
int pq_setup_schema(PGconn *c, const char *name, char *err, size_t errlen);

#endif
