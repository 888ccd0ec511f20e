/*
 * The administrators' commands, run from an admin's chat shell or from
 * sshchatctl over the admin socket.  command_run() has already checked
 * the role and writes the audit line; these handlers do the work and say
 * what happened.  Users-file changes go through userdb_edit.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "command.h"
#include "daemon.h"
#include "log.h"
#include "messages.h"
#include "metrics.h"
#include "online.h"
#include "render.h"
#include "router.h"
#include "store.h"
#include "userdb.h"
#include "util.h"

#define LOG_TAIL_MAX 1000

int
cmd_broadcast(struct cmd_ctx *ctx, int argc, char **argv)
{
	char *body = render_text(argv[1], strlen(argv[1]));
	char *text = xasprintf(MSG_BROADCAST, body, ctx->user);
	int n = router_broadcast(text);

	metrics.messages[METRIC_MSG_BROADCAST]++;
	ctx_printf(ctx, "broadcast to %d %s", n, n == 1 ? "session" :
	    "sessions");
	free(text);
	free(body);
	return 0;
}

int
cmd_kick(struct cmd_ctx *ctx, int argc, char **argv)
{
	char *reason = argc > 2 ? render_text(argv[2], strlen(argv[2])) : NULL;
	char *text = xasprintf(MSG_KICKED, reason ? ": " : "",
	    reason ? reason : "");
	int n = router_end_sessions(argv[1], END_KICKED, text);

	free(text);
	free(reason);
	if (n == 0) {
		if (!cmd_user_exists(argv[1])) {
			cmd_no_such_user(ctx, argv[1]);
		} else {
			ctx_errorf(ctx, ERR_NOT_ONLINE, argv[1]);
		}
		return 1;
	}
	ctx_printf(ctx, MSG_KICK_DONE, argv[1], n, n == 1 ? "session" :
	    "sessions");
	return 0;
}

int
cmd_useradd(struct cmd_ctx *ctx, int argc, char **argv)
{
	enum user_role role = ROLE_USER;
	char err[256];

	if (argc == 3) {
		if (strcmp(argv[2], "--admin") != 0) {
			ctx_errorf(ctx, ERR_USAGE, "useradd <user> [--admin]");
			return 1;
		}
		role = ROLE_ADMIN;
	}
	if (!userdb_valid_name(argv[1])) {
		char *safe = render_text(argv[1], strlen(argv[1]));

		ctx_errorf(ctx, "error: '%s' is not a valid user name "
		    "(1-32 of A-Z a-z 0-9 . _ -)", safe);
		free(safe);
		return 1;
	}
	if (cmd_user_exists(argv[1])) {
		ctx_errorf(ctx, "error: user '%s' already exists", argv[1]);
		return 1;
	}
	if (ctx_ask(ctx, 2, PROMPT_NEW_PASSWORD, PROMPT_RETYPE)) {
		return CMD_ASK;
	}
	if (ctx->nsecrets != 2 ||
	    strcmp(ctx->secrets[0], ctx->secrets[1]) != 0) {
		ctx_errorf(ctx, ERR_PASSWORD_MISMATCH);
		return 1;
	}
	if (userdb_add(argv[1], ctx->secrets[0], role, err, sizeof(err)) < 0) {
		ctx_errorf(ctx, "error: %s", err);
		return 1;
	}
	ctx_printf(ctx, MSG_USER_ADDED, argv[1],
	    role == ROLE_ADMIN ? "admin" : "user");
	return 0;
}

int
cmd_userdel(struct cmd_ctx *ctx, int argc, char **argv)
{
	char err[256];

	if (!cmd_user_exists(argv[1])) {
		cmd_no_such_user(ctx, argv[1]);
		return 1;
	}
	if (userdb_delete(argv[1], err, sizeof(err)) < 0) {
		ctx_errorf(ctx, "error: %s", err);
		return 1;
	}
	router_end_sessions(argv[1], END_REMOVED, MSG_ACCOUNT_DELETED);
	ctx_printf(ctx, MSG_USER_DELETED, argv[1]);
	return 0;
}

static int
set_locked(struct cmd_ctx *ctx, const char *user, bool locked)
{
	char err[256];

	if (!cmd_user_exists(user)) {
		cmd_no_such_user(ctx, user);
		return 1;
	}
	if (userdb_set_locked(user, locked, err, sizeof(err)) < 0) {
		ctx_errorf(ctx, "error: %s", err);
		return 1;
	}
	if (locked) {
		router_end_sessions(user, END_LOCKED, MSG_ACCOUNT_LOCKED);
	}
	ctx_printf(ctx, locked ? MSG_USER_LOCKED : MSG_USER_UNLOCKED, user);
	return 0;
}

int
cmd_lock(struct cmd_ctx *ctx, int argc, char **argv)
{
	return set_locked(ctx, argv[1], true);
}

int
cmd_unlock(struct cmd_ctx *ctx, int argc, char **argv)
{
	return set_locked(ctx, argv[1], false);
}

int
cmd_reload(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct buf report = { 0 };
	int rc = daemon_reload(&report);

	if (rc < 0) {
		ctx_errorf(ctx, "error: %s", report.data);
	} else {
		ctx_printf(ctx, "%s", report.data);
	}
	buf_free(&report);
	return rc < 0 ? 1 : 0;
}

int
cmd_stats(struct cmd_ctx *ctx, int argc, char **argv)
{
	long long started = metrics.started;
	long long uptime = started > 0 ? (long long)time(NULL) - started : 0;
	unsigned sessions = router_session_count();
	unsigned threads = (unsigned)metrics.session_threads;
	long long queued = (long long)store_count_undelivered(NULL);
	long long stored = (long long)store_count_messages();
	long long size = (long long)store_size();
	unsigned long long shown = metrics.texts_shown;
	unsigned long long by_shells = metrics.texts_to_shell;
	unsigned long long logins = metrics.logins[METRIC_LOGIN_OK];
	unsigned long long failed = metrics_logins_failed();
	unsigned long long sent = 0, refused = metrics_messages_refused();

	for (int i = 0; i < METRIC_MSG_KINDS; i++) {
		sent += i != METRIC_MSG_BROADCAST ? metrics.messages[i] : 0;
	}
	if (ctx->json) {
		ctx_printf(ctx, "{\"uptime\":%lld,\"sessions\":%u,"
		    "\"connections\":%u,\"logins\":%llu,\"failed_logins\":%llu,"
		    "\"messages\":%llu,\"rejected\":%llu,\"queued\":%lld,"
		    "\"stored\":%lld,\"store_bytes\":%lld,"
		    "\"texts_shown\":%llu,\"texts_by_shells\":%llu}", uptime,
		    sessions, threads, logins, failed, sent, refused, queued,
		    stored, size, shown, by_shells);
		return 0;
	}
	ctx_printf(ctx,
	    "uptime          %lldd %02lld:%02lld:%02lld\n"
	    "sessions        %u (connections %u)\n"
	    "logins          %llu\n"
	    "failed logins   %llu\n"
	    "messages        %llu sent, %llu refused\n"
	    "queued          %lld undelivered\n"
	    "store           %lld messages, %lld bytes\n"
	    "texts shown     %llu by the daemon, %llu by shells",
	    uptime / 86400, uptime / 3600 % 24, uptime / 60 % 60, uptime % 60,
	    sessions, threads, logins, failed, sent, refused, queued, stored,
	    size, shown, by_shells);
	return 0;
}

/* The same counters and more, for Prometheus: metrics.c writes them. */
int
cmd_metrics(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct buf b = { 0 };

	metrics_format(&b);
	ctx_printf(ctx, "%s", b.data);
	buf_free(&b);
	return 0;
}

