/*
 * What a backend of the message store gives store_engine.c, which sends
 * store.h's open, close and reads to the backend that was opened: one
 * struct store_engine per backend (store_sqlite.c, store_pg.c).  The
 * writes do not pass here: every backend hands its batch steps to the
 * one group-commit writer (store_writer.h), which makes store.h's write
 * functions.  Only store_engine.c and the backends include this.
 */
#ifndef STORE_INT_H
#define STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* A session row left open (a crash), for store_recover_sessions(). */
struct store_open_session {
	int64_t id;
	int64_t login_ms;
	char *user;
	char *addr;
};

/*
 * A backend's entry points.  The reads are called only after open
 * succeeded, from any thread; each returns -1 (logged) on error and
 * when the backend is closed.  store_engine.c has already waited for the
 * writes a read must see (writer_sync_reads) and answered limit 0.
 */
struct store_engine {
	const char *name;	/* the Store keyword's word: "sqlite" */
	/*
	 * Check where (a file, a conninfo) without opening anything, for
	 * sshchatd -t; NULL: nothing to check.  -1 with err set.
	 */
	int (*check)(const char *where, char *err, size_t errlen);
	/* Open, create or migrate, start the writer; -1 with err set. */
	int (*open)(const char *where, const struct store_options *opt,
	    char *err, size_t errlen);
	void (*close)(void);
	int (*undelivered)(const char *user, int64_t after_id, size_t limit,
	    struct store_message **out);
	int (*history)(const char *user, const char *peer, size_t limit,
	    struct store_message **out);
	int (*room)(int64_t after_id, size_t limit,
	    struct store_message **out);
	int64_t (*room_last_id)(void);
	int (*settings)(const char *user, void (*fn)(const char *key,
	    const char *value, void *arg), void *arg);
	int64_t (*count_undelivered)(const char *user);	/* NULL: all */
	int64_t (*count_messages)(void);
	int64_t (*last_login)(const char *user);	/* -1 on error */
	int64_t (*max_session_id)(void);		/* -1 on error */
	/* Sessions with no logout, by id; the count or -1. */
	int (*open_sessions)(struct store_open_session **out);
	int64_t (*size)(void);
};

extern const struct store_engine store_sqlite_engine;
#ifdef HAVE_LIBPQ
extern const struct store_engine store_pg_engine;
#endif

#endif
