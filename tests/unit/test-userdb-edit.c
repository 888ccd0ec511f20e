/*
 * Unit tests for the edits of the live users file: each one changes
 * the bytes of its one line and no other (comments, blank lines, order,
 * CR LF, a byte order mark), logins follow at once, locking keeps the
 * hash, the file keeps its mode and owner, a symbolic link is refused,
 * a failed write leaves the file as it was, and edits from several
 * threads all land.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "passwd.h"
#include "unit.h"
#include "userdb.h"
#include "util.h"

#define THREADS 4
#define ADDS_PER_THREAD 25

static char dir[256];
static char path[300];
static char alice_hash[256];		/* of "alice-pw" */

static char *
slurp(const char *p, size_t *lenp)
{
	struct stat st;
	char *text;
	int fd = open(p, O_RDONLY);

	if (fd == -1 || fstat(fd, &st) == -1) {
		perror(p);
		exit(1);
	}
	text = xmalloc((size_t)st.st_size + 1);
	if (read(fd, text, (size_t)st.st_size) != st.st_size) {
		perror(p);
		exit(1);
	}
	text[st.st_size] = '\0';
	close(fd);
	if (lenp != NULL) {
		*lenp = (size_t)st.st_size;
	}
	return text;
}

static void
write_file(const char *p, const char *text, mode_t mode)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	size_t len = strlen(text);

	if (fd == -1 || fchmod(fd, mode) == -1 ||
	    write(fd, text, len) != (ssize_t)len || close(fd) == -1) {
		perror(p);
		exit(1);
	}
}

/* Write the users file and make it the live table. */
static void
start(const char *text, mode_t mode)
{
	char err[512];

	write_file(path, text, mode);
	if (userdb_init(path, err, sizeof(err)) == -1) {
		fprintf(stderr, "userdb_init: %s\n", err);
		exit(1);
	}
}

static void
stop(void)
{
	userdb_shutdown();
	if (unlink(path) == -1) {
		perror(path);
	}
}

static enum auth_result
auth(const char *name, const char *pw, enum user_role *role)
{
	struct userdb *db = userdb_acquire();
	enum auth_result r;

	r = userdb_authenticate(db, name, pw, strlen(pw), role);
	userdb_release(db);
	return r;
}

static bool
file_is(const char *want)
{
	char *got = slurp(path, NULL);
	bool same = strcmp(got, want) == 0;

	if (!same) {
		fprintf(stderr, "--- file:\n%s--- want:\n%s---\n", got, want);
	}
	free(got);
	return same;
}

/* Files in dir: a temporary file left behind shows up here. */
static int
dir_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL) {
		perror(dir);
		exit(1);
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 &&
		    strcmp(e->d_name, "..") != 0) {
			n++;
		}
	}
	closedir(d);
	return n;
}

/*
 * The file is before, with [at, at + oldlen) replaced by a line that
 * starts with head, then a yescrypt hash, then ends with tail.
 */
static bool
changed_line(const char *before, size_t at, size_t oldlen,
    const char *head, const char *tail)
{
	size_t len, blen = strlen(before), rest = blen - at - oldlen;
	size_t hl = strlen(head), tl = strlen(tail), mid;
	char *now = slurp(path, &len);
	bool ok;

	ok = len >= at + hl + tl + rest && memcmp(now, before, at) == 0 &&
	    memcmp(now + len - rest, before + at + oldlen, rest) == 0 &&
	    memcmp(now + at, head, hl) == 0 &&
	    memcmp(now + len - rest - tl, tail, tl) == 0;
	if (ok) {
		mid = len - rest - tl - at - hl;
		ok = mid > 40 && strncmp(now + at + hl, "$y$", 3) == 0 &&
		    strcspn(now + at + hl, ",\r\n\" ") == mid;
	}
	if (!ok) {
		fprintf(stderr, "--- file:\n%s--- want %s...%s in:\n%s---\n",
		    now, head, tail, before);
	}
	free(now);
	return ok;
}

