/*
 * Unit tests for the users file: the CSV dialect and every error it
 * reports, password checks against real crypt(3) hashes and legacy
 * plaintext, locked accounts, the file mode rule, and the live table
 * following edits.
 */
#include "config.h"

#include <sys/stat.h>

#include <crypt.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "userdb.h"
#include "util.h"

#define NAME "users.csv"

static char dir[256];
static char yes_hash[CRYPT_OUTPUT_SIZE];	/* yescrypt of "alice-pw" */
static char sha_hash[CRYPT_OUTPUT_SIZE];	/* $6$ of "root-pw" */

/* A real hash; yescrypt at cost 3 (of 1-11) keeps the test fast. */
static void
make_hash(const char *prefix, const char *pw, char *out, size_t outlen)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *h;

	if (crypt_gensalt_rn(prefix, strcmp(prefix, "$y$") == 0 ? 3 : 0,
	    NULL, 0, setting, sizeof(setting)) == NULL) {
		fprintf(stderr, "crypt_gensalt_rn(%s) failed\n", prefix);
		exit(1);
	}
	h = crypt_r(pw, setting, cd);
	if (h == NULL || h[0] == '*') {
		fprintf(stderr, "crypt_r(%s) failed\n", prefix);
		exit(1);
	}
	snprintf(out, outlen, "%s", h);
	free(cd);
}

static struct userdb *
parse(const char *text, char *err, size_t errlen)
{
	err[0] = '\0';
	return userdb_parse(NAME, text, strlen(text), err, errlen);
}

/* The text must fail with an error that starts with where and has what. */
static void
check_error(const char *text, const char *where, const char *what, int line)
{
	char err[512];
	struct userdb *db = parse(text, err, sizeof(err));

	unit_checks++;
	if (db != NULL || strncmp(err, where, strlen(where)) != 0 ||
	    strstr(err, what) == NULL) {
		unit_failures++;
		fprintf(stderr, "%s:%d: error \"%s\", want \"%s ... %s\"%s\n",
		    __FILE__, line, err, where, what,
		    db != NULL ? " (parsed)" : "");
	}
	userdb_free(db);
}

#define ERR(text, where, what) check_error(text, where, what, __LINE__)

static void
test_names(void)
{
	CHECK(userdb_valid_name("alice"));
	CHECK(userdb_valid_name("A.b-c_9"));
	CHECK(userdb_valid_name("_x"));
	CHECK(userdb_valid_name("abcdefghijklmnopqrstuvwxyz012345"));
	CHECK(!userdb_valid_name("abcdefghijklmnopqrstuvwxyz0123456"));
	CHECK(!userdb_valid_name(""));
	CHECK(!userdb_valid_name(NULL));
	CHECK(!userdb_valid_name("-bob"));
	CHECK(!userdb_valid_name(".bob"));
	CHECK(!userdb_valid_name("bo b"));
	CHECK(!userdb_valid_name("bob\n"));
	CHECK(!userdb_valid_name("b\xc3\xb6" "b"));
	CHECK(!userdb_valid_name("bob@x"));
}

