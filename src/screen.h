/*
 * The chat shell's screen as the daemon models it.  Before it waits, the
 * shell reports (REC_SCREEN) how many bytes of input it has read, how
 * many it has written, how many records it has handled, its width, and
 * the bytes that erase and then redraw its prompt and half-typed line.
 * While the daemon's own counts of the bytes that passed the terminal
 * socket and the records it sent match the report, the screen is as
 * reported, and text can be shown above the line without waking the
 * shell: erase, text, redraw.
 *
 * A pure structure: parse a report, decide from the counts, compose the
 * bytes.  No I/O, no locks, no libssh; the shell uses the encoder too.
 */
#ifndef SCREEN_H
#define SCREEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* What has passed, counted on one side of the terminal socket. */
struct screen_counts {
	uint64_t in;		/* input bytes: read by the shell */
	uint64_t out;		/* output bytes: written by the shell */
	uint64_t recs;		/* records handled by the shell */
	int cols;		/* terminal width */
};

struct screen {
	bool seen;		/* a report came (even an empty one) */
	bool valid;		/* the last report could be used */
	struct screen_counts at;	/* as last reported */
	size_t erase;		/* bytes.data[0, erase): erase the line */
	struct buf bytes;	/* erase, then redraw */
};

enum screen_verdict {
	SCREEN_SHOW,		/* as reported: show text now */
	SCREEN_HOLD,		/* the shell's output is still on its way */
	SCREEN_STALE,		/* moved since: a newer report may wait */
	SCREEN_NO,		/* cannot show (no report, other width) */
};

/*
 * Take one report.  An empty report says the shell cannot keep its
 * terminal raw: the screen is seen but never valid.  Returns false for a
 * malformed one (the screen is then not valid until the next).
 */
bool screen_parse(struct screen *sc, const char *data, size_t len);

/* Is the screen as reported, given what passed on the daemon's side? */
enum screen_verdict screen_decide(const struct screen *sc,
    const struct screen_counts *now);

/* Bytes to show text (already CR LF ended) above the line: appended. */
void screen_compose(const struct screen *sc, const char *text, size_t len,
    struct buf *out);
/* Bytes composing text of len adds to it. */
size_t screen_overhead(const struct screen *sc);

/*
 * The report's header for the shell: "in out recs cols erase\n".
 * Returns its length, or 0 if it does not fit.
 */
size_t screen_report_head(char *out, size_t outlen,
    const struct screen_counts *c, size_t erase);

void screen_free(struct screen *sc);

#endif
