/*
 * A session's mailbox: the queue of everything that is to reach the
 * user's terminal, and the only writer of records to the shell socket.
 *
 * An interactive session's mailbox has a thread of its own, the mailbox
 * thread (mailbox_start): the original design's second thread per user.
 * It sleeps on the queue; every push wakes it; it shows text above the
 * half-typed line itself while the shell's screen is as the shell last
 * reported (through the session's mailbox_screen, under the session's
 * lock, which it never holds while it waits), and gives everything else
 * to the shell in order.  A frozen or slow terminal stalls only this
 * thread: pushes never block.
 *
 * Without a thread (exec and pipe sessions, which have no screen), a
 * push writes to the socket at once, without waiting, when nothing is
 * queued before it; what the socket does not take is queued, and the
 * session thread, woken through its eventfd, writes it when the socket
 * has room (mailbox_flush).
 *
 * When a chat message does not fit in the queue, the mailbox switches to
 * backlog mode: live messages are left in the store and read back in id
 * order whenever the queue is empty, formatted for the reader's width
 * then.  A text given to the shell keeps those after it from being shown
 * until the shell has printed it and reported again, so the order holds.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chat.h"
#include "log.h"
#include "mailbox.h"
#include "messages.h"
#include "metrics.h"
#include "prefs.h"
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
	const _Atomic int *cols;	/* the reader's terminal width */
	uint64_t sent;		/* records written to the shell */
	bool has_screen;
	struct mailbox_screen screen;
	bool showing;		/* show() runs, the lock released */
	/* The mailbox thread, when the session has one. */
	bool threaded, stop;
	pthread_t thread;
	pthread_cond_t wake;	/* a push or a moved screen */
	unsigned long log_id;	/* the session id, for server.log */
	atomic_bool want_moved;	/* held texts wait for the screen to move */
	bool pushed;		/* kicked since the thread last looked */
	bool waiting;		/* the thread sleeps on wake */
	/*
	 * The session thread runs a command (mailbox_batch): its own
	 * pushes do not wake the mailbox thread until the command is done.
	 */
	bool batching;
	pthread_t batcher;
};

struct mailbox *
mailbox_new(int fd, int wake_fd, const char *user, size_t cap, bool color,
    const _Atomic int *cols)
{
	struct mailbox *mb = xcalloc(1, sizeof(*mb));

	mb->color = color;
	mb->cols = cols;
	pthread_mutex_init(&mb->lock, NULL);
	pthread_cond_init(&mb->wake, NULL);
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

/* Enter or leave backlog mode; the lock is held. */
static void
set_backlog(struct mailbox *mb, bool on)
{
	if (mb->backlog != on) {
		mb->backlog = on;
		metrics.mailbox_backlog += on ? 1 : -1;
	}
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
	metrics.mailbox_queued++;
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
	prefs_view(&view, mb->user, mb->color, chat_width(mb->cols != NULL,
	    mb->cols != NULL ? *mb->cols : 0));
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
		set_backlog(mb, false);
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
	metrics.mailbox_queued--;
	if (it->msg_id != 0) {
		mb->messages--;
	}
	free(it);
}

#define MAILBOX_STACK (128 * 1024)
#define WAIT_MS 10		/* MAILBOX_WAIT: ask again then */
#define SHOW_MAX (64 * 1024)	/* bytes of text shown in one piece */

/*
 * Show the text records at the head of the queue on the terminal, as
 * many as the screen takes at once; the mailbox lock is held, and is
 * released while the screen is asked and written to, under the
 * session's lock (the order is session lock, then mailbox lock: never
 * the other way round, so it is taken again only briefly, inside).  The items stay at the head meanwhile: only
 * this thread takes items off, and pushes only append.  MAILBOX_SHOW
 * when some were shown, else what check() said of the first.
 */
static enum mailbox_direct
show_texts(struct mailbox *mb)
{
	struct buf text = { 0 };
	size_t ends[64];
	enum mailbox_direct d = MAILBOX_SHELL;
	size_t n = 0, k = 0;
	bool ok = true;

	mb->showing = true;
	pthread_mutex_unlock(&mb->lock);
	mb->screen.lock(mb->screen.arg);
	/*
	 * Which texts, taken once the session's lock is held: those pushed
	 * while this thread waited for it go in the same write.
	 */
	pthread_mutex_lock(&mb->lock);
	for (struct item *it = mb->head; it != NULL && is_text(it->type) &&
	    n < ARRAY_SIZE(ends); it = it->next) {
		size_t before = text.len;

		/* As print_text() prints it: each line ends in CR LF. */
		buf_append_crlf(&text, it->data, it->len);
		buf_append(&text, "\r\n", 2);
		if (n > 0 && text.len > SHOW_MAX) {
			text.len = before;
			break;
		}
		ends[n++] = text.len;
	}
	pthread_mutex_unlock(&mb->lock);
	for (; k < n; k++) {
		d = mb->screen.check(mb->screen.arg, mb->sent, ends[k]);
		if (d != MAILBOX_SHOW) {
			break;
		}
	}
	if (k > 0) {
		ok = mb->screen.show(mb->screen.arg, text.data, ends[k - 1]);
	}
	mb->screen.unlock(mb->screen.arg);
	pthread_mutex_lock(&mb->lock);
	mb->showing = false;
	buf_free(&text);
	if (k == 0) {
		return d;
	}
	if (!ok) {
		/* The channel is gone: the messages stay undelivered. */
		mb->failed = true;
	} else {
		metrics.texts_shown += k;
		while (k-- > 0) {
			dequeue(mb);
		}
	}
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
			if (d == MAILBOX_WAIT) {
				/* A report is on its way: look again soon. */
				mb->retry_ms = now_ms() + WAIT_MS;
				return false;
			}
			if (d == MAILBOX_HOLD) {
				/*
				 * The shell's output is on its way: the session
				 * thread wakes us when it came.
				 */
				mb->want_moved = true;
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
			metrics.texts_to_shell++;
		}
		dequeue(mb);
	}
}

