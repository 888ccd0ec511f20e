/*
 * File identity, schema and migration of the SQLite message store.  It
 * decides whether the file at the store's path is this store's database
 * (sq_check_existing, before any connection that could write it is
 * opened: a file that is not ours is never written, not even given a
 * -wal beside it), creates the tables in an empty one and migrates an
 * older schema under the write lock (sq_setup_schema).  It knows the
 * schema's version; it runs no message traffic and owns no connection.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "store_sqlite_int.h"
#include "util.h"

#define SCHEMA_VERSION		2

#define ERR_NOT_OURS_GARBAGE "%s: not a sshchat message database (file is " \
	"not a database or is corrupt); move it away to start a new one"
#define ERR_NOT_OURS_FOREIGN "%s: not a sshchat message database (an " \
	"SQLite database without sshchat's tables); move it away to start " \
	"a new one"

#define SETTINGS_SQL \
    "CREATE TABLE settings(user TEXT NOT NULL, key TEXT NOT NULL, " \
    "value TEXT NOT NULL, PRIMARY KEY(user, key));"

static const char schema_sql[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE messages(id INTEGER PRIMARY KEY, "
    "sent_at INTEGER NOT NULL, sender TEXT NOT NULL, "
    "recipient TEXT NOT NULL, body TEXT NOT NULL, delivered_at INTEGER, "
    "kind INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX messages_undelivered ON messages(recipient, id) "
    "WHERE delivered_at IS NULL;"
    "CREATE INDEX messages_recipient ON messages(recipient, id);"
    "CREATE INDEX messages_sender ON messages(sender, id);"
    "CREATE TABLE sessions(id INTEGER PRIMARY KEY, user TEXT NOT NULL, "
    "addr TEXT NOT NULL, login_at INTEGER NOT NULL, logout_at INTEGER, "
    "reason TEXT);"
    "CREATE INDEX sessions_user ON sessions(user, login_at);"
    SETTINGS_SQL
    "INSERT INTO meta(key, value) VALUES ('schema_version', '2');";

/* Version 1 to 2: room lines and /me actions (kind), user settings. */
static const char migrate_v2_sql[] =
    "ALTER TABLE messages ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;"
    SETTINGS_SQL
    "UPDATE meta SET value = '2' WHERE key = 'schema_version';";

/* Report rc from reading path; garbage and corruption get one message. */
void
sq_read_err(const char *path, sqlite3 *db, int rc, char *err, size_t errlen)
{
	if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT) {
		set_err(err, errlen, ERR_NOT_OURS_GARBAGE, path);
	} else {
		set_err(err, errlen, "%s: cannot read the message database: %s",
		    path, sqlite3_errmsg(db));
	}
}

/* Prepare, step and finalize one query for a single integer. */
static int
once_int64(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK) {
		return rc;
	}
	rc = sq_query_int64(s, out);
	(void)sqlite3_finalize(s);
	return rc;
}

/*
 * What the database at path holds: -1 not ours (err set), 0 nothing yet,
 * 1 our schema in a version this code knows.  Only reads.
 */
static int
classify(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	const char *text;
	int64_t has_meta, objects;
	char *end;
	long version;
	int rc, ret = -1;

	rc = once_int64(db, "SELECT count(*) FROM sqlite_master", &objects);
	if (rc == SQLITE_OK) {
		rc = once_int64(db, "SELECT count(*) FROM sqlite_master "
		    "WHERE type = 'table' AND name = 'meta'", &has_meta);
	}
	if (rc != SQLITE_OK) {
		sq_read_err(path, db, rc, err, errlen);
		return -1;
	}
	if (objects == 0) {
		return 0;
	}
	if (has_meta == 0) {
		set_err(err, errlen, ERR_NOT_OURS_FOREIGN, path);
		return -1;
	}
	rc = sqlite3_prepare_v2(db, "SELECT value FROM meta "
	    "WHERE key = 'schema_version'", -1, &s, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
	}
	if (rc == SQLITE_DONE) {
		set_err(err, errlen, ERR_NOT_OURS_FOREIGN, path);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		sq_read_err(path, db, rc, err, errlen);
		goto out;
	}
	text = (const char *)sqlite3_column_text(s, 0);
	errno = 0;
	version = text != NULL ? strtol(text, &end, 10) : 0;
	if (text == NULL || errno != 0 || end == text || *end != '\0' ||
	    version < 1) {
		set_err(err, errlen, "%s: bad schema_version \"%s\" in the "
		    "message database", path, text != NULL ? text : "");
		goto out;
	}
	if (version > SCHEMA_VERSION) {
		set_err(err, errlen, "%s: the message database has schema "
		    "version %ld, newer than this sshchatd knows (%d); run a "
		    "newer sshchatd or move the file away", path, version,
		    SCHEMA_VERSION);
		goto out;
	}
	ret = 1;
out:
	(void)sqlite3_finalize(s);
	return ret;
}

