/*
 * The mailbox in front of a session's terminal and shell socket: before
 * a screen is set a push writes to the socket at once; after, pushes
 * wait for the flush, which shows runs of text through the screen while
 * check() allows, holds them when it says to wait, and gives them to the
 * shell otherwise, in order, with the count of records written so far.
 */
#include "config.h"

#include <pthread.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mailbox.h"
#include "record.h"
#include "unit.h"
#include "util.h"

static enum mailbox_direct answer = MAILBOX_SHOW;
static uint64_t last_sent;
static size_t last_len;
static struct buf shown;
static int shows;

static enum mailbox_direct
check(void *arg, uint64_t sent, size_t len)
{
	last_sent = sent;
	last_len = len;
	return answer;
}

static struct mailbox *mb;
static bool reenter;		/* show() pushes and flushes, as callbacks may */
static bool reentered_ok;

static void *
push_from_other_thread(void *arg)
{
	mailbox_push(mb, REC_TEXT, "from afar", 9, 0);
	return NULL;
}

/*
 * What the session's show() may do while its channel write waits: run
 * callbacks that push (this thread, the owner) and flush, while other
 * threads push.  None of it may wait for the mailbox's lock.
 */
static void
show_reenter(void)
{
	struct timespec ts;
	pthread_t t;

	reenter = false;
	CHECK(pthread_create(&t, NULL, push_from_other_thread, NULL) == 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	reentered_ok = pthread_timedjoin_np(t, NULL, &ts) == 0;
	if (!reentered_ok) {
		/* The lock is held: this thread would deadlock below. */
		pthread_detach(t);
		return;
	}
	CHECK(mailbox_push(mb, REC_TEXT, "pushed while shown", 18, 0));
	CHECK(mailbox_flush(mb) == MAILBOX_IDLE);
}

static bool
show(void *arg, const char *text, size_t len)
{
	buf_append(&shown, text, len);
	buf_append(&shown, "|", 1);
	shows++;
	if (reenter) {
		show_reenter();
	}
	return true;
}

/* The next record on the socket as "TYPE:payload", or "" if none. */
static const char *
next_record(int fd, char *buf)
{
	static char out[256];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int type;
	ssize_t n;

	if (poll(&pfd, 1, 0) <= 0) {
		return "";
	}
	n = record_recv(fd, &type, buf);
	if (n < 0) {
		return "error";
	}
	snprintf(out, sizeof(out), "%c:%s", type, buf);
	return out;
}

static bool
kicked(int efd)
{
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	uint64_t v;

	if (poll(&pfd, 1, 0) <= 0) {
		return false;
	}
	return read(efd, &v, sizeof(v)) == sizeof(v);
}

int
main(void)
{
	struct mailbox_screen scr = { .check = check, .show = show };
	char *buf = xmalloc(RECORD_MAX + 1);
	int sv[2], efd = eventfd(0, EFD_NONBLOCK);
	pthread_t t;

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	set_nonblock(sv[0], true);
	mb = mailbox_new(sv[0], efd, "bob", 8, false);

	/* No screen: a push goes to the shell at once. */
	CHECK(mailbox_push(mb, REC_TEXT, "early", 5, 0));
	CHECK_STR(next_record(sv[1], buf), "T:early");
	CHECK(!kicked(efd));

	/* A screen: pushes wait for the flush, which shows texts together. */
	mailbox_set_screen(mb, &scr);
	CHECK(mailbox_push(mb, REC_TEXT, "one", 3, 0));
	CHECK(mailbox_push(mb, REC_ERROR, "two\nlines", 9, 0));
	CHECK_STR(next_record(sv[1], buf), "");
	CHECK(!kicked(efd));	/* pushed by the session thread itself */
	CHECK(mailbox_pending(mb) == 2);
	CHECK(mailbox_flush(mb) == MAILBOX_IDLE);
	CHECK(shows == 1);
	CHECK_STR(shown.data, "one\r\ntwo\r\nlines\r\n|");
	CHECK(last_sent == 1 && last_len == strlen("one\r\ntwo\r\nlines\r\n"));
	CHECK(mailbox_pending(mb) == 0);

	/* Another thread's push wakes the session thread. */
	CHECK(pthread_create(&t, NULL, push_from_other_thread, NULL) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	CHECK(kicked(efd));
	CHECK_STR(next_record(sv[1], buf), "");

	/* Hold: nothing moves until check() allows it. */
	answer = MAILBOX_HOLD;
	CHECK(mailbox_flush(mb) == MAILBOX_IDLE);
	CHECK(mailbox_pending(mb) == 1);
	CHECK_STR(next_record(sv[1], buf), "");
	answer = MAILBOX_SHOW;
	CHECK(mailbox_flush(mb) == MAILBOX_IDLE);
	CHECK_STR(shown.data, "one\r\ntwo\r\nlines\r\n|from afar\r\n|");

	/*
	 * To the shell: texts and other records in order, each counted;
	 * a text after a prompt is asked about with the new count.
	 */
	answer = MAILBOX_SHELL;
	CHECK(mailbox_push(mb, REC_TEXT, "three", 5, 0));
	CHECK(mailbox_push(mb, REC_PROMPT, "bob> ", 5, 0));
	CHECK(mailbox_push(mb, REC_TEXT, "four", 4, 0));
	CHECK(mailbox_flush(mb) == MAILBOX_IDLE);
	CHECK(last_sent == 3);
	CHECK_STR(next_record(sv[1], buf), "T:three");
	CHECK_STR(next_record(sv[1], buf), "P:bob> ");
	CHECK_STR(next_record(sv[1], buf), "T:four");
	CHECK_STR(next_record(sv[1], buf), "");

	/* A text shown before a prompt that must go to the shell. */
	answer = MAILBOX_SHOW;
	CHECK(mailbox_push(mb, REC_TEXT, "five", 4, 0));
	CHECK(mailbox_push(mb, REC_PROMPT, "bob2> ", 6, 0));
	CHECK(mailbox_flush(mb) == MAILBOX_IDLE);
	CHECK_STR(shown.data,
	    "one\r\ntwo\r\nlines\r\n|from afar\r\n|five\r\n|");
	CHECK_STR(next_record(sv[1], buf), "P:bob2> ");

	/*
	 * show() runs without the lock: what it pushes, from this thread
	 * or another, is queued behind, and shown by the same flush; a
	 * flush it makes returns at once and shows nothing twice.
	 */
	shown.len = 0;
	reenter = true;
	CHECK(mailbox_push(mb, REC_TEXT, "six", 3, 0));
	CHECK(mailbox_flush(mb) == MAILBOX_IDLE);
	CHECK(reentered_ok);
	CHECK(mailbox_pending(mb) == 0);
	CHECK(shown.len > 0);
	CHECK_STR(shown.data,
	    "six\r\n|from afar\r\npushed while shown\r\n|");
	CHECK(kicked(efd));	/* the other thread's push */

	mailbox_free(mb);
	close(sv[0]);
	close(sv[1]);
	close(efd);
	buf_free(&shown);
	free(buf);
	return unit_done("test-mailbox");
}
