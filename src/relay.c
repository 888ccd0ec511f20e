/*
 * The byte relay of one session: the SSH channel's data to the shell's
 * terminal or stdin (through inbuf, paced by InputRate's budget, the
 * rest left in libssh so that the window holds the client back, and a
 * client past its window cut off), the shell's terminal or stdout and
 * stderr to the channel (while the client's window allows), and which
 * of those fds the session's event loop polls.  It counts the bytes
 * each way for the screen model.  Runs with the session's lock held;
 * knows nothing of records, commands or the screen.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libssh/libssh.h>

#include "conf.h"
#include "log.h"
#include "messages.h"
#include "metrics.h"
#include "online.h"
#include "record.h"
#include "relay.h"
#include "util.h"

#define INBUF_MAX (64 * 1024)

/*
 * libssh 0.10 grants a channel a window of 1,280,000 bytes (WINDOWBASE in
 * its channels.c) and tops it up to that again when the window plus what
 * waits unread in its buffer falls under half of it: so at most 1,920,000
 * bytes can be unread there from a client that keeps to the window.  But
 * every ssh_channel_read() also tops the window up when it is under half,
 * whatever waits unread: reading a little at a time granted 1,280,000
 * more bytes for every few KiB read, and a client sending as fast as
 * allowed (stock ssh piping a file) filled the daemon's memory until
 * libssh gave up at 256 MiB, freed the buffer and crashed on it in the
 * next ssh_channel_poll().  So relay_pull_input() reads only all of it at
 * once, and a client with more unread than CHAN_WINDOW_MAX (plus
 * InputWindowSlack) sent past its window and is disconnected.
 */
#define CHAN_WINDOW_MAX (1280000 + 1280000 / 2)

void
relay_init(struct relay *r, struct session *pub, struct shell_proc *sp)
{
	memset(r, 0, sizeof(*r));
	r->pub = pub;
	r->sp = sp;
	bucket_init(&r->in_budget, options.input_burst, now_ms());
}

void
relay_free(struct relay *r)
{
	buf_free(&r->inbuf);
}

/*
 * How many of want bytes of input the budget allows now (InputRate,
 * InputBurst).  What it does not allow waits in inbuf and then in
 * libssh, and the closed window holds the client back: input is slowed
 * down, never dropped.
 * An episode is told to the user and logged at most once a minute.
 */
static size_t
input_allowance(struct relay *r, size_t want)
{
	int64_t now;
	double tokens;
	size_t n;

	if (options.input_rate <= 0 || want == 0) {
		return want;
	}
	now = now_ms();
	tokens = bucket_refill(&r->in_budget, options.input_rate,
	    options.input_burst, now);
	n = tokens >= (double)want ? want : tokens > 0 ? (size_t)tokens : 0;
	if (n == want) {
		r->in_slowed = false;
		return n;
	}
	if (!r->in_slowed) {
		r->in_slowed = true;
		r->in_slowed_count++;
		metrics.refusals[METRIC_LIMIT_INPUT_RATE]++;
		if (r->pub->mbox != NULL &&
		    (now - r->in_told_ms >= 60000 || r->in_told_ms == 0)) {
			char *text = xasprintf(MSG_INPUT_SLOWED,
			    options.input_rate);

			info("input from %s (%s) over InputRate %d bytes/s "
			    "(burst %d): slowed down, %llu times since last "
			    "told", r->pub->user[0] ? r->pub->user : "-",
			    r->pub->addr, options.input_rate,
			    options.input_burst,
			    (unsigned long long)r->in_slowed_count);
			online_print(r->pub, REC_ERROR, text);
			free(text);
			r->in_told_ms = now;
			r->in_slowed_count = 0;
		}
	}
	return n;
}

static void
spend_input(struct relay *r, size_t n)
{
	if (options.input_rate > 0) {
		r->in_budget.tokens -= (double)n;
	} else {
		/* Unlimited: a later reload starts from a full budget. */
		bucket_init(&r->in_budget, options.input_burst, now_ms());
	}
}

