/*
 * sshchat-bench: a load generator for sshchatd (and, for the scenarios
 * that need no chat commands, any SSH server that gives a shell prompt,
 * such as OpenSSH's sshd).  It uses the libssh CLIENT API: each simulated
 * user is a real SSH session (TCP, key exchange, password, pty-req 80x24,
 * shell) that waits for the prompt "USER> ", then types and reads like a
 * person at a terminal.
 *
 * Scenarios (every one bounded by a count and by the time limit -T):
 *
 *   login   -n N -c C            N full logins, C at a time
 *   mem     -k K                 K idle sessions; PSS of the server tree
 *   latency -u N -p P -r R -d S  N online, P pairs, R msgs/s, S seconds
 *   fanout  -u N -k K            admin broadcasts K times to N users
 *   durable -s S -m M            S senders, M messages each, acked/s
 *
 * Loopback only: the tool refuses any host that does not resolve only to
 * 127.0.0.0/8 or ::1.
 *
 * Threads: logins run on a pool of C blocking threads (libssh's blocking
 * API).  Once every session of a scenario is at its prompt, the sessions
 * are switched to non-blocking mode and divided among worker threads, one
 * per ~100 sessions, each of which alone owns its sessions (libssh
 * sessions are not thread-safe) and poll()s their sockets.
 *
 * Copyright the sshchat authors.  GPL-3.0-or-later.
 */
#ifndef _GNU_SOURCE
/* A feature test macro, reserved on purpose. */
#define _GNU_SOURCE /* NOLINT(bugprone-reserved-identifier,cert-dcl37-c) */
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <libssh/libssh.h>

#define MAX_SESSIONS 20000
#define SESSIONS_PER_WORKER 100
#define LINE_MAX_BYTES 4096
#define TAIL_BYTES 256

/* ---------------------------------------------------------------- options */

static struct {
	const char *host;
	char addr[INET6_ADDRSTRLEN];
	unsigned port;
	const char *password;
	const char *prefix;
	const char *admin;
	const char *prompt_fmt;
	const char *fanout_cmd;
	const char *setup;	/* a command typed once after the first prompt */
	int nusers;		/* distinct user names to cycle through; 0 = one per session */
	int user_offset;	/* first user index */
	pid_t pid;		/* server to measure, 0 = none */
	int time_limit;		/* seconds, whole run */
	int conn_timeout;	/* seconds, per blocking libssh step */
	bool json;
	bool nodelay;
	bool verbose;
	const char *label;
	/* scenario parameters */
	int n, c, k, u, p, s, m, w, b;
	double r, d, gap_ms, settle;
} opt = {
	.host = "127.0.0.1",
	.port = 2222,
	.password = "benchpw",
	.prefix = "bench",
	.admin = "benchadmin",
	.prompt_fmt = "%s> ",
	.fanout_cmd = "broadcast",
	.time_limit = 120,
	.conn_timeout = 20,
	.label = "",
	.n = 100, .c = 4, .k = 0, .u = 0, .p = 0, .s = 50, .m = 100, .w = 1,
	.r = 200, .d = 10, .gap_ms = 200, .settle = 2,
};

static uint64_t deadline_ns;
static atomic_bool stopping;
static bool run_failed;		/* nothing measured: exit status 1 */

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void
vwarnx_(const char *fmt, va_list ap)
{
	fputs("sshchat-bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx_(fmt, ap);
	va_end(ap);
	exit(2);
}

static void
warnx_(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx_(fmt, ap);
	va_end(ap);
}

static void *
xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);

	if (p == NULL) {
		die("out of memory");
	}
	return p;
}

static void *
xreallocarray(void *old, size_t n, size_t sz)
{
	size_t bytes;
	void *p;

	if (sz != 0 && n > SIZE_MAX / sz) {
		die("out of memory");
	}
	bytes = n * sz;
	if ((p = realloc(old, bytes != 0 ? bytes : 1)) == NULL) {
		die("out of memory");
	}
	return p;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
		/* sleep the rest */
	}
}

/* An option's value: a whole-string number, or die. */
static int
opt_int(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < INT_MIN ||
	    v > INT_MAX) {
		die("'%s' is not a number", s);
	}
	return (int)v;
}

static double
opt_double(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v)) {
		die("'%s' is not a number", s);
	}
	return v;
}

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool
past_deadline(void)
{
	return stopping || mono_ns() >= deadline_ns;
}

/* ---------------------------------------------------------------- samples */

struct samples {
	uint64_t *v;
	size_t n, cap;
};

static void
samples_add(struct samples *s, uint64_t x)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1024;
		s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
	}
	s->v[s->n++] = x;
}