static void
test_format(void)
{
	char err[512], *text;
	struct userdb *db;
	const struct user *u;

	/* BOM, comments, blank lines, CRLF, header without role. */
	text = xasprintf("\xef\xbb\xbf# the users\r\n\r\n  \t\r\n"
	    "UserName,PASSWORD\r\nalice,%s\r\n# bob is the admin\r\n"
	    "bob,plain pw,admin\r\n\n", yes_hash);
	db = parse(text, err, sizeof(err));
	CHECK(db != NULL);
	CHECK_STR(err, "");
	CHECK(userdb_count(db) == 2);
	u = userdb_find(db, "alice");
	CHECK(u != NULL && u->line == 5 && !u->plaintext &&
	    u->role == ROLE_USER && strcmp(u->password, yes_hash) == 0);
	u = userdb_find(db, "bob");
	CHECK(u != NULL && u->line == 7 && u->plaintext &&
	    u->role == ROLE_ADMIN);
	CHECK_STR(u != NULL ? u->password : NULL, "plain pw");
	CHECK(userdb_get(db, 0) != NULL &&
	    strcmp(userdb_get(db, 0)->name, "alice") == 0);
	CHECK(userdb_get(db, 2) == NULL);
	CHECK(userdb_find(db, "Alice") == NULL);
	CHECK(userdb_find(db, "carol") == NULL);
	userdb_free(db);
	free(text);

	/* Quoted fields, blanks around fields, role case, no final newline. */
	db = parse("username,password,role\n"
	    "\"carol\",\"pa,ss\"\"word\",ADMIN\n"
	    "  dave , \" spaced \" , user \n"
	    "erin,x,\n"
	    "frank,\"\"\"\"", err, sizeof(err));
	CHECK(db != NULL);
	CHECK(userdb_count(db) == 4);
	u = userdb_find(db, "carol");
	CHECK(u != NULL && u->role == ROLE_ADMIN && u->plaintext);
	CHECK_STR(u != NULL ? u->password : NULL, "pa,ss\"word");
	u = userdb_find(db, "dave");
	CHECK_STR(u != NULL ? u->password : NULL, " spaced ");
	u = userdb_find(db, "erin");
	CHECK(u != NULL && u->role == ROLE_USER);
	u = userdb_find(db, "frank");
	CHECK_STR(u != NULL ? u->password : NULL, "\"");
	CHECK(u != NULL && !u->locked);
	userdb_free(db);

	/* A '!' before the password locks the account, as in shadow(5). */
	text = xasprintf("username,password,role\nalice,!%s,admin\n"
	    "bob, !pw \ncarol,\"!pa,ss\"\ndave,p!w\n", yes_hash);
	db = parse(text, err, sizeof(err));
	CHECK(db != NULL);
	CHECK_STR(err, "");
	u = userdb_find(db, "alice");
	CHECK(u != NULL && u->locked && !u->plaintext &&
	    u->role == ROLE_ADMIN && strcmp(u->password, yes_hash) == 0);
	u = userdb_find(db, "bob");
	CHECK(u != NULL && u->locked && u->plaintext);
	CHECK_STR(u != NULL ? u->password : NULL, "pw");
	u = userdb_find(db, "carol");
	CHECK(u != NULL && u->locked && u->plaintext);
	CHECK_STR(u != NULL ? u->password : NULL, "pa,ss");
	u = userdb_find(db, "dave");
	CHECK(u != NULL && !u->locked);
	CHECK_STR(u != NULL ? u->password : NULL, "p!w");
	userdb_free(db);
	free(text);

	/* A header alone is a valid, empty table. */
	db = parse("username,password,role\n", err, sizeof(err));
	CHECK(db != NULL && userdb_count(db) == 0);
	CHECK(userdb_find(db, "alice") == NULL);
	userdb_free(db);

	/* Every accepted hash method, checked by shape only. */
	text = xasprintf("username,password\nalice,%s\nroot,%s\n"
	    "b2,$2b$05$DoxtdqNH9sP3NYjsiWupfucR51mzsZRZwIhFBsiVSjOouYope0lWu\n"
	    "b3,$2y$05$08llMgy3t1IXQOyn63paT.svs1xhmP6ffMA0w83grjar33KnzEgcy\n"
	    "s5,$5$E7BpHw2zms6mOikt$xUhl0n/oUY81L073mvQApH1QvGelEY3t9JxDo"
	    "Xpvi/0\n"
	    "s6,$6$rounds=10000$abc$xlKHSwPA13IP6NSrIsVadeUWOGkk4WtG3wRSVq.d7n9"
	    "s8ArlIrtDdsq8CnUFARO3OBGKDf5NUITHPhrfcZKVG.\n"
	    "sc,$7$CU..../....mHnN2pwaxRf7hcbyJLEht0$PQRZ5ohNYBwD.ENKzk1uUynVR"
	    "NhUVktBZE4n4AgnyZ6\n"
	    "gy,$gy$j9T$yWcpIgs79UheKwNfEnGd.1$R1FzCz8dNIZjAA3ielKCPu7sYYbQxX"
	    "L0K9CiB5r3ln.\n", yes_hash, sha_hash);
	db = parse(text, err, sizeof(err));
	CHECK(db != NULL);
	CHECK_STR(err, "");
	CHECK(userdb_count(db) == 8);
	userdb_free(db);
	free(text);
}

