/*
 * sshchat-client: the example client of the original project, in C.  The
 * user types the original dialogue (Login <user> <password>, msg, logout)
 * at a local readline prompt; Login opens an SSH connection with libssh
 * and every later line goes to the server's chat shell as it was typed.
 *
 * The shell runs on a pseudo-terminal, because sshchatd delivers messages
 * only to sessions that have one.  The terminal is a vt100 so wide that
 * no line wraps, and the shell is asked for no colour, so its readline
 * draws only its prompt, the echo of each line and a few line-editing
 * sequences.  This file replays that output into one line of screen,
 * drops the prompt and echo lines, and prints what remains above the
 * local prompt without disturbing the half-typed line.
 *
 * It must never put a password into the readline history or print one;
 * it must not print a byte from the server that could drive the local
 * terminal (escape sequences are dropped with the other controls).
 */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <libssh/libssh.h>
#include <readline/history.h>
#include <readline/readline.h>

#include "messages.h"

#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_PORT 2222
#define KNOWN_HOSTS_NAME ".sshchat_known_hosts"
#define CONNECT_TIMEOUT 10  /* seconds for connect and key exchange */
#define LOGOUT_WAIT_MS 5000 /* how long logout waits for the goodbye */
#define NAME_MAX_LEN 64
#define SECRET_MAX 1024
/*
 * The server's terminal: a vt100 (on a "dumb" one readline takes time
 * quadratic in the length of a line: seconds for a few thousand bytes),
 * as wide as sshchatd allows, so that the shell never wraps a line,
 * which would take a screen of rows to follow.
 */
#define SERVER_TERM "vt100"
#define SERVER_COLS 9999
#define SERVER_ROWS 24
/* The longest line sent: it and the shell's prompt fit on one row. */
#define SEND_MAX (SERVER_COLS - NAME_MAX_LEN - 8)
#define LINE_CAP (256 * 1024) /* longest server line kept */

/* What this client itself says; the server's strings are in messages.h. */
#define CL_PROMPT "> "
#define CL_LOGGED_IN "Logged in as %s"
#define CL_LOGGED_OUT "Logged out."
#define CL_CLOSED "The server closed the session."
#define CL_LOST "Connection lost: %s"
#define CL_LOGIN_FAILED "Login failed: %s"
#define CL_ALREADY "Already logged in as %s; type 'logout' first."
#define CL_NOT_LOGGED_IN "Not logged in; type 'Login <user> <password>'."
#define CL_LOGIN_USAGE "usage: Login <user> [password]"
#define CL_NO_SECRETS "'%s' asks for passwords; use ssh for it."
#define CL_TOO_LONG "error: line too long (at most %d bytes)"
#define CL_PASSWORD_PROMPT "Password: "
#define CL_KEY_ADDED "Warning: added the host key of %s (%s) to %s."
#define CL_KEY_CHANGED                                                         \
	"the host key of %s has changed (it is now %s). "                      \
	"Someone may be intercepting the connection, or the server got a "     \
	"new key; if you trust the new key, delete the line for %s in %s."
#define CL_HELP                                                                \
	"Login <user> [password]   connect and log in (no password: asked)\n"  \
	"msg <user> <text>         send a message (once logged in)\n"          \
	"logout                    log out; Ctrl-D logs out and quits"

/* Where screen_feed is in an escape sequence. */
enum esc_state {
	ESC_NONE,
	ESC_START,  /* after ESC */
	ESC_INTER,  /* ESC and intermediate bytes, such as ESC ( B */
	ESC_CSI,    /* ESC [ and parameters */
	ESC_STRING, /* ESC ] ... up to BEL or ESC \ */
};

/* One line of the server's terminal, replayed from its output bytes. */
struct screen_line {
	char *buf;
	size_t len; /* bytes on the line */
	size_t cur; /* cursor column, in bytes */
	enum esc_state esc;
	unsigned param; /* the first CSI parameter */
	bool bell;	/* the line rang the bell */
};

/* A line typed but not yet sent, because the shell is not ready for it. */
struct pending_line {
	struct pending_line *next;
	char text[];
};

