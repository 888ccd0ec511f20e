/*
 * What a user sees at login, before the first prompt: the welcome with
 * who is online, the message of the day, the room lines said while they
 * were away, the private messages that waited for them (read back by the
 * mailbox), then the prompt.  Pushed into the session's mailbox; touches
 * neither the connection nor the shell.
 */
#include "config.h"

#include <stdlib.h>

#include "chat.h"
#include "daemon.h"
#include "greeting.h"
#include "mailbox.h"
#include "messages.h"
#include "online.h"
#include "prefs.h"
#include "record.h"
#include "router.h"
#include "store.h"
#include "util.h"

/* The room lines said since the user was last here (at most 20). */
static void
show_missed_room(struct session *s)
{
	int64_t seen = prefs_room_seen(s->user);
	int64_t last = store_room_last_id();
	struct store_message *m = NULL;
	struct chat_view v;
	int n, shown = 0;

	if (last <= seen) {
		return;
	}
	n = store_room(seen, ROOM_MISSED_MAX, &m);
	if (n <= 0) {
		return;
	}
	prefs_view(&v, s->user, s->color, chat_width(s->interactive, s->cols));
	for (int i = 0; i < n; i++) {
		if (!prefs_ignores(s->user, m[i].sender)) {
			shown++;
		}
	}
	if (shown > 0) {
		char *head = xasprintf(MSG_ROOM_MISSED, shown, shown == 1 ?
		    "line" : "lines");

		online_print(s, REC_TEXT, head);
		free(head);
	}
	for (int i = 0; i < n; i++) {
		char *text;

		if (prefs_ignores(s->user, m[i].sender)) {
			continue;
		}
		text = chat_format_message(&m[i], &v, true);
		online_print(s, REC_TEXT, text);
		free(text);
	}
	store_messages_free(m, n);
	prefs_set_room_seen(s->user, last);
}

void
greeting_send(struct session *s)
{
	struct buf b = { 0 }, names = { 0 };
	int64_t waiting;
	unsigned n;

	n = router_online(&names);
	buf_appendf(&b, MSG_WELCOME, s->user, n, n == 1 ? "user" : "users",
	    names.data);
	online_print(s, REC_TEXT, b.data);
	buf_free(&b);
	buf_free(&names);
	if (daemon_motd(&b) > 0) {
		online_print(s, REC_TEXT, b.data);
	}
	buf_free(&b);
	show_missed_room(s);
	/* Messages that came while the user was away, before the prompt. */
	waiting = store_count_undelivered(s->user);
	if (waiting > 0) {
		buf_appendf(&b, MSG_WAITING, (long long)waiting,
		    waiting == 1 ? "message" : "messages");
		online_print(s, REC_TEXT, b.data);
		buf_free(&b);
		mailbox_fetch_stored(s->mbox);
	}
	buf_appendf(&b, MSG_PROMPT, s->user);
	mailbox_push(s->mbox, REC_PROMPT, b.data, b.len, 0);
	buf_free(&b);
}

