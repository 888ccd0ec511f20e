/*
 * sshchat-shell: the chat user interface of one session.  It runs on the
 * session's PTY (its keys and screen bytes on a socket beside it: see
 * TTY_FD), or on pipes without one, with fd 3 to the daemon.  It
 * holds no secrets and opens no files: it sends what the user typed and
 * prints what the daemon rendered.  Incoming text is printed above the
 * line being edited, which readline then redraws intact.
 *
 * On a terminal, everything it prints (readline's echo and redisplay,
 * the records' text) is gathered in one buffer and written when the
 * shell is about to wait again: one batch of keystrokes or one record
 * costs one write(), so one SSH packet, not one per byte.
 *
 * Before it waits, it also tells the daemon what its screen looks like
 * (REC_SCREEN): how much input it has read, how much output it has
 * written, how many records it has handled, and the bytes that erase
 * and redraw the prompt and the line being edited.  While none of those
 * has moved, the daemon prints incoming text above the line itself,
 * exactly as print_text() would, without waking this process.  The
 * terminal is raw (no echo, no input or output processing), so the
 * byte counts on both ends agree.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#ifdef __GLIBC__
#include <malloc.h>
#if __GLIBC_PREREQ(2, 33)
#define GLIBC_MALLOC 1	/* malloc_trim(), mallinfo2() */
#endif
#endif
#include <poll.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

#include <readline/history.h>
#include <readline/readline.h>
#include <term.h>

#include "messages.h"
#include "record.h"
#include "util.h"

struct pending {
	struct pending *next;
	int type;
	size_t len;
	char data[];
};

static void shell_exit(int status) __attribute__((noreturn));

static char *rbuf;
static bool installed;		/* the readline handler is installed */
static bool logging_out;
static int exit_status;		/* the status REC_EXIT exits with */
static char **commands;		/* NUL-separated list from the daemon */
static size_t ncommands;
static char **matches;		/* completion candidates being offered */
static size_t nmatches;
static struct pending *queue_head, *queue_tail;
static char *prompt;		/* the prompt readline shows */

/*
 * Keystrokes reach readline through this buffer (rl_getc_function), so
 * the shell can cap a line: past the cap, input is skipped in bulk up to
 * the end of the line or paste, and a 10 MiB line without a newline
 * costs a memchr, not 10 MiB of line editing.
 */
static size_t max_line = 4096;
/*
 * The terminal: fd 2 (a PTY, the controlling terminal) for its size and
 * modes; with a PTY, fds 0 and 1 are a socket to the daemon that carries
 * the keys and the screen bytes (spawn.c says why).
 */
#define TTY_FD STDERR_FILENO
/*
 * ibuf is allocated once, at start (by the zygote for all its children),
 * not in the program's data: there it lay across two pages among the
 * variables every shell writes, so that even a shell nobody types in
 * copied both.  Now only typing costs a shell a page of it.
 */
static unsigned char (*ibufp)[4096];
#define ibuf (*ibufp)
static size_t ipos, ilen;
static size_t line_bytes;	/* given to readline since the line began */
static bool overflow;		/* this line went over the cap */
static bool input_eof;

#define PASSWORD_LINE_MAX 1024

/*
 * Terminal output (interactive mode only): stdout, stderr and readline's
 * rl_outstream all are tout, an unbuffered stream whose writes land in
 * obuf, so readline's own fflush() calls cost nothing.  flush_out()
 * writes obuf to the terminal (non-blocking): the main loop calls it when
 * nothing more is ready to read, or when OUT_HIGH bytes are waiting.  A
 * terminal that does not drain keeps the rest in obuf (POLLOUT); above
 * OUT_HIGH the shell reads neither keys nor records until it drains, so
 * obuf stays within OUT_HIGH plus what one key or one record prints.
 */
#define OUT_HIGH 16384
#define OUT_KEEP 4096		/* a larger obuf is freed once empty */

static FILE *tout;
static struct buf obuf;
static size_t ooff;		/* written so far */
static bool out_blocked;	/* the terminal said EAGAIN: wait for POLLOUT */

/*
 * The screen report.  raw: the terminal was made raw, so these counts
 * are what the daemon counts on its end; capture: where
 * tout's output goes instead of obuf while the report is made.
 */
static bool raw;
static uint64_t in_total;	/* bytes read from the terminal */
static uint64_t out_total;	/* bytes put in obuf for it */
static uint64_t recs_total;	/* records read from the daemon */
static int screen_cols;		/* the width readline was last given */
static struct buf *capture;
static struct {
	uint64_t in, out, recs;
	int cols;
	bool sent;
} reported;

/*
 * With OPOST off, a newline is made CR LF here, as the kernel's ONLCR
 * would: then what is counted is what the daemon reads.
 */
static ssize_t
tout_write(void *cookie, const char *p, size_t n)
{
	struct buf *b = capture != NULL ? capture : &obuf;
	size_t before = b->len;

	if (raw) {
		buf_append_crlf(b, p, n);
	} else {
		buf_append(b, p, n);
	}
	if (capture == NULL) {
		out_total += b->len - before;
	}
	return (ssize_t)n;
}

