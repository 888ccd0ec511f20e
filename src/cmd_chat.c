/*
 * The chat commands everybody has: msg, history, who, users, passwd (of
 * one's own account), logout.  Every user-supplied string is rendered
 * with render_text() (through chat.c) before it reaches a terminal.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat.h"
#include "command.h"
#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "mailbox.h"
#include "messages.h"
#include "record.h"
#include "render.h"
#include "router.h"
#include "session.h"
#include "store.h"
#include "userdb.h"
#include "util.h"

bool
cmd_user_exists(const char *name)
{
	struct userdb *db = userdb_acquire();
	bool exists = db != NULL && userdb_find(db, name) != NULL;

	userdb_release(db);
	return exists;
}

void
cmd_no_such_user(struct cmd_ctx *ctx, const char *name)
{
	char *safe = render_text(name, strlen(name));

	ctx_errorf(ctx, ERR_NO_SUCH_USER, safe);
	free(safe);
}

int
cmd_msg(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *to = argv[1], *body = argv[2];
	size_t len = strlen(body);
	struct store_message m;
	enum store_result r;
	char err[256], id[24], lenstr[24], *text;
	int64_t msg_id = 0;
	int online;

	if (len == 0) {
		ctx_errorf(ctx, ERR_EMPTY_MESSAGE);
		return 1;
	}
	if (!cmd_user_exists(to)) {
		cmd_no_such_user(ctx, to);
		return 1;
	}
	/* Stored first: nobody hears of a message that is not on disk. */
	r = store_append(ctx->user, to, body, len, &msg_id, err, sizeof(err));
	if (r == STORE_FULL_QUEUE) {
		daemon_stats.rejected++;
		ctx_errorf(ctx, ERR_QUEUE_FULL, to, options.max_queued);
		return 1;
	}
	if (r != STORE_OK) {
		daemon_stats.rejected++;
		ctx_errorf(ctx, ERR_NOT_SENT, err);
		return 1;
	}
	memset(&m, 0, sizeof(m));
	m.id = msg_id;
	snprintf(m.sender, sizeof(m.sender), "%s", ctx->user);
	snprintf(m.recipient, sizeof(m.recipient), "%s", to);
	m.body = (char *)body;
	m.body_len = len;
	online = router_deliver(&m);
	snprintf(id, sizeof(id), "%lld", (long long)msg_id);
	snprintf(lenstr, sizeof(lenstr), "%zu", len);
	daemon_stats.messages++;
	event_log("MSG", "id", id, "from", ctx->user, "to", to, "len", lenstr,
	    "text", body, (char *)NULL);
	text = chat_format_sent(to, body, len);
	if (online > 0) {
		ctx_printf(ctx, "%s", text);
	} else {
		char *b = render_text(body, len);

		ctx_printf(ctx, MSG_QUEUED "\n" MSG_OFFLINE, to, b, to);
		free(b);
	}
	free(text);
	return 0;
}

static bool
is_count(const char *s)
{
	if (*s == '\0') {
		return false;
	}
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9') {
			return false;
		}
	}
	return true;
}

int
cmd_history(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *peer = NULL;
	long count = HISTORY_DEFAULT;
	struct store_message *msgs = NULL;
	struct buf b = { 0 };
	int n;

	for (int i = 1; i < argc; i++) {
		if (is_count(argv[i]) && i == argc - 1) {
			count = strtol(argv[i], NULL, 10);
			if (count < 1 || count > HISTORY_MAX) {
				ctx_errorf(ctx, ERR_HISTORY_COUNT, HISTORY_MAX);
				return 1;
			}
		} else if (peer == NULL && i == 1) {
			peer = argv[i];
		} else {
			ctx_errorf(ctx, ERR_USAGE, "history [user] [count]");
			return 1;
		}
	}
	if (peer != NULL && !cmd_user_exists(peer)) {
		cmd_no_such_user(ctx, peer);
		return 1;
	}
	n = store_history(ctx->user, peer, (size_t)count, &msgs);
	if (n < 0) {
		ctx_errorf(ctx, ERR_STORE_READ);
		return 1;
	}
	if (n == 0) {
		ctx_printf(ctx, MSG_HISTORY_EMPTY);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		char *line = chat_format_history(&msgs[i], ctx->user);

		buf_appendf(&b, "%s%s", i > 0 ? "\n" : "", line);
		free(line);
	}
	store_messages_free(msgs, n);
	ctx_printf(ctx, "%s", b.data);
	buf_free(&b);
	return 0;
}

