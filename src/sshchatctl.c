/*
 * sshchatctl: the operator's client for sshchatd's admin socket.  It
 * sends command lines as records (record.h, protocol in admin.h) and
 * prints what the daemon answers: text to stdout, errors to stderr.  It
 * runs one command given as arguments, the lines of a script on stdin,
 * or an interactive readline console.  Passwords the daemon asks for are
 * read from the terminal with echo off (or from stdin with --stdin) and
 * wiped after sending; the terminal is restored on every way out.  The
 * client decides nothing: the daemon parses, checks and audits.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <readline/readline.h>

#include "record.h"
#include "sshchatctl.h"
#include "util.h"

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif
#define DEFAULT_SOCKET LOCALSTATEDIR "/lib/sshchatd/sshchatd.sock"
#define SOCKET_NAME "sshchatd.sock"
#define SECRET_MAX 4096

int sock = -1;
static const char *sock_path;
char *rbuf;
static bool use_stdin;		/* --stdin: answers come from stdin */
static bool interactive;	/* the readline console */
bool rl_installed;
bool quitting;
bool lost;		/* the daemon closed the connection */
static bool saw_error;		/* an error record since the last command */

/* Signals: the handler only restores the terminal, sets flags, wakes. */
int sig_pipe[2] = { -1, -1 };
volatile sig_atomic_t got_sigint, got_sigwinch;
static volatile sig_atomic_t secret_active;	/* echo is off on secret_fd */
static int secret_fd = -1;
static struct termios secret_saved;
volatile sig_atomic_t console_saved;	/* stdin's modes saved */
struct termios console_termios;

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: sshchatctl [-hV] [--json] [--stdin] "
	    "[-S state_dir | -s socket]\n"
	    "                  [command [argument ...]]\n");
}

/* Async-signal-safe: put the terminal back as it was. */
void
restore_terminal(void)
{
	if (secret_active) {
		tcsetattr(secret_fd, TCSAFLUSH, &secret_saved);
		secret_active = 0;
	}
	if (console_saved) {
		tcsetattr(STDIN_FILENO, TCSANOW, &console_termios);
	}
}

/* Before fatal()'s message: the terminal as it was. */
static void
fatal_cleanup(void)
{
	if (rl_installed) {
		rl_callback_handler_remove();
		rl_installed = false;
	}
	restore_terminal();
}

static void
on_signal(int sig)
{
	int saved_errno = errno;

	if (sig == SIGWINCH) {
		got_sigwinch = 1;
	} else if (sig == SIGINT && (interactive || secret_active)) {
		/* Clears the console's line, or cancels a password prompt. */
		got_sigint = 1;
	} else {
		restore_terminal();
		(void)signal(sig, SIG_DFL);	/* cannot fail */
		(void)raise(sig);	/* delivered as the handler returns */
	}
	(void)!write(sig_pipe[1], "", 1);
	errno = saved_errno;
}

static void
setup_signals(void)
{
	struct sigaction sa;
	const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH };

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		fatal("pipe: %s", strerror(errno));
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		sigaction(sigs[i], &sa, NULL);
	}
	/* SIGPIPE stays fatal (for "| head"); record_send uses MSG_NOSIGNAL. */
}

void
drain_sig_pipe(void)
{
	char junk[64];

	while (read(sig_pipe[0], junk, sizeof(junk)) > 0) {
	}
}

/*
 * Passwords typed for useradd and passwd go to whoever listens on the
 * socket: it must be root, this user, or the owner of the socket's
 * directory (sshchatd's user), the socket its own or root's, and the
 * directory writable by nobody else (or sticky), so that no one else
 * could have put a socket there.
 */
