/*
 * A session's connection until its shell starts: key exchange
 * (non-blocking, with TCP_QUICKACK as data arrives), password
 * authentication, the session channel and its requests, and whether the
 * authenticated user may have a shell now.  The libssh callbacks only
 * record what happened; the channel's stay set for the whole session
 * (data, EOF, close and window changes go to the relay).
 */
#include "config.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <termios.h>

#include <libssh/server.h>

#include "conf.h"
#include "daemon.h"
#include "gate.h"
#include "log.h"
#include "messages.h"
#include "metrics.h"
#include "router.h"
#include "session_int.h"
#include "userdb.h"
#include "util.h"


bool
sess_connection_lost(struct sess *s)
{
	int st = ssh_get_status(s->ssh);

	return (st & (SSH_CLOSED | SSH_CLOSED_ERROR)) != 0 ||
	    !ssh_is_connected(s->ssh);
}

/*
 * Like sshd, end the connection once MaxAuthTries failed, telling the
 * client why (the handshake loop disconnects: ssh_disconnect() is not
 * safe in a callback); a request that still comes meanwhile is refused
 * unchecked.
 */
static void
too_many_failures(struct sess *s)
{
	if (s->auth_tries >= options.max_auth_tries && !s->disconnect) {
		info("too many authentication failures from %s", s->pub.addr);
		metrics.refusals[METRIC_LIMIT_MAX_AUTH_TRIES]++;
		s->disconnect = true;
		s->disconnect_why = "too many authentication failures";
	}
}

/*
 * Failed passwords on one connection are answered further and further
 * apart, as sshd does: the k-th no sooner than k times AuthFailureDelay
 * after it came.
 */
static void
space_failure(struct sess *s, int64_t start_ms)
{
	int64_t left = start_ms + (int64_t)options.auth_failure_delay *
	    s->auth_tries - now_ms();

	if (!s->disconnect) {
		sleep_ns(left * 1000000);
	}
}

/*
 * A password request: SSH_AUTH_SUCCESS or SSH_AUTH_DENIED.  It comes
 * through the message callback (refuse_message), not libssh's password
 * callback, so that the last failure allowed can be answered, as sshd
 * answers it, with the disconnect and its reason instead of a failure
 * reply that would have the client ask for one more password.
 */
static int
check_password(struct sess *s, const char *user, const char *password)
{
	struct userdb *db;
	enum user_role role = ROLE_USER;
	enum auth_result r;
	int64_t start = now_ms();
	bool known;

	if (s->disconnect) {
		return SSH_AUTH_DENIED;	/* past MaxAuthTries: not checked */
	}
	s->auth_tries++;
	db = userdb_acquire();
	r = db != NULL ? userdb_authenticate(db, user, password,
	    strlen(password), &role) : AUTH_FAIL;
	known = db != NULL && userdb_find(db, user) != NULL;
	s->users_seen = userdb_generation(db);
	userdb_release(db);
	if (r != AUTH_FAIL) {
		/* A locked account is let in only to be told so. */
		snprintf(s->pub.user, sizeof(s->pub.user), "%s", user);
		s->pub.role = role;
		s->authed = true;
		s->locked = r == AUTH_LOCKED;
		/*
		 * The session's place is taken now, so a connection that
		 * logged in counts against the limits before it asks for a
		 * shell (or never does), and the check and the taking are one
		 * step (router_admit).
		 */
		s->admit = s->locked ? ROUTER_FULL : router_admit(&s->pub,
		    (unsigned)options.max_sessions,
		    (unsigned)options.max_sessions_per_user);
		s->authed_ms = now_ms();
		gate_authenticated(s->gate);
		s->gate = NULL;
		info("password accepted for %s from %s%s", user, s->pub.addr,
		    s->locked ? " (account locked)" : "");
		return SSH_AUTH_SUCCESS;
	}
	metrics.logins[known ? METRIC_LOGIN_BAD_PASSWORD :
	    METRIC_LOGIN_UNKNOWN_USER]++;
	gate_auth_failed(s->gate, user);
	{
		char *name = log_token(user, 2 * USER_NAME_MAX);

		info("password rejected for %s from %s (attempt %d of %d)",
		    name, s->pub.addr, s->auth_tries, options.max_auth_tries);
		free(name);
	}
	{
		/* A name no account can have is logged cut, not 64 KiB long. */
		char *shown = strlen(user) > 2 * USER_NAME_MAX ?
		    xasprintf("%.*s...", 2 * USER_NAME_MAX, user) :
		    xstrdup(user);

		event_log("LOGIN_FAILED", "user", shown, "addr", s->pub.addr,
		    "reason", known ? "bad-password" : "unknown-user",
		    (char *)NULL);
		free(shown);
	}
	too_many_failures(s);
	space_failure(s, start);
	return SSH_AUTH_DENIED;
}

