/*
 * Private to the files of the session thread: session.c (the shell, the
 * relay loop, the shell's records, the end), session_conn.c (key
 * exchange, authentication, the channel and its requests),
 * session_screen.c (what the mailbox thread checks and shows through the
 * shell's screen) and session_pool.c (the threads, kept for the next
 * connection).  Nothing outside them includes this.
 */
#ifndef SESSION_INT_H
#define SESSION_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>

#include "online.h"
#include "relay.h"
#include "router.h"
#include "runner.h"
#include "screen.h"
#include "spawn.h"

struct gate_conn;

#define REFUSALS_LOGGED 10	/* refused requests logged a connection */

struct sess {
	struct session pub;
	pthread_mutex_t lock;	/* who may use ssh and the screen counts */
	ssh_session ssh;
	struct ssh_server_callbacks_struct scb;
	struct ssh_channel_callbacks_struct ccb;
	struct gate_conn *gate;	/* until authenticated or ended */
	const char *disconnect_why;	/* told the client at the end */
	ssh_channel dropped;	/* closed before its shell, to free */
	unsigned long users_seen;	/* userdb_generation() of the role */
	int64_t authed_ms;
	struct relay relay;	/* channel <-> shell (relay.h) */
	char *command;
	struct runner run;	/* the user's lines (runner.h) */
	int64_t stale_since;	/* the mailbox waits for a report since */
	/*
	 * A record to run (REC_LINE, REC_SECRETS, REC_LOGOUT): read under
	 * the lock, run without it (run_deferred).
	 */
	char *deferred;
	size_t deferred_len;
	int deferred_type;
	int shell_status;	/* from REC_STATUS; -1 until it comes */
	struct shell_proc sp;
	int64_t end_deadline;
	char *rbuf;
	/*
	 * The chat shell's screen, as it last reported it (screen.h),
	 * against the relay's byte counts.  Input waits for the first
	 * report (the terminal is not raw before it).
	 */
	struct screen screen;
	enum router_admit admit;	/* at authentication (router_admit) */
	int auth_tries;
	int none_tries;		/* "none" requests (the first is free) */
	int refusals;		/* requests refused (refuse_message) */
	int cols, rows;
	short core_events;	/* what the record socket is polled for */
	bool authed, want_shell, has_pty, disconnect, locked, idle_warned;
	bool no_color;		/* the client sent NO_COLOR */
	bool core_open;
	bool core_full;		/* the mailbox waits for room in the socket */
	bool running;		/* a command runs, the lock released */
	/*
	 * The mailbox thread wrote to the channel: the session thread is
	 * to let libssh flush it (and see the socket writable again), woken
	 * once the lock is released (sess_unlock), not to wait for it.
	 */
	bool wake_after_unlock;
	bool screen_shown;	/* the mailbox shows text through the screen */
	char term[64];
	char origin[96];	/* for the audit log */
};

/* session.c */
/* A session for a new connection, not started; NULL if it cannot be. */
struct sess *sess_new(void *ssh, const char *addr, const char *ip,
    struct gate_conn *gate, unsigned long id);
/* Free a session sess_new() made that never ran. */
void sess_discard(struct sess *s);
/* The session's whole life on the calling thread; s is freed after. */
void sess_run(struct sess *s);
/* The wake eventfd's callback in the session's event loop. */
int sess_wake_cb(socket_t fd, int revents, void *userdata);

/* session_conn.c */
/*
 * Key exchange, authentication and the channel's requests, until the
 * client asked for a shell or an exec (true), or the connection is to
 * end (false).
 */
bool sess_handshake(struct sess *s);
/*
 * May the authenticated client have the shell it asked for?  If not, it
 * was told why and its channel is closed.
 */
bool sess_admit(struct sess *s);
bool sess_connection_lost(struct sess *s);

/* session_screen.c */
/* The shell reported its screen (REC_SCREEN). */
void sess_screen_update(struct sess *s, const char *data, size_t len);

#endif
