/*
 * Daemon-wide state that commands read: start time, counters, and the
 * shutdown request an admin command makes.
 */
#ifndef DAEMON_H
#define DAEMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct daemon_stats {
	time_t started;
	atomic_ullong logins;
	atomic_ullong failed_logins;
	atomic_ullong messages;
	atomic_ullong rejected;	/* messages refused: store error, full queue */
	atomic_ullong texts_shown;	/* texts the daemon showed itself */
	atomic_ullong texts_to_shell;	/* texts a shell printed */
	atomic_uint session_threads;	/* running, pre-auth ones included */
};

extern struct daemon_stats daemon_stats;

/* Set once when the daemon begins to stop; read by every thread. */
extern atomic_bool server_shutting_down;

/* Ask the daemon to stop (from any thread); message may be NULL. */
void daemon_request_shutdown(const char *message);
/* The admin's shutdown message, or NULL. */
const char *daemon_shutdown_message(void);
/*
 * Reopen the logs, re-read the users file and the config file (SIGHUP
 * and the reload command).  A bad file is reported and the old one stays
 * in force.  Appends a readable report; returns -1 if anything failed.
 */
struct buf;
int daemon_reload(struct buf *report);

/*
 * The message of the day (MotdFile), re-read when the file changes;
 * appends it rendered safe and returns its length (0: none).
 */
size_t daemon_motd(struct buf *out);

#endif