static int
pty_request_cb(ssh_session ssh, ssh_channel chan, const char *term,
    int cols, int rows, int pxw, int pxh, void *userdata)
{
	struct sess *s = userdata;

	if (s->sp.pid > 0) {
		return -1;
	}
	if (log_get_level() >= LOG_DEBUG) {
		char *t = log_token(term, 64);

		debug("pty-req term=%s %dx%d", t, cols, rows);
		free(t);
	}
	snprintf(s->term, sizeof(s->term), "%s", term);
	s->cols = cols > 0 && cols < 10000 ? cols : 0;	/* 0: unknown */
	s->rows = rows > 0 && rows < 10000 ? rows : 0;
	s->has_pty = true;
	return 0;
}

/* Environment: only NO_COLOR (https://no-color.org) means anything. */
static int
env_request_cb(ssh_session ssh, ssh_channel chan, const char *name,
    const char *value, void *userdata)
{
	struct sess *s = userdata;

	if (strcmp(name, "NO_COLOR") == 0) {
		s->no_color = value != NULL && value[0] != '\0';
		return 0;
	}
	/* What clients send by default: taken, and not used. */
	if (strcmp(name, "LANG") == 0 || strncmp(name, "LC_", 3) == 0 ||
	    strcmp(name, "TERM") == 0) {
		return 0;
	}
	if (++s->refusals <= REFUSALS_LOGGED) {	/* as refuse_message() */
		char *n = log_token(name, 64);

		info("env %s refused: only LANG, LC_*, TERM and NO_COLOR are "
		    "taken%s", n, s->refusals == REFUSALS_LOGGED ? " (further "
		    "refusals on this connection are counted, not logged)" : "");
		free(n);
	}
	return -1;
}

static int
shell_request_cb(ssh_session ssh, ssh_channel chan, void *userdata)
{
	struct sess *s = userdata;

	if (s->want_shell) {
		return -1;
	}
	debug("shell request");
	s->want_shell = true;
	return 0;
}

static int
exec_request_cb(ssh_session ssh, ssh_channel chan, const char *command,
    void *userdata)
{
	struct sess *s = userdata;

	if (s->want_shell) {
		return -1;
	}
	debug("exec request (%zu bytes)", strlen(command));
	s->command = xstrdup(command);
	s->want_shell = true;
	return 0;
}

static int
window_change_cb(ssh_session ssh, ssh_channel chan, int cols, int rows,
    int pxw, int pxh, void *userdata)
{
	struct sess *s = userdata;
	struct winsize ws;

	s->cols = cols > 0 && cols < 10000 ? cols : s->cols;
	s->rows = rows > 0 && rows < 10000 ? rows : s->rows;
	s->pub.cols = s->cols;
	s->pub.rows = s->rows;
	if (s->sp.pid > 0 && s->sp.pty) {
		memset(&ws, 0, sizeof(ws));
		ws.ws_col = (unsigned short)s->cols;
		ws.ws_row = (unsigned short)s->rows;
		/* The PTY: the shell gets SIGWINCH. */
		ioctl(s->sp.err_fd, TIOCSWINSZ, &ws);
	}
	return 0;
}

/* Channel data: to the relay (relay_take). */
static int
data_cb(ssh_session ssh, ssh_channel chan, void *data, uint32_t len,
    int is_stderr, void *userdata)
{
	struct sess *s = userdata;

	if (!is_stderr) {
		s->pub.last_input_ms = now_ms();
	}
	return relay_take(&s->relay, data, len, is_stderr != 0);
}

