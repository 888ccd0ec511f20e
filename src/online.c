/*
 * The online-session record's two doors: text for the user's terminal
 * goes into its mailbox, and a request to end sets the record's
 * end_request and wakes the session thread.  Callable from any thread;
 * never blocks.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "mailbox.h"
#include "online.h"
#include "record.h"
#include "util.h"

static const char *const reason_names[] = {
	[END_NONE] = "none",
	[END_LOGOUT] = "logout",
	[END_EOF] = "eof",
	[END_DROPPED] = "dropped",
	[END_SHUTDOWN] = "shutdown",
	[END_KICKED] = "kicked",
	[END_IDLE] = "idle",
	[END_PROTOCOL] = "protocol",
	[END_LOCKED] = "locked",
	[END_REMOVED] = "removed",
};

const char *
online_end_reason_name(enum end_reason r)
{
	return (unsigned)r < ARRAY_SIZE(reason_names) ? reason_names[r] : "?";
}

void
online_print(struct session *s, int type, const char *text)
{
	mailbox_push(s->mbox, type, text, strlen(text), 0);
}

void
online_request_end(struct session *s, enum end_reason why, const char *text)
{
	int expected = END_NONE;
	uint64_t one = 1;

	if (!atomic_compare_exchange_strong(&s->end_request, &expected,
	    (int)why)) {
		return;
	}
	if (s->mbox != NULL) {
		mailbox_push(s->mbox, REC_EXIT, text, strlen(text), 0);
	}
	(void)!write(s->wake_fd, &one, sizeof(one));
}
