/*
 * The PostgreSQL backend's own part of test-store (test-store.h), run
 * when STORE_TEST_URL names a server (a conninfo, keyword=value, of a
 * user who may create databases: tests/store-pg.sh starts a private
 * one).  Each store is a database of its own, made new for the test.
 * Failures are the server's own: errors raised by triggers (disk full,
 * I/O error, at INSERT and at COMMIT), the writer's connection ended by
 * its own backend in the middle of a batch or from outside between
 * batches; and tables that are not ours, a newer schema, a read-only
 * database, a server that is not there, text PostgreSQL refuses.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test-store.h"

#ifdef HAVE_LIBPQ

#include <libpq-fe.h>

static const char *base_url;	/* STORE_TEST_URL */
static PGconn *admin;		/* on base_url: creates the databases */

/* Run sql on c; 0 when it worked. */
static int
run(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;

	if (rc != 0) {
		fprintf(stderr, "test-store: %s: %s", sql, PQerrorMessage(c));
	}
	PQclear(r);
	return rc;
}

static int
pg_exec(const char *where, const char *sql)
{
	PGconn *c = PQconnectdb(where);
	int rc = -1;

	if (PQstatus(c) == CONNECTION_OK) {
		rc = run(c, sql);
	} else {
		fprintf(stderr, "test-store: %s", PQerrorMessage(c));
	}
	PQfinish(c);
	return rc;
}

static char *
pg_text(const char *where, const char *sql)
{
	PGconn *c = PQconnectdb(where);
	PGresult *r = NULL;
	char *out = NULL;

	if (PQstatus(c) == CONNECTION_OK) {
		r = PQexec(c, sql);
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 &&
		    !PQgetisnull(r, 0, 0)) {
			out = xstrdup(PQgetvalue(r, 0, 0));
		}
	}
	PQclear(r);
	PQfinish(c);
	return out;
}

/* "database ... does not exist, skipping" and the like. */
static void
quiet(void *arg, const char *message)
{
}

static bool
pg_setup(void)
{
	base_url = getenv("STORE_TEST_URL");
	admin = PQconnectdb(base_url);
	if (PQstatus(admin) != CONNECTION_OK) {
		fprintf(stderr, "test-store: STORE_TEST_URL: %s",
		    PQerrorMessage(admin));
		PQfinish(admin);
		admin = NULL;
		return false;
	}
	(void)PQsetNoticeProcessor(admin, quiet, NULL);
	return true;
}

/* The database of test name (lower case letters only in names here). */
static char *
db_name(const char *name)
{
	return xasprintf("sshchat_test_%s", name);
}

static char *
pg_new_store(const char *name)
{
	char *db = db_name(name), *sql;

	sql = xasprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
	CHECK(run(admin, sql) == 0);
	free(sql);
	sql = xasprintf("CREATE DATABASE %s", db);
	CHECK(run(admin, sql) == 0);
	free(sql);
	sql = xasprintf("%s dbname=%s", base_url, db);
	free(db);
	return sql;
}

/* Refused at open, with want in the error, and the store stays closed. */
static void
check_refused(const char *where, const char *want)
{
	struct store_options o = { .engine = "postgresql", .sync_full = true };
	char err[1024];

	err[0] = '\0';
	CHECK(store_open(where, &o, err, sizeof(err)) == -1);
	if (strstr(err, want) == NULL) {
		unit_failures++;
		fprintf(stderr, "%s:%d: store_open said \"%s\", want \"%s\"\n",
		    __FILE__, __LINE__, err, want);
	}
	unit_checks++;
	CHECK(append("a", "b", "x", NULL) == STORE_ERROR);
}

