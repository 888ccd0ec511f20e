/*
 * Unit tests for the SQLite message store: appends and offline delivery,
 * history in both directions, the per-recipient cap, sessions and crash
 * recovery, concurrent senders, retention, files that are not our
 * database, and writes that fail (read-only file, disk full, an fsync
 * error).  Failures are injected by a VFS that wraps SQLite's own, so
 * the store is tested as built.  Also prints the rate of acknowledged
 * appends with synchronous=FULL.  STORE_TEST_SMALL=1 shrinks the loads
 * (for valgrind).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "unit.h"
#include "util.h"

#define FAILED_TEXT "message store failed after an I/O error; restart the " \
	"daemon"

static char dir[256];
static bool small;

/* Fault injection: a VFS that forwards to the default one. */

static atomic_int fail_write;		/* xWrite says SQLITE_FULL */
static atomic_int fail_sync;		/* xSync says SQLITE_IOERR_FSYNC */
static atomic_int syncs;		/* xSync calls returned */
static atomic_int sync_delay_ms;	/* each xSync takes this long */
static sqlite3_vfs *real_vfs;
static sqlite3_vfs shim_vfs;

struct shim_file {
	sqlite3_file base;
	sqlite3_file *real;
};

#define REAL(f) (((struct shim_file *)(f))->real)

static int
shim_close(sqlite3_file *f)
{
	return REAL(f)->pMethods->xClose(REAL(f));
}

static int
shim_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), p, n, off);
}

static int
shim_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
	if (atomic_load(&fail_write)) {
		return SQLITE_FULL;
	}
	return REAL(f)->pMethods->xWrite(REAL(f), p, n, off);
}

static int
shim_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int
shim_sync(sqlite3_file *f, int flags)
{
	int rc = SQLITE_IOERR_FSYNC;

	if (atomic_load(&sync_delay_ms) > 0) {
		usleep((useconds_t)atomic_load(&sync_delay_ms) * 1000);
	}
	if (!atomic_load(&fail_sync)) {
		rc = REAL(f)->pMethods->xSync(REAL(f), flags);
	}
	atomic_fetch_add(&syncs, 1);
	return rc;
}

static int
shim_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int
shim_lock(sqlite3_file *f, int level)
{
	return REAL(f)->pMethods->xLock(REAL(f), level);
}

static int
shim_unlock(sqlite3_file *f, int level)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), level);
}

static int
shim_check_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int
shim_file_control(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int
shim_sector_size(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int
shim_device_characteristics(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int
shim_shm_map(sqlite3_file *f, int i, int size, int extend,
    void volatile **pp)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), i, size, extend, pp);
}

static int
shim_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}

static void
shim_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int
shim_shm_unmap(sqlite3_file *f, int delete_flag)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), delete_flag);
}

static int
shim_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp)
{
	return REAL(f)->pMethods->xFetch(REAL(f), off, amt, pp);
}

static int
shim_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods shim_io = {
	3,
	shim_close,
	shim_read,
	shim_write,
	shim_truncate,
	shim_sync,
	shim_file_size,
	shim_lock,
	shim_unlock,
	shim_check_reserved,
	shim_file_control,
	shim_sector_size,
	shim_device_characteristics,
	shim_shm_map,
	shim_shm_lock,
	shim_shm_barrier,
	shim_shm_unmap,
	shim_fetch,
	shim_unfetch,
};

static int
shim_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
    int *out_flags)
{
	struct shim_file *sf = (struct shim_file *)f;
	int rc;

	sf->real = (sqlite3_file *)(sf + 1);
	rc = real_vfs->xOpen(real_vfs, name, sf->real, flags, out_flags);
	/* SQLite calls xClose whenever pMethods is set, even on failure. */
	f->pMethods = sf->real->pMethods != NULL ? &shim_io : NULL;
	return rc;
}

