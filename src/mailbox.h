/*
 * A session's mailbox: a bounded queue of records in front of its shell,
 * drained by the session's own mailbox thread.  Pushing never blocks, so
 * a slow or frozen terminal stalls only its own mailbox thread.
 */
#ifndef MAILBOX_H
#define MAILBOX_H

#include <stdbool.h>
#include <stddef.h>

struct mailbox;

/* fd: the daemon's end of the shell socket; cap: queued chat messages. */
struct mailbox *mailbox_new(int fd, size_t cap);
/* Start the thread that writes queued records to fd. */
int mailbox_start(struct mailbox *mb);
/*
 * Queue one record.  A chat message (is_message) is refused when the
 * queue already holds cap messages; replies to the session's own
 * commands are always queued.  Returns false when refused or closed.
 */
bool mailbox_push(struct mailbox *mb, int type, const char *data,
    size_t len, bool is_message);
/* Records waiting to be written. */
size_t mailbox_pending(struct mailbox *mb);
/*
 * Stop accepting records, let the thread finish or give up, join it and
 * free the mailbox.  The caller shuts the socket down first if the
 * shell may be gone, so a blocked write returns.
 */
void mailbox_free(struct mailbox *mb);

#endif
