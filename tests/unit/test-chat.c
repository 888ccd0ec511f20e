/* chat.c's join/leave notices: one name, a few, and more than are shown. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "unit.h"

static void
check_notice(const char *const *names, size_t n, bool joined,
    const char *want)
{
	struct chat_view v = { .user = "zed" };
	char *got = chat_format_notice(names, n, joined, &v);

	CHECK_STR(got, want);
	free(got);
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
	return unit_done("test-chat");
}
