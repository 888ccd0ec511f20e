/*
 * Unit tests for the message store, one suite for both backends
 * (test-store.h): appends and offline delivery, history in both
 * directions, the per-recipient cap, sessions and crash recovery,
 * concurrent senders, written(), a sender killed while it appends,
 * retention, room lines and settings; then each backend's own tests
 * (test-store-sqlite.c, test-store-pg.c).  SQLite unless STORE_TEST_URL
 * names a PostgreSQL server (tests/store-pg.sh starts one).  Also prints
 * the rate of acknowledged appends.  STORE_TEST_SMALL=1 shrinks the
 * loads (for valgrind).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test-store.h"

int unit_checks, unit_failures;
char dir[256];
bool small;
bool show_before_sync = true;
int queued_per_sender;		/* for the next open_store() */
int room_max;			/* for the next open_store() */
const struct test_backend *tb = &sqlite_backend_tests;

/* The SQL of a raw check, for the backend under test. */
static const char *
by_backend(const char *sqlite, const char *pg)
{
	return tb == &sqlite_backend_tests ? sqlite : pg;
}

/* Helpers. */

char *
db_path(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

int
open_store(const char *path, int max_queued, int retention, bool sync_full)
{
	struct store_options o = {
		.engine = tb->engine,
		.sync_full = sync_full,
		.show_before_sync = show_before_sync,
		.max_queued = max_queued,
		.max_queued_per_sender = queued_per_sender,
		.room_history_max = room_max,
		.retention_days = retention,
	};
	char err[1024];
	int rc;

	err[0] = '\0';
	rc = store_open(path, &o, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "store_open: %s\n", err);
	}
	return rc;
}

enum store_result
append(const char *from, const char *to, const char *body, int64_t *id)
{
	char err[256];

	return store_append(from, to, body, strlen(body), id, NULL, NULL, err,
	    sizeof(err));
}

/* The tests. */