/*
 * Records are left: make sure the thread that flushes comes (the mailbox
 * thread, or without one the session thread); the lock is held.
 */
static void
kick(struct mailbox *mb)
{
	uint64_t one = 1;

	if (mb->threaded) {
		/* It may be flushing with the lock released: it loops then. */
		mb->pushed = true;
		if (mb->waiting) {
			pthread_cond_signal(&mb->wake);
		}
	} else if (!mb->kicked) {
		mb->kicked = true;
		(void)!write(mb->wake_fd, &one, sizeof(one));
	}
}

bool
mailbox_push(struct mailbox *mb, int type, const char *data, size_t len,
    int64_t msg_id)
{
	struct buf wrapped = { 0 };
	bool signal = false;
	int cols;

	/*
	 * Everything but chat lines (formatted for this reader already):
	 * lines as wide as the terminal are wrapped here, with an indent.
	 */
	cols = chat_width(mb->cols != NULL, mb->cols != NULL ? *mb->cols : 0);
	if (msg_id == 0 && is_text(type) && cols > 0 &&
	    (len >= (size_t)cols || memchr(data, '\n', len) != NULL)) {
		chat_wrap_text(&wrapped, data, len, cols);
		data = wrapped.data != NULL ? wrapped.data : "";
		len = wrapped.len;
	}
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
		buf_free(&wrapped);
		return false;
	}
	if (msg_id == MAILBOX_ROOM && mb->messages >= mb->cap) {
		mb->dropped++;
		metrics.refusals[METRIC_LIMIT_MAILBOX_SIZE]++;
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
				set_backlog(mb, true);
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
	if (mb->threaded) {
		/*
		 * Woken after the lock is released, so that it does not
		 * wake only to wait for the lock (fan-out pushes to many).
		 */
		mb->pushed = true;
		if (!mb->batching ||
		    !pthread_equal(pthread_self(), mb->batcher)) {
			signal = mb->waiting;
			mb->waiting = false;
		}
	} else if (drain(mb, false) || mb->head != NULL) {
		/* Without a thread, what the socket takes went now. */
		kick(mb);
	}
	pthread_mutex_unlock(&mb->lock);
	buf_free(&wrapped);
	if (signal) {
		pthread_cond_signal(&mb->wake);
	}
	return true;
}

void
mailbox_set_screen(struct mailbox *mb, const struct mailbox_screen *scr)
{
	pthread_mutex_lock(&mb->lock);
	mb->screen = *scr;
	mb->has_screen = true;
	kick(mb);
	pthread_mutex_unlock(&mb->lock);
}

