/*
 * The daemon's counters and gauges, the one place that counts: atomics
 * that any thread bumps without a lock, and their text in Prometheus's
 * exposition format (version 0.0.4), which the metrics command prints
 * and MetricsFile holds.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

/* A logged-in session: a chat shell, an exec command, or lines on stdin. */
enum metric_session {
	METRIC_SHELL,
	METRIC_EXEC,
	METRIC_PIPE,
	METRIC_SESSION_KINDS
};

/* How a password login ended: the reason= of LOGIN_FAILED, or ok. */
enum metric_login {
	METRIC_LOGIN_OK,
	METRIC_LOGIN_BAD_PASSWORD,
	METRIC_LOGIN_UNKNOWN_USER,
	METRIC_LOGIN_LOCKED,
	METRIC_LOGIN_TOO_MANY_SESSIONS,
	METRIC_LOGIN_RESULTS
};

enum metric_message {
	METRIC_MSG_PRIVATE,	/* one per recipient */
	METRIC_MSG_SAY,		/* a room line */
	METRIC_MSG_ME,		/* a room action */
	METRIC_MSG_BROADCAST,	/* an admin's notice to every session */
	METRIC_MSG_KINDS
};

/* The limit that refused, cut off or held back something: its keyword. */
enum metric_limit {
	METRIC_LIMIT_MAX_STARTUPS,	/* a newcomer dropped */
	METRIC_LIMIT_PER_SOURCE_MAX_STARTUPS,
	METRIC_LIMIT_PENALTY,		/* a penalized source refused */
	METRIC_LIMIT_KEX_TIMEOUT,
	METRIC_LIMIT_LOGIN_GRACE_TIME,
	METRIC_LIMIT_MAX_AUTH_TRIES,	/* disconnected after the last try */
	METRIC_LIMIT_MAX_SESSIONS,
	METRIC_LIMIT_MAX_SESSIONS_PER_USER,
	METRIC_LIMIT_MAX_LINE_LENGTH,	/* a command line or exec refused */
	METRIC_LIMIT_MESSAGE_RATE,	/* a line refused or paced */
	METRIC_LIMIT_INPUT_RATE,	/* input slowed down (episodes) */
	METRIC_LIMIT_INPUT_WINDOW_SLACK,	/* a client past its window */
	METRIC_LIMIT_MAX_QUEUED,	/* a recipient's queue in the store full */
	METRIC_LIMIT_MAX_QUEUED_PER_SENDER,	/* a sender's share of it full */
	METRIC_LIMIT_MAILBOX_SIZE,	/* a room line dropped for a reader */
	METRIC_LIMITS
};

#define METRIC_BUCKETS 16	/* 100 us to 10 s, and +Inf after them */

struct metric_histogram {
	atomic_ullong bucket[METRIC_BUCKETS + 1];	/* not cumulative */
	atomic_ullong sum_ns;
};

struct metrics {
	atomic_llong started;		/* time(NULL) once serving */
	atomic_ullong logins[METRIC_LOGIN_RESULTS];
	atomic_ullong messages[METRIC_MSG_KINDS];
	atomic_ullong messages_failed;	/* the store failed: not sent or saved */
	atomic_ullong refusals[METRIC_LIMITS];
	atomic_ullong evicted;		/* pre-auth connections evicted */
	atomic_ullong texts_shown;	/* texts the daemon showed itself */
	atomic_ullong texts_to_shell;	/* texts a shell printed */
	atomic_int sessions[METRIC_SESSION_KINDS];	/* the router's */
	atomic_uint session_threads;	/* running, pre-auth ones included */
	atomic_uint preauth;		/* the gate's unauthenticated ones */
	atomic_llong mailbox_queued;	/* records in every mailbox */
	atomic_int mailbox_backlog;	/* mailboxes in backlog mode */
	struct metric_histogram store_commit;	/* BEGIN to COMMIT */
	struct metric_histogram store_sync;	/* the sync after COMMIT */
};

extern struct metrics metrics;

/* A monotonic clock in nanoseconds, for metrics_observe(). */
int64_t metrics_clock(void);
void metrics_observe(struct metric_histogram *h, int64_t ns);

/* Messages the stats command calls refused: full queue or store error. */
unsigned long long metrics_messages_refused(void);
/* Logins that did not end in a session: the LOGIN_FAILED ones. */
unsigned long long metrics_logins_failed(void);

struct buf;
/* Append every metric in the text exposition format. */
void metrics_format(struct buf *out);

/*
 * From a thread that wakes every second (the listener): write
 * MetricsFile every MetricsInterval seconds, through PATH.tmp and a
 * rename.  A failure is logged once, until a write works again.
 */
void metrics_tick(void);

#endif
