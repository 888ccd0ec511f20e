/*
 * Untrusted text made safe for a terminal or a log line.  This module owns
 * the strict UTF-8 decoder, the deny list of invisible and bidi format
 * characters and the column-width table; every other module renders user
 * text through it.  It must not consult the process locale: glibc's
 * wcwidth() calls bidi overrides printable and depends on setlocale(), so
 * the tables here are our own.  Nothing it returns holds a control byte or
 * invalid UTF-8, and one input always renders to one line.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "render.h"
#include "util.h"

/* Marks kept on one base character before the rest are summarized. */
#define MAX_MARKS 8

struct range {
	uint32_t lo;
	uint32_t hi;
};

/*
 * Characters that draw nothing yet change what the reader sees: bidi
 * controls, zero-width and filler characters, variation selectors other
 * than the emoji ones (U+FE0E, U+FE0F), tag characters and private use;
 * every format character (general category Cf) of Unicode 15 is here.
 * Noncharacters are tested separately.  The list is explicit because no
 * libc agrees with the next on what is printable.
 */
static const struct range hidden[] = {
	{ 0x00ad, 0x00ad },	/* soft hyphen */
	{ 0x034f, 0x034f },	/* combining grapheme joiner */
	{ 0x0600, 0x0605 },	/* Arabic number signs (prepended) */
	{ 0x061c, 0x061c },	/* Arabic letter mark */
	{ 0x06dd, 0x06dd },	/* Arabic end of ayah */
	{ 0x070f, 0x070f },	/* Syriac abbreviation mark */
	{ 0x0890, 0x0891 },	/* Arabic pound and piastre marks above */
	{ 0x08e2, 0x08e2 },	/* Arabic disputed end of ayah */
	{ 0x115f, 0x1160 },	/* Hangul fillers */
	{ 0x17b4, 0x17b5 },	/* Khmer inherent vowels */
	{ 0x180b, 0x180f },	/* Mongolian selectors, vowel separator */
	{ 0x200b, 0x200f },	/* ZWSP, ZWNJ, ZWJ, LRM, RLM */
	{ 0x2028, 0x202e },	/* line/paragraph separator, LRE..RLO */
	{ 0x2060, 0x206f },	/* joiners, invisible operators, isolates */
	{ 0x3164, 0x3164 },	/* Hangul filler */
	{ 0xe000, 0xf8ff },	/* private use */
	{ 0xfdd0, 0xfdef },	/* noncharacters */
	{ 0xfe00, 0xfe0d },	/* variation selectors 1-14 */
	{ 0xfeff, 0xfeff },	/* byte order mark, ZWNBSP */
	{ 0xffa0, 0xffa0 },	/* halfwidth Hangul filler */
	{ 0xfff9, 0xfffb },	/* interlinear annotation */
	{ 0x110bd, 0x110bd },	/* Kaithi number sign */
	{ 0x110cd, 0x110cd },	/* Kaithi number sign above */
	{ 0x13430, 0x1343f },	/* Egyptian hieroglyph format controls */
	{ 0x1bca0, 0x1bca3 },	/* shorthand format controls */
	{ 0x1d173, 0x1d17a },	/* musical formatting */
	{ 0xe0000, 0xe007f },	/* tags */
	{ 0xf0000, 0x10ffff },	/* private use planes 15 and 16 */
};

/*
 * Zero-width characters that attach to the one before them: the
 * nonspacing and enclosing marks (Mn, Me) of Unicode 14.0, generated from
 * UnicodeData.txt, plus the conjoining Hangul vowels and final consonants
 * (U+1160-11FF, U+D7B0-D7FF), which fold into the preceding syllable.
 */
