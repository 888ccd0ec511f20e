/*
 * The command table: one row per command (name, usage, summary, argument
 * limits, who may run it).  It serves the chat shell, exec requests and
 * (later) the admin socket; help text and the man page check read the
 * same rows.
 */
#ifndef COMMAND_H
#define COMMAND_H

#include <stdbool.h>
#include <stddef.h>

#include "userdb.h"

struct session;

/* Who runs a command and where its output goes. */
struct cmd_ctx {
	struct session *session;	/* NULL when not from a chat session */
	const char *user;
	enum user_role role;
	/* Print a record (REC_TEXT or REC_ERROR) to the invoker. */
	void (*emit)(struct cmd_ctx *ctx, int type, const char *text);
	void *arg;
};

#define CMD_REST 0x01	/* the last argument takes the rest of the line */
#define CMD_ADMIN 0x02	/* admins only */

struct command {
	const char *name;
	const char *usage;	/* arguments, e.g. "<user> <text>" */
	const char *summary;
	int min_args, max_args;
	unsigned flags;
	int (*handler)(struct cmd_ctx *ctx, int argc, char **argv);
};

#define CMD_MAX_ARGS 8

const struct command *command_find(const char *name);
size_t command_count(void);
const struct command *command_get(size_t i);

/*
 * Split line in place into at most max words separated by blanks; when
 * max words are found, the last one is the rest of the line (leading
 * blanks removed, the rest kept as typed).  Returns the word count.
 */
int command_split(char *line, char **argv, int max);

/* Parse and run one input line; returns 0 on success, 1 on failure. */
int command_run(struct cmd_ctx *ctx, const char *line, size_t len);

void ctx_printf(struct cmd_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ctx_errorf(struct cmd_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
