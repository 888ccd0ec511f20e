/*
 * A session's mailbox: the only writer of records to its shell socket.
 * A push writes straight to the socket, without waiting, when nothing is
 * queued before it; what the socket does not take is queued, and the
 * session thread, woken through its eventfd, writes it when the socket
 * has room.  When a chat message does not fit in the queue, the mailbox
 * switches to backlog mode: live messages are left in the store and the
 * session thread reads them back in id order whenever the queue is
 * empty.  No thread of its own, and nothing here ever blocks.
 *
 * With a screen set (mailbox_set_screen), the session thread shows text
 * on the terminal itself whenever the shell's screen is as it last
 * reported; only the rest goes to the shell.  Then every record waits
 * for the session thread, which decides, so the order is kept: a text
 * given to the shell keeps those after it from being shown until the
 * shell has printed it and reported again.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chat.h"
#include "daemon.h"
#include "log.h"
#include "messages.h"
#include "mailbox.h"
#include "record.h"
#include "store.h"
#include "util.h"

struct item {
	struct item *next;
	int type;
	int64_t msg_id;
	size_t len;
	char data[];
};

struct mailbox {
	pthread_mutex_t lock;
	struct item *head, *tail;
	size_t count, messages, cap;
	bool closed, failed;
	bool kicked;		/* the session thread was woken to flush */
	bool backlog;		/* messages wait in the store */
	bool color;		/* the session's terminal takes colour */
	/*
	 * Ids of the messages this session queued lately (live or read back):
	 * their "delivered" marks are written asynchronously, so the store
	 * may still list them as undelivered when refill() runs.
	 */
	int64_t *seen;
	size_t nseen, seen_at;
	unsigned long dropped;	/* room lines dropped since last told */
	unsigned long left;	/* live messages left in the store */
	int64_t cursor;		/* highest message id taken from the store */
	int64_t retry_ms;	/* after a store error, refill from then */
	int fd;
	int wake_fd;		/* the session thread's eventfd */
	char *user;
	uint64_t sent;		/* records written to the shell */
	bool has_screen;
	struct mailbox_screen screen;
	pthread_t owner;	/* the session thread, once it set a screen */
	bool showing;		/* show() runs, the lock released */
};

struct mailbox *
mailbox_new(int fd, int wake_fd, const char *user, size_t cap, bool color)
{
	struct mailbox *mb = xcalloc(1, sizeof(*mb));

	mb->color = color;
	pthread_mutex_init(&mb->lock, NULL);
	mb->fd = fd;
	mb->wake_fd = wake_fd;
	mb->cap = cap;
	mb->user = xstrdup(user);
	return mb;
}

static void
remember(struct mailbox *mb, int64_t id)
{
	size_t max = 2 * mb->cap + 64;

	if (mb->seen == NULL) {
		mb->seen = xcalloc(max, sizeof(*mb->seen));
	}
	mb->seen[mb->seen_at] = id;
	mb->seen_at = (mb->seen_at + 1) % max;
	if (mb->nseen < max) {
		mb->nseen++;
	}
}

static bool
seen(const struct mailbox *mb, int64_t id)
{
	for (size_t i = 0; i < mb->nseen; i++) {
		if (mb->seen[i] == id) {
			return true;
		}
	}
	return false;
}

/* Append an item; the lock is held. */
static void
enqueue(struct mailbox *mb, int type, const char *data, size_t len,
    int64_t msg_id)
{
	struct item *it = xmalloc(sizeof(*it) + len);

	it->next = NULL;
	it->type = type;
	it->msg_id = msg_id;
	it->len = len;
	memcpy(it->data, data, len);
	if (mb->tail != NULL) {
		mb->tail->next = it;
	} else {
		mb->head = it;
	}
	mb->tail = it;
	mb->count++;
	if (msg_id != 0) {
		mb->messages++;
	}
}

/*
 * Move stored messages into the queue while there is room; the lock is
 * held and is dropped around the store query.  Returns the number of
 * undelivered messages found.
 */
