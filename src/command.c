/*
 * The command table, lookup, argument splitting, permission checks and
 * the audit line; help is generated from the same rows.  The handlers
 * live in cmd_chat.c (everybody's commands) and cmd_admin.c (admins').
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
#include "metrics.h"
#include "online.h"
#include "record.h"
#include "prefs.h"
#include "render.h"
#include "router.h"
#include "util.h"

static int cmd_help(struct cmd_ctx *, int, char **);

static const struct command commands[] = {
	{ "help", "[command]", "list the commands, or show how to use one",
	    "help msg", 0, 1, 0, cmd_help },
	{ "msg", "<user>[,<user>...] <text>", "send a private message to "
	    "one or more users (kept for them if they are offline)",
	    "msg bob are you there?", 2, 2, CMD_REST | CMD_CHAT, cmd_msg },
	{ "history", "[user] [count]",
	    "show your recent messages, with one user or with everyone",
	    "history bob 50", 0, 2, CMD_CHAT, cmd_history },
	{ "reply", "<text>", "answer whoever last sent you a message",
	    "reply on my way", 1, 1, CMD_REST | CMD_CHAT, cmd_reply },
	{ "say", "<text>", "say something to everyone in the room",
	    "say good morning, all", 1, 1, CMD_REST | CMD_CHAT, cmd_say },
	{ "me", "<action>", "tell the room what you are doing",
	    "me is making coffee", 1, 1, CMD_REST | CMD_CHAT, cmd_me },
	{ "who", "", "list who is online, idle and away (admins see every "
	    "session)", "who", 0, 0, 0, cmd_who },
	{ "whois", "<user>", "when a user logged in, how long idle, away",
	    "whois bob", 1, 1, 0, cmd_whois },
	{ "away", "[reason]", "mark yourself away; people who write to you "
	    "are told once", "away lunch, back at two", 0, 1,
	    CMD_REST | CMD_CHAT, cmd_away },
	{ "back", "", "you are no longer away", "back", 0, 0, CMD_CHAT,
	    cmd_back },
	{ "ignore", "[user]", "hide a user's messages and room lines (kept "
	    "across sessions); alone, list whom you ignore", "ignore mallory",
	    0, 1, CMD_CHAT, cmd_ignore },
	{ "unignore", "<user>", "stop ignoring a user", "unignore mallory",
	    1, 1, CMD_CHAT, cmd_unignore },
	{ "set", "[name value]", "show your settings, or set timestamps, "
	    "bell, notices or color on or off", "set timestamps off", 0, 2,
	    CMD_CHAT, cmd_set },
	{ "users", "", "list the accounts, when each was last seen, who is "
	    "online", "users", 0, 0, 0, cmd_users },
	{ "passwd", "[user]", "change your password (admins: anyone's)",
	    "passwd", 0, 1, CMD_AUDIT, cmd_passwd },
	{ "logout", "", "end the session (Ctrl-D does the same)", "logout",
	    0, 0, CMD_CHAT, cmd_logout },
	{ "broadcast", "<text>", "send a server message to everyone online",
	    "broadcast maintenance at 18:00", 1, 1, CMD_ADMIN | CMD_AUDIT |
	    CMD_REST, cmd_broadcast },
	{ "kick", "<user> [reason]", "end all of a user's sessions",
	    "kick mallory flooding", 1, 2, CMD_ADMIN | CMD_AUDIT | CMD_REST,
	    cmd_kick },
	{ "useradd", "<user> [--admin]", "create an account (asks for the "
	    "password)", "useradd dave", 1, 2, CMD_ADMIN | CMD_AUDIT,
	    cmd_useradd },
	{ "userdel", "<user>", "delete an account and end its sessions",
	    "userdel dave", 1, 1, CMD_ADMIN | CMD_AUDIT, cmd_userdel },
	{ "lock", "<user>", "lock an account and end its sessions",
	    "lock mallory", 1, 1, CMD_ADMIN | CMD_AUDIT, cmd_lock },
	{ "unlock", "<user>", "unlock an account", "unlock mallory", 1, 1,
	    CMD_ADMIN | CMD_AUDIT, cmd_unlock },
	{ "reload", "", "re-read the configuration and users files (as "
	    "SIGHUP)", "reload", 0, 0, CMD_ADMIN | CMD_AUDIT, cmd_reload },
	{ "stats", "", "uptime, sessions, logins, messages, store size",
	    "stats", 0, 0, CMD_ADMIN, cmd_stats },
	{ "metrics", "", "the counters in Prometheus text format (as "
	    "MetricsFile)", "metrics", 0, 0, CMD_ADMIN, cmd_metrics },
	{ "log", "[count]", "show the last lines of server_events.log",
	    "log 50", 0, 1, CMD_ADMIN, cmd_log },
	{ "shutdown", "[message]", "stop the server after saying goodbye "
	    "to everyone", "shutdown back in five minutes", 0, 1,
	    CMD_ADMIN | CMD_AUDIT | CMD_REST, cmd_shutdown },
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

/*
 * Output longer than a record goes out in pieces, cut after a newline
 * (which is dropped: each record is printed as a line), or else at a
 * character boundary, never inside a UTF-8 sequence.
 */
static void
ctx_vemit(struct cmd_ctx *ctx, int type, const char *fmt, va_list ap)
{
	char *all = xvasprintf(fmt, ap), *text = all;
	size_t len = strlen(text);
	const size_t max = RECORD_MAX - 1;

	while (len > max) {
		size_t n = max, skip = 1;

		while (n > 0 && text[n - 1] != '\n') {
			n--;
		}
		if (n > 0) {
			n--;
		} else {
			n = max;
			while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80) {
				n--;
			}
			skip = 0;
		}
		ctx->emit(ctx, type, text, n);
		text += n + skip;
		len -= n + skip;
	}
	ctx->emit(ctx, type, text, len);
	free(all);
}