static void
test_errors(void)
{
	char *text, *big;
	char err[512];
	size_t biglen = 16 * 1024 * 1024 + 1;

	ERR("", NAME ": ", "no header line");
	ERR("# only a comment\n\n", NAME ": ", "no header line");
	ERR("alice,pw\n", NAME ":1: ", "expected the header line "
	    "'username,password,role'");
	ERR("user,password,role\n", NAME ":1: ", "expected the header");
	ERR("username,password,role,x\n", NAME ":1: ", "too many fields");

	ERR("username,password,role\nbob,pw1\nalice,pw2\nbob,pw3\n",
	    NAME ":4: ", "duplicate user 'bob' (first on line 2)");
	ERR("username,password\nbob,a\nx,b\nBOB,c\nbob,d\n",
	    NAME ":4: ", "duplicate user 'BOB' (first on line 2 as 'bob'");
	ERR("username,password\nbob\n", NAME ":2: ", "missing password");
	ERR("username,password\n,pw\n", NAME ":2: ", "missing user name");
	ERR("username,password\n-bob,pw\n", NAME ":2: ",
	    "bad user name '-bob'");
	ERR("username,password\nb\x01o\xffz,pw\n", NAME ":2: ",
	    "bad user name 'b\\x01o\\xffz'");
	ERR("username,password\nabcdefghijklmnopqrstuvwxyz0123456,pw\n",
	    NAME ":2: ", "bad user name");
	ERR("username,password,role\nbob,pw,root\n", NAME ":2: ",
	    "unknown role 'root' (user or admin)");
	ERR("username,password,role\nbob,pw,user,x\n", NAME ":2: ",
	    "too many fields");
	ERR("username,password,role\n\nbob,\"pw,user\n", NAME ":3: ",
	    "unterminated quote");
	ERR("username,password,role\nbob,\"pw\"x\n", NAME ":2: ",
	    "text after a closing quote");
	ERR("username,password,role\nbob,\n", NAME ":2: ", "empty password");
	ERR("username,password,role\nbob,\"\",admin\n", NAME ":2: ",
	    "empty password");
	ERR("username,password,role\nbob,!\n", NAME ":2: ",
	    "empty password after the lock mark '!'");
	ERR("username,password,role\nbob,\"!\",admin\n", NAME ":2: ",
	    "empty password after the lock mark '!'");
	ERR("username,password,role\nbob,!!pw\n", NAME ":2: ",
	    "password starts with '!!' (one '!' locks an account)");
	ERR("username,password\nbob,!$1$PMi8zBUH$oHoc8ey8ayei.4/T.MEhh0\n",
	    NAME ":2: ", "unsupported password hash '$1$'");
	ERR("username,password\nbob,!$y$j9T$salt$tooshort\n", NAME ":2: ",
	    "malformed $y$ password hash");
	ERR("username,password\nbob,$1$PMi8zBUH$oHoc8ey8ayei.4/T.MEhh0\n",
	    NAME ":2: ", "unsupported password hash '$1$'");
	ERR("username,password\nbob,$\n", NAME ":2: ",
	    "unsupported password hash '$'");
	ERR("username,password\nbob,$y$j9T$salt$tooshort\n", NAME ":2: ",
	    "malformed $y$ password hash");
	ERR("username,password\nbob,$6$salt$\n", NAME ":2: ",
	    "malformed $6$ password hash");
	ERR("username,password\nbob,$6$rounds=$salt$xlKHSwPA13IP6NSrIsVade"
	    "UWOGkk4WtG3wRSVq.d7n9s8ArlIrtDdsq8CnUFARO3OBGKDf5NUITHPhrfcZKVG."
	    "\n", NAME ":2: ", "malformed $6$ password hash");
	ERR("username,password\nbob,$2b$03$DoxtdqNH9sP3NYjsiWupfucR51mzsZR"
	    "ZwIhFBsiVSjOouYope0lWu\n", NAME ":2: ",
	    "malformed $2b$ password hash");
	ERR("username,password\nbob,$y$j9T$sa lt$J5QTB0NRawpGYGV/fvDdewLy9a"
	    "lfuN9TanGHfoHORd2\n", NAME ":2: ", "malformed $y$ password hash");

	/* Errors name the line even after CRLF, comments and a BOM. */
	ERR("\xef\xbb\xbfusername,password\r\n#c\r\n\r\nbob,pw,boss\r\n",
	    NAME ":4: ", "unknown role 'boss'");

	/* Limits: a line over 8 KiB, a NUL byte, a file over 16 MiB. */
	text = xmalloc(9000);
	memset(text, 'a', 8999);
	text[8998] = '\0';
	memcpy(text, "username,password\nbob,", 22);
	ERR(text, NAME ":2: ", "line too long");
	free(text);
	CHECK(userdb_parse(NAME, "username,password\nbo\0b,x\n", 25, err,
	    sizeof(err)) == NULL);
	CHECK(strstr(err, NAME ":2: NUL byte") == err);
	big = xcalloc(1, biglen);
	CHECK(userdb_parse(NAME, big, biglen, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "file too large") != NULL);
	free(big);

	/* A plaintext password over PASSWORD_MAX can never be typed. */
	text = xmalloc(PASSWORD_MAX + 64);
	snprintf(text, PASSWORD_MAX + 64, "username,password\nbob,");
	memset(text + strlen(text), 'p', PASSWORD_MAX + 1);
	text[22 + PASSWORD_MAX + 1] = '\0';
	ERR(text, NAME ":2: ", "password too long");
	free(text);
}