struct conn {
	ssh_session ssh;
	ssh_channel chan;
	char user[NAME_MAX_LEN + 1];
	char shell_prompt[NAME_MAX_LEN + 8];
	struct screen_line out, err;
	/*
	 * One line is sent at a time: the next when the shell has echoed
	 * the last one and shown its prompt again.  Bytes that reach it
	 * earlier may be echoed without the prompt that marks an echo
	 * here: by the terminal itself before the shell's readline starts,
	 * and by the shell when several lines arrive at once.
	 */
	bool ready;
	bool awaiting_echo;
	char *echo;	  /* the shell's prompt and the last line sent */
	bool logging_out; /* the end of the session is expected */
	struct pending_line *queue, **queue_tail;
};

static const char *host = DEFAULT_HOST;
static unsigned int port = DEFAULT_PORT;
static bool accept_any_key;
static char *known_hosts; /* file name, NULL with -k */
static struct conn *conn; /* the session, NULL when logged out */
static bool installed;	  /* the readline handler is installed */
static bool in_handler;	  /* inside on_line: no redraw needed */
static bool quitting;
static bool reading_key; /* inside rl_callback_read_char */
static bool have_termios;
static struct termios saved_termios;
static volatile sig_atomic_t got_signal;
static volatile sig_atomic_t got_winch;

static void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);

	if (q == NULL) {
		fputs("sshchat-client: out of memory\n", stderr);
		exit(1);
	}
	return q;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print one line above the prompt and the half-typed line, then redraw. */
static void
say(const char *fmt, ...)
{
	bool redraw = installed && !in_handler;
	va_list ap;

	if (redraw) {
		rl_clear_visible_line();
	}
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	if (redraw) {
		rl_on_new_line();
		rl_redisplay();
	}
}

