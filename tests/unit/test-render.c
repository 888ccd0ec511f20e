/*
 * Unit tests for render.c: each class of dangerous input against its
 * expected escape, the terminal attacks it exists to stop, widths and
 * clipping, and a property loop over pseudo-random byte strings whose
 * output is checked with a UTF-8 validator and deny list of our own, so a
 * bug in render.c's tables cannot hide itself.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "unit.h"
#include "util.h"

#define ROUNDS 200000
#define MAX_LEN 64

static char *
text(const char *s)
{
	return render_text(s, strlen(s));
}

static char *
logv(const char *s)
{
	return render_log_value(s, strlen(s));
}

#define CHECK_TEXT(in, want)                                                 \
	do {                                                                 \
		char *r_ = text(in);                                         \
		CHECK_STR(r_, want);                                         \
		free(r_);                                                    \
	} while (0)

#define CHECK_LOG(in, want)                                                  \
	do {                                                                 \
		char *r_ = logv(in);                                         \
		CHECK_STR(r_, want);                                         \
		free(r_);                                                    \
	} while (0)

static void
test_passthrough(void)
{
	CHECK_TEXT("", "");
	CHECK_TEXT("hello, world", "hello, world");
	CHECK_TEXT("   leading spaces", "   leading spaces");
	CHECK_TEXT("~!@#$%^&*()_+`-={}|[]\\:\";'<>?,./",
	    "~!@#$%^&*()_+`-={}|[]\\:\";'<>?,./");
	CHECK_TEXT("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac",
	    "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac");
	/* Emoji, with and without presentation selectors. */
	CHECK_TEXT("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");
	CHECK_TEXT("\xe2\x9d\xa4\xef\xb8\x8f", "\xe2\x9d\xa4\xef\xb8\x8f");
	CHECK_TEXT("\xe2\x9d\xa4\xef\xb8\x8e", "\xe2\x9d\xa4\xef\xb8\x8e");
	/* U+FFFD and the last scalar values before the gaps. */
	CHECK_TEXT("\xef\xbf\xbd", "\xef\xbf\xbd");
	CHECK_TEXT("\xed\x9f\xbb", "\xed\x9f\xbb");
	CHECK_TEXT("\xee\x80\x80", "<U+E000>");
	CHECK_TEXT("\xef\xa3\xbf", "<U+F8FF>");
	CHECK_TEXT("\xef\xa4\x80", "\xef\xa4\x80");
}

static void
test_c0(void)
{
	char *r;

	r = render_text("\0", 1);
	CHECK_STR(r, "^@");
	free(r);
	r = render_text("a\0b", 3);
	CHECK_STR(r, "a^@b");
	free(r);
	CHECK_TEXT("\x01", "^A");
	CHECK_TEXT("\x07", "^G");
	CHECK_TEXT("\x08", "^H");
	CHECK_TEXT("a\tb", "a^Ib");
	CHECK_TEXT("a\nb", "a^Jb");
	CHECK_TEXT("a\rb", "a^Mb");
	CHECK_TEXT("\x1b", "^[");
	CHECK_TEXT("\x1c\x1d\x1e\x1f", "^\\^]^^^_");
	CHECK_TEXT("\x7f", "^?");
}

