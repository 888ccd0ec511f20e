/*
 * crypt(3) strings and the timing-safe checks, both ways: the shape of
 * each accepted hash, making a new hash (the password policy, a random
 * salt), and checking a password against a stored hash or legacy
 * plaintext in the same time whatever the outcome (a dummy hash of the
 * same method for an unknown user, CRYPTO_memcmp, at most one check
 * per CPU at a time).  It takes strings and knows nothing of the users
 * file or its table; it never logs a password and wipes every copy it
 * makes.
 */
#include "config.h"

#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "log.h"
#include "passwd.h"
#include "util.h"

/* Used when libcrypt cannot make a random setting: same cost, no secret. */
#define FALLBACK_SETTING "$y$j9T$xF17QgO/lO6aMmjKonrAu."

_Static_assert(PASSWORD_HASHED_MAX == CRYPT_MAX_PASSPHRASE_SIZE - 1,
    "PASSWORD_HASHED_MAX must follow libcrypt");

static const char *const hash_prefixes[] = {
	"$y$", "$gy$", "$7$", "$6$", "$5$", "$2b$", "$2y$",
};
static const char *const method_names[] = {
	"yescrypt", "gost-yescrypt", "scrypt", "sha512crypt", "sha256crypt",
	"bcrypt", "bcrypt",
};

_Static_assert(ARRAY_SIZE(hash_prefixes) == ARRAY_SIZE(method_names),
    "a name for each method");

static pthread_once_t auth_once = PTHREAD_ONCE_INIT;
static char dummy_hash[CRYPT_OUTPUT_SIZE];
static sem_t hash_sem;
static bool hash_sem_ok;
static unsigned long hash_cost;

static bool
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool
is_b64(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '/';
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static size_t
b64_span(const char *s)
{
	size_t n = 0;

	while (is_b64((unsigned char)s[n])) {
		n++;
	}
	return n;
}

/*
 * The shape of each accepted crypt(3) format, checked without hashing:
 * method, parameters, salt and a hash of the right length, all in the
 * crypt base64 alphabet.
 */
static bool
hash_shape_ok(const char *h)
{
	const char *p;
	size_t n, hashlen;
	int cost;

	if (has_prefix(h, "$y$") || has_prefix(h, "$gy$")) {
		p = h + (h[1] == 'y' ? 3 : 4);
		n = b64_span(p);		/* parameters */
		if (n == 0 || p[n] != '$') {
			return false;
		}
		p += n + 1;
		n = b64_span(p);		/* salt */
		if (p[n] != '$') {
			return false;
		}
		p += n + 1;
		return b64_span(p) == 43 && p[43] == '\0';
	}
	if (has_prefix(h, "$7$")) {
		p = h + 3;
		n = b64_span(p);		/* N, r, p and the salt */
		if (n < 11 || p[n] != '$') {
			return false;
		}
		p += n + 1;
		return b64_span(p) == 43 && p[43] == '\0';
	}
	if (has_prefix(h, "$5$") || has_prefix(h, "$6$")) {
		hashlen = h[1] == '5' ? 43 : 86;
		p = h + 3;
		if (has_prefix(p, "rounds=")) {
			p += 7;
			n = strspn(p, "0123456789");
			if (n == 0 || n > 10 || p[n] != '$') {
				return false;
			}
			p += n + 1;
		}
		n = b64_span(p);		/* salt */
		if (n > 16 || p[n] != '$') {
			return false;
		}
		p += n + 1;
		return b64_span(p) == hashlen && p[hashlen] == '\0';
	}
	if (has_prefix(h, "$2b$") || has_prefix(h, "$2y$")) {
		p = h + 4;
		if (!is_digit((unsigned char)p[0]) ||
		    !is_digit((unsigned char)p[1]) || p[2] != '$') {
			return false;
		}
		cost = (p[0] - '0') * 10 + (p[1] - '0');
		if (cost < 4 || cost > 31) {
			return false;
		}
		p += 3;
		return b64_span(p) == 53 && p[53] == '\0';
	}
	return false;
}

/* The method and cost part of a hash that passed hash_shape_ok(). */
size_t
passwd_params_len(const char *h)
{
	const char *p;

	if (has_prefix(h, "$y$") || has_prefix(h, "$gy$")) {
		p = strchr(h + 1, '$');
		p = strchr(p + 1, '$');
		return (size_t)(p - h) + 1;
	}
	if (has_prefix(h, "$7$")) {
		return 3 + 11;
	}
	if (has_prefix(h, "$5$") || has_prefix(h, "$6$")) {
		if (has_prefix(h + 3, "rounds=")) {
			return (size_t)(strchr(h + 3, '$') - h) + 1;
		}
		return 3;
	}
	return 7;				/* $2b$NN$ */
}

/* See passwd.h. */
bool
passwd_hash_usable(const char *h, char *why, size_t whylen)
{
	char method[16], esc[80];
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(hash_prefixes); i++) {
		if (has_prefix(h, hash_prefixes[i])) {
			break;
		}
	}
	if (i == ARRAY_SIZE(hash_prefixes)) {
		/* "$x$" (or what there is of it), never past the end. */
		n = h[0] != '\0' ? strcspn(h + 1, "$") + 2 : 0;
		if (n > strlen(h)) {
			n = strlen(h);
		}
		if (n > sizeof(method) - 1) {
			n = sizeof(method) - 1;
		}
		memcpy(method, h, n);
		method[n] = '\0';
		escape_for_msg(method, n, esc, sizeof(esc));
		set_err(why, whylen, "unsupported password hash '%s' "
		    "(use yescrypt: mkpasswd -m yescrypt)", esc);
		return false;
	}
	if (!hash_shape_ok(h)) {
		set_err(why, whylen, "malformed %s password hash",
		    hash_prefixes[i]);
		return false;
	}
#ifdef CRYPT_SALT_OK
	int rc = crypt_checksalt(h);

	if (rc != CRYPT_SALT_OK && rc != CRYPT_SALT_METHOD_LEGACY) {
		set_err(why, whylen, "password hash method %s is not "
		    "supported by this system's libcrypt", hash_prefixes[i]);
		return false;
	}
#endif
	return true;
}