static const struct range marks[] = {
	{ 0x0300, 0x036f }, { 0x0483, 0x0489 }, { 0x0591, 0x05bd },
	{ 0x05bf, 0x05bf }, { 0x05c1, 0x05c2 }, { 0x05c4, 0x05c5 },
	{ 0x05c7, 0x05c7 }, { 0x0610, 0x061a }, { 0x064b, 0x065f },
	{ 0x0670, 0x0670 }, { 0x06d6, 0x06dc }, { 0x06df, 0x06e4 },
	{ 0x06e7, 0x06e8 }, { 0x06ea, 0x06ed }, { 0x0711, 0x0711 },
	{ 0x0730, 0x074a }, { 0x07a6, 0x07b0 }, { 0x07eb, 0x07f3 },
	{ 0x07fd, 0x07fd }, { 0x0816, 0x0819 }, { 0x081b, 0x0823 },
	{ 0x0825, 0x0827 }, { 0x0829, 0x082d }, { 0x0859, 0x085b },
	{ 0x0898, 0x089f }, { 0x08ca, 0x08e1 }, { 0x08e3, 0x0902 },
	{ 0x093a, 0x093a }, { 0x093c, 0x093c }, { 0x0941, 0x0948 },
	{ 0x094d, 0x094d }, { 0x0951, 0x0957 }, { 0x0962, 0x0963 },
	{ 0x0981, 0x0981 }, { 0x09bc, 0x09bc }, { 0x09c1, 0x09c4 },
	{ 0x09cd, 0x09cd }, { 0x09e2, 0x09e3 }, { 0x09fe, 0x09fe },
	{ 0x0a01, 0x0a02 }, { 0x0a3c, 0x0a3c }, { 0x0a41, 0x0a42 },
	{ 0x0a47, 0x0a48 }, { 0x0a4b, 0x0a4d }, { 0x0a51, 0x0a51 },
	{ 0x0a70, 0x0a71 }, { 0x0a75, 0x0a75 }, { 0x0a81, 0x0a82 },
	{ 0x0abc, 0x0abc }, { 0x0ac1, 0x0ac5 }, { 0x0ac7, 0x0ac8 },
	{ 0x0acd, 0x0acd }, { 0x0ae2, 0x0ae3 }, { 0x0afa, 0x0aff },
	{ 0x0b01, 0x0b01 }, { 0x0b3c, 0x0b3c }, { 0x0b3f, 0x0b3f },
	{ 0x0b41, 0x0b44 }, { 0x0b4d, 0x0b4d }, { 0x0b55, 0x0b56 },
	{ 0x0b62, 0x0b63 }, { 0x0b82, 0x0b82 }, { 0x0bc0, 0x0bc0 },
	{ 0x0bcd, 0x0bcd }, { 0x0c00, 0x0c00 }, { 0x0c04, 0x0c04 },
	{ 0x0c3c, 0x0c3c }, { 0x0c3e, 0x0c40 }, { 0x0c46, 0x0c48 },
	{ 0x0c4a, 0x0c4d }, { 0x0c55, 0x0c56 }, { 0x0c62, 0x0c63 },
	{ 0x0c81, 0x0c81 }, { 0x0cbc, 0x0cbc }, { 0x0cbf, 0x0cbf },
	{ 0x0cc6, 0x0cc6 }, { 0x0ccc, 0x0ccd }, { 0x0ce2, 0x0ce3 },
	{ 0x0d00, 0x0d01 }, { 0x0d3b, 0x0d3c }, { 0x0d41, 0x0d44 },
	{ 0x0d4d, 0x0d4d }, { 0x0d62, 0x0d63 }, { 0x0d81, 0x0d81 },
	{ 0x0dca, 0x0dca }, { 0x0dd2, 0x0dd4 }, { 0x0dd6, 0x0dd6 },
	{ 0x0e31, 0x0e31 }, { 0x0e34, 0x0e3a }, { 0x0e47, 0x0e4e },
	{ 0x0eb1, 0x0eb1 }, { 0x0eb4, 0x0ebc }, { 0x0ec8, 0x0ecd },
	{ 0x0f18, 0x0f19 }, { 0x0f35, 0x0f35 }, { 0x0f37, 0x0f37 },
	{ 0x0f39, 0x0f39 }, { 0x0f71, 0x0f7e }, { 0x0f80, 0x0f84 },
	{ 0x0f86, 0x0f87 }, { 0x0f8d, 0x0f97 }, { 0x0f99, 0x0fbc },
	{ 0x0fc6, 0x0fc6 }, { 0x102d, 0x1030 }, { 0x1032, 0x1037 },
	{ 0x1039, 0x103a }, { 0x103d, 0x103e }, { 0x1058, 0x1059 },
	{ 0x105e, 0x1060 }, { 0x1071, 0x1074 }, { 0x1082, 0x1082 },
	{ 0x1085, 0x1086 }, { 0x108d, 0x108d }, { 0x109d, 0x109d },
	{ 0x1160, 0x11ff }, { 0x135d, 0x135f }, { 0x1712, 0x1714 },
	{ 0x1732, 0x1733 }, { 0x1752, 0x1753 }, { 0x1772, 0x1773 },
	{ 0x17b4, 0x17b5 }, { 0x17b7, 0x17bd }, { 0x17c6, 0x17c6 },
	{ 0x17c9, 0x17d3 }, { 0x17dd, 0x17dd }, { 0x180b, 0x180d },
	{ 0x180f, 0x180f }, { 0x1885, 0x1886 }, { 0x18a9, 0x18a9 },
	{ 0x1920, 0x1922 }, { 0x1927, 0x1928 }, { 0x1932, 0x1932 },
	{ 0x1939, 0x193b }, { 0x1a17, 0x1a18 }, { 0x1a1b, 0x1a1b },
	{ 0x1a56, 0x1a56 }, { 0x1a58, 0x1a5e }, { 0x1a60, 0x1a60 },
	{ 0x1a62, 0x1a62 }, { 0x1a65, 0x1a6c }, { 0x1a73, 0x1a7c },
	{ 0x1a7f, 0x1a7f }, { 0x1ab0, 0x1ace }, { 0x1b00, 0x1b03 },
	{ 0x1b34, 0x1b34 }, { 0x1b36, 0x1b3a }, { 0x1b3c, 0x1b3c },
	{ 0x1b42, 0x1b42 }, { 0x1b6b, 0x1b73 }, { 0x1b80, 0x1b81 },
	{ 0x1ba2, 0x1ba5 }, { 0x1ba8, 0x1ba9 }, { 0x1bab, 0x1bad },
	{ 0x1be6, 0x1be6 }, { 0x1be8, 0x1be9 }, { 0x1bed, 0x1bed },
	{ 0x1bef, 0x1bf1 }, { 0x1c2c, 0x1c33 }, { 0x1c36, 0x1c37 },
	{ 0x1cd0, 0x1cd2 }, { 0x1cd4, 0x1ce0 }, { 0x1ce2, 0x1ce8 },
	{ 0x1ced, 0x1ced }, { 0x1cf4, 0x1cf4 }, { 0x1cf8, 0x1cf9 },
	{ 0x1dc0, 0x1dff }, { 0x20d0, 0x20f0 }, { 0x2cef, 0x2cf1 },
	{ 0x2d7f, 0x2d7f }, { 0x2de0, 0x2dff }, { 0x302a, 0x302d },
	{ 0x3099, 0x309a }, { 0xa66f, 0xa672 }, { 0xa674, 0xa67d },
	{ 0xa69e, 0xa69f }, { 0xa6f0, 0xa6f1 }, { 0xa802, 0xa802 },
	{ 0xa806, 0xa806 }, { 0xa80b, 0xa80b }, { 0xa825, 0xa826 },
	{ 0xa82c, 0xa82c }, { 0xa8c4, 0xa8c5 }, { 0xa8e0, 0xa8f1 },
	{ 0xa8ff, 0xa8ff }, { 0xa926, 0xa92d }, { 0xa947, 0xa951 },
	{ 0xa980, 0xa982 }, { 0xa9b3, 0xa9b3 }, { 0xa9b6, 0xa9b9 },
	{ 0xa9bc, 0xa9bd }, { 0xa9e5, 0xa9e5 }, { 0xaa29, 0xaa2e },
	{ 0xaa31, 0xaa32 }, { 0xaa35, 0xaa36 }, { 0xaa43, 0xaa43 },
	{ 0xaa4c, 0xaa4c }, { 0xaa7c, 0xaa7c }, { 0xaab0, 0xaab0 },
	{ 0xaab2, 0xaab4 }, { 0xaab7, 0xaab8 }, { 0xaabe, 0xaabf },
	{ 0xaac1, 0xaac1 }, { 0xaaec, 0xaaed }, { 0xaaf6, 0xaaf6 },
	{ 0xabe5, 0xabe5 }, { 0xabe8, 0xabe8 }, { 0xabed, 0xabed },
	{ 0xd7b0, 0xd7ff }, { 0xfb1e, 0xfb1e }, { 0xfe00, 0xfe0f },
	{ 0xfe20, 0xfe2f }, { 0x101fd, 0x101fd }, { 0x102e0, 0x102e0 },
	{ 0x10376, 0x1037a }, { 0x10a01, 0x10a03 }, { 0x10a05, 0x10a06 },
	{ 0x10a0c, 0x10a0f }, { 0x10a38, 0x10a3a }, { 0x10a3f, 0x10a3f },
	{ 0x10ae5, 0x10ae6 }, { 0x10d24, 0x10d27 }, { 0x10eab, 0x10eac },
	{ 0x10f46, 0x10f50 }, { 0x10f82, 0x10f85 }, { 0x11001, 0x11001 },
	{ 0x11038, 0x11046 }, { 0x11070, 0x11070 }, { 0x11073, 0x11074 },
	{ 0x1107f, 0x11081 }, { 0x110b3, 0x110b6 }, { 0x110b9, 0x110ba },
	{ 0x110c2, 0x110c2 }, { 0x11100, 0x11102 }, { 0x11127, 0x1112b },
	{ 0x1112d, 0x11134 }, { 0x11173, 0x11173 }, { 0x11180, 0x11181 },
	{ 0x111b6, 0x111be }, { 0x111c9, 0x111cc }, { 0x111cf, 0x111cf },
	{ 0x1122f, 0x11231 }, { 0x11234, 0x11234 }, { 0x11236, 0x11237 },
	{ 0x1123e, 0x1123e }, { 0x112df, 0x112df }, { 0x112e3, 0x112ea },
	{ 0x11300, 0x11301 }, { 0x1133b, 0x1133c }, { 0x11340, 0x11340 },
	{ 0x11366, 0x1136c }, { 0x11370, 0x11374 }, { 0x11438, 0x1143f },
	{ 0x11442, 0x11444 }, { 0x11446, 0x11446 }, { 0x1145e, 0x1145e },
	{ 0x114b3, 0x114b8 }, { 0x114ba, 0x114ba }, { 0x114bf, 0x114c0 },
	{ 0x114c2, 0x114c3 }, { 0x115b2, 0x115b5 }, { 0x115bc, 0x115bd },
	{ 0x115bf, 0x115c0 }, { 0x115dc, 0x115dd }, { 0x11633, 0x1163a },
	{ 0x1163d, 0x1163d }, { 0x1163f, 0x11640 }, { 0x116ab, 0x116ab },
	{ 0x116ad, 0x116ad }, { 0x116b0, 0x116b5 }, { 0x116b7, 0x116b7 },
	{ 0x1171d, 0x1171f }, { 0x11722, 0x11725 }, { 0x11727, 0x1172b },
	{ 0x1182f, 0x11837 }, { 0x11839, 0x1183a }, { 0x1193b, 0x1193c },
	{ 0x1193e, 0x1193e }, { 0x11943, 0x11943 }, { 0x119d4, 0x119d7 },
	{ 0x119da, 0x119db }, { 0x119e0, 0x119e0 }, { 0x11a01, 0x11a0a },
	{ 0x11a33, 0x11a38 }, { 0x11a3b, 0x11a3e }, { 0x11a47, 0x11a47 },
	{ 0x11a51, 0x11a56 }, { 0x11a59, 0x11a5b }, { 0x11a8a, 0x11a96 },
	{ 0x11a98, 0x11a99 }, { 0x11c30, 0x11c36 }, { 0x11c38, 0x11c3d },
	{ 0x11c3f, 0x11c3f }, { 0x11c92, 0x11ca7 }, { 0x11caa, 0x11cb0 },
	{ 0x11cb2, 0x11cb3 }, { 0x11cb5, 0x11cb6 }, { 0x11d31, 0x11d36 },
	{ 0x11d3a, 0x11d3a }, { 0x11d3c, 0x11d3d }, { 0x11d3f, 0x11d45 },
	{ 0x11d47, 0x11d47 }, { 0x11d90, 0x11d91 }, { 0x11d95, 0x11d95 },
	{ 0x11d97, 0x11d97 }, { 0x11ef3, 0x11ef4 }, { 0x16af0, 0x16af4 },
	{ 0x16b30, 0x16b36 }, { 0x16f4f, 0x16f4f }, { 0x16f8f, 0x16f92 },
	{ 0x16fe4, 0x16fe4 }, { 0x1bc9d, 0x1bc9e }, { 0x1cf00, 0x1cf2d },
	{ 0x1cf30, 0x1cf46 }, { 0x1d167, 0x1d169 }, { 0x1d17b, 0x1d182 },
	{ 0x1d185, 0x1d18b }, { 0x1d1aa, 0x1d1ad }, { 0x1d242, 0x1d244 },
	{ 0x1da00, 0x1da36 }, { 0x1da3b, 0x1da6c }, { 0x1da75, 0x1da75 },
	{ 0x1da84, 0x1da84 }, { 0x1da9b, 0x1da9f }, { 0x1daa1, 0x1daaf },
	{ 0x1e000, 0x1e006 }, { 0x1e008, 0x1e018 }, { 0x1e01b, 0x1e021 },
	{ 0x1e023, 0x1e024 }, { 0x1e026, 0x1e02a }, { 0x1e130, 0x1e136 },
	{ 0x1e2ae, 0x1e2ae }, { 0x1e2ec, 0x1e2ef }, { 0x1e8d0, 0x1e8d6 },
	{ 0x1e944, 0x1e94a }, { 0xe0100, 0xe01ef },
};

