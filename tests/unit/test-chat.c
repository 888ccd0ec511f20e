/*
 * chat.c: join/leave notices (one name, a few, more than are shown), and
 * messages as a reader sees them: tags, the date of a stored one,
 * wrapping with a hanging indent to the reader's width (a prefix too
 * wide for the terminal included), colour and mention highlight, the
 * bell, control characters escaped.  The view is given, nothing read.
 * Any other text for a terminal (chat_wrap_text): lines wider than it
 * broken with an indent, so that padding cannot start a row at column 0;
 * no terminal, no wrapping; 80 columns when the client gave no size.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "store.h"
#include "unit.h"
#include "util.h"

static void
check_notice(const char *const *names, size_t n, bool joined,
    const char *want)
{
	struct chat_view v = { .user = "zed" };
	char *got = chat_format_notice(names, n, joined, &v);

	CHECK_STR(got, want);
	free(got);
}

/* A message from alice to bob (or said to the room). */
static struct store_message
message(int kind, const char *body)
{
	struct store_message m = { .id = 1, .kind = kind };

	/* 2026-12-07 05:56:00 UTC */
	m.sent_ms = 1796622960000LL;
	strcpy(m.sender, "alice");
	strcpy(m.recipient, "bob");
	m.body = (char *)body;
	m.body_len = strlen(body);
	return m;
}

static void
check_message(int kind, const char *body, const struct chat_view *v,
    bool stored, const char *want)
{
	struct store_message m = message(kind, body);
	char *got = chat_format_message(&m, v, stored);

	CHECK_STR(got, want);
	free(got);
}

/* Every row of text fits in cols - 1 columns (ASCII text). */
static bool
rows_fit(const char *text, int cols)
{
	const char *p = text;

	for (;;) {
		size_t n = strcspn(p, "\n");

		if (n >= (size_t)cols) {
			return false;
		}
		if (p[n] == '\0') {
			return true;
		}
		p += n + 1;
	}
}

static void
messages(void)
{
	struct chat_view v = { .user = "bob", .cols = 0 };
	struct chat_view w40 = { .user = "bob", .cols = 40 };
	struct chat_view w20 = { .user = "bob", .cols = 20 };
	struct chat_view color = { .user = "bob", .cols = 0, .color = true };
	struct chat_view bell = { .user = "bob", .cols = 0, .bell = true };
	const char *long_body = "this message waited in the store while "
	    "bob was away and is long";
	struct store_message m = message(STORE_MSG, long_body);
	char *got;

	check_message(STORE_MSG, "hi", &v, false, "[from alice] hi");
	check_message(STORE_SAY, "hi", &v, false, "<alice> hi");
	check_message(STORE_ME, "waves", &v, false, "* alice waves");
	check_message(STORE_MSG, "hi", &v, true,
	    "[from alice, Dec 07 05:56] hi");
	check_message(STORE_SAY, "hi", &v, true, "[Dec 07 05:56] <alice> hi");
	/* Controls are shown escaped, newlines cannot fake a line. */
	check_message(STORE_MSG, "a\033[2Jb\nc", &v, false,
	    "[from alice] a^[[2Jb^Jc");

	/* Live, 40 columns: continuation rows under the body's start. */
	check_message(STORE_MSG, long_body, &w40, false,
	    "[from alice] this message waited in \n"
	    "             the store while bob was \n"
	    "             away and is long");
	/* Read back from the store, with its longer prefix: the same. */
	got = chat_format_message(&m, &w40, true);
	CHECK(rows_fit(got, 40));
	CHECK_STR(got, "[from alice, Dec 07 05:56] this message\n"
	    "                           waited in \n"
	    "                           the store \n"
	    "                           while bob \n"
	    "                           was away \n"
	    "                           and is long");
	free(got);
	/*
	 * 20 columns: the prefix is too wide for a hanging indent; rows
	 * are indented by 4 and none reaches the last column, the first
	 * included.
	 */
	got = chat_format_message(&m, &w20, false);
	CHECK(rows_fit(got, 20));
	CHECK(strncmp(got, "[from alice] this \n    message", 30) == 0);
	free(got);
	/* A prefix wider than the terminal: the body starts below it. */
	got = chat_format_message(&m, &w20, true);
	CHECK(strncmp(got, "[from alice, Dec 07 05:56] \n    this", 36) == 0);
	CHECK(rows_fit(strchr(got, '\n') + 1, 20));
	free(got);
	w20.cols = 10;
	got = chat_format_message(&m, &w20, false);
	CHECK(rows_fit(strchr(got, '\n') + 1, 10));
	free(got);

	/* Colour: the name coloured; a mention highlighted in room lines. */
	got = chat_format_message(&m, &color, false);
	CHECK(strstr(got, "\033[1;") != NULL && strstr(got, "\033[0m") != NULL);
	free(got);
	check_message(STORE_SAY, "hey bob", &v, false, "<alice> hey bob");
	m = message(STORE_SAY, "hey bob");
	got = chat_format_message(&m, &color, false);
	CHECK(strstr(got, "\033[1;33mhey bob\033[0m") != NULL);
	free(got);
	/* The bell rings for a live private message only. */
	check_message(STORE_MSG, "hi", &bell, false, "[from alice] hi\a");
	check_message(STORE_MSG, "hi", &bell, true,
	    "[from alice, Dec 07 05:56] hi");
	check_message(STORE_SAY, "hi", &bell, false, "<alice> hi");
}

static void
check_wrap(const char *text, int cols, const char *want)
{
	struct buf b = { 0 };

	chat_wrap_text(&b, text, strlen(text), cols);
	CHECK_STR(b.data != NULL ? b.data : "", want);
	buf_free(&b);
}

static void
wrapping(void)
{
	char pad[200];

	CHECK(chat_width(false, 40) == 0);
	CHECK(chat_width(true, 40) == 40);
	CHECK(chat_width(true, 0) == CHAT_DEFAULT_COLS);
	check_wrap("short line", 20, "short line");
	check_wrap("bob is away: lunch and then a walk", 20,
	    "bob is away: lunch \n    and then a walk");
	/* Padding that a terminal would wrap into a forged line. */
	snprintf(pad, sizeof(pad), "bob is away: x%*s[from erin] hi", 25, "");
	check_wrap(pad, 20, "bob is away: x     \n"
	    "                   \n       [from erin] \n    hi");
	/* Each line on its own; the short ones as they are. */
	check_wrap("alice  40x12\nbob is away: a long reason here", 20,
	    "alice  40x12\nbob is away: a \n    long reason \n    here");
	/* No terminal: as it is. */
	check_wrap("bob is away: lunch and then a walk", 0,
	    "bob is away: lunch and then a walk");
	/* Colour: a chat line formatted already. */
	check_wrap("<\033[1;31malice\033[0m> a long line of chat text", 20,
	    "<\033[1;31malice\033[0m> a long line of chat text");
}

int
main(void)
{
	const char *names[] = { "a1", "a2", "a3", "a4", "a5", "a6", "a7",
		"a8", "a9", "a10" };

	check_notice(names, 1, true, "* a1 joined");
	check_notice(names, 2, false, "* a1 and a2 left");
	check_notice(names, 3, true, "* a1, a2 and a3 joined");
	check_notice(names, NOTICE_NAMES_MAX, true,
	    "* a1, a2, a3, a4, a5, a6, a7 and a8 joined");
	check_notice(names, 10, false,
	    "* a1, a2, a3, a4, a5, a6, a7, a8 and 2 others left");
	messages();
	wrapping();
	return unit_done("test-chat");
}
