/*
 * The session thread: one per connection, the thread that communicates
 * with the user.  It runs key exchange and password authentication,
 * starts the shell on a PTY (or pipes), relays bytes between the channel
 * and the shell, executes the lines the shell sends on fd 3, and ends
 * the session cleanly: output drained, exit status, EOF, close, LOGOUT.
 *
 * An interactive session has a second thread, its mailbox thread
 * (mailbox.c), which shows incoming text on the channel.  libssh
 * sessions are not thread-safe: the session's lock (sess.lock) is held
 * by whichever of the two uses libssh or the screen's counts.  The
 * session thread releases it only to wait in poll() and to run a
 * command, so it never blocks with it held, and a slow command never
 * delays what arrives.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <termios.h>
#include <unistd.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include "command.h"
#include "conf.h"
#include "daemon.h"
#include "gate.h"
#include "greeting.h"
#include "log.h"
#include "mailbox.h"
#include "online.h"
#include "prefs.h"
#include "messages.h"
#include "ratelimit.h"
#include "relay.h"
#include "record.h"
#include "router.h"
#include "runner.h"
#include "screen.h"
#include "session.h"
#include "spawn.h"
#include "store.h"
#include "userdb.h"
#include "util.h"

/* Input taken from the channel as it arrives, before the shell reads it. */
#define STALE_WAIT_MS 1000	/* see screen_check() */

struct sess {
	struct session pub;
	pthread_mutex_t lock;	/* who may use ssh and the screen counts */
	ssh_session ssh;
	struct ssh_server_callbacks_struct scb;
	struct ssh_channel_callbacks_struct ccb;
	int auth_tries;
	struct gate_conn *gate;	/* until authenticated or ended */
	bool authed, want_shell, has_pty, disconnect, locked, idle_warned;
	bool no_color;		/* the client sent NO_COLOR */
	struct relay relay;	/* channel <-> shell (relay.h) */
	bool core_open;
	bool core_full;		/* the mailbox waits for room in the socket */
	short core_events;	/* what the record socket is polled for */
	char term[64];
	int cols, rows;
	char *command;
	struct runner run;	/* the user's lines (runner.h) */
	bool running;		/* a command runs, the lock released */
	int64_t stale_since;	/* the mailbox waits for a report since */
	/*
	 * The mailbox thread wrote to the channel: the session thread is
	 * to let libssh flush it (and see the socket writable again), woken
	 * once the lock is released (sess_unlock), not to wait for it.
	 */
	bool wake_after_unlock;
	/*
	 * A record to run (REC_LINE, REC_SECRETS, REC_LOGOUT): read under
	 * the lock, run without it (run_deferred).
	 */
	int deferred_type;
	char *deferred;
	size_t deferred_len;
	char origin[96];	/* for the audit log */
	int shell_status;	/* from REC_STATUS; -1 until it comes */
	struct shell_proc sp;
	int64_t end_deadline;
	char *rbuf;
	/*
	 * The chat shell's screen, as it last reported it (screen.h),
	 * against the relay's byte counts.  Input waits for the first
	 * report (the terminal is not raw before it).
	 */
	struct screen screen;
	bool screen_shown;	/* the mailbox shows text through the screen */
};

static atomic_ulong next_id;

void
session_set_first_id(unsigned long id)
{
	next_id = id - 1;
}
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t count_cond = PTHREAD_COND_INITIALIZER;
static unsigned nthreads;

/* libssh callbacks: they only record what happened. */

