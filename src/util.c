/*
 * Allocation that never returns NULL, a growable buffer, time stamps and
 * fd flags.  Nothing here knows about sessions or users.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static void
oom(void)
{
	static const char m[] = "out of memory\n";

	(void)!write(STDERR_FILENO, m, sizeof(m) - 1);
	abort();
}

static struct {
	const char *prog;
	void (*cleanup)(void);
	void (*exit_fn)(int status);
} fatal_hook = { .prog = "sshchat" };

void
fatal_setup(const char *prog, void (*cleanup)(void),
    void (*exit_fn)(int status))
{
	fatal_hook.prog = prog;
	fatal_hook.cleanup = cleanup;
	fatal_hook.exit_fn = exit_fn;
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	if (fatal_hook.cleanup != NULL) {
		fatal_hook.cleanup();
	}
	fflush(stdout);
	fprintf(stderr, "%s: ", fatal_hook.prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (fatal_hook.exit_fn != NULL) {
		fatal_hook.exit_fn(1);
	}
	exit(1);
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n == 0 ? 1 : n);

	if (p == NULL) {
		oom();
	}
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb == 0 ? 1 : nmemb, size == 0 ? 1 : size);

	if (p == NULL) {
		oom();
	}
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n == 0 ? 1 : n);

	if (q == NULL) {
		oom();
	}
	return q;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL) {
		oom();
	}
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL) {
		oom();
	}
	return p;
}

char *
xvasprintf(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0) {
		oom();
	}
	return s;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

void
buf_reserve(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need <= b->cap) {
		return;
	}
	if (b->cap == 0) {
		b->cap = 64;
	}
	while (b->cap < need) {
		b->cap *= 2;
	}
	b->data = xrealloc(b->data, b->cap);
}

void
buf_append(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n > 0) {
		memcpy(b->data + b->len, p, n);
	}
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_append_crlf(struct buf *b, const char *p, size_t n)
{
	const char *end = p + n, *nl;

	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		buf_append(b, p, (size_t)(nl - p));
		buf_append(b, "\r\n", 2);
		p = nl + 1;
	}
	buf_append(b, p, (size_t)(end - p));
}

void
buf_appendf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		return;
	}
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

unsigned
str_hash(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s != '\0'; s++) {
		h = (h ^ (unsigned char)*s) * 16777619u;
	}
	return h;
}

int
str_to_int(const char *s, int min, int max, int def)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		return def;
	}
	return (int)v;
}

void
json_append_string(struct buf *b, const char *s)
{
	buf_append(b, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			buf_appendf(b, "\\%c", c);
		} else if (c < 0x20 || c == 0x7f) {
			buf_appendf(b, "\\u%04x", c);
		} else {
			buf_append(b, s, 1);
		}
	}
	buf_append(b, "\"", 1);
}

void
time_iso8601(char *out, size_t outlen)
{
	struct timespec ts;
	char tmp[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	time_utc(ts.tv_sec, "%Y-%m-%dT%H:%M:%S", tmp, sizeof(tmp));
	snprintf(out, outlen, "%s.%03ldZ", tmp, ts.tv_nsec / 1000000);
}

void
time_utc(int64_t secs, const char *fmt, char *out, size_t outlen)
{
	time_t t = (time_t)secs;
	struct tm tm;

	/* Without the checks, tm or out would be undefined. */
	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(out, outlen, "?");
		return;
	}
	/* fmt is checked at the callers: util.h gives its format. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	if (strftime(out, outlen, fmt, &tm) == 0) {
		snprintf(out, outlen, "?");
	}
#pragma GCC diagnostic pop
}

void
sleep_ns(long long ns)
{
	struct timespec ts;

	if (ns <= 0) {
		return;
	}
	ts.tv_sec = (time_t)(ns / 1000000000LL);
	ts.tv_nsec = (long)(ns % 1000000000LL);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
		;
	}
}

int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
secure_zero(void *p, size_t n)
{
#ifdef HAVE_EXPLICIT_BZERO
	explicit_bzero(p, n);
#else
	volatile unsigned char *v = p;

	while (n-- > 0) {
		*v++ = 0;
	}
#endif
}

int
set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0) {
		return -1;
	}
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl);
}

int
set_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0) {
		return -1;
	}
	return fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

enum wait_result
wait_or_stop(int fd, int stop_fd, int timeout_ms)
{
	struct pollfd pfd[2] = {
		{ .fd = fd, .events = POLLIN },
		{ .fd = stop_fd, .events = POLLIN },
	};
	int n;

	do {
		n = poll(pfd, 2, timeout_ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		return WAIT_ERROR;
	}
	if (pfd[1].revents != 0) {
		return WAIT_STOP;
	}
	return pfd[0].revents != 0 ? WAIT_READY : WAIT_TIMEOUT;
}

char *
words_next_match(char *const *words, size_t n, const char *text, size_t *pos)
{
	size_t len = strlen(text);

	while (*pos < n) {
		const char *w = words[(*pos)++];

		if (strncmp(w, text, len) == 0) {
			return xstrdup(w);
		}
	}
	return NULL;
}

static int
ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int
ascii_casecmp(const char *a, const char *b)
{
	int ca, cb;

	for (;; a++, b++) {
		ca = ascii_lower((unsigned char)*a);
		cb = ascii_lower((unsigned char)*b);
		if (ca != cb || ca == '\0') {
			return ca - cb;
		}
	}
}

void
escape_for_msg(const char *s, size_t len, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	const size_t show = 40;
	size_t i, o = 0;
	unsigned char c;

	for (i = 0; i < len && i < show; i++) {
		c = (unsigned char)s[i];
		if (o + 5 >= outlen) {
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		}
	}
	if (i < len && o + 4 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

bool
stat_same_version(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}
