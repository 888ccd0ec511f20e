/*
 * The pre-authentication gate: what gate_configure() accepts and
 * refuses (MaxStartups, PerSourceNetBlockSize); sources grouped by net
 * block; a full table making room for newcomers by forgetting its least
 * penalized entries; eviction of stalled connections when MaxStartups
 * is reached, and the penalty for the time they held.
 */
#include "config.h"

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "conf.h"
#include "gate.h"
#include "unit.h"

static bool
accepts_blocks(const char *value)
{
	char err[256];

	if (conf_set("PerSourceNetBlockSize", value, err, sizeof(err)) < 0) {
		return false;
	}
	return gate_configure(err, sizeof(err)) == 0;
}

static void
left_between(const char *ip, int64_t lo, int64_t hi)
{
	int64_t left = gate_penalty_left_ms(ip);

	if (left < lo || left > hi) {
		fprintf(stderr, "%s: penalty %lld ms, not %lld-%lld\n", ip,
		    (long long)left, (long long)lo, (long long)hi);
	}
	CHECK(left >= lo && left <= hi);
}

/* A connection from ip that fails a password and ends. */
static bool
fail_from(const char *ip, const char *user)
{
	char why[128];
	struct gate_conn *c = gate_admit(ip, why, sizeof(why));

	if (c == NULL) {
		fprintf(stderr, "%s refused: %s\n", ip, why);
		return false;
	}
	gate_auth_failed(c, user);
	gate_unauthenticated(c);
	return true;
}

static void
test_blocks(void)
{
	CHECK(accepts_blocks("32:64"));
	CHECK(accepts_blocks("24"));
	CHECK(!accepts_blocks("0:64"));
	CHECK(!accepts_blocks("33:64"));
	CHECK(!accepts_blocks("32:129"));
	CHECK(!accepts_blocks("32:"));
	CHECK(!accepts_blocks("x"));
	CHECK(accepts_blocks("32:64"));

	options.penalty_authfail = 100;
	options.penalty_min = 86400;
	options.account_attack_rate = 0;
	CHECK(fail_from("2001:db8:1:2::1", "u"));
	/* The same /64 shares the penalty; the next /64 does not. */
	CHECK(gate_penalty_left_ms("2001:db8:1:2:ffff:1:2:3") > 90000);
	CHECK(gate_penalty_left_ms("2001:db8:1:3::1") == 0);
	/* IPv4 per address; IPv4-mapped IPv6 is the same address. */
	CHECK(fail_from("10.9.0.1", "u"));
	CHECK(gate_penalty_left_ms("::ffff:10.9.0.1") > 90000);
	CHECK(gate_penalty_left_ms("10.9.0.2") == 0);
}

/*
 * 20,000 penalized sources in a 4,096-slot table: every newcomer is
 * admitted (the old gate said "source table full"), and the heavily
 * penalized sources keep their entries while light ones give way.
 */
static void
test_table_full(void)
{
	char ip[64];
	int refused = 0, kept = 0;

	options.penalty_min = 86400;
	options.penalty_max = 86400;
	options.account_attack_rate = 0;
	options.penalty_authfail = 3600;
	for (int i = 0; i < 50; i++) {
		snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 256, i % 256);
		refused += !fail_from(ip, "u");
	}
	options.penalty_authfail = 1;
	for (int i = 50; i < 20000; i++) {
		snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 256, i % 256);
		refused += !fail_from(ip, "u");
	}
	CHECK(refused == 0);
	for (int i = 0; i < 50; i++) {
		snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 256, i % 256);
		kept += gate_penalty_left_ms(ip) > 3500 * 1000;
	}
	CHECK(kept == 50);
	CHECK(gate_unauth_count() == 0);
}

static int
wake(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	CHECK(fd >= 0);
	return fd;
}

static bool
woken(int fd)
{
	uint64_t v = 0;

	return read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v) && v > 0;
}

/*
 * MaxStartups 4, all held: a newcomer evicts the oldest connection not
 * through its key exchange from the source holding the most, and wakes
 * its session; a newcomer from that source itself is refused.
 */