/*
 * East Asian Wide and Fullwidth characters (EastAsianWidth.txt, Unicode
 * 14.0), including the emoji that terminals draw in two columns and the
 * whole of the CJK extension planes 2 and 3.
 */
static const struct range wide[] = {
	{ 0x1100, 0x115f }, { 0x231a, 0x231b }, { 0x2329, 0x232a },
	{ 0x23e9, 0x23ec }, { 0x23f0, 0x23f0 }, { 0x23f3, 0x23f3 },
	{ 0x25fd, 0x25fe }, { 0x2614, 0x2615 }, { 0x2648, 0x2653 },
	{ 0x267f, 0x267f }, { 0x2693, 0x2693 }, { 0x26a1, 0x26a1 },
	{ 0x26aa, 0x26ab }, { 0x26bd, 0x26be }, { 0x26c4, 0x26c5 },
	{ 0x26ce, 0x26ce }, { 0x26d4, 0x26d4 }, { 0x26ea, 0x26ea },
	{ 0x26f2, 0x26f3 }, { 0x26f5, 0x26f5 }, { 0x26fa, 0x26fa },
	{ 0x26fd, 0x26fd }, { 0x2705, 0x2705 }, { 0x270a, 0x270b },
	{ 0x2728, 0x2728 }, { 0x274c, 0x274c }, { 0x274e, 0x274e },
	{ 0x2753, 0x2755 }, { 0x2757, 0x2757 }, { 0x2795, 0x2797 },
	{ 0x27b0, 0x27b0 }, { 0x27bf, 0x27bf }, { 0x2b1b, 0x2b1c },
	{ 0x2b50, 0x2b50 }, { 0x2b55, 0x2b55 }, { 0x2e80, 0x303e },
	{ 0x3041, 0x4dbf }, { 0x4e00, 0xa4cf }, { 0xa960, 0xa97c },
	{ 0xac00, 0xd7a3 }, { 0xf900, 0xfaff }, { 0xfe10, 0xfe19 },
	{ 0xfe30, 0xfe52 }, { 0xfe54, 0xfe66 }, { 0xfe68, 0xfe6b },
	{ 0xff00, 0xff60 }, { 0xffe0, 0xffe6 }, { 0x16fe0, 0x16fe3 },
	{ 0x16ff0, 0x16ff1 }, { 0x17000, 0x187f7 }, { 0x18800, 0x18cd5 },
	{ 0x18d00, 0x18d08 }, { 0x1aff0, 0x1aff3 }, { 0x1aff5, 0x1affb },
	{ 0x1affd, 0x1affe }, { 0x1b000, 0x1b122 }, { 0x1b150, 0x1b152 },
	{ 0x1b164, 0x1b167 }, { 0x1b170, 0x1b2fb }, { 0x1f004, 0x1f004 },
	{ 0x1f0cf, 0x1f0cf }, { 0x1f18e, 0x1f18e }, { 0x1f191, 0x1f19a },
	{ 0x1f200, 0x1f202 }, { 0x1f210, 0x1f23b }, { 0x1f240, 0x1f248 },
	{ 0x1f250, 0x1f251 }, { 0x1f260, 0x1f265 }, { 0x1f300, 0x1f64f },
	{ 0x1f680, 0x1f6c5 }, { 0x1f6cc, 0x1f6cc }, { 0x1f6d0, 0x1f6d2 },
	{ 0x1f6d5, 0x1f6d7 }, { 0x1f6dd, 0x1f6df }, { 0x1f6eb, 0x1f6ec },
	{ 0x1f6f4, 0x1f6fc }, { 0x1f7e0, 0x1f7eb }, { 0x1f7f0, 0x1f7f0 },
	{ 0x1f900, 0x1f9ff }, { 0x1fa70, 0x1fa74 }, { 0x1fa78, 0x1fa7c },
	{ 0x1fa80, 0x1fa86 }, { 0x1fa90, 0x1faac }, { 0x1fab0, 0x1faba },
	{ 0x1fac0, 0x1fac5 }, { 0x1fad0, 0x1fad9 }, { 0x1fae0, 0x1fae7 },
	{ 0x1faf0, 0x1faf6 }, { 0x20000, 0x2fffd }, { 0x30000, 0x3fffd },
};