static void
samples_free(struct samples *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

static void
samples_merge(struct samples *dst, const struct samples *src)
{
	for (size_t i = 0; i < src->n; i++) {
		samples_add(dst, src->v[i]);
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
samples_sort(struct samples *s)
{
	if (s->n > 1) {		/* s->v is NULL while there is none */
		qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
	}
}

/* Percentile (0..100) of sorted samples, in milliseconds; NAN if none. */
static double
pct_ms(const struct samples *s, double q)
{
	size_t i;

	if (s->n == 0) {
		return NAN;
	}
	i = (size_t)ceil(q / 100.0 * (double)s->n);
	if (i > 0) {
		i--;
	}
	if (i >= s->n) {
		i = s->n - 1;
	}
	return (double)s->v[i] / 1e6;
}

/* ---------------------------------------------------------------- output */

/* Results are collected as rows, then printed as a table and/or JSON. */
struct row {
	char key[48];
	char unit[16];
	double val;
	bool is_int;
};

static struct row rows[96];
static int nrows;
static char scenario_name[32];

static void
put(const char *key, double val, const char *unit)
{
	if (nrows < (int)(sizeof(rows) / sizeof(rows[0]))) {
		snprintf(rows[nrows].key, sizeof(rows[nrows].key), "%s", key);
		snprintf(rows[nrows].unit, sizeof(rows[nrows].unit), "%s", unit);
		rows[nrows].val = val;
		rows[nrows].is_int = false;
		nrows++;
	}
}

static void
puti(const char *key, long long val, const char *unit)
{
	put(key, (double)val, unit);
	rows[nrows - 1].is_int = true;
}

static void
print_results(void)
{
	if (opt.json) {
		printf("{\"scenario\":\"%s\",\"label\":\"", scenario_name);
		for (const char *l = opt.label; *l != '\0'; l++) {
			/* JSON-safe, and no commas (run.sh splits on them) */
			if (*l == '"' || *l == '\\' || *l == ',' ||
			    (unsigned char)*l < 0x20) {
				putchar(*l == ',' ? ';' : '_');
			} else {
				putchar(*l);
			}
		}
		putchar('"');
		for (int i = 0; i < nrows; i++) {
			if (isnan(rows[i].val) || isinf(rows[i].val)) {
				printf(",\"%s\":null", rows[i].key);
			} else if (rows[i].is_int) {
				printf(",\"%s\":%lld", rows[i].key,
				    (long long)rows[i].val);
			} else {
				printf(",\"%s\":%.3f", rows[i].key, rows[i].val);
			}
		}
		printf("}\n");
		return;
	}
	printf("== %s%s%s%s\n", scenario_name, *opt.label ? " (" : "",
	    opt.label, *opt.label ? ")" : "");
	for (int i = 0; i < nrows; i++) {
		if (isnan(rows[i].val)) {
			printf("  %-28s %12s %s\n", rows[i].key, "-",
			    rows[i].unit);
		} else if (rows[i].is_int) {
			printf("  %-28s %12lld %s\n", rows[i].key,
			    (long long)rows[i].val, rows[i].unit);
		} else {
			printf("  %-28s %12.2f %s\n", rows[i].key, rows[i].val,
			    rows[i].unit);
		}
	}
}

/* ---------------------------------------------------------------- /proc */

static long clk_tck;

/*
 * /proc/PID/stat into buf, from field 3 (state) on, or NULL.  comm may
 * contain spaces and parentheses: the fields start after the last ')'.
 */
static const char *
proc_stat_fields(pid_t pid, char *buf, size_t size)
{
	char path[64], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL) {
		return NULL;
	}
	n = fread(buf, 1, size - 1, f);
	(void)fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL || p[1] == '\0') {
		return NULL;
	}
	return p + 2;
}

/* utime+stime+cutime+cstime of pid in clock ticks, or -1. */
static long long
proc_cpu_ticks(pid_t pid)
{
	char buf[2048];
	const char *p = proc_stat_fields(pid, buf, sizeof(buf));
	unsigned long long ut, st;
	long long cut, cst;

	if (p == NULL) {
		return -1;
	}
	/* utime is field 14. */
	/* NOLINTNEXTLINE(cert-err34-c): kernel-formatted, in range */
	if (sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%llu %llu %lld %lld", &ut, &st, &cut, &cst) != 4) {
		return -1;
	}
	return (long long)(ut + st) + cut + cst;
}

static int proc_descendants(pid_t root, pid_t **out);

/*
 * CPU of the server and everything under it, in clock ticks: its own
 * utime+stime, cutime+cstime (children already reaped: shells that
 * exited), and the same for every live descendant (shells still running,
 * whose time is not in the server's cutime until they are reaped).
 */
static long long
proc_tree_cpu(pid_t pid)
{
	long long t = proc_cpu_ticks(pid);
	pid_t *d;
	int n;

	if (t < 0) {
		return -1;
	}
	n = proc_descendants(pid, &d);
	for (int i = 0; i < n; i++) {
		long long c = proc_cpu_ticks(d[i]);

		if (c > 0) {
			t += c;
		}
	}
	free(d);
	return t;
}

static pid_t
proc_ppid(pid_t pid)
{
	char buf[1024];
	const char *p = proc_stat_fields(pid, buf, sizeof(buf));
	int ppid;

	if (p == NULL ||
	    /* NOLINTNEXTLINE(cert-err34-c): kernel-formatted, in range */
	    sscanf(p, "%*c %d", &ppid) != 1) {
		return -1;
	}
	return ppid;
}

/* Every descendant of root (not root itself); returns the count. */
static int
proc_descendants(pid_t root, pid_t **out)
{
	pid_t *pids = NULL, *ppids = NULL, *res;
	size_t n = 0, cap = 0;
	int nres = 0;
	struct dirent *de;
	DIR *d;

	if ((d = opendir("/proc")) == NULL) {
		*out = NULL;
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		char *end;
		long v = strtol(de->d_name, &end, 10);
		pid_t pp;

		if (*end != '\0' || v <= 0) {
			continue;
		}
		if ((pp = proc_ppid((pid_t)v)) < 0) {
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			pids = xreallocarray(pids, cap, sizeof(*pids));
			ppids = xreallocarray(ppids, cap, sizeof(*ppids));
		}
		pids[n] = (pid_t)v;
		ppids[n] = pp;
		n++;
	}
	closedir(d);
	res = xcalloc(n + 1, sizeof(*res));
	/* Breadth first: res grows as children of found pids are found. */
	{
		size_t head = 0;
		pid_t cur = root;

		for (;;) {
			for (size_t i = 0; i < n; i++) {
				if (ppids[i] == cur) {
					res[nres++] = pids[i];
				}
			}
			if (head >= (size_t)nres) {
				break;
			}
			cur = res[head++];
		}
	}
	free(pids);
	free(ppids);
	*out = res;
	return nres;
}

/* Pss and Rss of one process in kB from smaps_rollup; false if gone. */
static bool
proc_pss(pid_t pid, long long *pss, long long *rss)
{
	char path[64], line[256];
	bool got = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if ((f = fopen(path, "r")) == NULL) {
		return false;
	}
	*pss = *rss = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		long long v;

		/* NOLINTBEGIN(cert-err34-c): kernel-formatted, in range */
		if (sscanf(line, "Pss: %lld kB", &v) == 1) {
			*pss = v;
			got = true;
		} else if (sscanf(line, "Rss: %lld kB", &v) == 1) {
			*rss = v;
		}
		/* NOLINTEND(cert-err34-c) */
	}
	(void)fclose(f);
	return got;
}

static int
proc_threads(pid_t pid)
{
	char path[64], line[256];
	int t = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL) {
		return 0;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		/* NOLINTNEXTLINE(cert-err34-c): kernel-formatted, in range */
		if (sscanf(line, "Threads: %d", &t) == 1) {
			break;
		}
	}
	(void)fclose(f);
	return t;
}

/*
 * Wait until the server's descendant count is back to want (or timeout).
 * A helper the server starts on first use (a shell zygote) may stay: a
 * count at most want + 2 that holds still for half a second will do.
 */
static int
wait_descendants_at_most(int want, double timeout_s)
{
	uint64_t end = mono_ns() + (uint64_t)(timeout_s * 1e9);
	int n, prev = -1, same = 0;

	for (;;) {
		pid_t *d;

		n = proc_descendants(opt.pid, &d);
		free(d);
		same = n == prev ? same + 1 : 0;
		prev = n;
		if (n <= want || (n <= want + 2 && same >= 10) ||
		    mono_ns() >= end) {
			return n;
		}
		sleep_ms(50);
	}
}

static double
self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---------------------------------------------------------------- sessions */

enum role { R_IDLE, R_LATENCY, R_DURABLE, R_FANOUT_RECV, R_FANOUT_ADMIN };

struct conn {
	int idx;
	char user[64];
	char prompt[80];
	ssh_session s;
	ssh_channel ch;
	int fd;
	bool up, dead;
	char err[160];
	/* login timings, ns since t0 */
	uint64_t t0, t_kex, t_auth, t_shell, t_prompt;
	/* line assembly */
	char line[LINE_MAX_BYTES];
	size_t linelen;
	/* scenario state */
	enum role role;
	int peer;
	uint64_t next_send;
	uint64_t interval;
	uint32_t seq;
	int outstanding;
	int sent, acked, errors, received;
	int last_round;
	bool finished, started;
};

static struct conn *conns;
static int nconns;

static void
user_name(int i, char *buf, size_t len)
{
	int u = opt.nusers > 0 ? i % opt.nusers : i;

	snprintf(buf, len, "%s%d", opt.prefix, u + opt.user_offset);
}

static void
conn_init(struct conn *c, int idx, const char *user)
{
	memset(c, 0, sizeof(*c));
	c->idx = idx;
	c->fd = -1;
	c->last_round = -1;
	snprintf(c->user, sizeof(c->user), "%s", user);
	{
		/* opt.prompt_fmt holds exactly one "%s" (checked in main). */
		const char *p = strstr(opt.prompt_fmt, "%s");

		snprintf(c->prompt, sizeof(c->prompt), "%.*s%s%s",
		    (int)(p - opt.prompt_fmt), opt.prompt_fmt, user, p + 2);
	}
}

static void
conn_close(struct conn *c)
{
	if (c->s != NULL) {
		if (ssh_is_connected(c->s)) {
			ssh_disconnect(c->s);	/* frees the channels */
		} else if (c->ch != NULL) {
			ssh_channel_free(c->ch);
		}
		ssh_free(c->s);
	}
	c->s = NULL;
	c->ch = NULL;
	c->up = false;
	c->fd = -1;
}

static bool
conn_fail(struct conn *c, const char *what)
{
	snprintf(c->err, sizeof(c->err), "%s: %s", what,
	    c->s ? ssh_get_error(c->s) : "no session");
	conn_close(c);
	return false;
}