/* Poll fd for want (cb), or not at all (0); *cur: what it is polled for. */
void
relay_watch(struct relay *r, int fd, short want, short *cur,
    ssh_event_callback cb, void *arg)
{
	if (want == *cur) {
		return;
	}
	if (*cur != 0) {
		ssh_event_remove_fd(r->ev, fd);
	}
	if (want != 0) {
		ssh_event_add_fd(r->ev, fd, want, cb, arg);
	}
	*cur = want;
}

/*
 * Whether libssh may be asked about the channel's input: never once the
 * channel is closed, the client broke the window, or libssh failed
 * (SSH_FATAL: it may have freed the channel's buffer, which
 * ssh_channel_poll() would then dereference).  No system call.
 */
static bool
channel_readable(struct relay *r)
{
	return r->chan != NULL && !r->chan_closed && !r->window_overrun &&
	    ssh_channel_is_closed(r->chan) == 0 &&
	    ssh_get_error_code(r->ssh) != SSH_FATAL &&
	    (ssh_get_status(r->ssh) & (SSH_CLOSED | SSH_CLOSED_ERROR)) == 0;
}

/*
 * Give the shell what waits in inbuf, as fast as InputRate's budget
 * allows; the rest waits, inbuf fills, input stays in libssh and the
 * window holds the client back.
 */
void
relay_flush_input(struct relay *r)
{
	if (r->hold_input) {
		return;
	}
	while (r->inoff < r->inbuf.len && r->sp->in_fd >= 0) {
		size_t want = input_allowance(r, r->inbuf.len - r->inoff);
		ssize_t n;

		if (want == 0) {
			break;
		}
		n = write(r->sp->in_fd, r->inbuf.data + r->inoff, want);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno != EAGAIN) {
				/* The shell is gone; its output will say so. */
				r->inoff = r->inbuf.len;
			}
			break;
		}
		spend_input(r, (size_t)n);
		r->inoff += (size_t)n;
		r->in_written += (uint64_t)n;
	}
	if (r->inoff == r->inbuf.len) {
		r->inbuf.len = r->inoff = 0;
		if (r->client_eof && !r->sp->pty && !r->stdin_closed &&
		    r->sp->in_fd >= 0 && (!r->input_held ||
		    !channel_readable(r) ||
		    ssh_channel_poll(r->chan, 0) <= 0)) {
			relay_watch(r, r->sp->in_fd, 0, &r->in_events, NULL, NULL);
			close(r->sp->in_fd);
			r->sp->in_fd = -1;
			r->stdin_closed = true;
		}
	}
}

/* Bytes in inbuf the shell has not read yet. */
static size_t
inbuf_pending(const struct relay *r)
{
	return r->inbuf.len - r->inoff;
}

/* Drop what the shell has read from the front of inbuf. */
static void
inbuf_compact(struct relay *r)
{
	if (r->inoff == 0) {
		return;
	}
	if (r->inoff < r->inbuf.len) {
		memmove(r->inbuf.data, r->inbuf.data + r->inoff,
		    r->inbuf.len - r->inoff);
	}
	r->inbuf.len -= r->inoff;
	r->inoff = 0;
}

/*
 * The most the client may leave unread in libssh: what libssh can have
 * granted, and InputWindowSlack.
 */
static size_t
chan_held_max(void)
{
	return (size_t)CHAN_WINDOW_MAX + (size_t)options.input_window_slack;
}

/* The client sent past its window: log it and end the session. */
static void
window_overrun(struct relay *r, size_t held)
{
	if (!r->window_overrun) {
		metrics.refusals[METRIC_LIMIT_INPUT_WINDOW_SLACK]++;
	}
	r->window_overrun = true;
	info("%s (%s) sent past the channel window: %zu bytes unread, "
	    "at most %zu allowed; disconnecting",
	    r->pub->user[0] ? r->pub->user : "-", r->pub->addr, held,
	    chan_held_max());
}

