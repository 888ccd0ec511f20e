/*
 * The mailbox in front of a session's terminal and shell socket.
 * Without a thread (exec and pipe sessions) a push writes to the socket
 * at once and what does not fit waits for the session thread's flush.
 * With its mailbox thread, every push wakes that thread: before a
 * screen is set it writes records to the shell; after, it shows runs of
 * text through the screen while check() allows (under the session's
 * lock, which it takes through lock() and gives back), holds them when
 * check() says to wait until mailbox_screen_moved(), and gives them to
 * the shell otherwise, in order, with the count of records written.
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

/* The session's lock, as lock() and unlock() take it. */
static pthread_mutex_t sess_lock = PTHREAD_MUTEX_INITIALIZER;
static bool locked;
static enum mailbox_direct answer = MAILBOX_SHOW;
static uint64_t last_sent;
static size_t last_len;
static struct buf shown;
static int shows;
static bool unlocked_check;	/* check() or show() without the lock */
static struct mailbox *mb;
static bool push_in_show;	/* show() pushes, as a callback may */

static void
lock(void *arg)
{
	pthread_mutex_lock(&sess_lock);
	locked = true;
}

static void
unlock(void *arg)
{
	locked = false;
	pthread_mutex_unlock(&sess_lock);
}

static enum mailbox_direct
check(void *arg, uint64_t sent, size_t len)
{
	unlocked_check |= !locked;
	last_sent = sent;
	last_len = len;
	return answer;
}

static bool
show(void *arg, const char *text, size_t len)
{
	unlocked_check |= !locked;
	buf_append(&shown, text, len);
	buf_append(&shown, "|", 1);
	shows++;
	if (push_in_show) {
		push_in_show = false;
		CHECK(mailbox_push(mb, REC_TEXT, "pushed while shown", 18, 0));
	}
	return true;
}

/* What was shown so far, read under the session's lock. */
static const char *
shown_now(void)
{
	static char out[512];

	pthread_mutex_lock(&sess_lock);
	snprintf(out, sizeof(out), "%.*s", (int)shown.len,
	    shown.data != NULL ? shown.data : "");
	pthread_mutex_unlock(&sess_lock);
	return out;
}

/* Wait (at most 5 s) until shown_now() is want; returns it. */
static const char *
wait_shown(const char *want)
{
	for (int i = 0; i < 5000 && strcmp(shown_now(), want) != 0; i++) {
		usleep(1000);
	}
	return shown_now();
}

/*
 * The next record on the socket as "TYPE:payload", or "" if none came
 * within wait_ms.
 */
