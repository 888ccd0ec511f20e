/*
 * Running command lines that arrive as records: the chat shell's lines
 * (session.c) and sshchatctl's (admin.c) go through the same runner.  A
 * command that needs secrets (CMD_ASK) leaves its line here until the
 * answers (a REC_SECRETS payload) come; they are wiped once used.
 */
#ifndef RUNNER_H
#define RUNNER_H

#include <stdbool.h>
#include <stddef.h>

#include "command.h"

struct runner {
	/* Everything a command run gets but its secrets. */
	struct cmd_ctx ctx;
	/* Called after each finished command with its status, or NULL. */
	void (*done)(struct runner *r, int status);
	/*
	 * A command that asks again once answered: false, it fails
	 * (refused, on_refused then done(1)); true, it waits once more.
	 */
	bool reask;
	void (*on_refused)(struct runner *r, const char *why);
	char *pending;		/* the line waiting for its answers */
	size_t pending_len;
};

/* Run one line; a line waiting for answers is dropped. */
void runner_line(struct runner *r, const char *line, size_t len);
/*
 * The answers to the waiting line's prompts (NUL-separated): run it
 * with them.  Returns false when no line was waiting.  data is wiped.
 */
bool runner_answers(struct runner *r, char *data, size_t len);
/* Drop the waiting line, if any; returns whether there was one. */
bool runner_cancel(struct runner *r);
bool runner_waiting(const struct runner *r);
void runner_free(struct runner *r);

#endif