static void
shim_install(void)
{
	real_vfs = sqlite3_vfs_find(NULL);
	if (real_vfs == NULL || real_vfs->iVersion < 2) {
		fprintf(stderr, "no default SQLite VFS\n");
		exit(1);
	}
	shim_vfs = *real_vfs;
	shim_vfs.zName = "test-shim";
	shim_vfs.szOsFile = (int)sizeof(struct shim_file) + real_vfs->szOsFile;
	shim_vfs.xOpen = shim_open;
	if (sqlite3_vfs_register(&shim_vfs, 1) != SQLITE_OK) {
		fprintf(stderr, "sqlite3_vfs_register failed\n");
		exit(1);
	}
}

/* Helpers. */

static char *
db_path(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static bool show_before_sync = true;

static int
open_store(const char *path, int max_queued, int retention, bool sync_full)
{
	struct store_options o = {
		.sync_full = sync_full,
		.show_before_sync = show_before_sync,
		.max_queued = max_queued,
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

static enum store_result
append(const char *from, const char *to, const char *body, int64_t *id)
{
	char err[256];

	return store_append(from, to, body, strlen(body), id, NULL, NULL, err,
	    sizeof(err));
}

static char *
read_all(const char *path, size_t *len)
{
	struct buf b = { 0 };
	char chunk[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	*len = 0;
	if (fd < 0) {
		return NULL;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		buf_append(&b, chunk, (size_t)n);
	}
	close(fd);
	if (n < 0) {
		buf_free(&b);
		return NULL;
	}
	buf_append(&b, "", 0);
	*len = b.len;
	return b.data;
}

static void
write_all(const char *path, const void *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, p, len) != (ssize_t)len || close(fd) != 0) {
		perror(path);
		exit(1);
	}
}

/* Run SQL on path with a connection of our own; 0 on success. */
static int
raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open(path, &db);

	if (rc == SQLITE_OK) {
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
		}
	}
	if (sqlite3_close(db) != SQLITE_OK) {
		rc = SQLITE_ERROR;
	}
	return rc;
}

/* The first column of the first row of sql, as text. */
static char *
raw_text(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	char *out = NULL;

	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW &&
	    sqlite3_column_text(s, 0) != NULL) {
		out = xstrdup((const char *)sqlite3_column_text(s, 0));
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return out;
}

static bool
exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

/* The tests. */

static void
test_basic(void)
{
	static const char weird[] = "a\0b\x1b[31m\r\n\x7f\xff\xfe end";
	char *path = db_path("basic.db"), err[256], *s;
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

	s = raw_text(path, "SELECT value FROM meta WHERE key = "
	    "'schema_version'");
	CHECK_STR(s, "2");
	free(s);
	s = raw_text(path, "PRAGMA journal_mode");
	CHECK_STR(s, "wal");
	free(s);
	free(path);
}

static void
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

#define HISTORY(user, peer, limit, ...)                                      \
	do {                                                                 \
		static const char *const w_[] = { __VA_ARGS__ };             \
		struct store_message *m_ = NULL;                             \
		int n_ = store_history(user, peer, limit, &m_);              \
		check_bodies(m_, n_, w_, (int)ARRAY_SIZE(w_), __LINE__);    \
		store_messages_free(m_, n_);                                 \
	} while (0)