static int
params_cmp(const void *a, const void *b)
{
	const char *ha = *(const char *const *)a;
	const char *hb = *(const char *const *)b;
	size_t la = passwd_params_len(ha), lb = passwd_params_len(hb);
	int c = memcmp(ha, hb, la < lb ? la : lb);

	if (c != 0) {
		return c;
	}
	return la < lb ? -1 : la > lb;
}

const char *
passwd_pick_dummy(const char *const *hashes, size_t n)
{
	const char **h, *best = NULL;
	size_t i, run = 0, best_run = 0;

	h = xcalloc(n == 0 ? 1 : n, sizeof(*h));
	if (n > 0) {
		memcpy(h, hashes, n * sizeof(*h));
	}
	qsort(h, n, sizeof(*h), params_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0 && params_cmp(&h[i - 1], &h[i]) == 0) {
			run++;
		} else {
			run = 1;
		}
		if (run > best_run) {
			best_run = run;
			best = h[i];
		}
	}
	free(h);
	return best;
}

static void
auth_setup(void)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE], pw[65];
	unsigned char rnd[32];
	struct crypt_data *cd;
	const char *h;
	long ncpu;
	size_t i;

	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1) {
		ncpu = 1;
	}
	if (ncpu > 1024) {
		ncpu = 1024;
	}
	if (sem_init(&hash_sem, 0, (unsigned)ncpu) == 0) {
		hash_sem_ok = true;
	} else {
		error("sem_init: %m; password checks are not bounded");
	}

	if (crypt_gensalt_rn("$y$", 0, NULL, 0, setting,
	    sizeof(setting)) == NULL || setting[0] == '*') {
		error("crypt_gensalt_rn: %m; using a fixed dummy salt");
		snprintf(setting, sizeof(setting), "%s", FALLBACK_SETTING);
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		/* Only the cost matters: the result is never accepted. */
		error("RAND_bytes failed; dummy password is not random");
		memset(rnd, 0x5a, sizeof(rnd));
	}
	for (i = 0; i < sizeof(rnd); i++) {
		snprintf(pw + 2 * i, 3, "%02x", rnd[i]);
	}
	cd = xcalloc(1, sizeof(*cd));
	h = crypt_r(pw, setting, cd);
	if (h == NULL || h[0] == '*') {
		error("crypt_r failed making the dummy hash");
		h = setting;	/* a bare setting costs the same to check */
	}
	snprintf(dummy_hash, sizeof(dummy_hash), "%s", h);
	secure_zero(cd, sizeof(*cd));
	free(cd);
	secure_zero(rnd, sizeof(rnd));
	secure_zero(pw, sizeof(pw));
}