enum class {
	CLASS_PRINT,	/* drawn as is */
	CLASS_MARK,	/* drawn as is, on top of the previous character */
	CLASS_C0,	/* C0 control or DEL */
	CLASS_C1,	/* C1 control */
	CLASS_HIDDEN,	/* invisible or bidi format, noncharacter */
};

enum style {
	STYLE_TERMINAL,
	STYLE_LOG,
};

static bool
in_table(uint32_t cp, const struct range *t, size_t n)
{
	size_t lo = 0, hi = n, mid;

	if (n == 0 || cp < t[0].lo || cp > t[n - 1].hi) {
		return false;
	}
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (cp > t[mid].hi) {
			lo = mid + 1;
		} else if (cp < t[mid].lo) {
			hi = mid;
		} else {
			return true;
		}
	}
	return false;
}

/*
 * Decodes one well-formed UTF-8 sequence (Unicode table 3-7) at p and
 * returns its length, or 0 when p[0] does not start one: overlong forms,
 * surrogates, values above U+10FFFF, stray continuation bytes and
 * truncated sequences are all rejected, so the caller can escape that
 * single byte and resume at the next.
 */
static size_t
utf8_decode(const unsigned char *p, size_t len, uint32_t *cp)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;
	uint32_t c;

	if (len == 0) {
		return 0;
	}
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		c = p[0] & 0x0f;
		if (p[0] == 0xe0) {
			lo = 0xa0;
		} else if (p[0] == 0xed) {
			hi = 0x9f;
		}
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		c = p[0] & 0x07;
		if (p[0] == 0xf0) {
			lo = 0x90;
		} else if (p[0] == 0xf4) {
			hi = 0x8f;
		}
	} else {
		return 0;
	}
	if (len < n || p[1] < lo || p[1] > hi) {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			return 0;
		}
		c = (c << 6) | (p[i] & 0x3f);
	}
	*cp = c;
	return n;
}

