/* Command lookup and argument splitting. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "conf.h"
#include "record.h"
#include "unit.h"
#include "util.h"

static struct buf out;
static int last_type;

static void
emit(struct cmd_ctx *ctx, int type, const char *text, size_t len)
{
	last_type = type;
	buf_free(&out);
	buf_append(&out, text, len);
}

static void
test_split(void)
{
	char line[] = "  msg   bob   hello   there  ";
	char *argv[4];
	int argc;

	argc = command_split(line, argv, 3);
	CHECK(argc == 3);
	CHECK_STR(argv[0], "msg");
	CHECK_STR(argv[1], "bob");
	CHECK_STR(argv[2], "hello   there");

	char l2[] = "who";
	argc = command_split(l2, argv, 3);
	CHECK(argc == 1);
	CHECK_STR(argv[0], "who");

	char l3[] = "   \t ";
	CHECK(command_split(l3, argv, 3) == 0);

	char l4[] = "a\tb c d";
	argc = command_split(l4, argv, 2);
	CHECK(argc == 2);
	CHECK_STR(argv[0], "a");
	CHECK_STR(argv[1], "b c d");
}

static void
test_lookup(void)
{
	CHECK(command_find("msg") != NULL);
	CHECK(command_find("logout") != NULL);
	CHECK(command_find("help") != NULL);
	CHECK(command_find("who") != NULL);
	CHECK(command_find("ms") == NULL);
	CHECK(command_find("") == NULL);
	CHECK(command_find("MSG") == NULL);
	for (size_t i = 0; i < command_count(); i++) {
		const struct command *c = command_get(i);

		CHECK(command_find(c->name) == c);
		CHECK(c->summary != NULL && c->summary[0] != '\0');
		CHECK(c->usage != NULL);
		CHECK(c->min_args <= c->max_args);
		CHECK(c->max_args < CMD_MAX_ARGS);
	}
	CHECK(command_get(command_count()) == NULL);
}

static void
test_run(void)
{
	struct cmd_ctx ctx = { .user = "alice", .role = ROLE_USER,
		.emit = emit };

	CHECK(command_run(&ctx, "bogus x", 7) == 1);
	CHECK(last_type == REC_ERROR);
	CHECK(strstr(out.data, "unknown command 'bogus'") != NULL);

	/* A command's name with escapes is rendered safely in the error. */
	CHECK(command_run(&ctx, "\x1b[2J", 4) == 1);
	CHECK(strchr(out.data, '\x1b') == NULL);

	CHECK(command_run(&ctx, "msg", 3) == 1);
	CHECK_STR(out.data, "usage: msg <user>[,<user>...] <text>");
	CHECK(command_run(&ctx, "msg bob", 7) == 1);
	CHECK_STR(out.data, "usage: msg <user>[,<user>...] <text>");
	CHECK(command_run(&ctx, "who extra", 9) == 1);
	CHECK_STR(out.data, "usage: who");
	CHECK(command_run(&ctx, "help msg extra", 14) == 1);
	CHECK(command_run(&ctx, "help msg", 8) == 0);
	CHECK(strstr(out.data, "msg <user>[,<user>...] <text>") != NULL);
	/* help lists a user's commands only; an admin sees them all. */
	CHECK(command_run(&ctx, "help", 4) == 0);
	for (size_t i = 0; i < command_count(); i++) {
		const struct command *c = command_get(i);
		char *row = xasprintf("\n  %s ", c->name);

		CHECK((strstr(out.data, row) != NULL) == !(c->flags & CMD_ADMIN));
		free(row);
	}
	ctx.role = ROLE_ADMIN;
	CHECK(command_run(&ctx, "help", 4) == 0);
	for (size_t i = 0; i < command_count(); i++) {
		char *row = xasprintf("\n  %s ", command_get(i)->name);

		CHECK(strstr(out.data, row) != NULL);
		free(row);
	}
	ctx.role = ROLE_USER;

	/* An admin command run by a user: permission denied, not unknown. */
	CHECK(command_run(&ctx, "kick bob", 8) == 1);
	CHECK(last_type == REC_ERROR);
	CHECK_STR(out.data,
	    "error: permission denied: 'kick' is for administrators");
	/* Every row has an example that starts with its name. */
	for (size_t i = 0; i < command_count(); i++) {
		const struct command *c = command_get(i);

		CHECK(strncmp(c->example, c->name, strlen(c->name)) == 0);
	}
	/* Blank input is not an error and prints nothing. */
	last_type = 0;
	CHECK(command_run(&ctx, "   ", 3) == 0);
	CHECK(last_type == 0);

	/* Over-long lines are refused before parsing. */
	{
		size_t n = (size_t)options.max_line_length + 1;
		char *big = xmalloc(n);

		memset(big, 'a', n);
		CHECK(command_run(&ctx, big, n) == 1);
		CHECK(strstr(out.data, "too long") != NULL);
		free(big);
	}
}

int
main(void)
{
	conf_defaults();
	test_split();
	test_lookup();
	test_run();
	buf_free(&out);
	conf_free();
	return unit_done("test-command");
}