static void
test_add(void)
{
	const char *orig = "\xef\xbb\xbf# the users\r\n\r\n"
	    "username,password,role\r\n# admins below\r\n"
	    "  bob , \"pa,ss\" , ADMIN \r\n";
	char err[512], *text, *pw;
	enum user_role role;

	start(orig, 0600);
	role = ROLE_USER;
	CHECK(userdb_add("dave", "dave pw", ROLE_ADMIN, err,
	    sizeof(err)) == 0);
	CHECK(changed_line(orig, strlen(orig), 0, "dave,", ",admin\r\n"));
	CHECK(auth("dave", "dave pw", &role) == AUTH_OK);
	CHECK(role == ROLE_ADMIN);
	CHECK(auth("dave", "dave p", &role) == AUTH_FAIL);
	CHECK(auth("bob", "pa,ss", &role) == AUTH_OK);

	text = slurp(path, NULL);
	CHECK(userdb_add("erin", "erin-pw", ROLE_USER, err, sizeof(err)) == 0);
	CHECK(changed_line(text, strlen(text), 0, "erin,", ",user\r\n"));
	CHECK(auth("erin", "erin-pw", &role) == AUTH_OK);
	CHECK(role == ROLE_USER);
	free(text);

	/* Refusals leave the file alone. */
	text = slurp(path, NULL);
	CHECK(userdb_add("dave", "x", ROLE_USER, err, sizeof(err)) == -1);
	CHECK_STR(err, "user 'dave' already exists");
	CHECK(userdb_add("DAVE", "x", ROLE_USER, err, sizeof(err)) == -1);
	CHECK_STR(err, "user 'DAVE' already exists as 'dave' (names must "
	    "differ in more than case)");
	CHECK(userdb_add("-x", "x", ROLE_USER, err, sizeof(err)) == -1);
	CHECK(strstr(err, "bad user name '-x'") == err);
	CHECK(userdb_add("a\nb", "x", ROLE_USER, err, sizeof(err)) == -1);
	CHECK(strstr(err, "bad user name 'a\\x0ab'") == err);
	CHECK(userdb_add("frank", "", ROLE_USER, err, sizeof(err)) == -1);
	CHECK_STR(err, "the password is empty");
	CHECK(userdb_add("frank", "a\nb", ROLE_USER, err, sizeof(err)) == -1);
	CHECK(strstr(err, "control character") != NULL);
	CHECK(userdb_add("frank", "a\tb", ROLE_USER, err, sizeof(err)) == -1);
	CHECK(strstr(err, "control character") != NULL);
	CHECK(userdb_add("frank", "a\x7f", ROLE_USER, err, sizeof(err)) == -1);
	CHECK(strstr(err, "control character") != NULL);
	pw = xmalloc(PASSWORD_HASHED_MAX + 2);
	memset(pw, 'p', PASSWORD_HASHED_MAX + 1);
	pw[PASSWORD_HASHED_MAX + 1] = '\0';
	CHECK(userdb_add("frank", pw, ROLE_USER, err, sizeof(err)) == -1);
	CHECK_STR(err, "the password is too long (at most 511 bytes)");
	CHECK(userdb_add("frank", NULL, ROLE_USER, err, sizeof(err)) == -1);
	CHECK(userdb_add("frank", "x", (enum user_role)7, err,
	    sizeof(err)) == -1);
	CHECK(file_is(text));
	CHECK(auth("frank", "x", NULL) == AUTH_FAIL);
	free(text);

	/* The longest password libcrypt hashes is accepted and works. */
	pw[PASSWORD_HASHED_MAX] = '\0';
	CHECK(userdb_add("frank", pw, ROLE_USER, err, sizeof(err)) == 0);
	CHECK(auth("frank", pw, NULL) == AUTH_OK);
	free(pw);
	CHECK(dir_entries() == 1);
	stop();

	/* A last line without a line end gets one; LF stays LF. */
	text = xasprintf("username,password\nalice,%s", alice_hash);
	start(text, 0600);
	CHECK(userdb_add("bob", "bob-pw", ROLE_USER, err, sizeof(err)) == 0);
	CHECK(changed_line(text, strlen(text), 0, "\nbob,", ",user\n"));
	CHECK(auth("alice", "alice-pw", NULL) == AUTH_OK);
	CHECK(auth("bob", "bob-pw", NULL) == AUTH_OK);
	free(text);
	stop();
}

