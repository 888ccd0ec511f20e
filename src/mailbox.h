/*
 * A session's mailbox: a bounded queue of records in front of its
 * terminal and its shell, and for an interactive session the mailbox
 * thread that empties it (mailbox_start): it shows incoming text above
 * the half-typed line, or gives it to the shell to print.  Pushing never
 * blocks, so a slow or frozen terminal holds up no one else.  Chat
 * messages carry their store id: one that does not fit stays in the
 * store and is fetched from there once the queue drains, so nothing
 * accepted is lost and the order is kept.
 */
#ifndef MAILBOX_H
#define MAILBOX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mailbox;

/*
 * fd: the daemon's end of the shell socket; wake_fd: the session
 * thread's eventfd, written when queued records wait for it (without a
 * mailbox thread); user: whose messages these are; cap: chat messages
 * queued at most; cols: the reader's terminal width (NULL: no terminal,
 * 0 in it: the client gave none, 80 assumed: chat_width()), for the
 * messages read back from the store and the lines wrapped at a push.
 */
struct mailbox *mailbox_new(int fd, int wake_fd, const char *user,
    size_t cap, bool color, const _Atomic int *cols);
/*
 * Start the mailbox thread (log_id: the session's, for server.log); from
 * then on it alone writes to the shell socket and shows text, and
 * mailbox_flush() does nothing.  Returns -1 if it cannot start (the
 * session thread then flushes, as for a session without a terminal).
 */
int mailbox_start(struct mailbox *mb, unsigned long log_id);
/* Stop the mailbox thread and wait for it; pushes are refused then. */
void mailbox_stop(struct mailbox *mb);

/*
 * The msg_id of a room line or notice: bounded like a chat message, but
 * when the queue is full it is dropped (and the user later told how many
 * were), since room lines are not anyone's mail.
 */
#define MAILBOX_ROOM ((int64_t)-1)
/*
 * Queue one record.  With msg_id > 0 it is a stored chat message: it is
 * marked delivered once written, skipped if already fetched from the
 * store, and left in the store when the queue is full.  Other records
 * (replies to the session's own commands) are always queued.  Returns
 * false when the record was not queued.
 */
bool mailbox_push(struct mailbox *mb, int type, const char *data,
    size_t len, int64_t msg_id);
/*
 * Queue the user's undelivered messages from the store, oldest first, as
 * many as fit; the rest follow as the queue drains.  Live messages with
 * an id up to the last one fetched are skipped as duplicates.  Returns
 * the number of undelivered messages there were.
 */
int64_t mailbox_fetch_stored(struct mailbox *mb);
/*
 * Text shown by the mailbox thread itself, once the session set a
 * screen.  For a run of text records (REC_TEXT, REC_ERROR) at the head
 * of the queue, the mailbox thread takes the session's lock (lock()),
 * asks check() whether it can show len bytes on the terminal now (sent:
 * records written to the shell so far), gives the ones it can to show()
 * in one piece, as the shell would print them (each ends with CR LF, and
 * so does each line in it), and releases the lock (unlock()).  All three
 * are called without the mailbox's own lock: they may push.  When check()
 * says MAILBOX_HOLD, the thread waits for mailbox_screen_moved().
 */
enum mailbox_direct {
	MAILBOX_SHELL,		/* give it to the shell */
	MAILBOX_HOLD,		/* not yet: flush again when the terminal moves */
	MAILBOX_SHOW,		/* show it */
	MAILBOX_WAIT,		/* not yet: ask again in a few milliseconds */
};
struct mailbox_screen {
	void (*lock)(void *arg);
	void (*unlock)(void *arg);
	enum mailbox_direct (*check)(void *arg, uint64_t sent, size_t len);
	bool (*show)(void *arg, const char *text, size_t len);
	void *arg;
};
/* The mailbox thread shows text through scr from now on. */
void mailbox_set_screen(struct mailbox *mb, const struct mailbox_screen *scr);
/*
 * The session thread begins (on) or ends a command: what it pushes
 * meanwhile wakes the mailbox thread only at the end, in one go (others'
 * pushes wake it at once).  The reply to a command costs no thread switch
 * while the command runs, and what others send is not held up by it.
 */
void mailbox_batch(struct mailbox *mb, bool on);
/*
 * The session thread: the terminal moved (output read, a report came);
 * a text held for it (MAILBOX_HOLD) may go now.  Cheap when none waits.
 */
void mailbox_screen_moved(struct mailbox *mb);

enum mailbox_state {
	MAILBOX_IDLE,		/* nothing waits */
	MAILBOX_FULL,		/* records wait for room: poll for POLLOUT */
	MAILBOX_RETRY,		/* the store failed: flush again in 1 s */
};
/*
 * The session thread of a mailbox without a thread: write what is queued
 * while the socket takes it, refilling from the store in backlog mode.
 */
enum mailbox_state mailbox_flush(struct mailbox *mb);
/* Records waiting to be written. */
size_t mailbox_pending(struct mailbox *mb);
/*
 * Stop its thread, free the mailbox and what is still queued; no one may
 * push any more.
 */
void mailbox_free(struct mailbox *mb);

#endif
