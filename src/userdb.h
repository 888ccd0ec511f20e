/*
 * The users file (UserRecords.csv): parsing, password verification,
 * re-reading when the file changes, and the edits the daemon makes for
 * the admin commands.  A table is an immutable snapshot; a login holds
 * a reference to the one it started with, so every login sees the old
 * table or the new one, never half of each.
 */
#ifndef USERDB_H
#define USERDB_H

#include <stdbool.h>
#include <stddef.h>

#include "passwd.h"

enum user_role {
	ROLE_USER = 0,
	ROLE_ADMIN = 1,
};

struct user {
	char *name;
	char *password;	/* crypt(3) hash, or legacy plaintext; no '!' */
	bool plaintext;	/* password is a legacy plaintext password */
	bool locked;	/* the field started with '!': may not log in */
	enum user_role role;
	unsigned line;	/* line number in the file */
};

struct userdb;

#define USER_NAME_MAX 32
#define PASSWORD_MAX 1024

enum auth_result {
	AUTH_FAIL = 0,
	AUTH_OK,
	AUTH_LOCKED,	/* right password, but the account is locked */
};

/*
 * Parse a users file.  On error returns NULL and writes
 * "FILE:LINE: reason" (or "FILE: reason") to err.  Legacy plaintext
 * passwords are accepted, with a warning in server.log naming the line.
 */
struct userdb *userdb_load(const char *path, char *err, size_t errlen);
/* Parse from memory, quietly; name is used in messages. */
struct userdb *userdb_parse(const char *name, const char *data, size_t len,
    char *err, size_t errlen);
/* Frees a table from userdb_load/userdb_parse; never an acquired one. */
void userdb_free(struct userdb *db);

size_t userdb_count(const struct userdb *db);
const struct user *userdb_get(const struct userdb *db, size_t i);
const struct user *userdb_find(const struct userdb *db, const char *name);

/* A well-formed name: 1..32 of [A-Za-z0-9_.-], not starting with - or . */
bool userdb_valid_name(const char *name);

/*
 * The live table.  userdb_init loads path (returns -1 with err set on a
 * bad file).  userdb_acquire re-reads the file first if it changed
 * (mtime, size, inode); a bad new file is logged and the old table stays
 * in force.  Release every acquired reference.  userdb_acquire returns
 * NULL only before userdb_init or after userdb_shutdown.
 */
int userdb_init(const char *path, char *err, size_t errlen);
struct userdb *userdb_acquire(void);
/*
 * The number of a live table (db), or of the newest one (db NULL): it
 * grows by one each time a reload (userdb_acquire finding the file
 * changed, userdb_reload, an admin edit) puts a table in force.  Any
 * thread, no lock.
 */
unsigned long userdb_generation(const struct userdb *db);
void userdb_release(struct userdb *db);
/* Re-read now; returns -1 with err set (old table kept) on a bad file. */
int userdb_reload(char *err, size_t errlen);
/* The live file's path (malloc'd), or NULL before userdb_init. */
char *userdb_path(void);
void userdb_shutdown(void);

/*
 * Check a password.  Takes the same time for an unknown user (a dummy
 * hash of the same method is checked) or a locked one, and never leaks
 * which part failed: AUTH_LOCKED is returned only for the right
 * password, anything else is AUTH_FAIL.  On AUTH_OK copies the role to
 * *role.  libcrypt hashes at most 511 bytes, so a longer password only
 * ever matches a legacy plaintext entry.
 */
enum auth_result userdb_authenticate(const struct userdb *db,
    const char *name, const char *password, size_t passlen,
    enum user_role *role);

/*
 * Edits of the live file (userdb_edit.c), one at a time.  Each reads
 * the file (never through a symbolic link), changes, adds or removes
 * the one line of the user and keeps every other byte, writes the
 * result to a new file in the same directory with the same mode and
 * owner, renames it over the old one and reloads the live table.  On
 * failure they return -1 with a message for the admin in err, and the
 * file is as it was.  Passwords must pass the policy of
 * passwd_hash(); they are hashed with yescrypt.
 */
int userdb_add(const char *name, const char *password, enum user_role role,
    char *err, size_t errlen);
/* Keeps the user's role and lock. */
int userdb_set_password(const char *name, const char *password, char *err,
    size_t errlen);
int userdb_delete(const char *name, char *err, size_t errlen);
/* Adds or removes the '!' before the password; locking twice is an error. */
int userdb_set_locked(const char *name, bool locked, char *err,
    size_t errlen);

#endif