/*
 * Input data_cb could not take stays in libssh's channel buffer, and
 * libssh offers it again only when another packet arrives; pull it once
 * there is room, or a client that sent everything and then EOF stalls.
 * It is taken all at once, never a little: each ssh_channel_read() may
 * grant the client a whole new window (see CHAN_WINDOW_MAX), and
 * emptying the buffer is what keeps the unread part within one window.
 */
void
relay_pull_input(struct relay *r)
{
	size_t pending;
	int avail, n;

	if (!r->input_held || r->sp->pid <= 0 || !channel_readable(r)) {
		return;
	}
	avail = ssh_channel_poll(r->chan, 0);
	if (avail <= 0) {
		r->input_held = false;
		return;
	}
	if ((size_t)avail > chan_held_max()) {
		window_overrun(r, (size_t)avail);
		return;
	}
	pending = inbuf_pending(r);
	if (pending + (size_t)avail > chan_held_max()) {
		return;		/* the shell reads some first */
	}
	inbuf_compact(r);
	buf_reserve(&r->inbuf, (size_t)avail);
	n = ssh_channel_read_nonblocking(r->chan,
	    r->inbuf.data + r->inbuf.len, (uint32_t)avail, 0);
	if (n <= 0) {
		return;
	}
	r->inbuf.len += (size_t)n;
	r->inbuf.data[r->inbuf.len] = '\0';
	r->input_held = n < avail;
	relay_flush_input(r);
}

/*
 * Channel data: len is everything libssh holds unread for the channel,
 * this packet included, so the window check costs a comparison.
 */
int
relay_take(struct relay *r, const void *data, uint32_t len, bool is_stderr)
{
	size_t pending, take;

	if (is_stderr || r->window_overrun) {
		return (int)len;	/* dropped: nobody reads it */
	}
	if (len > chan_held_max()) {
		window_overrun(r, len);
		return (int)len;
	}

	/* Before the shell starts, input is kept for it. */
	pending = inbuf_pending(r);
	take = pending < INBUF_MAX ? INBUF_MAX - pending : 0;
	if (take > len) {
		take = len;
	}
	if (take > 0) {
		inbuf_compact(r);
		buf_append(&r->inbuf, data, take);
		relay_flush_input(r);
	}
	r->input_held = take < len;
	/* What we did not take stays in libssh and holds the window shut. */
	return (int)take;
}

/* Shell output -> channel. */
static int
out_cb(socket_t fd, int revents, void *userdata)
{
	struct relay *r = userdata;
	bool is_err = fd == r->sp->err_fd;
	/*
	 * A page: what one read touches of a session thread's stack stays
	 * resident for the session (16 KiB here cost 18 KB per session at
	 * 3,000).  More waiting makes the poll fire again.
	 */
	char buf[4096];
	uint32_t win;
	ssize_t n;

	r->cb_gen++;
	if (r->chan == NULL || r->chan_closed) {
		return 0;
	}
	win = ssh_channel_window_size(r->chan);
	if (win == 0) {
		/* The client is not reading; stop polling until it does. */
		return 0;
	}
	n = read(fd, buf, win < sizeof(buf) ? win : sizeof(buf));
	if (n > 0) {
		int w;

		if (!is_err) {
			r->out_read += (uint64_t)n;
		}
		w = is_err ? ssh_channel_write_stderr(r->chan, buf,
		    (uint32_t)n) : ssh_channel_write(r->chan, buf, (uint32_t)n);

		if (w == SSH_ERROR) {
			r->chan_closed = true;
		}
		return 0;
	}
	if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		/* EOF, or EIO from a PTY master: the shell's end is closed. */
		if (is_err) {
			r->err_open = false;
		} else {
			r->out_open = false;
		}
	}
	return 0;
}

/* The shell's input has room again: write what waits for it. */
static int
in_cb(socket_t fd, int revents, void *userdata)
{
	struct relay *r = userdata;

	r->cb_gen++;
	relay_flush_input(r);
	return 0;
}

