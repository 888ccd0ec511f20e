/*
 * What the files of the SQLite backend share, and nothing else includes:
 * store_sqlite.c (the writer connection, the SQL of the writes, open and
 * close, the engine), store_sqlite_read.c (the reader connection and the
 * reads),
 * store_sqlite_schema.c (file identity, schema, migration).
 * The helpers are named sq_ (SQLite's own names are sqlite3_).
 */
#ifndef STORE_SQLITE_INT_H
#define STORE_SQLITE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

/* store_sqlite.c: helpers for every connection. */

/* Open filename (path, or a URI for it); errors name path. */
int sq_open_db(const char *filename, const char *path, int flags,
    sqlite3 **db, char *err, size_t errlen);
void sq_close_db(sqlite3 **db);
int sq_prepare_all(sqlite3 *db, const char *path, const char *const *sql,
    sqlite3_stmt **v, size_t n, char *err, size_t errlen);
void sq_finalize_all(sqlite3_stmt **v, size_t n);
/*
 * Bind parameters 1.. of s from fmt: 't' a NUL-terminated string, 'b' a
 * pointer and a size_t length (text, not copied), 'i' an int64_t.
 */
int sq_bind(sqlite3_stmt *s, const char *fmt, ...);
/* Run a statement that returns no rows; SQLITE_OK on success. */
int sq_exec(sqlite3_stmt *s);
/* Run a query for one integer; a NULL or no row gives 0. */
int sq_query_int64(sqlite3_stmt *s, int64_t *out);

/*
 * sqlite3_reset() repeats the error of the last step, which the caller
 * already has; its own return value carries nothing new.
 */
static inline void
sq_reset(sqlite3_stmt *s)
{
	(void)sqlite3_reset(s);
}

/* store_sqlite_read.c: the reader connection, opened after the schema. */
int sq_read_open(const char *path, char *err, size_t errlen);
void sq_read_close(void);
/* The engine's reads (store_int.h). */
struct store_message;
struct store_open_session;
int sq_undelivered(const char *user, int64_t after_id, size_t limit,
    struct store_message **out);
int sq_history(const char *user, const char *peer, size_t limit,
    struct store_message **out);
int sq_room(int64_t after_id, size_t limit, struct store_message **out);
int64_t sq_room_last_id(void);
int sq_settings(const char *user, void (*fn)(const char *key,
    const char *value, void *arg), void *arg);
int64_t sq_count_undelivered(const char *user);
int64_t sq_count_messages(void);
int64_t sq_last_login(const char *user);
int64_t sq_max_session_id(void);
int sq_open_sessions(struct store_open_session **out);
int64_t sq_size(void);

/* store_sqlite_schema.c */

/*
 * Make sure a non-empty file at path is this store's database (or
 * nothing yet) before anything could write it; -1 with err set.
 */
int sq_check_existing(const char *path, char *err, size_t errlen);
/* Create or migrate the schema through db, the writer connection. */
int sq_setup_schema(sqlite3 *db, const char *path, char *err, size_t errlen);
/* Report rc from reading path; garbage and corruption get one message. */
void sq_read_err(const char *path, sqlite3 *db, int rc, char *err,
    size_t errlen);

#endif