static size_t
out_pending(void)
{
	return obuf.len - ooff;
}

/* Write what obuf holds, as far as the terminal takes it. */
static void
flush_out(void)
{
	while (ooff < obuf.len) {
		ssize_t n = write(STDOUT_FILENO, obuf.data + ooff,
		    obuf.len - ooff);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			out_blocked = true;
			return;
		}
		if (n <= 0) {
			/* The terminal is gone; its hangup ends the shell. */
			break;
		}
		ooff += (size_t)n;
	}
	out_blocked = false;
	ooff = obuf.len = 0;
	if (obuf.cap > OUT_KEEP) {
		/* A burst is over: give its pages back. */
		buf_free(&obuf);
#ifdef GLIBC_MALLOC
		malloc_trim(0);
#endif
	}
}

/* Write all of obuf, waiting for the terminal: the shell is ending. */
static void
drain_out(void)
{
	struct pollfd pfd = { .fd = STDOUT_FILENO, .events = POLLOUT };

	if (tout == NULL) {
		return;
	}
	fflush(tout);
	for (flush_out(); out_pending() > 0; flush_out()) {
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
			break;
		}
	}
}

/*
 * Send stdout, stderr (readline rings the bell there) and rl_outstream
 * through obuf.  glibc documents stdout and stderr as assignable.
 */
static void
open_tout(void)
{
	static const cookie_io_functions_t io = { .write = tout_write };

	tout = fopencookie(NULL, "w", io);
	if (tout == NULL) {
		return;	/* stdio straight to the terminal, as before */
	}
	(void)setvbuf(tout, NULL, _IONBF, 0);
	fflush(stdout);
	fflush(stderr);
	stdout = stderr = rl_outstream = tout;
	set_nonblock(STDOUT_FILENO, true);
}

static void
die(const char *msg)
{
	if (installed) {
		rl_callback_handler_remove();
	}
	fprintf(stderr, "sshchat-shell: %s\n", msg);
	shell_exit(1);
}

static void
send_record(int type, const char *data, size_t len)
{
	if (record_send(SHELL_FD, type, data, len) < 0) {
		die("lost the connection to the server");
	}
}

static void
free_list(char ***list, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		free((*list)[i]);
	}
	free(*list);
	*list = NULL;
	*n = 0;
}

static void
parse_list(const char *data, size_t len, char ***list, size_t *n)
{
	const char *p = data, *end = data + len;

	free_list(list, n);
	*list = xcalloc(1, sizeof(char *));
	while (p < end) {
		size_t l = strnlen(p, (size_t)(end - p));

		if (l > 0) {
			*list = xrealloc(*list, (*n + 2) * sizeof(char *));
			(*list)[(*n)++] = xstrndup(p, l);
			(*list)[*n] = NULL;
		}
		p += l + 1;
	}
}

/* Print text above the prompt and the half-typed line, then redraw them. */
static void
print_text(FILE *fp, const char *text)
{
	if (installed) {
		rl_clear_visible_line();
	}
	fputs(text, fp);
	fputc('\n', fp);
	fflush(fp);
	if (installed) {
		rl_on_new_line();
		rl_redisplay();
	}
}

static void
on_line(char *line)
{
	if (line == NULL) {
		/* Ctrl-D on an empty line. */
		rl_callback_handler_remove();
		installed = false;
		fputc('\n', stdout);
		fflush(stdout);
		logging_out = true;
		send_record(REC_LOGOUT, NULL, 0);
		return;
	}
	line_bytes = 0;
	if (overflow || strlen(line) > max_line) {
		char *e = xasprintf(ERR_LINE_DISCARDED, max_line);

		overflow = false;
		print_text(stdout, e);
		free(e);
		free(line);
		return;
	}
	if (line[0] != '\0') {
		HIST_ENTRY *last = history_length > 0 ?
		    history_get(history_base + history_length - 1) : NULL;

		if (last == NULL || strcmp(last->line, line) != 0) {
			add_history(line);
		}
		send_record(REC_LINE, line, strlen(line));
	}
	free(line);
}

/*
 * Read what the terminal has into ibuf.  On a terminal fd 0 is
 * non-blocking (it shares fd 1's file description): false with errno
 * EAGAIN when nothing is there yet.
 */
static bool
read_input(void)
{
	ssize_t n;

	if (ipos < ilen) {
		return true;
	}
	if (input_eof) {
		return false;
	}
	do {
		n = read(STDIN_FILENO, ibuf, sizeof(ibuf));
	} while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN) {
		return false;
	}
	if (n <= 0) {
		input_eof = true;
		return false;
	}
	ipos = 0;
	ilen = (size_t)n;
	in_total += (uint64_t)n;
	return true;
}

/*
 * Wait until there is input, writing out what is buffered meanwhile.
 * False at end of input.
 */
