/*
 * sshchatctl's interactive console: readline (callback interface) with
 * the history in ~/.sshchatctl_history, completion asked of the daemon
 * (commands and user names), Ctrl-C dropping the line, and what the
 * daemon says unasked (it is closing) shown above the prompt.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "record.h"
#include "sshchatctl.h"
#include "util.h"

#define PROMPT "sshchatctl> "
#define HISTORY_FILE ".sshchatctl_history"
#define HISTORY_SIZE 1000

static int console_status;
static char **matches;
static size_t nmatches;

/* Completion: the daemon knows the commands and the users. */

static void
free_matches(void)
{
	for (size_t i = 0; i < nmatches; i++) {
		free(matches[i]);
	}
	free(matches);
	matches = NULL;
	nmatches = 0;
}

static void
add_match(const char *word)
{
	matches = xrealloc(matches, (nmatches + 1) * sizeof(*matches));
	matches[nmatches++] = xstrdup(word);
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
	int type;
	size_t n;
	int first = 0;

	rl_attempted_completion_over = 1;
	free_matches();
	if (!send_record(REC_COMPLETE, rl_line_buffer, (size_t)end)) {
		return NULL;
	}
	while (recv_record(&type, &n)) {
		if (type != REC_COMPLETIONS) {
			continue;
		}
		for (size_t off = 0; off < n;) {
			size_t l = strnlen(rbuf + off, n - off);

			if (l > 0) {
				add_match(rbuf + off);
			}
			off += l + 1;
		}
		break;
	}
	while (first < start && (rl_line_buffer[first] == ' ' ||
	    rl_line_buffer[first] == '\t')) {
		first++;
	}
	if (first == start) {
		add_match("exit");
		add_match("quit");
	}
	return rl_completion_matches(text, generate);
}

static void
on_line(char *line)
{
	int rc;

	if (line == NULL) {
		/* Ctrl-D on an empty line; readline has ended the line. */
		rl_callback_handler_remove();
		rl_installed = false;
		quitting = true;
		return;
	}
	if (is_blank_line(line)) {
		free(line);
		return;
	}
	if (history_length == 0 ||
	    strcmp(history_get(history_base + history_length - 1)->line,
	    line) != 0) {
		add_history(line);
	}
	if (is_quit(line)) {
		rl_callback_handler_remove();
		rl_installed = false;
		quitting = true;
		free(line);
		return;
	}
	rc = run_command(line, strlen(line));
	free(line);
	if (rc < 0) {
		rl_callback_handler_remove();
		rl_installed = false;
		quitting = true;
		console_status = 1;
	}
	/* A Ctrl-C typed while the command ran is not for the next line. */
	got_sigint = 0;
	drain_sig_pipe();
}

static char *
history_path(void)
{
	const char *home = getenv("HOME");

	if (home == NULL || home[0] == '\0') {
		return NULL;
	}
	return xasprintf("%s/%s", home, HISTORY_FILE);
}

int
console(void)
{
	char *hist = history_path();
	struct pollfd pfd[3];

	if (tcgetattr(STDIN_FILENO, &console_termios) == 0) {
		console_saved = 1;
	}
	rl_readline_name = "sshchatctl";
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	rl_attempted_completion_function = complete;
	rl_completer_word_break_characters = (char *)" \t";
	using_history();
	stifle_history(HISTORY_SIZE);
	if (hist != NULL) {
		read_history(hist);
	}
	rl_callback_handler_install(PROMPT, on_line);
	rl_installed = true;
	while (!quitting) {
		pfd[0].fd = STDIN_FILENO;
		pfd[0].events = POLLIN;
		pfd[1].fd = sock;
		pfd[1].events = POLLIN;
		pfd[2].fd = sig_pipe[0];
		pfd[2].events = POLLIN;
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR) {
				continue;
			}
			fatal("poll: %s", strerror(errno));
		}
		if (pfd[2].revents != 0) {
			drain_sig_pipe();
			if (got_sigwinch) {
				got_sigwinch = 0;
				rl_resize_terminal();
			}
			if (got_sigint) {
				/* Ctrl-C: drop the line, start a fresh one. */
				got_sigint = 0;
				rl_echo_signal_char(SIGINT);
				rl_replace_line("", 0);
				rl_point = rl_end = 0;
				rl_crlf();
				rl_on_new_line();
				rl_redisplay();
			}
		}
		if (pfd[1].revents != 0) {
			/* The daemon says nothing unasked: it is closing. */
			int type;
			size_t n;

			rl_clear_visible_line();
			if (recv_record(&type, &n)) {
				if (type == REC_TEXT) {
					print_payload(stdout, rbuf, n);
				} else if (type == REC_ERROR) {
					print_payload(stderr, rbuf, n);
				}
				rl_on_new_line();
				rl_redisplay();
			} else {
				rl_callback_handler_remove();
				rl_installed = false;
				console_status = 1;
				break;
			}
		}
		if (pfd[0].revents != 0 && !quitting) {
			rl_callback_read_char();
		}
	}
	if (rl_installed) {
		rl_callback_handler_remove();
		rl_installed = false;
	}
	if (hist != NULL) {
		write_history(hist);
		free(hist);
	}
	free_matches();
	restore_terminal();
	if (!lost) {
		send_record(REC_LOGOUT, NULL, 0);
	}
	return console_status;
}
