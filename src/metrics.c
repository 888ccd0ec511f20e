/*
 * The daemon's metrics: every counter and gauge is an atomic in one
 * struct that the module which sees the event bumps (no lock, nothing
 * but an increment on any hot path); this file only names them, writes
 * them out as Prometheus text (exposition format 0.0.4: # HELP and
 * # TYPE, counters ending in _total, histograms in seconds) and keeps
 * MetricsFile fresh.  It reads no other module, so the text costs no
 * lock and no store query: gauges are kept up to date by their owners.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

struct metrics metrics;

static const char *const session_names[METRIC_SESSION_KINDS] = {
	"shell", "exec", "pipe",
};

static const char *const login_names[METRIC_LOGIN_RESULTS] = {
	"ok", "bad-password", "unknown-user", "locked", "too-many-sessions",
};

static const char *const message_names[METRIC_MSG_KINDS] = {
	"private", "say", "me", "broadcast",
};

static const char *const limit_names[METRIC_LIMITS] = {
	"MaxStartups", "PerSourceMaxStartups", "PenaltyMin", "KexTimeout",
	"LoginGraceTime", "MaxAuthTries", "MaxSessions", "MaxSessionsPerUser",
	"MaxLineLength", "MessageRate", "InputRate", "InputWindowSlack",
	"MaxQueuedMessages", "MaxQueuedPerSender", "MailboxSize",
};

/* Upper bounds of the histogram buckets, in ns and as their le= label. */
static const int64_t bucket_ns[METRIC_BUCKETS] = {
	100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
	25000000, 50000000, 100000000, 250000000, 500000000, 1000000000,
	2500000000LL, 5000000000LL, 10000000000LL,
};
static const char *const bucket_le[METRIC_BUCKETS] = {
	"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
	"0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
};

int64_t
metrics_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
metrics_observe(struct metric_histogram *h, int64_t ns)
{
	size_t i = 0;

	if (ns < 0) {
		ns = 0;
	}
	while (i < METRIC_BUCKETS && ns > bucket_ns[i]) {
		i++;
	}
	atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns, (unsigned long long)ns,
	    memory_order_relaxed);
}

unsigned long long
metrics_messages_refused(void)
{
	return metrics.messages_failed +
	    metrics.refusals[METRIC_LIMIT_MAX_QUEUED] +
	    metrics.refusals[METRIC_LIMIT_MAX_QUEUED_PER_SENDER];
}

unsigned long long
metrics_logins_failed(void)
{
	unsigned long long n = 0;

	for (int i = 0; i < METRIC_LOGIN_RESULTS; i++) {
		n += i != METRIC_LOGIN_OK ? metrics.logins[i] : 0;
	}
	return n;
}