static double
elapsed(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) +
	    (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

#define AUTH(name, pw, len, role) userdb_authenticate(db, name, pw, len, role)

static void
test_authenticate(void)
{
	char err[512], *text, *longpw;
	struct userdb *db;
	enum user_role role;
	struct timespec t0;
	double t_known, t_unknown, t_locked;

	longpw = xmalloc(PASSWORD_MAX + 2);
	memset(longpw, 'L', PASSWORD_MAX + 1);
	longpw[PASSWORD_MAX + 1] = '\0';
	/* Two yescrypt users make yescrypt the dummy's method. */
	text = xasprintf("username,password,role\nalice,%s\nerin,%s,user\n"
	    "root,%s,admin\nbob,\"bob's, pw\"\nlong,%.*s\n"
	    "locky,!%s,admin\nlockp,\"!pa,ss\"\n", yes_hash, yes_hash,
	    sha_hash, PASSWORD_MAX, longpw, yes_hash);
	db = parse(text, err, sizeof(err));
	CHECK(db != NULL);
	CHECK_STR(err, "");
	free(text);
	if (db == NULL) {
		free(longpw);
		return;
	}

	role = ROLE_ADMIN;
	CHECK(AUTH("alice", "alice-pw", 8, &role) == AUTH_OK);
	CHECK(role == ROLE_USER);
	/* The fastest of two: a preempted run must not fail the test. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(AUTH("alice", "alice-px", 8, &role) == AUTH_FAIL);
	t_known = elapsed(&t0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(AUTH("erin", "alice-px", 8, &role) == AUTH_FAIL);
	if (elapsed(&t0) < t_known) {
		t_known = elapsed(&t0);
	}
	CHECK(AUTH("Alice", "alice-pw", 8, &role) == AUTH_FAIL);
	CHECK(AUTH("alice", "alice-pw!", 9, &role) == AUTH_FAIL);
	CHECK(AUTH("alice", "alice-pw\0x", 10, &role) == AUTH_FAIL);
	CHECK(AUTH("alice", "", 0, &role) == AUTH_FAIL);
	/* Past libcrypt's limit a password cannot match a hash. */
	CHECK(AUTH("alice", longpw, 600, &role) == AUTH_FAIL);

	role = ROLE_USER;
	CHECK(AUTH("root", "root-pw", 7, &role) == AUTH_OK);
	CHECK(role == ROLE_ADMIN);
	CHECK(AUTH("root", "root-p", 6, NULL) == AUTH_FAIL);

	CHECK(AUTH("bob", "bob's, pw", 9, &role) == AUTH_OK);
	CHECK(role == ROLE_USER);
	CHECK(AUTH("bob", "bob's, p", 8, &role) == AUTH_FAIL);
	CHECK(AUTH("bob", "bob's, pwx", 10, &role) == AUTH_FAIL);

	/* The longest password accepted; one byte more is refused. */
	CHECK(AUTH("long", longpw, PASSWORD_MAX, NULL) == AUTH_OK);
	CHECK(AUTH("long", longpw, PASSWORD_MAX + 1, NULL) == AUTH_FAIL);

	/* Locked: told apart only with the right password, role not given. */
	role = ROLE_USER;
	CHECK(AUTH("locky", "alice-pw", 8, &role) == AUTH_LOCKED);
	CHECK(role == ROLE_USER);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(AUTH("locky", "alice-px", 8, &role) == AUTH_FAIL);
	t_locked = elapsed(&t0);
	CHECK(AUTH("locky", "!alice-pw", 9, &role) == AUTH_FAIL);
	CHECK(AUTH("lockp", "pa,ss", 5, &role) == AUTH_LOCKED);
	CHECK(AUTH("lockp", "!pa,ss", 6, &role) == AUTH_FAIL);
	CHECK(AUTH("lockp", "pa,s", 4, &role) == AUTH_FAIL);
	CHECK(role == ROLE_USER);

	role = ROLE_ADMIN;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(AUTH("nobody", "alice-pw", 8, &role) == AUTH_FAIL);
	t_unknown = elapsed(&t0);
	CHECK(role == ROLE_ADMIN);
	CHECK(AUTH("-bad name", "x", 1, &role) == AUTH_FAIL);
	CHECK(AUTH(NULL, "x", 1, &role) == AUTH_FAIL);
	CHECK(AUTH("alice", NULL, 8, &role) == AUTH_FAIL);
	CHECK(role == ROLE_ADMIN);
	/*
	 * An unknown or locked user costs a real hash (loose bounds: no
	 * flaky test).
	 */
	CHECK(t_unknown > t_known / 4);
	CHECK(t_locked > t_known / 4);

	userdb_free(db);
	free(longpw);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	size_t len = strlen(text);

	if (fd == -1 || fchmod(fd, mode) == -1 ||
	    write(fd, text, len) != (ssize_t)len || close(fd) == -1) {
		perror(path);
		exit(1);
	}
}

/* Give path a distinct mtime, as a later edit would have. */
static void
touch_later(const char *path, int seconds)
{
	struct timespec ts[2];

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec += seconds;
	ts[1] = ts[0];
	if (utimensat(AT_FDCWD, path, ts, 0) == -1) {
		perror(path);
		exit(1);
	}
}

static void
test_load(void)
{
	char path[300], err[1024], want[1024];
	struct userdb *db;

	snprintf(path, sizeof(path), "%s/UserRecords.csv", dir);
	write_file(path, "username,password\nalice,pw\n", 0600);
	db = userdb_load(path, err, sizeof(err));
	CHECK(db != NULL && userdb_find(db, "alice") != NULL);
	userdb_free(db);

	write_file(path, "username,password\nalice,pw\n", 0640);
	db = userdb_load(path, err, sizeof(err));
	CHECK(db != NULL);
	userdb_free(db);

	write_file(path, "username,password\nalice,pw\n", 0644);
	db = userdb_load(path, err, sizeof(err));
	CHECK(db == NULL);
	snprintf(want, sizeof(want), "%s: mode 0644 is too open; chmod 600 "
	    "%s (or 640)", path, path);
	CHECK_STR(err, want);

	write_file(path, "username,password\nalice,pw\n", 0602);
	CHECK(userdb_load(path, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "mode 0602 is too open") != NULL);

	write_file(path, "username,password\nalice,pw,x\n", 0600);
	CHECK(userdb_load(path, err, sizeof(err)) == NULL);
	snprintf(want, sizeof(want), "%s:2: unknown role 'x'", path);
	CHECK(strncmp(err, want, strlen(want)) == 0);

	CHECK(userdb_load(dir, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "not a regular file") != NULL);

	snprintf(path, sizeof(path), "%s/missing.csv", dir);
	CHECK(userdb_load(path, err, sizeof(err)) == NULL);
	CHECK(strncmp(err, path, strlen(path)) == 0 &&
	    strstr(err, "No such file") != NULL);
}

static void
test_live(void)
{
	char path[300], tmp[300], err[512];
	struct userdb *db1, *db2, *db3;

	snprintf(path, sizeof(path), "%s/live.csv", dir);
	snprintf(tmp, sizeof(tmp), "%s/live.csv.new", dir);
	CHECK(userdb_acquire() == NULL);

	write_file(path, "username,password\nalice,pw\n", 0644);
	CHECK(userdb_init(path, err, sizeof(err)) == -1);
	CHECK(strstr(err, "is too open") != NULL);
	CHECK(userdb_acquire() == NULL);

	write_file(path, "username,password\nalice,pw\n", 0600);
	CHECK(userdb_init(path, err, sizeof(err)) == 0);
	CHECK(userdb_init(path, err, sizeof(err)) == -1);
	db1 = userdb_acquire();
	CHECK(db1 != NULL && userdb_find(db1, "alice") != NULL);
	db2 = userdb_acquire();
	CHECK(db2 == db1);
	userdb_release(db2);

	/* An edit in place is picked up; the old table stays usable. */
	write_file(path, "username,password\nalice,pw\ndave,pw2,\n", 0600);
	touch_later(path, 10);
	db2 = userdb_acquire();
	CHECK(db2 != NULL && db2 != db1);
	CHECK(userdb_find(db2, "dave") != NULL);
	CHECK(userdb_find(db1, "dave") == NULL);
	CHECK(userdb_find(db1, "alice") != NULL);
	userdb_release(db1);

	/* A broken edit is refused, the table in force stays. */
	write_file(path, "username,password\nalice,pw\ndave\n", 0600);
	touch_later(path, 20);
	db1 = userdb_acquire();
	CHECK(db1 == db2);
	CHECK(userdb_find(db1, "dave") != NULL);
	userdb_release(db1);
	db1 = userdb_acquire();		/* the same bad version: no re-read */
	CHECK(db1 == db2);
	userdb_release(db1);
	CHECK(userdb_reload(err, sizeof(err)) == -1);
	CHECK(strstr(err, "live.csv:3: missing password") != NULL);

	/* So is a file that became readable by others. */
	write_file(path, "username,password\nalice,pw\ndave,pw\n", 0644);
	touch_later(path, 30);
	db1 = userdb_acquire();
	CHECK(db1 == db2);
	userdb_release(db1);

	/* An editor's write-and-rename (a new inode) is picked up. */
	write_file(tmp, "username,password\nerin,pw\n", 0600);
	if (rename(tmp, path) == -1) {
		perror(tmp);
		exit(1);
	}
	db3 = userdb_acquire();
	CHECK(db3 != NULL && db3 != db2);
	CHECK(userdb_find(db3, "erin") != NULL);
	CHECK(userdb_find(db3, "dave") == NULL);
	userdb_release(db3);

	CHECK(userdb_reload(err, sizeof(err)) == 0);
	db3 = userdb_acquire();
	CHECK(db3 != NULL && userdb_find(db3, "erin") != NULL);

	/* References outlive shutdown and are freed by their release. */
	userdb_shutdown();
	CHECK(userdb_acquire() == NULL);
	CHECK(userdb_find(db2, "alice") != NULL);
	userdb_release(db2);
	userdb_release(db3);
	CHECK(unlink(path) == 0);
}

static void *
worker_main(void *arg)
{
	int *ok = arg, i;
	struct userdb *db;

	for (i = 0; i < 5; i++) {
		db = userdb_acquire();
		if (db != NULL && userdb_authenticate(db, "alice",
		    "alice-pw", 8, NULL) == AUTH_OK) {
			(*ok)++;
		}
		userdb_release(db);
	}
	return NULL;
}

/* Logins on several threads while the file keeps changing. */
static void
test_threads(void)
{
	char path[300], err[512], *text;
	pthread_t tid[4];
	int ok[4] = { 0 }, i, started = 0;

	snprintf(path, sizeof(path), "%s/threads.csv", dir);
	text = xasprintf("username,password\nalice,%s\n", yes_hash);
	write_file(path, text, 0600);
	free(text);
	CHECK(userdb_init(path, err, sizeof(err)) == 0);
	for (i = 0; i < 4; i++) {
		if (pthread_create(&tid[i], NULL, worker_main, &ok[i]) != 0) {
			break;
		}
		started++;
	}
	CHECK(started == 4);
	for (i = 0; i < 3; i++) {
		text = xasprintf("username,password\nalice,%s\nu%d,pw\n",
		    yes_hash, i);
		write_file(path, text, 0600);
		touch_later(path, 10 * (i + 1));
		free(text);
		usleep(10000);
	}
	for (i = 0; i < started; i++) {
		CHECK(pthread_join(tid[i], NULL) == 0);
		CHECK(ok[i] == 5);
	}
	userdb_shutdown();
	CHECK(unlink(path) == 0);
}

static void
cleanup(void)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/UserRecords.csv", dir);
	if (unlink(path) == -1 || rmdir(dir) == -1) {
		perror(dir);
	}
}

int
main(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/test-userdb.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}
	make_hash("$y$", "alice-pw", yes_hash, sizeof(yes_hash));
	make_hash("$6$", "root-pw", sha_hash, sizeof(sha_hash));

	test_names();
	test_format();
	test_errors();
	test_authenticate();
	test_load();
	test_live();
	test_threads();
	cleanup();
	return unit_done("test-userdb");
}
