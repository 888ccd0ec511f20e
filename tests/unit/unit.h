/*
 * A minimal unit-test harness: CHECK() records a failure with its
 * location and goes on; unit_done() prints a summary and returns the
 * automake exit status (0 pass, 1 fail).
 */
#ifndef UNIT_H
#define UNIT_H

#include <stdio.h>
#include <string.h>

/* A test of several files counts in the one with main(): UNIT_SHARED. */
#ifdef UNIT_SHARED
extern int unit_checks, unit_failures;
#else
static int unit_checks, unit_failures;
#endif

#define CHECK(cond)                                                          \
	do {                                                                 \
		unit_checks++;                                               \
		if (!(cond)) {                                               \
			unit_failures++;                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n",         \
			    __FILE__, __LINE__, #cond);                      \
		}                                                            \
	} while (0)

#define CHECK_STR(got, want)                                                 \
	do {                                                                 \
		const char *g_ = (got), *w_ = (want);                        \
		unit_checks++;                                               \
		if (g_ == NULL || strcmp(g_, w_) != 0) {                     \
			unit_failures++;                                     \
			fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n",  \
			    __FILE__, __LINE__, g_ ? g_ : "(null)", w_);     \
		}                                                            \
	} while (0)

static inline int
unit_done(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, unit_checks,
	    unit_failures);
	return unit_failures == 0 ? 0 : 1;
}

#endif