static void
test_password(void)
{
	char *orig, *line, *text, err[512];
	enum user_role role;
	size_t at;

	orig = xasprintf("# staff\nusername,password,role\n\n"
	    "alice,%s\n  bob , \"pa,ss\" , ADMIN \ncarol,!%s,admin\n"
	    "# end\n", alice_hash, alice_hash);
	start(orig, 0600);

	CHECK(userdb_set_password("alice", "alice-new", err,
	    sizeof(err)) == 0);
	line = xasprintf("alice,%s\n", alice_hash);
	at = (size_t)(strstr(orig, line) - orig);
	CHECK(changed_line(orig, at, strlen(line), "alice,", "\n"));
	free(line);
	CHECK(auth("alice", "alice-pw", NULL) == AUTH_FAIL);
	CHECK(auth("alice", "alice-new", NULL) == AUTH_OK);

	/* Blanks around the fields and the role's spelling are kept. */
	text = slurp(path, NULL);
	CHECK(userdb_set_password("bob", "bob-new", err, sizeof(err)) == 0);
	at = (size_t)(strstr(text, "  bob") - text);
	CHECK(changed_line(text, at, strlen("  bob , \"pa,ss\" , ADMIN \n"),
	    "  bob , ", " , ADMIN \n"));
	CHECK(auth("bob", "pa,ss", NULL) == AUTH_FAIL);
	CHECK(auth("bob", "bob-new", &role) == AUTH_OK && role == ROLE_ADMIN);
	free(text);

	/* A locked user stays locked, and keeps the role. */
	text = slurp(path, NULL);
	CHECK(userdb_set_password("carol", "carol-new", err,
	    sizeof(err)) == 0);
	at = (size_t)(strstr(text, "carol,") - text);
	line = xasprintf("carol,!%s,admin\n", alice_hash);
	CHECK(changed_line(text, at, strlen(line), "carol,!", ",admin\n"));
	free(line);
	free(text);
	CHECK(auth("carol", "alice-pw", NULL) == AUTH_FAIL);
	CHECK(auth("carol", "carol-new", NULL) == AUTH_LOCKED);
	CHECK(userdb_set_locked("carol", false, err, sizeof(err)) == 0);
	role = ROLE_USER;
	CHECK(auth("carol", "carol-new", &role) == AUTH_OK);
	CHECK(role == ROLE_ADMIN);

	text = slurp(path, NULL);
	CHECK(userdb_set_password("nobody", "x", err, sizeof(err)) == -1);
	CHECK_STR(err, "user 'nobody' does not exist");
	CHECK(userdb_set_password("Alice", "x", err, sizeof(err)) == -1);
	CHECK_STR(err, "user 'Alice' does not exist (did you mean 'alice'?)");
	CHECK(userdb_set_password("alice", "", err, sizeof(err)) == -1);
	CHECK_STR(err, "the password is empty");
	CHECK(file_is(text));
	CHECK(auth("alice", "alice-new", NULL) == AUTH_OK);
	free(text);
	free(orig);
	stop();
}

static void
test_lock(void)
{
	char *orig, *want, err[512];

	orig = xasprintf("username,password,role\r\n# x\r\nalice,%s,user\r\n"
	    "bob , \"pa,ss\"\r\n", alice_hash);
	start(orig, 0600);

	CHECK(userdb_set_locked("alice", true, err, sizeof(err)) == 0);
	want = xasprintf("username,password,role\r\n# x\r\n"
	    "alice,!%s,user\r\nbob , \"pa,ss\"\r\n", alice_hash);
	CHECK(file_is(want));
	free(want);
	CHECK(auth("alice", "alice-pw", NULL) == AUTH_LOCKED);
	CHECK(auth("alice", "alice-px", NULL) == AUTH_FAIL);
	CHECK(userdb_set_locked("alice", true, err, sizeof(err)) == -1);
	CHECK_STR(err, "user 'alice' is already locked");

	/* A legacy plaintext password that needs quotes keeps them. */
	CHECK(userdb_set_locked("bob", true, err, sizeof(err)) == 0);
	want = xasprintf("username,password,role\r\n# x\r\n"
	    "alice,!%s,user\r\nbob , \"!pa,ss\"\r\n", alice_hash);
	CHECK(file_is(want));
	free(want);
	CHECK(auth("bob", "pa,ss", NULL) == AUTH_LOCKED);
	CHECK(auth("bob", "!pa,ss", NULL) == AUTH_FAIL);

	/* Unlocking gives back the very bytes locking changed. */
	CHECK(userdb_set_locked("alice", false, err, sizeof(err)) == 0);
	CHECK(userdb_set_locked("bob", false, err, sizeof(err)) == 0);
	CHECK(file_is(orig));
	CHECK(auth("alice", "alice-pw", NULL) == AUTH_OK);
	CHECK(auth("bob", "pa,ss", NULL) == AUTH_OK);
	CHECK(userdb_set_locked("alice", false, err, sizeof(err)) == -1);
	CHECK_STR(err, "user 'alice' is not locked");
	CHECK(userdb_set_locked("nobody", true, err, sizeof(err)) == -1);
	CHECK_STR(err, "user 'nobody' does not exist");
	CHECK(file_is(orig));
	free(orig);
	stop();
}

