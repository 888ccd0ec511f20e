/*
 * How chat lines look: a message as its recipient sees it, the sender's
 * acknowledgement, a history line.  Every user-supplied part goes
 * through render_text() here, so no caller formats chat text itself.
 */
#ifndef CHAT_H
#define CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_message;

/*
 * A message for its recipient's terminal.  with_time adds when it was
 * sent (for messages read back from the store).  Returns malloc'd text.
 */
char *chat_format_message(const struct store_message *m, bool with_time);
/* The sender's acknowledgement "[to bob] text". */
char *chat_format_sent(const char *to, const char *body, size_t len);
/* One history line as seen by user. */
char *chat_format_history(const struct store_message *m, const char *user);

#endif
