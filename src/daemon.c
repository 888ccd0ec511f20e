/*
 * Daemon-wide requests.  Requests are delivered as signals to the
 * process, so the main loop's signalfd handles a command exactly as it
 * handles kill(1).
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "notify.h"
#include "render.h"
#include "userdb.h"
#include "util.h"

atomic_bool server_shutting_down;

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

size_t
daemon_motd(struct buf *out)
{
	static pthread_mutex_t motd_lock = PTHREAD_MUTEX_INITIALIZER;
	static struct timespec mtime;
	static off_t size = -1;
	static char *text;
	struct stat st;
	size_t n = 0;

	pthread_mutex_lock(&motd_lock);
	if (stat(options.motd_file, &st) < 0) {
		free(text);
		text = NULL;
		size = -1;
	} else if (st.st_size != size || st.st_mtim.tv_sec != mtime.tv_sec ||
	    st.st_mtim.tv_nsec != mtime.tv_nsec) {
		FILE *fp = fopen(options.motd_file, "r");
		struct buf b = { 0 };
		char line[1024];

		free(text);
		text = NULL;
		size = st.st_size;
		mtime = st.st_mtim;
		/* At most 50 lines, each made safe for any terminal. */
		for (int i = 0; fp != NULL && i < 50 &&
		    fgets(line, sizeof(line), fp) != NULL; i++) {
			char *safe;

			line[strcspn(line, "\r\n")] = '\0';
			safe = render_text(line, strlen(line));
			buf_appendf(&b, "%s%s", i > 0 ? "\n" : "", safe);
			free(safe);
		}
		if (fp != NULL) {
			(void)fclose(fp);	/* read only */
		}
		text = b.data;
	}
	if (text != NULL && text[0] != '\0') {
		n = strlen(text);
		buf_append(out, text, n);
	}
	pthread_mutex_unlock(&motd_lock);
	return n;
}

int
daemon_reload(struct buf *report)
{
	char err[1024];
	struct userdb *db;
	struct timespec ts;
	int rc = 0;

	/* systemd: reloading since this moment, ready again below. */
	if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0) {
		notify_send("RELOADING=1\nMONOTONIC_USEC=%lld",
		    (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	}
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
	notify_send("READY=1\nSTATUS=%s", rc < 0 ?
	    "reloaded with errors (the old files stay in force): see server.log" :
	    "reloaded");
	return rc;
}