static void
test_attacks(void)
{
	/* OSC 52 would write the reader's clipboard. */
	CHECK_TEXT("\x1b]52;c;ZXZpbA==\x07", "^[]52;c;ZXZpbA==^G");
	/* OSC 0/2 set the window title, ended by BEL or ST. */
	CHECK_TEXT("\x1b]0;pwned\x07", "^[]0;pwned^G");
	CHECK_TEXT("\x1b]2;title\x1b\\", "^[]2;title^[\\");
	/* CSI: clear screen, home, colour. */
	CHECK_TEXT("\x1b[2J\x1b[H", "^[[2J^[[H");
	CHECK_TEXT("\x1b[31mred\x1b[0m", "^[[31mred^[[0m");
	/* A carriage return must not let a line forge another user's. */
	CHECK_TEXT("hi\r[from bob] x", "hi^M[from bob] x");
	CHECK_TEXT("hi\n[from bob] x", "hi^J[from bob] x");
	CHECK_TEXT("hi\xe2\x80\xa8[from bob] x", "hi<U+2028>[from bob] x");
	/* C1: CSI as U+009B, NEL, and 0x9b as a bare byte. */
	CHECK_TEXT("\xc2\x9b" "2J", "<U+009B>2J");
	CHECK_TEXT("\xc2\x85", "<U+0085>");
	CHECK_TEXT("\xc2\x80\xc2\x9f", "<U+0080><U+009F>");
	CHECK_TEXT("\x9b" "2J", "\\x9b2J");
	CHECK_TEXT("\xc2\xa0", "\xc2\xa0");
}

static void
test_hidden(void)
{
	/* Bidi controls. */
	CHECK_TEXT("abc\xe2\x80\xae" "fdp.exe", "abc<U+202E>fdp.exe");
	CHECK_TEXT("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad",
	    "<U+202A><U+202B><U+202C><U+202D>");
	CHECK_TEXT("\xe2\x80\x8e\xe2\x80\x8f", "<U+200E><U+200F>");
	CHECK_TEXT("\xe2\x81\xa6\xe2\x81\xa9", "<U+2066><U+2069>");
	CHECK_TEXT("\xd8\x9c", "<U+061C>");
	/* Format characters that print nothing (Cf): issue 20 item 9. */
	CHECK_TEXT("\xd8\x80", "<U+0600>");
	CHECK_TEXT("\xd8\x85", "<U+0605>");
	CHECK_TEXT("\xdb\x9d", "<U+06DD>");
	CHECK_TEXT("\xdc\x8f", "<U+070F>");
	CHECK_TEXT("\xe0\xa2\x90", "<U+0890>");
	CHECK_TEXT("\xe0\xa3\xa2", "<U+08E2>");
	CHECK_TEXT("\xf0\x91\x82\xbd", "<U+110BD>");
	CHECK_TEXT("\xf0\x93\x90\xb0", "<U+13430>");
	CHECK_TEXT("\xf0\x93\x90\xb8", "<U+13438>");
	/* Zero-width and invisible characters. */
	CHECK_TEXT("a\xe2\x80\x8b" "b", "a<U+200B>b");
	CHECK_TEXT("\xe2\x80\x8c\xe2\x80\x8d", "<U+200C><U+200D>");
	CHECK_TEXT("\xef\xbb\xbfhi", "<U+FEFF>hi");
	CHECK_TEXT("\xc2\xad", "<U+00AD>");
	CHECK_TEXT("\xcd\x8f", "<U+034F>");
	CHECK_TEXT("\xe1\x85\x9f\xe1\x85\xa0", "<U+115F><U+1160>");
	CHECK_TEXT("\xe3\x85\xa4\xef\xbe\xa0", "<U+3164><U+FFA0>");
	CHECK_TEXT("\xe1\x9e\xb4", "<U+17B4>");
	CHECK_TEXT("\xe1\xa0\x8e", "<U+180E>");
	CHECK_TEXT("\xe2\x81\xa0\xe2\x81\xa4", "<U+2060><U+2064>");
	CHECK_TEXT("\xe2\x81\xaa\xe2\x81\xaf", "<U+206A><U+206F>");
	CHECK_TEXT("\xe2\x80\xa9", "<U+2029>");
	CHECK_TEXT("\xef\xbf\xb9\xef\xbf\xbb", "<U+FFF9><U+FFFB>");
	CHECK_TEXT("\xf0\x9d\x85\xb3", "<U+1D173>");
	/* Variation selectors: only the emoji ones pass. */
	CHECK_TEXT("\xef\xb8\x80", "<U+FE00>");
	CHECK_TEXT("\xef\xb8\x8d", "<U+FE0D>");
	/* Tags, noncharacters, private use. */
	CHECK_TEXT("\xf3\xa0\x80\x81\xf3\xa0\x81\x81", "<U+E0001><U+E0041>");
	CHECK_TEXT("\xf3\xa0\x81\xbf", "<U+E007F>");
	CHECK_TEXT("\xef\xb7\x90\xef\xb7\xaf", "<U+FDD0><U+FDEF>");
	CHECK_TEXT("\xef\xbf\xbe\xef\xbf\xbf", "<U+FFFE><U+FFFF>");
	CHECK_TEXT("\xf0\x9f\xbf\xbe", "<U+1FFFE>");
	CHECK_TEXT("\xf3\xb0\x80\x80", "<U+F0000>");
	CHECK_TEXT("\xf4\x8f\xbf\xbd", "<U+10FFFD>");
	CHECK_TEXT("\xf4\x8f\xbf\xbf", "<U+10FFFF>");
}

