/*
 * The one runner of command lines for records (runner.h): the chat
 * shell's and sshchatctl's.  It knows command_run() and the CMD_ASK
 * dance, and nothing of where the records come from or go.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "messages.h"
#include "record.h"
#include "runner.h"
#include "util.h"

#define ANSWERS_MAX 8

static void
run(struct runner *r, const char *line, size_t len, char **answers, int n)
{
	struct cmd_ctx ctx = r->ctx;
	int rc;

	ctx.secrets = answers;
	ctx.nsecrets = n;
	rc = command_run(&ctx, line, len);
	if (rc == CMD_ASK) {
		if (answers != NULL && !r->reask) {
			/* It asked again: the answers did not satisfy it. */
			if (r->on_refused != NULL) {
				r->on_refused(r, ERR_ADMIN_NO_ANSWERS);
			}
			rc = 1;
		} else {
			free(r->pending);
			r->pending = xstrndup(line, len);
			r->pending_len = len;
			return;
		}
	}
	if (r->done != NULL) {
		r->done(r, rc);
	}
}

void
runner_line(struct runner *r, const char *line, size_t len)
{
	free(r->pending);
	r->pending = NULL;
	run(r, line, len, NULL, 0);
}

bool
runner_answers(struct runner *r, char *data, size_t len)
{
	char *answers[ANSWERS_MAX + 1], *line = r->pending;
	size_t line_len = r->pending_len;
	int n = 0;

	if (line == NULL) {
		secure_zero(data, len);
		return false;
	}
	r->pending = NULL;
	r->pending_len = 0;
	n = (int)record_split_answers(data, len, answers, ANSWERS_MAX);
	answers[n] = NULL;
	run(r, line, line_len, answers, n);
	secure_zero(data, len);
	free(line);
	return true;
}

bool
runner_cancel(struct runner *r)
{
	if (r->pending == NULL) {
		return false;
	}
	free(r->pending);
	r->pending = NULL;
	r->pending_len = 0;
	return true;
}

bool
runner_waiting(const struct runner *r)
{
	return r->pending != NULL;
}

void
runner_free(struct runner *r)
{
	runner_cancel(r);
}
