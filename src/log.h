/*
 * The two log files.  server.log gets libssh's own log (through the
 * per-thread log callback) and the daemon's protocol-level lines;
 * server_events.log gets one readable line per event.  Every value is
 * escaped here, so one event is always one physical line.
 */
#ifndef LOG_H
#define LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
};

/* Open (create, 0600) server.log and server_events.log in dir. */
int log_open(const char *dir, char *err, size_t errlen);
/* Reopen both files (after logrotate moved them); called on SIGHUP. */
void log_reopen(void);
void log_close(void);
void log_set_level(enum log_level level);
/* Path of server_events.log, for the log command. */
const char *log_events_path(void);
enum log_level log_get_level(void);
/* Also copy server.log lines to stderr (foreground, before log_open). */
void log_set_stderr(bool on);

void log_msg(enum log_level level, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define error(...) log_msg(LOG_ERROR, __func__, __VA_ARGS__)
#define warn(...) log_msg(LOG_WARN, __func__, __VA_ARGS__)
#define info(...) log_msg(LOG_INFO, __func__, __VA_ARGS__)
#define debug(...) log_msg(LOG_DEBUG, __func__, __VA_ARGS__)

/*
 * One event line: "TIME EVENT key=value key=value ...".  The variadic
 * part is key, value pairs of strings ended by NULL; each value is
 * escaped with render_log_value().
 */
void event_log(const char *event, ...) __attribute__((sentinel));

/*
 * Text a client chose (a user name it tried, say), made one token for a
 * server.log line: every byte outside [A-Za-z0-9_.@:+-] as %XX, so
 * spaces cannot make it read as more of the line, cut after max bytes
 * with "..." added.  A valid user name is unchanged.  Malloc'd.
 */
char *log_token(const char *text, size_t max);

/*
 * Install the libssh log callback and level for the calling thread
 * (libssh 0.10 keeps both per thread).  session_id tags each line.
 */
void log_ssh_thread_init(unsigned long session_id);

#endif
