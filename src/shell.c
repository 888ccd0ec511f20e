/*
 * sshchat-shell: the chat user interface of one session.  It runs on the
 * session's PTY (its keys and screen bytes on a socket beside it: see
 * TTY_FD), or on pipes without one, with fd 3 to the daemon.  It
 * holds no secrets and opens no files: it sends what the user typed and
 * prints what the daemon rendered.  Incoming text is printed above the
 * line being edited, which readline then redraws intact.  It knows
 * nothing of the zygote (zygote.c), which sets readline up through
 * shell.h and forks shells that run shell_run().
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
 *
 * Its state is three structures, one instance each (readline's callbacks
 * take no argument): tty, the terminal and the output buffer; in, the
 * keys, the line cap and readline; server, fd 3 and its records.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>
#include <term.h>

#include "messages.h"
#include "record.h"
#include "screen.h"
#include "shell.h"
#include "shell_int.h"
#include "util.h"

struct tty tty;
struct input in = { .max_line = 4096 };
struct link server;

static void shell_exit(int status) __attribute__((noreturn));

/* Before fatal()'s message: readline off the terminal. */
static void
fatal_cleanup(void)
{
	if (in.installed) {
		rl_callback_handler_remove();
	}
}

static void
send_record(int type, const char *data, size_t len)
{
	if (record_send(SHELL_FD, type, data, len) < 0) {
		fatal("lost the connection to the server");
	}
}

static void
free_list(char ***list, size_t *n)
{
	record_free_list(*list);
	*list = NULL;
	*n = 0;
}

static void
parse_list(const char *data, size_t len, char ***list, size_t *n)
{
	free_list(list, n);
	*list = record_split_list(data, len, n);
}