static void
test_history(void)
{
	char *path = db_path("history.db");
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

static void
test_cap(void)
{
	char *path = db_path("cap.db"), err[256];
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
	char *path = db_path("sessions.db"), *s;
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

	s = raw_text(path, "SELECT group_concat(id || ':' || reason, ',') "
	    "FROM (SELECT * FROM sessions ORDER BY id)");
	CHECK_STR(s, "1:logout,2:crash-recovered,3:crash-recovered");
	free(s);
	s = raw_text(path, "SELECT count(*) FROM sessions "
	    "WHERE logout_at IS NULL");
	CHECK_STR(s, "0");
	free(s);
	free(path);
}

struct sender {
	int thread;
	int count;
	int64_t *ids;
	int ok;
};

static void *
sender_main(void *p)
{
	struct sender *a = p;
	char from[16], body[32];
	int64_t id;

	snprintf(from, sizeof(from), "t%d", a->thread);
	for (int i = 0; i < a->count; i++) {
		snprintf(body, sizeof(body), "%d:%d", a->thread, i);
		id = 0;
		if (append(from, "sink", body, &id) == STORE_OK) {
			a->ids[a->ok++] = id;
		}
	}
	return NULL;
}

static int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Start nthreads senders of count messages each; returns seconds. */
static double
run_senders(int nthreads, int count, struct sender *a, pthread_t *tid)
{
	int64_t t0 = now_ms();
	int i, started = 0;

	for (i = 0; i < nthreads; i++) {
		a[i].thread = i;
		a[i].count = count;
		a[i].ok = 0;
		a[i].ids = xcalloc((size_t)count, sizeof(int64_t));
		if (pthread_create(&tid[i], NULL, sender_main, &a[i]) != 0) {
			break;
		}
		started++;
	}
	CHECK(started == nthreads);
	for (i = 0; i < started; i++) {
		CHECK(pthread_join(tid[i], NULL) == 0);
	}
	return (double)(now_ms() - t0) / 1000.0;
}

static void
test_concurrent(void)
{
	enum { THREADS = 8 };
	char *path = db_path("concurrent.db"), user[16];
	struct sender a[THREADS];
	pthread_t tid[THREADS];
	struct store_message *m = NULL;
	int count = small ? 50 : 500, total = 0, i, j, n;
	int64_t *all;
	bool distinct = true, ordered = true, bodies = true;

	CHECK(open_store(path, 0, 0, false) == 0);
	run_senders(THREADS, count, a, tid);
	all = xcalloc((size_t)THREADS * (size_t)count, sizeof(int64_t));
	for (i = 0; i < THREADS; i++) {
		CHECK(a[i].ok == count);
		for (j = 0; j < a[i].ok; j++) {
			if (j > 0 && a[i].ids[j] <= a[i].ids[j - 1]) {
				ordered = false;
			}
			all[total++] = a[i].ids[j];
		}
	}
	qsort(all, (size_t)total, sizeof(all[0]), cmp_id);
	for (i = 1; i < total; i++) {
		if (all[i] == all[i - 1]) {
			distinct = false;
		}
	}
	CHECK(total == THREADS * count);
	CHECK(distinct);
	CHECK(ordered);
	CHECK(store_count_messages() == THREADS * count);
	CHECK(store_count_undelivered("sink") == THREADS * count);
	/* Each sender's messages come back in the order it sent them. */
	for (i = 0; i < THREADS; i++) {
		snprintf(user, sizeof(user), "t%d", i);
		n = store_history(user, "sink", (size_t)count, &m);
		CHECK(n == count);
		for (j = 0; j < n; j++) {
			char want[32];

			snprintf(want, sizeof(want), "%d:%d", i, j);
			if (strcmp(m[j].body, want) != 0 ||
			    m[j].id != a[i].ids[j]) {
				bodies = false;
			}
		}
		store_messages_free(m, n);
		free(a[i].ids);
	}
	CHECK(bodies);
	free(all);
	store_close();
	free(path);
}

/* A file that is not our database is refused and left as it was. */
static void
check_refused(const char *name, const void *content, size_t len,
    const char *want_fmt)
{
	char *path = db_path(name), *wal = xasprintf("%s-wal", path);
	struct store_options o = { .sync_full = true };
	char err[1024], want[1024], *after;
	size_t after_len;

	write_all(path, content, len);
	err[0] = '\0';
	CHECK(store_open(path, &o, err, sizeof(err)) == -1);
	snprintf(want, sizeof(want), want_fmt, path);
	CHECK_STR(err, want);
	after = read_all(path, &after_len);
	CHECK(after != NULL && after_len == len &&
	    memcmp(after, content, len) == 0);
	CHECK(!exists(wal));
	/* The store stays closed. */
	CHECK(append("a", "b", "x", NULL) == STORE_ERROR);
	free(after);
	free(wal);
	free(path);
}

static void
test_not_ours(void)
{
	static const char garbage_fmt[] = "%s: not a sshchat message "
	    "database (file is not a database or is corrupt); move it away "
	    "to start a new one";
	static const char foreign_fmt[] = "%s: not a sshchat message "
	    "database (an SQLite database without sshchat's tables); move it "
	    "away to start a new one";
	char *path, *real, *s;
	unsigned char junk[8192];
	unsigned int x = 12345;
	struct store_options o = { .sync_full = true };
	char err[1024];
	size_t len;

	for (size_t i = 0; i < sizeof(junk); i++) {
		x = x * 1103515245 + 12345;
		junk[i] = (unsigned char)(x >> 16);
	}
	check_refused("garbage.db", junk, sizeof(junk), garbage_fmt);
	check_refused("text.db", "hello, world\n", 13, garbage_fmt);

	/* A real database with its first page overwritten. */
	path = db_path("real.db");
	CHECK(open_store(path, 0, 0, true) == 0);
	for (int i = 0; i < 50; i++) {
		CHECK(append("a", "b", "some text to fill a page or two",
		    NULL) == STORE_OK);
	}
	store_close();
	real = read_all(path, &len);
	CHECK(real != NULL && len >= 4096);
	if (real != NULL && len >= 4096) {
		memcpy(real + 100, junk, 4096 - 100);
		check_refused("corrupt.db", real, len, garbage_fmt);
	}
	free(real);
	free(path);

	/* Some other program's SQLite database. */
	path = db_path("foreign.db");
	CHECK(raw_exec(path, "CREATE TABLE notes(t TEXT);"
	    "INSERT INTO notes VALUES ('mine');") == 0);
	real = read_all(path, &len);
	CHECK(real != NULL);
	if (real != NULL) {
		check_refused("foreign.db", real, len, foreign_fmt);
	}
	free(real);
	free(path);

	/* A newer schema than this code knows. */
	path = db_path("newer.db");
	CHECK(open_store(path, 0, 0, true) == 0);
	store_close();
	CHECK(raw_exec(path, "UPDATE meta SET value = '3' "
	    "WHERE key = 'schema_version'") == 0);
	err[0] = '\0';
	CHECK(store_open(path, &o, err, sizeof(err)) == -1);
	CHECK(strstr(err, "schema version 3, newer") != NULL);
	s = raw_text(path, "SELECT value FROM meta WHERE key = "
	    "'schema_version'");
	CHECK_STR(s, "3");
	free(s);
	free(path);

	/* An empty file is a new database. */
	path = db_path("empty.db");
	write_all(path, "", 0);
	CHECK(open_store(path, 0, 0, true) == 0);
	CHECK(append("a", "b", "x", NULL) == STORE_OK);
	store_close();
	free(path);
}

/*
 * The checks on a read-only file, in whatever process can see it as
 * read-only.  Returns the number of failed checks.
 */
static int
readonly_checks(const char *path)
{
	struct store_options o = { .sync_full = true };
	char err[1024];
	int failures = unit_failures;
	enum store_result r;

	err[0] = '\0';
	if (store_open(path, &o, err, sizeof(err)) == 0) {
		/* If it opens at all, no append may be acknowledged. */
		r = store_append("a", "b", "x", 1, NULL, NULL, NULL, err, sizeof(err));
		CHECK(r == STORE_ERROR);
		store_close();
		CHECK(!"store_open accepted a read-only database");
	} else {
		CHECK(strstr(err, "read-only") != NULL);
		CHECK(append("a", "b", "x", NULL) == STORE_ERROR);
	}
	return unit_failures - failures;
}

static void
test_readonly(void)
{
	char *sub = db_path("ro"), *path = xasprintf("%s/ro/ro.db", dir);
	struct passwd *pw;
	uid_t uid = 65534;
	gid_t gid = 65534;
	pid_t pid;
	int status;

	CHECK(mkdir(sub, 0700) == 0);
	CHECK(open_store(path, 0, 0, true) == 0);
	CHECK(append("a", "b", "before", NULL) == STORE_OK);
	store_close();
	CHECK(chmod(path, 0400) == 0);
	if (geteuid() != 0) {
		readonly_checks(path);
		goto out;
	}
	/* Root writes any file: try again as nobody in a child. */
	pw = getpwnam("nobody");
	if (pw != NULL) {
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (chmod(dir, 0711) != 0 || chown(sub, uid, gid) != 0 ||
	    chown(path, uid, gid) != 0) {
		printf("test-store: read-only case skipped (chown: %s)\n",
		    strerror(errno));
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) != 0 || setgid(gid) != 0 ||
		    setuid(uid) != 0 || access(path, W_OK) == 0) {
			_exit(77);
		}
		_exit(readonly_checks(path) == 0 ? 0 : 1);
	}
	CHECK(pid > 0);
	if (pid > 0) {
		CHECK(waitpid(pid, &status, 0) == pid);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
			printf("test-store: read-only case skipped (running as "
			    "root and cannot become nobody)\n");
		} else {
			CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		}
	}