static int64_t
refill(struct mailbox *mb)
{
	struct store_message *msgs = NULL;
	struct chat_view view;
	size_t room = mb->cap > mb->messages ? mb->cap - mb->messages : 0;
	int64_t after = mb->cursor;
	unsigned long left;
	int n;

	if (room == 0) {
		return 0;
	}
	left = mb->left;
	pthread_mutex_unlock(&mb->lock);
	n = store_undelivered(mb->user, after, room, &msgs);
	pthread_mutex_lock(&mb->lock);
	if (n < 0) {
		/* Try again when the queue next drains. */
		return -1;
	}
	chat_view_init(&view, mb->user, mb->color, 0);
	for (int i = 0; i < n; i++) {
		char *text = chat_format_message(&msgs[i], &view, true);

		if (msgs[i].id > mb->cursor) {
			mb->cursor = msgs[i].id;
		}
		if (!seen(mb, msgs[i].id)) {
			remember(mb, msgs[i].id);
			enqueue(mb, REC_TEXT, text, strlen(text), msgs[i].id);
		}
		free(text);
	}
	/* A message left in the store meanwhile may be past our snapshot. */
	if ((size_t)n < room && mb->left == left) {
		mb->backlog = false;
	}
	store_messages_free(msgs, n);
	return n;
}

static bool
is_text(int type)
{
	return type == REC_TEXT || type == REC_ERROR;
}

/* A queued record is done with: written or shown. */
static void
dequeue(struct mailbox *mb)
{
	struct item *it = mb->head;

	if (it->msg_id > 0) {
		store_mark_delivered(it->msg_id);
	}
	mb->head = it->next;
	if (mb->head == NULL) {
		mb->tail = NULL;
	}
	mb->count--;
	if (it->msg_id != 0) {
		mb->messages--;
	}
	free(it);
}

#define SHOW_MAX (64 * 1024)	/* bytes of text shown in one piece */

/*
 * Show the text records at the head of the queue on the terminal, as
 * many as the screen takes at once; the lock is held.  MAILBOX_SHOW when
 * some were shown, else what check() said of the first.
 */
static enum mailbox_direct
show_texts(struct mailbox *mb)
{
	struct buf text = { 0 };
	enum mailbox_direct d = MAILBOX_SHELL;
	size_t n = 0;
	bool ok;

	for (struct item *it = mb->head; it != NULL && is_text(it->type);
	    it = it->next) {
		size_t before = text.len;

		/* As print_text() prints it: each line ends in CR LF. */
		buf_append_crlf(&text, it->data, it->len);
		buf_append(&text, "\r\n", 2);
		if ((n > 0 && text.len > SHOW_MAX) ||
		    (d = mb->screen.check(mb->screen.arg, mb->sent,
		    text.len)) != MAILBOX_SHOW) {
			text.len = before;
			break;
		}
		n++;
	}
	if (n == 0) {
		buf_free(&text);
		return d;
	}
	/*
	 * show() writes to the channel, which may wait for the connection
	 * to drain and meanwhile run the session's callbacks: not with the
	 * lock held, or every thread that pushes here waits as long, and a
	 * callback that pushes deadlocks.  The n items stay at the head:
	 * only the session thread takes items off, and a flush it is called
	 * back into meanwhile does nothing (showing).
	 */
	mb->showing = true;
	pthread_mutex_unlock(&mb->lock);
	ok = mb->screen.show(mb->screen.arg, text.data, text.len);
	pthread_mutex_lock(&mb->lock);
	mb->showing = false;
	if (!ok) {
		/* The channel is gone: the messages stay undelivered. */
		mb->failed = true;
	} else {
		daemon_stats.texts_shown += n;
		while (n-- > 0) {
			dequeue(mb);
		}
	}
	buf_free(&text);
	return MAILBOX_SHOW;
}

/*
 * Write queued records while the socket takes them; the lock is held.
 * With refill, an empty queue in backlog mode is refilled from the store
 * (only the session thread does that: it drops the lock to query).
 * Returns true when records are left because the socket is full.
 */
static bool
drain(struct mailbox *mb, bool with_refill)
{
	for (;;) {
		struct item *it = mb->head;

		if (it == NULL) {
			if (!with_refill || !mb->backlog || mb->failed ||
			    mb->closed || now_ms() < mb->retry_ms) {
				return false;
			}
			if (refill(mb) < 0) {
				/* The store failed: try again later. */
				mb->retry_ms = now_ms() + 1000;
				return false;
			}
			if (mb->head == NULL && !mb->backlog) {
				return false;
			}
			continue;
		}
		if (mb->failed) {
			return false;
		}
		if (mb->has_screen && is_text(it->type)) {
			enum mailbox_direct d = show_texts(mb);

			if (d == MAILBOX_SHOW) {
				continue;
			}
			if (d == MAILBOX_HOLD) {
				/* The shell's output is on its way: flushed then. */
				return false;
			}
		}
		if (record_send_nowait(mb->fd, it->type, it->data,
		    it->len) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				return true;
			}
			if (errno == ENOBUFS || errno == ENOMEM) {
				/* Short of memory: keep it, try again soon. */
				mb->retry_ms = now_ms() + 1000;
				return false;
			}
			/*
			 * The shell is gone (EPIPE, ECONNRESET): its terminal
			 * closes too, which ends the session.
			 */
			mb->failed = true;
			debug("write to shell: %s", strerror(errno));
			return false;
		}
		mb->sent++;
		if (is_text(it->type)) {
			daemon_stats.texts_to_shell++;
		}
		dequeue(mb);
	}
}