static bool
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * Is line the shell's echo of the last line sent?  It is the prompt and
 * the line; or, when that is wider than the terminal, readline's
 * horizontal-scroll form: '<' and the end of it.  (A room line, "<bob>
 * hi", starts with '<' too, so the rest must match.)
 */
static bool
is_echo(const struct conn *c, const char *line)
{
	size_t n, e;

	if (starts_with(line, c->shell_prompt)) {
		return true;
	}
	if (line[0] != '<' || c->echo == NULL) {
		return false;
	}
	n = strlen(line + 1);
	e = strlen(c->echo);
	while (e > 0 && c->echo[e - 1] == ' ') {
		e--;
	}
	return n > 0 && n <= e && memcmp(c->echo + e - n, line + 1, n) == 0;
}

/* A finished line of server output: print it, unless it is an echo. */
static void
server_line(struct conn *c, const char *line, bool bell, bool is_stderr)
{
	if (!is_stderr && is_echo(c, line)) {
		c->awaiting_echo = false;
		return;
	}
	say("%s%s", line, bell ? "\a" : "");
}

static void
screen_commit(struct conn *c, struct screen_line *sl, bool is_stderr)
{
	while (sl->len > 0 && sl->buf[sl->len - 1] == ' ') {
		sl->len--;
	}
	if (sl->buf == NULL) {
		sl->buf = xrealloc(NULL, 1);
	}
	sl->buf[sl->len] = '\0';
	server_line(c, sl->buf, sl->bell, is_stderr);
	sl->len = sl->cur = 0;
	sl->bell = false;
}

/* Put byte ch under the cursor, filling any gap with spaces. */
static void
screen_put(struct screen_line *sl, char ch)
{
	if (sl->cur >= LINE_CAP) {
		return;
	}
	if (sl->cur >= sl->len) {
		sl->buf = xrealloc(sl->buf, sl->cur + 2);
		memset(sl->buf + sl->len, ' ', sl->cur - sl->len);
		sl->len = sl->cur + 1;
	}
	sl->buf[sl->cur++] = ch;
}

/*
 * The CSI sequences readline uses on one line: erase in line, cursor
 * forward, back and to a column.  The rest (modes, colours) change
 * nothing here.
 */
static void
screen_csi(struct screen_line *sl, unsigned char final)
{
	size_t n = sl->param > 0 ? sl->param : 1;

	switch (final) {
	case 'K':
		if (sl->param == 0) {
			if (sl->len > sl->cur) {
				sl->len = sl->cur;
			}
		} else if (sl->param == 1) {
			for (size_t i = 0; i <= sl->cur && i < sl->len; i++) {
				sl->buf[i] = ' ';
			}
		} else {
			sl->len = 0;
		}
		break;
	case 'C':
		sl->cur = sl->cur + n < LINE_CAP ? sl->cur + n : LINE_CAP;
		break;
	case 'D':
		sl->cur = sl->cur > n ? sl->cur - n : 0;
		break;
	case 'G':
		sl->cur = n - 1 < LINE_CAP ? n - 1 : LINE_CAP;
		break;
	default:
		break;
	}
}

/*
 * Replay output bytes: '\r' returns to the start of the line, '\b' moves
 * back, '\n' ends the line, other bytes overwrite what is under the
 * cursor, and the CSI sequences of screen_csi() act.  A bell is kept for
 * the line; other escape sequences and controls are dropped.
 */
static void
screen_feed(struct conn *c, struct screen_line *sl, const char *data, size_t n,
    bool is_stderr)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)data[i];

		switch (sl->esc) {
		case ESC_NONE:
			break;
		case ESC_START:
			sl->param = 0;
			if (ch == '[') {
				sl->esc = ESC_CSI;
			} else if (ch == ']') {
				sl->esc = ESC_STRING;
			} else if (ch >= 0x20 && ch <= 0x2f) {
				sl->esc = ESC_INTER;
			} else {
				sl->esc = ESC_NONE;
			}
			continue;
		case ESC_INTER:
			if (ch < 0x20 || ch > 0x2f) {
				sl->esc = ESC_NONE;
			}
			continue;
		case ESC_CSI:
			if (ch >= '0' && ch <= '9') {
				if (sl->param < 100000) {
					sl->param = sl->param * 10 + (ch - '0');
				}
			} else if (ch >= 0x40 && ch <= 0x7e) {
				screen_csi(sl, ch);
				sl->esc = ESC_NONE;
			}
			continue;
		case ESC_STRING:
			if (ch == '\a' || ch == '\\') {
				sl->esc = ESC_NONE;
			}
			continue;
		}
		switch (ch) {
		case '\033':
			sl->esc = ESC_START;
			break;
		case '\r':
			sl->cur = 0;
			break;
		case '\b':
			if (sl->cur > 0) {
				sl->cur--;
			}
			break;
		case '\n':
			screen_commit(c, sl, is_stderr);
			break;
		case '\a':
			sl->bell = true;
			break;
		default:
			if (ch >= 0x20 && ch != 0x7f) {
				screen_put(sl, (char)ch);
			}
			break;
		}
	}
}

/* At the end of a session: print a last line that had no newline. */
static void
screen_flush(struct conn *c, struct screen_line *sl, bool is_stderr)
{
	while (sl->len > 0 && sl->buf[sl->len - 1] == ' ') {
		sl->len--;
	}
	if (sl->len > 0) {
		screen_commit(c, sl, is_stderr);
	}
	free(sl->buf);
	sl->buf = NULL;
	sl->len = sl->cur = 0;
}

static bool shell_prompt_shown(const struct conn *c);
static bool pump(void);

static void
conn_free(struct conn *c)
{
	if (c == NULL) {
		return;
	}
	while (c->queue != NULL) {
		struct pending_line *p = c->queue;

		c->queue = p->next;
		explicit_bzero(p->text, strlen(p->text));
		free(p);
	}
	if (c->chan != NULL) {
		if (ssh_channel_is_open(c->chan)) {
			ssh_channel_close(c->chan);
		}
		ssh_channel_free(c->chan);
	}
	if (c->ssh != NULL) {
		if (ssh_is_connected(c->ssh)) {
			ssh_disconnect(c->ssh);
		}
		ssh_free(c->ssh);
	}
	free(c->out.buf);
	free(c->err.buf);
	if (c->echo != NULL) {
		explicit_bzero(c->echo, strlen(c->echo));
		free(c->echo);
	}
	free(c);
}