out:
	CHECK(chmod(path, 0600) == 0);
	/* The message from before is intact. */
	CHECK(open_store(path, 0, 0, true) == 0);
	CHECK(store_count_messages() == 1);
	store_close();
	free(path);
	free(sub);
}

static void
test_disk_full(void)
{
	char *path = db_path("full.db"), err[256];
	int64_t id = 0;
	enum store_result r;

	CHECK(open_store(path, 0, 0, true) == 0);
	CHECK(append("a", "b", "one", NULL) == STORE_OK);
	atomic_store(&fail_write, 1);
	err[0] = '\0';
	r = store_append("a", "b", "two", 3, &id, NULL, NULL, err, sizeof(err));
	atomic_store(&fail_write, 0);
	CHECK(r == STORE_ERROR);
	CHECK_STR(err, "disk full");
	/* Not permanent: once there is room, sending works again. */
	CHECK(append("a", "b", "three", NULL) == STORE_OK);
	HISTORY("a", "b", 10, "one", "three");
	store_close();
	free(path);
}

static void
test_io_error(void)
{
	char *path = db_path("ioerr.db"), err[256];
	int64_t id1 = 0;
	enum store_result r;

	CHECK(open_store(path, 0, 0, true) == 0);
	CHECK(append("a", "b", "one", &id1) == STORE_OK);
	atomic_store(&fail_sync, 1);
	err[0] = '\0';
	r = store_append("a", "b", "two", 3, NULL, NULL, NULL, err, sizeof(err));
	atomic_store(&fail_sync, 0);
	CHECK(r == STORE_ERROR);
	CHECK_STR(err, "I/O error");
	/* No retry that could acknowledge on top of a lost write. */
	err[0] = '\0';
	r = store_append("a", "b", "three", 5, NULL, NULL, NULL, err, sizeof(err));
	CHECK(r == STORE_ERROR);
	CHECK_STR(err, FAILED_TEXT);
	store_mark_delivered(id1);
	store_session_open(1, "a", "192.0.2.1:1", 1);
	CHECK(store_recover_sessions(NULL, NULL) == 0);
	/* Reads still work. */
	CHECK(store_count_messages() >= 1);
	store_close();

	/* A restart starts clean. */
	CHECK(open_store(path, 0, 0, true) == 0);
	CHECK(store_count_undelivered("b") >= 1);
	CHECK(store_max_session_id() == 0);
	CHECK(append("a", "b", "four", NULL) == STORE_OK);
	store_close();
	free(path);
}