static void
check_peer(const char *path)
{
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	struct stat ds, ss;
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');

	if (slash == dir) {
		slash[1] = '\0';
	} else if (slash != NULL) {
		*slash = '\0';
	} else {
		snprintf(dir, strlen(dir) + 1, ".");
	}
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0 ||
	    stat(dir, &ds) < 0 || stat(path, &ss) < 0) {
		fatal("cannot check who listens on %s: %s", path,
		    strerror(errno));
	}
	if ((ds.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
	    (ds.st_mode & S_ISVTX) == 0) {
		fatal("%s: its directory %s is writable by others (mode %03o): "
		    "not trusted", path, dir, (unsigned)(ds.st_mode & 07777));
	}
	if ((cr.uid != 0 && cr.uid != geteuid() && cr.uid != ds.st_uid) ||
	    (ss.st_uid != cr.uid && ss.st_uid != 0)) {
		fatal("%s: the process listening there runs as uid %u, which "
		    "is neither root, you, nor the owner of %s: not trusted",
		    path, (unsigned)cr.uid, dir);
	}
	free(dir);
}

static void
connect_socket(const char *path)
{
	struct sockaddr_un sa;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fatal("cannot connect to %s: the path is too long", path);
	}
	memcpy(sa.sun_path, path, strlen(path));
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		fatal("socket: %s", strerror(errno));
	}
	if (connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		fatal("cannot connect to %s: %s (%s)", path, strerror(e),
		    e == EACCES || e == EPERM ? "only root and sshchatd's user "
		    "may use it" : "is sshchatd running?");
	}
	check_peer(path);
}

/* Print a record's text, ending it with a newline if it has none. */
void
print_payload(FILE *fp, const char *data, size_t len)
{
	if (fp == stderr) {
		fflush(stdout);
	}
	/* An error stays in fp; main() reports one on stdout at the end. */
	(void)fwrite(data, 1, len, fp);
	if (len == 0 || data[len - 1] != '\n') {
		fputc('\n', fp);
	}
	fflush(fp);
}

/*
 * The daemon closed the connection.  What it said before closing (why
 * it refused us, say) is still queued: show it.
 */
static void
connection_lost(void)
{
	struct timeval tv = { .tv_sec = 1 };
	ssize_t n;
	int type;

	if (lost) {
		return;
	}
	lost = true;
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while ((n = record_recv(sock, &type, rbuf)) > 0) {
		if (type == REC_ERROR) {
			print_payload(stderr, rbuf, (size_t)n);
			saw_error = true;
		} else if (type == REC_TEXT) {
			print_payload(stdout, rbuf, (size_t)n);
		}
	}
	if (!saw_error) {
		fflush(stdout);
		fprintf(stderr, "sshchatctl: connection closed by sshchatd\n");
	}
}

bool
send_record(int type, const void *data, size_t len)
{
	if (lost) {
		return false;
	}
	if (record_send(sock, type, data, len) < 0) {
		if (errno == EMSGSIZE) {
			fprintf(stderr, "sshchatctl: line too long (at most %d "
			    "bytes)\n", RECORD_MAX - 1);
			return false;
		}
		connection_lost();
		return false;
	}
	return true;
}

/* Receive one record; false when the connection is gone. */
bool
recv_record(int *type, size_t *len)
{
	ssize_t n;

	if (lost) {
		return false;
	}
	n = record_recv(sock, type, rbuf);
	if (n < 0 || (n == 0 && *type == 0)) {
		connection_lost();
		return false;
	}
	*len = (size_t)n;
	return true;
}

/* One line from stdin without its line end; false at end of input. */
static bool
stdin_line(char *out, size_t outlen, size_t *len)
{
	size_t n = 0;
	bool any = false;
	int ch;

	while ((ch = getchar()) != EOF) {
		any = true;
		if (ch == '\n') {
			break;
		}
		if (n + 1 < outlen) {
			out[n++] = (char)ch;
		}
	}
	if (n > 0 && out[n - 1] == '\r') {
		n--;
	}
	out[n] = '\0';
	*len = n;
	return any;
}

