/*
 * A session's mailbox: a bounded queue of records in front of its shell.
 * A push writes the record to the shell socket at once when the socket
 * has room and nothing is queued, else queues it and wakes the session
 * thread, which writes it when the socket drains (mailbox_flush).
 * Pushing never blocks, so a slow or frozen terminal holds up no one
 * else.  Chat messages carry their store id: one that does not fit stays
 * in the store and is fetched from there once the queue drains, so
 * nothing accepted is lost and the order is kept.
 */
#ifndef MAILBOX_H
#define MAILBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mailbox;

/*
 * fd: the daemon's end of the shell socket; wake_fd: the session
 * thread's eventfd, written when queued records wait for it; user: whose
 * messages these are; cap: chat messages queued at most.
 */
struct mailbox *mailbox_new(int fd, int wake_fd, const char *user,
    size_t cap, bool color);

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
 * Text shown by the session thread itself.  Once the session thread has
 * set a screen, records pushed from any thread wait in the queue for
 * mailbox_flush (nothing is written to the shell at push time).  For a
 * run of text records (REC_TEXT, REC_ERROR) at the head of the queue,
 * the flush asks check() whether the session thread can show len bytes
 * on the terminal itself now (sent: records written to the shell so
 * far), and gives the ones it can to show() in one piece, as the shell
 * would print them: each ends with CR LF, and so does each line in it.
 * show() is called without the mailbox's lock (it may wait for the
 * connection and run the session's callbacks): it may push, and a
 * mailbox_flush() it makes returns at once.
 */
enum mailbox_direct {
	MAILBOX_SHELL,		/* give it to the shell */
	MAILBOX_HOLD,		/* not yet: flush again when the terminal moves */
	MAILBOX_SHOW,		/* show it */
};
struct mailbox_screen {
	enum mailbox_direct (*check)(void *arg, uint64_t sent, size_t len);
	bool (*show)(void *arg, const char *text, size_t len);
	void *arg;
};
/* The session thread shows text through scr from now on. */
void mailbox_set_screen(struct mailbox *mb, const struct mailbox_screen *scr);

enum mailbox_state {
	MAILBOX_IDLE,		/* nothing waits */
	MAILBOX_FULL,		/* records wait for room: poll for POLLOUT */
	MAILBOX_RETRY,		/* the store failed: flush again in 1 s */
};
/*
 * The session thread: show or write what is queued while the terminal or
 * the socket takes it, refilling from the store in backlog mode.
 */
enum mailbox_state mailbox_flush(struct mailbox *mb);
/* Records waiting to be written. */
size_t mailbox_pending(struct mailbox *mb);
/* Free the mailbox and what is still queued; no one may push any more. */
void mailbox_free(struct mailbox *mb);

#endif
