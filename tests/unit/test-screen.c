/*
 * screen.c, the screen model: a report parsed (and malformed ones
 * refused), the decision from the daemon's counts, the bytes composed,
 * and the shell's header encoder read back by the parser.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "screen.h"
#include "unit.h"

static struct screen_counts
counts(uint64_t in, uint64_t out, uint64_t recs, int cols)
{
	struct screen_counts c = { in, out, recs, cols };

	return c;
}

/* A report: header, then erase bytes "E", then redraw bytes "bob> hi". */
static bool
parse(struct screen *sc, const char *text)
{
	return screen_parse(sc, text, strlen(text));
}

int
main(void)
{
	struct screen sc = { 0 };
	struct screen_counts now;
	struct buf b = { 0 };
	char head[96];
	size_t n;

	/* Nothing reported yet: nothing can be shown. */
	now = counts(0, 0, 0, 80);
	CHECK(screen_decide(&sc, &now) == SCREEN_NO);

	/* An empty report: seen (keys may flow), never valid. */
	CHECK(screen_parse(&sc, "", 0));
	CHECK(sc.seen && !sc.valid);
	CHECK(screen_decide(&sc, &now) == SCREEN_NO);

	CHECK(parse(&sc, "12 34 5 80 4\n\r\033[Kbob> hi"));
	CHECK(sc.valid && sc.at.in == 12 && sc.at.out == 34 &&
	    sc.at.recs == 5 && sc.at.cols == 80 && sc.erase == 4);
	CHECK(screen_overhead(&sc) == strlen("\r\033[Kbob> hi"));

	/* The decision. */
	now = counts(12, 34, 5, 80);
	CHECK(screen_decide(&sc, &now) == SCREEN_SHOW);
	now = counts(12, 30, 5, 80);	/* its output still on the way */
	CHECK(screen_decide(&sc, &now) == SCREEN_HOLD);
	now = counts(13, 34, 5, 80);	/* a key since */
	CHECK(screen_decide(&sc, &now) == SCREEN_STALE);
	now = counts(12, 35, 5, 80);	/* output after the report */
	CHECK(screen_decide(&sc, &now) == SCREEN_STALE);
	now = counts(12, 34, 6, 80);	/* a record it has not handled */
	CHECK(screen_decide(&sc, &now) == SCREEN_STALE);
	now = counts(12, 34, 5, 40);	/* resized */
	CHECK(screen_decide(&sc, &now) == SCREEN_STALE);

	/* Erase, text, redraw. */
	screen_compose(&sc, "[from alice] hi\r\n", 17, &b);
	CHECK(b.len == 4 + 17 + 7);
	CHECK(memcmp(b.data, "\r\033[K[from alice] hi\r\nbob> hi", b.len) == 0);
	buf_free(&b);

	/* Malformed reports: refused, and the screen is not valid. */
	CHECK(!parse(&sc, "12 34 5 80 3"));		/* no newline */
	CHECK(!sc.valid);
	now = counts(12, 34, 5, 80);
	CHECK(screen_decide(&sc, &now) == SCREEN_NO);
	CHECK(!parse(&sc, "12 34 5 80 30\nshort"));	/* erase past end */
	CHECK(!parse(&sc, "12 x 5 80 0\n"));
	CHECK(!parse(&sc, "12 34 5\n"));		/* too few */
	CHECK(!parse(&sc, "99999999999999999999999 1 1 80 0\n"));
	CHECK(!parse(&sc, "-1 1 1 80 0\n"));
	/* A width no terminal has is kept as "never the same". */
	CHECK(parse(&sc, "1 1 1 99999 0\n"));
	CHECK(sc.at.cols == -1);

	/* The shell's encoder, read back. */
	now = counts(123456789012ULL, 42, 7, 132);
	n = screen_report_head(head, sizeof(head), &now, 2);
	CHECK(n > 0 && head[n - 1] == '\n');
	memcpy(head + n, "ABxy", 4);
	CHECK(screen_parse(&sc, head, n + 4));
	CHECK(sc.at.in == 123456789012ULL && sc.at.out == 42 &&
	    sc.at.recs == 7 && sc.at.cols == 132 && sc.erase == 2);
	CHECK(screen_report_head(head, 8, &now, 2) == 0);	/* too small */

	screen_free(&sc);
	return unit_done("test-screen");
}