/* End the session; why is printed unless it is NULL. */
static void
conn_end(const char *why)
{
	screen_flush(conn, &conn->out, false);
	screen_flush(conn, &conn->err, true);
	conn_free(conn);
	conn = NULL;
	if (why != NULL) {
		say("%s", why);
	}
}

/*
 * Read everything the server has sent on both streams.  Returns false
 * once the session is over (conn is then NULL), after saying why.
 */
static bool
drain(void)
{
	char buf[4096];
	bool got_out = false;

	for (;;) {
		bool got = false;

		for (int is_err = 0; is_err < 2; is_err++) {
			int n = ssh_channel_read_nonblocking(
			    conn->chan, buf, sizeof(buf), is_err);

			if (n == SSH_ERROR) {
				char why[512];

				snprintf(why, sizeof(why), CL_LOST,
				    ssh_get_error(conn->ssh));
				conn_end(why);
				return false;
			}
			if (n > 0) {
				screen_feed(conn,
				    is_err ? &conn->err : &conn->out, buf,
				    (size_t)n, is_err);
				got = true;
				got_out = got_out || !is_err;
			}
		}
		if (!got) {
			break;
		}
	}
	if (ssh_channel_is_eof(conn->chan) ||
	    ssh_channel_is_closed(conn->chan) || !ssh_is_connected(conn->ssh)) {
		conn_end(conn->logging_out ? NULL : CL_CLOSED);
		return false;
	}
	/* Only a prompt drawn after the echo of the last line says "ready". */
	if (got_out && !conn->awaiting_echo && shell_prompt_shown(conn)) {
		conn->ready = true;
	}
	return pump();
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Is the shell's prompt, and nothing else, on its current line? */
static bool
shell_prompt_shown(const struct conn *c)
{
	size_t n = strlen(c->shell_prompt);

	return c->out.len == n && c->out.cur == n &&
	    memcmp(c->out.buf, c->shell_prompt, n) == 0;
}

/*
 * Send the first queued line if the shell is ready for it; false if the
 * session ended.
 */
static bool
pump(void)
{
	struct pending_line *p = conn->queue;
	size_t n;
	int rc;

	if (p == NULL || !conn->ready) {
		return true;
	}
	conn->queue = p->next;
	if (conn->queue == NULL) {
		conn->queue_tail = &conn->queue;
	}
	conn->ready = false;
	conn->awaiting_echo = true;
	if (conn->echo != NULL) {
		explicit_bzero(conn->echo, strlen(conn->echo));
		free(conn->echo);
	}
	n = strlen(conn->shell_prompt) + strlen(p->text) + 1;
	conn->echo = xrealloc(NULL, n);
	snprintf(conn->echo, n, "%s%s", conn->shell_prompt, p->text);
	conn->echo[strlen(conn->echo) - 1] = '\0'; /* the newline */
	rc = ssh_channel_write(conn->chan, p->text, (uint32_t)strlen(p->text));
	explicit_bzero(p->text, strlen(p->text));
	free(p);
	if (rc == SSH_ERROR) {
		char why[512];

		snprintf(why, sizeof(why), CL_LOST, ssh_get_error(conn->ssh));
		conn_end(why);
		return false;
	}
	return true;
}

/* Queue one line for the shell, as typed; false if the session ended. */
static bool
send_line(const char *line)
{
	size_t len = strlen(line);
	struct pending_line *p = xrealloc(NULL, sizeof(*p) + len + 2);
	size_t n = 0;

	/*
	 * The remote readline would take a control byte for an editing key
	 * (a tab asks for completions): send a space for a tab, drop the rest.
	 */
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];

		if (ch == '\t') {
			p->text[n++] = ' ';
		} else if (ch >= 0x20 && ch != 0x7f) {
			p->text[n++] = (char)ch;
		}
	}
	if (n == 0) {
		free(p);
		return true;
	}
	p->text[n++] = '\n';
	p->text[n] = '\0';
	p->next = NULL;
	*conn->queue_tail = p;
	conn->queue_tail = &p->next;
	return pump() && drain();
}