/* Blocking: read until the prompt shows up, or fail (and close). */
static bool
wait_prompt(struct conn *c)
{
	char tail[TAIL_BYTES * 2 + 1];
	size_t taillen = 0, plen = strlen(c->prompt);
	uint64_t end = mono_ns() + (uint64_t)opt.conn_timeout * 1000000000ull;

	tail[0] = '\0';
	for (;;) {
		char buf[4096];
		uint64_t now = mono_ns();
		int n;

		if (now >= end || stopping) {
			tail[taillen] = '\0';
			snprintf(c->err, sizeof(c->err),
			    "no prompt \"%s\" within %ds; last output: %.80s",
			    c->prompt, opt.conn_timeout, tail);
			conn_close(c);
			return false;
		}
		n = ssh_channel_read_timeout(c->ch, buf, sizeof(buf), 0,
		    (int)((end - now) / 1000000 + 1));
		if (n == SSH_ERROR) {
			return conn_fail(c, "read");
		}
		if (n <= 0) {
			if (n == SSH_EOF || ssh_channel_is_eof(c->ch) ||
			    ssh_channel_is_closed(c->ch) ||
			    (ssh_get_status(c->s) & (SSH_CLOSED |
			    SSH_CLOSED_ERROR)) != 0) {
				tail[taillen] = '\0';
				snprintf(c->err, sizeof(c->err),
				    "closed before the prompt; output: %.100s",
				    tail);
				conn_close(c);
				return false;
			}
			continue;
		}
		/* Keep the last TAIL_BYTES of output and look there. */
		for (int i = 0; i < n; i++) {
			if (taillen == sizeof(tail) - 1) {
				memmove(tail, tail + TAIL_BYTES,
				    taillen - TAIL_BYTES);
				taillen -= TAIL_BYTES;
			}
			tail[taillen++] = buf[i];
		}
		tail[taillen] = '\0';
		if (taillen >= plen && memmem(tail, taillen, c->prompt,
		    plen) != NULL) {
			return true;
		}
	}
}

/*
 * Blocking login: TCP, KEX, password, session channel, pty-req, shell,
 * then read until the prompt.  Any host key is accepted (loopback only).
 */
static bool
conn_login(struct conn *c)
{
	long timeout = opt.conn_timeout;
	int verbosity = SSH_LOG_NOLOG, zero = 0;
	int nodelay = opt.nodelay ? 1 : 0;
	bool no = false;

	c->t0 = mono_ns();
	if ((c->s = ssh_new()) == NULL) {
		snprintf(c->err, sizeof(c->err), "ssh_new failed");
		return false;
	}
	if (ssh_options_set(c->s, SSH_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
	    ssh_options_set(c->s, SSH_OPTIONS_HOST, opt.addr) < 0 ||
	    ssh_options_set(c->s, SSH_OPTIONS_PORT, &opt.port) < 0 ||
	    ssh_options_set(c->s, SSH_OPTIONS_USER, c->user) < 0 ||
	    ssh_options_set(c->s, SSH_OPTIONS_LOG_VERBOSITY, &verbosity) < 0 ||
	    ssh_options_set(c->s, SSH_OPTIONS_TIMEOUT, &timeout) < 0 ||
	    ssh_options_set(c->s, SSH_OPTIONS_KNOWNHOSTS, "/dev/null") < 0 ||
	    ssh_options_set(c->s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS,
	    "/dev/null") < 0 ||
	    ssh_options_set(c->s, SSH_OPTIONS_STRICTHOSTKEYCHECK, &zero) < 0 ||
	    ssh_options_set(c->s, SSH_OPTIONS_PUBKEY_AUTH, &zero) < 0 ||
	    ssh_options_set(c->s, SSH_OPTIONS_NODELAY, &nodelay) < 0) {
		return conn_fail(c, "options");
	}
	if (ssh_connect(c->s) != SSH_OK) {
		return conn_fail(c, "connect");
	}
	c->t_kex = mono_ns();
	/* Host key: accepted without a check (the host is loopback). */
	if (ssh_userauth_password(c->s, NULL, opt.password) !=
	    SSH_AUTH_SUCCESS) {
		return conn_fail(c, "password");
	}
	c->t_auth = mono_ns();
	if ((c->ch = ssh_channel_new(c->s)) == NULL) {
		return conn_fail(c, "channel");
	}
	if (ssh_channel_open_session(c->ch) != SSH_OK) {
		return conn_fail(c, "open session");
	}
	if (ssh_channel_request_pty_size(c->ch, "xterm", 80, 24) != SSH_OK) {
		return conn_fail(c, "pty-req");
	}
	if (ssh_channel_request_shell(c->ch) != SSH_OK) {
		return conn_fail(c, "shell");
	}
	c->t_shell = mono_ns();
	if (!wait_prompt(c)) {
		return false;
	}
	c->t_prompt = mono_ns();
	if (opt.setup != NULL) {
		char line[256];
		int n = snprintf(line, sizeof(line), "%s\r", opt.setup);

		if (ssh_channel_write(c->ch, line, (uint32_t)n) != n) {
			return conn_fail(c, "write");
		}
		if (!wait_prompt(c)) {
			return false;
		}
	}
	c->fd = ssh_get_fd(c->s);
	c->up = true;
	return true;
}

/* ---------------------------------------------------------------- login pool */

struct pool {
	int first, count;	/* conns[first .. first+count) */
	int conc;
	bool logout;		/* log each session out right after its prompt */
	atomic_int next;
	atomic_int ok, failed;
	pthread_mutex_t errlock;
	char firsterr[256];
	int nerrs;
};

static void *
pool_main(void *arg)
{
	struct pool *p = arg;

	for (;;) {
		int i = atomic_fetch_add(&p->next, 1);
		struct conn *c;

		if (i >= p->count || past_deadline()) {
			break;
		}
		c = &conns[p->first + i];
		if (conn_login(c)) {
			atomic_fetch_add(&p->ok, 1);
			if (p->logout) {
				conn_close(c);
			}
		} else {
			atomic_fetch_add(&p->failed, 1);
			pthread_mutex_lock(&p->errlock);
			if (p->nerrs++ == 0) {
				snprintf(p->firsterr, sizeof(p->firsterr),
				    "%s: %s", c->user, c->err);
			}
			if (opt.verbose) {
				warnx_("login %s failed: %s", c->user, c->err);
			}
			pthread_mutex_unlock(&p->errlock);
		}
	}
	return NULL;
}

/* Log conns[first..first+count) in, conc at a time; returns how many ok. */
static int
pool_run(int first, int count, int conc, bool logout, double *elapsed_s)
{
	struct pool p;
	pthread_t *th;
	pthread_attr_t attr;
	uint64_t t0;

	memset(&p, 0, sizeof(p));
	p.first = first;
	p.count = count;
	p.conc = conc < 1 ? 1 : conc > count ? count : conc;
	p.logout = logout;
	pthread_mutex_init(&p.errlock, NULL);
	th = xcalloc((size_t)p.conc, sizeof(*th));
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 512 * 1024);
	t0 = mono_ns();
	for (int i = 0; i < p.conc; i++) {
		if (pthread_create(&th[i], &attr, pool_main, &p) != 0) {
			die("pthread_create failed");
		}
	}
	for (int i = 0; i < p.conc; i++) {
		pthread_join(th[i], NULL);
	}
	*elapsed_s = (double)(mono_ns() - t0) / 1e9;
	pthread_attr_destroy(&attr);
	free(th);
	if (p.failed > 0) {
		warnx_("%d of %d logins failed; first: %s", (int)p.failed,
		    count, p.firsterr);
	}
	return p.ok;
}

/* ---------------------------------------------------------------- workers */

struct worker {
	int id;
	int first, count;
	pthread_t th;
	struct samples lat;	/* message latency samples, ns */
	struct samples ack;	/* durable: send -> ack, ns */
	uint64_t last_ack;	/* durable: time of the last ack */
	long sent, received, acked, errors, bytes;
	int dead;
};

static struct worker *workers;
static int nworkers;
static uint64_t run_start, run_end;	/* the measured window */
static uint64_t send_end;		/* latency: no sends from then on */
static atomic_long g_sent, g_received;	/* latency: to stop early */
static atomic_int durable_left;		/* durable: senders not finished */
static atomic_bool workers_stop;	/* login -b: background sessions */
static atomic_bool go;			/* settled: the measured part starts */