static void
test_basic(void)
{
	static const char weird[] = "a\0b\x1b[31m\r\n\x7f\xff\xfe end";
	char *path = tb->new_store("basic"), err[256], *s, *big;
	struct store_message *m = NULL;
	int64_t id1 = 0, id2 = 0, id3 = 0, before, after;
	char name[STORE_NAME_MAX + 2];
	int n;

	CHECK(open_store(path, 0, 0, true) == 0);
	CHECK(store_max_session_id() == 0);
	CHECK(store_count_messages() == 0);
	before = wall_ms();
	CHECK(append("alice", "bob", "hi bob", &id1) == STORE_OK);
	CHECK(store_append("alice", "bob", weird, sizeof(weird) - 1, &id2,
	    NULL, NULL, err, sizeof(err)) == STORE_OK);
	CHECK(append("bob", "alice", "hi alice", &id3) == STORE_OK);
	after = wall_ms();
	CHECK(id1 > 0 && id1 < id2 && id2 < id3);

	n = store_undelivered("bob", 0, 10, &m);
	CHECK(n == 2);
	if (n == 2) {
		CHECK(m[0].id == id1 && m[1].id == id2);
		CHECK_STR(m[0].sender, "alice");
		CHECK_STR(m[0].recipient, "bob");
		CHECK_STR(m[0].body, "hi bob");
		CHECK(m[0].body_len == 6);
		CHECK(m[0].delivered_ms == 0);
		CHECK(m[0].sent_ms >= before && m[0].sent_ms <= after);
		CHECK(m[1].body_len == sizeof(weird) - 1 &&
		    memcmp(m[1].body, weird, sizeof(weird) - 1) == 0 &&
		    m[1].body[m[1].body_len] == '\0');
	}
	store_messages_free(m, n);
	n = store_undelivered("bob", id1, 10, &m);
	CHECK(n == 1 && m[0].id == id2);
	store_messages_free(m, n);
	n = store_undelivered("bob", 0, 1, &m);
	CHECK(n == 1 && m[0].id == id1);
	store_messages_free(m, n);
	n = store_undelivered("carol", 0, 10, &m);
	CHECK(n == 0 && m == NULL);
	CHECK(store_undelivered("bob", 0, 0, &m) == 0);
	CHECK(store_count_undelivered("bob") == 2);
	CHECK(store_count_undelivered("alice") == 1);
	CHECK(store_count_undelivered(NULL) == 3);
	CHECK(store_count_messages() == 3);
	CHECK(store_size() > 0);

	/* Names that do not fit a store_message are refused. */
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	err[0] = '\0';
	CHECK(store_append(name, "bob", "x", 1, NULL, NULL, NULL, err,
	    sizeof(err)) == STORE_ERROR);
	CHECK(err[0] != '\0');
	CHECK(append("alice", name, "x", NULL) == STORE_ERROR);

	/* Marks are asynchronous: closing commits what is queued. */
	store_mark_delivered(id1);
	store_close();
	CHECK(open_store(path, 0, 0, true) == 0);
	n = store_undelivered("bob", 0, 10, &m);
	CHECK(n == 1 && m[0].id == id2);
	store_messages_free(m, n);
	CHECK(store_count_undelivered(NULL) == 2);
	n = store_history("alice", "bob", 10, &m);
	CHECK(n == 3);
	if (n == 3) {
		CHECK(m[0].id == id1 && m[1].id == id2 && m[2].id == id3);
		CHECK(m[0].delivered_ms >= before);
		CHECK(m[1].delivered_ms == 0);
	}
	store_messages_free(m, n);
	store_close();

	/* After close the store refuses, and says so. */
	err[0] = '\0';
	CHECK(store_append("alice", "bob", "x", 1, NULL, NULL, NULL, err,
	    sizeof(err)) == STORE_ERROR);
	CHECK(strstr(err, "not open") != NULL);
	CHECK(store_count_messages() == -1);
	CHECK(store_history("alice", NULL, 5, &m) == -1);

	s = tb->text(path, by_backend("SELECT value FROM meta WHERE key = "
	    "'schema_version'", "SELECT version FROM schema_version"));
	CHECK_STR(s, by_backend("2", "1"));
	free(s);

	/* 64 KiB of every byte value comes back as it went in. */
	big = xmalloc(65536);
	for (int i = 0; i < 65536; i++) {
		big[i] = (char)(i * 7 + i / 256);
	}
	CHECK(open_store(path, 0, 0, true) == 0);
	CHECK(store_append("alice", "carol", big, 65536, &id1, NULL, NULL,
	    err, sizeof(err)) == STORE_OK);
	n = store_undelivered("carol", 0, 10, &m);
	CHECK(n == 1 && m[0].id == id1 && m[0].body_len == 65536 &&
	    memcmp(m[0].body, big, 65536) == 0);
	store_messages_free(m, n);
	store_close();
	free(big);
	free(path);
}

void
check_bodies(const struct store_message *m, int n, const char *const *want,
    int nwant, int line)
{
	bool ok = n == nwant;

	for (int i = 0; ok && i < n; i++) {
		ok = strcmp(m[i].body, want[i]) == 0 &&
		    (i == 0 || m[i - 1].id < m[i].id);
	}
	unit_checks++;
	if (!ok) {
		unit_failures++;
		fprintf(stderr, "%s:%d: history has %d messages:", __FILE__,
		    line, n);
		for (int i = 0; i < n; i++) {
			fprintf(stderr, " %s", m[i].body);
		}
		fprintf(stderr, ", want %d\n", nwant);
	}
}

