/*
 * Chat line formatting.  Lines always start with a bracketed tag the
 * daemon wrote ("[from alice]"), and bodies are rendered to one line, so
 * no message can produce a line that imitates another user's.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat.h"
#include "messages.h"
#include "render.h"
#include "store.h"
#include "util.h"

static void
format_time(int64_t ms, char *out, size_t outlen)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outlen, "%b %d %H:%M", &tm);
}

char *
chat_format_message(const struct store_message *m, bool with_time)
{
	char *body = render_text(m->body, m->body_len);
	char *from = render_text(m->sender, strlen(m->sender));
	char when[32], *text;

	if (with_time) {
		format_time(m->sent_ms, when, sizeof(when));
		text = xasprintf(MSG_RECEIVED_AT, from, when, body);
	} else {
		text = xasprintf(MSG_RECEIVED, from, body);
	}
	free(from);
	free(body);
	return text;
}

char *
chat_format_sent(const char *to, const char *body, size_t len)
{
	char *b = render_text(body, len);
	char *t = render_text(to, strlen(to));
	char *text = xasprintf(MSG_SENT, t, b);

	free(t);
	free(b);
	return text;
}

char *
chat_format_history(const struct store_message *m, const char *user)
{
	char when[32], *text, *body, *peer;
	bool mine = strcmp(m->sender, user) == 0;

	format_time(m->sent_ms, when, sizeof(when));
	body = render_text(m->body, m->body_len);
	peer = mine ? render_text(m->recipient, strlen(m->recipient)) :
	    render_text(m->sender, strlen(m->sender));
	text = xasprintf(mine ? MSG_HISTORY_SENT : MSG_HISTORY_RECEIVED, when,
	    peer, body);
	free(peer);
	free(body);
	return text;
}