void
passwd_setup(void)
{
	int e = pthread_once(&auth_once, auth_setup);

	if (e != 0) {
		errno = e;
		error("pthread_once: %m");
		abort();
	}
}

/* Waits for one of the ncpu hashing slots; false: run unbounded. */
static bool
hash_slot_get(void)
{
	if (!hash_sem_ok) {
		return false;
	}
	while (sem_wait(&hash_sem) == -1) {
		if (errno != EINTR) {
			error("sem_wait: %m");
			return false;
		}
	}
	return true;
}

static void
hash_slot_put(bool held)
{
	if (held && sem_post(&hash_sem) == -1) {
		error("sem_post: %m");
	}
}

/* Hashes pw with hash's setting; true when the result equals hash. */
static bool
crypt_check(const char *pw, const char *hash)
{
	struct crypt_data *cd;
	const char *out;
	size_t hlen = strlen(hash);
	bool held, ok = false;

	cd = xcalloc(1, sizeof(*cd));
	held = hash_slot_get();
	out = crypt_r(pw, hash, cd);
	hash_slot_put(held);
	if (out == NULL || out[0] == '*') {
		error("crypt_r failed for a %.*s hash", hash[0] != '\0' ?
		    (int)strcspn(hash + 1, "$") + 2 : 0, hash);
	} else if (strlen(out) == hlen &&
	    CRYPTO_memcmp(out, hash, hlen) == 0) {
		ok = true;
	}
	secure_zero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

/*
 * Legacy plaintext: compare digests, so that the time taken does not
 * depend on where the two strings first differ.
 */
static bool
plain_equal(const char *pw, size_t pwlen, const char *stored)
{
	unsigned char a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
	unsigned int alen = 0, blen = 0;
	bool ok = false;

	if (EVP_Digest(pw, pwlen, a, &alen, EVP_sha256(), NULL) != 1 ||
	    EVP_Digest(stored, strlen(stored), b, &blen, EVP_sha256(),
	    NULL) != 1) {
		error("EVP_Digest(sha256) failed");
	} else {
		ok = alen == blen && CRYPTO_memcmp(a, b, alen) == 0;
	}
	secure_zero(a, sizeof(a));
	secure_zero(b, sizeof(b));
	return ok;
}

/*
 * What a check with each method and cost takes here, as measured: the
 * floor of a failure (passwd_cost).  A kind is measured the first time a
 * floor needs it, and each check of that kind moves its figure an
 * eighth of the way to what the check took, so the floor follows the
 * machine's load.
 */
#define KINDS_MAX 32
static struct kind_cost {
	char params[64];
	long long ns;
} kind_costs[KINDS_MAX];
static size_t nkind_costs;
static pthread_mutex_t kind_lock = PTHREAD_MUTEX_INITIALIZER;

static long long
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The kind of hash h, under kind_lock; NULL if not measured. */
static struct kind_cost *
kind_find(const char *h)
{
	size_t n = passwd_params_len(h);

	for (size_t i = 0; i < nkind_costs; i++) {
		if (strlen(kind_costs[i].params) == n &&
		    strncmp(kind_costs[i].params, h, n) == 0) {
			return &kind_costs[i];
		}
	}
	return NULL;
}

/* A check of hash h took ns: its kind's figure moves toward it. */
static void
kind_note(const char *h, long long ns)
{
	struct kind_cost *k;

	pthread_mutex_lock(&kind_lock);
	k = kind_find(h);
	if (k != NULL) {
		k->ns += (ns - k->ns) / 8;
	}
	pthread_mutex_unlock(&kind_lock);
}

/* What a check of hash h's kind takes; measured now if never before. */
static long long
kind_cost(const char *h)
{
	struct kind_cost *k;
	long long t0, ns;
	size_t n = passwd_params_len(h);

	pthread_mutex_lock(&kind_lock);
	k = kind_find(h);
	ns = k != NULL ? k->ns : -1;
	pthread_mutex_unlock(&kind_lock);
	if (ns >= 0 || n == 0 || n >= sizeof(k->params)) {
		return ns < 0 ? 0 : ns;
	}
	t0 = mono_ns();
	(void)crypt_check("a password nobody has", h);
	ns = mono_ns() - t0;
	pthread_mutex_lock(&kind_lock);
	if (kind_find(h) == NULL && nkind_costs < KINDS_MAX) {
		k = &kind_costs[nkind_costs++];
		memcpy(k->params, h, n);
		k->params[n] = '\0';
		k->ns = ns;
	}
	pthread_mutex_unlock(&kind_lock);
	return ns;
}

void
passwd_cost_build(struct passwd_cost *c, const char *const *hashes, size_t n)
{
	memset(c, 0, sizeof(*c));
	c->dummy = passwd_pick_dummy(hashes, n);
	c->kinds = xcalloc(n == 0 ? 1 : n, sizeof(*c->kinds));
	for (size_t i = 0; i < n; i++) {
		size_t j, len = passwd_params_len(hashes[i]);

		for (j = 0; j < c->nkinds; j++) {
			if (passwd_params_len(c->kinds[j]) == len &&
			    strncmp(c->kinds[j], hashes[i], len) == 0) {
				break;
			}
		}
		if (j == c->nkinds && len > 0) {
			c->kinds[c->nkinds++] = hashes[i];
		}
	}
}

void
passwd_cost_free(struct passwd_cost *c)
{
	free(c->kinds);
	memset(c, 0, sizeof(*c));
}

long long
passwd_cost_floor_ns(const struct passwd_cost *c)
{
	long long floor = 0;

	for (size_t i = 0; c != NULL && i < c->nkinds; i++) {
		long long ns = kind_cost(c->kinds[i]);

		if (ns > floor) {
			floor = ns;
		}
	}
	return floor;
}

/* Sleep until start_ns + floor_ns has passed. */
static void
pad_to(long long start_ns, long long floor_ns)
{
	sleep_ns(start_ns + floor_ns - mono_ns());
}

/* See passwd.h. */
bool
passwd_verify(const char *stored, bool plaintext,
    const struct passwd_cost *cost, const char *password, size_t len)
{
	const char *dummy = cost != NULL ? cost->dummy : NULL;
	const char *checked = NULL;
	long long t0 = mono_ns();
	char *pw;
	size_t cut;
	bool ok = false;

	passwd_setup();
	pw = xmalloc(len + 1);
	if (len > 0) {
		memcpy(pw, password, len);
	}
	pw[len] = '\0';
	/*
	 * libcrypt refuses, at once, a passphrase of CRYPT_MAX_PASSPHRASE_SIZE
	 * bytes or more: hash a cut copy so the time stays the same.  Such a
	 * password can never match a hash, only a plaintext entry.
	 */
	cut = len < CRYPT_MAX_PASSPHRASE_SIZE ? len :
	    CRYPT_MAX_PASSPHRASE_SIZE - 1;
	if (stored != NULL && !plaintext) {
		pw[cut] = '\0';
		ok = crypt_check(pw, stored) && cut == len;
		checked = stored;
	} else {
		if (dummy == NULL) {
			dummy = dummy_hash;
		}
		if (stored != NULL) {
			ok = plain_equal(pw, len, stored);
		}
		/*
		 * Every failure costs a hash, so no name can be told apart by
		 * time; a legacy plaintext account that matched needs none (its
		 * time tells nothing to whoever did not know the password).
		 */
		if (!ok) {
			pw[cut] = '\0';
			(void)crypt_check(pw, dummy);
			checked = dummy;
		}
	}
	secure_zero(pw, len + 1);
	free(pw);
	if (checked != NULL) {
		kind_note(checked, mono_ns() - t0);
	}
	if (!ok) {
		/* As long as the slowest kind of hash in the table takes. */
		pad_to(t0, passwd_cost_floor_ns(cost));
	}
	return ok;
}

static bool
password_ok(const char *pw, char *err, size_t errlen)
{
	size_t i, len;
	unsigned char c;

	if (pw == NULL || pw[0] == '\0') {
		set_err(err, errlen, "the password is empty");
		return false;
	}
	len = strnlen(pw, PASSWORD_HASHED_MAX + 1);
	if (len > PASSWORD_HASHED_MAX) {
		set_err(err, errlen, "the password is too long (at most %d "
		    "bytes)", PASSWORD_HASHED_MAX);
		return false;
	}
	for (i = 0; i < len; i++) {
		c = (unsigned char)pw[i];
		if (c < 0x20 || c == 0x7f) {
			set_err(err, errlen, "the password contains a control "
			    "character (such as a tab or a newline); use "
			    "printable characters and spaces");
			return false;
		}
	}
	return true;
}

const char *
passwd_method(size_t i)
{
	return i < ARRAY_SIZE(hash_prefixes) ? hash_prefixes[i] : NULL;
}

void
passwd_set_cost(unsigned long cost)
{
	hash_cost = cost;
}

char *
passwd_hash(const char *password, char *err, size_t errlen)
{
	return passwd_hash_with(PASSWD_METHOD, hash_cost, password, err,
	    errlen);
}

/* The name of a method in messages ("yescrypt" for "$y$"), or NULL. */
static const char *
method_name(const char *method)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(method_names); i++) {
		if (strcmp(method, hash_prefixes[i]) == 0) {
			return method_names[i];
		}
	}
	return NULL;
}

