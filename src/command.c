/*
 * Command lookup, argument splitting and the chat commands' handlers.
 * Handlers get split arguments and a context; they render every piece of
 * user-supplied text with render_text() before it reaches a terminal.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "command.h"
#include "conf.h"
#include "log.h"
#include "messages.h"
#include "record.h"
#include "render.h"
#include "router.h"
#include "session.h"
#include "store.h"
#include "util.h"

static int cmd_help(struct cmd_ctx *, int, char **);
static int cmd_msg(struct cmd_ctx *, int, char **);
static int cmd_who(struct cmd_ctx *, int, char **);
static int cmd_logout(struct cmd_ctx *, int, char **);
static int cmd_history(struct cmd_ctx *, int, char **);

static const struct command commands[] = {
	{ "help", "[command]", "list the commands, or show how to use one",
	    0, 1, 0, cmd_help },
	{ "msg", "<user> <text>", "send a private message to a user",
	    2, 2, CMD_REST, cmd_msg },
	{ "who", "", "list the users who are online", 0, 0, 0, cmd_who },
	{ "history", "[user] [count]",
	    "show your recent messages, with one user or with everyone",
	    0, 2, 0, cmd_history },
	{ "logout", "", "end the session (Ctrl-D does the same)", 0, 0, 0,
	    cmd_logout },
};

const struct command *
command_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(commands[i].name, name) == 0) {
			return &commands[i];
		}
	}
	return NULL;
}

size_t
command_count(void)
{
	return ARRAY_SIZE(commands);
}

const struct command *
command_get(size_t i)
{
	return i < ARRAY_SIZE(commands) ? &commands[i] : NULL;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int
command_split(char *line, char **argv, int max)
{
	int argc = 0;
	char *p = line;

	while (argc < max) {
		while (is_blank(*p)) {
			p++;
		}
		if (*p == '\0') {
			break;
		}
		argv[argc++] = p;
		if (argc == max) {
			break;
		}
		while (*p != '\0' && !is_blank(*p)) {
			p++;
		}
		if (*p == '\0') {
			break;
		}
		*p++ = '\0';
	}
	if (argc == max) {
		/* The last word is the rest of the line, minus trailing blanks. */
		char *end = argv[argc - 1] + strlen(argv[argc - 1]);

		while (end > argv[argc - 1] && is_blank(end[-1])) {
			*--end = '\0';
		}
	}
	return argc;
}

static void
ctx_vemit(struct cmd_ctx *ctx, int type, const char *fmt, va_list ap)
{
	char *text = xvasprintf(fmt, ap);

	ctx->emit(ctx, type, text);
	free(text);
}

void
ctx_printf(struct cmd_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctx_vemit(ctx, REC_TEXT, fmt, ap);
	va_end(ap);
}

void
ctx_errorf(struct cmd_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctx_vemit(ctx, REC_ERROR, fmt, ap);
	va_end(ap);
}

static void
usage(struct cmd_ctx *ctx, const struct command *c)
{
	char *u = xasprintf("%s%s%s", c->name, c->usage[0] ? " " : "",
	    c->usage);

	ctx_errorf(ctx, ERR_USAGE, u);
	free(u);
}

int
command_run(struct cmd_ctx *ctx, const char *line, size_t len)
{
	char *copy, *argv[CMD_MAX_ARGS + 1];
	const struct command *c;
	int argc, max, rc;

	if (len > (size_t)options.max_line_length) {
		ctx_errorf(ctx, ERR_TOO_LONG, options.max_line_length);
		return 1;
	}
	copy = xstrndup(line, len);
	/* The first word alone decides the command. */
	argc = command_split(copy, argv, 2);
	if (argc == 0) {
		free(copy);
		return 0;
	}
	c = command_find(argv[0]);
	if (c == NULL || ((c->flags & CMD_ADMIN) && ctx->role != ROLE_ADMIN)) {
		char *name = render_text(argv[0], strlen(argv[0]));

		ctx_errorf(ctx, ERR_UNKNOWN_COMMAND, name);
		free(name);
		free(copy);
		return 1;
	}
	max = c->max_args + 1;
	if (argc == 2) {
		if (c->flags & CMD_REST) {
			argc = 1 + command_split(argv[1], argv + 1, c->max_args);
		} else {
			argc = 1 + command_split(argv[1], argv + 1, max);
		}
	}
	if (argc - 1 < c->min_args || argc > max) {
		usage(ctx, c);
		free(copy);
		return 1;
	}
	argv[argc] = NULL;
	rc = c->handler(ctx, argc, argv);
	free(copy);
	return rc;
}

static int
cmd_help(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct buf b = { 0 };
	size_t width = 0;

	if (argc == 2) {
		const struct command *c = command_find(argv[1]);

		if (c == NULL) {
			char *name = render_text(argv[1], strlen(argv[1]));

			ctx_errorf(ctx, ERR_UNKNOWN_COMMAND, name);
			free(name);
			return 1;
		}
		ctx_printf(ctx, "%s%s%s\n  %s", c->name, c->usage[0] ? " " : "",
		    c->usage, c->summary);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		size_t w = strlen(commands[i].name) + 1 +
		    strlen(commands[i].usage);

		if (w > width) {
			width = w;
		}
	}
	buf_appendf(&b, "%s\n", MSG_HELP_HEADER);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		const struct command *c = &commands[i];
		char *u;

		if ((c->flags & CMD_ADMIN) && ctx->role != ROLE_ADMIN) {
			continue;
		}
		u = xasprintf("%s %s", c->name, c->usage);
		buf_appendf(&b, "  %-*s  %s\n", (int)width, u, c->summary);
		free(u);
	}
	buf_appendf(&b, "%s", MSG_HELP_FOOTER);
	ctx_printf(ctx, "%s", b.data);
	buf_free(&b);
	return 0;
}

static bool
user_exists(const char *name)
{
	struct userdb *db = userdb_acquire();
	bool exists = db != NULL && userdb_find(db, name) != NULL;

	userdb_release(db);
	return exists;
}

static void
no_such_user(struct cmd_ctx *ctx, const char *name)
{
	char *safe = render_text(name, strlen(name));

	ctx_errorf(ctx, ERR_NO_SUCH_USER, safe);
	free(safe);
}

static int
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
	if (!user_exists(to)) {
		no_such_user(ctx, to);
		return 1;
	}
	/* Stored first: nobody hears of a message that is not on disk. */
	r = store_append(ctx->user, to, body, len, &msg_id, err, sizeof(err));
	if (r == STORE_FULL_QUEUE) {
		ctx_errorf(ctx, ERR_QUEUE_FULL, to, options.max_queued);
		return 1;
	}
	if (r != STORE_OK) {
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

static int
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
	if (peer != NULL && !user_exists(peer)) {
		no_such_user(ctx, peer);
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

static int
cmd_who(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct buf b = { 0 };
	unsigned n = router_online(&b);

	ctx_printf(ctx, MSG_WHO, n, n == 1 ? "user" : "users", b.data);
	buf_free(&b);
	return 0;
}

static int
cmd_logout(struct cmd_ctx *ctx, int argc, char **argv)
{
	char *bye;

	if (ctx->session == NULL) {
		return 0;
	}
	/* Scripts without a terminal get no goodbye line in their output. */
	bye = ctx->session->interactive ? xasprintf(MSG_GOODBYE, ctx->user) :
	    xstrdup("");
	session_request_end(ctx->session, END_LOGOUT, bye);
	free(bye);
	return 0;
}