/* Log out and wait (bounded) for the server's goodbye and close. */
static void
do_logout(void)
{
	long long deadline = now_ms() + LOGOUT_WAIT_MS;

	conn->logging_out = true;
	if (!send_line("logout")) {
		say(CL_LOGGED_OUT);
		return;
	}
	while (conn != NULL) {
		struct pollfd pfd = {
		    .fd = ssh_get_fd(conn->ssh), .events = POLLIN};
		long long left = deadline - now_ms();

		if (left <= 0) {
			conn_end(NULL);
			break;
		}
		if (poll(&pfd, 1, (int)(left < 100 ? left : 100)) < 0 &&
		    errno != EINTR) {
			conn_end(NULL);
			break;
		}
		if (!drain()) {
			break;
		}
	}
	say(CL_LOGGED_OUT);
}

static char *
key_fingerprint(ssh_session ssh)
{
	ssh_key key = NULL;
	unsigned char *hash = NULL;
	size_t hlen = 0;
	char *fp = NULL;

	if (ssh_get_server_publickey(ssh, &key) != SSH_OK) {
		return NULL;
	}
	if (ssh_get_publickey_hash(
		key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == 0) {
		fp = ssh_get_fingerprint_hash(
		    SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
		ssh_clean_pubkey_hash(&hash);
	}
	ssh_key_free(key);
	return fp;
}

/*
 * Trust on first use: a key we have not seen is recorded, a key that
 * differs from the recorded one ends the login.  Returns false after
 * saying why.
 */
static bool
check_host_key(ssh_session ssh)
{
	enum ssh_known_hosts_e st;
	char where[300], *fp;
	bool ok = false;

	if (accept_any_key) {
		return true;
	}
	if (port == 22) {
		snprintf(where, sizeof(where), "%s", host);
	} else {
		snprintf(where, sizeof(where), "[%s]:%u", host, port);
	}
	fp = key_fingerprint(ssh);
	st = ssh_session_is_known_server(ssh);
	switch (st) {
	case SSH_KNOWN_HOSTS_OK:
		ok = true;
		break;
	case SSH_KNOWN_HOSTS_NOT_FOUND:
	case SSH_KNOWN_HOSTS_UNKNOWN:
		if (ssh_session_update_known_hosts(ssh) != SSH_OK) {
			char why[700];

			snprintf(why, sizeof(why),
			    "cannot record the host "
			    "key in %s: %s",
			    known_hosts, ssh_get_error(ssh));
			say(CL_LOGIN_FAILED, why);
			break;
		}
		say(CL_KEY_ADDED, where, fp != NULL ? fp : "?", known_hosts);
		ok = true;
		break;
	case SSH_KNOWN_HOSTS_CHANGED:
	case SSH_KNOWN_HOSTS_OTHER: {
		char why[1200];

		snprintf(why, sizeof(why), CL_KEY_CHANGED, where,
		    fp != NULL ? fp : "?", where, known_hosts);
		say(CL_LOGIN_FAILED, why);
		break;
	}
	case SSH_KNOWN_HOSTS_ERROR:
	default: {
		char why[700];

		snprintf(why, sizeof(why),
		    "cannot check the host key "
		    "against %s: %s",
		    known_hosts, ssh_get_error(ssh));
		say(CL_LOGIN_FAILED, why);
		break;
	}
	}
	ssh_string_free_char(fp);
	return ok;
}

/* Set the options of a new session; false after saying why. */
static bool
configure(ssh_session ssh, const char *user)
{
	long timeout = CONNECT_TIMEOUT;
	int no = 0;

	if (ssh_options_set(ssh, SSH_OPTIONS_HOST, host) < 0 ||
	    ssh_options_set(ssh, SSH_OPTIONS_PORT, &port) < 0 ||
	    ssh_options_set(ssh, SSH_OPTIONS_USER, user) < 0 ||
	    ssh_options_set(ssh, SSH_OPTIONS_TIMEOUT, &timeout) < 0 ||
	    ssh_options_set(ssh, SSH_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
	    (known_hosts != NULL &&
		ssh_options_set(ssh, SSH_OPTIONS_KNOWNHOSTS, known_hosts) <
		    0)) {
		char why[512];

		snprintf(why, sizeof(why), "bad connection options: %s",
		    ssh_get_error(ssh));
		say(CL_LOGIN_FAILED, why);
		return false;
	}
	return true;
}

/*
 * Colour codes would be dropped anyway, but plain lines are shorter.  A
 * server that refuses the variable is no reason to fail.
 */
static bool
ask_no_color(ssh_channel chan)
{
	(void)ssh_channel_request_env(chan, "NO_COLOR", "1");
	return true;
}

/* Connect, check the key, authenticate and start the shell. */
static void
do_login(const char *user, const char *password)
{
	struct conn *c;
	char why[700];
	int rc;

	c = xrealloc(NULL, sizeof(*c));
	memset(c, 0, sizeof(*c));
	snprintf(c->user, sizeof(c->user), "%s", user);
	snprintf(c->shell_prompt, sizeof(c->shell_prompt), MSG_PROMPT, user);
	c->queue_tail = &c->queue;
	if ((c->ssh = ssh_new()) == NULL) {
		say(CL_LOGIN_FAILED, "cannot create an SSH session");
		free(c);
		return;
	}
	if (!configure(c->ssh, user)) {
		conn_free(c);
		return;
	}
	if (ssh_connect(c->ssh) != SSH_OK) {
		snprintf(why, sizeof(why), "cannot connect to %s port %u: %s",
		    host, port, ssh_get_error(c->ssh));
		say(CL_LOGIN_FAILED, why);
		conn_free(c);
		return;
	}
	if (!check_host_key(c->ssh)) {
		conn_free(c);
		return;
	}
	rc = ssh_userauth_password(c->ssh, NULL, password);
	if (rc != SSH_AUTH_SUCCESS) {
		if (rc == SSH_AUTH_DENIED || rc == SSH_AUTH_PARTIAL) {
			snprintf(why, sizeof(why),
			    "wrong user name or "
			    "password for %s",
			    user);
		} else {
			snprintf(why, sizeof(why), "%s", ssh_get_error(c->ssh));
		}
		say(CL_LOGIN_FAILED, why);
		conn_free(c);
		return;
	}
	if ((c->chan = ssh_channel_new(c->ssh)) == NULL ||
	    ssh_channel_open_session(c->chan) != SSH_OK ||
	    ssh_channel_request_pty_size(
		c->chan, SERVER_TERM, SERVER_COLS, SERVER_ROWS) != SSH_OK ||
	    !ask_no_color(c->chan) ||
	    ssh_channel_request_shell(c->chan) != SSH_OK) {
		snprintf(why, sizeof(why), "cannot start the chat shell: %s",
		    ssh_get_error(c->ssh));
		say(CL_LOGIN_FAILED, why);
		conn_free(c);
		return;
	}
	conn = c;
	say(CL_LOGGED_IN, user);
	drain();
}

/* Read a password a byte at a time, with the terminal's echo off. */
static bool
read_password(char *pw, size_t size)
{
	struct termios old, quiet;
	bool tty = tcgetattr(STDIN_FILENO, &old) == 0;
	bool ok = false;
	size_t n = 0;

	if (tty) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ICANON);
		quiet.c_cc[VMIN] = 1;
		quiet.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
	}
	fputs(CL_PASSWORD_PROMPT, stdout);
	fflush(stdout);
	for (;;) {
		char ch;
		ssize_t r = read(STDIN_FILENO, &ch, 1);

		if (r < 0 && errno == EINTR && !got_signal) {
			continue;
		}
		if (r <= 0 || ch == 3 || ch == 4) {
			break;
		}
		if (ch == '\r' || ch == '\n') {
			ok = true;
			break;
		}
		if (ch == 0x7f || ch == '\b') {
			if (n > 0) {
				n--;
			}
		} else if (ch == 0x15) {
			n = 0;
		} else if (n + 1 < size) {
			pw[n++] = ch;
		}
	}
	pw[n] = '\0';
	if (!ok) {
		explicit_bzero(pw, size);
	}
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSANOW, &old);
	}
	fputc('\n', stdout);
	fflush(stdout);
	return ok;
}

