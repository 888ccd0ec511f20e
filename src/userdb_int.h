/*
 * What userdb.c and userdb_edit.c share and nobody else needs: the
 * size limit of the users file and the lock helpers both use.
 */
#ifndef USERDB_INT_H
#define USERDB_INT_H

#include <pthread.h>

#define FILE_MAX	(16 * 1024 * 1024)

/* Lock and unlock m; a failure means the program is broken: abort. */
void userdb_mutex_lock(pthread_mutex_t *m);
void userdb_mutex_unlock(pthread_mutex_t *m);

#endif