static bool
fill_input(void)
{
	while (!read_input()) {
		struct pollfd pfd[2] = {
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = STDOUT_FILENO, .events = POLLOUT },
		};

		if (input_eof) {
			return false;
		}
		if (tout != NULL) {
			fflush(tout);
			flush_out();
		}
		if (out_pending() == 0) {
			pfd[1].fd = -1;
		}
		if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
			input_eof = true;
			return false;
		}
		if (pfd[1].revents != 0) {
			flush_out();
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
	static size_t matched;

	while (fill_input()) {
		while (ipos < ilen) {
			unsigned char c = ibuf[ipos++];

			if (c == '\r' || c == '\n') {
				matched = 0;
				return c;
			}
			if (c == (unsigned char)paste_end[matched]) {
				if (++matched == sizeof(paste_end) - 1) {
					/* Replay the marker's last byte to readline. */
					matched = 0;
					return '~';
				}
			} else {
				matched = c == 033 ? 1 : 0;
			}
		}
	}
	return EOF;
}

static int
shell_getc(FILE *fp)
{
	if (!fill_input()) {
		return EOF;
	}
	if (++line_bytes > 2 * max_line + 256) {
		overflow = true;
		return skip_overflow();
	}
	return ibuf[ipos++];
}

/*
 * Whether keys are waiting: readline asks before it inserts typed-ahead
 * or pasted text in one go (one redisplay for the lot, not one per key),
 * and to tell an escape sequence from a lone ESC.  They wait in ibuf,
 * where a poll of the terminal cannot see them.
 */
static int
input_available(void)
{
	return ipos < ilen;
}

/* Ctrl-C: throw the line away and start a fresh one. */
static int
clear_line(int count, int key)
{
	line_bytes = 0;
	overflow = false;
	rl_replace_line("", 0);
	rl_point = rl_end = 0;
	rl_redisplay();
	return 0;
}

/*
 * Read a line from the input buffer into b, without its newline: at most
 * cap bytes are kept and the rest of a longer line is skipped (*too_long
 * is set).  Returns false at end of input with nothing read.
 */