/* "Login <user> [password]": everything after the user is the password. */
static void
cmd_login(char *args)
{
	char user[NAME_MAX_LEN + 1], pw[SECRET_MAX];
	size_t ulen;

	args += strspn(args, " \t");
	ulen = strcspn(args, " \t");
	if (ulen == 0 || ulen > NAME_MAX_LEN) {
		say(CL_LOGIN_USAGE);
		return;
	}
	memcpy(user, args, ulen);
	user[ulen] = '\0';
	args += ulen;
	args += strspn(args, " \t");
	if (*args != '\0') {
		snprintf(pw, sizeof(pw), "%s", args);
	} else if (!read_password(pw, sizeof(pw))) {
		return;
	}
	do_login(user, pw);
	explicit_bzero(pw, sizeof(pw));
}

static bool
is_word(const char *line, const char *word)
{
	size_t n = strlen(word);

	return strncasecmp(line, word, n) == 0 &&
	    (line[n] == '\0' || line[n] == ' ' || line[n] == '\t');
}

static void
handle_line(char *line)
{
	char *p = line + strspn(line, " \t");

	if (*p == '\0') {
		return;
	}
	if (is_word(p, "login")) {
		if (conn != NULL) {
			say(CL_ALREADY, conn->user);
		} else {
			cmd_login(p + 5);
		}
		return;
	}
	if (!is_word(p, "passwd") && !is_word(p, "useradd")) {
		add_history(line);
	}
	if (conn == NULL) {
		if (is_word(p, "help")) {
			say("%s", CL_HELP);
		} else {
			say(CL_NOT_LOGGED_IN);
		}
		return;
	}
	if (is_word(p, "logout")) {
		do_logout();
		return;
	}
	/* These read passwords from the terminal, which we do not relay. */
	if (is_word(p, "passwd") || is_word(p, "useradd")) {
		p[strcspn(p, " \t")] = '\0';	/* the command's name */
		say(CL_NO_SECRETS, p);
		return;
	}
	if (strlen(line) > SEND_MAX) {
		say(CL_TOO_LONG, SEND_MAX);
		return;
	}
	send_line(line);
}