static enum class
classify(uint32_t cp)
{
	if (cp < 0x20 || cp == 0x7f) {
		return CLASS_C0;
	}
	if (cp < 0x7f) {
		return CLASS_PRINT;
	}
	if (cp <= 0x9f) {
		return CLASS_C1;
	}
	if ((cp & 0xfffe) == 0xfffe ||
	    in_table(cp, hidden, ARRAY_SIZE(hidden))) {
		return CLASS_HIDDEN;
	}
	if (in_table(cp, marks, ARRAY_SIZE(marks))) {
		return CLASS_MARK;
	}
	return CLASS_PRINT;
}

static size_t
char_width(uint32_t cp)
{
	switch (classify(cp)) {
	case CLASS_PRINT:
		return in_table(cp, wide, ARRAY_SIZE(wide)) ? 2 : 1;
	case CLASS_MARK:
	case CLASS_C0:
	case CLASS_C1:
	case CLASS_HIDDEN:
		break;
	}
	return 0;
}

/*
 * Escapes are formatted by hand: random input is mostly escapes, and
 * going through printf for each one would make rendering several times
 * slower.
 */
static void
append_hex(struct buf *b, uint32_t v, size_t min_digits, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char s[8];
	size_t n = sizeof(s);

	do {
		s[--n] = digits[v & 0xf];
		v >>= 4;
	} while (v != 0 || sizeof(s) - n < min_digits);
	buf_append(b, s + n, sizeof(s) - n);
}

