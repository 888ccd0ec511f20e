/*
 * Mailbox queue and thread.  The thread is the only writer of records to
 * the shell socket after the session starts; it never touches libssh.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mailbox.h"
#include "record.h"
#include "util.h"

struct item {
	struct item *next;
	int type;
	bool is_message;
	size_t len;
	char data[];
};

struct mailbox {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct item *head, *tail;
	size_t count, messages, cap;
	bool closed, started, failed;
	int fd;
	pthread_t thread;
};

struct mailbox *
mailbox_new(int fd, size_t cap)
{
	struct mailbox *mb = xcalloc(1, sizeof(*mb));

	pthread_mutex_init(&mb->lock, NULL);
	pthread_cond_init(&mb->cond, NULL);
	mb->fd = fd;
	mb->cap = cap;
	return mb;
}

static void *
mailbox_main(void *arg)
{
	struct mailbox *mb = arg;

	pthread_mutex_lock(&mb->lock);
	for (;;) {
		struct item *it;

		while (mb->head == NULL && !mb->closed) {
			pthread_cond_wait(&mb->cond, &mb->lock);
		}
		if (mb->head == NULL) {
			break;
		}
		it = mb->head;
		mb->head = it->next;
		if (mb->head == NULL) {
			mb->tail = NULL;
		}
		mb->count--;
		if (it->is_message) {
			mb->messages--;
		}
		pthread_mutex_unlock(&mb->lock);
		if (!mb->failed && record_send(mb->fd, it->type, it->data,
		    it->len) < 0) {
			/* The shell is gone; the session thread notices. */
			mb->failed = true;
			debug("write to shell: %s", strerror(errno));
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
    bool is_message)
{
	struct item *it;

	if (len + 1 > RECORD_MAX) {
		len = RECORD_MAX - 1;
	}
	pthread_mutex_lock(&mb->lock);
	if (mb->closed || mb->failed ||
	    (is_message && mb->messages >= mb->cap)) {
		pthread_mutex_unlock(&mb->lock);
		return false;
	}
	it = xmalloc(sizeof(*it) + len);
	it->next = NULL;
	it->type = type;
	it->is_message = is_message;
	it->len = len;
	memcpy(it->data, data, len);
	if (mb->tail != NULL) {
		mb->tail->next = it;
	} else {
		mb->head = it;
	}
	mb->tail = it;
	mb->count++;
	if (is_message) {
		mb->messages++;
	}
	pthread_cond_signal(&mb->cond);
	pthread_mutex_unlock(&mb->lock);
	return true;
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
	free(mb);
}