static const char *
next_record(int fd, char *buf, int wait_ms)
{
	static char out[256];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int type;
	ssize_t n;

	if (poll(&pfd, 1, wait_ms) <= 0) {
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

/* Exec and pipe sessions: no thread, the session thread flushes. */
static void
without_thread(char *buf)
{
	int sv[2], efd = eventfd(0, EFD_NONBLOCK);
	struct mailbox *m;

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	set_nonblock(sv[0], true);
	m = mailbox_new(sv[0], efd, "bob", 8, false, NULL);
	CHECK(mailbox_push(m, REC_TEXT, "early", 5, 0));
	CHECK_STR(next_record(sv[1], buf, 0), "T:early");
	CHECK(!kicked(efd));
	CHECK(mailbox_flush(m) == MAILBOX_IDLE);
	CHECK(mailbox_pending(m) == 0);
	mailbox_free(m);
	close(sv[0]);
	close(sv[1]);
	close(efd);
}

int
main(void)
{
	struct mailbox_screen scr = {
		.lock = lock, .unlock = unlock, .check = check, .show = show,
	};
	char *buf = xmalloc(RECORD_MAX + 1);
	int sv[2], efd = eventfd(0, EFD_NONBLOCK);
	_Atomic int cols = 80;

	without_thread(buf);

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	set_nonblock(sv[0], true);
	mb = mailbox_new(sv[0], efd, "bob", 8, false, &cols);
	CHECK(mailbox_start(mb, 1) == 0);

	/* No screen yet: the mailbox thread gives it to the shell. */
	CHECK(mailbox_push(mb, REC_TEXT, "early", 5, 0));
	CHECK_STR(next_record(sv[1], buf, 5000), "T:early");
	CHECK(!kicked(efd));	/* the session thread is not woken */

	/*
	 * A screen: texts pushed together are shown together, under the
	 * session's lock, the session thread not involved.  The session
	 * thread holds its lock while the two are pushed, so they wait.
	 */
	mailbox_set_screen(mb, &scr);
	pthread_mutex_lock(&sess_lock);
	CHECK(mailbox_push(mb, REC_TEXT, "one", 3, 0));
	CHECK(mailbox_push(mb, REC_ERROR, "two\nlines", 9, 0));
	pthread_mutex_unlock(&sess_lock);
	CHECK_STR(wait_shown("one\r\ntwo\r\nlines\r\n|"),
	    "one\r\ntwo\r\nlines\r\n|");
	CHECK(shows == 1);
	CHECK(last_sent == 1 && last_len == strlen("one\r\ntwo\r\nlines\r\n"));
	CHECK(mailbox_pending(mb) == 0);
	CHECK_STR(next_record(sv[1], buf, 0), "");
	CHECK(!kicked(efd));

	/* Hold: nothing moves until the screen moved and check() allows. */
	answer = MAILBOX_HOLD;
	CHECK(mailbox_push(mb, REC_TEXT, "held", 4, 0));
	for (int i = 0; i < 5000 && last_len != strlen("held\r\n"); i++) {
		usleep(1000);
	}
	CHECK(last_len == strlen("held\r\n"));
	CHECK(mailbox_pending(mb) == 1);
	CHECK_STR(next_record(sv[1], buf, 50), "");
	pthread_mutex_lock(&sess_lock);
	answer = MAILBOX_SHOW;
	pthread_mutex_unlock(&sess_lock);
	mailbox_screen_moved(mb);
	CHECK_STR(wait_shown("one\r\ntwo\r\nlines\r\n|held\r\n|"),
	    "one\r\ntwo\r\nlines\r\n|held\r\n|");
	/* Moved again with nothing held: nothing happens. */
	mailbox_screen_moved(mb);

	/*
	 * To the shell: texts and other records in order, each counted;
	 * a text after a prompt is asked about with the new count.
	 */
	pthread_mutex_lock(&sess_lock);
	answer = MAILBOX_SHELL;
	CHECK(mailbox_push(mb, REC_TEXT, "three", 5, 0));
	CHECK(mailbox_push(mb, REC_PROMPT, "bob> ", 5, 0));
	CHECK(mailbox_push(mb, REC_TEXT, "four", 4, 0));
	pthread_mutex_unlock(&sess_lock);
	CHECK_STR(next_record(sv[1], buf, 5000), "T:three");
	CHECK_STR(next_record(sv[1], buf, 5000), "P:bob> ");
	CHECK_STR(next_record(sv[1], buf, 5000), "T:four");
	CHECK_STR(next_record(sv[1], buf, 50), "");
	CHECK(last_sent == 3);

	/* A text shown before a prompt that must go to the shell. */
	pthread_mutex_lock(&sess_lock);
	answer = MAILBOX_SHOW;
	CHECK(mailbox_push(mb, REC_TEXT, "five", 4, 0));
	CHECK(mailbox_push(mb, REC_PROMPT, "bob2> ", 6, 0));
	pthread_mutex_unlock(&sess_lock);
	CHECK_STR(next_record(sv[1], buf, 5000), "P:bob2> ");
	CHECK_STR(shown_now(),
	    "one\r\ntwo\r\nlines\r\n|held\r\n|five\r\n|");

	/*
	 * show() is called without the mailbox's lock: what it pushes is
	 * queued behind, and shown next.
	 */
	pthread_mutex_lock(&sess_lock);
	shown.len = 0;
	push_in_show = true;
	CHECK(mailbox_push(mb, REC_TEXT, "six", 3, 0));
	pthread_mutex_unlock(&sess_lock);
	CHECK_STR(wait_shown("six\r\n|pushed while shown\r\n|"),
	    "six\r\n|pushed while shown\r\n|");
	CHECK(mailbox_pending(mb) == 0);
	CHECK(!unlocked_check);

	/* Stopped: pushes are refused, nothing more is written. */
	mailbox_stop(mb);
	CHECK(!mailbox_push(mb, REC_TEXT, "late", 4, 0));
	CHECK_STR(next_record(sv[1], buf, 0), "");

	mailbox_free(mb);
	close(sv[0]);
	close(sv[1]);
	close(efd);
	buf_free(&shown);
	free(buf);
	return unit_done("test-mailbox");
}