static void
escape_byte(struct buf *b, unsigned char c)
{
	buf_append(b, "\\x", 2);
	append_hex(b, c, 2, false);
}

static void
escape_code_point(struct buf *b, enum style style, uint32_t cp)
{
	if (style == STYLE_TERMINAL) {
		buf_append(b, "<U+", 3);
		append_hex(b, cp, 4, true);
		buf_append(b, ">", 1);
	} else {
		buf_append(b, "\\u{", 3);
		append_hex(b, cp, 4, false);
		buf_append(b, "}", 1);
	}
}

static void
escape_c0(struct buf *b, enum style style, uint32_t cp)
{
	char s[2];

	if (style == STYLE_TERMINAL) {
		s[0] = '^';
		s[1] = (char)(cp == 0x7f ? '?' : cp + 0x40);
		buf_append(b, s, 2);
		return;
	}
	switch (cp) {
	case '\n':
		buf_append(b, "\\n", 2);
		break;
	case '\r':
		buf_append(b, "\\r", 2);
		break;
	case '\t':
		buf_append(b, "\\t", 2);
		break;
	case 0x1b:
		buf_append(b, "\\e", 2);
		break;
	default:
		escape_byte(b, (unsigned char)cp);
		break;
	}
}

static void
flush_marks(struct buf *b, size_t *dropped)
{
	if (*dropped > 0) {
		buf_appendf(b, "<+%zu marks>", *dropped);
		*dropped = 0;
	}
}