struct who_row {
	char user[USER_NAME_MAX + 1];
	char addr[64];
	unsigned long id;
	time_t since;
	int64_t idle_ms;
	int cols, rows;
	bool interactive;
};

struct who_list {
	struct who_row *rows;
	size_t n, cap;
	int64_t now;
};

static void
collect_session(struct session *s, void *arg)
{
	struct who_list *l = arg;
	struct who_row *r;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->rows = xrealloc(l->rows, l->cap * sizeof(*l->rows));
	}
	r = &l->rows[l->n++];
	snprintf(r->user, sizeof(r->user), "%s", s->user);
	snprintf(r->addr, sizeof(r->addr), "%s", s->addr);
	r->id = s->id;
	r->since = s->login_time;
	r->idle_ms = l->now - s->last_input_ms;
	r->cols = s->cols;
	r->rows = s->rows;
	r->interactive = s->interactive;
}

static int
cmp_row(const void *a, const void *b)
{
	const struct who_row *x = a, *y = b;
	int c = strcmp(x->user, y->user);

	if (c != 0) {
		return c;
	}
	return x->id < y->id ? -1 : x->id > y->id;
}

static void
format_utc(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
format_idle(int64_t ms, char *out, size_t outlen)
{
	long s = (long)(ms / 1000);

	if (s < 3600) {
		snprintf(out, outlen, "%ld:%02ld", s / 60, s % 60);
	} else {
		snprintf(out, outlen, "%ldh%02ld", s / 3600, (s / 60) % 60);
	}
}

int
cmd_who(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct who_list l = { .now = now_ms() };
	struct buf b = { 0 };

	if (ctx->role != ROLE_ADMIN) {
		unsigned n = router_online(&b);
		char *list = xstrdup(b.data != NULL ? b.data : "");

		buf_free(&b);
		ctx_printf(ctx, MSG_WHO, n, n == 1 ? "user" : "users", list);
		free(list);
		return 0;
	}
	router_foreach(collect_session, &l);
	if (l.n > 0) {
		qsort(l.rows, l.n, sizeof(*l.rows), cmp_row);
	}
	if (ctx->json) {
		buf_append(&b, "[", 1);
	} else {
		buf_appendf(&b, "%-16s %7s  %-22s %-20s %6s  %s", "USER",
		    "SESSION", "ADDRESS", "SINCE", "IDLE", "TERMINAL");
	}
	for (size_t i = 0; i < l.n; i++) {
		struct who_row *r = &l.rows[i];
		char since[32], idle[32], term[24];

		format_utc(r->since, since, sizeof(since));
		format_idle(r->idle_ms, idle, sizeof(idle));
		if (r->interactive) {
			snprintf(term, sizeof(term), "%dx%d", r->cols, r->rows);
		} else {
			snprintf(term, sizeof(term), "-");
		}
		if (ctx->json) {
			buf_appendf(&b, "%s{\"user\":", i > 0 ? "," : "");
			json_append_string(&b, r->user);
			buf_appendf(&b, ",\"session\":%lu,\"address\":", r->id);
			json_append_string(&b, r->addr);
			buf_appendf(&b, ",\"since\":\"%s\",\"idle\":%lld,"
			    "\"cols\":%d,\"rows\":%d,\"terminal\":%s}", since,
			    (long long)(r->idle_ms / 1000), r->cols, r->rows,
			    r->interactive ? "true" : "false");
		} else {
			buf_appendf(&b, "\n%-16s %7lu  %-22s %-20s %6s  %s",
			    r->user, r->id, r->addr, since, idle, term);
		}
	}
	if (ctx->json) {
		buf_append(&b, "]", 1);
	} else {
		buf_appendf(&b, "\n%zu %s", l.n, l.n == 1 ? "session" :
		    "sessions");
	}
	ctx_printf(ctx, "%s", b.data);
	buf_free(&b);
	free(l.rows);
	return 0;
}

int
cmd_users(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct userdb *db = userdb_acquire();
	struct buf b = { 0 };
	bool admin = ctx->role == ROLE_ADMIN;
	size_t n = db != NULL ? userdb_count(db) : 0;

	if (ctx->json) {
		buf_append(&b, "[", 1);
	} else if (admin) {
		buf_appendf(&b, "%-16s %-6s %-7s %-20s %s", "USER", "ROLE",
		    "LOCKED", "LAST LOGIN", "ONLINE");
	} else {
		buf_appendf(&b, "%-16s %-20s %s", "USER", "LAST LOGIN",
		    "ONLINE");
	}
	for (size_t i = 0; i < n; i++) {
		const struct user *u = userdb_get(db, i);
		int64_t last = store_last_login(u->name);
		bool online = router_is_online(u->name);
		char when[32] = "never";

		if (last > 0) {
			format_utc((time_t)(last / 1000), when, sizeof(when));
		}
		if (ctx->json) {
			buf_appendf(&b, "%s{\"user\":", i > 0 ? "," : "");
			json_append_string(&b, u->name);
			if (admin) {
				buf_appendf(&b, ",\"role\":\"%s\",\"locked\":%s",
				    u->role == ROLE_ADMIN ? "admin" : "user",
				    u->locked ? "true" : "false");
			}
			buf_appendf(&b, ",\"last_login\":%s%s%s,\"online\":%s}",
			    last > 0 ? "\"" : "", last > 0 ? when : "null",
			    last > 0 ? "\"" : "", online ? "true" : "false");
		} else if (admin) {
			buf_appendf(&b, "\n%-16s %-6s %-7s %-20s %s", u->name,
			    u->role == ROLE_ADMIN ? "admin" : "user",
			    u->locked ? "yes" : "no", when, online ? "yes" : "no");
		} else {
			buf_appendf(&b, "\n%-16s %-20s %s", u->name, when,
			    online ? "yes" : "no");
		}
	}
	if (ctx->json) {
		buf_append(&b, "]", 1);
	}
	userdb_release(db);
	ctx_printf(ctx, "%s", b.data);
	buf_free(&b);
	return 0;
}

/* Check that the two new-password answers agree and set the password. */
static int
set_new_password(struct cmd_ctx *ctx, const char *user, const char *pw,
    const char *again)
{
	char err[256];

	if (strcmp(pw, again) != 0) {
		ctx_errorf(ctx, ERR_PASSWORD_MISMATCH);
		return 1;
	}
	if (userdb_set_password(user, pw, err, sizeof(err)) < 0) {
		ctx_errorf(ctx, "error: %s", err);
		return 1;
	}
	ctx_printf(ctx, MSG_PASSWORD_CHANGED, user);
	return 0;
}

int
cmd_passwd(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct userdb *db;
	enum user_role role;
	enum auth_result ok;

	if (argc == 2 && (ctx->session == NULL ||
	    strcmp(argv[1], ctx->user) != 0)) {
		/* Someone else's password: admins only. */
		if (ctx->role != ROLE_ADMIN) {
			ctx_errorf(ctx, ERR_PERMISSION, "passwd <user>");
			return 1;
		}
		if (!cmd_user_exists(argv[1])) {
			cmd_no_such_user(ctx, argv[1]);
			return 1;
		}
		if (ctx_ask(ctx, 2, PROMPT_NEW_PASSWORD, PROMPT_RETYPE)) {
			return CMD_ASK;
		}
		if (ctx->nsecrets != 2) {
			ctx_errorf(ctx, ERR_PASSWORD_MISMATCH);
			return 1;
		}
		return set_new_password(ctx, argv[1], ctx->secrets[0],
		    ctx->secrets[1]);
	}
	if (ctx->session == NULL) {
		ctx_errorf(ctx, ERR_USAGE, "passwd <user>");
		return 1;
	}
	if (ctx_ask(ctx, 3, PROMPT_OLD_PASSWORD, PROMPT_NEW_PASSWORD,
	    PROMPT_RETYPE)) {
		return CMD_ASK;
	}
	if (ctx->nsecrets != 3) {
		ctx_errorf(ctx, ERR_PASSWORD_MISMATCH);
		return 1;
	}
	db = userdb_acquire();
	ok = db != NULL ? userdb_authenticate(db, ctx->user, ctx->secrets[0],
	    strlen(ctx->secrets[0]), &role) : AUTH_FAIL;
	userdb_release(db);
	if (ok != AUTH_OK) {
		ctx_errorf(ctx, ERR_WRONG_PASSWORD);
		return 1;
	}
	return set_new_password(ctx, ctx->user, ctx->secrets[1],
	    ctx->secrets[2]);
}

int
cmd_logout(struct cmd_ctx *ctx, int argc, char **argv)
{
	char *bye;

	/* Scripts without a terminal get no goodbye line in their output. */
	bye = ctx->session->interactive ? xasprintf(MSG_GOODBYE, ctx->user) :
	    xstrdup("");
	session_request_end(ctx->session, END_LOGOUT, bye);
	free(bye);
	return 0;
}