static bool
read_line(struct buf *b, size_t cap, bool *too_long)
{
	bool any = false;

	*too_long = false;
	while (fill_input()) {
		unsigned char *start = ibuf + ipos;
		unsigned char *nl = memchr(start, '\n', ilen - ipos);
		size_t n = nl != NULL ? (size_t)(nl - start) : ilen - ipos;

		any = true;
		if (b->len + n > cap) {
			buf_append(b, start, cap > b->len ? cap - b->len : 0);
			*too_long = true;
		} else {
			buf_append(b, start, n);
		}
		ipos += n + (nl != NULL ? 1 : 0);
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
static bool
read_secret(struct buf *b, size_t cap)
{
	while (fill_input()) {
		unsigned char c = ibuf[ipos++];

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

/*
 * The daemon asks for secrets (passwords): show each prompt, read the
 * answer (the terminal does not echo), and send the answers back in one
 * record.
 */
static void
ask_secrets(const char *data, size_t len)
{
	struct buf answers = { 0 };
	bool tty = isatty(TTY_FD), too_long, given_up = false;
	bool was_installed = installed;

	if (installed) {
		rl_clear_visible_line();
		rl_callback_handler_remove();
		installed = false;
	}
	for (size_t off = 0; off < len;) {
		const char *p = data + off;
		struct buf line = { 0 };

		off += strnlen(p, len - off) + 1;
		if (given_up) {
			/* The rest are empty too. */
		} else if (tty) {
			fputs(p, stdout);
			fflush(stdout);
			given_up = !read_secret(&line, PASSWORD_LINE_MAX);
			fputs(given_up ? "^C\n" : "\n", stdout);
		} else {
			read_line(&line, PASSWORD_LINE_MAX, &too_long);
		}
		buf_append(&answers, line.data != NULL ? line.data : "",
		    line.len);
		buf_append(&answers, "", 1);
		if (line.data != NULL) {
			secure_zero(line.data, line.len);
		}
		buf_free(&line);
	}
	fflush(stdout);
	send_record(REC_SECRETS, answers.data, answers.len);
	secure_zero(answers.data, answers.len);
	buf_free(&answers);
	if (was_installed) {
		rl_callback_handler_install(prompt, on_line);
		installed = true;
	}
}

static void
handle_record(int type, const char *data, size_t len, int *status)
{
	switch (type) {
	case REC_TEXT:
		print_text(stdout, data);
		break;
	case REC_ERROR:
		print_text(isatty(TTY_FD) ? stdout : stderr, data);
		break;
	case REC_PROMPT:
		if (logging_out) {
			break;
		}
		free(prompt);
		prompt = xstrdup(data);
		if (!installed) {
			rl_callback_handler_install(prompt, on_line);
			installed = true;
		} else {
			rl_set_prompt(prompt);
			rl_redisplay();
		}
		break;
	case REC_ASK:
		ask_secrets(data, len);
		break;
	case REC_COMMANDS:
		parse_list(data, len, &commands, &ncommands);
		break;
	case REC_DONE:
		if (status != NULL) {
			*status = str_to_int(data, INT_MIN, INT_MAX, 1);
		}
		break;
	case REC_EXIT:
		if (installed) {
			rl_clear_visible_line();
			rl_callback_handler_remove();
			installed = false;
		}
		if (len > 0) {
			fputs(data, stdout);
			fputc('\n', stdout);
		}
		fflush(stdout);
		shell_exit(exit_status);
	default:
		break;
	}
}

/*
 * After a record longer than a page, give back the pages of rbuf past
 * the first: one long record would otherwise keep up to 64 KiB of this
 * shell's memory for good.  They read as zeros next time, which is fine
 * for a buffer that recv() fills.
 */
static void
release_rbuf(size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t head = pg - (size_t)((uintptr_t)rbuf % pg);
	size_t span = RECORD_MAX + 1 > head ? RECORD_MAX + 1 - head : 0;

	span -= span % pg;
	if (len + 1 > pg && span > 0) {
		(void)madvise(rbuf + head, span, MADV_DONTNEED);
	}
}

/* Read one record; 0 at end of stream. */
static int
read_record(int *type, size_t *len)
{
	ssize_t n = record_recv(SHELL_FD, type, rbuf);

	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN) {
			*type = -1;
			return 1;
		}
		die("lost the connection to the server");
	}
	if (n == 0 && *type == 0) {
		return 0;
	}
	*len = (size_t)n;
	recs_total++;
	return 1;
}

static void
queue_record(int type, const char *data, size_t len)
{
	struct pending *p = xmalloc(sizeof(*p) + len + 1);

	p->next = NULL;
	p->type = type;
	p->len = len;
	memcpy(p->data, data, len);
	p->data[len] = '\0';
	if (queue_tail != NULL) {
		queue_tail->next = p;
	} else {
		queue_head = p;
	}
	queue_tail = p;
}

static void
drain_queue(void)
{
	struct pending *p;

	while ((p = queue_head) != NULL) {
		queue_head = p->next;
		if (queue_head == NULL) {
			queue_tail = NULL;
		}
		handle_record(p->type, p->data, p->len, NULL);
		free(p);
	}
}

/* Ask the daemon for online user names starting with word. */
static void
fetch_users(const char *word)
{
	struct pollfd pfd = { .fd = SHELL_FD, .events = POLLIN };
	int64_t deadline = now_ms() + 1000;

	free_list(&matches, &nmatches);
	send_record(REC_COMPLETE, word, strlen(word));
	if (tout != NULL) {
		/* The keys typed so far are seen while the daemon answers. */
		fflush(tout);
		flush_out();
	}
	while (now_ms() < deadline) {
		int type;
		size_t len = 0;

		if (poll(&pfd, 1, (int)(deadline - now_ms())) <= 0) {
			break;
		}
		if (!read_record(&type, &len)) {
			die("lost the connection to the server");
		}
		if (type == REC_COMPLETIONS) {
			parse_list(rbuf, len, &matches, &nmatches);
			return;
		}
		if (type >= 0) {
			/* Printed after completion, so the display stays sane. */
			queue_record(type, rbuf, len);
		}
	}
}

static char *
generate(const char *text, int state)
{
	static size_t pos;

	if (state == 0) {
		pos = 0;
	}
	return words_next_match(matches, nmatches, text, &pos);
}

static char **
complete(const char *text, int start, int end)
{
	rl_attempted_completion_over = 1;
	if (start == 0) {
		free_list(&matches, &nmatches);
		matches = xcalloc(ncommands + 1, sizeof(char *));
		for (size_t i = 0; i < ncommands; i++) {
			matches[i] = xstrdup(commands[i]);
		}
		nmatches = ncommands;
	} else {
		/* The daemon completes from the whole line up to the cursor. */
		char *upto = xstrndup(rl_line_buffer, (size_t)end);

		fetch_users(upto);
		free(upto);
	}
	return rl_completion_matches(text, generate);
}

/*
 * Terminal types the zygote sets readline up for: a child on the one it
 * is set up for (see zygote_use_term) shares the terminfo entry and
 * readline's copy of its strings instead of loading its own.  Each is
 * loaded once at start (the most common last), so the key maps hold the
 * keys of all of them whatever the order of the logins, and switching
 * between them builds nothing new.
 */
static const char *const preload_terms[] = {
	"xterm", "screen-256color", "tmux-256color", "screen", "tmux",
	"rxvt-unicode-256color", "linux", "vt220", "vt100",
	"xterm-256color",
};
#define NPRELOAD (sizeof(preload_terms) / sizeof(preload_terms[0]))

static bool preloaded[NPRELOAD];
static const char *loaded_term;	/* readline is set up for this TERM */
static bool readline_ready;
static const char *term_name;	/* the session's TERM */

/*
 * Everything about readline that does not depend on the session.  The
 * zygote does it once before forking: a page a child does not write
 * stays shared, and writing a variable, even with the value it already
 * has, copies its page.
 */
static void
setup_readline(void)
{
	rl_readline_name = "sshchat";
	rl_change_environment = 0;	/* no LINES and COLUMNS in environ */
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	rl_attempted_completion_function = complete;
	rl_getc_function = shell_getc;
	rl_input_available_hook = input_available;
	rl_initialize();
	/*
	 * A pasted block runs line by line, as if typed, whether the shell
	 * came from the zygote (readline set up there without a terminal
	 * leaves bracketed paste off) or was started on its own (where a
	 * real TERM would turn it on): the daemon has no multi-line input.
	 */
	rl_variable_bind("enable-bracketed-paste", "off");
	rl_bind_key(3, clear_line);
	using_history();
	stifle_history(500);
	readline_ready = true;
}

/* The width readline is set up for: read when it reads it. */
static void
note_size(void)
{
	struct winsize ws;

	if (ioctl(TTY_FD, TIOCGWINSZ, &ws) == 0) {
		screen_cols = ws.ws_col;
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

	if (!raw && tcgetattr(TTY_FD, &t) == 0) {
		t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP |
		    INLCR | IGNCR | ICRNL | IXON | IXOFF);
		t.c_oflag &= ~(tcflag_t)OPOST;
		t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG |
		    IEXTEN);
		t.c_cc[VMIN] = 1;
		t.c_cc[VTIME] = 0;
		raw = tcsetattr(TTY_FD, TCSANOW, &t) == 0;
	}
	rl_tty_set_echoing(1);
}

static void
setup_terminal(void)
{
	const char *term = term_name;

	/* Become the session's controlling terminal: SIGWINCH needs it. */
	ioctl(TTY_FD, TIOCSCTTY, 0);
	/* readline reads the size from rl_instream's fd: stderr's, still. */
	rl_instream = stderr;
	rl_prep_term_function = prep_terminal;
	rl_deprep_term_function = NULL;
	prep_terminal(1);
	note_size();
	if (loaded_term != NULL && term != NULL &&
	    strcmp(term, loaded_term) == 0) {
		/* The zygote's terminal: only the size is this one's. */
		rl_reset_screen_size();
		return;
	}
	if (term == NULL || tgetent(NULL, term) <= 0) {
		term = "xterm-256color";
	}
	if (!readline_ready) {
		/* Started directly, not by the zygote. */
		rl_terminal_name = term;
		setup_readline();
	} else {
		rl_reset_terminal(term);
	}
}

/*
 * Tell the daemon how the screen stands, if that changed since last
 * told and the shell is idle: every key read handled, every record
 * handled, readline editing a line (not asking a question, not
 * completing).  The erase and redraw bytes are what print_text() would
 * write around a text; readline is asked for them as if it printed one,
 * with its output captured, which leaves it as it was: the line drawn
 * afresh where it is.
 */
static void
report_screen(void)
{
	static const char room[96];
	struct buf rec = { 0 };
	char head[sizeof(room)];
	int n;
	size_t erase;

	if (!raw && installed && !reported.sent) {
		/* No screen to report, but the daemon holds keys until told. */
		send_record(REC_SCREEN, NULL, 0);
		reported.sent = true;
		return;
	}
	if (!raw || !installed || logging_out || ipos < ilen || input_eof ||
	    queue_head != NULL ||
	    RL_ISSTATE(RL_STATE_MOREINPUT | RL_STATE_COMPLETING)) {
		return;
	}
	if (reported.sent && reported.in == in_total &&
	    reported.out == out_total && reported.recs == recs_total &&
	    reported.cols == screen_cols) {
		return;
	}
	buf_append(&rec, room, sizeof(room));	/* the header goes in front */
	capture = &rec;
	rl_clear_visible_line();
	erase = rec.len - sizeof(head);
	rl_on_new_line();
	rl_redisplay();
	capture = NULL;
	n = snprintf(head, sizeof(head), "%" PRIu64 " %" PRIu64 " %" PRIu64
	    " %d %zu\n", in_total, out_total, recs_total, screen_cols, erase);
	if (n > 0 && (size_t)n < sizeof(head) &&
	    rec.len - sizeof(head) + (size_t)n < RECORD_MAX) {
		char *start = rec.data + sizeof(head) - (size_t)n;

		memcpy(start, head, (size_t)n);
		send_record(REC_SCREEN, start,
		    rec.len - sizeof(head) + (size_t)n);
		reported.in = in_total;
		reported.out = out_total;
		reported.recs = recs_total;
		reported.cols = screen_cols;
		reported.sent = true;
	}
	buf_free(&rec);
}

/* Give readline the keys read so far, while the output has room. */
static void
feed_readline(void)
{
	do {
		rl_callback_read_char();
	} while (installed && ipos < ilen && !input_eof &&
	    out_pending() < OUT_HIGH);
	drain_queue();
	if (input_eof && installed) {
		shell_exit(0);
	}
}

static int
run_interactive(void)
{
	sigset_t mask;
	struct pollfd pfd[4];
	int sfd;

	setup_terminal();
	open_tout();
	sigemptyset(&mask);
	sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	pfd[0].fd = STDIN_FILENO;
	pfd[1].fd = SHELL_FD;
	pfd[2].fd = sfd;
	pfd[3].fd = STDOUT_FILENO;
	for (int i = 0; i < 3; i++) {
		pfd[i].events = POLLIN;
	}
	pfd[3].events = POLLOUT;
	for (;;) {
		bool full;
		int type, n;
		size_t len = 0;

		if (out_pending() >= OUT_HIGH && !out_blocked) {
			flush_out();
		}
		full = out_pending() >= OUT_HIGH;
		/* Keys read but not yet given to readline go first. */
		if (!full && installed && (ipos < ilen || input_eof)) {
			feed_readline();
			continue;
		}
		/* Keystrokes wait until the prompt is up. */
		pfd[0].fd = installed && !full ? STDIN_FILENO : -1;
		pfd[1].fd = full ? -1 : SHELL_FD;
		pfd[3].fd = out_blocked ? STDOUT_FILENO : -1;
		/*
		 * With output waiting, first see whether more is ready to be
		 * handled (more records, more keys): all of it goes out in
		 * the same write.  Only then write, and wait.
		 */
		if (out_pending() == 0 || out_blocked) {
			report_screen();
		}
		n = poll(pfd, 4, out_pending() > 0 && !out_blocked ? 0 : -1);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			die("poll failed");
		}
		if (n == 0) {
			flush_out();
			continue;
		}
		if (pfd[3].revents != 0) {
			flush_out();
		}
		if (pfd[2].revents & POLLIN) {
			struct signalfd_siginfo si;

			(void)!read(sfd, &si, sizeof(si));
			note_size();
			if (installed) {
				rl_resize_terminal();
			} else {
				rl_reset_screen_size();
			}
		}
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (!read_record(&type, &len)) {
				die("the server closed the session");
			}
			if (type >= 0) {
				handle_record(type, rbuf, len, NULL);
				release_rbuf(len);
			}
		}
		if (installed && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			/* Everything read so far, not one key per poll. */
			if (read_input() || input_eof) {
				feed_readline();
			}
		} else if (pfd[0].revents & (POLLHUP | POLLERR)) {
			shell_exit(0);
		}
	}
}

