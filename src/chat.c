/*
 * Chat line formatting.  Lines always start with a tag the daemon wrote,
 * and bodies are rendered to one line, so no message can produce a line
 * that imitates another user's.  Colour and the bell are the only
 * control sequences in a chat line, and only this module writes them.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat.h"
#include "messages.h"
#include "render.h"
#include "store.h"
#include "util.h"

#define SGR_RESET "\033[0m"
#define SGR_MENTION "\033[1;33m"

static void
format_date(int64_t ms, char *out, size_t outlen)
{
	time_utc(ms / 1000, "%b %d %H:%M", out, outlen);
}

/* A stable colour per name: one of six bright foregrounds. */
static void
append_name(struct buf *b, const char *name, const struct chat_view *v)
{
	char *safe = render_text(name, strlen(name));

	if (v != NULL && v->color) {
		unsigned h = 5381;

		for (const char *p = name; *p != '\0'; p++) {
			h = h * 33 + (unsigned char)*p;
		}
		buf_appendf(b, "\033[1;%um%s" SGR_RESET, 31 + h % 6, safe);
	} else {
		buf_appendf(b, "%s", safe);
	}
	free(safe);
}

/* Does text mention name as a word (case-insensitive)? */
static bool
mentions(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = text; n > 0 && *p != '\0'; p++) {
		if (strncasecmp(p, name, n) == 0 &&
		    (p == text || !isalnum((unsigned char)p[-1])) &&
		    !isalnum((unsigned char)p[n])) {
			return true;
		}
	}
	return false;
}

/*
 * Append body wrapped to the view's width with a hanging indent: each
 * continuation row starts under the body's first character, so a long
 * message stays visibly one message.  prefix is the columns the prefix
 * took, hang the indent of the rows after it (prefix, for a chat line);
 * an indent too wide for that (a long name on a narrow terminal)
 * gets an indent of 4, and the first row only what fits after the
 * prefix.  Rows are cut between words when one ends late enough, and
 * never inside a character (render_clip); no row reaches the last
 * column, so no terminal wraps one by itself.
 */
static void
append_wrapped(struct buf *b, const char *body, size_t prefix, size_t hang,
    const struct chat_view *v, bool highlight)
{
	size_t indent = hang, room, len = strlen(body);
	size_t cols = v->cols > 0 ? (size_t)v->cols : 0;

	if (cols > 0 && indent + 10 > cols) {
		indent = cols > 8 ? 4 : 0;
	}
	room = cols > 0 ? cols - indent - 1 : 0;
	for (bool first = true; len > 0; first = false) {
		size_t fit = room;
		size_t n;

		if (first && cols > 0 && prefix != indent) {
			/* Only what fits after the prefix; maybe nothing. */
			fit = prefix + 1 < cols ? cols - prefix - 1 : 0;
			if (fit == 0) {
				continue;	/* the body starts on the next row */
			}
		}
		n = cols > 0 ? render_clip(body, fit) : len;

		if (n < len) {
			/* Prefer to break after a space in the last third. */
			for (size_t k = n; k > n * 2 / 3; k--) {
				if (body[k - 1] == ' ') {
					n = k;
					break;
				}
			}
		}
		if (n == 0) {
			n = len;
		}
		if (!first) {
			buf_appendf(b, "\n%*s", (int)indent, "");
		}
		if (highlight) {
			buf_append(b, SGR_MENTION, strlen(SGR_MENTION));
		}
		buf_append(b, body, n);
		if (highlight) {
			buf_append(b, SGR_RESET, strlen(SGR_RESET));
		}
		body += n;
		len -= n;
		if (len > 0 && *body == ' ') {
			/* The break: no row starts with the space at it. */
			body++;
			len--;
		}
	}
}

/* Columns a prefix takes, without its colour sequences. */
static size_t
visible_width(const char *s)
{
	struct buf plain = { 0 };
	size_t w;

	while (*s != '\0') {
		if (*s == '\033') {
			s += strcspn(s, "m");
			s += *s != '\0';
			continue;
		}
		buf_append(&plain, s++, 1);
	}
	w = plain.data != NULL ? render_width(plain.data) : 0;
	buf_free(&plain);
	return w;
}