/* fanout round state */
struct round {
	atomic_int seen;
	_Atomic uint64_t last_ns;
	_Atomic uint64_t first_ns;
	uint64_t sent_ns;
	bool done;
};
static struct round *rounds;
static int nrounds_total;
static int fanout_receivers;
static char fanout_tag[32];
static atomic_int fanout_current = -1;
static atomic_bool fanout_finished;
static struct samples fanout_lat, fanout_first;
static int fanout_incomplete;

static void
conn_write(struct worker *w, struct conn *c, const char *text, size_t len)
{
	if (ssh_channel_write(c->ch, text, (uint32_t)len) < 0) {
		if (!c->dead) {
			c->dead = true;
			w->dead++;
			if (opt.verbose) {
				warnx_("%s: write: %s", c->user,
				    ssh_get_error(c->s));
			}
		}
	}
}

/* latency and durable: "msg <peer> <seq>:<t_ns>\r" */
static void
send_msg(struct worker *w, struct conn *c)
{
	char buf[160], peer[64];
	uint64_t t;
	int n;

	user_name(c->peer, peer, sizeof(peer));
	t = mono_ns();
	n = snprintf(buf, sizeof(buf), "msg %s %u:%" PRIu64 "\r", peer,
	    ++c->seq, t);
	conn_write(w, c, buf, (size_t)n);
	c->sent++;
	w->sent++;
	atomic_fetch_add(&g_sent, 1);
	if (c->role == R_DURABLE) {
		c->outstanding++;
	}
}

static void
send_broadcast(struct worker *w, struct conn *c, int k)
{
	char buf[160];
	int n;

	n = snprintf(buf, sizeof(buf), "%s %s-%d.\r", opt.fanout_cmd,
	    fanout_tag, k);
	rounds[k].sent_ns = mono_ns();
	atomic_store(&fanout_current, k);
	conn_write(w, c, buf, (size_t)n);
	w->sent++;
}

/* Parse "<seq>:<t_ns>" at p; returns t_ns or 0. */
static uint64_t
parse_stamp(const char *p)
{
	char *end;
	unsigned long long t;

	if (!isdigit((unsigned char)*p)) {
		return 0;
	}
	(void)strtoul(p, &end, 10);		/* the sequence number */
	if (*end != ':' || !isdigit((unsigned char)end[1])) {
		return 0;
	}
	t = strtoull(end + 1, NULL, 10);	/* ULLONG_MAX if too long */
	return t;
}

static void
on_line(struct worker *w, struct conn *c, const char *line, uint64_t now)
{
	const char *p;

	switch (c->role) {
	case R_LATENCY:
		if ((p = strstr(line, "[from ")) != NULL &&
		    (p = strstr(p, "] ")) != NULL) {
			uint64_t t = parse_stamp(p + 2);

			if (t != 0 && t <= now) {
				samples_add(&w->lat, now - t);
				c->received++;
				w->received++;
				atomic_fetch_add(&g_received, 1);
			}
		} else if (strstr(line, "[to ") != NULL) {
			w->acked++;
		} else if (strstr(line, "error:") != NULL) {
			w->errors++;
			if (opt.verbose) {
				warnx_("%s: %s", c->user, line);
			}
		}
		break;
	case R_DURABLE:
		if ((p = strstr(line, "[to ")) != NULL &&
		    (p = strstr(p, "] ")) != NULL) {
			uint64_t t = parse_stamp(p + 2);

			if (t != 0 && t <= now) {
				samples_add(&w->ack, now - t);
			}
			c->acked++;
			w->acked++;
			c->outstanding--;
			w->last_ack = now;
		} else if (strstr(line, "error:") != NULL) {
			c->errors++;
			w->errors++;
			c->outstanding--;
			if (opt.verbose) {
				warnx_("%s: %s", c->user, line);
			}
		} else if (strstr(line, "[from ") != NULL) {
			w->received++;
		}
		while (atomic_load(&go) && !c->dead &&
		    c->outstanding < opt.w && c->sent < opt.m &&
		    !past_deadline()) {
			send_msg(w, c);
		}
		if (c->sent >= opt.m && c->outstanding <= 0 &&
		    !c->finished) {
			c->finished = true;
			atomic_fetch_sub(&durable_left, 1);
		}
		break;
	case R_FANOUT_RECV:
		if ((p = strstr(line, fanout_tag)) != NULL &&
		    p[strlen(fanout_tag)] == '-') {
			long k = strtol(p + strlen(fanout_tag) + 1, NULL, 10);

			if (k >= 0 && k < nrounds_total && k > c->last_round) {
				uint64_t prev;

				c->last_round = (int)k;
				c->received++;
				w->received++;
				prev = atomic_load(&rounds[k].last_ns);
				while (prev < now &&
				    !atomic_compare_exchange_weak(
				    &rounds[k].last_ns, &prev, now)) {
				}
				if (atomic_fetch_add(&rounds[k].seen, 1) == 0) {
					atomic_store(&rounds[k].first_ns, now);
				}
			}
		}
		break;
	case R_FANOUT_ADMIN:
		if (strstr(line, "error:") != NULL) {
			w->errors++;
			warnx_("%s: %s", c->user, line);
		}
		break;
	default:
		break;
	}
}

static void
feed(struct worker *w, struct conn *c, const char *buf, int n, uint64_t now)
{
	for (int i = 0; i < n; i++) {
		char ch = buf[i];

		if (ch == '\n') {
			c->line[c->linelen] = '\0';
			on_line(w, c, c->line, now);
			c->linelen = 0;
		} else if (c->linelen < sizeof(c->line) - 1) {
			c->line[c->linelen++] = ch;
		}
	}
}

static void
drain(struct worker *w, struct conn *c)
{
	char buf[16384];

	for (;;) {
		int n = ssh_channel_read_nonblocking(c->ch, buf, sizeof(buf),
		    0);

		if (n == SSH_ERROR || n == SSH_EOF ||
		    (n == 0 && ssh_channel_is_eof(c->ch))) {
			if (!c->dead) {
				c->dead = true;
				w->dead++;
				if (opt.verbose) {
					warnx_("%s: channel closed: %s",
					    c->user, ssh_get_error(c->s));
				}
			}
			return;
		}
		if (n <= 0) {
			return;
		}
		w->bytes += n;
		feed(w, c, buf, n, mono_ns());
	}
}

/* The fanout admin, run from the worker that owns it. */
static uint64_t fanout_next_send;

static uint64_t
fanout_tick(struct worker *w, struct conn *admin, uint64_t now)
{
	int k = atomic_load(&fanout_current);
	uint64_t timeout = 5000000000ull;

	if (k >= 0 && !rounds[k].done) {
		struct round *r = &rounds[k];

		if (atomic_load(&r->seen) >= fanout_receivers ||
		    now - r->sent_ns > timeout) {
			r->done = true;
			if (atomic_load(&r->seen) < fanout_receivers) {
				fanout_incomplete++;
			}
			if (atomic_load(&r->last_ns) > r->sent_ns) {
				samples_add(&fanout_lat,
				    atomic_load(&r->last_ns) - r->sent_ns);
				samples_add(&fanout_first,
				    atomic_load(&r->first_ns) - r->sent_ns);
			}
			fanout_next_send = now +
			    (uint64_t)(opt.gap_ms * 1e6);
			if (k + 1 >= nrounds_total) {
				atomic_store(&fanout_finished, true);
			}
		}
		return 2000000;		/* poll again in 2 ms */
	}
	if (atomic_load(&fanout_finished)) {
		return UINT64_MAX;
	}
	if (now >= fanout_next_send) {
		send_broadcast(w, admin, k + 1);
		return 2000000;
	}
	return fanout_next_send - now;
}

static int scenario_kind;	/* the role that decides "done" */

