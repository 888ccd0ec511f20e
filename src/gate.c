/*
 * The pre-authentication gate.  One mutex guards two fixed-size open
 * addressing tables, so a flood from many addresses or names cannot grow
 * memory: sources (an IPv4 address or an IPv6 /64, PerSourceNetBlockSize)
 * and the accounts passwords were tried for.  Slots are found by
 * SipHash-2-4 with a key drawn at start, so nobody can pick addresses
 * that land on a victim's slots; when the slots a key may use are all
 * taken, the least penalized entry that holds no connection gives way
 * to the newcomer.  A penalty
 * accumulates per failed connection and is enforced once it reaches
 * PenaltyMin seconds, up to PenaltyMax, like sshd's PerSourcePenalties.
 *
 * Each admitted connection has a record here (a list, oldest first,
 * bounded by MaxStartups) until it authenticates or ends.  When the
 * MaxStartups slots are full, a newcomer evicts the oldest connection
 * that has not finished its key exchange from the source holding the
 * most, rather than being refused: the gate only marks it and writes to
 * its session's wake eventfd; the session thread, which alone touches
 * its libssh session, ends it.  The gate never logs and never touches a
 * socket.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "gate.h"
#include "metrics.h"
#include "siphash.h"
#include "util.h"

#define SLOTS 4096
#define ACCOUNT_SLOTS 1024
#define PROBE 64

/* A source: an address masked to its net block (family 0: unparsable). */
struct source_key {
	unsigned char family;	/* 4, 6 or 0 */
	unsigned char addr[16];
};

struct source {
	bool used;
	struct source_key key;
	unsigned unauth;	/* admitted, not evicted, not released */
	int64_t penalty_until;	/* monotonic ms */
};

/* An account passwords failed for: a leaky bucket of failures. */
struct account {
	uint64_t hash;		/* 0: free slot */
	int64_t until;		/* monotonic ms the bucket is empty at */
};