static void
test_history(void)
{
	char *path = tb->new_store("history");
	struct store_message *m = NULL;

	CHECK(open_store(path, 0, 0, false) == 0);
	CHECK(append("a", "b", "m1", NULL) == STORE_OK);
	CHECK(append("b", "a", "m2", NULL) == STORE_OK);
	CHECK(append("a", "c", "m3", NULL) == STORE_OK);
	CHECK(append("c", "a", "m4", NULL) == STORE_OK);
	CHECK(append("b", "c", "m5", NULL) == STORE_OK);
	CHECK(append("a", "b", "m6", NULL) == STORE_OK);
	CHECK(append("a", "a", "m7", NULL) == STORE_OK);

	HISTORY("a", "b", 10, "m1", "m2", "m6");
	HISTORY("b", "a", 10, "m1", "m2", "m6");
	HISTORY("a", "b", 2, "m2", "m6");
	HISTORY("a", "b", 1, "m6");
	HISTORY("a", NULL, 100, "m1", "m2", "m3", "m4", "m6", "m7");
	HISTORY("a", NULL, 3, "m4", "m6", "m7");
	HISTORY("a", "a", 10, "m7");
	HISTORY("c", "b", 10, "m5");
	HISTORY("c", NULL, 10, "m3", "m4", "m5");
	CHECK(store_history("d", NULL, 10, &m) == 0 && m == NULL);
	CHECK(store_history("a", "d", 10, &m) == 0 && m == NULL);
	CHECK(store_history("a", NULL, 0, &m) == 0);
	store_close();
	free(path);
}

struct cap_arg {
	int ok, full, other;
};

static void *
cap_main(void *p)
{
	struct cap_arg *a = p;

	for (int i = 0; i < 10; i++) {
		switch (append("sender", "frank", "x", NULL)) {
		case STORE_OK:
			a->ok++;
			break;
		case STORE_FULL_QUEUE:
			a->full++;
			break;
		default:
			a->other++;
			break;
		}
	}
	return NULL;
}

/*
 * A sender's share of a recipient's queue (MaxQueuedPerSender): one
 * sender cannot fill it for everyone else (issue 20 item 8).
 */
static void
test_share(void)
{
	char *path = tb->new_store("share"), err[256];
	int64_t id = 0;

	queued_per_sender = 2;
	CHECK(open_store(path, 5, 0, false) == 0);
	CHECK(append("a", "dave", "1", &id) == STORE_OK);
	CHECK(append("a", "dave", "2", NULL) == STORE_OK);
	err[0] = '\0';
	CHECK(store_append("a", "dave", "3", 1, NULL, NULL, NULL, err,
	    sizeof(err)) == STORE_FULL_SHARE);
	CHECK(strstr(err, "from a") != NULL);
	/* Others still can, up to the recipient's whole queue. */
	CHECK(append("b", "dave", "1", NULL) == STORE_OK);
	CHECK(append("b", "dave", "2", NULL) == STORE_OK);
	CHECK(append("c", "dave", "1", NULL) == STORE_OK);
	CHECK(append("c", "dave", "2", NULL) == STORE_FULL_QUEUE);
	/* Another recipient, and room lines, are not counted. */
	CHECK(append("a", "erin", "1", NULL) == STORE_OK);
	CHECK(store_count_undelivered("dave") == 5);
	/* A delivered message frees a place in the sender's share. */
	store_mark_delivered(id);
	CHECK(append("a", "dave", "3", NULL) == STORE_OK);
	store_close();
	queued_per_sender = 0;
	free(path);
}

