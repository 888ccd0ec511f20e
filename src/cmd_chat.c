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
#include "log.h"
#include "mailbox.h"
#include "messages.h"
#include "metrics.h"
#include "online.h"
#include "prefs.h"
#include "render.h"
#include "router.h"
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

#define MSG_RECIPIENTS_MAX 10

/* A message being stored, and what became of it once committed. */
struct sending {
	const char *from, *to, *body;
	size_t len;
	int kind;		/* enum store_kind */
	bool delivered;
	int online;		/* sessions it reached */
};

/*
 * The message is committed (its sync to disk may still be running; then
 * this runs in the store's writer thread): hand it to its recipients.
 * Nobody hears of a message that is not committed, and its sender is
 * told only once it is on disk.
 */
static void
deliver(void *arg, int64_t msg_id)
{
	struct sending *s = arg;
	struct store_message m;

	memset(&m, 0, sizeof(m));
	m.id = msg_id;
	m.sent_ms = wall_ms();
	m.kind = s->kind;
	snprintf(m.sender, sizeof(m.sender), "%s", s->from);
	snprintf(m.recipient, sizeof(m.recipient), "%s", s->to);
	m.body = (char *)s->body;
	m.body_len = s->len;
	s->delivered = true;
	if (s->kind != STORE_MSG) {
		router_room(&m);
	} else if (prefs_ignores(s->to, s->from)) {
		/* Kept, never shown; the sender is not told. */
		store_mark_delivered(msg_id);
		s->online = router_is_online(s->to);
	} else {
		/* Before delivery: whoever sees it may reply at once. */
		prefs_set_last_from(s->to, s->from);
		s->online = router_deliver(&m);
	}
}

/* The store refused or failed the message: say so. */
static void
not_sent(struct cmd_ctx *ctx, const struct sending *s, const char *err)
{
	metrics.messages_failed++;
	ctx_errorf(ctx, s->delivered ? ERR_NOT_SAVED : ERR_NOT_SENT, err);
}

/*
 * Store one private message and hand it to the recipient's sessions.
 * Returns -1 (error told), 0 queued (recipient offline), 1 delivered.
 */
static int
send_one(struct cmd_ctx *ctx, const char *to, const char *body, size_t len)
{
	struct sending s = {
		.from = ctx->user, .to = to, .body = body, .len = len,
		.kind = STORE_MSG,
	};
	enum store_result r;
	char err[256], id[24], lenstr[24], away[256];
	int64_t msg_id = 0;

	r = store_append(ctx->user, to, body, len, &msg_id, deliver, &s, err,
	    sizeof(err));
	if (r == STORE_FULL_QUEUE) {
		metrics.refusals[METRIC_LIMIT_MAX_QUEUED]++;
		ctx_errorf(ctx, ERR_QUEUE_FULL, to, options.max_queued);
		return -1;
	}
	if (r == STORE_FULL_SHARE) {
		metrics.refusals[METRIC_LIMIT_MAX_QUEUED_PER_SENDER]++;
		ctx_errorf(ctx, ERR_SHARE_FULL, to, options.max_queued_per_sender);
		return -1;
	}
	if (r != STORE_OK) {
		not_sent(ctx, &s, err);
		return -1;
	}
	snprintf(id, sizeof(id), "%lld", (long long)msg_id);
	snprintf(lenstr, sizeof(lenstr), "%zu", len);
	metrics.messages[METRIC_MSG_PRIVATE]++;
	event_log("MSG", "id", id, "from", ctx->user, "to", to, "len", lenstr,
	    "text", body, (char *)NULL);
	if (prefs_away(to, away, sizeof(away)) &&
	    prefs_away_tell(to, ctx->user)) {
		char *safe = render_text(away, strlen(away));

		ctx_printf(ctx, MSG_AWAY_NOTICE, to, safe);
		free(safe);
	}
	return s.online > 0 ? 1 : 0;
}