/* What written() saw. */
struct seen {
	int calls;
	int64_t id;
	int syncs;		/* xSync calls returned when it was called */
	pthread_t thread;	/* the thread it was called on */
};

static void
written(void *arg, int64_t id)
{
	struct seen *s = arg;

	s->calls++;
	s->id = id;
	s->syncs = atomic_load(&syncs);
	s->thread = pthread_self();
}

/*
 * written() is called once per committed message, before the sync with
 * show_before_sync (a sync here takes 200 ms) and after it without;
 * never for a refused message; and a failed sync after it is an error.
 */
static void
test_written(void)
{
	char *path = db_path("written.db"), err[256];
	const char *to[2] = { "b0", "b1" };
	struct seen s;
	int64_t id = 0;

	atomic_store(&sync_delay_ms, 200);
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
			CHECK(s.syncs < atomic_load(&syncs));
		} else {
			CHECK(s.syncs == atomic_load(&syncs));
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

	/* The sync fails after the message was shown: an error all the same. */
	show_before_sync = true;
	CHECK(open_store(path, 0, 0, true) == 0);
	/* A first commit starts the WAL (a new WAL's header is synced). */
	CHECK(append("a", "c", "first", NULL) == STORE_OK);
	memset(&s, 0, sizeof(s));
	atomic_store(&fail_sync, 1);
	CHECK(store_append("a", "c", "lost?", 5, NULL, written, &s, err,
	    sizeof(err)) == STORE_ERROR);
	atomic_store(&fail_sync, 0);
	CHECK(s.calls == 1);
	CHECK_STR(err, "I/O error");
	store_close();
	atomic_store(&sync_delay_ms, 0);
	free(path);
}