static void
eof_cb(ssh_session ssh, ssh_channel chan, void *userdata)
{
	struct sess *s = userdata;

	debug("channel eof from client");
	s->relay.client_eof = true;
	relay_flush_input(&s->relay);
}

static void
close_cb(ssh_session ssh, ssh_channel chan, void *userdata)
{
	struct sess *s = userdata;

	debug("channel close from client");
	s->relay.chan_closed = true;
}

/* The session channel closed before its shell: another may come. */
static void
drop_channel(struct sess *s, bool in_callback)
{
	ssh_channel c = s->relay.chan;

	/*
	 * Detached first: ssh_channel_close() flushes, and handles what
	 * comes meanwhile, a CHANNEL_OPEN among it (channel_open_cb), which
	 * must find no channel to drop again (the fuzzer's
	 * drop-channel-reentry: the outer call went on with a freed one).
	 * Inside a libssh callback it is closed later, by the loop.
	 */
	(void)ssh_remove_channel_callbacks(c, &s->ccb);
	s->relay.chan = NULL;
	if (in_callback) {
		s->dropped = c;
	} else {
		ssh_channel_close(c);
		ssh_channel_free(c);
	}
	s->relay.chan_closed = false;
	s->relay.client_eof = false;
	s->has_pty = false;
	s->want_shell = false;
	free(s->command);
	s->command = NULL;
	debug("session channel closed before its shell");
}

static ssh_channel
channel_open_cb(ssh_session ssh, void *userdata)
{
	struct sess *s = userdata;

	if (!s->authed) {
		return NULL;
	}
	if (s->relay.chan != NULL && s->relay.chan_closed && !s->want_shell &&
	    s->dropped == NULL) {
		drop_channel(s, true);	/* closed before its shell */
	}
	if (s->relay.chan != NULL) {
		info("a second session channel refused: one per connection");
		return NULL;
	}
	s->relay.chan = ssh_channel_new(ssh);
	if (s->relay.chan == NULL) {
		return NULL;
	}
	/* Set here, so a pty-req in the same batch finds them. */
	memset(&s->ccb, 0, sizeof(s->ccb));
	s->ccb.userdata = s;
	s->ccb.channel_pty_request_function = pty_request_cb;
	s->ccb.channel_shell_request_function = shell_request_cb;
	s->ccb.channel_exec_request_function = exec_request_cb;
	s->ccb.channel_env_request_function = env_request_cb;
	s->ccb.channel_pty_window_change_function = window_change_cb;
	s->ccb.channel_data_function = data_cb;
	s->ccb.channel_eof_function = eof_cb;
	s->ccb.channel_close_function = close_cb;
	ssh_callbacks_init(&s->ccb);
	ssh_set_channel_callbacks(s->relay.chan, &s->ccb);
	debug("session channel opened");
	return s->relay.chan;
}

/* Tell the client why there is no shell, exit 1, and close. */
static void
close_channel_with(struct sess *s, const char *why)
{
	char *text = xasprintf("%s\r\n", why);
	int64_t deadline = now_ms() + 2000;

	ssh_channel_write_stderr(s->relay.chan, text, (uint32_t)strlen(text));
	ssh_channel_request_send_exit_status(s->relay.chan, 1);
	ssh_channel_send_eof(s->relay.chan);
	ssh_channel_close(s->relay.chan);
	while (!s->relay.chan_closed && !sess_connection_lost(s) && now_ms() < deadline) {
		ssh_event_dopoll(s->relay.ev, 100);
	}
	free(text);
}

/* A locked account gave the right password: say so, and close. */
static void
refuse_locked(struct sess *s)
{
	event_log("LOGIN_FAILED", "user", s->pub.user, "addr", s->pub.addr,
	    "reason", "locked", (char *)NULL);
	metrics.logins[METRIC_LOGIN_LOCKED]++;
	close_channel_with(s, MSG_LOCKED_LOGIN);
}

/*
 * MaxSessions and MaxSessionsPerUser, as router_admit() found them at
 * authentication; a refusal is told to the client.
 */