/* Tables that are not ours, a schema we do not know, no server. */
static void
test_not_ours(void)
{
	char *url = pg_new_store("foreign"), *s;

	CHECK(pg_exec(url, "CREATE TABLE messages(note text); "
	    "INSERT INTO messages VALUES ('mine')") == 0);
	check_refused(url, "not a sshchat message database");
	s = pg_text(url, "SELECT to_regclass('schema_version') IS NULL "
	    "AND (SELECT note FROM messages) = 'mine'");
	CHECK_STR(s, "t");
	free(s);
	free(url);

	url = pg_new_store("newer");
	CHECK(open_store(url, 0, 0, true) == 0);
	store_close();
	CHECK(pg_exec(url, "UPDATE schema_version SET version = 2") == 0);
	check_refused(url, "schema version 2, newer than this sshchatd");
	s = pg_text(url, "SELECT version FROM schema_version");
	CHECK_STR(s, "2");
	free(s);
	CHECK(pg_exec(url, "DELETE FROM schema_version") == 0);
	check_refused(url, "schema_version has 0 rows");
	free(url);

	/* Our tables in a database of their own, or beside someone else's. */
	url = pg_new_store("shared");
	CHECK(pg_exec(url, "CREATE TABLE notes(t text)") == 0);
	CHECK(open_store(url, 0, 0, true) == 0);
	CHECK(append("a", "b", "x", NULL) == STORE_OK);
	store_close();
	free(url);

	check_refused("host=/nonexistent/socket/dir dbname=x",
	    "PostgreSQL message store: cannot connect");
}

/* A read-only database (a standby, default_transaction_read_only). */
static void
test_readonly(void)
{
	char *url = pg_new_store("readonly"), *db = db_name("readonly"), *sql;

	CHECK(open_store(url, 0, 0, true) == 0);
	CHECK(append("a", "b", "before", NULL) == STORE_OK);
	store_close();
	sql = xasprintf("ALTER DATABASE %s SET default_transaction_read_only "
	    "= on", db);
	CHECK(run(admin, sql) == 0);
	free(sql);
	check_refused(url, "read-only");
	sql = xasprintf("ALTER DATABASE %s RESET default_transaction_read_only",
	    db);
	CHECK(run(admin, sql) == 0);
	free(sql);
	CHECK(open_store(url, 0, 0, true) == 0);
	CHECK(store_count_messages() == 1);
	store_close();
	free(db);
	free(url);
}

/*
 * Triggers that fail what the test asks them to: a body "fail:X" makes
 * the INSERT fail (disk, io, kill: the backend ends its own connection),
 * "commit:X" the COMMIT (a deferred constraint trigger).
 */
static const char faults_sql[] =
    "CREATE FUNCTION fault() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "DECLARE b text := encode(NEW.body, 'escape'); BEGIN "
    "IF b IN ('fail:disk', 'commit:disk') THEN "
    "RAISE EXCEPTION 'test: no space' USING ERRCODE = 'disk_full'; "
    "ELSIF b IN ('fail:io', 'commit:io') THEN "
    "RAISE EXCEPTION 'test: I/O' USING ERRCODE = 'io_error'; "
    "ELSIF b IN ('fail:kill', 'commit:kill') THEN "
    "PERFORM pg_terminate_backend(pg_backend_pid()); "
    "PERFORM pg_sleep(5); END IF; RETURN NEW; END $$; "
    "CREATE TRIGGER fault BEFORE INSERT ON messages FOR EACH ROW "
    "WHEN (encode(NEW.body, 'escape') LIKE 'fail:%') "
    "EXECUTE FUNCTION fault(); "
    "CREATE CONSTRAINT TRIGGER fault_commit AFTER INSERT ON messages "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
    "WHEN (encode(NEW.body, 'escape') LIKE 'commit:%') "
    "EXECUTE FUNCTION fault()";

/* body fails with reason; nothing of it is stored; the next works. */
static void
check_fails(const char *body, const char *reason, int line)
{
	char err[256];
	enum store_result r;
	struct seen s;

	memset(&s, 0, sizeof(s));
	err[0] = '\0';
	r = store_append("a", "b", body, strlen(body), NULL, written, &s, err,
	    sizeof(err));
	unit_checks++;
	if (r != STORE_ERROR || strcmp(err, reason) != 0 || s.calls != 0) {
		unit_failures++;
		fprintf(stderr, "%s:%d: \"%s\": result %d, \"%s\", %d "
		    "written(), want an error \"%s\" and none\n", __FILE__,
		    line, body, (int)r, err, s.calls, reason);
	}
	CHECK(append("a", "b", "next", NULL) == STORE_OK);
}

