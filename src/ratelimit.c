/*
 * Token buckets, one per user who has sent something, in a hash table
 * under one mutex.  The table is bounded by the number of accounts that
 * log in; a bucket is a few dozen bytes.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "userdb.h"
#include "util.h"

#define BUCKETS 1024
#define REPORT_MS 10000

struct bucket {
	struct bucket *next;
	char user[USER_NAME_MAX + 1];
	struct token_bucket tb;
	unsigned long refused;	/* since the last report */
	int64_t report_ms;	/* when refusals were last logged */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct bucket *table[BUCKETS];

static unsigned
hash(const char *s)
{
	return str_hash(s) % BUCKETS;
}

void
bucket_init(struct token_bucket *b, double burst, int64_t now)
{
	b->tokens = burst;
	b->last_ms = now;
}

double
bucket_refill(struct token_bucket *b, double rate, double burst, int64_t now)
{
	if (now > b->last_ms) {
		b->tokens += (double)(now - b->last_ms) * rate / 1000.0;
		b->last_ms = now;
	}
	if (b->tokens > burst) {
		b->tokens = burst;
	}
	return b->tokens;
}

bool
ratelimit_take(const char *user)
{
	int64_t now = now_ms();
	double burst = options.message_burst;
	unsigned h = hash(user);
	struct bucket *b;
	bool ok;

	if (options.message_rate <= 0) {
		return true;
	}
	pthread_mutex_lock(&lock);
	for (b = table[h]; b != NULL; b = b->next) {
		if (strcmp(b->user, user) == 0) {
			break;
		}
	}
	if (b == NULL) {
		b = xcalloc(1, sizeof(*b));
		snprintf(b->user, sizeof(b->user), "%s", user);
		bucket_init(&b->tb, burst, now);
		b->report_ms = now;
		b->next = table[h];
		table[h] = b;
	}
	ok = bucket_refill(&b->tb, options.message_rate, burst, now) >= 1.0;
	if (ok) {
		b->tb.tokens -= 1.0;
	} else {
		b->refused++;
		metrics.refusals[METRIC_LIMIT_MESSAGE_RATE]++;
	}
	if (b->refused > 0 && now - b->report_ms >= REPORT_MS) {
		info("rate limit: %s: %lu lines refused in the last %lld s",
		    b->user, b->refused, (long long)(now - b->report_ms) / 1000);
		b->refused = 0;
		b->report_ms = now;
	} else if (b->refused == 0) {
		b->report_ms = now;
	}
	pthread_mutex_unlock(&lock);
	return ok;
}

void
ratelimit_report(void)
{
	int64_t now = now_ms();

	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < BUCKETS; i++) {
		for (struct bucket *b = table[i]; b != NULL; b = b->next) {
			if (b->refused > 0 && now - b->report_ms >= REPORT_MS) {
				info("rate limit: %s: %lu lines refused in the "
				    "last %lld s", b->user, b->refused,
				    (long long)(now - b->report_ms) / 1000);
				b->refused = 0;
				b->report_ms = now;
			}
		}
	}
	pthread_mutex_unlock(&lock);
}

void
ratelimit_reset(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < BUCKETS; i++) {
		while (table[i] != NULL) {
			struct bucket *b = table[i];

			table[i] = b->next;
			free(b);
		}
	}
	pthread_mutex_unlock(&lock);
}