/*
 * Past MAX_MARKS marks on one base, the terminal gets a single note for
 * the marks it was not shown, so a flood cannot paint over the lines
 * around it; a log keeps every mark but escapes those past the cap, so it
 * stays lossless.
 */
static void
render_into(struct buf *b, const unsigned char *p, size_t len,
    enum style style)
{
	size_t i = 0, n, run = 0, dropped = 0;
	uint32_t cp;
	enum class cl;

	while (i < len) {
		n = utf8_decode(p + i, len - i, &cp);
		if (n == 0) {
			flush_marks(b, &dropped);
			run = 0;
			escape_byte(b, p[i]);
			i++;
			continue;
		}
		cl = classify(cp);
		if (cl == CLASS_MARK) {
			if (run < MAX_MARKS) {
				run++;
				buf_append(b, p + i, n);
			} else if (style == STYLE_TERMINAL) {
				dropped++;
			} else {
				escape_code_point(b, style, cp);
			}
			i += n;
			continue;
		}
		flush_marks(b, &dropped);
		run = 0;
		switch (cl) {
		case CLASS_C0:
			escape_c0(b, style, cp);
			break;
		case CLASS_C1:
		case CLASS_HIDDEN:
			escape_code_point(b, style, cp);
			break;
		case CLASS_PRINT:
		case CLASS_MARK:
			if (style == STYLE_LOG && (cp == '\\' || cp == '"')) {
				buf_append(b, "\\", 1);
			}
			buf_append(b, p + i, n);
			break;
		}
		i += n;
	}
	flush_marks(b, &dropped);
}