/* msg and reply: to is one name or a comma-separated list. */
static int
send_private(struct cmd_ctx *ctx, const char *tolist, const char *body)
{
	char *copy = xstrdup(tolist), *names[MSG_RECIPIENTS_MAX], *p, *save;
	size_t len = strlen(body);
	struct buf sent = { 0 }, offline = { 0 };
	int n = 0, rc = 0;

	if (len == 0) {
		ctx_errorf(ctx, ERR_EMPTY_MESSAGE);
		free(copy);
		return 1;
	}
	for (p = strtok_r(copy, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		bool dup = false;

		for (int i = 0; i < n; i++) {
			dup = dup || strcmp(names[i], p) == 0;
		}
		if (dup) {
			continue;
		}
		if (n == MSG_RECIPIENTS_MAX) {
			ctx_errorf(ctx, ERR_TOO_MANY_RECIPIENTS,
			    MSG_RECIPIENTS_MAX);
			free(copy);
			return 1;
		}
		if (!cmd_user_exists(p)) {
			cmd_no_such_user(ctx, p);
			free(copy);
			return 1;
		}
		names[n++] = p;
	}
	if (n == 0) {
		ctx_errorf(ctx, ERR_USAGE, "msg <user>[,<user>...] <text>");
		free(copy);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		int r = send_one(ctx, names[i], body, len);

		if (r < 0) {
			rc = 1;
			continue;
		}
		buf_appendf(r > 0 ? &sent : &offline, "%s%s",
		    (r > 0 ? sent.len : offline.len) > 0 ? ", " : "", names[i]);
	}
	if (sent.len > 0) {
		char *text = chat_format_sent(sent.data, body, len);

		ctx_printf(ctx, "%s", text);
		free(text);
	}
	if (offline.len > 0) {
		char *b = render_text(body, len);

		ctx_printf(ctx, MSG_QUEUED "\n" MSG_OFFLINE, offline.data, b,
		    offline.data);
		free(b);
	}
	buf_free(&sent);
	buf_free(&offline);
	free(copy);
	return rc;
}

int
cmd_msg(struct cmd_ctx *ctx, int argc, char **argv)
{
	return send_private(ctx, argv[1], argv[2]);
}

int
cmd_reply(struct cmd_ctx *ctx, int argc, char **argv)
{
	char to[USER_NAME_MAX + 1];

	if (!prefs_last_from(ctx->user, to, sizeof(to))) {
		ctx_errorf(ctx, ERR_NOBODY_TO_REPLY);
		return 1;
	}
	return send_private(ctx, to, argv[1]);
}

/* say and me: a line to the room, stored, shown to everyone online. */
static int
say_to_room(struct cmd_ctx *ctx, int kind, const char *body)
{
	size_t len = strlen(body);
	struct sending s = {
		.from = ctx->user, .to = STORE_ROOM, .body = body, .len = len,
		.kind = kind,
	};
	char err[256], id[24];
	int64_t msg_id = 0;

	if (store_append_room(ctx->user, kind, body, len, &msg_id, deliver, &s,
	    err, sizeof(err)) != STORE_OK) {
		not_sent(ctx, &s, err);
		return 1;
	}
	snprintf(id, sizeof(id), "%lld", (long long)msg_id);
	metrics.messages[kind == STORE_ME ? METRIC_MSG_ME : METRIC_MSG_SAY]++;
	event_log(kind == STORE_ME ? "ME" : "SAY", "id", id, "from", ctx->user,
	    "text", body, (char *)NULL);
	if (!ctx->session->interactive) {
		/* Scripts see no room echo: acknowledge instead. */
		char *b = render_text(body, len);

		ctx_printf(ctx, MSG_SAID, b);
		free(b);
	}
	return 0;
}

int
cmd_say(struct cmd_ctx *ctx, int argc, char **argv)
{
	return say_to_room(ctx, STORE_SAY, argv[1]);
}

int
cmd_me(struct cmd_ctx *ctx, int argc, char **argv)
{
	return say_to_room(ctx, STORE_ME, argv[1]);
}

int
cmd_away(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *reason = argc > 1 ? argv[1] : "away";
	char *safe = render_text(reason, strlen(reason));

	prefs_set_away(ctx->user, reason);
	ctx_printf(ctx, MSG_AWAY_SET, safe);
	free(safe);
	return 0;
}

int
cmd_back(struct cmd_ctx *ctx, int argc, char **argv)
{
	if (!prefs_set_away(ctx->user, NULL)) {
		ctx_errorf(ctx, ERR_NOT_AWAY);
		return 1;
	}
	ctx_printf(ctx, MSG_BACK);
	return 0;
}

int
cmd_ignore(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct buf b = { 0 };

	if (argc == 1) {
		prefs_ignore_list(ctx->user, &b);
		if (b.len > 0) {
			ctx_printf(ctx, MSG_IGNORE_LIST, b.data);
		} else {
			ctx_printf(ctx, MSG_IGNORE_NONE);
		}
		buf_free(&b);
		return 0;
	}
	if (!cmd_user_exists(argv[1])) {
		cmd_no_such_user(ctx, argv[1]);
		return 1;
	}
	if (strcmp(argv[1], ctx->user) == 0) {
		ctx_errorf(ctx, ERR_IGNORE_SELF);
		return 1;
	}
	if (!prefs_set_ignore(ctx->user, argv[1], true)) {
		ctx_errorf(ctx, ERR_ALREADY_IGNORED, argv[1]);
		return 1;
	}
	ctx_printf(ctx, MSG_IGNORING, argv[1], argv[1]);
	return 0;
}

int
cmd_unignore(struct cmd_ctx *ctx, int argc, char **argv)
{
	char *safe;

	if (!prefs_set_ignore(ctx->user, argv[1], false)) {
		safe = render_text(argv[1], strlen(argv[1]));
		ctx_errorf(ctx, ERR_NOT_IGNORED, safe);
		free(safe);
		return 1;
	}
	ctx_printf(ctx, MSG_UNIGNORED, argv[1]);
	return 0;
}

int
cmd_set(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct buf b = { 0 };
	char err[256];

	if (argc == 1) {
		prefs_describe(ctx->user, &b);
		ctx_printf(ctx, MSG_SETTINGS, b.data);
		buf_free(&b);
		return 0;
	}
	if (argc != 3) {
		ctx_errorf(ctx, ERR_USAGE, "set [timestamps|bell|notices|color "
		    "on|off]");
		return 1;
	}
	if (prefs_set(ctx->user, argv[1], argv[2], err, sizeof(err)) < 0) {
		char *safe = render_text(err, strlen(err));

		ctx_errorf(ctx, "error: %s", safe);
		free(safe);
		return 1;
	}
	ctx_printf(ctx, MSG_SET_DONE, argv[1], argv[2]);
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
	time_utc(t, "%Y-%m-%dT%H:%M:%SZ", out, outlen);
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

	router_foreach(collect_session, &l);
	if (l.n > 0) {
		qsort(l.rows, l.n, sizeof(*l.rows), cmp_row);
	}
	if (ctx->role != ROLE_ADMIN && !ctx->json) {
		/* One line a user: the least idle session, and away. */
		unsigned n = router_online(&b);
		char *list = xstrdup(b.data != NULL ? b.data : "");

		buf_free(&b);
		buf_appendf(&b, MSG_WHO, n, n == 1 ? "user" : "users", list);
		for (size_t i = 0; i < l.n; i++) {
			int64_t idle = l.rows[i].idle_ms;
			char idle_s[32], away[256];

			if (i > 0 && strcmp(l.rows[i].user,
			    l.rows[i - 1].user) == 0) {
				continue;
			}
			for (size_t j = i + 1; j < l.n &&
			    strcmp(l.rows[j].user, l.rows[i].user) == 0; j++) {
				if (l.rows[j].idle_ms < idle) {
					idle = l.rows[j].idle_ms;
				}
			}
			format_idle(idle, idle_s, sizeof(idle_s));
			buf_appendf(&b, "\n  %-16s idle %s", l.rows[i].user,
			    idle_s);
			if (prefs_away(l.rows[i].user, away, sizeof(away))) {
				char *safe = render_text(away, strlen(away));

				buf_appendf(&b, "  away: %s", safe);
				free(safe);
			}
		}
		ctx_printf(ctx, "%s", b.data);
		buf_free(&b);
		free(list);
		free(l.rows);
		return 0;
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
cmd_whois(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct who_list l = { .now = now_ms() };
	const char *who = argv[1];
	struct buf b = { 0 };
	int64_t idle = -1;
	time_t since = 0;
	size_t sessions = 0;
	char when[32], away[256];

	if (!cmd_user_exists(who)) {
		cmd_no_such_user(ctx, who);
		return 1;
	}
	router_foreach(collect_session, &l);
	for (size_t i = 0; i < l.n; i++) {
		if (strcmp(l.rows[i].user, who) != 0) {
			continue;
		}
		sessions++;
		if (since == 0 || l.rows[i].since < since) {
			since = l.rows[i].since;
		}
		if (idle < 0 || l.rows[i].idle_ms < idle) {
			idle = l.rows[i].idle_ms;
		}
	}
	free(l.rows);
	if (sessions > 0) {
		char idle_s[32];

		format_utc(since, when, sizeof(when));
		format_idle(idle, idle_s, sizeof(idle_s));
		buf_appendf(&b, MSG_WHOIS_ONLINE, who, when, sessions,
		    sessions == 1 ? "session" : "sessions", idle_s);
	} else {
		int64_t last = store_last_login(who);

		if (last > 0) {
			format_utc((time_t)(last / 1000), when, sizeof(when));
		} else {
			snprintf(when, sizeof(when), "never");
		}
		buf_appendf(&b, MSG_WHOIS_OFFLINE, who, when);
	}
	if (prefs_away(who, away, sizeof(away))) {
		char *safe = render_text(away, strlen(away));

		buf_appendf(&b, MSG_WHOIS_AWAY, safe);
		free(safe);
	}
	ctx_printf(ctx, "%s", b.data);
	buf_free(&b);
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
	online_request_end(ctx->session, END_LOGOUT, bye);
	free(bye);
	return 0;
}