/*
 * Whether readline ended the line itself at end of input: giving back
 * the terminal does, when it had turned on bracketed paste, which it
 * does on a terminal only.
 */
static bool
eof_newline_drawn(void)
{
	const char *bp = rl_variable_value("enable-bracketed-paste");

	return isatty(STDIN_FILENO) && bp != NULL && strcmp(bp, "on") == 0;
}

static void
on_line(char *line)
{
	in_handler = true;
	if (line == NULL) {
		/*
		 * Ctrl-D on an empty line.  Removing the handler stops
		 * readline drawing a new prompt; giving back the terminal
		 * ends the line (see eof_newline_drawn).
		 */
		rl_callback_handler_remove();
		installed = false;
		rl_deprep_terminal();
		if (!eof_newline_drawn()) {
			fputc('\n', stdout);
		}
		if (conn != NULL) {
			do_logout();
		}
		quitting = true;
	} else {
		handle_line(line);
		/* The line may hold a password: leave none behind. */
		explicit_bzero(line, strlen(line));
		if (rl_line_buffer != NULL) {
			explicit_bzero(rl_line_buffer, strlen(rl_line_buffer));
		}
		free(line);
	}
	in_handler = false;
}

/* Ctrl-C: throw the line away, as the chat shell does. */
static int
clear_line(int count, int key)
{
	(void)count;
	(void)key;
	rl_replace_line("", 1);
	rl_point = rl_end = 0;
	rl_redisplay();
	return 0;
}

static void
on_signal(int sig)
{
	if (sig == SIGWINCH) {
		got_winch = 1;
	} else {
		got_signal = sig;
	}
}