static void
test_delete(void)
{
	char *orig, err[512];

	orig = xasprintf("\xef\xbb\xbfusername,password\r\n\r\nalice,%s\r\n"
	    "# erin next\r\nerin,pw\r\nbob,%s", alice_hash, alice_hash);
	start(orig, 0600);
	CHECK(userdb_delete("erin", err, sizeof(err)) == 0);
	free(orig);
	orig = xasprintf("\xef\xbb\xbfusername,password\r\n\r\nalice,%s\r\n"
	    "# erin next\r\nbob,%s", alice_hash, alice_hash);
	CHECK(file_is(orig));
	CHECK(auth("erin", "pw", NULL) == AUTH_FAIL);
	CHECK(auth("alice", "alice-pw", NULL) == AUTH_OK);

	/* The last line, which has no line end. */
	CHECK(userdb_delete("bob", err, sizeof(err)) == 0);
	free(orig);
	orig = xasprintf("\xef\xbb\xbfusername,password\r\n\r\nalice,%s\r\n"
	    "# erin next\r\n", alice_hash);
	CHECK(file_is(orig));
	CHECK(auth("bob", "alice-pw", NULL) == AUTH_FAIL);

	CHECK(userdb_delete("bob", err, sizeof(err)) == -1);
	CHECK_STR(err, "user 'bob' does not exist");
	CHECK(userdb_delete("alice", err, sizeof(err)) == 0);
	CHECK(file_is("\xef\xbb\xbfusername,password\r\n\r\n"
	    "# erin next\r\n"));
	CHECK(auth("alice", "alice-pw", NULL) == AUTH_FAIL);
	free(orig);
	stop();
}

static void
test_symlink(void)
{
	char real[300], err[512], *orig;
	struct stat st;

	snprintf(real, sizeof(real), "%s/real.csv", dir);
	orig = xasprintf("username,password\nalice,%s\n", alice_hash);
	write_file(real, orig, 0600);
	if (symlink("real.csv", path) == -1) {
		perror(path);
		exit(1);
	}
	CHECK(userdb_init(path, err, sizeof(err)) == 0);
	CHECK(userdb_add("bob", "bob-pw", ROLE_USER, err, sizeof(err)) == -1);
	CHECK(strstr(err, "is a symbolic link; not editing through it") !=
	    NULL);
	CHECK(userdb_set_locked("alice", true, err, sizeof(err)) == -1);
	CHECK(strstr(err, "symbolic link") != NULL);
	CHECK(userdb_delete("alice", err, sizeof(err)) == -1);
	CHECK(lstat(path, &st) == 0 && S_ISLNK(st.st_mode));
	CHECK(file_is(orig));
	CHECK(auth("alice", "alice-pw", NULL) == AUTH_OK);
	CHECK(dir_entries() == 2);
	stop();
	CHECK(unlink(real) == 0);
	free(orig);
}

static void
test_mode_owner(void)
{
	char err[512], *orig;
	struct stat st;
	bool root = geteuid() == 0;

	orig = xasprintf("username,password\nalice,%s\n", alice_hash);
	start(orig, 0640);
	if (root && chown(path, 4242, 4343) == -1) {
		perror(path);
		exit(1);
	}
	CHECK(userdb_add("bob", "bob-pw", ROLE_USER, err, sizeof(err)) == 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640);
	if (root) {
		CHECK(st.st_uid == 4242 && st.st_gid == 4343);
	}
	CHECK(userdb_set_locked("bob", true, err, sizeof(err)) == 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640);

	/* A file others may read is not written to. */
	CHECK(chmod(path, 0644) == 0);
	free(orig);
	orig = slurp(path, NULL);
	CHECK(userdb_delete("bob", err, sizeof(err)) == -1);
	CHECK(strstr(err, "mode 0644 is too open") != NULL);
	CHECK(file_is(orig));
	CHECK(dir_entries() == 1);
	free(orig);
	stop();
}