bool
ctx_ask(struct cmd_ctx *ctx, int n, ...)
{
	struct buf b = { 0 };
	va_list ap;

	if (ctx->secrets != NULL) {
		return false;
	}
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		const char *p = va_arg(ap, const char *);

		buf_append(&b, p, strlen(p) + 1);
	}
	va_end(ap);
	ctx->emit(ctx, REC_ASK, b.data, b.len);
	buf_free(&b);
	return true;
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

static void
audit(struct cmd_ctx *ctx, const struct command *c, const char *args,
    const char *result)
{
	event_log("ADMIN", "by", ctx->user, "origin",
	    ctx->origin != NULL ? ctx->origin : "?", "command", c->name,
	    "args", args, "result", result, (char *)NULL);
}

int
command_run(struct cmd_ctx *ctx, const char *line, size_t len)
{
	char *copy, *args, *argv[CMD_MAX_ARGS + 1];
	const struct command *c;
	int argc, max, rc;

	if (len > (size_t)options.max_line_length) {
		metrics.refusals[METRIC_LIMIT_MAX_LINE_LENGTH]++;
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
	args = xstrdup(argc == 2 ? argv[1] : "");
	c = command_find(argv[0]);
	if (c == NULL) {
		char *name = render_text(argv[0], strlen(argv[0]));

		if (ctx->session != NULL && ctx->session->interactive) {
			/* Plain text is never sent anywhere by accident. */
			char *all = render_text(line, len);

			ctx_errorf(ctx, ERR_UNKNOWN_COMMAND ERR_SAY_HINT, name,
			    all);
			free(all);
		} else {
			ctx_errorf(ctx, ERR_UNKNOWN_COMMAND, name);
		}
		free(name);
		rc = 1;
		goto out;
	}
	if ((c->flags & CMD_ADMIN) && ctx->role != ROLE_ADMIN) {
		ctx_errorf(ctx, ERR_PERMISSION, c->name);
		audit(ctx, c, args, "denied");
		rc = 1;
		goto out;
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
		rc = 1;
		goto out;
	}
	if ((c->flags & CMD_CHAT) && ctx->session == NULL) {
		ctx_errorf(ctx, ERR_CHAT_ONLY, c->name);
		rc = 1;
		goto out;
	}
	argv[argc] = NULL;
	rc = c->handler(ctx, argc, argv);
	if ((c->flags & CMD_AUDIT) && rc != CMD_ASK) {
		audit(ctx, c, args, rc == 0 ? "ok" : "error");
	}
out:
	free(args);
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
		ctx_printf(ctx, "usage: %s%s%s\n  %s\nexample: %s", c->name,
		    c->usage[0] ? " " : "", c->usage, c->summary, c->example);
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
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Completion candidates for the last word of line (the text up to the
 * cursor): command names for the first word and after help, setting
 * names after set, else account and online user names.
 */
void
command_complete(const char *line, enum user_role role, struct buf *out)
{
	const char *first, *second, *word;
	size_t first_len, word_len;
	bool want_commands;

	first = line;
	while (is_blank(*first)) {
		first++;
	}
	first_len = 0;
	while (first[first_len] != '\0' && !is_blank(first[first_len])) {
		first_len++;
	}
	second = first + first_len;
	while (is_blank(*second)) {
		second++;
	}
	word = line + strlen(line);
	while (word > first && !is_blank(word[-1])) {
		word--;
	}
	word_len = strlen(word);
	want_commands = word == first || (word == second && first_len == 4 &&
	    strncmp(first, "help", 4) == 0);
	if (word == second && first_len == 3 && strncmp(first, "set", 3) == 0) {
		for (const char *p = prefs_names(); *p != '\0';
		    p += strlen(p) + 1) {
			if (strncmp(p, word, word_len) == 0) {
				buf_append(out, p, strlen(p) + 1);
			}
		}
		return;
	}
	if (want_commands) {
		for (size_t i = 0; i < command_count(); i++) {
			const struct command *c = command_get(i);
			const char *name = c->name;

			if ((c->flags & CMD_ADMIN) && role != ROLE_ADMIN) {
				continue;
			}
			if (strncmp(name, word, word_len) == 0) {
				buf_append(out, name, strlen(name) + 1);
			}
		}
		return;
	}
	{
		struct buf online = { 0 };
		struct userdb *db;
		char **names;
		size_t n = 0, cap = 16, u = 0;

		names = xcalloc(cap, sizeof(*names));
		router_complete(word, &online);
		for (size_t off = 0; off < online.len;) {
			size_t l = strlen(online.data + off);

			if (n == cap) {
				cap *= 2;
				names = xrealloc(names, cap * sizeof(*names));
			}
			names[n++] = xstrdup(online.data + off);
			off += l + 1;
		}
		buf_free(&online);
		db = userdb_acquire();
		for (size_t i = 0; db != NULL && i < userdb_count(db); i++) {
			const char *name = userdb_get(db, i)->name;

			if (strncmp(name, word, word_len) != 0) {
				continue;
			}
			if (n == cap) {
				cap *= 2;
				names = xrealloc(names, cap * sizeof(*names));
			}
			names[n++] = xstrdup(name);
		}
		userdb_release(db);
		qsort(names, n, sizeof(*names), cmp_name);
		for (size_t i = 0; i < n; i++) {
			if (u == 0 || strcmp(names[u - 1], names[i]) != 0) {
				buf_append(out, names[i], strlen(names[i]) + 1);
				names[u++] = names[i];
			} else {
				free(names[i]);
			}
		}
		for (size_t i = 0; i < u; i++) {
			free(names[i]);
		}
		free(names);
	}
}