struct gate_conn {
	struct gate_conn *prev, *next;
	struct source_key key;
	int64_t admitted, evicted_at;	/* monotonic ms */
	int wake_fd;
	bool kex_done, evicted;
	bool failed;		/* charged PenaltyAuthFail */
	bool targeted;		/* charged PenaltyAccountAttack */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct source table[SLOTS];
static struct account accounts[ACCOUNT_SLOTS];
static struct gate_conn *oldest, *newest;
static unsigned unauth_total;
static unsigned long refusals;
static int start_begin = 10, start_rate = 30, start_full = 100;
static int block4 = 32, block6 = 64;
static unsigned char hash_key[SIPHASH_KEY_LEN];
static bool keyed;

/* Digits at *p into *v, moving *p past them; false if none or too big. */
static bool
parse_uint(const char **p, int *v)
{
	char *end;
	long n;

	if (**p < '0' || **p > '9') {
		return false;
	}
	errno = 0;
	n = strtol(*p, &end, 10);
	if (errno != 0 || n > INT_MAX) {
		return false;
	}
	*v = (int)n;
	*p = end;
	return true;
}

/*
 * PerSourceNetBlockSize "v4bits:v6bits" (or "v4bits"), and the hash key,
 * drawn once per start.
 */
static int
configure_blocks(char *err, size_t errlen)
{
	const char *p = options.per_source_netblock;
	int v4 = 0, v6 = 128;

	if (!parse_uint(&p, &v4) || (*p == ':' && (p++, !parse_uint(&p,
	    &v6))) || *p != '\0' || v4 < 1 || v4 > 32 || v6 < 1 ||
	    v6 > 128) {
		snprintf(err, errlen, "PerSourceNetBlockSize: '%s' is not "
		    "ipv4bits[:ipv6bits] (1-32, 1-128)",
		    options.per_source_netblock);
		return -1;
	}
	block4 = v4;
	block6 = v6;
	if (!keyed) {
		if (RAND_bytes(hash_key, sizeof(hash_key)) != 1) {
			snprintf(err, errlen, "cannot draw the gate's hash key "
			    "(RAND_bytes)");
			return -1;
		}
		keyed = true;
	}
	return 0;
}

int
gate_configure(char *err, size_t errlen)
{
	const char *p = options.max_startups;
	int v[3], n = 0, b, r, f;

	/* N, or start:rate:full; n = 0 when neither */
	for (;;) {
		if (n == 3 || !parse_uint(&p, &v[n])) {
			n = 0;
			break;
		}
		n++;
		if (*p != ':') {
			break;
		}
		p++;
	}
	if (*p != '\0' || (n != 1 && n != 3)) {
		snprintf(err, errlen, "MaxStartups: '%s' is not N or "
		    "start:rate:full", options.max_startups);
		return -1;
	}
	if (n == 1) {
		b = f = v[0];
		r = 100;
	} else {
		b = v[0];
		r = v[1];
		f = v[2];
	}
	if (b < 1 || f < b || r < 1 || r > 100 || f > 100000) {
		snprintf(err, errlen, "MaxStartups: '%s': need 1 <= start <= "
		    "full <= 100000 and 1 <= rate <= 100", options.max_startups);
		return -1;
	}
	start_begin = b;
	start_rate = r;
	start_full = f;
	return configure_blocks(err, errlen);
}

/* The first bits of addr, the rest zero. */
static void
mask_bits(unsigned char *addr, size_t len, int bits)
{
	for (size_t i = 0; i < len; i++) {
		int keep = bits - (int)i * 8;

		if (keep <= 0) {
			addr[i] = 0;
		} else if (keep < 8) {
			addr[i] &= (unsigned char)(0xff << (8 - keep));
		}
	}
}

/* ip as its source: IPv4 (also IPv4-mapped IPv6) or IPv6, masked. */
static void
source_of(const char *ip, struct source_key *k)
{
	static const unsigned char mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	unsigned char a6[16];

	memset(k, 0, sizeof(*k));
	if (inet_pton(AF_INET, ip, k->addr) == 1) {
		k->family = 4;
	} else if (inet_pton(AF_INET6, ip, a6) == 1) {
		if (memcmp(a6, mapped, sizeof(mapped)) == 0) {
			k->family = 4;
			memcpy(k->addr, a6 + 12, 4);
		} else {
			k->family = 6;
			memcpy(k->addr, a6, 16);
		}
	}
	if (k->family == 4) {
		mask_bits(k->addr, 4, block4);
	} else if (k->family == 6) {
		mask_bits(k->addr, 16, block6);
	}
}

static bool
same_key(const struct source_key *a, const struct source_key *b)
{
	return a->family == b->family && memcmp(a->addr, b->addr, 16) == 0;
}

static unsigned
slot_of(const void *data, size_t len, unsigned char domain, unsigned n)
{
	unsigned char buf[1 + sizeof(struct source_key)];

	if (len > sizeof(buf) - 1) {
		return (unsigned)(siphash24(hash_key, data, len) % n);
	}
	buf[0] = domain;
	memcpy(buf + 1, data, len);
	return (unsigned)(siphash24(hash_key, buf, len + 1) % n);
}

static bool
idle_slot(const struct source *e, int64_t now)
{
	return !e->used || (e->unauth == 0 && e->penalty_until <= now);
}

/*
 * Which of two entries gives way first: one that holds no connection
 * (a holder forgotten would lose its count: its connections would escape
 * PerSourceMaxStartups and eviction), then less penalty, then fewer held.
 * At most MaxStartups entries hold any, so among PROBE slots of a keyed
 * hash there is nearly always one that holds none.
 */
static bool
weaker(const struct source *a, const struct source *b, int64_t now)
{
	int64_t pa = a->penalty_until > now ? a->penalty_until : now;
	int64_t pb = b->penalty_until > now ? b->penalty_until : now;

	if ((a->unauth > 0) != (b->unauth > 0)) {
		return a->unauth == 0;
	}
	return pa < pb || (pa == pb && a->unauth < b->unauth);
}

/*
 * The entry for k, or (create) a slot for it: a free or idle one among
 * the PROBE it may use, or else the weakest of them (weaker()), which is
 * forgotten.  NULL only without create.  The lock is held.
 */
static struct source *
find(const struct source_key *k, bool create, int64_t now)
{
	unsigned h = slot_of(k, sizeof(*k), 's', SLOTS);
	struct source *spare = NULL, *weakest = NULL;

	for (unsigned i = 0; i < PROBE; i++) {
		struct source *e = &table[(h + i) % SLOTS];

		if (e->used && same_key(&e->key, k)) {
			return e;
		}
		if (spare == NULL && idle_slot(e, now)) {
			spare = e;
		}
		if (weakest == NULL || weaker(e, weakest, now)) {
			weakest = e;
		}
	}
	if (!create) {
		return NULL;
	}
	if (spare == NULL) {
		spare = weakest;
	}
	memset(spare, 0, sizeof(*spare));
	spare->used = true;
	spare->key = *k;
	return spare;
}

/* Add ms to a penalty (or a bucket) that shrinks in real time, capped. */
static void
add_time(int64_t *until, int64_t ms, int64_t cap_ms, int64_t now)
{
	int64_t base = *until > now ? *until : now;

	if (ms <= 0) {
		return;
	}
	*until = base + ms;
	if (*until > now + cap_ms) {
		*until = now + cap_ms;
	}
}

static void
penalize(const struct source_key *k, int64_t ms, int64_t now)
{
	struct source *e;

	if (ms <= 0) {
		return;
	}
	e = find(k, true, now);
	add_time(&e->penalty_until, ms, (int64_t)options.penalty_max * 1000,
	    now);
}

static bool
random_drop(unsigned n)
{
	unsigned char r;
	int p;

	if ((int)n < start_begin) {
		return false;
	}
	if ((int)n >= start_full) {
		return true;
	}
	p = start_rate + (100 - start_rate) * ((int)n - start_begin) /
	    (start_full - start_begin);
	if (RAND_bytes(&r, 1) != 1) {
		return true;
	}
	return (int)(r % 100) < p;
}

/*
 * The connection to evict for a newcomer whose source holds mine: the
 * oldest not yet through its key exchange from the source holding the
 * most, if that is more than mine.  The lock is held.
 */
static struct gate_conn *
pick_victim(unsigned mine, int64_t now)
{
	struct gate_conn *best = NULL;
	unsigned most = mine;

	for (struct gate_conn *c = oldest; c != NULL; c = c->next) {
		struct source *e;

		if (c->kex_done || c->evicted) {
			continue;
		}
		e = find(&c->key, false, now);
		if (e != NULL && e->unauth > most) {
			most = e->unauth;
			best = c;
		}
	}
	return best;
}

/* The connection no longer holds a slot; the lock is held. */
static void
drop_count(struct gate_conn *c, int64_t now)
{
	struct source *e = find(&c->key, false, now);

	unauth_total--;
	metrics.preauth = unauth_total;
	if (e != NULL && e->unauth > 0) {
		e->unauth--;
	}
}

static void
evict(struct gate_conn *c, int64_t now)
{
	uint64_t one = 1;

	c->evicted = true;
	c->evicted_at = now;
	metrics.evicted++;
	drop_count(c, now);
	if (c->wake_fd >= 0) {
		(void)!write(c->wake_fd, &one, sizeof(one));
	}
}

struct gate_conn *
gate_admit(const char *ip, char *why, size_t whylen)
{
	int64_t now = now_ms();
	struct source_key k;
	struct source *e;
	struct gate_conn *c = NULL, *victim = NULL;
	bool ok = false;

	source_of(ip, &k);
	pthread_mutex_lock(&lock);
	e = find(&k, true, now);
	if (e->penalty_until - now >= (int64_t)options.penalty_min * 1000) {
		snprintf(why, whylen, "penalty, %lld s left",
		    (long long)((e->penalty_until - now + 999) / 1000));
		metrics.refusals[METRIC_LIMIT_PENALTY]++;
	} else if (e->unauth >= (unsigned)options.per_source_max_startups) {
		snprintf(why, whylen, "%u unauthenticated connections from "
		    "this source (PerSourceMaxStartups)", e->unauth);
		metrics.refusals[METRIC_LIMIT_PER_SOURCE_MAX_STARTUPS]++;
	} else if (random_drop(unauth_total) &&
	    (victim = pick_victim(e->unauth, now)) == NULL) {
		snprintf(why, whylen, "%u unauthenticated connections "
		    "(MaxStartups %s)", unauth_total, options.max_startups);
		metrics.refusals[METRIC_LIMIT_MAX_STARTUPS]++;
	} else {
		if (victim != NULL) {
			evict(victim, now);
		}
		e->unauth++;
		unauth_total++;
		metrics.preauth = unauth_total;
		ok = true;
	}
	if (ok) {
		c = xcalloc(1, sizeof(*c));
		c->key = k;
		c->admitted = now;
		c->wake_fd = -1;
		c->prev = newest;
		if (newest != NULL) {
			newest->next = c;
		} else {
			oldest = c;
		}
		newest = c;
	} else {
		refusals++;
	}
	pthread_mutex_unlock(&lock);
	return c;
}

void
gate_attach(struct gate_conn *c, int wake_fd)
{
	uint64_t one = 1;

	pthread_mutex_lock(&lock);
	c->wake_fd = wake_fd;
	if (c->evicted && wake_fd >= 0) {
		(void)!write(wake_fd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&lock);
}

bool
gate_evicted(struct gate_conn *c)
{
	bool v;

	if (c == NULL) {
		return false;
	}
	pthread_mutex_lock(&lock);
	v = c->evicted;
	pthread_mutex_unlock(&lock);
	return v;
}

bool
gate_kex_done(struct gate_conn *c)
{
	bool ok;

	if (c == NULL) {
		return true;
	}
	pthread_mutex_lock(&lock);
	ok = !c->evicted;
	c->kex_done = true;
	pthread_mutex_unlock(&lock);
	return ok;
}

/*
 * One more failure in user's bucket, which forgets AccountAttackRate
 * failures a minute and holds at most two minutes' worth; true when it
 * holds more than a minute's: the account is under attack.
 */
static bool
account_failed(const char *user, int64_t now)
{
	uint64_t h = siphash24(hash_key, user, strlen(user)) | 1;
	unsigned s = (unsigned)(h % ACCOUNT_SLOTS);
	struct account *a = NULL, *weakest = NULL;
	int rate = options.account_attack_rate;

	if (rate <= 0) {
		return false;
	}
	for (unsigned i = 0; i < PROBE && a == NULL; i++) {
		struct account *e = &accounts[(s + i) % ACCOUNT_SLOTS];

		if (e->hash == h) {
			a = e;
		} else if (weakest == NULL || e->until < weakest->until) {
			weakest = e;
		}
	}
	if (a == NULL) {
		a = weakest;
		a->hash = h;
		a->until = 0;
	}
	add_time(&a->until, 60000 / rate, 120000, now);
	return a->until - now > 60000;
}

void
gate_auth_failed(struct gate_conn *c, const char *user)
{
	int64_t now = now_ms();
	int64_t authfail = (int64_t)options.penalty_authfail * 1000;
	int64_t attack = (int64_t)options.penalty_account_attack * 1000;

	if (c == NULL) {
		return;
	}
	pthread_mutex_lock(&lock);
	if (!c->failed) {
		c->failed = true;
		penalize(&c->key, authfail, now);
	}
	if (account_failed(user, now) && !c->targeted) {
		c->targeted = true;
		penalize(&c->key, attack - authfail, now);
	}
	pthread_mutex_unlock(&lock);
}

/*
 * Unlink and free c, with the penalty it earned; the lock is taken.  No
 * connection (NULL, as gate_admit refused) is nothing to release.
 */
static void
release(struct gate_conn *c, bool authed)
{
	int64_t now = now_ms();
	int64_t ms = 0;

	if (c == NULL) {
		return;
	}
	pthread_mutex_lock(&lock);
	if (!c->evicted) {
		drop_count(c, now);
	}
	if (!authed && !c->failed) {
		ms = (int64_t)options.penalty_noauth * 1000;
		if (!c->kex_done) {
			/* A slot held without a key exchange costs its time. */
			int64_t held = (c->evicted ? c->evicted_at : now) -
			    c->admitted;

			if (held > ms) {
				ms = held;
			}
		}
	}
	penalize(&c->key, ms, now);
	if (c->prev != NULL) {
		c->prev->next = c->next;
	} else {
		oldest = c->next;
	}
	if (c->next != NULL) {
		c->next->prev = c->prev;
	} else {
		newest = c->prev;
	}
	pthread_mutex_unlock(&lock);
	free(c);
}

void
gate_authenticated(struct gate_conn *c)
{
	release(c, true);
}

void
gate_unauthenticated(struct gate_conn *c)
{
	release(c, false);
}

int64_t
gate_penalty_left_ms(const char *ip)
{
	int64_t now = now_ms(), left = 0;
	struct source_key k;
	struct source *e;

	source_of(ip, &k);
	pthread_mutex_lock(&lock);
	e = find(&k, false, now);
	if (e != NULL && e->penalty_until > now) {
		left = e->penalty_until - now;
	}
	pthread_mutex_unlock(&lock);
	return left;
}

unsigned
gate_unauth_count(void)
{
	unsigned n;

	pthread_mutex_lock(&lock);
	n = unauth_total;
	pthread_mutex_unlock(&lock);
	return n;
}

unsigned long
gate_take_refusals(void)
{
	unsigned long n;

	pthread_mutex_lock(&lock);
	n = refusals;
	refusals = 0;
	pthread_mutex_unlock(&lock);
	return n;
}
