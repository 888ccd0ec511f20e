/*
 * The session threads: one per connection, each owning its libssh
 * session and its shell.  Other threads reach a session only through
 * its online record (online.h): its mailbox and online_request_end().
 */
#ifndef SESSION_H
#define SESSION_H

#include "online.h"

struct gate_conn;

/*
 * Start the session thread; it takes ownership of the ssh_session and,
 * unless this fails, of the gate's record of the connection.
 */
int session_start(void *ssh, const char *addr, const char *ip,
    struct gate_conn *gate);

/* Session ids continue from the last run's (see store_max_session_id). */
void session_set_first_id(unsigned long id);

/* Number of session threads still running (pre-auth ones included). */
unsigned session_threads(void);
/* Wait until no session thread is left or timeout_ms passed. */
void session_wait_all(int timeout_ms);
/* Let the idle session threads kept for new connections go. */
void session_pool_close(void);

#endif