/* Wait for the result of the command just sent, printing its output. */
static int
wait_done(void)
{
	int status = 1;

	for (;;) {
		int type;
		size_t len = 0;

		if (!read_record(&type, &len)) {
			return status;
		}
		if (type == REC_DONE) {
			handle_record(type, rbuf, len, &status);
			return status;
		}
		if (type >= 0) {
			handle_record(type, rbuf, len, &status);
		}
	}
}

/* No terminal: one line in, its output out; no prompt, no echo. */
static int
run_lines(void)
{
	struct buf line = { 0 };
	bool too_long;
	int status = 0;

	while (read_line(&line, max_line, &too_long)) {
		if (too_long) {
			fprintf(stderr, ERR_LINE_DISCARDED "\n", max_line);
			status = 1;
		} else if (line.len > 0) {
			send_record(REC_LINE, line.data, line.len);
			if (wait_done() != 0) {
				status = 1;
			}
		}
		line.len = 0;
	}
	buf_free(&line);
	exit_status = status;
	send_record(REC_LOGOUT, NULL, 0);
	wait_done();
	return status;
}

/*
 * End the shell: tell the daemon the exit status first (a shell forked
 * by the zygote is not the daemon's child, so it cannot wait for it).
 */
static void
shell_exit(int status)
{
	char st[16];

	fflush(stdout);
	fflush(stderr);
	drain_out();
	snprintf(st, sizeof(st), "%d", status);
	(void)record_send(SHELL_FD, REC_STATUS, st, strlen(st));
	exit(status);
}