static bool
scenario_done(uint64_t now)
{
	switch (scenario_kind) {
	case R_FANOUT_ADMIN:
		return atomic_load(&fanout_finished);
	case R_DURABLE:
		return atomic_load(&durable_left) <= 0;
	case R_LATENCY:
		return now >= send_end &&
		    atomic_load(&g_received) >= atomic_load(&g_sent);
	default:
		return false;
	}
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct pollfd *pfd = xcalloc((size_t)w->count, sizeof(*pfd));
	struct conn *admin = NULL;

	for (int i = 0; i < w->count; i++) {
		struct conn *c = &conns[w->first + i];

		if (c->role == R_FANOUT_ADMIN) {
			admin = c;
		}
	}
	/*
	 * Until "go" the workers only read (what the logins left queued:
	 * welcome text, join notices); then the scenario runs.
	 */
	for (;;) {
		uint64_t now = mono_ns(), wait = 100000000ull;	/* 100 ms */
		bool g = atomic_load(&go);
		struct timespec ts;
		int r;

		if (stopping || workers_stop || now >= deadline_ns ||
		    (g && (now >= run_end || scenario_done(now)))) {
			break;
		}
		if (!g && !workers_stop && scenario_kind != R_IDLE) {
			wait = 10000000ull;	/* notice "go" within 10 ms */
		} else if (g && run_end - now < wait) {
			wait = run_end - now;
		}
		for (int i = 0; i < w->count; i++) {
			struct conn *c = &conns[w->first + i];

			/* Durable: start each sender's window. */
			if (g && c->role == R_DURABLE && !c->dead &&
			    !c->started) {
				c->started = true;
				while (c->outstanding < opt.w &&
				    c->sent < opt.m) {
					send_msg(w, c);
				}
			}
			pfd[i].fd = c->dead ? -1 : c->fd;
			pfd[i].events = POLLIN;
			if (!c->dead && (ssh_get_poll_flags(c->s) &
			    SSH_WRITE_PENDING)) {
				pfd[i].events |= POLLOUT;
			}
			if (g && c->role == R_LATENCY && c->interval != 0 &&
			    !c->dead && c->next_send < send_end) {
				while (c->next_send <= now &&
				    c->next_send < send_end) {
					send_msg(w, c);
					c->next_send += c->interval;
				}
				if (c->next_send > now &&
				    c->next_send - now < wait) {
					wait = c->next_send - now;
				}
			}
		}
		if (g && admin != NULL && !admin->dead) {
			uint64_t t = fanout_tick(w, admin, now);

			if (t < wait) {
				wait = t;
			}
		}
		ts.tv_sec = (time_t)(wait / 1000000000ull);
		ts.tv_nsec = (long)(wait % 1000000000ull);
		r = ppoll(pfd, (nfds_t)w->count, &ts, NULL);
		if (r < 0) {
			if (errno == EINTR) {
				continue;
			}
			die("poll: %s", strerror(errno));
		}
		for (int i = 0; r > 0 && i < w->count; i++) {
			if (pfd[i].revents != 0) {
				drain(w, &conns[w->first + i]);
			}
		}
	}
	free(pfd);
	return NULL;
}

/* Divide conns[0..count) among ceil(count/100) workers and start them. */
static void
workers_start(int count)
{
	pthread_attr_t attr;

	nworkers = (count + SESSIONS_PER_WORKER - 1) / SESSIONS_PER_WORKER;
	if (nworkers < 1) {
		nworkers = 1;
	}
	workers = xcalloc((size_t)nworkers, sizeof(*workers));
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 1024 * 1024);
	for (int i = 0, first = 0; i < nworkers; i++) {
		int cnt = count / nworkers + (i < count % nworkers);

		workers[i].id = i;
		workers[i].first = first;
		workers[i].count = cnt;
		first += cnt;
	}
	for (int i = 0; i < count; i++) {
		if (conns[i].up) {
			ssh_set_blocking(conns[i].s, 0);
		} else {
			conns[i].dead = true;
		}
	}
	for (int i = 0; i < nworkers; i++) {
		if (pthread_create(&workers[i].th, &attr, worker_main,
		    &workers[i]) != 0) {
			die("pthread_create failed");
		}
	}
	pthread_attr_destroy(&attr);
}

static void
workers_join(void)
{
	for (int i = 0; i < nworkers; i++) {
		pthread_join(workers[i].th, NULL);
	}
}

/* Log everybody out (sessions are non-blocking by now: make them blocking
 * so that the disconnect message is flushed). */
static void
logout_all(void)
{
	for (int i = 0; i < nconns; i++) {
		if (conns[i].s != NULL) {
			ssh_set_blocking(conns[i].s, 1);
			conn_close(&conns[i]);
		}
	}
}

static void
alloc_conns(int n, bool with_admin)
{
	char name[64];

	if (n < 1 || n > MAX_SESSIONS) {
		die("session count must be 1..%d", MAX_SESSIONS);
	}
	nconns = n + (with_admin ? 1 : 0);
	conns = xcalloc((size_t)nconns, sizeof(*conns));
	for (int i = 0; i < n; i++) {
		user_name(i, name, sizeof(name));
		conn_init(&conns[i], i, name);
	}
	if (with_admin) {
		conn_init(&conns[n], n, opt.admin);
	}
}

/* Log every conn in; die unless all succeed (or allow_partial). */
static int
login_all(const char *what, bool allow_partial)
{
	double el;
	int ok = pool_run(0, nconns, opt.c, false, &el);

	put("login_phase_s", el, "s");
	put("login_phase_rate", el > 0 ? ok / el : 0, "logins/s");
	if (ok < nconns && !allow_partial) {
		logout_all();
		die("%s: only %d of %d sessions logged in", what, ok, nconns);
	}
	return ok;
}

/* ---------------------------------------------------------------- scenarios */

static void
put_server_info(void)
{
	if (opt.pid > 0) {
		puti("server_threads", proc_threads(opt.pid), "");
	}
}

/*
 * Wait until the server (with everything under it) uses less than 10% of
 * a core over half a second: what the logins set off (join notices to
 * everyone online, welcome text) has been delivered.  Returns seconds.
 */
static double
wait_quiet(double max_s)
{
	uint64_t t0 = mono_ns();
	long long prev, cur;

	if (opt.pid <= 0) {
		sleep(1);
		return 1;
	}
	prev = proc_tree_cpu(opt.pid);
	for (;;) {
		double el;

		sleep_ms(500);
		cur = proc_tree_cpu(opt.pid);
		el = (double)(mono_ns() - t0) / 1e9;
		if ((double)(cur - prev) / (double)clk_tck < 0.05 ||
		    el >= max_s || past_deadline()) {
			return el;
		}
		prev = cur;
	}
}

