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

#include "command.h"
#include "conf.h"
#include "log.h"
#include "messages.h"
#include "record.h"
#include "render.h"
#include "router.h"
#include "session.h"
#include "util.h"

static int cmd_help(struct cmd_ctx *, int, char **);
static int cmd_msg(struct cmd_ctx *, int, char **);
static int cmd_who(struct cmd_ctx *, int, char **);
static int cmd_logout(struct cmd_ctx *, int, char **);

static const struct command commands[] = {
	{ "help", "[command]", "list the commands, or show how to use one",
	    0, 1, 0, cmd_help },
	{ "msg", "<user> <text>", "send a private message to a user",
	    2, 2, CMD_REST, cmd_msg },
	{ "who", "", "list the users who are online", 0, 0, 0, cmd_who },
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

static int
cmd_msg(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *to = argv[1];
	struct userdb *db;
	bool exists;
	char *body, *text;
	int n;

	if (argv[2][0] == '\0') {
		ctx_errorf(ctx, ERR_EMPTY_MESSAGE);
		return 1;
	}
	db = userdb_acquire();
	exists = db != NULL && userdb_find(db, to) != NULL;
	userdb_release(db);
	if (!exists) {
		char *name = render_text(to, strlen(to));

		ctx_errorf(ctx, ERR_NO_SUCH_USER, name);
		free(name);
		return 1;
	}
	body = render_text(argv[2], strlen(argv[2]));
	text = xasprintf(MSG_RECEIVED, ctx->user, body);
	n = router_deliver(to, REC_TEXT, text, strlen(text));
	free(text);
	if (n == 0) {
		ctx_errorf(ctx, ERR_NOT_ONLINE, to);
		free(body);
		return 1;
	}
	event_log("MSG", "from", ctx->user, "to", to, "len",
	    (text = xasprintf("%zu", strlen(argv[2]))), "text", argv[2],
	    (char *)NULL);
	free(text);
	ctx_printf(ctx, MSG_SENT, to, body);
	free(body);
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
