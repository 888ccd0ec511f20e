/*
 * Who is online and where their messages go.  The router maps user names
 * to their sessions and hands records to each session's mailbox; it
 * never blocks on a terminal.  A user who is not local is the seam where
 * delivery across several daemons will be added.
 */
#ifndef ROUTER_H
#define ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "online.h"
#include "util.h"

void router_add(struct session *s);
void router_remove(struct session *s);

enum router_admit {
	ROUTER_ADMITTED = 0,
	ROUTER_FULL,		/* max_total sessions */
	ROUTER_USER_FULL,	/* max_user sessions of this user */
};
/*
 * Take a place for s (its user set) if there are fewer than max_total
 * sessions and fewer than max_user of its user, counting the places
 * taken and not yet filled: one step, so that sessions set up at once
 * cannot all pass the check.  router_add() fills the place,
 * router_remove() gives it back (either may come without one).
 */
enum router_admit router_admit(struct session *s, unsigned max_total,
    unsigned max_user);

struct store_message;

/*
 * Give a stored chat message to every interactive session of its
 * recipient.  Returns the number of such sessions: 0 means the recipient
 * is offline and the message waits in the store.  A session whose
 * mailbox is full counts: it reads the message from the store later.
 */
int router_deliver(const struct store_message *m);
/*
 * A room line (say, me) to every interactive session whose user does
 * not ignore its sender; returns how many.
 */
int router_room(const struct store_message *m);
/*
 * "* alice joined/left" to everyone who wants notices: queued, and sent
 * with the others of the last second by router_flush_notices() (the
 * listener calls it each second) or before the next delivery.
 */
void router_notice(const char *user, bool joined);
void router_flush_notices(void);

/* Online users (unique, sorted) as "a, b, c"; returns the count. */
unsigned router_online(struct buf *out);
bool router_is_online(const char *user);
/* Sessions of user now online. */
unsigned router_user_sessions(const char *user);
/* Online user names starting with prefix, NUL-separated. */
void router_complete(const char *prefix, struct buf *out);

/*
 * Ask every session of user to end, showing text; returns how many.
 */
int router_end_sessions(const char *user, enum end_reason reason,
    const char *text);
/* Push text to every interactive session; returns how many. */
int router_broadcast(const char *text);

/* Call fn for every session, with the router locked: fn must not block. */
void router_foreach(void (*fn)(struct session *, void *), void *arg);
unsigned router_session_count(void);
/*
 * When the users table changed since the last call, end the sessions of
 * accounts that are gone (END_REMOVED) or locked (END_LOCKED) in it.
 * Each session looks its role up again at its next command (session.c).
 */
void router_check_accounts(void);

#endif