/*
 * readline's callback interface gives the terminal back its cooked mode
 * while the line handler runs, and the handler here can run long (a
 * Login waits for the server): keys typed meanwhile would be echoed by
 * the terminal and a Ctrl-D taken for end of file and lost.  So that
 * one give-back is skipped, and the terminal stays raw until exit.
 */
static void
deprep_unless_reading(void)
{
	if (!reading_key) {
		rl_deprep_terminal();
	}
}

static void
setup_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: poll() must return to notice. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* Ctrl-C, Ctrl-\ and Ctrl-Z are keys here, not signals. */
static void
setup_terminal(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &t) != 0) {
		return;
	}
	saved_termios = t;
	have_termios = true;
	t.c_cc[VINTR] = _POSIX_VDISABLE;
	t.c_cc[VQUIT] = _POSIX_VDISABLE;
	t.c_cc[VSUSP] = _POSIX_VDISABLE;
	tcsetattr(STDIN_FILENO, TCSANOW, &t);
}

static void
restore_terminal(void)
{
	if (installed) {
		rl_callback_handler_remove();
		installed = false;
	}
	/* Undoes bracketed paste and the rest, if the handler left it on. */
	rl_deprep_terminal();
	if (have_termios) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
	}
}

static char *
known_hosts_path(void)
{
	const char *home = getenv("HOME");
	size_t n;
	char *path;

	if (home == NULL || *home == '\0') {
		fputs("sshchat-client: HOME is not set, so there is no place "
		      "for " KNOWN_HOSTS_NAME "; set HOME or use -k\n",
		    stderr);
		exit(1);
	}
	n = strlen(home) + sizeof(KNOWN_HOSTS_NAME) + 1;
	path = xrealloc(NULL, n);
	snprintf(path, n, "%s/%s", home, KNOWN_HOSTS_NAME);
	return path;
}

static void
usage(void)
{
	fputs("usage: sshchat-client [-k] [-p port] [host]\n", stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	int ch, status = 0;

	while ((ch = getopt(argc, argv, "kp:")) != -1) {
		switch (ch) {
		case 'k':
			accept_any_key = true;
			break;
		case 'p': {
			char *end;
			long v;

			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v < 1 || v > 65535) {
				fprintf(stderr,
				    "sshchat-client: bad port "
				    "'%s' (1-65535)\n",
				    optarg);
				exit(2);
			}
			port = (unsigned int)v;
			break;
		}
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1) {
		usage();
	}
	if (argc == 1) {
		host = argv[0];
	}
	if (!accept_any_key) {
		known_hosts = known_hosts_path();
	}
	(void)setlocale(LC_ALL, "");	/* else the C locale: still usable */
	if (ssh_init() != SSH_OK) {
		fputs("sshchat-client: cannot initialise libssh\n", stderr);
		return 1;
	}
	setup_signals();
	setup_terminal();
	rl_readline_name = "sshchat-client";
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	rl_bind_key(3, clear_line);
	rl_deprep_term_function = deprep_unless_reading;
	stifle_history(500);
	rl_callback_handler_install(CL_PROMPT, on_line);
	installed = true;
	while (!quitting && !got_signal) {
		struct pollfd pfd[2] = {
		    {.fd = STDIN_FILENO, .events = POLLIN},
		    {.fd = conn != NULL ? ssh_get_fd(conn->ssh) : -1,
			.events = POLLIN},
		};
		/* libssh may hold data already read off the socket. */
		int wait = conn != NULL ? 500 : -1;

		if (poll(pfd, 2, wait) < 0) {
			if (errno != EINTR) {
				perror("sshchat-client: poll");
				status = 1;
				break;
			}
		}
		if (got_winch) {
			got_winch = 0;
			rl_resize_terminal();
		}
		if (conn != NULL) {
			drain();
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			reading_key = true;
			rl_callback_read_char();
			reading_key = false;
		}
	}
	if (got_signal && conn != NULL) {
		rl_clear_visible_line();
		rl_callback_handler_remove();
		installed = false;
		do_logout();
	}
	restore_terminal();
	free(known_hosts);
	ssh_finalize();
	return status;
}