static void
test_cap(void)
{
	char *path = tb->new_store("cap"), err[256];
	struct cap_arg args[8];
	pthread_t tid[8];
	int64_t id1 = 0, id = 0;
	int ok = 0, full = 0, other = 0, i, started = 0;

	CHECK(open_store(path, 3, 0, false) == 0);
	CHECK(append("a", "dave", "1", &id1) == STORE_OK);
	CHECK(append("b", "dave", "2", NULL) == STORE_OK);
	CHECK(append("c", "dave", "3", NULL) == STORE_OK);
	err[0] = '\0';
	CHECK(store_append("a", "dave", "4", 1, &id, NULL, NULL, err, sizeof(err)) ==
	    STORE_FULL_QUEUE);
	CHECK(err[0] != '\0');
	CHECK(append("a", "erin", "1", NULL) == STORE_OK);
	CHECK(store_count_undelivered("dave") == 3);
	store_mark_delivered(id1);
	store_close();

	CHECK(open_store(path, 3, 0, false) == 0);
	CHECK(append("a", "dave", "4", NULL) == STORE_OK);
	CHECK(append("a", "dave", "5", NULL) == STORE_FULL_QUEUE);
	store_close();

	/* The cap holds when the appends share a transaction. */
	CHECK(open_store(path, 20, 0, false) == 0);
	memset(args, 0, sizeof(args));
	for (i = 0; i < 8; i++) {
		if (pthread_create(&tid[i], NULL, cap_main, &args[i]) != 0) {
			break;
		}
		started++;
	}
	CHECK(started == 8);
	for (i = 0; i < started; i++) {
		CHECK(pthread_join(tid[i], NULL) == 0);
		ok += args[i].ok;
		full += args[i].full;
		other += args[i].other;
	}
	CHECK(ok == 20 && full == started * 10 - 20 && other == 0);
	CHECK(store_count_undelivered("frank") == 20);
	store_close();
	free(path);
}

struct recovered {
	int n;
	uint64_t id[4];
	char user[4][16];
	char addr[4][32];
	int64_t login[4];
};

static void
on_recovered(uint64_t id, const char *user, const char *addr,
    int64_t login_ms, void *arg)
{
	struct recovered *r = arg;

	if (r->n < 4) {
		r->id[r->n] = id;
		snprintf(r->user[r->n], sizeof(r->user[0]), "%s", user);
		snprintf(r->addr[r->n], sizeof(r->addr[0]), "%s", addr);
		r->login[r->n] = login_ms;
	}
	r->n++;
}

static void
test_sessions(void)
{
	char *path = tb->new_store("sessions"), *s;
	struct recovered r;

	CHECK(open_store(path, 0, 0, true) == 0);
	CHECK(store_max_session_id() == 0);
	CHECK(store_last_login("alice") == 0);
	store_session_open(1, "alice", "192.0.2.1:50000", 1000);
	store_session_open(2, "bob", "192.0.2.2:50001", 2000);
	store_session_open(3, "alice", "[2001:db8::1]:50002", 3000);
	store_session_close(1, "logout", 1500);
	/* A duplicate id is logged; it does not fail the append with it. */
	store_session_open(3, "mallory", "192.0.2.3:1", 3500);
	CHECK(append("alice", "bob", "still works", NULL) == STORE_OK);
	store_close();

	CHECK(open_store(path, 0, 0, true) == 0);
	CHECK(store_max_session_id() == 3);
	CHECK(store_last_login("alice") == 3000);
	CHECK(store_last_login("bob") == 2000);
	CHECK(store_last_login("mallory") == 0);
	CHECK(store_count_messages() == 1);
	memset(&r, 0, sizeof(r));
	CHECK(store_recover_sessions(on_recovered, &r) == 2);
	CHECK(r.n == 2);
	CHECK(r.id[0] == 2 && r.login[0] == 2000);
	CHECK_STR(r.user[0], "bob");
	CHECK_STR(r.addr[0], "192.0.2.2:50001");
	CHECK(r.id[1] == 3 && r.login[1] == 3000);
	CHECK_STR(r.user[1], "alice");
	CHECK_STR(r.addr[1], "[2001:db8::1]:50002");
	store_close();

	CHECK(open_store(path, 0, 0, true) == 0);
	memset(&r, 0, sizeof(r));
	CHECK(store_recover_sessions(on_recovered, &r) == 0);
	CHECK(r.n == 0);
	store_close();

	s = tb->text(path, by_backend("SELECT group_concat(id || ':' || "
	    "reason, ',') FROM (SELECT * FROM sessions ORDER BY id)",
	    "SELECT string_agg(id || ':' || reason, ',' ORDER BY id) "
	    "FROM sessions"));
	CHECK_STR(s, "1:logout,2:crash-recovered,3:crash-recovered");
	free(s);
	s = tb->text(path, "SELECT count(*) FROM sessions "
	    "WHERE logout_at IS NULL");
	CHECK_STR(s, "0");
	free(s);
	free(path);
}