/* An SQLite URI for path, read-only and immutable. */
static char *
immutable_uri(const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf b = { 0 };
	const unsigned char *p;
	char esc[3];

	buf_append(&b, "file:", 5);
	for (p = (const unsigned char *)path; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("/-._~", *p) != NULL) {
			buf_append(&b, p, 1);
		} else {
			esc[0] = '%';
			esc[1] = hex[*p >> 4];
			esc[2] = hex[*p & 0xf];
			buf_append(&b, esc, 3);
		}
	}
	buf_append(&b, "?mode=ro&immutable=1", 20);
	return b.data;
}

/*
 * Before any connection that could write it is opened, make sure a
 * non-empty file at path is an SQLite database and not someone else's.
 * The connection is immutable so that it creates no -wal or -shm file
 * beside a file that is refused; it does not see a WAL, so the writer
 * connection checks again (sq_setup_schema).
 */
int
sq_check_existing(const char *path, char *err, size_t errlen)
{
	struct stat sb;
	sqlite3 *db = NULL;
	char *uri;
	int ret;

	if (stat(path, &sb) == -1) {
		if (errno == ENOENT) {
			return 0;
		}
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		set_err(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	if (sb.st_size == 0) {
		return 0;
	}
	uri = immutable_uri(path);
	ret = sq_open_db(uri, path, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, &db,
	    err, errlen);
	free(uri);
	if (ret < 0) {
		return -1;
	}
	ret = classify(db, path, err, errlen);
	sq_close_db(&db);
	return ret < 0 ? -1 : 0;
}

/*
 * Create the schema in an empty database, or check the version of ours
 * again, now under the write lock.  Runs before the switch to WAL, so a
 * refused file is not even given a new journal mode.
 */
int
sq_setup_schema(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	int rc, kind;

	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		sq_read_err(path, db, rc, err, errlen);
		return -1;
	}
	kind = classify(db, path, err, errlen);
	if (kind < 0) {
		goto fail;
	}
	if (kind == 0) {
		rc = sqlite3_exec(db, schema_sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			set_err(err, errlen, "%s: creating the tables: %s",
			    path, sqlite3_errmsg(db));
			goto fail;
		}
	} else {
		int64_t version = 0;

		if (once_int64(db, "SELECT CAST(value AS INTEGER) FROM "
		    "meta WHERE key = 'schema_version'", &version) == 0 &&
		    version == 1) {
			rc = sqlite3_exec(db, migrate_v2_sql, NULL, NULL, NULL);
			if (rc != SQLITE_OK) {
				set_err(err, errlen, "%s: migrating to schema "
				    "version 2: %s", path, sqlite3_errmsg(db));
				goto fail;
			}
			info("%s: migrated the message database to schema "
			    "version 2", path);
		}
	}
	rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		set_err(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
		goto fail;
	}
	if (kind == 0) {
		info("%s: created a new message database", path);
	}
	return 0;

fail:
	if (!sqlite3_get_autocommit(db)) {
		rc = sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			error("%s: ROLLBACK: %s", path, sqlite3_errmsg(db));
		}
	}
	return -1;
}
