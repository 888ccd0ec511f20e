/*
 * libFuzzer harness for src/render.c, the one place untrusted text is
 * made safe for a terminal or a log.  The input is any bytes: a message
 * body, a user name, an away text.
 *
 * Properties checked (with fuzz-check.h's own decoder and deny list):
 *  - render_text(): valid UTF-8; no C0 byte (not even newline), no DEL,
 *    no C1, no bidi control, no zero-width character, no U+2028/2029;
 *    never more than 8 combining marks in a row; at most 4 bytes and 4
 *    columns of output per input byte; width <= byte length.
 *  - render_log_value(): the same deny list (so no raw newline), quoted
 *    exactly when the input is empty or holds ' ', '"' or '='; no raw
 *    '"' inside, no raw ' ' or '=' when unquoted; and lossless: decoding
 *    the escapes gives back the input bytes exactly.
 *  - render_width()/render_clip(): clip(s, width(s)) == strlen(s) for
 *    rendered and for raw input; clip never cuts a character, never
 *    exceeds its budget, is monotonic in the budget, returns a
 *    non-empty prefix for maxcols >= 2; clip(s, width(prefix)) gives the
 *    same prefix back; wrapping rendered text at W columns makes
 *    progress, fits every piece in W and never starts a piece with a
 *    combining mark.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"

#include "fuzz-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
prefix_width(const char *s, size_t n)
{
	char *c = malloc(n + 1);
	size_t w;

	memcpy(c, s, n);
	c[n] = '\0';
	w = render_width(c);
	free(c);
	return w;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

static size_t
put_utf8(unsigned char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xc0 | (cp >> 6));
		o[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xe0 | (cp >> 12));
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | (cp >> 18));
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Check the quoting of a log value and decode it back to bytes. */
static void
check_log_value(const uint8_t *in, size_t size, const char *v)
{
	size_t vl = strlen(v), i, o = 0, start, end;
	unsigned char *dec = malloc(size + 8);
	bool want_quote = size == 0, quoted;

	for (i = 0; i < size; i++) {
		if (in[i] == ' ' || in[i] == '"' || in[i] == '=') {
			want_quote = true;
		}
	}
	quoted = vl >= 2 && v[0] == '"' && v[vl - 1] == '"';
	if (quoted != want_quote) {
		fz_hexdump("input", in, size);
		fz_hexdump("log value", v, vl);
		FZ_FAIL("render_log_value: quoted=%d, expected %d", quoted,
		    want_quote);
	}
	start = quoted ? 1 : 0;
	end = quoted ? vl - 1 : vl;
	for (i = start; i < end; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '"' || (!quoted && (c == ' ' || c == '='))) {
			fz_hexdump("input", in, size);
			fz_hexdump("log value", v, vl);
			FZ_FAIL("render_log_value: raw '%c' at byte %zu", c, i);
		}
		if (o > size) {
			fz_hexdump("input", in, size);
			fz_hexdump("log value", v, vl);
			FZ_FAIL("render_log_value: decodes to more bytes than "
			    "the input");
		}
		if (c != '\\') {
			dec[o++] = c;
			continue;
		}
		if (++i >= end) {
			fz_hexdump("log value", v, vl);
			FZ_FAIL("render_log_value: lone backslash at the end");
		}
		switch (v[i]) {
		case 'n': dec[o++] = '\n'; break;
		case 'r': dec[o++] = '\r'; break;
		case 't': dec[o++] = '\t'; break;
		case 'e': dec[o++] = 0x1b; break;
		case '\\': dec[o++] = '\\'; break;
		case '"': dec[o++] = '"'; break;
		case 'x': {
			int hi = i + 2 < end ? hexval(v[i + 1]) : -1;
			int lo = i + 2 < end ? hexval(v[i + 2]) : -1;

			if (hi < 0 || lo < 0) {
				fz_hexdump("log value", v, vl);
				FZ_FAIL("render_log_value: bad \\x escape at "
				    "byte %zu", i);
			}
			dec[o++] = (unsigned char)(hi << 4 | lo);
			i += 2;
			break;
		}
		case 'u': {
			uint32_t cp = 0;
			size_t digits = 0;

			if (i + 1 >= end || v[i + 1] != '{') {
				fz_hexdump("log value", v, vl);
				FZ_FAIL("render_log_value: bad \\u escape");
			}
			for (i += 2; i < end && v[i] != '}'; i++) {
				int h = hexval(v[i]);

				if (h < 0 || ++digits > 6) {
					fz_hexdump("log value", v, vl);
					FZ_FAIL("render_log_value: bad \\u{} "
					    "digits");
				}
				cp = cp << 4 | (uint32_t)h;
			}
			if (i >= end || digits < 4 || cp > 0x10ffff ||
			    (cp >= 0xd800 && cp <= 0xdfff)) {
				fz_hexdump("log value", v, vl);
				FZ_FAIL("render_log_value: bad \\u{} value");
			}
			o += put_utf8(dec + o, cp);
			break;
		}
		default:
			fz_hexdump("log value", v, vl);
			FZ_FAIL("render_log_value: unknown escape '\\%c'", v[i]);
		}
	}
	if (o != size || memcmp(dec, in, size) != 0) {
		fz_hexdump("input", in, size);
		fz_hexdump("log value", v, vl);
		fz_hexdump("decoded", dec, o);
		FZ_FAIL("render_log_value is not lossless");
	}
	free(dec);
}