/* A write that fails half way must leave the file as it was. */
static void
test_write_fails(void)
{
	char err[512], *orig;
	struct rlimit old, small;
	size_t len;

	orig = xasprintf("username,password\n# keep me\nalice,%s\n",
	    alice_hash);
	start(orig, 0600);
	len = strlen(orig);

	/* Works for root too: no file may grow past the limit. */
	CHECK(signal(SIGXFSZ, SIG_IGN) != SIG_ERR);
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	small = old;
	small.rlim_cur = len + 10;
	CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
	CHECK(userdb_add("bob", "bob-pw", ROLE_USER, err, sizeof(err)) == -1);
	CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
	CHECK(strstr(err, ": write: File too large") != NULL);
	CHECK(file_is(orig));
	CHECK(dir_entries() == 1);
	CHECK(auth("bob", "bob-pw", NULL) == AUTH_FAIL);
	CHECK(auth("alice", "alice-pw", NULL) == AUTH_OK);

	/* Without root, a directory that cannot be written to. */
	if (geteuid() != 0) {
		CHECK(chmod(dir, 0555) == 0);
		CHECK(userdb_set_locked("alice", true, err,
		    sizeof(err)) == -1);
		CHECK(strstr(err, "Permission denied") != NULL);
		CHECK(chmod(dir, 0700) == 0);
		CHECK(file_is(orig));
		CHECK(auth("alice", "alice-pw", NULL) == AUTH_OK);
	}
	free(orig);
	stop();
}

static void *
adder_main(void *arg)
{
	int t = *(int *)arg, i, *fails = xcalloc(1, sizeof(*fails));
	char name[32], pw[32], err[512];

	for (i = 0; i < ADDS_PER_THREAD; i++) {
		snprintf(name, sizeof(name), "t%d_%d", t, i);
		snprintf(pw, sizeof(pw), "pw-%d-%d", t, i);
		if (userdb_add(name, pw, i % 2 ? ROLE_ADMIN : ROLE_USER, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "userdb_add(%s): %s\n", name, err);
			(*fails)++;
		}
	}
	return fails;
}

static void
test_threads(void)
{
	pthread_t tid[THREADS];
	int ids[THREADS], i, j, started = 0;
	char err[512], name[32];
	struct userdb *db;
	const struct user *u;
	void *ret;
	bool all = true;

	start("# threads\nusername,password,role\n", 0600);
	for (i = 0; i < THREADS; i++) {
		ids[i] = i;
		if (pthread_create(&tid[i], NULL, adder_main, &ids[i]) != 0) {
			break;
		}
		started++;
	}
	CHECK(started == THREADS);
	for (i = 0; i < started; i++) {
		CHECK(pthread_join(tid[i], &ret) == 0);
		CHECK(*(int *)ret == 0);
		free(ret);
	}
	db = userdb_load(path, err, sizeof(err));
	CHECK(db != NULL);
	CHECK(userdb_count(db) == THREADS * ADDS_PER_THREAD);
	for (i = 0; i < THREADS; i++) {
		for (j = 0; j < ADDS_PER_THREAD; j++) {
			snprintf(name, sizeof(name), "t%d_%d", i, j);
			u = userdb_find(db, name);
			all = all && u != NULL &&
			    u->role == (j % 2 ? ROLE_ADMIN : ROLE_USER);
		}
	}
	CHECK(all);
	userdb_free(db);
	db = userdb_acquire();
	CHECK(userdb_count(db) == THREADS * ADDS_PER_THREAD);
	userdb_release(db);
	CHECK(auth("t3_24", "pw-3-24", NULL) == AUTH_OK);
	CHECK(dir_entries() == 1);
	stop();
}

static void
test_hash(void)
{
	char err[512], *h;

	h = passwd_hash("alice-pw", err, sizeof(err));
	CHECK(h != NULL && strncmp(h, "$y$", 3) == 0);
	if (h != NULL) {
		snprintf(alice_hash, sizeof(alice_hash), "%s", h);
	}
	free(h);
	CHECK(passwd_hash("", err, sizeof(err)) == NULL);
	CHECK_STR(err, "the password is empty");
	CHECK(userdb_add("x", "pw", ROLE_USER, err, sizeof(err)) == -1);
	CHECK_STR(err, "the users table is not initialized");
}

int
main(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/test-userdb-edit.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/UserRecords.csv", dir);
	/* The cheapest yescrypt: the tests hash a hundred passwords. */
	passwd_set_cost(1);

	test_hash();
	test_add();
	test_password();
	test_lock();
	test_delete();
	test_symlink();
	test_mode_owner();
	test_write_fails();
	test_threads();
	if (rmdir(dir) == -1) {
		perror(dir);
	}
	return unit_done("test-userdb-edit");
}