void
mailbox_batch(struct mailbox *mb, bool on)
{
	bool signal = false;

	if (mb == NULL) {
		return;
	}
	pthread_mutex_lock(&mb->lock);
	mb->batching = on && mb->threaded;
	mb->batcher = pthread_self();
	if (!on && mb->pushed && mb->waiting) {
		mb->waiting = false;
		signal = true;
	}
	pthread_mutex_unlock(&mb->lock);
	if (signal) {
		pthread_cond_signal(&mb->wake);
	}
}

void
mailbox_screen_moved(struct mailbox *mb)
{
	if (mb != NULL && atomic_exchange(&mb->want_moved, false)) {
		pthread_mutex_lock(&mb->lock);
		kick(mb);
		pthread_mutex_unlock(&mb->lock);
	}
}

/*
 * The mailbox thread: sleep on the queue, flush what came.  While
 * records wait for room in the shell's socket (a shell that does not
 * read: its terminal is frozen), it polls the socket instead, a second
 * at a time, so that a stop is seen within a second.
 */
#define FULL_POLL_MS 1000

static void *
mailbox_main(void *arg)
{
	struct mailbox *mb = arg;

	(void)pthread_setname_np(pthread_self(), "mailbox");
	/* show() calls libssh: its log goes to server.log like the rest. */
	log_ssh_thread_init(mb->log_id);
	pthread_mutex_lock(&mb->lock);
	while (!mb->stop) {
		bool full = drain(mb, true);
		int64_t now = now_ms();

		if (mb->stop) {
			break;
		}
		if (full) {
			struct pollfd pfd = { .fd = mb->fd, .events = POLLOUT };

			pthread_mutex_unlock(&mb->lock);
			(void)poll(&pfd, 1, FULL_POLL_MS);
			pthread_mutex_lock(&mb->lock);
		} else if (mb->retry_ms > now) {
			struct timespec ts;
			int64_t at;

			clock_gettime(CLOCK_REALTIME, &ts);
			at = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
			    (mb->retry_ms - now);
			ts.tv_sec = (time_t)(at / 1000);
			ts.tv_nsec = (long)(at % 1000) * 1000000;
			mb->waiting = true;
			(void)pthread_cond_timedwait(&mb->wake, &mb->lock, &ts);
			mb->waiting = false;
		} else if (!mb->pushed) {
			mb->waiting = true;
			pthread_cond_wait(&mb->wake, &mb->lock);
			mb->waiting = false;
		}
		mb->pushed = false;
	}
	pthread_mutex_unlock(&mb->lock);
	return NULL;
}

int
mailbox_start(struct mailbox *mb, unsigned long log_id)
{
	pthread_attr_t attr;
	int rc;

	mb->log_id = log_id;
	pthread_mutex_lock(&mb->lock);
	mb->threaded = true;
	mb->kicked = false;
	pthread_attr_init(&attr);
	/* Formatting and one channel write: a small stack does. */
	pthread_attr_setstacksize(&attr, MAILBOX_STACK);
	rc = pthread_create(&mb->thread, &attr, mailbox_main, mb);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		mb->threaded = false;
		pthread_mutex_unlock(&mb->lock);
		error("%s: pthread_create: %s", __func__, strerror(rc));
		return -1;
	}
	pthread_mutex_unlock(&mb->lock);
	return 0;
}

void
mailbox_stop(struct mailbox *mb)
{
	if (mb == NULL || !mb->threaded) {
		return;
	}
	pthread_mutex_lock(&mb->lock);
	mb->stop = true;
	mb->closed = true;
	pthread_cond_signal(&mb->wake);
	pthread_mutex_unlock(&mb->lock);
	pthread_join(mb->thread, NULL);
	mb->threaded = false;
}

enum mailbox_state
mailbox_flush(struct mailbox *mb)
{
	enum mailbox_state r;

	/*
	 * Only the session thread, the caller, starts and stops the
	 * mailbox thread: it reads its own writes without the lock.
	 */
	if (mb->threaded) {
		return MAILBOX_IDLE;
	}
	pthread_mutex_lock(&mb->lock);
	if (mb->showing) {
		/* The mailbox thread flushes, or a flush is under way. */
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
	set_backlog(mb, true);
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
	mailbox_stop(mb);
	pthread_cond_destroy(&mb->wake);
	while ((it = mb->head) != NULL) {
		mb->head = it->next;
		metrics.mailbox_queued--;
		free(it);
	}
	set_backlog(mb, false);
	pthread_mutex_destroy(&mb->lock);
	free(mb->seen);
	free(mb->user);
	free(mb);
}
