/*
 * store.h's front: which backend is open (SQLite, or PostgreSQL when
 * built with libpq), and the open, close and reads sent to it through
 * its struct store_engine (store_int.h).  What every backend's reads
 * share is done here once: waiting for the writes a read must see
 * (writer_sync_reads), the answers that need no database, and closing
 * the sessions a crash left open through the writer.  The writes are
 * store_writer.c's.  It holds no database state and no SQL.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "store_writer.h"
#include "util.h"

static const struct store_engine *const engines[] = {
	&store_sqlite_engine,
#ifdef HAVE_LIBPQ
	&store_pg_engine,
#endif
};

/* The backend last opened; its reads answer -1 once it is closed. */
static const struct store_engine *engine;

static const struct store_engine *
find_engine(const char *name, char *err, size_t errlen)
{
	if (name == NULL || *name == '\0') {
		name = "sqlite";
	}
	for (size_t i = 0; i < ARRAY_SIZE(engines); i++) {
		if (strcmp(engines[i]->name, name) == 0) {
			return engines[i];
		}
	}
	if (strcmp(name, "postgresql") == 0) {
		set_err(err, errlen, "Store postgresql: this sshchatd was "
		    "built without PostgreSQL support (libpq); rebuild it "
		    "with libpq-dev installed (configure "
		    "--with-postgresql=yes) or use Store sqlite");
	} else {
		set_err(err, errlen, "Store %s: no such message store", name);
	}
	return NULL;
}

int
store_check(const char *name, const char *where, char *err, size_t errlen)
{
	const struct store_engine *e = find_engine(name, err, errlen);

	if (e == NULL) {
		return -1;
	}
	return e->check != NULL ? e->check(where, err, errlen) : 0;
}

int
store_open(const char *where, const struct store_options *opt, char *err,
    size_t errlen)
{
	const struct store_engine *e = find_engine(opt->engine, err, errlen);

	if (e == NULL) {
		return -1;
	}
	if (writer_is_open()) {
		set_err(err, errlen, "%s: the message store is already open",
		    e->name);
		return -1;
	}
	if (e->open(where, opt, err, errlen) < 0) {
		return -1;
	}
	engine = e;
	return 0;
}

void
store_close(void)
{
	if (engine != NULL) {
		engine->close();
	}
}

int
store_undelivered(const char *user, int64_t after_id, size_t limit,
    struct store_message **out)
{
	*out = NULL;
	if (limit == 0) {
		return 0;
	}
	if (engine == NULL) {
		return -1;
	}
	writer_sync_reads(OP_MARK);
	return engine->undelivered(user, after_id, limit, out);
}

int
store_history(const char *user, const char *peer, size_t limit,
    struct store_message **out)
{
	*out = NULL;
	if (limit == 0) {
		return 0;
	}
	return engine != NULL ? engine->history(user, peer, limit, out) : -1;
}

int
store_room(int64_t after_id, size_t limit, struct store_message **out)
{
	*out = NULL;
	return engine != NULL ? engine->room(after_id, limit, out) : -1;
}

int64_t
store_room_last_id(void)
{
	return engine != NULL ? engine->room_last_id() : -1;
}

int
store_settings(const char *user, void (*fn)(const char *key,
    const char *value, void *arg), void *arg)
{
	/*
	 * No writer_sync_reads(OP_SETTING): settings are written only through
	 * prefs.c's cache, which reads a user's settings once, before any
	 * write of that user's, and keeps them.
	 */
	return engine != NULL ? engine->settings(user, fn, arg) : -1;
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

int64_t
store_count_undelivered(const char *user)
{
	if (engine == NULL) {
		return -1;
	}
	writer_sync_reads(OP_MARK);
	return engine->count_undelivered(user);
}

int64_t
store_count_messages(void)
{
	return engine != NULL ? engine->count_messages() : -1;
}

int64_t
store_last_login(const char *user)
{
	int64_t v;

	if (engine == NULL) {
		return 0;
	}
	writer_sync_reads(OP_SESSION_OPEN);
	writer_sync_reads(OP_SESSION_CLOSE);
	v = engine->last_login(user);
	return v < 0 ? 0 : v;
}

uint64_t
store_max_session_id(void)
{
	int64_t v = engine != NULL ? engine->max_session_id() : -1;

	return v < 0 ? 0 : (uint64_t)v;
}

int64_t
store_size(void)
{
	return engine != NULL ? engine->size() : -1;
}

int
store_recover_sessions(void (*fn)(uint64_t id, const char *user,
    const char *addr, int64_t login_ms, void *arg), void *arg)
{
	struct store_open_session *v = NULL;
	struct op op;
	int i, n, ret;

	if (engine == NULL) {
		return -1;
	}
	n = engine->open_sessions(&v);
	ret = n;
	if (n > 0) {
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
			error("%s message store: closing crashed sessions: %s",
			    engine->name, op.err);
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