char *
passwd_hash_with(const char *method, unsigned long cost,
    const char *password, char *err, size_t errlen)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	unsigned char rbytes[32];
	struct crypt_data *cd = NULL;
	const char *h;
	char *hash = NULL;

	if (!password_ok(password, err, errlen)) {
		return NULL;
	}
	if (method_name(method) == NULL) {
		set_err(err, errlen, "internal error: no hash method %s",
		    method);
		return NULL;
	}
	if (RAND_bytes(rbytes, sizeof(rbytes)) != 1) {
		error("RAND_bytes failed");
		set_err(err, errlen, "cannot make a random salt; see "
		    "server.log");
		goto out;
	}
	if (crypt_gensalt_rn(method, cost, (const char *)rbytes,
	    (int)sizeof(rbytes), setting, sizeof(setting)) == NULL ||
	    setting[0] == '*') {
		error("crypt_gensalt_rn(%s, %lu): %m", method, cost);
		set_err(err, errlen, "cannot make a %s salt; see server.log",
		    method_name(method));
		goto out;
	}
	cd = xcalloc(1, sizeof(*cd));
	h = crypt_r(password, setting, cd);
	if (h == NULL || h[0] == '*') {
		error("crypt_r(%s): %m", setting);
		set_err(err, errlen, "cannot hash the password; see "
		    "server.log");
		goto out;
	}
	hash = xstrdup(h);
out:
	if (cd != NULL) {
		secure_zero(cd, sizeof(*cd));
		free(cd);
	}
	secure_zero(rbytes, sizeof(rbytes));
	return hash;
}