void
written(void *arg, int64_t id)
{
	struct seen *s = arg;

	s->calls++;
	s->id = id;
	s->syncs = atomic_load(&syncs);
	s->thread = pthread_self();
}

/*
 * written() is called once per committed message; with SQLite before
 * the sync with show_before_sync (a sync here takes 200 ms) and after
 * it without (PostgreSQL's COMMIT is its sync); never for a refused
 * message (test-store-sqlite.c: a failed sync after it is an error).
 */
static void
test_written(void)
{
	char *path = tb->new_store("written"), err[256];
	const char *to[2] = { "b0", "b1" };
	bool sq = tb == &sqlite_backend_tests;
	struct seen s;
	int64_t id = 0;

	if (sq) {
		sqlite_sync_delay(200);
	}
	for (int before = 1; before >= 0; before--) {
		show_before_sync = before;
		CHECK(open_store(path, 1, 0, true) == 0);
		memset(&s, 0, sizeof(s));
		CHECK(store_append("a", to[before], "hi", 2, &id, written, &s,
		    err, sizeof(err)) == STORE_OK);
		CHECK(s.calls == 1 && s.id == id && id > 0);
		if (before) {
			/*
			 * The writer connection was free: the appending
			 * thread ran the write itself, without waking the
			 * writer thread.
			 */
			CHECK(pthread_equal(s.thread, pthread_self()));
			CHECK(!sq || s.syncs < atomic_load(&syncs));
		} else {
			CHECK(!sq || s.syncs == atomic_load(&syncs));
		}
		/* The recipient has 1 undelivered: the cap refuses another. */
		memset(&s, 0, sizeof(s));
		CHECK(store_append("a", to[before], "no", 2, NULL, written, &s,
		    err, sizeof(err)) == STORE_FULL_QUEUE);
		CHECK(s.calls == 0);
		memset(&s, 0, sizeof(s));
		CHECK(store_append_room("a", STORE_SAY, "all", 3, &id, written,
		    &s, err, sizeof(err)) == STORE_OK);
		CHECK(s.calls == 1 && s.id == id);
		store_mark_delivered(s.id);
		store_close();
	}
	show_before_sync = true;
	sqlite_sync_delay(0);
	free(path);
}

/* Wait until the writer's retention pass brought the count to want. */
static bool
wait_count(int64_t want)
{
	for (int i = 0; i < 500; i++) {
		if (store_count_messages() == want) {
			return true;
		}
		usleep(10000);
	}
	return false;
}

/*
 * RoomHistoryMax: room lines past the newest N go, private messages
 * stay, whatever their age (issue 20 item 9: room history had no bound).
 */
static void
test_room_bound(void)
{
	char *path = tb->new_store("roombound");
	struct store_message *m = NULL;
	int64_t id = 0;
	int n;

	CHECK(open_store(path, 0, 0, false) == 0);
	for (int i = 0; i < 30; i++) {
		char line[16];

		snprintf(line, sizeof(line), "line %d", i);
		CHECK(store_append_room("a", STORE_SAY, line, strlen(line), &id,
		    NULL, NULL, NULL, 0) == STORE_OK);
		if (i % 10 == 0) {
			CHECK(append("a", "b", "private", NULL) == STORE_OK);
		}
	}
	store_close();
	room_max = 5;
	CHECK(open_store(path, 0, 0, false) == 0);
	CHECK(wait_count(5 + 3));
	n = store_room(0, 100, &m);
	CHECK(n == 5 && m[0].body != NULL && strcmp(m[0].body, "line 25") == 0 &&
	    m[n - 1].id == id);
	store_messages_free(m, n);
	CHECK(store_count_undelivered("b") == 3);
	store_close();
	room_max = 0;
	free(path);
}

