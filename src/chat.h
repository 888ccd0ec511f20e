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
 * The width lines for a terminal are wrapped to: its own, or 80 columns
 * when the client did not say; 0 (no wrapping) without a terminal, where
 * a script reads the lines.
 */
#define CHAT_DEFAULT_COLS 80
int chat_width(bool terminal, int cols);

/*
 * Append text (lines separated by LF) to out with every line wider than
 * the terminal broken between words, the rows after the first indented
 * (CHAT_WRAP_INDENT), so that no part of a line the terminal would have
 * wrapped by itself starts at column 0 where it could pass for a line
 * of its own.  Lines with colour are daemon-formatted chat lines, wrapped
 * already (chat_format_message), and are left as they are.
 */
#define CHAT_WRAP_INDENT 4
struct buf;
void chat_wrap_text(struct buf *out, const char *text, size_t len, int cols);

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
