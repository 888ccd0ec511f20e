/*
 * The pre-authentication gate.  One mutex guards a fixed-size open
 * addressing table of sources; an entry lives while its source has
 * unauthenticated connections or an unexpired penalty, so a flood from
 * many addresses cannot grow memory.  A penalty accumulates per failed
 * connection and is enforced once it reaches PenaltyMin seconds, up to
 * PenaltyMax, like sshd's PerSourcePenalties.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "gate.h"
#include "util.h"

#define SLOTS 4096
#define IP_MAX 48

struct source {
	char ip[IP_MAX];	/* empty: free slot */
	unsigned unauth;
	int64_t penalty_until;	/* monotonic ms */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct source table[SLOTS];
static unsigned unauth_total;
static unsigned long refusals;
static int start_begin = 10, start_rate = 30, start_full = 100;

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
	return 0;
}

static unsigned
hash(const char *s)
{
	return str_hash(s) % SLOTS;
}

static bool
idle_slot(const struct source *e, int64_t now)
{
	return e->ip[0] == '\0' || (e->unauth == 0 && e->penalty_until <= now);
}

/*
 * The entry for ip, or a slot to use for it (create), or NULL.  Probing
 * is bounded; idle entries are reused, so the table never fills with
 * stale sources.  The lock is held.
 */
static struct source *
find(const char *ip, bool create, int64_t now)
{
	unsigned h = hash(ip);
	struct source *spare = NULL;

	for (unsigned i = 0; i < 64; i++) {
		struct source *e = &table[(h + i) % SLOTS];

		if (e->ip[0] != '\0' && strcmp(e->ip, ip) == 0) {
			return e;
		}
		if (spare == NULL && idle_slot(e, now)) {
			spare = e;
		}
	}
	if (!create || spare == NULL) {
		return NULL;
	}
	memset(spare, 0, sizeof(*spare));
	snprintf(spare->ip, sizeof(spare->ip), "%s", ip);
	return spare;
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

bool
gate_admit(const char *ip, char *why, size_t whylen)
{
	int64_t now = now_ms();
	struct source *e;
	bool ok = false;

	pthread_mutex_lock(&lock);
	e = find(ip, true, now);
	if (e == NULL) {
		snprintf(why, whylen, "source table full");
	} else if (e->penalty_until - now >= (int64_t)options.penalty_min *
	    1000) {
		snprintf(why, whylen, "penalty, %lld s left",
		    (long long)((e->penalty_until - now + 999) / 1000));
	} else if (e->unauth >= (unsigned)options.per_source_max_startups) {
		snprintf(why, whylen, "%u unauthenticated connections from "
		    "this source (PerSourceMaxStartups)", e->unauth);
	} else if (random_drop(unauth_total)) {
		snprintf(why, whylen, "%u unauthenticated connections "
		    "(MaxStartups %s)", unauth_total, options.max_startups);
	} else {
		e->unauth++;
		unauth_total++;
		ok = true;
	}
	if (!ok) {
		refusals++;
	}
	pthread_mutex_unlock(&lock);
	return ok;
}

static void
release(const char *ip, int penalty_s)
{
	int64_t now = now_ms();
	struct source *e;

	pthread_mutex_lock(&lock);
	unauth_total--;
	e = find(ip, false, now);
	if (e != NULL) {
		if (e->unauth > 0) {
			e->unauth--;
		}
		if (penalty_s > 0) {
			int64_t base = e->penalty_until > now ? e->penalty_until :
			    now;
			int64_t cap = now + (int64_t)options.penalty_max * 1000;

			e->penalty_until = base + (int64_t)penalty_s * 1000;
			if (e->penalty_until > cap) {
				e->penalty_until = cap;
			}
		}
	}
	pthread_mutex_unlock(&lock);
}

void
gate_authenticated(const char *ip)
{
	release(ip, 0);
}

void
gate_unauthenticated(const char *ip, bool auth_failed)
{
	release(ip, auth_failed ? options.penalty_authfail :
	    options.penalty_noauth);
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