static void
test_evict(void)
{
	char err[256], why[128];
	struct gate_conn *a[3], *b, *c, *d, *e;
	int fd[3];

	options.penalty_min = 86400;
	options.penalty_noauth = 0;
	options.per_source_max_startups = 10;
	CHECK(conf_set("MaxStartups", "4", err, sizeof(err)) == 0);
	CHECK(gate_configure(err, sizeof(err)) == 0);
	for (int i = 0; i < 3; i++) {
		a[i] = gate_admit("10.2.0.1", why, sizeof(why));
		CHECK(a[i] != NULL);
		fd[i] = wake();
		gate_attach(a[i], fd[i]);
	}
	b = gate_admit("10.2.0.2", why, sizeof(why));
	CHECK(b != NULL);
	CHECK(gate_unauth_count() == 4);

	c = gate_admit("10.2.0.3", why, sizeof(why));
	CHECK(c != NULL);
	CHECK(gate_evicted(a[0]) && woken(fd[0]));
	CHECK(!gate_evicted(a[1]) && !woken(fd[1]));
	CHECK(!gate_evicted(b));
	CHECK(gate_unauth_count() == 4);

	/* 10.2.0.1 holds 2, nobody more: refused. */
	CHECK(gate_admit("10.2.0.1", why, sizeof(why)) == NULL);
	CHECK(strstr(why, "MaxStartups") != NULL);

	/* Through its key exchange: no longer a candidate. */
	CHECK(gate_kex_done(a[1]));
	d = gate_admit("10.2.0.4", why, sizeof(why));
	CHECK(d != NULL);
	CHECK(gate_evicted(a[2]) && woken(fd[2]));
	CHECK(!gate_kex_done(a[2]));
	CHECK(!gate_evicted(a[1]));

	/* All hold one: the newcomer that holds none evicts the oldest. */
	e = gate_admit("10.2.0.5", why, sizeof(why));
	CHECK(e != NULL && gate_evicted(b));

	for (int i = 0; i < 3; i++) {
		gate_unauthenticated(a[i]);
		close(fd[i]);
	}
	gate_unauthenticated(b);
	gate_unauthenticated(c);
	gate_unauthenticated(d);
	gate_unauthenticated(e);
	CHECK(gate_unauth_count() == 0);
}

/* A connection that never finished its key exchange costs what it held. */
static void
test_held_penalty(void)
{
	char why[128];
	struct gate_conn *c;
	int64_t left;

	options.penalty_min = 86400;
	options.penalty_noauth = 0;
	c = gate_admit("10.3.0.1", why, sizeof(why));
	CHECK(c != NULL);
	(void)poll(NULL, 0, 300);
	gate_unauthenticated(c);
	left = gate_penalty_left_ms("10.3.0.1");
	CHECK(left >= 250 && left <= 400);

	/* Through its key exchange: PenaltyNoAuth (0) only. */
	c = gate_admit("10.3.0.2", why, sizeof(why));
	CHECK(c != NULL && gate_kex_done(c));
	(void)poll(NULL, 0, 100);
	gate_unauthenticated(c);
	CHECK(gate_penalty_left_ms("10.3.0.2") == 0);
}

/* Failed passwords cost the source even when a login follows. */
static void
test_fail_then_login(void)
{
	char why[128];
	struct gate_conn *c;

	options.penalty_authfail = 5;
	options.penalty_account_attack = 60;
	options.account_attack_rate = 2;
	c = gate_admit("10.4.0.1", why, sizeof(why));
	CHECK(c != NULL);
	gate_auth_failed(c, "bob");
	gate_auth_failed(c, "bob");
	gate_authenticated(c);
	left_between("10.4.0.1", 4000, 5000);
	/* Third failure for bob in a minute, rate 2: bob is under attack. */
	CHECK(fail_from("10.4.0.2", "bob"));
	left_between("10.4.0.2", 59000, 60000);
	/* Another account is not. */
	CHECK(fail_from("10.4.0.3", "carol"));
	left_between("10.4.0.3", 4000, 5000);
}

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

	CHECK(conf_set("MaxStartups", "10:30:100", err, sizeof(err)) == 0);
	test_blocks();
	test_table_full();
	test_evict();
	test_held_penalty();
	test_fail_then_login();
	conf_free();
	return unit_done("test-gate");
}
