/*
 * sshchat-shell's terminal: everything it prints goes through one
 * buffer written when the shell is about to wait (tty), keystrokes come
 * through a buffer of its own so a line can be capped (in), and the
 * terminal is made raw once for the whole session.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <readline/readline.h>
#include <term.h>

#include "shell.h"
#include "shell_int.h"
#include "util.h"

/*
 * With OPOST off, a newline is made CR LF here, as the kernel's ONLCR
 * would: then what is counted is what the daemon reads.
 */
static ssize_t
out_write(void *cookie, const char *p, size_t n)
{
	struct buf *b = tty.capture != NULL ? tty.capture : &tty.obuf;
	size_t before = b->len;

	if (tty.raw) {
		buf_append_crlf(b, p, n);
	} else {
		buf_append(b, p, n);
	}
	if (tty.capture == NULL) {
		tty.written += b->len - before;
	}
	return (ssize_t)n;
}

size_t
tty_pending(void)
{
	return tty.obuf.len - tty.ooff;
}

/* Write what obuf holds, as far as the terminal takes it. */
void
tty_flush(void)
{
	while (tty.ooff < tty.obuf.len) {
		ssize_t n = write(STDOUT_FILENO, tty.obuf.data + tty.ooff,
		    tty.obuf.len - tty.ooff);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			tty.blocked = true;
			return;
		}
		if (n <= 0) {
			/* The terminal is gone; its hangup ends the shell. */
			break;
		}
		tty.ooff += (size_t)n;
	}
	tty.blocked = false;
	tty.ooff = tty.obuf.len = 0;
	if (tty.obuf.cap > OUT_KEEP) {
		/* A burst is over: give its pages back. */
		buf_free(&tty.obuf);
#ifdef GLIBC_MALLOC
		malloc_trim(0);
#endif
	}
}

/* Write all of obuf, waiting for the terminal: the shell is ending. */
void
tty_drain(void)
{
	struct pollfd pfd = { .fd = STDOUT_FILENO, .events = POLLOUT };

	if (tty.out == NULL) {
		return;
	}
	fflush(tty.out);
	for (tty_flush(); tty_pending() > 0; tty_flush()) {
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
			break;
		}
	}
}

/*
 * Send stdout, stderr (readline rings the bell there) and rl_outstream
 * through obuf.  glibc documents stdout and stderr as assignable.
 */
void
tty_open_out(void)
{
	static const cookie_io_functions_t io = { .write = out_write };

	tty.out = fopencookie(NULL, "w", io);
	if (tty.out == NULL) {
		return;	/* stdio straight to the terminal, as before */
	}
	(void)setvbuf(tty.out, NULL, _IONBF, 0);
	fflush(stdout);
	fflush(stderr);
	stdout = stderr = rl_outstream = tty.out;
	set_nonblock(STDOUT_FILENO, true);
}

/*
 * Read what the terminal has into in.keys.  On a terminal fd 0 is
 * non-blocking (it shares fd 1's file description): false with errno
 * EAGAIN when nothing is there yet.
 */
bool
keys_read(void)
{
	ssize_t n;

	if (in.pos < in.len) {
		return true;
	}
	if (in.eof) {
		return false;
	}
	do {
		n = read(STDIN_FILENO, in.keys, KEYS_SIZE);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN) {
		return false;
	}
	if (n <= 0) {
		in.eof = true;
		return false;
	}
	in.pos = 0;
	in.len = (size_t)n;
	in.read_total += (uint64_t)n;
	return true;
}

/*
 * Wait until there is input, writing out what is buffered meanwhile.
 * False at end of input.
 */
bool
keys_fill(void)
{
	while (!keys_read()) {
		struct pollfd pfd[2] = {
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = STDOUT_FILENO, .events = POLLOUT },
		};

		if (in.eof) {
			return false;
		}
		if (tty.out != NULL) {
			fflush(tty.out);
			tty_flush();
		}
		if (tty_pending() == 0) {
			pfd[1].fd = -1;
		}
		if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
			in.eof = true;
			return false;
		}
		if (pfd[1].revents != 0) {
			tty_flush();
		}
	}
	return true;
}

/*
 * Skip input up to the end of the over-long line: a newline, or the end
 * of a bracketed paste, which is handed to readline so the paste ends.
 * Returns the byte to give readline next.
 */
static int
skip_overflow(void)
{
	static const char paste_end[] = "\033[201~";

	while (keys_fill()) {
		while (in.pos < in.len) {
			unsigned char c = in.keys[in.pos++];

			if (c == '\r' || c == '\n') {
				in.paste_seen = 0;
				return c;
			}
			if (c == (unsigned char)paste_end[in.paste_seen]) {
				if (++in.paste_seen == sizeof(paste_end) - 1) {
					/* Replay its last byte to readline. */
					in.paste_seen = 0;
					return '~';
				}
			} else {
				in.paste_seen = c == 033 ? 1 : 0;
			}
		}
	}
	return EOF;
}

