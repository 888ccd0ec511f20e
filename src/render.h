/*
 * The one place where untrusted text is made safe for a terminal or a
 * log.  Nothing a user typed reaches another terminal or a log file
 * without passing through here.
 */
#ifndef RENDER_H
#define RENDER_H

#include <stddef.h>

/*
 * Text for a terminal: the result is valid UTF-8 and holds no C0/C1
 * control, DEL, bidi control or invisible format character; each is shown
 * as a visible escape instead (see render.c).  Newlines and tabs are
 * escaped too: one input always renders to one line.  Returns a malloc'd
 * string.
 */
char *render_text(const char *in, size_t len);

/*
 * A value for a log line: like render_text but escaped with backslashes
 * (\n, \t, \\, \", \xNN, \u{XXXX}) and wrapped in double quotes when it is
 * empty or holds a space, '"' or '='.  Returns a malloc'd string.
 */
char *render_log_value(const char *in, size_t len);

/* Display width in terminal columns of valid, rendered UTF-8. */
size_t render_width(const char *s);

/*
 * Byte length of the longest prefix of s that fits in maxcols columns,
 * never splitting a character or parting a base character from its
 * combining marks; for wrapping rendered text.  With maxcols >= 2 a
 * non-empty s always yields a non-empty prefix.
 */
size_t render_clip(const char *s, size_t maxcols);

#endif
