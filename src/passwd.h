/*
 * crypt(3) strings and timing-safe password checks, both ways: making
 * a new hash and checking a password against a stored one.  Everything
 * here takes strings (a hash, a password, a method and cost), never a
 * users table.
 */
#ifndef PASSWD_H
#define PASSWD_H

#include <stdbool.h>
#include <stddef.h>

#define PASSWORD_HASHED_MAX 511	/* the most crypt(3) hashes */
#define PASSWD_METHOD "$y$"	/* what new hashes use: yescrypt */

/*
 * Make the dummy hash and the bound on concurrent checks (one per
 * CPU).  Done at the first check anyway; call it early so that the
 * first login does not pay for it.
 */
void passwd_setup(void);

/* The i-th accepted method prefix ("$y$", "$6$", ...), NULL past the end. */
const char *passwd_method(size_t i);

/*
 * Whether h is a usable crypt(3) hash: an accepted method, the right
 * shape, and supported by this system's libcrypt.  If not, why says so.
 */
bool passwd_hash_usable(const char *h, char *why, size_t whylen);
/* The method and cost part of a usable hash ("$y$j9T$", "$2b$05$"). */
size_t passwd_params_len(const char *h);
/* Of n usable hashes, one whose method and cost most share, or NULL. */
const char *passwd_pick_dummy(const char *const *hashes, size_t n);

/*
 * What a failed check of one users table costs.  dummy is checked for a
 * user that has no hash (NULL: passwd's own yescrypt one); kinds holds
 * one hash of each method and cost in the table, and a failure takes at
 * least as long as a check of the slowest of them does here, so that an
 * account whose method is cheaper than the rest cannot be told from an
 * unknown name by its time.  Built from the table's hashes (none: no
 * floor); the hashes must outlive it.
 */
struct passwd_cost {
	const char *dummy;
	const char **kinds;
	size_t nkinds;
};
void passwd_cost_build(struct passwd_cost *c, const char *const *hashes,
    size_t n);
void passwd_cost_free(struct passwd_cost *c);
/* The time a failure against c takes at least now, in nanoseconds. */
long long passwd_cost_floor_ns(const struct passwd_cost *c);

/*
 * Whether password (len bytes) matches stored: a crypt(3) hash, or a
 * legacy plaintext password when plaintext is set.  stored NULL: no
 * such user.  Every failure costs one hash (cost's dummy, when stored is
 * not a hash) and at least cost's floor (cost NULL: passwd's own dummy,
 * no floor), so the time tells no name apart.  A password of
 * PASSWORD_HASHED_MAX + 1 bytes or more is hashed cut short and never
 * matches a hash.
 */
bool passwd_verify(const char *stored, bool plaintext,
    const struct passwd_cost *cost, const char *password, size_t len);

/*
 * A new hash of password (malloc'd) with method (see passwd_method)
 * and cost (0: libcrypt's default), or NULL with err set.  Refuses an
 * empty password, one over PASSWORD_HASHED_MAX bytes and one with
 * control characters.
 */
char *passwd_hash_with(const char *method, unsigned long cost,
    const char *password, char *err, size_t errlen);
/* passwd_hash_with(PASSWD_METHOD, the cost of passwd_set_cost(), ...). */
char *passwd_hash(const char *password, char *err, size_t errlen);
/* For tests: the yescrypt cost (1-11) of passwd_hash; 0 is libcrypt's. */
void passwd_set_cost(unsigned long cost);

#endif