/* Clip properties for any NUL-terminated s of width w. */
static void
check_clip(const char *what, const char *s, size_t len, size_t w,
    bool rendered, unsigned knob)
{
	size_t budgets[6], prev_k = 0, prev_p = 0, p, pw;
	int nb = 0;

	p = render_clip(s, w);
	if (p != len) {
		fz_hexdump(what, s, len);
		FZ_FAIL("%s: render_clip(s, render_width(s)=%zu) = %zu, not "
		    "strlen %zu", what, w, p, len);
	}
	budgets[nb++] = 0;
	budgets[nb++] = 1;
	budgets[nb++] = 2;
	budgets[nb++] = w / 2;
	budgets[nb++] = w > 0 ? w - 1 : 0;
	budgets[nb++] = knob % (w + 2);
	for (int j = 0; j < nb; j++) {
		size_t k = budgets[j];

		p = render_clip(s, k);
		if (p > len) {
			FZ_FAIL("%s: render_clip(%zu) = %zu > strlen %zu",
			    what, k, p, len);
		}
		if (k >= 2 && len > 0 && p == 0) {
			fz_hexdump(what, s, len);
			FZ_FAIL("%s: render_clip(%zu) empty for a non-empty "
			    "string", what, k);
		}
		if (!rendered) {
			continue;
		}
		if (!fz_valid_utf8(s, p)) {
			fz_hexdump(what, s, len);
			FZ_FAIL("%s: render_clip(%zu) = %zu cuts a character",
			    what, k, p);
		}
		if (p < len && fz_utf8_next((const unsigned char *)s + p,
		    len - p, &(uint32_t){ 0 }) == 0) {
			FZ_FAIL("%s: clip end %zu is not a character start",
			    what, p);
		}
		pw = prefix_width(s, p);
		if (pw > k) {
			fz_hexdump(what, s, len);
			FZ_FAIL("%s: render_clip(%zu) = %zu bytes of width %zu",
			    what, k, p, pw);
		}
		if (render_clip(s, pw) != p) {
			fz_hexdump(what, s, len);
			FZ_FAIL("%s: render_clip(%zu) = %zu but render_clip(%zu)"
			    " = %zu", what, k, p, pw, render_clip(s, pw));
		}
	}
	/* Monotonic in the budget (a sample of budgets: clip is O(len)). */
	for (size_t k = 0; k <= w + 1 && k < 12; k++) {
		p = render_clip(s, k);
		if (k > 0 && p < prev_p) {
			fz_hexdump(what, s, len);
			FZ_FAIL("%s: render_clip(%zu) = %zu < render_clip(%zu) ="
			    " %zu", what, k, p, prev_k, prev_p);
		}
		prev_k = k;
		prev_p = p;
	}
}

/* Wrap rendered text at cols columns, as a terminal client would. */
static void
check_wrap(const char *t, size_t tl, size_t cols)
{
	size_t off = 0, p, pw, pieces = 0;
	uint32_t cp;

	while (off < tl) {
		p = render_clip(t + off, cols);
		if (p == 0 || p > tl - off) {
			fz_hexdump("rendered", t, tl);
			FZ_FAIL("wrap at %zu columns: no progress at byte %zu "
			    "(clip %zu)", cols, off, p);
		}
		pw = prefix_width(t + off, p);
		if (pw > cols) {
			fz_hexdump("rendered", t, tl);
			FZ_FAIL("wrap at %zu columns: piece at byte %zu is %zu "
			    "columns", cols, off, pw);
		}
		if (pieces > 0 && fz_utf8_next((const unsigned char *)t + off,
		    tl - off, &cp) > 0 && fz_is_mark(cp)) {
			fz_hexdump("rendered", t, tl);
			FZ_FAIL("wrap at %zu columns: piece at byte %zu starts "
			    "with combining mark U+%04X", cols, off,
			    (unsigned)cp);
		}
		off += p;
		pieces++;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	unsigned knob = size > 0 ? data[0] : 0;
	char *t, *v, *raw;
	size_t tl, tw, rl;

	/* Terminal text. */
	t = render_text(in, size);
	FZ_CHECK(t != NULL, "render_text returned NULL");
	tl = strlen(t);
	fz_check_safe("render_text", t, tl, false, 8);
	if (tl > 4 * size) {
		fz_hexdump("input", data, size);
		FZ_FAIL("render_text: %zu bytes out for %zu in", tl, size);
	}
	tw = render_width(t);
	if (tw > tl || tw > 4 * size) {
		fz_hexdump("input", data, size);
		fz_hexdump("rendered", t, tl);
		FZ_FAIL("render_text: width %zu for %zu bytes out, %zu in", tw,
		    tl, size);
	}
	check_clip("render_text", t, tl, tw, true, knob);
	check_wrap(t, tl, 2 + knob % 79);
	if (tl <= 256) {
		/* render_clip() starts with strlen(): wrapping is quadratic. */
		check_wrap(t, tl, 2);
	}
	free(t);

	/* Log values. */
	v = render_log_value(in, size);
	FZ_CHECK(v != NULL, "render_log_value returned NULL");
	fz_check_safe("render_log_value", v, strlen(v), false, 0);
	if (strlen(v) > 4 * size + 2) {
		fz_hexdump("input", data, size);
		FZ_FAIL("render_log_value: %zu bytes out for %zu in",
		    strlen(v), size);
	}
	check_log_value(data, size, v);
	free(v);

	/* Width and clip of raw, unrendered bytes: no crash, sums agree. */
	raw = malloc(size + 1);
	memcpy(raw, data, size);
	raw[size] = '\0';
	rl = strlen(raw);
	check_clip("raw", raw, rl, render_width(raw), false, knob);
	free(raw);
	return 0;
}
