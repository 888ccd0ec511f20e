/*
 * server.log and server_events.log.  Writers take one mutex per file and
 * write a whole line with one write(2), so lines from different threads
 * never interleave.  Values in event lines are escaped by the renderer;
 * this module never sees a password (callers must not pass one).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>

#include "log.h"
#include "render.h"
#include "util.h"

struct logfile {
	pthread_mutex_t lock;
	int fd;
	char *path;
};

static struct logfile server_log = { PTHREAD_MUTEX_INITIALIZER, -1, NULL };
static struct logfile events_log = { PTHREAD_MUTEX_INITIALIZER, -1, NULL };
static enum log_level level = LOG_INFO;
static bool to_stderr;

static __thread unsigned long thread_session_id;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

static int
logfile_open(struct logfile *lf)
{
	int fd = open(lf->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600);

	if (fd < 0) {
		return -1;
	}
	pthread_mutex_lock(&lf->lock);
	if (lf->fd >= 0) {
		close(lf->fd);
	}
	lf->fd = fd;
	pthread_mutex_unlock(&lf->lock);
	return 0;
}

static void
logfile_write(struct logfile *lf, const char *line, size_t len)
{
	pthread_mutex_lock(&lf->lock);
	if (lf->fd >= 0) {
		(void)!write(lf->fd, line, len);
	}
	pthread_mutex_unlock(&lf->lock);
}

int
log_open(const char *dir, char *err, size_t errlen)
{
	server_log.path = xasprintf("%s/server.log", dir);
	events_log.path = xasprintf("%s/server_events.log", dir);
	if (logfile_open(&server_log) < 0) {
		snprintf(err, errlen, "%s: %s", server_log.path,
		    strerror(errno));
		return -1;
	}
	if (logfile_open(&events_log) < 0) {
		snprintf(err, errlen, "%s: %s", events_log.path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

void
log_reopen(void)
{
	if (server_log.path != NULL && logfile_open(&server_log) < 0) {
		error("cannot reopen %s: %s", server_log.path,
		    strerror(errno));
	}
	if (events_log.path != NULL && logfile_open(&events_log) < 0) {
		error("cannot reopen %s: %s", events_log.path,
		    strerror(errno));
	}
}

void
log_close(void)
{
	struct logfile *all[] = { &server_log, &events_log };

	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		pthread_mutex_lock(&all[i]->lock);
		if (all[i]->fd >= 0) {
			close(all[i]->fd);
		}
		all[i]->fd = -1;
		free(all[i]->path);
		all[i]->path = NULL;
		pthread_mutex_unlock(&all[i]->lock);
	}
}

const char *
log_events_path(void)
{
	return events_log.path;
}

void
log_set_level(enum log_level l)
{
	level = l;
}

enum log_level
log_get_level(void)
{
	return level;
}

void
log_set_stderr(bool on)
{
	to_stderr = on;
}

static void
log_line(const char *tag, const char *func, const char *text)
{
	char ts[40];
	struct buf b = { 0 };
	char *safe = render_log_value(text, strlen(text));

	time_iso8601(ts, sizeof(ts));
	/* The text may quote user input: keep it on one line, unquoted. */
	if (safe[0] == '"') {
		size_t n = strlen(safe);

		safe[n - 1] = '\0';
		memmove(safe, safe + 1, n - 1);
	}
	buf_appendf(&b, "%s %s", ts, tag);
	if (thread_session_id != 0) {
		buf_appendf(&b, " [%lu]", thread_session_id);
	}
	if (func != NULL) {
		buf_appendf(&b, " %s:", func);
	}
	buf_appendf(&b, " %s\n", safe);
	logfile_write(&server_log, b.data, b.len);
	if (to_stderr) {
		(void)!write(STDERR_FILENO, b.data, b.len);
	}
	free(safe);
	buf_free(&b);
}

void
log_msg(enum log_level l, const char *func, const char *fmt, ...)
{
	va_list ap;
	char *text;

	if (l > level) {
		return;
	}
	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	log_line(level_names[l], l == LOG_INFO ? NULL : func, text);
	free(text);
}

char *
log_token(const char *text, size_t max)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf b = { 0 };
	size_t i;

	for (i = 0; i < max && text[i] != '\0'; i++) {
		unsigned char c = (unsigned char)text[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("_.@:+-", c) != NULL) {
			buf_append(&b, &text[i], 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			buf_append(&b, e, 3);
		}
	}
	if (text[i] != '\0') {
		buf_append(&b, "...", 3);
	}
	if (b.data == NULL) {
		buf_append(&b, "", 0);
	}
	return b.data;
}

void
event_log(const char *event, ...)
{
	char ts[40];
	struct buf b = { 0 };
	const char *key;
	va_list ap;

	time_iso8601(ts, sizeof(ts));
	buf_appendf(&b, "%s %s", ts, event);
	va_start(ap, event);
	while ((key = va_arg(ap, const char *)) != NULL) {
		const char *val = va_arg(ap, const char *);
		char *safe;

		if (val == NULL) {
			val = "";
		}
		safe = render_log_value(val, strlen(val));
		buf_appendf(&b, " %s=%s", key, safe);
		free(safe);
	}
	va_end(ap);
	buf_append(&b, "\n", 1);
	logfile_write(&events_log, b.data, b.len);
	buf_free(&b);
}

static void
ssh_log_cb(int priority, const char *function, const char *buffer,
    void *userdata)
{
	char tag[16];

	snprintf(tag, sizeof(tag), "ssh%d", priority);
	log_line(tag, NULL, buffer);
}

void
log_ssh_thread_init(unsigned long session_id)
{
	int ssh_level = SSH_LOG_WARNING;

	thread_session_id = session_id;
	if (level >= LOG_DEBUG) {
		ssh_level = SSH_LOG_PROTOCOL;
	}
	ssh_set_log_callback(ssh_log_cb);
	ssh_set_log_level(ssh_level);
}