static bool
session_allowed(struct sess *s)
{
	char *text = NULL;

	if (s->admit == ROUTER_FULL) {
		text = xasprintf(ERR_SERVER_FULL, options.max_sessions);
		metrics.refusals[METRIC_LIMIT_MAX_SESSIONS]++;
	} else if (s->admit == ROUTER_USER_FULL) {
		text = xasprintf(ERR_TOO_MANY_SESSIONS, s->pub.user,
		    options.max_sessions_per_user);
		metrics.refusals[METRIC_LIMIT_MAX_SESSIONS_PER_USER]++;
	}
	if (text == NULL) {
		return true;
	}
	info("%s", text);
	metrics.logins[METRIC_LOGIN_TOO_MANY_SESSIONS]++;
	event_log("LOGIN_FAILED", "user", s->pub.user, "addr", s->pub.addr,
	    "reason", "too-many-sessions", (char *)NULL);
	close_channel_with(s, text);
	free(text);
	return false;
}

bool
sess_admit(struct sess *s)
{
	if (s->locked) {
		refuse_locked(s);
		return false;
	}
	if (!session_allowed(s)) {
		return false;
	}
	if (s->command != NULL && s->command[strspn(s->command, " \t")] == '\0') {
		/* Not a shell that waits on stdin: there is nothing to run. */
		info("session %lu of %s: empty exec command refused", s->pub.id,
		    s->pub.user);
		close_channel_with(s, ERR_EXEC_EMPTY);
		return false;
	}
	if (s->command != NULL &&
	    strlen(s->command) > (size_t)options.max_line_length) {
		char *e = xasprintf(ERR_EXEC_TOO_LONG, strlen(s->command),
		    options.max_line_length);

		info("session %lu of %s: exec command of %zu bytes refused "
		    "(MaxLineLength %d)", s->pub.id, s->pub.user,
		    strlen(s->command), options.max_line_length);
		metrics.refusals[METRIC_LIMIT_MAX_LINE_LENGTH]++;
		close_channel_with(s, e);
		free(e);
		return false;
	}
	return true;
}

/*
 * Acknowledge what the client sent at once.  OpenSSH's client writes some
 * handshake messages back to back (NEWKEYS then SERVICE_REQUEST, say)
 * before it sets TCP_NODELAY, so Nagle holds the second until the first
 * is acknowledged, and Linux delays that ACK by 40 ms once the
 * connection looks interactive.  TCP_QUICKACK does not stick, so it is
 * set each time data arrives, before libssh reads it.
 */
static void
quick_ack(struct sess *s)
{
	int one = 1;

	(void)setsockopt(ssh_get_fd(s->ssh), IPPROTO_TCP, TCP_QUICKACK, &one,
	    sizeof(one));
}

/*
 * Wait up to timeout_ms for the connection (and the wake eventfd, once
 * there is an event loop) and ack what came, then let libssh process it.
 */
static int
handshake_poll(struct sess *s, int timeout_ms)
{
	struct pollfd pfd[2] = {
		{ .fd = ssh_get_fd(s->ssh), .events = POLLIN },
		{ .fd = s->pub.wake_fd, .events = POLLIN },
	};

	if (ssh_get_poll_flags(s->ssh) & SSH_WRITE_PENDING) {
		pfd[0].events |= POLLOUT;
	}
	if (poll(pfd, 2, timeout_ms) > 0 &&
	    (pfd[0].revents & POLLIN)) {
		quick_ack(s);
	}
	return s->relay.ev != NULL ? ssh_event_dopoll(s->relay.ev, 0) : SSH_OK;
}

/* Key exchange, non-blocking so that handshake_poll() can ack early. */
static bool
key_exchange(struct sess *s)
{
	int64_t deadline = now_ms() + (int64_t)options.kex_timeout * 1000;
	int rc;

	ssh_set_blocking(s->ssh, 0);
	while ((rc = ssh_handle_key_exchange(s->ssh)) == SSH_AGAIN) {
		int64_t left = deadline - now_ms();

		if (left <= 0 || server_shutting_down ||
		    gate_evicted(s->gate)) {
			break;
		}
		handshake_poll(s, left < 200 ? (int)left : 200);
	}
	ssh_set_blocking(s->ssh, 1);
	if (rc == SSH_OK && !gate_kex_done(s->gate)) {
		rc = SSH_AGAIN;
	}
	if (rc == SSH_AGAIN && now_ms() >= deadline) {
		metrics.refusals[METRIC_LIMIT_KEX_TIMEOUT]++;
	}
	if (rc != SSH_OK) {
		const char *why = ssh_get_error(s->ssh);

		info("key exchange with %s failed: %s", s->pub.addr,
		    gate_evicted(s->gate) ?
		    "evicted: pre-authentication slots full" :
		    rc == SSH_AGAIN ? "timed out" :
		    why != NULL && why[0] != '\0' ? why :
		    "closed by the client");
		return false;
	}
	return true;
}

