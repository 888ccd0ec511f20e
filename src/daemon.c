/*
 * Daemon-wide counters and requests.  Requests are delivered as signals
 * to the process, so the main loop's signalfd handles a command exactly
 * as it handles kill(1).
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "userdb.h"
#include "util.h"

struct daemon_stats daemon_stats;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *shutdown_message;

void
daemon_request_shutdown(const char *message)
{
	pthread_mutex_lock(&lock);
	if (shutdown_message == NULL && message != NULL && message[0] != '\0') {
		shutdown_message = xstrdup(message);
	}
	pthread_mutex_unlock(&lock);
	kill(getpid(), SIGTERM);
}

const char *
daemon_shutdown_message(void)
{
	const char *m;

	pthread_mutex_lock(&lock);
	m = shutdown_message;
	pthread_mutex_unlock(&lock);
	return m;
}

int
daemon_reload(struct buf *report)
{
	char err[1024];
	struct userdb *db;
	int rc = 0;

	log_reopen();
	if (userdb_reload(err, sizeof(err)) < 0) {
		buf_appendf(report, "users file: %s (the old one stays in force)",
		    err);
		rc = -1;
	} else {
		db = userdb_acquire();
		buf_appendf(report, "users file: %zu users", userdb_count(db));
		userdb_release(db);
	}
	buf_appendf(report, "\nconfiguration: ");
	if (conf_reload(report, err, sizeof(err)) < 0) {
		buf_appendf(report, "%s (the old one stays in force)", err);
		rc = -1;
	}
	if (rc < 0) {
		error("reload: %s", report->data);
	} else {
		info("reload: %s", report->data);
	}
	return rc;
}
