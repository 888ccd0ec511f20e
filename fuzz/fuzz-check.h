/*
 * Checks shared by the libFuzzer harnesses.  The UTF-8 decoder and the
 * deny list here are written independently of src/render.c (a different
 * decoding method, an explicit list of code points), so a bug in the
 * renderer's own tables cannot hide itself.
 *
 * A failed check prints what failed, the offending text as hex, and
 * aborts: libFuzzer then saves the input as a crash reproducer.
 */
#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fz_hexdump(const char *label, const void *p, size_t len)
    __attribute__((unused));

static void
fz_hexdump(const char *label, const void *p, size_t len)
{
	const unsigned char *s = p;
	size_t i, show = len > 256 ? 256 : len;

	fprintf(stderr, "%s (%zu bytes):", label, len);
	for (i = 0; i < show; i++) {
		fprintf(stderr, "%s%02x", i % 32 == 0 ? "\n  " : " ", s[i]);
	}
	fprintf(stderr, "%s\n", show < len ? "\n  ..." : "");
}

/* The bytes around offset at, for a failure deep inside a long string. */
static void __attribute__((unused))
fz_hexdump_at(const char *label, const void *p, size_t len, size_t at)
{
	size_t from = at > 48 ? at - 48 : 0;
	size_t to = at + 16 < len ? at + 16 : len;

	fz_hexdump(label, p, len);
	if (from > 0 || to < len) {
		fprintf(stderr, "around byte %zu (from byte %zu):\n", at, from);
		fz_hexdump(label, (const char *)p + from, to - from);
	}
}

static void fz_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4), unused));

static void
fz_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\n==FUZZ CHECK FAILED== %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

#define FZ_FAIL(...) fz_fail(__FILE__, __LINE__, __VA_ARGS__)
#define FZ_CHECK(cond, ...)                                                 \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "failed: %s\n", #cond);             \
			FZ_FAIL(__VA_ARGS__);                               \
		}                                                           \
	} while (0)

/*
 * One UTF-8 character at s (n bytes available): its length, or 0 when it
 * is not a well-formed, shortest-form encoding of a scalar value.
 * Decodes first, then rejects overlong forms, surrogates and values above
 * U+10FFFF by range (render.c instead narrows the second byte).
 */
static size_t __attribute__((unused))
fz_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t v, min;
	size_t len, i;

	if (n == 0) {
		return 0;
	}
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2, v = s[0] & 0x1fu, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, v = s[0] & 0x0fu, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, v = s[0] & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len) {
		return 0;
	}
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			return 0;
		}
		v = (v << 6) | (s[i] & 0x3fu);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
		return 0;
	}
	*cp = v;
	return len;
}

static bool __attribute__((unused))
fz_valid_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		n = fz_utf8_next(p + i, len - i, &cp);
		if (n == 0) {
			return false;
		}
		i += n;
	}
	return true;
}

/*
 * Why cp must never reach a terminal raw, or NULL.  The list is the one
 * TESTING.md and issue 5 name: C0 (newline allowed on request), DEL, C1,
 * bidi embeddings/overrides/isolates/marks, zero-width characters, the
 * Unicode line and paragraph separators.
 */
static const char *__attribute__((unused))
fz_forbidden(uint32_t cp, bool allow_newline)
{
	if (cp == '\n') {
		return allow_newline ? NULL : "newline";
	}
	if (cp < 0x20) {
		return "C0 control";
	}
	if (cp == 0x7f) {
		return "DEL";
	}
	if (cp >= 0x80 && cp <= 0x9f) {
		return "C1 control";
	}
	if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	    cp == 0x200e || cp == 0x200f || cp == 0x061c) {
		return "bidi control";
	}
	if ((cp >= 0x200b && cp <= 0x200d) || cp == 0x2060 || cp == 0xfeff) {
		return "zero-width character";
	}
	if (cp == 0x2028 || cp == 0x2029) {
		return "line/paragraph separator";
	}
	return NULL;
}

/*
 * A subset of the combining marks (Mn/Me, assigned in Unicode 14), enough
 * to see a flood get through.
 */
static bool __attribute__((unused))
fz_is_mark(uint32_t cp)
{
	return (cp >= 0x0300 && cp <= 0x036f) || (cp >= 0x1ab0 && cp <= 0x1ace) ||
	    (cp >= 0x1dc0 && cp <= 0x1dff) || (cp >= 0x20d0 && cp <= 0x20f0) ||
	    (cp >= 0xfe20 && cp <= 0xfe2f);
}

/*
 * Abort unless s[0..len) is valid UTF-8 with nothing from fz_forbidden()
 * (newlines allowed if asked) and, if max_marks > 0, no run of more than
 * max_marks combining marks.
 */
static void __attribute__((unused))
fz_check_safe(const char *what, const char *s, size_t len,
    bool allow_newline, size_t max_marks)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n, run = 0;
	const char *why;
	uint32_t cp;

	while (i < len) {
		n = fz_utf8_next(p + i, len - i, &cp);
		if (n == 0) {
			fz_hexdump_at(what, s, len, i);
			FZ_FAIL("%s: invalid UTF-8 at byte %zu", what, i);
		}
		why = fz_forbidden(cp, allow_newline);
		if (why != NULL) {
			fz_hexdump_at(what, s, len, i);
			FZ_FAIL("%s: raw %s U+%04X at byte %zu", what, why,
			    (unsigned)cp, i);
		}
		run = fz_is_mark(cp) ? run + 1 : 0;
		if (max_marks > 0 && run > max_marks) {
			fz_hexdump_at(what, s, len, i);
			FZ_FAIL("%s: more than %zu combining marks in a row at "
			    "byte %zu", what, max_marks, i);
		}
		i += n;
	}
}

/*
 * Like fz_check_safe(s, len, newlines allowed, 8 marks) for text going to
 * a chat terminal, where the daemon itself may add colour and a bell:
 * with sgr, ESC is allowed only as a complete SGR sequence
 * (ESC [ digits/semicolons m), and the colour must be reset by the end;
 * with bell, one BEL is allowed as the very last byte.  Anything else is
 * checked as fz_check_safe() does.
 */
static void __attribute__((unused))
fz_check_terminal(const char *what, const char *s, size_t len, bool sgr,
    bool bell)
{
	size_t i = 0, start = 0, j;
	bool open = false;

	while (i < len) {
		if (s[i] == '\033' && sgr) {
			fz_check_safe(what, s + start, i - start, true, 8);
			j = i + 1;
			if (j >= len || s[j] != '[') {
				fz_hexdump_at(what, s, len, i);
				FZ_FAIL("%s: ESC that is not an SGR sequence at "
				    "byte %zu", what, i);
			}
			for (j++; j < len && j - i < 40 &&
			    ((s[j] >= '0' && s[j] <= '9') || s[j] == ';'); j++) {
				;
			}
			if (j >= len || s[j] != 'm') {
				fz_hexdump_at(what, s, len, i);
				FZ_FAIL("%s: ESC [ not ended by 'm' at byte %zu",
				    what, i);
			}
			open = !(j == i + 2 || (j == i + 3 && s[i + 2] == '0'));
			i = start = j + 1;
			continue;
		}
		if (s[i] == '\a' && bell && i == len - 1) {
			fz_check_safe(what, s + start, i - start, true, 8);
			start = len;
			break;
		}
		i++;
	}
	if (start < len) {
		fz_check_safe(what, s + start, len - start, true, 8);
	}
	if (open) {
		fz_hexdump(what, s, len);
		FZ_FAIL("%s: colour still on at the end", what);
	}
}

#endif
