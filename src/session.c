/*
 * The session thread: one per connection, the thread that communicates
 * with the user.  After the handshake (session_conn.c) it starts the
 * shell on a PTY (or pipes), relays bytes between the channel and the
 * shell (relay.c), executes the lines the shell sends on fd 3, and ends
 * the session cleanly: output drained, exit status, EOF, close, LOGOUT.
 *
 * An interactive session has a second thread, its mailbox thread
 * (mailbox.c), which shows incoming text on the channel
 * (session_screen.c).  libssh sessions are not thread-safe: the
 * session's lock (sess.lock) is held by whichever of the two uses libssh
 * or the screen's counts.  The session thread releases it only to wait
 * in poll() and to run a command, so it never blocks with it held, and a
 * slow command never delays what arrives.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <libssh/libssh.h>
#include <libssh/server.h>

#include "command.h"
#include "conf.h"
#include "daemon.h"
#include "gate.h"
#include "greeting.h"
#include "log.h"
#include "mailbox.h"
#include "messages.h"
#include "metrics.h"
#include "prefs.h"
#include "ratelimit.h"
#include "record.h"
#include "router.h"
#include "session_int.h"
#include "store.h"
#include "userdb.h"
#include "util.h"

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
		sess_screen_update(s, s->rbuf, (size_t)n);
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

/*
 * The account as the users table has it now, looked up again only when
 * the table changed: a reload may have demoted or promoted it (the role
 * of this command and of completion), or removed or locked it (false:
 * the line is not run, and the session ends; router_check_accounts ends
 * the others).  Runs without the session's lock.
 */
static bool
refresh_account(struct sess *s)
{
	struct userdb *db;
	const struct user *u;
	bool changed;

	if (userdb_generation(NULL) == s->users_seen) {
		return true;
	}
	db = userdb_acquire();
	if (db == NULL) {
		return true;
	}
	s->users_seen = userdb_generation(db);
	u = userdb_find(db, s->pub.user);
	if (u == NULL || u->locked) {
		userdb_release(db);
		online_request_end(&s->pub, u == NULL ? END_REMOVED : END_LOCKED,
		    u == NULL ? MSG_ACCOUNT_DELETED : MSG_ACCOUNT_LOCKED);
		return false;
	}
	changed = u->role != s->pub.role;
	s->pub.role = u->role;
	s->run.ctx.role = u->role;
	userdb_release(db);
	if (changed) {
		info("session %lu of %s: role now %s (users file)", s->pub.id,
		    s->pub.user, s->pub.role == ROLE_ADMIN ? "admin" : "user");
		if (s->has_pty && s->command == NULL) {
			send_commands(s);	/* what completion offers */
		}
	}
	return true;
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
		if (!is_logout(data) && !refresh_account(s)) {
			send_done(s, 1);
			break;
		}
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

int
sess_wake_cb(socket_t fd, int revents, void *userdata)
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
	s->pub.kind = s->command != NULL ? METRIC_EXEC : s->has_pty ?
	    METRIC_SHELL : METRIC_PIPE;
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
	metrics.logins[METRIC_LOGIN_OK]++;
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
		if (sess_connection_lost(s)) {
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
		    sess_connection_lost(s)) {
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
	if (s->relay.chan != NULL && !s->relay.chan_closed && !sess_connection_lost(s) &&
	    reason != END_PROTOCOL) {
		int64_t deadline = now_ms() + 2000;

		ssh_channel_request_send_exit_status(s->relay.chan, status);
		ssh_channel_send_eof(s->relay.chan);
		ssh_channel_close(s->relay.chan);
		/* Wait for the client's close, so it sees a clean end. */
		while (!s->relay.chan_closed && !sess_connection_lost(s) &&
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

void
sess_run(struct sess *s)
{
	enum end_reason reason;
	bool ok;

	log_ssh_thread_init(s->pub.id);
	info("connection from %s", s->pub.addr);
	s->pub.login_ms = now_ms();
	ok = sess_handshake(s);
	if (s->gate != NULL) {
		gate_unauthenticated(s->gate);
		s->gate = NULL;
	}
	if (ok && sess_admit(s)) {
		if (start_shell(s) == 0) {
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
	router_remove(&s->pub);	/* the place router_admit took, if unused */
	if (s->refusals > REFUSALS_LOGGED) {
		info("%d requests refused on this connection in all",
		    s->refusals);
	}
	info("disconnecting %s", s->pub.addr);
	if (s->disconnect_why != NULL) {
		ssh_session_set_disconnect_message(s->ssh, s->disconnect_why);
	}
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

struct sess *
sess_new(void *ssh, const char *addr, const char *ip, struct gate_conn *gate,
    unsigned long id)
{
	struct sess *s = xcalloc(1, sizeof(*s));

	s->ssh = ssh;
	s->gate = gate;
	s->pub.id = id;
	snprintf(s->pub.addr, sizeof(s->pub.addr), "%s", addr);
	snprintf(s->pub.ip, sizeof(s->pub.ip), "%s", ip);
	s->pub.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->pub.wake_fd < 0) {
		error("eventfd: %s", strerror(errno));
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->sp.pid = -1;
	s->sp.in_fd = s->sp.out_fd = s->sp.err_fd = s->sp.core_fd = -1;
	s->shell_status = -1;
	s->rbuf = xmalloc(RECORD_MAX + 1);
	relay_init(&s->relay, &s->pub, &s->sp);
	s->relay.ssh = ssh;
	/* The gate may wake the thread to evict it; it owns the fd. */
	gate_attach(gate, s->pub.wake_fd);
	return s;
}

void
sess_discard(struct sess *s)
{
	gate_attach(s->gate, -1);
	close(s->pub.wake_fd);
	relay_free(&s->relay);
	pthread_mutex_destroy(&s->lock);
	free(s->rbuf);
	free(s);
}