/*
 * A daemon killed while it appends: every acknowledged message is there
 * after a restart (the kill leaves a hot WAL behind).
 */
static void
test_crash(void)
{
	char *path = db_path("crash.db"), body[32];
	struct store_message *m = NULL;
	int64_t id, *acked = NULL;
	size_t n = 0, cap = 0, j = 0;
	int fds[2], status, got, i, want = small ? 20 : 300;
	bool all = true;
	pid_t pid;

	CHECK(pipe(fds) == 0);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		if (open_store(path, 0, 0, true) != 0) {
			_exit(1);
		}
		for (i = 0;; i++) {
			snprintf(body, sizeof(body), "crash %d", i);
			if (append("crash", "sink", body, &id) == STORE_OK &&
			    write(fds[1], &id, sizeof(id)) != sizeof(id)) {
				_exit(1);
			}
		}
	}
	close(fds[1]);
	CHECK(pid > 0);
	while (pid > 0 && (got = (int)read(fds[0], &id, sizeof(id))) ==
	    (int)sizeof(id)) {
		if (n == cap) {
			cap = cap == 0 ? 256 : cap * 2;
			acked = xrealloc(acked, cap * sizeof(*acked));
		}
		acked[n++] = id;
		if (n == (size_t)want) {
			CHECK(kill(pid, SIGKILL) == 0);
		}
	}
	close(fds[0]);
	if (pid > 0) {
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	}
	CHECK(n >= (size_t)want);

	CHECK(open_store(path, 0, 0, true) == 0);
	got = store_history("crash", "sink", n + 100, &m);
	CHECK(got >= (int)n);
	for (i = 0; i < got && j < n; i++) {
		if (m[i].id == acked[j]) {
			j++;
		}
	}
	all = j == n;
	CHECK(all);
	store_messages_free(m, got);
	store_close();
	free(acked);
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

static void
test_retention(void)
{
	char *path = db_path("retention.db"), *sql;
	struct store_message *m = NULL;
	int64_t old = wall_ms() - 40 * 24 * 3600 * 1000LL, id = 0;
	int n;

	CHECK(open_store(path, 0, 0, false) == 0);
	store_close();
	/* 2500 old delivered, one old undelivered, 10 recent delivered. */
	sql = xasprintf("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL "
	    "SELECT i + 1 FROM c WHERE i < 2511) "
	    "INSERT INTO messages(id, sent_at, sender, recipient, body, "
	    "delivered_at) SELECT i, CASE WHEN i <= 2501 THEN %lld ELSE %lld "
	    "END, 'a', 'b', 'm' || i, CASE WHEN i = 2501 THEN NULL ELSE %lld "
	    "END FROM c", (long long)old, (long long)wall_ms(),
	    (long long)old);
	CHECK(raw_exec(path, sql) == 0);
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
	CHECK(raw_exec(path, "UPDATE messages SET delivered_at = 1, "
	    "sent_at = 1") == 0);
	CHECK(open_store(path, 0, 30, false) == 0);
	CHECK(wait_count(1));
	CHECK(append("a", "b", "newer", &id) == STORE_OK);
	CHECK(id == 2513);
	store_close();

	/* retention_days 0 keeps everything. */
	CHECK(raw_exec(path, "UPDATE messages SET delivered_at = 1, "
	    "sent_at = 1") == 0);
	CHECK(open_store(path, 0, 0, false) == 0);
	usleep(50000);
	CHECK(store_count_messages() == 2);
	store_close();
	free(path);
}

