/*
 * How chat lines look: a message as its recipient sees it, the sender's
 * acknowledgement, a history line.  Every user-supplied part goes
 * through render_text() here, so no caller formats chat text itself;
 * the tags the daemon writes ("[from alice]", "<alice>") start every
 * line, so no message can imitate another user's line.
 */
#ifndef CHAT_H
#define CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_message;

/* Who reads a line, and how they like it. */
struct chat_view {
	const char *user;
	bool color;		/* the terminal and the user want colour */
	bool timestamps;
	bool bell;
	int cols;		/* terminal width for wrapping; 0: no wrapping */
};

/*
 * The formatters read nothing but their arguments: a view is filled in
 * by its caller (prefs_view(), from the user's settings).
 */

/*
 * A message, room line or action for v's terminal.  stored: read back
 * from the store, so it carries its date.  Returns malloc'd text.
 */
char *chat_format_message(const struct store_message *m,
    const struct chat_view *v, bool stored);
/* The sender's acknowledgement "[to bob] text" (to may be a list). */
char *chat_format_sent(const char *to, const char *body, size_t len);
/* One history line as seen by user. */
char *chat_format_history(const struct store_message *m, const char *user);
/*
 * A join or leave notice for n users (n >= 1): "* alice joined",
 * "* alice, bob and carol left", at most NOTICE_NAMES_MAX names and then
 * "and N others".
 */
#define NOTICE_NAMES_MAX 8
char *chat_format_notice(const char *const *users, size_t n, bool joined,
    const struct chat_view *v);

#endif