static void
head(struct buf *out, const char *name, const char *type, const char *help)
{
	buf_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/*
 * A histogram's lines.  The buckets are read once each and summed here,
 * so +Inf and _count agree even while others observe.
 */
static void
histogram(struct buf *out, const char *name, const char *help,
    const struct metric_histogram *h)
{
	unsigned long long n = 0;

	head(out, name, "histogram", help);
	for (int i = 0; i <= METRIC_BUCKETS; i++) {
		n += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
		buf_appendf(out, "%s_bucket{le=\"%s\"} %llu\n", name,
		    i < METRIC_BUCKETS ? bucket_le[i] : "+Inf", n);
	}
	buf_appendf(out, "%s_sum %.9f\n%s_count %llu\n", name,
	    (double)atomic_load_explicit(&h->sum_ns, memory_order_relaxed) /
	    1e9, name, n);
}

void
metrics_format(struct buf *out)
{
	long long started = metrics.started;
	long long uptime = started > 0 ? (long long)time(NULL) - started : 0;

	head(out, "sshchat_build_info", "gauge",
	    "The version of sshchatd serving (always 1).");
	buf_appendf(out, "sshchat_build_info{version=\"%s\"} 1\n",
	    PACKAGE_VERSION);
	head(out, "sshchat_start_time_seconds", "gauge",
	    "When sshchatd began to serve, in seconds since the epoch.");
	buf_appendf(out, "sshchat_start_time_seconds %lld\n", started);
	head(out, "sshchat_uptime_seconds", "gauge",
	    "Seconds since sshchatd began to serve.");
	buf_appendf(out, "sshchat_uptime_seconds %lld\n",
	    uptime > 0 ? uptime : 0);

	head(out, "sshchat_sessions", "gauge",
	    "Logged-in sessions now, by kind: chat shell, exec command, "
	    "pipe (no terminal).");
	for (int i = 0; i < METRIC_SESSION_KINDS; i++) {
		int n = metrics.sessions[i];

		buf_appendf(out, "sshchat_sessions{kind=\"%s\"} %d\n",
		    session_names[i], n > 0 ? n : 0);
	}
	head(out, "sshchat_connections", "gauge",
	    "Connections being served now, logged in or not.");
	buf_appendf(out, "sshchat_connections %u\n",
	    (unsigned)metrics.session_threads);
	head(out, "sshchat_preauth_connections", "gauge",
	    "Connections not authenticated yet (what MaxStartups counts).");
	buf_appendf(out, "sshchat_preauth_connections %u\n",
	    (unsigned)metrics.preauth);

	head(out, "sshchat_logins_total", "counter",
	    "Logins by method and result: ok (a session started) or the "
	    "reason= of the LOGIN_FAILED event.");
	for (int i = 0; i < METRIC_LOGIN_RESULTS; i++) {
		buf_appendf(out, "sshchat_logins_total{method=\"password\","
		    "result=\"%s\"} %llu\n", login_names[i],
		    (unsigned long long)metrics.logins[i]);
	}

	head(out, "sshchat_messages_total", "counter",
	    "Messages sent, by kind: private (one per recipient), say and me "
	    "(room lines), broadcast.");
	for (int i = 0; i < METRIC_MSG_KINDS; i++) {
		buf_appendf(out, "sshchat_messages_total{kind=\"%s\"} %llu\n",
		    message_names[i], (unsigned long long)metrics.messages[i]);
	}
	head(out, "sshchat_messages_failed_total", "counter",
	    "Messages not sent or not saved because the store failed.");
	buf_appendf(out, "sshchat_messages_failed_total %llu\n",
	    (unsigned long long)metrics.messages_failed);

	head(out, "sshchat_refusals_total", "counter",
	    "Things a limit refused, cut off or held back, by the keyword "
	    "of the limit.");
	for (int i = 0; i < METRIC_LIMITS; i++) {
		buf_appendf(out, "sshchat_refusals_total{limit=\"%s\"} %llu\n",
		    limit_names[i], (unsigned long long)metrics.refusals[i]);
	}
	head(out, "sshchat_preauth_evictions_total", "counter",
	    "Connections still in their key exchange evicted for a newcomer "
	    "when MaxStartups was full.");
	buf_appendf(out, "sshchat_preauth_evictions_total %llu\n",
	    (unsigned long long)metrics.evicted);

	head(out, "sshchat_texts_shown_total", "counter",
	    "Texts shown above users' input lines, by who drew them: the "
	    "daemon itself or the user's shell.");
	buf_appendf(out, "sshchat_texts_shown_total{by=\"daemon\"} %llu\n"
	    "sshchat_texts_shown_total{by=\"shell\"} %llu\n",
	    (unsigned long long)metrics.texts_shown,
	    (unsigned long long)metrics.texts_to_shell);
	head(out, "sshchat_mailbox_queued", "gauge",
	    "Records queued in sessions' mailboxes, not yet on their "
	    "terminals.");
	buf_appendf(out, "sshchat_mailbox_queued %lld\n",
	    (long long)metrics.mailbox_queued);
	head(out, "sshchat_mailbox_backlog_sessions", "gauge",
	    "Sessions whose mailbox was full: their messages wait in the "
	    "store (backlog mode).");
	buf_appendf(out, "sshchat_mailbox_backlog_sessions %d\n",
	    (int)metrics.mailbox_backlog);

	histogram(out, "sshchat_store_commit_seconds",
	    "Time of each batch of store writes, BEGIN to COMMIT.",
	    &metrics.store_commit);
	histogram(out, "sshchat_store_sync_seconds",
	    "Time of each sync that makes committed batches durable "
	    "(StoreSync full).", &metrics.store_sync);
}

/* Write all of len bytes; -1 with errno set. */
static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Replace path with the metrics: the text goes to path.tmp in the same
 * directory (a name node-exporter's textfile collector skips, as it
 * reads only *.prom) and is renamed over path, so a reader sees the old
 * file or the new one, never half.  No fsync: after a crash a stale or
 * empty file is as good as any, and it is rewritten in seconds.  Mode
 * 0644 whatever the umask: the collector runs as another user.
 */
static int
write_file(const char *path, char *err, size_t errlen)
{
	struct buf b = { 0 };
	char *tmp = xasprintf("%s.tmp", path);
	bool ok;
	int fd;

	metrics_format(&b);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	ok = fd >= 0 && fchmod(fd, 0644) == 0 &&
	    write_all(fd, b.data, b.len) == 0;
	if (!ok) {
		set_err(err, errlen, "%s: %s", tmp, strerror(errno));
	}
	if (fd >= 0 && close(fd) < 0 && ok) {
		set_err(err, errlen, "%s: %s", tmp, strerror(errno));
		ok = false;
	}
	if (ok && rename(tmp, path) < 0) {
		set_err(err, errlen, "rename to %s: %s", path, strerror(errno));
		ok = false;
	}
	if (!ok && fd >= 0) {
		(void)unlink(tmp);
	}
	free(tmp);
	buf_free(&b);
	return ok ? 0 : -1;
}

void
metrics_tick(void)
{
	static int64_t next_ms;
	static bool failing;
	int64_t now = now_ms();
	char err[512];

	if (options.metrics_file[0] == '\0' || now < next_ms) {
		return;
	}
	next_ms = now + (int64_t)options.metrics_interval * 1000;
	if (write_file(options.metrics_file, err, sizeof(err)) < 0) {
		if (!failing) {
			error("MetricsFile %s: %s (said once; tried again "
			    "every %d s)", options.metrics_file, err,
			    options.metrics_interval);
			failing = true;
		}
	} else if (failing) {
		info("MetricsFile %s: written again", options.metrics_file);
		failing = false;
	}
}