static void
test_server_errors(void)
{
	char *url = pg_new_store("faults"), *s;

	CHECK(open_store(url, 0, 0, true) == 0);
	store_close();
	CHECK(pg_exec(url, faults_sql) == 0);
	CHECK(open_store(url, 0, 0, true) == 0);
	CHECK(append("a", "b", "one", NULL) == STORE_OK);
	check_fails("fail:disk", "disk full", __LINE__);
	check_fails("fail:io", "I/O error", __LINE__);
	check_fails("fail:kill", "database connection lost", __LINE__);
	check_fails("commit:disk", "disk full", __LINE__);
	check_fails("commit:kill", "database connection lost", __LINE__);
	HISTORY("a", "b", 20, "one", "next", "next", "next", "next", "next");
	/* Marks and sessions after a lost connection are written too. */
	store_session_open(7, "a", "192.0.2.1:1", 1000);
	CHECK(store_last_login("a") == 1000);
	store_close();
	s = pg_text(url, "SELECT count(*) FROM messages WHERE "
	    "encode(body, 'escape') LIKE '%:%'");
	CHECK_STR(s, "0");
	free(s);
	free(url);
}

/* Text PostgreSQL refuses fails its own write only. */
static void
test_bad_text(void)
{
	char *url = pg_new_store("badtext"), err[256];

	CHECK(open_store(url, 0, 0, true) == 0);
	err[0] = '\0';
	CHECK(store_append("\xff\xfe", "b", "x", 1, NULL, NULL, NULL, err,
	    sizeof(err)) == STORE_ERROR);
	CHECK_STR(err, "invalid text");
	CHECK(store_append("a", "b\xc0\xaf", "x", 1, NULL, NULL, NULL, err,
	    sizeof(err)) == STORE_ERROR);
	CHECK(append("a", "b", "fine", NULL) == STORE_OK);
	CHECK(append("\xc3\xa9t\xc3\xa9", "b", "utf-8 is fine", NULL) ==
	    STORE_OK);
	CHECK(store_count_messages() == 2);
	store_close();
	free(url);
}

/* Connections ended from outside between batches are made again. */
static void
test_reconnect(void)
{
	char *url = pg_new_store("reconnect"), *db = db_name("reconnect"), *s;
	char *sql = xasprintf("SELECT count(pg_terminate_backend(pid)) FROM "
	    "pg_stat_activity WHERE datname = '%s'", db);
	char *left = xasprintf("SELECT count(*) FROM pg_stat_activity WHERE "
	    "datname = '%s'", db);
	struct store_message *m = NULL;
	int n, i;

	CHECK(open_store(url, 0, 0, true) == 0);
	CHECK(append("a", "b", "one", NULL) == STORE_OK);
	for (int round = 0; round < 2; round++) {
		CHECK(run(admin, sql) == 0);
		for (i = 0; i < 200; i++) {
			s = pg_text(base_url, left);
			if (s != NULL && strcmp(s, "0") == 0) {
				free(s);
				break;
			}
			free(s);
			usleep(10000);
		}
		CHECK(i < 200);
		/* Reads and writes find it gone and connect again. */
		CHECK(store_count_messages() == 1 + round);
		CHECK(append("a", "b", "again", NULL) == STORE_OK);
	}
	n = store_undelivered("b", 0, 10, &m);
	CHECK(n == 3);
	store_messages_free(m, n);
	store_close();
	free(left);
	free(sql);
	free(db);
	free(url);
}

static void
pg_own_tests(void)
{
	test_not_ours();
	test_readonly();
	test_server_errors();
	test_bad_text();
	test_reconnect();
}

static void
pg_cleanup(void)
{
	PQfinish(admin);
	admin = NULL;
}

#else

static bool
pg_setup(void)
{
	printf("test-store: STORE_TEST_URL is set, but this build has no "
	    "PostgreSQL support (libpq): skipped\n");
	return false;
}

static char *
pg_new_store(const char *name)
{
	return NULL;
}

static int
pg_exec(const char *where, const char *sql)
{
	return -1;
}

static char *
pg_text(const char *where, const char *sql)
{
	return NULL;
}

static void
pg_own_tests(void)
{
}

static void
pg_cleanup(void)
{
}

#endif

const struct test_backend pg_backend_tests = {
	.engine = "postgresql",
	.setup = pg_setup,
	.new_store = pg_new_store,
	.exec = pg_exec,
	.text = pg_text,
	.own_tests = pg_own_tests,
	.cleanup = pg_cleanup,
};
