/*
 * Small helpers shared by every program: allocation that never returns
 * NULL, time stamps, string helpers and fd utilities.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap);

/* Growable byte buffer; data is always NUL-terminated. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};
void buf_append(struct buf *b, const void *p, size_t n);
/* Room for extra more bytes (and the NUL) after len. */
void buf_reserve(struct buf *b, size_t extra);
/* Append text as a raw terminal needs it: each LF as CR LF (ONLCR). */
void buf_append_crlf(struct buf *b, const char *p, size_t n);
void buf_appendf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_free(struct buf *b);

/* UTC ISO-8601 with milliseconds, e.g. 2026-11-24T02:00:00.123Z. */
void time_iso8601(char *out, size_t outlen);
/* strftime of Unix time secs in UTC; "?" if out of range or too long. */
void time_utc(int64_t secs, const char *fmt, char *out, size_t outlen)
    __attribute__((format(strftime, 2, 0)));
/* Monotonic clock in milliseconds. */
int64_t now_ms(void);
/* Sleep ns nanoseconds (nothing when ns <= 0), a signal or not. */
void sleep_ns(long long ns);
/* Wall clock: Unix time in milliseconds. */
int64_t wall_ms(void);

/* Wipe a secret so the compiler cannot elide it. */
void secure_zero(void *p, size_t n);

/* Format an error message into err (when err is not NULL). */
/*
 * The one way a program gives up: "PROG: message" on stderr, then the
 * program's own exit (fatal_setup): sshchatd exits, sshchatctl and the
 * shell first put their terminal back.  Before fatal_setup, it exits 1.
 */
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
/*
 * prog: the name to print; cleanup (may be NULL) runs before the
 * message; exit_fn (NULL: exit) ends the program with status 1.
 */
void fatal_setup(const char *prog, void (*cleanup)(void),
    void (*exit_fn)(int status));

void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* strcmp ignoring ASCII case only, whatever the locale says. */
int ascii_casecmp(const char *a, const char *b);
/*
 * Escape s (len bytes) for an error message: printable ASCII stays,
 * anything else (and \ and ') becomes \xNN, and a long value is cut
 * short with "...".
 */
void escape_for_msg(const char *s, size_t len, char *out, size_t outlen);

struct stat;
/* The same version of the same file: device, inode, size, mtime, ctime. */
bool stat_same_version(const struct stat *a, const struct stat *b);

/* FNV-1a of a string, for the daemon's hash tables. */
unsigned str_hash(const char *s);

/*
 * A readline completion generator over words[0..n): the next word at or
 * after *pos that starts with text (a malloc'd copy), or NULL.  The
 * caller resets *pos to 0 when readline passes state 0.
 */
char *words_next_match(char *const *words, size_t n, const char *text,
    size_t *pos);
/* s, all of it, as a decimal int in [min, max]; else def (never atoi's UB). */
int str_to_int(const char *s, int min, int max, int def);

/* Append s as a JSON string literal (quotes and escapes included). */
void json_append_string(struct buf *b, const char *s);

int set_nonblock(int fd, bool on);

enum wait_result { WAIT_READY, WAIT_TIMEOUT, WAIT_STOP, WAIT_ERROR };
/*
 * Wait up to timeout_ms (-1: forever) until fd is readable (or hung up)
 * or stop_fd is: the loop of a thread that a stop eventfd ends.
 * WAIT_ERROR leaves errno set (EINTR is retried).
 */
enum wait_result wait_or_stop(int fd, int stop_fd, int timeout_ms);
int set_cloexec(int fd);

#endif