/* Print text above the prompt and the half-typed line, then redraw them. */
static void
print_text(FILE *fp, const char *text)
{
	if (in.installed) {
		rl_clear_visible_line();
	}
	fputs(text, fp);
	fputc('\n', fp);
	fflush(fp);
	if (in.installed) {
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
		in.installed = false;
		fputc('\n', stdout);
		fflush(stdout);
		server.logging_out = true;
		send_record(REC_LOGOUT, NULL, 0);
		return;
	}
	in.line_bytes = 0;
	if (in.overflow || strlen(line) > in.max_line) {
		char *e = xasprintf(ERR_LINE_DISCARDED, in.max_line);

		in.overflow = false;
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

/* Ctrl-C: throw the line away and start a fresh one. */
static int
clear_line(int count, int key)
{
	in.line_bytes = 0;
	in.overflow = false;
	rl_replace_line("", 0);
	rl_point = rl_end = 0;
	rl_redisplay();
	return 0;
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
	bool on_tty = isatty(TTY_FD), too_long, given_up = false;
	bool was_installed = in.installed;

	if (in.installed) {
		rl_clear_visible_line();
		rl_callback_handler_remove();
		in.installed = false;
	}
	for (size_t off = 0; off < len;) {
		const char *p = data + off;
		struct buf line = { 0 };

		off += strnlen(p, len - off) + 1;
		if (given_up) {
			/* The rest are empty too. */
		} else if (on_tty) {
			fputs(p, stdout);
			fflush(stdout);
			given_up = !keys_read_secret(&line, PASSWORD_LINE_MAX);
			fputs(given_up ? "^C\n" : "\n", stdout);
		} else {
			keys_read_line(&line, PASSWORD_LINE_MAX, &too_long);
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
		rl_callback_handler_install(in.prompt, on_line);
		in.installed = true;
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
		if (server.logging_out) {
			break;
		}
		free(in.prompt);
		in.prompt = xstrdup(data);
		if (!in.installed) {
			rl_callback_handler_install(in.prompt, on_line);
			in.installed = true;
		} else {
			rl_set_prompt(in.prompt);
			rl_redisplay();
		}
		break;
	case REC_ASK:
		ask_secrets(data, len);
		break;
	case REC_COMMANDS:
		parse_list(data, len, &in.commands, &in.ncommands);
		break;
	case REC_DONE:
		if (status != NULL) {
			*status = str_to_int(data, INT_MIN, INT_MAX, 1);
		}
		break;
	case REC_EXIT:
		if (in.installed) {
			rl_clear_visible_line();
			rl_callback_handler_remove();
			in.installed = false;
		}
		if (len > 0) {
			fputs(data, stdout);
			fputc('\n', stdout);
		}
		fflush(stdout);
		shell_exit(server.exit_status);
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
	size_t head = pg - (size_t)((uintptr_t)server.rbuf % pg);
	size_t span = RECORD_MAX + 1 > head ? RECORD_MAX + 1 - head : 0;

	span -= span % pg;
	if (len + 1 > pg && span > 0) {
		(void)madvise(server.rbuf + head, span, MADV_DONTNEED);
	}
}

/* Read one record; 0 at end of stream. */
static int
read_record(int *type, size_t *len)
{
	ssize_t n = record_recv(SHELL_FD, type, server.rbuf);

	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN) {
			*type = -1;
			return 1;
		}
		fatal("lost the connection to the server");
	}
	if (n == 0 && *type == 0) {
		return 0;
	}
	*len = (size_t)n;
	server.recs++;
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
	if (server.tail != NULL) {
		server.tail->next = p;
	} else {
		server.head = p;
	}
	server.tail = p;
}

static void
drain_queue(void)
{
	struct pending *p;

	while ((p = server.head) != NULL) {
		server.head = p->next;
		if (server.head == NULL) {
			server.tail = NULL;
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

	free_list(&in.matches, &in.nmatches);
	send_record(REC_COMPLETE, word, strlen(word));
	if (tty.out != NULL) {
		/* The keys typed so far are seen while the daemon answers. */
		fflush(tty.out);
		tty_flush();
	}
	while (now_ms() < deadline) {
		int type;
		size_t len = 0;

		if (poll(&pfd, 1, (int)(deadline - now_ms())) <= 0) {
			break;
		}
		if (!read_record(&type, &len)) {
			fatal("lost the connection to the server");
		}
		if (type == REC_COMPLETIONS) {
			parse_list(server.rbuf, len, &in.matches,
			    &in.nmatches);
			return;
		}
		if (type >= 0) {
			/* Printed after completion: the display stays sane. */
			queue_record(type, server.rbuf, len);
		}
	}
}

static char *
generate(const char *text, int state)
{
	if (state == 0) {
		in.match_pos = 0;
	}
	return words_next_match(in.matches, in.nmatches, text, &in.match_pos);
}

static char **
complete(const char *text, int start, int end)
{
	rl_attempted_completion_over = 1;
	if (start == 0) {
		free_list(&in.matches, &in.nmatches);
		in.matches = xcalloc(in.ncommands + 1, sizeof(char *));
		for (size_t i = 0; i < in.ncommands; i++) {
			in.matches[i] = xstrdup(in.commands[i]);
		}
		in.nmatches = in.ncommands;
	} else {
		/* The daemon completes from the whole line up to the cursor. */
		char *upto = xstrndup(rl_line_buffer, (size_t)end);

		fetch_users(upto);
		free(upto);
	}
	return rl_completion_matches(text, generate);
}

/*
 * Everything about readline that does not depend on the session.  The
 * zygote does it once before forking: a page a child does not write
 * stays shared, and writing a variable, even with the value it already
 * has, copies its page.
 */
void
shell_setup_readline(void)
{
	rl_readline_name = "sshchat";
	rl_change_environment = 0;	/* no LINES and COLUMNS in environ */
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	rl_attempted_completion_function = complete;
	rl_getc_function = keys_getc;
	rl_input_available_hook = keys_available;
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
	in.ready = true;
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
	struct screen_counts now;
	size_t n, erase;

	if (!tty.raw && in.installed && !server.reported.sent) {
		/* No screen to report, but the daemon holds keys until told. */
		send_record(REC_SCREEN, NULL, 0);
		server.reported.sent = true;
		return;
	}
	if (!tty.raw || !in.installed || server.logging_out ||
	    in.pos < in.len || in.eof || server.head != NULL ||
	    RL_ISSTATE(RL_STATE_MOREINPUT | RL_STATE_COMPLETING)) {
		return;
	}
	if (server.reported.sent && server.reported.in == in.read_total &&
	    server.reported.out == tty.written &&
	    server.reported.recs == server.recs &&
	    server.reported.cols == tty.cols) {
		return;
	}
	buf_append(&rec, room, sizeof(room));	/* the header goes in front */
	tty.capture = &rec;
	rl_clear_visible_line();
	erase = rec.len - sizeof(head);
	rl_on_new_line();
	rl_redisplay();
	tty.capture = NULL;
	now = (struct screen_counts){
		.in = in.read_total,
		.out = tty.written,
		.recs = server.recs,
		.cols = tty.cols,
	};
	n = screen_report_head(head, sizeof(head), &now, erase);
	if (n > 0 && rec.len - sizeof(head) + n < RECORD_MAX) {
		char *start = rec.data + sizeof(head) - n;

		memcpy(start, head, n);
		send_record(REC_SCREEN, start, rec.len - sizeof(head) + n);
		server.reported.in = in.read_total;
		server.reported.out = tty.written;
		server.reported.recs = server.recs;
		server.reported.cols = tty.cols;
		server.reported.sent = true;
	}
	buf_free(&rec);
}

/* Give readline the keys read so far, while the output has room. */
static void
feed_readline(void)
{
	do {
		rl_callback_read_char();
	} while (in.installed && in.pos < in.len && !in.eof &&
	    tty_pending() < OUT_HIGH);
	drain_queue();
	if (in.eof && in.installed) {
		shell_exit(0);
	}
}

static int
run_interactive(void)
{
	sigset_t mask;
	struct pollfd pfd[4];
	int sfd;

	tty_setup();
	tty_open_out();
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

		if (tty_pending() >= OUT_HIGH && !tty.blocked) {
			tty_flush();
		}
		full = tty_pending() >= OUT_HIGH;
		/* Keys read but not yet given to readline go first. */
		if (!full && in.installed && (in.pos < in.len || in.eof)) {
			feed_readline();
			continue;
		}
		/* Keystrokes wait until the prompt is up. */
		pfd[0].fd = in.installed && !full ? STDIN_FILENO : -1;
		pfd[1].fd = full ? -1 : SHELL_FD;
		pfd[3].fd = tty.blocked ? STDOUT_FILENO : -1;
		/*
		 * With output waiting, first see whether more is ready to be
		 * handled (more records, more keys): all of it goes out in
		 * the same write.  Only then write, and wait.
		 */
		if (tty_pending() == 0 || tty.blocked) {
			report_screen();
		}
		n = poll(pfd, 4, tty_pending() > 0 && !tty.blocked ? 0 : -1);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			fatal("poll failed");
		}
		if (n == 0) {
			tty_flush();
			continue;
		}
		if (pfd[3].revents != 0) {
			tty_flush();
		}
		if (pfd[2].revents & POLLIN) {
			struct signalfd_siginfo si;

			(void)!read(sfd, &si, sizeof(si));
			tty_note_size();
			if (in.installed) {
				rl_resize_terminal();
			} else {
				rl_reset_screen_size();
			}
		}
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (!read_record(&type, &len)) {
				fatal("the server closed the session");
			}
			if (type >= 0) {
				handle_record(type, server.rbuf, len, NULL);
				release_rbuf(len);
			}
		}
		if (in.installed &&
		    (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			/* Everything read so far, not one key per poll. */
			if (keys_read() || in.eof) {
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
			handle_record(type, server.rbuf, len, &status);
			return status;
		}
		if (type >= 0) {
			handle_record(type, server.rbuf, len, &status);
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

	while (keys_read_line(&line, in.max_line, &too_long)) {
		if (too_long) {
			fprintf(stderr, ERR_LINE_DISCARDED "\n", in.max_line);
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
	server.exit_status = status;
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
	tty_drain();
	snprintf(st, sizeof(st), "%d", status);
	(void)record_send(SHELL_FD, REC_STATUS, st, strlen(st));
	exit(status);
}

/* The shell proper, once fds 0-3 and the environment are in place. */
void
shell_run(const char *command)
{
	int status;

	if (server.rbuf == NULL) {
		server.rbuf = xmalloc(RECORD_MAX + 1);
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
}

void
shell_init(void)
{
	fatal_setup("sshchat-shell", fatal_cleanup, shell_exit);
	in.keys = xmalloc(KEYS_SIZE);
}

void
shell_set_term(const char *name)
{
	tty.name = name;
}

void
shell_set_max_line(const char *text)
{
	in.max_line = (size_t)strtoul(text, NULL, 10);
	if (in.max_line == 0 || in.max_line >= RECORD_MAX) {
		in.max_line = RECORD_MAX - 1;
	}
}

void
shell_load_term(const char *name)
{
	rl_reset_terminal(name);
	tty.loaded = name;
}

const char *
shell_loaded_term(void)
{
	return tty.loaded;
}

void
shell_prime_readline(void)
{
	rl_callback_handler_install("", on_line);
	rl_callback_handler_remove();
}

char *
shell_renew_rbuf(void)
{
	char *old = server.rbuf;

	server.rbuf = xmalloc(RECORD_MAX + 1);
	return old;
}
