/*
 * The message store.  Every chat message is appended here before anyone
 * is told it was sent; offline mailboxes and history are queries on it.
 * The interface has no database types: store_engine.c opens one backend, SQLite
 * (store_sqlite*.c, the default) or, when built with libpq, PostgreSQL
 * (store_pg*.c), and sends the reads to it; the writes go through one
 * group-commit writer for every backend (store_writer.c).
 *
 * Threads: store_append() may be called from any thread and blocks until
 * the message's transaction committed (or failed); one writer thread
 * commits appends in groups.  The read functions may be called from any
 * thread.
 */
#ifndef STORE_H
#define STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_NAME_MAX 64
#define STORE_ROOM "*"		/* the recipient of room lines */

enum store_kind {
	STORE_MSG = 0,		/* a private message */
	STORE_SAY = 1,		/* a line said to the room */
	STORE_ME = 2,		/* a room action ("me waves") */
};

struct store_options {
	const char *engine;	/* "sqlite" (also NULL) or "postgresql" */
	bool sync_full;		/* synchronous=FULL (else NORMAL) */
	bool show_before_sync;	/* FULL: tell written() before the sync */
	int max_queued;		/* undelivered messages per recipient */
	int max_queued_per_sender;	/* of those, from one sender; 0: any */
	int retention_days;	/* delete delivered messages older; 0 keeps all */
	int room_history_max;	/* room lines kept, the newest; 0 keeps all */
};

struct store_message {
	int64_t id;
	int64_t sent_ms;	/* Unix time in milliseconds */
	int64_t delivered_ms;	/* 0 while undelivered */
	char sender[STORE_NAME_MAX + 1];
	char recipient[STORE_NAME_MAX + 1];
	char *body;
	size_t body_len;
	int kind;		/* enum store_kind */
};

enum store_result {
	STORE_OK = 0,
	STORE_FULL_QUEUE,	/* the recipient has max_queued undelivered */
	STORE_FULL_SHARE,	/* max_queued_per_sender of them from this sender */
	STORE_ERROR,		/* the write failed; err says why */
};

/*
 * Open (create, migrate) the database of opt->engine and start the
 * writer: where is the SQLite file, or PostgreSQL's connection string
 * (conninfo).  A database that is not this store's, or is corrupt, is an
 * error: it is never replaced.  Returns -1 with err set.
 */
int store_open(const char *where, const struct store_options *opt,
    char *err, size_t errlen);
void store_close(void);
/*
 * For sshchatd -t: is engine built in, and does where look right (a
 * conninfo is parsed, nothing is opened)?  -1 with err set.
 */
int store_check(const char *engine, const char *where, char *err,
    size_t errlen);

/*
 * Called with the new message's id once the message is committed, before
 * store_append returns: with sync_full and show_before_sync, by the
 * store's writer thread before it syncs the batch to disk (recipients
 * need not wait for the disk; the sender's acknowledgement must), else
 * by the appending thread after the sync.  It must not wait for the
 * store (no store_append, no reads that wait for writes).  Never called
 * for a message that was not committed.
 */
typedef void store_written_fn(void *arg, int64_t id);

/*
 * Append one message and wait for its COMMIT (and, with sync_full, its
 * sync).  On STORE_OK *id is the message id.  Never returns STORE_OK
 * unless the message is committed.  written may be NULL; STORE_ERROR
 * after written() was called means the sync failed: the message was
 * committed but may not survive a power failure.
 */
enum store_result store_append(const char *from, const char *to,
    const char *body, size_t len, int64_t *id, store_written_fn *written,
    void *arg, char *err, size_t errlen);

/*
 * Append a room line (STORE_SAY or STORE_ME), the same way.  Room lines
 * are never queued for anyone: they count as delivered.
 */
enum store_result store_append_room(const char *from, int kind,
    const char *body, size_t len, int64_t *id, store_written_fn *written,
    void *arg, char *err, size_t errlen);

/*
 * The last limit room lines with id > after_id, oldest first.  Returns
 * the count, or -1 on error.
 */
int store_room(int64_t after_id, size_t limit, struct store_message **out);
/* The id of the newest room line, 0 if none, -1 on error. */
int64_t store_room_last_id(void);

/* A user's setting (async write); value NULL removes it. */
void store_setting_set(const char *user, const char *key, const char *value);
/* Call fn for each of user's settings; returns the count or -1. */
int store_settings(const char *user, void (*fn)(const char *key,
    const char *value, void *arg), void *arg);

/* Record that message id reached a session of its recipient (async). */
void store_mark_delivered(int64_t id);

/*
 * Undelivered messages for user with id > after_id, oldest first, at
 * most limit.  Returns the count (0..limit), or -1 on error.  Free with
 * store_messages_free.
 */
int store_undelivered(const char *user, int64_t after_id, size_t limit,
    struct store_message **out);

/*
 * The last limit messages between user and peer (either direction), or
 * all of user's messages when peer is NULL, oldest first.  Returns the
 * count, or -1 on error.
 */
int store_history(const char *user, const char *peer, size_t limit,
    struct store_message **out);

void store_messages_free(struct store_message *msgs, int n);

/* Counts for stats and the start-up log; -1 on error. */
int64_t store_count_undelivered(const char *user);	/* NULL: all users */
int64_t store_count_messages(void);

/*
 * Sessions, so a crash can be told apart from a logout: a row is opened
 * at login and closed at logout.  store_recover_sessions() calls fn for
 * every session left open by a crash, closes them, and returns how many.
 */
void store_session_open(uint64_t id, const char *user, const char *addr,
    int64_t login_ms);
void store_session_close(uint64_t id, const char *reason, int64_t logout_ms);
int store_recover_sessions(void (*fn)(uint64_t id, const char *user,
    const char *addr, int64_t login_ms, void *arg), void *arg);
/* The highest session id ever used (ids stay unique across restarts). */
uint64_t store_max_session_id(void);

/* Last login time of user in ms, 0 if never. */
int64_t store_last_login(const char *user);

/* Database size in bytes, -1 on error. */
int64_t store_size(void);

#endif