static int
auth_password_cb(ssh_session ssh, const char *user, const char *password,
    void *userdata)
{
	struct sess *s = userdata;
	struct userdb *db;
	enum user_role role = ROLE_USER;
	enum auth_result r;
	bool known;

	s->auth_tries++;
	db = userdb_acquire();
	r = db != NULL ? userdb_authenticate(db, user, password,
	    strlen(password), &role) : AUTH_FAIL;
	known = db != NULL && userdb_find(db, user) != NULL;
	userdb_release(db);
	if (r != AUTH_FAIL) {
		/* A locked account is let in only to be told so. */
		snprintf(s->pub.user, sizeof(s->pub.user), "%s", user);
		s->pub.role = role;
		s->authed = true;
		s->locked = r == AUTH_LOCKED;
		gate_authenticated(s->gate);
		s->gate = NULL;
		info("password accepted for %s from %s%s", user, s->pub.addr,
		    s->locked ? " (account locked)" : "");
		return SSH_AUTH_SUCCESS;
	}
	daemon_stats.failed_logins++;
	gate_auth_failed(s->gate, user);
	info("password rejected for %.*s from %s (attempt %d of %d)",
	    2 * USER_NAME_MAX, user, s->pub.addr, s->auth_tries,
	    options.max_auth_tries);
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
	if (s->auth_tries >= options.max_auth_tries) {
		/*
		 * Like sshd, close before the client could ask for one more
		 * password.  ssh_disconnect() is not safe in a callback; a
		 * shutdown of the socket is, and libssh sees the close.
		 */
		info("too many authentication failures from %s", s->pub.addr);
		shutdown(ssh_get_fd(s->ssh), SHUT_RDWR);
		s->disconnect = true;
	}
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
	debug("pty-req term=%s %dx%d", term, cols, rows);
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

static ssh_channel
channel_open_cb(ssh_session ssh, void *userdata)
{
	struct sess *s = userdata;

	if (!s->authed || s->relay.chan != NULL) {
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


/*
 * The shell's screen.  When it is as the shell last reported it, the
 * mailbox thread shows incoming text itself: the erase bytes, the text,
 * the redraw bytes, in one channel write, as the shell would have
 * printed them, without waking the shell.  These run with the session's
 * lock held.
 */

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

static void
screen_update(struct sess *s, const char *data, size_t len)
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
		screen_update(s, s->rbuf, (size_t)n);
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

static void
emit_to_session(struct cmd_ctx *ctx, int type, const char *text, size_t len)
{
	mailbox_push(ctx->session->mbox, type, text, len, 0);
}

/*
 * A command is done: a shell running one command, or lines from a pipe,
 * waits for its status.  The chat shell does not.
 */
static void
send_done(struct sess *s, int rc)
{
	char st[16];

	if (s->sp.pty && s->command == NULL) {
		return;
	}
	snprintf(st, sizeof(st), "%d", rc);
	mailbox_push(s->pub.mbox, REC_DONE, st, strlen(st), 0);
}

static void
line_done(struct runner *r, int status)
{
	send_done(r->ctx.arg, status);
}

static bool
is_logout(const char *line)
{
	line += strspn(line, " \t");
	return strncmp(line, "logout", 6) == 0 &&
	    line[6 + strspn(line + 6, " \t")] == '\0';
}

static int
core_cb(socket_t fd, int revents, void *userdata)
{
	struct sess *s = userdata;
	struct buf b = { 0 };
	ssize_t n;
	int type;

	s->relay.cb_gen++;
	if (revents & POLLOUT) {
		s->core_full = mailbox_flush(s->pub.mbox) == MAILBOX_FULL;
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR))) {
		return 0;
	}
	if (s->deferred != NULL) {
		return 0;	/* one record at a time: it is read next round */
	}
	n = record_recv(fd, &type, s->rbuf);
	if (n < 0) {
		/*
		 * A shell that exits with records unread leaves ECONNRESET,
		 * which Linux reports once, before the records it sent last
		 * (its REC_STATUS): read on.
		 */
		if (errno != EAGAIN && errno != EINTR && errno != ECONNRESET) {
			s->core_open = false;
		}
		return 0;
	}
	if (n == 0 && type == 0) {
		s->core_open = false;
		return 0;
	}
	if (type != REC_SCREEN) {
		/* A report follows output as well as input. */
		s->pub.last_input_ms = now_ms();
	}
	switch (type) {
	case REC_LINE:
	case REC_SECRETS:
	case REC_LOGOUT:
		/* Run once the lock is released: see run_deferred(). */
		s->deferred_type = type;
		s->deferred = xmalloc((size_t)n + 1);
		memcpy(s->deferred, s->rbuf, (size_t)n + 1);
		s->deferred_len = (size_t)n;
		break;
	case REC_STATUS:
		s->shell_status = str_to_int(s->rbuf, 0, 255, -1);
		break;
	case REC_SCREEN:
		screen_update(s, s->rbuf, (size_t)n);
		break;
	case REC_COMPLETE:
		command_complete(s->rbuf, s->pub.role, &b);
		mailbox_push(s->pub.mbox, REC_COMPLETIONS, b.data ? b.data : "",
		    b.len, 0);
		buf_free(&b);
		break;
	default:
		debug("unknown record type %d from shell", type);
		break;
	}
	return 0;
}

/*
 * Run the line core_cb read, with the session's lock released: a command
 * may wait for the store, and meanwhile the mailbox thread shows what
 * arrives.  The lock is held on entry and on return.
 */
static void
run_deferred(struct sess *s)
{
	char *data = s->deferred;
	size_t n = s->deferred_len;
	int type = s->deferred_type;

	if (data == NULL) {
		return;
	}
	s->deferred = NULL;
	s->running = true;
	pthread_mutex_unlock(&s->lock);
	mailbox_batch(s->pub.mbox, true);
	switch (type) {
	case REC_LINE:
		runner_cancel(&s->run);
		/* logout always works, flood or not. */
		if (!is_logout(data) && !ratelimit_take(s->pub.user)) {
			char *e = xasprintf(ERR_RATE_LIMIT, options.message_rate,
			    options.message_burst);

			online_print(&s->pub, REC_ERROR, e);
			send_done(s, 1);
			free(e);
			break;
		}
		runner_line(&s->run, data, n);
		break;
	case REC_SECRETS:
		(void)runner_answers(&s->run, data, n);
		break;
	default:
		runner_line(&s->run, "logout", 6);
		break;
	}
	secure_zero(data, n);
	free(data);
	mailbox_batch(s->pub.mbox, false);
	pthread_mutex_lock(&s->lock);
	s->running = false;
}

static int
wake_cb(socket_t fd, int revents, void *userdata)
{
	struct sess *s = userdata;
	uint64_t v;

	s->relay.cb_gen++;
	(void)!read(fd, &v, sizeof(v));
	if (s->pub.end_request != END_NONE && s->end_deadline == 0) {
		s->end_deadline = now_ms() + options.shutdown_grace * 1000;
	}
	return 0;
}

static bool
connection_lost(struct sess *s)
{
	int st = ssh_get_status(s->ssh);

	return (st & (SSH_CLOSED | SSH_CLOSED_ERROR)) != 0 ||
	    !ssh_is_connected(s->ssh);
}

/* The commands this user may run, for the shell's completion. */
static void
send_commands(struct sess *s)
{
	struct buf b = { 0 };

	for (size_t i = 0; i < command_count(); i++) {
		const struct command *c = command_get(i);

		if (!(c->flags & CMD_ADMIN) || s->pub.role == ROLE_ADMIN) {
			buf_append(&b, c->name, strlen(c->name) + 1);
		}
	}
	mailbox_push(s->pub.mbox, REC_COMMANDS, b.data, b.len, 0);
	buf_free(&b);
}

static int
start_shell(struct sess *s)
{
	struct spawn_req req = {
		.path = options.shell_path,
		.user = s->pub.user,
		.pty = s->has_pty,
		.term = s->term,
		.cols = s->cols,
		.rows = s->rows,
		.command = s->command,
		.max_line = options.max_line_length,
	};
	char err[256];

	if (spawn_shell(&req, &s->sp, err, sizeof(err)) < 0) {
		error("%s", err);
		return -1;
	}
	/*
	 * core_cb reads one record per POLLIN, but the mailbox flush before
	 * it (on POLLOUT) may already have taken the shell's screen reports
	 * (screen_catch_up): a blocking read would then wait for a record an
	 * idle shell never sends.
	 */
	/* A chat shell on a PTY gets no input before it reported its screen. */
	s->relay.hold_input = s->sp.pty && s->command == NULL;
	set_nonblock(s->sp.core_fd, true);
	snprintf(s->origin, sizeof(s->origin), "session %lu from %s", s->pub.id,
	    s->pub.addr);
	s->run = (struct runner){
		.ctx = {
			.session = &s->pub,
			.user = s->pub.user,
			.origin = s->origin,
			.role = s->pub.role,
			.emit = emit_to_session,
			.arg = s,
		},
		.done = line_done,
		.reask = true,
	};
	s->pub.interactive = s->has_pty;
	s->pub.cols = s->has_pty ? s->cols : 0;
	s->pub.rows = s->has_pty ? s->rows : 0;
	s->pub.color = s->has_pty && !s->no_color && s->term[0] != '\0' &&
	    strcmp(s->term, "dumb") != 0;
	prefs_load(s->pub.user);
	s->pub.mbox = mailbox_new(s->sp.core_fd, s->pub.wake_fd, s->pub.user,
	    (size_t)options.mailbox_size, s->pub.color,
	    s->pub.interactive ? &s->pub.cols : NULL);
	if (s->pub.interactive && s->command == NULL &&
	    mailbox_start(s->pub.mbox, s->pub.id) < 0) {
		error("no mailbox thread for session %lu: its session thread "
		    "flushes", s->pub.id);
	}
	s->relay.out_open = true;
	s->relay.err_open = s->sp.err_fd >= 0;
	s->core_open = true;
	s->pub.login_time = time(NULL);
	s->pub.login_ms = now_ms();
	s->pub.last_input_ms = s->pub.login_ms;
	daemon_stats.logins++;
	store_session_open(s->pub.id, s->pub.user, s->pub.addr, wall_ms());
	router_add(&s->pub);
	relay_flush_input(&s->relay);
	if (s->command == NULL && s->has_pty) {
		send_commands(s);
		greeting_send(&s->pub);
		if (router_user_sessions(s->pub.user) == 1) {
			router_notice(s->pub.user, true);
		}
	}
	{
		char sid[24];

		snprintf(sid, sizeof(sid), "%lu", s->pub.id);
		event_log("LOGIN", "user", s->pub.user, "addr", s->pub.addr,
		    "session", sid, "mode", s->command != NULL ? "exec" :
		    s->has_pty ? "shell" : "pipe", (char *)NULL);
	}
	info("%s for %s: shell pid %ld", s->command ? "exec" : "shell",
	    s->pub.user, (long)s->sp.pid);
	return 0;
}




/* IdleTimeout: one warning, then the end. */
static void
check_idle(struct sess *s)
{
	int64_t limit = (int64_t)options.idle_timeout * 1000;
	int64_t idle = now_ms() - s->pub.last_input_ms;
	int64_t warn_before = limit / 3 < 60000 ? limit / 3 : 60000;

	if (limit <= 0 || s->pub.end_request != END_NONE) {
		return;
	}
	if (idle >= limit) {
		char *text = xasprintf(MSG_IDLE_END, options.idle_timeout);

		online_request_end(&s->pub, END_IDLE, text);
		free(text);
	} else if (idle >= limit - warn_before && !s->idle_warned) {
		char *text = xasprintf(MSG_IDLE_WARNING,
		    (long long)((limit - idle + 999) / 1000));

		online_print(&s->pub, REC_TEXT, text);
		free(text);
		s->idle_warned = true;
	} else if (idle < limit - warn_before) {
		s->idle_warned = false;
	}
}

/*
 * How long the relay loop may sleep: every event it waits for wakes it
 * (the connection, the shell, the eventfd); only timers need a timeout.
 * An idle session does not wake at all, so thousands of them cost no CPU.
 */
static int
relay_timeout(struct sess *s, enum mailbox_state mbs)
{
	int64_t now = now_ms(), t = 30000;

	if (s->relay.in_slowed) {
		return 20;	/* input waits for InputRate's budget */
	}
	if (mbs == MAILBOX_RETRY) {
		t = 1000;
	}
	if (s->end_deadline != 0 && s->end_deadline - now < t) {
		t = s->end_deadline - now;
	}
	if (options.idle_timeout > 0 && s->pub.end_request == END_NONE) {
		int64_t limit = (int64_t)options.idle_timeout * 1000;
		int64_t warn_before = limit / 3 < 60000 ? limit / 3 : 60000;
		int64_t due = s->pub.last_input_ms + (s->idle_warned ? limit :
		    limit - warn_before) - now;

		if (due < t) {
			t = due;
		}
	}
	return t < 10 ? 10 : (int)t;
}

/*
 * Wait up to timeout_ms for anything the event loop watches, with the
 * session's lock released (the mailbox thread may write to the channel
 * meanwhile), then let libssh process it without waiting.  The lock is
 * held on entry and on return.
 */
static int
wait_and_dispatch(struct sess *s, int timeout)
{
	struct pollfd pfd[7];
	nfds_t n = 0;

	pfd[n++] = (struct pollfd){ .fd = ssh_get_fd(s->ssh),
	    .events = (short)(POLLIN |
	    ((ssh_get_poll_flags(s->ssh) & SSH_WRITE_PENDING) ? POLLOUT : 0)) };
	pfd[n++] = (struct pollfd){ .fd = s->pub.wake_fd, .events = POLLIN };
	n += relay_pollfds(&s->relay, pfd + n);
	if (s->core_events != 0) {
		pfd[n++] = (struct pollfd){ s->sp.core_fd, s->core_events, 0 };
	}
	pthread_mutex_unlock(&s->lock);
	(void)poll(pfd, n, timeout);
	pthread_mutex_lock(&s->lock);
	return ssh_event_dopoll(s->relay.ev, 0);
}

static enum end_reason
relay(struct sess *s)
{
	for (;;) {
		enum mailbox_state mbs = mailbox_flush(s->pub.mbox);
		int timeout = relay_timeout(s, mbs);

		s->core_full = mbs == MAILBOX_FULL;
		relay_update_polling(&s->relay);
		relay_watch(&s->relay, s->sp.core_fd, (short)(s->core_open ?
		    POLLIN | (s->core_full ? POLLOUT : 0) : 0),
		    &s->core_events, core_cb, s);
		if (!s->relay.out_open && !s->relay.err_open) {
			break;	/* the shell closed its terminal: it is done */
		}
		if (s->relay.window_overrun) {
			return END_PROTOCOL;
		}
		if (s->relay.chan_closed) {
			return END_EOF;
		}
		if (connection_lost(s)) {
			return END_DROPPED;
		}
		if (ssh_get_error_code(s->ssh) == SSH_FATAL) {
			info("session of %s: libssh failed: %s", s->pub.user,
			    ssh_get_error(s->ssh));
			return END_PROTOCOL;
		}
		if (s->end_deadline != 0 && now_ms() > s->end_deadline) {
			break;
		}
		check_idle(s);
		if (server_shutting_down && s->pub.end_request == END_NONE) {
			char *bye = xasprintf(MSG_SHUTDOWN, s->pub.user);

			online_request_end(&s->pub, END_SHUTDOWN, bye);
			free(bye);
		}
		if (wait_and_dispatch(s, timeout) == SSH_ERROR &&
		    connection_lost(s)) {
			return END_DROPPED;
		}
		relay_flush_input(&s->relay);
		relay_pull_input(&s->relay);
		run_deferred(s);
		mailbox_screen_moved(s->pub.mbox);
	}
	if (s->pub.end_request != END_NONE) {
		return (enum end_reason)s->pub.end_request;
	}
	return END_LOGOUT;
}

static void
finish(struct sess *s, enum end_reason reason)
{
	char sid[24], dur[32];
	int status;

	/* From here on the session thread alone uses libssh. */
	pthread_mutex_unlock(&s->lock);
	mailbox_stop(s->pub.mbox);
	relay_unwatch(&s->relay);
	relay_watch(&s->relay, s->sp.core_fd, 0, &s->core_events, NULL, NULL);
	router_remove(&s->pub);
	/*
	 * Read what the shell sent before it went, up to the end of its
	 * socket: its REC_STATUS may come after its terminal closed.  A shell
	 * that neither ends nor writes is killed below after this bound.
	 * When the client is gone there is no one to give a status to, and
	 * the shell was not told to end: it is hung up at once.
	 */
	set_nonblock(s->sp.core_fd, true);
	for (int64_t until = now_ms() + (reason == END_DROPPED ||
	    reason == END_EOF || reason == END_PROTOCOL ? 0 : 1000);
	    s->core_open;) {
		struct pollfd pfd = { .fd = s->sp.core_fd, .events = POLLIN };
		int64_t left = until - now_ms();

		if (left < 0 || poll(&pfd, 1, (int)left) <= 0) {
			break;
		}
		core_cb(s->sp.core_fd, pfd.revents, s);
		if (s->deferred != NULL) {
			/* No one else holds it now: run_deferred's contract. */
			pthread_mutex_lock(&s->lock);
			run_deferred(s);
			pthread_mutex_unlock(&s->lock);
		}
	}
	if (s->pub.interactive && router_user_sessions(s->pub.user) == 0) {
		/* Room lines said while online count as seen. */
		int64_t last = store_room_last_id();

		if (last > 0) {
			prefs_set_room_seen(s->pub.user, last);
		}
		router_notice(s->pub.user, false);
	}
	status = spawn_reap(&s->sp, 1000);
	if (status < 0) {
		status = s->shell_status >= 0 ? s->shell_status :
		    reason == END_LOGOUT ? 0 : 1;
	}
	mailbox_free(s->pub.mbox);
	s->pub.mbox = NULL;
	close(s->sp.core_fd);
	/* A client that broke the protocol gets no clean end: it is cut. */
	if (s->relay.chan != NULL && !s->relay.chan_closed && !connection_lost(s) &&
	    reason != END_PROTOCOL) {
		int64_t deadline = now_ms() + 2000;

		ssh_channel_request_send_exit_status(s->relay.chan, status);
		ssh_channel_send_eof(s->relay.chan);
		ssh_channel_close(s->relay.chan);
		/* Wait for the client's close, so it sees a clean end. */
		while (!s->relay.chan_closed && !connection_lost(s) &&
		    now_ms() < deadline) {
			ssh_event_dopoll(s->relay.ev, 100);
		}
	}
	snprintf(sid, sizeof(sid), "%lu", s->pub.id);
	snprintf(dur, sizeof(dur), "%.1fs",
	    (double)(now_ms() - s->pub.login_ms) / 1000.0);
	event_log("LOGOUT", "user", s->pub.user, "session", sid, "reason",
	    online_end_reason_name(reason), "duration", dur, (char *)NULL);
	store_session_close(s->pub.id, online_end_reason_name(reason),
	    wall_ms());
	info("session of %s ended: %s", s->pub.user,
	    online_end_reason_name(reason));
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
	while (!s->relay.chan_closed && !connection_lost(s) && now_ms() < deadline) {
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
	daemon_stats.failed_logins++;
	close_channel_with(s, MSG_LOCKED_LOGIN);
}

/* MaxSessions and MaxSessionsPerUser; a refusal is told to the client. */
static bool
session_allowed(struct sess *s)
{
	char *text = NULL;

	if (router_session_count() >= (unsigned)options.max_sessions) {
		text = xasprintf(ERR_SERVER_FULL, options.max_sessions);
	} else if (router_user_sessions(s->pub.user) >=
	    (unsigned)options.max_sessions_per_user) {
		text = xasprintf(ERR_TOO_MANY_SESSIONS, s->pub.user,
		    options.max_sessions_per_user);
	}
	if (text == NULL) {
		return true;
	}
	info("%s", text);
	event_log("LOGIN_FAILED", "user", s->pub.user, "addr", s->pub.addr,
	    "reason", "too-many-sessions", (char *)NULL);
	close_channel_with(s, text);
	free(text);
	return false;
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

/* Until the shell starts: key exchange, authentication, channel setup. */
static bool
handshake(struct sess *s)
{
	int64_t deadline;
	long timeout = options.kex_timeout;

	ssh_options_set(s->ssh, SSH_OPTIONS_TIMEOUT, &timeout);
	memset(&s->scb, 0, sizeof(s->scb));
	s->scb.userdata = s;
	s->scb.auth_password_function = auth_password_cb;
	s->scb.channel_open_request_session_function = channel_open_cb;
	ssh_callbacks_init(&s->scb);
	ssh_set_server_callbacks(s->ssh, &s->scb);
	ssh_set_auth_methods(s->ssh, SSH_AUTH_METHOD_PASSWORD);
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
	ssh_event_add_fd(s->relay.ev, s->pub.wake_fd, POLLIN, wake_cb, s);
	/* A little jitter, so timed-out slots are not freed in lockstep. */
	deadline = s->pub.login_ms + options.login_grace_time * 1000 +
	    (int64_t)(s->pub.id * 7919 % 1000) * options.login_grace_time / 10;
	while (!(s->authed && s->want_shell && s->relay.chan != NULL)) {
		if (handshake_poll(s, 200) == SSH_ERROR &&
		    connection_lost(s)) {
			info("connection from %s closed before login",
			    s->pub.addr);
			return false;
		}
		if (s->disconnect || s->relay.window_overrun ||
		    server_shutting_down) {
			return false;
		}
		if (s->relay.chan_closed) {
			return false;
		}
		if (now_ms() > deadline) {
			info("login grace time (%ds) exceeded for %s",
			    options.login_grace_time, s->pub.addr);
			return false;
		}
	}
	return true;
}

static void
run_session(struct sess *s)
{
	enum end_reason reason;
	bool ok;

	log_ssh_thread_init(s->pub.id);
	info("connection from %s", s->pub.addr);
	s->pub.login_ms = now_ms();
	ok = handshake(s);
	if (s->gate != NULL) {
		gate_unauthenticated(s->gate);
		s->gate = NULL;
	}
	if (ok) {
		if (s->locked) {
			refuse_locked(s);
		} else if (!session_allowed(s)) {
			/* the client was told why */
		} else if (s->command != NULL &&
		    strlen(s->command) > (size_t)options.max_line_length) {
			char *e = xasprintf(ERR_EXEC_TOO_LONG,
			    strlen(s->command), options.max_line_length);

			info("session %lu of %s: exec command of %zu bytes "
			    "refused (MaxLineLength %d)", s->pub.id, s->pub.user,
			    strlen(s->command), options.max_line_length);
			close_channel_with(s, e);
			free(e);
		} else if (start_shell(s) == 0) {
			pthread_mutex_lock(&s->lock);
			reason = relay(s);
			finish(s, reason);
		} else if (s->relay.chan != NULL) {
			ssh_channel_write_stderr(s->relay.chan,
			    "sshchat: cannot start the chat shell\r\n", 38);
			ssh_channel_request_send_exit_status(s->relay.chan, 1);
			ssh_channel_close(s->relay.chan);
			ssh_blocking_flush(s->ssh, 1000);
		}
	}
	info("disconnecting %s", s->pub.addr);
	ssh_disconnect(s->ssh);
	if (s->relay.ev != NULL) {
		ssh_event_remove_fd(s->relay.ev, s->pub.wake_fd);
		ssh_event_free(s->relay.ev);
	}
	ssh_free(s->ssh);
	close(s->pub.wake_fd);
	free(s->command);
	runner_free(&s->run);
	free(s->rbuf);
	free(s->deferred);
	relay_free(&s->relay);
	screen_free(&s->screen);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/*
 * Session threads are kept for the next connection when they finish:
 * creating a thread, faulting its stack in and releasing it again cost
 * more than a login's key exchange.  At most POOL_IDLE_MAX wait, each
 * for POOL_IDLE_MS at most.
 */
#define POOL_IDLE_MAX 32
#define POOL_IDLE_MS (60 * 1000)

static struct sess *pool_job;		/* under count_lock */
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;
static unsigned pool_idle;
static bool pool_closed;

static void *
session_main(void *arg)
{
	struct sess *s = arg;

	(void)pthread_setname_np(pthread_self(), "session");
	for (;;) {
		struct timespec ts;

		run_session(s);
		pthread_mutex_lock(&count_lock);
		nthreads--;
		daemon_stats.session_threads = nthreads;
		pthread_cond_broadcast(&count_cond);
		if (pool_closed || pool_idle >= POOL_IDLE_MAX) {
			pthread_mutex_unlock(&count_lock);
			break;
		}
		pool_idle++;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += POOL_IDLE_MS / 1000;
		while (pool_job == NULL && !pool_closed) {
			if (pthread_cond_timedwait(&pool_cond, &count_lock,
			    &ts) != 0) {
				break;
			}
		}
		s = pool_job;
		pool_job = NULL;
		pool_idle--;
		pthread_cond_broadcast(&count_cond);
		pthread_mutex_unlock(&count_lock);
		if (s == NULL) {
			break;
		}
	}
	return NULL;
}

/* Hand s to an idle session thread; false if there is none. */
static bool
pool_hand_over(struct sess *s)
{
	bool taken = false;

	pthread_mutex_lock(&count_lock);
	if (pool_idle > 0 && pool_job == NULL && !pool_closed) {
		pool_job = s;
		nthreads++;
		daemon_stats.session_threads = nthreads;
		taken = true;
		pthread_cond_signal(&pool_cond);
	}
	pthread_mutex_unlock(&count_lock);
	return taken;
}

void
session_pool_close(void)
{
	pthread_mutex_lock(&count_lock);
	pool_closed = true;
	pthread_cond_broadcast(&pool_cond);
	/* None may still be running while the libraries are torn down. */
	while (pool_idle > 0) {
		pthread_cond_wait(&count_cond, &count_lock);
	}
	pthread_mutex_unlock(&count_lock);
}

int
session_start(void *ssh, const char *addr, const char *ip,
    struct gate_conn *gate)
{
	struct sess *s = xcalloc(1, sizeof(*s));
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	s->ssh = ssh;
	s->gate = gate;
	pthread_mutex_init(&s->lock, NULL);
	s->pub.id = ++next_id;
	snprintf(s->pub.addr, sizeof(s->pub.addr), "%s", addr);
	snprintf(s->pub.ip, sizeof(s->pub.ip), "%s", ip);
	s->pub.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->sp.pid = -1;
	s->sp.in_fd = s->sp.out_fd = s->sp.err_fd = s->sp.core_fd = -1;
	s->shell_status = -1;
	s->rbuf = xmalloc(RECORD_MAX + 1);
	relay_init(&s->relay, &s->pub, &s->sp);
	s->relay.ssh = ssh;
	if (s->pub.wake_fd < 0) {
		error("eventfd: %s", strerror(errno));
		free(s->rbuf);
		free(s);
		return -1;
	}
	/* The gate may wake the thread to evict it; it owns the fd. */
	gate_attach(gate, s->pub.wake_fd);
	if (pool_hand_over(s)) {
		return 0;
	}
	pthread_mutex_lock(&count_lock);
	nthreads++;
	daemon_stats.session_threads = nthreads;
	pthread_mutex_unlock(&count_lock);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, session_main, s);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		error("pthread_create: %s", strerror(rc));
		pthread_mutex_lock(&count_lock);
		nthreads--;
		daemon_stats.session_threads = nthreads;
		pthread_mutex_unlock(&count_lock);
		gate_attach(gate, -1);
		close(s->pub.wake_fd);
		free(s->rbuf);
		free(s);
		return -1;
	}
	return 0;
}

unsigned
session_threads(void)
{
	unsigned n;

	pthread_mutex_lock(&count_lock);
	n = nthreads;
	pthread_mutex_unlock(&count_lock);
	return n;
}

void
session_wait_all(int timeout_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&count_lock);
	while (nthreads > 0) {
		if (pthread_cond_timedwait(&count_cond, &count_lock, &ts) != 0) {
			break;
		}
	}
	pthread_mutex_unlock(&count_lock);
}
