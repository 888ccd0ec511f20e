/*
 * The users file: parsing UserRecords.csv into an immutable table,
 * checking passwords against it, and the live table that is swapped
 * when the file changes; userdb_edit.c writes the file for the admin
 * commands.  This module owns every password the daemon holds; it
 * never logs one, wipes every copy it makes, and answers a login in
 * the same time whether or not the user exists or is locked.  It knows
 * nothing about sessions: callers hold a reference to a table for as
 * long as they use it.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "passwd.h"
#include "userdb.h"
#include "userdb_int.h"
#include "util.h"

static struct {
	pthread_mutex_t lock;
	char *path;
	struct userdb *cur;
	struct stat st;			/* the version cur was read from */
	struct stat bad;		/* the last version that failed */
	bool have_bad;
	bool stat_failed;		/* logged that the file is gone */
	atomic_ulong generation;	/* tables put in force so far */
} live = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

/*
 * The live table.  live.lock guards live and every table's refs; the
 * tables themselves never change once built, so lookups and password
 * checks run without it.  The lock cannot fail unless the program is
 * already broken.
 */
void
userdb_mutex_lock(pthread_mutex_t *m)
{
	int e = pthread_mutex_lock(m);

	if (e != 0) {
		errno = e;
		error("pthread_mutex_lock: %m");
		abort();
	}
}

void
userdb_mutex_unlock(pthread_mutex_t *m)
{
	int e = pthread_mutex_unlock(m);

	if (e != 0) {
		errno = e;
		error("pthread_mutex_unlock: %m");
		abort();
	}
}

/* Drops one reference; returns db when it must be freed (unlocked). */
static struct userdb *
unref_locked(struct userdb *db)
{
	if (--db->refs == 0) {
		return db;
	}
	return NULL;
}

/*
 * Re-read live.path; st is its status from just before, so a change
 * racing with the read only causes one more read later.  On success the
 * new table replaces the old one and *old gets the table to free (if
 * any) once the lock is dropped.  A bad version is remembered so that
 * it is not parsed, and logged, again.  Returns 0, -1 on a bad file, or
 * 1 when the file changed during the read (try again later).
 */
static int
reload_locked(const struct stat *st, struct userdb **old, char *err,
    size_t errlen)
{
	struct userdb *db;
	bool retry;

	*old = NULL;
	db = userdb_read_file(live.path, &retry, err, errlen);
	if (db == NULL) {
		if (retry) {
			return 1;
		}
		live.bad = *st;
		live.have_bad = true;
		return -1;
	}
	db->refs = 1;
	if (live.cur != NULL) {
		*old = unref_locked(live.cur);
	}
	live.cur = db;
	db->generation = atomic_fetch_add(&live.generation, 1) + 1;
	live.st = *st;
	live.have_bad = false;
	info("%s: loaded %zu users", live.path, db->n);
	return 0;
}

/* Stat and re-read now, waiting a little while a writer is busy. */
static int
reload_now(struct userdb **old, char *err, size_t errlen)
{
	const struct timespec pause = { 0, 50 * 1000 * 1000 };
	struct stat st;
	int rc = 1, tries;

	for (tries = 0; rc == 1 && tries < 3; tries++) {
		if (tries > 0) {
			(void)nanosleep(&pause, NULL);	/* EINTR: go on */
		}
		if (stat(live.path, &st) == -1) {
			set_err(err, errlen, "%s: %m", live.path);
			return -1;
		}
		rc = reload_locked(&st, old, err, errlen);
	}
	return rc == 0 ? 0 : -1;
}

/*
 * The same work is done whatever the outcome: a locked account is
 * checked like any other and only then told apart, so that neither
 * the time nor the answer says it is locked unless the password was
 * right.
 */