/*
 * What no callback took: libssh answers it with the protocol's failure
 * reply (returning 1 asks for that); this says so in server.log, one
 * line each, and counts authentication methods the daemon does not
 * offer as failed attempts.  Keepalives are answered so too, unlogged.
 */
static int
refuse_message(ssh_session ssh, ssh_message msg, void *userdata)
{
	struct sess *s = userdata;
	int type = ssh_message_type(msg), sub = ssh_message_subtype(msg);
	const char *what = NULL;
	char *arg = NULL;

	switch (type) {
	case SSH_REQUEST_AUTH:
		if (sub == SSH_AUTH_METHOD_PASSWORD) {
			const char *user = ssh_message_auth_user(msg);
			/* (deprecated for clients; the server's only way) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
			const char *pw = ssh_message_auth_password(msg);
#pragma GCC diagnostic pop

			if (check_password(s, user != NULL ? user : "",
			    pw != NULL ? pw : "") == SSH_AUTH_SUCCESS) {
				ssh_message_auth_reply_success(msg, 0);
			} else if (!s->disconnect) {
				ssh_message_reply_default(msg);
			}
			/* else the disconnect is the answer: see sess_run. */
			return 0;
		}
		/*
		 * Methods the daemon does not offer count as failed
		 * attempts, as in sshd: all but the first "none" (which
		 * clients send to learn the methods), publickey,
		 * keyboard-interactive, hostbased.  Else a client could try
		 * them without end until LoginGraceTime.
		 */
		if (sub == SSH_AUTH_METHOD_NONE && s->none_tries++ == 0) {
			return 1;
		}
		if (!s->disconnect) {
			s->auth_tries++;
			debug("auth method %d refused (attempt %d of %d)", sub,
			    s->auth_tries, options.max_auth_tries);
			too_many_failures(s);
		}
		if (s->disconnect) {
			return 0;	/* answered by the disconnect */
		}
		return 1;
	case SSH_REQUEST_CHANNEL_OPEN:
		if (sub == SSH_CHANNEL_DIRECT_TCPIP) {
			what = "port forwarding to";
			arg = xasprintf("%.64s:%d",
			    ssh_message_channel_request_open_destination(msg) ?
			    ssh_message_channel_request_open_destination(msg) :
			    "?", ssh_message_channel_request_open_destination_port(
			    msg));
		} else {
			what = sub == SSH_CHANNEL_X11 ? "an X11 channel" :
			    sub == SSH_CHANNEL_AUTH_AGENT ? "an agent channel" :
			    "a channel of another type";
		}
		break;
	case SSH_REQUEST_CHANNEL:
		if (sub == SSH_CHANNEL_REQUEST_SUBSYSTEM) {
			what = "the subsystem";
			arg = xstrdup(ssh_message_channel_request_subsystem(msg) ?
			    ssh_message_channel_request_subsystem(msg) : "?");
		} else {
			what = sub == SSH_CHANNEL_REQUEST_X11 ?
			    "X11 forwarding" : "a channel request";
		}
		break;
	case SSH_REQUEST_GLOBAL:
		if (sub == SSH_GLOBAL_REQUEST_KEEPALIVE) {
			return 1;
		}
		what = sub == SSH_GLOBAL_REQUEST_TCPIP_FORWARD ?
		    "remote port forwarding" : "a global request";
		break;
	default:
		debug("message type %d subtype %d refused", type, sub);
		return 1;
	}
	/* One line each, up to REFUSALS_LOGGED a connection: no flood. */
	if (++s->refusals <= REFUSALS_LOGGED) {
		char *a = arg != NULL ? log_token(arg, 80) : NULL;

		info("%s%s%s refused: sshchat serves a chat shell only%s", what,
		    a != NULL ? " " : "", a != NULL ? a : "",
		    s->refusals == REFUSALS_LOGGED ? " (further refusals on "
		    "this connection are counted, not logged)" : "");
		free(a);
	}
	free(arg);
	return 1;
}