static void
test_invalid(void)
{
	CHECK_TEXT("\xff", "\\xff");
	CHECK_TEXT("a\xfe" "b", "a\\xfeb");
	/* Overlong forms. */
	CHECK_TEXT("\xc0\x80", "\\xc0\\x80");
	CHECK_TEXT("\xc1\xbf", "\\xc1\\xbf");
	CHECK_TEXT("\xe0\x80\xaf", "\\xe0\\x80\\xaf");
	CHECK_TEXT("\xf0\x80\x80\x80", "\\xf0\\x80\\x80\\x80");
	/* Surrogates and values above U+10FFFF. */
	CHECK_TEXT("\xed\xa0\x80", "\\xed\\xa0\\x80");
	CHECK_TEXT("\xed\xbf\xbf", "\\xed\\xbf\\xbf");
	CHECK_TEXT("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
	CHECK_TEXT("\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80");
	/* Truncated sequences, at the end and before another character. */
	CHECK_TEXT("\xe2\x82", "\\xe2\\x82");
	CHECK_TEXT("\xe2\x82x", "\\xe2\\x82x");
	CHECK_TEXT("\xe2\x82\xe2\x82\xac", "\\xe2\\x82\xe2\x82\xac");
	CHECK_TEXT("\xf0\x9f\x98", "\\xf0\\x9f\\x98");
	/* Stray continuation bytes. */
	CHECK_TEXT("\x80\xbf", "\\x80\\xbf");
}

static void
test_marks(void)
{
	char in[128], want[128];
	char *r;
	int i;

	/* e + U+0301 stays together. */
	CHECK_TEXT("e\xcc\x81", "e\xcc\x81");

	strcpy(in, "e");
	for (i = 0; i < 8; i++) {
		strcat(in, "\xcc\x81");
	}
	CHECK_TEXT(in, in);
	strcpy(want, in);
	strcat(in, "\xcc\x81");
	strcat(want, "<+1 marks>");
	CHECK_TEXT(in, want);

	strcpy(in, "Z");
	strcpy(want, "Z");
	for (i = 0; i < 30; i++) {
		strcat(in, i % 2 ? "\xcc\x96" : "\xcd\xa0");
		if (i < 8) {
			strcat(want, i % 2 ? "\xcc\x96" : "\xcd\xa0");
		}
	}
	strcat(in, "a");
	strcat(want, "<+22 marks>a");
	CHECK_TEXT(in, want);

	/* A new base starts a new count. */
	strcpy(in, "a");
	for (i = 0; i < 20; i++) {
		strcat(in, i == 10 ? "b\xcc\x81" : "\xcc\x81");
	}
	r = text(in);
	CHECK(r != NULL && strstr(r, "<+2 marks>b") != NULL);
	CHECK(r != NULL && strstr(strstr(r, "b"), "<+2 marks>") != NULL);
	free(r);

	/* The log keeps every mark, escaping those past the cap. */
	strcpy(in, "e");
	strcpy(want, "e");
	for (i = 0; i < 10; i++) {
		strcat(in, "\xcc\x81");
		strcat(want, i < 8 ? "\xcc\x81" : "\\u{0301}");
	}
	CHECK_LOG(in, want);
}

static void
test_width(void)
{
	CHECK(render_width("") == 0);
	CHECK(render_width("abc") == 3);
	CHECK(render_width("caf\xc3\xa9") == 4);
	CHECK(render_width("e\xcc\x81") == 1);
	CHECK(render_width("\xe6\x97\xa5\xe6\x9c\xac") == 4);
	CHECK(render_width("\xed\x95\x9c") == 2);
	CHECK(render_width("\xef\xbc\xa1") == 2);
	CHECK(render_width("\xef\xbd\xa1") == 1);
	CHECK(render_width("\xf0\x9f\x98\x80") == 2);
	CHECK(render_width("\xf0\x9f\x9a\x80") == 2);
	CHECK(render_width("\xf0\x9f\xa4\x94") == 2);
	CHECK(render_width("\xf0\xa0\x80\x80") == 2);
	CHECK(render_width("\xe2\x9d\xa4\xef\xb8\x8f") == 1);
	CHECK(render_width("<U+202E>") == 8);

	CHECK(render_clip("abc", 0) == 0);
	CHECK(render_clip("abc", 2) == 2);
	CHECK(render_clip("abc", 10) == 3);
	CHECK(render_clip("\xe6\x97\xa5\xe6\x9c\xac", 1) == 0);
	CHECK(render_clip("\xe6\x97\xa5\xe6\x9c\xac", 2) == 3);
	CHECK(render_clip("\xe6\x97\xa5\xe6\x9c\xac", 3) == 3);
	CHECK(render_clip("\xe6\x97\xa5\xe6\x9c\xac", 4) == 6);
	CHECK(render_clip("ae\xcc\x81\xcc\x82x", 1) == 1);
	CHECK(render_clip("ae\xcc\x81\xcc\x82x", 2) == 6);
	CHECK(render_clip("ae\xcc\x81\xcc\x82x", 3) == 7);
	CHECK(render_clip("a\xf0\x9f\x98\x80", 2) == 1);
}

static void
test_log(void)
{
	char *r;

	CHECK_LOG("alice", "alice");
	CHECK_LOG("", "\"\"");
	CHECK_LOG("two words", "\"two words\"");
	CHECK_LOG("k=v", "\"k=v\"");
	CHECK_LOG("say \"hi\"", "\"say \\\"hi\\\"\"");
	CHECK_LOG("a\\b", "a\\\\b");
	CHECK_LOG("a\nb", "a\\nb");
	CHECK_LOG("\r\t\x1b[2J", "\\r\\t\\e[2J");
	CHECK_LOG("\x01\x7f", "\\x01\\x7f");
	r = render_log_value("\0", 1);
	CHECK_STR(r, "\\x00");
	free(r);
	CHECK_LOG("\xc2\x85", "\\u{0085}");
	CHECK_LOG("\xe2\x80\xae", "\\u{202e}");
	CHECK_LOG("\xef\xbb\xbf", "\\u{feff}");
	CHECK_LOG("\xf3\xa0\x80\x81", "\\u{e0001}");
	CHECK_LOG("\xff\xc0\x80", "\\xff\\xc0\\x80");
	CHECK_LOG("\xe2\x82", "\\xe2\\x82");
	CHECK_LOG("caf\xc3\xa9", "caf\xc3\xa9");
	CHECK_LOG("hi\r[from bob] x", "\"hi\\r[from bob] x\"");
}

/* The property loop below: a generator and independent checkers. */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

/* Code points worth hitting more often than chance would. */
static const uint32_t interesting[] = {
	0x00, 0x0a, 0x0d, 0x1b, 0x7f, 0x80, 0x85, 0x9b, 0x9f, 0xa0, 0xad,
	0x300, 0x301, 0x34f, 0x36f, 0x489, 0x600, 0x605, 0x61c, 0x6dd,
	0x70f, 0x890, 0x8e2, 0x115f, 0x1160, 0x11a8, 0x110bd, 0x13430,
	0x1343f,
	0x17b4, 0x180e, 0x200b, 0x200d, 0x200e, 0x2028, 0x202e, 0x2060,
	0x2066, 0x2069, 0x206f, 0x20d0, 0x3000, 0x3164, 0x4e00, 0xac00,
	0xd7ff, 0xd800, 0xdfff, 0xe000, 0xf8ff, 0xfdd0, 0xfe00, 0xfe0e,
	0xfe0f, 0xfe20, 0xfeff, 0xffa0, 0xfff9, 0xfffd, 0xfffe, 0xffff,
	0x1d173, 0x1f600, 0x1f680, 0x1f9ff, 0x1fffe, 0xe0001, 0xe0041,
	0xe0100, 0xf0000, 0x10fffd, 0x10ffff, 0x110000, 0x1fffff,
};

/* Encodes any value below 2^21 the naive way, surrogates included. */
static size_t
encode(uint32_t cp, unsigned char *out)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | (cp >> 6));
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | (cp >> 12));
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | ((cp >> 18) & 0x07));
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

