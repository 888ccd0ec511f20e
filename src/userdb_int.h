/*
 * What userdb.c, userdb_file.c and userdb_edit.c share and nobody else
 * needs: the table, the size limit of the users file, reading it, and
 * the lock helpers.
 */
#ifndef USERDB_INT_H
#define USERDB_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "passwd.h"

#define FILE_MAX	(16 * 1024 * 1024)

struct userdb {
	struct user *users;		/* in file order */
	size_t n;
	const struct user **byname;	/* sorted by case-folded name */
	/*
	 * What a failed login costs (passwd.h): a hash from this table
	 * whose method and cost are the most common in it, checked for an
	 * unknown user, and the floor set by its slowest kind of hash, so
	 * that a failed login costs what a real one does.
	 */
	struct passwd_cost cost;
	unsigned refs;			/* live tables only, under live.lock */
	unsigned long generation;	/* live tables: userdb_generation() */
};

/*
 * Read and parse path into a new table (refs 0).  *retry is set when the
 * file changed while it was read: the caller tries again later.
 */
struct userdb *userdb_read_file(const char *path, bool *retry, char *err,
    size_t errlen);

/* Lock and unlock m; a failure means the program is broken: abort. */
void userdb_mutex_lock(pthread_mutex_t *m);
void userdb_mutex_unlock(pthread_mutex_t *m);

#endif
