/*
 * The screen model (screen.h): a report's parser and encoder, the
 * decision whether the screen is as reported, and the bytes that show
 * text above the line.  Owns no fd and takes no lock: the session's
 * threads call it with the session lock held, the shell to encode.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "screen.h"

/* A decimal count followed by one space or newline. */
static uint64_t
parse_count(const char **p, const char *end, bool *ok)
{
	uint64_t v = 0;
	const char *q = *p;

	if (q >= end || *q < '0' || *q > '9') {
		*ok = false;
	}
	for (; q < end && *q >= '0' && *q <= '9'; q++) {
		if (v > (UINT64_MAX - 9) / 10) {
			*ok = false;
			break;
		}
		v = v * 10 + (uint64_t)(*q - '0');
	}
	if (q < end && (*q == ' ' || *q == '\n')) {
		q++;
	} else {
		*ok = false;
	}
	*p = q;
	return v;
}

bool
screen_parse(struct screen *sc, const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	bool ok = true;
	uint64_t in, out, recs, cols, erase;

	sc->seen = true;
	if (len == 0) {
		sc->valid = false;
		return true;
	}
	in = parse_count(&p, end, &ok);
	out = parse_count(&p, end, &ok);
	recs = parse_count(&p, end, &ok);
	cols = parse_count(&p, end, &ok);
	erase = parse_count(&p, end, &ok);
	sc->valid = ok && p > data && p[-1] == '\n' &&
	    erase <= (uint64_t)(end - p);
	if (!sc->valid) {
		return false;
	}
	sc->at.in = in;
	sc->at.out = out;
	sc->at.recs = recs;
	sc->at.cols = cols < 10000 ? (int)cols : -1;
	sc->erase = (size_t)erase;
	sc->bytes.len = 0;
	buf_append(&sc->bytes, p, (size_t)(end - p));
	return true;
}

enum screen_verdict
screen_decide(const struct screen *sc, const struct screen_counts *now)
{
	if (!sc->valid) {
		return SCREEN_NO;
	}
	if (sc->at.in != now->in || sc->at.recs != now->recs ||
	    sc->at.cols != now->cols || now->out > sc->at.out) {
		return SCREEN_STALE;
	}
	/* What the shell wrote before it reported goes first. */
	return now->out < sc->at.out ? SCREEN_HOLD : SCREEN_SHOW;
}

size_t
screen_overhead(const struct screen *sc)
{
	return sc->bytes.len;
}

void
screen_compose(const struct screen *sc, const char *text, size_t len,
    struct buf *out)
{
	buf_append(out, sc->bytes.data, sc->erase);
	buf_append(out, text, len);
	buf_append(out, sc->bytes.data + sc->erase,
	    sc->bytes.len - sc->erase);
}

size_t
screen_report_head(char *out, size_t outlen, const struct screen_counts *c,
    size_t erase)
{
	int n = snprintf(out, outlen, "%" PRIu64 " %" PRIu64 " %" PRIu64
	    " %d %zu\n", c->in, c->out, c->recs, c->cols, erase);

	return n > 0 && (size_t)n < outlen ? (size_t)n : 0;
}

void
screen_free(struct screen *sc)
{
	buf_free(&sc->bytes);
	sc->valid = false;
}