static size_t
random_input(unsigned char *buf)
{
	size_t len = rng() % (MAX_LEN + 1), n = 0, k;
	unsigned char tmp[4];
	uint32_t r, cp;

	while (n < len) {
		r = rng() % 10;
		if (r < 4) {
			tmp[0] = (unsigned char)rng();
			k = 1;
		} else if (r < 6) {
			tmp[0] = (unsigned char)(rng() % 0x80);
			k = 1;
		} else {
			if (r < 8) {
				cp = interesting[rng() %
				    ARRAY_SIZE(interesting)];
			} else if (r < 9) {
				cp = 0x300 + rng() % 0x70;
			} else {
				cp = rng() % 0x110000;
			}
			k = encode(cp, tmp);
		}
		if (k > len - n) {
			k = len - n;
		}
		memcpy(buf + n, tmp, k);
		n += k;
	}
	return n;
}

/*
 * A second strict decoder, written the other way round from render.c's:
 * decode loosely, then reject what does not round-trip.  Returns the
 * length, or 0 for invalid input.
 */
static size_t
check_decode(const unsigned char *p, size_t len, uint32_t *cp)
{
	size_t n, i;
	uint32_t c, min;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	} else if ((p[0] & 0xe0) == 0xc0) {
		n = 2, c = p[0] & 0x1f, min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3, c = p[0] & 0x0f, min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4, c = p[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len < n) {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			return 0;
		}
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
		return 0;
	}
	*cp = c;
	return n;
}

