/*
 * A logged-in chat session as the rest of the daemon sees it.  The
 * session thread owns the libssh session and the shell; other threads
 * reach a session only through its mailbox and session_request_end().
 */
#ifndef SESSION_H
#define SESSION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "userdb.h"

struct mailbox;

enum end_reason {
	END_NONE = 0,
	END_LOGOUT,	/* the user typed logout or Ctrl-D */
	END_EOF,	/* the client closed the channel */
	END_DROPPED,	/* the connection was lost */
	END_SHUTDOWN,	/* the daemon is stopping */
	END_KICKED,	/* an admin ended it */
	END_IDLE,	/* IdleTimeout passed without input */
	END_PROTOCOL,	/* the client broke the protocol (its window) */
};

struct session {
	unsigned long id;
	char user[USER_NAME_MAX + 1];
	enum user_role role;
	char addr[64];		/* "address:port" of the client */
	char ip[64];		/* the address alone, for the gate */
	time_t login_time;
	int64_t login_ms;
	_Atomic int64_t last_input_ms;
	bool interactive;	/* has a terminal */
	bool color;		/* its terminal may get colour (TERM, NO_COLOR) */
	_Atomic int cols, rows;	/* terminal size, for who */
	struct mailbox *mbox;
	int wake_fd;		/* eventfd the session thread polls */
	_Atomic int end_request;	/* enum end_reason asked by others */
	struct session *router_next;	/* owned by the router */
};

const char *session_end_reason_name(enum end_reason r);

/*
 * Ask a session to end (from any thread): it prints text to the user,
 * then closes.  The first request wins.
 */
void session_request_end(struct session *s, enum end_reason why,
    const char *text);

/* Send text (or an error) to the session's own terminal. */
void session_print(struct session *s, int type, const char *text);

/* Start the session thread; it takes ownership of the ssh_session. */
int session_start(void *ssh, const char *addr, const char *ip);

/* Session ids continue from the last run's (see store_max_session_id). */
void session_set_first_id(unsigned long id);

/* Number of session threads still running (pre-auth ones included). */
unsigned session_threads(void);
/* Wait until no session thread is left or timeout_ms passed. */
void session_wait_all(int timeout_ms);
/* Let the idle session threads kept for new connections go. */
void session_pool_close(void);

#endif