/* Records are left: make sure the session thread comes to flush them. */
static void
kick(struct mailbox *mb)
{
	uint64_t one = 1;

	if (!mb->kicked) {
		mb->kicked = true;
		(void)!write(mb->wake_fd, &one, sizeof(one));
	}
}

bool
mailbox_push(struct mailbox *mb, int type, const char *data, size_t len,
    int64_t msg_id)
{
	if (len + 1 > RECORD_MAX) {
		/* Never inside a UTF-8 sequence. */
		len = RECORD_MAX - 1;
		while (len > 0 && ((unsigned char)data[len] & 0xc0) == 0x80) {
			len--;
		}
	}
	pthread_mutex_lock(&mb->lock);
	if (mb->closed || mb->failed) {
		pthread_mutex_unlock(&mb->lock);
		return false;
	}
	if (msg_id == MAILBOX_ROOM && mb->messages >= mb->cap) {
		mb->dropped++;
		pthread_mutex_unlock(&mb->lock);
		return false;
	}
	if (msg_id == MAILBOX_ROOM && mb->dropped > 0) {
		char *note = xasprintf(MSG_ROOM_DROPPED, mb->dropped);

		mb->dropped = 0;
		enqueue(mb, REC_TEXT, note, strlen(note), 0);
		free(note);
	}
	if (msg_id > 0) {
		if (seen(mb, msg_id)) {
			/* Already taken from the store. */
			pthread_mutex_unlock(&mb->lock);
			return true;
		}
		if (mb->backlog || mb->messages >= mb->cap) {
			/* It stays in the store; refill() brings it in order. */
			if (!mb->backlog) {
				mb->backlog = true;
				if (msg_id - 1 < mb->cursor) {
					mb->cursor = msg_id - 1;
				}
			}
			mb->left++;
			kick(mb);
			pthread_mutex_unlock(&mb->lock);
			return false;
		}
		remember(mb, msg_id);
	}
	enqueue(mb, type, data, len, msg_id);
	if (mb->has_screen) {
		/* The session thread decides; its loop flushes anyway. */
		if (!pthread_equal(pthread_self(), mb->owner)) {
			kick(mb);
		}
	} else if (drain(mb, false) || mb->head != NULL) {
		kick(mb);
	}
	pthread_mutex_unlock(&mb->lock);
	return true;
}

void
mailbox_set_screen(struct mailbox *mb, const struct mailbox_screen *scr)
{
	pthread_mutex_lock(&mb->lock);
	mb->screen = *scr;
	mb->owner = pthread_self();
	mb->has_screen = true;
	pthread_mutex_unlock(&mb->lock);
}

enum mailbox_state
mailbox_flush(struct mailbox *mb)
{
	enum mailbox_state r;

	pthread_mutex_lock(&mb->lock);
	if (mb->showing) {
		/* Called back from show(): the flush under way goes on. */
		pthread_mutex_unlock(&mb->lock);
		return MAILBOX_IDLE;
	}
	mb->kicked = false;
	r = drain(mb, true) ? MAILBOX_FULL : mb->retry_ms > now_ms() ?
	    MAILBOX_RETRY : MAILBOX_IDLE;
	pthread_mutex_unlock(&mb->lock);
	return r;
}

int64_t
mailbox_fetch_stored(struct mailbox *mb)
{
	int64_t n;

	pthread_mutex_lock(&mb->lock);
	mb->backlog = true;
	n = refill(mb);
	kick(mb);
	pthread_mutex_unlock(&mb->lock);
	return n < 0 ? 0 : n;
}

size_t
mailbox_pending(struct mailbox *mb)
{
	size_t n;

	pthread_mutex_lock(&mb->lock);
	n = mb->count;
	pthread_mutex_unlock(&mb->lock);
	return n;
}

void
mailbox_free(struct mailbox *mb)
{
	struct item *it;

	if (mb == NULL) {
		return;
	}
	while ((it = mb->head) != NULL) {
		mb->head = it->next;
		free(it);
	}
	pthread_mutex_destroy(&mb->lock);
	free(mb->seen);
	free(mb->user);
	free(mb);
}
