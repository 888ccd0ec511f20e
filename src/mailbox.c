/*
 * Mailbox queue and thread.  The thread is the only writer of records to
 * the shell socket after the session starts; it never touches libssh.
 * When a chat message does not fit, the mailbox switches to backlog mode:
 * live messages are left in the store and the thread reads them back in
 * id order whenever the queue is empty.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat.h"
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
	pthread_cond_t cond;
	struct item *head, *tail;
	size_t count, messages, cap;
	bool closed, started, failed;
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
	int64_t cursor;		/* highest message id taken from the store */
	int fd;
	char *user;
	pthread_t thread;
};

struct mailbox *
mailbox_new(int fd, const char *user, size_t cap, bool color)
{
	struct mailbox *mb = xcalloc(1, sizeof(*mb));

	mb->color = color;
	pthread_mutex_init(&mb->lock, NULL);
	pthread_cond_init(&mb->cond, NULL);
	mb->fd = fd;
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
	int n;

	if (room == 0) {
		return 0;
	}
	pthread_mutex_unlock(&mb->lock);
	n = store_undelivered(mb->user, after, room, &msgs);
	pthread_mutex_lock(&mb->lock);
	if (n < 0) {
		/* Try again when the queue next drains. */
		return 0;
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
	if ((size_t)n < room) {
		mb->backlog = false;
	}
	store_messages_free(msgs, n);
	return n;
}

static void *
mailbox_main(void *arg)
{
	struct mailbox *mb = arg;

	pthread_mutex_lock(&mb->lock);
	for (;;) {
		struct item *it;

		if (mb->head == NULL && mb->backlog && !mb->closed &&
		    !mb->failed) {
			refill(mb);
			if (mb->head == NULL && mb->backlog) {
				/* The store failed: try again in a while. */
				struct timespec ts;

				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_sec += 1;
				pthread_cond_timedwait(&mb->cond, &mb->lock, &ts);
			}
		}
		while (mb->head == NULL && !mb->closed && !mb->backlog) {
			pthread_cond_wait(&mb->cond, &mb->lock);
		}
		if (mb->head == NULL) {
			if (mb->closed || mb->failed) {
				break;
			}
			continue;
		}
		it = mb->head;
		mb->head = it->next;
		if (mb->head == NULL) {
			mb->tail = NULL;
		}
		mb->count--;
		if (it->msg_id != 0) {
			mb->messages--;
		}
		pthread_mutex_unlock(&mb->lock);
		if (!mb->failed) {
			if (record_send(mb->fd, it->type, it->data,
			    it->len) < 0) {
				/* The shell is gone; the session thread notices. */
				mb->failed = true;
				debug("write to shell: %s", strerror(errno));
			} else if (it->msg_id > 0) {
				store_mark_delivered(it->msg_id);
			}
		}
		free(it);
		pthread_mutex_lock(&mb->lock);
	}
	pthread_mutex_unlock(&mb->lock);
	return NULL;
}

int
mailbox_start(struct mailbox *mb)
{
	pthread_attr_t attr;
	int rc;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 128 * 1024);
	rc = pthread_create(&mb->thread, &attr, mailbox_main, mb);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	mb->started = true;
	return 0;
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
				pthread_cond_signal(&mb->cond);
			}
			pthread_mutex_unlock(&mb->lock);
			return false;
		}
		remember(mb, msg_id);
	}
	enqueue(mb, type, data, len, msg_id);
	pthread_cond_signal(&mb->cond);
	pthread_mutex_unlock(&mb->lock);
	return true;
}

int64_t
mailbox_fetch_stored(struct mailbox *mb)
{
	int64_t n;

	pthread_mutex_lock(&mb->lock);
	mb->backlog = true;
	n = refill(mb);
	pthread_cond_signal(&mb->cond);
	pthread_mutex_unlock(&mb->lock);
	return n;
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
	pthread_mutex_lock(&mb->lock);
	mb->closed = true;
	pthread_cond_signal(&mb->cond);
	pthread_mutex_unlock(&mb->lock);
	if (mb->started) {
		pthread_join(mb->thread, NULL);
	}
	while ((it = mb->head) != NULL) {
		mb->head = it->next;
		free(it);
	}
	pthread_cond_destroy(&mb->cond);
	pthread_mutex_destroy(&mb->lock);
	free(mb->seen);
	free(mb->user);
	free(mb);
}