static void
scenario_login(void)
{
	struct samples tot = {0}, kex = {0}, auth = {0}, shell = {0},
	    prompt = {0};
	long long cpu0 = -1, cpu1 = -1;
	double el, self0, self1;
	int ok, base = 0, bg = opt.b;

	if (bg < 0 || bg > MAX_SESSIONS - opt.n) {
		die("login: -b must be 0..%d", MAX_SESSIONS - opt.n);
	}
	alloc_conns(bg + opt.n, false);
	if (bg > 0) {
		/* Users already online, reading their channels as a
		 * terminal would, while the measured logins happen. */
		double bel;
		int bok = pool_run(0, bg, opt.c > 8 ? opt.c : 8, false, &bel);

		if (bok < bg * 9 / 10) {
			logout_all();
			die("login: only %d of %d background sessions", bok,
			    bg);
		}
		puti("background_sessions", bok, "");
		put("background_login_s", bel, "s");
		run_end = deadline_ns;
		workers_start(bg);
		put("settle_s", wait_quiet(60), "s");
	}
	if (opt.pid > 0) {
		pid_t *d;

		base = proc_descendants(opt.pid, &d);
		free(d);
		cpu0 = proc_tree_cpu(opt.pid);
	}
	self0 = self_cpu_s();
	ok = pool_run(bg, opt.n, opt.c, true, &el);
	self1 = self_cpu_s();
	run_failed = ok == 0;
	if (opt.pid > 0) {
		/* Shells exit after the disconnect; cutime counts them once
		 * they are reaped. */
		wait_descendants_at_most(base, 10);
		sleep_ms(200);
		cpu1 = proc_tree_cpu(opt.pid);
	}
	if (bg > 0) {
		workers_stop = true;
		workers_join();
	}
	for (int i = bg; i < nconns; i++) {
		struct conn *c = &conns[i];

		if (c->t_prompt == 0) {
			continue;
		}
		samples_add(&tot, c->t_prompt - c->t0);
		samples_add(&kex, c->t_kex - c->t0);
		samples_add(&auth, c->t_auth - c->t_kex);
		samples_add(&shell, c->t_shell - c->t_auth);
		samples_add(&prompt, c->t_prompt - c->t_shell);
	}
	samples_sort(&tot);
	samples_sort(&kex);
	samples_sort(&auth);
	samples_sort(&shell);
	samples_sort(&prompt);
	puti("logins", ok, "");
	puti("failed", opt.n - ok, "");
	puti("concurrency", opt.c, "");
	put("elapsed_s", el, "s");
	put("logins_per_s", el > 0 ? ok / el : 0, "logins/s");
	put("login_p50_ms", pct_ms(&tot, 50), "ms");
	put("login_p99_ms", pct_ms(&tot, 99), "ms");
	put("login_max_ms", pct_ms(&tot, 100), "ms");
	put("tcp_kex_p50_ms", pct_ms(&kex, 50), "ms");
	put("auth_p50_ms", pct_ms(&auth, 50), "ms");
	put("chan_pty_shell_p50_ms", pct_ms(&shell, 50), "ms");
	put("to_prompt_p50_ms", pct_ms(&prompt, 50), "ms");
	if (cpu0 >= 0 && cpu1 >= 0 && ok > 0) {
		double cpu_s = (double)(cpu1 - cpu0) / (double)clk_tck;

		put("server_cpu_s", cpu_s, "s");
		put("server_cpu_per_login_ms", cpu_s * 1000.0 / ok, "ms");
		put("server_cpu_pct", 100.0 * cpu_s / el, "% of 1 core");
	}
	put("bench_cpu_per_login_ms", ok ? (self1 - self0) * 1000.0 / ok : 0,
	    "ms");
	put("bench_cpu_pct", 100.0 * (self1 - self0) / el, "% of 1 core");
	samples_free(&tot);
	samples_free(&kex);
	samples_free(&auth);
	samples_free(&shell);
	samples_free(&prompt);
}

static void
scenario_mem(void)
{
	long long pss_idle = 0, rss_idle = 0, pss_d = 0, rss_d = 0;
	long long pss_kids = 0, rss_kids = 0;
	double self0, self1;
	int ok, nd = 0, prev = -1;
	uint64_t settle_end;
	pid_t *d = NULL;

	if (opt.pid <= 0) {
		die("mem needs --pid");
	}
	alloc_conns(opt.k, false);
	proc_pss(opt.pid, &pss_idle, &rss_idle);
	self0 = self_cpu_s();
	ok = login_all("mem", true);
	self1 = self_cpu_s();
	run_failed = ok == 0;
	/* Settle: the descendant count stable for a second, at least
	 * opt.settle seconds. */
	sleep((unsigned)opt.settle);
	settle_end = mono_ns() + 15000000000ull;
	for (;;) {
		pid_t *dd;
		int n = proc_descendants(opt.pid, &dd);

		free(dd);
		if ((n == prev && n > 0) || mono_ns() > settle_end) {
			break;
		}
		prev = n;
		sleep(1);
	}
	if (!proc_pss(opt.pid, &pss_d, &rss_d)) {
		die("mem: the server (pid %d) is gone", (int)opt.pid);
	}
	nd = proc_descendants(opt.pid, &d);
	for (int i = 0; i < nd; i++) {
		long long p, r;

		if (proc_pss(d[i], &p, &r)) {
			pss_kids += p;
			rss_kids += r;
		}
	}
	free(d);
	puti("sessions", ok, "");
	puti("failed", nconns - ok, "");
	puti("server_processes", nd + 1, "");
	put_server_info();
	puti("pss_server_idle_kb", pss_idle, "KB");
	puti("pss_daemon_kb", pss_d, "KB");
	puti("pss_children_kb", pss_kids, "KB");
	puti("pss_total_kb", pss_d + pss_kids, "KB");
	put("pss_per_session_kb", ok ? (double)(pss_d + pss_kids) / ok : NAN,
	    "KB");
	put("pss_marginal_per_session_kb",
	    ok ? (double)(pss_d + pss_kids - pss_idle) / ok : NAN, "KB");
	put("daemon_pss_per_session_kb",
	    ok ? (double)(pss_d - pss_idle) / ok : NAN, "KB");
	put("child_pss_per_session_kb", ok ? (double)pss_kids / ok : NAN,
	    "KB");
	puti("rss_total_kb", rss_d + rss_kids, "KB");
	put("bench_cpu_per_login_ms", ok ? (self1 - self0) * 1000.0 / ok : 0,
	    "ms");
}

static void
finish_common(double el, double self_cpu, long long cpu0, long units,
    const char *per)
{
	char key[48];
	int dead = 0;

	for (int i = 0; i < nworkers; i++) {
		dead += workers[i].dead;
	}
	puti("dead_sessions", dead, "");
	put("bench_cpu_pct", 100.0 * self_cpu / el, "% of 1 core");
	if (opt.pid > 0 && cpu0 >= 0) {
		long long cpu1 = proc_tree_cpu(opt.pid);
		double cpu_s = (double)(cpu1 - cpu0) / (double)clk_tck;

		put("server_cpu_pct", 100.0 * cpu_s / el, "% of 1 core");
		if (units > 0) {
			/* server and shells, per message or delivery */
			snprintf(key, sizeof(key), "server_cpu_per_%s_us", per);
			put(key, cpu_s * 1e6 / (double)units, "us");
		}
	}
}


static void
sum_workers(long *sent, long *recv, long *acked, long *errors)
{
	*sent = *recv = *acked = *errors = 0;
	for (int i = 0; i < nworkers; i++) {
		*sent += workers[i].sent;
		*recv += workers[i].received;
		*acked += workers[i].acked;
		*errors += workers[i].errors;
	}
}