static bool
denied(uint32_t c)
{
	static const uint32_t deny[][2] = {
		{ 0x80, 0x9f }, { 0xad, 0xad }, { 0x34f, 0x34f },
		{ 0x600, 0x605 }, { 0x61c, 0x61c }, { 0x6dd, 0x6dd },
		{ 0x70f, 0x70f }, { 0x890, 0x891 }, { 0x8e2, 0x8e2 },
		{ 0x115f, 0x1160 }, { 0x17b4, 0x17b5 },
		{ 0x180b, 0x180f }, { 0x200b, 0x200f }, { 0x2028, 0x202e },
		{ 0x2060, 0x2064 }, { 0x2066, 0x206f }, { 0x3164, 0x3164 },
		{ 0xe000, 0xf8ff }, { 0xfdd0, 0xfdef }, { 0xfe00, 0xfe0d },
		{ 0xfeff, 0xfeff }, { 0xffa0, 0xffa0 }, { 0xfff9, 0xfffb },
		{ 0x110bd, 0x110bd }, { 0x110cd, 0x110cd },
		{ 0x13430, 0x1343f }, { 0x1bca0, 0x1bca3 },
		{ 0x1d173, 0x1d17a }, { 0xe0000, 0xe007f },
		{ 0xf0000, 0x10ffff },
	};
	size_t i;

	if (c < 0x80) {
		return c < 0x20 || c == 0x7f;
	}
	if ((c & 0xfffe) == 0xfffe) {
		return true;
	}
	for (i = 0; i < ARRAY_SIZE(deny); i++) {
		if (c >= deny[i][0] && c <= deny[i][1]) {
			return true;
		}
	}
	return false;
}