/* The terminal socket, one fd both ways: room for input, output. */
static int
term_cb(socket_t fd, int revents, void *userdata)
{
	struct relay *r = userdata;

	r->cb_gen++;
	if ((revents & POLLOUT) != 0) {
		relay_flush_input(userdata);
	}
	if ((revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
		(void)out_cb(fd, revents, userdata);
	}
	return 0;
}

/*
 * libssh 0.10 asks its event loop for POLLOUT after every write and holds
 * the next write in its buffer until the loop saw the socket writable:
 * without this, every text the mailbox thread shows would wake the
 * session thread only to run that loop.  Here the writer runs it once,
 * without waiting; whatever else it does (input read, callbacks run:
 * the counters say) is the session thread's to act on, so it is woken
 * then.
 */
bool
relay_after_write(struct relay *r)
{
	uint64_t in = r->sock.in_bytes;
	unsigned long gen = r->cb_gen;

	if ((ssh_get_poll_flags(r->ssh) & SSH_WRITE_PENDING) == 0) {
		return false;
	}
	if (ssh_event_dopoll(r->ev, 0) == SSH_ERROR) {
		return true;
	}
	return r->sock.in_bytes != in || r->cb_gen != gen ||
	    (ssh_get_poll_flags(r->ssh) & SSH_WRITE_PENDING) != 0;
}

/* Add or remove fds from the event so poll only watches what can move. */
void
relay_update_polling(struct relay *r)
{
	bool can_write = r->chan != NULL && !r->chan_closed &&
	    ssh_channel_window_size(r->chan) > 0;
	short in = r->sp->in_fd >= 0 && r->inoff < r->inbuf.len &&
	    !r->hold_input && !r->in_slowed ? POLLOUT : 0;
	short out = r->out_open && can_write ? POLLIN : 0;

	if (r->sp->in_fd >= 0 && r->sp->in_fd == r->sp->out_fd) {
		relay_watch(r, r->sp->in_fd, (short)(in | out), &r->term_events,
		    term_cb, r);
	} else {
		relay_watch(r, r->sp->in_fd, in, &r->in_events, in_cb, r);
		relay_watch(r, r->sp->out_fd, out, &r->out_events, out_cb, r);
	}
	relay_watch(r, r->sp->err_fd, r->err_open && can_write ? POLLIN : 0,
	    &r->err_events, out_cb, r);
}

size_t
relay_pollfds(const struct relay *r, struct pollfd *pfd)
{
	size_t n = 0;

	if (r->term_events != 0) {
		pfd[n++] = (struct pollfd){ r->sp->in_fd, r->term_events, 0 };
	}
	if (r->in_events != 0) {
		pfd[n++] = (struct pollfd){ r->sp->in_fd, r->in_events, 0 };
	}
	if (r->out_events != 0) {
		pfd[n++] = (struct pollfd){ r->sp->out_fd, r->out_events, 0 };
	}
	if (r->err_events != 0) {
		pfd[n++] = (struct pollfd){ r->sp->err_fd, r->err_events, 0 };
	}
	return n;
}

void
relay_read_output(struct relay *r, uint64_t upto)
{
	for (int i = 0; i < 16 && r->out_read < upto && r->out_open &&
	    r->chan != NULL && !r->chan_closed; i++) {
		uint64_t before = r->out_read;

		(void)out_cb(r->sp->out_fd, POLLIN, r);
		if (r->out_read == before) {
			break;
		}
	}
}

void
relay_unwatch(struct relay *r)
{
	relay_watch(r, r->sp->in_fd, 0, &r->in_events, NULL, NULL);
	relay_watch(r, r->sp->in_fd, 0, &r->term_events, NULL, NULL);
	relay_watch(r, r->sp->out_fd, 0, &r->out_events, NULL, NULL);
	relay_watch(r, r->sp->err_fd, 0, &r->err_events, NULL, NULL);
}