enum auth_result
userdb_authenticate(const struct userdb *db, const char *name,
    const char *password, size_t passlen, enum user_role *role)
{
	const struct user *u = NULL;
	size_t n;
	bool input_ok, ok;

	input_ok = db != NULL && userdb_valid_name(name) &&
	    password != NULL && passlen > 0 && passlen <= PASSWORD_MAX &&
	    memchr(password, '\0', passlen) == NULL;
	if (input_ok) {
		u = userdb_find(db, name);
	}
	/* Over-long input is cut, not skipped: it must cost a full check. */
	n = password == NULL ? 0 : passlen > PASSWORD_MAX ? PASSWORD_MAX :
	    passlen;
	ok = passwd_verify(u != NULL ? u->password : NULL,
	    u != NULL && u->plaintext, db != NULL ? &db->cost : NULL,
	    password, n);
	/* passwd_verify() says yes only to a stored password: u is set. */
	if (!ok || u == NULL) {
		return AUTH_FAIL;
	}
	if (u->locked) {
		return AUTH_LOCKED;
	}
	if (role != NULL) {
		*role = u->role;
	}
	return AUTH_OK;
}

int
userdb_init(const char *path, char *err, size_t errlen)
{
	struct userdb *old = NULL;
	int rc = -1;

	passwd_setup();
	userdb_mutex_lock(&live.lock);
	if (live.path != NULL) {
		set_err(err, errlen, "%s: users table already initialized",
		    path);
	} else {
		live.path = xstrdup(path);
		live.have_bad = false;
		live.stat_failed = false;
		rc = reload_now(&old, err, errlen);
		if (rc == -1) {
			free(live.path);
			live.path = NULL;
		}
	}
	userdb_mutex_unlock(&live.lock);
	userdb_free(old);
	return rc;
}

struct userdb *
userdb_acquire(void)
{
	struct userdb *db, *old = NULL;
	struct stat st;
	char err[512];

	userdb_mutex_lock(&live.lock);
	if (live.cur == NULL) {
		userdb_mutex_unlock(&live.lock);
		return NULL;
	}
	if (stat(live.path, &st) == -1) {
		if (!live.stat_failed) {
			error("%s: %m; keeping the users already loaded",
			    live.path);
			live.stat_failed = true;
		}
	} else {
		live.stat_failed = false;
		if (!stat_same_version(&st, &live.st) &&
		    !(live.have_bad && stat_same_version(&st, &live.bad)) &&
		    reload_locked(&st, &old, err, sizeof(err)) == -1) {
			error("%s; keeping the users already loaded", err);
		}
	}
	db = live.cur;
	db->refs++;
	userdb_mutex_unlock(&live.lock);
	userdb_free(old);
	return db;
}

void
userdb_release(struct userdb *db)
{
	struct userdb *dead;

	if (db == NULL) {
		return;
	}
	userdb_mutex_lock(&live.lock);
	dead = unref_locked(db);
	userdb_mutex_unlock(&live.lock);
	userdb_free(dead);
}

int
userdb_reload(char *err, size_t errlen)
{
	struct userdb *old = NULL;
	int rc = -1;

	userdb_mutex_lock(&live.lock);
	if (live.path == NULL) {
		set_err(err, errlen, "the users table is not initialized");
	} else {
		rc = reload_now(&old, err, errlen);
	}
	userdb_mutex_unlock(&live.lock);
	userdb_free(old);
	return rc;
}

char *
userdb_path(void)
{
	char *path = NULL;

	userdb_mutex_lock(&live.lock);
	if (live.path != NULL) {
		path = xstrdup(live.path);
	}
	userdb_mutex_unlock(&live.lock);
	return path;
}

void
userdb_shutdown(void)
{
	struct userdb *old = NULL;

	userdb_mutex_lock(&live.lock);
	if (live.cur != NULL) {
		old = unref_locked(live.cur);
		live.cur = NULL;
	}
	free(live.path);
	live.path = NULL;
	live.have_bad = false;
	live.stat_failed = false;
	userdb_mutex_unlock(&live.lock);
	userdb_free(old);
}

unsigned long
userdb_generation(const struct userdb *db)
{
	return db != NULL ? db->generation : atomic_load(&live.generation);
}