char *
chat_format_message(const struct store_message *m, const struct chat_view *v,
    bool stored)
{
	struct buf b = { 0 };
	char *body = render_text(m->body, m->body_len);
	char *out;
	char when[32];
	size_t prefix;
	bool mine = strcmp(m->sender, v->user) == 0;
	bool highlight = v->color && !mine && m->kind != STORE_MSG &&
	    mentions(m->body, v->user);

	if (stored) {
		format_date(m->sent_ms, when, sizeof(when));
	} else if (v->timestamps) {
		time_utc(m->sent_ms > 0 ? m->sent_ms / 1000 :
		    wall_ms() / 1000, "%H:%M ", when, sizeof(when));
		buf_appendf(&b, "%s", when);
	}
	switch (m->kind) {
	case STORE_SAY:
		if (stored) {
			buf_appendf(&b, "[%s] ", when);
		}
		buf_append(&b, "<", 1);
		append_name(&b, m->sender, v);
		buf_append(&b, "> ", 2);
		break;
	case STORE_ME:
		if (stored) {
			buf_appendf(&b, "[%s] ", when);
		}
		buf_append(&b, "* ", 2);
		append_name(&b, m->sender, v);
		buf_append(&b, " ", 1);
		break;
	default:
		buf_append(&b, "[from ", 6);
		append_name(&b, m->sender, v);
		if (stored) {
			buf_appendf(&b, ", %s", when);
		}
		buf_append(&b, "] ", 2);
		break;
	}
	prefix = visible_width(b.data);
	append_wrapped(&b, body, prefix, prefix, v, highlight);
	if (v->bell && !stored && m->kind == STORE_MSG && !mine) {
		buf_append(&b, "\a", 1);
	}
	free(body);
	out = b.data != NULL ? b.data : xstrdup("");
	return out;
}

int
chat_width(bool terminal, int cols)
{
	if (!terminal) {
		return 0;
	}
	return cols > 0 ? cols : CHAT_DEFAULT_COLS;
}

void
chat_wrap_text(struct buf *out, const char *text, size_t len, int cols)
{
	struct chat_view v = { .cols = cols };

	while (len > 0) {
		const char *nl = memchr(text, '\n', len);
		size_t n = nl != NULL ? (size_t)(nl - text) : len;
		char *line = xmalloc(n + 1);

		memcpy(line, text, n);
		line[n] = '\0';
		if (cols <= 0 || memchr(line, '\033', n) != NULL ||
		    render_width(line) < (size_t)cols) {
			buf_append(out, line, n);
		} else {
			append_wrapped(out, line, 0, CHAT_WRAP_INDENT, &v, false);
		}
		free(line);
		if (nl == NULL) {
			break;
		}
		buf_append(out, "\n", 1);
		text += n + 1;
		len -= n + 1;
	}
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

	format_date(m->sent_ms, when, sizeof(when));
	body = render_text(m->body, m->body_len);
	peer = mine ? render_text(m->recipient, strlen(m->recipient)) :
	    render_text(m->sender, strlen(m->sender));
	text = xasprintf(mine ? MSG_HISTORY_SENT : MSG_HISTORY_RECEIVED, when,
	    peer, body);
	free(peer);
	free(body);
	return text;
}

char *
chat_format_notice(const char *const *users, size_t n, bool joined,
    const struct chat_view *v)
{
	struct buf b = { 0 };
	size_t shown = n;

	if (shown > NOTICE_NAMES_MAX) {
		shown = NOTICE_NAMES_MAX;
	}

	if (v->timestamps) {
		char when[16];

		time_utc(time(NULL), "%H:%M ", when, sizeof(when));
		buf_appendf(&b, "%s", when);
	}
	buf_append(&b, "* ", 2);
	for (size_t i = 0; i < shown; i++) {
		if (i > 0) {
			buf_appendf(&b, "%s", i + 1 == n ? " and " : ", ");
		}
		append_name(&b, users[i], v);
	}
	if (shown < n) {
		buf_appendf(&b, MSG_NOTICE_OTHERS, n - shown);
	}
	buf_appendf(&b, " %s", joined ? MSG_JOINED : MSG_LEFT);
	return b.data;
}