/* The shell proper, once fds 0-3 and the environment are in place. */
static int
shell_run(const char *command)
{
	int status;

	if (rbuf == NULL) {
		rbuf = xmalloc(RECORD_MAX + 1);
	}
	if (command != NULL) {
		if (strlen(command) + 1 >= RECORD_MAX) {
			fprintf(stderr, "error: command too long\n");
			shell_exit(1);
		}
		send_record(REC_LINE, command, strlen(command));
		status = wait_done();
		shell_exit(status);
	}
	if (isatty(TTY_FD)) {
		shell_exit(run_interactive());
	}
	shell_exit(run_lines());
	return 1;
}

/*
 * The zygote fills the holes in its heap (what readline, ncurses and the
 * locale freed at start-up, what a switch of terminal type freed) before
 * it forks, so that a child's allocations come from the top of the heap,
 * packed in pages of its own, instead of being spread over the zygote's
 * pages, each of which the child would then copy.  The plugs are linked
 * through their first word and freed before the next switch, which then
 * reuses the space: the heap does not grow with the number of switches.
 */
static void *plugs;

static void
plug(void *p)
{
	*(void **)p = plugs;
	plugs = p;
}

static void
unplug_heap(void)
{
	while (plugs != NULL) {
		void *next = *(void **)plugs;

		free(plugs);
		plugs = next;
	}
}

/*
 * Cut every free chunk into plugs, large ones first: allocate each size
 * until an allocation comes from the top of the heap (given back when it
 * is too large for a fast bin: it then merges into the top again).  The
 * daemon starts the zygote with glibc's per-thread cache off
 * (GLIBC_TUNABLES, see spawn.c), so every free chunk is in the bins,
 * where malloc() looks before the top.
 */
static void
plug_heap(void)
{
#ifdef GLIBC_MALLOC
	static const size_t sizes[] = { 16384, 1024, 64, 16 };
	struct mallinfo2 mi;
	uintptr_t top;
	size_t budget;
	void *p;

	malloc_trim(0);	/* fast bins into the bins; free pages back */
	mi = mallinfo2();
	top = (uintptr_t)sbrk(0) - mi.keepcost;
	/* Each plug takes at least 32 bytes of what is free. */
	budget = mi.fordblks / 32 + 8;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		while (budget-- > 0 && (p = malloc(sizes[i])) != NULL) {
			if ((uintptr_t)p >= top) {
				if (sizes[i] > 64) {
					free(p);
				} else {
					plug(p);
				}
				break;
			}
			plug(p);
		}
	}
