/* util.c's parsing and time formatting, at their edges. */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "unit.h"
#include "util.h"

int
main(void)
{
	char b[32], small[4];

	/* str_to_int: the whole string, in range, else the default. */
	CHECK(str_to_int("0", 0, 255, -1) == 0);
	CHECK(str_to_int("255", 0, 255, -1) == 255);
	CHECK(str_to_int("-7", INT_MIN, INT_MAX, 1) == -7);
	CHECK(str_to_int("256", 0, 255, -1) == -1);
	CHECK(str_to_int("-1", 0, 255, -1) == -1);
	CHECK(str_to_int("", 0, 255, -1) == -1);
	CHECK(str_to_int("12x", 0, 255, -1) == -1);
	CHECK(str_to_int("x", 0, 255, -1) == -1);
	CHECK(str_to_int("99999999999999999999", INT_MIN, INT_MAX, 1) == 1);
	CHECK(str_to_int("2147483648", INT_MIN, INT_MAX, 1) == 1);
	CHECK(str_to_int("2147483647", INT_MIN, INT_MAX, 1) == INT_MAX);

	/* time_utc: "?" rather than undefined text when it cannot format. */
	time_utc(0, "%Y-%m-%dT%H:%M:%SZ", b, sizeof(b));
	CHECK_STR(b, "1970-01-01T00:00:00Z");
	time_utc(1700000000, "%b %d %H:%M", b, sizeof(b));
	CHECK_STR(b, "Nov 14 22:13");
	time_utc(INT64_MAX, "%Y-%m-%dT%H:%M:%SZ", b, sizeof(b));
	CHECK_STR(b, "?");
	time_utc(1700000000, "%Y-%m-%dT%H:%M:%SZ", small, sizeof(small));
	CHECK_STR(small, "?");

	/* time_iso8601: 2026-11-24T02:00:00.123Z */
	time_iso8601(b, sizeof(b));
	CHECK(strlen(b) == 24 && b[10] == 'T' && b[19] == '.' && b[23] == 'Z');

	/* LF becomes CR LF, and nothing else changes. */
	{
		struct buf b = { 0 };

		buf_append_crlf(&b, "a\nb\r\n\n", 6);
		buf_append(&b, "", 1);
		CHECK_STR(b.data, "a\r\nb\r\r\n\r\n");
		b.len = 0;
		buf_append_crlf(&b, "no newline", 10);
		buf_append(&b, "", 1);
		CHECK_STR(b.data, "no newline");
		buf_free(&b);
	}
	return unit_done("test-util");
}