int
cmd_log(struct cmd_ctx *ctx, int argc, char **argv)
{
	long want = 20;
	const char *path = log_events_path();
	char *data, *start;
	off_t size, from;
	ssize_t n;
	int fd;

	if (argc == 2) {
		char *end;

		want = strtol(argv[1], &end, 10);
		if (*end != '\0' || want < 1 || want > LOG_TAIL_MAX) {
			ctx_errorf(ctx, "error: count must be between 1 and %d",
			    LOG_TAIL_MAX);
			return 1;
		}
	}
	fd = path != NULL ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0) {
		ctx_errorf(ctx, "error: cannot read the events log: %s",
		    strerror(errno));
		return 1;
	}
	/* Lines are short: the last 1 MiB holds the last LOG_TAIL_MAX. */
	size = lseek(fd, 0, SEEK_END);
	from = size > (1 << 20) ? size - (1 << 20) : 0;
	data = xmalloc((size_t)(size - from) + 1);
	n = pread(fd, data, (size_t)(size - from), from);
	close(fd);
	if (n < 0) {
		free(data);
		ctx_errorf(ctx, "error: cannot read the events log");
		return 1;
	}
	data[n] = '\0';
	while (n > 0 && data[n - 1] == '\n') {
		data[--n] = '\0';
	}
	start = data + n;
	for (long lines = 0; start > data; start--) {
		if (start[-1] == '\n' && ++lines == want) {
			break;
		}
	}
	ctx_printf(ctx, "%s", start);
	free(data);
	return 0;
}

int
cmd_shutdown(struct cmd_ctx *ctx, int argc, char **argv)
{
	ctx_printf(ctx, MSG_SHUTTING_DOWN);
	daemon_request_shutdown(argc > 1 ? argv[1] : NULL);
	return 0;
}