/*
 * Read one secret from the terminal with echo off.  Returns 1, 0 when
 * the user pressed Ctrl-C or Ctrl-D, -1 when there is no terminal.
 */
static int
tty_secret(const char *prompt, char *out, size_t outlen, size_t *len)
{
	struct termios quiet;
	struct pollfd pfd[2];
	size_t n = 0;
	int rc = 1;

	secret_fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (secret_fd < 0 || tcgetattr(secret_fd, &secret_saved) < 0) {
		if (secret_fd >= 0) {
			close(secret_fd);
			secret_fd = -1;
		}
		return -1;
	}
	quiet = secret_saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	quiet.c_lflag |= ECHONL | ICANON | ISIG;
	got_sigint = 0;
	drain_sig_pipe();
	secret_active = 1;
	tcsetattr(secret_fd, TCSAFLUSH, &quiet);
	(void)!write(secret_fd, prompt, strlen(prompt));
	for (;;) {
		char chunk[256];
		ssize_t r;

		pfd[0].fd = secret_fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = sig_pipe[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
			rc = 0;
			break;
		}
		if (got_sigint) {
			rc = 0;
			break;
		}
		if (pfd[1].revents != 0) {
			drain_sig_pipe();
		}
		if (pfd[0].revents == 0) {
			continue;
		}
		r = read(secret_fd, chunk, sizeof(chunk));
		if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
			continue;
		}
		if (r <= 0) {
			rc = 0;		/* Ctrl-D: no answer */
			break;
		}
		for (ssize_t i = 0; i < r; i++) {
			if (chunk[i] == '\n') {
				goto done;
			}
			if (n + 1 < outlen) {
				out[n++] = chunk[i];
			}
		}
		secure_zero(chunk, sizeof(chunk));
	}
done:
	restore_terminal();
	if (rc == 0) {
		(void)!write(secret_fd, "\n", 1);
	}
	close(secret_fd);
	secret_fd = -1;
	out[n] = '\0';
	*len = n;
	got_sigint = 0;
	drain_sig_pipe();
	return rc;
}

/*
 * The daemon asked for secrets (NUL-separated prompts): read one answer
 * per prompt and send them in one REC_SECRETS record.  When no answer
 * can be had, send REC_LOGOUT, which cancels the command.
 */
static void
answer_ask(const char *prompts, size_t plen)
{
	static char answers[RECORD_MAX];
	char secret[SECRET_MAX];
	size_t alen = 0;
	bool ok = true;

	for (size_t off = 0; off < plen && ok;) {
		const char *prompt = prompts + off;
		size_t slen = 0;
		int rc;

		off += strnlen(prompt, plen - off) + 1;
		if (use_stdin) {
			rc = stdin_line(secret, sizeof(secret), &slen);
			if (rc == 0) {
				fprintf(stderr, "sshchatctl: end of input "
				    "before the answer to '%s'\n", prompt);
			}
		} else {
			rc = tty_secret(prompt, secret, sizeof(secret), &slen);
			if (rc < 0) {
				fprintf(stderr, "sshchatctl: no terminal to "
				    "ask '%s' on (use --stdin)\n", prompt);
			}
		}
		if (rc <= 0) {
			ok = false;
		} else if (alen + slen + 1 > sizeof(answers) - 1) {
			fprintf(stderr, "sshchatctl: answer too long\n");
			ok = false;
		} else {
			memcpy(answers + alen, secret, slen + 1);
			alen += slen + 1;
		}
		secure_zero(secret, sizeof(secret));
	}
	if (ok) {
		send_record(REC_SECRETS, answers, alen);
	} else {
		send_record(REC_LOGOUT, NULL, 0);
	}
	secure_zero(answers, alen);
}

/*
 * Run one command line on the daemon and print what it answers.
 * Returns the command's status, or -1 when the connection was lost.
 */
