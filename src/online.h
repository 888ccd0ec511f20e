/*
 * A logged-in session as the rest of the daemon sees it: who, from
 * where, on what terminal, and the two ways others reach it (its
 * mailbox, and a request to end).  The session thread (session.c) fills
 * the record in and owns the connection; the router lists the records;
 * commands read them.  Nothing here touches libssh.
 */
#ifndef ONLINE_H
#define ONLINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "metrics.h"
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
	END_LOCKED,	/* the account was locked */
	END_REMOVED,	/* the account was deleted */
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
	enum metric_session kind;	/* shell, exec or pipe */
	bool color;		/* its terminal may get colour (TERM, NO_COLOR) */
	_Atomic int cols, rows;	/* terminal size, for who */
	struct mailbox *mbox;
	int wake_fd;		/* eventfd the session thread polls */
	_Atomic int end_request;	/* enum end_reason asked by others */
	struct session *router_next;	/* owned by the router */
};

/* "logout", "idle", ...: the reason= of a LOGOUT event. */
const char *online_end_reason_name(enum end_reason r);

/*
 * Ask a session to end (from any thread): it prints text to the user,
 * then closes.  The first request wins.
 */
void online_request_end(struct session *s, enum end_reason why,
    const char *text);

/* Send text (or an error) to the session's own terminal. */
void online_print(struct session *s, int type, const char *text);

#endif