/* Valid UTF-8, nothing denied, no more than 8 marks from U+0300-036F. */
static bool
safe_output(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, n, run = 0;
	uint32_t c;

	while (i < len) {
		n = check_decode(p + i, len - i, &c);
		if (n == 0 || denied(c)) {
			return false;
		}
		run = c >= 0x300 && c <= 0x36f ? run + 1 : 0;
		if (run > 8) {
			return false;
		}
		i += n;
	}
	return true;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	return -1;
}

/*
 * Undoes render_log_value into out; returns the length, or (size_t)-1 on
 * an escape it does not know.  Proves the log loses nothing.
 */
static size_t
log_unescape(const char *s, unsigned char *out)
{
	size_t len = strlen(s), i, n = 0;
	uint32_t c;

	if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
		s++;
		len -= 2;
	}
	for (i = 0; i < len; i++) {
		if (s[i] != '\\') {
			out[n++] = (unsigned char)s[i];
			continue;
		}
		if (++i >= len) {
			return (size_t)-1;
		}
		switch (s[i]) {
		case '\\':
		case '"':
			out[n++] = (unsigned char)s[i];
			break;
		case 'n':
			out[n++] = '\n';
			break;
		case 'r':
			out[n++] = '\r';
			break;
		case 't':
			out[n++] = '\t';
			break;
		case 'e':
			out[n++] = 0x1b;
			break;
		case 'x':
			if (i + 2 >= len || hexval(s[i + 1]) < 0 ||
			    hexval(s[i + 2]) < 0) {
				return (size_t)-1;
			}
			out[n++] = (unsigned char)(hexval(s[i + 1]) * 16 +
			    hexval(s[i + 2]));
			i += 2;
			break;
		case 'u':
			if (++i >= len || s[i] != '{') {
				return (size_t)-1;
			}
			for (c = 0, i++; i < len && hexval(s[i]) >= 0; i++) {
				c = c * 16 + (uint32_t)hexval(s[i]);
			}
			if (i >= len || s[i] != '}') {
				return (size_t)-1;
			}
			n += encode(c, out + n);
			break;
		default:
			return (size_t)-1;
		}
	}
	return n;
}

static void
test_property(void)
{
	unsigned char in[MAX_LEN], back[MAX_LEN * 4];
	size_t len, w, k, c, i, bad_text = 0, bad_log = 0, bad_clip = 0;
	char *r, *prefix;

	for (i = 0; i < ROUNDS; i++) {
		len = random_input(in);
		r = render_text((const char *)in, len);
		if (!safe_output(r)) {
			if (bad_text++ == 0) {
				fprintf(stderr, "unsafe render_text: %s\n", r);
			}
		}
		if (i % 16 == 0) {
			w = render_width(r);
			if (render_clip(r, w) != strlen(r)) {
				bad_clip++;
			}
			k = w == 0 ? 0 : rng() % (w + 1);
			c = render_clip(r, k);
			prefix = strndup(r, c);
			if (prefix == NULL || render_width(prefix) > k ||
			    (r[c] & 0xc0) == 0x80 || (k >= 2 && c == 0)) {
				bad_clip++;
			}
			free(prefix);
		}
		free(r);

		r = render_log_value((const char *)in, len);
		if (!safe_output(r) || strchr(r, '\n') != NULL ||
		    log_unescape(r, back) != len ||
		    memcmp(back, in, len) != 0) {
			if (bad_log++ == 0) {
				fprintf(stderr, "bad log value: %s\n", r);
			}
		}
		free(r);
	}
	CHECK(bad_text == 0);
	CHECK(bad_log == 0);
	CHECK(bad_clip == 0);
}

int
main(void)
{
	test_passthrough();
	test_c0();
	test_attacks();
	test_hidden();
	test_invalid();
	test_marks();
	test_width();
	test_log();
	test_property();
	return unit_done("test-render");
}