static void
test_retention(void)
{
	char *path = tb->new_store("retention"), *sql;
	struct store_message *m = NULL;
	int64_t old = wall_ms() - 40 * 24 * 3600 * 1000LL, id = 0;
	int n;

	CHECK(open_store(path, 0, 0, false) == 0);
	store_close();
	/* 2500 old delivered, one old undelivered, 10 recent delivered. */
	if (tb == &sqlite_backend_tests) {
		sql = xasprintf("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL "
		    "SELECT i + 1 FROM c WHERE i < 2511) "
		    "INSERT INTO messages(id, sent_at, sender, recipient, body, "
		    "delivered_at) SELECT i, CASE WHEN i <= 2501 THEN %lld "
		    "ELSE %lld END, 'a', 'b', 'm' || i, CASE WHEN i = 2501 "
		    "THEN NULL ELSE %lld END FROM c", (long long)old,
		    (long long)wall_ms(), (long long)old);
	} else {
		/* The ids given, the sequence set past them. */
		sql = xasprintf("INSERT INTO messages(id, sent_at, sender, "
		    "recipient, body, delivered_at) SELECT i, CASE WHEN "
		    "i <= 2501 THEN %lld ELSE %lld END, 'a', 'b', "
		    "convert_to('m' || i, 'UTF8'), CASE WHEN i = 2501 THEN NULL "
		    "ELSE %lld END FROM generate_series(1, 2511) AS i; "
		    "SELECT setval(pg_get_serial_sequence('messages', 'id'), "
		    "2511)", (long long)old, (long long)wall_ms(),
		    (long long)old);
	}
	CHECK(tb->exec(path, sql) == 0);
	free(sql);
	CHECK(open_store(path, 0, 30, false) == 0);
	CHECK(wait_count(11));
	n = store_undelivered("b", 0, 10, &m);
	CHECK(n == 1 && m[0].id == 2501);
	store_messages_free(m, n);
	CHECK(append("a", "b", "new", &id) == STORE_OK);
	CHECK(id == 2512);
	store_close();

	/* All old: the newest stays, so no id is handed out twice. */
	CHECK(tb->exec(path, "UPDATE messages SET delivered_at = 1, "
	    "sent_at = 1") == 0);
	CHECK(open_store(path, 0, 30, false) == 0);
	CHECK(wait_count(1));
	CHECK(append("a", "b", "newer", &id) == STORE_OK);
	CHECK(id == 2513);
	store_close();

	/* retention_days 0 keeps everything. */
	CHECK(tb->exec(path, "UPDATE messages SET delivered_at = 1, "
	    "sent_at = 1") == 0);
	CHECK(open_store(path, 0, 0, false) == 0);
	usleep(50000);
	CHECK(store_count_messages() == 2);
	store_close();
	free(path);
}

static void
collect_setting(const char *key, const char *value, void *arg)
{
	struct buf *b = arg;

	buf_appendf(b, "%s=%s;", key, value);
}