#endif
}

/*
 * The zygote before forking: plug the holes, then let readline allocate
 * what its first prompt allocates (line and display buffers, the locale
 * name it frees and copies each time) above the plugs, where the child's
 * own allocations follow, then plug what that freed.
 *
 * A child copies every page it writes, however little it writes there,
 * so what it writes is packed together at the top of the heap, from the
 * start of a page: readline's line buffer (allocated when readline was
 * set up, among what ncurses and the locale left; each prompt clears
 * it) moves up before the prompt's allocations, then come CHILD_RESERVE
 * bytes, freed last, where the child's first allocations go (the prompt,
 * the command list, its stdio stream: ~2 KB), then rbuf, where each
 * record lands (its header and first bytes; the rest of its 64 KiB
 * stays untouched and shared).  The old line buffer and rbuf are
 * plugged with the other holes.
 */
#define CHILD_RESERVE 2560

/* Plug the heap up to the next page boundary. */
static void
align_heap_top(void)
{
#ifdef GLIBC_MALLOC
	struct mallinfo2 mi = mallinfo2();
	uintptr_t top = (uintptr_t)sbrk(0) - mi.keepcost;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), gap = pg - top % pg;
	void *p;

	if (gap == pg) {
		return;
	}
	if (gap < 32) {
		gap += pg;	/* the smallest chunk is 32 bytes */
	}
	/* A request of n bytes takes a chunk of n + 8, rounded up to 16. */
	if ((p = malloc(gap - 8)) != NULL) {
		plug(p);
	}
#endif
}

static void
zygote_settle(void)
{
	char *old_line = NULL, *old_rbuf = rbuf;
	void *reserve;

	plug_heap();
	align_heap_top();
#ifdef GLIBC_MALLOC
	if (rl_line_buffer != NULL) {
		/* Its length is not public: all of its chunk. */
		size_t len = malloc_usable_size(rl_line_buffer);

		old_line = rl_line_buffer;
		rl_line_buffer = xmalloc(len);
		memcpy(rl_line_buffer, old_line, len);
	}
#endif
	rl_callback_handler_install("", on_line);
	rl_callback_handler_remove();
	/* Only its place matters (see above): freed unused, deliberately. */
	/* cppcheck-suppress unusedAllocatedMemory */
	reserve = xmalloc(CHILD_RESERVE);
	rbuf = xmalloc(RECORD_MAX + 1);
	free(old_line);
	free(old_rbuf);
	plug_heap();
	free(reserve);
}

/* The zygote: set readline up for each of preload_terms. */
static void
zygote_preload(void)
{
	mbstate_t st;
	wchar_t wc;

	/*
	 * glibc loads the locale's character conversion at the first
	 * mbrtowc() and links it from the locale's data: readline's first
	 * redisplay would do that in each child.
	 */
	memset(&st, 0, sizeof(st));
	(void)mbrtowc(&wc, "\xc3\xa9", 2, &st);

	/*
	 * Initialised for no TERM, as the zygote always was: that leaves
	 * bracketed paste off in its children (readline turns it off for a
	 * "dumb" terminal and never back on), and /etc/inputrc's "$if term="
	 * tests see no terminal.
	 */
	setup_readline();
	for (size_t i = 0; i < NPRELOAD; i++) {
		if (tgetent(NULL, preload_terms[i]) > 0) {
			rl_reset_terminal(preload_terms[i]);
			preloaded[i] = true;
			loaded_term = preload_terms[i];
		}
	}
}

/*
 * The zygote, before forking a shell for term: switch readline to it, if
 * it is one of preload_terms, before the first fork or once it was asked
 * for SWITCH_AFTER times in a row.  A switch rewrites pages the zygote's
 * living children still share with it: they keep the old ones (shared
 * among them, no longer with the zygote) and the zygote gets copies.  So
 * it switches seldom, when the terminals of those logging in changed,
 * and never back and forth in a mix.
 */
#define SWITCH_AFTER 16

static void
zygote_use_term(const char *term)
{
	static bool forked;
	static const char *wanted;	/* asked for, not loaded */
	static int times;

	for (size_t i = 0; i < NPRELOAD; i++) {
		const char *t = preload_terms[i];

		if (!preloaded[i] || strcmp(term, t) != 0) {
			continue;
		}
		if (t == loaded_term) {
			times = 0;
		} else if (t == wanted) {
			times++;
		} else {
			wanted = t;
			times = 1;
		}
		if (t != loaded_term && (!forked || times >= SWITCH_AFTER)) {
			unplug_heap();
			rl_reset_terminal(t);
			loaded_term = t;
			zygote_settle();
			times = 0;
		}
		break;
	}
	forked = true;
}

