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
	const char *user;		/* chat user, or "root"/owner on the socket */
	const char *origin;		/* for the audit log: "session 12" ... */
	enum user_role role;
	bool json;			/* admin socket: JSON output wanted */
	/* Answers to the command's secret prompts, or NULL: see CMD_ASK. */
	char **secrets;
	int nsecrets;
	/* Print a record (REC_TEXT, REC_ERROR or REC_ASK) to the invoker. */
	void (*emit)(struct cmd_ctx *ctx, int type, const char *text,
	    size_t len);
	void *arg;
};

#define CMD_REST 0x01	/* the last argument takes the rest of the line */
#define CMD_ADMIN 0x02	/* admins only */
#define CMD_AUDIT 0x04	/* log every use (admin actions) */
#define CMD_CHAT 0x08	/* needs a chat session (not the admin socket) */

/*
 * command_run() returns CMD_ASK when the command needs secrets (a
 * password) that ctx does not carry: it has emitted a REC_ASK record with
 * the prompts.  The caller keeps the line, reads the REC_SECRETS answer
 * and runs the same line again with ctx->secrets set.
 */
#define CMD_ASK 2

struct command {
	const char *name;
	const char *usage;	/* arguments, e.g. "<user> <text>" */
	const char *summary;
	const char *example;
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

struct buf;
/* Completion candidates, NUL-separated, for the line up to the cursor. */
void command_complete(const char *line, enum user_role role,
    struct buf *out);

/* Parse and run one input line; returns 0 on success, 1 on failure. */
int command_run(struct cmd_ctx *ctx, const char *line, size_t len);

/*
 * Ask for n secrets (prompts are the variadic strings) unless ctx carries
 * them: returns true when the handler must return CMD_ASK.
 */
bool ctx_ask(struct cmd_ctx *ctx, int n, ...);

void ctx_printf(struct cmd_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ctx_errorf(struct cmd_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Handlers, for the table: cmd_chat.c */
int cmd_msg(struct cmd_ctx *, int, char **);
int cmd_history(struct cmd_ctx *, int, char **);
int cmd_who(struct cmd_ctx *, int, char **);
int cmd_users(struct cmd_ctx *, int, char **);
int cmd_passwd(struct cmd_ctx *, int, char **);
int cmd_logout(struct cmd_ctx *, int, char **);
int cmd_reply(struct cmd_ctx *, int, char **);
int cmd_say(struct cmd_ctx *, int, char **);
int cmd_me(struct cmd_ctx *, int, char **);
int cmd_whois(struct cmd_ctx *, int, char **);
int cmd_away(struct cmd_ctx *, int, char **);
int cmd_back(struct cmd_ctx *, int, char **);
int cmd_ignore(struct cmd_ctx *, int, char **);
int cmd_unignore(struct cmd_ctx *, int, char **);
int cmd_set(struct cmd_ctx *, int, char **);
/* cmd_admin.c */
int cmd_broadcast(struct cmd_ctx *, int, char **);
int cmd_kick(struct cmd_ctx *, int, char **);
int cmd_useradd(struct cmd_ctx *, int, char **);
int cmd_userdel(struct cmd_ctx *, int, char **);
int cmd_lock(struct cmd_ctx *, int, char **);
int cmd_unlock(struct cmd_ctx *, int, char **);
int cmd_reload(struct cmd_ctx *, int, char **);
int cmd_stats(struct cmd_ctx *, int, char **);
int cmd_metrics(struct cmd_ctx *, int, char **);
int cmd_log(struct cmd_ctx *, int, char **);
int cmd_shutdown(struct cmd_ctx *, int, char **);

/* Shared by handlers. */
bool cmd_user_exists(const char *name);
void cmd_no_such_user(struct cmd_ctx *ctx, const char *name);

#endif
