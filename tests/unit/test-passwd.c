/*
 * Unit tests for crypt(3) strings and password checks: a hash made
 * with each accepted method checks, a wrong password does not,
 * malformed hashes are refused (and checked against) without a crash,
 * and an unknown user's dummy check runs the method and cost of the
 * real ones.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "passwd.h"
#include "unit.h"
#include "util.h"

/* The cheapest cost of each method, so the test stays fast. */
static unsigned long
cheap_cost(const char *method)
{
	if (strcmp(method, "$2b$") == 0 || strcmp(method, "$2y$") == 0) {
		return 4;
	}
	if (strcmp(method, "$5$") == 0 || strcmp(method, "$6$") == 0) {
		return 1000;
	}
	if (strcmp(method, "$7$") == 0) {
		return 6;
	}
	return 1;	/* yescrypt, gost-yescrypt */
}

static bool
verify(const char *hash, const char *pw)
{
	return passwd_verify(hash, false, NULL, pw, strlen(pw));
}

static void
test_methods(void)
{
	char err[512], why[512], *h;
	const char *m;
	size_t i;

	for (i = 0; (m = passwd_method(i)) != NULL; i++) {
		h = passwd_hash_with(m, cheap_cost(m), "right-pw", err,
		    sizeof(err));
		if (h == NULL) {
			fprintf(stderr, "%s: %s\n", m, err);
		}
		CHECK(h != NULL);
		if (h == NULL) {
			continue;
		}
		CHECK(strncmp(h, m, strlen(m)) == 0);
		CHECK(passwd_hash_usable(h, why, sizeof(why)));
		CHECK(verify(h, "right-pw"));
		CHECK(!verify(h, "wrong-pw"));
		CHECK(!verify(h, "right-pW"));
		CHECK(!verify(h, ""));
		free(h);
	}
	CHECK(i == 7);
	/* The default: yescrypt, at the cost passwd_set_cost() gave. */
	passwd_set_cost(1);
	h = passwd_hash("alice-pw", err, sizeof(err));
	CHECK(h != NULL && strncmp(h, PASSWD_METHOD, 3) == 0);
	CHECK(h != NULL && verify(h, "alice-pw"));
	free(h);
}

static void
test_policy(void)
{
	char err[512], *pw;

	CHECK(passwd_hash("", err, sizeof(err)) == NULL);
	CHECK_STR(err, "the password is empty");
	CHECK(passwd_hash(NULL, err, sizeof(err)) == NULL);
	CHECK(passwd_hash("tab\there", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "control character") != NULL);
	pw = xmalloc(PASSWORD_HASHED_MAX + 2);
	memset(pw, 'p', PASSWORD_HASHED_MAX + 1);
	pw[PASSWORD_HASHED_MAX + 1] = '\0';
	CHECK(passwd_hash(pw, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "too long") != NULL);
	free(pw);
	CHECK(passwd_hash_with("$1$", 0, "pw", err, sizeof(err)) == NULL);
}

static void
test_malformed(void)
{
	static const char *const bad[] = {
		"", "$", "$$", "$y$", "$y$j9T$", "$y$j9T$salt$short",
		"$y$j9T$salt$0123456789012345678901234567890123456789012!",
		"$6$rounds=$salt$x", "$6$rounds=12345678901$s$x",
		"$2b$99$0123456789012345678901234567890123456789012345678901",
		"$2b$1$x", "$7$", "$1$abc$def", "$md5$x", "plain", "*",
		"*0", "!", "$gy$$$",
	};
	char why[512];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		why[0] = '\0';
		CHECK(!passwd_hash_usable(bad[i], why, sizeof(why)));
		CHECK(why[0] != '\0');
		/* Checking against one must not crash nor match. */
		CHECK(!verify(bad[i], "pw"));
		CHECK(!verify(bad[i], bad[i]));
	}
	CHECK(!passwd_hash_usable("$1$abc$def", why, sizeof(why)));
	CHECK(strstr(why, "unsupported password hash '$1$'") != NULL);
}

static void
test_plaintext(void)
{
	CHECK(passwd_verify("secret", true, NULL, "secret", 6));
	CHECK(!passwd_verify("secret", true, NULL, "secreT", 6));
	CHECK(!passwd_verify("secret", true, NULL, "secret!", 7));
	CHECK(!passwd_verify(NULL, false, NULL, "secret", 6));
	CHECK(!passwd_verify(NULL, false, NULL, NULL, 0));
}

/* The best of runs checks of pw against stored, in seconds. */
static double
seconds_with(const char *stored, const struct passwd_cost *cost,
    const char *pw, int runs)
{
	struct timespec a, b;
	double best = 1e9, t;
	int i;

	for (i = 0; i < runs; i++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		(void)passwd_verify(stored, false, cost, pw, strlen(pw));
		clock_gettime(CLOCK_MONOTONIC, &b);
		t = (double)(b.tv_sec - a.tv_sec) +
		    (double)(b.tv_nsec - a.tv_nsec) / 1e9;
		if (t < best) {
			best = t;
		}
	}
	return best;
}

