/*
 * What the files of test-store share: test-store.c (main, the helpers,
 * the tests every backend must pass), test-store-load.c (concurrent
 * senders, kill -9, the rate of appends), test-store-sqlite.c (the
 * SQLite backend's own: a fault-injecting VFS, files that are not ours,
 * a read-only file, disk full, a failed fsync, the version 1 schema) and
 * test-store-pg.c (PostgreSQL's own: foreign tables, a newer schema, a
 * read-only database, server errors and lost connections).  One suite
 * for both backends, so that the two cannot drift: STORE_TEST_URL (a
 * conninfo of a server where the test may create databases) runs it
 * against PostgreSQL, else SQLite.
 */
#ifndef TEST_STORE_H
#define TEST_STORE_H

#define UNIT_SHARED
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"
#include "unit.h"
#include "util.h"

#define FAILED_TEXT "message store failed after an I/O error; restart the " \
	"daemon"

/* The backend under test and what differs in its tests. */
struct test_backend {
	const char *engine;		/* store_options.engine */
	/* Before the first test; false: cannot run (skip). */
	bool (*setup)(void);
	/* Where a new, empty store named name is (the caller frees it). */
	char *(*new_store)(const char *name);
	/* Run sql on the store at where with a connection of our own. */
	int (*exec)(const char *where, const char *sql);
	/* The first column of sql's first row, as text, or NULL. */
	char *(*text)(const char *where, const char *sql);
	/* The backend's own tests. */
	void (*own_tests)(void);
	void (*cleanup)(void);
};

extern const struct test_backend sqlite_backend_tests;
extern const struct test_backend pg_backend_tests;
extern const struct test_backend *tb;

extern char dir[256];		/* the test's temporary directory */
extern bool small;		/* STORE_TEST_SMALL: smaller loads */
extern bool show_before_sync;	/* for the next open_store() */
extern int queued_per_sender;	/* for the next open_store() */
extern int room_max;		/* for the next open_store() */
extern atomic_int syncs;	/* SQLite: xSync calls returned */

int open_store(const char *where, int max_queued, int retention,
    bool sync_full);
enum store_result append(const char *from, const char *to, const char *body,
    int64_t *id);
char *db_path(const char *name);

void check_bodies(const struct store_message *m, int n,
    const char *const *want, int nwant, int line);

#define HISTORY(user, peer, limit, ...)                                      \
	do {                                                                 \
		static const char *const w_[] = { __VA_ARGS__ };             \
		struct store_message *m_ = NULL;                             \
		int n_ = store_history(user, peer, limit, &m_);              \
		check_bodies(m_, n_, w_, (int)ARRAY_SIZE(w_), __LINE__);    \
		store_messages_free(m_, n_);                                 \
	} while (0)

/* What written() saw. */
struct seen {
	int calls;
	int64_t id;
	int syncs;		/* xSync calls returned when it was called */
	pthread_t thread;	/* the thread it was called on */
};

void written(void *arg, int64_t id);
/* test-store-load.c */
void test_concurrent(void);
void test_crash(void);
void bench(void);
/* SQLite: each xSync takes this long. */
void sqlite_sync_delay(int ms);

#endif
