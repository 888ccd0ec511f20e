/*
 * The SQLite backend's own part of test-store (test-store.h): a VFS that
 * wraps SQLite's own to inject failures (the store is tested as built),
 * files that are not our database, a read-only file, disk full, a
 * failed fsync (after which nothing may be acknowledged), the sync that
 * comes after written(), WAL mode, the migration from version 1.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "test-store.h"

/* Fault injection: a VFS that forwards to the default one. */

static atomic_int fail_write;		/* xWrite says SQLITE_FULL */
static atomic_int fail_sync;		/* xSync says SQLITE_IOERR_FSYNC */
atomic_int syncs;		/* xSync calls returned */
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

/* Files and connections of our own. */

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

/* The sync fails after the message was shown: an error all the same. */
static void
test_sync_fails(void)
{
	char *path = db_path("syncfail.db"), err[256];
	struct seen s;

	show_before_sync = true;
	atomic_store(&sync_delay_ms, 200);
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

/* A version 1 database is migrated in place, keeping its messages. */
static void
test_migrate_v1(void)
{
	char *path = db_path("v1.db"), *s;
	struct store_message *m = NULL;
	int n;

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

/* The writer connection runs in WAL mode. */
static void
test_wal(void)
{
	char *path = db_path("wal.db"), *s;

	CHECK(open_store(path, 0, 0, true) == 0);
	store_close();
	s = raw_text(path, "PRAGMA journal_mode");
	CHECK_STR(s, "wal");
	free(s);
	free(path);
}

void
sqlite_sync_delay(int ms)
{
	atomic_store(&sync_delay_ms, ms);
}

static bool
sq_setup(void)
{
	shim_install();
	return true;
}

static char *
sq_new_store(const char *name)
{
	char *file = xasprintf("%s.db", name), *path = db_path(file);

	free(file);
	return path;
}

static void
sq_own_tests(void)
{
	test_not_ours();
	test_readonly();
	test_disk_full();
	test_io_error();
	test_sync_fails();
	test_migrate_v1();
	test_wal();
}

static void
sq_cleanup(void)
{
}

const struct test_backend sqlite_backend_tests = {
	.engine = "sqlite",
	.setup = sq_setup,
	.new_store = sq_new_store,
	.exec = raw_exec,
	.text = raw_text,
	.own_tests = sq_own_tests,
	.cleanup = sq_cleanup,
};
