/*
 * Daemon-wide state that commands read: the shutdown request an admin
 * command makes, reloads, the message of the day.  The counters are in
 * metrics.h.
 */
#ifndef DAEMON_H
#define DAEMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

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