static void
bench(void)
{
	enum { THREADS = 50 };
	char *path = db_path("bench.db");
	struct sender a[THREADS];
	pthread_t tid[THREADS];
	int one = small ? 50 : 1000, each = small ? 5 : 200, total, i;
	double secs;

	CHECK(open_store(path, 0, 0, true) == 0);
	secs = run_senders(1, one, a, tid);
	CHECK(a[0].ok == one);
	free(a[0].ids);
	printf("test-store: synchronous=FULL, 1 thread: %d appends in %.2f s, "
	    "%.0f acknowledged appends/s\n", one, secs,
	    secs > 0 ? one / secs : 0.0);
	secs = run_senders(THREADS, each, a, tid);
	total = 0;
	for (i = 0; i < THREADS; i++) {
		total += a[i].ok;
		free(a[i].ids);
	}
	CHECK(total == THREADS * each);
	printf("test-store: synchronous=FULL, %d threads: %d appends in "
	    "%.2f s, %.0f acknowledged appends/s\n", THREADS, total, secs,
	    secs > 0 ? total / secs : 0.0);
	store_close();
	free(path);
}

static void
collect_setting(const char *key, const char *value, void *arg)
{
	struct buf *b = arg;

	buf_appendf(b, "%s=%s;", key, value);
}

/* Room lines, /me actions, settings, and the migration from version 1. */
static void
test_room_settings(void)
{
	char *path = db_path("room.db"), err[256], *s;
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

	/* A version 1 database is migrated in place, keeping its messages. */
	path = db_path("v1.db");
	CHECK(raw_exec(path, "CREATE TABLE meta(key TEXT PRIMARY KEY, "
	    "value TEXT); CREATE TABLE messages(id INTEGER PRIMARY KEY, "
	    "sent_at INTEGER NOT NULL, sender TEXT NOT NULL, recipient TEXT "
	    "NOT NULL, body TEXT NOT NULL, delivered_at INTEGER); "
	    "CREATE INDEX messages_undelivered ON messages(recipient, id) "
	    "WHERE delivered_at IS NULL; CREATE INDEX messages_recipient ON "
	    "messages(recipient, id); CREATE INDEX messages_sender ON "
	    "messages(sender, id); CREATE TABLE sessions(id INTEGER PRIMARY "
	    "KEY, user TEXT NOT NULL, addr TEXT NOT NULL, login_at INTEGER "
	    "NOT NULL, logout_at INTEGER, reason TEXT); CREATE INDEX "
	    "sessions_user ON sessions(user, login_at); INSERT INTO "
	    "meta VALUES ('schema_version', '1'); INSERT INTO messages("
	    "sent_at, sender, recipient, body) VALUES (1, 'a', 'b', 'old')")
	    == 0);
	CHECK(open_store(path, 0, 0, true) == 0);
	n = store_undelivered("b", 0, 10, &m);
	CHECK(n == 1 && m[0].kind == STORE_MSG);
	store_messages_free(m, n);
	store_setting_set("b", "k", "v");
	store_close();
	s = raw_text(path, "SELECT value FROM meta WHERE key = "
	    "'schema_version'");
	CHECK_STR(s, "2");
	free(s);
	s = raw_text(path, "SELECT value FROM settings WHERE user = 'b'");
	CHECK_STR(s, "v");
	free(s);
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

int
main(void)
{
	const char *t = getenv("TMPDIR"), *sm = getenv("STORE_TEST_SMALL");

	small = sm != NULL && *sm != '\0' && strcmp(sm, "0") != 0;
	snprintf(dir, sizeof(dir), "%s/test-store.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}
	shim_install();

	test_basic();
	test_history();
	test_cap();
	test_sessions();
	test_concurrent();
	test_not_ours();
	test_readonly();
	test_disk_full();
	test_io_error();
	test_written();
	test_crash();
	test_retention();
	test_room_settings();
	bench();

	if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
		perror(dir);
	}
	return unit_done("test-store");
}
