/*
 * The shell's screen, as the mailbox thread sees it.  When it is as the
 * shell last reported it (screen.h), the mailbox thread shows incoming
 * text itself: the erase bytes, the text, the redraw bytes, in one
 * channel write, as the shell would have printed them, without waking
 * the shell.  These run with the session's lock held.
 */
#include "config.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "mailbox.h"
#include "record.h"
#include "session_int.h"
#include "util.h"

#define STALE_WAIT_MS 1000	/* see screen_check() */

static enum mailbox_direct screen_check(void *arg, uint64_t sent,
    size_t len);
static bool screen_show(void *arg, const char *text, size_t len);

static void
sess_lock(void *arg)
{
	struct sess *s = arg;

	pthread_mutex_lock(&s->lock);
}

static void
sess_unlock(void *arg)
{
	struct sess *s = arg;
	bool wake = s->wake_after_unlock;

	s->wake_after_unlock = false;
	pthread_mutex_unlock(&s->lock);
	if (wake) {
		uint64_t one = 1;

		(void)!write(s->pub.wake_fd, &one, sizeof(one));
	}
}

void
sess_screen_update(struct sess *s, const char *data, size_t len)
{
	bool first = !s->screen.seen;

	if (!screen_parse(&s->screen, data, len)) {
		debug("bad screen report from the shell");
	}
	/* An empty report: a shell that cannot keep its terminal raw. */
	if (first) {
		s->relay.hold_input = false;
		relay_flush_input(&s->relay);
	}
	if (s->screen.valid && !s->screen_shown) {
		struct mailbox_screen scr = {
			.lock = sess_lock,
			.unlock = sess_unlock,
			.check = screen_check,
			.show = screen_show,
			.arg = s,
		};

		s->screen_shown = true;
		mailbox_set_screen(s->pub.mbox, &scr);
	}
}

/*
 * Take the shell's screen reports waiting in its socket, and only those:
 * a report sent after the line being run is not read before the line's
 * output is shown, else that output would always go through the shell.
 * s->rbuf is free: the lock is held, and the session thread reads
 * records into it only with the lock held and copies out what it keeps
 * (run_deferred).  A report taken here may be the one core_cb was woken
 * for: core_fd is non-blocking, so core_cb then finds nothing rather
 * than wait.
 */
static void
screen_catch_up(struct sess *s)
{
	char t;
	int type;

	while (recv(s->sp.core_fd, &t, 1, MSG_PEEK | MSG_DONTWAIT) == 1 &&
	    t == REC_SCREEN) {
		ssize_t n = record_recv(s->sp.core_fd, &type, s->rbuf);

		if (n < 0 || type != REC_SCREEN) {
			break;
		}
		sess_screen_update(s, s->rbuf, (size_t)n);
	}
}

/*
 * The connection does not take more now: a write would wait for it (the
 * shell's output waits in its socket instead).  libssh's SSH_WRITE_PENDING
 * cannot tell: it stays set while the socket is polled for POLLOUT.
 */
static bool
backed_up(struct sess *s)
{
	struct pollfd pfd = { .fd = ssh_get_fd(s->ssh), .events = POLLOUT };

	return poll(&pfd, 1, 0) != 1 || (pfd.revents & POLLOUT) == 0;
}

static enum screen_verdict
screen_now(struct sess *s, uint64_t sent)
{
	struct screen_counts now = {
		.in = s->relay.in_written,
		.out = s->relay.out_read,
		.recs = sent,
		.cols = s->cols,
	};

	return screen_decide(&s->screen, &now);
}

/*
 * While the session thread runs a command, the mailbox thread relays
 * the shell output that the last screen report counts: it is in the
 * terminal socket already (the shell writes before it reports), and
 * the text waiting for it would otherwise wait for the command.
 */
static void
relay_reported_output(struct sess *s)
{
	relay_read_output(&s->relay, s->screen.at.out);
}

static enum mailbox_direct
screen_check(void *arg, uint64_t sent, size_t len)
{
	struct sess *s = arg;
	enum screen_verdict v = screen_now(s, sent);

	if (v == SCREEN_STALE) {
		/* A newer report may be waiting. */
		screen_catch_up(s);
		v = screen_now(s, sent);
	}
	if (v == SCREEN_HOLD && s->running) {
		relay_reported_output(s);
		v = screen_now(s, sent);
	}
	if (v == SCREEN_STALE && s->running) {
		/*
		 * The session thread runs a command and reads nothing from
		 * the shell meanwhile: what the shell printed would wait
		 * for the command.  Its report is on its way (it was busy
		 * with the line): wait for it a little, then give up.
		 */
		int64_t now = now_ms();

		if (s->stale_since == 0) {
			s->stale_since = now;
		}
		if (now - s->stale_since < STALE_WAIT_MS) {
			return MAILBOX_WAIT;
		}
	} else {
		s->stale_since = 0;
	}
	if (v == SCREEN_STALE || v == SCREEN_NO || s->relay.chan == NULL ||
	    s->relay.chan_closed ||
	    ssh_channel_window_size(s->relay.chan) < len + screen_overhead(&s->screen) ||
	    backed_up(s)) {
		return MAILBOX_SHELL;
	}
	return v == SCREEN_HOLD ? MAILBOX_HOLD : MAILBOX_SHOW;
}

static bool
screen_show(void *arg, const char *text, size_t len)
{
	struct sess *s = arg;
	struct buf b = { 0 };
	int w;

	screen_compose(&s->screen, text, len, &b);
	w = ssh_channel_write(s->relay.chan, b.data, (uint32_t)b.len);
	buf_free(&b);
	if (w == SSH_ERROR) {
		s->relay.chan_closed = true;
		return false;
	}
	/* Else the session thread polls for it, woken once unlocked. */
	if (relay_after_write(&s->relay)) {
		s->wake_after_unlock = true;
	}
	return true;
}