/*
 * A pidfd for the child just forked (pidfd_open(2), Linux 5.3), or -1.
 * Opened here, at once, it is the child's for sure (the kernel reaps it
 * the moment it exits, and only then may its pid be handed out again):
 * the daemon watches and signals the shell through it.
 */
static int
open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	return -1;
#endif
}

/* The zygote's reply: a record, with pidfd attached if there is one. */
static void
zygote_reply(int type, const char *text, int pidfd)
{
	char cbuf[CMSG_SPACE(sizeof(int))], t = (char)type;
	struct iovec iov[2] = { { &t, 1 }, { (void *)text, strlen(text) } };
	struct msghdr mh;
	struct cmsghdr *cm;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	if (pidfd >= 0) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pidfd, sizeof(int));
	}
	while (sendmsg(SHELL_FD, &mh, MSG_NOSIGNAL) < 0 && errno == EINTR) {
	}
	if (pidfd >= 0) {
		close(pidfd);
	}
}

/*
 * Zygote mode (-Z): the daemon starts one sshchat-shell that has loaded
 * and initialized readline and the locale once, then forks a child per
 * session from it; the children share those pages copy-on-write.  A
 * request is one record on fd 3 with the session's fds attached
 * (SCM_RIGHTS): stdin, stdout, stderr, its record socket.
 */
static int
zygote_main(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = SA_NOCLDWAIT;
	sigaction(SIGCHLD, &sa, NULL);	/* children are reaped by the kernel */
	zygote_preload();
	zygote_settle();	/* rbuf too: shared by every child until written */
	for (;;) {
		char buf[4096], cbuf[CMSG_SPACE(4 * sizeof(int))];
		struct iovec iov = { buf, sizeof(buf) - 1 };
		struct msghdr mh;
		struct cmsghdr *cm;
		int fds[4] = { -1, -1, -1, -1 }, nfds = 0;
		const char *user, *term, *maxl, *cmd, *end;
		ssize_t n;
		pid_t pid;
		char reply[32];

		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		n = recvmsg(SHELL_FD, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return 0;	/* the daemon is gone */
		}
		buf[n] = '\0';
		for (cm = CMSG_FIRSTHDR(&mh); cm != NULL;
		    cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level == SOL_SOCKET &&
			    cm->cmsg_type == SCM_RIGHTS) {
				nfds = (int)((cm->cmsg_len - CMSG_LEN(0)) /
				    sizeof(int));
				if (nfds > 4) {
					nfds = 4;
				}
				memcpy(fds, CMSG_DATA(cm), (size_t)nfds *
				    sizeof(int));
			}
		}
		/* user \0 TERM \0 max_line \0 command-or-empty \0 */
		end = buf + n;
		user = buf;
		term = user + strlen(user) + 1;
		maxl = term < end ? term + strlen(term) + 1 : end;
		cmd = maxl < end ? maxl + strlen(maxl) + 1 : end;
		if (nfds != 4 || cmd >= end) {
			for (int i = 0; i < nfds; i++) {
				close(fds[i]);
			}
			(void)record_send(SHELL_FD, REC_ERROR, "bad request", 11);
			continue;
		}
		zygote_use_term(term);
		pid = fork();
		if (pid == 0) {
			sigset_t none;

			sa.sa_handler = SIG_DFL;
			sa.sa_flags = 0;
			sigaction(SIGCHLD, &sa, NULL);
			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
			setsid();
			for (int i = 0; i < 4; i++) {
				if (dup2(fds[i], i) < 0) {
					_exit(127);
				}
			}
			closefrom(4);
			/*
			 * No setenv(): the environment is the zygote's, and
			 * changing it would copy its pages.
			 */
			term_name = term[0] ? term : "dumb";
			max_line = (size_t)strtoul(maxl, NULL, 10);
			if (max_line == 0 || max_line >= RECORD_MAX) {
				max_line = RECORD_MAX - 1;
			}
			shell_run(cmd[0] != '\0' ? cmd : NULL);
			_exit(1);
		}
		for (int i = 0; i < 4; i++) {
			close(fds[i]);
		}
		snprintf(reply, sizeof(reply), "%ld", (long)pid);
		zygote_reply(pid > 0 ? REC_DONE : REC_ERROR, reply,
		    pid > 0 ? open_pidfd(pid) : -1);
	}
}

int
main(int argc, char **argv)
{
	const char *command = NULL;
	bool zygote = false;
	int ch;

	while ((ch = getopt(argc, argv, "Zc:m:u:")) != -1) {
		switch (ch) {
		case 'Z':
			zygote = true;
			break;
		case 'c':
			command = optarg;
			break;
		case 'm':
			max_line = (size_t)strtoul(optarg, NULL, 10);
			if (max_line == 0 || max_line >= RECORD_MAX) {
				max_line = RECORD_MAX - 1;
			}
			break;
		case 'u':
			break;
		default:
			fprintf(stderr, "usage: sshchat-shell [-Z] [-u user] "
			    "[-m max_line] [-c command]\n");
			return 2;
		}
	}
	(void)setlocale(LC_ALL, "");	/* else the C locale: still usable */
	term_name = getenv("TERM");
	ibufp = xmalloc(sizeof(*ibufp));
	if (zygote) {
		return zygote_main();
	}
	return shell_run(command);
}