char *
render_text(const char *in, size_t len)
{
	struct buf b = { NULL, 0, 0 };

	buf_append(&b, "", 0);	/* empty input still yields a string */
	render_into(&b, (const unsigned char *)in, len, STYLE_TERMINAL);
	return b.data;
}

char *
render_log_value(const char *in, size_t len)
{
	struct buf b = { NULL, 0, 0 };
	bool quote = len == 0;
	size_t i;

	for (i = 0; i < len && !quote; i++) {
		if (in[i] == ' ' || in[i] == '"' || in[i] == '=') {
			quote = true;
		}
	}
	if (quote) {
		buf_append(&b, "\"", 1);
	}
	render_into(&b, (const unsigned char *)in, len, STYLE_LOG);
	if (quote) {
		buf_append(&b, "\"", 1);
	}
	return b.data;
}

/*
 * Width and length of the character at s; a byte that is not valid UTF-8
 * counts as one column, as a terminal would draw U+FFFD for it.
 */
static size_t
next_char(const unsigned char *s, size_t len, size_t *cols, bool *is_mark)
{
	uint32_t cp;
	size_t n;

	n = utf8_decode(s, len, &cp);
	if (n == 0) {
		*cols = 1;
		*is_mark = false;
		return 1;
	}
	*cols = char_width(cp);
	*is_mark = classify(cp) == CLASS_MARK;
	return n;
}

size_t
render_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, cols, total = 0;
	bool is_mark;

	while (i < len) {
		i += next_char(p + i, len - i, &cols, &is_mark);
		total += cols;
	}
	return total;
}

size_t
render_clip(const char *s, size_t maxcols)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, end, n, cols, mark_cols, used = 0;
	bool is_mark;

	while (i < len) {
		end = i + next_char(p + i, len - i, &cols, &is_mark);
		while (end < len) {
			n = next_char(p + end, len - end, &mark_cols, &is_mark);
			if (!is_mark) {
				break;
			}
			end += n;
		}
		if (used + cols > maxcols) {
			break;
		}
		used += cols;
		i = end;
	}
	return i;
}
