/* MaxStartups: what gate_configure() accepts and refuses. */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "conf.h"
#include "gate.h"
#include "unit.h"

static bool
accepts(const char *value)
{
	char err[256];

	if (conf_set("MaxStartups", value, err, sizeof(err)) < 0) {
		return false;
	}
	return gate_configure(err, sizeof(err)) == 0;
}

int
main(void)
{
	char err[256];

	conf_defaults();
	CHECK(gate_configure(err, sizeof(err)) == 0);	/* 10:30:100 */
	CHECK(accepts("10"));
	CHECK(accepts("3:30:100"));
	CHECK(accepts("1:100:100000"));
	CHECK(accepts("5:1:5"));

	/* Not N or start:rate:full. */
	CHECK(!accepts("10:"));
	CHECK(!accepts(":10"));
	CHECK(!accepts("1:2"));
	CHECK(!accepts("1:2:3:4"));
	CHECK(!accepts("1::3"));
	CHECK(!accepts("abc"));
	CHECK(!accepts("10x"));
	CHECK(!accepts("-5"));
	/* Past INT_MAX: sscanf("%d") made this undefined behaviour. */
	CHECK(!accepts("99999999999"));
	CHECK(!accepts("1:30:99999999999999999999"));

	/* Out of range. */
	CHECK(!accepts("0"));
	CHECK(!accepts("100001"));
	CHECK(!accepts("10:0:100"));
	CHECK(!accepts("10:101:100"));
	CHECK(!accepts("20:30:10"));
	CHECK(gate_configure(err, sizeof(err)) < 0 &&
	    strstr(err, "need 1 <= start") != NULL);

	conf_free();
	return unit_done("test-gate");
}