bool
sess_handshake(struct sess *s)
{
	int64_t deadline;
	long timeout = options.kex_timeout;

	ssh_options_set(s->ssh, SSH_OPTIONS_TIMEOUT, &timeout);
	memset(&s->scb, 0, sizeof(s->scb));
	s->scb.userdata = s;
	s->scb.channel_open_request_session_function = channel_open_cb;
	ssh_callbacks_init(&s->scb);
	ssh_set_server_callbacks(s->ssh, &s->scb);
	ssh_set_auth_methods(s->ssh, SSH_AUTH_METHOD_PASSWORD);
	ssh_set_message_callback(s->ssh, refuse_message, s);
	if (!key_exchange(s)) {
		return false;
	}
	info("key exchange done with %s: kex=%s cipher=%s/%s mac=%s/%s",
	    s->pub.addr, ssh_get_kex_algo(s->ssh),
	    ssh_get_cipher_in(s->ssh), ssh_get_cipher_out(s->ssh),
	    ssh_get_hmac_in(s->ssh), ssh_get_hmac_out(s->ssh));
	ssh_set_counters(s->ssh, &s->relay.sock, NULL);
	s->relay.ev = ssh_event_new();
	if (s->relay.ev == NULL || ssh_event_add_session(s->relay.ev, s->ssh) != SSH_OK) {
		error("cannot create the event loop");
		return false;
	}
	ssh_event_add_fd(s->relay.ev, s->pub.wake_fd, POLLIN, sess_wake_cb, s);
	/* A little jitter, so timed-out slots are not freed in lockstep. */
	deadline = s->pub.login_ms + options.login_grace_time * 1000 +
	    (int64_t)(s->pub.id * 7919 % 1000) * options.login_grace_time / 10;
	while (!(s->authed && s->want_shell && s->relay.chan != NULL)) {
		(void)handshake_poll(s, 200);
		/*
		 * Whatever the poll returned: a client that sent DISCONNECT
		 * leaves no error, and after a packet libssh refuses
		 * (SSH_FATAL) it reads on into its buffer without parsing,
		 * up to 256 MiB, until the connection ends.
		 */
		if (sess_connection_lost(s)) {
			info("connection from %s closed before its shell",
			    s->pub.addr);
			return false;
		}
		if (ssh_get_error_code(s->ssh) == SSH_FATAL) {
			info("connection from %s: libssh failed before the "
			    "shell: %s", s->pub.addr, ssh_get_error(s->ssh));
			return false;
		}
		if (s->disconnect || s->relay.window_overrun ||
		    server_shutting_down) {
			return false;
		}
		if (s->dropped != NULL) {
			ssh_channel c = s->dropped;

			s->dropped = NULL;
			ssh_channel_close(c);
			ssh_channel_free(c);
		}
		if (s->relay.chan_closed && s->relay.chan != NULL) {
			/* Closed before its shell (a refused sftp, say). */
			drop_channel(s, false);
		}
		if (now_ms() > deadline) {
			info("login grace time (%ds) exceeded for %s",
			    options.login_grace_time, s->pub.addr);
			metrics.refusals[METRIC_LIMIT_LOGIN_GRACE_TIME]++;
			s->disconnect_why = "login grace time exceeded";
			return false;
		}
		if (s->authed && now_ms() - s->authed_ms >
		    (int64_t)options.channel_grace_time * 1000) {
			/* ssh -N, or a client over a limit that lingers. */
			info("%s asked for no shell or command within %d s of "
			    "logging in (ChannelGraceTime)", s->pub.addr,
			    options.channel_grace_time);
			s->disconnect_why = "sshchat serves a chat shell only: "
			    "no shell or command was asked for";
			return false;
		}
	}
	return true;
}