/* Room lines, /me actions, settings. */
static void
test_room_settings(void)
{
	char *path = tb->new_store("room"), err[256];
	struct store_message *m = NULL;
	struct buf b = { 0 };
	int64_t id1 = 0, id2 = 0;
	int n;

	CHECK(open_store(path, 1, 0, true) == 0);
	CHECK(store_room_last_id() == 0);
	CHECK(store_append_room("alice", STORE_SAY, "hello all", 9, &id1, NULL,
	    NULL, err, sizeof(err)) == STORE_OK);
	CHECK(append("bob", "carol", "private", NULL) == STORE_OK);
	/* The per-recipient cap (1) does not apply to room lines. */
	CHECK(store_append_room("bob", STORE_ME, "waves", 5, &id2, NULL, NULL,
	    err, sizeof(err)) == STORE_OK);
	CHECK(store_room_last_id() == id2);
	n = store_room(0, 10, &m);
	CHECK(n == 2);
	if (n == 2) {
		CHECK_STR(m[0].body, "hello all");
		CHECK(m[0].kind == STORE_SAY);
		CHECK_STR(m[0].recipient, STORE_ROOM);
		CHECK(m[1].kind == STORE_ME);
		CHECK(m[0].delivered_ms != 0);
	}
	store_messages_free(m, n);
	n = store_room(id1, 10, &m);
	CHECK(n == 1);
	store_messages_free(m, n);
	/* Room lines are not anyone's undelivered mail nor private history. */
	CHECK(store_count_undelivered(NULL) == 1);
	n = store_history("alice", NULL, 10, &m);
	CHECK(n == 0);
	store_messages_free(m, n);

	store_setting_set("alice", "timestamps", "off");
	store_setting_set("alice", "ignore.bob", "1");
	store_setting_set("alice", "bell", "on");
	store_setting_set("alice", "bell", NULL);
	store_close();
	CHECK(open_store(path, 1, 0, true) == 0);
	CHECK(store_settings("alice", collect_setting, &b) == 2);
	CHECK_STR(b.data, "ignore.bob=1;timestamps=off;");
	buf_free(&b);
	CHECK(store_settings("nobody", collect_setting, &b) == 0);
	store_close();
	free(path);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	if (remove(path) != 0) {
		perror(path);
	}
	return 0;
}

/* store_check(): the engines built in, a StoreURL parsed. */
static void
test_check(void)
{
	char err[512];

	CHECK(store_check(NULL, "", err, sizeof(err)) == 0);
	CHECK(store_check("sqlite", "", err, sizeof(err)) == 0);
	err[0] = '\0';
	CHECK(store_check("mysql", "", err, sizeof(err)) == -1);
	CHECK(strstr(err, "no such message store") != NULL);
#ifdef HAVE_LIBPQ
	CHECK(store_check("postgresql", "", err, sizeof(err)) == 0);
	CHECK(store_check("postgresql", "sshchat", err, sizeof(err)) == 0);
	CHECK(store_check("postgresql", "host=/run/postgresql dbname=sshchat",
	    err, sizeof(err)) == 0);
	CHECK(store_check("postgresql", "postgresql://u@localhost/sshchat",
	    err, sizeof(err)) == 0);
	err[0] = '\0';
	CHECK(store_check("postgresql", "hots=/tmp dbname=x", err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "StoreURL: ") == err && strstr(err, "hots") != NULL);
	CHECK(store_check("postgresql", "dbname='x", err, sizeof(err)) == -1);
	err[0] = '\0';
	CHECK(store_check("postgresql", "\"host=/tmp dbname=x\"", err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "written in quotes") != NULL);
#else
	err[0] = '\0';
	CHECK(store_check("postgresql", "", err, sizeof(err)) == -1);
	CHECK(strstr(err, "built without PostgreSQL support") != NULL);
#endif
}

int
main(void)
{
	const char *t = getenv("TMPDIR"), *sm = getenv("STORE_TEST_SMALL");
	const char *url = getenv("STORE_TEST_URL");
	int rc;

	small = sm != NULL && *sm != '\0' && strcmp(sm, "0") != 0;
	if (url != NULL && *url != '\0') {
		tb = &pg_backend_tests;
	}
	snprintf(dir, sizeof(dir), "%s/test-store.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}
	if (!tb->setup()) {
		rc = 77;
		goto out;
	}
	printf("test-store: the %s backend\n", tb->engine);

	test_check();
	test_basic();
	test_history();
	test_cap();
	test_share();
	test_sessions();
	test_concurrent();
	test_written();
	test_crash();
	test_retention();
	test_room_bound();
	test_room_settings();
	tb->own_tests();
	bench();
	tb->cleanup();
	rc = unit_done("test-store");
out:
	if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
		perror(dir);
	}
	return rc;
}