static void
scenario_latency(void)
{
	struct samples lat = {0};
	long sent, recv, acked, errors;
	long long cpu0 = -1;
	double self0, el;
	uint64_t interval;
	int users = opt.u, pairs = opt.p;

	if (users < 2) {
		die("latency needs -u of at least 2");
	}
	if (pairs <= 0) {
		pairs = users / 2 < 50 ? users / 2 : 50;
	}
	if (pairs * 2 > users) {
		die("latency: -p %d pairs need %d users (-u)", pairs,
		    pairs * 2);
	}
	if (opt.r <= 0 || opt.r > 100000 || opt.d <= 0) {
		die("latency: -r must be in (0, 100000] and -d positive");
	}
	alloc_conns(users, false);
	login_all("latency", false);
	for (int i = 0; i < users; i++) {
		conns[i].role = R_LATENCY;	/* the rest only receive */
	}
	scenario_kind = R_LATENCY;
	workers_start(nconns);
	put("settle_s", wait_quiet(60), "s");
	/* 2P senders, each at R/(2P) msgs/s, phases spread evenly. */
	interval = (uint64_t)(1e9 * 2.0 * pairs / opt.r);
	run_start = mono_ns() + 200000000ull;
	for (int j = 0; j < pairs; j++) {
		for (int side = 0; side < 2; side++) {
			struct conn *c = &conns[2 * j + side];
			int slot = side * pairs + j;

			c->peer = 2 * j + (1 - side);
			c->interval = interval;
			c->next_send = run_start + (uint64_t)((double)interval *
			    slot / (2.0 * pairs));
		}
	}
	/* Send for d seconds; then up to 2 s more for what is in flight. */
	send_end = run_start + (uint64_t)(opt.d * 1e9);
	if (send_end > deadline_ns) {
		send_end = deadline_ns;
	}
	run_end = send_end + 2000000000ull;
	self0 = self_cpu_s();
	if (opt.pid > 0) {
		cpu0 = proc_tree_cpu(opt.pid);
	}
	atomic_store(&go, true);
	workers_join();
	el = (double)(send_end - run_start) / 1e9;
	for (int i = 0; i < nworkers; i++) {
		samples_merge(&lat, &workers[i].lat);
	}
	sum_workers(&sent, &recv, &acked, &errors);
	samples_sort(&lat);
	puti("users_online", users, "");
	puti("pairs", pairs, "");
	put("target_rate", opt.r, "msgs/s");
	put("duration_s", el, "s");
	puti("sent", sent, "");
	puti("received", recv, "");
	puti("lost", sent - recv, "");
	puti("acked", acked, "");
	puti("errors", errors, "");
	put("achieved_rate", (double)recv / el, "msgs/s");
	put("lat_p50_ms", pct_ms(&lat, 50), "ms");
	put("lat_p90_ms", pct_ms(&lat, 90), "ms");
	put("lat_p99_ms", pct_ms(&lat, 99), "ms");
	put("lat_max_ms", pct_ms(&lat, 100), "ms");
	samples_free(&lat);
	finish_common((double)(mono_ns() - run_start) / 1e9,
	    self_cpu_s() - self0, cpu0, recv, "msg");
	put_server_info();
}

static void
scenario_fanout(void)
{
	long sent, recv, acked, errors;
	long long cpu0 = -1;
	double self0, el;
	int users = opt.u, k = opt.k > 0 ? opt.k : 20;
	struct conn *admin;

	if (users < 1) {
		die("fanout needs -u");
	}
	if (k > 10000) {
		die("fanout: -k at most 10000");
	}
	alloc_conns(users, true);
	/* A few receivers failing to log in (on a busy machine) still
	 * leaves a fan-out to measure: they are reported, not waited for. */
	login_all("fanout", true);
	admin = &conns[users];
	if (!admin->up) {
		logout_all();
		die("fanout: the admin %s could not log in: %s", opt.admin,
		    admin->err);
	}
	fanout_receivers = 0;
	for (int i = 0; i < users; i++) {
		conns[i].role = R_FANOUT_RECV;
		fanout_receivers += conns[i].up;
	}
	if (fanout_receivers < users * 9 / 10) {
		logout_all();
		die("fanout: only %d of %d receivers logged in",
		    fanout_receivers, users);
	}
	admin->role = R_FANOUT_ADMIN;
	snprintf(fanout_tag, sizeof(fanout_tag), "fo%08lx",
	    (unsigned long)(mono_ns() ^ (uint64_t)getpid()) & 0xfffffffful);
	nrounds_total = k;
	rounds = xcalloc((size_t)k, sizeof(*rounds));
	scenario_kind = R_FANOUT_ADMIN;
	run_end = deadline_ns;
	workers_start(nconns);
	put("settle_s", wait_quiet(60), "s");
	run_start = mono_ns();
	fanout_next_send = run_start + 100000000ull;
	self0 = self_cpu_s();
	if (opt.pid > 0) {
		cpu0 = proc_tree_cpu(opt.pid);
	}
	atomic_store(&go, true);
	workers_join();
	el = (double)(mono_ns() - run_start) / 1e9;
	sum_workers(&sent, &recv, &acked, &errors);
	samples_sort(&fanout_lat);
	samples_sort(&fanout_first);
	puti("users_online", fanout_receivers, "");
	puti("failed_logins", users - fanout_receivers, "");
	puti("rounds", (long long)fanout_lat.n, "");
	puti("incomplete_rounds", fanout_incomplete, "");
	puti("deliveries", recv, "");
	puti("expected_deliveries", (long long)fanout_receivers * k, "");
	puti("errors", errors, "");
	put("fanout_p50_ms", pct_ms(&fanout_lat, 50), "ms");
	put("fanout_p99_ms", pct_ms(&fanout_lat, 99), "ms");
	put("fanout_max_ms", pct_ms(&fanout_lat, 100), "ms");
	put("first_recv_p50_ms", pct_ms(&fanout_first, 50), "ms");
	finish_common(el, self_cpu_s() - self0, cpu0, recv, "delivery");
	put_server_info();
}

static void
scenario_durable(void)
{
	struct samples ack = {0};
	long sent, recv, acked, errors;
	long long cpu0 = -1;
	uint64_t last = 0;
	double self0, el;
	int senders = opt.s, online;

	if (senders < 1 || opt.m < 1 || opt.w < 1) {
		die("durable needs -s, -m and -w of at least 1");
	}
	if ((long long)senders * opt.m > 10000000) {
		die("durable: -s * -m at most 10000000");
	}
	online = senders < 2 ? 2 : senders;
	alloc_conns(online, false);
	login_all("durable", false);
	for (int i = 0; i < senders; i++) {
		conns[i].role = R_DURABLE;
		conns[i].peer = (i + 1) % online;
	}
	atomic_store(&durable_left, senders);
	run_end = deadline_ns;
	scenario_kind = R_DURABLE;
	workers_start(nconns);
	put("settle_s", wait_quiet(60), "s");
	run_start = mono_ns();
	self0 = self_cpu_s();
	if (opt.pid > 0) {
		cpu0 = proc_tree_cpu(opt.pid);
	}
	atomic_store(&go, true);
	workers_join();
	for (int i = 0; i < nworkers; i++) {
		samples_merge(&ack, &workers[i].ack);
		if (workers[i].last_ack > last) {
			last = workers[i].last_ack;
		}
	}
	el = last > run_start ? (double)(last - run_start) / 1e9 : NAN;
	sum_workers(&sent, &recv, &acked, &errors);
	samples_sort(&ack);
	puti("senders", senders, "");
	puti("window", opt.w, "");
	puti("sent", sent, "");
	puti("acked", acked, "");
	puti("errors", errors, "");
	puti("delivered", recv, "");
	puti("unfinished_senders", atomic_load(&durable_left), "");
	put("elapsed_s", el, "s");
	put("acked_per_s", (double)acked / el, "msgs/s");
	put("ack_p50_ms", pct_ms(&ack, 50), "ms");
	put("ack_p99_ms", pct_ms(&ack, 99), "ms");
	samples_free(&ack);
	finish_common((double)(mono_ns() - run_start) / 1e9,
	    self_cpu_s() - self0, cpu0, acked, "msg");
	put_server_info();
}

/* ---------------------------------------------------------------- main */

static bool
is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return false;
}

/* Resolve opt.host; refuse anything that is not loopback. */
static void
check_host(void)
{
	struct addrinfo hints = {0}, *res, *ai;
	int rc;

	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(opt.host, NULL, &hints, &res)) != 0) {
		die("%s: %s", opt.host, gai_strerror(rc));
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (!is_loopback(ai->ai_addr)) {
			die("%s is not a loopback address (127.0.0.0/8 or "
			    "::1): refusing to load anything else", opt.host);
		}
	}
	/* getaddrinfo() succeeded: res holds at least one address. */
	/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
	if (getnameinfo(res->ai_addr, res->ai_addrlen, opt.addr,
	    sizeof(opt.addr), NULL, 0, NI_NUMERICHOST) != 0) {
		die("%s: cannot format the address", opt.host);
	}
	freeaddrinfo(res);
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void *
watchdog_main(void *arg)
{
	(void)arg;
	for (;;) {
		uint64_t now = mono_ns();

		if (now >= deadline_ns + 30000000000ull) {
			fprintf(stderr, "sshchat-bench: time limit of %d s "
			    "passed 30 s ago; giving up\n", opt.time_limit);
			_exit(3);
		}
		if (now >= deadline_ns) {
			stopping = true;
		}
		sleep(1);
	}
	return NULL;
}