int
run_command(const char *line, size_t len)
{
	int type;
	size_t n;

	saw_error = false;
	if (!send_record(REC_LINE, line, len)) {
		return lost ? -1 : 2;
	}
	while (recv_record(&type, &n)) {
		switch (type) {
		case REC_TEXT:
			print_payload(stdout, rbuf, n);
			break;
		case REC_ERROR:
			print_payload(stderr, rbuf, n);
			saw_error = true;
			break;
		case REC_ASK:
			answer_ask(rbuf, n);
			break;
		case REC_DONE: {
			long st = strtol(rbuf, NULL, 10);

			return st >= 0 && st <= 125 ? (int)st : 1;
		}
		default:
			break;
		}
	}
	return -1;
}

bool
is_blank_line(const char *line)
{
	return line[strspn(line, " \t\r\n")] == '\0';
}

/* "quit" or "exit" alone on the line: leave, without asking the daemon. */
bool
is_quit(const char *line)
{
	const char *w = line + strspn(line, " \t");
	size_t len = strcspn(w, " \t\r\n");

	return len == 4 && (strncmp(w, "quit", 4) == 0 ||
	    strncmp(w, "exit", 4) == 0) && is_blank_line(w + len);
}

/* Lines from a script on stdin; the status is 1 if any failed. */
static int
script(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int status = 0;

	while ((len = getline(&line, &cap, stdin)) >= 0) {
		int rc;

		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r')) {
			line[--len] = '\0';
		}
		if (is_blank_line(line)) {
			continue;
		}
		if (is_quit(line)) {
			break;
		}
		rc = run_command(line, (size_t)len);
		if (rc < 0) {
			status = 1;
			break;
		}
		if (rc != 0) {
			status = 1;
		}
	}
	free(line);
	return status;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "stdin", no_argument, NULL, 'i' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *state_dir = NULL, *socket_opt = NULL;
	char *path;
	bool json = false;
	int ch, status;

	fatal_setup("sshchatctl", fatal_cleanup, NULL);

	/* "+": the first word that is not an option starts the command. */
	while ((ch = getopt_long(argc, argv, "+hVS:s:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("sshchatctl %s\n", PACKAGE_VERSION);
			return 0;
		case 'S':
			state_dir = optarg;
			break;
		case 's':
			socket_opt = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'i':
			use_stdin = true;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (state_dir != NULL && socket_opt != NULL) {
		fprintf(stderr, "sshchatctl: -S and -s cannot be used "
		    "together\n");
		usage(stderr);
		return 2;
	}
	if (socket_opt != NULL) {
		path = xstrdup(socket_opt);
	} else if (state_dir != NULL) {
		path = xasprintf("%s/%s", state_dir, SOCKET_NAME);
	} else {
		path = xstrdup(DEFAULT_SOCKET);
	}
	sock_path = path;
	rbuf = xmalloc(RECORD_MAX + 1);

	if (optind < argc) {
		struct buf line = { 0 };

		for (int i = optind; i < argc; i++) {
			buf_appendf(&line, "%s%s", i > optind ? " " : "",
			    argv[i]);
		}
		if (line.len + 1 >= RECORD_MAX) {
			fprintf(stderr, "sshchatctl: command line too long (at "
			    "most %d bytes)\n", RECORD_MAX - 2);
			return 2;
		}
		setup_signals();
		connect_socket(sock_path);
		if (json) {
			send_record(REC_OPTIONS, "json", 4);
		}
		status = run_command(line.data, line.len);
		buf_free(&line);
		if (status < 0) {
			status = 1;
		}
	} else {
		interactive = isatty(STDIN_FILENO);
		setup_signals();
		connect_socket(sock_path);
		if (json) {
			send_record(REC_OPTIONS, "json", 4);
		}
		status = interactive ? console() : script();
	}
	restore_terminal();
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "sshchatctl: write error on stdout\n");
		status = 1;
	}
	close(sock);
	free(rbuf);
	free(path);
	return status;
}