int
keys_getc(FILE *fp)
{
	if (!keys_fill()) {
		return EOF;
	}
	if (++in.line_bytes > 2 * in.max_line + 256) {
		in.overflow = true;
		return skip_overflow();
	}
	return in.keys[in.pos++];
}

/*
 * Whether keys are waiting: readline asks before it inserts typed-ahead
 * or pasted text in one go (one redisplay for the lot, not one per key),
 * and to tell an escape sequence from a lone ESC.  They wait in in.keys,
 * where a poll of the terminal cannot see them.
 */
int
keys_available(void)
{
	return in.pos < in.len;
}

/*
 * Read a line from the input buffer into b, without its newline: at most
 * cap bytes are kept and the rest of a longer line is skipped (*too_long
 * is set).  Returns false at end of input with nothing read.
 */
bool
keys_read_line(struct buf *b, size_t cap, bool *too_long)
{
	bool any = false;

	*too_long = false;
	while (keys_fill()) {
		unsigned char *start = in.keys + in.pos;
		unsigned char *nl = memchr(start, '\n', in.len - in.pos);
		size_t n = nl != NULL ? (size_t)(nl - start) : in.len - in.pos;

		any = true;
		if (b->len + n > cap) {
			buf_append(b, start, cap > b->len ? cap - b->len : 0);
			*too_long = true;
		} else {
			buf_append(b, start, n);
		}
		in.pos += n + (nl != NULL ? 1 : 0);
		if (nl != NULL) {
			break;
		}
	}
	if (b->len > 0 && b->data[b->len - 1] == '\r') {
		b->data[--b->len] = '\0';
	}
	return any;
}

/*
 * Read a secret from the raw terminal, not echoed: Enter ends it,
 * Backspace and Ctrl-U edit it, Ctrl-C (or Ctrl-D on an empty answer)
 * gives up: false, with the answer empty.  Bytes past cap are dropped.
 */
bool
keys_read_secret(struct buf *b, size_t cap)
{
	while (keys_fill()) {
		unsigned char c = in.keys[in.pos++];

		if (c == '\r' || c == '\n') {
			return true;
		}
		if (c == 0x03 || (c == 0x04 && b->len == 0)) {
			secure_zero(b->data, b->len);
			b->len = 0;
			return false;
		}
		if (c == 0x7f || c == '\b') {
			/* One character: a UTF-8 sequence goes whole. */
			while (b->len > 0) {
				c = (unsigned char)b->data[--b->len];
				b->data[b->len] = '\0';
				if ((c & 0xc0) != 0x80) {
					break;
				}
			}
		} else if (c == 0x15) {
			secure_zero(b->data, b->len);
			b->len = 0;
		} else if (b->len < cap) {
			buf_append(b, &c, 1);
		}
	}
	return true;	/* end of input */
}

/* The width readline is set up for: read when it reads it. */
void
tty_note_size(void)
{
	struct winsize ws;

	if (ioctl(TTY_FD, TIOCGWINSZ, &ws) == 0) {
		tty.cols = ws.ws_col;
	}
}

/*
 * readline's terminal preparation, replaced: the terminal is made raw
 * once, for the whole session, and never restored between lines.  It
 * never echoes, translates or swallows a byte (Ctrl-C, Ctrl-S and Ctrl-Z
 * are keys, not signals or flow control), so what the daemon writes is
 * what the shell reads, and what the shell writes is what the daemon
 * reads, whether the bytes go through the PTY (a shell started on one
 * by hand) or beside it.  readline still draws what is typed.
 */
static void
prep_terminal(int meta)
{
	struct termios t;

	if (!tty.raw && tcgetattr(TTY_FD, &t) == 0) {
		t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP |
		    INLCR | IGNCR | ICRNL | IXON | IXOFF);
		t.c_oflag &= ~(tcflag_t)OPOST;
		t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG |
		    IEXTEN);
		t.c_cc[VMIN] = 1;
		t.c_cc[VTIME] = 0;
		tty.raw = tcsetattr(TTY_FD, TCSANOW, &t) == 0;
	}
	rl_tty_set_echoing(1);
}

void
tty_setup(void)
{
	const char *term = tty.name;

	/* Become the session's controlling terminal: SIGWINCH needs it. */
	ioctl(TTY_FD, TIOCSCTTY, 0);
	/* readline reads the size from rl_instream's fd: stderr's, still. */
	rl_instream = stderr;
	rl_prep_term_function = prep_terminal;
	rl_deprep_term_function = NULL;
	prep_terminal(1);
	tty_note_size();
	if (tty.loaded != NULL && term != NULL &&
	    strcmp(term, tty.loaded) == 0) {
		/* The zygote's terminal: only the size is this one's. */
		rl_reset_screen_size();
		return;
	}
	if (term == NULL || tgetent(NULL, term) <= 0) {
		term = "xterm-256color";
	}
	if (!in.ready) {
		/* Started directly, not by the zygote. */
		rl_terminal_name = term;
		shell_setup_readline();
	} else {
		rl_reset_terminal(term);
	}
}