static void
on_signal(int sig)
{
	(void)sig;
	if (stopping) {
		_exit(130);
	}
	stopping = true;
}

static void
usage(FILE *f)
{
	fprintf(f,
"usage: sshchat-bench SCENARIO [options]\n"
"scenarios:\n"
"  login   -n N -c C [-b B]     N full logins, C at a time (default 100, 4),\n"
"                               with B idle users online meanwhile (0;\n"
"                               they log in 8 at a time beforehand)\n"
"  mem     -k K [-c C]          K idle interactive sessions; PSS (needs --pid)\n"
"  latency -u N -p P -r R -d S  N online, P pairs, R msgs/s total, S seconds\n"
"  fanout  -u N -k K [-g MS]    admin sends K broadcasts to N users, MS apart\n"
"  durable -s S -m M [-w W]     S senders, M messages each, W in flight each\n"
"options:\n"
"  -H, --host HOST      server (loopback only; default 127.0.0.1)\n"
"  -P, --port PORT      server port (default 2222)\n"
"  --password PW        every account's password (default benchpw)\n"
"  --prefix NAME        user names NAME0, NAME1, ... (default bench)\n"
"  --nusers N           cycle through N user names (default: one per session)\n"
"  --user-offset N      first user number (default 0)\n"
"  --admin NAME         fanout admin account (default benchadmin)\n"
"  --fanout-cmd CMD     command for fanout, \"broadcast\" or \"say\"\n"
"  --setup CMD          type CMD once at the first prompt (e.g. \"set notices off\")\n"
"  --prompt FMT         prompt to wait for, %%s = user (default \"%%s> \")\n"
"  --pid PID            server pid for CPU (stat) and PSS (smaps_rollup)\n"
"  -c N                 logins in flight at once (default 4)\n"
"  -T SECONDS           time limit for the whole run (default 120)\n"
"  --timeout SECONDS    per connection step (default 20)\n"
"  --settle SECONDS     mem: wait before measuring (default 2)\n"
"  --nodelay            set TCP_NODELAY on the client sockets\n"
"  --label TEXT         label for the output\n"
"  --json               one JSON object instead of the table\n"
"  -v                   report every failure\n");
}

int
main(int argc, char **argv)
{
	enum { O_PASSWORD = 256, O_PREFIX, O_NUSERS, O_ADMIN, O_PROMPT, O_PID,
	    O_TIMEOUT, O_JSON, O_NODELAY, O_LABEL, O_OFFSET, O_SETTLE,
	    O_FANCMD, O_SETUP };
	static const struct option lopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'P' },
		{ "password", required_argument, NULL, O_PASSWORD },
		{ "prefix", required_argument, NULL, O_PREFIX },
		{ "nusers", required_argument, NULL, O_NUSERS },
		{ "user-offset", required_argument, NULL, O_OFFSET },
		{ "admin", required_argument, NULL, O_ADMIN },
		{ "fanout-cmd", required_argument, NULL, O_FANCMD },
		{ "setup", required_argument, NULL, O_SETUP },
		{ "prompt", required_argument, NULL, O_PROMPT },
		{ "pid", required_argument, NULL, O_PID },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "settle", required_argument, NULL, O_SETTLE },
		{ "json", no_argument, NULL, O_JSON },
		{ "nodelay", no_argument, NULL, O_NODELAY },
		{ "label", required_argument, NULL, O_LABEL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *scen;
	pthread_t wd;
	int ch;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	scen = argv[1];
	argv++;
	argc--;
	while ((ch = getopt_long(argc, argv, "H:P:n:c:k:u:p:r:d:s:m:w:g:b:T:vh",
	    lopts, NULL)) != -1) {
		switch (ch) {
		case 'H': opt.host = optarg; break;
		case 'P': opt.port = (unsigned)opt_int(optarg); break;
		case 'n': opt.n = opt_int(optarg); break;
		case 'c': opt.c = opt_int(optarg); break;
		case 'k': opt.k = opt_int(optarg); break;
		case 'u': opt.u = opt_int(optarg); break;
		case 'p': opt.p = opt_int(optarg); break;
		case 'r': opt.r = opt_double(optarg); break;
		case 'd': opt.d = opt_double(optarg); break;
		case 's': opt.s = opt_int(optarg); break;
		case 'm': opt.m = opt_int(optarg); break;
		case 'w': opt.w = opt_int(optarg); break;
		case 'g': opt.gap_ms = opt_double(optarg); break;
		case 'b': opt.b = opt_int(optarg); break;
		case 'T': opt.time_limit = opt_int(optarg); break;
		case 'v': opt.verbose = true; break;
		case O_PASSWORD: opt.password = optarg; break;
		case O_PREFIX: opt.prefix = optarg; break;
		case O_NUSERS: opt.nusers = opt_int(optarg); break;
		case O_OFFSET: opt.user_offset = opt_int(optarg); break;
		case O_ADMIN: opt.admin = optarg; break;
		case O_FANCMD: opt.fanout_cmd = optarg; break;
		case O_SETUP: opt.setup = optarg; break;
		case O_PROMPT: opt.prompt_fmt = optarg; break;
		case O_PID: opt.pid = (pid_t)opt_int(optarg); break;
		case O_TIMEOUT: opt.conn_timeout = opt_int(optarg); break;
		case O_SETTLE: opt.settle = opt_double(optarg); break;
		case O_JSON: opt.json = true; break;
		case O_NODELAY: opt.nodelay = true; break;
		case O_LABEL: opt.label = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	{
		/* The prompt format takes exactly one %s and nothing else. */
		const char *p = strchr(opt.prompt_fmt, '%');

		if (p == NULL || p[1] != 's' || strchr(p + 2, '%') != NULL) {
			die("--prompt needs exactly one %%s");
		}
	}
	if (opt.port < 1 || opt.port > 65535) {
		die("bad port");
	}
	if (opt.time_limit < 1 || opt.time_limit > 3600) {
		die("-T must be 1..3600 seconds");
	}
	if (opt.c < 1 || opt.c > 1000 || opt.n < 1 || opt.n > 100000) {
		die("-c must be 1..1000 and -n 1..100000");
	}
	if (opt.pid > 0 && proc_cpu_ticks(opt.pid) < 0) {
		die("no process %d", (int)opt.pid);
	}
	check_host();
	raise_nofile();
	clk_tck = sysconf(_SC_CLK_TCK);
	/* Cannot fail: valid signals, valid handlers. */
	(void)signal(SIGPIPE, SIG_IGN);
	(void)signal(SIGINT, on_signal);
	(void)signal(SIGTERM, on_signal);
	deadline_ns = mono_ns() + (uint64_t)opt.time_limit * 1000000000ull;
	if (ssh_init() < 0) {
		die("ssh_init failed");
	}
	pthread_create(&wd, NULL, watchdog_main, NULL);
	pthread_detach(wd);
	snprintf(scenario_name, sizeof(scenario_name), "%s", scen);
	if (strcmp(scen, "login") == 0) {
		scenario_login();
	} else if (strcmp(scen, "mem") == 0) {
		if (opt.k < 1) {
			die("mem needs -k");
		}
		scenario_mem();
	} else if (strcmp(scen, "latency") == 0) {
		scenario_latency();
	} else if (strcmp(scen, "fanout") == 0) {
		scenario_fanout();
	} else if (strcmp(scen, "durable") == 0) {
		scenario_durable();
	} else {
		usage(stderr);
		return 2;
	}
	print_results();
	fflush(stdout);
	logout_all();
	ssh_finalize();
	if (run_failed) {
		return 1;
	}
	return stopping && mono_ns() < deadline_ns ? 130 : 0;
}