static double
seconds_of(const char *stored, const char *dummy, int runs)
{
	struct passwd_cost c = { .dummy = dummy };

	return seconds_with(stored, dummy != NULL ? &c : NULL, "guess", runs);
}

/*
 * A wrong password for an account whose method is cheaper than the
 * rest of its table's takes as long as the slowest kind of hash there
 * (issue 20 item 9: a sha512crypt account among yescrypt ones answered
 * in 2.7 ms, an unknown name in 23): here bcrypt at 4 beside bcrypt at
 * 10, 64 times its cost.  A right password is not slowed.
 */
static void
test_floor(void)
{
	char err[512], *h[3];
	struct passwd_cost c;
	double floor, fail, ok;
	size_t i;

	h[0] = passwd_hash_with("$2b$", 4, "a", err, sizeof(err));
	h[1] = passwd_hash_with("$2b$", 10, "b", err, sizeof(err));
	h[2] = passwd_hash_with("$2b$", 10, "c", err, sizeof(err));
	for (i = 0; i < 3; i++) {
		CHECK(h[i] != NULL);
		if (h[i] == NULL) {
			return;
		}
	}
	passwd_cost_build(&c, (const char *const *)h, 3);
	CHECK(c.nkinds == 2);
	CHECK(c.dummy == h[1] || c.dummy == h[2]);
	floor = (double)passwd_cost_floor_ns(&c) / 1e9;
	fail = seconds_with(h[0], &c, "guess", 3);
	ok = seconds_with(h[0], &c, "a", 3);
	printf("floor %.4f s: cheap account, wrong password %.4f s, right "
	    "password %.4f s\n", floor, fail, ok);
	CHECK(floor > 0);
	CHECK(fail >= floor * 0.95);
	CHECK(ok < floor / 4);
	passwd_cost_free(&c);
	CHECK(passwd_cost_floor_ns(NULL) == 0);
	for (i = 0; i < 3; i++) {
		free(h[i]);
	}
}

/* An unknown user is checked against a hash like the real ones. */
static void
test_dummy(void)
{
	char err[512], *h[4];
	const char *d;
	double real, fake, cheap;
	size_t i;

	h[0] = passwd_hash_with("$2b$", 4, "a", err, sizeof(err));
	h[1] = passwd_hash_with("$2b$", 10, "b", err, sizeof(err));
	h[2] = passwd_hash_with("$2b$", 10, "c", err, sizeof(err));
	h[3] = passwd_hash_with("$6$", 1000, "d", err, sizeof(err));
	for (i = 0; i < 4; i++) {
		CHECK(h[i] != NULL);
		if (h[i] == NULL) {
			return;
		}
	}
	d = passwd_pick_dummy((const char *const *)h, 4);
	CHECK(d == h[1] || d == h[2]);
	CHECK(d != NULL && passwd_params_len(d) == 7 &&
	    strncmp(d, "$2b$10$", 7) == 0);
	CHECK(passwd_pick_dummy(NULL, 0) == NULL);
	CHECK(passwd_params_len("$y$j9T$abc$def") == 7);
	CHECK(passwd_params_len("$6$rounds=5000$s$h") == 15);
	CHECK(passwd_params_len("$6$s$h") == 3);
	/*
	 * The dummy check costs what a real one does: bcrypt at 10 is 64
	 * times bcrypt at 4, so a check that ran the cheap one, or none,
	 * would be far under half (the best of three runs, each).
	 */
	real = seconds_of(h[1], NULL, 3);
	fake = seconds_of(NULL, d, 3);
	cheap = seconds_of(NULL, h[0], 3);
	printf("real %.4f s, unknown user %.4f s, cheap dummy %.4f s\n",
	    real, fake, cheap);
	CHECK(fake > real / 2);
	CHECK(cheap < real / 4);
	/* No dummy given: passwd's own, which costs a default new hash. */
	passwd_set_cost(0);
	free(h[0]);
	h[0] = passwd_hash("e", err, sizeof(err));
	CHECK(h[0] != NULL);
	if (h[0] != NULL) {
		real = seconds_of(h[0], NULL, 3);
		fake = seconds_of(NULL, NULL, 3);
		printf("default hash %.4f s, unknown user %.4f s\n", real,
		    fake);
		CHECK(fake > real / 2);
	}
	for (i = 0; i < 4; i++) {
		free(h[i]);
	}
}

int
main(void)
{
	passwd_setup();
	test_floor();
	test_methods();
	test_policy();
	test_malformed();
	test_plaintext();
	test_dummy();
	return unit_done("test-passwd");
}
