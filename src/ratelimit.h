/*
 * Per-user flood control: a token bucket of command lines that lets a
 * normal paste through (MessageBurst lines at once) and then allows
 * MessageRate lines a second.  Refusals are counted and logged in
 * aggregate, never one log line per refused line.
 */
#ifndef RATELIMIT_H
#define RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* A token bucket: rate tokens a second, at most burst saved up. */
struct token_bucket {
	double tokens;
	int64_t last_ms;
};

void bucket_init(struct token_bucket *b, double burst, int64_t now);
/* Add what accrued since the last call; returns the tokens there are. */
double bucket_refill(struct token_bucket *b, double rate, double burst,
    int64_t now);

/* Take one token for user; false when the user is over the limit. */
bool ratelimit_take(const char *user);
/* Log the refusals counted but not yet logged (called each second). */
void ratelimit_report(void);
/* Forget every bucket (tests, shutdown). */
void ratelimit_reset(void);

#endif
